//! Which CONNACK refusals end the client: the reconnect policy stops on
//! these instead of trying again, since every attempt would get the same
//! answer.

use crate::packet::v5::ReasonCode;
use crate::packet::ConnectReturnCode;

/// Whether a CONNACK refusal is final: retrying cannot fix it.
///
/// Every refusal is final but "server unavailable" (code 3): a wrong
/// protocol version (1), a rejected client id (2), bad credentials (4) and
/// no authorization (5) describe this client, which every server and every
/// later attempt would refuse alike; an unavailable server may come back.
///
/// ```
/// use mqtt_proto::is_final_refusal;
/// use mqtt_proto::packet::ConnectReturnCode;
///
/// assert!(is_final_refusal(ConnectReturnCode::NotAuthorized));
/// assert!(!is_final_refusal(ConnectReturnCode::ServerUnavailable));
/// ```
pub fn is_final_refusal(code: ConnectReturnCode) -> bool {
    match code {
        ConnectReturnCode::ServerUnavailable | ConnectReturnCode::Accepted => false,
        ConnectReturnCode::UnacceptableProtocolVersion
        | ConnectReturnCode::IdentifierRejected
        | ConnectReturnCode::BadUsernameOrPassword
        | ConnectReturnCode::NotAuthorized => true,
    }
}

/// Whether an MQTT 5.0 CONNACK refusal is final: retrying cannot fix it.
///
/// Refusals that describe this client (protocol version, client id,
/// credentials, authorization, a ban, the authentication method, a packet
/// it sent) are final; those that describe the broker's state (unavailable,
/// busy, over a quota or a connection rate, pointing to another server for
/// now) may pass.
///
/// ```
/// use mqtt_proto::is_final_reason;
/// use mqtt_proto::packet::v5::ReasonCode;
///
/// assert!(is_final_reason(ReasonCode::BadUserNameOrPassword));
/// assert!(!is_final_reason(ReasonCode::ServerBusy));
/// ```
pub fn is_final_reason(reason: ReasonCode) -> bool {
    !matches!(
        reason,
        ReasonCode::Success
            | ReasonCode::UnspecifiedError
            | ReasonCode::ImplementationSpecificError
            | ReasonCode::ServerUnavailable
            | ReasonCode::ServerBusy
            | ReasonCode::QuotaExceeded
            | ReasonCode::ConnectionRateExceeded
            | ReasonCode::UseAnotherServer
    )
}
