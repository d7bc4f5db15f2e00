//! Single-decree (Basic) Paxos: proposers, acceptors and learners agree on
//! one value.
//!
//! - **Phase 1.** A proposer picks a ballot above any it has seen and sends
//!   [`Message::Prepare`]. An acceptor that has promised nothing higher
//!   promises it and reports the highest-ballot value it accepted; otherwise
//!   it answers [`Message::Nack`] with the higher ballot.
//! - **Phase 2.** With promises from a phase-1 quorum, the proposer proposes
//!   the value of the highest-ballot proposal reported, or its own value if
//!   none was reported. An acceptor accepts unless it promised higher, and
//!   tells the proposer and every learner.
//! - **Learning.** A learner decides `v` once a phase-2 quorum of acceptors
//!   accepted `v` in the *same* ballot.
//!
//! Proposers that are refused or time out retry with a higher ballot after a
//! randomized back-off, so dueling proposers eventually let one finish.
//!
//! A learner that cannot assemble a quorum from the acceptors' reports (the
//! proposers that saw the decision crashed, and the acceptors' accepts are
//! spread over several ballots) asks a proposer to run a *recovery round*:
//! Phase 1 without a value of its own, re-proposing whatever a promise
//! reports. It never invents a value, so only proposed values are chosen.

mod acceptor;
mod learner;
mod message;
mod proposer;

pub use acceptor::Acceptor;
pub use learner::Learner;
pub use message::Message;
pub use proposer::Proposer;

use crate::bugs::PlantedBugs;
use crate::error::Error;
use crate::quorum::QuorumSystem;
use crate::types::NodeId;

/// The shape of a single-decree Paxos instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// The acceptors and their quorums.
    pub quorum: QuorumSystem,
    /// Nodes hosting a learner; acceptors report every accept to them.
    pub learners: Vec<NodeId>,
    /// Nodes hosting a proposer. Optional: learners that cannot learn the
    /// decision (say, every proposer that saw it crashed) ask one of these
    /// to run a recovery round; with none listed they can only wait.
    pub proposers: Vec<NodeId>,
    /// Ticks a proposer waits for a phase to complete before retrying.
    pub retry_timeout: u64,
    /// A retrying proposer first waits `1..=backoff_max` ticks, chosen at random.
    pub backoff_max: u64,
    /// Ticks an undecided learner waits before asking acceptors again.
    pub learner_timeout: u64,
    /// Planted bugs (tests only; all off by default).
    pub bugs: PlantedBugs,
}

impl Config {
    /// A configuration with default timeouts.
    pub fn new(quorum: QuorumSystem, learners: Vec<NodeId>) -> Self {
        Config {
            quorum,
            learners,
            proposers: Vec::new(),
            retry_timeout: 8,
            backoff_max: 8,
            learner_timeout: 10,
            bugs: PlantedBugs::default(),
        }
    }

    /// Checks the timeouts and that there is someone to learn.
    pub fn validate(&self) -> Result<(), Error> {
        if self.learners.is_empty() {
            return Err(Error::MissingRole("learners"));
        }
        for (field, v) in [
            ("retry_timeout", self.retry_timeout),
            ("backoff_max", self.backoff_max),
            ("learner_timeout", self.learner_timeout),
        ] {
            if v == 0 {
                return Err(Error::InvalidConfig {
                    field,
                    reason: "must be at least 1 tick",
                });
            }
        }
        Ok(())
    }
}
