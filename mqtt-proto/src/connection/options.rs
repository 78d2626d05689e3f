//! What a [`Connection`](super::Connection) is configured with: identity,
//! session, will, credentials, and every limit that bounds its memory.

use super::reconnect::ReconnectOptions;
use super::session_lost::SessionLostPolicy;
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
///     .with_clean_session(false)
///     .with_keep_alive(Duration::from_secs(30))
///     .with_max_inflight(32);
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
}

impl Options {
    /// Defaults with the given client id.
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
        }
    }

    /// Sets `clean_session`.
    pub fn with_clean_session(mut self, clean: bool) -> Self {
        self.clean_session = clean;
        self
    }

    /// Sets `protocol`.
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Sets `keep_alive`.
    pub fn with_keep_alive(mut self, keep_alive: Duration) -> Self {
        self.keep_alive = keep_alive;
        self
    }

    /// Sets `ping_timeout`.
    pub fn with_ping_timeout(mut self, timeout: Duration) -> Self {
        self.ping_timeout = Some(timeout);
        self
    }

    /// Sets `connect_timeout`.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the will.
    pub fn with_last_will(mut self, will: LastWill) -> Self {
        self.last_will = Some(will);
        self
    }

    /// Sets user name and password.
    pub fn with_login(mut self, login: Login) -> Self {
        self.login = Some(login);
        self
    }

    /// Sets `max_inflight`.
    pub fn with_max_inflight(mut self, n: usize) -> Self {
        self.max_inflight = n;
        self
    }

    /// Sets `max_queued`.
    pub fn with_max_queued(mut self, n: usize) -> Self {
        self.max_queued = n;
        self
    }

    /// Sets `max_pending_requests`.
    pub fn with_max_pending_requests(mut self, n: usize) -> Self {
        self.max_pending_requests = n;
        self
    }

    /// Sets `max_packet_size`.
    pub fn with_max_packet_size(mut self, n: usize) -> Self {
        self.max_packet_size = n;
        self
    }

    /// Sets `manual_acks`.
    pub fn with_manual_acks(mut self, manual: bool) -> Self {
        self.manual_acks = manual;
        self
    }

    /// Sets the reconnect policy.
    pub fn with_reconnect(mut self, policy: ReconnectOptions) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// Sets `resubscribe`.
    pub fn with_resubscribe(mut self, resubscribe: bool) -> Self {
        self.resubscribe = resubscribe;
        self
    }

    /// Sets `session_lost`.
    pub fn with_session_lost(mut self, policy: SessionLostPolicy) -> Self {
        self.session_lost = policy;
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
        Ok(())
    }
}

/// Why [`Options`] cannot be used.
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
        })
    }
}

impl core::error::Error for OptionsError {}
