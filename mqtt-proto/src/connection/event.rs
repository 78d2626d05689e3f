//! What a [`Connection`](super::Connection) reports: events pulled with
//! `poll_event`, and the messages, ids and tokens they carry. Why a
//! connection ends is in `disconnect_reason.rs`, why a command did nothing
//! in `command_error.rs`.

use super::disconnect_reason::DisconnectReason;
use crate::packet::v5::{AckProperties, AuthProperties, PublishProperties, ReasonCode};
use crate::packet::{PacketId, QoS};
use crate::topic::{TopicError, TopicFilter, TopicName};
use alloc::boxed::Box;
use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;
use core::num::NonZeroU64;
use core::time::Duration;

/// An application message: what is published and what is received.
///
/// ```
/// use bytes::Bytes;
/// use mqtt_proto::{Message, QoS, TopicName};
///
/// // Built field by field (the fields are public) or with `Message::new`.
/// let m = Message {
///     topic: TopicName::try_from("sensors/kitchen").unwrap(),
///     payload: Bytes::from_static(b"21.5"),
///     qos: QoS::AtLeastOnce,
///     retain: true,
///     dup: false,
///     properties: None,
/// };
/// assert_eq!(m, Message::new("sensors/kitchen", "21.5", QoS::AtLeastOnce).unwrap().retained(true));
/// ```
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
    /// MQTT 5.0 properties: response topic, correlation data, user
    /// properties, expiry, content type, and on receipt the subscription
    /// identifiers that matched. `None` when there are none, and always at
    /// 3.1.1, which has no properties (they are not sent).
    pub properties: Option<Box<PublishProperties>>,
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
            properties: None,
        })
    }

    /// The same message with the RETAIN flag set as given.
    ///
    /// ```
    /// use mqtt_proto::{Message, QoS};
    ///
    /// let m = Message::new("status", "online", QoS::AtLeastOnce).unwrap().retained(true);
    /// assert!(m.retain);
    /// ```
    pub fn retained(mut self, retain: bool) -> Message {
        self.retain = retain;
        self
    }

    /// The same message with MQTT 5.0 properties (dropped at 3.1.1). An
    /// empty set is stored as `None`.
    ///
    /// ```
    /// use mqtt_proto::packet::v5::PublishProperties;
    /// use mqtt_proto::{Message, MqttString, QoS};
    ///
    /// let props = PublishProperties {
    ///     response_topic: Some(MqttString::try_from("replies/7").unwrap()),
    ///     correlation_data: Some("req-1".into()),
    ///     ..Default::default()
    /// };
    /// let m = Message::new("requests", "ping", QoS::AtLeastOnce).unwrap().with_properties(props);
    /// assert_eq!(m.properties().response_topic.as_deref(), Some("replies/7"));
    /// ```
    pub fn with_properties(mut self, properties: PublishProperties) -> Message {
        self.properties = (!properties.is_empty()).then(|| Box::new(properties));
        self
    }

    /// The MQTT 5.0 properties, empty when there are none.
    ///
    /// ```
    /// use mqtt_proto::{Message, QoS};
    /// let m = Message::new("t", "x", QoS::AtMostOnce).unwrap();
    /// assert!(m.properties().user_properties.is_empty());
    /// ```
    pub fn properties(&self) -> &PublishProperties {
        self.properties.as_deref().unwrap_or(&NO_PROPERTIES)
    }
}

static NO_PROPERTIES: PublishProperties = PublishProperties::EMPTY;

/// Names one `publish` call; its completion is reported with this id.
///
/// ```
/// use mqtt_proto::{Connection, Event, Instant, Message, MqttString, Options, QoS};
///
/// let mut conn = Connection::new(Options::new(MqttString::try_from("ids").unwrap())).unwrap();
/// let first = conn.publish(Message::new("t", "1", QoS::AtMostOnce).unwrap()).unwrap();
/// let second = conn.publish(Message::new("t", "2", QoS::AtMostOnce).unwrap()).unwrap();
/// assert_ne!(first, second);
///
/// let now = Instant::ZERO;
/// conn.connect(now);
/// conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
/// while conn.poll_transmit(now).is_some() {} // QoS 0 is done once handed out
/// let events: Vec<Event> = std::iter::from_fn(|| conn.poll_event()).collect();
/// assert_eq!(
///     events[1..],
///     [Event::Published { id: first }, Event::Published { id: second }]
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublishId(pub(crate) u64);

impl PublishId {
    /// The id as a number, unique for the life of the `Connection`.
    ///
    /// ```
    /// use mqtt_proto::{Connection, Message, MqttString, Options, QoS};
    ///
    /// let mut conn = Connection::new(Options::new(MqttString::try_from("ids").unwrap())).unwrap();
    /// let a = conn.publish(Message::new("t", "a", QoS::AtLeastOnce).unwrap()).unwrap();
    /// let b = conn.publish(Message::new("t", "b", QoS::AtLeastOnce).unwrap()).unwrap();
    /// assert_eq!(b.get(), a.get() + 1);
    /// ```
    pub fn get(self) -> u64 {
        self.0
    }
}

/// Lets the application acknowledge one incoming QoS 1 or 2 message in
/// manual-ack mode, with [`Connection::ack`](super::Connection::ack).
///
/// ```
/// use mqtt_proto::{Connection, Event, Instant, MqttString, Options};
///
/// let options = Options::new(MqttString::try_from("worker").unwrap()).manual_acks(true);
/// let mut conn = Connection::new(options).unwrap();
/// let now = Instant::ZERO;
/// conn.connect(now);
/// conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
/// while conn.poll_transmit(now).is_some() {}
///
/// // A QoS 1 PUBLISH, packet id 1, on "a": no PUBACK until the application acks.
/// conn.handle_read(now, &[0x32, 7, 0, 1, b'a', 0, 1, b'h', b'i']);
/// assert!(conn.poll_transmit(now).is_none());
/// let token = std::iter::from_fn(|| conn.poll_event())
///     .find_map(|e| match e {
///         Event::Message { ack, .. } => ack,
///         _ => None,
///     })
///     .unwrap();
/// conn.ack(token).unwrap();
/// assert_eq!(&conn.poll_transmit(now).unwrap()[..], &[0x40, 0x02, 0x00, 0x01]); // PUBACK 1
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AckToken(pub(crate) NonZeroU64);

/// The outcome for one filter of a SUBSCRIBE.
///
/// ```
/// use mqtt_proto::{Connection, Event, Instant, MqttString, Options, QoS, SubscribeOutcome, TopicFilter};
///
/// let mut conn = Connection::new(Options::new(MqttString::try_from("subs").unwrap())).unwrap();
/// let now = Instant::ZERO;
/// conn.connect(now);
/// conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
/// let id = conn
///     .subscribe(vec![
///         (TopicFilter::try_from("a/#").unwrap(), QoS::ExactlyOnce),
///         (TopicFilter::try_from("b").unwrap(), QoS::AtMostOnce),
///     ])
///     .unwrap();
/// // SUBACK: "a/#" granted at QoS 1 (lower than asked), "b" refused.
/// conn.handle_read(now, &[0x90, 0x04, 0x00, id.get() as u8, 0x01, 0x80]);
/// let subscribed = std::iter::from_fn(|| conn.poll_event()).last();
/// assert_eq!(
///     subscribed,
///     Some(Event::Subscribed {
///         id,
///         outcomes: vec![SubscribeOutcome::Granted(QoS::AtLeastOnce), SubscribeOutcome::Refused],
///     })
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscribeOutcome {
    /// Subscribed with this maximum QoS (possibly lower than asked).
    Granted(QoS),
    /// The broker refused this filter (return code 0x80).
    Refused,
    /// MQTT 5.0: the broker refused this filter with this reason code.
    Rejected(ReasonCode),
}

impl SubscribeOutcome {
    /// Whether the broker granted the filter (at some QoS).
    ///
    /// ```
    /// use mqtt_proto::packet::v5::ReasonCode;
    /// use mqtt_proto::{QoS, SubscribeOutcome};
    ///
    /// assert!(SubscribeOutcome::Granted(QoS::AtMostOnce).is_granted());
    /// assert!(!SubscribeOutcome::Refused.is_granted());
    /// assert!(!SubscribeOutcome::Rejected(ReasonCode::NotAuthorized).is_granted());
    /// ```
    pub fn is_granted(&self) -> bool {
        matches!(self, SubscribeOutcome::Granted(_))
    }
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
            SubscribeOutcome::Rejected(reason) => write!(f, "refused by the broker: {reason}"),
        }
    }
}

/// What happened, pulled with [`Connection::poll_event`](super::Connection::poll_event).
///
/// ```
/// use mqtt_proto::{Connection, Event, Instant, Message, MqttString, Options, QoS};
///
/// let mut conn = Connection::new(Options::new(MqttString::try_from("events").unwrap())).unwrap();
/// let now = Instant::ZERO;
/// conn.connect(now);
/// conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
/// conn.handle_read(now, &[0x30, 0x04, 0x00, 0x01, b't', b'x']); // a QoS 0 PUBLISH
/// for event in std::iter::from_fn(|| conn.poll_event()) {
///     match event {
///         Event::Connected { session_present } => assert!(!session_present),
///         Event::Message { message, ack } => {
///             assert_eq!(message, Message::new("t", "x", QoS::AtMostOnce).unwrap());
///             assert_eq!(ack, None);
///         }
///         other => panic!("unexpected {other:?}"),
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// CONNACK accepted the connection. With `session_present` false the
    /// broker holds no subscriptions for this client: subscribe again.
    Connected {
        /// Whether the broker resumed a stored session. MQTT 3.1 has no
        /// such flag: there a clean-session-0 connection counts as resumed
        /// (and the core subscribes again, since the broker may have lost
        /// the subscriptions).
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
    /// MQTT 5.0: the broker's PUBACK, PUBREC or PUBCOMP for a QoS 1 or 2
    /// publish said more than plain success: an error reason code (the
    /// message was not accepted and is not sent again), another success
    /// code such as "no matching subscribers", or properties. It takes the
    /// place of `Published` for that publish, which is complete either way.
    /// The connection also reports a publish it refused itself this way:
    /// above the broker's Maximum Packet Size (`PacketTooLarge`) or
    /// Maximum QoS (`QoSNotSupported`), or retained when the broker has no
    /// retained messages (`RetainNotSupported`).
    PublishAcked {
        /// The publish.
        id: PublishId,
        /// The reason code.
        reason: ReasonCode,
        /// The reason string and user properties of the ack.
        properties: AckProperties,
    },
    /// MQTT 5.0: an UNSUBACK whose reason codes are not all Success. It
    /// takes the place of `Unsubscribed`.
    UnsubscribeAcked {
        /// The UNSUBSCRIBE's packet id.
        id: PacketId,
        /// One reason code per filter, in order.
        reasons: Vec<ReasonCode>,
    },
    /// MQTT 5.0: the broker sent AUTH, a step of enhanced authentication
    /// (section 4.12). Answer a `ContinueAuthentication` with
    /// [`Connection::auth`](super::Connection::auth); `Success` ends a
    /// re-authentication.
    Auth {
        /// `ContinueAuthentication` or `Success`.
        reason: ReasonCode,
        /// Method, data, reason string and user properties (boxed: every
        /// event is as large as the largest, and AUTH is rare).
        properties: Box<AuthProperties>,
    },
}
