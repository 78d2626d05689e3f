//! The `mqtt` command-line tool (the `mqtt` binary of the mqtt-cli crate)
//! end to end against a private mosquitto, and interop with mosquitto_pub
//! and mosquitto_sub (package `mosquitto-clients`, which
//! `scripts/ensure-mosquitto` installs). The TLS tests use the broker's TLS
//! listeners with certificates from a fresh [`Pki`]; the WebSocket test
//! uses aedes (Debian's mosquitto has no WebSocket listener).
//!
//! The binary is not a dependency artifact of this crate, so the first test
//! to need it runs `cargo build -p mqtt-cli --bin mqtt` into the same
//! target directory. Every child process is waited for with a
//! deadline and killed when it passes it.

use mqtt_integration_tests::aedes::Aedes;
use mqtt_integration_tests::broker::Mosquitto;
use mqtt_integration_tests::pki::Pki;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

/// The `mqtt` binary, built once per test process. Test executables live in
/// `<target>/<profile>/deps/`; the binary goes to `<target>/<profile>/`.
fn mqtt_bin() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test executable's path");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("the test executable is in <target>/<profile>/deps")
            .to_path_buf();
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "-q", "-p", "mqtt-cli", "--bin", "mqtt"]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        if let Some(target_dir) = profile_dir.parent() {
            build.arg("--target-dir").arg(target_dir);
        }
        let status = build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build of the mqtt binary failed");
        let bin = profile_dir.join("mqtt");
        assert!(bin.is_file(), "{} was not built", bin.display());
        bin
    })
}

/// `mqtt`, with the library's logs off whatever the environment says.
fn mqtt() -> Command {
    let mut c = Command::new(mqtt_bin());
    c.env_remove("RUST_LOG");
    c
}

/// A child process whose output is collected by a thread; killed on drop
/// unless it was waited for.
struct Running {
    pid: i32,
    what: String,
    output: mpsc::Receiver<std::io::Result<Output>>,
    done: bool,
}

fn spawn(mut command: Command) -> Running {
    let what = format!("{command:?}");
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let pid = child.id() as i32;
    let (tx, output) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    Running {
        pid,
        what,
        output,
        done: false,
    }
}

impl Running {
    /// Waits at most `WAIT` for the process to exit; kills it and panics
    /// (showing what it wrote) when it does not.
    fn finish(mut self) -> Output {
        let result = self.output.recv_timeout(WAIT);
        self.done = true;
        match result {
            Ok(output) => output.unwrap_or_else(|e| panic!("{}: {e}", self.what)),
            Err(_) => {
                // SAFETY: plain kill(2) of our own child, not yet reaped.
                unsafe { libc::kill(self.pid, libc::SIGKILL) };
                let output = self.output.recv_timeout(WAIT);
                panic!(
                    "{} did not finish within {WAIT:?}; its output: {:?}",
                    self.what,
                    output.map(|o| o.map(|o| (
                        String::from_utf8_lossy(&o.stdout).into_owned(),
                        String::from_utf8_lossy(&o.stderr).into_owned()
                    )))
                )
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.done && self.output.try_recv().is_err() {
            // SAFETY: as above; the process has not been reaped.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
        }
    }
}

/// Runs to completion (bounded).
fn run(command: Command) -> Output {
    spawn(command).finish()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// Waits until the broker has acknowledged a SUBSCRIBE from `client_id`, so
/// that what is published next reaches that subscriber.
fn wait_subscribed(broker: &Mosquitto, client_id: &str) {
    let needle = format!("Sending SUBACK to {client_id}");
    let give_up = Instant::now() + WAIT;
    while !broker.log().contains(&needle) {
        assert!(
            Instant::now() < give_up,
            "{client_id} never subscribed:\n{}",
            broker.log()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn with_broker(command: &mut Command, broker: &Mosquitto) {
    command.args(["-h", "127.0.0.1", "-p", &broker.port().to_string()]);
}

fn mqtt_at(broker: &Mosquitto, subcommand: &str) -> Command {
    let mut c = mqtt();
    c.arg(subcommand);
    with_broker(&mut c, broker);
    c
}

fn mosquitto_client(name: &str, broker: &Mosquitto) -> Command {
    let mut c = Command::new(name);
    with_broker(&mut c, broker);
    c
}

#[test]
fn pub_at_each_qos_reaches_mosquitto_sub() {
    let broker = Mosquitto::start("");
    // Build the binary first: mosquitto_sub below gives up after 10 s.
    drop(mqtt());
    let mut sub = mosquitto_client("mosquitto_sub", &broker);
    sub.args([
        "-i", "ref-sub", "-t", "cli/pub", "-q", "2", "-C", "3", "-W", "10",
    ]);
    let sub = spawn(sub);
    wait_subscribed(&broker, "ref-sub");
    for qos in ["0", "1", "2"] {
        let mut publish = mqtt_at(&broker, "pub");
        publish.args([
            "-t",
            "cli/pub",
            "-q",
            qos,
            "-m",
            &format!("hello at qos {qos}"),
        ]);
        assert_ok(&run(publish));
    }
    let out = sub.finish();
    assert_ok(&out);
    let mut lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    lines.sort();
    assert_eq!(
        lines,
        ["hello at qos 0", "hello at qos 1", "hello at qos 2"]
    );
    // The broker saw QoS 1 and 2 flows from our client.
    let log = broker.log();
    assert!(log.contains("q1, r0"), "no QoS 1 PUBLISH:\n{log}");
    assert!(log.contains("q2, r0"), "no QoS 2 PUBLISH:\n{log}");
}

#[test]
fn sub_prints_what_mosquitto_pub_sends() {
    let broker = Mosquitto::start("");
    let mut verbose = mqtt_at(&broker, "sub");
    verbose.args([
        "-i", "cli-v", "-t", "a/b", "-t", "c/#", "-q", "2", "-C", "2", "-v",
    ]);
    let verbose = spawn(verbose);
    let mut plain = mqtt_at(&broker, "sub");
    plain.args(["-i", "cli-plain", "-t", "a/b", "-q", "1", "-C", "1"]);
    let plain = spawn(plain);
    wait_subscribed(&broker, "cli-v");
    wait_subscribed(&broker, "cli-plain");

    let mut first = mosquitto_client("mosquitto_pub", &broker);
    first.args(["-t", "a/b", "-q", "1", "-m", "hello world"]);
    assert_ok(&run(first));
    let mut second = mosquitto_client("mosquitto_pub", &broker);
    second.args(["-t", "c/d/e", "-q", "2", "-m", "second"]);
    assert_ok(&run(second));

    let out = verbose.finish();
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "a/b hello world\nc/d/e second\n");
    let out = plain.finish();
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "hello world\n");
}

/// `--store-dir` keeps the session in a file: after a run, it holds the
/// subscription and no unfinished message.
#[test]
fn sub_with_a_store_keeps_its_session_in_a_file() {
    let broker = Mosquitto::start("");
    let dir = std::env::temp_dir().join(format!("mqtt-cli-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut sub = mqtt_at(&broker, "sub");
    sub.args(["-c", "-i", "cli-store", "-t", "s/#", "-q", "2", "-C", "1"]);
    sub.arg("--store-dir").arg(&dir);
    let sub = spawn(sub);
    wait_subscribed(&broker, "cli-store");
    let mut publish = mosquitto_client("mosquitto_pub", &broker);
    publish.args(["-t", "s/1", "-q", "2", "-m", "kept"]);
    assert_ok(&run(publish));
    let out = sub.finish();
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "kept\n");
    let session = mqtt_client::stored_session(&dir, "cli-store").expect("the store");
    let filters: Vec<String> = session
        .subscriptions()
        .map(|(f, _, _)| f.as_str().to_owned())
        .collect();
    assert_eq!(filters, ["s/#"]);
    assert_eq!(session.publishes().count(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pub_from_a_file_and_an_empty_message() {
    let broker = Mosquitto::start("");
    let mut sub = mqtt_at(&broker, "sub");
    sub.args([
        "-i",
        "cli-files",
        "-t",
        "files/+",
        "-q",
        "1",
        "-C",
        "2",
        "-v",
    ]);
    let sub = spawn(sub);
    wait_subscribed(&broker, "cli-files");

    let path = std::env::temp_dir().join(format!("mqtt-cli-test-{}.txt", std::process::id()));
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(b"from a file, with spaces"))
        .expect("write the payload file");
    let mut from_file = mqtt_at(&broker, "pub");
    from_file
        .args(["-t", "files/f", "-q", "1", "-f"])
        .arg(&path);
    let result = run(from_file);
    let _ = std::fs::remove_file(&path);
    assert_ok(&result);
    let mut empty = mqtt_at(&broker, "pub");
    empty.args(["-t", "files/n", "-q", "1", "-n"]);
    assert_ok(&run(empty));

    let out = sub.finish();
    assert_ok(&out);
    assert_eq!(
        text(&out.stdout),
        "files/f from a file, with spaces\nfiles/n \n"
    );
}

#[test]
fn retained_message_reaches_a_later_subscriber() {
    let broker = Mosquitto::start("");
    let mut publish = mqtt_at(&broker, "pub");
    publish.args(["-t", "kept/here", "-q", "2", "-r", "-m", "still here"]);
    assert_ok(&run(publish));
    let mut sub = mqtt_at(&broker, "sub");
    sub.args(["-t", "kept/#", "-C", "1", "-v"]);
    let out = run(sub);
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "kept/here still here\n");
}

#[test]
fn wrong_password_fails_with_the_refusal() {
    let dir = std::env::temp_dir().join(format!("mqtt-cli-test-passwd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let passwords = dir.join("passwords");
    let mut passwd = Command::new("mosquitto_passwd");
    passwd
        .args(["-b", "-c"])
        .arg(&passwords)
        .args(["alice", "secret"]);
    assert_ok(&run(passwd));
    let broker = Mosquitto::start(&format!(
        "allow_anonymous false\npassword_file {}",
        passwords.display()
    ));

    let mut wrong = mqtt_at(&broker, "pub");
    wrong.args(["-t", "x", "-m", "y", "-u", "alice", "-P", "wrong"]);
    let out = run(wrong);
    assert!(!out.status.success(), "a wrong password must fail");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("refused")
            && (stderr.contains("not authorized") || stderr.contains("bad user name or password")),
        "the error names the refusal: {stderr}"
    );

    let mut sub = mqtt_at(&broker, "sub");
    sub.args([
        "-i",
        "alice-sub",
        "-t",
        "x",
        "-C",
        "1",
        "-u",
        "alice",
        "-P",
        "secret",
    ]);
    let sub = spawn(sub);
    wait_subscribed(&broker, "alice-sub");
    let mut right = mqtt_at(&broker, "pub");
    right.args([
        "-t", "x", "-m", "y", "-q", "1", "-u", "alice", "-P", "secret",
    ]);
    assert_ok(&run(right));
    let out = sub.finish();
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "y\n");
    drop(broker);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unreachable_broker_fails_quickly() {
    // Bind and release a port: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut publish = mqtt();
    publish.args([
        "pub",
        "-L",
        &format!("mqtt://127.0.0.1:{port}"),
        "-t",
        "x",
        "-m",
        "y",
    ]);
    let out = run(publish);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("cannot connect"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bench_small_run_loses_nothing() {
    let broker = Mosquitto::start("");
    let mut bench = mqtt_at(&broker, "bench");
    bench.args([
        "--publishers",
        "1",
        "--subscribers",
        "1",
        "--count",
        "2000",
        "-q",
        "1",
        "--size",
        "32",
    ]);
    let out = run(bench);
    assert_ok(&out);
    let summary = text(&out.stdout);
    let value = |metric: &str| -> String {
        summary
            .lines()
            .find_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                (cells.len() >= 3 && cells[1] == metric).then(|| cells[2].to_string())
            })
            .unwrap_or_else(|| panic!("no {metric} in the summary:\n{summary}"))
    };
    assert_eq!(value("sent"), "2000", "{summary}");
    assert_eq!(value("received"), "2000", "{summary}");
    assert_eq!(value("lost"), "0", "{summary}");
    assert!(value("latency p99").ends_with("ms"), "{summary}");
    // The progress bars stay off a stderr that is not a terminal.
    assert_eq!(text(&out.stderr), "", "{summary}");
}

// ---- Protocol version (-V) ---------------------------------------------------

/// What mosquitto 2.0 logs for each client that connects: "New client
/// connected from <addr> as <id> (p<n>, c<n>, k<n>...)", where the `p`
/// number is its protocol: 1 for MQTT 3.1 ("MQIsdp", level 3), 2 for MQTT
/// 3.1.1 ("MQTT", level 4), 5 for MQTT 5. Returns each (id, protocol).
fn connected_clients(broker: &Mosquitto) -> Vec<(String, String)> {
    broker
        .log()
        .lines()
        .filter_map(|line| {
            let rest = line.split_once("New client connected from ")?.1;
            let (_, rest) = rest.split_once(" as ")?;
            let (id, details) = rest.rsplit_once(" (")?;
            let protocol = details.split(',').next()?;
            Some((id.to_owned(), protocol.to_owned()))
        })
        .collect()
}

/// The protocol `client_id` connected with, as mosquitto logged it ("p1":
/// MQTT 3.1, "p2": MQTT 3.1.1); panics when it never connected.
fn protocol_of(broker: &Mosquitto, client_id: &str) -> String {
    connected_clients(broker)
        .into_iter()
        .find_map(|(id, protocol)| (id == client_id).then_some(protocol))
        .unwrap_or_else(|| panic!("{client_id} never connected:\n{}", broker.log()))
}

/// A subscriber and three publishers (QoS 0, 1 and 2), all with
/// `-V <version>`, through mosquitto: every message arrives, each QoS flow
/// completes, and every client connected with `protocol` ("p1" or "p2").
fn round_trip_speaking(version: &str, protocol: &str) {
    let broker = Mosquitto::start("");
    let sub_id = format!("sub-{version}");
    let topic = format!("proto/{version}");
    let mut sub = mqtt_at(&broker, "sub");
    sub.args(["-V", version, "-i", &sub_id, "-t", &topic])
        .args(["-q", "2", "-C", "3", "-v"]);
    let sub = spawn(sub);
    wait_subscribed(&broker, &sub_id);
    for qos in ["0", "1", "2"] {
        let mut publish = mqtt_at(&broker, "pub");
        publish
            .args(["-V", version, "-i", &format!("pub-{version}-q{qos}")])
            .args(["-t", &topic, "-q", qos, "-m", &format!("qos {qos}")]);
        assert_ok(&run(publish));
    }
    let out = sub.finish();
    assert_ok(&out);
    let mut lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    lines.sort();
    assert_eq!(
        lines,
        ["qos 0", "qos 1", "qos 2"].map(|m| format!("{topic} {m}"))
    );

    let log = broker.log();
    assert_eq!(protocol_of(&broker, &sub_id), protocol, "{log}");
    for qos in ["0", "1", "2"] {
        let publisher = format!("pub-{version}-q{qos}");
        assert_eq!(protocol_of(&broker, &publisher), protocol, "{log}");
        let received = format!("Received PUBLISH from {publisher} (d0, q{qos}, r0");
        assert!(log.contains(&received), "no {received:?}:\n{log}");
        let sent = format!("Sending PUBLISH to {sub_id} (d0, q{qos}, r0");
        assert!(log.contains(&sent), "no {sent:?}:\n{log}");
    }
    // The QoS 2 flows: the publisher's ran to its end (PUBREL; `pub` waits
    // for PUBCOMP), the subscriber answered PUBREC [MQTT-4.3.3-2]. `sub -C`
    // exits once the message is delivered, which may be before the PUBREL
    // comes, so PUBCOMP is not awaited.
    for needle in [
        format!("Received PUBREL from pub-{version}-q2"),
        format!("Received PUBREC from {sub_id}"),
    ] {
        assert!(log.contains(&needle), "no {needle:?}:\n{log}");
    }
}

#[test]
fn mqttv31_round_trip_at_each_qos() {
    // MQTT 3.1's CONNECT: protocol name "MQIsdp", level 3; mosquitto logs
    // it as p1.
    round_trip_speaking("mqttv31", "p1");
}

#[test]
fn mqttv311_round_trip_at_each_qos() {
    // MQTT 3.1.1's CONNECT: protocol name "MQTT" [MQTT-3.1.2-1], level 4
    // [MQTT-3.1.2-2]; mosquitto logs it as p2.
    round_trip_speaking("mqttv311", "p2");
}

#[test]
fn mqttv5_round_trip_at_each_qos() {
    // MQTT 5.0's CONNECT: protocol name "MQTT", level 5
    // [5.0 MQTT-3.1.2-1]; mosquitto logs it as p5.
    round_trip_speaking("mqttv5", "p5");
}

#[test]
fn protocol_version_default_numeric_spellings_and_generated_ids() {
    let broker = Mosquitto::start("");
    let named = ["default-version", "numeric-311", "numeric-31"];
    let flags: [&[&str]; 3] = [&[], &["-V", "311"], &["-V", "31"]];
    for (flags, id) in flags.into_iter().zip(named) {
        let mut publish = mqtt_at(&broker, "pub");
        publish
            .args(flags)
            .args(["-i", id, "-t", "v/x", "-q", "1", "-m", id]);
        assert_ok(&run(publish));
    }
    assert_eq!(protocol_of(&broker, "default-version"), "p2");
    assert_eq!(protocol_of(&broker, "numeric-311"), "p2");
    assert_eq!(protocol_of(&broker, "numeric-31"), "p1");

    // Without -i the client id is generated; under MQTT 3.1 it must fit in
    // 23 characters, or a 3.1 broker answers CONNACK 2, identifier rejected
    // (mosquitto 2.0 is lenient, so the length is checked here). bench
    // connects several such clients.
    let mut publish = mqtt_at(&broker, "pub");
    publish.args(["-V", "mqttv31", "-t", "v/x", "-q", "1", "-m", "generated"]);
    assert_ok(&run(publish));
    let mut bench = mqtt_at(&broker, "bench");
    bench
        .args(["-V", "mqttv31", "--publishers", "2", "--subscribers", "2"])
        .args(["--count", "200", "-q", "2", "--size", "16"]);
    let out = run(bench);
    assert_ok(&out);
    let generated: Vec<(String, String)> = connected_clients(&broker)
        .into_iter()
        .filter(|(id, _)| !named.contains(&id.as_str()))
        .collect();
    assert_eq!(
        generated.len(),
        5,
        "pub and bench's four clients: {generated:?}"
    );
    for (id, protocol) in &generated {
        assert_eq!(protocol, "p1", "{id}");
        assert!(id.chars().count() <= 23, "{id:?} is too long for MQTT 3.1");
    }
}

#[test]
fn other_protocol_versions_are_refused_naming_the_accepted_ones() {
    let subcommands: [(&str, &[&str]); 3] = [
        ("pub", &["-t", "x", "-m", "y"]),
        ("sub", &["-t", "x"]),
        ("bench", &[]),
    ];
    for (subcommand, rest) in subcommands {
        for (flag, version) in [("-V", "50"), ("-V", "4"), ("--protocol-version", "mqttv4")] {
            let mut command = mqtt();
            command.args([subcommand, flag, version]).args(rest);
            let out = run(command);
            let stderr = text(&out.stderr);
            let what = format!("{subcommand} {flag} {version}");
            // A usage error, reported before any connection is tried.
            assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
            for needle in ["mqttv311", "mqttv31", "mqttv5"] {
                assert!(
                    stderr.contains(needle),
                    "{what}: no {needle:?} in: {stderr}"
                );
            }
            assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        }
    }
}

#[test]
fn mqttv31_refuses_a_client_id_over_23_characters() {
    let broker = Mosquitto::start("");
    let long_id = "a-client-id-of-24-chars!";
    assert_eq!(long_id.len(), 24);
    let mut publish = mqtt_at(&broker, "pub");
    publish.args(["-V", "mqttv31", "-i", long_id, "-t", "x", "-m", "y"]);
    let out = run(publish);
    assert_fails_saying(&out, "MQTT 3.1 allows at most 23");
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        connected_clients(&broker).is_empty(),
        "refused before connecting:\n{}",
        broker.log()
    );
    // MQTT 3.1.1 asks brokers to take ids of up to 23 bytes [MQTT-3.1.3-5]
    // and lets them take longer ones, as mosquitto does.
    let mut publish = mqtt_at(&broker, "pub");
    publish.args(["-V", "mqttv311", "-i", long_id, "-t", "x", "-m", "y"]);
    assert_ok(&run(publish));
    assert_eq!(protocol_of(&broker, long_id), "p2");
}

// ---- TLS ---------------------------------------------------------------------

/// `mqtt <subcommand>` at a TLS port of `broker` through an `mqtts://` URL.
fn mqtt_tls(subcommand: &str, port: u16) -> Command {
    let mut c = mqtt();
    c.args([subcommand, "-L", &format!("mqtts://localhost:{port}")]);
    c
}

/// Asserts that the command failed and said `needle` on stderr.
fn assert_fails_saying(output: &Output, needle: &str) {
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "must fail; stderr: {stderr}");
    assert!(stderr.contains(needle), "no {needle:?} in: {stderr}");
}

/// A subscriber for one QoS 1 message on `topic`, started and subscribed.
fn tls_subscriber(broker: &Mosquitto, mut sub: Command, id: &str, topic: &str) -> Running {
    sub.args(["-i", id, "-t", topic, "-q", "1", "-C", "1"]);
    let sub = spawn(sub);
    wait_subscribed(broker, id);
    sub
}

#[test]
fn tls_round_trip_with_cafile() {
    let pki = Pki::generate();
    let broker = Mosquitto::start_tls(&pki, "");
    let mut sub = mqtt_tls("sub", broker.tls_port());
    sub.arg("--cafile").arg(pki.ca_cert());
    let sub = tls_subscriber(&broker, sub, "cli-tls-sub", "tls/x");
    // -h/-p with --cafile means TLS, as with mosquitto_pub.
    let mut publish = mqtt();
    publish
        .args([
            "pub",
            "-h",
            "127.0.0.1",
            "-p",
            &broker.tls_port().to_string(),
        ])
        .arg("--cafile")
        .arg(pki.ca_cert())
        .args(["-t", "tls/x", "-q", "1", "-m", "over tls"]);
    assert_ok(&run(publish));
    let out = sub.finish();
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "over tls\n");
}

#[test]
fn mutual_tls_with_cert_and_key() {
    let pki = Pki::generate();
    let broker = Mosquitto::start_tls(&pki, "");
    let port = broker.mtls_port();
    let with_cert = |mut c: Command| {
        c.arg("--cafile")
            .arg(pki.ca_cert())
            .arg("--cert")
            .arg(pki.client_cert())
            .arg("--key")
            .arg(pki.client_key());
        c
    };
    let sub = tls_subscriber(
        &broker,
        with_cert(mqtt_tls("sub", port)),
        "cli-mtls-sub",
        "mtls/x",
    );
    let mut publish = with_cert(mqtt_tls("pub", port));
    publish.args(["-t", "mtls/x", "-q", "1", "-m", "mutual"]);
    assert_ok(&run(publish));
    let out = sub.finish();
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "mutual\n");

    // Without the certificate the broker ends the handshake.
    let mut anonymous = mqtt_tls("pub", port);
    anonymous
        .arg("--cafile")
        .arg(pki.ca_cert())
        .args(["-t", "mtls/x", "-m", "no"]);
    assert_fails_saying(&run(anonymous), "client certificate");
}

#[test]
fn wrong_ca_is_refused_quickly() {
    let pki = Pki::generate();
    let broker = Mosquitto::start_tls(&pki, "");
    let mut publish = mqtt_tls("pub", broker.tls_port());
    publish
        .arg("--cafile")
        .arg(pki.other_ca_cert())
        .args(["-t", "x", "-m", "y"]);
    let started = Instant::now();
    let out = run(publish);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_fails_saying(
        &out,
        "TLS error: the server's certificate is not signed by a trusted CA",
    );
}

#[test]
fn insecure_accepts_a_certificate_for_another_host() {
    let pki = Pki::generate();
    let broker = Mosquitto::start_tls(&pki, "");
    let port = broker.wrong_host_tls_port();

    let mut checked = mqtt_tls("pub", port);
    checked
        .arg("--cafile")
        .arg(pki.ca_cert())
        .args(["-t", "x", "-m", "y"]);
    assert_fails_saying(&run(checked), "not valid for this host name");

    let mut sub = mqtt_tls("sub", port);
    sub.arg("--insecure");
    let sub = tls_subscriber(&broker, sub, "cli-insecure-sub", "insecure/x");
    // --insecure alone with -h/-p means TLS too.
    let mut publish = mqtt();
    publish.args([
        "pub",
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "--insecure",
        "-t",
        "insecure/x",
        "-q",
        "1",
        "-m",
        "unverified",
    ]);
    let out = run(publish);
    assert_ok(&out);
    assert!(
        text(&out.stderr).contains("warning: --insecure"),
        "{}",
        text(&out.stderr)
    );
    let out = sub.finish();
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "unverified\n");
}

#[test]
fn websocket_with_a_required_header() {
    let pki = Pki::generate();
    let header = ("Authorization", "Bearer cli-test");
    let broker = Aedes::start(Some(&pki), Some(header));
    let header = format!("{}: {}", header.0, header.1);

    // Retained, so that the subscriber below needs no synchronisation.
    let mut publish = mqtt();
    publish
        .args(["pub", "-L", &broker.wss_url(), "--ws-header", &header])
        .arg("--cafile")
        .arg(pki.ca_cert())
        .args(["-t", "ws/x", "-q", "1", "-r", "-m", "over websocket"]);
    assert_ok(&run(publish));
    let mut sub = mqtt();
    sub.args(["sub", "-L", &broker.ws_url(), "--ws-header", &header]);
    sub.args(["-t", "ws/x", "-C", "1"]);
    let out = run(sub);
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "over websocket\n");

    let mut refused = mqtt();
    refused.args(["pub", "-L", &broker.ws_url(), "-t", "ws/x", "-m", "no"]);
    // The upgrade lacks the header.
    assert_fails_saying(&run(refused), "WebSocket error");
}
