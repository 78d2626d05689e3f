//! The invariants checked once a schedule has drained: every accepted
//! publish completed once (or, under `SessionLostPolicy::Fail`, was given
//! up after a lost session and then never completed nor arrived twice),
//! and reached the subscriber as its QoS promises. A client that gave up
//! after a final refusal ended its run there: what it had not done by then
//! is not owed.
//!
//! At 5.0 besides: a publish the broker refused with an error code (every
//! copy of it, by its payload) is reported once, with that code, never as
//! a success, and never delivered; one above the broker's Maximum Packet
//! Size is refused by the client itself (`PacketTooLarge`) and never sent
//! (the broker checks the size of every packet); a message delivered
//! through topic aliases arrives on its own topic.

use super::world::{World, PUBLISHER, SUBSCRIBER};
use super::Sent;
use bytes::Bytes;
use mqtt_proto::packet::v5::ReasonCode;
use mqtt_proto::{Event, PublishId, QoS};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The message number of a payload `m<n>`.
fn number(payload: &Bytes) -> Result<u64, String> {
    let text = std::str::from_utf8(payload).map_err(|e| e.to_string())?;
    text.strip_prefix('m')
        .and_then(|v| v.split(' ').next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("unknown payload {text:?}"))
}

/// What the checks counted.
#[derive(Debug, Default)]
pub(super) struct Checked {
    /// Publishes the client refused as above the broker's Maximum Packet
    /// Size, and ones the broker refused, reported with its code.
    pub too_large: u64,
    pub refused: u64,
}

pub(super) fn check(w: &World, sent: &BTreeMap<u64, Sent>) -> Result<Checked, String> {
    // Completions: each accepted publish completed exactly once, at 5.0
    // maybe with a reason code.
    let mut completed: HashMap<PublishId, u32> = HashMap::new();
    let mut reasons: HashMap<PublishId, ReasonCode> = HashMap::new();
    for e in &w.clients[PUBLISHER].events {
        match e {
            Event::Published { id } => *completed.entry(*id).or_default() += 1,
            Event::PublishAcked { id, reason, .. } => {
                *completed.entry(*id).or_default() += 1;
                reasons.insert(*id, *reason);
            }
            _ => {}
        }
    }
    let mut checked = Checked::default();
    let max_packet = w
        .broker
        .v5()
        .and_then(|v5| v5.maximum_packet_size)
        .map(|m| m as usize);
    let too_large = |s: &Sent| max_packet.is_some_and(|m| s.size > m);
    let dropped = |s: &Sent| too_large(s) || s.refusal.is_some();
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
        // The outcome reported is the one the message had.
        let reason = reasons.get(&s.id).copied();
        match reason {
            Some(ReasonCode::PacketTooLarge) if too_large(s) => checked.too_large += 1,
            Some(r) if r.is_error() && s.refusal == Some(r) && !too_large(s) => {
                checked.refused += 1
            }
            Some(r) if r.is_error() => {
                return Err(format!(
                    "m{n} ({} bytes) reported refused with {r:?}; the broker refuses it with \
                     {:?}, and takes packets up to {max_packet:?} bytes",
                    s.size, s.refusal
                ))
            }
            _ if dropped(s) && completed.contains_key(&s.id) => {
                return Err(format!(
                    "m{n} ({} bytes, refused by the broker with {:?}, maximum packet size \
                     {max_packet:?}) was reported as {reason:?}",
                    s.size, s.refusal
                ))
            }
            _ => {}
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
            // Through the broker's topic aliases too, on its own topic.
            if message.topic.as_str() != format!("sim/{}", n % 5) {
                return Err(format!("subscriber got m{n} on {}", message.topic));
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
        if dropped(s) {
            if got > 0 {
                return Err(format!(
                    "m{n}, refused ({:?}, {} bytes), delivered {got} times",
                    s.refusal, s.size
                ));
            }
            continue;
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
    Ok(checked)
}
