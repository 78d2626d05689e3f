//! What goes to stderr besides the tool's own messages: the library's
//! `tracing` logs (`-d/--debug`, or `RUST_LOG`) and bench's progress bars,
//! kept from garbling each other: a log line clears the bars, is written,
//! and the bars are drawn again below it.
//!
//! Standard output carries only results (payloads, the bench table), so
//! neither of these ever touches it.

use indicatif::{MultiProgress, ProgressDrawTarget};
use std::io::{self, IsTerminal, Write};
use std::sync::OnceLock;
use tracing_subscriber::EnvFilter;

/// What `-d` shows when `RUST_LOG` is not set: everything the mqtt crates
/// log down to debug, and warnings from the rest.
const DEBUG_FILTER: &str = "warn,mqtt=debug,mqtt_client=debug,mqtt_tokio=debug,mqtt_proto=debug";

/// The progress bars on stderr. Hidden when stderr is not a terminal (a
/// pipe, a file, a test harness), so that nothing but plain lines reach it
/// then.
pub(crate) fn progress() -> &'static MultiProgress {
    static PROGRESS: OnceLock<MultiProgress> = OnceLock::new();
    PROGRESS.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
}

/// Leaves the progress bars as last drawn and draws no more, so that what
/// is printed next (the bench table on stdout, late log lines) goes below
/// them rather than being cleared with them.
pub(crate) fn progress_done() {
    progress().set_draw_target(ProgressDrawTarget::hidden());
}

/// Prints the library's logs to stderr when asked for: with `RUST_LOG` set
/// its filter decides (with or without `-d`); otherwise `-d` shows
/// [`DEBUG_FILTER`] and no flag shows nothing, since the tool already says
/// what matters (failures, reconnects) in its own words.
pub(crate) fn init_logging(debug: bool) {
    let spec = match std::env::var(EnvFilter::DEFAULT_ENV) {
        Ok(spec) if !spec.trim().is_empty() => spec,
        _ if debug => DEBUG_FILTER.to_owned(),
        _ => return,
    };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::builder().parse_lossy(spec))
        .with_writer(|| AroundProgress)
        .with_ansi(io::stderr().is_terminal())
        .init();
}

/// Stderr, written with the progress bars out of the way.
#[derive(Debug)]
struct AroundProgress;

impl Write for AroundProgress {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        progress().suspend(|| io::stderr().write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        // One log line in one piece, not split around a redraw.
        progress().suspend(|| io::stderr().write_all(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}
