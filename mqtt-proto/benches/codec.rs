//! Encode and decode speed of the `mqtt-proto` codec next to three peer
//! MQTT 3.1.1 codecs and one peer 5.0 codec, measured in the same run on the
//! same bytes.
//!
//! MQTT 3.1.1 cases, each decoded and encoded by every 3.1.1 codec:
//! - `publish_64B`: 256 PUBLISH packets, QoS 1, topic "hello/world", 64-byte
//!   payload;
//! - `publish_4KiB`: 64 such packets with a 4096-byte payload;
//! - `mixed`: all 14 control packet types (CONNECT with will and login,
//!   CONNACK, PUBLISH 64 B QoS 1, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE
//!   and UNSUBSCRIBE with two filters, SUBACK with two codes, UNSUBACK,
//!   PINGREQ, PINGRESP, DISCONNECT); 16 rounds (224 packets) per decode, one
//!   round per encode (see `mixed_case` for why).
//!
//! Codecs, each driven through its own fastest public path:
//! - `mqtt-proto`: [`mqtt_proto::packet::decode`] on a `BytesMut`;
//!   `Publish::encode` (publish cases) or `Packet::encode` (mixed).
//! - `rumqttc` (0.25, `mqttbytes::v4`): `Packet::read(&mut BytesMut, max)`,
//!   the function its tokio `Codec` calls; `Publish::write` or
//!   `Packet::write` into a `BytesMut`.
//! - `mqttrs` (0.4): `decode_slice` on the unread part of the buffer, which
//!   borrows and does not report its length, so the loop reads the
//!   remaining length itself to step to the next packet; `encode_slice` into
//!   a `&mut [u8]` large enough for the whole run.
//! - `mqtt-protocol` (0.12, crate `mqtt`): `VariablePacket::decode` from a
//!   `&[u8]` reader; `Encodable::encode` of `PublishPacket` or
//!   `VariablePacket` into a `Vec<u8>`.
//!
//! Decoding always starts from a buffer that already holds the whole case;
//! every codec decodes the same bytes (written by our encoder), and copying
//! that buffer for each iteration happens outside the timed part. Each
//! decoded packet goes through `black_box` and is dropped inside the timed
//! part, as a real reader would. Encoding appends the case's packets to a
//! buffer cleared first and already large enough. Before anything is timed,
//! every decoder is checked to yield the expected packet types and payload
//! sizes (and the expected count), and every encoder to write exactly the
//! same bytes as ours, so a wrongly driven peer cannot look fast.
//!
//! MQTT 5.0 cases, each decoded and encoded by our `packet::v5` codec
//! (`v5::decode`, `v5::Publish::encode`, `v5::PubResponse::encode`), by
//! rumqttc's (0.25, `v5::mqttbytes::v5`: `Packet::read`, `Publish::write`,
//! `PubAck::write`) on the same bytes, and by our 3.1.1 codec on the same
//! message at 3.1.1 (its own bytes), which shows what 5.0 costs us:
//! - `v5_publish_64B`: 256 PUBLISH packets, QoS 1, "hello/world", 64-byte
//!   payload, no properties;
//! - `v5_publish_64B_2props`: the same with a Message Expiry Interval and
//!   one User Property (at 3.1.1 the same message has no properties);
//! - `v5_puback`: 256 PUBACK packets, success, no properties (four bytes at
//!   either level).
//!
//! The 5.0 decoders are also checked to find the properties, by count.
//!
//! Groups are named `decode/<case>` and `encode/<case>`, with one function
//! per codec and a throughput in packets. After criterion, the bench times
//! every routine once more itself with `Instant` (a warm-up fixes the
//! iteration count so that one sample lasts about 5 ms; the four codecs of a
//! column take turns sample by sample, so that a slow spell of the machine
//! hits them alike; the median of 25 samples is kept) and prints a markdown
//! table of ns per packet with the ratio peer / `mqtt-proto` (above 1 means
//! `mqtt-proto` is faster), after the line `<!-- codec table -->`; then the
//! 5.0 cases the same way after the line `<!-- codec v5 table -->`, the
//! ratio being row / `mqtt-proto` at 5.0.
//!
//! The run then ends with the case of `benches/incoming.rs`, included here
//! as a module: 65,535 outstanding incoming QoS 2 messages, our
//! `Connection` next to rumqttc's `MqttState` (checked first, then timed as
//! that bench does), printed after the line `<!-- incoming table -->` as a
//! second table: milliseconds for each, and rumqttc / `mqtt-proto`. Nothing
//! asserts on timings.
//!
//! Run it with
//!
//! ```text
//! cargo bench -p mqtt-proto --bench codec
//! ```
//!
//! A criterion filter (`-- decode/publish`) narrows the criterion groups;
//! the final tables always cover every case. Under `cargo test --benches`
//! the checks and one pass of each routine run, but no table is printed
//! (`benches/incoming.rs` runs its own checks there).

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput};

use mqtt::packet::{self as mp, EncodablePacket, VariablePacket};
use mqtt::{Decodable, Encodable};
use mqtt_proto::packet::v5::{self, Packet as V5Packet};
use mqtt_proto::packet::{
    self as ours, ConnAck, Connect, ConnectReturnCode, LastWill, Login, Packet, PacketType,
    Protocol, PubAck, PubComp, PubRec, PubRel, Publish, QosPid, SubAck, Subscribe,
    SubscribeReturnCode, UnsubAck, Unsubscribe,
};
use mqtt_proto::{MqttString, PacketId, QoS, TopicFilter, TopicName};
use rumqttc::mqttbytes::{self as rqb, v4 as rq};
use rumqttc::v5::mqttbytes::{self as rq5q, v5 as rq5};

/// The incoming QoS 2 case, whose table ends this bench's run. Its `main`
/// is that bench's own and unused here.
#[path = "incoming.rs"]
#[allow(dead_code)]
mod incoming;

/// The codec names, in table order; also the criterion function names.
const CODECS: [&str; 4] = ["mqtt-proto", "rumqttc", "mqttrs", "mqtt-protocol"];

/// Size limit handed to the decoders that take one: far above any packet here.
const MAX_SIZE: usize = ours::MAX_PACKET_SIZE;

/// Decode inputs made per timed batch: about this many bytes, so a batch of
/// fresh copies is likely still in L2 when it is decoded.
const BATCH_BYTES: usize = 1 << 20;

/// Encode passes per timed batch in the final table's timing.
const ENCODE_BATCH: usize = 16;

const TOPIC: &str = "hello/world";
static PAYLOAD: [u8; 4096] = [0xA5; 4096];

/// What a decoded packet is checked against: the type number of section
/// 2.2.1, for PUBLISH the payload length (0 for the others), and the number
/// of 5.0 properties it carries (always 0 at 3.1.1).
type Sig = (u8, usize, usize);

// ---------------------------------------------------------------------------
// Decoding: one loop per codec, generic over what is done with each packet.
// ---------------------------------------------------------------------------

/// Decodes every packet in `buf`; returns how many.
fn decode_ours(buf: &mut BytesMut, mut each: impl FnMut(&Packet)) -> usize {
    let mut n = 0;
    while let Some(packet) = ours::decode(buf, MAX_SIZE).expect("mqtt-proto decode") {
        each(&packet);
        n += 1;
    }
    n
}

fn decode_rumqttc(buf: &mut BytesMut, mut each: impl FnMut(&rq::Packet)) -> usize {
    let mut n = 0;
    // `Packet::read` reports an exhausted buffer as an error
    // (`InsufficientBytes`), so the loop stops on emptiness instead.
    while !buf.is_empty() {
        let packet = rq::Packet::read(buf, MAX_SIZE).expect("rumqttc decode");
        each(&packet);
        n += 1;
    }
    n
}

/// Length of the packet at the start of `buf`: fixed header plus remaining
/// length. mqttrs's `decode_slice` does not return it.
#[inline]
fn frame_len(buf: &[u8]) -> usize {
    let mut len = 0;
    for i in 0..4 {
        let byte = buf[1 + i];
        len |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return 2 + i + len;
        }
    }
    panic!("remaining length longer than four bytes");
}

fn decode_mqttrs(buf: &mut BytesMut, mut each: impl FnMut(&mqttrs::Packet)) -> usize {
    let mut offset = 0;
    let mut n = 0;
    while let Some(packet) = mqttrs::decode_slice(&buf[offset..]).expect("mqttrs decode") {
        each(&packet);
        offset += frame_len(&buf[offset..]);
        n += 1;
    }
    buf.advance(offset);
    n
}

fn decode_mqtt_protocol(buf: &mut BytesMut, mut each: impl FnMut(&VariablePacket)) -> usize {
    let mut reader: &[u8] = buf;
    let mut n = 0;
    while !reader.is_empty() {
        let packet = VariablePacket::decode(&mut reader).expect("mqtt-protocol decode");
        each(&packet);
        n += 1;
    }
    let consumed = buf.len() - reader.len();
    buf.advance(consumed);
    n
}

fn sig_ours(packet: &Packet) -> Sig {
    let payload = match packet {
        Packet::Publish(p) => p.payload.len(),
        _ => 0,
    };
    (packet.packet_type() as u8, payload, 0)
}

fn sig_rumqttc(packet: &rq::Packet) -> Sig {
    match packet {
        rq::Packet::Connect(_) => (1, 0, 0),
        rq::Packet::ConnAck(_) => (2, 0, 0),
        rq::Packet::Publish(p) => (3, p.payload.len(), 0),
        rq::Packet::PubAck(_) => (4, 0, 0),
        rq::Packet::PubRec(_) => (5, 0, 0),
        rq::Packet::PubRel(_) => (6, 0, 0),
        rq::Packet::PubComp(_) => (7, 0, 0),
        rq::Packet::Subscribe(_) => (8, 0, 0),
        rq::Packet::SubAck(_) => (9, 0, 0),
        rq::Packet::Unsubscribe(_) => (10, 0, 0),
        rq::Packet::UnsubAck(_) => (11, 0, 0),
        rq::Packet::PingReq => (12, 0, 0),
        rq::Packet::PingResp => (13, 0, 0),
        rq::Packet::Disconnect => (14, 0, 0),
    }
}

fn sig_mqttrs(packet: &mqttrs::Packet) -> Sig {
    use mqttrs::Packet as P;
    match packet {
        P::Connect(_) => (1, 0, 0),
        P::Connack(_) => (2, 0, 0),
        P::Publish(p) => (3, p.payload.len(), 0),
        P::Puback(_) => (4, 0, 0),
        P::Pubrec(_) => (5, 0, 0),
        P::Pubrel(_) => (6, 0, 0),
        P::Pubcomp(_) => (7, 0, 0),
        P::Subscribe(_) => (8, 0, 0),
        P::Suback(_) => (9, 0, 0),
        P::Unsubscribe(_) => (10, 0, 0),
        P::Unsuback(_) => (11, 0, 0),
        P::Pingreq => (12, 0, 0),
        P::Pingresp => (13, 0, 0),
        P::Disconnect => (14, 0, 0),
    }
}

fn sig_mqtt_protocol(packet: &VariablePacket) -> Sig {
    let payload = match packet {
        VariablePacket::PublishPacket(p) => p.payload().len(),
        _ => 0,
    };
    (packet.fixed_header().packet_type.to_u8() >> 4, payload, 0)
}

/// A timed decode: decodes the whole buffer, returns the packet count.
type DecodeFn = fn(&mut BytesMut) -> usize;
/// The same loop, recording what it decoded, for the checks.
type SigFn = fn(&mut BytesMut) -> Vec<Sig>;

/// The four decoders, in [`CODECS`] order.
fn decoders() -> [(DecodeFn, SigFn); 4] {
    [
        (
            |b| {
                decode_ours(b, |p| {
                    black_box(p);
                })
            },
            |b| {
                let mut v = Vec::new();
                decode_ours(b, |p| v.push(sig_ours(p)));
                v
            },
        ),
        (
            |b| {
                decode_rumqttc(b, |p| {
                    black_box(p);
                })
            },
            |b| {
                let mut v = Vec::new();
                decode_rumqttc(b, |p| v.push(sig_rumqttc(p)));
                v
            },
        ),
        (
            |b| {
                decode_mqttrs(b, |p| {
                    black_box(p);
                })
            },
            |b| {
                let mut v = Vec::new();
                decode_mqttrs(b, |p| v.push(sig_mqttrs(p)));
                v
            },
        ),
        (
            |b| {
                decode_mqtt_protocol(b, |p| {
                    black_box(p);
                })
            },
            |b| {
                let mut v = Vec::new();
                decode_mqtt_protocol(b, |p| v.push(sig_mqtt_protocol(p)));
                v
            },
        ),
    ]
}

// ---------------------------------------------------------------------------
// MQTT 5.0 decoding: ours (`v5::decode`) and rumqttc's `v5::mqttbytes::v5`.
// ---------------------------------------------------------------------------

fn decode_ours_v5(buf: &mut BytesMut, mut each: impl FnMut(&V5Packet)) -> usize {
    let mut n = 0;
    while let Some(packet) = v5::decode(buf, MAX_SIZE).expect("mqtt-proto 5.0 decode") {
        each(&packet);
        n += 1;
    }
    n
}

fn decode_rumqttc_v5(buf: &mut BytesMut, mut each: impl FnMut(&rq5::Packet)) -> usize {
    let mut n = 0;
    // As at 3.1.1, an exhausted buffer is an error (`InsufficientBytes`).
    while !buf.is_empty() {
        let packet = rq5::Packet::read(buf, Some(MAX_SIZE as u32)).expect("rumqttc 5.0 decode");
        each(&packet);
        n += 1;
    }
    n
}

/// Properties in a set of ours: one per field present, one per user
/// property and subscription identifier.
fn count_ours_v5(p: &v5::PublishProperties) -> usize {
    usize::from(p.payload_format_indicator.is_some())
        + usize::from(p.message_expiry_interval.is_some())
        + usize::from(p.topic_alias.is_some())
        + usize::from(p.response_topic.is_some())
        + usize::from(p.correlation_data.is_some())
        + usize::from(p.content_type.is_some())
        + p.user_properties.len()
        + p.subscription_identifiers.len()
}

fn count_rumqttc_v5(p: &Option<rq5::PublishProperties>) -> usize {
    p.as_ref().map_or(0, |p| {
        usize::from(p.payload_format_indicator.is_some())
            + usize::from(p.message_expiry_interval.is_some())
            + usize::from(p.topic_alias.is_some())
            + usize::from(p.response_topic.is_some())
            + usize::from(p.correlation_data.is_some())
            + usize::from(p.content_type.is_some())
            + p.user_properties.len()
            + p.subscription_identifiers.len()
    })
}

/// Only the packets the 5.0 cases hold (PUBLISH, PUBACK) are told apart.
fn sig_ours_v5(packet: &V5Packet) -> Sig {
    match packet {
        V5Packet::Publish(p) => (3, p.payload.len(), count_ours_v5(&p.properties)),
        V5Packet::PubAck(a) => (
            4,
            0,
            usize::from(a.properties.reason_string.is_some()) + a.properties.user_properties.len(),
        ),
        other => (other.packet_type() as u8, 0, 0),
    }
}

fn sig_rumqttc_v5(packet: &rq5::Packet) -> Sig {
    match packet {
        rq5::Packet::Publish(p) => (3, p.payload.len(), count_rumqttc_v5(&p.properties)),
        rq5::Packet::PubAck(a) => (
            4,
            0,
            a.properties.as_ref().map_or(0, |p| {
                usize::from(p.reason_string.is_some()) + p.user_properties.len()
            }),
        ),
        _ => (0, 0, 0),
    }
}

/// The 5.0 decoders: ours, rumqttc's.
fn decoders_v5() -> [(DecodeFn, SigFn); 2] {
    [
        (
            |b| {
                decode_ours_v5(b, |p| {
                    black_box(p);
                })
            },
            |b| {
                let mut v = Vec::new();
                decode_ours_v5(b, |p| v.push(sig_ours_v5(p)));
                v
            },
        ),
        (
            |b| {
                decode_rumqttc_v5(b, |p| {
                    black_box(p);
                })
            },
            |b| {
                let mut v = Vec::new();
                decode_rumqttc_v5(b, |p| v.push(sig_rumqttc_v5(p)));
                v
            },
        ),
    ]
}

// ---------------------------------------------------------------------------
// Encoding: a case's packets, appended `reps` times to a cleared buffer.
// ---------------------------------------------------------------------------

/// A buffer an encoder appends to.
trait Output {
    fn reset(&mut self);
    fn bytes(&self) -> &[u8];
}

impl Output for BytesMut {
    fn reset(&mut self) {
        self.clear();
    }
    fn bytes(&self) -> &[u8] {
        self
    }
}

impl Output for Vec<u8> {
    fn reset(&mut self) {
        self.clear();
    }
    fn bytes(&self) -> &[u8] {
        self
    }
}

/// mqttrs encodes into a `&mut [u8]` and returns the length written.
struct SliceOut {
    buf: Vec<u8>,
    len: usize,
}

impl Output for SliceOut {
    fn reset(&mut self) {
        self.len = 0;
    }
    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

trait EncodeRun {
    /// Clears the buffer and encodes the case; returns the bytes written.
    fn run(&mut self) -> usize;
    /// What the last `run` wrote.
    fn output(&self) -> &[u8];
}

struct Encode<P, O, F> {
    packets: Vec<P>,
    reps: usize,
    out: O,
    encode: F,
}

impl<P, O: Output, F: FnMut(&P, &mut O)> EncodeRun for Encode<P, O, F> {
    fn run(&mut self) -> usize {
        self.out.reset();
        for _ in 0..self.reps {
            for packet in &self.packets {
                (self.encode)(packet, &mut self.out);
            }
        }
        self.out.bytes().len()
    }

    fn output(&self) -> &[u8] {
        self.out.bytes()
    }
}

fn encoder<P: 'static, O: Output + 'static>(
    packets: Vec<P>,
    reps: usize,
    out: O,
    encode: impl FnMut(&P, &mut O) + 'static,
) -> Box<dyn EncodeRun> {
    Box::new(Encode {
        packets,
        reps,
        out,
        encode,
    })
}

/// mqttrs output: a zeroed slice of exactly the case's size.
fn slice_out(len: usize) -> SliceOut {
    SliceOut {
        buf: vec![0; len],
        len: 0,
    }
}

fn mqttrs_encode(packet: &mqttrs::Packet, out: &mut SliceOut) {
    out.len += mqttrs::encode_slice(packet, &mut out.buf[out.len..]).expect("mqttrs encode");
}

fn mqtt_protocol_encode<P: Encodable>(packet: &P, out: &mut Vec<u8>) {
    packet.encode(out).expect("mqtt-protocol encode");
}

// ---------------------------------------------------------------------------
// The packets, built once per codec.
// ---------------------------------------------------------------------------

fn pid(v: u16) -> PacketId {
    PacketId::new(v).unwrap()
}

fn rs_pid(v: u16) -> mqttrs::Pid {
    mqttrs::Pid::try_from(v).unwrap()
}

fn ours_publish(payload: &'static [u8]) -> Publish {
    Publish {
        dup: false,
        qos_pid: QosPid::AtLeastOnce(pid(1)),
        retain: false,
        topic: TopicName::from_static(TOPIC).unwrap(),
        payload: Bytes::from_static(payload),
    }
}

fn rumqttc_publish(payload: &'static [u8]) -> rq::Publish {
    let mut p = rq::Publish::from_bytes(TOPIC, rqb::QoS::AtLeastOnce, Bytes::from_static(payload));
    p.pkid = 1;
    p
}

fn mqttrs_publish(payload: &'static [u8]) -> mqttrs::Packet<'static> {
    mqttrs::Packet::Publish(mqttrs::Publish {
        dup: false,
        qospid: mqttrs::QosPid::AtLeastOnce(rs_pid(1)),
        retain: false,
        topic_name: TOPIC,
        payload,
    })
}

fn mqtt_protocol_publish(payload: &'static [u8]) -> mp::PublishPacket {
    mp::PublishPacket::new(
        mqtt::TopicName::new(TOPIC).unwrap(),
        mp::QoSWithPacketIdentifier::Level1(1),
        payload,
    )
}

const CLIENT_ID: &str = "bench-client";
const WILL_TOPIC: &str = "clients/bench/status";
const WILL_MESSAGE: &[u8] = b"offline";
const USERNAME: &str = "user";
const PASSWORD: &str = "secret";
const FILTERS: [&str; 2] = ["sensors/+/temp", "alerts/#"];

fn ours_mixed() -> Vec<Packet> {
    let filter = |f: &'static str| TopicFilter::from_static(f).unwrap();
    vec![
        Packet::Connect(Box::new(Connect {
            protocol: Protocol::V311,
            clean_session: true,
            keep_alive: 30,
            client_id: MqttString::from_static(CLIENT_ID).unwrap(),
            last_will: Some(LastWill {
                topic: TopicName::from_static(WILL_TOPIC).unwrap(),
                message: Bytes::from_static(WILL_MESSAGE),
                qos: QoS::AtLeastOnce,
                retain: true,
            }),
            login: Some(Login {
                username: MqttString::from_static(USERNAME).unwrap(),
                password: Some(Bytes::from_static(PASSWORD.as_bytes())),
            }),
        })),
        Packet::ConnAck(ConnAck {
            session_present: false,
            code: ConnectReturnCode::Accepted,
        }),
        Packet::Publish(ours_publish(&PAYLOAD[..64])),
        Packet::PubAck(PubAck::new(pid(1))),
        Packet::PubRec(PubRec::new(pid(2))),
        Packet::PubRel(PubRel::new(pid(2))),
        Packet::PubComp(PubComp::new(pid(2))),
        Packet::Subscribe(Subscribe {
            pid: pid(3),
            filters: vec![
                (filter(FILTERS[0]), QoS::AtLeastOnce),
                (filter(FILTERS[1]), QoS::ExactlyOnce),
            ],
        }),
        Packet::SubAck(SubAck {
            pid: pid(3),
            return_codes: vec![
                SubscribeReturnCode::Success(QoS::AtLeastOnce),
                SubscribeReturnCode::Failure,
            ],
        }),
        Packet::Unsubscribe(Unsubscribe {
            pid: pid(4),
            filters: vec![filter(FILTERS[0]), filter(FILTERS[1])],
        }),
        Packet::UnsubAck(UnsubAck::new(pid(4))),
        Packet::PingReq,
        Packet::PingResp,
        Packet::Disconnect,
    ]
}

fn rumqttc_mixed() -> Vec<rq::Packet> {
    use rqb::QoS as Q;
    vec![
        rq::Packet::Connect(rq::Connect {
            protocol: rqb::Protocol::V4,
            keep_alive: 30,
            client_id: CLIENT_ID.into(),
            clean_session: true,
            last_will: Some(rq::LastWill::new(
                WILL_TOPIC,
                WILL_MESSAGE,
                Q::AtLeastOnce,
                true,
            )),
            login: Some(rq::Login::new(USERNAME, PASSWORD)),
        }),
        rq::Packet::ConnAck(rq::ConnAck::new(rq::ConnectReturnCode::Success, false)),
        rq::Packet::Publish(rumqttc_publish(&PAYLOAD[..64])),
        rq::Packet::PubAck(rq::PubAck::new(1)),
        rq::Packet::PubRec(rq::PubRec::new(2)),
        rq::Packet::PubRel(rq::PubRel::new(2)),
        rq::Packet::PubComp(rq::PubComp::new(2)),
        rq::Packet::Subscribe(rq::Subscribe {
            pkid: 3,
            filters: vec![
                rq::SubscribeFilter::new(FILTERS[0].into(), Q::AtLeastOnce),
                rq::SubscribeFilter::new(FILTERS[1].into(), Q::ExactlyOnce),
            ],
        }),
        rq::Packet::SubAck(rq::SubAck::new(
            3,
            vec![
                rq::SubscribeReasonCode::Success(Q::AtLeastOnce),
                rq::SubscribeReasonCode::Failure,
            ],
        )),
        rq::Packet::Unsubscribe(rq::Unsubscribe {
            pkid: 4,
            topics: vec![FILTERS[0].into(), FILTERS[1].into()],
        }),
        rq::Packet::UnsubAck(rq::UnsubAck::new(4)),
        rq::Packet::PingReq,
        rq::Packet::PingResp,
        rq::Packet::Disconnect,
    ]
}

fn mqttrs_mixed() -> Vec<mqttrs::Packet<'static>> {
    use mqttrs::{Packet as P, QoS as Q};
    vec![
        P::Connect(mqttrs::Connect {
            protocol: mqttrs::Protocol::MQTT311,
            keep_alive: 30,
            client_id: CLIENT_ID,
            clean_session: true,
            last_will: Some(mqttrs::LastWill {
                topic: WILL_TOPIC,
                message: WILL_MESSAGE,
                qos: Q::AtLeastOnce,
                retain: true,
            }),
            username: Some(USERNAME),
            password: Some(PASSWORD.as_bytes()),
        }),
        P::Connack(mqttrs::Connack {
            session_present: false,
            code: mqttrs::ConnectReturnCode::Accepted,
        }),
        mqttrs_publish(&PAYLOAD[..64]),
        P::Puback(rs_pid(1)),
        P::Pubrec(rs_pid(2)),
        P::Pubrel(rs_pid(2)),
        P::Pubcomp(rs_pid(2)),
        P::Subscribe(mqttrs::Subscribe::new(
            rs_pid(3),
            vec![
                mqttrs::SubscribeTopic {
                    topic_path: FILTERS[0].into(),
                    qos: Q::AtLeastOnce,
                },
                mqttrs::SubscribeTopic {
                    topic_path: FILTERS[1].into(),
                    qos: Q::ExactlyOnce,
                },
            ],
        )),
        P::Suback(mqttrs::Suback::new(
            rs_pid(3),
            vec![
                mqttrs::SubscribeReturnCodes::Success(Q::AtLeastOnce),
                mqttrs::SubscribeReturnCodes::Failure,
            ],
        )),
        P::Unsubscribe(mqttrs::Unsubscribe::new(
            rs_pid(4),
            vec![FILTERS[0].into(), FILTERS[1].into()],
        )),
        P::Unsuback(rs_pid(4)),
        P::Pingreq,
        P::Pingresp,
        P::Disconnect,
    ]
}

fn mqtt_protocol_mixed() -> Vec<VariablePacket> {
    use mqtt::control::ConnectReturnCode as Rc;
    use mqtt::packet::suback::SubscribeReturnCode as Sc;
    use mqtt::QualityOfService as Q;
    let filter = |f: &str| mqtt::TopicFilter::new(f).unwrap();
    let mut connect = mp::ConnectPacket::new(CLIENT_ID);
    connect.set_clean_session(true);
    connect.set_keep_alive(30);
    connect.set_will(Some((
        mqtt::TopicName::new(WILL_TOPIC).unwrap(),
        WILL_MESSAGE.to_vec(),
    )));
    connect.set_will_qos(1);
    connect.set_will_retain(true);
    connect.set_user_name(Some(USERNAME.into()));
    connect.set_password(Some(PASSWORD.into()));
    vec![
        connect.into(),
        mp::ConnackPacket::new(false, Rc::ConnectionAccepted).into(),
        mqtt_protocol_publish(&PAYLOAD[..64]).into(),
        mp::PubackPacket::new(1).into(),
        mp::PubrecPacket::new(2).into(),
        mp::PubrelPacket::new(2).into(),
        mp::PubcompPacket::new(2).into(),
        mp::SubscribePacket::new(
            3,
            vec![
                (filter(FILTERS[0]), Q::Level1),
                (filter(FILTERS[1]), Q::Level2),
            ],
        )
        .into(),
        mp::SubackPacket::new(3, vec![Sc::MaximumQoSLevel1, Sc::Failure]).into(),
        mp::UnsubscribePacket::new(4, vec![filter(FILTERS[0]), filter(FILTERS[1])]).into(),
        mp::UnsubackPacket::new(4).into(),
        mp::PingreqPacket::new().into(),
        mp::PingrespPacket::new().into(),
        mp::DisconnectPacket::new().into(),
    ]
}

// ---------------------------------------------------------------------------
// Cases.
// ---------------------------------------------------------------------------

/// One codec's part of a case: what it decodes and must find there, and
/// its encoder, which must write exactly the start of `wire`.
struct Codec {
    name: &'static str,
    /// The decode input: the case's packets as our encoder writes them (at
    /// this codec's protocol level), back to back.
    wire: BytesMut,
    /// What decoding `wire` must yield.
    expected: Vec<Sig>,
    decode: DecodeFn,
    sigs: SigFn,
    /// Bytes per encode iteration.
    encode_len: usize,
    encoder: Box<dyn EncodeRun>,
}

impl Codec {
    /// Decode inputs per timed batch.
    fn decode_batch(&self) -> usize {
        (BATCH_BYTES / self.wire.len()).max(1)
    }
}

struct Case {
    name: &'static str,
    /// Packets per decode iteration.
    decode_n: usize,
    /// Packets per encode iteration.
    encode_n: usize,
    /// The codecs, in table order, ours first.
    codecs: Vec<Codec>,
}

/// The four 3.1.1 codecs of a case, in [`CODECS`] order, all on the same
/// `wire` (of which `encode_len` bytes are one encode iteration).
fn codecs_v311(
    wire: &BytesMut,
    expected: &[Sig],
    encode_len: usize,
    encoders: Vec<Box<dyn EncodeRun>>,
) -> Vec<Codec> {
    CODECS
        .iter()
        .zip(decoders())
        .zip(encoders)
        .map(|((&name, (decode, sigs)), encoder)| Codec {
            name,
            wire: wire.clone(),
            expected: expected.to_vec(),
            decode,
            sigs,
            encode_len,
            encoder,
        })
        .collect()
}

fn publish_case(name: &'static str, payload_len: usize, n: usize) -> Case {
    let payload = &PAYLOAD[..payload_len];
    let ours = ours_publish(payload);
    let mut wire = BytesMut::new();
    for _ in 0..n {
        ours.encode(&mut wire).unwrap();
    }
    let expected = vec![sig_ours(&Packet::Publish(ours.clone())); n];
    let len = wire.len();
    let encoders = vec![
        encoder(vec![ours], n, BytesMut::with_capacity(len), |p, out| {
            p.encode(out).expect("mqtt-proto encode")
        }),
        encoder(
            vec![rumqttc_publish(payload)],
            n,
            BytesMut::with_capacity(len),
            |p, out| {
                p.write(out).expect("rumqttc encode");
            },
        ),
        encoder(
            vec![mqttrs_publish(payload)],
            n,
            slice_out(len),
            mqttrs_encode,
        ),
        encoder(
            vec![mqtt_protocol_publish(payload)],
            n,
            Vec::with_capacity(len),
            mqtt_protocol_encode,
        ),
    ];
    Case {
        name,
        decode_n: n,
        encode_n: n,
        codecs: codecs_v311(&wire, &expected, len, encoders),
    }
}

/// Decodes `rounds` rounds of the 14 packets; encodes one round per
/// iteration. rumqttc 0.25's `Connect::write` fills in the connect flags at
/// an index counted from the start of the buffer rather than of the packet,
/// so its CONNECT is only right at offset 0; one round into a cleared buffer
/// keeps every codec's CONNECT there.
fn mixed_case(rounds: usize) -> Case {
    let ours = ours_mixed();
    let mut wire = BytesMut::new();
    for p in &ours {
        p.encode(&mut wire).unwrap();
    }
    let len = wire.len();
    wire = wire.repeat(rounds).as_slice().into();
    let expected = ours.iter().map(sig_ours).collect::<Vec<_>>().repeat(rounds);
    let encode_n = ours.len();
    let encoders = vec![
        encoder(ours, 1, BytesMut::with_capacity(len), |p, out| {
            p.encode(out).expect("mqtt-proto encode")
        }),
        encoder(
            rumqttc_mixed(),
            1,
            BytesMut::with_capacity(len),
            |p, out| {
                p.write(out, MAX_SIZE).expect("rumqttc encode");
            },
        ),
        encoder(mqttrs_mixed(), 1, slice_out(len), mqttrs_encode),
        encoder(
            mqtt_protocol_mixed(),
            1,
            Vec::with_capacity(len),
            mqtt_protocol_encode,
        ),
    ];
    Case {
        name: "mixed",
        decode_n: expected.len(),
        encode_n,
        codecs: codecs_v311(&wire, &expected, len, encoders),
    }
}

// ---------------------------------------------------------------------------
// MQTT 5.0 cases: ours and rumqttc's v5 codec on the same bytes, and ours
// at 3.1.1 on the same message (which has no properties there).
// ---------------------------------------------------------------------------

/// The 5.0 codec names, in table order; also the criterion function names.
const CODECS_V5: [&str; 3] = ["mqtt-proto", "rumqttc", "mqtt-proto at 3.1.1"];

/// The properties of the "with properties" case: a fixed-size one and a
/// string pair. Both codecs write these two in the same order, so their
/// bytes can be compared.
const EXPIRY_SECS: u32 = 60;
const USER_PROPERTY: (&str, &str) = ("trace", "4bf92f3577b34da6");

fn ours_v5_publish(payload: &'static [u8], with_properties: bool) -> v5::Publish {
    let mut properties = v5::PublishProperties::default();
    if with_properties {
        properties.message_expiry_interval = Some(EXPIRY_SECS);
        properties.user_properties.push(v5::UserProperty {
            name: MqttString::from_static(USER_PROPERTY.0).unwrap(),
            value: MqttString::from_static(USER_PROPERTY.1).unwrap(),
        });
    }
    v5::Publish {
        dup: false,
        qos_pid: QosPid::AtLeastOnce(pid(1)),
        retain: false,
        topic: Some(TopicName::from_static(TOPIC).unwrap()),
        properties,
        payload: Bytes::from_static(payload),
    }
}

fn rumqttc_v5_publish(payload: &'static [u8], with_properties: bool) -> rq5::Publish {
    let properties = with_properties.then(|| rq5::PublishProperties {
        message_expiry_interval: Some(EXPIRY_SECS),
        user_properties: vec![(USER_PROPERTY.0.into(), USER_PROPERTY.1.into())],
        ..rq5::PublishProperties::default()
    });
    let mut p = rq5::Publish::new(
        TOPIC,
        rq5q::QoS::AtLeastOnce,
        Bytes::from_static(payload),
        properties,
    );
    p.pkid = 1;
    p
}

/// `n` copies of `packet`, encoded back to back by `encode`.
fn wire_of<P>(packet: &P, n: usize, encode: impl Fn(&P, &mut BytesMut)) -> BytesMut {
    let mut wire = BytesMut::new();
    for _ in 0..n {
        encode(packet, &mut wire);
    }
    wire
}

/// The three codecs of a 5.0 case: ours at 5.0 and rumqttc's v5 on
/// `wire5`, ours at 3.1.1 on `wire311`; each encoder writes `n` packets.
fn codecs_v5(
    n: usize,
    (wire5, expected5): (BytesMut, Vec<Sig>),
    (wire311, expected311): (BytesMut, Vec<Sig>),
    encoders: [Box<dyn EncodeRun>; 3],
) -> Vec<Codec> {
    let [(ours_decode, ours_sigs), (rumqttc_decode, rumqttc_sigs)] = decoders_v5();
    let [(v311_decode, v311_sigs), ..] = decoders();
    let [ours, rumqttc, v311] = encoders;
    let len5 = wire5.len();
    let len311 = wire311.len();
    debug_assert_eq!(expected5.len(), n);
    vec![
        Codec {
            name: CODECS_V5[0],
            wire: wire5.clone(),
            expected: expected5.clone(),
            decode: ours_decode,
            sigs: ours_sigs,
            encode_len: len5,
            encoder: ours,
        },
        Codec {
            name: CODECS_V5[1],
            wire: wire5,
            expected: expected5,
            decode: rumqttc_decode,
            sigs: rumqttc_sigs,
            encode_len: len5,
            encoder: rumqttc,
        },
        Codec {
            name: CODECS_V5[2],
            wire: wire311,
            expected: expected311,
            decode: v311_decode,
            sigs: v311_sigs,
            encode_len: len311,
            encoder: v311,
        },
    ]
}

/// `n` PUBLISH packets, QoS 1, 64-byte payload, with no properties or with
/// two.
fn v5_publish_case(name: &'static str, with_properties: bool, n: usize) -> Case {
    let payload = &PAYLOAD[..64];
    let ours = ours_v5_publish(payload, with_properties);
    let v311 = ours_publish(payload);
    let wire5 = wire_of(&ours, n, |p, b| p.encode(b).unwrap());
    let wire311 = wire_of(&v311, n, |p, b| p.encode(b).unwrap());
    let expected5 = vec![sig_ours_v5(&V5Packet::Publish(ours.clone())); n];
    let expected311 = vec![sig_ours(&Packet::Publish(v311.clone())); n];
    let (len5, len311) = (wire5.len(), wire311.len());
    let encoders = [
        encoder(vec![ours], n, BytesMut::with_capacity(len5), |p, out| {
            p.encode(out).expect("mqtt-proto 5.0 encode")
        }),
        encoder(
            vec![rumqttc_v5_publish(payload, with_properties)],
            n,
            BytesMut::with_capacity(len5),
            |p, out| {
                p.write(out).expect("rumqttc 5.0 encode");
            },
        ),
        encoder(vec![v311], n, BytesMut::with_capacity(len311), |p, out| {
            p.encode(out).expect("mqtt-proto encode")
        }),
    ];
    Case {
        name,
        decode_n: n,
        encode_n: n,
        codecs: codecs_v5(n, (wire5, expected5), (wire311, expected311), encoders),
    }
}

/// `n` PUBACK packets, success, no properties: the four-byte form at both
/// levels.
fn v5_puback_case(n: usize) -> Case {
    let ours = v5::PubResponse::success(pid(1));
    let v311 = PubAck { pid: pid(1) };
    let wire5 = wire_of(&ours, n, |p, b| p.encode(PacketType::PubAck, b).unwrap());
    let wire311 = wire_of(&v311, n, |p, b| Packet::PubAck(*p).encode(b).unwrap());
    let expected5 = vec![sig_ours_v5(&V5Packet::PubAck(ours.clone())); n];
    let expected311 = vec![sig_ours(&Packet::PubAck(v311)); n];
    let (len5, len311) = (wire5.len(), wire311.len());
    let encoders = [
        encoder(vec![ours], n, BytesMut::with_capacity(len5), |p, out| {
            p.encode(PacketType::PubAck, out)
                .expect("mqtt-proto 5.0 encode")
        }),
        encoder(
            vec![rq5::PubAck::new(1, None)],
            n,
            BytesMut::with_capacity(len5),
            |p, out| {
                p.write(out).expect("rumqttc 5.0 encode");
            },
        ),
        encoder(vec![v311], n, BytesMut::with_capacity(len311), |p, out| {
            Packet::PubAck(*p).encode(out).expect("mqtt-proto encode")
        }),
    ];
    Case {
        name: "v5_puback",
        decode_n: n,
        encode_n: n,
        codecs: codecs_v5(n, (wire5, expected5), (wire311, expected311), encoders),
    }
}

impl Case {
    /// Fails unless every codec decodes its wire to the expected packets
    /// and encodes its packets to exactly the start of that wire.
    fn check(&mut self) {
        let name = self.name;
        let n = self.decode_n;
        for c in &mut self.codecs {
            let codec = c.name;
            let mut buf = c.wire.clone();
            let got = (c.sigs)(&mut buf);
            assert_eq!(got.len(), n, "{codec} {name}: decoded packet count");
            assert!(got == c.expected, "{codec} {name}: decoded other packets");
            assert!(buf.is_empty(), "{codec} {name}: {} bytes left", buf.len());
            let count = (c.decode)(&mut c.wire.clone());
            assert_eq!(count, n, "{codec} {name}: timed loop's packet count");

            let want = &c.wire[..c.encode_len];
            let len = c.encoder.run();
            assert_eq!(len, want.len(), "{codec} {name}: encoded length");
            let got = c.encoder.output();
            if let Some(at) = (0..len).find(|&i| got[i] != want[i]) {
                let end = (at + 16).min(len);
                panic!(
                    "{codec} {name}: encoded other bytes than mqtt-proto from offset {at}: \
                     {:02x?} instead of {:02x?}",
                    &got[at..end],
                    &want[at..end],
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Own timing for the final table.
// ---------------------------------------------------------------------------

const TABLE_WARM_UP: Duration = Duration::from_millis(150);
const TABLE_SAMPLE: Duration = Duration::from_millis(5);
const TABLE_SAMPLES: usize = 25;

/// Takes one timing sample: ns per packet.
type Sampler<'a> = Box<dyn FnMut() -> f64 + 'a>;

/// Warms `routine` up and fixes how many batches one sample runs, so that a
/// sample lasts about [`TABLE_SAMPLE`]. Each batch makes `batch` fresh
/// inputs with `setup` (not timed), then times `routine` on each of them;
/// one input holds `per_input` packets.
fn sampler<'a, I: 'a>(
    per_input: usize,
    batch: usize,
    mut setup: impl FnMut() -> I + 'a,
    mut routine: impl FnMut(&mut I) -> usize + 'a,
) -> Sampler<'a> {
    let mut timed = move |rounds: usize| {
        let mut total = Duration::ZERO;
        for _ in 0..rounds {
            let mut inputs: Vec<I> = (0..batch).map(|_| setup()).collect();
            let start = Instant::now();
            for input in &mut inputs {
                black_box(routine(input));
            }
            total += start.elapsed();
            drop(inputs);
        }
        total
    };
    let warm_up = Instant::now();
    let mut fastest = timed(1);
    while warm_up.elapsed() < TABLE_WARM_UP {
        fastest = fastest.min(timed(1));
    }
    let rounds = (TABLE_SAMPLE.as_nanos() / fastest.as_nanos().max(1)).max(1) as usize;
    let packets = (rounds * batch * per_input) as f64;
    Box::new(move || timed(rounds).as_nanos() as f64 / packets)
}

/// Median ns per packet of each sampler. The samplers take turns, one
/// sample each, so that a slow spell of the machine hits every codec alike
/// and the ratios stay fair.
fn interleaved_medians(mut samplers: Vec<Sampler<'_>>) -> Vec<f64> {
    let mut samples = vec![Vec::with_capacity(TABLE_SAMPLES); samplers.len()];
    for _ in 0..TABLE_SAMPLES {
        for (sampler, samples) in samplers.iter_mut().zip(&mut samples) {
            samples.push(sampler());
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            s.sort_by(f64::total_cmp);
            s[s.len() / 2]
        })
        .collect()
}

/// One column of the table: a direction and a case, ns per packet for each
/// codec of the case, in its order.
struct Column {
    title: String,
    ns: Vec<f64>,
}

fn time_case(case: &mut Case) -> [Column; 2] {
    let decode = case
        .codecs
        .iter()
        .map(|c| {
            let wire = &c.wire;
            sampler(case.decode_n, c.decode_batch(), || wire.clone(), c.decode)
        })
        .collect();
    let decode = interleaved_medians(decode);
    let encode = case
        .codecs
        .iter_mut()
        .map(|c| {
            let enc = &mut c.encoder;
            sampler(case.encode_n, ENCODE_BATCH, || (), |_| enc.run())
        })
        .collect();
    let encode = interleaved_medians(encode);
    [
        Column {
            title: format!("decode/{}", case.name),
            ns: decode,
        },
        Column {
            title: format!("encode/{}", case.name),
            ns: encode,
        },
    ]
}

/// Prints `columns` as a markdown table after the line `marker`, a row per
/// codec in `codecs` order, with the ratio to the first row in brackets.
fn print_table(intro: &str, marker: &str, codecs: &[&str], mut columns: Vec<Column>) {
    // Decode columns first, then encode, each in case order.
    columns.sort_by_key(|c| !c.title.starts_with("decode"));
    println!();
    println!("{intro}");
    println!();
    println!("{marker}");
    let mut header = String::from("| codec |");
    let mut rule = String::from("|---|");
    for c in &columns {
        header += &format!(" {} |", c.title);
        rule += "---:|";
    }
    println!("{header}");
    println!("{rule}");
    for (i, codec) in codecs.iter().enumerate() {
        let mut row = format!("| {codec} |");
        for c in &columns {
            if i == 0 {
                row += &format!(" {:.1} |", c.ns[0]);
            } else {
                row += &format!(" {:.1} ({:.2}×) |", c.ns[i], c.ns[i] / c.ns[0]);
            }
        }
        println!("{row}");
    }
}

// ---------------------------------------------------------------------------

fn main() {
    let mut cases = [
        publish_case("publish_64B", 64, 256),
        publish_case("publish_4KiB", 4096, 64),
        mixed_case(16),
    ];
    let mut cases_v5 = [
        v5_publish_case("v5_publish_64B", false, 256),
        v5_publish_case("v5_publish_64B_2props", true, 256),
        v5_puback_case(256),
    ];
    for case in cases.iter_mut().chain(&mut cases_v5) {
        case.check();
    }

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();

    for case in cases.iter().chain(&cases_v5) {
        let mut group = c.benchmark_group(format!("decode/{}", case.name));
        group.throughput(Throughput::Elements(case.decode_n as u64));
        for codec in &case.codecs {
            let batch = BatchSize::NumIterations(codec.decode_batch() as u64);
            group.bench_function(codec.name, |b| {
                b.iter_batched_ref(|| codec.wire.clone(), codec.decode, batch)
            });
        }
        group.finish();
    }
    for case in cases.iter_mut().chain(&mut cases_v5) {
        let mut group = c.benchmark_group(format!("encode/{}", case.name));
        group.throughput(Throughput::Elements(case.encode_n as u64));
        for codec in &mut case.codecs {
            let enc = &mut codec.encoder;
            group.bench_function(codec.name, |b| b.iter(|| enc.run()));
        }
        group.finish();
    }
    c.final_summary();

    // `cargo bench` passes `--bench`; without it (or with criterion's
    // `--test`, `--list` or `--profile-time`) criterion did not measure, and
    // neither do we.
    let args: Vec<String> = std::env::args().collect();
    let measuring = args.iter().any(|a| a == "--bench")
        && !args
            .iter()
            .any(|a| a == "--test" || a == "--list" || a.starts_with("--profile-time"));
    if measuring {
        let columns = cases.iter_mut().flat_map(time_case).collect();
        print_table(
            &format!(
                "ns per packet (median of {TABLE_SAMPLES} interleaved samples); in brackets \
                 peer / mqtt-proto, above 1 means mqtt-proto is faster"
            ),
            "<!-- codec table -->",
            &CODECS,
            columns,
        );
        let columns = cases_v5.iter_mut().flat_map(time_case).collect();
        print_table(
            &format!(
                "MQTT 5.0, ns per packet (median of {TABLE_SAMPLES} interleaved samples); in \
                 brackets row / mqtt-proto at 5.0: above 1 means mqtt-proto at 5.0 is faster; \
                 the last row is the same message at 3.1.1 (no properties)"
            ),
            "<!-- codec v5 table -->",
            &CODECS_V5,
            columns,
        );
        let wire = incoming::checked_wire();
        incoming::print_table(&wire, incoming::DEFAULT_RUNS);
    }
}
