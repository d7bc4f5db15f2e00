//! [`FileStorage`]: opening a data directory (lock, identity, recovery) and
//! the [`Storage`] calls on its log.

use crate::error::{io, Error, Reason};
use crate::identity::{sync_dir, Identity, IDENTITY_TMP_FILE};
use crate::log::{scan, End, LOG_FILE};
use crate::record::{self, RECORD_LEN_MAX_DEFAULT};
use paxos_core::{DurableState, Record, Storage};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Name of the lock file in the data directory.
pub const LOCK_FILE: &str = "LOCK";

/// Encoded bytes `append` buffers before writing them out (unsynced), so a
/// huge group does not hold all of its bytes in memory.
pub const WRITE_BUFFER_MAX: usize = 1 << 20;

/// The largest `record_len_max` accepted (1 GiB).
pub const RECORD_LEN_LIMIT: u32 = 1 << 30;

/// The default [`Options::preallocate`] (16 MiB).
pub const PREALLOCATE_DEFAULT: u64 = 16 << 20;

/// The largest [`Options::preallocate`] accepted (1 GiB).
pub const PREALLOCATE_LIMIT: u64 = 1 << 30;

/// The least a reservation shrinks to after the disk reports it full.
const PREALLOCATE_FLOOR: u64 = 64 << 10;

/// How [`FileStorage::open`] treats the data directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// The node has run before: its directory must hold this node's storage.
    /// A missing or empty directory is refused ([`Error::Empty`]), never
    /// silently started fresh.
    Existing,
    /// A new node: creates the directory (and its parents) if needed and
    /// refuses one that already holds data ([`Error::NotEmpty`]).
    CreateNew,
}

/// Limits of a [`FileStorage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The largest record payload written or read, in bytes. Recovery checks
    /// a record's length against it before allocating; a record over it is
    /// refused on `append` and reported as corruption on open. Default
    /// [`RECORD_LEN_MAX_DEFAULT`] (64 MiB), at most [`RECORD_LEN_LIMIT`].
    pub record_len_max: u32,
    /// Bytes of log space reserved ahead (`fallocate`) whenever a write
    /// would pass the end of the reserved space. A write into reserved
    /// space leaves the file's size alone, so its `fdatasync` need not
    /// commit the file system's journal: about a third faster on ext4. 0
    /// turns it off (every write extends the file). Default
    /// [`PREALLOCATE_DEFAULT`], at most [`PREALLOCATE_LIMIT`]; on a file
    /// system without `fallocate` it is off.
    pub preallocate: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            record_len_max: RECORD_LEN_MAX_DEFAULT,
            preallocate: PREALLOCATE_DEFAULT,
        }
    }
}

impl Options {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), Error> {
        if self.record_len_max == 0 || self.record_len_max > RECORD_LEN_LIMIT {
            return Err(Error::Options {
                field: "record_len_max",
                reason: "must be between 1 and RECORD_LEN_LIMIT (1 GiB)",
            });
        }
        if self.preallocate > PREALLOCATE_LIMIT {
            return Err(Error::Options {
                field: "preallocate",
                reason: "must be at most PREALLOCATE_LIMIT (1 GiB)",
            });
        }
        Ok(())
    }
}

/// What recovery found when the storage was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Valid records in the log.
    pub records: u64,
    /// Length of the log after recovery, in bytes.
    pub len: u64,
    /// Bytes of a record never completely written (a torn or unfinished
    /// tail), cut off the end. Never a synced record: those are refused.
    pub truncated: u64,
    /// Zero bytes after the last record, cut off the end: space reserved
    /// ahead of the log (after any restart when `preallocate` is on), or a
    /// file size that reached the disk before its data. Not data loss.
    pub zeros: u64,
}

/// Durable [`Storage`] in a data directory: an append-only log of framed
/// records, fdatasync on `sync`, torn-tail recovery on open, a lock file
/// held while it lives. See the crate docs for the rules.
pub struct FileStorage {
    dir: PathBuf,
    identity: Identity,
    log_path: PathBuf,
    log: File,
    // Held, never read: dropping it releases the directory.
    _lock: File,
    record_len_max: u32,
    /// Encoded records not yet written to the file.
    buf: Vec<u8>,
    /// Bytes of records in the file, synced or not.
    written: u64,
    /// The file's length: `written` plus reserved zeros.
    allocated: u64,
    /// The file length the last successful sync made durable.
    size_synced: u64,
    /// Bytes to reserve at a time; 0 for none.
    preallocate: u64,
    /// Bytes in the file covered by a successful sync.
    synced: u64,
    /// Set by the first failed write or sync; every later call fails.
    stopped: bool,
    recovery: Recovery,
}

// Not derived: the write buffer can hold megabytes of records.
impl std::fmt::Debug for FileStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStorage")
            .field("dir", &self.dir)
            .field("identity", &self.identity)
            .field("buffered", &self.buf.len())
            .field("written", &self.written)
            .field("synced", &self.synced)
            .field("stopped", &self.stopped)
            .field("recovery", &self.recovery)
            .finish()
    }
}

// The actor layer moves storage to a thread of its own.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<FileStorage>();
};

impl FileStorage {
    /// Opens (or, with [`OpenMode::CreateNew`], creates) the storage in
    /// `dir` for `identity`, locks it, and recovers its log: a torn tail is
    /// cut off and synced away; a bad record anywhere is refused.
    pub fn open(
        dir: &Path,
        identity: Identity,
        mode: OpenMode,
        options: Options,
    ) -> Result<FileStorage, Error> {
        options.validate()?;
        let log_path = dir.join(LOG_FILE);
        match mode {
            OpenMode::Existing => match std::fs::metadata(dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(Error::Empty { dir: dir.into() }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::Empty { dir: dir.into() })
                }
                Err(e) => return Err(io("stat", dir)(e)),
            },
            OpenMode::CreateNew => create_dir(dir)?,
        }
        let lock = lock(dir)?;
        match mode {
            OpenMode::Existing => match Identity::read(dir)? {
                Some(found) if found == identity => {}
                Some(found) => {
                    return Err(Error::WrongIdentity {
                        dir: dir.into(),
                        expected: identity,
                        found,
                    })
                }
                None if file_len(&log_path)?.unwrap_or(0) > 0 => {
                    return Err(Error::Corrupt {
                        file: dir.join(crate::IDENTITY_FILE),
                        offset: 0,
                        reason: Reason::IdentityMissing,
                    })
                }
                None => return Err(Error::Empty { dir: dir.into() }),
            },
            OpenMode::CreateNew => {
                check_fresh(dir, &log_path)?;
                // The log exists (and its entry is durable) before the
                // identity does, so "identity present, log missing" is
                // always damage.
                let log = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&log_path)
                    .map_err(io("create", &log_path))?;
                log.sync_all().map_err(io("fsync", &log_path))?;
                sync_dir(dir)?;
                identity.write(dir)?;
            }
        }
        let log = match OpenOptions::new().read(true).write(true).open(&log_path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Corrupt {
                    file: log_path,
                    offset: 0,
                    reason: Reason::LogMissing,
                })
            }
            Err(e) => return Err(io("open", &log_path)(e)),
        };
        let recovery = recover(&log, &log_path, options.record_len_max)?;
        Ok(FileStorage {
            dir: dir.into(),
            identity,
            log_path,
            log,
            _lock: lock,
            record_len_max: options.record_len_max,
            buf: Vec::new(),
            written: recovery.len,
            allocated: recovery.len,
            size_synced: recovery.len,
            preallocate: options.preallocate,
            synced: recovery.len,
            stopped: false,
            recovery,
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The identity the directory holds.
    pub fn identity(&self) -> Identity {
        self.identity
    }

    /// What recovery found when this storage was opened.
    pub fn recovery(&self) -> Recovery {
        self.recovery
    }

    /// Bytes of the log covered by a successful sync.
    pub fn synced_len(&self) -> u64 {
        self.synced
    }

    fn check_running(&self) -> Result<(), Error> {
        if self.stopped {
            return Err(Error::Stopped {
                file: self.log_path.clone(),
            });
        }
        Ok(())
    }

    /// Writes the buffer to the file (no sync). A failure stops the storage:
    /// part of the buffer may be in the file.
    fn write_out(&mut self) -> Result<(), Error> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let end = self.written + self.buf.len() as u64;
        if end > self.allocated && self.preallocate > 0 {
            self.reserve(end);
        }
        if let Err(e) = self.log.write_all_at(&self.buf, self.written) {
            self.stopped = true;
            return Err(io("write", &self.log_path)(e));
        }
        self.allocated = self.allocated.max(end);
        self.written += self.buf.len() as u64;
        self.buf.clear();
        // A single huge record may have grown the buffer; don't keep that.
        if self.buf.capacity() > 2 * WRITE_BUFFER_MAX {
            self.buf.shrink_to(WRITE_BUFFER_MAX);
        }
        Ok(())
    }
}

impl FileStorage {
    /// Reserves space up to past `end`. Reserving is only an optimisation:
    /// if the file system refuses, the log just grows by its writes (a
    /// failure for lack of space shows up again, and stops the storage, at
    /// the write).
    fn reserve(&mut self, end: u64) {
        let chunks = (end - self.allocated).div_ceil(self.preallocate);
        let len = chunks * self.preallocate;
        let flags = rustix::fs::FallocateFlags::empty();
        match rustix::fs::fallocate(&self.log, flags, self.allocated, len) {
            Ok(()) => self.allocated += len,
            Err(e) => {
                tracing::debug!(file = %self.log_path.display(), error = %e, "no preallocation");
                if e == rustix::io::Errno::NOSPC {
                    // Ask for less next time rather than fail the same big
                    // request before every write on a nearly full disk.
                    self.preallocate =
                        (self.preallocate / 2).max(PREALLOCATE_FLOOR.min(self.preallocate));
                } else {
                    self.preallocate = 0;
                }
            }
        }
    }
}

impl Storage for FileStorage {
    type Error = Error;

    /// Reads back the synced part of the log (not what was appended since).
    fn load(&mut self) -> Result<DurableState, Error> {
        self.check_running()?;
        let file = File::open(&self.log_path).map_err(io("open", &self.log_path))?;
        let len = file.metadata().map_err(io("stat", &self.log_path))?.len();
        if len < self.synced {
            return Err(Error::Corrupt {
                file: self.log_path.clone(),
                offset: len,
                reason: Reason::Shrunk,
            });
        }
        let mut state = DurableState::default();
        let found = scan(
            file.take(self.synced),
            self.synced,
            &self.log_path,
            self.record_len_max,
            |r| state.apply(&r),
        )?;
        if found.end != End::Clean {
            return Err(Error::Corrupt {
                file: self.log_path.clone(),
                offset: found.valid_len,
                reason: Reason::Shrunk,
            });
        }
        Ok(state)
    }

    /// Encodes `records` into a buffer (written out, unsynced, once it
    /// passes [`WRITE_BUFFER_MAX`]). All or nothing: a record over
    /// `record_len_max` fails the call and keeps none of it.
    fn append(&mut self, records: &[Record]) -> Result<(), Error> {
        self.check_running()?;
        let start = self.buf.len();
        for r in records {
            if let Err(e) = record::encode(r, &mut self.buf, self.record_len_max) {
                self.buf.truncate(start);
                return Err(e);
            }
        }
        if self.buf.len() >= WRITE_BUFFER_MAX {
            self.write_out()?;
        }
        Ok(())
    }

    /// Writes what is buffered and fdatasyncs once for all of it. A sync
    /// with nothing new is free. A failure stops the storage for good.
    fn sync(&mut self) -> Result<(), Error> {
        self.check_running()?;
        self.write_out()?;
        if self.written == self.synced {
            return Ok(());
        }
        // After the file's size changed (a reservation, or a write past
        // it), a full fsync: the size must be durable for the records to be
        // found, and that should not rest on fdatasync alone. Once per
        // reservation; the writes in between only need their data.
        let result = if self.size_synced == self.allocated {
            self.log.sync_data()
        } else {
            self.log.sync_all()
        };
        if let Err(e) = result {
            self.stopped = true;
            return Err(io("fdatasync", &self.log_path)(e));
        }
        self.size_synced = self.allocated;
        self.synced = self.written;
        Ok(())
    }

    fn blocks(&self) -> bool {
        true
    }
}

/// Creates `dir` if needed, making its entry in the parent durable.
fn create_dir(dir: &Path) -> Result<(), Error> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(io("create directory", dir))?;
    match dir.parent() {
        Some(p) if p.as_os_str().is_empty() => sync_dir(Path::new(".")),
        Some(p) => sync_dir(p),
        None => Ok(()),
    }
}

/// Takes the directory's lock; it is released when the file is closed.
fn lock(dir: &Path) -> Result<File, Error> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io("open", &path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(Error::Locked { dir: dir.into() }),
        Err(TryLockError::Error(e)) => Err(io("lock", &path)(e)),
    }
}

/// Refuses a directory that holds anything but what an interrupted
/// `CreateNew` leaves behind (the lock, a temporary identity, an empty log).
fn check_fresh(dir: &Path, log_path: &Path) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(io("list", dir))?;
    for entry in entries {
        let entry = entry.map_err(io("list", dir))?;
        let name = entry.file_name();
        let leftover = name == LOCK_FILE
            || name == IDENTITY_TMP_FILE
            || (name == LOG_FILE && file_len(log_path)? == Some(0));
        if !leftover {
            return Err(Error::NotEmpty { dir: dir.into() });
        }
    }
    Ok(())
}

/// A file's length, or `None` if it does not exist.
fn file_len(path: &Path) -> Result<Option<u64>, Error> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(Some(m.len())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("stat", path)(e)),
    }
}

/// Scans the whole log; cuts a torn or zero-filled tail off and syncs that.
fn recover(log: &File, path: &Path, record_len_max: u32) -> Result<Recovery, Error> {
    let len = log.metadata().map_err(io("stat", path))?.len();
    let found = scan(log, len, path, record_len_max, |_| {})?;
    let cut = len - found.valid_len;
    let (truncated, zeros) = match found.end {
        End::Zeros => (0, cut),
        _ => (cut, 0),
    };
    if found.end != End::Clean {
        log.set_len(found.valid_len).map_err(io("truncate", path))?;
    }
    // Always: what was read may have been only in the page cache (a process
    // killed between write and fdatasync). It is treated as synced from here
    // on, and a retransmitted message that finds it already there gets its
    // reply without a new sync, so it must be on disk before any reply.
    log.sync_all().map_err(io("fsync", path))?;
    if matches!(found.end, End::Torn | End::Unfinished) {
        tracing::warn!(
            file = %path.display(),
            offset = found.valid_len,
            bytes = truncated,
            end = ?found.end,
            "cut an unsynced torn tail off the log"
        );
    }
    Ok(Recovery {
        records: found.records,
        len: found.valid_len,
        truncated,
        zeros,
    })
}
