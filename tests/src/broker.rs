//! A real mosquitto for integration tests: each [`Mosquitto`] is a private
//! broker on a free loopback port with a generated config in its own
//! temporary directory, killed and cleaned up on drop.
//!
//! A missing `mosquitto` binary fails the test loudly (never a silent skip):
//! install it with `apt-get install -y mosquitto`. The harness owns only the
//! processes it spawns; it never touches a system-wide broker.

use std::fs::{self, File};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long a broker may take to accept TCP after it was spawned.
const READY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a broker may take to exit after SIGTERM (it saves its database).
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Spawn attempts, each on a fresh port, in case another process took the
/// port between our probe and mosquitto's bind.
const ATTEMPTS: usize = 3;

/// A running mosquitto owned by one test.
#[derive(Debug)]
pub struct Mosquitto {
    child: Child,
    port: u16,
    dir: PathBuf,
    binary: PathBuf,
}

impl Mosquitto {
    /// Starts a broker listening on `127.0.0.1` on a free port and waits
    /// until it accepts TCP. The config allows anonymous clients, keeps no
    /// persistence, lifts the inflight limit and raises the offline queue;
    /// `config_extra` lines come last and override any of that (e.g.
    /// `"persistence true"` for [`restart`](Self::restart) tests).
    ///
    /// Panics when mosquitto is not installed or does not come up.
    pub fn start(config_extra: &str) -> Mosquitto {
        let binary = find_binary();
        let dir = temp_dir();
        let mut failures = String::new();
        for _ in 0..ATTEMPTS {
            let port = free_port();
            write_config(&dir, port, config_extra);
            let mut child = spawn(&binary, &dir);
            match wait_ready(&mut child, port) {
                Ok(()) => {
                    return Mosquitto {
                        child,
                        port,
                        dir,
                        binary,
                    }
                }
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    failures.push_str(&format!("port {port}: {why}\n"));
                }
            }
        }
        let log = read_log(&dir);
        let _ = fs::remove_dir_all(&dir);
        panic!("mosquitto did not start:\n{failures}--- log ---\n{log}");
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
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status();
        match status {
            Ok(s) if s.success() => {}
            other => panic!("kill {signal} {} failed: {other:?}", self.child.id()),
        }
    }

    /// Stops the broker gracefully (SIGTERM, so a persistent broker saves
    /// its database) and starts it again on the same port with the same
    /// config. Connected clients see their transport close.
    ///
    /// Call it from a thread that lives as long as the broker should (the
    /// test's own thread): the kernel kills a broker when the thread that
    /// spawned it exits, so that no broker outlives a killed test.
    pub fn restart(&mut self) {
        self.stop();
        self.child = spawn(&self.binary, &self.dir);
        if let Err(why) = wait_ready(&mut self.child, self.port) {
            panic!("mosquitto did not restart: {why}\n{}", self.log());
        }
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let give_up = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < give_up {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
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
        None if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "mosquitto is not installed on this CI machine: the broker \
             integration tests need it; CI must run `apt-get install -y mosquitto`"
        ),
        None => panic!(
            "mosquitto not found on PATH or in /usr/sbin: the broker integration \
             tests need it; run `apt-get install -y mosquitto`"
        ),
    }
}

/// A fresh directory for one broker's config, log and database.
fn temp_dir() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "mqtt-it-mosquitto-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    if let Err(e) = fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir
}

/// A port nothing listens on right now: bind port 0, read it, release it.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot find a free loopback port: {e}"))
}

fn write_config(dir: &Path, port: u16, extra: &str) {
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
         {extra}\n",
        dir = dir.display(),
    );
    if let Err(e) = fs::write(dir.join("mosquitto.conf"), config) {
        panic!("cannot write mosquitto.conf in {}: {e}", dir.display());
    }
}

fn spawn(binary: &Path, dir: &Path) -> Child {
    let log = File::options()
        .create(true)
        .append(true)
        .open(dir.join("mosquitto.log"))
        .and_then(|f| Ok((f.try_clone()?, f)));
    let (out, err) = log.unwrap_or_else(|e| panic!("cannot open the mosquitto log: {e}"));
    let mut command = Command::new(binary);
    // SAFETY: the closure runs in the forked child before exec and only
    // makes one async-signal-safe system call. It asks the kernel to kill
    // the broker when the thread that started it dies, so a test process
    // that is killed (a timeout, SIGKILL) leaves no broker behind.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    command
        .arg("-c")
        .arg(dir.join("mosquitto.conf"))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()))
}

/// Polls until the port accepts TCP, the broker exits, or the time is up.
fn wait_ready(child: &mut Child, port: u16) -> Result<(), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let give_up = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("mosquitto exited with {status}"));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= give_up {
            return Err(format!("not accepting TCP after {READY_TIMEOUT:?}"));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn read_log(dir: &Path) -> String {
    let mut log = String::new();
    if let Ok(mut f) = File::open(dir.join("mosquitto.log")) {
        let _ = f.read_to_string(&mut log);
    }
    log
}
