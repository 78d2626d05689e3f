//! The blocking example's client (`mqtt-proto/examples/blocking.rs`), run
//! against a real mosquitto: QoS 0/1/2 round trips, keep-alive on an idle
//! connection, a persistent session that collects messages while offline,
//! abrupt transport drops (with automatic and with manual acks) the core
//! recovers from by itself, a broker restart in the middle of a QoS 1/2
//! stream with and without broker persistence (the lost session is
//! subscribed again by the core), the graceful close, and a session kept in
//! the example's file store that a new process carries on after a crash.
//!
//! The example file is compiled here as a module, so this test drives the
//! very loop the example ships, not a copy. The loop has no reconnect or
//! resubscribe logic of its own: whatever recovers here, the core did. Every
//! wait is bounded: a bug fails a test, it never hangs one.

// The example's `main` and any helper a test does not call are unused here.
#[allow(dead_code)]
#[path = "../../mqtt-proto/examples/blocking.rs"]
mod blocking;

use blocking::{BlockingClient, Error, FileStore};
use mqtt_integration_tests::broker::Mosquitto;
use mqtt_proto::store::{StoredPublish, StoredSession};
use mqtt_proto::{
    AckToken, DisconnectReason, Event, MqttString, Options, PacketId, PublishError, PublishId, QoS,
    SubscribeOutcome, TopicFilter,
};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Runs `test` against a fresh broker started with `config_extra`. An error
/// fails the test while the broker is still up, so its log is printed.
fn with_broker(config_extra: &str, test: impl FnOnce(&mut Mosquitto) -> Result<(), Error>) {
    let mut broker = Mosquitto::start(config_extra);
    if let Err(e) = test(&mut broker) {
        panic!("{e}");
    }
}

/// The bound on any one wait for the broker.
const WAIT: Duration = Duration::from_secs(10);
/// How long to keep listening for duplicates once everything has arrived.
const SETTLE: Duration = Duration::from_millis(500);
/// One client's turn when a test drives two clients from its thread.
const TURN: Duration = Duration::from_millis(5);

/// What a client's events said so far.
#[derive(Debug, Default)]
struct Seen {
    /// Times each payload arrived, and the QoS it arrived with.
    received: HashMap<String, (usize, QoS)>,
    /// Manual-ack tokens of received messages not yet acknowledged, oldest
    /// first.
    unacked: Vec<(QoS, AckToken)>,
    published: HashSet<PublishId>,
    /// Completions since the latest CONNACK.
    published_since_connack: Vec<PublishId>,
    subscribed: HashMap<PacketId, Vec<SubscribeOutcome>>,
    /// `session_present` of each CONNACK, in order.
    connected: Vec<bool>,
    disconnected: Vec<DisconnectReason>,
    /// The transport's life: "open" (`Event::OpenTransport`), "connected",
    /// "disconnected", in order.
    transport: Vec<&'static str>,
    /// The core's own SUBACKs (`Event::Resubscribed`).
    resubscribed: Vec<Vec<(TopicFilter, SubscribeOutcome)>>,
    /// `Event::SessionLost`'s `resent` lists.
    resent: Vec<Vec<PublishId>>,
}

impl Seen {
    fn record(&mut self, event: Event) {
        match event {
            Event::Message { message, ack } => {
                let payload = String::from_utf8_lossy(&message.payload).into_owned();
                self.received.entry(payload).or_insert((0, message.qos)).0 += 1;
                self.unacked.extend(ack.map(|token| (message.qos, token)));
            }
            Event::Published { id } => {
                assert!(self.published.insert(id), "{id:?} completed twice");
                self.published_since_connack.push(id);
            }
            Event::Subscribed { id, outcomes } => {
                self.subscribed.insert(id, outcomes);
            }
            Event::Connected { session_present } => {
                self.connected.push(session_present);
                self.published_since_connack.clear();
                self.transport.push("connected");
            }
            Event::Disconnected { reason } => {
                self.disconnected.push(reason);
                self.transport.push("disconnected");
            }
            Event::OpenTransport { .. } => self.transport.push("open"),
            Event::Resubscribed { filters } => self.resubscribed.push(filters),
            Event::SessionLost { resent, .. } => self.resent.push(resent),
            _ => {}
        }
    }

    fn times(&self, payload: &str) -> usize {
        self.received.get(payload).map_or(0, |r| r.0)
    }

    fn total(&self) -> usize {
        self.received.values().map(|r| r.0).sum()
    }

    fn delivered_at(&self, qos: QoS) -> usize {
        self.received
            .values()
            .filter(|r| r.1 == qos)
            .map(|r| r.0)
            .sum()
    }

    fn has_all(&self, messages: &[(String, QoS)]) -> bool {
        messages.iter().all(|(p, _)| self.times(p) > 0)
    }

    /// The core opened a new transport by itself after one ended, and
    /// CONNACK accepted it.
    fn reconnected_by_itself(&self) -> bool {
        let life = self.transport.join(" ");
        life.find("disconnected")
            .is_some_and(|lost| life[lost..].contains("open connected"))
    }
}

/// Runs `client` (recording into `seen`) until `done` holds, for at most
/// [`WAIT`].
fn wait(
    client: &mut BlockingClient,
    seen: &mut Seen,
    done: impl Fn(&Seen) -> bool,
) -> Result<(), Error> {
    if done(seen) {
        return Ok(());
    }
    client
        .run_until(WAIT, |event| {
            seen.record(event);
            done(seen).then_some(())
        })
        .map_err(|e| format!("{e}; seen so far: {seen:#?}").into())
}

/// Runs `client` for [`SETTLE`], recording whatever else arrives.
fn settle(client: &mut BlockingClient, seen: &mut Seen) -> Result<(), Error> {
    idle(client, seen, SETTLE)
}

/// Runs `client` for `time`, recording whatever arrives.
fn idle(client: &mut BlockingClient, seen: &mut Seen, time: Duration) -> Result<(), Error> {
    client.run(time, |event| {
        seen.record(event);
        None::<()>
    })?;
    Ok(())
}

/// Runs two clients in turns of [`TURN`] until `done` holds, for at most
/// [`WAIT`].
fn wait_both(
    (a, seen_a): (&mut BlockingClient, &mut Seen),
    (b, seen_b): (&mut BlockingClient, &mut Seen),
    done: impl Fn(&Seen, &Seen) -> bool,
) -> Result<(), Error> {
    let give_up = std::time::Instant::now() + WAIT;
    while !done(seen_a, seen_b) {
        if std::time::Instant::now() > give_up {
            return Err(format!("not done within {WAIT:?}: {seen_a:#?}\n{seen_b:#?}").into());
        }
        idle(a, seen_a, TURN)?;
        idle(b, seen_b, TURN)?;
    }
    Ok(())
}

fn options(client_id: &str, clean_session: bool) -> Result<Options, Error> {
    Ok(Options::new(MqttString::try_from(client_id)?)
        .clean_session(clean_session)
        .keep_alive(Duration::from_secs(30)))
}

/// Starts a client and waits for CONNACK (recorded in the returned `Seen`).
fn connect(broker: &Mosquitto, options: Options) -> Result<(BlockingClient, Seen), Error> {
    let mut client = BlockingClient::new(broker.addr(), options)?;
    let mut seen = Seen::default();
    wait(&mut client, &mut seen, |s| !s.connected.is_empty())?;
    Ok((client, seen))
}

/// Closes gracefully and checks the close ended as asked: DISCONNECT went
/// out [MQTT-3.14.4-1].
fn close(client: &mut BlockingClient, seen: &mut Seen) -> Result<(), Error> {
    let before = seen.disconnected.len();
    client.disconnect(WAIT);
    wait(client, seen, |s| s.disconnected.len() > before)?;
    assert_eq!(seen.disconnected[before..], [DisconnectReason::Requested]);
    Ok(())
}

/// Subscribes and checks the broker granted each filter its requested QoS.
fn subscribe(
    client: &mut BlockingClient,
    seen: &mut Seen,
    filters: &[(&str, QoS)],
) -> Result<(), Error> {
    let id = client.subscribe(filters)?;
    wait(client, seen, |s| s.subscribed.contains_key(&id))?;
    let granted: Vec<_> = filters
        .iter()
        .map(|&(_, qos)| SubscribeOutcome::Granted(qos))
        .collect();
    assert_eq!(seen.subscribed[&id], granted);
    Ok(())
}

/// Queues a publish of each `(payload, qos)` to `topic`.
fn publish(
    client: &mut BlockingClient,
    topic: &str,
    messages: &[(String, QoS)],
) -> Result<Vec<PublishId>, Error> {
    messages
        .iter()
        .map(|(payload, qos)| client.publish(topic, payload.as_bytes(), *qos))
        .collect()
}

/// Publishes each `(payload, qos)` to `topic` and waits for every
/// completion: QoS 1 PUBACK'd, QoS 2 PUBCOMP'd by the broker.
fn publish_all(
    client: &mut BlockingClient,
    seen: &mut Seen,
    topic: &str,
    messages: &[(String, QoS)],
) -> Result<(), Error> {
    let ids = publish(client, topic, messages)?;
    wait(client, seen, |s| {
        ids.iter().all(|id| s.published.contains(id))
    })
}

#[test]
fn qos_0_1_2_publish_subscribe_round_trips() {
    with_broker("", round_trips);
}

fn round_trips(broker: &mut Mosquitto) -> Result<(), Error> {
    let topic = "it/blocking/round-trip";
    let (mut client, mut seen) = connect(broker, options("it-round-trip", true)?)?;
    // [MQTT-3.2.2-1] a clean session is never resumed.
    assert_eq!(seen.connected, [false]);
    subscribe(&mut client, &mut seen, &[(topic, QoS::ExactlyOnce)])?;

    let messages: Vec<(String, QoS)> = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
        .into_iter()
        .map(|qos| (format!("round trip at {qos:?}"), qos))
        .collect();
    publish_all(&mut client, &mut seen, topic, &messages)?;
    wait(&mut client, &mut seen, |s| s.has_all(&messages))?;
    settle(&mut client, &mut seen)?;

    for (payload, qos) in &messages {
        // Granted QoS 2, so each arrives at the QoS it was published with.
        assert_eq!(seen.received[payload].1, *qos, "{payload}");
    }
    // Nothing is lost on a quiet loopback, and QoS 2 is never duplicated
    // [MQTT-4.3.3-2]; QoS 0 and 1 arrive once here too.
    assert_eq!(seen.total(), messages.len(), "{seen:#?}");

    close(&mut client, &mut seen)?;
    assert_eq!(seen.transport, ["open", "connected", "disconnected"]);
    Ok(())
}

/// Messages as `(payload, qos)`; payloads are unique within a test.
type Batch = Vec<(String, QoS)>;

/// The messages B publishes while A is offline: `n` at QoS 1 to `q1`, `n`
/// at QoS 2 to `q2`.
fn offline_batch(n: usize) -> (Batch, Batch) {
    let batch = |qos: QoS| {
        (0..n)
            .map(|i| (format!("offline {qos:?} #{i}"), qos))
            .collect()
    };
    (batch(QoS::AtLeastOnce), batch(QoS::ExactlyOnce))
}

/// A subscribes with CleanSession=0 and disconnects; B publishes QoS 1 and
/// QoS 2 messages while A is away. Returns A (offline), A's events and the
/// messages B published.
fn prepare_offline_session(
    broker: &Mosquitto,
    a_options: Options,
    n: usize,
) -> Result<(BlockingClient, Seen, Batch), Error> {
    let (q1, q2) = ("it/persist/q1", "it/persist/q2");
    let client_id = a_options.client_id.clone();
    let (mut a, mut seen_a) = connect(broker, a_options)?;
    // [MQTT-3.1.2-4] with no stored session the broker creates a new one.
    assert_eq!(seen_a.connected, [false]);
    let filters = [(q1, QoS::AtLeastOnce), (q2, QoS::ExactlyOnce)];
    subscribe(&mut a, &mut seen_a, &filters)?;
    close(&mut a, &mut seen_a)?;

    // One message in flight from B: mosquitto's max_inflight_messages also
    // caps what it accepts, and beyond it drops an incoming QoS 2 message
    // while answering PUBREC as if it were taken (seen with 2.0.11).
    let b_options = options(&format!("{client_id}-b"), true)?.max_inflight(1);
    let (mut b, mut seen_b) = connect(broker, b_options)?;
    let (at_q1, at_q2) = offline_batch(n);
    publish_all(&mut b, &mut seen_b, q1, &at_q1)?;
    publish_all(&mut b, &mut seen_b, q2, &at_q2)?;
    close(&mut b, &mut seen_b)?;
    Ok((a, seen_a, at_q1.into_iter().chain(at_q2).collect()))
}

/// Checks every message reached A, and each QoS 2 one exactly once.
fn assert_all_received(seen: &Seen, messages: &[(String, QoS)]) {
    for (payload, qos) in messages {
        let times = seen.times(payload);
        match qos {
            // [MQTT-4.3.3-2] QoS 2 is delivered exactly once, whatever the
            // broker resends.
            QoS::ExactlyOnce => assert_eq!(times, 1, "{payload}: {seen:#?}"),
            // QoS 1 is at least once; duplicates are allowed.
            _ => assert!(times >= 1, "{payload} lost: {seen:#?}"),
        }
        assert_eq!(seen.received[payload].1, *qos, "{payload}");
    }
}

#[test]
fn persistent_session_receives_messages_published_while_offline() {
    with_broker("", offline_delivery);
}

fn offline_delivery(broker: &mut Mosquitto) -> Result<(), Error> {
    let (mut a, mut seen, messages) =
        prepare_offline_session(broker, options("it-persist", false)?, 5)?;

    // After a requested close the core stays down until asked again.
    a.reconnect();
    wait(&mut a, &mut seen, |s| s.connected.len() == 2)?;
    // [MQTT-3.1.2-4] the session outlived the connection, and
    // [MQTT-3.2.2-2] CONNACK says so.
    assert_eq!(seen.connected, [false, true]);
    // [MQTT-3.1.2-5] the broker stored the QoS 1 and 2 messages that matched
    // A's subscriptions while it was away, and now delivers them.
    wait(&mut a, &mut seen, |s| s.has_all(&messages))?;
    settle(&mut a, &mut seen)?;
    assert_all_received(&seen, &messages);

    close(&mut a, &mut seen)?;
    let requested = DisconnectReason::Requested;
    assert_eq!(seen.disconnected, [requested.clone(), requested]);
    Ok(())
}

#[test]
fn qos2_exactly_once_across_abrupt_transport_drops() {
    // One message in flight at a time, so cutting the transport right after
    // a delivery leaves that QoS 2 flow half done: when the core reconnects
    // the broker resends the PUBREL [MQTT-4.4.0-1] (or, had it not read our
    // PUBREC yet, the PUBLISH with DUP=1), and the client answers without a
    // second delivery.
    with_broker("max_inflight_messages 1", abrupt_drops);
}

fn abrupt_drops(broker: &mut Mosquitto) -> Result<(), Error> {
    let (mut a, mut seen, messages) =
        prepare_offline_session(broker, options("it-abrupt", false)?, 5)?;

    a.reconnect();
    wait(&mut a, &mut seen, |s| s.connected.len() == 2)?;
    for drops in 1..=3 {
        // The loop reports a delivery after writing its PUBREC; then the TCP
        // connection goes without DISCONNECT, before PUBREL is answered, and
        // the core reconnects by itself after its backoff.
        let delivered = seen.delivered_at(QoS::ExactlyOnce);
        wait(&mut a, &mut seen, |s| {
            s.delivered_at(QoS::ExactlyOnce) > delivered
        })?;
        a.break_transport();
        wait(&mut a, &mut seen, |s| s.connected.len() == 2 + drops)?;
    }
    // [MQTT-3.1.2-4] every reconnect resumed the same session.
    assert_eq!(seen.connected, [false, true, true, true, true]);
    let cut = DisconnectReason::TransportClosed;
    assert_eq!(seen.disconnected[1..], [cut.clone(), cut.clone(), cut]);
    assert!(seen.reconnected_by_itself(), "{seen:#?}");
    wait(&mut a, &mut seen, |s| s.has_all(&messages))?;
    settle(&mut a, &mut seen)?;
    assert_all_received(&seen, &messages);

    close(&mut a, &mut seen)?;
    Ok(())
}

#[test]
fn qos2_redelivered_with_dup_after_a_drop_is_not_delivered_twice() {
    // In manual-ack mode PUBREC waits for the application, so cutting the
    // transport while holding a QoS 2 message leaves the broker without it:
    // when the core reconnects it resends the PUBLISH with its original id
    // and DUP=1 [MQTT-4.4.0-1], which the client must answer without
    // delivering the message again [MQTT-4.3.3-2].
    with_broker("max_inflight_messages 1", manual_ack_redelivery);
}

fn manual_ack_redelivery(broker: &mut Mosquitto) -> Result<(), Error> {
    let a_options = options("it-manual-ack", false)?.manual_acks(true);
    let (mut a, mut seen, messages) = prepare_offline_session(broker, a_options, 3)?;

    a.reconnect();
    let mut drops = 0;
    while !(seen.has_all(&messages) && seen.unacked.is_empty()) {
        wait(&mut a, &mut seen, |s| {
            !s.unacked.is_empty() || s.has_all(&messages)
        })?;
        let Some((qos, token)) = seen.unacked.first().copied() else {
            continue;
        };
        seen.unacked.remove(0);
        if qos == QoS::ExactlyOnce && drops < 3 {
            drops += 1;
            a.break_transport();
            wait(&mut a, &mut seen, |s| s.connected.len() == 2 + drops)?;
        }
        // The token outlives the transport: the session still holds the
        // message, and the PUBREC goes out on the new connection.
        a.ack(token)?;
    }
    assert_eq!(drops, 3);
    assert_eq!(seen.connected, [false, true, true, true, true]);
    assert!(seen.reconnected_by_itself(), "{seen:#?}");
    settle(&mut a, &mut seen)?;
    assert_all_received(&seen, &messages);
    assert!(seen.unacked.is_empty(), "{seen:#?}");

    close(&mut a, &mut seen)?;
    Ok(())
}

#[test]
fn keep_alive_holds_an_idle_connection_open() {
    with_broker("", keep_alive);
}

fn keep_alive(broker: &mut Mosquitto) -> Result<(), Error> {
    let topic = "it/blocking/keep-alive";
    let keep_alive = Duration::from_secs(1);
    let client_options = options("it-keep-alive", true)?.keep_alive(keep_alive);
    let (mut client, mut seen) = connect(broker, client_options)?;
    subscribe(&mut client, &mut seen, &[(topic, QoS::AtLeastOnce)])?;
    // Idle for several periods: only the poll_timeout wake-ups send anything
    // (PINGREQ [MQTT-3.1.2-23]); without them the broker would close the
    // connection after 1.5 periods of silence [MQTT-3.1.2-24].
    idle(&mut client, &mut seen, keep_alive * 4)?;
    assert!(seen.disconnected.is_empty(), "{seen:#?}");
    let pings = broker
        .log()
        .matches("Received PINGREQ from it-keep-alive")
        .count();
    assert!(pings >= 2, "{pings} PINGREQ in 4 keep-alive periods");
    // Still usable.
    let message = [("still alive".to_string(), QoS::AtLeastOnce)];
    publish_all(&mut client, &mut seen, topic, &message)?;
    wait(&mut client, &mut seen, |s| s.has_all(&message))?;
    close(&mut client, &mut seen)?;
    Ok(())
}

#[test]
fn persistent_session_survives_a_broker_restart() {
    with_broker("persistence true", broker_restart);
}

fn broker_restart(broker: &mut Mosquitto) -> Result<(), Error> {
    let (mut a, mut seen, messages) =
        prepare_offline_session(broker, options("it-restart", false)?, 3)?;

    // SIGTERM: mosquitto saves the sessions and queued messages to disk.
    broker.restart();
    a.reconnect();
    wait(&mut a, &mut seen, |s| s.connected.len() == 2)?;
    assert_eq!(seen.connected, [false, true]);
    wait(&mut a, &mut seen, |s| s.has_all(&messages))?;
    settle(&mut a, &mut seen)?;
    assert_all_received(&seen, &messages);

    close(&mut a, &mut seen)?;
    Ok(())
}

#[test]
fn qos1_qos2_stream_survives_a_broker_restart_with_persistence() {
    with_broker("persistence true", |broker| {
        restart_mid_stream(broker, true)
    });
}

#[test]
fn lost_session_after_a_broker_restart_is_subscribed_again_by_the_core() {
    with_broker("", |broker| restart_mid_stream(broker, false));
}

/// `n` messages, QoS 1 and 2 in turn, named after `phase`.
fn stream_batch(phase: &str, n: usize) -> Batch {
    let qos = |i| [QoS::AtLeastOnce, QoS::ExactlyOnce][i % 2];
    (0..n).map(|i| (format!("{phase} #{i}"), qos(i))).collect()
}

/// A subscribes to a topic with a persistent session; B streams QoS 1 and 2
/// messages to it a few in flight at a time, and the broker restarts in the
/// middle of the stream. Neither the test nor the loop reconnects or
/// subscribes again: the core does both. With `persistence` the broker keeps
/// both sessions across the restart; without it, it loses them, and A must
/// still get what B publishes afterwards.
fn restart_mid_stream(broker: &mut Mosquitto, persistence: bool) -> Result<(), Error> {
    let topic = "it/blocking/stream";
    let id = if persistence { "it-kept" } else { "it-lost" };
    let (mut a, mut seen_a) = connect(broker, options(&format!("{id}-a"), false)?)?;
    subscribe(&mut a, &mut seen_a, &[(topic, QoS::ExactlyOnce)])?;
    let b_options = options(&format!("{id}-b"), false)?.max_inflight(4);
    let (mut b, mut seen_b) = connect(broker, b_options)?;

    let before = stream_batch("before", 60);
    let before_ids = publish(&mut b, topic, &before)?;
    // B alone, so that it stops with messages in flight and queued.
    wait(&mut b, &mut seen_b, |s| s.published.len() >= 20)?;
    // Let A catch up with what B completed (so that, without persistence,
    // nothing the broker completed dies with its memory), while B keeps its
    // next messages in flight or queued.
    let completed: Vec<String> = before_ids
        .iter()
        .zip(&before)
        .filter(|(id, _)| seen_b.published.contains(id))
        .map(|(_, (payload, _))| payload.clone())
        .collect();
    wait(&mut a, &mut seen_a, |s| {
        completed.iter().all(|p| s.times(p) > 0)
    })?;
    assert!(completed.len() < before.len(), "the stream ended too soon");

    // SIGTERM: with persistence mosquitto saves sessions and queues first.
    broker.restart();
    // A first: without persistence, its filters must be held again before
    // B's resent messages reach the broker, or the broker drops them.
    wait(&mut a, &mut seen_a, |s| {
        s.connected.len() == 2 && (persistence || !s.resubscribed.is_empty())
    })?;
    // B alone up to its CONNACK: what completes with it (no packet in
    // between) the core completed on a lost session.
    wait(&mut b, &mut seen_b, |s| s.connected.len() == 2)?;
    let on_loss: HashSet<PublishId> = seen_b.published_since_connack.iter().copied().collect();
    // B completes the rest; A gets every one, except (without persistence)
    // what the broker lost with the session.
    let arrived = |a: &Seen, _: &Seen| {
        let lost = |id| on_loss.contains(id);
        let mut all = before.iter().zip(&before_ids);
        all.all(|((payload, _), id)| lost(id) || a.times(payload) > 0)
    };
    wait_both((&mut a, &mut seen_a), (&mut b, &mut seen_b), |a, b| {
        before_ids.iter().all(|id| b.published.contains(id)) && arrived(a, b)
    })?;
    // Published after the restart: A gets them with no new subscribe.
    let after = stream_batch("after", 20);
    let after_ids = publish(&mut b, topic, &after)?;
    wait_both((&mut a, &mut seen_a), (&mut b, &mut seen_b), |a, b| {
        after_ids.iter().all(|id| b.published.contains(id)) && a.has_all(&after)
    })?;
    let give_up = std::time::Instant::now() + SETTLE;
    while std::time::Instant::now() < give_up {
        idle(&mut a, &mut seen_a, TURN)?;
        idle(&mut b, &mut seen_b, TURN)?;
    }

    // Both lost their transport at the restart and the core opened a new
    // one by itself, after its backoff.
    for seen in [&seen_a, &seen_b] {
        assert_eq!(seen.disconnected[0], DisconnectReason::TransportClosed);
        assert!(seen.reconnected_by_itself(), "{seen:#?}");
    }
    // The test subscribed once; the broker's answer to the core's own
    // SUBSCRIBE is `Resubscribed`, never `Subscribed`.
    assert_eq!(seen_a.subscribed.len(), 1);
    let granted = SubscribeOutcome::Granted(QoS::ExactlyOnce);
    if persistence {
        // [MQTT-3.1.2-4] [MQTT-3.2.2-2] both sessions were resumed, the
        // subscription with them: nothing to subscribe again.
        assert_eq!(seen_a.connected, [false, true]);
        assert_eq!(seen_b.connected, [false, true]);
        assert!(seen_a.resubscribed.is_empty(), "{seen_a:#?}");
        assert!(seen_b.resent.is_empty(), "{seen_b:#?}");
        assert!(on_loss.is_empty(), "{on_loss:?}");
        // Every completed message arrived, QoS 2 exactly once [MQTT-4.3.3-2]
        // across the restart: B resent its unacknowledged ones with their
        // ids [MQTT-4.4.0-1], which the broker had stored.
        assert_all_received(&seen_a, &before);
    } else {
        // [MQTT-3.2.2-3] the broker had no session for either: Session
        // Present 0, and the core subscribed A again by itself, once.
        assert_eq!(seen_a.connected, [false, false]);
        assert_eq!(seen_b.connected, [false, false]);
        let topic = TopicFilter::try_from(topic)?;
        assert_eq!(seen_a.resubscribed, [vec![(topic, granted)]]);
        // B's messages in flight went out again as new ones: every one
        // arrived, and only those may have arrived twice. A QoS 2 message
        // the broker had PUBREC'd is complete for the core, which must not
        // send its PUBLISH again [MQTT-4.3.3-1]; mosquitto forwards it only
        // on PUBREL, so one whose PUBREL the broker never read died with it.
        let resent: HashSet<&PublishId> = seen_b.resent.iter().flatten().collect();
        for ((payload, qos), id) in before.iter().zip(&before_ids) {
            let times = seen_a.times(payload);
            if on_loss.contains(id) {
                assert_eq!(*qos, QoS::ExactlyOnce, "{payload}: {on_loss:?}");
                assert!(times <= 1, "{payload} twice: {seen_a:#?}");
                continue;
            }
            assert!(times >= 1, "{payload} lost: {seen_a:#?}");
            if *qos == QoS::ExactlyOnce && !resent.contains(id) {
                assert_eq!(times, 1, "{payload} twice: {seen_a:#?}");
            }
        }
    }
    // After the restart, delivery is as before it.
    assert_all_received(&seen_a, &after);

    close(&mut a, &mut seen_a)?;
    close(&mut b, &mut seen_b)?;
    Ok(())
}

#[test]
fn graceful_close_completes_every_publish_before_disconnect() {
    with_broker("", graceful_close);
}

fn graceful_close(broker: &mut Mosquitto) -> Result<(), Error> {
    let topic = "it/blocking/close";
    let (mut a, mut seen_a) = connect(broker, options("it-close-sub", true)?)?;
    subscribe(&mut a, &mut seen_a, &[(topic, QoS::AtLeastOnce)])?;
    let b_options = options("it-close-pub", true)?.max_inflight(8);
    let (mut b, mut seen_b) = connect(broker, b_options)?;

    let messages: Batch = (0..50)
        .map(|i| (format!("closing #{i}"), QoS::AtLeastOnce))
        .collect();
    let ids = publish(&mut b, topic, &messages)?;
    // Nothing is sent yet: the close waits for every PUBACK, eight in
    // flight at a time.
    b.disconnect(WAIT);
    match b.publish(topic, b"too late", QoS::AtLeastOnce) {
        Err(e) => assert_eq!(e.downcast_ref(), Some(&PublishError::Closing)),
        Ok(id) => panic!("publish {id:?} accepted while closing"),
    }
    let mut published_first = 0;
    b.run_until(WAIT, |event| {
        let ended = matches!(event, Event::Disconnected { .. });
        if ended {
            published_first = seen_b.published.len();
        }
        seen_b.record(event);
        ended.then_some(())
    })?;
    // Every publish completed (PUBACK [MQTT-4.3.2-1]) before the close
    // ended, and it ended as asked.
    assert_eq!(published_first, ids.len(), "{seen_b:#?}");
    assert!(ids.iter().all(|id| seen_b.published.contains(id)));
    assert_eq!(seen_b.disconnected, [DisconnectReason::Requested]);
    // The broker saw every PUBLISH, then DISCONNECT, and nothing after it
    // [MQTT-3.14.4-2]; A got them all.
    let log = log_with(broker, "Received DISCONNECT from it-close-pub");
    let disconnect = log.find("Received DISCONNECT from it-close-pub");
    let last_publish = log.rfind("Received PUBLISH from it-close-pub");
    assert!(last_publish < disconnect && last_publish.is_some(), "{log}");
    let after_disconnect = disconnect.map_or("", |at| &log[at..]);
    assert!(!after_disconnect.contains("Received PUBLISH from it-close-pub"));
    assert_eq!(
        log.matches("Received PUBLISH from it-close-pub").count(),
        50
    );
    wait(&mut a, &mut seen_a, |s| s.has_all(&messages))?;
    // A close asked for when already closed ends at once.
    b.disconnect(WAIT);
    wait(&mut b, &mut seen_b, |s| s.disconnected.len() == 2)?;
    close(&mut a, &mut seen_a)?;
    Ok(())
}

/// The broker's log once it holds `line` (it writes asynchronously), or
/// after [`WAIT`].
fn log_with(broker: &Mosquitto, line: &str) -> String {
    log_until(broker, |log| log.contains(line))
}

/// The broker's log once `done` holds for it, or after [`WAIT`].
fn log_until(broker: &Mosquitto, done: impl Fn(&str) -> bool) -> String {
    let give_up = std::time::Instant::now() + WAIT;
    loop {
        let log = broker.log();
        if done(&log) || std::time::Instant::now() > give_up {
            return log;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A store file in its own temporary directory, removed on drop.
struct StoreFile {
    dir: PathBuf,
}

impl StoreFile {
    fn new(name: &str) -> StoreFile {
        let dir = std::env::temp_dir().join(format!("it-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        StoreFile { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.join("session.store")
    }

    /// What the file holds, folded as a new process would.
    fn session(&self) -> Result<StoredSession, Error> {
        Ok(FileStore::open(&self.path())?.1)
    }
}

impl Drop for StoreFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The client id whose session the store keeps, in both processes.
const STORED_ID: &str = "it-store";
const STORED_TOPIC: &str = "it/store";

/// `n` messages at QoS 2 and `n` at QoS 1, in turn.
fn stored_batch(phase: &str, n: usize) -> Batch {
    let qos = |i| [QoS::ExactlyOnce, QoS::AtLeastOnce][i % 2];
    (0..2 * n)
        .map(|i| (format!("{phase} #{i}"), qos(i)))
        .collect()
}

/// A client of `addr` with the session in `store`: the "process" of these
/// tests, which a test ends by dropping it (no DISCONNECT, nothing more
/// written).
fn stored_client(addr: std::net::SocketAddr, store: &StoreFile) -> Result<BlockingClient, Error> {
    BlockingClient::with_store(addr, options(STORED_ID, false)?, store.path())
}

#[test]
fn stored_session_is_carried_on_after_a_crash_mid_exchange() {
    with_broker("", crash_mid_exchange);
}

/// A publishes QoS 1 and 2 messages to a broker that reads them but never
/// answers, and dies before any ack; B, a new process on the same store
/// file, finishes every one of them.
fn crash_mid_exchange(broker: &mut Mosquitto) -> Result<(), Error> {
    let store = StoreFile::new("crash");
    let (mut sub, mut seen_sub) = connect(broker, options("it-store-sub", true)?)?;
    subscribe(&mut sub, &mut seen_sub, &[(STORED_TOPIC, QoS::ExactlyOnce)])?;

    let mut a = stored_client(broker.addr(), &store)?;
    let mut seen_a = Seen::default();
    wait(&mut a, &mut seen_a, |s| !s.connected.is_empty())?;
    // The broker stops answering: A's PUBLISHes wait in its socket, unread
    // and unacknowledged.
    broker.freeze();
    let messages = stored_batch("crash", 3);
    publish(&mut a, STORED_TOPIC, &messages)?;
    idle(&mut a, &mut seen_a, SETTLE)?;
    assert!(seen_a.published.is_empty(), "{seen_a:#?}");
    drop(a);

    // Every message was recorded with its packet id before its PUBLISH
    // left, none released yet.
    let crashed = store.session()?;
    assert_eq!(crashed.publishes().count(), messages.len());
    assert!(crashed.publishes().all(|p| p.pid.is_some() && !p.released));
    // Had the process died mid-write, a torn record would follow: it is
    // ignored and cut off, and B's records follow the last whole one.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(store.path())?;
    file.write_all(&[0, 0, 0, 9, 1, 0])?;
    assert_eq!(store.session()?, crashed);
    // The broker wakes up, reads what it can of A's PUBLISHes and drops
    // the connection once it finds it gone, forgetting the rest. A QoS 2
    // message leads the batch, so that it is read before any write could
    // fail: the broker holds its packet id as received when B starts.
    broker.thaw();
    if let Some(first) = crashed.publishes().next() {
        assert_eq!(first.message.qos, QoS::ExactlyOnce);
        broker_received(broker, first, false);
    }
    let gone = format!("Client {STORED_ID} disconnected");
    let closed = format!("Client {STORED_ID} closed its connection");
    log_until(broker, |log| log.contains(&gone) || log.contains(&closed));

    let seen_b = carry_on(broker, &store, (&mut sub, &mut seen_sub), &messages)?;
    // [MQTT-3.1.2-4] [MQTT-3.2.2-2] the broker kept A's session for B.
    assert_eq!(seen_b.connected, [true]);
    // [MQTT-4.4.0-1] [MQTT-3.3.1-1] B resent each PUBLISH with the packet
    // id A had given it, and DUP 1.
    for p in crashed.publishes() {
        broker_received(broker, p, true);
    }
    close(&mut sub, &mut seen_sub)?;
    Ok(())
}

/// Checks the broker got `p`'s PUBLISH from the stored client, with its
/// packet id and the DUP flag `dup`.
fn broker_received(broker: &Mosquitto, p: &StoredPublish, dup: bool) {
    let (dup, qos) = (u8::from(dup), p.message.qos as u8);
    let pid = p.pid.map_or(0, |pid| pid.get());
    let line = format!("Received PUBLISH from {STORED_ID} (d{dup}, q{qos}, r0, m{pid},");
    let log = log_with(broker, &line);
    assert!(log.contains(&line), "{line}\n{log}");
}

#[test]
fn stored_messages_published_while_the_broker_is_down_reach_it_after_a_crash() {
    let port = Mosquitto::reserve_port();
    let store = StoreFile::new("down");
    let messages = stored_batch("down", 3);
    // Nobody listens on the port yet: A tries to connect and publishes
    // meanwhile, then dies.
    let offline = || -> Result<StoredSession, Error> {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut a = stored_client(addr, &store)?;
        let mut seen_a = Seen::default();
        publish(&mut a, STORED_TOPIC, &messages)?;
        idle(&mut a, &mut seen_a, SETTLE)?;
        assert!(seen_a.connected.is_empty(), "{seen_a:#?}");
        drop(a);
        store.session()
    };
    let crashed = offline().unwrap_or_else(|e| panic!("{e}"));
    // Queued in the store, none given a packet id.
    assert_eq!(crashed.publishes().count(), messages.len());
    assert!(crashed.publishes().all(|p| p.pid.is_none()));

    with_broker_on(port, |broker| {
        let (mut sub, mut seen_sub) = connect(broker, options("it-store-sub", true)?)?;
        subscribe(&mut sub, &mut seen_sub, &[(STORED_TOPIC, QoS::ExactlyOnce)])?;
        let seen_b = carry_on(broker, &store, (&mut sub, &mut seen_sub), &messages)?;
        // [MQTT-3.2.2-3] A never connected: the broker has no session.
        assert_eq!(seen_b.connected, [false]);
        close(&mut sub, &mut seen_sub)
    });
}

/// [`with_broker`] on a port reserved before.
fn with_broker_on(port: u16, test: impl FnOnce(&mut Mosquitto) -> Result<(), Error>) {
    let mut broker = Mosquitto::start_on(port, "");
    if let Err(e) = test(&mut broker) {
        panic!("{e}");
    }
}

/// B, a new process on `store`, completes every message the store holds;
/// the subscriber gets each one, QoS 2 exactly once, and the store is left
/// with nothing unfinished. Returns B's events.
fn carry_on(
    broker: &Mosquitto,
    store: &StoreFile,
    (sub, seen_sub): (&mut BlockingClient, &mut Seen),
    messages: &[(String, QoS)],
) -> Result<Seen, Error> {
    let ids: Vec<PublishId> = store.session()?.publishes().map(|p| p.id).collect();
    let mut b = stored_client(broker.addr(), store)?;
    let mut seen_b = Seen::default();
    wait_both((&mut b, &mut seen_b), (sub, seen_sub), |b, s| {
        ids.iter().all(|id| b.published.contains(id)) && s.has_all(messages)
    })?;
    let give_up = std::time::Instant::now() + SETTLE;
    while std::time::Instant::now() < give_up {
        idle(&mut b, &mut seen_b, TURN)?;
        idle(sub, seen_sub, TURN)?;
    }
    // [MQTT-4.3.3-2] a QoS 2 message reached the subscriber once, though A
    // and B may both have sent it; QoS 1 at least once.
    assert_all_received(seen_sub, messages);
    assert_eq!(seen_b.published.len(), ids.len(), "{seen_b:#?}");
    close(&mut b, &mut seen_b)?;
    // Every completion reached the store: nothing unfinished is left.
    let left = store.session()?;
    assert!(left.is_empty(), "{left:#?}");
    Ok(seen_b)
}
