//! Quality of service levels and packet identifiers, the two small types the
//! packets are built from. `QosPid` ties them together so that a QoS 1 or 2
//! PUBLISH always has an identifier and a QoS 0 one never has [MQTT-2.3.1-1],
//! [MQTT-2.3.1-5].

use core::fmt;
use core::num::NonZeroU16;

/// A quality of service level (section 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum QoS {
    /// At most once: fire and forget.
    AtMostOnce = 0,
    /// At least once: acknowledged by PUBACK.
    AtLeastOnce = 1,
    /// Exactly once: the PUBREC/PUBREL/PUBCOMP handshake.
    ExactlyOnce = 2,
}

impl QoS {
    /// The QoS for its two-bit wire value; `None` for 3, which no packet may
    /// carry [MQTT-3.3.1-4].
    pub const fn from_u8(v: u8) -> Option<QoS> {
        match v {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }
}

/// A packet identifier: 1..=65535, never 0 [MQTT-2.3.1-1].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PacketId(NonZeroU16);

impl PacketId {
    /// The identifier `id`, or `None` for 0.
    pub const fn new(id: u16) -> Option<PacketId> {
        match NonZeroU16::new(id) {
            Some(v) => Some(PacketId(v)),
            None => None,
        }
    }

    /// The numeric value, 1..=65535.
    pub const fn get(self) -> u16 {
        self.0.get()
    }
}

impl From<NonZeroU16> for PacketId {
    fn from(v: NonZeroU16) -> Self {
        PacketId(v)
    }
}

impl fmt::Debug for PacketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PacketId({})", self.0)
    }
}

impl fmt::Display for PacketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The QoS of a PUBLISH together with its packet identifier, which exists
/// exactly when the QoS is above 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QosPid {
    /// QoS 0: no packet identifier field at all [MQTT-2.3.1-5].
    AtMostOnce,
    /// QoS 1 with its identifier.
    AtLeastOnce(PacketId),
    /// QoS 2 with its identifier.
    ExactlyOnce(PacketId),
}

impl QosPid {
    /// The QoS level.
    pub const fn qos(self) -> QoS {
        match self {
            QosPid::AtMostOnce => QoS::AtMostOnce,
            QosPid::AtLeastOnce(_) => QoS::AtLeastOnce,
            QosPid::ExactlyOnce(_) => QoS::ExactlyOnce,
        }
    }

    /// The packet identifier, if the QoS has one.
    pub const fn pid(self) -> Option<PacketId> {
        match self {
            QosPid::AtMostOnce => None,
            QosPid::AtLeastOnce(p) | QosPid::ExactlyOnce(p) => Some(p),
        }
    }
}
