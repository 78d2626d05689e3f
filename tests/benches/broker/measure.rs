//! What a child measures and how it reports it: payloads carrying their
//! sequence number, the subscriber's tally (count, duplicates, last
//! arrival), the wait for the last message, CPU time and memory from the
//! kernel, and the `key=value` line the parent parses.

use crate::{Phase, IDLE_CONNECTIONS, PAYLOAD, QOS0_QUIET, STALL};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A 64-byte payload carrying its sequence number.
pub(crate) fn payload(seq: u64) -> Vec<u8> {
    let mut p = vec![0u8; PAYLOAD];
    p[..8].copy_from_slice(&seq.to_le_bytes());
    p
}

/// What the subscriber saw, shared with the watching task.
pub(crate) struct Tally {
    t0: Instant,
    count: AtomicU64,
    last_ns: AtomicU64,
}

impl Tally {
    /// Messages counted, and when the last one arrived.
    pub(crate) fn count_and_last(&self) -> (u64, Instant) {
        let last = Duration::from_nanos(self.last_ns.load(Ordering::Relaxed));
        (self.count.load(Ordering::Relaxed), self.t0 + last)
    }

    pub(crate) fn new() -> Arc<Tally> {
        Arc::new(Tally {
            t0: Instant::now(),
            count: AtomicU64::new(0),
            last_ns: AtomicU64::new(0),
        })
    }
}

/// Duplicates and out-of-range sequence numbers, counted by the subscriber.
pub(crate) struct Seen {
    bits: Vec<u64>,
    duplicates: u64,
    foreign: u64,
}

impl Seen {
    /// Distinct sequence numbers seen.
    pub(crate) fn unique(&self) -> u64 {
        self.bits.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    pub(crate) fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Payloads that were not this run's.
    pub(crate) fn foreign(&self) -> u64 {
        self.foreign
    }

    pub(crate) fn new(n: u64) -> Seen {
        Seen {
            bits: vec![0; n.div_ceil(64) as usize],
            duplicates: 0,
            foreign: 0,
        }
    }

    pub(crate) fn record(&mut self, tally: &Tally, payload: &[u8]) {
        let seq = payload
            .get(..8)
            .map_or(u64::MAX, |b| u64::from_le_bytes(b.try_into().unwrap()));
        match self.bits.get_mut((seq / 64) as usize) {
            Some(word) if payload.len() == PAYLOAD => {
                let bit = 1u64 << (seq % 64);
                if *word & bit != 0 {
                    self.duplicates += 1;
                }
                *word |= bit;
            }
            _ => self.foreign += 1,
        }
        tally.count.fetch_add(1, Ordering::Relaxed);
        tally
            .last_ns
            .store(tally.t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
}

/// Called once every message was handed to the publisher: waits until the
/// subscriber has them all (QoS 1/2) or has been quiet for a while (QoS 0).
/// Panics on a QoS 1/2 stall.
pub(crate) async fn watch<S, F>(tally: &Tally, phase: &Phase, sleep: S)
where
    S: Fn(Duration) -> F,
    F: std::future::Future<Output = ()>,
{
    let mut last = (0, Instant::now());
    loop {
        let count = tally.count.load(Ordering::Relaxed);
        if count >= phase.n {
            return;
        }
        if count != last.0 {
            last = (count, Instant::now());
        }
        let quiet = last.1.elapsed();
        if phase.qos == 0 && quiet >= QOS0_QUIET {
            return;
        }
        if phase.qos > 0 && quiet >= STALL {
            panic!(
                "QoS {}: stalled at {count} of {} messages for {STALL:?}",
                phase.qos, phase.n
            );
        }
        sleep(Duration::from_millis(10)).await;
    }
}

pub(crate) struct Usage {
    cpu: Duration,
    maxrss_kib: i64,
    /// Context switches, voluntary (waiting) and involuntary (preempted).
    ctxsw: i64,
}

impl Usage {
    pub(crate) fn cpu_since(&self, before: &Usage) -> Duration {
        self.cpu.saturating_sub(before.cpu)
    }

    pub(crate) fn ctxsw_since(&self, before: &Usage) -> i64 {
        self.ctxsw - before.ctxsw
    }

    pub(crate) fn maxrss_kib(&self) -> i64 {
        self.maxrss_kib
    }
}

pub(crate) fn usage() -> Usage {
    // SAFETY: getrusage only writes the struct it is given.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Usage {
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
        maxrss_kib: ru.ru_maxrss,
        ctxsw: ru.ru_nvcsw + ru.ru_nivcsw,
    }
}

/// The current resident set size in KiB.
pub(crate) fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("statm resident");
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    pages * page / 1024
}

pub(crate) fn percentiles(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)];
    format!(
        "rounds={} p50_us={:.1} p99_us={:.1} max_us={:.1}",
        samples.len(),
        at(50).as_secs_f64() * 1e6,
        at(99).as_secs_f64() * 1e6,
        samples.last().map_or(0.0, |d| d.as_secs_f64() * 1e6)
    )
}

pub(crate) fn idle_line(before: u64, after: u64) -> String {
    format!(
        "connections={IDLE_CONNECTIONS} rss_before_kib={before} rss_after_kib={after} \
         kib_per_conn={:.2}",
        after.saturating_sub(before) as f64 / IDLE_CONNECTIONS as f64
    )
}

/// Clients in the many-clients phase (`BENCH_SCALE_CLIENTS`, default
/// 10,000).
pub(crate) fn scale_clients() -> usize {
    std::env::var("BENCH_SCALE_CLIENTS")
        .ok()
        .map(|v| v.parse().expect("BENCH_SCALE_CLIENTS must be a number"))
        .unwrap_or(10_000)
}

/// What the many-clients phase measured: `clients` connections, each
/// publishing once a second for `window`, `completed` of those publishes
/// acknowledged in it, CPU time used in it (from `before`), and the memory
/// the clients added to the process (`rss_before` to now).
pub(crate) fn scale_line(
    clients: usize,
    completed: u64,
    window: Duration,
    before: &Usage,
    rss_before: u64,
) -> String {
    let after = usage();
    let rss_after = rss_kib();
    let secs = window.as_secs_f64();
    let cpu = (after.cpu - before.cpu).as_secs_f64();
    format!(
        "clients={clients} secs={secs:.1} completed={completed} rate={:.0} cpu_s={cpu:.3} \
         cpu_us_per_client_s={:.2} rss_before_kib={rss_before} rss_after_kib={rss_after} \
         kib_per_client={:.2} ctxsw_per_msg={:.3}",
        completed as f64 / secs,
        cpu * 1e6 / (clients as f64 * secs),
        rss_after.saturating_sub(rss_before) as f64 / clients as f64,
        (after.ctxsw - before.ctxsw) as f64 / completed.max(1) as f64
    )
}
