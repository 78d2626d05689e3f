//! The handles applications hold: [`Client`] (cheap to clone, `Send + Sync`)
//! and [`Subscription`] (a `Stream` of messages). Each call becomes a
//! [`Command`] for the driver task; nothing here touches the network.

use crate::driver::{handover, Command, CommandSender, Driver, SendError};
use crate::events::{Events, Listeners};
use crate::pending_publish::PendingPublish;
use crate::runtime::Runtime;
use crate::subscription::{Handle, ManualSubscription, Subscription};
use crate::{Error, Options};
use bytes::Bytes;
use futures_channel::oneshot;
use mqtt_proto::packet::v5::{SubscribeProperties, SubscriptionOptions};
use mqtt_proto::{Message, QoS, TopicFilter};
use std::marker::PhantomData;
use std::sync::Arc;

/// A handle to one MQTT client on runtime `R`. Clone it freely; the
/// connection shuts down cleanly when the last handle (subscriptions
/// included) is dropped or [`disconnect`](Self::disconnect) is called.
///
/// ```no_run
/// # async fn demo<R: mqtt_client::Runtime>() -> Result<(), mqtt_client::Error> {
/// use mqtt_client::{Client, Options, QoS};
///
/// // `R` is the runtime: `mqtt_tokio::Client` and `mqtt_async_std::Client`
/// // name it for you.
/// let client = Client::<R>::connect(Options::from_url("mqtt://127.0.0.1:1883")?).await?;
/// let mut sub = client.subscribe("sensors/#", QoS::AtLeastOnce).await?;
///
/// // Handles are cheap clones, `Send + Sync`: one per task.
/// let publisher = client.clone();
/// publisher.publish("sensors/kitchen", "21.5", QoS::AtLeastOnce).await?;
///
/// if let Some(message) = sub.next().await {
///     assert_eq!(message.topic, "sensors/kitchen");
/// }
/// client.disconnect().await?;
/// # Ok(()) }
/// ```
pub struct Client<R> {
    commands: CommandSender,
    listeners: Arc<Listeners>,
    client_id: Arc<str>,
    /// A store keeps the session: publishes can report when it has them.
    stored: bool,
    runtime: PhantomData<fn() -> R>,
}

impl<R> Clone for Client<R> {
    fn clone(&self) -> Self {
        Client {
            commands: self.commands.clone(),
            listeners: self.listeners.clone(),
            client_id: self.client_id.clone(),
            stored: self.stored,
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
    /// reconnects by itself; [`session_present`](Self::session_present)
    /// says whether the broker resumed a session.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>() -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::{Client, Error, Options};
    ///
    /// match Client::<R>::connect(Options::from_url("mqtt://127.0.0.1:1883")?).await {
    ///     Ok(client) => println!("connected as {}", client.client_id()),
    ///     Err(Error::Refused(code)) => eprintln!("refused: {code}"),
    ///     Err(e) => eprintln!("cannot connect: {e}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn connect(options: Options) -> Result<Self, Error> {
        let (client, ready) = Self::spawn(options, true)?;
        match ready.await {
            Ok(Ok(())) => Ok(client),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Closed),
        }
    }

    /// Starts the client offline and returns at once: it connects in the
    /// background, with backoff, for as long as it takes (a device that
    /// boots before its network). Publishes and subscribes made meanwhile
    /// are queued within the usual limits and go out once connected;
    /// [`events`](Self::events) reports the attempts. Only local errors
    /// (invalid options, TLS files) fail here.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>() -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::{Client, Options, QoS};
    ///
    /// // Returns at once, even with no network yet.
    /// let client = Client::<R>::start(Options::from_url("mqtt://127.0.0.1:1883")?)?;
    /// // Queued now, sent once connected.
    /// client.try_publish("devices/7/boot", "up", QoS::AtLeastOnce)?;
    /// # Ok(()) }
    /// ```
    pub fn start(options: Options) -> Result<Self, Error> {
        Self::spawn(options, false).map(|(client, _)| client)
    }

    fn spawn(
        options: Options,
        give_up_if_unreachable: bool,
    ) -> Result<(Self, oneshot::Receiver<Result<(), Error>>), Error> {
        // The hand-over holds as many commands as the session queue, so
        // that `try_publish` fails when the session is backed up, not when
        // the driver has not run for a moment. It allocates as commands
        // arrive, so the bound costs an idle client nothing.
        let capacity = options.command_capacity.max(options.session.max_queued);
        let (commands, rx) = handover(capacity);
        let (ready_tx, ready_rx) = oneshot::channel();
        let listeners = Arc::new(Listeners::default());
        let spawner = options.spawner.0.clone();
        let stored = options.store_dir.is_some();
        let driver = Driver::<R>::new(
            options,
            rx,
            ready_tx,
            listeners.clone(),
            give_up_if_unreachable,
        )?;
        // Every event the driver logs carries the client id.
        let client_id: Arc<str> = driver.client_id().into();
        let span = tracing::info_span!("mqtt", client_id = %client_id);
        let task = Box::pin(tracing::Instrument::instrument(driver, span));
        match spawner {
            Some(spawn) => spawn(task),
            None => R::spawn(task),
        }
        let client = Client {
            commands,
            listeners,
            client_id,
            stored,
            runtime: PhantomData,
        };
        Ok((client, ready_rx))
    }
}

impl<R> Client<R> {
    pub(crate) async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, Error>>) -> Command,
    ) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(make(tx)).await.is_err() {
            return Err(self.listeners.stopped_because());
        }
        rx.await.map_err(|_| self.listeners.stopped_because())?
    }

    /// Publishes and waits until the message is complete for its QoS: QoS 0
    /// written to the socket, QoS 1 acknowledged (PUBACK), QoS 2 finished
    /// (PUBCOMP). Waits for room while the queue is full.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::QoS;
    ///
    /// client.publish("sensors/kitchen", "21.5", QoS::ExactlyOnce).await?; // PUBCOMP received
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::QoS;
    ///
    /// // New subscribers to "devices/7/status" get "online" at once.
    /// client.publish_retained("devices/7/status", "online", QoS::AtLeastOnce).await?;
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::{Message, QoS};
    ///
    /// let message = Message::new("devices/7/config", r#"{"rate":10}"#, QoS::AtLeastOnce)?.retained(true);
    /// client.publish_message(message).await?;
    /// # Ok(()) }
    /// ```
    pub async fn publish_message(&self, message: Message) -> Result<(), Error> {
        self.call(|done| Command::Publish {
            message,
            done: Some(done),
            stored: None,
        })
        .await
    }

    /// Publishes without waiting for the broker: waits only for room when
    /// the client already holds `max_queued` messages not yet queued in
    /// the session (never for the driver to run), then returns a
    /// [`PendingPublish`] that completes on PUBACK (QoS 1) or PUBCOMP
    /// (QoS 2), or fails with the reason the message could not be sent
    /// (too large for the broker, say, or the client closed). One task can
    /// so keep thousands of messages in flight, and still learn each
    /// outcome. Messages leave in the order of the calls.
    ///
    /// ```no_run
    /// # async fn run<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::QoS;
    ///
    /// let mut pending = Vec::new();
    /// for n in 0..10_000 {
    ///     pending.push(client.publish_pipelined("readings", n.to_string(), QoS::AtLeastOnce).await?);
    /// }
    /// for done in pending {
    ///     done.await?; // acknowledged
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn publish_pipelined(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
    ) -> Result<PendingPublish, Error> {
        let message = Message::new(topic, payload, qos)?;
        let (done, done_rx) = oneshot::channel();
        let (stored, stored_rx) = if self.stored && qos != QoS::AtMostOnce {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let command = Command::Publish {
            message,
            done: Some(done),
            stored,
        };
        if self.commands.send(command).await.is_err() {
            return Err(self.listeners.stopped_because());
        }
        Ok(PendingPublish {
            done: done_rx,
            stored: stored_rx,
            listeners: self.listeners.clone(),
        })
    }

    /// Hands the message to the client without waiting: fire and forget.
    /// Fails with [`Error::Backpressure`] when the client already holds as
    /// many messages not yet in the session queue as that queue takes
    /// (`Options::max_queued`): the session is backed up, not a momentary
    /// state of the hand-over.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::{Error, QoS};
    ///
    /// match client.try_publish("metrics/cpu", "0.42", QoS::AtMostOnce) {
    ///     Ok(()) => {}
    ///     Err(Error::Backpressure) => { /* the session is backed up: drop this sample */ }
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
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
                stored: None,
            })
            .map_err(|e| match e {
                SendError::Full(_) => Error::Backpressure,
                SendError::Closed(_) => self.listeners.stopped_because(),
            })
    }

    /// Subscribes to one filter; the returned stream yields every message
    /// that matches it, until it is dropped or unsubscribed. QoS 1 and 2
    /// messages are acknowledged once the stream has them (see
    /// [`subscribe_manual`](Self::subscribe_manual) to acknowledge after
    /// processing).
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::QoS;
    ///
    /// let mut sub = client.subscribe("sensors/+/temp", QoS::AtLeastOnce).await?;
    /// while let Some(message) = sub.next().await {
    ///     println!("{}: {:?}", message.topic, message.payload);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn subscribe(&self, filter: &str, qos: QoS) -> Result<Subscription<R>, Error> {
        self.subscribe_many(&[(filter, qos)]).await
    }

    /// Subscribes to several filters with one SUBSCRIBE; one stream gets the
    /// messages of all of them (each message once).
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::{QoS, SubscribeOutcome};
    ///
    /// let sub = client
    ///     .subscribe_many(&[("alerts/#", QoS::ExactlyOnce), ("sensors/#", QoS::AtMostOnce)])
    ///     .await?;
    /// // One outcome per filter, in order.
    /// if sub.outcomes()[0] != SubscribeOutcome::Granted(QoS::ExactlyOnce) {
    ///     eprintln!("alerts are delivered at a lower QoS");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn subscribe_many(&self, filters: &[(&str, QoS)]) -> Result<Subscription<R>, Error> {
        self.subscribe_filters(with_qos(filters)?, SubscribeProperties::default(), false)
            .await
            .map(Subscription)
    }

    /// Subscribes with MQTT 5.0's subscription options (no local, retain
    /// as published, retain handling) and properties (a subscription
    /// identifier, user properties); at 3.1.1 only the QoS is sent. A
    /// shared subscription is a filter `$share/{group}/{filter}`.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::mqtt_proto::packet::v5::{RetainHandling, SubscribeProperties, SubscriptionOptions};
    /// use mqtt_client::QoS;
    ///
    /// let mut options = SubscriptionOptions::new(QoS::AtLeastOnce);
    /// options.no_local = true; // not our own messages
    /// options.retain_handling = RetainHandling::DoNotSend;
    /// let props = SubscribeProperties { subscription_identifier: Some(3), ..Default::default() };
    /// let mut chat = client.subscribe_with(&[("chat/#", options)], props).await?;
    /// while let Some(message) = chat.next().await {
    ///     assert_eq!(message.properties().subscription_identifiers, [3]);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn subscribe_with(
        &self,
        filters: &[(&str, SubscriptionOptions)],
        properties: SubscribeProperties,
    ) -> Result<Subscription<R>, Error> {
        let filters = filters
            .iter()
            .map(|(f, o)| Ok((TopicFilter::try_from(*f)?, *o)))
            .collect::<Result<Vec<_>, Error>>()?;
        self.subscribe_filters(filters, properties, false)
            .await
            .map(Subscription)
    }

    /// Subscribes with acknowledgement by hand: each message comes as a
    /// [`Delivery`](crate::Delivery), and a QoS 1 or 2 message is
    /// acknowledged to the broker only when the application calls
    /// [`Delivery::ack`](crate::Delivery::ack), after processing it. One
    /// never acked (the application crashed first) is sent again by the
    /// broker on the session's next connection: at least once, end to end.
    ///
    /// ```no_run
    /// # async fn run<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::QoS;
    ///
    /// let mut jobs = client.subscribe_manual(&[("jobs/#", QoS::AtLeastOnce)]).await?;
    /// while let Some(job) = jobs.next().await {
    ///     println!("processing {:?}", job.payload); // the Delivery derefs to the Message
    ///     job.ack(); // the PUBACK may go out now
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn subscribe_manual(
        &self,
        filters: &[(&str, QoS)],
    ) -> Result<ManualSubscription<R>, Error> {
        self.subscribe_filters(with_qos(filters)?, SubscribeProperties::default(), true)
            .await
            .map(ManualSubscription)
    }

    async fn subscribe_filters(
        &self,
        filters: Vec<(TopicFilter, SubscriptionOptions)>,
        properties: SubscribeProperties,
        manual: bool,
    ) -> Result<Handle<R>, Error> {
        let reply = self
            .call(|done| Command::Subscribe {
                filters,
                properties,
                manual,
                done,
            })
            .await?;
        Ok(Handle::new(reply, self.clone()))
    }

    /// The messages that match none of this client's subscriptions (a
    /// resumed session's, or those of a subscription already dropped).
    /// QoS 1 and 2 messages wait unacknowledged while the stream is full,
    /// like any subscription's; without this stream they are held for
    /// `Options::unmatched_grace` for a subscription to claim them, then
    /// acknowledged and dropped. A second call replaces the stream.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// // Messages of a resumed session that no current subscription wants.
    /// let mut leftovers = client.unmatched().await?;
    /// while let Some(message) = leftovers.next().await {
    ///     eprintln!("unexpected message on {}", message.topic);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn unmatched(&self) -> Result<Subscription<R>, Error> {
        let reply = self.call(|done| Command::Unmatched { done }).await?;
        Ok(Subscription(Handle::new(reply, self.clone())))
    }

    /// The client identifier in use: the one given in `Options`, or the
    /// one generated for a clean session.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>() -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::{Client, Options};
    ///
    /// let client = Client::<R>::connect(Options::new("127.0.0.1", 1883).client_id("sensor-7")).await?;
    /// assert_eq!(client.client_id(), "sensor-7");
    /// # Ok(()) }
    /// ```
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Whether the broker resumed a stored session on the latest
    /// connection (`None` before the first CONNACK). With `false` on a
    /// persistent session the broker had lost it; the client subscribed
    /// again by itself.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>() -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::{Client, Options, QoS};
    ///
    /// let options = Options::new("127.0.0.1", 1883).client_id("worker-1").clean_session(false);
    /// let client = Client::<R>::connect(options).await?;
    /// if client.session_present() == Some(false) {
    ///     // A new session: nothing was stored for us while we were away.
    /// }
    /// # Ok(()) }
    /// ```
    pub fn session_present(&self) -> Option<bool> {
        self.listeners.session_present()
    }

    /// The connection's events (connected, disconnected, reconnecting) from
    /// now on. A receiver that falls more than 64 events behind misses the
    /// newest ones until it catches up.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::ConnectionEvent;
    ///
    /// let events = client.events();
    /// while let Ok(event) = events.recv().await {
    ///     match event {
    ///         ConnectionEvent::Connected { server, .. } => println!("connected to {server}"),
    ///         ConnectionEvent::Disconnected { reason } => println!("disconnected: {reason}"),
    ///         ConnectionEvent::Reconnecting { delay } => println!("retrying in {delay:?}"),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn events(&self) -> Events {
        self.listeners.subscribe()
    }

    /// Waits (at most the disconnect timeout) for messages in flight, sends
    /// DISCONNECT and closes the connection. Every handle is closed after.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::QoS;
    ///
    /// client.try_publish("devices/7/status", "bye", QoS::AtLeastOnce)?;
    /// client.disconnect().await?; // the message above is acknowledged first
    /// # Ok(()) }
    /// ```
    pub async fn disconnect(&self) -> Result<(), Error> {
        self.call(|done| Command::Disconnect { done }).await
    }

    /// MQTT 5.0: authenticates again on the live connection with the
    /// `Options::authenticator`, which answers the broker's challenges as
    /// at connect. Resolves when the broker says Success; fails with
    /// `Error::Auth` without an authenticator or connection, and with
    /// `Error::Closed` if the connection ends first (a broker that refuses
    /// closes it).
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// // A token about to expire: show the broker a fresh one.
    /// client.reauthenticate().await?;
    /// # Ok(()) }
    /// ```
    pub async fn reauthenticate(&self) -> Result<(), Error> {
        self.call(|done| Command::Reauthenticate { done }).await
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
    moved::<ManualSubscription<R>>();
}

/// Filters with only a QoS, validated, as 5.0 subscription options.
fn with_qos(filters: &[(&str, QoS)]) -> Result<Vec<(TopicFilter, SubscriptionOptions)>, Error> {
    filters
        .iter()
        .map(|(f, q)| Ok((TopicFilter::try_from(*f)?, SubscriptionOptions::new(*q))))
        .collect()
}
