//! What the driver does with commands from the handles and events from the
//! core, independent of any IO: request bookkeeping by id, resubscribing
//! after a lost session. Delivering messages to subscriptions (and holding
//! them for slow consumers) is `delivery.rs`, the shutdown sequence
//! `closing.rs`, the bound on waiting for acks `ack_timeout.rs`.

use super::budget::{Budget, DropCount};
use crate::client::ConnectionEvent;
use crate::events::Listeners;
use crate::runtime::BoxFuture;
use crate::{Error, Options, Server};
use futures_channel::oneshot;
use mqtt_proto::packet::ConnectReturnCode;
use mqtt_proto::{
    AckToken, Connection, DisconnectReason, Event, Message, PacketId, PublishId, QoS, Router,
    SubscribeOutcome, TopicFilter,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod ack_timeout;
mod closing;
mod delivery;

use ack_timeout::AckDeadlines;

type Responder<T> = oneshot::Sender<Result<T, Error>>;
/// A subscription's receiving end, boxed: async-channel's receiver is not
/// `Unpin`, and the driver and the handles should be.
type Receiver = std::pin::Pin<Box<async_channel::Receiver<Message>>>;

/// Filters per resubscription SUBSCRIBE after a lost session.
const RESUBSCRIBE_BATCH: usize = 256;

/// What a handle asks the driver to do.
#[derive(Debug)]
pub(crate) enum Command {
    Publish {
        message: Message,
        done: Option<Responder<()>>,
    },
    Subscribe {
        filters: Vec<(TopicFilter, QoS)>,
        done: Responder<SubscribeReply>,
    },
    Unsubscribe {
        id: u64,
        done: Responder<()>,
    },
    Disconnect {
        done: Responder<()>,
    },
}

/// A subscription as handed to the caller.
#[derive(Debug)]
pub(crate) struct SubscribeReply {
    pub(crate) id: u64,
    pub(crate) messages: Receiver,
    pub(crate) outcomes: Vec<SubscribeOutcome>,
    pub(crate) dropped: DropCount,
    pub(crate) budget: Budget,
}

#[derive(Debug)]
struct Sub {
    tx: async_channel::Sender<Message>,
    filters: Vec<(TopicFilter, QoS)>,
    /// QoS 0 messages dropped for it over the memory budget.
    dropped: DropCount,
}

/// A SUBSCRIBE awaiting its SUBACK: from a caller, or a resubscription.
#[derive(Debug)]
struct PendingSubscribe {
    id: u64,
    reply: Option<(Responder<SubscribeReply>, Receiver, DropCount)>,
    /// The filters it asks for: the core sends it again on every new
    /// connection until its SUBACK, so a resubscription leaves them out.
    filters: Vec<TopicFilter>,
    /// Its serial in the ack deadlines (callers' requests only).
    serial: u64,
}

/// An incoming message not yet in every matching channel.
#[derive(Debug)]
struct Held {
    message: Message,
    ack: Option<AckToken>,
    targets: VecDeque<u64>,
}

#[derive(Debug)]
struct Closing {
    done: Option<Responder<()>>,
    deadline: Instant,
    sent_disconnect: bool,
    over: bool,
}

/// What an event means for the transport.
#[derive(Debug, Default)]
pub(crate) struct EventOutcome {
    pub(crate) drop_transport: bool,
    /// The connection ended (not on request), for this reason.
    pub(crate) lost: Option<DisconnectReason>,
    pub(crate) connected: bool,
}

/// Refusals that retrying cannot fix.
pub(crate) fn is_final(code: ConnectReturnCode) -> bool {
    !matches!(code, ConnectReturnCode::ServerUnavailable)
}

pub(crate) struct Dispatch {
    ready: Option<oneshot::Sender<Result<(), Error>>>,
    listeners: Arc<Listeners>,
    publishes: HashMap<PublishId, Responder<()>>,
    stalled: Option<(Message, Option<Responder<()>>)>,
    subscribes: HashMap<PacketId, PendingSubscribe>,
    unsubscribes: HashMap<PacketId, (Responder<()>, u64)>,
    ack_deadlines: AckDeadlines,
    request_timeout: Duration,
    router: Router<u64>,
    subs: HashMap<u64, Sub>,
    next_sub: u64,
    capacity: usize,
    /// Bytes of incoming messages held (unmatched, held, in channels).
    budget: Budget,
    held: VecDeque<Held>,
    /// A send waiting for room in the channel the front held message needs.
    room: Option<BoxFuture<Result<(), async_channel::SendError<Message>>>>,
    matched: Vec<u64>,
    /// Messages that matched no subscription, waiting for one until their
    /// deadline (in arrival order, so deadlines ascend).
    unmatched: VecDeque<(Instant, Message, Option<AckToken>)>,
    unmatched_grace: Duration,
    closing: Option<Closing>,
    connected_once: bool,
    terminal: Option<Error>,
    /// The server of the connection in use or being made.
    pub(crate) server: Server,
}

impl Dispatch {
    pub(crate) fn new(
        ready: oneshot::Sender<Result<(), Error>>,
        listeners: Arc<Listeners>,
        capacity: usize,
        budget: usize,
        unmatched_grace: Duration,
        request_timeout: Duration,
        server: Server,
    ) -> Self {
        Dispatch {
            ready: Some(ready),
            listeners,
            publishes: HashMap::new(),
            stalled: None,
            subscribes: HashMap::new(),
            unsubscribes: HashMap::new(),
            ack_deadlines: AckDeadlines::default(),
            request_timeout,
            router: Router::new(),
            subs: HashMap::new(),
            next_sub: 0,
            capacity,
            budget: Budget::new(budget),
            held: VecDeque::new(),
            room: None,
            matched: Vec::new(),
            unmatched: VecDeque::new(),
            unmatched_grace,
            closing: None,
            connected_once: false,
            terminal: None,
            server,
        }
    }

    pub(crate) fn connected_once(&self) -> bool {
        self.connected_once
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.is_some()
    }

    pub(crate) fn finished(&self) -> bool {
        self.terminal.is_some()
    }

    pub(crate) fn accepting_commands(&self) -> bool {
        self.stalled.is_none()
    }

    pub(crate) fn emit(&mut self, event: ConnectionEvent) {
        self.listeners.emit(event);
    }

    /// Ends the client for good with `error`.
    pub(crate) fn fail(&mut self, error: Error) {
        tracing::error!(%error, "giving up");
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Err(error.clone()));
        }
        self.terminal = Some(error);
    }

    // ---- events from the core ---------------------------------------------

    pub(crate) fn on_event(
        &mut self,
        conn: &mut Connection,
        event: Event,
        now: Instant,
    ) -> EventOutcome {
        let mut outcome = EventOutcome::default();
        match event {
            Event::Connected { session_present } => {
                tracing::info!(session_present, "connected");
                outcome.connected = true;
                let resubscribe = self.connected_once && !session_present;
                self.connected_once = true;
                // The event first: a caller of `events()` right after
                // `connect` returns then sees Connected as the state.
                let server = self.server.clone();
                self.emit(ConnectionEvent::Connected {
                    session_present,
                    server,
                });
                if let Some(ready) = self.ready.take() {
                    let _ = ready.send(Ok(()));
                }
                if resubscribe {
                    self.resubscribe(conn);
                }
                self.retry_stalled(conn);
            }
            Event::Disconnected { reason } => return self.on_disconnected(reason),
            Event::Message { message, ack } => {
                self.matched.clear();
                self.router.matches(&message.topic, &mut self.matched);
                if message.qos == QoS::AtMostOnce && self.budget.exhausted() {
                    self.drop_qos0(&message);
                    return outcome;
                }
                self.budget.take(&message);
                if self.matched.is_empty() {
                    self.hold_unmatched(conn, message, ack, now);
                    return outcome;
                }
                self.held.push_back(Held {
                    message,
                    ack,
                    targets: self.matched.iter().copied().collect(),
                });
                self.deliver_held(conn);
            }
            Event::Published { id } => {
                if let Some(done) = self.publishes.remove(&id) {
                    let _ = done.send(Ok(()));
                }
                self.retry_stalled(conn);
            }
            Event::Subscribed { id, outcomes } => self.on_suback(conn, id, outcomes),
            Event::Unsubscribed { id } => {
                if let Some((done, _)) = self.unsubscribes.remove(&id) {
                    let _ = done.send(Ok(()));
                }
            }
            Event::QueueReady => self.retry_stalled(conn),
            _ => {}
        }
        outcome
    }

    fn on_disconnected(&mut self, reason: DisconnectReason) -> EventOutcome {
        if let Some(closing) = &mut self.closing {
            if reason == DisconnectReason::Requested {
                // DISCONNECT is parked for writing: keep the transport until
                // it is out, then the task ends and closes it
                // [MQTT-3.14.4-1].
                tracing::info!("disconnected on request");
                self.listeners.emit(ConnectionEvent::Disconnected {
                    reason: reason.to_string(),
                });
                closing.sent_disconnect = true;
                return EventOutcome::default();
            }
            closing.over = true;
            self.listeners.emit(ConnectionEvent::Disconnected {
                reason: reason.to_string(),
            });
            return EventOutcome {
                drop_transport: true,
                ..EventOutcome::default()
            };
        }
        // What to do next (another server, a backoff, giving up) is the
        // driver's call: it knows the servers and why the transport ended.
        EventOutcome {
            drop_transport: true,
            lost: Some(reason),
            ..EventOutcome::default()
        }
    }

    fn resubscribe(&mut self, conn: &mut Connection) {
        // The broker lost the session: subscribe again to every filter a live
        // subscription holds, at the highest QoS any of them asked for.
        let mut wanted: BTreeMap<TopicFilter, QoS> = BTreeMap::new();
        for sub in self.subs.values() {
            for (f, q) in &sub.filters {
                let e = wanted.entry(f.clone()).or_insert(*q);
                *e = (*e).max(*q);
            }
        }
        // Requests still unanswered are already on their way again (the core
        // resends them on every connection): one SUBSCRIBE per filter per
        // connection, however often the session is lost.
        for pending in self.subscribes.values() {
            for f in &pending.filters {
                wanted.remove(f);
            }
        }
        if wanted.is_empty() {
            return;
        }
        let all: Vec<(TopicFilter, QoS)> = wanted.into_iter().collect();
        tracing::info!(filters = all.len(), "resubscribing after a lost session");
        for batch in all.chunks(RESUBSCRIBE_BATCH) {
            match conn.subscribe(batch.to_vec()) {
                Ok(pid) => {
                    self.subscribes.insert(
                        pid,
                        PendingSubscribe {
                            id: u64::MAX,
                            reply: None,
                            filters: batch.iter().map(|(f, _)| f.clone()).collect(),
                            serial: u64::MAX,
                        },
                    );
                }
                Err(e) => tracing::warn!(error = %e, "resubscribe refused"),
            }
        }
    }

    fn on_suback(&mut self, conn: &mut Connection, pid: PacketId, outcomes: Vec<SubscribeOutcome>) {
        let Some(pending) = self.subscribes.remove(&pid) else {
            return;
        };
        let Some((done, messages, dropped)) = pending.reply else {
            return;
        };
        if outcomes.iter().all(|o| *o == SubscribeOutcome::Refused) {
            let _ = done.send(Err(Error::SubscriptionRefused));
            self.drop_subscription(conn, pending.id);
            return;
        }
        let reply = SubscribeReply {
            id: pending.id,
            messages,
            outcomes,
            dropped,
            budget: self.budget.clone(),
        };
        if done.send(Ok(reply)).is_err() {
            // The caller stopped waiting: nobody will read this stream.
            self.drop_subscription(conn, pending.id);
        }
    }

    // ---- commands from the handles ------------------------------------------

    pub(crate) fn on_command(
        &mut self,
        conn: &mut Connection,
        cmd: Command,
        now: Instant,
        options: &Options,
    ) {
        if let Some(e) = self.refusal() {
            reply_err(cmd, e);
            return;
        }
        match cmd {
            Command::Publish { message, done } => self.publish(conn, message, done),
            Command::Subscribe { filters, done } => {
                let id = self.next_sub;
                self.next_sub += 1;
                let pending_filters = filters.iter().map(|(f, _)| f.clone()).collect();
                match conn.subscribe(filters.clone()) {
                    Ok(pid) => {
                        let (tx, messages) = async_channel::bounded(self.capacity);
                        for (f, _) in &filters {
                            self.router.insert(f, id);
                        }
                        let adopted = self.adopt_unmatched(id, &filters);
                        let dropped = DropCount::default();
                        self.subs.insert(
                            id,
                            Sub {
                                tx,
                                filters,
                                dropped: dropped.clone(),
                            },
                        );
                        if adopted {
                            self.deliver_held(conn);
                        }
                        self.subscribes.insert(
                            pid,
                            PendingSubscribe {
                                id,
                                reply: Some((done, Box::pin(messages), dropped)),
                                filters: pending_filters,
                                serial: self.ack_deadlines.start(pid, now + self.request_timeout),
                            },
                        );
                    }
                    Err(e) => {
                        let _ = done.send(Err(Error::Subscribe(e)));
                    }
                }
            }
            Command::Unsubscribe { id, done } => {
                self.subs.remove(&id);
                let unused = self.router.remove_key(id);
                if unused.is_empty() {
                    let _ = done.send(Ok(()));
                    return;
                }
                match conn.unsubscribe(unused) {
                    Ok(pid) => {
                        let serial = self.ack_deadlines.start(pid, now + self.request_timeout);
                        self.unsubscribes.insert(pid, (done, serial));
                    }
                    Err(e) => {
                        let _ = done.send(Err(Error::Subscribe(e)));
                    }
                }
            }
            Command::Disconnect { done } => self.begin_close(Some(done), now, options),
        }
    }

    fn refusal(&self) -> Option<Error> {
        match (&self.terminal, &self.closing) {
            (Some(e), _) => Some(e.clone()),
            (None, Some(_)) => Some(Error::Closed),
            (None, None) => None,
        }
    }

    fn publish(&mut self, conn: &mut Connection, message: Message, done: Option<Responder<()>>) {
        if !conn.can_publish(message.qos) {
            // Hold it and take no further commands until there is room.
            self.stalled = Some((message, done));
            return;
        }
        match conn.publish(message) {
            Ok(id) => {
                if let Some(done) = done {
                    self.publishes.insert(id, done);
                }
            }
            Err(e) => {
                if let Some(done) = done {
                    let _ = done.send(Err(Error::Publish(e)));
                }
            }
        }
    }

    fn retry_stalled(&mut self, conn: &mut Connection) {
        if let Some((message, done)) = self.stalled.take() {
            self.publish(conn, message, done);
        }
    }
}

fn reply_err(cmd: Command, e: Error) {
    match cmd {
        Command::Publish { done, .. } => {
            if let Some(done) = done {
                let _ = done.send(Err(e));
            }
        }
        Command::Subscribe { done, .. } => {
            let _ = done.send(Err(e));
        }
        Command::Unsubscribe { done, .. } | Command::Disconnect { done } => {
            let _ = done.send(Err(e));
        }
    }
}
