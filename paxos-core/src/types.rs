//! Identities, ballots, slots and the values that Paxos chooses.

use crate::invariant::{broken, Invariant};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// The identity of a node (a process hosting one or more roles).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct NodeId(pub u64);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// A ballot number: ordered by `round`, then by `node`, so two proposers
/// never share a ballot. A proposer only uses ballots carrying its own id.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Ballot {
    /// Increases every time a proposer starts Phase 1.
    pub round: u64,
    /// The proposer that owns this ballot.
    pub node: NodeId,
}

impl Ballot {
    /// The ballot below every ballot a proposer can use: nothing promised yet.
    pub const ZERO: Ballot = Ballot {
        round: 0,
        node: NodeId(0),
    };

    /// Builds a ballot.
    pub fn new(round: u64, node: NodeId) -> Self {
        Ballot { round, node }
    }

    /// The round for proposer `node`'s next ballot: one above both the
    /// round it `reserved` last and the highest ballot it has `seen`.
    ///
    /// # Panics
    /// With no round left above them ([`Invariant::BallotsOnlyGrow`]):
    /// wrapping to 0 would reuse a ballot, and could choose two values.
    pub(crate) fn fresh_round(node: NodeId, reserved: u64, seen: Ballot) -> u64 {
        let highest = reserved.max(seen.round);
        match highest.checked_add(1) {
            Some(round) => round,
            None => broken(
                Invariant::BallotsOnlyGrow,
                format!("proposer {node}: no round above {highest}"),
            ),
        }
    }
}

impl fmt::Display for Ballot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.round, self.node.0)
    }
}

/// An index into the replicated log. Single-decree Paxos uses slot 0 only.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Slot(pub u64);

impl Slot {
    /// The slot after this one.
    pub fn next(self) -> Slot {
        Slot(self.0 + 1)
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A client's identity, used to apply each client command at most once.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct ClientId(pub u64);

/// A client command: opaque bytes for the user's state machine, tagged with
/// `(client, seq)` so a retried command is applied once.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Command {
    /// Who sent it.
    pub client: ClientId,
    /// The client's sequence number; a client issues increasing numbers.
    pub seq: u64,
    /// The operation, encoded by the user. Shared, so the copies a command
    /// needs on its way (one per acceptor, learner and log) cost no allocation.
    pub payload: Bytes,
}

/// What a slot holds once chosen.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Value {
    /// Fills a gap in the log; applies nothing.
    Noop,
    /// A client command. Shared: a value is copied into every Accept,
    /// Decide, log and acceptor map on its way, and a copy costs a
    /// reference count, not an allocation. Encodes like a bare `Command`.
    Command(Arc<Command>),
}

impl From<Command> for Value {
    fn from(command: Command) -> Self {
        Value::Command(Arc::new(command))
    }
}

impl Value {
    /// About how many bytes this value adds to an encoded message: the
    /// payload plus a fixed allowance for its framing. What message size
    /// bounds ([`crate::multi::Config::message_bytes_max`]) count.
    pub fn size_hint(&self) -> usize {
        match self {
            Value::Noop => 16,
            Value::Command(c) => c.size_hint(),
        }
    }
}

impl Command {
    /// About how many bytes this command adds to an encoded message.
    pub fn size_hint(&self) -> usize {
        self.payload.len().saturating_add(48)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Noop => write!(f, "noop"),
            Value::Command(c) => write!(f, "c{}:{}", c.client.0, c.seq),
        }
    }
}

/// A small deterministic generator (SplitMix64) for randomized timeouts.
///
/// The core keeps no clock and no global RNG; each role that needs jitter
/// owns one of these, seeded by its driver, so runs replay exactly and role
/// state stays hashable for the model checker.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Jitter(u64);

impl Jitter {
    /// Seeds the generator.
    pub fn new(seed: u64) -> Self {
        Jitter(seed)
    }

    /// A number in `0..bound` (0 if `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        if bound == 0 {
            0
        } else {
            z % bound
        }
    }
}
