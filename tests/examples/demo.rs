//! The demo of the client on both runtimes: two clients with persistent
//! sessions ride out a broker restart without losing a message, first on
//! tokio (`mqtt-tokio`), then on async-std (`mqtt-async-std`).
//!
//! The scenario is written once, generic over `R: mqtt_client::Runtime`, with
//! runtime-neutral tools only (`async-io` timers, `futures-lite`,
//! `async-channel`, `R::spawn`): `main` runs it on each runtime in turn,
//! each against its own private mosquitto.
//!
//! A subscriber (`clean_session(false)`, a fixed client id) takes `demo/#` at
//! QoS 2 and a publisher (`clean_session(false)`) sends messages at QoS 0, 1
//! and 2; every message received is printed. Then the broker is restarted
//! mid-stream (SIGTERM, so mosquitto saves its sessions): both clients'
//! Disconnected / Reconnecting / Connected events are printed as they
//! happen, and more QoS 1/2 messages are published while the publisher is
//! offline; their `publish` futures wait and complete after the reconnect.
//! At the end every QoS 1/2 message whose publish completed must have
//! arrived, QoS 2 exactly once; each runtime's run prints a summary and
//! gives up after 60 s. The demo exits 0 when both runs passed, or 1 saying
//! what went wrong.
//!
//! Run it with `./scripts/demo` (installs mosquitto when missing), or
//! `cargo run -p mqtt-integration-tests --example demo`: it starts a private
//! mosquitto (`persistence true`) on a free loopback port per runtime. With
//! `MQTT_URL=mqtt://host:port` both runs use that broker instead and, not
//! owning it, skip the restart (and remove their sessions at the end).

use async_io::Timer;
use futures_lite::future;
use mqtt_async_std::AsyncStd;
use mqtt_client::{BoxFuture, Client, ConnectionEvent, Options, QoS, Runtime, Subscription};
use mqtt_integration_tests::broker::Mosquitto;
use mqtt_tokio::Tokio;
use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::{mpsc, Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Each runtime's run must finish within this.
const DEADLINE: Duration = Duration::from_secs(60);
/// How long the subscriber may take to receive what was published.
const DELIVERY_WAIT: Duration = Duration::from_secs(15);
/// How long to keep listening for duplicates once everything arrived.
const SETTLE: Duration = Duration::from_millis(500);
/// The private broker's config, on top of the harness's.
/// - `persistence true`: the restart keeps the sessions.
/// - `max_inflight_messages 20` (mosquitto's default) undoes the harness's
///   0 (unlimited): with 0, mosquitto 2.0.11 files the in-flight messages
///   it restores from its database as queued ones, so a QoS 2 message whose
///   PUBREL it had sent comes back after a restart as a new PUBLISH (DUP,
///   same id) instead of the PUBREL: a duplicate the receiver cannot catch
///   (it answered the PUBREL, so the id is new again [MQTT-4.3.3-2]), and a
///   broker bug [MQTT-4.3.3-1] that is not what this demo is about.
/// - `set_tcp_nodelay true`: acks sent back to back would otherwise wait
///   for the client's delayed ACKs (40 ms each).
const BROKER_CONFIG: &str = "persistence true\nmax_inflight_messages 20\nset_tcp_nodelay true";
/// One message of the stream every this long.
const STREAM_INTERVAL: Duration = Duration::from_millis(25);
/// The stream's last message number, unless it must go on until the
/// publisher is back (then at most STREAM_CAP).
const STREAM_END: u32 = 16;
/// Past this many messages the publisher is taken to be gone for good.
const STREAM_CAP: u32 = 1000;
/// How long the streams may take to end once the clients disconnected.
const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// How often to look whether every message arrived.
const POLL: Duration = Duration::from_millis(20);

type Error = Box<dyn std::error::Error + Send + Sync>;

/// When the current runtime's run started: the transcript's clock.
static START: Mutex<Option<Instant>> = Mutex::new(None);
/// The current run's private broker, when it has one: here so that its log
/// can be saved whichever way the run fails.
static BROKER: Mutex<Option<Mosquitto>> = Mutex::new(None);
/// The step in progress, named when the deadline passes.
static STEP: Mutex<&str> = Mutex::new("starting");

/// Prints one line of the transcript with the time since the run started.
macro_rules! say {
    ($($arg:tt)*) => {{
        let t = lock(&START).get_or_insert_with(Instant::now).elapsed().as_secs_f64();
        println!("[{t:6.2}s] {}", format_args!($($arg)*));
    }};
}

/// Locks, poisoned or not: a panicking helper must not hide the report.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn step(name: &'static str) {
    *lock(&STEP) = name;
}

fn main() -> ExitCode {
    let url = std::env::var("MQTT_URL").ok().filter(|u| !u.is_empty());
    let tokio_passed = demo_on::<Tokio>("tokio", url.clone(), |demo| {
        let runtime = tokio::runtime::Runtime::new()
            .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
        let outcome = runtime.block_on(demo);
        // Leave no client task behind.
        runtime.shutdown_timeout(Duration::from_secs(10));
        outcome
    });
    let async_std_passed = demo_on::<AsyncStd>("async-std", url, async_std::task::block_on);
    let verdict = |passed: bool| if passed { "passed" } else { "FAILED" };
    println!(
        "== tokio: {}, async-std: {} ==",
        verdict(tokio_passed),
        verdict(async_std_passed)
    );
    if tokio_passed && async_std_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs the scenario on runtime `R` through `block_on`, within DEADLINE;
/// says why it failed, and saves the broker's log, if it did.
fn demo_on<R: Runtime>(
    label: &'static str,
    url: Option<String>,
    block_on: impl FnOnce(BoxFuture<Result<(), String>>) -> Result<(), String>,
) -> bool {
    println!("== {label} ==");
    *lock(&START) = Some(Instant::now());
    step("starting");
    // Boxed: async-std's block_on keeps copies of the future on the stack,
    // which a debug build's stack may not hold.
    let outcome = block_on(Box::pin(async move {
        match timeout(DEADLINE, scenario::<R>(label, url)).await {
            Some(outcome) => outcome.map_err(|e| e.to_string()),
            None => Err(format!(
                "not finished after {DEADLINE:?}, while {}",
                lock(&STEP)
            )),
        }
    }));
    let mosquitto = lock(&BROKER).take();
    let Err(why) = outcome else {
        return true;
    };
    eprintln!("demo FAILED on {label}: {why}");
    if let Some(m) = mosquitto {
        let path = std::env::temp_dir().join(format!("mqtt-{label}-demo-mosquitto.log"));
        match std::fs::write(&path, m.log()) {
            Ok(()) => eprintln!("the broker's log (every packet) is in {}", path.display()),
            Err(e) => eprintln!("could not save the broker's log to {}: {e}", path.display()),
        }
    }
    false
}

/// The demo itself, on runtime `R`; `label` names the runtime in client ids
/// and payloads.
async fn scenario<R: Runtime>(label: &str, url: Option<String>) -> Result<(), Error> {
    // A tag in every payload tells this run's messages from anybody else's.
    let run_tag = format!("{label}-{:04x}", std::process::id() & 0xffff);
    let subscriber_id = format!("mqtt-{label}-demo-sub");
    let publisher_id = format!("mqtt-{label}-demo-pub");
    let (options, broker_name) = match &url {
        Some(url) => {
            say!("using the broker at {url} (MQTT_URL)");
            (Options::from_url(url)?, url.clone())
        }
        None => {
            step("starting mosquitto");
            let port = blocking(|| {
                let m = Mosquitto::start(BROKER_CONFIG);
                let port = m.port();
                *lock(&BROKER) = Some(m);
                port
            })
            .await
            .map_err(|e| format!("could not start a private mosquitto: {e}"))?;
            say!("started a private mosquitto on 127.0.0.1:{port} (persistence true)");
            (Options::new("127.0.0.1", port), format!("127.0.0.1:{port}"))
        }
    };

    // Sessions left by an earlier run (on a shared broker) would replay old
    // messages: start both ids clean, then connect for real.
    step("connecting");
    for id in [&subscriber_id, &publisher_id] {
        let c = Client::<R>::connect(options.clone().client_id(id).clean_session(true))
            .await
            .map_err(|e| format!("cannot connect to {broker_name}: {e}"))?;
        c.disconnect().await?;
    }
    let persistent = |id: &str| {
        options
            .clone()
            .client_id(id)
            .clean_session(false)
            .backoff(Duration::from_millis(100), Duration::from_secs(2))
    };
    let subscriber = Client::<R>::connect(persistent(&subscriber_id))
        .await
        .map_err(|e| format!("the subscriber could not connect to {broker_name}: {e}"))?;
    let (mut sub_link, sub_events) = watch_events("subscriber", &subscriber);
    say!("subscriber connected as {subscriber_id} (clean_session false)");
    let subscription = subscriber.subscribe("demo/#", QoS::ExactlyOnce).await?;
    say!(
        "subscriber subscribed to demo/# at QoS 2: granted {:?}",
        subscription.outcomes()
    );
    let publisher = Client::<R>::connect(persistent(&publisher_id))
        .await
        .map_err(|e| format!("the publisher could not connect to {broker_name}: {e}"))?;
    let (mut pub_link, pub_events) = watch_events("publisher", &publisher);
    say!("publisher connected as {publisher_id} (clean_session false)");
    let (received, receiver) = receive(subscription, run_tag.clone());

    let mut log = Sent::default();
    let payload = |n: u32| format!("{run_tag}:{n}");

    // 1. A few messages at every QoS, one after the other.
    step("publishing the first messages");
    let qos_cycle = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];
    for n in 1..=6 {
        let qos = qos_cycle[(n as usize - 1) % 3];
        publisher.publish(&topic(qos), payload(n), qos).await?;
        log.completed(n, qos);
        say!("published  #{n} to {} (QoS {})", topic(qos), qos as u8);
    }
    step("waiting for the first messages");
    wait_received(&received, &log, DELIVERY_WAIT).await?;

    // 2. A stream of QoS 1/2 messages, one every STREAM_INTERVAL, each
    // awaited in its own task; the broker restarts mid-stream, so some are
    // in flight when it goes and some are published while the publisher is
    // offline. The stream goes on until a few went out after the reconnect.
    step("streaming QoS 1/2 messages through the restart");
    if url.is_some() {
        say!("MQTT_URL is set: not my broker to restart, so streaming without a restart");
    }
    // What woke the loop up.
    enum Wake {
        Tick,
        Published(Completion),
        BrokerBack(Result<u16, String>),
    }
    let (completions, completed) = async_channel::unbounded::<Completion>();
    let mut in_flight = 0usize;
    let mut restart: Option<BoxFuture<Result<u16, String>>> = None;
    let mut restarted = false;
    let (mut n, mut offline, mut after) = (6, 0, 0);
    let mut sending = true;
    let mut next_tick = Instant::now();
    while sending || in_flight > 0 || restart.is_some() {
        let tick = async {
            if !sending {
                return future::pending().await;
            }
            Timer::at(next_tick).await;
            Wake::Tick
        };
        let published = async {
            match completed.recv().await {
                Ok(completion) => Wake::Published(completion),
                Err(_) => future::pending().await,
            }
        };
        let back = async {
            match restart.as_mut() {
                Some(restart) => Wake::BrokerBack(restart.await),
                None => future::pending().await,
            }
        };
        match future::or(published, future::or(back, tick)).await {
            Wake::Tick => {
                // A late tick fires at once and the next one comes a full
                // interval later (no burst to catch up).
                next_tick = (next_tick + STREAM_INTERVAL).max(Instant::now());
                n += 1;
                let qos = alternate(n);
                let link = pub_link.current();
                if !link.up {
                    offline += 1;
                    say!(
                        "publishing #{n} to {} (QoS {}) while the publisher is offline: it waits",
                        topic(qos),
                        qos as u8
                    );
                } else if link.reconnects > 0 {
                    after += 1;
                }
                let publisher = publisher.clone();
                let completions = completions.clone();
                let body = payload(n);
                R::spawn(Box::pin(async move {
                    let started = Instant::now();
                    let result = publisher.publish(&topic(qos), body, qos).await;
                    let _ = completions.try_send((n, qos, started.elapsed(), result));
                }));
                in_flight += 1;
                if n == 8 && url.is_none() {
                    say!("restarting the broker mid-stream (SIGTERM, then the same port again)");
                    restarted = true;
                    restart = Some(blocking(|| {
                        let mut slot = lock(&BROKER);
                        let m = slot.as_mut().expect("started above");
                        m.restart();
                        m.port()
                    }));
                }
                let restart_done = restart.is_none() && (!restarted || (offline > 0 && after >= 2));
                sending = n < STREAM_END || !restart_done;
                if n >= STREAM_CAP {
                    let why = format!("published {n} messages, the publisher is still not back");
                    return Err(why.into());
                }
            }
            Wake::Published((n, qos, took, result)) => {
                in_flight -= 1;
                match result {
                    Ok(()) => {
                        log.completed(n, qos);
                        say!(
                            "published  #{n} to {} (QoS {}), complete in {} ms",
                            topic(qos),
                            qos as u8,
                            took.as_millis()
                        );
                    }
                    Err(e) => {
                        say!("publish #{n} (QoS {}) FAILED: {e}", qos as u8);
                        log.failed.push(n);
                    }
                }
            }
            Wake::BrokerBack(back) => {
                restart = None;
                let port = back.map_err(|e| format!("the broker did not restart: {e}"))?;
                say!("the broker is back on 127.0.0.1:{port}");
            }
        }
    }
    if restarted {
        step("waiting for the subscriber to reconnect");
        sub_link.wait_for(|l| l.up && l.reconnects > 0).await?;
    }

    // 3. The check.
    step("waiting for every message to arrive");
    let arrived = wait_received(&received, &log, DELIVERY_WAIT).await;
    Timer::after(SETTLE).await;
    let summary = check(&received, &log);
    step("disconnecting");
    publisher.disconnect().await?;
    subscriber.disconnect().await?;
    // Once the handles are gone the message and event streams end: print
    // their last lines before going on.
    drop((publisher, subscriber));
    for (what, task) in [
        ("the subscription", receiver),
        ("the publisher's events", pub_events),
        ("the subscriber's events", sub_events),
    ] {
        timeout(CLOSE_WAIT, task.join())
            .await
            .ok_or_else(|| format!("{what} did not end within {CLOSE_WAIT:?} of disconnect"))??;
    }
    say!("both clients disconnected");
    if url.is_some() {
        for id in [&subscriber_id, &publisher_id] {
            let c = Client::<R>::connect(options.clone().client_id(id).clean_session(true)).await?;
            c.disconnect().await?;
        }
        say!("removed the run's two sessions from the broker");
    }
    say!("{}", summary.line);
    if let Some(problem) = summary.problem {
        return Err(problem.into());
    }
    arrived?;
    say!("demo passed");
    Ok(())
}

/// `fut`'s output, or `None` when `within` passed first.
async fn timeout<T>(within: Duration, fut: impl Future<Output = T>) -> Option<T> {
    future::or(async { Some(fut.await) }, async {
        Timer::after(within).await;
        None
    })
    .await
}

/// A task spawned on the runtime under test, to be joined.
#[derive(Debug)]
struct Task<T>(async_channel::Receiver<T>);

impl<T> Task<T> {
    fn spawn<R: Runtime>(task: impl Future<Output = T> + Send + 'static) -> Task<T>
    where
        T: Send + 'static,
    {
        let (tx, rx) = async_channel::bounded(1);
        R::spawn(Box::pin(async move {
            let _ = tx.try_send(task.await);
        }));
        Task(rx)
    }

    /// Its output, or an error if it panicked.
    async fn join(self) -> Result<T, Error> {
        self.0
            .recv()
            .await
            .map_err(|_| "a demo task panicked".into())
    }
}

/// Runs a blocking harness call (start or restart mosquitto) off the async
/// code, on one thread kept for the life of the process: the harness has the
/// kernel kill a broker when the thread that spawned it exits, so that
/// thread must outlive the broker. A panic (mosquitto missing, not starting)
/// comes back as its message.
fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> T + Send + 'static,
) -> BoxFuture<Result<T, String>> {
    type Job = Box<dyn FnOnce() + Send>;
    static JOBS: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let jobs = JOBS.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::spawn(move || rx.into_iter().for_each(|job| job()));
        Mutex::new(tx)
    });
    let (tx, rx) = async_channel::bounded(1);
    let job = move || {
        let _ = tx.try_send(panic::catch_unwind(AssertUnwindSafe(call)).map_err(panic_message));
    };
    let _ = lock(jobs).send(Box::new(job));
    Box::pin(async move {
        rx.recv()
            .await
            .unwrap_or_else(|_| Err("the broker thread is gone".into()))
    })
}

/// What a panic said.
fn panic_message(payload: Box<dyn Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "it panicked".into())
}

fn topic(qos: QoS) -> String {
    format!("demo/qos{}", qos as u8)
}

/// QoS 1 and 2 in turn.
fn alternate(n: u32) -> QoS {
    if n % 2 == 1 {
        QoS::AtLeastOnce
    } else {
        QoS::ExactlyOnce
    }
}

/// A streamed publish: number, QoS, how long it took, how it ended.
type Completion = (u32, QoS, Duration, Result<(), mqtt_client::Error>);

/// What the publisher sent, by message number.
#[derive(Debug, Default)]
struct Sent {
    completed: BTreeMap<u32, QoS>,
    failed: Vec<u32>,
}

impl Sent {
    fn completed(&mut self, n: u32, qos: QoS) {
        self.completed.insert(n, qos);
    }

    /// The QoS 1/2 messages that must arrive.
    fn guaranteed(&self) -> impl Iterator<Item = (u32, QoS)> + '_ {
        self.completed
            .iter()
            .filter(|(_, q)| **q != QoS::AtMostOnce)
            .map(|(n, q)| (*n, *q))
    }
}

/// What one client's events said so far.
#[derive(Debug, Clone, Copy)]
struct Link {
    /// Connected right now.
    up: bool,
    /// Reconnections so far.
    reconnects: u32,
}

/// Follows one client's [`Link`]: every change, in order, from its events.
#[derive(Debug)]
struct LinkWatch {
    latest: Link,
    changes: async_channel::Receiver<Link>,
}

impl LinkWatch {
    /// The link as of the last event seen.
    fn current(&mut self) -> Link {
        while let Ok(link) = self.changes.try_recv() {
            self.latest = link;
        }
        self.latest
    }

    /// Waits until the link is as `wanted`.
    async fn wait_for(&mut self, wanted: impl Fn(&Link) -> bool) -> Result<(), Error> {
        while !wanted(&self.current()) {
            self.latest = self
                .changes
                .recv()
                .await
                .map_err(|_| "the client's event stream ended")?;
        }
        Ok(())
    }
}

/// Prints the client's connection events as they come; the returned watch
/// follows whether it is connected.
fn watch_events<R: Runtime>(who: &'static str, client: &Client<R>) -> (LinkWatch, Task<()>) {
    let mut link = Link {
        up: true,
        reconnects: 0,
    };
    let (tx, changes) = async_channel::unbounded();
    let watch = LinkWatch {
        latest: link,
        changes,
    };
    let events = client.events();
    let task = Task::spawn::<R>(async move {
        // The stream ends once the client is closed.
        while let Ok(event) = events.recv().await {
            match event {
                // A new receiver first gets the current state: the first
                // connection, announced already.
                ConnectionEvent::Connected { .. } if link.up => continue,
                ConnectionEvent::Connected {
                    session_present, ..
                } => {
                    say!("{who:<10} event: Connected (session_present {session_present})");
                    link.up = true;
                    link.reconnects += 1;
                }
                ConnectionEvent::Disconnected { reason } => {
                    say!("{who:<10} event: Disconnected ({reason})");
                    link.up = false;
                }
                ConnectionEvent::Reconnecting { delay } => {
                    say!("{who:<10} event: Reconnecting in {} ms", delay.as_millis());
                    continue;
                }
                other => {
                    say!("{who:<10} event: {other:?}");
                    continue;
                }
            }
            let _ = tx.try_send(link);
        }
    });
    (watch, task)
}

/// Message number -> (QoS received, times received).
type Received = Arc<Mutex<BTreeMap<u32, (QoS, u32)>>>;

/// Prints and records every message of this run the subscriber gets.
fn receive<R: Runtime>(mut subscription: Subscription<R>, run_tag: String) -> (Received, Task<()>) {
    let received: Received = Arc::default();
    let record = received.clone();
    let task = Task::spawn::<R>(async move {
        while let Some(msg) = subscription.next().await {
            let payload = String::from_utf8_lossy(&msg.payload).into_owned();
            let n = payload
                .strip_prefix(&run_tag)
                .and_then(|rest| rest.strip_prefix(':'))
                .and_then(|n| n.parse::<u32>().ok());
            let Some(n) = n else {
                say!(
                    "received   {} {payload:?}: not from this run, ignored",
                    msg.topic
                );
                continue;
            };
            let count = {
                let mut map = lock(&record);
                let entry = map.entry(n).or_insert((msg.qos, 0));
                entry.1 += 1;
                entry.1
            };
            let again = if count > 1 {
                format!(", DUPLICATE (copy {count})")
            } else {
                String::new()
            };
            say!(
                "received   #{n} on {} (QoS {}){again}",
                msg.topic,
                msg.qos as u8
            );
        }
    });
    (received, task)
}

/// Waits until every message that must arrive did.
async fn wait_received(received: &Received, sent: &Sent, within: Duration) -> Result<(), Error> {
    let give_up = Instant::now() + within;
    loop {
        let missing = missing(received, sent);
        if missing.is_empty() {
            return Ok(());
        }
        if Instant::now() >= give_up {
            return Err(format!("not received within {within:?}: {missing:?}").into());
        }
        Timer::after(POLL).await;
    }
}

/// Numbers of the QoS 1/2 messages sent and not received.
fn missing(received: &Received, sent: &Sent) -> Vec<u32> {
    let map = lock(received);
    sent.guaranteed()
        .filter(|(n, _)| !map.contains_key(n))
        .map(|(n, _)| n)
        .collect()
}

struct Summary {
    line: String,
    problem: Option<String>,
}

fn check(received: &Received, sent: &Sent) -> Summary {
    let map = lock(received).clone();
    let guaranteed: Vec<(u32, QoS)> = sent.guaranteed().collect();
    let lost: Vec<u32> = guaranteed
        .iter()
        .filter(|(n, _)| !map.contains_key(n))
        .map(|(n, _)| *n)
        .collect();
    let got = guaranteed.len() - lost.len();
    let dup = |qos: QoS| -> Vec<u32> {
        guaranteed
            .iter()
            .filter(|(n, q)| *q == qos && map.get(n).is_some_and(|(_, c)| *c > 1))
            .map(|(n, _)| *n)
            .collect()
    };
    let (dup1, dup2) = (dup(QoS::AtLeastOnce), dup(QoS::ExactlyOnce));
    let qos0_sent = sent
        .completed
        .values()
        .filter(|q| **q == QoS::AtMostOnce)
        .count();
    let qos0_got = sent
        .completed
        .iter()
        .filter(|(n, q)| **q == QoS::AtMostOnce && map.contains_key(n))
        .count();
    let line = format!(
        "QoS 1/2: sent {}, received {got}, lost {}, duplicated QoS 2: {} \
         (QoS 1 duplicates, allowed: {}; QoS 0: {qos0_got} of {qos0_sent}, not checked)",
        guaranteed.len(),
        lost.len(),
        dup2.len(),
        dup1.len(),
    );
    let wrong_qos: Vec<u32> = guaranteed
        .iter()
        .filter(|(n, q)| map.get(n).is_some_and(|(got, _)| got != q))
        .map(|(n, _)| *n)
        .collect();
    let mut problems = Vec::new();
    if !wrong_qos.is_empty() {
        problems.push(format!("received at another QoS than sent: {wrong_qos:?}"));
    }
    if !sent.failed.is_empty() {
        problems.push(format!("publishes failed: {:?}", sent.failed));
    }
    if !lost.is_empty() {
        problems.push(format!("completed but never received: {lost:?}"));
    }
    if !dup2.is_empty() {
        problems.push(format!("QoS 2 received more than once: {dup2:?}"));
    }
    Summary {
        line,
        problem: (!problems.is_empty()).then(|| problems.join("; ")),
    }
}
