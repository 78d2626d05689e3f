//! The demo of the tokio client (`mqtt-tokio`): two clients with persistent
//! sessions ride out a broker restart without losing a message.
//!
//! A subscriber (`clean_session(false)`, a fixed client id) takes `demo/#` at
//! QoS 2 and a publisher (`clean_session(false)`) sends messages at QoS 0, 1
//! and 2; every message received is printed. Then the broker is restarted
//! mid-stream (SIGTERM, so mosquitto saves its sessions): both clients'
//! Disconnected / Reconnecting / Connected events are printed as they
//! happen, and more QoS 1/2 messages are published while the publisher is
//! offline; their `publish` futures wait and complete after the reconnect.
//! At the end every QoS 1/2 message whose publish completed must have
//! arrived, QoS 2 exactly once; the demo prints a summary and exits 0, or
//! exits 1 saying what went wrong. It gives up after 60 s.
//!
//! Run it with `./scripts/demo` (installs mosquitto when missing), or
//! `cargo run -p mqtt-integration-tests --example demo`: it starts a private
//! mosquitto (`persistence true`) on a free loopback port. With
//! `MQTT_URL=mqtt://host:port` it uses that broker instead and, not owning
//! it, skips the restart (and removes its two sessions at the end).

use mqtt_integration_tests::broker::Mosquitto;
use mqtt_tokio::{Client, ConnectionEvent, Options, QoS, Subscription};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::MissedTickBehavior;

/// The whole demo must finish within this.
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
const SUBSCRIBER_ID: &str = "mqtt-tokio-demo-sub";
const PUBLISHER_ID: &str = "mqtt-tokio-demo-pub";

type Error = Box<dyn std::error::Error + Send + Sync>;

static START: OnceLock<Instant> = OnceLock::new();
/// The private broker, when the demo runs one: here so that its log can be
/// saved whichever way the demo fails.
static BROKER: Mutex<Option<Mosquitto>> = Mutex::new(None);
/// The step in progress, named when the deadline passes.
static STEP: Mutex<&str> = Mutex::new("starting");

/// Prints one line of the transcript with the elapsed time.
macro_rules! say {
    ($($arg:tt)*) => {{
        let t = START.get_or_init(Instant::now).elapsed().as_secs_f64();
        println!("[{t:6.2}s] {}", format_args!($($arg)*));
    }};
}

fn broker() -> MutexGuard<'static, Option<Mosquitto>> {
    BROKER.lock().unwrap_or_else(|e| e.into_inner())
}

fn step(name: &'static str) {
    *STEP.lock().unwrap_or_else(|e| e.into_inner()) = name;
}

fn main() -> ExitCode {
    START.get_or_init(Instant::now);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("demo FAILED: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async { tokio::time::timeout(DEADLINE, run()).await });
    // Leave no client task or broker restart behind.
    runtime.shutdown_timeout(Duration::from_secs(10));
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => {
            let step = *STEP.lock().unwrap_or_else(|e| e.into_inner());
            Some(format!("not finished after {DEADLINE:?}, while {step}"))
        }
    };
    let mosquitto = broker().take();
    let Some(why) = failure else {
        return ExitCode::SUCCESS;
    };
    eprintln!("demo FAILED: {why}");
    if let Some(m) = mosquitto {
        let path = std::env::temp_dir().join("mqtt-tokio-demo-mosquitto.log");
        match std::fs::write(&path, m.log()) {
            Ok(()) => eprintln!("the broker's log (every packet) is in {}", path.display()),
            Err(e) => eprintln!("could not save the broker's log to {}: {e}", path.display()),
        }
    }
    ExitCode::FAILURE
}

async fn run() -> Result<(), Error> {
    // A tag in every payload tells this run's messages from anybody else's.
    let run_tag = format!("{:04x}", std::process::id() & 0xffff);
    let url = std::env::var("MQTT_URL").ok().filter(|u| !u.is_empty());
    let (options, broker_name) = match &url {
        Some(url) => {
            say!("using the broker at {url} (MQTT_URL)");
            (Options::from_url(url)?, url.clone())
        }
        None => {
            step("starting mosquitto");
            let port = tokio::task::spawn_blocking(|| {
                let m = Mosquitto::start(BROKER_CONFIG);
                let port = m.port();
                *broker() = Some(m);
                port
            })
            .await
            .map_err(|e| format!("could not start a private mosquitto: {}", panic_message(e)))?;
            say!("started a private mosquitto on 127.0.0.1:{port} (persistence true)");
            (Options::new("127.0.0.1", port), format!("127.0.0.1:{port}"))
        }
    };

    // Sessions left by an earlier run (on a shared broker) would replay old
    // messages: start both ids clean, then connect for real.
    step("connecting");
    for id in [SUBSCRIBER_ID, PUBLISHER_ID] {
        let c = Client::connect(options.clone().client_id(id).clean_session(true))
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
    let subscriber = Client::connect(persistent(SUBSCRIBER_ID))
        .await
        .map_err(|e| format!("the subscriber could not connect to {broker_name}: {e}"))?;
    let (sub_link, sub_events) = watch_events("subscriber", &subscriber);
    say!("subscriber connected as {SUBSCRIBER_ID} (clean_session false)");
    let subscription = subscriber.subscribe("demo/#", QoS::ExactlyOnce).await?;
    say!(
        "subscriber subscribed to demo/# at QoS 2: granted {:?}",
        subscription.outcomes()
    );
    let publisher = Client::connect(persistent(PUBLISHER_ID))
        .await
        .map_err(|e| format!("the publisher could not connect to {broker_name}: {e}"))?;
    let (pub_link, pub_events) = watch_events("publisher", &publisher);
    say!("publisher connected as {PUBLISHER_ID} (clean_session false)");
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
    let mut pending: JoinSet<Completion> = JoinSet::new();
    let mut restart: Option<JoinHandle<u16>> = None;
    let mut restarted = false;
    let (mut n, mut offline, mut after) = (6, 0, 0);
    let mut sending = true;
    let mut ticker = tokio::time::interval(STREAM_INTERVAL);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    while sending || !pending.is_empty() || restart.is_some() {
        tokio::select! {
            _ = ticker.tick(), if sending => {
                n += 1;
                let qos = alternate(n);
                let link = pub_link.borrow().clone();
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
                let body = payload(n);
                pending.spawn(async move {
                    let started = Instant::now();
                    let result = publisher.publish(&topic(qos), body, qos).await;
                    (n, qos, started.elapsed(), result)
                });
                if n == 8 && url.is_none() {
                    say!("restarting the broker mid-stream (SIGTERM, then the same port again)");
                    restarted = true;
                    restart = Some(tokio::task::spawn_blocking(|| {
                        let mut slot = broker();
                        let m = slot.as_mut().expect("started above");
                        m.restart();
                        m.port()
                    }));
                }
                let restart_done =
                    restart.is_none() && (!restarted || (offline > 0 && after >= 2));
                sending = n < STREAM_END || !restart_done;
                if n >= STREAM_CAP {
                    let why = format!("published {n} messages, the publisher is still not back");
                    return Err(why.into());
                }
            }
            Some(joined) = pending.join_next(), if !pending.is_empty() => {
                let (n, qos, took, result) = joined?;
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
            back = async { restart.as_mut().expect("guarded").await }, if restart.is_some() => {
                restart = None;
                let port = back
                    .map_err(|e| format!("the broker did not restart: {}", panic_message(e)))?;
                say!("the broker is back on 127.0.0.1:{port}");
            }
        }
    }
    if restarted {
        step("waiting for the subscriber to reconnect");
        sub_link
            .clone()
            .wait_for(|l| l.up && l.reconnects > 0)
            .await
            .map_err(|_| "the subscriber's event stream ended")?;
    }

    // 3. The check.
    step("waiting for every message to arrive");
    let arrived = wait_received(&received, &log, DELIVERY_WAIT).await;
    tokio::time::sleep(SETTLE).await;
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
        tokio::time::timeout(CLOSE_WAIT, task)
            .await
            .map_err(|_| format!("{what} did not end within {CLOSE_WAIT:?} of disconnect"))??;
    }
    say!("both clients disconnected");
    if url.is_some() {
        for id in [SUBSCRIBER_ID, PUBLISHER_ID] {
            let c = Client::connect(options.clone().client_id(id).clean_session(true)).await?;
            c.disconnect().await?;
        }
        say!("removed the demo's two sessions from the broker");
    }
    say!("{}", summary.line);
    if let Some(problem) = summary.problem {
        return Err(problem.into());
    }
    arrived?;
    say!("demo passed");
    Ok(())
}

/// What a panicking harness call (mosquitto missing, not starting) said.
fn panic_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "it panicked".into()),
        Err(e) => e.to_string(),
    }
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
type Completion = (u32, QoS, Duration, Result<(), mqtt_tokio::Error>);

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
#[derive(Debug, Clone, Default)]
struct Link {
    /// Connected right now.
    up: bool,
    /// Reconnections so far.
    reconnects: u32,
}

/// Prints the client's connection events as they come; the returned watch
/// follows whether it is connected.
fn watch_events(who: &'static str, client: &Client) -> (watch::Receiver<Link>, JoinHandle<()>) {
    let (tx, rx) = watch::channel(Link {
        up: true,
        reconnects: 0,
    });
    let events = client.events();
    let task = tokio::spawn(async move {
        loop {
            match events.recv().await {
                // The first connection's own event may or may not reach a
                // receiver made after `connect` returned; it was announced
                // already, so skip it.
                Ok(ConnectionEvent::Connected { .. }) if tx.borrow().up => {}
                Ok(ConnectionEvent::Connected { session_present }) => {
                    say!("{who:<10} event: Connected (session_present {session_present})");
                    tx.send_modify(|l| {
                        l.up = true;
                        l.reconnects += 1;
                    });
                }
                Ok(ConnectionEvent::Disconnected { reason }) => {
                    say!("{who:<10} event: Disconnected ({reason})");
                    tx.send_modify(|l| l.up = false);
                }
                Ok(ConnectionEvent::Reconnecting { delay }) => {
                    say!("{who:<10} event: Reconnecting in {} ms", delay.as_millis());
                }
                Ok(other) => say!("{who:<10} event: {other:?}"),
                // The client is closed.
                Err(_) => return,
            }
        }
    });
    (rx, task)
}

/// Message number -> (QoS received, times received).
type Received = Arc<Mutex<BTreeMap<u32, (QoS, u32)>>>;

/// Prints and records every message of this run the subscriber gets.
fn receive(mut subscription: Subscription, run_tag: String) -> (Received, JoinHandle<()>) {
    let received: Received = Arc::default();
    let record = received.clone();
    let task = tokio::spawn(async move {
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
                let mut map = record.lock().unwrap_or_else(|e| e.into_inner());
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
    let give_up = tokio::time::Instant::now() + within;
    loop {
        let missing = missing(received, sent);
        if missing.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= give_up {
            return Err(format!("not received within {within:?}: {missing:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Numbers of the QoS 1/2 messages sent and not received.
fn missing(received: &Received, sent: &Sent) -> Vec<u32> {
    let map = received.lock().unwrap_or_else(|e| e.into_inner());
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
    let map = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
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
