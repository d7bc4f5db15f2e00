//! The adapter traits that the IO edges implement, and in-memory storage.

use crate::durable::{DurableState, Record};
use crate::error::Error;
use crate::types::NodeId;

/// Durable storage for one node's [`Record`]s.
///
/// The contract that keeps Paxos safe: when [`Storage::sync`] returns `Ok`,
/// every record passed to [`Storage::append`] before it survives a crash.
/// A driver appends a [`crate::Ready`]'s records, syncs, and only then sends
/// its messages. If `sync` fails the node must stop; retrying and going on
/// could send a promise that a crash then forgets.
///
/// Methods block; an async driver runs them off its event-loop threads.
/// Snapshots and log compaction will extend this trait with methods that
/// have default implementations, so adapters written now keep compiling.
pub trait Storage {
    /// The adapter's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Reads back everything synced so far.
    fn load(&mut self) -> Result<DurableState, Self::Error>;

    /// Buffers records; they are not durable until [`Storage::sync`] returns.
    fn append(&mut self, records: &[Record]) -> Result<(), Self::Error>;

    /// As [`Storage::append`], for records the caller is done with: an
    /// adapter that keeps records in memory takes them without a copy.
    fn append_owned(&mut self, records: Vec<Record>) -> Result<(), Self::Error> {
        self.append(&records)
    }

    /// Makes every appended record durable (one sync covers them all).
    fn sync(&mut self) -> Result<(), Self::Error>;

    /// Whether `append`/`sync` may block (disk IO). Drivers run blocking
    /// storage on a thread of its own and call non-blocking storage inline.
    fn blocks(&self) -> bool {
        true
    }
}

impl<S: Storage + ?Sized> Storage for Box<S> {
    type Error = S::Error;
    fn load(&mut self) -> Result<DurableState, Self::Error> {
        (**self).load()
    }
    fn append(&mut self, records: &[Record]) -> Result<(), Self::Error> {
        (**self).append(records)
    }
    fn append_owned(&mut self, records: Vec<Record>) -> Result<(), Self::Error> {
        (**self).append_owned(records)
    }
    fn sync(&mut self) -> Result<(), Self::Error> {
        (**self).sync()
    }
    fn blocks(&self) -> bool {
        (**self).blocks()
    }
}

/// Sends protocol messages of type `M` to other nodes.
///
/// Delivery is best effort: messages may be lost, delayed, duplicated or
/// reordered, and Paxos tolerates all of it. An error means the message was
/// lost (unknown peer, full queue, closed connection); callers count it and
/// move on, they never block on a peer.
pub trait Transport<M> {
    /// The adapter's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Queues `msg` for `to` without blocking.
    fn send(&self, to: NodeId, msg: M) -> Result<(), Self::Error>;
}

/// Where a transport hands inbound messages: a node's dispatcher, a channel.
pub trait Inbox<M>: Send + Sync {
    /// Called once per received message.
    fn deliver(&self, from: NodeId, msg: M);
}

/// The user's deterministic service, fed decided commands in log order.
///
/// Every replica applies the same commands in the same order, so `apply`
/// must depend only on the state and the command (no clock, no randomness).
pub trait StateMachine {
    /// The error `restore` reports for a snapshot it cannot read.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Applies one command and returns its result to the client.
    fn apply(&mut self, command: &[u8]) -> Vec<u8>;

    /// Serializes the whole state (for snapshots and log compaction).
    fn snapshot(&self) -> Vec<u8>;

    /// Replaces the state with a snapshot taken by [`StateMachine::snapshot`].
    fn restore(&mut self, snapshot: &[u8]) -> Result<(), Self::Error>;
}

/// Storage in memory that can simulate a crash: [`MemStorage::crash`] keeps
/// only what was synced. It can also fail a chosen write, to test that a
/// node stops instead of replying.
#[derive(Clone, Debug, Default)]
pub struct MemStorage {
    records: Vec<Record>,
    synced: usize,
    writes: u64,
    fail_write: Option<u64>,
}

impl MemStorage {
    /// Empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the `n`-th call to `append` (counting from 1) and every later
    /// call and sync fail.
    pub fn fail_on_write(&mut self, n: u64) {
        self.fail_write = Some(n);
    }

    /// Loses everything that was appended but not synced, as a crash would.
    pub fn crash(&mut self) {
        self.records.truncate(self.synced);
    }

    /// The records that survive a crash.
    pub fn synced_records(&self) -> &[Record] {
        &self.records[..self.synced]
    }

    /// Records appended but not yet synced.
    pub fn unsynced(&self) -> usize {
        self.records.len() - self.synced
    }

    fn failing(&self) -> Option<u64> {
        self.fail_write.filter(|n| self.writes >= *n)
    }
}

impl Storage for MemStorage {
    type Error = Error;

    fn load(&mut self) -> Result<DurableState, Error> {
        Ok(DurableState::from_records(self.synced_records()))
    }

    fn append(&mut self, records: &[Record]) -> Result<(), Error> {
        self.append_owned(records.to_vec())
    }

    fn append_owned(&mut self, records: Vec<Record>) -> Result<(), Error> {
        self.writes += 1;
        if let Some(n) = self.failing() {
            return Err(Error::InjectedStorageFault(n));
        }
        self.records.extend(records);
        Ok(())
    }

    fn sync(&mut self) -> Result<(), Error> {
        if let Some(n) = self.failing() {
            return Err(Error::InjectedStorageFault(n));
        }
        self.synced = self.records.len();
        Ok(())
    }

    fn blocks(&self) -> bool {
        false
    }
}

/// A [`MemStorage`] behind a shared handle: clones see the same records, so
/// a node restarted in the same process over a clone of its storage finds
/// what the crashed one synced. (A cloned `MemStorage` is a separate copy.)
#[derive(Clone, Debug, Default)]
pub struct SharedMemStorage(std::sync::Arc<std::sync::Mutex<MemStorage>>);

impl SharedMemStorage {
    /// Empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `f` on the storage (a poisoned lock is taken over: the records
    /// are plain data, and a panic elsewhere must not hide them).
    pub fn with<T>(&self, f: impl FnOnce(&mut MemStorage) -> T) -> T {
        match self.0.lock() {
            Ok(mut s) => f(&mut s),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Loses what was appended but not synced, as a crash would.
    pub fn crash(&self) {
        self.with(MemStorage::crash);
    }

    /// See [`MemStorage::fail_on_write`].
    pub fn fail_on_write(&self, n: u64) {
        self.with(|s| s.fail_on_write(n));
    }
}

impl Storage for SharedMemStorage {
    type Error = Error;

    fn load(&mut self) -> Result<DurableState, Error> {
        self.with(|s| s.load())
    }

    fn append(&mut self, records: &[Record]) -> Result<(), Error> {
        self.with(|s| s.append(records))
    }

    fn append_owned(&mut self, records: Vec<Record>) -> Result<(), Error> {
        self.with(|s| s.append_owned(records))
    }

    fn sync(&mut self) -> Result<(), Error> {
        self.with(|s| s.sync())
    }

    fn blocks(&self) -> bool {
        false
    }
}
