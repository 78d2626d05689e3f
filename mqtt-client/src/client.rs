//! The handles applications hold: [`Client`] (cheap to clone, `Send + Sync`)
//! and [`Subscription`] (a `Stream` of messages). Each call becomes a
//! [`Command`] for the driver task; nothing here touches the network.

use crate::driver::{Budget, Command, Driver, DropCount, SubscribeReply};
use crate::events::{ConnectionEvent, Listeners};
use crate::runtime::Runtime;
use crate::{Error, Options};
use bytes::Bytes;
use futures_channel::oneshot;
use futures_core::Stream;
use mqtt_proto::{Message, QoS, SubscribeOutcome, TopicFilter};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A handle to one MQTT client on runtime `R`. Clone it freely; the
/// connection shuts down cleanly when the last handle (subscriptions
/// included) is dropped or [`disconnect`](Self::disconnect) is called.
pub struct Client<R> {
    commands: async_channel::Sender<Command>,
    listeners: Arc<Listeners>,
    client_id: Arc<str>,
    runtime: PhantomData<fn() -> R>,
}

impl<R> Clone for Client<R> {
    fn clone(&self) -> Self {
        Client {
            commands: self.commands.clone(),
            listeners: self.listeners.clone(),
            client_id: self.client_id.clone(),
            runtime: PhantomData,
        }
    }
}

impl<R> std::fmt::Debug for Client<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("closed", &self.commands.is_closed())
            .finish()
    }
}

impl<R: Runtime> Client<R> {
    /// Connects to the broker and returns once CONNACK accepted the first
    /// connection, trying each of `Options::servers` in turn. Fails when
    /// none could be reached, with the last server's error: a refused
    /// CONNACK (`Error::Refused`), an unreachable broker (`Error::Io`), a
    /// TLS or WebSocket failure (`Error::Tls`, `Error::WebSocket`), no
    /// answer in time (`Error::Timeout`). A local TLS configuration error
    /// fails before any connection is opened. Once connected, the client
    /// reconnects by itself.
    pub async fn connect(options: Options) -> Result<Self, Error> {
        let (commands, rx) = async_channel::bounded(options.command_capacity);
        let (ready_tx, ready_rx) = oneshot::channel();
        let listeners = Arc::new(Listeners::default());
        let driver = Driver::<R>::new(options, rx, ready_tx, listeners.clone())?;
        // Every event the driver logs carries the client id.
        let client_id: Arc<str> = driver.client_id().into();
        let span = tracing::info_span!("mqtt", client_id = %client_id);
        R::spawn(Box::pin(tracing::Instrument::instrument(driver, span)));
        match ready_rx.await {
            Ok(Ok(())) => Ok(Client {
                commands,
                listeners,
                client_id,
                runtime: PhantomData,
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Closed),
        }
    }
}

impl<R> Client<R> {
    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, Error>>) -> Command,
    ) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Publishes and waits until the message is complete for its QoS: QoS 0
    /// written to the socket, QoS 1 acknowledged (PUBACK), QoS 2 finished
    /// (PUBCOMP). Waits for room while the queue is full.
    pub async fn publish(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
    ) -> Result<(), Error> {
        self.publish_message(Message::new(topic, payload, qos)?)
            .await
    }

    /// Publishes with the RETAIN flag set.
    pub async fn publish_retained(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
    ) -> Result<(), Error> {
        self.publish_message(Message::new(topic, payload, qos)?.retained(true))
            .await
    }

    /// Publishes a prepared [`Message`] and waits for its completion.
    pub async fn publish_message(&self, message: Message) -> Result<(), Error> {
        self.call(|done| Command::Publish {
            message,
            done: Some(done),
        })
        .await
    }

    /// Hands the message to the client without waiting: fire and forget.
    /// Fails with [`Error::Backpressure`] when the command queue is full.
    pub fn try_publish(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
    ) -> Result<(), Error> {
        let message = Message::new(topic, payload, qos)?;
        self.commands
            .try_send(Command::Publish {
                message,
                done: None,
            })
            .map_err(|e| match e {
                async_channel::TrySendError::Full(_) => Error::Backpressure,
                async_channel::TrySendError::Closed(_) => Error::Closed,
            })
    }

    /// Subscribes to one filter; the returned stream yields every message
    /// that matches it, until it is dropped or unsubscribed.
    pub async fn subscribe(&self, filter: &str, qos: QoS) -> Result<Subscription<R>, Error> {
        self.subscribe_many(&[(filter, qos)]).await
    }

    /// Subscribes to several filters with one SUBSCRIBE; one stream gets the
    /// messages of all of them (each message once).
    pub async fn subscribe_many(&self, filters: &[(&str, QoS)]) -> Result<Subscription<R>, Error> {
        let filters = filters
            .iter()
            .map(|(f, q)| Ok((TopicFilter::try_from(*f)?, *q)))
            .collect::<Result<Vec<_>, Error>>()?;
        let SubscribeReply {
            id,
            messages,
            outcomes,
            dropped,
            budget,
        } = self
            .call(|done| Command::Subscribe { filters, done })
            .await?;
        Ok(Subscription {
            id,
            messages,
            outcomes,
            dropped,
            budget,
            client: self.clone(),
        })
    }

    /// The client identifier in use: the one given in `Options`, or the
    /// one generated for a clean session.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The connection's events (connected, disconnected, reconnecting) from
    /// now on. A receiver that falls more than 64 events behind misses the
    /// newest ones until it catches up.
    pub fn events(&self) -> async_channel::Receiver<ConnectionEvent> {
        self.listeners.subscribe()
    }

    /// Waits (at most the disconnect timeout) for messages in flight, sends
    /// DISCONNECT and closes the connection. Every handle is closed after.
    pub async fn disconnect(&self) -> Result<(), Error> {
        self.call(|done| Command::Disconnect { done }).await
    }
}

/// The messages of one `subscribe` call, as a [`Stream`].
pub struct Subscription<R> {
    id: u64,
    // async-channel's receiver is not Unpin; boxing it keeps Subscription so.
    messages: Pin<Box<async_channel::Receiver<Message>>>,
    outcomes: Vec<SubscribeOutcome>,
    dropped: DropCount,
    /// The client's memory budget, given back as messages are taken.
    budget: Budget,
    client: Client<R>,
}

impl<R> std::fmt::Debug for Subscription<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("outcomes", &self.outcomes)
            .finish()
    }
}

impl<R> Subscription<R> {
    /// The next message, or `None` once unsubscribed or the client closed.
    pub async fn next(&mut self) -> Option<Message> {
        let message = self.messages.recv().await.ok()?;
        self.budget.give_back(&message);
        Some(message)
    }

    /// QoS 0 messages dropped for this subscription because the client's
    /// memory budget was spent (`Options::max_held_bytes`): it was reading
    /// too slowly. QoS 1 and 2 messages are never dropped.
    pub fn dropped(&self) -> u64 {
        self.dropped.get()
    }

    /// What the broker granted, one outcome per filter.
    pub fn outcomes(&self) -> &[SubscribeOutcome] {
        &self.outcomes
    }

    /// Unsubscribes (UNSUBSCRIBE for the filters no other subscription of
    /// this client uses) and waits for the broker's UNSUBACK.
    pub async fn unsubscribe(self) -> Result<(), Error> {
        let id = self.id;
        self.client
            .call(|done| Command::Unsubscribe { id, done })
            .await
    }
}

impl<R> Stream for Subscription<R> {
    type Item = Message;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        let polled = self.messages.as_mut().poll_next(cx);
        if let Poll::Ready(Some(message)) = &polled {
            self.budget.give_back(message);
        }
        polled
    }
}

impl<R> Drop for Subscription<R> {
    fn drop(&mut self) {
        // What nobody will read any more stops counting against the budget.
        self.messages.close();
        while let Ok(message) = self.messages.try_recv() {
            self.budget.give_back(&message);
        }
    }
}

/// Compiles only if, for every runtime, a `Client` can be shared across
/// tasks and threads and a `Subscription` moved between them.
#[allow(dead_code)]
fn handles_are_send_sync<R: Runtime>() {
    fn shared<T: Send + Sync + Clone>() {}
    fn moved<T: Send>() {}
    shared::<Client<R>>();
    moved::<Subscription<R>>();
}
