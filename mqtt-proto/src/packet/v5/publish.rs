//! PUBLISH of MQTT 5.0 (section 3.3): the 3.1.1 layout plus a property
//! block after the packet identifier. Topic and payload stay slices of the
//! receive buffer.

use crate::packet::fixed_header::{remaining_length_len, write_fixed_header};
use crate::packet::wire::{prefixed_len, put_prefixed, Body};
use crate::packet::{DecodeError, EncodeError, PacketType, QoS};
use bytes::{BufMut, BytesMut};

use super::properties::PublishProperties;
use super::property::{put_block_of_len, read_block, vbi_len, PropertySet};
use crate::packet::QosPid;
use crate::topic::TopicName;
use bytes::Bytes;

/// PUBLISH of MQTT 5.0.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{decode, Packet, PayloadFormat, Publish, PublishProperties};
/// use mqtt_proto::packet::QosPid;
/// use mqtt_proto::{PacketId, TopicName};
///
/// let publish = Publish {
///     dup: false,
///     qos_pid: QosPid::AtLeastOnce(PacketId::new(3).unwrap()),
///     retain: false,
///     topic: Some(TopicName::try_from("a/b").unwrap()),
///     properties: PublishProperties {
///         payload_format_indicator: Some(PayloadFormat::Utf8),
///         message_expiry_interval: Some(60),
///         ..PublishProperties::default()
///     },
///     payload: "hi".into(),
/// };
/// let mut wire = BytesMut::new();
/// publish.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Publish(publish))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Publish {
    /// DUP flag.
    pub dup: bool,
    /// QoS and packet identifier.
    pub qos_pid: QosPid,
    /// RETAIN flag.
    pub retain: bool,
    /// The topic name, or `None` for the zero-length name a sender uses
    /// when a Topic Alias stands for it (section 3.3.2.3.4).
    pub topic: Option<TopicName>,
    /// Properties.
    pub properties: PublishProperties,
    /// The application message.
    pub payload: Bytes,
}

impl Publish {
    fn as_parts(&self) -> PublishParts<'_> {
        PublishParts {
            dup: self.dup,
            qos_pid: self.qos_pid,
            retain: self.retain,
            topic: self.topic.as_ref(),
            properties: &self.properties,
            payload: &self.payload,
        }
    }

    /// The bytes the whole packet takes on the wire, fixed header
    /// included: what to hold against a Maximum Packet Size (5.0 section
    /// 3.1.2.11.4). Meaningful only for a packet that encodes.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::v5::{Publish, PublishProperties};
    /// use mqtt_proto::packet::QosPid;
    /// use mqtt_proto::TopicName;
    ///
    /// let publish = Publish {
    ///     dup: false,
    ///     qos_pid: QosPid::AtMostOnce,
    ///     retain: false,
    ///     topic: Some(TopicName::try_from("t").unwrap()),
    ///     properties: PublishProperties::default(),
    ///     payload: vec![0u8; 200].into(),
    /// };
    /// let mut buf = BytesMut::new();
    /// publish.encode(&mut buf).unwrap();
    /// assert_eq!(publish.encoded_len(), buf.len());
    /// assert_eq!(publish.encoded_len(), 3 + 3 + 1 + 200); // header, topic, no properties, payload
    /// ```
    pub fn encoded_len(&self) -> usize {
        self.as_parts().encoded_len()
    }

    /// Appends the encoded packet to `buf`. A QoS 0 PUBLISH is always
    /// written with DUP 0 [5.0 MQTT-3.3.1-2].
    ///
    /// Fails with [`EncodeError::InvalidValue`] for a packet the standard
    /// forbids: no topic and no Topic Alias (5.0 section 3.3.2.1), a Topic
    /// Alias of 0 [5.0 MQTT-3.3.2-8], a Response Topic with wildcards
    /// [5.0 MQTT-3.3.2-14] or a Subscription Identifier of 0 (5.0 section
    /// 3.3.2.3.8). On error nothing was appended.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::v5::{Publish, PublishProperties};
    /// use mqtt_proto::packet::{EncodeError, QosPid};
    ///
    /// // A topic alias standing in for the topic name.
    /// let mut publish = Publish {
    ///     dup: false,
    ///     qos_pid: QosPid::AtMostOnce,
    ///     retain: false,
    ///     topic: None,
    ///     properties: PublishProperties { topic_alias: Some(1), ..PublishProperties::default() },
    ///     payload: "x".into(),
    /// };
    /// let mut buf = BytesMut::new();
    /// publish.encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..], &[0x30, 0x07, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01, b'x']);
    ///
    /// // Without the alias the packet names no topic at all.
    /// publish.properties.topic_alias = None;
    /// let mut buf = BytesMut::new();
    /// assert_eq!(publish.encode(&mut buf), Err(EncodeError::InvalidValue));
    /// assert!(buf.is_empty());
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        self.as_parts().encode(buf)
    }

    /// Decodes the body; the fixed header already rejected QoS 3
    /// [5.0 MQTT-3.3.1-4] and DUP on QoS 0 [5.0 MQTT-3.3.1-2].
    pub(crate) fn decode(flags: u8, mut body: Body) -> Result<Self, DecodeError> {
        let name = body.binary()?;
        let topic = if name.is_empty() {
            None
        } else {
            Some(TopicName::from_wire(name).map_err(|e| DecodeError::from_topic(e, false))?)
        };
        let qos_pid = match (flags >> 1) & 0b11 {
            0 => QosPid::AtMostOnce,
            1 => QosPid::AtLeastOnce(body.packet_id()?),
            2 => QosPid::ExactlyOnce(body.packet_id()?),
            _ => return Err(DecodeError::InvalidQoS),
        };
        let properties: PublishProperties = read_block(&mut body)?;
        if topic.is_none() && properties.topic_alias.is_none() {
            return Err(DecodeError::EmptyTopicWithoutAlias);
        }
        Ok(Publish {
            dup: flags & 0b1000 != 0,
            qos_pid,
            retain: flags & 1 != 0,
            topic,
            properties,
            payload: body.rest(),
        })
    }
}

/// A PUBLISH by reference: what the connection encodes from a message it
/// keeps, without cloning its topic, properties and payload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PublishParts<'a> {
    pub(crate) dup: bool,
    pub(crate) qos_pid: QosPid,
    pub(crate) retain: bool,
    pub(crate) topic: Option<&'a TopicName>,
    pub(crate) properties: &'a PublishProperties,
    pub(crate) payload: &'a Bytes,
}

impl PublishParts<'_> {
    fn first_byte(&self) -> u8 {
        let qos = self.qos_pid.qos();
        let mut b = (PacketType::Publish as u8) << 4 | ((qos as u8) << 1);
        // [5.0 MQTT-3.3.1-2] a QoS 0 PUBLISH never carries DUP.
        if self.dup && qos != QoS::AtMostOnce {
            b |= 0b1000;
        }
        if self.retain {
            b |= 1;
        }
        b
    }

    fn topic_bytes(&self) -> &[u8] {
        self.topic.map_or(&[], |t| t.as_bytes())
    }

    /// The bytes of the properties, without their length prefix: 0 at once
    /// for the common empty set.
    fn properties_len(&self) -> usize {
        if self.properties.is_empty() {
            0
        } else {
            self.properties.len()
        }
    }

    fn remaining_len_with(&self, properties_len: usize) -> usize {
        let id = if self.qos_pid.pid().is_some() { 2 } else { 0 };
        prefixed_len(self.topic_bytes().len())
            + id
            + vbi_len(properties_len as u32)
            + properties_len
            + self.payload.len()
    }

    fn remaining_len(&self) -> usize {
        self.remaining_len_with(self.properties_len())
    }

    /// The bytes the whole packet takes on the wire, fixed header
    /// included; for a packet too large to encode, a number above the
    /// largest packet.
    pub(crate) fn encoded_len(&self) -> usize {
        let remaining = self.remaining_len();
        1 + remaining_length_len(remaining) + remaining
    }

    /// Appends the encoded packet to `buf`; on error nothing was appended.
    pub(crate) fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        // A zero-length topic name needs a Topic Alias (5.0 section
        // 3.3.2.1).
        if self.topic.is_none() && self.properties.topic_alias.is_none() {
            return Err(EncodeError::InvalidValue);
        }
        let properties_len = self.properties_len();
        if properties_len > 0 {
            self.properties.check()?;
        }
        write_fixed_header(
            buf,
            self.first_byte(),
            self.remaining_len_with(properties_len),
        )?;
        put_prefixed(buf, self.topic_bytes());
        if let Some(pid) = self.qos_pid.pid() {
            buf.put_u16(pid.get());
        }
        put_block_of_len(buf, self.properties, properties_len);
        buf.put_slice(self.payload);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::PacketId;

    fn decode(flags: u8, body: &[u8]) -> Result<Publish, DecodeError> {
        Publish::decode(
            flags,
            Body::new(Bytes::copy_from_slice(body), PacketType::Publish),
        )
    }

    #[test]
    fn body_round_trips() {
        let publish = Publish {
            dup: true,
            qos_pid: QosPid::ExactlyOnce(PacketId::new(9).unwrap()),
            retain: true,
            topic: Some(TopicName::try_from("a/b").unwrap()),
            properties: PublishProperties {
                subscription_identifiers: alloc::vec![1, 268_435_455],
                ..PublishProperties::default()
            },
            payload: Bytes::from_static(b"payload"),
        };
        let mut buf = BytesMut::new();
        publish.encode(&mut buf).unwrap();
        assert_eq!(buf.len(), publish.encoded_len());
        assert_eq!(buf[0], 0x3D);
        assert_eq!(decode(0x0D, &buf[2..]), Ok(publish));
    }

    #[test]
    fn empty_topic_needs_an_alias() {
        assert_eq!(
            decode(0, &[0, 0, 0]),
            Err(DecodeError::EmptyTopicWithoutAlias)
        );
        assert_eq!(
            decode(0, &[0, 0, 3, 0x23, 0, 4]).map(|p| (p.topic, p.properties.topic_alias)),
            Ok((None, Some(4)))
        );
    }
}
