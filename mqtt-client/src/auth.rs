//! Enhanced authentication (MQTT 5.0 section 4.12) from the client's side:
//! the application supplies an [`Authenticator`], the driver carries its
//! answers to the broker's challenges. What the bytes mean (SCRAM,
//! Kerberos, a signed token) is the authenticator's business.

use bytes::Bytes;

/// The application's half of an MQTT 5.0 enhanced authentication exchange.
/// Set it with [`Options::authenticator`](crate::Options::authenticator);
/// it must be `Send + Sync` and keeps its own state between calls.
///
/// ```
/// use bytes::Bytes;
/// use mqtt_client::Authenticator;
///
/// /// Answers the challenge "nonce" with "nonce:secret".
/// struct Shared(&'static str);
///
/// impl Authenticator for Shared {
///     fn method(&self) -> &str {
///         "shared-secret"
///     }
///     fn start(&self) -> Option<Bytes> {
///         None
///     }
///     fn challenge(&self, data: Option<&[u8]>) -> Result<Option<Bytes>, String> {
///         let nonce = data.ok_or("the broker sent no challenge")?;
///         Ok(Some([nonce, b":", self.0.as_bytes()].concat().into()))
///     }
/// }
///
/// let auth = Shared("s3cret");
/// assert_eq!(auth.challenge(Some(b"n1")).unwrap().unwrap(), Bytes::from("n1:s3cret"));
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// The Authentication Method, sent in CONNECT and in every AUTH.
    fn method(&self) -> &str;

    /// The Authentication Data of CONNECT, and of the first AUTH of a
    /// re-authentication.
    fn start(&self) -> Option<Bytes>;

    /// The answer to one challenge of the broker (its Authentication
    /// Data), or why the exchange cannot go on; the client then gives up
    /// with `Error::Auth`.
    fn challenge(&self, data: Option<&[u8]>) -> Result<Option<Bytes>, String>;

    /// The exchange succeeded, with the broker's final data, if any. Does
    /// nothing unless overridden.
    fn success(&self, data: Option<&[u8]>) {
        let _ = data;
    }
}
