//! The session as a store sees it: what a [`Connection`](crate::Connection)
//! records so that a restarted process can carry on where the last one
//! stopped.
//!
//! With [`Options::store`](crate::Options::store) on, every change of the
//! durable session comes out of [`Connection::poll_store`](crate::Connection::poll_store)
//! as a [`StoreOp`], in the order it happened:
//!
//! | what happened | op |
//! |---|---|
//! | `publish` accepted a QoS 1 or 2 message | [`StoreOp::Publish`] |
//! | its packet id was assigned and its PUBLISH is about to leave | [`StoreOp::Sent`] |
//! | PUBREC came: PUBREL from now on [MQTT-4.3.3-1] | [`StoreOp::Released`] |
//! | the broker lost the session: back in the queue, without an id | [`StoreOp::Unsent`] |
//! | PUBACK or PUBCOMP came, or the message was given up | [`StoreOp::Done`] |
//! | an incoming QoS 2 message was taken (delivered, or acked by hand) | [`StoreOp::Received`] |
//! | PUBREL freed that id [MQTT-4.3.3-2] | [`StoreOp::Forgotten`] |
//! | the broker lost the session: no incoming id is held | [`StoreOp::ForgetIncoming`] |
//! | a filter was subscribed to, or unsubscribed from or refused | [`StoreOp::Subscribed`], [`StoreOp::Unsubscribed`] |
//!
//! # The one rule for a store
//!
//! While ops are waiting to be taken, `poll_transmit` returns `None` and
//! `poll_event` hands out only the events queued before the oldest of
//! them: the loop takes the ops first. It must then make them durable
//! before it writes any byte or hands out any event that came after them. That is what makes a restart safe: a packet id is on disk
//! before a PUBLISH carries it, a release before its PUBREL leaves, a QoS 2
//! id before its message reaches the application, and the end of that id
//! before its PUBCOMP goes out. A loop commits once per round (group
//! commit): many ops, one write and one sync.
//!
//! # Restoring
//!
//! Folding the ops in order into a [`StoredSession`] gives the state to
//! start from; [`Connection::restore`](crate::Connection::restore) builds a
//! connection from it. Messages that had a packet id are resent first,
//! with that id and DUP 1 [MQTT-4.4.0-1] [MQTT-3.3.1-1], in publish order
//! [MQTT-4.6.0-1], PUBREL for those already released; the queued ones
//! follow. A [`StoredSession`] also gives back the few ops that rebuild it
//! ([`StoredSession::ops`]), for a store that compacts its log.
//!
//! # Records
//!
//! [`StoreOp::encode`] and [`StoreOp::decode`] turn an op into a compact
//! record and back, so a store only keeps byte strings; framing them and
//! checking them for damage is the store's part.

mod record;
mod session;

pub use record::RecordError;
pub use session::{RestoreError, StoredPublish, StoredSession};

use crate::connection::{Message, PublishId};
use crate::packet::v5::SubscriptionOptions;
use crate::packet::PacketId;
use crate::topic::TopicFilter;

/// One change of the durable session (see the module documentation).
///
/// ```
/// use mqtt_proto::store::StoreOp;
/// use mqtt_proto::{Connection, Instant, Message, MqttString, Options, QoS};
///
/// let options = Options::new(MqttString::try_from("c").unwrap()).store(true);
/// let mut conn = Connection::new(options).unwrap();
/// conn.connect(Instant::ZERO);
/// conn.handle_read(Instant::ZERO, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
/// let id = conn.publish(Message::new("t", "x", QoS::AtLeastOnce).unwrap()).unwrap();
/// let ops: Vec<StoreOp> = std::iter::from_fn(|| conn.poll_store()).collect();
/// assert!(matches!(ops[..], [StoreOp::Publish { .. }, StoreOp::Sent { id: sent, .. }] if sent == id));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreOp {
    /// `publish` accepted this QoS 1 or 2 message.
    Publish {
        /// Its id; ids grow in publish order.
        id: PublishId,
        /// The message.
        message: Message,
    },
    /// The message got this packet id and its PUBLISH is about to leave.
    Sent {
        /// The message.
        id: PublishId,
        /// Its packet id, to be reused on every resend [MQTT-4.4.0-1].
        pid: PacketId,
    },
    /// PUBREC came for this QoS 2 message: only PUBREL is sent from now on.
    Released {
        /// The message.
        id: PublishId,
    },
    /// The broker lost the session: the message is queued again, to be
    /// sent as new, and its packet id is free.
    Unsent {
        /// The message.
        id: PublishId,
    },
    /// The message is finished (PUBACK, PUBCOMP) or given up.
    Done {
        /// The message.
        id: PublishId,
    },
    /// An incoming QoS 2 message with this id was taken: a redelivery of
    /// it is answered but not handed out again.
    Received {
        /// Its packet id.
        pid: PacketId,
    },
    /// PUBREL came for this incoming id: a PUBLISH with it is new again.
    Forgotten {
        /// The packet id.
        pid: PacketId,
    },
    /// The broker lost the session: no incoming QoS 2 id is held any more.
    ForgetIncoming,
    /// The session holds this filter with these options.
    Subscribed {
        /// The filter.
        filter: TopicFilter,
        /// The maximum QoS asked for and, at MQTT 5.0, the other
        /// subscription options.
        options: SubscriptionOptions,
        /// MQTT 5.0: the subscription identifier it was subscribed with.
        identifier: Option<u32>,
    },
    /// The session no longer holds this filter.
    Unsubscribed {
        /// The filter.
        filter: TopicFilter,
    },
}
