//! Test certificates, made fresh at run time so none are committed and none
//! expire in the repository: a [`Pki`] is a test CA plus server and client
//! certificates in the shapes the TLS tests need (valid, expired, wrong
//! host, unknown issuer, client keys in every PEM encoding), written to its
//! own temporary directory, removed on drop.
//!
//! Certificates and EC keys come from `rcgen`. The `openssl` command-line
//! tool makes what `rcgen` with the ring backend cannot: an RSA key (ring
//! cannot generate RSA) and the legacy SEC1 and PKCS#1 key encodings. A
//! missing `openssl` fails loudly; `./scripts/ensure-openssl` installs it.

use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// The Common Name of [`Pki::client_cert`] (and of the RSA client cert), for
/// tests that check what identity a broker saw.
pub const CLIENT_CN: &str = "mqtt-test-client";

/// A test CA and certificates signed by it, as PEM files in a temporary
/// directory that lives as long as this value.
#[derive(Debug)]
pub struct Pki {
    dir: PathBuf,
}

impl Pki {
    /// Generates every certificate and key into a fresh directory under
    /// [`std::env::temp_dir`]. Takes a fraction of a second (the RSA key
    /// dominates).
    ///
    /// Panics when a certificate cannot be made or `openssl` is missing.
    pub fn generate() -> Pki {
        let pki = Pki {
            dir: crate::harness::temp_dir("pki"),
        };
        // Own the directory before anything can panic, so drop cleans up.
        pki.write_all();
        pki
    }

    /// The directory holding every file.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The test CA's certificate: what clients and brokers trust.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A server certificate signed by the CA, valid now, for DNS name
    /// `localhost` and IP address `127.0.0.1`.
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server.pem")
    }

    /// The PKCS#8 key of [`server_cert`](Self::server_cert).
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("server.key")
    }

    /// Like [`server_cert`](Self::server_cert) but expired (valid only
    /// during 2019).
    pub fn expired_server_cert(&self) -> PathBuf {
        self.dir.join("expired-server.pem")
    }

    /// The PKCS#8 key of [`expired_server_cert`](Self::expired_server_cert).
    pub fn expired_server_key(&self) -> PathBuf {
        self.dir.join("expired-server.key")
    }

    /// A server certificate signed by the CA, valid now, but only for the
    /// DNS name `wrong.invalid`: a client connecting to `localhost` or
    /// `127.0.0.1` must reject it.
    pub fn wrong_host_server_cert(&self) -> PathBuf {
        self.dir.join("wrong-host-server.pem")
    }

    /// The PKCS#8 key of
    /// [`wrong_host_server_cert`](Self::wrong_host_server_cert).
    pub fn wrong_host_server_key(&self) -> PathBuf {
        self.dir.join("wrong-host-server.key")
    }

    /// A second, unrelated CA: trusting only it, a client must reject every
    /// server certificate here as signed by an unknown issuer.
    pub fn other_ca_cert(&self) -> PathBuf {
        self.dir.join("other-ca.pem")
    }

    /// A client-authentication certificate signed by the CA, Common Name
    /// [`CLIENT_CN`], with an EC (P-256) key.
    pub fn client_cert(&self) -> PathBuf {
        self.dir.join("client.pem")
    }

    /// The key of [`client_cert`](Self::client_cert) as PKCS#8
    /// (`BEGIN PRIVATE KEY`).
    pub fn client_key(&self) -> PathBuf {
        self.dir.join("client.key")
    }

    /// The same key as [`client_key`](Self::client_key) in SEC1 form
    /// (`BEGIN EC PRIVATE KEY`).
    pub fn client_key_sec1(&self) -> PathBuf {
        self.dir.join("client.sec1.key")
    }

    /// A client-authentication certificate signed by the CA, Common Name
    /// [`CLIENT_CN`], whose key is RSA (2048 bits).
    pub fn rsa_client_cert(&self) -> PathBuf {
        self.dir.join("rsa-client.pem")
    }

    /// The key of [`rsa_client_cert`](Self::rsa_client_cert) as PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`).
    pub fn rsa_client_key_pkcs1(&self) -> PathBuf {
        self.dir.join("rsa-client.pkcs1.key")
    }

    /// A PKCS#8 EC key that matches no certificate here, to pair with
    /// [`client_cert`](Self::client_cert) as a mismatched key.
    pub fn other_client_key(&self) -> PathBuf {
        self.dir.join("other-client.key")
    }

    fn write_all(&self) {
        let ca_key = new_key();
        let ca = ca_params("mqtt-test CA");
        write(&self.ca_cert(), &sign(ca.self_signed(&ca_key)));
        let ca = Issuer::new(ca, ca_key);

        let other_ca_key = new_key();
        let other_ca = ca_params("mqtt-test other CA");
        write(
            &self.other_ca_cert(),
            &sign(other_ca.self_signed(&other_ca_key)),
        );

        let local_sans = || {
            vec![
                SanType::DnsName("localhost".try_into().expect("a valid DNS name")),
                SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            ]
        };
        self.write_leaf(&ca, server_params(local_sans(), VALID), "server");
        self.write_leaf(&ca, server_params(local_sans(), EXPIRED), "expired-server");
        let wrong_host = vec![SanType::DnsName(
            "wrong.invalid".try_into().expect("a valid DNS name"),
        )];
        self.write_leaf(&ca, server_params(wrong_host, VALID), "wrong-host-server");
        self.write_leaf(&ca, client_params(), "client");
        write(&self.other_client_key(), &new_key().serialize_pem());

        openssl(&[
            "ec",
            "-in",
            &self.client_key().to_string_lossy(),
            "-out",
            &self.client_key_sec1().to_string_lossy(),
        ]);

        // rcgen signs for a key it can load, which with ring means PKCS#8:
        // make the RSA key as PKCS#1 (the file tests want) and convert.
        let pkcs1 = self.rsa_client_key_pkcs1();
        let pkcs1 = pkcs1.to_string_lossy();
        openssl(&["genrsa", "-traditional", "-out", &pkcs1, "2048"]);
        let pkcs8 = openssl(&["pkcs8", "-topk8", "-nocrypt", "-in", &pkcs1]);
        let rsa_key = KeyPair::from_pem(&pkcs8)
            .unwrap_or_else(|e| panic!("rcgen cannot load the RSA key from openssl: {e}"));
        let rsa_cert = client_params().signed_by(&rsa_key, &ca);
        write(&self.rsa_client_cert(), &sign(rsa_cert));
    }

    /// Makes a fresh key, signs `params` for it with the CA and writes
    /// `<name>.pem` and `<name>.key` (PKCS#8).
    fn write_leaf(&self, ca: &Issuer<'_, KeyPair>, params: CertificateParams, name: &str) {
        let key = new_key();
        write(
            &self.dir.join(format!("{name}.pem")),
            &sign(params.signed_by(&key, ca)),
        );
        write(&self.dir.join(format!("{name}.key")), &key.serialize_pem());
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A validity window as (from, until), each (year, month, day) in UTC.
type Validity = ((i32, u8, u8), (i32, u8, u8));
/// Comfortably around any date the tests run on.
const VALID: Validity = ((2020, 1, 1), (2100, 1, 1));
/// Over long before the tests run.
const EXPIRED: Validity = ((2019, 1, 1), (2020, 1, 1));

fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = params(common_name, VALID);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn server_params(sans: Vec<SanType>, validity: Validity) -> CertificateParams {
    let mut params = params("localhost", validity);
    params.subject_alt_names = sans;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params
}

fn client_params() -> CertificateParams {
    let mut params = params(CLIENT_CN, VALID);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params
}

/// What every certificate shares: a subject, a validity window and, for
/// leaves, the extensions strict verifiers (rustls, OpenSSL) look for.
fn params(common_name: &str, (from, until): Validity) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut subject = DistinguishedName::new();
    subject.push(DnType::OrganizationName, "mqtt integration tests");
    subject.push(DnType::CommonName, common_name);
    params.distinguished_name = subject;
    params.not_before = date_time_ymd(from.0, from.1, from.2);
    params.not_after = date_time_ymd(until.0, until.1, until.2);
    params.is_ca = IsCa::ExplicitNoCa;
    // Signing also serves RSA key exchange in TLS 1.2; harmless for EC.
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    // Lets verifiers pick the right CA key by id rather than by name.
    params.use_authority_key_identifier_extension = true;
    params
}

/// A fresh ECDSA P-256 key, rcgen's default.
fn new_key() -> KeyPair {
    KeyPair::generate().unwrap_or_else(|e| panic!("cannot generate a key: {e}"))
}

fn sign(result: Result<rcgen::Certificate, rcgen::Error>) -> String {
    result
        .unwrap_or_else(|e| panic!("cannot make a test certificate: {e}"))
        .pem()
}

fn write(path: &Path, pem: &str) {
    if let Err(e) = fs::write(path, pem) {
        panic!("cannot write {}: {e}", path.display());
    }
}

/// Runs `openssl` with `args`, returning its stdout; panics with its stderr
/// when it fails and with an install hint when it is missing.
fn openssl(args: &[&str]) -> String {
    let output = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "the openssl command-line tool is not installed: the TLS test \
             certificates need it; run ./scripts/ensure-openssl \
             (apt-get install -y openssl)"
        ),
        Err(e) => panic!("cannot run openssl: {e}"),
    };
    if !output.status.success() {
        panic!(
            "openssl {} failed ({}):\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8(output.stdout).unwrap_or_else(|e| panic!("openssl printed non-UTF-8: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(path: &Path) -> String {
        let text = fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let pem =
            pem::parse(&text).unwrap_or_else(|e| panic!("{} is not PEM: {e}", path.display()));
        assert!(!pem.contents().is_empty(), "{} is empty", path.display());
        pem.tag().to_owned()
    }

    /// Runs `openssl verify`, returning whether it accepted and its output.
    fn verify(ca: &Path, cert: &Path, extra: &[&str]) -> (bool, String) {
        let output = Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(ca)
            .args(extra)
            .arg(cert)
            .output()
            .expect("openssl runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), text)
    }

    #[test]
    fn every_file_is_pem_of_its_kind() {
        let pki = Pki::generate();
        let expected = [
            (pki.ca_cert(), "CERTIFICATE"),
            (pki.server_cert(), "CERTIFICATE"),
            (pki.server_key(), "PRIVATE KEY"),
            (pki.expired_server_cert(), "CERTIFICATE"),
            (pki.expired_server_key(), "PRIVATE KEY"),
            (pki.wrong_host_server_cert(), "CERTIFICATE"),
            (pki.wrong_host_server_key(), "PRIVATE KEY"),
            (pki.other_ca_cert(), "CERTIFICATE"),
            (pki.client_cert(), "CERTIFICATE"),
            (pki.client_key(), "PRIVATE KEY"),
            (pki.client_key_sec1(), "EC PRIVATE KEY"),
            (pki.rsa_client_cert(), "CERTIFICATE"),
            (pki.rsa_client_key_pkcs1(), "RSA PRIVATE KEY"),
            (pki.other_client_key(), "PRIVATE KEY"),
        ];
        for (path, tag) in expected {
            assert!(path.starts_with(pki.dir()), "{}", path.display());
            assert_eq!(label(&path), tag, "{}", path.display());
        }
        let dir = pki.dir().to_owned();
        drop(pki);
        assert!(!dir.exists(), "{} outlived its Pki", dir.display());
    }

    #[test]
    fn openssl_agrees_on_what_is_valid() {
        let pki = Pki::generate();
        let host = ["-verify_hostname", "localhost"];
        let ip = ["-verify_ip", "127.0.0.1"];
        for cert in [pki.server_cert(), pki.client_cert(), pki.rsa_client_cert()] {
            let (ok, out) = verify(&pki.ca_cert(), &cert, &[]);
            assert!(ok, "{}: {out}", cert.display());
        }
        for extra in [&host, &ip] {
            let (ok, out) = verify(&pki.ca_cert(), &pki.server_cert(), extra);
            assert!(ok, "{out}");
            let (ok, out) = verify(&pki.ca_cert(), &pki.wrong_host_server_cert(), extra);
            assert!(!ok && out.contains("mismatch"), "{out}");
        }
        let (ok, out) = verify(&pki.ca_cert(), &pki.expired_server_cert(), &[]);
        assert!(!ok && out.contains("expired"), "{out}");
        let (ok, out) = verify(&pki.other_ca_cert(), &pki.server_cert(), &[]);
        assert!(!ok && out.contains("issuer"), "{out}");
    }
}
