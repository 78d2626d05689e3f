//! `mqtt bench`: publishers and subscribers through one broker, progress
//! bars on stderr (when it is a terminal), and a summary table on stdout
//! (sent, received, lost, duplicates, rates, latency percentiles from
//! timestamps in the payloads). Exits 3 when QoS 1/2 messages were lost or
//! QoS 2 ones duplicated.

use crate::connection::Connection;
use crate::{connect, describe, qos, stderr, Failure};
use clap::Args;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use mqtt_tokio::QoS;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    #[command(flatten)]
    connection: Connection,
    /// Publishing clients.
    #[arg(long, default_value_t = 1)]
    publishers: u32,
    /// Subscribing clients (each gets every message).
    #[arg(long, default_value_t = 1)]
    subscribers: u32,
    /// Messages per publisher.
    #[arg(long, default_value_t = 10_000)]
    count: u32,
    /// Payload size in bytes (at least 16: a timestamp and a sequence number).
    #[arg(short = 's', long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(16..=(64 << 20)))]
    size: u32,
    /// Quality of service: 0, 1 or 2.
    #[arg(short = 'q', long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=2))]
    qos: u8,
    /// Total publish rate in messages per second (default: as fast as
    /// possible).
    #[arg(long)]
    rate: Option<f64>,
    /// Topic prefix; publisher n publishes to PREFIX/n (default: a fresh
    /// prefix per run).
    #[arg(short = 't', long)]
    topic: Option<String>,
    /// Give up when nothing was sent or received for this many seconds.
    #[arg(long, default_value_t = 10)]
    stall_timeout: u64,
}

/// Live counters shared by the bench tasks and the progress bars.
#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    received: AtomicU64,
}

/// What one subscriber saw.
#[derive(Debug)]
struct Seen {
    unique: u64,
    duplicates: u64,
    /// Latency of each first delivery, in microseconds.
    latencies_us: Histogram<u64>,
    last_at: Option<Instant>,
}

/// Latencies from 1 µs to an hour (longer ones count as an hour), to three
/// significant digits.
const LATENCY_MAX_US: u64 = 3_600_000_000;

impl Seen {
    fn new() -> Seen {
        Seen {
            unique: 0,
            duplicates: 0,
            latencies_us: Histogram::new_with_bounds(1, LATENCY_MAX_US, 3)
                .expect("1 µs to an hour at 3 digits is a valid histogram"),
            last_at: None,
        }
    }

    /// Adds up what several subscribers saw.
    fn add(&mut self, other: &Seen) {
        self.unique += other.unique;
        self.duplicates += other.duplicates;
        self.latencies_us
            .add(&other.latencies_us)
            .expect("histograms with the same bounds add up");
        self.last_at = self.last_at.max(other.last_at);
    }

    /// A latency percentile (`quantile` 0.5 for p50, 1.0 for the maximum) in
    /// milliseconds, or "-" when nothing arrived.
    fn latency(&self, quantile: f64) -> String {
        if self.latencies_us.is_empty() {
            return "-".into();
        }
        let us = self.latencies_us.value_at_quantile(quantile);
        format!("{:.2} ms", us as f64 / 1_000.0)
    }
}

/// A bar on stderr for `len` messages, with the average rate since the
/// publishers started `elapsed` ago.
fn progress_bar(prefix: &'static str, len: u64, elapsed: Duration) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "{prefix:>8} [{bar:30}] {pos:>9}/{len:<9} {rate:>14}  {elapsed}",
    )
    .expect("a valid progress template")
    .with_key(
        "rate",
        |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let secs = state.elapsed().as_secs_f64().max(1e-9);
            let _ = write!(w, "{:.0} msgs/s", state.pos() as f64 / secs);
        },
    )
    .progress_chars("=> ");
    stderr::progress().add(
        ProgressBar::new(len)
            .with_style(style)
            .with_prefix(prefix)
            .with_elapsed(elapsed),
    )
}

/// Publisher index and sequence number packed into a bit index.
fn slot(publisher: u32, seq: u32, count: u32) -> usize {
    publisher as usize * count as usize + seq as usize
}

pub(crate) async fn bench(args: BenchArgs) -> Result<ExitCode, Failure> {
    if args.publishers == 0 || args.count == 0 {
        return Err("nothing to do: --publishers and --count must be at least 1".into());
    }
    if args.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        return Err("--rate must be a positive number".into());
    }
    if args.connection.id.is_some() && args.publishers + args.subscribers > 1 {
        return Err("-i names one client; bench runs several (leave -i out)".into());
    }
    let qos = qos(args.qos);
    let prefix = args.topic.clone().unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!(
            "mqtt-bench/{}-{:x}",
            std::process::id(),
            nanos & 0xFFFF_FFFF
        )
    });
    let total = u64::from(args.publishers) * u64::from(args.count);
    let expected = total * u64::from(args.subscribers);
    let counters = Arc::new(Counters::default());
    let epoch = Instant::now();

    // Subscribers first, so that they see every message.
    let filter = format!("{prefix}/+");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut subscribers = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..args.subscribers {
        let client = connect(&args.connection).await?;
        let mut sub = client
            .subscribe(&filter, qos)
            .await
            .map_err(|e| describe("subscribe failed", e))?;
        clients.push(client);
        let counters = counters.clone();
        let mut stop = stop_rx.clone();
        let (publishers, count) = (args.publishers, args.count);
        subscribers.push(tokio::spawn(async move {
            let mut seen = Seen::new();
            let mut bits = vec![0u64; (total as usize).div_ceil(64)];
            while seen.unique < total {
                let message = tokio::select! {
                    m = sub.next() => match m { Some(m) => m, None => break },
                    _ = stop.changed() => break,
                };
                let now = Instant::now();
                let p = &message.payload;
                if p.len() < 16 {
                    continue;
                }
                let sent_ns = u64::from_be_bytes(p[0..8].try_into().unwrap_or_default());
                let publisher = u32::from_be_bytes(p[8..12].try_into().unwrap_or_default());
                let seq = u32::from_be_bytes(p[12..16].try_into().unwrap_or_default());
                if publisher >= publishers || seq >= count {
                    continue;
                }
                let i = slot(publisher, seq, count);
                if bits[i / 64] & (1 << (i % 64)) != 0 {
                    seen.duplicates += 1;
                    continue;
                }
                bits[i / 64] |= 1 << (i % 64);
                seen.unique += 1;
                seen.last_at = Some(now);
                let at = now.duration_since(epoch).as_nanos() as u64;
                seen.latencies_us
                    .saturating_record(at.saturating_sub(sent_ns) / 1_000);
                counters.received.fetch_add(1, Ordering::Relaxed);
            }
            seen
        }));
    }

    // Publishers: each keeps a window of publishes in flight, paced when a
    // rate is given.
    let per_publisher_interval = args
        .rate
        .map(|r| Duration::from_secs_f64(f64::from(args.publishers) / r));
    let mut publishers = Vec::new();
    let publish_start = Instant::now();
    for index in 0..args.publishers {
        let client = connect(&args.connection).await?;
        clients.push(client.clone());
        let counters = counters.clone();
        let topic = format!("{prefix}/{index}");
        let (count, size) = (args.count, args.size as usize);
        publishers.push(tokio::spawn(async move {
            let mut window = tokio::task::JoinSet::new();
            let started = Instant::now();
            for seq in 0..count {
                if let Some(interval) = per_publisher_interval {
                    tokio::time::sleep_until((started + interval * seq).into()).await;
                }
                while window.len() >= 256 {
                    let _ = window.join_next().await;
                }
                let mut payload = vec![0u8; size];
                let now = Instant::now().duration_since(epoch).as_nanos() as u64;
                payload[0..8].copy_from_slice(&now.to_be_bytes());
                payload[8..12].copy_from_slice(&index.to_be_bytes());
                payload[12..16].copy_from_slice(&seq.to_be_bytes());
                let (client, counters, topic) = (client.clone(), counters.clone(), topic.clone());
                window.spawn(async move {
                    match client.publish(&topic, payload, qos).await {
                        Ok(()) => counters.sent.fetch_add(1, Ordering::Relaxed),
                        Err(_) => counters.failed.fetch_add(1, Ordering::Relaxed),
                    };
                });
            }
            while window.join_next().await.is_some() {}
            Instant::now()
        }));
    }

    // Progress until everything is sent and received, or nothing moves for
    // the stall timeout.
    let sent_bar = progress_bar("sent", total, publish_start.elapsed());
    let received_bar =
        (args.subscribers > 0).then(|| progress_bar("received", expected, publish_start.elapsed()));
    let stall = Duration::from_secs(args.stall_timeout);
    let mut last = (0, 0, 0);
    let mut last_change = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = (
            counters.sent.load(Ordering::Relaxed),
            counters.received.load(Ordering::Relaxed),
            counters.failed.load(Ordering::Relaxed),
        );
        if now != last {
            last = now;
            last_change = Instant::now();
        }
        sent_bar.set_position(now.0);
        if let Some(bar) = &received_bar {
            bar.set_position(now.1);
        }
        let published = now.0 + now.2 >= total;
        let finished = published && now.1 >= now.0 * u64::from(args.subscribers);
        if finished {
            break;
        }
        // Once everything is sent, a message that has not moved for a few
        // seconds is not coming (a broker drops what overflows its queues).
        let patience = if published {
            stall.min(Duration::from_secs(3))
        } else {
            stall
        };
        if last_change.elapsed() >= patience {
            break;
        }
    }
    // Left as they are (`finish` would fill them up even when short).
    sent_bar.abandon();
    received_bar.as_ref().map(ProgressBar::abandon);
    stderr::progress_done();
    let _ = stop_tx.send(true);
    let publishers_done =
        counters.sent.load(Ordering::Relaxed) + counters.failed.load(Ordering::Relaxed) >= total;
    let mut publish_end = None;
    for p in publishers {
        if !publishers_done {
            p.abort();
        } else if let Ok(end) = p.await {
            publish_end = publish_end.max(Some(end));
        }
    }
    let publish_end = publish_end.unwrap_or_else(Instant::now);
    let mut seen = Seen::new();
    let mut per_subscriber = Vec::new();
    for s in subscribers {
        let one = s.await.unwrap_or_else(|_| Seen::new());
        per_subscriber.push(one.unique);
        seen.add(&one);
    }
    let last_receive = seen.last_at.unwrap_or(publish_start).max(publish_start);
    for client in clients {
        let _ = tokio::time::timeout(Duration::from_secs(2), client.disconnect()).await;
    }

    let sent = counters.sent.load(Ordering::Relaxed);
    let failed = counters.failed.load(Ordering::Relaxed);
    let lost = (sent * u64::from(args.subscribers)).saturating_sub(seen.unique);
    let publish_secs = publish_end.duration_since(publish_start).as_secs_f64();
    let receive_secs = last_receive.duration_since(publish_start).as_secs_f64();
    let rate = |n: u64, secs: f64| {
        if secs > 0.0 {
            format!("{:.0} msgs/s", n as f64 / secs)
        } else {
            "-".into()
        }
    };

    println!(
        "mqtt bench: {} publisher(s) x {} messages, {} subscriber(s), {} B payloads, QoS {}{}",
        args.publishers,
        args.count,
        args.subscribers,
        args.size,
        args.qos,
        args.rate
            .map_or(String::new(), |r| format!(", rate {r} msgs/s"))
    );
    println!("| metric       | value |");
    println!("|--------------|------:|");
    println!("| sent         | {sent} |");
    if failed > 0 {
        println!("| failed       | {failed} |");
    }
    println!("| received     | {} |", seen.unique);
    println!("| expected     | {} |", sent * u64::from(args.subscribers));
    println!("| lost         | {lost} |");
    println!("| duplicates   | {} |", seen.duplicates);
    println!("| publish rate | {} |", rate(sent, publish_secs));
    println!("| receive rate | {} |", rate(seen.unique, receive_secs));
    println!("| latency p50  | {} |", seen.latency(0.50));
    println!("| latency p99  | {} |", seen.latency(0.99));
    println!("| latency max  | {} |", seen.latency(1.0));
    if args.subscribers > 1 {
        let per: Vec<String> = per_subscriber.iter().map(u64::to_string).collect();
        println!("| per subscriber | {} |", per.join(" / "));
    }

    if !publishers_done {
        eprintln!(
            "mqtt bench: stopped: nothing moved for {} s before every message was sent",
            args.stall_timeout
        );
    } else if lost > 0 && qos != QoS::AtMostOnce {
        eprintln!(
            "mqtt bench: {lost} QoS {} message(s) never arrived; note that a broker drops \
             what overflows a client's queue (mosquitto: max_queued_messages, 1000 by \
             default): try --rate",
            args.qos
        );
    }
    // At QoS 1 and 2 a loss is a failure (QoS 2 also forbids duplicates); at
    // QoS 0 it is a measurement.
    let broken = failed > 0
        || !publishers_done
        || (qos != QoS::AtMostOnce && lost > 0)
        || (qos == QoS::ExactlyOnce && seen.duplicates > 0);
    Ok(if broken {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
