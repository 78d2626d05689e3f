//! PUBACK, PUBREC, PUBREL and PUBCOMP of MQTT 5.0 (sections 3.4 to 3.7):
//! a packet identifier, a reason code and properties, where a remaining
//! length of 2 means reason Success and no properties, and 3 means no
//! properties (section 3.4.2.1).

use crate::packet::wire::Body;
use crate::packet::{DecodeError, EncodeError, PacketType};
use bytes::BytesMut;

use super::properties::AckProperties;
use super::ReasonCode;
use crate::packet::PacketId;

/// The body of PUBACK, PUBREC, PUBREL and PUBCOMP; [`super::Packet`] says
/// which of the four it is.
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
    pub fn success(pid: PacketId) -> PubResponse {
        PubResponse {
            pid,
            reason_code: ReasonCode::Success,
            properties: AckProperties::default(),
        }
    }
}

impl PubResponse {
    /// Appends the encoded packet to `buf`. On error nothing was appended.
    pub fn encode(&self, packet_type: PacketType, buf: &mut BytesMut) -> Result<(), EncodeError> {
        todo!()
    }

    pub(crate) fn decode(body: Body) -> Result<Self, DecodeError> {
        todo!()
    }
}
