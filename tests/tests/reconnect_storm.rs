//! A broker that accepts every connection and then breaks the protocol at
//! once must meet a growing reconnect delay, not a storm: the backoff
//! starts over only after a connection proved healthy. A scripted broker on
//! plain threads answers CONNECT with CONNACK and then sends a PUBACK with
//! reserved flag bits set, which the client must treat as malformed and
//! close the connection for [MQTT-2.2.2-2], [MQTT-4.8.0-1]. Run on tokio,
//! async-std and smol.

use mqtt_client::{Client, Options, Runtime};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// How long the client is watched.
const WATCH: Duration = Duration::from_secs(3);

/// Accepts connections until `stop`, answering each CONNECT with CONNACK
/// and a malformed packet; counts the connections.
fn misbehaving_broker(listener: TcpListener, count: Arc<AtomicUsize>, stop: Arc<AtomicBool>) {
    listener.set_nonblocking(true).expect("nonblocking");
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((mut stream, _)) => {
                count.fetch_add(1, Ordering::SeqCst);
                thread::spawn(move || {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut connect = [0u8; 256];
                    if stream.read(&mut connect).unwrap_or(0) == 0 {
                        return;
                    }
                    // CONNACK accepted, then a PUBACK whose reserved flags
                    // are 0b0001 instead of 0b0000.
                    let _ = stream.write_all(&[0x20, 0x02, 0x00, 0x00, 0x41, 0x02, 0x00, 0x01]);
                    let mut rest = [0u8; 256];
                    while stream.read(&mut rest).unwrap_or(0) > 0 {}
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

async fn no_storm<R: Runtime>() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("address").port();
    let count = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let broker = {
        let (count, stop) = (count.clone(), stop.clone());
        thread::spawn(move || misbehaving_broker(listener, count, stop))
    };
    let options = Options::new("127.0.0.1", port)
        .keep_alive(Duration::from_secs(60))
        .backoff(Duration::from_millis(100), Duration::from_secs(30));
    let client = Client::<R>::connect(options)
        .await
        .expect("the first CONNACK accepts the connection");
    async_io::Timer::after(WATCH).await;
    stop.store(true, Ordering::SeqCst);
    let connections = count.load(Ordering::SeqCst);
    eprintln!("{connections} connections in {WATCH:?}");
    drop(client);
    broker.join().expect("the scripted broker");
    // Delays of 100, 200, 400, 800 and 1,600 ms (each at least half of
    // that, with jitter) fit in 3 s: at most 7 connections, where a backoff
    // reset on every CONNACK makes one every 50 to 100 ms (30 and more).
    assert!(
        (2..=7).contains(&connections),
        "{connections} connections in {WATCH:?}"
    );
}

#[test]
fn tokio_no_reconnect_storm() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(no_storm::<mqtt_tokio::Tokio>());
}

#[test]
fn async_std_no_reconnect_storm() {
    async_std::task::block_on(no_storm::<mqtt_async_std::AsyncStd>());
}

#[test]
fn smol_no_reconnect_storm() {
    smol::block_on(no_storm::<mqtt_async_std::AsyncStd>());
}
