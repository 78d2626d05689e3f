//! Outgoing publishes: the bounded queue of messages not yet sent, and the
//! inflight window of QoS 1 and 2 messages sent but not yet acknowledged,
//! both in publish order.
//!
//! Owns the sender side of sections 4.3.2 and 4.3.3 (which ack moves a
//! message to which state) and the resend order of [MQTT-4.6.0-1]. It does
//! not encode or allocate packet ids; the connection does, so that every
//! byte leaves through one place.

use super::event::{Message, PublishId};
use crate::packet::{PacketId, QoS};
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// A message accepted by `publish` and not yet on the wire.
#[derive(Debug, Clone)]
pub(crate) struct Queued {
    pub(crate) id: PublishId,
    pub(crate) message: Message,
}

/// Where a sent QoS 1 or 2 message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// QoS 1 PUBLISH sent, PUBACK awaited.
    SentQos1,
    /// QoS 2 PUBLISH sent, PUBREC awaited.
    SentQos2,
    /// PUBREL sent, PUBCOMP awaited; the PUBLISH is never sent again
    /// [MQTT-4.3.3-1].
    Released,
}

#[derive(Debug, Clone)]
pub(crate) struct Inflight {
    pub(crate) id: PublishId,
    pub(crate) pid: PacketId,
    pub(crate) message: Message,
    pub(crate) stage: Stage,
    /// Whether the PUBLISH was handed to a transport before its latest
    /// encoding; together with `encoded_in` this decides DUP on a resend: a
    /// message whose bytes never left goes out with DUP 0 [MQTT-3.3.1-1].
    transmitted: bool,
    /// The transmit epoch of its latest encoding, or `DISCARDED`.
    encoded_in: u64,
    /// MQTT 5.0: resumed with the session but not yet resent on this
    /// connection, because the broker's Receive Maximum had no room.
    held_back: bool,
}

/// `encoded_in` of an encoding thrown away with the transmit buffer.
const DISCARDED: u64 = u64::MAX;

/// What an incoming ack did to the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AckOutcome {
    /// The exchange finished; the id is free again.
    Completed(PublishId),
    /// PUBREC moved a QoS 2 message on: send PUBREL. `released` names
    /// the message if this PUBREC was its first.
    SendPubRel { released: Option<PublishId> },
    /// No exchange in the right stage has this id.
    Unknown,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Outgoing {
    pub(crate) queue: VecDeque<Queued>,
    pub(crate) inflight: VecDeque<Inflight>,
    /// Counts the transmit buffers handed out.
    epoch: u64,
    /// Entries of `inflight` held back (see `Inflight::held_back`).
    pub(crate) held_back: usize,
}

impl Outgoing {
    fn position(&self, pid: PacketId) -> Option<usize> {
        // Acks mostly arrive in order, so the front is checked first.
        match self.inflight.front() {
            Some(first) if first.pid == pid => Some(0),
            _ => self.inflight.iter().position(|m| m.pid == pid),
        }
    }

    /// Moves the message that waited longest into the window under `pid`.
    pub(crate) fn start(&mut self, queued: Queued, pid: PacketId) -> &Inflight {
        let stage = match queued.message.qos {
            QoS::ExactlyOnce => Stage::SentQos2,
            _ => Stage::SentQos1,
        };
        self.inflight.push_back(Inflight {
            id: queued.id,
            pid,
            message: queued.message,
            stage,
            transmitted: false,
            encoded_in: self.epoch,
            held_back: false,
        });
        let last = self.inflight.len() - 1;
        &self.inflight[last]
    }

    /// A message restored from a store that had packet id `pid`: resent
    /// with DUP 1, as it may have left before the process ended.
    pub(crate) fn restore_inflight(
        &mut self,
        id: PublishId,
        pid: PacketId,
        message: Message,
        released: bool,
    ) {
        let stage = match (message.qos, released) {
            (QoS::ExactlyOnce, true) => Stage::Released,
            (QoS::ExactlyOnce, false) => Stage::SentQos2,
            _ => Stage::SentQos1,
        };
        self.inflight.push_back(Inflight {
            id,
            pid,
            message,
            stage,
            transmitted: true,
            encoded_in: DISCARDED,
            held_back: false,
        });
    }

    /// The transmit buffer was handed out: everything encoded so far left.
    pub(crate) fn on_handed_out(&mut self) {
        self.epoch += 1;
    }

    /// The transmit buffer was thrown away with a dead transport: what was
    /// encoded into it never left.
    pub(crate) fn on_discarded(&mut self) {
        let epoch = self.epoch;
        for m in self.inflight.iter_mut().filter(|m| m.encoded_in == epoch) {
            m.encoded_in = DISCARDED;
        }
    }

    /// Stamps entry `i` as encoded again now; returns whether an earlier
    /// encoding was handed out (so this one is a redelivery: DUP 1).
    pub(crate) fn re_encode(&mut self, i: usize) -> bool {
        let epoch = self.epoch;
        match self.inflight.get_mut(i) {
            Some(m) => {
                m.transmitted |= m.encoded_in != DISCARDED && m.encoded_in < epoch;
                m.encoded_in = epoch;
                m.transmitted
            }
            None => false,
        }
    }

    pub(crate) fn on_puback(&mut self, pid: PacketId) -> AckOutcome {
        self.finish(pid, Stage::SentQos1)
    }

    pub(crate) fn on_pubcomp(&mut self, pid: PacketId) -> AckOutcome {
        self.finish(pid, Stage::Released)
    }

    /// Holds entry `i` back from the resend of a resumed session, or lets
    /// it go again.
    pub(crate) fn set_held_back(&mut self, i: usize, held: bool) {
        if let Some(m) = self.inflight.get_mut(i) {
            if m.held_back != held {
                m.held_back = held;
                if held {
                    self.held_back += 1;
                } else {
                    self.held_back -= 1;
                }
            }
        }
    }

    /// The oldest entry held back, if any.
    pub(crate) fn first_held_back(&self) -> Option<usize> {
        if self.held_back == 0 {
            return None;
        }
        self.inflight.iter().position(|m| m.held_back)
    }

    fn finish(&mut self, pid: PacketId, expected: Stage) -> AckOutcome {
        match self.position(pid) {
            Some(i) if self.inflight[i].stage == expected => {
                self.set_held_back(i, false);
                match self.inflight.remove(i) {
                    Some(done) => AckOutcome::Completed(done.id),
                    None => AckOutcome::Unknown,
                }
            }
            _ => AckOutcome::Unknown,
        }
    }

    /// PUBREC: the broker owns the message; release it [MQTT-4.3.3-1]. A
    /// repeated PUBREC (our PUBREL was lost) is answered with PUBREL again.
    /// MQTT 5.0: a PUBREC with an error reason code ends a QoS 2 exchange
    /// like a PUBCOMP would.
    pub(crate) fn on_pubrec_refused(&mut self, pid: PacketId) -> AckOutcome {
        self.finish(pid, Stage::SentQos2)
    }

    pub(crate) fn on_pubrec(&mut self, pid: PacketId) -> AckOutcome {
        match self.position(pid) {
            Some(i) => match self.inflight[i].stage {
                Stage::SentQos2 => {
                    // Its PUBLISH reached the broker: no resend is owed.
                    self.set_held_back(i, false);
                    self.inflight[i].stage = Stage::Released;
                    AckOutcome::SendPubRel {
                        released: Some(self.inflight[i].id),
                    }
                }
                Stage::Released => AckOutcome::SendPubRel { released: None },
                Stage::SentQos1 => AckOutcome::Unknown,
            },
            None => AckOutcome::Unknown,
        }
    }

    /// The broker lost the session: every message in flight goes back to
    /// the front of the queue, in its original order, to be sent as a new
    /// message, except, with `fail_qos2`, QoS 2 messages that may have
    /// reached it, which are given up. That includes QoS 2 messages already
    /// PUBREC'd: the broker took ownership of them, but a broker that lost
    /// the session may have lost them with it (one that passes a QoS 2
    /// message on only at PUBREL does).
    pub(crate) fn requeue_after_session_loss(&mut self, fail_qos2: bool) -> SessionLoss {
        let mut loss = SessionLoss::default();
        let epoch = self.epoch;
        self.held_back = 0;
        while let Some(m) = self.inflight.pop_back() {
            loss.freed.push(m.pid);
            let sent = m.transmitted || (m.encoded_in != DISCARDED && m.encoded_in < epoch);
            match m.stage {
                Stage::SentQos2 | Stage::Released if sent && fail_qos2 => loss.failed.push(m.id),
                Stage::Released => {
                    // Its PUBREC came back, so its PUBLISH left.
                    loss.resent.push(m.id);
                    loss.requeued.push(m.id);
                    self.queue.push_front(Queued {
                        id: m.id,
                        message: m.message,
                    });
                }
                Stage::SentQos1 | Stage::SentQos2 => {
                    if sent {
                        loss.resent.push(m.id);
                    }
                    loss.requeued.push(m.id);
                    self.queue.push_front(Queued {
                        id: m.id,
                        message: m.message,
                    });
                }
            }
        }
        loss.resent.reverse();
        loss.requeued.reverse();
        loss.failed.reverse();
        loss
    }
}

/// What a lost session did to the inflight window.
#[derive(Debug, Default)]
pub(crate) struct SessionLoss {
    /// Packet ids free again.
    pub(crate) freed: Vec<PacketId>,
    /// Sent before and queued to be sent again as new messages.
    pub(crate) resent: Vec<PublishId>,
    /// QoS 2 messages given up.
    pub(crate) failed: Vec<PublishId>,
    /// Every message queued again, sent before or not.
    pub(crate) requeued: Vec<PublishId>,
}
