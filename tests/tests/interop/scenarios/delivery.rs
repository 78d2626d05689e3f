//! Messages both ways: every QoS pair, overlapping subscriptions,
//! unsubscribe, large payloads.

use super::{collect, options, text, LEVELS};
use crate::record::Ctx;
use mqtt_client::{QoS, Runtime, SubscribeOutcome};
use mqtt_integration_tests::interop::Broker;
use mqtt_integration_tests::steps::{
    connect, disconnect, expect_silence, publish, recv, subscribe, within, QUIET, STEP,
};
use std::collections::BTreeMap;

/// Every pair of subscription QoS and publish QoS: the client publishes at
/// each level (completing on PUBACK or PUBCOMP) and receives at
/// min(published, granted) [MQTT-3.8.4-6], QoS 2 exactly once. A broker may
/// grant less than asked [MQTT-3.8.4-6]; which it grants is recorded.
pub async fn qos_both_ways<R: Runtime>(ctx: Ctx) {
    let broker = Broker::start(ctx.kind());
    let receiver = connect::<R>(options(&broker, "qos-receiver")).await;
    let sender = connect::<R>(options(&broker, "qos-sender")).await;
    let mut subs = Vec::new();
    let mut lowered = Vec::new();
    for asked in LEVELS {
        let filter = format!("it/qos/sub{}/+", asked as u8);
        let sub = within(STEP, "subscribe", receiver.subscribe(&filter, asked))
            .await
            .unwrap_or_else(|e| panic!("subscribe {filter}: {e}"));
        let granted = match sub.outcomes() {
            [SubscribeOutcome::Granted(granted)] => *granted,
            other => panic!("{filter}: one granted QoS expected, got {other:?}"),
        };
        assert!(
            granted <= asked,
            "{filter}: granted {granted:?} > {asked:?}"
        );
        if granted != asked {
            lowered.push(format!("{} for {}", granted as u8, asked as u8));
        }
        subs.push((sub, granted));
    }
    let grants = if lowered.is_empty() {
        "as requested".to_owned()
    } else {
        format!("lowered: {}", lowered.join(", "))
    };
    ctx.note("granted QoS", &grants);

    for asked in LEVELS {
        for level in LEVELS {
            let topic = format!("it/qos/sub{}/pub{}", asked as u8, level as u8);
            let payload = format!("s{}p{}", asked as u8, level as u8);
            publish(&sender, &topic, payload, level).await;
        }
    }
    let mut duplicates = 0;
    let mut wrong_level = std::collections::BTreeSet::new();
    for (sub, granted) in &mut subs {
        let got = collect(sub, 3, "one message per publish QoS").await;
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for m in &got {
            let published = LEVELS
                .into_iter()
                .find(|l| m.topic.ends_with(&format!("pub{}", *l as u8)))
                .unwrap_or_else(|| panic!("unexpected topic {}", m.topic));
            let expected = published.min(*granted);
            if m.qos != expected {
                // The client took it at the QoS it came with, whatever the
                // broker got wrong.
                wrong_level.insert(format!(
                    "QoS {} for a QoS {} publish to a QoS {} subscription",
                    m.qos as u8, published as u8, *granted as u8
                ));
            }
            let expected = format!("s{}p{}", granted_from(&m.topic), published as u8);
            assert_eq!(text(m), expected, "payload of {m:?}");
            *counts.entry(m.topic.to_string()).or_default() += 1;
            if m.qos == QoS::ExactlyOnce {
                assert_eq!(counts[m.topic.as_str()], 1, "QoS 2 twice: {got:?}");
            }
        }
        assert_eq!(counts.len(), 3, "one of each: {got:?}");
        duplicates += got.len() - counts.len();
    }
    // QoS 1 may arrive twice; on a healthy loopback connection it should not.
    assert_eq!(duplicates, 0, "duplicates without any fault");
    for wrong in wrong_level {
        ctx.note(
            "delivery QoS",
            &format!("broker bug [MQTT-3.8.4-6]: {wrong}"),
        );
    }
    disconnect(&receiver).await;
    disconnect(&sender).await;
}

/// The subscription QoS a `it/qos/sub<n>/pub<m>` topic was published for.
fn granted_from(topic: &str) -> char {
    topic
        .split('/')
        .nth(2)
        .and_then(|s| s.chars().last())
        .unwrap_or('?')
}

/// Two subscriptions of one client match a message: the broker delivers
/// at least one copy at the higher QoS, and MAY send one more per further
/// subscription at its own QoS [MQTT-3.3.5-1]. Which it does is recorded.
/// The client hands every copy the broker sends to every matching
/// subscription, so both handles see the same copies.
pub async fn overlapping_subscriptions<R: Runtime>(ctx: Ctx) {
    let broker = Broker::start(ctx.kind());
    let client = connect::<R>(options(&broker, "overlap-sub")).await;
    let mut wide = subscribe(&client, "it/ov/#", QoS::AtLeastOnce).await;
    let mut narrow = subscribe(&client, "it/ov/+", QoS::ExactlyOnce).await;
    let sender = connect::<R>(options(&broker, "overlap-pub")).await;
    publish(&sender, "it/ov/x", "one", QoS::ExactlyOnce).await;

    let from_wide = collect(&mut wide, 1, "it/ov/x on it/ov/#").await;
    let from_narrow = collect(&mut narrow, 1, "it/ov/x on it/ov/+").await;
    let mut levels: Vec<u8> = from_wide.iter().map(|m| m.qos as u8).collect();
    levels.sort_unstable();
    let mut narrow_levels: Vec<u8> = from_narrow.iter().map(|m| m.qos as u8).collect();
    narrow_levels.sort_unstable();
    assert_eq!(levels, narrow_levels, "both handles get every copy");
    assert!(
        levels.contains(&2),
        "one copy at the highest matching QoS [MQTT-3.3.5-1]: {from_wide:?}"
    );
    for m in &from_wide {
        assert_eq!((m.topic.as_str(), text(m).as_str()), ("it/ov/x", "one"));
    }
    let outcome = match levels.as_slice() {
        [2] => "one copy, at the highest QoS".to_owned(),
        more => format!(
            "one copy per subscription (QoS {})",
            more.iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    };
    ctx.note("overlapping subscriptions", &outcome);
    disconnect(&client).await;
    disconnect(&sender).await;
}

/// After UNSUBACK [MQTT-3.10.4-4] the broker adds no new messages for the
/// filter [MQTT-3.10.4-2] (watched on the client's unmatched-message
/// handle), while the handle's other filter goes on; unsubscribing the
/// last filter ends the handle cleanly.
pub async fn unsubscribe<R: Runtime>(ctx: Ctx) {
    let broker = Broker::start(ctx.kind());
    let client = connect::<R>(options(&broker, "unsub")).await;
    let mut stray = within(STEP, "unmatched()", client.unmatched())
        .await
        .expect("the unmatched-message handle");
    let filters = [("it/un/a", QoS::AtLeastOnce), ("it/un/b", QoS::AtLeastOnce)];
    let mut sub = within(STEP, "subscribe_many", client.subscribe_many(&filters))
        .await
        .expect("subscribe");
    within(STEP, "UNSUBACK", sub.unsubscribe_filter("it/un/a"))
        .await
        .expect("unsubscribe it/un/a");
    let sender = connect::<R>(options(&broker, "unsub-pub")).await;
    publish(&sender, "it/un/a", "a", QoS::AtLeastOnce).await;
    publish(&sender, "it/un/b", "b", QoS::AtLeastOnce).await;
    let m = recv(&mut sub, "it/un/b").await;
    assert_eq!((m.topic.as_str(), text(&m).as_str()), ("it/un/b", "b"));
    expect_silence(&mut sub, QUIET, "the handle after unsubscribing it/un/a").await;
    expect_silence(
        &mut stray,
        QUIET,
        "it/un/a after its UNSUBACK [MQTT-3.10.4-2]",
    )
    .await;
    within(STEP, "unsubscribe the handle", sub.unsubscribe())
        .await
        .expect("unsubscribe it/un/b");
    publish(&sender, "it/un/b", "b2", QoS::AtLeastOnce).await;
    expect_silence(
        &mut stray,
        QUIET,
        "it/un/b after its UNSUBACK [MQTT-3.10.4-2]",
    )
    .await;
    disconnect(&client).await;
    disconnect(&sender).await;
}

/// Payloads of 0 bytes, 256 KiB and 4 MiB come back intact, at QoS 1 and 2
/// (the brokers are configured for packets up to 20 MB, the client for the
/// same).
pub async fn large_payloads<R: Runtime>(ctx: Ctx) {
    let broker = Broker::start(ctx.kind());
    let big = |id| options(&broker, id).max_packet_size(20_000_000);
    let receiver = connect::<R>(big("big-receiver")).await;
    let mut sub = subscribe(&receiver, "it/big/+", QoS::ExactlyOnce).await;
    let sender = connect::<R>(big("big-sender")).await;
    let cases = [
        ("empty", 0, QoS::AtLeastOnce),
        ("quarter", 256 << 10, QoS::AtLeastOnce),
        ("four", 4 << 20, QoS::ExactlyOnce),
    ];
    for (name, len, qos) in cases {
        let payload: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let topic = format!("it/big/{name}");
        within(
            STEP * 4,
            "a large publish",
            sender.publish(&topic, payload.clone(), qos),
        )
        .await
        .unwrap_or_else(|e| panic!("publish {len} bytes: {e}"));
        let m = within(STEP * 4, "a large message", sub.next())
            .await
            .unwrap_or_else(|| panic!("the subscription ended before {topic}"));
        assert_eq!(m.topic.as_str(), topic.as_str());
        if m.qos != qos {
            // min(published, granted) [MQTT-3.8.4-6]; the client took it at
            // the QoS it came with.
            ctx.note(
                "delivery QoS",
                &format!(
                    "broker bug [MQTT-3.8.4-6]: QoS {} sent for a QoS {} publish",
                    m.qos as u8, qos as u8
                ),
            );
        }
        assert_eq!(m.payload.len(), len, "{topic}: length");
        assert!(m.payload == payload, "{topic}: content differs");
    }
    disconnect(&receiver).await;
    disconnect(&sender).await;
}
