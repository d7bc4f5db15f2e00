//! The learner's invariants, pinned on states no input can produce
//! (corrupted here, inside the crate).

use super::*;
use crate::invariant::Invariant;
use crate::quorum::QuorumSystem;

fn learner() -> Learner {
    let quorum = QuorumSystem::majority([NodeId(1), NodeId(2), NodeId(3)]);
    let quorum = quorum.unwrap_or_else(|e| panic!("{e}"));
    let mut learner = Learner::new(&Config::new(quorum, vec![NodeId(4)], vec![NodeId(9)]));
    let decide = Message::Decide {
        entries: vec![(Slot(0), Value::Noop), (Slot(2), Value::Noop)],
    };
    learner.handle(NodeId(4), decide, &mut Ready::new());
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
fn learner_pending_above_next_is_reported_for_an_entry_held_at_or_below_next() {
    for slot in [0, 1] {
        let mut l = learner();
        l.pending.insert(Slot(slot), Value::Noop);
        assert_eq!(reported(&l), Invariant::LearnerPendingAboveNext, "{slot}");
    }
}

#[test]
fn learner_commit_covers_next_is_reported_for_a_commit_below_next_or_an_ask_ahead_of_it() {
    let mut l = learner();
    l.known_commit = Slot(0);
    assert_eq!(reported(&l), Invariant::LearnerCommitCoversNext);
    let mut l = learner();
    l.asked_from = Some(Slot(5));
    assert_eq!(reported(&l), Invariant::LearnerCommitCoversNext);
}
