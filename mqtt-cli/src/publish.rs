//! `mqtt pub`: publish one message and return once it is complete for its
//! QoS, or fail when the connection drops first.

use crate::connection::Connection;
use crate::{connect, connection_lost, describe, qos, Failure};
use clap::Args;
use mqtt_tokio::{Error, Message};
use std::io::Read;
use std::process::ExitCode;

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("payload").required(true))]
pub(crate) struct PubArgs {
    #[command(flatten)]
    connection: Connection,
    /// Topic to publish to.
    #[arg(short = 't', long)]
    topic: String,
    /// The message.
    #[arg(short = 'm', long, group = "payload")]
    message: Option<String>,
    /// Send the contents of this file as the message.
    #[arg(short = 'f', long, group = "payload")]
    file: Option<std::path::PathBuf>,
    /// Send an empty (null) message.
    #[arg(short = 'n', long = "null-message", group = "payload")]
    null: bool,
    /// Send all of standard input as the message.
    #[arg(short = 's', long = "stdin-file", group = "payload")]
    stdin: bool,
    /// Quality of service: 0, 1 or 2.
    #[arg(short = 'q', long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    qos: u8,
    /// Ask the broker to retain the message.
    #[arg(short = 'r', long)]
    retain: bool,
}

pub(crate) async fn publish(args: PubArgs) -> Result<ExitCode, Failure> {
    let payload: Vec<u8> = if let Some(m) = args.message {
        m.into_bytes()
    } else if let Some(path) = &args.file {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
    } else if args.stdin {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        buf
    } else {
        Vec::new()
    };
    let message = Message::new(args.topic.as_str(), payload, qos(args.qos))
        .map_err(|e| Error::from(e).to_string())?
        .retained(args.retain);
    let client = connect(&args.connection).await?;
    // Like mosquitto_pub, give up when the connection drops rather than
    // waiting for a reconnect that may never come.
    tokio::select! {
        done = client.publish_message(message) => done.map_err(|e| describe("publish failed", e))?,
        reason = connection_lost(&client) => {
            return Err(format!("publish failed: connection lost: {reason}"))
        }
    }
    client
        .disconnect()
        .await
        .map_err(|e| describe("disconnect failed", e))?;
    Ok(ExitCode::SUCCESS)
}
