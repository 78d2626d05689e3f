//! The simulated world: two clients, their links to the model broker, the
//! network's weather and the virtual clock, and the checks made as events
//! happen (the final ones are in `check`).
//!
//! Each link carries bytes both ways, split at random points, delayed, and
//! maybe cut. The world reads what the client reads, so it knows which
//! packets the client acted on and where in the stream the broker broke the
//! protocol, and holds the client to closing the connection there.

use super::broker::{ConnId, ModelBroker, Output, Pace};
use super::misbehaviour::{Misbehaviour, Plan};
use super::tracker::PidTracker;
use super::{Faults, Rng, Stats};
use bytes::{Bytes, BytesMut};
use core::time::Duration;
use mqtt_proto::packet::{self, Packet};
use mqtt_proto::{
    Backoff, Connection, DisconnectReason, Event, Instant, MqttString, Options, QoS, State,
    SubscribeOutcome, TopicFilter,
};
use std::collections::VecDeque;

/// The clients' keep-alive, and how long they wait for an answer to PINGREQ.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);
const PING_TIMEOUT: Duration = Duration::from_millis(2_500);

pub const PUBLISHER: usize = 0;
pub const SUBSCRIBER: usize = 1;
/// The subscriber's one subscription.
const FILTER: &str = "sim/#";

fn tracing() -> bool {
    std::env::var("SIM_TRACE").is_ok()
}

#[derive(Debug)]
enum Item {
    Data(Bytes),
    Cut,
}

/// Where the broker broke the protocol in a link's byte stream.
#[derive(Debug, Clone, Copy)]
struct Violation {
    kind: Misbehaviour,
    /// Offsets, in bytes the broker wrote on the link, of its first and
    /// one past its last byte.
    start: usize,
    end: usize,
}

#[derive(Debug)]
pub struct Link {
    id: ConnId,
    to_broker: VecDeque<(Instant, Item)>,
    to_client: VecDeque<(Instant, Item)>,
    /// Set once a cut is scheduled: later writes vanish.
    cutting: bool,
    /// Decoder of what the client received, for the packet-id checks.
    client_rx: BytesMut,
    /// Bytes scheduled towards the client, delivered to it, and decoded.
    written: usize,
    delivered: usize,
    decoded: usize,
    /// The first violation written on this link.
    violation: Option<Violation>,
    /// When the client last sent PINGREQ, and last received a packet.
    ping_sent: Option<Instant>,
    last_packet: Instant,
}

impl Link {
    fn new(id: ConnId, now: Instant) -> Link {
        Link {
            id,
            to_broker: VecDeque::new(),
            to_client: VecDeque::new(),
            cutting: false,
            client_rx: BytesMut::new(),
            written: 0,
            delivered: 0,
            decoded: 0,
            violation: None,
            ping_sent: None,
            last_packet: now,
        }
    }

    fn next_due(&self) -> Option<Instant> {
        let a = self.to_broker.front().map(|(t, _)| *t);
        let b = self.to_client.front().map(|(t, _)| *t);
        a.into_iter().chain(b).min()
    }

    pub fn idle(&self) -> bool {
        self.to_broker.is_empty() && self.to_client.is_empty()
    }

    /// Cuts the link now, from the client's side.
    pub fn cut(&mut self, now: Instant) -> bool {
        if self.cutting {
            return false;
        }
        self.cutting = true;
        self.to_broker.push_back((now, Item::Cut));
        true
    }
}

pub struct Client {
    pub id: String,
    pub conn: Connection,
    pub link: Option<Link>,
    reconnect_at: Option<Instant>,
    backoff: Backoff,
    pub tracker: PidTracker,
    pub events: Vec<Event>,
    /// Manual-ack tokens the application has not used yet.
    unacked: Vec<mqtt_proto::AckToken>,
    /// A SUBSCRIBE was granted: a lost session must be subscribed again.
    subscribed: bool,
}

impl Client {
    fn new(id: &str, clean: bool, seed: u64, rng: &mut Rng) -> Client {
        let options = Options::new(MqttString::try_from(id).expect("valid id"))
            .with_clean_session(clean)
            .with_keep_alive(KEEP_ALIVE)
            .with_ping_timeout(PING_TIMEOUT)
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
            subscribed: false,
        }
    }
}

/// The network's weather: its generator, fault knobs and counters.
pub struct Network {
    pub rng: Rng,
    pub faults: Faults,
    pub faults_on: bool,
    pub stats: Stats,
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

    /// Schedules a piece of the broker's output towards the client, paced
    /// as the broker asks, noting where a violation lies in the stream.
    fn schedule_output(&mut self, link: &mut Link, now: Instant, out: Output) {
        if link.cutting {
            return;
        }
        let len = out.bytes.len();
        if let Some(kind) = out.violation {
            link.violation.get_or_insert(Violation {
                kind,
                start: link.written,
                end: link.written + len,
            });
        }
        link.written += len;
        let back = link.to_client.back().map_or(now, |(t, _)| *t).max(now);
        match out.pace {
            Pace::Normal => self.schedule(link, now, false, out.bytes),
            Pace::Bytewise => {
                let mut at =
                    back + Duration::from_millis(self.rng.below(self.faults.max_delay_ms + 1));
                for i in 0..len {
                    at = at + Duration::from_millis(self.rng.below(3));
                    link.to_client
                        .push_back((at, Item::Data(out.bytes.slice(i..i + 1))));
                }
            }
            Pace::NearPingTimeout => {
                // Just inside the client's deadline, unless the link is
                // backed up past it already.
                let margin = Duration::from_millis(1 + self.rng.below(300));
                let sent = link.ping_sent.unwrap_or(now);
                let at = back.max(sent + (PING_TIMEOUT - margin));
                link.to_client.push_back((at, Item::Data(out.bytes)));
            }
        }
    }
}

/// The simulated world: clients, links, broker and the clock.
pub struct World {
    pub now: Instant,
    pub net: Network,
    pub broker: ModelBroker,
    pub clients: Vec<Client>,
    next_conn: ConnId,
}

impl World {
    pub fn new(seed: u64, faults: Faults, publisher_clean: bool) -> World {
        let mut rng = Rng::new(seed);
        let publisher = Client::new("publisher", publisher_clean, seed ^ 1, &mut rng);
        let subscriber = Client::new("subscriber", false, seed ^ 2, &mut rng);
        let broker = if faults.misbehave {
            ModelBroker::misbehaving(Plan::new(seed))
        } else {
            ModelBroker::new()
        };
        World {
            now: Instant::ZERO,
            net: Network {
                rng,
                faults,
                faults_on: false,
                stats: Stats::default(),
            },
            broker,
            clients: vec![publisher, subscriber],
            next_conn: 1,
        }
    }

    /// Faults (and the broker's misbehaviour) on or off.
    pub fn set_faults(&mut self, on: bool) {
        self.net.faults_on = on;
        self.broker.set_misbehaving(on);
    }

    /// Moves everything the endpoints want to send onto the links and
    /// handles client events. Returns an invariant breach, if any.
    fn flush(&mut self) -> Result<(), String> {
        for i in 0..self.clients.len() {
            loop {
                let now = self.now;
                let c = &mut self.clients[i];
                // A closed connection stays closed: nothing is written until
                // the next `connect` [MQTT-4.8.0-1].
                let closed = c.conn.state() == State::Disconnected;
                let Some(bytes) = c.conn.poll_transmit(now) else {
                    break;
                };
                if closed {
                    return Err(format!(
                        "{} wrote {} bytes after closing its connection",
                        c.id,
                        bytes.len()
                    ));
                }
                let mut wire = BytesMut::from(&bytes[..]);
                while let Some(p) = packet::decode(&mut wire, usize::MAX)
                    .map_err(|e| format!("{} sent a malformed packet: {e}", c.id))?
                {
                    if tracing() {
                        eprintln!("{:?} {} -> {:?}", now, c.id, p);
                    }
                    if let (Packet::PingReq, Some(link)) = (&p, c.link.as_mut()) {
                        link.ping_sent = Some(now);
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
                if tracing() {
                    eprintln!("{:?} {} event {:?}", self.now, self.clients[i].id, e);
                }
                self.on_event(i, &e)?;
                self.clients[i].events.push(e);
            }
        }
        for i in 0..self.clients.len() {
            let Some(id) = self.clients[i].link.as_ref().map(|l| l.id) else {
                continue;
            };
            while let Some(out) = self.broker.take_output(id) {
                if let Some(link) = self.clients[i].link.as_mut() {
                    self.net.schedule_output(link, self.now, out);
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

    fn on_event(&mut self, i: usize, e: &Event) -> Result<(), String> {
        match e {
            Event::Disconnected { reason } => {
                // The client closes the transport: what it wrote before still
                // reaches the broker (TCP delivers it before the FIN).
                if let Some(mut link) = self.clients[i].link.take() {
                    self.judge_close(i, &link, reason)?;
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
            Event::Connected { session_present } => {
                self.clients[i].backoff.reset();
                // The application makes its subscription again when the
                // broker lost it with the session, unless the request is
                // still pending (the client sends that one again itself).
                let c = &mut self.clients[i];
                if !session_present && c.subscribed && c.conn.pending_requests() == 0 {
                    self.subscribe(i)?;
                }
            }
            Event::Subscribed { outcomes, .. } if i == SUBSCRIBER => {
                if outcomes
                    .iter()
                    .all(|o| matches!(o, SubscribeOutcome::Granted(_)))
                {
                    self.clients[i].subscribed = true;
                } else {
                    // Refused: the application asks again.
                    self.subscribe(i)?;
                }
            }
            Event::Message { ack, .. } => {
                self.net.stats.delivered += 1;
                self.clients[i].unacked.extend(*ack);
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks that the client closed its connection for a reason it had.
    fn judge_close(
        &mut self,
        i: usize,
        link: &Link,
        reason: &DisconnectReason,
    ) -> Result<(), String> {
        let who = &self.clients[i].id;
        match reason {
            DisconnectReason::ProtocolViolation(v) => {
                // Only for a violation the broker committed, once at least
                // its first byte arrived, and named for what it was.
                match link.violation {
                    Some(w) if link.delivered > w.start && w.kind.explains(v) => {
                        self.net.stats.violation_closes += 1;
                        Ok(())
                    }
                    Some(w) if link.delivered > w.start => Err(format!(
                        "{who} closed for {v:?} after the broker's {}",
                        w.kind.name()
                    )),
                    _ => Err(format!(
                        "{who} closed for a violation the broker did not commit: {v:?}"
                    )),
                }
            }
            DisconnectReason::KeepAliveTimeout => {
                // Only once nothing came back for the ping timeout after a
                // PINGREQ (section 3.1.2.10).
                let due = link
                    .ping_sent
                    .is_some_and(|t| self.now >= t + PING_TIMEOUT && link.last_packet <= t);
                if due {
                    self.net.stats.ping_timeouts += 1;
                    Ok(())
                } else {
                    Err(format!(
                        "{who} timed out a ping at {:?}: sent {:?}, last packet {:?}",
                        self.now, link.ping_sent, link.last_packet
                    ))
                }
            }
            _ => Ok(()),
        }
    }

    /// The subscriber subscribes to [`FILTER`].
    pub fn subscribe(&mut self, i: usize) -> Result<(), String> {
        let filter = TopicFilter::try_from(FILTER).map_err(|e| e.to_string())?;
        self.clients[i]
            .conn
            .subscribe(vec![(filter, QoS::ExactlyOnce)])
            .map_err(|e| e.to_string())?;
        Ok(())
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
    pub fn step(&mut self, until: Instant) -> Result<(), String> {
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
                self.clients[i].link = Some(Link::new(id, now));
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
            // A client that closed its connection reads no more from it.
            if c.conn.state() == State::Disconnected {
                return Ok(());
            }
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
                    link.delivered += d.len();
                    link.client_rx.extend_from_slice(&d);
                    loop {
                        // Up to the violation, the world reads what the
                        // client acts on; from there on the client must not.
                        if link.violation.is_some_and(|v| link.decoded >= v.start) {
                            link.client_rx.clear();
                            break;
                        }
                        let before = link.client_rx.len();
                        let Some(p) = packet::decode(&mut link.client_rx, usize::MAX)
                            .map_err(|e| format!("broker sent a malformed packet: {e}"))?
                        else {
                            break;
                        };
                        link.decoded += before - link.client_rx.len();
                        link.last_packet = now;
                        if tracing() {
                            eprintln!("{:?} {} <- {:?}", now, c.id, p);
                        }
                        c.tracker.on_received(&p);
                    }
                    c.conn.handle_read(now, &d);
                    if let Some(v) = link.violation {
                        if link.delivered >= v.end && c.conn.state() != State::Disconnected {
                            return Err(format!(
                                "[MQTT-4.8.0-1] {} kept its connection open after the broker's {}",
                                c.id,
                                v.kind.name()
                            ));
                        }
                    }
                }
                Some((_, Item::Cut)) => {
                    self.teardown(i);
                    self.clients[i].conn.handle_closed(now);
                }
                None => return Ok(()),
            }
        }
    }

    pub fn settled(&self) -> bool {
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
            // The application has acked everything it was handed, so the
            // client owes the broker nothing it could still send.
            && self.clients.iter().all(|c| c.unacked.is_empty())
            && self
                .clients
                .iter()
                .all(|c| c.link.as_ref().is_some_and(Link::idle))
    }
}
