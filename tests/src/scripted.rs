//! A scripted MQTT broker for misbehaviour tests: a loopback listener on
//! plain threads that runs the test's script on every connection, with a
//! [`Peer`] to read the client's packets (decoded with our own codec) and
//! write well-formed or deliberately broken bytes back. It records how many
//! connections were made, and each script's verdict.
//!
//! Unlike [`crate::broker::Mosquitto`] it implements nothing of MQTT by
//! itself: every byte it sends is the script's.

use bytes::BytesMut;
use mqtt_proto::packet::{decode, v5, Packet};
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Largest packet the scripted broker decodes.
const MAX_PACKET: usize = 1 << 20;

/// A script: what to do on connection number `n` (from 0). Its return value
/// is kept in [`ScriptedBroker::finish`]'s result.
pub type Script = Arc<dyn Fn(&mut Peer, usize) -> String + Send + Sync>;

/// One accepted connection, as the script sees it.
#[derive(Debug)]
pub struct Peer {
    stream: TcpStream,
    rx: BytesMut,
}

impl Peer {
    /// The client's next packet within `limit`; `None` on silence, end of
    /// stream or bytes our codec rejects.
    pub fn packet(&mut self, limit: Duration) -> Option<Packet> {
        let give_up = Instant::now() + limit;
        loop {
            match decode(&mut self.rx, MAX_PACKET) {
                Ok(Some(p)) => return Some(p),
                Ok(None) => {}
                Err(_) => return None,
            }
            let left = give_up.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let _ = self
                .stream
                .set_read_timeout(Some(left.min(Duration::from_millis(50))));
            let mut chunk = [0u8; 8192];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.rx.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return None,
            }
        }
    }

    /// The client's next MQTT 5.0 packet within `limit`, with the exact
    /// bytes it came in; `None` on silence, end of stream or bytes the 5.0
    /// codec rejects.
    pub fn packet_v5(&mut self, limit: Duration) -> Option<(Vec<u8>, v5::Packet)> {
        let give_up = Instant::now() + limit;
        loop {
            let before = self.rx.clone();
            match v5::decode(&mut self.rx, MAX_PACKET) {
                Ok(Some(p)) => {
                    let used = before.len() - self.rx.len();
                    return Some((before[..used].to_vec(), p));
                }
                Ok(None) => {}
                Err(_) => return None,
            }
            let left = give_up.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let _ = self
                .stream
                .set_read_timeout(Some(left.min(Duration::from_millis(50))));
            let mut chunk = [0u8; 8192];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.rx.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return None,
            }
        }
    }

    /// Sends an MQTT 5.0 packet, encoded by our codec.
    pub fn send_packet_v5(&mut self, packet: &v5::Packet) {
        let mut buf = BytesMut::new();
        packet
            .encode(&mut buf)
            .expect("a 5.0 packet the codec can encode");
        self.send(&buf);
    }

    /// Waits for the CONNECT; false if something else (or nothing) came.
    pub fn expect_connect(&mut self) -> bool {
        matches!(
            self.packet(Duration::from_secs(5)),
            Some(Packet::Connect(_))
        )
    }

    /// Every packet the client sends within `limit`.
    pub fn packets_for(&mut self, limit: Duration) -> Vec<Packet> {
        let give_up = Instant::now() + limit;
        let mut out = Vec::new();
        loop {
            let left = give_up.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return out;
            }
            match self.packet(left) {
                Some(p) => out.push(p),
                None if self.closed_by_client(Duration::ZERO) => return out,
                None => {}
            }
        }
    }

    /// Sends raw bytes (ignoring a client that is gone).
    pub fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// Sends a packet, encoded by our codec.
    pub fn send_packet(&mut self, packet: &Packet) {
        let mut buf = BytesMut::new();
        packet
            .encode(&mut buf)
            .expect("a packet the codec can encode");
        self.send(&buf);
    }

    /// Sends bytes one at a time, `gap` apart.
    pub fn trickle(&mut self, bytes: &[u8], gap: Duration) {
        for b in bytes {
            self.send(&[*b]);
            thread::sleep(gap);
        }
    }

    /// Whether the client closed the connection within `limit` (reading
    /// and discarding what it sends meanwhile).
    pub fn closed_by_client(&mut self, limit: Duration) -> bool {
        let give_up = Instant::now() + limit;
        loop {
            let left = give_up.saturating_duration_since(Instant::now());
            let _ = self.stream.set_read_timeout(Some(
                left.max(Duration::from_millis(1))
                    .min(Duration::from_millis(50)),
            ));
            let mut chunk = [0u8; 8192];
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(n) => self.rx.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return true,
            }
            if Instant::now() >= give_up {
                return false;
            }
        }
    }

    /// Closes the connection from the broker's side.
    pub fn hang_up(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// A listener on a free loopback port running a [`Script`] per connection.
pub struct ScriptedBroker {
    port: u16,
    verdicts: Arc<Mutex<Vec<Option<String>>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<thread::JoinHandle<()>>,
    workers: Arc<Mutex<Vec<thread::JoinHandle<()>>>>,
}

impl std::fmt::Debug for ScriptedBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedBroker")
            .field("port", &self.port)
            .finish()
    }
}

impl ScriptedBroker {
    /// Starts accepting; each connection runs `script` on its own thread.
    pub fn start(script: impl Fn(&mut Peer, usize) -> String + Send + Sync + 'static) -> Self {
        let script: Script = Arc::new(script);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let verdicts = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let workers = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let (verdicts, stop, workers) = (verdicts.clone(), stop.clone(), workers.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let n = {
                                let mut v = verdicts.lock().expect("verdicts");
                                v.push(None);
                                v.len() - 1
                            };
                            let (script, verdicts) = (script.clone(), verdicts.clone());
                            let worker = thread::spawn(move || {
                                let _ = stream.set_nonblocking(false);
                                let _ = stream.set_nodelay(true);
                                let mut peer = Peer {
                                    stream,
                                    rx: BytesMut::new(),
                                };
                                let verdict = script(&mut peer, n);
                                if let Some(slot) = verdicts.lock().expect("verdicts").get_mut(n) {
                                    *slot = Some(verdict);
                                }
                            });
                            workers.lock().expect("workers").push(worker);
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            thread::sleep(Duration::from_millis(2));
                        }
                        Err(e) => panic!("scripted broker: accept failed: {e}"),
                    }
                }
            })
        };
        ScriptedBroker {
            port,
            verdicts,
            stop,
            acceptor: Some(acceptor),
            workers,
        }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.verdicts.lock().expect("verdicts").len()
    }

    /// Stops accepting, waits for the scripts that finish within `limit`,
    /// and returns each connection's verdict (`None`: still running).
    pub fn finish(mut self, limit: Duration) -> Vec<Option<String>> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
        let give_up = Instant::now() + limit;
        while Instant::now() < give_up
            && self
                .workers
                .lock()
                .expect("workers")
                .iter()
                .any(|w| !w.is_finished())
        {
            thread::sleep(Duration::from_millis(10));
        }
        let verdicts = self.verdicts.lock().expect("verdicts").clone();
        verdicts
    }
}

impl Drop for ScriptedBroker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
