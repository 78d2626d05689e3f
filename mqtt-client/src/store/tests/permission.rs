//! Without write permission the store fails with `PermissionDenied`.
//!
//! Root ignores permission bits, and tests often run as root: then the
//! checks run in a child process, this test binary started again as the
//! unprivileged uid 65534 ("nobody") to run this same test, which finds
//! the directory to check in its environment; the test asserts on what
//! the child reports. If the child cannot be started the test fails.

use super::{commit_all, every_op, log_path, open, TempDir};
use crate::store::StoreError;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// Tells the child where the locked directory is.
const DIR_VAR: &str = "MQTT_CLIENT_STORE_LOCKED_DIR";
/// What the child prints once every check passed.
const PASSED: &str = "store permission checks passed";
const NOBODY: u32 = 65534;

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// The checks, in a directory `locked` that this process may read but
/// not write, holding a store of "kept" it may read but not write.
fn permission_checks(locked: &Path) {
    let sub = locked.join("sub");
    for (dir, client_id) in [(locked, "fresh"), (locked, "kept"), (&*sub, "fresh")] {
        match open(dir, client_id) {
            Err(StoreError::PermissionDenied { .. }) => {}
            other => panic!("{} {client_id}: {other:?}", dir.display()),
        }
    }
}

#[test]
fn a_directory_without_write_permission_is_permission_denied() {
    if let Some(locked) = std::env::var_os(DIR_VAR) {
        // This test started again as uid 65534, by itself (below).
        permission_checks(Path::new(&locked));
        println!("{PASSED}");
        return;
    }
    let tmp = TempDir::new("permission");
    set_mode(tmp.path(), 0o755);
    let locked = tmp.path().join("locked");
    let (mut store, _) = open(&locked, "kept").unwrap();
    commit_all(&mut store, &every_op());
    drop(store);
    set_mode(&log_path(&locked, "kept"), 0o444);
    set_mode(&locked, 0o555);

    let running_as_root = fs::metadata(&locked).unwrap().uid() == 0;
    if running_as_root {
        // A copy of this binary that uid 65534 may run, wherever the
        // build directory is.
        let exe = tmp.path().join("store-tests");
        fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
        set_mode(&exe, 0o755);
        let module = module_path!().split_once("::").unwrap().1;
        let name = format!("{module}::a_directory_without_write_permission_is_permission_denied");
        let out = Command::new(&exe)
            .args([&*name, "--exact", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(DIR_VAR, &locked)
            .current_dir(tmp.path())
            .uid(NOBODY)
            .gid(NOBODY)
            .output()
            .expect("the checks could not be started as uid 65534");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(PASSED),
            "the checks failed as uid 65534 ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        permission_checks(&locked);
    }
    set_mode(&locked, 0o755);
}
