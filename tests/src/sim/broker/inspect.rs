//! What the simulation's checks ask of the model broker: what it still
//! holds, what it lost and why, and what it still waits for.

use super::{ConnId, ModelBroker};
use crate::sim::misbehaviour::Counts;
use bytes::Bytes;
use mqtt_proto::{QoS, TopicFilter};
use std::collections::BTreeMap;

impl ModelBroker {
    /// Misbehaviours injected so far, by kind.
    pub fn injected(&self) -> Counts {
        self.plan.as_ref().map(|p| p.injected).unwrap_or_default()
    }

    /// Payloads of the messages the broker will never deliver to `client`.
    pub fn lost_for<'a>(&'a self, client: &'a str) -> impl Iterator<Item = &'a Bytes> {
        self.lost
            .iter()
            .filter(move |(c, _)| c == client)
            .map(|(_, p)| p)
    }

    /// Payloads of the QoS 2 messages from `client` whose receipt the broker
    /// forgot with a session.
    pub fn forgotten_qos2<'a>(&'a self, client: &'a str) -> impl Iterator<Item = &'a Bytes> {
        self.forgotten_qos2
            .iter()
            .filter(move |(c, _)| c == client)
            .map(|(_, p)| p)
    }

    /// What the broker still waits for the client to answer on its open
    /// connections: PUBLISH copies not acknowledged, PUBREL not completed.
    pub fn unanswered(&self) -> Vec<String> {
        self.conns
            .values()
            .flat_map(|c| {
                let publishes = c.owed.iter().map(|p| format!("PUBLISH {p}"));
                publishes.chain(c.pubrels.iter().map(|p| format!("PUBREL {p}")))
            })
            .collect()
    }

    /// Open connections on which the broker wrote a violation: each is one
    /// the client failed to close.
    pub fn violated_open(&self) -> usize {
        self.conns.values().filter(|c| c.violated).count()
    }

    /// Messages still held for `client` (queued or unacknowledged).
    pub fn backlog(&self, client: &str) -> usize {
        self.sessions
            .get(client)
            .map_or(0, |s| s.queue.len() + s.inflight.len())
    }

    /// QoS 2 ids from `client` awaiting PUBREL.
    pub fn inbound_qos2(&self, client: &str) -> Vec<u16> {
        self.sessions
            .get(client)
            .map(|s| s.inbound_qos2.keys().copied().collect())
            .unwrap_or_default()
    }

    /// The connection whose CONNECT created the session of `client`.
    pub fn session_created_on(&self, client: &str) -> Option<ConnId> {
        self.sessions.get(client).map(|s| s.created_on)
    }

    /// The SUBSCRIBE packets received on `id` since the last call:
    /// (packet id, filters).
    pub fn take_subscribes(&mut self, id: ConnId) -> Vec<(u16, Vec<TopicFilter>)> {
        self.conns
            .get_mut(&id)
            .map(|c| std::mem::take(&mut c.subscribes))
            .unwrap_or_default()
    }

    /// Connections refused: (server unavailable, not authorized).
    pub fn refused(&self) -> (u64, u64) {
        self.refusals.as_ref().map_or((0, 0), |r| r.refused)
    }

    /// Subscriptions the broker holds for `client`.
    pub fn subscriptions(&self, client: &str) -> BTreeMap<String, QoS> {
        self.sessions
            .get(client)
            .map(|s| s.subs.iter().map(|(f, q)| (f.to_string(), *q)).collect())
            .unwrap_or_default()
    }
}
