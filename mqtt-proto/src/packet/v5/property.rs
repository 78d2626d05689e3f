//! The machinery under every property set: Variable Byte Integers (section
//! 1.5.5), the length-prefixed property block (section 2.2.2.1), and typed
//! readers and writers for each property value type (section 2.2.2.2).
//!
//! A set type implements [`PropertySet`]; the packet codecs use
//! [`block_len`], [`put_block`] and [`read_block`] and never see a raw
//! property.

use super::properties::{PayloadFormat, UserProperty};
use crate::packet::fixed_header::remaining_length_len;
use crate::packet::wire::{prefixed_len, put_prefixed, Body};
use crate::packet::{DecodeError, PacketType};
use crate::string::MqttString;
use crate::topic::check_name;
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The largest value a Variable Byte Integer holds.
pub(crate) const VBI_MAX: u32 = 268_435_455;

/// Bytes `v` takes as a Variable Byte Integer (the remaining length's
/// encoding); `v` is at most [`VBI_MAX`].
pub(crate) const fn vbi_len(v: u32) -> usize {
    remaining_length_len(v as usize)
}

/// Writes `v` (at most [`VBI_MAX`]) as a Variable Byte Integer.
pub(crate) fn put_vbi(buf: &mut BytesMut, mut v: u32) {
    debug_assert!(v <= VBI_MAX);
    loop {
        let mut byte = (v % 128) as u8;
        v /= 128;
        if v > 0 {
            byte |= 0x80;
        }
        buf.put_u8(byte);
        if v == 0 {
            break;
        }
    }
}

impl Body {
    /// A four-byte integer.
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        if self.bytes.len() < 4 {
            return Err(DecodeError::UnexpectedEnd {
                packet_type: self.packet_type,
            });
        }
        Ok(self.bytes.get_u32())
    }

    /// A Variable Byte Integer in its shortest form [MQTT-1.5.5-1].
    pub(crate) fn vbi(&mut self) -> Result<u32, DecodeError> {
        let mut value: u32 = 0;
        for i in 0..4 {
            let byte = self.u8()?;
            value |= u32::from(byte & 0x7F) << (7 * i);
            if byte & 0x80 == 0 {
                // A longer form than needed ends in a zero byte.
                if i > 0 && byte == 0 {
                    return Err(DecodeError::MalformedVarInt);
                }
                return Ok(value);
            }
        }
        Err(DecodeError::MalformedVarInt)
    }

    /// The next `len` bytes as a body of their own.
    pub(crate) fn sub(&mut self, len: usize) -> Result<Body, DecodeError> {
        if self.bytes.len() < len {
            return Err(DecodeError::UnexpectedEnd {
                packet_type: self.packet_type,
            });
        }
        Ok(Body::new(self.bytes.split_to(len), self.packet_type))
    }
}

/// One packet kind's property set.
pub(crate) trait PropertySet: Sized + Default {
    /// Bytes of the properties, without the length prefix.
    fn len(&self) -> usize;
    /// Writes the properties, without the length prefix.
    fn write(&self, w: &mut Writer<'_>);
    /// Reads the properties from a block holding exactly them.
    fn read(block: &mut Reader) -> Result<Self, DecodeError>;
}

/// Bytes a property block takes on the wire, length prefix included.
pub(crate) fn block_len<P: PropertySet>(p: &P) -> usize {
    let len = p.len();
    // A property block fits in the packet, itself bounded by VBI_MAX, so
    // the cast cannot truncate for anything that encodes.
    vbi_len(len as u32) + len
}

/// Writes the length-prefixed property block.
pub(crate) fn put_block<P: PropertySet>(buf: &mut BytesMut, p: &P) {
    put_vbi(buf, p.len() as u32);
    p.write(&mut Writer { buf });
}

/// Writes the length-prefixed property block whose properties take `len`
/// bytes (as `p.len()` said): for a caller that needed the length already.
pub(crate) fn put_block_of_len<P: PropertySet>(buf: &mut BytesMut, p: &P, len: usize) {
    put_vbi(buf, len as u32);
    if len > 0 {
        p.write(&mut Writer { buf });
    }
}

/// Reads a length-prefixed property block.
pub(crate) fn read_block<P: PropertySet>(body: &mut Body) -> Result<P, DecodeError> {
    let len = body.vbi()? as usize;
    // Most blocks are empty: no sub-body, no reader.
    if len == 0 {
        return Ok(P::default());
    }
    let block = body.sub(len)?;
    let mut reader = Reader {
        body: block,
        seen: 0,
    };
    P::read(&mut reader)
}

/// Reads one property block: [`Reader::next`] gives each identifier once,
/// and the typed readers take its value.
pub(crate) struct Reader {
    body: Body,
    /// Identifiers seen so far (all are below 64).
    seen: u64,
}

impl Reader {
    /// The next property identifier, or `None` at the end of the block.
    /// An identifier above 0x3F cannot be one of 5.0's and is reported as
    /// unknown; `repeatable` is User Property and (in PUBLISH) Subscription
    /// Identifier, every other identifier appearing twice is an error.
    pub(crate) fn next(&mut self, repeatable: &[u8]) -> Result<Option<u8>, DecodeError> {
        if self.body.is_empty() {
            return Ok(None);
        }
        let id = self.body.vbi()?;
        let packet_type = self.body.packet_type;
        let Ok(id) = u8::try_from(id) else {
            return Err(DecodeError::UnknownProperty { packet_type, id });
        };
        if id >= 64 {
            return Err(DecodeError::UnknownProperty {
                packet_type,
                id: id.into(),
            });
        }
        let bit = 1u64 << id;
        if self.seen & bit != 0 && !repeatable.contains(&id) {
            return Err(DecodeError::DuplicateProperty { packet_type, id });
        }
        self.seen |= bit;
        Ok(Some(id))
    }

    /// The error for property `id` not belonging to this packet.
    pub(crate) fn unknown(&self, id: u8) -> DecodeError {
        DecodeError::UnknownProperty {
            packet_type: self.body.packet_type,
            id: id.into(),
        }
    }

    /// The error for property `id` having a value out of its range.
    pub(crate) fn invalid(&self, id: u8) -> DecodeError {
        DecodeError::InvalidPropertyValue {
            packet_type: self.body.packet_type,
            id,
        }
    }

    /// A Byte value.
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        self.body.u8()
    }

    /// A Byte that must be 0 or 1, as a bool.
    pub(crate) fn bool(&mut self, id: u8) -> Result<bool, DecodeError> {
        match self.body.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.invalid(id)),
        }
    }

    /// A Two Byte Integer.
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        self.body.u16()
    }

    /// A Four Byte Integer.
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        self.body.u32()
    }

    /// A Variable Byte Integer.
    pub(crate) fn vbi(&mut self) -> Result<u32, DecodeError> {
        self.body.vbi()
    }

    /// A UTF-8 Encoded String.
    pub(crate) fn string(&mut self) -> Result<MqttString, DecodeError> {
        self.body.string()
    }

    /// Binary Data.
    pub(crate) fn binary(&mut self) -> Result<Bytes, DecodeError> {
        self.body.binary()
    }

    /// A Payload Format Indicator (0 or 1), the value of property `id`.
    pub(crate) fn payload_format(&mut self, id: u8) -> Result<PayloadFormat, DecodeError> {
        match self.body.u8()? {
            0 => Ok(PayloadFormat::Unspecified),
            1 => Ok(PayloadFormat::Utf8),
            _ => Err(self.invalid(id)),
        }
    }

    /// A string that must be a topic name (a Response Topic: no
    /// wildcards), the value of property `id`.
    pub(crate) fn topic_name(&mut self, id: u8) -> Result<MqttString, DecodeError> {
        let topic = self.body.string()?;
        check_name(topic.as_str()).map_err(|_| self.invalid(id))?;
        Ok(topic)
    }

    /// A UTF-8 String Pair.
    pub(crate) fn user_property(&mut self) -> Result<UserProperty, DecodeError> {
        Ok(UserProperty {
            name: self.body.string()?,
            value: self.body.string()?,
        })
    }
}

/// Writes properties; each method writes the identifier, then the value.
pub(crate) struct Writer<'a> {
    buf: &'a mut BytesMut,
}

impl Writer<'_> {
    /// A Byte property.
    pub(crate) fn u8(&mut self, id: u8, v: u8) {
        self.buf.put_u8(id);
        self.buf.put_u8(v);
    }

    /// A Two Byte Integer property.
    pub(crate) fn u16(&mut self, id: u8, v: u16) {
        self.buf.put_u8(id);
        self.buf.put_u16(v);
    }

    /// A Four Byte Integer property.
    pub(crate) fn u32(&mut self, id: u8, v: u32) {
        self.buf.put_u8(id);
        self.buf.put_u32(v);
    }

    /// A Variable Byte Integer property.
    pub(crate) fn vbi(&mut self, id: u8, v: u32) {
        self.buf.put_u8(id);
        put_vbi(self.buf, v);
    }

    /// A UTF-8 Encoded String or Binary Data property.
    pub(crate) fn bytes(&mut self, id: u8, v: &[u8]) {
        self.buf.put_u8(id);
        put_prefixed(self.buf, v);
    }

    /// A User Property.
    pub(crate) fn user_property(&mut self, p: &UserProperty) {
        self.buf.put_u8(USER_PROPERTY);
        put_prefixed(self.buf, p.name.as_bytes());
        put_prefixed(self.buf, p.value.as_bytes());
    }
}

/// Wire sizes of one property of each value type, identifier included.
pub(crate) mod size {
    use super::{prefixed_len, vbi_len, UserProperty};

    /// A Byte property.
    pub(crate) const U8: usize = 2;
    /// A Two Byte Integer property.
    pub(crate) const U16: usize = 3;
    /// A Four Byte Integer property.
    pub(crate) const U32: usize = 5;

    /// A Variable Byte Integer property.
    pub(crate) const fn vbi(v: u32) -> usize {
        1 + vbi_len(v)
    }

    /// A UTF-8 Encoded String or Binary Data property.
    pub(crate) const fn bytes(len: usize) -> usize {
        1 + prefixed_len(len)
    }

    /// A User Property.
    pub(crate) fn user_property(p: &UserProperty) -> usize {
        1 + prefixed_len(p.name.len()) + prefixed_len(p.value.len())
    }
}

/// The property identifiers (the table of section 2.2.2.2).
pub(crate) const PAYLOAD_FORMAT_INDICATOR: u8 = 0x01;
pub(crate) const MESSAGE_EXPIRY_INTERVAL: u8 = 0x02;
pub(crate) const CONTENT_TYPE: u8 = 0x03;
pub(crate) const RESPONSE_TOPIC: u8 = 0x08;
pub(crate) const CORRELATION_DATA: u8 = 0x09;
pub(crate) const SUBSCRIPTION_IDENTIFIER: u8 = 0x0B;
pub(crate) const SESSION_EXPIRY_INTERVAL: u8 = 0x11;
pub(crate) const ASSIGNED_CLIENT_IDENTIFIER: u8 = 0x12;
pub(crate) const SERVER_KEEP_ALIVE: u8 = 0x13;
pub(crate) const AUTHENTICATION_METHOD: u8 = 0x15;
pub(crate) const AUTHENTICATION_DATA: u8 = 0x16;
pub(crate) const REQUEST_PROBLEM_INFORMATION: u8 = 0x17;
pub(crate) const WILL_DELAY_INTERVAL: u8 = 0x18;
pub(crate) const REQUEST_RESPONSE_INFORMATION: u8 = 0x19;
pub(crate) const RESPONSE_INFORMATION: u8 = 0x1A;
pub(crate) const SERVER_REFERENCE: u8 = 0x1C;
pub(crate) const REASON_STRING: u8 = 0x1F;
pub(crate) const RECEIVE_MAXIMUM: u8 = 0x21;
pub(crate) const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
pub(crate) const TOPIC_ALIAS: u8 = 0x23;
pub(crate) const MAXIMUM_QOS: u8 = 0x24;
pub(crate) const RETAIN_AVAILABLE: u8 = 0x25;
pub(crate) const USER_PROPERTY: u8 = 0x26;
pub(crate) const MAXIMUM_PACKET_SIZE: u8 = 0x27;
pub(crate) const WILDCARD_SUBSCRIPTION_AVAILABLE: u8 = 0x28;
pub(crate) const SUBSCRIPTION_IDENTIFIER_AVAILABLE: u8 = 0x29;
pub(crate) const SHARED_SUBSCRIPTION_AVAILABLE: u8 = 0x2A;

/// Appends `props` as a length-prefixed property block, as PUBLISH carries
/// it: the session store keeps a message's properties this way.
pub(crate) fn put_publish_properties(
    out: &mut alloc::vec::Vec<u8>,
    props: &super::PublishProperties,
) {
    let mut buf = BytesMut::with_capacity(block_len(props));
    put_block(&mut buf, props);
    out.extend_from_slice(&buf);
}

/// Reads a property block written by [`put_publish_properties`] off the
/// front of `bytes`, as strictly as from a PUBLISH; returns the properties
/// and what follows them.
pub(crate) fn read_publish_properties(
    bytes: Bytes,
) -> Result<(super::PublishProperties, Bytes), DecodeError> {
    let mut body = Body::new(bytes, PacketType::Publish);
    let props = read_block(&mut body)?;
    Ok((props, body.rest()))
}
