//! Bounded waiting for the async tests, on async-io timers, which run
//! under any executor (tokio, async-std, smol): every wait in a test has a
//! limit, so a bug fails the test instead of hanging it. Also the tokio
//! `block_on` every suite uses.

use std::future::Future;
use std::time::Duration;

/// `Err(())` when `f` did not finish within `limit`. `f` is polled first,
/// so a zero limit still gives it one poll.
pub async fn timeout<F: Future>(limit: Duration, f: F) -> Result<F::Output, ()> {
    futures_lite::future::or(async { Ok(f.await) }, async {
        async_io::Timer::after(limit).await;
        Err(())
    })
    .await
}

/// `f`'s output, or a panic naming `what` once `limit` has passed.
pub async fn within<F: Future>(limit: Duration, what: &str, f: F) -> F::Output {
    match timeout(limit, f).await {
        Ok(v) => v,
        Err(()) => panic!("{what}: nothing within {limit:?}"),
    }
}

/// Sleeps on an async-io timer.
pub async fn sleep(d: Duration) {
    async_io::Timer::after(d).await;
}

/// `block_on` for the tokio tests: a fresh multi-thread runtime (two
/// workers, as on the CI machines) per test, as `#[tokio::test]` would.
pub fn block_on_tokio<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(f)
}
