//! The fixed header (section 2.2): packet type, flags and remaining length.
//!
//! Everything that can be checked from the first two to five bytes is checked
//! here, before the body is buffered: a reserved type, wrong flags, an
//! over-long remaining length, a packet above the size limit, and the fixed
//! lengths of the acknowledgement packets.

use super::error::{DecodeError, EncodeError};
use super::QoS;
use bytes::{BufMut, BytesMut};

/// The largest remaining length four bytes can encode (section 2.2.3).
///
/// ```
/// use mqtt_proto::packet::{FixedHeader, MAX_REMAINING_LENGTH};
///
/// // 0xFF 0xFF 0xFF 0x7F: the largest four-byte remaining length.
/// let header = FixedHeader::parse(&[0x30, 0xFF, 0xFF, 0xFF, 0x7F], usize::MAX).unwrap().unwrap();
/// assert_eq!(header.remaining_len, MAX_REMAINING_LENGTH);
/// ```
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// The type of a control packet: the high nibble of the first byte.
///
/// ```
/// use mqtt_proto::packet::{Packet, PacketType};
///
/// assert_eq!(Packet::PingReq.packet_type(), PacketType::PingReq);
/// assert_eq!(PacketType::PingReq as u8, 12); // the high nibble of 0xC0
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// CONNECT (1).
    Connect = 1,
    /// CONNACK (2).
    ConnAck = 2,
    /// PUBLISH (3).
    Publish = 3,
    /// PUBACK (4).
    PubAck = 4,
    /// PUBREC (5).
    PubRec = 5,
    /// PUBREL (6).
    PubRel = 6,
    /// PUBCOMP (7).
    PubComp = 7,
    /// SUBSCRIBE (8).
    Subscribe = 8,
    /// SUBACK (9).
    SubAck = 9,
    /// UNSUBSCRIBE (10).
    Unsubscribe = 10,
    /// UNSUBACK (11).
    UnsubAck = 11,
    /// PINGREQ (12).
    PingReq = 12,
    /// PINGRESP (13).
    PingResp = 13,
    /// DISCONNECT (14).
    Disconnect = 14,
    /// AUTH (15): MQTT 5.0 only; reserved in 3.1.1.
    Auth = 15,
}

impl PacketType {
    /// The type for a first byte's high nibble; `None` for the reserved 0
    /// and 15.
    const fn from_nibble(v: u8) -> Option<PacketType> {
        Some(match v {
            1 => PacketType::Connect,
            2 => PacketType::ConnAck,
            3 => PacketType::Publish,
            4 => PacketType::PubAck,
            5 => PacketType::PubRec,
            6 => PacketType::PubRel,
            7 => PacketType::PubComp,
            8 => PacketType::Subscribe,
            9 => PacketType::SubAck,
            10 => PacketType::Unsubscribe,
            11 => PacketType::UnsubAck,
            12 => PacketType::PingReq,
            13 => PacketType::PingResp,
            14 => PacketType::Disconnect,
            _ => return None,
        })
    }

    /// [`PacketType::from_nibble`] for MQTT 5.0, where 15 is AUTH.
    const fn from_nibble_v5(v: u8) -> Option<PacketType> {
        if v == 15 {
            Some(PacketType::Auth)
        } else {
            PacketType::from_nibble(v)
        }
    }

    /// Whether an MQTT 5.0 packet of this type may have `len` bytes after
    /// its fixed header, judged from the shortest form of each type.
    const fn remaining_length_ok_v5(self, len: usize) -> bool {
        match self {
            PacketType::PingReq | PacketType::PingResp => len == 0,
            PacketType::ConnAck | PacketType::UnsubAck => len >= 3,
            PacketType::PubAck | PacketType::PubRec | PacketType::PubRel | PacketType::PubComp => {
                len >= 2
            }
            _ => true,
        }
    }

    /// The flags this type must carry, or `None` for PUBLISH whose flags are
    /// DUP, QoS and RETAIN (the table of section 2.2.2) [MQTT-2.2.2-1].
    ///
    /// ```
    /// use mqtt_proto::packet::PacketType;
    ///
    /// assert_eq!(PacketType::Subscribe.required_flags(), Some(0b0010));
    /// assert_eq!(PacketType::PubAck.required_flags(), Some(0));
    /// assert_eq!(PacketType::Publish.required_flags(), None); // DUP, QoS, RETAIN
    /// ```
    pub const fn required_flags(self) -> Option<u8> {
        match self {
            PacketType::Publish => None,
            PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => Some(0b0010),
            _ => Some(0),
        }
    }

    /// The remaining length the spec fixes for this type, if it does.
    const fn fixed_remaining_length(self) -> Option<usize> {
        match self {
            PacketType::ConnAck
            | PacketType::PubAck
            | PacketType::PubRec
            | PacketType::PubRel
            | PacketType::PubComp
            | PacketType::UnsubAck => Some(2),
            PacketType::PingReq | PacketType::PingResp | PacketType::Disconnect => Some(0),
            _ => None,
        }
    }
}

/// A parsed fixed header.
///
/// ```
/// use mqtt_proto::packet::{FixedHeader, PacketType};
///
/// // A QoS 1 PUBLISH (flags 0b0010) with 200 bytes after its header.
/// let header = FixedHeader::parse(&[0x32, 0xC8, 0x01], 1024).unwrap().unwrap();
/// assert_eq!(
///     header,
///     FixedHeader { packet_type: PacketType::Publish, flags: 0b0010, header_len: 3, remaining_len: 200 }
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedHeader {
    /// The packet type.
    pub packet_type: PacketType,
    /// The low nibble of the first byte, already checked for this type.
    pub flags: u8,
    /// How many bytes the fixed header takes (2 to 5).
    pub header_len: usize,
    /// The remaining length: the bytes after the fixed header.
    pub remaining_len: usize,
}

impl FixedHeader {
    /// The whole packet's length: fixed header plus remaining length.
    ///
    /// ```
    /// use mqtt_proto::packet::FixedHeader;
    ///
    /// let header = FixedHeader::parse(&[0x30, 0x0A], 1024).unwrap().unwrap();
    /// assert_eq!(header.packet_len(), 12); // 2 header bytes, 10 more
    /// ```
    pub const fn packet_len(&self) -> usize {
        self.header_len + self.remaining_len
    }

    /// Parses a fixed header from the start of `bytes`.
    ///
    /// Returns `Ok(None)` when more bytes are needed to know the header. A
    /// packet larger than `max_packet_size` is an error at this point, so a
    /// caller never needs to buffer it.
    ///
    /// ```
    /// use mqtt_proto::packet::{DecodeError, FixedHeader};
    ///
    /// assert_eq!(FixedHeader::parse(&[0x30, 0x80], 1024), Ok(None)); // length continues
    /// assert_eq!(
    ///     FixedHeader::parse(&[0x30, 0x80, 0x08], 1024), // 1024 bytes follow
    ///     Err(DecodeError::PacketTooLarge { size: 1027, max: 1024 })
    /// );
    /// ```
    pub fn parse(bytes: &[u8], max_packet_size: usize) -> Result<Option<FixedHeader>, DecodeError> {
        FixedHeader::parse_for(bytes, max_packet_size, false)
    }

    /// `parse` for 3.1.1 (`v5` false) or 5.0 (`v5` true): the two differ
    /// only in type 15 and in which remaining lengths are allowed.
    fn parse_for(
        bytes: &[u8],
        max_packet_size: usize,
        v5: bool,
    ) -> Result<Option<FixedHeader>, DecodeError> {
        let Some(&first) = bytes.first() else {
            return Ok(None);
        };
        let nibble = first >> 4;
        let packet_type = if v5 {
            PacketType::from_nibble_v5(nibble)
        } else {
            PacketType::from_nibble(nibble)
        }
        .ok_or(DecodeError::ReservedPacketType(nibble))?;
        let flags = first & 0x0F;
        match packet_type.required_flags() {
            Some(required) if flags != required => {
                return Err(DecodeError::InvalidFlags { packet_type, flags })
            }
            Some(_) => {}
            None => {
                let qos = QoS::from_u8((flags >> 1) & 0b11).ok_or(DecodeError::InvalidQoS)?;
                if qos == QoS::AtMostOnce && flags & 0b1000 != 0 {
                    return Err(DecodeError::DupWithQoS0);
                }
            }
        }

        let mut remaining_len = 0usize;
        let mut header_len = 0usize;
        // Most packets are under 128 bytes: one length byte.
        if let Some(&byte) = bytes.get(1) {
            if byte & 0x80 == 0 {
                remaining_len = usize::from(byte);
                header_len = 2;
            }
        }
        for i in 0..4 {
            if header_len != 0 {
                break;
            }
            let Some(&byte) = bytes.get(1 + i) else {
                return Ok(None);
            };
            remaining_len |= usize::from(byte & 0x7F) << (7 * i);
            if byte & 0x80 == 0 {
                header_len = 2 + i;
                break;
            }
        }
        if header_len == 0 {
            return Err(DecodeError::RemainingLengthTooLong);
        }

        let length_ok = if v5 {
            packet_type.remaining_length_ok_v5(remaining_len)
        } else {
            match packet_type.fixed_remaining_length() {
                Some(fixed) => remaining_len == fixed,
                None => true,
            }
        };
        if !length_ok {
            return Err(DecodeError::InvalidRemainingLength {
                packet_type,
                len: remaining_len,
            });
        }
        let size = header_len + remaining_len;
        if size > max_packet_size {
            return Err(DecodeError::PacketTooLarge {
                size,
                max: max_packet_size,
            });
        }
        Ok(Some(FixedHeader {
            packet_type,
            flags,
            header_len,
            remaining_len,
        }))
    }
}

impl FixedHeader {
    /// Parses an MQTT 5.0 fixed header, with the contract of
    /// [`FixedHeader::parse`]. Type 15 is AUTH (5.0 section 2.1.2), and the
    /// acknowledgements and DISCONNECT, whose lengths 3.1.1 fixes, carry a
    /// reason code and properties in 5.0, so only their shortest forms are
    /// checked here: CONNACK at least 3 bytes (flags, reason code, property
    /// length; 5.0 section 3.2.2), PUBACK to PUBCOMP at least 2 (the packet
    /// identifier; 5.0 section 3.4.2.1), UNSUBACK at least 3 (packet
    /// identifier and property length; 5.0 section 3.11.2), DISCONNECT
    /// and AUTH anything (5.0 sections 3.14.2.1, 3.15.2.1). PINGREQ and
    /// PINGRESP stay empty.
    #[inline]
    pub(crate) fn parse_v5(
        bytes: &[u8],
        max_packet_size: usize,
    ) -> Result<Option<FixedHeader>, DecodeError> {
        // The common case inline, as in `parse_inline`: a valid first byte
        // and a one-byte remaining length.
        if let [first, len @ 0..=0x7F, ..] = *bytes {
            let packet_type = if first == 0xF0 {
                Some(PacketType::Auth)
            } else {
                FIRST_BYTE[usize::from(first)]
            };
            if let Some(packet_type) = packet_type {
                let remaining_len = usize::from(len);
                if packet_type.remaining_length_ok_v5(remaining_len)
                    && 2 + remaining_len <= max_packet_size
                {
                    return Ok(Some(FixedHeader {
                        packet_type,
                        flags: first & 0x0F,
                        header_len: 2,
                        remaining_len,
                    }));
                }
            }
        }
        FixedHeader::parse_for(bytes, max_packet_size, true)
    }

    /// [`FixedHeader::parse`] with its common case inlined: a valid first
    /// byte and a one-byte remaining length, which is every packet under 130
    /// bytes. Anything else, errors included, goes to `parse`.
    #[inline]
    pub(crate) fn parse_inline(
        bytes: &[u8],
        max_packet_size: usize,
    ) -> Result<Option<FixedHeader>, DecodeError> {
        if let [first, len @ 0..=0x7F, ..] = *bytes {
            if let Some(packet_type) = FIRST_BYTE[usize::from(first)] {
                let remaining_len = usize::from(len);
                let length_ok = match packet_type.fixed_remaining_length() {
                    Some(fixed) => remaining_len == fixed,
                    None => true,
                };
                if length_ok && 2 + remaining_len <= max_packet_size {
                    return Ok(Some(FixedHeader {
                        packet_type,
                        flags: first & 0x0F,
                        header_len: 2,
                        remaining_len,
                    }));
                }
            }
        }
        FixedHeader::parse(bytes, max_packet_size)
    }
}

/// The packet type of every first byte whose type and flags `parse` accepts;
/// `None` for the others.
const FIRST_BYTE: [Option<PacketType>; 256] = {
    let mut table = [None; 256];
    let mut byte = 0;
    while byte < 256 {
        let flags = byte as u8 & 0x0F;
        if let Some(packet_type) = PacketType::from_nibble(byte as u8 >> 4) {
            let ok = match packet_type.required_flags() {
                Some(required) => flags == required,
                // PUBLISH: QoS 3 and DUP on QoS 0 are refused.
                None => {
                    let qos = (flags >> 1) & 0b11;
                    qos != 3 && !(qos == 0 && flags & 0b1000 != 0)
                }
            };
            if ok {
                table[byte] = Some(packet_type);
            }
        }
        byte += 1;
    }
    table
};

/// How many bytes the remaining-length field takes for `len`.
pub(crate) const fn remaining_length_len(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// The fixed header for `first` and `remaining_len`, with the minimal
/// remaining-length encoding: the bytes and how many of them are used.
#[inline]
pub(crate) fn fixed_header(
    first: u8,
    remaining_len: usize,
) -> Result<([u8; 5], usize), EncodeError> {
    // Most packets are under 128 bytes: one length byte, no loop.
    if remaining_len < 0x80 {
        return Ok(([first, remaining_len as u8, 0, 0, 0], 2));
    }
    if remaining_len > MAX_REMAINING_LENGTH {
        return Err(EncodeError::PacketTooLarge { remaining_len });
    }
    let mut header = [first, 0, 0, 0, 0];
    let mut used = 1;
    let mut rest = remaining_len;
    // At most four rounds: `rest` is below 2^28.
    while let Some(slot) = header.get_mut(used) {
        // Truncation is the point: the low seven bits of what is left.
        let mut byte = (rest & 0x7F) as u8;
        rest >>= 7;
        if rest > 0 {
            byte |= 0x80;
        }
        *slot = byte;
        used += 1;
        if rest == 0 {
            break;
        }
    }
    Ok((header, used))
}

/// Reserves room for the whole packet and writes its fixed header.
#[inline]
pub(crate) fn write_fixed_header(
    buf: &mut BytesMut,
    first: u8,
    remaining_len: usize,
) -> Result<(), EncodeError> {
    let (header, used) = fixed_header(first, remaining_len)?;
    buf.reserve(used + remaining_len);
    buf.put_slice(&header[..used]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_parse_agrees_with_parse() {
        // Every first byte with every one-byte length (and a continuation
        // byte after it), under limits around the packet's size.
        for first in 0..=255u8 {
            for second in 0..=255u8 {
                let bytes = [first, second, 0x01];
                for max in [0, 2, 3, 4, 100, 129, 130, usize::MAX] {
                    for len in 0..=bytes.len() {
                        assert_eq!(
                            FixedHeader::parse_inline(&bytes[..len], max),
                            FixedHeader::parse(&bytes[..len], max),
                            "{:02x?} max {max}",
                            &bytes[..len]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn v5_inline_parse_agrees_with_the_loop() {
        for first in 0..=255u8 {
            for second in 0..=255u8 {
                let bytes = [first, second, 0x01];
                for max in [0, 2, 3, 4, 100, 129, 130, usize::MAX] {
                    for len in 0..=bytes.len() {
                        assert_eq!(
                            FixedHeader::parse_v5(&bytes[..len], max),
                            FixedHeader::parse_for(&bytes[..len], max, true),
                            "{:02x?} max {max}",
                            &bytes[..len]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn v5_lengths() {
        let parse = |b: &[u8]| FixedHeader::parse_v5(b, usize::MAX);
        // AUTH exists in 5.0, with flags 0 and any length.
        assert_eq!(
            parse(&[0xF0, 0x00]).unwrap().unwrap().packet_type,
            PacketType::Auth
        );
        assert!(matches!(
            parse(&[0xF1, 0x00]),
            Err(DecodeError::InvalidFlags { .. })
        ));
        assert_eq!(
            FixedHeader::parse(&[0xF0, 0x00], usize::MAX),
            Err(DecodeError::ReservedPacketType(15))
        );
        assert_eq!(
            parse(&[0x00, 0x00]),
            Err(DecodeError::ReservedPacketType(0))
        );
        // DISCONNECT: 0 and longer.
        assert!(parse(&[0xE0, 0x00]).unwrap().is_some());
        assert!(parse(&[0xE0, 0x05]).unwrap().is_some());
        // PUBACK: at least the packet identifier.
        assert!(parse(&[0x40, 0x02]).unwrap().is_some());
        assert!(parse(&[0x40, 0x04]).unwrap().is_some());
        assert!(matches!(
            parse(&[0x40, 0x01]),
            Err(DecodeError::InvalidRemainingLength { .. })
        ));
        // CONNACK: flags, reason code, property length.
        assert!(parse(&[0x20, 0x03]).unwrap().is_some());
        assert!(matches!(
            parse(&[0x20, 0x02]),
            Err(DecodeError::InvalidRemainingLength { .. })
        ));
        // PINGREQ stays empty.
        assert!(matches!(
            parse(&[0xC0, 0x01]),
            Err(DecodeError::InvalidRemainingLength { .. })
        ));
        // A long form goes the slow way and still checks the limit.
        assert_eq!(
            FixedHeader::parse_v5(&[0xE0, 0x80, 0x01], 100),
            Err(DecodeError::PacketTooLarge {
                size: 131,
                max: 100
            })
        );
    }

    #[test]
    fn short_lengths_encode_as_the_loop_does() {
        for len in (0..=300).chain([16_383, 16_384, MAX_REMAINING_LENGTH]) {
            let (header, used) = fixed_header(0x30, len).unwrap();
            let back = FixedHeader::parse(&header[..used], usize::MAX)
                .unwrap()
                .unwrap();
            assert_eq!((back.remaining_len, back.header_len), (len, used));
            assert_eq!(used, 1 + remaining_length_len(len));
        }
    }
}
