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

use super::{DecodeError, EncodeError, PacketType};
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
        let _ = buf;
        todo!("v5 encode")
    }
}

/// Takes one whole MQTT 5.0 packet off the front of `buf`, with the same
/// contract as [`super::decode`].
pub fn decode(buf: &mut BytesMut, max_packet_size: usize) -> Result<Option<Packet>, DecodeError> {
    let _ = (buf, max_packet_size);
    todo!("v5 decode")
}
