//! The results of one benchmark run and the markdown tables made from them
//! (the main one, and the 5.0 and store phases' own).
//!
//! The parent writes every child's `key=value` pairs to a tab-separated
//! file (`spec<TAB>key<TAB>value`, plus `machine<TAB>key<TAB>value` lines
//! describing the machine, the brokers and the run's sizes; a child that
//! may fail, as its phase is newer, leaves an `error` line when it does)
//! and prints the table; `examples/bench_report.rs` reads the same file
//! back to print the table again and draw the chart. This file depends on nothing else in the
//! bench, so that the example can include it with `#[path]`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

/// The libraries, in the table's column order: ours first, then the peers.
pub(crate) const LIBRARIES: [&str; 4] = ["mqtt-tokio", "mqtt-async-std", "rumqttc", "paho-c"];
/// The columns compared with the best peer.
pub(crate) const OURS: [&str; 2] = ["mqtt-tokio", "mqtt-async-std"];
/// The peers; the ratio columns take the better of them in each row.
pub(crate) const PEERS: [&str; 2] = ["rumqttc", "paho-c"];

/// Everything one run recorded.
#[derive(Debug, Default)]
pub(crate) struct Results {
    /// `machine` lines, in the order they were written.
    pub(crate) machine: Vec<(String, String)>,
    /// Per child spec (`throughput:rumqttc:1`), its keys and values.
    pub(crate) specs: HashMap<String, HashMap<String, String>>,
}

impl Results {
    /// The value of a `machine` line, or "?".
    pub(crate) fn machine(&self, key: &str) -> &str {
        self.machine
            .iter()
            .find(|(k, _)| k == key)
            .map_or("?", |(_, v)| v.as_str())
    }

    /// A child's numeric value; NaN when the child or the key is missing.
    pub(crate) fn get(&self, spec: &str, key: &str) -> f64 {
        self.specs
            .get(spec)
            .and_then(|r| r.get(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    }

    /// The file's text: machine lines first, then the specs in name order.
    #[allow(dead_code)] // the parent's; the report example only reads
    pub(crate) fn to_tsv(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.machine {
            let _ = writeln!(out, "machine\t{k}\t{}", clean(v));
        }
        let mut specs: Vec<_> = self.specs.iter().collect();
        specs.sort_by(|a, b| a.0.cmp(b.0));
        for (spec, values) in specs {
            let mut keys: Vec<_> = values.iter().collect();
            keys.sort();
            for (k, v) in keys {
                let _ = writeln!(out, "{spec}\t{k}\t{}", clean(v));
            }
        }
        out
    }

    /// Reads back what [`to_tsv`](Self::to_tsv) wrote.
    #[allow(dead_code)] // the report example's; the parent only writes
    pub(crate) fn read(path: &Path) -> Result<Results, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut results = Results::default();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
            let mut fields = line.splitn(3, '\t');
            let (Some(spec), Some(key), Some(value)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(format!(
                    "{}:{}: not spec<TAB>key<TAB>value",
                    path.display(),
                    i + 1
                ));
            };
            if spec == "machine" {
                results.machine.push((key.into(), value.into()));
            } else {
                results
                    .specs
                    .entry(spec.into())
                    .or_default()
                    .insert(key.into(), value.into());
            }
        }
        Ok(results)
    }
}

/// One line per value: no tabs or line breaks inside.
fn clean(v: &str) -> String {
    v.replace(['\t', '\n', '\r'], " ")
}

/// Which way a row is better.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Better {
    Higher,
    Lower,
    /// No ratio (a count such as QoS 0 loss).
    Neither,
}

/// One table row: a value per library in [`LIBRARIES`] order.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) label: String,
    pub(crate) values: [f64; 4],
    pub(crate) better: Better,
    pub(crate) decimals: usize,
}

/// The table's rows, in reading order: throughput over TCP by QoS, the
/// stock (Nagle) broker, latency, CPU per message, context switches, peak
/// RSS, idle memory, the many-clients phase, then TLS.
pub(crate) fn rows(r: &Results) -> Vec<Row> {
    let mut rows = Vec::new();
    let row = |label: String, spec: &dyn Fn(&str) -> String, key: &str, better, decimals| Row {
        label,
        values: LIBRARIES.map(|lib| r.get(&spec(lib), key)),
        better,
        decimals,
    };
    use Better::{Higher, Lower, Neither};
    for q in 0..3 {
        let spec = move |lib: &str| format!("throughput:{lib}:{q}");
        rows.push(row(
            format!("QoS {q} throughput (msg/s)"),
            &spec,
            "rate",
            Higher,
            0,
        ));
    }
    let spec = |lib: &str| format!("throughput:{lib}:0");
    rows.push(row(
        "QoS 0 loss (messages not received)".into(),
        &spec,
        "lost",
        Neither,
        0,
    ));
    let spec = |lib: &str| format!("nagle:{lib}:1");
    let label = "QoS 1 throughput, stock broker with Nagle (msg/s)";
    rows.push(row(label.into(), &spec, "rate", Higher, 0));
    let spec = |lib: &str| format!("latency:{lib}");
    rows.push(row(
        "QoS 1 round trip p50 (µs)".into(),
        &spec,
        "p50_us",
        Lower,
        0,
    ));
    rows.push(row(
        "QoS 1 round trip p99 (µs)".into(),
        &spec,
        "p99_us",
        Lower,
        0,
    ));
    for q in 0..3 {
        let spec = move |lib: &str| format!("throughput:{lib}:{q}");
        let label = format!("QoS {q} client CPU per message (µs)");
        rows.push(row(label, &spec, "cpu_us_per_msg", Lower, 2));
    }
    // Each side in a process of its own (paho-c runs both in one: —).
    for (side, key) in [
        ("publisher", "pub_cpu_us_per_msg"),
        ("subscriber", "sub_cpu_us_per_msg"),
    ] {
        for q in 0..3 {
            let spec = move |lib: &str| format!("throughput:{lib}:{q}");
            let label = format!("QoS {q} {side} CPU per message (µs)");
            rows.push(row(label, &spec, key, Lower, 2));
        }
    }
    for q in 0..3 {
        let spec = move |lib: &str| format!("throughput:{lib}:{q}");
        let label = format!("QoS {q} context switches per message");
        rows.push(row(label, &spec, "ctxsw_per_msg", Lower, 2));
    }
    for q in 0..3 {
        let spec = move |lib: &str| format!("throughput:{lib}:{q}");
        let label = format!("QoS {q} peak RSS, publisher + subscriber (MiB)");
        let mut mib = row(label, &spec, "maxrss_kib", Lower, 1);
        mib.values = mib.values.map(|kib| kib / 1024.0);
        rows.push(mib);
    }
    let spec = |lib: &str| format!("idle:{lib}");
    let label = "memory per idle connection (KiB)";
    rows.push(row(label.into(), &spec, "kib_per_conn", Lower, 1));
    let clients = LIBRARIES
        .iter()
        .map(|lib| r.get(&format!("scale:{lib}"), "clients"))
        .find(|c| c.is_finite())
        .map_or_else(|| "many".to_string(), |c| count(&c.to_string()));
    let spec = |lib: &str| format!("scale:{lib}");
    let label = format!("{clients} clients × 1 msg/s: CPU per client-second (µs)");
    rows.push(row(label, &spec, "cpu_us_per_client_s", Lower, 1));
    let label = format!("{clients} clients × 1 msg/s: memory per client (KiB)");
    rows.push(row(label, &spec, "kib_per_client", Lower, 1));
    let label = format!("{clients} clients × 1 msg/s: messages delivered (msg/s)");
    rows.push(row(label, &spec, "rate", Higher, 0));
    for q in 0..2 {
        let spec = move |lib: &str| format!("tls-throughput:{lib}:{q}");
        rows.push(row(
            format!("TLS QoS {q} throughput (msg/s)"),
            &spec,
            "rate",
            Higher,
            0,
        ));
    }
    let spec = |lib: &str| format!("tls-throughput:{lib}:0");
    let label = "TLS QoS 0 loss (messages not received)";
    rows.push(row(label.into(), &spec, "lost", Neither, 0));
    for q in 0..2 {
        let spec = move |lib: &str| format!("tls-throughput:{lib}:{q}");
        let label = format!("TLS QoS {q} client CPU per message (µs)");
        rows.push(row(label, &spec, "cpu_us_per_msg", Lower, 2));
    }
    rows
}

/// `ours` against the better peer of the row, oriented so that above 1
/// means ours is better, with that peer's name; None without a value.
pub(crate) fn ratio(row: &Row, ours: usize) -> Option<(f64, &'static str)> {
    let mine = row.values[ours];
    let peers = PEERS.iter().map(|p| {
        let i = LIBRARIES
            .iter()
            .position(|l| l == p)
            .expect("a peer column");
        (row.values[i], *p)
    });
    let best = peers
        .filter(|(v, _)| v.is_finite() && *v > 0.0)
        .reduce(|a, b| match (row.better, b.0 > a.0) {
            (Better::Higher, true) | (Better::Lower, false) => b,
            _ => a,
        })?;
    if !mine.is_finite() || mine <= 0.0 {
        return None;
    }
    match row.better {
        Better::Higher => Some((mine / best.0, best.1)),
        Better::Lower => Some((best.0 / mine, best.1)),
        Better::Neither => None,
    }
}

/// The machine and settings line, the ratio note and the table, then the
/// 5.0 phase's table and the store phase's table (when the run has them),
/// as the README shows them. A run of only the store or 5.0 phase has only
/// their tables.
pub(crate) fn markdown(r: &Results) -> String {
    let mut out = String::new();
    if r.specs
        .keys()
        .any(|s| !s.starts_with("store:") && !s.starts_with("v5:"))
    {
        out.push_str(&main_markdown(r));
    }
    for table in [v5_markdown(r), store_markdown(r)].into_iter().flatten() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&table);
    }
    out
}

/// The main table, with its machine line and ratio note.
fn main_markdown(r: &Results) -> String {
    let m = |k| r.machine(k);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Run of {date}: {cores} cores ({cpu}), mosquitto {version} on the same machine. \
         Tuned broker: {broker}. Stock broker (the Nagle row): {stock}. \
         {n} messages of {payload} B per throughput run ({tls_n} over TLS); \
         {rounds} sequential QoS 1 round trips; {idle} idle connections; {secs} s in all.",
        date = m("date"),
        cores = m("cores"),
        cpu = m("cpu"),
        version = m("mosquitto"),
        broker = settings(m("broker")),
        stock = settings(m("stock_broker")),
        n = count(m("messages")),
        payload = m("payload_bytes"),
        tls_n = count(m("tls_messages")),
        rounds = count(m("latency_rounds")),
        idle = count(m("idle_connections")),
        secs = m("run_secs"),
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Ratios compare ours with the better of rumqttc and paho-c in that row \
         (named in the cell), oriented so that above 1 means ours is better: \
         ours ÷ peer for throughput, peer ÷ ours for latency, CPU and memory. \
         — marks a figure this run did not produce."
    );
    let _ = writeln!(out);
    let mut header = String::from("|");
    for lib in LIBRARIES {
        let _ = write!(header, " | {lib}");
    }
    for lib in OURS {
        let _ = write!(header, " | {lib} vs best peer");
    }
    let _ = writeln!(out, "{header} |");
    let _ = writeln!(out, "|---|{}", "---:|".repeat(LIBRARIES.len() + OURS.len()));
    for row in rows(r) {
        let mut line = format!("| {}", row.label);
        for v in row.values {
            let _ = write!(line, " | {}", number(v, row.decimals));
        }
        for ours in 0..OURS.len() {
            let cell = match (row.better, ratio(&row, ours)) {
                (Better::Neither, _) => String::new(),
                (_, None) => "—".into(),
                (_, Some((x, peer))) => format!("{x:.2} ({peer})"),
            };
            let _ = write!(line, " | {cell}");
        }
        let _ = writeln!(out, "{line} |");
    }
    out
}

/// `mine` against `other`, oriented so that above 1 means `mine` is better;
/// NaN when either is missing.
fn oriented(mine: f64, other: f64, better: Better) -> f64 {
    match better {
        Better::Higher => mine / other,
        Better::Lower => other / mine,
        Better::Neither => f64::NAN,
    }
}

/// The 5.0 phase as a table of its own: throughput and CPU per message of
/// mqtt-tokio and rumqttc at 5.0, ours against rumqttc, and each against
/// its own 3.1.1 run of the same run (the main table's throughput rows);
/// None when the run did not have the phase.
pub(crate) fn v5_markdown(r: &Results) -> Option<String> {
    if !r.specs.keys().any(|s| s.starts_with("v5:")) {
        return None;
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "MQTT 5.0: the throughput runs again ({n} messages of {payload} B without \
         properties, the tuned broker, the same settings and code) with both clients \
         at protocol 5.0: mqtt-tokio with `Options::protocol(Protocol::V5)`, rumqttc \
         0.25 with its `v5::AsyncClient` (inflight limit {inflight}). Ratios are \
         oriented so that above 1 means the first named is better (ours ÷ theirs for \
         throughput, theirs ÷ ours for CPU): mqtt-tokio against rumqttc, both at 5.0, \
         and each library at 5.0 against its own 3.1.1 run of the main table.",
        n = count(r.machine("messages")),
        payload = r.machine("payload_bytes"),
        inflight = r.machine("inflight"),
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| | mqtt-tokio 5.0 | rumqttc 5.0 | mqtt-tokio vs rumqttc (5.0) \
         | mqtt-tokio 5.0 vs 3.1.1 | rumqttc 5.0 vs 3.1.1 |"
    );
    let _ = writeln!(out, "|---|{}", "---:|".repeat(5));
    let mut rows: Vec<(String, &str, u8, Better, usize)> = Vec::new();
    use Better::{Higher, Lower, Neither};
    for q in 0..3 {
        rows.push((format!("QoS {q} throughput (msg/s)"), "rate", q, Higher, 0));
    }
    let loss = "QoS 0 loss (messages not received)";
    rows.push((loss.into(), "lost", 0, Neither, 0));
    for (what, key) in [
        ("client", "cpu_us_per_msg"),
        ("publisher", "pub_cpu_us_per_msg"),
        ("subscriber", "sub_cpu_us_per_msg"),
    ] {
        for q in 0..3 {
            let label = format!("QoS {q} {what} CPU per message (µs)");
            rows.push((label, key, q, Lower, 2));
        }
    }
    for (label, key, q, better, decimals) in rows {
        let v5 = |lib: &str| r.get(&format!("v5:{lib}:{q}"), key);
        let v311 = |lib: &str| r.get(&format!("throughput:{lib}:{q}"), key);
        let (ours, theirs) = (v5("mqtt-tokio"), v5("rumqttc"));
        let mut line = format!(
            "| {label} | {} | {}",
            number(ours, decimals),
            number(theirs, decimals)
        );
        for (mine, other) in [
            (ours, theirs),
            (ours, v311("mqtt-tokio")),
            (theirs, v311("rumqttc")),
        ] {
            let cell = match better {
                Neither => String::new(),
                _ => number(oriented(mine, other, better), 2),
            };
            let _ = write!(line, " | {cell}");
        }
        let _ = writeln!(out, "{line} |");
    }
    Some(out)
}

/// The store phase's rows: a label, the spec, and the spec of the same
/// library's store-off run (None for the store-off runs themselves).
const STORE_ROWS: [(&str, &str, Option<&str>); 6] = [
    (
        "mqtt-tokio, store on (`Durability::Sync`)",
        "store:mqtt-tokio:1:sync",
        Some("store:mqtt-tokio:1:off"),
    ),
    (
        "mqtt-tokio, store on (`Durability::Flush`)",
        "store:mqtt-tokio:1:flush",
        Some("store:mqtt-tokio:1:off"),
    ),
    ("mqtt-tokio, store off", "store:mqtt-tokio:1:off", None),
    (
        "mqtt-async-std, store on (`Durability::Sync`)",
        "store:mqtt-async-std:1:sync",
        Some("store:mqtt-async-std:1:off"),
    ),
    (
        "mqtt-async-std, store off",
        "store:mqtt-async-std:1:off",
        None,
    ),
    ("rumqttc (no store)", "store:rumqttc:1:off", None),
];

/// The store phase as a table of its own: QoS 1 throughput and publisher
/// CPU per message with our session store on and off, and rumqttc; None
/// when the run did not have the phase.
pub(crate) fn store_markdown(r: &Results) -> Option<String> {
    if !r.specs.keys().any(|s| s.starts_with("store:")) {
        return None;
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Session store: the QoS 1 throughput run again ({n} messages of {payload} B, \
         the tuned broker, the same settings), our publisher with its session store \
         (`Options::store_dir`, one write per round, and with `Durability::Sync` one \
         `fdatasync`) on a fresh directory on {fs}, or without one. Publisher CPU: \
         user+sys of the publishing process per message, the store's writes and syncs \
         included. Ratios are oriented so that above 1 means the row is better: \
         its throughput ÷ the other's, the other's CPU ÷ its CPU.",
        n = count(r.machine("messages")),
        payload = r.machine("payload_bytes"),
        fs = r.machine("store_fs"),
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| QoS 1 publisher | throughput (msg/s) | vs store off | vs rumqttc \
         | publisher CPU per message (µs) | vs store off | vs rumqttc |"
    );
    let _ = writeln!(out, "|---|{}", "---:|".repeat(6));
    let rumqttc = "store:rumqttc:1:off";
    for (label, spec, off) in STORE_ROWS {
        let mut line = format!("| {label}");
        for (key, decimals, higher) in [("rate", 0, true), ("pub_cpu_us_per_msg", 2, false)] {
            let mine = r.get(spec, key);
            let _ = write!(line, " | {}", number(mine, decimals));
            for other in [off, (spec != rumqttc).then_some(rumqttc)] {
                let cell = other.map_or(String::new(), |other| {
                    let theirs = r.get(other, key);
                    let x = if higher { mine / theirs } else { theirs / mine };
                    number(x, 2)
                });
                let _ = write!(line, " | {cell}");
            }
        }
        let _ = writeln!(out, "{line} |");
    }
    Some(out)
}

/// "a, b" as "`a`, `b`": broker settings as config lines.
fn settings(list: &str) -> String {
    let quoted: Vec<String> = list.split(", ").map(|s| format!("`{s}`")).collect();
    quoted.join(", ")
}

/// `v` with `decimals` places, or "—" when missing.
pub(crate) fn number(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        "—".into()
    }
}

/// A whole number with thousands separators ("10000" as "10,000"); any
/// other text as it is.
pub(crate) fn count(v: &str) -> String {
    let Ok(n) = v.parse::<u64>() else {
        return v.to_string();
    };
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
