//! Encode and decode speed of the `mqtt-proto` codec next to three peer
//! MQTT 3.1.1 codecs, measured in the same run on the same bytes.
//!
//! Cases, each decoded and encoded by every codec:
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
//! Groups are named `decode/<case>` and `encode/<case>`, with one function
//! per codec and a throughput in packets. After criterion, the bench times
//! every routine once more itself with `Instant` (a warm-up fixes the
//! iteration count so that one sample lasts about 5 ms; the four codecs of a
//! column take turns sample by sample, so that a slow spell of the machine
//! hits them alike; the median of 25 samples is kept) and prints a markdown
//! table of ns per packet with the ratio peer / `mqtt-proto` (above 1 means
//! `mqtt-proto` is faster), after the line `<!-- codec table -->`.
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
use mqtt_proto::packet::{
    self as ours, ConnAck, Connect, ConnectReturnCode, LastWill, Login, Packet, Protocol, PubAck,
    PubComp, PubRec, PubRel, Publish, QosPid, SubAck, Subscribe, SubscribeReturnCode, UnsubAck,
    Unsubscribe,
};
use mqtt_proto::{MqttString, PacketId, QoS, TopicFilter, TopicName};
use rumqttc::mqttbytes::{self as rqb, v4 as rq};

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
/// 2.2.1 and, for PUBLISH, the payload length (0 for the others).
type Sig = (u8, usize);

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
    (packet.packet_type() as u8, payload)
}

fn sig_rumqttc(packet: &rq::Packet) -> Sig {
    match packet {
        rq::Packet::Connect(_) => (1, 0),
        rq::Packet::ConnAck(_) => (2, 0),
        rq::Packet::Publish(p) => (3, p.payload.len()),
        rq::Packet::PubAck(_) => (4, 0),
        rq::Packet::PubRec(_) => (5, 0),
        rq::Packet::PubRel(_) => (6, 0),
        rq::Packet::PubComp(_) => (7, 0),
        rq::Packet::Subscribe(_) => (8, 0),
        rq::Packet::SubAck(_) => (9, 0),
        rq::Packet::Unsubscribe(_) => (10, 0),
        rq::Packet::UnsubAck(_) => (11, 0),
        rq::Packet::PingReq => (12, 0),
        rq::Packet::PingResp => (13, 0),
        rq::Packet::Disconnect => (14, 0),
    }
}

fn sig_mqttrs(packet: &mqttrs::Packet) -> Sig {
    use mqttrs::Packet as P;
    match packet {
        P::Connect(_) => (1, 0),
        P::Connack(_) => (2, 0),
        P::Publish(p) => (3, p.payload.len()),
        P::Puback(_) => (4, 0),
        P::Pubrec(_) => (5, 0),
        P::Pubrel(_) => (6, 0),
        P::Pubcomp(_) => (7, 0),
        P::Subscribe(_) => (8, 0),
        P::Suback(_) => (9, 0),
        P::Unsubscribe(_) => (10, 0),
        P::Unsuback(_) => (11, 0),
        P::Pingreq => (12, 0),
        P::Pingresp => (13, 0),
        P::Disconnect => (14, 0),
    }
}

fn sig_mqtt_protocol(packet: &VariablePacket) -> Sig {
    let payload = match packet {
        VariablePacket::PublishPacket(p) => p.payload().len(),
        _ => 0,
    };
    (packet.fixed_header().packet_type.to_u8() >> 4, payload)
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

struct Case {
    name: &'static str,
    /// Packets per decode iteration.
    decode_n: usize,
    /// The decode input: the case's packets as our encoder writes them,
    /// back to back.
    wire: BytesMut,
    /// What decoding `wire` must yield.
    expected: Vec<Sig>,
    /// Packets per encode iteration.
    encode_n: usize,
    /// Bytes per encode iteration: they must equal the start of `wire`.
    encode_len: usize,
    /// Encoders in [`CODECS`] order.
    encoders: Vec<Box<dyn EncodeRun>>,
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
        wire,
        expected,
        encode_n: n,
        encode_len: len,
        encoders,
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
        wire,
        expected,
        encode_n,
        encode_len: len,
        encoders,
    }
}

impl Case {
    /// Decode inputs per timed batch.
    fn decode_batch(&self) -> usize {
        (BATCH_BYTES / self.wire.len()).max(1)
    }

    /// Fails unless every codec decodes `wire` to the expected packets and
    /// encodes its packets to exactly our bytes.
    fn check(&mut self) {
        let name = self.name;
        for (codec, (decode, sigs)) in CODECS.iter().zip(decoders()) {
            let mut buf = self.wire.clone();
            let got = sigs(&mut buf);
            let n = self.decode_n;
            assert_eq!(got.len(), n, "{codec} {name}: decoded packet count");
            assert!(
                got == self.expected,
                "{codec} {name}: decoded other packets"
            );
            assert!(buf.is_empty(), "{codec} {name}: {} bytes left", buf.len());
            let count = decode(&mut self.wire.clone());
            assert_eq!(count, n, "{codec} {name}: timed loop's packet count");
        }
        let want = &self.wire[..self.encode_len];
        for (codec, enc) in CODECS.iter().zip(&mut self.encoders) {
            let len = enc.run();
            assert_eq!(len, want.len(), "{codec} {name}: encoded length");
            let got = enc.output();
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
/// codec in [`CODECS`] order.
struct Column {
    title: String,
    ns: Vec<f64>,
}

fn time_case(case: &mut Case) -> [Column; 2] {
    let batch = case.decode_batch();
    let wire = &case.wire;
    let decode = decoders()
        .into_iter()
        .map(|(decode, _)| sampler(case.decode_n, batch, || wire.clone(), decode))
        .collect();
    let decode = interleaved_medians(decode);
    let encode = case
        .encoders
        .iter_mut()
        .map(|enc| sampler(case.encode_n, ENCODE_BATCH, || (), |_| enc.run()))
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

fn print_table(mut columns: Vec<Column>) {
    // Decode columns first, then encode, each in case order.
    columns.sort_by_key(|c| !c.title.starts_with("decode"));
    println!();
    println!(
        "ns per packet (median of {TABLE_SAMPLES} interleaved samples); in brackets \
         peer / mqtt-proto, above 1 means mqtt-proto is faster"
    );
    println!();
    println!("<!-- codec table -->");
    let mut header = String::from("| codec |");
    let mut rule = String::from("|---|");
    for c in &columns {
        header += &format!(" {} |", c.title);
        rule += "---:|";
    }
    println!("{header}");
    println!("{rule}");
    for (i, codec) in CODECS.iter().enumerate() {
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
    let mut cases = vec![
        publish_case("publish_64B", 64, 256),
        publish_case("publish_4KiB", 4096, 64),
        mixed_case(16),
    ];
    for case in &mut cases {
        case.check();
    }

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();

    for case in &cases {
        let mut group = c.benchmark_group(format!("decode/{}", case.name));
        group.throughput(Throughput::Elements(case.decode_n as u64));
        let batch = BatchSize::NumIterations(case.decode_batch() as u64);
        for (codec, (decode, _)) in CODECS.iter().zip(decoders()) {
            group.bench_function(*codec, |b| {
                b.iter_batched_ref(|| case.wire.clone(), decode, batch)
            });
        }
        group.finish();
    }
    for case in &mut cases {
        let mut group = c.benchmark_group(format!("encode/{}", case.name));
        group.throughput(Throughput::Elements(case.encode_n as u64));
        for (codec, enc) in CODECS.iter().zip(&mut case.encoders) {
            group.bench_function(*codec, |b| b.iter(|| enc.run()));
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
        print_table(columns);
        let wire = incoming::checked_wire();
        incoming::print_table(&wire, incoming::DEFAULT_RUNS);
    }
}
