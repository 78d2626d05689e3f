//! The one error type of the client.

mod tls;
mod websocket;

pub use tls::TlsError;
pub(crate) use tls::{classify, from_rustls};
pub use websocket::WebSocketError;

use crate::store::StoreError;
use mqtt_proto::packet::ConnectReturnCode;
use mqtt_proto::topic::TopicError;
use mqtt_proto::{OptionsError, ProtocolViolation, PublishError, ServerReason, SubscribeError};
use std::fmt;
use std::sync::Arc;

/// What can go wrong with a [`Client`](crate::Client) call.
///
/// ```
/// use mqtt_client::{Error, Options};
///
/// // Errors found before any connection is made are typed like the rest.
/// let error = Options::from_url("http://broker.example").unwrap_err();
/// assert!(matches!(error, Error::InvalidUrl(_)));
///
/// let error = Options::new("127.0.0.1", 1883).max_inflight(0).check().unwrap_err();
/// assert!(matches!(error, Error::Options(_)));
/// assert_eq!(error.to_string(), "invalid options: max_inflight must be between 1 and 65535");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// The broker refused the connection with this CONNACK code. Refusals
    /// of identity or credentials stop the reconnect loop.
    Refused(ConnectReturnCode),
    /// The transport failed (connecting, reading or writing).
    Io(Arc<std::io::Error>),
    /// MQTT 5.0: the broker refused the connection with this reason.
    /// Refusals that describe the client stop the reconnect loop.
    Rejected(ServerReason),
    /// MQTT 5.0: the broker refused a publish with an error reason code
    /// in its PUBACK or PUBREC (or the client refused it for the broker:
    /// above its Maximum Packet Size or Maximum QoS, or retained when it
    /// keeps no retained messages). It is not sent again.
    PublishRejected(ServerReason),
    /// MQTT 5.0: the enhanced authentication hook gave up.
    Auth(String),
    /// [`Client::respond`](crate::Client::respond) to a message without a
    /// Response Topic.
    NoResponseTopic,
    /// TLS failed: a local configuration error (reported before any
    /// connection is opened), a server certificate that does not verify, a
    /// refused handshake, or a peer that does not speak TLS. See
    /// [`TlsError::is_permanent`].
    Tls(TlsError),
    /// The WebSocket upgrade or framing failed.
    WebSocket(WebSocketError),
    /// The broker closed or reset the connection before answering CONNECT:
    /// it would not talk MQTT to us (for example a TLS port reached with
    /// `mqtt://`).
    ClosedBeforeConnAck,
    /// The broker broke the protocol before accepting the connection.
    Protocol(ProtocolViolation),
    /// The client is shut down: `disconnect` was called, every handle was
    /// dropped, or the broker refused the credentials.
    Closed,
    /// A topic name or filter is not valid (section 4.7).
    Topic(TopicError),
    /// The publish was refused before it was sent (e.g. too large).
    Publish(PublishError),
    /// The subscribe or unsubscribe was refused before it was sent.
    Subscribe(SubscribeError),
    /// The broker refused every filter of a SUBSCRIBE (return code 0x80).
    SubscriptionRefused,
    /// `try_publish` found the command queue full; `publish` would wait.
    Backpressure,
    /// [`PendingPublish::stored`](crate::PendingPublish::stored) for a
    /// message no store keeps: a QoS 0 message, or a client without
    /// `Options::store_dir`.
    NotStored,
    /// The stored session cannot be restored: it disagrees with any
    /// session a client can have (two messages under one packet id).
    Restore(mqtt_proto::store::RestoreError),
    /// The options are not usable.
    Options(OptionsError),
    /// A broker URL could not be understood.
    InvalidUrl(String),
    /// No CONNACK (or no TCP connection) within the connect timeout.
    Timeout,
    /// No SUBACK or UNSUBACK within `Options::request_timeout`.
    RequestTimeout,
    /// An option was given a value it cannot take; `option` names the
    /// setter.
    InvalidOption {
        /// The option, as its `Options` setter is named.
        option: &'static str,
        /// What is wrong with the value.
        reason: String,
    },
    /// The broker lost the session while this QoS 2 publish was in flight,
    /// and `Options::session_lost` says to give such messages up: it may
    /// or may not have reached subscribers.
    SessionLost,
    /// The session store failed: it could not be opened, a commit failed,
    /// or its file is damaged. Nothing that depended on a failed commit
    /// was sent.
    Store(StoreError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Refused(code) => write!(
                f,
                "connection refused by the broker: {code} (code {})",
                *code as u8
            ),
            Error::Io(e) => write!(f, "transport error: {e}"),
            Error::Rejected(why) => write!(f, "connection refused by the broker: {why}"),
            Error::PublishRejected(why) => write!(f, "publish refused: {why}"),
            Error::Auth(why) => write!(f, "authentication failed: {why}"),
            Error::NoResponseTopic => f.write_str("the message asks for no response"),
            Error::Tls(e) => write!(f, "TLS error: {e}"),
            Error::WebSocket(e) => write!(f, "WebSocket error: {e}"),
            Error::Protocol(v) => write!(f, "the broker broke the protocol: {v}"),
            Error::ClosedBeforeConnAck => f.write_str(
                "the broker closed the connection before answering CONNECT \
                     (is it a TLS port? then use mqtts://)",
            ),
            Error::Closed => f.write_str("the client is closed"),
            Error::Topic(e) => write!(f, "invalid topic: {e}"),
            Error::Publish(e) => write!(f, "publish refused: {e}"),
            Error::Subscribe(e) => write!(f, "subscribe refused: {e}"),
            Error::SubscriptionRefused => f.write_str("the broker refused the subscription"),
            Error::Backpressure => f.write_str("the client's command queue is full"),
            Error::NotStored => f.write_str("no store keeps this message"),
            Error::Restore(e) => write!(f, "the stored session cannot be restored: {e}"),
            Error::Options(e) => write!(f, "invalid options: {e}"),
            Error::InvalidUrl(why) => write!(f, "invalid broker URL: {why}"),
            Error::Timeout => f.write_str("timed out connecting to the broker"),
            Error::RequestTimeout => {
                f.write_str("the broker did not acknowledge the request in time")
            }
            Error::InvalidOption { option, reason } => {
                write!(f, "invalid value for option `{option}`: {reason}")
            }
            Error::SessionLost => f.write_str(
                "the broker lost the session while this QoS 2 message was in flight; \
                 it may or may not have been delivered",
            ),
            Error::Store(e) => write!(f, "session store: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(&**e),
            Error::Tls(e) => Some(e),
            Error::WebSocket(e) => Some(e),
            Error::Topic(e) => Some(e),
            Error::Publish(e) => Some(e),
            Error::Subscribe(e) => Some(e),
            Error::Options(e) => Some(e),
            Error::Store(e) => Some(e),
            Error::Restore(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(Arc::new(e))
    }
}

impl From<TopicError> for Error {
    fn from(e: TopicError) -> Self {
        Error::Topic(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}
