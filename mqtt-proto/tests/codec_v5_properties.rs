//! Property tests of the MQTT 5.0 codec: arbitrary valid packets survive an
//! encode/decode round trip; arbitrary bytes never panic the decoder and
//! never make it ask for more than the maximum packet size; and a stream
//! decodes to the same packets whatever the read boundaries.
//!
//! One strategy per packet; [`packet`] is the `prop_oneof!` of them all, so
//! a packet added there is covered by every property below.

use bytes::{Bytes, BytesMut};
use mqtt_proto::packet::v5::{
    decode, AckProperties, Auth, AuthProperties, ConnAck, ConnAckProperties, Connect,
    ConnectProperties, Disconnect, DisconnectProperties, Packet, PayloadFormat, PubResponse,
    Publish, PublishProperties, ReasonCode, RetainHandling, SubAck, Subscribe, SubscribeProperties,
    SubscriptionOptions, UnsubAck, Unsubscribe, UnsubscribeProperties, UserProperty, Will,
    WillProperties,
};
use mqtt_proto::packet::{DecodeError, PacketType, QosPid};
use mqtt_proto::{MqttString, PacketId, QoS, TopicFilter, TopicName};
use proptest::prelude::*;

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
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

/// A topic name as a plain string, for Response Topic properties.
fn topic_string() -> impl Strategy<Value = MqttString> {
    topic_name().prop_map(TopicName::into_mqtt_string)
}

fn user_properties() -> impl Strategy<Value = Vec<UserProperty>> {
    prop::collection::vec(
        (string(), string()).prop_map(|(name, value)| UserProperty { name, value }),
        0..4,
    )
}

/// A reason code `packet_type` may carry.
fn reason(packet_type: PacketType) -> impl Strategy<Value = ReasonCode> {
    let codes: Vec<ReasonCode> = (0..=255u8)
        .filter_map(ReasonCode::from_u8)
        .filter(|c| c.allowed_in(packet_type))
        .collect();
    prop::sample::select(codes)
}

/// Authentication Method and Data: data only with a method.
fn authentication() -> impl Strategy<Value = (Option<MqttString>, Option<Bytes>)> {
    prop_oneof![
        Just((None, None)),
        (string(), prop::option::of(bytes(40))).prop_map(|(m, d)| (Some(m), d)),
    ]
}

fn connect_properties() -> impl Strategy<Value = ConnectProperties> {
    (
        prop::option::of(any::<u32>()),
        prop::option::of(1..=u16::MAX),
        prop::option::of(1..=u32::MAX),
        prop::option::of(any::<u16>()),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        user_properties(),
        authentication(),
    )
        .prop_map(
            |(sei, rm, mps, tam, rri, rpi, user, (method, data))| ConnectProperties {
                session_expiry_interval: sei,
                receive_maximum: rm,
                maximum_packet_size: mps,
                topic_alias_maximum: tam,
                request_response_information: rri,
                request_problem_information: rpi,
                user_properties: user,
                authentication_method: method,
                authentication_data: data,
            },
        )
}

fn will_properties() -> impl Strategy<Value = WillProperties> {
    (
        prop::option::of(any::<u32>()),
        prop::option::of(prop_oneof![
            Just(PayloadFormat::Unspecified),
            Just(PayloadFormat::Utf8)
        ]),
        prop::option::of(any::<u32>()),
        prop::option::of(string()),
        prop::option::of(topic_string()),
        prop::option::of(bytes(40)),
        user_properties(),
    )
        .prop_map(
            |(delay, format, expiry, content, response, correlation, user)| WillProperties {
                will_delay_interval: delay,
                payload_format_indicator: format,
                message_expiry_interval: expiry,
                content_type: content,
                response_topic: response,
                correlation_data: correlation,
                user_properties: user,
            },
        )
}

fn will() -> impl Strategy<Value = Will> {
    (
        topic_name(),
        bytes(100),
        qos(),
        any::<bool>(),
        will_properties(),
    )
        .prop_map(|(topic, payload, qos, retain, properties)| Will {
            topic,
            payload,
            qos,
            retain,
            properties,
        })
}

fn connect() -> impl Strategy<Value = Connect> {
    (
        any::<bool>(),
        any::<u16>(),
        connect_properties(),
        string(),
        prop::option::of(will()),
        prop::option::of(string()),
        // In 5.0 a password may come without a user name.
        prop::option::of(bytes(40)),
    )
        .prop_map(
            |(clean_start, keep_alive, properties, client_id, will, username, password)| Connect {
                clean_start,
                keep_alive,
                properties,
                client_id,
                will,
                username,
                password,
            },
        )
}

fn connack_properties() -> impl Strategy<Value = ConnAckProperties> {
    let limits = (
        prop::option::of(any::<u32>()),
        prop::option::of(1..=u16::MAX),
        prop::option::of(prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce)]),
        prop::option::of(any::<bool>()),
        prop::option::of(1..=u32::MAX),
        prop::option::of(any::<u16>()),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<u16>()),
    );
    let strings = (
        prop::option::of(string()),
        prop::option::of(string()),
        user_properties(),
        prop::option::of(string()),
        prop::option::of(string()),
        authentication(),
    );
    (limits, strings).prop_map(
        |(
            (sei, rm, mq, ra, mps, tam, wsa, sia, ssa, ska),
            (assigned, reason, user, info, reference, (method, data)),
        )| ConnAckProperties {
            session_expiry_interval: sei,
            receive_maximum: rm,
            maximum_qos: mq,
            retain_available: ra,
            maximum_packet_size: mps,
            assigned_client_identifier: assigned,
            topic_alias_maximum: tam,
            reason_string: reason,
            user_properties: user,
            wildcard_subscription_available: wsa,
            subscription_identifiers_available: sia,
            shared_subscription_available: ssa,
            server_keep_alive: ska,
            response_information: info,
            server_reference: reference,
            authentication_method: method,
            authentication_data: data,
        },
    )
}

fn connack() -> impl Strategy<Value = ConnAck> {
    (
        any::<bool>(),
        reason(PacketType::ConnAck),
        connack_properties(),
    )
        .prop_map(|(session_present, reason_code, properties)| ConnAck {
            // Session Present only with Success [5.0 MQTT-3.2.2-6].
            session_present: session_present && reason_code == ReasonCode::Success,
            reason_code,
            properties,
        })
}

fn disconnect_properties() -> impl Strategy<Value = DisconnectProperties> {
    (
        prop::option::of(any::<u32>()),
        prop::option::of(string()),
        user_properties(),
        prop::option::of(string()),
    )
        .prop_map(|(sei, reason, user, reference)| DisconnectProperties {
            session_expiry_interval: sei,
            reason_string: reason,
            user_properties: user,
            server_reference: reference,
        })
}

fn disconnect() -> impl Strategy<Value = Disconnect> {
    (
        reason(PacketType::Disconnect),
        prop_oneof![
            Just(DisconnectProperties::default()),
            disconnect_properties()
        ],
    )
        .prop_map(|(reason_code, properties)| Disconnect {
            reason_code,
            properties,
        })
}

fn auth_properties() -> impl Strategy<Value = AuthProperties> {
    (
        authentication(),
        prop::option::of(string()),
        user_properties(),
    )
        .prop_map(|((method, data), reason, user)| AuthProperties {
            authentication_method: method,
            authentication_data: data,
            reason_string: reason,
            user_properties: user,
        })
}

fn auth() -> impl Strategy<Value = Auth> {
    (
        reason(PacketType::Auth),
        prop_oneof![Just(AuthProperties::default()), auth_properties()],
    )
        .prop_map(|(reason_code, properties)| Auth {
            reason_code,
            properties,
        })
}

fn packet_id() -> impl Strategy<Value = PacketId> {
    (1..=u16::MAX).prop_map(|v| PacketId::new(v).unwrap())
}

/// A Subscription Identifier: 1 to 268,435,455 (5.0 section 3.3.2.3.8).
fn subscription_identifier() -> impl Strategy<Value = u32> {
    1..=268_435_455u32
}

fn publish_properties() -> impl Strategy<Value = PublishProperties> {
    (
        prop::option::of(prop_oneof![
            Just(PayloadFormat::Unspecified),
            Just(PayloadFormat::Utf8)
        ]),
        prop::option::of(any::<u32>()),
        prop::option::of(1..=u16::MAX),
        prop::option::of(topic_string()),
        prop::option::of(bytes(40)),
        user_properties(),
        prop::collection::vec(subscription_identifier(), 0..3),
        prop::option::of(string()),
    )
        .prop_map(
            |(format, expiry, alias, response, correlation, user, ids, content)| {
                PublishProperties {
                    payload_format_indicator: format,
                    message_expiry_interval: expiry,
                    topic_alias: alias,
                    response_topic: response,
                    correlation_data: correlation,
                    user_properties: user,
                    subscription_identifiers: ids,
                    content_type: content,
                }
            },
        )
}

fn publish() -> impl Strategy<Value = Publish> {
    (
        any::<bool>(),
        prop_oneof![
            Just(QosPid::AtMostOnce),
            packet_id().prop_map(QosPid::AtLeastOnce),
            packet_id().prop_map(QosPid::ExactlyOnce),
        ],
        any::<bool>(),
        prop::option::of(topic_name()),
        prop_oneof![Just(PublishProperties::default()), publish_properties()],
        bytes(100),
    )
        .prop_map(|(dup, qos_pid, retain, topic, mut properties, payload)| {
            // A zero-length topic needs a Topic Alias (5.0 section 3.3.2.1).
            if topic.is_none() && properties.topic_alias.is_none() {
                properties.topic_alias = Some(1);
            }
            Publish {
                // DUP is 0 on QoS 0 [5.0 MQTT-3.3.1-2].
                dup: dup && qos_pid != QosPid::AtMostOnce,
                qos_pid,
                retain,
                topic,
                properties,
                payload,
            }
        })
}

fn ack_properties() -> impl Strategy<Value = AckProperties> {
    (prop::option::of(string()), user_properties()).prop_map(|(reason, user)| AckProperties {
        reason_string: reason,
        user_properties: user,
    })
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP, often in the short forms.
fn pub_response() -> impl Strategy<Value = Packet> {
    prop_oneof![
        Just(PacketType::PubAck),
        Just(PacketType::PubRec),
        Just(PacketType::PubRel),
        Just(PacketType::PubComp),
    ]
    .prop_flat_map(|t| {
        (
            Just(t),
            packet_id(),
            prop_oneof![Just(ReasonCode::Success), reason(t)],
            prop_oneof![Just(AckProperties::default()), ack_properties()],
        )
    })
    .prop_map(|(t, pid, reason_code, properties)| {
        let r = PubResponse {
            pid,
            reason_code,
            properties,
        };
        match t {
            PacketType::PubAck => Packet::PubAck(r),
            PacketType::PubRec => Packet::PubRec(r),
            PacketType::PubRel => Packet::PubRel(r),
            _ => Packet::PubComp(r),
        }
    })
}

/// A topic filter: literal levels and `+`, maybe `#` last, maybe shared.
fn topic_filter() -> impl Strategy<Value = TopicFilter> {
    (
        prop::collection::vec(
            prop_oneof!["[a-zA-Z0-9 _\u{e9}]{1,6}", Just("+".to_string())],
            0..4,
        ),
        any::<bool>(),
        prop::option::of("[a-z0-9]{1,5}"),
    )
        .prop_map(|(mut levels, hash, share)| {
            if hash || levels.is_empty() {
                levels.push("#".to_string());
            }
            let filter = levels.join("/");
            let filter = match share {
                Some(group) => format!("$share/{group}/{filter}"),
                None => filter,
            };
            TopicFilter::try_from(filter).unwrap()
        })
}

fn subscription_options() -> impl Strategy<Value = SubscriptionOptions> {
    (
        qos(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![
            Just(RetainHandling::SendAtSubscribe),
            Just(RetainHandling::SendIfNew),
            Just(RetainHandling::DoNotSend)
        ],
    )
        .prop_map(|(qos, no_local, retain_as_published, retain_handling)| {
            SubscriptionOptions {
                qos,
                no_local,
                retain_as_published,
                retain_handling,
            }
        })
}

fn subscribe() -> impl Strategy<Value = Subscribe> {
    (
        packet_id(),
        prop::option::of(subscription_identifier()),
        user_properties(),
        prop::collection::vec((topic_filter(), subscription_options()), 1..4),
    )
        .prop_map(|(pid, id, user, filters)| Subscribe {
            pid,
            properties: SubscribeProperties {
                subscription_identifier: id,
                user_properties: user,
            },
            filters: filters
                .into_iter()
                .map(|(filter, mut options)| {
                    // No Local on a shared subscription is a Protocol Error
                    // [5.0 MQTT-3.8.3-4].
                    options.no_local &= !filter.starts_with("$share/");
                    (filter, options)
                })
                .collect(),
        })
}

fn suback() -> impl Strategy<Value = SubAck> {
    (
        packet_id(),
        ack_properties(),
        prop::collection::vec(reason(PacketType::SubAck), 1..5),
    )
        .prop_map(|(pid, properties, reason_codes)| SubAck {
            pid,
            properties,
            reason_codes,
        })
}

fn unsubscribe() -> impl Strategy<Value = Unsubscribe> {
    (
        packet_id(),
        user_properties(),
        prop::collection::vec(topic_filter(), 1..4),
    )
        .prop_map(|(pid, user, filters)| Unsubscribe {
            pid,
            properties: UnsubscribeProperties {
                user_properties: user,
            },
            filters,
        })
}

fn unsuback() -> impl Strategy<Value = UnsubAck> {
    (
        packet_id(),
        ack_properties(),
        prop::collection::vec(reason(PacketType::UnsubAck), 1..5),
    )
        .prop_map(|(pid, properties, reason_codes)| UnsubAck {
            pid,
            properties,
            reason_codes,
        })
}

/// Every 5.0 packet; add a packet's strategy here and every property below
/// covers it.
fn packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        connect().prop_map(|c| Packet::Connect(Box::new(c))),
        connack().prop_map(|c| Packet::ConnAck(Box::new(c))),
        disconnect().prop_map(Packet::Disconnect),
        auth().prop_map(Packet::Auth),
        Just(Packet::PingReq),
        Just(Packet::PingResp),
        publish().prop_map(Packet::Publish),
        pub_response(),
        subscribe().prop_map(Packet::Subscribe),
        suback().prop_map(Packet::SubAck),
        unsubscribe().prop_map(Packet::Unsubscribe),
        unsuback().prop_map(Packet::UnsubAck),
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
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn encode_then_decode_is_identity(p in packet()) {
        let mut buf = BytesMut::new();
        p.encode(&mut buf).unwrap();
        let encoded = buf.clone();
        prop_assert_eq!(decode(&mut buf, encoded.len()), Ok(Some(p.clone())));
        prop_assert!(buf.is_empty());
        // Re-encoding the decoded value gives the same bytes.
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
                    // Whatever decodes encodes again, to the same value
                    // (not always the same bytes: DISCONNECT and AUTH have
                    // short forms, and properties come in any order).
                    let mut re = BytesMut::new();
                    p.encode(&mut re).unwrap();
                    let len = re.len();
                    prop_assert_eq!(decode(&mut re, len), Ok(Some(p)));
                }
                Ok(None) => {
                    prop_assert_eq!(buf.len(), before, "Ok(None) must not consume");
                    prop_assert!(before < max.max(5));
                    break;
                }
                Err(_) => break,
            }
        }
    }

    /// [5.0 MQTT-6.0.0-2] packet and read (or frame) boundaries need not
    /// coincide: any split of the stream decodes the same.
    #[test]
    fn read_boundaries_do_not_matter(
        packets in prop::collection::vec(packet(), 1..6),
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
    fn mutated_packets_never_panic(
        p in packet(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        // Valid packets with a few bytes changed reach deeper decode paths
        // than random bytes do; what still decodes must encode again.
        let mut wire = BytesMut::new();
        p.encode(&mut wire).unwrap();
        for (i, v) in flips {
            let at = i.index(wire.len());
            wire[at] = v;
        }
        let (packets, _) = decode_all(&mut wire, 1 << 16);
        for p in packets {
            let mut re = BytesMut::new();
            prop_assert_eq!(p.encode(&mut re), Ok(()));
        }
    }
}
