//! The whole `Connection` driven by a script: broker bytes (raw, or
//! well-formed server packets built from arbitrary fields, split anywhere),
//! a monotonic clock with small and huge jumps, transports opening and
//! closing, and application commands, with small limits so that every limit
//! is hit. After every step everything is drained, as a real driver would.
//!
//! Besides "no panic", a model built only from what the connection hands out
//! (`poll_transmit` bytes, `poll_event` events, command results) and from
//! what the script fed it checks:
//!
//! - outgoing packet identifiers: an id in use by an in-flight QoS 1/2
//!   PUBLISH or a pending SUBSCRIBE/UNSUBSCRIBE is never given to anything
//!   else; a message keeps its id while in flight, is resent only with DUP 1
//!   and once per transport, and never after its PUBREL;
//! - incoming QoS 2: a message is delivered at most once between its first
//!   arrival and the PUBREL the script sent for it; every delivered message
//!   is the PUBLISH just read; acks sent never outnumber the packets that ask
//!   for them, and in automatic-ack mode none stays owed;
//! - bounded memory: the queue, inflight window and pending requests stay
//!   within their limits, every packet id in use belongs to one of them,
//!   the incoming QoS 2 state holds at most one entry per id received and
//!   the owed acks at most one per PUBLISH read, and the bytes and events
//!   handed out per step are bounded by the limits and the bytes fed in;
//! - driver contract: commands report errors consistently with `can_publish`
//!   and the limits, `QueueReady` answers a `QueueFull`, an early
//!   `handle_timeout` is a no-op, a due one moves the deadline on, and
//!   nothing is transmitted outside a transport or after DISCONNECT;
//! - session policy (options sometimes carry a `ReconnectOptions` for 1-3
//!   servers, each of which the harness opens, fails or answers by itself
//!   on `OpenTransport`, or leaves to the script): a policy decision
//!   (`OpenTransport`, `ReconnectScheduled`, `GaveUp`) follows every loss
//!   but a requested close (after which nothing of that connection counts
//!   for a later round), and only then (or on `start` or a due reconnect
//!   timer); a failed attempt moves to the next server at once until the
//!   round is over; a lost connection or a failed round waits a backoff
//!   within `[ceiling/2, ceiling]`, the ceiling doubling (up to the
//!   maximum) unless the connection that ended proved healthy (an answer
//!   to a request, or up a keep-alive period), and the reconnect timer is
//!   what `poll_timeout` says; only final refusals (or a first round failed
//!   with `give_up_if_never_connected`) give up; an idle policy is never
//!   left without a timer;
//! - live subscriptions: `subscriptions()` is what was subscribed, less
//!   what was unsubscribed or refused (unless a later SUBSCRIBE for it is
//!   pending); after CONNACK with session present 0 the core subscribes
//!   again, by itself, to exactly the live filters no pending SUBSCRIBE
//!   carries, each once, and their SUBACKs come out as `Resubscribed`;
//! - lost session: `SessionLost` comes right after `Connected` exactly when
//!   a persistent session had connected before or a message handed out was
//!   in flight; it names every such message, PUBREC'd ones included (QoS 2
//!   ones as `failed` under `SessionLostPolicy::Fail`, never sent or
//!   completed again);
//! - graceful close: while closing, commands fail with `Closing`; DISCONNECT
//!   goes out as soon as nothing is in flight or queued, and no later than
//!   the drain deadline.
#![no_main]

use arbitrary::Arbitrary;
use bytes::{Bytes, BytesMut};
use core::time::Duration;
use libfuzzer_sys::fuzz_target;
use mqtt_proto::packet::{
    self, ConnAck, ConnectReturnCode, Packet, PubAck, PubComp, PubRec, PubRel, Publish, QosPid,
    SubAck, SubscribeReturnCode, UnsubAck,
};
use mqtt_proto::{
    is_final_refusal, AckToken, Connection, DisconnectReason, Event, Instant, Message, MqttString,
    Options, PacketId, PublishError, QoS, ReconnectOptions, SessionLostPolicy, State,
    SubscribeError, SubscribeOutcome, TopicFilter, TopicName,
};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Arbitrary, Debug)]
struct Input {
    config: Config,
    steps: Vec<Step>,
}

/// Options, mapped into small ranges so the limits are reached within a
/// few steps.
#[derive(Arbitrary, Debug)]
struct Config {
    manual_acks: bool,
    clean_session: bool,
    v31: bool,
    keep_alive_secs: u8,
    ping_timeout_ms: Option<u16>,
    connect_timeout_ms: u16,
    max_inflight: u8,
    max_queued: u8,
    max_pending_requests: u8,
    max_packet_size: u16,
    reconnect: Option<Policy>,
    no_resubscribe: bool,
    fail_lost_qos2: bool,
}

/// A reconnect policy and how each server behaves when the core asks for a
/// transport to it.
#[derive(Arbitrary, Debug, Clone)]
struct Policy {
    servers: u8,
    backoff_min_ms: u16,
    backoff_max_factor: u8,
    seed: u64,
    give_up_if_never_connected: bool,
    behave: [Reachable; 3],
}

impl Policy {
    fn servers(&self) -> usize {
        1 + usize::from(self.servers % 3)
    }

    /// Never zero: a zero backoff with a zero connect timeout would retry
    /// in a tight loop, as configured.
    fn backoff_min(&self) -> Duration {
        Duration::from_millis(1 + u64::from(self.backoff_min_ms % 2_000))
    }

    fn backoff_max(&self) -> Duration {
        self.backoff_min() * (1 + u32::from(self.backoff_max_factor % 64))
    }
}

/// What happens when the core asks for a transport to a server.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Reachable {
    /// Left to the script (`Open`, `Close`, or the deadline passing).
    Script,
    /// It cannot be opened: `handle_closed`.
    Unreachable,
    /// It opens (`connect`); the broker then says nothing by itself.
    Opens,
    /// It opens and the broker answers CONNACK with this code (`% 6`).
    Answers { session_present: bool, code: u8 },
}

impl Config {
    fn options(&self) -> Options {
        let mut o = Options::new(MqttString::try_from("fuzz").unwrap())
            .clean_session(self.clean_session)
            .keep_alive(Duration::from_secs(u64::from(self.keep_alive_secs % 4)))
            .connect_timeout(Duration::from_millis(u64::from(self.connect_timeout_ms)))
            .max_inflight(1 + usize::from(self.max_inflight % 8))
            .max_queued(usize::from(self.max_queued % 9))
            .max_pending_requests(usize::from(self.max_pending_requests % 5))
            .max_packet_size(16 + usize::from(self.max_packet_size % 512))
            .manual_acks(self.manual_acks);
        if let Some(ms) = self.ping_timeout_ms {
            o = o.ping_timeout(Duration::from_millis(u64::from(ms)));
        }
        if self.v31 {
            o = o.protocol(packet::Protocol::V31);
        }
        if let Some(p) = &self.reconnect {
            o = o.reconnect(
                ReconnectOptions::new(p.servers())
                    .backoff(p.backoff_min(), p.backoff_max())
                    .seed(p.seed)
                    .give_up_if_never_connected(p.give_up_if_never_connected),
            );
        }
        if self.fail_lost_qos2 {
            o = o.session_lost(SessionLostPolicy::Fail);
        }
        o.resubscribe(!self.no_resubscribe)
    }
}

#[derive(Arbitrary, Debug)]
enum Step {
    /// A transport opened: `connect`.
    Open,
    /// `connect`, then a CONNACK accepting it in the same step: the common
    /// way in, made one step so the fuzzer spends its bytes past it.
    OpenAccepted {
        session_present: bool,
    },
    /// The transport ended: `handle_closed`.
    Close,
    /// Well-formed server packets in one write, delivered in reads split at
    /// `split` (and at packet boundaries).
    Broker {
        packets: Vec<Server>,
        split: Option<u16>,
    },
    /// Arbitrary bytes from the broker.
    Raw {
        bytes: Vec<u8>,
        split: Option<u16>,
    },
    /// The clock moves on; with `fire`, the driver then handles a deadline
    /// that has passed.
    Advance {
        jump: Jump,
        fire: bool,
    },
    /// The driver wakes at `poll_timeout` (plus `late_ms`).
    Deadline {
        late_ms: u16,
    },
    /// `handle_timeout` now, whether or not anything is due.
    Spurious,
    Publish {
        topic: Topic,
        filler: u16,
        qos: u8,
        retain: bool,
    },
    Subscribe {
        filters: Vec<(Filter, u8)>,
    },
    Unsubscribe {
        filters: Vec<Filter>,
    },
    /// Acks the n-th token seen (used or not).
    Ack(u8),
    /// `disconnect`, draining for up to `drain_ms` (none: zero).
    Disconnect {
        drain_ms: Option<u16>,
    },
    /// `start`: the policy's first round (or one `OpenTransport` without a
    /// policy).
    Start,
    /// Several commands before the loop drains anything, as an
    /// application may make them (a publish, then `disconnect`).
    Batch(Vec<Command>),
}

#[derive(Arbitrary, Debug)]
enum Command {
    Publish {
        topic: Topic,
        filler: u16,
        qos: u8,
        retain: bool,
    },
    Subscribe {
        filters: Vec<(Filter, u8)>,
    },
    Unsubscribe {
        filters: Vec<Filter>,
    },
    Ack(u8),
    Disconnect {
        drain_ms: Option<u16>,
    },
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Jump {
    Millis(u16),
    Secs(u16),
    /// Nanoseconds; saturates at the end of time.
    Huge(u64),
}

#[derive(Arbitrary, Debug)]
enum Topic {
    A,
    AB,
    Dollar,
    /// May be invalid; then the command is not made.
    Any(String),
}

impl Topic {
    fn name(&self) -> &str {
        match self {
            Topic::A => "a",
            Topic::AB => "a/b",
            Topic::Dollar => "$SYS/x",
            Topic::Any(s) => s,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Filter {
    Hash,
    APlus,
    AB,
    Any(String),
}

impl Filter {
    fn parse(&self) -> Option<TopicFilter> {
        TopicFilter::try_from(match self {
            Filter::Hash => "#",
            Filter::APlus => "a/+",
            Filter::AB => "a/b",
            Filter::Any(s) => s,
        })
        .ok()
    }
}

/// Where a packet identifier in a server packet comes from: any value, one
/// of ours in use (to answer our exchanges), or one the broker used lately
/// (to redeliver or release).
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Pid {
    Raw(u16),
    Ours(u8),
    Recent(u8),
}

#[derive(Arbitrary, Debug)]
enum Server {
    ConnAck {
        session_present: bool,
        code: u8,
    },
    Publish {
        dup: bool,
        qos: u8,
        pid: Pid,
        retain: bool,
        topic: Topic,
        payload: Vec<u8>,
    },
    PubAck(Pid),
    PubRec(Pid),
    PubRel(Pid),
    PubComp(Pid),
    /// `codes: None` answers with as many codes as the request has filters.
    SubAck {
        pid: Pid,
        codes: Option<Vec<u8>>,
        seed: u8,
    },
    UnsubAck(Pid),
    PingResp,
    /// SUBACK or UNSUBACK for every request sent on this transport, as a
    /// broker that keeps up would (SUBACK codes drawn from `seed`): the way
    /// to the core's own resubscriptions and their answers.
    AnswerRequests {
        seed: u8,
    },
}

fn qos(v: u8) -> QoS {
    QoS::from_u8(v % 3).unwrap()
}

fn return_code(v: u8) -> SubscribeReturnCode {
    match v % 4 {
        3 => SubscribeReturnCode::Failure,
        q => SubscribeReturnCode::Success(qos(q)),
    }
}

/// An outgoing QoS 1/2 PUBLISH the broker has seen and whose completion the
/// connection has not reported.
#[derive(Debug)]
struct OutPub {
    tag: u32,
    pubrel_sent: bool,
    /// The transport it was last sent on.
    transport: u64,
}

#[derive(Debug)]
struct PubInfo {
    qos: QoS,
    /// The step in which `Published` was reported.
    done: Option<usize>,
    transmitted: bool,
    /// Given up when the broker lost the session (`SessionLostPolicy::Fail`).
    failed: bool,
}

#[derive(Debug)]
struct Req {
    subscribe: bool,
    /// The filters, in order, with the QoS asked for (unsubscribe: QoS 0).
    filters: Vec<(String, QoS)>,
    /// One of the core's own resubscriptions.
    own: bool,
    /// The transport it was last sent on.
    transport: Option<u64>,
}

/// What the client owes an ack for, keyed by (1 = QoS 1 PUBLISH, 2 = QoS 2
/// PUBLISH, 3 = PUBREL, packet id).
type OwedKey = (u8, u16);

struct Harness {
    conn: Connection,
    now: Instant,
    manual: bool,
    clean_session: bool,
    keep_alive: bool,
    max_inflight: usize,
    max_queued: usize,
    max_pending: usize,
    max_packet_size: usize,
    step: usize,

    // Transport as the model sees it.
    transport: u64,
    transport_open: bool,
    sent_on_transport: usize,
    disconnect_sent: bool,

    // Outgoing.
    next_tag: u32,
    pubs: BTreeMap<u32, PubInfo>,
    tag_of: BTreeMap<u64, u32>,
    out_pub: BTreeMap<u16, OutPub>,
    pid_of_tag: BTreeMap<u32, u16>,
    reqs: BTreeMap<u16, Req>,
    /// Ids freed in this step: their packets may still sit, encoded before
    /// the ack arrived, in this step's transmit chunk.
    freed_this_step: BTreeSet<u16>,
    /// Ids the script sent PUBREC for while no PUBLISH with that id had been
    /// handed out. The script can answer a PUBLISH still in the transmit
    /// buffer (a broker cannot, but the connection cannot tell), and a
    /// released message is resent as PUBREL only: that PUBREL is the first
    /// the model sees of it.
    pubrec_unseen: BTreeSet<u16>,
    queue_full_outstanding: bool,

    // Incoming.
    /// Mirrors the connection's receive buffer: decodes exactly what the
    /// connection decodes, so the model knows every packet it acted on.
    shadow: BytesMut,
    /// The packet completed by the read being processed.
    last_packet: Option<Packet>,
    in_read: bool,
    delivered_qos2: BTreeSet<u16>,
    owed: BTreeMap<OwedKey, u32>,
    /// QoS 1/2 PUBLISHes read on this transport.
    incoming_arrivals: usize,
    /// Distinct QoS 2 ids read since the session last started afresh.
    qos2_ids_session: BTreeSet<u16>,
    recent_incoming: Vec<u16>,
    tokens: Vec<AckToken>,
    acked_tokens: BTreeSet<AckToken>,

    // Per-step totals, for the runaway bounds.
    bytes_out: usize,
    events_out: usize,
    bytes_in: usize,
    commands: usize,

    // Session policy.
    policy: Option<Policy>,
    keep_alive_period: Option<Duration>,
    /// `OpenTransport` came; neither `connect` nor its `Disconnected` yet.
    attempt: bool,
    /// The server the last `OpenTransport` asked for, until answered.
    open_requested: Option<usize>,
    /// `open` is replacing a transport: its `Disconnected` has no policy.
    replacing: bool,
    /// In a `Start` step.
    starting: bool,
    /// In a `Disconnect` step made while disconnected.
    idle_disconnect: bool,
    /// A `Disconnected` whose policy decision must come next.
    awaiting_policy: Option<DisconnectReason>,
    /// The policy has nothing to do: a requested close or `GaveUp` (until
    /// the next `Start` or `Open`).
    idle: bool,
    /// `Start` or `Open` happened at least once.
    engaged: bool,
    /// The reconnect timer, as `ReconnectScheduled` set it.
    reconnect_at: Option<Instant>,
    /// A CONNACK accepted some connection.
    ever_connected: bool,
    // The policy's state, as the events tell it.
    m_server: usize,
    m_tried: usize,
    m_connected_at: Option<Instant>,
    m_healthy: bool,
    m_backoff_attempts: u32,

    // Graceful close.
    closing: bool,
    close_deadline: Option<Instant>,

    // Subscriptions and the lost session.
    resubscribe: bool,
    fail_lost_qos2: bool,
    /// Subscribed, not unsubscribed or refused: what `subscriptions()` must
    /// say.
    live: BTreeMap<String, QoS>,
    /// Filters of the core's own resubscriptions, made at a CONNACK and
    /// not yet seen on the wire.
    own_unseen: BTreeMap<String, QoS>,
    /// After `Connected { session_present: false }`: what `SessionLost`
    /// must say, if anything.
    expect_loss: Option<Loss>,
}

/// What a lost session must report.
#[derive(Debug)]
struct Loss {
    /// Messages handed out and not completed (tag, QoS), in publish order.
    lost: Vec<(u32, QoS)>,
    /// Whether `SessionLost` must come at all.
    must: bool,
    /// The script PUBREC'd a PUBLISH the model never saw (still in the
    /// transmit buffer): that message is released without having left,
    /// and may be named as resent too.
    released_unseen: bool,
}

/// The backoff's n-th ceiling, as `Backoff` computes it.
fn ceiling(min: Duration, max: Duration, attempt: u32) -> Duration {
    let max = max.max(min);
    min.checked_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX))
        .unwrap_or(max)
        .min(max)
}

impl Harness {
    fn new(config: &Config) -> Self {
        let conn = Connection::new(config.options()).expect("the options are valid");
        let o = conn.options().clone();
        Harness {
            manual: o.manual_acks,
            clean_session: o.clean_session,
            keep_alive: !o.keep_alive.is_zero(),
            max_inflight: o.max_inflight,
            max_queued: o.max_queued,
            max_pending: o.max_pending_requests,
            max_packet_size: o.max_packet_size,
            conn,
            now: Instant::ZERO,
            step: 0,
            transport: 0,
            transport_open: false,
            sent_on_transport: 0,
            disconnect_sent: false,
            next_tag: 0,
            pubs: BTreeMap::new(),
            tag_of: BTreeMap::new(),
            out_pub: BTreeMap::new(),
            pid_of_tag: BTreeMap::new(),
            reqs: BTreeMap::new(),
            freed_this_step: BTreeSet::new(),
            pubrec_unseen: BTreeSet::new(),
            queue_full_outstanding: false,
            shadow: BytesMut::new(),
            last_packet: None,
            in_read: false,
            delivered_qos2: BTreeSet::new(),
            owed: BTreeMap::new(),
            incoming_arrivals: 0,
            qos2_ids_session: BTreeSet::new(),
            recent_incoming: Vec::new(),
            tokens: Vec::new(),
            acked_tokens: BTreeSet::new(),
            bytes_out: 0,
            events_out: 0,
            bytes_in: 0,
            commands: 0,
            policy: config.reconnect.clone(),
            keep_alive_period: match o.keep_alive.as_secs() {
                0 => None,
                s => Some(Duration::from_secs(s)),
            },
            attempt: false,
            open_requested: None,
            replacing: false,
            starting: false,
            idle_disconnect: false,
            awaiting_policy: None,
            idle: false,
            engaged: false,
            reconnect_at: None,
            ever_connected: false,
            m_server: 0,
            m_tried: 0,
            m_connected_at: None,
            m_healthy: false,
            m_backoff_attempts: 0,
            closing: false,
            close_deadline: None,
            resubscribe: o.resubscribe,
            fail_lost_qos2: o.session_lost == SessionLostPolicy::Fail,
            live: BTreeMap::new(),
            own_unseen: BTreeMap::new(),
            expect_loss: None,
        }
    }

    fn servers(&self) -> usize {
        self.policy.as_ref().map_or(1, Policy::servers)
    }

    fn reading(&self) -> bool {
        matches!(self.conn.state(), State::Connecting | State::Connected)
    }

    fn pid(&self, pid: Pid) -> PacketId {
        let pick = |ids: Vec<u16>, i: u8| {
            if ids.is_empty() {
                1
            } else {
                ids[usize::from(i) % ids.len()]
            }
        };
        let v = match pid {
            Pid::Raw(v) => v,
            Pid::Ours(i) => pick(
                self.out_pub
                    .keys()
                    .chain(self.reqs.keys())
                    .copied()
                    .collect(),
                i,
            ),
            Pid::Recent(i) => pick(self.recent_incoming.clone(), i),
        };
        PacketId::new(v).unwrap_or(PacketId::new(1).unwrap())
    }

    fn server_packet(&self, s: &Server) -> Packet {
        match s {
            Server::ConnAck {
                session_present,
                code,
            } => Packet::ConnAck(ConnAck {
                session_present: *session_present,
                code: ConnectReturnCode::from_u8(code % 6).unwrap(),
            }),
            Server::Publish {
                dup,
                qos: q,
                pid,
                retain,
                topic,
                payload,
            } => {
                let id = self.pid(*pid);
                Packet::Publish(Publish {
                    dup: *dup,
                    qos_pid: match q % 3 {
                        0 => QosPid::AtMostOnce,
                        1 => QosPid::AtLeastOnce(id),
                        _ => QosPid::ExactlyOnce(id),
                    },
                    retain: *retain,
                    topic: TopicName::try_from(topic.name())
                        .unwrap_or_else(|_| TopicName::try_from("a").unwrap()),
                    payload: Bytes::copy_from_slice(payload),
                })
            }
            Server::PubAck(p) => Packet::PubAck(PubAck::new(self.pid(*p))),
            Server::PubRec(p) => Packet::PubRec(PubRec::new(self.pid(*p))),
            Server::PubRel(p) => Packet::PubRel(PubRel::new(self.pid(*p))),
            Server::PubComp(p) => Packet::PubComp(PubComp::new(self.pid(*p))),
            Server::SubAck { pid, codes, seed } => {
                let id = self.pid(*pid);
                let return_codes = match codes {
                    Some(codes) => codes.iter().map(|c| return_code(*c)).collect(),
                    None => {
                        let n = self.reqs.get(&id.get()).map_or(1, |r| r.filters.len());
                        (0..n)
                            .map(|i| return_code(seed.wrapping_add(i as u8)))
                            .collect()
                    }
                };
                Packet::SubAck(SubAck {
                    pid: id,
                    return_codes,
                })
            }
            Server::UnsubAck(p) => Packet::UnsubAck(UnsubAck::new(self.pid(*p))),
            Server::PingResp => Packet::PingResp,
            // Expanded by the `Broker` step (see `answers`), never here.
            Server::AnswerRequests { .. } => Packet::PingResp,
        }
    }

    /// SUBACK or UNSUBACK for each request sent on the current transport.
    fn answers(&self, seed: u8) -> Vec<Packet> {
        self.reqs
            .iter()
            .filter(|(_, r)| r.transport == Some(self.transport))
            .map(|(&p, r)| {
                let pid = PacketId::new(p).unwrap_or(PacketId::new(1).unwrap());
                if r.subscribe {
                    let return_codes = (0..r.filters.len())
                        .map(|i| return_code(seed.wrapping_add(p as u8).wrapping_add(i as u8)))
                        .collect();
                    Packet::SubAck(SubAck { pid, return_codes })
                } else {
                    Packet::UnsubAck(UnsubAck::new(pid))
                }
            })
            .collect()
    }

    // ---- steps ----------------------------------------------------------

    fn run_step(&mut self, step: &Step) {
        self.bytes_out = 0;
        self.events_out = 0;
        self.bytes_in = 0;
        self.commands = 0;
        self.freed_this_step.clear();
        let pending_before = self.conn.incoming_state().1;
        match step {
            Step::Open => self.open(),
            Step::OpenAccepted { session_present } => {
                self.open();
                self.drain();
                let mut wire = BytesMut::new();
                let connack = ConnAck {
                    session_present: *session_present,
                    code: ConnectReturnCode::Accepted,
                };
                connack.encode(&mut wire).unwrap();
                self.feed(&wire, None);
            }
            Step::Close => self.conn.handle_closed(self.now),
            Step::Broker { packets, split } => {
                let mut wire = BytesMut::new();
                for s in packets {
                    if let Server::AnswerRequests { seed } = s {
                        for p in self.answers(*seed) {
                            let _ = p.encode(&mut wire);
                        }
                        continue;
                    }
                    let p = self.server_packet(s);
                    // SUBACK with no codes does not encode; skip it.
                    let _ = p.encode(&mut wire);
                }
                self.feed(&wire, *split);
            }
            Step::Raw { bytes, split } => self.feed(bytes, *split),
            Step::Advance { jump, fire } => {
                let then = self.now
                    + match *jump {
                        Jump::Millis(ms) => Duration::from_millis(u64::from(ms)),
                        Jump::Secs(s) => Duration::from_secs(u64::from(s)),
                        Jump::Huge(n) => Duration::from_nanos(n),
                    };
                self.now = if self.policy.is_some() {
                    // At the end of time every deadline is due at once, and
                    // a policy retries for ever: stay clear of it (without
                    // going back).
                    then.min(Instant::from_nanos(1 << 62)).max(self.now)
                } else {
                    then
                };
                if *fire {
                    self.fire_due();
                }
            }
            Step::Deadline { late_ms } => {
                if let Some(at) = self.conn.poll_timeout() {
                    self.now = self
                        .now
                        .max(at + Duration::from_millis(u64::from(*late_ms)));
                    self.fire_due();
                }
            }
            Step::Spurious => {
                let due = self.conn.poll_timeout().is_some_and(|t| t <= self.now);
                let state = self.conn.state();
                let deadline = self.conn.poll_timeout();
                self.conn.handle_timeout(self.now);
                if !due {
                    assert_eq!(self.conn.state(), state, "early handle_timeout acted");
                    assert_eq!(self.conn.poll_timeout(), deadline, "early handle_timeout");
                    assert!(self.conn.poll_event().is_none(), "early handle_timeout");
                    assert!(
                        self.conn.poll_transmit(self.now).is_none(),
                        "early handle_timeout"
                    );
                }
            }
            Step::Publish {
                topic,
                filler,
                qos: q,
                retain,
            } => self.publish(topic, *filler, qos(*q), *retain),
            Step::Subscribe { filters } => self.subscribe(filters),
            Step::Unsubscribe { filters } => self.unsubscribe(filters),
            Step::Ack(i) => self.ack(*i),
            Step::Disconnect { drain_ms } => self.disconnect(*drain_ms),
            Step::Start => {
                if self.conn.state() == State::Disconnected {
                    // A new round: the reconnect timer, if any, is replaced.
                    self.starting = true;
                    self.reconnect_at = None;
                    self.idle = false;
                }
                self.engaged = true;
                self.conn.start(self.now);
            }
            Step::Batch(commands) => {
                for c in commands.iter().take(16) {
                    self.commands += 1;
                    match c {
                        Command::Publish {
                            topic,
                            filler,
                            qos: q,
                            retain,
                        } => self.publish(topic, *filler, qos(*q), *retain),
                        Command::Subscribe { filters } => self.subscribe(filters),
                        Command::Unsubscribe { filters } => self.unsubscribe(filters),
                        Command::Ack(i) => self.ack(*i),
                        Command::Disconnect { drain_ms } => self.disconnect(*drain_ms),
                    }
                }
            }
        }
        self.drain();
        self.auto_open();
        self.starting = false;
        self.idle_disconnect = false;
        self.check_step_end(pending_before);
        self.step += 1;
    }

    /// Answers `OpenTransport` as the server's `Reachable` says; a chain
    /// of failed attempts ends with a backoff, so a few rounds suffice.
    fn auto_open(&mut self) {
        let Some(policy) = self.policy.clone() else {
            return;
        };
        for _ in 0..8 {
            let Some(server) = self.open_requested.take() else {
                return;
            };
            if self.conn.state() != State::Opening {
                return;
            }
            match policy.behave[server] {
                Reachable::Script => return,
                Reachable::Unreachable => self.conn.handle_closed(self.now),
                Reachable::Opens => self.open(),
                Reachable::Answers {
                    session_present,
                    code,
                } => {
                    self.open();
                    self.drain();
                    let mut wire = BytesMut::new();
                    let connack = ConnAck {
                        session_present,
                        code: ConnectReturnCode::from_u8(code % 6).unwrap(),
                    };
                    connack.encode(&mut wire).unwrap();
                    self.feed(&wire, None);
                }
            }
            self.drain();
        }
    }

    fn subscribe(&mut self, filters: &[(Filter, u8)]) {
        let parsed: Option<Vec<_>> = filters
            .iter()
            .map(|(f, q)| f.parse().map(|f| (f, qos(*q))))
            .collect();
        if let Some(parsed) = parsed {
            let named = parsed.iter().map(|(f, q)| (f.to_string(), *q)).collect();
            let closing = self.conn.is_closing();
            let result = self.conn.subscribe(parsed);
            self.request_result(result, true, named, closing);
        }
    }

    fn unsubscribe(&mut self, filters: &[Filter]) {
        let parsed: Option<Vec<_>> = filters.iter().map(Filter::parse).collect();
        if let Some(parsed) = parsed {
            let named = parsed
                .iter()
                .map(|f| (f.to_string(), QoS::AtMostOnce))
                .collect();
            let closing = self.conn.is_closing();
            let result = self.conn.unsubscribe(parsed);
            self.request_result(result, false, named, closing);
        }
    }

    fn ack(&mut self, i: u8) {
        if !self.tokens.is_empty() {
            let token = self.tokens[usize::from(i) % self.tokens.len()];
            if self.conn.ack(token).is_ok() {
                assert!(self.acked_tokens.insert(token), "{token:?} acked twice");
            }
        }
    }

    fn disconnect(&mut self, drain_ms: Option<u16>) {
        let drain = Duration::from_millis(drain_ms.map_or(0, u64::from));
        if self.conn.state() == State::Disconnected {
            // Immediate, and any scheduled reconnect is cancelled.
            self.idle_disconnect = true;
            self.reconnect_at = None;
        }
        self.conn.disconnect(self.now, drain);
        if self.conn.is_closing() && !self.closing {
            self.closing = true;
            self.close_deadline = Some(self.now + drain);
        }
    }

    fn open(&mut self) {
        if self.policy.is_some() && self.conn.state() != State::Opening {
            // A transport the caller opened unasked is an attempt too.
            self.m_tried += 1;
        }
        self.conn.connect(self.now);
        // An open transport is closed first: its Disconnected comes before
        // the new transport's CONNECT, with no policy decision after it.
        self.replacing = true;
        self.drain_events();
        self.replacing = false;
        self.attempt = false;
        self.open_requested = None;
        self.reconnect_at = None;
        self.idle = false;
        self.engaged = true;
        self.closing = false;
        self.close_deadline = None;
        self.transport += 1;
        self.transport_open = true;
        self.sent_on_transport = 0;
        self.disconnect_sent = false;
        self.shadow.clear();
        self.owed.clear();
        self.incoming_arrivals = 0;
    }

    /// Handles every deadline that has passed, as a driver's timer loop
    /// would; such a loop must end, so a due deadline moves on or the
    /// connection ends within a few calls.
    fn fire_due(&mut self) {
        // A reconnect's chain (timer, then each server's attempt deadline
        // when the connect timeout is zero) takes a few calls.
        for _ in 0..12 {
            if self.conn.poll_timeout().is_none_or(|t| t > self.now) {
                return;
            }
            self.conn.handle_timeout(self.now);
            self.drain();
            self.auto_open();
        }
        if self.conn.poll_timeout().is_none_or(|t| t > self.now) {
            return;
        }
        panic!(
            "deadline {:?} still due at {:?} after 12 handle_timeout calls",
            self.conn.poll_timeout(),
            self.now
        );
    }

    fn publish(&mut self, topic: &Topic, filler: u16, qos: QoS, retain: bool) {
        // The payload starts with a tag naming this publish, so every PUBLISH
        // on the wire can be traced back to the call that made it.
        let tag = self.next_tag;
        self.next_tag += 1;
        let mut payload = tag.to_be_bytes().to_vec();
        payload.resize(4 + usize::from(filler % 600), 0xA5);
        let Ok(message) = Message::new(topic.name(), payload, qos) else {
            return;
        };
        let message = message.retained(retain);
        let can = self.conn.can_publish(qos);
        let queued = self.conn.queued();
        let closing = self.conn.is_closing();
        let result = self.conn.publish(message);
        assert_eq!(
            closing,
            result == Err(PublishError::Closing),
            "publish while closing: {result:?}"
        );
        match result {
            Ok(id) => {
                assert!(can, "can_publish said no, publish said yes");
                assert!(self.tag_of.insert(id.get(), tag).is_none(), "{id:?} twice");
                self.pubs.insert(
                    tag,
                    PubInfo {
                        qos,
                        done: None,
                        transmitted: false,
                        failed: false,
                    },
                );
            }
            Err(PublishError::QueueFull) => {
                assert!(!can, "can_publish said yes, publish said QueueFull");
                assert!(queued >= self.max_queued, "QueueFull below max_queued");
                self.queue_full_outstanding = true;
            }
            Err(PublishError::TooLarge { size, max }) => {
                assert!(size > max && max == self.max_packet_size);
            }
            Err(PublishError::Closing) => {}
            Err(e) => panic!("unexpected publish error {e:?}"),
        }
    }

    fn request_result(
        &mut self,
        result: Result<PacketId, SubscribeError>,
        subscribe: bool,
        filters: Vec<(String, QoS)>,
        closing: bool,
    ) {
        assert_eq!(
            closing,
            result == Err(SubscribeError::Closing),
            "request while closing: {result:?}"
        );
        match result {
            Ok(pid) => {
                let p = pid.get();
                assert!(
                    !filters.is_empty(),
                    "a request without filters was accepted"
                );
                // The session holds what was asked for last [MQTT-3.8.4-3].
                for (f, q) in &filters {
                    if subscribe {
                        self.live.insert(f.clone(), *q);
                    } else {
                        self.live.remove(f);
                    }
                }
                assert!(
                    !self.out_pub.contains_key(&p),
                    "request got id {p} of an in-flight PUBLISH"
                );
                assert!(
                    !self.reqs.contains_key(&p),
                    "request got id {p} of a pending request"
                );
                // Not sent yet: when connected its bytes follow in this
                // step's chunk, otherwise on the next CONNACK.
                self.reqs.insert(
                    p,
                    Req {
                        subscribe,
                        filters,
                        own: false,
                        transport: None,
                    },
                );
            }
            Err(SubscribeError::NoFilters) => assert!(filters.is_empty()),
            Err(SubscribeError::Closing) => {}
            Err(SubscribeError::TooManyPending) => {
                assert!(self.conn.pending_requests() >= self.max_pending)
            }
            Err(SubscribeError::TooLarge { size, max }) => {
                assert!(size > max && max == self.max_packet_size)
            }
            Err(e) => panic!("unexpected request error {e:?}"),
        }
    }

    // ---- broker bytes ---------------------------------------------------

    /// Feeds `data` in reads that each complete at most one packet (cut at
    /// the packet boundaries the shadow decoder sees, and at `split`), and
    /// drains events after each read so every event is attributed to the
    /// packet that caused it. Draining events between reads does not change
    /// what the connection does; transmit is drained once, at step end.
    fn feed(&mut self, data: &[u8], split: Option<u16>) {
        self.bytes_in += data.len();
        let mut cuts = Vec::new();
        if self.reading() {
            let mut dry = self.shadow.clone();
            let base = dry.len();
            dry.extend_from_slice(data);
            let total = dry.len();
            while let Ok(Some(_)) = packet::decode(&mut dry, self.max_packet_size) {
                cuts.push(total - dry.len() - base);
            }
        }
        if let Some(s) = split {
            cuts.push(usize::from(s) % (data.len() + 1));
        }
        cuts.push(data.len());
        cuts.sort_unstable();
        cuts.dedup();
        let mut start = 0;
        for end in cuts {
            if end > start {
                self.feed_piece(&data[start..end]);
            }
            start = end;
        }
    }

    fn feed_piece(&mut self, piece: &[u8]) {
        self.last_packet = None;
        if self.reading() {
            self.shadow.extend_from_slice(piece);
            loop {
                match packet::decode(&mut self.shadow, self.max_packet_size) {
                    Ok(Some(p)) => {
                        assert!(self.last_packet.is_none(), "pieces hold one packet");
                        self.on_broker_packet(&p);
                        self.last_packet = Some(p);
                    }
                    Ok(None) => break,
                    Err(_) => {
                        self.shadow.clear();
                        break;
                    }
                }
            }
        } else {
            self.shadow.clear();
        }
        self.conn.handle_read(self.now, piece);
        self.in_read = true;
        self.drain_events();
        self.in_read = false;
        self.last_packet = None;
    }

    /// A packet the connection is about to act on.
    fn on_broker_packet(&mut self, p: &Packet) {
        match p {
            Packet::Publish(p) => {
                if let Some(pid) = p.pid() {
                    let key = if p.qos() == QoS::AtLeastOnce { 1 } else { 2 };
                    *self.owed.entry((key, pid.get())).or_default() += 1;
                    self.incoming_arrivals += 1;
                    if key == 2 {
                        self.qos2_ids_session.insert(pid.get());
                    }
                    if self.recent_incoming.len() >= 8 {
                        self.recent_incoming.remove(0);
                    }
                    self.recent_incoming.push(pid.get());
                }
            }
            Packet::PubRec(r) if !self.out_pub.contains_key(&r.pid.get()) => {
                self.pubrec_unseen.insert(r.pid.get());
            }
            Packet::PubRel(r) => {
                *self.owed.entry((3, r.pid.get())).or_default() += 1;
                self.delivered_qos2.remove(&r.pid.get());
            }
            _ => {}
        }
    }

    // ---- outputs --------------------------------------------------------

    fn drain(&mut self) {
        for _ in 0..4 {
            self.drain_events();
            match self.conn.poll_transmit(self.now) {
                Some(chunk) => self.on_transmit(chunk),
                None => {
                    self.drain_events();
                    return;
                }
            }
        }
        panic!("poll_transmit keeps returning bytes");
    }

    fn drain_events(&mut self) {
        while let Some(event) = self.conn.poll_event() {
            self.events_out += 1;
            self.on_event(event);
        }
        if let Some(reason) = &self.awaiting_policy {
            panic!("no policy decision after Disconnected({reason:?})");
        }
        if let Some(loss) = self.expect_loss.take() {
            assert!(!loss.must, "SessionLost missing after Connected: {loss:?}");
        }
    }

    /// A policy decision right after a `Disconnected` for `reason`.
    fn on_policy_decision(&mut self, event: Event, reason: DisconnectReason) {
        let policy = self.policy.clone().expect("a policy decided");
        let servers = policy.servers();
        match event {
            Event::OpenTransport { server } => {
                assert!(
                    self.m_connected_at.is_none(),
                    "a lost connection moved on to server {server} without a backoff"
                );
                assert!(
                    self.m_tried < servers,
                    "round over ({} tried), yet server {server} at once",
                    self.m_tried
                );
                assert_eq!(server, (self.m_server + 1) % servers, "next server");
                self.m_server = server;
                self.m_tried += 1;
                self.attempt = true;
                self.open_requested = Some(server);
            }
            Event::ReconnectScheduled { server, delay } => {
                assert_eq!(server, 0, "a new round starts at the first server");
                match self.m_connected_at.take() {
                    Some(since) => {
                        let lasted = self.now.saturating_duration_since(since);
                        if self.m_healthy || self.keep_alive_period.is_some_and(|k| lasted >= k) {
                            self.m_backoff_attempts = 0;
                        }
                    }
                    None => {
                        assert!(
                            self.m_tried >= servers,
                            "backoff with servers left in the round ({} of {servers} tried)",
                            self.m_tried
                        );
                        assert!(
                            !policy.give_up_if_never_connected || self.ever_connected,
                            "first round failed: should have given up"
                        );
                    }
                }
                self.m_healthy = false;
                let c = ceiling(
                    policy.backoff_min(),
                    policy.backoff_max(),
                    self.m_backoff_attempts,
                );
                self.m_backoff_attempts = self.m_backoff_attempts.saturating_add(1);
                assert!(
                    delay >= c / 2 && delay <= c,
                    "delay {delay:?} outside [{:?}, {c:?}]",
                    c / 2
                );
                self.m_server = 0;
                self.m_tried = 0;
                self.reconnect_at = Some(self.now + delay);
            }
            Event::GaveUp => {
                let final_refusal =
                    matches!(reason, DisconnectReason::Refused(code) if is_final_refusal(code));
                if !final_refusal {
                    assert!(
                        self.m_connected_at.take().is_none(),
                        "gave up after losing an established connection ({reason:?})"
                    );
                    assert!(
                        policy.give_up_if_never_connected
                            && !self.ever_connected
                            && self.m_tried >= servers,
                        "gave up after {reason:?}"
                    );
                }
                self.idle = true;
            }
            other => panic!("{other:?} instead of a policy decision after {reason:?}"),
        }
    }

    /// `SessionLost` right after `Connected { session_present: false }`.
    fn on_session_lost(
        &mut self,
        loss: Loss,
        resent: Vec<mqtt_proto::PublishId>,
        failed: Vec<mqtt_proto::PublishId>,
    ) {
        let tags = |ids: &[mqtt_proto::PublishId]| -> Vec<u32> {
            ids.iter()
                .map(|id| {
                    *self
                        .tag_of
                        .get(&id.get())
                        .unwrap_or_else(|| panic!("SessionLost names unknown {id:?}"))
                })
                .collect()
        };
        let (resent, failed) = (tags(&resent), tags(&failed));
        let (want_failed, want_resent): (Vec<_>, Vec<_>) = loss
            .lost
            .iter()
            .partition(|(_, q)| self.fail_lost_qos2 && *q == QoS::ExactlyOnce);
        let only_tags = |v: Vec<&(u32, QoS)>| v.into_iter().map(|(t, _)| *t).collect::<Vec<_>>();
        let (want_resent, want_failed) = (only_tags(want_resent), only_tags(want_failed));
        // A QoS 2 message the script released before it left (its PUBREL
        // may have left since) may be named too, in either list.
        let may_be_named = |t: &u32| {
            let info = &self.pubs[t];
            loss.released_unseen && info.qos == QoS::ExactlyOnce && info.done.is_none()
        };
        let expected = |got: &[u32], want: &[u32]| -> Vec<u32> {
            got.iter()
                .copied()
                .filter(|t| want.contains(t) || !may_be_named(t))
                .collect()
        };
        assert_eq!(
            expected(&resent, &want_resent),
            want_resent,
            "SessionLost resent"
        );
        assert_eq!(
            expected(&failed, &want_failed),
            want_failed,
            "SessionLost failed"
        );
        for tag in failed {
            let info = self.pubs.get_mut(&tag).unwrap();
            assert!(info.done.is_none(), "failed {tag} had completed");
            info.done = Some(self.step);
            info.failed = true;
        }
    }

    /// The broker refused `filter`: the session no longer holds it, unless
    /// a later SUBSCRIBE for it is still pending [MQTT-3.8.4-3].
    fn on_refused(&mut self, filter: &str) {
        let pending = self
            .reqs
            .values()
            .any(|r| r.subscribe && r.filters.iter().any(|(f, _)| f == filter))
            || self.own_unseen.contains_key(filter);
        if !pending {
            self.live.remove(filter);
        }
    }

    fn on_event(&mut self, event: Event) {
        if let Event::Message { .. } = event {
            assert!(self.in_read, "a message outside a read: {event:?}");
        }
        if let Some(reason) = self.awaiting_policy.take() {
            self.on_policy_decision(event, reason);
            return;
        }
        if let Some(loss) = self.expect_loss.take() {
            if let Event::SessionLost { resent, failed } = event {
                self.on_session_lost(loss, resent, failed);
                return;
            }
            assert!(!loss.must, "SessionLost missing after Connected: {loss:?}");
        }
        match event {
            Event::Connected { session_present } => {
                assert!(self.transport_open, "Connected without a transport");
                assert!(
                    !(session_present && self.clean_session),
                    "session present accepted on a clean session"
                );
                self.m_connected_at = Some(self.now);
                self.m_healthy = false;
                self.m_tried = 0;
                if !session_present {
                    // Every message handed out and not completed is lost
                    // with the session, PUBREC'd ones too (the broker may
                    // have lost them with it).
                    let lost: Vec<(u32, QoS)> = self
                        .out_pub
                        .values()
                        .map(|e| (e.tag, self.pubs[&e.tag].qos))
                        .collect::<BTreeMap<_, _>>()
                        .into_iter()
                        .collect();
                    let must = (!self.clean_session && self.ever_connected) || !lost.is_empty();
                    self.expect_loss = Some(Loss {
                        lost,
                        must,
                        released_unseen: !self.pubrec_unseen.is_empty(),
                    });
                    if self.resubscribe {
                        // [MQTT-3.2.2-2] the broker holds none of our
                        // filters: every live one no pending SUBSCRIBE
                        // carries is asked for again, once.
                        let pending: BTreeSet<&String> = self
                            .reqs
                            .values()
                            .filter(|r| r.subscribe)
                            .flat_map(|r| r.filters.iter().map(|(f, _)| f))
                            .collect();
                        let again: Vec<(String, QoS)> = self
                            .live
                            .iter()
                            .filter(|(f, _)| {
                                !pending.contains(f) && !self.own_unseen.contains_key(*f)
                            })
                            .map(|(f, q)| (f.clone(), *q))
                            .collect();
                        self.own_unseen.extend(again);
                    }
                    // The broker has no session: every outgoing id is free
                    // again (requests keep theirs) and incoming QoS 2 state
                    // is forgotten.
                    self.out_pub.clear();
                    self.pid_of_tag.clear();
                    self.pubrec_unseen.clear();
                    self.delivered_qos2.clear();
                    self.qos2_ids_session.clear();
                }
                self.ever_connected = true;
            }
            Event::Disconnected { reason } => {
                let requested = reason == DisconnectReason::Requested;
                let ended = self.transport_open || self.attempt;
                assert!(
                    ended || (self.idle_disconnect && requested),
                    "Disconnected({reason:?}) without a transport or an attempt"
                );
                if ended && (requested || self.closing) && !self.replacing {
                    // Closed on request: nothing of this connection counts
                    // for a later round.
                    self.m_connected_at = None;
                    self.m_healthy = false;
                    self.m_tried = 0;
                }
                self.transport_open = false;
                self.attempt = false;
                self.open_requested = None;
                self.close_deadline = None;
                let closing = core::mem::take(&mut self.closing);
                if self.policy.is_some() && !requested && !closing && !self.replacing {
                    self.awaiting_policy = Some(reason);
                } else {
                    // A requested close never reconnects.
                    self.idle = true;
                }
            }
            Event::OpenTransport { server } => {
                assert!(
                    !self.transport_open && !self.attempt,
                    "OpenTransport while a transport or an attempt is in use"
                );
                assert!(server < self.servers(), "server {server} out of range");
                if self.starting {
                    assert_eq!(server, 0, "a round starts at the first server");
                    self.m_server = 0;
                    self.m_tried = 1;
                } else {
                    let at = self
                        .reconnect_at
                        .take()
                        .unwrap_or_else(|| panic!("OpenTransport {server} unasked"));
                    assert!(at <= self.now, "reconnect before its time");
                    assert_eq!(server, self.m_server, "the round's server");
                    self.m_tried += 1;
                }
                self.reconnect_at = None;
                self.attempt = true;
                self.open_requested = Some(server);
            }
            Event::ReconnectScheduled { .. } | Event::GaveUp => {
                panic!("{event:?} without a loss just before")
            }
            Event::SessionLost { .. } => panic!("{event:?} not right after Connected"),
            Event::Resubscribed { filters } => {
                self.m_healthy = true;
                let Some(Packet::SubAck(ack)) = &self.last_packet else {
                    panic!("Resubscribed outside a SUBACK read");
                };
                let p = ack.pid.get();
                let names: Vec<&str> = filters.iter().map(|(f, _)| f.as_str()).collect();
                match self.reqs.remove(&p) {
                    Some(req) => {
                        assert!(req.own, "Resubscribed for the application's request {p}");
                        let asked: Vec<&str> =
                            req.filters.iter().map(|(f, _)| f.as_str()).collect();
                        assert_eq!(names, asked, "Resubscribed {p}");
                    }
                    None => {
                        // Answered before its bytes were handed out.
                        for f in &names {
                            assert!(
                                self.own_unseen.remove(*f).is_some(),
                                "Resubscribed {f} never asked for"
                            );
                        }
                    }
                }
                self.freed_this_step.insert(p);
                for (f, outcome) in &filters {
                    if *outcome == SubscribeOutcome::Refused {
                        self.on_refused(f.as_str());
                    }
                }
            }
            Event::Message { message, ack } => {
                let Some(Packet::Publish(p)) = self.last_packet.take() else {
                    panic!("{message:?} delivered but the packet read was no PUBLISH");
                };
                assert_eq!(message.topic, p.topic);
                assert_eq!(message.payload, p.payload);
                assert_eq!(message.qos, p.qos());
                assert_eq!(message.retain, p.retain);
                assert_eq!(
                    ack.is_some(),
                    self.manual && message.qos != QoS::AtMostOnce,
                    "ack token presence"
                );
                if let Some(token) = ack {
                    self.tokens.push(token);
                }
                if let QosPid::ExactlyOnce(pid) = p.qos_pid {
                    assert!(
                        self.delivered_qos2.insert(pid.get()),
                        "QoS 2 message {pid} delivered twice before its PUBREL"
                    );
                }
            }
            Event::Published { id } => {
                if matches!(
                    self.last_packet,
                    Some(Packet::PubAck(_) | Packet::PubComp(_))
                ) {
                    // The broker answered: the connection is healthy.
                    self.m_healthy = true;
                }
                let tag = *self
                    .tag_of
                    .get(&id.get())
                    .unwrap_or_else(|| panic!("Published for unknown {id:?}"));
                let info = self.pubs.get_mut(&tag).unwrap();
                assert!(info.done.is_none(), "{id:?} completed twice");
                info.done = Some(self.step);
                if let Some(pid) = self.pid_of_tag.remove(&tag) {
                    self.out_pub.remove(&pid);
                    self.freed_this_step.insert(pid);
                }
            }
            Event::Subscribed { id, outcomes } => {
                let req = self
                    .reqs
                    .remove(&id.get())
                    .unwrap_or_else(|| panic!("Subscribed for unknown {id}"));
                assert!(req.subscribe, "Subscribed for an unsubscribe {id}");
                assert!(!req.own, "Subscribed for the core's own request {id}");
                assert_eq!(outcomes.len(), req.filters.len(), "SUBACK outcomes");
                self.freed_this_step.insert(id.get());
                self.m_healthy = true;
                for ((f, _), outcome) in req.filters.iter().zip(&outcomes) {
                    if *outcome == SubscribeOutcome::Refused {
                        self.on_refused(f);
                    }
                }
            }
            Event::Unsubscribed { id } => {
                let req = self
                    .reqs
                    .remove(&id.get())
                    .unwrap_or_else(|| panic!("Unsubscribed for unknown {id}"));
                assert!(!req.subscribe, "Unsubscribed for a subscribe {id}");
                self.freed_this_step.insert(id.get());
                self.m_healthy = true;
            }
            Event::QueueReady => {
                assert!(self.queue_full_outstanding, "QueueReady without QueueFull");
                self.queue_full_outstanding = false;
            }
            other => panic!("unknown event {other:?}"),
        }
    }

    fn on_transmit(&mut self, chunk: Bytes) {
        assert!(!chunk.is_empty(), "empty chunk");
        assert!(self.transport_open, "bytes without a transport: {chunk:?}");
        self.bytes_out += chunk.len();
        let mut wire = BytesMut::from(&chunk[..]);
        loop {
            let before = wire.len();
            let p = match packet::decode(&mut wire, packet::MAX_PACKET_SIZE) {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => panic!("client sent a malformed packet: {e:?} in {chunk:?}"),
            };
            let size = before - wire.len();
            // CONNECT is built from the options alone and is not held to the
            // limit; everything else is.
            if !matches!(p, Packet::Connect(_)) {
                assert!(size <= self.max_packet_size, "{size}-byte {p:?}");
            }
            self.on_sent_packet(p);
        }
        assert!(wire.is_empty(), "client sent a partial packet");
    }

    fn on_sent_packet(&mut self, p: Packet) {
        assert!(!self.disconnect_sent, "{p:?} after DISCONNECT");
        let first = self.sent_on_transport == 0;
        self.sent_on_transport += 1;
        assert_eq!(
            first,
            matches!(p, Packet::Connect(_)),
            "CONNECT comes first, once: {p:?}"
        );
        match p {
            Packet::Connect(_) | Packet::PingReq => {}
            Packet::Disconnect => self.disconnect_sent = true,
            Packet::Publish(p) => self.on_sent_publish(p),
            Packet::PubRel(r) => {
                let pid = r.pid.get();
                match self.out_pub.get_mut(&pid) {
                    Some(e) => {
                        assert_eq!(self.pubs[&e.tag].qos, QoS::ExactlyOnce, "PUBREL {pid}");
                        e.pubrel_sent = true;
                    }
                    None => assert!(
                        self.freed_this_step.contains(&pid) || self.pubrec_unseen.contains(&pid),
                        "PUBREL {pid} for nothing in flight"
                    ),
                }
            }
            Packet::PubAck(a) => self.sent_ack(1, a.pid),
            Packet::PubRec(a) => self.sent_ack(2, a.pid),
            Packet::PubComp(a) => self.sent_ack(3, a.pid),
            Packet::Subscribe(s) => {
                let filters = s.filters.iter().map(|(f, q)| (f.to_string(), *q)).collect();
                self.sent_request(s.pid, true, filters)
            }
            Packet::Unsubscribe(u) => {
                let filters = u
                    .filters
                    .iter()
                    .map(|f| (f.to_string(), QoS::AtMostOnce))
                    .collect();
                self.sent_request(u.pid, false, filters)
            }
            other => panic!("a client never sends {other:?}"),
        }
    }

    fn sent_ack(&mut self, key: u8, pid: PacketId) {
        let owed = self.owed.entry((key, pid.get())).or_default();
        assert!(*owed > 0, "ack {key}/{pid} nobody asked for");
        *owed -= 1;
    }

    fn sent_request(&mut self, pid: PacketId, subscribe: bool, filters: Vec<(String, QoS)>) {
        let p = pid.get();
        assert!(
            !self.out_pub.contains_key(&p),
            "request reuses PUBLISH id {p}"
        );
        let transport = self.transport;
        match self.reqs.get_mut(&p) {
            Some(r) => {
                assert_eq!(
                    (r.subscribe, &r.filters),
                    (subscribe, &filters),
                    "request {p}"
                );
                assert_ne!(r.transport, Some(transport), "request {p} sent twice");
                r.transport = Some(transport);
            }
            None if self.freed_this_step.contains(&p) => {}
            None if subscribe
                && filters
                    .iter()
                    .all(|(f, q)| self.own_unseen.get(f) == Some(q)) =>
            {
                // One of the core's own, first seen: each filter once.
                for (f, _) in &filters {
                    self.own_unseen.remove(f);
                }
                self.reqs.insert(
                    p,
                    Req {
                        subscribe,
                        filters,
                        own: true,
                        transport: Some(transport),
                    },
                );
            }
            None => panic!("request {p} sent but never made: {filters:?}"),
        }
    }

    fn on_sent_publish(&mut self, p: Publish) {
        assert!(p.payload.len() >= 4, "PUBLISH without a tag: {p:?}");
        let tag = u32::from_be_bytes(p.payload[..4].try_into().unwrap());
        let transport = self.transport;
        let info = self
            .pubs
            .get_mut(&tag)
            .unwrap_or_else(|| panic!("PUBLISH of a message never accepted: {p:?}"));
        assert_eq!(info.qos, p.qos(), "PUBLISH {tag} changed QoS");
        assert!(!info.failed, "PUBLISH {tag} sent after it was given up");
        if let Some(done) = info.done {
            // Encoded before its ack arrived in this same step.
            assert_eq!(done, self.step, "PUBLISH {tag} sent after it completed");
            return;
        }
        let Some(pid) = p.pid() else {
            assert!(!info.transmitted, "QoS 0 PUBLISH {tag} sent twice");
            info.transmitted = true;
            return;
        };
        let pid = pid.get();
        assert!(
            !self.reqs.contains_key(&pid),
            "PUBLISH reuses request id {pid}"
        );
        match self.out_pub.get_mut(&pid) {
            Some(e) => {
                assert_eq!(e.tag, tag, "id {pid} of an in-flight PUBLISH reused");
                assert!(p.dup, "PUBLISH {tag} resent without DUP");
                assert!(!e.pubrel_sent, "PUBLISH {tag} resent after its PUBREL");
                assert_ne!(e.transport, transport, "PUBLISH {tag} sent twice");
                e.transport = transport;
            }
            None => {
                assert!(!p.dup, "DUP on the first transmission of {tag}");
                if let Some(old) = self.pid_of_tag.get(&tag) {
                    panic!("in-flight PUBLISH {tag} moved from id {old} to {pid}");
                }
                self.out_pub.insert(
                    pid,
                    OutPub {
                        tag,
                        pubrel_sent: false,
                        transport,
                    },
                );
                self.pid_of_tag.insert(tag, pid);
            }
        }
        info.transmitted = true;
    }

    fn check_step_end(&mut self, pending_before: usize) {
        let c = &self.conn;
        assert!(
            c.inflight() <= self.max_inflight,
            "inflight {}",
            c.inflight()
        );
        assert!(c.queued() <= self.max_queued, "queued {}", c.queued());
        // The core's own resubscriptions come on top of the limit.
        let own_pending = self.reqs.values().filter(|r| r.own).count() + self.own_unseen.len();
        assert!(
            c.pending_requests() <= self.max_pending + own_pending,
            "pending requests {}",
            c.pending_requests()
        );
        assert_eq!(
            c.packet_ids_in_use(),
            c.inflight() + c.pending_requests(),
            "packet ids in use by nothing"
        );
        let (qos2, pending) = c.incoming_state();
        assert!(
            qos2 <= self.qos2_ids_session.len(),
            "{qos2} QoS 2 entries for {} ids",
            self.qos2_ids_session.len()
        );
        // At most one owed ack per arrival, not per distinct id: every copy
        // of a QoS 1/2 message is owed its own ack, in arrival order (see
        // `repeated_qos2_publish_gets_a_pubrec_per_copy` in
        // mqtt-proto/tests/fuzz_regressions.rs).
        assert!(
            pending <= self.incoming_arrivals,
            "{pending} owed acks for {} QoS 1/2 PUBLISHes read",
            self.incoming_arrivals
        );
        if self.queue_full_outstanding {
            assert!(c.queued() >= self.max_queued, "QueueReady missing");
        }
        match c.state() {
            State::Opening | State::Connecting => {
                assert!(c.poll_timeout().is_some(), "no attempt deadline")
            }
            State::Connected if self.keep_alive => {
                assert!(c.poll_timeout().is_some(), "no keep-alive deadline")
            }
            _ => {}
        }
        if c.state() == State::Connected && !self.manual {
            assert!(
                self.owed.values().all(|n| *n == 0),
                "automatic acks left owed: {:?}",
                self.owed
            );
        }
        // Session policy.
        assert_eq!(c.is_closing(), self.closing, "closing");
        if self.closing {
            assert_eq!(c.state(), State::Connected, "closing while not connected");
            assert!(
                c.inflight() + c.queued() > 0,
                "closing with nothing left to drain, and no DISCONNECT"
            );
            let deadline = self.close_deadline.expect("a drain deadline");
            assert!(
                c.poll_timeout().is_some_and(|t| t <= deadline),
                "drain deadline {deadline:?} not kept: {:?}",
                c.poll_timeout()
            );
        }
        if let Some(at) = self.reconnect_at {
            assert_eq!(
                c.state(),
                State::Disconnected,
                "reconnect timer while not idle"
            );
            assert_eq!(c.poll_timeout(), Some(at), "reconnect timer");
        } else if self.policy.is_some()
            && self.engaged
            && !self.idle
            && c.state() == State::Disconnected
        {
            panic!("the policy left a lost connection with nothing scheduled");
        }
        let live: BTreeMap<String, QoS> =
            c.subscriptions().map(|(f, q)| (f.to_string(), q)).collect();
        assert_eq!(live, self.live, "live subscriptions");
        if c.state() == State::Connected {
            assert!(
                self.own_unseen.is_empty(),
                "resubscriptions never sent: {:?}",
                self.own_unseen
            );
        }
        let window = self.max_inflight + self.max_queued + self.max_pending + 1 + own_pending;
        let policy = if self.policy.is_some() { 1 } else { 0 };
        let bytes_bound = 256
            + policy * 512
            + (window + self.commands) * (self.max_packet_size + 8)
            + 2 * self.bytes_in
            + 4 * (pending_before + 1);
        assert!(
            self.bytes_out <= bytes_bound,
            "{} bytes out in one step (bound {bytes_bound})",
            self.bytes_out
        );
        // A command may answer at once (`disconnect` while disconnected).
        let events_bound = 8 + policy * 64 + window + self.bytes_in + self.commands;
        assert!(
            self.events_out <= events_bound,
            "{} events in one step",
            self.events_out
        );
    }
}

fuzz_target!(|input: Input| {
    let mut h = Harness::new(&input.config);
    for step in input.steps.iter().take(512) {
        h.run_step(step);
    }
});
