//! The acknowledgement packets that carry nothing but a packet identifier:
//! PUBACK, PUBREC, PUBREL, PUBCOMP (sections 3.4 to 3.7) and UNSUBACK (3.11).
//! Their remaining length is always 2, checked from the fixed header.

use super::error::{DecodeError, EncodeError};
use super::fixed_header::write_fixed_header;
use super::wire::Body;
use super::{PacketId, PacketType};
use bytes::{BufMut, BytesMut};

macro_rules! id_only_packet {
    ($(#[$doc:meta])* $name:ident, $ty:expr, $first_byte:literal) => {
        $(#[$doc])*
        ///
        /// ```
        /// use bytes::BytesMut;
        #[doc = concat!(" use mqtt_proto::packet::{decode, Packet, PacketId, ", stringify!($name), "};")]
        ///
        #[doc = concat!(" let packet = ", stringify!($name), "::new(PacketId::new(1).unwrap());")]
        /// let mut wire = BytesMut::new();
        /// packet.encode(&mut wire).unwrap();
        #[doc = concat!(" assert_eq!(&wire[..], &[", stringify!($first_byte), ", 0x02, 0x00, 0x01]);")]
        #[doc = concat!(" assert_eq!(decode(&mut wire, 16), Ok(Some(Packet::", stringify!($name), "(packet))));")]
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name {
            /// The identifier of the exchange it belongs to [MQTT-2.3.1-6].
            pub pid: PacketId,
        }

        impl $name {
            /// The packet for identifier `pid`.
            ///
            /// ```
            #[doc = concat!(" use mqtt_proto::packet::{PacketId, ", stringify!($name), "};")]
            ///
            #[doc = concat!(" let packet = ", stringify!($name), "::new(PacketId::new(7).unwrap());")]
            /// assert_eq!(packet.pid.get(), 7);
            /// ```
            pub const fn new(pid: PacketId) -> Self {
                $name { pid }
            }

            /// Appends the encoded packet (four bytes) to `buf`.
            ///
            /// ```
            /// use bytes::BytesMut;
            #[doc = concat!(" use mqtt_proto::packet::{PacketId, ", stringify!($name), "};")]
            ///
            /// let mut buf = BytesMut::new();
            #[doc = concat!(" ", stringify!($name), "::new(PacketId::new(0x0102).unwrap()).encode(&mut buf).unwrap();")]
            #[doc = concat!(" assert_eq!(&buf[..], &[", stringify!($first_byte), ", 0x02, 0x01, 0x02]);")]
            /// ```
            pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
                let ty: PacketType = $ty;
                // The required flags are only ever Some for these types.
                let flags = ty.required_flags().unwrap_or(0);
                write_fixed_header(buf, ((ty as u8) << 4) | flags, 2)?;
                buf.put_u16(self.pid.get());
                Ok(())
            }

            pub(crate) fn decode(mut body: Body) -> Result<Self, DecodeError> {
                let pid = body.packet_id()?;
                body.finish()?;
                Ok($name { pid })
            }
        }
    };
}

id_only_packet!(
    /// PUBACK: the answer to a QoS 1 PUBLISH.
    PubAck,
    PacketType::PubAck,
    0x40
);
id_only_packet!(
    /// PUBREC: the first answer to a QoS 2 PUBLISH.
    PubRec,
    PacketType::PubRec,
    0x50
);
id_only_packet!(
    /// PUBREL: the answer to PUBREC; fixed-header flags 0010 [MQTT-3.6.1-1].
    PubRel,
    PacketType::PubRel,
    0x62
);
id_only_packet!(
    /// PUBCOMP: the answer to PUBREL, ending a QoS 2 exchange.
    PubComp,
    PacketType::PubComp,
    0x70
);
id_only_packet!(
    /// UNSUBACK: the answer to UNSUBSCRIBE.
    UnsubAck,
    PacketType::UnsubAck,
    0xB0
);
