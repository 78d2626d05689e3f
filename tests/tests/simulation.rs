//! Runs the seeded fault simulation (see `mqtt_integration_tests::sim`):
//! 10,000 schedules of publish/subscribe/unsubscribe/close commands under
//! split reads, delays, connection cuts at any byte, transports that fail
//! to open and refused connections, a third of them against a misbehaving
//! broker, each checked for the delivery guarantees of section 4.3, the
//! packet-id rules of section 2.3.1, closing the connection on a protocol
//! violation, and only then [MQTT-4.8.0-1], and for the session policy the
//! clients' `Connection`s run themselves: reconnect and backoff, final
//! refusals, resubscription after a lost session, graceful close, and the
//! lost-session report.
//!
//! Half the schedules speak MQTT 5.0 (`Level::V5`: seeds whose half is
//! odd, so that every weather and fault mix has both levels) against the
//! same model broker answering at 5.0: a CONNACK with a Receive Maximum
//! below the clients' windows, a Maximum Packet Size, a Topic Alias Maximum
//! or a Server Keep Alive, acks with reason codes (errors for some
//! publishes), topic aliases on its publishes, and DISCONNECT with a reason.
//! Besides everything above, they hold the client to the broker's Receive
//! Maximum [5.0 MQTT-3.3.4-7] [5.0 MQTT-4.9.0-2], Maximum Packet Size
//! [5.0 MQTT-3.2.2-15], Topic Alias Maximum [5.0 MQTT-3.2.2-17]
//! [5.0 MQTT-3.2.2-18] [5.0 MQTT-3.3.2-8] [5.0 MQTT-3.3.2-9] and Server Keep
//! Alive [5.0 MQTT-3.2.2-21], to never sending PUBREL after an error PUBREC
//! [5.0 MQTT-4.3.3-4] nor again a publish refused with an error code
//! [5.0 MQTT-4.4.0-2], which it reports once.
//!
//! Every schedule runs, and the summary counts what happened: connections
//! cut, misbehaviours injected by kind, connections the client closed for a
//! violation, what the session policy did. Failures are listed at the end,
//! each with its seed; replay one alone with
//! `SIM_SEED=<seed> cargo test -p mqtt-integration-tests --test simulation`.
//! `SIM_SCHEDULES=<n>` changes how many schedules run; `SIM_TRACE=1` prints
//! every packet and event of a replayed schedule.

use mqtt_integration_tests::sim::{run, Faults, Level, Misbehaviour, Stats};
use std::panic::{catch_unwind, AssertUnwindSafe};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn faults_for(seed: u64) -> Faults {
    // Every third seed of each weather has a misbehaving broker; its
    // schedules are shorter, as each misbehaviour costs reconnects.
    let misbehave = (seed / 3).is_multiple_of(3);
    let ops = |n: usize| if misbehave { n / 2 } else { n };
    // One schedule in five meets a broker that refuses some connections as
    // unavailable; one in fifty, one that may refuse a client outright,
    // which then gives up and ends its run.
    let refuse_unavailable = if seed % 5 == 1 { 0.15 } else { 0.0 };
    let refuse_final = if seed % 50 == 21 { 0.03 } else { 0.0 };
    // A quarter of the publishers give up QoS 2 messages in flight when
    // the broker loses their session.
    let fail_on_session_loss = (seed / 7) % 4 == 1;
    // Vary the weather: calm, choppy and stormy links.
    let (cut, max_delay_ms, n) = match seed % 3 {
        0 => (0.01, 20, 40),
        1 => (0.05, 200, 30),
        _ => (0.15, 1_500, 20),
    };
    // Every other pair of seeds speaks 5.0: the knobs above all depend on
    // the seed modulo odd numbers or on multiples of 3 and 7, so each mix
    // of them meets both levels.
    let level = if (seed / 2) % 2 == 1 {
        Level::V5
    } else {
        Level::V311
    };
    Faults {
        cut,
        max_delay_ms,
        ops: ops(n),
        misbehave,
        refuse_unavailable,
        refuse_final,
        fail_on_session_loss,
        level,
    }
}

/// Plays one schedule: its statistics, or what went wrong.
fn play(seed: u64) -> Result<Stats, String> {
    let faults = faults_for(seed);
    match catch_unwind(AssertUnwindSafe(|| run(seed, &faults))) {
        Ok(Ok(stats)) => Ok(stats),
        Ok(Err(why)) => Err(format!("schedule {seed} broke an invariant: {why}")),
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            Err(format!("schedule {seed} panicked: {why}"))
        }
    }
}

#[test]
fn random_fault_schedules_keep_every_promise() {
    let seeds: Vec<u64> = match env_u64("SIM_SEED") {
        Some(seed) => vec![seed],
        None => (0..env_u64("SIM_SCHEDULES").unwrap_or(10_000)).collect(),
    };
    // Every schedule runs, so that one failure does not hide others, nor the
    // statistics of the rest.
    let mut total = Stats::default();
    let mut failures = Vec::new();
    for &seed in &seeds {
        match play(seed) {
            Ok(stats) => total.add(&stats),
            Err(why) => failures.push((seed, why)),
        }
    }
    println!(
        "{} schedules ({} with a misbehaving broker): {} publishes accepted, {} refused as queue full, {} connections cut, {} connects",
        seeds.len(),
        total.misbehaving,
        total.published,
        total.queue_full,
        total.cuts,
        total.reconnects
    );
    let violations: u64 = Misbehaviour::ALL
        .iter()
        .filter(|k| k.is_violation())
        .map(|k| total.injected[k.index()])
        .sum();
    println!(
        "client closed {} connections for a protocol violation (of {violations} injected; the rest \
         were cut, or closed for another reason, first), {} for want of a PINGRESP; the broker \
         forgot the receipt of {} QoS 2 messages with a session (those alone may arrive twice)",
        total.violation_closes, total.ping_timeouts, total.relaxed
    );
    let p = &total.policy;
    println!(
        "session policy: {} failovers to the next server, {} backoff waits, {} transports failed \
         to open and {} hung, {} connections refused as unavailable and {} as not authorized \
         ({} clients gave up); {} graceful closes ({} drained to their deadline), {} publishes \
         refused while closing",
        p.failovers,
        p.backoffs,
        total.failed_opens,
        total.hung_opens,
        total.refused.0,
        total.refused.1,
        p.gave_up,
        p.closes,
        p.close_deadlines,
        total.refused_closing
    );
    println!(
        "sessions: {} lost sessions reported, {} messages resent as new and {} given up with \
         them; {} filters resubscribed by the core; subscriptions held against the broker's {} \
         times ({} reconnects exempt: the broker lost a session the client never heard of)",
        total.sessions_lost,
        total.resent,
        total.failed,
        total.resubscribed,
        total.held_checks,
        total.desyncs
    );
    let v5 = &total.v5;
    println!(
        "MQTT 5.0: {} schedules; the broker refused {} publishes with an error code ({} reported \
         so by the publisher, never sent again), the publisher refused {} itself as above the \
         broker's Maximum Packet Size; {} acks said no matching subscribers, {} UNSUBACKs no \
         subscription; {} publishes filled the broker's Receive Maximum; topic aliases on {} \
         PUBLISH from the broker ({} read by the subscriber) and {} from the publisher; {} \
         DISCONNECTs from the broker ({} reported by the clients as such)",
        total.v5_schedules,
        v5.error_acks,
        total.refused_reported,
        total.too_large,
        v5.no_match,
        v5.no_subscription,
        total.quota_full,
        v5.aliases_out,
        total.aliases_read,
        v5.aliases_in,
        v5.disconnects,
        total.server_disconnects
    );
    println!("misbehaviours injected:");
    for kind in Misbehaviour::ALL {
        let class = if kind.is_violation() {
            "violation"
        } else if kind == Misbehaviour::LostSession {
            "forgetful"
        } else {
            "unusual"
        };
        println!(
            "  {:<28} {:<9} {:>6}",
            kind.name(),
            class,
            total.injected[kind.index()]
        );
    }
    if let Some((seed, _)) = failures.first() {
        let list: Vec<&str> = failures.iter().map(|(_, why)| why.as_str()).collect();
        panic!(
            "{} of {} schedules failed:\n  {}\n  replay one: SIM_SEED={seed} SIM_TRACE=1 cargo test -p mqtt-integration-tests --test simulation",
            failures.len(),
            seeds.len(),
            list.join("\n  ")
        );
    }
    let misbehaved = seeds.len() >= 1_000;
    let full = seeds.len() >= 5_000;
    assert!(
        total.published > 0 && (seeds.len() < 10 || total.cuts > 0),
        "the simulation exercised nothing"
    );
    assert!(
        !misbehaved || total.injected.iter().all(|&n| n > 0),
        "some misbehaviour was never injected"
    );
    // Every part of the session policy was exercised.
    let exercised = [
        ("failover", p.failovers),
        ("backoff", p.backoffs),
        ("failed open", total.failed_opens),
        ("hung open", total.hung_opens),
        ("refusal as unavailable", total.refused.0),
        ("final refusal", total.refused.1),
        ("giving up", p.gave_up),
        ("graceful close", p.closes),
        ("close drained to its deadline", p.close_deadlines),
        ("lost session", total.sessions_lost),
        ("resent message", total.resent),
        ("failed message", total.failed),
        ("resubscription", total.resubscribed),
        ("subscriptions held", total.held_checks),
        ("5.0 schedule", total.v5_schedules),
        ("5.0 error ack", v5.error_acks),
        ("5.0 refusal reported", total.refused_reported),
        ("5.0 publish above the Maximum Packet Size", total.too_large),
        ("5.0 full Receive Maximum", total.quota_full),
        ("5.0 topic alias from the broker", total.aliases_read),
        ("5.0 topic alias from the client", v5.aliases_in),
        ("5.0 DISCONNECT from the broker", total.server_disconnects),
        ("5.0 no matching subscribers", v5.no_match),
    ];
    for (what, n) in exercised {
        assert!(!full || n > 0, "no {what} in {} schedules", seeds.len());
    }
}

#[test]
fn the_same_seed_replays_the_same_run() {
    // Seed 42 has a well-behaved broker at 5.0, seed 9 a misbehaving one
    // at 3.1.1.
    for seed in [42, 9] {
        let a = run(seed, &faults_for(seed)).expect("a passing seed");
        let b = run(seed, &faults_for(seed)).expect("a passing seed");
        assert_eq!(
            (a.published, a.delivered, a.cuts, a.reconnects, a.injected),
            (b.published, b.delivered, b.cuts, b.reconnects, b.injected)
        );
        assert_eq!(
            (
                a.policy.backoffs,
                a.policy.failovers,
                a.policy.closes,
                a.resubscribed
            ),
            (
                b.policy.backoffs,
                b.policy.failovers,
                b.policy.closes,
                b.resubscribed
            )
        );
    }
}
