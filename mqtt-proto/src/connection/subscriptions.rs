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

use crate::packet::v5::SubscriptionOptions;
use crate::packet::{PacketId, QoS};
use crate::topic::TopicFilter;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

/// Filters per resubscription SUBSCRIBE.
pub(crate) const RESUBSCRIBE_BATCH: usize = 256;

/// One SUBSCRIBE of a resubscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resubscribe {
    /// The subscription identifier the filters were subscribed with.
    pub(crate) id: Option<u32>,
    pub(crate) filters: Vec<(TopicFilter, SubscriptionOptions)>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Subscriptions {
    /// Each filter's options and (MQTT 5.0) subscription identifier.
    live: BTreeMap<TopicFilter, (SubscriptionOptions, Option<u32>)>,
    /// Packet ids of the core's own resubscription requests.
    resubscribes: BTreeSet<PacketId>,
}

impl Subscriptions {
    /// The application subscribed to these filters.
    pub(crate) fn on_subscribe(
        &mut self,
        filters: &[(TopicFilter, SubscriptionOptions)],
        id: Option<u32>,
    ) {
        for (filter, options) in filters {
            self.live.insert(filter.clone(), (*options, id));
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
        self.live.iter().map(|(f, (o, _))| (f, o.qos))
    }

    /// The batches to subscribe again with after a lost session: the live
    /// filters that `pending` (filters of requests still awaiting their
    /// SUBACK) does not hold, each batch a SUBSCRIBE of at most
    /// `RESUBSCRIBE_BATCH` filters and `max_packet_size` bytes.
    pub(crate) fn to_resubscribe<'a>(
        &self,
        pending: impl Iterator<Item = &'a TopicFilter>,
        max_packet_size: usize,
    ) -> Vec<Resubscribe> {
        let pending: BTreeSet<&TopicFilter> = pending.collect();
        let mut wanted: Vec<(&TopicFilter, &(SubscriptionOptions, Option<u32>))> = self
            .live
            .iter()
            .filter(|(f, _)| !pending.contains(f))
            .collect();
        // One SUBSCRIBE carries one subscription identifier: group by it.
        wanted.sort_by_key(|(_, (_, id))| *id);
        let mut batches: Vec<Resubscribe> = Vec::new();
        // Fixed header (at most 5 bytes), packet id, and at 5.0 at most 6
        // bytes of properties.
        let overhead = 5 + 2 + 6;
        let mut size = overhead;
        for (filter, &(options, id)) in wanted {
            let cost = 3 + filter.len();
            let fits = batches.last().is_some_and(|b| {
                b.id == id && b.filters.len() < RESUBSCRIBE_BATCH && size + cost <= max_packet_size
            });
            if !fits {
                batches.push(Resubscribe {
                    id,
                    filters: Vec::new(),
                });
                size = overhead;
            }
            size += cost;
            if let Some(batch) = batches.last_mut() {
                batch.filters.push((filter.clone(), options));
            }
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
