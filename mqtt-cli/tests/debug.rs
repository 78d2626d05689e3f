//! `-d/--debug` and `RUST_LOG`: the library's `tracing` logs on stderr, and
//! nothing but the tool's own words without them. The client connects to a
//! port where nothing listens, so no broker is needed: the library logs its
//! attempt, then the tool reports the failure in one line.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A loopback port that was free a moment ago: nothing listens there.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `mqtt [before...] pub -L <closed port> -t x -m y [after...]` with
/// `RUST_LOG` as given (unset for `None`); killed if it runs for more than
/// ten seconds.
fn publish(before: &[&str], after: &[&str], rust_log: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mqtt"));
    command
        .args(before)
        .arg("pub")
        .args(["-L", &format!("mqtt://127.0.0.1:{}", closed_port())])
        .args(["-t", "x", "-m", "y"])
        .args(after)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match rust_log {
        Some(filter) => command.env("RUST_LOG", filter),
        None => command.env_remove("RUST_LOG"),
    };
    let mut child = command.spawn().expect("the mqtt binary runs");
    let give_up = Instant::now() + Duration::from_secs(10);
    while child.try_wait().expect("waiting for mqtt").is_none() {
        if Instant::now() > give_up {
            let _ = child.kill();
            panic!("{command:?} did not finish within 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("the output of mqtt")
}

fn stderr_of(output: &Output) -> String {
    assert!(!output.status.success(), "nothing listens: must fail");
    assert!(output.stdout.is_empty(), "logs never go to stdout");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Only the tool's own line: no log output.
fn assert_quiet(stderr: &str) {
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("mqtt pub: cannot connect"), "{stderr}");
}

/// The library's logs (their target names the crate), then the tool's line.
fn assert_logs(stderr: &str) {
    assert!(stderr.lines().count() > 1, "{stderr}");
    assert!(stderr.contains("mqtt_client"), "{stderr}");
    assert!(stderr.contains("mqtt pub: cannot connect"), "{stderr}");
}

#[test]
fn without_the_flag_stderr_has_only_the_failure() {
    assert_quiet(&stderr_of(&publish(&[], &[], None)));
}

#[test]
fn debug_shows_the_library_logs_before_or_after_the_subcommand() {
    let stderr = stderr_of(&publish(&["-d"], &[], None));
    assert_logs(&stderr);
    assert!(stderr.contains("DEBUG"), "debug level by default: {stderr}");
    assert_logs(&stderr_of(&publish(&[], &["--debug"], None)));
}

#[test]
fn rust_log_chooses_when_set() {
    assert_quiet(&stderr_of(&publish(&["-d"], &[], Some("off"))));
    let stderr = stderr_of(&publish(&[], &[], Some("mqtt_client=warn")));
    assert_logs(&stderr);
    assert!(!stderr.contains("DEBUG"), "warnings only: {stderr}");
}
