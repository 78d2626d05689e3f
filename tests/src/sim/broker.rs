//! A model MQTT broker for the simulation: the broker's side of sessions,
//! persistent ones included, kept small enough to trust. It speaks 3.1.1
//! or 5.0 on each connection, as its CONNECT does (see `wire`); the
//! session logic is one for both, and 5.0's additions are in `v5`.
//!
//! It routes PUBLISH to matching subscriptions at the lower of the two QoS,
//! answers every QoS flow, keeps a session's subscriptions, unacknowledged
//! outgoing messages and QoS 2 receipt state across connections when
//! CleanSession is 0, and resends with DUP when such a session resumes
//! [MQTT-4.4.0-1]. It panics (failing the schedule) on any malformed packet
//! or protocol breach by a client, so the simulation also checks that the
//! client never sends one.
//!
//! Given a [`Plan`], it also misbehaves (see [`Misbehaviour`]): it resends,
//! refuses, stalls, breaks the protocol and forgets sessions, keeping its
//! own books straight meanwhile, and hands its output out in pieces that
//! say how the link must carry them and which one is a violation. Given
//! [`Refusals`], it refuses some connections outright (server unavailable,
//! or, rarely, not authorized).
//!
//! For the simulation's checks it also keeps, per connection, the
//! SUBSCRIBE packets it received, and per session the connection that
//! created it.

use super::misbehaviour::{Misbehaviour, Plan};
use super::refusal::Refusals;
use super::wire::{Extra, Frame, Level, ReadError, Reader};
use bytes::{Bytes, BytesMut};
use mqtt_proto::packet::v5::{ConnectProperties, ReasonCode};
use mqtt_proto::packet::{
    self, ConnAck, ConnectReturnCode, Packet, PubAck, PubComp, PubRec, PubRel, Publish, QosPid,
    SubAck, SubscribeReturnCode, UnsubAck,
};
use mqtt_proto::{PacketId, QoS, TopicFilter, TopicName};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

mod connect;
mod inspect;
mod misbehave;
mod output;
mod routing;
mod v5;

use output::publish;
pub use output::{Output, Pace};
pub use v5::{V5Counts, V5Plan};

/// Identifies one transport connection to the broker.
pub type ConnId = u64;

const WINDOW: usize = 16;

#[derive(Debug, Clone)]
struct Stored {
    topic: TopicName,
    payload: Bytes,
    qos: QoS,
}

#[derive(Debug, Default)]
struct Session {
    conn: Option<ConnId>,
    clean: bool,
    subs: Vec<(TopicFilter, QoS)>,
    /// QoS 2 messages received from the client and not yet released, by id.
    inbound_qos2: BTreeMap<u16, Bytes>,
    queue: VecDeque<Stored>,
    /// In send order: (id, message, PUBREL sent).
    inflight: Vec<(PacketId, Stored, bool)>,
    next_pid: u16,
    /// The connection whose CONNECT created this session.
    created_on: ConnId,
}

impl Session {
    /// The next id neither in flight nor in `avoid`.
    fn allocate(&mut self, avoid: &BTreeSet<u16>) -> PacketId {
        loop {
            self.next_pid = self.next_pid.wrapping_add(1);
            if let Some(id) = PacketId::new(self.next_pid) {
                if !self.inflight.iter().any(|(p, _, _)| *p == id) && !avoid.contains(&id.get()) {
                    return id;
                }
            }
        }
    }

    fn holds(&self, pid: PacketId) -> bool {
        self.inflight.iter().any(|(p, _, _)| *p == pid)
    }
}

#[derive(Debug, Default)]
struct Conn {
    rx: BytesMut,
    /// Output pieces not taken yet; `tx` holds the plain packets written
    /// after the last of them.
    out: VecDeque<Output>,
    tx: BytesMut,
    client_id: Option<String>,
    /// The broker closed this connection (after DISCONNECT).
    closed: bool,
    /// QoS 1 and 2 PUBLISH sent on this connection and not yet answered,
    /// in send order: the client must answer in this order [MQTT-4.6.0-2],
    /// [MQTT-4.6.0-3].
    owed: VecDeque<PacketId>,
    /// PUBREL sent on this connection and not answered with PUBCOMP yet,
    /// stale ones included: each is answered [MQTT-4.3.3-2].
    pubrels: VecDeque<PacketId>,
    /// A violation was written: the client will close, and nothing more is
    /// injected here.
    violated: bool,
    /// Ids a misbehaviour left ambiguous here: a late ack of a duplicate, or
    /// the PUBCOMP answering a stale PUBREL, could be taken for one of a new
    /// message given the id, so none is given it on this connection.
    tainted: BTreeSet<u16>,
    /// QoS 2 ids completed on this connection, for a stale PUBREL.
    completed_qos2: Vec<PacketId>,
    /// The last id the client used, so that a packet with reserved flags is
    /// wrong in its flags only.
    client_pid: u16,
    /// SUBSCRIBE packets received on this connection and not taken by the
    /// simulation's checks yet: (packet id, filters).
    subscribes: Vec<(u16, Vec<TopicFilter>)>,
    /// Reads the client's packets, once its CONNECT says at which level.
    reader: Option<Reader>,
    level: Level,
    /// 5.0: the Maximum Packet Size the broker announced, no packet may
    /// come above it; the client's Topic Alias Maximum and Receive Maximum;
    /// the aliases the broker set; the ids it answered with an error
    /// PUBREC.
    max_in: Option<usize>,
    client_alias_max: u16,
    client_receive_max: Option<usize>,
    aliases: BTreeMap<TopicName, u16>,
    refused_qos2: BTreeMap<u16, ReasonCode>,
}

/// The model broker.
#[derive(Debug, Default)]
pub struct ModelBroker {
    sessions: HashMap<String, Session>,
    /// Ordered, so that misbehaving on a random one replays.
    conns: BTreeMap<ConnId, Conn>,
    /// Messages routed, for statistics.
    pub routed: u64,
    /// Misbehaviour, in the schedules that have it.
    plan: Option<Plan>,
    /// Connections refused, in the schedules that have them.
    refusals: Option<Refusals>,
    /// (client, payload) of each QoS 2 message from that client whose
    /// receipt the broker forgot with its session before PUBREL: the client
    /// may send it again and it is then new [MQTT-4.3.3-2].
    forgotten_qos2: Vec<(String, Bytes)>,
    /// Every client id that ever connected.
    known: BTreeSet<String>,
    /// What 5.0 connections get beyond 3.1.1 (every schedule at 5.0 has
    /// one).
    v5: Option<V5Plan>,
    /// (client, payload) of each message the broker accepted and will never
    /// deliver to that client: dropped with a discarded session, or routed
    /// while the client had no matching subscription (forgotten with a
    /// session, or refused, and not made again yet). Misses are noted only
    /// when misbehaving: a well-behaved broker never drops the persistent
    /// subscriber's subscription, nor its session.
    lost: Vec<(String, Bytes)>,
}

impl ModelBroker {
    pub fn new() -> Self {
        Self::default()
    }

    /// A broker that misbehaves according to `plan`.
    pub fn misbehaving(plan: Plan) -> Self {
        ModelBroker {
            plan: Some(plan),
            ..Self::default()
        }
    }

    /// The same broker, speaking 5.0 to 5.0 clients as `plan` decides.
    pub fn with_v5(mut self, plan: V5Plan) -> Self {
        self.v5 = Some(plan);
        self
    }

    /// The 5.0 plan, if any.
    pub fn v5(&self) -> Option<&V5Plan> {
        self.v5.as_ref()
    }

    /// The error code every copy of the publish of `payload` is refused
    /// with at 5.0, if any.
    pub fn refusal(&self, payload: &[u8]) -> Option<ReasonCode> {
        self.v5.as_ref().and_then(|v5| v5.refusal(payload))
    }

    /// The same broker, refusing connections as `refusals` decides.
    pub fn with_refusals(mut self, refusals: Refusals) -> Self {
        self.refusals = Some(refusals);
        self
    }

    /// Turns misbehaviour (and refusals) on or off, when the broker has
    /// them.
    pub fn set_misbehaving(&mut self, on: bool) {
        if let Some(plan) = self.plan.as_mut() {
            plan.active = on;
        }
        if let Some(refusals) = self.refusals.as_mut() {
            refusals.active = on;
        }
        if let Some(v5) = self.v5.as_mut() {
            v5.active = on;
        }
    }

    /// Drops the session of `client`, noting what is lost with it.
    fn discard(&mut self, client: &str) {
        let Some(s) = self.sessions.remove(client) else {
            return;
        };
        // A QoS 2 message the client answered with PUBREC is its own by
        // then [MQTT-4.3.3-2]: delivered, whatever happens to the session.
        let unowned = s.inflight.iter().filter(|(_, _, released)| !released);
        let held = s.queue.iter().chain(unowned.map(|(_, m, _)| m));
        self.lost
            .extend(held.map(|m| (client.to_string(), m.payload.clone())));
        self.forgotten_qos2.extend(
            s.inbound_qos2
                .into_values()
                .map(|p| (client.to_string(), p)),
        );
    }

    /// A client opened a transport.
    pub fn open(&mut self, id: ConnId) {
        self.conns.insert(id, Conn::default());
    }

    /// The transport ended (cut, or closed by either side).
    pub fn close(&mut self, id: ConnId) {
        let Some(conn) = self.conns.remove(&id) else {
            return;
        };
        if let Some(client) = conn.client_id {
            let drop_session = match self.sessions.get_mut(&client) {
                Some(s) if s.conn == Some(id) => {
                    s.conn = None;
                    s.clean
                }
                _ => false,
            };
            if drop_session {
                self.discard(&client);
            }
        }
    }

    /// Whether the broker has closed this connection itself.
    pub fn has_closed(&self, id: ConnId) -> bool {
        self.conns.get(&id).is_none_or(|c| c.closed)
    }

    /// Bytes that arrived from a client on `id`, split anywhere.
    pub fn receive(&mut self, id: ConnId, bytes: &[u8]) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.closed {
            return;
        }
        conn.rx.extend_from_slice(bytes);
        loop {
            let Some(conn) = self.conns.get_mut(&id) else {
                return;
            };
            if conn.closed {
                return;
            }
            if conn.reader.is_none() {
                let Some(level) = Level::of_connect(&conn.rx) else {
                    return;
                };
                conn.reader = Some(Reader::new(level));
                conn.level = level;
            }
            let Some(reader) = conn.reader.as_mut() else {
                return;
            };
            match reader.read(&mut conn.rx) {
                Ok(Some(f)) => {
                    if let Some(max) = conn.max_in.filter(|max| f.len > *max) {
                        panic!(
                            "[5.0 MQTT-3.2.2-15] client sent a {}-byte {:?}, above the broker's \
                             Maximum Packet Size {max}",
                            f.len,
                            f.packet.packet_type()
                        );
                    }
                    self.handle(id, f)
                }
                Ok(None) => return,
                Err(e) => {
                    let cite = match e {
                        ReadError::AliasZero => " [5.0 MQTT-3.3.2-8]",
                        ReadError::AliasAbove(_, 0) => " [5.0 MQTT-3.2.2-18]",
                        ReadError::AliasAbove(..) => " [5.0 MQTT-3.2.2-17] [5.0 MQTT-3.3.2-9]",
                        _ => "",
                    };
                    panic!("client sent {e}{cite}")
                }
            }
        }
    }

    fn handle(&mut self, id: ConnId, f: Frame) {
        if f.alias.is_some() {
            if let Some(v5) = self.v5.as_mut() {
                v5.counts.aliases_in += 1;
            }
        }
        let Frame {
            packet: p,
            connect: props,
            ..
        } = f;
        let client = self.conns.get(&id).and_then(|c| c.client_id.clone());
        let Some(client) = client else {
            let Packet::Connect(connect) = p else {
                panic!("[MQTT-3.1.0-1] first packet must be CONNECT, got {p:?}");
            };
            self.on_connect(id, *connect, props);
            self.misbehave();
            return;
        };
        let client_pid = match &p {
            Packet::Publish(p) => p.pid(),
            Packet::Subscribe(s) => Some(s.pid),
            Packet::Unsubscribe(u) => Some(u.pid),
            _ => None,
        };
        if let (Some(pid), Some(c)) = (client_pid, self.conns.get_mut(&id)) {
            c.client_pid = pid.get();
        }
        match p {
            Packet::Connect(_) => panic!("[MQTT-3.1.0-2] second CONNECT"),
            Packet::Publish(p) => self.on_publish(id, &client, p),
            Packet::PubRel(r) => {
                let refused = self
                    .conns
                    .get(&id)
                    .and_then(|c| c.refused_qos2.get(&r.pid.get()));
                if let Some(code) = refused {
                    panic!(
                        "[5.0 MQTT-4.3.3-4] [5.0 MQTT-4.4.0-2] PUBREL {} answers a PUBREC that \
                         refused the message with {code:?}",
                        r.pid
                    );
                }
                if let Some(s) = self.sessions.get_mut(&client) {
                    s.inbound_qos2.remove(&r.pid.get());
                }
                self.send(id, Packet::PubComp(PubComp::new(r.pid)));
            }
            Packet::PubAck(a) => {
                self.answered(id, a.pid);
                self.finish(&client, a.pid, false);
            }
            Packet::PubRec(r) => {
                self.answered(id, r.pid);
                let mut release = false;
                if let Some(s) = self.sessions.get_mut(&client) {
                    if let Some(entry) = s
                        .inflight
                        .iter_mut()
                        .find(|(p, m, _)| *p == r.pid && m.qos == QoS::ExactlyOnce)
                    {
                        entry.2 = true;
                        release = true;
                    }
                }
                if release {
                    self.send(id, Packet::PubRel(PubRel::new(r.pid)));
                }
            }
            Packet::PubComp(c) => {
                if let Some(conn) = self.conns.get_mut(&id) {
                    let i = conn.pubrels.iter().position(|p| *p == c.pid);
                    let answered = i.and_then(|i| conn.pubrels.remove(i));
                    assert!(
                        answered.is_some(),
                        "[MQTT-4.3.3-2] PUBCOMP {} answers no PUBREL",
                        c.pid
                    );
                }
                if self.finish(&client, c.pid, true) {
                    if let Some(conn) = self.conns.get_mut(&id) {
                        conn.completed_qos2.push(c.pid);
                    }
                }
            }
            Packet::Subscribe(sub) => {
                if let Some(c) = self.conns.get_mut(&id) {
                    let filters = sub.filters.iter().map(|(f, _)| f.clone()).collect();
                    c.subscribes.push((sub.pid.get(), filters));
                }
                let refuse = self
                    .plan
                    .as_mut()
                    .and_then(|plan| plan.refuse_filter(sub.filters.len()));
                if refuse.is_some() {
                    self.count(Misbehaviour::SubAckFailure);
                }
                let s = self.sessions.entry(client.clone()).or_default();
                let mut codes = Vec::new();
                for (i, (filter, qos)) in sub.filters.into_iter().enumerate() {
                    if refuse == Some(i) {
                        // Refused: the filter is not subscribed, nor is an
                        // earlier subscription to it kept.
                        s.subs.retain(|(f, _)| *f != filter);
                        codes.push(SubscribeReturnCode::Failure);
                        continue;
                    }
                    s.subs.retain(|(f, _)| *f != filter);
                    s.subs.push((filter, qos));
                    codes.push(SubscribeReturnCode::Success(qos));
                }
                let suback = Packet::SubAck(SubAck {
                    pid: sub.pid,
                    return_codes: codes,
                });
                let extra = Extra {
                    reason: Some(ReasonCode::NotAuthorized),
                    ..Extra::default()
                };
                self.send_x(id, suback, extra);
            }
            Packet::Unsubscribe(u) => {
                // 5.0 says, per filter, whether there was a subscription.
                let mut codes = Vec::new();
                if let Some(s) = self.sessions.get_mut(&client) {
                    for f in &u.filters {
                        let held = s.subs.iter().any(|(g, _)| g == f);
                        codes.push(if held {
                            ReasonCode::Success
                        } else {
                            ReasonCode::NoSubscriptionExisted
                        });
                    }
                    s.subs.retain(|(f, _)| !u.filters.contains(f));
                }
                codes.resize(u.filters.len(), ReasonCode::NoSubscriptionExisted);
                let level = self.conns.get(&id).map_or(Level::V311, |c| c.level);
                if let Some(v5) = self.v5.as_mut().filter(|_| level == Level::V5) {
                    let missing = codes.iter().filter(|c| **c != ReasonCode::Success);
                    v5.counts.no_subscription += missing.count() as u64;
                }
                let extra = Extra {
                    unsubscribed: codes,
                    ..Extra::default()
                };
                self.send_x(id, Packet::UnsubAck(UnsubAck::new(u.pid)), extra);
            }
            Packet::PingReq => {
                if self.plan.as_mut().is_some_and(Plan::slow_ping) {
                    self.count(Misbehaviour::SlowPingResp);
                    let b = self.bytes(id, Packet::PingResp, Extra::default());
                    self.send_piece(id, b, Pace::NearPingTimeout, None);
                } else {
                    self.send(id, Packet::PingResp);
                }
            }
            Packet::Disconnect => {
                if let Some(c) = self.conns.get_mut(&id) {
                    c.closed = true;
                }
            }
            other => panic!("a client never sends {:?}", other.packet_type()),
        }
        self.pump(&client);
        self.server_disconnect(id);
        self.misbehave();
    }

    /// At 5.0, now and then, the broker ends the connection with DISCONNECT
    /// and a reason, as one shutting down or shedding load does.
    fn server_disconnect(&mut self, id: ConnId) {
        let Some(c) = self.conns.get(&id) else {
            return;
        };
        if c.level != Level::V5 || c.violated || c.closed || c.client_id.is_none() {
            return;
        }
        let Some(reason) = self.v5.as_mut().and_then(V5Plan::disconnect) else {
            return;
        };
        let extra = Extra {
            reason: Some(reason),
            ..Extra::default()
        };
        self.send_x(id, Packet::Disconnect, extra);
        if let Some(c) = self.conns.get_mut(&id) {
            c.closed = true;
        }
    }

    /// The client answered a PUBLISH with PUBACK or PUBREC: every PUBLISH
    /// of QoS 1 or 2 is answered, copies included [MQTT-4.3.2-2]
    /// [MQTT-4.3.3-2], in the order they arrived [MQTT-4.6.0-2]
    /// [MQTT-4.6.0-3].
    fn answered(&mut self, id: ConnId, pid: PacketId) {
        if let Some(c) = self.conns.get_mut(&id) {
            let first = c.owed.pop_front();
            assert!(
                first == Some(pid),
                "[MQTT-4.3.2-2] [MQTT-4.3.3-2] [MQTT-4.6.0-2] [MQTT-4.6.0-3] the client answered \
                 PUBLISH {pid} while PUBLISH {}, which arrived before it, is unanswered",
                first.map_or(0, PacketId::get),
            );
        }
    }
}
