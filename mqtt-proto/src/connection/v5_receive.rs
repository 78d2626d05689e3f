//! What each MQTT 5.0 packet from the broker does. The session logic is
//! 3.1.1's (`receive.rs`); this file adds what 5.0 says on top: CONNACK's
//! reason code and properties, topic aliases and our Receive Maximum on
//! incoming PUBLISH, reason codes on every ack, DISCONNECT from the
//! broker, and AUTH.

use super::keep_alive::KeepAlive;
use super::receive::Ack;
use super::*;
use crate::packet::v5::{self, PubResponse, ReasonCode};
use core::time::Duration;

impl Connection {
    pub(super) fn handle_packet_v5(&mut self, now: Instant, packet: v5::Packet) {
        if self.state == State::Connecting {
            match packet {
                v5::Packet::ConnAck(connack) => self.on_connack_v5(now, connack),
                v5::Packet::Auth(auth) => self.on_auth(auth),
                v5::Packet::Disconnect(d) => self.on_server_disconnect(d),
                // Only CONNACK (or AUTH) may come first.
                other => self.violation(ProtocolViolation::UnexpectedPacket(other.packet_type())),
            }
            return;
        }
        match packet {
            v5::Packet::Publish(p) => self.on_publish_v5(p),
            v5::Packet::PubAck(a) => {
                let ack = details(&a);
                self.on_puback(a.pid, ack);
            }
            v5::Packet::PubRec(r) if r.reason_code.is_error() => {
                // [5.0 MQTT-4.3.3-4] PUBREL answers only a PUBREC below
                // 0x80: an error code ends the exchange and frees the id.
                let pid = r.pid;
                let ack = details(&r);
                match self.outgoing.on_pubrec_refused(pid) {
                    AckOutcome::Completed(id) => self.complete(pid, id, ack),
                    _ => self.unknown_id(packet::PacketType::PubRec, pid),
                }
            }
            v5::Packet::PubRec(r) => self.on_pubrec(r.pid),
            v5::Packet::PubComp(c) => {
                let ack = details(&c);
                self.on_pubcomp(c.pid, ack);
            }
            v5::Packet::PubRel(r) => self.on_pubrel(r.pid),
            v5::Packet::SubAck(s) => {
                let outcomes = s
                    .reason_codes
                    .iter()
                    .map(|&code| match code {
                        ReasonCode::Success => SubscribeOutcome::Granted(QoS::AtMostOnce),
                        ReasonCode::GrantedQoS1 => SubscribeOutcome::Granted(QoS::AtLeastOnce),
                        ReasonCode::GrantedQoS2 => SubscribeOutcome::Granted(QoS::ExactlyOnce),
                        refused => SubscribeOutcome::Rejected(refused),
                    })
                    .collect();
                self.on_suback(s.pid, outcomes);
            }
            v5::Packet::UnsubAck(u) => self.on_unsuback(u.pid, u.reason_codes),
            v5::Packet::PingResp => {}
            v5::Packet::Disconnect(d) => self.on_server_disconnect(d),
            v5::Packet::Auth(auth) => self.on_auth(auth),
            v5::Packet::ConnAck(_) => self.violation(ProtocolViolation::DuplicateConnAck),
            other @ (v5::Packet::Connect(_)
            | v5::Packet::Subscribe(_)
            | v5::Packet::Unsubscribe(_)
            | v5::Packet::PingReq) => {
                self.violation(ProtocolViolation::UnexpectedPacket(other.packet_type()))
            }
        }
    }

    fn on_connack_v5(&mut self, now: Instant, connack: Box<v5::ConnAck>) {
        let v5::ConnAck {
            session_present,
            reason_code,
            properties,
        } = *connack;
        if reason_code.is_error() {
            self.lose(DisconnectReason::Rejected(ServerReason {
                reason: reason_code,
                reason_string: properties.reason_string,
                server_reference: properties.server_reference,
            }));
            return;
        }
        // The broker named us: later connections resume the session under
        // that name (5.0 section 3.2.2.3.7).
        if let Some(id) = &properties.assigned_client_identifier {
            if self.options.client_id.is_empty() {
                self.options.client_id = id.clone();
            }
        }
        // The broker's keep-alive replaces ours [5.0 MQTT-3.2.2-21], for this
        // connection only: without one, ours holds again (an earlier
        // CONNACK's value must not linger).
        self.keep_alive = match properties.server_keep_alive {
            Some(secs) => {
                let interval = (secs != 0).then(|| Duration::from_secs(u64::from(secs)));
                let ping_timeout = self
                    .options
                    .ping_timeout
                    .or_else(|| interval.map(|k| k / 2))
                    .unwrap_or(Duration::from_secs(30));
                KeepAlive::new(interval, ping_timeout)
            }
            None => KeepAlive::new(
                self.options.effective_keep_alive(),
                self.options.effective_ping_timeout(),
            ),
        };
        if let Some(v5) = &mut self.v5 {
            v5.on_connack(&self.options, Box::new(properties));
        }
        self.accept(now, session_present);
    }

    fn on_publish_v5(&mut self, p: v5::Publish) {
        let v5::Publish {
            dup,
            qos_pid,
            retain,
            topic,
            mut properties,
            payload,
        } = p;
        let alias = properties.topic_alias.take();
        let resolved = match &mut self.v5 {
            Some(v5) => v5.aliases.incoming(topic, alias),
            None => return,
        };
        let Ok(topic) = resolved else {
            self.violation(ProtocolViolation::InvalidTopicAlias);
            return;
        };
        // [5.0 MQTT-3.3.4-9] the broker may not have more unacknowledged QoS 1
        // and 2 messages towards us than our Receive Maximum.
        if qos_pid != QosPid::AtMostOnce
            && self.incoming.unacknowledged() >= usize::from(self.options.v5.receive_maximum)
            && !self.is_redelivery(qos_pid)
        {
            self.violation(ProtocolViolation::ReceiveMaximumExceeded);
            return;
        }
        let message = Message {
            topic,
            payload,
            qos: qos_pid.qos(),
            retain,
            dup,
            properties: (!properties.is_empty()).then(|| Box::new(properties)),
        };
        self.on_publish(message, qos_pid);
    }

    /// Whether a QoS 1 or 2 PUBLISH is a copy of one not yet acknowledged,
    /// which takes no new place in the broker's quota.
    fn is_redelivery(&self, qos_pid: QosPid) -> bool {
        qos_pid
            .pid()
            .is_some_and(|pid| self.incoming.is_unacknowledged(pid))
    }

    fn on_server_disconnect(&mut self, d: v5::Disconnect) {
        self.lose(DisconnectReason::ServerDisconnect(ServerReason {
            reason: d.reason_code,
            reason_string: d.properties.reason_string,
            server_reference: d.properties.server_reference,
        }));
    }

    fn on_auth(&mut self, auth: v5::Auth) {
        // Only a connection that asked for enhanced authentication takes
        // part in it, and only with its own method (section 4.12).
        let ours = self.options.v5.authentication_method.as_ref();
        if ours.is_none() || auth.properties.authentication_method.as_ref() != ours {
            self.violation(ProtocolViolation::UnexpectedAuth);
            return;
        }
        self.events.push_back(Event::Auth {
            reason: auth.reason_code,
            properties: Box::new(auth.properties),
        });
    }
}

/// The reason code and properties of an ack, unless it was plain success.
fn details(ack: &PubResponse) -> Option<Ack> {
    let plain = ack.reason_code == ReasonCode::Success && ack.properties == Default::default();
    (!plain).then(|| (ack.reason_code, ack.properties.clone()))
}
