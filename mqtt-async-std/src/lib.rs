//! An MQTT 3.1.1 client for async-std, and for smol (both run on
//! `async-io`, whose reactor and timers this adapter uses).
//!
//! The same client as `mqtt-tokio`, with the same names, options, events and
//! behaviour: both re-export the runtime-neutral handles of `mqtt-client`
//! and differ only in the few lines below that say how to open a TCP
//! stream, sleep and spawn.
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
//! See the `mqtt-client` crate docs for completion, backpressure,
//! slow-consumer, reconnect and shutdown behaviour.

use mqtt_client::BoxFuture;
use std::io;
use std::time::{Duration, Instant};

pub use mqtt_client::{
    mqtt_proto, rustls, BoxedStream, ByteStream, ConnectionEvent, Connector, Error, Message,
    Options, QoS, Scheme, Server, SubscribeOutcome, TlsError, TlsOptions, WebSocketError,
};

/// async-std (or smol), as the shared driver needs it.
#[derive(Debug, Clone, Copy)]
pub struct AsyncStd;

/// A client on async-std or smol.
pub type Client = mqtt_client::Client<AsyncStd>;
/// A subscription's message stream on async-std or smol.
pub type Subscription = mqtt_client::Subscription<AsyncStd>;

impl mqtt_client::Runtime for AsyncStd {
    type Stream = async_std::net::TcpStream;

    fn connect(host: String, port: u16, timeout: Duration) -> BoxFuture<io::Result<Self::Stream>> {
        Box::pin(async move {
            let connect = async_std::net::TcpStream::connect((host.as_str(), port));
            let stream = async_std::future::timeout(timeout, connect)
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TCP connect timed out"))??;
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

    fn spawn(task: BoxFuture<()>) {
        // Dropping the handle detaches the task; it ends by itself.
        drop(async_std::task::spawn(task));
    }
}
