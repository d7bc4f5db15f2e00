//! Single-decree acceptor.
//!
//! Goal: pin the acceptor's rules from the Basic Paxos paper: promise above
//! its promise (persisted in the same Ready as the reply), refuse below it,
//! accept at or above it and report to the proposer and every learner,
//! report its highest-ballot accepted proposal, and keep all of it across a
//! restore. Method: feed one acceptor hand-built messages and inspect the
//! `Ready` it returns.

use crate::basic_kit::{b, config, fresh_acceptor, to_acceptor, value, L, L2, P, Q};
use paxos_core::basic::{Acceptor, Message};
use paxos_core::{DurableState, Record, Slot};

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
