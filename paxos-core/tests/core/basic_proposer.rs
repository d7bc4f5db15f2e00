//! Single-decree proposer.
//!
//! Goal: pin the proposer's choice of value (the highest-ballot value a
//! phase-1 quorum reports, else its own), its ballots across restarts, and
//! its back-off and retries. Method: feed one proposer hand-built promises,
//! nacks and ticks and inspect the `Ready` it returns.

use crate::basic_kit::{
    b, config, fresh_proposer, prepares, to_proposer, value, Cluster, A1, A2, A3, DELIVERIES_MAX,
    L, P, Q,
};
use crate::net::Network;
use paxos_core::basic::{Message, Proposer};
use paxos_core::{Ballot, DurableState, MemStorage, NodeId, Ready, Record, Storage, Value};
use std::collections::BTreeSet;

#[test]
fn proposer_persists_its_round_in_the_same_ready_as_its_prepare_to_every_acceptor() {
    let mut proposer = fresh_proposer(P);
    let mut ready = Ready::new();
    proposer.propose(value(1), &mut ready);
    let ballot = proposer.ballot().unwrap();
    assert_eq!(ballot.node, P, "a proposer only uses its own ballots");
    assert_eq!(ready.records(), vec![Record::Round(ballot.round)]);
    assert_eq!(
        prepares(&ready),
        vec![(A1, ballot), (A2, ballot), (A3, ballot)]
    );
    assert_eq!(ready.messages().len(), 3);
}

/// A proposer that has sent its Prepare, and its ballot.
fn preparing_proposer(own: Value) -> (Proposer, Ballot) {
    let mut proposer = Proposer::restore(
        P,
        &config(),
        &DurableState {
            round: 10,
            ..DurableState::default()
        },
        1,
    );
    let mut ready = Ready::new();
    proposer.propose(own, &mut ready);
    let ballot = proposer.ballot().unwrap();
    (proposer, ballot)
}

fn accepts(ready: &Ready<Message>) -> Vec<(NodeId, Ballot, Value)> {
    ready
        .messages()
        .iter()
        .filter_map(|(to, m)| match m {
            Message::Accept { ballot, value } => Some((*to, *ballot, value.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn proposer_adopts_the_highest_ballot_value_reported_by_a_phase1_quorum() {
    for reports in [
        [(A1, b(2, Q), value(2)), (A2, b(5, Q), value(5))],
        [(A1, b(5, Q), value(5)), (A2, b(2, Q), value(2))],
    ] {
        let (mut proposer, ballot) = preparing_proposer(value(99));
        let mut sent = Vec::new();
        for (from, accepted_ballot, v) in reports {
            let promise = Message::Promise {
                ballot,
                accepted: Some((accepted_ballot, v)),
            };
            sent.extend(accepts(&to_proposer(&mut proposer, from, promise)));
        }
        let want: Vec<_> = [A1, A2, A3].map(|a| (a, ballot, value(5))).into();
        assert_eq!(sent, want, "the value of ballot 5, not the proposer's own");
    }
}

#[test]
fn proposer_adopts_a_reported_value_even_when_other_promises_report_none() {
    let (mut proposer, ballot) = preparing_proposer(value(99));
    let none = Message::Promise {
        ballot,
        accepted: None,
    };
    let some = Message::Promise {
        ballot,
        accepted: Some((b(1, Q), value(1))),
    };
    assert!(to_proposer(&mut proposer, A1, none).is_empty());
    let ready = to_proposer(&mut proposer, A3, some);
    assert!(accepts(&ready).iter().all(|(_, _, v)| *v == value(1)));
    assert_eq!(accepts(&ready).len(), 3);
}

#[test]
fn proposer_proposes_its_own_value_when_no_promise_reports_one() {
    let (mut proposer, ballot) = preparing_proposer(value(99));
    let mut sent = Vec::new();
    for from in [A1, A2] {
        let promise = Message::Promise {
            ballot,
            accepted: None,
        };
        sent.extend(accepts(&to_proposer(&mut proposer, from, promise)));
    }
    let want: Vec<_> = [A1, A2, A3].map(|a| (a, ballot, value(99))).into();
    assert_eq!(sent, want);
}

#[test]
fn proposer_waits_for_a_phase1_quorum_before_sending_accepts() {
    let (mut proposer, ballot) = preparing_proposer(value(99));
    let promise = Message::Promise {
        ballot,
        accepted: None,
    };
    assert!(to_proposer(&mut proposer, A1, promise.clone()).is_empty());
    assert!(
        to_proposer(&mut proposer, A1, promise).is_empty(),
        "a duplicate promise is not a second vote"
    );
}

#[test]
fn proposer_ignores_promises_for_another_ballot_or_from_non_acceptors() {
    let (mut proposer, ballot) = preparing_proposer(value(99));
    let stale = Message::Promise {
        ballot: b(1, P),
        accepted: Some((b(1, Q), value(1))),
    };
    let current = Message::Promise {
        ballot,
        accepted: None,
    };
    assert!(to_proposer(&mut proposer, A1, stale.clone()).is_empty());
    assert!(to_proposer(&mut proposer, A2, stale).is_empty());
    assert!(to_proposer(&mut proposer, L, current.clone()).is_empty());
    assert!(to_proposer(&mut proposer, Q, current.clone()).is_empty());
    assert!(to_proposer(&mut proposer, A1, current.clone()).is_empty());
    let ready = to_proposer(&mut proposer, A2, current);
    // The stale promises' value was not counted: the proposer uses its own.
    assert!(accepts(&ready).iter().all(|(_, _, v)| *v == value(99)));
    assert_eq!(accepts(&ready).len(), 3);
}

#[test]
fn proposer_learns_its_value_is_chosen_on_a_phase2_quorum_in_its_ballot() {
    let (mut proposer, ballot) = preparing_proposer(value(99));
    for from in [A1, A2] {
        let promise = Message::Promise {
            ballot,
            accepted: None,
        };
        let _ = to_proposer(&mut proposer, from, promise);
    }
    let stale = Message::Accepted {
        ballot: b(1, P),
        value: value(99),
    };
    let current = Message::Accepted {
        ballot,
        value: value(99),
    };
    let _ = to_proposer(&mut proposer, A1, stale);
    let _ = to_proposer(&mut proposer, A1, current.clone());
    assert_eq!(proposer.chosen(), None, "one acceptor is not a quorum");
    let _ = to_proposer(&mut proposer, A2, current);
    assert_eq!(proposer.chosen(), Some(&value(99)));
}

#[test]
fn proposer_never_reuses_a_ballot_after_restore() {
    let mut storage = MemStorage::new();
    let mut used = BTreeSet::new();
    let mut proposer = fresh_proposer(P);
    for restart in 0..4 {
        let mut ready = Ready::new();
        proposer.propose(value(restart), &mut ready);
        used.insert(proposer.ballot().unwrap());
        proposer.retry(&mut ready);
        used.insert(proposer.ballot().unwrap());
        // The driver syncs the rounds before the Prepares leave.
        storage.append(ready.records()).unwrap();
        storage.sync().unwrap();
        storage.crash();
        let state = storage.load().unwrap();
        proposer = Proposer::restore(P, &config(), &state, restart);
    }
    let mut ready = Ready::new();
    proposer.propose(value(9), &mut ready);
    let last = proposer.ballot().unwrap();
    assert!(
        used.iter().all(|b| *b < last),
        "{last} must be above every ballot used before: {used:?}"
    );
    assert_eq!(used.len(), 8, "no ballot used twice");
}

#[test]
fn proposer_restored_from_its_records_prepares_above_its_last_ballot() {
    let mut proposer = fresh_proposer(P);
    let mut ready = Ready::new();
    proposer.propose(value(1), &mut ready);
    let before = proposer.ballot().unwrap();
    let state = DurableState::from_records(ready.records());
    let mut restored = Proposer::restore(P, &config(), &state, 1);
    let mut ready = Ready::new();
    restored.propose(value(1), &mut ready);
    let after = restored.ballot().unwrap();
    assert!(after > before, "{after} reuses or goes below {before}");
    assert_eq!(ready.records(), vec![Record::Round(after.round)]);
}

#[test]
fn proposer_backs_off_on_nack_then_retries_above_the_nacking_promise() {
    let config = config();
    let (mut proposer, ballot) = preparing_proposer(value(1));
    let promised = b(ballot.round + 5, Q);
    let ready = to_proposer(&mut proposer, A1, Message::Nack { ballot, promised });
    assert!(ready.is_empty(), "no immediate retry: it backs off first");
    assert_eq!(proposer.ballot(), None);
    let mut retried = None;
    for _ in 0..config.backoff_max {
        let mut ready = Ready::new();
        proposer.tick(&mut ready);
        if !ready.is_empty() {
            retried = Some(ready);
            break;
        }
    }
    let ready = retried.expect("retried within backoff_max ticks");
    let next = proposer.ballot().unwrap();
    assert!(next > promised, "{next} must beat the promise {promised}");
    assert_eq!(next.node, P);
    assert_eq!(ready.records(), vec![Record::Round(next.round)]);
    assert_eq!(prepares(&ready), vec![(A1, next), (A2, next), (A3, next)]);
}

#[test]
fn proposer_ignores_a_nack_for_a_ballot_it_has_left_behind() {
    let (mut proposer, ballot) = preparing_proposer(value(1));
    let mut ready = Ready::new();
    proposer.retry(&mut ready);
    let current = proposer.ballot().unwrap();
    let nack = Message::Nack {
        ballot,
        promised: b(current.round + 3, Q),
    };
    let _ = to_proposer(&mut proposer, A1, nack);
    assert_eq!(
        proposer.ballot(),
        Some(current),
        "still in phase 1 of {current}"
    );
    // ...but the higher ballot it saw is remembered for the next attempt.
    let mut ready = Ready::new();
    proposer.retry(&mut ready);
    assert!(proposer.ballot().unwrap() > b(current.round + 3, Q));
}

#[test]
fn proposer_whose_phase_times_out_retries_with_a_higher_ballot() {
    let config = config();
    let (mut proposer, ballot) = preparing_proposer(value(1));
    let ticks_max = config.retry_timeout + config.backoff_max;
    let mut prepared = Vec::new();
    for _ in 0..ticks_max {
        let mut ready = Ready::new();
        proposer.tick(&mut ready);
        prepared.extend(prepares(&ready));
    }
    assert_eq!(prepared.len(), 3, "one retry within {ticks_max} ticks");
    assert!(prepared.iter().all(|(_, b)| *b > ballot));
}

#[test]
fn proposer_that_knows_the_chosen_value_ignores_new_proposals() {
    let mut cluster = Cluster::new();
    let mut net = Network::new(DELIVERIES_MAX);
    let mut ready = Ready::new();
    cluster.proposer(P).propose(value(1), &mut ready);
    net.post(P, ready);
    cluster.run(&mut net);
    assert_eq!(cluster.proposer(P).chosen(), Some(&value(1)));
    let mut ready = Ready::new();
    cluster.proposer(P).propose(value(2), &mut ready);
    assert!(ready.is_empty());
}
