//! Our client, on either runtime (generic over `Runtime`, so mqtt-tokio
//! and mqtt-async-std run the very same code): throughput, latency and
//! idle memory.

use crate::measure::{
    idle_line, payload, percentiles, rss_kib, scale_clients, scale_line, usage, watch, Seen, Tally,
};
use crate::split::{self, combined_line, sub_line, unix_ns, SubProcess};
use crate::store::StoreDir;
use crate::{
    Phase, IDLE_CONNECTIONS, IDLE_WARMUP, INFLIGHT, LATENCY_ROUNDS, LATENCY_WARMUP, SCALE_BATCH,
    SCALE_WINDOW, SUB_CAPACITY,
};
use mqtt_client::{Client, Error, Options, QoS, Runtime, TlsOptions};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn qos(q: u8) -> QoS {
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// Our settings for `phase`: the benchmark's window and subscription
/// capacity, over TLS with the shared configuration when the phase says so,
/// at the phase's protocol level.
fn options(phase: &Phase) -> Options {
    let options = match &phase.tls {
        None => Options::new("127.0.0.1", phase.port),
        Some(config) => Options::from_url(&format!("mqtts://127.0.0.1:{}", phase.port))
            .expect("a valid URL")
            .tls(TlsOptions::new().rustls_config(config.clone())),
    };
    options
        .protocol(phase.protocol)
        .max_inflight(INFLIGHT.into())
        .subscription_capacity(SUB_CAPACITY)
}

/// The publishing side of a throughput phase; the subscriber runs in a
/// process of its own (`split.rs`, `subscriber` below). In the store
/// phase the publisher keeps its session in a fresh store directory.
pub(crate) async fn throughput<R: Runtime>(phase: &Phase) -> String {
    let qos = qos(phase.qos);
    let mut subscriber = SubProcess::start(phase);
    let store = StoreDir::create(phase.store);
    let publisher_options = match &store {
        Some(store) => store.apply(options(phase)),
        None => options(phase),
    };
    let publisher = Client::<R>::connect(publisher_options)
        .await
        .expect("connect");
    let before = usage();
    let started_unix_ns = unix_ns();
    let started = Instant::now();
    // The fast path: `try_publish` hands a message over without waiting;
    // only when the session is backed up (the hand-over holds as many
    // messages as the session queue) does the publisher wait, and then
    // only for room (`publish_pipelined`), never for the broker. Outcomes
    // are checked by the subscriber's tally.
    let mut waits = 0u64;
    for seq in 0..phase.n {
        match publisher.try_publish(&phase.tag, payload(seq), qos) {
            Ok(()) => {}
            Err(Error::Backpressure) => {
                waits += 1;
                let _outcome_checked_by_the_subscriber = publisher
                    .publish_pipelined(&phase.tag, payload(seq), qos)
                    .await
                    .expect("publish");
            }
            Err(e) => panic!("publish: {e}"),
        }
    }
    let published = started.elapsed();
    subscriber.published();
    // Blocks this thread until the subscriber has everything; the
    // publisher's driver runs on the runtime's other threads meanwhile.
    let sub = subscriber.finish();
    let line = combined_line(phase, &sub, &before, started_unix_ns);
    // What the store holds once every message is acknowledged: that it
    // was written at all (the dead records stay until a rewrite).
    let store_bytes = store.as_ref().map_or(0, StoreDir::bytes);
    publisher.disconnect().await.expect("disconnect");
    drop(store);
    format!(
        "{line} publish_loop_secs={:.3} waits_for_room={waits} store_bytes={store_bytes}",
        published.as_secs_f64()
    )
}

/// The subscribing side of a throughput phase, in a child of its own.
pub(crate) async fn subscriber<R: Runtime>(phase: &Phase) -> String {
    let subscriber = Client::<R>::connect(options(phase)).await.expect("connect");
    let mut sub = subscriber
        .subscribe(&phase.tag, qos(phase.qos))
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
    let published = split::ready();
    let before = usage();
    published.recv().await.expect("the publisher's DONE");
    watch(&tally, phase, |d| R::sleep_until(Instant::now() + d)).await;
    subscriber.disconnect().await.expect("disconnect");
    let seen = done_rx.recv().await.expect("subscriber result");
    sub_line(&tally, &seen, &before)
}

pub(crate) async fn latency<R: Runtime>(phase: &Phase) -> String {
    let subscriber = Client::<R>::connect(options(phase)).await.expect("connect");
    let publisher = Client::<R>::connect(options(phase)).await.expect("connect");
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

pub(crate) async fn idle<R: Runtime>(phase: &Phase) -> String {
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

/// Many clients on one runtime, default options: `scale_clients()`
/// connections, each publishing one QoS 1 message a second (spread over
/// the second) from a task of its own; CPU and memory per client over
/// `SCALE_WINDOW`.
pub(crate) async fn scale<R: Runtime>(phase: &Phase) -> String {
    let n = scale_clients();
    let rss_before = rss_kib();
    let mut clients = Vec::with_capacity(n);
    while clients.len() < n {
        let batch = SCALE_BATCH.min(n - clients.len());
        let (tx, rx) = async_channel::bounded(batch);
        for _ in 0..batch {
            let (tx, port) = (tx.clone(), phase.port);
            R::spawn(Box::pin(async move {
                let client = Client::<R>::connect(Options::new("127.0.0.1", port)).await;
                let _ = tx.send(client.expect("connect")).await;
            }));
        }
        for _ in 0..batch {
            clients.push(rx.recv().await.expect("a connected client"));
        }
    }
    let completed = Arc::new(AtomicU64::new(0));
    let start = Instant::now() + Duration::from_secs(1);
    let end = start + SCALE_WINDOW;
    for (i, client) in clients.iter().enumerate() {
        let (client, completed) = (client.clone(), completed.clone());
        let topic = format!("{}/{i}", phase.tag);
        let offset = Duration::from_secs(1).mul_f64(i as f64 / n as f64);
        R::spawn(Box::pin(async move {
            let mut next = start + offset;
            let mut seq = 0;
            while next < end {
                R::sleep_until(next).await;
                if client
                    .publish(&topic, payload(seq), QoS::AtLeastOnce)
                    .await
                    .is_ok()
                {
                    completed.fetch_add(1, Ordering::Relaxed);
                }
                seq += 1;
                next += Duration::from_secs(1);
            }
        }));
    }
    R::sleep_until(start).await;
    let before = usage();
    let counted = completed.load(Ordering::Relaxed);
    R::sleep_until(end).await;
    let done = completed.load(Ordering::Relaxed) - counted;
    let line = scale_line(n, done, SCALE_WINDOW, &before, rss_before);
    // Every handle gone (the publishing tasks are done): each client
    // closes by itself; the process ends right after anyway.
    drop(clients);
    line
}
