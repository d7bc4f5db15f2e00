//! What a role asks its driver to do.
//!
//! A role appends its effects to a [`Ready`] through methods that say what
//! each effect depends on. The fields are private: the only way to get a
//! message out is [`crate::Pipeline::take`], which holds back every message
//! that reports unsynced state until [`crate::Pipeline::persisted`] is given
//! proof that the state is durable.

use crate::durable::Record;
use crate::types::{Command, NodeId, Slot, Value};

/// The effects of one or more inputs to a role, filled by the role and
/// emptied by a [`crate::Pipeline`]. The rules, in order:
///
/// 1. **persist**: records from [`Ready::persist`] are written and synced;
/// 2. **send**: a message from [`Ready::send`] leaves only once every record
///    persisted before it (in this Ready and every earlier one) is durable;
///    a message from [`Ready::send_now`] reports nothing unsynced and may
///    leave at once;
/// 3. **apply**: entries from [`Ready::deliver`] are chosen values and go to
///    the application at once, in slot order.
///
/// Records from [`Ready::write_behind`] are written too, but nothing waits
/// for their sync: they only save work after a restart.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "a Ready must be carried out through a Pipeline"]
pub struct Ready<M> {
    records: Vec<Record>,
    messages: Vec<(NodeId, M)>,
    /// For each entry of `messages`: whether it may leave before the sync.
    at_once: Vec<bool>,
    behind: Vec<Record>,
    decided: Vec<(Slot, Value)>,
    dropped: Vec<Command>,
}

impl<M> Default for Ready<M> {
    fn default() -> Self {
        Ready {
            records: Vec::new(),
            messages: Vec::new(),
            at_once: Vec::new(),
            behind: Vec::new(),
            decided: Vec::new(),
            dropped: Vec::new(),
        }
    }
}

impl<M> Ready<M> {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
            && self.messages.is_empty()
            && self.behind.is_empty()
            && self.decided.is_empty()
            && self.dropped.is_empty()
    }

    /// Empties the buffer, keeping its allocations.
    pub fn clear(&mut self) {
        self.records.clear();
        self.messages.clear();
        self.at_once.clear();
        self.behind.clear();
        self.decided.clear();
        self.dropped.clear();
    }

    /// Records that must be durable before any later [`Ready::send`] leaves.
    pub fn persist(&mut self, record: Record) {
        self.records.push(record);
    }

    /// Queues `msg` for `to`, to leave once everything persisted so far is
    /// durable (it may report that state: a promise, an accepted value).
    pub fn send(&mut self, to: NodeId, msg: M) {
        self.messages.push((to, msg));
        self.at_once.push(false);
    }

    /// Queues `msg` for `to`, to leave at once: it reports no state that
    /// is not already durable (a heartbeat, a chosen value, a request).
    pub fn send_now(&mut self, to: NodeId, msg: M) {
        self.messages.push((to, msg));
        self.at_once.push(true);
    }

    /// A record nothing waits for (a learner's copy of a chosen value).
    pub fn write_behind(&mut self, record: Record) {
        self.behind.push(record);
    }

    /// A newly decided entry for the application, in slot order.
    pub fn deliver(&mut self, slot: Slot, value: Value) {
        self.decided.push((slot, value));
    }

    /// A client command this role gave up on (it is no longer, or not yet,
    /// leader). It may still be chosen; the client should retry it.
    pub fn drop_command(&mut self, command: Command) {
        self.dropped.push(command);
    }

    /// Records to persist, in order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Every message queued, in order, gated or not (to inspect; only a
    /// [`crate::Pipeline`] takes them out).
    pub fn messages(&self) -> &[(NodeId, M)] {
        &self.messages
    }

    /// Whether the `i`-th message of [`Ready::messages`] may leave at once.
    pub fn leaves_at_once(&self, i: usize) -> bool {
        self.at_once.get(i).copied().unwrap_or(false)
    }

    /// Records to write behind.
    pub fn written_behind(&self) -> &[Record] {
        &self.behind
    }

    /// Entries to deliver to the application.
    pub fn decided(&self) -> &[(Slot, Value)] {
        &self.decided
    }

    /// Commands given up on.
    pub fn dropped(&self) -> &[Command] {
        &self.dropped
    }

    /// Queues `msg` for every node in `to` with [`Ready::send`]: copies for
    /// all but the last, which gets `msg` itself (a copy of a batch counts
    /// every value in it up, and dropping the original counts them down).
    pub(crate) fn broadcast(&mut self, to: impl IntoIterator<Item = NodeId>, msg: M)
    where
        M: Clone,
    {
        self.broadcast_as(to, msg, false);
    }

    /// As [`Ready::broadcast`], with [`Ready::send_now`].
    pub(crate) fn broadcast_now(&mut self, to: impl IntoIterator<Item = NodeId>, msg: M)
    where
        M: Clone,
    {
        self.broadcast_as(to, msg, true);
    }

    fn broadcast_as(&mut self, to: impl IntoIterator<Item = NodeId>, msg: M, at_once: bool)
    where
        M: Clone,
    {
        let mut to = to.into_iter().peekable();
        while let Some(n) = to.next() {
            let last = to.peek().is_none();
            self.at_once.push(at_once);
            if last {
                self.messages.push((n, msg));
                return;
            }
            self.messages.push((n, msg.clone()));
        }
    }

    /// Moves everything out, for the pipeline.
    pub(crate) fn take_parts(&mut self) -> Parts<M> {
        Parts {
            records: std::mem::take(&mut self.records),
            messages: std::mem::take(&mut self.messages),
            at_once: std::mem::take(&mut self.at_once),
            behind: std::mem::take(&mut self.behind),
            decided: std::mem::take(&mut self.decided),
            dropped: std::mem::take(&mut self.dropped),
        }
    }
}

/// A Ready's contents, moved out by the pipeline.
pub(crate) struct Parts<M> {
    pub(crate) records: Vec<Record>,
    pub(crate) messages: Vec<(NodeId, M)>,
    pub(crate) at_once: Vec<bool>,
    pub(crate) behind: Vec<Record>,
    pub(crate) decided: Vec<(Slot, Value)>,
    pub(crate) dropped: Vec<Command>,
}
