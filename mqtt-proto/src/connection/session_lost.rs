//! A session the broker no longer has. A CONNACK with Session Present 0
//! means the broker keeps nothing of the session [MQTT-3.2.2-2]: not the
//! subscriptions, not the QoS 2 messages it had received but not released.
//! Real brokers do this to a persistent session too (a restart without
//! persistence, an expiry). Exactly-once cannot be kept across that for a
//! QoS 2 message whose PUBLISH may have reached the broker and no PUBREC
//! came back: the broker may already have passed it on, and sending it
//! again as a new message can deliver it twice. [`SessionLostPolicy`] says
//! what the connection does with those messages; `Event::SessionLost`
//! names the affected messages either way.
//!
//! QoS 1 messages are always sent again (at least once allows a copy). A
//! QoS 2 message already PUBREC'd is treated like one still awaiting its
//! PUBREC: the broker had taken ownership, but may have lost it with the
//! session (a broker that passes QoS 2 messages on only at PUBREL does).

use super::{Connection, Event};
use crate::store::StoreOp;

/// What to do with QoS 2 messages in flight when the broker lost the
/// session ([`Options::session_lost`](super::Options::session_lost)).
///
/// ```
/// use mqtt_proto::{Connection, Event, Instant, Message, MqttString, Options, QoS, SessionLostPolicy};
///
/// let options = Options::new(MqttString::try_from("doc").unwrap())
///     .clean_session(false)
///     .session_lost(SessionLostPolicy::Fail);
/// let mut conn = Connection::new(options).unwrap();
/// let now = Instant::ZERO;
/// conn.connect(now);
/// conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
/// let id = conn.publish(Message::new("t", "once", QoS::ExactlyOnce).unwrap()).unwrap();
/// while conn.poll_transmit(now).is_some() {} // PUBLISH sent, no PUBREC yet
/// conn.handle_closed(now);
///
/// conn.connect(now);
/// conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK: the session is gone
/// let lost = std::iter::from_fn(|| conn.poll_event())
///     .find(|e| matches!(e, Event::SessionLost { .. }));
/// assert_eq!(lost, Some(Event::SessionLost { resent: vec![], failed: vec![id] }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SessionLostPolicy {
    /// Send them again as new messages: nothing is lost, but a subscriber
    /// may get one twice (at least once). The default.
    #[default]
    ResendAsNew,
    /// Give them up: they end without `Event::Published`, listed as
    /// `failed` in `Event::SessionLost`, and the application decides
    /// whether to publish them again (at most once).
    Fail,
}

impl Connection {
    /// The broker has no session for us [MQTT-3.1.2-6]: forget QoS 2 ids
    /// and owed acks, apply the policy to the messages in flight, and
    /// report what it touched.
    pub(super) fn discard_session(&mut self) {
        if self.incoming.qos2_len() > 0 {
            self.record(|| StoreOp::ForgetIncoming);
        }
        self.incoming.clear();
        let fail = self.options.session_lost == SessionLostPolicy::Fail;
        let loss = self.outgoing.requeue_after_session_loss(fail);
        // Every message that had an id is queued again without it, except
        // those given up.
        for &id in &loss.requeued {
            self.record(|| StoreOp::Unsent { id });
        }
        for &id in &loss.failed {
            self.record(|| StoreOp::Done { id });
        }
        for pid in loss.freed {
            self.ids.release(pid);
        }
        let expected_a_session = !self.options.clean_session && self.connected_once;
        if expected_a_session || !loss.resent.is_empty() || !loss.failed.is_empty() {
            self.events.push_back(Event::SessionLost {
                resent: loss.resent,
                failed: loss.failed,
            });
        }
    }
}
