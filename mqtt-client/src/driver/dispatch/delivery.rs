//! Delivery of incoming messages to subscriptions: in arrival order, each
//! QoS 1/2 message acknowledged only once every matching subscription's
//! channel took it (a full channel holds the rest, and the broker's
//! inflight window then stops it sending); messages that match no
//! subscription yet are held for the grace period.
//!
//! With a store, a QoS 2 message bound only for automatic subscriptions is
//! taken for good (`Connection::take`: its id recorded as received) before
//! any subscription sees it, and held until the store committed that: a
//! restart never hands it to the application again [MQTT-4.3.3-2]. A crash
//! while it waits in the client (for room in a slow subscription, say)
//! loses it to the application instead: at most once there, never twice.
//! A message for a manual-ack subscription is taken when acked.

use super::{Dispatch, Held};
use crate::delivery::Delivery;
use mqtt_proto::packet::v5::SubscriptionOptions;
use mqtt_proto::{AckToken, Connection, Message, QoS, TopicFilter};
use std::collections::VecDeque;
use std::task::Context;
use std::time::Instant;

impl Dispatch {
    /// A message from the broker: to every matching subscription, in
    /// arrival order.
    pub(super) fn on_message(
        &mut self,
        conn: &mut Connection,
        message: Message,
        ack: Option<AckToken>,
        now: Instant,
    ) {
        self.matched.clear();
        self.router.matches(&message.topic, &mut self.matched);
        if message.qos == QoS::AtMostOnce && self.budget.exhausted() {
            self.drop_qos0(&message);
            return;
        }
        self.budget.take(&message);
        if self.matched.is_empty() {
            match self.unmatched_sub.filter(|id| self.subs.contains_key(id)) {
                Some(id) => self.matched.push(id),
                None => {
                    self.hold_unmatched(conn, message, ack, now);
                    return;
                }
            }
        }
        let key = self.manual_acks.next_key();
        self.held.push_back(Held {
            message,
            ack,
            targets: self.matched.iter().copied().collect(),
            by_hand: 0,
            key,
        });
        self.deliver_held(conn);
    }

    /// Polls the send waiting for room, if any; returns whether it finished.
    pub(crate) fn poll_room(&mut self, conn: &mut Connection, cx: &mut Context<'_>) -> bool {
        let Some(room) = self.room.as_mut() else {
            return false;
        };
        let std::task::Poll::Ready(result) = std::future::Future::poll(room.as_mut(), cx) else {
            return false;
        };
        self.room = None;
        let Some(front) = self.held.front() else {
            return true;
        };
        let target = front.targets.front().copied();
        let by_hand = front.ack.is_some() && target.is_some_and(|t| self.is_manual(t));
        let Some(front) = self.held.front_mut() else {
            return true;
        };
        front.targets.pop_front();
        match (result, target) {
            (Ok(()), _) => {
                self.budget.take(&front.message);
                front.by_hand += usize::from(by_hand);
            }
            (Err(_), Some(target)) => self.drop_subscription(conn, target),
            (Err(_), None) => {}
        }
        self.deliver_held(conn);
        true
    }

    /// Delivers held messages in order until a channel is full.
    pub(super) fn deliver_held(&mut self, conn: &mut Connection) {
        if self.room.is_some() || self.take_for_good(conn) {
            return;
        }
        while let Some(front) = self.held.front_mut() {
            while let Some(&target) = front.targets.front() {
                let Some(sub) = self.subs.get(&target) else {
                    front.targets.pop_front();
                    continue;
                };
                let by_hand = sub.manual && front.ack.is_some();
                let handle = by_hand.then(|| self.manual_acks.handle(front.key));
                match sub
                    .tx
                    .try_send(Delivery::new(front.message.clone(), handle))
                {
                    Ok(()) => {
                        // The copy in the channel counts until received.
                        self.budget.take(&front.message);
                        front.targets.pop_front();
                        front.by_hand += usize::from(by_hand);
                    }
                    Err(async_channel::TrySendError::Full(_))
                        if front.message.qos == QoS::AtMostOnce && self.budget.exhausted() =>
                    {
                        tracing::debug!(
                            subscription = target,
                            "QoS 0 message dropped: subscriber full and memory budget spent"
                        );
                        sub.dropped.add();
                        front.targets.pop_front();
                    }
                    Err(async_channel::TrySendError::Full(delivery)) => {
                        // Wait for room; the send itself delivers it.
                        let tx = sub.tx.clone();
                        self.room = Some(Box::pin(async move { tx.send(delivery).await }));
                        return;
                    }
                    Err(async_channel::TrySendError::Closed(_)) => {
                        front.targets.pop_front();
                        self.drop_subscription(conn, target);
                        break;
                    }
                }
            }
            if self.held.front().is_some_and(|h| h.targets.is_empty()) {
                if let Some(gate) = self.gate.as_mut() {
                    gate.examined = gate.examined.saturating_sub(1);
                }
                if let Some(done) = self.held.pop_front() {
                    self.budget.give_back(&done.message);
                    if let Some(token) = done.ack {
                        self.settle(conn, token, done.key, done.by_hand);
                    }
                }
            }
        }
    }

    /// With a store: takes the held QoS 2 messages not looked at yet that
    /// only automatic subscriptions want; returns whether delivery must
    /// wait for the store's next commit.
    fn take_for_good(&mut self, conn: &mut Connection) -> bool {
        let Some(gate) = self.gate.as_mut() else {
            return false;
        };
        let subs = &self.subs;
        for held in self.held.iter().skip(gate.examined) {
            let automatic = held
                .targets
                .iter()
                .all(|t| !subs.get(t).is_some_and(|s| s.manual));
            if let (QoS::ExactlyOnce, Some(token), true) = (held.message.qos, held.ack, automatic) {
                gate.waiting |= conn.take(token);
            }
        }
        gate.examined = self.held.len();
        gate.waiting
    }

    /// The store committed: messages taken for good may be handed out.
    pub(crate) fn on_committed(&mut self, conn: &mut Connection) {
        if let Some(gate) = self.gate.as_mut() {
            if std::mem::take(&mut gate.waiting) {
                self.deliver_held(conn);
            }
        }
    }

    /// A message no subscription wants yet (already counted in the
    /// budget): hold it for the grace period (QoS 1 and 2 unacknowledged,
    /// so the broker keeps responsibility). Over the memory budget the
    /// oldest unmatched messages are acknowledged and let go first.
    pub(super) fn hold_unmatched(
        &mut self,
        conn: &mut Connection,
        message: Message,
        ack: Option<AckToken>,
        now: Instant,
    ) {
        if self.unmatched_grace.is_zero() {
            tracing::debug!(topic = %message.topic, "message matches no subscription: dropped");
            self.budget.give_back(&message);
            if let Some(token) = ack {
                let _ = conn.ack(token);
            }
            return;
        }
        self.unmatched
            .push_back((now + self.unmatched_grace, message, ack));
        while self.budget.exhausted() {
            let Some((_, message, ack)) = self.unmatched.pop_front() else {
                break;
            };
            tracing::warn!(
                topic = %message.topic,
                "message matches no subscription and the memory budget is spent: dropped"
            );
            self.budget.give_back(&message);
            if let Some(token) = ack {
                let _ = conn.ack(token);
            }
        }
    }

    /// A QoS 0 message arriving over the memory budget: counted on every
    /// subscription it was for, and dropped.
    pub(super) fn drop_qos0(&mut self, message: &Message) {
        tracing::debug!(topic = %message.topic, "QoS 0 message dropped: memory budget spent");
        if self.matched.is_empty() {
            tracing::warn!(
                topic = %message.topic,
                "QoS 0 message for no subscription dropped: memory budget spent"
            );
        }
        for target in &self.matched {
            if let Some(sub) = self.subs.get(target) {
                sub.dropped.add();
            }
        }
    }

    /// A new subscription takes the held messages that match its filters
    /// (all of them with `None`: the stream of unmatched messages).
    pub(super) fn adopt_unmatched(
        &mut self,
        id: u64,
        filters: Option<&[(TopicFilter, SubscriptionOptions)]>,
    ) -> bool {
        if self.unmatched.is_empty() {
            return false;
        }
        let before = self.held.len();
        let mut keep = VecDeque::with_capacity(self.unmatched.len());
        for (deadline, message, ack) in self.unmatched.drain(..) {
            if filters.is_none_or(|filters| filters.iter().any(|(f, _)| f.matches(&message.topic)))
            {
                let key = self.manual_acks.next_key();
                self.held.push_back(Held {
                    message,
                    ack,
                    targets: VecDeque::from([id]),
                    by_hand: 0,
                    key,
                });
            } else {
                keep.push_back((deadline, message, ack));
            }
        }
        self.unmatched = keep;
        self.held.len() > before
    }

    /// When the oldest unmatched message gives up waiting.
    pub(crate) fn unmatched_deadline(&self) -> Option<Instant> {
        self.unmatched.front().map(|(deadline, _, _)| *deadline)
    }

    /// Acknowledges and drops the unmatched messages whose wait is over.
    pub(crate) fn expire_unmatched(&mut self, conn: &mut Connection, now: Instant) {
        while self
            .unmatched
            .front()
            .is_some_and(|(deadline, _, _)| *deadline <= now)
        {
            if let Some((_, message, ack)) = self.unmatched.pop_front() {
                tracing::warn!(topic = %message.topic, "no subscription took this message in time: dropped");
                self.budget.give_back(&message);
                if let Some(token) = ack {
                    let _ = conn.ack(token);
                }
            }
        }
    }

    fn is_manual(&self, id: u64) -> bool {
        self.subs.get(&id).is_some_and(|s| s.manual)
    }

    /// Forgets a subscription whose stream was dropped, unsubscribing from
    /// the filters nothing else uses.
    pub(super) fn drop_subscription(&mut self, conn: &mut Connection, id: u64) {
        if self.subs.remove(&id).is_none() {
            return;
        }
        let unused = self.router.remove_key(id);
        if !unused.is_empty() {
            let _ = conn.unsubscribe(unused);
        }
    }

    /// Forgets a subscription locally, without telling the broker (whose
    /// SUBACK never came): what arrives for it is unmatched from now on.
    pub(super) fn forget_subscription(&mut self, id: u64) {
        if self.subs.remove(&id).is_some() {
            let _ = self.router.remove_key(id);
        }
    }
}
