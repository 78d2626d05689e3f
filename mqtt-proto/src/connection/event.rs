//! What a [`Connection`](super::Connection) reports: events pulled with
//! `poll_event`, the reasons a connection ends, and the small per-command
//! error types. A command error never ends the connection; a
//! [`DisconnectReason`] always does.

use crate::packet::{ConnectReturnCode, DecodeError, PacketId, PacketType, QoS};
use crate::topic::{TopicError, TopicFilter, TopicName};
use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;
use core::time::Duration;

/// An application message: what is published and what is received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Message {
    /// The topic name.
    pub topic: TopicName,
    /// The payload.
    pub payload: Bytes,
    /// Quality of service.
    pub qos: QoS,
    /// The RETAIN flag: on publish, ask the broker to keep it; on receipt,
    /// the broker sent it from its retained store.
    pub retain: bool,
    /// The DUP flag of a received message: the broker sent it before and
    /// this may be a redelivery [MQTT-3.3.1-1] (a QoS 2 message the
    /// application already has is never handed out again). Ignored on
    /// publish: the core sets DUP itself when it resends.
    pub dup: bool,
}

impl Message {
    /// A non-retained message, validating `topic` as a topic name.
    ///
    /// ```
    /// use mqtt_proto::{Message, QoS};
    /// let m = Message::new("a/b", "hello", QoS::AtLeastOnce).unwrap();
    /// assert_eq!(m.topic, "a/b");
    /// assert!(Message::new("a/+", "x", QoS::AtMostOnce).is_err());
    /// ```
    pub fn new(topic: &str, payload: impl Into<Bytes>, qos: QoS) -> Result<Message, TopicError> {
        Ok(Message {
            topic: TopicName::try_from(topic)?,
            payload: payload.into(),
            qos,
            retain: false,
            dup: false,
        })
    }

    /// The same message with the RETAIN flag set as given.
    pub fn retained(mut self, retain: bool) -> Message {
        self.retain = retain;
        self
    }
}

/// Names one `publish` call; its completion is reported with this id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublishId(pub(crate) u64);

impl PublishId {
    /// The id as a number, unique for the life of the `Connection`.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// Lets the application acknowledge one incoming QoS 1 or 2 message in
/// manual-ack mode, with [`Connection::ack`](super::Connection::ack).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AckToken(pub(crate) u64);

/// The outcome for one filter of a SUBSCRIBE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscribeOutcome {
    /// Subscribed with this maximum QoS (possibly lower than asked).
    Granted(QoS),
    /// The broker refused this filter (return code 0x80).
    Refused,
}

impl fmt::Display for SubscribeOutcome {
    /// In words: "granted at QoS 2", "refused by the broker".
    ///
    /// ```
    /// use mqtt_proto::{QoS, SubscribeOutcome};
    ///
    /// assert_eq!(SubscribeOutcome::Granted(QoS::ExactlyOnce).to_string(), "granted at QoS 2");
    /// assert_eq!(SubscribeOutcome::Refused.to_string(), "refused by the broker");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubscribeOutcome::Granted(qos) => write!(f, "granted at QoS {}", *qos as u8),
            SubscribeOutcome::Refused => f.write_str("refused by the broker"),
        }
    }
}

/// What happened, pulled with [`Connection::poll_event`](super::Connection::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// CONNACK accepted the connection. With `session_present` false the
    /// broker holds no subscriptions for this client: subscribe again.
    Connected {
        /// Whether the broker resumed a stored session.
        session_present: bool,
    },
    /// The connection ended; close the transport. The core stays quiet until
    /// [`connect`](super::Connection::connect) is called for a new transport.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// A message from the broker.
    Message {
        /// The message.
        message: Message,
        /// In manual-ack mode, the token to acknowledge a QoS 1 or 2 message
        /// with; `None` otherwise.
        ack: Option<AckToken>,
    },
    /// A publish finished: QoS 0 handed to `poll_transmit`, QoS 1 PUBACK'd,
    /// QoS 2 PUBCOMP'd.
    Published {
        /// The id `publish` returned.
        id: PublishId,
    },
    /// A SUBACK arrived.
    Subscribed {
        /// The id `subscribe` returned.
        id: PacketId,
        /// One outcome per filter, in the order requested.
        outcomes: Vec<SubscribeOutcome>,
    },
    /// An UNSUBACK arrived.
    Unsubscribed {
        /// The id `unsubscribe` returned.
        id: PacketId,
    },
    /// The publish queue has room again after a `QueueFull` error.
    QueueReady,
    /// Open a transport to server number `server` (an index into the
    /// caller's list, below `ReconnectOptions::servers`), then call
    /// [`connect`](super::Connection::connect), or
    /// [`handle_closed`](super::Connection::handle_closed) if it cannot be
    /// opened. The attempt as a whole (opening and CONNACK) is bounded by
    /// `connect_timeout`; past it `Event::Disconnected` with
    /// [`DisconnectReason::ConnAckTimeout`] says to abandon it.
    OpenTransport {
        /// Which server.
        server: usize,
    },
    /// The reconnect policy waits `delay` (the backoff) before the next
    /// attempt, at `server`; [`Event::OpenTransport`] follows then.
    ReconnectScheduled {
        /// Which server comes next.
        server: usize,
        /// The wait.
        delay: Duration,
    },
    /// The reconnect policy stops: the broker refused the connection for a
    /// reason retrying cannot fix ([`is_final_refusal`](super::is_final_refusal)),
    /// or no server of the first round could be reached and
    /// `give_up_if_never_connected` is set. The `Event::Disconnected` just
    /// before says why. The session stays; `start` tries again.
    GaveUp,
    /// The broker has no session for us although one was expected (a
    /// persistent session it had before), or messages were in flight when
    /// it lost it. See [`SessionLostPolicy`](super::SessionLostPolicy).
    SessionLost {
        /// QoS 1 and 2 messages that may have reached the broker, queued
        /// to be sent again as new messages (a subscriber may get a copy).
        resent: Vec<PublishId>,
        /// QoS 2 messages given up under `SessionLostPolicy::Fail`: no
        /// `Event::Published` follows for them.
        failed: Vec<PublishId>,
    },
    /// The SUBACK of a SUBSCRIBE the connection sent by itself, to hold
    /// the session's filters again after the broker lost them.
    Resubscribed {
        /// Each filter with its outcome; a refused one is no longer held.
        filters: Vec<(TopicFilter, SubscribeOutcome)>,
    },
}

/// Why a connection ended.
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
        }
    }
}

/// How the broker broke the protocol.
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
            ProtocolViolation::PacketIdReused(pid) => {
                write!(f, "packet id {pid} reused before it was acknowledged")
            }
        }
    }
}

/// Why `publish` refused a message. The connection is unaffected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// `max_queued` messages already wait; a [`Event::QueueReady`] follows
    /// when there is room.
    QueueFull,
    /// A graceful close is under way (`disconnect` with a drain time).
    Closing,
    /// The encoded PUBLISH would exceed `max_packet_size`.
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::QueueFull => f.write_str("publish queue is full"),
            PublishError::Closing => f.write_str("the connection is closing"),
            PublishError::TooLarge { size, max } => {
                write!(f, "PUBLISH of {size} bytes exceeds max_packet_size {max}")
            }
        }
    }
}

impl core::error::Error for PublishError {}

/// Why `subscribe` or `unsubscribe` refused a request. The connection is
/// unaffected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscribeError {
    /// No filters given [MQTT-3.8.3-3], [MQTT-3.10.3-2].
    NoFilters,
    /// `max_pending_requests` requests already await their ack.
    TooManyPending,
    /// Every packet identifier is in use.
    NoPacketId,
    /// A graceful close is under way (`disconnect` with a drain time).
    Closing,
    /// The encoded packet would exceed `max_packet_size`.
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for SubscribeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubscribeError::NoFilters => f.write_str("no topic filters given"),
            SubscribeError::TooManyPending => f.write_str("too many requests awaiting an ack"),
            SubscribeError::NoPacketId => f.write_str("every packet identifier is in use"),
            SubscribeError::Closing => f.write_str("the connection is closing"),
            SubscribeError::TooLarge { size, max } => {
                write!(f, "request of {size} bytes exceeds max_packet_size {max}")
            }
        }
    }
}

impl core::error::Error for SubscribeError {}

/// Why `ack` did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckError {
    /// The token was already used, or belongs to a message whose session is
    /// gone (the broker will send it again).
    UnknownToken,
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown or already used ack token")
    }
}

impl core::error::Error for AckError {}
