//! Counters shared by every actor of a cluster (or of one node).

use std::sync::atomic::{AtomicU64, Ordering};

/// Actor messages and commits, for the messages-per-command figure.
#[derive(Debug, Default)]
pub struct Metrics {
    actor_messages: AtomicU64,
    applied: AtomicU64,
}

impl Metrics {
    /// Counts one message sent to an actor's mailbox.
    pub fn actor_message(&self) {
        self.actor_messages.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts commands applied (by one replica; call once per cluster).
    pub fn applied(&self, n: u64) {
        self.applied.fetch_add(n, Ordering::Relaxed);
    }

    /// Actor messages so far.
    pub fn actor_messages(&self) -> u64 {
        self.actor_messages.load(Ordering::Relaxed)
    }

    /// Commands applied so far.
    pub fn commands_applied(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }
}
