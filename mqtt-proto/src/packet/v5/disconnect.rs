//! DISCONNECT (section 3.14) and AUTH (section 3.15) of MQTT 5.0: a reason
//! code and properties, where a remaining length of 0 means reason Success
//! and no properties.

use crate::packet::fixed_header::write_fixed_header;
use crate::packet::wire::Body;
use crate::packet::{DecodeError, EncodeError, PacketType};
use bytes::{BufMut, BytesMut};

use super::properties::{AuthProperties, DisconnectProperties};
use super::property::{block_len, put_block, read_block, PropertySet};
use super::ReasonCode;

/// DISCONNECT of MQTT 5.0 (section 3.14); either side may send it, with a
/// reason.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{decode, Disconnect, DisconnectProperties, Packet, ReasonCode};
/// use mqtt_proto::MqttString;
///
/// let moved = Disconnect {
///     reason_code: ReasonCode::ServerMoved,
///     properties: DisconnectProperties {
///         server_reference: Some(MqttString::try_from("other.example").unwrap()),
///         ..DisconnectProperties::default()
///     },
/// };
/// let mut wire = BytesMut::new();
/// moved.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Disconnect(moved))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Disconnect {
    /// The Disconnect Reason Code.
    pub reason_code: ReasonCode,
    /// Properties.
    pub properties: DisconnectProperties,
}

/// AUTH of MQTT 5.0 (section 3.15): one step of enhanced authentication.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use mqtt_proto::packet::v5::{decode, Auth, AuthProperties, Packet, ReasonCode};
/// use mqtt_proto::MqttString;
///
/// let reauth = Auth {
///     reason_code: ReasonCode::ReAuthenticate,
///     properties: AuthProperties {
///         authentication_method: Some(MqttString::try_from("SCRAM-SHA-1").unwrap()),
///         authentication_data: Some(Bytes::from_static(b"client-first")),
///         ..AuthProperties::default()
///     },
/// };
/// let mut wire = BytesMut::new();
/// reauth.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Auth(reauth))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Auth {
    /// Success (0x00), Continue Authentication (0x18) or Re-authenticate
    /// (0x19).
    pub reason_code: ReasonCode,
    /// Properties; the method must be present when the reason is not
    /// Success with no properties.
    pub properties: AuthProperties,
}

/// The variable header both packets share: a reason code and properties,
/// omitted when the reason is Success and there is no property. DISCONNECT
/// may also stop after the reason code (5.0 section 3.14.2.2.1).
/// `explicit_length` is whether a non-Success reason without properties
/// keeps its zero property length: the standard names no one-byte form of
/// AUTH (5.0 section 3.15.2.1), so AUTH writes the length.
fn encode_body<P: PropertySet>(
    buf: &mut BytesMut,
    packet_type: PacketType,
    reason_code: ReasonCode,
    properties: &P,
    explicit_length: bool,
) -> Result<(), EncodeError> {
    if !reason_code.allowed_in(packet_type) {
        return Err(EncodeError::InvalidValue);
    }
    let first = (packet_type as u8) << 4;
    let no_properties = properties.len() == 0;
    if no_properties && reason_code == ReasonCode::Success {
        return write_fixed_header(buf, first, 0);
    }
    if no_properties && !explicit_length {
        write_fixed_header(buf, first, 1)?;
        buf.put_u8(reason_code as u8);
        return Ok(());
    }
    write_fixed_header(buf, first, 1 + block_len(properties))?;
    buf.put_u8(reason_code as u8);
    put_block(buf, properties);
    Ok(())
}

/// Reads the variable header both packets share: nothing (Success, no
/// properties), a reason code alone, or a reason code and properties.
fn decode_body<P: PropertySet>(mut body: Body) -> Result<(ReasonCode, P), DecodeError> {
    if body.is_empty() {
        return Ok((ReasonCode::Success, P::default()));
    }
    let packet_type = body.packet_type;
    let reason_code = ReasonCode::decode(body.u8()?, packet_type)?;
    if body.is_empty() {
        return Ok((reason_code, P::default()));
    }
    let properties = read_block(&mut body)?;
    body.finish()?;
    Ok((reason_code, properties))
}

impl Disconnect {
    /// Appends the encoded packet to `buf`, in its shortest form: nothing
    /// after the fixed header for Success without properties, the reason
    /// code alone when there is no property. On error nothing was appended.
    ///
    /// Fails with [`EncodeError::InvalidValue`] for a reason code
    /// DISCONNECT may not carry [5.0 MQTT-3.14.2-1].
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::v5::{decode, Disconnect, DisconnectProperties, Packet, ReasonCode};
    ///
    /// let normal = Disconnect {
    ///     reason_code: ReasonCode::Success,
    ///     properties: DisconnectProperties::default(),
    /// };
    /// let mut wire = BytesMut::new();
    /// normal.encode(&mut wire).unwrap();
    /// assert_eq!(&wire[..], &[0xE0, 0x00]);
    /// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Disconnect(normal))));
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        encode_body(
            buf,
            PacketType::Disconnect,
            self.reason_code,
            &self.properties,
            false,
        )
    }

    pub(crate) fn decode(body: Body) -> Result<Self, DecodeError> {
        let (reason_code, properties) = decode_body(body)?;
        Ok(Disconnect {
            reason_code,
            properties,
        })
    }
}

impl Auth {
    /// Appends the encoded packet to `buf`: nothing after the fixed header
    /// for Success without properties, else the reason code and the
    /// property block. On error nothing was appended.
    ///
    /// Fails with [`EncodeError::InvalidValue`] for a reason code other
    /// than Success, Continue Authentication and Re-authenticate
    /// [5.0 MQTT-3.15.2-1], or Authentication Data without a method; with
    /// [`EncodeError::FieldTooLong`] for Authentication Data over 65,535
    /// bytes.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::v5::{decode, Auth, AuthProperties, Packet, ReasonCode};
    /// use mqtt_proto::MqttString;
    ///
    /// let step = Auth {
    ///     reason_code: ReasonCode::ContinueAuthentication,
    ///     properties: AuthProperties {
    ///         authentication_method: Some(MqttString::try_from("K").unwrap()),
    ///         ..AuthProperties::default()
    ///     },
    /// };
    /// let mut wire = BytesMut::new();
    /// step.encode(&mut wire).unwrap();
    /// assert_eq!(&wire[..], &[0xF0, 0x06, 0x18, 0x04, 0x15, 0x00, 0x01, b'K']);
    /// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Auth(step))));
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        self.properties.check()?;
        encode_body(
            buf,
            PacketType::Auth,
            self.reason_code,
            &self.properties,
            true,
        )
    }

    pub(crate) fn decode(body: Body) -> Result<Self, DecodeError> {
        let (reason_code, properties) = decode_body(body)?;
        Ok(Auth {
            reason_code,
            properties,
        })
    }
}
