//! Counters of what the transport did, and a way to wait for them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// One counter. Hot-path counters (frames, loopback) do not wake waiters;
/// the rest (rare events) do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Counter {
    FramesOut,
    FramesIn,
    Loopback,
    DroppedQueueFull,
    DroppedTooLarge,
    DroppedConnLost,
    DialsOk,
    DialsFailed,
    DialsRefused,
    ConnsLost,
    ConnsAccepted,
    ConnsRefused,
    ConnsClosedBadFrame,
    ConnsEnded,
    ConnsReplaced,
    TasksLive,
}

const COUNTERS: usize = Counter::TasksLive as usize + 1;

/// A copy of the counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Message frames written to peers' sockets (not necessarily received).
    pub frames_out: u64,
    /// Message frames received, decoded and handed to the inbox.
    pub frames_in: u64,
    /// Messages to this node handed straight to its inbox.
    pub loopback: u64,
    /// Messages refused at send because the peer's queue was full.
    pub dropped_queue_full: u64,
    /// Messages refused at send because they encode above `frame_len_max`.
    pub dropped_too_large: u64,
    /// Messages taken from a queue whose write failed (connection broke).
    pub dropped_conn_lost: u64,
    /// Outbound connections that completed the handshake.
    pub dials_ok: u64,
    /// Outbound attempts that failed: connect error, IO error, timeout.
    pub dials_failed: u64,
    /// Outbound attempts the peer refused, or whose reply did not match
    /// the expected peer.
    pub dials_refused: u64,
    /// Outbound connections that broke after the handshake.
    pub conns_lost: u64,
    /// Inbound connections that completed the handshake.
    pub conns_accepted: u64,
    /// Inbound connections refused before or at the handshake: mismatched
    /// or malformed hello, garbage, timeout, too many connections.
    pub conns_refused: u64,
    /// Inbound connections closed after the handshake for a bad frame:
    /// oversized length, truncated frame, undecodable payload, IO error.
    pub conns_closed_bad_frame: u64,
    /// Inbound connections the peer closed cleanly, that shutdown closed,
    /// or that a newer connection from the same node replaced.
    pub conns_ended: u64,
    /// Inbound connections replaced by a newer one from the same node.
    pub conns_replaced: u64,
    /// Transport tasks (listener, writers, readers) still running.
    pub tasks_live: u64,
}

/// The live counters, shared by every task of one transport.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    counters: [AtomicU64; COUNTERS],
    changed: Notify,
}

impl Stats {
    pub(crate) fn add(&self, c: Counter, n: u64) {
        self.counters[c as usize].fetch_add(n, Ordering::Relaxed);
        if !matches!(
            c,
            Counter::FramesOut | Counter::FramesIn | Counter::Loopback
        ) {
            self.changed.notify_waiters();
        }
    }

    pub(crate) fn bump(&self, c: Counter) {
        self.add(c, 1);
    }

    fn get(&self, c: Counter) -> u64 {
        self.counters[c as usize].load(Ordering::Relaxed)
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        use Counter::*;
        StatsSnapshot {
            frames_out: self.get(FramesOut),
            frames_in: self.get(FramesIn),
            loopback: self.get(Loopback),
            dropped_queue_full: self.get(DroppedQueueFull),
            dropped_too_large: self.get(DroppedTooLarge),
            dropped_conn_lost: self.get(DroppedConnLost),
            dials_ok: self.get(DialsOk),
            dials_failed: self.get(DialsFailed),
            dials_refused: self.get(DialsRefused),
            conns_lost: self.get(ConnsLost),
            conns_accepted: self.get(ConnsAccepted),
            conns_refused: self.get(ConnsRefused),
            conns_closed_bad_frame: self.get(ConnsClosedBadFrame),
            conns_ended: self.get(ConnsEnded),
            conns_replaced: self.get(ConnsReplaced),
            tasks_live: self.get(TasksLive),
        }
    }

    /// Resolves with the first snapshot (taken after a rare-event change)
    /// that satisfies `pred`.
    pub(crate) async fn wait_for(&self, pred: impl Fn(&StatsSnapshot) -> bool) -> StatsSnapshot {
        loop {
            // Register before reading, so a change in between is not missed.
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = self.snapshot();
            if pred(&now) {
                return now;
            }
            notified.await;
        }
    }
}

/// Counts a task as live until dropped (when the task ends, however).
pub(crate) struct TaskGuard(Arc<Stats>);

impl TaskGuard {
    pub(crate) fn new(stats: Arc<Stats>) -> Self {
        stats.bump(Counter::TasksLive);
        TaskGuard(stats)
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.counters[Counter::TasksLive as usize].fetch_sub(1, Ordering::Relaxed);
        self.0.changed.notify_waiters();
    }
}
