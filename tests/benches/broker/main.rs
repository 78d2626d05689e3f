//! Broker benchmark: mqtt-tokio, mqtt-async-std, rumqttc and Eclipse Paho C
//! against mosquitto, in one run: over TCP and TLS to a tuned broker, and
//! over TCP to a second one in its stock configuration (Nagle on).
//!
//! ```sh
//! ./scripts/bench-report                                                     # the README tables and chart
//! cargo bench -p mqtt-integration-tests --bench broker                        # the table only
//! BENCH_MESSAGES=50000 cargo bench -p mqtt-integration-tests --bench broker   # quicker
//! ```
//!
//! The parent process (`parent.rs`) starts the brokers and re-executes this
//! binary once per library and phase (`BENCH_CHILD=phase:library[:qos]`), so
//! CPU time, context switches and peak RSS (`getrusage`) belong to that
//! library alone. Each child prints one `BENCH key=value ...` line; the
//! parent collects them, keeps them in `target/bench/broker.tsv` and prints
//! a markdown table (`table.rs`). Timings are reported, never asserted: only
//! correctness (QoS 1/2: every message received exactly once) fails a run.
//!
//! Settings, the same for every library where they exist: 64-byte payloads,
//! publisher inflight window 100 (rumqttc's default; ours is raised from 64),
//! rumqttc's request channel raised from 10 to 1,024 (our hand-over holds
//! as many commands as the session queue, 1,000), TCP_NODELAY on (ours
//! always; rumqttc's set; Paho C has no such option), keep-alive 60 s. Our
//! publisher calls `try_publish` in a loop and, when the session is backed
//! up, waits for room with `publish_pipelined`; our subscriber's
//! `subscription_capacity` is 10,000. rumqttc's publisher awaits
//! `AsyncClient::publish` (which waits for channel room only).
//!
//! Phases: `throughput` (per QoS), `tls-throughput` (QoS 0 and 1, half the
//! messages, every client on the same rustls configuration, see `tls.rs`),
//! `nagle` (QoS 1 throughput against the stock broker), `latency`
//! (sequential QoS 1 round trips), `idle` (memory per idle connection) and
//! `scale` (`BENCH_SCALE_CLIENTS` clients, 10,000 by default, each
//! publishing one QoS 1 message a second, default options).
//!
//! The `store` phase (`BENCH_CHILD=store:<library>:1:<sync|flush|off>`)
//! is the QoS 1 throughput phase again, same broker, settings and code,
//! with our publisher's session store on (`Options::store_dir`, with
//! `Durability::Sync` or `Durability::Flush`) or off, and rumqttc (which
//! has no store) beside it: what the store costs in messages per second
//! and in publisher CPU per message. Each store publisher gets a fresh
//! directory under `target/bench/store` (or `BENCH_STORE_DIR`), a client
//! id of its own, and removes the directory when done; the parent records
//! which file system that is (a sync's cost depends on it), and
//! `table.rs` prints the phase as a small table of its own after the main
//! one, with ratios store on ÷ store off and store on ÷ rumqttc.
//!
//! The `v5` phase (`BENCH_CHILD=v5:<library>:<qos>`) is the throughput
//! phase again, same broker, settings and code, with both clients at MQTT
//! 5.0: our mqtt-tokio with `Options::protocol(Protocol::V5)` and
//! rumqttc's `v5::AsyncClient` (`theirs_v5.rs`; its inflight window is
//! `set_outgoing_inflight_upper_limit`, as the broker's Receive Maximum of
//! 1,000 is above it). `table.rs` prints it as a table of its own, against
//! rumqttc at 5.0 and against the same library's 3.1.1 run.
//!
//! `BENCH_PHASES=store,latency` runs only the phases named (all by
//! default); the brokers start either way; `BENCH_PHASES=throughput,v5`
//! gives the 5.0 table with its 3.1.1 comparison.
//!
//! Modules: `parent` (brokers, children), `table` (results file and table),
//! `split` (a throughput phase's subscriber in a process of its own, so
//! each side's CPU is measured apart), `measure` (what a child counts and
//! prints), `ours` (our client on either
//! runtime), `theirs` (rumqttc), `theirs_v5` (rumqttc's 5.0 client),
//! `paho` (Paho C, a C program built at run
//! time), `tls` (the shared client configuration), `store` (the store
//! phase's directories and modes).

mod measure;
mod ours;
mod paho;
mod parent;
mod split;
mod store;
mod theirs;
mod theirs_v5;
mod tls;

use mqtt_async_std::AsyncStd;
use mqtt_client::mqtt_proto::packet::Protocol;
use mqtt_client::rustls::ClientConfig;
use mqtt_tokio::Tokio;
use std::sync::Arc;
use std::time::Duration;
use store::StoreMode;

const PAYLOAD: usize = 64;
const INFLIGHT: u16 = 100;
const CHANNEL: usize = 1024;
const SUB_CAPACITY: usize = 10_000;
const LATENCY_ROUNDS: usize = 5_000;
const LATENCY_WARMUP: usize = 200;
const IDLE_WARMUP: usize = 100;
const IDLE_CONNECTIONS: usize = 1_000;
/// QoS 0: the run ends this long after the last message arrived.
const QOS0_QUIET: Duration = Duration::from_secs(1);
/// QoS 1/2: no progress for this long fails the run.
const STALL: Duration = Duration::from_secs(30);
/// The many-clients phase: how long its measured window lasts, and how
/// many clients connect at a time before it.
const SCALE_WINDOW: Duration = Duration::from_secs(10);
const SCALE_BATCH: usize = 100;

const LIBS: [&str; 3] = ["mqtt-tokio", "mqtt-async-std", "rumqttc"];
/// The libraries of the 5.0 phase.
const V5_LIBS: [&str; 2] = ["mqtt-tokio", "rumqttc"];

fn main() {
    match std::env::var("BENCH_CHILD") {
        Ok(spec) => child(&spec),
        Err(_) => parent::run(),
    }
}

/// Messages per TCP throughput run.
fn messages() -> u64 {
    std::env::var("BENCH_MESSAGES")
        .ok()
        .map(|v| v.parse().expect("BENCH_MESSAGES must be a number"))
        .unwrap_or(200_000)
}

/// Messages per TLS throughput run: half as many, as TLS only adds rows
/// for QoS 0 and 1 and should not double the run time.
fn tls_messages() -> u64 {
    (messages() / 2).max(1)
}

// ---- the child: one library, one phase -------------------------------------

fn child(spec: &str) {
    let env = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let parts: Vec<&str> = spec.split(':').collect();
    // `sub-<spec>`: the subscribing side of a throughput phase (`split.rs`).
    let (subscribing, kind) = match parts[0].strip_prefix("sub-") {
        Some(kind) => (true, kind),
        None => (false, parts[0]),
    };
    let library = parts[1];
    let tls = kind.starts_with("tls-");
    let port_var = match kind {
        _ if tls => "BENCH_TLS_PORT",
        // QoS 1 throughput against the broker in its stock configuration
        // (Nagle's algorithm on): pipelining must not stall on delayed acks.
        "nagle" => "BENCH_STOCK_PORT",
        _ => "BENCH_PORT",
    };
    let phase = Phase {
        port: env(port_var).parse().expect("a port number"),
        n: if tls { tls_messages() } else { messages() },
        qos: parts.get(2).map_or(1, |q| q.parse().expect("qos")),
        // The subscribing child is given its publisher's topic.
        tag: std::env::var("BENCH_TAG")
            .unwrap_or_else(|_| format!("bench/{}/{}", std::process::id(), spec.replace(':', "/"))),
        tls: tls.then(|| tls::client_config(env("BENCH_CA").as_ref())),
        store: parts.get(3).map_or(StoreMode::Off, |m| StoreMode::parse(m)),
        protocol: if kind == "v5" {
            Protocol::V5
        } else {
            Protocol::V311
        },
    };
    let line = match (kind.trim_start_matches("tls-"), library) {
        ("v5", "rumqttc") if subscribing => tokio_rt().block_on(theirs_v5::subscriber(&phase)),
        ("v5", "rumqttc") => tokio_rt().block_on(theirs_v5::throughput(&phase)),
        (_, "mqtt-tokio") if subscribing => tokio_rt().block_on(ours::subscriber::<Tokio>(&phase)),
        (_, "mqtt-async-std") if subscribing => {
            async_std::task::block_on(ours::subscriber::<AsyncStd>(&phase))
        }
        (_, "rumqttc") if subscribing => tokio_rt().block_on(theirs::subscriber(&phase)),
        ("throughput" | "nagle" | "store" | "v5", "mqtt-tokio") => {
            tokio_rt().block_on(ours::throughput::<Tokio>(&phase))
        }
        ("throughput" | "nagle" | "store", "mqtt-async-std") => {
            async_std::task::block_on(ours::throughput::<AsyncStd>(&phase))
        }
        // rumqttc has no store: only its `off` row exists.
        ("throughput" | "nagle", "rumqttc") => tokio_rt().block_on(theirs::throughput(&phase)),
        ("store", "rumqttc") if phase.store == StoreMode::Off => {
            tokio_rt().block_on(theirs::throughput(&phase))
        }
        ("scale", "mqtt-tokio") => tokio_rt().block_on(ours::scale::<Tokio>(&phase)),
        ("scale", "mqtt-async-std") => async_std::task::block_on(ours::scale::<AsyncStd>(&phase)),
        ("scale", "rumqttc") => tokio_rt().block_on(theirs::scale(&phase)),
        ("latency", "mqtt-tokio") => tokio_rt().block_on(ours::latency::<Tokio>(&phase)),
        ("latency", "mqtt-async-std") => {
            async_std::task::block_on(ours::latency::<AsyncStd>(&phase))
        }
        ("latency", "rumqttc") => tokio_rt().block_on(theirs::latency(&phase)),
        ("idle", "mqtt-tokio") => tokio_rt().block_on(ours::idle::<Tokio>(&phase)),
        ("idle", "mqtt-async-std") => async_std::task::block_on(ours::idle::<AsyncStd>(&phase)),
        ("idle", "rumqttc") => tokio_rt().block_on(theirs::idle(&phase)),
        (kind @ ("throughput" | "latency" | "idle"), "paho-c") => paho::run(kind, &phase),
        _ => panic!("unknown BENCH_CHILD {spec}"),
    };
    println!("BENCH {line}");
}

/// What one child measures against.
struct Phase {
    port: u16,
    n: u64,
    qos: u8,
    /// A topic no other child uses.
    tag: String,
    /// TLS with this configuration, or plain TCP.
    tls: Option<Arc<ClientConfig>>,
    /// The publisher's session store (the store phase; off elsewhere).
    store: StoreMode,
    /// The protocol level: 5.0 in the v5 phase, 3.1.1 elsewhere (rumqttc's
    /// 5.0 client is a module of its own, `theirs_v5`).
    protocol: Protocol,
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}
