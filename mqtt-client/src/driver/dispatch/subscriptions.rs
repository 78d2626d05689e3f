//! Subscriptions: each `subscribe` call gets a channel and an id, its
//! filters are routed to that id (`Router`), and the caller is answered
//! with the SUBACK; `unsubscribe` tells the broker about the filters no
//! other subscription still uses. The filters the session holds, and
//! subscribing to them again after a lost session, are the core's.

use super::SubscribeReply;
use super::{Dispatch, PendingSubscribe, Receiver, Responder, Sub};
use crate::driver::budget::DropCount;
use crate::Error;
use mqtt_proto::packet::v5::{SubscribeProperties, SubscriptionOptions};
use mqtt_proto::{Connection, PacketId, SubscribeOutcome, TopicFilter};
use std::time::Instant;

impl Dispatch {
    pub(super) fn subscribe(
        &mut self,
        conn: &mut Connection,
        (filters, properties): (Vec<(TopicFilter, SubscriptionOptions)>, SubscribeProperties),
        manual: bool,
        done: Responder<SubscribeReply>,
        now: Instant,
    ) {
        let pid = match conn.subscribe_with(filters.clone(), properties) {
            Ok(pid) => pid,
            Err(e) => {
                let _ = done.send(Err(Error::Subscribe(e)));
                return;
            }
        };
        let (id, messages, dropped) = self.new_sub(manual);
        for (f, _) in &filters {
            self.router.insert(f, id);
        }
        let adopted = self.adopt_unmatched(id, Some(&filters));
        if adopted {
            self.deliver_held(conn);
        }
        let serial = self.ack_deadlines.start(pid, now + self.request_timeout);
        self.subscribes.insert(
            pid,
            PendingSubscribe {
                id,
                reply: Some((done, messages, dropped)),
                serial,
            },
        );
    }

    pub(super) fn unsubscribe(
        &mut self,
        conn: &mut Connection,
        id: u64,
        done: Responder<()>,
        now: Instant,
    ) {
        self.subs.remove(&id);
        let unused = self.router.remove_key(id);
        self.send_unsubscribe(conn, unused, done, now);
    }

    /// UNSUBSCRIBE for `filters` (none: nothing to tell the broker), its
    /// caller answered on the UNSUBACK.
    fn send_unsubscribe(
        &mut self,
        conn: &mut Connection,
        filters: Vec<TopicFilter>,
        done: Responder<()>,
        now: Instant,
    ) {
        if filters.is_empty() {
            let _ = done.send(Ok(()));
            return;
        }
        match conn.unsubscribe(filters) {
            Ok(pid) => {
                let serial = self.ack_deadlines.start(pid, now + self.request_timeout);
                self.unsubscribes.insert(pid, (done, serial));
            }
            Err(e) => {
                let _ = done.send(Err(Error::Subscribe(e)));
            }
        }
    }

    /// A new subscription's id, channel and drop counter.
    fn new_sub(&mut self, manual: bool) -> (u64, Receiver, DropCount) {
        let id = self.next_sub;
        self.next_sub += 1;
        let (tx, messages) = async_channel::bounded(self.capacity);
        let dropped = DropCount::default();
        let sub = Sub {
            tx,
            dropped: dropped.clone(),
            manual,
        };
        self.subs.insert(id, sub);
        (id, Box::pin(messages), dropped)
    }

    /// The stream of messages no subscription matches: it replaces an
    /// earlier one, and takes what waits unmatched at once.
    pub(super) fn take_unmatched(
        &mut self,
        conn: &mut Connection,
        done: Responder<SubscribeReply>,
    ) {
        if let Some(old) = self.unmatched_sub.take() {
            self.subs.remove(&old);
        }
        let (id, messages, dropped) = self.new_sub(false);
        self.unmatched_sub = Some(id);
        let reply = SubscribeReply {
            id,
            messages,
            outcomes: Vec::new(),
            dropped,
            budget: self.budget.clone(),
        };
        if done.send(Ok(reply)).is_err() {
            self.subs.remove(&id);
            self.unmatched_sub = None;
            return;
        }
        if self.adopt_unmatched(id, None) {
            self.deliver_held(conn);
        }
    }

    /// Stops one filter of a subscription; UNSUBSCRIBE if no other
    /// subscription of this client uses it.
    pub(super) fn unsubscribe_filter(
        &mut self,
        conn: &mut Connection,
        id: u64,
        filter: TopicFilter,
        done: Responder<()>,
        now: Instant,
    ) {
        let unused = self.router.remove(&filter, id) && !self.router.has_filter(&filter);
        let filters = if unused { vec![filter] } else { Vec::new() };
        self.send_unsubscribe(conn, filters, done, now);
    }

    pub(super) fn on_suback(
        &mut self,
        conn: &mut Connection,
        pid: PacketId,
        outcomes: Vec<SubscribeOutcome>,
    ) {
        let Some(pending) = self.subscribes.remove(&pid) else {
            return;
        };
        let Some((done, messages, dropped)) = pending.reply else {
            return;
        };
        if !outcomes.iter().any(SubscribeOutcome::is_granted) {
            let _ = done.send(Err(Error::SubscriptionRefused));
            self.drop_subscription(conn, pending.id);
            return;
        }
        let reply = SubscribeReply {
            id: pending.id,
            messages,
            outcomes,
            dropped,
            budget: self.budget.clone(),
        };
        if done.send(Ok(reply)).is_err() {
            // The caller stopped waiting: nobody will read this stream.
            self.drop_subscription(conn, pending.id);
        }
    }
}
