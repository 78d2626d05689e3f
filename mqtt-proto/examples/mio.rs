//! The client of `blocking.rs` in a readiness-based loop on mio: a
//! non-blocking `TcpStream`, one `Poll` whose timeout is `poll_timeout`,
//! reads until `WouldBlock`, and the bytes the socket would not take parked
//! (with WRITABLE interest registered) until it will. As there, the core
//! decides reconnects, resubscriptions and the graceful close; [`MioClient`]
//! only opens and drops sockets when its events say so. `main` subscribes,
//! publishes at QoS 0, 1 and 2, prints what comes back and closes gracefully.
//!
//! Run, with a broker listening (e.g. `mosquitto -p 1883`):
//! `MQTT_ADDR=127.0.0.1:1883 cargo run -p mqtt-proto --example mio`
//!
//! tests/tests/mio_example.rs includes this file as a module, so keep
//! `MioClient` public.

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use mqtt_proto::{Connection, Event, Instant, Message, MqttString, Options, QoS};
use mqtt_proto::{PacketId, PublishId, ReconnectOptions, TopicFilter};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// Errors of the example: IO, refused commands, running out of time.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

const SOCKET: Token = Token(0);

/// An MQTT client on one mio `Poll`, run on the caller's thread.
#[derive(Debug)]
pub struct MioClient {
    addrs: Vec<SocketAddr>,
    poll: Poll,
    ready: Events,
    stream: Option<TcpStream>,
    /// The TCP handshake is under way (CONNECT waits for it).
    opening: bool,
    /// Bytes handed out by `poll_transmit` that the socket did not take yet.
    parked: Vec<u8>,
    /// Whether WRITABLE interest is registered.
    writable: bool,
    conn: Connection,
    /// The origin of the connection's clock.
    start: std::time::Instant,
    buf: Vec<u8>,
}

impl MioClient {
    /// A client of the brokers at `addr` (tried in order, with backoff
    /// between rounds). It connects from [`run`](Self::run) on.
    pub fn new(addr: impl ToSocketAddrs, options: Options) -> Result<Self, Error> {
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        let policy = ReconnectOptions::new(addrs.len())
            .backoff(Duration::from_millis(100), Duration::from_secs(5));
        let mut conn = Connection::new(options.reconnect(policy))?;
        conn.start(Instant::ZERO);
        Ok(MioClient {
            addrs,
            poll: Poll::new()?,
            ready: Events::with_capacity(4),
            stream: None,
            opening: false,
            parked: Vec::new(),
            writable: false,
            conn,
            start: std::time::Instant::now(),
            buf: vec![0; 64 * 1024],
        })
    }

    /// Queues a publish; `Event::Published` with the id reports completion.
    pub fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS) -> Result<PublishId, Error> {
        Ok(self
            .conn
            .publish(Message::new(topic, payload.to_vec(), qos)?)?)
    }

    /// Queues a subscribe; `Event::Subscribed` with the id carries the SUBACK.
    pub fn subscribe(&mut self, filters: &[(&str, QoS)]) -> Result<PacketId, Error> {
        let filters = filters
            .iter()
            .map(|&(f, qos)| Ok((TopicFilter::try_from(f)?, qos)))
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(self.conn.subscribe(filters)?)
    }

    /// Starts the graceful close: up to `drain` for the publishes in flight,
    /// then DISCONNECT. The next `Event::Disconnected` ends it.
    pub fn disconnect(&mut self, drain: Duration) {
        self.conn.disconnect(self.now(), drain);
    }

    /// Runs the loop until `until` returns `Some` for an event, for at most
    /// `limit`.
    pub fn run_until<T>(
        &mut self,
        limit: Duration,
        until: impl FnMut(Event) -> Option<T>,
    ) -> Result<T, Error> {
        self.run(limit, until)?
            .ok_or_else(|| format!("nothing awaited happened within {limit:?}").into())
    }

    /// Like `run_until`, but running out of time is `Ok(None)`. Every event
    /// that is ready goes to `until`, also after it returned `Some`. With no
    /// connection and none coming (closed, or the policy gave up) it fails.
    pub fn run<T>(
        &mut self,
        limit: Duration,
        mut until: impl FnMut(Event) -> Option<T>,
    ) -> Result<Option<T>, Error> {
        let give_up = std::time::Instant::now() + limit;
        loop {
            let mut done = None;
            let now = loop {
                let now = self.now();
                while let Some(bytes) = self.conn.poll_transmit(now) {
                    self.parked.extend_from_slice(&bytes);
                }
                self.write(now)?;
                let Some(event) = self.conn.poll_event() else {
                    break now;
                };
                match event {
                    Event::OpenTransport { server } => self.open(server, now)?,
                    // After DISCONNECT too: close the socket [MQTT-3.14.4-1].
                    Event::Disconnected { .. } => self.close(),
                    _ => {}
                }
                done = done.or(until(event));
            };
            if done.is_some() {
                return Ok(done);
            }
            let left = give_up.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let wait = match self.conn.poll_timeout() {
                Some(at) if at <= now => {
                    self.conn.handle_timeout(now);
                    continue;
                }
                Some(at) => (at - now).min(left),
                None if self.stream.is_none() => return Err("closed, or gave up".into()),
                None => left,
            };
            match self.poll.poll(&mut self.ready, Some(wait)) {
                Err(e) if e.kind() != ErrorKind::Interrupted => return Err(e.into()),
                _ => {}
            }
            let now = self.now();
            if self.opening {
                self.finish_open(now);
            }
            if !self.opening {
                self.read(now);
            }
        }
    }

    /// Starts a non-blocking connect to the server `Event::OpenTransport`
    /// named; WRITABLE says when it is done.
    fn open(&mut self, server: usize, now: Instant) -> io::Result<()> {
        let Ok(mut stream) = TcpStream::connect(self.addrs[server]) else {
            self.conn.handle_closed(now);
            return Ok(());
        };
        let interest = Interest::READABLE | Interest::WRITABLE;
        self.poll
            .registry()
            .register(&mut stream, SOCKET, interest)?;
        (self.stream, self.opening, self.writable) = (Some(stream), true, true);
        Ok(())
    }

    /// The handshake succeeded once the socket has a peer; then CONNECT.
    fn finish_open(&mut self, now: Instant) {
        let Some(stream) = &self.stream else { return };
        if !matches!(stream.take_error(), Ok(None)) {
            return self.conn.handle_closed(now);
        }
        match stream.peer_addr() {
            Ok(_) => {
                let _ = stream.set_nodelay(true);
                self.opening = false;
                self.conn.connect(now);
            }
            Err(e) if e.kind() == ErrorKind::NotConnected => {} // not yet
            Err(_) => self.conn.handle_closed(now),
        }
    }

    /// Reads until the socket would block (mio's readiness is edge-triggered).
    fn read(&mut self, now: Instant) {
        while let Some(stream) = &mut self.stream {
            match stream.read(&mut self.buf) {
                Ok(0) => return self.conn.handle_closed(now),
                Ok(n) => self.conn.handle_read(now, &self.buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return self.conn.handle_closed(now),
            }
        }
    }

    /// Writes parked bytes until the socket would block; WRITABLE interest
    /// stays registered while some are left.
    fn write(&mut self, now: Instant) -> io::Result<()> {
        let Some(stream) = self.stream.as_mut().filter(|_| !self.opening) else {
            return Ok(());
        };
        while !self.parked.is_empty() {
            match stream.write(&self.parked) {
                Ok(n) if n > 0 => {
                    self.parked.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                _ => {
                    self.conn.handle_closed(now);
                    return Ok(());
                }
            }
        }
        if self.writable == self.parked.is_empty() {
            self.writable = !self.writable;
            let interest = if self.writable {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            self.poll.registry().reregister(stream, SOCKET, interest)?;
        }
        Ok(())
    }

    /// Drops the socket, and the bytes it never took (the core reports a
    /// close when it hands DISCONNECT out, not when the socket takes it).
    fn close(&mut self) {
        if let Some(mut stream) = self.stream.take() {
            let _ = self.poll.registry().deregister(&mut stream);
        }
        self.opening = false;
        self.parked.clear();
    }

    fn now(&self) -> Instant {
        Instant::from_duration(self.start.elapsed())
    }
}

fn main() -> Result<(), Error> {
    let addr = std::env::var("MQTT_ADDR").unwrap_or_else(|_| "127.0.0.1:1883".into());
    let id = format!("mio-example-{}", std::process::id());
    let options = Options::new(MqttString::try_from(id)?).keep_alive(Duration::from_secs(30));
    let (topic, wait) = ("mqtt-proto/examples/mio", Duration::from_secs(10));

    let mut client = MioClient::new(addr.as_str(), options)?;
    client.subscribe(&[(topic, QoS::ExactlyOnce)])?;
    client.run_until(wait, |event| {
        println!("{event:?}");
        matches!(event, Event::Subscribed { .. }).then_some(())
    })?;
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        client.publish(topic, format!("hello at {qos:?}").as_bytes(), qos)?;
    }
    let mut received = 0;
    client.run_until(wait, |event| {
        println!("{event:?}");
        received += usize::from(matches!(event, Event::Message { .. }));
        (received == 3).then_some(())
    })?;
    // Every publish completes (or `wait` passes) before DISCONNECT goes out.
    client.disconnect(wait);
    client.run_until(wait, |event| {
        println!("{event:?}");
        matches!(event, Event::Disconnected { .. }).then_some(())
    })
}
