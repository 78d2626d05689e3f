//! Connections the model broker refuses, as a real one does when it is
//! overloaded or shutting down (server unavailable: the client retries) or
//! when the client may not connect at all (not authorized: a final
//! refusal, on which the client gives up). Refusals are legitimate, so
//! they are no [`Misbehaviour`](super::Misbehaviour); they have their own
//! generator, so that they change nothing else in a schedule.

use super::Rng;
use mqtt_proto::packet::ConnectReturnCode;

/// When the model broker refuses a CONNECT.
#[derive(Debug)]
pub struct Refusals {
    rng: Rng,
    /// Chance that a CONNECT is refused with "server unavailable".
    unavailable: f64,
    /// Chance that a CONNECT is refused with "not authorized".
    not_authorized: f64,
    /// Refuse only while the schedule's faults are on.
    pub active: bool,
    /// Refusals made: (server unavailable, not authorized).
    pub refused: (u64, u64),
}

impl Refusals {
    pub fn new(seed: u64, unavailable: f64, not_authorized: f64) -> Refusals {
        Refusals {
            rng: Rng::new(seed ^ 0x0EF0_5ED0_C0DE_5EED),
            unavailable,
            not_authorized,
            active: false,
            refused: (0, 0),
        }
    }

    /// The refusal for the CONNECT at hand, if any.
    pub fn decide(&mut self) -> Option<ConnectReturnCode> {
        if !self.active {
            return None;
        }
        if self.not_authorized > 0.0 && self.rng.chance(self.not_authorized) {
            self.refused.1 += 1;
            return Some(ConnectReturnCode::NotAuthorized);
        }
        if self.unavailable > 0.0 && self.rng.chance(self.unavailable) {
            self.refused.0 += 1;
            return Some(ConnectReturnCode::ServerUnavailable);
        }
        None
    }
}
