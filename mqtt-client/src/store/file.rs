//! [`FileStore`]: the log file of one client id, its group commit and its
//! compaction. The byte layout is in `log`; this file does the IO.

use super::log::{self, Batch, HeaderError};
use super::{Damage, Durability, Recovery, StoreError};
use mqtt_proto::store::{StoreOp, StoredSession};
use std::collections::BTreeSet;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// The log is rewritten when it reaches this size at least...
const MIN_COMPACT: u64 = 1 << 20;
/// ... and this many times its size after the last rewrite.
const GROWTH: u64 = 4;
/// A commit buffer larger than this is given back to the allocator after
/// the commit, so one burst does not hold memory for good.
const KEEP_BUFFER: usize = 64 << 10;

/// The session store of one client id: an append-only log file.
///
/// Call [`append`](FileStore::append) for each op as the connection emits
/// it, then [`commit`](FileStore::commit) once per round before writing
/// any byte; see the module documentation for what a failed commit means.
pub(crate) struct FileStore {
    /// The log file.
    path: PathBuf,
    /// Its directory, synced after a rename.
    dir: PathBuf,
    /// Where a new log is written before it is renamed over `path`.
    temp: PathBuf,
    file: File,
    durability: Durability,
    /// Ops not yet committed.
    pending: Batch,
    /// The length of an op too large for the log, appended since the last
    /// commit.
    too_large: Option<usize>,
    /// Committed bytes: the file's length as far as this store knows.
    len: u64,
    /// The length at which the next commit rewrites the log.
    compact_at: u64,
    /// A commit failed: nothing is written any more.
    failed: bool,
    recovered: Option<Recovery>,
    /// The entry in [`OPEN`], removed on drop.
    _open: OpenGuard,
}

impl FileStore {
    /// Opens or creates the store of `client_id` in `dir` (creating `dir`),
    /// and returns the session it holds.
    pub(crate) fn open(
        dir: &Path,
        client_id: &str,
        durability: Durability,
    ) -> Result<(FileStore, StoredSession), StoreError> {
        fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let dir = fs::canonicalize(dir).map_err(|e| StoreError::io(dir, e))?;
        let name = file_name(client_id);
        let path = dir.join(&name);
        let temp = dir.join(format!("{name}.tmp"));
        let open = OpenGuard::new(&path)?;
        // A rewrite that a crash interrupted leaves its temporary file.
        remove_if_there(&temp)?;

        let file = match OpenOptions::new().read(true).append(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut header = Vec::new();
                log::encode_header(client_id, &mut header);
                let file = write_new(&temp, &header)?;
                fs::rename(&temp, &path).map_err(|e| StoreError::io(&path, e))?;
                sync_dir(&dir)?;
                file
            }
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        let bytes = read_all(&file, &path)?;
        let frames = match log::parse_header(&bytes) {
            Ok((found, frames)) if found == client_id.as_bytes() => frames,
            Ok((found, _)) => {
                return Err(StoreError::OtherClient {
                    path,
                    found: String::from_utf8_lossy(found).into_owned(),
                    expected: client_id.to_owned(),
                })
            }
            Err(HeaderError::NotAStore) => return Err(StoreError::NotAStore { path }),
            Err(HeaderError::Version(version)) => {
                return Err(StoreError::UnsupportedVersion { path, version })
            }
            Err(HeaderError::Damaged) => {
                return Err(StoreError::Corrupt {
                    path,
                    offset: 0,
                    reason: Damage::Header,
                })
            }
        };
        let mut session = StoredSession::new();
        let end =
            log::scan(&bytes, frames, |op| session.apply(op)).map_err(|c| StoreError::Corrupt {
                path: path.clone(),
                offset: to_u64(c.offset),
                reason: c.reason,
            })?;
        let len = to_u64(end.valid_end);
        let recovered = match end.torn {
            None => None,
            Some(reason) => {
                let discarded = to_u64(bytes.len().saturating_sub(end.valid_end));
                tracing::warn!(
                    path = %path.display(),
                    offset = len,
                    discarded,
                    %reason,
                    "session store: cutting off the tail of a write a crash interrupted"
                );
                file.set_len(len)
                    .and_then(|()| file.sync_data())
                    .map_err(|e| StoreError::io(&path, e))?;
                Some(Recovery {
                    offset: len,
                    discarded,
                    reason,
                })
            }
        };
        let store = FileStore {
            path,
            dir,
            temp,
            file,
            durability,
            pending: Batch::default(),
            too_large: None,
            len,
            compact_at: compact_at(len),
            failed: false,
            recovered,
            _open: open,
        };
        Ok((store, session))
    }

    /// Buffers one op (not durable yet): it is only encoded into memory.
    pub(crate) fn append(&mut self, op: &StoreOp) {
        if let Err(len) = self.pending.push(op) {
            // Reported by the next commit, which then fails.
            self.too_large = Some(len);
        }
    }

    /// Whether ops are buffered and not yet committed.
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty() || self.too_large.is_some()
    }

    /// Writes the buffered ops in one write and syncs per the durability;
    /// after `Ok` they survive a process kill (and with
    /// [`Durability::Sync`] a power cut). Rewrites the log when it is due.
    ///
    /// After an error, the ops stay uncommitted and every later commit
    /// returns [`StoreError::Failed`].
    pub(crate) fn commit(&mut self) -> Result<(), StoreError> {
        if self.failed {
            return Err(StoreError::Failed {
                path: self.path.clone(),
            });
        }
        if let Some(len) = self.too_large {
            self.failed = true;
            return Err(StoreError::RecordTooLarge {
                path: self.path.clone(),
                len,
            });
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        // Nearly always one frame: one write, one sync. A commit too large
        // for one frame syncs each before writing the next, so a valid
        // frame is only ever found after frames that were synced.
        let mut file = &self.file;
        let sync = self.durability == Durability::Sync;
        for frame in self.pending.seal() {
            let written =
                file.write_all(frame)
                    .and_then(|()| if sync { file.sync_data() } else { Ok(()) });
            if let Err(e) = written {
                self.failed = true;
                return Err(StoreError::io(&self.path, e));
            }
        }
        self.len = self.len.saturating_add(to_u64(self.pending.len()));
        self.pending.clear(KEEP_BUFFER);
        if self.len >= self.compact_at {
            self.compact()?;
        }
        Ok(())
    }

    /// Recovery notes from open: the torn tail that was cut off, if any
    /// (`open` logs it as a warning too).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn recovered(&self) -> Option<&Recovery> {
        self.recovered.as_ref()
    }

    /// Writes the next commits to `file` instead of the log: a test points
    /// it at a device that fails writes.
    #[cfg(test)]
    pub(super) fn write_to(&mut self, file: File) {
        self.file = file;
    }

    /// Moves the next rewrite of the log to `len` bytes.
    #[cfg(test)]
    pub(super) fn compact_at(&mut self, len: u64) {
        self.compact_at = len;
    }

    /// The committed length of the log.
    #[cfg(test)]
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    /// Rewrites the log with the fewest ops that rebuild the session.
    ///
    /// Until the rename, a failure leaves the old log whole and in use: it
    /// is logged, and the next attempt waits until the log has doubled.
    /// After the rename, a failure to sync the directory leaves it unknown
    /// which file a power cut would bring back, so the store fails.
    fn compact(&mut self) -> Result<(), StoreError> {
        let (file, len) = match self.rewrite() {
            Ok(rewritten) => rewritten,
            Err(error) => {
                tracing::warn!(
                    path = %self.path.display(),
                    %error,
                    "session store: rewriting the log failed; it keeps growing"
                );
                // Best effort: a leftover is removed at the next open.
                let _ = fs::remove_file(&self.temp);
                self.compact_at = self.len.saturating_mul(2);
                return Ok(());
            }
        };
        self.file = file;
        self.len = len;
        self.compact_at = compact_at(len);
        if let Err(error) = sync_dir(&self.dir) {
            self.failed = true;
            return Err(error);
        }
        Ok(())
    }

    /// Writes the compacted log to the temporary file, syncs it and renames
    /// it over the log; returns the new file and its length.
    fn rewrite(&mut self) -> Result<(File, u64), StoreError> {
        let mut bytes = read_all(&self.file, &self.path)?;
        bytes.truncate(usize::try_from(self.len).unwrap_or(usize::MAX));
        let damaged = |offset: usize, reason| StoreError::Corrupt {
            path: self.path.clone(),
            offset: to_u64(offset),
            reason,
        };
        let (_, frames) = log::parse_header(&bytes).map_err(|_| damaged(0, Damage::Header))?;
        let mut session = StoredSession::new();
        let end = log::scan(&bytes, frames, |op| session.apply(op))
            .map_err(|c| damaged(c.offset, c.reason))?;
        if let Some(reason) = end.torn {
            // The bytes up to `len` were all committed whole: damage.
            return Err(damaged(end.valid_end, reason));
        }
        let mut out = bytes.get(..frames).unwrap_or_default().to_vec();
        drop(bytes);
        let mut batch = Batch::default();
        for op in session.ops() {
            // Every op was read from the log, so it fits.
            if let Err(len) = batch.push(&op) {
                return Err(StoreError::RecordTooLarge {
                    path: self.path.clone(),
                    len,
                });
            }
        }
        out.extend(batch.seal().flatten());
        let file = write_new(&self.temp, &out)?;
        fs::rename(&self.temp, &self.path).map_err(|e| StoreError::io(&self.path, e))?;
        Ok((file, to_u64(out.len())))
    }
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.path)
            .field("durability", &self.durability)
            .field("len", &self.len)
            .field("pending", &self.pending.len())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

/// The file name of the store of `client_id`: the id in hex, so any id
/// makes a safe name. An id longer than 100 bytes is cut to its first 84
/// and completed by a 64-bit hash of the whole, to stay well below the
/// 255-byte limit of file names; the header still names the whole id.
pub(super) fn file_name(client_id: &str) -> String {
    const WHOLE: usize = 100;
    const PREFIX: usize = 84;
    let id = client_id.as_bytes();
    let mut name = String::from("session-");
    if id.len() <= WHOLE {
        push_hex(&mut name, id);
    } else {
        push_hex(&mut name, id.iter().take(PREFIX));
        name.push('-');
        push_hex(&mut name, &fnv1a(id).to_be_bytes());
    }
    name.push_str(".log");
    name
}

fn push_hex<'a>(out: &mut String, bytes: impl IntoIterator<Item = &'a u8>) {
    use std::fmt::Write as _;
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
}

/// FNV-1a, 64 bits: only tells long ids apart in file names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn compact_at(len: u64) -> u64 {
    len.saturating_mul(GROWTH).max(MIN_COMPACT)
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The whole file, never more than its length when the read starts (a
/// device file such as `/dev/full` would read forever).
fn read_all(mut file: &File, path: &Path) -> Result<Vec<u8>, StoreError> {
    file.seek(SeekFrom::Start(0))
        .map_err(|e| StoreError::io(path, e))?;
    let len = file.metadata().map_err(|e| StoreError::io(path, e))?.len();
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(usize::try_from(len).unwrap_or(usize::MAX))
        .map_err(|_| StoreError::io(path, io::ErrorKind::OutOfMemory.into()))?;
    file.take(len)
        .read_to_end(&mut bytes)
        .map_err(|e| StoreError::io(path, e))?;
    Ok(bytes)
}

/// Creates `path` afresh holding `bytes`, synced, open for reading and
/// appending.
fn write_new(path: &Path, bytes: &[u8]) -> Result<File, StoreError> {
    let io = |e| StoreError::io(path, e);
    remove_if_there(path)?;
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create_new(true)
        .open(path)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(file)
}

fn remove_if_there(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The logs open in this process.
static OPEN: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// Holds a log's entry in [`OPEN`] while its store lives.
#[derive(Debug)]
struct OpenGuard(PathBuf);

impl OpenGuard {
    fn new(path: &Path) -> Result<OpenGuard, StoreError> {
        // The set stays consistent even if a holder panicked.
        let mut open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
        if !open.insert(path.to_path_buf()) {
            return Err(StoreError::InUse {
                path: path.to_path_buf(),
            });
        }
        Ok(OpenGuard(path.to_path_buf()))
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        OPEN.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.0);
    }
}
