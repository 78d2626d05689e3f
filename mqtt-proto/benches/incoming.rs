//! Receiving a flood of QoS 2 messages: our `Connection` next to rumqttc's
//! `MqttState`, measured in the same run on the same bytes.
//!
//! The case: 65,535 QoS 2 PUBLISH packets (topic "bench/in", 32-byte
//! payload) with every packet id once, and no PUBREL, so every id stays
//! between PUBLISH and PUBREL until the end: the largest incoming QoS 2 state
//! a session can hold. Timed: the total to take all of them in and produce
//! all 65,535 PUBRECs, in two modes:
//!
//! - `manual`: the application acks each message right after its event, as
//!   the client driver does;
//! - `auto`: the state machine answers by itself.
//!
//! Both sides start from the same wire bytes, handed over in 64 KiB reads
//! (the client driver's largest read):
//!
//! - `mqtt-proto`: `Connection::handle_read` per read, then every event is
//!   polled (and its token acked in `manual`), then `poll_transmit`.
//! - `rumqttc` (0.25): per read, `Packet::read` until the buffer runs dry,
//!   each packet into `MqttState::handle_incoming_packet`; its events are
//!   drained, and in `manual` each publish is acked the way its client's
//!   `ack` reaches the state (`handle_outgoing_packet` with
//!   `Request::PubRec`); every packet to send is written into an output
//!   buffer that is cleared after each read, as a network flush would.
//!
//! Setup (CONNECT/CONNACK, building the state) is outside the timed part.
//! Before anything is timed each side is checked to send exactly one PUBREC
//! per id, in arrival order. Each run of a side starts from a fresh state;
//! the sides take turns run by run so a slow spell hits them alike, and the
//! median of the runs is kept. The table gives milliseconds and the ratio
//! rumqttc / `mqtt-proto` (above 1 means `mqtt-proto` is faster). Nothing
//! asserts on timings.
//!
//! Run it with
//!
//! ```text
//! cargo bench -p mqtt-proto --bench incoming
//! ```
//!
//! `-- --runs N` changes the number of runs per side (default 9). Under
//! `cargo test --benches` the checks run, but nothing is timed.
//!
//! The codec bench (`benches/codec.rs`) includes this file as a module and
//! ends its own run with this table, printed after the line
//! `<!-- incoming table -->`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use mqtt_proto::packet::{self as ours, ConnAck, ConnectReturnCode, Packet, Publish, QosPid};
use mqtt_proto::{Connection, Event, MqttString, Options, PacketId, TopicName};
use rumqttc::mqttbytes::v4 as rq;

const MESSAGES: u16 = u16::MAX;
const READ: usize = 64 * 1024;
const MAX_SIZE: usize = ours::MAX_PACKET_SIZE;

/// The broker's side: every PUBLISH, back to back.
fn wire() -> Vec<u8> {
    let mut b = BytesMut::new();
    for id in 1..=MESSAGES {
        let publish = Publish {
            dup: false,
            qos_pid: QosPid::ExactlyOnce(PacketId::new(id).expect("ids start at 1")),
            retain: false,
            topic: TopicName::try_from("bench/in").expect("valid topic"),
            payload: Bytes::from_static(&[0x5a; 32]),
        };
        publish.encode(&mut b).expect("encode");
    }
    b.to_vec()
}

/// One side, ready to be fed: `feed` takes the whole wire and returns how
/// many PUBREC bytes it produced; `sent` returns them for the check.
trait Side {
    fn feed(&mut self, wire: &[u8]) -> usize;
    fn sent(&mut self) -> Vec<u8>;
}

struct Ours {
    conn: Connection,
    manual: bool,
    keep: Option<Vec<u8>>,
}

impl Ours {
    fn new(manual: bool, keep: bool) -> Ours {
        let options =
            Options::new(MqttString::try_from("bench").expect("client id")).manual_acks(manual);
        let mut conn = Connection::new(options).expect("options");
        let now = mqtt_proto::Instant::ZERO;
        conn.connect(now);
        while conn.poll_transmit(now).is_some() {}
        let mut connack = BytesMut::new();
        Packet::ConnAck(ConnAck {
            session_present: false,
            code: ConnectReturnCode::Accepted,
        })
        .encode(&mut connack)
        .expect("encode");
        conn.handle_read(now, &connack);
        assert!(matches!(conn.poll_event(), Some(Event::Connected { .. })));
        Ours {
            conn,
            manual,
            keep: keep.then(Vec::new),
        }
    }
}

impl Side for Ours {
    fn feed(&mut self, wire: &[u8]) -> usize {
        let now = mqtt_proto::Instant::ZERO;
        let mut out = 0;
        for read in wire.chunks(READ) {
            self.conn.handle_read(now, read);
            while let Some(event) = self.conn.poll_event() {
                match event {
                    Event::Message {
                        ack: Some(token), ..
                    } if self.manual => {
                        self.conn.ack(token).expect("known token");
                    }
                    Event::Message { message, .. } => {
                        black_box(message);
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            while let Some(chunk) = self.conn.poll_transmit(now) {
                out += chunk.len();
                if let Some(keep) = &mut self.keep {
                    keep.extend_from_slice(&chunk);
                }
                black_box(chunk);
            }
        }
        out
    }

    fn sent(&mut self) -> Vec<u8> {
        self.keep.take().unwrap_or_default()
    }
}

struct Rumqttc {
    state: rumqttc::MqttState,
    manual: bool,
    keep: Option<Vec<u8>>,
}

impl Rumqttc {
    fn new(manual: bool, keep: bool) -> Rumqttc {
        Rumqttc {
            state: rumqttc::MqttState::new(100, manual),
            manual,
            keep: keep.then(Vec::new),
        }
    }
}

impl Side for Rumqttc {
    fn feed(&mut self, wire: &[u8]) -> usize {
        let mut rx = BytesMut::new();
        let mut tx = BytesMut::new();
        let mut out = 0;
        for read in wire.chunks(READ) {
            rx.extend_from_slice(read);
            loop {
                let packet = match rq::Packet::read(&mut rx, MAX_SIZE) {
                    Ok(packet) => packet,
                    Err(rumqttc::mqttbytes::Error::InsufficientBytes(_)) => break,
                    Err(e) => panic!("rumqttc decode: {e:?}"),
                };
                let reply = self.state.handle_incoming_packet(packet).expect("state");
                if let Some(reply) = reply {
                    reply.write(&mut tx, MAX_SIZE).expect("write");
                }
            }
            while let Some(event) = self.state.events.pop_front() {
                match event {
                    rumqttc::Event::Incoming(rq::Packet::Publish(p)) if self.manual => {
                        let ack = rumqttc::Request::PubRec(rq::PubRec::new(p.pkid));
                        let reply = self.state.handle_outgoing_packet(ack).expect("state");
                        if let Some(reply) = reply {
                            reply.write(&mut tx, MAX_SIZE).expect("write");
                        }
                    }
                    other => {
                        black_box(other);
                    }
                }
            }
            out += tx.len();
            if let Some(keep) = &mut self.keep {
                keep.extend_from_slice(&tx);
            }
            black_box(&tx);
            tx.clear();
        }
        out
    }

    fn sent(&mut self) -> Vec<u8> {
        self.keep.take().unwrap_or_default()
    }
}

type Make = fn(bool, bool) -> Box<dyn Side>;

const SIDES: [(&str, Make); 2] = [
    ("mqtt-proto", |manual, keep| {
        Box::new(Ours::new(manual, keep))
    }),
    ("rumqttc", |manual, keep| {
        Box::new(Rumqttc::new(manual, keep))
    }),
];

const MODES: [(&str, bool); 2] = [("manual", true), ("auto", false)];

/// Exactly one PUBREC per id, in arrival order.
fn check(name: &str, mode: &str, make: Make, manual: bool, wire: &[u8]) {
    let mut side = make(manual, true);
    let n = side.feed(wire);
    let mut sent = BytesMut::from(&side.sent()[..]);
    assert_eq!(n, sent.len(), "{name} {mode}: byte count");
    let mut expected = 1u16;
    while let Some(p) = ours::decode(&mut sent, MAX_SIZE).expect("decodable") {
        match p {
            Packet::PubRec(r) if r.pid.get() == expected => {
                expected = expected.wrapping_add(1);
            }
            other => panic!("{name} {mode}: {other:?} where PUBREC {expected} was due"),
        }
    }
    assert!(sent.is_empty(), "{name} {mode}: partial packet");
    assert_eq!(expected, 0, "{name} {mode}: not every PUBREC was sent");
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs per side and mode when `--runs` does not say.
pub const DEFAULT_RUNS: usize = 9;

/// The case's wire bytes, once every side has been checked on them in every
/// mode.
pub fn checked_wire() -> Vec<u8> {
    let wire = wire();
    for (mode, manual) in MODES {
        for (name, make) in SIDES {
            check(name, mode, make, manual, &wire);
        }
    }
    wire
}

/// Times every side in every mode, `runs` times each, and prints what was
/// timed, the line `<!-- incoming table -->` and the table (milliseconds,
/// and rumqttc / `mqtt-proto`). The codec bench calls this too, so that
/// its run ends with this table after its own.
pub fn print_table(wire: &[u8], runs: usize) {
    let runs = runs.max(1);
    let mut rows = Vec::new();
    for (mode, manual) in MODES {
        let mut times: [Vec<Duration>; 2] = Default::default();
        for _ in 0..runs {
            for ((_, make), t) in SIDES.iter().zip(&mut times) {
                let mut side = make(manual, false);
                let start = Instant::now();
                black_box(side.feed(black_box(wire)));
                t.push(start.elapsed());
                drop(side);
            }
        }
        let [ours, theirs] = times.map(median);
        rows.push(format!(
            "| {mode:<6} | {:>15.1} | {:>12.1} | {:>20.3} |",
            ours.as_secs_f64() * 1e3,
            theirs.as_secs_f64() * 1e3,
            theirs.as_secs_f64() / ours.as_secs_f64()
        ));
    }
    println!(
        "\n{MESSAGES} incoming QoS 2 PUBLISH, no PUBREL, {} KiB reads; median of {runs} runs; \
         rumqttc / mqtt-proto above 1 means mqtt-proto is faster\n",
        READ / 1024
    );
    println!("<!-- incoming table -->");
    println!("| mode   | mqtt-proto (ms) | rumqttc (ms) | rumqttc / mqtt-proto |");
    println!("|--------|----------------:|-------------:|---------------------:|");
    for row in rows {
        println!("{row}");
    }
}

fn main() {
    let wire = checked_wire();
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_RUNS);
    print_table(&wire, runs);
}
