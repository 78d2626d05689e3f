//! A real mosquitto for integration tests: each [`Mosquitto`] is a private
//! broker on a free loopback port with a generated config in its own
//! temporary directory, killed and cleaned up on drop. Started with
//! [`Mosquitto::start_tls`], it also has TLS listeners ([`crate::broker_tls`]).
//!
//! A missing `mosquitto` binary fails the test loudly (never a silent skip):
//! install it with `./scripts/ensure-mosquitto`. The harness owns only the
//! processes it spawns; it never touches a system-wide broker.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::thread;
use std::time::Duration;

use crate::broker_tls::TlsListeners;
use crate::harness;
use crate::pki::Pki;

/// How long a broker may take to accept TCP after it was spawned.
const READY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a broker may take to exit after SIGTERM (it saves its database).
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A running mosquitto owned by one test.
#[derive(Debug)]
pub struct Mosquitto {
    child: Child,
    port: u16,
    /// The TLS listeners, when started with [`start_tls`](Self::start_tls).
    pub(crate) tls: Option<TlsListeners>,
    dir: PathBuf,
    binary: PathBuf,
}

impl Mosquitto {
    /// Starts a broker listening on `127.0.0.1` on a free port and waits
    /// until it accepts TCP. The config allows anonymous clients, keeps no
    /// persistence, lifts the inflight limit and raises the offline queue;
    /// `config_extra` lines come after that and override any of it (e.g.
    /// `"persistence true"` for [`restart`](Self::restart) tests).
    ///
    /// Panics when mosquitto is not installed or does not come up.
    pub fn start(config_extra: &str) -> Mosquitto {
        Mosquitto::launch(config_extra, None)
    }

    /// A free loopback port no broker listens on yet, for a client that
    /// must start before its broker; [`start_on`](Self::start_on) then
    /// starts one there.
    pub fn reserve_port() -> u16 {
        harness::free_ports(1)[0]
    }

    /// Starts a broker as [`start`](Self::start) does, on `port`.
    pub fn start_on(port: u16, config_extra: &str) -> Mosquitto {
        let binary = find_binary();
        let dir = harness::temp_dir("mosquitto");
        write_config(&dir, port, config_extra, "");
        let mut child = spawn(&binary, &dir);
        if let Err(why) = harness::wait_listening(&mut child, &[port], READY_TIMEOUT) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "mosquitto did not start on port {port}: {why}\n{}",
                read_log(&dir)
            );
        }
        Mosquitto {
            child,
            port,
            tls: None,
            dir,
            binary,
        }
    }

    /// Starts the broker as [`start`](Self::start) does, with TLS listeners
    /// from `pki` when given (see [`start_tls`](Self::start_tls)).
    pub(crate) fn launch(config_extra: &str, pki: Option<&Pki>) -> Mosquitto {
        let binary = find_binary();
        let dir = harness::temp_dir("mosquitto");
        let mut tls = None;
        let (child, ports) = harness::launch(
            "mosquitto",
            &dir,
            &dir.join("mosquitto.log"),
            1 + pki.map_or(0, |_| TlsListeners::COUNT),
            |ports| {
                tls = pki.map(|pki| TlsListeners::new(pki, &dir, &ports[1..]));
                let listeners = tls.as_ref().map(TlsListeners::config).unwrap_or_default();
                write_config(&dir, ports[0], config_extra, &listeners);
                spawn(&binary, &dir)
            },
            |child, ports| harness::wait_listening(child, ports, READY_TIMEOUT),
        );
        Mosquitto {
            child,
            port: ports[0],
            tls,
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

    /// Everything the broker logged so far (all log types, restarts
    /// included).
    pub fn log(&self) -> String {
        read_log(&self.dir)
    }

    /// The broker's process id (it changes on [`restart`](Self::restart)).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Freezes the broker with SIGSTOP: its sockets stay open (the kernel
    /// still completes TCP handshakes into the listen backlog) but it reads,
    /// writes and answers nothing, like a hung or partitioned server. Undo
    /// with [`thaw`](Self::thaw); dropping a frozen broker still kills it.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Resumes a broker frozen by [`freeze`](Self::freeze) (SIGCONT).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        harness::signal(&self.child, signal);
    }

    /// Stops the broker gracefully (SIGTERM, so a persistent broker saves
    /// its database) and starts it again on the same ports with the same
    /// config. Connected clients see their transport close.
    ///
    /// Call it from a thread that lives as long as the broker should (the
    /// test's own thread): the kernel kills a broker when the thread that
    /// spawned it exits, so that no broker outlives a killed test.
    pub fn restart(&mut self) {
        harness::terminate(&mut self.child, STOP_TIMEOUT);
        self.child = spawn(&self.binary, &self.dir);
        let all = all_ports(self.port, self.tls.as_ref());
        if let Err(why) = harness::wait_listening(&mut self.child, &all, READY_TIMEOUT) {
            panic!("mosquitto did not restart: {why}\n{}", self.log());
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- mosquitto log (port {}) ---\n{}", self.port, self.log());
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The plain port first, then the TLS ones.
fn all_ports(port: u16, tls: Option<&TlsListeners>) -> Vec<u16> {
    let mut ports = vec![port];
    ports.extend(tls.iter().flat_map(|tls| tls.ports()));
    ports
}

/// `mosquitto` on PATH, or in /usr/sbin where Debian puts it (often not on
/// a non-root PATH).
fn find_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let found = on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|dir| dir.join("mosquitto"))
        .find(|candidate| candidate.is_file());
    match found {
        Some(path) => path,
        None if harness::in_ci() => panic!(
            "mosquitto is not installed on this CI machine: the broker \
             integration tests need it; CI must run ./scripts/ensure-mosquitto"
        ),
        None => panic!(
            "mosquitto not found on PATH or in /usr/sbin: the broker integration \
             tests need it; run ./scripts/ensure-mosquitto \
             (apt-get install -y mosquitto)"
        ),
    }
}

/// Writes the config: the plain listener with its settings, `extra`, then
/// the `listeners` blocks. The blocks come last because mosquitto applies a
/// per-listener option to the `listener` line above it: placed before
/// `extra`, they would capture any per-listener option meant for the plain
/// listener. The remaining options are global (`per_listener_settings` is
/// false by default), so `allow_anonymous` covers every listener.
fn write_config(dir: &Path, port: u16, extra: &str, listeners: &str) {
    let config = format!(
        "listener {port} 127.0.0.1\n\
         allow_anonymous true\n\
         # Run as root, mosquitto would switch to user mosquitto, which cannot\n\
         # write its database into our directory; stay the invoking user.\n\
         user root\n\
         persistence false\n\
         persistence_location {dir}/\n\
         # A high per-client inflight limit (not 0, \"unlimited\": with 0,\n\
         # mosquitto 2.0 restores released QoS 2 messages from its database\n\
         # as PUBLISH instead of PUBREL after a restart, breaking\n\
         # [MQTT-4.3.3-1]); queue plenty for offline persistent sessions.\n\
         max_inflight_messages 10000\n\
         max_queued_messages 100000\n\
         log_dest stderr\n\
         log_type all\n\
         {extra}\n\
         {listeners}",
        dir = dir.display(),
    );
    if let Err(e) = fs::write(dir.join("mosquitto.conf"), config) {
        panic!("cannot write mosquitto.conf in {}: {e}", dir.display());
    }
}

fn spawn(binary: &Path, dir: &Path) -> Child {
    let mut command = Command::new(binary);
    command.arg("-c").arg(dir.join("mosquitto.conf"));
    harness::spawn_tied(command, &dir.join("mosquitto.log"))
}

fn read_log(dir: &Path) -> String {
    harness::read_log(&dir.join("mosquitto.log"))
}
