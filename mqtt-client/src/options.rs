//! Client options: where the brokers are and how to reach them, who we
//! are, and every limit. The MQTT session settings are
//! `mqtt_proto::Options`; this adds the transports and the reconnect policy.

use crate::runtime::BoxFuture;
use crate::transport::{Connector, Server, TlsOptions, UrlCredentials};
use crate::Error;
use bytes::Bytes;
use mqtt_proto::packet::{LastWill, Login};
use mqtt_proto::{MqttString, QoS, TopicName};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The user's connector, if any (a trait object has no `Debug`).
#[derive(Clone, Default)]
pub(crate) struct CustomConnector(pub(crate) Option<Arc<dyn Connector>>);

impl fmt::Debug for CustomConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Custom"
        } else {
            "Runtime"
        })
    }
}

/// The user's spawner, if any.
#[derive(Clone, Default)]
pub(crate) struct Spawner(pub(crate) Option<Arc<dyn Fn(BoxFuture<()>) + Send + Sync>>);

impl fmt::Debug for Spawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Custom"
        } else {
            "Runtime"
        })
    }
}

/// How to reach the broker and how to behave. Build with [`Options::new`],
/// [`Options::from_url`] or [`Options::from_urls`] and the chained setters.
///
/// ```
/// use std::time::Duration;
/// use mqtt_client::Options;
///
/// let options = Options::from_url("mqtt://127.0.0.1:1883")
///     .unwrap()
///     .client_id("sensor-7")
///     .keep_alive(Duration::from_secs(30))
///     .credentials("user", "secret");
/// assert!(!format!("{options:?}").contains("secret"), "passwords never show in Debug");
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    /// Tried in order on every (re)connect; never empty.
    pub(crate) servers: Vec<Server>,
    pub(crate) tls: TlsOptions,
    pub(crate) connector: CustomConnector,
    pub(crate) ws_headers: Vec<(String, String)>,
    pub(crate) client_id: String,
    pub(crate) session: mqtt_proto::Options,
    pub(crate) connect_timeout: Duration,
    pub(crate) backoff_min: Duration,
    pub(crate) backoff_max: Duration,
    /// `None`: a fresh random seed per client, so clients built from one
    /// cloned `Options` neither share a generated id nor retry in lockstep.
    pub(crate) seed: Option<u64>,
    pub(crate) subscription_capacity: usize,
    pub(crate) max_held_bytes: usize,
    pub(crate) request_timeout: Duration,
    pub(crate) command_capacity: usize,
    pub(crate) disconnect_timeout: Duration,
    pub(crate) unmatched_grace: Duration,
    pub(crate) spawner: Spawner,
    pub(crate) invalid: Option<Error>,
}

impl Options {
    /// A broker at `host:port`, with defaults: a generated client id, clean
    /// session, keep-alive 60 s, 64 messages in flight, 1,000 queued, 1 MiB
    /// packets, 10 s connect timeout, reconnect backoff from 100 ms to 30 s.
    ///
    /// ```
    /// use mqtt_client::{Options, Scheme};
    ///
    /// let options = Options::new("192.0.2.7", 1884);
    /// let server = &options.servers()[0];
    /// assert_eq!((server.scheme(), server.host(), server.port()), (Scheme::Mqtt, "192.0.2.7", 1884));
    /// assert!(options.check().is_ok());
    /// ```
    pub fn new(host: impl Into<String>, port: u16) -> Options {
        Options::with_servers(vec![Server::tcp(host, port)])
    }

    fn with_servers(servers: Vec<Server>) -> Options {
        let connect_timeout = Duration::from_secs(10);
        let mut session = mqtt_proto::Options::new(MqttString::new());
        // One timeout for the stream and for CONNACK, as documented.
        session.connect_timeout = connect_timeout;
        Options {
            servers,
            tls: TlsOptions::new(),
            connector: CustomConnector::default(),
            ws_headers: Vec::new(),
            client_id: String::new(),
            session,
            connect_timeout,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(30),
            seed: None,
            subscription_capacity: 256,
            max_held_bytes: 4 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            command_capacity: 128,
            disconnect_timeout: Duration::from_secs(5),
            unmatched_grace: Duration::from_secs(10),
            spawner: Spawner::default(),
            invalid: None,
        }
    }

    /// One broker, from a URL: `mqtt://` (TCP), `mqtts://` (TLS), `ws://`
    /// (WebSocket, path `/mqtt` unless given), `wss://` (WebSocket over
    /// TLS); `tcp://` and `ssl://` are accepted too. The port defaults to
    /// 1883, 8883, 80 and 443 by scheme; IPv6 literals go in brackets. A
    /// `user:password@` in the URL (percent-encoded) sets the credentials.
    ///
    /// ```
    /// use mqtt_client::{Options, Scheme};
    ///
    /// let options = Options::from_url("mqtts://alice:s%3Acret@broker.example")?;
    /// assert_eq!(options.servers()[0].scheme(), Scheme::Mqtts);
    /// assert_eq!(options.servers()[0].port(), 8883);
    /// # Ok::<(), mqtt_client::Error>(())
    /// ```
    pub fn from_url(url: &str) -> Result<Options, Error> {
        Options::from_urls([url])
    }

    /// Several brokers (a cluster): connecting and every reconnect try them
    /// in this order, then start over after the backoff delay. The
    /// `Connected` event names the one in use. Credentials are taken from
    /// the first URL that has them.
    ///
    /// ```
    /// use mqtt_client::Options;
    ///
    /// let options = Options::from_urls(["mqtts://a.example", "mqtts://b.example:8884"])?;
    /// assert_eq!(options.servers().len(), 2);
    /// # Ok::<(), mqtt_client::Error>(())
    /// ```
    pub fn from_urls<I, S>(urls: I) -> Result<Options, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut servers = Vec::new();
        let mut login: Option<UrlCredentials> = None;
        for url in urls {
            let (server, credentials) = Server::parse_with_credentials(url.as_ref())?;
            servers.push(server);
            if login.is_none() {
                login = credentials;
            }
        }
        if servers.is_empty() {
            return Err(Error::InvalidUrl("no broker URL given".to_owned()));
        }
        let options = Options::with_servers(servers);
        Ok(match login {
            Some((user, Some(password))) => options.credentials(&user, password),
            Some((user, None)) => options.username(&user),
            None => options,
        })
    }

    /// The brokers, in the order they are tried.
    ///
    /// ```
    /// use mqtt_client::Options;
    ///
    /// let options = Options::from_urls(["mqtt://primary.example", "mqtt://backup.example"])?;
    /// let hosts: Vec<&str> = options.servers().iter().map(|s| s.host()).collect();
    /// assert_eq!(hosts, ["primary.example", "backup.example"]);
    /// # Ok::<(), mqtt_client::Error>(())
    /// ```
    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    /// TLS settings for `mqtts://` and `wss://` brokers (the default
    /// verifies against the platform's roots). See [`TlsOptions`].
    ///
    /// ```
    /// use mqtt_client::{Options, TlsOptions};
    ///
    /// let options = Options::from_url("mqtts://broker.example")?
    ///     .tls(TlsOptions::new().ca_file("ca.pem").client_cert_files("me.pem", "me.key"));
    /// # Ok::<(), mqtt_client::Error>(())
    /// ```
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.tls = tls;
        self
    }

    /// Opens connections with this [`Connector`] instead of the runtime's
    /// TCP; TLS and WebSocket are still layered on its stream when the
    /// scheme asks for them. It is called again on every reconnect. See
    /// [`Connector`] for an example.
    ///
    /// ```
    /// use mqtt_client::{Options, Server};
    ///
    /// // MQTT over an in-memory or tunnelled stream; here, one that is refused.
    /// let options = Options::new("local-broker", 1883).connector(|server: Server| async move {
    ///     Err::<mqtt_client::BoxedStream, _>(std::io::Error::new(
    ///         std::io::ErrorKind::ConnectionRefused,
    ///         format!("no tunnel to {server}"),
    ///     ))
    /// });
    /// assert!(options.check().is_ok());
    /// ```
    pub fn connector(mut self, connector: impl Connector) -> Self {
        self.connector = CustomConnector(Some(Arc::new(connector)));
        self
    }

    /// An extra HTTP header for the WebSocket upgrade (for brokers that
    /// authenticate it); call once per header.
    ///
    /// ```
    /// use mqtt_client::Options;
    ///
    /// let options = Options::from_url("wss://broker.example/mqtt")?
    ///     .websocket_header("Authorization", "Bearer 3q2+7w==");
    /// # Ok::<(), mqtt_client::Error>(())
    /// ```
    pub fn websocket_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.ws_headers.push((name.into(), value.into()));
        self
    }

    fn invalid(mut self, e: Error) -> Self {
        self.invalid.get_or_insert(e);
        self
    }

    /// The client identifier. Empty (the default) generates one for a clean
    /// session (read it with `Client::client_id`); a persistent session
    /// (`clean_session(false)`) needs one, or connecting fails with
    /// `Error::Options` [MQTT-3.1.3-7].
    ///
    /// ```
    /// use mqtt_client::{Error, Options};
    ///
    /// assert!(Options::new("127.0.0.1", 1883).client_id("sensor-7").check().is_ok());
    /// let bad = Options::new("127.0.0.1", 1883).client_id("nul\0inside");
    /// assert!(matches!(bad.check(), Err(Error::InvalidOption { option: "client_id", .. })));
    /// ```
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }

    /// Resume the session across connections (`false`) or start clean on
    /// each connection (`true`, the default).
    ///
    /// ```
    /// use mqtt_client::{Error, Options};
    ///
    /// // A persistent session needs an identifier to be found again by.
    /// let options = Options::new("127.0.0.1", 1883).clean_session(false);
    /// assert!(matches!(options.check(), Err(Error::Options(_))));
    /// assert!(options.client_id("worker-1").check().is_ok());
    /// ```
    pub fn clean_session(mut self, clean: bool) -> Self {
        self.session.clean_session = clean;
        self
    }

    /// Keep-alive interval: whole seconds from 1 to 65,535, or zero to turn
    /// it off (default 60 s). Any other value (a fraction of a second, more
    /// than 65,535 s) is an error at connect, not rounded.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mqtt_client::{Error, Options};
    ///
    /// let options = Options::new("127.0.0.1", 1883).keep_alive(Duration::from_millis(500));
    /// assert!(matches!(options.check(), Err(Error::InvalidOption { option: "keep_alive", .. })));
    /// ```
    pub fn keep_alive(mut self, keep_alive: Duration) -> Self {
        if keep_alive.subsec_nanos() != 0 || keep_alive.as_secs() > u64::from(u16::MAX) {
            return self.invalid(Error::InvalidOption {
                option: "keep_alive",
                reason: format!("{keep_alive:?} is not a whole number of seconds from 0 to 65535"),
            });
        }
        self.session.keep_alive = keep_alive;
        self
    }

    /// How long to wait for an answer to PINGREQ (default: half the
    /// keep-alive).
    ///
    /// ```
    /// use std::time::Duration;
    /// use mqtt_client::Options;
    ///
    /// // A broker on a slow link: PINGREQ every 60 s, an answer within 20 s.
    /// let options = Options::new("127.0.0.1", 1883)
    ///     .keep_alive(Duration::from_secs(60))
    ///     .ping_timeout(Duration::from_secs(20));
    /// assert!(options.check().is_ok());
    /// ```
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.session.ping_timeout = Some(timeout);
        self
    }

    /// User name and password. The password never appears in `Debug`.
    ///
    /// ```
    /// use mqtt_client::Options;
    ///
    /// let options = Options::new("127.0.0.1", 1883).credentials("alice", "s3cret");
    /// assert!(options.check().is_ok());
    /// assert!(!format!("{options:?}").contains("s3cret"));
    /// ```
    pub fn credentials(mut self, username: &str, password: impl Into<Bytes>) -> Self {
        match MqttString::try_from(username) {
            Ok(username) => {
                self.session.login = Some(Login {
                    username,
                    password: Some(password.into()),
                });
                self
            }
            Err(e) => self.invalid(Error::InvalidOption {
                option: "credentials",
                reason: format!("user name: {e}"),
            }),
        }
    }

    /// A user name without a password.
    ///
    /// ```
    /// use mqtt_client::Options;
    ///
    /// // Brokers that identify clients by user name alone, or by a token in it.
    /// let options = Options::new("127.0.0.1", 1883).username("device-7");
    /// assert!(options.check().is_ok());
    /// ```
    pub fn username(mut self, username: &str) -> Self {
        match MqttString::try_from(username) {
            Ok(username) => {
                self.session.login = Some(Login {
                    username,
                    password: None,
                });
                self
            }
            Err(e) => self.invalid(Error::InvalidOption {
                option: "username",
                reason: e.to_string(),
            }),
        }
    }

    /// The will: published by the broker if this client vanishes without
    /// DISCONNECT.
    ///
    /// ```
    /// use mqtt_client::{Error, Options, QoS};
    ///
    /// let options = Options::new("127.0.0.1", 1883)
    ///     .client_id("device-7")
    ///     .last_will("devices/7/status", "offline", QoS::AtLeastOnce, true);
    /// assert!(options.check().is_ok());
    ///
    /// // A will topic is a topic name: no wildcards.
    /// let bad = Options::new("127.0.0.1", 1883).last_will("devices/+/status", "x", QoS::AtMostOnce, false);
    /// assert!(matches!(bad.check(), Err(Error::InvalidOption { option: "last_will", .. })));
    /// ```
    pub fn last_will(
        mut self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Self {
        match TopicName::try_from(topic) {
            Ok(topic) => {
                self.session.last_will = Some(LastWill {
                    topic,
                    message: payload.into(),
                    qos,
                    retain,
                });
                self
            }
            Err(e) => self.invalid(Error::InvalidOption {
                option: "last_will",
                reason: format!("topic: {e}"),
            }),
        }
    }

    /// QoS 1 and 2 publishes in flight at once (default 64).
    ///
    /// ```
    /// use mqtt_client::Options;
    ///
    /// assert!(Options::new("127.0.0.1", 1883).max_inflight(16).check().is_ok());
    /// assert!(Options::new("127.0.0.1", 1883).max_inflight(0).check().is_err());
    /// ```
    pub fn max_inflight(mut self, n: usize) -> Self {
        self.session.max_inflight = n;
        self
    }

    /// Publishes queued behind the window (default 1,000); beyond it,
    /// `publish` waits and `try_publish` fails with `Backpressure`.
    ///
    /// ```
    /// use mqtt_client::Options;
    ///
    /// // A device with little memory: at most 20 messages wait while offline.
    /// let options = Options::new("127.0.0.1", 1883).max_inflight(4).max_queued(20);
    /// assert!(options.check().is_ok());
    /// ```
    pub fn max_queued(mut self, n: usize) -> Self {
        self.session.max_queued = n;
        self
    }

    /// Largest packet sent or accepted (default 1 MiB).
    ///
    /// ```
    /// use mqtt_client::Options;
    ///
    /// assert!(Options::new("127.0.0.1", 1883).max_packet_size(64 * 1024).check().is_ok());
    /// assert!(Options::new("127.0.0.1", 1883).max_packet_size(8).check().is_err()); // too small for CONNACK
    /// ```
    pub fn max_packet_size(mut self, n: usize) -> Self {
        self.session.max_packet_size = n;
        self
    }

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

    /// Runs the client's driver task with `spawn` instead of the runtime's
    /// own spawner: for an executor of the caller's (smol's, a local
    /// executor's). The task must be polled until it ends.
    ///
    /// ```
    /// use mqtt_client::Options;
    ///
    /// let options = Options::new("127.0.0.1", 1883).spawner(|task| {
    ///     std::thread::spawn(move || futures_executor_stand_in(task));
    /// });
    /// # fn futures_executor_stand_in(_: mqtt_client::BoxFuture<()>) {}
    /// ```
    pub fn spawner(mut self, spawn: impl Fn(BoxFuture<()>) + Send + Sync + 'static) -> Self {
        self.spawner = Spawner(Some(Arc::new(spawn)));
        self
    }

    /// What happens to a QoS 2 publish in flight when the broker lost the
    /// session (Session Present 0 on reconnect): sent again as a new
    /// message, so a subscriber may get it twice (the default), or failed
    /// with [`Error::SessionLost`] so the application decides.
    ///
    /// ```
    /// use mqtt_client::mqtt_proto::SessionLostPolicy;
    /// use mqtt_client::Options;
    ///
    /// // Payments must not be delivered twice: let the application decide.
    /// let options = Options::new("127.0.0.1", 1883)
    ///     .client_id("payments")
    ///     .clean_session(false)
    ///     .session_lost(SessionLostPolicy::Fail);
    /// assert!(options.check().is_ok());
    /// ```
    pub fn session_lost(mut self, policy: mqtt_proto::SessionLostPolicy) -> Self {
        self.session.session_lost = policy;
        self
    }

    /// Use MQTT 3.1 ("MQIsdp", level 3) for old brokers.
    ///
    /// ```
    /// use mqtt_client::{Error, Options};
    ///
    /// assert!(Options::new("127.0.0.1", 1883).mqtt_v31().client_id("old-broker-ok").check().is_ok());
    /// // MQTT 3.1 limits client ids to 23 characters.
    /// let long = Options::new("127.0.0.1", 1883).mqtt_v31().client_id("a-client-id-of-30-characters!!");
    /// assert!(matches!(long.check(), Err(Error::Options(_))));
    /// ```
    pub fn mqtt_v31(mut self) -> Self {
        self.session.protocol = mqtt_proto::packet::Protocol::V31;
        self
    }

    /// Checks the options as `Client::connect` will: the first invalid
    /// value given to a setter, or a combination that cannot work.
    ///
    /// ```
    /// use mqtt_client::{Error, Options};
    ///
    /// let options = Options::new("127.0.0.1", 1883).credentials("bad\0name", "pw");
    /// match options.check() {
    ///     Err(Error::InvalidOption { option, reason }) => {
    ///         assert_eq!(option, "credentials");
    ///         println!("fix {option}: {reason}");
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    pub fn check(&self) -> Result<(), Error> {
        let session = self.session(0)?;
        mqtt_proto::Connection::new(session).map_err(Error::Options)?;
        Ok(())
    }

    /// The session options for the core, with the client id filled in
    /// (generated from `seed` when none was given).
    pub(crate) fn session(&self, seed: u64) -> Result<mqtt_proto::Options, Error> {
        if let Some(e) = &self.invalid {
            return Err(e.clone());
        }
        let id = if self.client_id.is_empty() {
            if !self.session.clean_session {
                // A generated id could never be resumed by the next process,
                // so a persistent session needs an id of the caller's.
                return Err(Error::Options(
                    mqtt_proto::OptionsError::EmptyClientIdNeedsCleanSession,
                ));
            }
            format!("mqtt-rs-{:012x}", seed & 0xFFFF_FFFF_FFFF)
        } else {
            self.client_id.clone()
        };
        let mut session = self.session.clone();
        session.client_id = MqttString::try_from(id).map_err(|e| Error::InvalidOption {
            option: "client_id",
            reason: e.to_string(),
        })?;
        Ok(session)
    }
}

/// A seed that differs between processes and calls, without a `rand`
/// dependency: the standard library's randomly keyed hasher.
fn random_seed() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let o = Options::from_url("mqtt://example.org:1884").unwrap();
        assert_eq!(o.servers, vec![Server::tcp("example.org", 1884)]);
        let o = Options::from_url("mqtt://10.0.0.1").unwrap();
        assert_eq!(o.servers, vec![Server::tcp("10.0.0.1", 1883)]);
        let o = Options::from_url("mqtt://[::1]:1885/").unwrap();
        assert_eq!(o.servers, vec![Server::tcp("::1", 1885)]);
        for bad in ["http://x", "mqtt://", "mqtt://host:port", "mqtt://h/path"] {
            assert!(Options::from_url(bad).is_err(), "{bad}");
        }
        assert!(Options::from_urls(Vec::<String>::new()).is_err());
    }

    #[test]
    fn url_credentials_become_the_login() {
        let o = Options::from_urls(["mqtt://a", "mqtt://bob:pw%21@b"]).unwrap();
        let login = o.session.login.expect("login from the URL");
        assert_eq!(login.username.as_str(), "bob");
        assert_eq!(login.password.as_deref(), Some(&b"pw!"[..]));
        assert_eq!(o.servers.len(), 2);
    }

    #[test]
    fn one_connect_timeout_for_stream_and_connack() {
        let o = Options::new("h", 1);
        assert_eq!(o.connect_timeout, Duration::from_secs(10));
        assert_eq!(o.session.connect_timeout, o.connect_timeout);
    }

    #[test]
    fn generated_client_ids_differ() {
        let options = Options::new("h", 1);
        let a = options.session(options.client_seed()).unwrap().client_id;
        let b = options.session(options.client_seed()).unwrap().client_id;
        assert_ne!(a, b);
        assert!(a.starts_with("mqtt-rs-"));
    }

    #[test]
    fn a_persistent_session_needs_a_client_id() {
        // [MQTT-3.1.3-7]: an empty id is only for a clean session.
        let o = Options::new("h", 1).clean_session(false);
        assert!(matches!(
            o.session(0),
            Err(Error::Options(
                mqtt_proto::OptionsError::EmptyClientIdNeedsCleanSession
            ))
        ));
        assert!(o.client_id("kept").session(0).is_ok());
    }

    #[test]
    fn bad_will_topic_is_reported_at_connect() {
        let o = Options::new("h", 1).last_will("a/+", "x", QoS::AtMostOnce, false);
        assert!(matches!(
            o.session(0),
            Err(Error::InvalidOption {
                option: "last_will",
                ..
            })
        ));
    }

    #[test]
    fn bad_names_name_their_option() {
        let nul = "a\0b";
        for (options, name) in [
            (Options::new("h", 1).client_id(nul), "client_id"),
            (Options::new("h", 1).credentials(nul, "pw"), "credentials"),
            (Options::new("h", 1).username(nul), "username"),
        ] {
            match options.check() {
                Err(Error::InvalidOption { option, .. }) => assert_eq!(option, name),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn keep_alive_is_whole_seconds_or_rejected() {
        // The keep-alive is a 16-bit number of seconds (section 3.1.2.10),
        // and the client keeps to it [MQTT-3.1.2-23]: anything else is
        // refused rather than rounded (500 ms used to turn keep-alive off
        // without a word).
        for bad in [
            Duration::from_millis(500),
            Duration::from_millis(1500),
            Duration::from_secs(65_536),
        ] {
            let o = Options::new("h", 1).keep_alive(bad);
            assert!(
                matches!(
                    o.check(),
                    Err(Error::InvalidOption {
                        option: "keep_alive",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
        for good in [
            Duration::ZERO,
            Duration::from_secs(1),
            Duration::from_secs(65_535),
        ] {
            assert!(
                Options::new("h", 1).keep_alive(good).check().is_ok(),
                "{good:?}"
            );
        }
    }
}
