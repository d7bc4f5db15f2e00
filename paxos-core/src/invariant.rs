//! The invariants roles keep, and the error that names a broken one.
//!
//! Each role offers `check_invariants()`, a full check of its state that
//! a test or simulator may call after any step. The cheap part of each
//! check also runs inside the roles: `assert!` where a value is about to
//! change and the check is O(1) (kept in release builds: a broken
//! invariant stops the node rather than spread), and a full re-check after
//! each input of the proposers and learners in debug builds only.

use std::fmt;

/// An invariant a role keeps. [`InvariantViolation`] says which one broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Invariant {
    /// A quorum system's sizes are each between 1 and its number of acceptors.
    QuorumSizesInRange,
    /// Every phase-1 quorum meets every phase-2 quorum: `q1 + q2 > n`.
    QuorumsIntersect,
    /// An acceptor's promise is at least every ballot it accepted in.
    PromiseCoversAccepted,
    /// An acceptor's promise never goes down.
    PromiseOnlyGrows,
    /// Accepted entries carry real ballots (above [`crate::Ballot::ZERO`])
    /// and the accepted log stays within its layout's size bounds.
    AcceptedWithinBounds,
    /// The ballot a proposer stands or leads in carries its own node id.
    BallotIsOwn,
    /// A proposer's durably reserved round covers the ballot it uses, and
    /// the highest ballot it has seen is at least every ballot it knows of.
    RoundCoversBallot,
    /// Each ballot a proposer reserves is above every one it reserved
    /// before, and the highest ballot it has seen never goes down.
    BallotsOnlyGrow,
    /// A proposer queues at most `queue_max` commands, and a follower none.
    QueueBounded,
    /// Votes (promises, accepts, acks, heard-from) come only from
    /// acceptors, and a promise's parts are numbered below their count.
    VotesOnlyFromAcceptors,
    /// A phase still collecting votes holds no quorum of them: on a quorum
    /// it moves on (a candidate leads, a slot or value is chosen).
    OpenPhaseLacksQuorum,
    /// A candidate runs Phase 1 from a slot at or below its commit point.
    CandidateStartsAtCommit,
    /// Every slot from a leader's commit point up to its next slot is
    /// chosen here or in flight (a takeover leaves no holes), and nothing
    /// is in flight at or beyond its next slot.
    LeaderWindowHasNoHoles,
    /// A leader's open batches count exactly its in-flight slots.
    LeaderBatchesMatchInFlight,
    /// The chosen log's commit point is its first hole: at most the highest
    /// chosen slot + 1, with no slot known chosen at it.
    ChosenPrefixHasNoHoles,
    /// A slot once known chosen is never learned with another value.
    ChosenValueUnchanged,
    /// The decided (delivered or committed) prefix only grows.
    DecidedPrefixOnlyGrows,
    /// A learner holds back only entries above its next slot.
    LearnerPendingAboveNext,
    /// A learner's known commit point and last catch-up request are
    /// consistent with its next slot (commit ≥ next ≥ asked).
    LearnerCommitCoversNext,
    /// An undecided single-decree learner holds no deciding set of votes,
    /// and a decided one keeps no votes at all.
    LearnerVotesUndecided,
}

impl Invariant {
    /// The invariant's name, as tests and panic messages print it.
    pub fn name(self) -> &'static str {
        match self {
            Invariant::QuorumSizesInRange => "quorum_sizes_in_range",
            Invariant::QuorumsIntersect => "quorums_intersect",
            Invariant::PromiseCoversAccepted => "promise_covers_accepted",
            Invariant::PromiseOnlyGrows => "promise_only_grows",
            Invariant::AcceptedWithinBounds => "accepted_within_bounds",
            Invariant::BallotIsOwn => "ballot_is_own",
            Invariant::RoundCoversBallot => "round_covers_ballot",
            Invariant::BallotsOnlyGrow => "ballots_only_grow",
            Invariant::QueueBounded => "queue_bounded",
            Invariant::VotesOnlyFromAcceptors => "votes_only_from_acceptors",
            Invariant::OpenPhaseLacksQuorum => "open_phase_lacks_quorum",
            Invariant::CandidateStartsAtCommit => "candidate_starts_at_commit",
            Invariant::LeaderWindowHasNoHoles => "leader_window_has_no_holes",
            Invariant::LeaderBatchesMatchInFlight => "leader_batches_match_in_flight",
            Invariant::ChosenPrefixHasNoHoles => "chosen_prefix_has_no_holes",
            Invariant::ChosenValueUnchanged => "chosen_value_unchanged",
            Invariant::DecidedPrefixOnlyGrows => "decided_prefix_only_grows",
            Invariant::LearnerPendingAboveNext => "learner_pending_above_next",
            Invariant::LearnerCommitCoversNext => "learner_commit_covers_next",
            Invariant::LearnerVotesUndecided => "learner_votes_undecided",
        }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A broken [`Invariant`], with the values that break it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invariant {invariant} broken: {detail}")]
pub struct InvariantViolation {
    /// Which invariant.
    pub invariant: Invariant,
    /// The role and values that break it, for a human.
    pub detail: String,
}

/// `Ok` if `holds`; otherwise the violation, its detail built only then.
pub(crate) fn check(
    holds: bool,
    invariant: Invariant,
    detail: impl FnOnce() -> String,
) -> Result<(), InvariantViolation> {
    if holds {
        Ok(())
    } else {
        Err(InvariantViolation {
            invariant,
            detail: detail(),
        })
    }
}

/// Stops the node on a broken invariant: going on could spread the damage
/// (a second value chosen for a slot, a reused ballot) to other nodes.
#[track_caller]
pub(crate) fn broken(invariant: Invariant, detail: String) -> ! {
    panic!("{}", InvariantViolation { invariant, detail })
}

/// Debug builds only: panics, naming `role`, if `result` reports a
/// violation. Release builds neither run the check nor pay for it.
#[track_caller]
pub(crate) fn debug_holds(role: &str, result: impl FnOnce() -> Result<(), InvariantViolation>) {
    if cfg!(debug_assertions) {
        if let Err(violation) = result() {
            panic!("{role}: {violation}");
        }
    }
}
