//! What an adapter supplies: a byte stream, a way to open one, a timer, a
//! clock and a spawner. Everything else (the driver loop, the handles, the
//! MQTT session) is shared and runtime-neutral.

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
    /// The transport: an ordered, reliable byte stream (TCP).
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Opens a transport to `host:port`, with Nagle's algorithm off.
    fn connect(host: String, port: u16, timeout: Duration) -> BoxFuture<io::Result<Self::Stream>>;

    /// A future that completes at `deadline` on this runtime's clock.
    fn sleep_until(deadline: Instant) -> BoxFuture<()>;

    /// This runtime's clock (tokio's may be paused in tests).
    fn now() -> Instant;

    /// Runs the driver in the background.
    fn spawn(task: BoxFuture<()>);
}
