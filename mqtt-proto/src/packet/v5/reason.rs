//! Reason codes (section 2.4): one byte on CONNACK, PUBACK, PUBREC, PUBREL,
//! PUBCOMP, SUBACK, UNSUBACK, DISCONNECT and AUTH that says how an exchange
//! went. Below 0x80 is success, 0x80 and above is failure [MQTT-2.4-?].

/// A reason code of MQTT 5.0 (the table of section 2.4).
///
/// Which codes a packet may carry is fixed per packet type; a decoder
/// rejects any other with [`DecodeError::InvalidReasonCode`](super::super::DecodeError).
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
