//! Keep-alive (section 3.1.2.10): when nothing has been sent, or nothing
//! received, for a keep-alive period, send PINGREQ [MQTT-3.1.2-23]; when
//! nothing at all comes back within the ping timeout, the connection is
//! lost. Keep-alive 0 turns both off.
//!
//! Owns the activity timestamps and the two timers derived from them; knows
//! nothing about packets beyond "something was sent / received".

use super::timer::{Timer, TimerTable};
use crate::time::Instant;
use core::time::Duration;

#[derive(Debug, Clone)]
pub(crate) struct KeepAlive {
    interval: Option<Duration>,
    ping_timeout: Duration,
    last_sent: Instant,
    last_received: Instant,
    ping_outstanding: bool,
}

impl KeepAlive {
    pub(crate) fn new(interval: Option<Duration>, ping_timeout: Duration) -> Self {
        KeepAlive {
            interval,
            ping_timeout,
            last_sent: Instant::ZERO,
            last_received: Instant::ZERO,
            ping_outstanding: false,
        }
    }

    /// A new transport is up and CONNACK accepted it.
    pub(crate) fn start(&mut self, now: Instant, timers: &mut TimerTable) {
        self.last_sent = now;
        self.last_received = now;
        self.ping_outstanding = false;
        timers.stop(Timer::PingResponse);
        self.rearm(timers);
    }

    /// Bytes were handed to the transport.
    pub(crate) fn on_sent(&mut self, now: Instant, timers: &mut TimerTable) {
        self.last_sent = self.last_sent.max(now);
        self.rearm(timers);
    }

    /// A packet arrived: the broker is alive, whatever it sent.
    pub(crate) fn on_received(&mut self, now: Instant, timers: &mut TimerTable) {
        self.last_received = self.last_received.max(now);
        self.ping_outstanding = false;
        timers.stop(Timer::PingResponse);
        self.rearm(timers);
    }

    /// The keep-alive timer fired and a PINGREQ is being sent.
    pub(crate) fn on_ping_sent(&mut self, now: Instant, timers: &mut TimerTable) {
        self.ping_outstanding = true;
        timers.stop(Timer::KeepAlive);
        timers.set(Timer::PingResponse, now + self.ping_timeout);
    }

    pub(crate) fn ping_outstanding(&self) -> bool {
        self.ping_outstanding
    }

    fn rearm(&self, timers: &mut TimerTable) {
        match self.interval {
            Some(interval) if !self.ping_outstanding => timers.set(
                Timer::KeepAlive,
                self.last_sent.min(self.last_received) + interval,
            ),
            _ => timers.stop(Timer::KeepAlive),
        }
    }
}
