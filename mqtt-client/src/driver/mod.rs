//! The driver: one task per client, the only owner of the transport and the
//! `mqtt_proto::Connection`, written once as a plain [`Future`] over the
//! [`Runtime`] trait so every adapter runs the same loop.
//!
//! Each poll: drain the core (bytes to `out`, events to `dispatch`), write
//! parked bytes until the socket would block, then poll each source once:
//! commands, the socket, a transport being opened (TCP, TLS, WebSocket: see
//! `transport`), room in a blocked subscription, the next deadline.
//!
//! When to connect, to which server, how long to back off, when to give
//! up, resubscribing and the graceful close are the core's session policy
//! (`mqtt_proto::Connection` with a `ReconnectOptions`): the driver opens
//! the transport the core asks for, reports how it went, and turns the
//! core's events into the client's (`lifecycle.rs`). Nothing is written
//! from inside a source's handler: bytes are parked in `out` and written at
//! the top of the next round. What to do with messages and commands is in
//! `dispatch.rs`.
//!
//! Slow consumers: incoming QoS 1 and 2 messages are acknowledged only once
//! every matching subscription's channel took them. When a channel is full
//! the driver holds the message (and everything after it) and stops
//! acknowledging, so the broker's own inflight window stops it sending more:
//! memory stays bounded by that window, the socket keeps being read (so
//! keep-alive keeps working), and nothing is lost. A QoS 0 message for a
//! full channel is dropped for that subscription, which QoS 0 allows.

mod auth;
mod budget;
mod dispatch;
mod handover;
mod lifecycle;
mod outbox;
mod persistence;
mod reader;

pub(crate) use budget::{Budget, DropCount};
pub(crate) use dispatch::{Command, SubscribeReply};
pub(crate) use handover::{handover, CommandReceiver, CommandSender, SendError};

use crate::error::TlsError;
use crate::events::Listeners;
use crate::runtime::{BoxFuture, Runtime};
use crate::transport::{self, BoxedStream, Transport};
use crate::{Error, Options, Server};
use dispatch::{Dispatch, Responder};
use futures_channel::oneshot;
use mqtt_proto::{Connection, Instant, ReconnectOptions};
use outbox::Outbox;
use persistence::Persistence;
use reader::Reader;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant as StdInstant;

/// Bytes parked for writing beyond which no new command is taken: QoS 0
/// publishes skip the core's queue, so this is what bounds their memory
/// when the socket is slower than the application.
const WRITE_BACKLOG: usize = 1024 * 1024;
/// Commands taken per round, so a burst is written in one go.
const COMMANDS_PER_ROUND: usize = 256;
/// Parked bytes that are written at once instead of at the end of the poll.
const FLUSH_EARLY: usize = 64 * 1024;
/// Rounds per poll before yielding to other tasks.
const ROUNDS_PER_POLL: usize = 64;

/// The driver task of one client.
pub(crate) struct Driver<R: Runtime> {
    /// The brokers, in the order the core picks them by index.
    servers: Vec<Server>,
    conn: Connection,
    start: StdInstant,
    commands: CommandReceiver,
    commands_open: bool,
    stream: Option<BoxedStream>,
    connecting: Option<BoxFuture<Result<BoxedStream, Error>>>,
    transport: Transport,
    /// Nothing was read yet on the current plaintext connection: the first
    /// bytes tell an MQTT broker from a TLS port.
    check_first_bytes: bool,
    /// Why the current transport ended, when the transport said.
    transport_error: Option<Box<Error>>,
    /// What the latest failed attempt or lost connection is reported as,
    /// should the core give up.
    last_error: Option<Box<Error>>,
    out: Outbox,
    reader: Reader,
    /// The runtime's clock, read once per round.
    clock: StdInstant,
    timer: Option<(StdInstant, BoxFuture<()>)>,
    dispatch: Dispatch,
    /// The session store, when the options name one.
    store: Option<Box<Persistence>>,
    /// MQTT 5.0 enhanced authentication, when the options set it.
    authenticator: Option<Arc<dyn crate::Authenticator>>,
    /// The caller of a re-authentication under way.
    reauthenticating: Option<Responder<()>>,
    runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> Driver<R> {
    pub(crate) fn new(
        options: Options,
        commands: CommandReceiver,
        ready: oneshot::Sender<Result<(), Error>>,
        listeners: Arc<Listeners>,
        give_up_if_unreachable: bool,
    ) -> Result<Self, Error> {
        let seed = options.client_seed();
        let mut session = options.session(seed)?;
        // The driver acks a message once every subscription has it.
        session.manual_acks = true;
        // `Client::connect` reports a broker it cannot reach at all;
        // `Client::start` keeps trying.
        session.reconnect = Some(
            ReconnectOptions::new(options.servers.len())
                .backoff(options.backoff_min, options.backoff_max)
                .seed(seed)
                .give_up_if_never_connected(give_up_if_unreachable),
        );
        let (store, conn) = match options.checked_store()? {
            Some(dir) => {
                let (store, conn) = Persistence::open(dir, options.store_durability, session)?;
                (Some(Box::new(store)), conn)
            }
            None => (None, Connection::new(session).map_err(Error::Options)?),
        };
        // Local transport settings (TLS files, headers) are checked here,
        // before anything is opened.
        let transport = transport::prepare(
            &options.servers,
            &options.tls,
            options.connector.0.clone(),
            &options.ws_headers,
            options.session.max_packet_size,
            options.connect_timeout,
        )?;
        let first = options
            .servers
            .first()
            .cloned()
            .ok_or_else(|| Error::InvalidUrl("no broker given".to_owned()))?;
        let dispatch = Dispatch::new(ready, listeners, &options, first);
        let authenticator = options.authenticator.0.clone();
        let mut driver = Driver {
            servers: options.servers,
            conn,
            start: R::now(),
            commands,
            commands_open: true,
            stream: None,
            connecting: None,
            transport,
            check_first_bytes: false,
            transport_error: None,
            last_error: None,
            out: Outbox::default(),
            reader: Reader::default(),
            clock: R::now(),
            timer: None,
            dispatch,
            store,
            authenticator,
            reauthenticating: None,
            runtime: PhantomData,
        };
        let now = driver.now();
        driver.conn.start(now);
        Ok(driver)
    }

    pub(crate) fn client_id(&self) -> String {
        self.conn.options().client_id.to_string()
    }

    /// The time of this round, as the core counts it.
    fn now(&self) -> Instant {
        Instant::from_duration(self.clock.saturating_duration_since(self.start))
    }

    /// Reads the runtime's clock: once per round, which is precise enough
    /// for every deadline the client keeps.
    fn tick(&mut self) {
        self.clock = R::now();
    }

    fn transport_failed(&mut self, error: Error) {
        tracing::debug!(%error, "transport ended");
        self.transport_error = Some(Box::new(error));
        self.stream = None;
        self.out.clear();
        self.reader.reset();
        self.conn.handle_closed(self.now());
    }

    /// Moves what the core produced: bytes to `out`, events to the
    /// lifecycle and to dispatch.
    fn drain_core(&mut self) {
        loop {
            let mut progressed = false;
            if let Some(store) = self.store.as_mut() {
                let dispatch = &mut self.dispatch;
                match store.commit(&mut self.conn, |id| dispatch.on_stored(id)) {
                    Ok(true) => {
                        progressed = true;
                        self.dispatch.on_committed(&mut self.conn);
                    }
                    Ok(false) => {}
                    Err(error) => {
                        // Nothing that depends on the failed commit may
                        // leave: drop the transport and stop.
                        self.stream = None;
                        self.out.clear();
                        self.dispatch.fail(error);
                        return;
                    }
                }
            }
            let now = self.now();
            while let Some(bytes) = self.conn.poll_transmit(now) {
                progressed = true;
                if self.stream.is_some() {
                    self.out.push(bytes);
                }
            }
            while let Some(event) = self.conn.poll_event() {
                progressed = true;
                if let Some(event) = self.on_lifecycle(event) {
                    self.dispatch.on_event(&mut self.conn, event, self.clock);
                }
            }
            if !progressed {
                return;
            }
        }
    }

    /// Writes parked bytes until the socket would block. Returns whether
    /// the transport failed, which leaves work for the core to report.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> bool {
        if self.out.is_empty() {
            return false;
        }
        let Some(stream) = self.stream.as_mut() else {
            self.out.clear();
            return false;
        };
        match self.out.poll_write(stream, cx) {
            Poll::Ready(Ok(())) | Poll::Pending => false,
            Poll::Ready(Err(e)) => {
                self.transport_failed(transport::io_error(e, false));
                true
            }
        }
    }

    fn next_deadline(&self) -> Option<StdInstant> {
        let core = self
            .conn
            .poll_timeout()
            .map(|at| self.start + at.since_origin());
        [
            core,
            self.dispatch.flush_deadline(),
            self.dispatch.unmatched_deadline(),
            self.dispatch.request_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn on_deadline(&mut self) {
        let now = self.clock;
        self.reader.on_deadline();
        self.conn.handle_timeout(self.now());
        self.dispatch.expire_unmatched(&mut self.conn, now);
        self.dispatch.expire_requests(now);
    }

    /// One round: returns whether anything happened.
    fn round(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progressed = false;

        if let Some(deadline) = self.next_deadline() {
            if deadline <= self.clock {
                self.on_deadline();
                return true;
            }
            // Deadlines mostly move later (keep-alive moves with every
            // write): keep the armed timer then, and let it fire early,
            // which costs one spurious wake instead of a new timer per write.
            let rearm = self.timer.as_ref().is_none_or(|(at, _)| deadline < *at);
            if rearm {
                self.timer = Some((deadline, R::sleep_until(deadline)));
            }
            if let Some((_, sleep)) = self.timer.as_mut() {
                if sleep.as_mut().poll(cx).is_ready() {
                    self.timer = None;
                    self.on_deadline();
                    progressed = true;
                }
            }
        } else {
            self.timer = None;
        }

        // Acks given by hand before a command (a disconnect, say) go out
        // before it.
        if self.dispatch.poll_manual_acks(&mut self.conn, cx) {
            progressed = true;
        }

        // Take a batch of commands before writing: their packets then leave
        // in one write instead of one each.
        let mut taken = false;
        for _ in 0..COMMANDS_PER_ROUND {
            if !(self.commands_open && self.dispatch.accepting_commands())
                || self.out.len() > WRITE_BACKLOG
            {
                break;
            }
            match self.commands.poll_next(cx) {
                Poll::Ready(Some(Command::Reauthenticate { done })) => {
                    self.reauthenticate(done);
                    progressed = true;
                    taken = true;
                }
                Poll::Ready(Some(cmd)) => {
                    let core_now = self.now();
                    self.dispatch
                        .on_command(&mut self.conn, cmd, self.clock, core_now);
                    progressed = true;
                    taken = true;
                }
                Poll::Ready(None) => {
                    // Every handle is gone: leave cleanly.
                    self.commands_open = false;
                    let core_now = self.now();
                    self.dispatch.begin_close(&mut self.conn, None, core_now);
                    progressed = true;
                }
                Poll::Pending => break,
            }
        }
        if taken {
            // Senders waiting for room wake once for the whole batch.
            self.commands.wake_senders();
        }

        let now = self.now();
        if let Some(stream) = self.stream.as_mut() {
            let (conn, check) = (&mut self.conn, &mut self.check_first_bytes);
            let mut speaks_tls = false;
            let read = self.reader.poll_read(stream, cx, |data| {
                if std::mem::take(check) && transport::looks_like_tls(data) {
                    speaks_tls = true;
                } else {
                    conn.handle_read(now, data);
                }
            });
            match read {
                Poll::Ready(Ok(0)) => {
                    let error = if self.conn.is_connected() {
                        io::Error::from(io::ErrorKind::UnexpectedEof).into()
                    } else {
                        Error::ClosedBeforeConnAck
                    };
                    self.transport_failed(error);
                    progressed = true;
                }
                Poll::Ready(Ok(_)) if speaks_tls => {
                    // A TLS server answering our plaintext CONNECT.
                    self.transport_failed(Error::Tls(TlsError::ServerRequiresTls));
                    return true;
                }
                Poll::Ready(Ok(_)) => progressed = true,
                Poll::Ready(Err(e)) => {
                    self.transport_failed(transport::io_error(e, false));
                    progressed = true;
                }
                Poll::Pending => {}
            }
        }

        if let Some(connecting) = self.connecting.as_mut() {
            if let Poll::Ready(result) = connecting.as_mut().poll(cx) {
                self.connecting = None;
                self.on_opened(result);
                progressed = true;
            }
        }

        if self.dispatch.poll_room(&mut self.conn, cx) {
            progressed = true;
        }

        progressed
    }
}

impl<R: Runtime> Future for Driver<R> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Every field is Unpin (streams are required to be), so the driver is.
        let this = self.get_mut();
        for _ in 0..ROUNDS_PER_POLL {
            this.tick();
            this.drain_core();
            // Bytes are written once the sources are drained, so that one
            // write carries what a burst of reads and commands produced;
            // only a large backlog, or closing, is written right away.
            if (this.out.len() >= FLUSH_EARLY || this.dispatch.is_closing()) && this.poll_flush(cx)
            {
                // The write failed: the core now has a Disconnected event
                // to report and a reconnect to schedule, before any waiting.
                continue;
            }
            if this.finish_if_done() {
                return Poll::Ready(());
            }
            if this.round(cx) {
                continue;
            }
            // Every source is waiting: write what this poll gathered.
            if this.poll_flush(cx) {
                continue;
            }
            if this.finish_if_done() {
                return Poll::Ready(());
            }
            return Poll::Pending;
        }
        // Busy: write, let other tasks run, then come back.
        this.poll_flush(cx);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<R: Runtime> Driver<R> {
    /// Ends the task once closing is complete (or the client failed).
    fn finish_if_done(&mut self) -> bool {
        if !self
            .dispatch
            .closing_done(self.out.is_empty() || self.stream.is_none(), self.clock)
        {
            return false;
        }
        self.dispatch.shut_down(&mut self.commands);
        self.stream = None;
        true
    }
}
