//! rumqttc 0.25's MQTT 5.0 client (`rumqttc::v5`), the reference of the
//! `v5` phase: the throughput phase's publisher and subscriber, as in
//! `theirs.rs` (an `AsyncClient`, an `EventLoop` polled by a task) with
//! the 5.0 types. Plain TCP only: the phase has no TLS runs.

use crate::measure::{payload, usage, watch, Seen, Tally};
use crate::split::{self, combined_line, sub_line, unix_ns, SubProcess};
use crate::{Phase, CHANNEL, INFLIGHT};
use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use rumqttc::Outgoing;
use std::time::{Duration, Instant};

fn qos(q: u8) -> QoS {
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// The 3.1.1 client's settings (`theirs::new_client`) in their 5.0 form:
/// the inflight window is an upper limit on the broker's Receive Maximum,
/// the request channel's capacity is `AsyncClient::new`'s, and TCP_NODELAY
/// goes through the options rather than the event loop.
fn new_client(phase: &Phase, id: &str) -> (AsyncClient, EventLoop) {
    assert!(phase.tls.is_none(), "the v5 phase runs over TCP only");
    let mut options = MqttOptions::new(
        format!("rumqttc-v5-{}-{id}", std::process::id()),
        "127.0.0.1",
        phase.port,
    );
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    options
        .set_keep_alive(Duration::from_secs(60))
        .set_outgoing_inflight_upper_limit(INFLIGHT)
        .set_request_channel_capacity(CHANNEL)
        .set_network_options(network);
    AsyncClient::new(options, CHANNEL)
}

/// Polls until CONNACK (and SUBACK when `subscribed`), failing on errors.
async fn ready(eventloop: &mut EventLoop, subscribed: bool) {
    let mut connected = false;
    let mut acked = !subscribed;
    while !(connected && acked) {
        match eventloop.poll().await.expect("rumqttc 5.0 poll") {
            Event::Incoming(Packet::ConnAck(_)) => connected = true,
            Event::Incoming(Packet::SubAck(_)) => acked = true,
            _ => {}
        }
    }
}

/// Polls a publisher's event loop until it disconnects.
fn drive(mut eventloop: EventLoop) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
}

/// The publishing side; the subscriber runs in a process of its own
/// (`split.rs`, `subscriber` below).
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

/// The subscribing side, in a child of its own.
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
                    Ok(Event::Incoming(Packet::Publish(p))) => seen.record(&tally, &p.payload),
                    Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => break,
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
