//! Tests of the store on real files, each in a directory of its own under
//! the system's temporary directory, removed at the end.

mod damage;
mod permission;

use super::file::file_name;
use super::log;
use super::{Durability, FileStore, StoreError};
use mqtt_proto::packet::v5::SubscriptionOptions;
use mqtt_proto::store::{StoreOp, StoredSession};
use mqtt_proto::{PacketId, QoS, TopicFilter};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A directory removed on drop.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub(super) fn new(label: &str) -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!(
            "mqtt-client-store-{label}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The log of `client_id` in `dir`.
pub(super) fn log_path(dir: &Path, client_id: &str) -> PathBuf {
    dir.join(file_name(client_id))
}

pub(super) fn publish(id: u64, topic: &str, payload: &[u8], flags: u8) -> StoreOp {
    let mut record = vec![1];
    record.extend_from_slice(&id.to_be_bytes());
    record.push(flags);
    record.extend_from_slice(&u16::try_from(topic.len()).unwrap().to_be_bytes());
    record.extend_from_slice(topic.as_bytes());
    record.extend_from_slice(payload);
    StoreOp::decode(&record).unwrap()
}

fn id_op(tag: u8, id: u64) -> StoreOp {
    let mut record = vec![tag];
    record.extend_from_slice(&id.to_be_bytes());
    StoreOp::decode(&record).unwrap()
}

pub(super) fn sent(id: u64, pid: u16) -> StoreOp {
    let mut record = vec![2];
    record.extend_from_slice(&id.to_be_bytes());
    record.extend_from_slice(&pid.to_be_bytes());
    StoreOp::decode(&record).unwrap()
}

pub(super) fn done(id: u64) -> StoreOp {
    id_op(5, id)
}

fn pid(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

fn filter(f: &str) -> TopicFilter {
    TopicFilter::try_from(f).unwrap()
}

/// One op of every kind, in an order that leaves something of each in the
/// session.
pub(super) fn every_op() -> Vec<StoreOp> {
    vec![
        publish(1, "a/b", b"hello", 1),
        publish(2, "c", &[0xAB; 3000], 2 | 4),
        publish(3, "d/e/f", b"", 1),
        sent(1, 10),
        sent(2, 11),
        id_op(3, 2), // Released
        sent(3, 12),
        id_op(4, 3), // Unsent
        done(1),
        StoreOp::Received { pid: pid(5) },
        StoreOp::Received { pid: pid(6) },
        StoreOp::Forgotten { pid: pid(5) },
        StoreOp::ForgetIncoming,
        StoreOp::Received { pid: pid(7) },
        StoreOp::Subscribed {
            filter: filter("a/#"),
            options: SubscriptionOptions::new(QoS::AtLeastOnce),
            identifier: None,
        },
        StoreOp::Subscribed {
            filter: filter("b/+"),
            options: SubscriptionOptions::new(QoS::ExactlyOnce),
            identifier: Some(9),
        },
        StoreOp::Unsubscribed {
            filter: filter("a/#"),
        },
    ]
}

pub(super) fn fold<'a>(ops: impl IntoIterator<Item = &'a StoreOp>) -> StoredSession {
    let mut session = StoredSession::new();
    for op in ops {
        session.apply(op.clone());
    }
    session
}

pub(super) fn commit_all(store: &mut FileStore, ops: &[StoreOp]) {
    for op in ops {
        store.append(op);
    }
    store.commit().unwrap();
}

pub(super) fn open(dir: &Path, client_id: &str) -> Result<(FileStore, StoredSession), StoreError> {
    FileStore::open(dir, client_id, Durability::Sync)
}

/// The ops of every record of the log, read with the same framing.
fn records(path: &Path) -> Vec<StoreOp> {
    let bytes = fs::read(path).unwrap();
    let (_, start) = log::parse_header(&bytes).unwrap();
    let mut ops = Vec::new();
    let end = log::scan(&bytes, start, |op| ops.push(op)).unwrap();
    assert_eq!(end.valid_end, bytes.len());
    ops
}

#[test]
fn every_op_kind_round_trips() {
    let tmp = TempDir::new("round-trip");
    let (mut store, session) = open(tmp.path(), "sensor").unwrap();
    assert!(session.is_empty());
    assert_eq!(store.recovered(), None);
    commit_all(&mut store, &every_op());
    drop(store);

    assert_eq!(records(&log_path(tmp.path(), "sensor")), every_op());
    let (_, session) = open(tmp.path(), "sensor").unwrap();
    assert_eq!(session, fold(&every_op()));
    assert!(!session.is_empty());
}

#[test]
fn reopening_after_commits_gives_the_same_session() {
    let tmp = TempDir::new("reopen");
    let ops = every_op();
    let (first, second) = ops.split_at(7);
    let (mut store, _) = open(tmp.path(), "sensor").unwrap();
    commit_all(&mut store, first);
    commit_all(&mut store, second);
    drop(store);

    for _ in 0..2 {
        let (store, session) = open(tmp.path(), "sensor").unwrap();
        assert_eq!(session, fold(&ops));
        assert_eq!(store.recovered(), None);
    }
}

#[test]
fn ops_not_committed_are_not_kept() {
    let tmp = TempDir::new("uncommitted");
    let (mut store, _) = open(tmp.path(), "sensor").unwrap();
    assert!(!store.has_pending());
    commit_all(&mut store, &[publish(1, "t", b"kept", 1)]);
    assert!(!store.has_pending());
    store.append(&publish(2, "t", b"lost", 1));
    assert!(store.has_pending());
    drop(store);

    let (_, session) = open(tmp.path(), "sensor").unwrap();
    assert_eq!(session, fold(&[publish(1, "t", b"kept", 1)]));
}

#[test]
fn a_commit_with_nothing_buffered_writes_nothing() {
    let tmp = TempDir::new("empty-commit");
    let (mut store, _) = open(tmp.path(), "sensor").unwrap();
    let len = fs::metadata(log_path(tmp.path(), "sensor")).unwrap().len();
    store.commit().unwrap();
    assert_eq!(
        fs::metadata(log_path(tmp.path(), "sensor")).unwrap().len(),
        len
    );
}

/// Publishes `n` messages from `first` on and finishes all but the last.
fn churn(first: u64, n: u64, payload: &[u8]) -> Vec<StoreOp> {
    let mut ops = Vec::new();
    for id in first..first + n {
        ops.push(publish(id, "queue/item", payload, 1));
        ops.push(sent(id, u16::try_from(id % 60_000 + 1).unwrap()));
        if id + 1 < first + n {
            ops.push(done(id));
        }
    }
    ops
}

#[test]
fn compaction_keeps_the_session_and_shrinks_the_file() {
    let tmp = TempDir::new("compact");
    let path = log_path(tmp.path(), "sensor");
    let (mut store, _) = open(tmp.path(), "sensor").unwrap();
    let mut all = vec![StoreOp::Subscribed {
        filter: filter("cmd/#"),
        options: SubscriptionOptions::new(QoS::AtLeastOnce),
        identifier: None,
    }];
    commit_all(&mut store, &all);

    for round in 0..20 {
        // Ten messages of 100 bytes, nine of them finished: over 1,500
        // bytes of records.
        let mut ops = churn(round * 10, 10, &[7; 100]);
        if round > 0 {
            ops.push(done(round * 10 - 1));
        }
        // Due at once: every commit rewrites the log.
        store.compact_at(0);
        commit_all(&mut store, &ops);
        all.extend(ops);
        let len = fs::metadata(&path).unwrap().len();
        assert_eq!(store.len(), len);
        // Left: the header, the subscription and one message.
        assert!(len < 300, "the log was not rewritten: {len} bytes");
    }
    assert_eq!(records(&path), fold(&all).ops());
    drop(store);

    let (store, session) = open(tmp.path(), "sensor").unwrap();
    assert_eq!(session, fold(&all));
    assert_eq!(store.recovered(), None);
    assert!(!tmp
        .path()
        .join(format!("{}.tmp", file_name("sensor")))
        .exists());
}

#[test]
fn the_log_is_rewritten_once_past_a_mebibyte() {
    let tmp = TempDir::new("compact-natural");
    let path = log_path(tmp.path(), "sensor");
    let (mut store, _) = FileStore::open(tmp.path(), "sensor", Durability::Flush).unwrap();
    let mut all = Vec::new();
    let mut lens = Vec::new();
    for round in 0..6 {
        // 64 messages of 4 KiB: about 270 kB of records.
        let ops = churn(round * 64, 64, &[1; 4096]);
        commit_all(&mut store, &ops);
        all.extend(ops);
        lens.push(fs::metadata(&path).unwrap().len());
    }
    // The fourth round took the log past 1 MiB, and its commit rewrote
    // it down to the few messages still live.
    assert!(lens[3] < lens[2], "{lens:?}");
    assert!(lens.iter().all(|&len| len < 1 << 20), "{lens:?}");
    drop(store);
    let (_, session) = open(tmp.path(), "sensor").unwrap();
    assert_eq!(session, fold(&all));
}

#[test]
fn a_store_open_twice_in_one_process_is_in_use() {
    let tmp = TempDir::new("in-use");
    let (store, _) = open(tmp.path(), "sensor").unwrap();
    assert!(matches!(
        open(tmp.path(), "sensor"),
        Err(StoreError::InUse { .. })
    ));
    // Another client id in the same directory is another store.
    let (_other, _) = open(tmp.path(), "actuator").unwrap();
    drop(store);
    open(tmp.path(), "sensor").unwrap();
}

#[test]
fn any_client_id_makes_a_short_safe_file_name() {
    assert_eq!(file_name("a/b"), "session-612f62.log");
    assert_eq!(file_name(""), "session-.log");
    let long_a = "x".repeat(65_535);
    let long_b = format!("{}y", "x".repeat(65_534));
    assert!(file_name(&long_a).len() < 255);
    assert_ne!(file_name(&long_a), file_name(&long_b));

    let tmp = TempDir::new("long-id");
    let (mut store, _) = open(tmp.path(), &long_a).unwrap();
    commit_all(&mut store, &every_op());
    drop(store);
    let (_, session) = open(tmp.path(), &long_a).unwrap();
    assert_eq!(session, fold(&every_op()));
}

#[test]
fn the_store_directory_is_created() {
    let tmp = TempDir::new("mkdir");
    let dir = tmp.path().join("a").join("b");
    let (mut store, _) = open(&dir, "sensor").unwrap();
    commit_all(&mut store, &every_op());
    assert!(log_path(&dir, "sensor").is_file());
}

#[test]
fn errors_display_their_file_and_cause() {
    let error = StoreError::Corrupt {
        path: "/data/session-61.log".into(),
        offset: 42,
        reason: super::Damage::Checksum,
    };
    assert_eq!(
        error.to_string(),
        "/data/session-61.log is damaged at byte 42: a commit fails its checksum"
    );
    let error = crate::Error::from(error);
    assert!(matches!(
        error,
        crate::Error::Store(StoreError::Corrupt { .. })
    ));
    assert!(std::error::Error::source(&error).is_some());
}
