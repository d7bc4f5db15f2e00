//! Counters shared by every actor of a cluster (or of one node).

use std::sync::atomic::{AtomicU64, Ordering};

/// Actor messages, for the messages-per-command figure. (Commands
/// applied are read from each replica's state machine, not counted here:
/// a counter shared by several replicas would count each command once per
/// replica.)
#[derive(Debug, Default)]
pub struct Metrics {
    actor_messages: AtomicU64,
}

impl Metrics {
    /// Counts one message sent to an actor's mailbox.
    pub fn actor_message(&self) {
        self.actor_messages.fetch_add(1, Ordering::Relaxed);
    }

    /// Actor messages so far.
    pub fn actor_messages(&self) -> u64 {
        self.actor_messages.load(Ordering::Relaxed)
    }
}
