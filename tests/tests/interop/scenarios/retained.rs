//! Retained messages and topics that begin with `$`.

use super::{collect, maybe_next, options, text};
use crate::record::Ctx;
use mqtt_client::{QoS, Runtime, SubscribeOutcome};
use mqtt_integration_tests::interop::Broker;
use mqtt_integration_tests::steps::{
    connect, disconnect, publish, recv, subscribe, timeout, within, STEP,
};
use std::time::Duration;

/// Retained messages reach a new subscription with RETAIN 1
/// [MQTT-3.3.1-6] [MQTT-3.3.1-8] and an established one with RETAIN 0
/// [MQTT-3.3.1-9]; an empty retained message is delivered as usual and
/// clears the topic [MQTT-3.3.1-10] [MQTT-3.3.1-11]. The order of several
/// retained messages on a wildcard subscription is the broker's choice and
/// is recorded.
pub async fn retained<R: Runtime>(ctx: Ctx) {
    let broker = Broker::start(ctx.kind());
    let sender = connect::<R>(options(&broker, "ret-pub")).await;
    for (topic, payload) in [("it/ret/a", "A"), ("it/ret/b", "B"), ("it/ret/c", "C")] {
        within(
            STEP,
            "publish_retained",
            sender.publish_retained(topic, payload, QoS::AtLeastOnce),
        )
        .await
        .unwrap_or_else(|e| panic!("retain {topic}: {e}"));
    }
    let first = connect::<R>(options(&broker, "ret-sub1")).await;
    let mut sub = subscribe(&first, "it/ret/+", QoS::AtLeastOnce).await;
    let got = collect(&mut sub, 3, "three retained messages").await;
    // The order across topics is the broker's to choose, and some brokers
    // choose differently from run to run: only that each came once counts.
    let mut order = Vec::new();
    if got.len() > 3 {
        // At QoS 1 a copy too many is allowed; record it.
        ctx.note("retained messages on subscribing", "sent more than once");
    }
    for m in got.iter().take(3) {
        assert!(
            m.retain,
            "RETAIN 1 on a new subscription [MQTT-3.3.1-8]: {m:?}"
        );
        let name = m.topic.rsplit('/').next().unwrap_or_default();
        assert_eq!(text(m), name.to_uppercase(), "{m:?}");
        order.push(name.to_owned());
    }
    let mut distinct = order.clone();
    distinct.sort();
    assert_eq!(distinct, ["a", "b", "c"], "each retained message: {got:?}");

    within(
        STEP,
        "publish_retained",
        sender.publish_retained("it/ret/a", "A2", QoS::AtLeastOnce),
    )
    .await
    .expect("replace it/ret/a");
    let live = recv(&mut sub, "the replaced it/ret/a").await;
    assert_eq!(text(&live), "A2");
    assert!(
        !live.retain,
        "RETAIN 0 on an established subscription [MQTT-3.3.1-9]"
    );
    within(
        STEP,
        "publish_retained",
        sender.publish_retained("it/ret/b", "", QoS::AtLeastOnce),
    )
    .await
    .expect("clear it/ret/b");
    let cleared = recv(&mut sub, "the empty it/ret/b").await;
    assert_eq!(cleared.topic.as_str(), "it/ret/b");
    assert!(
        cleared.payload.is_empty() && !cleared.retain,
        "{cleared:?} [MQTT-3.3.1-10]"
    );

    let second = connect::<R>(options(&broker, "ret-sub2")).await;
    let mut late = subscribe(&second, "it/ret/+", QoS::AtLeastOnce).await;
    let mut now: Vec<(String, String)> = collect(&mut late, 2, "what is retained now")
        .await
        .iter()
        .map(|m| {
            assert!(m.retain, "{m:?}");
            (m.topic.to_string(), text(m))
        })
        .collect();
    now.sort();
    now.dedup();
    assert_eq!(
        now,
        [
            ("it/ret/a".to_owned(), "A2".to_owned()),
            ("it/ret/c".to_owned(), "C".to_owned())
        ],
        "a replaced, b cleared [MQTT-3.3.1-10] [MQTT-3.3.1-11]"
    );
    for client in [&sender, &first, &second] {
        disconnect(client).await;
    }
}

/// A filter that begins with a wildcard never matches a topic that begins
/// with `$` [MQTT-4.7.2-1]: a `#` subscription sees `it/x` but neither a
/// client's `$it/x` nor any `$SYS` topic. Whether a client may publish to
/// a `$` topic at all, and whether the broker has `$SYS` topics, are the
/// broker's choices and are recorded.
pub async fn dollar_topics<R: Runtime>(ctx: Ctx) {
    let broker = Broker::start(ctx.kind());
    let watcher = connect::<R>(options(&broker, "dollar-all")).await;
    let mut all = subscribe(&watcher, "#", QoS::AtLeastOnce).await;
    let explicit_client = connect::<R>(options(&broker, "dollar-explicit")).await;
    // Every SUBSCRIBE gets a SUBACK [MQTT-3.8.4-1]; not waited for forever.
    let subscribing = explicit_client.subscribe("$it/#", QoS::AtLeastOnce);
    let mut explicit = match timeout(Duration::from_secs(2), subscribing).await {
        Ok(result) => Some(result.expect("subscribe $it/#")),
        Err(()) => {
            ctx.note(
                "a subscription to $it/#",
                "broker bug [MQTT-3.8.4-1]: no SUBACK",
            );
            None
        }
    };
    let explicit_granted = explicit
        .as_ref()
        .is_some_and(|e| matches!(e.outcomes(), [SubscribeOutcome::Granted(_)]));

    // A client of its own publishes to the $ topic: a broker may refuse
    // it by closing the connection.
    let dollar_sender = connect::<R>(options(&broker, "dollar-pub-dollar")).await;
    let dollar = timeout(
        Duration::from_secs(2),
        dollar_sender.publish("$it/x", "dollar", QoS::AtLeastOnce),
    )
    .await;
    drop(dollar_sender);
    let sender = connect::<R>(options(&broker, "dollar-pub")).await;
    publish(&sender, "it/x", "plain", QoS::AtLeastOnce).await;

    let mut seen = Vec::new();
    while let Some(m) = maybe_next(&mut all, Duration::from_secs(2)).await {
        seen.push(m);
    }
    if !seen.iter().any(|m| m.topic.as_str() == "it/x") {
        // `#` matches every topic but those beginning with `$` (4.7.1.2,
        // 4.7.2). Delivery itself works: a narrower filter gets it.
        let mut narrow = subscribe(&watcher, "it/#", QoS::AtLeastOnce).await;
        publish(&sender, "it/x", "plain", QoS::AtLeastOnce).await;
        let m = collect(&mut narrow, 1, "it/x on it/#").await;
        assert_eq!(m[0].topic.as_str(), "it/x");
        ctx.note("a # subscription", "broker bug (4.7.1.2): receives nothing");
    }
    let leaked: Vec<_> = seen.iter().filter(|m| m.topic.starts_with('$')).collect();
    assert!(
        leaked.is_empty(),
        "# matched $ topics [MQTT-4.7.2-1]: {leaked:?}"
    );

    let outcome = match (&dollar, explicit_granted) {
        (Err(()), _) | (Ok(Err(_)), _) => "refused: the broker closes the connection".to_owned(),
        (Ok(Ok(())), false) => "the subscription to $it/# was refused".to_owned(),
        (Ok(Ok(())), true) => {
            match maybe_next(explicit.as_mut().expect("granted"), Duration::from_secs(1)).await {
                Some(m) => {
                    assert_eq!((m.topic.as_str(), text(&m).as_str()), ("$it/x", "dollar"));
                    "delivered to a $it/# subscription".to_owned()
                }
                None => "accepted, delivered to nobody".to_owned(),
            }
        }
    };
    ctx.note("a client publishing to $it/x", &outcome);

    let sys_client = connect::<R>(options(&broker, "dollar-sys")).await;
    let subscribing = sys_client.subscribe("$SYS/#", QoS::AtMostOnce);
    let outcome = match timeout(Duration::from_secs(2), subscribing).await {
        Err(()) => "broker bug [MQTT-3.8.4-1]: no SUBACK for $SYS/#",
        Ok(result) => {
            let mut sys = result.expect("subscribe $SYS/#");
            match maybe_next(&mut sys, Duration::from_secs(1)).await {
                Some(m) if m.retain => "retained, sent on subscribing",
                Some(_) | None => "none retained",
            }
        }
    };
    ctx.note("$SYS topics", outcome);
    // Still nothing with a $ on the # subscription, $SYS included.
    while let Some(m) = maybe_next(&mut all, Duration::from_millis(300)).await {
        assert!(!m.topic.starts_with('$'), "# matched {m:?} [MQTT-4.7.2-1]");
    }
    drop(explicit);
    drop(explicit_client);
    drop(sys_client);
    for client in [&watcher, &sender] {
        disconnect(client).await;
    }
}
