//! Crash test: client processes killed with SIGKILL at seeded random
//! moments, against a real persistent mosquitto, on tokio and async-std in
//! turn, with the session store ([`mqtt_client::Options::store_dir`])
//! keeping what the process could not finish.
//!
//! - A publisher killed over and over loses no message its store had
//!   taken, and the broker hands none of its QoS 2 messages on twice: the
//!   restarted client resends each unfinished one with its packet id
//!   [MQTT-4.4.0-1] and DUP set [MQTT-3.3.1-1], which the broker takes as
//!   the same message [MQTT-4.3.3-2]. A last graceful run finishes every
//!   message restored from the store.
//! - A manual-ack subscriber killed over and over gets every message, and
//!   a message again only if it was killed before its ack was committed:
//!   the broker resends what was never acknowledged [MQTT-4.4.0-1], and a
//!   QoS 2 message once acknowledged (its id stored before the PUBREC
//!   [MQTT-4.3.3-2]) is never handed to the application again.
//! - An automatic subscriber killed over and over never gets a QoS 2
//!   message twice, across all its runs: the store has its id as received
//!   before any subscription sees it [MQTT-4.3.3-2], so the broker's resend
//!   after a restart is acknowledged and not handed out. What a killed
//!   process had taken and not yet logged is lost to it instead (at most
//!   once, never twice): only right after the last number it logged, and
//!   at most as many as it could hold.
//!
//! The schedule (kill times, runtimes, durabilities, QoS, which runs kill
//! themselves and after how many messages) comes from `CRASH_SEED` (a
//! fixed default otherwise), printed on failure. Each child's log and
//! output are shown when a check fails; every wait is bounded.

use mqtt_integration_tests::broker::Mosquitto;
use mqtt_integration_tests::crash::{
    append_line, lines, seed, settled_lines, tail, wait_until, ClientProcess, Schedule, SeedReport,
    Workdir,
};
use mqtt_integration_tests::crash_check::{
    judge_acker, judge_auto, judge_publisher, not_received, parse_publisher, parse_received,
};
use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

/// The child program: one client per run (`src/bin/crash_client`).
const CLIENT: &str = env!("CARGO_BIN_EXE_crash_client");

/// How many times the publisher is killed.
const PUBLISHER_KILLS: usize = 60;
/// How long a publisher run lives before its SIGKILL, at least and at most.
const PUBLISHER_LIFE: (Duration, Duration) =
    (Duration::from_millis(30), Duration::from_millis(400));
/// How many times the subscriber is killed.
const SUBSCRIBER_KILLS: usize = 50;
/// How long a subscriber run lives before its SIGKILL, at least and at most.
const SUBSCRIBER_LIFE: (Duration, Duration) =
    (Duration::from_millis(40), Duration::from_millis(300));
/// The messages fed to the killed subscriber, one every `FEED_INTERVAL_MS`:
/// about as long as its kills take.
const FED: u64 = 1500;
const FEED_INTERVAL_MS: u64 = 6;
/// How long the subscriber works on each message between logging it and
/// acknowledging it: the window in which a kill makes a redelivery.
const WORK_MS: u64 = 2;

/// How many times the automatic subscriber is killed. One run in
/// `AUTO_TIMED` (on average) lives a random time, as the manual-ack one
/// does, and the test kills it then; the others send themselves SIGKILL
/// right after logging their first few messages (at most
/// `AUTO_DIE_AFTER`), the moment a message the application has seen would
/// come again had the session not taken it for good before. Those short
/// runs are most of the kills because a client without that guarantee
/// repeats a message after only a few percent of them: it acknowledges a
/// message as soon as the subscription's buffer takes it, so its window
/// is the microseconds between the two.
const AUTO_KILLS: usize = 200;
const AUTO_TIMED: u64 = 4;
const AUTO_DIE_AFTER: u64 = 4;
const AUTO_LIFE: (Duration, Duration) = SUBSCRIBER_LIFE;
/// The messages fed to the automatic subscriber, about as long as its
/// kills take.
const AUTO_FED: u64 = 2400;
const AUTO_FEED_INTERVAL_MS: u64 = 6;
/// The most time an automatic run works on each message after logging it
/// (drawn per run): a slow consumer, so that messages wait in the client.
const AUTO_WORK_MS: u64 = 4;
/// The automatic subscription's buffer, in messages.
const AUTO_CAPACITY: usize = 1;
/// The most messages a killed automatic subscriber can have taken and not
/// logged: the one it has received and not logged yet, a full buffer, and
/// the next one, taken (its id stored as received) while it waits for
/// room in the buffer. The client acknowledges a message once the buffer
/// took it, so the broker's `max_inflight_messages 1` lets one more in at
/// each of those steps (with the default buffer of 256 a kill could lose
/// hundreds).
const AUTO_DEPTH: u64 = AUTO_CAPACITY as u64 + 2;
/// How long the last automatic run waits for one more message before it
/// stops: the feed is over by then, and the broker sends what it holds
/// without pause.
const AUTO_QUIET_MS: u64 = 1000;

/// The bound on a child subscribing after its start.
const READY: Duration = Duration::from_secs(10);
/// The bound on a child that runs to its end (finish, feed, last run).
const FINISH: Duration = Duration::from_secs(30);
/// The bound on messages still on their way reaching the subscriber.
const DRAIN: Duration = Duration::from_secs(20);
/// How long a log must stay unchanged to count as settled.
const QUIET: Duration = Duration::from_millis(500);

/// The broker keeps its sessions in its database (the harness puts
/// `persistence_location` in the broker's own temporary directory).
const PERSISTENT: &str = "persistence true";

/// `crash_client` arguments: the ones every role takes, then `more`.
fn client_args(
    role: &str,
    runtime: &str,
    port: u16,
    client_id: &str,
    log: &Path,
    more: &[(&str, String)],
) -> Vec<String> {
    [
        ("--role", role.to_owned()),
        ("--runtime", runtime.to_owned()),
        ("--port", port.to_string()),
        ("--client-id", client_id.to_owned()),
        ("--log", log.display().to_string()),
    ]
    .into_iter()
    .chain(more.iter().map(|(k, v)| (*k, v.clone())))
    .flat_map(|(k, v)| [k.to_owned(), v])
    .collect()
}

/// Panics with `problems`, the end of each log and the child's output.
fn fail(problems: &[String], logs: &[(&str, &Path)], output: &str) -> ! {
    let mut report = problems.join("\n");
    for (name, path) in logs {
        let text = lines(path).join("\n");
        report.push_str(&format!("\n--- end of {name} ---\n{}", tail(&text, 30)));
    }
    panic!("{report}\n{output}");
}

/// The publisher is killed `PUBLISHER_KILLS` times at random moments while
/// it publishes through its store; then a last run finishes what the
/// store holds. The subscriber, never killed, must have received every
/// stored message, each QoS 2 one once, and nothing else.
#[test]
fn killed_publisher_loses_and_repeats_nothing() {
    let seed = seed();
    let _report = SeedReport {
        seed,
        test: "killed_publisher_loses_and_repeats_nothing",
    };
    let mut schedule = Schedule::new(seed, 1);
    let started = Instant::now();
    let broker = Mosquitto::start(PERSISTENT);
    let work = Workdir::new("crash-publisher");
    let (pub_log, sub_log, store) = (
        work.join("pub.log"),
        work.join("sub.log"),
        work.join("store"),
    );
    fs::create_dir_all(&store).expect("the store directory");
    let store_arg = store.display().to_string();

    let mut subscriber = ClientProcess::spawn(
        CLIENT,
        "subscriber",
        &work.join("sub.out"),
        &client_args(
            "subscribe",
            schedule.runtime(),
            broker.port(),
            "crash-witness",
            &sub_log,
            &[],
        ),
    );
    if !wait_until(READY, || lines(&sub_log).iter().any(|l| l == "#ready")) {
        panic!(
            "the subscriber did not subscribe within {READY:?}\n{}",
            subscriber.output_tail()
        );
    }

    let mut qos1_runs = 0;
    for run in 0..PUBLISHER_KILLS {
        // About one run in four publishes QoS 1 (to a topic of its own).
        let qos = if schedule.one_in(4) { "1" } else { "2" };
        qos1_runs += usize::from(qos == "1");
        let (runtime, durability) = (schedule.runtime(), schedule.durability());
        let life = schedule.between(PUBLISHER_LIFE.0, PUBLISHER_LIFE.1);
        let more = [
            ("--store", store_arg.clone()),
            ("--durability", durability.to_owned()),
            ("--qos", qos.to_owned()),
        ];
        let mut publisher = ClientProcess::spawn(
            CLIENT,
            &format!(
                "publisher run {run} ({runtime}, QoS {qos}, {durability}, killed after {life:?})"
            ),
            &work.join("pub.out"),
            &client_args(
                "publish",
                runtime,
                broker.port(),
                "crash-publisher",
                &pub_log,
                &more,
            ),
        );
        thread::sleep(life);
        publisher.kill().unwrap_or_else(|why| panic!("{why}"));
    }

    let finish = |what: &str, runtime: &str| {
        let more = [("--store", store_arg.clone())];
        let mut run = ClientProcess::spawn(
            CLIENT,
            &format!("{what} ({runtime})"),
            &work.join("pub.out"),
            &client_args(
                "finish",
                runtime,
                broker.port(),
                "crash-publisher",
                &pub_log,
                &more,
            ),
        );
        run.wait(FINISH)
            .unwrap_or_else(|why| fail(&[why], &[("publisher log", &pub_log)], ""))
    };
    let finish_took = finish("finishing run", schedule.runtime());

    let log = parse_publisher(&lines(&pub_log))
        .unwrap_or_else(|why| fail(&[why], &[("publisher log", &pub_log)], ""));
    wait_until(DRAIN, || {
        parse_received(&lines(&sub_log)).is_ok_and(|r| not_received(&log, &r).is_empty())
    });
    let before = settled_lines(&sub_log, QUIET, DRAIN);
    // Another run of the same session: a store still holding a message the
    // broker already finished would send it again, as a new one.
    finish("checking run", schedule.runtime());
    let after = settled_lines(&sub_log, QUIET, DRAIN);

    let mut problems = Vec::new();
    if let Err(why) = subscriber.kill() {
        problems.push(why);
    }
    if after.len() > before.len() {
        problems.push(format!(
            "a run after the finishing one still sent messages: {:?}",
            &after[before.len()..]
        ));
    }
    // Nothing stored that is never sent: the store itself holds no
    // unfinished message once the finishing runs are over.
    match mqtt_client::stored_session(&store, "crash-publisher") {
        Ok(session) if session.publishes().count() > 0 => problems.push(format!(
            "the store still holds {} unfinished messages",
            session.publishes().count()
        )),
        Ok(_) => {}
        Err(e) => problems.push(format!("the store cannot be read: {e}")),
    }
    let verdict = match parse_received(&after) {
        Ok(received) => judge_publisher(&log, &received)
            .map_err(|p| problems.extend(p))
            .ok(),
        Err(why) => {
            problems.push(why);
            None
        }
    };
    let logs = [
        ("publisher log", pub_log.as_path()),
        ("subscriber log", sub_log.as_path()),
    ];
    let verdict = match verdict {
        Some(verdict) if problems.is_empty() => verdict,
        _ => fail(&problems, &logs, &subscriber.output_tail()),
    };
    eprintln!(
        "crash (publisher killed): seed={seed} kills={PUBLISHER_KILLS} (QoS 1 runs: {qos1_runs}) \
         published={} stored={} received={} qos1-repeats={} finish={finish_took:?} in {:.1?}",
        verdict.published,
        verdict.stored,
        verdict.received,
        verdict.qos1_duplicates,
        started.elapsed()
    );
    assert!(
        verdict.stored > PUBLISHER_KILLS,
        "too few messages stored to mean anything: {verdict:?}"
    );
}

/// What the two subscriber scenarios share: a persistent broker that
/// sends one message at a time, a work directory with the killed
/// subscriber's log, output and store, and a steady feeder.
struct Fed {
    broker: Mosquitto,
    work: Workdir,
    /// The killed subscriber's log, output and store directory.
    log: std::path::PathBuf,
    output: std::path::PathBuf,
    store: String,
    /// The scenario's name: its directory and its feeder's client id.
    name: &'static str,
}

impl Fed {
    fn new(name: &'static str, role: &str) -> Fed {
        let broker = Mosquitto::start(&format!("{PERSISTENT}\nmax_inflight_messages 1"));
        let work = Workdir::new(name);
        let store = work.join("store");
        fs::create_dir_all(&store).expect("the store directory");
        Fed {
            log: work.join(&format!("{role}.log")),
            output: work.join(&format!("{role}.out")),
            store: store.display().to_string(),
            broker,
            work,
            name,
        }
    }

    fn feed_log(&self) -> std::path::PathBuf {
        self.work.join("feed.log")
    }

    /// Once the first subscriber run subscribed (making the session the
    /// broker keeps every message for), starts feeding `count` messages,
    /// one every `interval_ms`.
    fn feed_once_ready(
        &self,
        first: &Option<ClientProcess>,
        runtime: &str,
        count: u64,
        interval_ms: u64,
    ) -> ClientProcess {
        if !wait_until(READY, || lines(&self.log).iter().any(|l| l == "#ready")) {
            let tail = first
                .as_ref()
                .map(ClientProcess::output_tail)
                .unwrap_or_default();
            panic!("the subscriber did not subscribe within {READY:?}\n{tail}");
        }
        ClientProcess::spawn(
            CLIENT,
            "feeder",
            &self.work.join("feed.out"),
            &client_args(
                "feed",
                runtime,
                self.broker.port(),
                &format!("{}-feeder", self.name),
                &self.feed_log(),
                &[
                    ("--count", count.to_string()),
                    ("--interval-ms", interval_ms.to_string()),
                ],
            ),
        )
    }

    fn feed_done(&self, feeder: &mut ClientProcess) {
        feeder
            .wait(FINISH)
            .unwrap_or_else(|why| fail(&[why], &[("feeder log", &self.feed_log())], ""));
    }

    /// The last run's time and the log's verdict, or the failure with the
    /// subscriber's log.
    fn verdict<V>(
        &self,
        last_run: Result<Duration, String>,
        judged: Result<V, Vec<String>>,
    ) -> (Duration, V) {
        match (last_run, judged) {
            (Ok(took), Ok(verdict)) => (took, verdict),
            (last_run, judged) => {
                let mut problems: Vec<String> = last_run.err().into_iter().collect();
                problems.extend(judged.err().unwrap_or_default());
                fail(&problems, &[("subscriber log", &self.log)], "")
            }
        }
    }
}

/// A manual-ack subscriber is killed `SUBSCRIBER_KILLS` times at random
/// moments while a steady publisher feeds it QoS 2 messages; the broker
/// sends one message at a time (`max_inflight_messages 1`), the next only
/// after the PUBCOMP of the last, which the client sends only after the
/// ack was committed to its store. Then it runs until it has every
/// message. A message may come again only right after a kill.
#[test]
fn killed_subscriber_gets_again_only_what_it_had_not_committed() {
    let seed = seed();
    let _report = SeedReport {
        seed,
        test: "killed_subscriber_gets_again_only_what_it_had_not_committed",
    };
    let mut schedule = Schedule::new(seed, 2);
    let started = Instant::now();
    let fed = Fed::new("crash-subscriber", "ack");
    let (broker, ack_log, store_arg, output) = (&fed.broker, &fed.log, &fed.store, &fed.output);

    // Each run's runtime, durability and life, drawn up front.
    let runs: Vec<(&str, &str, Duration)> = (0..=SUBSCRIBER_KILLS)
        .map(|_| {
            let life = schedule.between(SUBSCRIBER_LIFE.0, SUBSCRIBER_LIFE.1);
            (schedule.runtime(), schedule.durability(), life)
        })
        .collect();
    let acker = |run: usize, expect: Option<u64>| {
        let (runtime, durability, _) = runs[run];
        let mut more = vec![
            ("--store", store_arg.clone()),
            ("--durability", durability.to_owned()),
            ("--work-ms", WORK_MS.to_string()),
        ];
        more.extend(expect.map(|m| ("--expect", m.to_string())));
        let args = client_args("ack", runtime, broker.port(), "crash-acker", ack_log, &more);
        let what = format!("subscriber run {run} ({runtime}, {durability})");
        ClientProcess::spawn(CLIENT, &what, output, &args)
    };
    // The first run makes the session and its subscription before the feed
    // starts, so that the broker keeps every message for it.
    let mut first = Some(acker(0, None));
    let mut feeder = fed.feed_once_ready(&first, schedule.runtime(), FED, FEED_INTERVAL_MS);
    for (run, &(_, _, life)) in runs.iter().enumerate().take(SUBSCRIBER_KILLS) {
        let mut process = first.take().unwrap_or_else(|| acker(run, None));
        thread::sleep(life);
        process
            .kill()
            .unwrap_or_else(|why| fail(&[why], &[("subscriber log", ack_log)], ""));
        append_line(ack_log, "#kill");
    }
    fed.feed_done(&mut feeder);
    let last_run = acker(SUBSCRIBER_KILLS, Some(FED)).wait(FINISH);
    let (last_took, verdict) = fed.verdict(last_run, judge_acker(&lines(ack_log), FED));
    eprintln!(
        "crash (subscriber killed): seed={seed} kills={} delivered={FED} deliveries={} \
         redeliveries={} last run={last_took:?} in {:.1?}",
        verdict.kills,
        verdict.deliveries,
        verdict.redeliveries,
        started.elapsed()
    );
    assert_eq!(verdict.kills, SUBSCRIBER_KILLS, "every kill is marked once");
}

/// One run of the automatic subscriber, drawn from the schedule.
#[derive(Debug, Clone, Copy)]
struct AutoRun {
    runtime: &'static str,
    durability: &'static str,
    /// The time it works on each message, after logging it.
    work_ms: u64,
    /// How long it lives before the test kills it (unless it did first).
    life: Duration,
    /// Unless the test kills it: how many messages it logs before it kills
    /// itself, right after the last of them (if they come within its life).
    die_after: Option<u64>,
}

impl AutoRun {
    fn draw(schedule: &mut Schedule) -> AutoRun {
        let life = schedule.between(AUTO_LIFE.0, AUTO_LIFE.1);
        let work_ms = schedule.next_u64() % (AUTO_WORK_MS + 1);
        let die_after =
            (!schedule.one_in(AUTO_TIMED)).then(|| 1 + schedule.next_u64() % AUTO_DIE_AFTER);
        AutoRun {
            runtime: schedule.runtime(),
            durability: schedule.durability(),
            work_ms,
            life,
            die_after,
        }
    }
}

/// An automatic subscriber (`subscribe`, QoS 2, through a store) is
/// killed `AUTO_KILLS` times, at random moments or right after it logged
/// a message (see [`AUTO_KILLS`]), while a steady publisher feeds it, the
/// broker sending one message at a time as for the manual-ack subscriber.
/// Then a last run takes what is left until no message comes for
/// `AUTO_QUIET_MS`. No number may be logged twice, whatever came between
/// [MQTT-4.3.3-2]; a number may be missing only right after a kill (see
/// [`AUTO_DEPTH`]).
#[test]
fn killed_automatic_subscriber_never_gets_a_message_twice() {
    let seed = seed();
    let _report = SeedReport {
        seed,
        test: "killed_automatic_subscriber_never_gets_a_message_twice",
    };
    let mut schedule = Schedule::new(seed, 3);
    let started = Instant::now();
    let fed = Fed::new("crash-auto", "auto");
    let (broker, auto_log, store_arg, output) = (&fed.broker, &fed.log, &fed.store, &fed.output);

    let runs: Vec<AutoRun> = (0..=AUTO_KILLS)
        .map(|_| AutoRun::draw(&mut schedule))
        .collect();
    let subscriber = |run: usize, quiet_ms: Option<u64>| {
        let AutoRun {
            runtime,
            durability,
            work_ms,
            die_after,
            ..
        } = runs[run];
        let mut more = vec![
            ("--store", store_arg.clone()),
            ("--durability", durability.to_owned()),
            ("--work-ms", work_ms.to_string()),
            ("--capacity", AUTO_CAPACITY.to_string()),
        ];
        more.extend(quiet_ms.map(|q| ("--quiet-ms", q.to_string())));
        // Not for the last run, which must get to its end.
        more.extend(
            die_after
                .filter(|_| quiet_ms.is_none())
                .map(|d| ("--die-after", d.to_string())),
        );
        let args = client_args(
            "auto",
            runtime,
            broker.port(),
            "crash-auto",
            auto_log,
            &more,
        );
        let what = format!("automatic subscriber run {run} ({:?})", runs[run]);
        // For the post-mortem: which run wrote the lines that follow.
        append_line(auto_log, &format!("#run {run} {:?}", runs[run]));
        ClientProcess::spawn(CLIENT, &what, output, &args)
    };
    // The first run makes the session and its subscription before the feed
    // starts, so that the broker keeps every message for it.
    let mut first = Some(subscriber(0, None));
    let mut feeder =
        fed.feed_once_ready(&first, schedule.runtime(), AUTO_FED, AUTO_FEED_INTERVAL_MS);
    let mut self_kills = 0;
    for (run, drawn) in runs.iter().enumerate().take(AUTO_KILLS) {
        let mut process = first.take().unwrap_or_else(|| subscriber(run, None));
        let by_itself = process
            .kill_after(drawn.life)
            .unwrap_or_else(|why| fail(&[why], &[("subscriber log", auto_log)], ""));
        self_kills += usize::from(by_itself);
        append_line(auto_log, "#kill");
    }
    fed.feed_done(&mut feeder);
    // Every message is at the broker now: the last run stops once it has
    // had nothing for a while, within a bound.
    let last_run = subscriber(AUTO_KILLS, Some(AUTO_QUIET_MS)).wait(FINISH);
    let (last_took, verdict) =
        fed.verdict(last_run, judge_auto(&lines(auto_log), AUTO_FED, AUTO_DEPTH));
    eprintln!(
        "crash (automatic subscriber killed): seed={seed} kills={} (by itself after logging: \
         {self_kills}) fed={AUTO_FED} deliveries={} redeliveries={} losses={} (at most {} together, \
         {AUTO_DEPTH} allowed a kill) last run={last_took:?} in {:.1?}",
        verdict.kills,
        verdict.deliveries,
        verdict.redeliveries,
        verdict.losses,
        verdict.longest_loss,
        started.elapsed()
    );
    assert_eq!(verdict.kills, AUTO_KILLS, "every kill is marked once");
}
