//! A TCP proxy on std threads between clients and a broker that can sever
//! every connection at once (no DISCONNECT, no will-suppression: to both
//! ends it looks like a network failure) and refuse new ones until restored.

use bytes::BytesMut;
use mqtt_proto::packet::{self, Packet};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// Which broker-to-client packet severs the connections (see
/// [`Proxy::cut_at`]).
type Trigger = Box<dyn Fn(&Packet) -> bool + Send>;

#[derive(Default)]
struct Shared {
    down: AtomicBool,
    stopped: AtomicBool,
    sockets: Mutex<Vec<TcpStream>>,
    trigger: Mutex<Option<Trigger>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("down", &self.down)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

/// A running proxy; dropping it severs everything and stops it.
#[derive(Debug)]
pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
}

impl Proxy {
    /// A proxy on a free loopback port forwarding to `upstream`.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("proxy bind");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(Shared::default());
        let state = shared.clone();
        thread::spawn(move || {
            for client in listener.incoming() {
                if state.stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                if state.down.load(Ordering::SeqCst) {
                    // Refuse: accept and close at once.
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let clones = (
                    client.try_clone(),
                    server.try_clone(),
                    client.try_clone(),
                    server.try_clone(),
                );
                let (Ok(c2), Ok(s2), Ok(c3), Ok(s3)) = clones else {
                    continue;
                };
                state.sockets.lock().unwrap().extend([c3, s3]);
                pump(client, server);
                let shared = state.clone();
                thread::spawn(move || downstream(s2, c2, &shared));
            }
        });
        Proxy { port, shared }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Severs every connection and refuses new ones until `restore`.
    pub fn cut(&self) {
        self.shared.down.store(true, Ordering::SeqCst);
        for socket in self.shared.sockets.lock().unwrap().drain(..) {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    /// Arms a one-shot fault: the first packet from the broker for which
    /// `trigger` holds is swallowed and every connection severed at that
    /// moment (new ones are still accepted). The client never sees that
    /// packet, though the broker sent it: a lost acknowledgement.
    pub fn cut_at(&self, trigger: impl Fn(&Packet) -> bool + Send + 'static) {
        *self.shared.trigger.lock().unwrap() = Some(Box::new(trigger));
    }

    /// Whether the fault armed by [`cut_at`](Self::cut_at) has fired.
    pub fn fired(&self) -> bool {
        self.shared.trigger.lock().unwrap().is_none()
    }

    /// Accepts new connections again after [`cut`](Self::cut).
    pub fn restore(&self) {
        self.shared.down.store(false, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` on a thread until either end closes, then
/// closes both.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    thread::spawn(move || {
        let _ = io::copy(&mut from, &mut to);
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// Copies broker-to-client packets one by one, so that an armed trigger
/// can swallow one and sever everything (see [`Proxy::cut_at`]).
fn downstream(mut from: TcpStream, mut to: TcpStream, shared: &Shared) {
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 64 * 1024];
    'read: loop {
        let n = match from.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let armed = shared.trigger.lock().unwrap().is_some();
        if !armed && buf.is_empty() {
            // Nothing to watch for: straight through.
            if to.write_all(&chunk[..n]).is_err() {
                break;
            }
            continue;
        }
        buf.extend_from_slice(&chunk[..n]);
        // Whole packets only, each judged before it is passed on.
        while let Some(len) = frame_len(&buf) {
            let raw = buf.split_to(len);
            let mut trigger = shared.trigger.lock().unwrap();
            let fires = match packet::decode(&mut raw.clone(), usize::MAX) {
                Ok(Some(packet)) => trigger.as_ref().is_some_and(|t| t(&packet)),
                // Not ours to judge: pass it on untouched.
                Ok(None) | Err(_) => false,
            };
            if fires {
                *trigger = None;
                drop(trigger);
                for socket in shared.sockets.lock().unwrap().drain(..) {
                    let _ = socket.shutdown(Shutdown::Both);
                }
                break 'read;
            }
            drop(trigger);
            if to.write_all(&raw).is_err() {
                break 'read;
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// The length of the whole packet at the front of `buf` (fixed header and
/// remaining length), once all of it is there.
fn frame_len(buf: &[u8]) -> Option<usize> {
    let mut remaining = 0usize;
    for (i, byte) in buf.iter().skip(1).take(4).enumerate() {
        remaining |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            let total = 1 + (i + 1) + remaining;
            return (buf.len() >= total).then_some(total);
        }
    }
    // A fifth length byte would be malformed; pass what is there as is.
    (buf.len() >= 5).then_some(buf.len())
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        self.cut();
        // Wake the accept loop so that it sees `stopped`.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
    }
}
