//! Damaged files: torn writes are repaired, damage to committed ops is
//! a typed error, and no damage panics.

use super::{commit_all, every_op, fold, log_path, open, publish, sent, TempDir};
use crate::store::log::{self, FRAME};
use crate::store::{Damage, Recovery, StoreError};
use mqtt_proto::store::{RecordError, StoreOp};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

const ID: &str = "sensor";

/// Three commits of three ops each; the file's length after the header
/// and after each commit.
struct Log {
    batches: [Vec<StoreOp>; 3],
    lens: [u64; 4],
}

impl Log {
    fn write(dir: &Path) -> Log {
        let batches = [
            vec![
                publish(1, "a", b"one", 1),
                sent(1, 1),
                publish(2, "b", b"two", 2),
            ],
            vec![sent(2, 2), publish(3, "c", b"three", 1), sent(3, 3)],
            vec![
                publish(4, "d", b"four", 1),
                sent(4, 4),
                publish(5, "e", b"five", 1),
            ],
        ];
        let path = log_path(dir, ID);
        let (mut store, _) = open(dir, ID).unwrap();
        let mut lens = [fs::metadata(&path).unwrap().len(), 0, 0, 0];
        for (batch, len) in batches.iter().zip(lens.iter_mut().skip(1)) {
            commit_all(&mut store, batch);
            *len = fs::metadata(&path).unwrap().len();
        }
        Log { batches, lens }
    }

    fn ops(&self, batches: usize) -> impl Iterator<Item = &StoreOp> {
        self.batches.iter().take(batches).flatten()
    }
}

fn flip(path: &Path, offset: u64, mask: u8) {
    let mut bytes = fs::read(path).unwrap();
    bytes[usize::try_from(offset).unwrap()] ^= mask;
    fs::write(path, bytes).unwrap();
}

fn set_len(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[test]
fn a_truncated_last_commit_is_cut_off_and_reported() {
    let tmp = TempDir::new("torn");
    let path = log_path(tmp.path(), ID);
    let log = Log::write(tmp.path());
    // The last commit's write stopped 5 bytes short: it never returned,
    // and none of its ops count.
    set_len(&path, log.lens[3] - 5);

    let (mut store, session) = open(tmp.path(), ID).unwrap();
    assert_eq!(
        store.recovered(),
        Some(&Recovery {
            offset: log.lens[2],
            discarded: log.lens[3] - 5 - log.lens[2],
            reason: Damage::Truncated,
        })
    );
    assert_eq!(session, fold(log.ops(2)));
    assert_eq!(fs::metadata(&path).unwrap().len(), log.lens[2]);

    // The store goes on from the valid prefix.
    commit_all(&mut store, &log.batches[2]);
    drop(store);
    let (store, session) = open(tmp.path(), ID).unwrap();
    assert_eq!(store.recovered(), None);
    assert_eq!(session, fold(log.ops(3)));
}

#[test]
fn a_frame_header_cut_short_is_a_torn_write() {
    let tmp = TempDir::new("torn-frame");
    let path = log_path(tmp.path(), ID);
    let log = Log::write(tmp.path());
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(&[0, 0, 0, 9, 1]).unwrap();
    drop(file);

    let (store, session) = open(tmp.path(), ID).unwrap();
    assert_eq!(
        store.recovered(),
        Some(&Recovery {
            offset: log.lens[3],
            discarded: 5,
            reason: Damage::Truncated,
        })
    );
    assert_eq!(session, fold(log.ops(3)));
}

#[test]
fn zeros_after_the_last_commit_are_a_torn_write() {
    // What a file system that extended the file but had not written the
    // data leaves after a power cut.
    let tmp = TempDir::new("zeros");
    let path = log_path(tmp.path(), ID);
    let log = Log::write(tmp.path());
    set_len(&path, log.lens[3] + 4096);

    let (store, session) = open(tmp.path(), ID).unwrap();
    assert_eq!(
        store.recovered(),
        Some(&Recovery {
            offset: log.lens[3],
            discarded: 4096,
            reason: Damage::Length,
        })
    );
    assert_eq!(session, fold(log.ops(3)));
    assert_eq!(fs::metadata(&path).unwrap().len(), log.lens[3]);
}

#[test]
fn a_commit_with_a_page_missing_in_the_middle_is_a_torn_write() {
    // A power cut during the last commit's write: the file system had
    // written its end but not a part before it (zeros now).
    let tmp = TempDir::new("missing-page");
    let path = log_path(tmp.path(), ID);
    let log = Log::write(tmp.path());
    let mut bytes = fs::read(&path).unwrap();
    let start = usize::try_from(log.lens[2]).unwrap() + FRAME;
    bytes[start..start + 10].fill(0);
    fs::write(&path, bytes).unwrap();

    let (store, session) = open(tmp.path(), ID).unwrap();
    assert_eq!(store.recovered().map(|r| r.offset), Some(log.lens[2]));
    assert_eq!(session, fold(log.ops(2)));
}

#[test]
fn a_flipped_bit_in_a_middle_commit_is_corrupt() {
    let tmp = TempDir::new("flip-middle");
    let path = log_path(tmp.path(), ID);
    let log = Log::write(tmp.path());
    let ops_of_second = log.lens[1] + u64::try_from(FRAME).unwrap() + 1;

    flip(&path, ops_of_second, 0x10);
    match open(tmp.path(), ID) {
        Err(StoreError::Corrupt {
            offset,
            reason: Damage::Checksum,
            ..
        }) => assert_eq!(offset, log.lens[1]),
        other => panic!("{other:?}"),
    }
    // Nothing was cut off: the damage is left for a person to see.
    assert_eq!(fs::metadata(&path).unwrap().len(), log.lens[3]);

    // In its length instead.
    flip(&path, ops_of_second, 0x10);
    flip(&path, log.lens[1] + 3, 0x01);
    match open(tmp.path(), ID) {
        Err(StoreError::Corrupt {
            offset,
            reason: Damage::Length,
            ..
        }) => assert_eq!(offset, log.lens[1]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_flipped_bit_in_the_last_commit_is_handled_as_a_torn_write() {
    // A crash while the last commit was being written can leave any bytes
    // in the sectors it had not finished, so a last commit failing its
    // checksum with nothing valid after it looks exactly like one whose
    // bit flipped in storage later. The store cannot tell them apart; it
    // keeps every commit before it and drops that one.
    let tmp = TempDir::new("flip-last");
    let path = log_path(tmp.path(), ID);
    let log = Log::write(tmp.path());
    flip(&path, log.lens[2] + u64::try_from(FRAME).unwrap() + 2, 0x04);

    let (store, session) = open(tmp.path(), ID).unwrap();
    assert_eq!(
        store.recovered(),
        Some(&Recovery {
            offset: log.lens[2],
            discarded: log.lens[3] - log.lens[2],
            reason: Damage::Checksum,
        })
    );
    assert_eq!(session, fold(log.ops(2)));
}

#[test]
fn any_flipped_bit_is_reported_or_costs_only_the_last_commit() {
    let tmp = TempDir::new("flip-every");
    let path = log_path(tmp.path(), ID);
    let log = Log::write(tmp.path());
    let whole = fs::read(&path).unwrap();
    let last = usize::try_from(log.lens[2]).unwrap();
    let but_last = fold(log.ops(2));

    for byte in 0..whole.len() {
        for bit in [0, 3, 7] {
            let mut bytes = whole.clone();
            bytes[byte] ^= 1 << bit;
            fs::write(&path, &bytes).unwrap();
            match open(tmp.path(), ID) {
                Ok((store, session)) => {
                    assert!(byte >= last, "byte {byte} bit {bit} went unnoticed");
                    assert_eq!(session, but_last);
                    let offset = store.recovered().map(|r| r.offset);
                    assert_eq!(offset, Some(log.lens[2]));
                }
                Err(StoreError::Corrupt { .. } | StoreError::NotAStore { .. }) => {
                    assert!(byte < last, "byte {byte} bit {bit}")
                }
                Err(StoreError::UnsupportedVersion { .. }) => assert!((8..10).contains(&byte)),
                Err(other) => panic!("byte {byte} bit {bit}: {other:?}"),
            }
        }
    }
}

#[test]
fn a_commit_with_good_checksums_holding_no_op_is_corrupt() {
    let tmp = TempDir::new("bad-op");
    let path = log_path(tmp.path(), ID);
    let log = Log::write(tmp.path());
    // Framed like any commit, so only reading its op finds it wrong: it
    // was written whole, and is damage even as the last commit.
    let body = [0, 0, 0, 1, 42];
    let len = 5u32.to_be_bytes();
    let mut frame = len.to_vec();
    frame.extend_from_slice(&crc32fast::hash(&len).to_be_bytes());
    frame.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    frame.extend_from_slice(&body);
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(&frame).unwrap();
    drop(file);

    match open(tmp.path(), ID) {
        Err(StoreError::Corrupt {
            offset,
            reason: Damage::Record(RecordError::UnknownOp(42)),
            ..
        }) => assert_eq!(offset, log.lens[3]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_full_disk_is_no_space_and_fails_the_store() {
    let tmp = TempDir::new("full");
    let (mut store, _) = open(tmp.path(), ID).unwrap();
    let kept = [publish(1, "a", b"kept", 1)];
    commit_all(&mut store, &kept);

    // Every write to /dev/full fails with ENOSPC, as on a full disk.
    let full = OpenOptions::new()
        .append(true)
        .open("/dev/full")
        .expect("/dev/full is needed for this test");
    store.write_to(full);
    store.append(&publish(2, "a", b"lost", 1));
    match store.commit() {
        Err(StoreError::NoSpace { path }) => assert_eq!(path, store_path(tmp.path())),
        other => panic!("{other:?}"),
    }
    // The op was not committed, and no later commit claims it was.
    assert!(store.has_pending());
    assert!(matches!(store.commit(), Err(StoreError::Failed { .. })));
    store.append(&publish(3, "a", b"later", 1));
    assert!(matches!(store.commit(), Err(StoreError::Failed { .. })));
    drop(store);

    let (_, session) = open(tmp.path(), ID).unwrap();
    assert_eq!(session, fold(&kept));
}

fn store_path(dir: &Path) -> std::path::PathBuf {
    log_path(&fs::canonicalize(dir).unwrap(), ID)
}

#[test]
fn a_device_file_is_read_no_further_than_its_length() {
    // /dev/zero reads forever; its length is 0, so it holds no header.
    let tmp = TempDir::new("device");
    std::os::unix::fs::symlink("/dev/zero", log_path(tmp.path(), ID)).unwrap();
    assert!(matches!(
        open(tmp.path(), ID),
        Err(StoreError::NotAStore { .. })
    ));
}

#[test]
fn a_store_of_another_client_is_refused() {
    let tmp = TempDir::new("other-client");
    let (mut store, _) = open(tmp.path(), "alice").unwrap();
    commit_all(&mut store, &every_op());
    drop(store);
    fs::rename(log_path(tmp.path(), "alice"), log_path(tmp.path(), "bob")).unwrap();

    match open(tmp.path(), "bob") {
        Err(StoreError::OtherClient {
            found, expected, ..
        }) => {
            assert_eq!(found, "alice");
            assert_eq!(expected, "bob");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_file_that_is_no_store_is_refused() {
    let tmp = TempDir::new("garbage");
    let path = log_path(tmp.path(), ID);
    for garbage in [&b""[..], b"MQTT", b"{\"session\": []}\n", &[0xFF; 4096]] {
        fs::write(&path, garbage).unwrap();
        assert!(
            matches!(open(tmp.path(), ID), Err(StoreError::NotAStore { .. })),
            "{garbage:?}"
        );
        // Left as it was.
        assert_eq!(fs::read(&path).unwrap(), garbage);
    }
}

#[test]
fn a_store_of_an_unknown_version_is_refused() {
    let tmp = TempDir::new("version");
    let path = log_path(tmp.path(), ID);
    let mut bytes = log::MAGIC.to_vec();
    bytes.extend_from_slice(&7u16.to_be_bytes());
    bytes.extend_from_slice(b"whatever comes in version 7");
    fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        open(tmp.path(), ID),
        Err(StoreError::UnsupportedVersion { version: 7, .. })
    ));
}

#[test]
fn a_damaged_header_is_corrupt() {
    let tmp = TempDir::new("header");
    let path = log_path(tmp.path(), ID);
    Log::write(tmp.path());
    // In the client id.
    flip(&path, 15, 0x02);
    assert!(matches!(
        open(tmp.path(), ID),
        Err(StoreError::Corrupt {
            offset: 0,
            reason: Damage::Header,
            ..
        })
    ));
}
