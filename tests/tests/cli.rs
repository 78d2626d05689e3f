//! The `mqtt` command-line tool (mqtt-tokio's `mqtt` binary, feature `cli`)
//! end to end against a private mosquitto, and interop with mosquitto_pub
//! and mosquitto_sub (package `mosquitto-clients`, which
//! `scripts/ensure-mosquitto` installs).
//!
//! The binary is not a dependency artifact of this crate, so the first test
//! to need it runs `cargo build -p mqtt-tokio --features cli --bin mqtt`
//! into the same target directory. Every child process is waited for with a
//! deadline and killed when it passes it.

use mqtt_integration_tests::broker::Mosquitto;
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
        build.args([
            "build",
            "-q",
            "-p",
            "mqtt-tokio",
            "--features",
            "cli",
            "--bin",
            "mqtt",
        ]);
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

fn mqtt() -> Command {
    Command::new(mqtt_bin())
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
            && (stderr.contains("NotAuthorized") || stderr.contains("BadUsernameOrPassword")),
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
}
