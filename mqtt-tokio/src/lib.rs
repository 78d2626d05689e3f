//! An MQTT 3.1.1 client for tokio.
//!
//! The handles, options and driver loop are the runtime-neutral ones of
//! `mqtt-client` (re-exported here), so this client behaves exactly like
//! `mqtt-async-std`'s; this crate only says how tokio opens a TCP stream,
//! keeps time (tokio's clock, so paused-time tests work) and spawns the
//! driver. TLS (rustls) and WebSocket are the shared ones of `mqtt-client`,
//! chosen by the URL scheme: `mqtt://`, `mqtts://`, `ws://`, `wss://`. The MQTT rules live in the sans-IO [`mqtt_proto::Connection`].
//!
//! ```no_run
//! use mqtt_tokio::{Client, Options, QoS};
//! use std::time::Duration;
//!
//! # async fn demo() -> Result<(), mqtt_tokio::Error> {
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

pub use mqtt_client::{
    mqtt_proto, rustls, BoxedStream, ByteStream, ConnectionEvent, Connector, Delivery,
    DisconnectReason, Error, Events, Message, Options, QoS, Scheme, Server, SubscribeOutcome,
    TlsError, TlsOptions, WebSocketError,
};

/// A client on tokio.
pub type Client = mqtt_client::Client<Tokio>;
/// A subscription's message stream on tokio.
pub type Subscription = mqtt_client::Subscription<Tokio>;
/// A manual-ack subscription's stream of deliveries on tokio.
pub type ManualSubscription = mqtt_client::ManualSubscription<Tokio>;

use mqtt_client::{BoxFuture, Runtime};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The tokio runtime, as the shared driver needs it.
#[derive(Debug, Clone, Copy)]
pub struct Tokio;

/// A tokio stream seen through the `futures-io` traits, which the client's
/// transports use: wrap what a [`Connector`] opens with tokio (a
/// `UnixStream`, a `DuplexStream`, a proxy tunnel) in it.
///
/// ```no_run
/// use mqtt_tokio::{Client, Options, Server, TokioIo};
///
/// # async fn demo() -> Result<(), mqtt_tokio::Error> {
/// // MQTT over a Unix socket; the URL only names the server in events.
/// let options = Options::new("local-broker", 1883).connector(|_server: Server| async {
///     Ok(TokioIo::new(tokio::net::UnixStream::connect("/run/mosquitto.sock").await?))
/// });
/// let client = Client::connect(options).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TokioIo<T>(T);

impl<T> TokioIo<T> {
    /// Wraps a tokio stream.
    pub fn new(stream: T) -> Self {
        TokioIo(stream)
    }

    /// The wrapped stream.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: AsyncRead + Unpin> futures_io::AsyncRead for TokioIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        match Pin::new(&mut self.0).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> futures_io::AsyncWrite for TokioIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl Runtime for Tokio {
    type Stream = TokioIo<TcpStream>;

    fn connect(host: String, port: u16, timeout: Duration) -> BoxFuture<io::Result<Self::Stream>> {
        Box::pin(async move {
            let stream = tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port)))
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TCP connect timed out"))??;
            // Acks and pings are small and latency-bound: no Nagle.
            stream.set_nodelay(true)?;
            Ok(TokioIo(stream))
        })
    }

    fn sleep_until(deadline: Instant) -> BoxFuture<()> {
        Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(
            deadline,
        )))
    }

    fn now() -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn spawn(task: BoxFuture<()>) {
        tokio::spawn(task);
    }
}

// The README's Rust examples are compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
