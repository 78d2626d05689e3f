//! Topic aliases of MQTT 5.0 (section 3.3.2.3.4), both ways. They live for
//! one network connection only [5.0 MQTT-3.3.2-7], so both maps are emptied on
//! every new transport.
//!
//! - Incoming: the broker may set an alias from 1 to our Topic Alias
//!   Maximum with a PUBLISH carrying a topic, then send that alias with an
//!   empty topic. An alias of 0 or above our maximum [5.0 MQTT-3.3.2-10], or an
//!   empty topic whose alias was never set, breaks the protocol.
//! - Outgoing: with `outgoing_topic_aliases` above 0, the first publishes
//!   to a topic set an alias (topic and alias sent together), later ones
//!   send only the alias, never above the broker's Topic Alias Maximum
//!   [5.0 MQTT-3.3.2-9]. Aliases are handed out first come, first served until
//!   they run out; topics after that go out in full.

use crate::topic::TopicName;
use alloc::collections::BTreeMap;

/// What the topic of an outgoing PUBLISH becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutgoingTopic {
    /// Send the topic as it is.
    Plain,
    /// Send the topic and this new alias.
    Set(u16),
    /// Send this alias with an empty topic.
    Use(u16),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct TopicAliases {
    incoming: BTreeMap<u16, TopicName>,
    incoming_max: u16,
    outgoing: BTreeMap<TopicName, u16>,
    outgoing_max: u16,
}

/// An incoming alias the protocol does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidAlias;

impl TopicAliases {
    /// A new connection: no alias is set; `incoming_max` is ours, and
    /// `outgoing_max` the smaller of ours and the broker's.
    pub(crate) fn reset(&mut self, incoming_max: u16, outgoing_max: u16) {
        self.incoming.clear();
        self.outgoing.clear();
        self.incoming_max = incoming_max;
        self.outgoing_max = outgoing_max;
    }

    /// The topic of an incoming PUBLISH, from its topic and alias.
    pub(crate) fn incoming(
        &mut self,
        topic: Option<TopicName>,
        alias: Option<u16>,
    ) -> Result<TopicName, InvalidAlias> {
        match (topic, alias) {
            (Some(topic), None) => Ok(topic),
            (_, Some(alias)) if alias == 0 || alias > self.incoming_max => Err(InvalidAlias),
            (Some(topic), Some(alias)) => {
                self.incoming.insert(alias, topic.clone());
                Ok(topic)
            }
            (None, Some(alias)) => self.incoming.get(&alias).cloned().ok_or(InvalidAlias),
            (None, None) => Err(InvalidAlias),
        }
    }

    /// How to send a PUBLISH to `topic`.
    pub(crate) fn outgoing(&mut self, topic: &TopicName) -> OutgoingTopic {
        if self.outgoing_max == 0 {
            return OutgoingTopic::Plain;
        }
        if let Some(&alias) = self.outgoing.get(topic) {
            return OutgoingTopic::Use(alias);
        }
        let next = self.outgoing.len() + 1;
        match u16::try_from(next) {
            Ok(alias) if alias <= self.outgoing_max => {
                self.outgoing.insert(topic.clone(), alias);
                OutgoingTopic::Set(alias)
            }
            _ => OutgoingTopic::Plain,
        }
    }

    /// Takes back the alias `outgoing` just set for `topic` (the PUBLISH
    /// went out without it). Only for the latest `Set`: aliases are handed
    /// out in order, so removing the last one leaves the map as it was.
    pub(crate) fn unset(&mut self, topic: &TopicName) {
        self.outgoing.remove(topic);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TopicName {
        TopicName::try_from(s).unwrap()
    }

    #[test]
    fn incoming_aliases_are_bounded_by_our_maximum() {
        let mut a = TopicAliases::default();
        a.reset(2, 0);
        assert_eq!(a.incoming(Some(t("a")), Some(1)), Ok(t("a")));
        assert_eq!(a.incoming(None, Some(1)), Ok(t("a")));
        // [5.0 MQTT-3.3.2-10] 0 and above our maximum are protocol errors.
        assert_eq!(a.incoming(Some(t("b")), Some(3)), Err(InvalidAlias));
        assert_eq!(a.incoming(Some(t("b")), Some(0)), Err(InvalidAlias));
        // An alias never set.
        assert_eq!(a.incoming(None, Some(2)), Err(InvalidAlias));
        // A new connection forgets them [5.0 MQTT-3.3.2-7].
        a.reset(2, 0);
        assert_eq!(a.incoming(None, Some(1)), Err(InvalidAlias));
    }

    #[test]
    fn outgoing_aliases_stay_within_the_broker_maximum() {
        let mut a = TopicAliases::default();
        a.reset(0, 2);
        assert_eq!(a.outgoing(&t("x")), OutgoingTopic::Set(1));
        assert_eq!(a.outgoing(&t("x")), OutgoingTopic::Use(1));
        assert_eq!(a.outgoing(&t("y")), OutgoingTopic::Set(2));
        // [5.0 MQTT-3.3.2-9] no alias above the broker's maximum.
        assert_eq!(a.outgoing(&t("z")), OutgoingTopic::Plain);
        a.reset(0, 0);
        assert_eq!(a.outgoing(&t("x")), OutgoingTopic::Plain);
    }
}
