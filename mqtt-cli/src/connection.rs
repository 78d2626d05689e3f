//! The flags every subcommand shares: where the broker is, how to reach it
//! (TCP, TLS, WebSocket), which MQTT version to speak and who we are, turned
//! into client [`Options`].
//!
//! As with mosquitto_pub, `-h`/`-p` name a plaintext broker on port 1883
//! unless a TLS flag (`--cafile`, `--cert`, `--insecure`, `--alpn`) is given:
//! then the connection is TLS, on port 8883 unless `-p` says otherwise.
//! `-L` URLs say the transport themselves, so there a TLS flag on a
//! plaintext URL (or a WebSocket header on a non-WebSocket URL) is an error
//! rather than silently ignored.
//!
//! `-V` takes mosquitto_pub's spellings: `mqttv311` (the default) or `311`
//! for MQTT 3.1.1, `mqttv31` or `31` for MQTT 3.1, `mqttv5` or `5` for
//! MQTT 5.0.

use crate::{qos, Failure};
use clap::{ArgAction, Args};
use mqtt_tokio::{Options, TlsOptions};
use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

/// Where the broker is and who we are: shared by every subcommand.
#[derive(Debug, Args)]
pub(crate) struct Connection {
    /// Broker host.
    #[arg(short = 'h', long, default_value = "localhost")]
    host: String,
    /// Broker port [default: 1883, or 8883 with TLS].
    #[arg(short = 'p', long)]
    port: Option<u16>,
    /// Broker URL: mqtt://, mqtts://, ws:// or wss://host[:port][/path]
    /// (also tcp://, ssl://); overrides -h and -p. Repeat for several
    /// brokers, tried in order on every (re)connect.
    #[arg(short = 'L', long, action = ArgAction::Append, value_name = "URL")]
    url: Vec<String>,
    /// Trust the CA certificates in this PEM file instead of the system's
    /// (turns on TLS with -h/-p).
    #[arg(long, value_name = "PATH")]
    cafile: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS; needs --key (turns on TLS
    /// with -h/-p).
    #[arg(long, value_name = "PATH", requires = "key")]
    cert: Option<PathBuf>,
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1) of --cert.
    #[arg(long, value_name = "PATH", requires = "cert")]
    key: Option<PathBuf>,
    /// Do not verify the broker's certificate (issuer, host name, dates):
    /// for test brokers only (turns on TLS with -h/-p).
    #[arg(long)]
    insecure: bool,
    /// ALPN protocol to offer in the TLS handshake; repeat for several, in
    /// order of preference (turns on TLS with -h/-p).
    #[arg(long, value_name = "PROTO", action = ArgAction::Append)]
    alpn: Vec<String>,
    /// Extra HTTP header for the WebSocket upgrade (ws://, wss://), as
    /// 'Name: value'; repeat for several.
    #[arg(long = "ws-header", value_name = "'NAME: VALUE'", action = ArgAction::Append, value_parser = parse_header)]
    ws_headers: Vec<(String, String)>,
    /// MQTT version: mqttv311 or 311 (MQTT 3.1.1), mqttv31 or 31 (MQTT 3.1,
    /// for older brokers; client ids of at most 23 characters), mqttv5 or 5
    /// (MQTT 5.0).
    #[arg(
        short = 'V',
        long = "protocol-version",
        value_name = "VERSION",
        default_value = "mqttv311",
        value_parser = parse_protocol_version
    )]
    protocol_version: ProtocolVersion,
    /// Client id (default: generated).
    #[arg(short = 'i', long = "id")]
    pub(crate) id: Option<String>,
    /// User name.
    #[arg(short = 'u', long = "username")]
    username: Option<String>,
    /// Password (needs -u).
    #[arg(short = 'P', long = "pw", requires = "username")]
    password: Option<String>,
    /// Keep-alive in seconds (0: off).
    #[arg(short = 'k', long = "keepalive", default_value_t = 60)]
    keepalive: u64,
    /// Disable clean session: keep the session (subscriptions, queued
    /// messages) when disconnected. Needs -i.
    #[arg(short = 'c', long = "disable-clean-session", requires = "id")]
    persistent: bool,
    /// Keep the session in a file in this directory, so that it survives
    /// the process: unfinished QoS 1/2 messages are sent by the next run
    /// with the same -i and directory, and a QoS 2 message received before
    /// is not printed again. Needs -i.
    #[arg(long, value_name = "DIR", requires = "id")]
    store_dir: Option<std::path::PathBuf>,
    /// Topic of the will, published by the broker if this client vanishes.
    #[arg(long)]
    will_topic: Option<String>,
    /// Payload of the will.
    #[arg(long, requires = "will_topic", default_value = "")]
    will_payload: String,
    /// QoS of the will.
    #[arg(long, requires = "will_topic", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    will_qos: u8,
    /// Retain the will.
    #[arg(long, requires = "will_topic")]
    will_retain: bool,
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
}

/// The MQTT version spoken, chosen with `-V`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProtocolVersion {
    /// MQTT 3.1: protocol name "MQIsdp", level 3.
    V31,
    /// MQTT 3.1.1: protocol name "MQTT", level 4 [MQTT-3.1.2-1], [MQTT-3.1.2-2].
    V311,
    /// MQTT 5.0: protocol name "MQTT", level 5.
    V5,
}

/// The longest client id MQTT 3.1 allows, in characters (its CONNECT
/// payload: "between 1 and 23 characters long").
const V31_MAX_CLIENT_ID: usize = 23;

/// `-V`'s value, in mosquitto_pub's spellings.
fn parse_protocol_version(text: &str) -> Result<ProtocolVersion, String> {
    const ACCEPTED: &str = "use mqttv311 (or 311) for MQTT 3.1.1, mqttv31 (or 31) for MQTT 3.1, \
                            mqttv5 (or 5) for MQTT 5.0";
    match text {
        "mqttv311" | "311" => Ok(ProtocolVersion::V311),
        "mqttv31" | "31" => Ok(ProtocolVersion::V31),
        "mqttv5" | "5" => Ok(ProtocolVersion::V5),
        _ => Err(format!("not a protocol version: {ACCEPTED}")),
    }
}

/// `Name: value` into its parts, the value trimmed.
fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not 'Name: value'"))?;
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!("{name:?} is not an HTTP header name"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

impl Connection {
    /// Whether a flag that only means something for TLS was given.
    fn wants_tls(&self) -> bool {
        self.cafile.is_some() || self.cert.is_some() || self.insecure || !self.alpn.is_empty()
    }

    /// The brokers: the `-L` URLs, or `-h`/`-p` over TCP or (with a TLS
    /// flag) TLS.
    fn brokers(&self) -> Result<Options, Failure> {
        let bad = |e: mqtt_tokio::Error| e.to_string();
        if !self.url.is_empty() {
            return Options::from_urls(&self.url).map_err(bad);
        }
        if !self.wants_tls() {
            return Ok(Options::new(self.host.as_str(), self.port.unwrap_or(1883)));
        }
        // A TLS server is only made from a URL; an IPv6 literal needs its
        // brackets there.
        let host = if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let port = self.port.unwrap_or(8883);
        Options::from_url(&format!("mqtts://{host}:{port}")).map_err(bad)
    }

    pub(crate) fn options(&self) -> Result<Options, Failure> {
        let mut options = self.brokers()?;
        let servers = options.servers();
        if self.wants_tls() && !servers.iter().any(|s| s.scheme().is_tls()) {
            return Err(
                "--cafile, --cert, --insecure and --alpn are for TLS: use an mqtts:// or \
                 wss:// URL with -L"
                    .into(),
            );
        }
        if !self.ws_headers.is_empty() && !servers.iter().any(|s| s.scheme().is_websocket()) {
            return Err("--ws-header is for WebSocket: use a ws:// or wss:// URL with -L".into());
        }
        if self.wants_tls() {
            options = options.tls(self.tls());
        }
        for (name, value) in &self.ws_headers {
            options = options.websocket_header(name, value);
        }
        options = options
            .keep_alive(Duration::from_secs(self.keepalive))
            .clean_session(!self.persistent);
        if self.protocol_version == ProtocolVersion::V31 {
            // The library refuses such an id at connect too; say it here in
            // the command line's terms. A generated id fits.
            if let Some(id) = &self.id {
                let n = id.chars().count();
                if n > V31_MAX_CLIENT_ID {
                    return Err(format!(
                        "-i {id:?} has {n} characters; MQTT 3.1 allows at most \
                         {V31_MAX_CLIENT_ID} (shorten it, or use -V mqttv311)"
                    ));
                }
            }
            options = options.mqtt_v31();
        }
        if self.protocol_version == ProtocolVersion::V5 {
            options = options.protocol(mqtt_tokio::mqtt_proto::packet::Protocol::V5);
        }
        if let Some(id) = &self.id {
            options = options.client_id(id.as_str());
        }
        if let Some(dir) = &self.store_dir {
            options = options.store_dir(dir);
        }
        match (&self.username, &self.password) {
            (Some(user), Some(password)) => {
                options = options.credentials(user, password.clone().into_bytes())
            }
            (Some(user), None) => options = options.username(user),
            _ => {}
        }
        if let Some(topic) = &self.will_topic {
            options = options.last_will(
                topic,
                self.will_payload.clone().into_bytes(),
                qos(self.will_qos),
                self.will_retain,
            );
        }
        Ok(options)
    }

    fn tls(&self) -> TlsOptions {
        let mut tls = TlsOptions::new();
        if let Some(ca) = &self.cafile {
            tls = tls.ca_file(ca);
        }
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            tls = tls.client_cert_files(cert, key);
        }
        if !self.alpn.is_empty() {
            tls = tls.alpn(&self.alpn);
        }
        if self.insecure {
            // The library's own warning goes to `tracing`, which this tool
            // prints only with -d or RUST_LOG; say it here, once even when
            // bench connects many clients.
            static WARNED: Once = Once::new();
            WARNED.call_once(|| {
                eprintln!(
                    "mqtt: warning: --insecure: the broker's certificate is not verified; \
                     anyone on the path can read and change the traffic"
                )
            });
            tls = tls.dangerous_disable_verification();
        }
        tls
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use mqtt_tokio::Scheme;

    #[derive(Debug, Parser)]
    #[command(disable_help_flag = true)]
    struct Cli {
        #[command(flatten)]
        connection: Connection,
    }

    fn servers(args: &[&str]) -> Result<Vec<(Scheme, String, u16)>, Failure> {
        let cli = Cli::try_parse_from(std::iter::once("mqtt").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        let options = cli.connection.options()?;
        Ok(options
            .servers()
            .iter()
            .map(|s| (s.scheme(), s.host().to_owned(), s.port()))
            .collect())
    }

    #[test]
    fn tls_flags_switch_host_and_port_to_tls() {
        let tcp = |port| Ok(vec![(Scheme::Mqtt, "b".to_owned(), port)]);
        let tls = |port| Ok(vec![(Scheme::Mqtts, "b".to_owned(), port)]);
        assert_eq!(servers(&["-h", "b"]), tcp(1883));
        assert_eq!(servers(&["-h", "b", "--cafile", "ca.pem"]), tls(8883));
        assert_eq!(servers(&["-h", "b", "--insecure", "-p", "1"]), tls(1));
        assert_eq!(
            servers(&["-h", "b", "--cert", "c.pem", "--key", "c.key"]),
            tls(8883)
        );
        assert_eq!(
            servers(&["-h", "::1", "--cafile", "ca.pem"]),
            Ok(vec![(Scheme::Mqtts, "::1".to_owned(), 8883)])
        );
    }

    #[test]
    fn urls_say_the_transport() {
        assert_eq!(
            servers(&["-L", "wss://b/x", "-L", "mqtt://c:1", "--ws-header", "A: b"]),
            Ok(vec![
                (Scheme::Wss, "b".to_owned(), 443),
                (Scheme::Mqtt, "c".to_owned(), 1)
            ])
        );
        assert!(servers(&["-L", "mqtt://b", "--cafile", "ca.pem"]).is_err());
        assert!(servers(&["-L", "mqtts://b", "--ws-header", "A: b"]).is_err());
        assert!(servers(&["--ws-header", "A: b"]).is_err());
        assert!(servers(&["--cert", "c.pem"]).is_err(), "--cert needs --key");
    }

    #[test]
    fn protocol_versions_in_mosquitto_pubs_spellings() {
        for (text, version) in [
            ("mqttv311", ProtocolVersion::V311),
            ("311", ProtocolVersion::V311),
            ("mqttv31", ProtocolVersion::V31),
            ("31", ProtocolVersion::V31),
            ("mqttv5", ProtocolVersion::V5),
            ("5", ProtocolVersion::V5),
        ] {
            assert_eq!(parse_protocol_version(text), Ok(version), "{text}");
        }
        for text in ["4", "3", "mqttv4", "MQTTV311", "3.1.1", "50", ""] {
            let e = parse_protocol_version(text).unwrap_err();
            assert!(
                e.contains("mqttv311") && e.contains("mqttv31") && e.contains("mqttv5"),
                "{text}: {e}"
            );
        }
        let default = Cli::try_parse_from(["mqtt"]).expect("no flags");
        assert_eq!(default.connection.protocol_version, ProtocolVersion::V311);
    }

    #[test]
    fn mqtt_v31_client_ids_fit_in_23_characters() {
        let options = |args: &[&str]| {
            let cli = Cli::try_parse_from(std::iter::once("mqtt").chain(args.iter().copied()))
                .map_err(|e| e.to_string())?;
            // `check` also fills in a generated id (from seed 0) and holds it
            // to the version's limits, as connecting would.
            cli.connection.options()?.check().map_err(|e| e.to_string())
        };
        let id_23 = "a".repeat(23);
        let id_24 = "a".repeat(24);
        assert_eq!(options(&["-V", "mqttv31", "-i", &id_23]), Ok(()));
        let e = options(&["-V", "31", "-i", &id_24]).unwrap_err();
        assert!(
            e.contains("has 24 characters") && e.contains("at most 23"),
            "{e}"
        );
        // Characters, not bytes: 23 two-byte characters fit.
        assert_eq!(options(&["-V", "mqttv31", "-i", &"é".repeat(23)]), Ok(()));
        // MQTT 3.1.1 has no such limit on the client's side.
        assert_eq!(options(&["-V", "mqttv311", "-i", &id_24]), Ok(()));
        assert_eq!(options(&["-V", "mqttv31"]), Ok(()), "a generated id");
    }

    #[test]
    fn headers() {
        assert_eq!(
            parse_header("Authorization:  Bearer x "),
            Ok(("Authorization".into(), "Bearer x".into()))
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": v").is_err());
    }
}
