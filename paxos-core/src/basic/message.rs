use crate::types::{Ballot, Value};
use serde::{Deserialize, Serialize};

/// The messages of single-decree Paxos. Every reply carries the ballot it
/// answers, so a proposer drops replies to ballots it has left behind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Message {
    /// Phase 1a, proposer → acceptors: promise to ignore ballots below `ballot`.
    Prepare {
        /// The proposer's new ballot.
        ballot: Ballot,
    },
    /// Phase 1b, acceptor → proposer: promised, with the acceptor's
    /// highest-ballot accepted proposal, if any.
    Promise {
        /// The ballot promised.
        ballot: Ballot,
        /// The highest-ballot proposal this acceptor accepted.
        accepted: Option<(Ballot, Value)>,
    },
    /// Phase 2a, proposer → acceptors: accept `value` in `ballot`.
    Accept {
        /// The proposer's ballot.
        ballot: Ballot,
        /// The value proposed.
        value: Value,
    },
    /// Phase 2b, acceptor → proposer and learners: accepted `value` in `ballot`.
    Accepted {
        /// The ballot accepted.
        ballot: Ballot,
        /// The value accepted.
        value: Value,
    },
    /// Acceptor → proposer: `ballot` refused because `promised` is higher.
    Nack {
        /// The refused ballot.
        ballot: Ballot,
        /// The acceptor's promise.
        promised: Ballot,
    },
    /// Learner → acceptor: send me your `Accepted` again (a learner that
    /// missed messages asks instead of waiting forever).
    Learn,
    /// Learner → proposer: acceptors accepted something but I cannot see a
    /// quorum for it; run a recovery round.
    Recover,
}

impl Message {
    /// Whether an acceptor handles this message.
    pub fn for_acceptor(&self) -> bool {
        matches!(
            self,
            Message::Prepare { .. } | Message::Accept { .. } | Message::Learn
        )
    }

    /// Whether a proposer handles this message.
    pub fn for_proposer(&self) -> bool {
        matches!(
            self,
            Message::Promise { .. }
                | Message::Accepted { .. }
                | Message::Nack { .. }
                | Message::Recover
        )
    }

    /// Whether a learner handles this message.
    pub fn for_learner(&self) -> bool {
        matches!(self, Message::Accepted { .. })
    }
}
