//! A transport's life as the connection sees it: asked for
//! ([`start`](super::Connection::start), or the reconnect policy's
//! `Event::OpenTransport`), opened ([`connect`](super::Connection::connect)),
//! ended ([`handle_closed`](super::Connection::handle_closed), or a
//! protocol violation, a timeout, a close), and what the reconnect policy
//! (`reconnect.rs`) decides then. The session outlives every transport.

use super::*;
use crate::packet::{v5, MAX_PACKET_SIZE};

impl Connection {
    /// Starts the reconnect policy's first round: [`Event::OpenTransport`]
    /// for the first server comes out, and the attempt's deadline is armed.
    /// Without a policy it asks for server 0 all the same, once. A
    /// scheduled reconnect is replaced; an open connection is left alone.
    ///
    /// ```
    /// use mqtt_proto::{Connection, Event, Instant, MqttString, Options, ReconnectOptions};
    ///
    /// let options = Options::new(MqttString::try_from("doc").unwrap())
    ///     .reconnect(ReconnectOptions::new(2));
    /// let mut conn = Connection::new(options).unwrap();
    /// conn.start(Instant::ZERO);
    /// assert_eq!(conn.poll_event(), Some(Event::OpenTransport { server: 0 }));
    /// // The loop opens a transport to server 0, then calls `connect`.
    /// ```
    pub fn start(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if !matches!(self.state, State::Disconnected) {
            return;
        }
        self.timers.stop(Timer::Reconnect);
        let server = self.reconnect.as_mut().map_or(0, Reconnect::start_round);
        self.open(now, server);
    }

    /// Asks the caller for a transport to `server`.
    pub(super) fn open(&mut self, now: Instant, server: usize) {
        self.state = State::Opening;
        self.timers.clear();
        self.timers
            .set(Timer::ConnAck, now + self.options.connect_timeout);
        if let Some(reconnect) = &mut self.reconnect {
            reconnect.on_attempt();
        }
        self.events.push_back(Event::OpenTransport { server });
    }

    /// A new transport is open: queues CONNECT [MQTT-3.1.0-1]. If another
    /// transport was still considered open, it is treated as closed first
    /// (with no reconnect: this one replaces it). After
    /// [`Event::OpenTransport`] the attempt keeps the deadline armed then.
    ///
    /// ```
    /// use mqtt_proto::{Connection, Instant, MqttString, Options};
    ///
    /// let mut conn = Connection::new(Options::new(MqttString::try_from("doc").unwrap())).unwrap();
    /// conn.connect(Instant::ZERO); // a transport is open
    /// let connect = conn.poll_transmit(Instant::ZERO).unwrap();
    /// assert_eq!(connect[0], 0x10); // CONNECT
    /// ```
    pub fn connect(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let attempt_deadline = match self.state {
            State::Opening => self.timers.get(Timer::ConnAck),
            State::Disconnected => None,
            State::Connecting | State::Connected | State::Disconnecting => {
                self.end_transport(DisconnectReason::TransportClosed);
                self.closing = false;
                None
            }
        };
        if attempt_deadline.is_none() {
            if let Some(reconnect) = &mut self.reconnect {
                // A connection the caller opened unasked is an attempt too.
                reconnect.on_attempt();
            }
        }
        self.rx.clear();
        self.tx.clear();
        self.timers.clear();
        // Options::validate ruled out every way a CONNECT can fail to encode
        // (empty client id without clean session, over-long will or
        // password; strings are bounded by their types).
        if let Some(v5) = &mut self.v5 {
            v5.on_connect();
            let _ = v5_connect(&self.options).encode(&mut self.tx);
        } else {
            let connect = Connect {
                protocol: self.options.protocol,
                clean_session: self.options.clean_session,
                keep_alive: self.options.keep_alive_secs(),
                client_id: self.options.client_id.clone(),
                last_will: self.options.last_will.clone(),
                login: self.options.login.clone(),
            };
            let _ = connect.encode(&mut self.tx);
        }
        self.state = State::Connecting;
        self.timers.set(
            Timer::ConnAck,
            attempt_deadline.unwrap_or(now + self.options.connect_timeout),
        );
    }

    /// The transport ended (EOF or an error), or, after
    /// [`Event::OpenTransport`], could not be opened.
    ///
    /// ```
    /// # use mqtt_proto::{Connection, Instant, MqttString, Options};
    /// # let mut conn = Connection::new(Options::new(MqttString::try_from("doc").unwrap())).unwrap();
    /// # let now = Instant::ZERO;
    /// # conn.connect(now);
    /// # conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// # while conn.poll_transmit(now).is_some() {}
    /// # while conn.poll_event().is_some() {}
    /// use mqtt_proto::{DisconnectReason, Event};
    ///
    /// conn.handle_closed(now); // EOF from the broker
    /// assert_eq!(
    ///     conn.poll_event(),
    ///     Some(Event::Disconnected { reason: DisconnectReason::TransportClosed })
    /// );
    /// assert!(!conn.is_connected());
    /// ```
    pub fn handle_closed(&mut self, now: Instant) {
        self.now = self.now.max(now);
        match self.state {
            State::Opening | State::Connecting | State::Connected => {
                self.lose(DisconnectReason::TransportClosed)
            }
            State::Disconnecting => self.lose(DisconnectReason::Requested),
            State::Disconnected => {}
        }
    }

    /// The transport is over, for `reason`; the session stays. Then the
    /// reconnect policy, if any, says what comes next.
    pub(super) fn lose(&mut self, reason: DisconnectReason) {
        let closing = core::mem::take(&mut self.closing);
        let final_refusal = match &reason {
            DisconnectReason::Refused(code) => is_final_refusal(*code),
            DisconnectReason::Rejected(why) => is_final_reason(why.reason),
            _ => false,
        };
        let requested = reason == DisconnectReason::Requested;
        self.end_transport(reason);
        let Some(reconnect) = &mut self.reconnect else {
            return;
        };
        if closing || requested {
            reconnect.on_closed();
            return;
        }
        let next = if final_refusal {
            Next::GiveUp
        } else {
            reconnect.on_ended(self.now, self.options.effective_keep_alive())
        };
        match next {
            Next::GiveUp => self.events.push_back(Event::GaveUp),
            Next::Open { server, delay } if delay.is_zero() => self.open(self.now, server),
            Next::Open { server, delay } => {
                self.timers.set(Timer::Reconnect, self.now + delay);
                self.events
                    .push_back(Event::ReconnectScheduled { server, delay });
            }
        }
    }

    /// Stops a scheduled reconnect.
    pub(super) fn cancel_reconnect(&mut self) {
        self.timers.stop(Timer::Reconnect);
    }

    /// Tears the transport's state down and reports `reason`.
    pub(super) fn end_transport(&mut self, reason: DisconnectReason) {
        self.state = State::Disconnected;
        self.disconnect_in_tx = false;
        self.tx.clear();
        self.outgoing.on_discarded();
        self.rx.clear();
        self.timers.clear();
        // QoS 0 messages whose bytes were never handed out were not sent.
        for queued in self.qos0_in_tx.drain(..).rev() {
            self.outgoing.queue.push_front(queued);
        }
        self.incoming.on_transport_lost();
        self.events.push_back(Event::Disconnected { reason });
    }
}

/// The MQTT 5.0 CONNECT for `options`: the 3.1.1 fields, Clean Start for
/// clean session, and the properties of [`V5Options`](super::V5Options).
fn v5_connect(options: &Options) -> v5::Connect {
    let v5 = &options.v5;
    let expiry = options.effective_session_expiry();
    let max_packet = u32::try_from(options.max_packet_size).unwrap_or(u32::MAX);
    let properties = v5::ConnectProperties {
        session_expiry_interval: (expiry != 0).then_some(expiry),
        receive_maximum: (v5.receive_maximum != u16::MAX).then_some(v5.receive_maximum),
        // Absent means no limit: say ours unless it is the protocol's.
        maximum_packet_size: (options.max_packet_size < MAX_PACKET_SIZE).then_some(max_packet),
        topic_alias_maximum: (v5.topic_alias_maximum != 0).then_some(v5.topic_alias_maximum),
        request_response_information: v5.request_response_information.then_some(true),
        request_problem_information: None,
        user_properties: v5.user_properties.clone(),
        authentication_method: v5.authentication_method.clone(),
        authentication_data: v5.authentication_data.clone(),
    };
    let will = options.last_will.as_ref().map(|w| v5::Will {
        topic: w.topic.clone(),
        payload: w.message.clone(),
        qos: w.qos,
        retain: w.retain,
        properties: v5.will_properties.clone(),
    });
    let (username, password) = match &options.login {
        Some(login) => (Some(login.username.clone()), login.password.clone()),
        None => (None, None),
    };
    v5::Connect {
        clean_start: options.clean_session,
        keep_alive: options.keep_alive_secs(),
        properties,
        client_id: options.client_id.clone(),
        will,
        username,
        password,
    }
}
