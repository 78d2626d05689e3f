//! rumqttc 0.25, the reference: the same phases as `ours.rs`, with its
//! `AsyncClient` and an `EventLoop` polled by a task, as its documentation
//! shows. Over TLS it gets the benchmark's shared rustls configuration.

use crate::measure::{
    idle_line, payload, percentiles, rss_kib, scale_clients, scale_line, usage, watch, Seen, Tally,
};
use crate::split::{self, combined_line, sub_line, unix_ns, SubProcess};
use crate::{
    Phase, CHANNEL, IDLE_CONNECTIONS, IDLE_WARMUP, INFLIGHT, LATENCY_ROUNDS, LATENCY_WARMUP,
    SCALE_BATCH, SCALE_WINDOW,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn qos(q: u8) -> rumqttc::QoS {
    match q {
        0 => rumqttc::QoS::AtMostOnce,
        1 => rumqttc::QoS::AtLeastOnce,
        _ => rumqttc::QoS::ExactlyOnce,
    }
}

fn new_client(phase: &Phase, id: &str) -> (rumqttc::AsyncClient, rumqttc::EventLoop) {
    let mut options = rumqttc::MqttOptions::new(
        format!("rumqttc-{}-{id}", std::process::id()),
        "127.0.0.1",
        phase.port,
    );
    options
        .set_keep_alive(Duration::from_secs(60))
        .set_inflight(INFLIGHT)
        .set_request_channel_capacity(CHANNEL);
    if let Some(config) = &phase.tls {
        options.set_transport(rumqttc::Transport::tls_with_config(
            rumqttc::TlsConfiguration::Rustls(config.clone()),
        ));
    }
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, CHANNEL);
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    (client, eventloop)
}

/// Polls until CONNACK (and SUBACK when `subscribed`), failing on errors.
async fn ready(eventloop: &mut rumqttc::EventLoop, subscribed: bool) {
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
fn drive(mut eventloop: rumqttc::EventLoop) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
}

/// The publishing side of a throughput phase; the subscriber runs in a
/// process of its own (`split.rs`, `subscriber` below).
pub(crate) async fn throughput(phase: &Phase) -> String {
    let qos = qos(phase.qos);
    let mut subscriber = SubProcess::start(phase);
    let (publisher, mut pub_loop) = new_client(phase, "pub");
    ready(&mut pub_loop, false).await;
    let publishing_task = drive(pub_loop);
    let before = usage();
    let started_unix_ns = unix_ns();
    let started = Instant::now();
    for seq in 0..phase.n {
        publisher
            .publish(phase.tag.clone(), qos, false, payload(seq))
            .await
            .expect("publish");
    }
    let published = started.elapsed();
    subscriber.published();
    // Blocks this thread until the subscriber has everything; the event
    // loop runs on the runtime's other threads meanwhile.
    let sub = subscriber.finish();
    let line = combined_line(phase, &sub, &before, started_unix_ns);
    publisher.disconnect().await.expect("disconnect");
    let _ = publishing_task.await;
    format!("{line} publish_loop_secs={:.3}", published.as_secs_f64())
}

/// The subscribing side of a throughput phase, in a child of its own.
pub(crate) async fn subscriber(phase: &Phase) -> String {
    let qos = qos(phase.qos);
    let (subscriber, mut sub_loop) = new_client(phase, "sub");
    subscriber
        .subscribe(phase.tag.clone(), qos)
        .await
        .expect("subscribe");
    ready(&mut sub_loop, true).await;
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
    let published = split::ready();
    let before = usage();
    published.recv().await.expect("the publisher's DONE");
    watch(&tally, phase, tokio::time::sleep).await;
    subscriber.disconnect().await.expect("disconnect");
    let seen = receiving.await.expect("subscriber task");
    sub_line(&tally, &seen, &before)
}

pub(crate) async fn latency(phase: &Phase) -> String {
    let (subscriber, mut sub_loop) = new_client(phase, "sub");
    let (publisher, mut pub_loop) = new_client(phase, "pub");
    subscriber
        .subscribe(phase.tag.clone(), rumqttc::QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    ready(&mut sub_loop, true).await;
    ready(&mut pub_loop, false).await;
    let publishing_task = drive(pub_loop);
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

pub(crate) async fn idle(phase: &Phase) -> String {
    let mut clients = Vec::with_capacity(IDLE_WARMUP + IDLE_CONNECTIONS);
    let connect = |i: usize| async move {
        let (client, mut eventloop) = new_client(phase, &format!("idle-{i}"));
        ready(&mut eventloop, false).await;
        (client, drive(eventloop))
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

/// The many-clients phase with rumqttc's defaults (keep-alive 60 s as
/// ours): each client's event loop polled by a task, and a task
/// publishing one QoS 1 message a second that counts it once its PUBACK
/// came (seen by the event loop).
pub(crate) async fn scale(phase: &Phase) -> String {
    let n = scale_clients();
    let rss_before = rss_kib();
    let completed = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::with_capacity(n);
    while clients.len() < n {
        let batch = SCALE_BATCH.min(n - clients.len());
        let (tx, mut rx) = tokio::sync::mpsc::channel(batch);
        for _ in 0..batch {
            let i = clients.len();
            let (tx, port, completed) = (tx.clone(), phase.port, completed.clone());
            let id = format!("rumqttc-{}-scale-{i}", std::process::id());
            tokio::spawn(async move {
                let mut options = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
                options.set_keep_alive(Duration::from_secs(60));
                let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 10);
                ready(&mut eventloop, false).await;
                let _ = tx.send(client).await;
                loop {
                    match eventloop.poll().await {
                        Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => {
                            completed.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => {
                            break
                        }
                        Ok(_) => {}
                    }
                }
            });
            clients.push(None);
        }
        let first = clients.len() - batch;
        for slot in &mut clients[first..] {
            *slot = Some(rx.recv().await.expect("a connected client"));
        }
    }
    let clients: Vec<rumqttc::AsyncClient> = clients.into_iter().flatten().collect();
    let start = Instant::now() + Duration::from_secs(1);
    let end = start + SCALE_WINDOW;
    for (i, client) in clients.iter().enumerate() {
        let client = client.clone();
        let topic = format!("{}/{i}", phase.tag);
        let offset = Duration::from_secs(1).mul_f64(i as f64 / n as f64);
        tokio::spawn(async move {
            let mut next = start + offset;
            let mut seq = 0;
            while next < end {
                tokio::time::sleep_until(next.into()).await;
                let _ = client
                    .publish(&topic, rumqttc::QoS::AtLeastOnce, false, payload(seq))
                    .await;
                seq += 1;
                next += Duration::from_secs(1);
            }
        });
    }
    tokio::time::sleep_until(start.into()).await;
    let before = usage();
    let counted = completed.load(Ordering::Relaxed);
    tokio::time::sleep_until(end.into()).await;
    let done = completed.load(Ordering::Relaxed) - counted;
    scale_line(n, done, SCALE_WINDOW, &before, rss_before)
}
