//! Why a connection ended or could not be made, as a type a caller can
//! match on (`ConnectionEvent::Disconnected`).

use crate::{Error, Server};
use mqtt_proto::packet::ConnectReturnCode;
use mqtt_proto::{ProtocolViolation, ServerReason};
use std::fmt;

/// Why a connection ended, or why an attempt to make one failed.
///
/// ```
/// use mqtt_client::DisconnectReason;
/// use mqtt_client::mqtt_proto::packet::ConnectReturnCode;
///
/// let reason = DisconnectReason::Refused(ConnectReturnCode::NotAuthorized);
/// assert_eq!(
///     reason.to_string(),
///     "the broker refused the connection: not authorized to connect (code 5)"
/// );
/// assert!(!DisconnectReason::Requested.is_failure());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// `Client::disconnect` was called, or every handle was dropped.
    Requested,
    /// The broker closed the connection (end of stream or a reset).
    ClosedByBroker,
    /// Nothing came back in time after a PINGREQ.
    KeepAliveTimeout,
    /// The broker broke the protocol; the client closed the connection
    /// [MQTT-4.8.0-1].
    ProtocolViolation(ProtocolViolation),
    /// The transport failed while connected (an IO, TLS or WebSocket error).
    Transport(Error),
    /// The broker answered CONNECT with this refusal.
    Refused(ConnectReturnCode),
    /// MQTT 5.0: the broker refused the connection with this reason.
    Rejected(ServerReason),
    /// MQTT 5.0: the broker ended the connection with DISCONNECT and this
    /// reason (a server shutting down, a session taken over, a keep-alive
    /// timeout, a server reference to move to).
    ServerDisconnect(ServerReason),
    /// An attempt to connect to `server` failed before CONNACK: the
    /// transport could not be opened, or no CONNACK came in time.
    ConnectFailed {
        /// The server tried.
        server: Server,
        /// What went wrong.
        error: Error,
    },
}

impl DisconnectReason {
    /// Whether something went wrong (everything but `Requested`).
    ///
    /// ```
    /// use mqtt_client::DisconnectReason;
    ///
    /// assert!(DisconnectReason::KeepAliveTimeout.is_failure());
    /// assert!(!DisconnectReason::Requested.is_failure());
    /// ```
    pub fn is_failure(&self) -> bool {
        !matches!(self, DisconnectReason::Requested)
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::Requested => f.write_str("disconnected on request"),
            DisconnectReason::ClosedByBroker => f.write_str("the broker closed the connection"),
            DisconnectReason::KeepAliveTimeout => {
                f.write_str("the broker did not answer PINGREQ in time")
            }
            DisconnectReason::ProtocolViolation(v) => {
                write!(f, "the broker broke the protocol: {v}")
            }
            DisconnectReason::Transport(e) => write!(f, "connection lost: {e}"),
            DisconnectReason::Refused(code) => write!(
                f,
                "the broker refused the connection: {code} (code {})",
                *code as u8
            ),
            DisconnectReason::Rejected(why) => {
                write!(f, "the broker refused the connection: {why}")
            }
            DisconnectReason::ServerDisconnect(why) => {
                write!(f, "the broker disconnected: {why}")
            }
            DisconnectReason::ConnectFailed { server, error } => {
                write!(f, "cannot connect to {server}: {error}")
            }
        }
    }
}
