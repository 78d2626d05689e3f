//! Why a connection ended, as [`DisconnectReason`]: the ways a transport
//! can end, the broker's refusals (3.1.1 return codes, 5.0 reason codes
//! with [`ServerReason`]), and the [`ProtocolViolation`]s the connection
//! will not tolerate.

use crate::packet::v5::ReasonCode;
use crate::packet::{ConnectReturnCode, DecodeError, PacketId, PacketType};
use crate::string::MqttString;
use core::fmt;

/// Why a connection ended.
///
/// ```
/// use mqtt_proto::packet::ConnectReturnCode;
/// use mqtt_proto::{Connection, DisconnectReason, Event, Instant, MqttString, Options};
///
/// let mut conn = Connection::new(Options::new(MqttString::try_from("refused").unwrap())).unwrap();
/// let now = Instant::ZERO;
/// conn.connect(now);
/// conn.handle_read(now, &[0x20, 0x02, 0x00, 0x05]); // CONNACK: not authorized
/// let reason = DisconnectReason::Refused(ConnectReturnCode::NotAuthorized);
/// assert_eq!(conn.poll_event(), Some(Event::Disconnected { reason: reason.clone() }));
/// assert_eq!(reason.to_string(), "connection refused: not authorized to connect (code 5)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The broker refused the connection with this CONNACK code.
    Refused(ConnectReturnCode),
    /// No CONNACK within `connect_timeout` of the attempt's start (with a
    /// reconnect policy, the transport's opening counts too).
    ConnAckTimeout,
    /// Nothing came back within the ping timeout after a PINGREQ.
    KeepAliveTimeout,
    /// The transport closed (EOF or error) while connected or connecting,
    /// or could not be opened.
    TransportClosed,
    /// The application asked to disconnect: DISCONNECT was sent, or no
    /// connection was up to send it on.
    Requested,
    /// The broker broke the protocol; the connection was closed
    /// [MQTT-4.8.0-1].
    ProtocolViolation(ProtocolViolation),
    /// MQTT 5.0: the broker refused the connection with this CONNACK
    /// reason code.
    Rejected(ServerReason),
    /// MQTT 5.0: the broker closed the connection with DISCONNECT.
    ServerDisconnect(ServerReason),
}

/// Why an MQTT 5.0 broker refused or ended a connection: its reason code,
/// its reason string, and the server it points to, if any (with
/// `UseAnotherServer` or `ServerMoved`).
///
/// ```
/// use mqtt_proto::packet::v5::ReasonCode;
/// use mqtt_proto::ServerReason;
///
/// let why = ServerReason { reason: ReasonCode::ServerShuttingDown, reason_string: None, server_reference: None };
/// assert!(why.reason.is_error());
/// assert_eq!(why.to_string(), format!("{}", ReasonCode::ServerShuttingDown));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerReason {
    /// The reason code.
    pub reason: ReasonCode,
    /// The broker's Reason String, for humans.
    pub reason_string: Option<MqttString>,
    /// The broker's Server Reference.
    pub server_reference: Option<MqttString>,
}

impl fmt::Display for ServerReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.reason)?;
        if let Some(text) = &self.reason_string {
            write!(f, " ({text})")?;
        }
        if let Some(server) = &self.server_reference {
            write!(f, ", use server {server}")?;
        }
        Ok(())
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::Refused(code) => {
                write!(f, "connection refused: {code} (code {})", *code as u8)
            }
            DisconnectReason::ConnAckTimeout => f.write_str("no CONNACK in time"),
            DisconnectReason::KeepAliveTimeout => f.write_str("no answer to PINGREQ in time"),
            DisconnectReason::TransportClosed => f.write_str("transport closed"),
            DisconnectReason::Requested => f.write_str("disconnected on request"),
            DisconnectReason::ProtocolViolation(v) => write!(f, "protocol violation: {v}"),
            DisconnectReason::Rejected(why) => write!(f, "connection refused: {why}"),
            DisconnectReason::ServerDisconnect(why) => {
                write!(f, "disconnected by the broker: {why}")
            }
        }
    }
}

/// How the broker broke the protocol.
///
/// ```
/// use mqtt_proto::packet::PacketType;
/// use mqtt_proto::{Connection, DisconnectReason, Event, Instant, MqttString, Options, ProtocolViolation};
///
/// let mut conn = Connection::new(Options::new(MqttString::try_from("strict").unwrap())).unwrap();
/// let now = Instant::ZERO;
/// conn.connect(now);
/// conn.handle_read(now, &[0xD0, 0x00]); // PINGRESP before CONNACK
/// assert_eq!(
///     conn.poll_event(),
///     Some(Event::Disconnected {
///         reason: DisconnectReason::ProtocolViolation(ProtocolViolation::UnexpectedPacket(
///             PacketType::PingResp
///         )),
///     })
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolViolation {
    /// Bytes that are not a valid packet (or one over `max_packet_size`).
    Malformed(DecodeError),
    /// A packet a server never sends to a client, or one other than CONNACK
    /// before CONNACK.
    UnexpectedPacket(PacketType),
    /// A second CONNACK on one connection.
    DuplicateConnAck,
    /// CONNACK with session present 1 answering a clean-session CONNECT
    /// [MQTT-3.2.2-1].
    SessionPresentOnCleanSession,
    /// An acknowledgement for a packet identifier with no matching exchange.
    UnknownPacketId {
        /// The ack's type.
        packet_type: PacketType,
        /// Its identifier.
        pid: PacketId,
    },
    /// SUBACK with a different number of return codes than filters asked for
    /// (section 3.9.3).
    SubAckCountMismatch,
    /// More unacknowledged incoming messages than the 65,535 identifiers
    /// allow, or a new message reusing the id of one not yet acknowledged
    /// [MQTT-2.3.1-2].
    PacketIdReused(PacketId),
    /// MQTT 5.0: the broker sent more unacknowledged QoS 1 and 2 messages
    /// than our Receive Maximum [5.0 MQTT-3.3.4-9].
    ReceiveMaximumExceeded,
    /// MQTT 5.0: a Topic Alias of 0, above our Topic Alias Maximum, or
    /// never set [5.0 MQTT-3.3.2-10].
    InvalidTopicAlias,
    /// MQTT 5.0: AUTH from a broker when we asked for no enhanced
    /// authentication, or with another method (section 4.12).
    UnexpectedAuth,
    /// The broker sent copies of messages the application still holds
    /// until the acks owed for them reached their bound (131,072): closed
    /// rather than grow without limit [MQTT-4.8.0-2].
    RepeatFlood,
}

impl fmt::Display for ProtocolViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolViolation::Malformed(e) => write!(f, "malformed packet: {e}"),
            ProtocolViolation::UnexpectedPacket(t) => write!(f, "unexpected {t:?}"),
            ProtocolViolation::DuplicateConnAck => f.write_str("second CONNACK"),
            ProtocolViolation::SessionPresentOnCleanSession => {
                f.write_str("session present on a clean session [MQTT-3.2.2-1]")
            }
            ProtocolViolation::UnknownPacketId { packet_type, pid } => {
                write!(f, "{packet_type:?} for unknown packet id {pid}")
            }
            ProtocolViolation::SubAckCountMismatch => {
                f.write_str("SUBACK return codes do not match the filters")
            }
            ProtocolViolation::RepeatFlood => {
                f.write_str("too many copies of messages not yet acknowledged")
            }
            ProtocolViolation::ReceiveMaximumExceeded => {
                f.write_str("more unacknowledged messages than our receive maximum")
            }
            ProtocolViolation::InvalidTopicAlias => f.write_str("invalid topic alias"),
            ProtocolViolation::UnexpectedAuth => f.write_str("unexpected AUTH"),
            ProtocolViolation::PacketIdReused(pid) => {
                write!(f, "packet id {pid} reused before it was acknowledged")
            }
        }
    }
}
