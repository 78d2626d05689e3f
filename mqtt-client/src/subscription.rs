//! The streams a subscription hands out: [`Subscription`] (messages,
//! acknowledged once the stream has them) and [`ManualSubscription`]
//! ([`Delivery`]s, each acknowledged by the application). Both share one
//! handle on the driver's channel and the client's memory budget.

use crate::client::Client;
use crate::delivery::Delivery;
use crate::driver::{Budget, Command, DropCount, SubscribeReply};
use crate::Error;
use futures_core::Stream;
use mqtt_proto::{Message, SubscribeOutcome, TopicFilter};
use std::pin::Pin;
use std::task::{Context, Poll};

/// What both kinds of subscription hold.
pub(crate) struct Handle<R> {
    id: u64,
    // async-channel's receiver is not Unpin; boxing it keeps the handle so.
    messages: Pin<Box<async_channel::Receiver<Delivery>>>,
    outcomes: Vec<SubscribeOutcome>,
    dropped: DropCount,
    /// The client's memory budget, given back as messages are taken.
    budget: Budget,
    client: Client<R>,
}

impl<R> Handle<R> {
    pub(crate) fn new(reply: SubscribeReply, client: Client<R>) -> Handle<R> {
        Handle {
            id: reply.id,
            messages: reply.messages,
            outcomes: reply.outcomes,
            dropped: reply.dropped,
            budget: reply.budget,
            client,
        }
    }

    async fn next(&mut self) -> Option<Delivery> {
        let delivery = self.messages.recv().await.ok()?;
        self.budget.give_back(&delivery);
        Some(delivery)
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Delivery>> {
        let polled = self.messages.as_mut().poll_next(cx);
        if let Poll::Ready(Some(delivery)) = &polled {
            self.budget.give_back(delivery);
        }
        polled
    }

    async fn unsubscribe_filter(&self, filter: &str) -> Result<(), Error> {
        let filter = TopicFilter::try_from(filter)?;
        let id = self.id;
        self.client
            .call(|done| Command::UnsubscribeFilter { id, filter, done })
            .await
    }

    async fn unsubscribe(&self) -> Result<(), Error> {
        let id = self.id;
        self.client
            .call(|done| Command::Unsubscribe { id, done })
            .await
    }
}

impl<R> Drop for Handle<R> {
    fn drop(&mut self) {
        // What nobody will read any more stops counting against the budget.
        self.messages.close();
        while let Ok(delivery) = self.messages.try_recv() {
            self.budget.give_back(&delivery);
        }
    }
}

/// The messages of one `subscribe` call, as a [`Stream`].
///
/// ```no_run
/// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
/// use mqtt_client::QoS;
///
/// let mut sub = client.subscribe("sensors/#", QoS::AtLeastOnce).await?;
/// while let Some(message) = sub.next().await {
///     println!("{}: {:?}", message.topic, message.payload);
/// }
/// // Also a `futures_core::Stream`, for `StreamExt` combinators.
/// # Ok(()) }
/// ```
pub struct Subscription<R>(pub(crate) Handle<R>);

/// The messages of one `subscribe_manual` call, as a [`Stream`] of
/// [`Delivery`]s to acknowledge.
///
/// ```no_run
/// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
/// use mqtt_client::QoS;
///
/// let mut jobs = client.subscribe_manual(&[("jobs/#", QoS::ExactlyOnce)]).await?;
/// while let Some(job) = jobs.next().await {
///     println!("running {}", job.topic);
///     job.ack();
/// }
/// # Ok(()) }
/// ```
pub struct ManualSubscription<R>(pub(crate) Handle<R>);

macro_rules! common {
    ($kind:ident, $make:literal) => {
        impl<R> std::fmt::Debug for $kind<R> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($kind))
                    .field("id", &self.0.id)
                    .field("outcomes", &self.0.outcomes)
                    .finish()
            }
        }

        impl<R> $kind<R> {
            /// QoS 0 messages dropped for this subscription because the
            /// client's memory budget was spent (`Options::max_held_bytes`):
            /// it was reading too slowly. QoS 1 and 2 messages are never
            /// dropped.
            ///
            /// ```no_run
            /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
            /// # use mqtt_client::QoS;
            #[doc = concat!(" let mut sub = ", $make, ".await?;")]
            /// while sub.next().await.is_some() {
            ///     if sub.dropped() > 0 {
            ///         eprintln!("{} QoS 0 messages were dropped: reading too slowly", sub.dropped());
            ///     }
            /// }
            /// # Ok(()) }
            /// ```
            pub fn dropped(&self) -> u64 {
                self.0.dropped.get()
            }

            /// What the broker granted, one outcome per filter (none for
            /// the stream of unmatched messages).
            ///
            /// ```no_run
            /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
            /// # use mqtt_client::QoS;
            #[doc = concat!(" let mut sub = ", $make, ".await?;")]
            /// use mqtt_client::SubscribeOutcome;
            ///
            /// for outcome in sub.outcomes() {
            ///     if !outcome.is_granted() {
            ///         eprintln!("the broker refused the filter");
            ///     }
            /// }
            /// # Ok(()) }
            /// ```
            pub fn outcomes(&self) -> &[SubscribeOutcome] {
                &self.0.outcomes
            }

            /// Stops receiving messages for one of this subscription's
            /// filters; the broker is told (UNSUBSCRIBE, and its UNSUBACK
            /// awaited) unless another subscription of this client uses it.
            ///
            /// ```no_run
            /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
            /// # use mqtt_client::QoS;
            #[doc = concat!(" let mut sub = ", $make, ".await?;")]
            /// sub.unsubscribe_filter("sensors/#").await?; // its other filters keep delivering
            /// # Ok(()) }
            /// ```
            pub async fn unsubscribe_filter(&self, filter: &str) -> Result<(), Error> {
                self.0.unsubscribe_filter(filter).await
            }

            /// Unsubscribes (UNSUBSCRIBE for the filters no other
            /// subscription of this client uses) and waits for the broker's
            /// UNSUBACK.
            ///
            /// ```no_run
            /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
            /// # use mqtt_client::QoS;
            #[doc = concat!(" let mut sub = ", $make, ".await?;")]
            /// sub.unsubscribe().await?; // UNSUBACK received; the stream is gone
            /// # Ok(()) }
            /// ```
            pub async fn unsubscribe(self) -> Result<(), Error> {
                self.0.unsubscribe().await
            }
        }
    };
}

common!(
    Subscription,
    "client.subscribe(\"sensors/#\", QoS::AtMostOnce)"
);
common!(
    ManualSubscription,
    "client.subscribe_manual(&[(\"sensors/#\", QoS::AtLeastOnce)])"
);

impl<R> Subscription<R> {
    /// The next message, or `None` once unsubscribed or the client closed.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::QoS;
    ///
    /// let mut sub = client.subscribe("a/b", QoS::AtMostOnce).await?;
    /// if let Some(message) = sub.next().await {
    ///     assert_eq!(message.topic, "a/b");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn next(&mut self) -> Option<Message> {
        self.0.next().await.map(Delivery::into_message)
    }
}

impl<R> ManualSubscription<R> {
    /// The next delivery, or `None` once unsubscribed or the client closed.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::QoS;
    ///
    /// let mut jobs = client.subscribe_manual(&[("jobs/#", QoS::AtLeastOnce)]).await?;
    /// if let Some(job) = jobs.next().await {
    ///     job.ack();
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn next(&mut self) -> Option<Delivery> {
        self.0.next().await
    }
}

impl<R> Stream for Subscription<R> {
    type Item = Message;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.0.poll_next(cx).map(|d| d.map(Delivery::into_message))
    }
}

impl<R> Stream for ManualSubscription<R> {
    type Item = Delivery;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Delivery>> {
        self.0.poll_next(cx)
    }
}
