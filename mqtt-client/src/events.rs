//! Connection events fanned out to every `Client::events` receiver. Shared
//! between the handles (which add receivers) and the driver (which emits),
//! so adding a receiver never waits on, or fails because of, the command
//! queue.

use crate::Server;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// What happens to the connection, as seen by [`Client::events`](crate::Client::events).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// The broker accepted a connection. With `session_present` false it
    /// kept nothing, and the client subscribed again to every live
    /// subscription.
    Connected {
        /// Whether the broker resumed the stored session.
        session_present: bool,
        /// The broker connected to (one of `Options::servers`).
        server: Server,
    },
    /// A connection ended or could not be made.
    Disconnected {
        /// Why, in words (the typed reason is logged with `tracing`).
        reason: String,
    },
    /// The next attempt starts after `delay`.
    Reconnecting {
        /// The backoff delay.
        delay: Duration,
    },
}

/// How many events a receiver may fall behind before it misses new ones.
const RECEIVER_CAPACITY: usize = 64;

#[derive(Debug, Default)]
struct Inner {
    senders: Vec<async_channel::Sender<ConnectionEvent>>,
    /// The latest Connected/Disconnected, told to each new receiver first.
    last_state: Option<ConnectionEvent>,
    closed: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Listeners {
    inner: Mutex<Inner>,
}

impl Listeners {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing here can leave the data inconsistent if a holder panicked.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new receiver: the current state first, then every event after.
    pub(crate) fn subscribe(&self) -> async_channel::Receiver<ConnectionEvent> {
        let (tx, rx) = async_channel::bounded(RECEIVER_CAPACITY);
        let mut inner = self.lock();
        if let Some(state) = &inner.last_state {
            let _ = tx.try_send(state.clone());
        }
        if !inner.closed {
            inner.senders.push(tx);
        }
        rx
    }

    /// Tells every receiver; a full one misses this event, a dropped one is
    /// forgotten.
    pub(crate) fn emit(&self, event: ConnectionEvent) {
        let mut inner = self.lock();
        if !matches!(event, ConnectionEvent::Reconnecting { .. }) {
            inner.last_state = Some(event.clone());
        }
        inner.senders.retain(|s| {
            !matches!(
                s.try_send(event.clone()),
                Err(async_channel::TrySendError::Closed(_))
            )
        });
    }

    /// The client stopped: every receiver ends.
    pub(crate) fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        inner.senders.clear();
    }
}
