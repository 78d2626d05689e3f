//! The MQTT 5.0 control packets and their wire format (OASIS MQTT 5.0,
//! sections 1 to 3), beside the 3.1.1 ones and under the same rules:
//! incremental, zero-copy, bounded, strict, and `no_std`.
//!
//! 5.0 adds a property block to most packets (typed here, one struct per
//! packet kind, see [`properties`]), reason codes ([`ReasonCode`]) on
//! every acknowledgement, DISCONNECT from either side, and a fifteenth
//! packet, AUTH.

mod ack;
mod connect;
mod disconnect;
pub mod properties;
mod properties_connect;
mod properties_publish;
mod property;
mod publish;
mod reason;
mod subscribe;

pub use ack::PubResponse;
pub use connect::{ConnAck, Connect, Will};
pub use disconnect::{Auth, Disconnect};
pub use properties::{
    AckProperties, AuthProperties, ConnAckProperties, ConnectProperties, DisconnectProperties,
    PayloadFormat, PublishProperties, SubscribeProperties, UnsubscribeProperties, UserProperty,
    WillProperties,
};
pub(crate) use property::{put_publish_properties, read_publish_properties};
pub use publish::Publish;
pub(crate) use publish::PublishParts;
pub use reason::ReasonCode;
pub use subscribe::{
    RetainHandling, SubAck, Subscribe, SubscriptionOptions, UnsubAck, Unsubscribe,
};

use super::fixed_header::write_fixed_header;
use super::wire::Body;
use super::{DecodeError, EncodeError, FixedHeader, PacketType};
use alloc::boxed::Box;
use bytes::BytesMut;

/// Any MQTT 5.0 control packet.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{decode, Disconnect, DisconnectProperties, Packet, ReasonCode};
///
/// let mut wire = BytesMut::new();
/// let bye = Disconnect {
///     reason_code: ReasonCode::DisconnectWithWillMessage,
///     properties: DisconnectProperties::default(),
/// };
/// for packet in [Packet::PingReq, Packet::Disconnect(bye.clone())] {
///     packet.encode(&mut wire).unwrap();
/// }
/// assert_eq!(&wire[..], &[0xC0, 0x00, 0xE0, 0x01, 0x04]);
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::PingReq)));
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Disconnect(bye))));
/// assert_eq!(decode(&mut wire, 1024), Ok(None));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Packet {
    /// CONNECT, boxed as in 3.1.1.
    Connect(Box<Connect>),
    /// CONNACK, boxed: its property set is large.
    ConnAck(Box<ConnAck>),
    /// PUBLISH.
    Publish(Publish),
    /// PUBACK.
    PubAck(PubResponse),
    /// PUBREC.
    PubRec(PubResponse),
    /// PUBREL.
    PubRel(PubResponse),
    /// PUBCOMP.
    PubComp(PubResponse),
    /// SUBSCRIBE.
    Subscribe(Subscribe),
    /// SUBACK.
    SubAck(SubAck),
    /// UNSUBSCRIBE.
    Unsubscribe(Unsubscribe),
    /// UNSUBACK.
    UnsubAck(UnsubAck),
    /// PINGREQ.
    PingReq,
    /// PINGRESP.
    PingResp,
    /// DISCONNECT.
    Disconnect(Disconnect),
    /// AUTH.
    Auth(Auth),
}

impl Packet {
    /// The packet's type.
    ///
    /// ```
    /// use mqtt_proto::packet::v5::{Auth, AuthProperties, Packet, ReasonCode};
    /// use mqtt_proto::packet::PacketType;
    ///
    /// let auth = Auth { reason_code: ReasonCode::Success, properties: AuthProperties::default() };
    /// assert_eq!(Packet::Auth(auth).packet_type(), PacketType::Auth);
    /// ```
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::ConnAck(_) => PacketType::ConnAck,
            Packet::Publish(_) => PacketType::Publish,
            Packet::PubAck(_) => PacketType::PubAck,
            Packet::PubRec(_) => PacketType::PubRec,
            Packet::PubRel(_) => PacketType::PubRel,
            Packet::PubComp(_) => PacketType::PubComp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::SubAck(_) => PacketType::SubAck,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::UnsubAck(_) => PacketType::UnsubAck,
            Packet::PingReq => PacketType::PingReq,
            Packet::PingResp => PacketType::PingResp,
            Packet::Disconnect(_) => PacketType::Disconnect,
            Packet::Auth(_) => PacketType::Auth,
        }
    }

    /// Appends the encoded packet to `buf`, with the minimal
    /// remaining-length encoding. On error nothing was appended.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::v5::{Auth, AuthProperties, Packet, ReasonCode};
    /// use mqtt_proto::packet::EncodeError;
    ///
    /// let mut buf = BytesMut::new();
    /// let success = Auth { reason_code: ReasonCode::Success, properties: AuthProperties::default() };
    /// Packet::Auth(success).encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..], &[0xF0, 0x00]);
    /// // AUTH carries only 0x00, 0x18 and 0x19 [5.0 MQTT-3.15.2-1].
    /// let banned = Auth { reason_code: ReasonCode::Banned, properties: AuthProperties::default() };
    /// assert_eq!(Packet::Auth(banned).encode(&mut buf), Err(EncodeError::InvalidValue));
    /// assert_eq!(buf.len(), 2);
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        match self {
            Packet::Connect(p) => p.encode(buf),
            Packet::ConnAck(p) => p.encode(buf),
            Packet::Publish(p) => p.encode(buf),
            Packet::PubAck(p) => p.encode(PacketType::PubAck, buf),
            Packet::PubRec(p) => p.encode(PacketType::PubRec, buf),
            Packet::PubRel(p) => p.encode(PacketType::PubRel, buf),
            Packet::PubComp(p) => p.encode(PacketType::PubComp, buf),
            Packet::Subscribe(p) => p.encode(buf),
            Packet::SubAck(p) => p.encode(buf),
            Packet::Unsubscribe(p) => p.encode(buf),
            Packet::UnsubAck(p) => p.encode(buf),
            Packet::PingReq => write_fixed_header(buf, 0xC0, 0),
            Packet::PingResp => write_fixed_header(buf, 0xD0, 0),
            Packet::Disconnect(p) => p.encode(buf),
            Packet::Auth(p) => p.encode(buf),
        }
    }
}

/// Takes one whole MQTT 5.0 packet off the front of `buf`, with the same
/// contract as [`super::decode`]: `Ok(None)` and nothing consumed until the
/// whole packet is there, an error for a packet over `max_packet_size`
/// (found from the fixed header) or one breaking the 5.0 wire format.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{decode, Packet, ReasonCode};
/// use mqtt_proto::packet::DecodeError;
///
/// // A CONNACK accepting the connection with a session, no properties.
/// let mut buf = BytesMut::from(&[0x20, 0x03, 0x01, 0x00][..]);
/// assert_eq!(decode(&mut buf, 1024), Ok(None)); // one byte short
/// buf.extend_from_slice(&[0x00]);
/// let Some(Packet::ConnAck(ack)) = decode(&mut buf, 1024).unwrap() else { panic!() };
/// assert!(ack.session_present);
/// assert_eq!(ack.reason_code, ReasonCode::Success);
///
/// // Session present with a refusal is malformed [5.0 MQTT-3.2.2-6].
/// let mut bad = BytesMut::from(&[0x20, 0x03, 0x01, 0x87, 0x00][..]);
/// assert_eq!(decode(&mut bad, 1024), Err(DecodeError::SessionPresentOnRefusal));
/// ```
pub fn decode(buf: &mut BytesMut, max_packet_size: usize) -> Result<Option<Packet>, DecodeError> {
    let Some(header) = FixedHeader::parse_v5(buf, max_packet_size)? else {
        return Ok(None);
    };
    let packet_len = header.packet_len();
    if buf.len() < packet_len {
        return Ok(None);
    }
    let mut frame = buf.split_to(packet_len).freeze();
    bytes::Buf::advance(&mut frame, header.header_len);
    let body = Body::new(frame, header.packet_type);
    Ok(Some(match header.packet_type {
        PacketType::Publish => Packet::Publish(Publish::decode(header.flags, body)?),
        PacketType::PubAck => Packet::PubAck(PubResponse::decode(body)?),
        PacketType::PubRec => Packet::PubRec(PubResponse::decode(body)?),
        PacketType::PubRel => Packet::PubRel(PubResponse::decode(body)?),
        PacketType::PubComp => Packet::PubComp(PubResponse::decode(body)?),
        PacketType::Connect => Packet::Connect(Box::new(Connect::decode(body)?)),
        PacketType::ConnAck => Packet::ConnAck(Box::new(ConnAck::decode(body)?)),
        PacketType::Subscribe => Packet::Subscribe(Subscribe::decode(body)?),
        PacketType::SubAck => Packet::SubAck(SubAck::decode(body)?),
        PacketType::Unsubscribe => Packet::Unsubscribe(Unsubscribe::decode(body)?),
        PacketType::UnsubAck => Packet::UnsubAck(UnsubAck::decode(body)?),
        PacketType::PingReq => Packet::PingReq,
        PacketType::PingResp => Packet::PingResp,
        PacketType::Disconnect => Packet::Disconnect(Disconnect::decode(body)?),
        PacketType::Auth => Packet::Auth(Auth::decode(body)?),
    }))
}
