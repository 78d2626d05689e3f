//! The typed property sets of MQTT 5.0 (section 2.2.2): one struct per
//! packet kind, each field one property of the table of section 2.2.2.2.
//! A field is `None` (or an empty list) when the property is absent, so a
//! default set encodes as a zero property length.

use crate::string::MqttString;
use alloc::vec::Vec;
use bytes::Bytes;

/// A User Property (0x26): a name and value pair. It may appear any number
/// of times, and its order is kept [5.0 MQTT-3.3.2-18].
///
/// ```
/// use mqtt_proto::packet::v5::{PublishProperties, UserProperty};
/// use mqtt_proto::MqttString;
///
/// let pair = |name: &str, value: &str| UserProperty {
///     name: MqttString::try_from(name).unwrap(),
///     value: MqttString::try_from(value).unwrap(),
/// };
/// // The same name twice is allowed, and the order counts.
/// let properties = PublishProperties {
///     user_properties: vec![pair("k", "1"), pair("k", "2")],
///     ..PublishProperties::default()
/// };
/// assert_eq!(properties.user_properties[1].value, "2");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserProperty {
    /// The name.
    pub name: MqttString,
    /// The value.
    pub value: MqttString,
}

/// Payload Format Indicator (0x01).
///
/// ```
/// use mqtt_proto::packet::v5::PayloadFormat;
///
/// assert_eq!(PayloadFormat::Utf8 as u8, 1);
/// assert_eq!(PayloadFormat::default(), PayloadFormat::Unspecified);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum PayloadFormat {
    /// 0: unspecified bytes.
    #[default]
    Unspecified = 0,
    /// 1: UTF-8 encoded character data.
    Utf8 = 1,
}

/// The properties of CONNECT (section 3.1.2.11).
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{decode, Connect, ConnectProperties, Packet, UserProperty};
/// use mqtt_proto::MqttString;
///
/// let properties = ConnectProperties {
///     receive_maximum: Some(16),
///     maximum_packet_size: Some(64 * 1024),
///     user_properties: vec![UserProperty {
///         name: MqttString::try_from("region").unwrap(),
///         value: MqttString::try_from("eu").unwrap(),
///     }],
///     ..ConnectProperties::default()
/// };
/// let connect = Connect {
///     clean_start: true,
///     keep_alive: 0,
///     properties,
///     client_id: MqttString::new(),
///     will: None,
///     username: None,
///     password: None,
/// };
/// let mut wire = BytesMut::new();
/// connect.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Connect(Box::new(connect)))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ConnectProperties {
    /// Session Expiry Interval (0x11), seconds; absent means 0.
    pub session_expiry_interval: Option<u32>,
    /// Receive Maximum (0x21): QoS 1 and 2 publishes the client accepts
    /// at once; absent means 65,535, 0 is a protocol error.
    pub receive_maximum: Option<u16>,
    /// Maximum Packet Size (0x27) the client accepts; 0 is a protocol error.
    pub maximum_packet_size: Option<u32>,
    /// Topic Alias Maximum (0x22) the client accepts; absent means 0.
    pub topic_alias_maximum: Option<u16>,
    /// Request Response Information (0x19), 0 or 1.
    pub request_response_information: Option<bool>,
    /// Request Problem Information (0x17), 0 or 1.
    pub request_problem_information: Option<bool>,
    /// User Properties (0x26).
    pub user_properties: Vec<UserProperty>,
    /// Authentication Method (0x15).
    pub authentication_method: Option<MqttString>,
    /// Authentication Data (0x16); only with a method.
    pub authentication_data: Option<Bytes>,
}

/// The will properties of CONNECT (section 3.1.3.2).
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use mqtt_proto::packet::v5::{
///     decode, Connect, ConnectProperties, Packet, PayloadFormat, Will, WillProperties,
/// };
/// use mqtt_proto::{MqttString, QoS, TopicName};
///
/// let properties = WillProperties {
///     payload_format_indicator: Some(PayloadFormat::Utf8),
///     message_expiry_interval: Some(600),
///     response_topic: Some(MqttString::try_from("replies/7").unwrap()),
///     ..WillProperties::default()
/// };
/// let connect = Connect {
///     clean_start: true,
///     keep_alive: 0,
///     properties: ConnectProperties::default(),
///     client_id: MqttString::try_from("c").unwrap(),
///     will: Some(Will {
///         topic: TopicName::try_from("status/7").unwrap(),
///         payload: Bytes::from_static(b"gone"),
///         qos: QoS::AtMostOnce,
///         retain: false,
///         properties,
///     }),
///     username: None,
///     password: None,
/// };
/// let mut wire = BytesMut::new();
/// connect.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Connect(Box::new(connect)))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct WillProperties {
    /// Will Delay Interval (0x18), seconds.
    pub will_delay_interval: Option<u32>,
    /// Payload Format Indicator (0x01).
    pub payload_format_indicator: Option<PayloadFormat>,
    /// Message Expiry Interval (0x02), seconds.
    pub message_expiry_interval: Option<u32>,
    /// Content Type (0x03).
    pub content_type: Option<MqttString>,
    /// Response Topic (0x08); a topic name, no wildcards.
    pub response_topic: Option<MqttString>,
    /// Correlation Data (0x09).
    pub correlation_data: Option<Bytes>,
    /// User Properties (0x26).
    pub user_properties: Vec<UserProperty>,
}

/// The properties of CONNACK (section 3.2.2.3).
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{decode, ConnAck, ConnAckProperties, Packet, ReasonCode};
/// use mqtt_proto::MqttString;
///
/// let properties = ConnAckProperties {
///     assigned_client_identifier: Some(MqttString::try_from("auto-1").unwrap()),
///     server_keep_alive: Some(20),
///     retain_available: Some(false),
///     ..ConnAckProperties::default()
/// };
/// let ack = ConnAck { session_present: false, reason_code: ReasonCode::Success, properties };
/// let mut wire = BytesMut::new();
/// ack.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::ConnAck(Box::new(ack)))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ConnAckProperties {
    /// Session Expiry Interval (0x11) the server uses instead of ours.
    pub session_expiry_interval: Option<u32>,
    /// Receive Maximum (0x21) of the server; absent means 65,535.
    pub receive_maximum: Option<u16>,
    /// Maximum QoS (0x24), 0 or 1; absent means 2.
    pub maximum_qos: Option<crate::packet::QoS>,
    /// Retain Available (0x25); absent means available.
    pub retain_available: Option<bool>,
    /// Maximum Packet Size (0x27) the server accepts.
    pub maximum_packet_size: Option<u32>,
    /// Assigned Client Identifier (0x12), when we sent an empty one.
    pub assigned_client_identifier: Option<MqttString>,
    /// Topic Alias Maximum (0x22) the server accepts; absent means 0.
    pub topic_alias_maximum: Option<u16>,
    /// Reason String (0x1F).
    pub reason_string: Option<MqttString>,
    /// User Properties (0x26).
    pub user_properties: Vec<UserProperty>,
    /// Wildcard Subscription Available (0x28); absent means available.
    pub wildcard_subscription_available: Option<bool>,
    /// Subscription Identifiers Available (0x29); absent means available.
    pub subscription_identifiers_available: Option<bool>,
    /// Shared Subscription Available (0x2A); absent means available.
    pub shared_subscription_available: Option<bool>,
    /// Server Keep Alive (0x13): the keep-alive the client must use.
    pub server_keep_alive: Option<u16>,
    /// Response Information (0x1A).
    pub response_information: Option<MqttString>,
    /// Server Reference (0x1C).
    pub server_reference: Option<MqttString>,
    /// Authentication Method (0x15).
    pub authentication_method: Option<MqttString>,
    /// Authentication Data (0x16).
    pub authentication_data: Option<Bytes>,
}

/// The properties of PUBLISH (section 3.3.2.3).
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{decode, Packet, PayloadFormat, Publish, PublishProperties};
/// use mqtt_proto::packet::QosPid;
/// use mqtt_proto::{MqttString, TopicName};
///
/// // A request: the answer goes to the response topic, tagged with the
/// // correlation data.
/// let properties = PublishProperties {
///     payload_format_indicator: Some(PayloadFormat::Utf8),
///     response_topic: Some(MqttString::try_from("replies/42").unwrap()),
///     correlation_data: Some("req-1".into()),
///     ..PublishProperties::default()
/// };
/// let publish = Publish {
///     dup: false,
///     qos_pid: QosPid::AtMostOnce,
///     retain: false,
///     topic: Some(TopicName::try_from("service/ask").unwrap()),
///     properties,
///     payload: "question".into(),
/// };
/// let mut wire = BytesMut::new();
/// publish.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Publish(publish))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PublishProperties {
    /// Payload Format Indicator (0x01).
    pub payload_format_indicator: Option<PayloadFormat>,
    /// Message Expiry Interval (0x02), seconds.
    pub message_expiry_interval: Option<u32>,
    /// Topic Alias (0x23); never 0.
    pub topic_alias: Option<u16>,
    /// Response Topic (0x08); a topic name, no wildcards.
    pub response_topic: Option<MqttString>,
    /// Correlation Data (0x09).
    pub correlation_data: Option<Bytes>,
    /// User Properties (0x26), in order.
    pub user_properties: Vec<UserProperty>,
    /// Subscription Identifiers (0x0B) of the matching subscriptions; only
    /// from server to client, each 1 to 268,435,455.
    pub subscription_identifiers: Vec<u32>,
    /// Content Type (0x03).
    pub content_type: Option<MqttString>,
}

impl PublishProperties {
    /// The set with no property: what a default set is, usable in a
    /// `static`.
    ///
    /// ```
    /// use mqtt_proto::packet::v5::PublishProperties;
    ///
    /// static NONE: PublishProperties = PublishProperties::EMPTY;
    /// assert_eq!(NONE, PublishProperties::default());
    /// ```
    pub const EMPTY: PublishProperties = PublishProperties {
        payload_format_indicator: None,
        message_expiry_interval: None,
        topic_alias: None,
        response_topic: None,
        correlation_data: None,
        user_properties: Vec::new(),
        subscription_identifiers: Vec::new(),
        content_type: None,
    };

    /// Whether no property is set (the set encodes as a zero length).
    ///
    /// ```
    /// use mqtt_proto::packet::v5::PublishProperties;
    ///
    /// assert!(PublishProperties::default().is_empty());
    /// let aliased = PublishProperties { topic_alias: Some(3), ..PublishProperties::default() };
    /// assert!(!aliased.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        // Field by field: this runs for every PUBLISH encoded.
        self.payload_format_indicator.is_none()
            && self.message_expiry_interval.is_none()
            && self.topic_alias.is_none()
            && self.response_topic.is_none()
            && self.correlation_data.is_none()
            && self.user_properties.is_empty()
            && self.subscription_identifiers.is_empty()
            && self.content_type.is_none()
    }
}

/// The properties of PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK:
/// a reason string and user properties.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{AckProperties, PubResponse, ReasonCode};
/// use mqtt_proto::packet::PacketType;
/// use mqtt_proto::{MqttString, PacketId};
///
/// let ack = PubResponse {
///     pid: PacketId::new(1).unwrap(),
///     reason_code: ReasonCode::Success,
///     properties: AckProperties {
///         reason_string: Some(MqttString::try_from("ok").unwrap()),
///         ..AckProperties::default()
///     },
/// };
/// let mut buf = BytesMut::new();
/// ack.encode(PacketType::PubAck, &mut buf).unwrap();
/// // Identifier, reason code, property length 5, Reason String "ok".
/// assert_eq!(&buf[..], &[0x40, 9, 0, 1, 0x00, 5, 0x1F, 0, 2, b'o', b'k']);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AckProperties {
    /// Reason String (0x1F).
    pub reason_string: Option<MqttString>,
    /// User Properties (0x26).
    pub user_properties: Vec<UserProperty>,
}

/// The properties of SUBSCRIBE (section 3.8.2.1).
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{Subscribe, SubscribeProperties, SubscriptionOptions};
/// use mqtt_proto::{PacketId, QoS, TopicFilter};
///
/// // Messages for this subscription will carry Subscription Identifier 300.
/// let subscribe = Subscribe {
///     pid: PacketId::new(1).unwrap(),
///     properties: SubscribeProperties { subscription_identifier: Some(300), ..SubscribeProperties::default() },
///     filters: vec![(TopicFilter::try_from("a").unwrap(), SubscriptionOptions::new(QoS::AtMostOnce))],
/// };
/// let mut buf = BytesMut::new();
/// subscribe.encode(&mut buf).unwrap();
/// assert_eq!(&buf[4..8], &[3, 0x0B, 0xAC, 0x02]); // property length 3, identifier 300
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SubscribeProperties {
    /// Subscription Identifier (0x0B), 1 to 268,435,455.
    pub subscription_identifier: Option<u32>,
    /// User Properties (0x26).
    pub user_properties: Vec<UserProperty>,
}

/// The properties of UNSUBSCRIBE (section 3.10.2.1).
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{Unsubscribe, UnsubscribeProperties, UserProperty};
/// use mqtt_proto::{MqttString, PacketId, TopicFilter};
///
/// let unsubscribe = Unsubscribe {
///     pid: PacketId::new(1).unwrap(),
///     properties: UnsubscribeProperties {
///         user_properties: vec![UserProperty {
///             name: MqttString::try_from("why").unwrap(),
///             value: MqttString::try_from("done").unwrap(),
///         }],
///     },
///     filters: vec![TopicFilter::try_from("a").unwrap()],
/// };
/// let mut buf = BytesMut::new();
/// unsubscribe.encode(&mut buf).unwrap();
/// assert_eq!(buf[4], 12); // property length: one User Property of 12 bytes
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct UnsubscribeProperties {
    /// User Properties (0x26).
    pub user_properties: Vec<UserProperty>,
}

/// The properties of DISCONNECT (section 3.14.2.2).
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{decode, Disconnect, DisconnectProperties, Packet, ReasonCode};
/// use mqtt_proto::MqttString;
///
/// let properties = DisconnectProperties {
///     session_expiry_interval: Some(0),
///     reason_string: Some(MqttString::try_from("bye").unwrap()),
///     ..DisconnectProperties::default()
/// };
/// let bye = Disconnect { reason_code: ReasonCode::Success, properties };
/// let mut wire = BytesMut::new();
/// bye.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Disconnect(bye))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DisconnectProperties {
    /// Session Expiry Interval (0x11); a client may not raise it from 0.
    pub session_expiry_interval: Option<u32>,
    /// Reason String (0x1F).
    pub reason_string: Option<MqttString>,
    /// User Properties (0x26).
    pub user_properties: Vec<UserProperty>,
    /// Server Reference (0x1C); only from the server.
    pub server_reference: Option<MqttString>,
}

/// The properties of AUTH (section 3.15.2.2). Authentication Data comes
/// only with an Authentication Method.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use mqtt_proto::packet::v5::{decode, Auth, AuthProperties, Packet, ReasonCode};
/// use mqtt_proto::packet::EncodeError;
/// use mqtt_proto::MqttString;
///
/// let mut properties = AuthProperties {
///     authentication_method: Some(MqttString::try_from("K").unwrap()),
///     authentication_data: Some(Bytes::from_static(b"x")),
///     ..AuthProperties::default()
/// };
/// let step = Auth { reason_code: ReasonCode::ContinueAuthentication, properties: properties.clone() };
/// let mut wire = BytesMut::new();
/// step.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Auth(step))));
///
/// properties.authentication_method = None;
/// let bad = Auth { reason_code: ReasonCode::ContinueAuthentication, properties };
/// assert_eq!(bad.encode(&mut wire), Err(EncodeError::InvalidValue));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AuthProperties {
    /// Authentication Method (0x15).
    pub authentication_method: Option<MqttString>,
    /// Authentication Data (0x16).
    pub authentication_data: Option<Bytes>,
    /// Reason String (0x1F).
    pub reason_string: Option<MqttString>,
    /// User Properties (0x26).
    pub user_properties: Vec<UserProperty>,
}
