//! TLS listeners for the private mosquitto of [`crate::broker`]: one per
//! way a TLS handshake should succeed or fail (plain server auth, required
//! client certificates, an expired server certificate, a certificate for
//! the wrong host), all with certificates from a [`Pki`].

use std::fs;
use std::path::Path;

use crate::broker::Mosquitto;
use crate::pki::Pki;

impl Mosquitto {
    /// Starts a broker as [`start`](Self::start) does, plus four TLS
    /// listeners on free loopback ports with certificates from `pki` (copied
    /// into the broker's directory, so the broker, restarts included, does
    /// not depend on `pki` living on). `config_extra` is as for `start` and
    /// applies to the plain listener where an option is per listener.
    ///
    /// Panics when mosquitto is not installed or does not come up.
    pub fn start_tls(pki: &Pki, config_extra: &str) -> Mosquitto {
        Mosquitto::launch(config_extra, Some(pki))
    }

    /// TLS with [`Pki::server_cert`]; client certificates are not asked for.
    pub fn tls_port(&self) -> u16 {
        self.tls_listeners().tls
    }

    /// TLS with [`Pki::server_cert`] that requires a client certificate
    /// signed by [`Pki::ca_cert`].
    pub fn mtls_port(&self) -> u16 {
        self.tls_listeners().mtls
    }

    /// TLS with [`Pki::expired_server_cert`].
    pub fn expired_tls_port(&self) -> u16 {
        self.tls_listeners().expired
    }

    /// TLS with [`Pki::wrong_host_server_cert`].
    pub fn wrong_host_tls_port(&self) -> u16 {
        self.tls_listeners().wrong_host
    }

    fn tls_listeners(&self) -> &TlsListeners {
        match &self.tls {
            Some(tls) => tls,
            None => {
                panic!("this mosquitto has no TLS listeners: start it with Mosquitto::start_tls")
            }
        }
    }
}

/// The TLS listeners of one broker and the config that makes them.
#[derive(Debug)]
pub(crate) struct TlsListeners {
    tls: u16,
    mtls: u16,
    expired: u16,
    wrong_host: u16,
    /// The config blocks, certificate paths pointing into the broker's
    /// directory.
    config: String,
}

impl TlsListeners {
    /// How many ports [`new`](Self::new) takes.
    pub(crate) const COUNT: usize = 4;

    /// Copies the certificates the listeners use from `pki` into `dir` and
    /// assigns `ports` (at least [`COUNT`](Self::COUNT)) to the listeners.
    pub(crate) fn new(pki: &Pki, dir: &Path, ports: &[u16]) -> TlsListeners {
        let [tls, mtls, expired, wrong_host] = ports[..Self::COUNT]
            .try_into()
            .expect("COUNT ports make a [u16; 4]");
        let copy = |from: &Path, name: &str| {
            let to = dir.join(name);
            if let Err(e) = fs::copy(from, &to) {
                panic!("cannot copy {} to {}: {e}", from.display(), to.display());
            }
            to.display().to_string()
        };
        let ca = copy(&pki.ca_cert(), "ca.pem");
        let server = (
            copy(&pki.server_cert(), "server.pem"),
            copy(&pki.server_key(), "server.key"),
        );
        let expired_server = (
            copy(&pki.expired_server_cert(), "expired-server.pem"),
            copy(&pki.expired_server_key(), "expired-server.key"),
        );
        let wrong_host_server = (
            copy(&pki.wrong_host_server_cert(), "wrong-host-server.pem"),
            copy(&pki.wrong_host_server_key(), "wrong-host-server.key"),
        );
        // Each listener's cafile, certfile, keyfile and
        // require_certificate must follow its own `listener` line.
        let block = |port: u16, (cert, key): &(String, String), require: bool| {
            format!(
                "\nlistener {port} 127.0.0.1\n\
                 cafile {ca}\n\
                 certfile {cert}\n\
                 keyfile {key}\n\
                 require_certificate {require}\n"
            )
        };
        let config = [
            block(tls, &server, false),
            block(mtls, &server, true),
            block(expired, &expired_server, false),
            block(wrong_host, &wrong_host_server, false),
        ]
        .join("");
        TlsListeners {
            tls,
            mtls,
            expired,
            wrong_host,
            config,
        }
    }

    pub(crate) fn ports(&self) -> [u16; Self::COUNT] {
        [self.tls, self.mtls, self.expired, self.wrong_host]
    }

    /// The `listener` blocks for mosquitto.conf.
    pub(crate) fn config(&self) -> String {
        self.config.clone()
    }
}
