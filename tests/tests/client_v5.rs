//! What only MQTT 5.0 has, end to end: the client at
//! `Options::protocol(Protocol::V5)` against a private mosquitto per test
//! (`mqtt_integration_tests::broker`), and, where mosquitto cannot play the
//! part (enhanced authentication needs a broker plugin; mosquitto sends no
//! topic aliases), against a scripted 5.0 broker
//! (`mqtt_integration_tests::scripted`) whose every byte is the test's.
//!
//! One source, three runtimes, as in `client_suite.rs`: each scenario is a
//! generic `async fn name<R: Runtime>(..)`, and [`suite!`] makes a
//! `#[test]` of it for tokio, async-std and smol (`tokio::topic_aliases`,
//! `async_std::topic_aliases`, `smol::topic_aliases`, ...).
//!
//! What the client put on the wire is read by [`tap::Tap`], a TCP proxy
//! that decodes every packet both ways with the 5.0 codec and can hold
//! the broker's packets back (so that no acknowledgement reaches the
//! client meanwhile).
//!
//! Every wait is bounded. A missing mosquitto fails the test (loudly under
//! CI=true), as everywhere in this crate. Statements of the OASIS MQTT 5.0
//! standard are cited as [5.0 MQTT-x.y.z-n] (ids from
//! `mqtt-proto/conformance/mqtt-5.0-client-statements.tsv`) where a test
//! checks one; sections where the rule is the broker's.

use mqtt_integration_tests::wait::block_on_tokio;
use std::future::Future;
use std::time::Duration;

/// The TCP proxy that reads the 5.0 packets both ways.
mod tap {
    use bytes::BytesMut;
    use mqtt_client::mqtt_proto::packet::v5;
    use mqtt_integration_tests::steps::{sleep, STEP};
    use std::collections::BTreeSet;
    use std::io::{ErrorKind, Read, Write};
    use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread;
    use std::time::{Duration, Instant};

    /// Which way a packet went.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Dir {
        /// Client to broker.
        Up,
        /// Broker to client.
        Down,
    }

    /// One packet seen: the connection (numbered from 0 in accept order),
    /// its direction, the packet.
    pub type Seen = (usize, Dir, v5::Packet);

    #[derive(Debug, Default)]
    struct Shared {
        log: Mutex<Vec<Seen>>,
        hold: AtomicBool,
        stopped: AtomicBool,
        sockets: Mutex<Vec<TcpStream>>,
        connections: Mutex<usize>,
    }

    /// A proxy on a free loopback port in front of a 5.0 broker.
    ///
    /// Each packet is logged before it is passed on, in both directions:
    /// an acknowledgement is in the log before the client can have it, and
    /// a PUBLISH the client sends after it is logged after it. Counting
    /// the client's publishes in flight over the log can so never find
    /// more than the client really had.
    #[derive(Debug)]
    pub struct Tap {
        port: u16,
        shared: Arc<Shared>,
    }

    impl Tap {
        pub fn start(upstream: SocketAddr) -> Tap {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("tap bind");
            let port = listener.local_addr().expect("tap address").port();
            let shared = Arc::new(Shared::default());
            let state = shared.clone();
            thread::spawn(move || {
                for client in listener.incoming() {
                    if state.stopped.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(client) = client else { continue };
                    let Ok(server) = TcpStream::connect(upstream) else {
                        continue;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let n = {
                        let mut c = state.connections.lock().unwrap();
                        *c += 1;
                        *c - 1
                    };
                    let (Ok(c2), Ok(s2), Ok(c3), Ok(s3)) = (
                        client.try_clone(),
                        server.try_clone(),
                        client.try_clone(),
                        server.try_clone(),
                    ) else {
                        continue;
                    };
                    state.sockets.lock().unwrap().extend([c3, s3]);
                    let up = state.clone();
                    thread::spawn(move || pump(n, Dir::Up, client, server, &up));
                    let down = state.clone();
                    thread::spawn(move || pump(n, Dir::Down, s2, c2, &down));
                }
            });
            Tap { port, shared }
        }

        pub fn port(&self) -> u16 {
            self.port
        }

        /// Connections accepted so far.
        pub fn connections(&self) -> usize {
            *self.shared.connections.lock().unwrap()
        }

        /// Holds back (`true`) or lets through (`false`) everything the
        /// broker sends; held bytes are kept and sent on release.
        pub fn hold_down(&self, hold: bool) {
            self.shared.hold.store(hold, Ordering::SeqCst);
        }

        /// Every packet seen so far.
        pub fn packets(&self) -> Vec<Seen> {
            self.shared.log.lock().unwrap().clone()
        }

        /// The packets of connection `conn` going `dir`.
        pub fn of(&self, conn: usize, dir: Dir) -> Vec<v5::Packet> {
            self.packets()
                .into_iter()
                .filter(|(c, d, _)| *c == conn && *d == dir)
                .map(|(_, _, p)| p)
                .collect()
        }

        /// Waits (bounded by [`STEP`]) until `done` holds for the log.
        pub async fn wait_for(&self, what: &str, done: impl Fn(&[Seen]) -> bool) {
            let give_up = Instant::now() + STEP;
            while !done(&self.shared.log.lock().unwrap()) {
                assert!(
                    Instant::now() < give_up,
                    "the tap did not see {what} within {STEP:?}; saw {:?}",
                    self.packets()
                );
                sleep(Duration::from_millis(5)).await;
            }
        }
    }

    impl Drop for Tap {
        fn drop(&mut self) {
            self.shared.stopped.store(true, Ordering::SeqCst);
            for socket in self.shared.sockets.lock().unwrap().drain(..) {
                let _ = socket.shutdown(Shutdown::Both);
            }
            let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
        }
    }

    /// Copies whole packets `from` → `to`, logging each before passing it
    /// on; the broker's side waits while held.
    fn pump(conn: usize, dir: Dir, mut from: TcpStream, mut to: TcpStream, shared: &Shared) {
        let _ = from.set_read_timeout(Some(Duration::from_millis(10)));
        let mut buf = BytesMut::new();
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match from.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => break,
            }
            if shared.stopped.load(Ordering::SeqCst) {
                break;
            }
            if dir == Dir::Down && shared.hold.load(Ordering::SeqCst) {
                continue;
            }
            while let Some(len) = frame_len(&buf) {
                let raw = buf.split_to(len);
                if let Ok(Some(packet)) = v5::decode(&mut raw.clone(), usize::MAX) {
                    shared.log.lock().unwrap().push((conn, dir, packet));
                }
                if to.write_all(&raw).is_err() {
                    break;
                }
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    }

    /// The length of the whole packet at the front of `buf`, once all of
    /// it is there.
    fn frame_len(buf: &[u8]) -> Option<usize> {
        let mut remaining = 0usize;
        for (i, byte) in buf.iter().skip(1).take(4).enumerate() {
            remaining |= usize::from(byte & 0x7F) << (7 * i);
            if byte & 0x80 == 0 {
                let total = 1 + (i + 1) + remaining;
                return (buf.len() >= total).then_some(total);
            }
        }
        None
    }

    /// The most QoS 1 and 2 PUBLISH packets the sender (`Up`: the client,
    /// `Down`: the broker) had unacknowledged at once on `conn`: a PUBLISH
    /// counts from when it is seen until its PUBACK, its PUBCOMP or a
    /// PUBREC with an error code comes back the other way (section 4.9).
    pub fn max_in_flight(log: &[Seen], conn: usize, sender: Dir) -> usize {
        let mut open = BTreeSet::new();
        let mut max = 0;
        for (c, dir, packet) in log {
            if *c != conn {
                continue;
            }
            match packet {
                v5::Packet::Publish(p) if *dir == sender => {
                    if let Some(pid) = p.qos_pid.pid() {
                        open.insert(pid);
                        max = max.max(open.len());
                    }
                }
                v5::Packet::PubAck(a) | v5::Packet::PubComp(a) if *dir != sender => {
                    open.remove(&a.pid);
                }
                v5::Packet::PubRec(r) if *dir != sender && r.reason_code.is_error() => {
                    open.remove(&r.pid);
                }
                _ => {}
            }
        }
        max
    }
}

mod scenarios {
    use super::tap::{self, Dir, Tap};
    use bytes::Bytes;
    use mqtt_client::mqtt_proto::packet::v5::{
        self, AuthProperties, ConnAckProperties, PayloadFormat, PublishProperties, ReasonCode,
        RetainHandling, SubscribeProperties, SubscriptionOptions, UserProperty,
    };
    use mqtt_client::mqtt_proto::packet::Protocol;
    use mqtt_client::mqtt_proto::{MqttString, ProtocolViolation};
    use mqtt_client::{
        Authenticator, Client, ConnectionEvent, DisconnectReason, Error, Message, Options, QoS,
        Runtime, SubscribeOutcome, Subscription,
    };
    use mqtt_integration_tests::broker::Mosquitto;
    use mqtt_integration_tests::scripted::ScriptedBroker;
    use mqtt_integration_tests::steps::{
        connect, connected, disconnect, drain_events, events, expect_silence, is_disconnected,
        options, publish, recv, sleep, spawn, subscribe, timeout, wait_event, QUIET, STEP,
    };
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    pub use mqtt_integration_tests::steps::within;

    /// The suite's options at MQTT 5.0.
    fn v5(port: u16) -> Options {
        options(port).protocol(Protocol::V5)
    }

    fn text(m: &Message) -> String {
        String::from_utf8_lossy(&m.payload).into_owned()
    }

    fn count_lines(log: &str, needle: &str) -> usize {
        log.lines().filter(|l| l.contains(needle)).count()
    }

    fn s(v: &str) -> MqttString {
        MqttString::try_from(v).expect("a valid MQTT string")
    }

    async fn subscribe_with<R>(
        client: &Client<R>,
        filter: &str,
        options: SubscriptionOptions,
        id: Option<u32>,
    ) -> Subscription<R> {
        let properties = SubscribeProperties {
            subscription_identifier: id,
            ..SubscribeProperties::default()
        };
        let sub = within(
            STEP,
            "subscribe_with",
            client.subscribe_with(&[(filter, options)], properties),
        )
        .await
        .unwrap_or_else(|e| panic!("subscribe_with {filter:?}: {e}"));
        assert_eq!(
            sub.outcomes(),
            [SubscribeOutcome::Granted(options.qos)],
            "{filter}"
        );
        sub
    }

    /// Waits (bounded) until `broker`'s log has a line containing `needle`.
    async fn log_line(broker: &Mosquitto, needle: &str, limit: Duration) {
        let give_up = Instant::now() + limit;
        while count_lines(&broker.log(), needle) == 0 {
            assert!(
                Instant::now() < give_up,
                "mosquitto did not log {needle:?} within {limit:?}:\n{}",
                broker.log()
            );
            sleep(Duration::from_millis(20)).await;
        }
    }

    fn up_publishes(packets: &[v5::Packet]) -> Vec<v5::Publish> {
        packets
            .iter()
            .filter_map(|p| match p {
                v5::Packet::Publish(p) => Some(p.clone()),
                _ => None,
            })
            .collect()
    }

    fn connack_of(tap: &Tap, conn: usize) -> ConnAckProperties {
        tap.of(conn, Dir::Down)
            .into_iter()
            .find_map(|p| match p {
                v5::Packet::ConnAck(c) => Some(c.properties),
                _ => None,
            })
            .expect("the tap saw the CONNACK")
    }

    fn connect_of(tap: &Tap, conn: usize) -> v5::Connect {
        tap.of(conn, Dir::Up)
            .into_iter()
            .find_map(|p| match p {
                v5::Packet::Connect(c) => Some(*c),
                _ => None,
            })
            .expect("the tap saw the CONNECT")
    }

    // ---- flow control ------------------------------------------------------

    /// mosquitto with `max_inflight_messages 5` announces Receive Maximum 5
    /// in CONNACK. With every acknowledgement held back by the tap, 40
    /// pipelined QoS 1 and 2 publishes put exactly 5 PUBLISH packets on
    /// the wire: the quota starts at the broker's Receive Maximum
    /// [5.0 MQTT-4.9.0-1] and at zero no QoS>0 PUBLISH goes out
    /// [5.0 MQTT-4.9.0-2], [5.0 MQTT-3.3.4-7], while other packets still do
    /// (a SUBSCRIBE) [5.0 MQTT-3.3.4-8], [5.0 MQTT-4.9.0-3]. Released, the
    /// rest flows with never more than 5 in flight, mosquitto keeps the
    /// connection, and a subscriber gets all 40 in order per topic.
    pub async fn broker_receive_maximum<R: Runtime>(broker: &Mosquitto) {
        const N: usize = 40;
        const BROKER_MAX: usize = 5;
        let subscriber = connect::<R>(v5(broker.port())).await;
        let mut sub = subscribe(&subscriber, "rm/#", QoS::ExactlyOnce).await;

        let tap = Tap::start(broker.addr());
        let publisher = connect::<R>(v5(tap.port()).client_id("rm-pub")).await;
        let pub_events = events(&publisher, connected(false)).await;
        assert_eq!(
            connack_of(&tap, 0).receive_maximum,
            Some(BROKER_MAX as u16),
            "mosquitto announces max_inflight_messages as Receive Maximum"
        );

        tap.hold_down(true);
        let mut pending = Vec::new();
        for i in 0..N {
            let (topic, qos) = if i % 2 == 0 {
                ("rm/q1", QoS::AtLeastOnce)
            } else {
                ("rm/q2", QoS::ExactlyOnce)
            };
            let p = within(
                STEP,
                "publish_pipelined",
                publisher.publish_pipelined(topic, format!("{i}"), qos),
            )
            .await
            .expect("queued");
            pending.push(p);
        }
        let published = |log: &[tap::Seen]| {
            log.iter()
                .filter(|(c, d, p)| *c == 0 && *d == Dir::Up && matches!(p, v5::Packet::Publish(_)))
                .count()
        };
        tap.wait_for("the first PUBLISH packets", |log| {
            published(log) >= BROKER_MAX
        })
        .await;
        // Nothing acknowledges them: the quota is spent.
        sleep(QUIET).await;
        assert_eq!(
            published(&tap.packets()),
            BROKER_MAX,
            "PUBLISH packets sent with no acknowledgement back"
        );
        // Other packets are not held back by the spent quota.
        let subscribing = spawn::<R, _>({
            let publisher = publisher.clone();
            async move { publisher.subscribe("rm-other/#", QoS::AtLeastOnce).await }
        });
        tap.wait_for("a SUBSCRIBE while the quota is spent", |log| {
            log.iter()
                .any(|(c, d, p)| *c == 0 && *d == Dir::Up && matches!(p, v5::Packet::Subscribe(_)))
        })
        .await;

        tap.hold_down(false);
        for (i, p) in pending.into_iter().enumerate() {
            within(STEP, "a pipelined publish to complete", p)
                .await
                .unwrap_or_else(|e| panic!("publish {i}: {e}"));
        }
        within(STEP, "the SUBSCRIBE", subscribing)
            .await
            .expect("subscribe while the quota was spent");
        let log = tap.packets();
        assert_eq!(published(&log), N, "every message sent once");
        assert_eq!(
            tap::max_in_flight(&log, 0, Dir::Up),
            BROKER_MAX,
            "most publishes in flight at once"
        );

        let mut got: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for _ in 0..N {
            let m = recv(&mut sub, "the pipelined messages").await;
            got.entry(m.topic.to_string())
                .or_default()
                .push(text(&m).parse().expect("a number"));
        }
        expect_silence(&mut sub, QUIET, "after the 40 messages").await;
        assert_eq!(got["rm/q1"], (0..N).step_by(2).collect::<Vec<_>>());
        assert_eq!(got["rm/q2"], (1..N).step_by(2).collect::<Vec<_>>());
        assert!(
            drain_events(&pub_events).is_empty(),
            "the publisher's connection must not have changed"
        );
        disconnect(&publisher).await;
        disconnect(&subscriber).await;
    }

    /// Our own Receive Maximum (section 3.1.2.11.3): `receive_maximum(4)`
    /// goes out in CONNECT, and mosquitto then sends a manual-ack
    /// subscriber no more than 4 unacknowledged QoS 1 messages: with 20
    /// published and none acked, exactly 4 arrive; each ack lets one more
    /// through; all 20 arrive in order, and the client never saw a broker
    /// over its quota (it would have closed the connection).
    pub async fn our_receive_maximum<R: Runtime>(broker: &Mosquitto) {
        const N: usize = 20;
        const OURS: usize = 4;
        let tap = Tap::start(broker.addr());
        let subscriber = connect::<R>(
            v5(tap.port())
                .client_id("rm-ours")
                .receive_maximum(OURS as u16),
        )
        .await;
        assert_eq!(
            connect_of(&tap, 0).properties.receive_maximum,
            Some(OURS as u16)
        );
        let sub_events = events(&subscriber, connected(false)).await;
        let mut jobs = within(
            STEP,
            "subscribe_manual",
            subscriber.subscribe_manual(&[("ours/t", QoS::AtLeastOnce)]),
        )
        .await
        .expect("subscribe_manual");

        let publisher = connect::<R>(v5(broker.port())).await;
        for i in 0..N {
            publish(&publisher, "ours/t", format!("{i}"), QoS::AtLeastOnce).await;
        }
        let mut held = Vec::new();
        for _ in 0..OURS {
            match within(STEP, "the first deliveries", jobs.next()).await {
                Some(d) => held.push(d),
                None => panic!("the manual subscription ended"),
            }
        }
        if let Ok(extra) = timeout(QUIET, jobs.next()).await {
            panic!("a delivery beyond our Receive Maximum: {extra:?}");
        }
        let sent_to_us = |tap: &Tap| {
            up_publishes(&tap.of(0, Dir::Down))
                .iter()
                .filter(|p| p.topic.as_ref().is_some_and(|t| t == "ours/t"))
                .count()
        };
        assert_eq!(sent_to_us(&tap), OURS, "PUBLISH packets mosquitto sent us");

        assert!(
            tap::max_in_flight(&tap.packets(), 0, Dir::Down) <= OURS,
            "mosquitto had more than {OURS} unacknowledged towards us"
        );

        // One ack frees one place. A broker that then sends more than one
        // message breaks our Receive Maximum, and the client must not take
        // it: it closes the connection (section 3.3.4: Receive Maximum
        // exceeded, 0x93). mosquitto 2.0.11 does just that: every PUBACK
        // releases a whole window (reproduced with raw sockets, no client
        // of ours involved: 4 unacknowledged, one PUBACK, 4 more PUBLISH).
        let mut order: Vec<String> = held.iter().map(|d| text(d.message())).collect();
        held.remove(0).ack();
        let next = within(STEP, "the delivery after one ack", jobs.next())
            .await
            .expect("the manual subscription ended");
        order.push(text(next.message()));
        held.push(next);
        sleep(QUIET).await;
        if sent_to_us(&tap) > OURS + 1 {
            let lost = wait_event(
                &sub_events,
                STEP,
                "the client closing on a broker over our Receive Maximum",
                is_disconnected,
            )
            .await;
            assert!(
                matches!(
                    lost,
                    ConnectionEvent::Disconnected {
                        reason: DisconnectReason::ProtocolViolation(
                            ProtocolViolation::ReceiveMaximumExceeded
                        )
                    }
                ),
                "{lost:?}"
            );
            eprintln!(
                "mosquitto sent {} PUBLISH packets for one PUBACK; the client closed the \
                 connection",
                sent_to_us(&tap) - OURS
            );
            disconnect(&publisher).await;
            return;
        }
        // A broker that keeps to it: one more, then the rest, in order.
        if let Ok(extra) = timeout(Duration::ZERO, jobs.next()).await {
            panic!("one ack let more than one message through: {extra:?}");
        }
        for d in held.drain(..) {
            d.ack();
        }
        while order.len() < N {
            match within(STEP, "the remaining deliveries", jobs.next()).await {
                Some(d) => {
                    order.push(text(d.message()));
                    d.ack();
                }
                None => panic!("the manual subscription ended"),
            }
        }
        let expected: Vec<String> = (0..N).map(|i| format!("{i}")).collect();
        assert_eq!(order, expected);
        assert!(
            tap::max_in_flight(&tap.packets(), 0, Dir::Down) <= OURS,
            "the broker had more than {OURS} unacknowledged towards us"
        );
        assert!(
            drain_events(&sub_events).is_empty(),
            "the subscriber's connection must not have changed"
        );
        disconnect(&publisher).await;
        disconnect(&subscriber).await;
    }

    // ---- topic aliases -----------------------------------------------------

    /// `topic_aliases(10, 10)` against mosquitto with `max_topic_alias 3`:
    /// the first PUBLISH to a topic sets an alias with the topic, later
    /// ones carry only the alias and an empty topic; never alias 0
    /// [5.0 MQTT-3.3.2-8], never above the broker's 3
    /// [5.0 MQTT-3.2.2-17], [5.0 MQTT-3.3.2-9], so topics past the third
    /// go out in full. Every message arrives intact. mosquitto 2.0 sends
    /// no aliases itself (the subscriber's tap shows whether it did; the
    /// incoming side is [`incoming_topic_aliases`]).
    pub async fn topic_aliases<R: Runtime>(broker: &Mosquitto) {
        const TOPICS: usize = 5;
        const ROUNDS: usize = 3;
        const BROKER_MAX: u16 = 3;
        let sub_tap = Tap::start(broker.addr());
        let subscriber = connect::<R>(v5(sub_tap.port()).topic_aliases(10, 0)).await;
        let mut sub = subscribe(&subscriber, "alias/#", QoS::AtLeastOnce).await;

        let tap = Tap::start(broker.addr());
        let publisher = connect::<R>(v5(tap.port()).topic_aliases(10, 10)).await;
        assert_eq!(connect_of(&tap, 0).properties.topic_alias_maximum, Some(10));
        assert_eq!(
            connack_of(&tap, 0).topic_alias_maximum,
            Some(BROKER_MAX),
            "mosquitto announces max_topic_alias"
        );
        let topic = |t: usize| format!("alias/a/rather/long/topic/name/number/{t}");
        for r in 0..ROUNDS {
            for t in 0..TOPICS {
                publish(&publisher, &topic(t), format!("{r}-{t}"), QoS::AtLeastOnce).await;
            }
        }
        for r in 0..ROUNDS {
            for t in 0..TOPICS {
                let m = recv(&mut sub, "an aliased message").await;
                assert_eq!(
                    (m.topic.as_ref(), text(&m)),
                    (topic(t).as_str(), format!("{r}-{t}"))
                );
            }
        }
        expect_silence(&mut sub, QUIET, "after the aliased messages").await;

        let sent = up_publishes(&tap.of(0, Dir::Up));
        assert_eq!(sent.len(), TOPICS * ROUNDS);
        let mut aliases: BTreeMap<u16, String> = BTreeMap::new();
        let mut empty = 0;
        for (i, p) in sent.iter().enumerate() {
            let (r, t) = (i / TOPICS, i % TOPICS);
            let alias = p.properties.topic_alias;
            if let Some(a) = alias {
                assert!(
                    (1..=BROKER_MAX).contains(&a),
                    "alias {a} outside 1..={BROKER_MAX}"
                );
            }
            match (t < usize::from(BROKER_MAX), r) {
                // A new alias: topic and alias together.
                (true, 0) => {
                    assert_eq!(p.topic.as_ref().map(|t| t.to_string()), Some(topic(t)));
                    let a = alias.expect("the first publish to a topic sets an alias");
                    assert!(aliases.insert(a, topic(t)).is_none(), "alias {a} reused");
                }
                // The alias alone, with an empty topic.
                (true, _) => {
                    assert!(p.topic.is_none(), "publish {i}: topic sent again: {p:?}");
                    let a = alias.expect("the alias");
                    assert_eq!(aliases.get(&a), Some(&topic(t)), "alias {a}");
                    empty += 1;
                }
                // No alias left: the topic in full.
                (false, _) => {
                    assert_eq!(p.topic.as_ref().map(|t| t.to_string()), Some(topic(t)));
                    assert_eq!(alias, None, "publish {i}: above the broker's maximum");
                }
            }
        }
        assert_eq!(empty, (ROUNDS - 1) * usize::from(BROKER_MAX));
        let incoming = up_publishes(&sub_tap.of(0, Dir::Down))
            .iter()
            .filter(|p| p.properties.topic_alias.is_some())
            .count();
        eprintln!("mosquitto set a topic alias on {incoming} of its PUBLISH packets to us");
        disconnect(&publisher).await;
        disconnect(&subscriber).await;
    }

    // ---- sessions ----------------------------------------------------------

    /// A session with Session Expiry 300 s outlives its connection
    /// [5.0 MQTT-3.1.2-23] and, with persistence, a broker restart: the
    /// subscriber disconnects, 10 QoS 1 messages are published for it, the
    /// broker restarts (SIGTERM saves the database), and the client with
    /// the same id [5.0 MQTT-3.1.3-2] is told the session is present and
    /// gets every message, in order.
    pub async fn session_survives_broker_restart<R: Runtime>(broker: &mut Mosquitto) {
        const N: usize = 10;
        let sub_options = v5(broker.port())
            .client_id("expiry-sub")
            .clean_session(false)
            .session_expiry(Duration::from_secs(300));
        let first = connect::<R>(sub_options.clone()).await;
        assert_eq!(first.session_present(), Some(false));
        let sub = subscribe(&first, "expiry/t", QoS::AtLeastOnce).await;
        disconnect(&first).await;
        drop(sub);

        let publisher = connect::<R>(v5(broker.port())).await;
        for i in 0..N {
            publish(&publisher, "expiry/t", format!("{i}"), QoS::AtLeastOnce).await;
        }
        disconnect(&publisher).await;

        // On the test's own thread, which started the broker (see
        // `Mosquitto::restart`).
        broker.restart();

        let again = connect::<R>(sub_options).await;
        assert_eq!(
            again.session_present(),
            Some(true),
            "the session survived the restart"
        );
        let mut sub = subscribe(&again, "expiry/t", QoS::AtLeastOnce).await;
        let mut got = Vec::new();
        for _ in 0..N {
            got.push(text(&recv(&mut sub, "the stored messages").await));
        }
        assert_eq!(got, (0..N).map(|i| format!("{i}")).collect::<Vec<_>>());
        expect_silence(&mut sub, QUIET, "after the stored messages").await;
        let log = broker.log();
        assert_eq!(
            count_lines(&log, "Sending CONNACK to expiry-sub (1, 0)"),
            1,
            "one CONNACK with session present:\n{log}"
        );
        disconnect(&again).await;
    }

    /// With Session Expiry 1 s the session ends 1 s after its connection:
    /// once mosquitto expired it, the client comes back to no session
    /// (session present 0) and the message stored for the old one is gone.
    pub async fn session_expires<R: Runtime>(broker: &Mosquitto) {
        let sub_options = v5(broker.port())
            .client_id("expiry-short")
            .clean_session(false)
            .session_expiry(Duration::from_secs(1));
        let first = connect::<R>(sub_options.clone()).await;
        let sub = subscribe(&first, "short/t", QoS::AtLeastOnce).await;
        disconnect(&first).await;
        drop(sub);
        let publisher = connect::<R>(v5(broker.port())).await;
        publish(&publisher, "short/t", "stored", QoS::AtLeastOnce).await;

        log_line(
            broker,
            "Expiring client expiry-short",
            Duration::from_secs(5),
        )
        .await;
        let again = connect::<R>(sub_options).await;
        assert_eq!(
            again.session_present(),
            Some(false),
            "the expired session is gone"
        );
        let mut sub = subscribe(&again, "short/t", QoS::AtLeastOnce).await;
        expect_silence(&mut sub, QUIET, "a message of the expired session").await;
        // The new subscription works.
        publish(&publisher, "short/t", "live", QoS::AtLeastOnce).await;
        assert_eq!(text(&recv(&mut sub, "a live message").await), "live");
        disconnect(&again).await;
        disconnect(&publisher).await;
    }

    /// A second connection with the same client id takes the session over
    /// (section 3.1.4): the first client loses its connection and reports
    /// it as a failure by the broker. A 5.0 broker says why with DISCONNECT
    /// 0x8E (Session Taken Over), reported as `ServerDisconnect`;
    /// mosquitto 2.0.11 sends no DISCONNECT here (nor on shutdown: checked
    /// with raw sockets), it just closes, reported as `ClosedByBroker`. The
    /// DISCONNECT itself is checked against the scripted broker in
    /// [`server_disconnect_with_reason`].
    pub async fn session_taken_over<R: Runtime>(broker: &Mosquitto) {
        // A slow backoff, so that the first client does not take the
        // session back before it is dropped.
        let first = connect::<R>(
            v5(broker.port())
                .client_id("taken")
                .backoff(Duration::from_secs(30), Duration::from_secs(60)),
        )
        .await;
        let first_events = events(&first, connected(false)).await;
        let second = connect::<R>(v5(broker.port()).client_id("taken")).await;
        let event = wait_event(
            &first_events,
            STEP,
            "the first client's Disconnected",
            is_disconnected,
        )
        .await;
        match &event {
            ConnectionEvent::Disconnected {
                reason: DisconnectReason::ServerDisconnect(why),
            } => assert_eq!(why.reason, ReasonCode::SessionTakenOver, "{why}"),
            ConnectionEvent::Disconnected {
                reason: DisconnectReason::ClosedByBroker,
            } => {}
            other => panic!("expected ServerDisconnect(SessionTakenOver), got {other:?}"),
        }
        assert_eq!(
            count_lines(
                &broker.log(),
                "Client taken already connected, closing old connection"
            ),
            1
        );
        drop(first_events);
        drop(first);
        let second_events = events(&second, connected(false)).await;
        let mut sub = subscribe(&second, "taken/t", QoS::AtLeastOnce).await;
        publish(&second, "taken/t", "mine now", QoS::AtLeastOnce).await;
        assert_eq!(
            text(&recv(&mut sub, "the new owner's message").await),
            "mine now"
        );
        assert!(drain_events(&second_events).is_empty());
        disconnect(&second).await;
    }

    /// A broker's DISCONNECT with a reason (0x8E Session Taken Over, and a
    /// Reason String), scripted: the client reports
    /// `DisconnectReason::ServerDisconnect` with that code and text, and
    /// treats the connection as closed [5.0 MQTT-4.13.2-1]: it sends
    /// nothing more on it [5.0 MQTT-3.14.4-1] and connects again.
    pub async fn server_disconnect_with_reason<R: Runtime>() {
        let broker = ScriptedBroker::start(|peer, n| {
            if !matches!(peer.packet_v5(STEP), Some((_, v5::Packet::Connect(_)))) {
                return "no CONNECT".into();
            }
            peer.send_packet_v5(&v5::Packet::ConnAck(Box::new(v5::ConnAck {
                session_present: false,
                reason_code: ReasonCode::Success,
                properties: ConnAckProperties::default(),
            })));
            if n > 0 {
                // The reconnect: stay until the client leaves.
                return match peer.packet_v5(STEP) {
                    Some((_, v5::Packet::Disconnect(_))) => "second: bye".into(),
                    other => format!("second: {other:?}"),
                };
            }
            peer.send_packet_v5(&v5::Packet::Disconnect(v5::Disconnect {
                reason_code: ReasonCode::SessionTakenOver,
                properties: v5::DisconnectProperties {
                    reason_string: Some(s("another connection took the session")),
                    ..Default::default()
                },
            }));
            // Anything the client still sends counts against it.
            match peer.packet_v5(Duration::from_millis(500)) {
                None => "first: silent".into(),
                Some(p) => format!("first: sent {p:?}"),
            }
        });
        let client = within(
            STEP,
            "connect",
            mqtt_integration_tests::on_smol::connect::<R>(
                v5(broker.port()).backoff(Duration::from_millis(50), Duration::from_millis(100)),
            ),
        )
        .await
        .expect("connect");
        let client_events = client.events();
        let lost = wait_event(&client_events, STEP, "Disconnected", is_disconnected).await;
        match &lost {
            ConnectionEvent::Disconnected {
                reason: DisconnectReason::ServerDisconnect(why),
            } => {
                assert_eq!(why.reason, ReasonCode::SessionTakenOver);
                assert_eq!(
                    why.reason_string.as_deref(),
                    Some("another connection took the session")
                );
            }
            other => panic!("expected ServerDisconnect(SessionTakenOver), got {other:?}"),
        }
        wait_event(
            &client_events,
            STEP,
            "Connected again",
            mqtt_integration_tests::steps::is_connected,
        )
        .await;
        disconnect(&client).await;
        let verdicts = broker.finish(STEP);
        assert_eq!(
            verdicts,
            [
                Some("first: silent".to_owned()),
                Some("second: bye".to_owned())
            ]
        );
    }

    // ---- subscriptions -----------------------------------------------------

    /// A shared subscription (`$share/{name}/{filter}` [5.0 MQTT-4.8.2-1],
    /// [5.0 MQTT-4.8.2-2]) spreads the messages over its subscribers
    /// (section 4.8.2): two clients in group `g` together get each of 60
    /// messages exactly once, and each gets some.
    pub async fn shared_subscription<R: Runtime>(broker: &Mosquitto) {
        const N: usize = 60;
        let a = connect::<R>(v5(broker.port())).await;
        let b = connect::<R>(v5(broker.port())).await;
        let mut sub_a = subscribe(&a, "$share/g/jobs/#", QoS::AtLeastOnce).await;
        let mut sub_b = subscribe(&b, "$share/g/jobs/#", QoS::AtLeastOnce).await;
        let publisher = connect::<R>(v5(broker.port())).await;
        for i in 0..N {
            publish(
                &publisher,
                &format!("jobs/{i}"),
                format!("{i}"),
                QoS::AtLeastOnce,
            )
            .await;
        }
        let mut got_a = Vec::new();
        let mut got_b = Vec::new();
        let give_up = Instant::now() + STEP;
        while got_a.len() + got_b.len() < N {
            assert!(
                Instant::now() < give_up,
                "{} of {N} shared messages arrived",
                got_a.len() + got_b.len()
            );
            while let Ok(Some(m)) = timeout(Duration::from_millis(50), sub_a.next()).await {
                got_a.push(text(&m));
            }
            while let Ok(Some(m)) = timeout(Duration::from_millis(50), sub_b.next()).await {
                got_b.push(text(&m));
            }
        }
        expect_silence(&mut sub_a, QUIET, "a after all shared messages").await;
        expect_silence(&mut sub_b, QUIET, "b after all shared messages").await;
        assert!(
            !got_a.is_empty() && !got_b.is_empty(),
            "both members get some: a {}, b {}",
            got_a.len(),
            got_b.len()
        );
        let all: BTreeSet<&String> = got_a.iter().chain(&got_b).collect();
        assert_eq!(all.len(), N, "no duplicates, none missing");
        eprintln!(
            "shared subscription: a {} and b {}",
            got_a.len(),
            got_b.len()
        );
        for c in [&a, &b, &publisher] {
            disconnect(c).await;
        }
    }

    /// No Local (section 3.8.3.1): a subscription with it does not get the
    /// subscriber's own publishes, while another client's arrive, and the
    /// own publish did reach a subscriber without it.
    pub async fn no_local<R: Runtime>(broker: &Mosquitto) {
        let client = connect::<R>(v5(broker.port())).await;
        let mut options = SubscriptionOptions::new(QoS::AtLeastOnce);
        options.no_local = true;
        let mut mine = subscribe_with(&client, "nl/#", options, None).await;
        let watcher = connect::<R>(v5(broker.port())).await;
        let mut watched = subscribe(&watcher, "nl/#", QoS::AtLeastOnce).await;

        publish(&client, "nl/own", "own", QoS::AtLeastOnce).await;
        let seen = recv(&mut watched, "the own publish at another client").await;
        assert_eq!(seen.topic, "nl/own");
        publish(&watcher, "nl/other", "other", QoS::AtLeastOnce).await;
        let m = recv(&mut mine, "another client's message").await;
        assert_eq!(
            m.topic, "nl/other",
            "the no-local subscription got its own message"
        );
        expect_silence(&mut mine, QUIET, "the no-local subscription").await;
        disconnect(&client).await;
        disconnect(&watcher).await;
    }

    /// Retain Handling 2, DoNotSend (section 3.8.3.1): a new subscription
    /// gets no retained message, where one with the default (0) does; live
    /// messages still arrive.
    pub async fn retain_handling_do_not_send<R: Runtime>(broker: &Mosquitto) {
        let publisher = connect::<R>(v5(broker.port())).await;
        within(
            STEP,
            "publish_retained",
            publisher.publish_retained("rh/state", "on", QoS::AtLeastOnce),
        )
        .await
        .expect("publish_retained");

        let client = connect::<R>(v5(broker.port())).await;
        let mut control = subscribe(&client, "rh/+", QoS::AtLeastOnce).await;
        let stored = recv(&mut control, "the retained message (default handling)").await;
        assert_eq!((text(&stored), stored.retain), ("on".to_owned(), true));
        let mut options = SubscriptionOptions::new(QoS::AtLeastOnce);
        options.retain_handling = RetainHandling::DoNotSend;
        let mut quiet = subscribe_with(&client, "rh/#", options, None).await;
        expect_silence(
            &mut quiet,
            QUIET,
            "a DoNotSend subscription's retained message",
        )
        .await;

        publish(&publisher, "rh/state", "off", QoS::AtLeastOnce).await;
        let live = recv(&mut quiet, "a live message").await;
        assert_eq!((text(&live), live.retain), ("off".to_owned(), false));
        disconnect(&client).await;
        disconnect(&publisher).await;
    }

    /// Subscription Identifiers (section 3.8.2.1.2, 3.3.2.3.8): messages
    /// come back with the identifier of the subscription they matched (7,
    /// and 300, which takes two bytes as a Variable Byte Integer), none for
    /// a subscription without one.
    pub async fn subscription_identifiers<R: Runtime>(broker: &Mosquitto) {
        let client = connect::<R>(v5(broker.port())).await;
        let q1 = SubscriptionOptions::new(QoS::AtLeastOnce);
        let mut a = subscribe_with(&client, "sid/a/#", q1, Some(7)).await;
        let mut b = subscribe_with(&client, "sid/b/#", q1, Some(300)).await;
        let mut c = subscribe(&client, "sid/c/#", QoS::AtLeastOnce).await;
        for t in ["sid/a/x", "sid/b/x", "sid/c/x"] {
            publish(&client, t, t, QoS::AtLeastOnce).await;
        }
        let m = recv(&mut a, "the message for identifier 7").await;
        assert_eq!(m.properties().subscription_identifiers, [7]);
        let m = recv(&mut b, "the message for identifier 300").await;
        assert_eq!(m.properties().subscription_identifiers, [300]);
        let m = recv(&mut c, "the message for no identifier").await;
        assert!(m.properties().subscription_identifiers.is_empty(), "{m:?}");
        disconnect(&client).await;
    }

    // ---- properties --------------------------------------------------------

    /// User Properties (in order, a name repeated, non-ASCII), Content
    /// Type and Payload Format Indicator go through mosquitto unchanged
    /// (section 3.3.2.3): published with `Message::with_properties`, read
    /// with `message.properties()`.
    pub async fn user_properties_and_content_type<R: Runtime>(broker: &Mosquitto) {
        let client = connect::<R>(v5(broker.port())).await;
        let mut sub = subscribe(&client, "props/#", QoS::AtLeastOnce).await;
        let user_properties = vec![
            UserProperty {
                name: s("k"),
                value: s("v1"),
            },
            UserProperty {
                name: s("k"),
                value: s("v2"),
            },
            UserProperty {
                name: s("région"),
                value: s("été ☀"),
            },
        ];
        let properties = PublishProperties {
            user_properties: user_properties.clone(),
            content_type: Some(s("application/json; charset=utf-8")),
            payload_format_indicator: Some(PayloadFormat::Utf8),
            ..PublishProperties::default()
        };
        let message = Message::new("props/t", r#"{"x":1}"#, QoS::AtLeastOnce)
            .expect("a message")
            .with_properties(properties);
        within(STEP, "publish_message", client.publish_message(message))
            .await
            .expect("publish_message");
        let m = recv(&mut sub, "the message with properties").await;
        let got = m.properties();
        assert_eq!(got.user_properties, user_properties);
        assert_eq!(
            got.content_type.as_deref(),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(got.payload_format_indicator, Some(PayloadFormat::Utf8));
        assert_eq!(text(&m), r#"{"x":1}"#);

        // A message without properties has none.
        publish(&client, "props/plain", "plain", QoS::AtLeastOnce).await;
        let plain = recv(&mut sub, "the plain message").await;
        assert!(plain.properties().user_properties.is_empty());
        assert_eq!(plain.properties().content_type, None);
        disconnect(&client).await;
    }

    // ---- request / response ------------------------------------------------

    /// Request and response (section 4.10): a service `respond`s on its
    /// topic; `request` gets the answer carrying its Correlation Data,
    /// once alone and with 8 requests at once from two clients, each
    /// getting its own answer. Each request's Response Topic is a name,
    /// no wildcard in it [5.0 MQTT-3.3.2-14].
    pub async fn request_response<R: Runtime>(broker: &Mosquitto) {
        const CONCURRENT: usize = 8;
        let service = connect::<R>(v5(broker.port()).client_id("svc")).await;
        let mut requests = subscribe(&service, "svc/echo", QoS::AtLeastOnce).await;
        let no_topic = Message::new("svc/echo", "x", QoS::AtMostOnce).expect("a message");
        assert!(matches!(
            service.respond(&no_topic, "y", QoS::AtMostOnce).await,
            Err(Error::NoResponseTopic)
        ));
        let served = spawn::<R, _>({
            let service = service.clone();
            async move {
                let mut seen = Vec::new();
                for _ in 0..1 + CONCURRENT {
                    let Some(request) = requests.next().await else {
                        break;
                    };
                    let asked = request.properties();
                    let topic = asked
                        .response_topic
                        .as_ref()
                        .expect("a request names its Response Topic")
                        .to_string();
                    assert!(!topic.contains(['+', '#']), "{topic}");
                    assert!(asked.correlation_data.is_some(), "{request:?}");
                    service
                        .respond(&request, format!("re:{}", text(&request)), QoS::AtLeastOnce)
                        .await
                        .expect("respond");
                    seen.push(topic);
                }
                seen
            }
        });

        let asker = connect::<R>(v5(broker.port()).client_id("asker")).await;
        let other = connect::<R>(v5(broker.port()).client_id("other-asker")).await;
        let answer = within(
            STEP,
            "a request's answer",
            asker.request("svc/echo", "hello", QoS::AtLeastOnce),
        )
        .await
        .expect("request");
        assert_eq!(text(&answer), "re:hello");
        assert!(answer.properties().correlation_data.is_some());

        let mut asking = Vec::new();
        for i in 0..CONCURRENT {
            let client = if i % 2 == 0 {
                asker.clone()
            } else {
                other.clone()
            };
            asking.push(spawn::<R, _>(async move {
                let question = format!("q{i}");
                let answer = client
                    .request("svc/echo", question.clone(), QoS::AtLeastOnce)
                    .await
                    .expect("request");
                (question, text(&answer))
            }));
        }
        for a in asking {
            let (question, answer) = within(STEP, "a concurrent request", a).await;
            assert_eq!(answer, format!("re:{question}"));
        }
        let topics = within(STEP, "the service", served).await;
        let distinct: BTreeSet<&String> = topics.iter().collect();
        assert_eq!(
            distinct.len(),
            1 + CONCURRENT,
            "a response topic per request"
        );
        for c in [&asker, &other, &service] {
            disconnect(c).await;
        }
    }

    // ---- enhanced authentication -------------------------------------------

    /// The packets a script received, each with its exact bytes.
    type Captured = Arc<Mutex<Vec<(Vec<u8>, v5::Packet)>>>;

    /// Answers the challenge "n" with "n:secret"; counts its calls.
    #[derive(Debug, Default)]
    pub struct Shared {
        method: &'static str,
        challenges: Mutex<Vec<Option<Vec<u8>>>>,
        successes: Mutex<Vec<Option<Vec<u8>>>>,
    }

    #[derive(Debug, Clone)]
    struct SharedSecret(Arc<Shared>);

    impl Authenticator for SharedSecret {
        fn method(&self) -> &str {
            self.0.method
        }
        fn start(&self) -> Option<Bytes> {
            Some(Bytes::from_static(b"client-first"))
        }
        fn challenge(&self, data: Option<&[u8]>) -> Result<Option<Bytes>, String> {
            self.0
                .challenges
                .lock()
                .unwrap()
                .push(data.map(<[u8]>::to_vec));
            let nonce = data.ok_or("no challenge data")?;
            Ok(Some([nonce, b":s3cret"].concat().into()))
        }
        fn success(&self, data: Option<&[u8]>) {
            self.0
                .successes
                .lock()
                .unwrap()
                .push(data.map(<[u8]>::to_vec));
        }
    }

    /// mosquitto without an authentication plugin refuses an
    /// Authentication Method it does not know with CONNACK 0x8C (Bad
    /// Authentication Method): `connect` fails with `Error::Rejected` of
    /// that code, after a CONNECT that carried the authenticator's method
    /// and first data, and no challenge reached the authenticator.
    pub async fn unknown_authentication_method<R: Runtime>(broker: &Mosquitto) {
        let tap = Tap::start(broker.addr());
        let auth = Arc::new(Shared {
            method: "x-unknown-method",
            ..Shared::default()
        });
        let result = within(
            STEP,
            "connect with an unknown method",
            mqtt_integration_tests::on_smol::connect::<R>(
                v5(tap.port()).authenticator(SharedSecret(auth.clone())),
            ),
        )
        .await;
        match result {
            Err(Error::Rejected(why)) => {
                assert_eq!(why.reason, ReasonCode::BadAuthenticationMethod, "{why}")
            }
            other => panic!("expected Rejected(BadAuthenticationMethod), got {other:?}"),
        }
        let connect = connect_of(&tap, 0);
        assert_eq!(
            connect.properties.authentication_method.as_deref(),
            Some("x-unknown-method")
        );
        assert_eq!(
            connect.properties.authentication_data.as_deref(),
            Some(&b"client-first"[..])
        );
        // A refused method is not tried again (the options' backoff is
        // 50 ms: a retry would have come by now).
        sleep(QUIET).await;
        assert_eq!(tap.connections(), 1, "one attempt, no retry");
        assert!(auth.challenges.lock().unwrap().is_empty());
        assert!(auth.successes.lock().unwrap().is_empty());
        assert_eq!(
            count_lines(&broker.log(), "New client connected"),
            0,
            "mosquitto accepted nobody"
        );
    }

    /// The whole challenge and response against a scripted broker:
    /// CONNECT names the method with the authenticator's first data; the
    /// broker's AUTH 0x18 challenge "n1" is answered with exactly one AUTH
    /// 0x18 [5.0 MQTT-4.12.0-3] under the same method
    /// [5.0 MQTT-4.12.0-5] carrying the authenticator's answer, and
    /// nothing else goes out before CONNACK [5.0 MQTT-3.1.2-30]; the
    /// CONNACK's final data reaches `Authenticator::success`.
    pub async fn scripted_auth_exchange<R: Runtime>() {
        let sent: Captured = Arc::default();
        let broker = ScriptedBroker::start({
            let sent = sent.clone();
            move |peer, _| {
                let Some(connect) = peer.packet_v5(STEP) else {
                    return "no CONNECT".into();
                };
                sent.lock().unwrap().push(connect);
                peer.send_packet_v5(&v5::Packet::Auth(v5::Auth {
                    reason_code: ReasonCode::ContinueAuthentication,
                    properties: AuthProperties {
                        authentication_method: Some(s("x-shared")),
                        authentication_data: Some(Bytes::from_static(b"n1")),
                        ..AuthProperties::default()
                    },
                }));
                let Some(answer) = peer.packet_v5(STEP) else {
                    return "no AUTH answer".into();
                };
                sent.lock().unwrap().push(answer);
                peer.send_packet_v5(&v5::Packet::ConnAck(Box::new(v5::ConnAck {
                    session_present: false,
                    reason_code: ReasonCode::Success,
                    properties: ConnAckProperties {
                        authentication_method: Some(s("x-shared")),
                        authentication_data: Some(Bytes::from_static(b"server-final")),
                        ..ConnAckProperties::default()
                    },
                })));
                // Then whatever comes until the client hangs up.
                while let Some(p) = peer.packet_v5(STEP) {
                    let bye = matches!(p.1, v5::Packet::Disconnect(_));
                    sent.lock().unwrap().push(p);
                    if bye {
                        return "bye".into();
                    }
                }
                "no DISCONNECT".into()
            }
        });
        let auth = Arc::new(Shared {
            method: "x-shared",
            ..Shared::default()
        });
        let client = within(
            STEP,
            "connect with enhanced authentication",
            mqtt_integration_tests::on_smol::connect::<R>(
                v5(broker.port()).authenticator(SharedSecret(auth.clone())),
            ),
        )
        .await
        .expect("the exchange ends in CONNACK success");
        disconnect(&client).await;
        let verdicts = broker.finish(STEP);
        assert_eq!(verdicts, [Some("bye".to_owned())]);

        let sent = sent.lock().unwrap().clone();
        let v5::Packet::Connect(connect) = &sent[0].1 else {
            panic!("the first packet is CONNECT: {:?}", sent[0]);
        };
        assert_eq!(
            connect.properties.authentication_method.as_deref(),
            Some("x-shared")
        );
        assert_eq!(
            connect.properties.authentication_data.as_deref(),
            Some(&b"client-first"[..])
        );
        // The answer, byte for byte: AUTH (0xF0), remaining length 25,
        // reason 0x18, properties length 23: Authentication Method (0x15)
        // "x-shared", Authentication Data (0x16) "n1:s3cret".
        let mut expected = vec![0xF0, 25, 0x18, 23, 0x15, 0, 8];
        expected.extend_from_slice(b"x-shared");
        expected.extend_from_slice(&[0x16, 0, 9]);
        expected.extend_from_slice(b"n1:s3cret");
        assert_eq!(sent[1].0, expected, "the AUTH answer's bytes");
        assert_eq!(
            *auth.challenges.lock().unwrap(),
            [Some(b"n1".to_vec())],
            "the authenticator saw the broker's challenge"
        );
        assert_eq!(
            *auth.successes.lock().unwrap(),
            [Some(b"server-final".to_vec())],
            "Authenticator::success gets CONNACK's final data"
        );
        assert!(
            matches!(sent.last().map(|p| &p.1), Some(v5::Packet::Disconnect(_))),
            "{sent:?}"
        );
    }

    /// Re-authentication on a live connection (section 4.12.1), scripted
    /// (mosquitto has no enhanced authentication without a plugin):
    /// `reauthenticate` sends AUTH with reason Re-authenticate (0x19), the
    /// same method [5.0 MQTT-4.12.1-1] and the authenticator's first data;
    /// the broker's challenge goes to the authenticator, whose answer goes
    /// back as AUTH 0x18; the broker's AUTH Success resolves the call and
    /// reaches `Authenticator::success`. A client without an authenticator
    /// gets `Error::Auth`.
    pub async fn scripted_reauthentication<R: Runtime>() {
        let sent: Captured = Arc::default();
        let broker = ScriptedBroker::start({
            let sent = sent.clone();
            move |peer, _| {
                if peer.packet_v5(STEP).is_none() {
                    return "no CONNECT".into();
                }
                peer.send_packet_v5(&v5::Packet::ConnAck(Box::new(v5::ConnAck {
                    session_present: false,
                    reason_code: ReasonCode::Success,
                    properties: ConnAckProperties::default(),
                })));
                let Some(start) = peer.packet_v5(STEP) else {
                    return "no AUTH 0x19".into();
                };
                sent.lock().unwrap().push(start);
                peer.send_packet_v5(&v5::Packet::Auth(v5::Auth {
                    reason_code: ReasonCode::ContinueAuthentication,
                    properties: AuthProperties {
                        authentication_method: Some(s("x-shared")),
                        authentication_data: Some(Bytes::from_static(b"n2")),
                        ..AuthProperties::default()
                    },
                }));
                let Some(answer) = peer.packet_v5(STEP) else {
                    return "no AUTH answer".into();
                };
                sent.lock().unwrap().push(answer);
                peer.send_packet_v5(&v5::Packet::Auth(v5::Auth {
                    reason_code: ReasonCode::Success,
                    properties: AuthProperties {
                        authentication_method: Some(s("x-shared")),
                        authentication_data: Some(Bytes::from_static(b"again")),
                        ..AuthProperties::default()
                    },
                }));
                while let Some(p) = peer.packet_v5(STEP) {
                    if matches!(p.1, v5::Packet::Disconnect(_)) {
                        return "bye".into();
                    }
                }
                "no DISCONNECT".into()
            }
        });
        let auth = Arc::new(Shared {
            method: "x-shared",
            ..Shared::default()
        });
        let client = within(
            STEP,
            "connect with an authenticator",
            mqtt_integration_tests::on_smol::connect::<R>(
                v5(broker.port()).authenticator(SharedSecret(auth.clone())),
            ),
        )
        .await
        .expect("CONNACK success");
        within(STEP, "re-authenticate", client.reauthenticate())
            .await
            .expect("the broker's AUTH Success ends the re-authentication");
        disconnect(&client).await;
        assert_eq!(broker.finish(STEP), [Some("bye".to_owned())]);

        let sent = sent.lock().unwrap().clone();
        let v5::Packet::Auth(start) = &sent[0].1 else {
            panic!("re-authentication starts with AUTH: {:?}", sent[0]);
        };
        assert_eq!(start.reason_code, ReasonCode::ReAuthenticate);
        assert_eq!(
            start.properties.authentication_method.as_deref(),
            Some("x-shared")
        );
        assert_eq!(
            start.properties.authentication_data.as_deref(),
            Some(&b"client-first"[..])
        );
        let v5::Packet::Auth(answer) = &sent[1].1 else {
            panic!("the answer is AUTH: {:?}", sent[1]);
        };
        assert_eq!(answer.reason_code, ReasonCode::ContinueAuthentication);
        assert_eq!(
            answer.properties.authentication_method.as_deref(),
            Some("x-shared")
        );
        assert_eq!(
            answer.properties.authentication_data.as_deref(),
            Some(&b"n2:s3cret"[..])
        );
        assert_eq!(*auth.challenges.lock().unwrap(), [Some(b"n2".to_vec())]);
        assert_eq!(
            *auth.successes.lock().unwrap(),
            [None, Some(b"again".to_vec())]
        );

        // Without an authenticator there is nothing to re-authenticate with.
        let plain = ScriptedBroker::start(|peer, _| {
            if peer.packet_v5(STEP).is_none() {
                return "no CONNECT".into();
            }
            peer.send_packet_v5(&v5::Packet::ConnAck(Box::new(v5::ConnAck {
                session_present: false,
                reason_code: ReasonCode::Success,
                properties: ConnAckProperties::default(),
            })));
            while let Some(p) = peer.packet_v5(STEP) {
                if matches!(p.1, v5::Packet::Disconnect(_)) {
                    return "bye".into();
                }
            }
            "no DISCONNECT".into()
        });
        let client = within(
            STEP,
            "connect without an authenticator",
            mqtt_integration_tests::on_smol::connect::<R>(v5(plain.port())),
        )
        .await
        .expect("CONNACK success");
        let refused = within(STEP, "re-authenticate", client.reauthenticate()).await;
        assert!(matches!(refused, Err(Error::Auth(_))), "{refused:?}");
        disconnect(&client).await;
        assert_eq!(plain.finish(STEP), [Some("bye".to_owned())]);
    }

    /// Topic aliases from the broker, scripted (mosquitto sends none): with
    /// `topic_aliases(2, 0)` the client accepts alias 1 set with a topic
    /// and then used alone [5.0 MQTT-3.3.2-10], delivering both messages
    /// under the topic; an alias above its maximum (3) is a protocol
    /// violation that closes the connection.
    pub async fn incoming_topic_aliases<R: Runtime>() {
        let publish = |topic: Option<&str>, alias: u16, payload: &'static [u8]| {
            v5::Packet::Publish(v5::Publish {
                dup: false,
                qos_pid: mqtt_client::mqtt_proto::packet::QosPid::AtMostOnce,
                retain: false,
                topic: topic.map(|t| t.try_into().expect("a topic")),
                properties: PublishProperties {
                    topic_alias: Some(alias),
                    ..PublishProperties::default()
                },
                payload: Bytes::from_static(payload),
            })
        };
        let broker = ScriptedBroker::start(move |peer, n| {
            let Some((_, v5::Packet::Connect(connect))) = peer.packet_v5(STEP) else {
                return "no CONNECT".into();
            };
            if connect.properties.topic_alias_maximum != Some(2) {
                return format!("Topic Alias Maximum {:?}", connect.properties);
            }
            peer.send_packet_v5(&v5::Packet::ConnAck(Box::new(v5::ConnAck {
                session_present: false,
                reason_code: ReasonCode::Success,
                properties: ConnAckProperties::default(),
            })));
            if n > 0 {
                // The reconnect after the violation: nothing more to do.
                return "reconnected".into();
            }
            let Some((_, v5::Packet::Subscribe(subscribe))) = peer.packet_v5(STEP) else {
                return "no SUBSCRIBE".into();
            };
            peer.send_packet_v5(&v5::Packet::SubAck(v5::SubAck {
                pid: subscribe.pid,
                properties: Default::default(),
                reason_codes: vec![ReasonCode::Success],
            }));
            peer.send_packet_v5(&publish(Some("in/a/topic/with/an/alias"), 1, b"set"));
            peer.send_packet_v5(&publish(None, 1, b"used"));
            peer.send_packet_v5(&publish(Some("in/too/high"), 3, b"bad"));
            if peer.closed_by_client(STEP) {
                "closed".into()
            } else {
                "open".into()
            }
        });
        let client = within(
            STEP,
            "connect",
            mqtt_integration_tests::on_smol::connect::<R>(
                v5(broker.port())
                    .topic_aliases(2, 0)
                    .backoff(Duration::from_secs(30), Duration::from_secs(60)),
            ),
        )
        .await
        .expect("connect");
        let client_events = events(&client, connected(false)).await;
        let mut sub = subscribe(&client, "in/#", QoS::AtMostOnce).await;
        for payload in ["set", "used"] {
            let m = recv(&mut sub, "a message with a topic alias").await;
            assert_eq!(
                (m.topic.as_ref(), text(&m).as_str()),
                ("in/a/topic/with/an/alias", payload)
            );
        }
        let lost = wait_event(&client_events, STEP, "Disconnected", is_disconnected).await;
        assert!(
            matches!(
                lost,
                ConnectionEvent::Disconnected {
                    reason: DisconnectReason::ProtocolViolation(
                        ProtocolViolation::InvalidTopicAlias
                    )
                }
            ),
            "{lost:?}"
        );
        expect_silence(&mut sub, Duration::ZERO, "the message with a bad alias").await;
        drop(sub);
        drop(client_events);
        drop(client);
        let verdicts = broker.finish(STEP);
        assert_eq!(
            verdicts.first().cloned().flatten().as_deref(),
            Some("closed")
        );
    }
}

// ---- the tests, per runtime ----------------------------------------------

/// No scenario may take longer than this, whatever goes wrong.
const TEST_BOUND: Duration = Duration::from_secs(45);

async fn bounded<F: Future>(name: &str, f: F) -> F::Output {
    let started = std::time::Instant::now();
    let out = scenarios::within(TEST_BOUND, name, f).await;
    eprintln!("{name}: {:?}", started.elapsed());
    out
}

/// One `#[test]` per scenario on one runtime, in a module named after it:
/// `suite!(module, Runtime type, block_on)`.
macro_rules! suite {
    ($flavor:ident, $runtime:ty, $block_on:path) => {
        mod $flavor {
            use super::{bounded, scenarios};
            use mqtt_integration_tests::broker::Mosquitto;

            type R = $runtime;

            /// Runs `scenario` on this runtime under the overall bound
            /// (boxed, as in `client_suite.rs`, to keep the scenario future
            /// off the test thread's stack).
            fn run<F: std::future::Future>(name: &str, scenario: F) -> F::Output {
                let name = format!("{}::{name}", stringify!($flavor));
                $block_on(Box::pin(bounded(&name, scenario)))
            }

            #[test]
            fn broker_receive_maximum() {
                let broker = Mosquitto::start("max_inflight_messages 5");
                run(
                    "broker_receive_maximum",
                    scenarios::broker_receive_maximum::<R>(&broker),
                );
            }

            #[test]
            fn our_receive_maximum() {
                let broker = Mosquitto::start("");
                run(
                    "our_receive_maximum",
                    scenarios::our_receive_maximum::<R>(&broker),
                );
            }

            #[test]
            fn topic_aliases() {
                let broker = Mosquitto::start("max_topic_alias 3");
                run("topic_aliases", scenarios::topic_aliases::<R>(&broker));
            }

            #[test]
            fn incoming_topic_aliases() {
                run(
                    "incoming_topic_aliases",
                    scenarios::incoming_topic_aliases::<R>(),
                );
            }

            #[test]
            fn session_survives_broker_restart() {
                let mut broker = Mosquitto::start("persistence true");
                run(
                    "session_survives_broker_restart",
                    scenarios::session_survives_broker_restart::<R>(&mut broker),
                );
            }

            #[test]
            fn session_expires() {
                let broker = Mosquitto::start("");
                run("session_expires", scenarios::session_expires::<R>(&broker));
            }

            #[test]
            fn session_taken_over() {
                let broker = Mosquitto::start("");
                run(
                    "session_taken_over",
                    scenarios::session_taken_over::<R>(&broker),
                );
            }

            #[test]
            fn server_disconnect_with_reason() {
                run(
                    "server_disconnect_with_reason",
                    scenarios::server_disconnect_with_reason::<R>(),
                );
            }

            #[test]
            fn shared_subscription() {
                let broker = Mosquitto::start("");
                run(
                    "shared_subscription",
                    scenarios::shared_subscription::<R>(&broker),
                );
            }

            #[test]
            fn no_local() {
                let broker = Mosquitto::start("");
                run("no_local", scenarios::no_local::<R>(&broker));
            }

            #[test]
            fn retain_handling_do_not_send() {
                let broker = Mosquitto::start("");
                run(
                    "retain_handling_do_not_send",
                    scenarios::retain_handling_do_not_send::<R>(&broker),
                );
            }

            #[test]
            fn subscription_identifiers() {
                let broker = Mosquitto::start("");
                run(
                    "subscription_identifiers",
                    scenarios::subscription_identifiers::<R>(&broker),
                );
            }

            #[test]
            fn user_properties_and_content_type() {
                let broker = Mosquitto::start("");
                run(
                    "user_properties_and_content_type",
                    scenarios::user_properties_and_content_type::<R>(&broker),
                );
            }

            #[test]
            fn request_response() {
                let broker = Mosquitto::start("");
                run(
                    "request_response",
                    scenarios::request_response::<R>(&broker),
                );
            }

            #[test]
            fn unknown_authentication_method() {
                let broker = Mosquitto::start("");
                run(
                    "unknown_authentication_method",
                    scenarios::unknown_authentication_method::<R>(&broker),
                );
            }

            #[test]
            fn scripted_auth_exchange() {
                run(
                    "scripted_auth_exchange",
                    scenarios::scripted_auth_exchange::<R>(),
                );
            }

            #[test]
            fn scripted_reauthentication() {
                run(
                    "scripted_reauthentication",
                    scenarios::scripted_reauthentication::<R>(),
                );
            }
        }
    };
}

suite!(tokio, mqtt_tokio::Tokio, super::block_on_tokio);
suite!(
    async_std,
    mqtt_async_std::AsyncStd,
    ::async_std::task::block_on
);
suite!(
    smol,
    mqtt_integration_tests::on_smol::Smol,
    ::smol::block_on
);
