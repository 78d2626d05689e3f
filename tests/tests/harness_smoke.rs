//! The test brokers themselves: mosquitto's TLS listeners present the
//! certificates they are meant to and enforce client certificates where
//! asked, aedes serves all its listeners and refuses upgrades as
//! documented, rumqttd and amqtt accept MQTT 3.1.1 and keep an offline
//! client's session as configured, side by side on their own ports, and
//! all come back on the same ports after a restart.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use mqtt_integration_tests::aedes::{Aedes, WS_PATH};
use mqtt_integration_tests::amqtt::Amqtt;
use mqtt_integration_tests::broker::Mosquitto;
use mqtt_integration_tests::pki::Pki;
use mqtt_integration_tests::rumqttd::Rumqttd;

/// Completes a TLS handshake with `openssl s_client`, checking the server
/// as `localhost` against `ca`, and returns OpenSSL's verify result code
/// (0 is valid; the handshake completes either way).
fn verify_code(port: u16, ca: &Path) -> u32 {
    let output = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-verify_hostname", "localhost", "-CAfile"])
        .arg(ca)
        .stdin(Stdio::null())
        .output()
        .expect("openssl runs (./scripts/ensure-openssl installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let code = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("Verify return code: "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|code| code.parse().ok());
    code.unwrap_or_else(|| {
        panic!(
            "no TLS handshake on port {port}:\n{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Whether `mosquitto_pub` can publish one message through `port`, over
/// TLS trusting `ca` when given, presenting `client` (certificate, key)
/// when given.
fn publishes(port: u16, ca: Option<&Path>, client: Option<(&Path, &Path)>) -> bool {
    let mut command = Command::new("mosquitto_pub");
    command
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-t", "smoke", "-m", "hello"]);
    if let Some(ca) = ca {
        command.arg("--cafile").arg(ca);
    }
    if let Some((cert, key)) = client {
        command.arg("--cert").arg(cert).arg("--key").arg(key);
    }
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("mosquitto_pub runs (./scripts/ensure-mosquitto installs it)")
        .success()
}

fn check_mosquitto(broker: &Mosquitto, pki: &Pki) {
    const OK: u32 = 0;
    const EXPIRED: u32 = 10;
    const HOSTNAME_MISMATCH: u32 = 62;
    // Not "unknown issuer": mosquitto sends the CA along with its
    // certificate (OpenSSL completes the chain from `cafile`), so OpenSSL
    // sees an untrusted root in the chain.
    const UNTRUSTED_ROOT: u32 = 19;
    assert_eq!(verify_code(broker.tls_port(), &pki.ca_cert()), OK);
    assert_eq!(verify_code(broker.mtls_port(), &pki.ca_cert()), OK);
    assert_eq!(
        verify_code(broker.expired_tls_port(), &pki.ca_cert()),
        EXPIRED
    );
    assert_eq!(
        verify_code(broker.wrong_host_tls_port(), &pki.ca_cert()),
        HOSTNAME_MISMATCH
    );
    assert_eq!(
        verify_code(broker.tls_port(), &pki.other_ca_cert()),
        UNTRUSTED_ROOT
    );

    let ca = pki.ca_cert();
    let client = (pki.client_cert(), pki.client_key());
    let client = Some((client.0.as_path(), client.1.as_path()));
    assert!(publishes(broker.port(), None, None), "plain");
    assert!(publishes(broker.tls_port(), Some(&ca), None), "TLS");
    assert!(
        !publishes(broker.mtls_port(), Some(&ca), None),
        "the mTLS listener took a client without a certificate"
    );
    assert!(publishes(broker.mtls_port(), Some(&ca), client), "mTLS");
}

#[test]
fn mosquitto_tls_listeners() {
    let pki = Pki::generate();
    let mut broker = Mosquitto::start_tls(&pki, "");
    check_mosquitto(&broker, &pki);
    let ports = [broker.port(), broker.tls_port(), broker.mtls_port()];
    broker.restart();
    assert_eq!(
        ports,
        [broker.port(), broker.tls_port(), broker.mtls_port()]
    );
    check_mosquitto(&broker, &pki);
}

/// Sends a WebSocket upgrade for `path` offering the `mqtt` subprotocol,
/// with `extra` header lines, and returns the response head.
fn upgrade(port: u16, path: &str, extra: &str) -> String {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("ws port accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a read timeout");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: mqtt\r\n{extra}\r\n"
    );
    stream.write_all(request.as_bytes()).expect("request sent");
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).expect("response") == 1 {
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn check_aedes(broker: &Aedes) {
    for port in [broker.port(), broker.ws_port(), broker.wss_port()] {
        TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .unwrap_or_else(|e| panic!("aedes port {port} does not accept: {e}"));
    }
    let response = upgrade(broker.ws_port(), WS_PATH, "");
    assert!(response.starts_with("HTTP/1.1 101"), "{response}");
    assert!(
        response.contains("Sec-WebSocket-Protocol: mqtt"),
        "{response}"
    );
    let response = upgrade(broker.ws_port(), "/elsewhere", "");
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    assert!(publishes(broker.port(), None, None));
}

#[test]
fn aedes_listeners() {
    let pki = Pki::generate();
    let mut broker = Aedes::start(Some(&pki), None);
    check_aedes(&broker);
    let ports = [broker.port(), broker.ws_port(), broker.wss_port()];
    broker.restart();
    assert_eq!(ports, [broker.port(), broker.ws_port(), broker.wss_port()]);
    check_aedes(&broker);
    assert!(
        broker.log().contains("client connected"),
        "{}",
        broker.log()
    );
}

#[test]
fn aedes_required_header() {
    let broker = Aedes::start(None, Some(("X-Token", "s3cret")));
    let response = upgrade(broker.ws_port(), WS_PATH, "");
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    let response = upgrade(broker.ws_port(), WS_PATH, "X-Token: s3cret\r\n");
    assert!(response.starts_with("HTTP/1.1 101"), "{response}");
}

/// A CONNECT with protocol `name` and `level`, clean session, a 60 s keep
/// alive and `client_id`, written out by hand so that any name and level
/// can be sent (MQTT 3.1 is `MQIsdp` level 3, 3.1.1 is `MQTT` level 4).
fn connect_packet(name: &str, level: u8, client_id: &str) -> Vec<u8> {
    let string = |s: &str| {
        let len = u16::try_from(s.len()).expect("a short string");
        [&len.to_be_bytes()[..], s.as_bytes()].concat()
    };
    let level_flags_keep_alive = [level, 0b0000_0010, 0, 60];
    let body = [
        string(name),
        level_flags_keep_alive.to_vec(),
        string(client_id),
    ]
    .concat();
    let len = u8::try_from(body.len()).expect("a CONNECT under 128 bytes");
    [vec![0x10, len], body].concat()
}

/// Sends `connect` on a fresh connection to `addr` and returns the
/// CONNACK's return code, or `None` when the broker closes the connection
/// without one.
fn connack(addr: SocketAddr, connect: &[u8]) -> Option<u8> {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{addr} refused: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    stream.write_all(connect).expect("CONNECT sent");
    let mut reply = [0; 4];
    match stream.read_exact(&mut reply) {
        Ok(()) => {
            assert_eq!(reply[..2], [0x20, 2], "not a CONNACK: {reply:02x?}");
            Some(reply[3])
        }
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset
            ) =>
        {
            None
        }
        Err(e) => panic!("no CONNACK and no close from {addr}: {e}"),
    }
}

/// Runs `mosquitto_sub` against `port` with `args` and returns what it
/// printed.
fn subscribe(port: u16, args: &[&str]) -> String {
    let output = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("mosquitto_sub runs (./scripts/ensure-mosquitto installs it)");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Subscribes `client_id` with a persistent session (clean session 0) to
/// `topic` at QoS 1 and disconnects; [`queued_for`] then reads what the
/// broker kept for it.
fn subscribe_and_leave(port: u16, client_id: &str, topic: &str) {
    subscribe(port, &["-i", client_id, "-c", "-q", "1", "-t", topic, "-E"]);
}

/// Reconnects `client_id`'s persistent session (see
/// [`subscribe_and_leave`]) and returns the first message it gets within
/// 10 s, or an empty string.
fn queued_for(port: u16, client_id: &str, topic: &str) -> String {
    let args = [
        "-i", client_id, "-c", "-q", "1", "-t", topic, "-C", "1", "-W", "10",
    ];
    subscribe(port, &args)
}

/// Publishes `message` to `topic` at QoS 1 as `client_id`, retained when
/// `retain`.
fn publish(port: u16, client_id: &str, topic: &str, message: &str, retain: bool) {
    let mut command = Command::new("mosquitto_pub");
    command
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-i", client_id])
        .args(["-q", "1", "-t", topic, "-m", message]);
    if retain {
        command.arg("-r");
    }
    let status = command
        .status()
        .expect("mosquitto_pub runs (./scripts/ensure-mosquitto installs it)");
    assert!(status.success(), "mosquitto_pub to port {port}: {status}");
}

/// Waits up to 10 s for `line` to appear in what `log` returns.
fn wait_logged(log: impl Fn() -> String, line: &str) {
    let give_up = Instant::now() + Duration::from_secs(10);
    while !log().contains(line) {
        assert!(
            Instant::now() < give_up,
            "no {line:?} in the log:\n{}",
            log()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

const MQTT_3_1_1: (&str, u8) = ("MQTT", 4);
const MQTT_3_1: (&str, u8) = ("MQIsdp", 3);

/// What every broker must do for the suites: accept an MQTT 3.1.1 CONNECT
/// and queue a QoS 1 message for a persistent session while its client is
/// offline.
fn check_basics(addr: SocketAddr, client_id: &str) {
    let (name, level) = MQTT_3_1_1;
    assert_eq!(
        connack(addr, &connect_packet(name, level, client_id)),
        Some(0)
    );
    let keeper = format!("{client_id}-keeper");
    subscribe_and_leave(addr.port(), &keeper, "smoke/queued");
    let publisher = format!("{client_id}-publisher");
    publish(addr.port(), &publisher, "smoke/queued", "while away", false);
    assert_eq!(
        queued_for(addr.port(), &keeper, "smoke/queued"),
        "while away\n"
    );
}

#[test]
fn rumqttd_accepts_and_restarts() {
    let mut broker = Rumqttd::start();
    check_basics(broker.addr(), "smoke");
    let (port, pid) = (broker.port(), broker.pid());
    broker.restart();
    assert_eq!(broker.port(), port);
    assert_ne!(broker.pid(), pid);
    check_basics(broker.addr(), "again");
    // rumqttd speaks 3.1.1 only and closes a 3.1 connection unanswered.
    let (name, level) = MQTT_3_1;
    assert_eq!(
        connack(broker.addr(), &connect_packet(name, level, "old")),
        None
    );
    let log = broker.log();
    assert!(log.contains("client_id: \"again\""), "{log}");
    assert_eq!(Rumqttd::version(), "0.20.0");
}

#[test]
fn amqtt_accepts_and_restarts() {
    let mut broker = Amqtt::start();
    check_basics(broker.addr(), "smoke");
    let (port, pid) = (broker.port(), broker.pid());
    broker.restart();
    assert_eq!(broker.port(), port);
    assert_ne!(broker.pid(), pid);
    check_basics(broker.addr(), "again");
    // amqtt speaks 3.1.1 only: it closes a 3.1 (`MQIsdp`) connection
    // unanswered, and refuses another level under the name `MQTT` with
    // return code 1.
    let (name, level) = MQTT_3_1;
    assert_eq!(
        connack(broker.addr(), &connect_packet(name, level, "old")),
        None
    );
    assert_eq!(
        connack(broker.addr(), &connect_packet("MQTT", 3, "old")),
        Some(1)
    );
    let log = broker.log();
    assert!(log.contains("client again connected"), "{log}");
    assert_eq!(Amqtt::version(), "0.12.1");
}

#[test]
fn amqtt_persistent_keeps_sessions_and_retained_messages() {
    let mut broker = Amqtt::start_persistent();
    subscribe_and_leave(broker.port(), "keeper", "smoke/queued");
    publish(
        broker.port(),
        "queuer",
        "smoke/queued",
        "before the restart",
        false,
    );
    publish(broker.port(), "retainer", "smoke/retained", "kept", true);
    // amqtt acknowledges a PUBLISH before handling it: stopped before it
    // has seen the publisher's DISCONNECT, it may not have stored the
    // message yet.
    for publisher in ["queuer", "retainer"] {
        let line = format!("client {publisher} disconnected");
        wait_logged(|| broker.log(), &line);
    }
    broker.restart();
    let retained = ["-t", "smoke/retained", "-C", "1", "-W", "10"];
    assert_eq!(subscribe(broker.port(), &retained), "kept\n");
    assert_eq!(
        queued_for(broker.port(), "keeper", "smoke/queued"),
        "before the restart\n"
    );
}

/// Brokers started one after the other (on this thread: a broker dies
/// with the thread that spawned it) listen side by side on their own
/// ports.
#[test]
fn new_brokers_side_by_side() {
    let rumqttd = [Rumqttd::start(), Rumqttd::start()];
    let amqtt = [Amqtt::start(), Amqtt::start()];
    let ports = [
        rumqttd[0].port(),
        rumqttd[1].port(),
        amqtt[0].port(),
        amqtt[1].port(),
    ];
    for (i, port) in ports.iter().enumerate() {
        assert!(!ports[..i].contains(port), "port {port} twice in {ports:?}");
    }
    let (name, level) = MQTT_3_1_1;
    let connect = connect_packet(name, level, "side");
    for addr in [
        rumqttd[0].addr(),
        rumqttd[1].addr(),
        amqtt[0].addr(),
        amqtt[1].addr(),
    ] {
        assert_eq!(connack(addr, &connect), Some(0), "{addr}");
    }
}
