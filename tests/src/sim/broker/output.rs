//! How the model broker writes: packets go into the connection's buffer,
//! and a piece that the link must carry in its own way (one byte per write,
//! or held back) or that breaks the protocol goes out as an [`Output`] of
//! its own, in order with the rest.

use super::{ConnId, ModelBroker, Stored};
use crate::sim::misbehaviour::{Misbehaviour, Plan};
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

pub(super) fn encode(buf: &mut BytesMut, p: Packet) {
    p.encode(buf)
        .expect("the model broker only builds valid packets");
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
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if let Packet::PubRel(r) = &p {
            c.pubrels.push_back(r.pid);
        }
        if let Packet::Publish(publish) = &p {
            c.owed.extend(publish.pid());
            if !c.violated && self.plan.as_mut().is_some_and(Plan::bytewise) {
                let mut b = BytesMut::new();
                encode(&mut b, p);
                self.count(Misbehaviour::Bytewise);
                self.send_piece(id, b.freeze(), Pace::Bytewise, None);
                return;
            }
        }
        encode(&mut c.tx, p);
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
