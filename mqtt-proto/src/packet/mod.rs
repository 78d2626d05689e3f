//! The MQTT 3.1.1 control packets and their wire format (sections 1 to 3).
//!
//! One type per packet, each with an `encode` that appends to a [`BytesMut`];
//! [`Packet`] is their sum, and [`decode`] takes one whole packet off the
//! front of a receive buffer.
//!
//! Decoding is incremental and zero-copy. [`decode`] looks at the fixed
//! header first: a packet larger than the caller's maximum, or one whose type,
//! flags or fixed length are wrong, is rejected before its body is buffered.
//! Until a whole packet is present it returns `Ok(None)` and consumes nothing.
//! Topics, strings and payloads of the decoded packet are [`bytes::Bytes`]
//! slices of the receive buffer.
//!
//! Every rule of the wire format is checked; a breach is a [`DecodeError`]
//! whose [`rule`](DecodeError::rule) names the statement. No input panics, and
//! nothing is allocated beyond the packet itself (plus one list entry per
//! filter or return code actually present).
//!
//! This module knows nothing of sessions: which packets are acceptable when
//! is the connection's business.

mod ack;
mod connack;
mod connect;
mod error;
mod fixed_header;
mod publish;
mod qos;
mod subscribe;
mod unsubscribe;
pub mod v5;
pub(crate) mod wire;

pub use ack::{PubAck, PubComp, PubRec, PubRel, UnsubAck};
pub use connack::{ConnAck, ConnectReturnCode};
pub use connect::{Connect, LastWill, Login, Protocol};
pub use error::{DecodeError, EncodeError};
pub(crate) use fixed_header::remaining_length_len;
pub use fixed_header::{FixedHeader, PacketType, MAX_REMAINING_LENGTH};
pub use publish::Publish;
pub(crate) use publish::PublishParts;
pub use qos::{PacketId, QoS, QosPid};
pub use subscribe::{SubAck, Subscribe, SubscribeReturnCode};
pub use unsubscribe::Unsubscribe;

use alloc::boxed::Box;
use bytes::BytesMut;
use wire::Body;

/// The largest packet the protocol allows: a four-byte remaining length of
/// 268,435,455 plus its five-byte fixed header.
///
/// ```
/// use mqtt_proto::packet::MAX_PACKET_SIZE;
/// use mqtt_proto::{Connection, MqttString, Options};
///
/// // A larger limit in the options is capped at the protocol's.
/// let options = Options::new(MqttString::try_from("c").unwrap()).max_packet_size(usize::MAX);
/// let conn = Connection::new(options).unwrap();
/// assert_eq!(conn.options().max_packet_size, MAX_PACKET_SIZE);
/// ```
pub const MAX_PACKET_SIZE: usize = MAX_REMAINING_LENGTH + 5;

/// Any MQTT 3.1.1 control packet.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::{decode, Packet, PacketId, PubAck};
///
/// let mut wire = BytesMut::new();
/// for packet in [Packet::PingReq, Packet::PubAck(PubAck::new(PacketId::new(1).unwrap()))] {
///     packet.encode(&mut wire).unwrap();
/// }
/// assert_eq!(&wire[..], &[0xC0, 0x00, 0x40, 0x02, 0x00, 0x01]);
/// while let Some(packet) = decode(&mut wire, 1024).unwrap() {
///     match packet {
///         Packet::PingReq => {}
///         Packet::PubAck(ack) => assert_eq!(ack.pid.get(), 1),
///         other => panic!("unexpected {other:?}"),
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Packet {
    /// CONNECT, boxed: it is by far the largest packet and the rarest, and
    /// keeping it out of line keeps every other packet small to move.
    Connect(Box<Connect>),
    /// CONNACK.
    ConnAck(ConnAck),
    /// PUBLISH.
    Publish(Publish),
    /// PUBACK.
    PubAck(PubAck),
    /// PUBREC.
    PubRec(PubRec),
    /// PUBREL.
    PubRel(PubRel),
    /// PUBCOMP.
    PubComp(PubComp),
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
    Disconnect,
}

impl Packet {
    /// The packet's type.
    ///
    /// ```
    /// use mqtt_proto::packet::{Packet, PacketType};
    ///
    /// assert_eq!(Packet::Disconnect.packet_type(), PacketType::Disconnect);
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
            Packet::Disconnect => PacketType::Disconnect,
        }
    }

    /// Appends the encoded packet to `buf`, with the minimal remaining-length
    /// encoding. On error nothing was appended.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::Packet;
    ///
    /// let mut buf = BytesMut::new();
    /// Packet::Disconnect.encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..], &[0xE0, 0x00]);
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        match self {
            Packet::Connect(p) => p.encode(buf),
            Packet::ConnAck(p) => p.encode(buf),
            Packet::Publish(p) => p.encode(buf),
            Packet::PubAck(p) => p.encode(buf),
            Packet::PubRec(p) => p.encode(buf),
            Packet::PubRel(p) => p.encode(buf),
            Packet::PubComp(p) => p.encode(buf),
            Packet::Subscribe(p) => p.encode(buf),
            Packet::SubAck(p) => p.encode(buf),
            Packet::Unsubscribe(p) => p.encode(buf),
            Packet::UnsubAck(p) => p.encode(buf),
            Packet::PingReq => fixed_header::write_fixed_header(buf, 0xC0, 0),
            Packet::PingResp => fixed_header::write_fixed_header(buf, 0xD0, 0),
            Packet::Disconnect => fixed_header::write_fixed_header(buf, 0xE0, 0),
        }
    }
}

/// Takes one whole packet off the front of `buf`.
///
/// - `Ok(Some(packet))`: the packet's bytes were removed from `buf`.
/// - `Ok(None)`: `buf` holds only part of a packet; nothing was consumed.
///   Read more bytes onto the end of `buf` and call again.
/// - `Err(e)`: the bytes are not a valid packet, or the packet would be
///   larger than `max_packet_size` bytes (checked from the fixed header,
///   before the body arrives). A stream cannot be resynchronised after a
///   malformed packet, so the connection must be closed [MQTT-4.8.0-1]; what
///   is left in `buf` is unspecified (the bad packet may have been removed).
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::{decode, DecodeError, Packet};
///
/// let mut buf = BytesMut::from(&[0xD0, 0x00, 0xC0][..]);
/// assert_eq!(decode(&mut buf, 1024), Ok(Some(Packet::PingResp)));
/// assert_eq!(decode(&mut buf, 1024), Ok(None)); // half a PINGREQ
/// let mut bad = BytesMut::from(&[0xD1, 0x00][..]); // reserved flag set
/// assert!(matches!(decode(&mut bad, 1024), Err(DecodeError::InvalidFlags { .. })));
/// ```
pub fn decode(buf: &mut BytesMut, max_packet_size: usize) -> Result<Option<Packet>, DecodeError> {
    let Some(header) = FixedHeader::parse_inline(buf, max_packet_size)? else {
        return Ok(None);
    };
    let packet_len = header.packet_len();
    if buf.len() < packet_len {
        return Ok(None);
    }
    // The frame is split off once; the packet's fields are views of it.
    let mut frame = buf.split_to(packet_len).freeze();
    bytes::Buf::advance(&mut frame, header.header_len);
    decode_frame(header, Body::new(frame, header.packet_type)).map(Some)
}

#[inline]
fn decode_frame(header: FixedHeader, body: Body) -> Result<Packet, DecodeError> {
    Ok(match header.packet_type {
        PacketType::Publish => Packet::Publish(Publish::decode(header.flags, body)?),
        PacketType::PubAck => Packet::PubAck(PubAck::decode(body)?),
        PacketType::PubRec => Packet::PubRec(PubRec::decode(body)?),
        PacketType::PubRel => Packet::PubRel(PubRel::decode(body)?),
        PacketType::PubComp => Packet::PubComp(PubComp::decode(body)?),
        PacketType::Connect => Packet::Connect(Box::new(Connect::decode(body)?)),
        PacketType::ConnAck => Packet::ConnAck(ConnAck::decode(body)?),
        PacketType::Subscribe => Packet::Subscribe(Subscribe::decode(body)?),
        PacketType::SubAck => Packet::SubAck(SubAck::decode(body)?),
        PacketType::Unsubscribe => Packet::Unsubscribe(Unsubscribe::decode(body)?),
        PacketType::UnsubAck => Packet::UnsubAck(UnsubAck::decode(body)?),
        PacketType::PingReq => Packet::PingReq,
        PacketType::PingResp => Packet::PingResp,
        PacketType::Disconnect => Packet::Disconnect,
        // The 3.1.1 fixed-header parser never yields AUTH: 15 is reserved.
        PacketType::Auth => return Err(DecodeError::ReservedPacketType(15)),
    })
}
