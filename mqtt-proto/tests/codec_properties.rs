//! Property tests of the codec: arbitrary valid packets survive an
//! encode/decode round trip; arbitrary bytes never panic the decoder and never
//! make it ask for more than the maximum packet size; and a stream decodes to
//! the same packets whatever the read boundaries [MQTT-6.0.0-2].

use bytes::{Bytes, BytesMut};
use mqtt_proto::packet::{
    decode, ConnAck, Connect, ConnectReturnCode, DecodeError, LastWill, Login, Packet, Protocol,
    PubAck, PubComp, PubRec, PubRel, Publish, QosPid, SubAck, Subscribe, SubscribeReturnCode,
    UnsubAck, Unsubscribe,
};
use mqtt_proto::{MqttString, PacketId, QoS, TopicFilter, TopicName};
use proptest::prelude::*;

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

fn pid() -> impl Strategy<Value = PacketId> {
    (1..=u16::MAX).prop_map(|v| PacketId::new(v).unwrap())
}

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

/// Any string without control characters (so without U+0000), including
/// multi-byte characters and U+FEFF.
fn string() -> impl Strategy<Value = MqttString> {
    "[\\PC\u{FEFF}]{0,16}".prop_map(|s| MqttString::try_from(s).unwrap())
}

fn topic_name() -> impl Strategy<Value = TopicName> {
    "[a-zA-Z0-9/ $_\u{e9}\u{FEFF}\u{1F600}]{1,24}".prop_map(|s| TopicName::try_from(s).unwrap())
}

fn topic_filter() -> impl Strategy<Value = TopicFilter> {
    let level = prop_oneof![Just("+".to_string()), "[a-z0-9$\u{e9}]{0,6}"];
    (prop::collection::vec(level, 1..5), any::<bool>()).prop_map(|(mut levels, hash)| {
        if hash {
            levels.push("#".into());
        }
        let mut s = levels.join("/");
        if s.is_empty() {
            s.push('x');
        }
        TopicFilter::try_from(s).unwrap()
    })
}

fn qos_pid() -> impl Strategy<Value = QosPid> {
    prop_oneof![
        Just(QosPid::AtMostOnce),
        pid().prop_map(QosPid::AtLeastOnce),
        pid().prop_map(QosPid::ExactlyOnce),
    ]
}

fn publish() -> impl Strategy<Value = Publish> {
    (
        any::<bool>(),
        qos_pid(),
        any::<bool>(),
        topic_name(),
        bytes(300),
    )
        .prop_map(|(dup, qos_pid, retain, topic, payload)| Publish {
            // The encoder never sets DUP on QoS 0 [MQTT-3.3.1-2].
            dup: dup && qos_pid != QosPid::AtMostOnce,
            qos_pid,
            retain,
            topic,
            payload,
        })
}

fn connect() -> impl Strategy<Value = Connect> {
    let will = (topic_name(), bytes(40), qos(), any::<bool>()).prop_map(
        |(topic, message, qos, retain)| LastWill {
            topic,
            message,
            qos,
            retain,
        },
    );
    let login = (string(), prop::option::of(bytes(40)))
        .prop_map(|(username, password)| Login { username, password });
    (
        any::<bool>(),
        any::<bool>(),
        any::<u16>(),
        string(),
        prop::option::of(will),
        prop::option::of(login),
    )
        .prop_map(
            |(v31, clean, keep_alive, client_id, last_will, login)| Connect {
                protocol: if v31 { Protocol::V31 } else { Protocol::V311 },
                // An empty client id needs a clean session [MQTT-3.1.3-7].
                clean_session: clean || client_id.is_empty(),
                keep_alive,
                client_id,
                last_will,
                login,
            },
        )
}

fn connack() -> impl Strategy<Value = ConnAck> {
    (any::<bool>(), 0u8..=5).prop_map(|(sp, code)| {
        let code = ConnectReturnCode::from_u8(code).unwrap();
        ConnAck {
            session_present: sp && code == ConnectReturnCode::Accepted,
            code,
        }
    })
}

fn suback_code() -> impl Strategy<Value = SubscribeReturnCode> {
    prop_oneof![
        qos().prop_map(SubscribeReturnCode::Success),
        Just(SubscribeReturnCode::Failure)
    ]
}

fn packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        connect().prop_map(|c| Packet::Connect(Box::new(c))),
        connack().prop_map(Packet::ConnAck),
        publish().prop_map(Packet::Publish),
        pid().prop_map(|p| Packet::PubAck(PubAck::new(p))),
        pid().prop_map(|p| Packet::PubRec(PubRec::new(p))),
        pid().prop_map(|p| Packet::PubRel(PubRel::new(p))),
        pid().prop_map(|p| Packet::PubComp(PubComp::new(p))),
        (pid(), prop::collection::vec((topic_filter(), qos()), 1..6))
            .prop_map(|(pid, filters)| Packet::Subscribe(Subscribe { pid, filters })),
        (pid(), prop::collection::vec(suback_code(), 1..6))
            .prop_map(|(pid, return_codes)| Packet::SubAck(SubAck { pid, return_codes })),
        (pid(), prop::collection::vec(topic_filter(), 1..6))
            .prop_map(|(pid, filters)| Packet::Unsubscribe(Unsubscribe { pid, filters })),
        pid().prop_map(|p| Packet::UnsubAck(UnsubAck::new(p))),
        Just(Packet::PingReq),
        Just(Packet::PingResp),
        Just(Packet::Disconnect),
    ]
}

/// Decodes everything in `buf`: the packets, then how it stopped.
fn decode_all(buf: &mut BytesMut, max: usize) -> (Vec<Packet>, Result<(), DecodeError>) {
    let mut packets = Vec::new();
    loop {
        match decode(buf, max) {
            Ok(Some(p)) => packets.push(p),
            Ok(None) => return (packets, Ok(())),
            Err(e) => return (packets, Err(e)),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn encode_then_decode_is_identity(p in packet()) {
        let mut buf = BytesMut::new();
        p.encode(&mut buf).unwrap();
        let encoded = buf.clone();
        prop_assert_eq!(decode(&mut buf, encoded.len()), Ok(Some(p.clone())));
        prop_assert!(buf.is_empty());
        // Re-encoding the decoded value gives the same bytes: one canonical
        // encoding per value.
        let mut again = BytesMut::new();
        p.encode(&mut again).unwrap();
        prop_assert_eq!(again, encoded);
    }

    #[test]
    fn arbitrary_bytes_never_panic_or_overbuffer(
        input in prop::collection::vec(any::<u8>(), 0..512),
        max in 0usize..600,
    ) {
        let mut buf = BytesMut::from(&input[..]);
        loop {
            let before = buf.len();
            match decode(&mut buf, max) {
                Ok(Some(p)) => {
                    let consumed = before - buf.len();
                    prop_assert!(consumed <= max, "packet of {} over max {}", consumed, max);
                    let mut re = BytesMut::new();
                    p.encode(&mut re).unwrap();
                    prop_assert!(re.len() <= consumed);
                }
                Ok(None) => {
                    // Asking for more bytes is only allowed while the buffer
                    // is below the limit (or the five-byte fixed header is
                    // incomplete): a caller that reads until decode answers
                    // never holds more than one maximum-sized packet.
                    prop_assert_eq!(buf.len(), before, "Ok(None) must not consume");
                    prop_assert!(before < max.max(5));
                    break;
                }
                Err(_) => break,
            }
        }
    }

    #[test]
    fn read_boundaries_do_not_matter(
        packets in prop::collection::vec(packet(), 1..8),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut wire = BytesMut::new();
        for p in &packets {
            p.encode(&mut wire).unwrap();
        }
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        points.push(0);
        points.push(wire.len());
        points.sort_unstable();
        points.dedup();

        let mut rx = BytesMut::new();
        let mut got = Vec::new();
        for w in points.windows(2) {
            rx.extend_from_slice(&wire[w[0]..w[1]]);
            let (mut ps, end) = decode_all(&mut rx, 1 << 20);
            prop_assert_eq!(end, Ok(()));
            got.append(&mut ps);
        }
        prop_assert!(rx.is_empty());
        prop_assert_eq!(&got, &packets);

        // And one byte at a time.
        let mut rx = BytesMut::new();
        let mut got = Vec::new();
        for b in wire.iter() {
            rx.extend_from_slice(&[*b]);
            let (mut ps, end) = decode_all(&mut rx, 1 << 20);
            prop_assert_eq!(end, Ok(()));
            got.append(&mut ps);
        }
        prop_assert_eq!(&got, &packets);
    }

    #[test]
    fn mutated_packets_never_panic(p in packet(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        // Valid packets with a few bytes changed reach deeper decode paths
        // than random bytes do.
        let mut wire = BytesMut::new();
        p.encode(&mut wire).unwrap();
        for (i, v) in flips {
            let at = i.index(wire.len());
            wire[at] = v;
        }
        let _ = decode_all(&mut wire, 1 << 16);
    }
}
