//! PUBACK, PUBREC, PUBREL and PUBCOMP of MQTT 5.0 (sections 3.4 to 3.7):
//! a packet identifier, a reason code and properties, where a remaining
//! length of 2 means reason Success and no properties, and 3 means no
//! properties (section 3.4.2.1).

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
