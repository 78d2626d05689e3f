//! A deterministic simulation of MQTT clients, a model broker and a faulty
//! network, on a virtual clock.
//!
//! Two [`Connection`](mqtt_proto::Connection)s (a publisher and a
//! persistent-session subscriber) talk to a [`ModelBroker`] over links that
//! split every write at random points, delay it, and cut the connection at
//! any byte. In a third of the schedules the broker also misbehaves (see
//! [`Misbehaviour`]): legitimately but unusually, against the protocol, or
//! by forgetting sessions; in some it refuses connections (see
//! `refusal`). A seed fixes everything: the schedule of commands, every
//! fault and every misbehaviour, so a failing run replays exactly from its
//! seed.
//!
//! The clients run the core's session policy (`Options::reconnect`): the
//! world only starts them, opens (or fails to open) the transports they
//! ask for, and closes them gracefully now and then; reconnecting,
//! backing off, resubscribing and giving up are the core's own.
//!
//! [`run`] plays one schedule and checks the invariants the client promises:
//! every QoS 1 message reported complete reached the subscriber at least once,
//! every QoS 2 message exactly once, no QoS 0 message twice, no packet id
//! reused while in flight, acks in arrival order, no packet the client sends
//! malformed or against the protocol (the model broker panics on one), the
//! connection closed exactly when the broker broke the protocol and for what
//! it did, and once the faults stop, both clients reconnect and every
//! accepted publish completes. And of the session policy:
//!
//! - once a connection has settled, the broker holds exactly the client's
//!   live filters, lost sessions included, and the core's resubscription
//!   asks for each filter at most once per connection (`subs`);
//! - a reconnect only when the policy calls for one: the next server at
//!   once after a failed attempt with servers left in the round, otherwise
//!   a backoff of at least half its minimum, growing, started over only
//!   after a healthy connection; `GaveUp` only after a final refusal, and
//!   nothing after it; a graceful close over by its drain deadline, at
//!   once when nothing is left to drain (`policy`);
//! - `Event::SessionLost` names exactly the messages handed out and left
//!   unacknowledged; under `SessionLostPolicy::Fail` those given up never
//!   complete, are never sent again and never arrive twice (`tracker`).

mod broker;
mod check;
mod misbehaviour;
mod policy;
mod refusal;
mod rng;
mod subs;
mod tracker;
mod wire;
mod world;

pub use broker::{ConnId, ModelBroker, V5Counts};
pub use misbehaviour::{Counts, Misbehaviour};
pub use policy::PolicyStats;
pub use rng::Rng;
pub use wire::Level;

use core::time::Duration;
use mqtt_proto::packet::v5::ReasonCode;
use mqtt_proto::{Event, Instant, PublishId, QoS, TopicFilter};
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
    /// Chances, per CONNECT while the faults are on, that the broker
    /// refuses it as unavailable (the client retries), and as not
    /// authorized (a final refusal: the client gives up, ending its run).
    pub refuse_unavailable: f64,
    pub refuse_final: f64,
    /// Whether the publisher gives up QoS 2 messages in flight when the
    /// broker loses its session (`SessionLostPolicy::Fail`).
    pub fail_on_session_loss: bool,
    /// The protocol level both clients speak (the broker answers each
    /// connection at its level).
    pub level: Level,
}

/// What one schedule (or many, added up) did, for the summary.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub published: u64,
    pub delivered: u64,
    pub cuts: u64,
    /// Transports opened.
    pub reconnects: u64,
    pub queue_full: u64,
    /// Publishes refused because a close was under way.
    pub refused_closing: u64,
    /// Transports that failed to open, or hung until the attempt's
    /// deadline.
    pub failed_opens: u64,
    pub hung_opens: u64,
    /// Connections the broker refused: server unavailable, not authorized.
    pub refused: (u64, u64),
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
    /// The clients' session policy, added up.
    pub policy: PolicyStats,
    /// Lost sessions reported, messages resent and failed with them.
    pub sessions_lost: u64,
    pub resent: u64,
    pub failed: u64,
    /// Filters the core subscribed to again by itself.
    pub resubscribed: u64,
    /// Settled connections whose subscriptions were held against the
    /// broker's, and reconnects exempt (see `subs`).
    pub held_checks: u64,
    pub desyncs: u64,
    /// Schedules at 5.0, and what 5.0 did in them: the broker's side
    /// (`V5Counts`), DISCONNECTs from the broker the clients reported,
    /// PUBLISH packets read with a Topic Alias, publishes that filled the
    /// broker's Receive Maximum, publishes the client refused itself as
    /// above the broker's Maximum Packet Size, and ones refused by the
    /// broker with an error code, reported as such.
    pub v5_schedules: u64,
    pub v5: V5Counts,
    pub server_disconnects: u64,
    pub aliases_read: u64,
    pub quota_full: u64,
    pub too_large: u64,
    pub refused_reported: u64,
}

impl Stats {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &Stats) {
        self.published += other.published;
        self.delivered += other.delivered;
        self.cuts += other.cuts;
        self.reconnects += other.reconnects;
        self.queue_full += other.queue_full;
        self.refused_closing += other.refused_closing;
        self.failed_opens += other.failed_opens;
        self.hung_opens += other.hung_opens;
        self.refused.0 += other.refused.0;
        self.refused.1 += other.refused.1;
        self.misbehaving += other.misbehaving;
        misbehaviour::add_counts(&mut self.injected, &other.injected);
        self.violation_closes += other.violation_closes;
        self.ping_timeouts += other.ping_timeouts;
        self.relaxed += other.relaxed;
        self.policy.add(&other.policy);
        self.sessions_lost += other.sessions_lost;
        self.resent += other.resent;
        self.failed += other.failed;
        self.resubscribed += other.resubscribed;
        self.held_checks += other.held_checks;
        self.desyncs += other.desyncs;
        self.v5_schedules += other.v5_schedules;
        self.v5.add(&other.v5);
        self.server_disconnects += other.server_disconnects;
        self.aliases_read += other.aliases_read;
        self.quota_full += other.quota_full;
        self.too_large += other.too_large;
        self.refused_reported += other.refused_reported;
    }
}

/// One published message, as the schedule knows it.
#[derive(Debug, Clone, Copy)]
struct Sent {
    qos: QoS,
    id: PublishId,
    /// 5.0: its PUBLISH's size without a topic alias, and the error code
    /// the broker refuses every copy of it with, if it does.
    size: usize,
    refusal: Option<ReasonCode>,
}

/// Plays the schedule of `seed` and checks every invariant.
pub fn run(seed: u64, faults: &Faults) -> Result<Stats, String> {
    let mut rng = Rng::new(seed.wrapping_mul(31));
    let publisher_clean = rng.chance(0.25);
    let mut w = World::new(
        seed,
        faults.clone(),
        publisher_clean,
        faults.fail_on_session_loss,
    );

    // Phase 1, no faults: the clients start, and the subscriber's
    // persistent subscription is made.
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
        // What the previous command caused, when no time passed since.
        w.flush()?;
        let qos_of = |r: u64| [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][r as usize];
        match rng.below(20) {
            0..=13 => {
                let qos = qos_of(rng.below(3));
                let n = next_msg;
                next_msg += 1;
                if let Some(s) = w.publish(n, qos)? {
                    sent.insert(n, s);
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
                w.publisher_request(filters, false)?;
            }
            16 => {
                let f = TopicFilter::try_from(format!("other/{}", rng.below(4)))
                    .map_err(|e| e.to_string())?;
                w.publisher_request(vec![(f, QoS::AtMostOnce)], true)?;
            }
            17 => {
                // A graceful close, sometimes right after a last publish,
                // with a drain time from none to longer than most flows.
                if rng.chance(0.5) {
                    let qos = qos_of(rng.below(3));
                    let n = next_msg;
                    next_msg += 1;
                    if let Some(s) = w.publish(n, qos)? {
                        sent.insert(n, s);
                    }
                }
                let drain = [0, 50, 500, 3_000][rng.below(4) as usize];
                if !w.clients[PUBLISHER].gave_up {
                    w.disconnect(PUBLISHER, Duration::from_millis(drain))?;
                }
            }
            _ => {
                // Cut a random client's connection right now.
                let i = rng.below(2) as usize;
                let now = w.now;
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
    // What the last command caused: at 5.0 a publish the client refuses at
    // once (above the broker's Maximum Packet Size) leaves nothing to
    // settle but its event.
    w.flush()?;
    let drain_deadline = w.now + Duration::from_secs(600);
    while !w.settled() {
        if w.now >= drain_deadline {
            return Err(format!(
                "did not settle after the faults stopped: publisher {:?} queued={} inflight={}, subscriber {:?}, broker backlog={}",
                w.clients[PUBLISHER].conn.state(),
                w.clients[PUBLISHER].conn.queued(),
                w.clients[PUBLISHER].conn.inflight(),
                w.clients[SUBSCRIBER].conn.state(),
                w.broker.backlog("subscriber"),
            ));
        }
        w.step(drain_deadline)?;
    }

    let checked = check::check(&w, &sent)?;
    let mut stats = w.net.stats.clone();
    stats.too_large = checked.too_large;
    stats.refused_reported = checked.refused;
    if let Some(v5) = w.broker.v5() {
        stats.v5_schedules = 1;
        stats.v5 = v5.counts;
    }
    stats.misbehaving = u64::from(faults.misbehave);
    stats.injected = w.broker.injected();
    stats.relaxed = w.broker.forgotten_qos2("publisher").count() as u64;
    stats.refused = w.broker.refused();
    for c in &w.clients {
        stats.policy.add(&c.policy.stats);
        stats.sessions_lost += c.publishes.losses;
        stats.resent += c.publishes.resent;
        stats.failed += c.publishes.failed.len() as u64;
        stats.resubscribed += c.subs.resubscribed;
        stats.held_checks += c.subs.compared;
        stats.desyncs += c.subs.desyncs;
        stats.quota_full += c.tracker.quota_full;
    }
    Ok(stats)
}
