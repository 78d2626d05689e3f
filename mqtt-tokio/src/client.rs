//! The handles applications hold: [`Client`] (cheap to clone, `Send + Sync`)
//! and [`Subscription`] (a `Stream` of messages). Each call becomes a
//! [`Command`] for the driver task; nothing here touches the network.

use crate::driver::{Command, Driver};
use crate::{Error, Options};
use bytes::Bytes;
use futures_core::Stream;
use mqtt_proto::{Message, QoS, SubscribeOutcome, TopicFilter};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};

/// What happens to the connection, as seen by [`Client::events`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// The broker accepted a connection. With `session_present` false it
    /// kept nothing, and the client subscribed again to every live
    /// subscription.
    Connected {
        /// Whether the broker resumed the stored session.
        session_present: bool,
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

/// A handle to one MQTT client. Clone it freely; the connection shuts down
/// cleanly when the last handle is dropped or [`disconnect`](Self::disconnect)
/// is called.
#[derive(Debug, Clone)]
pub struct Client {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<ConnectionEvent>,
}

impl Client {
    /// Connects to the broker and returns once CONNACK accepted the first
    /// connection. A refused CONNACK (`Error::Refused`), an unreachable
    /// broker (`Error::Io`) or no answer in time (`Error::Timeout`) fail
    /// here; once connected, the client reconnects by itself.
    pub async fn connect(options: Options) -> Result<Client, Error> {
        let (commands, rx) = mpsc::channel(options.command_capacity);
        let (events, _) = broadcast::channel(256);
        let (ready_tx, ready_rx) = oneshot::channel();
        let driver = Driver::new(options, rx, events.clone(), ready_tx)?;
        tokio::spawn(driver.run());
        match ready_rx.await {
            Ok(Ok(())) => Ok(Client { commands, events }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Closed),
        }
    }

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
                mpsc::error::TrySendError::Full(_) => Error::Backpressure,
                mpsc::error::TrySendError::Closed(_) => Error::Closed,
            })
    }

    /// Subscribes to one filter; the returned stream yields every message
    /// that matches it, until it is dropped or unsubscribed.
    pub async fn subscribe(&self, filter: &str, qos: QoS) -> Result<Subscription, Error> {
        self.subscribe_many(&[(filter, qos)]).await
    }

    /// Subscribes to several filters with one SUBSCRIBE; one stream gets the
    /// messages of all of them (each message once).
    pub async fn subscribe_many(&self, filters: &[(&str, QoS)]) -> Result<Subscription, Error> {
        let filters = filters
            .iter()
            .map(|(f, q)| Ok((TopicFilter::try_from(*f)?, *q)))
            .collect::<Result<Vec<_>, Error>>()?;
        let (id, messages, outcomes) = self
            .call(|done| Command::Subscribe { filters, done })
            .await?;
        Ok(Subscription {
            id,
            messages,
            outcomes,
            client: self.clone(),
        })
    }

    /// The connection's events (connected, disconnected, reconnecting). Each
    /// receiver sees the events after it was created; one that falls far
    /// behind skips the oldest.
    pub fn events(&self) -> broadcast::Receiver<ConnectionEvent> {
        self.events.subscribe()
    }

    /// Waits (at most the disconnect timeout) for messages in flight, sends
    /// DISCONNECT and closes the connection. Every handle is closed after.
    pub async fn disconnect(&self) -> Result<(), Error> {
        self.call(|done| Command::Disconnect { done }).await
    }
}

/// The messages of one `subscribe` call, as a [`Stream`].
#[derive(Debug)]
pub struct Subscription {
    id: u64,
    messages: mpsc::Receiver<Message>,
    outcomes: Vec<SubscribeOutcome>,
    client: Client,
}

impl Subscription {
    /// The next message, or `None` once unsubscribed or the client closed.
    pub async fn next(&mut self) -> Option<Message> {
        self.messages.recv().await
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

impl Stream for Subscription {
    type Item = Message;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.messages.poll_recv(cx)
    }
}
