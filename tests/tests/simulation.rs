//! Runs the seeded fault simulation (see `mqtt_integration_tests::sim`):
//! 10,000 schedules of publish/subscribe/unsubscribe/disconnect commands
//! under split reads, delays and connection cuts at any byte, each checked
//! for the delivery guarantees of section 4.3 and the packet-id rules of
//! section 2.3.1.
//!
//! A failure prints its seed; replay it alone with
//! `SIM_SEED=<seed> cargo test -p mqtt-integration-tests --test simulation`.
//! `SIM_SCHEDULES=<n>` changes how many schedules run; `SIM_TRACE=1` prints
//! every packet and event of a replayed schedule.

use mqtt_integration_tests::sim::{run, Faults, Stats};
use std::panic::{catch_unwind, AssertUnwindSafe};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn faults_for(seed: u64) -> Faults {
    // Vary the weather: calm, choppy and stormy links.
    match seed % 3 {
        0 => Faults {
            cut: 0.01,
            max_delay_ms: 20,
            ops: 40,
        },
        1 => Faults {
            cut: 0.05,
            max_delay_ms: 200,
            ops: 30,
        },
        _ => Faults {
            cut: 0.15,
            max_delay_ms: 1_500,
            ops: 20,
        },
    }
}

fn play(seed: u64) -> Stats {
    let faults = faults_for(seed);
    match catch_unwind(AssertUnwindSafe(|| run(seed, &faults))) {
        Ok(Ok(stats)) => stats,
        Ok(Err(why)) => panic!(
            "schedule {seed} broke an invariant: {why}\n  replay: SIM_SEED={seed} cargo test -p mqtt-integration-tests --test simulation"
        ),
        Err(_) => panic!(
            "schedule {seed} panicked (see above)\n  replay: SIM_SEED={seed} cargo test -p mqtt-integration-tests --test simulation"
        ),
    }
}

#[test]
fn random_fault_schedules_keep_every_promise() {
    let seeds: Vec<u64> = match env_u64("SIM_SEED") {
        Some(seed) => vec![seed],
        None => (0..env_u64("SIM_SCHEDULES").unwrap_or(10_000)).collect(),
    };
    let mut total = Stats::default();
    for &seed in &seeds {
        let s = play(seed);
        total.published += s.published;
        total.delivered += s.delivered;
        total.cuts += s.cuts;
        total.reconnects += s.reconnects;
        total.queue_full += s.queue_full;
    }
    println!(
        "{} schedules: {} publishes accepted, {} refused as queue full, {} connections cut, {} connects",
        seeds.len(),
        total.published,
        total.queue_full,
        total.cuts,
        total.reconnects
    );
    assert!(
        total.published > 0 && (seeds.len() < 10 || total.cuts > 0),
        "the simulation exercised nothing"
    );
}

#[test]
fn the_same_seed_replays_the_same_run() {
    let a = run(42, &faults_for(42)).expect("seed 42");
    let b = run(42, &faults_for(42)).expect("seed 42");
    assert_eq!(
        (a.published, a.cuts, a.reconnects),
        (b.published, b.cuts, b.reconnects)
    );
}
