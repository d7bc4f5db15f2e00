//! Single-decree learner.
//!
//! Goal: pin the learner's quorum rule (a phase-2 quorum in one ballot, each
//! acceptor counted once, only acceptors), one delivery, and asking again
//! when it missed the accepts. Method: feed one learner hand-built reports
//! and ticks; run a cluster for the recovery.

use crate::basic_kit::{
    b, config, to_learner, value, Cluster, A1, A2, A3, DELIVERIES_MAX, L, P, Q,
};
use crate::net::Network;
use paxos_core::basic::{Learner, Message};
use paxos_core::{Ballot, Ready, Slot, Value};

fn accepted(ballot: Ballot, v: Value) -> Message {
    Message::Accepted { ballot, value: v }
}

#[test]
fn learner_decides_only_on_a_phase2_quorum_in_one_ballot() {
    let mut learner = Learner::new(&config());
    let ready = to_learner(&mut learner, A1, accepted(b(1, P), value(1)));
    assert!(ready.is_empty());
    let ready = to_learner(&mut learner, A2, accepted(b(2, Q), value(2)));
    assert!(
        ready.decided().is_empty(),
        "two acceptors in different ballots"
    );
    assert_eq!(learner.decided(), None);
    let ready = to_learner(&mut learner, A3, accepted(b(2, Q), value(2)));
    assert_eq!(ready.decided(), vec![(Slot(0), value(2))]);
    assert_eq!(learner.decided(), Some(&value(2)));
}

#[test]
fn learner_does_not_count_a_repeated_report_twice() {
    let mut learner = Learner::new(&config());
    let _ = to_learner(&mut learner, A1, accepted(b(1, P), value(1)));
    let ready = to_learner(&mut learner, A1, accepted(b(1, P), value(1)));
    assert!(ready.decided().is_empty());
    assert_eq!(learner.decided(), None);
}

#[test]
fn learner_ignores_accepted_reports_from_non_acceptors() {
    let mut learner = Learner::new(&config());
    let _ = to_learner(&mut learner, A1, accepted(b(1, P), value(1)));
    let ready = to_learner(&mut learner, P, accepted(b(1, P), value(1)));
    assert!(ready.decided().is_empty());
    assert_eq!(learner.decided(), None);
}

#[test]
fn learner_delivers_its_decision_once() {
    let mut learner = Learner::new(&config());
    let mut decided = Vec::new();
    for from in [A1, A2, A3, A1] {
        decided.extend(
            to_learner(&mut learner, from, accepted(b(1, P), value(1)))
                .decided()
                .iter()
                .cloned(),
        );
    }
    assert_eq!(decided, vec![(Slot(0), value(1))]);
}

#[test]
fn learner_asks_every_acceptor_after_learner_timeout_ticks() {
    let config = config();
    let mut learner = Learner::new(&config);
    for tick in 1..config.learner_timeout {
        let mut ready = Ready::new();
        learner.tick(&mut ready);
        assert!(ready.is_empty(), "asked early, at tick {tick}");
    }
    let mut ready = Ready::new();
    learner.tick(&mut ready);
    assert_eq!(
        ready.messages(),
        vec![
            (A1, Message::Learn),
            (A2, Message::Learn),
            (A3, Message::Learn)
        ]
    );
}

#[test]
fn learner_that_saw_some_accepts_also_asks_a_proposer_for_recovery() {
    let config = config();
    let mut learner = Learner::new(&config);
    let _ = to_learner(&mut learner, A1, accepted(b(1, P), value(1)));
    let mut asked = Vec::new();
    for _ in 0..config.learner_timeout {
        let mut ready = Ready::new();
        learner.tick(&mut ready);
        asked.extend(ready.messages().iter().cloned());
    }
    let recover: Vec<_> = asked
        .iter()
        .filter(|(_, m)| *m == Message::Recover)
        .collect();
    assert_eq!(recover.len(), 1);
    assert!(config.proposers.contains(&recover[0].0));
}

#[test]
fn learner_stops_asking_once_decided() {
    let config = config();
    let mut learner = Learner::new(&config);
    for from in [A1, A2] {
        let _ = to_learner(&mut learner, from, accepted(b(1, P), value(1)));
    }
    for _ in 0..3 * config.learner_timeout {
        let mut ready = Ready::new();
        learner.tick(&mut ready);
        assert!(ready.is_empty());
    }
}

#[test]
fn learner_that_missed_the_accepts_decides_after_asking() {
    let mut cluster = Cluster::new();
    let mut net = Network::new(DELIVERIES_MAX);
    let mut ready = Ready::new();
    cluster.proposer(P).propose(value(1), &mut ready);
    net.post(P, ready);
    // The learner misses every Accepted of the round.
    net.run_filtered(
        |e| e.to != L,
        |from, to, msg, ready| cluster.deliver(from, to, msg, ready),
    );
    assert_eq!(cluster.learner.decided(), None);
    for _ in 0..cluster.config.learner_timeout {
        let mut ready = Ready::new();
        cluster.learner.tick(&mut ready);
        net.post(L, ready);
    }
    cluster.run(&mut net);
    assert_eq!(cluster.learner.decided(), Some(&value(1)));
}
