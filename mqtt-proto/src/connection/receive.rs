//! What each packet from the broker does to the session: CONNACK (and the
//! session resent or discarded after it), incoming PUBLISH, and the acks of
//! our own publishes and requests. A packet out of place is a protocol
//! violation and ends the connection [MQTT-4.8.0-1].

use super::wire::write_publish;
use super::*;
use crate::packet::v5::{self, AckProperties, ReasonCode};
use crate::packet::Protocol;

/// A 5.0 acknowledgement that said more than plain success.
pub(super) type Ack = (ReasonCode, AckProperties);

impl Connection {
    pub(super) fn handle_packet(&mut self, now: Instant, packet: Packet) {
        if self.state == State::Connecting {
            match packet {
                Packet::ConnAck(connack) => self.on_connack(now, connack),
                // Only CONNACK may come first.
                other => self.violation(ProtocolViolation::UnexpectedPacket(other.packet_type())),
            }
            return;
        }
        match packet {
            Packet::Publish(p) => {
                let message = Message {
                    topic: p.topic,
                    payload: p.payload,
                    qos: p.qos_pid.qos(),
                    retain: p.retain,
                    dup: p.dup,
                    properties: None,
                };
                self.on_publish(message, p.qos_pid);
            }
            Packet::PubAck(a) => self.on_puback(a.pid, None),
            Packet::PubRec(r) => self.on_pubrec(r.pid),
            Packet::PubComp(c) => self.on_pubcomp(c.pid, None),
            Packet::PubRel(r) => self.on_pubrel(r.pid),
            Packet::SubAck(s) => {
                let outcomes = s
                    .return_codes
                    .iter()
                    .map(|c| match c {
                        SubscribeReturnCode::Success(qos) => SubscribeOutcome::Granted(*qos),
                        SubscribeReturnCode::Failure => SubscribeOutcome::Refused,
                    })
                    .collect();
                self.on_suback(s.pid, outcomes);
            }
            Packet::UnsubAck(u) => self.on_unsuback(u.pid, Vec::new()),
            Packet::PingResp => {}
            Packet::ConnAck(_) => self.violation(ProtocolViolation::DuplicateConnAck),
            other @ (Packet::Connect(_)
            | Packet::Subscribe(_)
            | Packet::Unsubscribe(_)
            | Packet::PingReq
            | Packet::Disconnect) => {
                self.violation(ProtocolViolation::UnexpectedPacket(other.packet_type()))
            }
        }
    }

    /// PUBACK; at 5.0 `ack` holds its reason code and properties unless it
    /// was a plain success.
    pub(super) fn on_puback(&mut self, pid: PacketId, ack: Option<Ack>) {
        match self.outgoing.on_puback(pid) {
            AckOutcome::Completed(id) => self.complete(pid, id, ack),
            _ => self.unknown_id(packet::PacketType::PubAck, pid),
        }
    }

    pub(super) fn on_pubrec(&mut self, pid: PacketId) {
        match self.outgoing.on_pubrec(pid) {
            // [MQTT-4.3.3-1] answer PUBREC with PUBREL, same id.
            AckOutcome::SendPubRel { released } => {
                if let Some(id) = released {
                    self.record(|| StoreOp::Released { id });
                }
                self.encode(&Packet::PubRel(PubRel::new(pid)));
            }
            _ => self.unknown_id(packet::PacketType::PubRec, pid),
        }
    }

    pub(super) fn on_pubcomp(&mut self, pid: PacketId, ack: Option<Ack>) {
        match self.outgoing.on_pubcomp(pid) {
            AckOutcome::Completed(id) => self.complete(pid, id, ack),
            _ => self.unknown_id(packet::PacketType::PubComp, pid),
        }
    }

    pub(super) fn on_pubrel(&mut self, pid: PacketId) {
        // [MQTT-4.3.3-2] answer PUBREL with PUBCOMP; the id is new
        // again afterwards.
        if self.incoming.on_pubrel(pid) {
            self.record(|| StoreOp::Forgotten { pid });
        }
        self.encode(&Packet::PubComp(PubComp::new(pid)));
    }

    pub(super) fn on_unsuback(&mut self, pid: PacketId, reasons: Vec<ReasonCode>) {
        if self.requests.take_unsubscribe(pid) {
            self.ids.release(pid);
            self.answered();
            let plain = reasons.iter().all(|r| *r == ReasonCode::Success);
            self.events.push_back(if plain {
                Event::Unsubscribed { id: pid }
            } else {
                Event::UnsubscribeAcked { id: pid, reasons }
            });
        } else {
            self.unknown_id(packet::PacketType::UnsubAck, pid);
        }
    }

    pub(super) fn unknown_id(&mut self, packet_type: packet::PacketType, pid: PacketId) {
        self.violation(ProtocolViolation::UnknownPacketId { packet_type, pid });
    }

    pub(super) fn complete(&mut self, pid: PacketId, id: PublishId, ack: Option<Ack>) {
        self.record(|| StoreOp::Done { id });
        self.ids.release(pid);
        self.answered();
        self.events.push_back(match ack {
            None => Event::Published { id },
            Some((reason, properties)) => Event::PublishAcked {
                id,
                reason,
                properties,
            },
        });
        self.pump();
        self.check_drained();
    }

    /// The broker answered a request: the connection really works.
    fn answered(&mut self) {
        if let Some(reconnect) = &mut self.reconnect {
            reconnect.on_answer();
        }
    }

    fn on_connack(&mut self, now: Instant, connack: ConnAck) {
        if connack.code != ConnectReturnCode::Accepted {
            self.lose(DisconnectReason::Refused(connack.code));
            return;
        }
        self.accept(now, connack.session_present);
    }

    /// The broker accepted the connection: resume or discard the session,
    /// send what waits.
    pub(super) fn accept(&mut self, now: Instant, session_present: bool) {
        if session_present && self.options.clean_session {
            self.violation(ProtocolViolation::SessionPresentOnCleanSession);
            return;
        }
        // MQTT 3.1's CONNACK has no Session Present flag (the byte is
        // reserved): a clean-session-0 connection is taken to resume its
        // session, so messages in flight are resent with their ids
        // [MQTT-4.4.0-1] rather than as new ones (which would deliver QoS 2
        // twice), and the filters are subscribed again, since nothing tells
        // whether the broker kept them.
        let v31_resumed = self.options.protocol == Protocol::V31 && !self.options.clean_session;
        let resumed = session_present || v31_resumed;
        self.state = State::Connected;
        self.timers.stop(Timer::ConnAck);
        self.keep_alive.start(now, &mut self.timers);
        if let Some(reconnect) = &mut self.reconnect {
            reconnect.on_connected(now);
        }
        self.events.push_back(Event::Connected {
            session_present: resumed,
        });
        if resumed {
            self.resend_session();
        } else {
            self.discard_session();
        }
        self.connected_once = true;
        let requests: Vec<Request> = self.requests.iter().cloned().collect();
        for request in &requests {
            self.encode_request(request);
        }
        if (!session_present || v31_resumed) && self.options.resubscribe {
            self.resubscribe();
        }
        self.flush_acks();
        self.pump();
        self.check_drained();
    }

    /// The broker holds none of the session's filters: subscribe again to
    /// those no pending request asks for (see `subscriptions.rs`), in
    /// SUBSCRIBE packets within the broker's Maximum Packet Size too
    /// [5.0 MQTT-3.2.2-15].
    fn resubscribe(&mut self) {
        let pending = self.requests.iter().flat_map(|r| match r {
            Request::Subscribe(s) => s.filters.as_slice(),
            Request::Unsubscribe(_) => &[],
        });
        let batches = self
            .subscriptions
            .to_resubscribe(pending.map(|(f, _)| f), self.max_packet_out());
        for batch in batches {
            let Some(pid) = self.ids.allocate() else {
                // Every id is taken by messages in flight; what is left
                // waits for the next lost session. Rare enough not to
                // queue: 65,535 exchanges would have to be open.
                break;
            };
            let request = Request::Subscribe(v5::Subscribe {
                pid,
                properties: v5::SubscribeProperties {
                    subscription_identifier: batch.id,
                    user_properties: Vec::new(),
                },
                filters: batch.filters,
            });
            self.encode_request(&request);
            self.requests.push(request);
            self.subscriptions.mark_resubscribe(pid);
        }
    }

    /// [MQTT-4.4.0-1] resend unacknowledged PUBLISH (with DUP 1
    /// [MQTT-3.3.1-1], unless its bytes never left) and PUBREL, with their original ids, in their original
    /// order [MQTT-4.6.0-1].
    ///
    /// At 5.0 the broker's Receive Maximum bounds the PUBLISH packets
    /// resent too [5.0 MQTT-3.3.4-7]: those beyond it are held back, and
    /// `pump` sends them, before any new message, as acks make room.
    fn resend_session(&mut self) {
        let window = if self.is_v5() {
            self.window()
        } else {
            usize::MAX
        };
        let mut published = 0;
        for i in 0..self.outgoing.inflight.len() {
            self.outgoing.set_held_back(i, false);
            let publish = self
                .outgoing
                .inflight
                .get(i)
                .is_some_and(|m| m.stage != Stage::Released);
            if publish {
                if published >= window {
                    self.outgoing.set_held_back(i, true);
                    continue;
                }
                published += 1;
            }
            let dup = self.outgoing.re_encode(i);
            let Some(m) = self.outgoing.inflight.get(i) else {
                break;
            };
            let _ = match m.stage {
                Stage::SentQos1 => write_publish(
                    &mut self.tx,
                    self.v5.as_deref_mut(),
                    dup,
                    QosPid::AtLeastOnce(m.pid),
                    &m.message,
                ),
                Stage::SentQos2 => write_publish(
                    &mut self.tx,
                    self.v5.as_deref_mut(),
                    dup,
                    QosPid::ExactlyOnce(m.pid),
                    &m.message,
                ),
                Stage::Released => {
                    let pid = m.pid;
                    self.encode(&Packet::PubRel(PubRel::new(pid)));
                    Ok(())
                }
            };
        }
    }

    /// A PUBLISH from the broker, its topic resolved.
    #[inline]
    pub(super) fn on_publish(&mut self, message: Message, qos_pid: QosPid) {
        let manual = self.options.manual_acks;
        let arrival = match qos_pid {
            QosPid::AtMostOnce => Arrival::Deliver {
                token: None,
                send: None,
            },
            QosPid::AtLeastOnce(pid) => self.incoming.on_qos1(pid, manual, message.dup),
            QosPid::ExactlyOnce(pid) => self.incoming.on_qos2(pid, manual),
        };
        match arrival {
            Arrival::Deliver { token, send } => {
                if let (None, QosPid::ExactlyOnce(pid)) = (token, qos_pid) {
                    // Taken at once: a store keeps the id before the
                    // message reaches the application.
                    self.record(|| StoreOp::Received { pid });
                }
                // [MQTT-4.5.0-2] [MQTT-3.3.4-1] the ack goes out whatever the
                // application does with the message.
                if let Some(owed) = send {
                    self.send_owed(owed);
                }
                self.events.push_back(Event::Message {
                    message,
                    ack: token,
                });
            }
            Arrival::Duplicate { send } => {
                if let Some(owed) = send {
                    self.send_owed(owed);
                }
                self.flush_acks();
            }
            Arrival::IdReused => {
                if let Some(pid) = qos_pid.pid() {
                    self.violation(ProtocolViolation::PacketIdReused(pid));
                }
            }
            Arrival::Flooded => self.violation(ProtocolViolation::RepeatFlood),
        }
    }

    /// A SUBACK for `pid`, its codes already turned into outcomes.
    pub(super) fn on_suback(&mut self, pid: PacketId, outcomes: Vec<SubscribeOutcome>) {
        let filters = self.requests.iter().find_map(|r| match r {
            Request::Subscribe(s) if s.pid == pid => Some(s.filters.len()),
            _ => None,
        });
        match filters {
            None => {
                self.unknown_id(packet::PacketType::SubAck, pid);
                return;
            }
            // Not an answer to the request: it stays pending, keeping its id,
            // and is sent again on the next connection like any request
            // whose ack never came.
            Some(n) if n != outcomes.len() => {
                self.violation(ProtocolViolation::SubAckCountMismatch);
                return;
            }
            Some(_) => {}
        }
        let Some(request) = self.requests.take_subscribe(pid) else {
            return;
        };
        self.ids.release(pid);
        self.answered();
        for ((filter, _), outcome) in request.filters.iter().zip(&outcomes) {
            // A later SUBSCRIBE for the filter, still pending, replaced this
            // one [MQTT-3.8.4-3]: its SUBACK decides whether it is held.
            let superseded = self.requests.iter().any(|r| match r {
                Request::Subscribe(s) => s.filters.iter().any(|(f, _)| f == filter),
                Request::Unsubscribe(_) => false,
            });
            if !outcome.is_granted() && !superseded {
                self.record(|| StoreOp::Unsubscribed {
                    filter: filter.clone(),
                });
                self.subscriptions.on_refused(filter);
            }
        }
        if self.subscriptions.take_resubscribe(pid) {
            let filters = request
                .filters
                .into_iter()
                .map(|(f, _)| f)
                .zip(outcomes)
                .collect();
            self.events.push_back(Event::Resubscribed { filters });
            return;
        }
        self.events
            .push_back(Event::Subscribed { id: pid, outcomes });
    }
}
