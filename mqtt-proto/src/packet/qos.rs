//! Quality of service levels and packet identifiers, the two small types the
//! packets are built from. `QosPid` ties them together so that a QoS 1 or 2
//! PUBLISH always has an identifier and a QoS 0 one never has [MQTT-2.3.1-1],
//! [MQTT-2.3.1-5].

use core::fmt;
use core::num::NonZeroU16;

/// A quality of service level (section 4.3).
///
/// ```
/// use mqtt_proto::QoS;
///
/// assert!(QoS::AtMostOnce < QoS::ExactlyOnce);
/// assert_eq!(QoS::AtLeastOnce as u8, 1);
/// // The QoS a subscriber gets is the lower of the published and the granted.
/// assert_eq!(QoS::ExactlyOnce.min(QoS::AtLeastOnce), QoS::AtLeastOnce);
/// ```
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
    ///
    /// ```
    /// use mqtt_proto::QoS;
    ///
    /// assert_eq!(QoS::from_u8(2), Some(QoS::ExactlyOnce));
    /// assert_eq!(QoS::from_u8(3), None);
    /// ```
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
///
/// ```
/// use mqtt_proto::PacketId;
///
/// let id = PacketId::new(42).unwrap();
/// assert_eq!(id.get(), 42);
/// assert_eq!(id.to_string(), "42");
/// assert_eq!(PacketId::new(0), None); // 0 is never a packet identifier
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PacketId(NonZeroU16);

impl PacketId {
    /// The identifier `id`, or `None` for 0.
    ///
    /// ```
    /// use mqtt_proto::PacketId;
    ///
    /// assert!(PacketId::new(1).is_some());
    /// assert!(PacketId::new(0).is_none());
    /// ```
    pub const fn new(id: u16) -> Option<PacketId> {
        match NonZeroU16::new(id) {
            Some(v) => Some(PacketId(v)),
            None => None,
        }
    }

    /// The numeric value, 1..=65535.
    ///
    /// ```
    /// use mqtt_proto::PacketId;
    ///
    /// assert_eq!(PacketId::new(65535).unwrap().get(), 65535);
    /// ```
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
///
/// ```
/// use mqtt_proto::packet::QosPid;
/// use mqtt_proto::{PacketId, QoS};
///
/// let qos_pid = QosPid::AtLeastOnce(PacketId::new(5).unwrap());
/// assert_eq!((qos_pid.qos(), qos_pid.pid()), (QoS::AtLeastOnce, PacketId::new(5)));
/// assert_eq!(QosPid::AtMostOnce.pid(), None); // QoS 0 has no identifier
/// ```
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
    ///
    /// ```
    /// use mqtt_proto::packet::QosPid;
    /// use mqtt_proto::{PacketId, QoS};
    ///
    /// assert_eq!(QosPid::ExactlyOnce(PacketId::new(1).unwrap()).qos(), QoS::ExactlyOnce);
    /// ```
    pub const fn qos(self) -> QoS {
        match self {
            QosPid::AtMostOnce => QoS::AtMostOnce,
            QosPid::AtLeastOnce(_) => QoS::AtLeastOnce,
            QosPid::ExactlyOnce(_) => QoS::ExactlyOnce,
        }
    }

    /// The packet identifier, if the QoS has one.
    ///
    /// ```
    /// use mqtt_proto::packet::QosPid;
    /// use mqtt_proto::PacketId;
    ///
    /// let id = PacketId::new(1).unwrap();
    /// assert_eq!(QosPid::ExactlyOnce(id).pid(), Some(id));
    /// assert_eq!(QosPid::AtMostOnce.pid(), None);
    /// ```
    pub const fn pid(self) -> Option<PacketId> {
        match self {
            QosPid::AtMostOnce => None,
            QosPid::AtLeastOnce(p) | QosPid::ExactlyOnce(p) => Some(p),
        }
    }
}
