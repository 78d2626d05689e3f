//! The client's one memory budget for incoming messages
//! (`Options::max_held_bytes`), against a real mosquitto:
//!
//! - a resumed session floods the client with 250 MB of QoS 1 messages that
//!   match no subscription: the process's peak memory stays within the
//!   budget plus a constant, and the flood is acknowledged as it arrives;
//! - a burst of 5,000 retained QoS 0 messages reaches a subscription whole
//!   (the budget, not a slot count, bounds QoS 0);
//! - a subscription that does not read, over a small budget, drops QoS 0
//!   messages and counts every one.
//!
//! The flood test is alone in measuring memory: this file's other tests
//! hold a few hundred kilobytes at most.

use mqtt_client::{Client, Options, QoS, Runtime};
use mqtt_integration_tests::broker::Mosquitto;
use mqtt_integration_tests::on_smol::Smol;
use mqtt_integration_tests::wait;
use mqtt_integration_tests::wait::block_on_tokio;
use std::future::Future;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

const STEP: Duration = Duration::from_secs(30);

async fn within<F: Future>(what: &str, f: F) -> F::Output {
    wait::within(STEP, what, f).await
}

/// `Client::<R>::connect`; the smol flavour's driver is spawned on smol
/// through `Options::spawner` (see `mqtt_integration_tests::on_smol`).
fn connect<R: Runtime>(
    options: Options,
) -> impl Future<Output = Result<Client<R>, mqtt_client::Error>> {
    mqtt_integration_tests::on_smol::connect::<R>(options)
}

/// This process's peak resident memory so far, in bytes.
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map(|kb| kb * 1024)
        .expect("VmHWM in /proc/self/status")
}

/// Publishes `count` messages of `size` bytes at QoS 1 with mosquitto_pub,
/// in another process, so that this one's memory is the client's alone.
fn mosquitto_pub_lines(broker: &Mosquitto, topic: &str, count: usize, size: usize) {
    let mut child = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &broker.port().to_string()])
        .args(["-t", topic, "-q", "1", "-l"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("mosquitto_pub (package mosquitto-clients) must be installed");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        let mut line = vec![b'f'; size];
        line.push(b'\n');
        for _ in 0..count {
            stdin.write_all(&line).expect("write to mosquitto_pub");
        }
    }
    let status = child.wait().expect("mosquitto_pub");
    assert!(status.success(), "mosquitto_pub: {status}");
}

async fn unmatched_flood<R: Runtime>(broker: &Mosquitto) {
    const COUNT: usize = 62_500;
    const SIZE: usize = 4_000;
    let options = || {
        Options::new("127.0.0.1", broker.port())
            .client_id("flooded")
            .clean_session(false)
    };
    // The session subscribes, then goes away while the flood is queued.
    let first = within("connect", connect::<R>(options()))
        .await
        .expect("connect");
    let sub = within("subscribe", first.subscribe("flood/#", QoS::AtLeastOnce))
        .await
        .expect("subscribe");
    drop(sub);
    // Dropping the subscription unsubscribes; subscribe at the broker again
    // through a bare session so that the broker queues the flood for us.
    within("disconnect", first.disconnect())
        .await
        .expect("disconnect");
    let status = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &broker.port().to_string()])
        .args(["-i", "flooded", "-c", "-q", "1", "-t", "flood/#", "-E"])
        .status()
        .expect("mosquitto_sub");
    assert!(status.success());
    mosquitto_pub_lines(broker, "flood/data", COUNT, SIZE);
    mosquitto_pub_lines(broker, "flood/end", 1, 10);

    let before = peak_rss();
    // The session resumes; only the last message has a subscription.
    let client = within("reconnect", connect::<R>(options()))
        .await
        .expect("reconnect");
    let mut end = within("subscribe", client.subscribe("flood/end", QoS::AtLeastOnce))
        .await
        .expect("subscribe");
    let m = within("the end marker, behind the flood", end.next())
        .await
        .expect("a message");
    assert_eq!(m.topic.as_str(), "flood/end");
    let peak = peak_rss();
    within("disconnect", client.disconnect())
        .await
        .expect("disconnect");
    let budget = 4 << 20;
    let constant = 48 << 20;
    eprintln!(
        "peak RSS {} MiB before the flood, {} MiB after {} MB of unmatched QoS 1",
        before >> 20,
        peak >> 20,
        COUNT * SIZE / 1_000_000
    );
    assert!(
        peak <= before.max(budget + constant),
        "peak RSS {} MiB, over the 4 MiB budget plus {} MiB",
        peak >> 20,
        constant >> 20
    );
}

async fn retained_burst<R: Runtime>(broker: &Mosquitto) {
    const COUNT: usize = 5_000;
    let publisher = within(
        "connect",
        connect::<R>(Options::new("127.0.0.1", broker.port())),
    )
    .await
    .expect("connect");
    for i in 0..COUNT {
        within(
            "publish",
            publisher.publish_retained(&format!("state/{i}"), i.to_string(), QoS::AtMostOnce),
        )
        .await
        .expect("publish");
    }
    // A QoS 1 publish after them: once acknowledged, the broker has
    // processed every retained message before it.
    within(
        "publish",
        publisher.publish("state-done", "", QoS::AtLeastOnce),
    )
    .await
    .expect("publish");
    let subscriber = within(
        "connect",
        connect::<R>(Options::new("127.0.0.1", broker.port())),
    )
    .await
    .expect("connect");
    let mut sub = within(
        "subscribe",
        subscriber.subscribe("state/#", QoS::AtMostOnce),
    )
    .await
    .expect("subscribe");
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < COUNT {
        let m = within("a retained message", sub.next())
            .await
            .expect("a message");
        assert!(m.retain, "sent as retained [MQTT-3.3.1-8]");
        seen.insert(m.topic.as_str().to_owned());
    }
    assert_eq!(sub.dropped(), 0);
    within("disconnect", subscriber.disconnect())
        .await
        .expect("disconnect");
    within("disconnect", publisher.disconnect())
        .await
        .expect("disconnect");
}

async fn drops_are_counted<R: Runtime>(broker: &Mosquitto) {
    const COUNT: usize = 2_000;
    let subscriber = within(
        "connect",
        connect::<R>(
            Options::new("127.0.0.1", broker.port())
                .max_held_bytes(16 * 1024)
                .subscription_capacity(8),
        ),
    )
    .await
    .expect("connect");
    // Granted QoS 1, so that the QoS 1 end marker is delivered at QoS 1 (and
    // never dropped) while the burst, published at QoS 0, arrives at QoS 0.
    let mut sub = within(
        "subscribe",
        subscriber.subscribe("burst/#", QoS::AtLeastOnce),
    )
    .await
    .expect("subscribe");
    let publisher = within(
        "connect",
        connect::<R>(Options::new("127.0.0.1", broker.port())),
    )
    .await
    .expect("connect");
    for i in 0..COUNT {
        within(
            "publish",
            publisher.publish("burst/x", vec![b'x'; 100 + i % 7], QoS::AtMostOnce),
        )
        .await
        .expect("publish");
    }
    // Every QoS 0 message reached the subscriber's client before this one
    // (the broker keeps one publisher's order).
    within(
        "publish",
        publisher.publish("burst/end", "", QoS::AtLeastOnce),
    )
    .await
    .expect("publish");
    let mut received = 0u64;
    loop {
        let m = within("the burst", sub.next()).await.expect("a message");
        if m.topic.as_str() == "burst/end" {
            break;
        }
        received += 1;
    }
    let dropped = sub.dropped();
    assert!(dropped > 0, "a 16 KiB budget cannot hold the burst");
    assert_eq!(
        received + dropped,
        COUNT as u64,
        "every message is received or counted as dropped"
    );
    within("disconnect", subscriber.disconnect())
        .await
        .expect("disconnect");
    within("disconnect", publisher.disconnect())
        .await
        .expect("disconnect");
}

#[test]
fn unmatched_flood_stays_within_budget() {
    let broker = Mosquitto::start("max_queued_messages 200000\nmax_queued_bytes 0");
    block_on_tokio(Box::pin(unmatched_flood::<mqtt_tokio::Tokio>(&broker)));
}

#[test]
fn tokio_retained_burst_arrives_whole() {
    let broker = Mosquitto::start("");
    block_on_tokio(Box::pin(retained_burst::<mqtt_tokio::Tokio>(&broker)));
}

#[test]
fn async_std_retained_burst_arrives_whole() {
    let broker = Mosquitto::start("");
    async_std::task::block_on(Box::pin(retained_burst::<mqtt_async_std::AsyncStd>(
        &broker,
    )));
}

#[test]
fn smol_retained_burst_arrives_whole() {
    let broker = Mosquitto::start("");
    smol::block_on(Box::pin(retained_burst::<Smol>(&broker)));
}

#[test]
fn tokio_qos0_drops_are_counted() {
    let broker = Mosquitto::start("");
    block_on_tokio(Box::pin(drops_are_counted::<mqtt_tokio::Tokio>(&broker)));
}

#[test]
fn async_std_qos0_drops_are_counted() {
    let broker = Mosquitto::start("");
    async_std::task::block_on(Box::pin(drops_are_counted::<mqtt_async_std::AsyncStd>(
        &broker,
    )));
}

#[test]
fn smol_qos0_drops_are_counted() {
    let broker = Mosquitto::start("");
    smol::block_on(Box::pin(drops_are_counted::<Smol>(&broker)));
}
