//! CONNECT (section 3.1): protocol name and level, flags, keep-alive, and the
//! payload fields client id, will topic, will message, user name, password,
//! always in that order [MQTT-3.1.3-1].

use super::error::{DecodeError, EncodeError};
use super::fixed_header::write_fixed_header;
use super::wire::{check_binary_len, prefixed_len, put_prefixed, Body};
use super::{PacketType, QoS};
use crate::string::MqttString;
use crate::topic::TopicName;
use bytes::{BufMut, Bytes, BytesMut};

/// The protocol revision a CONNECT asks for.
///
/// ```
/// use mqtt_proto::packet::Protocol;
/// use mqtt_proto::{Connection, MqttString, Options};
///
/// assert_eq!(Protocol::default(), Protocol::V311);
/// // An older broker: MQTT 3.1 ("MQIsdp", level 3).
/// let options = Options::new(MqttString::try_from("legacy").unwrap()).protocol(Protocol::V31);
/// assert!(Connection::new(options).is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// MQTT 3.1.1: protocol name "MQTT", level 4.
    #[default]
    V311,
    /// MQTT 3.1: protocol name "MQIsdp", level 3, for older brokers.
    V31,
    /// MQTT 5.0: protocol name "MQTT", level 5. Its packets are those of
    /// [`v5`](super::v5); this 3.1.1 `Connect` refuses to encode it.
    V5,
}

impl Protocol {
    const fn name(self) -> &'static [u8] {
        match self {
            Protocol::V311 | Protocol::V5 => b"MQTT",
            Protocol::V31 => b"MQIsdp",
        }
    }

    const fn level(self) -> u8 {
        match self {
            Protocol::V311 => 4,
            Protocol::V31 => 3,
            Protocol::V5 => 5,
        }
    }
}

/// The will message the server publishes if the connection ends without
/// DISCONNECT (section 3.1.2.5).
///
/// ```
/// use mqtt_proto::packet::LastWill;
/// use mqtt_proto::{Connection, MqttString, Options, QoS, TopicName};
///
/// let will = LastWill {
///     topic: TopicName::try_from("devices/7/status").unwrap(),
///     message: "offline".into(),
///     qos: QoS::AtLeastOnce,
///     retain: true,
/// };
/// let options = Options::new(MqttString::try_from("device-7").unwrap()).last_will(will);
/// assert!(Connection::new(options).is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LastWill {
    /// Where the will is published; a topic name, so no wildcards.
    pub topic: TopicName,
    /// The will payload (binary).
    pub message: Bytes,
    /// The QoS it is published with.
    pub qos: QoS,
    /// Whether it is retained.
    pub retain: bool,
}

/// A user name and an optional password. A password without a user name
/// cannot be expressed [MQTT-3.1.2-22].
///
/// ```
/// use mqtt_proto::packet::Login;
/// use mqtt_proto::{MqttString, Options};
///
/// let login = Login {
///     username: MqttString::try_from("alice").unwrap(),
///     password: Some("secret".into()),
/// };
/// assert!(!format!("{login:?}").contains("secret")); // never printed
/// let options = Options::new(MqttString::try_from("c").unwrap()).login(login);
/// assert_eq!(options.login.unwrap().username, "alice");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Login {
    /// The user name [MQTT-3.1.3-11].
    pub username: MqttString,
    /// The password: binary data, 0 to 65,535 bytes.
    pub password: Option<Bytes>,
}

impl core::fmt::Debug for Login {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print a password.
        f.debug_struct("Login")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// CONNECT: the first packet a client sends on a connection [MQTT-3.1.0-1].
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::{decode, Connect, Packet, Protocol};
/// use mqtt_proto::MqttString;
///
/// let connect = Connect {
///     protocol: Protocol::V311,
///     clean_session: true,
///     keep_alive: 60,
///     client_id: MqttString::try_from("c").unwrap(),
///     last_will: None,
///     login: None,
/// };
/// let mut wire = BytesMut::new();
/// connect.encode(&mut wire).unwrap();
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Connect(Box::new(connect)))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Connect {
    /// Protocol revision.
    pub protocol: Protocol,
    /// Start a new session, dropping any previous one (section 3.1.2.4).
    pub clean_session: bool,
    /// Keep-alive in seconds; 0 turns it off (section 3.1.2.10).
    pub keep_alive: u16,
    /// The client identifier; a client sends an empty one only with
    /// `clean_session` [MQTT-3.1.3-7].
    pub client_id: MqttString,
    /// The will, if any.
    pub last_will: Option<LastWill>,
    /// User name and password, if any.
    pub login: Option<Login>,
}

const FLAG_USERNAME: u8 = 0x80;
const FLAG_PASSWORD: u8 = 0x40;
const FLAG_WILL_RETAIN: u8 = 0x20;
const FLAG_WILL: u8 = 0x04;
const FLAG_CLEAN_SESSION: u8 = 0x02;
const FLAG_RESERVED: u8 = 0x01;

impl Connect {
    fn remaining_len(&self) -> usize {
        let mut len = prefixed_len(self.protocol.name().len()) + 1 + 1 + 2;
        len += prefixed_len(self.client_id.len());
        if let Some(will) = &self.last_will {
            len += prefixed_len(will.topic.len()) + prefixed_len(will.message.len());
        }
        if let Some(login) = &self.login {
            len += prefixed_len(login.username.len());
            if let Some(password) = &login.password {
                len += prefixed_len(password.len());
            }
        }
        len
    }

    fn flags(&self) -> u8 {
        let mut flags = 0;
        if self.clean_session {
            flags |= FLAG_CLEAN_SESSION;
        }
        if let Some(will) = &self.last_will {
            flags |= FLAG_WILL | ((will.qos as u8) << 3);
            if will.retain {
                flags |= FLAG_WILL_RETAIN;
            }
        }
        if let Some(login) = &self.login {
            flags |= FLAG_USERNAME;
            if login.password.is_some() {
                flags |= FLAG_PASSWORD;
            }
        }
        flags
    }

    /// Appends the encoded packet to `buf`. On error nothing was appended;
    /// [`Protocol::V5`] is refused with [`EncodeError::InvalidValue`].
    ///
    /// The codec encodes every well-formed CONNECT, including one a client
    /// must not send (an empty client id without clean session,
    /// [MQTT-3.1.3-7]): a server must answer that one with CONNACK 0x02
    /// [MQTT-3.1.3-8], so it is well-formed and decodes too. The
    /// [`Connection`](crate::Connection) refuses such options up front.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::{Connect, Protocol};
    /// use mqtt_proto::MqttString;
    ///
    /// let connect = Connect {
    ///     protocol: Protocol::V311,
    ///     clean_session: true,
    ///     keep_alive: 60,
    ///     client_id: MqttString::try_from("c").unwrap(),
    ///     last_will: None,
    ///     login: None,
    /// };
    /// let mut buf = BytesMut::new();
    /// connect.encode(&mut buf).unwrap();
    /// assert_eq!(
    ///     &buf[..],
    ///     &[0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 1, b'c'][..]
    /// );
    ///
    /// // MQTT 5.0 is `v5::Connect`'s: this type refuses it and appends nothing.
    /// let v5 = Connect { protocol: Protocol::V5, ..connect };
    /// assert_eq!(v5.encode(&mut buf), Err(mqtt_proto::packet::EncodeError::InvalidValue));
    /// assert_eq!(buf.len(), 15);
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        // A 5.0 CONNECT has properties this type cannot hold: it is
        // `v5::Connect`'s to encode.
        if self.protocol == Protocol::V5 {
            return Err(EncodeError::InvalidValue);
        }
        if let Some(will) = &self.last_will {
            check_binary_len(&will.message)?;
        }
        if let Some(password) = self.login.as_ref().and_then(|l| l.password.as_ref()) {
            check_binary_len(password)?;
        }
        write_fixed_header(buf, (PacketType::Connect as u8) << 4, self.remaining_len())?;
        put_prefixed(buf, self.protocol.name());
        buf.put_u8(self.protocol.level());
        buf.put_u8(self.flags());
        buf.put_u16(self.keep_alive);
        put_prefixed(buf, self.client_id.as_bytes());
        if let Some(will) = &self.last_will {
            put_prefixed(buf, will.topic.as_mqtt_string().as_bytes());
            put_prefixed(buf, &will.message);
        }
        if let Some(login) = &self.login {
            put_prefixed(buf, login.username.as_bytes());
            if let Some(password) = &login.password {
                put_prefixed(buf, password);
            }
        }
        Ok(())
    }

    pub(crate) fn decode(mut body: Body) -> Result<Self, DecodeError> {
        let name = body.binary()?;
        let level = body.u8()?;
        let protocol = match (&name[..], level) {
            (b"MQTT", 4) => Protocol::V311,
            (b"MQIsdp", 3) => Protocol::V31,
            _ => return Err(DecodeError::UnsupportedProtocol { level }),
        };
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
        if flags & FLAG_PASSWORD != 0 && flags & FLAG_USERNAME == 0 {
            return Err(DecodeError::PasswordWithoutUsername);
        }
        let keep_alive = body.u16()?;
        let client_id = body.string()?;
        let last_will = if has_will {
            let topic = TopicName::from_mqtt_string(body.string()?)
                .map_err(|e| DecodeError::from_topic(e, false))?;
            Some(LastWill {
                topic,
                message: body.binary()?,
                qos: will_qos,
                retain: flags & FLAG_WILL_RETAIN != 0,
            })
        } else {
            None
        };
        let login = if flags & FLAG_USERNAME != 0 {
            let username = body.string()?;
            let password = if flags & FLAG_PASSWORD != 0 {
                Some(body.binary()?)
            } else {
                None
            };
            Some(Login { username, password })
        } else {
            None
        };
        body.finish()?;
        Ok(Connect {
            protocol,
            clean_session: flags & FLAG_CLEAN_SESSION != 0,
            keep_alive,
            client_id,
            last_will,
            login,
        })
    }
}
