//! The codec's error types. Every way a byte stream can break the wire format
//! has its own `DecodeError` variant, and [`DecodeError::rule`] names the
//! statement or section of MQTT 3.1.1 (or, prefixed "5.0 ", of MQTT 5.0) it breaks.

use super::PacketType;
use crate::string::StringError;
use crate::topic::TopicError;
use core::fmt;

/// Why bytes received are not a well-formed MQTT 3.1.1 packet.
///
/// Any of these is a protocol violation by the peer: the receiver closes the
/// connection [MQTT-4.8.0-1].
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::{decode, DecodeError};
///
/// // A QoS 1 PUBLISH whose packet identifier is 0.
/// let mut wire = BytesMut::from(&[0x32, 0x05, 0x00, 0x01, b't', 0x00, 0x00][..]);
/// let error = decode(&mut wire, 1024).unwrap_err();
/// assert_eq!(error, DecodeError::ZeroPacketId);
/// assert_eq!(error.rule(), "MQTT-2.3.1-1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeError {
    /// Packet type 0 or 15, which are reserved (section 2.2.1).
    ReservedPacketType(u8),
    /// The fixed-header flags are not the ones the type requires
    /// [MQTT-2.2.2-2].
    InvalidFlags {
        /// The packet's type.
        packet_type: PacketType,
        /// The low nibble of the first byte.
        flags: u8,
    },
    /// The remaining length runs past its four bytes (section 2.2.3).
    RemainingLengthTooLong,
    /// The packet is larger than the configured maximum; found from the
    /// fixed header, before the body was buffered.
    PacketTooLarge {
        /// Fixed header plus remaining length, in bytes.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A packet whose length the spec fixes has another remaining length.
    InvalidRemainingLength {
        /// The packet's type.
        packet_type: PacketType,
        /// The remaining length received.
        len: usize,
    },
    /// A field runs past the end of the packet.
    UnexpectedEnd {
        /// The packet's type.
        packet_type: PacketType,
    },
    /// Bytes are left over after the last field of the packet.
    TrailingBytes {
        /// The packet's type.
        packet_type: PacketType,
        /// How many bytes are left.
        len: usize,
    },
    /// A string is not well-formed UTF-8 [MQTT-1.5.3-1].
    InvalidUtf8,
    /// A string contains U+0000 [MQTT-1.5.3-2].
    NullCharacter,
    /// A PUBLISH with both QoS bits set [MQTT-3.3.1-4].
    InvalidQoS,
    /// A QoS 0 PUBLISH with the DUP flag set [MQTT-3.3.1-2].
    DupWithQoS0,
    /// A packet identifier of 0 [MQTT-2.3.1-1].
    ZeroPacketId,
    /// The PUBLISH topic is not a valid topic name [MQTT-3.3.2-2].
    InvalidTopicName(TopicError),
    /// A SUBSCRIBE or UNSUBSCRIBE topic filter is not valid (section 4.7).
    InvalidTopicFilter(TopicError),
    /// A SUBSCRIBE without any topic filter [MQTT-3.8.3-3].
    EmptySubscribe,
    /// An UNSUBSCRIBE without any topic filter [MQTT-3.10.3-2].
    EmptyUnsubscribe,
    /// A SUBACK without any return code (section 3.9.3).
    EmptySubAck,
    /// A SUBSCRIBE requested-QoS byte with reserved bits set or QoS 3
    /// [MQTT-3.8.3-4].
    InvalidSubscriptionOptions(u8),
    /// A SUBACK return code other than 0x00, 0x01, 0x02 or 0x80 [MQTT-3.9.3-2].
    InvalidSubAckCode(u8),
    /// A CONNECT with a protocol name and level other than ("MQTT", 4) or
    /// ("MQIsdp", 3) [MQTT-3.1.2-1], [MQTT-3.1.2-2].
    UnsupportedProtocol {
        /// The protocol level byte received.
        level: u8,
    },
    /// The reserved bit of the CONNECT flags is set [MQTT-3.1.2-3].
    ConnectReservedFlag,
    /// Will QoS or Will Retain set without the Will flag, or Will QoS 3
    /// [MQTT-3.1.2-11], [MQTT-3.1.2-13], [MQTT-3.1.2-14], [MQTT-3.1.2-15].
    InvalidWillFlags,
    /// The password flag set without the user name flag [MQTT-3.1.2-22].
    PasswordWithoutUsername,
    /// Reserved bits of the CONNACK acknowledge flags are set (section 3.2.2.1).
    InvalidConnAckFlags(u8),
    /// A CONNACK return code above 5 (section 3.2.2.3).
    InvalidConnectReturnCode(u8),
    /// A CONNACK refusing the connection says a session is present
    /// [MQTT-3.2.2-4].
    SessionPresentOnRefusal,

    // ---- MQTT 5.0 only: `rule` names the statement of the 5.0 standard.
    /// A Variable Byte Integer runs past four bytes, or uses more bytes than
    /// its value needs [5.0 MQTT-1.5.5-1].
    MalformedVarInt,
    /// A property identifier not defined for this packet (5.0 section
    /// 2.2.2.2).
    UnknownProperty {
        /// The packet's type.
        packet_type: PacketType,
        /// The identifier received.
        id: u32,
    },
    /// A property that may appear once appears twice: a Protocol Error
    /// by the section listing the packet's properties (such as 5.0 section
    /// 3.1.2.11 for CONNECT).
    DuplicateProperty {
        /// The packet's type.
        packet_type: PacketType,
        /// The property identifier.
        id: u8,
    },
    /// A property whose value is outside its range, such as a Receive
    /// Maximum of 0 or a boolean byte above 1 (the section listing the
    /// packet's properties, such as 5.0 section 3.2.2.3 for CONNACK).
    InvalidPropertyValue {
        /// The packet's type.
        packet_type: PacketType,
        /// The property identifier.
        id: u8,
    },
    /// A reason code that this packet type may not carry (5.0 section 2.4;
    /// each packet's statement, such as [5.0 MQTT-3.2.2-8] for CONNACK).
    InvalidReasonCode {
        /// The packet's type.
        packet_type: PacketType,
        /// The code received.
        code: u8,
    },
    /// Authentication Data without an Authentication Method (5.0 section
    /// 3.1.2.11.10).
    AuthDataWithoutMethod,
    /// A PUBLISH with an empty topic name and no Topic Alias (5.0 section
    /// 3.3.2.1).
    EmptyTopicWithoutAlias,
}

impl DecodeError {
    /// The statement or section the input breaks: of MQTT 3.1.1, or, for
    /// the errors only 5.0 has, of MQTT 5.0, written with a "5.0 " prefix
    /// (the two standards' statement ids look alike).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::{decode, v5};
    ///
    /// let mut wire = BytesMut::from(&[0x36, 0x05, 0x00, 0x01, b't', 0x00, 0x01][..]); // QoS 3
    /// assert_eq!(decode(&mut wire, 1024).unwrap_err().rule(), "MQTT-3.3.1-4");
    ///
    /// // A 5.0 DISCONNECT with reason 0x18, which only AUTH may carry.
    /// let mut wire = BytesMut::from(&[0xE0, 0x01, 0x18][..]);
    /// assert_eq!(v5::decode(&mut wire, 1024).unwrap_err().rule(), "5.0 MQTT-3.14.2-1");
    /// ```
    pub fn rule(&self) -> &'static str {
        match self {
            DecodeError::ReservedPacketType(_) => "section 2.2.1",
            DecodeError::InvalidFlags { .. } => "MQTT-2.2.2-2",
            DecodeError::RemainingLengthTooLong => "section 2.2.3",
            DecodeError::PacketTooLarge { .. } => "configured maximum packet size",
            DecodeError::InvalidRemainingLength { .. } => "section 3 (fixed-length packet)",
            DecodeError::UnexpectedEnd { .. } => "section 2.2.3 (remaining length)",
            DecodeError::TrailingBytes { .. } => "section 2.2.3 (remaining length)",
            DecodeError::InvalidUtf8 => "MQTT-1.5.3-1",
            DecodeError::NullCharacter => "MQTT-1.5.3-2",
            DecodeError::InvalidQoS => "MQTT-3.3.1-4",
            DecodeError::DupWithQoS0 => "MQTT-3.3.1-2",
            DecodeError::ZeroPacketId => "MQTT-2.3.1-1",
            DecodeError::InvalidTopicName(TopicError::Empty) => "MQTT-4.7.3-1",
            DecodeError::InvalidTopicName(_) => "MQTT-3.3.2-2",
            DecodeError::InvalidTopicFilter(TopicError::Empty) => "MQTT-4.7.3-1",
            DecodeError::InvalidTopicFilter(TopicError::MisplacedSingleLevelWildcard) => {
                "MQTT-4.7.1-3"
            }
            DecodeError::InvalidTopicFilter(_) => "MQTT-4.7.1-2",
            DecodeError::EmptySubscribe => "MQTT-3.8.3-3",
            DecodeError::EmptyUnsubscribe => "MQTT-3.10.3-2",
            DecodeError::EmptySubAck => "section 3.9.3",
            DecodeError::InvalidSubscriptionOptions(_) => "MQTT-3.8.3-4",
            DecodeError::InvalidSubAckCode(_) => "MQTT-3.9.3-2",
            DecodeError::UnsupportedProtocol { .. } => "MQTT-3.1.2-2",
            DecodeError::ConnectReservedFlag => "MQTT-3.1.2-3",
            DecodeError::InvalidWillFlags => "MQTT-3.1.2-11",
            DecodeError::PasswordWithoutUsername => "MQTT-3.1.2-22",
            DecodeError::InvalidConnAckFlags(_) => "section 3.2.2.1",
            DecodeError::InvalidConnectReturnCode(_) => "section 3.2.2.3",
            DecodeError::SessionPresentOnRefusal => "MQTT-3.2.2-4",
            DecodeError::MalformedVarInt => "5.0 MQTT-1.5.5-1",
            DecodeError::UnknownProperty { .. } => "5.0 section 2.2.2.2",
            DecodeError::DuplicateProperty { packet_type, .. }
            | DecodeError::InvalidPropertyValue { packet_type, .. } => {
                properties_section(*packet_type)
            }
            DecodeError::InvalidReasonCode { packet_type, .. } => match packet_type {
                PacketType::ConnAck => "5.0 MQTT-3.2.2-8",
                PacketType::PubAck => "5.0 MQTT-3.4.2-1",
                PacketType::PubRec => "5.0 MQTT-3.5.2-1",
                PacketType::PubRel => "5.0 MQTT-3.6.2-1",
                PacketType::PubComp => "5.0 MQTT-3.7.2-1",
                PacketType::SubAck => "5.0 MQTT-3.9.3-2",
                PacketType::UnsubAck => "5.0 MQTT-3.11.3-2",
                PacketType::Disconnect => "5.0 MQTT-3.14.2-1",
                PacketType::Auth => "5.0 MQTT-3.15.2-1",
                _ => "5.0 section 2.4",
            },
            DecodeError::AuthDataWithoutMethod => "5.0 section 3.1.2.11.10",
            DecodeError::EmptyTopicWithoutAlias => "5.0 section 3.3.2.1",
        }
    }

    pub(crate) fn from_string(e: StringError) -> Self {
        match e {
            StringError::NullCharacter => DecodeError::NullCharacter,
            // A decoded string's length comes from a u16 prefix, so it is
            // never too long; everything else is bad UTF-8.
            StringError::InvalidUtf8 | StringError::TooLong { .. } => DecodeError::InvalidUtf8,
        }
    }

    pub(crate) fn from_topic(e: TopicError, filter: bool) -> Self {
        match e {
            TopicError::String(s) => Self::from_string(s),
            e if filter => DecodeError::InvalidTopicFilter(e),
            e => DecodeError::InvalidTopicName(e),
        }
    }
}

/// The 5.0 section listing a packet's properties, where each one's rules
/// (at most once, its range) are stated. A will's properties are read as
/// part of CONNECT; their section is 3.1.3.2.
const fn properties_section(packet_type: PacketType) -> &'static str {
    match packet_type {
        PacketType::Connect => "5.0 section 3.1.2.11",
        PacketType::ConnAck => "5.0 section 3.2.2.3",
        PacketType::Publish => "5.0 section 3.3.2.3",
        PacketType::PubAck => "5.0 section 3.4.2.2",
        PacketType::PubRec => "5.0 section 3.5.2.2",
        PacketType::PubRel => "5.0 section 3.6.2.2",
        PacketType::PubComp => "5.0 section 3.7.2.2",
        PacketType::Subscribe => "5.0 section 3.8.2.1",
        PacketType::SubAck => "5.0 section 3.9.2.1",
        PacketType::Unsubscribe => "5.0 section 3.10.2.1",
        PacketType::UnsubAck => "5.0 section 3.11.2.1",
        PacketType::Disconnect => "5.0 section 3.14.2.2",
        PacketType::Auth => "5.0 section 3.15.2.2",
        PacketType::PingReq | PacketType::PingResp => "5.0 section 2.2.2",
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::ReservedPacketType(t) => write!(f, "reserved packet type {t}"),
            DecodeError::InvalidFlags { packet_type, flags } => {
                write!(
                    f,
                    "invalid fixed-header flags {flags:#06b} for {packet_type:?}"
                )
            }
            DecodeError::RemainingLengthTooLong => {
                f.write_str("remaining length is longer than 4 bytes")
            }
            DecodeError::PacketTooLarge { size, max } => {
                write!(f, "packet of {size} bytes exceeds the maximum of {max}")
            }
            DecodeError::InvalidRemainingLength { packet_type, len } => {
                write!(f, "{packet_type:?} with remaining length {len}")
            }
            DecodeError::UnexpectedEnd { packet_type } => {
                write!(f, "{packet_type:?} ends in the middle of a field")
            }
            DecodeError::TrailingBytes { packet_type, len } => {
                write!(f, "{len} bytes left over at the end of {packet_type:?}")
            }
            DecodeError::InvalidUtf8 => f.write_str("string is not well-formed UTF-8"),
            DecodeError::NullCharacter => f.write_str("string contains U+0000"),
            DecodeError::InvalidQoS => f.write_str("PUBLISH with QoS 3"),
            DecodeError::DupWithQoS0 => f.write_str("QoS 0 PUBLISH with DUP set"),
            DecodeError::ZeroPacketId => f.write_str("packet identifier 0"),
            DecodeError::InvalidTopicName(e) => write!(f, "invalid topic name: {e}"),
            DecodeError::InvalidTopicFilter(e) => write!(f, "invalid topic filter: {e}"),
            DecodeError::EmptySubscribe => f.write_str("SUBSCRIBE without topic filters"),
            DecodeError::EmptyUnsubscribe => f.write_str("UNSUBSCRIBE without topic filters"),
            DecodeError::EmptySubAck => f.write_str("SUBACK without return codes"),
            DecodeError::InvalidSubscriptionOptions(b) => {
                write!(f, "invalid requested QoS byte {b:#04x}")
            }
            DecodeError::InvalidSubAckCode(b) => write!(f, "invalid SUBACK return code {b:#04x}"),
            DecodeError::UnsupportedProtocol { level } => {
                write!(f, "unsupported protocol name or level {level}")
            }
            DecodeError::ConnectReservedFlag => f.write_str("CONNECT reserved flag set"),
            DecodeError::InvalidWillFlags => f.write_str("inconsistent will flags"),
            DecodeError::PasswordWithoutUsername => {
                f.write_str("password flag set without user name flag")
            }
            DecodeError::InvalidConnAckFlags(b) => {
                write!(f, "reserved CONNACK flag bits set: {b:#04x}")
            }
            DecodeError::InvalidConnectReturnCode(c) => {
                write!(f, "unknown CONNACK return code {c}")
            }
            DecodeError::SessionPresentOnRefusal => {
                f.write_str("CONNACK refuses the connection but says a session is present")
            }
            DecodeError::MalformedVarInt => f.write_str("malformed variable byte integer"),
            DecodeError::UnknownProperty { packet_type, id } => {
                write!(f, "property {id:#04x} is not allowed in {packet_type:?}")
            }
            DecodeError::DuplicateProperty { packet_type, id } => {
                write!(f, "property {id:#04x} appears twice in {packet_type:?}")
            }
            DecodeError::InvalidPropertyValue { packet_type, id } => {
                write!(
                    f,
                    "property {id:#04x} of {packet_type:?} has a value out of range"
                )
            }
            DecodeError::InvalidReasonCode { packet_type, code } => {
                write!(
                    f,
                    "reason code {code:#04x} is not allowed in {packet_type:?}"
                )
            }
            DecodeError::AuthDataWithoutMethod => {
                f.write_str("authentication data without an authentication method")
            }
            DecodeError::EmptyTopicWithoutAlias => {
                f.write_str("PUBLISH with an empty topic name and no topic alias")
            }
        }?;
        write!(f, " ({})", self.rule())
    }
}

impl core::error::Error for DecodeError {}

/// Why a packet value cannot be encoded.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::{EncodeError, PacketId, Subscribe};
///
/// let empty = Subscribe { pid: PacketId::new(1).unwrap(), filters: Vec::new() };
/// let mut buf = BytesMut::new();
/// assert_eq!(empty.encode(&mut buf), Err(EncodeError::EmptySubscribe));
/// assert!(buf.is_empty()); // nothing was appended
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError {
    /// The remaining length would exceed 268,435,455 bytes (section 2.2.3).
    PacketTooLarge {
        /// The remaining length the packet would need.
        remaining_len: usize,
    },
    /// A SUBSCRIBE without topic filters [MQTT-3.8.3-3].
    EmptySubscribe,
    /// An UNSUBSCRIBE without topic filters [MQTT-3.10.3-2].
    EmptyUnsubscribe,
    /// A SUBACK without return codes (section 3.9.3).
    EmptySubAck,
    /// Will message or password longer than a two-byte length prefix allows.
    FieldTooLong {
        /// The length in bytes.
        len: usize,
    },
    /// A value the packet's protocol version cannot carry: a 3.1.1 packet
    /// asked to encode MQTT 5.0, or a 5.0 property value out of its range
    /// (such as a Subscription Identifier of 0).
    InvalidValue,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::PacketTooLarge { remaining_len } => write!(
                f,
                "remaining length {remaining_len} exceeds 268435455 (section 2.2.3)"
            ),
            EncodeError::EmptySubscribe => {
                f.write_str("SUBSCRIBE needs a topic filter [MQTT-3.8.3-3]")
            }
            EncodeError::EmptyUnsubscribe => {
                f.write_str("UNSUBSCRIBE needs a topic filter [MQTT-3.10.3-2]")
            }
            EncodeError::EmptySubAck => f.write_str("SUBACK needs a return code (section 3.9.3)"),
            EncodeError::FieldTooLong { len } => {
                write!(f, "binary field of {len} bytes is longer than 65535")
            }
            EncodeError::InvalidValue => {
                f.write_str("a value this packet's protocol version cannot carry")
            }
        }
    }
}

impl core::error::Error for EncodeError {}
