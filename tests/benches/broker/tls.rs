//! The one rustls client configuration every library gets in the TLS
//! phases: the ring provider (the one our client builds on; rumqttc is built
//! without a provider of its own), rustls's safe default protocol versions,
//! the test CA as the only root, no client certificate. Handing the same
//! configuration to both clients keeps the handshake, the negotiated
//! version and the cipher suite identical, so the rows compare the clients.

use mqtt_client::rustls::pki_types::pem::PemObject;
use mqtt_client::rustls::pki_types::CertificateDer;
use mqtt_client::rustls::{crypto, ClientConfig, RootCertStore};
use std::path::Path;
use std::sync::Arc;

/// The configuration trusting the CA certificates in the PEM file `ca`.
pub(crate) fn client_config(ca: &Path) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", ca.display()))
    {
        roots
            .add(cert.expect("a PEM certificate"))
            .expect("a usable CA certificate");
    }
    let provider = Arc::new(crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}
