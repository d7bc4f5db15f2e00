//! The single-decree proposer's invariants, pinned on states no input can
//! produce (corrupted here, inside the crate).

use super::*;
use crate::invariant::Invariant;
use crate::quorum::QuorumSystem;

const A: [NodeId; 3] = [NodeId(1), NodeId(2), NodeId(3)];

fn config() -> Config {
    let quorum = QuorumSystem::majority(A).unwrap_or_else(|e| panic!("{e}"));
    Config::new(quorum, vec![NodeId(9)])
}

/// A proposer in Phase 1 with one promise, and its ballot.
fn preparing() -> (Proposer, Ballot) {
    let mut p = Proposer::restore(NodeId(7), &config(), &DurableState::default(), 1);
    p.propose(Value::Noop, &mut Ready::new());
    let Some(ballot) = p.ballot() else {
        panic!("preparing without a ballot")
    };
    let promise = Message::Promise {
        ballot,
        accepted: None,
    };
    p.handle(A[0], promise, &mut Ready::new());
    assert_eq!(p.check_invariants(), Ok(()));
    (p, ballot)
}

fn reported(p: &Proposer) -> Invariant {
    match p.check_invariants() {
        Err(violation) => violation.invariant,
        Ok(()) => panic!("corruption not reported: {p:?}"),
    }
}

#[test]
fn basic_ballot_is_own_is_reported_for_another_nodes_ballot() {
    let (mut p, ballot) = preparing();
    p.phase = Phase::Preparing {
        ballot: Ballot::new(ballot.round, NodeId(8)),
        promises: BTreeMap::new(),
    };
    assert_eq!(reported(&p), Invariant::BallotIsOwn);
}

#[test]
fn basic_round_covers_ballot_is_reported_for_a_ballot_above_the_reserved_round() {
    let (mut p, _) = preparing();
    p.round = 0;
    assert_eq!(reported(&p), Invariant::RoundCoversBallot);
}

#[test]
fn basic_votes_only_from_acceptors_is_reported_for_a_promise_from_a_non_acceptor() {
    let (mut p, _) = preparing();
    if let Phase::Preparing { promises, .. } = &mut p.phase {
        promises.insert(NodeId(9), None);
    }
    assert_eq!(reported(&p), Invariant::VotesOnlyFromAcceptors);
}

#[test]
fn basic_open_phase_lacks_quorum_is_reported_for_phase1_or_phase2_holding_a_quorum() {
    let (mut p, ballot) = preparing();
    if let Phase::Preparing { promises, .. } = &mut p.phase {
        promises.insert(A[1], None);
    }
    assert_eq!(reported(&p), Invariant::OpenPhaseLacksQuorum);
    p.phase = Phase::Accepting {
        ballot,
        value: Value::Noop,
        accepted: A.into_iter().collect(),
    };
    assert_eq!(reported(&p), Invariant::OpenPhaseLacksQuorum);
}
