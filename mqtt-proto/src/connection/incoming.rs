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
    /// Delivered; the application has not acked it yet (manual mode).
    AwaitingApp,
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
    pending: VecDeque<PendingAck>,
    next_token: u64,
}

impl Incoming {
    fn pending_has(&self, owed: Owed) -> bool {
        self.pending.iter().any(|p| p.owed == owed)
    }

    fn deliver(&mut self, owed: Owed, manual: bool) -> Arrival {
        if manual {
            let token = AckToken(self.next_token);
            self.next_token += 1;
            self.pending.push_back(PendingAck {
                token,
                owed,
                acked: false,
            });
            Arrival::Deliver {
                token: Some(token),
                send: None,
            }
        } else {
            Arrival::Deliver {
                token: None,
                send: Some(owed),
            }
        }
    }

    /// A QoS 1 PUBLISH arrived [MQTT-4.3.2-2].
    pub(crate) fn on_qos1(&mut self, pid: PacketId, manual: bool) -> Arrival {
        if self.pending_has(Owed::PubAck(pid)) || self.qos2.contains_key(&pid) {
            return Arrival::IdReused;
        }
        self.deliver(Owed::PubAck(pid), manual)
    }

    /// A QoS 2 PUBLISH arrived [MQTT-4.3.3-2].
    pub(crate) fn on_qos2(&mut self, pid: PacketId, manual: bool) -> Arrival {
        if self.pending_has(Owed::PubAck(pid)) {
            return Arrival::IdReused;
        }
        match self.qos2.get(&pid) {
            Some(Qos2::Received) => Arrival::Duplicate {
                send: Some(Owed::PubRec(pid)),
            },
            Some(Qos2::AwaitingApp) => Arrival::Duplicate { send: None },
            None => {
                let state = if manual {
                    Qos2::AwaitingApp
                } else {
                    Qos2::Received
                };
                self.qos2.insert(pid, state);
                self.deliver(Owed::PubRec(pid), manual)
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
        match self
            .pending
            .iter_mut()
            .find(|p| p.token == token && !p.acked)
        {
            Some(p) => {
                p.acked = true;
                true
            }
            None => false,
        }
    }

    /// The acks that may go out now: the acked run at the front of the
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

    /// The transport ended. Unsent PUBACKs are dropped: the broker will
    /// resend those messages if the session survives. QoS 2 state stays.
    pub(crate) fn on_transport_lost(&mut self) {
        self.pending.retain(|p| matches!(p.owed, Owed::PubRec(_)));
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
