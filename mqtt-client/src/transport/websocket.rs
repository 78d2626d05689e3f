//! MQTT over WebSocket (section 6 of MQTT 3.1.1): the upgrade request,
//! with the `mqtt` subprotocol [MQTT-6.0.0-3], the URL's path and any extra
//! headers, and [`WsStream`], which makes the frames a byte stream again so
//! the driver neither knows nor cares. Every packet goes out in binary
//! frames [MQTT-6.0.0-1]; packets may span frames or share one
//! [MQTT-6.0.0-2], so frame edges mean nothing to the reader. The handshake
//! and framing are `async-tungstenite`'s over any futures-io stream (TLS
//! included), so every runtime shares them.

use super::{BoxedStream, Server};
use crate::error::WebSocketError;
use crate::Error;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use async_tungstenite::tungstenite::{self, Message};
use async_tungstenite::WebSocketStream;
use bytes::{Buf, Bytes};
use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use futures_sink::Sink;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// The WebSocket subprotocol MQTT 3.1.1 is carried in [MQTT-6.0.0-4].
const SUBPROTOCOL: &str = "mqtt";

/// Checks extra upgrade headers once, when the client starts.
pub(crate) fn check_headers(headers: &[(String, String)]) -> Result<(), WebSocketError> {
    for (name, value) in headers {
        HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| WebSocketError::InvalidHeader(format!("name {name:?}")))?;
        HeaderValue::from_str(value)
            .map_err(|_| WebSocketError::InvalidHeader(format!("value of {name}")))?;
    }
    Ok(())
}

/// Upgrades `stream` (TCP or TLS, already open to `server`) to a WebSocket
/// carrying MQTT.
pub(crate) async fn handshake(
    server: &Server,
    headers: &[(String, String)],
    max_message: usize,
    stream: BoxedStream,
) -> Result<WsStream, Error> {
    let host = if server.host().contains(':') {
        format!("[{}]", server.host())
    } else {
        server.host().to_owned()
    };
    let scheme = if server.scheme().is_tls() {
        "wss"
    } else {
        "ws"
    };
    let uri = format!("{scheme}://{host}:{}{}", server.port(), server.path());
    let mut request = uri
        .into_client_request()
        .map_err(|e| Error::WebSocket(WebSocketError::Handshake(e.to_string())))?;
    let fields = request.headers_mut();
    fields.insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(SUBPROTOCOL),
    );
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::WebSocket(WebSocketError::InvalidHeader(name.clone())))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| Error::WebSocket(WebSocketError::InvalidHeader(name.to_string())))?;
        fields.append(name, value);
    }
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message));
    let (ws, response) = async_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .map_err(handshake_error)?;
    let agreed = response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok());
    if agreed != Some(SUBPROTOCOL) {
        return Err(Error::WebSocket(WebSocketError::NoMqttSubprotocol));
    }
    Ok(WsStream {
        ws,
        read: Bytes::new(),
    })
}

fn handshake_error(e: tungstenite::Error) -> Error {
    match e {
        tungstenite::Error::Io(e) => super::io_error(e, true),
        tungstenite::Error::Http(response) => Error::WebSocket(WebSocketError::Rejected {
            status: response.status().as_u16(),
        }),
        tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::SecWebSocketSubProtocolError(_),
        ) => Error::WebSocket(WebSocketError::NoMqttSubprotocol),
        other => Error::WebSocket(WebSocketError::Handshake(other.to_string())),
    }
}

/// A WebSocket connection seen as the byte stream MQTT expects.
pub(crate) struct WsStream {
    ws: WebSocketStream<BoxedStream>,
    /// What is left of the last binary frame.
    read: Bytes,
}

fn to_io(e: tungstenite::Error) -> io::Error {
    match e {
        // Keep the transport's own error (a TLS alert, a reset) as it is.
        tungstenite::Error::Io(e) => e,
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            io::ErrorKind::BrokenPipe.into()
        }
        other => io::Error::other(other),
    }
}

impl AsyncRead for WsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            if !self.read.is_empty() {
                let n = buf.len().min(self.read.len());
                if let (Some(to), Some(from)) = (buf.get_mut(..n), self.read.get(..n)) {
                    to.copy_from_slice(from);
                }
                self.read.advance(n);
                return Poll::Ready(Ok(n));
            }
            match ready!(Pin::new(&mut self.ws).poll_next(cx)) {
                None | Some(Ok(Message::Close(_))) => return Poll::Ready(Ok(0)),
                Some(Err(e)) => return Poll::Ready(Err(to_io(e))),
                Some(Ok(Message::Binary(data))) => self.read = data,
                Some(Ok(Message::Text(_))) => {
                    // [MQTT-6.0.0-1]: any other data frame closes the
                    // connection.
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        WebSocketError::TextFrame,
                    )));
                }
                // Pings are answered by tungstenite on the next write.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            }
        }
    }
}

impl WsStream {
    fn send(
        &mut self,
        cx: &mut Context<'_>,
        frame: impl FnOnce() -> Bytes,
    ) -> Poll<io::Result<()>> {
        ready!(Pin::new(&mut self.ws).poll_ready(cx)).map_err(to_io)?;
        Pin::new(&mut self.ws)
            .start_send(Message::Binary(frame()))
            .map_err(to_io)?;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for WsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.send(cx, || Bytes::copy_from_slice(buf)))?;
        Poll::Ready(Ok(buf.len()))
    }

    /// Everything the driver hands over at once goes in one frame: packets
    /// may share a frame [MQTT-6.0.0-2], and fewer frames cost less.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        ready!(self.send(cx, || {
            let mut frame = Vec::with_capacity(total);
            for b in bufs {
                frame.extend_from_slice(b);
            }
            Bytes::from(frame)
        }))?;
        Poll::Ready(Ok(total))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.ws).poll_flush(cx).map_err(to_io)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.ws).poll_close(cx).map_err(to_io)
    }
}
