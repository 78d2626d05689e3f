//! Which CONNACK refusals end the client: the reconnect policy stops on
//! these instead of trying again, since every attempt would get the same
//! answer.

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
