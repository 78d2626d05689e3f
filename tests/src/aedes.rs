//! A real WebSocket MQTT broker for integration tests: each [`Aedes`] is a
//! private aedes (`tests/aedes/server.js` on Node.js) on free loopback ports
//! serving plain MQTT, MQTT over WebSocket and, given a [`Pki`], MQTT over
//! secure WebSocket, killed and cleaned up on drop. Debian's mosquitto is
//! built without WebSocket support, hence a second broker.
//!
//! WebSocket clients must use the path [`WS_PATH`]; the server picks the
//! `mqtt` subprotocol when offered. A missing `node` or missing
//! `tests/aedes/node_modules` fails the test loudly (never a silent skip):
//! `./scripts/ensure-aedes` installs both.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::thread;
use std::time::Duration;

use crate::harness;
use crate::pki::Pki;

/// The only path the WebSocket listeners upgrade; others get HTTP 404.
pub const WS_PATH: &str = "/mqtt";

/// Node.js starts slower than mosquitto, more so on a busy machine.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A running aedes owned by one test.
#[derive(Debug)]
pub struct Aedes {
    child: Child,
    port: u16,
    ws_port: u16,
    wss_port: Option<u16>,
    /// The `node` arguments, kept for [`restart`](Self::restart).
    args: Vec<String>,
    node: PathBuf,
    dir: PathBuf,
}

impl Aedes {
    /// Starts a broker on `127.0.0.1` with a plain MQTT and a WebSocket
    /// listener and, when `pki` is given, a secure WebSocket listener with
    /// [`Pki::server_cert`] (copied, so `pki` need not outlive the broker).
    /// With `require_header` `(name, value)`, a WebSocket upgrade lacking
    /// that header is refused with HTTP 401. Waits until every port accepts
    /// TCP.
    ///
    /// Panics when Node.js or the broker's packages are not installed, or
    /// the broker does not come up.
    pub fn start(pki: Option<&Pki>, require_header: Option<(&str, &str)>) -> Aedes {
        let node = find_node();
        let script = script_dir().join("server.js");
        let dir = harness::temp_dir("aedes");
        let certs = pki.map(|pki| {
            let copy = |from: &Path, name: &str| {
                let to = dir.join(name);
                if let Err(e) = fs::copy(from, &to) {
                    panic!("cannot copy {} to {}: {e}", from.display(), to.display());
                }
                to.display().to_string()
            };
            (
                copy(&pki.server_cert(), "server.pem"),
                copy(&pki.server_key(), "server.key"),
            )
        });
        let mut args = Vec::new();
        let (child, ports) = harness::launch(
            "aedes",
            &dir,
            &dir.join("aedes.log"),
            if certs.is_some() { 3 } else { 2 },
            |ports| {
                args = vec![
                    script.display().to_string(),
                    "--port".into(),
                    ports[0].to_string(),
                    "--ws-port".into(),
                    ports[1].to_string(),
                ];
                if let Some((cert, key)) = &certs {
                    let wss = [
                        "--wss-port",
                        &ports[2].to_string(),
                        "--cert",
                        cert,
                        "--key",
                        key,
                    ];
                    args.extend(wss.map(String::from));
                }
                if let Some((name, value)) = require_header {
                    args.extend(["--require-header".into(), format!("{name}={value}")]);
                }
                spawn(&node, &args, &dir)
            },
            |child, ports| harness::wait_listening(child, ports, READY_TIMEOUT),
        );
        Aedes {
            child,
            port: ports[0],
            ws_port: ports[1],
            wss_port: ports.get(2).copied(),
            args,
            node,
            dir,
        }
    }

    /// The plain MQTT address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The plain MQTT (TCP) port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The MQTT over WebSocket (`ws`) port.
    pub fn ws_port(&self) -> u16 {
        self.ws_port
    }

    /// The MQTT over secure WebSocket (`wss`) port. Panics when the broker
    /// was started without a [`Pki`].
    pub fn wss_port(&self) -> u16 {
        match self.wss_port {
            Some(port) => port,
            None => panic!("this aedes has no wss listener: start it with a Pki"),
        }
    }

    /// `ws://127.0.0.1:<ws_port>/mqtt`.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}{WS_PATH}", self.ws_port)
    }

    /// `wss://127.0.0.1:<wss_port>/mqtt` (the server certificate names
    /// `127.0.0.1` and `localhost`). Panics as [`wss_port`](Self::wss_port).
    pub fn wss_url(&self) -> String {
        format!("wss://127.0.0.1:{}{WS_PATH}", self.wss_port())
    }

    /// Everything the broker printed so far, restarts included: a line per
    /// client connect and disconnect, and any error.
    pub fn log(&self) -> String {
        read_log(&self.dir)
    }

    /// The broker's process id (it changes on [`restart`](Self::restart)).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the broker (SIGTERM) and starts it again on the same ports
    /// with the same options. Sessions do not survive: aedes keeps them in
    /// memory. Connected clients see their transport close.
    ///
    /// Call it from a thread that lives as long as the broker should (the
    /// test's own thread): the kernel kills a broker when the thread that
    /// spawned it exits, so that no broker outlives a killed test.
    pub fn restart(&mut self) {
        harness::terminate(&mut self.child, STOP_TIMEOUT);
        self.child = spawn(&self.node, &self.args, &self.dir);
        let mut ports = vec![self.port, self.ws_port];
        ports.extend(self.wss_port);
        if let Err(why) = harness::wait_listening(&mut self.child, &ports, READY_TIMEOUT) {
            panic!("aedes did not restart: {why}\n{}", self.log());
        }
    }
}

impl Drop for Aedes {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- aedes log (port {}) ---\n{}", self.port, self.log());
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `tests/aedes`, checked to have its packages installed.
fn script_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("aedes");
    if !dir.join("node_modules").join("aedes").is_dir() {
        missing(&format!(
            "the aedes broker's packages are not installed in {}/node_modules",
            dir.display()
        ));
    }
    dir
}

/// `node` on PATH (`nodejs` on older Debian).
fn find_node() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let found = on_path
        .iter()
        .flat_map(|dir| [dir.join("node"), dir.join("nodejs")])
        .find(|candidate| candidate.is_file());
    match found {
        Some(path) => path,
        None => missing("node (Node.js) is not on PATH"),
    }
}

fn missing(what: &str) -> ! {
    if harness::in_ci() {
        panic!(
            "{what} on this CI machine: the WebSocket integration tests need \
             it; CI must run ./scripts/ensure-aedes"
        )
    }
    panic!("{what}: the WebSocket integration tests need it; run ./scripts/ensure-aedes")
}

fn spawn(node: &Path, args: &[String], dir: &Path) -> Child {
    let mut command = Command::new(node);
    command.args(args);
    harness::spawn_tied(command, &dir.join("aedes.log"))
}

fn read_log(dir: &Path) -> String {
    harness::read_log(&dir.join("aedes.log"))
}
