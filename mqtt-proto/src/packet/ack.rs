//! The acknowledgement packets that carry nothing but a packet identifier:
//! PUBACK, PUBREC, PUBREL, PUBCOMP (sections 3.4 to 3.7) and UNSUBACK (3.11).
//! Their remaining length is always 2, checked from the fixed header.

use super::error::{DecodeError, EncodeError};
use super::fixed_header::write_fixed_header;
use super::wire::Body;
use super::{PacketId, PacketType};
use bytes::{BufMut, BytesMut};

macro_rules! id_only_packet {
    ($(#[$doc:meta])* $name:ident, $ty:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name {
            /// The identifier of the exchange it belongs to [MQTT-2.3.1-6].
            pub pid: PacketId,
        }

        impl $name {
            /// The packet for identifier `pid`.
            pub const fn new(pid: PacketId) -> Self {
                $name { pid }
            }

            /// Appends the encoded packet (four bytes) to `buf`.
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
    PacketType::PubAck
);
id_only_packet!(
    /// PUBREC: the first answer to a QoS 2 PUBLISH.
    PubRec,
    PacketType::PubRec
);
id_only_packet!(
    /// PUBREL: the answer to PUBREC; fixed-header flags 0010 [MQTT-3.6.1-1].
    PubRel,
    PacketType::PubRel
);
id_only_packet!(
    /// PUBCOMP: the answer to PUBREL, ending a QoS 2 exchange.
    PubComp,
    PacketType::PubComp
);
id_only_packet!(
    /// UNSUBACK: the answer to UNSUBSCRIBE.
    UnsubAck,
    PacketType::UnsubAck
);
