//! What an adapter supplies: a TCP stream, a way to open one, a timer, a
//! clock and a spawner. Everything else (TLS, WebSocket, the driver loop,
//! the handles, the MQTT session) is shared and runtime-neutral.

use futures_io::{AsyncRead, AsyncWrite};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// A boxed, sendable future.
///
/// ```
/// use mqtt_client::BoxFuture;
///
/// fn answer() -> BoxFuture<u32> {
///     Box::pin(async { 42 })
/// }
/// let _future: BoxFuture<u32> = answer(); // poll it on any executor
/// ```
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An async runtime as the driver needs it. Implemented by `mqtt-tokio` and
/// `mqtt-async-std`; a few lines each.
///
/// ```
/// use mqtt_client::{BoxFuture, Runtime};
/// use std::io;
/// use std::time::{Duration, Instant};
///
/// /// A runtime on `async-io`'s reactor, one thread per client driver.
/// struct Threads;
///
/// impl Runtime for Threads {
///     type Stream = async_net::TcpStream;
///
///     fn connect(host: String, port: u16, timeout: Duration) -> BoxFuture<io::Result<Self::Stream>> {
///         Box::pin(async move {
///             let connect = async_net::TcpStream::connect((host.as_str(), port));
///             let timed_out = async {
///                 async_io::Timer::after(timeout).await;
///                 Err(io::ErrorKind::TimedOut.into())
///             };
///             let stream = futures_lite::future::or(connect, timed_out).await?;
///             stream.set_nodelay(true)?;
///             Ok(stream)
///         })
///     }
///
///     fn sleep_until(deadline: Instant) -> BoxFuture<()> {
///         Box::pin(async move {
///             async_io::Timer::at(deadline).await;
///         })
///     }
///
///     fn now() -> Instant {
///         Instant::now()
///     }
///
///     fn spawn(task: BoxFuture<()>) {
///         std::thread::spawn(move || async_io::block_on(task));
///     }
/// }
///
/// // `mqtt_client::Client::<Threads>::connect(options)` now runs on it.
/// let start = Threads::now();
/// async_io::block_on(Threads::sleep_until(start + Duration::from_millis(10)));
/// assert!(Threads::now() >= start + Duration::from_millis(10));
/// ```
pub trait Runtime: Send + Sync + 'static {
    /// A TCP stream, seen through the futures-io traits. TLS and WebSocket
    /// are layered on it by the client when the server's scheme asks.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Opens a TCP stream to `host:port`, with Nagle's algorithm off. Not
    /// called when `Options::connector` supplies the streams.
    ///
    /// ```
    /// # use mqtt_client::{BoxFuture, Runtime};
    /// # use std::io;
    /// # use std::time::{Duration, Instant};
    /// #
    /// # /// A runtime on `async-io`'s reactor, one thread per client driver.
    /// # struct Threads;
    /// #
    /// # impl Runtime for Threads {
    /// #     type Stream = async_net::TcpStream;
    /// #
    /// #     fn connect(host: String, port: u16, timeout: Duration) -> BoxFuture<io::Result<Self::Stream>> {
    /// #         Box::pin(async move {
    /// #             let connect = async_net::TcpStream::connect((host.as_str(), port));
    /// #             let timed_out = async {
    /// #                 async_io::Timer::after(timeout).await;
    /// #                 Err(io::ErrorKind::TimedOut.into())
    /// #             };
    /// #             let stream = futures_lite::future::or(connect, timed_out).await?;
    /// #             stream.set_nodelay(true)?;
    /// #             Ok(stream)
    /// #         })
    /// #     }
    /// #
    /// #     fn sleep_until(deadline: Instant) -> BoxFuture<()> {
    /// #         Box::pin(async move {
    /// #             async_io::Timer::at(deadline).await;
    /// #         })
    /// #     }
    /// #
    /// #     fn now() -> Instant {
    /// #         Instant::now()
    /// #     }
    /// #
    /// #     fn spawn(task: BoxFuture<()>) {
    /// #         std::thread::spawn(move || async_io::block_on(task));
    /// #     }
    /// # }
    /// // A listener on the loopback interface stands in for a broker.
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let port = listener.local_addr()?.port();
    /// let stream = async_io::block_on(Threads::connect("127.0.0.1".into(), port, Duration::from_secs(5)))?;
    /// assert_eq!(stream.peer_addr()?.port(), port);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn connect(host: String, port: u16, timeout: Duration) -> BoxFuture<io::Result<Self::Stream>>;

    /// A future that completes at `deadline` on this runtime's clock.
    ///
    /// ```
    /// # use mqtt_client::{BoxFuture, Runtime};
    /// # use std::io;
    /// # use std::time::{Duration, Instant};
    /// #
    /// # /// A runtime on `async-io`'s reactor, one thread per client driver.
    /// # struct Threads;
    /// #
    /// # impl Runtime for Threads {
    /// #     type Stream = async_net::TcpStream;
    /// #
    /// #     fn connect(host: String, port: u16, timeout: Duration) -> BoxFuture<io::Result<Self::Stream>> {
    /// #         Box::pin(async move {
    /// #             let connect = async_net::TcpStream::connect((host.as_str(), port));
    /// #             let timed_out = async {
    /// #                 async_io::Timer::after(timeout).await;
    /// #                 Err(io::ErrorKind::TimedOut.into())
    /// #             };
    /// #             let stream = futures_lite::future::or(connect, timed_out).await?;
    /// #             stream.set_nodelay(true)?;
    /// #             Ok(stream)
    /// #         })
    /// #     }
    /// #
    /// #     fn sleep_until(deadline: Instant) -> BoxFuture<()> {
    /// #         Box::pin(async move {
    /// #             async_io::Timer::at(deadline).await;
    /// #         })
    /// #     }
    /// #
    /// #     fn now() -> Instant {
    /// #         Instant::now()
    /// #     }
    /// #
    /// #     fn spawn(task: BoxFuture<()>) {
    /// #         std::thread::spawn(move || async_io::block_on(task));
    /// #     }
    /// # }
    /// let deadline = Threads::now() + Duration::from_millis(5);
    /// async_io::block_on(Threads::sleep_until(deadline));
    /// assert!(Threads::now() >= deadline);
    /// ```
    fn sleep_until(deadline: Instant) -> BoxFuture<()>;

    /// This runtime's clock (tokio's may be paused in tests).
    ///
    /// ```
    /// # use mqtt_client::{BoxFuture, Runtime};
    /// # use std::io;
    /// # use std::time::{Duration, Instant};
    /// #
    /// # /// A runtime on `async-io`'s reactor, one thread per client driver.
    /// # struct Threads;
    /// #
    /// # impl Runtime for Threads {
    /// #     type Stream = async_net::TcpStream;
    /// #
    /// #     fn connect(host: String, port: u16, timeout: Duration) -> BoxFuture<io::Result<Self::Stream>> {
    /// #         Box::pin(async move {
    /// #             let connect = async_net::TcpStream::connect((host.as_str(), port));
    /// #             let timed_out = async {
    /// #                 async_io::Timer::after(timeout).await;
    /// #                 Err(io::ErrorKind::TimedOut.into())
    /// #             };
    /// #             let stream = futures_lite::future::or(connect, timed_out).await?;
    /// #             stream.set_nodelay(true)?;
    /// #             Ok(stream)
    /// #         })
    /// #     }
    /// #
    /// #     fn sleep_until(deadline: Instant) -> BoxFuture<()> {
    /// #         Box::pin(async move {
    /// #             async_io::Timer::at(deadline).await;
    /// #         })
    /// #     }
    /// #
    /// #     fn now() -> Instant {
    /// #         Instant::now()
    /// #     }
    /// #
    /// #     fn spawn(task: BoxFuture<()>) {
    /// #         std::thread::spawn(move || async_io::block_on(task));
    /// #     }
    /// # }
    /// let (a, b) = (Threads::now(), Threads::now());
    /// assert!(b >= a); // monotonic
    /// ```
    fn now() -> Instant;

    /// Runs the driver in the background.
    ///
    /// ```
    /// # use mqtt_client::{BoxFuture, Runtime};
    /// # use std::io;
    /// # use std::time::{Duration, Instant};
    /// #
    /// # /// A runtime on `async-io`'s reactor, one thread per client driver.
    /// # struct Threads;
    /// #
    /// # impl Runtime for Threads {
    /// #     type Stream = async_net::TcpStream;
    /// #
    /// #     fn connect(host: String, port: u16, timeout: Duration) -> BoxFuture<io::Result<Self::Stream>> {
    /// #         Box::pin(async move {
    /// #             let connect = async_net::TcpStream::connect((host.as_str(), port));
    /// #             let timed_out = async {
    /// #                 async_io::Timer::after(timeout).await;
    /// #                 Err(io::ErrorKind::TimedOut.into())
    /// #             };
    /// #             let stream = futures_lite::future::or(connect, timed_out).await?;
    /// #             stream.set_nodelay(true)?;
    /// #             Ok(stream)
    /// #         })
    /// #     }
    /// #
    /// #     fn sleep_until(deadline: Instant) -> BoxFuture<()> {
    /// #         Box::pin(async move {
    /// #             async_io::Timer::at(deadline).await;
    /// #         })
    /// #     }
    /// #
    /// #     fn now() -> Instant {
    /// #         Instant::now()
    /// #     }
    /// #
    /// #     fn spawn(task: BoxFuture<()>) {
    /// #         std::thread::spawn(move || async_io::block_on(task));
    /// #     }
    /// # }
    /// let (done, finished) = std::sync::mpsc::channel();
    /// Threads::spawn(Box::pin(async move {
    ///     done.send("the task ran").unwrap();
    /// }));
    /// assert_eq!(finished.recv().unwrap(), "the task ran");
    /// ```
    fn spawn(task: BoxFuture<()>);
}
