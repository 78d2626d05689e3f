//! Byte-exact vectors for every control packet, written from the MQTT 3.1.1
//! text (section numbers and statement ids cited per case), and one test per
//! wire-format rule that the decoder must reject.
//!
//! Every vector is checked three ways: our encoder produces exactly these
//! bytes, the decoder turns them back into the same value, and feeding them
//! one byte at a time yields nothing until the last byte.

use bytes::{Bytes, BytesMut};
use mqtt_proto::packet::{
    decode, ConnAck, Connect, ConnectReturnCode, DecodeError, EncodeError, LastWill, Login, Packet,
    PacketType, Protocol, PubAck, PubComp, PubRec, PubRel, Publish, QosPid, SubAck, Subscribe,
    SubscribeReturnCode, UnsubAck, Unsubscribe,
};
use mqtt_proto::topic::TopicError;
use mqtt_proto::{MqttString, PacketId, QoS, TopicFilter, TopicName};

const MAX: usize = 1 << 20;

fn pid(v: u16) -> PacketId {
    PacketId::new(v).unwrap()
}

fn s(v: &str) -> MqttString {
    MqttString::try_from(v).unwrap()
}

fn name(v: &str) -> TopicName {
    TopicName::try_from(v).unwrap()
}

fn filter(v: &str) -> TopicFilter {
    TopicFilter::try_from(v).unwrap()
}

/// Encode, decode whole, decode byte by byte.
fn vector(packet: Packet, wire: &[u8]) {
    let mut out = BytesMut::new();
    packet.encode(&mut out).unwrap();
    assert_eq!(&out[..], wire, "encoding of {packet:?}");

    let mut buf = BytesMut::from(wire);
    assert_eq!(decode(&mut buf, MAX), Ok(Some(packet.clone())));
    assert!(buf.is_empty(), "decode must consume exactly one packet");

    let mut trickle = BytesMut::new();
    for (i, byte) in wire.iter().enumerate() {
        trickle.extend_from_slice(&[*byte]);
        let got = decode(&mut trickle, MAX).unwrap();
        if i + 1 < wire.len() {
            assert_eq!(
                got,
                None,
                "packet complete after {} of {} bytes",
                i + 1,
                wire.len()
            );
            assert_eq!(
                trickle.len(),
                i + 1,
                "a partial packet must not be consumed"
            );
        } else {
            assert_eq!(got, Some(packet.clone()));
        }
    }
}

fn decode_err(wire: &[u8]) -> DecodeError {
    let mut buf = BytesMut::from(wire);
    decode(&mut buf, MAX).expect_err("must be rejected")
}

// ---- CONNECT (3.1) ----------------------------------------------------------

#[test]
fn connect_minimal_v311() {
    // 3.1.2.1 protocol name "MQTT", 3.1.2.2 level 4, 3.1.2.4 clean session,
    // 3.1.2.10 keep-alive, [MQTT-3.1.3-3] client id first in the payload.
    vector(
        Packet::Connect(Box::new(Connect {
            protocol: Protocol::V311,
            clean_session: true,
            keep_alive: 60,
            client_id: s("c1"),
            last_will: None,
            login: None,
        })),
        &[
            0x10,
            14,
            0,
            4,
            b'M',
            b'Q',
            b'T',
            b'T',
            4,
            0b0000_0010,
            0,
            60,
            0,
            2,
            b'c',
            b'1',
        ],
    );
}

#[test]
fn connect_v31_for_older_brokers() {
    // MQTT 3.1: protocol name "MQIsdp", level 3.
    vector(
        Packet::Connect(Box::new(Connect {
            protocol: Protocol::V31,
            clean_session: false,
            keep_alive: 10,
            client_id: s("id"),
            last_will: None,
            login: None,
        })),
        &[
            0x10, 16, 0, 6, b'M', b'Q', b'I', b's', b'd', b'p', 3, 0, 0, 10, 0, 2, b'i', b'd',
        ],
    );
}

#[test]
fn connect_all_fields_in_order() {
    // [MQTT-3.1.3-1] client id, will topic, will message, user name, password;
    // [MQTT-3.1.3-11] the user name is a length-prefixed UTF-8 string.
    // Flags 3.1.2.3: user 0x80 | password 0x40 | will retain 0x20 | will QoS 1
    // (0x08) | will 0x04 | clean 0x02 = 0xEE. [MQTT-3.1.2-9] will topic and
    // message present, [MQTT-3.1.2-19], [MQTT-3.1.2-21] user name and password
    // present.
    vector(
        Packet::Connect(Box::new(Connect {
            protocol: Protocol::V311,
            clean_session: true,
            keep_alive: 0x0102,
            client_id: s("c"),
            last_will: Some(LastWill {
                topic: name("w/t"),
                message: Bytes::from_static(b"bye"),
                qos: QoS::AtLeastOnce,
                retain: true,
            }),
            login: Some(Login {
                username: s("u"),
                password: Some(Bytes::from_static(b"\x00p")),
            }),
        })),
        &[
            0x10, 30, 0, 4, b'M', b'Q', b'T', b'T', 4, 0xEE, 0x01, 0x02, //
            0, 1, b'c', //
            0, 3, b'w', b'/', b't', //
            0, 3, b'b', b'y', b'e', //
            0, 1, b'u', //
            0, 2, 0, b'p',
        ],
    );
}

#[test]
fn connect_username_without_password() {
    // [MQTT-3.1.2-19] user name flag 1, [MQTT-3.1.2-20] password flag 0.
    vector(
        Packet::Connect(Box::new(Connect {
            protocol: Protocol::V311,
            clean_session: true,
            keep_alive: 0,
            client_id: s(""),
            last_will: None,
            login: Some(Login {
                username: s("user"),
                password: None,
            }),
        })),
        &[
            0x10, 18, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x82, 0, 0, 0, 0, 0, 4, b'u', b's', b'e',
            b'r',
        ],
    );
}

#[test]
fn connect_empty_client_id_without_clean_session_is_well_formed() {
    // A client must not send it [MQTT-3.1.3-7] (the Connection refuses such
    // options: connection.rs::empty_client_id_needs_clean_session), but a
    // server answers it with CONNACK 0x02 [MQTT-3.1.3-8], so the codec
    // encodes and decodes it like any other CONNECT.
    vector(
        Packet::Connect(Box::new(Connect {
            protocol: Protocol::V311,
            clean_session: false,
            keep_alive: 0,
            client_id: s(""),
            last_will: None,
            login: None,
        })),
        &[0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 4, 0, 0, 0, 0, 0],
    );
}

fn connect_with_flags(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x10, 0, 0, 4, b'M', b'Q', b'T', b'T', 4, flags, 0, 0];
    v.extend_from_slice(payload);
    v[1] = (v.len() - 2) as u8;
    v
}

#[test]
fn connect_flag_rules() {
    // [MQTT-3.1.2-3] reserved flag.
    assert_eq!(
        decode_err(&connect_with_flags(0x03, &[0, 0])),
        DecodeError::ConnectReservedFlag
    );
    // [MQTT-3.1.2-11] [MQTT-3.1.2-13] will QoS without will flag.
    assert_eq!(
        decode_err(&connect_with_flags(0x0A, &[0, 0])),
        DecodeError::InvalidWillFlags
    );
    // [MQTT-3.1.2-15] will retain without will flag.
    assert_eq!(
        decode_err(&connect_with_flags(0x22, &[0, 0])),
        DecodeError::InvalidWillFlags
    );
    // [MQTT-3.1.2-14] will QoS 3.
    assert_eq!(
        decode_err(&connect_with_flags(0x1E, &[0, 0, 0, 1, b't', 0, 0])),
        DecodeError::InvalidWillFlags
    );
    // [MQTT-3.1.2-22] password without user name.
    assert_eq!(
        decode_err(&connect_with_flags(0x42, &[0, 0, 0, 1, b'p'])),
        DecodeError::PasswordWithoutUsername
    );
    // [MQTT-3.1.2-9] will flag set but the will message is missing.
    assert_eq!(
        decode_err(&connect_with_flags(0x06, &[0, 0, 0, 1, b't'])),
        DecodeError::UnexpectedEnd {
            packet_type: PacketType::Connect
        }
    );
    // [MQTT-3.1.2-21] password flag set but no password field.
    assert_eq!(
        decode_err(&connect_with_flags(0xC2, &[0, 0, 0, 1, b'u'])),
        DecodeError::UnexpectedEnd {
            packet_type: PacketType::Connect
        }
    );
    // [MQTT-3.1.2-18] user name flag 0 but a user name field follows.
    assert_eq!(
        decode_err(&connect_with_flags(0x02, &[0, 0, 0, 1, b'u'])),
        DecodeError::TrailingBytes {
            packet_type: PacketType::Connect,
            len: 3
        }
    );
}

#[test]
fn connect_will_topic_is_a_topic_name() {
    // [MQTT-3.1.3-10] the will topic is a UTF-8 string, and a topic name: no
    // wildcards [MQTT-4.7.1-1].
    assert_eq!(
        decode_err(&connect_with_flags(0x06, &[0, 0, 0, 1, b'#', 0, 0])),
        DecodeError::InvalidTopicName(TopicError::WildcardInName)
    );
}

#[test]
fn connect_unknown_protocol() {
    // [MQTT-3.1.2-1] [MQTT-3.1.2-2]
    let mut v = connect_with_flags(0x02, &[0, 0]);
    v[8] = 5;
    assert_eq!(
        decode_err(&v),
        DecodeError::UnsupportedProtocol { level: 5 }
    );
    let mut v = connect_with_flags(0x02, &[0, 0]);
    v[4] = b'X';
    assert_eq!(
        decode_err(&v),
        DecodeError::UnsupportedProtocol { level: 4 }
    );
}

#[test]
fn connect_client_id_must_be_utf8() {
    // [MQTT-3.1.3-4] [MQTT-1.5.3-1]
    assert_eq!(
        decode_err(&connect_with_flags(0x02, &[0, 1, 0xFF])),
        DecodeError::InvalidUtf8
    );
}

#[test]
fn password_is_not_in_debug_output() {
    let login = Login {
        username: s("user"),
        password: Some(Bytes::from_static(b"hunter2")),
    };
    let shown = format!("{login:?}");
    assert!(
        shown.contains("user") && !shown.contains("hunter2"),
        "{shown}"
    );
}

// ---- CONNACK (3.2) ----------------------------------------------------------

#[test]
fn connack_vectors() {
    // 3.2.2.2 session present; 3.2.2.3 return codes 0..=5.
    vector(
        Packet::ConnAck(ConnAck {
            session_present: true,
            code: ConnectReturnCode::Accepted,
        }),
        &[0x20, 2, 1, 0],
    );
    let refusals = [
        (1, ConnectReturnCode::UnacceptableProtocolVersion),
        (2, ConnectReturnCode::IdentifierRejected),
        (3, ConnectReturnCode::ServerUnavailable),
        (4, ConnectReturnCode::BadUsernameOrPassword),
        (5, ConnectReturnCode::NotAuthorized),
    ];
    for (byte, code) in refusals {
        vector(
            Packet::ConnAck(ConnAck {
                session_present: false,
                code,
            }),
            &[0x20, 2, 0, byte],
        );
    }
}

#[test]
fn connack_rules() {
    // 3.2.2.3: 6..=255 are reserved.
    assert_eq!(
        decode_err(&[0x20, 2, 0, 6]),
        DecodeError::InvalidConnectReturnCode(6)
    );
    // 3.2.2.1: bits 7-1 of the acknowledge flags are reserved.
    assert_eq!(
        decode_err(&[0x20, 2, 2, 0]),
        DecodeError::InvalidConnAckFlags(2)
    );
    // [MQTT-3.2.2-4] a refusal has session present 0.
    assert_eq!(
        decode_err(&[0x20, 2, 1, 5]),
        DecodeError::SessionPresentOnRefusal
    );
    // Fixed length 2.
    assert_eq!(
        decode_err(&[0x20, 3, 0, 0, 0]),
        DecodeError::InvalidRemainingLength {
            packet_type: PacketType::ConnAck,
            len: 3
        }
    );
}

// ---- PUBLISH (3.3) ----------------------------------------------------------

#[test]
fn publish_qos0_has_no_packet_id() {
    // [MQTT-2.3.1-5] no packet identifier at QoS 0; [MQTT-3.3.2-1] topic first.
    vector(
        Packet::Publish(Publish {
            dup: false,
            qos_pid: QosPid::AtMostOnce,
            retain: false,
            topic: name("a/b"),
            payload: Bytes::from_static(b"hi"),
        }),
        &[0x30, 7, 0, 3, b'a', b'/', b'b', b'h', b'i'],
    );
}

#[test]
fn publish_qos1_retained_duplicate() {
    // 3.3.1: DUP 0x08, QoS 1 0x02, RETAIN 0x01; [MQTT-2.3.1-1] id after topic.
    vector(
        Packet::Publish(Publish {
            dup: true,
            qos_pid: QosPid::AtLeastOnce(pid(10)),
            retain: true,
            topic: name("t"),
            payload: Bytes::from_static(b"x"),
        }),
        &[0x3B, 6, 0, 1, b't', 0, 10, b'x'],
    );
}

#[test]
fn publish_qos2_empty_payload() {
    // 3.3.3: a zero-length payload is valid.
    vector(
        Packet::Publish(Publish {
            dup: false,
            qos_pid: QosPid::ExactlyOnce(pid(0xABCD)),
            retain: false,
            topic: name("t"),
            payload: Bytes::new(),
        }),
        &[0x34, 5, 0, 1, b't', 0xAB, 0xCD],
    );
}

#[test]
fn publish_qos0_never_encodes_dup() {
    // [MQTT-3.3.1-2] [MQTT-4.3.1-1] DUP is 0 on every QoS 0 PUBLISH.
    let p = Publish {
        dup: true,
        qos_pid: QosPid::AtMostOnce,
        retain: false,
        topic: name("t"),
        payload: Bytes::new(),
    };
    let mut out = BytesMut::new();
    Packet::Publish(p).encode(&mut out).unwrap();
    assert_eq!(&out[..], &[0x30, 3, 0, 1, b't']);
}

#[test]
fn publish_rules() {
    // [MQTT-3.3.1-4] QoS 3.
    assert_eq!(
        decode_err(&[0x36, 5, 0, 1, b't', 0, 1]),
        DecodeError::InvalidQoS
    );
    // [MQTT-3.3.1-2] DUP on QoS 0.
    assert_eq!(decode_err(&[0x38, 3, 0, 1, b't']), DecodeError::DupWithQoS0);
    // [MQTT-2.3.1-1] packet id 0.
    assert_eq!(
        decode_err(&[0x32, 5, 0, 1, b't', 0, 0]),
        DecodeError::ZeroPacketId
    );
    // [MQTT-3.3.2-2] [MQTT-4.7.1-1] wildcards in the topic name.
    assert_eq!(
        decode_err(&[0x30, 3, 0, 1, b'+']),
        DecodeError::InvalidTopicName(TopicError::WildcardInName)
    );
    assert_eq!(
        decode_err(&[0x30, 5, 0, 3, b'a', b'/', b'#']),
        DecodeError::InvalidTopicName(TopicError::WildcardInName)
    );
    // [MQTT-4.7.3-1] empty topic name.
    assert_eq!(
        decode_err(&[0x30, 2, 0, 0]),
        DecodeError::InvalidTopicName(TopicError::Empty)
    );
    // [MQTT-1.5.3-2] [MQTT-4.7.3-2] U+0000 in the topic.
    assert_eq!(
        decode_err(&[0x30, 4, 0, 2, b'a', 0]),
        DecodeError::NullCharacter
    );
    // [MQTT-1.5.3-1] malformed UTF-8 and an encoded surrogate.
    assert_eq!(decode_err(&[0x30, 3, 0, 1, 0xC0]), DecodeError::InvalidUtf8);
    assert_eq!(
        decode_err(&[0x30, 5, 0, 3, 0xED, 0xA0, 0x80]),
        DecodeError::InvalidUtf8
    );
    // The topic length runs past the packet.
    assert_eq!(
        decode_err(&[0x30, 3, 0, 9, b't']),
        DecodeError::UnexpectedEnd {
            packet_type: PacketType::Publish
        }
    );
    // QoS 1 without room for the packet id.
    assert_eq!(
        decode_err(&[0x32, 4, 0, 1, b't', 0]),
        DecodeError::UnexpectedEnd {
            packet_type: PacketType::Publish
        }
    );
}

#[test]
fn publish_keeps_byte_order_mark() {
    // [MQTT-1.5.3-3] EF BB BF stays in the topic as U+FEFF.
    let wire = [0x30, 6, 0, 4, 0xEF, 0xBB, 0xBF, b't'];
    let mut buf = BytesMut::from(&wire[..]);
    let Some(Packet::Publish(p)) = decode(&mut buf, MAX).unwrap() else {
        panic!("not a publish");
    };
    assert_eq!(p.topic.as_str(), "\u{FEFF}t");
}

#[test]
fn publish_payload_shares_the_receive_buffer() {
    // Zero-copy: topic and payload point into the buffer that was received.
    let wire = [0x30, 7, 0, 3, b'a', b'/', b'b', b'h', b'i'];
    let mut buf = BytesMut::from(&wire[..]);
    let start = buf.as_ptr() as usize;
    let Some(Packet::Publish(p)) = decode(&mut buf, MAX).unwrap() else {
        panic!("not a publish");
    };
    assert_eq!(p.topic.as_ptr() as usize, start + 4);
    assert_eq!(p.payload.as_ptr() as usize, start + 7);
}

// ---- PUBACK, PUBREC, PUBREL, PUBCOMP (3.4 - 3.7) ----------------------------

#[test]
fn id_only_acks() {
    // [MQTT-2.3.1-6] each echoes the identifier; [MQTT-3.6.1-1] PUBREL is 0x62.
    vector(Packet::PubAck(PubAck::new(pid(0x0102))), &[0x40, 2, 1, 2]);
    vector(Packet::PubRec(PubRec::new(pid(7))), &[0x50, 2, 0, 7]);
    vector(Packet::PubRel(PubRel::new(pid(7))), &[0x62, 2, 0, 7]);
    vector(
        Packet::PubComp(PubComp::new(pid(65535))),
        &[0x70, 2, 0xFF, 0xFF],
    );
    vector(Packet::UnsubAck(UnsubAck::new(pid(3))), &[0xB0, 2, 0, 3]);
}

#[test]
fn id_only_acks_have_fixed_length_and_nonzero_ids() {
    for first in [0x40u8, 0x50, 0x62, 0x70, 0xB0] {
        // Remaining length is always 2; rejected from the fixed header alone.
        let mut buf = BytesMut::from(&[first, 3][..]);
        assert!(matches!(
            decode(&mut buf, MAX),
            Err(DecodeError::InvalidRemainingLength { len: 3, .. })
        ));
        // [MQTT-2.3.1-1]
        assert_eq!(decode_err(&[first, 2, 0, 0]), DecodeError::ZeroPacketId);
    }
}

// ---- SUBSCRIBE, SUBACK (3.8, 3.9) -------------------------------------------

#[test]
fn subscribe_several_filters() {
    // [MQTT-3.8.1-1] first byte 0x82; [MQTT-3.8.3-1] filters are UTF-8
    // strings, each followed by its requested QoS.
    vector(
        Packet::Subscribe(Subscribe {
            pid: pid(1),
            filters: vec![
                (filter("a/+"), QoS::AtMostOnce),
                (filter("#"), QoS::ExactlyOnce),
            ],
        }),
        &[0x82, 12, 0, 1, 0, 3, b'a', b'/', b'+', 0, 0, 1, b'#', 2],
    );
}

#[test]
fn subscribe_rules() {
    // [MQTT-3.8.3-3] no filters.
    assert_eq!(decode_err(&[0x82, 2, 0, 1]), DecodeError::EmptySubscribe);
    let mut out = BytesMut::new();
    let empty = Subscribe {
        pid: pid(1),
        filters: vec![],
    };
    assert_eq!(empty.encode(&mut out), Err(EncodeError::EmptySubscribe));
    // [MQTT-3.8.3-4] reserved bits of the requested QoS, and QoS 3.
    assert_eq!(
        decode_err(&[0x82, 6, 0, 1, 0, 1, b'a', 0x04]),
        DecodeError::InvalidSubscriptionOptions(0x04)
    );
    assert_eq!(
        decode_err(&[0x82, 6, 0, 1, 0, 1, b'a', 0x03]),
        DecodeError::InvalidSubscriptionOptions(0x03)
    );
    // [MQTT-4.7.1-2] a misplaced '#'.
    assert_eq!(
        decode_err(&[0x82, 7, 0, 1, 0, 2, b'#', b'a', 0]),
        DecodeError::InvalidTopicFilter(TopicError::MisplacedMultiLevelWildcard)
    );
    // [MQTT-4.7.1-3] '+' not filling its level.
    assert_eq!(
        decode_err(&[0x82, 7, 0, 1, 0, 2, b'a', b'+', 0]),
        DecodeError::InvalidTopicFilter(TopicError::MisplacedSingleLevelWildcard)
    );
    // A filter without its QoS byte.
    assert_eq!(
        decode_err(&[0x82, 5, 0, 1, 0, 1, b'a']),
        DecodeError::UnexpectedEnd {
            packet_type: PacketType::Subscribe
        }
    );
    // [MQTT-2.3.1-1]
    assert_eq!(
        decode_err(&[0x82, 6, 0, 0, 0, 1, b'a', 0]),
        DecodeError::ZeroPacketId
    );
}

#[test]
fn suback_vectors() {
    // 3.9.3: 0x00, 0x01, 0x02 granted QoS, 0x80 failure.
    vector(
        Packet::SubAck(SubAck {
            pid: pid(9),
            return_codes: vec![
                SubscribeReturnCode::Success(QoS::AtMostOnce),
                SubscribeReturnCode::Success(QoS::AtLeastOnce),
                SubscribeReturnCode::Success(QoS::ExactlyOnce),
                SubscribeReturnCode::Failure,
            ],
        }),
        &[0x90, 6, 0, 9, 0, 1, 2, 0x80],
    );
}

#[test]
fn suback_rules() {
    // [MQTT-3.9.3-2] reserved return codes.
    assert_eq!(
        decode_err(&[0x90, 3, 0, 1, 3]),
        DecodeError::InvalidSubAckCode(3)
    );
    assert_eq!(
        decode_err(&[0x90, 3, 0, 1, 0x81]),
        DecodeError::InvalidSubAckCode(0x81)
    );
    // 3.9.3: at least one return code.
    assert_eq!(decode_err(&[0x90, 2, 0, 1]), DecodeError::EmptySubAck);
}

// ---- UNSUBSCRIBE, UNSUBACK (3.10, 3.11) -------------------------------------

#[test]
fn unsubscribe_vectors() {
    // [MQTT-3.10.1-1] first byte 0xA2; [MQTT-3.10.3-1] filters back to back.
    vector(
        Packet::Unsubscribe(Unsubscribe {
            pid: pid(2),
            filters: vec![filter("a"), filter("b/#")],
        }),
        &[0xA2, 10, 0, 2, 0, 1, b'a', 0, 3, b'b', b'/', b'#'],
    );
}

#[test]
fn unsubscribe_rules() {
    // [MQTT-3.10.3-2]
    assert_eq!(decode_err(&[0xA2, 2, 0, 1]), DecodeError::EmptyUnsubscribe);
    let mut out = BytesMut::new();
    let empty = Unsubscribe {
        pid: pid(1),
        filters: vec![],
    };
    assert_eq!(empty.encode(&mut out), Err(EncodeError::EmptyUnsubscribe));
    // A filter with U+0000 [MQTT-4.7.3-2].
    assert_eq!(
        decode_err(&[0xA2, 5, 0, 1, 0, 1, 0]),
        DecodeError::NullCharacter
    );
}

// ---- PINGREQ, PINGRESP, DISCONNECT (3.12 - 3.14) ----------------------------

#[test]
fn empty_packets() {
    vector(Packet::PingReq, &[0xC0, 0]);
    vector(Packet::PingResp, &[0xD0, 0]);
    vector(Packet::Disconnect, &[0xE0, 0]);
    assert!(matches!(
        decode(&mut BytesMut::from(&[0xD0, 1, 0][..]), MAX),
        Err(DecodeError::InvalidRemainingLength { len: 1, .. })
    ));
}

// ---- Fixed header (2.2) -----------------------------------------------------

#[test]
fn reserved_packet_types() {
    // 2.2.1: types 0 and 15 are reserved.
    assert_eq!(decode_err(&[0x00, 0]), DecodeError::ReservedPacketType(0));
    assert_eq!(decode_err(&[0xF0, 0]), DecodeError::ReservedPacketType(15));
}

#[test]
fn reserved_flags_must_match_the_table() {
    // [MQTT-2.2.2-1] [MQTT-2.2.2-2]: every type but PUBLISH has fixed flags.
    let fixed: [(u8, u8); 13] = [
        (1, 0),
        (2, 0),
        (4, 0),
        (5, 0),
        (6, 2),
        (7, 0),
        (8, 2),
        (9, 0),
        (10, 2),
        (11, 0),
        (12, 0),
        (13, 0),
        (14, 0),
    ];
    for (ty, required) in fixed {
        for flags in 0..16u8 {
            if flags == required {
                continue;
            }
            let err = decode_err(&[(ty << 4) | flags, 0]);
            assert!(
                matches!(err, DecodeError::InvalidFlags { flags: f, .. } if f == flags),
                "type {ty} flags {flags:#b}: {err:?}"
            );
            assert_eq!(err.rule(), "MQTT-2.2.2-2");
        }
    }
}

#[test]
fn remaining_length_encoding() {
    // 2.2.3: the four boundaries of the variable-length encoding.
    let cases: [(usize, &[u8]); 8] = [
        (0, &[0x00]),
        (127, &[0x7F]),
        (128, &[0x80, 0x01]),
        (16_383, &[0xFF, 0x7F]),
        (16_384, &[0x80, 0x80, 0x01]),
        (2_097_151, &[0xFF, 0xFF, 0x7F]),
        (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
        (268_435_455, &[0xFF, 0xFF, 0xFF, 0x7F]),
    ];
    for (len, encoded) in cases {
        // A QoS 0 PUBLISH with topic "t" and a payload making up the rest.
        let payload = vec![0u8; len.saturating_sub(3)];
        if len < 3 {
            continue;
        }
        let p = Packet::Publish(Publish {
            dup: false,
            qos_pid: QosPid::AtMostOnce,
            retain: false,
            topic: name("t"),
            payload: Bytes::from(payload),
        });
        let mut out = BytesMut::new();
        p.encode(&mut out).unwrap();
        assert_eq!(
            &out[1..1 + encoded.len()],
            encoded,
            "remaining length {len}"
        );
        assert_eq!(out.len(), 1 + encoded.len() + len);
        if len <= 2_097_152 {
            let mut buf = out.clone();
            assert_eq!(decode(&mut buf, len + 5), Ok(Some(p)));
        }
    }
    // 0 is exercised by PINGREQ, 127 and below by every small packet.
    let mut out = BytesMut::new();
    Packet::PingReq.encode(&mut out).unwrap();
    assert_eq!(&out[..], &[0xC0, 0x00]);
}

#[test]
fn remaining_length_over_four_bytes() {
    // 2.2.3: at most four bytes.
    assert_eq!(
        decode_err(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        DecodeError::RemainingLengthTooLong
    );
    // Four bytes with the continuation bit still set is already an error.
    assert_eq!(
        decode_err(&[0x30, 0x80, 0x80, 0x80, 0x80]),
        DecodeError::RemainingLengthTooLong
    );
}

#[test]
fn too_large_is_rejected_from_the_header() {
    // 2 MiB announced, nothing of the body sent: rejected with the limit at
    // 1 MiB, before any body byte is buffered.
    let mut buf = BytesMut::from(&[0x30, 0x80, 0x80, 0x80, 0x01][..]);
    assert_eq!(
        decode(&mut buf, MAX),
        Err(DecodeError::PacketTooLarge {
            size: 5 + 2_097_152,
            max: MAX
        })
    );
    // Exactly at the limit is fine.
    let mut buf = BytesMut::from(&[0xC0, 0][..]);
    assert_eq!(decode(&mut buf, 2), Ok(Some(Packet::PingReq)));
    let mut buf = BytesMut::from(&[0xC0, 0][..]);
    assert_eq!(
        decode(&mut buf, 1),
        Err(DecodeError::PacketTooLarge { size: 2, max: 1 })
    );
}

#[test]
fn trailing_bytes_inside_a_packet() {
    // Remaining length covers more than the packet's fields.
    assert_eq!(
        decode_err(&[0x90, 4, 0, 1, 0, 0xAA]),
        DecodeError::InvalidSubAckCode(0xAA)
    );
    assert_eq!(
        decode_err(&connect_with_flags(0x02, &[0, 0, 9])),
        DecodeError::TrailingBytes {
            packet_type: PacketType::Connect,
            len: 1
        }
    );
}

#[test]
fn several_packets_in_one_buffer() {
    // [MQTT-6.0.0-2] packet and read boundaries need not coincide.
    let mut buf = BytesMut::from(&[0xD0, 0, 0x40, 2, 0, 1, 0xB0, 2, 0][..]);
    assert_eq!(decode(&mut buf, MAX), Ok(Some(Packet::PingResp)));
    assert_eq!(
        decode(&mut buf, MAX),
        Ok(Some(Packet::PubAck(PubAck::new(pid(1)))))
    );
    assert_eq!(decode(&mut buf, MAX), Ok(None));
    assert_eq!(buf.len(), 3);
    buf.extend_from_slice(&[5]);
    assert_eq!(
        decode(&mut buf, MAX),
        Ok(Some(Packet::UnsubAck(UnsubAck::new(pid(5)))))
    );
    assert!(buf.is_empty());
}

#[test]
fn every_error_names_its_rule() {
    let e = decode_err(&[0x36, 5, 0, 1, b't', 0, 1]);
    assert_eq!(e.rule(), "MQTT-3.3.1-4");
    assert!(e.to_string().contains("MQTT-3.3.1-4"), "{e}");
}
