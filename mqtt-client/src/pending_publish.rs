//! A publish handed to the session and not yet complete: what
//! `Client::publish_pipelined` returns, so one task can keep many messages
//! in flight without spawning a task per message.

use crate::events::Listeners;
use crate::Error;
use futures_channel::oneshot;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Completes when the message is complete for its QoS: QoS 0 written, QoS
/// 1 acknowledged (PUBACK), QoS 2 finished (PUBCOMP); or fails with why it
/// could not be. Dropping it does not cancel the publish.
///
/// ```no_run
/// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
/// use mqtt_client::{Error, QoS};
///
/// let pending = client.publish_pipelined("logs", "line 1", QoS::ExactlyOnce).await?;
/// // ... publish more, do other work ...
/// match pending.await {
///     Ok(()) => {} // PUBCOMP received
///     Err(Error::SessionLost) => eprintln!("the broker lost it: publish again?"),
///     Err(e) => return Err(e),
/// }
/// # Ok(()) }
/// ```
#[must_use = "the publish goes on without it; await it to learn the outcome"]
pub struct PendingPublish {
    pub(crate) done: oneshot::Receiver<Result<(), Error>>,
    /// Answered when the store committed the message; `None` when no
    /// store keeps it.
    pub(crate) stored: Option<oneshot::Receiver<Result<(), Error>>>,
    pub(crate) listeners: Arc<Listeners>,
}

impl PendingPublish {
    /// Completes once the message is in the client's store
    /// ([`Options::store_dir`](crate::Options::store_dir)), durable as
    /// [`Options::store_durability`](crate::Options::store_durability)
    /// says: from then on it survives the process, and a client started
    /// again with the same client id and store delivers it. Fails with
    /// [`Error::NotStored`] when no store keeps it (QoS 0, or no store).
    /// The message goes on either way; awaiting `self` still tells when
    /// the broker has it.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::QoS;
    ///
    /// let mut pending = client.publish_pipelined("meter/17", "42.1 kWh", QoS::ExactlyOnce).await?;
    /// pending.stored().await?; // on disk: safe to drop the reading from the sensor
    /// pending.await?; // PUBCOMP
    /// # Ok(()) }
    /// ```
    pub async fn stored(&mut self) -> Result<(), Error> {
        match self.stored.take() {
            Some(stored) => match stored.await {
                Ok(outcome) => outcome,
                Err(_) => Err(self.listeners.stopped_because()),
            },
            None => Err(Error::NotStored),
        }
    }
}

impl std::fmt::Debug for PendingPublish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingPublish").finish_non_exhaustive()
    }
}

impl Future for PendingPublish {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.done).poll(cx) {
            Poll::Ready(Ok(outcome)) => Poll::Ready(outcome),
            Poll::Ready(Err(_)) => Poll::Ready(Err(self.listeners.stopped_because())),
            Poll::Pending => Poll::Pending,
        }
    }
}
