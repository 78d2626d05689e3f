//! The network between the clients and the broker: links that carry
//! bytes both ways, split at random points, delayed, and maybe cut, and
//! the weather that decides how.

use super::PING_TIMEOUT;
use crate::sim::broker::{ConnId, Output, Pace};
use crate::sim::misbehaviour::Misbehaviour;
use crate::sim::wire::Reader;
use crate::sim::{Faults, Rng, Stats};
use bytes::{Bytes, BytesMut};
use core::time::Duration;
use mqtt_proto::packet::v5::ReasonCode;
use mqtt_proto::Instant;
use std::collections::VecDeque;

#[derive(Debug)]
pub(super) enum Item {
    Data(Bytes),
    Cut,
}

/// Where the broker broke the protocol in a link's byte stream.
#[derive(Debug, Clone, Copy)]
pub(super) struct Violation {
    pub(super) kind: Misbehaviour,
    /// Offsets, in bytes the broker wrote on the link, of its first and
    /// one past its last byte.
    pub(super) start: usize,
    pub(super) end: usize,
}

#[derive(Debug)]
pub struct Link {
    pub(super) id: ConnId,
    pub(super) to_broker: VecDeque<(Instant, Item)>,
    pub(super) to_client: VecDeque<(Instant, Item)>,
    /// Set once a cut is scheduled: later writes vanish.
    pub(super) cutting: bool,
    /// Decoder of what the client received, for the packet-id checks.
    pub(super) client_rx: BytesMut,
    /// Bytes scheduled towards the client, delivered to it, and decoded.
    pub(super) written: usize,
    pub(super) delivered: usize,
    pub(super) decoded: usize,
    /// The first violation written on this link.
    pub(super) violation: Option<Violation>,
    /// When the client last sent PINGREQ, and last received a packet.
    pub(super) ping_sent: Option<Instant>,
    pub(super) last_packet: Instant,
    /// Reads what the client receives, at its level.
    pub(super) reader: Reader,
    /// When the client last wrote, and at 5.0 the Server Keep Alive its
    /// CONNACK set, with when the client read it.
    pub(super) last_sent: Instant,
    pub(super) server_keep_alive: Option<(Duration, Instant)>,
    /// The reason of a DISCONNECT from the broker the client read.
    pub(super) server_disconnect: Option<ReasonCode>,
}

impl Link {
    pub(super) fn new(id: ConnId, now: Instant, reader: Reader) -> Link {
        Link {
            id,
            to_broker: VecDeque::new(),
            to_client: VecDeque::new(),
            cutting: false,
            client_rx: BytesMut::new(),
            written: 0,
            delivered: 0,
            decoded: 0,
            violation: None,
            ping_sent: None,
            last_packet: now,
            reader,
            last_sent: now,
            server_keep_alive: None,
            server_disconnect: None,
        }
    }

    pub(super) fn next_due(&self) -> Option<Instant> {
        let a = self.to_broker.front().map(|(t, _)| *t);
        let b = self.to_client.front().map(|(t, _)| *t);
        a.into_iter().chain(b).min()
    }

    pub fn idle(&self) -> bool {
        self.to_broker.is_empty() && self.to_client.is_empty()
    }

    /// Cuts the link now, from the client's side.
    pub fn cut(&mut self, now: Instant) -> bool {
        if self.cutting {
            return false;
        }
        self.cutting = true;
        self.to_broker.push_back((now, Item::Cut));
        true
    }
}

/// The network's weather: its generator, fault knobs and counters.
pub struct Network {
    pub rng: Rng,
    pub faults: Faults,
    pub faults_on: bool,
    pub stats: Stats,
}

impl Network {
    /// Schedules a write on a link, split at random points, maybe cut.
    pub(super) fn schedule(
        &mut self,
        link: &mut Link,
        now: Instant,
        to_broker: bool,
        bytes: Bytes,
    ) {
        if link.cutting {
            return;
        }
        let queue = if to_broker {
            &mut link.to_broker
        } else {
            &mut link.to_client
        };
        let mut at = queue.back().map_or(now, |(t, _)| *t).max(now);
        let cut_point = if self.faults_on && self.rng.chance(self.faults.cut) {
            Some(self.rng.below(bytes.len() as u64 + 1) as usize)
        } else {
            None
        };
        let mut data = match cut_point {
            Some(n) => bytes.slice(..n),
            None => bytes,
        };
        while !data.is_empty() {
            let take = if self.rng.chance(0.5) {
                data.len()
            } else {
                1 + self.rng.below(data.len() as u64) as usize
            };
            at = at + Duration::from_millis(self.rng.below(self.faults.max_delay_ms + 1));
            queue.push_back((at, Item::Data(data.split_to(take))));
        }
        if cut_point.is_some() {
            self.stats.cuts += 1;
            link.cutting = true;
            queue.push_back((at, Item::Cut));
        }
    }

    /// Schedules a piece of the broker's output towards the client, paced
    /// as the broker asks, noting where a violation lies in the stream.
    pub(super) fn schedule_output(&mut self, link: &mut Link, now: Instant, out: Output) {
        if link.cutting {
            return;
        }
        let len = out.bytes.len();
        if let Some(kind) = out.violation {
            link.violation.get_or_insert(Violation {
                kind,
                start: link.written,
                end: link.written + len,
            });
        }
        link.written += len;
        let back = link.to_client.back().map_or(now, |(t, _)| *t).max(now);
        match out.pace {
            Pace::Normal => self.schedule(link, now, false, out.bytes),
            Pace::Bytewise => {
                let mut at =
                    back + Duration::from_millis(self.rng.below(self.faults.max_delay_ms + 1));
                for i in 0..len {
                    at = at + Duration::from_millis(self.rng.below(3));
                    link.to_client
                        .push_back((at, Item::Data(out.bytes.slice(i..i + 1))));
                }
            }
            Pace::NearPingTimeout => {
                // Just inside the client's deadline, unless the link is
                // backed up past it already.
                let margin = Duration::from_millis(1 + self.rng.below(300));
                let sent = link.ping_sent.unwrap_or(now);
                let at = back.max(sent + (PING_TIMEOUT - margin));
                link.to_client.push_back((at, Item::Data(out.bytes)));
            }
        }
    }
}
