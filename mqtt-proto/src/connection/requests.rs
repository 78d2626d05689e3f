//! Subscribe and unsubscribe requests awaiting SUBACK or UNSUBACK, in the
//! order they were made. They are (re)sent on every new connection until
//! acknowledged, since the broker acknowledges per connection.

use crate::packet::v5::{Subscribe, Unsubscribe};
use crate::packet::PacketId;
use alloc::collections::VecDeque;

#[derive(Debug, Clone)]
pub(crate) enum Request {
    Subscribe(Subscribe),
    Unsubscribe(Unsubscribe),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Requests {
    pending: VecDeque<Request>,
}

impl Requests {
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }

    pub(crate) fn push(&mut self, request: Request) {
        self.pending.push_back(request);
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Request> {
        self.pending.iter()
    }

    /// Removes and returns the subscribe with `pid`, if one is pending.
    pub(crate) fn take_subscribe(&mut self, pid: PacketId) -> Option<Subscribe> {
        let i = self
            .pending
            .iter()
            .position(|r| matches!(r, Request::Subscribe(s) if s.pid == pid))?;
        match self.pending.remove(i)? {
            Request::Subscribe(s) => Some(s),
            Request::Unsubscribe(_) => None,
        }
    }

    /// Removes the unsubscribe with `pid`; returns whether one was pending.
    pub(crate) fn take_unsubscribe(&mut self, pid: PacketId) -> bool {
        match self
            .pending
            .iter()
            .position(|r| matches!(r, Request::Unsubscribe(u) if u.pid == pid))
        {
            Some(i) => self.pending.remove(i).is_some(),
            None => false,
        }
    }
}
