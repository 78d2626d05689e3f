//! The MQTT client against real mosquitto brokers, on every runtime it
//! supports: one private broker per test (see
//! `mqtt_integration_tests::broker`), every wait bounded so that a bug fails
//! the test instead of hanging it.
//!
//! One source, three runtimes. Every scenario is written once as a generic
//! `async fn name<R: Runtime>(..)` over the runtime-neutral
//! `mqtt_client::Client<R>`; [`suite!`] instantiates a `#[test]` per
//! scenario for each runtime, so the tests read `tokio::qos_round_trips`,
//! `async_std::qos_round_trips`, `smol::qos_round_trips`, and so on:
//!
//! - `tokio`: `mqtt_tokio::Tokio` on a multi-thread tokio runtime;
//! - `async_std`: `mqtt_async_std::AsyncStd` under `async_std::task::block_on`;
//! - `smol`: `mqtt_async_std`'s runtime under `smol::block_on`, the driver
//!   spawned on smol through `Options::spawner`, never on async-std's
//!   executor (`mqtt_integration_tests::on_smol::Smol`, whose own `spawn`
//!   panics; [`smol_without_async_std`] checks the whole arrangement).
//!
//! Layout:
//! - [`rt`] holds the runtime-neutral helpers: timeouts and sleeps on
//!   `async-io` timers (which run under any executor), tasks spawned through
//!   the client's own [`Runtime::spawn`](mqtt_client::Runtime::spawn),
//!   blocking work on plain threads.
//! - [`vanish`] is the one runtime-specific trick, handed to [`suite!`]: a
//!   client on an executor of its own in another thread, which is dropped
//!   under it so that the broker sees the connection end without a
//!   DISCONNECT, as if the process died.
//! - [`Proxy`](mqtt_integration_tests::proxy::Proxy) is a TCP proxy on plain std threads that can cut every
//!   connection without a DISCONNECT (a network failure the client cannot
//!   tell from a real one).
//! - [`scenarios`] holds the scenarios; each takes the broker it needs.
//! - [`suite!`] starts a broker with the config a scenario needs and runs
//!   the scenario under an overall bound on the runtime's `block_on`, on
//!   the test's own thread. Broker restarts stay on that thread too: the
//!   harness ties a broker's life to the thread that spawned it.
//!
//! Normative statements of MQTT 3.1.1 (OASIS, 29 October 2014) are cited as
//! [MQTT-x.y.z-n] where a check relies on one.

use mqtt_integration_tests::wait::block_on_tokio;
use std::future::Future;
use std::time::Duration;

/// Runtime-neutral helpers: nothing here names tokio, async-std or smol.
mod rt {
    pub use mqtt_client::mqtt_proto::packet::v5::ReasonCode;
    pub use mqtt_client::mqtt_proto::packet::{ConnectReturnCode, Protocol};
    pub use mqtt_client::{
        Client, ConnectionEvent, Error, Message, Options, QoS, Runtime, SubscribeOutcome,
        Subscription,
    };
    pub use mqtt_integration_tests::steps::{blocking, sleep, spawn, timeout, yield_now};
}

/// A client that dies without a word: connected on an executor of its own in
/// the calling thread, which is then dropped while the client is connected.
/// The driver task is cancelled and its socket closed by the OS, so the
/// broker sees the network connection end without a DISCONNECT, as if the
/// process died. Each function blocks; run it with [`rt::blocking`].
mod vanish {
    use super::rt::{self, Client, Options, Runtime};
    use mqtt_async_std::AsyncStd;
    use std::cell::RefCell;
    use std::io;
    use std::rc::Rc;
    use std::time::{Duration, Instant};

    const CONNECT_BOUND: Duration = Duration::from_secs(5);

    fn connected<T>(result: Result<Result<T, mqtt_client::Error>, ()>) -> T {
        match result {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!("the doomed client could not connect: {e}"),
            Err(()) => panic!("the doomed client did not connect within {CONNECT_BOUND:?}"),
        }
    }

    /// tokio: a current-thread runtime of its own, dropped under the client.
    pub fn tokio_runtime_dropped(options: Options) {
        let runtime = ::tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the doomed client");
        let client = connected(runtime.block_on(rt::timeout(
            CONNECT_BOUND,
            Client::<mqtt_tokio::Tokio>::connect(options),
        )));
        // The runtime first, so that the driver dies before it can see the
        // last handle go and say goodbye.
        drop(runtime);
        drop(client);
    }

    thread_local! {
        static EXECUTOR: RefCell<Option<Rc<smol::Executor<'static>>>> =
            const { RefCell::new(None) };
    }

    /// `AsyncStd` as it is (its TCP stream, async-io timers and clock),
    /// except that it spawns the driver on an executor owned by the current
    /// thread instead of async-std's global one, which cannot be dropped.
    #[derive(Debug)]
    struct ThreadOwned;

    impl Runtime for ThreadOwned {
        type Stream = <AsyncStd as Runtime>::Stream;

        fn connect(
            host: String,
            port: u16,
            timeout: Duration,
        ) -> mqtt_client::BoxFuture<io::Result<Self::Stream>> {
            AsyncStd::connect(host, port, timeout)
        }

        fn sleep_until(deadline: Instant) -> mqtt_client::BoxFuture<()> {
            AsyncStd::sleep_until(deadline)
        }

        fn now() -> Instant {
            AsyncStd::now()
        }

        fn spawn(task: mqtt_client::BoxFuture<()>) {
            EXECUTOR.with(|e| {
                e.borrow()
                    .as_ref()
                    .expect("ThreadOwned::spawn outside executor_dropped")
                    .spawn(task)
                    .detach();
            });
        }
    }

    /// async-std and smol: both run on async-io, so the `AsyncStd`
    /// transport and timers on a `smol::Executor` owned by this thread,
    /// dropped under the client (dropping an executor drops its tasks).
    pub fn executor_dropped(options: Options) {
        let executor = Rc::new(smol::Executor::new());
        EXECUTOR.with(|e| *e.borrow_mut() = Some(executor.clone()));
        let client = connected(smol::block_on(executor.run(rt::timeout(
            CONNECT_BOUND,
            Client::<ThreadOwned>::connect(options),
        ))));
        EXECUTOR.with(|e| e.borrow_mut().take());
        drop(executor);
        drop(client);
    }
}

mod scenarios {
    use super::rt::{self, *};
    use mqtt_integration_tests::broker::Mosquitto;
    use mqtt_integration_tests::proxy::Proxy;
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    pub use mqtt_integration_tests::steps::within;
    use mqtt_integration_tests::steps::{
        connect, connected, disconnect, drain_events, events, expect_silence, is_connected,
        is_disconnected, options, publish, recv, subscribe, wait_event, QUIET, STEP,
    };

    /// Restarts `broker` (SIGTERM, then the same config on the same port),
    /// blocking the calling thread meanwhile. It must be the thread that
    /// started the broker: the harness has the kernel kill a broker when
    /// the thread that spawned it ends (PR_SET_PDEATHSIG), so a restart on
    /// a helper thread would leave a broker that dies with that thread.
    /// Scenarios run as the root future of `block_on` on the test's own
    /// thread, which started the broker and lives as long as the test;
    /// nothing else waits on that future while it blocks (the clients'
    /// drivers and helper tasks run on the runtime's workers).
    fn restart(broker: &mut Mosquitto) {
        broker.restart();
    }

    fn count_lines(log: &str, needle: &str) -> usize {
        log.lines().filter(|l| l.contains(needle)).count()
    }

    /// The protocol level a scenario runs at. Every client a scenario
    /// opens gets its `Options` from [`Level::options`], so each scenario
    /// runs unchanged at 3.1.1 and at 5.0; the few checks that differ by
    /// level (a refusal is `Error::Refused` at 3.1.1, `Error::Rejected` at
    /// 5.0) ask [`Level::is_v5`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Level(pub Protocol);

    impl Level {
        pub const V311: Level = Level(Protocol::V311);
        pub const V5: Level = Level(Protocol::V5);

        /// The suite's options for `port`, at this level.
        pub fn options(self, port: u16) -> Options {
            options(port).protocol(self.0)
        }

        pub fn is_v5(self) -> bool {
            self.0 == Protocol::V5
        }

        /// Checks that every client `broker` saw connected at this level:
        /// mosquitto logs "New client connected from … as <id> (p<N>, …)",
        /// p2 for 3.1.1 and p5 for 5.0. Without it a scenario whose
        /// options lost the level would pass at 5.0 while testing 3.1.1.
        pub fn check_log(self, log: &str) {
            let want = if self.is_v5() { "(p5," } else { "(p2," };
            let connected: Vec<&str> = log
                .lines()
                .filter(|l| l.contains("New client connected from"))
                .collect();
            assert!(!connected.is_empty(), "no client connected:\n{log}");
            let wrong: Vec<&&str> = connected.iter().filter(|l| !l.contains(want)).collect();
            assert!(
                wrong.is_empty(),
                "clients connected at another level than {:?}: {wrong:?}",
                self.0
            );
        }
    }

    // ---- 1. round trips ---------------------------------------------------

    /// A message at each QoS comes back with its topic, payload and QoS; a
    /// QoS 2 message exactly once.
    pub async fn qos_round_trips<R: Runtime>(lv: Level, broker: &Mosquitto) {
        let client = connect::<R>(lv.options(broker.port())).await;
        let mut sub = subscribe(&client, "rt/#", QoS::ExactlyOnce).await;
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let topic = format!("rt/{qos:?}");
            let payload = format!("payload at {qos:?}");
            publish(&client, &topic, payload.clone(), qos).await;
            let msg = recv(&mut sub, &format!("the {qos:?} message")).await;
            assert_eq!(msg.topic, topic.as_str());
            assert_eq!(msg.payload, payload);
            // Delivered at min(published QoS, granted QoS) [MQTT-3.8.4-6].
            assert_eq!(msg.qos, qos);
            // A live message is not flagged retained [MQTT-3.3.1-9].
            assert!(!msg.retain);
        }
        // QoS 2 is delivered exactly once (section 4.3.3): no duplicate of
        // anything follows.
        expect_silence(&mut sub, QUIET, "after the three round trips").await;
        disconnect(&client).await;
    }

    /// A retained message reaches a later subscriber with RETAIN set
    /// [MQTT-3.3.1-6], [MQTT-3.3.1-8]; a subscriber that was already there
    /// sees it with RETAIN clear [MQTT-3.3.1-9].
    pub async fn retained_message<R: Runtime>(lv: Level, broker: &Mosquitto) {
        let publisher = connect::<R>(lv.options(broker.port())).await;
        let mut early = subscribe(&publisher, "retained/#", QoS::AtLeastOnce).await;
        within(
            STEP,
            "publish_retained",
            publisher.publish_retained("retained/state", "on", QoS::AtLeastOnce),
        )
        .await
        .expect("publish_retained");
        let live = recv(&mut early, "the live copy").await;
        assert_eq!((live.payload.as_ref(), live.retain), (&b"on"[..], false));

        let late_client = connect::<R>(lv.options(broker.port())).await;
        let mut late = subscribe(&late_client, "retained/+", QoS::AtLeastOnce).await;
        let stored = recv(&mut late, "the retained message").await;
        assert_eq!(stored.topic, "retained/state");
        assert_eq!(stored.payload, "on");
        assert_eq!(stored.qos, QoS::AtLeastOnce);
        assert!(
            stored.retain,
            "a message sent for a new subscription has RETAIN set [MQTT-3.3.1-8]"
        );
        expect_silence(&mut late, QUIET, "after the retained message").await;
        disconnect(&late_client).await;
        disconnect(&publisher).await;
    }

    /// A zero-length payload is valid (section 3.3.3); a 16 MiB one fits
    /// the Remaining Length (at most 268,435,455, section 2.2.3) once both
    /// ends allow packets that big.
    pub async fn payload_sizes<R: Runtime>(lv: Level, broker: &Mosquitto) {
        const BIG: usize = 16 << 20;
        let client = connect::<R>(lv.options(broker.port()).max_packet_size(BIG + 1024)).await;
        let mut sub = subscribe(&client, "size/#", QoS::AtLeastOnce).await;

        publish(&client, "size/empty", bytes::Bytes::new(), QoS::AtLeastOnce).await;
        let empty = recv(&mut sub, "the empty message").await;
        assert_eq!(empty.topic, "size/empty");
        assert!(empty.payload.is_empty());

        let big: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
        let big = bytes::Bytes::from(big);
        within(
            Duration::from_secs(20),
            "publishing 16 MiB",
            client.publish("size/big", big.clone(), QoS::AtLeastOnce),
        )
        .await
        .expect("publish 16 MiB");
        let got = match within(Duration::from_secs(20), "receiving 16 MiB", sub.next()).await {
            Some(m) => m,
            None => panic!("subscription ended"),
        };
        assert_eq!(got.topic, "size/big");
        assert_eq!(got.payload.len(), BIG);
        assert!(got.payload == big, "the 16 MiB payload came back altered");
        disconnect(&client).await;
    }

    /// Topic names are UTF-8 strings (section 1.5.3, 4.7): accents, symbols
    /// and characters outside the BMP survive, and wildcards match them.
    pub async fn utf8_topics<R: Runtime>(lv: Level, broker: &Mosquitto) {
        let client = connect::<R>(lv.options(broker.port())).await;
        let mut sensors = subscribe(&client, "capteurs/+/°C", QoS::AtLeastOnce).await;
        let mut emoji = subscribe(&client, "émoji/🚀/#", QoS::ExactlyOnce).await;

        publish(&client, "capteurs/température/°C", "21,5", QoS::AtLeastOnce).await;
        let m = recv(&mut sensors, "the accented topic").await;
        assert_eq!(m.topic, "capteurs/température/°C");
        assert_eq!(m.payload, "21,5");

        publish(&client, "émoji/🚀/数据/✓", "🛰️", QoS::ExactlyOnce).await;
        let m = recv(&mut emoji, "the emoji topic").await;
        assert_eq!(m.topic, "émoji/🚀/数据/✓");
        assert_eq!(m.payload, "🛰️");
        assert_eq!(m.qos, QoS::ExactlyOnce);
        expect_silence(&mut sensors, QUIET, "the sensors filter after one message").await;
        disconnect(&client).await;
    }

    // ---- 2. will ----------------------------------------------------------

    /// A client that vanishes without DISCONNECT has its will published
    /// [MQTT-3.1.2-8]; one that sends DISCONNECT has it discarded
    /// [MQTT-3.1.2-10], [MQTT-3.14.4-3]. `vanish` connects a client on an
    /// executor of its own and drops that executor under it (see
    /// [`super::vanish`]).
    /// Dropping every handle (subscriptions included) ends the client the
    /// clean way: messages in flight complete, DISCONNECT is sent
    /// [MQTT-3.14.4-1], so the will is not published.
    pub async fn dropping_every_handle_disconnects<R: Runtime>(lv: Level, broker: &Mosquitto) {
        let watcher = connect::<R>(lv.options(broker.port())).await;
        let mut wills = subscribe(&watcher, "wills/#", QoS::AtLeastOnce).await;
        let mut received = subscribe(&watcher, "dropped/#", QoS::AtLeastOnce).await;

        let leaving = connect::<R>(
            lv.options(broker.port())
                .client_id("will-dropped")
                .last_will("wills/dropped", "dropped is gone", QoS::AtLeastOnce, false),
        )
        .await;
        let sub = subscribe(&leaving, "anything/#", QoS::AtMostOnce).await;
        leaving
            .try_publish(
                "dropped/last",
                "sent just before the drop",
                QoS::AtLeastOnce,
            )
            .expect("queued");
        drop(sub);
        drop(leaving);

        let last = recv(&mut received, "the message sent just before the drop").await;
        assert_eq!(last.payload, "sent just before the drop");
        expect_silence(
            &mut wills,
            Duration::from_secs(1),
            "the will of a client whose handles were all dropped",
        )
        .await;
        assert_eq!(
            count_lines(&broker.log(), "Received DISCONNECT from will-dropped"),
            1,
            "dropping every handle must send DISCONNECT"
        );
        disconnect(&watcher).await;
    }

    pub async fn will_message<R: Runtime>(lv: Level, broker: &Mosquitto, vanish: fn(Options)) {
        let watcher = connect::<R>(lv.options(broker.port())).await;
        let mut wills = subscribe(&watcher, "wills/#", QoS::AtLeastOnce).await;

        let doomed = lv
            .options(broker.port())
            .client_id("will-doomed")
            .last_will("wills/doomed", "doomed is gone", QoS::AtLeastOnce, false);
        rt::blocking(move || vanish(doomed)).await;
        let will = recv(&mut wills, "the will of the vanished client").await;
        assert_eq!(will.topic, "wills/doomed");
        assert_eq!(will.payload, "doomed is gone");
        assert_eq!(will.qos, QoS::AtLeastOnce);
        assert!(!will.retain);
        assert_eq!(
            count_lines(&broker.log(), "Received DISCONNECT from will-doomed"),
            0,
            "the vanished client must not have said goodbye"
        );

        let polite = connect::<R>(
            lv.options(broker.port())
                .client_id("will-polite")
                .last_will("wills/polite", "polite is gone", QoS::AtLeastOnce, false),
        )
        .await;
        disconnect(&polite).await;
        expect_silence(
            &mut wills,
            Duration::from_secs(1),
            "a cleanly disconnected client's will",
        )
        .await;
        assert_eq!(
            count_lines(&broker.log(), "Received DISCONNECT from will-polite"),
            1,
            "disconnect() must send DISCONNECT"
        );
        disconnect(&watcher).await;
    }

    // ---- 3. credentials ---------------------------------------------------

    /// The right user name and password connect; a wrong password is a typed
    /// refusal from `connect` (section 3.2.2.3: code 4, or 5 as mosquitto
    /// answers) and the client does not retry it.
    pub async fn credentials<R: Runtime>(
        lv: Level,
        broker: &Mosquitto,
        user: &str,
        password: &str,
    ) {
        let refused = within(
            STEP,
            "connect with a wrong password",
            mqtt_integration_tests::on_smol::connect::<R>(
                lv.options(broker.port())
                    .client_id("intruder")
                    .credentials(user, "wrong"),
            ),
        )
        .await;
        match refused {
            // 3.1.1: a CONNACK return code (section 3.2.2.3).
            Err(Error::Refused(ConnectReturnCode::BadUsernameOrPassword))
            | Err(Error::Refused(ConnectReturnCode::NotAuthorized))
                if !lv.is_v5() => {}
            // 5.0: a CONNACK reason code, 0x86 or 0x87 (section 3.2.2.2).
            Err(Error::Rejected(why))
                if lv.is_v5()
                    && matches!(
                        why.reason,
                        ReasonCode::BadUserNameOrPassword | ReasonCode::NotAuthorized
                    ) => {}
            other => panic!(
                "expected a refusal for bad credentials at {:?} (Refused(BadUsernameOrPassword | \
                 NotAuthorized) at 3.1.1, Rejected(0x86 | 0x87) at 5.0), got {other:?}",
                lv.0
            ),
        }
        // The broker closes the connection after a refusal [MQTT-3.2.2-5];
        // a client that retried anyway would show up here within the backoff
        // (50 ms minimum in these options).
        rt::sleep(Duration::from_secs(1)).await;
        let log = broker.log();
        let refusals = log
            .lines()
            .filter(|l| {
                l.contains("Sending CONNACK") && !l.ends_with("(0, 0)") && !l.ends_with("(1, 0)")
            })
            .count();
        let connections = count_lines(&log, "New connection from");
        let probes = count_lines(&log, "Client <unknown> closed its connection");
        assert_eq!(
            refusals, 1,
            "exactly one CONNECT refused, no retry storm:\n{log}"
        );
        assert_eq!(
            connections - probes,
            1,
            "exactly one connection attempt:\n{log}"
        );

        let client = connect::<R>(
            lv.options(broker.port())
                .client_id("member")
                .credentials(user, password.to_owned()),
        )
        .await;
        let mut sub = subscribe(&client, "members/#", QoS::AtLeastOnce).await;
        publish(&client, "members/hello", "hi", QoS::AtLeastOnce).await;
        assert_eq!(recv(&mut sub, "the member's message").await.payload, "hi");
        disconnect(&client).await;
    }

    // ---- 4. persistent session ----------------------------------------------

    const SESSION_N: usize = 50;

    async fn publish_numbered<R>(client: &Client<R>, n: usize) {
        for i in 0..n {
            publish(client, "persist/q1", format!("q1-{i}"), QoS::AtLeastOnce).await;
            publish(client, "persist/q2", format!("q2-{i}"), QoS::ExactlyOnce).await;
        }
    }

    /// Collects messages until every expected payload arrived (or `limit`
    /// passes), then for `QUIET` more; returns how often each payload came.
    async fn collect_counts<R>(
        sub: &mut Subscription<R>,
        expected: &BTreeSet<String>,
        limit: Duration,
    ) -> (BTreeMap<String, usize>, Vec<Message>) {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut all = Vec::new();
        let give_up = Instant::now() + limit;
        while !expected.iter().all(|p| counts.contains_key(p)) {
            let left = give_up.saturating_duration_since(Instant::now());
            match rt::timeout(left, sub.next()).await {
                Ok(Some(m)) => {
                    *counts
                        .entry(String::from_utf8_lossy(&m.payload).into_owned())
                        .or_default() += 1;
                    all.push(m);
                }
                Ok(None) | Err(()) => break,
            }
        }
        while let Ok(Some(m)) = rt::timeout(QUIET, sub.next()).await {
            *counts
                .entry(String::from_utf8_lossy(&m.payload).into_owned())
                .or_default() += 1;
            all.push(m);
        }
        (counts, all)
    }

    fn check_counts(counts: &BTreeMap<String, usize>, expected: &BTreeSet<String>, context: &str) {
        let missing: Vec<&String> = expected
            .iter()
            .filter(|p| !counts.contains_key(*p))
            .collect();
        let duplicated_q2: Vec<(&String, &usize)> = counts
            .iter()
            .filter(|(p, n)| p.starts_with("q2-") && **n > 1)
            .collect();
        assert!(
            missing.is_empty() && duplicated_q2.is_empty(),
            "{context}: {} of {} messages missing (first: {:?}); QoS 2 duplicates: {:?}",
            missing.len(),
            expected.len(),
            missing.iter().take(10).collect::<Vec<_>>(),
            duplicated_q2,
        );
    }

    fn numbered(n: usize) -> BTreeSet<String> {
        (0..n)
            .flat_map(|i| [format!("q1-{i}"), format!("q2-{i}")])
            .collect()
    }

    /// Literal scenario: the subscriber disconnects (DISCONNECT), messages
    /// are published, and a new `Client` with the same id and
    /// clean_session(false) comes back: the broker resumes the session
    /// (session present 1 [MQTT-3.2.2-2], [MQTT-3.1.2-4]) and sends what it
    /// stored for it (section 3.1.2.4: QoS 1 and 2 messages pending
    /// transmission are session state) right after CONNACK, before the
    /// application subscribes again to the same filters (replacing them is
    /// idempotent [MQTT-3.8.4-3]). The client holds those messages for the
    /// unmatched grace (10 s by default) and hands them to that
    /// subscription: it must see every message; QoS 2 exactly once.
    pub async fn persistent_session_new_client<R: Runtime>(lv: Level, broker: &Mosquitto) {
        let sub_options = lv
            .options(broker.port())
            .client_id("persist-sub")
            .clean_session(false);
        let filters = [
            ("persist/q1", QoS::AtLeastOnce),
            ("persist/q2", QoS::ExactlyOnce),
        ];
        let first = connect::<R>(sub_options.clone()).await;
        let sub = within(STEP, "subscribe_many", first.subscribe_many(&filters))
            .await
            .expect("subscribe");
        assert_eq!(
            sub.outcomes(),
            [
                SubscribeOutcome::Granted(QoS::AtLeastOnce),
                SubscribeOutcome::Granted(QoS::ExactlyOnce)
            ]
        );
        disconnect(&first).await;
        drop(sub);

        let publisher = connect::<R>(lv.options(broker.port())).await;
        publish_numbered(&publisher, SESSION_N).await;

        let again = connect::<R>(sub_options).await;
        // The first connection of a Client happens inside `connect`; a new
        // events() receiver still learns of it, as the latest state.
        events(&again, connected(true)).await;
        // The broker's side agrees: "Sending CONNACK to <id> (<session
        // present>, <rc>)".
        let log = broker.log();
        let connacks: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("Sending CONNACK to persist-sub"))
            .collect();
        assert!(
            connacks.len() == 2 && connacks[1].ends_with("(1, 0)"),
            "the second CONNACK must have session present 1: {connacks:?}"
        );
        // Let the stored messages come in before subscribing, so that they
        // really are messages without a subscription when they arrive.
        rt::sleep(QUIET).await;
        let sent_early = count_lines(&broker.log(), "Sending PUBLISH to persist-sub");
        assert!(
            sent_early > 0,
            "the broker sent no stored message before the new subscribe"
        );
        let mut sub = within(STEP, "subscribe_many again", again.subscribe_many(&filters))
            .await
            .expect("subscribe again");
        let expected = numbered(SESSION_N);
        assert_eq!(expected.len(), 2 * SESSION_N);
        let (counts, all) = collect_counts(&mut sub, &expected, STEP).await;
        check_counts(
            &counts,
            &expected,
            &format!(
                "messages stored for the offline session ({sent_early} sent before the subscribe)"
            ),
        );
        let unexpected: Vec<&String> = counts.keys().filter(|p| !expected.contains(*p)).collect();
        assert!(unexpected.is_empty(), "unexpected messages: {unexpected:?}");
        // Delivered at the QoS they were published and subscribed with
        // [MQTT-3.8.4-6].
        for m in &all {
            let want = if m.topic == "persist/q2" {
                QoS::ExactlyOnce
            } else {
                QoS::AtLeastOnce
            };
            assert_eq!(m.qos, want, "{m:?}");
        }
        disconnect(&again).await;
        disconnect(&publisher).await;
    }

    /// The same guarantee through the client's own reconnect: the network
    /// (a proxy) fails without DISCONNECT, messages are published while the
    /// subscriber is away, and when it is back `events()` reports
    /// Connected{session_present: true} and the old `Subscription` receives
    /// every message, QoS 2 exactly once [MQTT-3.1.2-4], [MQTT-4.4.0-1].
    pub async fn persistent_session_after_network_failure<R: Runtime>(
        lv: Level,
        broker: &Mosquitto,
    ) {
        let proxy = Proxy::start(broker.addr());
        let subscriber = connect::<R>(
            lv.options(proxy.port())
                .client_id("persist-net")
                .clean_session(false),
        )
        .await;
        let filters = [
            ("persist/q1", QoS::AtLeastOnce),
            ("persist/q2", QoS::ExactlyOnce),
        ];
        let mut sub = within(STEP, "subscribe_many", subscriber.subscribe_many(&filters))
            .await
            .expect("subscribe");
        // A new id: the broker had no session for it [MQTT-3.2.2-3].
        let events = events(&subscriber, connected(false)).await;

        proxy.cut();
        wait_event(&events, STEP, "Disconnected after the cut", is_disconnected).await;
        let publisher = connect::<R>(lv.options(broker.port())).await;
        publish_numbered(&publisher, SESSION_N).await;
        proxy.restore();

        let event = wait_event(&events, STEP, "Connected after the cut", is_connected).await;
        assert!(
            matches!(
                event,
                ConnectionEvent::Connected {
                    session_present: true,
                    ..
                }
            ),
            "{event:?}"
        );
        let expected = numbered(SESSION_N);
        let (counts, _) = collect_counts(&mut sub, &expected, STEP).await;
        check_counts(
            &counts,
            &expected,
            "messages stored while the network was down",
        );
        disconnect(&subscriber).await;
        disconnect(&publisher).await;
    }

    // ---- 5. broker restart with persistence -------------------------------

    /// A persistent publisher streams QoS 1 and 2 messages while the broker
    /// (persistence on) is stopped with SIGTERM and started again. Mosquitto
    /// saves its database on SIGTERM, so everything it acknowledged
    /// survives; the client resends what it had not finished
    /// [MQTT-4.4.0-1]. Every publish that `publish` reported `Ok` reaches the
    /// persistent subscriber, QoS 2 exactly once.
    pub async fn broker_restart_mid_stream<R: Runtime>(lv: Level, broker: &mut Mosquitto) {
        let port = broker.port();
        let subscriber = connect::<R>(
            lv.options(port)
                .client_id("restart-sub")
                .clean_session(false),
        )
        .await;
        let mut sub = within(
            STEP,
            "subscribe_many",
            subscriber.subscribe_many(&[
                ("stream/q1", QoS::AtLeastOnce),
                ("stream/q2", QoS::ExactlyOnce),
            ]),
        )
        .await
        .expect("subscribe");
        let publisher = connect::<R>(
            lv.options(port)
                .client_id("restart-pub")
                .clean_session(false),
        )
        .await;
        let sub_events = events(&subscriber, connected(false)).await;
        let pub_events = events(&publisher, connected(false)).await;

        let stop = Arc::new(AtomicBool::new(false));
        let producer = rt::spawn::<R, _>({
            let stop = stop.clone();
            let publisher = publisher.clone();
            async move {
                const WINDOW: usize = 16;
                let mut pending = std::collections::VecDeque::new();
                let mut done: Vec<(String, Result<(), Error>)> = Vec::new();
                let mut i = 0usize;
                while !stop.load(Ordering::SeqCst) {
                    let (topic, payload, qos) = if i.is_multiple_of(2) {
                        ("stream/q1", format!("q1-{i}"), QoS::AtLeastOnce)
                    } else {
                        ("stream/q2", format!("q2-{i}"), QoS::ExactlyOnce)
                    };
                    let p = publisher.clone();
                    pending.push_back(rt::spawn::<R, _>(async move {
                        let r = p.publish(topic, payload.clone(), qos).await;
                        (payload, r)
                    }));
                    if pending.len() >= WINDOW {
                        if let Some(first) = pending.pop_front() {
                            done.push(
                                within(Duration::from_secs(15), "a publish to finish", first).await,
                            );
                        }
                    }
                    i += 1;
                }
                for p in pending {
                    done.push(within(Duration::from_secs(15), "a publish to finish", p).await);
                }
                done
            }
        });

        rt::sleep(Duration::from_millis(300)).await;
        restart(broker);
        wait_event(
            &pub_events,
            STEP,
            "the publisher reconnecting",
            is_connected,
        )
        .await;
        let sub_back = wait_event(
            &sub_events,
            STEP,
            "the subscriber reconnecting",
            is_connected,
        )
        .await;
        rt::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::SeqCst);
        let results = within(Duration::from_secs(20), "the producer", producer).await;

        let ok: BTreeSet<String> = results
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(p, _)| p.clone())
            .collect();
        let failed: Vec<&(String, Result<(), Error>)> =
            results.iter().filter(|(_, r)| r.is_err()).collect();
        assert!(
            ok.len() > 50,
            "too few publishes completed to mean anything: {}",
            ok.len()
        );
        // Persistence restored the subscriber's session [MQTT-3.2.2-2].
        assert!(
            matches!(
                sub_back,
                ConnectionEvent::Connected {
                    session_present: true,
                    ..
                }
            ),
            "{sub_back:?}"
        );

        let (counts, _) = collect_counts(&mut sub, &ok, Duration::from_secs(10)).await;
        check_counts(
            &counts,
            &ok,
            &format!(
                "acknowledged publishes across a broker restart ({} ok, {} failed: {:?})",
                ok.len(),
                failed.len(),
                failed.iter().take(3).collect::<Vec<_>>()
            ),
        );
        eprintln!(
            "broker restart: {} publishes ok, {} failed, {} distinct received",
            ok.len(),
            failed.len(),
            counts.len()
        );
        disconnect(&subscriber).await;
        disconnect(&publisher).await;
    }

    // ---- 6. frozen broker -------------------------------------------------

    /// With keep-alive 2 s, a broker that stops answering (SIGSTOP) is
    /// noticed within keep-alive plus the ping timeout (1.5 × keep-alive):
    /// the client sends PINGREQ after a keep-alive period without traffic
    /// [MQTT-3.1.2-23] and closes the connection when no PINGRESP comes
    /// (section 3.1.2.10). After SIGCONT it reconnects and works again.
    /// The connection dies while bytes wait to be written and no command
    /// follows: the driver must still notice, report it and reconnect
    /// (it once went to sleep here until the next command woke it).
    pub async fn write_failure_is_noticed<R: Runtime>(lv: Level, broker: Mosquitto) {
        let client = connect::<R>(lv.options(broker.port()).max_packet_size(32 << 20)).await;
        let events = events(&client, connected(false)).await;
        broker.freeze();
        // 8 MiB cannot all fit in the socket buffers of a broker that reads
        // nothing, so bytes stay parked in the driver.
        client
            .try_publish("big", vec![7u8; 8 << 20], QoS::AtMostOnce)
            .expect("queued");
        rt::sleep(Duration::from_millis(300)).await;
        lv.check_log(&broker.log());
        drop(broker); // SIGKILL: the kernel resets the connection.
        let first = within(
            Duration::from_secs(3),
            "an event after the reset",
            events.recv(),
        )
        .await
        .expect("events stay open");
        assert!(
            matches!(first, ConnectionEvent::Disconnected { .. }),
            "{first:?}"
        );
    }

    pub async fn frozen_broker<R: Runtime>(lv: Level, broker: &Mosquitto) {
        const KEEP_ALIVE: Duration = Duration::from_secs(2);
        const SLACK: Duration = Duration::from_millis(500);
        let client = connect::<R>(
            lv.options(broker.port())
                .keep_alive(KEEP_ALIVE)
                .connect_timeout(Duration::from_secs(1)),
        )
        .await;
        let mut sub = subscribe(&client, "frozen/t", QoS::AtLeastOnce).await;
        publish(&client, "frozen/t", "before", QoS::AtLeastOnce).await;
        assert_eq!(
            recv(&mut sub, "the message before the freeze")
                .await
                .payload,
            "before"
        );
        let events = events(&client, connected(false)).await;

        broker.freeze();
        let frozen_at = Instant::now();
        let bound = KEEP_ALIVE * 3 / 2 + SLACK;
        wait_event(
            &events,
            bound + STEP,
            "Disconnected while frozen",
            is_disconnected,
        )
        .await;
        let noticed = frozen_at.elapsed();
        assert!(
            noticed <= bound,
            "the freeze was noticed after {noticed:?}, more than {bound:?}"
        );

        broker.thaw();
        let thawed_at = Instant::now();
        wait_event(
            &events,
            Duration::from_secs(10),
            "Connected after the thaw",
            is_connected,
        )
        .await;
        eprintln!(
            "frozen broker: Disconnected {noticed:?} after the freeze, Connected {:?} after the thaw",
            thawed_at.elapsed()
        );
        // The session was clean, so the client subscribed again; this
        // PUBLISH follows that SUBSCRIBE on the same connection.
        publish(&client, "frozen/t", "after", QoS::AtLeastOnce).await;
        assert_eq!(
            recv(&mut sub, "the message after the thaw").await.payload,
            "after"
        );
        disconnect(&client).await;
    }

    // ---- 7. volume ----------------------------------------------------------

    /// 10,000 distinct filters on one client, 100 per `subscribe_many`; a
    /// message reaches exactly the subscription whose filter matches.
    pub async fn ten_thousand_subscriptions<R: Runtime>(lv: Level, broker: &Mosquitto) {
        const BATCHES: usize = 100;
        const PER_BATCH: usize = 100;
        let client = connect::<R>(lv.options(broker.port())).await;
        let mut calls = Vec::new();
        for b in 0..BATCHES {
            let client = client.clone();
            calls.push(rt::spawn::<R, _>(async move {
                let filters: Vec<String> = (0..PER_BATCH)
                    .map(|j| format!("many/{}/+", b * PER_BATCH + j))
                    .collect();
                let filters: Vec<(&str, QoS)> = filters
                    .iter()
                    .map(|f| (f.as_str(), QoS::AtLeastOnce))
                    .collect();
                client.subscribe_many(&filters).await
            }));
        }
        let mut subs = Vec::new();
        for (b, call) in calls.into_iter().enumerate() {
            let sub = within(Duration::from_secs(20), "10,000 subscriptions", call)
                .await
                .unwrap_or_else(|e| panic!("batch {b}: {e}"));
            assert_eq!(
                sub.outcomes(),
                [SubscribeOutcome::Granted(QoS::AtLeastOnce); PER_BATCH]
            );
            subs.push(sub);
        }
        for target in [4242usize, 0, 9999] {
            let topic = format!("many/{target}/x");
            publish(&client, &topic, format!("for {target}"), QoS::AtLeastOnce).await;
            let m = recv(&mut subs[target / PER_BATCH], &topic).await;
            assert_eq!(
                (m.topic.as_ref(), m.payload.as_ref()),
                (topic.as_str(), format!("for {target}").as_bytes())
            );
            // Routing is done when the message is received: a misrouted
            // copy would already be waiting.
            for (b, other) in subs.iter_mut().enumerate() {
                if let Ok(Some(m)) = rt::timeout(Duration::ZERO, other.next()).await {
                    panic!(
                        "subscription {b} got {m:?}, meant for {}",
                        target / PER_BATCH
                    );
                }
            }
        }
        disconnect(&client).await;
    }

    /// 100 clients in one process, each with its own QoS 1 round trip.
    pub async fn hundred_clients<R: Runtime>(lv: Level, broker: &Mosquitto) {
        let port = broker.port();
        let mut tasks = Vec::new();
        for i in 0..100usize {
            tasks.push(rt::spawn::<R, _>(async move {
                let client = connect::<R>(lv.options(port).client_id(format!("hundred-{i}"))).await;
                let topic = format!("hundred/{i}");
                let mut sub = subscribe(&client, &topic, QoS::AtLeastOnce).await;
                publish(&client, &topic, format!("from {i}"), QoS::AtLeastOnce).await;
                let m = recv(&mut sub, &topic).await;
                assert_eq!(
                    (m.topic.as_ref(), m.qos),
                    (topic.as_str(), QoS::AtLeastOnce)
                );
                assert_eq!(m.payload, format!("from {i}"));
                disconnect(&client).await;
            }));
        }
        for t in tasks {
            within(Duration::from_secs(20), "a client's round trip", t).await;
        }
    }

    // ---- 8. slow consumer -------------------------------------------------

    /// A subscriber with room for 16 messages does not read while 1,000 QoS 1
    /// messages arrive. The client holds delivery instead of dropping (the
    /// broker's inflight window then stops sending), keeps the connection
    /// alive meanwhile (PINGREQ [MQTT-3.1.2-23]; the broker would cut it
    /// after 1.5 × keep-alive of silence [MQTT-3.1.2-24]), and when read
    /// everything arrives once, in order (ordered topic [MQTT-4.6.0-6]).
    pub async fn slow_consumer<R: Runtime>(lv: Level, broker: &Mosquitto) {
        const N: usize = 1000;
        let subscriber = connect::<R>(
            lv.options(broker.port())
                .client_id("slow-sub")
                .keep_alive(Duration::from_secs(1))
                .subscription_capacity(16),
        )
        .await;
        let mut sub = subscribe(&subscriber, "slow/t", QoS::AtLeastOnce).await;
        let events = events(&subscriber, connected(false)).await;
        let publisher = connect::<R>(lv.options(broker.port())).await;
        for i in 0..N {
            publish(&publisher, "slow/t", format!("{i}"), QoS::AtLeastOnce).await;
        }
        // Not reading for several keep-alive periods.
        rt::sleep(Duration::from_millis(2500)).await;
        let happened = drain_events(&events);
        assert!(
            happened.is_empty(),
            "the slow subscriber's connection changed: {happened:?}"
        );
        assert!(
            count_lines(&broker.log(), "Received PINGREQ from slow-sub") >= 1,
            "keep-alive must keep running while delivery is held"
        );
        let mut got = Vec::with_capacity(N);
        while got.len() < N {
            match rt::timeout(STEP, sub.next()).await {
                Ok(Some(m)) => got.push(String::from_utf8_lossy(&m.payload).into_owned()),
                _ => break,
            }
        }
        let expected: Vec<String> = (0..N).map(|i| format!("{i}")).collect();
        if got != expected {
            let first_bad = got.iter().zip(&expected).position(|(a, b)| a != b);
            panic!(
                "slow consumer got {} of {N} messages; first difference at {first_bad:?}; first 20: {:?}",
                got.len(),
                &got[..got.len().min(20)]
            );
        }
        expect_silence(&mut sub, QUIET, "after all messages").await;
        let happened = drain_events(&events);
        assert!(
            happened.is_empty(),
            "the slow subscriber's connection changed: {happened:?}"
        );
        disconnect(&subscriber).await;
        disconnect(&publisher).await;
    }

    // ---- 9. try_publish -----------------------------------------------------

    /// `try_publish` in a tight loop only ever answers Ok or Backpressure,
    /// and every QoS 1 message it accepted arrives, in order.
    pub async fn try_publish_flood<R: Runtime>(lv: Level, broker: &Mosquitto) {
        const N: usize = 5000;
        let subscriber = connect::<R>(lv.options(broker.port())).await;
        let mut sub = subscribe(&subscriber, "flood/#", QoS::AtLeastOnce).await;
        let publisher = connect::<R>(lv.options(broker.port())).await;

        let mut accepted_q1 = Vec::new();
        let mut accepted_q0 = 0usize;
        let mut backpressure = 0usize;
        for i in 0..N {
            let qos = if i.is_multiple_of(2) {
                QoS::AtMostOnce
            } else {
                QoS::AtLeastOnce
            };
            match publisher.try_publish("flood/t", format!("{i}"), qos) {
                Ok(()) if qos == QoS::AtLeastOnce => accepted_q1.push(format!("{i}")),
                Ok(()) => accepted_q0 += 1,
                Err(Error::Backpressure) => {
                    backpressure += 1;
                    rt::yield_now().await;
                }
                Err(e) => panic!("try_publish #{i}: expected Ok or Backpressure, got {e:?}"),
            }
        }
        assert!(!accepted_q1.is_empty(), "no QoS 1 message accepted");
        eprintln!(
            "try_publish: {} QoS 1 and {accepted_q0} QoS 0 accepted, {backpressure} Backpressure",
            accepted_q1.len()
        );
        let expected: BTreeSet<String> = accepted_q1.iter().cloned().collect();
        let mut q1_order = Vec::new();
        let give_up = Instant::now() + Duration::from_secs(15);
        let mut missing = expected.len();
        let mut seen = BTreeSet::new();
        while missing > 0 {
            let left = give_up.saturating_duration_since(Instant::now());
            match rt::timeout(left, sub.next()).await {
                Ok(Some(m)) if m.qos == QoS::AtLeastOnce => {
                    let p = String::from_utf8_lossy(&m.payload).into_owned();
                    if expected.contains(&p) && seen.insert(p.clone()) {
                        missing -= 1;
                    }
                    q1_order.push(p);
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        assert_eq!(
            missing,
            0,
            "{missing} of {} accepted QoS 1 messages never arrived",
            expected.len()
        );
        // No reconnect happened, so no duplicates and the publisher's order.
        assert_eq!(
            q1_order, accepted_q1,
            "QoS 1 messages out of order or duplicated"
        );
        disconnect(&publisher).await;
        disconnect(&subscriber).await;
    }

    // ---- 10. resubscribe ------------------------------------------------------

    /// A clean-session client's broker restarts without persistence: the
    /// new session is empty (session present 0 [MQTT-3.2.2-1]), so the
    /// client subscribes again by itself and the old `Subscription` keeps
    /// receiving.
    pub async fn resubscribe_after_lost_session<R: Runtime>(lv: Level, broker: &mut Mosquitto) {
        let client = connect::<R>(lv.options(broker.port())).await;
        let mut sub = subscribe(&client, "resub/+", QoS::AtLeastOnce).await;
        let events = events(&client, connected(false)).await;
        restart(broker);
        let event = wait_event(&events, STEP, "Connected after the restart", is_connected).await;
        assert!(
            matches!(
                event,
                ConnectionEvent::Connected {
                    session_present: false,
                    ..
                }
            ),
            "{event:?}"
        );
        // From this client: its PUBLISH follows the resubscription's
        // SUBSCRIBE on the same connection, so the broker has the filter.
        publish(&client, "resub/a", "after restart", QoS::AtLeastOnce).await;
        let m = recv(&mut sub, "the message after the restart").await;
        assert_eq!(
            (m.topic.as_ref(), m.payload.as_ref()),
            ("resub/a", &b"after restart"[..])
        );
        // And from another client, once the SUBACK must have come back.
        let other = connect::<R>(lv.options(broker.port())).await;
        publish(&other, "resub/b", "from elsewhere", QoS::AtLeastOnce).await;
        let m = recv(&mut sub, "another client's message after the restart").await;
        assert_eq!(m.payload, "from elsewhere");
        let log = broker.log();
        let resubscribed = count_lines(&log, "\tresub/+ (QoS 1)");
        assert_eq!(
            resubscribed, 2,
            "one SUBSCRIBE before and one after the restart"
        );
        disconnect(&other).await;
        disconnect(&client).await;
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

/// A password file made with `mosquitto_passwd`, removed on drop.
struct PasswordFile(std::path::PathBuf);

impl PasswordFile {
    fn create(user: &str, password: &str) -> PasswordFile {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "mqtt-it-passwd-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_file(&path);
        let tool = [
            "/usr/bin/mosquitto_passwd",
            "/usr/local/bin/mosquitto_passwd",
        ]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .unwrap_or("mosquitto_passwd");
        let status = std::process::Command::new(tool)
            .args(["-b", "-c"])
            .arg(&path)
            .args([user, password])
            .status()
            .unwrap_or_else(|e| panic!("cannot run {tool} (apt-get install -y mosquitto): {e}"));
        assert!(status.success(), "{tool} -b -c failed: {status}");
        PasswordFile(path)
    }
}

impl Drop for PasswordFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// One `#[test]` per scenario, runtime and protocol level:
/// `suite!(module, Runtime type, block_on, vanish)` makes a module named
/// after the runtime with every scenario at MQTT 3.1.1 (`tokio::qos_round_trips`)
/// and, in its `v5` module, every scenario at MQTT 5.0
/// (`tokio::v5::qos_round_trips`). `block_on` runs a future to completion
/// on that runtime and `vanish` connects a client that dies without
/// DISCONNECT (see [`vanish`]); both are paths from the crate root.
/// After each scenario the broker's log must show that every client
/// connected at the test's level ([`scenarios::Level::check_log`]).
macro_rules! suite {
    ($flavor:ident, $runtime:ty, $block_on:path, $vanish:path) => {
        mod $flavor {
            suite!(@level V311, stringify!($flavor), $runtime, $block_on, $vanish);

            /// The same scenarios at MQTT 5.0.
            mod v5 {
                suite!(
                    @level V5,
                    concat!(stringify!($flavor), "::v5"),
                    $runtime,
                    $block_on,
                    $vanish
                );
            }
        }
    };
    (@level $level:ident, $label:expr, $runtime:ty, $block_on:path, $vanish:path) => {
        use crate::scenarios::{self, Level};
        use crate::{bounded, PasswordFile};
        use mqtt_integration_tests::broker::Mosquitto;

        type R = $runtime;

        /// The protocol level every client of these tests connects at.
        const LEVEL: Level = Level::$level;

        /// Runs `scenario` on this runtime under the overall bound.
        ///
        /// Boxed: `block_on` then moves a pointer, not the ~10 KB
        /// scenario future. Unoptimised, `async_std::task::block_on`
        /// keeps about twenty copies of whatever it is given on the
        /// stack (~2 MB for a scenario), past the 2 MiB of a test
        /// thread.
        fn run<F: std::future::Future>(name: &str, scenario: F) -> F::Output {
            let name = format!("{}::{name}", $label);
            $block_on(Box::pin(bounded(&name, scenario)))
        }

        #[test]
        fn qos_round_trips() {
            let broker = Mosquitto::start("");
            run("qos_round_trips", scenarios::qos_round_trips::<R>(LEVEL, &broker));
            LEVEL.check_log(&broker.log());
        }

        #[test]
        fn retained_message() {
            let broker = Mosquitto::start("");
            run(
                "retained_message",
                scenarios::retained_message::<R>(LEVEL, &broker),
            );
            LEVEL.check_log(&broker.log());
        }

        #[test]
        fn payload_sizes() {
            // 0 is mosquitto's "no limit" for message_size_limit;
            // max_packet_size leaves room for the 16 MiB payload and its
            // header.
            let broker = Mosquitto::start("message_size_limit 0\nmax_packet_size 20000000");
            run("payload_sizes", scenarios::payload_sizes::<R>(LEVEL, &broker));
            LEVEL.check_log(&broker.log());
        }

        #[test]
        fn utf8_topics() {
            let broker = Mosquitto::start("");
            run("utf8_topics", scenarios::utf8_topics::<R>(LEVEL, &broker));
            LEVEL.check_log(&broker.log());
        }

        #[test]
        fn will_message() {
            let broker = Mosquitto::start("");
            run(
                "will_message",
                scenarios::will_message::<R>(LEVEL, &broker, $vanish),
            );
            LEVEL.check_log(&broker.log());
        }

        #[test]
        fn credentials() {
            let passwords = PasswordFile::create("alice", "s3cret-pässword");
            let broker = Mosquitto::start(&format!(
                "allow_anonymous false\npassword_file {}",
                passwords.0.display()
            ));
            run(
                "credentials",
                scenarios::credentials::<R>(LEVEL, &broker, "alice", "s3cret-pässword"),
            );
            LEVEL.check_log(&broker.log());
        }

        #[test]
        fn persistent_session_new_client() {
            let broker = Mosquitto::start("");
            run(
                "persistent_session_new_client",
                scenarios::persistent_session_new_client::<R>(LEVEL, &broker),
            );
            LEVEL.check_log(&broker.log());
        }

        #[test]
        fn persistent_session_after_network_failure() {
            let broker = Mosquitto::start("");
            run(
                "persistent_session_after_network_failure",
                scenarios::persistent_session_after_network_failure::<R>(LEVEL, &broker),
            );
            LEVEL.check_log(&broker.log());
        }

        #[test]
        fn broker_restart_mid_stream() {
            // The harness puts persistence_location in the broker's own
            // directory; SIGTERM (what restart sends) saves the
            // database, the autosave is a second line of defence.
            // A finite inflight window, whatever the harness default:
            // with an unlimited one (`max_inflight_messages 0`)
            // mosquitto 2.0.11 restores QoS 2 messages it had sent
            // PUBREL for as PUBLISH after a restart ([MQTT-4.3.3-1]
            // forbids it), and the client rightly delivers those again
            // as new [MQTT-4.3.3-2]: duplicates that are the broker's.
            // Reproduced with raw sockets, no client involved; finite
            // windows (20, 30, 100) resend PUBREL as they should.
            let mut broker = Mosquitto::start(
                "persistence true\nautosave_interval 1\nmax_inflight_messages 100",
            );
            run(
                "broker_restart_mid_stream",
                scenarios::broker_restart_mid_stream::<R>(LEVEL, &mut broker),
            );
            LEVEL.check_log(&broker.log());
        }

        #[test]
        fn write_failure_is_noticed() {
            let broker = Mosquitto::start("message_size_limit 0\nmax_packet_size 40000000");
            run(
                "write_failure_is_noticed",
                scenarios::write_failure_is_noticed::<R>(LEVEL, broker),
            );
        }

        #[test]
        fn dropping_every_handle_disconnects() {
            let broker = Mosquitto::start("");
            run(
                "dropping_every_handle_disconnects",
                scenarios::dropping_every_handle_disconnects::<R>(LEVEL, &broker),
            );
            LEVEL.check_log(&broker.log());
        }

        #[test]
        fn frozen_broker() {
            let broker = Mosquitto::start("");
            run("frozen_broker", scenarios::frozen_broker::<R>(LEVEL, &broker));
            LEVEL.check_log(&broker.log());
        }

        #[test]
        fn ten_thousand_subscriptions() {
            let broker = Mosquitto::start("");
            run(
                "ten_thousand_subscriptions",
                scenarios::ten_thousand_subscriptions::<R>(LEVEL, &broker),
            );
            LEVEL.check_log(&broker.log());
        }

        #[test]
        fn hundred_clients() {
            let broker = Mosquitto::start("");
            run("hundred_clients", scenarios::hundred_clients::<R>(LEVEL, &broker));
            LEVEL.check_log(&broker.log());
        }

        #[test]
        fn slow_consumer() {
            // A small broker inflight window, as deployed brokers have
            // (mosquitto's default is 20), so that held delivery really
            // stops the broker; the queue stays above the volume so the
            // broker itself drops nothing.
            let broker =
                Mosquitto::start("max_inflight_messages 20\nmax_queued_messages 100000");
            run("slow_consumer", scenarios::slow_consumer::<R>(LEVEL, &broker));
            LEVEL.check_log(&broker.log());
        }

        #[test]
        fn try_publish_flood() {
            let broker = Mosquitto::start("");
            run(
                "try_publish_flood",
                scenarios::try_publish_flood::<R>(LEVEL, &broker),
            );
            LEVEL.check_log(&broker.log());
        }

        #[test]
        fn resubscribe_after_lost_session() {
            let mut broker = Mosquitto::start("");
            run(
                "resubscribe_after_lost_session",
                scenarios::resubscribe_after_lost_session::<R>(LEVEL, &mut broker),
            );
            LEVEL.check_log(&broker.log());
        }
    };
}

suite!(
    tokio,
    mqtt_tokio::Tokio,
    crate::block_on_tokio,
    crate::vanish::tokio_runtime_dropped
);
suite!(
    async_std,
    mqtt_async_std::AsyncStd,
    ::async_std::task::block_on,
    crate::vanish::executor_dropped
);
suite!(
    smol,
    mqtt_integration_tests::on_smol::Smol,
    ::smol::block_on,
    crate::vanish::executor_dropped
);

/// Under smol, async-std's executor is never started: not by the client's
/// driver, not by its IO, not by the suite's own tasks.
mod smol_without_async_std {
    use mqtt_async_std::AsyncStd;
    use mqtt_client::{Client, Options, QoS};
    use mqtt_integration_tests::broker::Mosquitto;
    use mqtt_integration_tests::on_smol::{self, Smol};
    use mqtt_integration_tests::wait::within;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::process::Command;
    use std::time::Duration;

    const STEP: Duration = Duration::from_secs(5);
    /// Set in the child process that [`async_std_executor_never_starts`]
    /// runs: a process of its own, so that no other test's async-std (the
    /// `async_std` suite's, in a shared `cargo test` process) is counted.
    const CHILD: &str = "MQTT_TEST_SMOL_CHILD";
    const NAME: &str = "smol_without_async_std::async_std_executor_never_starts";

    /// The smol suite's guard is real: a driver spawned through [`Smol`]'s
    /// own `spawn` fails the test; with the suite's options it is spawned
    /// through `Options::spawner` instead. Then a smol application's client,
    /// `Client<AsyncStd>` with the spawner, in a process of its own (where
    /// `AsyncStd`'s default spawner would be async-std's executor, this
    /// crate building `mqtt-async-std` with its `async-std` feature): a QoS
    /// 1 round trip through mosquitto, after which no thread of async-std's
    /// executor exists and smol's executor thread does.
    #[test]
    fn async_std_executor_never_starts() {
        if std::env::var_os(CHILD).is_some() {
            return smol_application();
        }
        let refused = catch_unwind(|| Client::<Smol>::start(Options::new("127.0.0.1", 1)));
        let message = refused
            .err()
            .and_then(|panic| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        assert!(
            message.contains(on_smol::REFUSED),
            "spawning the driver through Smol's own spawn must panic; got {message:?}"
        );
        let hooked = Client::<Smol>::start(on_smol::options::<Smol>(Options::new("127.0.0.1", 1)));
        drop(hooked.expect("a client whose driver is spawned through Options::spawner"));

        let exe = std::env::current_exe().expect("this test binary");
        let child = Command::new(exe)
            .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .output()
            .expect("run this test in a process of its own");
        let stdout = String::from_utf8_lossy(&child.stdout);
        let stderr = String::from_utf8_lossy(&child.stderr);
        assert!(
            child.status.success() && stdout.contains("1 passed"),
            "the smol application failed ({}):\n{stdout}\n{stderr}",
            child.status
        );
    }

    fn smol_application() {
        let broker = Mosquitto::start("");
        let round_trip = async {
            let options = Options::new("127.0.0.1", broker.port()).spawner(on_smol::spawner);
            let client = within(STEP, "connect", Client::<AsyncStd>::connect(options))
                .await
                .expect("connect");
            let subscribing = client.subscribe("smol", QoS::AtLeastOnce);
            let mut sub = within(STEP, "subscribe", subscribing)
                .await
                .expect("subscribe");
            let publishing = client.publish("smol", "x", QoS::AtLeastOnce);
            within(STEP, "publish", publishing).await.expect("publish");
            let m = within(STEP, "the message", sub.next()).await;
            assert_eq!(m.map(|m| m.payload), Some("x".into()));
            within(STEP, "disconnect", client.disconnect())
                .await
                .expect("disconnect");
        };
        let ran = catch_unwind(AssertUnwindSafe(|| ::smol::block_on(Box::pin(round_trip))));
        let threads = on_smol::thread_names();
        assert!(
            on_smol::async_std_executor_threads().is_empty(),
            "async-std's executor was started under smol: threads {threads:?}"
        );
        assert!(
            threads.iter().any(|t| t.starts_with("smol-")),
            "no thread of smol's executor: the driver was not spawned on smol; threads {threads:?}"
        );
        if let Err(panic) = ran {
            std::panic::resume_unwind(panic);
        }
    }
}
