//! A deterministic simulation of MQTT clients, a model broker and a faulty
//! network, on a virtual clock.
//!
//! Two [`Connection`](mqtt_proto::Connection)s (a publisher and a
//! persistent-session subscriber) talk to a [`ModelBroker`] over links that
//! split every write at random points, delay it, and cut the connection at
//! any byte. In a third of the schedules the broker also misbehaves (see
//! [`Misbehaviour`]): legitimately but unusually, against the protocol, or
//! by forgetting sessions. A seed fixes everything: the schedule of
//! commands, every fault and every misbehaviour, so a failing run replays
//! exactly from its seed.
//!
//! [`run`] plays one schedule and checks the invariants the client promises:
//! every QoS 1 message reported complete reached the subscriber at least once,
//! every QoS 2 message exactly once, no QoS 0 message twice, no packet id
//! reused while in flight, acks in arrival order, no packet the client sends
//! malformed or against the protocol (the model broker panics on one), the
//! connection closed exactly when the broker broke the protocol and for what
//! it did, and once the faults stop, both clients reconnect and every
//! accepted publish completes.

mod broker;
mod check;
mod misbehaviour;
mod rng;
mod tracker;
mod world;

pub use broker::{ConnId, ModelBroker};
pub use misbehaviour::{Counts, Misbehaviour};
pub use rng::Rng;

use core::time::Duration;
use mqtt_proto::{Event, Instant, Message, PublishId, QoS, TopicFilter};
use std::collections::BTreeMap;
use world::{World, PUBLISHER, SUBSCRIBER};

/// The fault and workload knobs of one schedule.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Chance that a write is cut somewhere inside, ending the connection.
    pub cut: f64,
    /// Largest one-way delay, in milliseconds.
    pub max_delay_ms: u64,
    /// Commands in the schedule.
    pub ops: usize,
    /// Whether the broker misbehaves while the faults are on.
    pub misbehave: bool,
}

/// What one schedule (or many, added up) did, for the summary.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub published: u64,
    pub delivered: u64,
    pub cuts: u64,
    pub reconnects: u64,
    pub queue_full: u64,
    /// Schedules with a misbehaving broker.
    pub misbehaving: u64,
    /// Misbehaviours injected, by kind ([`Misbehaviour::index`]).
    pub injected: Counts,
    /// Connections the client closed for a protocol violation.
    pub violation_closes: u64,
    /// Connections the client closed for want of a PINGRESP.
    pub ping_timeouts: u64,
    /// QoS 2 messages whose receipt the broker forgot with a session.
    pub relaxed: u64,
}

impl Stats {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &Stats) {
        self.published += other.published;
        self.delivered += other.delivered;
        self.cuts += other.cuts;
        self.reconnects += other.reconnects;
        self.queue_full += other.queue_full;
        self.misbehaving += other.misbehaving;
        misbehaviour::add_counts(&mut self.injected, &other.injected);
        self.violation_closes += other.violation_closes;
        self.ping_timeouts += other.ping_timeouts;
        self.relaxed += other.relaxed;
    }
}

/// One published message, as the schedule knows it.
#[derive(Debug, Clone, Copy)]
struct Sent {
    qos: QoS,
    id: PublishId,
}

/// Plays the schedule of `seed` and checks every invariant.
pub fn run(seed: u64, faults: &Faults) -> Result<Stats, String> {
    let mut rng = Rng::new(seed.wrapping_mul(31));
    let publisher_clean = rng.chance(0.25);
    let mut w = World::new(seed, faults.clone(), publisher_clean);

    // Phase 1, no faults: the subscriber's persistent subscription is made.
    w.subscribe(SUBSCRIBER)?;
    let deadline = Instant::from_millis(120_000);
    while !w.clients[SUBSCRIBER]
        .events
        .iter()
        .any(|e| matches!(e, Event::Subscribed { .. }))
    {
        if w.now >= deadline {
            return Err("subscriber never subscribed".into());
        }
        w.step(deadline)?;
    }

    // Phase 2: the schedule, with faults.
    w.set_faults(true);
    let mut sent: BTreeMap<u64, Sent> = BTreeMap::new();
    let mut next_msg = 0u64;
    for _ in 0..faults.ops {
        // A misbehaving broker's schedule idles now and then, long enough
        // for a PINGREQ, for the broker to answer it slowly.
        let pause = if faults.misbehave && rng.chance(0.15) {
            world::KEEP_ALIVE.as_millis() as u64 + rng.below(3_000)
        } else {
            0
        };
        let at = w.now + Duration::from_millis(pause + rng.below(400));
        while w.now < at {
            w.step(at)?;
        }
        let now = w.now;
        let publisher = &mut w.clients[PUBLISHER];
        match rng.below(20) {
            0..=13 => {
                let qos =
                    [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][rng.below(3) as usize];
                let n = next_msg;
                next_msg += 1;
                let topic = format!("sim/{}", n % 5);
                let message =
                    Message::new(&topic, format!("m{n}"), qos).map_err(|e| e.to_string())?;
                match publisher.conn.publish(message) {
                    Ok(id) => {
                        w.net.stats.published += 1;
                        sent.insert(n, Sent { qos, id });
                    }
                    Err(mqtt_proto::PublishError::QueueFull) => w.net.stats.queue_full += 1,
                    Err(e) => return Err(format!("publish refused: {e}")),
                }
            }
            14 | 15 => {
                let f = TopicFilter::try_from(format!("other/{}", rng.below(4)))
                    .map_err(|e| e.to_string())?;
                let mut filters = vec![(f, QoS::AtLeastOnce)];
                // Against a misbehaving broker, sometimes two filters, so
                // that a SUBACK may refuse one and grant the other.
                if faults.misbehave && rng.chance(0.5) {
                    let g = TopicFilter::try_from(format!("more/{}", rng.below(4)))
                        .map_err(|e| e.to_string())?;
                    filters.push((g, QoS::ExactlyOnce));
                }
                let _ = publisher.conn.subscribe(filters);
            }
            16 => {
                let f = TopicFilter::try_from(format!("other/{}", rng.below(4)))
                    .map_err(|e| e.to_string())?;
                let _ = publisher.conn.unsubscribe(vec![f]);
            }
            17 => publisher.conn.disconnect(now, std::time::Duration::ZERO),
            _ => {
                // Cut a random client's connection right now.
                let i = rng.below(2) as usize;
                if let Some(link) = w.clients[i].link.as_mut() {
                    if link.cut(now) {
                        w.net.stats.cuts += 1;
                    }
                }
            }
        }
    }

    // Phase 3: faults stop; everything must drain.
    w.set_faults(false);
    let drain_deadline = w.now + Duration::from_secs(600);
    while !w.settled() {
        if w.now >= drain_deadline {
            return Err(format!(
                "did not settle after the faults stopped: publisher connected={} queued={} inflight={}, subscriber connected={}, broker backlog={}",
                w.clients[PUBLISHER].conn.is_connected(),
                w.clients[PUBLISHER].conn.queued(),
                w.clients[PUBLISHER].conn.inflight(),
                w.clients[SUBSCRIBER].conn.is_connected(),
                w.broker.backlog("subscriber"),
            ));
        }
        w.step(drain_deadline)?;
    }

    check::check(&w, &sent)?;
    let mut stats = w.net.stats.clone();
    stats.misbehaving = u64::from(faults.misbehave);
    stats.injected = w.broker.injected();
    stats.relaxed = w.broker.forgotten_qos2("publisher").count() as u64;
    Ok(stats)
}
