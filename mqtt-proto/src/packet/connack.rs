//! CONNACK (section 3.2): the server's answer to CONNECT.

use super::error::{DecodeError, EncodeError};
use super::fixed_header::write_fixed_header;
use super::wire::Body;
use super::PacketType;
use bytes::{BufMut, BytesMut};

/// The CONNACK return code (section 3.2.2.3).
///
/// ```
/// use mqtt_proto::packet::ConnectReturnCode;
///
/// let code = ConnectReturnCode::BadUsernameOrPassword;
/// assert_eq!(code as u8, 4);
/// assert_eq!(code.to_string(), "bad user name or password");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ConnectReturnCode {
    /// 0: connection accepted.
    Accepted = 0,
    /// 1: the server does not support the protocol level asked for.
    UnacceptableProtocolVersion = 1,
    /// 2: the client identifier is well-formed UTF-8 but not allowed.
    IdentifierRejected = 2,
    /// 3: the MQTT service is unavailable.
    ServerUnavailable = 3,
    /// 4: the user name or password is malformed or wrong.
    BadUsernameOrPassword = 4,
    /// 5: the client is not authorized to connect.
    NotAuthorized = 5,
}

impl core::fmt::Display for ConnectReturnCode {
    /// The meaning in words, as section 3.2.2.3 gives it.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ConnectReturnCode::Accepted => "accepted",
            ConnectReturnCode::UnacceptableProtocolVersion => {
                "the broker does not support this protocol level"
            }
            ConnectReturnCode::IdentifierRejected => "the client identifier is not allowed",
            ConnectReturnCode::ServerUnavailable => "the MQTT service is unavailable",
            ConnectReturnCode::BadUsernameOrPassword => "bad user name or password",
            ConnectReturnCode::NotAuthorized => "not authorized to connect",
        })
    }
}

impl ConnectReturnCode {
    /// The code for its wire value, or `None` for the reserved 6..=255.
    ///
    /// ```
    /// use mqtt_proto::packet::ConnectReturnCode;
    ///
    /// assert_eq!(ConnectReturnCode::from_u8(5), Some(ConnectReturnCode::NotAuthorized));
    /// assert_eq!(ConnectReturnCode::from_u8(6), None);
    /// ```
    pub const fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => ConnectReturnCode::Accepted,
            1 => ConnectReturnCode::UnacceptableProtocolVersion,
            2 => ConnectReturnCode::IdentifierRejected,
            3 => ConnectReturnCode::ServerUnavailable,
            4 => ConnectReturnCode::BadUsernameOrPassword,
            5 => ConnectReturnCode::NotAuthorized,
            _ => return None,
        })
    }
}

/// CONNACK.
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::{decode, ConnAck, ConnectReturnCode, Packet};
///
/// let mut wire = BytesMut::from(&[0x20, 0x02, 0x01, 0x00][..]);
/// let expected = ConnAck { session_present: true, code: ConnectReturnCode::Accepted };
/// assert_eq!(decode(&mut wire, 16), Ok(Some(Packet::ConnAck(expected))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnAck {
    /// Whether the server resumed a stored session (section 3.2.2.2).
    pub session_present: bool,
    /// Accepted, or why not.
    pub code: ConnectReturnCode,
}

impl ConnAck {
    /// Appends the encoded packet to `buf`.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::{ConnAck, ConnectReturnCode};
    ///
    /// let mut buf = BytesMut::new();
    /// let refusal = ConnAck { session_present: false, code: ConnectReturnCode::NotAuthorized };
    /// refusal.encode(&mut buf).unwrap();
    /// assert_eq!(&buf[..], &[0x20, 0x02, 0x00, 0x05]);
    /// ```
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        write_fixed_header(buf, (PacketType::ConnAck as u8) << 4, 2)?;
        buf.put_u8(u8::from(self.session_present));
        buf.put_u8(self.code as u8);
        Ok(())
    }

    pub(crate) fn decode(mut body: Body) -> Result<Self, DecodeError> {
        let flags = body.u8()?;
        if flags & !1 != 0 {
            return Err(DecodeError::InvalidConnAckFlags(flags));
        }
        let raw = body.u8()?;
        let code =
            ConnectReturnCode::from_u8(raw).ok_or(DecodeError::InvalidConnectReturnCode(raw))?;
        let session_present = flags == 1;
        if session_present && code != ConnectReturnCode::Accepted {
            return Err(DecodeError::SessionPresentOnRefusal);
        }
        body.finish()?;
        Ok(ConnAck {
            session_present,
            code,
        })
    }
}
