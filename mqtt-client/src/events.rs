//! Connection events fanned out to every `Client::events` receiver. Shared
//! between the handles (which add receivers) and the driver (which emits),
//! so adding a receiver never waits on, or fails because of, the command
//! queue.

use crate::{DisconnectReason, Error, Server};
use futures_core::Stream;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

/// What happens to the connection, as seen by [`Client::events`](crate::Client::events).
///
/// ```no_run
/// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
/// use mqtt_client::{ConnectionEvent, DisconnectReason};
///
/// let events = client.events();
/// while let Ok(event) = events.recv().await {
///     if let ConnectionEvent::Disconnected { reason: DisconnectReason::Refused(code) } = event {
///         eprintln!("the broker refused us: {code}");
///         break;
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
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
        /// Why.
        reason: DisconnectReason,
    },
    /// The next attempt starts after `delay`.
    Reconnecting {
        /// The backoff delay.
        delay: Duration,
    },
}

/// The connection's events for one receiver ([`Client::events`](crate::Client::events)),
/// as a [`Stream`] or through [`recv`](Self::recv). It ends when the client
/// stops.
///
/// ```no_run
/// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
/// use mqtt_client::ConnectionEvent;
///
/// let events = client.events();
/// // A new receiver first gets the current state.
/// if let Ok(ConnectionEvent::Connected { session_present, .. }) = events.recv().await {
///     println!("up (session present: {session_present})");
/// }
/// # Ok(()) }
/// ```
pub struct Events {
    // async-channel's receiver is not Unpin; boxing it keeps Events so.
    rx: Pin<Box<async_channel::Receiver<ConnectionEvent>>>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("waiting", &self.rx.len())
            .finish()
    }
}

impl Events {
    /// The next event; `Err(Error::Closed)` once the client stopped and
    /// every event was taken.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// let events = client.events();
    /// while let Ok(event) = events.recv().await {
    ///     println!("{event:?}");
    /// }
    /// // Err(Error::Closed): the client stopped.
    /// # Ok(()) }
    /// ```
    pub async fn recv(&self) -> Result<ConnectionEvent, Error> {
        self.rx.recv().await.map_err(|_| Error::Closed)
    }

    /// The next event if one is waiting.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// let events = client.events();
    /// // From a loop that must not wait, such as a UI tick.
    /// while let Some(event) = events.try_recv() {
    ///     println!("{event:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn try_recv(&self) -> Option<ConnectionEvent> {
        self.rx.try_recv().ok()
    }
}

impl Stream for Events {
    type Item = ConnectionEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.as_mut().poll_next(cx)
    }
}

/// How many events a receiver may fall behind before it misses new ones.
const RECEIVER_CAPACITY: usize = 64;

#[derive(Debug, Default)]
struct Inner {
    senders: Vec<async_channel::Sender<ConnectionEvent>>,
    /// The latest Connected/Disconnected, told to each new receiver first.
    last_state: Option<ConnectionEvent>,
    /// Session Present of the latest CONNACK.
    session_present: Option<bool>,
    closed: bool,
    /// Why the client stopped, if it gave up (not on request).
    terminal: Option<Error>,
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
    pub(crate) fn subscribe(&self) -> Events {
        let (tx, rx) = async_channel::bounded(RECEIVER_CAPACITY);
        let mut inner = self.lock();
        if let Some(state) = &inner.last_state {
            let _ = tx.try_send(state.clone());
        }
        if !inner.closed {
            inner.senders.push(tx);
        }
        Events { rx: Box::pin(rx) }
    }

    /// Tells every receiver; a full one misses this event, a dropped one is
    /// forgotten.
    pub(crate) fn emit(&self, event: ConnectionEvent) {
        let mut inner = self.lock();
        if let ConnectionEvent::Connected {
            session_present, ..
        } = &event
        {
            inner.session_present = Some(*session_present);
        }
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

    /// Session Present of the latest CONNACK.
    pub(crate) fn session_present(&self) -> Option<bool> {
        self.lock().session_present
    }

    /// The client stopped (`terminal`: because it gave up): every
    /// receiver ends.
    pub(crate) fn close(&self, terminal: Option<Error>) {
        let mut inner = self.lock();
        inner.closed = true;
        inner.terminal = terminal;
        inner.senders.clear();
    }

    /// Why a stopped client stopped: what it gave up with, or `Closed`.
    pub(crate) fn stopped_because(&self) -> Error {
        self.lock().terminal.clone().unwrap_or(Error::Closed)
    }
}
