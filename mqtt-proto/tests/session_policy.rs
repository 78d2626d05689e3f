//! The session policy in the core, against a scripted broker on a virtual
//! clock: reconnecting (which server, when, when to give up), holding the
//! session's subscriptions across a lost session, the graceful close, and
//! what a lost session does to messages in flight. No sockets: every test
//! feeds the connection explicit `Instant`s and the broker's packets as
//! bytes, and checks the exact packets it sends and events it reports.
//! Rules checked cite their statement of MQTT 3.1.1.

use bytes::{Bytes, BytesMut};
use core::time::Duration;
use mqtt_proto::packet::{
    self, ConnAck, ConnectReturnCode, Packet, Protocol, PubAck, PubComp, PubRec, PubRel, Publish,
    QosPid, SubAck, Subscribe, SubscribeReturnCode, UnsubAck,
};
use mqtt_proto::{
    is_final_refusal, Connection, DisconnectReason, Event, Instant, Message, MqttString, Options,
    OptionsError, PacketId, PublishError, PublishId, QoS, ReconnectOptions, SessionLostPolicy,
    State, SubscribeError, SubscribeOutcome, TopicFilter,
};

const MIN: Duration = Duration::from_millis(100);
const MAX: Duration = Duration::from_millis(1_600);
const NS: Duration = Duration::from_nanos(1);

/// The last instant before `at`.
fn just_before(at: Instant) -> Instant {
    Instant::from_nanos(at.as_nanos() - 1)
}

fn pid(v: u16) -> PacketId {
    PacketId::new(v).unwrap()
}

fn filter(s: &str) -> TopicFilter {
    TopicFilter::try_from(s).unwrap()
}

fn options() -> Options {
    Options::new(MqttString::try_from("policy-client").unwrap())
}

fn policy(servers: usize) -> ReconnectOptions {
    ReconnectOptions::new(servers).backoff(MIN, MAX).seed(7)
}

fn reconnecting(servers: usize) -> Options {
    options().reconnect(policy(servers))
}

fn msg(topic: &str, payload: &'static str, qos: QoS) -> Message {
    Message::new(topic, Bytes::from_static(payload.as_bytes()), qos).unwrap()
}

fn publish_of(p: &Packet) -> &Publish {
    match p {
        Packet::Publish(p) => p,
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

fn subscribe_of(p: &Packet) -> &Subscribe {
    match p {
        Packet::Subscribe(s) => s,
        other => panic!("expected SUBSCRIBE, got {other:?}"),
    }
}

fn granted(qos: QoS) -> SubscribeReturnCode {
    SubscribeReturnCode::Success(qos)
}

/// The delay of `[Disconnected { reason }, ReconnectScheduled { server: 0, delay }]`.
fn scheduled(events: &[Event], reason: DisconnectReason) -> Duration {
    match events {
        [Event::Disconnected { reason: r }, Event::ReconnectScheduled { server: 0, delay }]
            if *r == reason =>
        {
            *delay
        }
        other => panic!("expected Disconnected({reason:?}) then a new round: {other:?}"),
    }
}

/// Equal jitter: the n-th delay of a backoff is within `[ceiling/2, ceiling]`.
fn assert_within(delay: Duration, ceiling: Duration) {
    assert!(
        delay >= ceiling / 2 && delay <= ceiling,
        "{delay:?} outside [{:?}, {ceiling:?}]",
        ceiling / 2
    );
}

/// One client and the broker's view of the wire.
struct Script {
    conn: Connection,
    now: Instant,
}

impl Script {
    fn new(options: Options) -> Self {
        Script {
            conn: Connection::new(options).unwrap(),
            now: Instant::ZERO,
        }
    }

    /// Connected (without a policy) with CONNACK session present 0, wire
    /// and events drained.
    fn connected(options: Options) -> Self {
        let mut s = Script::new(options);
        s.open(false);
        s
    }

    fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
    }

    /// Moves the clock to `at` (never backwards).
    fn at(&mut self, at: Instant) {
        assert!(at >= self.now, "the clock goes backwards");
        self.now = at;
    }

    /// The transport is open: `connect`, and CONNECT is all that is sent.
    fn connect(&mut self) {
        self.conn.connect(self.now);
        let sent = self.sent();
        assert!(matches!(sent.as_slice(), [Packet::Connect(_)]), "{sent:?}");
    }

    /// `connect`, then CONNACK accepting it: returns what was sent after
    /// CONNACK; the events are left to read.
    fn accept(&mut self, session_present: bool) -> Vec<Packet> {
        self.connect();
        self.connack(session_present, ConnectReturnCode::Accepted);
        self.sent()
    }

    /// `accept`, checking that `Connected` is the first event.
    fn open(&mut self, session_present: bool) -> Vec<Packet> {
        let sent = self.accept(session_present);
        assert_eq!(
            self.events().first(),
            Some(&Event::Connected { session_present })
        );
        sent
    }

    fn connack(&mut self, session_present: bool, code: ConnectReturnCode) {
        self.broker(Packet::ConnAck(ConnAck {
            session_present,
            code,
        }));
    }

    fn broker(&mut self, p: Packet) {
        let mut b = BytesMut::new();
        p.encode(&mut b).unwrap();
        self.conn.handle_read(self.now, &b);
    }

    fn suback(&mut self, id: PacketId, codes: Vec<SubscribeReturnCode>) {
        self.broker(Packet::SubAck(SubAck {
            pid: id,
            return_codes: codes,
        }));
    }

    /// The transport ended (or could not be opened); returns the events.
    fn closed(&mut self) -> Vec<Event> {
        self.conn.handle_closed(self.now);
        self.events()
    }

    /// `handle_timeout` at `at`; returns the events.
    fn timeout_at(&mut self, at: Instant) -> Vec<Event> {
        self.at(at);
        self.conn.handle_timeout(self.now);
        self.events()
    }

    /// Everything the client wants to send, decoded.
    fn sent(&mut self) -> Vec<Packet> {
        let mut wire = BytesMut::new();
        while let Some(chunk) = self.conn.poll_transmit(self.now) {
            wire.extend_from_slice(&chunk);
        }
        let mut out = Vec::new();
        while let Some(p) = packet::decode(&mut wire, usize::MAX).unwrap() {
            out.push(p);
        }
        assert!(wire.is_empty(), "client sent a partial packet");
        out
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.conn.poll_event()).collect()
    }

    fn subscriptions(&self) -> Vec<(TopicFilter, QoS)> {
        self.conn
            .subscriptions()
            .map(|(f, q)| (f.clone(), q))
            .collect()
    }

    /// Subscribes, and the broker grants every filter.
    fn subscribed(&mut self, filters: &[(&str, QoS)]) -> PacketId {
        let filters: Vec<(TopicFilter, QoS)> =
            filters.iter().map(|(f, q)| (filter(f), *q)).collect();
        let codes = filters.iter().map(|(_, q)| granted(*q)).collect();
        let id = self.conn.subscribe(filters.clone()).unwrap();
        assert_eq!(
            self.sent(),
            [Packet::Subscribe(Subscribe { pid: id, filters })]
        );
        self.suback(id, codes);
        assert!(matches!(
            self.events().as_slice(),
            [Event::Subscribed { id: i, .. }] if *i == id
        ));
        id
    }

    /// A policy's round that fails at once on its only server: waits for
    /// the scheduled delay, gets `OpenTransport`, and the transport cannot
    /// be opened. Returns the delay of the next round.
    fn failed_round(&mut self) -> Duration {
        let at = self.conn.poll_timeout().expect("a reconnect is scheduled");
        assert_eq!(self.timeout_at(at), [Event::OpenTransport { server: 0 }]);
        let events = self.closed();
        let delay = scheduled(&events, DisconnectReason::TransportClosed);
        assert_eq!(self.conn.poll_timeout(), Some(self.now + delay));
        delay
    }
}

// ---- reconnect ---------------------------------------------------------------

#[test]
fn start_asks_for_the_first_server_and_arms_the_attempt_deadline() {
    let mut s = Script::new(reconnecting(2).connect_timeout(Duration::from_secs(5)));
    s.at(Instant::from_millis(1_000));
    s.conn.start(s.now);
    assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);
    assert_eq!(s.conn.state(), State::Opening);
    assert_eq!(
        s.conn.poll_timeout(),
        Some(Instant::from_millis(6_000)),
        "the attempt's deadline covers opening the transport"
    );
    assert!(s.sent().is_empty(), "nothing is sent before connect");
    // [MQTT-3.1.0-1] CONNECT is the first packet on the new transport.
    s.connect();
    assert_eq!(s.conn.state(), State::Connecting);
}

#[test]
fn failed_attempt_tries_the_next_server_then_the_round_backs_off() {
    let mut s = Script::new(reconnecting(2));
    s.conn.start(s.now);
    assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);

    // Server 0 cannot be reached: server 1 at once, no timer in between.
    s.advance(Duration::from_millis(3));
    assert_eq!(
        s.closed(),
        [
            Event::Disconnected {
                reason: DisconnectReason::TransportClosed
            },
            Event::OpenTransport { server: 1 }
        ]
    );
    assert_eq!(s.conn.state(), State::Opening);

    // Neither can server 1: the round is over, the next starts at server 0
    // after the first backoff delay.
    s.advance(Duration::from_millis(3));
    let failed_at = s.now;
    let delay = scheduled(&s.closed(), DisconnectReason::TransportClosed);
    assert_within(delay, MIN);
    assert_eq!(s.conn.state(), State::Disconnected);
    assert_eq!(s.conn.poll_timeout(), Some(failed_at + delay));

    // Early: nothing happens, the deadline stays.
    assert_eq!(s.timeout_at(just_before(failed_at + delay)), []);
    assert_eq!(s.conn.state(), State::Disconnected);
    assert_eq!(s.conn.poll_timeout(), Some(failed_at + delay));
    assert!(s.sent().is_empty());

    // Due: the new round asks for server 0.
    assert_eq!(
        s.timeout_at(failed_at + delay),
        [Event::OpenTransport { server: 0 }]
    );
    assert_eq!(s.conn.state(), State::Opening);
    // And it is a new round: server 0 failing moves on to server 1 again.
    assert_eq!(
        s.closed(),
        [
            Event::Disconnected {
                reason: DisconnectReason::TransportClosed
            },
            Event::OpenTransport { server: 1 }
        ]
    );
}

#[test]
fn backoff_grows_with_every_failed_round_up_to_the_maximum() {
    let mut s = Script::new(reconnecting(1));
    s.conn.start(s.now);
    assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);
    let mut delay = scheduled(&s.closed(), DisconnectReason::TransportClosed);
    let mut ceiling = MIN;
    assert_within(delay, ceiling);
    for _ in 0..8 {
        let next = s.failed_round();
        let doubled = ceiling * 2 <= MAX;
        ceiling = (ceiling * 2).min(MAX);
        assert_within(next, ceiling);
        if doubled {
            // Half the new ceiling is the old ceiling: never shorter.
            assert!(next >= delay, "{next:?} after {delay:?}");
        }
        delay = next;
    }
    assert_eq!(ceiling, MAX, "the cap was reached");
    assert!(delay <= MAX);
}

/// A policy client with one server, after `rounds` failed rounds: the
/// next delay's ceiling is `MIN * 2^rounds`. Ends connected, events and
/// wire drained.
fn connected_after_failed_rounds(options: Options, rounds: usize) -> Script {
    let mut s = Script::new(options);
    s.conn.start(s.now);
    assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);
    let _ = s.closed();
    for _ in 1..rounds {
        s.failed_round();
    }
    let at = s.conn.poll_timeout().unwrap();
    assert_eq!(s.timeout_at(at), [Event::OpenTransport { server: 0 }]);
    assert!(s.open(false).is_empty());
    s
}

#[test]
fn backoff_starts_over_after_the_broker_answered() {
    // Four failed rounds: the next ceiling would be 1.6 s.
    let mut s = connected_after_failed_rounds(reconnecting(1), 4);
    let id = s.conn.publish(msg("t", "x", QoS::AtLeastOnce)).unwrap();
    let sent = s.sent();
    let p = publish_of(&sent[0]).pid().unwrap();
    s.advance(Duration::from_millis(5));
    s.broker(Packet::PubAck(PubAck::new(p)));
    assert_eq!(s.events(), [Event::Published { id }]);
    s.advance(Duration::from_millis(5));
    let delay = scheduled(&s.closed(), DisconnectReason::TransportClosed);
    assert_within(delay, MIN);
}

#[test]
fn backoff_starts_over_after_a_keep_alive_period_up() {
    let options = reconnecting(1).keep_alive(Duration::from_secs(10));
    let mut s = connected_after_failed_rounds(options, 4);
    s.advance(Duration::from_secs(10));
    let delay = scheduled(&s.closed(), DisconnectReason::TransportClosed);
    assert_within(delay, MIN);
}

#[test]
fn connections_dropped_right_after_connack_keep_the_backoff_growing() {
    // A broker that accepts and drops at once (or within the keep-alive
    // period, answering nothing) meets a growing delay, not a storm.
    let options = reconnecting(1).keep_alive(Duration::from_secs(10));
    let mut s = Script::new(options);
    s.conn.start(s.now);
    assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);
    let mut ceiling = MIN;
    for round in 0..7 {
        assert!(s.open(false).is_empty());
        // A packet that answers no request: the broker is alive, no more.
        s.broker(Packet::PingResp);
        if round == 3 {
            s.advance(Duration::from_secs(10) - NS);
        }
        let delay = scheduled(&s.closed(), DisconnectReason::TransportClosed);
        assert_within(delay, ceiling);
        ceiling = (ceiling * 2).min(MAX);
        let at = s.conn.poll_timeout().unwrap();
        assert_eq!(s.timeout_at(at), [Event::OpenTransport { server: 0 }]);
    }
}

#[test]
fn a_connection_lost_after_connack_starts_a_new_round_at_the_first_server() {
    let mut s = Script::new(reconnecting(3));
    s.conn.start(s.now);
    assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);
    let events = s.closed();
    assert_eq!(events[1], Event::OpenTransport { server: 1 });
    assert!(s.open(false).is_empty());
    let delay = scheduled(&s.closed(), DisconnectReason::TransportClosed);
    assert_within(delay, MIN);
    let at = s.conn.poll_timeout().unwrap();
    assert_eq!(s.timeout_at(at), [Event::OpenTransport { server: 0 }]);
}

#[test]
fn final_refusals_give_up() {
    for code in [
        ConnectReturnCode::NotAuthorized,
        ConnectReturnCode::BadUsernameOrPassword,
        ConnectReturnCode::IdentifierRejected,
        ConnectReturnCode::UnacceptableProtocolVersion,
    ] {
        assert!(is_final_refusal(code));
        // Two servers: a final refusal does not try the other one either.
        let mut s = Script::new(reconnecting(2));
        s.conn.start(s.now);
        assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);
        s.connect();
        s.connack(false, code);
        assert_eq!(
            s.events(),
            [
                Event::Disconnected {
                    reason: DisconnectReason::Refused(code)
                },
                Event::GaveUp
            ],
            "{code:?}"
        );
        assert_eq!(s.conn.state(), State::Disconnected);
        assert_eq!(s.conn.poll_timeout(), None, "{code:?}: no timer");
        assert!(s.sent().is_empty());
        assert_eq!(s.timeout_at(Instant::from_millis(3_600_000)), []);
        // `start` tries again.
        s.conn.start(s.now);
        assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);
    }
}

#[test]
fn server_unavailable_is_tried_again() {
    let code = ConnectReturnCode::ServerUnavailable;
    assert!(!is_final_refusal(code));
    let mut s = Script::new(reconnecting(2));
    s.conn.start(s.now);
    assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);
    s.connect();
    s.connack(false, code);
    assert_eq!(
        s.events(),
        [
            Event::Disconnected {
                reason: DisconnectReason::Refused(code)
            },
            Event::OpenTransport { server: 1 }
        ]
    );
    s.connect();
    s.connack(false, code);
    let delay = scheduled(&s.events(), DisconnectReason::Refused(code));
    assert_within(delay, MIN);
}

#[test]
fn give_up_if_never_connected() {
    let options = options().reconnect(policy(2).give_up_if_never_connected(true));
    let mut s = Script::new(options.clone());
    s.conn.start(s.now);
    assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);
    assert_eq!(s.closed()[1], Event::OpenTransport { server: 1 });
    assert_eq!(
        s.closed(),
        [
            Event::Disconnected {
                reason: DisconnectReason::TransportClosed
            },
            Event::GaveUp
        ]
    );
    assert_eq!(s.conn.poll_timeout(), None);

    // Once a connection succeeded, a failed round backs off instead.
    let mut s = Script::new(options);
    s.conn.start(s.now);
    assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);
    assert!(s.open(false).is_empty());
    scheduled(&s.closed(), DisconnectReason::TransportClosed);
    let at = s.conn.poll_timeout().unwrap();
    assert_eq!(s.timeout_at(at), [Event::OpenTransport { server: 0 }]);
    assert_eq!(s.closed()[1], Event::OpenTransport { server: 1 });
    scheduled(&s.closed(), DisconnectReason::TransportClosed);
}

#[test]
fn the_attempt_deadline_covers_opening_the_transport() {
    let timeout = Duration::from_secs(5);
    let mut s = Script::new(reconnecting(2).connect_timeout(timeout));
    s.conn.start(s.now);
    assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);
    let deadline = s.now + timeout;
    assert_eq!(s.timeout_at(just_before(deadline)), []);
    assert_eq!(s.conn.state(), State::Opening);
    // The transport never opened: the attempt is abandoned, the next
    // server is asked for, with a deadline of its own.
    assert_eq!(
        s.timeout_at(deadline),
        [
            Event::Disconnected {
                reason: DisconnectReason::ConnAckTimeout
            },
            Event::OpenTransport { server: 1 }
        ]
    );
    let deadline = s.now + timeout;
    assert_eq!(s.conn.poll_timeout(), Some(deadline));
    // Opening took 3 s: CONNACK has what is left, not a full timeout.
    s.advance(Duration::from_secs(3));
    s.connect();
    assert_eq!(s.conn.poll_timeout(), Some(deadline));
    assert_eq!(s.timeout_at(just_before(deadline)), []);
    assert_eq!(s.conn.state(), State::Connecting);
    let events = s.timeout_at(deadline);
    scheduled(&events, DisconnectReason::ConnAckTimeout);
    assert!(s.sent().is_empty());
}

#[test]
fn a_requested_close_never_reconnects() {
    // [MQTT-3.14.4-1] after DISCONNECT the connection is over (the core
    // says so with Disconnected); [MQTT-3.14.4-2] nothing follows it.
    let mut s = Script::new(reconnecting(1));
    s.conn.start(s.now);
    assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);
    assert!(s.open(false).is_empty());
    s.conn.disconnect(s.now, Duration::ZERO);
    assert_eq!(s.sent(), [Packet::Disconnect]);
    assert_eq!(
        s.events(),
        [Event::Disconnected {
            reason: DisconnectReason::Requested
        }]
    );
    assert_eq!(s.conn.state(), State::Disconnected);
    assert_eq!(s.conn.poll_timeout(), None);
    assert_eq!(s.closed(), []);
    assert_eq!(s.timeout_at(Instant::from_millis(3_600_000)), []);
    s.conn.publish(msg("t", "later", QoS::AtMostOnce)).unwrap();
    assert!(s.sent().is_empty(), "nothing after DISCONNECT");
}

#[test]
fn a_reconnect_policy_needs_a_server() {
    assert_eq!(ReconnectOptions::new(0).servers, 1);
    let mut none = policy(1);
    none.servers = 0;
    assert_eq!(
        Connection::new(options().reconnect(none)).err(),
        Some(OptionsError::NoServers)
    );
    assert!(Connection::new(options().reconnect(policy(1))).is_ok());
}

// ---- resubscribing -------------------------------------------------------------

#[test]
fn a_lost_session_is_resubscribed_in_one_subscribe() {
    // [MQTT-3.2.2-2] session present 0: the broker holds no subscription
    // of ours, so the core asks for the live filters again, in one
    // SUBSCRIBE: [MQTT-3.8.1-1] first byte 0x82, and [MQTT-2.3.1-2] an id
    // no other exchange (the pending UNSUBSCRIBE, the PUBLISH) uses.
    let mut s = Script::connected(options());
    s.subscribed(&[("c/#", QoS::ExactlyOnce), ("a/b", QoS::AtLeastOnce)]);
    let unsub = s.conn.unsubscribe(vec![filter("z")]).unwrap();
    assert_eq!(s.sent().len(), 1);
    let _ = s.closed();
    let id = s.conn.publish(msg("t", "x", QoS::AtLeastOnce)).unwrap();
    s.connect();
    s.connack(false, ConnectReturnCode::Accepted);
    let mut wire = BytesMut::new();
    while let Some(chunk) = s.conn.poll_transmit(s.now) {
        wire.extend_from_slice(&chunk);
    }
    let mut sent = Vec::new();
    while !wire.is_empty() {
        let first_byte = wire[0];
        sent.push((
            first_byte,
            packet::decode(&mut wire, usize::MAX).unwrap().unwrap(),
        ));
    }
    let [(_, Packet::Unsubscribe(u)), (0x82, Packet::Subscribe(sub)), (_, Packet::Publish(p))] =
        sent.as_slice()
    else {
        panic!("{sent:?}");
    };
    assert_eq!(u.pid, unsub, "the pending request goes again first");
    let ids = [u.pid, sub.pid, p.pid().unwrap()];
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:?}"
    );
    assert_eq!(
        sub.filters,
        [
            (filter("a/b"), QoS::AtLeastOnce),
            (filter("c/#"), QoS::ExactlyOnce)
        ]
    );
    assert_eq!(
        s.events(),
        [Event::Connected {
            session_present: false
        }]
    );
    s.suback(
        sub.pid,
        vec![granted(QoS::AtLeastOnce), granted(QoS::AtMostOnce)],
    );
    assert_eq!(
        s.events(),
        [Event::Resubscribed {
            filters: vec![
                (filter("a/b"), SubscribeOutcome::Granted(QoS::AtLeastOnce)),
                (filter("c/#"), SubscribeOutcome::Granted(QoS::AtMostOnce)),
            ]
        }]
    );
    // [MQTT-2.3.1-3] the id is free after its SUBACK.
    assert_eq!(s.conn.pending_requests(), 1);
    assert_eq!(s.conn.packet_ids_in_use(), 2);
    s.broker(Packet::UnsubAck(UnsubAck::new(unsub)));
    s.broker(Packet::PubAck(PubAck::new(p.pid().unwrap())));
    assert_eq!(
        s.events(),
        [Event::Unsubscribed { id: unsub }, Event::Published { id }]
    );
    assert_eq!(s.conn.packet_ids_in_use(), 0);
}

#[test]
fn a_resumed_session_is_not_resubscribed() {
    // [MQTT-3.1.2-4] the broker kept the session, subscriptions included.
    let mut s = Script::connected(options().clean_session(false));
    s.subscribed(&[("a/b", QoS::AtLeastOnce)]);
    let _ = s.closed();
    assert_eq!(s.accept(true), []);
    assert_eq!(
        s.events(),
        [Event::Connected {
            session_present: true
        }]
    );
}

#[test]
fn an_unsubscribed_filter_is_not_resubscribed() {
    let mut s = Script::connected(options());
    s.subscribed(&[("a", QoS::AtLeastOnce), ("b", QoS::AtLeastOnce)]);
    let u = s.conn.unsubscribe(vec![filter("a")]).unwrap();
    assert_eq!(s.subscriptions(), [(filter("b"), QoS::AtLeastOnce)]);
    let _ = s.sent();
    s.broker(Packet::UnsubAck(UnsubAck::new(u)));
    assert_eq!(s.events(), [Event::Unsubscribed { id: u }]);
    let _ = s.closed();
    let sent = s.open(false);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        subscribe_of(&sent[0]).filters,
        [(filter("b"), QoS::AtLeastOnce)]
    );
}

#[test]
fn a_refused_filter_is_no_longer_held() {
    let mut s = Script::connected(options());
    let id = s
        .conn
        .subscribe(vec![
            (filter("a"), QoS::AtLeastOnce),
            (filter("b"), QoS::AtLeastOnce),
        ])
        .unwrap();
    let _ = s.sent();
    s.suback(
        id,
        vec![SubscribeReturnCode::Failure, granted(QoS::AtLeastOnce)],
    );
    assert_eq!(
        s.events(),
        [Event::Subscribed {
            id,
            outcomes: vec![
                SubscribeOutcome::Refused,
                SubscribeOutcome::Granted(QoS::AtLeastOnce)
            ]
        }]
    );
    assert_eq!(s.subscriptions(), [(filter("b"), QoS::AtLeastOnce)]);

    let _ = s.closed();
    let sent = s.open(false);
    let [Packet::Subscribe(sub)] = sent.as_slice() else {
        panic!("{sent:?}");
    };
    assert_eq!(sub.filters, [(filter("b"), QoS::AtLeastOnce)]);
    // Refused when subscribing again: not held either.
    s.suback(sub.pid, vec![SubscribeReturnCode::Failure]);
    assert_eq!(
        s.events(),
        [Event::Resubscribed {
            filters: vec![(filter("b"), SubscribeOutcome::Refused)]
        }]
    );
    assert_eq!(s.subscriptions(), []);
    let _ = s.closed();
    assert_eq!(s.open(false), []);
}

#[test]
fn refusal_of_a_superseded_subscribe_leaves_the_later_one_to_decide() {
    // [MQTT-3.8.4-3] the second SUBSCRIBE for "a" replaces the first: its
    // SUBACK, not the first's, says whether the session holds "a".
    let mut s = Script::connected(options());
    let first = s
        .conn
        .subscribe(vec![(filter("a"), QoS::AtMostOnce)])
        .unwrap();
    let second = s
        .conn
        .subscribe(vec![(filter("a"), QoS::ExactlyOnce)])
        .unwrap();
    assert_eq!(s.sent().len(), 2);
    s.suback(first, vec![SubscribeReturnCode::Failure]);
    s.suback(second, vec![granted(QoS::ExactlyOnce)]);
    assert_eq!(
        s.events(),
        [
            Event::Subscribed {
                id: first,
                outcomes: vec![SubscribeOutcome::Refused]
            },
            Event::Subscribed {
                id: second,
                outcomes: vec![SubscribeOutcome::Granted(QoS::ExactlyOnce)]
            }
        ]
    );
    assert_eq!(s.subscriptions(), [(filter("a"), QoS::ExactlyOnce)]);
    let _ = s.closed();
    let sent = s.open(false);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        subscribe_of(&sent[0]).filters,
        [(filter("a"), QoS::ExactlyOnce)]
    );
}

#[test]
fn a_pending_subscribe_is_sent_again_not_duplicated() {
    // [MQTT-2.3.1-3] the unanswered SUBSCRIBE goes again with its id; the
    // filter it carries is not asked for a second time.
    let mut s = Script::connected(options());
    s.subscribed(&[("a", QoS::AtLeastOnce)]);
    let pending = s
        .conn
        .subscribe(vec![(filter("b"), QoS::ExactlyOnce)])
        .unwrap();
    assert_eq!(s.sent().len(), 1);
    let _ = s.closed();
    let sent = s.open(false);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        sent[0],
        Packet::Subscribe(Subscribe {
            pid: pending,
            filters: vec![(filter("b"), QoS::ExactlyOnce)]
        })
    );
    let again = subscribe_of(&sent[1]);
    assert_eq!(again.filters, [(filter("a"), QoS::AtLeastOnce)]);
    assert_ne!(again.pid, pending);
    let again = again.pid;
    s.suback(pending, vec![granted(QoS::ExactlyOnce)]);
    s.suback(again, vec![granted(QoS::AtLeastOnce)]);
    assert_eq!(
        s.events(),
        [
            Event::Subscribed {
                id: pending,
                outcomes: vec![SubscribeOutcome::Granted(QoS::ExactlyOnce)]
            },
            Event::Resubscribed {
                filters: vec![(filter("a"), SubscribeOutcome::Granted(QoS::AtLeastOnce))]
            }
        ]
    );
}

#[test]
fn an_offline_subscribe_is_sent_once_on_the_first_connection() {
    let mut s = Script::new(options());
    let id = s
        .conn
        .subscribe(vec![(filter("a"), QoS::AtLeastOnce)])
        .unwrap();
    assert_eq!(
        s.open(false),
        [Packet::Subscribe(Subscribe {
            pid: id,
            filters: vec![(filter("a"), QoS::AtLeastOnce)]
        })]
    );
}

#[test]
fn a_resubscribe_unanswered_is_sent_again_with_its_id() {
    let mut s = Script::connected(options());
    s.subscribed(&[("a", QoS::AtLeastOnce)]);
    let _ = s.closed();
    let sent = s.open(false);
    let first = subscribe_of(&sent[0]).clone();
    let _ = s.closed();
    // [MQTT-2.3.1-3] the same request again, once, with its id.
    assert_eq!(s.open(false), [Packet::Subscribe(first.clone())]);
    s.suback(first.pid, vec![granted(QoS::AtLeastOnce)]);
    assert_eq!(
        s.events(),
        [Event::Resubscribed {
            filters: vec![(filter("a"), SubscribeOutcome::Granted(QoS::AtLeastOnce))]
        }]
    );
}

#[test]
fn many_filters_are_resubscribed_in_batches() {
    let mut s = Script::connected(options());
    let filters: Vec<(TopicFilter, QoS)> = (0..300)
        .map(|i| (filter(&format!("f/{i:03}")), QoS::AtLeastOnce))
        .collect();
    let id = s.conn.subscribe(filters.clone()).unwrap();
    let _ = s.sent();
    s.suback(id, vec![granted(QoS::AtLeastOnce); 300]);
    let _ = s.events();
    let _ = s.closed();
    let sent = s.open(false);
    let batches: Vec<&Subscribe> = sent.iter().map(subscribe_of).collect();
    assert_eq!(
        batches.iter().map(|b| b.filters.len()).collect::<Vec<_>>(),
        [256, 44]
    );
    assert_ne!(batches[0].pid, batches[1].pid);
    let all: Vec<(TopicFilter, QoS)> = batches
        .iter()
        .flat_map(|b| b.filters.iter().cloned())
        .collect();
    assert_eq!(all, filters);
    for b in &batches {
        s.suback(b.pid, vec![granted(QoS::AtLeastOnce); b.filters.len()]);
    }
    let events = s.events();
    assert_eq!(events.len(), 2);
    for (event, b) in events.iter().zip(&batches) {
        let Event::Resubscribed { filters } = event else {
            panic!("{event:?}");
        };
        assert_eq!(filters.len(), b.filters.len());
    }
}

#[test]
fn resubscribe_batches_fit_the_maximum_packet_size() {
    let max = 64;
    let mut s = Script::connected(options().max_packet_size(max));
    let names: Vec<String> = (0..20).map(|i| format!("topic/{i:02}")).collect();
    for name in &names {
        s.subscribed(&[(name.as_str(), QoS::AtMostOnce)]);
    }
    let _ = s.closed();
    s.connect();
    s.connack(false, ConnectReturnCode::Accepted);
    let mut wire = BytesMut::new();
    while let Some(chunk) = s.conn.poll_transmit(s.now) {
        wire.extend_from_slice(&chunk);
    }
    let mut seen = Vec::new();
    let mut batches = 0;
    while !wire.is_empty() {
        let before = wire.len();
        let p = packet::decode(&mut wire, usize::MAX).unwrap().unwrap();
        assert!(before - wire.len() <= max, "{} bytes", before - wire.len());
        seen.extend(subscribe_of(&p).filters.iter().map(|(f, _)| f.to_string()));
        batches += 1;
    }
    assert!(batches > 1, "one batch could not fit {max} bytes");
    assert_eq!(seen, names);
}

#[test]
fn the_latest_qos_asked_for_a_filter_wins() {
    // [MQTT-3.8.4-3] a SUBSCRIBE for a filter held replaces it.
    let mut s = Script::connected(options());
    s.subscribed(&[("a", QoS::AtMostOnce), ("b", QoS::AtMostOnce)]);
    s.subscribed(&[("a", QoS::ExactlyOnce)]);
    assert_eq!(
        s.subscriptions(),
        [
            (filter("a"), QoS::ExactlyOnce),
            (filter("b"), QoS::AtMostOnce)
        ]
    );
    let _ = s.closed();
    let sent = s.open(false);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        subscribe_of(&sent[0]).filters,
        [
            (filter("a"), QoS::ExactlyOnce),
            (filter("b"), QoS::AtMostOnce)
        ]
    );
}

#[test]
fn resubscribing_can_be_turned_off() {
    let mut s = Script::connected(options().resubscribe(false));
    s.subscribed(&[("a", QoS::AtLeastOnce)]);
    let _ = s.closed();
    assert_eq!(s.accept(false), []);
    assert_eq!(
        s.events(),
        [Event::Connected {
            session_present: false
        }]
    );
    // The session still reports what it was asked to hold.
    assert_eq!(s.subscriptions(), [(filter("a"), QoS::AtLeastOnce)]);
}

// ---- graceful close ------------------------------------------------------------

#[test]
fn a_drained_close_waits_for_puback_and_pubcomp_then_disconnects() {
    // [MQTT-3.14.4-1] the core ends the connection once DISCONNECT left;
    // [MQTT-3.14.4-2] nothing is sent after it. [MQTT-4.3.3-1] the QoS 2
    // exchange completes (PUBREL, PUBCOMP) during the drain.
    let mut s = Script::new(reconnecting(1));
    s.conn.start(s.now);
    assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);
    assert!(s.open(false).is_empty());
    let one = s.conn.publish(msg("t", "1", QoS::AtLeastOnce)).unwrap();
    let two = s.conn.publish(msg("t", "2", QoS::ExactlyOnce)).unwrap();
    let sent = s.sent();
    let (p1, p2) = (
        publish_of(&sent[0]).pid().unwrap(),
        publish_of(&sent[1]).pid().unwrap(),
    );
    s.conn.disconnect(s.now, Duration::from_secs(5));
    assert!(s.conn.is_closing());
    assert_eq!(s.sent(), []);
    assert_eq!(s.conn.poll_timeout(), Some(s.now + Duration::from_secs(5)));

    s.advance(Duration::from_millis(10));
    s.broker(Packet::PubAck(PubAck::new(p1)));
    assert_eq!(s.sent(), [], "PUBCOMP still awaited");
    assert_eq!(s.events(), [Event::Published { id: one }]);
    s.broker(Packet::PubRec(PubRec::new(p2)));
    assert_eq!(s.sent(), [Packet::PubRel(PubRel::new(p2))]);
    s.broker(Packet::PubComp(PubComp::new(p2)));
    assert_eq!(s.sent(), [Packet::Disconnect]);
    assert_eq!(
        s.events(),
        [
            Event::Published { id: two },
            Event::Disconnected {
                reason: DisconnectReason::Requested
            }
        ]
    );
    assert!(!s.conn.is_closing());
    assert_eq!(s.conn.state(), State::Disconnected);
    assert_eq!(s.conn.poll_timeout(), None, "no reconnect after a close");
    assert_eq!(s.sent(), []);
}

#[test]
fn the_drain_deadline_disconnects_anyway_and_the_session_keeps_the_message() {
    // [MQTT-4.1.0-1] [MQTT-4.4.0-1] the unacknowledged message stays in the
    // session and is sent again, DUP 1 and same id, when it resumes.
    let mut s = Script::connected(options().clean_session(false));
    let id = s.conn.publish(msg("t", "1", QoS::AtLeastOnce)).unwrap();
    let sent = s.sent();
    let p = publish_of(&sent[0]).pid().unwrap();
    let deadline = s.now + Duration::from_secs(2);
    s.conn.disconnect(s.now, Duration::from_secs(2));
    assert_eq!(s.conn.poll_timeout(), Some(deadline));
    assert_eq!(s.timeout_at(just_before(deadline)), []);
    assert_eq!(s.sent(), []);
    assert_eq!(s.timeout_at(deadline), []);
    assert_eq!(s.sent(), [Packet::Disconnect]);
    assert_eq!(
        s.events(),
        [Event::Disconnected {
            reason: DisconnectReason::Requested
        }]
    );
    assert_eq!(s.conn.inflight(), 1);

    let sent = s.open(true);
    let again = publish_of(&sent[0]);
    assert!(again.dup);
    assert_eq!(again.pid(), Some(p));
    s.broker(Packet::PubAck(PubAck::new(p)));
    assert_eq!(s.events(), [Event::Published { id }]);
}

#[test]
fn commands_while_closing_are_refused() {
    let mut s = Script::connected(options());
    s.conn.publish(msg("t", "1", QoS::AtLeastOnce)).unwrap();
    let sent = s.sent();
    s.conn.disconnect(s.now, Duration::from_secs(5));
    assert_eq!(
        s.conn.publish(msg("t", "2", QoS::AtMostOnce)),
        Err(PublishError::Closing)
    );
    assert_eq!(
        s.conn.subscribe(vec![(filter("a"), QoS::AtMostOnce)]),
        Err(SubscribeError::Closing)
    );
    assert_eq!(
        s.conn.unsubscribe(vec![filter("a")]),
        Err(SubscribeError::Closing)
    );
    assert_eq!(s.sent(), []);
    assert_eq!(s.subscriptions(), []);
    assert_eq!(s.conn.pending_requests(), 0);
    s.broker(Packet::PubAck(PubAck::new(
        publish_of(&sent[0]).pid().unwrap(),
    )));
    assert_eq!(s.sent(), [Packet::Disconnect]);
    // Once the close is over, commands are taken again (and queued).
    assert!(!s.conn.is_closing());
    assert!(s.conn.publish(msg("t", "3", QoS::AtMostOnce)).is_ok());
    assert!(s
        .conn
        .subscribe(vec![(filter("a"), QoS::AtMostOnce)])
        .is_ok());
}

#[test]
fn a_close_with_a_qos0_message_still_unsent_does_not_wait_for_the_deadline() {
    // QoS 0 completes when handed out; DISCONNECT follows it on the wire
    // [MQTT-3.14.4-2], without waiting out the drain time.
    let mut s = Script::connected(options());
    let id = s.conn.publish(msg("t", "fire", QoS::AtMostOnce)).unwrap();
    s.conn.disconnect(s.now, Duration::from_secs(5));
    let sent = s.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(publish_of(&sent[0]).payload, "fire");
    assert_eq!(sent[1], Packet::Disconnect);
    assert_eq!(
        s.events(),
        [
            Event::Published { id },
            Event::Disconnected {
                reason: DisconnectReason::Requested
            }
        ]
    );

    // A QoS 0 message queued behind the window is drained too, ahead of
    // DISCONNECT.
    let mut s = Script::connected(options().max_inflight(1));
    let a = s.conn.publish(msg("t", "a", QoS::AtLeastOnce)).unwrap();
    let b = s.conn.publish(msg("t", "b", QoS::AtLeastOnce)).unwrap();
    let c = s.conn.publish(msg("t", "c", QoS::AtMostOnce)).unwrap();
    let sent = s.sent();
    assert_eq!(sent.len(), 1);
    s.conn.disconnect(s.now, Duration::from_secs(5));
    s.broker(Packet::PubAck(PubAck::new(
        publish_of(&sent[0]).pid().unwrap(),
    )));
    let sent = s.sent();
    let payloads: Vec<&[u8]> = sent
        .iter()
        .map(|p| publish_of(p).payload.as_ref())
        .collect();
    assert_eq!(payloads, [&b"b"[..], &b"c"[..]]);
    assert_eq!(
        s.events(),
        [Event::Published { id: a }, Event::Published { id: c }]
    );
    s.broker(Packet::PubAck(PubAck::new(
        publish_of(&sent[0]).pid().unwrap(),
    )));
    assert_eq!(s.sent(), [Packet::Disconnect]);
    assert_eq!(
        s.events(),
        [
            Event::Published { id: b },
            Event::Disconnected {
                reason: DisconnectReason::Requested
            }
        ]
    );
}

#[test]
fn disconnect_while_opening_or_connecting_is_immediate() {
    let mut s = Script::new(reconnecting(2));
    s.conn.start(s.now);
    assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);
    s.conn.disconnect(s.now, Duration::from_secs(5));
    assert_eq!(
        s.events(),
        [Event::Disconnected {
            reason: DisconnectReason::Requested
        }]
    );
    assert_eq!(s.conn.state(), State::Disconnected);
    assert_eq!(s.conn.poll_timeout(), None);
    assert!(!s.conn.is_closing());
    assert_eq!(s.closed(), []);

    s.conn.start(s.now);
    assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);
    s.connect();
    s.conn.disconnect(s.now, Duration::from_secs(5));
    assert_eq!(
        s.events(),
        [Event::Disconnected {
            reason: DisconnectReason::Requested
        }]
    );
    assert_eq!(s.sent(), [], "no DISCONNECT before CONNACK");
    assert_eq!(s.conn.poll_timeout(), None);
    assert_eq!(s.timeout_at(Instant::from_millis(3_600_000)), []);
}

#[test]
fn disconnect_while_waiting_to_reconnect_cancels_the_reconnect() {
    let mut s = Script::new(reconnecting(1));
    s.conn.start(s.now);
    assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);
    scheduled(&s.closed(), DisconnectReason::TransportClosed);
    assert!(s.conn.poll_timeout().is_some());
    s.conn.disconnect(s.now, Duration::from_secs(5));
    assert_eq!(
        s.events(),
        [Event::Disconnected {
            reason: DisconnectReason::Requested
        }]
    );
    assert_eq!(s.conn.poll_timeout(), None);
    assert_eq!(s.timeout_at(Instant::from_millis(3_600_000)), []);
    assert_eq!(s.conn.state(), State::Disconnected);
}

#[test]
fn a_transport_dying_during_the_drain_ends_the_close() {
    let mut s = Script::new(reconnecting(1));
    s.conn.start(s.now);
    assert_eq!(s.events(), [Event::OpenTransport { server: 0 }]);
    assert!(s.open(false).is_empty());
    s.conn.publish(msg("t", "1", QoS::AtLeastOnce)).unwrap();
    let _ = s.sent();
    s.conn.disconnect(s.now, Duration::from_secs(5));
    assert_eq!(
        s.closed(),
        [Event::Disconnected {
            reason: DisconnectReason::TransportClosed
        }]
    );
    assert!(!s.conn.is_closing());
    assert_eq!(s.conn.poll_timeout(), None, "no reconnect");
    assert_eq!(s.conn.inflight(), 1, "the session keeps the message");
    assert_eq!(s.timeout_at(Instant::from_millis(3_600_000)), []);
}

// ---- lost session --------------------------------------------------------------

/// A persistent session, connected once, with a QoS 1 and a QoS 2 message
/// handed out and unacknowledged, and a QoS 2 message PUBREC'd (PUBREL
/// sent); the transport then died.
fn lost_with_messages_in_flight(policy: SessionLostPolicy) -> (Script, [PublishId; 3], [u16; 3]) {
    let mut s = Script::connected(options().clean_session(false).session_lost(policy));
    let a = s.conn.publish(msg("t", "a", QoS::AtLeastOnce)).unwrap();
    let b = s.conn.publish(msg("t", "b", QoS::ExactlyOnce)).unwrap();
    let c = s.conn.publish(msg("t", "c", QoS::ExactlyOnce)).unwrap();
    let sent = s.sent();
    let pids: Vec<u16> = sent
        .iter()
        .map(|p| publish_of(p).pid().unwrap().get())
        .collect();
    s.broker(Packet::PubRec(PubRec::new(pid(pids[2]))));
    assert_eq!(s.sent(), [Packet::PubRel(PubRel::new(pid(pids[2])))]);
    assert_eq!(
        s.closed(),
        [Event::Disconnected {
            reason: DisconnectReason::TransportClosed
        }]
    );
    (s, [a, b, c], [pids[0], pids[1], pids[2]])
}

#[test]
fn a_lost_session_resends_handed_out_messages_as_new() {
    // [MQTT-3.2.2-2] session present 0: the broker has none of them, not
    // even the PUBREC'd one (a broker that passes a QoS 2 message on only
    // at PUBREL lost it with the session). [MQTT-4.3.2-1] [MQTT-4.3.3-1]
    // all three are sent as new messages: unused ids, DUP 0, in publish
    // order, and complete only when their new exchanges do.
    let (mut s, [a, b, c], old) = lost_with_messages_in_flight(SessionLostPolicy::ResendAsNew);
    let sent = s.accept(false);
    assert_eq!(
        s.events(),
        [
            Event::Connected {
                session_present: false
            },
            Event::SessionLost {
                resent: vec![a, b, c],
                failed: vec![]
            }
        ]
    );
    assert_eq!(sent.len(), 3, "{sent:?}");
    let p: Vec<&Publish> = sent.iter().map(publish_of).collect();
    let payloads: Vec<&[u8]> = p.iter().map(|p| p.payload.as_ref()).collect();
    assert_eq!(payloads, [&b"a"[..], &b"b"[..], &b"c"[..]]);
    assert!(p.iter().all(|p| !p.dup));
    let qos: Vec<QoS> = p.iter().map(|p| p.qos_pid.qos()).collect();
    assert_eq!(qos, [QoS::AtLeastOnce, QoS::ExactlyOnce, QoS::ExactlyOnce]);
    let new: Vec<PacketId> = p.iter().map(|p| p.pid().unwrap()).collect();
    for (i, n) in new.iter().enumerate() {
        assert!(!old.contains(&n.get()), "id {n} of the lost session reused");
        assert!(!new[..i].contains(n), "id {n} twice");
    }

    s.broker(Packet::PubAck(PubAck::new(new[0])));
    for &n in &new[1..] {
        s.broker(Packet::PubRec(PubRec::new(n)));
        assert_eq!(s.sent(), [Packet::PubRel(PubRel::new(n))]);
        s.broker(Packet::PubComp(PubComp::new(n)));
    }
    assert_eq!(
        s.events(),
        [
            Event::Published { id: a },
            Event::Published { id: b },
            Event::Published { id: c }
        ]
    );
    assert_eq!(s.conn.inflight(), 0);
}

#[test]
fn the_fail_policy_gives_up_qos2_messages_that_may_have_arrived() {
    // Exactly once cannot be kept for "b" and "c" [MQTT-4.3.3-1]: the
    // broker may have passed them on, or lost them with the session
    // ("c" was PUBREC'd). They are given up, never published again and
    // never reported as Published. QoS 1 "a" is sent again as new all the
    // same (at least once allows a copy).
    let (mut s, [a, b, c], _) = lost_with_messages_in_flight(SessionLostPolicy::Fail);
    let sent = s.accept(false);
    assert_eq!(
        s.events(),
        [
            Event::Connected {
                session_present: false
            },
            Event::SessionLost {
                resent: vec![a],
                failed: vec![b, c]
            }
        ]
    );
    assert_eq!(sent.len(), 1, "{sent:?}");
    let pa = publish_of(&sent[0]);
    assert_eq!(pa.payload, "a");
    assert!(!pa.dup);
    s.broker(Packet::PubAck(PubAck::new(pa.pid().unwrap())));
    assert_eq!(s.events(), [Event::Published { id: a }]);
    assert_eq!(s.conn.inflight(), 0);
    assert_eq!(s.conn.queued(), 0);
    assert_eq!(s.conn.packet_ids_in_use(), 0);
    let _ = s.closed();
    assert_eq!(s.accept(true), []);
    assert_eq!(
        s.events(),
        [Event::Connected {
            session_present: true
        }]
    );
}

#[test]
fn a_qos2_message_never_handed_out_is_neither_resent_nor_failed() {
    let mut s = Script::connected(
        options()
            .clean_session(false)
            .max_inflight(2)
            .session_lost(SessionLostPolicy::Fail),
    );
    let a = s.conn.publish(msg("t", "a", QoS::AtLeastOnce)).unwrap();
    let sent = s.sent();
    assert_eq!(sent.len(), 1);
    // "b" is encoded but its bytes never leave: the transport dies first.
    let b = s.conn.publish(msg("t", "b", QoS::ExactlyOnce)).unwrap();
    // "c" waits behind the full window.
    let c = s.conn.publish(msg("t", "c", QoS::ExactlyOnce)).unwrap();
    assert_eq!(s.conn.inflight(), 2);
    assert_eq!(s.conn.queued(), 1);
    let _ = s.closed();

    let sent = s.accept(false);
    assert_eq!(
        s.events(),
        [
            Event::Connected {
                session_present: false
            },
            Event::SessionLost {
                resent: vec![a],
                failed: vec![]
            }
        ]
    );
    let payloads: Vec<&[u8]> = sent
        .iter()
        .map(|p| publish_of(p).payload.as_ref())
        .collect();
    assert_eq!(payloads, [&b"a"[..], &b"b"[..]]);
    assert!(sent.iter().all(|p| !publish_of(p).dup));
    let pb = publish_of(&sent[1]).pid().unwrap();
    s.broker(Packet::PubRec(PubRec::new(pb)));
    s.broker(Packet::PubComp(PubComp::new(pb)));
    let sent = s.sent();
    assert_eq!(sent[0], Packet::PubRel(PubRel::new(pb)));
    assert_eq!(publish_of(&sent[1]).payload, "c");
    assert_eq!(s.events(), [Event::Published { id: b }]);
    let pc = publish_of(&sent[1]).pid().unwrap();
    s.broker(Packet::PubRec(PubRec::new(pc)));
    s.broker(Packet::PubComp(PubComp::new(pc)));
    assert_eq!(s.events(), [Event::Published { id: c }]);
}

#[test]
fn a_persistent_session_lost_with_nothing_in_flight_is_still_reported() {
    // [MQTT-3.1.2-4] a CleanSession 0 client expects its session back;
    // [MQTT-3.2.2-2] session present 0 says it is gone.
    let mut s = Script::new(options().clean_session(false));
    // The first connection expected nothing.
    assert_eq!(s.accept(false), []);
    assert_eq!(
        s.events(),
        [Event::Connected {
            session_present: false
        }]
    );
    let _ = s.closed();
    assert_eq!(s.accept(false), []);
    assert_eq!(
        s.events(),
        [
            Event::Connected {
                session_present: false
            },
            Event::SessionLost {
                resent: vec![],
                failed: vec![]
            }
        ]
    );
    // Resumed, it is not lost.
    let _ = s.closed();
    assert_eq!(s.accept(true), []);
    assert_eq!(
        s.events(),
        [Event::Connected {
            session_present: true
        }]
    );
}

#[test]
fn a_clean_session_with_nothing_in_flight_reports_no_loss() {
    // [MQTT-3.1.2-6] a clean session starts afresh every time: nothing was
    // expected, nothing is lost.
    let mut s = Script::connected(options());
    let _ = s.closed();
    assert_eq!(s.accept(false), []);
    assert_eq!(
        s.events(),
        [Event::Connected {
            session_present: false
        }]
    );
}

#[test]
fn a_message_sent_again_as_new_keeps_its_topic_qos_and_retain() {
    // A message sent again as new keeps its QoS and topic; only the id and
    // DUP change.
    let mut s = Script::connected(options());
    s.conn
        .publish(msg("a/b", "x", QoS::ExactlyOnce).retained(true))
        .unwrap();
    let first = publish_of(&s.sent()[0]).clone();
    let _ = s.closed();
    let sent = s.open(false);
    let again = publish_of(&sent[0]);
    assert_eq!(again.topic, first.topic);
    assert_eq!(again.payload, first.payload);
    assert!(again.retain);
    assert!(matches!(again.qos_pid, QosPid::ExactlyOnce(p) if Some(p) != first.pid()));
}

// ---- MQTT 3.1 ------------------------------------------------------------------

#[test]
fn mqtt_v31_resumes_a_persistent_session_and_subscribes_again() {
    // MQTT 3.1's CONNACK has no Session Present flag: with clean session 0
    // the session is taken to be resumed, so the messages in flight go out
    // again with their ids and DUP 1 [MQTT-4.4.0-1] [MQTT-3.3.1-1] (as new
    // ones, a QoS 2 message would reach subscribers twice), and the
    // filters are subscribed again, since nothing says whether the broker
    // kept them.
    let v31 = options().protocol(Protocol::V31).clean_session(false);
    let mut s = Script::new(v31.session_lost(SessionLostPolicy::ResendAsNew));
    // Even the first connection: the broker may hold a session for the id.
    s.open(true);
    s.subscribed(&[("a/b", QoS::ExactlyOnce)]);
    let id = s.conn.publish(msg("t", "x", QoS::ExactlyOnce)).unwrap();
    let first = s.sent();
    let old = publish_of(&first[0]).pid().unwrap();
    let _ = s.closed();
    let sent = s.accept(false);
    assert_eq!(
        s.events(),
        [Event::Connected {
            session_present: true
        }]
    );
    assert_eq!(sent.len(), 2, "{sent:?}");
    let resent = publish_of(&sent[0]);
    assert_eq!((resent.pid(), resent.dup), (Some(old), true));
    assert_eq!(
        subscribe_of(&sent[1]).filters,
        [(filter("a/b"), QoS::ExactlyOnce)]
    );
    s.broker(Packet::PubRec(PubRec::new(old)));
    assert_eq!(s.sent(), [Packet::PubRel(PubRel::new(old))]);
    s.broker(Packet::PubComp(PubComp::new(old)));
    assert_eq!(s.events(), [Event::Published { id }]);
}

#[test]
fn mqtt_v31_with_a_clean_session_starts_afresh() {
    // Clean session 1 under MQTT 3.1: a new session every time, as with
    // 3.1.1 [MQTT-3.1.2-6].
    let v31 = options().protocol(Protocol::V31).clean_session(true);
    let mut s = Script::connected(v31);
    let _ = s.closed();
    assert_eq!(s.open(false).len(), 0);
}
