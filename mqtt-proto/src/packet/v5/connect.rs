//! CONNECT (section 3.1) and CONNACK (section 3.2) of MQTT 5.0.

use crate::packet::wire::Body;
use crate::packet::{DecodeError, EncodeError, PacketType};
use bytes::BytesMut;

use super::properties::{ConnAckProperties, ConnectProperties, WillProperties};
use super::ReasonCode;
use crate::packet::QoS;
use crate::string::MqttString;
use crate::topic::TopicName;
use bytes::Bytes;

/// The will of a 5.0 CONNECT: a message with its own properties.
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

/// CONNECT of MQTT 5.0 (protocol name "MQTT", level 5).
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

/// CONNACK of MQTT 5.0.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnAck {
    /// Session Present (section 3.2.2.1.1).
    pub session_present: bool,
    /// Connect Reason Code (section 3.2.2.2).
    pub reason_code: ReasonCode,
    /// Properties.
    pub properties: ConnAckProperties,
}

impl Connect {
    /// Appends the encoded packet to `buf`. On error nothing was appended.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        todo!()
    }

    pub(crate) fn decode(body: Body) -> Result<Self, DecodeError> {
        todo!()
    }
}

impl ConnAck {
    /// Appends the encoded packet to `buf`. On error nothing was appended.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        todo!()
    }

    pub(crate) fn decode(body: Body) -> Result<Self, DecodeError> {
        todo!()
    }
}
