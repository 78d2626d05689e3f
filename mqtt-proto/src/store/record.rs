//! The byte form of a [`StoreOp`]: a tag byte, then fixed-size big-endian
//! fields, then at most one variable field that runs to the end (a topic
//! carries its length, as the payload follows it). A record is only ever
//! read back whole: the store frames it and checks it for damage.
//!
//! | op | tag | fields |
//! |---|---|---|
//! | Publish | 1 | id u64, flags u8 (QoS in bits 0-1, retain in bit 2), topic length u16, topic, payload |
//! | Sent | 2 | id u64, packet id u16 |
//! | Released | 3 | id u64 |
//! | Unsent | 4 | id u64 |
//! | Done | 5 | id u64 |
//! | Received | 6 | packet id u16 |
//! | Forgotten | 7 | packet id u16 |
//! | ForgetIncoming | 8 | |
//! | Subscribed | 9 | options u8 (as SUBSCRIBE carries them: QoS in bits 0-1; bit 6 set when an identifier follows), identifier u32 if so, filter |
//! | Unsubscribed | 10 | filter |

use super::StoreOp;
use crate::connection::{Message, PublishId};
use crate::packet::v5::{self, SubscriptionOptions};
use crate::packet::{PacketId, QoS};
use crate::topic::{TopicFilter, TopicName};
use alloc::boxed::Box;
use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;

const PUBLISH: u8 = 1;
const SENT: u8 = 2;
const RELEASED: u8 = 3;
const UNSENT: u8 = 4;
const DONE: u8 = 5;
const RECEIVED: u8 = 6;
const FORGOTTEN: u8 = 7;
const FORGET_INCOMING: u8 = 8;
const SUBSCRIBED: u8 = 9;
const UNSUBSCRIBED: u8 = 10;

/// In a Subscribed record's options byte (whose bits 6 and 7 SUBSCRIBE
/// leaves reserved): a subscription identifier follows.
const IDENTIFIER_FOLLOWS: u8 = 0x40;

/// Why a record is not a [`StoreOp`].
///
/// ```
/// use mqtt_proto::store::{RecordError, StoreOp};
///
/// // A `Received` record whose packet id is cut short.
/// assert_eq!(StoreOp::decode(&[6, 0]), Err(RecordError::Truncated));
/// assert_eq!(RecordError::Truncated.to_string(), "store record is truncated");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// It ends before its fields do.
    Truncated,
    /// Bytes follow the last field of an op that has no variable field.
    TrailingBytes,
    /// The first byte names no op.
    UnknownOp(u8),
    /// A QoS that is not 0, 1 or 2, or a QoS 0 message (never stored).
    BadQoS(u8),
    /// A packet id of 0.
    ZeroPacketId,
    /// The topic name or filter is not valid.
    BadTopic,
    /// A message's MQTT 5.0 properties are not a valid property block.
    BadProperties,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Truncated => f.write_str("store record is truncated"),
            RecordError::TrailingBytes => f.write_str("store record has trailing bytes"),
            RecordError::UnknownOp(tag) => write!(f, "store record has unknown op {tag}"),
            RecordError::BadQoS(q) => write!(f, "store record has invalid QoS {q}"),
            RecordError::ZeroPacketId => f.write_str("store record has packet id 0"),
            RecordError::BadTopic => f.write_str("store record has an invalid topic"),
            RecordError::BadProperties => f.write_str("store record has invalid properties"),
        }
    }
}

impl core::error::Error for RecordError {}

impl StoreOp {
    /// Appends the record of this op to `out`.
    ///
    /// ```
    /// use mqtt_proto::packet::v5::SubscriptionOptions;
    /// use mqtt_proto::store::StoreOp;
    /// use mqtt_proto::{QoS, TopicFilter};
    ///
    /// let filter = TopicFilter::try_from("a/#").unwrap();
    /// let options = SubscriptionOptions::new(QoS::AtLeastOnce);
    /// let op = StoreOp::Subscribed { filter: filter.clone(), options, identifier: None };
    /// let mut record = Vec::new();
    /// op.encode(&mut record);
    /// assert_eq!(record, [9, 1, b'a', b'/', b'#']);
    /// assert_eq!(StoreOp::decode(&record), Ok(op));
    ///
    /// // MQTT 5.0: the other options, and an identifier after a flag bit.
    /// let mut options = SubscriptionOptions::new(QoS::AtMostOnce);
    /// options.no_local = true;
    /// let op = StoreOp::Subscribed { filter, options, identifier: Some(7) };
    /// let mut record = Vec::new();
    /// op.encode(&mut record);
    /// assert_eq!(record, [9, 0x44, 0, 0, 0, 7, b'a', b'/', b'#']);
    /// assert_eq!(StoreOp::decode(&record), Ok(op));
    /// ```
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            StoreOp::Publish { id, message } => {
                let topic = message.topic.as_str().as_bytes();
                out.reserve(12 + topic.len() + message.payload.len());
                out.push(PUBLISH);
                out.extend_from_slice(&id.0.to_be_bytes());
                let props = message.properties.as_deref();
                out.push(
                    message.qos as u8
                        | (u8::from(message.retain) << 2)
                        | (u8::from(props.is_some()) << 3),
                );
                // Topic names are at most 65,535 bytes long.
                let len = u16::try_from(topic.len()).unwrap_or(u16::MAX);
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(topic);
                // MQTT 5.0 properties, as a PUBLISH carries them.
                if let Some(props) = props {
                    v5::put_publish_properties(out, props);
                }
                out.extend_from_slice(&message.payload);
            }
            StoreOp::Sent { id, pid } => {
                out.push(SENT);
                out.extend_from_slice(&id.0.to_be_bytes());
                out.extend_from_slice(&pid.get().to_be_bytes());
            }
            StoreOp::Released { id } => id_record(out, RELEASED, *id),
            StoreOp::Unsent { id } => id_record(out, UNSENT, *id),
            StoreOp::Done { id } => id_record(out, DONE, *id),
            StoreOp::Received { pid } => {
                out.push(RECEIVED);
                out.extend_from_slice(&pid.get().to_be_bytes());
            }
            StoreOp::Forgotten { pid } => {
                out.push(FORGOTTEN);
                out.extend_from_slice(&pid.get().to_be_bytes());
            }
            StoreOp::ForgetIncoming => out.push(FORGET_INCOMING),
            StoreOp::Subscribed {
                filter,
                options,
                identifier,
            } => {
                out.push(SUBSCRIBED);
                let follows = if identifier.is_some() {
                    IDENTIFIER_FOLLOWS
                } else {
                    0
                };
                out.push(options.to_u8() | follows);
                if let Some(id) = identifier {
                    out.extend_from_slice(&id.to_be_bytes());
                }
                out.extend_from_slice(filter.as_str().as_bytes());
            }
            StoreOp::Unsubscribed { filter } => {
                out.push(UNSUBSCRIBED);
                out.extend_from_slice(filter.as_str().as_bytes());
            }
        }
    }

    /// The op a record holds, checked as strictly as a packet from the
    /// network: a damaged record is an error, never a panic.
    ///
    /// ```
    /// use mqtt_proto::store::{RecordError, StoreOp};
    ///
    /// assert_eq!(StoreOp::decode(&[8]), Ok(StoreOp::ForgetIncoming));
    /// assert_eq!(StoreOp::decode(&[2, 0, 0]), Err(RecordError::Truncated));
    /// assert_eq!(StoreOp::decode(&[42]), Err(RecordError::UnknownOp(42)));
    /// ```
    pub fn decode(record: &[u8]) -> Result<StoreOp, RecordError> {
        let mut r = Reader(record);
        let op = match r.u8()? {
            PUBLISH => {
                let id = PublishId(r.u64()?);
                let flags = r.u8()?;
                let qos = match QoS::from_u8(flags & 0b11) {
                    Some(qos) if qos != QoS::AtMostOnce && flags & !0b1111 == 0 => qos,
                    _ => return Err(RecordError::BadQoS(flags)),
                };
                let len = usize::from(r.u16()?);
                let topic = r.take(len)?;
                let topic = TopicName::from_bytes(Bytes::copy_from_slice(topic))
                    .map_err(|_| RecordError::BadTopic)?;
                let rest = Bytes::copy_from_slice(r.rest());
                let (properties, payload) = if flags & 0b1000 != 0 {
                    let (props, payload) = v5::read_publish_properties(rest)
                        .map_err(|_| RecordError::BadProperties)?;
                    (Some(Box::new(props)), payload)
                } else {
                    (None, rest)
                };
                StoreOp::Publish {
                    id,
                    message: Message {
                        topic,
                        payload,
                        qos,
                        retain: flags & 0b100 != 0,
                        dup: false,
                        properties,
                    },
                }
            }
            SENT => StoreOp::Sent {
                id: PublishId(r.u64()?),
                pid: r.pid()?,
            },
            RELEASED => StoreOp::Released {
                id: PublishId(r.u64()?),
            },
            UNSENT => StoreOp::Unsent {
                id: PublishId(r.u64()?),
            },
            DONE => StoreOp::Done {
                id: PublishId(r.u64()?),
            },
            RECEIVED => StoreOp::Received { pid: r.pid()? },
            FORGOTTEN => StoreOp::Forgotten { pid: r.pid()? },
            FORGET_INCOMING => StoreOp::ForgetIncoming,
            SUBSCRIBED => {
                // Records written before 5.0 hold the QoS alone: the same
                // byte with every other bit 0.
                let b = r.u8()?;
                let options = SubscriptionOptions::from_u8(b & !IDENTIFIER_FOLLOWS)
                    .ok_or(RecordError::BadQoS(b))?;
                let identifier = match b & IDENTIFIER_FOLLOWS {
                    0 => None,
                    _ => Some(r.u32()?),
                };
                StoreOp::Subscribed {
                    filter: r.filter()?,
                    options,
                    identifier,
                }
            }
            UNSUBSCRIBED => StoreOp::Unsubscribed {
                filter: r.filter()?,
            },
            other => return Err(RecordError::UnknownOp(other)),
        };
        if r.0.is_empty() {
            Ok(op)
        } else {
            Err(RecordError::TrailingBytes)
        }
    }
}

fn id_record(out: &mut Vec<u8>, tag: u8, id: PublishId) {
    out.push(tag);
    out.extend_from_slice(&id.0.to_be_bytes());
}

/// A cursor over a record.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        if self.0.len() < n {
            return Err(RecordError::Truncated);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, RecordError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, RecordError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, RecordError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, RecordError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn pid(&mut self) -> Result<PacketId, RecordError> {
        PacketId::new(self.u16()?).ok_or(RecordError::ZeroPacketId)
    }

    fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.0)
    }

    fn filter(&mut self) -> Result<TopicFilter, RecordError> {
        TopicFilter::from_bytes(Bytes::copy_from_slice(self.rest()))
            .map_err(|_| RecordError::BadTopic)
    }
}
