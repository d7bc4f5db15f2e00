//! Durable file storage for `paxos-core`: a [`Storage`](paxos_core::Storage)
//! that survives `kill -9` and power loss, and refuses to start rather than
//! forget a promise.
//!
//! ```
//! use paxos_core::{Ballot, NodeId, Record, Storage};
//! use storage_file::{FileStorage, Identity, OpenMode, Options};
//!
//! let dir = tempfile::tempdir()?;
//! let dir = dir.path().join("acceptor");
//! let me = Identity { cluster: 7, node: NodeId(1) };
//!
//! // First start of a new node: create the directory.
//! let mut storage = FileStorage::open(&dir, me, OpenMode::CreateNew, Options::default())?;
//! storage.append(&[Record::Promise(Ballot::new(1, NodeId(2)))])?;
//! storage.append(&[Record::Round(4)])?;
//! storage.sync()?; // one fdatasync for both appends; only now may replies leave
//! drop(storage);
//!
//! // Every later start: the directory must be there, and be this node's.
//! let mut storage = FileStorage::open(&dir, me, OpenMode::Existing, Options::default())?;
//! let state = storage.load()?;
//! assert_eq!(state.promised, Ballot::new(1, NodeId(2)));
//! assert_eq!(state.round, 4);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layout
//!
//! A data directory holds one role's storage:
//!
//! - `IDENTITY` ([`IDENTITY_FILE`]): magic, format version, cluster id and
//!   node id, checksummed; written once through a synced temporary file and
//!   a rename, then a directory fsync.
//! - `LOCK` ([`LOCK_FILE`]): locked (`flock`) for the storage's lifetime, so
//!   a second process, or a second `FileStorage` in this one, gets
//!   [`Error::Locked`].
//! - `log` ([`LOG_FILE`]): records appended one after another, each framed as
//!   `[len: u32 LE][crc32c(payload): u32 LE][crc32c(len ‖ crc): u32 LE][payload][pad][trailer]`
//!   with the payload the rmp-serde encoding of a [`paxos_core::Record`],
//!   zero padding to a multiple of 8 bytes and a fixed, non-zero 8-byte
//!   trailer (see [`record`]). The third field, a checksum of the header
//!   itself, is what lets recovery trust a length; the trailer, written last,
//!   tells a finished record from an unfinished one. The file is reserved
//!   ahead with `fallocate` ([`Options::preallocate`]), so after the records
//!   it holds zeros.
//!
//! # Writing: group commit
//!
//! `append` only encodes into a buffer; `sync` writes the buffer with one
//! `write` and makes it durable with one `fdatasync`. Many appends followed
//! by one sync cost one disk flush, which is how the actor layer drives
//! storage (its storage thread appends every waiting job, then syncs once).
//! A record is acknowledged — the driver may send the reply that reports it —
//! only after the `sync` that covers it returned `Ok`.
//!
//! A failed write or fdatasync **stops** the storage: every later call
//! returns [`Error::Stopped`]. After a failed fsync the kernel may have
//! dropped the dirty pages, so a retry that "succeeds" proves nothing; the
//! node must stop and recover from the file on restart.
//!
//! # Recovery: what is cut, what is refused
//!
//! On open the log is read from the start. It may end in one of three ways
//! that are **torn tails** — cut off (truncate + fsync) and reported in
//! [`FileStorage::recovery`]:
//!
//! 1. fewer than [`record::HEADER_LEN`] bytes are left;
//! 2. a header whose own checksum matches declares a payload that runs past
//!    the end of the file;
//! 3. from a record boundary to the end, every byte is zero (reserved space,
//!    or a file size that reached the disk before its data; no real header
//!    is all zeros);
//! 4. a record that never finished: a header that fails its checksum with
//!    only zeros after it, or a header that checks out whose trailer is all
//!    zeros with only zeros after it — a write into reserved space cut
//!    short. A synced record has its non-zero trailer after its header, and
//!    no single flipped bit turns a trailer into zeros.
//!
//! **Anything else that is wrong is [`Error::Corrupt`] and open fails**, at
//! the end of the file as much as in the middle: a header whose checksum
//! fails, a length over [`Options::record_len_max`] (checked before any
//! allocation), a *complete* record whose payload checksum fails, and a
//! record whose checksums match but whose payload does not decode as exactly
//! one `Record` (a writer meant those bytes — a version mismatch or a bug —
//! and dropping them could drop a promise).
//!
//! Why this never loses an acknowledged record: a record is acknowledged only
//! once `sync` returned, so all of its bytes, trailer included, reached the
//! disk and the file extends at least to its end; a crash afterwards cannot
//! make the file end inside it nor zero its trailer. So a record the file
//! ends inside (cases 1 and 2) or with no trailer before the zeros (case 4)
//! was never acknowledged. Bit rot, in turn, never changes the file's length: a flipped
//! bit in a header fails the header checksum, and a flipped bit in a payload
//! leaves a complete record whose payload checksum fails; both are refused,
//! never taken for a torn tail. (A flipped bit in the reserved zeros after
//! the last record is cut with them if it lands in the next header's 12
//! bytes, and refused anywhere further on; it was never data either way.)
//! A flipped bit in a record's padding is refused too. This is also why the header carries its own
//! checksum: with `[len][crc][payload]` alone, a flipped bit in a length
//! could point past the end of the file and pass for a torn write, and every
//! synced record after it would be cut.
//!
//! The price is on purpose: a complete-length final record with its trailer
//! in place but a bad checksum is ambiguous between a torn write (sectors
//! written out of order) and bit rot in a synced record, and it is refused.
//! `kill -9` never produces one (the kernel holds every byte a finished
//! `write` gave it), nor does a power loss that keeps a write's sectors in
//! order; a disk that writes a record's last sector before its others, or
//! leaves non-zero garbage behind, makes the node refuse to start until an
//! operator looks. Staying down is safe; forgetting a promise is not. The
//! crate's tests truncate a log at every byte offset, write every prefix of
//! a record into reserved space, and flip every bit of a log, and check
//! exactly this.
//!
//! # Wiped or replaced disks
//!
//! An acceptor that comes back with empty storage has forgotten its
//! promises; if it votes again, two values can be chosen. So storage is never
//! created implicitly:
//!
//! - [`OpenMode::Existing`], for every start after the first, refuses a
//!   missing directory, an empty one, or one without a complete identity
//!   file ([`Error::Empty`]); it refuses a directory of another node or
//!   cluster ([`Error::WrongIdentity`]) and an identity file without its log
//!   or a log without its identity file ([`Error::Corrupt`]).
//! - [`OpenMode::CreateNew`], only for a node that has never run (or whose
//!   operator has made sure it rejoins as a new member), creates the
//!   directory and refuses one that already holds data ([`Error::NotEmpty`]).
//!   What an interrupted `CreateNew` leaves (the lock, a temporary identity,
//!   an empty log) does not count as data, so creating again works.
//!
//! # Testing the layers above
//!
//! [`FailingStorage`] wraps any storage and fails its `n`-th `append` or
//! `sync` and every call after it.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod error;
mod failing;
mod identity;
mod log;
pub mod record;
mod storage;

pub use error::{DecodeError, Error, Reason};
pub use failing::FailingStorage;
pub use identity::{Identity, FORMAT_VERSION, IDENTITY_FILE, IDENTITY_TMP_FILE};
pub use log::LOG_FILE;
pub use record::RECORD_LEN_MAX_DEFAULT;
pub use storage::{
    FileStorage, OpenMode, Options, Recovery, LOCK_FILE, PREALLOCATE_DEFAULT, PREALLOCATE_LIMIT,
    RECORD_LEN_LIMIT, WRITE_BUFFER_MAX,
};
