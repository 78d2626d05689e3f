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
pub use publish::Publish;
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

    /// Appends the encoded packet to `buf`. On error nothing was appended.
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
/// contract as [`super::decode`].
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
