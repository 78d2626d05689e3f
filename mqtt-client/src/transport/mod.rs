//! Transports: how a byte stream to a broker is opened. A [`Server`] (from
//! a URL) names the layers: a stream from the [`Connector`] (the runtime's
//! TCP unless the user supplies one), TLS on it for `mqtts://` and
//! `wss://`, WebSocket on that for `ws://` and `wss://`. Every layer works
//! on futures-io streams, so each runtime supplies only its TCP and all of
//! them share the rest. The driver bounds a whole attempt, TCP to CONNACK,
//! by the connect timeout.
//!
//! The driver sees only a [`BoxedStream`]; it never knows which layers are
//! under it, and nothing here knows MQTT.

mod server;
mod tls;
mod websocket;

pub use server::{Scheme, Server};
pub use tls::TlsOptions;

pub(crate) use server::UrlCredentials;

use crate::error::{self, TlsError, WebSocketError};
use crate::runtime::{BoxFuture, Runtime};
use crate::Error;
use futures_io::{AsyncRead, AsyncWrite};
use rustls::ClientConfig;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// An ordered, reliable byte stream to a broker: what a [`Connector`]
/// returns and what the driver reads and writes.
///
/// ```
/// use mqtt_client::{BoxedStream, ByteStream};
///
/// // Any futures-io stream is one: here, an in-memory buffer.
/// fn boxed(stream: impl ByteStream) -> BoxedStream {
///     Box::new(stream)
/// }
/// let _stream: BoxedStream = boxed(futures_lite::io::Cursor::new(Vec::new()));
/// ```
pub trait ByteStream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> ByteStream for T {}

/// A stream of any kind, boxed.
///
/// ```
/// use mqtt_client::{BoxedStream, Options, Server};
///
/// // Streams of different types from one connector: box them.
/// let options = Options::new("broker", 1883).connector(|server: Server| async move {
///     if server.host() == "loopback-test" {
///         Ok(Box::new(futures_lite::io::Cursor::new(Vec::new())) as BoxedStream)
///     } else {
///         let tcp = async_net::TcpStream::connect((server.host(), server.port())).await?;
///         Ok(Box::new(tcp) as BoxedStream)
///     }
/// });
/// assert!(options.check().is_ok());
/// ```
pub type BoxedStream = Box<dyn ByteStream>;

/// Opens the byte stream under MQTT, for users who bring their own: a Unix
/// socket, a proxy tunnel, an in-memory pipe in tests, a stream from
/// another library. Called again for every connection attempt; TLS and
/// WebSocket are still layered on what it returns when the server's scheme
/// asks for them.
///
/// Any `Fn(Server) -> impl Future<Output = io::Result<S>>` is a connector,
/// for any futures-io stream `S` (tokio streams: wrap them in
/// `mqtt_tokio::TokioIo`):
///
/// ```
/// use mqtt_client::{BoxedStream, Options, Server};
///
/// // However your tunnel, proxy or socket is opened:
/// async fn open_tunnel(host: &str, port: u16) -> std::io::Result<BoxedStream> {
///     # let _ = (host, port);
///     # Err(std::io::ErrorKind::Unsupported.into())
/// }
///
/// let options = Options::from_url("mqtts://broker.example")?
///     .connector(|server: Server| async move { open_tunnel(server.host(), server.port()).await });
/// # Ok::<(), mqtt_client::Error>(())
/// ```
pub trait Connector: Send + Sync + 'static {
    /// Opens a stream to `server`.
    ///
    /// ```
    /// use mqtt_client::{Connector, Server};
    ///
    /// let refuse = |server: Server| async move {
    ///     Err::<mqtt_client::BoxedStream, _>(std::io::Error::other(format!("no route to {server}")))
    /// };
    /// let opened = futures_lite::future::block_on(refuse.connect(Server::tcp("broker", 1883)));
    /// assert_eq!(opened.err().unwrap().to_string(), "no route to mqtt://broker:1883");
    /// ```
    fn connect(&self, server: Server) -> BoxFuture<io::Result<BoxedStream>>;
}

impl<F, Fut, S> Connector for F
where
    F: Fn(Server) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = io::Result<S>> + Send + 'static,
    S: ByteStream,
{
    fn connect(&self, server: Server) -> BoxFuture<io::Result<BoxedStream>> {
        let opening = self(server);
        Box::pin(async move { Ok(Box::new(opening.await?) as BoxedStream) })
    }
}

/// The settings every connection attempt of one client shares, prepared
/// once when it starts (so TLS files are read, and their errors reported,
/// before any connection is opened).
#[derive(Clone)]
pub(crate) struct Transport {
    pub(crate) connector: Option<Arc<dyn Connector>>,
    pub(crate) tls: Option<Arc<ClientConfig>>,
    pub(crate) ws_headers: Arc<[(String, String)]>,
    pub(crate) ws_max_message: usize,
    pub(crate) timeout: Duration,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("custom_connector", &self.connector.is_some())
            .field("tls", &self.tls.is_some())
            .field("ws_headers", &self.ws_headers.len())
            .finish()
    }
}

impl Transport {
    /// Opens a stream to `server` with every layer its scheme asks for. The
    /// driver bounds the whole attempt with the connect timeout.
    pub(crate) fn open<R: Runtime>(&self, server: Server) -> BoxFuture<Result<BoxedStream, Error>> {
        let this = self.clone();
        Box::pin(async move { this.layers::<R>(server).await })
    }

    async fn layers<R: Runtime>(self, server: Server) -> Result<BoxedStream, Error> {
        let stream: BoxedStream = match &self.connector {
            Some(connector) => connector
                .connect(server.clone())
                .await
                .map_err(Error::from)?,
            None => Box::new(
                R::connect(server.host().to_owned(), server.port(), self.timeout)
                    .await
                    .map_err(Error::from)?,
            ),
        };
        let stream = if server.scheme().is_tls() {
            let config = self.tls.clone().ok_or(Error::Tls(TlsError::Other(
                "no TLS configuration was prepared".to_owned(),
            )))?;
            let name = tls::server_name(server.host()).map_err(Error::Tls)?;
            let tls = futures_rustls::TlsConnector::from(config)
                .connect(name, stream)
                .await
                .map_err(|e| io_error(e, true))?;
            Box::new(tls) as BoxedStream
        } else {
            stream
        };
        if server.scheme().is_websocket() {
            let ws = websocket::handshake(&server, &self.ws_headers, self.ws_max_message, stream)
                .await?;
            return Ok(Box::new(ws));
        }
        Ok(stream)
    }
}

/// An I/O error from a transport as the caller should see it: a TLS
/// failure as [`Error::Tls`], a WebSocket one as [`Error::WebSocket`],
/// anything else as [`Error::Io`]. `handshaking`: whether the TLS handshake
/// was still under way (an early end of stream then means "not TLS").
pub(crate) fn io_error(e: io::Error, handshaking: bool) -> Error {
    if let Some(tls) = error::classify(&e, handshaking) {
        return Error::Tls(tls);
    }
    if let Some(ws) = e.get_ref().and_then(|i| i.downcast_ref::<WebSocketError>()) {
        return Error::WebSocket(ws.clone());
    }
    Error::from(e)
}

/// Whether the first bytes a plaintext connection received are a TLS
/// record (a handshake or alert record of TLS 1.0 to 1.3) rather than
/// MQTT: then the server wants TLS.
pub(crate) fn looks_like_tls(first: &[u8]) -> bool {
    matches!(first, [0x15 | 0x16, 0x03, 0x00..=0x04, ..])
}

/// Prepares what every connection of a client shares; fails on a local
/// configuration error without opening anything.
pub(crate) fn prepare(
    servers: &[Server],
    tls: &TlsOptions,
    connector: Option<Arc<dyn Connector>>,
    ws_headers: &[(String, String)],
    max_packet_size: usize,
    timeout: Duration,
) -> Result<Transport, Error> {
    let tls = if servers.iter().any(|s| s.scheme().is_tls()) {
        Some(tls.client_config().map_err(Error::Tls)?)
    } else {
        None
    };
    if servers.iter().any(|s| s.scheme().is_websocket()) {
        websocket::check_headers(ws_headers).map_err(Error::WebSocket)?;
    }
    Ok(Transport {
        connector,
        tls,
        ws_headers: ws_headers.into(),
        // A frame may carry a whole packet and the start of the next.
        ws_max_message: max_packet_size.saturating_mul(2).max(64 * 1024),
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::looks_like_tls;

    #[test]
    fn tls_records_are_recognised() {
        // A TLS alert record (what a TLS server may answer to CONNECT).
        assert!(looks_like_tls(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]));
        assert!(looks_like_tls(&[0x16, 0x03, 0x01]));
        // CONNACK, and a PUBLISH with QoS 1 and retain (0x33).
        assert!(!looks_like_tls(&[0x20, 0x02, 0x00, 0x00]));
        assert!(!looks_like_tls(&[0x33, 0x03, 0x00]));
    }
}
