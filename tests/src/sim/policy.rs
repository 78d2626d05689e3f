//! The session policy the core promises, modelled independently and held
//! against what each client's `Connection` does: when it asks for a
//! transport and to which server, how long it backs off, when it gives up,
//! and how long a graceful close may take.
//!
//! The model follows the events one by one. After every end of a
//! connection or attempt it knows what must come next:
//!
//! - an attempt that failed before CONNACK, with servers left in its
//!   round: `OpenTransport` for the next server, at once;
//! - a lost connection, or a round where every server failed:
//!   `ReconnectScheduled` for server 0 with a delay drawn from the backoff,
//!   never under half its minimum (no reconnect storm), then
//!   `OpenTransport` exactly when the delay is over;
//! - a final refusal: `GaveUp`, and nothing after it;
//! - a requested close (or a connection that died during one): nothing,
//!   until the application starts the client again.
//!
//! The backoff's ceiling doubles with every delay and starts over only
//! after a healthy connection ended (the broker answered a request on it,
//! or it lasted a keep-alive period): every delay must lie within the
//! ceilings the model allows, so a reset after an unhealthy connection
//! shows as a delay too short, and a missing reset as one too long.
//!
//! A graceful close must end (`Disconnected`) by its drain deadline, at
//! once when nothing needed draining or no connection was up.

use core::time::Duration;
use mqtt_proto::packet::ConnectReturnCode;
use mqtt_proto::{is_final_reason, DisconnectReason, Event, Instant, State};

/// Where the client stands, as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not started, closed on request, or given up: nothing comes until
    /// the application starts it.
    Stopped,
    /// `OpenTransport { server }` is due at `at`.
    OpenDue { server: usize, at: Instant },
    /// A connection was lost or a round failed: `ReconnectScheduled` is due
    /// now.
    ScheduleDue { ended: Instant },
    /// A final refusal: `GaveUp` is due now.
    GiveUpDue,
    /// A transport was asked for; no CONNACK accepted it yet.
    Attempt { server: usize },
    /// CONNACK accepted the connection at `at`.
    Connected { at: Instant },
}

/// A graceful close under way.
#[derive(Debug, Clone, Copy)]
struct Close {
    /// When `disconnect` was called.
    started: Instant,
    /// When it must be over, whatever is left in flight.
    deadline: Instant,
}

/// What the policy did, for the summary.
#[derive(Debug, Default, Clone)]
pub struct PolicyStats {
    /// Attempts that moved on to the next server at once.
    pub failovers: u64,
    /// Backoff waits.
    pub backoffs: u64,
    /// Graceful closes, and those that reached their drain deadline.
    pub closes: u64,
    pub close_deadlines: u64,
    /// Clients that gave up after a final refusal.
    pub gave_up: u64,
}

impl PolicyStats {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &PolicyStats) {
        self.failovers += other.failovers;
        self.backoffs += other.backoffs;
        self.closes += other.closes;
        self.close_deadlines += other.close_deadlines;
        self.gave_up += other.gave_up;
    }
}

/// The policy model of one client.
#[derive(Debug)]
pub struct PolicyCheck {
    who: String,
    servers: usize,
    min: Duration,
    max: Duration,
    keep_alive: Duration,
    phase: Phase,
    /// Attempts in the current round.
    tried: usize,
    /// Backoff delays handed out since the last reset: at least `n_lo`, at
    /// most `n_hi`. They differ only after a requested close ended a
    /// healthy connection, where starting over is allowed but not owed.
    n_lo: u32,
    n_hi: u32,
    close: Option<Close>,
    pub stats: PolicyStats,
}

impl PolicyCheck {
    pub fn new(
        who: &str,
        servers: usize,
        min: Duration,
        max: Duration,
        keep_alive: Duration,
    ) -> PolicyCheck {
        PolicyCheck {
            who: who.to_string(),
            servers,
            min,
            max,
            keep_alive,
            phase: Phase::Stopped,
            tried: 0,
            n_lo: 0,
            n_hi: 0,
            close: None,
            stats: PolicyStats::default(),
        }
    }

    /// The ceiling of the `n`-th backoff delay since a reset.
    fn ceiling(&self, n: u32) -> Duration {
        self.min
            .checked_mul(1u32.checked_shl(n).unwrap_or(u32::MAX))
            .unwrap_or(self.max)
            .min(self.max)
    }

    fn err(&self, now: Instant, what: String) -> String {
        format!("{} at {now:?}: {what}", self.who)
    }

    /// The application called `start`.
    pub fn on_start(&mut self, now: Instant) -> Result<(), String> {
        if self.phase != Phase::Stopped {
            return Err(self.err(now, format!("started while {:?}", self.phase)));
        }
        self.tried = 0;
        self.phase = Phase::OpenDue { server: 0, at: now };
        Ok(())
    }

    /// The application called `disconnect(now, drain)`; `state`,
    /// `closing` and `drained` are the connection's just before.
    pub fn on_close(
        &mut self,
        now: Instant,
        drain: Duration,
        state: State,
        closing: bool,
        drained: bool,
    ) -> Result<(), String> {
        match (self.close, state) {
            (Some(close), State::Connected) => {
                // A second call: with no drain time, DISCONNECT at once.
                if drain.is_zero() {
                    self.close = Some(Close {
                        deadline: now,
                        ..close
                    });
                }
            }
            (Some(_), other) => {
                return Err(self.err(now, format!("a close is still under way in {other:?}")))
            }
            (None, _) if closing => {
                return Err(self.err(now, "closing, with no close asked for".into()))
            }
            (None, State::Connected) => {
                let deadline = if drain.is_zero() || drained {
                    now
                } else {
                    now + drain
                };
                self.close = Some(Close {
                    started: now,
                    deadline,
                });
            }
            // Not connected: over at once.
            (None, _) => {
                self.close = Some(Close {
                    started: now,
                    deadline: now,
                })
            }
        }
        Ok(())
    }

    /// Whether a close is under way and may still wait for messages in
    /// flight at `now`.
    pub fn close_may_wait(&self, now: Instant) -> bool {
        self.close.is_some_and(|c| c.deadline > now)
    }

    /// Checks one event from the client. `healthy` says whether the broker
    /// answered a request on the current connection.
    pub fn on_event(&mut self, now: Instant, e: &Event, healthy: bool) -> Result<(), String> {
        match e {
            Event::OpenTransport { server } => match self.phase {
                Phase::OpenDue { server: s, at } if s == *server && at == now => {
                    if *server >= self.servers {
                        return Err(self.err(now, format!("server {server} does not exist")));
                    }
                    self.tried += 1;
                    self.phase = Phase::Attempt { server: *server };
                }
                other => {
                    return Err(self.err(
                        now,
                        format!("OpenTransport {{ server: {server} }} while {other:?}"),
                    ))
                }
            },
            Event::ReconnectScheduled { server, delay } => match self.phase {
                Phase::ScheduleDue { ended } => {
                    let lo = self.ceiling(self.n_lo) / 2;
                    let hi = self.ceiling(self.n_hi);
                    if *server != 0 {
                        return Err(self.err(now, format!("a new round starts at server {server}")));
                    }
                    if *delay < self.min / 2 || *delay < lo || *delay > hi {
                        return Err(self.err(
                            now,
                            format!(
                                "backoff of {delay:?} after {} delays since a healthy connection \
                                 (between {} and {}) must lie in [{lo:?}, {hi:?}] (minimum {:?})",
                                self.n_lo, self.n_lo, self.n_hi, self.min
                            ),
                        ));
                    }
                    self.n_lo = self.n_lo.saturating_add(1);
                    self.n_hi = self.n_hi.saturating_add(1);
                    self.tried = 0;
                    self.stats.backoffs += 1;
                    self.phase = Phase::OpenDue {
                        server: 0,
                        at: ended + *delay,
                    };
                }
                other => {
                    return Err(self.err(now, format!("ReconnectScheduled while {other:?}")));
                }
            },
            Event::GaveUp => match self.phase {
                Phase::GiveUpDue => {
                    self.stats.gave_up += 1;
                    self.phase = Phase::Stopped;
                }
                other => {
                    return Err(self.err(
                        now,
                        format!("GaveUp without a final refusal, while {other:?}"),
                    ))
                }
            },
            Event::Connected { .. } => match self.phase {
                Phase::Attempt { .. } => {
                    self.tried = 0;
                    self.phase = Phase::Connected { at: now };
                }
                other => return Err(self.err(now, format!("Connected while {other:?}"))),
            },
            Event::Disconnected { reason } => self.on_disconnected(now, reason, healthy)?,
            other => {
                if let Phase::ScheduleDue { .. } | Phase::GiveUpDue = self.phase {
                    return Err(self.err(now, format!("{other:?} while {:?}", self.phase)));
                }
            }
        }
        Ok(())
    }

    fn on_disconnected(
        &mut self,
        now: Instant,
        reason: &DisconnectReason,
        healthy: bool,
    ) -> Result<(), String> {
        let close = self.close.take();
        if let Some(close) = close {
            // A graceful close ends here, whatever the reason.
            self.stats.closes += 1;
            if now > close.deadline {
                return Err(self.err(
                    now,
                    format!(
                        "a close begun at {:?} ended ({reason:?}) after its deadline {:?}",
                        close.started, close.deadline
                    ),
                ));
            }
            if now == close.deadline && close.deadline > close.started {
                self.stats.close_deadlines += 1;
            }
        } else if *reason == DisconnectReason::Requested {
            return Err(self.err(
                now,
                "Disconnected { Requested } with no close asked for".into(),
            ));
        }
        let requested = close.is_some();
        match self.phase {
            Phase::Connected { at } => {
                // A connection ended: the backoff starts over if it was
                // healthy; after a requested close it may.
                if healthy || now.saturating_duration_since(at) >= self.keep_alive {
                    self.n_lo = 0;
                    if !requested {
                        self.n_hi = 0;
                    }
                }
                self.phase = if requested {
                    Phase::Stopped
                } else {
                    self.tried = 0;
                    Phase::ScheduleDue { ended: now }
                };
            }
            Phase::Attempt { server } => {
                // Retrying cannot help but with an unavailable server.
                let final_refusal = match reason {
                    DisconnectReason::Refused(code) => {
                        *code != ConnectReturnCode::ServerUnavailable
                    }
                    // At 5.0 the broker refuses with a reason code.
                    DisconnectReason::Rejected(why) => is_final_reason(why.reason),
                    _ => false,
                };
                self.phase = if requested {
                    Phase::Stopped
                } else if final_refusal {
                    Phase::GiveUpDue
                } else if self.tried < self.servers {
                    self.stats.failovers += 1;
                    Phase::OpenDue {
                        server: (server + 1) % self.servers,
                        at: now,
                    }
                } else {
                    self.tried = 0;
                    Phase::ScheduleDue { ended: now }
                };
            }
            // Waiting for a backoff, or stopped: only a close ends that.
            Phase::OpenDue { at, .. } if at > now && requested => self.phase = Phase::Stopped,
            Phase::Stopped if requested => {}
            other => {
                return Err(self.err(
                    now,
                    format!("Disconnected {{ {reason:?} }} while {other:?}"),
                ))
            }
        }
        Ok(())
    }

    /// After the world handled everything due at `now`: nothing the model
    /// expected may still be pending.
    pub fn check_due(&self, now: Instant) -> Result<(), String> {
        match self.phase {
            Phase::OpenDue { server, at } if at <= now => Err(self.err(
                now,
                format!("OpenTransport {{ server: {server} }} was due at {at:?} and never came"),
            )),
            Phase::ScheduleDue { .. } => {
                Err(self.err(now, "a reconnect was owed and never scheduled".into()))
            }
            Phase::GiveUpDue => Err(self.err(now, "a final refusal without GaveUp".into())),
            _ => match self.close {
                Some(close) if now > close.deadline => Err(self.err(
                    now,
                    format!(
                        "a close begun at {:?} is still under way past its deadline {:?}",
                        close.started, close.deadline
                    ),
                )),
                _ => Ok(()),
            },
        }
    }
}
