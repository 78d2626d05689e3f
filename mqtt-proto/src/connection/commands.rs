//! Commands from the application: `publish`, `subscribe`, `unsubscribe`
//! and `ack`. Each is validated at once, returns an id or a typed error,
//! and is queued while offline; a command error never ends the connection.
//! (`disconnect` is in `close.rs`.)

use super::*;
use crate::packet::v5::{Subscribe, Unsubscribe};
use crate::packet::v5::{SubscribeProperties, SubscriptionOptions};

impl Connection {
    /// Publishes `message`: sent at once if connected and the inflight window
    /// has room, queued otherwise. Completion is reported as
    /// [`Event::Published`] with the returned id.
    ///
    /// ```
    /// # use mqtt_proto::{Connection, Instant, MqttString, Options};
    /// # let mut conn = Connection::new(Options::new(MqttString::try_from("doc").unwrap())).unwrap();
    /// # let now = Instant::ZERO;
    /// # conn.connect(now);
    /// # conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// # while conn.poll_transmit(now).is_some() {}
    /// # while conn.poll_event().is_some() {}
    /// use mqtt_proto::{Event, Message, QoS};
    ///
    /// let id = conn.publish(Message::new("sensors/kitchen", "21.5", QoS::AtLeastOnce).unwrap()).unwrap();
    /// let publish = conn.poll_transmit(now).unwrap();
    /// assert_eq!(publish[0], 0x32); // PUBLISH, QoS 1
    /// conn.handle_read(now, &[0x40, 0x02, 0x00, 0x01]); // PUBACK 1
    /// assert_eq!(conn.poll_event(), Some(Event::Published { id }));
    /// ```
    pub fn publish(&mut self, message: Message) -> Result<PublishId, PublishError> {
        if self.closing {
            return Err(PublishError::Closing);
        }
        let size = wire::publish_size(self.is_v5(), &message);
        if size > self.options.max_packet_size {
            return Err(PublishError::TooLarge {
                size,
                max: self.options.max_packet_size,
            });
        }
        let id = PublishId(self.next_publish_id);
        if message.qos != QoS::AtMostOnce {
            // Recorded before `pump` may send it, so the op that gives it
            // a packet id comes after.
            self.record(|| StoreOp::Publish {
                id,
                message: message.clone(),
            });
        }
        self.outgoing.queue.push_back(Queued { id, message });
        self.pump();
        if self.outgoing.queue.len() > self.options.max_queued {
            // Ours is the last one and was not sent: take it back.
            if let Some(refused) = self.outgoing.queue.pop_back() {
                if refused.message.qos != QoS::AtMostOnce {
                    self.record(|| StoreOp::Done { id });
                }
            }
            self.queue_full_reported = true;
            return Err(PublishError::QueueFull);
        }
        self.next_publish_id += 1;
        Ok(id)
    }

    /// Whether [`publish`](Self::publish) would accept a message of `qos`
    /// right now instead of failing with `QueueFull`: lets a driver hold a
    /// message back rather than hand it over and lose it.
    ///
    /// ```
    /// use mqtt_proto::{Connection, Message, MqttString, Options, QoS};
    ///
    /// let options = Options::new(MqttString::try_from("doc").unwrap()).max_queued(1);
    /// let mut conn = Connection::new(options).unwrap();
    /// assert!(conn.can_publish(QoS::AtLeastOnce));
    /// conn.publish(Message::new("t", "x", QoS::AtLeastOnce).unwrap()).unwrap(); // queued offline
    /// assert!(!conn.can_publish(QoS::AtLeastOnce)); // the queue is full
    /// ```
    pub fn can_publish(&self, qos: QoS) -> bool {
        if self.closing {
            // `publish` answers at once, with an error.
            return true;
        }
        if self.outgoing.queue.len() < self.options.max_queued {
            return true;
        }
        // A full queue still takes a message that goes straight out.
        self.state == State::Connected
            && self.outgoing.queue.is_empty()
            && (qos == QoS::AtMostOnce || self.outgoing.inflight.len() < self.window())
    }

    /// Subscribes to `filters`, each with its maximum QoS. The SUBACK is
    /// reported as [`Event::Subscribed`] with the returned id. From then on
    /// the session holds these filters: when a broker reports it lost the
    /// session, the connection subscribes to them again by itself (see
    /// [`Options::resubscribe`]).
    ///
    /// ```
    /// # use mqtt_proto::{Connection, Instant, MqttString, Options};
    /// # let mut conn = Connection::new(Options::new(MqttString::try_from("doc").unwrap())).unwrap();
    /// # let now = Instant::ZERO;
    /// # conn.connect(now);
    /// # conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// # while conn.poll_transmit(now).is_some() {}
    /// # while conn.poll_event().is_some() {}
    /// use mqtt_proto::{Event, QoS, SubscribeOutcome, TopicFilter};
    ///
    /// let id = conn
    ///     .subscribe(vec![(TopicFilter::try_from("sensors/+/temp").unwrap(), QoS::AtLeastOnce)])
    ///     .unwrap();
    /// assert_eq!(conn.poll_transmit(now).unwrap()[0], 0x82); // SUBSCRIBE
    /// conn.handle_read(now, &[0x90, 0x03, 0x00, id.get() as u8, 0x01]); // SUBACK: QoS 1
    /// assert_eq!(
    ///     conn.poll_event(),
    ///     Some(Event::Subscribed { id, outcomes: vec![SubscribeOutcome::Granted(QoS::AtLeastOnce)] })
    /// );
    /// ```
    pub fn subscribe(
        &mut self,
        filters: Vec<(TopicFilter, QoS)>,
    ) -> Result<PacketId, SubscribeError> {
        let filters = filters
            .into_iter()
            .map(|(f, qos)| (f, SubscriptionOptions::new(qos)))
            .collect();
        self.subscribe_with(filters, SubscribeProperties::default())
    }

    /// Subscribes with MQTT 5.0's subscription options (no local, retain
    /// as published, retain handling) and properties (a subscription
    /// identifier, user properties). At 3.1.1 only each filter's QoS is
    /// sent. Otherwise as [`subscribe`](Connection::subscribe).
    ///
    /// ```
    /// use mqtt_proto::packet::v5::{SubscribeProperties, SubscriptionOptions};
    /// use mqtt_proto::packet::Protocol;
    /// use mqtt_proto::{Connection, Instant, MqttString, Options, QoS, TopicFilter};
    ///
    /// let options = Options::new(MqttString::try_from("doc").unwrap()).protocol(Protocol::V5);
    /// let mut conn = Connection::new(options).unwrap();
    /// let mut no_echo = SubscriptionOptions::new(QoS::AtLeastOnce);
    /// no_echo.no_local = true;
    /// let props = SubscribeProperties { subscription_identifier: Some(7), ..Default::default() };
    /// let filter = TopicFilter::try_from("chat/#").unwrap();
    /// assert!(conn.subscribe_with(vec![(filter, no_echo)], props).is_ok());
    /// ```
    pub fn subscribe_with(
        &mut self,
        filters: Vec<(TopicFilter, SubscriptionOptions)>,
        properties: SubscribeProperties,
    ) -> Result<PacketId, SubscribeError> {
        let id = properties.subscription_identifier;
        if id.is_some_and(|id| id == 0 || id > 268_435_455) {
            return Err(SubscribeError::InvalidProperties);
        }
        // [5.0 MQTT-3.8.3-4] No Local on a shared subscription is a protocol
        // error: the codec will not encode it, so it is refused here rather
        // than accepted and never sent. (3.1.1 sends no options but QoS.)
        let shared_no_local = |(f, o): &(TopicFilter, SubscriptionOptions)| {
            o.no_local && f.as_str().starts_with("$share/")
        };
        if self.is_v5() && filters.iter().any(shared_no_local) {
            return Err(SubscribeError::InvalidProperties);
        }
        let live = filters.clone();
        let pid = self.request(filters.is_empty(), |pid| {
            Request::Subscribe(Subscribe {
                pid,
                properties,
                filters,
            })
        })?;
        for (filter, options) in &live {
            self.record(|| StoreOp::Subscribed {
                filter: filter.clone(),
                options: *options,
                identifier: id,
            });
        }
        self.subscriptions.on_subscribe(&live, id);
        Ok(pid)
    }

    /// Unsubscribes from `filters`. The UNSUBACK is reported as
    /// [`Event::Unsubscribed`] with the returned id; the session no longer
    /// holds them.
    ///
    /// ```
    /// # use mqtt_proto::{Connection, Instant, MqttString, Options};
    /// # let mut conn = Connection::new(Options::new(MqttString::try_from("doc").unwrap())).unwrap();
    /// # let now = Instant::ZERO;
    /// # conn.connect(now);
    /// # conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// # while conn.poll_transmit(now).is_some() {}
    /// # while conn.poll_event().is_some() {}
    /// use mqtt_proto::{Event, QoS, TopicFilter};
    ///
    /// let filter = TopicFilter::try_from("a/#").unwrap();
    /// conn.subscribe(vec![(filter.clone(), QoS::AtMostOnce)]).unwrap();
    /// let id = conn.unsubscribe(vec![filter]).unwrap();
    /// assert_eq!(conn.subscriptions().count(), 0);
    /// conn.handle_read(now, &[0xB0, 0x02, 0x00, id.get() as u8]); // UNSUBACK
    /// assert_eq!(std::iter::from_fn(|| conn.poll_event()).last(), Some(Event::Unsubscribed { id }));
    /// ```
    pub fn unsubscribe(&mut self, filters: Vec<TopicFilter>) -> Result<PacketId, SubscribeError> {
        let gone = filters.clone();
        let pid = self.request(filters.is_empty(), |pid| {
            Request::Unsubscribe(Unsubscribe {
                pid,
                properties: Default::default(),
                filters,
            })
        })?;
        for filter in &gone {
            self.record(|| StoreOp::Unsubscribed {
                filter: filter.clone(),
            });
        }
        self.subscriptions.on_unsubscribe(&gone);
        Ok(pid)
    }

    /// The filters the session holds: every one subscribed to and not
    /// unsubscribed from or refused, with the QoS asked for last.
    ///
    /// ```
    /// use mqtt_proto::{Connection, MqttString, Options, QoS, TopicFilter};
    ///
    /// let mut conn = Connection::new(Options::new(MqttString::try_from("doc").unwrap())).unwrap();
    /// let a = TopicFilter::try_from("a/#").unwrap();
    /// let b = TopicFilter::try_from("b").unwrap();
    /// conn.subscribe(vec![(a.clone(), QoS::AtLeastOnce), (b.clone(), QoS::AtMostOnce)]).unwrap();
    /// conn.unsubscribe(vec![b]).unwrap();
    /// let held: Vec<_> = conn.subscriptions().collect();
    /// assert_eq!(held, [(&a, QoS::AtLeastOnce)]);
    /// ```
    pub fn subscriptions(&self) -> impl Iterator<Item = (&TopicFilter, QoS)> {
        self.subscriptions.live()
    }

    fn request(
        &mut self,
        empty: bool,
        build: impl FnOnce(PacketId) -> Request,
    ) -> Result<PacketId, SubscribeError> {
        if self.closing {
            return Err(SubscribeError::Closing);
        }
        if empty {
            return Err(SubscribeError::NoFilters);
        }
        if self.requests.len() >= self.options.max_pending_requests {
            return Err(SubscribeError::TooManyPending);
        }
        let pid = self.ids.allocate().ok_or(SubscribeError::NoPacketId)?;
        let request = build(pid);
        let size = self.request_size(&request);
        let max = self.max_packet_out();
        if size > max {
            self.ids.release(pid);
            return Err(SubscribeError::TooLarge { size, max });
        }
        if self.state == State::Connected {
            self.encode_request(&request);
        }
        self.requests.push(request);
        Ok(pid)
    }

    /// Acknowledges an incoming message in manual-ack mode. Acks go out in
    /// the order the messages arrived [MQTT-4.6.0-2], [MQTT-4.6.0-3], so one
    /// may wait for an earlier message's ack.
    ///
    /// ```
    /// use mqtt_proto::{Connection, Event, Instant, MqttString, Options};
    ///
    /// let options = Options::new(MqttString::try_from("doc").unwrap()).manual_acks(true);
    /// let mut conn = Connection::new(options).unwrap();
    /// let now = Instant::ZERO;
    /// conn.connect(now);
    /// conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// while conn.poll_transmit(now).is_some() {}
    /// conn.handle_read(now, &[0x32, 6, 0, 1, b'a', 0, 1, b'x']); // QoS 1 PUBLISH, id 1
    /// conn.handle_read(now, &[0x32, 6, 0, 1, b'a', 0, 2, b'y']); // QoS 1 PUBLISH, id 2
    /// let tokens: Vec<_> = std::iter::from_fn(|| conn.poll_event())
    ///     .filter_map(|e| match e {
    ///         Event::Message { ack, .. } => ack,
    ///         _ => None,
    ///     })
    ///     .collect();
    /// conn.ack(tokens[1]).unwrap(); // waits for the earlier message's ack
    /// assert_eq!(conn.poll_transmit(now), None);
    /// conn.ack(tokens[0]).unwrap(); // both PUBACKs, in arrival order
    /// assert_eq!(&conn.poll_transmit(now).unwrap()[..], &[0x40, 2, 0, 1, 0x40, 2, 0, 2]);
    /// ```
    pub fn ack(&mut self, token: AckToken) -> Result<(), AckError> {
        match self.incoming.ack(token) {
            Acked::Unknown => return Err(AckError::UnknownToken),
            // Taken for good: a store keeps the id before its PUBREC goes
            // out, so a redelivery after a restart is not handed out again.
            Acked::Qos2(pid) => self.record(|| StoreOp::Received { pid }),
            Acked::Yes => {}
        }
        self.flush_acks();
        Ok(())
    }

    /// In manual-ack mode with a store: the application takes the QoS 2
    /// message of `token` for good now, though it acks it later (it hands
    /// the message on before it is done with it, say). Its id is recorded
    /// as received at once, so that after a restart a redelivery is not
    /// handed out again; without this, a message counts as taken when it
    /// is acked. Returns whether an op was recorded: false for QoS 1, a
    /// token taken or acked before, or without a store. Bytes and events
    /// are held back until the op is taken, as for any op.
    ///
    /// ```
    /// use mqtt_proto::store::StoreOp;
    /// use mqtt_proto::{Connection, Event, Instant, MqttString, Options, PacketId};
    ///
    /// let options = Options::new(MqttString::try_from("c").unwrap()).manual_acks(true).store(true);
    /// let mut conn = Connection::new(options).unwrap();
    /// let now = Instant::ZERO;
    /// conn.connect(now);
    /// conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// conn.handle_read(now, &[0x34, 6, 0, 1, b't', 0, 3, b'x']); // QoS 2 PUBLISH, id 3
    /// let token = std::iter::from_fn(|| conn.poll_event())
    ///     .find_map(|e| match e { Event::Message { ack, .. } => ack, _ => None })
    ///     .unwrap();
    /// assert!(conn.take(token));
    /// assert_eq!(conn.poll_store(), Some(StoreOp::Received { pid: PacketId::new(3).unwrap() }));
    /// conn.ack(token).unwrap(); // PUBREC now, nothing more to record
    /// assert_eq!(conn.poll_store(), None);
    /// ```
    pub fn take(&mut self, token: AckToken) -> bool {
        if self.store.is_none() {
            return false;
        }
        match self.incoming.take(token) {
            Some(pid) => {
                self.record(|| StoreOp::Received { pid });
                true
            }
            None => false,
        }
    }
}
