//! What a role asks its driver to do, and the durable state it restores from.

use crate::types::{Ballot, Slot, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One durable fact. Storage appends these; [`DurableState::apply`] replays them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Record {
    /// An acceptor promised to ignore ballots below this one.
    Promise(Ballot),
    /// An acceptor accepted `value` for `slot` in `ballot` (which also promises `ballot`).
    Accept {
        /// The log slot (0 for single-decree Paxos).
        slot: Slot,
        /// The ballot it was accepted in.
        ballot: Ballot,
        /// The value.
        value: Value,
    },
    /// A proposer reserved ballot rounds up to and including this one; after
    /// a restart it only uses higher rounds, so it never reuses a ballot.
    Round(u64),
    /// A learner delivered `value` at `slot`. Chosen values are facts, so
    /// these records only spare a restarted learner (and a proposer on its
    /// node) from relearning the log; safety never waits for them.
    Decided {
        /// The log slot.
        slot: Slot,
        /// The chosen value.
        value: Value,
    },
}

/// The durable state of one node, rebuilt from its records at start.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DurableState {
    /// The highest ballot this node's acceptor promised.
    pub promised: Ballot,
    /// For each slot, the highest-ballot proposal this node's acceptor accepted.
    pub accepted: BTreeMap<Slot, (Ballot, Value)>,
    /// The highest round this node's proposer reserved.
    pub round: u64,
    /// Entries this node's learner delivered, by slot.
    pub decided: BTreeMap<Slot, Value>,
}

impl DurableState {
    /// Folds one record into the state. Replaying records in any order gives
    /// the same result: every field only moves up.
    pub fn apply(&mut self, record: &Record) {
        match record {
            Record::Promise(b) => self.promised = self.promised.max(*b),
            Record::Accept {
                slot,
                ballot,
                value,
            } => {
                self.promised = self.promised.max(*ballot);
                let newer = self.accepted.get(slot).is_none_or(|(b, _)| b <= ballot);
                if newer {
                    self.accepted.insert(*slot, (*ballot, value.clone()));
                }
            }
            Record::Round(r) => self.round = self.round.max(*r),
            Record::Decided { slot, value } => {
                self.decided.entry(*slot).or_insert_with(|| value.clone());
            }
        }
    }

    /// Rebuilds state from a sequence of records.
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a Record>) -> Self {
        let mut state = DurableState::default();
        for r in records {
            state.apply(r);
        }
        state
    }

    /// The decided entries from slot 0 up to the first gap, in order.
    pub fn decided_prefix(&self) -> Vec<(Slot, Value)> {
        self.decided
            .iter()
            .enumerate()
            .take_while(|(i, (s, _))| s.0 == *i as u64)
            .map(|(_, (s, v))| (*s, v.clone()))
            .collect()
    }
}

/// The effects of one input to a role, in the order the driver must carry
/// them out:
///
/// 1. write every record in `persist` and **sync** it;
/// 2. only then send `messages` (they may report the state just persisted);
/// 3. then deliver `decided` entries to the application, in order.
///
/// A driver that cannot sync must stop the node rather than send. The buffer
/// is owned by the caller and reused: roles only append to it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "a Ready must be carried out: persist, then send, then deliver"]
pub struct Ready<M> {
    /// Records to make durable before anything in `messages` leaves the node.
    pub persist: Vec<Record>,
    /// Messages to send once `persist` is durable, each with its destination.
    pub messages: Vec<(crate::NodeId, M)>,
    /// Newly decided log entries, in slot order, to deliver after sending.
    pub decided: Vec<(Slot, Value)>,
    /// Client commands this role gave up on (it is no longer, or not yet,
    /// leader). They may still be chosen; clients should retry them.
    pub dropped: Vec<crate::Command>,
}

impl<M> Default for Ready<M> {
    fn default() -> Self {
        Ready {
            persist: Vec::new(),
            messages: Vec::new(),
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
        self.persist.is_empty()
            && self.messages.is_empty()
            && self.decided.is_empty()
            && self.dropped.is_empty()
    }

    /// Empties the buffer, keeping its allocations.
    pub fn clear(&mut self) {
        self.persist.clear();
        self.messages.clear();
        self.decided.clear();
        self.dropped.clear();
    }

    /// Queues `msg` for every node in `to`: copies for all but the last,
    /// which gets `msg` itself (a copy of a batch counts every value in it
    /// up, and dropping the original counts them down again).
    pub(crate) fn broadcast(&mut self, to: impl IntoIterator<Item = crate::NodeId>, msg: M)
    where
        M: Clone,
    {
        let mut to = to.into_iter().peekable();
        while let Some(n) = to.next() {
            if to.peek().is_none() {
                self.messages.push((n, msg));
                return;
            }
            self.messages.push((n, msg.clone()));
        }
    }
}
