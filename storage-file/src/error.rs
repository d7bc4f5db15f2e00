//! The crate's one error type, and the reasons a file is judged corrupt.

use crate::identity::Identity;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Everything `storage-file` can refuse or fail at.
///
/// Opening refuses rather than guess: any variant from
/// [`crate::FileStorage::open`] means the node must not start on this
/// directory until an operator looks at it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An IO call on `path` failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done ("open", "write", "fdatasync", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// An IO error converted by a caller, with no path attached.
    #[error("{0}")]
    Os(#[from] std::io::Error),
    /// Another `FileStorage`, in this process or another, holds the directory.
    #[error("{} is locked by another storage (a second process on the same data?)", dir.display())]
    Locked {
        /// The data directory.
        dir: PathBuf,
    },
    /// [`crate::OpenMode::Existing`] found no storage: the directory is
    /// missing, empty, or was never fully created. An acceptor that lost its
    /// promises must never vote again, so this is refused.
    #[error("{} holds no storage (missing or wiped disk?); open with CreateNew only for a new node", dir.display())]
    Empty {
        /// The data directory.
        dir: PathBuf,
    },
    /// [`crate::OpenMode::CreateNew`] found data already there.
    #[error("{} already holds data; refusing to create a new node over it", dir.display())]
    NotEmpty {
        /// The data directory.
        dir: PathBuf,
    },
    /// The directory belongs to another node or cluster.
    #[error("{} belongs to {found:?}, not {expected:?}", dir.display())]
    WrongIdentity {
        /// The data directory.
        dir: PathBuf,
        /// The identity asked for.
        expected: Identity,
        /// The identity on disk.
        found: Identity,
    },
    /// The identity file names a format version this build cannot read.
    #[error("{}: format version {found}, this build reads version {supported}", file.display())]
    Version {
        /// The identity file.
        file: PathBuf,
        /// The version on disk.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// A file holds data that cannot be trusted; see [`Reason`].
    #[error("{}: corrupt at offset {offset}: {reason}", file.display())]
    Corrupt {
        /// The file.
        file: PathBuf,
        /// Byte offset of the record (or field) at fault.
        offset: u64,
        /// What is wrong.
        #[source]
        reason: Reason,
    },
    /// A record encodes to more than `record_len_max` bytes; nothing of that
    /// `append` call was kept.
    #[error("record encodes to {len} bytes, more than record_len_max {max}")]
    RecordTooLarge {
        /// Encoded payload length.
        len: usize,
        /// The configured maximum.
        max: u32,
    },
    /// A record could not be encoded.
    #[error("cannot encode record: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    /// An [`crate::Options`] field is out of range.
    #[error("invalid options: {field} {reason}")]
    Options {
        /// The field at fault.
        field: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// An earlier write or sync of this storage failed. What reached the disk
    /// is unknown (a failed fsync may have dropped dirty pages), so every
    /// later call fails: the node must stop, never retry.
    #[error("{}: an earlier write or sync failed; storage is stopped", file.display())]
    Stopped {
        /// The log file.
        file: PathBuf,
    },
    /// [`crate::FailingStorage`] failed this call on purpose.
    #[error("injected fault: {call} #{n} failed (and every call after it)")]
    Injected {
        /// The call that was failed first: "append" or "sync".
        call: &'static str,
        /// Its number, counting from 1.
        n: u64,
    },
    /// The storage wrapped by [`crate::FailingStorage`] failed.
    #[error("inner storage: {0}")]
    Inner(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// Why a file was judged corrupt.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// A record header's own checksum does not match: its length cannot be
    /// trusted, so nothing after it can be found.
    #[error("record header checksum mismatch")]
    HeaderChecksum,
    /// A record claims more bytes than `record_len_max`.
    #[error("record length {len} exceeds record_len_max {max}")]
    TooLong {
        /// Claimed payload length.
        len: u32,
        /// The configured maximum.
        max: u32,
    },
    /// A complete record's payload does not match its checksum.
    #[error("record payload checksum mismatch")]
    PayloadChecksum,
    /// A record's checksums match but its payload is not a `Record`.
    #[error("checksums match but the record cannot be decoded: {0}")]
    Undecodable(#[source] DecodeError),
    /// A record's checksums match and it decodes, but bytes follow it
    /// inside the payload (a writer never leaves any).
    #[error("checksums match but {len} bytes follow the record")]
    TrailingBytes {
        /// How many bytes follow the record.
        len: u64,
    },
    /// A record's trailer is neither the trailer nor zeros (bit rot).
    #[error("record trailer damaged")]
    Trailer,
    /// A record's padding (between payload and trailer) is not zeros.
    #[error("record padding not zero")]
    Padding,
    /// A record's trailer is still zeros: the write never finished. Only a
    /// tail of zeros may follow it, and then it is cut as a torn tail;
    /// anywhere else it is corruption.
    #[error("a record that was never completely written, followed by data")]
    Unfinished,
    /// The log ends inside a record that was already synced (the file
    /// shrank under a running storage).
    #[error("the file ends inside a synced record")]
    Shrunk,
    /// The identity file is not one this crate wrote.
    #[error("not an identity file (bad magic or length)")]
    IdentityFormat,
    /// The identity file's checksum does not match.
    #[error("identity checksum mismatch")]
    IdentityChecksum,
    /// The log holds records but the identity file is gone.
    #[error("identity file missing but the log holds records")]
    IdentityMissing,
    /// The identity file exists but the log file is gone.
    #[error("log file missing but the identity file exists")]
    LogMissing,
}

/// Why a payload whose checksums match did not decode as a `Record`: the
/// rmp-serde error, behind an `Arc` so that a [`Reason`] stays `Clone`.
///
/// rmp-serde's errors cannot be compared, so two of these are equal when
/// they say the same thing; that keeps `Reason` comparable.
#[derive(Clone, Debug, thiserror::Error)]
#[error(transparent)]
pub struct DecodeError(Arc<rmp_serde::decode::Error>);

impl From<rmp_serde::decode::Error> for DecodeError {
    fn from(e: rmp_serde::decode::Error) -> Self {
        DecodeError(Arc::new(e))
    }
}

impl PartialEq for DecodeError {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for DecodeError {}

/// Attaches an operation and a path to an IO error (the path is copied only
/// on failure, so hot paths do not allocate).
pub(crate) fn io<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}
