//! Enhanced authentication of MQTT 5.0 (section 4.12): a challenge and
//! response exchange in AUTH packets, under the method named in CONNECT.
//! The core carries the packets; what the data means (SCRAM, Kerberos, a
//! token) is the application's: each broker challenge comes out as
//! [`Event::Auth`], and the application answers with [`Connection::auth`].
//! [`Connection::reauthenticate`] starts the exchange again on a live
//! connection.

use super::*;
use crate::packet::v5::{self, AuthProperties, ReasonCode};

/// Why `auth` or `reauthenticate` did nothing.
///
/// ```
/// use mqtt_proto::{AuthError, Connection, MqttString, Options};
///
/// // A 3.1.1 connection has no enhanced authentication.
/// let mut conn = Connection::new(Options::new(MqttString::try_from("a").unwrap())).unwrap();
/// assert_eq!(conn.auth(None), Err(AuthError::NoMethod));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// Not an MQTT 5.0 connection with an authentication method.
    NoMethod,
    /// No connection is up to carry the AUTH packet.
    NotConnected,
}

impl core::fmt::Display for AuthError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            AuthError::NoMethod => "no MQTT 5.0 authentication method is configured",
            AuthError::NotConnected => "no connection is up",
        })
    }
}

impl core::error::Error for AuthError {}

impl Connection {
    /// Answers the broker's last AUTH challenge with `data` (reason
    /// Continue Authentication), during CONNECT or a re-authentication.
    ///
    /// ```
    /// use mqtt_proto::packet::Protocol;
    /// use mqtt_proto::{Connection, Instant, MqttString, Options};
    ///
    /// let options = Options::new(MqttString::try_from("a").unwrap())
    ///     .protocol(Protocol::V5)
    ///     .authentication(MqttString::try_from("demo").unwrap(), Some("hello".into()));
    /// let mut conn = Connection::new(options).unwrap();
    /// conn.connect(Instant::ZERO);
    /// let _connect = conn.poll_transmit(Instant::ZERO);
    /// conn.auth(Some("response".into())).unwrap();
    /// assert_eq!(conn.poll_transmit(Instant::ZERO).unwrap()[0], 0xF0); // AUTH
    /// ```
    pub fn auth(&mut self, data: Option<Bytes>) -> Result<(), AuthError> {
        self.send_auth(ReasonCode::ContinueAuthentication, data)
    }

    /// Starts a re-authentication on a live connection with `data`
    /// (reason Re-authenticate); the broker answers with AUTH, reported as
    /// [`Event::Auth`], or ends the connection.
    ///
    /// ```
    /// use mqtt_proto::{AuthError, Connection, MqttString, Options};
    /// let mut conn = Connection::new(Options::new(MqttString::try_from("a").unwrap())).unwrap();
    /// assert_eq!(conn.reauthenticate(None), Err(AuthError::NoMethod));
    /// ```
    pub fn reauthenticate(&mut self, data: Option<Bytes>) -> Result<(), AuthError> {
        if self.state != State::Connected && self.v5.is_some() {
            return Err(AuthError::NotConnected);
        }
        self.send_auth(ReasonCode::ReAuthenticate, data)
    }

    fn send_auth(&mut self, reason: ReasonCode, data: Option<Bytes>) -> Result<(), AuthError> {
        let method = match (&self.v5, &self.options.v5.authentication_method) {
            (Some(_), Some(method)) => method.clone(),
            _ => return Err(AuthError::NoMethod),
        };
        if !matches!(self.state, State::Connecting | State::Connected) {
            return Err(AuthError::NotConnected);
        }
        // [5.0 MQTT-4.12.0-5] the method stays the one CONNECT named.
        let auth = v5::Auth {
            reason_code: reason,
            properties: AuthProperties {
                authentication_method: Some(method),
                authentication_data: data,
                reason_string: None,
                user_properties: Vec::new(),
            },
        };
        let _ = v5::Packet::Auth(auth).encode(&mut self.tx);
        Ok(())
    }
}
