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
    ///
    /// ```
    /// # use bytes::Bytes;
    /// # use mqtt_client::Authenticator;
    /// # struct Token;
    /// # impl Authenticator for Token {
    /// #     fn method(&self) -> &str { "token" }
    /// #     fn start(&self) -> Option<Bytes> { Some(Bytes::from_static(b"t0")) }
    /// #     fn challenge(&self, data: Option<&[u8]>) -> Result<Option<Bytes>, String> {
    /// #         match data { Some(b"renew") => Ok(Some(Bytes::from_static(b"t1"))), _ => Err("unknown challenge".into()) }
    /// #     }
    /// # }
    /// assert_eq!(Token.method(), "token");
    /// ```
    fn method(&self) -> &str;

    /// The Authentication Data of CONNECT, and of the first AUTH of a
    /// re-authentication.
    ///
    /// ```
    /// # use bytes::Bytes;
    /// # use mqtt_client::Authenticator;
    /// # struct Token;
    /// # impl Authenticator for Token {
    /// #     fn method(&self) -> &str { "token" }
    /// #     fn start(&self) -> Option<Bytes> { Some(Bytes::from_static(b"t0")) }
    /// #     fn challenge(&self, data: Option<&[u8]>) -> Result<Option<Bytes>, String> {
    /// #         match data { Some(b"renew") => Ok(Some(Bytes::from_static(b"t1"))), _ => Err("unknown challenge".into()) }
    /// #     }
    /// # }
    /// assert_eq!(Token.start().as_deref(), Some(&b"t0"[..]));
    /// ```
    fn start(&self) -> Option<Bytes>;

    /// The answer to one challenge of the broker (its Authentication
    /// Data), or why the exchange cannot go on; the client then gives up
    /// with `Error::Auth`.
    ///
    /// ```
    /// # use bytes::Bytes;
    /// # use mqtt_client::Authenticator;
    /// # struct Token;
    /// # impl Authenticator for Token {
    /// #     fn method(&self) -> &str { "token" }
    /// #     fn start(&self) -> Option<Bytes> { Some(Bytes::from_static(b"t0")) }
    /// #     fn challenge(&self, data: Option<&[u8]>) -> Result<Option<Bytes>, String> {
    /// #         match data { Some(b"renew") => Ok(Some(Bytes::from_static(b"t1"))), _ => Err("unknown challenge".into()) }
    /// #     }
    /// # }
    /// assert_eq!(Token.challenge(Some(b"renew")).unwrap().as_deref(), Some(&b"t1"[..]));
    /// assert!(Token.challenge(None).is_err()); // the client gives up with Error::Auth
    /// ```
    fn challenge(&self, data: Option<&[u8]>) -> Result<Option<Bytes>, String>;

    /// The exchange succeeded, with the broker's final data, if any. Does
    /// nothing unless overridden.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mqtt_client::Authenticator;
    /// use std::sync::Mutex;
    ///
    /// /// Keeps the broker's final word, to check its signature later.
    /// #[derive(Default)]
    /// struct Verified(Mutex<Option<Vec<u8>>>);
    ///
    /// impl Authenticator for Verified {
    ///     fn method(&self) -> &str { "signed" }
    ///     fn start(&self) -> Option<Bytes> { None }
    ///     fn challenge(&self, _: Option<&[u8]>) -> Result<Option<Bytes>, String> { Ok(None) }
    ///     fn success(&self, data: Option<&[u8]>) {
    ///         *self.0.lock().unwrap() = data.map(<[u8]>::to_vec);
    ///     }
    /// }
    ///
    /// let auth = Verified::default();
    /// auth.success(Some(b"server-signature"));
    /// assert_eq!(auth.0.lock().unwrap().as_deref(), Some(&b"server-signature"[..]));
    /// ```
    fn success(&self, data: Option<&[u8]>) {
        let _ = data;
    }
}
