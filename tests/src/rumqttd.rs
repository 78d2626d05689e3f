//! A real rumqttd for integration tests: each [`Rumqttd`] is a private
//! broker on a free loopback port with a generated config in its own
//! temporary directory, killed and cleaned up on drop. A second broker
//! implementation beside mosquitto, so that client behaviour is not tuned
//! to one server's reading of the specification.
//!
//! The binary is the pinned [`VERSION`], built by `./scripts/ensure-rumqttd`
//! into `target/brokers/rumqttd`; a missing or different one fails the test
//! loudly (never a silent skip). The harness owns only the processes it
//! spawns.
//!
//! What rumqttd does differently from the mosquitto harness, and no config
//! can change:
//! - it keeps everything in memory: [`Rumqttd::restart`] loses every session,
//!   subscription, queued and retained message;
//! - it sends at most 100 QoS 1 and 2 messages to a client before waiting
//!   for their acknowledgements, and numbers them with packet ids 1 to 100
//!   only (a constant in its router, not `max_inflight_count`);
//! - it disconnects a client that acknowledges those (PUBACK, PUBREC) in
//!   another order than it sent them, or acknowledges one it did not send;
//! - it publishes no `$SYS` topics;
//! - it answers a CONNECT for any protocol but MQTT 3.1.1 (3.1's `MQIsdp`
//!   level 3 included) by closing the connection, without a CONNACK.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

use crate::harness;

/// The rumqttd release the tests run, as `rumqttd --version` reports it.
/// Keep in step with `version` in `scripts/ensure-rumqttd`.
pub const VERSION: &str = "0.20.0";

/// How long a broker may take to accept TCP after it was spawned.
const READY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a broker may take to exit after SIGTERM (it has nothing to
/// save, so it dies at once).
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A running rumqttd owned by one test.
#[derive(Debug)]
pub struct Rumqttd {
    child: Child,
    port: u16,
    dir: PathBuf,
    binary: PathBuf,
}

impl Rumqttd {
    /// Starts a broker listening for MQTT 3.1.1 on `127.0.0.1` on a free
    /// port and waits until it accepts TCP. The config lets every client
    /// in, takes packets up to the protocol's maximum size and logs each
    /// connect, subscribe and disconnect (see `write_config`).
    ///
    /// Panics when rumqttd is not installed or does not come up.
    pub fn start() -> Rumqttd {
        let binary = find_binary();
        let dir = harness::temp_dir("rumqttd");
        let (child, ports) = harness::launch(
            "rumqttd",
            &dir,
            &dir.join("rumqttd.log"),
            1,
            |ports| {
                write_config(&dir, ports[0]);
                spawn(&binary, &dir)
            },
            |child, ports| harness::wait_listening(child, ports, READY_TIMEOUT),
        );
        Rumqttd {
            child,
            port: ports[0],
            dir,
            binary,
        }
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Everything the broker logged so far, restarts included: a few lines
    /// per accepted connection, client registration (with its client id),
    /// subscription and disconnect, and any error.
    pub fn log(&self) -> String {
        read_log(&self.dir)
    }

    /// The broker's process id (it changes on [`restart`](Self::restart)).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The pinned release, [`VERSION`].
    pub fn version() -> &'static str {
        VERSION
    }

    /// Stops the broker (SIGTERM, then SIGKILL if it is slow) and starts it
    /// again on the same port with the same config. Nothing survives:
    /// rumqttd keeps sessions and retained messages in memory only.
    /// Connected clients see their transport close.
    ///
    /// Call it from a thread that lives as long as the broker should (the
    /// test's own thread): the kernel kills a broker when the thread that
    /// spawned it exits, so that no broker outlives a killed test.
    pub fn restart(&mut self) {
        harness::terminate(&mut self.child, STOP_TIMEOUT);
        self.child = spawn(&self.binary, &self.dir);
        if let Err(why) = harness::wait_listening(&mut self.child, &[self.port], READY_TIMEOUT) {
            panic!("rumqttd did not restart: {why}\n{}", self.log());
        }
    }
}

impl Drop for Rumqttd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- rumqttd log (port {}) ---\n{}", self.port, self.log());
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `target/brokers/rumqttd/bin/rumqttd` in the workspace, checked once per
/// test process to report [`VERSION`].
fn find_binary() -> PathBuf {
    static FOUND: OnceLock<PathBuf> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let binary = harness::workspace().join("target/brokers/rumqttd/bin/rumqttd");
            let reported = Command::new(&binary)
                .arg("--version")
                .output()
                .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
            match reported {
                Ok(version) if version == format!("rumqttd {VERSION}") => binary,
                Ok(other) => missing(&format!(
                    "{} reports {other:?}, not rumqttd {VERSION}",
                    binary.display()
                )),
                Err(e) => missing(&format!("cannot run {}: {e}", binary.display())),
            }
        })
        .clone()
}

fn missing(what: &str) -> ! {
    if harness::in_ci() {
        panic!(
            "{what} on this CI machine: the rumqttd integration tests need it; \
             CI must run ./scripts/ensure-rumqttd"
        )
    }
    panic!("{what}: the rumqttd integration tests need it; run ./scripts/ensure-rumqttd")
}

/// Writes `rumqttd.toml`: one MQTT 3.1.1 listener and the router, nothing
/// else. No `[v5]`, `[ws]`, `[console]` or `[prometheus]` section: each
/// would listen on a fixed port of its own, which brokers started side by
/// side would fight over.
fn write_config(dir: &Path, port: u16) {
    let config = format!(
        "# Generated by the integration test harness (tests/src/rumqttd.rs).\n\
         id = 0\n\
         \n\
         [router]\n\
         id = 0\n\
         max_connections = 10010\n\
         # QoS 0 messages the router hands a connection in one go.\n\
         max_outgoing_packet_count = 200\n\
         # Every topic filter's messages, including those kept for an\n\
         # offline persistent session, live in a log of up to ten 100 MiB\n\
         # segments in memory; the oldest segment goes when it is full.\n\
         max_segment_size = 104857600\n\
         max_segment_count = 10\n\
         \n\
         [v4.1]\n\
         name = \"v4-1\"\n\
         listen = \"127.0.0.1:{port}\"\n\
         next_connection_delay_ms = 0\n\
         \n\
         [v4.1.connections]\n\
         # How long a new connection may take to send CONNECT (at most\n\
         # 65535: the field is a u16).\n\
         connection_timeout_ms = 60000\n\
         # The largest remaining length MQTT can encode: no limit of our own.\n\
         max_payload_size = 268435455\n\
         # How many packets rumqttd reads from a client before handling\n\
         # them; despite its name not the outgoing inflight window, which is\n\
         # fixed at 100.\n\
         max_inflight_count = 10000\n\
         # Clients may subscribe to any filter, not only preconfigured ones.\n\
         dynamic_filters = true\n\
         # No `auth` table: every client is let in, with or without a\n\
         # user name.\n"
    );
    if let Err(e) = fs::write(dir.join("rumqttd.toml"), config) {
        panic!("cannot write rumqttd.toml in {}: {e}", dir.display());
    }
}

fn spawn(binary: &Path, dir: &Path) -> Child {
    let mut command = Command::new(binary);
    // `-v`: the info level, which logs connects and disconnects; `-q`: no
    // banner. Its log goes to stdout; NO_COLOR keeps ANSI colours out of
    // the log file.
    command
        .args(["-q", "-v", "-c"])
        .arg(dir.join("rumqttd.toml"))
        .env("NO_COLOR", "1");
    harness::spawn_tied(command, &dir.join("rumqttd.log"))
}

fn read_log(dir: &Path) -> String {
    harness::read_log(&dir.join("rumqttd.log"))
}
