//! The durable facts roles record, and the state a node rebuilds from them.

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
