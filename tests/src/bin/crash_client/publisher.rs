//! The publishing roles: `publish` (killed by the test), `finish` (the
//! graceful last run of the same session) and `feed` (the steady source
//! of the subscriber-kill scenario).

use crate::args::Args;
use crate::line_log::LineLog;
use crate::{options, sleep, DISCONNECT_TIMEOUT};
use mqtt_client::{Client, QoS, Runtime};
use std::time::{Duration, Instant};

/// Messages published back to back before waiting for the store.
const BURST: usize = 10;
/// The pause after each burst, which keeps the pace moderate: a run of a
/// few hundred milliseconds stores tens to hundreds of messages.
const PAUSE: Duration = Duration::from_millis(10);
/// Where `publish` sends QoS 2 and QoS 1 messages: the subscriber tells
/// them apart by the last level, `q2` or `q1`.
const TOPIC_Q2: &str = "crash/p/q2";
const TOPIC_Q1: &str = "crash/p/q1";
/// Where `feed` publishes.
pub(crate) const FEED_TOPIC: &str = "crash/feed";

/// Publishes numbered messages until killed. The numbers go on from the
/// last `publishing` line of the log, so that no number is used twice
/// across restarts, whether or not its message was stored.
pub(crate) async fn publish<R: Runtime>(args: &Args) -> Result<(), String> {
    let (mut log, lines) = LineLog::open(&args.log)?;
    let mut next = lines
        .iter()
        .filter_map(|line| line.strip_prefix("publishing "))
        .filter_map(|rest| rest.split(' ').next()?.parse::<u64>().ok())
        .max()
        .map_or(0, |last| last + 1);
    let (topic, tag) = match args.qos {
        QoS::AtLeastOnce => (TOPIC_Q1, "q1"),
        _ => (TOPIC_Q2, "q2"),
    };
    // Offline at first: the messages restored from the store and the new
    // ones wait in the session until CONNACK.
    let client = Client::<R>::start(options(args, false)).map_err(|e| format!("start: {e}"))?;
    loop {
        let mut burst = Vec::with_capacity(BURST);
        for _ in 0..BURST {
            log.line(&format!("publishing {next} {tag}"))?;
            let pending = client
                .publish_pipelined(topic, next.to_string(), args.qos)
                .await
                .map_err(|e| format!("publish {next}: {e}"))?;
            burst.push((next, pending));
            next += 1;
        }
        // Dropping each handle once stored leaves its publish going on.
        for (n, mut pending) in burst {
            pending
                .stored()
                .await
                .map_err(|e| format!("message {n} was not stored: {e}"))?;
            log.line(&format!("stored {n} {tag}"))?;
        }
        sleep::<R>(PAUSE).await;
    }
}

/// Connects the stored session, publishes nothing, and disconnects: the
/// graceful disconnect waits for the messages restored from the store to
/// complete, up to its timeout. Taking that long means some never did.
pub(crate) async fn finish<R: Runtime>(args: &Args) -> Result<(), String> {
    let (mut log, _) = LineLog::open(&args.log)?;
    let client = Client::<R>::connect(options(args, false))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let started = Instant::now();
    client
        .disconnect()
        .await
        .map_err(|e| format!("disconnect: {e}"))?;
    let took = started.elapsed();
    if took + Duration::from_secs(1) >= DISCONNECT_TIMEOUT {
        return Err(format!(
            "disconnect took {took:?} of its {DISCONNECT_TIMEOUT:?}: messages restored \
             from the store were still unfinished"
        ));
    }
    log.line(&format!("#finished in {} ms", took.as_millis()))
}

/// Publishes `0..count` at QoS 2, one every `interval`, waits until every
/// one is complete (PUBCOMP) and disconnects.
pub(crate) async fn feed<R: Runtime>(args: &Args) -> Result<(), String> {
    let (mut log, _) = LineLog::open(&args.log)?;
    // One message in flight at a time: the broker's `max_inflight_messages
    // 1` of this scenario bounds what it takes in from a client too, and
    // mosquitto answers a QoS 2 message over that bound with a PUBREC (an
    // MQTT 3.1.1 PUBREC cannot say "quota exceeded") and drops it.
    let client = Client::<R>::connect(options(args, true).max_inflight(1))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut pending = Vec::new();
    for n in 0..args.count {
        let publish = client.publish_pipelined(FEED_TOPIC, n.to_string(), QoS::ExactlyOnce);
        pending.push((n, publish.await.map_err(|e| format!("publish {n}: {e}"))?));
        sleep::<R>(args.interval).await;
    }
    for (n, done) in pending {
        done.await
            .map_err(|e| format!("message {n} did not complete: {e}"))?;
    }
    log.line(&format!("#fed {}", args.count))?;
    client
        .disconnect()
        .await
        .map_err(|e| format!("disconnect: {e}"))
}
