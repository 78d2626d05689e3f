//! The command line: `--name value` pairs, every one checked, so that a
//! typo in the test fails the run at once instead of changing what it does.

use mqtt_client::{Durability, QoS};
use std::path::PathBuf;
use std::time::Duration;

/// What this run does (see the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Publish,
    Finish,
    Feed,
    Subscribe,
    Ack,
    Auto,
}

/// Which adapter drives the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuntimeKind {
    Tokio,
    AsyncStd,
}

/// How hard the store commits; both survive the process being killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DurabilityArg {
    Sync,
    Flush,
}

impl From<DurabilityArg> for Durability {
    fn from(d: DurabilityArg) -> Durability {
        match d {
            DurabilityArg::Sync => Durability::Sync,
            DurabilityArg::Flush => Durability::Flush,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Args {
    pub(crate) role: Role,
    pub(crate) runtime: RuntimeKind,
    pub(crate) port: u16,
    pub(crate) client_id: String,
    /// The line log (see the crate docs).
    pub(crate) log: PathBuf,
    pub(crate) store: Option<PathBuf>,
    pub(crate) durability: DurabilityArg,
    /// The QoS of what `publish` sends.
    pub(crate) qos: QoS,
    /// How many messages `feed` sends.
    pub(crate) count: u64,
    /// The pause between two `feed` messages.
    pub(crate) interval: Duration,
    /// For `ack`: stop once `0..expect` are all in the log.
    pub(crate) expect: Option<u64>,
    /// For `ack`: the time each message takes to process, between its
    /// log line and its ack; for `auto`, between receiving it and its log
    /// line.
    pub(crate) work: Duration,
    /// For `auto`: the subscription's buffer, in messages.
    pub(crate) capacity: usize,
    /// For `auto`: stop once no message came for this long.
    pub(crate) quiet: Option<Duration>,
    /// For `auto`: SIGKILL itself right after logging this many messages.
    pub(crate) die_after: Option<u64>,
}

impl Args {
    pub(crate) fn parse(mut words: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut role = None;
        let mut runtime = None;
        let mut port = None;
        let mut client_id = None;
        let mut log = None;
        let mut args = Args {
            role: Role::Publish,
            runtime: RuntimeKind::Tokio,
            port: 0,
            client_id: String::new(),
            log: PathBuf::new(),
            store: None,
            durability: DurabilityArg::Sync,
            qos: QoS::ExactlyOnce,
            count: 0,
            interval: Duration::ZERO,
            expect: None,
            work: Duration::ZERO,
            capacity: 1,
            quiet: None,
            die_after: None,
        };
        while let Some(name) = words.next() {
            let value = words
                .next()
                .ok_or_else(|| format!("{name} needs a value"))?;
            let bad = |what: &str| format!("{name} {value:?}: expected {what}");
            match name.as_str() {
                "--role" => {
                    role = Some(match value.as_str() {
                        "publish" => Role::Publish,
                        "finish" => Role::Finish,
                        "feed" => Role::Feed,
                        "subscribe" => Role::Subscribe,
                        "ack" => Role::Ack,
                        "auto" => Role::Auto,
                        _ => return Err(bad("publish|finish|feed|subscribe|ack|auto")),
                    })
                }
                "--runtime" => {
                    runtime = Some(match value.as_str() {
                        "tokio" => RuntimeKind::Tokio,
                        "async-std" => RuntimeKind::AsyncStd,
                        _ => return Err(bad("tokio|async-std")),
                    })
                }
                "--port" => port = Some(value.parse().map_err(|_| bad("a port"))?),
                "--client-id" => client_id = Some(value),
                "--log" => log = Some(PathBuf::from(value)),
                "--store" => args.store = Some(PathBuf::from(value)),
                "--durability" => {
                    args.durability = match value.as_str() {
                        "sync" => DurabilityArg::Sync,
                        "flush" => DurabilityArg::Flush,
                        _ => return Err(bad("sync|flush")),
                    }
                }
                "--qos" => {
                    args.qos = match value.as_str() {
                        "1" => QoS::AtLeastOnce,
                        "2" => QoS::ExactlyOnce,
                        _ => return Err(bad("1|2")),
                    }
                }
                "--count" => args.count = value.parse().map_err(|_| bad("a count"))?,
                "--interval-ms" => {
                    args.interval =
                        Duration::from_millis(value.parse().map_err(|_| bad("milliseconds"))?)
                }
                "--expect" => args.expect = Some(value.parse().map_err(|_| bad("a count"))?),
                "--work-ms" => {
                    args.work =
                        Duration::from_millis(value.parse().map_err(|_| bad("milliseconds"))?)
                }
                "--capacity" => args.capacity = value.parse().map_err(|_| bad("a count"))?,
                "--quiet-ms" => {
                    args.quiet = Some(Duration::from_millis(
                        value.parse().map_err(|_| bad("milliseconds"))?,
                    ))
                }
                "--die-after" => args.die_after = Some(value.parse().map_err(|_| bad("a count"))?),
                _ => return Err(format!("unknown option {name}")),
            }
        }
        args.role = role.ok_or("--role is required")?;
        args.runtime = runtime.ok_or("--runtime is required")?;
        args.port = port.ok_or("--port is required")?;
        args.client_id = client_id.ok_or("--client-id is required")?;
        args.log = log.ok_or("--log is required")?;
        Ok(args)
    }
}
