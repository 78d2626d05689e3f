//! Inputs found by fuzzing (the `decode` and `roundtrip` targets in `fuzz/`),
//! minimised with `cargo fuzz tmin`. Each test feeds the exact bytes and
//! checks the behaviour MQTT 3.1.1 asks for.

use bytes::BytesMut;
use mqtt_proto::packet::{decode, Connect, Packet, Protocol};
use mqtt_proto::MqttString;

const MAX: usize = 64 * 1024;

/// `roundtrip`, crash-e40546ca: CONNECT "MQTT" level 4, flags 0x00 (clean
/// session 0), keep-alive 0, zero-byte client id.
///
/// The packet is well-formed: a server must answer it with CONNACK 0x02
/// (identifier rejected) [MQTT-3.1.3-8], not drop it as malformed, so it
/// decodes. The encoder used to refuse it (a client must not send it,
/// [MQTT-3.1.3-7]), which broke the round trip; that rule now lives in the
/// Connection's options, and the codec encodes what it decodes.
#[test]
fn connect_empty_client_id_without_clean_session() {
    let input = [
        0x10, 0x0C, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    let mut buf = BytesMut::from(&input[..]);
    let expected = Connect {
        protocol: Protocol::V311,
        clean_session: false,
        keep_alive: 0,
        client_id: MqttString::new(),
        last_will: None,
        login: None,
    };
    let packet = Packet::Connect(Box::new(expected.clone()));
    assert_eq!(decode(&mut buf, MAX), Ok(Some(packet.clone())));
    assert!(buf.is_empty());

    let mut out = BytesMut::new();
    packet.encode(&mut out).unwrap();
    assert_eq!(&out[..], &input[..]);

    // With clean session set (flags 0x02) the same packet round-trips.
    let mut clean = input;
    clean[9] = 0x02;
    let packet = Packet::Connect(Box::new(Connect {
        clean_session: true,
        ..expected
    }));
    let mut out = BytesMut::new();
    packet.encode(&mut out).unwrap();
    assert_eq!(&out[..], &clean[..]);
    assert_eq!(decode(&mut out, MAX), Ok(Some(packet)));
}
