//! SUBSCRIBE (section 3.8) and its answer SUBACK (section 3.9).
//!
//! Decoding grows the filter list one entry per filter actually present in
//! the body, never by a count taken from the wire, so memory stays a small
//! multiple of the (size-limited) packet.

use super::error::{DecodeError, EncodeError};
use super::fixed_header::write_fixed_header;
use super::wire::{prefixed_len, put_prefixed, Body};
use super::{PacketId, PacketType, QoS};
use crate::topic::TopicFilter;
use alloc::vec::Vec;
use bytes::{BufMut, BytesMut};

/// SUBSCRIBE: one or more topic filters, each with a requested QoS.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::{decode, Packet, Subscribe};
/// use mqtt_proto::{PacketId, QoS, TopicFilter};
///
/// let subscribe = Subscribe {
///     pid: PacketId::new(1).unwrap(),
///     filters: vec![(TopicFilter::try_from("a/+").unwrap(), QoS::AtLeastOnce)],
/// };
/// let mut wire = BytesMut::new();
/// subscribe.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Subscribe(subscribe))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subscribe {
    /// The packet identifier [MQTT-2.3.1-1].
    pub pid: PacketId,
    /// The filters with their requested QoS; at least one [MQTT-3.8.3-3].
    pub filters: Vec<(TopicFilter, QoS)>,
}

impl Subscribe {
    fn remaining_len(&self) -> usize {
        2 + self
            .filters
            .iter()
            .map(|(f, _)| prefixed_len(f.len()) + 1)
            .sum::<usize>()
    }

    /// Appends the encoded packet to `buf`; fixed-header flags 0010
    /// [MQTT-3.8.1-1].
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::Subscribe;
    /// use mqtt_proto::{PacketId, QoS, TopicFilter};
    ///
    /// let subscribe = Subscribe {
    ///     pid: PacketId::new(1).unwrap(),
    ///     filters: vec![(TopicFilter::try_from("a/+").unwrap(), QoS::AtLeastOnce)],
    /// };
    /// let mut buf = BytesMut::new();
    /// subscribe.encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..], &[0x82, 8, 0, 1, 0, 3, b'a', b'/', b'+', 1]);
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        if self.filters.is_empty() {
            return Err(EncodeError::EmptySubscribe);
        }
        write_fixed_header(
            buf,
            (PacketType::Subscribe as u8) << 4 | 0b0010,
            self.remaining_len(),
        )?;
        buf.put_u16(self.pid.get());
        for (filter, qos) in &self.filters {
            put_prefixed(buf, filter.as_bytes());
            buf.put_u8(*qos as u8);
        }
        Ok(())
    }

    pub(crate) fn decode(mut body: Body) -> Result<Self, DecodeError> {
        let pid = body.packet_id()?;
        let mut filters = Vec::new();
        while !body.is_empty() {
            let filter = TopicFilter::from_mqtt_string(body.string()?)
                .map_err(|e| DecodeError::from_topic(e, true))?;
            let options = body.u8()?;
            let qos =
                QoS::from_u8(options).ok_or(DecodeError::InvalidSubscriptionOptions(options))?;
            filters.push((filter, qos));
        }
        if filters.is_empty() {
            return Err(DecodeError::EmptySubscribe);
        }
        Ok(Subscribe { pid, filters })
    }
}

/// One SUBACK return code: the QoS granted for a filter, or failure.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::{decode, Packet, SubscribeReturnCode};
/// use mqtt_proto::QoS;
///
/// let mut wire = BytesMut::from(&[0x90, 0x04, 0x00, 0x01, 0x02, 0x80][..]);
/// let Ok(Some(Packet::SubAck(suback))) = decode(&mut wire, 1024) else { panic!() };
/// assert_eq!(
///     suback.return_codes,
///     [SubscribeReturnCode::Success(QoS::ExactlyOnce), SubscribeReturnCode::Failure]
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscribeReturnCode {
    /// The subscription was made with this maximum QoS.
    Success(QoS),
    /// 0x80: the subscription was refused.
    Failure,
}

impl core::fmt::Display for SubscribeReturnCode {
    /// In words: "granted at QoS 1", "refused (0x80)".
    ///
    /// ```
    /// use mqtt_proto::packet::SubscribeReturnCode;
    /// use mqtt_proto::QoS;
    ///
    /// assert_eq!(SubscribeReturnCode::Success(QoS::AtLeastOnce).to_string(), "granted at QoS 1");
    /// assert_eq!(SubscribeReturnCode::Failure.to_string(), "refused (0x80)");
    /// ```
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SubscribeReturnCode::Success(qos) => write!(f, "granted at QoS {}", *qos as u8),
            SubscribeReturnCode::Failure => f.write_str("refused (0x80)"),
        }
    }
}

impl SubscribeReturnCode {
    const fn to_u8(self) -> u8 {
        match self {
            SubscribeReturnCode::Success(qos) => qos as u8,
            SubscribeReturnCode::Failure => 0x80,
        }
    }

    const fn from_u8(v: u8) -> Option<Self> {
        match v {
            0x80 => Some(SubscribeReturnCode::Failure),
            _ => match QoS::from_u8(v) {
                Some(qos) => Some(SubscribeReturnCode::Success(qos)),
                None => None,
            },
        }
    }
}

/// SUBACK: one return code per filter of the SUBSCRIBE, in order.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::{decode, Packet, SubAck, SubscribeReturnCode};
/// use mqtt_proto::{PacketId, QoS};
///
/// let suback = SubAck {
///     pid: PacketId::new(1).unwrap(),
///     return_codes: vec![SubscribeReturnCode::Success(QoS::AtMostOnce)],
/// };
/// let mut wire = BytesMut::new();
/// suback.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::SubAck(suback))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubAck {
    /// The SUBSCRIBE's identifier.
    pub pid: PacketId,
    /// One code per requested filter.
    pub return_codes: Vec<SubscribeReturnCode>,
}

impl SubAck {
    /// Appends the encoded packet to `buf`.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::{SubAck, SubscribeReturnCode};
    /// use mqtt_proto::{PacketId, QoS};
    ///
    /// let suback = SubAck {
    ///     pid: PacketId::new(1).unwrap(),
    ///     return_codes: vec![SubscribeReturnCode::Success(QoS::AtLeastOnce), SubscribeReturnCode::Failure],
    /// };
    /// let mut buf = BytesMut::new();
    /// suback.encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..], &[0x90, 4, 0, 1, 0x01, 0x80]);
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        if self.return_codes.is_empty() {
            return Err(EncodeError::EmptySubAck);
        }
        write_fixed_header(
            buf,
            (PacketType::SubAck as u8) << 4,
            2 + self.return_codes.len(),
        )?;
        buf.put_u16(self.pid.get());
        for code in &self.return_codes {
            buf.put_u8(code.to_u8());
        }
        Ok(())
    }

    pub(crate) fn decode(mut body: Body) -> Result<Self, DecodeError> {
        let pid = body.packet_id()?;
        let mut return_codes = Vec::new();
        while !body.is_empty() {
            let raw = body.u8()?;
            return_codes.push(
                SubscribeReturnCode::from_u8(raw).ok_or(DecodeError::InvalidSubAckCode(raw))?,
            );
        }
        if return_codes.is_empty() {
            return Err(DecodeError::EmptySubAck);
        }
        Ok(SubAck { pid, return_codes })
    }
}
