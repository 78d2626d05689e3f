//! The blocking example's client (`mqtt-proto/examples/blocking.rs`), run
//! against a real mosquitto: QoS 0/1/2 round trips, keep-alive on an idle
//! connection, and a persistent session that collects messages while offline,
//! across a clean reconnect, abrupt transport drops (with automatic and with
//! manual acks) and a broker restart.
//!
//! The example file is compiled here as a module, so this test drives the
//! very loop the example ships, not a copy. Every wait is bounded: a bug
//! fails a test, it never hangs one.

// The example's `main` and any helper a test does not call are unused here.
#[allow(dead_code)]
#[path = "../../mqtt-proto/examples/blocking.rs"]
mod blocking;

use blocking::{BlockingClient, Error};
use mqtt_integration_tests::broker::Mosquitto;
use mqtt_proto::{
    AckToken, DisconnectReason, Event, MqttString, Options, PacketId, PublishId, QoS,
    SubscribeOutcome,
};
use std::collections::{HashMap, HashSet};
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

/// What a client's events said so far.
#[derive(Debug, Default)]
struct Seen {
    /// Times each payload arrived, and the QoS it arrived with.
    received: HashMap<String, (usize, QoS)>,
    /// Manual-ack tokens of received messages not yet acknowledged, oldest
    /// first.
    unacked: Vec<(QoS, AckToken)>,
    published: HashSet<PublishId>,
    subscribed: HashMap<PacketId, Vec<SubscribeOutcome>>,
    /// `session_present` of each CONNACK, in order.
    connected: Vec<bool>,
    disconnected: Vec<DisconnectReason>,
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
            }
            Event::Subscribed { id, outcomes } => {
                self.subscribed.insert(id, outcomes);
            }
            Event::Connected { session_present } => self.connected.push(session_present),
            Event::Disconnected { reason } => self.disconnected.push(reason),
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

fn options(client_id: &str, clean_session: bool) -> Result<Options, Error> {
    Ok(Options::new(MqttString::try_from(client_id)?)
        .with_clean_session(clean_session)
        .with_keep_alive(Duration::from_secs(30)))
}

/// Connects and waits for CONNACK (recorded in the returned `Seen`).
fn connect(broker: &Mosquitto, options: Options) -> Result<(BlockingClient, Seen), Error> {
    let mut client = BlockingClient::connect(broker.addr(), options)?;
    let mut seen = Seen::default();
    wait(&mut client, &mut seen, |s| !s.connected.is_empty())?;
    Ok((client, seen))
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

/// Publishes each `(payload, qos)` to `topic` and waits for every
/// completion: QoS 1 PUBACK'd, QoS 2 PUBCOMP'd by the broker.
fn publish_all(
    client: &mut BlockingClient,
    seen: &mut Seen,
    topic: &str,
    messages: &[(String, QoS)],
) -> Result<(), Error> {
    let mut ids = Vec::new();
    for (payload, qos) in messages {
        ids.push(client.publish(topic, payload.as_bytes(), *qos)?);
    }
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

    client.disconnect(WAIT)?;
    assert!(seen.disconnected.is_empty(), "{seen:#?}");
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
    a.disconnect(WAIT)?;

    // One message in flight from B: mosquitto's max_inflight_messages also
    // caps what it accepts, and beyond it drops an incoming QoS 2 message
    // while answering PUBREC as if it were taken (seen with 2.0.11).
    let b_options = options(&format!("{client_id}-b"), true)?.with_max_inflight(1);
    let (mut b, mut seen_b) = connect(broker, b_options)?;
    let (at_q1, at_q2) = offline_batch(n);
    publish_all(&mut b, &mut seen_b, q1, &at_q1)?;
    publish_all(&mut b, &mut seen_b, q2, &at_q2)?;
    b.disconnect(WAIT)?;
    Ok((a, seen_a, at_q1.into_iter().chain(at_q2).collect()))
}

/// Checks every offline message reached A, and each QoS 2 one exactly once.
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

    a.reconnect()?;
    wait(&mut a, &mut seen, |s| s.connected.len() == 2)?;
    // [MQTT-3.1.2-4] the session outlived the connection, and
    // [MQTT-3.2.2-2] CONNACK says so.
    assert_eq!(seen.connected, [false, true]);
    // [MQTT-3.1.2-5] the broker stored the QoS 1 and 2 messages that matched
    // A's subscriptions while it was away, and now delivers them.
    wait(&mut a, &mut seen, |s| s.has_all(&messages))?;
    settle(&mut a, &mut seen)?;
    assert_all_received(&seen, &messages);

    a.disconnect(WAIT)?;
    assert!(seen.disconnected.is_empty(), "{seen:#?}");
    Ok(())
}

#[test]
fn qos2_exactly_once_across_abrupt_transport_drops() {
    // One message in flight at a time, so dropping the transport right after
    // a delivery leaves that QoS 2 flow half done: on reconnect the broker
    // resends the PUBREL [MQTT-4.4.0-1] (or, had it not read our PUBREC yet,
    // the PUBLISH with DUP=1), and the client answers without a second
    // delivery.
    with_broker("max_inflight_messages 1", abrupt_drops);
}

fn abrupt_drops(broker: &mut Mosquitto) -> Result<(), Error> {
    let (mut a, mut seen, messages) =
        prepare_offline_session(broker, options("it-abrupt", false)?, 5)?;

    a.reconnect()?;
    for drops in 1..=3 {
        // The loop reports a delivery after writing its PUBREC; then the TCP
        // connection goes without DISCONNECT, before PUBREL is answered.
        let delivered = seen.delivered_at(QoS::ExactlyOnce);
        wait(&mut a, &mut seen, |s| {
            s.delivered_at(QoS::ExactlyOnce) > delivered
        })?;
        a.reconnect()?;
        wait(&mut a, &mut seen, |s| s.connected.len() == 2 + drops)?;
    }
    // [MQTT-3.1.2-4] every reconnect resumed the same session.
    assert_eq!(seen.connected, [false, true, true, true, true]);
    wait(&mut a, &mut seen, |s| s.has_all(&messages))?;
    settle(&mut a, &mut seen)?;
    assert_all_received(&seen, &messages);

    a.disconnect(WAIT)?;
    Ok(())
}

#[test]
fn qos2_redelivered_with_dup_after_a_drop_is_not_delivered_twice() {
    // In manual-ack mode PUBREC waits for the application, so dropping the
    // transport while holding a QoS 2 message leaves the broker without it:
    // on reconnect it resends the PUBLISH with its original id and DUP=1
    // [MQTT-4.4.0-1], which the client must answer without delivering the
    // message again [MQTT-4.3.3-2].
    with_broker("max_inflight_messages 1", manual_ack_redelivery);
}

fn manual_ack_redelivery(broker: &mut Mosquitto) -> Result<(), Error> {
    let a_options = options("it-manual-ack", false)?.with_manual_acks(true);
    let (mut a, mut seen, messages) = prepare_offline_session(broker, a_options, 3)?;

    a.reconnect()?;
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
            a.reconnect()?;
            wait(&mut a, &mut seen, |s| s.connected.len() == 2 + drops)?;
        }
        // The token outlives the transport: the session still holds the
        // message, and the PUBREC goes out on the new connection.
        a.ack(token)?;
    }
    assert_eq!(drops, 3);
    assert_eq!(seen.connected, [false, true, true, true, true]);
    settle(&mut a, &mut seen)?;
    assert_all_received(&seen, &messages);
    assert!(seen.unacked.is_empty(), "{seen:#?}");

    a.disconnect(WAIT)?;
    Ok(())
}

#[test]
fn keep_alive_holds_an_idle_connection_open() {
    with_broker("", keep_alive);
}

fn keep_alive(broker: &mut Mosquitto) -> Result<(), Error> {
    let topic = "it/blocking/keep-alive";
    let keep_alive = Duration::from_secs(1);
    let client_options = options("it-keep-alive", true)?.with_keep_alive(keep_alive);
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
    client.disconnect(WAIT)?;
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
    a.reconnect()?;
    wait(&mut a, &mut seen, |s| s.connected.len() == 2)?;
    assert_eq!(seen.connected, [false, true]);
    wait(&mut a, &mut seen, |s| s.has_all(&messages))?;
    settle(&mut a, &mut seen)?;
    assert_all_received(&seen, &messages);

    a.disconnect(WAIT)?;
    Ok(())
}
