//! Byte-exact MQTT 5.0 vectors for CONNECT, CONNACK, DISCONNECT, AUTH and
//! the pings, written by hand from the OASIS MQTT 5.0 text, and one test
//! per wire-format rule the decoder must reject. Statement ids are cited as
//! `[5.0 MQTT-x.y.z-n]`, sections without an id as "5.0 section x.y.z".
//!
//! Every vector is checked three ways: our encoder produces exactly these
//! bytes, the decoder turns them back into the same value, and feeding them
//! one byte at a time yields nothing until the last byte.

use bytes::{Bytes, BytesMut};
use mqtt_proto::packet::v5::{
    decode, Auth, AuthProperties, ConnAck, ConnAckProperties, Connect, ConnectProperties,
    Disconnect, DisconnectProperties, Packet, PayloadFormat, ReasonCode, UserProperty, Will,
    WillProperties,
};
use mqtt_proto::packet::{v5, DecodeError, EncodeError, PacketType, Protocol};
use mqtt_proto::topic::TopicError;
use mqtt_proto::{MqttString, QoS, TopicName};

const MAX: usize = 1 << 20;

fn s(v: &str) -> MqttString {
    MqttString::try_from(v).unwrap()
}

fn user(k: &str, v: &str) -> UserProperty {
    UserProperty {
        name: s(k),
        value: s(v),
    }
}

/// Encode, decode whole, decode byte by byte.
fn vector(packet: Packet, wire: &[u8]) {
    let mut out = BytesMut::new();
    packet.encode(&mut out).unwrap();
    assert_eq!(&out[..], wire, "encoding of {packet:?}");
    decodes_to(wire, packet);
}

/// Decode whole and byte by byte, for forms our encoder does not produce.
fn decodes_to(wire: &[u8], packet: Packet) {
    let mut buf = BytesMut::from(wire);
    assert_eq!(decode(&mut buf, MAX), Ok(Some(packet.clone())));
    assert!(buf.is_empty(), "decode must consume exactly one packet");

    let mut trickle = BytesMut::new();
    for (i, byte) in wire.iter().enumerate() {
        trickle.extend_from_slice(&[*byte]);
        let got = decode(&mut trickle, MAX).unwrap();
        if i + 1 < wire.len() {
            assert_eq!(got, None, "complete after {} of {}", i + 1, wire.len());
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

/// Encoding fails with `error` and appends nothing.
fn encode_err(packet: Packet, error: EncodeError) {
    let mut buf = BytesMut::from(&b"kept"[..]);
    assert_eq!(packet.encode(&mut buf), Err(error), "{packet:?}");
    assert_eq!(&buf[..], b"kept", "nothing appended on error");
}

fn connect_min() -> Connect {
    Connect {
        clean_start: true,
        keep_alive: 60,
        properties: ConnectProperties::default(),
        client_id: s("c"),
        will: None,
        username: None,
        password: None,
    }
}

fn connack(reason_code: ReasonCode) -> ConnAck {
    ConnAck {
        session_present: false,
        reason_code,
        properties: ConnAckProperties::default(),
    }
}

/// A CONNECT for client "c", keep-alive 0, with `flags`, the property
/// block `props` (length included) and `payload` after the client id.
fn connect_wire(flags: u8, props: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 5, flags, 0, 0];
    body.extend_from_slice(props);
    body.extend_from_slice(&[0, 1, b'c']);
    body.extend_from_slice(payload);
    let mut wire = vec![0x10, u8::try_from(body.len()).unwrap()];
    wire.extend_from_slice(&body);
    wire
}

// ---- CONNECT (5.0 section 3.1) ---------------------------------------------

#[test]
fn connect_minimal() {
    // 3.1.2.1 "MQTT" [5.0 MQTT-3.1.2-1], 3.1.2.2 level 5, 3.1.2.4 Clean
    // Start, 3.1.2.10 keep-alive, property length 0 [5.0 MQTT-2.2.2-1],
    // client id first in the payload [5.0 MQTT-3.1.3-3].
    vector(
        Packet::Connect(Box::new(connect_min())),
        &[
            0x10, 0x0E, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x00, 0x00,
            0x01, b'c',
        ],
    );
}

#[test]
fn connect_with_everything() {
    // Payload order: client id, will properties, will topic, will payload,
    // user name, password [5.0 MQTT-3.1.3-1]; flags 0xEE = user name,
    // password, will retain, will QoS 1, will, clean start (3.1.2.3).
    let connect = Connect {
        clean_start: true,
        keep_alive: 10,
        properties: ConnectProperties {
            session_expiry_interval: Some(120),
            receive_maximum: Some(20),
            user_properties: vec![user("k", "v")],
            ..ConnectProperties::default()
        },
        client_id: s("id"),
        will: Some(Will {
            topic: TopicName::try_from("w").unwrap(),
            payload: Bytes::from_static(b"bye"),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: WillProperties {
                will_delay_interval: Some(5),
                payload_format_indicator: Some(PayloadFormat::Utf8),
                ..WillProperties::default()
            },
        }),
        username: Some(s("u")),
        password: Some(Bytes::from_static(b"p")),
    };
    vector(
        Packet::Connect(Box::new(connect)),
        &[
            0x10, 0x34, // fixed header, 52 bytes follow
            0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0xEE, 0x00, 0x0A, // variable header
            0x0F, // property length 15
            0x11, 0x00, 0x00, 0x00, 0x78, // Session Expiry Interval 120
            0x21, 0x00, 0x14, // Receive Maximum 20
            0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // User Property k=v
            0x00, 0x02, b'i', b'd', // client id
            0x07, // will property length 7
            0x01, 0x01, // Payload Format Indicator: UTF-8
            0x18, 0x00, 0x00, 0x00, 0x05, // Will Delay Interval 5
            0x00, 0x01, b'w', // will topic
            0x00, 0x03, b'b', b'y', b'e', // will payload
            0x00, 0x01, b'u', // user name
            0x00, 0x01, b'p', // password
        ],
    );
}

#[test]
fn connect_password_without_user_name() {
    // 5.0 lets a password come without a user name (section 3.1.2.9):
    // flags 0x42 = password, clean start.
    let connect = Connect {
        keep_alive: 0,
        password: Some(Bytes::from_static(b"p")),
        ..connect_min()
    };
    vector(
        Packet::Connect(Box::new(connect)),
        &connect_wire(0x42, &[0x00], &[0x00, 0x01, b'p']),
    );
}

#[test]
fn connect_keeps_user_property_order_and_repeats() {
    // User Property may repeat, in order [5.0 MQTT-3.1.3-10] (will) and
    // section 3.1.2.11.8; the same name twice is allowed.
    let connect = Connect {
        keep_alive: 0,
        properties: ConnectProperties {
            user_properties: vec![user("b", "1"), user("a", "2"), user("b", "3")],
            ..ConnectProperties::default()
        },
        ..connect_min()
    };
    let props = [
        0x15, 0x26, 0, 1, b'b', 0, 1, b'1', 0x26, 0, 1, b'a', 0, 1, b'2', 0x26, 0, 1, b'b', 0, 1,
        b'3',
    ];
    vector(
        Packet::Connect(Box::new(connect)),
        &connect_wire(0x02, &props, &[]),
    );
}

#[test]
fn connect_properties_in_any_order() {
    // Properties may come in any order (5.0 section 2.2.2.2): Receive
    // Maximum before Session Expiry Interval decodes to the same set.
    let connect = Connect {
        keep_alive: 0,
        properties: ConnectProperties {
            session_expiry_interval: Some(1),
            receive_maximum: Some(2),
            ..ConnectProperties::default()
        },
        ..connect_min()
    };
    decodes_to(
        &connect_wire(
            0x02,
            &[0x08, 0x21, 0x00, 0x02, 0x11, 0x00, 0x00, 0x00, 0x01],
            &[],
        ),
        Packet::Connect(Box::new(connect)),
    );
}

#[test]
fn connect_rejects_other_protocol_name() {
    // [5.0 MQTT-3.1.2-1] the protocol name must be "MQTT".
    let mut wire = connect_wire(0x02, &[0x00], &[]);
    wire[6] = b'X';
    assert_eq!(
        decode_err(&wire),
        DecodeError::UnsupportedProtocol { level: 5 }
    );
}

#[test]
fn connect_rejects_other_protocol_level() {
    // [5.0 MQTT-3.1.2-2] the 5.0 decoder takes level 5 only; a 3.1.1
    // CONNECT (level 4) is refused.
    let mut wire = connect_wire(0x02, &[0x00], &[]);
    wire[8] = 4;
    assert_eq!(
        decode_err(&wire),
        DecodeError::UnsupportedProtocol { level: 4 }
    );
}

#[test]
fn connect_rejects_reserved_flag() {
    // [5.0 MQTT-3.1.2-3] the reserved flag must be 0.
    assert_eq!(
        decode_err(&connect_wire(0x03, &[0x00], &[])),
        DecodeError::ConnectReservedFlag
    );
}

#[test]
fn connect_rejects_will_qos_without_will() {
    // [5.0 MQTT-3.1.2-11] Will QoS must be 0 without the Will Flag.
    assert_eq!(
        decode_err(&connect_wire(0x0A, &[0x00], &[])),
        DecodeError::InvalidWillFlags
    );
}

#[test]
fn connect_rejects_will_qos_3() {
    // [5.0 MQTT-3.1.2-12] Will QoS 3 is a Malformed Packet.
    let will = [0x00, 0x00, 0x01, b'w', 0x00, 0x00];
    assert_eq!(
        decode_err(&connect_wire(0x1E, &[0x00], &will)),
        DecodeError::InvalidWillFlags
    );
}

#[test]
fn connect_rejects_will_retain_without_will() {
    // [5.0 MQTT-3.1.2-13] Will Retain must be 0 without the Will Flag.
    assert_eq!(
        decode_err(&connect_wire(0x22, &[0x00], &[])),
        DecodeError::InvalidWillFlags
    );
}

#[test]
fn connect_rejects_missing_will_fields() {
    // [5.0 MQTT-3.1.2-9] with the Will Flag the will properties, topic and
    // payload must be present.
    assert_eq!(
        decode_err(&connect_wire(0x06, &[0x00], &[0x00])),
        DecodeError::UnexpectedEnd {
            packet_type: PacketType::Connect
        }
    );
}

#[test]
fn connect_rejects_missing_user_name() {
    // [5.0 MQTT-3.1.2-17] with the User Name Flag a user name is present.
    assert_eq!(
        decode_err(&connect_wire(0x82, &[0x00], &[])),
        DecodeError::UnexpectedEnd {
            packet_type: PacketType::Connect
        }
    );
}

#[test]
fn connect_rejects_missing_password() {
    // [5.0 MQTT-3.1.2-19] with the Password Flag a password is present.
    assert_eq!(
        decode_err(&connect_wire(0x42, &[0x00], &[])),
        DecodeError::UnexpectedEnd {
            packet_type: PacketType::Connect
        }
    );
}

#[test]
fn connect_rejects_user_name_without_flag() {
    // [5.0 MQTT-3.1.2-16] without the User Name Flag no user name is
    // present: the bytes are left over.
    assert_eq!(
        decode_err(&connect_wire(0x02, &[0x00], &[0x00, 0x01, b'u'])),
        DecodeError::TrailingBytes {
            packet_type: PacketType::Connect,
            len: 3
        }
    );
}

#[test]
fn connect_rejects_bad_client_id_strings() {
    // [5.0 MQTT-3.1.3-4] the client id is a UTF-8 Encoded String: no
    // surrogates [5.0 MQTT-1.5.4-1], no U+0000 [5.0 MQTT-1.5.4-2].
    let mut wire = connect_wire(0x02, &[0x00], &[]);
    let last = wire.len() - 1;
    wire[last] = 0xFF;
    assert_eq!(decode_err(&wire), DecodeError::InvalidUtf8);
    wire[last] = 0x00;
    assert_eq!(decode_err(&wire), DecodeError::NullCharacter);
}

#[test]
fn connect_rejects_wildcard_will_topic() {
    // 5.0 section 3.1.3.3: the will topic is a topic name, so no wildcard
    // (as [5.0 MQTT-3.3.2-2] for PUBLISH).
    let will = [0x00, 0x00, 0x01, b'#', 0x00, 0x00];
    assert_eq!(
        decode_err(&connect_wire(0x06, &[0x00], &will)),
        DecodeError::InvalidTopicName(TopicError::WildcardInName)
    );
}

#[test]
fn connect_rejects_property_of_another_packet() {
    // 5.0 section 2.2.2.2: Maximum QoS (0x24) belongs to CONNACK only.
    let error = decode_err(&connect_wire(0x02, &[0x02, 0x24, 0x01], &[]));
    assert_eq!(
        error,
        DecodeError::UnknownProperty {
            packet_type: PacketType::Connect,
            id: 0x24
        }
    );
    assert_eq!(error.rule(), "5.0 section 2.2.2.2");
}

#[test]
fn connect_rejects_undefined_property_ids() {
    // 5.0 section 2.2.2.2: 0x00 and multi-byte identifiers are undefined.
    assert_eq!(
        decode_err(&connect_wire(0x02, &[0x02, 0x00, 0x00], &[])),
        DecodeError::UnknownProperty {
            packet_type: PacketType::Connect,
            id: 0
        }
    );
    assert_eq!(
        decode_err(&connect_wire(0x02, &[0x03, 0x80, 0x01, 0x00], &[])),
        DecodeError::UnknownProperty {
            packet_type: PacketType::Connect,
            id: 128
        }
    );
}

#[test]
fn connect_rejects_duplicate_property() {
    // 5.0 section 3.1.2.11.2: Session Expiry Interval more than once is a
    // Protocol Error.
    let props = [0x0A, 0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2];
    let error = decode_err(&connect_wire(0x02, &props, &[]));
    assert_eq!(
        error,
        DecodeError::DuplicateProperty {
            packet_type: PacketType::Connect,
            id: 0x11
        }
    );
    assert_eq!(error.rule(), "5.0 section 3.1.2.11");
}

#[test]
fn connect_rejects_out_of_range_properties() {
    // 5.0 sections 3.1.2.11.3 (Receive Maximum 0), 3.1.2.11.4 (Maximum
    // Packet Size 0), 3.1.2.11.6 and 3.1.2.11.7 (a request byte above 1).
    for (props, id) in [
        (&[0x03, 0x21, 0x00, 0x00][..], 0x21),
        (&[0x05, 0x27, 0x00, 0x00, 0x00, 0x00][..], 0x27),
        (&[0x02, 0x19, 0x02][..], 0x19),
        (&[0x02, 0x17, 0x02][..], 0x17),
    ] {
        assert_eq!(
            decode_err(&connect_wire(0x02, props, &[])),
            DecodeError::InvalidPropertyValue {
                packet_type: PacketType::Connect,
                id
            }
        );
    }
}

#[test]
fn connect_rejects_authentication_data_without_method() {
    // 5.0 section 3.1.2.11.10: Authentication Data without an
    // Authentication Method is a Protocol Error.
    let error = decode_err(&connect_wire(0x02, &[0x04, 0x16, 0x00, 0x01, 0xAA], &[]));
    assert_eq!(error, DecodeError::AuthDataWithoutMethod);
    assert_eq!(error.rule(), "5.0 section 3.1.2.11.10");
}

#[test]
fn connect_rejects_bad_will_properties() {
    // 5.0 section 3.1.3.2: Payload Format Indicator is 0 or 1 (3.1.3.2.3),
    // the Response Topic is a topic name (3.1.3.2.5), and Session Expiry
    // Interval is not a will property.
    let will = |props: &[u8]| {
        let mut payload = props.to_vec();
        payload.extend_from_slice(&[0x00, 0x01, b'w', 0x00, 0x00]);
        connect_wire(0x06, &[0x00], &payload)
    };
    assert_eq!(
        decode_err(&will(&[0x02, 0x01, 0x02])),
        DecodeError::InvalidPropertyValue {
            packet_type: PacketType::Connect,
            id: 0x01
        }
    );
    assert_eq!(
        decode_err(&will(&[0x04, 0x08, 0x00, 0x01, b'+'])),
        DecodeError::InvalidPropertyValue {
            packet_type: PacketType::Connect,
            id: 0x08
        }
    );
    assert_eq!(
        decode_err(&will(&[0x05, 0x11, 0, 0, 0, 1])),
        DecodeError::UnknownProperty {
            packet_type: PacketType::Connect,
            id: 0x11
        }
    );
}

#[test]
fn connect_rejects_long_property_length_form() {
    // [5.0 MQTT-1.5.5-1] a Variable Byte Integer uses the fewest bytes: a
    // property length of 0 written as 0x80 0x00 is malformed.
    let error = decode_err(&connect_wire(0x02, &[0x80, 0x00], &[]));
    assert_eq!(error, DecodeError::MalformedVarInt);
    assert_eq!(error.rule(), "5.0 MQTT-1.5.5-1");
}

#[test]
fn connect_rejects_property_block_past_the_packet() {
    // 5.0 section 2.2.2.1: the property length counts bytes of this packet.
    assert_eq!(
        decode_err(&connect_wire(0x02, &[0x20], &[])),
        DecodeError::UnexpectedEnd {
            packet_type: PacketType::Connect
        }
    );
}

#[test]
fn connect_encode_refuses_unencodable_values() {
    // Values the standard forbids are refused before anything is written.
    let with = |properties: ConnectProperties| {
        Packet::Connect(Box::new(Connect {
            properties,
            ..connect_min()
        }))
    };
    encode_err(
        with(ConnectProperties {
            receive_maximum: Some(0),
            ..ConnectProperties::default()
        }),
        EncodeError::InvalidValue,
    );
    encode_err(
        with(ConnectProperties {
            maximum_packet_size: Some(0),
            ..ConnectProperties::default()
        }),
        EncodeError::InvalidValue,
    );
    encode_err(
        with(ConnectProperties {
            authentication_data: Some(Bytes::from_static(b"x")),
            ..ConnectProperties::default()
        }),
        EncodeError::InvalidValue,
    );
    let big = Bytes::from(vec![0u8; 65_536]);
    encode_err(
        Packet::Connect(Box::new(Connect {
            password: Some(big.clone()),
            ..connect_min()
        })),
        EncodeError::FieldTooLong { len: 65_536 },
    );
    encode_err(
        Packet::Connect(Box::new(Connect {
            will: Some(Will {
                topic: TopicName::try_from("w").unwrap(),
                payload: big,
                qos: QoS::AtMostOnce,
                retain: false,
                properties: WillProperties::default(),
            }),
            ..connect_min()
        })),
        EncodeError::FieldTooLong { len: 65_536 },
    );
    encode_err(
        Packet::Connect(Box::new(Connect {
            will: Some(Will {
                topic: TopicName::try_from("w").unwrap(),
                payload: Bytes::new(),
                qos: QoS::AtMostOnce,
                retain: false,
                properties: WillProperties {
                    response_topic: Some(s("a/#")),
                    ..WillProperties::default()
                },
            }),
            ..connect_min()
        })),
        EncodeError::InvalidValue,
    );
}

#[test]
fn v311_connect_refuses_v5() {
    // The 3.1.1 type cannot carry 5.0's properties.
    let connect = mqtt_proto::packet::Connect {
        protocol: Protocol::V5,
        clean_session: true,
        keep_alive: 0,
        client_id: s("c"),
        last_will: None,
        login: None,
    };
    let mut buf = BytesMut::new();
    assert_eq!(connect.encode(&mut buf), Err(EncodeError::InvalidValue));
    assert!(buf.is_empty());
}

// ---- CONNACK (5.0 section 3.2) ---------------------------------------------

#[test]
fn connack_session_present() {
    // 3.2.2.1.1 Session Present, 3.2.2.2 reason 0x00, property length 0.
    vector(
        Packet::ConnAck(Box::new(ConnAck {
            session_present: true,
            ..connack(ReasonCode::Success)
        })),
        &[0x20, 0x03, 0x01, 0x00, 0x00],
    );
}

#[test]
fn connack_with_properties() {
    // 3.2.2.3: Assigned Client Identifier (0x12), Topic Alias Maximum
    // (0x22), Maximum QoS 1 (0x24), Retain Available 0 (0x25).
    let ack = ConnAck {
        properties: ConnAckProperties {
            assigned_client_identifier: Some(s("a")),
            topic_alias_maximum: Some(10),
            maximum_qos: Some(QoS::AtLeastOnce),
            retain_available: Some(false),
            ..ConnAckProperties::default()
        },
        ..connack(ReasonCode::Success)
    };
    vector(
        Packet::ConnAck(Box::new(ack)),
        &[
            0x20, 0x0E, 0x00, 0x00, 0x0B, 0x12, 0x00, 0x01, b'a', 0x22, 0x00, 0x0A, 0x24, 0x01,
            0x25, 0x00,
        ],
    );
}

#[test]
fn connack_refusal_with_reason_string() {
    // 3.2.2.2 reason 0x86 (Bad User Name or Password), 3.2.2.3.9 Reason
    // String.
    let ack = ConnAck {
        properties: ConnAckProperties {
            reason_string: Some(s("no")),
            ..ConnAckProperties::default()
        },
        ..connack(ReasonCode::BadUserNameOrPassword)
    };
    vector(
        Packet::ConnAck(Box::new(ack)),
        &[0x20, 0x08, 0x00, 0x86, 0x05, 0x1F, 0x00, 0x02, b'n', b'o'],
    );
}

#[test]
fn connack_rejects_reserved_flags() {
    // [5.0 MQTT-3.2.2-1] bits 7-1 of the acknowledge flags are 0.
    assert_eq!(
        decode_err(&[0x20, 0x03, 0x02, 0x00, 0x00]),
        DecodeError::InvalidConnAckFlags(0x02)
    );
}

#[test]
fn connack_rejects_session_present_with_error() {
    // [5.0 MQTT-3.2.2-6] a non-zero reason code comes with Session Present 0.
    assert_eq!(
        decode_err(&[0x20, 0x03, 0x01, 0x80, 0x00]),
        DecodeError::SessionPresentOnRefusal
    );
    encode_err(
        Packet::ConnAck(Box::new(ConnAck {
            session_present: true,
            ..connack(ReasonCode::NotAuthorized)
        })),
        EncodeError::InvalidValue,
    );
}

#[test]
fn connack_rejects_other_reason_codes() {
    // [5.0 MQTT-3.2.2-8] only the Connect Reason Codes: 0x8B (Server
    // shutting down) is DISCONNECT's, 0x03 is undefined.
    for code in [0x8B, 0x03, 0x10, 0x18] {
        let error = decode_err(&[0x20, 0x03, 0x00, code, 0x00]);
        assert_eq!(
            error,
            DecodeError::InvalidReasonCode {
                packet_type: PacketType::ConnAck,
                code
            }
        );
        assert_eq!(error.rule(), "5.0 MQTT-3.2.2-8");
    }
    encode_err(
        Packet::ConnAck(Box::new(connack(ReasonCode::ServerShuttingDown))),
        EncodeError::InvalidValue,
    );
}

#[test]
fn connack_rejects_missing_property_length() {
    // 5.0 section 3.2.2.3.1: CONNACK always has a property length, so the
    // 3.1.1 two-byte form is refused from the fixed header.
    assert_eq!(
        decode_err(&[0x20, 0x02, 0x00, 0x00]),
        DecodeError::InvalidRemainingLength {
            packet_type: PacketType::ConnAck,
            len: 2
        }
    );
}

#[test]
fn connack_rejects_out_of_range_properties() {
    // 5.0 sections 3.2.2.3.3 (Receive Maximum 0), 3.2.2.3.4 (Maximum QoS
    // other than 0 or 1), 3.2.2.3.5 (Retain Available above 1), 3.2.2.3.6
    // (Maximum Packet Size 0), 3.2.2.3.11 to 3.2.2.3.13 (availability
    // bytes above 1).
    for (props, id) in [
        (&[0x03, 0x21, 0x00, 0x00][..], 0x21),
        (&[0x02, 0x24, 0x02][..], 0x24),
        (&[0x02, 0x25, 0x02][..], 0x25),
        (&[0x05, 0x27, 0x00, 0x00, 0x00, 0x00][..], 0x27),
        (&[0x02, 0x28, 0x02][..], 0x28),
        (&[0x02, 0x29, 0x05][..], 0x29),
        (&[0x02, 0x2A, 0xFF][..], 0x2A),
    ] {
        let mut wire = vec![0x20, 2 + props.len() as u8, 0x00, 0x00];
        wire.extend_from_slice(props);
        let error = decode_err(&wire);
        assert_eq!(
            error,
            DecodeError::InvalidPropertyValue {
                packet_type: PacketType::ConnAck,
                id
            }
        );
        assert_eq!(error.rule(), "5.0 section 3.2.2.3");
    }
}

#[test]
fn connack_rejects_property_of_another_packet() {
    // 5.0 section 2.2.2.2: Request Problem Information (0x17) is CONNECT's.
    assert_eq!(
        decode_err(&[0x20, 0x05, 0x00, 0x00, 0x02, 0x17, 0x01]),
        DecodeError::UnknownProperty {
            packet_type: PacketType::ConnAck,
            id: 0x17
        }
    );
}

#[test]
fn connack_rejects_duplicate_property() {
    // 5.0 section 3.2.2.3.9: Reason String more than once.
    assert_eq!(
        decode_err(&[0x20, 0x09, 0x00, 0x00, 0x06, 0x1F, 0x00, 0x00, 0x1F, 0x00, 0x00]),
        DecodeError::DuplicateProperty {
            packet_type: PacketType::ConnAck,
            id: 0x1F
        }
    );
}

#[test]
fn connack_rejects_authentication_data_without_method() {
    // 5.0 section 3.2.2.3.18 with 3.1.2.11.10: data only with a method.
    assert_eq!(
        decode_err(&[0x20, 0x06, 0x00, 0x00, 0x03, 0x16, 0x00, 0x00]),
        DecodeError::AuthDataWithoutMethod
    );
}

#[test]
fn connack_rejects_trailing_bytes() {
    // 5.0 section 3.2.3: CONNACK has no payload.
    assert_eq!(
        decode_err(&[0x20, 0x04, 0x00, 0x00, 0x00, 0x00]),
        DecodeError::TrailingBytes {
            packet_type: PacketType::ConnAck,
            len: 1
        }
    );
}

#[test]
fn connack_encode_refuses_unencodable_values() {
    // Maximum QoS is sent as 0 or 1 only (5.0 section 3.2.2.3.4).
    for properties in [
        ConnAckProperties {
            maximum_qos: Some(QoS::ExactlyOnce),
            ..ConnAckProperties::default()
        },
        ConnAckProperties {
            receive_maximum: Some(0),
            ..ConnAckProperties::default()
        },
        ConnAckProperties {
            authentication_data: Some(Bytes::new()),
            ..ConnAckProperties::default()
        },
    ] {
        encode_err(
            Packet::ConnAck(Box::new(ConnAck {
                properties,
                ..connack(ReasonCode::Success)
            })),
            EncodeError::InvalidValue,
        );
    }
}

// ---- DISCONNECT (5.0 section 3.14) -----------------------------------------

fn disconnect(reason_code: ReasonCode) -> Disconnect {
    Disconnect {
        reason_code,
        properties: DisconnectProperties::default(),
    }
}

#[test]
fn disconnect_normal_is_empty() {
    // 3.14.2.1: Success without properties has remaining length 0.
    vector(
        Packet::Disconnect(disconnect(ReasonCode::Success)),
        &[0xE0, 0x00],
    );
}

#[test]
fn disconnect_reason_without_properties() {
    // 3.14.2.2.1: under 2 bytes left, the property length is 0.
    vector(
        Packet::Disconnect(disconnect(ReasonCode::SessionTakenOver)),
        &[0xE0, 0x01, 0x8E],
    );
}

#[test]
fn disconnect_with_properties() {
    // 3.14.2.2: Session Expiry Interval 0 (0x11), Server Reference "s2"
    // (0x1C) with 0x9C (Use another server).
    let packet = Disconnect {
        reason_code: ReasonCode::UseAnotherServer,
        properties: DisconnectProperties {
            session_expiry_interval: Some(0),
            server_reference: Some(s("s2")),
            ..DisconnectProperties::default()
        },
    };
    vector(
        Packet::Disconnect(packet),
        &[
            0xE0, 0x0C, 0x9C, 0x0A, 0x11, 0x00, 0x00, 0x00, 0x00, 0x1C, 0x00, 0x02, b's', b'2',
        ],
    );
}

#[test]
fn disconnect_longer_forms_decode() {
    // The forms with an explicit reason code 0x00 or property length 0 mean
    // the same as the short ones (3.14.2.1, 3.14.2.2.1).
    decodes_to(
        &[0xE0, 0x01, 0x00],
        Packet::Disconnect(disconnect(ReasonCode::Success)),
    );
    decodes_to(
        &[0xE0, 0x02, 0x00, 0x00],
        Packet::Disconnect(disconnect(ReasonCode::Success)),
    );
    decodes_to(
        &[0xE0, 0x02, 0x04, 0x00],
        Packet::Disconnect(disconnect(ReasonCode::DisconnectWithWillMessage)),
    );
}

#[test]
fn disconnect_rejects_reserved_flags() {
    // [5.0 MQTT-3.14.1-1] the fixed-header flags are 0.
    assert_eq!(
        decode_err(&[0xE1, 0x00]),
        DecodeError::InvalidFlags {
            packet_type: PacketType::Disconnect,
            flags: 1
        }
    );
}

#[test]
fn disconnect_rejects_other_reason_codes() {
    // [5.0 MQTT-3.14.2-1] only the Disconnect Reason Codes.
    for code in [0x18, 0x19, 0x01, 0x84, 0x92, 0xFF] {
        let error = decode_err(&[0xE0, 0x01, code]);
        assert_eq!(
            error,
            DecodeError::InvalidReasonCode {
                packet_type: PacketType::Disconnect,
                code
            }
        );
        assert_eq!(error.rule(), "5.0 MQTT-3.14.2-1");
    }
    encode_err(
        Packet::Disconnect(disconnect(ReasonCode::ContinueAuthentication)),
        EncodeError::InvalidValue,
    );
}

#[test]
fn disconnect_rejects_property_of_another_packet() {
    // 5.0 section 3.14.2.2: Receive Maximum is not a DISCONNECT property.
    assert_eq!(
        decode_err(&[0xE0, 0x05, 0x00, 0x03, 0x21, 0x00, 0x01]),
        DecodeError::UnknownProperty {
            packet_type: PacketType::Disconnect,
            id: 0x21
        }
    );
}

#[test]
fn disconnect_rejects_duplicate_property() {
    // 5.0 section 3.14.2.2.2: Session Expiry Interval more than once.
    let error = decode_err(&[0xE0, 0x0C, 0x00, 0x0A, 0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 1]);
    assert_eq!(
        error,
        DecodeError::DuplicateProperty {
            packet_type: PacketType::Disconnect,
            id: 0x11
        }
    );
    assert_eq!(error.rule(), "5.0 section 3.14.2.2");
}

#[test]
fn disconnect_rejects_trailing_and_short_bytes() {
    // 5.0 section 3.14.3: no payload after the properties; and the property
    // length may not run past the packet (2.2.2.1).
    assert_eq!(
        decode_err(&[0xE0, 0x03, 0x00, 0x00, 0x00]),
        DecodeError::TrailingBytes {
            packet_type: PacketType::Disconnect,
            len: 1
        }
    );
    assert_eq!(
        decode_err(&[0xE0, 0x02, 0x00, 0x05]),
        DecodeError::UnexpectedEnd {
            packet_type: PacketType::Disconnect
        }
    );
}

// ---- AUTH (5.0 section 3.15) -----------------------------------------------

fn auth(reason_code: ReasonCode, properties: AuthProperties) -> Packet {
    Packet::Auth(Auth {
        reason_code,
        properties,
    })
}

#[test]
fn auth_success_is_empty() {
    // 3.15.2.1: Success without properties has remaining length 0.
    vector(
        auth(ReasonCode::Success, AuthProperties::default()),
        &[0xF0, 0x00],
    );
}

#[test]
fn auth_continue_with_method_and_data() {
    // 3.15.2.1 reason 0x18, 3.15.2.2.2 Authentication Method, 3.15.2.2.3
    // Authentication Data.
    let properties = AuthProperties {
        authentication_method: Some(s("SCRAM")),
        authentication_data: Some(Bytes::from_static(&[1, 2])),
        ..AuthProperties::default()
    };
    vector(
        auth(ReasonCode::ContinueAuthentication, properties),
        &[
            0xF0, 0x0F, 0x18, 0x0D, 0x15, 0x00, 0x05, b'S', b'C', b'R', b'A', b'M', 0x16, 0x00,
            0x02, 0x01, 0x02,
        ],
    );
}

#[test]
fn auth_reauthenticate_keeps_property_length() {
    // 3.15.2.1 only lets Success drop the reason code and property length,
    // so a reason without properties is written with a property length 0;
    // the one-byte form still decodes.
    vector(
        auth(ReasonCode::ReAuthenticate, AuthProperties::default()),
        &[0xF0, 0x02, 0x19, 0x00],
    );
    decodes_to(
        &[0xF0, 0x01, 0x19],
        auth(ReasonCode::ReAuthenticate, AuthProperties::default()),
    );
}

#[test]
fn auth_rejects_reserved_flags() {
    // [5.0 MQTT-3.15.1-1] the fixed-header flags are 0.
    assert_eq!(
        decode_err(&[0xF2, 0x00]),
        DecodeError::InvalidFlags {
            packet_type: PacketType::Auth,
            flags: 2
        }
    );
}

#[test]
fn auth_rejects_other_reason_codes() {
    // [5.0 MQTT-3.15.2-1] only 0x00, 0x18 and 0x19.
    for code in [0x01, 0x04, 0x80, 0x87, 0x8C] {
        let error = decode_err(&[0xF0, 0x02, code, 0x00]);
        assert_eq!(
            error,
            DecodeError::InvalidReasonCode {
                packet_type: PacketType::Auth,
                code
            }
        );
        assert_eq!(error.rule(), "5.0 MQTT-3.15.2-1");
    }
    encode_err(
        auth(ReasonCode::NotAuthorized, AuthProperties::default()),
        EncodeError::InvalidValue,
    );
}

#[test]
fn auth_rejects_property_of_another_packet() {
    // 5.0 section 3.15.2.2: Session Expiry Interval is not an AUTH property.
    assert_eq!(
        decode_err(&[0xF0, 0x07, 0x18, 0x05, 0x11, 0, 0, 0, 1]),
        DecodeError::UnknownProperty {
            packet_type: PacketType::Auth,
            id: 0x11
        }
    );
}

#[test]
fn auth_rejects_duplicate_method() {
    // 5.0 section 3.15.2.2.2: Authentication Method more than once.
    assert_eq!(
        decode_err(&[0xF0, 0x08, 0x18, 0x06, 0x15, 0, 0, 0x15, 0, 0]),
        DecodeError::DuplicateProperty {
            packet_type: PacketType::Auth,
            id: 0x15
        }
    );
}

#[test]
fn auth_rejects_data_without_method() {
    // 5.0 section 3.15.2.2.3 with 3.1.2.11.10.
    assert_eq!(
        decode_err(&[0xF0, 0x05, 0x18, 0x03, 0x16, 0x00, 0x00]),
        DecodeError::AuthDataWithoutMethod
    );
    encode_err(
        auth(
            ReasonCode::ContinueAuthentication,
            AuthProperties {
                authentication_data: Some(Bytes::new()),
                ..AuthProperties::default()
            },
        ),
        EncodeError::InvalidValue,
    );
}

#[test]
fn auth_is_reserved_in_v311() {
    // Type 15 is AUTH only in 5.0 (5.0 section 2.1.2); 3.1.1 reserves it.
    let mut buf = BytesMut::from(&[0xF0, 0x00][..]);
    assert_eq!(
        mqtt_proto::packet::decode(&mut buf, MAX),
        Err(DecodeError::ReservedPacketType(15))
    );
}

// ---- PINGREQ, PINGRESP and the fixed header ---------------------------------

#[test]
fn pings() {
    // 5.0 sections 3.12 and 3.13: no variable header, no payload.
    vector(Packet::PingReq, &[0xC0, 0x00]);
    vector(Packet::PingResp, &[0xD0, 0x00]);
    assert_eq!(
        decode_err(&[0xC0, 0x01, 0x00]),
        DecodeError::InvalidRemainingLength {
            packet_type: PacketType::PingReq,
            len: 1
        }
    );
}

#[test]
fn reserved_type_0() {
    // 5.0 section 2.1.2: type 0 is reserved.
    assert_eq!(
        decode_err(&[0x00, 0x00]),
        DecodeError::ReservedPacketType(0)
    );
}

#[test]
fn too_large_is_refused_from_the_fixed_header() {
    // A packet over the caller's maximum is refused before its body arrives
    // (the client's Maximum Packet Size, 5.0 section 3.1.2.11.4).
    let mut buf = BytesMut::from(&[0xE0, 0x80, 0x01][..]);
    assert_eq!(
        decode(&mut buf, 100),
        Err(DecodeError::PacketTooLarge {
            size: 131,
            max: 100
        })
    );
}

#[test]
fn a_byte_order_mark_is_kept_wherever_it_appears() {
    // [5.0 MQTT-1.5.4-3] EF BB BF is U+FEFF, a character like any other:
    // never skipped or stripped, in a topic or in a property.
    use mqtt_proto::packet::v5::PublishProperties;
    use mqtt_proto::packet::QosPid;
    let bom = "\u{FEFF}";
    let publish = v5::Publish {
        dup: false,
        qos_pid: QosPid::AtMostOnce,
        retain: false,
        topic: Some(TopicName::try_from(format!("{bom}a").as_str()).unwrap()),
        properties: PublishProperties {
            user_properties: vec![UserProperty {
                name: s(bom),
                value: s(&format!("x{bom}")),
            }],
            ..Default::default()
        },
        payload: Bytes::new(),
    };
    let mut wire = BytesMut::new();
    v5::Packet::Publish(publish.clone())
        .encode(&mut wire)
        .unwrap();
    assert_eq!(
        &wire[4..7],
        [0xEF, 0xBB, 0xBF],
        "the topic starts with the BOM's bytes"
    );
    let Ok(Some(v5::Packet::Publish(back))) = v5::decode(&mut wire, MAX) else {
        panic!("the PUBLISH must decode");
    };
    assert_eq!(back, publish);
    assert!(back.topic.unwrap().as_str().starts_with(bom));
}

#[test]
fn topic_names_and_filters_are_never_empty_never_hold_nul_and_fit_65535_bytes() {
    // [5.0 MQTT-4.7.3-1] never empty: a SUBSCRIBE with an empty filter is
    // malformed.
    let mut empty_filter = BytesMut::from(&[0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00][..]);
    assert_eq!(
        v5::decode(&mut empty_filter, MAX),
        Err(DecodeError::InvalidTopicFilter(TopicError::Empty))
    );
    assert_eq!(TopicName::try_from("").unwrap_err(), TopicError::Empty);
    // [5.0 MQTT-4.7.3-2] never U+0000: a PUBLISH whose topic holds it.
    let mut nul_topic = BytesMut::from(&[0x30, 0x05, 0x00, 0x02, b'a', 0x00, 0x00][..]);
    assert_eq!(
        v5::decode(&mut nul_topic, MAX),
        Err(DecodeError::NullCharacter)
    );
    assert!(TopicName::try_from("a\u{0}b").is_err());
    // [5.0 MQTT-4.7.3-3] at most 65,535 bytes once encoded: a longer
    // name cannot even be built, so it is never sent.
    let long = "a".repeat(65_536);
    assert!(TopicName::try_from(long.as_str()).is_err());
    assert!(TopicName::try_from(&long[..65_535]).is_ok());
}
