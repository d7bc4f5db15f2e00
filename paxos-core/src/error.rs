//! The crate's error type.

use crate::types::NodeId;

/// Everything in `paxos-core` that can be refused. Expected protocol
/// outcomes (a rejected ballot, a lost leadership) are values, not errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A quorum system needs at least one acceptor.
    #[error("the cluster has no acceptors")]
    NoAcceptors,
    /// An acceptor was listed twice.
    #[error("acceptor {0} is listed twice")]
    DuplicateAcceptor(NodeId),
    /// A flexible quorum size is zero or larger than the number of acceptors.
    #[error("quorum sizes q1={q1}, q2={q2} must each be between 1 and the {n} acceptors")]
    QuorumSizeOutOfRange {
        /// Phase-1 size asked for.
        q1: usize,
        /// Phase-2 size asked for.
        q2: usize,
        /// Number of acceptors.
        n: usize,
    },
    /// Phase-1 and phase-2 quorums could be disjoint, which breaks agreement.
    #[error("quorums do not intersect: q1={q1} + q2={q2} must exceed the {n} acceptors")]
    QuorumsDoNotIntersect {
        /// Phase-1 size asked for.
        q1: usize,
        /// Phase-2 size asked for.
        q2: usize,
        /// Number of acceptors.
        n: usize,
    },
    /// A configuration value is out of its allowed range.
    #[error("invalid configuration: {field} {reason}")]
    InvalidConfig {
        /// The field that was refused.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A node has no proposers or no learners to talk to.
    #[error("the cluster has no {0}")]
    MissingRole(&'static str),
    /// In-memory storage was told to fail (fault injection).
    #[error("storage write {0} failed (injected fault)")]
    InjectedStorageFault(u64),
}
