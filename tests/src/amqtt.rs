//! A real amqtt for integration tests: each [`Amqtt`] is a private broker
//! (Python, asyncio) on a free loopback port with a generated config in its
//! own temporary directory, killed and cleaned up on drop. A third broker
//! implementation beside mosquitto and rumqttd, so that client behaviour is
//! not tuned to one server's reading of the specification.
//!
//! amqtt is the pinned [`VERSION`], installed by `./scripts/ensure-amqtt`
//! into the virtual environment `target/brokers/amqtt-venv`; a missing or
//! different one fails the test loudly (never a silent skip). The broker
//! loads `tests/amqtt/harness_plugins.py`. The harness owns only the
//! processes it spawns.
//!
//! What amqtt does differently from the mosquitto harness, and no config
//! can change:
//! - it stops gracefully on SIGINT (its Ctrl-C); SIGTERM ends the Python
//!   process on the spot, so [`Amqtt::restart`] sends SIGINT;
//! - it has no limits to raise: any packet size MQTT can encode, unbounded
//!   offline queues and inflight windows;
//! - it delivers the messages it queued for an offline session with the
//!   RETAIN flag set;
//! - it answers a CONNECT with the protocol name `MQIsdp` (MQTT 3.1) by
//!   closing the connection without a CONNACK, and one with the name `MQTT`
//!   but a level other than 4 with CONNACK 1 (unacceptable protocol
//!   version).
//!
//! [`Amqtt::start_persistent`] keeps sessions and retained messages in an
//! SQLite database across [`Amqtt::restart`], with the limits of amqtt's
//! `SessionDBPlugin` listed there.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use crate::harness;

/// The amqtt release the tests run, as `amqtt --version` reports it.
/// Keep in step with the `amqtt==` pin in `scripts/ensure-amqtt`.
pub const VERSION: &str = "0.12.1";

/// Python starts slower than a native broker (about two seconds to import
/// amqtt), more so on a busy machine.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a broker may take to exit after SIGINT (it closes its sessions
/// and finishes writing its database).
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A running amqtt owned by one test.
#[derive(Debug)]
pub struct Amqtt {
    child: Child,
    port: u16,
    dir: PathBuf,
    binary: PathBuf,
}

impl Amqtt {
    /// Starts a broker listening for MQTT 3.1.1 on `127.0.0.1` on a free
    /// port and waits until it has logged that it started and accepts
    /// TCP. The config lets every client
    /// in and keeps a disconnected client's session (clean session 0) in
    /// memory until the broker stops; it logs each connect and disconnect
    /// with the client id (see `write_config`).
    ///
    /// Panics when amqtt is not installed or does not come up.
    pub fn start() -> Amqtt {
        Amqtt::launch(false)
    }

    /// Starts a broker as [`start`](Self::start) does, with amqtt's
    /// `SessionDBPlugin` keeping persistent sessions (their subscriptions
    /// and the QoS 1 and 2 messages queued while they are offline) and
    /// retained messages in an SQLite database in the broker's directory,
    /// so that they survive [`restart`](Self::restart).
    ///
    /// What that plugin does not do: it keeps no message in flight
    /// (unacknowledged) at the stop; it forgets unsubscriptions, so a
    /// filter comes back after a restart; it never removes a queued message
    /// from the database once delivered, so the message is delivered again
    /// after every later restart; and it stores queued messages as text,
    /// silently dropping one whose payload is not UTF-8.
    pub fn start_persistent() -> Amqtt {
        Amqtt::launch(true)
    }

    fn launch(persistent: bool) -> Amqtt {
        let binary = find_binary();
        let dir = harness::temp_dir("amqtt");
        // Where the log stood before this attempt: readiness is a line the
        // new process writes after it.
        let logged = std::cell::Cell::new(0);
        let (child, ports) = harness::launch(
            "amqtt",
            &dir,
            &dir.join("amqtt.log"),
            1,
            |ports| {
                write_config(&dir, ports[0], persistent);
                logged.set(read_log(&dir).len());
                spawn(&binary, &dir)
            },
            |child, ports| wait_started(child, &dir, ports[0], logged.get()),
        );
        Amqtt {
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

    /// Everything the broker logged so far, restarts included: a line per
    /// client connect (`client <id> connected (clean session <flag>)`) and
    /// disconnect (`client <id> disconnected`), and any warning or error.
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

    /// Stops the broker gracefully (SIGINT, then SIGKILL if it is slow) and
    /// starts it again on the same port with the same config. Sessions and
    /// retained messages survive only when started with
    /// [`start_persistent`](Self::start_persistent). Connected clients see
    /// their transport close.
    ///
    /// amqtt acknowledges a QoS 1 or 2 PUBLISH before it has handled it,
    /// and a stop drops the packets it has not handled yet: to be sure a
    /// message is stored, wait for its publisher's `client <id>
    /// disconnected` line in the [`log`](Self::log) before restarting.
    ///
    /// Call it from a thread that lives as long as the broker should (the
    /// test's own thread): the kernel kills a broker when the thread that
    /// spawned it exits, so that no broker outlives a killed test.
    pub fn restart(&mut self) {
        harness::stop(&mut self.child, "-INT", STOP_TIMEOUT);
        let logged = read_log(&self.dir).len();
        self.child = spawn(&self.binary, &self.dir);
        if let Err(why) = wait_started(&mut self.child, &self.dir, self.port, logged) {
            panic!("amqtt did not restart: {why}\n{}", self.log());
        }
    }
}

impl Drop for Amqtt {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- amqtt log (port {}) ---\n{}", self.port, self.log());
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The workspace's `target/brokers/amqtt-venv`.
fn venv() -> PathBuf {
    harness::workspace().join("target/brokers/amqtt-venv")
}

/// `bin/amqtt` in the virtual environment, checked once per test process
/// to belong to amqtt [`VERSION`]. The check reads the installed package's
/// metadata directory rather than running `amqtt --version`, which takes
/// as long as starting the broker.
fn find_binary() -> PathBuf {
    static FOUND: OnceLock<PathBuf> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let venv = venv();
            let binary = venv.join("bin/amqtt");
            if !binary.is_file() {
                missing(&format!("{} does not exist", binary.display()));
            }
            let metadata = format!("amqtt-{VERSION}.dist-info");
            let installed = fs::read_dir(venv.join("lib"))
                .into_iter()
                .flatten()
                .flatten()
                .any(|python| python.path().join("site-packages").join(&metadata).is_dir());
            if !installed {
                missing(&format!(
                    "{} has no amqtt {VERSION} (no {metadata})",
                    venv.display()
                ));
            }
            binary
        })
        .clone()
}

fn missing(what: &str) -> ! {
    if harness::in_ci() {
        panic!(
            "{what} on this CI machine: the amqtt integration tests need it; \
             CI must run ./scripts/ensure-amqtt"
        )
    }
    panic!("{what}: the amqtt integration tests need it; run ./scripts/ensure-amqtt")
}

/// Writes `amqtt.yaml`: one plain TCP listener and the plugins. Naming any
/// plugin replaces amqtt's whole default set, so the ones kept from it are
/// named again.
fn write_config(dir: &Path, port: u16, persistent: bool) {
    let persistence = if persistent {
        format!(
            "  # Sessions and retained messages in SQLite, kept across a\n\
             \x20 # stop (by default a graceful stop empties the database).\n\
             \x20 amqtt.contrib.persistence.SessionDBPlugin:\n\
             \x20   connection: 'sqlite+aiosqlite:///{db}'\n\
             \x20   clear_on_shutdown: false\n",
            db = dir.join("amqtt.db").display(),
        )
    } else {
        String::new()
    };
    let config = format!(
        "# Generated by the integration test harness (tests/src/amqtt.rs).\n\
         listeners:\n\
         \x20 default:\n\
         \x20   type: tcp\n\
         \x20   bind: 127.0.0.1:{port}\n\
         # No session_expiry_interval: a disconnected persistent session is\n\
         # kept until the broker stops.\n\
         plugins:\n\
         \x20 # Instead of amqtt's AnonymousAuthPlugin, which marks every\n\
         \x20 # client anonymous and so keeps no session for any of them\n\
         \x20 # once it disconnects (see harness_plugins.py). It also logs\n\
         \x20 # each connect and disconnect with the client id.\n\
         \x20 harness_plugins.AllowEveryClient: {{}}\n\
         \x20 # $SYS topics every 20 seconds, as amqtt's default config has.\n\
         \x20 amqtt.plugins.sys.broker.BrokerSysPlugin:\n\
         \x20   sys_interval: 20\n\
         {persistence}"
    );
    if let Err(e) = fs::write(dir.join("amqtt.yaml"), config) {
        panic!("cannot write amqtt.yaml in {}: {e}", dir.display());
    }
}

fn spawn(binary: &Path, dir: &Path) -> Child {
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("amqtt");
    let mut command = Command::new(binary);
    // Without -d amqtt logs at the info level, which has the connects and
    // disconnects, to stderr. PYTHONPATH finds harness_plugins.py; no
    // bytecode is written next to it, in the source tree.
    command
        .arg("-c")
        .arg(dir.join("amqtt.yaml"))
        .env("PYTHONPATH", plugins)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    // SAFETY: the closure runs in the forked child before exec and only
    // makes one async-signal-safe system call.
    unsafe {
        command.pre_exec(|| {
            // A process started in the background may inherit SIGINT
            // ignored, and Python then leaves it ignored: restore the
            // default so that Python turns SIGINT into its graceful stop.
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    harness::spawn_tied(command, &dir.join("amqtt.log"))
}

fn read_log(dir: &Path) -> String {
    harness::read_log(&dir.join("amqtt.log"))
}

/// What amqtt logs once it has started completely: listeners bound and
/// every plugin's start hook done.
const STARTED: &str = "Starting session expiration monitor.";
/// What it logs when it cannot start (a port taken, say), after which the
/// process lives on, serving nothing.
const START_FAILED: &str = "Broker startup failed";

/// Waits for the broker just spawned, whose log begins at byte `logged`
/// of the log file, to log that it has started, then for `port` to accept
/// TCP. Not the port alone: amqtt accepts clients before its plugins'
/// start hooks have run, and the session database's hook is what restores
/// sessions and retained messages, so a client that came in first would
/// miss them.
fn wait_started(child: &mut Child, dir: &Path, port: u16, logged: usize) -> Result<(), String> {
    let give_up = Instant::now() + READY_TIMEOUT;
    loop {
        let log = read_log(dir);
        // The file only grows, so `logged` is where this run's lines begin.
        let this_run = log.get(logged..).unwrap_or_default();
        if this_run.contains(STARTED) {
            break;
        }
        if this_run.contains(START_FAILED) {
            return Err(format!("logged {START_FAILED:?}"));
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited with {status}"));
        }
        if Instant::now() >= give_up {
            return Err(format!("no {STARTED:?} in its log after {READY_TIMEOUT:?}"));
        }
        thread::sleep(Duration::from_millis(20));
    }
    harness::wait_listening(child, &[port], READY_TIMEOUT)
}
