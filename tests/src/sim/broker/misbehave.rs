//! Where the model broker misbehaves: right after it handles a client
//! packet, it may resend a message, repeat a PUBREL, or break the protocol,
//! as its [`Plan`] decides. The resends and the stale PUBREL are ones a
//! client must take; so that they stay unambiguous, the broker keeps the
//! ids they concern out of use on that connection.

use super::{publish, Conn, ConnId, Level, ModelBroker, Pace, Session, Stored};
use crate::sim::misbehaviour::{Misbehaviour, Plan};
use crate::sim::wire::{encode, Extra};
use bytes::{Bytes, BytesMut};
use mqtt_proto::packet::{ConnAck, ConnectReturnCode, Packet, PubRel};
use mqtt_proto::{PacketId, QoS};

impl ModelBroker {
    pub(super) fn count(&mut self, kind: Misbehaviour) {
        if let Some(plan) = self.plan.as_mut() {
            plan.count(kind);
        }
    }

    /// Maybe misbehaves, on any connection, right after handling a client
    /// packet.
    pub(super) fn misbehave(&mut self) {
        let Some(kind) = self.plan.as_mut().and_then(Plan::after_packet) else {
            return;
        };
        // Connections the broker would still write on, with their sessions.
        let live: Vec<(ConnId, &Conn, &Session)> = self
            .conns
            .iter()
            .filter(|(_, c)| !c.violated && !c.closed)
            .filter_map(|(id, c)| {
                let s = self.sessions.get(c.client_id.as_ref()?)?;
                (s.conn == Some(*id)).then_some((*id, c, s))
            })
            .collect();
        let Some(plan) = self.plan.as_mut() else {
            return;
        };
        match kind {
            Misbehaviour::Qos1Dup | Misbehaviour::Qos2Dup | Misbehaviour::Qos2Resend => {
                // Only a PUBLISH sent on that connection and not answered
                // yet: once answered, the id is free for a new message
                // [MQTT-4.3.2-2], and after PUBREL the QoS 2 one is over.
                let qos = if kind == Misbehaviour::Qos1Dup {
                    QoS::AtLeastOnce
                } else {
                    QoS::ExactlyOnce
                };
                let candidates: Vec<(ConnId, PacketId, Stored)> = live
                    .iter()
                    .flat_map(|(id, c, s)| {
                        s.inflight
                            .iter()
                            .filter(|(p, m, released)| {
                                m.qos == qos && !released && c.owed.contains(p)
                            })
                            .map(|(p, m, _)| (*id, *p, m.clone()))
                    })
                    .collect();
                let Some((id, pid, m)) = pick(plan, candidates) else {
                    return;
                };
                plan.count(kind);
                self.taint(id, pid);
                let dup = kind != Misbehaviour::Qos2Resend;
                self.send(id, Packet::Publish(publish(&m, pid, dup)));
            }
            Misbehaviour::StalePubRel => {
                // A PUBREL sent already (PUBCOMP awaited), or one completed
                // on that connection whose id is not in use again.
                let candidates: Vec<(ConnId, PacketId)> = live
                    .iter()
                    .flat_map(|(id, c, s)| {
                        let released = s
                            .inflight
                            .iter()
                            .filter(|(_, m, released)| m.qos == QoS::ExactlyOnce && *released)
                            .map(|(p, _, _)| *p);
                        let completed = c
                            .completed_qos2
                            .iter()
                            .copied()
                            .filter(|p| !s.holds(*p) && !c.owed.contains(p));
                        released.chain(completed).map(|p| (*id, p))
                    })
                    .collect();
                let Some((id, pid)) = pick(plan, candidates) else {
                    return;
                };
                plan.count(kind);
                self.taint(id, pid);
                self.send(id, Packet::PubRel(PubRel::new(pid)));
            }
            _ => {
                let Some((id, conn, session)) = pick(plan, live) else {
                    return;
                };
                let v5 = conn.level == Level::V5;
                let bytes = match kind {
                    Misbehaviour::UnknownAck => plan.unknown_ack(v5),
                    Misbehaviour::SecondConnAck => {
                        let mut b = BytesMut::new();
                        let connack = Packet::ConnAck(ConnAck {
                            session_present: !session.clean,
                            code: ConnectReturnCode::Accepted,
                        });
                        encode(conn.level, &mut b, connack, Extra::default());
                        b.freeze()
                    }
                    Misbehaviour::ReservedFlags => plan.reserved_flags(conn.client_pid.max(1), v5),
                    Misbehaviour::Garbage => plan.garbage(v5),
                    other => unreachable!("{other:?} is not injected after a packet"),
                };
                self.violate(id, kind, bytes);
            }
        }
    }

    pub(super) fn violate(&mut self, id: ConnId, kind: Misbehaviour, bytes: Bytes) {
        self.count(kind);
        self.send_piece(id, bytes, Pace::Normal, Some(kind));
    }

    fn taint(&mut self, id: ConnId, pid: PacketId) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.tainted.insert(pid.get());
        }
    }
}

/// One of `items`, at random.
fn pick<T>(plan: &mut Plan, mut items: Vec<T>) -> Option<T> {
    if items.is_empty() {
        return None;
    }
    let i = plan.below(items.len() as u64) as usize;
    Some(items.swap_remove(i))
}
