//! What the model broker does at MQTT 5.0 beyond 3.1.1, on the connections
//! that speak it: what its CONNACK announces (a Receive Maximum below the
//! clients' windows, a Maximum Packet Size, a Topic Alias Maximum, a
//! Server Keep Alive), reason codes on its acks (an error for some
//! publishes, No Matching Subscribers, No Subscription Existed), topic
//! aliases on its own publishes, and DISCONNECT with a reason.
//!
//! A [`V5Plan`] decides, from a generator of its own, so that 3.1.1
//! schedules never draw from it. Which publishes it refuses depends on the
//! payload alone: every copy of a message (a resend, one sent again as new
//! after a lost session) gets the same answer.

use crate::sim::Rng;
use mqtt_proto::packet::v5::{ConnAckProperties, ReasonCode};

/// Reasons an error ack gives, as a broker refusing a publish would.
const ACK_ERRORS: [ReasonCode; 6] = [
    ReasonCode::UnspecifiedError,
    ReasonCode::ImplementationSpecificError,
    ReasonCode::NotAuthorized,
    ReasonCode::TopicNameInvalid,
    ReasonCode::QuotaExceeded,
    ReasonCode::PayloadFormatInvalid,
];

/// Reasons the broker ends a connection with, none of them final.
const DISCONNECTS: [ReasonCode; 5] = [
    ReasonCode::ServerBusy,
    ReasonCode::ServerShuttingDown,
    ReasonCode::AdministrativeAction,
    ReasonCode::MessageRateTooHigh,
    ReasonCode::UseAnotherServer,
];

/// Chance, per client packet handled while the faults are on, that the
/// broker ends the connection with DISCONNECT.
const DISCONNECT_RATE: f64 = 0.004;
/// Chance that a PUBLISH to a client that takes aliases uses one.
const ALIAS_RATE: f64 = 0.6;

/// 5.0 events, counted for the summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct V5Counts {
    /// PUBACK or PUBREC with an error reason code.
    pub error_acks: u64,
    /// Acks saying No Matching Subscribers.
    pub no_match: u64,
    /// DISCONNECT sent by the broker.
    pub disconnects: u64,
    /// PUBLISH sent with a Topic Alias, by the broker and by the clients.
    pub aliases_out: u64,
    pub aliases_in: u64,
    /// UNSUBACK saying No Subscription Existed.
    pub no_subscription: u64,
}

impl V5Counts {
    pub fn add(&mut self, o: &V5Counts) {
        self.error_acks += o.error_acks;
        self.no_match += o.no_match;
        self.disconnects += o.disconnects;
        self.aliases_out += o.aliases_out;
        self.aliases_in += o.aliases_in;
        self.no_subscription += o.no_subscription;
    }
}

#[derive(Debug)]
pub struct V5Plan {
    rng: Rng,
    seed: u64,
    /// Disconnect only while the schedule's faults are on.
    pub active: bool,
    /// Share of QoS 1 and 2 publishes refused with an error code.
    refuse_rate: f64,
    pub receive_maximum: Option<u16>,
    pub maximum_packet_size: Option<u32>,
    pub topic_alias_maximum: Option<u16>,
    pub server_keep_alive: Option<u16>,
    pub counts: V5Counts,
}

impl V5Plan {
    pub fn new(seed: u64) -> V5Plan {
        let mut rng = Rng::new(seed ^ 0x5005_0005_A11A_5E5E);
        let mut pick = |choices: &[Option<u32>]| choices[rng.below(choices.len() as u64) as usize];
        let receive_maximum = pick(&[None, Some(1), Some(2), Some(3), Some(5)]).map(|n| n as u16);
        let maximum_packet_size = pick(&[None, None, Some(40), Some(64)]);
        let topic_alias_maximum = pick(&[None, Some(1), Some(2), Some(4)]).map(|n| n as u16);
        let server_keep_alive = pick(&[None, None, Some(3), Some(8)]).map(|n| n as u16);
        let refuse_rate = [0.0, 0.05, 0.15][rng.below(3) as usize];
        V5Plan {
            rng,
            seed,
            active: false,
            refuse_rate,
            receive_maximum,
            maximum_packet_size,
            topic_alias_maximum,
            server_keep_alive,
            counts: V5Counts::default(),
        }
    }

    /// The CONNACK properties the broker announces.
    pub fn connack(&self) -> ConnAckProperties {
        ConnAckProperties {
            receive_maximum: self.receive_maximum,
            maximum_packet_size: self.maximum_packet_size,
            topic_alias_maximum: self.topic_alias_maximum,
            server_keep_alive: self.server_keep_alive,
            ..ConnAckProperties::default()
        }
    }

    /// The error code the broker refuses the publish of `payload` with, if
    /// it does: the same for every copy.
    pub fn refusal(&self, payload: &[u8]) -> Option<ReasonCode> {
        if self.refuse_rate == 0.0 {
            return None;
        }
        let mut h = self.seed;
        for &b in payload {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
        }
        let mut r = Rng::new(h);
        r.chance(self.refuse_rate)
            .then(|| ACK_ERRORS[r.below(ACK_ERRORS.len() as u64) as usize])
    }

    /// The reason to end a connection with now, if the broker does.
    pub fn disconnect(&mut self) -> Option<ReasonCode> {
        if !self.active || !self.rng.chance(DISCONNECT_RATE) {
            return None;
        }
        self.counts.disconnects += 1;
        Some(DISCONNECTS[self.rng.below(DISCONNECTS.len() as u64) as usize])
    }

    /// The alias for a PUBLISH to a topic, given the one set already (if
    /// any) and the client's maximum: (alias, topic left out).
    pub fn alias(&mut self, set: Option<u16>, max: u16) -> Option<(u16, bool)> {
        if max == 0 || !self.rng.chance(ALIAS_RATE) {
            return None;
        }
        self.counts.aliases_out += 1;
        match set {
            // Mostly the alias alone; now and then the topic again.
            Some(a) if self.rng.chance(0.8) => Some((a, true)),
            // A new alias, maybe one set for another topic already: the
            // sender may change a mapping (section 3.3.2.3.4).
            _ => Some((1 + self.rng.below(u64::from(max)) as u16, false)),
        }
    }
}
