//! What a misbehaving model broker does, and what the client must make of it.
//!
//! In a third of the schedules the model broker, at random moments, does
//! things a real broker may do: some legitimate but unusual, which the
//! client must take in its stride without closing the connection; some
//! protocol violations, on which the client must close the connection
//! [MQTT-4.8.0-1] and then reconnect and carry on; and forgetting a
//! persistent session, as a broker restarted without persistence does.
//! [`Plan`] holds the generator that decides when, separate from the
//! network's, so that well-behaved schedules replay exactly as they did
//! before misbehaviour existed.

use super::Rng;
use bytes::{BufMut, Bytes, BytesMut};
use mqtt_proto::packet::DecodeError;
use mqtt_proto::ProtocolViolation;

/// One kind of misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehaviour {
    // Legitimate but unusual: the client copes without closing.
    /// An unacknowledged QoS 1 PUBLISH sent again, DUP 1, on the same
    /// connection. The client acks each copy; QoS 1 allows delivering both.
    Qos1Dup,
    /// An unreleased QoS 2 PUBLISH sent again with DUP 1: acknowledged with
    /// PUBREC, never delivered twice [MQTT-4.3.3-2].
    Qos2Dup,
    /// The same with DUP 0. [MQTT-4.3.3-2] keys on the packet id alone:
    /// until PUBREL, the id names the same message whatever its DUP flag.
    Qos2Resend,
    /// PUBREL for an id already released: answered with PUBCOMP
    /// [MQTT-4.3.3-2], whether or not the client still knows the id.
    StalePubRel,
    /// A PUBLISH written one byte per transport write.
    Bytewise,
    /// PINGRESP held back until just before the client's ping timeout.
    SlowPingResp,
    /// SUBACK refusing one filter with 0x80 (section 3.9.3).
    SubAckFailure,

    // Protocol violations: the client closes the connection.
    /// PUBACK, PUBREC, PUBCOMP, SUBACK or UNSUBACK for an id the client
    /// never used.
    UnknownAck,
    /// A second CONNACK on a connection: CONNACK answers CONNECT, once
    /// (section 3.2).
    SecondConnAck,
    /// A packet whose fixed-header flags are not the ones its type requires
    /// [MQTT-2.2.2-2], or a PUBLISH with QoS 3 [MQTT-3.3.1-4].
    ReservedFlags,
    /// Bytes that are no packet: a reserved packet type (section 2.2.1).
    Garbage,
    /// Session present 1 answering CleanSession 1 [MQTT-3.2.2-1].
    SessionPresentOnClean,

    // Forgetful.
    /// Session present 0 answering a CleanSession 0 reconnect whose session
    /// the broker held, which it drops: what a broker restarted without
    /// persistence does, legitimately [MQTT-3.1.2-4].
    LostSession,
}

impl Misbehaviour {
    pub const ALL: [Misbehaviour; 13] = [
        Misbehaviour::Qos1Dup,
        Misbehaviour::Qos2Dup,
        Misbehaviour::Qos2Resend,
        Misbehaviour::StalePubRel,
        Misbehaviour::Bytewise,
        Misbehaviour::SlowPingResp,
        Misbehaviour::SubAckFailure,
        Misbehaviour::UnknownAck,
        Misbehaviour::SecondConnAck,
        Misbehaviour::ReservedFlags,
        Misbehaviour::Garbage,
        Misbehaviour::SessionPresentOnClean,
        Misbehaviour::LostSession,
    ];

    /// The kinds injected right after the broker handles a client packet
    /// (the others wait for their own moment: a PUBLISH to send, a PINGREQ,
    /// a SUBSCRIBE, a CONNECT).
    const AFTER_PACKET: [Misbehaviour; 8] = [
        Misbehaviour::Qos1Dup,
        Misbehaviour::Qos2Dup,
        Misbehaviour::Qos2Resend,
        Misbehaviour::StalePubRel,
        Misbehaviour::UnknownAck,
        Misbehaviour::SecondConnAck,
        Misbehaviour::ReservedFlags,
        Misbehaviour::Garbage,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Misbehaviour::Qos1Dup => "QoS 1 DUP resend",
            Misbehaviour::Qos2Dup => "QoS 2 DUP resend",
            Misbehaviour::Qos2Resend => "QoS 2 resend without DUP",
            Misbehaviour::StalePubRel => "PUBREL for a released id",
            Misbehaviour::Bytewise => "PUBLISH one byte a write",
            Misbehaviour::SlowPingResp => "PINGRESP near the timeout",
            Misbehaviour::SubAckFailure => "SUBACK refusing a filter",
            Misbehaviour::UnknownAck => "ack for an unused id",
            Misbehaviour::SecondConnAck => "second CONNACK",
            Misbehaviour::ReservedFlags => "reserved flag bits",
            Misbehaviour::Garbage => "garbage bytes",
            Misbehaviour::SessionPresentOnClean => "session present on clean",
            Misbehaviour::LostSession => "persistent session lost",
        }
    }

    /// Whether the client must close the connection on it.
    pub fn is_violation(self) -> bool {
        matches!(
            self,
            Misbehaviour::UnknownAck
                | Misbehaviour::SecondConnAck
                | Misbehaviour::ReservedFlags
                | Misbehaviour::Garbage
                | Misbehaviour::SessionPresentOnClean
        )
    }

    /// Whether `reported` is what the client should name for this
    /// violation: closing is not enough, it must be for the right reason.
    pub fn explains(self, reported: &ProtocolViolation) -> bool {
        match (self, reported) {
            (Misbehaviour::UnknownAck, ProtocolViolation::UnknownPacketId { pid, .. }) => {
                pid.get() >= UNUSED_IDS
            }
            (Misbehaviour::SecondConnAck, ProtocolViolation::DuplicateConnAck) => true,
            (
                Misbehaviour::ReservedFlags,
                ProtocolViolation::Malformed(
                    DecodeError::InvalidFlags { .. } | DecodeError::InvalidQoS,
                ),
            ) => true,
            (
                Misbehaviour::Garbage,
                ProtocolViolation::Malformed(DecodeError::ReservedPacketType(_)),
            ) => true,
            (
                Misbehaviour::SessionPresentOnClean,
                ProtocolViolation::SessionPresentOnCleanSession,
            ) => true,
            _ => false,
        }
    }
}

/// Packet ids from here up are never used by the simulated clients: they
/// allocate from a cursor that starts at 1 and moves one id per exchange,
/// and a schedule has a few hundred exchanges at most. An ack for one is an
/// ack for an exchange that never was, even if it is still on its way.
pub const UNUSED_IDS: u16 = 40_000;

/// Misbehaviours injected so far, by kind.
pub type Counts = [u64; Misbehaviour::ALL.len()];

/// When and how a misbehaving broker misbehaves.
#[derive(Debug)]
pub struct Plan {
    rng: Rng,
    /// Misbehave only while the schedule's faults are on: the subscription
    /// is made before, and everything drains after.
    pub active: bool,
    pub injected: Counts,
}

/// Chance, per client packet handled, of a misbehaviour right after it.
const AFTER_PACKET_RATE: f64 = 0.05;
/// Chance that a PUBLISH goes out one byte per write.
const BYTEWISE_RATE: f64 = 0.05;
/// Chance that a PINGRESP is held back (pings are rare: most are).
const SLOW_PING_RATE: f64 = 0.6;
/// Chance that a SUBACK refuses a filter.
const SUBACK_FAILURE_RATE: f64 = 0.3;
/// Chance that a CONNECT is answered wrongly: session present to a clean
/// session, or a persistent session forgotten.
const CONNECT_RATE: f64 = 0.2;

impl Plan {
    pub fn new(seed: u64) -> Plan {
        Plan {
            rng: Rng::new(seed ^ 0xB40C_E5BA_D0B5_E55E),
            active: false,
            injected: Counts::default(),
        }
    }

    fn roll(&mut self, p: f64) -> bool {
        self.active && self.rng.chance(p)
    }

    pub fn count(&mut self, kind: Misbehaviour) {
        self.injected[kind.index()] += 1;
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.rng.below(n)
    }

    pub fn coin(&mut self) -> bool {
        self.rng.chance(0.5)
    }

    /// The misbehaviour to try after a client packet, if any now.
    pub fn after_packet(&mut self) -> Option<Misbehaviour> {
        if !self.roll(AFTER_PACKET_RATE) {
            return None;
        }
        let all = Misbehaviour::AFTER_PACKET;
        Some(all[self.rng.below(all.len() as u64) as usize])
    }

    pub fn bytewise(&mut self) -> bool {
        self.roll(BYTEWISE_RATE)
    }

    pub fn slow_ping(&mut self) -> bool {
        self.roll(SLOW_PING_RATE)
    }

    /// Which filter of `n` a SUBACK refuses, if one.
    pub fn refuse_filter(&mut self, n: usize) -> Option<usize> {
        self.roll(SUBACK_FAILURE_RATE)
            .then(|| self.rng.below(n as u64) as usize)
    }

    pub fn wrong_connack(&mut self) -> bool {
        self.roll(CONNECT_RATE)
    }

    /// The bytes of an ack (PUBACK, PUBREC, PUBCOMP, SUBACK or UNSUBACK)
    /// for an id no client ever used; at 5.0 (`v5`) SUBACK and UNSUBACK
    /// carry an empty property block.
    pub fn unknown_ack(&mut self, v5: bool) -> Bytes {
        let pid = UNUSED_IDS + self.rng.below(u64::from(u16::MAX - UNUSED_IDS)) as u16;
        let [hi, lo] = pid.to_be_bytes();
        Bytes::from(match (self.rng.below(5), v5) {
            (0, _) => vec![0x40, 0x02, hi, lo],
            (1, _) => vec![0x50, 0x02, hi, lo],
            (2, _) => vec![0x70, 0x02, hi, lo],
            (3, false) => vec![0x90, 0x03, hi, lo, 0x01],
            (3, true) => vec![0x90, 0x04, hi, lo, 0x00, 0x01],
            (_, false) => vec![0xB0, 0x02, hi, lo],
            (_, true) => vec![0xB0, 0x04, hi, lo, 0x00, 0x00],
        })
    }

    /// A whole packet with flag bits its type forbids; `pid` is an id the
    /// connection has in use, so that nothing but the flags is wrong.
    pub fn reserved_flags(&mut self, pid: u16, v5: bool) -> Bytes {
        let [hi, lo] = pid.to_be_bytes();
        let flags = 1 + self.rng.below(15) as u8;
        // A 5.0 SUBACK and PUBLISH carry a property block: the same packets
        // with an empty one, so that only the flags are wrong.
        let props: &[u8] = if v5 { &[0x00] } else { &[] };
        Bytes::from(match self.rng.below(5) {
            // PUBACK and PINGRESP take flags 0000.
            0 => vec![0x40 | flags, 0x02, hi, lo],
            1 => vec![0xD0 | flags, 0x00],
            // PUBREL takes 0010 [MQTT-3.6.1-1].
            2 => vec![0x60 | (flags ^ 0b0010), 0x02, hi, lo],
            // SUBACK takes 0000.
            3 => [
                &[0x90 | flags, 0x03 + props.len() as u8, hi, lo],
                props,
                &[0x01],
            ]
            .concat(),
            // A PUBLISH with both QoS bits set [MQTT-3.3.1-4].
            _ => {
                let mut p = BytesMut::new();
                p.put_u8(0x36 | (flags & 0b1001));
                p.put_u8(9 + props.len() as u8);
                p.put_slice(&[0x00, 0x05]);
                p.put_slice(b"sim/0");
                p.put_slice(&[hi, lo]);
                p.put_slice(props);
                return p.freeze();
            }
        })
    }

    /// A reserved packet type (0, or at 3.1.1 15, which is AUTH at 5.0),
    /// then a few random bytes.
    pub fn garbage(&mut self, v5: bool) -> Bytes {
        let mut g = BytesMut::new();
        let first = self.rng.next_u64() as u8 & 0x0F;
        g.put_u8(if self.coin() || v5 {
            first
        } else {
            0xF0 | first
        });
        for _ in 0..self.rng.below(9) {
            g.put_u8(self.rng.next_u64() as u8);
        }
        g.freeze()
    }
}

/// Adds `b` into `a`.
pub fn add_counts(a: &mut Counts, b: &Counts) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

#[cfg(test)]
mod tests {
    use super::Misbehaviour;

    #[test]
    fn counts_are_indexed_in_declaration_order() {
        for (i, kind) in Misbehaviour::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i, "{kind:?}");
        }
    }
}
