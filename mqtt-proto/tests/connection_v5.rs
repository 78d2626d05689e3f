//! The `Connection` state machine at MQTT 5.0 against a scripted broker:
//! each test plays the broker's side with packets built by the 5.0 codec,
//! on a virtual clock, decodes what the client sends with `v5::decode`, and
//! checks what it reports. Every rule checked cites its MQTT 5.0 statement
//! as `[5.0 MQTT-x.y.z-n]` (see `conformance/mqtt-5.0-client-statements.tsv`).

use bytes::{Bytes, BytesMut};
use core::time::Duration;
use mqtt_proto::packet::v5::{
    self, AckProperties, Auth, AuthProperties, ConnAck, ConnAckProperties, Disconnect,
    DisconnectProperties, PubResponse, Publish, PublishProperties, ReasonCode, RetainHandling,
    SubAck, SubscribeProperties, SubscriptionOptions, UnsubAck, UserProperty, WillProperties,
};
use mqtt_proto::packet::{self, DecodeError, LastWill, Login, PacketType, Protocol, QosPid};
use mqtt_proto::{
    is_final_reason, AuthError, Connection, DisconnectReason, Event, Instant, Message, MqttString,
    Options, PacketId, ProtocolViolation, PublishError, PublishId, QoS, ReconnectOptions,
    ServerReason, State, SubscribeError, SubscribeOutcome, TopicFilter, TopicName,
};

fn pid(v: u16) -> PacketId {
    PacketId::new(v).unwrap()
}

fn s(v: &str) -> MqttString {
    MqttString::try_from(v).unwrap()
}

fn filter(v: &str) -> TopicFilter {
    TopicFilter::try_from(v).unwrap()
}

fn user(name: &str, value: &str) -> UserProperty {
    UserProperty {
        name: s(name),
        value: s(value),
    }
}

/// Options of a 5.0 client.
fn options() -> Options {
    Options::new(s("v5-client")).protocol(Protocol::V5)
}

fn msg(topic: &str, payload: &'static str, qos: QoS) -> Message {
    Message::new(topic, Bytes::from_static(payload.as_bytes()), qos).unwrap()
}

fn connack(session_present: bool, properties: ConnAckProperties) -> v5::Packet {
    v5::Packet::ConnAck(Box::new(ConnAck {
        session_present,
        reason_code: ReasonCode::Success,
        properties,
    }))
}

fn refusal(reason_code: ReasonCode, properties: ConnAckProperties) -> v5::Packet {
    v5::Packet::ConnAck(Box::new(ConnAck {
        session_present: false,
        reason_code,
        properties,
    }))
}

fn ack(pid: PacketId, reason_code: ReasonCode, reason_string: Option<&str>) -> PubResponse {
    PubResponse {
        pid,
        reason_code,
        properties: AckProperties {
            reason_string: reason_string.map(s),
            user_properties: Vec::new(),
        },
    }
}

/// A PUBLISH from the broker.
fn incoming(
    qos_pid: QosPid,
    topic: Option<&str>,
    properties: PublishProperties,
    payload: &'static str,
) -> v5::Packet {
    v5::Packet::Publish(Publish {
        dup: false,
        qos_pid,
        retain: false,
        topic: topic.map(|t| TopicName::try_from(t).unwrap()),
        properties,
        payload: Bytes::from_static(payload.as_bytes()),
    })
}

fn alias(n: u16) -> PublishProperties {
    PublishProperties {
        topic_alias: Some(n),
        ..PublishProperties::default()
    }
}

fn publish_of(p: &v5::Packet) -> &Publish {
    match p {
        v5::Packet::Publish(p) => p,
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

fn publishes(sent: &[v5::Packet]) -> Vec<&Publish> {
    sent.iter()
        .filter_map(|p| match p {
            v5::Packet::Publish(p) => Some(p),
            _ => None,
        })
        .collect()
}

fn violation(events: &[Event]) -> Option<&ProtocolViolation> {
    events.iter().find_map(|e| match e {
        Event::Disconnected {
            reason: DisconnectReason::ProtocolViolation(v),
        } => Some(v),
        _ => None,
    })
}

fn messages(events: &[Event]) -> Vec<&Message> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message { message, .. } => Some(message),
            _ => None,
        })
        .collect()
}

/// The filters of a SUBSCRIBE with their options.
type Filters = Vec<(TopicFilter, SubscriptionOptions)>;

/// One 5.0 client and the broker's view of the wire.
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

    /// Connected with a plain CONNACK, wire and events drained.
    fn connected(options: Options) -> Self {
        Script::connected_with(options, ConnAckProperties::default())
    }

    /// Connected with a CONNACK carrying `properties`, wire and events
    /// drained.
    fn connected_with(options: Options, properties: ConnAckProperties) -> Self {
        let mut s = Script::new(options);
        s.connect();
        s.broker(connack(false, properties));
        assert_eq!(
            s.events().first(),
            Some(&Event::Connected {
                session_present: false
            })
        );
        s.sent();
        s
    }

    /// A new transport: the CONNECT the client sends on it.
    fn connect(&mut self) -> v5::Connect {
        self.conn.connect(self.now);
        let sent = self.sent();
        match sent.as_slice() {
            [v5::Packet::Connect(c)] => (**c).clone(),
            other => panic!("expected one CONNECT, got {other:?}"),
        }
    }

    /// The transport died; a new one is opened and CONNACK answers it.
    fn reconnect(&mut self, session_present: bool, properties: ConnAckProperties) -> Vec<Event> {
        self.conn.handle_closed(self.now);
        self.events();
        self.connect();
        self.broker(connack(session_present, properties));
        self.events()
    }

    fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
    }

    fn broker(&mut self, p: v5::Packet) {
        let mut b = BytesMut::new();
        p.encode(&mut b).unwrap();
        self.conn.handle_read(self.now, &b);
    }

    fn raw_sent(&mut self) -> Vec<u8> {
        let mut wire = Vec::new();
        while let Some(chunk) = self.conn.poll_transmit(self.now) {
            wire.extend_from_slice(&chunk);
        }
        wire
    }

    /// Everything the client wants to send, decoded at 5.0.
    fn sent(&mut self) -> Vec<v5::Packet> {
        decode_all(&self.raw_sent())
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

fn decode_all(bytes: &[u8]) -> Vec<v5::Packet> {
    let mut wire = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(p) = v5::decode(&mut wire, usize::MAX).unwrap() {
        out.push(p);
    }
    assert!(wire.is_empty(), "client sent a partial packet");
    out
}

/// The lengths of the packets in `bytes`, from their fixed headers.
fn packet_lengths(bytes: &[u8]) -> Vec<usize> {
    let mut lens = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let mut len = 0usize;
        let mut shift = 0;
        let mut i = at + 1;
        loop {
            let b = bytes[i];
            len |= usize::from(b & 0x7F) << shift;
            shift += 7;
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        let total = (i - at) + len;
        lens.push(total);
        at += total;
    }
    lens
}

// ---- CONNECT -----------------------------------------------------------------

#[test]
fn connect_speaks_5_0_and_carries_every_option() {
    let will = LastWill {
        topic: TopicName::try_from("clients/v5/status").unwrap(),
        message: Bytes::from_static(b"gone"),
        qos: QoS::AtLeastOnce,
        retain: true,
    };
    let will_props = WillProperties {
        will_delay_interval: Some(30),
        content_type: Some(s("text/plain")),
        user_properties: vec![user("w", "1")],
        ..WillProperties::default()
    };
    let options = options()
        .keep_alive(Duration::from_secs(45))
        .last_will(will)
        .will_properties(will_props.clone())
        .login(Login {
            username: s("alice"),
            password: Some(Bytes::from_static(b"secret")),
        })
        .receive_maximum(10)
        .max_packet_size(4096)
        .topic_aliases(5, 0)
        .connect_user_property(s("site"), s("lab"))
        .connect_user_property(s("site"), s("annex"))
        .connect_user_property(s("rack"), s("7"));
    let mut script = Script::new(options);
    script.conn.connect(script.now);
    let raw = script.raw_sent();

    // [5.0 MQTT-3.1.0-1] the first bytes on the transport are a CONNECT.
    assert_eq!(raw[0], 0x10, "CONNECT first [5.0 MQTT-3.1.0-1]");
    // After the fixed header: protocol name "MQTT" [5.0 MQTT-3.1.2-1],
    // protocol level 5, then the flags byte with reserved bit 0 clear
    // [5.0 MQTT-3.1.2-3].
    let at = raw.windows(6).position(|w| w == b"\0\x04MQTT").unwrap();
    assert_eq!(&raw[at..at + 7], b"\0\x04MQTT\x05", "[5.0 MQTT-3.1.2-1]");
    let flags = raw[at + 7];
    assert_eq!(flags & 0x01, 0, "reserved flag bit 0 [5.0 MQTT-3.1.2-3]");
    // Clean start, will flag, will QoS 1, will retain, password, user name.
    assert_eq!(flags, 0b1110_1110);

    let connect = match decode_all(&raw).as_slice() {
        [v5::Packet::Connect(c)] => (**c).clone(),
        other => panic!("{other:?}"),
    };
    assert!(connect.clean_start);
    assert_eq!(connect.keep_alive, 45);
    // [5.0 MQTT-3.1.3-3] [5.0 MQTT-3.1.3-4] the client id, a UTF-8 string.
    assert_eq!(connect.client_id, "v5-client", "[5.0 MQTT-3.1.3-3]");
    let p = &connect.properties;
    // A clean session ends with the connection: no Session Expiry.
    assert_eq!(p.session_expiry_interval, None);
    assert_eq!(p.receive_maximum, Some(10));
    assert_eq!(p.maximum_packet_size, Some(4096));
    assert_eq!(p.topic_alias_maximum, Some(5));
    // User properties in the order given, repeats kept.
    assert_eq!(
        p.user_properties,
        [
            user("site", "lab"),
            user("site", "annex"),
            user("rack", "7")
        ]
    );
    assert_eq!(p.authentication_method, None);
    // [5.0 MQTT-3.1.2-9] with the will flag: will properties, topic, payload;
    // [5.0 MQTT-3.1.3-11] the will topic a UTF-8 string.
    let will = connect.will.expect("will [5.0 MQTT-3.1.2-9]");
    assert_eq!(will.topic, "clients/v5/status", "[5.0 MQTT-3.1.3-11]");
    assert_eq!(will.payload, "gone");
    assert_eq!((will.qos, will.retain), (QoS::AtLeastOnce, true));
    assert_eq!(will.properties, will_props, "[5.0 MQTT-3.1.2-9]");
    // [5.0 MQTT-3.1.2-17] [5.0 MQTT-3.1.3-12] user name flagged and present;
    // [5.0 MQTT-3.1.2-19] password flagged and present.
    assert_eq!(
        connect.username.as_deref(),
        Some("alice"),
        "[5.0 MQTT-3.1.2-17]"
    );
    assert_eq!(
        connect.password.as_deref(),
        Some(&b"secret"[..]),
        "[5.0 MQTT-3.1.2-19]"
    );
    // [5.0 MQTT-3.1.3-1] payload order: client id, will properties, will
    // topic, will payload, user name, password.
    let order = [
        raw.windows(9).position(|w| w == b"v5-client").unwrap(),
        raw.windows(10).position(|w| w == b"text/plain").unwrap(),
        raw.windows(17)
            .position(|w| w == b"clients/v5/status")
            .unwrap(),
        raw.windows(4).position(|w| w == b"gone").unwrap(),
        raw.windows(5).position(|w| w == b"alice").unwrap(),
        raw.windows(6).position(|w| w == b"secret").unwrap(),
    ];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "[5.0 MQTT-3.1.3-1] {order:?}"
    );
}

#[test]
fn connect_without_will_or_login_sets_none_of_their_flags() {
    let mut script = Script::new(options());
    script.conn.connect(script.now);
    let raw = script.raw_sent();
    let at = raw.windows(6).position(|w| w == b"\0\x04MQTT").unwrap();
    let flags = raw[at + 7];
    // Only Clean Start: will QoS 0 and will retain 0 without a will
    // [5.0 MQTT-3.1.2-11] [5.0 MQTT-3.1.2-13]; no user name flag and field
    // [5.0 MQTT-3.1.2-16], no password flag and field [5.0 MQTT-3.1.2-18].
    assert_eq!(
        flags, 0b0000_0010,
        "[5.0 MQTT-3.1.2-11] [5.0 MQTT-3.1.2-13]"
    );
    let connect = match decode_all(&raw).as_slice() {
        [v5::Packet::Connect(c)] => (**c).clone(),
        other => panic!("{other:?}"),
    };
    assert!(connect.will.is_none());
    assert_eq!(connect.username, None, "[5.0 MQTT-3.1.2-16]");
    assert_eq!(connect.password, None, "[5.0 MQTT-3.1.2-18]");
    // Nothing set, nothing sent but our Maximum Packet Size (default 1 MiB).
    assert_eq!(
        connect.properties,
        v5::ConnectProperties {
            maximum_packet_size: Some(1 << 20),
            ..v5::ConnectProperties::default()
        }
    );
}

#[test]
fn session_expiry_follows_clean_session_unless_set() {
    let expiry = |o: Options| Script::new(o).connect().properties.session_expiry_interval;
    // Clean session: the session ends with the connection (absent means 0).
    assert_eq!(expiry(options()), None);
    // Persistent: never expires, as at 3.1.1.
    let persistent = options().clean_session(false);
    assert_eq!(expiry(persistent.clone()), Some(u32::MAX));
    assert!(!Script::new(persistent.clone()).connect().clean_start);
    // Set explicitly, it is sent as set.
    assert_eq!(expiry(persistent.session_expiry(3600)), Some(3600));
    assert_eq!(expiry(options().session_expiry(60)), Some(60));
    assert_eq!(
        expiry(options().clean_session(false).session_expiry(0)),
        None
    );
}

#[test]
fn authentication_method_and_data_go_in_connect() {
    let options = options().authentication(s("SCRAM-SHA-256"), Some(Bytes::from_static(b"n,,n=u")));
    let connect = Script::new(options).connect();
    assert_eq!(
        connect.properties.authentication_method.as_deref(),
        Some("SCRAM-SHA-256")
    );
    assert_eq!(
        connect.properties.authentication_data.as_deref(),
        Some(&b"n,,n=u"[..])
    );
}

#[test]
fn a_3_1_1_connection_is_unchanged_byte_for_byte() {
    // Every 5.0 setting given, but the protocol left at 3.1.1.
    let loaded = Options::new(s("test-client"))
        .session_expiry(3600)
        .receive_maximum(10)
        .topic_aliases(5, 5)
        .connect_user_property(s("site"), s("lab"))
        .will_properties(WillProperties {
            will_delay_interval: Some(30),
            ..WillProperties::default()
        })
        .authentication(s("SCRAM-SHA-256"), Some(Bytes::from_static(b"x")));
    let run = |options: Options| {
        let mut conn = Connection::new(options).unwrap();
        let now = Instant::ZERO;
        let mut wire = Vec::new();
        conn.connect(now);
        wire.extend(conn.poll_transmit(now).unwrap());
        conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // 3.1.1 CONNACK
        let props = PublishProperties {
            user_properties: vec![user("k", "v")],
            correlation_data: Some(Bytes::from_static(b"c")),
            ..PublishProperties::default()
        };
        conn.publish(msg("t", "x", QoS::AtLeastOnce).with_properties(props))
            .unwrap();
        let mut opts = SubscriptionOptions::new(QoS::AtLeastOnce);
        opts.no_local = true;
        opts.retain_handling = RetainHandling::DoNotSend;
        let sub = SubscribeProperties {
            subscription_identifier: Some(7),
            ..SubscribeProperties::default()
        };
        conn.subscribe_with(vec![(filter("a/#"), opts)], sub)
            .unwrap();
        // An incoming QoS 1 PUBLISH, answered with a 3.1.1 PUBACK.
        conn.handle_read(now, &[0x32, 6, 0, 1, b'i', 0, 9, b'y']);
        conn.disconnect(now, Duration::ZERO);
        while let Some(chunk) = conn.poll_transmit(now) {
            wire.extend(chunk);
        }
        wire
    };
    let plain = run(Options::new(s("test-client")));
    assert_eq!(run(loaded), plain, "5.0 options change nothing at 3.1.1");
    let expected: Vec<u8> = [
        // CONNECT: "MQTT", level 4, clean session, keep alive 60, client id.
        &[
            0x10, 23, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 11,
        ][..],
        b"test-client",
        // PUBLISH QoS 1 "t" id 1 "x": no property length.
        &[0x32, 6, 0, 1, b't', 0, 1, b'x'],
        // SUBSCRIBE id 2 "a/#" QoS 1: the options byte is the QoS alone.
        &[0x82, 8, 0, 2, 0, 3, b'a', b'/', b'#', 1],
        // PUBACK 9, two bytes long.
        &[0x40, 2, 0, 9],
        // DISCONNECT without a reason code.
        &[0xE0, 0],
    ]
    .concat();
    assert_eq!(plain, expected);
    // And it all decodes as 3.1.1.
    let mut wire = BytesMut::from(&plain[..]);
    while packet::decode(&mut wire, usize::MAX).unwrap().is_some() {}
    assert!(wire.is_empty());
}

#[test]
fn one_connect_per_transport_and_it_comes_first() {
    let mut script = Script::new(options().clean_session(false));
    // Commands given before the transport opens wait behind CONNECT.
    script
        .conn
        .publish(msg("t", "early", QoS::AtLeastOnce))
        .unwrap();
    script
        .conn
        .subscribe(vec![(filter("f"), QoS::AtMostOnce)])
        .unwrap();
    script.conn.connect(script.now);
    let sent = script.sent();
    // [5.0 MQTT-3.1.0-1] CONNECT is the first packet, and nothing else goes
    // before CONNACK.
    assert!(
        matches!(sent.as_slice(), [v5::Packet::Connect(_)]),
        "[5.0 MQTT-3.1.0-1] {sent:?}"
    );
    script.broker(connack(false, ConnAckProperties::default()));
    let sent = script.sent();
    // [5.0 MQTT-3.1.0-2] no second CONNECT on this connection.
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        !sent.iter().any(|p| matches!(p, v5::Packet::Connect(_))),
        "[5.0 MQTT-3.1.0-2]"
    );
    script.advance(Duration::from_secs(120));
    script.fire_timers();
    assert!(
        !script
            .sent()
            .iter()
            .any(|p| matches!(p, v5::Packet::Connect(_))),
        "[5.0 MQTT-3.1.0-2]"
    );
    // A new transport gets its own CONNECT, once, first.
    script.conn.handle_closed(script.now);
    script.conn.connect(script.now);
    let sent = script.sent();
    assert!(
        matches!(sent.as_slice(), [v5::Packet::Connect(_)]),
        "[5.0 MQTT-3.1.0-1] {sent:?}"
    );
}

// ---- CONNACK -----------------------------------------------------------------

#[test]
fn connack_refusal_ends_the_connection_with_its_reason() {
    let mut script = Script::new(options());
    script
        .conn
        .publish(msg("t", "x", QoS::AtLeastOnce))
        .unwrap();
    script.connect();
    script.broker(refusal(
        ReasonCode::UseAnotherServer,
        ConnAckProperties {
            reason_string: Some(s("moving")),
            server_reference: Some(s("other.example:1883")),
            ..ConnAckProperties::default()
        },
    ));
    // [5.0 MQTT-4.13.2-1] a CONNACK reason code >= 0x80 closes the
    // connection: reported as over, nothing more sent on it.
    assert_eq!(
        script.events(),
        [Event::Disconnected {
            reason: DisconnectReason::Rejected(ServerReason {
                reason: ReasonCode::UseAnotherServer,
                reason_string: Some(s("moving")),
                server_reference: Some(s("other.example:1883")),
            })
        }],
        "[5.0 MQTT-4.13.2-1]"
    );
    assert_eq!(script.conn.state(), State::Disconnected);
    assert!(script.sent().is_empty(), "[5.0 MQTT-4.13.2-1]");
    // The queued message waits for a connection that is accepted.
    assert_eq!(script.conn.queued(), 1);
}

#[test]
fn final_refusals_give_up_and_passing_ones_are_retried() {
    for (reason, is_final) in [
        (ReasonCode::UnsupportedProtocolVersion, true),
        (ReasonCode::ClientIdentifierNotValid, true),
        (ReasonCode::BadUserNameOrPassword, true),
        (ReasonCode::NotAuthorized, true),
        (ReasonCode::Banned, true),
        (ReasonCode::BadAuthenticationMethod, true),
        (ReasonCode::ServerUnavailable, false),
        (ReasonCode::ServerBusy, false),
        (ReasonCode::QuotaExceeded, false),
        (ReasonCode::ConnectionRateExceeded, false),
        (ReasonCode::UseAnotherServer, false),
    ] {
        assert_eq!(is_final_reason(reason), is_final, "{reason:?}");
        let options = options().reconnect(
            ReconnectOptions::new(1).backoff(Duration::from_millis(100), Duration::from_secs(1)),
        );
        let mut script = Script::new(options);
        script.conn.start(script.now);
        assert_eq!(script.events(), [Event::OpenTransport { server: 0 }]);
        script.connect();
        script.broker(refusal(reason, ConnAckProperties::default()));
        let events = script.events();
        assert!(matches!(
            events.first(),
            Some(Event::Disconnected { reason: DisconnectReason::Rejected(r) }) if r.reason == reason
        ));
        let gave_up = events.contains(&Event::GaveUp);
        let retries = events.iter().any(|e| {
            matches!(
                e,
                Event::ReconnectScheduled { .. } | Event::OpenTransport { .. }
            )
        });
        assert_eq!(
            (gave_up, retries),
            (is_final, !is_final),
            "{reason:?}: {events:?}"
        );
    }
}

#[test]
fn assigned_client_identifier_is_used_from_then_on() {
    let mut script = Script::new(Options::new(s("")).protocol(Protocol::V5));
    assert_eq!(script.connect().client_id, "");
    script.broker(connack(
        false,
        ConnAckProperties {
            assigned_client_identifier: Some(s("auto-7f3a")),
            ..ConnAckProperties::default()
        },
    ));
    assert!(script.conn.is_connected());
    assert_eq!(script.conn.options().client_id, "auto-7f3a");
    script.conn.handle_closed(script.now);
    assert_eq!(script.connect().client_id, "auto-7f3a");
}

#[test]
fn a_client_id_of_our_own_is_kept_whatever_the_broker_assigns() {
    let mut script = Script::new(options());
    script.connect();
    script.broker(connack(
        false,
        ConnAckProperties {
            assigned_client_identifier: Some(s("other")),
            ..ConnAckProperties::default()
        },
    ));
    script.conn.handle_closed(script.now);
    assert_eq!(script.connect().client_id, "v5-client");
}

#[test]
fn server_keep_alive_replaces_ours() {
    let mut script = Script::connected_with(
        options().keep_alive(Duration::from_secs(60)),
        ConnAckProperties {
            server_keep_alive: Some(10),
            ..ConnAckProperties::default()
        },
    );
    // [5.0 MQTT-3.1.2-21] [5.0 MQTT-3.2.2-21] the broker's 10 s, not our 60 s.
    assert_eq!(
        script.conn.poll_timeout(),
        Some(Instant::from_millis(10_000)),
        "[5.0 MQTT-3.2.2-21]"
    );
    // [5.0 MQTT-3.1.2-20] nothing sent for the keep-alive period: PINGREQ.
    script.advance(Duration::from_millis(9_999));
    script.conn.handle_timeout(script.now);
    assert!(script.sent().is_empty());
    script.advance(Duration::from_millis(1));
    script.conn.handle_timeout(script.now);
    assert_eq!(script.sent(), [v5::Packet::PingReq], "[5.0 MQTT-3.1.2-21]");
    script.broker(v5::Packet::PingResp);
    // Half the server's keep-alive without an answer ends the connection.
    script.advance(Duration::from_secs(10));
    script.conn.handle_timeout(script.now);
    assert_eq!(script.sent(), [v5::Packet::PingReq]);
    script.advance(Duration::from_secs(5));
    script.conn.handle_timeout(script.now);
    assert_eq!(
        script.events(),
        [Event::Disconnected {
            reason: DisconnectReason::KeepAliveTimeout
        }]
    );

    // The next connection asks for 60 s again; a CONNACK without Server
    // Keep Alive leaves ours in force [5.0 MQTT-3.1.2-20].
    assert_eq!(script.connect().keep_alive, 60);
    let t0 = script.now;
    script.broker(connack(false, ConnAckProperties::default()));
    script.events();
    assert_eq!(
        script.conn.poll_timeout(),
        Some(t0 + Duration::from_secs(60)),
        "our keep alive again [5.0 MQTT-3.1.2-20]"
    );
}

#[test]
fn server_keep_alive_zero_turns_pings_off() {
    let mut script = Script::connected_with(
        options(),
        ConnAckProperties {
            server_keep_alive: Some(0),
            ..ConnAckProperties::default()
        },
    );
    // [5.0 MQTT-3.2.2-21] the broker's 0: no keep-alive at all.
    assert_eq!(script.conn.poll_timeout(), None, "[5.0 MQTT-3.2.2-21]");
    script.advance(Duration::from_secs(3600));
    script.conn.handle_timeout(script.now);
    assert!(script.sent().is_empty());
}

#[test]
fn session_present_on_a_clean_start_closes_the_connection() {
    let mut script = Script::new(options());
    script.connect();
    script.broker(connack(true, ConnAckProperties::default()));
    // [5.0 MQTT-3.2.2-4] Clean Start 1: we hold no session, so Session
    // Present 1 is wrong and the connection is closed.
    assert_eq!(
        violation(&script.events()),
        Some(&ProtocolViolation::SessionPresentOnCleanSession),
        "[5.0 MQTT-3.2.2-4]"
    );
    assert_eq!(script.conn.state(), State::Disconnected);
}

/// A persistent session with a QoS 1 message and a QoS 2 message in flight
/// (the QoS 2 one PUBREC'd), and an incoming QoS 2 message awaiting PUBREL.
fn persistent_session_in_flight() -> (Script, PublishId, PublishId) {
    let mut script = Script::connected(options().clean_session(false));
    let q1 = script
        .conn
        .publish(msg("out/1", "one", QoS::AtLeastOnce))
        .unwrap();
    let q2 = script
        .conn
        .publish(msg("out/2", "two", QoS::ExactlyOnce))
        .unwrap();
    // Message 3 gets its PUBREC: only its PUBREL is owed from then on.
    script
        .conn
        .publish(msg("out/3", "three", QoS::ExactlyOnce))
        .unwrap();
    assert_eq!(publishes(&script.sent()).len(), 3);
    script.broker(v5::Packet::PubRec(PubResponse::success(pid(3))));
    assert_eq!(
        script.sent(),
        [v5::Packet::PubRel(PubResponse::success(pid(3)))]
    );
    script.broker(incoming(
        QosPid::ExactlyOnce(pid(9)),
        Some("in"),
        Default::default(),
        "m",
    ));
    assert_eq!(
        script.sent(),
        [v5::Packet::PubRec(PubResponse::success(pid(9)))]
    );
    assert_eq!(messages(&script.events()).len(), 1);
    (script, q1, q2)
}

#[test]
fn a_persistent_session_is_kept_and_resumed() {
    let (mut script, q1, q2) = persistent_session_in_flight();
    script.conn.handle_closed(script.now);
    script.events();
    // [5.0 MQTT-3.1.2-23] expiry above 0: the state outlives the connection;
    // [5.0 MQTT-3.1.3-2] the same ClientID names it on the next CONNECT.
    let connect = script.connect();
    assert!(!connect.clean_start);
    assert_eq!(connect.client_id, "v5-client", "[5.0 MQTT-3.1.3-2]");
    assert_eq!(connect.properties.session_expiry_interval, Some(u32::MAX));
    script.broker(connack(true, ConnAckProperties::default()));
    assert_eq!(
        script.events(),
        [Event::Connected {
            session_present: true
        }]
    );
    let sent = script.sent();
    // [5.0 MQTT-4.4.0-1] the unacknowledged PUBLISH packets with their ids,
    // DUP 1 [5.0 MQTT-3.3.1-1], in their first order [5.0 MQTT-4.6.0-1], and
    // the PUBREL; [5.0 MQTT-4.3.3-6] no PUBLISH for the released message.
    assert_eq!(sent.len(), 3, "{sent:?}");
    let p1 = publish_of(&sent[0]);
    let p2 = publish_of(&sent[1]);
    assert_eq!(
        (p1.qos_pid, p1.dup),
        (QosPid::AtLeastOnce(pid(1)), true),
        "[5.0 MQTT-3.3.1-1]"
    );
    assert_eq!(
        (p2.qos_pid, p2.dup),
        (QosPid::ExactlyOnce(pid(2)), true),
        "[5.0 MQTT-4.6.0-1]"
    );
    assert_eq!(
        sent[2],
        v5::Packet::PubRel(PubResponse::success(pid(3))),
        "[5.0 MQTT-4.3.3-6]"
    );
    // [5.0 MQTT-4.1.0-1] [5.0 MQTT-3.1.2-23] the incoming QoS 2 id is still
    // remembered: a redelivery is acknowledged, not delivered again.
    let mut again = incoming(
        QosPid::ExactlyOnce(pid(9)),
        Some("in"),
        Default::default(),
        "m",
    );
    if let v5::Packet::Publish(p) = &mut again {
        p.dup = true;
    }
    script.broker(again);
    assert_eq!(
        script.sent(),
        [v5::Packet::PubRec(PubResponse::success(pid(9)))]
    );
    assert!(messages(&script.events()).is_empty(), "[5.0 MQTT-3.1.2-23]");
    script.broker(v5::Packet::PubAck(PubResponse::success(pid(1))));
    script.broker(v5::Packet::PubRec(PubResponse::success(pid(2))));
    assert_eq!(
        script.sent(),
        [v5::Packet::PubRel(PubResponse::success(pid(2)))]
    );
    script.broker(v5::Packet::PubComp(PubResponse::success(pid(2))));
    let events = script.events();
    assert!(events.contains(&Event::Published { id: q1 }));
    assert!(events.contains(&Event::Published { id: q2 }));
}

#[test]
fn session_present_zero_throws_the_session_away() {
    let (mut script, _, _) = persistent_session_in_flight();
    let events = script.reconnect(false, ConnAckProperties::default());
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::SessionLost { .. })),
        "{events:?}"
    );
    let sent = script.sent();
    // [5.0 MQTT-3.2.2-5] nothing is resent as part of the old session: no
    // DUP copies, no PUBREL; the messages start over as new ones (DUP 0).
    assert!(
        !sent.iter().any(|p| matches!(p, v5::Packet::PubRel(_))),
        "[5.0 MQTT-3.2.2-5]"
    );
    assert!(
        publishes(&sent).iter().all(|p| !p.dup),
        "[5.0 MQTT-3.2.2-5] {sent:?}"
    );
    // The incoming QoS 2 id is forgotten: the same id is a new message.
    script.broker(incoming(
        QosPid::ExactlyOnce(pid(9)),
        Some("in"),
        Default::default(),
        "m",
    ));
    assert_eq!(messages(&script.events()).len(), 1, "[5.0 MQTT-3.2.2-5]");
}

#[test]
fn clean_start_drops_the_session_on_every_connection() {
    let mut script = Script::connected(options());
    script.broker(incoming(
        QosPid::ExactlyOnce(pid(4)),
        Some("in"),
        Default::default(),
        "m",
    ));
    assert_eq!(messages(&script.events()).len(), 1);
    script.sent();
    script.conn.handle_closed(script.now);
    // [5.0 MQTT-3.1.2-4] Clean Start 1 on the new connection, and the
    // client drops its session too: id 4 is a new message again.
    assert!(script.connect().clean_start, "[5.0 MQTT-3.1.2-4]");
    script.broker(connack(false, ConnAckProperties::default()));
    script.events();
    script.broker(incoming(
        QosPid::ExactlyOnce(pid(4)),
        Some("in"),
        Default::default(),
        "m",
    ));
    assert_eq!(messages(&script.events()).len(), 1, "[5.0 MQTT-3.1.2-4]");
}

#[test]
fn connack_properties_are_readable() {
    let props = ConnAckProperties {
        receive_maximum: Some(20),
        maximum_qos: Some(QoS::AtLeastOnce),
        retain_available: Some(false),
        maximum_packet_size: Some(2048),
        topic_alias_maximum: Some(4),
        reason_string: Some(s("welcome")),
        user_properties: vec![user("cluster", "eu-1")],
        wildcard_subscription_available: Some(false),
        subscription_identifiers_available: Some(true),
        shared_subscription_available: Some(false),
        response_information: Some(s("replies/v5-client")),
        ..ConnAckProperties::default()
    };
    let mut script = Script::new(options());
    assert_eq!(script.conn.connack_properties(), None);
    script.connect();
    script.broker(connack(false, props.clone()));
    assert_eq!(script.conn.connack_properties(), Some(&props));
    // A new transport: nothing negotiated until its CONNACK.
    script.conn.handle_closed(script.now);
    script.connect();
    assert_eq!(script.conn.connack_properties(), None);
    script.broker(connack(false, ConnAckProperties::default()));
    assert_eq!(
        script.conn.connack_properties(),
        Some(&ConnAckProperties::default())
    );
}

// ---- flow control ------------------------------------------------------------

#[test]
fn broker_receive_maximum_bounds_publishes_in_flight() {
    let mut script = Script::connected_with(
        options().max_inflight(64),
        ConnAckProperties {
            receive_maximum: Some(2),
            ..ConnAckProperties::default()
        },
    );
    let mut outstanding = std::collections::BTreeSet::new();
    let mut max_outstanding = 0;
    let mut track = |sent: &[v5::Packet], outstanding: &mut std::collections::BTreeSet<u16>| {
        for p in publishes(sent) {
            if let Some(id) = p.qos_pid.pid() {
                outstanding.insert(id.get());
            }
        }
        max_outstanding = max_outstanding.max(outstanding.len());
        max_outstanding
    };
    for i in 0..4 {
        let qos = if i % 2 == 0 {
            QoS::AtLeastOnce
        } else {
            QoS::ExactlyOnce
        };
        script.conn.publish(msg("t", "x", qos)).unwrap();
        // QoS 0 is not bounded by the quota: those between the first two
        // go out, those behind a held message keep their place.
        if i == 0 {
            script
                .conn
                .publish(msg("t", "zero", QoS::AtMostOnce))
                .unwrap();
        }
    }
    let sent = script.sent();
    // [5.0 MQTT-4.9.0-1] the quota starts at the broker's 2;
    // [5.0 MQTT-4.9.0-2] each QoS>0 PUBLISH uses one, none goes at zero.
    assert_eq!(track(&sent, &mut outstanding), 2, "[5.0 MQTT-4.9.0-1]");
    let zeros = publishes(&sent)
        .iter()
        .filter(|p| p.qos_pid == QosPid::AtMostOnce)
        .count();
    assert_eq!(zeros, 1, "QoS 0 is not held back by the quota");
    assert_eq!(script.conn.inflight(), 2);
    assert_eq!(script.conn.queued(), 2);

    // PUBACK 1 frees one unit: one more PUBLISH, never more than 2
    // outstanding [5.0 MQTT-3.3.4-7].
    script.broker(v5::Packet::PubAck(PubResponse::success(pid(1))));
    outstanding.remove(&1);
    let sent = script.sent();
    assert_eq!(publishes(&sent).len(), 1);
    assert!(track(&sent, &mut outstanding) <= 2, "[5.0 MQTT-3.3.4-7]");
    // A PUBREC below 0x80 does not free the QoS 2 message's unit: it is
    // unacknowledged until PUBCOMP [5.0 MQTT-3.3.4-7].
    script.broker(v5::Packet::PubRec(PubResponse::success(pid(2))));
    let sent = script.sent();
    assert_eq!(
        sent,
        [v5::Packet::PubRel(PubResponse::success(pid(2)))],
        "[5.0 MQTT-3.3.4-7]"
    );
    script.broker(v5::Packet::PubComp(PubResponse::success(pid(2))));
    outstanding.remove(&2);
    let sent = script.sent();
    assert_eq!(publishes(&sent).len(), 1);
    assert!(track(&sent, &mut outstanding) <= 2, "[5.0 MQTT-4.9.0-2]");
    assert_eq!((script.conn.inflight(), script.conn.queued()), (2, 0));
}

#[test]
fn an_error_pubrec_gives_its_quota_back() {
    let mut script = Script::connected_with(
        options(),
        ConnAckProperties {
            receive_maximum: Some(1),
            ..ConnAckProperties::default()
        },
    );
    script
        .conn
        .publish(msg("t", "a", QoS::ExactlyOnce))
        .unwrap();
    script
        .conn
        .publish(msg("t", "b", QoS::ExactlyOnce))
        .unwrap();
    assert_eq!(publishes(&script.sent()).len(), 1);
    // [5.0 MQTT-3.3.4-7] a PUBREC >= 0x80 acknowledges it: the next goes.
    script.broker(v5::Packet::PubRec(ack(
        pid(1),
        ReasonCode::QuotaExceeded,
        None,
    )));
    let sent = script.sent();
    assert_eq!(publishes(&sent).len(), 1, "[5.0 MQTT-3.3.4-7] {sent:?}");
    assert!(!sent.iter().any(|p| matches!(p, v5::Packet::PubRel(_))));
}

#[test]
fn at_zero_quota_every_other_packet_still_flows() {
    let mut script = Script::connected_with(
        options().keep_alive(Duration::from_secs(30)),
        ConnAckProperties {
            receive_maximum: Some(1),
            ..ConnAckProperties::default()
        },
    );
    script
        .conn
        .publish(msg("t", "a", QoS::AtLeastOnce))
        .unwrap();
    assert_eq!(publishes(&script.sent()).len(), 1);
    // Quota 0: QoS 0 is not bounded by it.
    script
        .conn
        .publish(msg("t", "zero", QoS::AtMostOnce))
        .unwrap();
    let sent = script.sent();
    assert_eq!(publish_of(&sent[0]).qos_pid, QosPid::AtMostOnce);
    // A QoS 1 message waits (and a QoS 0 one behind it keeps its place).
    script
        .conn
        .publish(msg("t", "b", QoS::AtLeastOnce))
        .unwrap();
    script
        .conn
        .publish(msg("t", "zero-2", QoS::AtMostOnce))
        .unwrap();
    // [5.0 MQTT-3.3.4-8] [5.0 MQTT-4.9.0-3] subscribe, unsubscribe and the
    // acks of incoming messages go out at once.
    script
        .conn
        .subscribe(vec![(filter("s"), QoS::AtLeastOnce)])
        .unwrap();
    script.conn.unsubscribe(vec![filter("u")]).unwrap();
    script.broker(incoming(
        QosPid::AtLeastOnce(pid(5)),
        Some("in"),
        Default::default(),
        "1",
    ));
    script.broker(incoming(
        QosPid::ExactlyOnce(pid(6)),
        Some("in"),
        Default::default(),
        "2",
    ));
    script.broker(v5::Packet::PubRel(PubResponse::success(pid(6))));
    let sent = script.sent();
    let kinds: Vec<PacketType> = sent.iter().map(v5::Packet::packet_type).collect();
    assert_eq!(
        kinds,
        [
            PacketType::Subscribe,
            PacketType::Unsubscribe,
            PacketType::PubAck,
            PacketType::PubRec,
            PacketType::PubComp,
        ],
        "[5.0 MQTT-3.3.4-8] [5.0 MQTT-4.9.0-3]"
    );
    // Keep-alive still runs.
    script.advance(Duration::from_secs(30));
    script.conn.handle_timeout(script.now);
    assert_eq!(script.sent(), [v5::Packet::PingReq], "[5.0 MQTT-4.9.0-3]");
    assert_eq!(script.conn.queued(), 2);
    // The quota back: the waiting messages go, in order.
    script.broker(v5::Packet::PubAck(PubResponse::success(pid(1))));
    let sent = script.sent();
    let ps = publishes(&sent);
    assert_eq!(ps.len(), 2);
    assert_eq!(
        (&ps[0].payload[..], &ps[1].payload[..]),
        (&b"b"[..], &b"zero-2"[..])
    );
}

#[test]
fn a_broker_over_our_receive_maximum_breaks_the_protocol() {
    let mut script = Script::connected(options().receive_maximum(2).manual_acks(true));
    script.broker(incoming(
        QosPid::AtLeastOnce(pid(1)),
        Some("a"),
        Default::default(),
        "1",
    ));
    script.broker(incoming(
        QosPid::ExactlyOnce(pid(2)),
        Some("a"),
        Default::default(),
        "2",
    ));
    // QoS 0 does not count.
    script.broker(incoming(
        QosPid::AtMostOnce,
        Some("a"),
        Default::default(),
        "0",
    ));
    // A DUP copy of an unacknowledged one takes no new place.
    let mut copy = incoming(
        QosPid::AtLeastOnce(pid(1)),
        Some("a"),
        Default::default(),
        "1",
    );
    if let v5::Packet::Publish(p) = &mut copy {
        p.dup = true;
    }
    script.broker(copy);
    let events = script.events();
    assert_eq!(violation(&events), None, "{events:?}");
    assert_eq!(messages(&events).len(), 3);
    // A third unacknowledged one exceeds our 2.
    script.broker(incoming(
        QosPid::AtLeastOnce(pid(3)),
        Some("a"),
        Default::default(),
        "3",
    ));
    assert_eq!(
        violation(&script.events()),
        Some(&ProtocolViolation::ReceiveMaximumExceeded)
    );
}

#[test]
fn acknowledged_messages_free_our_receive_maximum() {
    let mut script = Script::connected(options().receive_maximum(1).manual_acks(true));
    script.broker(incoming(
        QosPid::AtLeastOnce(pid(1)),
        Some("a"),
        Default::default(),
        "1",
    ));
    let token = script
        .events()
        .into_iter()
        .find_map(|e| match e {
            Event::Message { ack, .. } => ack,
            _ => None,
        })
        .unwrap();
    script.conn.ack(token).unwrap();
    assert_eq!(
        script.sent(),
        [v5::Packet::PubAck(PubResponse::success(pid(1)))]
    );
    script.broker(incoming(
        QosPid::AtLeastOnce(pid(2)),
        Some("a"),
        Default::default(),
        "2",
    ));
    let events = script.events();
    assert_eq!(violation(&events), None);
    assert_eq!(messages(&events).len(), 1);
}

// ---- Maximum Packet Size, Maximum QoS, Retain Available --------------------

#[test]
fn nothing_larger_than_the_broker_maximum_is_sent() {
    let max = 64;
    let mut script = Script::connected_with(
        options(),
        ConnAckProperties {
            maximum_packet_size: Some(max),
            ..ConnAckProperties::default()
        },
    );
    let big = script
        .conn
        .publish(msg("t", "x".repeat(100).leak(), QoS::AtLeastOnce))
        .unwrap();
    let big0 = script
        .conn
        .publish(msg("t", "y".repeat(100).leak(), QoS::AtMostOnce))
        .unwrap();
    let small = script
        .conn
        .publish(msg("t", "fits", QoS::AtLeastOnce))
        .unwrap();
    let raw = script.raw_sent();
    // [5.0 MQTT-3.2.2-15] every packet within the broker's maximum.
    assert!(
        packet_lengths(&raw).iter().all(|&n| n <= max as usize),
        "[5.0 MQTT-3.2.2-15]"
    );
    let sent = decode_all(&raw);
    assert_eq!(publishes(&sent).len(), 1);
    assert_eq!(publish_of(&sent[0]).payload, "fits");
    let events = script.events();
    for id in [big, big0] {
        assert!(
            events.contains(&Event::PublishAcked {
                id,
                reason: ReasonCode::PacketTooLarge,
                properties: AckProperties::default(),
            }),
            "{events:?}"
        );
    }
    script.broker(v5::Packet::PubAck(PubResponse::success(pid(1))));
    assert_eq!(script.events(), [Event::Published { id: small }]);
    // A request too large for the broker is refused at once.
    let long = filter(&"f".repeat(80));
    assert!(matches!(
        script.conn.subscribe(vec![(long, QoS::AtMostOnce)]),
        Err(SubscribeError::TooLarge { max: 64, .. })
    ));
    assert!(script.sent().is_empty(), "[5.0 MQTT-3.2.2-15]");
}

#[test]
fn a_topic_alias_never_pushes_a_publish_past_the_broker_maximum() {
    let max = 40;
    let mut script = Script::connected_with(
        options().topic_aliases(0, 4),
        ConnAckProperties {
            maximum_packet_size: Some(max),
            topic_alias_maximum: Some(4),
            ..ConnAckProperties::default()
        },
    );
    // A PUBLISH of exactly the broker's maximum without an alias: the
    // alias property would add three bytes.
    // 1 + 1 (fixed header) + 3 (topic "t") + 1 (no properties) + payload.
    let payload = "p".repeat(max as usize - 6).leak();
    let message = msg("t", payload, QoS::AtMostOnce);
    script.conn.publish(message.clone()).unwrap();
    script.conn.publish(message).unwrap();
    let raw = script.raw_sent();
    // [5.0 MQTT-3.2.2-15] whatever the alias, no packet above the maximum.
    assert!(
        packet_lengths(&raw).iter().all(|&n| n <= max as usize),
        "[5.0 MQTT-3.2.2-15] {:?}",
        packet_lengths(&raw)
    );
    let sent = decode_all(&raw);
    let events = script.events();
    // Both delivered, none refused: the topic goes in full when an alias
    // would not fit.
    assert_eq!(publishes(&sent).len(), 2, "{events:?}");
    assert!(publishes(&sent)
        .iter()
        .all(|p| p.properties.topic_alias.is_none()));

    // An alias set by a small PUBLISH; with a one-byte topic, the alias
    // alone (three bytes) is larger than the topic it stands for (three
    // bytes with its length, minus the two of the empty topic).
    script
        .conn
        .publish(msg("t", "small", QoS::AtMostOnce))
        .unwrap();
    script
        .conn
        .publish(msg("t", payload, QoS::AtMostOnce))
        .unwrap();
    script
        .conn
        .publish(msg("t", "small", QoS::AtMostOnce))
        .unwrap();
    let raw = script.raw_sent();
    assert!(
        packet_lengths(&raw).iter().all(|&n| n <= max as usize),
        "[5.0 MQTT-3.2.2-15] {:?}",
        packet_lengths(&raw)
    );
    let sent = decode_all(&raw);
    let wire: Vec<(Option<&str>, Option<u16>)> = publishes(&sent)
        .iter()
        .map(|p| (p.topic.as_deref(), p.properties.topic_alias))
        .collect();
    assert_eq!(
        wire,
        [(Some("t"), Some(1)), (Some("t"), None), (None, Some(1))]
    );
}

#[test]
fn an_incoming_packet_larger_than_ours_breaks_the_protocol() {
    let mut script = Script::new(options().max_packet_size(128));
    // Our maximum is announced in CONNECT.
    assert_eq!(script.connect().properties.maximum_packet_size, Some(128));
    script.broker(connack(false, ConnAckProperties::default()));
    script.events();
    script.broker(incoming(
        QosPid::AtMostOnce,
        Some("t"),
        Default::default(),
        "x",
    ));
    assert_eq!(messages(&script.events()).len(), 1);
    script.broker(incoming(
        QosPid::AtMostOnce,
        Some("t"),
        Default::default(),
        "y".repeat(200).leak(),
    ));
    assert!(matches!(
        violation(&script.events()),
        Some(ProtocolViolation::Malformed(DecodeError::PacketTooLarge {
            max: 128,
            ..
        }))
    ));
}

#[test]
fn maximum_qos_and_retain_available_are_respected() {
    let mut script = Script::connected_with(
        options(),
        ConnAckProperties {
            maximum_qos: Some(QoS::AtLeastOnce),
            retain_available: Some(false),
            ..ConnAckProperties::default()
        },
    );
    let q2 = script
        .conn
        .publish(msg("t", "2", QoS::ExactlyOnce))
        .unwrap();
    let retained = script
        .conn
        .publish(msg("t", "r", QoS::AtMostOnce).retained(true))
        .unwrap();
    let q1 = script
        .conn
        .publish(msg("t", "1", QoS::AtLeastOnce))
        .unwrap();
    let sent = script.sent();
    // [5.0 MQTT-3.2.2-11] nothing above QoS 1; [5.0 MQTT-3.2.2-14] nothing
    // retained.
    let ps = publishes(&sent);
    assert_eq!(ps.len(), 1);
    assert!(
        ps.iter().all(|p| p.qos_pid.qos() <= QoS::AtLeastOnce),
        "[5.0 MQTT-3.2.2-11]"
    );
    assert!(ps.iter().all(|p| !p.retain), "[5.0 MQTT-3.2.2-14]");
    let events = script.events();
    let refused = |id, reason| Event::PublishAcked {
        id,
        reason,
        properties: AckProperties::default(),
    };
    assert!(
        events.contains(&refused(q2, ReasonCode::QoSNotSupported)),
        "{events:?}"
    );
    assert!(events.contains(&refused(retained, ReasonCode::RetainNotSupported)));
    script.broker(v5::Packet::PubAck(PubResponse::success(pid(1))));
    assert_eq!(script.events(), [Event::Published { id: q1 }]);

    // Maximum QoS 0: QoS 1 is refused too.
    let mut script = Script::connected_with(
        options(),
        ConnAckProperties {
            maximum_qos: Some(QoS::AtMostOnce),
            ..ConnAckProperties::default()
        },
    );
    let q1 = script
        .conn
        .publish(msg("t", "1", QoS::AtLeastOnce))
        .unwrap();
    assert!(publishes(&script.sent()).is_empty(), "[5.0 MQTT-3.2.2-11]");
    assert!(script
        .events()
        .contains(&refused(q1, ReasonCode::QoSNotSupported)));
}

#[test]
fn our_acks_carry_no_reason_string_or_user_properties() {
    // A broker with a tiny maximum: what we send in answer must fit.
    let max = 16;
    let mut script = Script::connected_with(
        options().authentication(s("m"), None),
        ConnAckProperties {
            maximum_packet_size: Some(max),
            authentication_method: Some(s("m")),
            ..ConnAckProperties::default()
        },
    );
    script.broker(incoming(
        QosPid::AtLeastOnce(pid(1)),
        Some("a"),
        Default::default(),
        "1",
    ));
    script.broker(incoming(
        QosPid::ExactlyOnce(pid(2)),
        Some("a"),
        Default::default(),
        "2",
    ));
    script.broker(v5::Packet::PubRel(PubResponse::success(pid(2))));
    script
        .conn
        .publish(msg("t", "x", QoS::ExactlyOnce))
        .unwrap();
    let raw = script.raw_sent();
    script.broker(v5::Packet::PubRec(PubResponse::success(pid(1))));
    let raw_pubrel = script.raw_sent();
    script.conn.reauthenticate(None).unwrap();
    let raw_auth = script.raw_sent();
    script.conn.disconnect(script.now, Duration::ZERO);
    let raw_disconnect = script.raw_sent();
    let all = [raw, raw_pubrel, raw_auth, raw_disconnect].concat();
    assert!(packet_lengths(&all).iter().all(|&n| n <= max as usize));
    let sent = decode_all(&all);
    let mut kinds = Vec::new();
    for p in &sent {
        kinds.push(p.packet_type());
        match p {
            // [5.0 MQTT-3.4.2-1] [5.0 MQTT-3.5.2-1] [5.0 MQTT-3.6.2-1]
            // [5.0 MQTT-3.7.2-1] success, a code each packet allows;
            // [5.0 MQTT-3.4.2-2] [5.0 MQTT-3.4.2-3] [5.0 MQTT-3.5.2-2]
            // [5.0 MQTT-3.5.2-3] [5.0 MQTT-3.6.2-2] [5.0 MQTT-3.6.2-3]
            // [5.0 MQTT-3.7.2-2] [5.0 MQTT-3.7.2-3] no reason string or user
            // property that could push them past the broker's maximum.
            v5::Packet::PubAck(a)
            | v5::Packet::PubRec(a)
            | v5::Packet::PubRel(a)
            | v5::Packet::PubComp(a) => {
                assert_eq!(a.reason_code, ReasonCode::Success, "[5.0 MQTT-3.4.2-1]");
                assert_eq!(a.properties, AckProperties::default(), "[5.0 MQTT-3.4.2-2]");
            }
            // [5.0 MQTT-3.15.2-2] [5.0 MQTT-3.15.2-3] AUTH carries the method
            // and data only.
            v5::Packet::Auth(a) => {
                assert_eq!(a.properties.reason_string, None, "[5.0 MQTT-3.15.2-2]");
                assert!(
                    a.properties.user_properties.is_empty(),
                    "[5.0 MQTT-3.15.2-3]"
                );
            }
            // [5.0 MQTT-3.14.2-3] [5.0 MQTT-3.14.2-4] DISCONNECT likewise.
            v5::Packet::Disconnect(d) => {
                assert_eq!(
                    d.properties,
                    DisconnectProperties::default(),
                    "[5.0 MQTT-3.14.2-3]"
                );
            }
            v5::Packet::Publish(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        kinds,
        [
            PacketType::PubAck,
            PacketType::PubRec,
            PacketType::PubComp,
            PacketType::Publish,
            PacketType::PubRel,
            PacketType::Auth,
            PacketType::Disconnect,
        ]
    );
}

// ---- topic aliases -----------------------------------------------------------

#[test]
fn outgoing_topic_aliases_are_set_then_used_within_the_broker_maximum() {
    let mut script = Script::connected_with(
        options().topic_aliases(0, 8),
        ConnAckProperties {
            topic_alias_maximum: Some(2),
            ..ConnAckProperties::default()
        },
    );
    for (topic, qos) in [
        ("a/1", QoS::AtMostOnce),
        ("a/1", QoS::AtLeastOnce),
        ("b/2", QoS::ExactlyOnce),
        ("c/3", QoS::AtMostOnce),
        ("b/2", QoS::AtMostOnce),
        ("c/3", QoS::AtMostOnce),
    ] {
        script.conn.publish(msg(topic, "x", qos)).unwrap();
    }
    let sent = script.sent();
    let wire: Vec<(Option<&str>, Option<u16>)> = publishes(&sent)
        .iter()
        .map(|p| (p.topic.as_deref(), p.properties.topic_alias))
        .collect();
    assert_eq!(
        wire,
        [
            // The first PUBLISH to a topic carries topic and alias.
            (Some("a/1"), Some(1)),
            // Later ones the alias with an empty topic.
            (None, Some(1)),
            (Some("b/2"), Some(2)),
            // [5.0 MQTT-3.3.2-9] [5.0 MQTT-3.2.2-17] the broker allows 2.
            (Some("c/3"), None),
            (None, Some(2)),
            (Some("c/3"), None),
        ],
        "[5.0 MQTT-3.3.2-9] [5.0 MQTT-3.2.2-17]"
    );
    // [5.0 MQTT-3.3.2-8] never alias 0.
    assert!(publishes(&sent)
        .iter()
        .all(|p| p.properties.topic_alias != Some(0)));
}

#[test]
fn no_topic_alias_when_the_broker_allows_none() {
    for broker_max in [None, Some(0)] {
        let mut script = Script::connected_with(
            options().topic_aliases(0, 8),
            ConnAckProperties {
                topic_alias_maximum: broker_max,
                ..ConnAckProperties::default()
            },
        );
        // Even one the application put on the message is not sent.
        script
            .conn
            .publish(msg("a", "x", QoS::AtMostOnce).with_properties(alias(3)))
            .unwrap();
        script
            .conn
            .publish(msg("a", "x", QoS::AtLeastOnce))
            .unwrap();
        let sent = script.sent();
        // [5.0 MQTT-3.2.2-18] no Topic Alias at all.
        for p in publishes(&sent) {
            assert_eq!(p.topic.as_deref(), Some("a"));
            assert_eq!(p.properties.topic_alias, None, "[5.0 MQTT-3.2.2-18]");
        }
    }
}

#[test]
fn outgoing_aliases_start_over_on_a_new_connection() {
    let props = ConnAckProperties {
        topic_alias_maximum: Some(4),
        ..ConnAckProperties::default()
    };
    let mut script = Script::connected_with(
        options().clean_session(false).topic_aliases(0, 4),
        props.clone(),
    );
    script
        .conn
        .publish(msg("x/y", "1", QoS::AtLeastOnce))
        .unwrap();
    script
        .conn
        .publish(msg("x/y", "2", QoS::AtLeastOnce))
        .unwrap();
    let sent = script.sent();
    assert_eq!(publishes(&sent)[1].topic, None);
    script.reconnect(true, props);
    let sent = script.sent();
    let ps = publishes(&sent);
    assert_eq!(ps.len(), 2);
    // The resent messages go out on a connection whose aliases are unset:
    // the first carries the full topic again.
    assert!(ps.iter().all(|p| p.dup));
    assert_eq!(ps[0].topic.as_deref(), Some("x/y"));
    assert_eq!(ps[0].properties.topic_alias, Some(1));
    // An alias used on this connection was set on it.
    assert_eq!(
        (ps[1].topic.as_deref(), ps[1].properties.topic_alias),
        (None, Some(1))
    );
}

#[test]
fn a_resent_publish_carries_its_topic_when_the_new_broker_allows_no_alias() {
    let mut script = Script::connected_with(
        options().clean_session(false).topic_aliases(0, 4),
        ConnAckProperties {
            topic_alias_maximum: Some(4),
            ..ConnAckProperties::default()
        },
    );
    script
        .conn
        .publish(msg("x/y", "1", QoS::AtLeastOnce))
        .unwrap();
    script
        .conn
        .publish(msg("x/y", "2", QoS::AtLeastOnce))
        .unwrap();
    script.sent();
    script.reconnect(true, ConnAckProperties::default());
    let sent = script.sent();
    for p in publishes(&sent) {
        assert_eq!(p.topic.as_deref(), Some("x/y"), "[5.0 MQTT-3.2.2-18]");
        assert_eq!(p.properties.topic_alias, None, "[5.0 MQTT-3.2.2-18]");
    }
}

#[test]
fn incoming_topic_aliases_are_learned_and_used() {
    let mut script = Script::connected(options().topic_aliases(3, 0));
    // Our Topic Alias Maximum goes in CONNECT.
    assert_eq!(
        Script::new(options().topic_aliases(3, 0))
            .connect()
            .properties
            .topic_alias_maximum,
        Some(3)
    );
    // [5.0 MQTT-3.3.2-10] every alias from 1 to our maximum is accepted.
    for (n, topic) in [(1, "one"), (2, "two"), (3, "three")] {
        script.broker(incoming(QosPid::AtMostOnce, Some(topic), alias(n), "set"));
    }
    for n in [3, 1, 2] {
        script.broker(incoming(QosPid::AtLeastOnce(pid(n)), None, alias(n), "use"));
    }
    // A new topic for a known alias replaces it.
    script.broker(incoming(QosPid::AtMostOnce, Some("uno"), alias(1), "reset"));
    script.broker(incoming(QosPid::AtMostOnce, None, alias(1), "use"));
    let events = script.events();
    assert_eq!(violation(&events), None, "[5.0 MQTT-3.3.2-10] {events:?}");
    let topics: Vec<&str> = messages(&events).iter().map(|m| m.topic.as_str()).collect();
    assert_eq!(
        topics,
        ["one", "two", "three", "three", "one", "two", "uno", "uno"],
        "[5.0 MQTT-3.3.2-10]"
    );
    // The alias is the connection's business: it is not in the message.
    assert!(messages(&events)
        .iter()
        .all(|m| m.properties().topic_alias.is_none()));

    // [5.0 MQTT-3.3.2-7] the mappings die with the connection.
    script.reconnect(false, ConnAckProperties::default());
    script.broker(incoming(QosPid::AtMostOnce, None, alias(1), "stale"));
    assert_eq!(
        violation(&script.events()),
        Some(&ProtocolViolation::InvalidTopicAlias),
        "[5.0 MQTT-3.3.2-7]"
    );
}

#[test]
fn invalid_incoming_topic_aliases_break_the_protocol() {
    // Above our maximum, never set, or any alias when we allow none.
    let cases: [(u16, Option<&str>, u16); 3] = [(2, Some("t"), 3), (2, None, 2), (0, Some("t"), 1)];
    for (max, topic, n) in cases {
        let mut script = Script::connected(options().topic_aliases(max, 0));
        script.broker(incoming(QosPid::AtMostOnce, topic, alias(n), "x"));
        assert_eq!(
            violation(&script.events()),
            Some(&ProtocolViolation::InvalidTopicAlias),
            "max {max}, alias {n}"
        );
        assert!(script.sent().is_empty());
    }
    // Alias 0 (the codec will not encode it, so written by hand).
    let mut script = Script::connected(options().topic_aliases(2, 0));
    script
        .conn
        .handle_read(script.now, &[0x30, 8, 0, 1, b't', 3, 0x23, 0, 0, b'x']);
    let events = script.events();
    assert!(
        matches!(
            violation(&events),
            Some(ProtocolViolation::InvalidTopicAlias) | Some(ProtocolViolation::Malformed(_))
        ),
        "{events:?}"
    );
}

// ---- reason codes on acknowledgements -----------------------------------

#[test]
fn puback_with_an_error_code_ends_the_publish_for_good() {
    let mut script = Script::connected(options().clean_session(false));
    let id = script
        .conn
        .publish(msg("t", "x", QoS::AtLeastOnce))
        .unwrap();
    script.sent();
    script.broker(v5::Packet::PubAck(ack(
        pid(1),
        ReasonCode::NotAuthorized,
        Some("no"),
    )));
    assert_eq!(
        script.events(),
        [Event::PublishAcked {
            id,
            reason: ReasonCode::NotAuthorized,
            properties: AckProperties {
                reason_string: Some(s("no")),
                user_properties: Vec::new(),
            },
        }]
    );
    assert_eq!(
        (script.conn.inflight(), script.conn.packet_ids_in_use()),
        (0, 0)
    );
    // [5.0 MQTT-4.4.0-2] acknowledged: not sent again, not even after a
    // reconnect that resumes the session.
    script.reconnect(true, ConnAckProperties::default());
    assert!(publishes(&script.sent()).is_empty(), "[5.0 MQTT-4.4.0-2]");
    // The next message goes out as new.
    script
        .conn
        .publish(msg("t", "y", QoS::AtLeastOnce))
        .unwrap();
    assert!(!publish_of(&script.sent()[0]).dup);
    assert_eq!(script.conn.packet_ids_in_use(), 1);
}

#[test]
fn pubrec_with_an_error_code_ends_the_exchange_without_pubrel() {
    let mut script = Script::connected(options().clean_session(false));
    let id = script
        .conn
        .publish(msg("t", "x", QoS::ExactlyOnce))
        .unwrap();
    script.sent();
    script.broker(v5::Packet::PubRec(ack(
        pid(1),
        ReasonCode::QuotaExceeded,
        None,
    )));
    // [5.0 MQTT-4.3.3-4] PUBREL answers only a PUBREC below 0x80.
    assert!(script.sent().is_empty(), "[5.0 MQTT-4.3.3-4]");
    assert_eq!(
        script.events(),
        [Event::PublishAcked {
            id,
            reason: ReasonCode::QuotaExceeded,
            properties: AckProperties::default(),
        }]
    );
    assert_eq!(script.conn.packet_ids_in_use(), 0);
    // [5.0 MQTT-4.4.0-2] never retransmitted.
    script.reconnect(true, ConnAckProperties::default());
    assert!(script.sent().is_empty(), "[5.0 MQTT-4.4.0-2]");
    // A PUBCOMP for it now is for an unknown id.
    script.broker(v5::Packet::PubComp(PubResponse::success(pid(1))));
    assert!(matches!(
        violation(&script.events()),
        Some(ProtocolViolation::UnknownPacketId { .. })
    ));
}

#[test]
fn pubcomp_with_an_error_code_is_reported() {
    let mut script = Script::connected(options());
    let id = script
        .conn
        .publish(msg("t", "x", QoS::ExactlyOnce))
        .unwrap();
    script.sent();
    script.broker(v5::Packet::PubRec(PubResponse::success(pid(1))));
    script.sent();
    script.broker(v5::Packet::PubComp(ack(
        pid(1),
        ReasonCode::PacketIdentifierNotFound,
        None,
    )));
    assert_eq!(
        script.events(),
        [Event::PublishAcked {
            id,
            reason: ReasonCode::PacketIdentifierNotFound,
            properties: AckProperties::default(),
        }]
    );
    assert_eq!(script.conn.packet_ids_in_use(), 0);
    assert!(script.sent().is_empty());
}

#[test]
fn no_matching_subscribers_is_a_success() {
    let mut script = Script::connected(options());
    let q1 = script
        .conn
        .publish(msg("t", "1", QoS::AtLeastOnce))
        .unwrap();
    let q2 = script
        .conn
        .publish(msg("t", "2", QoS::ExactlyOnce))
        .unwrap();
    script.sent();
    script.broker(v5::Packet::PubAck(ack(
        pid(1),
        ReasonCode::NoMatchingSubscribers,
        None,
    )));
    // [5.0 MQTT-4.3.3-4] a PUBREC below 0x80 is answered with PUBREL.
    script.broker(v5::Packet::PubRec(ack(
        pid(2),
        ReasonCode::NoMatchingSubscribers,
        None,
    )));
    assert_eq!(
        script.sent(),
        [v5::Packet::PubRel(PubResponse::success(pid(2)))],
        "[5.0 MQTT-4.3.3-4]"
    );
    script.broker(v5::Packet::PubComp(PubResponse::success(pid(2))));
    let events = script.events();
    assert_eq!(
        events,
        [
            Event::PublishAcked {
                id: q1,
                reason: ReasonCode::NoMatchingSubscribers,
                properties: AckProperties::default(),
            },
            Event::Published { id: q2 },
        ]
    );
    assert!(!ReasonCode::NoMatchingSubscribers.is_error());
}

#[test]
fn ack_properties_on_a_success_are_reported() {
    let mut script = Script::connected(options());
    let id = script
        .conn
        .publish(msg("t", "1", QoS::AtLeastOnce))
        .unwrap();
    script.sent();
    let properties = AckProperties {
        reason_string: Some(s("stored")),
        user_properties: vec![user("node", "3"), user("node", "1")],
    };
    script.broker(v5::Packet::PubAck(PubResponse {
        pid: pid(1),
        reason_code: ReasonCode::Success,
        properties: properties.clone(),
    }));
    assert_eq!(
        script.events(),
        [Event::PublishAcked {
            id,
            reason: ReasonCode::Success,
            properties,
        }]
    );
}

#[test]
fn qos1_and_qos2_flows_at_5_0() {
    let mut script = Script::connected(options());
    let a = script
        .conn
        .publish(msg("t", "a", QoS::AtLeastOnce))
        .unwrap();
    let b = script
        .conn
        .publish(msg("t", "b", QoS::ExactlyOnce))
        .unwrap();
    let c = script
        .conn
        .publish(msg("t", "c", QoS::ExactlyOnce))
        .unwrap();
    let z = script.conn.publish(msg("t", "z", QoS::AtMostOnce)).unwrap();
    let sent = script.sent();
    let ps = publishes(&sent);
    // [5.0 MQTT-4.3.2-1] [5.0 MQTT-4.3.3-1] unused ids; [5.0 MQTT-4.3.2-2]
    // [5.0 MQTT-4.3.3-2] first sent with DUP 0 and their QoS;
    // [5.0 MQTT-4.3.1-1] QoS 0 with DUP 0 and no id.
    assert_eq!(
        ps.iter().map(|p| (p.qos_pid, p.dup)).collect::<Vec<_>>(),
        [
            (QosPid::AtLeastOnce(pid(1)), false),
            (QosPid::ExactlyOnce(pid(2)), false),
            (QosPid::ExactlyOnce(pid(3)), false),
            (QosPid::AtMostOnce, false),
        ],
        "[5.0 MQTT-4.3.2-2] [5.0 MQTT-4.3.3-2] [5.0 MQTT-4.3.1-1]"
    );
    // QoS 0 is done once handed out.
    assert_eq!(script.events(), [Event::Published { id: z }]);
    // [5.0 MQTT-4.3.2-3] [5.0 MQTT-4.3.3-3] unacknowledged until their ack.
    assert_eq!(script.conn.inflight(), 3, "[5.0 MQTT-4.3.2-3]");
    script.broker(v5::Packet::PubAck(PubResponse::success(pid(1))));
    assert_eq!(script.events(), [Event::Published { id: a }]);
    // [5.0 MQTT-4.3.3-4] PUBREL with the PUBREC's id; [5.0 MQTT-4.6.0-4]
    // PUBRELs in the order the PUBRECs came.
    script.broker(v5::Packet::PubRec(PubResponse::success(pid(3))));
    script.broker(v5::Packet::PubRec(PubResponse::success(pid(2))));
    assert_eq!(
        script.sent(),
        [
            v5::Packet::PubRel(PubResponse::success(pid(3))),
            v5::Packet::PubRel(PubResponse::success(pid(2))),
        ],
        "[5.0 MQTT-4.3.3-4] [5.0 MQTT-4.6.0-4]"
    );
    // [5.0 MQTT-4.3.3-5] the PUBREL is unacknowledged until PUBCOMP: ids
    // stay in use.
    assert_eq!(script.conn.packet_ids_in_use(), 2, "[5.0 MQTT-4.3.3-5]");
    assert!(script.events().is_empty());
    script.broker(v5::Packet::PubComp(PubResponse::success(pid(2))));
    script.broker(v5::Packet::PubComp(PubResponse::success(pid(3))));
    assert_eq!(
        script.events(),
        [Event::Published { id: b }, Event::Published { id: c }]
    );
    assert_eq!(script.conn.packet_ids_in_use(), 0);
    // [5.0 MQTT-4.3.3-6] released messages are never sent again.
    script.advance(Duration::from_secs(1));
    assert!(publishes(&script.sent()).is_empty(), "[5.0 MQTT-4.3.3-6]");
}

#[test]
fn a_sent_qos2_message_is_not_expired() {
    let mut script = Script::connected(options().clean_session(false));
    let props = PublishProperties {
        message_expiry_interval: Some(1),
        ..PublishProperties::default()
    };
    let id = script
        .conn
        .publish(msg("t", "x", QoS::ExactlyOnce).with_properties(props))
        .unwrap();
    script.sent();
    script.advance(Duration::from_secs(60));
    script.conn.handle_timeout(script.now);
    // [5.0 MQTT-4.3.3-7] still resent long after its expiry interval, and
    // completes.
    script.reconnect(true, ConnAckProperties::default());
    let sent = script.sent();
    assert_eq!(publishes(&sent).len(), 1, "[5.0 MQTT-4.3.3-7]");
    assert_eq!(publishes(&sent)[0].qos_pid, QosPid::ExactlyOnce(pid(1)));
    script.broker(v5::Packet::PubRec(PubResponse::success(pid(1))));
    script.broker(v5::Packet::PubComp(PubResponse::success(pid(1))));
    assert!(
        script.events().contains(&Event::Published { id }),
        "[5.0 MQTT-4.3.3-7]"
    );
}

#[test]
fn incoming_publishes_are_answered_as_their_qos_demands() {
    let mut script = Script::connected(options());
    script.broker(incoming(
        QosPid::AtMostOnce,
        Some("a"),
        Default::default(),
        "0",
    ));
    script.broker(incoming(
        QosPid::AtLeastOnce(pid(7)),
        Some("a"),
        Default::default(),
        "1",
    ));
    script.broker(incoming(
        QosPid::ExactlyOnce(pid(8)),
        Some("a"),
        Default::default(),
        "2",
    ));
    // [5.0 MQTT-3.3.4-1] nothing, PUBACK, PUBREC; [5.0 MQTT-4.3.2-4]
    // [5.0 MQTT-4.3.3-8] with the PUBLISH's id; [5.0 MQTT-4.5.0-2] whatever
    // the application does with them (it has not looked yet).
    assert_eq!(
        script.sent(),
        [
            v5::Packet::PubAck(PubResponse::success(pid(7))),
            v5::Packet::PubRec(PubResponse::success(pid(8))),
        ],
        "[5.0 MQTT-3.3.4-1] [5.0 MQTT-4.3.2-4] [5.0 MQTT-4.3.3-8] [5.0 MQTT-4.5.0-2]"
    );
    // [5.0 MQTT-4.3.3-10] a repeat before PUBREL: PUBREC again, no second
    // delivery.
    let mut copy = incoming(
        QosPid::ExactlyOnce(pid(8)),
        Some("a"),
        Default::default(),
        "2",
    );
    if let v5::Packet::Publish(p) = &mut copy {
        p.dup = true;
    }
    script.broker(copy);
    assert_eq!(
        script.sent(),
        [v5::Packet::PubRec(PubResponse::success(pid(8)))],
        "[5.0 MQTT-4.3.3-10]"
    );
    // [5.0 MQTT-4.3.3-11] PUBREL answered with PUBCOMP, same id.
    script.broker(v5::Packet::PubRel(PubResponse::success(pid(8))));
    assert_eq!(
        script.sent(),
        [v5::Packet::PubComp(PubResponse::success(pid(8)))],
        "[5.0 MQTT-4.3.3-11]"
    );
    // [5.0 MQTT-4.3.2-5] after the PUBACK, id 7 is a new message whatever
    // its DUP; [5.0 MQTT-4.3.3-12] after the PUBCOMP, id 8 too.
    let mut again7 = incoming(
        QosPid::AtLeastOnce(pid(7)),
        Some("a"),
        Default::default(),
        "1b",
    );
    if let v5::Packet::Publish(p) = &mut again7 {
        p.dup = true;
    }
    script.broker(again7);
    script.broker(incoming(
        QosPid::ExactlyOnce(pid(8)),
        Some("a"),
        Default::default(),
        "2b",
    ));
    let events = script.events();
    let payloads: Vec<&[u8]> = messages(&events).iter().map(|m| &m.payload[..]).collect();
    assert_eq!(
        payloads,
        [&b"0"[..], b"1", b"2", b"1b", b"2b"],
        "[5.0 MQTT-4.3.3-10] [5.0 MQTT-4.3.2-5] [5.0 MQTT-4.3.3-12]"
    );
}

#[test]
fn an_expired_incoming_qos2_message_still_completes() {
    let mut script = Script::connected(options());
    let props = PublishProperties {
        message_expiry_interval: Some(1),
        ..PublishProperties::default()
    };
    script.broker(incoming(QosPid::ExactlyOnce(pid(3)), Some("a"), props, "x"));
    assert_eq!(
        script.sent(),
        [v5::Packet::PubRec(PubResponse::success(pid(3)))]
    );
    script.advance(Duration::from_secs(30));
    script.conn.handle_timeout(script.now);
    // [5.0 MQTT-4.3.3-13] the exchange ends with PUBCOMP all the same.
    script.broker(v5::Packet::PubRel(PubResponse::success(pid(3))));
    assert_eq!(
        script.sent(),
        [v5::Packet::PubComp(PubResponse::success(pid(3)))],
        "[5.0 MQTT-4.3.3-13]"
    );
}

#[test]
fn manual_acks_go_out_in_arrival_order() {
    let mut script = Script::connected(options().manual_acks(true));
    for (n, q) in [(1, 1), (2, 2), (3, 1), (4, 2)] {
        let qos_pid = if q == 1 {
            QosPid::AtLeastOnce(pid(n))
        } else {
            QosPid::ExactlyOnce(pid(n))
        };
        script.broker(incoming(qos_pid, Some("a"), Default::default(), "m"));
    }
    let tokens: Vec<_> = script
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Message { ack, .. } => ack,
            _ => None,
        })
        .collect();
    for &i in &[3, 1, 2, 0] {
        script.conn.ack(tokens[i]).unwrap();
    }
    // [5.0 MQTT-4.6.0-2] PUBACKs and [5.0 MQTT-4.6.0-3] PUBRECs in the order
    // their PUBLISH packets arrived.
    assert_eq!(
        script.sent(),
        [
            v5::Packet::PubAck(PubResponse::success(pid(1))),
            v5::Packet::PubRec(PubResponse::success(pid(2))),
            v5::Packet::PubAck(PubResponse::success(pid(3))),
            v5::Packet::PubRec(PubResponse::success(pid(4))),
        ],
        "[5.0 MQTT-4.6.0-2] [5.0 MQTT-4.6.0-3]"
    );
}

// ---- SUBACK and UNSUBACK ---------------------------------------------------

#[test]
fn suback_error_codes_are_rejections_and_the_filter_is_not_held() {
    let mut script = Script::connected(options().clean_session(false));
    let id = script
        .conn
        .subscribe(vec![
            (filter("ok/#"), QoS::AtLeastOnce),
            (filter("secret/#"), QoS::AtLeastOnce),
            (filter("zero"), QoS::AtMostOnce),
        ])
        .unwrap();
    script.sent();
    script.broker(v5::Packet::SubAck(SubAck {
        pid: id,
        properties: AckProperties::default(),
        reason_codes: vec![
            ReasonCode::GrantedQoS1,
            ReasonCode::NotAuthorized,
            ReasonCode::Success,
        ],
    }));
    assert_eq!(
        script.events(),
        [Event::Subscribed {
            id,
            outcomes: vec![
                SubscribeOutcome::Granted(QoS::AtLeastOnce),
                SubscribeOutcome::Rejected(ReasonCode::NotAuthorized),
                SubscribeOutcome::Granted(QoS::AtMostOnce),
            ],
        }]
    );
    let held: Vec<&str> = script
        .conn
        .subscriptions()
        .map(|(f, _)| f.as_str())
        .collect();
    assert_eq!(held, ["ok/#", "zero"]);
    // A lost session resubscribes only the held filters.
    script.reconnect(false, ConnAckProperties::default());
    let sent = script.sent();
    let filters: Vec<&str> = sent
        .iter()
        .flat_map(|p| match p {
            v5::Packet::Subscribe(s) => s.filters.iter().map(|(f, _)| f.as_str()).collect(),
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(filters, ["ok/#", "zero"]);
}

#[test]
fn unsuback_reason_codes_are_reported() {
    let mut script = Script::connected(options());
    let id = script
        .conn
        .unsubscribe(vec![filter("a"), filter("b")])
        .unwrap();
    let sent = script.sent();
    // [5.0 MQTT-3.10.1-1] first byte 0xA2 (checked by decoding it).
    assert!(matches!(sent.as_slice(), [v5::Packet::Unsubscribe(u)] if u.pid == id));
    script.broker(v5::Packet::UnsubAck(UnsubAck {
        pid: id,
        properties: AckProperties::default(),
        reason_codes: vec![ReasonCode::Success, ReasonCode::NoSubscriptionExisted],
    }));
    assert_eq!(
        script.events(),
        [Event::UnsubscribeAcked {
            id,
            reasons: vec![ReasonCode::Success, ReasonCode::NoSubscriptionExisted],
        }]
    );
    // All success: the 3.1.1 event.
    let id = script.conn.unsubscribe(vec![filter("c")]).unwrap();
    script.sent();
    script.broker(v5::Packet::UnsubAck(UnsubAck {
        pid: id,
        properties: AckProperties::default(),
        reason_codes: vec![ReasonCode::Success],
    }));
    assert_eq!(script.events(), [Event::Unsubscribed { id }]);
    assert_eq!(script.conn.packet_ids_in_use(), 0);
}

// ---- DISCONNECT ----------------------------------------------------------------

#[test]
fn a_server_disconnect_ends_the_connection_with_its_reason() {
    let mut script = Script::connected(options());
    script
        .conn
        .publish(msg("t", "x", QoS::AtLeastOnce))
        .unwrap();
    script.sent();
    script.broker(v5::Packet::Disconnect(Disconnect {
        reason_code: ReasonCode::UseAnotherServer,
        properties: DisconnectProperties {
            reason_string: Some(s("rebalancing")),
            server_reference: Some(s("b.example")),
            ..DisconnectProperties::default()
        },
    }));
    // [5.0 MQTT-4.13.2-1] a DISCONNECT >= 0x80: the connection is over.
    assert_eq!(
        script.events(),
        [Event::Disconnected {
            reason: DisconnectReason::ServerDisconnect(ServerReason {
                reason: ReasonCode::UseAnotherServer,
                reason_string: Some(s("rebalancing")),
                server_reference: Some(s("b.example")),
            }),
        }],
        "[5.0 MQTT-4.13.2-1]"
    );
    assert_eq!(script.conn.state(), State::Disconnected);
    assert!(script.sent().is_empty(), "[5.0 MQTT-4.13.2-1]");
    // Before CONNACK too.
    let mut script = Script::new(options());
    script.connect();
    script.broker(v5::Packet::Disconnect(Disconnect {
        reason_code: ReasonCode::ServerBusy,
        properties: DisconnectProperties::default(),
    }));
    assert!(matches!(
        script.events().as_slice(),
        [Event::Disconnected { reason: DisconnectReason::ServerDisconnect(r) }] if r.reason == ReasonCode::ServerBusy
    ));
}

#[test]
fn our_disconnect_is_a_5_0_normal_disconnection_and_the_last_packet() {
    let mut script = Script::connected(options());
    script.conn.disconnect(script.now, Duration::ZERO);
    let raw = script.raw_sent();
    // [5.0 MQTT-3.14.1-1] reserved flags 0.
    assert_eq!(raw[0], 0xE0, "[5.0 MQTT-3.14.1-1]");
    // [5.0 MQTT-3.14.2-1] reason Normal disconnection (0x00), one a client
    // may send.
    assert_eq!(
        decode_all(&raw),
        [v5::Packet::Disconnect(Disconnect {
            reason_code: ReasonCode::Success,
            properties: DisconnectProperties::default(),
        })],
        "[5.0 MQTT-3.14.2-1]"
    );
    // [5.0 MQTT-3.14.4-2] the connection reports it is over: the transport
    // is closed.
    assert_eq!(
        script.events(),
        [Event::Disconnected {
            reason: DisconnectReason::Requested
        }],
        "[5.0 MQTT-3.14.4-2]"
    );
    assert_eq!(script.conn.state(), State::Disconnected);
    // [5.0 MQTT-3.14.4-1] nothing after it: a publish waits for a new
    // connection, timers are quiet, bytes from the broker are ignored.
    script
        .conn
        .publish(msg("t", "late", QoS::AtMostOnce))
        .unwrap();
    script.broker(incoming(
        QosPid::AtLeastOnce(pid(1)),
        Some("a"),
        Default::default(),
        "x",
    ));
    script.advance(Duration::from_secs(600));
    script.fire_timers();
    assert!(script.raw_sent().is_empty(), "[5.0 MQTT-3.14.4-1]");
}

#[test]
fn a_draining_disconnect_sends_nothing_after_disconnect() {
    let mut script = Script::connected(options());
    script
        .conn
        .publish(msg("t", "x", QoS::AtLeastOnce))
        .unwrap();
    script.sent();
    script.conn.disconnect(script.now, Duration::from_secs(5));
    assert_eq!(
        script.conn.publish(msg("t", "y", QoS::AtMostOnce)),
        Err(PublishError::Closing)
    );
    script.broker(v5::Packet::PubAck(PubResponse::success(pid(1))));
    let sent = script.sent();
    assert!(
        matches!(sent.as_slice(), [v5::Packet::Disconnect(_)]),
        "{sent:?}"
    );
    // [5.0 MQTT-3.14.4-1] after DISCONNECT, nothing.
    script.broker(incoming(
        QosPid::AtLeastOnce(pid(2)),
        Some("a"),
        Default::default(),
        "x",
    ));
    assert!(script.raw_sent().is_empty(), "[5.0 MQTT-3.14.4-1]");
}

// ---- publish properties ------------------------------------------------------

#[test]
fn outgoing_message_properties_are_in_the_publish() {
    let mut script = Script::connected(options());
    let props = PublishProperties {
        payload_format_indicator: Some(v5::PayloadFormat::Utf8),
        message_expiry_interval: Some(120),
        response_topic: Some(s("replies/v5-client")),
        correlation_data: Some(Bytes::from_static(b"\x00\x01req")),
        user_properties: vec![user("b", "2"), user("a", "1"), user("b", "3")],
        content_type: Some(s("application/json")),
        ..PublishProperties::default()
    };
    script
        .conn
        .publish(msg("req", "{}", QoS::AtLeastOnce).with_properties(props.clone()))
        .unwrap();
    let sent = script.sent();
    let p = publish_of(&sent[0]);
    assert_eq!(p.properties, props);
    assert_eq!(p.topic.as_deref(), Some("req"));
    assert_eq!(p.payload, "{}");
}

#[test]
fn our_publish_carries_no_subscription_identifier() {
    let mut script = Script::connected(options());
    // Forwarding a received message as it is.
    let props = PublishProperties {
        subscription_identifiers: vec![5, 9],
        user_properties: vec![user("k", "v")],
        ..PublishProperties::default()
    };
    script
        .conn
        .publish(msg("fwd", "x", QoS::AtLeastOnce).with_properties(props))
        .unwrap();
    let sent = script.sent();
    let p = publish_of(&sent[0]);
    // [5.0 MQTT-3.3.4-6] no Subscription Identifier on a PUBLISH we send.
    assert!(
        p.properties.subscription_identifiers.is_empty(),
        "[5.0 MQTT-3.3.4-6]"
    );
    assert_eq!(p.properties.user_properties, [user("k", "v")]);
}

#[test]
fn incoming_properties_reach_the_message() {
    let mut script = Script::connected(options().topic_aliases(2, 0));
    let props = PublishProperties {
        payload_format_indicator: Some(v5::PayloadFormat::Utf8),
        message_expiry_interval: Some(30),
        topic_alias: Some(1),
        response_topic: Some(s("answers/7")),
        correlation_data: Some(Bytes::from_static(b"corr-7")),
        user_properties: vec![user("z", "1"), user("a", "2"), user("z", "0")],
        subscription_identifiers: vec![42, 7],
        content_type: Some(s("text/plain")),
    };
    script.broker(incoming(
        QosPid::AtLeastOnce(pid(1)),
        Some("in/t"),
        props.clone(),
        "body",
    ));
    let events = script.events();
    let got = messages(&events);
    assert_eq!(got.len(), 1);
    let m = got[0];
    assert_eq!(m.topic, "in/t");
    assert_eq!(m.payload, "body");
    let expected = PublishProperties {
        topic_alias: None,
        ..props
    };
    // User properties in their order, identifiers as sent.
    assert_eq!(m.properties(), &expected);
    // No properties: none on the message.
    script.broker(incoming(
        QosPid::AtMostOnce,
        Some("in/t"),
        Default::default(),
        "plain",
    ));
    let events = script.events();
    assert_eq!(messages(&events)[0].properties, None);
}

// ---- subscribe_with ------------------------------------------------------------

#[test]
fn subscribe_with_sends_its_options_and_identifier() {
    let mut script = Script::connected(options());
    let mut opts = SubscriptionOptions::new(QoS::AtLeastOnce);
    opts.no_local = true;
    opts.retain_as_published = true;
    opts.retain_handling = RetainHandling::DoNotSend;
    let plain = SubscriptionOptions::new(QoS::ExactlyOnce);
    let props = SubscribeProperties {
        subscription_identifier: Some(300),
        user_properties: vec![user("why", "test")],
    };
    let id = script
        .conn
        .subscribe_with(
            vec![(filter("chat/#"), opts), (filter("$share/g/jobs"), plain)],
            props.clone(),
        )
        .unwrap();
    let raw = script.raw_sent();
    // [5.0 MQTT-3.8.1-1] first byte 0x82.
    assert_eq!(raw[0], 0x82, "[5.0 MQTT-3.8.1-1]");
    // The options byte after "chat/#": QoS 1, no local, retain as
    // published, retain handling 2; [5.0 MQTT-3.8.3-5] bits 6 and 7 clear.
    let at = raw.windows(6).position(|w| w == b"chat/#").unwrap() + 6;
    assert_eq!(raw[at], 0b0010_1101, "[5.0 MQTT-3.8.3-5]");
    assert_eq!(raw[raw.len() - 1], 0b0000_0010, "[5.0 MQTT-3.8.3-5]");
    match decode_all(&raw).as_slice() {
        [v5::Packet::Subscribe(s)] => {
            assert_eq!(s.pid, id);
            assert_eq!(s.properties, props);
            // [5.0 MQTT-3.8.3-2] every filter with its options byte.
            assert_eq!(
                s.filters,
                [(filter("chat/#"), opts), (filter("$share/g/jobs"), plain)],
                "[5.0 MQTT-3.8.3-2]"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn subscription_identifiers_out_of_range_are_refused() {
    let mut script = Script::connected(options());
    for bad in [0, 268_435_456] {
        let props = SubscribeProperties {
            subscription_identifier: Some(bad),
            ..SubscribeProperties::default()
        };
        assert_eq!(
            script.conn.subscribe_with(
                vec![(filter("a"), SubscriptionOptions::new(QoS::AtMostOnce))],
                props
            ),
            Err(SubscribeError::InvalidProperties)
        );
    }
    assert!(script.sent().is_empty());
    assert_eq!(script.conn.subscriptions().count(), 0);
    assert_eq!(script.conn.packet_ids_in_use(), 0);
    // The largest is fine.
    let props = SubscribeProperties {
        subscription_identifier: Some(268_435_455),
        ..SubscribeProperties::default()
    };
    script
        .conn
        .subscribe_with(
            vec![(filter("a"), SubscriptionOptions::new(QoS::AtMostOnce))],
            props,
        )
        .unwrap();
    assert_eq!(script.sent().len(), 1);
}

#[test]
fn no_local_on_a_shared_subscription_is_refused() {
    let mut script = Script::connected(options());
    let mut opts = SubscriptionOptions::new(QoS::AtMostOnce);
    opts.no_local = true;
    // [5.0 MQTT-3.8.3-4] never No Local on a shared subscription: refused
    // at once rather than accepted and never sent.
    let result = script.conn.subscribe_with(
        vec![(filter("$share/g/t"), opts)],
        SubscribeProperties::default(),
    );
    assert_eq!(
        result,
        Err(SubscribeError::InvalidProperties),
        "[5.0 MQTT-3.8.3-4]"
    );
    assert!(script.sent().is_empty(), "[5.0 MQTT-3.8.3-4]");
    assert_eq!(script.conn.pending_requests(), 0);
    assert_eq!(script.conn.subscriptions().count(), 0);
    assert_eq!(script.conn.packet_ids_in_use(), 0);
}

#[test]
fn resubscribing_after_a_lost_session_keeps_options_and_identifiers() {
    let mut script = Script::connected(options().clean_session(false));
    let mut a = SubscriptionOptions::new(QoS::AtLeastOnce);
    a.no_local = true;
    a.retain_handling = RetainHandling::SendIfNew;
    let mut b = SubscriptionOptions::new(QoS::ExactlyOnce);
    b.retain_as_published = true;
    let c = SubscriptionOptions::new(QoS::AtMostOnce);
    let with_id = |id| SubscribeProperties {
        subscription_identifier: id,
        ..SubscribeProperties::default()
    };
    let ids = [
        script
            .conn
            .subscribe_with(vec![(filter("a/#"), a)], with_id(Some(11)))
            .unwrap(),
        script
            .conn
            .subscribe_with(vec![(filter("b/+"), b)], with_id(Some(22)))
            .unwrap(),
        script
            .conn
            .subscribe_with(vec![(filter("c"), c)], with_id(None))
            .unwrap(),
    ];
    script.sent();
    for id in ids {
        script.broker(v5::Packet::SubAck(SubAck {
            pid: id,
            properties: AckProperties::default(),
            reason_codes: vec![ReasonCode::Success],
        }));
    }
    script.events();
    // The broker lost the session: the filters are asked for again, each
    // with its options and identifier.
    script.reconnect(false, ConnAckProperties::default());
    let mut got: Vec<(Option<u32>, Filters)> = script
        .sent()
        .into_iter()
        .filter_map(|p| match p {
            v5::Packet::Subscribe(s) => Some((s.properties.subscription_identifier, s.filters)),
            _ => None,
        })
        .collect();
    got.sort_by_key(|(id, _)| *id);
    assert_eq!(
        got,
        [
            (None, vec![(filter("c"), c)]),
            (Some(11), vec![(filter("a/#"), a)]),
            (Some(22), vec![(filter("b/+"), b)]),
        ]
    );
}

// ---- AUTH ----------------------------------------------------------------------

fn auth(reason_code: ReasonCode, method: Option<&str>, data: Option<&'static str>) -> v5::Packet {
    v5::Packet::Auth(Auth {
        reason_code,
        properties: AuthProperties {
            authentication_method: method.map(s),
            authentication_data: data.map(|d| Bytes::from_static(d.as_bytes())),
            reason_string: None,
            user_properties: Vec::new(),
        },
    })
}

#[test]
fn enhanced_authentication_challenge_and_response() {
    let options = options().authentication(s("SCRAM-SHA-1"), Some(Bytes::from_static(b"first")));
    let mut script = Script::new(options);
    script
        .conn
        .publish(msg("t", "x", QoS::AtLeastOnce))
        .unwrap();
    script
        .conn
        .subscribe(vec![(filter("f"), QoS::AtMostOnce)])
        .unwrap();
    let connect = script.connect();
    assert_eq!(
        connect.properties.authentication_method.as_deref(),
        Some("SCRAM-SHA-1")
    );
    script.broker(auth(
        ReasonCode::ContinueAuthentication,
        Some("SCRAM-SHA-1"),
        Some("challenge"),
    ));
    assert_eq!(
        script.events(),
        [Event::Auth {
            reason: ReasonCode::ContinueAuthentication,
            properties: Box::new(AuthProperties {
                authentication_method: Some(s("SCRAM-SHA-1")),
                authentication_data: Some(Bytes::from_static(b"challenge")),
                reason_string: None,
                user_properties: Vec::new(),
            }),
        }]
    );
    script
        .conn
        .auth(Some(Bytes::from_static(b"response")))
        .unwrap();
    let raw = script.raw_sent();
    // [5.0 MQTT-3.15.1-1] flags 0.
    assert_eq!(raw[0], 0xF0);
    // [5.0 MQTT-4.12.0-3] [5.0 MQTT-3.15.2-1] reason 0x18; [5.0 MQTT-4.12.0-5]
    // the method of CONNECT. [5.0 MQTT-3.1.2-30] and nothing but AUTH
    // before CONNACK: the publish and the subscribe wait.
    assert_eq!(
        decode_all(&raw),
        [auth(
            ReasonCode::ContinueAuthentication,
            Some("SCRAM-SHA-1"),
            Some("response")
        )],
        "[5.0 MQTT-4.12.0-3] [5.0 MQTT-4.12.0-5] [5.0 MQTT-3.1.2-30]"
    );
    script.advance(Duration::from_secs(20));
    script.conn.handle_timeout(script.now);
    let waiting = script.sent();
    assert!(
        waiting
            .iter()
            .all(|p| matches!(p, v5::Packet::Auth(_) | v5::Packet::Disconnect(_))),
        "[5.0 MQTT-3.1.2-30] {waiting:?}"
    );
    script.broker(connack(
        false,
        ConnAckProperties {
            authentication_method: Some(s("SCRAM-SHA-1")),
            authentication_data: Some(Bytes::from_static(b"final")),
            ..ConnAckProperties::default()
        },
    ));
    assert!(script.conn.is_connected());
    let kinds: Vec<PacketType> = script.sent().iter().map(v5::Packet::packet_type).collect();
    assert_eq!(kinds, [PacketType::Subscribe, PacketType::Publish]);
}

#[test]
fn reauthentication_uses_the_first_method() {
    let options = options().authentication(s("TOKEN"), Some(Bytes::from_static(b"t1")));
    let mut script = Script::connected_with(
        options,
        ConnAckProperties {
            authentication_method: Some(s("TOKEN")),
            ..ConnAckProperties::default()
        },
    );
    script
        .conn
        .reauthenticate(Some(Bytes::from_static(b"t2")))
        .unwrap();
    // [5.0 MQTT-4.12.1-1] AUTH 0x19 with the method the connection was
    // authenticated with; [5.0 MQTT-3.15.2-1] a code a client may send.
    assert_eq!(
        script.sent(),
        [auth(ReasonCode::ReAuthenticate, Some("TOKEN"), Some("t2"))],
        "[5.0 MQTT-4.12.1-1]"
    );
    script.broker(auth(
        ReasonCode::ContinueAuthentication,
        Some("TOKEN"),
        Some("more"),
    ));
    assert!(matches!(
        script.events().as_slice(),
        [Event::Auth {
            reason: ReasonCode::ContinueAuthentication,
            ..
        }]
    ));
    script.conn.auth(Some(Bytes::from_static(b"t3"))).unwrap();
    assert_eq!(
        script.sent(),
        [auth(
            ReasonCode::ContinueAuthentication,
            Some("TOKEN"),
            Some("t3")
        )],
        "[5.0 MQTT-4.12.1-1]"
    );
    script.broker(auth(ReasonCode::Success, Some("TOKEN"), None));
    assert!(matches!(
        script.events().as_slice(),
        [Event::Auth {
            reason: ReasonCode::Success,
            ..
        }]
    ));
    assert!(script.conn.is_connected());
}

#[test]
fn failed_reauthentication_ends_the_connection() {
    let options = options().authentication(s("TOKEN"), None);
    let mut script = Script::connected(options);
    script.conn.reauthenticate(None).unwrap();
    script.sent();
    script.broker(v5::Packet::Disconnect(Disconnect {
        reason_code: ReasonCode::NotAuthorized,
        properties: DisconnectProperties::default(),
    }));
    // [5.0 MQTT-4.12.1-2] the connection is over: the transport is closed
    // and nothing more is sent on it.
    assert!(
        matches!(
            script.events().as_slice(),
            [Event::Disconnected { reason: DisconnectReason::ServerDisconnect(r) }] if r.reason == ReasonCode::NotAuthorized
        ),
        "[5.0 MQTT-4.12.1-2]"
    );
    assert_eq!(script.conn.state(), State::Disconnected);
    assert!(script.sent().is_empty(), "[5.0 MQTT-4.12.1-2]");
}

#[test]
fn without_a_method_no_auth_is_sent_or_taken() {
    let mut script = Script::new(options());
    script.connect();
    // [5.0 MQTT-4.12.0-7] no method in CONNECT: the client never sends AUTH.
    assert_eq!(
        script.conn.auth(Some(Bytes::from_static(b"x"))),
        Err(AuthError::NoMethod)
    );
    script.broker(connack(false, ConnAckProperties::default()));
    assert_eq!(script.conn.reauthenticate(None), Err(AuthError::NoMethod));
    assert!(script.sent().is_empty(), "[5.0 MQTT-4.12.0-7]");
    // An AUTH from the broker is out of place.
    script.events();
    script.broker(auth(ReasonCode::ContinueAuthentication, Some("X"), None));
    assert_eq!(
        violation(&script.events()),
        Some(&ProtocolViolation::UnexpectedAuth)
    );

    // With another method than ours, too, during CONNECT.
    let mut script = Script::new(options().authentication(s("A"), None));
    script.connect();
    script.broker(auth(ReasonCode::ContinueAuthentication, Some("B"), None));
    assert_eq!(
        violation(&script.events()),
        Some(&ProtocolViolation::UnexpectedAuth)
    );
    // Or with none.
    let mut script = Script::connected(options().authentication(s("A"), None));
    script.broker(auth(ReasonCode::Success, None, None));
    assert_eq!(
        violation(&script.events()),
        Some(&ProtocolViolation::UnexpectedAuth)
    );
}

#[test]
fn auth_needs_a_connection() {
    let mut script = Script::new(options().authentication(s("A"), None));
    assert_eq!(script.conn.auth(None), Err(AuthError::NotConnected));
    assert_eq!(
        script.conn.reauthenticate(None),
        Err(AuthError::NotConnected)
    );
    script.connect();
    // Re-authentication is for an accepted connection.
    assert_eq!(
        script.conn.reauthenticate(None),
        Err(AuthError::NotConnected)
    );
    assert!(script.sent().is_empty());
}

#[test]
fn a_resumed_session_resends_within_the_new_receive_maximum() {
    let mut script = Script::connected(options().clean_session(false));
    let mut ids = Vec::new();
    for (n, qos) in [
        QoS::AtLeastOnce,
        QoS::ExactlyOnce,
        QoS::AtLeastOnce,
        QoS::ExactlyOnce,
        QoS::AtLeastOnce,
    ]
    .into_iter()
    .enumerate()
    {
        ids.push(
            script
                .conn
                .publish(msg("t", ["a", "b", "c", "d", "e"][n], qos))
                .unwrap(),
        );
    }
    assert_eq!(publishes(&script.sent()).len(), 5);
    // Message 2 was PUBREC'd: only its PUBREL is owed.
    script.broker(v5::Packet::PubRec(PubResponse::success(pid(2))));
    script.sent();
    // The broker comes back with the session and a Receive Maximum of 2.
    script.reconnect(
        true,
        ConnAckProperties {
            receive_maximum: Some(2),
            ..ConnAckProperties::default()
        },
    );
    let later = script
        .conn
        .publish(msg("t", "new", QoS::AtLeastOnce))
        .unwrap();
    let sent = script.sent();
    // [5.0 MQTT-3.3.4-7] two PUBLISH packets, the oldest; the PUBREL is no
    // PUBLISH and goes too [5.0 MQTT-3.3.4-8].
    let kinds: Vec<(PacketType, Option<PacketId>)> = sent
        .iter()
        .map(|p| match p {
            v5::Packet::Publish(p) => (PacketType::Publish, p.qos_pid.pid()),
            v5::Packet::PubRel(r) => (PacketType::PubRel, Some(r.pid)),
            other => (other.packet_type(), None),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (PacketType::Publish, Some(pid(1))),
            (PacketType::PubRel, Some(pid(2))),
            (PacketType::Publish, Some(pid(3))),
        ],
        "[5.0 MQTT-3.3.4-7]"
    );
    assert!(publishes(&sent).iter().all(|p| p.dup), "[5.0 MQTT-3.3.1-1]");
    // Each completed exchange makes room for the next held-back message,
    // in order, then for the new one [5.0 MQTT-4.6.0-1]. (The released
    // message counts until its PUBCOMP: never more than 2 outstanding.)
    script.broker(v5::Packet::PubAck(PubResponse::success(pid(1))));
    assert!(publishes(&script.sent()).is_empty(), "[5.0 MQTT-3.3.4-7]");
    script.broker(v5::Packet::PubComp(PubResponse::success(pid(2))));
    let sent = script.sent();
    assert_eq!(
        publishes(&sent)
            .iter()
            .map(|p| (p.qos_pid, p.dup))
            .collect::<Vec<_>>(),
        [(QosPid::ExactlyOnce(pid(4)), true)],
        "[5.0 MQTT-3.3.4-7] [5.0 MQTT-4.6.0-1]"
    );
    script.broker(v5::Packet::PubAck(PubResponse::success(pid(3))));
    let sent = script.sent();
    assert_eq!(
        publishes(&sent)
            .iter()
            .map(|p| (p.qos_pid, p.dup))
            .collect::<Vec<_>>(),
        [(QosPid::AtLeastOnce(pid(5)), true)],
        "[5.0 MQTT-4.6.0-1]"
    );
    assert!(script.conn.queued() == 1);
    script.broker(v5::Packet::PubRec(PubResponse::success(pid(4))));
    assert_eq!(
        script.sent(),
        [v5::Packet::PubRel(PubResponse::success(pid(4)))]
    );
    script.broker(v5::Packet::PubComp(PubResponse::success(pid(4))));
    let sent = script.sent();
    let ps = publishes(&sent);
    assert_eq!(ps.len(), 1, "{sent:?}");
    assert_eq!((&ps[0].payload[..], ps[0].dup), (&b"new"[..], false));
    let new_pid = ps[0].qos_pid.pid().unwrap();
    script.broker(v5::Packet::PubAck(PubResponse::success(pid(5))));
    script.broker(v5::Packet::PubAck(PubResponse::success(new_pid)));
    let events = script.events();
    for id in ids.iter().chain([&later]) {
        assert!(
            events.contains(&Event::Published { id: *id }),
            "{id:?}: {events:?}"
        );
    }
    assert_eq!(script.conn.inflight(), 0);
}
