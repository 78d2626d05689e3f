//! A deterministic simulation of MQTT clients, a model broker and a faulty
//! network, on a virtual clock.
//!
//! Two [`Connection`]s (a publisher and a persistent-session subscriber)
//! talk to a [`ModelBroker`] over links that split every write at random
//! points, delay it, and cut the connection at any byte. A seed fixes
//! everything: the schedule of commands and every fault, so a failing run
//! replays exactly from its seed.
//!
//! [`run`] plays one schedule and checks the invariants the client promises:
//! every QoS 1 message reported complete reached the subscriber at least once,
//! every QoS 2 message exactly once, no QoS 0 message twice, no packet id
//! reused while in flight, and once the faults stop, both clients reconnect
//! and every accepted publish completes.

mod broker;
mod rng;

pub use broker::{ConnId, ModelBroker};
pub use rng::Rng;

use bytes::{Bytes, BytesMut};
use core::time::Duration;
use mqtt_proto::packet::{self, Packet};
use mqtt_proto::{
    Backoff, Connection, DisconnectReason, Event, Instant, Message, MqttString, Options, PublishId,
    QoS, TopicFilter,
};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// The fault and workload knobs of one schedule.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Chance that a write is cut somewhere inside, ending the connection.
    pub cut: f64,
    /// Largest one-way delay, in milliseconds.
    pub max_delay_ms: u64,
    /// Commands in the schedule.
    pub ops: usize,
}

/// What one schedule did, for the summary line.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub published: u64,
    pub delivered: u64,
    pub cuts: u64,
    pub reconnects: u64,
    pub queue_full: u64,
}

#[derive(Debug)]
enum Item {
    Data(Bytes),
    Cut,
}

#[derive(Debug)]
struct Link {
    id: ConnId,
    to_broker: VecDeque<(Instant, Item)>,
    to_client: VecDeque<(Instant, Item)>,
    /// Set once a cut is scheduled: later writes vanish.
    cutting: bool,
    /// Decoder of what the client received, for the packet-id checks.
    client_rx: BytesMut,
}

impl Link {
    fn next_due(&self) -> Option<Instant> {
        let a = self.to_broker.front().map(|(t, _)| *t);
        let b = self.to_client.front().map(|(t, _)| *t);
        a.into_iter().chain(b).min()
    }

    fn idle(&self) -> bool {
        self.to_broker.is_empty() && self.to_client.is_empty()
    }
}

/// Packet ids the client has open, seen from the wire: opened by a PUBLISH
/// (QoS > 0), SUBSCRIBE or UNSUBSCRIBE it sent, closed by the ack it
/// received. [MQTT-2.3.1-2]: a new exchange never takes an open id.
#[derive(Debug, Default)]
struct PidTracker {
    open: HashMap<u16, Packet>,
}

impl PidTracker {
    fn on_sent(&mut self, p: &Packet) -> Result<(), String> {
        match p {
            Packet::Publish(publish) => {
                let Some(pid) = publish.pid() else {
                    return Ok(());
                };
                match (self.open.get(&pid.get()), publish.dup) {
                    (Some(_), false) => Err(format!(
                        "[MQTT-2.3.1-2] new PUBLISH reuses open packet id {pid}"
                    )),
                    (None, true) => Err(format!(
                        "[MQTT-2.3.1-3] DUP resend of packet id {pid}, which was already acknowledged"
                    )),
                    _ => {
                        self.open.insert(pid.get(), p.clone());
                        Ok(())
                    }
                }
            }
            Packet::Subscribe(s) => self.request(s.pid.get(), p),
            Packet::Unsubscribe(u) => self.request(u.pid.get(), p),
            _ => Ok(()),
        }
    }

    fn request(&mut self, pid: u16, p: &Packet) -> Result<(), String> {
        match self.open.get(&pid) {
            Some(prev) if prev != p => Err(format!(
                "[MQTT-2.3.1-2] request reuses open packet id {pid}"
            )),
            _ => {
                self.open.insert(pid, p.clone());
                Ok(())
            }
        }
    }

    fn on_received(&mut self, p: &Packet) {
        match p {
            Packet::PubAck(a) => {
                self.open.remove(&a.pid.get());
            }
            Packet::PubComp(c) => {
                self.open.remove(&c.pid.get());
            }
            Packet::SubAck(s) => {
                self.open.remove(&s.pid.get());
            }
            Packet::UnsubAck(u) => {
                self.open.remove(&u.pid.get());
            }
            Packet::ConnAck(c) if !c.session_present => {
                // The session is gone: unacknowledged messages are new ones.
                self.open.retain(|_, p| !matches!(p, Packet::Publish(_)));
            }
            _ => {}
        }
    }
}

struct Client {
    id: String,
    conn: Connection,
    link: Option<Link>,
    reconnect_at: Option<Instant>,
    backoff: Backoff,
    tracker: PidTracker,
    events: Vec<Event>,
    /// Manual-ack tokens the application has not used yet.
    unacked: Vec<mqtt_proto::AckToken>,
}

impl Client {
    fn new(id: &str, clean: bool, seed: u64, rng: &mut Rng) -> Client {
        let options = Options::new(MqttString::try_from(id).expect("valid id"))
            .with_clean_session(clean)
            .with_keep_alive(Duration::from_secs(5))
            .with_max_inflight([1, 2, 8][rng.below(3) as usize])
            .with_max_queued([4, 64][rng.below(2) as usize])
            .with_manual_acks(rng.chance(0.3));
        Client {
            id: id.to_string(),
            conn: Connection::new(options).expect("valid options"),
            link: None,
            reconnect_at: Some(Instant::ZERO),
            backoff: Backoff::new(Duration::from_millis(50), Duration::from_secs(2), seed),
            tracker: PidTracker::default(),
            events: Vec::new(),
            unacked: Vec::new(),
        }
    }
}

/// The network's weather: its generator, fault knobs and counters.
struct Network {
    rng: Rng,
    faults: Faults,
    faults_on: bool,
    stats: Stats,
}

impl Network {
    /// Schedules a write on a link, split at random points, maybe cut.
    fn schedule(&mut self, link: &mut Link, now: Instant, to_broker: bool, bytes: Bytes) {
        if link.cutting {
            return;
        }
        let queue = if to_broker {
            &mut link.to_broker
        } else {
            &mut link.to_client
        };
        let mut at = queue.back().map_or(now, |(t, _)| *t).max(now);
        let cut_point = if self.faults_on && self.rng.chance(self.faults.cut) {
            Some(self.rng.below(bytes.len() as u64 + 1) as usize)
        } else {
            None
        };
        let mut data = match cut_point {
            Some(n) => bytes.slice(..n),
            None => bytes,
        };
        while !data.is_empty() {
            let take = if self.rng.chance(0.5) {
                data.len()
            } else {
                1 + self.rng.below(data.len() as u64) as usize
            };
            at = at + Duration::from_millis(self.rng.below(self.faults.max_delay_ms + 1));
            queue.push_back((at, Item::Data(data.split_to(take))));
        }
        if cut_point.is_some() {
            self.stats.cuts += 1;
            link.cutting = true;
            queue.push_back((at, Item::Cut));
        }
    }
}

/// The simulated world: clients, links, broker and the clock.
struct World {
    now: Instant,
    net: Network,
    broker: ModelBroker,
    clients: Vec<Client>,
    next_conn: ConnId,
}

const PUBLISHER: usize = 0;
const SUBSCRIBER: usize = 1;

impl World {
    fn new(seed: u64, faults: Faults, publisher_clean: bool) -> World {
        let mut rng = Rng::new(seed);
        let publisher = Client::new("publisher", publisher_clean, seed ^ 1, &mut rng);
        let subscriber = Client::new("subscriber", false, seed ^ 2, &mut rng);
        World {
            now: Instant::ZERO,
            net: Network {
                rng,
                faults,
                faults_on: false,
                stats: Stats::default(),
            },
            broker: ModelBroker::new(),
            clients: vec![publisher, subscriber],
            next_conn: 1,
        }
    }

    /// Moves everything the endpoints want to send onto the links and
    /// handles client events. Returns an invariant breach, if any.
    fn flush(&mut self) -> Result<(), String> {
        for i in 0..self.clients.len() {
            loop {
                let now = self.now;
                let c = &mut self.clients[i];
                let Some(bytes) = c.conn.poll_transmit(now) else {
                    break;
                };
                let mut wire = BytesMut::from(&bytes[..]);
                while let Some(p) = packet::decode(&mut wire, usize::MAX)
                    .map_err(|e| format!("{} sent a malformed packet: {e}", c.id))?
                {
                    if std::env::var("SIM_TRACE").is_ok() {
                        eprintln!("{:?} {} -> {:?}", now, c.id, p);
                    }
                    c.tracker
                        .on_sent(&p)
                        .map_err(|e| format!("{}: {e}", c.id))?;
                }
                if !wire.is_empty() {
                    return Err(format!("{} sent a partial packet", c.id));
                }
                if let Some(link) = c.link.as_mut() {
                    self.net.schedule(link, now, true, bytes);
                }
            }
            while let Some(e) = self.clients[i].conn.poll_event() {
                if std::env::var("SIM_TRACE").is_ok() {
                    eprintln!("{:?} {} event {:?}", self.now, self.clients[i].id, e);
                }
                self.on_event(i, &e);
                self.clients[i].events.push(e);
            }
        }
        for i in 0..self.clients.len() {
            let Some(id) = self.clients[i].link.as_ref().map(|l| l.id) else {
                continue;
            };
            while let Some(bytes) = self.broker.take_output(id) {
                if let Some(link) = self.clients[i].link.as_mut() {
                    self.net.schedule(link, self.now, false, bytes);
                }
            }
            if self.broker.has_closed(id) && self.clients[i].link.as_ref().is_some_and(Link::idle) {
                // The broker closed (after DISCONNECT, or a takeover).
                self.teardown(i);
                self.clients[i].conn.handle_closed(self.now);
            }
        }
        Ok(())
    }

    fn on_event(&mut self, i: usize, e: &Event) {
        match e {
            Event::Disconnected { reason } => {
                // The client closes the transport: what it wrote before still
                // reaches the broker (TCP delivers it before the FIN).
                if let Some(mut link) = self.clients[i].link.take() {
                    while let Some((_, item)) = link.to_broker.pop_front() {
                        if let Item::Data(d) = item {
                            self.broker.receive(link.id, &d);
                        }
                    }
                    self.broker.close(link.id);
                }
                let delay = if *reason == DisconnectReason::Requested {
                    Duration::from_millis(10 + self.net.rng.below(500))
                } else {
                    self.clients[i].backoff.next_delay()
                };
                self.clients[i].reconnect_at = Some(self.now + delay);
            }
            Event::Connected { .. } => self.clients[i].backoff.reset(),
            Event::Message { ack, .. } => {
                self.net.stats.delivered += 1;
                self.clients[i].unacked.extend(*ack);
            }
            _ => {}
        }
    }

    fn teardown(&mut self, i: usize) {
        if let Some(link) = self.clients[i].link.take() {
            self.broker.close(link.id);
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.clients
            .iter()
            .flat_map(|c| {
                [
                    c.conn.poll_timeout(),
                    c.reconnect_at,
                    c.link.as_ref().and_then(Link::next_due),
                ]
            })
            .flatten()
            .min()
    }

    /// Advances the clock to `until` (or the next deadline before it) and
    /// handles everything due.
    fn step(&mut self, until: Instant) -> Result<(), String> {
        self.flush()?;
        let next = self.next_deadline().map_or(until, |d| d.min(until));
        self.now = self.now.max(next);
        let now = self.now;
        for i in 0..self.clients.len() {
            if self.clients[i].reconnect_at.is_some_and(|t| t <= now)
                && self.clients[i].link.is_none()
            {
                self.clients[i].reconnect_at = None;
                let id = self.next_conn;
                self.next_conn += 1;
                self.broker.open(id);
                self.net.stats.reconnects += 1;
                self.clients[i].link = Some(Link {
                    id,
                    to_broker: VecDeque::new(),
                    to_client: VecDeque::new(),
                    cutting: false,
                    client_rx: BytesMut::new(),
                });
                self.clients[i].conn.connect(now);
            }
            self.deliver(i)?;
            // The application acks in its own order and time; the client
            // must still send the acks in arrival order [MQTT-4.6.0-2].
            while !self.clients[i].unacked.is_empty() && self.net.rng.chance(0.5) {
                let k = self.net.rng.below(self.clients[i].unacked.len() as u64) as usize;
                let token = self.clients[i].unacked.swap_remove(k);
                let _ = self.clients[i].conn.ack(token);
            }
            if self.clients[i]
                .conn
                .poll_timeout()
                .is_some_and(|t| t <= now)
            {
                self.clients[i].conn.handle_timeout(now);
            }
        }
        self.flush()
    }

    fn deliver(&mut self, i: usize) -> Result<(), String> {
        let now = self.now;
        loop {
            let c = &mut self.clients[i];
            let Some(link) = c.link.as_mut() else {
                return Ok(());
            };
            let to_broker_due = link.to_broker.front().is_some_and(|(t, _)| *t <= now);
            let to_client_due = link.to_client.front().is_some_and(|(t, _)| *t <= now);
            let item = if to_broker_due {
                link.to_broker.pop_front()
            } else if to_client_due {
                link.to_client.pop_front()
            } else {
                return Ok(());
            };
            let id = link.id;
            match item {
                Some((_, Item::Data(d))) if to_broker_due => self.broker.receive(id, &d),
                Some((_, Item::Data(d))) => {
                    link.client_rx.extend_from_slice(&d);
                    while let Some(p) = packet::decode(&mut link.client_rx, usize::MAX)
                        .map_err(|e| format!("broker sent a malformed packet: {e}"))?
                    {
                        if std::env::var("SIM_TRACE").is_ok() {
                            eprintln!("{:?} {} <- {:?}", now, c.id, p);
                        }
                        c.tracker.on_received(&p);
                    }
                    c.conn.handle_read(now, &d);
                }
                Some((_, Item::Cut)) => {
                    self.teardown(i);
                    self.clients[i].conn.handle_closed(now);
                }
                None => return Ok(()),
            }
        }
    }

    fn settled(&self) -> bool {
        let p = &self.clients[PUBLISHER].conn;
        let s = &self.clients[SUBSCRIBER].conn;
        p.is_connected()
            && s.is_connected()
            && p.queued() == 0
            && p.inflight() == 0
            && p.pending_requests() == 0
            && s.pending_requests() == 0
            && self.broker.backlog("subscriber") == 0
            && self.broker.inbound_qos2("publisher").is_empty()
            && self
                .clients
                .iter()
                .all(|c| c.link.as_ref().is_some_and(Link::idle))
    }
}

/// One published message, as the schedule knows it.
#[derive(Debug, Clone, Copy)]
struct Sent {
    qos: QoS,
    id: PublishId,
}

/// Plays the schedule of `seed` and checks every invariant.
pub fn run(seed: u64, faults: &Faults) -> Result<Stats, String> {
    let mut rng = Rng::new(seed.wrapping_mul(31));
    let publisher_clean = rng.chance(0.25);
    let mut w = World::new(seed, faults.clone(), publisher_clean);

    // Phase 1, no faults: the subscriber's persistent subscription is made.
    let filter = TopicFilter::try_from("sim/#").map_err(|e| e.to_string())?;
    w.clients[SUBSCRIBER]
        .conn
        .subscribe(vec![(filter, QoS::ExactlyOnce)])
        .map_err(|e| e.to_string())?;
    let deadline = Instant::from_millis(120_000);
    while !w.clients[SUBSCRIBER]
        .events
        .iter()
        .any(|e| matches!(e, Event::Subscribed { .. }))
    {
        if w.now >= deadline {
            return Err("subscriber never subscribed".into());
        }
        w.step(deadline)?;
    }

    // Phase 2: the schedule, with faults.
    w.net.faults_on = true;
    let mut sent: BTreeMap<u64, Sent> = BTreeMap::new();
    let mut next_msg = 0u64;
    for _ in 0..faults.ops {
        let at = w.now + Duration::from_millis(rng.below(400));
        while w.now < at {
            w.step(at)?;
        }
        let now = w.now;
        let publisher = &mut w.clients[PUBLISHER];
        match rng.below(20) {
            0..=13 => {
                let qos =
                    [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][rng.below(3) as usize];
                let n = next_msg;
                next_msg += 1;
                let topic = format!("sim/{}", n % 5);
                let message =
                    Message::new(&topic, format!("m{n}"), qos).map_err(|e| e.to_string())?;
                match publisher.conn.publish(message) {
                    Ok(id) => {
                        w.net.stats.published += 1;
                        sent.insert(n, Sent { qos, id });
                    }
                    Err(mqtt_proto::PublishError::QueueFull) => w.net.stats.queue_full += 1,
                    Err(e) => return Err(format!("publish refused: {e}")),
                }
            }
            14 | 15 => {
                let f = TopicFilter::try_from(format!("other/{}", rng.below(4)))
                    .map_err(|e| e.to_string())?;
                let _ = publisher.conn.subscribe(vec![(f, QoS::AtLeastOnce)]);
            }
            16 => {
                let f = TopicFilter::try_from(format!("other/{}", rng.below(4)))
                    .map_err(|e| e.to_string())?;
                let _ = publisher.conn.unsubscribe(vec![f]);
            }
            17 => publisher.conn.disconnect(now),
            _ => {
                // Cut a random client's connection right now.
                let i = rng.below(2) as usize;
                if let Some(link) = w.clients[i].link.as_mut() {
                    if !link.cutting {
                        link.cutting = true;
                        w.net.stats.cuts += 1;
                        link.to_broker.push_back((now, Item::Cut));
                    }
                }
            }
        }
    }

    // Phase 3: faults stop; everything must drain.
    w.net.faults_on = false;
    let drain_deadline = w.now + Duration::from_secs(600);
    while !w.settled() {
        if w.now >= drain_deadline {
            return Err(format!(
                "did not settle after the faults stopped: publisher connected={} queued={} inflight={}, subscriber connected={}, broker backlog={}",
                w.clients[PUBLISHER].conn.is_connected(),
                w.clients[PUBLISHER].conn.queued(),
                w.clients[PUBLISHER].conn.inflight(),
                w.clients[SUBSCRIBER].conn.is_connected(),
                w.broker.backlog("subscriber"),
            ));
        }
        w.step(drain_deadline)?;
    }

    check(&w, &sent, publisher_clean)?;
    Ok(w.net.stats)
}

fn check(w: &World, sent: &BTreeMap<u64, Sent>, publisher_clean: bool) -> Result<(), String> {
    // Completions: each accepted publish completed exactly once.
    let mut completed: HashMap<PublishId, u32> = HashMap::new();
    for e in &w.clients[PUBLISHER].events {
        if let Event::Published { id } = e {
            *completed.entry(*id).or_default() += 1;
        }
    }
    for (n, s) in sent {
        match completed.get(&s.id) {
            Some(1) => {}
            Some(k) => return Err(format!("message m{n} reported complete {k} times")),
            None => return Err(format!("message m{n} ({:?}) never completed", s.qos)),
        }
    }
    // Deliveries.
    let mut received: HashMap<u64, u32> = HashMap::new();
    for e in &w.clients[SUBSCRIBER].events {
        if let Event::Message { message, .. } = e {
            let text = std::str::from_utf8(&message.payload).map_err(|e| e.to_string())?;
            let n: u64 = text
                .strip_prefix('m')
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("unknown payload {text:?}"))?;
            if !sent.contains_key(&n) {
                return Err(format!("subscriber got m{n}, which was never accepted"));
            }
            *received.entry(n).or_default() += 1;
        }
    }
    for (n, s) in sent {
        let got = received.get(n).copied().unwrap_or(0);
        match s.qos {
            QoS::AtMostOnce if got > 1 => return Err(format!("QoS 0 m{n} delivered {got} times")),
            QoS::AtLeastOnce if got == 0 => {
                return Err(format!("QoS 1 m{n} completed but never delivered"))
            }
            QoS::ExactlyOnce if got == 0 => {
                return Err(format!("QoS 2 m{n} completed but never delivered"))
            }
            // Exactly once needs both sessions to persist: a publisher with a
            // clean session sends what its lost session held again.
            QoS::ExactlyOnce if got > 1 && !publisher_clean => {
                return Err(format!("[MQTT-4.3.3-2] QoS 2 m{n} delivered {got} times"))
            }
            _ => {}
        }
    }
    Ok(())
}
