//! An MQTT 3.1.1 client for async-std, and for smol.
//!
//! The same client as `mqtt-tokio`, with the same names, options, events and
//! behaviour: both re-export the runtime-neutral handles of `mqtt-client`
//! and differ only in the few lines below that say how to open a TCP
//! stream, sleep and spawn. TCP goes through `async-net` (names resolved on
//! the `blocking` thread pool) and timers through `async-io`: the crates
//! async-std and smol both run on, so no IO path uses async-std itself.
//!
//! ```no_run
//! use mqtt_async_std::{Client, Options, QoS};
//! use std::time::Duration;
//!
//! # async fn demo() -> Result<(), mqtt_async_std::Error> {
//! let client = Client::connect(Options::new("127.0.0.1", 1883).keep_alive(Duration::from_secs(60))).await?;
//! let mut sub = client.subscribe("sensors/#", QoS::AtMostOnce).await?;
//! client.publish("sensors/kitchen", "21.5", QoS::AtLeastOnce).await?; // resolves on PUBACK
//! if let Some(msg) = sub.next().await {
//!     println!("{}: {:?}", msg.topic, msg.payload);
//! }
//! client.disconnect().await?;
//! # Ok(()) }
//! ```
//!
//! # Where the driver runs
//!
//! Each client has a driver task that moves its bytes. By default, with the
//! `async-std` feature (on by default), it is spawned on async-std's
//! executor, as an async-std application expects.
//!
//! # On smol
//!
//! smol applications leave async-std out, so that its executor is neither
//! compiled in nor started, and pick the roots that verify TLS servers:
//!
//! ```toml
//! [dependencies]
//! mqtt-async-std = { version = "0.1", default-features = false, features = ["native-roots"] }
//! # or features = ["webpki-roots"], for Mozilla's roots compiled in
//! ```
//!
//! and spawn the driver on smol with [`Options::spawner`]:
//!
//! ```no_run
//! use mqtt_async_std::{Client, Options, QoS};
//!
//! fn main() -> Result<(), mqtt_async_std::Error> {
//!     smol::block_on(async {
//!         let options = Options::from_url("mqtt://127.0.0.1:1883")?
//!             .spawner(|task| smol::spawn(task).detach());
//!         let client = Client::connect(options).await?;
//!         client.publish("sensors/kitchen", "21.5", QoS::AtLeastOnce).await?;
//!         client.disconnect().await
//!     })
//! }
//! ```
//!
//! or on an executor of the application's own:
//!
//! ```no_run
//! use mqtt_async_std::{Client, Options, QoS};
//! use std::sync::Arc;
//!
//! fn main() -> Result<(), mqtt_async_std::Error> {
//!     let executor = Arc::new(smol::Executor::new());
//!     let spawn_on = executor.clone();
//!     let options = Options::from_url("mqtt://127.0.0.1:1883")?
//!         .spawner(move |task| spawn_on.spawn(task).detach());
//!     smol::block_on(executor.run(async {
//!         let client = Client::connect(options).await?;
//!         client.publish("sensors/kitchen", "21.5", QoS::AtLeastOnce).await?;
//!         client.disconnect().await
//!     }))
//! }
//! ```
//!
//! Without the `async-std` feature and without a spawner, each client's
//! driver runs on a thread of its own (named `mqtt-driver`) under
//! `async_io::block_on`: it works under any executor, or none, at the cost
//! of one thread per client.
//!
//! See the `mqtt-client` crate docs for completion, backpressure,
//! slow-consumer, reconnect and shutdown behaviour.

use mqtt_client::BoxFuture;
use std::io;
use std::time::{Duration, Instant};

pub use mqtt_client::{
    mqtt_proto, rustls, BoxedStream, ByteStream, ConnectionEvent, Connector, Delivery,
    DisconnectReason, Error, Events, Message, Options, QoS, Scheme, Server, SubscribeOutcome,
    TlsError, TlsOptions, WebSocketError,
};

/// async-std or smol, as the shared driver needs it: `async-net` TCP,
/// `async-io` timers, and the default spawner described in the
/// [crate docs](crate#where-the-driver-runs).
#[derive(Debug, Clone, Copy)]
pub struct AsyncStd;

/// A client on async-std or smol.
pub type Client = mqtt_client::Client<AsyncStd>;
/// A subscription's message stream on async-std or smol.
pub type Subscription = mqtt_client::Subscription<AsyncStd>;
/// A manual-ack subscription's stream of deliveries on async-std or smol.
pub type ManualSubscription = mqtt_client::ManualSubscription<AsyncStd>;

impl mqtt_client::Runtime for AsyncStd {
    type Stream = async_net::TcpStream;

    fn connect(host: String, port: u16, timeout: Duration) -> BoxFuture<io::Result<Self::Stream>> {
        Box::pin(async move {
            let connect = async_net::TcpStream::connect((host.as_str(), port));
            let timed_out = async {
                async_io::Timer::after(timeout).await;
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "TCP connect timed out",
                ))
            };
            let stream = futures_lite::future::or(connect, timed_out).await?;
            // Acks and pings are small and latency-bound: no Nagle.
            stream.set_nodelay(true)?;
            Ok(stream)
        })
    }

    fn sleep_until(deadline: Instant) -> BoxFuture<()> {
        Box::pin(async move {
            async_io::Timer::at(deadline).await;
        })
    }

    fn now() -> Instant {
        Instant::now()
    }

    /// Used only when [`Options::spawner`] is not set.
    fn spawn(task: BoxFuture<()>) {
        #[cfg(feature = "async-std")]
        {
            // Dropping the handle detaches the task; it ends by itself.
            drop(async_std::task::spawn(task));
        }
        #[cfg(not(feature = "async-std"))]
        {
            // No executor to assume: the driver gets a thread of its own,
            // which ends with it.
            std::thread::Builder::new()
                .name("mqtt-driver".into())
                .spawn(move || async_io::block_on(task))
                .expect("could not start the MQTT driver's thread");
        }
    }
}

// The README's Rust examples are compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
