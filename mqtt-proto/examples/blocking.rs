//! A complete MQTT client on a blocking `std::net::TcpStream`: the "custom
//! event loop" way to embed [`Connection`]. [`BlockingClient`] is the whole
//! adapter: write what `poll_transmit` hands out, pass on what `poll_event`
//! reports, and sleep in `read` no longer than `poll_timeout` allows.
//! `main` subscribes to a topic, publishes to it at QoS 0, 1 and 2, prints
//! what comes back and disconnects.
//!
//! Run, with a broker listening (e.g. `mosquitto -p 1883`):
//! `MQTT_ADDR=127.0.0.1:1883 cargo run -p mqtt-proto --example blocking`
//!
//! The integration tests include this file as a module and drive the same
//! loop against a real mosquitto, so keep `BlockingClient` public.

use mqtt_proto::{AckToken, PacketId, PublishId, TopicFilter};
use mqtt_proto::{Connection, Event, Instant, Message, MqttString, Options, QoS, State};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Errors of the example: IO, refused commands, a lost connection, timeouts.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// How long to sleep in `read` when the connection asks for no deadline.
const IDLE_WAIT: Duration = Duration::from_secs(5);
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
}

impl BlockingClient {
    /// Opens a TCP connection to `addr` and queues CONNECT; the
    /// `Event::Connected` comes out of [`run_until`](Self::run_until).
    pub fn connect(addr: impl ToSocketAddrs, options: Options) -> Result<Self, Error> {
        let mut client = BlockingClient {
            addrs: addr.to_socket_addrs()?.collect(),
            stream: None,
            conn: Connection::new(options)?,
            start: std::time::Instant::now(),
            buf: vec![0; 64 * 1024],
        };
        client.reconnect()?;
        Ok(client)
    }

    /// Opens a new transport to the same address and resumes the session
    /// (queued publishes, unacknowledged ones, pending subscribes).
    pub fn reconnect(&mut self) -> Result<(), Error> {
        if self.stream.take().is_some() {
            self.conn.handle_closed(self.now());
        }
        let stream = TcpStream::connect(&self.addrs[..])
            .map_err(|e| format!("cannot connect to {:?}: {e}", self.addrs))?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
        self.stream = Some(stream);
        self.conn.connect(self.now());
        Ok(())
    }

    /// Queues a publish; `Event::Published` with the id reports completion.
    pub fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS) -> Result<PublishId, Error> {
        let message = Message::new(topic, payload.to_vec(), qos)?;
        Ok(self.conn.publish(message)?)
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

    /// Sends DISCONNECT and waits (up to `limit`) until it is out.
    pub fn disconnect(&mut self, limit: Duration) -> Result<(), Error> {
        if self.conn.state() == State::Disconnected {
            self.stream = None;
            return Ok(());
        }
        self.conn.disconnect(self.now(), Duration::ZERO);
        self.run_until(limit, |e| {
            matches!(e, Event::Disconnected { .. }).then_some(())
        })
    }

    /// Runs the loop until `until` returns `Some` for an event, for at most
    /// `limit`. Losing the connection first is an error.
    pub fn run_until<T>(
        &mut self,
        limit: Duration,
        until: impl FnMut(Event) -> Option<T>,
    ) -> Result<T, Error> {
        self.run(limit, until)?
            .ok_or_else(|| format!("nothing awaited happened within {limit:?}").into())
    }

    /// Like `run_until`, but running out of time is `Ok(None)`.
    pub fn run<T>(
        &mut self,
        limit: Duration,
        mut until: impl FnMut(Event) -> Option<T>,
    ) -> Result<Option<T>, Error> {
        let give_up = std::time::Instant::now() + limit;
        let mut lost = None;
        loop {
            let now = self.now();
            while let Some(bytes) = self.conn.poll_transmit(now) {
                let written = match &mut self.stream {
                    Some(stream) => stream.write_all(&bytes),
                    None => Err(ErrorKind::NotConnected.into()),
                };
                if written.is_err() {
                    self.conn.handle_closed(now);
                }
            }
            // The state, not a (possibly stale) event, says whether the
            // current transport is over; after DISCONNECT close it
            // [MQTT-3.14.4-1].
            if self.conn.state() == State::Disconnected {
                self.stream = None;
            }
            while let Some(event) = self.conn.poll_event() {
                if let Event::Disconnected { reason } = &event {
                    lost = Some(reason.to_string());
                }
                if let Some(done) = until(event) {
                    return Ok(Some(done));
                }
            }
            let Some(stream) = &mut self.stream else {
                let reason = lost.unwrap_or_else(|| "not connected".into());
                return Err(format!("connection lost: {reason}").into());
            };
            let left = give_up.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            // Check the deadline before sleeping: a due timer fires now.
            let wait = match self.conn.poll_timeout() {
                Some(at) if at <= now => {
                    self.conn.handle_timeout(now);
                    continue;
                }
                Some(at) => at.saturating_duration_since(now),
                None => IDLE_WAIT,
            };
            stream.set_read_timeout(Some(wait.min(left).max(Duration::from_millis(1))))?;
            let read = stream.read(&mut self.buf);
            let now = self.now();
            match read {
                Ok(0) => self.conn.handle_closed(now),
                Ok(n) => self
                    .conn
                    .handle_read(now, self.buf.get(..n).unwrap_or_default()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    self.conn.handle_timeout(now)
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.conn.handle_closed(now),
            }
        }
    }

    fn now(&self) -> Instant {
        Instant::from_duration(self.start.elapsed())
    }
}

fn main() -> Result<(), Error> {
    let addr = std::env::var("MQTT_ADDR").unwrap_or_else(|_| "127.0.0.1:1883".into());
    let id = format!("blocking-example-{}", std::process::id());
    let options = Options::new(MqttString::try_from(id)?).with_keep_alive(Duration::from_secs(30));
    let topic = "mqtt-proto/examples/blocking";
    let wait = Duration::from_secs(10);

    let mut client = BlockingClient::connect(addr.as_str(), options)?;
    client.run_until(wait, |e| matches!(e, Event::Connected { .. }).then_some(()))?;
    println!("connected to {addr}");

    let sub = client.subscribe(&[(topic, QoS::ExactlyOnce)])?;
    let outcomes = client.run_until(wait, |e| match e {
        Event::Subscribed { id, outcomes } if id == sub => Some(outcomes),
        _ => None,
    })?;
    println!("subscribed to {topic}: {outcomes:?}");

    let mut pending = Vec::new();
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let payload = format!("hello at {qos:?}");
        pending.push(client.publish(topic, payload.as_bytes(), qos)?);
    }
    let (mut published, mut received) = (0, 0);
    client.run_until(wait, |event| {
        match event {
            Event::Published { id } if pending.contains(&id) => published += 1,
            Event::Message { message, .. } => {
                received += 1;
                let text = String::from_utf8_lossy(&message.payload);
                println!("received on {} at {:?}: {text}", message.topic, message.qos);
            }
            _ => {}
        }
        (published == pending.len() && received == pending.len()).then_some(())
    })?;
    println!("all {published} publishes completed");

    client.disconnect(wait)?;
    println!("disconnected");
    Ok(())
}
