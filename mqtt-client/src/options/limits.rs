//! The client's own limits and timing: connecting and backing off,
//! buffering for subscriptions and the memory budget, how long requests
//! and the close may take.

use super::*;

impl Options {
    /// How long one connection attempt may take, from opening the stream
    /// (TCP, TLS and WebSocket handshakes) to CONNACK (default 10 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// use mqtt_client::Options;
    ///
    /// let options = Options::from_url("mqtts://broker.example")?.connect_timeout(Duration::from_secs(3));
    /// assert!(options.check().is_ok());
    /// # Ok::<(), mqtt_client::Error>(())
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self.session.connect_timeout = timeout;
        self
    }

    /// Reconnect delays: exponential from `min` to `max` with jitter.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mqtt_client::Options;
    ///
    /// // Retry fast at first, but never wait more than 10 s.
    /// let options = Options::new("127.0.0.1", 1883)
    ///     .backoff(Duration::from_millis(50), Duration::from_secs(10));
    /// assert!(options.check().is_ok());
    /// ```
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        if min > max {
            return self.invalid(Error::InvalidOption {
                option: "backoff",
                reason: format!("the minimum {min:?} is above the maximum {max:?}"),
            });
        }
        self.backoff_min = min;
        self.backoff_max = max;
        self
    }

    /// Seed of the backoff jitter and of a generated client id (default:
    /// random for each client), for reproducible tests.
    ///
    /// ```
    /// use mqtt_client::Options;
    ///
    /// // Two runs of a test see the same generated client id and retry delays.
    /// let options = Options::new("127.0.0.1", 1883).seed(42);
    /// assert!(options.check().is_ok());
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The seed this client uses.
    pub(crate) fn client_seed(&self) -> u64 {
        self.seed.unwrap_or_else(random_seed)
    }

    /// Messages buffered per subscription before the client stops
    /// acknowledging new QoS 1/2 messages (default 256); see the crate
    /// docs on slow consumers. The buffer is allocated up front, about 100
    /// bytes a slot, so raise it for throughput, not for many subscriptions.
    ///
    /// ```
    /// use mqtt_client::Options;
    ///
    /// // A high-rate subscriber read by a fast consumer.
    /// let options = Options::new("127.0.0.1", 1883).subscription_capacity(4096);
    /// assert!(options.check().is_ok());
    /// ```
    pub fn subscription_capacity(mut self, n: usize) -> Self {
        self.subscription_capacity = n.max(1);
        self
    }

    /// The memory budget for incoming messages the client holds (default
    /// 4 MiB): those waiting for a subscription to claim them, for room in
    /// a slow subscription, or in a subscription's buffer until the
    /// application takes them. Over it, QoS 0 messages are dropped and
    /// counted ([`Subscription::dropped`](crate::Subscription::dropped)),
    /// unmatched messages are let go oldest first, and QoS 1/2 messages
    /// stop being acknowledged, so the broker's inflight window stops it.
    /// A single message larger than the budget still gets through when
    /// nothing else is held.
    ///
    /// ```
    /// use mqtt_client::Options;
    ///
    /// let options = Options::new("127.0.0.1", 1883).max_held_bytes(512 * 1024);
    /// assert!(options.check().is_ok());
    /// ```
    pub fn max_held_bytes(mut self, bytes: usize) -> Self {
        self.max_held_bytes = bytes;
        self
    }

    /// How long `subscribe` and `unsubscribe` wait for the broker's ack
    /// (default 30 s, offline time included); past it they fail with
    /// [`Error::RequestTimeout`](crate::Error::RequestTimeout).
    ///
    /// ```
    /// use std::time::Duration;
    /// use mqtt_client::Options;
    ///
    /// let options = Options::new("127.0.0.1", 1883).request_timeout(Duration::from_secs(5));
    /// assert!(options.check().is_ok());
    /// ```
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long `disconnect` waits for messages in flight (default 5 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// use mqtt_client::Options;
    ///
    /// // Shutting down: wait at most a second for acknowledgements.
    /// let options = Options::new("127.0.0.1", 1883).disconnect_timeout(Duration::from_secs(1));
    /// assert!(options.check().is_ok());
    /// ```
    pub fn disconnect_timeout(mut self, timeout: Duration) -> Self {
        self.disconnect_timeout = timeout;
        self
    }

    /// How long a message that matches no subscription waits for one
    /// (default 10 s). A resumed session can deliver stored messages before
    /// the application subscribed again; within this time the first matching
    /// subscription receives them. Zero drops them at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mqtt_client::Options;
    ///
    /// // Subscriptions are made at once after connecting: 2 s is plenty.
    /// let options = Options::new("127.0.0.1", 1883)
    ///     .client_id("worker-1")
    ///     .clean_session(false)
    ///     .unmatched_grace(Duration::from_secs(2));
    /// assert!(options.check().is_ok());
    /// ```
    pub fn unmatched_grace(mut self, grace: Duration) -> Self {
        self.unmatched_grace = grace;
        self
    }
}
