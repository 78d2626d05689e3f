//! DISCONNECT (section 3.14) and AUTH (section 3.15) of MQTT 5.0: a reason
//! code and properties, where a remaining length of 0 means reason Success
//! and no properties.

use crate::packet::wire::Body;
use crate::packet::{DecodeError, EncodeError, PacketType};
use bytes::BytesMut;

use super::properties::{AuthProperties, DisconnectProperties};
use super::ReasonCode;

/// DISCONNECT of MQTT 5.0; either side may send it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Disconnect {
    /// The Disconnect Reason Code.
    pub reason_code: ReasonCode,
    /// Properties.
    pub properties: DisconnectProperties,
}

/// AUTH of MQTT 5.0: one step of enhanced authentication.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Auth {
    /// Success (0x00), Continue Authentication (0x18) or Re-authenticate
    /// (0x19).
    pub reason_code: ReasonCode,
    /// Properties; the method must be present when the reason is not
    /// Success with no properties.
    pub properties: AuthProperties,
}

impl Disconnect {
    /// Appends the encoded packet to `buf`. On error nothing was appended.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        todo!()
    }

    pub(crate) fn decode(body: Body) -> Result<Self, DecodeError> {
        todo!()
    }
}

impl Auth {
    /// Appends the encoded packet to `buf`. On error nothing was appended.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        todo!()
    }

    pub(crate) fn decode(body: Body) -> Result<Self, DecodeError> {
        todo!()
    }
}
