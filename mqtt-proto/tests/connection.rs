//! The `Connection` state machine against a scripted broker: each test plays
//! the broker's side packet by packet on a virtual clock and checks what the
//! client sends and reports. Every rule checked cites its statement of MQTT
//! 3.1.1.

use bytes::{Bytes, BytesMut};
use core::time::Duration;
use mqtt_proto::packet::{
    self, ConnAck, ConnectReturnCode, DecodeError, Login, Packet, PacketType, PubAck, PubComp,
    PubRec, PubRel, Publish, QosPid, SubAck, SubscribeReturnCode, UnsubAck,
};
use mqtt_proto::{
    AckError, AckToken, Connection, DisconnectReason, Event, Instant, Message, MqttString, Options,
    OptionsError, PacketId, ProtocolViolation, PublishError, QoS, State, SubscribeError,
    SubscribeOutcome, TopicFilter, TopicName,
};

fn pid(v: u16) -> PacketId {
    PacketId::new(v).unwrap()
}

fn options() -> Options {
    Options::new(MqttString::try_from("test-client").unwrap())
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

    /// Connected with CONNACK(session_present), wire and events drained.
    fn connected(options: Options) -> Self {
        let mut s = Script::new(options);
        s.open(false);
        s
    }

    fn open(&mut self, session_present: bool) -> Vec<Packet> {
        self.conn.connect(self.now);
        let sent = self.sent();
        assert!(matches!(sent.as_slice(), [Packet::Connect(_)]), "{sent:?}");
        self.broker(Packet::ConnAck(ConnAck {
            session_present,
            code: ConnectReturnCode::Accepted,
        }));
        assert_eq!(
            self.events().first(),
            Some(&Event::Connected { session_present })
        );
        self.sent()
    }

    fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
    }

    fn broker(&mut self, p: Packet) {
        let mut b = BytesMut::new();
        p.encode(&mut b).unwrap();
        self.conn.handle_read(self.now, &b);
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

    fn raw_sent(&mut self) -> Vec<u8> {
        let mut wire = Vec::new();
        while let Some(chunk) = self.conn.poll_transmit(self.now) {
            wire.extend_from_slice(&chunk);
        }
        wire
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.conn.poll_event()).collect()
    }

    fn fire_timers(&mut self) {
        if let Some(at) = self.conn.poll_timeout() {
            self.now = self.now.max(at);
            self.conn.handle_timeout(self.now);
        }
    }
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

fn incoming(qos_pid: QosPid, dup: bool, payload: &'static str) -> Packet {
    Packet::Publish(Publish {
        dup,
        qos_pid,
        retain: false,
        topic: TopicName::try_from("in/t").unwrap(),
        payload: Bytes::from_static(payload.as_bytes()),
    })
}

fn violation(events: &[Event]) -> Option<&ProtocolViolation> {
    events.iter().find_map(|e| match e {
        Event::Disconnected {
            reason: DisconnectReason::ProtocolViolation(v),
        } => Some(v),
        _ => None,
    })
}

// ---- connecting --------------------------------------------------------------

#[test]
fn connect_is_the_first_packet_and_carries_the_options() {
    // [MQTT-3.1.0-1] CONNECT first; [MQTT-3.1.3-1] fields in order.
    let login = Login {
        username: MqttString::try_from("u").unwrap(),
        password: Some(Bytes::from_static(b"p")),
    };
    let mut s = Script::new(
        options()
            .clean_session(false)
            .keep_alive(Duration::from_secs(17))
            .login(login.clone()),
    );
    // Commands made before connecting do not jump ahead of CONNECT.
    s.conn.publish(msg("t", "early", QoS::AtMostOnce)).unwrap();
    s.conn
        .subscribe(vec![(
            TopicFilter::try_from("a/#").unwrap(),
            QoS::AtLeastOnce,
        )])
        .unwrap();
    assert!(
        s.sent().is_empty(),
        "nothing is sent before a transport exists"
    );
    s.conn.connect(s.now);
    let sent = s.sent();
    let [Packet::Connect(c)] = sent.as_slice() else {
        panic!("{sent:?}");
    };
    assert_eq!(c.client_id, "test-client");
    assert!(!c.clean_session);
    assert_eq!(c.keep_alive, 17);
    assert_eq!(c.login.as_ref(), Some(&login));
    assert_eq!(s.conn.state(), State::Connecting);
}

#[test]
fn empty_client_id_needs_clean_session() {
    // [MQTT-3.1.3-7]
    let o = Options::new(MqttString::new()).clean_session(false);
    assert_eq!(
        Connection::new(o).err(),
        Some(OptionsError::EmptyClientIdNeedsCleanSession)
    );
    assert!(Connection::new(Options::new(MqttString::new())).is_ok());
}

#[test]
fn only_connack_is_accepted_first() {
    let mut s = Script::new(options());
    s.conn.connect(s.now);
    let _ = s.sent();
    s.broker(Packet::PingResp);
    assert_eq!(
        violation(&s.events()),
        Some(&ProtocolViolation::UnexpectedPacket(PacketType::PingResp))
    );
    assert_eq!(s.conn.state(), State::Disconnected);
}

#[test]
fn every_refusal_code_is_typed() {
    // Section 3.2.2.3.
    for code in [
        ConnectReturnCode::UnacceptableProtocolVersion,
        ConnectReturnCode::IdentifierRejected,
        ConnectReturnCode::ServerUnavailable,
        ConnectReturnCode::BadUsernameOrPassword,
        ConnectReturnCode::NotAuthorized,
    ] {
        let mut s = Script::new(options());
        s.conn.connect(s.now);
        let _ = s.sent();
        s.broker(Packet::ConnAck(ConnAck {
            session_present: false,
            code,
        }));
        assert_eq!(
            s.events(),
            vec![Event::Disconnected {
                reason: DisconnectReason::Refused(code)
            }]
        );
        assert!(s.sent().is_empty());
    }
}

#[test]
fn connack_timeout() {
    let mut s = Script::new(options().connect_timeout(Duration::from_secs(5)));
    s.conn.connect(s.now);
    let _ = s.sent();
    assert_eq!(s.conn.poll_timeout(), Some(Instant::from_millis(5_000)));
    s.conn.handle_timeout(Instant::from_millis(4_999));
    assert!(s.events().is_empty(), "early timeout calls are no-ops");
    s.fire_timers();
    assert_eq!(
        s.events(),
        vec![Event::Disconnected {
            reason: DisconnectReason::ConnAckTimeout
        }]
    );
    assert_eq!(s.conn.poll_timeout(), None);
}

#[test]
fn second_connack_is_a_violation() {
    let mut s = Script::connected(options());
    s.broker(Packet::ConnAck(ConnAck {
        session_present: false,
        code: ConnectReturnCode::Accepted,
    }));
    assert_eq!(
        violation(&s.events()),
        Some(&ProtocolViolation::DuplicateConnAck)
    );
}

#[test]
fn session_present_on_clean_session_is_a_violation() {
    // [MQTT-3.2.2-1]
    let mut s = Script::new(options());
    s.conn.connect(s.now);
    let _ = s.sent();
    s.broker(Packet::ConnAck(ConnAck {
        session_present: true,
        code: ConnectReturnCode::Accepted,
    }));
    assert_eq!(
        violation(&s.events()),
        Some(&ProtocolViolation::SessionPresentOnCleanSession)
    );
}

#[test]
fn packets_a_server_never_sends_are_violations() {
    for p in [
        Packet::PingReq,
        Packet::Disconnect,
        Packet::Subscribe(packet::Subscribe {
            pid: pid(1),
            filters: vec![(TopicFilter::try_from("a").unwrap(), QoS::AtMostOnce)],
        }),
    ] {
        let ty = p.packet_type();
        let mut s = Script::connected(options());
        s.broker(p);
        assert_eq!(
            violation(&s.events()),
            Some(&ProtocolViolation::UnexpectedPacket(ty))
        );
    }
}

// ---- keep-alive --------------------------------------------------------------

#[test]
fn pingreq_only_after_a_quiet_keep_alive_period() {
    // [MQTT-3.1.2-23]
    let k = Duration::from_secs(10);
    let mut s = Script::connected(options().keep_alive(k));
    assert_eq!(s.conn.poll_timeout(), Some(s.now + k));
    // Sending something at 6 s pushes the ping back, as long as the broker
    // answers too.
    s.advance(Duration::from_secs(6));
    s.conn.publish(msg("t", "x", QoS::AtLeastOnce)).unwrap();
    let _ = s.sent();
    s.broker(Packet::PubAck(PubAck::new(pid(1))));
    let _ = s.events();
    assert_eq!(s.conn.poll_timeout(), Some(Instant::from_millis(16_000)));
    s.conn.handle_timeout(Instant::from_millis(15_000));
    assert!(s.sent().is_empty(), "no PINGREQ before the period is over");
    s.fire_timers();
    assert_eq!(s.now, Instant::from_millis(16_000));
    assert_eq!(s.sent(), vec![Packet::PingReq]);
    // The answer re-arms keep-alive, counted from the PINGREQ just sent.
    s.advance(Duration::from_secs(1));
    s.broker(Packet::PingResp);
    assert_eq!(s.conn.poll_timeout(), Some(Instant::from_millis(26_000)));
    assert!(s.events().is_empty());
}

#[test]
fn pingreq_when_the_broker_is_silent_even_while_sending() {
    // Sending QoS 0 all the time never lets the send-side period lapse, but
    // a broker that says nothing for a period is pinged all the same, so a
    // dead broker is noticed.
    let k = Duration::from_secs(10);
    let mut s = Script::connected(options().keep_alive(k));
    for _ in 0..10 {
        s.advance(Duration::from_secs(1));
        s.conn.publish(msg("t", "x", QoS::AtMostOnce)).unwrap();
        let _ = s.sent();
    }
    s.fire_timers();
    assert_eq!(s.sent(), vec![Packet::PingReq]);
}

#[test]
fn no_answer_to_pingreq_loses_the_connection_within_one_and_a_half_periods() {
    let k = Duration::from_secs(10);
    let mut s = Script::connected(options().keep_alive(k));
    s.fire_timers();
    assert_eq!(s.sent(), vec![Packet::PingReq]);
    s.fire_timers();
    assert_eq!(
        s.now,
        Instant::from_millis(15_000),
        "ping timeout defaults to half the period"
    );
    assert_eq!(
        s.events(),
        vec![Event::Disconnected {
            reason: DisconnectReason::KeepAliveTimeout
        }]
    );
}

#[test]
fn any_packet_counts_as_an_answer_to_pingreq() {
    let mut s = Script::connected(
        options()
            .keep_alive(Duration::from_secs(10))
            .ping_timeout(Duration::from_secs(3)),
    );
    s.fire_timers();
    assert_eq!(s.sent(), vec![Packet::PingReq]);
    s.advance(Duration::from_secs(2));
    s.broker(incoming(QosPid::AtMostOnce, false, "alive"));
    s.advance(Duration::from_secs(2));
    s.conn.handle_timeout(s.now);
    assert!(
        !s.events()
            .iter()
            .any(|e| matches!(e, Event::Disconnected { .. })),
        "a PUBLISH proves the broker alive"
    );
    // The late PINGRESP is fine.
    s.broker(Packet::PingResp);
    assert!(s.events().is_empty());
}

#[test]
fn keep_alive_zero_turns_it_off() {
    let mut s = Script::connected(options().keep_alive(Duration::ZERO));
    assert_eq!(s.conn.poll_timeout(), None);
    s.advance(Duration::from_secs(100_000));
    s.conn.handle_timeout(s.now);
    assert!(s.sent().is_empty());
}

// ---- publishing --------------------------------------------------------------

#[test]
fn qos0_completes_when_handed_to_the_transport() {
    // [MQTT-4.3.1-1] QoS 0, DUP 0, sent once; [MQTT-2.3.1-5] no packet id.
    let mut s = Script::connected(options());
    let id = s.conn.publish(msg("t", "x", QoS::AtMostOnce)).unwrap();
    assert!(s.events().is_empty(), "not complete before poll_transmit");
    let sent = s.sent();
    let p = publish_of(&sent[0]);
    assert_eq!((p.dup, p.qos_pid), (false, QosPid::AtMostOnce));
    assert_eq!(s.events(), vec![Event::Published { id }]);
}

#[test]
fn qos1_flow() {
    // [MQTT-4.3.2-1] new id, QoS 1, DUP 0, unacknowledged until PUBACK.
    let mut s = Script::connected(options());
    let id = s
        .conn
        .publish(msg("t", "x", QoS::AtLeastOnce).retained(true))
        .unwrap();
    let sent = s.sent();
    let p = publish_of(&sent[0]);
    assert!(!p.dup && p.retain);
    let QosPid::AtLeastOnce(packet_id) = p.qos_pid else {
        panic!("{p:?}")
    };
    assert_eq!(s.conn.inflight(), 1);
    assert!(s.events().is_empty());
    s.broker(Packet::PubAck(PubAck::new(packet_id)));
    assert_eq!(s.events(), vec![Event::Published { id }]);
    assert_eq!(s.conn.inflight(), 0);
    assert_eq!(
        s.conn.packet_ids_in_use(),
        0,
        "[MQTT-2.3.1-3] id free after PUBACK"
    );
}

#[test]
fn qos2_flow() {
    // [MQTT-4.3.3-1] PUBLISH, PUBREC -> PUBREL (same id, 0x62
    // [MQTT-3.6.1-1]), PUBCOMP completes.
    let mut s = Script::connected(options());
    let id = s.conn.publish(msg("t", "x", QoS::ExactlyOnce)).unwrap();
    let sent = s.sent();
    let QosPid::ExactlyOnce(packet_id) = publish_of(&sent[0]).qos_pid else {
        panic!()
    };
    s.broker(Packet::PubRec(PubRec::new(packet_id)));
    let raw = s.raw_sent();
    assert_eq!(raw, vec![0x62, 2, 0, packet_id.get() as u8]);
    assert!(s.events().is_empty());
    s.broker(Packet::PubComp(PubComp::new(packet_id)));
    assert_eq!(s.events(), vec![Event::Published { id }]);
    assert_eq!(s.conn.packet_ids_in_use(), 0);
}

#[test]
fn acks_for_unknown_ids_are_violations() {
    for p in [
        Packet::PubAck(PubAck::new(pid(9))),
        Packet::PubRec(PubRec::new(pid(9))),
        Packet::PubComp(PubComp::new(pid(9))),
        Packet::UnsubAck(UnsubAck::new(pid(9))),
        Packet::SubAck(SubAck {
            pid: pid(9),
            return_codes: vec![SubscribeReturnCode::Failure],
        }),
    ] {
        let ty = p.packet_type();
        let mut s = Script::connected(options());
        s.broker(p);
        assert_eq!(
            violation(&s.events()),
            Some(&ProtocolViolation::UnknownPacketId {
                packet_type: ty,
                pid: pid(9)
            })
        );
    }
    // A PUBACK for a QoS 2 message is just as wrong.
    let mut s = Script::connected(options());
    s.conn.publish(msg("t", "x", QoS::ExactlyOnce)).unwrap();
    let _ = s.sent();
    s.broker(Packet::PubAck(PubAck::new(pid(1))));
    assert!(violation(&s.events()).is_some());
}

#[test]
fn inflight_window_and_bounded_queue() {
    let mut s = Script::connected(options().max_inflight(2).max_queued(2));
    let ids: Vec<_> = (0..4)
        .map(|_| s.conn.publish(msg("t", "x", QoS::AtLeastOnce)).unwrap())
        .collect();
    assert_eq!(s.sent().len(), 2, "only the window goes out");
    assert_eq!((s.conn.inflight(), s.conn.queued()), (2, 2));
    // The queue is full: a clear error, nothing dropped, and said in advance.
    assert!(!s.conn.can_publish(QoS::AtMostOnce));
    assert_eq!(
        s.conn.publish(msg("t", "x", QoS::AtLeastOnce)),
        Err(PublishError::QueueFull)
    );
    assert_eq!(s.conn.queued(), 2);
    // An ack frees the window; the queue moves up and says it has room.
    s.broker(Packet::PubAck(PubAck::new(pid(1))));
    assert_eq!(
        s.events(),
        vec![Event::Published { id: ids[0] }, Event::QueueReady]
    );
    let sent = s.sent();
    assert_eq!(publish_of(&sent[0]).qos_pid, QosPid::AtLeastOnce(pid(3)));
    assert!(s.conn.can_publish(QoS::AtLeastOnce));
}

#[test]
fn a_full_window_refills_a_quarter_at_a_time_in_order() {
    // Window 8: once full, queued messages wait for 2 free slots, then
    // leave together, in order, with fresh ids and DUP 0 [MQTT-4.3.2-1].
    let mut s = Script::connected(options().max_inflight(8).max_queued(100));
    for _ in 0..12 {
        s.conn.publish(msg("t", "x", QoS::AtLeastOnce)).unwrap();
    }
    assert_eq!(s.sent().len(), 8);
    s.broker(Packet::PubAck(PubAck::new(pid(1))));
    assert!(
        s.sent().is_empty(),
        "one free slot of eight waits for a second"
    );
    s.broker(Packet::PubAck(PubAck::new(pid(2))));
    let sent = s.sent();
    let ids: Vec<_> = sent.iter().map(|p| publish_of(p).qos_pid).collect();
    assert_eq!(
        ids,
        vec![QosPid::AtLeastOnce(pid(9)), QosPid::AtLeastOnce(pid(10))]
    );
    assert!(sent.iter().all(|p| !publish_of(p).dup));
    // Below a full window, a new message goes out at once.
    for n in 3..=10 {
        s.broker(Packet::PubAck(PubAck::new(pid(n))));
    }
    let _ = s.sent();
    assert_eq!((s.conn.inflight(), s.conn.queued()), (2, 0));
    s.conn.publish(msg("t", "x", QoS::AtLeastOnce)).unwrap();
    assert_eq!(s.sent().len(), 1);
}

#[test]
fn too_large_publish_is_refused_without_closing() {
    let mut s = Script::connected(options().max_packet_size(100));
    let big = Message::new("t", vec![0u8; 200], QoS::AtMostOnce).unwrap();
    assert!(matches!(
        s.conn.publish(big),
        Err(PublishError::TooLarge { max: 100, .. })
    ));
    assert!(s.conn.is_connected());
}

#[test]
fn offline_publishes_are_sent_after_connack() {
    let mut s = Script::new(options());
    let a = s.conn.publish(msg("t", "a", QoS::AtMostOnce)).unwrap();
    let b = s.conn.publish(msg("t", "b", QoS::AtLeastOnce)).unwrap();
    assert_eq!(s.conn.queued(), 2);
    let sent = s.open(false);
    let payloads: Vec<_> = sent.iter().map(|p| publish_of(p).payload.clone()).collect();
    assert_eq!(
        payloads,
        vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]
    );
    s.broker(Packet::PubAck(PubAck::new(pid(1))));
    assert_eq!(
        s.events(),
        vec![Event::Published { id: a }, Event::Published { id: b }]
    );
}

#[test]
fn packet_ids_are_unique_while_in_flight_whatever_the_window() {
    // [MQTT-2.3.1-2] even with a window larger than what is acked in order.
    let mut s = Script::connected(options().max_inflight(500).max_queued(10_000));
    for _ in 0..2_000 {
        s.conn.publish(msg("t", "x", QoS::AtLeastOnce)).unwrap();
    }
    let mut live = std::collections::BTreeSet::new();
    let mut order = std::collections::VecDeque::new();
    for round in 0..2_000 {
        for p in s.sent() {
            let id = publish_of(&p).pid().unwrap();
            assert!(live.insert(id), "{id} reused while in flight");
            order.push_back(id);
        }
        // Ack out of order: every third from the back.
        let Some(id) = (if round % 3 == 0 {
            order.pop_back()
        } else {
            order.pop_front()
        }) else {
            break;
        };
        live.remove(&id);
        s.broker(Packet::PubAck(PubAck::new(id)));
    }
    assert!(violation(&s.events()).is_none());
}

// ---- sessions across transports ------------------------------------------------

/// Three messages: QoS 1 unacked, QoS 2 PUBREC'd, QoS 2 unacked.
fn session_with_unfinished_messages() -> Script {
    let mut s = Script::connected(options().clean_session(false));
    s.conn.publish(msg("t", "one", QoS::AtLeastOnce)).unwrap();
    s.conn.publish(msg("t", "two", QoS::ExactlyOnce)).unwrap();
    s.conn.publish(msg("t", "three", QoS::ExactlyOnce)).unwrap();
    assert_eq!(s.sent().len(), 3);
    s.broker(Packet::PubRec(PubRec::new(pid(2))));
    assert_eq!(s.sent(), vec![Packet::PubRel(PubRel::new(pid(2)))]);
    s.conn.handle_closed(s.now);
    assert_eq!(
        s.events(),
        vec![Event::Disconnected {
            reason: DisconnectReason::TransportClosed
        }]
    );
    s
}

#[test]
fn resumed_session_resends_with_dup_in_original_order() {
    // [MQTT-3.1.2-4] [MQTT-4.1.0-1] [MQTT-4.1.0-2] with CleanSession 0 the
    // session outlives the transport; [MQTT-3.1.3-2] the same client id finds
    // it again. [MQTT-4.4.0-1] unacked PUBLISH and PUBREL are resent with their
    // original ids; [MQTT-3.3.1-1] DUP 1; [MQTT-4.6.0-1] original order;
    // [MQTT-4.3.3-1] the PUBREC'd message is not published again.
    let mut s = session_with_unfinished_messages();
    s.conn.connect(s.now);
    let connect = s.sent();
    assert!(
        matches!(&connect[..], [Packet::Connect(c)] if c.client_id == "test-client" && !c.clean_session),
        "{connect:?}"
    );
    s.broker(Packet::ConnAck(ConnAck {
        session_present: true,
        code: ConnectReturnCode::Accepted,
    }));
    let _ = s.events();
    let sent = s.sent();
    assert_eq!(sent.len(), 3, "{sent:?}");
    let p1 = publish_of(&sent[0]);
    assert_eq!(
        (p1.dup, p1.qos_pid, &p1.payload[..]),
        (true, QosPid::AtLeastOnce(pid(1)), &b"one"[..])
    );
    assert_eq!(sent[1], Packet::PubRel(PubRel::new(pid(2))));
    let p3 = publish_of(&sent[2]);
    assert_eq!((p3.dup, p3.qos_pid), (true, QosPid::ExactlyOnce(pid(3))));
}

#[test]
fn lost_session_sends_unacknowledged_messages_again_as_new() {
    // [MQTT-3.1.2-6] nothing of the old session is reused: new ids, DUP 0.
    // Every message in flight is sent again, even the PUBREC'd one: the
    // broker had taken ownership of it, but lost its session and may have
    // lost the message with it (nothing is lost; a copy may arrive).
    let mut s = session_with_unfinished_messages();
    s.conn.connect(s.now);
    let _ = s.sent();
    s.broker(Packet::ConnAck(ConnAck {
        session_present: false,
        code: ConnectReturnCode::Accepted,
    }));
    let events = s.events();
    // Connected, and the three messages that may have reached the broker
    // named, in publish order; none completed yet.
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        matches!(&events[1], Event::SessionLost { resent, failed } if resent.len() == 3 && failed.is_empty()),
        "{events:?}"
    );
    let sent = s.sent();
    let resent: Vec<_> = sent.iter().map(publish_of).collect();
    let payloads: Vec<&[u8]> = resent.iter().map(|p| &p.payload[..]).collect();
    assert_eq!(payloads, [&b"one"[..], b"two", b"three"]);
    assert!(resent.iter().all(|p| !p.dup));
    assert!(resent
        .iter()
        .all(|p| p.pid() != Some(pid(1)) && p.pid() != Some(pid(3))));
}

#[test]
fn queued_but_unsent_qos0_survives_a_dead_transport() {
    let mut s = Script::connected(options());
    s.conn.publish(msg("t", "zero", QoS::AtMostOnce)).unwrap();
    // The transport dies before the bytes were taken.
    s.conn.handle_closed(s.now);
    let _ = s.events();
    assert_eq!(s.conn.queued(), 1);
    let sent = s.open(false);
    assert_eq!(&publish_of(&sent[0]).payload[..], b"zero");
}

// ---- receiving -----------------------------------------------------------------

#[test]
fn incoming_qos0_qos1_qos2_are_answered_as_their_qos_demands() {
    // [MQTT-3.3.4-1] nothing for QoS 0, PUBACK for 1, PUBREC for 2, each with
    // the PUBLISH's id [MQTT-2.3.1-6]; [MQTT-4.5.0-2] acked before and
    // whatever the application does with the message.
    let mut s = Script::connected(options());
    s.broker(incoming(QosPid::AtMostOnce, false, "a"));
    s.broker(incoming(QosPid::AtLeastOnce(pid(5)), false, "b"));
    s.broker(incoming(QosPid::ExactlyOnce(pid(6)), false, "c"));
    assert_eq!(
        s.sent(),
        vec![
            Packet::PubAck(PubAck::new(pid(5))),
            Packet::PubRec(PubRec::new(pid(6)))
        ]
    );
    let delivered: Vec<_> = s
        .events()
        .into_iter()
        .map(|e| match e {
            Event::Message { message, ack: None } => message.payload,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(delivered, vec!["a", "b", "c"]);
    s.broker(Packet::PubRel(PubRel::new(pid(6))));
    assert_eq!(s.sent(), vec![Packet::PubComp(PubComp::new(pid(6)))]);
}

#[test]
fn qos2_redelivery_is_not_delivered_twice() {
    // [MQTT-4.3.3-2] a repeat of the id before PUBREL gets PUBREC but is not
    // delivered again; after PUBREL the id is a new message.
    let mut s = Script::connected(options().clean_session(false));
    s.broker(incoming(QosPid::ExactlyOnce(pid(7)), false, "once"));
    let _ = s.sent();
    assert_eq!(s.events().len(), 1);
    // The connection drops before PUBREL; the broker resumes and redelivers.
    s.conn.handle_closed(s.now);
    let _ = s.events();
    assert!(s.open(true).is_empty());
    s.broker(incoming(QosPid::ExactlyOnce(pid(7)), true, "once"));
    assert_eq!(s.sent(), vec![Packet::PubRec(PubRec::new(pid(7)))]);
    assert!(
        s.events().is_empty(),
        "a redelivered QoS 2 message is not handed out twice"
    );
    s.broker(Packet::PubRel(PubRel::new(pid(7))));
    assert_eq!(s.sent(), vec![Packet::PubComp(PubComp::new(pid(7)))]);
    // After PUBCOMP the id starts a new message.
    s.broker(incoming(QosPid::ExactlyOnce(pid(7)), false, "again"));
    assert_eq!(s.events().len(), 1);
}

#[test]
fn qos1_after_puback_is_a_new_message() {
    // [MQTT-4.3.2-2] after PUBACK, the same id is a new publication.
    let mut s = Script::connected(options());
    s.broker(incoming(QosPid::AtLeastOnce(pid(3)), false, "x"));
    s.broker(incoming(QosPid::AtLeastOnce(pid(3)), true, "x"));
    assert_eq!(s.events().len(), 2);
    assert_eq!(s.sent().len(), 2);
}

#[test]
fn clean_session_forgets_incoming_qos2_state() {
    // [MQTT-3.1.2-6]
    let mut s = Script::connected(options());
    s.broker(incoming(QosPid::ExactlyOnce(pid(7)), false, "x"));
    let _ = (s.sent(), s.events());
    s.conn.handle_closed(s.now);
    let _ = s.events();
    s.open(false);
    assert_eq!(s.conn.incoming_state(), (0, 0));
    s.broker(incoming(QosPid::ExactlyOnce(pid(7)), false, "x"));
    assert_eq!(s.events().len(), 1, "a new session, a new message");
}

#[test]
fn manual_acks_go_out_in_arrival_order() {
    // [MQTT-4.6.0-2] PUBACKs and [MQTT-4.6.0-3] PUBRECs in arrival order,
    // whatever order the application acks in.
    let mut s = Script::connected(options().manual_acks(true));
    s.broker(incoming(QosPid::AtLeastOnce(pid(1)), false, "a"));
    s.broker(incoming(QosPid::ExactlyOnce(pid(2)), false, "b"));
    s.broker(incoming(QosPid::AtLeastOnce(pid(3)), false, "c"));
    s.broker(incoming(QosPid::AtMostOnce, false, "d"));
    let tokens: Vec<_> = s
        .events()
        .into_iter()
        .map(|e| match e {
            Event::Message { ack, .. } => ack,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(tokens[3].is_none(), "QoS 0 needs no ack");
    assert!(s.sent().is_empty(), "nothing acked yet");
    s.conn.ack(tokens[2].unwrap()).unwrap();
    s.conn.ack(tokens[1].unwrap()).unwrap();
    assert!(s.sent().is_empty(), "the first message is still unacked");
    s.conn.ack(tokens[0].unwrap()).unwrap();
    assert_eq!(
        s.sent(),
        vec![
            Packet::PubAck(PubAck::new(pid(1))),
            Packet::PubRec(PubRec::new(pid(2))),
            Packet::PubAck(PubAck::new(pid(3))),
        ]
    );
    assert_eq!(s.conn.ack(tokens[0].unwrap()), Err(AckError::UnknownToken));
}

#[test]
fn pubrels_follow_pubrec_order() {
    // [MQTT-4.6.0-4] PUBREL in the order the PUBRECs arrived.
    let mut s = Script::connected(options());
    for _ in 0..3 {
        s.conn.publish(msg("t", "x", QoS::ExactlyOnce)).unwrap();
    }
    let _ = s.sent();
    for id in [3, 1, 2] {
        s.broker(Packet::PubRec(PubRec::new(pid(id))));
    }
    assert_eq!(
        s.sent(),
        vec![
            Packet::PubRel(PubRel::new(pid(3))),
            Packet::PubRel(PubRel::new(pid(1))),
            Packet::PubRel(PubRel::new(pid(2))),
        ]
    );
}

#[test]
fn broker_reusing_an_unacknowledged_id_is_a_violation() {
    let mut s = Script::connected(options().manual_acks(true));
    s.broker(incoming(QosPid::AtLeastOnce(pid(4)), false, "a"));
    s.broker(incoming(QosPid::AtLeastOnce(pid(4)), false, "b"));
    assert_eq!(
        violation(&s.events()),
        Some(&ProtocolViolation::PacketIdReused(pid(4)))
    );
}

/// The ack token of each message event, in order (`None` for QoS 0).
fn tokens(events: Vec<Event>) -> Vec<Option<AckToken>> {
    events
        .into_iter()
        .map(|e| match e {
            Event::Message { ack, .. } => ack,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn shuffled_manual_acks_release_exactly_the_acked_prefix() {
    // [MQTT-4.6.0-2] PUBACKs and [MQTT-4.6.0-3] PUBRECs in arrival order:
    // each ack sends the acks of the longest acked run from the oldest
    // message, and nothing behind the first unacked one.
    let mut s = Script::connected(options().manual_acks(true));
    let owed: Vec<Packet> = (1..=40u16)
        .map(|id| {
            if id % 3 == 0 {
                s.broker(incoming(QosPid::AtLeastOnce(pid(id)), false, "q1"));
                Packet::PubAck(PubAck::new(pid(id)))
            } else {
                s.broker(incoming(QosPid::ExactlyOnce(pid(id)), false, "q2"));
                Packet::PubRec(PubRec::new(pid(id)))
            }
        })
        .collect();
    let tokens = tokens(s.events());
    assert_eq!(tokens.len(), 40);
    // A fixed shuffle of 0..40 (17 is coprime with 40).
    let order: Vec<usize> = (0..40).map(|i| (i * 17 + 5) % 40).collect();
    let mut acked = [false; 40];
    let mut released = 0;
    for i in order {
        s.conn.ack(tokens[i].unwrap()).unwrap();
        acked[i] = true;
        let run = acked.iter().take_while(|a| **a).count();
        assert_eq!(s.sent(), owed[released..run], "after acking message {i}");
        released = run;
    }
    assert_eq!(released, 40);
    assert_eq!(s.conn.incoming_state(), (27, 0));
}

#[test]
fn qos2_redelivered_while_held_is_acked_once_and_not_delivered_again() {
    // [MQTT-4.3.3-2] a QoS 2 message is delivered once, however often the
    // broker repeats it before PUBREL, and every copy is answered with
    // PUBREC; in manual-ack mode those PUBRECs wait for the application and
    // keep the arrival order of the connection they go out on
    // [MQTT-4.6.0-3].
    let mut s = Script::connected(options().clean_session(false).manual_acks(true));
    s.broker(incoming(QosPid::ExactlyOnce(pid(7)), false, "held"));
    let [Some(held)] = tokens(s.events())[..] else {
        panic!("one QoS 2 message with a token")
    };
    // Repeated on the same connection while held: nothing to deliver and
    // nothing to send yet.
    s.broker(incoming(QosPid::ExactlyOnce(pid(7)), true, "held"));
    assert!(s.events().is_empty());
    assert!(s.sent().is_empty());
    // And again after a reconnect, behind a message that arrived first on
    // the new connection: the held message keeps its older token.
    s.conn.handle_closed(s.now);
    let _ = s.events();
    assert!(s.open(true).is_empty());
    s.broker(incoming(QosPid::AtLeastOnce(pid(6)), false, "first"));
    s.broker(incoming(QosPid::ExactlyOnce(pid(7)), true, "held"));
    s.broker(incoming(QosPid::ExactlyOnce(pid(7)), true, "held"));
    let [Some(first)] = tokens(s.events())[..] else {
        panic!("only the QoS 1 message is delivered")
    };
    assert!(s.sent().is_empty());
    s.conn.ack(held).unwrap();
    assert!(s.sent().is_empty(), "PUBREC 7 waits behind PUBACK 6");
    assert_eq!(s.conn.ack(held), Err(AckError::UnknownToken));
    s.conn.ack(first).unwrap();
    assert_eq!(
        s.sent(),
        vec![
            Packet::PubAck(PubAck::new(pid(6))),
            Packet::PubRec(PubRec::new(pid(7))),
            Packet::PubRec(PubRec::new(pid(7))),
        ],
        "a PUBREC for each copy that arrived on this connection, in order"
    );
    // PUBREC sent: a further repeat is answered at once, still not delivered.
    s.broker(incoming(QosPid::ExactlyOnce(pid(7)), true, "held"));
    assert_eq!(s.sent(), vec![Packet::PubRec(PubRec::new(pid(7)))]);
    assert!(s.events().is_empty());
    s.broker(Packet::PubRel(PubRel::new(pid(7))));
    assert_eq!(s.sent(), vec![Packet::PubComp(PubComp::new(pid(7)))]);
    assert_eq!(s.conn.incoming_state(), (0, 0));
}

#[test]
fn received_messages_carry_their_dup_and_retain_flags() {
    // The application can tell a redelivery (DUP, [MQTT-3.3.1-1]) and a
    // retained message [MQTT-3.3.1-8] from a first, live copy.
    let mut s = Script::connected(options());
    s.broker(Packet::Publish(Publish {
        dup: false,
        qos_pid: QosPid::AtLeastOnce(pid(3)),
        retain: true,
        topic: TopicName::try_from("in/t").unwrap(),
        payload: Bytes::from_static(b"kept"),
    }));
    s.broker(incoming(QosPid::AtLeastOnce(pid(4)), true, "again"));
    let flags: Vec<(bool, bool)> = s
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Message { message, .. } => Some((message.retain, message.dup)),
            _ => None,
        })
        .collect();
    assert_eq!(flags, vec![(true, false), (false, true)]);
}

#[test]
fn qos1_copy_with_dup_before_the_puback_is_acked_not_refused() {
    // A broker may send a QoS 1 message again with DUP before it has our
    // PUBACK [MQTT-3.3.1-1]: the same message, not an id reused, so the
    // connection stays up, the copy is not handed out again while the
    // application holds the original, and each copy gets its PUBACK, in
    // arrival order [MQTT-4.3.2-2], [MQTT-4.6.0-2].
    let mut s = Script::connected(options().manual_acks(true));
    s.broker(incoming(QosPid::AtLeastOnce(pid(5)), false, "m"));
    let [Some(token)] = tokens(s.events())[..] else {
        panic!("one QoS 1 message with a token")
    };
    s.broker(incoming(QosPid::AtLeastOnce(pid(5)), true, "m"));
    assert!(s.events().is_empty(), "no second delivery, no disconnect");
    assert!(
        s.sent().is_empty(),
        "the copy's PUBACK waits for the original's"
    );
    s.conn.ack(token).unwrap();
    assert_eq!(
        s.sent(),
        vec![
            Packet::PubAck(PubAck::new(pid(5))),
            Packet::PubAck(PubAck::new(pid(5))),
        ]
    );
    // Without DUP, an id whose PUBACK is owed is a new message reusing it:
    // still a protocol violation.
    s.broker(incoming(QosPid::AtLeastOnce(pid(9)), false, "n"));
    let _ = s.events();
    s.broker(incoming(QosPid::AtLeastOnce(pid(9)), false, "other"));
    assert!(
        s.events()
            .iter()
            .any(|e| matches!(e, Event::Disconnected { .. })),
        "a reused id closes the connection"
    );
}

#[test]
fn endless_copies_of_a_held_message_close_the_connection() {
    // Each copy of a held message is owed an ack of its own; a broker that
    // repeats it without end would grow that queue without bound, so past
    // its limit the connection is closed instead [MQTT-4.8.0-2].
    let mut s = Script::connected(options().manual_acks(true));
    s.broker(incoming(QosPid::AtLeastOnce(pid(5)), false, "held"));
    assert_eq!(tokens(s.events()).len(), 1);
    let copies = |n: usize| {
        let mut wire = BytesMut::new();
        for _ in 0..n {
            incoming(QosPid::AtLeastOnce(pid(5)), true, "held")
                .encode(&mut wire)
                .unwrap();
        }
        wire
    };
    // The original and its copies fill all but one place of 131,072.
    let now = s.now;
    s.conn.handle_read(now, &copies(2 * 65_536 - 2));
    assert_eq!(violation(&s.events()), None, "not before the bound");
    s.conn.handle_read(now, &copies(2));
    assert_eq!(
        violation(&s.events()),
        Some(&ProtocolViolation::RepeatFlood),
        "closed at the bound"
    );
}

#[test]
fn every_packet_id_outstanding_with_manual_acks() {
    // All 65,535 ids [MQTT-2.3.1-1] held by the application at once, acked
    // newest first: nothing goes out until the oldest is acked, then every
    // PUBREC in arrival order [MQTT-4.6.0-3]; each id stays known until its
    // PUBREL [MQTT-4.3.3-2].
    let mut s = Script::connected(options().manual_acks(true));
    let mut wire = BytesMut::new();
    for id in 1..=u16::MAX {
        incoming(QosPid::ExactlyOnce(pid(id)), false, "x")
            .encode(&mut wire)
            .unwrap();
    }
    s.conn.handle_read(s.now, &wire);
    let tokens = tokens(s.events());
    assert_eq!(tokens.len(), 65_535);
    assert_eq!(s.conn.incoming_state(), (65_535, 65_535));
    for token in tokens.iter().skip(1).rev() {
        s.conn.ack(token.unwrap()).unwrap();
    }
    assert!(s.sent().is_empty(), "the oldest message is still unacked");
    s.conn.ack(tokens[0].unwrap()).unwrap();
    let sent = s.sent();
    assert_eq!(sent.len(), 65_535);
    for (id, p) in (1..=u16::MAX).zip(&sent) {
        assert_eq!(p, &Packet::PubRec(PubRec::new(pid(id))));
    }
    assert_eq!(s.conn.incoming_state(), (65_535, 0));
    // Before PUBREL every id is still a repeat.
    s.broker(incoming(QosPid::ExactlyOnce(pid(40_000)), true, "x"));
    assert_eq!(s.sent(), vec![Packet::PubRec(PubRec::new(pid(40_000)))]);
    assert!(s.events().is_empty());
    let mut wire = BytesMut::new();
    for id in 1..=u16::MAX {
        Packet::PubRel(PubRel::new(pid(id)))
            .encode(&mut wire)
            .unwrap();
    }
    s.conn.handle_read(s.now, &wire);
    assert_eq!(s.sent().len(), 65_535);
    assert_eq!(s.conn.incoming_state(), (0, 0));
}

// ---- subscribing ---------------------------------------------------------------

#[test]
fn subscribe_and_unsubscribe() {
    // [MQTT-3.8.1-1] SUBSCRIBE is 0x82, [MQTT-3.10.1-1] UNSUBSCRIBE is 0xA2;
    // acks matched by id, each filter's outcome reported.
    let mut s = Script::connected(options());
    let f = |v: &str| TopicFilter::try_from(v).unwrap();
    let sub = s
        .conn
        .subscribe(vec![
            (f("a/+"), QoS::ExactlyOnce),
            (f("b/#"), QoS::AtLeastOnce),
        ])
        .unwrap();
    let raw = s.raw_sent();
    assert_eq!(raw[0], 0x82);
    s.broker(Packet::SubAck(SubAck {
        pid: sub,
        return_codes: vec![
            SubscribeReturnCode::Success(QoS::AtLeastOnce),
            SubscribeReturnCode::Failure,
        ],
    }));
    assert_eq!(
        s.events(),
        vec![Event::Subscribed {
            id: sub,
            outcomes: vec![
                SubscribeOutcome::Granted(QoS::AtLeastOnce),
                SubscribeOutcome::Refused
            ]
        }]
    );
    let unsub = s.conn.unsubscribe(vec![f("a/+")]).unwrap();
    assert_eq!(s.raw_sent()[0], 0xA2);
    s.broker(Packet::UnsubAck(UnsubAck::new(unsub)));
    assert_eq!(s.events(), vec![Event::Unsubscribed { id: unsub }]);
    assert_eq!(s.conn.packet_ids_in_use(), 0);
}

#[test]
fn subscribe_rules() {
    // [MQTT-3.8.3-3] [MQTT-3.10.3-2] at least one filter.
    let mut s = Script::connected(options().max_pending_requests(1));
    assert_eq!(s.conn.subscribe(vec![]), Err(SubscribeError::NoFilters));
    assert_eq!(s.conn.unsubscribe(vec![]), Err(SubscribeError::NoFilters));
    let f = TopicFilter::try_from("x").unwrap();
    s.conn
        .subscribe(vec![(f.clone(), QoS::AtMostOnce)])
        .unwrap();
    assert_eq!(
        s.conn.subscribe(vec![(f, QoS::AtMostOnce)]),
        Err(SubscribeError::TooManyPending)
    );
    assert!(
        s.conn.is_connected(),
        "command errors never close the connection"
    );
}

#[test]
fn suback_with_wrong_number_of_codes_is_a_violation() {
    let mut s = Script::connected(options());
    let f = TopicFilter::try_from("x").unwrap();
    let id = s.conn.subscribe(vec![(f, QoS::AtMostOnce)]).unwrap();
    s.broker(Packet::SubAck(SubAck {
        pid: id,
        return_codes: vec![SubscribeReturnCode::Failure, SubscribeReturnCode::Failure],
    }));
    assert_eq!(
        violation(&s.events()),
        Some(&ProtocolViolation::SubAckCountMismatch)
    );
}

#[test]
fn unacknowledged_subscribe_is_sent_again_on_reconnect() {
    let mut s = Script::connected(options());
    let f = TopicFilter::try_from("x").unwrap();
    let id = s.conn.subscribe(vec![(f, QoS::AtMostOnce)]).unwrap();
    let _ = s.sent();
    s.conn.handle_closed(s.now);
    let _ = s.events();
    let sent = s.open(false);
    assert!(
        matches!(&sent[..], [Packet::Subscribe(sub)] if sub.pid == id),
        "{sent:?}"
    );
}

// ---- a broker that misbehaves -------------------------------------------------

#[test]
fn malformed_bytes_close_the_connection_and_the_core_goes_quiet() {
    // [MQTT-4.8.0-1] [MQTT-2.2.2-2]
    let mut s = Script::connected(options());
    s.conn.handle_read(s.now, &[0xD1, 0x00]);
    assert_eq!(
        violation(&s.events()),
        Some(&ProtocolViolation::Malformed(DecodeError::InvalidFlags {
            packet_type: PacketType::PingResp,
            flags: 1
        }))
    );
    // Quiet until connect: input ignored, nothing to send, no timers.
    s.conn.publish(msg("t", "x", QoS::AtMostOnce)).unwrap();
    s.conn.handle_read(s.now, &[0x30, 3, 0, 1, b't']);
    assert!(s.sent().is_empty() && s.events().is_empty());
    assert_eq!(s.conn.poll_timeout(), None);
    // And it recovers on a new transport, with the queued message.
    let sent = s.open(false);
    assert_eq!(sent.len(), 1);
}

#[test]
fn packet_over_the_maximum_is_refused_before_it_is_buffered() {
    // [MQTT-4.8.0-2] a packet the receive buffer cannot take closes the
    // connection.
    let mut s = Script::connected(options().max_packet_size(1024));
    // A PUBLISH announcing 1 MiB: only its fixed header arrives.
    s.conn.handle_read(s.now, &[0x30, 0x80, 0x80, 0x40]);
    assert!(matches!(
        violation(&s.events()),
        Some(ProtocolViolation::Malformed(DecodeError::PacketTooLarge {
            max: 1024,
            ..
        }))
    ));
}

// ---- disconnecting -------------------------------------------------------------

#[test]
fn disconnect_is_the_last_packet() {
    // [MQTT-3.14.4-1] close after DISCONNECT; [MQTT-3.14.4-2] nothing after it.
    let mut s = Script::connected(options());
    s.conn.disconnect(s.now, core::time::Duration::ZERO);
    assert_eq!(
        s.conn.publish(msg("t", "early", QoS::AtMostOnce)),
        Err(PublishError::Closing),
        "nothing is taken while closing"
    );
    assert_eq!(s.sent(), vec![Packet::Disconnect]);
    assert_eq!(
        s.events(),
        vec![Event::Disconnected {
            reason: DisconnectReason::Requested
        }]
    );
    assert_eq!(s.conn.state(), State::Disconnected);
    assert!(s.sent().is_empty());
    s.conn.publish(msg("t", "late", QoS::AtMostOnce)).unwrap();
    assert!(s.sent().is_empty());
    assert_eq!(
        s.conn.queued(),
        1,
        "the late message waits for a new connection"
    );
}

#[test]
fn a_publish_whose_bytes_never_left_is_resent_without_dup() {
    // [MQTT-3.3.1-1] DUP marks a redelivery; a message encoded but lost with
    // the transport before poll_transmit handed it out was never delivered.
    let mut s = Script::connected(options().clean_session(false));
    s.conn.publish(msg("t", "x", QoS::AtLeastOnce)).unwrap();
    s.conn.handle_closed(s.now); // before poll_transmit
    let _ = s.events();
    s.conn.connect(s.now);
    let _ = s.sent(); // CONNECT only: hands out a buffer without the PUBLISH
    s.broker(Packet::ConnAck(ConnAck {
        session_present: true,
        code: ConnectReturnCode::Accepted,
    }));
    let sent = s.sent();
    let p = publish_of(&sent[0]);
    assert_eq!((p.dup, p.qos_pid), (false, QosPid::AtLeastOnce(pid(1))));
    // Once handed out, a later resend is a redelivery.
    s.conn.handle_closed(s.now);
    let _ = s.events();
    let sent = s.open(true);
    assert!(publish_of(&sent[0]).dup);
}

#[test]
fn qos2_held_by_the_application_across_a_reconnect_is_acked_in_the_new_order() {
    // [MQTT-4.3.3-2] delivered once; [MQTT-4.6.0-3] its PUBREC goes out in
    // the order the redelivered PUBLISH arrives on the new connection.
    let mut s = Script::connected(options().clean_session(false).manual_acks(true));
    s.broker(incoming(QosPid::ExactlyOnce(pid(7)), false, "held"));
    let token = match s.events().pop() {
        Some(Event::Message { ack: Some(t), .. }) => t,
        other => panic!("{other:?}"),
    };
    s.conn.handle_closed(s.now);
    let _ = s.events();
    // Acked while offline: nothing can be sent yet.
    s.conn.ack(token).unwrap();
    assert!(
        s.open(true).is_empty(),
        "no PUBREC before the broker resends"
    );
    s.broker(incoming(QosPid::AtLeastOnce(pid(6)), true, "qos1 resent"));
    s.broker(incoming(QosPid::ExactlyOnce(pid(7)), true, "held"));
    let events = s.events();
    assert_eq!(
        events.len(),
        1,
        "the QoS 2 message is not delivered again: {events:?}"
    );
    assert!(
        s.sent().is_empty(),
        "PUBREC 7 waits behind the unacked QoS 1"
    );
    let Event::Message { ack: Some(t6), .. } = &events[0] else {
        panic!("{events:?}")
    };
    s.conn.ack(*t6).unwrap();
    assert_eq!(
        s.sent(),
        vec![
            Packet::PubAck(PubAck::new(pid(6))),
            Packet::PubRec(PubRec::new(pid(7)))
        ]
    );
}

#[test]
fn connect_is_sent_once_per_transport() {
    // [MQTT-3.1.0-2] one CONNECT per network connection: a long session with
    // traffic and pings never sends another; only a new transport does.
    let mut s = Script::connected(options().keep_alive(Duration::from_secs(2)));
    for i in 0..50u16 {
        s.conn.publish(msg("t", "x", QoS::AtLeastOnce)).unwrap();
        s.advance(Duration::from_millis(700));
        s.fire_timers();
        for p in s.sent() {
            assert!(
                !matches!(p, Packet::Connect(_)),
                "second CONNECT at round {i}"
            );
            if let Packet::Publish(publish) = &p {
                s.broker(Packet::PubAck(PubAck::new(publish.pid().unwrap())));
            }
            if p == Packet::PingReq {
                s.broker(Packet::PingResp);
            }
        }
    }
    assert!(s.conn.is_connected());
    s.conn.handle_closed(s.now);
    let _ = s.events();
    s.conn.connect(s.now);
    assert!(matches!(&s.sent()[..], [Packet::Connect(_)]));
}
