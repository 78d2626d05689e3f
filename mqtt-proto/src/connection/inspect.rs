//! What a [`Connection`](super::Connection) tells about itself: its
//! options, state, and the sizes of what it holds.

use super::*;

impl Connection {
    /// The options in force.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mqtt_proto::{Connection, MqttString, Options};
    ///
    /// let options = Options::new(MqttString::try_from("doc").unwrap())
    ///     .keep_alive(Duration::from_secs(30));
    /// let conn = Connection::new(options).unwrap();
    /// assert_eq!(conn.options().keep_alive, Duration::from_secs(30));
    /// assert_eq!(conn.options().client_id, "doc");
    /// ```
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The current state.
    ///
    /// ```
    /// use mqtt_proto::{Connection, DisconnectReason, Event, Instant, MqttString, Options, State};
    ///
    /// let mut conn = Connection::new(Options::new(MqttString::try_from("doc").unwrap())).unwrap();
    /// let now = Instant::ZERO;
    /// conn.connect(now);
    /// assert_eq!(conn.state(), State::Connecting);
    /// conn.handle_closed(now); // the transport died before CONNACK
    /// assert_eq!(conn.state(), State::Disconnected);
    /// assert_eq!(
    ///     conn.poll_event(),
    ///     Some(Event::Disconnected { reason: DisconnectReason::TransportClosed })
    /// );
    /// ```
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether CONNACK accepted the current transport.
    ///
    /// ```
    /// use mqtt_proto::{Connection, Instant, MqttString, Options};
    ///
    /// let mut conn = Connection::new(Options::new(MqttString::try_from("doc").unwrap())).unwrap();
    /// conn.connect(Instant::ZERO);
    /// assert!(!conn.is_connected()); // CONNECT sent, no CONNACK yet
    /// conn.handle_read(Instant::ZERO, &[0x20, 0x02, 0x00, 0x00]);
    /// assert!(conn.is_connected());
    /// ```
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// QoS 1 and 2 publishes sent and not yet acknowledged.
    ///
    /// ```
    /// # use mqtt_proto::{Connection, Instant, MqttString, Options};
    /// # let mut conn = Connection::new(Options::new(MqttString::try_from("doc").unwrap())).unwrap();
    /// # let now = Instant::ZERO;
    /// # conn.connect(now);
    /// # conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// # while conn.poll_transmit(now).is_some() {}
    /// # while conn.poll_event().is_some() {}
    /// use mqtt_proto::{Message, QoS};
    ///
    /// conn.publish(Message::new("t", "x", QoS::AtLeastOnce).unwrap()).unwrap();
    /// assert_eq!(conn.inflight(), 1); // sent, awaiting PUBACK
    /// conn.handle_read(now, &[0x40, 0x02, 0x00, 0x01]); // PUBACK 1
    /// assert_eq!(conn.inflight(), 0);
    /// ```
    pub fn inflight(&self) -> usize {
        self.outgoing.inflight.len()
    }

    /// Publishes waiting to be sent.
    ///
    /// ```
    /// use mqtt_proto::{Connection, Instant, Message, MqttString, Options, QoS};
    ///
    /// let mut conn = Connection::new(Options::new(MqttString::try_from("doc").unwrap())).unwrap();
    /// conn.publish(Message::new("t", "x", QoS::AtLeastOnce).unwrap()).unwrap();
    /// assert_eq!(conn.queued(), 1); // offline: it waits
    /// conn.connect(Instant::ZERO);
    /// conn.handle_read(Instant::ZERO, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// assert_eq!((conn.queued(), conn.inflight()), (0, 1)); // sent
    /// ```
    pub fn queued(&self) -> usize {
        self.outgoing.queue.len() + self.qos0_in_tx.len()
    }

    /// Subscribe and unsubscribe requests awaiting their ack.
    ///
    /// ```
    /// # use mqtt_proto::{Connection, Instant, MqttString, Options};
    /// # let mut conn = Connection::new(Options::new(MqttString::try_from("doc").unwrap())).unwrap();
    /// # let now = Instant::ZERO;
    /// # conn.connect(now);
    /// # conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// # while conn.poll_transmit(now).is_some() {}
    /// # while conn.poll_event().is_some() {}
    /// use mqtt_proto::{QoS, TopicFilter};
    ///
    /// let id = conn.subscribe(vec![(TopicFilter::try_from("a/#").unwrap(), QoS::AtLeastOnce)]).unwrap();
    /// assert_eq!(conn.pending_requests(), 1);
    /// conn.handle_read(now, &[0x90, 0x03, 0x00, id.get() as u8, 0x01]); // SUBACK
    /// assert_eq!(conn.pending_requests(), 0);
    /// ```
    pub fn pending_requests(&self) -> usize {
        self.requests.len()
    }

    /// Packet identifiers in use by outgoing exchanges.
    ///
    /// ```
    /// # use mqtt_proto::{Connection, Instant, MqttString, Options};
    /// # let mut conn = Connection::new(Options::new(MqttString::try_from("doc").unwrap())).unwrap();
    /// # let now = Instant::ZERO;
    /// # conn.connect(now);
    /// # conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// # while conn.poll_transmit(now).is_some() {}
    /// # while conn.poll_event().is_some() {}
    /// use mqtt_proto::{Message, QoS, TopicFilter};
    ///
    /// conn.publish(Message::new("t", "x", QoS::ExactlyOnce).unwrap()).unwrap();
    /// conn.subscribe(vec![(TopicFilter::try_from("a").unwrap(), QoS::AtMostOnce)]).unwrap();
    /// assert_eq!(conn.packet_ids_in_use(), 2);
    /// ```
    pub fn packet_ids_in_use(&self) -> usize {
        self.ids.in_use()
    }

    /// Incoming QoS 2 messages delivered whose PUBREL has not arrived, and
    /// acks owed to the broker in manual-ack mode.
    ///
    /// ```
    /// # use mqtt_proto::{Connection, Instant, MqttString, Options};
    /// # let mut conn = Connection::new(Options::new(MqttString::try_from("doc").unwrap())).unwrap();
    /// # let now = Instant::ZERO;
    /// # conn.connect(now);
    /// # conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// # while conn.poll_transmit(now).is_some() {}
    /// # while conn.poll_event().is_some() {}
    /// // A QoS 2 PUBLISH, packet id 1: delivered now, PUBREC owed, PUBREL awaited.
    /// conn.handle_read(now, &[0x34, 6, 0, 1, b'a', 0, 1, b'x']);
    /// assert_eq!(conn.incoming_state(), (1, 0));
    /// conn.handle_read(now, &[0x62, 0x02, 0x00, 0x01]); // PUBREL 1
    /// assert_eq!(conn.incoming_state(), (0, 0));
    /// ```
    pub fn incoming_state(&self) -> (usize, usize) {
        (self.incoming.qos2_len(), self.incoming.pending_len())
    }

    /// MQTT 5.0: the properties of the CONNACK that accepted the current
    /// connection (the broker's limits, an assigned client id, its
    /// Response Information…); `None` at 3.1.1 or before a CONNACK.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mqtt_proto::packet::v5::{self, ConnAck, ConnAckProperties, ReasonCode};
    /// use mqtt_proto::packet::Protocol;
    /// use mqtt_proto::{Connection, Instant, MqttString, Options};
    ///
    /// let options = Options::new(MqttString::try_from("doc").unwrap()).protocol(Protocol::V5);
    /// let mut conn = Connection::new(options).unwrap();
    /// conn.connect(Instant::ZERO);
    /// let properties = ConnAckProperties { receive_maximum: Some(10), ..Default::default() };
    /// let connack = ConnAck { session_present: false, reason_code: ReasonCode::Success, properties };
    /// let mut wire = BytesMut::new();
    /// v5::Packet::ConnAck(Box::new(connack)).encode(&mut wire).unwrap();
    /// conn.handle_read(Instant::ZERO, &wire);
    /// assert_eq!(conn.connack_properties().unwrap().receive_maximum, Some(10));
    /// ```
    pub fn connack_properties(&self) -> Option<&crate::packet::v5::ConnAckProperties> {
        self.v5.as_ref()?.connack.as_deref()
    }
}
