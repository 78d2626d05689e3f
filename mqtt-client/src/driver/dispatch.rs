//! What the driver does with commands from the handles and events from the
//! core, independent of any IO, routed from here to a file per job:
//! publishes and their completions (`publishes.rs`), subscriptions and the
//! routing of topics to them (`subscriptions.rs`), delivering messages to
//! subscriptions and holding them for slow consumers (`delivery.rs`), the
//! bound on waiting for acks (`ack_timeout.rs`) and the shutdown
//! (`closing.rs`). Resubscribing and the drain before DISCONNECT are the
//! core's.

use super::budget::{Budget, DropCount};
use crate::delivery::Delivery;
use crate::events::{ConnectionEvent, Listeners};
use crate::runtime::BoxFuture;
use crate::DisconnectReason;
use crate::{Error, Options, Server};
use futures_channel::oneshot;
use mqtt_proto::packet::v5::{SubscribeProperties, SubscriptionOptions};
use mqtt_proto::{
    AckToken, Connection, Event, Message, PacketId, PublishId, Router, SubscribeOutcome,
    TopicFilter,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod ack_timeout;
mod closing;
mod delivery;
mod manual_acks;
mod publishes;
mod subscriptions;

use ack_timeout::AckDeadlines;
use manual_acks::ManualAcks;

pub(crate) type Responder<T> = oneshot::Sender<Result<T, Error>>;
/// A subscription's receiving end, boxed: async-channel's receiver is not
/// `Unpin`, and the driver and the handles should be.
type Receiver = std::pin::Pin<Box<async_channel::Receiver<Delivery>>>;

/// What a handle asks the driver to do.
#[derive(Debug)]
pub(crate) enum Command {
    Publish {
        message: Message,
        done: Option<Responder<()>>,
        /// Answered once the message is in the store (only with a store).
        stored: Option<Responder<()>>,
    },
    Subscribe {
        filters: Vec<(TopicFilter, SubscriptionOptions)>,
        properties: SubscribeProperties,
        /// The application acknowledges each message itself.
        manual: bool,
        done: Responder<SubscribeReply>,
    },
    /// A stream of the messages no subscription matches.
    Unmatched {
        done: Responder<SubscribeReply>,
    },
    Unsubscribe {
        id: u64,
        done: Responder<()>,
    },
    UnsubscribeFilter {
        id: u64,
        filter: TopicFilter,
        done: Responder<()>,
    },
    Disconnect {
        done: Responder<()>,
    },
    /// MQTT 5.0: authenticate again on the live connection (the driver's,
    /// not the dispatch's: see `driver/auth.rs`).
    Reauthenticate {
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
    tx: async_channel::Sender<Delivery>,
    /// QoS 0 messages dropped for it over the memory budget.
    dropped: DropCount,
    /// The application acknowledges each QoS 1/2 message itself.
    manual: bool,
}

/// A publish waiting for room in the session queue, with its callers.
type Stalled = (Message, Option<Responder<()>>, Option<Responder<()>>);

/// A caller's SUBSCRIBE awaiting its SUBACK.
#[derive(Debug)]
struct PendingSubscribe {
    id: u64,
    reply: Option<(Responder<SubscribeReply>, Receiver, DropCount)>,
    /// Its serial in the ack deadlines.
    serial: u64,
}

/// An incoming message not yet in every matching channel.
#[derive(Debug)]
struct Held {
    message: Message,
    ack: Option<AckToken>,
    targets: VecDeque<u64>,
    /// Copies handed to manual-ack subscriptions, whose acks are awaited.
    by_hand: usize,
    /// The key their ack handles carry.
    key: u64,
}

/// Where held messages stand against the store's commits.
#[derive(Debug, Default)]
struct StoreGate {
    /// Held messages, from the front, already looked at for taking.
    examined: usize,
    /// Some were taken since the last commit: nothing is handed out
    /// until the next one.
    waiting: bool,
}

/// A close under way: the core drains and sends DISCONNECT; the driver
/// then writes it out.
#[derive(Debug)]
struct Closing {
    done: Option<Responder<()>>,
    /// The core reported the close complete.
    ended: bool,
    /// Until when the DISCONNECT may take to be written.
    flush_by: Option<Instant>,
    /// How long it may take.
    linger: Duration,
}

pub(crate) struct Dispatch {
    ready: Option<oneshot::Sender<Result<(), Error>>>,
    listeners: Arc<Listeners>,
    publishes: HashMap<PublishId, Responder<()>>,
    /// Publishes waiting for the store to commit them.
    stored: BTreeMap<PublishId, Responder<()>>,
    /// With a store: held QoS 2 messages are taken for good before they
    /// are handed out (see `delivery.rs`).
    gate: Option<StoreGate>,
    /// Boxed: rare, and large next to the rest.
    stalled: Option<Box<Stalled>>,
    // Ordered maps where a few entries are the rule: empty, they are half
    // the size of a hash map, which every idle client would carry.
    subscribes: BTreeMap<PacketId, PendingSubscribe>,
    unsubscribes: BTreeMap<PacketId, (Responder<()>, u64)>,
    ack_deadlines: AckDeadlines,
    request_timeout: Duration,
    router: Router<u64>,
    subs: BTreeMap<u64, Sub>,
    next_sub: u64,
    capacity: usize,
    /// Bytes of incoming messages held (unmatched, held, in channels).
    budget: Budget,
    held: VecDeque<Held>,
    /// A send waiting for room in the channel the front held message needs.
    room: Option<BoxFuture<Result<(), async_channel::SendError<Delivery>>>>,
    matched: Vec<u64>,
    /// Messages that matched no subscription, waiting for one until their
    /// deadline (in arrival order, so deadlines ascend).
    unmatched: VecDeque<(Instant, Message, Option<AckToken>)>,
    unmatched_grace: Duration,
    /// How long a close may take to drain and write DISCONNECT.
    disconnect_timeout: Duration,
    closing: Option<Closing>,
    manual_acks: ManualAcks,
    /// The subscription that takes messages no other one matches.
    unmatched_sub: Option<u64>,
    /// Whether CONNACK accepted the current connection.
    up: bool,
    /// Boxed, as it is rare: why the client gave up.
    terminal: Option<Box<Error>>,
    /// The server of the connection in use or being made.
    pub(crate) server: Server,
}

impl Dispatch {
    pub(crate) fn new(
        ready: oneshot::Sender<Result<(), Error>>,
        listeners: Arc<Listeners>,
        options: &Options,
        server: Server,
    ) -> Self {
        Dispatch {
            ready: Some(ready),
            listeners,
            publishes: HashMap::new(),
            stored: BTreeMap::new(),
            gate: options.store_dir.is_some().then(StoreGate::default),
            stalled: None,
            subscribes: BTreeMap::new(),
            unsubscribes: BTreeMap::new(),
            ack_deadlines: AckDeadlines::default(),
            request_timeout: options.request_timeout,
            router: Router::new(),
            subs: BTreeMap::new(),
            next_sub: 0,
            capacity: options.subscription_capacity,
            budget: Budget::new(options.max_held_bytes),
            held: VecDeque::new(),
            room: None,
            matched: Vec::new(),
            unmatched: VecDeque::new(),
            unmatched_grace: options.unmatched_grace,
            disconnect_timeout: options.disconnect_timeout,
            closing: None,
            manual_acks: ManualAcks::default(),
            unmatched_sub: None,
            up: false,
            terminal: None,
            server,
        }
    }

    /// Whether CONNACK accepted the current connection.
    pub(crate) fn is_up(&self) -> bool {
        self.up
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.is_some()
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
        self.terminal = Some(Box::new(error));
    }

    // ---- events from the core ---------------------------------------------

    pub(crate) fn on_event(&mut self, conn: &mut Connection, event: Event, now: Instant) {
        match event {
            Event::Connected { session_present } => {
                tracing::info!(session_present, "connected");
                self.up = true;
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
                self.retry_stalled(conn);
            }
            Event::Message { message, ack } => self.on_message(conn, message, ack, now),
            Event::Published { id } => self.on_published(conn, id),
            Event::PublishAcked {
                id,
                reason,
                properties,
            } => self.on_publish_acked(conn, id, reason, properties),
            Event::SessionLost { resent, failed } => self.on_session_lost(&resent, &failed),
            Event::Subscribed { id, outcomes } => self.on_suback(conn, id, outcomes),
            Event::Resubscribed { filters } => on_resubscribed(&filters),
            // At 5.0 the broker's reason codes ("no subscription existed")
            // change nothing for the caller: the filters are gone.
            Event::Unsubscribed { id } | Event::UnsubscribeAcked { id, .. } => {
                if let Some((done, _)) = self.unsubscribes.remove(&id) {
                    let _ = done.send(Ok(()));
                }
            }
            Event::QueueReady => self.retry_stalled(conn),
            _ => {}
        }
    }

    /// The connection is over, for `reason`. Returns whether that ends a
    /// close.
    pub(crate) fn on_disconnected(&mut self, reason: DisconnectReason, now: Instant) -> bool {
        self.up = false;
        let Some(closing) = &mut self.closing else {
            return false;
        };
        // A DISCONNECT is parked for writing: the transport stays until it
        // is out, then the task ends and closes it [MQTT-3.14.4-1].
        tracing::info!(%reason, "disconnected while closing");
        closing.ended = true;
        closing.flush_by = Some(now + closing.linger);
        self.listeners
            .emit(ConnectionEvent::Disconnected { reason });
        true
    }

    // ---- commands from the handles ------------------------------------------

    pub(crate) fn on_command(
        &mut self,
        conn: &mut Connection,
        cmd: Command,
        now: Instant,
        core_now: mqtt_proto::Instant,
    ) {
        if let Some(e) = self.refusal() {
            reply_err(cmd, e);
            return;
        }
        match cmd {
            Command::Publish {
                message,
                done,
                stored,
            } => self.publish(conn, message, done, stored),
            Command::Subscribe {
                filters,
                properties,
                manual,
                done,
            } => self.subscribe(conn, (filters, properties), manual, done, now),
            Command::Unmatched { done } => self.take_unmatched(conn, done),
            Command::Unsubscribe { id, done } => self.unsubscribe(conn, id, done, now),
            Command::UnsubscribeFilter { id, filter, done } => {
                self.unsubscribe_filter(conn, id, filter, done, now)
            }
            Command::Disconnect { done } => self.begin_close(conn, Some(done), core_now),
            // The driver takes this one before it reaches the dispatch.
            Command::Reauthenticate { done } => {
                let _ = done.send(Err(Error::Closed));
            }
        }
    }

    fn refusal(&self) -> Option<Error> {
        match (&self.terminal, &self.closing) {
            (Some(e), _) => Some((**e).clone()),
            (None, Some(_)) => Some(Error::Closed),
            (None, None) => None,
        }
    }
}

fn reply_err(cmd: Command, e: Error) {
    match cmd {
        Command::Publish { done, stored, .. } => {
            for reply in [done, stored].into_iter().flatten() {
                let _ = reply.send(Err(e.clone()));
            }
        }
        Command::Subscribe { done, .. } | Command::Unmatched { done } => {
            let _ = done.send(Err(e));
        }
        Command::Unsubscribe { done, .. }
        | Command::UnsubscribeFilter { done, .. }
        | Command::Disconnect { done }
        | Command::Reauthenticate { done } => {
            let _ = done.send(Err(e));
        }
    }
}

/// The SUBACK of the core's own resubscription: only a refusal is news.
fn on_resubscribed(filters: &[(TopicFilter, SubscribeOutcome)]) {
    tracing::info!(
        filters = filters.len(),
        "subscribed again after a lost session"
    );
    for (filter, outcome) in filters {
        if !outcome.is_granted() {
            tracing::warn!(%filter, "the broker refused a filter when subscribing again");
        }
    }
}
