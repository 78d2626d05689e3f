//! The invariants checked once a schedule has drained: every accepted
//! publish completed once (or, under `SessionLostPolicy::Fail`, was given
//! up after a lost session and then never completed nor arrived twice),
//! and reached the subscriber as its QoS promises. A client that gave up
//! after a final refusal ended its run there: what it had not done by then
//! is not owed.

use super::world::{World, PUBLISHER, SUBSCRIBER};
use super::Sent;
use bytes::Bytes;
use mqtt_proto::{Event, PublishId, QoS};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The message number of a payload `m<n>`.
fn number(payload: &Bytes) -> Result<u64, String> {
    let text = std::str::from_utf8(payload).map_err(|e| e.to_string())?;
    text.strip_prefix('m')
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("unknown payload {text:?}"))
}

pub(super) fn check(w: &World, sent: &BTreeMap<u64, Sent>) -> Result<(), String> {
    // Completions: each accepted publish completed exactly once.
    let mut completed: HashMap<PublishId, u32> = HashMap::new();
    for e in &w.clients[PUBLISHER].events {
        if let Event::Published { id } = e {
            *completed.entry(*id).or_default() += 1;
        }
    }
    let publisher = &w.clients[PUBLISHER];
    let failed = &publisher.publishes.failed;
    for (n, s) in sent {
        match completed.get(&s.id) {
            Some(1) if failed.contains(&s.id) => {
                return Err(format!("message m{n} was given up, and completed"))
            }
            Some(1) => {}
            Some(k) => return Err(format!("message m{n} reported complete {k} times")),
            None if failed.contains(&s.id) || publisher.gave_up => {}
            None => return Err(format!("message m{n} ({:?}) never completed", s.qos)),
        }
    }
    // Every copy of a QoS 1 or 2 PUBLISH was acknowledged, every PUBREL
    // completed, on the connections still open [MQTT-4.3.2-2]
    // [MQTT-4.3.3-2] (earlier ones asserted it as they went).
    let unanswered = w.broker.unanswered();
    if !unanswered.is_empty() {
        return Err(format!("the client never answered {unanswered:?}"));
    }
    // Every violation the broker wrote ended its connection.
    if w.broker.violated_open() > 0 {
        return Err("a connection the broker broke the protocol on is still open".into());
    }
    // Messages the broker accepted but will never deliver: it forgot the
    // subscriber's session with them, or routed them while a forgotten or
    // refused subscription was not made again yet. The broker's loss, not
    // the client's; a well-behaved broker has none.
    let lost: BTreeSet<u64> = w
        .broker
        .lost_for("subscriber")
        .map(number)
        .collect::<Result<_, _>>()?;
    if !w.net.faults.misbehave && !lost.is_empty() {
        return Err(format!("the well-behaved broker lost {lost:?}"));
    }
    // QoS 2 messages in flight when the broker dropped the publisher's
    // session (CleanSession 1, or a forgetful broker): received and routed,
    // then forgotten before PUBREL. Whether the client learns of the loss
    // (session present 0) or not (that CONNACK was lost, and the next one
    // says present for the empty session made meanwhile), it sends them
    // again, and nothing tells them from new ones: exactly once holds only
    // within a session [MQTT-4.3.3-2].
    let relaxed: BTreeSet<u64> = w
        .broker
        .forgotten_qos2("publisher")
        .map(number)
        .collect::<Result<_, _>>()?;
    // Deliveries.
    let mut received: HashMap<u64, u32> = HashMap::new();
    for e in &w.clients[SUBSCRIBER].events {
        if let Event::Message { message, .. } = e {
            let n = number(&message.payload)?;
            if !sent.contains_key(&n) {
                return Err(format!("subscriber got m{n}, which was never accepted"));
            }
            *received.entry(n).or_default() += 1;
        }
    }
    // A subscriber that gave up missed what came after; a message the
    // publisher gave up (or did not get to send before giving up) may never
    // have reached the broker.
    let missed_ok = |s: &Sent| {
        w.clients[SUBSCRIBER].gave_up
            || failed.contains(&s.id)
            || (publisher.gave_up && !completed.contains_key(&s.id))
    };
    for (n, s) in sent {
        let got = received.get(n).copied().unwrap_or(0);
        if failed.contains(&s.id) && got > 1 {
            return Err(format!(
                "QoS 2 m{n}, given up after a lost session, delivered {got} times"
            ));
        }
        if got == 0 && missed_ok(s) {
            continue;
        }
        match s.qos {
            QoS::AtMostOnce if got > 1 => return Err(format!("QoS 0 m{n} delivered {got} times")),
            // [MQTT-4.3.2-2]: at least once, for messages the broker kept.
            QoS::AtLeastOnce if got == 0 && !lost.contains(n) => {
                return Err(format!("QoS 1 m{n} completed but never delivered"))
            }
            QoS::ExactlyOnce if got == 0 && !lost.contains(n) => {
                return Err(format!("QoS 2 m{n} completed but never delivered"))
            }
            // Only those may arrive twice, and those the client sent again
            // after a lost session (named in `SessionLost::resent`): a
            // PUBREC'd one may have completed at the broker already.
            QoS::ExactlyOnce
                if got > 1
                    && !relaxed.contains(n)
                    && !publisher.publishes.resent_ids.contains(&s.id) =>
            {
                return Err(format!("[MQTT-4.3.3-2] QoS 2 m{n} delivered {got} times"))
            }
            _ => {}
        }
    }
    Ok(())
}
