//! The scenario suites' smol flavour: the client as a smol application runs
//! it, without async-std's executor.
//!
//! A smol application uses `mqtt_async_std` as it is (TCP on async-net,
//! timers on async-io) and spawns each client's driver on smol through
//! [`Options::spawner`]. [`Smol`] is that runtime with a guard: its own
//! `spawn` panics, so a client whose driver went through the runtime's
//! default spawner (async-std's executor, in this crate's build) fails the
//! test at once instead of quietly starting async-std.
//!
//! The suites are generic over the runtime; they open clients with
//! [`connect`] and run their own tasks with [`spawn`]. For [`Smol`] these
//! set the spawner and use smol's executor; for every other runtime they are
//! `Client::connect` and `Runtime::spawn`, unchanged.

use mqtt_async_std::AsyncStd;
use mqtt_client::{BoxFuture, Client, Error, Options, Runtime};
use std::any::TypeId;
use std::io;
use std::time::{Duration, Instant};

/// What [`Smol`]'s `spawn` panics with.
pub const REFUSED: &str =
    "a task was spawned through the smol suite's Runtime::spawn: under smol the driver must be \
     spawned through Options::spawner (see mqtt_integration_tests::on_smol)";

/// `mqtt_async_std::AsyncStd` (its TCP stream, timers and clock) for smol
/// applications, whose `spawn` panics with [`REFUSED`]: every driver must
/// come through [`Options::spawner`].
#[derive(Debug, Clone, Copy)]
pub struct Smol;

impl Runtime for Smol {
    type Stream = <AsyncStd as Runtime>::Stream;

    fn connect(host: String, port: u16, timeout: Duration) -> BoxFuture<io::Result<Self::Stream>> {
        AsyncStd::connect(host, port, timeout)
    }

    fn sleep_until(deadline: Instant) -> BoxFuture<()> {
        AsyncStd::sleep_until(deadline)
    }

    fn now() -> Instant {
        AsyncStd::now()
    }

    fn spawn(_task: BoxFuture<()>) {
        panic!("{REFUSED}");
    }
}

/// The spawner a smol application sets: the driver on smol's global
/// executor (threads named `smol-N`).
pub fn spawner(task: BoxFuture<()>) {
    smol::spawn(task).detach();
}

fn is_smol<R: Runtime>() -> bool {
    TypeId::of::<R>() == TypeId::of::<Smol>()
}

/// `options` as a client on runtime `R` is given them in the suites: with
/// [`spawner`] for [`Smol`], unchanged otherwise.
pub fn options<R: Runtime>(options: Options) -> Options {
    if is_smol::<R>() {
        options.spawner(spawner)
    } else {
        options
    }
}

/// `Client::<R>::connect`, with [`options`] applied.
pub async fn connect<R: Runtime>(options: Options) -> Result<Client<R>, Error> {
    Client::<R>::connect(self::options::<R>(options)).await
}

/// Runs a task of the test's own (not a client's driver) on runtime `R`:
/// on smol's executor for [`Smol`], through `R::spawn` otherwise.
pub fn spawn<R: Runtime>(task: BoxFuture<()>) {
    if is_smol::<R>() {
        spawner(task);
    } else {
        R::spawn(task);
    }
}

/// The names of this process's threads (Linux: `/proc/self/task/*/comm`,
/// at most 15 bytes each).
pub fn thread_names() -> Vec<String> {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim_end().to_owned())
        .collect()
}

/// The threads of async-std's executor in this process: async-std names
/// them `async-std/runtime` (over async-global-executor, whose own default
/// is `async-global-executor`), cut to 15 bytes by the kernel.
pub fn async_std_executor_threads() -> Vec<String> {
    thread_names()
        .into_iter()
        .filter(|name| name.starts_with("async-std") || name.starts_with("async-global"))
        .collect()
}
