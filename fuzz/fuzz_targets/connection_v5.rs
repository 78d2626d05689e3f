//! The `Connection` at MQTT 5.0 driven by a script: well-formed 5.0 broker
//! packets built from arbitrary fields (CONNACKs with arbitrary limits,
//! PUBLISHes with topic aliases and properties, acks with any reason code,
//! server DISCONNECT and AUTH), raw bytes, clock jumps, closes and
//! application commands, all drained after every step.
//!
//! Besides "no panic", it checks what 5.0 adds on top of the 3.1.1 model
//! of `connection.rs`:
//! - no new QoS 1 or 2 exchange starts while the publishes in flight reach
//!   the broker's Receive Maximum [5.0 MQTT-3.3.4-7];
//! - no packet handed out is larger than the broker's Maximum Packet Size
//!   [5.0 MQTT-3.2.2-15];
//! - no topic alias handed out is 0 or above the broker's Topic Alias
//!   Maximum [5.0 MQTT-3.3.2-9], and an empty topic only follows an alias
//!   set on the same connection;
//! - everything handed out decodes as 5.0, and a publish completes at most
//!   once.
#![no_main]

use arbitrary::Arbitrary;
use bytes::{Bytes, BytesMut};
use core::time::Duration;
use libfuzzer_sys::fuzz_target;
use mqtt_proto::packet::v5::{
    self, AckProperties, Auth, AuthProperties, ConnAck, ConnAckProperties, Disconnect,
    DisconnectProperties, PubResponse, Publish, PublishProperties, ReasonCode, SubAck,
};
use mqtt_proto::packet::{PacketId, Protocol, QosPid};
use mqtt_proto::{
    Connection, Event, Instant, Message, MqttString, Options, QoS, TopicFilter, TopicName,
};
use std::collections::BTreeSet;

#[derive(Arbitrary, Debug)]
struct Input {
    manual_acks: bool,
    max_inflight: u8,
    receive_maximum: u8,
    topic_aliases: (u8, u8),
    steps: Vec<Step>,
}

#[derive(Arbitrary, Debug)]
enum Step {
    Open,
    Close,
    Raw(Vec<u8>),
    ConnAck {
        reason: u8,
        session_present: bool,
        receive_maximum: Option<u8>,
        maximum_packet_size: Option<u16>,
        topic_alias_maximum: Option<u8>,
        maximum_qos: Option<bool>,
        retain_available: Option<bool>,
        server_keep_alive: Option<u8>,
    },
    Publish {
        qos: u8,
        pid: u16,
        dup: bool,
        topic: Option<u8>,
        alias: Option<u8>,
        user_properties: u8,
        subscription_id: Option<u16>,
    },
    Ack {
        kind: u8,
        pid: u16,
        reason: u8,
    },
    SubAck {
        pid: u16,
        reasons: Vec<u8>,
    },
    Disconnect {
        reason: u8,
    },
    Auth {
        reason: u8,
    },
    PublishCommand {
        qos: u8,
        topic: u8,
        size: u16,
        retain: bool,
    },
    Subscribe {
        filter: u8,
        qos: u8,
    },
    Ack2 {
        nth: u8,
    },
    Advance {
        millis: u32,
    },
}

fn reason(code: u8) -> ReasonCode {
    ReasonCode::from_u8(code).unwrap_or(ReasonCode::Success)
}

fn topic(n: u8) -> TopicName {
    TopicName::try_from(format!("t/{}", n % 8).as_str()).unwrap()
}

/// What the connection's CONNACK allowed us, and the aliases we set.
#[derive(Default)]
struct Limits {
    max_packet: Option<usize>,
    alias_max: u16,
    aliases_set: BTreeSet<u16>,
}

fuzz_target!(|input: Input| {
    let options = Options::new(MqttString::try_from("fuzz5").unwrap())
        .protocol(Protocol::V5)
        .manual_acks(input.manual_acks)
        .max_inflight(1 + usize::from(input.max_inflight % 16))
        .max_queued(32)
        .receive_maximum(1 + u16::from(input.receive_maximum % 8))
        .topic_aliases(
            u16::from(input.topic_aliases.0 % 4),
            u16::from(input.topic_aliases.1 % 4),
        )
        .max_packet_size(4096);
    let Ok(mut conn) = Connection::new(options) else {
        return;
    };
    let mut now = Instant::ZERO;
    let mut limits = Limits::default();
    let mut tokens = Vec::new();
    let mut completed = BTreeSet::new();
    for step in input.steps.into_iter().take(256) {
        let inflight_before = conn.inflight();
        match step {
            Step::Open => conn.connect(now),
            Step::Close => conn.handle_closed(now),
            Step::Raw(bytes) => conn.handle_read(now, &bytes),
            Step::ConnAck {
                reason: code,
                session_present,
                receive_maximum,
                maximum_packet_size,
                topic_alias_maximum,
                maximum_qos,
                retain_available,
                server_keep_alive,
            } => {
                let code = if code % 4 == 0 {
                    ReasonCode::Success
                } else {
                    reason(code)
                };
                if !ReasonCode::allowed_in(code, mqtt_proto::packet::PacketType::ConnAck) {
                    continue;
                }
                let properties = ConnAckProperties {
                    receive_maximum: receive_maximum.map(|r| 1 + u16::from(r % 8)),
                    maximum_packet_size: maximum_packet_size.map(|m| 64 + u32::from(m % 2048)),
                    topic_alias_maximum: topic_alias_maximum.map(|t| u16::from(t % 4)),
                    maximum_qos: maximum_qos.map(|one| {
                        if one {
                            QoS::AtLeastOnce
                        } else {
                            QoS::AtMostOnce
                        }
                    }),
                    retain_available,
                    server_keep_alive: server_keep_alive.map(u16::from),
                    ..Default::default()
                };
                let connack = ConnAck {
                    session_present: session_present && !code.is_error(),
                    reason_code: code,
                    properties,
                };
                feed(&mut conn, now, v5::Packet::ConnAck(Box::new(connack)));
            }
            Step::Publish {
                qos,
                pid,
                dup,
                topic: t,
                alias,
                user_properties,
                subscription_id,
            } => {
                let Some(pid) = PacketId::new(pid % 8 + 1) else {
                    continue;
                };
                let qos_pid = match qos % 3 {
                    0 => QosPid::AtMostOnce,
                    1 => QosPid::AtLeastOnce(pid),
                    _ => QosPid::ExactlyOnce(pid),
                };
                let mut properties = PublishProperties {
                    topic_alias: alias.map(|a| u16::from(a % 5)).filter(|a| *a != 0),
                    subscription_identifiers: subscription_id
                        .map(|s| u32::from(s) + 1)
                        .into_iter()
                        .collect(),
                    ..Default::default()
                };
                for n in 0..user_properties % 3 {
                    properties.user_properties.push(v5::UserProperty {
                        name: MqttString::try_from(format!("k{n}").as_str()).unwrap(),
                        value: MqttString::try_from("v").unwrap(),
                    });
                }
                let topic = t.map(topic);
                if topic.is_none() && properties.topic_alias.is_none() {
                    continue;
                }
                let publish = Publish {
                    dup: dup && qos_pid != QosPid::AtMostOnce,
                    qos_pid,
                    retain: false,
                    topic,
                    properties,
                    payload: Bytes::from_static(b"x"),
                };
                feed(&mut conn, now, v5::Packet::Publish(publish));
            }
            Step::Ack {
                kind,
                pid,
                reason: code,
            } => {
                let Some(pid) = PacketId::new(pid % 8 + 1) else {
                    continue;
                };
                let code = if code % 2 == 0 {
                    ReasonCode::Success
                } else {
                    reason(code)
                };
                let (packet_type, wrap): (_, fn(PubResponse) -> v5::Packet) = match kind % 4 {
                    0 => (mqtt_proto::packet::PacketType::PubAck, v5::Packet::PubAck),
                    1 => (mqtt_proto::packet::PacketType::PubRec, v5::Packet::PubRec),
                    2 => (mqtt_proto::packet::PacketType::PubRel, v5::Packet::PubRel),
                    _ => (mqtt_proto::packet::PacketType::PubComp, v5::Packet::PubComp),
                };
                if !ReasonCode::allowed_in(code, packet_type) {
                    continue;
                }
                let ack = PubResponse {
                    pid,
                    reason_code: code,
                    properties: AckProperties::default(),
                };
                feed(&mut conn, now, wrap(ack));
            }
            Step::SubAck { pid, reasons } => {
                let Some(pid) = PacketId::new(pid % 8 + 1) else {
                    continue;
                };
                let codes: Vec<ReasonCode> = reasons
                    .into_iter()
                    .take(4)
                    .map(reason)
                    .filter(|c| ReasonCode::allowed_in(*c, mqtt_proto::packet::PacketType::SubAck))
                    .collect();
                if codes.is_empty() {
                    continue;
                }
                let suback = SubAck {
                    pid,
                    properties: AckProperties::default(),
                    reason_codes: codes,
                };
                feed(&mut conn, now, v5::Packet::SubAck(suback));
            }
            Step::Disconnect { reason: code } => {
                let code = reason(code);
                if ReasonCode::allowed_in(code, mqtt_proto::packet::PacketType::Disconnect) {
                    let d = Disconnect {
                        reason_code: code,
                        properties: DisconnectProperties::default(),
                    };
                    feed(&mut conn, now, v5::Packet::Disconnect(d));
                }
            }
            Step::Auth { reason: code } => {
                let code = reason(code);
                if ReasonCode::allowed_in(code, mqtt_proto::packet::PacketType::Auth) {
                    let auth = Auth {
                        reason_code: code,
                        properties: AuthProperties {
                            authentication_method: Some(MqttString::try_from("m").unwrap()),
                            ..Default::default()
                        },
                    };
                    feed(&mut conn, now, v5::Packet::Auth(auth));
                }
            }
            Step::PublishCommand {
                qos,
                topic: t,
                size,
                retain,
            } => {
                let qos = QoS::from_u8(qos % 3).unwrap_or(QoS::AtMostOnce);
                let payload = Bytes::from(vec![0u8; usize::from(size % 3000)]);
                let message = Message::new(topic(t).as_str(), payload, qos)
                    .unwrap()
                    .retained(retain);
                let _ = conn.publish(message);
            }
            Step::Subscribe { filter, qos } => {
                let f = TopicFilter::try_from(format!("t/{}", filter % 8).as_str()).unwrap();
                let _ = conn.subscribe(vec![(f, QoS::from_u8(qos % 3).unwrap_or(QoS::AtMostOnce))]);
            }
            Step::Ack2 { nth } => {
                if !tokens.is_empty() {
                    let token = tokens.remove(usize::from(nth) % tokens.len());
                    let _ = conn.ack(token);
                }
            }
            Step::Advance { millis } => {
                now = now + Duration::from_millis(u64::from(millis % 120_000));
                conn.handle_timeout(now);
            }
        }
        // Drain, checking what is handed out against what the broker of
        // this connection allowed (whatever bytes, scripted or raw, its
        // CONNACK came in).
        if let Some(props) = conn.connack_properties() {
            limits.max_packet = props.maximum_packet_size.map(|m| m as usize);
            limits.alias_max = props.topic_alias_maximum.unwrap_or(0);
            // [5.0 MQTT-3.3.4-7] no new exchange beyond the broker's
            // Receive Maximum (a resumed session's resends aside).
            if let Some(max) = props.receive_maximum {
                if conn.inflight() > inflight_before {
                    assert!(
                        conn.inflight() <= usize::from(max),
                        "[5.0 MQTT-3.3.4-7] {} in flight > {max}",
                        conn.inflight()
                    );
                }
            }
        }
        while let Some(bytes) = conn.poll_transmit(now) {
            check_transmit(&bytes, &mut limits);
        }
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Message {
                    ack: Some(token), ..
                } => tokens.push(token),
                Event::Published { id } | Event::PublishAcked { id, .. } => {
                    assert!(completed.insert(id), "publish {id:?} completed twice");
                }
                Event::Connected { .. } => {}
                Event::Disconnected { .. } => {
                    tokens.clear();
                }
                _ => {}
            }
        }
    }
});

fn feed(conn: &mut Connection, now: Instant, packet: v5::Packet) {
    let mut wire = BytesMut::new();
    if packet.encode(&mut wire).is_ok() {
        conn.handle_read(now, &wire);
    }
}

/// Everything handed out is 5.0 and within what the broker allowed.
fn check_transmit(bytes: &[u8], limits: &mut Limits) {
    let mut buf = BytesMut::from(bytes);
    loop {
        let before = buf.len();
        let packet = match v5::decode(&mut buf, usize::MAX) {
            Ok(Some(packet)) => packet,
            Ok(None) => {
                assert!(buf.is_empty(), "a partial packet was handed out");
                return;
            }
            Err(e) => panic!("the connection sent a malformed 5.0 packet: {e}"),
        };
        let size = before - buf.len();
        if let Some(max) = limits.max_packet {
            assert!(
                size <= max,
                "[5.0 MQTT-3.2.2-15] {:?} of {size} bytes > broker maximum {max}",
                packet.packet_type()
            );
        }
        match packet {
            v5::Packet::Connect(_) => *limits = Limits::default(),
            v5::Packet::Publish(p) => {
                if let Some(alias) = p.properties.topic_alias {
                    assert!(
                        alias != 0 && alias <= limits.alias_max,
                        "[5.0 MQTT-3.3.2-9] alias {alias}"
                    );
                    if p.topic.is_some() {
                        limits.aliases_set.insert(alias);
                    } else {
                        assert!(
                            limits.aliases_set.contains(&alias),
                            "alias {alias} used before it was set"
                        );
                    }
                } else {
                    assert!(p.topic.is_some(), "an empty topic without an alias");
                }
            }
            _ => {}
        }
    }
}
