//! Multi-Paxos: a replicated log of slots, a distinguished leader, and
//! replicas that apply decided commands to a [`crate::StateMachine`].
//!
//! - **Election.** Proposers watch the leader's heartbeats. One that hears
//!   none for `election_timeout` (+ random jitter) ticks reserves a higher
//!   ballot and runs Phase 1 *once for every slot* from its first slot not
//!   known to be decided. Seeing a higher ballot makes a leader step down.
//! - **Takeover.** With promises from a phase-1 quorum the new leader
//!   re-proposes, slot by slot, the highest-ballot value reported, and fills
//!   slots nobody reported with no-ops, so the log has no holes.
//! - **Steady state.** The leader skips Phase 1: it batches client commands
//!   into [`Message::Accept`]s (several slots per message, a bounded number of
//!   batches in flight) and a slot is chosen once a phase-2 quorum of
//!   acceptors has accepted it in the leader's ballot.
//! - **Learning.** The leader sends chosen entries ([`Message::Decide`]) and its
//!   commit point (in heartbeats) to learners; a learner that sees a gap asks
//!   for the missing entries ([`Message::CatchUp`]) and delivers entries
//!   strictly in slot order. A [`Replica`] applies them, once per
//!   `(client, seq)`.

mod accepted;
mod acceptor;
mod chosen;
mod learner;
mod message;
mod proposer;
mod replica;
mod window;

pub use acceptor::Acceptor;
pub use learner::Learner;
pub use message::Message;
pub use proposer::{Proposer, Status};
pub use replica::{Outcome, Replica};

use crate::bugs::PlantedBugs;
use crate::error::Error;
use crate::quorum::QuorumSystem;
use crate::types::NodeId;

/// The size rule for the items one message carries: at most `count_max`
/// of them and `bytes_max` bytes, but never none (a single larger item
/// travels alone).
pub(crate) struct Budget {
    count_max: usize,
    bytes_max: usize,
    count: usize,
    bytes: usize,
}

impl Budget {
    pub(crate) fn new(count_max: usize, bytes_max: usize) -> Self {
        Budget {
            count_max,
            bytes_max,
            count: 0,
            bytes: 0,
        }
    }

    /// Takes an item of `size` into the current message, or says it must
    /// start the next one (and takes nothing).
    pub(crate) fn admit(&mut self, size: usize) -> bool {
        let over = self.count >= self.count_max || self.bytes.saturating_add(size) > self.bytes_max;
        if self.count > 0 && over {
            return false;
        }
        self.count += 1;
        self.bytes = self.bytes.saturating_add(size);
        true
    }
}

/// Splits `items` into runs that each fit a [`Budget`] of `count_max` and
/// `bytes_max`. No run is empty; order is kept.
pub(crate) fn split_by_size<T>(
    items: Vec<T>,
    count_max: usize,
    bytes_max: usize,
    size: impl Fn(&T) -> usize,
) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut run = Vec::new();
    let mut budget = Budget::new(count_max, bytes_max);
    for item in items {
        let n = size(&item);
        if !budget.admit(n) {
            out.push(std::mem::take(&mut run));
            budget = Budget::new(count_max, bytes_max);
            budget.admit(n);
        }
        run.push(item);
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

/// The shape and timing of a Multi-Paxos cluster. All durations are in ticks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// The acceptors and their quorums.
    pub quorum: QuorumSystem,
    /// Nodes hosting a proposer (candidates for leader).
    pub proposers: Vec<NodeId>,
    /// Nodes hosting a learner.
    pub learners: Vec<NodeId>,
    /// Ticks between a leader's heartbeats.
    pub heartbeat_interval: u64,
    /// Ticks without a heartbeat before a proposer stands for election.
    pub election_timeout: u64,
    /// Up to this many extra random ticks on every election timeout, so
    /// proposers rarely stand at once.
    pub election_jitter: u64,
    /// Ticks before a leader resends unacknowledged accepts, or a lagging
    /// learner asks again.
    pub retransmit_timeout: u64,
    /// Most commands in one `Accept`.
    pub batch_max: usize,
    /// Most `Accept` batches in flight at once; commands wait in the queue
    /// meanwhile, which is what makes batches grow under load.
    pub pipeline_max: usize,
    /// Most commands a proposer queues; beyond that it drops them (back-pressure).
    pub queue_max: usize,
    /// Most entries in one catch-up reply.
    pub catchup_max: usize,
    /// Most bytes (as [`crate::Value::size_hint`] counts them) of values in
    /// one message: `Accept`, `Decide`, `Forward` and `Promise` are split to
    /// stay under it, though a single value over it still travels alone.
    /// Keep it well under the transport's frame limit, and keep commands
    /// smaller than it, or a message the transport cannot carry stalls the
    /// log. Default 1 MiB.
    pub message_bytes_max: usize,
    /// Thrifty Phase 2: a leader sends each new batch to one phase-2 quorum
    /// only — its own node's acceptor if it has one, then the acceptors it
    /// heard from most recently — instead of to every acceptor. Retransmits
    /// (after `retransmit_timeout`) still go to every acceptor that has not
    /// answered, so a failed acceptor costs one retransmit delay, after
    /// which the leader prefers those that answer. Less work per command;
    /// worth it when nodes share a disk or CPUs, or to cut traffic. A slow
    /// but live acceptor in the chosen quorum slows every commit, where
    /// sending to all would take the fastest quorum. Off by default.
    pub thrifty: bool,
    /// Planted bugs (tests only; all off by default).
    pub bugs: PlantedBugs,
}

impl Config {
    /// A configuration with default timing.
    pub fn new(quorum: QuorumSystem, proposers: Vec<NodeId>, learners: Vec<NodeId>) -> Self {
        Config {
            quorum,
            proposers,
            learners,
            heartbeat_interval: 2,
            election_timeout: 10,
            election_jitter: 10,
            retransmit_timeout: 6,
            batch_max: 64,
            pipeline_max: 4,
            queue_max: 4096,
            catchup_max: 256,
            message_bytes_max: 1 << 20,
            thrifty: false,
            bugs: PlantedBugs::default(),
        }
    }

    /// Explains the first setting that cannot work.
    pub fn validate(&self) -> Result<(), Error> {
        if self.proposers.is_empty() {
            return Err(Error::MissingRole("proposers"));
        }
        if self.learners.is_empty() {
            return Err(Error::MissingRole("learners"));
        }
        let at_least_one = [
            ("heartbeat_interval", self.heartbeat_interval),
            ("retransmit_timeout", self.retransmit_timeout),
            ("batch_max", self.batch_max as u64),
            ("pipeline_max", self.pipeline_max as u64),
            ("queue_max", self.queue_max as u64),
            ("catchup_max", self.catchup_max as u64),
            ("message_bytes_max", self.message_bytes_max as u64),
        ];
        for (field, v) in at_least_one {
            if v == 0 {
                return Err(Error::InvalidConfig {
                    field,
                    reason: "must be at least 1",
                });
            }
        }
        if self.election_timeout <= self.heartbeat_interval {
            return Err(Error::InvalidConfig {
                field: "election_timeout",
                reason: "must exceed heartbeat_interval, or followers depose a healthy leader",
            });
        }
        Ok(())
    }
}
