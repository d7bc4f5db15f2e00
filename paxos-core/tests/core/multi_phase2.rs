//! Multi-Paxos proposer: Phase 2.
//!
//! Goal: pin the steady state: batching commands under a full pipeline,
//! choosing a slot on a phase-2 quorum of `Accepted` in the leader's
//! ballot, thrifty sends and retransmits, message size bounds, the queue
//! bound, and forwarding from followers. Method: drive an elected leader
//! by hand; run a small cluster for the exchanges.

use crate::multi_kit::{
    accepts, b, big, cmd, config, decides, elect_by_hand, handle_proposer, propose, proposer,
    Cluster, Entries, A1, A2, A3, L, P4, P5,
};
use paxos_core::multi::Message;
use paxos_core::{NodeId, Ready, Slot, Value};

#[test]
fn leader_chooses_a_slot_on_a_phase2_quorum_and_sends_decide_to_learners_and_proposers() {
    let config = config();
    let mut p = proposer(P4, &config);
    let ballot = elect_by_hand(&mut p, &config);
    let _ = propose(&mut p, cmd(1, 1));
    let accepted = Message::Accepted {
        ballot,
        slots: vec![Slot(0)],
    };
    let ready = handle_proposer(&mut p, A1, accepted.clone());
    assert!(
        decides(ready.messages()).is_empty(),
        "one acceptor is not a quorum"
    );
    let ready = handle_proposer(&mut p, A1, accepted.clone());
    assert!(
        decides(ready.messages()).is_empty(),
        "nor is the same one twice"
    );
    assert_eq!(p.commit(), Slot(0));
    let ready = handle_proposer(&mut p, A2, accepted.clone());
    let entries = vec![(Slot(0), Value::from(cmd(1, 1)))];
    assert_eq!(
        decides(ready.messages()),
        vec![(P5, entries.clone()), (L, entries)]
    );
    assert_eq!(p.commit(), Slot(1));
    let ready = handle_proposer(&mut p, A3, accepted);
    assert!(decides(ready.messages()).is_empty(), "decided once");
}

/// The acceptors each non-empty `Accept` in `ready` goes to.
fn accept_targets(ready: &Ready<Message>) -> Vec<NodeId> {
    accepts(ready.messages())
        .into_iter()
        .filter(|(_, _, entries)| !entries.is_empty())
        .map(|(to, _, _)| to)
        .collect()
}

#[test]
fn thrifty_leader_sends_to_one_quorum_retransmits_to_all_then_prefers_who_answered() {
    let mut config = config();
    config.proposers = vec![A1, P5];
    config.thrifty = true;
    let mut p = proposer(A1, &config);
    // A1 and A2 promised: heard from most recently.
    let ballot = elect_by_hand(&mut p, &config);
    let ready = propose(&mut p, cmd(1, 1));
    assert_eq!(accept_targets(&ready), vec![A1, A2], "own acceptor first");

    // Nobody answers: the retransmit goes to every acceptor.
    let mut resent = Vec::new();
    for _ in 0..config.retransmit_timeout {
        let mut ready = Ready::new();
        p.tick(&mut ready);
        resent.extend(accept_targets(&ready));
    }
    assert_eq!(resent, vec![A1, A2, A3]);

    // A1 and A3 answer; A2 stays silent.
    let accepted = Message::Accepted {
        ballot,
        slots: vec![Slot(0)],
    };
    let _ = handle_proposer(&mut p, A1, accepted.clone());
    let ready = handle_proposer(&mut p, A3, accepted);
    assert_eq!(decides(ready.messages()).len(), 2, "chosen by A1 and A3");
    let ready = propose(&mut p, cmd(1, 2));
    assert_eq!(accept_targets(&ready), vec![A1, A3], "A3 answered last");
}

#[test]
fn leader_sends_each_batch_to_every_acceptor_unless_thrifty() {
    let config = config();
    let mut p = proposer(P4, &config);
    let _ = elect_by_hand(&mut p, &config);
    let ready = propose(&mut p, cmd(1, 1));
    assert_eq!(accept_targets(&ready), vec![A1, A2, A3]);
}

#[test]
fn leader_ignores_accepted_for_another_ballot_or_from_non_acceptors() {
    let config = config();
    let mut p = proposer(P4, &config);
    let ballot = elect_by_hand(&mut p, &config);
    let _ = propose(&mut p, cmd(1, 1));
    let stale = Message::Accepted {
        ballot: b(ballot.round - 1, P5),
        slots: vec![Slot(0)],
    };
    let current = Message::Accepted {
        ballot,
        slots: vec![Slot(0)],
    };
    let _ = handle_proposer(&mut p, A1, current.clone());
    let _ = handle_proposer(&mut p, A2, stale);
    let _ = handle_proposer(&mut p, P5, current.clone());
    let ready = handle_proposer(&mut p, L, current);
    assert!(decides(ready.messages()).is_empty());
    assert_eq!(p.commit(), Slot(0));
}

#[test]
fn leader_batches_commands_that_arrive_while_the_pipeline_is_full() {
    let mut config = config();
    config.pipeline_max = 1;
    config.batch_max = 4;
    let mut cluster = Cluster::new(config.clone());
    cluster.elect(P4);
    cluster.propose(P4, cmd(1, 0));
    for seq in 1..=10 {
        cluster.propose(P4, cmd(1, seq));
        assert_eq!(
            cluster.net.in_flight(),
            3,
            "only the first batch is in flight"
        );
    }
    assert_eq!(cluster.proposer(P4).queued(), 10);
    cluster.run();
    let batches: Vec<Vec<(Slot, Value)>> = cluster
        .net
        .delivered
        .iter()
        .filter(|e| e.to == A1)
        .filter_map(|e| match &e.msg {
            Message::Accept { entries, .. } => Some(entries.clone()),
            _ => None,
        })
        .collect();
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 11, "every command sent once");
    assert!(sizes.len() < 11, "fewer Accepts than commands: {sizes:?}");
    assert!(sizes.iter().all(|n| *n <= config.batch_max), "{sizes:?}");
    assert_eq!(sizes, vec![1, 4, 4, 2]);
    let delivered: Vec<Value> = cluster
        .net
        .decided_by(L)
        .iter()
        .map(|(_, v)| v.clone())
        .collect();
    let want: Vec<Value> = (0..=10).map(|s| Value::from(cmd(1, s))).collect();
    assert_eq!(delivered, want, "in proposal order");
}

#[test]
fn leader_returns_commands_beyond_queue_max_in_dropped() {
    let mut config = config();
    config.pipeline_max = 1;
    config.queue_max = 2;
    let mut p = proposer(P4, &config);
    elect_by_hand(&mut p, &config);
    let mut dropped = Vec::new();
    for seq in 0..5 {
        dropped.extend(propose(&mut p, cmd(1, seq)).dropped().iter().cloned());
    }
    assert_eq!(p.queued(), 2);
    assert_eq!(dropped, vec![cmd(1, 3), cmd(1, 4)]);
}

#[test]
fn a_leader_splits_accepts_and_decides_by_message_bytes_max() {
    let mut config = config();
    config.message_bytes_max = 1000;
    config.pipeline_max = 100;
    let mut p = proposer(P4, &config);
    let ballot = elect_by_hand(&mut p, &config);
    let mut ready = Ready::new();
    p.propose_batch((1..=6).map(|i| big(i, 400)), &mut ready);
    let to_a1: Vec<Entries> = accepts(ready.messages())
        .into_iter()
        .filter(|(to, _, _)| *to == A1)
        .map(|(_, _, e)| e)
        .collect();
    assert_eq!(to_a1.len(), 3, "two 448-byte commands per accept");
    let slots: Vec<Slot> = to_a1.iter().flatten().map(|(s, _)| *s).collect();
    assert_eq!(slots, (0..6).map(Slot).collect::<Vec<_>>());
    let mut decided = Vec::new();
    for a in [A1, A2] {
        let ready = handle_proposer(
            &mut p,
            a,
            Message::Accepted {
                ballot,
                slots: slots.clone(),
            },
        );
        decided.extend(decides(ready.messages()));
    }
    let to_learner: Vec<Entries> = decided
        .into_iter()
        .filter(|(to, _)| *to == L)
        .map(|(_, e)| e)
        .collect();
    assert_eq!(to_learner.len(), 3, "{to_learner:?}");
    assert_eq!(to_learner.concat().len(), 6);
}

#[test]
fn leader_sends_commands_proposed_together_in_one_accept_per_acceptor() {
    let config = config();
    let mut p = proposer(P4, &config);
    let ballot = elect_by_hand(&mut p, &config);
    let mut ready = Ready::new();
    p.propose_batch((1..=10).map(|seq| cmd(1, seq)), &mut ready);
    let sent = accepts(ready.messages());
    assert_eq!(sent.len(), 3, "one Accept per acceptor: {sent:?}");
    for (_, bal, entries) in &sent {
        assert_eq!(*bal, ballot);
        let seqs: Vec<Value> = entries.iter().map(|(_, v)| v.clone()).collect();
        assert_eq!(
            seqs,
            (1..=10).map(|s| Value::from(cmd(1, s))).collect::<Vec<_>>()
        );
    }
}

#[test]
fn follower_forwards_proposals_to_the_leader_it_knows() {
    let config = config();
    let mut p = proposer(P4, &config);
    let hb = Message::Heartbeat {
        ballot: b(1, P5),
        commit: Slot(0),
    };
    let _ = handle_proposer(&mut p, P5, hb);
    let ready = propose(&mut p, cmd(1, 1));
    assert_eq!(
        ready.messages(),
        vec![(
            P5,
            Message::Forward {
                commands: vec![cmd(1, 1)]
            }
        )]
    );
    assert!(ready.dropped().is_empty());
}

#[test]
fn follower_without_a_known_leader_returns_proposals_in_dropped() {
    let config = config();
    let mut p = proposer(P4, &config);
    let ready = propose(&mut p, cmd(1, 1));
    assert!(ready.messages().is_empty());
    assert_eq!(ready.dropped(), vec![cmd(1, 1)]);
}

#[test]
fn forwarded_commands_are_chosen_by_the_leader_and_dropped_by_a_follower() {
    let mut cluster = Cluster::new(config());
    cluster.elect(P4);
    cluster.propose(P5, cmd(1, 1));
    cluster.run();
    assert_eq!(
        cluster.net.decided_by(L),
        &[(Slot(0), Value::from(cmd(1, 1)))]
    );
    // A follower does not pass a forward on (one hop only).
    let forward = Message::Forward {
        commands: vec![cmd(2, 1)],
    };
    let ready = handle_proposer(cluster.proposer(P5), P4, forward);
    assert!(ready.messages().is_empty());
    assert_eq!(ready.dropped(), vec![cmd(2, 1)]);
}

#[test]
fn follower_forwards_commands_proposed_together_in_one_message() {
    let config = config();
    let mut p = proposer(P4, &config);
    let hb = Message::Heartbeat {
        ballot: b(3, P5),
        commit: Slot(0),
    };
    let _ = handle_proposer(&mut p, P5, hb);
    let mut ready = Ready::new();
    p.propose_batch((1..=5).map(|seq| cmd(2, seq)), &mut ready);
    assert_eq!(ready.messages().len(), 1);
    assert!(
        matches!(&ready.messages()[0], (to, Message::Forward { commands }) if *to == P5 && commands.len() == 5)
    );
}
