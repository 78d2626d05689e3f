//! The client API a user meets in the first hour, against a real mosquitto,
//! on every runtime: acknowledging by hand (and redelivery of what was never
//! acknowledged), starting before the broker, the session-present flag,
//! typed connection events as a `Stream`, unsubscribing one filter, and the
//! stream of messages no subscription matches.
//!
//! Each scenario is written once over `Runtime` and instantiated per
//! runtime by `suite!`: `tokio::*`, `async_std::*` and `smol::*` (the smol
//! flavour spawns the client's driver on smol's executor through
//! `Options::spawner`, and its runtime refuses to spawn anything itself).
//! Every wait is bounded.

use mqtt_integration_tests::wait::block_on_tokio;
use std::time::Duration;

mod scenarios {
    use futures_lite::StreamExt;
    use mqtt_client::mqtt_proto::packet::ConnectReturnCode;
    use mqtt_client::{
        Client, ConnectionEvent, DisconnectReason, Error, Options, QoS, Runtime, Subscription,
    };
    use mqtt_integration_tests::broker::Mosquitto;
    use mqtt_integration_tests::wait::within;
    use std::time::Duration;

    /// The bound on one thing that should happen promptly on loopback.
    const STEP: Duration = Duration::from_secs(5);
    /// How long "nothing more arrives" is watched for.
    const QUIET: Duration = Duration::from_millis(400);

    /// Per-runtime adjustment of every client's options.
    pub type Adjust = fn(Options) -> Options;

    fn options(port: u16, adjust: Adjust) -> Options {
        adjust(
            Options::new("127.0.0.1", port)
                .backoff(Duration::from_millis(50), Duration::from_millis(400))
                .connect_timeout(Duration::from_secs(3)),
        )
    }

    async fn connect<R: Runtime>(options: Options) -> Client<R> {
        within(STEP, "Client::connect", Client::<R>::connect(options))
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"))
    }

    async fn next<R>(sub: &mut Subscription<R>, what: &str) -> mqtt_client::Message {
        within(STEP, what, sub.next())
            .await
            .unwrap_or_else(|| panic!("the subscription ended before {what}"))
    }

    /// A manual-ack subscriber that goes away before acknowledging: the
    /// broker still owes the message to the session and sends it again,
    /// marked DUP [MQTT-3.3.1-1], [MQTT-4.4.0-1], to the next client with
    /// that session; acknowledged, it is not sent a third time.
    pub async fn manual_ack_redelivers_what_was_not_acked<R: Runtime>(
        broker: &Mosquitto,
        adjust: Adjust,
    ) {
        let session = options(broker.port(), adjust)
            .client_id("manual-ack")
            .clean_session(false);
        let filters = [("jobs/#", QoS::AtLeastOnce)];
        let consumer = connect::<R>(session.clone()).await;
        let mut jobs = within(
            STEP,
            "subscribe_manual",
            consumer.subscribe_manual(&filters),
        )
        .await
        .expect("subscribe_manual");
        let publisher = connect::<R>(options(broker.port(), adjust)).await;
        within(
            STEP,
            "publish",
            publisher.publish("jobs/1", "work", QoS::AtLeastOnce),
        )
        .await
        .expect("publish");
        let first = within(STEP, "the job", jobs.next())
            .await
            .expect("a delivery");
        assert_eq!(
            (first.topic.as_ref(), &first.payload[..]),
            ("jobs/1", &b"work"[..])
        );
        assert!(first.needs_ack() && !first.dup, "{first:?}");
        // The consumer dies with the job in hand: no ack, no PUBACK.
        drop(first);
        drop(jobs);
        within(STEP, "disconnect", consumer.disconnect())
            .await
            .expect("disconnect");
        let log = broker.log();
        assert_eq!(
            log.matches("Received PUBACK from manual-ack").count(),
            0,
            "nothing was acknowledged:\n{log}"
        );

        let consumer = connect::<R>(session.clone()).await;
        assert_eq!(consumer.session_present(), Some(true));
        let mut jobs = within(
            STEP,
            "subscribe_manual again",
            consumer.subscribe_manual(&filters),
        )
        .await
        .expect("subscribe_manual");
        let again = within(STEP, "the job again", jobs.next())
            .await
            .expect("the redelivery");
        assert_eq!(&again.payload[..], b"work");
        assert!(again.dup, "a redelivery carries DUP: {again:?}");
        again.ack();
        within(STEP, "disconnect", consumer.disconnect())
            .await
            .expect("disconnect");
        // The broker logs what it read a moment after the client wrote it.
        within(STEP, "the broker logging the PUBACK", async {
            while !broker.log().contains("Received PUBACK from manual-ack") {
                crate::pause(Duration::from_millis(20)).await;
            }
        })
        .await;

        let consumer = connect::<R>(session).await;
        let mut rest = within(STEP, "unmatched", consumer.unmatched())
            .await
            .expect("unmatched");
        let third = crate::quiet(QUIET, rest.next()).await;
        assert!(third.is_none(), "acknowledged, yet sent again: {third:?}");
        within(STEP, "disconnect", consumer.disconnect())
            .await
            .expect("disconnect");
        within(STEP, "disconnect", publisher.disconnect())
            .await
            .expect("disconnect");
    }

    /// Acks by hand leave in arrival order [MQTT-4.6.0-2]: acking the
    /// second message first sends nothing until the first is acked.
    pub async fn manual_acks_leave_in_order<R: Runtime>(broker: &Mosquitto, adjust: Adjust) {
        let consumer = connect::<R>(options(broker.port(), adjust).client_id("in-order")).await;
        let mut jobs = within(
            STEP,
            "subscribe_manual",
            consumer.subscribe_manual(&[("ord/#", QoS::AtLeastOnce)]),
        )
        .await
        .expect("subscribe_manual");
        let publisher = connect::<R>(options(broker.port(), adjust)).await;
        for n in ["1", "2"] {
            within(
                STEP,
                "publish",
                publisher.publish(&format!("ord/{n}"), n, QoS::AtLeastOnce),
            )
            .await
            .expect("publish");
        }
        let one = within(STEP, "first", jobs.next()).await.expect("first");
        let two = within(STEP, "second", jobs.next()).await.expect("second");
        assert_eq!((&one.payload[..], &two.payload[..]), (&b"1"[..], &b"2"[..]));
        two.ack();
        crate::pause(QUIET).await;
        let acks = |log: &str| log.matches("Received PUBACK from in-order").count();
        assert_eq!(acks(&broker.log()), 0, "the second ack waits for the first");
        one.ack();
        let log = within(STEP, "both PUBACKs", async {
            loop {
                let log = broker.log();
                if acks(&log) == 2 {
                    return log;
                }
                crate::pause(Duration::from_millis(20)).await;
            }
        })
        .await;
        let order: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("Received PUBACK from in-order"))
            .collect();
        assert_eq!(order.len(), 2, "{order:?}");
        within(STEP, "disconnect", consumer.disconnect())
            .await
            .expect("disconnect");
        within(STEP, "disconnect", publisher.disconnect())
            .await
            .expect("disconnect");
    }

    /// A client started before its broker returns at once, queues what it
    /// is asked to do, reports its failed attempts, and does it all once
    /// the broker comes up.
    pub async fn starts_before_the_broker<R: Runtime>(adjust: Adjust) {
        let port = Mosquitto::reserve_port();
        let client = Client::<R>::start(options(port, adjust)).expect("start");
        assert_eq!(client.session_present(), None, "no CONNACK yet");
        let mut events = client.events();
        let failed = within(STEP, "a failed attempt", events.next())
            .await
            .expect("an event");
        assert!(
            matches!(
                &failed,
                ConnectionEvent::Disconnected {
                    reason: DisconnectReason::ConnectFailed {
                        error: Error::Io(_),
                        ..
                    }
                }
            ),
            "{failed:?}"
        );
        let subscribing = {
            let client = client.clone();
            async move { client.subscribe("early/#", QoS::AtLeastOnce).await }
        };
        let publishing = {
            let client = client.clone();
            async move { client.publish("early/x", "queued", QoS::AtLeastOnce).await }
        };
        // Polled once, both calls are handed to the client while no broker
        // is up; they complete once one is.
        let mut both = Box::pin(futures_lite::future::zip(subscribing, publishing));
        assert!(futures_lite::future::poll_once(&mut both).await.is_none());
        crate::pause(Duration::from_millis(300)).await;
        let broker = Mosquitto::start_on(port, "");
        let (sub, published) = within(STEP, "the queued subscribe and publish", both).await;
        published.expect("the queued publish completes once connected");
        let mut sub = sub.expect("the queued subscribe");
        // The SUBSCRIBE was queued before the PUBLISH, so it went first.
        let m = next(&mut sub, "the queued message").await;
        assert_eq!(&m.payload[..], b"queued");
        assert_eq!(client.session_present(), Some(false));
        within(STEP, "disconnect", client.disconnect())
            .await
            .expect("disconnect");
        drop(broker);
    }

    /// A refusal that retrying cannot fix ends an offline-started client
    /// too: no retry storm, and every call fails with it.
    pub async fn start_stops_on_a_final_refusal<R: Runtime>(broker: &Mosquitto, adjust: Adjust) {
        let client =
            Client::<R>::start(options(broker.port(), adjust).credentials("nobody", "wrong"))
                .expect("start");
        let mut events = client.events();
        let refused = within(STEP, "the refusal", events.next())
            .await
            .expect("an event");
        assert!(
            matches!(
                refused,
                ConnectionEvent::Disconnected {
                    reason: DisconnectReason::Refused(ConnectReturnCode::NotAuthorized)
                        | DisconnectReason::Refused(ConnectReturnCode::BadUsernameOrPassword)
                }
            ),
            "{refused:?}"
        );
        assert!(
            within(STEP, "the events end", events.next())
                .await
                .is_none(),
            "the client stopped"
        );
        let after = client.publish("x", "y", QoS::AtMostOnce).await;
        assert!(matches!(after, Err(Error::Refused(_))), "{after:?}");
    }

    /// `session_present` reports the latest CONNACK [MQTT-3.2.2-2], and a
    /// new `events()` receiver is a `Stream` that starts with the state.
    pub async fn session_present_and_event_stream<R: Runtime>(broker: &Mosquitto, adjust: Adjust) {
        let session = options(broker.port(), adjust)
            .client_id("sp-check")
            .clean_session(false);
        let first = connect::<R>(session.clone()).await;
        assert_eq!(first.session_present(), Some(false));
        within(STEP, "disconnect", first.disconnect())
            .await
            .expect("disconnect");
        let second = connect::<R>(session).await;
        assert_eq!(second.session_present(), Some(true));
        let mut events = second.events();
        let state = within(STEP, "the current state", events.next()).await;
        assert!(
            matches!(
                state,
                Some(ConnectionEvent::Connected {
                    session_present: true,
                    ..
                })
            ),
            "{state:?}"
        );
        within(STEP, "disconnect", second.disconnect())
            .await
            .expect("disconnect");
        let last = within(STEP, "the Disconnected event", events.next()).await;
        assert!(
            matches!(
                last,
                Some(ConnectionEvent::Disconnected {
                    reason: DisconnectReason::Requested
                })
            ),
            "{last:?}"
        );
        assert!(within(STEP, "the end", events.next()).await.is_none());
    }

    /// One filter of a subscription can go while the others stay; the
    /// broker is told only when no other subscription uses it.
    pub async fn unsubscribe_one_filter<R: Runtime>(broker: &Mosquitto, adjust: Adjust) {
        let client = connect::<R>(options(broker.port(), adjust).client_id("one-filter")).await;
        let mut both = within(
            STEP,
            "subscribe_many",
            client.subscribe_many(&[("f/a", QoS::AtLeastOnce), ("f/b", QoS::AtLeastOnce)]),
        )
        .await
        .expect("subscribe");
        let mut also_b = within(STEP, "subscribe", client.subscribe("f/b", QoS::AtLeastOnce))
            .await
            .expect("subscribe");
        within(STEP, "unsubscribe f/a", both.unsubscribe_filter("f/a"))
            .await
            .expect("unsubscribe_filter");
        within(STEP, "unsubscribe f/b", also_b.unsubscribe_filter("f/b"))
            .await
            .expect("unsubscribe_filter");
        // One UNSUBSCRIBE, for f/a only: f/b is still used by `both`.
        let log = broker.log();
        let lines: Vec<&str> = log.lines().collect();
        let unsubscribes: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contains("Received UNSUBSCRIBE from one-filter"))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(unsubscribes.len(), 1, "{log}");
        assert_eq!(
            lines
                .get(unsubscribes[0] + 1)
                .map(|l| l.trim_start_matches(|c: char| c != '\t').trim()),
            Some("f/a"),
            "{log}"
        );
        for topic in ["f/a", "f/b"] {
            within(
                STEP,
                "publish",
                client.publish(topic, topic, QoS::AtLeastOnce),
            )
            .await
            .expect("publish");
        }
        let m = next(&mut both, "the f/b message").await;
        assert_eq!(m.topic, "f/b");
        let extra = crate::quiet(QUIET, both.next()).await;
        assert!(extra.is_none(), "f/a was unsubscribed: {extra:?}");
        let extra = crate::quiet(QUIET, also_b.next()).await;
        assert!(extra.is_none(), "`also_b` has no filter left: {extra:?}");
        within(STEP, "disconnect", client.disconnect())
            .await
            .expect("disconnect");
    }

    /// Messages of a resumed session that no subscription of the new
    /// client matches come out of `unmatched()` instead of being dropped.
    pub async fn unmatched_messages_have_a_stream<R: Runtime>(broker: &Mosquitto, adjust: Adjust) {
        let session = options(broker.port(), adjust)
            .client_id("unmatched")
            .clean_session(false);
        let first = connect::<R>(session.clone()).await;
        within(STEP, "subscribe", first.subscribe("um/#", QoS::AtLeastOnce))
            .await
            .expect("subscribe");
        within(STEP, "disconnect", first.disconnect())
            .await
            .expect("disconnect");
        let publisher = connect::<R>(options(broker.port(), adjust)).await;
        for n in 0..3 {
            within(
                STEP,
                "publish",
                publisher.publish(&format!("um/{n}"), "stored", QoS::AtLeastOnce),
            )
            .await
            .expect("publish");
        }
        let again = connect::<R>(session.clone()).await;
        let mut unmatched = within(STEP, "unmatched", again.unmatched())
            .await
            .expect("unmatched");
        let mut topics = Vec::new();
        for _ in 0..3 {
            topics.push(
                next(&mut unmatched, "a stored message")
                    .await
                    .topic
                    .to_string(),
            );
        }
        topics.sort();
        assert_eq!(topics, ["um/0", "um/1", "um/2"]);
        within(STEP, "disconnect", again.disconnect())
            .await
            .expect("disconnect");
        // The broker reads each connection on its own: a new connection
        // with the same client id may be taken over before the old one's
        // last PUBACK and DISCONNECT are read, and the message would then
        // be resent through no fault of the client. Wait until it read them.
        within(STEP, "the broker reading the DISCONNECT", async {
            while broker
                .log()
                .matches("Client unmatched disconnected")
                .count()
                < 2
            {
                crate::pause(Duration::from_millis(20)).await;
            }
        })
        .await;
        // They were acknowledged once taken: not sent again.
        let third = connect::<R>(session).await;
        let mut unmatched = within(STEP, "unmatched", third.unmatched())
            .await
            .expect("unmatched");
        let extra = crate::quiet(QUIET, unmatched.next()).await;
        assert!(extra.is_none(), "{extra:?}");
        within(STEP, "disconnect", third.disconnect())
            .await
            .expect("disconnect");
        within(STEP, "disconnect", publisher.disconnect())
            .await
            .expect("disconnect");
    }
}

mod pipelining {
    use mqtt_client::{Client, Options, QoS, Runtime};
    use mqtt_integration_tests::broker::Mosquitto;
    use mqtt_integration_tests::wait::within;
    use std::time::Duration;

    const N: usize = 2_000;

    /// One task keeps thousands of QoS 1 and 2 messages in flight with
    /// `publish_pipelined`, learns each outcome, and the subscriber gets
    /// them all, in order [MQTT-4.6.0-6]. `try_publish` fails only when
    /// the session is backed up: 500 at once, below `max_queued`, are all
    /// taken.
    pub async fn many_in_flight_from_one_task<R: Runtime>(
        broker: &Mosquitto,
        adjust: super::scenarios::Adjust,
    ) {
        let options = |id: &str| adjust(Options::new("127.0.0.1", broker.port()).client_id(id));
        let subscriber = within(
            Duration::from_secs(5),
            "connect",
            Client::<R>::connect(options("pipe-sub")),
        )
        .await
        .expect("connect");
        let mut sub = within(
            Duration::from_secs(5),
            "subscribe",
            subscriber.subscribe("pipe/#", QoS::ExactlyOnce),
        )
        .await
        .expect("subscribe");
        let publisher = within(
            Duration::from_secs(5),
            "connect",
            Client::<R>::connect(options("pipe-pub")),
        )
        .await
        .expect("connect");
        for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let topic = format!("pipe/{}", qos as u8);
            let mut pending = Vec::with_capacity(N);
            for n in 0..N {
                pending.push(
                    publisher
                        .publish_pipelined(&topic, n.to_string(), qos)
                        .await
                        .expect("queued"),
                );
            }
            within(Duration::from_secs(30), "every completion", async {
                for done in pending {
                    done.await.expect("acknowledged");
                }
            })
            .await;
            for n in 0..N {
                let m = within(Duration::from_secs(10), "a pipelined message", sub.next())
                    .await
                    .expect("the subscription ended");
                assert_eq!(
                    (m.topic.as_ref(), &m.payload[..]),
                    (topic.as_str(), n.to_string().as_bytes())
                );
            }
        }
        for n in 0..500 {
            publisher
                .try_publish("pipe/try", n.to_string(), QoS::AtLeastOnce)
                .unwrap_or_else(|e| panic!("try_publish {n} with room in the session: {e}"));
        }
        for n in 0..500 {
            let m = within(Duration::from_secs(10), "a try_publish message", sub.next())
                .await
                .expect("the subscription ended");
            assert_eq!(&m.payload[..], n.to_string().as_bytes());
        }
        within(Duration::from_secs(5), "disconnect", publisher.disconnect())
            .await
            .expect("disconnect");
        within(
            Duration::from_secs(5),
            "disconnect",
            subscriber.disconnect(),
        )
        .await
        .expect("disconnect");
    }
}

/// `Some` if `f` finished within `wait`, `None` if it stayed quiet.
async fn quiet<F: std::future::Future>(wait: Duration, f: F) -> Option<F::Output> {
    futures_lite::future::or(async { Some(f.await) }, async {
        pause(wait).await;
        None
    })
    .await
}

/// A runtime-neutral sleep (async-io's timer works under every runtime).
async fn pause(d: Duration) {
    async_io::Timer::after(d).await;
}

fn same(options: mqtt_client::Options) -> mqtt_client::Options {
    options
}

fn on_smol(options: mqtt_client::Options) -> mqtt_client::Options {
    options.spawner(mqtt_integration_tests::on_smol::spawner)
}

/// `suite!(module, Runtime type, block_on, adjust)`.
macro_rules! suite {
    ($flavor:ident, $runtime:ty, $block_on:path, $adjust:path) => {
        mod $flavor {
            use super::scenarios;
            use mqtt_integration_tests::broker::Mosquitto;

            type R = $runtime;

            fn run<F: std::future::Future>(scenario: F) -> F::Output {
                $block_on(Box::pin(scenario))
            }

            #[test]
            fn manual_ack_redelivers_what_was_not_acked() {
                let broker = Mosquitto::start("");
                run(scenarios::manual_ack_redelivers_what_was_not_acked::<R>(
                    &broker, $adjust,
                ));
            }

            #[test]
            fn manual_acks_leave_in_order() {
                let broker = Mosquitto::start("");
                run(scenarios::manual_acks_leave_in_order::<R>(&broker, $adjust));
            }

            #[test]
            fn starts_before_the_broker() {
                run(scenarios::starts_before_the_broker::<R>($adjust));
            }

            #[test]
            fn start_stops_on_a_final_refusal() {
                let broker = Mosquitto::start("allow_anonymous false");
                run(scenarios::start_stops_on_a_final_refusal::<R>(
                    &broker, $adjust,
                ));
            }

            #[test]
            fn session_present_and_event_stream() {
                let broker = Mosquitto::start("");
                run(scenarios::session_present_and_event_stream::<R>(
                    &broker, $adjust,
                ));
            }

            #[test]
            fn unsubscribe_one_filter() {
                let broker = Mosquitto::start("");
                run(scenarios::unsubscribe_one_filter::<R>(&broker, $adjust));
            }

            #[test]
            fn many_in_flight_from_one_task() {
                // A stock broker config: Nagle on at the broker.
                let broker = Mosquitto::start("");
                run(super::pipelining::many_in_flight_from_one_task::<R>(
                    &broker, $adjust,
                ));
            }

            #[test]
            fn unmatched_messages_have_a_stream() {
                let broker = Mosquitto::start("");
                run(scenarios::unmatched_messages_have_a_stream::<R>(
                    &broker, $adjust,
                ));
            }
        }
    };
}

suite!(tokio, mqtt_tokio::Tokio, super::block_on_tokio, super::same);
suite!(
    async_std,
    mqtt_async_std::AsyncStd,
    ::async_std::task::block_on,
    super::same
);
// `Smol` panics if asked to spawn: every driver here runs on smol's
// executor through the spawner option, never on async-std's.
suite!(
    smol,
    mqtt_integration_tests::on_smol::Smol,
    ::smol::block_on,
    super::on_smol
);
