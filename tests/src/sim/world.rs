//! The simulated world: two clients, their links to the model broker, the
//! network's weather and the virtual clock, and the checks made as events
//! happen (the final ones are in `check`).
//!
//! The clients' `Connection`s run their own session policy: the world
//! starts each one, opens a transport when one asks with
//! `Event::OpenTransport` (a transport may fail to open, or hang, while the
//! faults are on), and follows their timers; it never reconnects nor
//! resubscribes for them. `policy`, `subs` and the trackers check what the
//! policy does as it happens.
//!
//! Each link carries bytes both ways, split at random points, delayed, and
//! maybe cut. The world reads what the client reads, so it knows which
//! packets the client acted on and where in the stream the broker broke the
//! protocol, and holds the client to closing the connection there.

use super::broker::{ConnId, ModelBroker, V5Plan};
use super::misbehaviour::Plan;
use super::refusal::Refusals;
use super::wire::{Level, Reader};
use super::{Faults, Rng, Stats};
use bytes::BytesMut;
use core::time::Duration;
use mqtt_proto::packet::{ConnectReturnCode, Packet};
use mqtt_proto::{DisconnectReason, Event, Instant, State, SubscribeOutcome, TopicFilter};
use net::Item;
pub use net::{Link, Network};

mod app;
mod client;
mod net;

pub use client::Client;
use client::Opening;

/// The clients' keep-alive, and how long they wait for an answer to PINGREQ.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);
const PING_TIMEOUT: Duration = Duration::from_millis(2_500);
/// Chances, while the faults are on, that a transport fails to open, and
/// that opening it hangs until the attempt's deadline.
const OPEN_FAIL: f64 = 0.08;
const OPEN_HANG: f64 = 0.01;

pub const PUBLISHER: usize = 0;
pub const SUBSCRIBER: usize = 1;
/// The subscriber's one subscription.
const FILTER: &str = "sim/#";

fn tracing() -> bool {
    std::env::var("SIM_TRACE").is_ok()
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
    pub fn new(seed: u64, faults: Faults, publisher_clean: bool, publisher_fails: bool) -> World {
        let mut rng = Rng::new(seed);
        // 5.0 draws from a generator of its own: a 3.1.1 schedule is the
        // same as before 5.0 was simulated.
        let mut v5_rng = Rng::new(seed ^ 0x0005_0005_0005_0005);
        let mut v5 = (faults.level == Level::V5).then_some(&mut v5_rng);
        let publisher = Client::new(
            "publisher",
            publisher_clean,
            seed ^ 1,
            &mut rng,
            publisher_fails,
            v5.as_deref_mut(),
        );
        let subscriber = Client::new("subscriber", false, seed ^ 2, &mut rng, false, v5);
        let mut broker = if faults.misbehave {
            ModelBroker::misbehaving(Plan::new(seed))
        } else {
            ModelBroker::new()
        };
        if faults.level == Level::V5 {
            broker = broker.with_v5(V5Plan::new(seed));
        }
        if faults.refuse_unavailable > 0.0 || faults.refuse_final > 0.0 {
            broker = broker.with_refusals(Refusals::new(
                seed,
                faults.refuse_unavailable,
                faults.refuse_final,
            ));
        }
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

    /// Faults (and the broker's misbehaviour and refusals) on or off.
    pub fn set_faults(&mut self, on: bool) {
        self.net.faults_on = on;
        self.broker.set_misbehaving(on);
    }

    /// Hands bytes from client `i` to the broker, and checks the SUBSCRIBE
    /// packets among them.
    fn hand_to_broker(&mut self, i: usize, id: ConnId, data: &[u8]) -> Result<(), String> {
        self.broker.receive(id, data);
        for (pid, filters) in self.broker.take_subscribes(id) {
            self.clients[i]
                .subs
                .on_broker_subscribe(id, pid, &filters)?;
        }
        Ok(())
    }

    /// Moves everything the endpoints want to send onto the links and
    /// handles client events. Returns an invariant breach, if any.
    pub fn flush(&mut self) -> Result<(), String> {
        for i in 0..self.clients.len() {
            loop {
                let now = self.now;
                let c = &mut self.clients[i];
                // A closed connection stays closed: nothing is written until
                // the next `connect` [MQTT-4.8.0-1].
                let closed = matches!(c.conn.state(), State::Disconnected | State::Opening);
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
                while let Some(f) = c
                    .tx_reader
                    .read(&mut wire)
                    .map_err(|e| format!("{} sent {e}", c.id))?
                {
                    let p = f.packet;
                    if tracing() {
                        eprintln!("{:?} {} -> {:?}", now, c.id, p);
                    }
                    if let (Packet::PingReq, Some(link)) = (&p, c.link.as_mut()) {
                        link.ping_sent = Some(now);
                    }
                    c.tracker
                        .on_sent(&p)
                        .map_err(|e| format!("{}: {e}", c.id))?;
                    c.publishes
                        .on_sent(&p)
                        .map_err(|e| format!("{}: {e}", c.id))?;
                    if let Packet::Subscribe(s) = &p {
                        let filters: Vec<TopicFilter> =
                            s.filters.iter().map(|(f, _)| f.clone()).collect();
                        c.subs.on_sent(s.pid.get(), &filters)?;
                    }
                }
                if !wire.is_empty() {
                    return Err(format!("{} sent a partial packet", c.id));
                }
                if let Some(link) = c.link.as_mut() {
                    link.last_sent = now;
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
                // The broker closed (after DISCONNECT, a refusal, or a
                // takeover).
                self.teardown(i);
                self.clients[i].conn.handle_closed(self.now);
            }
        }
        Ok(())
    }

    fn on_event(&mut self, i: usize, e: &Event) -> Result<(), String> {
        let now = self.now;
        let c = &mut self.clients[i];
        let healthy = c.healthy;
        if let Event::Disconnected {
            reason: DisconnectReason::Requested,
        } = e
        {
            // DISCONNECT goes out before the drain deadline only once
            // nothing is left to drain.
            if c.policy.close_may_wait(now) && (c.conn.inflight() > 0 || c.conn.queued() > 0) {
                return Err(format!(
                    "{} sent DISCONNECT before its drain deadline with {} in flight and {} queued",
                    c.id,
                    c.conn.inflight(),
                    c.conn.queued()
                ));
            }
        }
        c.policy.on_event(now, e, healthy)?;
        c.publishes
            .on_event(e)
            .map_err(|why| format!("{}: {why}", c.id))?;
        match e {
            Event::OpenTransport { .. } => {
                if c.link.is_some() || c.opening.is_some() {
                    return Err(format!("{} asked for a second transport", c.id));
                }
                let faults = self.net.faults_on;
                let hangs = faults && self.net.rng.chance(OPEN_HANG);
                let delay = self.net.rng.below(self.net.faults.max_delay_ms / 2 + 1);
                let opens = !(faults && self.net.rng.chance(OPEN_FAIL));
                if hangs {
                    self.net.stats.hung_opens += 1;
                } else if !opens {
                    self.net.stats.failed_opens += 1;
                }
                self.clients[i].opening = Some(Opening {
                    at: (!hangs).then(|| now + Duration::from_millis(delay)),
                    opens,
                });
            }
            Event::Disconnected { reason } => {
                // An attempt abandoned while its transport was opening.
                c.opening = None;
                if c.closing {
                    // The close is over: the application starts the client
                    // again a little later.
                    c.closing = false;
                    let after = Duration::from_millis(10 + self.net.rng.below(500));
                    self.clients[i].restart_at = Some(now + after);
                }
                // The client closes the transport: what it wrote before still
                // reaches the broker (TCP delivers it before the FIN).
                if let Some(mut link) = self.clients[i].link.take() {
                    self.judge_close(i, &link, reason)?;
                    while let Some((_, item)) = link.to_broker.pop_front() {
                        if let Item::Data(d) = item {
                            self.hand_to_broker(i, link.id, &d)?;
                        }
                    }
                    self.broker.close(link.id);
                }
            }
            Event::Connected { session_present } => {
                let created_on = self.broker.session_created_on(&c.id);
                c.subs.on_connected(*session_present, created_on);
            }
            Event::Subscribed { outcomes, .. } => {
                let refused = outcomes.iter().any(refused);
                if i == SUBSCRIBER && refused {
                    // Refused: the application asks again.
                    self.subscribe(i)?;
                }
            }
            Event::Resubscribed { filters } => {
                let refused = filters
                    .iter()
                    .any(|(f, o)| f.as_str() == FILTER && refused(o));
                if i == SUBSCRIBER && refused {
                    // The broker refused the filter the core asked for
                    // again: the application asks once more.
                    self.subscribe(i)?;
                }
            }
            Event::GaveUp => c.gave_up = true,
            Event::Message { ack, .. } => {
                self.net.stats.delivered += 1;
                c.unacked.extend(*ack);
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
            DisconnectReason::ServerDisconnect(why) => {
                // Only for a DISCONNECT the broker sent and the client read,
                // reported with its reason.
                if link.server_disconnect == Some(why.reason) {
                    self.net.stats.server_disconnects += 1;
                    Ok(())
                } else {
                    Err(format!(
                        "{who} reported a DISCONNECT from the broker with {:?}; it read {:?}",
                        why.reason, link.server_disconnect
                    ))
                }
            }
            _ => Ok(()),
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
                    c.restart_at,
                    c.opening.and_then(|o| o.at),
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
            let c = &mut self.clients[i];
            if c.restart_at.is_some_and(|t| t <= now) {
                // The application starts the client: its policy asks for a
                // transport.
                c.restart_at = None;
                c.policy.on_start(now)?;
                c.conn.start(now);
            }
            if let Some(opening) = c.opening.filter(|o| o.at.is_some_and(|t| t <= now)) {
                c.opening = None;
                if opening.opens {
                    let id = self.next_conn;
                    self.next_conn += 1;
                    self.broker.open(id);
                    self.net.stats.reconnects += 1;
                    let mut reader = Reader::new(c.level);
                    reader.alias_max = c.alias_max;
                    c.link = Some(Link::new(id, now, reader));
                    // The world resolves the client's aliases; the broker
                    // holds them to its maximum.
                    c.tx_reader = Reader::new(c.level);
                    c.tx_reader.alias_max = u16::MAX;
                    c.healthy = false;
                    c.subs.on_link(id);
                    c.conn.connect(now);
                } else {
                    c.conn.handle_closed(now);
                }
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
        self.flush()?;
        self.check_now()
    }

    /// What must hold once everything due now was handled.
    fn check_now(&mut self) -> Result<(), String> {
        let now = self.now;
        for c in &mut self.clients {
            c.policy.check_due(now)?;
            // A close with nothing left to wait for is over.
            if c.conn.is_closing()
                && c.conn.state() == State::Connected
                && c.conn.inflight() == 0
                && c.conn.queued() == 0
            {
                return Err(format!(
                    "{} at {now:?}: closing with nothing left to drain, and no DISCONNECT sent",
                    c.id
                ));
            }
            if c.gave_up
                && (c.conn.state() != State::Disconnected || c.conn.poll_timeout().is_some())
            {
                return Err(format!(
                    "{} at {now:?}: gave up, yet is {:?} with a deadline {:?}",
                    c.id,
                    c.conn.state(),
                    c.conn.poll_timeout()
                ));
            }
            let broker = &self.broker;
            let id = c.id.as_str();
            c.subs.check_held(&c.conn, || broker.subscriptions(id))?;
            // A Server Keep Alive replaces the client's: it never stays
            // silent longer [5.0 MQTT-3.2.2-21].
            if let Some(link) = c.link.as_ref().filter(|_| c.conn.is_connected()) {
                if let Some((k, since)) = link.server_keep_alive {
                    let quiet = now.saturating_duration_since(link.last_sent.max(since));
                    if !k.is_zero() && quiet > k {
                        return Err(format!(
                            "[5.0 MQTT-3.2.2-21] {} at {now:?}: silent for {quiet:?} under a \
                             Server Keep Alive of {k:?}",
                            c.id
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn deliver(&mut self, i: usize) -> Result<(), String> {
        let now = self.now;
        loop {
            let c = &mut self.clients[i];
            // A client that closed its connection (or sent DISCONNECT) reads
            // no more from it.
            if !matches!(c.conn.state(), State::Connecting | State::Connected) {
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
                Some((_, Item::Data(d))) if to_broker_due => self.hand_to_broker(i, id, &d)?,
                Some((_, Item::Data(d))) => {
                    link.delivered += d.len();
                    // A packet that completes a close ends the client's
                    // reading: the rest of that read is ignored. While
                    // closing, the world hands the read over one packet at
                    // a time, so that it knows which packets the client
                    // acted on.
                    let stepwise = c.conn.is_closing();
                    let partial = link.client_rx.len();
                    let mut consumed = 0;
                    let mut fed = 0;
                    link.client_rx.extend_from_slice(&d);
                    loop {
                        // Up to the violation, the world reads what the
                        // client acts on; from there on the client must not.
                        if link.violation.is_some_and(|v| link.decoded >= v.start) {
                            link.client_rx.clear();
                            break;
                        }
                        let before = link.client_rx.len();
                        let Some(f) = link
                            .reader
                            .read(&mut link.client_rx)
                            .map_err(|e| format!("broker sent {e}"))?
                        else {
                            break;
                        };
                        if f.alias.is_some() {
                            self.net.stats.aliases_read += 1;
                        }
                        if let Some(props) = &f.connack {
                            if let Some(k) = props.server_keep_alive {
                                let k = Duration::from_secs(u64::from(k));
                                link.server_keep_alive = Some((k, now));
                            }
                            c.tracker.receive_maximum = props.receive_maximum;
                        }
                        if let (Packet::Disconnect, Some(reason)) = (&f.packet, f.reason) {
                            link.server_disconnect = Some(reason);
                        }
                        let refuses = f.refuses();
                        let p = f.packet;
                        let len = before - link.client_rx.len();
                        link.decoded += len;
                        consumed += len;
                        link.last_packet = now;
                        if tracing() {
                            eprintln!("{:?} {} <- {:?}", now, c.id, p);
                        }
                        // The broker answered a request: the connection is
                        // healthy, as far as the backoff is concerned.
                        c.healthy |= matches!(
                            p,
                            Packet::PubAck(_)
                                | Packet::PubComp(_)
                                | Packet::SubAck(_)
                                | Packet::UnsubAck(_)
                        ) || (refuses && matches!(p, Packet::PubRec(_)));
                        match &p {
                            Packet::SubAck(a) => c.subs.on_ack(Some(a.pid.get())),
                            Packet::UnsubAck(_) => c.subs.on_ack(None),
                            Packet::ConnAck(a) if a.code == ConnectReturnCode::Accepted => {
                                c.subs.on_connack(a.session_present)
                            }
                            _ => {}
                        }
                        c.tracker.on_received(&p, refuses);
                        c.publishes.on_received(&p, refuses);
                        if stepwise {
                            let end = consumed - partial;
                            c.conn.handle_read(now, &d[fed..end]);
                            fed = end;
                            if c.conn.state() != State::Connected {
                                link.client_rx.clear();
                                break;
                            }
                        }
                    }
                    if fed < d.len() {
                        c.conn.handle_read(now, &d[fed..]);
                    }
                    if let Some(v) = link.violation {
                        let open = !matches!(c.conn.state(), State::Disconnected | State::Opening);
                        if link.delivered >= v.end && open {
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

    /// Whether the run is over: every client still running is connected
    /// with nothing left to send, and the broker has nothing left for it.
    pub fn settled(&self) -> bool {
        let p = &self.clients[PUBLISHER];
        let s = &self.clients[SUBSCRIBER];
        let publisher = p.gave_up
            || (p.conn.is_connected()
                && p.conn.queued() == 0
                && p.conn.inflight() == 0
                && p.conn.pending_requests() == 0
                && self.broker.inbound_qos2("publisher").is_empty());
        let subscriber = s.gave_up
            || (s.conn.is_connected()
                && s.conn.pending_requests() == 0
                && self.broker.backlog("subscriber") == 0);
        publisher
            && subscriber
            // The application has acked everything it was handed, so the
            // client owes the broker nothing it could still send.
            && self.clients.iter().all(|c| c.gave_up || c.unacked.is_empty())
            && self
                .clients
                .iter()
                .all(|c| c.gave_up || c.link.as_ref().is_some_and(Link::idle))
    }
}

/// Whether a SUBACK refused a filter (with 0x80, or a 5.0 reason code).
fn refused(outcome: &SubscribeOutcome) -> bool {
    matches!(
        outcome,
        SubscribeOutcome::Refused | SubscribeOutcome::Rejected(_)
    )
}
