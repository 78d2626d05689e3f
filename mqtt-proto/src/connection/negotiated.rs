//! What an MQTT 5.0 connection agreed on in CONNECT and CONNACK (section
//! 3.2.2.3): the broker's Receive Maximum, which bounds our window of
//! publishes in flight [5.0 MQTT-3.3.4-7]; its Maximum Packet Size, above which
//! we send nothing [5.0 MQTT-3.2.2-15]; its Topic Alias Maximum; and the rest
//! of its CONNACK properties for the application to read. Everything here
//! holds for one network connection and is set again by the next CONNACK.

use super::topic_alias::TopicAliases;
use super::wire::publish_size;
use super::{Message, Options};
use crate::packet::v5::{ConnAckProperties, ReasonCode};
use crate::packet::MAX_PACKET_SIZE;
use alloc::boxed::Box;

#[derive(Debug, Clone, Default)]
pub(crate) struct V5State {
    /// The broker's Receive Maximum (65,535 when absent).
    pub(crate) send_maximum: u16,
    /// The broker's Maximum Packet Size (the protocol's when absent).
    pub(crate) max_packet_out: usize,
    pub(crate) aliases: TopicAliases,
    /// The last CONNACK's properties.
    pub(crate) connack: Option<Box<ConnAckProperties>>,
}

impl V5State {
    pub(crate) fn new() -> V5State {
        V5State {
            send_maximum: u16::MAX,
            max_packet_out: MAX_PACKET_SIZE,
            aliases: TopicAliases::default(),
            connack: None,
        }
    }

    /// A new transport: nothing negotiated yet. Until CONNACK says
    /// otherwise, the protocol's defaults hold.
    pub(crate) fn on_connect(&mut self) {
        *self = V5State::new();
    }

    /// The broker's CONNACK accepted us with `props`.
    pub(crate) fn on_connack(&mut self, options: &Options, props: Box<ConnAckProperties>) {
        self.send_maximum = props.receive_maximum.unwrap_or(u16::MAX);
        self.max_packet_out = props
            .maximum_packet_size
            .map_or(MAX_PACKET_SIZE, |m| {
                usize::try_from(m).unwrap_or(MAX_PACKET_SIZE)
            })
            .min(MAX_PACKET_SIZE);
        let outgoing = options
            .v5
            .outgoing_topic_aliases
            .min(props.topic_alias_maximum.unwrap_or(0));
        self.aliases.reset(options.v5.topic_alias_maximum, outgoing);
        self.connack = Some(props);
    }

    /// Why the broker would refuse `message`, if it would: larger than its
    /// Maximum Packet Size [5.0 MQTT-3.2.2-15], above its Maximum QoS
    /// [5.0 MQTT-3.2.2-11], or retained when it has no retained messages
    /// [5.0 MQTT-3.2.2-14]. The connection refuses such a message itself rather
    /// than break the protocol.
    pub(crate) fn refuses(&self, message: &Message) -> Option<ReasonCode> {
        let props = self.connack.as_deref()?;
        if props.maximum_qos.is_some_and(|max| message.qos > max) {
            return Some(ReasonCode::QoSNotSupported);
        }
        if message.retain && props.retain_available == Some(false) {
            return Some(ReasonCode::RetainNotSupported);
        }
        // Our own maximum, checked by `publish`, is the protocol's at most:
        // only a smaller one from the broker needs the size.
        if self.max_packet_out < MAX_PACKET_SIZE
            && publish_size(true, message) > self.max_packet_out
        {
            return Some(ReasonCode::PacketTooLarge);
        }
        None
    }
}
