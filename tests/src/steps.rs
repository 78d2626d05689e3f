//! The steps the scenario suites are written in, runtime-neutral (nothing
//! here names tokio, async-std or smol): every wait bounded, every failure a
//! panic that says what did not happen.

use futures_lite::FutureExt;
use mqtt_client::{
    Client, ConnectionEvent, Events, Message, Options, QoS, Runtime, SubscribeOutcome, Subscription,
};
use std::future::Future;
use std::panic::{resume_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

pub use crate::wait::timeout;

/// Sleeps on an async-io timer (any executor).
pub async fn sleep(d: Duration) {
    async_io::Timer::after(d).await;
}

/// Lets other tasks run once.
pub async fn yield_now() {
    futures_lite::future::yield_now().await;
}

/// Runs `f` as a task of runtime `R` (through [`Runtime::spawn`], or
/// on smol's executor for the smol flavour: see
/// `crate::on_smol::spawn`); the returned future is
/// its output (a panic in the task is re-raised).
pub fn spawn<R, F>(f: F) -> impl Future<Output = F::Output>
where
    R: Runtime,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = async_channel::bounded(1);
    crate::on_smol::spawn::<R>(Box::pin(async move {
        let out = AssertUnwindSafe(f).catch_unwind().await;
        let _ = tx.try_send(out);
    }));
    async move {
        match rx.recv().await {
            Ok(Ok(v)) => v,
            Ok(Err(panic)) => resume_unwind(panic),
            Err(_) => panic!("a spawned task was dropped before it finished"),
        }
    }
}

/// Runs blocking `f` (e.g. restarting a broker) on a thread of its own,
/// off the async workers.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = async_channel::bounded(1);
    std::thread::spawn(move || {
        let _ = tx.try_send(std::panic::catch_unwind(AssertUnwindSafe(f)));
    });
    match rx.recv().await {
        Ok(Ok(v)) => v,
        Ok(Err(panic)) => resume_unwind(panic),
        Err(_) => panic!("a blocking thread ended without an answer"),
    }
}

/// The bound for one thing that should happen promptly on loopback.
pub const STEP: Duration = Duration::from_secs(5);
/// How long "nothing more arrives" is watched for.
pub const QUIET: Duration = Duration::from_millis(300);

pub async fn within<F: Future>(limit: Duration, what: &str, f: F) -> F::Output {
    match timeout(limit, f).await {
        Ok(v) => v,
        Err(()) => panic!("timed out after {limit:?}: {what}"),
    }
}

/// Options for `broker` with a fast reconnect, so that tests that break
/// connections do not wait for the default backoff.
pub fn options(port: u16) -> Options {
    Options::new("127.0.0.1", port)
        .backoff(Duration::from_millis(50), Duration::from_millis(500))
        .connect_timeout(Duration::from_secs(3))
}

pub async fn connect<R: Runtime>(options: Options) -> Client<R> {
    let connecting = crate::on_smol::connect::<R>(options);
    match within(STEP, "Client::connect", connecting).await {
        Ok(client) => client,
        Err(e) => panic!("Client::connect failed: {e}"),
    }
}

pub async fn subscribe<R>(client: &Client<R>, filter: &str, qos: QoS) -> Subscription<R> {
    let sub = within(STEP, "subscribe", client.subscribe(filter, qos))
        .await
        .unwrap_or_else(|e| panic!("subscribe {filter:?}: {e}"));
    assert_eq!(sub.outcomes(), [SubscribeOutcome::Granted(qos)], "{filter}");
    sub
}

pub async fn publish<R>(
    client: &Client<R>,
    topic: &str,
    payload: impl Into<bytes::Bytes>,
    qos: QoS,
) {
    within(STEP, "publish", client.publish(topic, payload, qos))
        .await
        .unwrap_or_else(|e| panic!("publish to {topic:?}: {e}"));
}

pub async fn recv<R>(sub: &mut Subscription<R>, what: &str) -> Message {
    match within(STEP, what, sub.next()).await {
        Some(m) => m,
        None => panic!("the subscription ended while waiting for {what}"),
    }
}

/// Asserts that nothing arrives on `sub` for `wait`.
pub async fn expect_silence<R>(sub: &mut Subscription<R>, wait: Duration, what: &str) {
    if let Ok(m) = timeout(wait, sub.next()).await {
        panic!("{what}: expected nothing, got {m:?}");
    }
}

pub async fn disconnect<R>(client: &Client<R>) {
    within(STEP, "disconnect", client.disconnect())
        .await
        .unwrap_or_else(|e| panic!("disconnect: {e}"));
}

/// The state a connected client reports: only whether the session
/// was present matters here (the server is the test's one broker).
pub fn connected(session_present: bool) -> bool {
    session_present
}

/// `client.events()`, once the new receiver told the current state
/// first, as it must: the latest Connected/Disconnected, here `state`.
/// Awaiting it also means the receiver is registered with the driver
/// before the caller goes on to break something.
pub async fn events<R>(client: &Client<R>, session_present: bool) -> Events {
    let events = client.events();
    let first = within(
        STEP,
        "the current state on a new events() receiver",
        events.recv(),
    )
    .await;
    assert!(
        matches!(&first, Ok(ConnectionEvent::Connected { session_present: sp, .. }) if *sp == session_present),
        "a new events() receiver first gets the latest Connected/Disconnected \
         (Connected, session present {session_present}); got {first:?}"
    );
    events
}

/// The first event matching `pred` within `limit` (skipping others).
pub async fn wait_event(
    events: &Events,
    limit: Duration,
    what: &str,
    pred: impl Fn(&ConnectionEvent) -> bool,
) -> ConnectionEvent {
    let give_up = Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let left = give_up.saturating_duration_since(Instant::now());
        match timeout(left, events.recv()).await {
            Ok(Ok(event)) if pred(&event) => return event,
            Ok(Ok(event)) => seen.push(event),
            Ok(Err(_)) => {
                panic!("event stream closed while waiting for {what}; saw {seen:?}")
            }
            Err(()) => panic!("no {what} within {limit:?}; saw {seen:?}"),
        }
    }
}

pub fn is_connected(e: &ConnectionEvent) -> bool {
    matches!(e, ConnectionEvent::Connected { .. })
}

pub fn is_disconnected(e: &ConnectionEvent) -> bool {
    matches!(e, ConnectionEvent::Disconnected { .. })
}

/// Events already queued on `events`, without waiting.
pub fn drain_events(events: &Events) -> Vec<ConnectionEvent> {
    let mut out = Vec::new();
    while let Some(e) = events.try_recv() {
        out.push(e);
    }
    out
}
