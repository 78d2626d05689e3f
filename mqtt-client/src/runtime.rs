//! What an adapter supplies: a TCP stream, a way to open one, a timer, a
//! clock and a spawner. Everything else (TLS, WebSocket, the driver loop,
//! the handles, the MQTT session) is shared and runtime-neutral.

use futures_io::{AsyncRead, AsyncWrite};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An async runtime as the driver needs it. Implemented by `mqtt-tokio` and
/// `mqtt-async-std`; a few lines each.
pub trait Runtime: Send + Sync + 'static {
    /// A TCP stream, seen through the futures-io traits. TLS and WebSocket
    /// are layered on it by the client when the server's scheme asks.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Opens a TCP stream to `host:port`, with Nagle's algorithm off. Not
    /// called when `Options::connector` supplies the streams.
    fn connect(host: String, port: u16, timeout: Duration) -> BoxFuture<io::Result<Self::Stream>>;

    /// A future that completes at `deadline` on this runtime's clock.
    fn sleep_until(deadline: Instant) -> BoxFuture<()>;

    /// This runtime's clock (tokio's may be paused in tests).
    fn now() -> Instant;

    /// Runs the driver in the background.
    fn spawn(task: BoxFuture<()>);
}
