//! The driver task: one per client, the only owner of the socket and the
//! `mqtt_proto::Connection`. It is a loop of "drain the core, write what is
//! pending, then wait for one of: a command, the socket readable, the
//! socket writable (only while bytes wait), a TCP connect finishing, room in
//! a subscription's channel, or the core's next deadline". It never writes
//! inside a `select!` branch: unsent bytes are parked in `out` and finished
//! when the socket is writable. MQTT rules stay in the core; this file only
//! moves bytes, keeps time and routes.
//!
//! Slow consumers: incoming QoS 1 and 2 messages are acknowledged only once
//! every matching subscription's channel took them. When a channel is full
//! the driver holds the message (and everything after it) and stops
//! acknowledging, so the broker's own inflight window stops it sending more:
//! memory stays bounded by that window, the socket keeps being read (so
//! keep-alive keeps working), and nothing is lost. A QoS 0 message for a
//! full channel is dropped for that subscription, which QoS 0 allows.

use crate::client::ConnectionEvent;
use crate::{Error, Options};
use bytes::{Bytes, BytesMut};
use mqtt_proto::packet::ConnectReturnCode;
use mqtt_proto::{
    AckToken, Backoff, Connection, DisconnectReason, Event, Instant, Message, PacketId, PublishId,
    QoS, Router, SubscribeOutcome, TopicFilter,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant as TokioInstant;

type Responder<T> = oneshot::Sender<Result<T, Error>>;
type SubscribeReply = (u64, mpsc::Receiver<Message>, Vec<SubscribeOutcome>);
type Connecting = Pin<Box<dyn Future<Output = io::Result<TcpStream>> + Send>>;

/// What a [`Client`](crate::Client) asks the driver to do.
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

/// A live subscription.
#[derive(Debug)]
struct Sub {
    tx: mpsc::Sender<Message>,
    filters: Vec<(TopicFilter, QoS)>,
}

/// A SUBSCRIBE awaiting its SUBACK: from a caller, or a resubscription.
#[derive(Debug)]
struct PendingSubscribe {
    id: u64,
    reply: Option<(Responder<SubscribeReply>, mpsc::Receiver<Message>)>,
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
    deadline: TokioInstant,
    sent_disconnect: bool,
}

/// Reads and writes are done in chunks of this size at most per wake-up.
const READ_CHUNK: usize = 64 * 1024;
/// Filters per resubscription SUBSCRIBE after a lost session.
const RESUBSCRIBE_BATCH: usize = 256;

/// What woke the loop up.
enum Wake {
    Command(Option<Command>),
    Readable(io::Result<()>),
    Writable,
    Connected(io::Result<TcpStream>),
    Room(Result<mpsc::OwnedPermit<Message>, mpsc::error::SendError<()>>),
    Deadline,
}

pub(crate) struct Driver {
    options: Options,
    conn: Connection,
    start: TokioInstant,
    commands: mpsc::Receiver<Command>,
    commands_open: bool,
    events: broadcast::Sender<ConnectionEvent>,
    ready: Option<oneshot::Sender<Result<(), Error>>>,
    stream: Option<TcpStream>,
    connecting: Option<Connecting>,
    reconnect_at: Option<TokioInstant>,
    backoff: Backoff,
    out: VecDeque<Bytes>,
    read_buf: BytesMut,
    publishes: HashMap<PublishId, Responder<()>>,
    stalled: Option<(Message, Option<Responder<()>>)>,
    subscribes: HashMap<PacketId, PendingSubscribe>,
    unsubscribes: HashMap<PacketId, Responder<()>>,
    router: Router<u64>,
    subs: HashMap<u64, Sub>,
    next_sub: u64,
    held: VecDeque<Held>,
    matched: Vec<u64>,
    closing: Option<Closing>,
    connected_once: bool,
    terminal: Option<Error>,
    finished: bool,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("state", &self.conn.state())
            .field("subscriptions", &self.subs.len())
            .finish_non_exhaustive()
    }
}

async fn connect_tcp(
    host: String,
    port: u16,
    timeout: std::time::Duration,
) -> io::Result<TcpStream> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TCP connect timed out"))??;
    // Small packets must not wait for Nagle: acks and pings are latency.
    stream.set_nodelay(true)?;
    Ok(stream)
}

async fn readable(stream: Option<&TcpStream>) -> io::Result<()> {
    match stream {
        Some(s) => s.readable().await,
        None => std::future::pending().await,
    }
}

async fn writable(stream: Option<&TcpStream>) -> io::Result<()> {
    match stream {
        Some(s) => s.writable().await,
        None => std::future::pending().await,
    }
}

async fn finish_connect(connecting: Option<&mut Connecting>) -> io::Result<TcpStream> {
    match connecting {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

async fn room(
    tx: Option<mpsc::Sender<Message>>,
) -> Result<mpsc::OwnedPermit<Message>, mpsc::error::SendError<()>> {
    match tx {
        Some(tx) => tx.reserve_owned().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<TokioInstant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Refusals that retrying cannot fix.
fn is_final(code: ConnectReturnCode) -> bool {
    !matches!(code, ConnectReturnCode::ServerUnavailable)
}

impl Driver {
    pub(crate) fn new(
        options: Options,
        commands: mpsc::Receiver<Command>,
        events: broadcast::Sender<ConnectionEvent>,
        ready: oneshot::Sender<Result<(), Error>>,
    ) -> Result<Driver, Error> {
        let mut session = options.session()?;
        // The driver acks a message once every subscription has it.
        session.manual_acks = true;
        let conn = Connection::new(session).map_err(Error::Options)?;
        let backoff = Backoff::new(options.backoff_min, options.backoff_max, options.seed);
        Ok(Driver {
            options,
            conn,
            start: TokioInstant::now(),
            commands,
            commands_open: true,
            events,
            ready: Some(ready),
            stream: None,
            connecting: None,
            reconnect_at: None,
            backoff,
            out: VecDeque::new(),
            read_buf: BytesMut::with_capacity(READ_CHUNK),
            publishes: HashMap::new(),
            stalled: None,
            subscribes: HashMap::new(),
            unsubscribes: HashMap::new(),
            router: Router::new(),
            subs: HashMap::new(),
            next_sub: 0,
            held: VecDeque::new(),
            matched: Vec::new(),
            closing: None,
            connected_once: false,
            terminal: None,
            finished: false,
        })
    }

    fn now(&self) -> Instant {
        Instant::from_duration(TokioInstant::now().saturating_duration_since(self.start))
    }

    fn to_tokio(&self, at: Instant) -> TokioInstant {
        self.start + at.since_origin()
    }

    pub(crate) async fn run(mut self) {
        let span = tracing::info_span!("mqtt", client_id = %self.conn.options().client_id);
        let _enter = span.enter();
        self.start_connect();
        while !self.finished {
            self.drain_core();
            self.flush_writes();
            self.check_closing();
            if self.finished {
                break;
            }
            let deadline = self.next_deadline();
            if deadline.is_some_and(|d| d <= TokioInstant::now()) {
                self.on_deadline();
                continue;
            }
            let wake = self.wait(deadline).await;
            self.on_wake(wake);
        }
        self.shut_down();
    }

    async fn wait(&mut self, deadline: Option<TokioInstant>) -> Wake {
        let accepting = self.commands_open && self.stalled.is_none();
        let room_for = self.blocked_sender();
        let stream = self.stream.as_ref();
        let want_write = stream.is_some() && !self.out.is_empty();
        let commands = &mut self.commands;
        let connecting = self.connecting.as_mut();
        let has_connecting = connecting.is_some();
        let has_room_wait = room_for.is_some();
        tokio::select! {
            cmd = commands.recv(), if accepting => Wake::Command(cmd),
            r = readable(stream), if stream.is_some() => Wake::Readable(r),
            _ = writable(stream), if want_write => Wake::Writable,
            r = finish_connect(connecting), if has_connecting => Wake::Connected(r),
            r = room(room_for), if has_room_wait => Wake::Room(r),
            _ = sleep_until(deadline), if deadline.is_some() => Wake::Deadline,
        }
    }

    fn on_wake(&mut self, wake: Wake) {
        match wake {
            Wake::Command(Some(cmd)) => self.on_command(cmd),
            Wake::Command(None) => {
                // Every handle is gone: leave cleanly.
                self.commands_open = false;
                self.begin_close(None);
            }
            Wake::Readable(Ok(())) => self.read(),
            Wake::Readable(Err(e)) => self.transport_failed(e),
            Wake::Writable | Wake::Deadline => {}
            Wake::Connected(r) => {
                self.connecting = None;
                self.on_tcp(r);
            }
            Wake::Room(Ok(permit)) => self.deliver_with(permit),
            Wake::Room(Err(_)) => {
                // The front target's receiver is gone.
                if let Some(id) = self.held.front().and_then(|h| h.targets.front().copied()) {
                    self.drop_subscription(id);
                }
                self.deliver_held();
            }
        }
    }

    fn next_deadline(&self) -> Option<TokioInstant> {
        let core = self.conn.poll_timeout().map(|at| self.to_tokio(at));
        let closing = self.closing.as_ref().map(|c| c.deadline);
        [core, self.reconnect_at, closing]
            .into_iter()
            .flatten()
            .min()
    }

    fn on_deadline(&mut self) {
        let now = TokioInstant::now();
        if self.reconnect_at.is_some_and(|t| t <= now) {
            self.reconnect_at = None;
            self.start_connect();
        }
        self.conn.handle_timeout(self.now());
        if let Some(closing) = &mut self.closing {
            if closing.deadline <= now {
                // Waited long enough for inflight messages (or for the
                // DISCONNECT to drain): go now.
                if !closing.sent_disconnect && self.conn.is_connected() {
                    closing.sent_disconnect = true;
                    closing.deadline = now + std::time::Duration::from_secs(1);
                    self.conn.disconnect(self.now());
                } else {
                    self.finished = true;
                }
            }
        }
    }

    // ---- transport ------------------------------------------------------

    fn start_connect(&mut self) {
        if self.closing.is_some() || self.terminal.is_some() {
            return;
        }
        tracing::debug!(host = %self.options.host, port = self.options.port, "connecting");
        self.connecting = Some(Box::pin(connect_tcp(
            self.options.host.clone(),
            self.options.port,
            self.options.connect_timeout,
        )));
    }

    fn on_tcp(&mut self, result: io::Result<TcpStream>) {
        match result {
            Ok(stream) => {
                tracing::debug!("TCP connected; sending CONNECT");
                self.stream = Some(stream);
                self.out.clear();
                self.conn.connect(self.now());
            }
            Err(e) => {
                tracing::warn!(error = %e, "connect failed");
                let _ = self.events.send(ConnectionEvent::Disconnected {
                    reason: format!("connect failed: {e}"),
                });
                if !self.connected_once {
                    self.fail(Error::from(e));
                } else {
                    self.schedule_reconnect();
                }
            }
        }
    }

    fn read(&mut self) {
        let Some(stream) = self.stream.as_ref() else {
            return;
        };
        self.read_buf.clear();
        self.read_buf.reserve(READ_CHUNK);
        match stream.try_read_buf(&mut self.read_buf) {
            Ok(0) => self.transport_failed(io::ErrorKind::UnexpectedEof.into()),
            Ok(_) => {
                let now = self.now();
                self.conn.handle_read(now, &self.read_buf);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => self.transport_failed(e),
        }
    }

    /// Writes parked bytes until the socket would block.
    fn flush_writes(&mut self) {
        while !self.out.is_empty() {
            let Some(stream) = self.stream.as_ref() else {
                self.out.clear();
                return;
            };
            let slices: Vec<IoSlice<'_>> =
                self.out.iter().take(64).map(|b| IoSlice::new(b)).collect();
            match stream.try_write_vectored(&slices) {
                Ok(mut n) => {
                    while n > 0 {
                        let Some(front) = self.out.front_mut() else {
                            break;
                        };
                        if n >= front.len() {
                            n -= front.len();
                            self.out.pop_front();
                        } else {
                            bytes::Buf::advance(front, n);
                            n = 0;
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    self.transport_failed(e);
                    return;
                }
            }
        }
    }

    fn transport_failed(&mut self, e: io::Error) {
        tracing::debug!(error = %e, "transport ended");
        self.stream = None;
        self.out.clear();
        self.conn.handle_closed(self.now());
    }

    fn schedule_reconnect(&mut self) {
        if self.closing.is_some() || self.terminal.is_some() {
            return;
        }
        let delay = self.backoff.next_delay();
        tracing::info!(?delay, "reconnecting");
        self.reconnect_at = Some(TokioInstant::now() + delay);
        let _ = self.events.send(ConnectionEvent::Reconnecting { delay });
    }

    // ---- the core ---------------------------------------------------------

    fn drain_core(&mut self) {
        loop {
            let mut progressed = false;
            let now = self.now();
            while let Some(bytes) = self.conn.poll_transmit(now) {
                progressed = true;
                if self.stream.is_some() {
                    self.out.push_back(bytes);
                }
            }
            while let Some(event) = self.conn.poll_event() {
                progressed = true;
                self.on_event(event);
            }
            if !progressed {
                return;
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Connected { session_present } => {
                tracing::info!(session_present, "connected");
                self.backoff.reset();
                let resubscribe = self.connected_once && !session_present;
                self.connected_once = true;
                if let Some(ready) = self.ready.take() {
                    let _ = ready.send(Ok(()));
                }
                let _ = self
                    .events
                    .send(ConnectionEvent::Connected { session_present });
                if resubscribe {
                    self.resubscribe();
                }
                self.retry_stalled();
            }
            Event::Disconnected { reason } => self.on_disconnected(reason),
            Event::Message { message, ack } => {
                self.matched.clear();
                self.router.matches(&message.topic, &mut self.matched);
                self.held.push_back(Held {
                    message,
                    ack,
                    targets: self.matched.iter().copied().collect(),
                });
                self.deliver_held();
            }
            Event::Published { id } => {
                if let Some(done) = self.publishes.remove(&id) {
                    let _ = done.send(Ok(()));
                }
                self.retry_stalled();
            }
            Event::Subscribed { id, outcomes } => self.on_suback(id, outcomes),
            Event::Unsubscribed { id } => {
                if let Some(done) = self.unsubscribes.remove(&id) {
                    let _ = done.send(Ok(()));
                }
            }
            Event::QueueReady => self.retry_stalled(),
            _ => {}
        }
    }

    fn on_disconnected(&mut self, reason: DisconnectReason) {
        if reason == DisconnectReason::Requested {
            if let Some(closing) = &mut self.closing {
                // DISCONNECT sits in `out`: keep the socket until it is
                // written; `check_closing` then ends the task, which closes
                // the connection [MQTT-3.14.4-1].
                tracing::info!("disconnected on request");
                closing.sent_disconnect = true;
                let _ = self.events.send(ConnectionEvent::Disconnected {
                    reason: reason.to_string(),
                });
                return;
            }
        }
        tracing::warn!(%reason, "disconnected");
        self.stream = None;
        self.out.clear();
        let _ = self.events.send(ConnectionEvent::Disconnected {
            reason: reason.to_string(),
        });
        if self.closing.is_some() {
            self.finished = true;
            return;
        }
        match reason {
            DisconnectReason::Refused(code) if is_final(code) || !self.connected_once => {
                self.fail(Error::Refused(code));
            }
            _ if !self.connected_once => self.fail(Error::Timeout),
            _ => self.schedule_reconnect(),
        }
    }

    /// Ends the client for good with `error`.
    fn fail(&mut self, error: Error) {
        tracing::error!(%error, "giving up");
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Err(error.clone()));
        }
        self.terminal = Some(error);
        self.finished = true;
    }

    fn resubscribe(&mut self) {
        // The broker lost the session: subscribe again to every filter a live
        // subscription holds, at the highest QoS any of them asked for.
        let mut wanted: BTreeMap<TopicFilter, QoS> = BTreeMap::new();
        for sub in self.subs.values() {
            for (f, q) in &sub.filters {
                let e = wanted.entry(f.clone()).or_insert(*q);
                *e = (*e).max(*q);
            }
        }
        let all: Vec<(TopicFilter, QoS)> = wanted.into_iter().collect();
        tracing::info!(filters = all.len(), "resubscribing after a lost session");
        for batch in all.chunks(RESUBSCRIBE_BATCH) {
            match self.conn.subscribe(batch.to_vec()) {
                Ok(pid) => {
                    self.subscribes.insert(
                        pid,
                        PendingSubscribe {
                            id: u64::MAX,
                            reply: None,
                        },
                    );
                }
                Err(e) => tracing::warn!(error = %e, "resubscribe refused"),
            }
        }
    }

    fn on_suback(&mut self, pid: PacketId, outcomes: Vec<SubscribeOutcome>) {
        let Some(pending) = self.subscribes.remove(&pid) else {
            return;
        };
        let Some((done, rx)) = pending.reply else {
            return;
        };
        if outcomes.iter().all(|o| *o == SubscribeOutcome::Refused) {
            let _ = done.send(Err(Error::SubscriptionRefused));
            self.drop_subscription(pending.id);
        } else if done.send(Ok((pending.id, rx, outcomes))).is_err() {
            // The caller stopped waiting: nobody will read this stream.
            self.drop_subscription(pending.id);
        }
    }

    // ---- commands ---------------------------------------------------------

    fn on_command(&mut self, cmd: Command) {
        if let Some(e) = self.refusal() {
            reply_err(cmd, e);
            return;
        }
        match cmd {
            Command::Publish { message, done } => self.publish(message, done),
            Command::Subscribe { filters, done } => {
                let id = self.next_sub;
                self.next_sub += 1;
                match self.conn.subscribe(filters.clone()) {
                    Ok(pid) => {
                        let (tx, rx) = mpsc::channel(self.options.subscription_capacity);
                        for (f, _) in &filters {
                            self.router.insert(f, id);
                        }
                        self.subs.insert(id, Sub { tx, filters });
                        self.subscribes.insert(
                            pid,
                            PendingSubscribe {
                                id,
                                reply: Some((done, rx)),
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
                match self.conn.unsubscribe(unused) {
                    Ok(pid) => {
                        self.unsubscribes.insert(pid, done);
                    }
                    Err(e) => {
                        let _ = done.send(Err(Error::Subscribe(e)));
                    }
                }
            }
            Command::Disconnect { done } => self.begin_close(Some(done)),
        }
    }

    fn refusal(&self) -> Option<Error> {
        match (&self.terminal, &self.closing) {
            (Some(e), _) => Some(e.clone()),
            (None, Some(_)) => Some(Error::Closed),
            (None, None) => None,
        }
    }

    fn publish(&mut self, message: Message, done: Option<Responder<()>>) {
        if !self.conn.can_publish(message.qos) {
            // Hold it and read no further commands until there is room.
            self.stalled = Some((message, done));
            return;
        }
        match self.conn.publish(message) {
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

    fn retry_stalled(&mut self) {
        if let Some((message, done)) = self.stalled.take() {
            self.publish(message, done);
        }
    }

    fn begin_close(&mut self, done: Option<Responder<()>>) {
        if let Some(closing) = &mut self.closing {
            // A second disconnect call: answer it when the first finishes.
            if let Some(done) = done {
                let previous = closing.done.replace(done);
                if let Some(previous) = previous {
                    let _ = previous.send(Ok(()));
                }
            }
            return;
        }
        tracing::info!("disconnecting");
        self.reconnect_at = None;
        self.connecting = None;
        self.closing = Some(Closing {
            done,
            deadline: TokioInstant::now() + self.options.disconnect_timeout,
            sent_disconnect: false,
        });
    }

    /// While closing: once nothing is in flight (or the wait is over), send
    /// DISCONNECT; once it is written, stop.
    fn check_closing(&mut self) {
        let Some(closing) = &mut self.closing else {
            return;
        };
        if !self.conn.is_connected() && !closing.sent_disconnect {
            // Offline: nothing to say goodbye to.
            self.finished = true;
            return;
        }
        if !closing.sent_disconnect && self.conn.inflight() == 0 && self.conn.queued() == 0 {
            closing.sent_disconnect = true;
            closing.deadline = TokioInstant::now() + std::time::Duration::from_secs(1);
            self.conn.disconnect(self.now());
            self.drain_core();
            self.flush_writes();
        }
        if self.closing.as_ref().is_some_and(|c| c.sent_disconnect)
            && (self.out.is_empty() || self.stream.is_none())
        {
            self.finished = true;
        }
    }

    fn shut_down(&mut self) {
        let error = self.terminal.clone().unwrap_or(Error::Closed);
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Err(error.clone()));
        }
        for (_, done) in self.publishes.drain() {
            let _ = done.send(Err(error.clone()));
        }
        if let Some((_, Some(done))) = self.stalled.take() {
            let _ = done.send(Err(error.clone()));
        }
        for (_, pending) in self.subscribes.drain() {
            if let Some((done, _)) = pending.reply {
                let _ = done.send(Err(error.clone()));
            }
        }
        for (_, done) in self.unsubscribes.drain() {
            let _ = done.send(Err(error.clone()));
        }
        // Ending the channels ends every Subscription stream.
        self.subs.clear();
        self.stream = None;
        self.commands.close();
        while let Ok(cmd) = self.commands.try_recv() {
            reply_err(cmd, error.clone());
        }
        if let Some(closing) = self.closing.take() {
            if let Some(done) = closing.done {
                let _ = done.send(Ok(()));
            }
        }
        tracing::info!("client stopped");
    }

    // ---- delivery ---------------------------------------------------------

    /// The sender of the subscription the front held message waits for.
    fn blocked_sender(&self) -> Option<mpsc::Sender<Message>> {
        let target = self.held.front()?.targets.front()?;
        self.subs.get(target).map(|s| s.tx.clone())
    }

    fn deliver_with(&mut self, permit: mpsc::OwnedPermit<Message>) {
        if let Some(front) = self.held.front_mut() {
            if front.targets.pop_front().is_some() {
                permit.send(front.message.clone());
            }
        }
        self.deliver_held();
    }

    /// Delivers held messages in order until a channel is full.
    fn deliver_held(&mut self) {
        while let Some(front) = self.held.front_mut() {
            while let Some(&target) = front.targets.front() {
                let Some(sub) = self.subs.get(&target) else {
                    front.targets.pop_front();
                    continue;
                };
                match sub.tx.try_send(front.message.clone()) {
                    Ok(()) => {
                        front.targets.pop_front();
                    }
                    Err(mpsc::error::TrySendError::Full(_))
                        if front.message.qos == QoS::AtMostOnce =>
                    {
                        tracing::debug!(
                            subscription = target,
                            "QoS 0 message dropped: subscriber is full"
                        );
                        front.targets.pop_front();
                    }
                    Err(mpsc::error::TrySendError::Full(_)) => return,
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        front.targets.pop_front();
                        self.drop_subscription(target);
                        // `front` may be stale after the removal above.
                        break;
                    }
                }
            }
            if self.held.front().is_some_and(|h| h.targets.is_empty()) {
                if let Some(done) = self.held.pop_front() {
                    if let Some(token) = done.ack {
                        let _ = self.conn.ack(token);
                    }
                }
            }
        }
    }

    /// Forgets a subscription whose stream was dropped, unsubscribing from
    /// the filters nothing else uses.
    fn drop_subscription(&mut self, id: u64) {
        if self.subs.remove(&id).is_none() {
            return;
        }
        let unused = self.router.remove_key(id);
        if !unused.is_empty() {
            let _ = self.conn.unsubscribe(unused);
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
