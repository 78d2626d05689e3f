//! MQTT over WebSocket (section 6 of MQTT 3.1.1) against a scripted server
//! on plain threads (sync tungstenite), so that the framing the client must
//! accept and refuse can be chosen byte by byte: the `mqtt` subprotocol
//! offered [MQTT-6.0.0-3], packets sent in binary frames and a text frame
//! refused [MQTT-6.0.0-1], packets split across frames and sharing one
//! [MQTT-6.0.0-2]. Run on tokio, async-std and smol.

use mqtt_client::{
    Client, ConnectionEvent, DisconnectReason, Error, Options, QoS, Runtime, WebSocketError,
};
use std::future::Future;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;
use tungstenite::handshake::server::{Request, Response};
use tungstenite::{Message, WebSocket};

const STEP: Duration = Duration::from_secs(10);

async fn within<F: Future>(what: &str, f: F) -> F::Output {
    mqtt_integration_tests::wait::within(STEP, what, f).await
}

/// What the scripted server saw.
#[derive(Debug)]
struct Seen {
    /// The subprotocols the client offered.
    offered: Option<String>,
    /// Whether every frame from the client was binary.
    all_binary: bool,
    /// Whether the client closed the connection after the text frame.
    closed_after_text: bool,
}

/// Reads the next data frame, answering nothing else.
fn next_data(ws: &mut WebSocket<TcpStream>, all_binary: &mut bool) -> Vec<u8> {
    loop {
        match ws.read().expect("a frame from the client") {
            Message::Binary(data) => return data.to_vec(),
            Message::Text(_) => {
                *all_binary = false;
                return Vec::new();
            }
            _ => continue,
        }
    }
}

/// Accepts one client and plays the script; `proceed` says when the test
/// has seen the message and the text frame may follow.
// tungstenite's handshake callback returns its (large) HTTP error response
// by value; that is its API, not ours.
#[allow(clippy::result_large_err)]
fn scripted_server(listener: TcpListener, proceed: mpsc::Receiver<()>) -> Seen {
    let (tcp, _) = listener.accept().expect("accept");
    tcp.set_read_timeout(Some(STEP)).expect("timeout");
    let mut offered = None;
    let mut ws = tungstenite::accept_hdr(tcp, |req: &Request, mut resp: Response| {
        offered = req
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        resp.headers_mut()
            .insert("Sec-WebSocket-Protocol", "mqtt".parse().expect("header"));
        Ok(resp)
    })
    .expect("WebSocket handshake");
    let mut all_binary = true;
    let connect = next_data(&mut ws, &mut all_binary);
    assert_eq!(
        connect.first(),
        Some(&0x10),
        "CONNECT first: {connect:02x?}"
    );
    // CONNACK in two frames: packet and frame edges need not meet
    // [MQTT-6.0.0-2].
    ws.send(Message::Binary(vec![0x20].into())).expect("send");
    ws.send(Message::Binary(vec![0x02, 0x00, 0x00].into()))
        .expect("send");
    let subscribe = next_data(&mut ws, &mut all_binary);
    assert_eq!(
        subscribe.first(),
        Some(&0x82),
        "SUBSCRIBE: {subscribe:02x?}"
    );
    let (hi, lo) = (subscribe[2], subscribe[3]);
    // SUBACK and a PUBLISH (QoS 0, "ws/a", "hi") in one frame
    // [MQTT-6.0.0-2].
    let mut frame = vec![0x90, 0x03, hi, lo, 0x00];
    frame.extend_from_slice(&[0x30, 0x08, 0x00, 0x04, b'w', b's', b'/', b'a', b'h', b'i']);
    ws.send(Message::Binary(frame.into())).expect("send");
    proceed
        .recv_timeout(STEP)
        .expect("the test saw the message");
    // A text frame: the client must close the connection [MQTT-6.0.0-1].
    ws.send(Message::Text("not mqtt".into())).expect("send");
    let closed_after_text = loop {
        match ws.read() {
            Ok(Message::Close(_)) => break true,
            Ok(Message::Binary(data)) if data.first() == Some(&0xE0) => break true,
            Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(_) => break false,
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                break false
            }
            Err(_) => break true,
        }
    };
    Seen {
        offered,
        all_binary,
        closed_after_text,
    }
}

async fn framing<R: Runtime>() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (proceed, proceed_rx) = mpsc::channel();
    let server = thread::spawn(move || scripted_server(listener, proceed_rx));
    let options = Options::from_url(&format!("ws://127.0.0.1:{port}/mqtt"))
        .expect("url")
        .backoff(Duration::from_secs(5), Duration::from_secs(5));
    // The smol flavour's driver is spawned on smol (see on_smol).
    let options = mqtt_integration_tests::on_smol::options::<R>(options);
    let client = within("connect", Client::<R>::connect(options))
        .await
        .expect("connect over WebSocket");
    let events = client.events();
    let mut sub = within("subscribe", client.subscribe("ws/#", QoS::AtMostOnce))
        .await
        .expect("subscribe");
    let m = within("the message", sub.next()).await.expect("a message");
    assert_eq!((m.topic.as_str(), &m.payload[..]), ("ws/a", &b"hi"[..]));
    proceed.send(()).expect("the server waits");
    let lost = within("Disconnected after the text frame", async {
        loop {
            match events.recv().await {
                Ok(ConnectionEvent::Disconnected { reason }) => return reason,
                Ok(_) => continue,
                Err(e) => panic!("events ended: {e}"),
            }
        }
    })
    .await;
    assert!(
        matches!(
            &lost,
            DisconnectReason::Transport(Error::WebSocket(WebSocketError::TextFrame))
        ),
        "{lost:?}"
    );
    let seen = server.join().expect("the scripted server");
    assert_eq!(seen.offered.as_deref(), Some("mqtt"), "[MQTT-6.0.0-3]");
    assert!(seen.all_binary, "binary frames only [MQTT-6.0.0-1]");
    assert!(
        seen.closed_after_text,
        "closed after a text frame [MQTT-6.0.0-1]"
    );
    drop(client);
}

#[test]
fn tokio_framing() {
    mqtt_integration_tests::wait::block_on_tokio(framing::<mqtt_tokio::Tokio>());
}

#[test]
fn async_std_framing() {
    async_std::task::block_on(framing::<mqtt_async_std::AsyncStd>());
}

#[test]
fn smol_framing() {
    smol::block_on(framing::<mqtt_integration_tests::on_smol::Smol>());
}
