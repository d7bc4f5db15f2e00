//! Quorum systems: which sets of acceptors may complete Phase 1 and Phase 2.
//!
//! Safety needs only that every phase-1 quorum intersects every phase-2
//! quorum. With `n` acceptors and threshold quorums that means `q1 + q2 > n`,
//! which [`QuorumSystem::flexible`] checks at construction.

use crate::error::Error;
use crate::invariant::{check, Invariant, InvariantViolation};
use crate::types::NodeId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Which kind of quorum a [`QuorumSystem`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QuorumKind {
    /// Any strict majority, for both phases.
    Majority,
    /// Any `q1` acceptors for Phase 1 and any `q2` for Phase 2, with `q1 + q2 > n`.
    Flexible {
        /// Phase-1 quorum size.
        q1: usize,
        /// Phase-2 quorum size.
        q2: usize,
    },
}

/// The acceptors of a cluster and the rule that makes a set of them a quorum.
///
/// Serialized as its acceptors and kind; deserializing re-runs the checks of
/// the constructors, so a config file cannot smuggle in `q1 + q2 <= n`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "QuorumSpec", into = "QuorumSpec")]
pub struct QuorumSystem {
    acceptors: BTreeSet<NodeId>,
    q1: usize,
    q2: usize,
    kind: QuorumKind,
}

/// The serialized form of a [`QuorumSystem`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QuorumSpec {
    /// The acceptors.
    pub acceptors: Vec<NodeId>,
    /// Majority or flexible sizes.
    pub kind: QuorumKind,
}

impl TryFrom<QuorumSpec> for QuorumSystem {
    type Error = Error;

    fn try_from(spec: QuorumSpec) -> Result<Self, Error> {
        match spec.kind {
            QuorumKind::Majority => QuorumSystem::majority(spec.acceptors),
            QuorumKind::Flexible { q1, q2 } => QuorumSystem::flexible(spec.acceptors, q1, q2),
        }
    }
}

impl From<QuorumSystem> for QuorumSpec {
    fn from(q: QuorumSystem) -> Self {
        QuorumSpec {
            acceptors: q.acceptors.into_iter().collect(),
            kind: q.kind,
        }
    }
}

impl QuorumSystem {
    /// Majority quorums over `acceptors`.
    pub fn majority(acceptors: impl IntoIterator<Item = NodeId>) -> Result<Self, Error> {
        let acceptors = Self::collect(acceptors)?;
        let m = acceptors.len() / 2 + 1;
        Ok(QuorumSystem {
            acceptors,
            q1: m,
            q2: m,
            kind: QuorumKind::Majority,
        })
    }

    /// Flexible quorums: any `q1` acceptors form a phase-1 quorum and any `q2`
    /// a phase-2 quorum. Rejects `q1 + q2 <= n` (two quorums could miss each
    /// other), zero sizes and sizes above `n`.
    pub fn flexible(
        acceptors: impl IntoIterator<Item = NodeId>,
        q1: usize,
        q2: usize,
    ) -> Result<Self, Error> {
        let acceptors = Self::collect(acceptors)?;
        let n = acceptors.len();
        if q1 == 0 || q2 == 0 || q1 > n || q2 > n {
            return Err(Error::QuorumSizeOutOfRange { q1, q2, n });
        }
        if q1 + q2 <= n {
            return Err(Error::QuorumsDoNotIntersect { q1, q2, n });
        }
        Ok(QuorumSystem {
            acceptors,
            q1,
            q2,
            kind: QuorumKind::Flexible { q1, q2 },
        })
    }

    fn collect(acceptors: impl IntoIterator<Item = NodeId>) -> Result<BTreeSet<NodeId>, Error> {
        let mut set = BTreeSet::new();
        for a in acceptors {
            if !set.insert(a) {
                return Err(Error::DuplicateAcceptor(a));
            }
        }
        if set.is_empty() {
            return Err(Error::NoAcceptors);
        }
        Ok(set)
    }

    /// The acceptors, in id order.
    pub fn acceptors(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.acceptors.iter().copied()
    }

    /// Whether `node` is one of the acceptors.
    pub fn is_acceptor(&self, node: NodeId) -> bool {
        self.acceptors.contains(&node)
    }

    /// The kind of quorum.
    pub fn kind(&self) -> QuorumKind {
        self.kind
    }

    /// How many acceptors a phase-1 quorum needs.
    pub fn phase1_size(&self) -> usize {
        self.q1
    }

    /// How many acceptors a phase-2 quorum needs.
    pub fn phase2_size(&self) -> usize {
        self.q2
    }

    /// Whether `voters` contains a phase-1 quorum. Non-acceptors do not count.
    pub fn is_phase1_quorum(&self, voters: &BTreeSet<NodeId>) -> bool {
        self.count(voters) >= self.q1
    }

    /// Whether `voters` contains a phase-2 quorum. Non-acceptors do not count.
    pub fn is_phase2_quorum(&self, voters: &BTreeSet<NodeId>) -> bool {
        self.count(voters) >= self.q2
    }

    /// How many members of `voters` are acceptors.
    pub fn count(&self, voters: &BTreeSet<NodeId>) -> usize {
        voters.intersection(&self.acceptors).count()
    }

    /// Re-checks what the constructors checked: both sizes within
    /// `1..=n`, and `q1 + q2 > n` so that every phase-1 quorum meets every
    /// phase-2 quorum. Roles call it from their own `check_invariants`.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let (q1, q2, n) = (self.q1, self.q2, self.acceptors.len());
        let in_range = (1..=n).contains(&q1) && (1..=n).contains(&q2);
        check(in_range, Invariant::QuorumSizesInRange, || {
            format!("q1={q1}, q2={q2} with {n} acceptors")
        })?;
        check(q1 + q2 > n, Invariant::QuorumsIntersect, || {
            format!("q1={q1} + q2={q2} <= {n} acceptors")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u64) -> BTreeSet<NodeId> {
        (1..=n).map(NodeId).collect()
    }

    /// Built past the constructors (only code in this crate can), to show
    /// the check would catch sizes a bug let through.
    #[test]
    fn quorums_intersect_is_reported_for_disjoint_sizes() {
        let q = QuorumSystem {
            acceptors: ids(4),
            q1: 2,
            q2: 2,
            kind: QuorumKind::Flexible { q1: 2, q2: 2 },
        };
        let err = q.check_invariants().unwrap_err();
        assert_eq!(err.invariant, Invariant::QuorumsIntersect);
        assert!(err.to_string().contains("q1=2 + q2=2 <= 4"), "{err}");
    }

    #[test]
    fn quorum_sizes_in_range_is_reported_for_a_zero_or_oversized_quorum() {
        for (q1, q2) in [(0, 3), (4, 3)] {
            let q = QuorumSystem {
                acceptors: ids(3),
                q1,
                q2,
                kind: QuorumKind::Flexible { q1, q2 },
            };
            let err = q.check_invariants().unwrap_err();
            assert_eq!(err.invariant, Invariant::QuorumSizesInRange, "{q1}, {q2}");
        }
    }
}
