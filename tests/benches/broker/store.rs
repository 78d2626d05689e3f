//! The session-store phase's own parts: which store a publisher runs with
//! (`BENCH_CHILD=store:<library>:1:<sync|flush|off>`), the fresh directory
//! it keeps the store in (removed when the run ends), and the file system
//! that directory is on, which the table names because what a sync costs
//! depends on it. The publishing itself is the throughput phase's
//! (`ours::throughput`, `theirs::throughput`); this module must not time
//! anything.

use mqtt_client::{Durability, Options};
use std::path::{Path, PathBuf};

/// The store a publisher of the store phase runs with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum StoreMode {
    /// `store_dir` with `Durability::Sync`: one `fdatasync` per round.
    Sync,
    /// `store_dir` with `Durability::Flush`: written, not synced.
    Flush,
    /// No store: the throughput phase's publisher as it is.
    Off,
}

impl StoreMode {
    /// The mode a spec's fourth field names (`sync`, `flush`, `off`).
    pub(crate) fn parse(field: &str) -> StoreMode {
        match field {
            "sync" => StoreMode::Sync,
            "flush" => StoreMode::Flush,
            "off" => StoreMode::Off,
            other => panic!("unknown store mode {other} (sync, flush or off)"),
        }
    }

    fn durability(self) -> Option<Durability> {
        match self {
            StoreMode::Sync => Some(Durability::Sync),
            StoreMode::Flush => Some(Durability::Flush),
            StoreMode::Off => None,
        }
    }
}

/// Where the store phase's directories are made: `BENCH_STORE_DIR`, or
/// `bench/store` in the target directory the bench binary runs from (a
/// real disk, unlike a `/tmp` that may be a tmpfs where a sync is free).
pub(crate) fn base_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BENCH_STORE_DIR") {
        return dir.into();
    }
    let exe = std::env::current_exe().expect("the bench binary's path");
    exe.ancestors()
        .find(|d| d.file_name().is_some_and(|n| n == "deps"))
        .and_then(|deps| deps.parent()?.parent())
        .map_or_else(std::env::temp_dir, Path::to_path_buf)
        .join("bench")
        .join("store")
}

/// A store directory of one publisher: made fresh, removed on drop.
pub(crate) struct StoreDir {
    path: PathBuf,
    client_id: String,
    durability: Durability,
}

impl StoreDir {
    /// A new empty directory under [`base_dir`] and a client id no other
    /// run uses, for `mode`; None when the mode has no store.
    pub(crate) fn create(mode: StoreMode) -> Option<StoreDir> {
        let durability = mode.durability()?;
        let client_id = format!("bench-store-{}-{mode:?}", std::process::id()).to_lowercase();
        let path = base_dir().join(&client_id);
        // A directory left by a killed run of the same pid: start empty.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        Some(StoreDir {
            path,
            client_id,
            durability,
        })
    }

    /// `options` with this store turned on.
    pub(crate) fn apply(&self, options: Options) -> Options {
        options
            .client_id(&self.client_id)
            .store_dir(&self.path)
            .store_durability(self.durability)
    }

    /// The bytes the store's files hold now.
    pub(crate) fn bytes(&self) -> u64 {
        std::fs::read_dir(&self.path)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }
}

impl Drop for StoreDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The type of the file system `dir` is on (`ext4`, `tmpfs`, `overlay`,
/// ...): the mount in `/proc/self/mountinfo` with the longest mount point
/// that holds `dir`; "?" when that cannot be read.
pub(crate) fn filesystem(dir: &Path) -> String {
    let _ = std::fs::create_dir_all(dir);
    let Ok(dir) = dir.canonicalize() else {
        return "?".into();
    };
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return "?".into();
    };
    // Fields: id parent major:minor root mount-point options... - type source ...
    mounts
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mount_point = left.split(' ').nth(4)?.replace("\\040", " ");
            let fs_type = right.split(' ').next()?;
            dir.starts_with(&mount_point)
                .then(|| (mount_point.len(), fs_type.to_string()))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "?".into(), |(_, fs_type)| fs_type)
}
