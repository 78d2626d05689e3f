//! The connection's timers: one enum, one table. `poll_timeout` is the
//! earliest armed deadline; timers are armed and cleared where the logical
//! state changes, and a timer firing late or spuriously is harmless.

use crate::time::Instant;

/// Every deadline a connection can be waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// A connection attempt (opening the transport, then CONNACK) gives
    /// up.
    ConnAck = 0,
    /// Nothing sent or received for a keep-alive period: time to PINGREQ.
    KeepAlive = 1,
    /// PINGREQ sent, nothing received since.
    PingResponse = 2,
    /// The backoff delay before the next attempt is over.
    Reconnect = 3,
    /// A graceful close stops waiting for messages in flight.
    Close = 4,
}

const TIMERS: usize = 5;

#[derive(Debug, Clone, Default)]
pub(crate) struct TimerTable {
    deadlines: [Option<Instant>; TIMERS],
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer as usize] = Some(at);
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.deadlines[timer as usize] = None;
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer as usize]
    }

    pub(crate) fn clear(&mut self) {
        self.deadlines = [None; TIMERS];
    }

    /// Whether `timer` is armed and due at `now`.
    pub(crate) fn is_due(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|at| at <= now)
    }

    pub(crate) fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }
}
