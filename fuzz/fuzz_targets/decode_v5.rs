//! Arbitrary bytes through the MQTT 5.0 `decode`: it never panics,
//! splitting the input in two (at a point taken from the first byte) yields
//! the same packets and the same final outcome as feeding it whole, and
//! every packet it yields encodes again to the same value.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mqtt_proto::packet::v5::{decode, Packet};
use mqtt_proto::packet::DecodeError;

const MAX: usize = 64 * 1024;

/// Decodes from `buf` until it needs more bytes (`Ok`) or fails (`Err`).
fn drain(buf: &mut BytesMut, out: &mut Vec<Packet>) -> Result<(), DecodeError> {
    while let Some(packet) = decode(buf, MAX)? {
        out.push(packet);
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut whole = BytesMut::from(data);
    let mut expected = Vec::new();
    let whole_result = drain(&mut whole, &mut expected);

    let split = usize::from(data.first().copied().unwrap_or(0)) % (data.len() + 1);
    let mut buf = BytesMut::from(&data[..split]);
    let mut got = Vec::new();
    let mut result = drain(&mut buf, &mut got);
    if result.is_ok() {
        buf.extend_from_slice(&data[split..]);
        result = drain(&mut buf, &mut got);
    }

    // Whatever decodes encodes again, to the same value.
    for packet in &expected {
        let mut re = BytesMut::new();
        packet.encode(&mut re).expect("a decoded packet encodes");
        let len = re.len();
        assert_eq!(decode(&mut re, len), Ok(Some(packet.clone())));
    }

    assert_eq!(got, expected, "split at {split}");
    assert_eq!(result, whole_result, "split at {split}");
    if result.is_ok() {
        // Ok(None) consumed nothing: the same unfinished tail is left.
        assert_eq!(buf, whole, "split at {split}");
    }
});
