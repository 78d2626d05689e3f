//! The one memory budget for incoming messages the client holds: waiting
//! for a subscription to claim them (unmatched), waiting for room in a
//! subscription's channel (a slow consumer), and sitting in that channel
//! until the application takes them. Shared by the driver, which counts a
//! message in, and the subscriptions, which count it out when the
//! application receives it (or drops the subscription).
//!
//! Over budget, QoS 0 messages are dropped and counted on the subscription
//! they were for; unmatched messages are acknowledged and let go oldest
//! first; matched QoS 1 and 2 messages are still held but not
//! acknowledged, so the broker's inflight window stops it sending. What the
//! client holds is then bounded by the budget plus that window (and one
//! packet being reassembled, bounded by `max_packet_size`).

use mqtt_proto::Message;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Bookkeeping per message beyond its topic and payload.
const OVERHEAD: usize = 64;

/// The bytes held against a limit.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    limit: usize,
    used: Arc<AtomicUsize>,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Budget {
        Budget {
            limit,
            used: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// What holding `message` costs.
    pub(crate) fn footprint(message: &Message) -> usize {
        message.topic.len() + message.payload.len() + OVERHEAD
    }

    pub(crate) fn take(&self, message: &Message) {
        self.used
            .fetch_add(Budget::footprint(message), Ordering::Relaxed);
    }

    pub(crate) fn give_back(&self, message: &Message) {
        let n = Budget::footprint(message);
        // Saturating: never wrap, whatever the order of counting.
        let _ = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(n))
            });
    }

    /// Whether the bytes held are at or over the limit.
    pub(crate) fn exhausted(&self) -> bool {
        self.used.load(Ordering::Relaxed) >= self.limit
    }
}

/// Messages dropped for one subscription (QoS 0 only), shared with its
/// handle.
#[derive(Debug, Clone, Default)]
pub(crate) struct DropCount(Arc<AtomicU64>);

impl DropCount {
    pub(crate) fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}
