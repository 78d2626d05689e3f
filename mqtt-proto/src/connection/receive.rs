//! What each packet from the broker does to the session: CONNACK (and the
//! session resent or discarded after it), incoming PUBLISH, and the acks of
//! our own publishes and requests. A packet out of place is a protocol
//! violation and ends the connection [MQTT-4.8.0-1].

use super::*;

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
            Packet::Publish(p) => self.on_publish(p),
            Packet::PubAck(a) => match self.outgoing.on_puback(a.pid) {
                AckOutcome::Completed(id) => self.complete(a.pid, id),
                _ => self.unknown_id(packet::PacketType::PubAck, a.pid),
            },
            Packet::PubRec(r) => match self.outgoing.on_pubrec(r.pid) {
                // [MQTT-4.3.3-1] answer PUBREC with PUBREL, same id.
                AckOutcome::SendPubRel => self.encode(&Packet::PubRel(PubRel::new(r.pid))),
                _ => self.unknown_id(packet::PacketType::PubRec, r.pid),
            },
            Packet::PubComp(c) => match self.outgoing.on_pubcomp(c.pid) {
                AckOutcome::Completed(id) => self.complete(c.pid, id),
                _ => self.unknown_id(packet::PacketType::PubComp, c.pid),
            },
            Packet::PubRel(r) => {
                // [MQTT-4.3.3-2] answer PUBREL with PUBCOMP; the id is new
                // again afterwards.
                self.incoming.on_pubrel(r.pid);
                self.encode(&Packet::PubComp(PubComp::new(r.pid)));
            }
            Packet::SubAck(s) => self.on_suback(s),
            Packet::UnsubAck(u) => {
                if self.requests.take_unsubscribe(u.pid) {
                    self.ids.release(u.pid);
                    self.events.push_back(Event::Unsubscribed { id: u.pid });
                } else {
                    self.unknown_id(packet::PacketType::UnsubAck, u.pid);
                }
            }
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

    fn unknown_id(&mut self, packet_type: packet::PacketType, pid: PacketId) {
        self.violation(ProtocolViolation::UnknownPacketId { packet_type, pid });
    }

    fn complete(&mut self, pid: PacketId, id: PublishId) {
        self.ids.release(pid);
        self.events.push_back(Event::Published { id });
        self.pump();
    }

    fn on_connack(&mut self, now: Instant, connack: ConnAck) {
        if connack.code != ConnectReturnCode::Accepted {
            self.lose(DisconnectReason::Refused(connack.code));
            return;
        }
        if connack.session_present && self.options.clean_session {
            self.violation(ProtocolViolation::SessionPresentOnCleanSession);
            return;
        }
        self.state = State::Connected;
        self.timers.stop(Timer::ConnAck);
        self.keep_alive.start(now, &mut self.timers);
        self.events.push_back(Event::Connected {
            session_present: connack.session_present,
        });
        if connack.session_present {
            self.resend_session();
        } else {
            self.discard_session();
        }
        let requests: Vec<Request> = self.requests.iter().cloned().collect();
        for request in &requests {
            self.encode_request(request);
        }
        self.flush_acks();
        self.pump();
    }

    /// [MQTT-4.4.0-1] resend unacknowledged PUBLISH (with DUP 1
    /// [MQTT-3.3.1-1], unless its bytes never left) and PUBREL, with their original ids, in their original
    /// order [MQTT-4.6.0-1].
    fn resend_session(&mut self) {
        for i in 0..self.outgoing.inflight.len() {
            let dup = self.outgoing.re_encode(i);
            let Some(m) = self.outgoing.inflight.get(i) else {
                break;
            };
            let _ = match m.stage {
                Stage::SentQos1 => {
                    write_publish(&mut self.tx, dup, QosPid::AtLeastOnce(m.pid), &m.message)
                }
                Stage::SentQos2 => {
                    write_publish(&mut self.tx, dup, QosPid::ExactlyOnce(m.pid), &m.message)
                }
                Stage::Released => PubRel::new(m.pid).encode(&mut self.tx),
            };
        }
    }

    /// The broker has no session for us [MQTT-3.1.2-6]: forget QoS 2 ids and
    /// owed acks, and send unacknowledged messages again as new ones.
    fn discard_session(&mut self) {
        self.incoming.clear();
        let (freed, completed) = self.outgoing.requeue_after_session_loss();
        for pid in freed {
            self.ids.release(pid);
        }
        for id in completed {
            self.events.push_back(Event::Published { id });
        }
    }

    fn on_publish(&mut self, p: Publish) {
        let message = Message {
            topic: p.topic,
            payload: p.payload,
            qos: p.qos_pid.qos(),
            retain: p.retain,
            dup: p.dup,
        };
        let manual = self.options.manual_acks;
        let arrival = match p.qos_pid {
            QosPid::AtMostOnce => Arrival::Deliver {
                token: None,
                send: None,
            },
            QosPid::AtLeastOnce(pid) => self.incoming.on_qos1(pid, manual, p.dup),
            QosPid::ExactlyOnce(pid) => self.incoming.on_qos2(pid, manual),
        };
        match arrival {
            Arrival::Deliver { token, send } => {
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
                if let Some(pid) = p.qos_pid.pid() {
                    self.violation(ProtocolViolation::PacketIdReused(pid));
                }
            }
            Arrival::Flooded => self.violation(ProtocolViolation::RepeatFlood),
        }
    }

    fn on_suback(&mut self, suback: SubAck) {
        let filters = self.requests.iter().find_map(|r| match r {
            Request::Subscribe(s) if s.pid == suback.pid => Some(s.filters.len()),
            _ => None,
        });
        match filters {
            None => {
                self.unknown_id(packet::PacketType::SubAck, suback.pid);
                return;
            }
            // Not an answer to the request: it stays pending, keeping its id,
            // and is sent again on the next connection like any request
            // whose ack never came.
            Some(n) if n != suback.return_codes.len() => {
                self.violation(ProtocolViolation::SubAckCountMismatch);
                return;
            }
            Some(_) => {}
        }
        if self.requests.take_subscribe(suback.pid).is_none() {
            return;
        }
        self.ids.release(suback.pid);
        let outcomes = suback
            .return_codes
            .iter()
            .map(|c| match c {
                SubscribeReturnCode::Success(qos) => SubscribeOutcome::Granted(*qos),
                SubscribeReturnCode::Failure => SubscribeOutcome::Refused,
            })
            .collect();
        self.events.push_back(Event::Subscribed {
            id: suback.pid,
            outcomes,
        });
    }
}
