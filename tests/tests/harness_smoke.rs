//! The test brokers themselves: mosquitto's TLS listeners present the
//! certificates they are meant to and enforce client certificates where
//! asked, aedes serves all its listeners and refuses upgrades as
//! documented, and both come back on the same ports after a restart.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use mqtt_integration_tests::aedes::{Aedes, WS_PATH};
use mqtt_integration_tests::broker::Mosquitto;
use mqtt_integration_tests::pki::Pki;

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
