//! The MQTT session's settings: who the client is, how it keeps the
//! connection alive, its will and credentials, and the session's limits.
//! They go to the core (`mqtt_proto::Options`).

use super::*;

impl Options {
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
}
