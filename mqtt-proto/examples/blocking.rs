//! A complete MQTT client on a blocking `std::net::TcpStream`: the "custom
//! event loop" way to embed [`Connection`]. The core holds the whole session
//! policy (reconnecting with backoff across servers, subscribing again when
//! the broker lost the session, the graceful close); [`BlockingClient`] only
//! opens the socket `Event::OpenTransport` names, drops it on
//! `Event::Disconnected`, writes what `poll_transmit` hands out and sleeps
//! in `read` no longer than `poll_timeout` allows. `main` subscribes,
//! publishes at QoS 0, 1 and 2, prints what comes back and closes gracefully.
//!
//! With a store ([`BlockingClient::with_store`]) the session also lives in
//! a file ([`FileStore`]), so a process that dies mid-exchange is carried
//! on by the next one: the loop takes the core's `poll_store` ops after
//! every call into it and makes them durable before it writes any byte or
//! hands out any event.
//!
//! Run, with a broker listening (e.g. `mosquitto -p 1883`):
//! `MQTT_ADDR=127.0.0.1:1883 cargo run -p mqtt-proto --example blocking`;
//! add `MQTT_STORE=/tmp/blocking.store` to keep the session in that file.
//!
//! tests/tests/blocking_example.rs includes this file as a module and drives
//! the same loop against a real mosquitto, so keep `BlockingClient` public.

use mqtt_proto::store::{StoreOp, StoredSession};
use mqtt_proto::{AckToken, PacketId, PublishId, ReconnectOptions, TopicFilter};
use mqtt_proto::{Connection, Event, Instant, Message, MqttString, Options, QoS};
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

/// Errors of the example: IO, refused commands, running out of time.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// A broker that stops reading for this long counts as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// An MQTT client that owns its socket and runs its loop on the caller's thread.
#[derive(Debug)]
pub struct BlockingClient {
    addrs: Vec<SocketAddr>,
    stream: Option<TcpStream>,
    conn: Connection,
    /// The origin of the connection's clock.
    start: std::time::Instant,
    buf: Vec<u8>,
    /// Where the session's changes go, if anywhere.
    store: Option<FileStore>,
}

impl BlockingClient {
    /// A client of the brokers at `addr` (tried in order, with backoff
    /// between rounds). It connects from [`run`](Self::run) on.
    pub fn new(addr: impl ToSocketAddrs, options: Options) -> Result<Self, Error> {
        Self::build(addr, options, None)
    }

    /// Like [`new`](Self::new), with the session kept in the file at `path`
    /// too: the client carries on the session the file holds (its
    /// unfinished messages are sent again, with their packet ids if they
    /// had one) and records every change there. Give it the same client id
    /// and `clean_session(false)`, so that the broker's half of the session
    /// matches.
    pub fn with_store(
        addr: impl ToSocketAddrs,
        options: Options,
        path: impl AsRef<Path>,
    ) -> Result<Self, Error> {
        Self::build(addr, options, Some(path.as_ref()))
    }

    fn build(
        addr: impl ToSocketAddrs,
        options: Options,
        path: Option<&Path>,
    ) -> Result<Self, Error> {
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        let policy = ReconnectOptions::new(addrs.len())
            .backoff(Duration::from_millis(100), Duration::from_secs(5));
        let options = options.reconnect(policy);
        let (conn, store) = match path {
            None => (Connection::new(options)?, None),
            Some(path) => {
                let (store, session) = FileStore::open(path)?;
                let conn = Connection::restore(options.store(true), &session)?;
                (conn, Some(store))
            }
        };
        let mut client = BlockingClient {
            addrs,
            stream: None,
            conn,
            start: std::time::Instant::now(),
            buf: vec![0; 64 * 1024],
            store,
        };
        client.reconnect();
        Ok(client)
    }

    /// Connects again after a close; the session carries over.
    pub fn reconnect(&mut self) {
        self.conn.start(self.now());
    }

    /// Queues a publish; `Event::Published` with the id reports completion.
    /// With a store, a QoS 1 or 2 message is durable from the next
    /// [`run`](Self::run) on.
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

    /// Acknowledges a message received in manual-ack mode.
    pub fn ack(&mut self, token: AckToken) -> Result<(), Error> {
        Ok(self.conn.ack(token)?)
    }

    /// Starts the graceful close: up to `drain` for the publishes in flight,
    /// then DISCONNECT. The next `Event::Disconnected` ends it.
    pub fn disconnect(&mut self, drain: Duration) {
        self.conn.disconnect(self.now(), drain);
    }

    /// Cuts the TCP connection without DISCONNECT, as a network failure would.
    pub fn break_transport(&mut self) {
        if let Some(stream) = &self.stream {
            let _ = stream.shutdown(Shutdown::Both);
        }
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
    /// connection and none coming (closed, or the policy gave up), or when
    /// the store cannot be written, it fails.
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
                // The session's changes first: nothing that follows them
                // leaves before they are durable (the core holds it back).
                self.commit()?;
                while let Some(bytes) = self.conn.poll_transmit(now) {
                    let written = self.stream.as_mut().map(|s| s.write_all(&bytes));
                    if !matches!(written, Some(Ok(()))) {
                        self.conn.handle_closed(now);
                    }
                }
                let Some(event) = self.conn.poll_event() else {
                    // A failed write may have changed the session too.
                    if self.commit()? {
                        continue;
                    }
                    break now;
                };
                match event {
                    Event::OpenTransport { server } => self.open(server),
                    // After DISCONNECT too: close the socket [MQTT-3.14.4-1].
                    Event::Disconnected { .. } => self.stream = None,
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
            let Some(stream) = &mut self.stream else {
                std::thread::sleep(wait); // a reconnect's backoff
                continue;
            };
            stream.set_read_timeout(Some(wait))?;
            let read = stream.read(&mut self.buf);
            let now = self.now();
            match read {
                Ok(0) => self.conn.handle_closed(now),
                Ok(n) => self.conn.handle_read(now, &self.buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.conn.handle_closed(now),
            }
        }
    }

    /// Opens the socket `Event::OpenTransport` asked for, within what is left
    /// of the attempt's deadline (the earliest in `poll_timeout` now).
    fn open(&mut self, server: usize) {
        let now = self.now();
        let left = self
            .conn
            .poll_timeout()
            .map_or(WRITE_TIMEOUT, |at| at - now);
        let addr = self.addrs[server];
        let opened = TcpStream::connect_timeout(&addr, left.max(Duration::from_millis(1)))
            .and_then(|stream| {
                stream.set_nodelay(true)?;
                stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
                Ok(stream)
            });
        match opened {
            Ok(stream) => {
                self.stream = Some(stream);
                self.conn.connect(self.now());
            }
            Err(_) => self.conn.handle_closed(self.now()),
        }
    }

    /// Takes the core's store ops and makes them durable: one write and
    /// one sync for all of them. Returns whether there were any.
    fn commit(&mut self) -> Result<bool, Error> {
        let Some(store) = &mut self.store else {
            return Ok(false);
        };
        while let Some(op) = self.conn.poll_store() {
            store.append(&op);
        }
        Ok(store.sync()?)
    }

    fn now(&self) -> Instant {
        Instant::from_duration(self.start.elapsed())
    }
}

/// A store of the session in one append-only file: each [`StoreOp`] record
/// behind its length (u32, big-endian). It never compacts; a long-lived
/// store would now and then rewrite the file from [`StoredSession::ops`].
#[derive(Debug)]
pub struct FileStore {
    file: File,
    /// Records appended since the last sync.
    pending: Vec<u8>,
}

impl FileStore {
    /// Opens (or creates) the store at `path` and folds what it holds. A
    /// process that died mid-write left a torn last record: reading stops
    /// there, and it is cut off so that new records follow a whole one.
    pub fn open(path: &Path) -> std::io::Result<(FileStore, StoredSession)> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let mut session = StoredSession::new();
        let mut whole = 0;
        while let Some((len, rest)) = bytes[whole..].split_first_chunk::<4>() {
            let len = u32::from_be_bytes(*len) as usize;
            let Some(Ok(op)) = rest.get(..len).map(StoreOp::decode) else {
                break;
            };
            session.apply(op);
            whole += 4 + len;
        }
        file.set_len(whole as u64)?;
        let pending = Vec::new();
        Ok((FileStore { file, pending }, session))
    }

    /// Appends `op`'s record, durable from the next [`sync`](Self::sync).
    pub fn append(&mut self, op: &StoreOp) {
        let start = self.pending.len();
        self.pending.extend_from_slice(&[0; 4]);
        op.encode(&mut self.pending);
        let len = (self.pending.len() - start - 4) as u32;
        self.pending[start..start + 4].copy_from_slice(&len.to_be_bytes());
    }

    /// Writes what was appended and waits until it is on disk. Returns
    /// whether there was anything.
    pub fn sync(&mut self) -> std::io::Result<bool> {
        if self.pending.is_empty() {
            return Ok(false);
        }
        self.file.write_all(&self.pending)?;
        self.file.sync_data()?;
        self.pending.clear();
        Ok(true)
    }
}

fn main() -> Result<(), Error> {
    let addr = std::env::var("MQTT_ADDR").unwrap_or_else(|_| "127.0.0.1:1883".into());
    let store = std::env::var_os("MQTT_STORE");
    // A stored session is resumed under the same id, from run to run.
    let id = match store {
        Some(_) => "blocking-example".to_string(),
        None => format!("blocking-example-{}", std::process::id()),
    };
    let options = Options::new(MqttString::try_from(id)?)
        .keep_alive(Duration::from_secs(30))
        .clean_session(store.is_none());
    let (topic, wait) = ("mqtt-proto/examples/blocking", Duration::from_secs(10));

    let mut client = match store {
        Some(path) => BlockingClient::with_store(addr.as_str(), options, path)?,
        None => BlockingClient::new(addr.as_str(), options)?,
    };
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
