//! Incoming QoS 1 and 2 messages: which acknowledgements are owed, in what
//! order, and which QoS 2 identifiers have been delivered already.
//!
//! The receiver side of sections 4.3.2 and 4.3.3: a QoS 2 message is handed
//! to the application once, when its PUBLISH first arrives, and its id is
//! remembered until PUBREL, so a redelivery with DUP (after a reconnect, say)
//! is answered with PUBREC but not delivered again [MQTT-4.3.3-2]. In
//! manual-ack mode acks are sent in arrival order whatever order the
//! application acks in [MQTT-4.6.0-2], [MQTT-4.6.0-3].
//!
//! # Data structures
//!
//! A broker may keep all 65,535 ids outstanding, so nothing here scans: a
//! packet or an ack costs O(1) plus a few O(log h) map operations, h being
//! the QoS 2 messages delivered in manual-ack mode whose PUBREC has not gone
//! out.
//!
//! The acks owed on the current connection form a queue in arrival order
//! ([`Pending`]). Each entry gets the next arrival number, never reused,
//! and sits at its arrival number minus the front's. A token is the arrival
//! number its message was queued at, so an ack finds its entry by
//! subtraction. The exception is a QoS 2 message still held when a
//! transport ends: it keeps its token, and when the broker redelivers it on
//! a later connection its PUBREC is queued at a new arrival number, which
//! `moved` records. Which ids have a PUBACK queued is a bit set beside the
//! queue, for telling a reused id from a new one.
//!
//! The session's QoS 2 ids between PUBLISH and PUBREL, which outlive
//! transports, are in one of two places, never both:
//!
//! - `received` ([`IdSet`]): PUBREC sent, PUBREL awaited. Every id ends up
//!   here, so this is what grows to 65,535 ids; a bit set keeps it O(1) and
//!   within 8 KiB.
//! - `held` (id → [`Held`]): delivered in manual-ack mode, PUBREC not sent
//!   yet. `held_ids` is its inverse (token → id): an ack can come while the
//!   message's PUBREC is not queued, between connections.

use super::event::AckToken;
use crate::packet::PacketId;
use alloc::collections::{btree_map, BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::num::NonZeroU64;

/// The ack a received message is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owed {
    PubAck(PacketId),
    PubRec(PacketId),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    token: AckToken,
    owed: Owed,
    acked: bool,
}

/// The acks owed on the current connection, in arrival order (see the
/// module documentation).
#[derive(Debug, Clone)]
struct Pending {
    queue: VecDeque<Entry>,
    /// Arrival number of the front of `queue`. Wrapping arithmetic: only
    /// differences between arrival numbers matter. Numbers start at 1, so
    /// a token is never 0 and `Option<AckToken>` (in every message event)
    /// takes no more room than a token.
    front: u64,
    /// Arrival number of each entry whose token is not its own arrival
    /// number.
    moved: BTreeMap<AckToken, u64>,
    /// Ids with a PUBACK in `queue`. A new QoS 1 PUBLISH with such an id is
    /// refused; a DUP copy of it queues a second PUBACK, and the bit then
    /// leaves with the first (the broker may reuse the id once that one is
    /// out).
    pubacks: IdSet,
}

impl Pending {
    fn len(&self) -> usize {
        self.queue.len()
    }

    fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    fn next_arrival(&self) -> u64 {
        // usize to u64 never truncates on any supported target.
        self.front.wrapping_add(self.queue.len() as u64)
    }

    fn owes_puback(&self, pid: PacketId) -> bool {
        self.pubacks.contains(pid)
    }

    /// Queues the ack of a message handed out now; returns its token.
    fn push_new(&mut self, owed: Owed, acked: bool) -> AckToken {
        // From 1, a u64 of arrivals does not wrap round to 0 in practice;
        // were it to, 1 stands in rather than a panic.
        let arrival = NonZeroU64::new(self.next_arrival()).unwrap_or(NonZeroU64::MIN);
        let token = AckToken(arrival);
        self.push(Entry { token, owed, acked });
        token
    }

    /// Queues the ack of a message handed out on an earlier connection.
    fn push_again(&mut self, token: AckToken, owed: Owed, acked: bool) {
        self.moved.insert(token, self.next_arrival());
        self.push(Entry { token, owed, acked });
    }

    fn push(&mut self, entry: Entry) {
        if let Owed::PubAck(pid) = entry.owed {
            self.pubacks.insert(pid);
        }
        self.queue.push_back(entry);
    }

    /// Where the entry of `token` is in `queue`, if it is there.
    fn place(&self, token: AckToken) -> Option<usize> {
        let arrival = self.moved.get(&token).copied().unwrap_or(token.0.get());
        let place = usize::try_from(arrival.wrapping_sub(self.front)).ok()?;
        // Arrival numbers are never reused: whatever sits at `arrival` is
        // the entry queued then, unless it has left already.
        self.queue
            .get(place)
            .is_some_and(|e| e.token == token)
            .then_some(place)
    }

    fn is_queued(&self, token: AckToken) -> bool {
        self.place(token).is_some()
    }

    /// Marks the entry of `token` acked; whether it was queued and unacked.
    fn ack(&mut self, token: AckToken) -> bool {
        let entry = self.place(token).and_then(|i| self.queue.get_mut(i));
        match entry {
            Some(e) if !e.acked => {
                e.acked = true;
                true
            }
            _ => false,
        }
    }

    /// Takes the front entry if the application acked it.
    fn pop_acked(&mut self) -> Option<Owed> {
        if !self.queue.front()?.acked {
            return None;
        }
        let entry = self.queue.pop_front()?;
        if entry.token.0.get() != self.front {
            self.moved.remove(&entry.token);
        }
        self.front = self.front.wrapping_add(1);
        if let Owed::PubAck(pid) = entry.owed {
            self.pubacks.remove(pid);
        }
        Some(entry.owed)
    }

    /// Drops every entry. Arrival numbers carry on, so that no token handed
    /// out before can find an entry queued after.
    fn clear(&mut self) {
        self.front = self.next_arrival();
        self.queue.clear();
        self.moved.clear();
        self.pubacks.clear();
    }
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            queue: VecDeque::new(),
            front: 1,
            moved: BTreeMap::new(),
            pubacks: IdSet::default(),
        }
    }
}

/// A set of packet ids, one bit each: 8 KiB once the highest id is in,
/// allocated only as far as the highest id seen.
#[derive(Debug, Clone, Default)]
struct IdSet {
    words: Vec<u64>,
    len: usize,
}

impl IdSet {
    fn slot(pid: PacketId) -> (usize, u64) {
        (usize::from(pid.get() / 64), 1 << (pid.get() % 64))
    }

    fn contains(&self, pid: PacketId) -> bool {
        let (word, bit) = Self::slot(pid);
        self.words.get(word).is_some_and(|w| w & bit != 0)
    }

    fn insert(&mut self, pid: PacketId) {
        let (word, bit) = Self::slot(pid);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        if let Some(w) = self.words.get_mut(word) {
            if *w & bit == 0 {
                *w |= bit;
                self.len += 1;
            }
        }
    }

    /// Returns whether `pid` was in the set.
    fn remove(&mut self, pid: PacketId) -> bool {
        let (word, bit) = Self::slot(pid);
        if let Some(w) = self.words.get_mut(word) {
            if *w & bit != 0 {
                *w &= !bit;
                self.len -= 1;
                return true;
            }
        }
        false
    }

    fn clear(&mut self) {
        self.words.clear();
        self.len = 0;
    }
}

/// A QoS 2 message delivered in manual-ack mode whose PUBREC is not sent
/// yet. `acked` once the application acked it; `taken` once it said the
/// message is its for good (`Connection::take`), ack or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    token: AckToken,
    acked: bool,
    taken: bool,
}

/// What an ack by the application did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Acked {
    /// It acked a QoS 2 message it held with this id: taken for good.
    Qos2(PacketId),
    /// It acked some other message.
    Yes,
    /// No message has this token, or it was acked already.
    Unknown,
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
    /// The broker repeats messages faster than the application takes the
    /// originals: the acks owed for copies hit [`MAX_OWED`].
    Flooded,
}

/// Acks owed on one connection at most: one per packet id for the
/// messages themselves, as many again for copies of them. A broker that
/// repeats a held message without end would otherwise grow the queue
/// without bound; past this the connection is closed instead, as for any
/// resource a packet would exhaust [MQTT-4.8.0-2].
pub(crate) const MAX_OWED: usize = 2 * 65_536;

#[derive(Debug, Clone, Default)]
pub(crate) struct Incoming {
    /// QoS 2 ids answered with PUBREC, awaiting PUBREL.
    received: IdSet,
    /// QoS 2 ids delivered in manual mode, PUBREC not sent yet; never in
    /// `received` at the same time.
    held: BTreeMap<PacketId, Held>,
    /// The inverse of `held`, for acks.
    held_ids: BTreeMap<AckToken, PacketId>,
    /// Acks owed on the current connection, in arrival order.
    pending: Pending,
}

impl Incoming {
    /// A QoS 1 PUBLISH arrived [MQTT-4.3.2-2].
    pub(crate) fn on_qos1(&mut self, pid: PacketId, manual: bool, dup: bool) -> Arrival {
        if self.pending.owes_puback(pid) && dup {
            // The broker sent it again before our PUBACK: the same message
            // [MQTT-3.3.1-1], still with the application. Every copy is
            // acknowledged [MQTT-4.3.2-2], in arrival order, so this one's
            // PUBACK waits behind the original's.
            if self.pending.len() >= MAX_OWED {
                return Arrival::Flooded;
            }
            self.pending.push_new(Owed::PubAck(pid), true);
            return Arrival::Duplicate { send: None };
        }
        if self.pending.owes_puback(pid)
            || self.received.contains(pid)
            || self.held.contains_key(&pid)
        {
            return Arrival::IdReused;
        }
        if !manual {
            return Arrival::Deliver {
                token: None,
                send: Some(Owed::PubAck(pid)),
            };
        }
        let token = self.pending.push_new(Owed::PubAck(pid), false);
        Arrival::Deliver {
            token: Some(token),
            send: None,
        }
    }

    /// A QoS 2 PUBLISH arrived [MQTT-4.3.3-2].
    pub(crate) fn on_qos2(&mut self, pid: PacketId, manual: bool) -> Arrival {
        if self.pending.owes_puback(pid) {
            return Arrival::IdReused;
        }
        let owed = Owed::PubRec(pid);
        if self.received.contains(pid) {
            // Already acknowledged: acknowledge again, behind any ack still
            // owed on this connection so the arrival order holds.
            if self.pending.is_empty() {
                return Arrival::Duplicate { send: Some(owed) };
            }
            // Acked from the start: the application never sees it.
            if self.pending.len() >= MAX_OWED {
                return Arrival::Flooded;
            }
            self.pending.push_new(owed, true);
            return Arrival::Duplicate { send: None };
        }
        match self.held.entry(pid) {
            btree_map::Entry::Occupied(held) => {
                // Redelivered while the application holds it (after a
                // reconnect): its PUBREC takes its place in this connection's
                // order, once. Looking for its own entry is enough: a repeated
                // PUBREC for the id can only have been queued while the id was
                // received, so ahead of this message's own, which is then
                // still queued too.
                let Held { token, acked, .. } = *held.get();
                if self.pending.is_queued(token) {
                    // Another copy on this connection: it is owed a PUBREC
                    // of its own [MQTT-4.3.3-2], after the original's.
                    if self.pending.len() >= MAX_OWED {
                        return Arrival::Flooded;
                    }
                    self.pending.push_new(owed, true);
                } else {
                    self.pending.push_again(token, owed, acked);
                }
                Arrival::Duplicate { send: None }
            }
            btree_map::Entry::Vacant(slot) if manual => {
                let token = self.pending.push_new(owed, false);
                slot.insert(Held {
                    token,
                    acked: false,
                    taken: false,
                });
                self.held_ids.insert(token, pid);
                Arrival::Deliver {
                    token: Some(token),
                    send: None,
                }
            }
            btree_map::Entry::Vacant(_) => {
                self.received.insert(pid);
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
    /// Returns whether the id was held as received.
    pub(crate) fn on_pubrel(&mut self, pid: PacketId) -> bool {
        // A held id stays: its PUBREC has not been sent, so this PUBREL
        // cannot be for it.
        self.received.remove(pid)
    }

    /// An id a store kept as received (PUBREC owed or sent, PUBREL awaited).
    pub(crate) fn restore_received(&mut self, pid: PacketId) {
        self.received.insert(pid);
    }

    /// The application acked `token`.
    pub(crate) fn ack(&mut self, token: AckToken) -> Acked {
        let known = self.pending.ack(token);
        if let Some(&pid) = self.held_ids.get(&token) {
            if let Some(held) = self.held.get_mut(&pid) {
                if !held.acked {
                    held.acked = true;
                    // Taken before its ack: recorded then already.
                    return if held.taken {
                        Acked::Yes
                    } else {
                        Acked::Qos2(pid)
                    };
                }
            }
        }
        if known {
            Acked::Yes
        } else {
            Acked::Unknown
        }
    }

    /// The application took the QoS 2 message of `token` for good, before
    /// acking it: its id, the first time, to be recorded as received.
    pub(crate) fn take(&mut self, token: AckToken) -> Option<PacketId> {
        let pid = *self.held_ids.get(&token)?;
        let held = self.held.get_mut(&pid)?;
        if held.taken || held.acked {
            return None;
        }
        held.taken = true;
        Some(pid)
    }

    /// The next ack that may go out now: the acked run at the front of the
    /// arrival order.
    pub(crate) fn next_ready(&mut self) -> Option<Owed> {
        let owed = self.pending.pop_acked()?;
        if let Owed::PubRec(pid) = owed {
            // Usually this ends the id's own hold. It can also be a repeated
            // PUBREC queued before a PUBREL freed the id and a new PUBLISH
            // reused it: that new message counts as received from here on
            // too (its queued PUBREC still goes out once acked).
            if let Some(held) = self.held.remove(&pid) {
                self.held_ids.remove(&held.token);
            }
            self.received.insert(pid);
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
        self.received.clear();
        self.held.clear();
        self.held_ids.clear();
        self.pending.clear();
    }

    /// QoS 2 ids between PUBLISH and PUBREL.
    pub(crate) fn qos2_len(&self) -> usize {
        self.received.len + self.held.len()
    }

    /// QoS 1 and 2 messages of this connection the broker still waits
    /// for the first ack of: what MQTT 5.0's Receive Maximum bounds. (QoS
    /// 2 ids PUBREC'd and awaiting PUBREL are not counted: they may come
    /// from an earlier connection, whose quota the broker does not carry
    /// over, so counting them could refuse a broker that did nothing
    /// wrong.)
    pub(crate) fn unacknowledged(&self) -> usize {
        self.pending.pubacks.len + self.held.len()
    }

    /// Whether `pid` is one of the messages `unacknowledged` counts.
    pub(crate) fn is_unacknowledged(&self, pid: PacketId) -> bool {
        self.pending.owes_puback(pid) || self.held.contains_key(&pid)
    }

    pub(crate) fn pending_len(&self) -> usize {
        self.pending.len()
    }
}
