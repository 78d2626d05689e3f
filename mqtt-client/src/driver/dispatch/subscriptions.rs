//! Subscriptions: each `subscribe` call gets a channel and an id, its
//! filters are routed to that id (`Router`), and the caller is answered
//! with the SUBACK; `unsubscribe` tells the broker about the filters no
//! other subscription still uses. The filters the session holds, and
//! subscribing to them again after a lost session, are the core's.

use super::SubscribeReply;
use super::{Dispatch, PendingSubscribe, Responder, Sub};
use crate::driver::budget::DropCount;
use crate::Error;
use mqtt_proto::{Connection, PacketId, QoS, SubscribeOutcome, TopicFilter};
use std::time::Instant;

impl Dispatch {
    pub(super) fn subscribe(
        &mut self,
        conn: &mut Connection,
        filters: Vec<(TopicFilter, QoS)>,
        done: Responder<SubscribeReply>,
        now: Instant,
    ) {
        let id = self.next_sub;
        self.next_sub += 1;
        let pid = match conn.subscribe(filters.clone()) {
            Ok(pid) => pid,
            Err(e) => {
                let _ = done.send(Err(Error::Subscribe(e)));
                return;
            }
        };
        let (tx, messages) = async_channel::bounded(self.capacity);
        for (f, _) in &filters {
            self.router.insert(f, id);
        }
        let adopted = self.adopt_unmatched(id, &filters);
        let dropped = DropCount::default();
        self.subs.insert(
            id,
            Sub {
                tx,
                dropped: dropped.clone(),
            },
        );
        if adopted {
            self.deliver_held(conn);
        }
        let serial = self.ack_deadlines.start(pid, now + self.request_timeout);
        self.subscribes.insert(
            pid,
            PendingSubscribe {
                id,
                reply: Some((done, Box::pin(messages), dropped)),
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
        if unused.is_empty() {
            let _ = done.send(Ok(()));
            return;
        }
        match conn.unsubscribe(unused) {
            Ok(pid) => {
                let serial = self.ack_deadlines.start(pid, now + self.request_timeout);
                self.unsubscribes.insert(pid, (done, serial));
            }
            Err(e) => {
                let _ = done.send(Err(Error::Subscribe(e)));
            }
        }
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
        if outcomes.iter().all(|o| *o == SubscribeOutcome::Refused) {
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
