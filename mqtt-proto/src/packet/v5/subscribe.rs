//! SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK of MQTT 5.0 (sections 3.8
//! to 3.11).
//!
//! Decoding grows each list one entry per element actually present in the
//! body, never by a count taken from the wire.

use crate::packet::fixed_header::write_fixed_header;
use crate::packet::wire::{prefixed_len, put_prefixed, Body};
use crate::packet::{DecodeError, EncodeError, PacketType};
use bytes::{BufMut, BytesMut};

use super::properties::{AckProperties, SubscribeProperties, UnsubscribeProperties};
use super::property::{block_len, put_block, read_block};
use super::ReasonCode;
use crate::packet::{PacketId, QoS};
use crate::topic::TopicFilter;
use alloc::vec::Vec;

/// Retain Handling of a subscription (section 3.8.3.1).
///
/// ```
/// use mqtt_proto::packet::v5::{RetainHandling, SubscriptionOptions};
/// use mqtt_proto::QoS;
///
/// let options = SubscriptionOptions {
///     retain_handling: RetainHandling::DoNotSend,
///     ..SubscriptionOptions::new(QoS::AtMostOnce)
/// };
/// assert_eq!(options.retain_handling as u8, 2);
/// assert_eq!(RetainHandling::default(), RetainHandling::SendAtSubscribe);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum RetainHandling {
    /// 0: send retained messages at the time of the subscribe.
    #[default]
    SendAtSubscribe = 0,
    /// 1: send them only if the subscription did not exist.
    SendIfNew = 1,
    /// 2: do not send retained messages.
    DoNotSend = 2,
}

/// The Subscription Options byte (section 3.8.3.1): bits 0 and 1 the
/// maximum QoS, bit 2 No Local, bit 3 Retain As Published, bits 4 and 5
/// Retain Handling, bits 6 and 7 reserved.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{RetainHandling, Subscribe, SubscribeProperties, SubscriptionOptions};
/// use mqtt_proto::{PacketId, QoS, TopicFilter};
///
/// let options = SubscriptionOptions {
///     qos: QoS::AtLeastOnce,
///     no_local: true,
///     retain_as_published: true,
///     retain_handling: RetainHandling::SendIfNew,
/// };
/// let subscribe = Subscribe {
///     pid: PacketId::new(1).unwrap(),
///     properties: SubscribeProperties::default(),
///     filters: vec![(TopicFilter::try_from("a").unwrap(), options)],
/// };
/// let mut buf = BytesMut::new();
/// subscribe.encode(&mut buf).unwrap();
/// assert_eq!(buf.last(), Some(&0b0001_1101)); // the options byte ends the packet
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionOptions {
    /// Maximum QoS.
    pub qos: QoS,
    /// No Local: do not receive our own publishes.
    pub no_local: bool,
    /// Retain As Published: keep the RETAIN flag as it was published.
    pub retain_as_published: bool,
    /// Retain Handling.
    pub retain_handling: RetainHandling,
}

impl SubscriptionOptions {
    /// Options with maximum QoS `qos` and everything else at its default.
    ///
    /// ```
    /// use mqtt_proto::packet::v5::{RetainHandling, SubscriptionOptions};
    /// use mqtt_proto::QoS;
    ///
    /// let options = SubscriptionOptions::new(QoS::ExactlyOnce);
    /// assert_eq!(options.qos, QoS::ExactlyOnce);
    /// assert!(!options.no_local && !options.retain_as_published);
    /// assert_eq!(options.retain_handling, RetainHandling::SendAtSubscribe);
    /// ```
    pub const fn new(qos: QoS) -> SubscriptionOptions {
        SubscriptionOptions {
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: RetainHandling::SendAtSubscribe,
        }
    }

    /// The options byte.
    pub(crate) const fn to_u8(self) -> u8 {
        self.qos as u8
            | (self.no_local as u8) << 2
            | (self.retain_as_published as u8) << 3
            | (self.retain_handling as u8) << 4
    }

    /// The options of a byte; `None` for a QoS of 3 or a Retain Handling
    /// of 3 (both Protocol Errors, section 3.8.3.1) or a reserved bit set
    /// [5.0 MQTT-3.8.3-5].
    pub(crate) const fn from_u8(b: u8) -> Option<SubscriptionOptions> {
        let Some(qos) = QoS::from_u8(b & 0b11) else {
            return None;
        };
        let retain_handling = match (b >> 4) & 0b11 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendIfNew,
            2 => RetainHandling::DoNotSend,
            _ => return None,
        };
        if b & 0b1100_0000 != 0 {
            return None;
        }
        Some(SubscriptionOptions {
            qos,
            no_local: b & 0b0100 != 0,
            retain_as_published: b & 0b1000 != 0,
            retain_handling,
        })
    }
}

/// Whether `filter` with `options` breaks [5.0 MQTT-3.8.3-4]: No Local on a
/// Shared Subscription (section 4.8.2).
fn no_local_on_shared(filter: &TopicFilter, options: SubscriptionOptions) -> bool {
    options.no_local && filter.as_str().starts_with("$share/")
}

/// SUBSCRIBE of MQTT 5.0.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{decode, Packet, Subscribe, SubscribeProperties, SubscriptionOptions};
/// use mqtt_proto::{PacketId, QoS, TopicFilter};
///
/// let subscribe = Subscribe {
///     pid: PacketId::new(1).unwrap(),
///     properties: SubscribeProperties { subscription_identifier: Some(7), ..SubscribeProperties::default() },
///     filters: vec![
///         (TopicFilter::try_from("a/+").unwrap(), SubscriptionOptions::new(QoS::AtLeastOnce)),
///         (TopicFilter::try_from("$share/group/b/#").unwrap(), SubscriptionOptions::new(QoS::AtMostOnce)),
///     ],
/// };
/// let mut wire = BytesMut::new();
/// subscribe.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Subscribe(subscribe))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subscribe {
    /// The packet identifier.
    pub pid: PacketId,
    /// Properties.
    pub properties: SubscribeProperties,
    /// The filters and their options; at least one.
    pub filters: Vec<(TopicFilter, SubscriptionOptions)>,
}

/// SUBACK of MQTT 5.0.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{decode, AckProperties, Packet, ReasonCode, SubAck};
/// use mqtt_proto::PacketId;
///
/// let suback = SubAck {
///     pid: PacketId::new(1).unwrap(),
///     properties: AckProperties::default(),
///     reason_codes: vec![ReasonCode::GrantedQoS1, ReasonCode::NotAuthorized],
/// };
/// let mut wire = BytesMut::new();
/// suback.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::SubAck(suback))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubAck {
    /// The packet identifier.
    pub pid: PacketId,
    /// Properties.
    pub properties: AckProperties,
    /// One reason code per filter, in order.
    pub reason_codes: Vec<ReasonCode>,
}

/// UNSUBSCRIBE of MQTT 5.0.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{decode, Packet, Unsubscribe, UnsubscribeProperties};
/// use mqtt_proto::{PacketId, TopicFilter};
///
/// let unsubscribe = Unsubscribe {
///     pid: PacketId::new(2).unwrap(),
///     properties: UnsubscribeProperties::default(),
///     filters: vec![TopicFilter::try_from("a/#").unwrap()],
/// };
/// let mut wire = BytesMut::new();
/// unsubscribe.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Unsubscribe(unsubscribe))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Unsubscribe {
    /// The packet identifier.
    pub pid: PacketId,
    /// Properties.
    pub properties: UnsubscribeProperties,
    /// The filters; at least one.
    pub filters: Vec<TopicFilter>,
}

/// UNSUBACK of MQTT 5.0: unlike 3.1.1 it has one reason code per filter.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{decode, AckProperties, Packet, ReasonCode, UnsubAck};
/// use mqtt_proto::PacketId;
///
/// let unsuback = UnsubAck {
///     pid: PacketId::new(2).unwrap(),
///     properties: AckProperties::default(),
///     reason_codes: vec![ReasonCode::Success, ReasonCode::NoSubscriptionExisted],
/// };
/// let mut wire = BytesMut::new();
/// unsuback.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::UnsubAck(unsuback))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnsubAck {
    /// The packet identifier.
    pub pid: PacketId,
    /// Properties.
    pub properties: AckProperties,
    /// One reason code per filter, in order.
    pub reason_codes: Vec<ReasonCode>,
}

impl Subscribe {
    fn remaining_len(&self) -> usize {
        2 + block_len(&self.properties)
            + self
                .filters
                .iter()
                .map(|(f, _)| prefixed_len(f.len()) + 1)
                .sum::<usize>()
    }

    /// Appends the encoded packet to `buf`; fixed-header flags 0010
    /// [5.0 MQTT-3.8.1-1].
    ///
    /// Fails with [`EncodeError::EmptySubscribe`] without filters
    /// [5.0 MQTT-3.8.3-2], and with [`EncodeError::InvalidValue`] for a
    /// Subscription Identifier outside 1 to 268,435,455 (section
    /// 3.8.2.1.2) or No Local on a shared subscription [5.0 MQTT-3.8.3-4].
    /// (A [`TopicFilter`] is a well-formed shared subscription already:
    /// [5.0 MQTT-4.8.2-1], [5.0 MQTT-4.8.2-2].)
    /// On error nothing was appended.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::v5::{Subscribe, SubscribeProperties, SubscriptionOptions};
    /// use mqtt_proto::{PacketId, QoS, TopicFilter};
    ///
    /// let subscribe = Subscribe {
    ///     pid: PacketId::new(1).unwrap(),
    ///     properties: SubscribeProperties::default(),
    ///     filters: vec![(TopicFilter::try_from("a/+").unwrap(), SubscriptionOptions::new(QoS::AtLeastOnce))],
    /// };
    /// let mut buf = BytesMut::new();
    /// subscribe.encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..], &[0x82, 9, 0, 1, 0, 0, 3, b'a', b'/', b'+', 1]);
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        if self.filters.is_empty() {
            return Err(EncodeError::EmptySubscribe);
        }
        self.properties.check()?;
        if self
            .filters
            .iter()
            .any(|(filter, options)| no_local_on_shared(filter, *options))
        {
            return Err(EncodeError::InvalidValue);
        }
        write_fixed_header(
            buf,
            (PacketType::Subscribe as u8) << 4 | 0b0010,
            self.remaining_len(),
        )?;
        buf.put_u16(self.pid.get());
        put_block(buf, &self.properties);
        for (filter, options) in &self.filters {
            put_prefixed(buf, filter.as_bytes());
            buf.put_u8(options.to_u8());
        }
        Ok(())
    }

    pub(crate) fn decode(mut body: Body) -> Result<Self, DecodeError> {
        let pid = body.packet_id()?;
        let properties = read_block(&mut body)?;
        let mut filters = Vec::new();
        while !body.is_empty() {
            let filter = TopicFilter::from_mqtt_string(body.string()?)
                .map_err(|e| DecodeError::from_topic(e, true))?;
            let byte = body.u8()?;
            let options = SubscriptionOptions::from_u8(byte)
                .ok_or(DecodeError::InvalidSubscriptionOptions(byte))?;
            if no_local_on_shared(&filter, options) {
                return Err(DecodeError::InvalidSubscriptionOptions(byte));
            }
            filters.push((filter, options));
        }
        if filters.is_empty() {
            return Err(DecodeError::EmptySubscribe);
        }
        Ok(Subscribe {
            pid,
            properties,
            filters,
        })
    }
}

/// Encodes the shared layout of SUBACK and UNSUBACK: packet identifier,
/// property block, one reason code per filter.
fn encode_ack(
    packet_type: PacketType,
    pid: PacketId,
    properties: &AckProperties,
    reason_codes: &[ReasonCode],
    buf: &mut BytesMut,
) -> Result<(), EncodeError> {
    if !reason_codes
        .iter()
        .all(|&code| code.allowed_in(packet_type))
    {
        return Err(EncodeError::InvalidValue);
    }
    let remaining = 2 + block_len(properties) + reason_codes.len();
    write_fixed_header(buf, (packet_type as u8) << 4, remaining)?;
    buf.put_u16(pid.get());
    put_block(buf, properties);
    for &code in reason_codes {
        buf.put_u8(code as u8);
    }
    Ok(())
}

/// Decodes the shared layout of SUBACK and UNSUBACK; the list may come
/// back empty, which each caller reports as its own error.
fn decode_ack(mut body: Body) -> Result<(PacketId, AckProperties, Vec<ReasonCode>), DecodeError> {
    let pid = body.packet_id()?;
    let properties = read_block(&mut body)?;
    let mut reason_codes = Vec::new();
    while !body.is_empty() {
        reason_codes.push(ReasonCode::decode(body.u8()?, body.packet_type)?);
    }
    Ok((pid, properties, reason_codes))
}

impl SubAck {
    /// Appends the encoded packet to `buf`.
    ///
    /// Fails with [`EncodeError::EmptySubAck`] without reason codes (one
    /// per filter, section 3.9.3), and with [`EncodeError::InvalidValue`]
    /// for a reason code SUBACK may not carry [5.0 MQTT-3.9.3-2]. On error
    /// nothing was appended.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::v5::{AckProperties, ReasonCode, SubAck};
    /// use mqtt_proto::PacketId;
    ///
    /// let suback = SubAck {
    ///     pid: PacketId::new(1).unwrap(),
    ///     properties: AckProperties::default(),
    ///     reason_codes: vec![ReasonCode::GrantedQoS2, ReasonCode::TopicFilterInvalid],
    /// };
    /// let mut buf = BytesMut::new();
    /// suback.encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..], &[0x90, 5, 0, 1, 0, 0x02, 0x8F]);
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        if self.reason_codes.is_empty() {
            return Err(EncodeError::EmptySubAck);
        }
        encode_ack(
            PacketType::SubAck,
            self.pid,
            &self.properties,
            &self.reason_codes,
            buf,
        )
    }

    pub(crate) fn decode(body: Body) -> Result<Self, DecodeError> {
        let (pid, properties, reason_codes) = decode_ack(body)?;
        if reason_codes.is_empty() {
            return Err(DecodeError::EmptySubAck);
        }
        Ok(SubAck {
            pid,
            properties,
            reason_codes,
        })
    }
}

impl Unsubscribe {
    fn remaining_len(&self) -> usize {
        2 + block_len(&self.properties)
            + self
                .filters
                .iter()
                .map(|f| prefixed_len(f.len()))
                .sum::<usize>()
    }

    /// Appends the encoded packet to `buf`; fixed-header flags 0010
    /// [5.0 MQTT-3.10.1-1].
    ///
    /// Fails with [`EncodeError::EmptyUnsubscribe`] without filters
    /// [5.0 MQTT-3.10.3-2]; on error nothing was appended.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::v5::{Unsubscribe, UnsubscribeProperties};
    /// use mqtt_proto::{PacketId, TopicFilter};
    ///
    /// let unsubscribe = Unsubscribe {
    ///     pid: PacketId::new(2).unwrap(),
    ///     properties: UnsubscribeProperties::default(),
    ///     filters: vec![TopicFilter::try_from("a/#").unwrap()],
    /// };
    /// let mut buf = BytesMut::new();
    /// unsubscribe.encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..], &[0xA2, 8, 0, 2, 0, 0, 3, b'a', b'/', b'#']);
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        if self.filters.is_empty() {
            return Err(EncodeError::EmptyUnsubscribe);
        }
        write_fixed_header(
            buf,
            (PacketType::Unsubscribe as u8) << 4 | 0b0010,
            self.remaining_len(),
        )?;
        buf.put_u16(self.pid.get());
        put_block(buf, &self.properties);
        for filter in &self.filters {
            put_prefixed(buf, filter.as_bytes());
        }
        Ok(())
    }

    pub(crate) fn decode(mut body: Body) -> Result<Self, DecodeError> {
        let pid = body.packet_id()?;
        let properties = read_block(&mut body)?;
        let mut filters = Vec::new();
        while !body.is_empty() {
            filters.push(
                TopicFilter::from_mqtt_string(body.string()?)
                    .map_err(|e| DecodeError::from_topic(e, true))?,
            );
        }
        if filters.is_empty() {
            return Err(DecodeError::EmptyUnsubscribe);
        }
        Ok(Unsubscribe {
            pid,
            properties,
            filters,
        })
    }
}

impl UnsubAck {
    /// Appends the encoded packet to `buf`.
    ///
    /// Fails with [`EncodeError::InvalidValue`] without reason codes (one
    /// per filter, section 3.11.3) or with a reason code UNSUBACK may not
    /// carry [5.0 MQTT-3.11.3-2]. On error nothing was appended.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::v5::{AckProperties, ReasonCode, UnsubAck};
    /// use mqtt_proto::PacketId;
    ///
    /// let unsuback = UnsubAck {
    ///     pid: PacketId::new(2).unwrap(),
    ///     properties: AckProperties::default(),
    ///     reason_codes: vec![ReasonCode::NoSubscriptionExisted],
    /// };
    /// let mut buf = BytesMut::new();
    /// unsuback.encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..], &[0xB0, 4, 0, 2, 0, 0x11]);
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        // No EncodeError variant of its own yet for an empty UNSUBACK.
        if self.reason_codes.is_empty() {
            return Err(EncodeError::InvalidValue);
        }
        encode_ack(
            PacketType::UnsubAck,
            self.pid,
            &self.properties,
            &self.reason_codes,
            buf,
        )
    }

    pub(crate) fn decode(body: Body) -> Result<Self, DecodeError> {
        let packet_type = body.packet_type;
        let (pid, properties, reason_codes) = decode_ack(body)?;
        // A reason code per filter, and an UNSUBSCRIBE has at least one
        // (section 3.11.3): the packet ends where the first was due. No
        // DecodeError variant of its own yet.
        if reason_codes.is_empty() {
            return Err(DecodeError::UnexpectedEnd { packet_type });
        }
        Ok(UnsubAck {
            pid,
            properties,
            reason_codes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_byte_round_trips_and_rejects_the_rest() {
        let mut valid = 0;
        for b in 0..=255u8 {
            match SubscriptionOptions::from_u8(b) {
                Some(options) => {
                    valid += 1;
                    assert_eq!(options.to_u8(), b);
                }
                None => {
                    assert!(
                        b & 0b11 == 3 || (b >> 4) & 0b11 == 3 || b >> 6 != 0,
                        "{b:#04x}"
                    );
                }
            }
        }
        // 3 QoS x 2 No Local x 2 Retain As Published x 3 Retain Handling.
        assert_eq!(valid, 36);
    }
}
