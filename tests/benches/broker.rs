//! Broker benchmark: mqtt-tokio, mqtt-async-std and rumqttc against one
//! tuned mosquitto, in one run.
//!
//! ```sh
//! cargo bench -p mqtt-integration-tests --bench broker
//! BENCH_MESSAGES=50000 cargo bench -p mqtt-integration-tests --bench broker
//! ```
//!
//! The parent process starts the broker and re-executes this binary once
//! per library and phase (`BENCH_CHILD=phase:library[:qos]`), so CPU time
//! and peak RSS (`getrusage`) belong to that library alone. Each child prints
//! one `BENCH key=value ...` line; the parent collects them and prints a
//! markdown table. Timings are reported, never asserted: only correctness
//! (QoS 1/2: every message received exactly once) fails the run.
//!
//! Settings, the same for every library where they exist: 64-byte payloads,
//! publisher inflight window 100 (rumqttc's default; ours is raised from 64),
//! request/command channel 1,024 (our default; rumqttc's raised from 10),
//! TCP_NODELAY on (ours always; rumqttc's set), keep-alive 60 s. Our
//! publisher calls `try_publish` in a loop and falls back to
//! `publish().await` on `Backpressure`; our subscriber's
//! `subscription_capacity` is 10,000. rumqttc's publisher awaits
//! `AsyncClient::publish` (which waits for channel room only).

use mqtt_async_std::AsyncStd;
use mqtt_client::{Client, Error, Options, QoS, Runtime};
use mqtt_integration_tests::broker::Mosquitto;
use mqtt_tokio::Tokio;
use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

const LIBS: [&str; 3] = ["mqtt-tokio", "mqtt-async-std", "rumqttc"];

fn main() {
    match std::env::var("BENCH_CHILD") {
        Ok(spec) => child(&spec),
        Err(_) => parent(),
    }
}

// ---- the parent: broker, children, table ----------------------------------

fn parent() {
    let started = Instant::now();
    let n = messages();
    let broker = Mosquitto::start(
        "persistence false\n\
         max_inflight_messages 1000\n\
         max_queued_messages 1000000\n\
         set_tcp_nodelay true\n\
         log_type none\n\
         log_type error\n\
         log_type warning\n",
    );
    let port = broker.port();
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
    eprintln!("broker: mosquitto pid {} on port {port}", broker.pid());
    eprintln!("machine: {cores} cores, {cpu}; {n} messages per throughput run");

    let mut results: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut run = |spec: String| {
        let r = run_child(&spec, port, n);
        eprintln!("{spec}: {r:?}");
        results.insert(spec, r);
    };
    for qos in 0..3 {
        for lib in LIBS {
            run(format!("throughput:{lib}:{qos}"));
        }
    }
    for lib in LIBS {
        run(format!("latency:{lib}"));
    }
    for lib in LIBS {
        run(format!("idle:{lib}"));
    }
    let log = broker.log();
    drop(broker);

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

    println!();
    println!(
        "Machine: {cores} cores ({cpu}); mosquitto on the same machine; \
         {n} messages of {PAYLOAD} B per throughput run; \
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

fn messages() -> u64 {
    std::env::var("BENCH_MESSAGES")
        .ok()
        .map(|v| v.parse().expect("BENCH_MESSAGES must be a number"))
        .unwrap_or(200_000)
}

fn run_child(spec: &str, port: u16, n: u64) -> HashMap<String, String> {
    let exe = std::env::current_exe().expect("the bench binary's path");
    let out = Command::new(exe)
        .env("BENCH_CHILD", spec)
        .env("BENCH_PORT", port.to_string())
        .env("BENCH_MESSAGES", n.to_string())
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

// ---- the child: one library, one phase -------------------------------------

fn child(spec: &str) {
    let port: u16 = std::env::var("BENCH_PORT")
        .expect("BENCH_PORT")
        .parse()
        .expect("BENCH_PORT");
    let n = messages();
    let parts: Vec<&str> = spec.split(':').collect();
    let qos = parts.get(2).map_or(1, |q| q.parse().expect("qos"));
    let phase = Phase {
        port,
        n,
        qos,
        tag: format!("bench/{}/{}", std::process::id(), spec.replace(':', "/")),
    };
    let line = match (parts[0], parts[1]) {
        ("throughput", "mqtt-tokio") => tokio_rt().block_on(ours_throughput::<Tokio>(&phase)),
        ("throughput", "mqtt-async-std") => {
            async_std::task::block_on(ours_throughput::<AsyncStd>(&phase))
        }
        ("throughput", "rumqttc") => tokio_rt().block_on(rumqttc_throughput(&phase)),
        ("latency", "mqtt-tokio") => tokio_rt().block_on(ours_latency::<Tokio>(&phase)),
        ("latency", "mqtt-async-std") => {
            async_std::task::block_on(ours_latency::<AsyncStd>(&phase))
        }
        ("latency", "rumqttc") => tokio_rt().block_on(rumqttc_latency(&phase)),
        ("idle", "mqtt-tokio") => tokio_rt().block_on(ours_idle::<Tokio>(&phase)),
        ("idle", "mqtt-async-std") => async_std::task::block_on(ours_idle::<AsyncStd>(&phase)),
        ("idle", "rumqttc") => tokio_rt().block_on(rumqttc_idle(&phase)),
        _ => panic!("unknown BENCH_CHILD {spec}"),
    };
    println!("BENCH {line}");
}

struct Phase {
    port: u16,
    n: u64,
    qos: u8,
    tag: String,
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn ours_qos(q: u8) -> QoS {
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

fn rumqttc_qos(q: u8) -> rumqttc::QoS {
    match q {
        0 => rumqttc::QoS::AtMostOnce,
        1 => rumqttc::QoS::AtLeastOnce,
        _ => rumqttc::QoS::ExactlyOnce,
    }
}

/// A 64-byte payload carrying its sequence number.
fn payload(seq: u64) -> Vec<u8> {
    let mut p = vec![0u8; PAYLOAD];
    p[..8].copy_from_slice(&seq.to_le_bytes());
    p
}

/// What the subscriber saw, shared with the watching task.
struct Tally {
    t0: Instant,
    count: AtomicU64,
    last_ns: AtomicU64,
}

impl Tally {
    fn new() -> Arc<Tally> {
        Arc::new(Tally {
            t0: Instant::now(),
            count: AtomicU64::new(0),
            last_ns: AtomicU64::new(0),
        })
    }
}

/// Duplicates and out-of-range sequence numbers, counted by the subscriber.
struct Seen {
    bits: Vec<u64>,
    duplicates: u64,
    foreign: u64,
}

impl Seen {
    fn new(n: u64) -> Seen {
        Seen {
            bits: vec![0; n.div_ceil(64) as usize],
            duplicates: 0,
            foreign: 0,
        }
    }

    fn record(&mut self, tally: &Tally, payload: &[u8]) {
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
async fn watch<S, F>(tally: &Tally, phase: &Phase, sleep: S)
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

struct Usage {
    cpu: Duration,
    maxrss_kib: i64,
}

fn usage() -> Usage {
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
    }
}

/// The current resident set size in KiB.
fn rss_kib() -> u64 {
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

fn throughput_line(
    phase: &Phase,
    tally: &Tally,
    seen: &Seen,
    before: &Usage,
    started: Instant,
) -> String {
    let after = usage();
    let received = tally.count.load(Ordering::Relaxed);
    let unique = seen
        .bits
        .iter()
        .map(|w| u64::from(w.count_ones()))
        .sum::<u64>();
    if phase.qos > 0 && (received != phase.n || unique != phase.n || seen.foreign != 0) {
        panic!(
            "QoS {}: sent {}, received {received} ({unique} distinct, {} duplicates, {} foreign)",
            phase.qos, phase.n, seen.duplicates, seen.foreign
        );
    }
    let last = tally.t0 + Duration::from_nanos(tally.last_ns.load(Ordering::Relaxed));
    let secs = last.saturating_duration_since(started).as_secs_f64();
    let cpu = (after.cpu - before.cpu).as_secs_f64();
    format!(
        "sent={} received={received} duplicates={} lost={} secs={secs:.3} rate={:.0} \
         cpu_s={cpu:.3} cpu_us_per_msg={:.3} maxrss_kib={}",
        phase.n,
        seen.duplicates,
        phase.n.saturating_sub(unique),
        unique as f64 / secs,
        cpu * 1e6 / phase.n as f64,
        after.maxrss_kib
    )
}

fn percentiles(mut samples: Vec<Duration>) -> String {
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

// ---- our client, on either runtime -----------------------------------------

fn ours_options(phase: &Phase) -> Options {
    Options::new("127.0.0.1", phase.port)
        .max_inflight(INFLIGHT.into())
        .subscription_capacity(SUB_CAPACITY)
}

async fn ours_throughput<R: Runtime>(phase: &Phase) -> String {
    let qos = ours_qos(phase.qos);
    let subscriber = Client::<R>::connect(ours_options(phase))
        .await
        .expect("connect");
    let publisher = Client::<R>::connect(ours_options(phase))
        .await
        .expect("connect");
    let mut sub = subscriber
        .subscribe(&phase.tag, qos)
        .await
        .expect("subscribe");
    let tally = Tally::new();
    let (done_tx, done_rx) = async_channel::bounded(1);
    {
        let tally = tally.clone();
        let n = phase.n;
        R::spawn(Box::pin(async move {
            let mut seen = Seen::new(n);
            while let Some(message) = sub.next().await {
                seen.record(&tally, &message.payload);
            }
            let _ = done_tx.send(seen).await;
        }));
    }
    let before = usage();
    let started = Instant::now();
    let mut fallbacks = 0u64;
    for seq in 0..phase.n {
        match publisher.try_publish(&phase.tag, payload(seq), qos) {
            Ok(()) => {}
            Err(Error::Backpressure) => {
                fallbacks += 1;
                publisher
                    .publish(&phase.tag, payload(seq), qos)
                    .await
                    .expect("publish")
            }
            Err(e) => panic!("publish: {e}"),
        }
    }
    let published = started.elapsed();
    watch(&tally, phase, |d| R::sleep_until(Instant::now() + d)).await;
    // The CPU time counted ends here, once the subscriber has everything;
    // the disconnects are not counted.
    subscriber.disconnect().await.expect("disconnect");
    let seen = done_rx.recv().await.expect("subscriber result");
    let line = throughput_line(phase, &tally, &seen, &before, started);
    publisher.disconnect().await.expect("disconnect");
    format!(
        "{line} publish_loop_secs={:.3} backpressure_fallbacks={fallbacks}",
        published.as_secs_f64()
    )
}

async fn ours_latency<R: Runtime>(phase: &Phase) -> String {
    let subscriber = Client::<R>::connect(ours_options(phase))
        .await
        .expect("connect");
    let publisher = Client::<R>::connect(ours_options(phase))
        .await
        .expect("connect");
    let mut sub = subscriber
        .subscribe(&phase.tag, QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    let mut samples = Vec::with_capacity(LATENCY_ROUNDS);
    for round in 0..LATENCY_WARMUP + LATENCY_ROUNDS {
        let t = Instant::now();
        publisher
            .try_publish(&phase.tag, payload(round as u64), QoS::AtLeastOnce)
            .expect("try_publish");
        let message = sub.next().await.expect("a message");
        let rtt = t.elapsed();
        assert_eq!(message.payload[..8], (round as u64).to_le_bytes());
        if round >= LATENCY_WARMUP {
            samples.push(rtt);
        }
    }
    subscriber.disconnect().await.expect("disconnect");
    publisher.disconnect().await.expect("disconnect");
    percentiles(samples)
}

async fn ours_idle<R: Runtime>(phase: &Phase) -> String {
    let mut clients = Vec::with_capacity(IDLE_WARMUP + IDLE_CONNECTIONS);
    let connect = || Client::<R>::connect(Options::new("127.0.0.1", phase.port));
    for _ in 0..IDLE_WARMUP {
        clients.push(connect().await.expect("connect"));
    }
    R::sleep_until(Instant::now() + Duration::from_millis(500)).await;
    let before = rss_kib();
    for _ in 0..IDLE_CONNECTIONS {
        clients.push(connect().await.expect("connect"));
    }
    R::sleep_until(Instant::now() + Duration::from_secs(1)).await;
    let after = rss_kib();
    let line = idle_line(before, after);
    for client in &clients {
        let _ = client.disconnect().await;
    }
    line
}

fn idle_line(before: u64, after: u64) -> String {
    format!(
        "connections={IDLE_CONNECTIONS} rss_before_kib={before} rss_after_kib={after} \
         kib_per_conn={:.2}",
        after.saturating_sub(before) as f64 / IDLE_CONNECTIONS as f64
    )
}

// ---- rumqttc ---------------------------------------------------------------

fn rumqttc_client(phase: &Phase, id: &str) -> (rumqttc::AsyncClient, rumqttc::EventLoop) {
    let mut options = rumqttc::MqttOptions::new(
        format!("rumqttc-{}-{id}", std::process::id()),
        "127.0.0.1",
        phase.port,
    );
    options
        .set_keep_alive(Duration::from_secs(60))
        .set_inflight(INFLIGHT)
        .set_request_channel_capacity(CHANNEL);
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, CHANNEL);
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    (client, eventloop)
}

/// Polls until CONNACK (and SUBACK when `subscribed`), failing on errors.
async fn rumqttc_ready(eventloop: &mut rumqttc::EventLoop, subscribed: bool) {
    let mut connected = false;
    let mut acked = !subscribed;
    while !(connected && acked) {
        match eventloop.poll().await.expect("rumqttc poll") {
            rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_)) => connected = true,
            rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_)) => acked = true,
            _ => {}
        }
    }
}

/// Polls a publisher's event loop until it disconnects.
fn rumqttc_drive(mut eventloop: rumqttc::EventLoop) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
}

async fn rumqttc_throughput(phase: &Phase) -> String {
    let qos = rumqttc_qos(phase.qos);
    let (subscriber, mut sub_loop) = rumqttc_client(phase, "sub");
    let (publisher, mut pub_loop) = rumqttc_client(phase, "pub");
    subscriber
        .subscribe(phase.tag.clone(), qos)
        .await
        .expect("subscribe");
    rumqttc_ready(&mut sub_loop, true).await;
    rumqttc_ready(&mut pub_loop, false).await;
    let publishing_task = rumqttc_drive(pub_loop);
    let tally = Tally::new();
    let receiving = {
        let tally = tally.clone();
        let n = phase.n;
        tokio::spawn(async move {
            let mut seen = Seen::new(n);
            loop {
                match sub_loop.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                        seen.record(&tally, &p.payload)
                    }
                    Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            seen
        })
    };
    let before = usage();
    let started = Instant::now();
    for seq in 0..phase.n {
        publisher
            .publish(phase.tag.clone(), qos, false, payload(seq))
            .await
            .expect("publish");
    }
    let published = started.elapsed();
    watch(&tally, phase, tokio::time::sleep).await;
    subscriber.disconnect().await.expect("disconnect");
    let seen = receiving.await.expect("subscriber task");
    let line = throughput_line(phase, &tally, &seen, &before, started);
    publisher.disconnect().await.expect("disconnect");
    let _ = publishing_task.await;
    format!("{line} publish_loop_secs={:.3}", published.as_secs_f64())
}

async fn rumqttc_latency(phase: &Phase) -> String {
    let (subscriber, mut sub_loop) = rumqttc_client(phase, "sub");
    let (publisher, mut pub_loop) = rumqttc_client(phase, "pub");
    subscriber
        .subscribe(phase.tag.clone(), rumqttc::QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    rumqttc_ready(&mut sub_loop, true).await;
    rumqttc_ready(&mut pub_loop, false).await;
    let publishing_task = rumqttc_drive(pub_loop);
    // The subscriber's event loop hands messages over a channel, as our
    // client's driver does to a `Subscription`.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let receiving = tokio::spawn(async move {
        loop {
            match sub_loop.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                    let _ = tx.send(p.payload);
                }
                Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    });
    let mut samples = Vec::with_capacity(LATENCY_ROUNDS);
    for round in 0..LATENCY_WARMUP + LATENCY_ROUNDS {
        let t = Instant::now();
        publisher
            .publish(
                phase.tag.clone(),
                rumqttc::QoS::AtLeastOnce,
                false,
                payload(round as u64),
            )
            .await
            .expect("publish");
        let message = rx.recv().await.expect("a message");
        let rtt = t.elapsed();
        assert_eq!(message[..8], (round as u64).to_le_bytes());
        if round >= LATENCY_WARMUP {
            samples.push(rtt);
        }
    }
    subscriber.disconnect().await.expect("disconnect");
    publisher.disconnect().await.expect("disconnect");
    let _ = receiving.await;
    let _ = publishing_task.await;
    percentiles(samples)
}

async fn rumqttc_idle(phase: &Phase) -> String {
    let mut clients = Vec::with_capacity(IDLE_WARMUP + IDLE_CONNECTIONS);
    let connect = |i: usize| async move {
        let (client, mut eventloop) = rumqttc_client(phase, &format!("idle-{i}"));
        rumqttc_ready(&mut eventloop, false).await;
        (client, rumqttc_drive(eventloop))
    };
    for i in 0..IDLE_WARMUP {
        clients.push(connect(i).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib();
    for i in IDLE_WARMUP..IDLE_WARMUP + IDLE_CONNECTIONS {
        clients.push(connect(i).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib();
    let line = idle_line(before, after);
    for (client, task) in clients {
        let _ = client.disconnect().await;
        let _ = task.await;
    }
    line
}
