//! SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK of MQTT 5.0 (sections 3.8
//! to 3.11).

use crate::packet::wire::Body;
use crate::packet::{DecodeError, EncodeError, PacketType};
use bytes::BytesMut;

use super::properties::{AckProperties, SubscribeProperties, UnsubscribeProperties};
use super::ReasonCode;
use crate::packet::{PacketId, QoS};
use crate::topic::TopicFilter;
use alloc::vec::Vec;

/// Retain Handling of a subscription (section 3.8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum RetainHandling {
    /// 0: send retained messages at the time of the subscribe.
    #[default]
    SendAtSubscribe = 0,
    /// 1: send them only if the subscription did not exist.
    SendIfNew = 1,
    /// 2: do not send retained messages.
    DoNotSend = 2,
}

/// The Subscription Options byte (section 3.8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionOptions {
    /// Maximum QoS.
    pub qos: QoS,
    /// No Local: do not receive our own publishes.
    pub no_local: bool,
    /// Retain As Published: keep the RETAIN flag as it was published.
    pub retain_as_published: bool,
    /// Retain Handling.
    pub retain_handling: RetainHandling,
}

impl SubscriptionOptions {
    /// Options with maximum QoS `qos` and everything else at its default.
    pub const fn new(qos: QoS) -> SubscriptionOptions {
        SubscriptionOptions {
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: RetainHandling::SendAtSubscribe,
        }
    }
}

/// SUBSCRIBE of MQTT 5.0.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subscribe {
    /// The packet identifier.
    pub pid: PacketId,
    /// Properties.
    pub properties: SubscribeProperties,
    /// The filters and their options; at least one.
    pub filters: Vec<(TopicFilter, SubscriptionOptions)>,
}

/// SUBACK of MQTT 5.0.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubAck {
    /// The packet identifier.
    pub pid: PacketId,
    /// Properties.
    pub properties: AckProperties,
    /// One reason code per filter, in order.
    pub reason_codes: Vec<ReasonCode>,
}

/// UNSUBSCRIBE of MQTT 5.0.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Unsubscribe {
    /// The packet identifier.
    pub pid: PacketId,
    /// Properties.
    pub properties: UnsubscribeProperties,
    /// The filters; at least one.
    pub filters: Vec<TopicFilter>,
}

/// UNSUBACK of MQTT 5.0: unlike 3.1.1 it has one reason code per filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnsubAck {
    /// The packet identifier.
    pub pid: PacketId,
    /// Properties.
    pub properties: AckProperties,
    /// One reason code per filter, in order.
    pub reason_codes: Vec<ReasonCode>,
}

impl Subscribe {
    /// Appends the encoded packet to `buf`. On error nothing was appended.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        todo!()
    }

    pub(crate) fn decode(body: Body) -> Result<Self, DecodeError> {
        todo!()
    }
}

impl SubAck {
    /// Appends the encoded packet to `buf`. On error nothing was appended.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        todo!()
    }

    pub(crate) fn decode(body: Body) -> Result<Self, DecodeError> {
        todo!()
    }
}

impl Unsubscribe {
    /// Appends the encoded packet to `buf`. On error nothing was appended.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        todo!()
    }

    pub(crate) fn decode(body: Body) -> Result<Self, DecodeError> {
        todo!()
    }
}

impl UnsubAck {
    /// Appends the encoded packet to `buf`. On error nothing was appended.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        todo!()
    }

    pub(crate) fn decode(body: Body) -> Result<Self, DecodeError> {
        todo!()
    }
}
