//! PUBLISH of MQTT 5.0 (section 3.3): the 3.1.1 layout plus a property
//! block after the packet identifier. Topic and payload stay slices of the
//! receive buffer.

use crate::packet::wire::Body;
use crate::packet::{DecodeError, EncodeError, PacketType};
use bytes::BytesMut;

use super::properties::PublishProperties;
use crate::packet::QosPid;
use crate::topic::TopicName;
use bytes::Bytes;

/// PUBLISH of MQTT 5.0.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Publish {
    /// DUP flag.
    pub dup: bool,
    /// QoS and packet identifier.
    pub qos_pid: QosPid,
    /// RETAIN flag.
    pub retain: bool,
    /// The topic name, or `None` for the zero-length name a sender uses
    /// when a Topic Alias stands for it (section 3.3.2.3.4).
    pub topic: Option<TopicName>,
    /// Properties.
    pub properties: PublishProperties,
    /// The application message.
    pub payload: Bytes,
}

impl Publish {
    /// Appends the encoded packet to `buf`. On error nothing was appended.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        todo!()
    }

    pub(crate) fn decode(flags: u8, body: Body) -> Result<Self, DecodeError> {
        todo!()
    }
}
