//! The MQTT 5.0 settings: the protocol level, and what only 5.0 sends.
//! Switching a 3.1.1 program to 5.0 is `.protocol(Protocol::V5)`; nothing
//! else is needed, and at 3.1.1 every other setting here is ignored.

use super::{AuthHook, Options};
use crate::auth::Authenticator;
use crate::Error;
use mqtt_proto::packet::v5::WillProperties;
use mqtt_proto::packet::Protocol;
use mqtt_proto::MqttString;
use std::sync::Arc;
use std::time::Duration;

impl Options {
    /// The protocol level: MQTT 3.1.1 (the default), 3.1 or 5.0.
    ///
    /// ```
    /// use mqtt_client::mqtt_proto::packet::Protocol;
    /// use mqtt_client::Options;
    ///
    /// let options = Options::new("127.0.0.1", 1883).protocol(Protocol::V5);
    /// assert!(options.check().is_ok());
    /// ```
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.session.protocol = protocol;
        self
    }

    /// MQTT 5.0: how long the broker keeps the session after a
    /// connection ends, in whole seconds (at most 0xFFFFFFFE; longer is
    /// "never expires"). Without it, `clean_session(true)` means the
    /// session ends with the connection, and `clean_session(false)` that
    /// it never expires, as at 3.1.1.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mqtt_client::Options;
    ///
    /// let options = Options::new("127.0.0.1", 1883)
    ///     .client_id("sensor-7")
    ///     .clean_session(false)
    ///     .session_expiry(Duration::from_secs(3600));
    /// assert!(options.check().is_ok());
    /// ```
    pub fn session_expiry(mut self, expiry: Duration) -> Self {
        let secs = u32::try_from(expiry.as_secs()).unwrap_or(u32::MAX);
        self.session = self.session.session_expiry(secs);
        self
    }

    /// MQTT 5.0: how many QoS 1 and 2 messages the broker may send us
    /// before we acknowledge them (1 to 65,535; default 65,535). A broker
    /// that sends more breaks the protocol and is disconnected.
    ///
    /// ```
    /// use mqtt_client::{Error, Options};
    ///
    /// assert!(Options::new("127.0.0.1", 1883).receive_maximum(16).check().is_ok());
    /// assert!(matches!(Options::new("127.0.0.1", 1883).receive_maximum(0).check(), Err(Error::Options(_))));
    /// ```
    pub fn receive_maximum(mut self, n: u16) -> Self {
        self.session = self.session.receive_maximum(n);
        self
    }

    /// MQTT 5.0: topic aliases. `incoming` is how many the broker may set
    /// towards us; `outgoing` how many we set on our own publishes (never
    /// more than the broker accepts). Both default to 0.
    ///
    /// ```
    /// use mqtt_client::Options;
    /// assert!(Options::new("127.0.0.1", 1883).topic_aliases(10, 10).check().is_ok());
    /// ```
    pub fn topic_aliases(mut self, incoming: u16, outgoing: u16) -> Self {
        self.session = self.session.topic_aliases(incoming, outgoing);
        self
    }

    /// MQTT 5.0: a user property sent with CONNECT.
    ///
    /// ```
    /// use mqtt_client::Options;
    /// assert!(Options::new("127.0.0.1", 1883).user_property("region", "eu-1").check().is_ok());
    /// ```
    pub fn user_property(mut self, name: &str, value: &str) -> Self {
        match (MqttString::try_from(name), MqttString::try_from(value)) {
            (Ok(name), Ok(value)) => {
                self.session = self.session.connect_user_property(name, value);
                self
            }
            (Err(e), _) | (_, Err(e)) => self.invalid(Error::InvalidOption {
                option: "user_property",
                reason: e.to_string(),
            }),
        }
    }

    /// MQTT 5.0: the will's properties, such as a Will Delay Interval (the
    /// broker waits that long before publishing the will, and not at all
    /// if we come back in time).
    ///
    /// ```
    /// use mqtt_client::mqtt_proto::packet::v5::WillProperties;
    /// use mqtt_client::{Options, QoS};
    ///
    /// let options = Options::new("127.0.0.1", 1883)
    ///     .last_will("devices/7/status", "offline", QoS::AtLeastOnce, true)
    ///     .will_properties(WillProperties { will_delay_interval: Some(30), ..Default::default() });
    /// assert!(options.check().is_ok());
    /// ```
    pub fn will_properties(mut self, properties: WillProperties) -> Self {
        self.session = self.session.will_properties(properties);
        self
    }

    /// MQTT 5.0: enhanced authentication with `authenticator`, whose
    /// method and first data go in CONNECT and which answers each
    /// challenge of the broker.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mqtt_client::{Authenticator, Options};
    ///
    /// struct Token;
    /// impl Authenticator for Token {
    ///     fn method(&self) -> &str { "token" }
    ///     fn start(&self) -> Option<Bytes> { Some(Bytes::from_static(b"abc")) }
    ///     fn challenge(&self, _: Option<&[u8]>) -> Result<Option<Bytes>, String> { Err("no challenges".into()) }
    /// }
    /// assert!(Options::new("127.0.0.1", 1883).authenticator(Token).check().is_ok());
    /// ```
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> Self {
        match MqttString::try_from(authenticator.method()) {
            Ok(method) => {
                self.session = self.session.authentication(method, authenticator.start());
                self.authenticator = AuthHook(Some(Arc::new(authenticator)));
                self
            }
            Err(e) => self.invalid(Error::InvalidOption {
                option: "authenticator",
                reason: format!("method: {e}"),
            }),
        }
    }
}
