//! `mqtt sub`: subscribe and print each message on its own line until a
//! count, an idle timeout, Ctrl-C or a closed pipe ends it. The client
//! reconnects by itself; connection changes go to stderr.

use crate::connection::Connection;
use crate::{connect, describe, qos, Failure};
use clap::Args;
use mqtt_tokio::{ConnectionEvent, QoS};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub(crate) struct SubArgs {
    #[command(flatten)]
    connection: Connection,
    /// Topic filter to subscribe to (repeat for several).
    #[arg(short = 't', long, required = true)]
    topic: Vec<String>,
    /// Maximum QoS for the subscriptions: 0, 1 or 2.
    #[arg(short = 'q', long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    qos: u8,
    /// Exit after this many messages.
    #[arg(short = 'C', long)]
    count: Option<u64>,
    /// Print "topic payload" instead of the payload alone.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Exit with an error when no message arrived for this many seconds.
    #[arg(short = 'W', long = "timeout")]
    timeout: Option<u64>,
}

pub(crate) async fn subscribe(args: SubArgs) -> Result<ExitCode, Failure> {
    let client = connect(&args.connection).await?;
    let filters: Vec<(&str, QoS)> = args
        .topic
        .iter()
        .map(|t| (t.as_str(), qos(args.qos)))
        .collect();
    let mut sub = client
        .subscribe_many(&filters)
        .await
        .map_err(|e| describe("subscribe failed", e))?;
    for (filter, outcome) in args.topic.iter().zip(sub.outcomes()) {
        if !outcome.is_granted() {
            eprintln!("mqtt sub: the broker refused the subscription to {filter}");
        }
    }
    let events = client.events();
    let reporter = tokio::spawn(async move {
        let mut connected_once = false;
        while let Ok(event) = events.recv().await {
            match event {
                ConnectionEvent::Connected { .. } if !connected_once => connected_once = true,
                ConnectionEvent::Connected { server, .. } => {
                    eprintln!("mqtt sub: reconnected to {server}")
                }
                ConnectionEvent::Disconnected { reason } => {
                    eprintln!("mqtt sub: disconnected: {reason}")
                }
                _ => {}
            }
        }
    });

    let mut stdout = std::io::stdout().lock();
    let mut received = 0u64;
    let idle = args.timeout.map(Duration::from_secs);
    let outcome = loop {
        if args.count.is_some_and(|n| received >= n) {
            break Ok(ExitCode::SUCCESS);
        }
        let next = async {
            match idle {
                Some(idle) => tokio::time::timeout(idle, sub.next()).await.ok(),
                None => Some(sub.next().await),
            }
        };
        let message = tokio::select! {
            m = next => m,
            _ = tokio::signal::ctrl_c() => break Ok(ExitCode::SUCCESS),
        };
        let message = match message {
            None => {
                break Err(format!(
                    "no message within {} s",
                    idle.unwrap_or_default().as_secs()
                ))
            }
            Some(None) => break Err("the client closed".to_string()),
            Some(Some(m)) => m,
        };
        let written = (|| {
            if args.verbose {
                stdout.write_all(message.topic.as_str().as_bytes())?;
                stdout.write_all(b" ")?;
            }
            stdout.write_all(&message.payload)?;
            stdout.write_all(b"\n")?;
            stdout.flush()
        })();
        if let Err(e) = written {
            // A closed pipe (`mqtt sub ... | head -1`) ends us quietly.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                break Ok(ExitCode::SUCCESS);
            }
            break Err(format!("cannot write to standard output: {e}"));
        }
        received += 1;
    };
    reporter.abort();
    drop(sub);
    let _ = tokio::time::timeout(Duration::from_secs(5), client.disconnect()).await;
    outcome
}
