//! Multi-Paxos proposer: Phase 1 and takeover.
//!
//! Goal: pin how a candidate collects promises (every part, only for its
//! ballot and first slot, only from acceptors) and takes over: re-propose
//! the highest-ballot value reported per slot and fill holes with no-ops,
//! so every value the old leader got chosen stays chosen. Method: hand a
//! candidate built promises and inspect its `Ready`; run a small cluster
//! for the fail-over.

use crate::multi_kit::{
    accepts, b, cmd, config, handle_proposer, promise, propose, proposer, stand, val, Cluster, A1,
    A2, A3, ACCEPTORS, L, P4, P5,
};
use paxos_core::multi::{Message, Proposer, Status};
use paxos_core::{DurableState, NodeId, Slot, Value};

#[test]
fn candidate_with_a_phase1_quorum_of_promises_becomes_leader_and_heartbeats() {
    let config = config();
    let mut p = proposer(P4, &config);
    let (ballot, _) = stand(&mut p, &config);
    let ready = handle_proposer(&mut p, A1, promise(ballot, Vec::new()));
    assert!(ready.is_empty());
    assert_eq!(p.status(), Status::Candidate { ballot });
    let ready = handle_proposer(&mut p, A2, promise(ballot, Vec::new()));
    assert_eq!(p.status(), Status::Leader { ballot });
    assert!(ready.records().is_empty());
    assert!(
        accepts(ready.messages()).is_empty(),
        "nothing to re-propose"
    );
    let hb = Message::Heartbeat {
        ballot,
        commit: Slot(0),
    };
    assert_eq!(ready.messages(), vec![(P5, hb.clone()), (L, hb)]);
}

#[test]
fn a_candidate_counts_a_promise_only_once_all_its_parts_arrived() {
    let config = config();
    let mut p = proposer(P4, &config);
    let (ballot, _) = stand(&mut p, &config);
    let part = |i: u32, accepted| Message::Promise {
        ballot,
        first_slot: Slot(0),
        accepted,
        part: i,
        parts: 2,
    };
    let _ = handle_proposer(&mut p, A1, promise(ballot, Vec::new()));
    // A2's first part: not yet a quorum.
    let _ = handle_proposer(&mut p, A2, part(0, vec![(Slot(0), b(1, P5), val(1))]));
    assert_eq!(p.status(), Status::Candidate { ballot });
    // A part numbered past its count is ignored.
    let _ = handle_proposer(
        &mut p,
        A2,
        Message::Promise {
            ballot,
            first_slot: Slot(0),
            accepted: Vec::new(),
            part: 2,
            parts: 2,
        },
    );
    assert_eq!(p.status(), Status::Candidate { ballot });
    // The second part completes it; its value must be re-proposed too.
    let ready = handle_proposer(&mut p, A2, part(1, vec![(Slot(1), b(1, P5), val(2))]));
    assert_eq!(p.status(), Status::Leader { ballot });
    let proposed: Vec<(Slot, Value)> = accepts(ready.messages())
        .into_iter()
        .filter(|(to, _, _)| *to == A1)
        .flat_map(|(_, _, e)| e)
        .collect();
    assert_eq!(proposed, vec![(Slot(0), val(1)), (Slot(1), val(2))]);
}

#[test]
fn candidate_ignores_promises_for_another_ballot_first_slot_or_from_non_acceptors() {
    let config = config();
    let mut p = proposer(P4, &config);
    let (ballot, _) = stand(&mut p, &config);
    let other_ballot = promise(b(ballot.round + 1, P5), Vec::new());
    let other_slot = Message::Promise {
        ballot,
        first_slot: Slot(3),
        accepted: Vec::new(),
        part: 0,
        parts: 1,
    };
    let _ = handle_proposer(&mut p, A1, promise(ballot, Vec::new()));
    let _ = handle_proposer(&mut p, A2, other_ballot);
    let _ = handle_proposer(&mut p, A3, other_slot);
    let _ = handle_proposer(&mut p, P5, promise(ballot, Vec::new()));
    let _ = handle_proposer(&mut p, L, promise(ballot, Vec::new()));
    assert_eq!(p.status(), Status::Candidate { ballot });
}

#[test]
fn new_leader_reproposes_the_highest_ballot_value_per_slot_and_fills_holes_with_noops() {
    let config = config();
    let state = DurableState {
        round: 5,
        ..DurableState::default()
    };
    let mut p = Proposer::restore(P4, &config, &state, 7);
    let (ballot, _) = stand(&mut p, &config);
    assert_eq!(ballot, b(6, P4));
    let from_a1 = vec![(Slot(0), b(2, P5), val(10)), (Slot(2), b(3, P5), val(12))];
    let from_a2 = vec![(Slot(0), b(4, P4), val(20)), (Slot(3), b(1, P5), val(23))];
    let _ = handle_proposer(&mut p, A1, promise(ballot, from_a1));
    let ready = handle_proposer(&mut p, A2, promise(ballot, from_a2));
    assert_eq!(p.status(), Status::Leader { ballot });
    let entries = vec![
        (Slot(0), val(20)),
        (Slot(1), Value::Noop),
        (Slot(2), val(12)),
        (Slot(3), val(23)),
    ];
    let want: Vec<_> = ACCEPTORS
        .iter()
        .map(|a| (*a, ballot, entries.clone()))
        .collect();
    assert_eq!(accepts(ready.messages()), want);
    // New commands go after the re-proposed slots.
    let ready = propose(&mut p, cmd(1, 1));
    let sent = accepts(ready.messages());
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].2, vec![(Slot(4), Value::from(cmd(1, 1)))]);
}

#[test]
fn candidate_queues_proposals_until_elected_then_sends_them() {
    let config = config();
    let mut p = proposer(P4, &config);
    let (ballot, _) = stand(&mut p, &config);
    let ready = propose(&mut p, cmd(1, 1));
    assert!(ready.is_empty());
    assert_eq!(p.queued(), 1);
    let _ = handle_proposer(&mut p, A1, promise(ballot, Vec::new()));
    let ready = handle_proposer(&mut p, A2, promise(ballot, Vec::new()));
    assert_eq!(p.queued(), 0);
    let sent = accepts(ready.messages());
    assert_eq!(sent.len(), 3);
    assert!(sent
        .iter()
        .all(|(_, bal, e)| *bal == ballot && *e == vec![(Slot(0), Value::from(cmd(1, 1)))]));
}

#[test]
fn a_thrifty_takeover_goes_to_the_acceptors_that_promised() {
    let mut config = config();
    config.thrifty = true;
    let mut p = proposer(P4, &config);
    let (ballot, _) = stand(&mut p, &config);
    // A1 is down: A2 and A3 promise; A3 reports a value to re-propose.
    let _ = handle_proposer(&mut p, A2, promise(ballot, Vec::new()));
    let ready = handle_proposer(
        &mut p,
        A3,
        promise(ballot, vec![(Slot(0), b(1, P5), val(1))]),
    );
    assert_eq!(p.status(), Status::Leader { ballot });
    let to: Vec<NodeId> = accepts(ready.messages())
        .into_iter()
        .map(|(to, _, _)| to)
        .collect();
    assert_eq!(to, vec![A2, A3], "takeover Accept sent to {to:?}");
}

#[test]
fn new_leader_keeps_every_value_the_old_leader_got_chosen() {
    let mut cluster = Cluster::new(config());
    cluster.elect(P4);
    for seq in 0..3 {
        cluster.propose(P4, cmd(1, seq));
    }
    // Acceptors accept, but the leader never hears back: nobody learns.
    cluster.run_filtered(|to| to != P4 || ACCEPTORS.contains(&to));
    assert!(cluster.net.decided_by(L).is_empty());
    let old = cluster.proposer(P4).status();
    let new = cluster.elect(P5);
    assert!(matches!(old, Status::Leader { ballot } if ballot < new));
    let delivered: Vec<Value> = cluster
        .net
        .decided_by(L)
        .iter()
        .map(|(_, v)| v.clone())
        .collect();
    let want: Vec<Value> = (0..3).map(|s| Value::from(cmd(1, s))).collect();
    assert_eq!(delivered, want);
    // The old leader, deposed by the new one's heartbeat, gave up on them:
    // a dropped command may still be chosen, which is why clients retry
    // with the same (client, seq).
    let mut dropped = cluster.net.dropped_by(P4).to_vec();
    dropped.sort();
    assert_eq!(dropped, vec![cmd(1, 0), cmd(1, 1), cmd(1, 2)]);
}
