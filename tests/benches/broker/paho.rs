//! Eclipse Paho C 1.3 (`MQTTAsync`, Debian's `libpaho-mqtt-dev`, installed
//! by `./scripts/ensure-paho`): the same phases over TCP, in a small C
//! program, `paho/paho_bench.c`, so that its CPU time and memory are Paho's
//! and C's alone, with no Rust runtime beside them.
//!
//! The program is compiled here, with `cc`, the first time a `paho-c` child
//! runs (and again whenever the source is newer than the binary), into
//! `<target>/bench/paho_bench`; the normal test build neither compiles nor
//! links it, so it needs no Paho. This child runs it with the phase's
//! figures and the benchmark's constants as `key=value` arguments and
//! returns the one line it prints, whose keys are measure.rs's.
//!
//! Paho has no TCP_NODELAY option and leaves Nagle's algorithm on; the line
//! says so (`tcp_nodelay=0`). `BENCH_PAHO_NODELAY=1` in the environment makes
//! the program set it on Paho's sockets itself, for comparison.

use crate::{
    Phase, CHANNEL, IDLE_CONNECTIONS, IDLE_WARMUP, INFLIGHT, LATENCY_ROUNDS, LATENCY_WARMUP,
    PAYLOAD, QOS0_QUIET, STALL,
};
use std::path::{Path, PathBuf};
use std::process::Command;

const SOURCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/benches/broker/paho/paho_bench.c"
);

/// Runs `kind` (`throughput`, `latency` or `idle`) with Paho; panics when
/// the program fails (a client error, or a QoS 1/2 loss or stall).
pub(crate) fn run(kind: &str, phase: &Phase) -> String {
    assert!(
        phase.tls.is_none(),
        "paho-c runs over TCP only: it has no TLS phase"
    );
    let program = build();
    let output = Command::new(&program)
        .arg(kind)
        .args([
            format!("port={}", phase.port),
            format!("n={}", phase.n),
            format!("qos={}", phase.qos),
            format!("tag={}", phase.tag),
            format!("payload={PAYLOAD}"),
            format!("inflight={INFLIGHT}"),
            format!("channel={CHANNEL}"),
            format!("rounds={LATENCY_ROUNDS}"),
            format!("warmup={LATENCY_WARMUP}"),
            format!("idle_warmup={IDLE_WARMUP}"),
            format!("idle_connections={IDLE_CONNECTIONS}"),
            format!("quiet_ms={}", QOS0_QUIET.as_millis()),
            format!("stall_ms={}", STALL.as_millis()),
        ])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "paho_bench {kind} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        stdout
    );
    stdout.trim().to_string()
}

/// The compiled program, built first when missing or older than its source.
fn build() -> PathBuf {
    let program = target_dir().join("bench").join("paho_bench");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let source_time = modified(SOURCE.as_ref()).expect("paho_bench.c is readable");
    if modified(&program).is_some_and(|t| t >= source_time) {
        return program;
    }
    let dir = program.parent().expect("a directory");
    std::fs::create_dir_all(dir).expect("create the bench directory");
    // Built under a name of its own and renamed, so that no child ever runs
    // a half-written binary.
    let partial = dir.join(format!("paho_bench.{}.partial", std::process::id()));
    let output = Command::new("cc")
        .args(["-O2", "-Wall", "-Wextra", "-o"])
        .arg(&partial)
        .arg(SOURCE)
        .args(["-lpaho-mqtt3a", "-lpthread"])
        .output()
        .expect("cc (gcc) runs");
    assert!(
        output.status.success(),
        "compiling {SOURCE} failed: {}\nthe paho-c rows need Paho C's MQTTAsync; \
         run ./scripts/ensure-paho",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::rename(&partial, &program).expect("rename the compiled paho_bench");
    eprintln!("paho-c: compiled {}", program.display());
    program
}

/// Cargo's target directory: this binary is `<target>/<profile>/deps/broker-*`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the benchmark's own path");
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir)
}
