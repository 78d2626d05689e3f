//! Throughput with the publisher and the subscriber in processes of their
//! own, so that each side's CPU time, context switches and memory are its
//! own. The publishing child starts the subscribing one (the same binary,
//! `BENCH_CHILD=sub-<spec>`, the topic in `BENCH_TAG`), waits for its
//! `READY` line, publishes, writes `DONE` to its stdin, then waits for its
//! `BENCH` line and puts both sides into one.
//!
//! The subscriber counts what arrives until it has every message (QoS 1/2)
//! or has been quiet for a while after `DONE` (QoS 0), and reports its
//! tally, its usage since `READY`, and when the last message arrived (Unix
//! time, the same clock the publisher started from).

use crate::measure::{usage, Seen, Tally, Usage};
use crate::Phase;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The subscribing child, seen from the publishing one.
pub(crate) struct SubProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl SubProcess {
    /// Starts the subscriber for `phase` and waits until it subscribed.
    pub(crate) fn start(phase: &Phase) -> SubProcess {
        let spec = std::env::var("BENCH_CHILD").expect("BENCH_CHILD is set");
        let exe = std::env::current_exe().expect("the bench binary's path");
        let mut child = Command::new(exe)
            .env("BENCH_CHILD", format!("sub-{spec}"))
            .env("BENCH_TAG", &phase.tag)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("cannot start the subscribing child");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        while line.trim() != "READY" {
            line.clear();
            if stdout
                .read_line(&mut line)
                .expect("the subscriber's output")
                == 0
            {
                panic!("the subscribing child ended before it was ready");
            }
        }
        SubProcess {
            child,
            stdin,
            stdout,
        }
    }

    /// Tells the subscriber every message was handed to the publisher.
    pub(crate) fn published(&mut self) {
        writeln!(self.stdin, "DONE").expect("the subscriber's stdin");
        self.stdin.flush().expect("the subscriber's stdin");
    }

    /// Waits for the subscriber's result (it blocks the calling thread).
    pub(crate) fn finish(mut self) -> HashMap<String, String> {
        let mut result = HashMap::new();
        let mut line = String::new();
        while self
            .stdout
            .read_line(&mut line)
            .expect("the subscriber's output")
            > 0
        {
            if let Some(kvs) = line.trim().strip_prefix("BENCH ") {
                for (k, v) in kvs.split_whitespace().filter_map(|kv| kv.split_once('=')) {
                    result.insert(k.to_string(), v.to_string());
                }
            }
            line.clear();
        }
        let status = self.child.wait().expect("the subscriber's status");
        assert!(status.success(), "the subscribing child failed: {status}");
        result
    }
}

/// Now, as the two processes share it.
pub(crate) fn unix_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// In the subscribing child: says it is ready, and returns a receiver
/// that yields once the publisher wrote `DONE`.
pub(crate) fn ready() -> async_channel::Receiver<()> {
    println!("READY");
    std::io::stdout().flush().expect("stdout");
    let (tx, rx) = async_channel::bounded(1);
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        let _ = tx.send_blocking(());
    });
    rx
}

/// The subscribing child's line: its tally and its usage since `before`.
pub(crate) fn sub_line(tally: &Tally, seen: &Seen, before: &Usage) -> String {
    let after = usage();
    let (received, last) = tally.count_and_last();
    let last_unix_ns = unix_ns() - last.elapsed().as_nanos();
    format!(
        "received={received} unique={} duplicates={} foreign={} last_unix_ns={last_unix_ns} \
         sub_cpu_s={:.6} sub_ctxsw={} sub_maxrss_kib={}",
        seen.unique(),
        seen.duplicates(),
        seen.foreign(),
        after.cpu_since(before).as_secs_f64(),
        after.ctxsw_since(before),
        after.maxrss_kib(),
    )
}

/// The publishing child's line, with the subscriber's `sub` result: the
/// same keys as a one-process run, plus each side's share. Panics when a
/// QoS 1/2 message is missing or came twice.
pub(crate) fn combined_line(
    phase: &Phase,
    sub: &HashMap<String, String>,
    before: &Usage,
    started_unix_ns: u128,
) -> String {
    let after = usage();
    let get = |k: &str| -> f64 {
        sub.get(k)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("the subscriber did not report {k}"))
    };
    let (received, unique) = (get("received") as u64, get("unique") as u64);
    let (duplicates, foreign) = (get("duplicates") as u64, get("foreign") as u64);
    if phase.qos > 0 && (received != phase.n || unique != phase.n || foreign != 0) {
        panic!(
            "QoS {}: sent {}, received {received} ({unique} distinct, {duplicates} duplicates, \
             {foreign} foreign)",
            phase.qos, phase.n
        );
    }
    let last = sub
        .get("last_unix_ns")
        .and_then(|v| v.parse::<u128>().ok())
        .unwrap_or(0);
    let secs = Duration::from_nanos(last.saturating_sub(started_unix_ns) as u64).as_secs_f64();
    let n = phase.n as f64;
    let pub_cpu = after.cpu_since(before).as_secs_f64();
    let sub_cpu = get("sub_cpu_s");
    let ctxsw = after.ctxsw_since(before) as f64 + get("sub_ctxsw");
    format!(
        "sent={} received={received} duplicates={duplicates} lost={} secs={secs:.3} rate={:.0} \
         cpu_s={:.3} cpu_us_per_msg={:.3} pub_cpu_us_per_msg={:.3} sub_cpu_us_per_msg={:.3} \
         maxrss_kib={} ctxsw_per_msg={:.3}",
        phase.n,
        phase.n.saturating_sub(unique),
        unique as f64 / secs,
        pub_cpu + sub_cpu,
        (pub_cpu + sub_cpu) * 1e6 / n,
        pub_cpu * 1e6 / n,
        sub_cpu * 1e6 / n,
        after.maxrss_kib() + get("sub_maxrss_kib") as i64,
        ctxsw / n,
    )
}
