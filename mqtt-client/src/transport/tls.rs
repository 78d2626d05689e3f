//! TLS settings and the rustls client configuration built from them, once
//! per client and before any connection is opened, so that a missing file
//! or a key that does not fit its certificate is reported by
//! `Client::connect` without touching the network. The handshake itself is
//! `futures-rustls` over whatever stream the connector opened.
//!
//! Verification is on by default, against the platform's certificate store
//! (feature `native-roots`) or Mozilla's roots compiled in (feature
//! `webpki-roots`); a CA given in the options replaces them. The only way
//! to turn verification off is
//! [`TlsOptions::dangerous_disable_verification`], which logs a warning on
//! every client that uses it.

use crate::error::{from_rustls, TlsError};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// PEM text, in a file or in memory.
#[derive(Clone)]
enum Pem {
    File(PathBuf),
    Bytes(Arc<[u8]>),
}

impl Pem {
    fn read(&self) -> Result<Arc<[u8]>, TlsError> {
        match self {
            Pem::Bytes(b) => Ok(b.clone()),
            Pem::File(path) => std::fs::read(path)
                .map(Arc::from)
                .map_err(|e| TlsError::File {
                    path: path.clone(),
                    reason: e.to_string(),
                }),
        }
    }
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pem::File(path) => write!(f, "{}", path.display()),
            Pem::Bytes(b) => write!(f, "<{} bytes of PEM>", b.len()),
        }
    }
}

/// TLS settings for `mqtts://` and `wss://` servers. The defaults verify the
/// server against the platform's trusted roots and send no client
/// certificate.
///
/// ```no_run
/// use mqtt_client::{Options, TlsOptions};
///
/// // A private CA, a client certificate (mutual TLS) and an ALPN protocol.
/// let options = Options::from_url("mqtts://broker.example:8883")?.tls(
///     TlsOptions::new()
///         .ca_file("ca.pem")
///         .client_cert_files("client.pem", "client.key")
///         .alpn(["x-amzn-mqtt-ca"]),
/// );
/// # Ok::<(), mqtt_client::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct TlsOptions {
    ca: Vec<Pem>,
    client_auth: Option<(Pem, Pem)>,
    alpn: Vec<Vec<u8>>,
    config: Option<Arc<ClientConfig>>,
    no_verification: bool,
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is never shown, only where it comes from.
        f.debug_struct("TlsOptions")
            .field("ca", &self.ca)
            .field(
                "client_cert",
                &self.client_auth.as_ref().map(|(cert, _)| cert),
            )
            .field("alpn", &self.alpn)
            .field("custom_config", &self.config.is_some())
            .field("no_verification", &self.no_verification)
            .finish()
    }
}

impl TlsOptions {
    /// Verification against the platform's roots, no client certificate.
    ///
    /// ```
    /// use mqtt_client::{Options, TlsOptions};
    ///
    /// // The default: the platform's roots, no client certificate.
    /// let options = Options::from_url("mqtts://broker.example")?.tls(TlsOptions::new());
    /// # Ok::<(), mqtt_client::Error>(())
    /// ```
    pub fn new() -> TlsOptions {
        TlsOptions::default()
    }

    /// Trust the CA certificates in this PEM file instead of the platform's
    /// roots (call again to add more). Read when the client starts, so a
    /// missing or malformed file fails `Client::connect` before any
    /// connection is opened.
    ///
    /// ```
    /// let tls = mqtt_client::TlsOptions::new().ca_file("/etc/mqtt/ca.pem");
    /// ```
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca.push(Pem::File(path.into()));
        self
    }

    /// Trust the CA certificates in this PEM text instead of the platform's
    /// roots.
    ///
    /// ```
    /// # let ca_pem = b"-----BEGIN CERTIFICATE-----\n...".to_vec();
    /// let tls = mqtt_client::TlsOptions::new().ca_pem(ca_pem);
    /// ```
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca.push(Pem::Bytes(pem.into().into()));
        self
    }

    /// Authenticate with a client certificate (mutual TLS): the certificate
    /// chain and its private key, as PEM files. The key may be PKCS#8,
    /// PKCS#1 (RSA) or SEC1 (EC). A key that does not belong to the
    /// certificate fails `Client::connect` before any connection is opened.
    ///
    /// ```
    /// let tls = mqtt_client::TlsOptions::new()
    ///     .ca_file("ca.pem")
    ///     .client_cert_files("device.pem", "device.key");
    /// ```
    pub fn client_cert_files(
        mut self,
        cert_chain: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Self {
        self.client_auth = Some((Pem::File(cert_chain.into()), Pem::File(key.into())));
        self
    }

    /// Authenticate with a client certificate given as PEM text (from a
    /// secret store, say).
    ///
    /// ```
    /// # let (cert_pem, key_pem) = (Vec::new(), Vec::new());
    /// let tls = mqtt_client::TlsOptions::new().client_cert_pem(cert_pem, key_pem);
    /// ```
    pub fn client_cert_pem(
        mut self,
        cert_chain: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> Self {
        self.client_auth = Some((
            Pem::Bytes(cert_chain.into().into()),
            Pem::Bytes(key.into().into()),
        ));
        self
    }

    /// ALPN protocols to offer, in order of preference (AWS IoT Core on
    /// port 443 wants `x-amzn-mqtt-ca`).
    ///
    /// ```
    /// let tls = mqtt_client::TlsOptions::new().alpn(["mqtt"]);
    /// ```
    pub fn alpn<I, P>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        self.alpn = protocols.into_iter().map(|p| p.as_ref().to_vec()).collect();
        self
    }

    /// Use this rustls configuration as it is (roots, client certificate,
    /// versions, everything), for full control. ALPN protocols set with
    /// [`alpn`](Self::alpn) are applied on top of it; the other settings
    /// here are ignored.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let config = rustls::ClientConfig::builder_with_provider(provider)
    ///     .with_safe_default_protocol_versions()
    ///     .unwrap()
    ///     .with_root_certificates(rustls::RootCertStore::empty())
    ///     .with_no_client_auth();
    /// let tls = mqtt_client::TlsOptions::new().rustls_config(Arc::new(config));
    /// ```
    pub fn rustls_config(mut self, config: Arc<ClientConfig>) -> Self {
        self.config = Some(config);
        self
    }

    /// Accept any server certificate: no check of issuer, name or dates.
    /// Anyone on the path can then read and change the traffic; this is for
    /// a test broker with a throwaway certificate, never for production.
    /// Every client built with it logs a warning.
    ///
    /// ```
    /// // A throwaway test broker only.
    /// let tls = mqtt_client::TlsOptions::new().dangerous_disable_verification();
    /// ```
    pub fn dangerous_disable_verification(mut self) -> Self {
        self.no_verification = true;
        self
    }

    /// The rustls configuration these settings describe.
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        if let Some(config) = &self.config {
            if self.alpn.is_empty() {
                return Ok(config.clone());
            }
            let mut config = (**config).clone();
            config.alpn_protocols = self.alpn.clone();
            return Ok(Arc::new(config));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| from_rustls(&e))?;
        let builder = if self.no_verification {
            tracing::warn!(
                "TLS certificate verification is DISABLED: the server is not authenticated"
            );
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
        } else {
            builder.with_root_certificates(self.roots()?)
        };
        let mut config = match &self.client_auth {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = certificates(&cert.read()?, "client certificate")?;
                let key = private_key(&key.read()?)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| match from_rustls(&e) {
                        TlsError::Other(why) => TlsError::InvalidKey(why),
                        other => other,
                    })?
            }
        };
        config.alpn_protocols = self.alpn.clone();
        Ok(Arc::new(config))
    }

    fn roots(&self) -> Result<RootCertStore, TlsError> {
        let mut roots = RootCertStore::empty();
        if !self.ca.is_empty() {
            for pem in &self.ca {
                for cert in certificates(&pem.read()?, "CA")? {
                    roots.add(cert).map_err(|e| TlsError::InvalidCertificate {
                        what: "CA",
                        reason: e.to_string(),
                    })?;
                }
            }
            return Ok(roots);
        }
        platform_roots(&mut roots);
        if roots.is_empty() {
            return Err(TlsError::NoRootCertificates);
        }
        Ok(roots)
    }
}

#[cfg(feature = "native-roots")]
fn platform_roots(roots: &mut RootCertStore) {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::debug!(%error, "skipping part of the platform certificate store");
    }
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    tracing::debug!(added, ignored, "platform root certificates loaded");
}

#[cfg(all(not(feature = "native-roots"), feature = "webpki-roots"))]
fn platform_roots(roots: &mut RootCertStore) {
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
}

#[cfg(not(any(feature = "native-roots", feature = "webpki-roots")))]
fn platform_roots(_roots: &mut RootCertStore) {}

fn certificates(pem: &[u8], what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::InvalidCertificate {
            what,
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificates { what });
    }
    Ok(certs)
}

fn private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::InvalidKey(
            "no PKCS#8, PKCS#1 or SEC1 private key in the PEM input".to_owned(),
        ),
        other => TlsError::InvalidKey(other.to_string()),
    })
}

/// The server name checked against the certificate and sent as SNI.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(host.to_owned()).map_err(|_| TlsError::InvalidServerName(host.to_owned()))
}

/// Accepts every certificate but still checks the handshake signatures, so
/// that the connection is at least with the holder of the key it presents.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_ca_file_is_a_config_error() {
        let err = TlsOptions::new()
            .ca_file("/nonexistent/ca.pem")
            .client_config()
            .unwrap_err();
        assert!(matches!(err, TlsError::File { .. }), "{err:?}");
        assert!(err.is_config());
    }

    #[test]
    fn pem_without_certificates_is_rejected() {
        let err = TlsOptions::new()
            .ca_pem(b"not a certificate".to_vec())
            .client_config()
            .unwrap_err();
        assert_eq!(err, TlsError::NoCertificates { what: "CA" });
    }

    #[test]
    fn a_malformed_key_is_rejected() {
        // Verification off, so no CA is needed to reach the key check.
        let err = TlsOptions::new()
            .dangerous_disable_verification()
            .client_cert_pem(b"".to_vec(), b"".to_vec())
            .client_config()
            .unwrap_err();
        assert_eq!(
            err,
            TlsError::NoCertificates {
                what: "client certificate"
            }
        );
    }

    #[test]
    fn debug_never_shows_key_material() {
        let tls = TlsOptions::new().client_cert_pem(b"CERT".to_vec(), b"SECRET-KEY".to_vec());
        let shown = format!("{tls:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn alpn_is_applied_to_a_given_config() {
        let base = TlsOptions::new()
            .dangerous_disable_verification()
            .client_config()
            .unwrap();
        let config = TlsOptions::new()
            .rustls_config(base)
            .alpn(["x-amzn-mqtt-ca"])
            .client_config()
            .unwrap();
        assert_eq!(config.alpn_protocols, vec![b"x-amzn-mqtt-ca".to_vec()]);
    }
}
