//! A model MQTT 3.1.1 broker for the simulation: the broker's side of
//! sessions, persistent ones included, kept small enough to trust.
//!
//! It routes PUBLISH to matching subscriptions at the lower of the two QoS,
//! answers every QoS flow, keeps a session's subscriptions, unacknowledged
//! outgoing messages and QoS 2 receipt state across connections when
//! CleanSession is 0, and resends with DUP when such a session resumes
//! [MQTT-4.4.0-1]. It panics (failing the schedule) on any malformed packet
//! or protocol breach by a client, so the simulation also checks that the
//! client never sends one.

use bytes::{Bytes, BytesMut};
use mqtt_proto::packet::{
    self, ConnAck, ConnectReturnCode, Packet, PubAck, PubComp, PubRec, PubRel, Publish, QosPid,
    SubAck, SubscribeReturnCode, UnsubAck,
};
use mqtt_proto::{PacketId, QoS, TopicFilter, TopicName};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

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
    /// QoS 2 ids received from the client and not yet released.
    inbound_qos2: BTreeSet<u16>,
    queue: VecDeque<Stored>,
    /// In send order: (id, message, PUBREL sent).
    inflight: Vec<(PacketId, Stored, bool)>,
    next_pid: u16,
}

impl Session {
    fn allocate(&mut self) -> PacketId {
        loop {
            self.next_pid = self.next_pid.wrapping_add(1);
            if let Some(id) = PacketId::new(self.next_pid) {
                if !self.inflight.iter().any(|(p, _, _)| *p == id) {
                    return id;
                }
            }
        }
    }
}

#[derive(Debug, Default)]
struct Conn {
    rx: BytesMut,
    tx: BytesMut,
    client_id: Option<String>,
    /// The broker closed this connection (after DISCONNECT).
    closed: bool,
    /// QoS 1 and 2 PUBLISH sent on this connection and not yet answered,
    /// in send order: the client must answer in this order [MQTT-4.6.0-2],
    /// [MQTT-4.6.0-3].
    owed: VecDeque<PacketId>,
}

/// The model broker.
#[derive(Debug, Default)]
pub struct ModelBroker {
    sessions: HashMap<String, Session>,
    conns: HashMap<ConnId, Conn>,
    /// Messages routed, for statistics.
    pub routed: u64,
}

fn encode(buf: &mut BytesMut, p: Packet) {
    p.encode(buf)
        .expect("the model broker only builds valid packets");
}

impl ModelBroker {
    pub fn new() -> Self {
        Self::default()
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
                self.sessions.remove(&client);
            }
        }
    }

    /// Whether the broker has closed this connection itself.
    pub fn has_closed(&self, id: ConnId) -> bool {
        self.conns.get(&id).is_none_or(|c| c.closed)
    }

    /// Bytes the broker wants to send on `id`.
    pub fn take_output(&mut self, id: ConnId) -> Option<Bytes> {
        let conn = self.conns.get_mut(&id)?;
        if conn.tx.is_empty() {
            None
        } else {
            Some(conn.tx.split().freeze())
        }
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
            match packet::decode(&mut conn.rx, usize::MAX) {
                Ok(Some(p)) => self.handle(id, p),
                Ok(None) => return,
                Err(e) => panic!("client sent a malformed packet: {e}"),
            }
        }
    }

    fn handle(&mut self, id: ConnId, p: Packet) {
        let client = self.conns.get(&id).and_then(|c| c.client_id.clone());
        let Some(client) = client else {
            let Packet::Connect(connect) = p else {
                panic!("[MQTT-3.1.0-1] first packet must be CONNECT, got {p:?}");
            };
            self.on_connect(id, *connect);
            return;
        };
        match p {
            Packet::Connect(_) => panic!("[MQTT-3.1.0-2] second CONNECT"),
            Packet::Publish(p) => self.on_publish(id, &client, p),
            Packet::PubRel(r) => {
                if let Some(s) = self.sessions.get_mut(&client) {
                    s.inbound_qos2.remove(&r.pid.get());
                }
                self.send(id, Packet::PubComp(PubComp::new(r.pid)));
            }
            Packet::PubAck(a) => {
                self.answered(id, a.pid);
                self.finish(&client, a.pid, false)
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
            Packet::PubComp(c) => self.finish(&client, c.pid, true),
            Packet::Subscribe(sub) => {
                let s = self.sessions.entry(client.clone()).or_default();
                let mut codes = Vec::new();
                for (filter, qos) in sub.filters {
                    s.subs.retain(|(f, _)| *f != filter);
                    s.subs.push((filter, qos));
                    codes.push(SubscribeReturnCode::Success(qos));
                }
                self.send(
                    id,
                    Packet::SubAck(SubAck {
                        pid: sub.pid,
                        return_codes: codes,
                    }),
                );
            }
            Packet::Unsubscribe(u) => {
                if let Some(s) = self.sessions.get_mut(&client) {
                    s.subs.retain(|(f, _)| !u.filters.contains(f));
                }
                self.send(id, Packet::UnsubAck(UnsubAck::new(u.pid)));
            }
            Packet::PingReq => self.send(id, Packet::PingResp),
            Packet::Disconnect => {
                if let Some(c) = self.conns.get_mut(&id) {
                    c.closed = true;
                }
            }
            other => panic!("a client never sends {:?}", other.packet_type()),
        }
        self.pump(&client);
    }

    fn send(&mut self, id: ConnId, p: Packet) {
        if let Some(c) = self.conns.get_mut(&id) {
            if let Packet::Publish(publish) = &p {
                c.owed.extend(publish.pid());
            }
            encode(&mut c.tx, p);
        }
    }

    /// The client answered a PUBLISH with PUBACK or PUBREC.
    fn answered(&mut self, id: ConnId, pid: PacketId) {
        if let Some(c) = self.conns.get_mut(&id) {
            let first = c.owed.pop_front();
            assert_eq!(
                first,
                Some(pid),
                "[MQTT-4.6.0-2] [MQTT-4.6.0-3] acks out of arrival order"
            );
        }
    }

    fn on_connect(&mut self, id: ConnId, connect: packet::Connect) {
        let client = connect.client_id.to_string();
        assert!(
            !client.is_empty(),
            "the simulation always names its clients"
        );
        // A second connection with the same id takes the session over.
        let old = self.sessions.get(&client).and_then(|s| s.conn);
        if let Some(old) = old {
            if old != id {
                if let Some(c) = self.conns.get_mut(&old) {
                    c.closed = true;
                }
            }
        }
        let present = !connect.clean_session && self.sessions.contains_key(&client);
        if !present {
            self.sessions.insert(client.clone(), Session::default());
        }
        let s = self.sessions.entry(client.clone()).or_default();
        s.conn = Some(id);
        s.clean = connect.clean_session;
        if let Some(c) = self.conns.get_mut(&id) {
            c.client_id = Some(client.clone());
        }
        self.send(
            id,
            Packet::ConnAck(ConnAck {
                session_present: present,
                code: ConnectReturnCode::Accepted,
            }),
        );
        // [MQTT-4.4.0-1] resend what the session left unacknowledged.
        let resend: Vec<(PacketId, Stored, bool)> = self
            .sessions
            .get(&client)
            .map(|s| s.inflight.clone())
            .unwrap_or_default();
        for (pid, m, released) in resend {
            let p = if released {
                Packet::PubRel(PubRel::new(pid))
            } else {
                Packet::Publish(publish(&m, pid, true))
            };
            self.send(id, p);
        }
        self.pump(&client);
    }

    fn on_publish(&mut self, id: ConnId, client: &str, p: Publish) {
        match p.qos_pid {
            QosPid::AtMostOnce => self.route(&p),
            QosPid::AtLeastOnce(pid) => {
                self.route(&p);
                self.send(id, Packet::PubAck(PubAck::new(pid)));
            }
            QosPid::ExactlyOnce(pid) => {
                let new = self
                    .sessions
                    .get_mut(client)
                    .is_some_and(|s| s.inbound_qos2.insert(pid.get()));
                if new {
                    self.route(&p);
                } else {
                    assert!(
                        p.dup,
                        "[MQTT-2.3.1-2] QoS 2 id {pid} reused before PUBREL without DUP"
                    );
                }
                self.send(id, Packet::PubRec(PubRec::new(pid)));
            }
        }
    }

    fn route(&mut self, p: &Publish) {
        for s in self.sessions.values_mut() {
            // A clean session without a connection is gone already; one
            // with CleanSession 0 queues for later [MQTT-3.1.2-4].
            let best = s
                .subs
                .iter()
                .filter(|(f, _)| f.matches(&p.topic))
                .map(|(_, q)| *q)
                .max();
            if let Some(sub_qos) = best {
                self.routed += 1;
                s.queue.push_back(Stored {
                    topic: p.topic.clone(),
                    payload: p.payload.clone(),
                    qos: sub_qos.min(p.qos()),
                });
            }
        }
        let clients: Vec<String> = self.sessions.keys().cloned().collect();
        for c in clients {
            self.pump(&c);
        }
    }

    fn finish(&mut self, client: &str, pid: PacketId, qos2: bool) {
        if let Some(s) = self.sessions.get_mut(client) {
            s.inflight.retain(|(p, m, released)| {
                !(*p == pid && (m.qos == QoS::ExactlyOnce) == qos2 && (!qos2 || *released))
            });
        }
    }

    /// Sends queued messages to a connected session while its window allows.
    fn pump(&mut self, client: &str) {
        let Some(s) = self.sessions.get_mut(client) else {
            return;
        };
        let Some(id) = s.conn else {
            return;
        };
        let mut out = Vec::new();
        while let Some(m) = s.queue.front() {
            if m.qos != QoS::AtMostOnce && s.inflight.len() >= WINDOW {
                break;
            }
            let Some(m) = s.queue.pop_front() else { break };
            if m.qos == QoS::AtMostOnce {
                out.push(Packet::Publish(Publish {
                    dup: false,
                    qos_pid: QosPid::AtMostOnce,
                    retain: false,
                    topic: m.topic,
                    payload: m.payload,
                }));
            } else {
                let pid = s.allocate();
                out.push(Packet::Publish(publish(&m, pid, false)));
                s.inflight.push((pid, m, false));
            }
        }
        for p in out {
            self.send(id, p);
        }
    }

    /// Messages still held for `client` (queued or unacknowledged).
    pub fn backlog(&self, client: &str) -> usize {
        self.sessions
            .get(client)
            .map_or(0, |s| s.queue.len() + s.inflight.len())
    }

    /// QoS 2 ids from `client` awaiting PUBREL.
    pub fn inbound_qos2(&self, client: &str) -> Vec<u16> {
        self.sessions
            .get(client)
            .map(|s| s.inbound_qos2.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Subscriptions the broker holds for `client`.
    pub fn subscriptions(&self, client: &str) -> BTreeMap<String, QoS> {
        self.sessions
            .get(client)
            .map(|s| s.subs.iter().map(|(f, q)| (f.to_string(), *q)).collect())
            .unwrap_or_default()
    }
}

fn publish(m: &Stored, pid: PacketId, dup: bool) -> Publish {
    Publish {
        dup,
        qos_pid: match m.qos {
            QoS::ExactlyOnce => QosPid::ExactlyOnce(pid),
            _ => QosPid::AtLeastOnce(pid),
        },
        retain: false,
        topic: m.topic.clone(),
        payload: m.payload.clone(),
    }
}
