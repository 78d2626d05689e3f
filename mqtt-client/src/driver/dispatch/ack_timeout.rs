//! A bound on how long a caller's SUBSCRIBE or UNSUBSCRIBE waits for its
//! ack (`Options::request_timeout`). A broker that never answers must not
//! leave `subscribe` hanging for ever: past the bound the call fails with
//! `Error::RequestTimeout`. The core still sends the request again on each
//! new connection (it cannot be taken back), but a late ack changes
//! nothing, and a subscription that timed out is forgotten locally.
//!
//! Deadlines are kept in request order (one timeout for all, so they
//! ascend); an entry whose request was answered stays until it comes up,
//! costing one spurious wake-up at most. A serial number per request tells
//! a packet id reused by a later request from the one that expired.

use super::Dispatch;
use crate::Error;
use mqtt_proto::PacketId;
use std::collections::VecDeque;
use std::time::Instant;

#[derive(Debug, Default)]
pub(super) struct AckDeadlines {
    queue: VecDeque<(Instant, PacketId, u64)>,
    next_serial: u64,
}

impl AckDeadlines {
    /// Starts the clock for the request with `pid`; returns its serial.
    pub(super) fn start(&mut self, pid: PacketId, deadline: Instant) -> u64 {
        let serial = self.next_serial;
        self.next_serial += 1;
        self.queue.push_back((deadline, pid, serial));
        serial
    }
}

impl Dispatch {
    /// When the oldest unanswered request gives up.
    pub(crate) fn request_deadline(&self) -> Option<Instant> {
        self.ack_deadlines.queue.front().map(|(at, _, _)| *at)
    }

    /// Fails the requests whose ack did not come in time.
    pub(crate) fn expire_requests(&mut self, now: Instant) {
        while let Some(&(at, pid, serial)) = self.ack_deadlines.queue.front() {
            if at > now {
                return;
            }
            self.ack_deadlines.queue.pop_front();
            if let Some(pending) = self.subscribes.get_mut(&pid) {
                if pending.serial == serial {
                    if let Some((done, _, _)) = pending.reply.take() {
                        tracing::warn!(?pid, "no SUBACK in time");
                        let _ = done.send(Err(Error::RequestTimeout));
                        let id = pending.id;
                        self.forget_subscription(id);
                    }
                    continue;
                }
            }
            if self
                .unsubscribes
                .get(&pid)
                .is_some_and(|(_, s)| *s == serial)
            {
                if let Some((done, _)) = self.unsubscribes.remove(&pid) {
                    tracing::warn!(?pid, "no UNSUBACK in time");
                    let _ = done.send(Err(Error::RequestTimeout));
                }
            }
        }
    }
}
