//! PUBLISH at the model broker: what a client's publish does (the QoS
//! flows as the receiver), routing it to the matching sessions, and
//! sending each session's messages as the QoS flows allow.

use super::*;

impl ModelBroker {
    pub(super) fn on_publish(&mut self, id: ConnId, client: &str, p: Publish) {
        // At 5.0 the broker refuses some publishes with an error code, and
        // says when nobody subscribes to a topic.
        let v5 = self.conns.get(&id).is_some_and(|c| c.level == Level::V5);
        let refusal = if v5 && p.qos() != QoS::AtMostOnce {
            self.refusal(&p.payload)
        } else {
            None
        };
        if let Some(plan) = self.v5.as_mut().filter(|_| refusal.is_some()) {
            plan.counts.error_acks += 1;
        }
        let no_match = |broker: &mut ModelBroker, matched: bool| {
            if !v5 || matched {
                return Extra::default();
            }
            if let Some(plan) = broker.v5.as_mut() {
                plan.counts.no_match += 1;
            }
            Extra {
                reason: Some(ReasonCode::NoMatchingSubscribers),
                ..Extra::default()
            }
        };
        match p.qos_pid {
            QosPid::AtMostOnce => {
                self.route(&p);
            }
            QosPid::AtLeastOnce(pid) => {
                let extra = match refusal {
                    Some(code) => Extra {
                        reason: Some(code),
                        ..Extra::default()
                    },
                    None => {
                        let matched = self.route(&p);
                        no_match(self, matched)
                    }
                };
                self.send_x(id, Packet::PubAck(PubAck::new(pid)), extra);
            }
            QosPid::ExactlyOnce(pid) => {
                if let Some(c) = self.conns.get_mut(&id) {
                    c.refused_qos2.remove(&pid.get());
                }
                if let Some(code) = refusal {
                    // Refused: nothing is kept, and the exchange is over.
                    let held = self
                        .sessions
                        .get(client)
                        .is_some_and(|s| s.inbound_qos2.contains_key(&pid.get()));
                    assert!(!held, "QoS 2 id {pid} reused before PUBREL");
                    if let Some(c) = self.conns.get_mut(&id) {
                        c.refused_qos2.insert(pid.get(), code);
                    }
                    let extra = Extra {
                        reason: Some(code),
                        ..Extra::default()
                    };
                    self.send_x(id, Packet::PubRec(PubRec::new(pid)), extra);
                    return;
                }
                let new = self.sessions.get_mut(client).is_some_and(|s| {
                    s.inbound_qos2
                        .insert(pid.get(), p.payload.clone())
                        .is_none()
                });
                let extra = if new {
                    let matched = self.route(&p);
                    no_match(self, matched)
                } else {
                    assert!(
                        p.dup,
                        "[MQTT-2.3.1-2] QoS 2 id {pid} reused before PUBREL without DUP"
                    );
                    Extra::default()
                };
                self.send_x(id, Packet::PubRec(PubRec::new(pid)), extra);
            }
        }
    }

    /// Routes a message to the matching sessions: whether any matched.
    pub(super) fn route(&mut self, p: &Publish) -> bool {
        let mut matched = false;
        let mut missed: BTreeSet<&String> = self.known.iter().collect();
        for (client, s) in self.sessions.iter_mut() {
            // A clean session without a connection is gone already; one
            // with CleanSession 0 queues for later [MQTT-3.1.2-4].
            let best = s
                .subs
                .iter()
                .filter(|(f, _)| f.matches(&p.topic))
                .map(|(_, q)| *q)
                .max();
            if let Some(sub_qos) = best {
                matched = true;
                missed.remove(client);
                self.routed += 1;
                s.queue.push_back(Stored {
                    topic: p.topic.clone(),
                    payload: p.payload.clone(),
                    qos: sub_qos.min(p.qos()),
                });
            }
        }
        if self.plan.is_some() {
            let missed: Vec<(String, Bytes)> = missed
                .into_iter()
                .map(|c| (c.clone(), p.payload.clone()))
                .collect();
            self.lost.extend(missed);
        }
        let clients: Vec<String> = self.sessions.keys().cloned().collect();
        for c in clients {
            self.pump(&c);
        }
        matched
    }

    /// Ends the exchange of `pid`; whether there was one.
    pub(super) fn finish(&mut self, client: &str, pid: PacketId, qos2: bool) -> bool {
        let Some(s) = self.sessions.get_mut(client) else {
            return false;
        };
        let before = s.inflight.len();
        s.inflight.retain(|(p, m, released)| {
            !(*p == pid && (m.qos == QoS::ExactlyOnce) == qos2 && (!qos2 || *released))
        });
        s.inflight.len() != before
    }

    /// Sends queued messages to a connected session while its window allows.
    pub(super) fn pump(&mut self, client: &str) {
        let Some(s) = self.sessions.get_mut(client) else {
            return;
        };
        let Some(id) = s.conn else {
            return;
        };
        // Ids whose answer may still come on this connection stay unused
        // (owed holds a duplicate's; tainted, a misbehaviour's).
        // At 5.0 the client's Receive Maximum bounds the window too.
        let window = self
            .conns
            .get(&id)
            .and_then(|c| c.client_receive_max)
            .map_or(WINDOW, |rm| rm.min(WINDOW));
        let avoid: BTreeSet<u16> = self.conns.get(&id).map_or_else(BTreeSet::new, |c| {
            c.tainted
                .iter()
                .copied()
                .chain(c.owed.iter().map(|p| p.get()))
                .collect()
        });
        let mut out = Vec::new();
        while let Some(m) = s.queue.front() {
            if m.qos != QoS::AtMostOnce && s.inflight.len() >= window {
                break;
            }
            let Some(m) = s.queue.pop_front() else { break };
            if m.qos == QoS::AtMostOnce {
                out.push(Packet::Publish(Publish {
                    dup: false,
                    qos_pid: QosPid::AtMostOnce,
                    retain: false,
                    topic: m.topic,
                    payload: m.payload,
                }));
            } else {
                let pid = s.allocate(&avoid);
                out.push(Packet::Publish(publish(&m, pid, false)));
                s.inflight.push((pid, m, false));
            }
        }
        for p in out {
            self.send(id, p);
        }
    }
}
