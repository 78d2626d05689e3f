//! The options only MQTT 5.0 sends: session expiry, our Receive Maximum and
//! Topic Alias Maximum, user properties and the will's properties on
//! CONNECT, enhanced authentication. A 3.1.1 connection ignores them all,
//! so switching a program to 5.0 is `Options::protocol(Protocol::V5)` and
//! nothing else.

use super::Options;
use crate::packet::v5::{UserProperty, WillProperties};
use crate::string::MqttString;
use alloc::vec::Vec;
use bytes::Bytes;

/// What an MQTT 5.0 CONNECT carries besides the 3.1.1 fields.
///
/// The session keeps 3.1.1's meaning unless told otherwise: with
/// `clean_session(true)` the session ends with the connection (expiry 0);
/// with `clean_session(false)` it never expires (0xFFFFFFFF). Set
/// [`Options::session_expiry`] for anything in between.
///
/// ```
/// use mqtt_proto::packet::Protocol;
/// use mqtt_proto::{MqttString, Options};
///
/// let options = Options::new(MqttString::try_from("c").unwrap())
///     .protocol(Protocol::V5)
///     .session_expiry(3600)
///     .receive_maximum(10);
/// assert_eq!(options.v5.session_expiry, Some(3600));
/// assert_eq!(options.v5.receive_maximum, 10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct V5Options {
    /// Session Expiry Interval in seconds; `None` follows `clean_session`
    /// (see above).
    pub session_expiry: Option<u32>,
    /// Receive Maximum: QoS 1 and 2 messages the broker may have
    /// unacknowledged towards us at once (1 to 65,535, default 65,535). A
    /// broker that sends more breaks the protocol.
    pub receive_maximum: u16,
    /// Topic Alias Maximum we accept from the broker (default 0: none).
    pub topic_alias_maximum: u16,
    /// Topic aliases we use on our own publishes, at most the broker's
    /// Topic Alias Maximum (default 0: none). The first publish to a topic
    /// sets an alias; later ones send the alias with an empty topic.
    pub outgoing_topic_aliases: u16,
    /// Ask the broker for Response Information.
    pub request_response_information: bool,
    /// User properties of CONNECT.
    pub user_properties: Vec<UserProperty>,
    /// The will's properties (used when a will is set).
    pub will_properties: WillProperties,
    /// Authentication Method for enhanced authentication; the exchange is
    /// driven through `Event::Auth` and `Connection::auth`.
    pub authentication_method: Option<MqttString>,
    /// Authentication Data sent with the method on CONNECT.
    pub authentication_data: Option<Bytes>,
}

impl Default for V5Options {
    fn default() -> V5Options {
        V5Options {
            session_expiry: None,
            receive_maximum: u16::MAX,
            topic_alias_maximum: 0,
            outgoing_topic_aliases: 0,
            request_response_information: false,
            user_properties: Vec::new(),
            will_properties: WillProperties::default(),
            authentication_method: None,
            authentication_data: None,
        }
    }
}

impl Options {
    /// Sets the Session Expiry Interval in seconds (MQTT 5.0).
    ///
    /// ```
    /// use mqtt_proto::{MqttString, Options};
    /// let options = Options::new(MqttString::try_from("c").unwrap()).session_expiry(60);
    /// assert_eq!(options.v5.session_expiry, Some(60));
    /// ```
    pub fn session_expiry(mut self, secs: u32) -> Self {
        self.v5.session_expiry = Some(secs);
        self
    }

    /// Sets our Receive Maximum (MQTT 5.0); 0 is refused by
    /// `Connection::new`.
    ///
    /// ```
    /// use mqtt_proto::{MqttString, Options};
    /// let options = Options::new(MqttString::try_from("c").unwrap()).receive_maximum(5);
    /// assert_eq!(options.v5.receive_maximum, 5);
    /// ```
    pub fn receive_maximum(mut self, n: u16) -> Self {
        self.v5.receive_maximum = n;
        self
    }

    /// Sets the Topic Alias Maximum we accept from the broker and the
    /// number of aliases we use on our own publishes (MQTT 5.0).
    ///
    /// ```
    /// use mqtt_proto::{MqttString, Options};
    /// let options = Options::new(MqttString::try_from("c").unwrap()).topic_aliases(16, 8);
    /// assert_eq!((options.v5.topic_alias_maximum, options.v5.outgoing_topic_aliases), (16, 8));
    /// ```
    pub fn topic_aliases(mut self, incoming: u16, outgoing: u16) -> Self {
        self.v5.topic_alias_maximum = incoming;
        self.v5.outgoing_topic_aliases = outgoing;
        self
    }

    /// Adds a user property to CONNECT (MQTT 5.0).
    ///
    /// ```
    /// use mqtt_proto::{MqttString, Options};
    /// let options = Options::new(MqttString::try_from("c").unwrap())
    ///     .connect_user_property(MqttString::try_from("site").unwrap(), MqttString::try_from("lab").unwrap());
    /// assert_eq!(options.v5.user_properties[0].value, "lab");
    /// ```
    pub fn connect_user_property(mut self, name: MqttString, value: MqttString) -> Self {
        self.v5.user_properties.push(UserProperty { name, value });
        self
    }

    /// Sets the will's properties (MQTT 5.0), such as its delay interval.
    ///
    /// ```
    /// use mqtt_proto::packet::v5::WillProperties;
    /// use mqtt_proto::{MqttString, Options};
    /// let props = WillProperties { will_delay_interval: Some(30), ..Default::default() };
    /// let options = Options::new(MqttString::try_from("c").unwrap()).will_properties(props);
    /// assert_eq!(options.v5.will_properties.will_delay_interval, Some(30));
    /// ```
    pub fn will_properties(mut self, properties: WillProperties) -> Self {
        self.v5.will_properties = properties;
        self
    }

    /// Turns on enhanced authentication (MQTT 5.0) with `method` and the
    /// initial data. The broker's challenges come as `Event::Auth`;
    /// answer each with `Connection::auth`.
    ///
    /// ```
    /// use mqtt_proto::{MqttString, Options};
    /// let options = Options::new(MqttString::try_from("c").unwrap())
    ///     .authentication(MqttString::try_from("SCRAM-SHA-1").unwrap(), Some("client-first".into()));
    /// assert_eq!(options.v5.authentication_method.as_deref(), Some("SCRAM-SHA-1"));
    /// ```
    pub fn authentication(mut self, method: MqttString, data: Option<Bytes>) -> Self {
        self.v5.authentication_method = Some(method);
        self.v5.authentication_data = data;
        self
    }

    /// The Session Expiry Interval CONNECT carries.
    pub(crate) fn effective_session_expiry(&self) -> u32 {
        self.v5
            .session_expiry
            .unwrap_or(if self.clean_session { 0 } else { u32::MAX })
    }
}
