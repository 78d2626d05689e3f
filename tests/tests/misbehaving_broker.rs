//! Brokers that misbehave on purpose, scripted byte by byte on plain
//! threads, and what the client must do about them. Run on tokio,
//! async-std and smol.
//!
//! - A broker that accepts every connection and then breaks the protocol
//!   at once (a PUBACK with reserved flag bits set, which the client must
//!   treat as malformed and close the connection for [MQTT-2.2.2-2],
//!   [MQTT-4.8.0-1]) meets a growing reconnect delay, not a storm: the
//!   backoff starts over only after a connection proved healthy.
//! - A broker that never answers a SUBSCRIBE and keeps losing the session
//!   gets that SUBSCRIBE once per connection, not once more on every
//!   reconnect.

use mqtt_client::{Client, Options, QoS, Runtime};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long the client is watched.
const WATCH: Duration = Duration::from_secs(3);

/// What one scripted connection does with its stream; it returns a number
/// the test reads back (e.g. the packets it saw of some kind).
type Script = fn(&mut TcpStream) -> usize;

/// A broker on a free loopback port that runs `script` on every connection
/// until dropped; `results` has one entry per connection.
struct ScriptedBroker {
    port: u16,
    results: Arc<Mutex<Vec<usize>>>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl ScriptedBroker {
    fn start(script: Script) -> ScriptedBroker {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = listener.local_addr().expect("address").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let results = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (results.clone(), stop.clone());
        let thread = thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        let r = r.clone();
                        let slot = {
                            let mut r = r.lock().expect("results");
                            r.push(0);
                            r.len() - 1
                        };
                        thread::spawn(move || {
                            let _ = stream.set_nonblocking(false);
                            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                            let n = script(&mut stream);
                            r.lock().expect("results")[slot] = n;
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            }
        });
        ScriptedBroker {
            port,
            results,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops accepting; the results of every connection so far.
    fn finish(mut self) -> Vec<usize> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().expect("the scripted broker");
        }
        // Let the connection threads note their counts.
        thread::sleep(Duration::from_millis(100));
        let results = self.results.lock().expect("results").clone();
        results
    }
}

/// Reads whole packets (fixed header, remaining length, body) for up to
/// `limit`, returning their first bytes.
fn read_packets(stream: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let give_up = Instant::now() + limit;
    let mut buf = Vec::new();
    let mut kinds = Vec::new();
    let mut chunk = [0u8; 4096];
    while Instant::now() < give_up {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
        // Take every whole packet off the front.
        loop {
            let (mut len, mut shift, mut i) = (0usize, 0, 1);
            let mut complete = false;
            while let Some(&b) = buf.get(i) {
                len |= usize::from(b & 0x7F) << shift;
                shift += 7;
                i += 1;
                if b & 0x80 == 0 {
                    complete = true;
                    break;
                }
            }
            if !complete || buf.len() < i + len {
                break;
            }
            kinds.push(buf[0]);
            buf.drain(..i + len);
        }
    }
    kinds
}

/// CONNACK accepted, then a PUBACK whose reserved flags are 0b0001.
fn accept_then_malformed(stream: &mut TcpStream) -> usize {
    let mut connect = [0u8; 256];
    if stream.read(&mut connect).unwrap_or(0) == 0 {
        return 0;
    }
    let _ = stream.write_all(&[0x20, 0x02, 0x00, 0x00, 0x41, 0x02, 0x00, 0x01]);
    let mut rest = [0u8; 256];
    while stream.read(&mut rest).unwrap_or(0) > 0 {}
    1
}

/// CONNACK with no session, then silence for 300 ms and a cut; counts the
/// SUBSCRIBE packets received meanwhile.
fn forgetful_and_silent(stream: &mut TcpStream) -> usize {
    let connect = read_packets(stream, Duration::from_millis(200));
    if connect.first() != Some(&0x10) {
        return usize::MAX;
    }
    let _ = stream.write_all(&[0x20, 0x02, 0x00, 0x00]);
    let seen = read_packets(stream, Duration::from_millis(300));
    let _ = stream.shutdown(std::net::Shutdown::Both);
    seen.iter().filter(|&&b| b == 0x82).count()
}

async fn no_storm<R: Runtime>() {
    let broker = ScriptedBroker::start(accept_then_malformed);
    let options = Options::new("127.0.0.1", broker.port)
        .keep_alive(Duration::from_secs(60))
        .backoff(Duration::from_millis(100), Duration::from_secs(30));
    let client = Client::<R>::connect(options)
        .await
        .expect("the first CONNACK accepts the connection");
    async_io::Timer::after(WATCH).await;
    let connections = broker.finish().len();
    drop(client);
    eprintln!("{connections} connections in {WATCH:?}");
    // Delays of 100, 200, 400, 800 and 1,600 ms (each at least half of
    // that, with jitter) fit in 3 s: at most 7 connections, where a backoff
    // reset on every CONNACK makes one every 50 to 100 ms (30 and more).
    assert!(
        (2..=7).contains(&connections),
        "{connections} connections in {WATCH:?}"
    );
}

async fn one_subscribe_per_connection<R: Runtime>() {
    let broker = ScriptedBroker::start(forgetful_and_silent);
    let options = Options::new("127.0.0.1", broker.port)
        .backoff(Duration::from_millis(20), Duration::from_millis(20));
    let client = Client::<R>::connect(options).await.expect("connect");
    // The SUBACK never comes: the subscribe stays pending while the broker
    // cuts and forgets the session again and again.
    let outcome = futures_lite::future::or(
        async { Some(client.subscribe("a/#", QoS::AtLeastOnce).await) },
        async {
            async_io::Timer::after(WATCH).await;
            None
        },
    )
    .await;
    assert!(outcome.is_none(), "no SUBACK was sent: {outcome:?}");
    let per_connection = broker.finish();
    drop(client);
    // The last connection may have been cut short by the end of the watch.
    let whole = &per_connection[..per_connection.len().saturating_sub(1)];
    assert!(whole.len() >= 4, "reconnects: {per_connection:?}");
    assert!(
        whole.iter().skip(1).all(|&n| n == 1),
        "SUBSCRIBEs per connection: {per_connection:?}"
    );
}

fn block_on_tokio<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

#[test]
fn tokio_no_reconnect_storm() {
    block_on_tokio(no_storm::<mqtt_tokio::Tokio>());
}

#[test]
fn async_std_no_reconnect_storm() {
    async_std::task::block_on(no_storm::<mqtt_async_std::AsyncStd>());
}

#[test]
fn smol_no_reconnect_storm() {
    smol::block_on(no_storm::<mqtt_async_std::AsyncStd>());
}

#[test]
fn tokio_one_subscribe_per_connection() {
    block_on_tokio(one_subscribe_per_connection::<mqtt_tokio::Tokio>());
}

#[test]
fn async_std_one_subscribe_per_connection() {
    async_std::task::block_on(one_subscribe_per_connection::<mqtt_async_std::AsyncStd>());
}

#[test]
fn smol_one_subscribe_per_connection() {
    smol::block_on(one_subscribe_per_connection::<mqtt_async_std::AsyncStd>());
}
