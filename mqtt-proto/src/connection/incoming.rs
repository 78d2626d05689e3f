//! Incoming QoS 1 and 2 messages: which acknowledgements are owed, in what
//! order, and which QoS 2 identifiers have been delivered already.
//!
//! The receiver side of sections 4.3.2 and 4.3.3: a QoS 2 message is handed
//! to the application once, when its PUBLISH first arrives, and its id is
//! remembered until PUBREL, so a redelivery with DUP (after a reconnect, say)
//! is answered with PUBREC but not delivered again [MQTT-4.3.3-2]. In
//! manual-ack mode acks are sent in arrival order whatever order the
//! application acks in [MQTT-4.6.0-2], [MQTT-4.6.0-3].

use super::event::AckToken;
use crate::packet::PacketId;
use alloc::collections::{BTreeMap, VecDeque};

/// The ack a received message is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owed {
    PubAck(PacketId),
    PubRec(PacketId),
}

#[derive(Debug, Clone, Copy)]
struct PendingAck {
    token: AckToken,
    owed: Owed,
    acked: bool,
}

/// State of a QoS 2 id between PUBLISH and PUBREL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qos2 {
    /// Delivered in manual-ack mode; PUBREC not sent yet. `acked` once the
    /// application acked it.
    AwaitingApp { token: AckToken, acked: bool },
    /// PUBREC sent; PUBREL awaited.
    Received,
}

/// What to do with an incoming QoS 1 or 2 PUBLISH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// New: deliver it, with this token in manual mode; send `Some(ack)` now.
    Deliver {
        token: Option<AckToken>,
        send: Option<Owed>,
    },
    /// A QoS 2 redelivery: do not deliver; send this ack if any.
    Duplicate { send: Option<Owed> },
    /// The broker reused an id that is still unacknowledged.
    IdReused,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Incoming {
    qos2: BTreeMap<PacketId, Qos2>,
    /// Acks owed on the current connection, in arrival order.
    pending: VecDeque<PendingAck>,
    next_token: u64,
}

impl Incoming {
    fn pending_has(&self, owed: Owed) -> bool {
        self.pending.iter().any(|p| p.owed == owed)
    }

    fn new_token(&mut self) -> AckToken {
        let token = AckToken(self.next_token);
        self.next_token += 1;
        token
    }

    /// A QoS 1 PUBLISH arrived [MQTT-4.3.2-2].
    pub(crate) fn on_qos1(&mut self, pid: PacketId, manual: bool) -> Arrival {
        if self.pending_has(Owed::PubAck(pid)) || self.qos2.contains_key(&pid) {
            return Arrival::IdReused;
        }
        if !manual {
            return Arrival::Deliver {
                token: None,
                send: Some(Owed::PubAck(pid)),
            };
        }
        let token = self.new_token();
        self.pending.push_back(PendingAck {
            token,
            owed: Owed::PubAck(pid),
            acked: false,
        });
        Arrival::Deliver {
            token: Some(token),
            send: None,
        }
    }

    /// A QoS 2 PUBLISH arrived [MQTT-4.3.3-2].
    pub(crate) fn on_qos2(&mut self, pid: PacketId, manual: bool) -> Arrival {
        if self.pending_has(Owed::PubAck(pid)) {
            return Arrival::IdReused;
        }
        let owed = Owed::PubRec(pid);
        match self.qos2.get(&pid).copied() {
            // Already acknowledged: acknowledge again, behind any ack still
            // owed on this connection so the arrival order holds.
            Some(Qos2::Received) if self.pending.is_empty() => {
                Arrival::Duplicate { send: Some(owed) }
            }
            Some(Qos2::Received) => {
                let token = self.new_token();
                self.pending.push_back(PendingAck {
                    token,
                    owed,
                    acked: true,
                });
                Arrival::Duplicate { send: None }
            }
            Some(Qos2::AwaitingApp { token, acked }) => {
                // Redelivered on a new connection while the application holds
                // it: its PUBREC takes its place in this connection's order.
                if !self.pending_has(owed) {
                    self.pending.push_back(PendingAck { token, owed, acked });
                }
                Arrival::Duplicate { send: None }
            }
            None if manual => {
                let token = self.new_token();
                self.qos2.insert(
                    pid,
                    Qos2::AwaitingApp {
                        token,
                        acked: false,
                    },
                );
                self.pending.push_back(PendingAck {
                    token,
                    owed,
                    acked: false,
                });
                Arrival::Deliver {
                    token: Some(token),
                    send: None,
                }
            }
            None => {
                self.qos2.insert(pid, Qos2::Received);
                Arrival::Deliver {
                    token: None,
                    send: Some(owed),
                }
            }
        }
    }

    /// PUBREL: forget the id so a later PUBLISH with it is new. Answered with
    /// PUBCOMP whether or not the id was known (after a reconnect the
    /// PUBCOMP may be what was lost).
    pub(crate) fn on_pubrel(&mut self, pid: PacketId) {
        if self.qos2.get(&pid) == Some(&Qos2::Received) {
            self.qos2.remove(&pid);
        }
    }

    /// The application acked `token`; returns whether the token was known.
    pub(crate) fn ack(&mut self, token: AckToken) -> bool {
        let mut known = false;
        if let Some(p) = self
            .pending
            .iter_mut()
            .find(|p| p.token == token && !p.acked)
        {
            p.acked = true;
            known = true;
        }
        for state in self.qos2.values_mut() {
            if let Qos2::AwaitingApp { token: t, acked } = state {
                if *t == token && !*acked {
                    *acked = true;
                    known = true;
                }
            }
        }
        known
    }

    /// The next ack that may go out now: the acked run at the front of the
    /// arrival order.
    pub(crate) fn next_ready(&mut self) -> Option<Owed> {
        if !self.pending.front()?.acked {
            return None;
        }
        let owed = self.pending.pop_front()?.owed;
        if let Owed::PubRec(pid) = owed {
            self.qos2.insert(pid, Qos2::Received);
        }
        Some(owed)
    }

    /// The transport ended. Acks not yet sent belong to that connection: the
    /// broker resends those messages if the session survives, and a QoS 2
    /// message the application holds gets its PUBREC in the new connection's
    /// order then.
    pub(crate) fn on_transport_lost(&mut self) {
        self.pending.clear();
    }

    /// The session is gone: nothing is owed any more.
    pub(crate) fn clear(&mut self) {
        self.qos2.clear();
        self.pending.clear();
    }

    /// QoS 2 ids between PUBLISH and PUBREL.
    pub(crate) fn qos2_len(&self) -> usize {
        self.qos2.len()
    }

    pub(crate) fn pending_len(&self) -> usize {
        self.pending.len()
    }
}
