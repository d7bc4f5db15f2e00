//! Each invariant of `Proposer::check_invariants`, pinned: it holds for a
//! proposer driven through its states, and a state corrupted in just that
//! way (here, inside the crate: no input can produce it) is reported as
//! that invariant.

use super::*;
use crate::invariant::Invariant;
use crate::quorum::QuorumSystem;
use crate::types::ClientId;

const A: [NodeId; 3] = [NodeId(1), NodeId(2), NodeId(3)];
const P4: NodeId = NodeId(4);

fn config() -> Config {
    let quorum = QuorumSystem::majority(A).unwrap_or_else(|e| panic!("{e}"));
    Config::new(quorum, vec![P4, NodeId(5)], vec![NodeId(9)])
}

fn cmd(seq: u64) -> Command {
    Command {
        client: ClientId(1),
        seq,
        payload: vec![1].into(),
    }
}

/// A proposer ticked until it stands: a candidate.
fn candidate() -> Proposer {
    let mut p = Proposer::restore(P4, &config(), &DurableState::default(), 7);
    while !matches!(p.role, Role::Candidate { .. }) {
        p.tick(&mut Ready::new());
    }
    p
}

/// A leader with slots 0..3 in flight in one batch.
fn leader() -> Proposer {
    let mut p = candidate();
    let Some(ballot) = p.my_ballot() else {
        panic!("a candidate has a ballot")
    };
    for a in [A[0], A[1]] {
        let promise = Message::Promise {
            ballot,
            first_slot: Slot(0),
            accepted: Vec::new(),
            part: 0,
            parts: 1,
        };
        p.handle(a, promise, &mut Ready::new());
    }
    p.propose_batch((0..3).map(cmd), &mut Ready::new());
    assert!(p.is_leader());
    p
}

fn reported(p: &Proposer) -> Invariant {
    match p.check_invariants() {
        Err(violation) => violation.invariant,
        Ok(()) => panic!("corruption not reported: {p:?}"),
    }
}

#[test]
fn check_invariants_holds_for_a_follower_a_candidate_and_a_leader() {
    let follower = Proposer::restore(P4, &config(), &DurableState::default(), 7);
    assert_eq!(follower.check_invariants(), Ok(()));
    assert_eq!(candidate().check_invariants(), Ok(()));
    assert_eq!(leader().check_invariants(), Ok(()));
}

#[test]
fn ballot_is_own_is_reported_for_a_leader_in_another_nodes_ballot() {
    let mut p = leader();
    if let Role::Leader { ballot, .. } = &mut p.role {
        ballot.node = NodeId(5);
    }
    assert_eq!(reported(&p), Invariant::BallotIsOwn);
}

#[test]
fn round_covers_ballot_is_reported_for_a_ballot_above_the_reserved_round() {
    let mut p = leader();
    p.round = 0;
    assert_eq!(reported(&p), Invariant::RoundCoversBallot);
    let mut p = Proposer::restore(P4, &config(), &DurableState::default(), 7);
    p.role = Role::Follower {
        leader: Some((NodeId(5), Ballot::new(3, NodeId(5)))),
    };
    assert_eq!(
        reported(&p),
        Invariant::RoundCoversBallot,
        "seen below the leader's ballot"
    );
}

#[test]
fn queue_bounded_is_reported_for_a_follower_holding_commands() {
    let mut p = Proposer::restore(P4, &config(), &DurableState::default(), 7);
    p.queue.push_back(Arc::new(cmd(1)));
    assert_eq!(reported(&p), Invariant::QueueBounded);
}

#[test]
fn candidate_starts_at_commit_is_reported_for_a_first_slot_above_commit() {
    let mut p = candidate();
    if let Role::Candidate { first_slot, .. } = &mut p.role {
        *first_slot = Slot(1);
    }
    assert_eq!(reported(&p), Invariant::CandidateStartsAtCommit);
}

#[test]
fn votes_only_from_acceptors_is_reported_for_a_promise_from_a_non_acceptor_or_past_its_parts() {
    for (from, part) in [(NodeId(9), 0), (A[0], 1)] {
        let mut p = candidate();
        if let Role::Candidate { promises, .. } = &mut p.role {
            let parts = PromiseParts {
                parts: 1,
                got: BTreeMap::from([(part, Vec::new())]),
            };
            promises.insert(from, parts);
        }
        assert_eq!(
            reported(&p),
            Invariant::VotesOnlyFromAcceptors,
            "{from}, {part}"
        );
    }
}

#[test]
fn open_phase_lacks_quorum_is_reported_for_a_candidate_holding_a_phase1_quorum() {
    let mut p = candidate();
    if let Role::Candidate { promises, .. } = &mut p.role {
        for a in [A[0], A[1]] {
            let parts = PromiseParts {
                parts: 1,
                got: BTreeMap::from([(0, Vec::new())]),
            };
            promises.insert(a, parts);
        }
    }
    assert_eq!(reported(&p), Invariant::OpenPhaseLacksQuorum);
}

#[test]
fn open_phase_lacks_quorum_is_reported_for_a_slot_in_flight_with_deciding_acks() {
    let mut p = leader();
    let quorum = p.config.quorum.clone();
    if let Role::Leader { inflight, .. } = &mut p.role {
        if let Some(f) = inflight.get_mut(Slot(1)) {
            f.acks.insert(&quorum, A[0]);
            f.acks.insert(&quorum, A[2]);
        }
    }
    assert_eq!(reported(&p), Invariant::OpenPhaseLacksQuorum);
}

#[test]
fn leader_window_has_no_holes_is_reported_for_a_slot_neither_chosen_nor_in_flight() {
    let mut p = leader();
    if let Role::Leader { next_slot, .. } = &mut p.role {
        *next_slot = Slot(4);
    }
    assert_eq!(reported(&p), Invariant::LeaderWindowHasNoHoles);
}

#[test]
fn leader_window_has_no_holes_is_reported_for_a_slot_in_flight_at_its_next_slot() {
    let mut p = leader();
    if let Role::Leader { next_slot, .. } = &mut p.role {
        *next_slot = Slot(2);
    }
    assert_eq!(reported(&p), Invariant::LeaderWindowHasNoHoles);
}

#[test]
fn leader_batches_match_in_flight_is_reported_for_a_miscounted_or_unnumbered_batch() {
    let mut p = leader();
    if let Role::Leader { batches, .. } = &mut p.role {
        batches.insert(0, 2);
    }
    assert_eq!(reported(&p), Invariant::LeaderBatchesMatchInFlight);
    let mut p = leader();
    if let Role::Leader { next_batch, .. } = &mut p.role {
        *next_batch = 0;
    }
    assert_eq!(reported(&p), Invariant::LeaderBatchesMatchInFlight);
}

#[test]
fn votes_only_from_acceptors_is_reported_for_a_leader_hearing_a_non_acceptor() {
    let mut p = leader();
    if let Role::Leader { heard, .. } = &mut p.role {
        heard.insert(NodeId(9), 0);
    }
    assert_eq!(reported(&p), Invariant::VotesOnlyFromAcceptors);
}
