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

mod limits;
mod session;
mod store;
mod v5;

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
/// The enhanced authentication hook, if any.
#[derive(Clone, Default)]
pub(crate) struct AuthHook(pub(crate) Option<Arc<dyn crate::Authenticator>>);

impl fmt::Debug for AuthHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Some" } else { "None" })
    }
}

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
    pub(crate) store_dir: Option<std::path::PathBuf>,
    pub(crate) store_durability: crate::store::Durability,
    pub(crate) authenticator: AuthHook,
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
            store_dir: None,
            store_durability: crate::store::Durability::default(),
            authenticator: AuthHook::default(),
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
        self.checked_store()?;
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
        session.store = self.store_dir.is_some();
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
mod tests;
