//! Counters the node reports on `STATS`, and a storage wrapper that counts syncs.

use paxos_core::{DurableState, Record, Storage};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Node-wide counters.
#[derive(Debug, Default)]
pub struct Stats {
    syncs: AtomicU64,
}

impl Stats {
    /// Storage syncs so far, over every role's storage.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }
}

/// Wraps a storage and counts its syncs.
pub struct Counted<S> {
    inner: S,
    stats: Arc<Stats>,
}

impl<S> Counted<S> {
    /// Counts `inner`'s syncs into `stats`.
    pub fn new(inner: S, stats: Arc<Stats>) -> Self {
        Counted { inner, stats }
    }
}

impl<S: Storage> Storage for Counted<S> {
    type Error = S::Error;
    fn load(&mut self) -> Result<DurableState, S::Error> {
        self.inner.load()
    }
    fn append(&mut self, records: &[Record]) -> Result<(), S::Error> {
        self.inner.append(records)
    }
    fn sync(&mut self) -> Result<(), S::Error> {
        self.stats.syncs.fetch_add(1, Ordering::Relaxed);
        self.inner.sync()
    }
    fn blocks(&self) -> bool {
        self.inner.blocks()
    }
}
