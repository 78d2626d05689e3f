//! The client session as a sans-IO state machine.
//!
//! [`Connection`] owns everything MQTT 3.1.1 asks a client to remember and
//! decide: the CONNECT/CONNACK handshake, keep-alive, the QoS 1 and 2 flows
//! in both directions, packet identifiers, the session that outlives a
//! transport, and what to resend when a new transport resumes it. It never
//! performs IO and never reads a clock.
//!
//! It also holds the session policy every event loop would otherwise write
//! again: when to reconnect and to which server (`reconnect`), which
//! refusals are final (`refusal`), the filters the session must hold and
//! resubscribing to them (`subscriptions`), the graceful close (`close`)
//! and what a lost session does to messages in flight (`session_lost`).
//!
//! The other pieces, each in its own file: [`options`](Options), `timer`
//! (one table of deadlines), `keep_alive`, `packet_ids` (the free-id
//! allocator), `outgoing` (queue and inflight window), `incoming` (acks
//! owed, QoS 2 exactly-once), `requests` (subscribe/unsubscribe awaiting
//! acks), `commands` (what the application asks), `transport` (a
//! transport asked for, opened and ended), `receive` (what each packet
//! from the broker does), `inspect` (the getters) and `event` (what comes
//! out).

mod auth;
mod close;
mod command_error;
mod commands;
mod disconnect_reason;
mod event;
mod incoming;
mod inspect;
mod keep_alive;
mod negotiated;
mod options;
mod outgoing;
mod packet_ids;
mod persist;
mod receive;
mod reconnect;
mod refusal;
mod requests;
mod session_lost;
mod subscriptions;
mod timer;
mod topic_alias;
mod transport;
mod v5_options;
mod v5_receive;
mod wire;

pub use auth::AuthError;
pub use command_error::{AckError, PublishError, SubscribeError};
pub use disconnect_reason::{DisconnectReason, ProtocolViolation, ServerReason};
pub use event::{AckToken, Event, Message, PublishId, SubscribeOutcome};
pub use options::{Options, OptionsError};
pub use reconnect::ReconnectOptions;
pub use refusal::{is_final_reason, is_final_refusal};
pub use session_lost::SessionLostPolicy;
pub use v5_options::V5Options;

use crate::packet::{
    self, ConnAck, Connect, ConnectReturnCode, Packet, PacketId, PubAck, PubComp, PubRec, PubRel,
    QoS, QosPid, SubscribeReturnCode,
};
use crate::packet::{remaining_length_len, EncodeError, PublishParts};
use crate::store::StoreOp;
use crate::time::Instant;
use crate::topic::TopicFilter;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};
use incoming::{Acked, Arrival, Incoming, Owed};
use keep_alive::KeepAlive;
use negotiated::V5State;
use outgoing::{AckOutcome, Outgoing, Queued, Stage};
use packet_ids::PacketIds;
use reconnect::{Next, Reconnect};
use requests::{Request, Requests};
use subscriptions::Subscriptions;
use timer::{Timer, TimerTable};
use wire::write_publish;

/// Where the connection stands.
///
/// ```
/// use mqtt_proto::{Connection, Instant, MqttString, Options, State};
///
/// let mut conn = Connection::new(Options::new(MqttString::try_from("states").unwrap())).unwrap();
/// assert_eq!(conn.state(), State::Disconnected);
/// conn.start(Instant::ZERO); // asks for a transport
/// assert_eq!(conn.state(), State::Opening);
/// conn.connect(Instant::ZERO); // the transport is open: CONNECT
/// assert_eq!(conn.state(), State::Connecting);
/// conn.handle_read(Instant::ZERO, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
/// assert_eq!(conn.state(), State::Connected);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// No transport: before the first `connect`, or after the connection
    /// ended (a reconnect may be scheduled). Commands are queued.
    Disconnected,
    /// [`Event::OpenTransport`] asked for a transport; waiting for
    /// `connect` (or `handle_closed` if it could not be opened).
    Opening,
    /// CONNECT queued or sent; waiting for CONNACK.
    Connecting,
    /// CONNACK accepted the connection.
    Connected,
    /// DISCONNECT queued; once `poll_transmit` hands it out the connection
    /// is over.
    Disconnecting,
}

/// An MQTT 3.1.1 client session, sans IO.
///
/// # Driving it
///
/// The methods fall into four groups:
///
/// - **construct and inspect**: [`new`](Self::new), [`state`](Self::state),
///   [`is_connected`](Self::is_connected), [`inflight`](Self::inflight),
///   [`queued`](Self::queued);
/// - **tell it what happened**: [`start`](Self::start) (begin connecting,
///   with a reconnect policy), [`connect`](Self::connect) (a transport is
///   open), [`handle_read`](Self::handle_read) (bytes arrived, split
///   anywhere), [`handle_timeout`](Self::handle_timeout) (a deadline passed),
///   [`handle_closed`](Self::handle_closed) (the transport ended, or could
///   not be opened);
/// - **ask it to do things**: [`publish`](Self::publish),
///   [`subscribe`](Self::subscribe), [`unsubscribe`](Self::unsubscribe),
///   [`ack`](Self::ack), [`disconnect`](Self::disconnect). Each is validated
///   at once, returns an id or a typed error, and is queued while offline. A
///   command error never ends the connection;
/// - **pull what it wants done**: [`poll_transmit`](Self::poll_transmit)
///   (bytes to write: many packets per chunk), [`poll_event`](Self::poll_event),
///   [`poll_timeout`](Self::poll_timeout) (when to call `handle_timeout`),
///   and with a store, [`poll_store`](Self::poll_store) (changes to make
///   durable before anything else leaves; see [`store`](crate::store)).
///
/// After every call of the first three groups, drain `poll_transmit` and
/// `poll_event` until they return `None`, then wait for whichever comes first:
/// bytes from the transport, a command, or the `poll_timeout` deadline.
/// Timestamps must never go backwards. When an [`Event::Disconnected`] comes
/// out, close the transport; the session (unacknowledged messages, QoS 2
/// state, subscriptions) carries over to the next one. With a reconnect
/// policy ([`Options::reconnect`]) the connection asks for that next
/// transport itself with [`Event::OpenTransport`] once its backoff allows;
/// without one it stays quiet until `connect` is called. The crate
/// documentation shows the whole loop.
///
/// ```
/// use mqtt_proto::{Connection, Event, Instant, Message, MqttString, Options, QoS};
///
/// let options = Options::new(MqttString::try_from("doc-client").unwrap());
/// let mut conn = Connection::new(options).unwrap();
/// let mut wire = Vec::new(); // stands in for a socket
///
/// // Publishing works before connecting: the message waits in the queue.
/// let id = conn.publish(Message::new("greetings", "hello", QoS::AtLeastOnce).unwrap()).unwrap();
///
/// let mut now = Instant::ZERO;
/// conn.connect(now); // the transport is open
/// while let Some(bytes) = conn.poll_transmit(now) {
///     wire.extend_from_slice(&bytes); // CONNECT
/// }
/// assert_eq!(wire[0], 0x10);
///
/// now = Instant::from_millis(20);
/// conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK: accepted
/// while let Some(bytes) = conn.poll_transmit(now) {
///     wire.extend_from_slice(&bytes); // the queued PUBLISH, packet id 1
/// }
/// conn.handle_read(now, &[0x40, 0x02, 0x00, 0x01]); // PUBACK 1
///
/// let events: Vec<Event> = std::iter::from_fn(|| conn.poll_event()).collect();
/// assert_eq!(events, [Event::Connected { session_present: false }, Event::Published { id }]);
///
/// // Next, wake up at the keep-alive deadline if nothing else happens.
/// let deadline = conn.poll_timeout().unwrap();
/// conn.handle_timeout(deadline); // queues PINGREQ
/// assert_eq!(&conn.poll_transmit(deadline).unwrap()[..], &[0xC0, 0x00]);
/// ```
#[derive(Debug)]
pub struct Connection {
    options: Options,
    state: State,
    rx: BytesMut,
    tx: BytesMut,
    /// QoS 0 messages encoded in `tx`: complete once handed out, requeued
    /// if the transport dies first.
    qos0_in_tx: Vec<Queued>,
    disconnect_in_tx: bool,
    events: VecDeque<Event>,
    timers: TimerTable,
    keep_alive: KeepAlive,
    ids: PacketIds,
    outgoing: Outgoing,
    requests: Requests,
    incoming: Incoming,
    next_publish_id: u64,
    queue_full_reported: bool,
    /// The inflight window filled up and has not had a batch of room since.
    window_full: bool,
    subscriptions: Subscriptions,
    reconnect: Option<Reconnect>,
    /// `disconnect` was called and its `Disconnected` is still to come.
    closing: bool,
    /// A CONNACK accepted some connection of this session.
    connected_once: bool,
    /// The latest time passed in.
    now: Instant,
    /// Changes of the durable session not yet taken by `poll_store`; `None`
    /// without a store.
    store: Option<VecDeque<StoreOp>>,
    /// Events queued before the oldest op in `store`: they do not depend
    /// on it and may leave before it is taken.
    store_fence: usize,
    /// What an MQTT 5.0 connection negotiated; `None` at 3.1.1.
    v5: Option<Box<V5State>>,
}

impl Connection {
    // ---- A. construct and inspect -------------------------------------

    /// A connection in the [`State::Disconnected`] state, with its options
    /// checked.
    ///
    /// ```
    /// use mqtt_proto::{Connection, MqttString, Options, OptionsError, State};
    ///
    /// let conn = Connection::new(Options::new(MqttString::try_from("sensor-7").unwrap())).unwrap();
    /// assert_eq!(conn.state(), State::Disconnected);
    ///
    /// // Options are checked: an empty client id needs a clean session.
    /// let options = Options::new(MqttString::try_from("").unwrap()).clean_session(false);
    /// assert_eq!(Connection::new(options).unwrap_err(), OptionsError::EmptyClientIdNeedsCleanSession);
    /// ```
    pub fn new(mut options: Options) -> Result<Connection, OptionsError> {
        options.validate()?;
        options.max_packet_size = options.max_packet_size.min(packet::MAX_PACKET_SIZE);
        let keep_alive = KeepAlive::new(
            options.effective_keep_alive(),
            options.effective_ping_timeout(),
        );
        let options_reconnect = options.reconnect.map(Reconnect::new);
        let store = options.store.then(VecDeque::new);
        let v5 = (options.protocol == packet::Protocol::V5).then(|| Box::new(V5State::new()));
        Ok(Connection {
            options,
            state: State::Disconnected,
            rx: BytesMut::new(),
            tx: BytesMut::new(),
            qos0_in_tx: Vec::new(),
            disconnect_in_tx: false,
            // Events are drained after every call: room for one is what an
            // idle connection needs, and the queue grows once under load.
            events: VecDeque::with_capacity(1),
            timers: TimerTable::default(),
            keep_alive,
            ids: PacketIds::new(),
            outgoing: Outgoing::default(),
            requests: Requests::default(),
            incoming: Incoming::default(),
            next_publish_id: 0,
            queue_full_reported: false,
            window_full: false,
            subscriptions: Subscriptions::default(),
            reconnect: options_reconnect,
            closing: false,
            connected_once: false,
            now: Instant::ZERO,
            store,
            store_fence: 0,
            v5,
        })
    }

    // ---- B. what happened ----------------------------------------------

    /// Bytes arrived from the transport, split at any point.
    ///
    /// ```
    /// # use mqtt_proto::{Connection, Instant, MqttString, Options};
    /// # let mut conn = Connection::new(Options::new(MqttString::try_from("doc").unwrap())).unwrap();
    /// # let now = Instant::ZERO;
    /// # conn.connect(now);
    /// # conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// # while conn.poll_transmit(now).is_some() {}
    /// # while conn.poll_event().is_some() {}
    /// use mqtt_proto::{Event, Message, QoS};
    ///
    /// // One QoS 0 PUBLISH, split anywhere.
    /// let publish = [0x30, 0x05, 0x00, 0x01, b't', b'h', b'i'];
    /// conn.handle_read(now, &publish[..3]);
    /// assert_eq!(conn.poll_event(), None);
    /// conn.handle_read(now, &publish[3..]);
    /// assert_eq!(
    ///     conn.poll_event(),
    ///     Some(Event::Message { message: Message::new("t", "hi", QoS::AtMostOnce).unwrap(), ack: None })
    /// );
    /// ```
    pub fn handle_read(&mut self, now: Instant, data: &[u8]) {
        self.now = self.now.max(now);
        if !matches!(self.state, State::Connecting | State::Connected) {
            return;
        }
        self.rx.extend_from_slice(data);
        while matches!(self.state, State::Connecting | State::Connected) && self.receive_one(now) {}
    }

    /// A deadline passed. Calling it early, late or twice is harmless.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mqtt_proto::{Connection, DisconnectReason, Event, Instant, MqttString, Options};
    ///
    /// let options = Options::new(MqttString::try_from("doc").unwrap())
    ///     .connect_timeout(Duration::from_secs(5));
    /// let mut conn = Connection::new(options).unwrap();
    /// conn.connect(Instant::ZERO);
    /// let deadline = conn.poll_timeout().unwrap();
    /// assert_eq!(deadline, Instant::from_millis(5_000));
    /// conn.handle_timeout(deadline); // no CONNACK came
    /// assert_eq!(
    ///     conn.poll_event(),
    ///     Some(Event::Disconnected { reason: DisconnectReason::ConnAckTimeout })
    /// );
    /// ```
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        match self.state {
            State::Opening | State::Connecting if self.timers.is_due(Timer::ConnAck, now) => {
                self.lose(DisconnectReason::ConnAckTimeout);
            }
            State::Disconnected if self.timers.is_due(Timer::Reconnect, now) => {
                self.timers.stop(Timer::Reconnect);
                let server = self.reconnect.as_ref().map_or(0, Reconnect::server);
                self.open(now, server);
            }
            State::Connected => {
                if self.keep_alive.ping_outstanding()
                    && self.timers.is_due(Timer::PingResponse, now)
                {
                    self.lose(DisconnectReason::KeepAliveTimeout);
                    return;
                }
                self.on_close_deadline(now);
                if self.state == State::Connected
                    && !self.keep_alive.ping_outstanding()
                    && self.timers.is_due(Timer::KeepAlive, now)
                {
                    self.encode(&Packet::PingReq);
                    self.keep_alive.on_ping_sent(now, &mut self.timers);
                }
            }
            _ => {}
        }
    }

    // ---- D. outputs ----------------------------------------------------

    /// The bytes to write next: every packet queued since the last call, in
    /// one chunk. `now` is when they are handed to the transport (it drives
    /// keep-alive).
    ///
    /// ```
    /// # use mqtt_proto::{Connection, Instant, MqttString, Options};
    /// # let mut conn = Connection::new(Options::new(MqttString::try_from("doc").unwrap())).unwrap();
    /// # let now = Instant::ZERO;
    /// # conn.connect(now);
    /// # conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// # while conn.poll_transmit(now).is_some() {}
    /// # while conn.poll_event().is_some() {}
    /// use mqtt_proto::{Message, QoS};
    ///
    /// conn.publish(Message::new("a", "1", QoS::AtMostOnce).unwrap()).unwrap();
    /// conn.publish(Message::new("b", "2", QoS::AtMostOnce).unwrap()).unwrap();
    /// let chunk = conn.poll_transmit(now).unwrap(); // both PUBLISH packets
    /// assert_eq!(&chunk[..], &[0x30, 4, 0, 1, b'a', b'1', 0x30, 4, 0, 1, b'b', b'2']);
    /// assert_eq!(conn.poll_transmit(now), None);
    /// ```
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Bytes> {
        self.now = self.now.max(now);
        if self.tx.is_empty() || self.store_pending() {
            return None;
        }
        let chunk = self.tx.split().freeze();
        self.outgoing.on_handed_out();
        for done in self.qos0_in_tx.drain(..) {
            self.events.push_back(Event::Published { id: done.id });
        }
        if self.disconnect_in_tx {
            self.disconnect_in_tx = false;
            self.lose(DisconnectReason::Requested);
        } else if self.state == State::Connected {
            self.keep_alive.on_sent(now, &mut self.timers);
        }
        Some(chunk)
    }

    /// The next event, oldest first.
    ///
    /// ```
    /// use mqtt_proto::{Connection, Event, Instant, MqttString, Options};
    ///
    /// let options = Options::new(MqttString::try_from("doc").unwrap()).clean_session(false);
    /// let mut conn = Connection::new(options).unwrap();
    /// conn.connect(Instant::ZERO);
    /// conn.handle_read(Instant::ZERO, &[0x20, 0x02, 0x01, 0x00]); // CONNACK, session present
    /// assert_eq!(conn.poll_event(), Some(Event::Connected { session_present: true }));
    /// assert_eq!(conn.poll_event(), None);
    /// ```
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.store_pending() {
            if self.store_fence == 0 {
                return None;
            }
            self.store_fence -= 1;
        }
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next, if
    /// ever: the earliest of the attempt's deadline, the keep-alive and
    /// ping-response deadlines, the end of a backoff delay and a graceful
    /// close's drain deadline.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mqtt_proto::{Connection, Instant, MqttString, Options};
    ///
    /// let options = Options::new(MqttString::try_from("doc").unwrap())
    ///     .keep_alive(Duration::from_secs(60));
    /// let mut conn = Connection::new(options).unwrap();
    /// assert_eq!(conn.poll_timeout(), None); // idle: nothing to wake up for
    /// conn.connect(Instant::ZERO);
    /// conn.handle_read(Instant::ZERO, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// while conn.poll_transmit(Instant::ZERO).is_some() {}
    /// // Nothing else to send: wake up for a PINGREQ a keep-alive period later.
    /// assert_eq!(conn.poll_timeout(), Some(Instant::from_millis(60_000)));
    /// ```
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Disconnecting => None,
            _ => self.timers.next(),
        }
    }

    // ---- internals -----------------------------------------------------

    /// Moves queued publishes onto the wire while the window has room.
    ///
    /// A window that filled up is refilled in batches: queued messages wait
    /// until a quarter of it is free again, then leave together. Brokers
    /// mostly ack one packet per write, so refilling on every ack would send
    /// one PUBLISH per ack, one system call each on both sides, all the way
    /// through the broker; a batch leaves in one write and comes back in
    /// bursts. Only the timing changes: order and ids are as they were.
    fn pump(&mut self) {
        if self.state != State::Connected {
            return;
        }
        let window = self.window();
        let batch = (window / 4).max(1);
        // Messages of a resumed session held back by the broker's Receive
        // Maximum go first, in their order [5.0 MQTT-3.3.4-7]
        // [MQTT-4.6.0-1]. (Entries held back still occupy the window, so
        // no new message passes them.)
        while self.outgoing.inflight.len() - self.outgoing.held_back < window {
            let Some(i) = self.outgoing.first_held_back() else {
                break;
            };
            self.outgoing.set_held_back(i, false);
            let dup = self.outgoing.re_encode(i);
            let Some(m) = self.outgoing.inflight.get(i) else {
                break;
            };
            let qos_pid = match m.stage {
                Stage::SentQos2 => QosPid::ExactlyOnce(m.pid),
                _ => QosPid::AtLeastOnce(m.pid),
            };
            let v5 = self.v5.as_deref_mut();
            let _ = write_publish(&mut self.tx, v5, dup, qos_pid, &m.message);
        }
        while let Some(next) = self.outgoing.queue.front() {
            if let Some(reason) = self.v5.as_deref().and_then(|v5| v5.refuses(&next.message)) {
                if let Some(refused) = self.outgoing.queue.pop_front() {
                    self.refuse(refused, reason);
                }
                continue;
            }
            if next.message.qos == QoS::AtMostOnce {
                let Some(queued) = self.outgoing.queue.pop_front() else {
                    break;
                };
                let v5 = self.v5.as_deref_mut();
                let _ = write_publish(&mut self.tx, v5, false, QosPid::AtMostOnce, &queued.message);
                self.qos0_in_tx.push(queued);
                continue;
            }
            let inflight = self.outgoing.inflight.len();
            if inflight >= window {
                self.window_full = true;
                break;
            }
            if self.window_full && inflight + batch > window {
                break;
            }
            self.window_full = false;
            let Some(pid) = self.ids.allocate() else {
                break;
            };
            let Some(queued) = self.outgoing.queue.pop_front() else {
                self.ids.release(pid);
                break;
            };
            let qos_pid = match queued.message.qos {
                QoS::ExactlyOnce => QosPid::ExactlyOnce(pid),
                _ => QosPid::AtLeastOnce(pid),
            };
            let id = queued.id;
            self.record(|| StoreOp::Sent { id, pid });
            let started = self.outgoing.start(queued, pid);
            // [MQTT-4.3.2-1] [MQTT-4.3.3-1] a new message goes out with DUP 0.
            let v5 = self.v5.as_deref_mut();
            let _ = write_publish(&mut self.tx, v5, false, qos_pid, &started.message);
        }
        if self.queue_full_reported && self.outgoing.queue.len() < self.options.max_queued {
            self.queue_full_reported = false;
            self.events.push_back(Event::QueueReady);
        }
    }

    /// How many QoS 1 and 2 publishes may be in flight: ours, and at 5.0
    /// never more than the broker's Receive Maximum [MQTT-3.3.4-7].
    fn window(&self) -> usize {
        match &self.v5 {
            Some(v5) => self.options.max_inflight.min(usize::from(v5.send_maximum)),
            None => self.options.max_inflight,
        }
    }

    /// Ends a queued publish the broker cannot take, as the broker would
    /// have refused it (5.0 only).
    fn refuse(&mut self, refused: Queued, reason: packet::v5::ReasonCode) {
        let id = refused.id;
        if refused.message.qos != QoS::AtMostOnce {
            self.record(|| StoreOp::Done { id });
        }
        self.events.push_back(Event::PublishAcked {
            id,
            reason,
            properties: Default::default(),
        });
    }

    fn send_owed(&mut self, owed: Owed) {
        match owed {
            Owed::PubAck(pid) => self.encode(&Packet::PubAck(PubAck::new(pid))),
            Owed::PubRec(pid) => self.encode(&Packet::PubRec(PubRec::new(pid))),
        }
    }

    fn flush_acks(&mut self) {
        if self.state != State::Connected {
            return;
        }
        while let Some(owed) = self.incoming.next_ready() {
            self.send_owed(owed);
        }
    }

    fn violation(&mut self, v: ProtocolViolation) {
        self.lose(DisconnectReason::ProtocolViolation(v));
    }
}
