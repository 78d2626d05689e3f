//! What a [`Connection`](super::Connection) is configured with: identity,
//! session, will, credentials, and every limit that bounds its memory.

use super::reconnect::ReconnectOptions;
use super::session_lost::SessionLostPolicy;
use super::v5_options::V5Options;
use crate::packet::{LastWill, Login, Protocol};
use crate::string::MqttString;
use core::time::Duration;

/// Settings for a [`Connection`](super::Connection). Build with
/// [`Options::new`] and the `with_*` methods; every limit has a default.
///
/// ```
/// use core::time::Duration;
/// use mqtt_proto::{MqttString, Options};
///
/// let options = Options::new(MqttString::try_from("sensor-7").unwrap())
///     .clean_session(false)
///     .keep_alive(Duration::from_secs(30))
///     .max_inflight(32);
/// assert_eq!(options.keep_alive, Duration::from_secs(30));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Client identifier; empty asks the broker to assign one, which needs
    /// `clean_session` [MQTT-3.1.3-7].
    pub client_id: MqttString,
    /// Protocol revision: 3.1.1 (default) or 3.1 for old brokers.
    pub protocol: Protocol,
    /// Start each connection with a fresh session (default true).
    pub clean_session: bool,
    /// Keep-alive interval, whole seconds up to 65,535 s; zero turns
    /// keep-alive off (default 60 s).
    pub keep_alive: Duration,
    /// How long to wait for PINGRESP (or any packet) after a PINGREQ before
    /// the connection is declared lost; `None` means half the keep-alive, so
    /// a dead broker is noticed within 1.5 keep-alive periods.
    pub ping_timeout: Option<Duration>,
    /// How long to wait for CONNACK after CONNECT (default 30 s).
    pub connect_timeout: Duration,
    /// The will, published by the broker if the connection ends without
    /// DISCONNECT.
    pub last_will: Option<LastWill>,
    /// User name and password.
    pub login: Option<Login>,
    /// Outgoing QoS 1 and 2 publishes awaiting acknowledgement at once
    /// (default 64, at most 65,535).
    pub max_inflight: usize,
    /// Publishes waiting behind the inflight window, offline ones included
    /// (default 1,000); beyond it `publish` fails with `QueueFull`.
    pub max_queued: usize,
    /// Subscribe and unsubscribe requests awaiting their ack at once, queued
    /// ones included (default 1,000).
    pub max_pending_requests: usize,
    /// Largest packet accepted from the broker, and largest the client will
    /// send (default 1 MiB); see `packet::MAX_PACKET_SIZE` for the protocol
    /// limit.
    pub max_packet_size: usize,
    /// Incoming QoS 1 and 2 messages are acknowledged by the application
    /// through [`Connection::ack`](super::Connection::ack) instead of at once
    /// (default false).
    pub manual_acks: bool,
    /// The reconnect policy: with one, the connection asks for transports
    /// itself ([`Event::OpenTransport`](super::Event::OpenTransport)) after
    /// [`start`](super::Connection::start) and after every loss, with
    /// backoff (default none: the caller decides when to `connect`).
    pub reconnect: Option<ReconnectOptions>,
    /// Subscribe again to the session's filters when the broker reports it
    /// has no session (default true).
    pub resubscribe: bool,
    /// What happens to QoS 2 messages in flight when the broker lost the
    /// session (default: sent again as new).
    pub session_lost: SessionLostPolicy,
    /// Record every change of the durable session as a
    /// [`StoreOp`](crate::store::StoreOp) for
    /// [`Connection::poll_store`](super::Connection::poll_store). Off by
    /// default: the session then lives in memory only.
    pub store: bool,
    /// What only MQTT 5.0 sends and negotiates; see [`V5Options`].
    pub v5: V5Options,
}

impl Options {
    /// Defaults with the given client id.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mqtt_proto::{MqttString, Options};
    ///
    /// let options = Options::new(MqttString::try_from("c").unwrap());
    /// assert!(options.clean_session && options.reconnect.is_none());
    /// assert_eq!(options.keep_alive, Duration::from_secs(60));
    /// ```
    pub fn new(client_id: MqttString) -> Options {
        Options {
            client_id,
            protocol: Protocol::V311,
            clean_session: true,
            keep_alive: Duration::from_secs(60),
            ping_timeout: None,
            connect_timeout: Duration::from_secs(30),
            last_will: None,
            login: None,
            max_inflight: 64,
            max_queued: 1_000,
            max_pending_requests: 1_000,
            max_packet_size: 1 << 20,
            manual_acks: false,
            reconnect: None,
            resubscribe: true,
            session_lost: SessionLostPolicy::ResendAsNew,
            store: false,
            v5: V5Options::default(),
        }
    }

    /// Sets `clean_session`: `false` resumes the session across connections (it then needs a client id [MQTT-3.1.3-7]).
    ///
    /// ```
    /// use mqtt_proto::{MqttString, Options};
    /// let base = Options::new(MqttString::try_from("c").unwrap());
    /// assert!(!base.clean_session(false).clean_session);
    /// ```
    pub fn clean_session(mut self, clean: bool) -> Self {
        self.clean_session = clean;
        self
    }

    /// Sets `protocol`.
    ///
    /// ```
    /// use mqtt_proto::packet::Protocol;
    /// use mqtt_proto::{MqttString, Options};
    /// let base = Options::new(MqttString::try_from("c").unwrap());
    /// assert_eq!(base.protocol(Protocol::V31).protocol, Protocol::V31);
    /// ```
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Sets `keep_alive`: whole seconds up to 65,535, or zero for none; any other value is refused by `Connection::new`, not rounded.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mqtt_proto::{MqttString, Options};
    /// let base = Options::new(MqttString::try_from("c").unwrap());
    /// use mqtt_proto::{Connection, OptionsError};
    /// assert_eq!(base.clone().keep_alive(Duration::from_secs(30)).keep_alive, Duration::from_secs(30));
    /// let half = base.keep_alive(Duration::from_millis(500));
    /// assert_eq!(Connection::new(half).unwrap_err(), OptionsError::InvalidKeepAlive);
    /// ```
    pub fn keep_alive(mut self, keep_alive: Duration) -> Self {
        self.keep_alive = keep_alive;
        self
    }

    /// Sets `ping_timeout`.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mqtt_proto::{MqttString, Options};
    /// let base = Options::new(MqttString::try_from("c").unwrap());
    /// assert_eq!(base.ping_timeout(Duration::from_secs(5)).ping_timeout, Some(Duration::from_secs(5)));
    /// ```
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.ping_timeout = Some(timeout);
        self
    }

    /// Sets `connect_timeout`.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mqtt_proto::{MqttString, Options};
    /// let base = Options::new(MqttString::try_from("c").unwrap());
    /// assert_eq!(base.connect_timeout(Duration::from_secs(5)).connect_timeout, Duration::from_secs(5));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the will.
    ///
    /// ```
    /// use mqtt_proto::{packet::LastWill, QoS, TopicName};
    /// use mqtt_proto::{MqttString, Options};
    /// let base = Options::new(MqttString::try_from("c").unwrap());
    /// let will = LastWill { topic: TopicName::try_from("status").unwrap(), message: "gone".into(), qos: QoS::AtLeastOnce, retain: true };
    /// assert_eq!(base.last_will(will.clone()).last_will, Some(will));
    /// ```
    pub fn last_will(mut self, will: LastWill) -> Self {
        self.last_will = Some(will);
        self
    }

    /// Sets user name and password.
    ///
    /// ```
    /// use mqtt_proto::packet::Login;
    /// use mqtt_proto::{MqttString, Options};
    /// let base = Options::new(MqttString::try_from("c").unwrap());
    /// let login = Login { username: MqttString::try_from("user").unwrap(), password: Some("secret".into()) };
    /// assert_eq!(base.login(login.clone()).login, Some(login));
    /// ```
    pub fn login(mut self, login: Login) -> Self {
        self.login = Some(login);
        self
    }

    /// Sets `max_inflight` (1 to 65,535).
    ///
    /// ```
    /// use mqtt_proto::{MqttString, Options};
    /// let base = Options::new(MqttString::try_from("c").unwrap());
    /// assert_eq!(base.max_inflight(8).max_inflight, 8);
    /// ```
    pub fn max_inflight(mut self, n: usize) -> Self {
        self.max_inflight = n;
        self
    }

    /// Sets `max_queued`.
    ///
    /// ```
    /// use mqtt_proto::{MqttString, Options};
    /// let base = Options::new(MqttString::try_from("c").unwrap());
    /// assert_eq!(base.max_queued(10).max_queued, 10);
    /// ```
    pub fn max_queued(mut self, n: usize) -> Self {
        self.max_queued = n;
        self
    }

    /// Sets `max_pending_requests`.
    ///
    /// ```
    /// use mqtt_proto::{MqttString, Options};
    /// let base = Options::new(MqttString::try_from("c").unwrap());
    /// assert_eq!(base.max_pending_requests(4).max_pending_requests, 4);
    /// ```
    pub fn max_pending_requests(mut self, n: usize) -> Self {
        self.max_pending_requests = n;
        self
    }

    /// Sets `max_packet_size`.
    ///
    /// ```
    /// use mqtt_proto::{MqttString, Options};
    /// let base = Options::new(MqttString::try_from("c").unwrap());
    /// assert_eq!(base.max_packet_size(4096).max_packet_size, 4096);
    /// ```
    pub fn max_packet_size(mut self, n: usize) -> Self {
        self.max_packet_size = n;
        self
    }

    /// Sets `manual_acks`.
    ///
    /// ```
    /// use mqtt_proto::{MqttString, Options};
    /// let base = Options::new(MqttString::try_from("c").unwrap());
    /// assert!(base.manual_acks(true).manual_acks);
    /// ```
    pub fn manual_acks(mut self, manual: bool) -> Self {
        self.manual_acks = manual;
        self
    }

    /// Sets the reconnect policy.
    ///
    /// ```
    /// use mqtt_proto::ReconnectOptions;
    /// use mqtt_proto::{MqttString, Options};
    /// let base = Options::new(MqttString::try_from("c").unwrap());
    /// let policy = ReconnectOptions::new(2);
    /// assert_eq!(base.reconnect(policy).reconnect, Some(policy));
    /// ```
    pub fn reconnect(mut self, policy: ReconnectOptions) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// Sets `resubscribe`.
    ///
    /// ```
    /// use mqtt_proto::{MqttString, Options};
    /// let base = Options::new(MqttString::try_from("c").unwrap());
    /// assert!(!base.resubscribe(false).resubscribe);
    /// ```
    pub fn resubscribe(mut self, resubscribe: bool) -> Self {
        self.resubscribe = resubscribe;
        self
    }

    /// Sets `session_lost`.
    ///
    /// ```
    /// use mqtt_proto::SessionLostPolicy;
    /// use mqtt_proto::{MqttString, Options};
    /// let base = Options::new(MqttString::try_from("c").unwrap());
    /// assert_eq!(base.session_lost(SessionLostPolicy::Fail).session_lost, SessionLostPolicy::Fail);
    /// ```
    pub fn session_lost(mut self, policy: SessionLostPolicy) -> Self {
        self.session_lost = policy;
        self
    }

    /// Sets `store`.
    ///
    /// ```
    /// use mqtt_proto::{MqttString, Options};
    /// let base = Options::new(MqttString::try_from("c").unwrap());
    /// assert!(!base.store && base.store(true).store);
    /// ```
    pub fn store(mut self, store: bool) -> Self {
        self.store = store;
        self
    }

    /// The keep-alive as the CONNECT field: whole seconds, capped at 65,535.
    pub(crate) fn keep_alive_secs(&self) -> u16 {
        u16::try_from(self.keep_alive.as_secs()).unwrap_or(u16::MAX)
    }

    /// The keep-alive actually used, after rounding to whole seconds.
    pub(crate) fn effective_keep_alive(&self) -> Option<Duration> {
        match self.keep_alive_secs() {
            0 => None,
            s => Some(Duration::from_secs(u64::from(s))),
        }
    }

    pub(crate) fn effective_ping_timeout(&self) -> Duration {
        self.ping_timeout
            .or_else(|| self.effective_keep_alive().map(|k| k / 2))
            .unwrap_or(Duration::from_secs(30))
    }

    /// Checks the rules a CONNECT must obey before any is sent.
    pub(crate) fn validate(&self) -> Result<(), OptionsError> {
        if self.client_id.is_empty() && !self.clean_session {
            return Err(OptionsError::EmptyClientIdNeedsCleanSession);
        }
        if self.max_inflight == 0 || self.max_inflight > usize::from(u16::MAX) {
            return Err(OptionsError::InvalidMaxInflight);
        }
        if self.protocol == Protocol::V31 && self.client_id.chars().count() > 23 {
            return Err(OptionsError::ClientIdTooLongForV31);
        }
        if self.v5.receive_maximum == 0 {
            return Err(OptionsError::InvalidReceiveMaximum);
        }
        if self.max_packet_size < 16 {
            return Err(OptionsError::MaxPacketSizeTooSmall);
        }
        let will_len = self.last_will.as_ref().map_or(0, |w| w.message.len());
        let password_len = self
            .login
            .as_ref()
            .and_then(|l| l.password.as_ref())
            .map_or(0, |p| p.len());
        if will_len.max(password_len) > usize::from(u16::MAX) {
            return Err(OptionsError::FieldTooLong);
        }
        if self.reconnect.is_some_and(|r| r.servers == 0) {
            return Err(OptionsError::NoServers);
        }
        if self.keep_alive.subsec_nanos() != 0 || self.keep_alive.as_secs() > u64::from(u16::MAX) {
            return Err(OptionsError::InvalidKeepAlive);
        }
        if self
            .reconnect
            .is_some_and(|r| r.backoff_min > r.backoff_max)
        {
            return Err(OptionsError::InvalidBackoff);
        }
        Ok(())
    }
}

/// Why [`Options`] cannot be used.
///
/// ```
/// use mqtt_proto::{Connection, MqttString, Options, OptionsError};
///
/// let persistent = Options::new(MqttString::new()).clean_session(false);
/// let e = Connection::new(persistent).unwrap_err();
/// assert_eq!(e, OptionsError::EmptyClientIdNeedsCleanSession);
/// assert_eq!(e.to_string(), "an empty client id needs clean session [MQTT-3.1.3-7]");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionsError {
    /// An empty client id only works with a clean session [MQTT-3.1.3-7].
    EmptyClientIdNeedsCleanSession,
    /// `max_inflight` must be 1..=65,535.
    InvalidMaxInflight,
    /// MQTT 3.1 brokers accept client ids of at most 23 characters.
    ClientIdTooLongForV31,
    /// `max_packet_size` below 16 bytes could not hold a CONNACK exchange.
    MaxPacketSizeTooSmall,
    /// The will message or the password is longer than 65,535 bytes.
    FieldTooLong,
    /// A reconnect policy needs at least one server.
    NoServers,
    /// The keep-alive is whole seconds from 0 to 65,535 (section
    /// 3.1.2.10); another value would have to be rounded.
    InvalidKeepAlive,
    /// The backoff's minimum is above its maximum.
    InvalidBackoff,
    /// An MQTT 5.0 Receive Maximum of 0 (5.0 section 3.1.2.11.3).
    InvalidReceiveMaximum,
}

impl core::fmt::Display for OptionsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            OptionsError::EmptyClientIdNeedsCleanSession => {
                "an empty client id needs clean session [MQTT-3.1.3-7]"
            }
            OptionsError::InvalidMaxInflight => "max_inflight must be between 1 and 65535",
            OptionsError::ClientIdTooLongForV31 => "MQTT 3.1 client ids are at most 23 characters",
            OptionsError::MaxPacketSizeTooSmall => "max_packet_size must be at least 16 bytes",
            OptionsError::FieldTooLong => "will message and password are at most 65535 bytes",
            OptionsError::NoServers => "a reconnect policy needs at least one server",
            OptionsError::InvalidKeepAlive => {
                "keep_alive must be a whole number of seconds from 0 to 65535"
            }
            OptionsError::InvalidBackoff => "the backoff minimum must not exceed its maximum",
            OptionsError::InvalidReceiveMaximum => "receive_maximum must be at least 1",
        })
    }
}

impl core::error::Error for OptionsError {}
