//! The client process the crash test (`tests/crash.rs`) starts and kills
//! with SIGKILL: one role per run, on the runtime the test picks, writing
//! what it did as lines to a log that the test reads back. Every line is
//! written with one `write` call before the step it records goes on, so a
//! kill at any moment leaves the log true: a line may be missing for the
//! last step, never present for a step not taken.
//!
//! Roles:
//! - `publish`: publishes numbered QoS 1 or 2 messages through a session
//!   store until killed; logs `publishing <n> <q>` before each publish and
//!   `stored <n> <q>` once the store has it.
//! - `finish`: publishes nothing; lets the messages restored from the store
//!   complete and disconnects gracefully, failing if they did not finish
//!   within the disconnect timeout.
//! - `feed`: publishes `0..count` at QoS 2 at a steady pace, without a
//!   store, and waits until each is complete.
//! - `subscribe`: an ordinary subscription; logs `<q> <n>` per message.
//! - `ack`: a manual-ack subscription through a session store; logs `<n>`
//!   and then acknowledges; with `--expect`, stops once every number below
//!   it is in its log.
//! - `auto`: an automatic QoS 2 subscription through a session store,
//!   with a buffer of `--capacity` messages; logs `<n>` per message, then
//!   works on it for `--work-ms`; with `--die-after`, sends itself SIGKILL
//!   right after logging that many; with `--quiet-ms`, stops once no
//!   message came for that long.
//!
//! A failure is reported on stderr with exit code 1; bad arguments exit 2.

mod args;
mod line_log;
mod publisher;
mod subscriber;

use args::{Args, Role, RuntimeKind};
use mqtt_client::{Options, Runtime};
use std::process::ExitCode;
use std::time::Duration;

/// How long a graceful disconnect may wait for messages in flight.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(20);

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(why) => {
            eprintln!("crash_client: {why}");
            return ExitCode::from(2);
        }
    };
    let outcome = match args.runtime {
        RuntimeKind::Tokio => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot build a tokio runtime: {e}"))
            .and_then(|rt| rt.block_on(run::<mqtt_tokio::Tokio>(&args))),
        RuntimeKind::AsyncStd => async_std::task::block_on(run::<mqtt_async_std::AsyncStd>(&args)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("crash_client {:?} on {:?}: {why}", args.role, args.runtime);
            ExitCode::from(1)
        }
    }
}

async fn run<R: Runtime>(args: &Args) -> Result<(), String> {
    match args.role {
        Role::Publish => publisher::publish::<R>(args).await,
        Role::Finish => publisher::finish::<R>(args).await,
        Role::Feed => publisher::feed::<R>(args).await,
        Role::Subscribe => subscriber::subscribe::<R>(args).await,
        Role::Ack => subscriber::ack::<R>(args).await,
        Role::Auto => subscriber::auto::<R>(args).await,
    }
}

/// The options every role starts from: the broker, the client id, a
/// persistent session unless `clean`, quick reconnects, bounded waits, and
/// the store when one is given.
fn options(args: &Args, clean: bool) -> Options {
    let options = Options::new("127.0.0.1", args.port)
        .client_id(args.client_id.as_str())
        .clean_session(clean)
        .backoff(Duration::from_millis(10), Duration::from_millis(200))
        .connect_timeout(Duration::from_secs(3))
        .disconnect_timeout(DISCONNECT_TIMEOUT);
    match &args.store {
        Some(dir) => options
            .store_dir(dir)
            .store_durability(args.durability.into()),
        None => options,
    }
}

/// Sleeps on the client's own runtime.
async fn sleep<R: Runtime>(d: Duration) {
    R::sleep_until(R::now() + d).await;
}
