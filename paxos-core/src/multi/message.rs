use crate::types::{Ballot, Command, Slot, Value};
use serde::{Deserialize, Serialize};

/// The messages of Multi-Paxos, as they travel between nodes.
///
/// Replies carry the ballot they answer, so stale replies are recognised and
/// dropped. `Decide` carries only chosen values, which are facts whatever the
/// ballot, so it needs none.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Message {
    /// Phase 1a, proposer → acceptors, once for all slots from `first_slot`.
    Prepare {
        /// The candidate's ballot.
        ballot: Ballot,
        /// The candidate's first slot not known to be decided.
        first_slot: Slot,
    },
    /// Phase 1b, acceptor → proposer: promised, with every proposal accepted
    /// for slots `first_slot..`.
    Promise {
        /// The ballot promised.
        ballot: Ballot,
        /// Echo of the prepare's first slot.
        first_slot: Slot,
        /// `(slot, ballot, value)` for each accepted slot at or after
        /// `first_slot`, or this part's share of them.
        accepted: Vec<(Slot, Ballot, Value)>,
        /// Which part of the promise this is, from 0. A promise whose
        /// accepted values exceed `message_bytes_max` comes in parts; it
        /// counts only once all have arrived.
        part: u32,
        /// How many parts the promise has (at least 1).
        parts: u32,
    },
    /// Phase 2a, leader → acceptors: accept these entries in `ballot`.
    Accept {
        /// The leader's ballot.
        ballot: Ballot,
        /// The proposed entries.
        entries: Vec<(Slot, Value)>,
    },
    /// Phase 2b, acceptor → leader: accepted these slots in `ballot`.
    Accepted {
        /// The ballot accepted.
        ballot: Ballot,
        /// The slots accepted.
        slots: Vec<Slot>,
    },
    /// Acceptor → proposer: `ballot` refused, `promised` is higher.
    Nack {
        /// The refused ballot.
        ballot: Ballot,
        /// The acceptor's promise.
        promised: Ballot,
    },
    /// Leader → learners and proposers: these entries are chosen. Also the
    /// answer to `CatchUp`.
    Decide {
        /// Chosen entries.
        entries: Vec<(Slot, Value)>,
    },
    /// Leader → proposers and learners: I lead in `ballot`; every slot
    /// below `commit` is chosen.
    Heartbeat {
        /// The leader's ballot.
        ballot: Ballot,
        /// The leader's commit point.
        commit: Slot,
    },
    /// Learner → proposer: send me chosen entries from `from` on.
    CatchUp {
        /// The learner's first missing slot.
        from: Slot,
    },
    /// Proposer → leader: client commands that reached a follower.
    Forward {
        /// The commands.
        commands: Vec<Command>,
    },
}

impl Message {
    /// Whether an acceptor handles this message.
    pub fn for_acceptor(&self) -> bool {
        matches!(self, Message::Prepare { .. } | Message::Accept { .. })
    }

    /// Whether a proposer handles this message.
    pub fn for_proposer(&self) -> bool {
        !matches!(self, Message::Prepare { .. } | Message::Accept { .. })
    }

    /// Whether a learner handles this message.
    pub fn for_learner(&self) -> bool {
        matches!(self, Message::Decide { .. } | Message::Heartbeat { .. })
    }
}
