//! The connection's life: wills, keep-alive, and MQTT 3.1.

use super::{collect, options, text, LEVELS};
use crate::record::Ctx;
use mqtt_client::mqtt_proto::packet::ConnectReturnCode;
use mqtt_client::{Error, QoS, Runtime};
use mqtt_integration_tests::interop::Broker;
use mqtt_integration_tests::proxy::Proxy;
use mqtt_integration_tests::steps::{
    self, blocking, connect, disconnect, drain_events, events, expect_silence, is_disconnected,
    publish, recv, sleep, subscribe, within, QUIET, STEP,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A client that says DISCONNECT leaves no will [MQTT-3.1.2-10]
/// [MQTT-3.14.4-3]; one whose network connection fails has its will
/// published [MQTT-3.1.2-8]. How soon is recorded.
pub async fn will<R: Runtime>(ctx: Ctx) {
    let broker = Broker::start(ctx.kind());
    let watcher = connect::<R>(options(&broker, "will-watch")).await;
    let mut wills = subscribe(&watcher, "it/will/+", QoS::AtLeastOnce).await;

    let polite = options(&broker, "will-polite").last_will(
        "it/will/polite",
        "polite",
        QoS::AtLeastOnce,
        false,
    );
    let polite = connect::<R>(polite).await;
    disconnect(&polite).await;

    let proxy = Proxy::start(broker.addr());
    let doomed = steps::options(proxy.port())
        .client_id("will-doomed")
        .last_will("it/will/doomed", "gone", QoS::AtLeastOnce, false);
    let doomed = connect::<R>(doomed).await;
    let cut = Instant::now();
    proxy.cut();
    let m = recv(&mut wills, "the will of the lost connection [MQTT-3.1.2-8]").await;
    let after = cut.elapsed();
    assert_eq!(
        (m.topic.as_str(), text(&m).as_str(), m.qos),
        ("it/will/doomed", "gone", QoS::AtLeastOnce),
        "the first will must be the lost client's, never the polite one's [MQTT-3.1.2-10]"
    );
    expect_silence(&mut wills, QUIET, "a second will").await;
    let outcome = if after < Duration::from_secs(1) {
        "at once".to_owned()
    } else {
        format!("after about {} s", after.as_secs())
    };
    ctx.note("will on a lost connection", &outcome);
    drop(doomed);
    disconnect(&watcher).await;
}

/// With a 1 s keep-alive and nothing to send, the client's PINGREQs
/// [MQTT-3.1.2-23] are answered [MQTT-3.12.4-1] and the connection stays
/// up for several periods. A raw client that goes silent is cut off by the
/// broker after one and a half periods [MQTT-3.1.2-24]; when is recorded.
pub async fn keep_alive<R: Runtime>(ctx: Ctx) {
    let broker = Broker::start(ctx.kind());
    let client = connect::<R>(options(&broker, "ka").keep_alive(Duration::from_secs(1))).await;
    let events = events(&client, false).await;
    sleep(Duration::from_millis(3500)).await;
    let seen = drain_events(&events);
    assert!(
        !seen.iter().any(is_disconnected),
        "an idle connection with keep-alive 1 s dropped: {seen:?}"
    );
    let mut sub = subscribe(&client, "it/ka", QoS::AtLeastOnce).await;
    publish(&client, "it/ka", "still here", QoS::AtLeastOnce).await;
    assert_eq!(text(&recv(&mut sub, "it/ka").await), "still here");
    disconnect(&client).await;

    let addr = broker.addr();
    let silent = blocking(move || silent_client(addr)).await;
    let outcome = match silent {
        Some(after) if after <= Duration::from_secs(3) => "within 1.5 periods".to_owned(),
        Some(after) => format!("after about {} s", after.as_secs()),
        None => "broker bug [MQTT-3.1.2-24]: still connected after 6 s".to_owned(),
    };
    ctx.note(
        "a silent client with keep-alive 1 s is disconnected",
        &outcome,
    );
}

/// Connects a raw MQTT 3.1.1 client with a 1 s keep-alive, reads CONNACK,
/// then sends nothing: how long until the broker closes the connection
/// (`None`: not within 6 s).
fn silent_client(addr: SocketAddr) -> Option<Duration> {
    let mut stream = TcpStream::connect(addr).expect("connect the silent client");
    // CONNECT: "MQTT", level 4, clean session, keep-alive 1 s, id "silent".
    let connect = [
        0x10, 18, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 1, 0, 6, b's', b'i', b'l', b'e', b'n',
        b't',
    ];
    stream.write_all(&connect).expect("send CONNECT");
    stream
        .set_read_timeout(Some(Duration::from_secs(6)))
        .expect("read timeout");
    let mut connack = [0u8; 4];
    stream.read_exact(&mut connack).expect("CONNACK");
    assert_eq!(connack, [0x20, 2, 0, 0], "CONNACK accepted");
    let since = Instant::now();
    let mut rest = [0u8; 64];
    loop {
        match stream.read(&mut rest) {
            Ok(0) => return Some(since.elapsed()),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(since.elapsed())
            }
            Err(_) => return None,
        }
    }
}

/// MQTT 3.1 ("MQIsdp", level 3) end to end. A broker without 3.1 answers
/// CONNACK 1 [MQTT-3.1.2-2], which the client reports as a refusal. A
/// broker with it: messages at every QoS, retained messages, and a
/// persistent session whose QoS 2 messages in flight survive a network
/// failure exactly once. MQTT 3.1's CONNACK has no Session Present flag;
/// the client treats a connection with clean session 0 as resuming its
/// session (and subscribes again, since nothing tells whether the broker
/// kept the subscriptions).
pub async fn mqtt_v31<R: Runtime>(ctx: Ctx) {
    let broker = Broker::start(ctx.kind());
    let v31 = |id: &str| options(&broker, id).mqtt_v31();
    let first = mqtt_integration_tests::on_smol::connect::<R>(v31("v31-sub"));
    let receiver = match within(STEP, "connect with MQTT 3.1", first).await {
        Ok(client) => client,
        Err(Error::Refused(ConnectReturnCode::UnacceptableProtocolVersion)) => {
            ctx.note("MQTT 3.1", "refused with return code 1");
            return;
        }
        Err(e) => {
            ctx.note(
                "MQTT 3.1",
                "broker bug [MQTT-3.1.2-2]: refused without CONNACK 1",
            );
            assert!(
                matches!(
                    e,
                    Error::Io(_) | Error::ClosedBeforeConnAck | Error::Timeout
                ),
                "a typed connection error: {e:?}"
            );
            return;
        }
    };
    ctx.note("MQTT 3.1", "accepted");
    let mut sub = subscribe(&receiver, "it/v31/+", QoS::ExactlyOnce).await;
    let sender = connect::<R>(v31("v31-pub")).await;
    for level in LEVELS {
        publish(&sender, &format!("it/v31/q{}", level as u8), "v31", level).await;
    }
    let got = collect(&mut sub, 3, "3.1 messages at each QoS").await;
    let mut levels: Vec<QoS> = got.iter().map(|m| m.qos).collect();
    levels.sort();
    assert_eq!(levels, LEVELS, "{got:?}");
    within(
        STEP,
        "publish_retained",
        sender.publish_retained("it/v31/kept", "kept", QoS::AtLeastOnce),
    )
    .await
    .expect("retain");
    recv(&mut sub, "the retained message, live").await;
    let late = connect::<R>(v31("v31-late")).await;
    let mut late_sub = subscribe(&late, "it/v31/kept", QoS::AtLeastOnce).await;
    let kept = recv(&mut late_sub, "the retained message").await;
    assert!(kept.retain && text(&kept) == "kept", "{kept:?}");
    disconnect(&late).await;
    disconnect(&receiver).await;

    disconnect(&sender).await;
    // A persistent session through a network failure, as in 3.1.1.
    super::sessions::across_a_failure::<R>(&ctx, &broker, |o| o.mqtt_v31(), true).await;
}
