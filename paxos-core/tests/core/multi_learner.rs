//! Multi-Paxos learner.
//!
//! Goal: pin in-order delivery (each slot once, never past a gap), asking
//! for catch-up when a heartbeat's commit point is ahead, and resuming a
//! durable learner after its logged prefix. Method: hand one learner
//! built `Decide` and `Heartbeat` messages and ticks; inspect each `Ready`.

use crate::multi_kit::{b, config, handle_learner, val, P4, P5};
use paxos_core::multi::{Learner, Message};
use paxos_core::{Ready, Slot, Value};

fn decide(entries: &[(u64, Value)]) -> Message {
    Message::Decide {
        entries: entries.iter().map(|(s, v)| (Slot(*s), v.clone())).collect(),
    }
}

#[test]
fn learner_delivers_in_slot_order_only() {
    let mut learner = Learner::new(&config());
    let ready = handle_learner(&mut learner, P4, decide(&[(1, val(1))]));
    assert!(ready.decided().is_empty(), "slot 0 is missing");
    assert_eq!(learner.next_slot(), Slot(0));
    let ready = handle_learner(&mut learner, P4, decide(&[(0, val(0))]));
    assert_eq!(ready.decided(), vec![(Slot(0), val(0)), (Slot(1), val(1))]);
    assert_eq!(learner.next_slot(), Slot(2));
}

#[test]
fn learner_delivers_each_slot_once() {
    let mut learner = Learner::new(&config());
    let _ = handle_learner(&mut learner, P4, decide(&[(0, val(0))]));
    let ready = handle_learner(&mut learner, P5, decide(&[(0, val(0)), (1, val(1))]));
    assert_eq!(ready.decided(), vec![(Slot(1), val(1))]);
}

#[test]
fn learner_asks_for_catch_up_after_retransmit_timeout_when_heartbeat_commit_is_ahead() {
    let config = config();
    let mut learner = Learner::new(&config);
    let _ = handle_learner(&mut learner, P4, decide(&[(0, val(0))]));
    let hb = Message::Heartbeat {
        ballot: b(1, P4),
        commit: Slot(3),
    };
    let _ = handle_learner(&mut learner, P4, hb);
    assert_eq!(learner.leader(), Some(P4));
    for tick in 1..config.retransmit_timeout {
        let mut ready = Ready::new();
        learner.tick(&mut ready);
        assert!(ready.is_empty(), "asked early, at tick {tick}");
    }
    let mut ready = Ready::new();
    learner.tick(&mut ready);
    assert_eq!(
        ready.messages(),
        vec![(P4, Message::CatchUp { from: Slot(1) })]
    );
}

#[test]
fn learner_that_is_not_behind_never_asks() {
    let config = config();
    let mut learner = Learner::new(&config);
    let _ = handle_learner(&mut learner, P4, decide(&[(0, val(0))]));
    let hb = Message::Heartbeat {
        ballot: b(1, P4),
        commit: Slot(1),
    };
    let _ = handle_learner(&mut learner, P4, hb);
    for _ in 0..5 * config.retransmit_timeout {
        let mut ready = Ready::new();
        learner.tick(&mut ready);
        assert!(ready.is_empty());
    }
}

#[test]
fn learner_whose_catch_up_goes_unanswered_asks_another_proposer() {
    let config = config();
    let mut learner = Learner::new(&config);
    let hb = Message::Heartbeat {
        ballot: b(1, P4),
        commit: Slot(2),
    };
    let _ = handle_learner(&mut learner, P4, hb);
    let mut asked = Vec::new();
    for _ in 0..2 * config.retransmit_timeout {
        let mut ready = Ready::new();
        learner.tick(&mut ready);
        asked.extend(ready.messages().iter().cloned());
    }
    let catch_up = Message::CatchUp { from: Slot(0) };
    assert_eq!(asked, vec![(P4, catch_up.clone()), (P5, catch_up)]);
}

#[test]
fn durable_learner_resumes_after_its_logged_prefix_and_logs_what_it_delivers() {
    let config = config();
    let mut state = paxos_core::DurableState::default();
    for s in [0, 1, 3] {
        state.apply(&paxos_core::Record::Decided {
            slot: Slot(s),
            value: val(s),
        });
    }
    assert_eq!(
        state.decided_prefix(),
        vec![(Slot(0), val(0)), (Slot(1), val(1))],
        "the prefix stops at the first gap"
    );
    let mut learner = Learner::restore(&config, &state);
    assert_eq!(learner.next_slot(), Slot(2));
    let decide = Message::Decide {
        entries: vec![(Slot(1), val(1)), (Slot(2), val(2))],
    };
    let ready = handle_learner(&mut learner, P4, decide);
    assert_eq!(ready.decided(), vec![(Slot(2), val(2))]);
    assert!(ready.records().is_empty(), "nothing gates a chosen value");
    assert_eq!(
        ready.written_behind(),
        vec![paxos_core::Record::Decided {
            slot: Slot(2),
            value: val(2)
        }]
    );
    // A learner without a durable log persists nothing.
    let mut plain = Learner::new(&config);
    let ready = handle_learner(
        &mut plain,
        P4,
        Message::Decide {
            entries: vec![(Slot(0), val(0))],
        },
    );
    assert!(ready.records().is_empty());
    assert!(ready.written_behind().is_empty());
}
