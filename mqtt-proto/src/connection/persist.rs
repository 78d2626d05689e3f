//! The session a store keeps (see the [`store`](crate::store) module): the
//! ops the connection records as its durable state changes, and the
//! connection rebuilt from what a store returns.

use super::outgoing::Queued;
use super::*;
use crate::store::{RestoreError, StoreOp, StoredSession};

impl Connection {
    /// A connection that carries on the session `session` describes: its
    /// unfinished messages (those that had a packet id are resent with it
    /// and DUP 1 on the first connection, in publish order
    /// [MQTT-4.4.0-1] [MQTT-4.6.0-1]), the incoming QoS 2 ids it took, and
    /// its subscriptions. Whether a message that had an id had left is not
    /// known, so DUP is 1 for all of them: a receiver treats DUP only as a
    /// hint.
    ///
    /// ```
    /// use mqtt_proto::store::{StoreOp, StoredSession};
    /// use mqtt_proto::{Connection, Instant, Message, MqttString, Options, PacketId, QoS};
    ///
    /// let mut session = StoredSession::new();
    /// let message = Message::new("t", "x", QoS::AtLeastOnce).unwrap();
    /// let id = {
    ///     // Ids come from a connection; this one published and sent it.
    ///     let options = Options::new(MqttString::try_from("c").unwrap()).store(true);
    ///     let mut earlier = Connection::new(options).unwrap();
    ///     let id = earlier.publish(message.clone()).unwrap();
    ///     id
    /// };
    /// session.apply(StoreOp::Publish { id, message });
    /// session.apply(StoreOp::Sent { id, pid: PacketId::new(9).unwrap() });
    ///
    /// let options = Options::new(MqttString::try_from("c").unwrap()).clean_session(false);
    /// let mut conn = Connection::restore(options, &session).unwrap();
    /// conn.connect(Instant::ZERO);
    /// conn.handle_read(Instant::ZERO, &[0x20, 0x02, 0x01, 0x00]); // CONNACK, session present
    /// let bytes: Vec<u8> = std::iter::from_fn(|| conn.poll_transmit(Instant::ZERO)).flatten().collect();
    /// // After CONNECT: PUBLISH with DUP 1, QoS 1, packet id 9.
    /// let publish = &bytes[bytes.len() - 8..];
    /// assert_eq!(publish, [0x3A, 6, 0, 1, b't', 0, 9, b'x']);
    /// ```
    pub fn restore(options: Options, session: &StoredSession) -> Result<Connection, RestoreError> {
        let mut conn = Connection::new(options).map_err(RestoreError::Options)?;
        for p in session.publishes() {
            match p.pid {
                Some(pid) => {
                    if !conn.ids.claim(pid) {
                        return Err(RestoreError::DuplicatePacketId(pid));
                    }
                    conn.outgoing
                        .restore_inflight(p.id, pid, p.message.clone(), p.released);
                }
                None => conn.outgoing.queue.push_back(Queued {
                    id: p.id,
                    message: p.message.clone(),
                }),
            }
        }
        for pid in session.received() {
            conn.incoming.restore_received(pid);
        }
        for (filter, options, id) in session.subscriptions() {
            conn.subscriptions
                .on_subscribe(&[(filter.clone(), options)], id);
        }
        conn.next_publish_id = session.next_id();
        Ok(conn)
    }

    /// The next change of the durable session, oldest first; always `None`
    /// unless [`Options::store`] is on. While one is waiting,
    /// [`poll_transmit`](Self::poll_transmit) returns `None` and
    /// [`poll_event`](Self::poll_event) only hands out the events queued
    /// before it: take the ops, make them durable, then carry on draining.
    ///
    /// ```
    /// use mqtt_proto::store::StoreOp;
    /// use mqtt_proto::{Connection, Instant, Message, MqttString, Options, QoS};
    ///
    /// let options = Options::new(MqttString::try_from("c").unwrap()).store(true);
    /// let mut conn = Connection::new(options).unwrap();
    /// let id = conn.publish(Message::new("t", "x", QoS::AtLeastOnce).unwrap()).unwrap();
    /// assert!(matches!(conn.poll_store(), Some(StoreOp::Publish { id: stored, .. }) if stored == id));
    /// assert_eq!(conn.poll_store(), None);
    /// ```
    #[must_use]
    pub fn poll_store(&mut self) -> Option<StoreOp> {
        self.store.as_mut()?.pop_front()
    }

    /// Whether store ops are waiting to be taken, which holds back bytes
    /// and events.
    pub(super) fn store_pending(&self) -> bool {
        self.store.as_ref().is_some_and(|ops| !ops.is_empty())
    }

    /// Records `op` when a store is in use; `op` is only built then.
    pub(super) fn record(&mut self, op: impl FnOnce() -> StoreOp) {
        let queued_events = self.events.len();
        if let Some(ops) = self.store.as_mut() {
            if ops.is_empty() {
                self.store_fence = queued_events;
            }
            ops.push_back(op());
        }
    }
}
