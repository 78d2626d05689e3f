//! What can go wrong with TLS, as a type a caller can match on: local
//! configuration (found before any connection is opened), the server's
//! certificate as our verifier judged it, the server's verdict on us, and a
//! peer that does not speak TLS at all. Also the mapping from the errors
//! rustls reports, which arrive wrapped in `io::Error`.

use rustls::{AlertDescription, CertificateError};
use std::fmt;
use std::io;
use std::path::PathBuf;

/// A TLS failure. [`is_permanent`](Self::is_permanent) says whether trying
/// the same server again can help.
///
/// ```
/// use mqtt_client::{Error, TlsError};
///
/// fn advice(error: &Error) -> &'static str {
///     match error {
///         Error::Tls(TlsError::UnknownIssuer) => "trust the broker's CA with TlsOptions::ca_file",
///         Error::Tls(TlsError::CertificateRequired) => "add a client certificate",
///         Error::Tls(TlsError::NotTls) => "this port speaks plaintext: use mqtt://",
///         Error::Tls(e) if e.is_permanent() => "fix the TLS settings",
///         _ => "try again later",
///     }
/// }
/// assert_eq!(advice(&Error::Tls(TlsError::NotTls)), "this port speaks plaintext: use mqtt://");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsError {
    // ---- local configuration ------------------------------------------------
    /// A certificate or key file could not be read.
    File {
        /// The file.
        path: PathBuf,
        /// Why, as the operating system said.
        reason: String,
    },
    /// No PEM certificate was found where one was expected (`what` says
    /// which input: the CA or the client certificate).
    NoCertificates {
        /// Which input.
        what: &'static str,
    },
    /// A certificate in the input could not be used.
    InvalidCertificate {
        /// Which input.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The private key is missing, malformed or of a kind that is not
    /// supported (PKCS#8, PKCS#1 RSA and SEC1 EC keys in PEM are).
    InvalidKey(String),
    /// The private key does not belong to the client certificate.
    KeyMismatch,
    /// No trusted roots: the platform store is empty or absent and no CA was
    /// given.
    NoRootCertificates,
    /// The host cannot be checked against a certificate.
    InvalidServerName(String),

    // ---- the server's certificate, as we judged it ---------------------------
    /// The server's certificate is not signed by a trusted CA.
    UnknownIssuer,
    /// The server's certificate is not valid for the host connected to.
    NameMismatch,
    /// The server's certificate has expired.
    Expired,
    /// The server's certificate is not valid yet.
    NotYetValid,
    /// The server's certificate is revoked.
    Revoked,
    /// The server's certificate is unusable for another reason.
    BadServerCertificate(String),

    // ---- the server's verdict on us --------------------------------------
    /// The server requires a client certificate and none was given.
    CertificateRequired,
    /// The server rejected our client certificate (the alert it sent).
    ClientCertificateRejected(String),
    /// The server refused the handshake with this alert.
    HandshakeRefused(String),

    // ---- not TLS on the other side ---------------------------------------
    /// The server does not speak TLS (it closed the connection or answered
    /// with something else during the handshake): a plaintext port?
    NotTls,
    /// The server speaks TLS but the client was configured for plaintext
    /// (`mqtt://` or `ws://` to a TLS port): use `mqtts://` or `wss://`.
    ServerRequiresTls,

    /// Any other TLS failure.
    Other(String),
}

impl TlsError {
    /// Whether the failure is in our own settings, found before connecting.
    ///
    /// ```
    /// use mqtt_client::TlsError;
    ///
    /// assert!(TlsError::KeyMismatch.is_config());
    /// assert!(!TlsError::Expired.is_config()); // the server's certificate, not our settings
    /// ```
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            TlsError::File { .. }
                | TlsError::NoCertificates { .. }
                | TlsError::InvalidCertificate { .. }
                | TlsError::InvalidKey(_)
                | TlsError::KeyMismatch
                | TlsError::NoRootCertificates
                | TlsError::InvalidServerName(_)
        )
    }

    /// Whether retrying the same server with the same settings cannot help:
    /// configuration, certificate and protocol mismatches. A refused
    /// handshake for another reason, or an unclassified failure, may be
    /// transient.
    ///
    /// ```
    /// use mqtt_client::TlsError;
    ///
    /// assert!(TlsError::NameMismatch.is_permanent());
    /// assert!(!TlsError::HandshakeRefused("internal error".into()).is_permanent());
    /// ```
    pub fn is_permanent(&self) -> bool {
        !matches!(self, TlsError::HandshakeRefused(_) | TlsError::Other(_))
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::File { path, reason } => {
                write!(f, "cannot read {}: {reason}", path.display())
            }
            TlsError::NoCertificates { what } => write!(f, "no PEM certificate in the {what}"),
            TlsError::InvalidCertificate { what, reason } => {
                write!(f, "unusable certificate in the {what}: {reason}")
            }
            TlsError::InvalidKey(why) => write!(f, "unusable private key: {why}"),
            TlsError::KeyMismatch => {
                f.write_str("the private key does not belong to the client certificate")
            }
            TlsError::NoRootCertificates => {
                f.write_str("no trusted root certificates: the platform store is empty; give a CA")
            }
            TlsError::InvalidServerName(host) => {
                write!(f, "{host:?} cannot be checked against a certificate")
            }
            TlsError::UnknownIssuer => {
                f.write_str("the server's certificate is not signed by a trusted CA")
            }
            TlsError::NameMismatch => {
                f.write_str("the server's certificate is not valid for this host name")
            }
            TlsError::Expired => f.write_str("the server's certificate has expired"),
            TlsError::NotYetValid => f.write_str("the server's certificate is not valid yet"),
            TlsError::Revoked => f.write_str("the server's certificate is revoked"),
            TlsError::BadServerCertificate(why) => {
                write!(f, "the server's certificate is unusable: {why}")
            }
            TlsError::CertificateRequired => {
                f.write_str("the server requires a client certificate")
            }
            TlsError::ClientCertificateRejected(alert) => {
                write!(f, "the server rejected the client certificate ({alert})")
            }
            TlsError::HandshakeRefused(alert) => {
                write!(f, "the server refused the TLS handshake ({alert})")
            }
            TlsError::NotTls => f.write_str(
                "the server does not speak TLS (it closed the connection or answered in \
                 plaintext during the handshake): is it a plaintext port?",
            ),
            TlsError::ServerRequiresTls => {
                f.write_str("the server speaks TLS: use mqtts:// or wss://")
            }
            TlsError::Other(why) => write!(f, "TLS failed: {why}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// The TLS failure inside an I/O error from a TLS stream, if there is one.
/// `handshaking` says whether the handshake was still going on, where an
/// early end of stream means the peer does not speak TLS.
pub(crate) fn classify(e: &io::Error, handshaking: bool) -> Option<TlsError> {
    if let Some(inner) = e.get_ref() {
        if let Some(rustls) = inner.downcast_ref::<rustls::Error>() {
            return Some(from_rustls(rustls));
        }
    }
    // A plaintext MQTT server reads a ClientHello as a malformed packet and
    // drops the connection, with an end of stream or, as it leaves our
    // bytes unread, a reset.
    if handshaking
        && matches!(
            e.kind(),
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset
        )
    {
        return Some(TlsError::NotTls);
    }
    None
}

/// Our kind of the failure rustls reports.
pub(crate) fn from_rustls(e: &rustls::Error) -> TlsError {
    match e {
        rustls::Error::InvalidCertificate(cert) => from_certificate_error(cert),
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
            TlsError::CertificateRequired
        }
        rustls::Error::AlertReceived(
            alert @ (AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateExpired
            | AlertDescription::AccessDenied),
        ) => TlsError::ClientCertificateRejected(format!("{alert:?}")),
        rustls::Error::AlertReceived(alert) => TlsError::HandshakeRefused(format!("{alert:?}")),
        rustls::Error::InvalidMessage(_)
        | rustls::Error::InappropriateMessage { .. }
        | rustls::Error::InappropriateHandshakeMessage { .. } => TlsError::NotTls,
        rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch,
        other => TlsError::Other(other.to_string()),
    }
}

fn from_certificate_error(e: &CertificateError) -> TlsError {
    match e {
        CertificateError::UnknownIssuer => TlsError::UnknownIssuer,
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            TlsError::NameMismatch
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => TlsError::Expired,
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            TlsError::NotYetValid
        }
        CertificateError::Revoked => TlsError::Revoked,
        other => TlsError::BadServerCertificate(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustls_errors_map_to_their_kind() {
        let cases = [
            (
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
                TlsError::UnknownIssuer,
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::NotValidForName),
                TlsError::NameMismatch,
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::Expired),
                TlsError::Expired,
            ),
            (
                rustls::Error::AlertReceived(AlertDescription::CertificateRequired),
                TlsError::CertificateRequired,
            ),
            (
                rustls::Error::AlertReceived(AlertDescription::UnknownCA),
                TlsError::ClientCertificateRejected("UnknownCA".into()),
            ),
        ];
        for (rustls, ours) in cases {
            let io = io::Error::new(io::ErrorKind::InvalidData, rustls);
            assert_eq!(classify(&io, true), Some(ours));
        }
    }

    #[test]
    fn early_eof_is_not_tls_only_while_handshaking() {
        let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert_eq!(classify(&eof, true), Some(TlsError::NotTls));
        assert_eq!(classify(&eof, false), None);
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(classify(&reset, true), Some(TlsError::NotTls));
        assert_eq!(classify(&reset, false), None);
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(classify(&refused, true), None);
    }

    #[test]
    fn permanence() {
        assert!(TlsError::UnknownIssuer.is_permanent());
        assert!(TlsError::KeyMismatch.is_config());
        assert!(!TlsError::HandshakeRefused("InternalError".into()).is_permanent());
    }
}
