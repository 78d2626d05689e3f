//! The reconnect policy: which server to open a transport to next, and
//! when. It decides from what happened on the connection, so every loop
//! that embeds the core gets the same answers:
//!
//! - an attempt that fails before CONNACK accepts it moves on to the next
//!   server at once; when every server of the round failed, the next round
//!   starts from the first server after a backoff delay (or the policy
//!   gives up, if it was asked to when no connection ever succeeded);
//! - a connection lost after CONNACK starts a new round from the first
//!   server after a backoff delay;
//! - the backoff starts over only after a connection proved healthy: the
//!   broker answered a request on it (PUBACK, PUBCOMP, SUBACK, UNSUBACK),
//!   or it stayed up for a keep-alive period. A broker that accepts and
//!   then misbehaves at once meets a growing delay, not a reconnect storm;
//! - a refusal that retrying cannot fix ends the policy
//!   ([`is_final_refusal`](super::is_final_refusal)).
//!
//! Owns the round, the backoff and the health of the current connection;
//! knows nothing of packets or transports.

use crate::backoff::Backoff;
use crate::time::Instant;
use core::time::Duration;

/// How a [`Connection`](super::Connection) reconnects
/// ([`Options::reconnect`](super::Options::reconnect)). With it the
/// connection asks for transports itself with
/// [`Event::OpenTransport`](super::Event::OpenTransport).
///
/// ```
/// use core::time::Duration;
/// use mqtt_proto::ReconnectOptions;
///
/// let policy = ReconnectOptions::new(2) // two brokers, tried in order
///     .backoff(Duration::from_millis(100), Duration::from_secs(30))
///     .seed(7);
/// assert_eq!(policy.servers, 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconnectOptions {
    /// How many servers the caller can open a transport to (at least 1):
    /// `Event::OpenTransport` names one by its index.
    pub servers: usize,
    /// The first backoff delay (default 100 ms).
    pub backoff_min: Duration,
    /// The longest backoff delay (default 30 s).
    pub backoff_max: Duration,
    /// Seeds the backoff's jitter, so a run can be replayed (default 0).
    pub seed: u64,
    /// Give up ([`Event::GaveUp`](super::Event::GaveUp)) when every server
    /// of the first round failed and no connection ever succeeded, instead
    /// of retrying for ever (default false).
    pub give_up_if_never_connected: bool,
}

impl ReconnectOptions {
    /// Defaults for `servers` servers (raised to 1 if 0).
    ///
    /// ```
    /// use core::time::Duration;
    /// use mqtt_proto::ReconnectOptions;
    ///
    /// let policy = ReconnectOptions::new(3);
    /// assert_eq!(policy.servers, 3);
    /// assert_eq!(policy.backoff_min, Duration::from_millis(100));
    /// assert_eq!(ReconnectOptions::new(0).servers, 1);
    /// ```
    pub fn new(servers: usize) -> ReconnectOptions {
        ReconnectOptions {
            servers: servers.max(1),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(30),
            seed: 0,
            give_up_if_never_connected: false,
        }
    }

    /// Sets the backoff bounds.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mqtt_proto::{Connection, Event, Instant, MqttString, Options, ReconnectOptions};
    ///
    /// let policy = ReconnectOptions::new(1).backoff(Duration::from_secs(1), Duration::from_secs(60));
    /// let options = Options::new(MqttString::try_from("doc").unwrap()).reconnect(policy);
    /// let mut conn = Connection::new(options).unwrap();
    /// conn.start(Instant::ZERO);
    /// conn.connect(Instant::ZERO);
    /// conn.handle_read(Instant::ZERO, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// conn.handle_closed(Instant::ZERO); // lost: the next attempt waits a backoff delay
    /// let delay = std::iter::from_fn(|| conn.poll_event())
    ///     .find_map(|e| match e {
    ///         Event::ReconnectScheduled { delay, .. } => Some(delay),
    ///         _ => None,
    ///     })
    ///     .unwrap();
    /// assert!(delay <= Duration::from_secs(60));
    /// ```
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max;
        self
    }

    /// Sets the jitter seed.
    ///
    /// ```
    /// use mqtt_proto::ReconnectOptions;
    ///
    /// // The same seed gives the same jitter, so a test run can be replayed.
    /// assert_eq!(ReconnectOptions::new(1).seed(42).seed, 42);
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets `give_up_if_never_connected`.
    ///
    /// ```
    /// use mqtt_proto::{Connection, Event, Instant, MqttString, Options, ReconnectOptions};
    ///
    /// let policy = ReconnectOptions::new(1).give_up_if_never_connected(true);
    /// let options = Options::new(MqttString::try_from("doc").unwrap()).reconnect(policy);
    /// let mut conn = Connection::new(options).unwrap();
    /// conn.start(Instant::ZERO);
    /// assert_eq!(conn.poll_event(), Some(Event::OpenTransport { server: 0 }));
    /// conn.handle_closed(Instant::ZERO); // it could not be opened
    /// let events: Vec<_> = std::iter::from_fn(|| conn.poll_event()).collect();
    /// assert_eq!(events.last(), Some(&Event::GaveUp));
    /// ```
    pub fn give_up_if_never_connected(mut self, give_up: bool) -> Self {
        self.give_up_if_never_connected = give_up;
        self
    }
}

/// What the policy wants after a connection or an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Open a transport to `server` after `delay` (zero: at once).
    Open { server: usize, delay: Duration },
    /// Stop trying.
    GiveUp,
}

#[derive(Debug, Clone)]
pub(crate) struct Reconnect {
    options: ReconnectOptions,
    backoff: Backoff,
    /// The server of the attempt in progress or of the connection in use.
    server: usize,
    /// Servers tried in this round.
    tried: usize,
    connected_once: bool,
    /// When CONNACK accepted the current connection.
    connected_at: Option<Instant>,
    /// Whether the broker answered a request on it.
    healthy: bool,
}

impl Reconnect {
    pub(crate) fn new(options: ReconnectOptions) -> Reconnect {
        Reconnect {
            options,
            backoff: Backoff::new(options.backoff_min, options.backoff_max, options.seed),
            server: 0,
            tried: 0,
            connected_once: false,
            connected_at: None,
            healthy: false,
        }
    }

    /// The server of the attempt in progress or the connection in use.
    pub(crate) fn server(&self) -> usize {
        self.server
    }

    /// A new round starts at the first server.
    pub(crate) fn start_round(&mut self) -> usize {
        self.tried = 0;
        self.server = 0;
        self.server
    }

    /// An attempt on the current server begins.
    pub(crate) fn on_attempt(&mut self) {
        self.tried += 1;
    }

    /// CONNACK accepted the connection.
    pub(crate) fn on_connected(&mut self, now: Instant) {
        self.connected_once = true;
        self.connected_at = Some(now);
        self.healthy = false;
        self.tried = 0;
    }

    /// The broker answered a request on the current connection.
    pub(crate) fn on_answer(&mut self) {
        self.healthy = true;
    }

    /// The connection or attempt ended on request: no reconnect follows,
    /// and nothing of it counts for the next round (a later `start`).
    pub(crate) fn on_closed(&mut self) {
        self.connected_at = None;
        self.healthy = false;
        self.tried = 0;
    }

    /// The connection ended, at `now`. `keep_alive` is the interval in
    /// force (`None`: off).
    pub(crate) fn on_ended(&mut self, now: Instant, keep_alive: Option<Duration>) -> Next {
        match self.connected_at.take() {
            Some(since) => {
                let lasted = now.saturating_duration_since(since);
                if self.healthy || keep_alive.is_some_and(|k| lasted >= k) {
                    self.backoff.reset();
                }
                self.healthy = false;
                self.start_round();
                self.backoff_then_first()
            }
            None if self.tried < self.options.servers => {
                // An attempt failed and the round has servers left.
                self.server = (self.server + 1) % self.options.servers;
                Next::Open {
                    server: self.server,
                    delay: Duration::ZERO,
                }
            }
            None if self.options.give_up_if_never_connected && !self.connected_once => Next::GiveUp,
            None => {
                self.start_round();
                self.backoff_then_first()
            }
        }
    }

    fn backoff_then_first(&mut self) -> Next {
        Next::Open {
            server: 0,
            delay: self.backoff.next_delay(),
        }
    }
}
