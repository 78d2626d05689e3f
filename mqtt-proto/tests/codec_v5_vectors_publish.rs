//! Byte-exact MQTT 5.0 vectors for PUBLISH, PUBACK, PUBREC, PUBREL,
//! PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK, written by hand
//! from the OASIS MQTT 5.0 text, and one test per wire-format rule the
//! decoder must reject. Statement ids are cited as `[5.0 MQTT-x.y.z-n]`,
//! sections without an id as "5.0 section x.y.z".
//!
//! Every vector is checked three ways: our encoder produces exactly these
//! bytes, the decoder turns them back into the same value, and feeding them
//! one byte at a time yields nothing until the last byte.

use bytes::{Bytes, BytesMut};
use mqtt_proto::packet::v5::{
    decode, AckProperties, Packet, PayloadFormat, PubResponse, Publish, PublishProperties,
    ReasonCode, RetainHandling, SubAck, Subscribe, SubscribeProperties, SubscriptionOptions,
    UnsubAck, Unsubscribe, UnsubscribeProperties, UserProperty,
};
use mqtt_proto::packet::{DecodeError, EncodeError, PacketType, QosPid};
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

fn decodes_to(wire: &[u8]) -> Packet {
    let mut buf = BytesMut::from(wire);
    let packet = decode(&mut buf, MAX).unwrap().expect("a whole packet");
    assert!(buf.is_empty());
    packet
}

/// Encoding fails with `want` and leaves what the buffer held untouched.
fn encode_err(packet: Packet, want: EncodeError) {
    let mut buf = BytesMut::from(&b"before"[..]);
    assert_eq!(packet.encode(&mut buf), Err(want), "{packet:?}");
    assert_eq!(&buf[..], b"before", "nothing may be appended on error");
}

fn publish(topic: Option<&str>, properties: PublishProperties) -> Publish {
    Publish {
        dup: false,
        qos_pid: QosPid::AtMostOnce,
        retain: false,
        topic: topic.map(name),
        properties,
        payload: Bytes::new(),
    }
}

// ---- PUBLISH (3.3) ------------------------------------------------------------

#[test]
fn publish_qos0_without_properties() {
    // [5.0 MQTT-3.3.2-1] topic first; [5.0 MQTT-2.2.1-2] no packet
    // identifier at QoS 0; [5.0 MQTT-2.2.2-1] no properties is a property
    // length of 0; the payload is the rest (5.0 section 3.3.3).
    vector(
        Packet::Publish(Publish {
            payload: Bytes::from_static(b"hi"),
            ..publish(Some("a/b"), PublishProperties::default())
        }),
        &[0x30, 8, 0, 3, b'a', b'/', b'b', 0, b'h', b'i'],
    );
}

#[test]
fn publish_qos1_with_every_property() {
    // 5.0 section 3.3.2.3: each PUBLISH property once, Subscription
    // Identifier (a Variable Byte Integer, 200 takes two bytes) and User
    // Property repeated, in order [5.0 MQTT-3.3.2-18].
    let packet = Packet::Publish(Publish {
        dup: true,
        qos_pid: QosPid::AtLeastOnce(pid(10)),
        retain: true,
        topic: Some(name("t")),
        properties: PublishProperties {
            payload_format_indicator: Some(PayloadFormat::Utf8),
            message_expiry_interval: Some(3600),
            topic_alias: Some(5),
            response_topic: Some(s("r/1")),
            correlation_data: Some(Bytes::from_static(&[1, 2])),
            user_properties: vec![user("k", "v"), user("k", "w")],
            subscription_identifiers: vec![1, 200],
            content_type: Some(s("json")),
        },
        payload: Bytes::from_static(b"x"),
    });
    #[rustfmt::skip]
    let wire = [
        0x3B, 54, // DUP, QoS 1, RETAIN
        0, 1, b't',
        0, 10,
        47,
        0x01, 1,
        0x02, 0, 0, 0x0E, 0x10,
        0x03, 0, 4, b'j', b's', b'o', b'n',
        0x08, 0, 3, b'r', b'/', b'1',
        0x09, 0, 2, 1, 2,
        0x0B, 1,
        0x0B, 0xC8, 0x01,
        0x23, 0, 5,
        0x26, 0, 1, b'k', 0, 1, b'v',
        0x26, 0, 1, b'k', 0, 1, b'w',
        b'x',
    ];
    vector(packet, &wire);
}

#[test]
fn publish_topic_alias_stands_for_an_empty_topic() {
    // 5.0 section 3.3.2.3.4: a zero-length Topic Name with a Topic Alias.
    vector(
        Packet::Publish(Publish {
            qos_pid: QosPid::ExactlyOnce(pid(1)),
            ..publish(
                None,
                PublishProperties {
                    topic_alias: Some(1),
                    ..PublishProperties::default()
                },
            )
        }),
        &[0x34, 8, 0, 0, 0, 1, 3, 0x23, 0, 1],
    );
}

#[test]
fn publish_two_byte_remaining_length() {
    // 5.0 section 1.5.5: 200 payload bytes make a two-byte remaining
    // length; `encoded_len` counts the packet as it is written.
    let p = Publish {
        payload: Bytes::from(vec![7u8; 200]),
        ..publish(Some("t"), PublishProperties::default())
    };
    let mut wire = vec![0x30, 0xCC, 0x01, 0, 1, b't', 0];
    wire.extend_from_slice(&[7u8; 200]);
    assert_eq!(p.encoded_len(), wire.len());
    vector(Packet::Publish(p), &wire);
}

#[test]
fn publish_qos0_never_encodes_dup() {
    // [5.0 MQTT-3.3.1-2] DUP is 0 on every QoS 0 message.
    let mut out = BytesMut::new();
    Publish {
        dup: true,
        ..publish(Some("t"), PublishProperties::default())
    }
    .encode(&mut out)
    .unwrap();
    assert_eq!(&out[..], &[0x30, 4, 0, 1, b't', 0]);
}

#[test]
fn publish_properties_in_any_order() {
    // 5.0 section 2.2.2.2 fixes no order for properties; the repeated ones
    // keep theirs [5.0 MQTT-3.3.2-18].
    #[rustfmt::skip]
    let wire = [
        0x30, 19, 0, 1, b't',
        15,
        0x26, 0, 1, b'b', 0, 0,
        0x23, 0, 9,
        0x26, 0, 1, b'a', 0, 0,
    ];
    let Packet::Publish(p) = decodes_to(&wire) else {
        panic!("not a publish")
    };
    assert_eq!(p.properties.topic_alias, Some(9));
    assert_eq!(p.properties.user_properties, [user("b", ""), user("a", "")]);
}

#[test]
fn publish_payload_shares_the_receive_buffer() {
    // Zero-copy: topic, properties and payload point into the buffer.
    let wire = [0x30, 11, 0, 1, b't', 5, 0x09, 0, 2, 0xAB, 0xCD, b'h', b'i'];
    let mut buf = BytesMut::from(&wire[..]);
    let start = buf.as_ptr() as usize;
    let Some(Packet::Publish(p)) = decode(&mut buf, MAX).unwrap() else {
        panic!("not a publish");
    };
    let topic = p.topic.unwrap();
    assert_eq!(topic.as_ptr() as usize, start + 4);
    let data = p.properties.correlation_data.unwrap();
    assert_eq!(data.as_ptr() as usize, start + 9);
    assert_eq!(p.payload.as_ptr() as usize, start + 11);
}

#[test]
fn publish_empty_topic_without_alias() {
    // 5.0 section 3.3.2.1: a zero-length Topic Name without a Topic Alias
    // is a Protocol Error.
    assert_eq!(
        decode_err(&[0x30, 3, 0, 0, 0]),
        DecodeError::EmptyTopicWithoutAlias
    );
    encode_err(
        Packet::Publish(publish(None, PublishProperties::default())),
        EncodeError::InvalidValue,
    );
}

#[test]
fn publish_topic_without_wildcards() {
    // [5.0 MQTT-3.3.2-2], [5.0 MQTT-4.7.0-1]
    assert_eq!(
        decode_err(&[0x30, 4, 0, 1, b'#', 0]),
        DecodeError::InvalidTopicName(TopicError::WildcardInName)
    );
    assert_eq!(
        decode_err(&[0x30, 6, 0, 3, b'a', b'/', b'+', 0]),
        DecodeError::InvalidTopicName(TopicError::WildcardInName)
    );
}

#[test]
fn publish_topic_is_utf8() {
    // [5.0 MQTT-3.3.2-1] the topic is a UTF-8 Encoded String;
    // [5.0 MQTT-1.5.4-1] well-formed, [5.0 MQTT-1.5.4-2] without U+0000.
    assert_eq!(
        decode_err(&[0x30, 4, 0, 1, 0xFF, 0]),
        DecodeError::InvalidUtf8
    );
    assert_eq!(
        decode_err(&[0x30, 4, 0, 1, 0x00, 0]),
        DecodeError::NullCharacter
    );
}

#[test]
fn publish_qos3() {
    // [5.0 MQTT-3.3.1-4] both QoS bits set is a Malformed Packet.
    assert_eq!(
        decode_err(&[0x36, 6, 0, 1, b't', 0, 1, 0]),
        DecodeError::InvalidQoS
    );
}

#[test]
fn publish_dup_on_qos0() {
    // [5.0 MQTT-3.3.1-2]
    assert_eq!(
        decode_err(&[0x38, 4, 0, 1, b't', 0]),
        DecodeError::DupWithQoS0
    );
}

#[test]
fn publish_packet_id_zero() {
    // [5.0 MQTT-2.2.1-3], [5.0 MQTT-2.2.1-4] a QoS 1 or 2 PUBLISH carries a
    // non-zero Packet Identifier.
    assert_eq!(
        decode_err(&[0x32, 6, 0, 1, b't', 0, 0, 0]),
        DecodeError::ZeroPacketId
    );
}

#[test]
fn publish_topic_alias_zero() {
    // [5.0 MQTT-3.3.2-8]
    assert_eq!(
        decode_err(&[0x30, 7, 0, 1, b't', 3, 0x23, 0, 0]),
        DecodeError::InvalidPropertyValue {
            packet_type: PacketType::Publish,
            id: 0x23
        }
    );
    encode_err(
        Packet::Publish(publish(
            Some("t"),
            PublishProperties {
                topic_alias: Some(0),
                ..PublishProperties::default()
            },
        )),
        EncodeError::InvalidValue,
    );
}

#[test]
fn publish_response_topic_without_wildcards() {
    // [5.0 MQTT-3.3.2-14]
    assert_eq!(
        decode_err(&[0x30, 10, 0, 1, b't', 6, 0x08, 0, 3, b'r', b'/', b'#']),
        DecodeError::InvalidPropertyValue {
            packet_type: PacketType::Publish,
            id: 0x08
        }
    );
    encode_err(
        Packet::Publish(publish(
            Some("t"),
            PublishProperties {
                response_topic: Some(s("r/+")),
                ..PublishProperties::default()
            },
        )),
        EncodeError::InvalidValue,
    );
}

#[test]
fn publish_response_topic_is_utf8() {
    // [5.0 MQTT-3.3.2-13]
    assert_eq!(
        decode_err(&[0x30, 8, 0, 1, b't', 4, 0x08, 0, 1, 0xC0]),
        DecodeError::InvalidUtf8
    );
}

#[test]
fn publish_content_type_is_utf8() {
    // [5.0 MQTT-3.3.2-19]
    assert_eq!(
        decode_err(&[0x30, 8, 0, 1, b't', 4, 0x03, 0, 1, 0x00]),
        DecodeError::NullCharacter
    );
}

#[test]
fn publish_user_property_strings_are_utf8() {
    // [5.0 MQTT-1.5.7-1] both strings of a pair are UTF-8 Encoded Strings.
    assert_eq!(
        decode_err(&[0x30, 11, 0, 1, b't', 7, 0x26, 0, 1, b'k', 0, 1, 0xFF]),
        DecodeError::InvalidUtf8
    );
}

#[test]
fn publish_subscription_identifier_zero() {
    // 5.0 section 3.3.2.3.8: 1 to 268,435,455; 0 is a Protocol Error.
    assert_eq!(
        decode_err(&[0x30, 6, 0, 1, b't', 2, 0x0B, 0]),
        DecodeError::InvalidPropertyValue {
            packet_type: PacketType::Publish,
            id: 0x0B
        }
    );
    for id in [0, 268_435_456] {
        encode_err(
            Packet::Publish(publish(
                Some("t"),
                PublishProperties {
                    subscription_identifiers: vec![1, id],
                    ..PublishProperties::default()
                },
            )),
            EncodeError::InvalidValue,
        );
    }
}

#[test]
fn publish_payload_format_indicator_is_0_or_1() {
    // 5.0 section 3.3.2.3.2: the indicator is 0 or 1.
    assert_eq!(
        decode_err(&[0x30, 6, 0, 1, b't', 2, 0x01, 2]),
        DecodeError::InvalidPropertyValue {
            packet_type: PacketType::Publish,
            id: 0x01
        }
    );
}

#[test]
fn publish_property_twice() {
    // 5.0 section 3.3.2.3.4: the Topic Alias at most once (likewise every
    // PUBLISH property but User Property and Subscription Identifier).
    assert_eq!(
        decode_err(&[0x30, 10, 0, 1, b't', 6, 0x23, 0, 1, 0x23, 0, 2]),
        DecodeError::DuplicateProperty {
            packet_type: PacketType::Publish,
            id: 0x23
        }
    );
    assert_eq!(
        decode_err(&[0x30, 8, 0, 1, b't', 4, 0x01, 0, 0x01, 1]),
        DecodeError::DuplicateProperty {
            packet_type: PacketType::Publish,
            id: 0x01
        }
    );
}

#[test]
fn publish_property_of_another_packet() {
    // 5.0 section 2.2.2.2: an identifier not valid for the packet type is
    // a Malformed Packet. Session Expiry Interval (0x11) is CONNECT's.
    assert_eq!(
        decode_err(&[0x30, 10, 0, 1, b't', 6, 0x11, 0, 0, 0, 1, 0]),
        DecodeError::UnknownProperty {
            packet_type: PacketType::Publish,
            id: 0x11
        }
    );
    assert_eq!(
        decode_err(&[0x30, 5, 0, 1, b't', 1, 0x7F]),
        DecodeError::UnknownProperty {
            packet_type: PacketType::Publish,
            id: 0x7F
        }
    );
}

#[test]
fn publish_property_length_past_the_packet() {
    // 5.0 section 2.2.2.1: the property length counts bytes that must be
    // there.
    assert_eq!(
        decode_err(&[0x30, 6, 0, 1, b't', 9, 0x23, 0]),
        DecodeError::UnexpectedEnd {
            packet_type: PacketType::Publish
        }
    );
    // A property cut short by its own block.
    assert_eq!(
        decode_err(&[0x30, 8, 0, 1, b't', 2, 0x23, 0, 1, b'x']),
        DecodeError::UnexpectedEnd {
            packet_type: PacketType::Publish
        }
    );
}

#[test]
fn publish_property_length_in_shortest_form() {
    // [5.0 MQTT-1.5.5-1] a Variable Byte Integer uses as few bytes as it
    // can: 0x80 0x00 for 0 is malformed.
    assert_eq!(
        decode_err(&[0x30, 5, 0, 1, b't', 0x80, 0x00]),
        DecodeError::MalformedVarInt
    );
}

#[test]
fn publish_correlation_data_fits_its_length_prefix() {
    // 5.0 section 1.5.6: Binary Data has a two-byte length.
    encode_err(
        Packet::Publish(publish(
            Some("t"),
            PublishProperties {
                correlation_data: Some(Bytes::from(vec![0u8; 65_536])),
                ..PublishProperties::default()
            },
        )),
        EncodeError::FieldTooLong { len: 65_536 },
    );
}

// ---- PUBACK, PUBREC, PUBREL, PUBCOMP (3.4 to 3.7) ------------------------------

fn response(pid_: u16, reason_code: ReasonCode, properties: AckProperties) -> PubResponse {
    PubResponse {
        pid: pid(pid_),
        reason_code,
        properties,
    }
}

#[test]
fn pub_responses_short_form() {
    // 5.0 section 3.4.2.1 (and 3.5.2.1, 3.6.2.1, 3.7.2.1): Success
    // without properties leaves out reason and property length; PUBREL has
    // flags 0010 [5.0 MQTT-3.6.1-1].
    let ok = PubResponse::success(pid(0x0102));
    vector(Packet::PubAck(ok.clone()), &[0x40, 2, 1, 2]);
    vector(Packet::PubRec(ok.clone()), &[0x50, 2, 1, 2]);
    vector(Packet::PubRel(ok.clone()), &[0x62, 2, 1, 2]);
    vector(Packet::PubComp(ok), &[0x70, 2, 1, 2]);
}

#[test]
fn pub_responses_reason_only() {
    // 5.0 section 3.4.2.2.1: under 4 bytes there is no property length.
    // [5.0 MQTT-3.4.2-1] to [5.0 MQTT-3.7.2-1]: codes of each packet.
    let none = AckProperties::default;
    vector(
        Packet::PubAck(response(1, ReasonCode::NoMatchingSubscribers, none())),
        &[0x40, 3, 0, 1, 0x10],
    );
    vector(
        Packet::PubRec(response(2, ReasonCode::PayloadFormatInvalid, none())),
        &[0x50, 3, 0, 2, 0x99],
    );
    vector(
        Packet::PubRel(response(3, ReasonCode::PacketIdentifierNotFound, none())),
        &[0x62, 3, 0, 3, 0x92],
    );
    vector(
        Packet::PubComp(response(4, ReasonCode::PacketIdentifierNotFound, none())),
        &[0x70, 3, 0, 4, 0x92],
    );
}

#[test]
fn pub_responses_with_properties() {
    // 5.0 sections 3.4.2.2.2 and 3.4.2.2.3: Reason String and User
    // Properties; a Success code is written when properties follow.
    let properties = AckProperties {
        reason_string: Some(s("ok")),
        user_properties: vec![user("a", "b")],
    };
    #[rustfmt::skip]
    vector(
        Packet::PubComp(response(4, ReasonCode::Success, properties.clone())),
        &[
            0x70, 16, 0, 4, 0x00,
            12,
            0x1F, 0, 2, b'o', b'k',
            0x26, 0, 1, b'a', 0, 1, b'b',
        ],
    );
    #[rustfmt::skip]
    vector(
        Packet::PubAck(response(9, ReasonCode::NotAuthorized, properties)),
        &[
            0x40, 16, 0, 9, 0x87,
            12,
            0x1F, 0, 2, b'o', b'k',
            0x26, 0, 1, b'a', 0, 1, b'b',
        ],
    );
}

#[test]
fn pub_responses_longer_forms_decode_the_same() {
    // 5.0 section 3.4.2.1: a Success code written out, and a zero
    // property length written out, mean what the short form means.
    let ok = Packet::PubAck(PubResponse::success(pid(1)));
    assert_eq!(decodes_to(&[0x40, 3, 0, 1, 0]), ok);
    assert_eq!(decodes_to(&[0x40, 4, 0, 1, 0, 0]), ok);
}

#[test]
fn puback_reason_codes() {
    // [5.0 MQTT-3.4.2-1]: 0x92 belongs to PUBREL and PUBCOMP, 0x03 to no
    // packet at all.
    for code in [0x92, 0x03, 0x8F] {
        assert_eq!(
            decode_err(&[0x40, 3, 0, 1, code]),
            DecodeError::InvalidReasonCode {
                packet_type: PacketType::PubAck,
                code
            }
        );
    }
    encode_err(
        Packet::PubAck(response(
            1,
            ReasonCode::PacketIdentifierNotFound,
            AckProperties::default(),
        )),
        EncodeError::InvalidValue,
    );
}

#[test]
fn pubrec_reason_codes() {
    // [5.0 MQTT-3.5.2-1]
    assert_eq!(
        decode_err(&[0x50, 3, 0, 1, 0x92]),
        DecodeError::InvalidReasonCode {
            packet_type: PacketType::PubRec,
            code: 0x92
        }
    );
}

#[test]
fn pubrel_reason_codes() {
    // [5.0 MQTT-3.6.2-1]: only Success and Packet Identifier not found.
    assert_eq!(
        decode_err(&[0x62, 3, 0, 1, 0x80]),
        DecodeError::InvalidReasonCode {
            packet_type: PacketType::PubRel,
            code: 0x80
        }
    );
    encode_err(
        Packet::PubRel(response(
            1,
            ReasonCode::QuotaExceeded,
            AckProperties::default(),
        )),
        EncodeError::InvalidValue,
    );
}

#[test]
fn pubcomp_reason_codes() {
    // [5.0 MQTT-3.7.2-1]
    assert_eq!(
        decode_err(&[0x70, 3, 0, 1, 0x10]),
        DecodeError::InvalidReasonCode {
            packet_type: PacketType::PubComp,
            code: 0x10
        }
    );
}

#[test]
fn pubrel_flags() {
    // [5.0 MQTT-3.6.1-1]
    assert!(matches!(
        decode_err(&[0x60, 2, 0, 1]),
        DecodeError::InvalidFlags {
            packet_type: PacketType::PubRel,
            flags: 0
        }
    ));
}

#[test]
fn puback_flags() {
    // [5.0 MQTT-2.1.3-1] reserved flags as the table of section 2.1.3 says.
    assert!(matches!(
        decode_err(&[0x42, 2, 0, 1]),
        DecodeError::InvalidFlags {
            packet_type: PacketType::PubAck,
            flags: 2
        }
    ));
}

#[test]
fn puback_packet_id_zero() {
    // [5.0 MQTT-2.2.1-5] the identifier of a PUBLISH, which is never 0.
    assert_eq!(decode_err(&[0x40, 2, 0, 0]), DecodeError::ZeroPacketId);
}

#[test]
fn puback_property_of_another_packet() {
    // 5.0 section 2.2.2.2: Topic Alias is not a PUBACK property.
    assert_eq!(
        decode_err(&[0x40, 7, 0, 1, 0, 3, 0x23, 0, 1]),
        DecodeError::UnknownProperty {
            packet_type: PacketType::PubAck,
            id: 0x23
        }
    );
}

#[test]
fn puback_reason_string_twice() {
    // 5.0 section 3.4.2.2.2: the Reason String at most once.
    assert_eq!(
        decode_err(&[0x40, 10, 0, 1, 0, 6, 0x1F, 0, 0, 0x1F, 0, 0]),
        DecodeError::DuplicateProperty {
            packet_type: PacketType::PubAck,
            id: 0x1F
        }
    );
}

#[test]
fn puback_trailing_bytes() {
    // 5.0 section 2.1.4: the remaining length is exactly the packet.
    assert_eq!(
        decode_err(&[0x40, 5, 0, 1, 0, 0, 0xFF]),
        DecodeError::TrailingBytes {
            packet_type: PacketType::PubAck,
            len: 1
        }
    );
}

#[test]
fn puback_property_length_in_shortest_form() {
    // [5.0 MQTT-1.5.5-1]
    assert_eq!(
        decode_err(&[0x40, 5, 0, 1, 0, 0x80, 0x00]),
        DecodeError::MalformedVarInt
    );
}

// ---- SUBSCRIBE (3.8) -----------------------------------------------------------

#[test]
fn subscribe_with_options_and_identifier() {
    // 5.0 section 3.8.2.1: Subscription Identifier (300, two bytes) and a
    // User Property; section 3.8.3.1: one options byte after each filter;
    // [5.0 MQTT-3.8.1-1] flags 0010.
    let packet = Packet::Subscribe(Subscribe {
        pid: pid(1),
        properties: SubscribeProperties {
            subscription_identifier: Some(300),
            user_properties: vec![user("a", "b")],
        },
        filters: vec![
            (
                filter("a/+"),
                SubscriptionOptions {
                    qos: QoS::AtLeastOnce,
                    no_local: true,
                    retain_as_published: true,
                    retain_handling: RetainHandling::SendIfNew,
                },
            ),
            (
                filter("$share/g/t"),
                SubscriptionOptions {
                    retain_handling: RetainHandling::DoNotSend,
                    ..SubscriptionOptions::new(QoS::ExactlyOnce)
                },
            ),
        ],
    });
    #[rustfmt::skip]
    let wire = [
        0x82, 32, 0, 1,
        10,
        0x0B, 0xAC, 0x02,
        0x26, 0, 1, b'a', 0, 1, b'b',
        0, 3, b'a', b'/', b'+', 0b0001_1101,
        0, 10, b'$', b's', b'h', b'a', b'r', b'e', b'/', b'g', b'/', b't', 0b0010_0010,
    ];
    vector(packet, &wire);
}

#[test]
fn subscribe_minimal() {
    vector(
        Packet::Subscribe(Subscribe {
            pid: pid(0xFFFF),
            properties: SubscribeProperties::default(),
            filters: vec![(filter("#"), SubscriptionOptions::new(QoS::AtMostOnce))],
        }),
        &[0x82, 7, 0xFF, 0xFF, 0, 0, 1, b'#', 0],
    );
}

#[test]
fn subscribe_flags() {
    // [5.0 MQTT-3.8.1-1]
    assert!(matches!(
        decode_err(&[0x80, 7, 0, 1, 0, 0, 1, b'a', 0]),
        DecodeError::InvalidFlags {
            packet_type: PacketType::Subscribe,
            flags: 0
        }
    ));
}

#[test]
fn subscribe_without_filters() {
    // [5.0 MQTT-3.8.3-2]
    assert_eq!(decode_err(&[0x82, 3, 0, 1, 0]), DecodeError::EmptySubscribe);
    encode_err(
        Packet::Subscribe(Subscribe {
            pid: pid(1),
            properties: SubscribeProperties::default(),
            filters: vec![],
        }),
        EncodeError::EmptySubscribe,
    );
}

#[test]
fn subscribe_filter_is_utf8() {
    // [5.0 MQTT-3.8.3-1]
    assert_eq!(
        decode_err(&[0x82, 7, 0, 1, 0, 0, 1, 0xFF, 0]),
        DecodeError::InvalidUtf8
    );
}

#[test]
fn subscribe_filter_wildcards_in_place() {
    // [5.0 MQTT-4.7.1-1] '#' last and alone in its level;
    // [5.0 MQTT-4.7.1-2] '+' a whole level.
    assert_eq!(
        decode_err(&[0x82, 11, 0, 1, 0, 0, 5, b'a', b'/', b'#', b'/', b'b', 0]),
        DecodeError::InvalidTopicFilter(TopicError::MisplacedMultiLevelWildcard)
    );
    assert_eq!(
        decode_err(&[0x82, 10, 0, 1, 0, 0, 4, b'a', b'/', b'b', b'+', 0]),
        DecodeError::InvalidTopicFilter(TopicError::MisplacedSingleLevelWildcard)
    );
}

#[test]
fn subscribe_shared_subscription_form() {
    // [5.0 MQTT-4.8.2-1] a ShareName of at least one character;
    // [5.0 MQTT-4.8.2-2] no '+' or '#' in it, and a filter after its '/'.
    let wire = |f: &str| {
        let mut w = vec![0x82, (6 + f.len()) as u8, 0, 1, 0, 0, f.len() as u8];
        w.extend_from_slice(f.as_bytes());
        w.push(0);
        w
    };
    for (f, e) in [
        ("$share//t", TopicError::InvalidShareName),
        ("$share/g", TopicError::Empty),
        ("$share/g/", TopicError::Empty),
        ("$share/+/t", TopicError::InvalidShareName),
        ("$share/#", TopicError::InvalidShareName),
    ] {
        assert_eq!(
            decode_err(&wire(f)),
            DecodeError::InvalidTopicFilter(e),
            "{f}"
        );
    }
    assert!(matches!(
        decodes_to(&wire("$share/g/#")),
        Packet::Subscribe(_)
    ));
}

#[test]
fn subscribe_options_qos3() {
    // 5.0 section 3.8.3.1: a Maximum QoS of 3 is a Protocol Error.
    assert_eq!(
        decode_err(&[0x82, 7, 0, 1, 0, 0, 1, b'a', 3]),
        DecodeError::InvalidSubscriptionOptions(3)
    );
}

#[test]
fn subscribe_options_retain_handling3() {
    // 5.0 section 3.8.3.1: a Retain Handling of 3 is a Protocol Error.
    assert_eq!(
        decode_err(&[0x82, 7, 0, 1, 0, 0, 1, b'a', 0x30]),
        DecodeError::InvalidSubscriptionOptions(0x30)
    );
}

#[test]
fn subscribe_options_reserved_bits() {
    // [5.0 MQTT-3.8.3-5]
    for byte in [0x40, 0x80, 0xC1] {
        assert_eq!(
            decode_err(&[0x82, 7, 0, 1, 0, 0, 1, b'a', byte]),
            DecodeError::InvalidSubscriptionOptions(byte)
        );
    }
}

#[test]
fn subscribe_no_local_on_shared_subscription() {
    // [5.0 MQTT-3.8.3-4]
    let mut wire = vec![0x82, 16, 0, 1, 0, 0, 10];
    wire.extend_from_slice(b"$share/g/t");
    wire.push(0b0100);
    assert_eq!(
        decode_err(&wire),
        DecodeError::InvalidSubscriptionOptions(0b0100)
    );
    encode_err(
        Packet::Subscribe(Subscribe {
            pid: pid(1),
            properties: SubscribeProperties::default(),
            filters: vec![(
                filter("$share/g/t"),
                SubscriptionOptions {
                    no_local: true,
                    ..SubscriptionOptions::new(QoS::AtMostOnce)
                },
            )],
        }),
        EncodeError::InvalidValue,
    );
}

#[test]
fn subscribe_options_byte_missing() {
    // 5.0 section 3.8.3: each filter is followed by its options byte.
    assert_eq!(
        decode_err(&[0x82, 6, 0, 1, 0, 0, 1, b'a']),
        DecodeError::UnexpectedEnd {
            packet_type: PacketType::Subscribe
        }
    );
}

#[test]
fn subscribe_subscription_identifier_zero() {
    // 5.0 section 3.8.2.1.2: 0 is a Protocol Error.
    assert_eq!(
        decode_err(&[0x82, 9, 0, 1, 2, 0x0B, 0, 0, 1, b'a', 0]),
        DecodeError::InvalidPropertyValue {
            packet_type: PacketType::Subscribe,
            id: 0x0B
        }
    );
    encode_err(
        Packet::Subscribe(Subscribe {
            pid: pid(1),
            properties: SubscribeProperties {
                subscription_identifier: Some(0),
                ..SubscribeProperties::default()
            },
            filters: vec![(filter("a"), SubscriptionOptions::new(QoS::AtMostOnce))],
        }),
        EncodeError::InvalidValue,
    );
}

#[test]
fn subscribe_subscription_identifier_twice() {
    // 5.0 section 3.8.2.1.2: more than one is a Protocol Error.
    assert_eq!(
        decode_err(&[0x82, 11, 0, 1, 4, 0x0B, 1, 0x0B, 2, 0, 1, b'a', 0]),
        DecodeError::DuplicateProperty {
            packet_type: PacketType::Subscribe,
            id: 0x0B
        }
    );
}

#[test]
fn subscribe_property_of_another_packet() {
    // 5.0 section 2.2.2.2: Reason String is not a SUBSCRIBE property.
    assert_eq!(
        decode_err(&[0x82, 10, 0, 1, 3, 0x1F, 0, 0, 0, 1, b'a', 0]),
        DecodeError::UnknownProperty {
            packet_type: PacketType::Subscribe,
            id: 0x1F
        }
    );
}

// ---- SUBACK (3.9) --------------------------------------------------------------

#[test]
fn suback_codes_and_reason_string() {
    // 5.0 section 3.9.2.1: properties; section 3.9.3: one code per filter,
    // in order [5.0 MQTT-3.9.3-1].
    vector(
        Packet::SubAck(SubAck {
            pid: pid(1),
            properties: AckProperties {
                reason_string: Some(s("r")),
                user_properties: vec![],
            },
            reason_codes: vec![
                ReasonCode::Success,
                ReasonCode::GrantedQoS1,
                ReasonCode::GrantedQoS2,
                ReasonCode::UnspecifiedError,
                ReasonCode::WildcardSubscriptionsNotSupported,
            ],
        }),
        &[
            0x90, 12, 0, 1, 4, 0x1F, 0, 1, b'r', 0x00, 0x01, 0x02, 0x80, 0xA2,
        ],
    );
}

#[test]
fn suback_reason_codes() {
    // [5.0 MQTT-3.9.3-2]: 0x11 belongs to UNSUBACK.
    assert_eq!(
        decode_err(&[0x90, 5, 0, 1, 0, 0x00, 0x11]),
        DecodeError::InvalidReasonCode {
            packet_type: PacketType::SubAck,
            code: 0x11
        }
    );
    encode_err(
        Packet::SubAck(SubAck {
            pid: pid(1),
            properties: AckProperties::default(),
            reason_codes: vec![ReasonCode::NoSubscriptionExisted],
        }),
        EncodeError::InvalidValue,
    );
}

#[test]
fn suback_without_codes() {
    // 5.0 section 3.9.3: a code for each filter, and a SUBSCRIBE has at
    // least one [5.0 MQTT-3.8.3-2].
    assert_eq!(decode_err(&[0x90, 3, 0, 1, 0]), DecodeError::EmptySubAck);
    assert_eq!(
        decode_err(&[0x90, 2, 0, 1]),
        DecodeError::UnexpectedEnd {
            packet_type: PacketType::SubAck
        }
    );
    encode_err(
        Packet::SubAck(SubAck {
            pid: pid(1),
            properties: AckProperties::default(),
            reason_codes: vec![],
        }),
        EncodeError::EmptySubAck,
    );
}

#[test]
fn suback_flags() {
    // [5.0 MQTT-2.1.3-1]
    assert!(matches!(
        decode_err(&[0x91, 4, 0, 1, 0, 0]),
        DecodeError::InvalidFlags {
            packet_type: PacketType::SubAck,
            ..
        }
    ));
}

// ---- UNSUBSCRIBE (3.10) --------------------------------------------------------

#[test]
fn unsubscribe_with_user_property() {
    // 5.0 section 3.10.2.1: User Properties; [5.0 MQTT-3.10.1-1] flags
    // 0010; filters back to back (section 3.10.3).
    #[rustfmt::skip]
    vector(
        Packet::Unsubscribe(Unsubscribe {
            pid: pid(2),
            properties: UnsubscribeProperties {
                user_properties: vec![user("a", "b")],
            },
            filters: vec![filter("a/b"), filter("$share/g/#")],
        }),
        &[
            0xA2, 27, 0, 2,
            7, 0x26, 0, 1, b'a', 0, 1, b'b',
            0, 3, b'a', b'/', b'b',
            0, 10, b'$', b's', b'h', b'a', b'r', b'e', b'/', b'g', b'/', b'#',
        ],
    );
}

#[test]
fn unsubscribe_flags() {
    // [5.0 MQTT-3.10.1-1]
    assert!(matches!(
        decode_err(&[0xA0, 6, 0, 1, 0, 0, 1, b'a']),
        DecodeError::InvalidFlags {
            packet_type: PacketType::Unsubscribe,
            flags: 0
        }
    ));
}

#[test]
fn unsubscribe_without_filters() {
    // [5.0 MQTT-3.10.3-2]
    assert_eq!(
        decode_err(&[0xA2, 3, 0, 1, 0]),
        DecodeError::EmptyUnsubscribe
    );
    encode_err(
        Packet::Unsubscribe(Unsubscribe {
            pid: pid(1),
            properties: UnsubscribeProperties::default(),
            filters: vec![],
        }),
        EncodeError::EmptyUnsubscribe,
    );
}

#[test]
fn unsubscribe_filter_is_utf8() {
    // [5.0 MQTT-3.10.3-1]
    assert_eq!(
        decode_err(&[0xA2, 6, 0, 1, 0, 0, 1, 0xFE]),
        DecodeError::InvalidUtf8
    );
}

#[test]
fn unsubscribe_property_of_another_packet() {
    // 5.0 section 2.2.2.2: Subscription Identifier is not an UNSUBSCRIBE
    // property.
    assert_eq!(
        decode_err(&[0xA2, 8, 0, 1, 2, 0x0B, 1, 0, 1, b'a']),
        DecodeError::UnknownProperty {
            packet_type: PacketType::Unsubscribe,
            id: 0x0B
        }
    );
}

// ---- UNSUBACK (3.11) -----------------------------------------------------------

#[test]
fn unsuback_codes() {
    // 5.0 section 3.11.3: one code per filter, in order
    // [5.0 MQTT-3.11.3-1].
    vector(
        Packet::UnsubAck(UnsubAck {
            pid: pid(2),
            properties: AckProperties::default(),
            reason_codes: vec![
                ReasonCode::Success,
                ReasonCode::NoSubscriptionExisted,
                ReasonCode::TopicFilterInvalid,
            ],
        }),
        &[0xB0, 6, 0, 2, 0, 0x00, 0x11, 0x8F],
    );
}

#[test]
fn unsuback_with_user_property() {
    // 5.0 section 3.11.2.1.3
    vector(
        Packet::UnsubAck(UnsubAck {
            pid: pid(3),
            properties: AckProperties {
                reason_string: None,
                user_properties: vec![user("x", "")],
            },
            reason_codes: vec![ReasonCode::NotAuthorized],
        }),
        &[0xB0, 10, 0, 3, 6, 0x26, 0, 1, b'x', 0, 0, 0x87],
    );
}

#[test]
fn unsuback_reason_codes() {
    // [5.0 MQTT-3.11.3-2]: granted QoS is SUBACK's.
    assert_eq!(
        decode_err(&[0xB0, 4, 0, 1, 0, 0x01]),
        DecodeError::InvalidReasonCode {
            packet_type: PacketType::UnsubAck,
            code: 0x01
        }
    );
    encode_err(
        Packet::UnsubAck(UnsubAck {
            pid: pid(1),
            properties: AckProperties::default(),
            reason_codes: vec![ReasonCode::GrantedQoS1],
        }),
        EncodeError::InvalidValue,
    );
}

#[test]
fn unsuback_without_codes() {
    // 5.0 section 3.11.3: a code for each filter, and an UNSUBSCRIBE has at
    // least one [5.0 MQTT-3.10.3-2].
    assert_eq!(
        decode_err(&[0xB0, 3, 0, 1, 0]),
        DecodeError::UnexpectedEnd {
            packet_type: PacketType::UnsubAck
        }
    );
    encode_err(
        Packet::UnsubAck(UnsubAck {
            pid: pid(1),
            properties: AckProperties::default(),
            reason_codes: vec![],
        }),
        EncodeError::InvalidValue,
    );
}
