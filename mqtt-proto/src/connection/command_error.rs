//! Why a command did nothing: [`PublishError`], [`SubscribeError`] and
//! [`AckError`]. A command error never ends the connection.

use core::fmt;

/// Why `publish` refused a message. The connection is unaffected.
///
/// ```
/// use mqtt_proto::{Connection, Message, MqttString, Options, PublishError, QoS};
///
/// let options = Options::new(MqttString::try_from("small").unwrap())
///     .max_queued(1)
///     .max_packet_size(64);
/// let mut conn = Connection::new(options).unwrap();
/// let message = Message::new("t", "x", QoS::AtLeastOnce).unwrap();
/// conn.publish(message.clone()).unwrap(); // offline: queued
/// assert_eq!(conn.publish(message), Err(PublishError::QueueFull));
///
/// let big = Message::new("t", vec![0u8; 100], QoS::AtMostOnce).unwrap();
/// assert_eq!(conn.publish(big), Err(PublishError::TooLarge { size: 105, max: 64 }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// `max_queued` messages already wait; a [`Event::QueueReady`](super::Event::QueueReady) follows
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
///
/// ```
/// use mqtt_proto::{Connection, MqttString, Options, SubscribeError};
///
/// let mut conn = Connection::new(Options::new(MqttString::try_from("subs").unwrap())).unwrap();
/// assert_eq!(conn.subscribe(Vec::new()), Err(SubscribeError::NoFilters));
/// assert_eq!(conn.unsubscribe(Vec::new()), Err(SubscribeError::NoFilters));
/// ```
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
    /// The encoded packet would exceed `max_packet_size`, or at 5.0 the
    /// broker's Maximum Packet Size.
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// MQTT 5.0: a Subscription Identifier of 0 or above 268,435,455
    /// (section 3.8.2.1.2), or No Local on a shared subscription
    /// [5.0 MQTT-3.8.3-4].
    InvalidProperties,
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
            SubscribeError::InvalidProperties => {
                f.write_str("subscription identifier out of range 1 to 268435455, or no local on a shared subscription")
            }
        }
    }
}

impl core::error::Error for SubscribeError {}

/// Why `ack` did nothing.
///
/// ```
/// use mqtt_proto::{AckError, Connection, Event, Instant, MqttString, Options};
///
/// let options = Options::new(MqttString::try_from("worker").unwrap()).manual_acks(true);
/// let mut conn = Connection::new(options).unwrap();
/// let now = Instant::ZERO;
/// conn.connect(now);
/// conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
/// conn.handle_read(now, &[0x32, 6, 0, 1, b'a', 0, 1, b'x']); // QoS 1 PUBLISH
/// let token = std::iter::from_fn(|| conn.poll_event())
///     .find_map(|e| match e {
///         Event::Message { ack, .. } => ack,
///         _ => None,
///     })
///     .unwrap();
/// assert_eq!(conn.ack(token), Ok(()));
/// assert_eq!(conn.ack(token), Err(AckError::UnknownToken)); // once only
/// ```
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
