//! UNSUBSCRIBE (section 3.10). Its answer, UNSUBACK, is an id-only packet in
//! `ack`.

use super::error::{DecodeError, EncodeError};
use super::fixed_header::write_fixed_header;
use super::wire::{prefixed_len, put_prefixed, Body};
use super::{PacketId, PacketType};
use crate::topic::TopicFilter;
use alloc::vec::Vec;
use bytes::{BufMut, BytesMut};

/// UNSUBSCRIBE: one or more topic filters to drop.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::{decode, Packet, Unsubscribe};
/// use mqtt_proto::{PacketId, TopicFilter};
///
/// let unsubscribe = Unsubscribe {
///     pid: PacketId::new(2).unwrap(),
///     filters: vec![TopicFilter::try_from("a/#").unwrap()],
/// };
/// let mut wire = BytesMut::new();
/// unsubscribe.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Unsubscribe(unsubscribe))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Unsubscribe {
    /// The packet identifier [MQTT-2.3.1-1].
    pub pid: PacketId,
    /// The filters, back to back; at least one [MQTT-3.10.3-2].
    pub filters: Vec<TopicFilter>,
}

impl Unsubscribe {
    fn remaining_len(&self) -> usize {
        2 + self
            .filters
            .iter()
            .map(|f| prefixed_len(f.len()))
            .sum::<usize>()
    }

    /// Appends the encoded packet to `buf`; fixed-header flags 0010
    /// [MQTT-3.10.1-1].
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::Unsubscribe;
    /// use mqtt_proto::{PacketId, TopicFilter};
    ///
    /// let unsubscribe = Unsubscribe {
    ///     pid: PacketId::new(2).unwrap(),
    ///     filters: vec![TopicFilter::try_from("a/#").unwrap()],
    /// };
    /// let mut buf = BytesMut::new();
    /// unsubscribe.encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..], &[0xA2, 7, 0, 2, 0, 3, b'a', b'/', b'#']);
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
        for filter in &self.filters {
            put_prefixed(buf, filter.as_bytes());
        }
        Ok(())
    }

    pub(crate) fn decode(mut body: Body) -> Result<Self, DecodeError> {
        let pid = body.packet_id()?;
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
        Ok(Unsubscribe { pid, filters })
    }
}
