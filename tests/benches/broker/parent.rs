//! The parent process: raises the open-files limit, starts two mosquittos
//! (the tuned one with a plain and a TLS listener, certificates from a fresh
//! test PKI, and a stock one for the Nagle phase), runs each library and
//! phase in a child process of its own (only the phases `BENCH_PHASES`
//! names, when set), writes every child's results to
//! `target/bench/broker.tsv` and prints them as one markdown table with
//! ratios ours vs the best peer, the store phase's table and the 5.0
//! phase's table (`table.rs`).

#[path = "table.rs"]
mod table;

use crate::{
    messages, store, tls_messages, IDLE_CONNECTIONS, INFLIGHT, LATENCY_ROUNDS, LIBS, PAYLOAD,
    V5_LIBS,
};
use mqtt_integration_tests::broker::Mosquitto;
use mqtt_integration_tests::pki::Pki;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use table::{Results, LIBRARIES};

/// The tuned broker: no persistence, large inflight and queue limits,
/// TCP_NODELAY, so that the broker is not what limits the clients.
const TUNED: &[&str] = &[
    "persistence false",
    "max_inflight_messages 1000",
    "max_queued_messages 1000000",
    "set_tcp_nodelay true",
];

/// The stock broker of the Nagle phase: mosquitto's defaults (inflight 20,
/// TCP_NODELAY off), except the queue, which must hold a whole run's
/// backlog because the run checks that every QoS 1 message arrives (the
/// default of 1,000 drops the rest).
const STOCK: &[&str] = &[
    "persistence false",
    "max_inflight_messages 20",
    "max_queued_messages 1000000",
];

/// Errors and warnings only: a benchmark must not time the broker's log.
const QUIET: &str = "log_type none\nlog_type error\nlog_type warning\n";

/// A child that has not finished by then is killed and counts as failed.
const CHILD_TIMEOUT: Duration = Duration::from_secs(600);

/// Starts the brokers, runs every child, writes the results, prints the
/// table.
pub(crate) fn run() {
    let started = Instant::now();
    let n = messages();
    let tls_n = tls_messages();
    let files = raise_open_files_limit();
    let pki = Pki::generate();
    let broker = Mosquitto::start_tls(&pki, &config(TUNED));
    let stock = Mosquitto::start(&config(STOCK));
    let target = Target {
        port: broker.port(),
        tls_port: broker.tls_port(),
        stock_port: stock.port(),
        ca: pki.ca_cert(),
    };
    let mut results = Results::default();
    let mut machine = |k: &str, v: String| results.machine.push((k.into(), v));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    machine("cores", cores.to_string());
    machine("cpu", cpu_model());
    machine("date", today());
    machine("mosquitto", mosquitto_version());
    machine("broker", TUNED.join(", "));
    machine("stock_broker", STOCK.join(", "));
    machine("messages", n.to_string());
    machine("tls_messages", tls_n.to_string());
    machine("payload_bytes", PAYLOAD.to_string());
    machine("inflight", INFLIGHT.to_string());
    machine("latency_rounds", LATENCY_ROUNDS.to_string());
    machine("idle_connections", IDLE_CONNECTIONS.to_string());
    machine("open_files_limit", files.to_string());
    let store_dir = store::base_dir();
    machine("store_fs", store::filesystem(&store_dir));
    machine("store_dir", store_dir.display().to_string());
    let selected = selected_phases();
    if let Some(kinds) = &selected {
        machine("phases", kinds.join(","));
    }
    eprintln!(
        "brokers: tuned mosquitto pid {} on port {} (TLS {}), stock pid {} on port {}",
        broker.pid(),
        target.port,
        target.tls_port,
        stock.pid(),
        target.stock_port
    );
    eprintln!("machine: {}", describe(&results));

    let mut missing = Vec::new();
    let wanted = |spec: &String| {
        let kind = spec.split(':').next().unwrap_or_default();
        selected
            .as_ref()
            .is_none_or(|k| k.iter().any(|k| k == kind))
    };
    for spec in phases().into_iter().filter(wanted) {
        let child_started = Instant::now();
        match run_child(&spec, &target) {
            Ok(mut r) => {
                // What each child adds to the run's time (not tabled).
                let wall = child_started.elapsed().as_secs_f64();
                r.insert("wall_secs".into(), format!("{wall:.1}"));
                eprintln!("{spec}: {r:?}");
                results.specs.insert(spec, r);
            }
            Err(why) if tolerated(&spec) => {
                eprintln!("{spec}: missing ({why})");
                missing.push(spec.clone());
                let error = HashMap::from([("error".to_string(), why)]);
                results.specs.insert(spec, error);
            }
            Err(why) => panic!("benchmark {spec} failed: {why}"),
        }
    }
    let log = broker.log();
    let stock_log = stock.log();
    drop(broker);
    drop(stock);
    drop(pki);
    let secs = started.elapsed().as_secs_f64();
    results
        .machine
        .push(("run_secs".into(), format!("{secs:.0}")));

    let path = results_path(selected.as_deref());
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    std::fs::write(&path, results.to_tsv())
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));

    println!();
    print!("{}", table::markdown(&results));
    println!();
    if let Some(store_table) = table::store_markdown(&results) {
        let md = dir.join("store.md");
        std::fs::write(&md, &store_table)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", md.display()));
        eprintln!("store table also in {}", md.display());
    }
    println!(
        "Results in {}; broker logs {} and {} bytes (errors and warnings only).",
        path.display(),
        log.len(),
        stock_log.len()
    );
    if !missing.is_empty() {
        eprintln!("missing (their children failed): {}", missing.join(", "));
    }
    for (name, log) in [("tuned", log), ("stock", stock_log)] {
        if !log.trim().is_empty() {
            eprintln!("--- {name} broker log ---\n{log}");
        }
    }
}

/// Every child spec, in the order they run: the 5.0 throughput runs right
/// after the 3.1.1 ones they are compared with, the heavy many-clients
/// phase last, so that it cannot disturb the others.
fn phases() -> Vec<String> {
    let mut specs = Vec::new();
    for qos in 0..3 {
        for lib in LIBRARIES {
            specs.push(format!("throughput:{lib}:{qos}"));
        }
    }
    for qos in 0..3 {
        for lib in V5_LIBS {
            specs.push(format!("v5:{lib}:{qos}"));
        }
    }
    for lib in LIBS {
        specs.push(format!("nagle:{lib}:1"));
    }
    for qos in 0..2 {
        for lib in LIBS {
            specs.push(format!("tls-throughput:{lib}:{qos}"));
        }
    }
    for lib in LIBRARIES {
        specs.push(format!("latency:{lib}"));
    }
    for lib in LIBRARIES {
        specs.push(format!("idle:{lib}"));
    }
    for (lib, mode) in STORE_RUNS {
        specs.push(format!("store:{lib}:1:{mode}"));
    }
    for lib in ["mqtt-tokio", "rumqttc"] {
        specs.push(format!("scale:{lib}"));
    }
    specs
}

/// The store phase's children, in the order they run: each library's
/// store-off run first, so its on runs find the machine as warm.
const STORE_RUNS: [(&str, &str); 6] = [
    ("mqtt-tokio", "off"),
    ("mqtt-tokio", "sync"),
    ("mqtt-tokio", "flush"),
    ("mqtt-async-std", "off"),
    ("mqtt-async-std", "sync"),
    ("rumqttc", "off"),
];

/// The phases `BENCH_PHASES` names (`store,latency`), or None for all.
fn selected_phases() -> Option<Vec<String>> {
    let list = std::env::var("BENCH_PHASES").ok()?;
    let kinds: Vec<String> = list
        .split(',')
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    let known = phases();
    for kind in &kinds {
        let prefix = format!("{kind}:");
        assert!(
            known.iter().any(|s| s.starts_with(&prefix)),
            "BENCH_PHASES: no phase {kind}"
        );
    }
    (!kinds.is_empty()).then_some(kinds)
}

/// Whether a failing child is recorded as missing rather than failing the
/// run: the phases and the library added after the first three libraries'
/// throughput, TLS, latency and idle phases, whose failure stays fatal.
fn tolerated(spec: &str) -> bool {
    let mut parts = spec.split(':');
    let kind = parts.next().unwrap_or_default();
    let lib = parts.next().unwrap_or_default();
    lib == "paho-c" || matches!(kind, "nagle" | "scale" | "store" | "v5")
}

/// The broker config: `settings`, one a line, and a quiet log.
fn config(settings: &[&str]) -> String {
    format!("{}\n{QUIET}", settings.join("\n"))
}

/// One line for stderr, the same the table starts with.
fn describe(r: &Results) -> String {
    format!(
        "{} cores ({}), mosquitto {}, {} messages per throughput run ({} over TLS), {}",
        r.machine("cores"),
        r.machine("cpu"),
        r.machine("mosquitto"),
        r.machine("messages"),
        r.machine("tls_messages"),
        r.machine("date"),
    )
}

/// Where the children connect to.
struct Target {
    port: u16,
    tls_port: u16,
    /// The stock broker (the Nagle phase).
    stock_port: u16,
    /// The CA that signed the TLS listener's certificate.
    ca: PathBuf,
}

/// Runs one child and returns its `key=value` pairs, or why it failed.
/// `BENCH_MESSAGES` passes through the environment as it is.
fn run_child(spec: &str, target: &Target) -> Result<HashMap<String, String>, String> {
    let exe = std::env::current_exe().expect("the bench binary's path");
    let mut child = Command::new(exe)
        .env("BENCH_CHILD", spec)
        .env("BENCH_PORT", target.port.to_string())
        .env("BENCH_TLS_PORT", target.tls_port.to_string())
        .env("BENCH_STOCK_PORT", target.stock_port.to_string())
        .env("BENCH_CA", &target.ca)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot re-execute the bench binary");
    let drain = |mut from: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = from.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + CHILD_TIMEOUT;
    let status = loop {
        match child.try_wait().expect("the child's status") {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let why = match status {
        Some(status) if status.success() => None,
        Some(status) => Some(status.to_string()),
        None => Some(format!("killed after {CHILD_TIMEOUT:?}")),
    };
    if let Some(why) = why {
        let panic = stderr
            .lines()
            .skip_while(|l| !l.contains("panicked"))
            .nth(1)
            .unwrap_or(&why)
            .trim();
        // A phase with no child yet says only that; any other failure
        // shows all the child printed.
        if !panic.starts_with("unknown BENCH_CHILD") {
            eprintln!("{spec} failed ({why})\n{stdout}\n{stderr}");
        }
        return Err(panic.to_string());
    }
    Ok(stdout
        .lines()
        .filter_map(|l| l.strip_prefix("BENCH "))
        .flat_map(|l| l.split_whitespace())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// Raises this process's open-files limit (which the brokers and children
/// inherit) for the many-clients phase: to 65,536 or the hard limit if
/// higher, raising the hard limit too where allowed (as root), else to the
/// hard limit. Returns the limit in force.
fn raise_open_files_limit() -> u64 {
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        let wanted = limit.rlim_max.max(65_536);
        let raised = libc::rlimit {
            rlim_cur: wanted,
            rlim_max: wanted,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            return wanted as u64;
        }
        limit.rlim_cur = limit.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            eprintln!(
                "cannot raise the open-files limit: {}",
                std::io::Error::last_os_error()
            );
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        }
        limit.rlim_cur as u64
    }
}

/// `target/bench/broker.tsv` of the target directory the bench binary runs
/// from (`target/release/deps/broker-…`), or `BENCH_RESULTS`. A run of
/// some phases only (`selected`) goes to `broker-<phases>.tsv` instead,
/// so that it does not replace a whole run's results.
fn results_path(selected: Option<&[String]>) -> PathBuf {
    if let Some(path) = std::env::var_os("BENCH_RESULTS") {
        return path.into();
    }
    let name = match selected {
        Some(kinds) => format!("broker-{}.tsv", kinds.join("+")),
        None => "broker.tsv".into(),
    };
    let exe = std::env::current_exe().expect("the bench binary's path");
    let target = exe
        .ancestors()
        .find(|d| d.file_name().is_some_and(|n| n == "deps"))
        .and_then(|deps| deps.parent()?.parent())
        .map_or_else(|| Path::new("target").to_path_buf(), Path::to_path_buf);
    target.join("bench").join(name)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The version `mosquitto -h` prints on its first line.
fn mosquitto_version() -> String {
    [
        "mosquitto",
        "/usr/sbin/mosquitto",
        "/usr/local/sbin/mosquitto",
    ]
    .iter()
    .find_map(|bin| Command::new(bin).arg("-h").output().ok())
    .and_then(|out| {
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let first = text.lines().next()?.to_string();
        first.rsplit(' ').next().map(str::to_string)
    })
    .unwrap_or_else(|| "?".into())
}

/// Today's UTC date as YYYY-MM-DD (days to civil date, proleptic
/// Gregorian calendar).
fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
