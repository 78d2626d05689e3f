//! The parent process: starts one mosquitto (a plain and a TLS listener,
//! certificates from a fresh test PKI), runs each library and phase in a
//! child process of its own, and prints the results as one markdown table
//! with ratios ours vs rumqttc.

use crate::{messages, tls_messages, IDLE_CONNECTIONS, LATENCY_ROUNDS, LIBS, PAYLOAD};
use mqtt_integration_tests::broker::Mosquitto;
use mqtt_integration_tests::pki::Pki;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// Starts the broker, runs every child, prints the table.
pub(crate) fn run() {
    let started = Instant::now();
    let n = messages();
    let pki = Pki::generate();
    let broker = Mosquitto::start_tls(
        &pki,
        "persistence false\n\
         max_inflight_messages 1000\n\
         max_queued_messages 1000000\n\
         set_tcp_nodelay true\n\
         log_type none\n\
         log_type error\n\
         log_type warning\n",
    );
    let target = Target {
        port: broker.port(),
        tls_port: broker.tls_port(),
        ca: pki.ca_cert(),
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let tls_n = tls_messages();
    eprintln!(
        "broker: mosquitto pid {} on port {} (TLS {})",
        broker.pid(),
        target.port,
        target.tls_port
    );
    eprintln!("machine: {cores} cores, {cpu}; {n} messages per throughput run, {tls_n} over TLS");

    let mut results: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut run_one = |spec: String| {
        let r = run_child(&spec, &target);
        eprintln!("{spec}: {r:?}");
        results.insert(spec, r);
    };
    for qos in 0..3 {
        for lib in LIBS {
            run_one(format!("throughput:{lib}:{qos}"));
        }
    }
    for qos in 0..2 {
        for lib in LIBS {
            run_one(format!("tls-throughput:{lib}:{qos}"));
        }
    }
    for lib in LIBS {
        run_one(format!("latency:{lib}"));
    }
    for lib in LIBS {
        run_one(format!("idle:{lib}"));
    }
    let log = broker.log();
    drop(broker);
    drop(pki);

    let get = |spec: &str, key: &str| -> f64 {
        results
            .get(spec)
            .and_then(|r| r.get(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    // (label, value per lib, higher is better, decimals)
    let mut rows: Vec<(String, [f64; 3], Option<bool>, usize)> = Vec::new();
    let per_lib = |f: &dyn Fn(&str) -> f64| -> [f64; 3] { LIBS.map(f) };
    for qos in 0..3 {
        rows.push((
            format!("QoS {qos} throughput (msg/s)"),
            per_lib(&|lib| get(&format!("throughput:{lib}:{qos}"), "rate")),
            Some(true),
            0,
        ));
    }
    rows.push((
        "QoS 0 loss (messages not received)".into(),
        per_lib(&|lib| get(&format!("throughput:{lib}:0"), "lost")),
        None,
        0,
    ));
    rows.push((
        "QoS 1 round trip p50 (µs)".into(),
        per_lib(&|lib| get(&format!("latency:{lib}"), "p50_us")),
        Some(false),
        0,
    ));
    rows.push((
        "QoS 1 round trip p99 (µs)".into(),
        per_lib(&|lib| get(&format!("latency:{lib}"), "p99_us")),
        Some(false),
        0,
    ));
    for qos in 0..3 {
        rows.push((
            format!("QoS {qos} client CPU per message (µs)"),
            per_lib(&|lib| get(&format!("throughput:{lib}:{qos}"), "cpu_us_per_msg")),
            Some(false),
            2,
        ));
    }
    for qos in 0..3 {
        rows.push((
            format!("QoS {qos} peak RSS of the process (MiB)"),
            per_lib(&|lib| get(&format!("throughput:{lib}:{qos}"), "maxrss_kib") / 1024.0),
            Some(false),
            1,
        ));
    }
    rows.push((
        "memory per idle connection (KiB)".into(),
        per_lib(&|lib| get(&format!("idle:{lib}"), "kib_per_conn")),
        Some(false),
        1,
    ));
    // TLS last, so that the TCP rows keep their place in the table.
    for qos in 0..2 {
        rows.push((
            format!("TLS QoS {qos} throughput (msg/s)"),
            per_lib(&|lib| get(&format!("tls-throughput:{lib}:{qos}"), "rate")),
            Some(true),
            0,
        ));
    }
    rows.push((
        "TLS QoS 0 loss (messages not received)".into(),
        per_lib(&|lib| get(&format!("tls-throughput:{lib}:0"), "lost")),
        None,
        0,
    ));
    for qos in 0..2 {
        rows.push((
            format!("TLS QoS {qos} client CPU per message (µs)"),
            per_lib(&|lib| get(&format!("tls-throughput:{lib}:{qos}"), "cpu_us_per_msg")),
            Some(false),
            2,
        ));
    }

    println!();
    println!(
        "Machine: {cores} cores ({cpu}); mosquitto on the same machine; \
         {n} messages of {PAYLOAD} B per throughput run ({tls_n} over TLS); \
         {LATENCY_ROUNDS} sequential QoS 1 round trips; {IDLE_CONNECTIONS} idle connections."
    );
    println!(
        "Ratios are ours vs rumqttc, oriented so that > 1 means ours is better: \
         ours ÷ rumqttc for throughput, rumqttc ÷ ours for latency, CPU and memory."
    );
    println!();
    println!("| | mqtt-tokio | mqtt-async-std | rumqttc | mqtt-tokio vs rumqttc | mqtt-async-std vs rumqttc |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (label, v, higher_better, decimals) in rows {
        let ratio = |ours: f64| match higher_better {
            Some(true) => format!("{:.2}", ours / v[2]),
            Some(false) => format!("{:.2}", v[2] / ours),
            None => "".into(),
        };
        println!(
            "| {label} | {:.d$} | {:.d$} | {:.d$} | {} | {} |",
            v[0],
            v[1],
            v[2],
            ratio(v[0]),
            ratio(v[1]),
            d = decimals
        );
    }
    println!();
    println!(
        "Total run time {:.1} s; broker log {} bytes (errors and warnings only).",
        started.elapsed().as_secs_f64(),
        log.len()
    );
    if !log.trim().is_empty() {
        eprintln!("--- broker log ---\n{log}");
    }
}

/// Where the children connect to.
struct Target {
    port: u16,
    tls_port: u16,
    /// The CA that signed the TLS listener's certificate.
    ca: PathBuf,
}

/// Runs one child and returns its `key=value` pairs; panics when it fails.
/// `BENCH_MESSAGES` passes through the environment as it is.
fn run_child(spec: &str, target: &Target) -> HashMap<String, String> {
    let exe = std::env::current_exe().expect("the bench binary's path");
    let out = Command::new(exe)
        .env("BENCH_CHILD", spec)
        .env("BENCH_PORT", target.port.to_string())
        .env("BENCH_TLS_PORT", target.tls_port.to_string())
        .env("BENCH_CA", &target.ca)
        .output()
        .expect("cannot re-execute the bench binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        eprintln!(
            "{spec} failed ({})\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        panic!("benchmark {spec} failed: see above");
    }
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("BENCH "))
        .flat_map(|l| l.split_whitespace())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
