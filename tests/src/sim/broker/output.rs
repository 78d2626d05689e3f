//! How the model broker writes: packets go into the connection's buffer,
//! and a piece that the link must carry in its own way (one byte per write,
//! or held back) or that breaks the protocol goes out as an [`Output`] of
//! its own, in order with the rest.

use super::{ConnId, Level, ModelBroker, Stored};
use crate::sim::misbehaviour::{Misbehaviour, Plan};
use crate::sim::wire::{encode, Extra};
use bytes::{Bytes, BytesMut};
use mqtt_proto::packet::{Packet, Publish, QosPid};
use mqtt_proto::{PacketId, QoS};

/// How the link must carry a piece of the broker's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Split and delayed at random, like every write.
    Normal,
    /// One byte per write.
    Bytewise,
    /// Held back until just before the client's ping timeout.
    NearPingTimeout,
}

/// A piece of what the broker writes on a connection, in order.
#[derive(Debug)]
pub struct Output {
    pub bytes: Bytes,
    pub pace: Pace,
    /// Set when these bytes break the protocol: the client must close the
    /// connection once they have arrived.
    pub violation: Option<Misbehaviour>,
}

impl ModelBroker {
    /// The next piece the broker wants to send on `id`.
    pub fn take_output(&mut self, id: ConnId) -> Option<Output> {
        let conn = self.conns.get_mut(&id)?;
        if let Some(out) = conn.out.pop_front() {
            return Some(out);
        }
        if conn.tx.is_empty() {
            None
        } else {
            Some(Output {
                bytes: conn.tx.split().freeze(),
                pace: Pace::Normal,
                violation: None,
            })
        }
    }

    pub(super) fn send(&mut self, id: ConnId, p: Packet) {
        self.send_x(id, p, Extra::default());
    }

    /// Sends `p`, with what 5.0 adds to it on a 5.0 connection.
    pub(super) fn send_x(&mut self, id: ConnId, p: Packet, mut extra: Extra) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if let Packet::PubRel(r) = &p {
            c.pubrels.push_back(r.pid);
        }
        if let Packet::Publish(publish) = &p {
            c.owed.extend(publish.pid());
            // At 5.0, a topic alias now and then, within the client's
            // Topic Alias Maximum.
            if c.level == Level::V5 && c.client_alias_max > 0 {
                let set = c.aliases.get(&publish.topic).copied();
                if let Some(v5) = self.v5.as_mut() {
                    extra.alias = v5.alias(set, c.client_alias_max);
                }
                if let Some((alias, false)) = extra.alias {
                    c.aliases.retain(|_, a| *a != alias);
                    c.aliases.insert(publish.topic.clone(), alias);
                }
            }
            if !c.violated && self.plan.as_mut().is_some_and(Plan::bytewise) {
                let b = self.bytes(id, p, extra);
                self.count(Misbehaviour::Bytewise);
                self.send_piece(id, b, Pace::Bytewise, None);
                return;
            }
        }
        encode(c.level, &mut c.tx, p, extra);
    }

    /// The bytes of `p` at the level of connection `id`.
    pub(super) fn bytes(&self, id: ConnId, p: Packet, extra: Extra) -> Bytes {
        let level = self.conns.get(&id).map_or(Level::V311, |c| c.level);
        let mut b = BytesMut::new();
        encode(level, &mut b, p, extra);
        b.freeze()
    }

    /// Writes `bytes` as a piece of its own, after everything written so
    /// far.
    pub(super) fn send_piece(
        &mut self,
        id: ConnId,
        bytes: Bytes,
        pace: Pace,
        violation: Option<Misbehaviour>,
    ) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if !c.tx.is_empty() {
            c.out.push_back(Output {
                bytes: c.tx.split().freeze(),
                pace: Pace::Normal,
                violation: None,
            });
        }
        c.violated |= violation.is_some();
        c.out.push_back(Output {
            bytes,
            pace,
            violation,
        });
    }
}

pub(super) fn publish(m: &Stored, pid: PacketId, dup: bool) -> Publish {
    Publish {
        dup,
        qos_pid: match m.qos {
            QoS::ExactlyOnce => QosPid::ExactlyOnce(pid),
            _ => QosPid::AtLeastOnce(pid),
        },
        retain: false,
        topic: m.topic.clone(),
        payload: m.payload.clone(),
    }
}
