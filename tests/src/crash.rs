//! The harness side of the crash test (`tests/crash.rs`): a seeded
//! schedule, the client processes it starts and kills with SIGKILL (the
//! `crash_client` program of this crate), their working directory, and
//! bounded waits on the logs those processes write. What the logs must
//! show is judged in [`crate::crash_check`].
//!
//! Like the broker harness, it owns only the processes it spawns: each one
//! is tied to the spawning thread (killed if the test dies) and killed on
//! drop, so a failing test leaves no client behind.

use crate::harness;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

/// The schedule's seed when `CRASH_SEED` is not set.
pub const DEFAULT_SEED: u64 = 0x00C0_FFEE_D00D;

/// `CRASH_SEED` (decimal, or hex with `0x`), or [`DEFAULT_SEED`]. Panics on
/// a value that is not a number rather than running some other schedule.
pub fn seed() -> u64 {
    match std::env::var("CRASH_SEED") {
        Err(_) => DEFAULT_SEED,
        Ok(text) => {
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("CRASH_SEED={text:?} is not a number"))
        }
    }
}

/// Prints how to repeat a failed run: the seed, when the test panics.
#[derive(Debug)]
pub struct SeedReport {
    /// The seed of the schedule.
    pub seed: u64,
    /// The test that uses it.
    pub test: &'static str,
}

impl Drop for SeedReport {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "{} failed with CRASH_SEED={}: run it again with that seed to repeat its schedule",
                self.test, self.seed
            );
        }
    }
}

/// The seeded choices of a run (SplitMix64): when to kill, which runtime,
/// which durability, which QoS. The same seed and stream give the same
/// schedule; the interleaving with the broker is the operating system's.
#[derive(Debug, Clone)]
pub struct Schedule {
    state: u64,
}

impl Schedule {
    /// The schedule of `seed`, `stream` keeping the tests' choices apart.
    pub fn new(seed: u64, stream: u64) -> Schedule {
        Schedule {
            state: seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F),
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A duration in `low..=high`, in whole milliseconds.
    pub fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let low_ms = low.as_millis() as u64;
        let span = (high.as_millis() as u64).saturating_sub(low_ms) + 1;
        Duration::from_millis(low_ms + self.next_u64() % span)
    }

    /// True one time in `n`, on average.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.next_u64().is_multiple_of(n.max(1))
    }

    /// `--runtime` of the next child: tokio or async-std, evenly.
    pub fn runtime(&mut self) -> &'static str {
        if self.one_in(2) {
            "tokio"
        } else {
            "async-std"
        }
    }

    /// `--durability` of the next child: both survive SIGKILL.
    pub fn durability(&mut self) -> &'static str {
        if self.one_in(2) {
            "sync"
        } else {
            "flush"
        }
    }
}

/// A temporary directory for one test's logs and stores, removed on drop;
/// kept (and its path printed) when the test fails, for the post-mortem.
#[derive(Debug)]
pub struct Workdir {
    path: PathBuf,
}

impl Workdir {
    /// A fresh empty directory named after `kind`.
    pub fn new(kind: &str) -> Workdir {
        Workdir {
            path: harness::temp_dir(kind),
        }
    }

    /// `name` inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("crash test files kept in {}", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// One run of the `crash_client` program, its stdout and stderr appended
/// to an output file. Killed on drop.
#[derive(Debug)]
pub struct ClientProcess {
    child: Child,
    what: String,
    output: PathBuf,
}

impl ClientProcess {
    /// Starts `binary` with `args`; `what` names it in failures.
    pub fn spawn(binary: &str, what: &str, output: &Path, args: &[String]) -> ClientProcess {
        let mut command = Command::new(binary);
        command.args(args);
        ClientProcess {
            child: harness::spawn_tied(command, output),
            what: what.to_owned(),
            output: output.to_owned(),
        }
    }

    /// SIGKILL, and reaps it. Fails if it had exited by itself already:
    /// the runs the test kills never end on their own.
    pub fn kill(&mut self) -> Result<(), String> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(format!(
                "{} exited by itself ({status}) before it was killed\n{}",
                self.what,
                self.output_tail()
            ));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Ok(())
    }

    /// Lets it run for `life`, then SIGKILL (and reaps it), as [`kill`]
    /// does; a run that killed itself with SIGKILL before (told to crash
    /// at a point of its own) counts as killed, and ends the wait early.
    /// Returns whether it had. Fails if it exited any other way.
    ///
    /// [`kill`]: ClientProcess::kill
    pub fn kill_after(&mut self, life: Duration) -> Result<bool, String> {
        let deadline = Instant::now() + life;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.signal() == Some(libc::SIGKILL) => return Ok(true),
                Ok(Some(_)) => return self.kill().map(|()| false),
                _ if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                // Not reaped yet, so the id is still its own even if it
                // died just now.
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return Ok(false);
                }
            }
        }
    }

    /// Waits for it to exit successfully within `limit`; kills it if it
    /// takes longer. Fails with its output otherwise.
    pub fn wait(&mut self, limit: Duration) -> Result<Duration, String> {
        let started = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(started.elapsed()),
                Ok(Some(status)) => {
                    return Err(format!(
                        "{} failed ({status})\n{}",
                        self.what,
                        self.output_tail()
                    ))
                }
                Ok(None) if started.elapsed() < limit => thread::sleep(Duration::from_millis(10)),
                Ok(None) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return Err(format!(
                        "{} did not finish within {limit:?}\n{}",
                        self.what,
                        self.output_tail()
                    ));
                }
                Err(e) => return Err(format!("cannot wait for {}: {e}", self.what)),
            }
        }
    }

    /// The last lines the child wrote to stdout or stderr (all runs that
    /// share its output file).
    pub fn output_tail(&self) -> String {
        let output = harness::read_log(&self.output);
        format!("--- output of {} ---\n{}", self.what, tail(&output, 40))
    }
}

impl Drop for ClientProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The whole lines of a log (a last line without its newline is still
/// being written, or was cut by a kill).
pub fn lines(path: &Path) -> Vec<String> {
    let text = harness::read_log(path);
    let whole = text.rfind('\n').map_or("", |end| &text[..end]);
    whole.lines().map(str::to_owned).collect()
}

/// Appends `line` to the log at `path` (a marker of the harness's own,
/// written while no child writes to it).
pub fn append_line(path: &Path, line: &str) {
    let appended = File::options()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
    if let Err(e) = appended {
        panic!("cannot append to {}: {e}", path.display());
    }
}

/// Polls `done` every 20 ms until it holds (true) or `limit` has passed
/// (false).
pub fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let give_up = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= give_up {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the log at `path` has had no new line for `quiet`, at most
/// `limit` in all; returns its lines then.
pub fn settled_lines(path: &Path, quiet: Duration, limit: Duration) -> Vec<String> {
    let give_up = Instant::now() + limit;
    let mut last = lines(path);
    let mut since = Instant::now();
    while Instant::now() < give_up {
        thread::sleep(Duration::from_millis(20));
        let now = lines(path);
        if now.len() != last.len() {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            break;
        }
    }
    last
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
