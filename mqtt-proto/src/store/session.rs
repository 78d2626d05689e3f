//! [`StoredSession`]: the durable session folded from its ops, what a
//! connection is restored from and what a compacting store rewrites.

use super::StoreOp;
use crate::connection::{Message, OptionsError, PublishId};
use crate::packet::v5::SubscriptionOptions;
use crate::packet::{PacketId, QoS};
use crate::topic::TopicFilter;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::fmt;

/// A stored QoS 1 or 2 message that was not finished.
///
/// ```
/// use mqtt_proto::store::{StoreOp, StoredSession};
/// use mqtt_proto::{Connection, Message, MqttString, Options, QoS};
///
/// let mut conn = Connection::new(Options::new(MqttString::try_from("c").unwrap()).store(true)).unwrap();
/// conn.publish(Message::new("t", "queued", QoS::ExactlyOnce).unwrap()).unwrap();
/// let mut session = StoredSession::new();
/// std::iter::from_fn(|| conn.poll_store()).for_each(|op| session.apply(op));
/// let stored = session.publishes().next().unwrap();
/// assert_eq!((stored.pid, stored.released), (None, false)); // never sent: no packet id yet
/// assert_eq!(stored.message.payload, "queued");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredPublish {
    /// Its id; ids grow in publish order.
    pub id: PublishId,
    /// The message.
    pub message: Message,
    /// Its packet id, once its PUBLISH was about to leave; `None` while it
    /// waits in the queue.
    pub pid: Option<PacketId>,
    /// PUBREC came (QoS 2): only PUBREL is sent for it from now on.
    pub released: bool,
}

/// The durable session: the fold of every [`StoreOp`] in order.
///
/// ```
/// use mqtt_proto::store::{StoreOp, StoredSession};
/// use mqtt_proto::{Connection, Message, MqttString, Options, QoS};
///
/// // A connection that records its session...
/// let options = Options::new(MqttString::try_from("sensor").unwrap()).clean_session(false).store(true);
/// let mut conn = Connection::new(options.clone()).unwrap();
/// conn.publish(Message::new("t", "kept", QoS::AtLeastOnce).unwrap()).unwrap();
/// let ops: Vec<StoreOp> = std::iter::from_fn(|| conn.poll_store()).collect();
///
/// // ... and one restored from those ops, after a restart.
/// let mut session = StoredSession::new();
/// for op in ops {
///     session.apply(op);
/// }
/// let restored = Connection::restore(options, &session).unwrap();
/// assert_eq!(restored.queued(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredSession {
    publishes: BTreeMap<PublishId, StoredPublish>,
    received: BTreeSet<PacketId>,
    subscriptions: BTreeMap<TopicFilter, (SubscriptionOptions, Option<u32>)>,
}

impl StoredSession {
    /// An empty session.
    ///
    /// ```
    /// assert!(mqtt_proto::store::StoredSession::new().is_empty());
    /// ```
    pub fn new() -> StoredSession {
        StoredSession::default()
    }

    /// Applies the next op. An op about a message the session does not
    /// hold changes nothing: folding is total, whatever the records say.
    ///
    /// ```
    /// use mqtt_proto::store::{StoreOp, StoredSession};
    /// use mqtt_proto::PacketId;
    ///
    /// let mut session = StoredSession::new();
    /// session.apply(StoreOp::Received { pid: PacketId::new(4).unwrap() });
    /// assert_eq!(session.received().count(), 1);
    /// session.apply(StoreOp::ForgetIncoming);
    /// assert!(session.is_empty());
    /// ```
    pub fn apply(&mut self, op: StoreOp) {
        match op {
            StoreOp::Publish { id, message } => {
                self.publishes.insert(
                    id,
                    StoredPublish {
                        id,
                        message,
                        pid: None,
                        released: false,
                    },
                );
            }
            StoreOp::Sent { id, pid } => {
                if let Some(p) = self.publishes.get_mut(&id) {
                    p.pid = Some(pid);
                }
            }
            StoreOp::Released { id } => {
                if let Some(p) = self.publishes.get_mut(&id) {
                    p.released = p.pid.is_some() && p.message.qos == QoS::ExactlyOnce;
                }
            }
            StoreOp::Unsent { id } => {
                if let Some(p) = self.publishes.get_mut(&id) {
                    p.pid = None;
                    p.released = false;
                }
            }
            StoreOp::Done { id } => {
                self.publishes.remove(&id);
            }
            StoreOp::Received { pid } => {
                self.received.insert(pid);
            }
            StoreOp::Forgotten { pid } => {
                self.received.remove(&pid);
            }
            StoreOp::ForgetIncoming => self.received.clear(),
            StoreOp::Subscribed {
                filter,
                options,
                identifier,
            } => {
                self.subscriptions.insert(filter, (options, identifier));
            }
            StoreOp::Unsubscribed { filter } => {
                self.subscriptions.remove(&filter);
            }
        }
    }

    /// The fewest ops that fold into this session, for a store rewriting
    /// its log.
    ///
    /// ```
    /// use mqtt_proto::packet::v5::SubscriptionOptions;
    /// use mqtt_proto::store::{StoreOp, StoredSession};
    /// use mqtt_proto::{PacketId, TopicFilter, QoS};
    ///
    /// let mut session = StoredSession::new();
    /// let filter = TopicFilter::try_from("a/+").unwrap();
    /// let (q0, q2) = (SubscriptionOptions::new(QoS::AtMostOnce), SubscriptionOptions::new(QoS::ExactlyOnce));
    /// session.apply(StoreOp::Subscribed { filter: filter.clone(), options: q0, identifier: None });
    /// session.apply(StoreOp::Subscribed { filter: filter.clone(), options: q2, identifier: None });
    /// session.apply(StoreOp::Received { pid: PacketId::new(7).unwrap() });
    /// session.apply(StoreOp::Forgotten { pid: PacketId::new(7).unwrap() });
    /// assert_eq!(session.ops(), [StoreOp::Subscribed { filter, options: q2, identifier: None }]);
    /// ```
    pub fn ops(&self) -> Vec<StoreOp> {
        let mut ops = Vec::new();
        for p in self.publishes.values() {
            ops.push(StoreOp::Publish {
                id: p.id,
                message: p.message.clone(),
            });
            if let Some(pid) = p.pid {
                ops.push(StoreOp::Sent { id: p.id, pid });
            }
            if p.released {
                ops.push(StoreOp::Released { id: p.id });
            }
        }
        ops.extend(self.received.iter().map(|&pid| StoreOp::Received { pid }));
        ops.extend(
            self.subscriptions
                .iter()
                .map(|(filter, &(options, identifier))| StoreOp::Subscribed {
                    filter: filter.clone(),
                    options,
                    identifier,
                }),
        );
        ops
    }

    /// The unfinished messages, in publish order.
    ///
    /// ```
    /// use mqtt_proto::store::StoredSession;
    /// use mqtt_proto::{Connection, Message, MqttString, Options, QoS};
    ///
    /// let mut conn = Connection::new(Options::new(MqttString::try_from("c").unwrap()).store(true)).unwrap();
    /// for payload in ["a", "b"] {
    ///     conn.publish(Message::new("t", payload, QoS::AtLeastOnce).unwrap()).unwrap();
    /// }
    /// let mut session = StoredSession::new();
    /// std::iter::from_fn(|| conn.poll_store()).for_each(|op| session.apply(op));
    /// let payloads: Vec<_> = session.publishes().map(|p| p.message.payload.clone()).collect();
    /// assert_eq!(payloads, ["a", "b"]);
    /// ```
    pub fn publishes(&self) -> impl Iterator<Item = &StoredPublish> {
        self.publishes.values()
    }

    /// The incoming QoS 2 ids taken and not yet released.
    ///
    /// ```
    /// use mqtt_proto::store::{StoreOp, StoredSession};
    /// use mqtt_proto::PacketId;
    ///
    /// let mut session = StoredSession::new();
    /// let pid = PacketId::new(12).unwrap();
    /// session.apply(StoreOp::Received { pid });
    /// assert_eq!(session.received().collect::<Vec<_>>(), [pid]);
    /// session.apply(StoreOp::Forgotten { pid }); // PUBREL came
    /// assert_eq!(session.received().count(), 0);
    /// ```
    pub fn received(&self) -> impl Iterator<Item = PacketId> + '_ {
        self.received.iter().copied()
    }

    /// The filters the session holds.
    ///
    /// ```
    /// use mqtt_proto::packet::v5::SubscriptionOptions;
    /// use mqtt_proto::store::{StoreOp, StoredSession};
    /// use mqtt_proto::{QoS, TopicFilter};
    ///
    /// let mut session = StoredSession::new();
    /// let filter = TopicFilter::try_from("alerts/#").unwrap();
    /// let options = SubscriptionOptions::new(QoS::AtLeastOnce);
    /// session.apply(StoreOp::Subscribed { filter: filter.clone(), options, identifier: Some(3) });
    /// assert_eq!(session.subscriptions().collect::<Vec<_>>(), [(&filter, options, Some(3))]);
    /// ```
    pub fn subscriptions(
        &self,
    ) -> impl Iterator<Item = (&TopicFilter, SubscriptionOptions, Option<u32>)> {
        self.subscriptions.iter().map(|(f, (o, id))| (f, *o, *id))
    }

    /// Whether nothing is held.
    ///
    /// ```
    /// use mqtt_proto::store::{StoreOp, StoredSession};
    /// use mqtt_proto::TopicFilter;
    ///
    /// let mut session = StoredSession::new();
    /// assert!(session.is_empty());
    /// session.apply(StoreOp::Unsubscribed { filter: TopicFilter::try_from("x").unwrap() });
    /// assert!(session.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.publishes.is_empty() && self.received.is_empty() && self.subscriptions.is_empty()
    }

    /// The id the next message after the stored ones gets.
    pub(crate) fn next_id(&self) -> u64 {
        self.publishes
            .keys()
            .next_back()
            .map_or(0, |id| id.0.saturating_add(1))
    }
}

/// Why a connection cannot be restored from a [`StoredSession`].
///
/// ```
/// use mqtt_proto::store::{RestoreError, StoredSession};
/// use mqtt_proto::{Connection, MqttString, Options, OptionsError};
///
/// // The options are checked as by `Connection::new`.
/// let options = Options::new(MqttString::try_from("").unwrap()).clean_session(false);
/// assert_eq!(
///     Connection::restore(options, &StoredSession::new()).unwrap_err(),
///     RestoreError::Options(OptionsError::EmptyClientIdNeedsCleanSession)
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestoreError {
    /// The options are not valid.
    Options(OptionsError),
    /// Two stored messages hold the same packet id: the records disagree
    /// with any session a connection can have.
    DuplicatePacketId(PacketId),
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestoreError::Options(e) => write!(f, "invalid options: {e}"),
            RestoreError::DuplicatePacketId(pid) => {
                write!(f, "two stored messages hold packet id {pid}")
            }
        }
    }
}

impl core::error::Error for RestoreError {}
