//! The subscriptions the session must hold: every filter the application
//! subscribed to and has not unsubscribed from (or been refused), with the
//! QoS it asked for last (a new SUBSCRIBE for a filter replaces the old
//! one [MQTT-3.8.4-3]).
//!
//! When a CONNACK says the broker holds no session [MQTT-3.2.2-2], the
//! connection subscribes again to every live filter that no pending
//! request already asks for (those are sent again on every connection
//! anyway), in batches of at most `RESUBSCRIBE_BATCH` filters, so each
//! filter is asked for once per connection. Those requests are the core's
//! own: their SUBACKs come out as `Event::Resubscribed`.

use crate::packet::{PacketId, QoS};
use crate::topic::TopicFilter;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

/// Filters per resubscription SUBSCRIBE.
pub(crate) const RESUBSCRIBE_BATCH: usize = 256;

#[derive(Debug, Clone, Default)]
pub(crate) struct Subscriptions {
    live: BTreeMap<TopicFilter, QoS>,
    /// Packet ids of the core's own resubscription requests.
    resubscribes: BTreeSet<PacketId>,
}

impl Subscriptions {
    /// The application subscribed to these filters.
    pub(crate) fn on_subscribe(&mut self, filters: &[(TopicFilter, QoS)]) {
        for (filter, qos) in filters {
            self.live.insert(filter.clone(), *qos);
        }
    }

    /// The application unsubscribed from these filters.
    pub(crate) fn on_unsubscribe(&mut self, filters: &[TopicFilter]) {
        for filter in filters {
            self.live.remove(filter);
        }
    }

    /// The broker refused this filter: the session does not hold it.
    pub(crate) fn on_refused(&mut self, filter: &TopicFilter) {
        self.live.remove(filter);
    }

    /// The live filters, in order.
    pub(crate) fn live(&self) -> impl Iterator<Item = (&TopicFilter, QoS)> {
        self.live.iter().map(|(f, q)| (f, *q))
    }

    /// The batches to subscribe again with after a lost session: the live
    /// filters that `pending` (filters of requests still awaiting their
    /// SUBACK) does not hold, each batch a SUBSCRIBE of at most
    /// `RESUBSCRIBE_BATCH` filters and `max_packet_size` bytes.
    pub(crate) fn to_resubscribe<'a>(
        &self,
        pending: impl Iterator<Item = &'a TopicFilter>,
        max_packet_size: usize,
    ) -> Vec<Vec<(TopicFilter, QoS)>> {
        let pending: BTreeSet<&TopicFilter> = pending.collect();
        let mut batches: Vec<Vec<(TopicFilter, QoS)>> = Vec::new();
        let mut batch = Vec::new();
        // Fixed header (at most 5 bytes) and packet id.
        let overhead = 5 + 2;
        let mut size = overhead;
        for (filter, qos) in self.live.iter().filter(|(f, _)| !pending.contains(f)) {
            let cost = 3 + filter.len();
            if !batch.is_empty()
                && (batch.len() == RESUBSCRIBE_BATCH || size + cost > max_packet_size)
            {
                batches.push(core::mem::take(&mut batch));
                size = overhead;
            }
            size += cost;
            batch.push((filter.clone(), *qos));
        }
        if !batch.is_empty() {
            batches.push(batch);
        }
        batches
    }

    pub(crate) fn mark_resubscribe(&mut self, pid: PacketId) {
        self.resubscribes.insert(pid);
    }

    /// Whether the SUBACK for `pid` answers one of the core's own requests
    /// (and forgets it).
    pub(crate) fn take_resubscribe(&mut self, pid: PacketId) -> bool {
        self.resubscribes.remove(&pid)
    }
}
