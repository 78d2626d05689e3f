//! Field readers and writers shared by the packet modules: big-endian
//! integers, packet identifiers and length-prefixed strings and binary data
//! (section 1.5). Readers never panic: a field that runs past the end of the
//! packet is `DecodeError::UnexpectedEnd`.

use super::error::{DecodeError, EncodeError};
use super::{PacketId, PacketType};
use crate::string::MqttString;
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// A cursor over one packet's body, which knows the packet type for errors.
pub(crate) struct Body {
    pub(crate) bytes: Bytes,
    pub(crate) packet_type: PacketType,
}

impl Body {
    #[inline]
    pub(crate) fn new(bytes: Bytes, packet_type: PacketType) -> Self {
        Body { bytes, packet_type }
    }

    #[inline]
    fn end(&self) -> DecodeError {
        DecodeError::UnexpectedEnd {
            packet_type: self.packet_type,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        if self.bytes.is_empty() {
            return Err(self.end());
        }
        Ok(self.bytes.get_u8())
    }

    #[inline]
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        if self.bytes.len() < 2 {
            return Err(self.end());
        }
        Ok(self.bytes.get_u16())
    }

    #[inline]
    pub(crate) fn packet_id(&mut self) -> Result<PacketId, DecodeError> {
        PacketId::new(self.u16()?).ok_or(DecodeError::ZeroPacketId)
    }

    /// Length-prefixed bytes, sliced from the body without copying.
    #[inline]
    pub(crate) fn binary(&mut self) -> Result<Bytes, DecodeError> {
        let len = usize::from(self.u16()?);
        if self.bytes.len() < len {
            return Err(self.end());
        }
        Ok(self.bytes.split_to(len))
    }

    /// A length-prefixed MQTT UTF-8 string, sliced without copying.
    pub(crate) fn string(&mut self) -> Result<MqttString, DecodeError> {
        MqttString::from_bytes(self.binary()?).map_err(DecodeError::from_string)
    }

    /// Everything left in the body.
    #[inline]
    pub(crate) fn rest(self) -> Bytes {
        self.bytes
    }

    /// Fails unless every byte of the body was read.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                packet_type: self.packet_type,
                len: self.bytes.len(),
            })
        }
    }
}

/// Bytes a length-prefixed field of `len` bytes takes on the wire.
pub(crate) const fn prefixed_len(len: usize) -> usize {
    2 + len
}

/// Writes a length-prefixed field. Callers pass strings whose type bounds
/// them to 65,535 bytes, or binary data checked by `check_binary_len`.
pub(crate) fn put_prefixed(buf: &mut BytesMut, bytes: &[u8]) {
    debug_assert!(bytes.len() <= usize::from(u16::MAX));
    // Truncation cannot happen: see above.
    buf.put_u16(bytes.len() as u16);
    buf.put_slice(bytes);
}

/// Binary fields (will message, password) have a two-byte length prefix.
pub(crate) fn check_binary_len(bytes: &[u8]) -> Result<(), EncodeError> {
    if bytes.len() > usize::from(u16::MAX) {
        Err(EncodeError::FieldTooLong { len: bytes.len() })
    } else {
        Ok(())
    }
}
