//! Process plumbing the broker harnesses ([`crate::broker`],
//! [`crate::aedes`], [`crate::rumqttd`], [`crate::amqtt`]) share: private
//! temporary directories, free loopback ports, spawning a server that dies
//! with the thread that started it, and waiting for it to listen or to
//! stop.

use std::fs::{self, File};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Whether we run in CI, where a missing tool must fail rather than be
/// waved through with a hint.
pub(crate) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The workspace root, whose `target/brokers` holds the brokers that the
/// `scripts/ensure-*` scripts build or install.
pub(crate) fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the test crate is a folder of the workspace")
}

/// A fresh, empty directory `mqtt-it-<kind>-<pid>-<n>` under the system's
/// temporary directory; the caller removes it.
pub(crate) fn temp_dir(kind: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "mqtt-it-{kind}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    if let Err(e) = fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir
}

/// `n` distinct ports nothing listens on right now: bind port 0 `n` times,
/// holding every socket until all are read (so the kernel cannot hand out
/// one twice), then release them for the server to take.
pub(crate) fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| {
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .unwrap_or_else(|e| panic!("cannot find a free loopback port: {e}"))
        })
        .collect();
    listeners
        .iter()
        .map(|l| {
            l.local_addr()
                .unwrap_or_else(|e| panic!("cannot read a bound port: {e}"))
                .port()
        })
        .collect()
}

/// Spawns `command` with stdin closed and stdout and stderr appended to
/// `log`, tied to the calling thread: the kernel kills it when that thread
/// exits, so a test process that is killed (a timeout, SIGKILL) leaves no
/// server behind.
pub(crate) fn spawn_tied(mut command: Command, log: &Path) -> Child {
    let files = File::options()
        .create(true)
        .append(true)
        .open(log)
        .and_then(|f| Ok((f.try_clone()?, f)));
    let (out, err) = files.unwrap_or_else(|e| panic!("cannot open the log {}: {e}", log.display()));
    // SAFETY: the closure runs in the forked child before exec and only
    // makes one async-signal-safe system call.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

/// Polls until every port accepts TCP, the child exits, or `timeout` is up.
pub(crate) fn wait_listening(
    child: &mut Child,
    ports: &[u16],
    timeout: Duration,
) -> Result<(), String> {
    let give_up = Instant::now() + timeout;
    for &port in ports {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("exited with {status}"));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                break;
            }
            if Instant::now() >= give_up {
                return Err(format!("port {port} not accepting TCP after {timeout:?}"));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(())
}

/// Sends `signal` (a `kill` option such as `-TERM`) to the child.
pub(crate) fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    match status {
        Ok(s) if s.success() => {}
        other => panic!("kill {signal} {} failed: {other:?}", child.id()),
    }
}

/// Stops the child gracefully (SIGTERM, so it can save state) and kills it
/// if it takes longer than `timeout`.
pub(crate) fn terminate(child: &mut Child, timeout: Duration) {
    stop(child, "-TERM", timeout);
}

/// Asks the child to stop with `signal` (a `kill` option such as `-INT`,
/// for a server whose graceful stop is not SIGTERM) and kills it if it
/// takes longer than `timeout`.
pub(crate) fn stop(child: &mut Child, signal: &str, timeout: Duration) {
    let _ = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let give_up = Instant::now() + timeout;
    while Instant::now() < give_up {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The whole file, or what could be read of it.
pub(crate) fn read_log(path: &Path) -> String {
    let mut log = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut log);
    }
    log
}

/// Spawn attempts, each on fresh ports, in case another process took a port
/// between our probe and the server's bind.
const ATTEMPTS: usize = 3;

/// Starts a server on `n` fresh free ports: `spawn` writes its config for
/// those ports and starts it, `ready` waits until it serves (or says why
/// not). A failed attempt is killed and tried again on other ports; after
/// the last one, the server's `log` goes into the panic and `dir` is
/// removed. Returns the running child and its ports.
pub(crate) fn launch(
    what: &str,
    dir: &Path,
    log: &Path,
    n: usize,
    mut spawn: impl FnMut(&[u16]) -> Child,
    mut ready: impl FnMut(&mut Child, &[u16]) -> Result<(), String>,
) -> (Child, Vec<u16>) {
    let mut failures = String::new();
    for _ in 0..ATTEMPTS {
        let ports = free_ports(n);
        let mut child = spawn(&ports);
        match ready(&mut child, &ports) {
            Ok(()) => return (child, ports),
            Err(why) => {
                let _ = child.kill();
                let _ = child.wait();
                failures.push_str(&format!("ports {ports:?}: {why}\n"));
            }
        }
    }
    let log = read_log(log);
    let _ = fs::remove_dir_all(dir);
    panic!("{what} did not start:\n{failures}--- log ---\n{log}");
}
