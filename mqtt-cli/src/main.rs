//! `mqtt`: publish, subscribe and benchmark from the command line, with
//! mosquitto_pub/mosquitto_sub's familiar flags.
//!
//! ```text
//! mqtt pub -h localhost -t sensors/kitchen -m 21.5 -q 1 -r
//! mqtt sub -t 'sensors/#' -v -C 10
//! mqtt sub -L mqtts://broker:8883 --cafile ca.pem --cert me.pem --key me.key -t '#'
//! mqtt pub -V mqttv31 -h old-broker -t legacy/x -m 1
//! mqtt bench --publishers 2 --subscribers 2 --count 10000 -q 1 --rate 5000
//! ```
//!
//! Run it with `cargo run -p mqtt-cli -- --help`, or install it with
//! `cargo install --path mqtt-cli`. `-d/--debug` (before or after the
//! subcommand) also prints the library's `tracing` logs on stderr.
//!
//! One module per concept: `connection` (where the broker is, the
//! transport, the MQTT version and who we are: the flags every subcommand
//! shares), `publish`,
//! `subscribe` and `bench` (one subcommand each), and `stderr` (the
//! library's logs and bench's progress bars).

mod bench;
mod connection;
mod publish;
mod stderr;
mod subscribe;

use clap::{Parser, Subcommand};
use mqtt_tokio::{Client, ConnectionEvent, Error, QoS, TlsError};
use std::process::ExitCode;

use connection::Connection;

#[derive(Debug, Parser)]
#[command(
    name = "mqtt",
    version,
    about = "MQTT 3.1.1, 3.1 and 5.0 from the command line: publish, subscribe, benchmark",
    long_about = "MQTT 3.1.1, 3.1 and 5.0 from the command line: publish, subscribe, benchmark.\n\n\
        Brokers are reached over TCP, TLS, WebSocket or WebSocket over TLS: \
        -L mqtt://, mqtts://, ws://, wss://. --cafile, --cert, --insecure or --alpn \
        with -h/-p switch to TLS (port 8883 unless -p is given). -V mqttv31 speaks \
        MQTT 3.1 to older brokers, -V mqttv5 speaks MQTT 5.0."
)]
struct Cli {
    /// Print the library's logs on stderr.
    ///
    /// Debug for the mqtt crates (connection attempts, reconnects, dropped
    /// messages), warnings from the rest. RUST_LOG, when set, chooses the
    /// filter instead, with or without this flag.
    #[arg(short = 'd', long, global = true)]
    debug: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Publish one message and wait until it is complete for its QoS.
    // `-h` is the host, as in mosquitto_pub; help is `--help` only.
    #[command(disable_help_flag = true)]
    Pub(publish::PubArgs),
    /// Subscribe and print each message on its own line.
    #[command(disable_help_flag = true)]
    Sub(subscribe::SubArgs),
    /// Measure throughput and latency through a broker.
    #[command(disable_help_flag = true)]
    Bench(bench::BenchArgs),
}

fn qos(n: u8) -> QoS {
    QoS::from_u8(n).unwrap_or(QoS::AtMostOnce)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    stderr::init_logging(cli.debug);
    let (name, result) = match cli.command {
        Command::Pub(args) => ("pub", publish::publish(args).await),
        Command::Sub(args) => ("sub", subscribe::subscribe(args).await),
        Command::Bench(args) => ("bench", bench::bench(args).await),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mqtt {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A CLI failure, in words.
type Failure = String;

/// The error's own words, plus what to try for the mistakes a command line
/// can fix.
fn describe(what: &str, e: Error) -> Failure {
    let hint = match &e {
        Error::Tls(TlsError::UnknownIssuer) => {
            " (give the CA that signed the broker's certificate with --cafile)"
        }
        Error::Tls(TlsError::NameMismatch) => {
            " (connect with the host name the certificate names; --insecure skips the check)"
        }
        Error::Tls(TlsError::CertificateRequired) => " (give one with --cert and --key)",
        Error::Tls(TlsError::ServerRequiresTls) => " (or give --cafile to use TLS with -h/-p)",
        _ => "",
    };
    match e {
        Error::Refused(code) => format!("{what}: the broker refused the connection: {code}"),
        e => format!("{what}: {e}{hint}"),
    }
}

async fn connect(connection: &Connection) -> Result<Client, Failure> {
    let options = connection.options()?;
    let target = options
        .servers()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    Client::connect(options)
        .await
        .map_err(|e| describe(&format!("cannot connect to {target}"), e))
}

/// Resolves with the reason when the connection is lost.
async fn connection_lost(client: &Client) -> String {
    let events = client.events();
    while let Ok(event) = events.recv().await {
        if let ConnectionEvent::Disconnected { reason } = event {
            return reason.to_string();
        }
    }
    "the client closed".into()
}
