//! The mio example's client (`mqtt-proto/examples/mio.rs`), compiled here
//! as a module and run against a real mosquitto: connect, subscribe, QoS
//! 0/1/2 round trips, the graceful close, and a broker restart that loses
//! the session, from which the core reconnects and subscribes again by
//! itself. Every wait is bounded.

// The example's `main` is unused here.
#[allow(dead_code)]
#[path = "../../mqtt-proto/examples/mio.rs"]
mod mio_client;

use mio_client::{Error, MioClient};
use mqtt_integration_tests::broker::Mosquitto;
use mqtt_proto::{
    DisconnectReason, Event, MqttString, Options, PublishId, QoS, SubscribeOutcome, TopicFilter,
};
use std::collections::HashMap;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);
const SETTLE: Duration = Duration::from_millis(300);

/// Every event a client reported, in order, and the payloads it received.
#[derive(Debug, Default)]
struct Seen {
    events: Vec<Event>,
    received: HashMap<String, (usize, QoS)>,
}

impl Seen {
    fn record(&mut self, event: Event) {
        if let Event::Message { message, .. } = &event {
            let payload = String::from_utf8_lossy(&message.payload).into_owned();
            self.received.entry(payload).or_insert((0, message.qos)).0 += 1;
        }
        self.events.push(event);
    }

    fn count(&self, is: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|e| is(e)).count()
    }

    fn published(&self, id: PublishId) -> bool {
        self.events.contains(&Event::Published { id })
    }

    fn has_all(&self, payloads: &[(String, QoS)]) -> bool {
        payloads.iter().all(|(p, _)| self.received.contains_key(p))
    }
}

/// Runs `client` until `done` holds, for at most `WAIT`.
fn wait(client: &mut MioClient, seen: &mut Seen, done: impl Fn(&Seen) -> bool) {
    let result = client.run_until(WAIT, |event| {
        seen.record(event);
        done(seen).then_some(())
    });
    if let Err(e) = result {
        panic!("{e}; seen so far: {seen:#?}");
    }
}

/// Runs `client` for `SETTLE`, recording whatever else arrives.
fn settle(client: &mut MioClient, seen: &mut Seen) {
    let result = client.run(SETTLE, |event| {
        seen.record(event);
        None::<()>
    });
    if let Err(e) = result {
        panic!("{e}; seen so far: {seen:#?}");
    }
}

fn start(broker: &Mosquitto, id: &str, clean: bool) -> Result<(MioClient, Seen), Error> {
    let options = Options::new(MqttString::try_from(id)?).clean_session(clean);
    let mut client = MioClient::new(broker.addr(), options)?;
    let mut seen = Seen::default();
    wait(&mut client, &mut seen, |s| {
        s.count(|e| matches!(e, Event::Connected { .. })) > 0
    });
    Ok((client, seen))
}

/// Publishes one message per QoS to `topic` (`tag` in each payload) and
/// waits for every completion and every delivery back.
fn round_trip(
    client: &mut MioClient,
    seen: &mut Seen,
    topic: &str,
    tag: &str,
) -> Result<(), Error> {
    let messages: Vec<(String, QoS)> = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
        .into_iter()
        .map(|qos| (format!("{tag} at {qos:?}"), qos))
        .collect();
    let mut ids = Vec::new();
    for (payload, qos) in &messages {
        ids.push(client.publish(topic, payload.as_bytes(), *qos)?);
    }
    wait(client, seen, |s| {
        ids.iter().all(|id| s.published(*id)) && s.has_all(&messages)
    });
    settle(client, seen);
    for (payload, qos) in &messages {
        // Granted QoS 2: each arrives once, at its own QoS; QoS 2 never
        // twice [MQTT-4.3.3-2].
        assert_eq!(seen.received[payload], (1, *qos), "{seen:#?}");
    }
    Ok(())
}

#[test]
fn round_trips_and_graceful_close() -> Result<(), Error> {
    let broker = Mosquitto::start("");
    let topic = "it/mio/round-trip";
    let (mut client, mut seen) = start(&broker, "it-mio", true)?;
    assert_eq!(
        seen.events,
        [
            Event::OpenTransport { server: 0 },
            Event::Connected {
                session_present: false
            }
        ]
    );
    let sub = client.subscribe(&[(topic, QoS::ExactlyOnce)])?;
    wait(&mut client, &mut seen, |s| {
        s.count(|e| matches!(e, Event::Subscribed { .. })) > 0
    });
    let granted = vec![SubscribeOutcome::Granted(QoS::ExactlyOnce)];
    assert!(seen.events.contains(&Event::Subscribed {
        id: sub,
        outcomes: granted
    }));
    round_trip(&mut client, &mut seen, topic, "round trip")?;

    // 16 MiB at once, more than a loopback socket's send buffer (4 MiB at
    // most by default on Linux) takes: it goes out through the parked bytes
    // and WRITABLE. The close then waits for every PUBACK before DISCONNECT.
    let payload = vec![b'x'; 256 * 1024];
    let ids: Vec<PublishId> = (0..64)
        .map(|_| client.publish("it/mio/burst", &payload, QoS::AtLeastOnce))
        .collect::<Result<_, _>>()?;
    client.disconnect(WAIT);
    let closed = |s: &Seen| s.count(|e| matches!(e, Event::Disconnected { .. })) > 0;
    wait(&mut client, &mut seen, closed);
    let end = seen.events.len() - 1;
    assert_eq!(
        seen.events[end],
        Event::Disconnected {
            reason: DisconnectReason::Requested
        }
    );
    // Every publish completed (PUBACK [MQTT-4.3.2-1]) before the close ended.
    assert!(ids
        .iter()
        .all(|id| seen.events[..end].contains(&Event::Published { id: *id })));
    // DISCONNECT came after the last PUBLISH, and nothing after it
    // [MQTT-3.14.4-2].
    let log = log_with(&broker, "Received DISCONNECT from it-mio");
    let disconnect = log.find("Received DISCONNECT from it-mio").unwrap_or(0);
    assert!(
        log.rfind("Received PUBLISH from it-mio")
            .is_some_and(|p| p < disconnect),
        "{log}"
    );
    Ok(())
}

#[test]
fn reconnects_and_subscribes_again_after_a_broker_restart() -> Result<(), Error> {
    // No persistence: the restarted broker has lost the session.
    let mut broker = Mosquitto::start("");
    let topic = "it/mio/restart";
    let (mut client, mut seen) = start(&broker, "it-mio-restart", false)?;
    client.subscribe(&[(topic, QoS::ExactlyOnce)])?;
    round_trip(&mut client, &mut seen, topic, "before")?;

    broker.restart();
    // The loop only opens the socket it is asked for: the core noticed the
    // lost transport, reconnected after its backoff and, as CONNACK said
    // the session was gone [MQTT-3.2.2-3], subscribed again.
    let resubscribed = |s: &Seen| s.count(|e| matches!(e, Event::Resubscribed { .. })) > 0;
    wait(&mut client, &mut seen, resubscribed);
    let lost = seen
        .events
        .iter()
        .position(|e| matches!(e, Event::Disconnected { .. }));
    let reopened = seen
        .events
        .iter()
        .rposition(|e| matches!(e, Event::OpenTransport { .. }));
    assert!(lost.is_some() && lost < reopened, "{seen:#?}");
    assert_eq!(
        seen.count(|e| *e
            == Event::Connected {
                session_present: false
            }),
        2
    );
    let filters = seen.events.iter().find_map(|e| match e {
        Event::Resubscribed { filters } => Some(filters.clone()),
        _ => None,
    });
    let granted = SubscribeOutcome::Granted(QoS::ExactlyOnce);
    assert_eq!(
        filters,
        Some(vec![(TopicFilter::try_from(topic)?, granted)])
    );
    // The test subscribed once; messages published now still arrive.
    assert_eq!(seen.count(|e| matches!(e, Event::Subscribed { .. })), 1);
    round_trip(&mut client, &mut seen, topic, "after")?;

    client.disconnect(WAIT);
    let closed = |s: &Seen| {
        s.events.last()
            == Some(&Event::Disconnected {
                reason: DisconnectReason::Requested,
            })
    };
    wait(&mut client, &mut seen, closed);
    Ok(())
}

/// The broker's log once it holds `line` (it writes asynchronously), or
/// after `WAIT`.
fn log_with(broker: &Mosquitto, line: &str) -> String {
    let give_up = std::time::Instant::now() + WAIT;
    loop {
        let log = broker.log();
        if log.contains(line) || std::time::Instant::now() > give_up {
            return log;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
