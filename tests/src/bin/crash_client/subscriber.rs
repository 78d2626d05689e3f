//! The subscribing roles: `subscribe` (the witness of the publisher-kill
//! scenario, never killed), `ack` (the manual-ack subscriber that the
//! subscriber-kill scenario kills) and `auto` (the automatic subscriber
//! that the automatic-subscriber-kill scenario kills).

use crate::args::Args;
use crate::line_log::LineLog;
use crate::publisher::FEED_TOPIC;
use crate::{options, sleep};
use futures_lite::future;
use mqtt_client::{Client, Message, QoS, Runtime};
use std::collections::BTreeSet;

/// Every topic `publish` sends to.
const PUBLISHED: &str = "crash/p/+";

/// Logs `<q> <n>` (and ` dup` when the DUP flag is set) for each message
/// `publish` sent, where `<q>` is the topic's last level, until killed.
pub(crate) async fn subscribe<R: Runtime>(args: &Args) -> Result<(), String> {
    let (mut log, _) = LineLog::open(&args.log)?;
    let client = Client::<R>::connect(options(args, false))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut messages = client
        .subscribe(PUBLISHED, QoS::ExactlyOnce)
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    log.line("#ready")?;
    while let Some(message) = messages.next().await {
        let tag = message
            .topic
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let n = number(&message)?;
        log.line(&format!("{tag} {n}{}", dup_mark(&message)))?;
    }
    Err("the subscription ended".to_owned())
}

/// Logs `<n>` (and ` dup` when the DUP flag is set) for each message,
/// processes it for `--work-ms`, then acknowledges it, until killed or, with `--expect`, until every number
/// below it is in the log (this run's lines or an earlier run's); then it
/// disconnects gracefully and logs `#done`.
pub(crate) async fn ack<R: Runtime>(args: &Args) -> Result<(), String> {
    let (mut log, lines) = LineLog::open(&args.log)?;
    let mut missing: BTreeSet<u64> = args.expect.map(|m| (0..m).collect()).unwrap_or_default();
    for line in &lines {
        if let Some(Ok(n)) = line.split(' ').next().map(str::parse::<u64>) {
            missing.remove(&n);
        }
    }
    let client = Client::<R>::connect(options(args, false))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut jobs = client
        .subscribe_manual(&[(FEED_TOPIC, QoS::ExactlyOnce)])
        .await
        .map_err(|e| format!("subscribe_manual: {e}"))?;
    log.line("#ready")?;
    while args.expect.is_none() || !missing.is_empty() {
        let Some(delivery) = jobs.next().await else {
            return Err("the subscription ended".to_owned());
        };
        let n = number(delivery.message())?;
        // Logged before the ack: a kill in between leaves a message the
        // log has and the session did not take.
        log.line(&format!("{n}{}", dup_mark(delivery.message())))?;
        sleep::<R>(args.work).await;
        delivery.ack();
        missing.remove(&n);
    }
    client
        .disconnect()
        .await
        .map_err(|e| format!("disconnect: {e}"))?;
    log.line("#done")
}

/// Takes each message of an automatic QoS 2 subscription (a buffer of
/// `--capacity`), logs `<n>` (and ` dup` when the DUP flag is set), then
/// works on it for `--work-ms`, until killed or, with `--quiet-ms`, until
/// no message came for that long; then it disconnects gracefully and logs
/// `#done`. With `--die-after`, it sends itself SIGKILL right after logging
/// that many messages: the moment a message the application has seen
/// could still come again, were it not taken for good before.
pub(crate) async fn auto<R: Runtime>(args: &Args) -> Result<(), String> {
    let (mut log, _) = LineLog::open(&args.log)?;
    let options = options(args, false).subscription_capacity(args.capacity);
    let client = Client::<R>::connect(options)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut messages = client
        .subscribe(FEED_TOPIC, QoS::ExactlyOnce)
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    log.line("#ready")?;
    let mut logged = 0;
    loop {
        let next = async { Some(messages.next().await) };
        let message = match args.quiet {
            None => next.await,
            Some(quiet) => {
                future::or(next, async {
                    sleep::<R>(quiet).await;
                    None
                })
                .await
            }
        };
        let message = match message {
            Some(Some(message)) => message,
            Some(None) => return Err("the subscription ended".to_owned()),
            None => break,
        };
        let n = number(&message)?;
        log.line(&format!("{n}{}", dup_mark(&message)))?;
        logged += 1;
        if args.die_after == Some(logged) {
            die();
        }
        sleep::<R>(args.work).await;
    }
    client
        .disconnect()
        .await
        .map_err(|e| format!("disconnect: {e}"))?;
    log.line("#done")
}

/// SIGKILL to this process: no destructor, flush or goodbye runs, as when
/// the test kills it.
fn die() -> ! {
    // SAFETY: `kill` and `getpid` take and return plain integers and touch
    // no memory of this process.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    // A signal a process sends itself is delivered before `kill` returns;
    // should this thread still run, it does nothing more.
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

fn number(message: &Message) -> Result<u64, String> {
    std::str::from_utf8(&message.payload)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| {
            format!(
                "unexpected payload {:?} on {}",
                message.payload,
                message.topic.as_str()
            )
        })
}

fn dup_mark(message: &Message) -> &'static str {
    if message.dup {
        " dup"
    } else {
        ""
    }
}
