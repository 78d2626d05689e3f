//! Bytes at the negotiated protocol level. The session logic builds 3.1.1
//! acknowledgements and 5.0-shaped requests and messages; this file is the
//! one place that turns them into the bytes of the protocol in use (a
//! 3.1.1 connection never pays for 5.0's properties), and the one place
//! where bytes come back in as packets.

use super::negotiated::V5State;
use super::topic_alias::OutgoingTopic;
use super::*;
use crate::packet::v5::{self, PubResponse, PublishProperties};
use crate::packet::DecodeError;

impl Connection {
    /// Whether the connection speaks MQTT 5.0.
    pub(super) fn is_v5(&self) -> bool {
        self.v5.is_some()
    }

    /// Encodes one of the packets the session builds itself: an
    /// acknowledgement, PINGREQ or DISCONNECT.
    pub(super) fn encode(&mut self, packet: &Packet) {
        // Every packet the connection builds was validated when its command
        // was accepted (sizes against max_packet_size, which is capped at the
        // protocol maximum; non-empty filter lists), so encoding cannot fail;
        // were it to, dropping the packet beats panicking.
        if self.v5.is_none() {
            let _ = packet.encode(&mut self.tx);
            return;
        }
        let packet = match packet {
            Packet::PubAck(a) => v5::Packet::PubAck(PubResponse::success(a.pid)),
            Packet::PubRec(a) => v5::Packet::PubRec(PubResponse::success(a.pid)),
            Packet::PubRel(a) => v5::Packet::PubRel(PubResponse::success(a.pid)),
            Packet::PubComp(a) => v5::Packet::PubComp(PubResponse::success(a.pid)),
            Packet::PingReq => v5::Packet::PingReq,
            // Normal disconnection: the will is not sent [MQTT-3.14.4-3].
            Packet::Disconnect => v5::Packet::Disconnect(v5::Disconnect {
                reason_code: v5::ReasonCode::Success,
                properties: Default::default(),
            }),
            // The session builds no other packet through here.
            _ => return,
        };
        let _ = packet.encode(&mut self.tx);
    }

    /// Encodes a SUBSCRIBE or UNSUBSCRIBE (validated when its command was
    /// accepted, so encoding cannot fail; were it to, it would be dropped).
    pub(super) fn encode_request(&mut self, request: &Request) {
        let _ = write_request(&mut self.tx, self.v5.is_some(), request);
    }

    /// The largest packet we may send: our own `max_packet_size`, and at
    /// 5.0 the broker's Maximum Packet Size [5.0 MQTT-3.2.2-15].
    pub(super) fn max_packet_out(&self) -> usize {
        let ours = self.options.max_packet_size;
        self.v5
            .as_ref()
            .map_or(ours, |v5| ours.min(v5.max_packet_out))
    }

    /// Bytes a request takes on the wire at this connection's level
    /// (requests are rare: encoding one is the simplest exact measure).
    pub(super) fn request_size(&self, request: &Request) -> usize {
        let mut scratch = BytesMut::new();
        let _ = write_request(&mut scratch, self.v5.is_some(), request);
        scratch.len()
    }

    /// Takes the next whole packet off the receive buffer and handles it;
    /// `false` when more bytes are needed or the connection ended.
    pub(super) fn receive_one(&mut self, now: Instant) -> bool {
        let max = self.options.max_packet_size;
        // Two direct calls, so that each level's handling can be inlined
        // here; a 3.1.1 packet never goes through a slot the size of a 5.0
        // one.
        if self.v5.is_some() {
            match v5::decode(&mut self.rx, max) {
                Ok(Some(packet)) => {
                    self.keep_alive.on_received(now, &mut self.timers);
                    self.handle_packet_v5(now, packet);
                    true
                }
                Ok(None) => false,
                Err(e) => self.malformed(e),
            }
        } else {
            match packet::decode(&mut self.rx, max) {
                Ok(Some(packet)) => {
                    self.keep_alive.on_received(now, &mut self.timers);
                    self.handle_packet(now, packet);
                    true
                }
                Ok(None) => false,
                Err(e) => self.malformed(e),
            }
        }
    }

    /// Bytes that are no packet end the connection [MQTT-4.8.0-1].
    fn malformed(&mut self, e: DecodeError) -> bool {
        self.violation(ProtocolViolation::Malformed(e));
        false
    }
}

/// Encodes a SUBSCRIBE or UNSUBSCRIBE at the level in use; at 3.1.1 the
/// 5.0 subscription options other than QoS, and the properties, are left
/// out.
fn write_request(buf: &mut BytesMut, v5: bool, request: &Request) -> Result<(), EncodeError> {
    match (v5, request) {
        (true, Request::Subscribe(s)) => s.encode(buf),
        (true, Request::Unsubscribe(u)) => u.encode(buf),
        (false, Request::Subscribe(s)) => {
            let filters = s.filters.iter().map(|(f, o)| (f.clone(), o.qos)).collect();
            packet::Subscribe {
                pid: s.pid,
                filters,
            }
            .encode(buf)
        }
        (false, Request::Unsubscribe(u)) => packet::Unsubscribe {
            pid: u.pid,
            filters: u.filters.clone(),
        }
        .encode(buf),
    }
}

/// Bytes a PUBLISH of `message` takes at 3.1.1, or at 5.0 with its
/// properties and no alias.
pub(super) fn publish_size(v5: bool, message: &Message) -> usize {
    if v5 {
        // What `write_publish` sends: no Subscription Identifier.
        let props = message.properties();
        let stripped: PublishProperties;
        let properties = if props.subscription_identifiers.is_empty() {
            props
        } else {
            stripped = PublishProperties {
                subscription_identifiers: Vec::new(),
                ..props.clone()
            };
            &stripped
        };
        v5::PublishParts {
            dup: false,
            qos_pid: qos_pid_for_size(message.qos),
            retain: message.retain,
            topic: Some(&message.topic),
            properties,
            payload: &message.payload,
        }
        .encoded_len()
    } else {
        let id = if message.qos == QoS::AtMostOnce { 0 } else { 2 };
        let remaining = 2 + message.topic.len() + id + message.payload.len();
        1 + remaining_length_len(remaining) + remaining
    }
}

fn qos_pid_for_size(qos: QoS) -> QosPid {
    // Any id takes two bytes; 1 stands for all of them.
    let any = PacketId::new(1);
    match (qos, any) {
        (QoS::AtLeastOnce, Some(pid)) => QosPid::AtLeastOnce(pid),
        (QoS::ExactlyOnce, Some(pid)) => QosPid::ExactlyOnce(pid),
        _ => QosPid::AtMostOnce,
    }
}

/// Encodes a PUBLISH for `message` straight from the connection's own copy,
/// without cloning its topic and payload. Its size was checked against
/// `max_packet_size` (and at 5.0 the broker's maximum) when it was accepted
/// or sent, so encoding cannot fail; were it to, the packet would be
/// dropped rather than panic. At 5.0 the topic may go out as an alias.
pub(super) fn write_publish(
    tx: &mut BytesMut,
    v5: Option<&mut V5State>,
    dup: bool,
    qos_pid: QosPid,
    message: &Message,
) -> Result<(), EncodeError> {
    let Some(v5) = v5 else {
        return PublishParts {
            dup,
            qos_pid,
            retain: message.retain,
            topic: &message.topic,
            payload: &message.payload,
        }
        .encode(tx);
    };
    let props = message.properties();
    let choice = v5.aliases.outgoing(&message.topic);
    let (topic, alias) = match choice {
        OutgoingTopic::Plain => (Some(&message.topic), None),
        OutgoingTopic::Set(alias) => (Some(&message.topic), Some(alias)),
        OutgoingTopic::Use(alias) => (None, Some(alias)),
    };
    // The alias is the connection's to choose: one the application set is
    // replaced, or dropped. A PUBLISH we send carries no Subscription
    // Identifier [5.0 MQTT-3.3.4-6] (a received message passed on as it is
    // has some).
    let aliased: PublishProperties;
    let properties = if props.topic_alias == alias && props.subscription_identifiers.is_empty() {
        props
    } else {
        aliased = PublishProperties {
            topic_alias: alias,
            subscription_identifiers: Vec::new(),
            ..props.clone()
        };
        &aliased
    };
    let parts = v5::PublishParts {
        dup,
        qos_pid,
        retain: message.retain,
        topic,
        properties,
        payload: &message.payload,
    };
    // The alias property takes three bytes: it must not push a PUBLISH
    // that fits in full past the broker's Maximum Packet Size
    // [5.0 MQTT-3.2.2-15]. Then the topic goes in full, without an alias,
    // and an alias just set is given back.
    if alias.is_some() && parts.encoded_len() > v5.max_packet_out {
        if let OutgoingTopic::Set(_) = choice {
            v5.aliases.unset(&message.topic);
        }
        let plain = PublishProperties {
            topic_alias: None,
            ..properties.clone()
        };
        return v5::PublishParts {
            topic: Some(&message.topic),
            properties: &plain,
            ..parts
        }
        .encode(tx);
    }
    parts.encode(tx)
}
