//! PUBACK, PUBREC, PUBREL and PUBCOMP of MQTT 5.0 (sections 3.4 to 3.7):
//! a packet identifier, a reason code and properties, where a remaining
//! length of 2 means reason Success and no properties, and 3 means no
//! properties (section 3.4.2.1).

use crate::packet::fixed_header::write_fixed_header;
use crate::packet::wire::Body;
use crate::packet::{DecodeError, EncodeError, PacketType};
use bytes::{BufMut, BytesMut};

use super::properties::AckProperties;
use super::property::{block_len, put_block, read_block};
use super::ReasonCode;
use crate::packet::PacketId;

/// The body of PUBACK, PUBREC, PUBREL and PUBCOMP; [`super::Packet`] says
/// which of the four it is.
///
/// A successful response without properties is four bytes on the wire; a
/// reason code or properties make it longer.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{decode, AckProperties, Packet, PubResponse, ReasonCode};
/// use mqtt_proto::{MqttString, PacketId};
///
/// let refused = PubResponse {
///     pid: PacketId::new(7).unwrap(),
///     reason_code: ReasonCode::QuotaExceeded,
///     properties: AckProperties {
///         reason_string: Some(MqttString::try_from("full").unwrap()),
///         ..AckProperties::default()
///     },
/// };
/// let mut wire = BytesMut::new();
/// Packet::PubAck(refused.clone()).encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::PubAck(refused))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PubResponse {
    /// The identifier of the exchange.
    pub pid: PacketId,
    /// The reason code.
    pub reason_code: ReasonCode,
    /// Properties.
    pub properties: AckProperties,
}

impl PubResponse {
    /// A successful response for `pid`, without properties: the four-byte
    /// form.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::v5::{PubResponse, ReasonCode};
    /// use mqtt_proto::packet::PacketType;
    /// use mqtt_proto::PacketId;
    ///
    /// let ack = PubResponse::success(PacketId::new(1).unwrap());
    /// assert_eq!(ack.reason_code, ReasonCode::Success);
    /// let mut buf = BytesMut::new();
    /// ack.encode(PacketType::PubAck, &mut buf).unwrap();
    /// assert_eq!(&buf[..], &[0x40, 0x02, 0x00, 0x01]);
    /// ```
    pub fn success(pid: PacketId) -> PubResponse {
        PubResponse {
            pid,
            reason_code: ReasonCode::Success,
            properties: AckProperties::default(),
        }
    }
}

impl PubResponse {
    /// Appends the encoded packet of type `packet_type` (PUBACK, PUBREC,
    /// PUBREL or PUBCOMP) to `buf`, in its shortest form: two bytes after
    /// the fixed header for Success without properties, three for another
    /// reason without properties (5.0 section 3.4.2.1). PUBREL carries
    /// fixed-header flags 0010 [5.0 MQTT-3.6.1-1].
    ///
    /// Fails with [`EncodeError::InvalidValue`] for another packet type or
    /// a reason code the type may not carry ([5.0 MQTT-3.4.2-1],
    /// [5.0 MQTT-3.5.2-1], [5.0 MQTT-3.6.2-1], [5.0 MQTT-3.7.2-1]). On error
    /// nothing was appended.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::v5::{AckProperties, PubResponse, ReasonCode};
    /// use mqtt_proto::packet::{EncodeError, PacketType};
    /// use mqtt_proto::PacketId;
    ///
    /// let not_found = PubResponse {
    ///     pid: PacketId::new(2).unwrap(),
    ///     reason_code: ReasonCode::PacketIdentifierNotFound,
    ///     properties: AckProperties::default(),
    /// };
    /// let mut buf = BytesMut::new();
    /// not_found.encode(PacketType::PubRel, &mut buf).unwrap();
    /// assert_eq!(&buf[..], &[0x62, 0x03, 0x00, 0x02, 0x92]);
    ///
    /// // PUBACK cannot say "packet identifier not found".
    /// let mut buf = BytesMut::new();
    /// assert_eq!(not_found.encode(PacketType::PubAck, &mut buf), Err(EncodeError::InvalidValue));
    /// assert!(buf.is_empty());
    /// ```
    pub fn encode(&self, packet_type: PacketType, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let flags = match packet_type {
            PacketType::PubAck | PacketType::PubRec | PacketType::PubComp => 0,
            PacketType::PubRel => 0b0010,
            _ => return Err(EncodeError::InvalidValue),
        };
        let no_properties =
            self.properties.reason_string.is_none() && self.properties.user_properties.is_empty();
        // The form nearly every ack takes: Success, nothing else, 4 bytes.
        if no_properties && self.reason_code == ReasonCode::Success {
            write_fixed_header(buf, (packet_type as u8) << 4 | flags, 2)?;
            buf.put_u16(self.pid.get());
            return Ok(());
        }
        if !self.reason_code.allowed_in(packet_type) {
            return Err(EncodeError::InvalidValue);
        }
        let remaining = if no_properties {
            if self.reason_code == ReasonCode::Success {
                2
            } else {
                3
            }
        } else {
            3 + block_len(&self.properties)
        };
        write_fixed_header(buf, (packet_type as u8) << 4 | flags, remaining)?;
        buf.put_u16(self.pid.get());
        if remaining > 2 {
            buf.put_u8(self.reason_code as u8);
        }
        if !no_properties {
            put_block(buf, &self.properties);
        }
        Ok(())
    }

    pub(crate) fn decode(mut body: Body) -> Result<Self, DecodeError> {
        let pid = body.packet_id()?;
        // Remaining length 2: Success and no properties; 3: no property
        // length, which then counts as 0 (5.0 sections 3.4.2.1, 3.4.2.2.1).
        let reason_code = if body.is_empty() {
            ReasonCode::Success
        } else {
            ReasonCode::decode(body.u8()?, body.packet_type)?
        };
        let properties = if body.is_empty() {
            AckProperties::default()
        } else {
            read_block(&mut body)?
        };
        body.finish()?;
        Ok(PubResponse {
            pid,
            reason_code,
            properties,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn decode(packet_type: PacketType, body: &[u8]) -> Result<PubResponse, DecodeError> {
        PubResponse::decode(Body::new(Bytes::copy_from_slice(body), packet_type))
    }

    #[test]
    fn short_forms_round_trip() {
        let pid = PacketId::new(5).unwrap();
        for packet_type in [
            PacketType::PubAck,
            PacketType::PubRec,
            PacketType::PubRel,
            PacketType::PubComp,
        ] {
            let mut buf = BytesMut::new();
            PubResponse::success(pid)
                .encode(packet_type, &mut buf)
                .unwrap();
            assert_eq!(buf.len(), 4);
            assert_eq!(
                decode(packet_type, &buf[2..]),
                Ok(PubResponse::success(pid))
            );
        }
    }

    #[test]
    fn every_byte_is_checked_against_the_table() {
        for packet_type in [
            PacketType::PubAck,
            PacketType::PubRec,
            PacketType::PubRel,
            PacketType::PubComp,
        ] {
            for byte in 0..=255u8 {
                let got = decode(packet_type, &[0, 1, byte]);
                match ReasonCode::from_u8(byte) {
                    Some(code) if code.allowed_in(packet_type) => {
                        assert_eq!(got.map(|r| r.reason_code as u8), Ok(byte));
                    }
                    _ => assert_eq!(
                        got,
                        Err(DecodeError::InvalidReasonCode {
                            packet_type,
                            code: byte
                        })
                    ),
                }
            }
        }
    }
}
