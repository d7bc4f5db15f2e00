//! Single-decree Paxos: whole rounds.
//!
//! Goal: pin that a round chooses one value, that a later proposer adopts
//! it, and that dueling proposers still choose one. Method: run the roles on
//! the perfect network of `net.rs`.

use crate::basic_kit::{value, Cluster, DELIVERIES_MAX, L, P, Q};
use crate::net::Network;
use paxos_core::{DurableState, NodeId, Ready, Slot};

#[test]
fn round_on_a_perfect_network_chooses_the_proposed_value_and_the_learner_decides_it() {
    let mut cluster = Cluster::new();
    let mut net = Network::new(DELIVERIES_MAX);
    let mut ready = Ready::new();
    cluster.proposer(P).propose(value(1), &mut ready);
    net.post(P, ready);
    cluster.run(&mut net);
    assert_eq!(cluster.proposer(P).chosen(), Some(&value(1)));
    assert_eq!(cluster.learner.decided(), Some(&value(1)));
    assert_eq!(net.decided_by(L), &[(Slot(0), value(1))]);
    for (i, acceptor) in cluster.acceptors.iter().enumerate() {
        let id = NodeId(i as u64 + 1);
        // Each acceptor persisted what it reported.
        let state = DurableState::from_records(net.persisted_by(id));
        assert_eq!(state.promised, acceptor.promised());
        assert_eq!(state.accepted.get(&Slot(0)), acceptor.accepted());
    }
}

#[test]
fn later_proposer_adopts_the_value_already_chosen() {
    let mut cluster = Cluster::new();
    let mut net = Network::new(DELIVERIES_MAX);
    let mut ready = Ready::new();
    cluster.proposer(P).propose(value(1), &mut ready);
    net.post(P, ready);
    cluster.run(&mut net);
    let mut ready = Ready::new();
    cluster.proposer(Q).propose(value(2), &mut ready);
    net.post(Q, ready);
    cluster.run(&mut net);
    assert_eq!(cluster.proposer(Q).chosen(), Some(&value(1)));
    assert_eq!(cluster.learner.decided(), Some(&value(1)));
}

#[test]
fn dueling_proposers_on_a_perfect_network_choose_one_value() {
    let mut cluster = Cluster::new();
    let mut net = Network::new(DELIVERIES_MAX);
    for (id, v) in [(P, value(1)), (Q, value(2))] {
        let mut ready = Ready::new();
        cluster.proposer(id).propose(v, &mut ready);
        net.post(id, ready);
    }
    let ticks_max = 200;
    for _ in 0..ticks_max {
        cluster.run(&mut net);
        if cluster.learner.decided().is_some()
            && cluster.proposers.iter().all(|(_, p)| p.chosen().is_some())
        {
            break;
        }
        for i in 0..cluster.proposers.len() {
            let mut ready = Ready::new();
            let (id, proposer) = &mut cluster.proposers[i];
            proposer.tick(&mut ready);
            net.post(*id, ready);
        }
    }
    let decided = cluster
        .learner
        .decided()
        .cloned()
        .expect("decided within the tick bound");
    assert!(
        decided == value(1) || decided == value(2),
        "only a proposed value"
    );
    for (_, proposer) in &cluster.proposers {
        assert_eq!(proposer.chosen(), Some(&decided));
    }
}
