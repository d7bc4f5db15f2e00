//! The single-decree learner's invariants, pinned on states no input can
//! produce (corrupted here, inside the crate).

use super::*;
use crate::invariant::Invariant;
use crate::quorum::QuorumSystem;

const A: [NodeId; 3] = [NodeId(1), NodeId(2), NodeId(3)];

fn learner() -> Learner {
    let quorum = QuorumSystem::majority(A).unwrap_or_else(|e| panic!("{e}"));
    let mut learner = Learner::new(&Config::new(quorum, vec![NodeId(9)]));
    let accepted = Message::Accepted {
        ballot: Ballot::new(1, NodeId(7)),
        value: Value::Noop,
    };
    learner.handle(A[0], accepted, &mut crate::Ready::new());
    assert_eq!(learner.check_invariants(), Ok(()));
    learner
}

fn reported(learner: &Learner) -> Invariant {
    match learner.check_invariants() {
        Err(violation) => violation.invariant,
        Ok(()) => panic!("corruption not reported: {learner:?}"),
    }
}

#[test]
fn learner_votes_undecided_is_reported_for_an_undecided_quorum_or_a_decided_learner_keeping_votes()
{
    let mut l = learner();
    if let Some((_, voters)) = l.votes.values_mut().next() {
        voters.insert(A[1]);
    }
    assert_eq!(reported(&l), Invariant::LearnerVotesUndecided);
    let mut l = learner();
    l.decided = Some(Value::Noop);
    assert_eq!(reported(&l), Invariant::LearnerVotesUndecided);
}

#[test]
fn basic_learner_votes_only_from_acceptors_is_reported_for_a_vote_of_a_non_acceptor() {
    let mut l = learner();
    if let Some((_, voters)) = l.votes.values_mut().next() {
        voters.insert(NodeId(9));
    }
    assert_eq!(reported(&l), Invariant::VotesOnlyFromAcceptors);
}
