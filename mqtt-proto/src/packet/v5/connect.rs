//! CONNECT (section 3.1) and CONNACK (section 3.2) of MQTT 5.0.

use crate::packet::fixed_header::write_fixed_header;
use crate::packet::wire::{check_binary_len, prefixed_len, put_prefixed, Body};
use crate::packet::{DecodeError, EncodeError, PacketType};
use bytes::{BufMut, BytesMut};

use super::properties::{ConnAckProperties, ConnectProperties, WillProperties};
use super::property::{block_len, put_block, read_block};
use super::ReasonCode;
use crate::packet::QoS;
use crate::string::MqttString;
use crate::topic::TopicName;
use bytes::Bytes;

/// The will of a 5.0 CONNECT: a message with its own properties, which the
/// server publishes when the connection ends without a normal DISCONNECT
/// (5.0 sections 3.1.2.5 and 3.1.3.2).
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use mqtt_proto::packet::v5::{decode, Connect, ConnectProperties, Packet, Will, WillProperties};
/// use mqtt_proto::{MqttString, QoS, TopicName};
///
/// let will = Will {
///     topic: TopicName::try_from("devices/7/status").unwrap(),
///     payload: Bytes::from_static(b"offline"),
///     qos: QoS::AtLeastOnce,
///     retain: true,
///     properties: WillProperties { will_delay_interval: Some(30), ..WillProperties::default() },
/// };
/// let connect = Connect {
///     clean_start: false,
///     keep_alive: 30,
///     properties: ConnectProperties::default(),
///     client_id: MqttString::try_from("device-7").unwrap(),
///     will: Some(will),
///     username: None,
///     password: None,
/// };
/// let mut wire = BytesMut::new();
/// connect.encode(&mut wire).unwrap();
/// let Some(Packet::Connect(back)) = decode(&mut wire, 1024).unwrap() else { panic!() };
/// assert_eq!(back.will.unwrap().properties.will_delay_interval, Some(30));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Will {
    /// Will topic.
    pub topic: TopicName,
    /// Will payload.
    pub payload: Bytes,
    /// Will QoS.
    pub qos: QoS,
    /// Will retain.
    pub retain: bool,
    /// Will properties.
    pub properties: WillProperties,
}

/// CONNECT of MQTT 5.0 (protocol name "MQTT", level 5; section 3.1). The
/// password is never printed by `Debug`.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use mqtt_proto::packet::v5::{decode, Connect, ConnectProperties, Packet};
/// use mqtt_proto::MqttString;
///
/// let connect = Connect {
///     clean_start: true,
///     keep_alive: 60,
///     properties: ConnectProperties { session_expiry_interval: Some(3600), ..Default::default() },
///     client_id: MqttString::try_from("c").unwrap(),
///     will: None,
///     username: None,
///     password: Some(Bytes::from_static(b"token")), // 5.0: no user name needed
/// };
/// assert!(!format!("{connect:?}").contains("token"));
/// let mut wire = BytesMut::new();
/// connect.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Connect(Box::new(connect)))));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Connect {
    /// Clean Start (section 3.1.2.4): discard any existing session.
    pub clean_start: bool,
    /// Keep Alive in seconds, 0 for none.
    pub keep_alive: u16,
    /// Properties.
    pub properties: ConnectProperties,
    /// Client identifier; may be empty, and the server then assigns one.
    pub client_id: MqttString,
    /// The will, if any.
    pub will: Option<Will>,
    /// User Name. In 5.0 a password may come without one.
    pub username: Option<MqttString>,
    /// Password.
    pub password: Option<Bytes>,
}

impl core::fmt::Debug for Connect {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print a password.
        f.debug_struct("Connect")
            .field("clean_start", &self.clean_start)
            .field("keep_alive", &self.keep_alive)
            .field("properties", &self.properties)
            .field("client_id", &self.client_id)
            .field("will", &self.will)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// CONNACK of MQTT 5.0 (section 3.2): the server's answer to CONNECT,
/// with the limits it sets in its properties.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{decode, ConnAck, ConnAckProperties, Packet, ReasonCode};
/// use mqtt_proto::QoS;
///
/// let ack = ConnAck {
///     session_present: false,
///     reason_code: ReasonCode::Success,
///     properties: ConnAckProperties {
///         maximum_qos: Some(QoS::AtLeastOnce),
///         receive_maximum: Some(10),
///         ..ConnAckProperties::default()
///     },
/// };
/// let mut wire = BytesMut::new();
/// ack.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::ConnAck(Box::new(ack)))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnAck {
    /// Session Present (section 3.2.2.1.1).
    pub session_present: bool,
    /// Connect Reason Code (section 3.2.2.2).
    pub reason_code: ReasonCode,
    /// Properties.
    pub properties: ConnAckProperties,
}

const FLAG_USERNAME: u8 = 0x80;
const FLAG_PASSWORD: u8 = 0x40;
const FLAG_WILL_RETAIN: u8 = 0x20;
const FLAG_WILL: u8 = 0x04;
const FLAG_CLEAN_START: u8 = 0x02;
const FLAG_RESERVED: u8 = 0x01;

/// The protocol name of 5.0 [5.0 MQTT-3.1.2-1] and its level (5.0 section
/// 3.1.2.2).
const PROTOCOL_NAME: &[u8] = b"MQTT";
const PROTOCOL_LEVEL: u8 = 5;

impl Connect {
    fn remaining_len(&self) -> usize {
        let mut len = prefixed_len(PROTOCOL_NAME.len()) + 1 + 1 + 2;
        len += block_len(&self.properties);
        len += prefixed_len(self.client_id.len());
        if let Some(will) = &self.will {
            len += block_len(&will.properties);
            len += prefixed_len(will.topic.len()) + prefixed_len(will.payload.len());
        }
        if let Some(username) = &self.username {
            len += prefixed_len(username.len());
        }
        if let Some(password) = &self.password {
            len += prefixed_len(password.len());
        }
        len
    }

    fn flags(&self) -> u8 {
        let mut flags = 0;
        if self.clean_start {
            flags |= FLAG_CLEAN_START;
        }
        if let Some(will) = &self.will {
            flags |= FLAG_WILL | ((will.qos as u8) << 3);
            if will.retain {
                flags |= FLAG_WILL_RETAIN;
            }
        }
        if self.username.is_some() {
            flags |= FLAG_USERNAME;
        }
        if self.password.is_some() {
            flags |= FLAG_PASSWORD;
        }
        flags
    }

    /// Appends the encoded packet to `buf`. On error nothing was appended.
    ///
    /// Fails with [`EncodeError::FieldTooLong`] for a will payload, password,
    /// Correlation Data or Authentication Data over 65,535 bytes, with
    /// [`EncodeError::InvalidValue`] for a property the standard forbids (a
    /// Receive Maximum or Maximum Packet Size of 0, Authentication Data
    /// without a method, a will Response Topic with wildcards), and with
    /// [`EncodeError::PacketTooLarge`] past the largest remaining length.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::v5::{decode, Connect, ConnectProperties, Packet};
    /// use mqtt_proto::MqttString;
    ///
    /// let connect = Connect {
    ///     clean_start: true,
    ///     keep_alive: 60,
    ///     properties: ConnectProperties::default(),
    ///     client_id: MqttString::try_from("c").unwrap(),
    ///     will: None,
    ///     username: None,
    ///     password: None,
    /// };
    /// let mut wire = BytesMut::new();
    /// connect.encode(&mut wire).unwrap();
    /// assert_eq!(
    ///     &wire[..],
    ///     &[0x10, 14, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 60, 0, 0, 1, b'c'][..]
    /// );
    /// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Connect(Box::new(connect)))));
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        self.properties.check()?;
        if let Some(will) = &self.will {
            will.properties.check()?;
            check_binary_len(&will.payload)?;
        }
        if let Some(password) = &self.password {
            check_binary_len(password)?;
        }
        write_fixed_header(buf, (PacketType::Connect as u8) << 4, self.remaining_len())?;
        put_prefixed(buf, PROTOCOL_NAME);
        buf.put_u8(PROTOCOL_LEVEL);
        buf.put_u8(self.flags());
        buf.put_u16(self.keep_alive);
        put_block(buf, &self.properties);
        put_prefixed(buf, self.client_id.as_bytes());
        if let Some(will) = &self.will {
            put_block(buf, &will.properties);
            put_prefixed(buf, will.topic.as_mqtt_string().as_bytes());
            put_prefixed(buf, &will.payload);
        }
        if let Some(username) = &self.username {
            put_prefixed(buf, username.as_bytes());
        }
        if let Some(password) = &self.password {
            put_prefixed(buf, password);
        }
        Ok(())
    }

    pub(crate) fn decode(mut body: Body) -> Result<Self, DecodeError> {
        let name = body.binary()?;
        let level = body.u8()?;
        if &name[..] != PROTOCOL_NAME || level != PROTOCOL_LEVEL {
            return Err(DecodeError::UnsupportedProtocol { level });
        }
        let flags = body.u8()?;
        if flags & FLAG_RESERVED != 0 {
            return Err(DecodeError::ConnectReservedFlag);
        }
        let will_qos = (flags >> 3) & 0b11;
        let has_will = flags & FLAG_WILL != 0;
        if !has_will && (will_qos != 0 || flags & FLAG_WILL_RETAIN != 0) {
            return Err(DecodeError::InvalidWillFlags);
        }
        let will_qos = QoS::from_u8(will_qos).ok_or(DecodeError::InvalidWillFlags)?;
        let keep_alive = body.u16()?;
        let properties = read_block(&mut body)?;
        let client_id = body.string()?;
        let will = if has_will {
            let properties = read_block(&mut body)?;
            let topic = TopicName::from_mqtt_string(body.string()?)
                .map_err(|e| DecodeError::from_topic(e, false))?;
            Some(Will {
                topic,
                payload: body.binary()?,
                qos: will_qos,
                retain: flags & FLAG_WILL_RETAIN != 0,
                properties,
            })
        } else {
            None
        };
        let username = if flags & FLAG_USERNAME != 0 {
            Some(body.string()?)
        } else {
            None
        };
        let password = if flags & FLAG_PASSWORD != 0 {
            Some(body.binary()?)
        } else {
            None
        };
        body.finish()?;
        Ok(Connect {
            clean_start: flags & FLAG_CLEAN_START != 0,
            keep_alive,
            properties,
            client_id,
            will,
            username,
            password,
        })
    }
}

impl ConnAck {
    /// Appends the encoded packet to `buf`. On error nothing was appended.
    ///
    /// Fails with [`EncodeError::InvalidValue`] for a reason code CONNACK
    /// may not carry [5.0 MQTT-3.2.2-8], Session Present with a reason
    /// other than Success [5.0 MQTT-3.2.2-6], or a property the standard
    /// forbids (a Receive Maximum or Maximum Packet Size of 0, a Maximum QoS
    /// of 2, Authentication Data without a method).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::v5::{decode, ConnAck, ConnAckProperties, Packet, ReasonCode};
    ///
    /// let refusal = ConnAck {
    ///     session_present: false,
    ///     reason_code: ReasonCode::NotAuthorized,
    ///     properties: ConnAckProperties::default(),
    /// };
    /// let mut wire = BytesMut::new();
    /// refusal.encode(&mut wire).unwrap();
    /// assert_eq!(&wire[..], &[0x20, 0x03, 0x00, 0x87, 0x00]);
    /// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::ConnAck(Box::new(refusal)))));
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        if !self.reason_code.allowed_in(PacketType::ConnAck)
            || (self.session_present && self.reason_code != ReasonCode::Success)
        {
            return Err(EncodeError::InvalidValue);
        }
        self.properties.check()?;
        let remaining_len = 2 + block_len(&self.properties);
        write_fixed_header(buf, (PacketType::ConnAck as u8) << 4, remaining_len)?;
        buf.put_u8(u8::from(self.session_present));
        buf.put_u8(self.reason_code as u8);
        put_block(buf, &self.properties);
        Ok(())
    }

    pub(crate) fn decode(mut body: Body) -> Result<Self, DecodeError> {
        let flags = body.u8()?;
        if flags & !1 != 0 {
            return Err(DecodeError::InvalidConnAckFlags(flags));
        }
        let reason_code = ReasonCode::decode(body.u8()?, PacketType::ConnAck)?;
        let session_present = flags == 1;
        if session_present && reason_code != ReasonCode::Success {
            return Err(DecodeError::SessionPresentOnRefusal);
        }
        let properties = read_block(&mut body)?;
        body.finish()?;
        Ok(ConnAck {
            session_present,
            reason_code,
            properties,
        })
    }
}
