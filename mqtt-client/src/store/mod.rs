//! The session store on disk: one append-only log file per client id,
//! which keeps the durable session (the [`StoreOp`]s a connection emits)
//! across a restart of the process or of the machine.
//!
//! This module owns the files in the store directory and nothing else; what
//! the ops mean, and the rule that they are durable before any byte that
//! depends on them leaves, belong to [`mqtt_proto::store`].
//!
//! # Why a log of our own
//!
//! The session is used as a queue: a message is appended when it is
//! published and deleted a few milliseconds later when its acknowledgement
//! comes; everything is read back only when the client starts. An
//! append-only log fits that exactly: a commit is one sequential write and
//! one sync whatever the number of ops, a delete is one more small op,
//! and the dead ops are dropped by rewriting the few live ones now and
//! then. An embedded database such as redb would give transactions and
//! random reads we never use, copy-on-write pages for every commit, and
//! its own error types for damage: here every way a file can be damaged is
//! a [`StoreError`] this crate defines, and a torn write from a crash is
//! repaired by rule rather than by a library we cannot see into.
//!
//! # The file
//!
//! The file is `session-<client id in hex>.log` in the store directory (a
//! very long id is cut and completed by a hash). It starts with a header
//! that names the client id, so a file copied or renamed to another
//! client's name is refused ([`StoreError::OtherClient`]). Then each
//! commit is one frame: its length, CRC-32 checksums of the length and of
//! the body, and the ops. The layout is in the `log` submodule.
//!
//! # Damage
//!
//! Opening reads every frame and folds its ops into the session:
//!
//! - Bytes at the end that do not make a valid frame, with no valid frame
//!   after them, are a commit that a crash cut short. It never returned,
//!   so nothing that depended on it was sent: the bytes are cut off, and a
//!   warning is logged. As a commit is checked as a whole, this holds
//!   even when a power cut left its pages on the disk out of order.
//! - A damaged frame followed by a valid one means a later commit
//!   returned after it, so ops that were committed are damaged:
//!   [`StoreError::Corrupt`]. Nothing is dropped silently.
//! - A frame whose checksums hold but whose ops do not read is damage too.
//!
//! A damaged last frame is handled as a torn write: a cut-short commit
//! and a bit flipped in storage later look the same at the end of a file.
//! With [`Durability::Flush`], a power cut can lose a commit that
//! returned while keeping a later one: the file then opens as
//! [`StoreError::Corrupt`].
//!
//! # Commits and failures
//!
//! Ops are buffered in memory and written by one commit per round of the
//! client (group commit): one write, then with [`Durability::Sync`] one
//! `fdatasync` (a commit of over 1 GiB is split into frames, each synced
//! before the next is written). When the file has grown past four times its size when it
//! was opened or last rewritten (and past 1 MiB), the commit rewrites it
//! with just the ops that rebuild the session, into a temporary file that
//! is synced and renamed over the log (synced whatever the durability: the
//! rewrite must never lose what an earlier commit wrote). A rewrite that
//! fails before the rename is only logged: the old log is whole, and the
//! next attempt waits until it has doubled.
//!
//! A commit that fails leaves the store failed for good: the ops it was
//! writing stay uncommitted, and every later commit returns
//! [`StoreError::Failed`]. Retrying is not safe after a failed sync (the
//! system may have dropped the pages it could not write and report the
//! next sync as a success), and a failed write may have left part of a
//! commit behind. Opening the store again starts over from what the file
//! holds, cutting off such a part as a torn write.
//!
//! One store may be open once at a time: opening it again in the same
//! process before the first is dropped is [`StoreError::InUse`]. Two
//! processes must not share a store directory for the same client id.

mod file;
mod log;
#[cfg(test)]
mod tests;

pub(crate) use file::FileStore;

use mqtt_proto::store::RecordError;
#[cfg(doc)]
use mqtt_proto::store::StoreOp;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The session kept in `dir` for `client_id`, as a client started with
/// [`Options::store_dir`](crate::Options::store_dir) would find it: the
/// messages it would resend, the incoming QoS 2 ids it holds, the
/// filters. For tools and checks; a torn last commit is cut off as at a
/// client's start. Fails with [`StoreError::InUse`] while a client of this
/// process has the store open.
///
/// ```no_run
/// let session = mqtt_client::stored_session("/var/lib/meter/mqtt".as_ref(), "meter-17")?;
/// println!("{} messages still to send", session.publishes().count());
/// # Ok::<(), mqtt_client::StoreError>(())
/// ```
pub fn stored_session(
    dir: &Path,
    client_id: &str,
) -> Result<mqtt_proto::store::StoredSession, StoreError> {
    FileStore::open(dir, client_id, Durability::Flush).map(|(_, session)| session)
}

/// How hard a commit of the session store pushes its ops.
///
/// ```
/// use mqtt_client::Durability;
///
/// assert_eq!(Durability::default(), Durability::Sync);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// Each commit waits for the disk (`fdatasync`): the session survives
    /// a power cut. The default.
    #[default]
    Sync,
    /// Each commit hands its ops to the operating system only: the
    /// session survives the process being killed, but a power cut can lose
    /// the latest commits. Much faster on disks with slow syncs.
    Flush,
}

/// What went wrong with the session store.
///
/// ```
/// use mqtt_client::StoreError;
///
/// fn advice(error: &StoreError) -> &'static str {
///     match error {
///         StoreError::NoSpace { .. } => "free some disk space, then restart the client",
///         StoreError::PermissionDenied { .. } => "let the client write to its store directory",
///         StoreError::Corrupt { .. } => "the stored session is damaged: restore a backup or remove it",
///         _ => "see the error",
///     }
/// }
///
/// let error = StoreError::NoSpace { path: "/var/lib/app/session-73.log".into() };
/// assert_eq!(advice(&error), "free some disk space, then restart the client");
/// assert_eq!(error.to_string(), "no space left on the device for /var/lib/app/session-73.log");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading, writing or syncing the file failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error of the operating system.
        source: Arc<io::Error>,
    },
    /// The disk, or the user's quota on it, is full.
    NoSpace {
        /// The file or directory being written.
        path: PathBuf,
    },
    /// The file or directory may not be created or written: missing
    /// permission, or a read-only file system.
    PermissionDenied {
        /// The file or directory.
        path: PathBuf,
    },
    /// The file holds the session of another client id (it was copied or
    /// renamed).
    OtherClient {
        /// The file.
        path: PathBuf,
        /// The client id its header names.
        found: String,
        /// The client id it was opened for.
        expected: String,
    },
    /// Ops that were committed are damaged.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the damaged commit (or the header, at 0) starts.
        offset: u64,
        /// What is wrong with it.
        reason: Damage,
    },
    /// The file is not a session store (it does not start with the magic
    /// bytes of one).
    NotAStore {
        /// The file.
        path: PathBuf,
    },
    /// The file is a session store in a format this version of the client
    /// does not read (written by a newer one).
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The format version it names.
        version: u16,
    },
    /// An op is too large for the log (over 268,501,002 bytes, more than
    /// any MQTT message needs), so the commit that would hold it fails.
    RecordTooLarge {
        /// The file.
        path: PathBuf,
        /// The length of the op.
        len: usize,
    },
    /// The store is open already, in this process, and not yet dropped.
    InUse {
        /// The file.
        path: PathBuf,
    },
    /// An earlier commit failed (its error was returned then): nothing is
    /// written any more. Open the store again to go on from what the file
    /// holds.
    Failed {
        /// The file.
        path: PathBuf,
    },
}

impl StoreError {
    /// The error for an IO failure on `path`, typed by its kind.
    pub(crate) fn io(path: &Path, error: io::Error) -> StoreError {
        let path = path.to_path_buf();
        match error.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                StoreError::NoSpace { path }
            }
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
                StoreError::PermissionDenied { path }
            }
            _ => StoreError::Io {
                path,
                source: Arc::new(error),
            },
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            StoreError::NoSpace { path } => {
                write!(f, "no space left on the device for {}", path.display())
            }
            StoreError::PermissionDenied { path } => write!(
                f,
                "no permission to write {} (or its file system is read-only)",
                path.display()
            ),
            StoreError::OtherClient {
                path,
                found,
                expected,
            } => write!(
                f,
                "{} holds the session of client id {found:?}, not {expected:?}",
                path.display()
            ),
            StoreError::Corrupt {
                path,
                offset,
                reason,
            } => write!(
                f,
                "{} is damaged at byte {offset}: {reason}",
                path.display()
            ),
            StoreError::NotAStore { path } => {
                write!(f, "{} is not a session store", path.display())
            }
            StoreError::UnsupportedVersion { path, version } => write!(
                f,
                "{} is a session store of unknown format version {version}",
                path.display()
            ),
            StoreError::RecordTooLarge { path, len } => write!(
                f,
                "an op of {len} bytes is too large for {}",
                path.display()
            ),
            StoreError::InUse { path } => {
                write!(f, "{} is open already in this process", path.display())
            }
            StoreError::Failed { path } => write!(
                f,
                "an earlier commit to {} failed; open the store again",
                path.display()
            ),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Io { source, .. } => Some(&**source),
            StoreError::Corrupt { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// What is wrong with a damaged part of a session store.
///
/// ```
/// use mqtt_client::{Damage, StoreError};
///
/// let error = StoreError::Corrupt { path: "session.log".into(), offset: 4096, reason: Damage::Checksum };
/// assert!(matches!(error, StoreError::Corrupt { reason: Damage::Checksum, .. }));
/// assert_eq!(Damage::Checksum.to_string(), "a commit fails its checksum");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Damage {
    /// The header naming the client id is cut short or fails its checksum.
    Header,
    /// A commit's length fails its checksum, or is 0 or over the largest
    /// frame.
    Length,
    /// A commit runs past the end of the file.
    Truncated,
    /// A commit's ops fail their checksum.
    Checksum,
    /// A commit's checksums hold but the lengths of its ops do not add up.
    Framing,
    /// A commit's checksums hold but one of its ops is not valid.
    Record(RecordError),
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::Header => f.write_str("the header is cut short or fails its checksum"),
            Damage::Length => f.write_str("a commit's length is damaged"),
            Damage::Truncated => f.write_str("a commit runs past the end of the file"),
            Damage::Checksum => f.write_str("a commit fails its checksum"),
            Damage::Framing => f.write_str("the ops of a commit do not add up to its length"),
            Damage::Record(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Damage {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Damage::Record(e) => Some(e),
            _ => None,
        }
    }
}

/// What opening a store repaired: a commit a crash cut short, cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recovery {
    /// Where the cut-off bytes started (the file's length now).
    pub(crate) offset: u64,
    /// How many bytes were cut off.
    pub(crate) discarded: u64,
    /// What was wrong with the first of them.
    pub(crate) reason: Damage,
}
