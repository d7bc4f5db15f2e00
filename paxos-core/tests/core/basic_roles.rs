//! Single-decree Paxos roles.
//!
//! Goal: pin the rules of the Basic Paxos paper as the core implements them:
//! an acceptor's promise and accept (and that each is persisted in the same
//! Ready as the reply that reports it), the proposer's choice of value, its
//! ballots across restarts and its back-off, and the learner's quorum rule.
//! Method: feed each role hand-built messages and ticks and inspect the
//! `Ready` it returns; run whole rounds on the perfect network of `net.rs`.

use crate::net::Network;
use paxos_core::basic::{Acceptor, Config, Learner, Message, Proposer};
use paxos_core::{
    Ballot, ClientId, Command, DurableState, Error, MemStorage, NodeId, QuorumSystem, Ready,
    Record, Slot, Storage, Value,
};
use std::collections::BTreeSet;

const A1: NodeId = NodeId(1);
const A2: NodeId = NodeId(2);
const A3: NodeId = NodeId(3);
const P: NodeId = NodeId(7);
const Q: NodeId = NodeId(8);
const L: NodeId = NodeId(9);
const L2: NodeId = NodeId(10);
const DELIVERIES_MAX: usize = 10_000;

fn config() -> Config {
    let mut config = Config::new(QuorumSystem::majority([A1, A2, A3]).unwrap(), vec![L]);
    config.proposers = vec![P, Q];
    config
}

fn value(seq: u64) -> Value {
    Value::from(Command {
        client: ClientId(1),
        seq,
        payload: vec![seq as u8].into(),
    })
}

fn b(round: u64, node: NodeId) -> Ballot {
    Ballot::new(round, node)
}

fn fresh_acceptor() -> Acceptor {
    Acceptor::restore(&config(), &DurableState::default())
}

fn fresh_proposer(id: NodeId) -> Proposer {
    Proposer::restore(id, &config(), &DurableState::default(), 1)
}

/// Sends `msg` to `acceptor` and returns the Ready.
fn to_acceptor(acceptor: &mut Acceptor, from: NodeId, msg: Message) -> Ready<Message> {
    let mut ready = Ready::new();
    acceptor.handle(from, msg, &mut ready);
    ready
}

fn to_proposer(proposer: &mut Proposer, from: NodeId, msg: Message) -> Ready<Message> {
    let mut ready = Ready::new();
    proposer.handle(from, msg, &mut ready);
    ready
}

fn to_learner(learner: &mut Learner, from: NodeId, msg: Message) -> Ready<Message> {
    let mut ready = Ready::new();
    learner.handle(from, msg, &mut ready);
    ready
}

fn prepares(ready: &Ready<Message>) -> Vec<(NodeId, Ballot)> {
    ready
        .messages()
        .iter()
        .filter_map(|(to, m)| match m {
            Message::Prepare { ballot } => Some((*to, *ballot)),
            _ => None,
        })
        .collect()
}

/// A small cluster: three acceptors, proposers P and Q, learner L.
struct Cluster {
    config: Config,
    acceptors: Vec<Acceptor>,
    proposers: Vec<(NodeId, Proposer)>,
    learner: Learner,
}

impl Cluster {
    fn new() -> Self {
        let config = config();
        Cluster {
            acceptors: (0..3).map(|_| fresh_acceptor()).collect(),
            proposers: vec![(P, fresh_proposer(P)), (Q, fresh_proposer(Q))],
            learner: Learner::new(&config),
            config,
        }
    }

    fn proposer(&mut self, id: NodeId) -> &mut Proposer {
        &mut self.proposers.iter_mut().find(|(n, _)| *n == id).unwrap().1
    }

    fn deliver(&mut self, from: NodeId, to: NodeId, msg: Message, ready: &mut Ready<Message>) {
        match to {
            A1 | A2 | A3 => self.acceptors[to.0 as usize - 1].handle(from, msg, ready),
            L => self.learner.handle(from, msg, ready),
            _ => self.proposer(to).handle(from, msg, ready),
        }
    }

    fn run(&mut self, net: &mut Network<Message>) {
        net.run(|from, to, msg, ready| self.deliver(from, to, msg, ready));
    }
}

// ---------------------------------------------------------------- acceptor

#[test]
fn acceptor_promises_prepare_above_its_promise_and_persists_it_in_the_same_ready() {
    let mut acceptor = fresh_acceptor();
    let ready = to_acceptor(&mut acceptor, P, Message::Prepare { ballot: b(1, P) });
    assert_eq!(ready.records(), vec![Record::Promise(b(1, P))]);
    assert_eq!(
        ready.messages(),
        vec![(
            P,
            Message::Promise {
                ballot: b(1, P),
                accepted: None
            }
        )]
    );
    assert_eq!(acceptor.promised(), b(1, P));
}

#[test]
fn acceptor_rejects_prepare_below_promised_ballot() {
    let mut acceptor = fresh_acceptor();
    let _ = to_acceptor(&mut acceptor, Q, Message::Prepare { ballot: b(2, Q) });
    let ready = to_acceptor(&mut acceptor, P, Message::Prepare { ballot: b(1, P) });
    assert!(ready.records().is_empty());
    assert_eq!(
        ready.messages(),
        vec![(
            P,
            Message::Nack {
                ballot: b(1, P),
                promised: b(2, Q)
            }
        )]
    );
    assert_eq!(acceptor.promised(), b(2, Q));
}

#[test]
fn acceptor_rejects_prepare_of_same_round_from_lower_node() {
    let mut acceptor = fresh_acceptor();
    let _ = to_acceptor(&mut acceptor, Q, Message::Prepare { ballot: b(1, Q) });
    let ready = to_acceptor(&mut acceptor, P, Message::Prepare { ballot: b(1, P) });
    assert!(matches!(ready.messages()[..], [(P, Message::Nack { .. })]));
}

#[test]
fn acceptor_repromises_a_duplicate_prepare_without_a_new_record() {
    let mut acceptor = fresh_acceptor();
    let first = to_acceptor(&mut acceptor, P, Message::Prepare { ballot: b(1, P) });
    let again = to_acceptor(&mut acceptor, P, Message::Prepare { ballot: b(1, P) });
    assert!(again.records().is_empty(), "nothing new to persist");
    assert_eq!(again.messages(), first.messages(), "the same promise again");
}

#[test]
fn acceptor_accepts_at_promised_ballot_and_reports_to_proposer_and_every_learner() {
    let mut config = config();
    config.learners = vec![L, L2];
    let mut acceptor = Acceptor::restore(&config, &DurableState::default());
    let _ = to_acceptor(&mut acceptor, P, Message::Prepare { ballot: b(1, P) });
    let accept = Message::Accept {
        ballot: b(1, P),
        value: value(1),
    };
    let ready = to_acceptor(&mut acceptor, P, accept);
    assert_eq!(
        ready.records(),
        vec![Record::Accept {
            slot: Slot(0),
            ballot: b(1, P),
            value: value(1)
        }]
    );
    let accepted = Message::Accepted {
        ballot: b(1, P),
        value: value(1),
    };
    let mut sent = ready.messages().to_vec();
    sent.sort();
    assert_eq!(
        sent,
        vec![(P, accepted.clone()), (L, accepted.clone()), (L2, accepted)],
        "proposer and every learner, once each"
    );
    assert_eq!(acceptor.accepted(), Some(&(b(1, P), value(1))));
}

#[test]
fn acceptor_accepts_above_promised_ballot_and_raises_its_promise() {
    let mut acceptor = fresh_acceptor();
    let _ = to_acceptor(&mut acceptor, P, Message::Prepare { ballot: b(1, P) });
    let accept = Message::Accept {
        ballot: b(2, Q),
        value: value(2),
    };
    let ready = to_acceptor(&mut acceptor, Q, accept);
    assert!(ready.records().contains(&Record::Accept {
        slot: Slot(0),
        ballot: b(2, Q),
        value: value(2)
    }));
    assert_eq!(acceptor.promised(), b(2, Q));
    // The raised promise survives a restart: the Accept record carries it.
    let state = DurableState::from_records(ready.records());
    assert_eq!(state.promised, b(2, Q));
}

#[test]
fn acceptor_rejects_accept_below_promised_ballot() {
    let mut acceptor = fresh_acceptor();
    let _ = to_acceptor(&mut acceptor, Q, Message::Prepare { ballot: b(2, Q) });
    let accept = Message::Accept {
        ballot: b(1, P),
        value: value(1),
    };
    let ready = to_acceptor(&mut acceptor, P, accept);
    assert!(ready.records().is_empty());
    assert_eq!(
        ready.messages(),
        vec![(
            P,
            Message::Nack {
                ballot: b(1, P),
                promised: b(2, Q)
            }
        )]
    );
    assert_eq!(acceptor.accepted(), None);
}

#[test]
fn acceptor_reaccepts_a_duplicate_accept_without_a_new_record() {
    let mut acceptor = fresh_acceptor();
    let accept = Message::Accept {
        ballot: b(1, P),
        value: value(1),
    };
    let first = to_acceptor(&mut acceptor, P, accept.clone());
    let again = to_acceptor(&mut acceptor, P, accept);
    assert_eq!(first.records().len(), 1);
    assert!(again.records().is_empty());
    assert_eq!(again.messages(), first.messages());
}

#[test]
fn acceptor_promise_reports_its_highest_ballot_accepted_proposal() {
    let mut acceptor = fresh_acceptor();
    for (ballot, v) in [(b(1, P), value(1)), (b(2, Q), value(2))] {
        let _ = to_acceptor(
            &mut acceptor,
            ballot.node,
            Message::Accept { ballot, value: v },
        );
    }
    let ready = to_acceptor(&mut acceptor, P, Message::Prepare { ballot: b(3, P) });
    assert_eq!(
        ready.messages(),
        vec![(
            P,
            Message::Promise {
                ballot: b(3, P),
                accepted: Some((b(2, Q), value(2)))
            }
        )]
    );
}

#[test]
fn acceptor_restored_from_durable_state_keeps_its_promise_and_accepted_value() {
    let mut acceptor = fresh_acceptor();
    let mut records = Vec::new();
    let steps = [
        Message::Prepare { ballot: b(1, P) },
        Message::Accept {
            ballot: b(1, P),
            value: value(1),
        },
        Message::Prepare { ballot: b(3, Q) },
    ];
    for msg in steps {
        records.extend(to_acceptor(&mut acceptor, P, msg).records().iter().cloned());
    }
    let mut restored = Acceptor::restore(&config(), &DurableState::from_records(&records));
    assert_eq!(restored, acceptor);
    assert_eq!(restored.promised(), b(3, Q));
    assert_eq!(restored.accepted(), Some(&(b(1, P), value(1))));
    let ready = to_acceptor(&mut restored, P, Message::Prepare { ballot: b(2, P) });
    assert!(matches!(
        ready.messages()[..],
        [(P, Message::Nack { promised, .. })] if promised == b(3, Q)
    ));
}

#[test]
fn acceptor_answers_learn_with_its_accepted_proposal_only() {
    let mut acceptor = fresh_acceptor();
    let ready = to_acceptor(&mut acceptor, L, Message::Learn);
    assert!(ready.is_empty(), "nothing accepted, nothing to repeat");
    let accept = Message::Accept {
        ballot: b(1, P),
        value: value(1),
    };
    let _ = to_acceptor(&mut acceptor, P, accept);
    let ready = to_acceptor(&mut acceptor, L, Message::Learn);
    assert!(ready.records().is_empty());
    assert_eq!(
        ready.messages(),
        vec![(
            L,
            Message::Accepted {
                ballot: b(1, P),
                value: value(1)
            }
        )]
    );
}

// ---------------------------------------------------------------- proposer

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

// ------------------------------------------------------ whole rounds

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

// ---------------------------------------------------------------- learner

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

// ---------------------------------------------------------------- config

#[test]
fn basic_config_with_defaults_is_valid() {
    assert_eq!(config().validate(), Ok(()));
}

#[test]
fn basic_config_validate_rejects_no_learners() {
    let mut config = config();
    config.learners.clear();
    assert_eq!(config.validate(), Err(Error::MissingRole("learners")));
}

#[test]
fn basic_config_validate_rejects_zero_tick_timeouts_naming_the_field() {
    type Setter = fn(&mut Config);
    let cases: [(&str, Setter); 3] = [
        ("retry_timeout", |c| c.retry_timeout = 0),
        ("backoff_max", |c| c.backoff_max = 0),
        ("learner_timeout", |c| c.learner_timeout = 0),
    ];
    for (field, zero) in cases {
        let mut config = config();
        zero(&mut config);
        assert!(
            matches!(config.validate(), Err(Error::InvalidConfig { field: f, .. }) if f == field),
            "{field}: {:?}",
            config.validate()
        );
    }
}
