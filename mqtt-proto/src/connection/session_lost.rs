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
//! QoS 1 messages are always sent again (at least once allows a copy), and
//! messages already PUBREC'd are complete: the broker owned them.

use super::{Connection, Event};

/// What to do with QoS 2 messages in flight when the broker lost the
/// session ([`Options::session_lost`](super::Options::session_lost)).
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
        self.incoming.clear();
        let fail = self.options.session_lost == SessionLostPolicy::Fail;
        let loss = self.outgoing.requeue_after_session_loss(fail);
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
        for id in loss.completed {
            self.events.push_back(Event::Published { id });
        }
    }
}
