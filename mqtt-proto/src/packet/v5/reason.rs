//! Reason codes (section 2.4): one byte on CONNACK, PUBACK, PUBREC, PUBREL,
//! PUBCOMP, SUBACK, UNSUBACK, DISCONNECT and AUTH that says how an exchange
//! went. Below 0x80 is success, 0x80 and above is failure (5.0 section 2.4).

use crate::packet::{DecodeError, PacketType};

/// A reason code of MQTT 5.0 (the table of section 2.4).
///
/// Which codes a packet may carry is fixed per packet type; a decoder
/// rejects any other with [`DecodeError::InvalidReasonCode`], and an encoder
/// refuses it with [`EncodeError::InvalidValue`](crate::packet::EncodeError).
///
/// ```
/// use bytes::BytesMut;
/// use mqtt_proto::packet::v5::{decode, Disconnect, DisconnectProperties, Packet, ReasonCode};
///
/// let disconnect = Disconnect {
///     reason_code: ReasonCode::ServerShuttingDown,
///     properties: DisconnectProperties::default(),
/// };
/// let mut wire = BytesMut::new();
/// disconnect.encode(&mut wire).unwrap();
/// assert_eq!(&wire[..], &[0xE0, 0x01, 0x8B]);
/// assert_eq!(decode(&mut wire, 1024), Ok(Some(Packet::Disconnect(disconnect))));
/// assert!(ReasonCode::ServerShuttingDown.is_error());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
#[non_exhaustive]
pub enum ReasonCode {
    /// 0x00: success; also "normal disconnection" and "granted QoS 0".
    Success = 0x00,
    /// 0x01: granted QoS 1 (SUBACK).
    GrantedQoS1 = 0x01,
    /// 0x02: granted QoS 2 (SUBACK).
    GrantedQoS2 = 0x02,
    /// 0x04: disconnect and send the will (DISCONNECT from a client).
    DisconnectWithWillMessage = 0x04,
    /// 0x10: the message was accepted but nobody subscribes to it.
    NoMatchingSubscribers = 0x10,
    /// 0x11: no subscription existed (UNSUBACK).
    NoSubscriptionExisted = 0x11,
    /// 0x18: continue the authentication exchange (AUTH).
    ContinueAuthentication = 0x18,
    /// 0x19: start re-authentication (AUTH from a client).
    ReAuthenticate = 0x19,
    /// 0x80: unspecified error.
    UnspecifiedError = 0x80,
    /// 0x81: a packet could not be parsed.
    MalformedPacket = 0x81,
    /// 0x82: a packet broke the protocol.
    ProtocolError = 0x82,
    /// 0x83: valid, but the receiver will not process it.
    ImplementationSpecificError = 0x83,
    /// 0x84: the server does not speak the requested protocol version.
    UnsupportedProtocolVersion = 0x84,
    /// 0x85: the client identifier is not allowed.
    ClientIdentifierNotValid = 0x85,
    /// 0x86: wrong user name or password.
    BadUserNameOrPassword = 0x86,
    /// 0x87: not authorized.
    NotAuthorized = 0x87,
    /// 0x88: the server is not available.
    ServerUnavailable = 0x88,
    /// 0x89: the server is busy.
    ServerBusy = 0x89,
    /// 0x8A: this client is banned.
    Banned = 0x8A,
    /// 0x8B: the server is shutting down.
    ServerShuttingDown = 0x8B,
    /// 0x8C: the authentication method is not supported or does not match.
    BadAuthenticationMethod = 0x8C,
    /// 0x8D: the keep-alive time passed without a packet.
    KeepAliveTimeout = 0x8D,
    /// 0x8E: another connection took over this session.
    SessionTakenOver = 0x8E,
    /// 0x8F: the topic filter is well formed but not accepted.
    TopicFilterInvalid = 0x8F,
    /// 0x90: the topic name is well formed but not accepted.
    TopicNameInvalid = 0x90,
    /// 0x91: the packet identifier is already in use.
    PacketIdentifierInUse = 0x91,
    /// 0x92: the packet identifier is not known.
    PacketIdentifierNotFound = 0x92,
    /// 0x93: more than Receive Maximum publishes were in flight.
    ReceiveMaximumExceeded = 0x93,
    /// 0x94: the topic alias is 0 or above the maximum.
    TopicAliasInvalid = 0x94,
    /// 0x95: the packet exceeds the maximum packet size.
    PacketTooLarge = 0x95,
    /// 0x96: the message rate is too high.
    MessageRateTooHigh = 0x96,
    /// 0x97: an implementation or administrative quota was exceeded.
    QuotaExceeded = 0x97,
    /// 0x98: the connection is closed by administrative action.
    AdministrativeAction = 0x98,
    /// 0x99: the payload does not match the Payload Format Indicator.
    PayloadFormatInvalid = 0x99,
    /// 0x9A: the server does not support retained messages.
    RetainNotSupported = 0x9A,
    /// 0x9B: the QoS is above the server's Maximum QoS.
    QoSNotSupported = 0x9B,
    /// 0x9C: the client should temporarily use another server.
    UseAnotherServer = 0x9C,
    /// 0x9D: the client should permanently use another server.
    ServerMoved = 0x9D,
    /// 0x9E: shared subscriptions are not supported.
    SharedSubscriptionsNotSupported = 0x9E,
    /// 0x9F: the connection rate limit was exceeded.
    ConnectionRateExceeded = 0x9F,
    /// 0xA0: the maximum connection time passed.
    MaximumConnectTime = 0xA0,
    /// 0xA1: subscription identifiers are not supported.
    SubscriptionIdentifiersNotSupported = 0xA1,
    /// 0xA2: wildcard subscriptions are not supported.
    WildcardSubscriptionsNotSupported = 0xA2,
}

/// Bit `t` set: packet type `t` may carry the code.
const fn mask(types: &[PacketType]) -> u16 {
    let mut m = 0u16;
    let mut i = 0;
    while i < types.len() {
        m |= 1 << types[i] as u8;
        i += 1;
    }
    m
}

use PacketType::{
    Auth as AU, ConnAck as CA, Disconnect as DI, PubAck as PA, PubComp as PC, PubRec as PR,
    PubRel as PL, SubAck as SA, UnsubAck as UA,
};

impl ReasonCode {
    /// The code for a byte, or `None` for a byte the table of section 2.4
    /// does not define.
    ///
    /// ```
    /// use mqtt_proto::packet::v5::ReasonCode;
    ///
    /// assert_eq!(ReasonCode::from_u8(0x87), Some(ReasonCode::NotAuthorized));
    /// assert_eq!(ReasonCode::from_u8(0x03), None);
    /// ```
    pub const fn from_u8(v: u8) -> Option<ReasonCode> {
        use ReasonCode::*;
        Some(match v {
            0x00 => Success,
            0x01 => GrantedQoS1,
            0x02 => GrantedQoS2,
            0x04 => DisconnectWithWillMessage,
            0x10 => NoMatchingSubscribers,
            0x11 => NoSubscriptionExisted,
            0x18 => ContinueAuthentication,
            0x19 => ReAuthenticate,
            0x80 => UnspecifiedError,
            0x81 => MalformedPacket,
            0x82 => ProtocolError,
            0x83 => ImplementationSpecificError,
            0x84 => UnsupportedProtocolVersion,
            0x85 => ClientIdentifierNotValid,
            0x86 => BadUserNameOrPassword,
            0x87 => NotAuthorized,
            0x88 => ServerUnavailable,
            0x89 => ServerBusy,
            0x8A => Banned,
            0x8B => ServerShuttingDown,
            0x8C => BadAuthenticationMethod,
            0x8D => KeepAliveTimeout,
            0x8E => SessionTakenOver,
            0x8F => TopicFilterInvalid,
            0x90 => TopicNameInvalid,
            0x91 => PacketIdentifierInUse,
            0x92 => PacketIdentifierNotFound,
            0x93 => ReceiveMaximumExceeded,
            0x94 => TopicAliasInvalid,
            0x95 => PacketTooLarge,
            0x96 => MessageRateTooHigh,
            0x97 => QuotaExceeded,
            0x98 => AdministrativeAction,
            0x99 => PayloadFormatInvalid,
            0x9A => RetainNotSupported,
            0x9B => QoSNotSupported,
            0x9C => UseAnotherServer,
            0x9D => ServerMoved,
            0x9E => SharedSubscriptionsNotSupported,
            0x9F => ConnectionRateExceeded,
            0xA0 => MaximumConnectTime,
            0xA1 => SubscriptionIdentifiersNotSupported,
            0xA2 => WildcardSubscriptionsNotSupported,
            _ => return None,
        })
    }

    /// Whether the code reports a failure: 0x80 and above (section 2.4).
    ///
    /// ```
    /// use mqtt_proto::packet::v5::ReasonCode;
    ///
    /// assert!(!ReasonCode::NoMatchingSubscribers.is_error());
    /// assert!(ReasonCode::UnspecifiedError.is_error());
    /// ```
    pub const fn is_error(self) -> bool {
        self as u8 >= 0x80
    }

    /// Whether a packet of type `packet_type` may carry this code: the
    /// "MQTT Control Packets" column of the table of section 2.4, which the
    /// per-packet tables of sections 3.2.2.2, 3.4.2.1, 3.5.2.1, 3.6.2.1,
    /// 3.7.2.1, 3.9.3, 3.11.3, 3.14.2.1 and 3.15.2.1 repeat. Packets without
    /// a reason code allow none.
    ///
    /// ```
    /// use mqtt_proto::packet::v5::ReasonCode;
    /// use mqtt_proto::packet::PacketType;
    ///
    /// assert!(ReasonCode::PacketIdentifierNotFound.allowed_in(PacketType::PubRel));
    /// assert!(!ReasonCode::PacketIdentifierNotFound.allowed_in(PacketType::PubAck));
    /// assert!(ReasonCode::ContinueAuthentication.allowed_in(PacketType::Auth));
    /// assert!(!ReasonCode::Success.allowed_in(PacketType::Publish));
    /// ```
    pub const fn allowed_in(self, packet_type: PacketType) -> bool {
        use ReasonCode::*;
        let types = match self {
            Success => mask(&[CA, PA, PR, PL, PC, SA, UA, DI, AU]),
            GrantedQoS1 | GrantedQoS2 => mask(&[SA]),
            DisconnectWithWillMessage => mask(&[DI]),
            NoMatchingSubscribers => mask(&[PA, PR]),
            NoSubscriptionExisted => mask(&[UA]),
            ContinueAuthentication | ReAuthenticate => mask(&[AU]),
            UnspecifiedError | ImplementationSpecificError | NotAuthorized => {
                mask(&[CA, PA, PR, SA, UA, DI])
            }
            MalformedPacket
            | ProtocolError
            | ServerBusy
            | BadAuthenticationMethod
            | PacketTooLarge
            | RetainNotSupported
            | QoSNotSupported
            | UseAnotherServer
            | ServerMoved
            | ConnectionRateExceeded => mask(&[CA, DI]),
            UnsupportedProtocolVersion
            | ClientIdentifierNotValid
            | BadUserNameOrPassword
            | ServerUnavailable
            | Banned => mask(&[CA]),
            ServerShuttingDown
            | KeepAliveTimeout
            | SessionTakenOver
            | ReceiveMaximumExceeded
            | TopicAliasInvalid
            | MessageRateTooHigh
            | AdministrativeAction
            | MaximumConnectTime => mask(&[DI]),
            TopicFilterInvalid => mask(&[SA, UA, DI]),
            TopicNameInvalid | PayloadFormatInvalid => mask(&[CA, PA, PR, DI]),
            PacketIdentifierInUse => mask(&[PA, PR, SA, UA]),
            PacketIdentifierNotFound => mask(&[PL, PC]),
            QuotaExceeded => mask(&[CA, PA, PR, SA, DI]),
            SharedSubscriptionsNotSupported
            | SubscriptionIdentifiersNotSupported
            | WildcardSubscriptionsNotSupported => mask(&[SA, DI]),
        };
        types & (1 << packet_type as u8) != 0
    }

    /// The code a packet of type `packet_type` carries as byte `code`, or
    /// [`DecodeError::InvalidReasonCode`] when the byte is undefined or not
    /// one that packet may carry.
    pub(crate) fn decode(code: u8, packet_type: PacketType) -> Result<ReasonCode, DecodeError> {
        match ReasonCode::from_u8(code) {
            Some(reason) if reason.allowed_in(packet_type) => Ok(reason),
            _ => Err(DecodeError::InvalidReasonCode { packet_type, code }),
        }
    }

    /// The code's name in the table of section 2.4, in lower case. Where
    /// the table names one byte differently per packet (0x00), the general
    /// name is given.
    ///
    /// ```
    /// use mqtt_proto::packet::v5::ReasonCode;
    ///
    /// assert_eq!(ReasonCode::QuotaExceeded.description(), "quota exceeded");
    /// assert_eq!(ReasonCode::QuotaExceeded.to_string(), "quota exceeded (0x97)");
    /// ```
    pub const fn description(self) -> &'static str {
        use ReasonCode::*;
        match self {
            Success => "success",
            GrantedQoS1 => "granted QoS 1",
            GrantedQoS2 => "granted QoS 2",
            DisconnectWithWillMessage => "disconnect with will message",
            NoMatchingSubscribers => "no matching subscribers",
            NoSubscriptionExisted => "no subscription existed",
            ContinueAuthentication => "continue authentication",
            ReAuthenticate => "re-authenticate",
            UnspecifiedError => "unspecified error",
            MalformedPacket => "malformed packet",
            ProtocolError => "protocol error",
            ImplementationSpecificError => "implementation specific error",
            UnsupportedProtocolVersion => "unsupported protocol version",
            ClientIdentifierNotValid => "client identifier not valid",
            BadUserNameOrPassword => "bad user name or password",
            NotAuthorized => "not authorized",
            ServerUnavailable => "server unavailable",
            ServerBusy => "server busy",
            Banned => "banned",
            ServerShuttingDown => "server shutting down",
            BadAuthenticationMethod => "bad authentication method",
            KeepAliveTimeout => "keep alive timeout",
            SessionTakenOver => "session taken over",
            TopicFilterInvalid => "topic filter invalid",
            TopicNameInvalid => "topic name invalid",
            PacketIdentifierInUse => "packet identifier in use",
            PacketIdentifierNotFound => "packet identifier not found",
            ReceiveMaximumExceeded => "receive maximum exceeded",
            TopicAliasInvalid => "topic alias invalid",
            PacketTooLarge => "packet too large",
            MessageRateTooHigh => "message rate too high",
            QuotaExceeded => "quota exceeded",
            AdministrativeAction => "administrative action",
            PayloadFormatInvalid => "payload format invalid",
            RetainNotSupported => "retain not supported",
            QoSNotSupported => "QoS not supported",
            UseAnotherServer => "use another server",
            ServerMoved => "server moved",
            SharedSubscriptionsNotSupported => "shared subscriptions not supported",
            ConnectionRateExceeded => "connection rate exceeded",
            MaximumConnectTime => "maximum connect time",
            SubscriptionIdentifiersNotSupported => "subscription identifiers not supported",
            WildcardSubscriptionsNotSupported => "wildcard subscriptions not supported",
        }
    }
}

impl core::fmt::Display for ReasonCode {
    /// The description and the byte, as in "quota exceeded (0x97)".
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({:#04x})", self.description(), *self as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_u8_round_trips_every_defined_byte() {
        let mut defined = 0;
        for b in 0..=255u8 {
            if let Some(code) = ReasonCode::from_u8(b) {
                assert_eq!(code as u8, b);
                defined += 1;
            }
        }
        assert_eq!(defined, 43);
    }

    #[test]
    fn per_packet_sets_match_section_3() {
        let set = |t: PacketType| -> alloc::vec::Vec<u8> {
            (0..=255u8)
                .filter(|&b| ReasonCode::from_u8(b).is_some_and(|c| c.allowed_in(t)))
                .collect()
        };
        // 3.2.2.2
        assert_eq!(
            set(CA),
            [
                0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90,
                0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F
            ]
        );
        // 3.4.2.1 and 3.5.2.1
        let puback = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
        assert_eq!(set(PA), puback);
        assert_eq!(set(PR), puback);
        // 3.6.2.1 and 3.7.2.1
        assert_eq!(set(PL), [0x00, 0x92]);
        assert_eq!(set(PC), [0x00, 0x92]);
        // 3.9.3
        assert_eq!(
            set(SA),
            [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2]
        );
        // 3.11.3
        assert_eq!(set(UA), [0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91]);
        // 3.14.2.1
        assert_eq!(
            set(DI),
            [
                0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8C, 0x8D, 0x8E, 0x8F, 0x90,
                0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0,
                0xA1, 0xA2
            ]
        );
        // 3.15.2.1
        assert_eq!(set(AU), [0x00, 0x18, 0x19]);
        for t in [
            PacketType::Connect,
            PacketType::Publish,
            PacketType::Subscribe,
            PacketType::Unsubscribe,
            PacketType::PingReq,
            PacketType::PingResp,
        ] {
            assert!(set(t).is_empty());
        }
    }
}
