//! PUBLISH (section 3.3): the one packet with meaningful fixed-header flags
//! (DUP, QoS, RETAIN) and the one whose decode speed matters most. The topic
//! and payload are slices of the receive buffer, never copies.

use super::error::{DecodeError, EncodeError};
use super::fixed_header::fixed_header;
use super::wire::Body;
use super::{PacketId, PacketType, QoS, QosPid};
use crate::topic::TopicName;
use bytes::{BufMut, Bytes, BytesMut};

/// PUBLISH.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::{decode, Packet, Publish, QosPid};
/// use mqtt_proto::{PacketId, TopicName};
///
/// let publish = Publish {
///     dup: false,
///     qos_pid: QosPid::ExactlyOnce(PacketId::new(3).unwrap()),
///     retain: true,
///     topic: TopicName::try_from("a/b").unwrap(),
///     payload: "hi".into(),
/// };
/// let mut wire = BytesMut::new();
/// publish.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Publish(publish))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Publish {
    /// Set on a redelivery [MQTT-3.3.1-1]. Only meaningful for QoS 1 and 2:
    /// a QoS 0 PUBLISH is always encoded with DUP 0 [MQTT-3.3.1-2].
    pub dup: bool,
    /// QoS and, for QoS 1 and 2, the packet identifier.
    pub qos_pid: QosPid,
    /// The RETAIN flag (section 3.3.1.3).
    pub retain: bool,
    /// The topic name; never holds wildcards [MQTT-3.3.2-2].
    pub topic: TopicName,
    /// The application message, possibly empty.
    pub payload: Bytes,
}

impl Publish {
    /// The QoS level.
    ///
    /// ```
    /// # use mqtt_proto::packet::{Publish, QosPid};
    /// # use mqtt_proto::{PacketId, TopicName};
    /// let publish = Publish {
    ///     dup: false,
    ///     qos_pid: QosPid::AtLeastOnce(PacketId::new(9).unwrap()),
    ///     retain: false,
    ///     topic: TopicName::try_from("a/b").unwrap(),
    ///     payload: "hi".into(),
    /// };
    /// use mqtt_proto::QoS;
    /// assert_eq!(publish.qos(), QoS::AtLeastOnce);
    /// ```
    pub fn qos(&self) -> QoS {
        self.qos_pid.qos()
    }

    /// The packet identifier (QoS 1 and 2 only).
    ///
    /// ```
    /// # use mqtt_proto::packet::{Publish, QosPid};
    /// # use mqtt_proto::{PacketId, TopicName};
    /// let publish = Publish {
    ///     dup: false,
    ///     qos_pid: QosPid::AtLeastOnce(PacketId::new(9).unwrap()),
    ///     retain: false,
    ///     topic: TopicName::try_from("a/b").unwrap(),
    ///     payload: "hi".into(),
    /// };
    /// assert_eq!(publish.pid(), PacketId::new(9));
    /// ```
    pub fn pid(&self) -> Option<PacketId> {
        self.qos_pid.pid()
    }

    /// The remaining length this packet encodes to.
    ///
    /// ```
    /// # use mqtt_proto::packet::{Publish, QosPid};
    /// # use mqtt_proto::{PacketId, TopicName};
    /// let publish = Publish {
    ///     dup: false,
    ///     qos_pid: QosPid::AtLeastOnce(PacketId::new(9).unwrap()),
    ///     retain: false,
    ///     topic: TopicName::try_from("a/b").unwrap(),
    ///     payload: "hi".into(),
    /// };
    /// // Topic (2 + 3 bytes), packet id (2), payload (2).
    /// assert_eq!(publish.remaining_len(), 9);
    /// ```
    pub fn remaining_len(&self) -> usize {
        self.as_parts().remaining_len()
    }

    fn as_parts(&self) -> PublishParts<'_> {
        PublishParts {
            dup: self.dup,
            qos_pid: self.qos_pid,
            retain: self.retain,
            topic: &self.topic,
            payload: &self.payload,
        }
    }

    /// Appends the encoded packet to `buf`.
    ///
    /// ```
    /// # use mqtt_proto::packet::{Publish, QosPid};
    /// # use mqtt_proto::{PacketId, TopicName};
    /// let publish = Publish {
    ///     dup: false,
    ///     qos_pid: QosPid::AtLeastOnce(PacketId::new(9).unwrap()),
    ///     retain: false,
    ///     topic: TopicName::try_from("a/b").unwrap(),
    ///     payload: "hi".into(),
    /// };
    /// let mut buf = bytes::BytesMut::new();
    /// publish.encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..], &[0x32, 9, 0, 3, b'a', b'/', b'b', 0, 9, b'h', b'i']);
    /// ```
    #[inline]
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        self.as_parts().encode(buf)
    }

    /// Decodes the body; the fixed header already rejected QoS 3 and DUP on
    /// QoS 0.
    ///
    /// The topic is one more view of the frame; the payload is the frame
    /// itself, moved on past the variable header rather than cloned.
    #[inline]
    pub(crate) fn decode(flags: u8, mut body: Body) -> Result<Self, DecodeError> {
        let topic =
            TopicName::from_wire(body.binary()?).map_err(|e| DecodeError::from_topic(e, false))?;
        let qos_pid = match (flags >> 1) & 0b11 {
            0 => QosPid::AtMostOnce,
            1 => QosPid::AtLeastOnce(body.packet_id()?),
            2 => QosPid::ExactlyOnce(body.packet_id()?),
            _ => return Err(DecodeError::InvalidQoS),
        };
        Ok(Publish {
            dup: flags & 0b1000 != 0,
            qos_pid,
            retain: flags & 1 != 0,
            topic,
            payload: body.rest(),
        })
    }
}

/// A PUBLISH by reference: what the connection encodes from a message it
/// keeps, without cloning (and reference-counting) its topic and payload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PublishParts<'a> {
    pub(crate) dup: bool,
    pub(crate) qos_pid: QosPid,
    pub(crate) retain: bool,
    pub(crate) topic: &'a TopicName,
    pub(crate) payload: &'a [u8],
}

impl PublishParts<'_> {
    #[inline]
    fn first_byte(&self) -> u8 {
        let qos = self.qos_pid.qos();
        let mut b = (PacketType::Publish as u8) << 4 | ((qos as u8) << 1);
        // [MQTT-3.3.1-2] a QoS 0 PUBLISH never carries DUP.
        if self.dup && qos != QoS::AtMostOnce {
            b |= 0b1000;
        }
        if self.retain {
            b |= 1;
        }
        b
    }

    #[inline]
    fn remaining_len(&self) -> usize {
        let id = if self.qos_pid.pid().is_some() { 2 } else { 0 };
        2 + self.topic.len() + id + self.payload.len()
    }

    /// Appends the encoded packet to `buf`.
    ///
    /// Room for the whole packet is reserved once. The fixed header and the
    /// topic length are put together in one integer and written as one
    /// eight-byte store; built in a stack array and copied from there, they
    /// would be read back right after being stored piecemeal, which stalls
    /// the store-to-load forwarding. The bytes of that store past the topic
    /// length are cut off again, and the topic overwrites them.
    #[inline]
    pub(crate) fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let topic = self.topic.as_bytes();
        let remaining = self.remaining_len();
        let (header, used) = fixed_header(self.first_byte(), remaining)?;
        // `used` is 2 to 5, so the topic length lands in bytes 2 to 6 of
        // the word. A topic name is at most 65,535 bytes by its type, so its
        // length fits two bytes; swapped, it reads big-endian from the
        // little-endian word.
        let [h0, h1, h2, h3, h4] = header;
        let word = u64::from_le_bytes([h0, h1, h2, h3, h4, 0, 0, 0])
            | u64::from((topic.len() as u16).swap_bytes()) << (8 * used);
        let start = buf.len();
        buf.reserve((used + remaining).max(8));
        buf.put_u64_le(word);
        buf.truncate(start + used + 2);
        buf.put_slice(topic);
        if let Some(pid) = self.qos_pid.pid() {
            buf.put_u16(pid.get());
        }
        buf.put_slice(self.payload);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// The packet as section 3.3 lays it out, written byte by byte.
    fn by_hand(p: &Publish) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&(p.topic.len() as u16).to_be_bytes());
        body.extend_from_slice(p.topic.as_bytes());
        if let Some(pid) = p.pid() {
            body.extend_from_slice(&pid.get().to_be_bytes());
        }
        body.extend_from_slice(&p.payload);
        let mut out = Vec::from([PublishParts::first_byte(&p.as_parts())]);
        let mut len = body.len();
        loop {
            let byte = (len % 128) as u8;
            len /= 128;
            out.push(if len > 0 { byte | 0x80 } else { byte });
            if len == 0 {
                break;
            }
        }
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn encode_writes_the_layout_after_what_is_in_the_buffer() {
        let topics = ["a", "hello/world", &"t".repeat(300)];
        let qos = [
            QosPid::AtMostOnce,
            QosPid::AtLeastOnce(PacketId::new(0x1234).unwrap()),
            QosPid::ExactlyOnce(PacketId::new(7).unwrap()),
        ];
        for topic in topics {
            for qos_pid in qos {
                for payload_len in [0, 1, 64, 200, 20_000] {
                    let p = Publish {
                        dup: true,
                        qos_pid,
                        retain: payload_len % 2 == 0,
                        topic: TopicName::try_from(topic).unwrap(),
                        payload: Bytes::from(alloc::vec![0x5A; payload_len]),
                    };
                    let want = by_hand(&p);
                    // Into an empty buffer, one with room for exactly the
                    // packet, and after bytes already there.
                    for (prefix, capacity) in [(0, 0), (0, want.len()), (3, 3 + want.len())] {
                        let mut buf = BytesMut::with_capacity(capacity);
                        buf.extend_from_slice(&[0xEE; 3][..prefix]);
                        p.encode(&mut buf).unwrap();
                        assert_eq!(&buf[..prefix], &[0xEE; 3][..prefix]);
                        assert_eq!(
                            &buf[prefix..],
                            &want[..],
                            "{topic} {qos_pid:?} {payload_len}"
                        );
                    }
                }
            }
        }
    }
}
