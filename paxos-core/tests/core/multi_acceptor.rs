//! Multi-Paxos acceptor.
//!
//! Goal: pin the acceptor's rules: one promise for every slot from the
//! prepare's first slot on, refusals below the promise, accepted entries
//! persisted in the same Ready as the reply that reports them, and a
//! restore that keeps every promise and accepted slot. Method: hand one
//! acceptor built messages and inspect each `Ready`.

use crate::multi_kit::{b, big, config, fresh_acceptor, handle_acceptor, val, P4, P5};
use paxos_core::multi::{Acceptor, Message};
use paxos_core::{DurableState, Record, Slot, Value};

#[test]
fn multi_acceptor_promise_reports_accepted_entries_from_first_slot_on() {
    let mut acceptor = fresh_acceptor();
    let entries: Vec<(Slot, Value)> = (0..4).map(|s| (Slot(s), val(s))).collect();
    let accept = Message::Accept {
        ballot: b(1, P4),
        entries,
    };
    let _ = handle_acceptor(&mut acceptor, P4, accept);
    let prepare = Message::Prepare {
        ballot: b(2, P5),
        first_slot: Slot(2),
    };
    let ready = handle_acceptor(&mut acceptor, P5, prepare);
    assert_eq!(ready.records(), vec![Record::Promise(b(2, P5))]);
    assert_eq!(
        ready.messages(),
        vec![(
            P5,
            Message::Promise {
                ballot: b(2, P5),
                first_slot: Slot(2),
                accepted: vec![(Slot(2), b(1, P4), val(2)), (Slot(3), b(1, P4), val(3))],
                part: 0,
                parts: 1,
            }
        )]
    );
}

#[test]
fn multi_acceptor_rejects_prepare_below_promised_ballot() {
    let mut acceptor = fresh_acceptor();
    let high = Message::Prepare {
        ballot: b(2, P5),
        first_slot: Slot(0),
    };
    let _ = handle_acceptor(&mut acceptor, P5, high);
    let low = Message::Prepare {
        ballot: b(2, P4),
        first_slot: Slot(0),
    };
    let ready = handle_acceptor(&mut acceptor, P4, low);
    assert!(ready.records().is_empty());
    assert_eq!(
        ready.messages(),
        vec![(
            P4,
            Message::Nack {
                ballot: b(2, P4),
                promised: b(2, P5)
            }
        )]
    );
}

#[test]
fn multi_acceptor_rejects_accept_below_promised_ballot() {
    let mut acceptor = fresh_acceptor();
    let prepare = Message::Prepare {
        ballot: b(3, P5),
        first_slot: Slot(0),
    };
    let _ = handle_acceptor(&mut acceptor, P5, prepare);
    let accept = Message::Accept {
        ballot: b(2, P4),
        entries: vec![(Slot(0), val(1))],
    };
    let ready = handle_acceptor(&mut acceptor, P4, accept);
    assert!(ready.records().is_empty());
    assert_eq!(
        ready.messages(),
        vec![(
            P4,
            Message::Nack {
                ballot: b(2, P4),
                promised: b(3, P5)
            }
        )]
    );
    assert_eq!(acceptor.accepted(Slot(0)), None);
}

#[test]
fn multi_acceptor_persists_accepted_entries_in_the_same_ready_as_its_accepted_reply() {
    let mut acceptor = fresh_acceptor();
    let prepare = Message::Prepare {
        ballot: b(1, P4),
        first_slot: Slot(0),
    };
    let _ = handle_acceptor(&mut acceptor, P4, prepare);
    let entries: Vec<(Slot, Value)> = (5..8).map(|s| (Slot(s), val(s))).collect();
    let accept = Message::Accept {
        ballot: b(1, P4),
        entries: entries.clone(),
    };
    let ready = handle_acceptor(&mut acceptor, P4, accept);
    let records: Vec<Record> = entries
        .iter()
        .map(|(slot, value)| Record::Accept {
            slot: *slot,
            ballot: b(1, P4),
            value: value.clone(),
        })
        .collect();
    assert_eq!(ready.records(), records);
    assert_eq!(
        ready.messages(),
        vec![(
            P4,
            Message::Accepted {
                ballot: b(1, P4),
                slots: vec![Slot(5), Slot(6), Slot(7)]
            }
        )]
    );
}

#[test]
fn multi_acceptor_accept_above_its_promise_persists_the_raised_promise_even_for_no_entries() {
    let mut acceptor = fresh_acceptor();
    let accept = Message::Accept {
        ballot: b(4, P4),
        entries: Vec::new(),
    };
    let ready = handle_acceptor(&mut acceptor, P4, accept);
    assert_eq!(ready.records(), vec![Record::Promise(b(4, P4))]);
    assert_eq!(acceptor.promised(), b(4, P4));
}

#[test]
fn multi_acceptor_reaccepts_duplicate_entries_without_new_records() {
    let mut acceptor = fresh_acceptor();
    let accept = Message::Accept {
        ballot: b(1, P4),
        entries: vec![(Slot(0), val(0)), (Slot(1), val(1))],
    };
    let first = handle_acceptor(&mut acceptor, P4, accept.clone());
    let again = handle_acceptor(&mut acceptor, P4, accept);
    assert!(!first.records().is_empty());
    assert!(again.records().is_empty());
    assert_eq!(again.messages(), first.messages());
}

#[test]
fn multi_acceptor_replaces_a_slot_accepted_in_a_lower_ballot() {
    let mut acceptor = fresh_acceptor();
    for (ballot, v) in [(b(1, P4), val(1)), (b(2, P5), Value::Noop)] {
        let accept = Message::Accept {
            ballot,
            entries: vec![(Slot(0), v)],
        };
        let _ = handle_acceptor(&mut acceptor, ballot.node, accept);
    }
    assert_eq!(acceptor.accepted(Slot(0)), Some(&(b(2, P5), Value::Noop)));
}

#[test]
fn multi_acceptor_restored_from_its_records_keeps_promise_and_accepted_slots() {
    let mut acceptor = fresh_acceptor();
    let mut records = Vec::new();
    let steps = [
        Message::Accept {
            ballot: b(1, P4),
            entries: vec![(Slot(0), val(0)), (Slot(1), val(1))],
        },
        Message::Prepare {
            ballot: b(2, P5),
            first_slot: Slot(0),
        },
        Message::Accept {
            ballot: b(2, P5),
            entries: vec![(Slot(1), Value::Noop)],
        },
    ];
    for msg in steps {
        records.extend(
            handle_acceptor(&mut acceptor, P4, msg)
                .records()
                .iter()
                .cloned(),
        );
    }
    let mut restored = Acceptor::restore(&config(), &DurableState::from_records(&records));
    assert_eq!(restored, acceptor);
    let low = Message::Prepare {
        ballot: b(1, P5),
        first_slot: Slot(0),
    };
    let ready = handle_acceptor(&mut restored, P5, low);
    assert!(matches!(ready.messages()[..], [(P5, Message::Nack { .. })]));
}

#[test]
fn a_promise_over_message_bytes_max_comes_in_parts_that_add_up() {
    let mut config = config();
    config.message_bytes_max = 1000;
    let mut acceptor = Acceptor::restore(&config, &DurableState::default());
    let entries: Vec<(Slot, Value)> = (0..10)
        .map(|i| (Slot(i), Value::from(big(i, 300))))
        .collect();
    let _ = handle_acceptor(
        &mut acceptor,
        P4,
        Message::Accept {
            ballot: b(1, P4),
            entries: entries.clone(),
        },
    );
    let ready = handle_acceptor(
        &mut acceptor,
        P5,
        Message::Prepare {
            ballot: b(2, P5),
            first_slot: Slot(0),
        },
    );
    let mut all = Vec::new();
    let n = ready.messages().len();
    assert!(n > 1, "split into parts");
    for (i, (to, m)) in ready.messages().iter().cloned().enumerate() {
        assert_eq!(to, P5);
        let Message::Promise {
            accepted,
            part,
            parts,
            ..
        } = m
        else {
            panic!("not a promise: {m:?}")
        };
        assert_eq!((part as usize, parts as usize), (i, n));
        let bytes: usize = accepted.iter().map(|(_, _, v)| v.size_hint()).sum();
        assert!(bytes <= 1000, "part {part} holds {bytes} bytes");
        all.extend(accepted.into_iter().map(|(s, _, v)| (s, v)));
    }
    assert_eq!(all, entries);
}
