//! Every packet decoded from arbitrary bytes encodes; the encoding is no
//! longer than the bytes the packet was decoded from (the encoder writes the
//! minimal remaining length, the decoder accepts any), decodes back to the
//! same packet, and that packet re-encodes to the same bytes.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mqtt_proto::packet::{decode, EncodeError, Packet};

const MAX: usize = 64 * 1024;

fn encode(packet: &Packet) -> Result<BytesMut, EncodeError> {
    let mut buf = BytesMut::new();
    packet.encode(&mut buf).map(|()| buf)
}

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    let mut before = buf.len();
    while let Ok(Some(packet)) = decode(&mut buf, MAX) {
        let consumed = before - buf.len();
        before = buf.len();
        let wire = encode(&packet).expect("a decoded packet encodes");
        assert!(wire.len() <= consumed, "{packet:?} grew to {wire:?}");
        let mut rx = wire.clone();
        let again = decode(&mut rx, MAX)
            .expect("an encoding decodes")
            .expect("an encoding is a whole packet");
        assert!(rx.is_empty(), "{wire:?} is more than one packet");
        assert_eq!(again, packet, "{wire:?}");
        assert_eq!(encode(&again), Ok(wire), "{packet:?}");
    }
});
