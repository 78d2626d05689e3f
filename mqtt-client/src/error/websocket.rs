//! How a WebSocket transport fails: the upgrade refused or malformed, or a
//! frame MQTT does not allow.

use std::fmt;

/// A WebSocket failure.
///
/// ```
/// use mqtt_client::{Error, WebSocketError};
///
/// let error = Error::WebSocket(WebSocketError::Rejected { status: 401 });
/// assert_eq!(
///     error.to_string(),
///     "WebSocket error: the server refused the WebSocket upgrade with HTTP 401"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebSocketError {
    /// The server answered the upgrade with this HTTP status (401 or 403:
    /// the upgrade needs credentials, see `Options::websocket_header`; 404:
    /// the path is wrong).
    Rejected {
        /// The HTTP status code.
        status: u16,
    },
    /// The server did not agree to the `mqtt` subprotocol.
    NoMqttSubprotocol,
    /// The server sent a text frame; MQTT travels in binary frames only
    /// [MQTT-6.0.0-1].
    TextFrame,
    /// An extra header name or value is not valid HTTP.
    InvalidHeader(String),
    /// The upgrade failed otherwise (not an HTTP server, bad answer).
    Handshake(String),
}

impl fmt::Display for WebSocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebSocketError::Rejected { status } => {
                write!(
                    f,
                    "the server refused the WebSocket upgrade with HTTP {status}"
                )
            }
            WebSocketError::NoMqttSubprotocol => {
                f.write_str("the server did not accept the \"mqtt\" WebSocket subprotocol")
            }
            WebSocketError::TextFrame => {
                f.write_str("the server sent a text frame (MQTT uses binary frames only)")
            }
            WebSocketError::InvalidHeader(why) => write!(f, "invalid WebSocket header: {why}"),
            WebSocketError::Handshake(why) => write!(f, "WebSocket upgrade failed: {why}"),
        }
    }
}

impl std::error::Error for WebSocketError {}
