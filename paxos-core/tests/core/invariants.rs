//! Invariants every role states about itself.
//!
//! Goal: pin `check_invariants()` of each role: it holds after every step
//! of runs with message loss, duplication, reordering and restarts; a state
//! restored from an inconsistent `DurableState` is reported, naming the
//! invariant and its values; and the checks kept in the code paths (a
//! chosen value learned again with another value, a ballot round with no
//! room left) stop the node with the invariant's name. Method: a seeded
//! chaos loop over the pure roles, checking every role after every step;
//! restores from hand-built states. Corruptions no input or restore can
//! produce are pinned by unit tests inside the crate.

use crate::multi_kit::{b, cmd, config, val, A1, A2, A3, ACCEPTORS, L, P4, P5};
use paxos_core::multi::{Acceptor, Learner, Message, Proposer};
use paxos_core::{
    basic, Ballot, DurableState, Invariant, InvariantViolation, Jitter, NodeId, QuorumSystem,
    Ready, Record, Slot, Value,
};
use std::collections::BTreeMap;

/// Steps in one chaos run, and seeds per test.
const STEPS: u64 = 2000;
const SEEDS: u64 = 24;

/// Panics naming the seed, step and role, unless `result` is `Ok`.
fn holds(result: Result<(), InvariantViolation>, seed: u64, step: u64, role: &str) {
    if let Err(violation) = result {
        panic!("seed {seed}, step {step}, {role}: {violation}");
    }
}

/// One node's inbox entry: from, to, message.
type Wire<M> = Vec<(NodeId, NodeId, M)>;

/// Takes a random message off `wire` (now and then leaving a copy behind,
/// a duplicate); `None` if empty or if the network loses it.
fn pick<M: Clone>(wire: &mut Wire<M>, rng: &mut Jitter) -> Option<(NodeId, NodeId, M)> {
    if wire.is_empty() {
        return None;
    }
    let i = rng.below(wire.len() as u64) as usize;
    let envelope = if rng.below(10) == 0 {
        wire[i].clone()
    } else {
        wire.swap_remove(i)
    };
    (rng.below(10) != 0).then_some(envelope)
}

fn post<M: Clone>(wire: &mut Wire<M>, from: NodeId, ready: &Ready<M>) {
    wire.extend(
        ready
            .messages()
            .iter()
            .map(|(to, m)| (from, *to, m.clone())),
    );
}

/// Runs Multi-Paxos roles (A1..A3, proposers P4 and P5, learner L) for
/// `STEPS` random steps, checking every role after each; returns how many
/// entries the learner delivered.
fn multi_chaos(seed: u64) -> usize {
    let mut config = config();
    config.batch_max = 3;
    config.pipeline_max = 2;
    config.catchup_max = 4;
    config.thrifty = seed % 2 == 1;
    let fresh = DurableState::default();
    let mut rng = Jitter::new(seed);
    let mut synced: BTreeMap<NodeId, Vec<Record>> = BTreeMap::new();
    let mut acceptors: BTreeMap<NodeId, Acceptor> = ACCEPTORS
        .iter()
        .map(|a| (*a, Acceptor::restore(&config, &fresh)))
        .collect();
    let mut proposers: BTreeMap<NodeId, Proposer> = [P4, P5]
        .iter()
        .map(|p| (*p, Proposer::restore(*p, &config, &fresh, seed)))
        .collect();
    let mut learner = Learner::new(&config);
    let (mut wire, mut delivered) = (Wire::new(), 0);
    for step in 0..STEPS {
        let mut ready = Ready::new();
        let node = match rng.below(100) {
            0..=59 => match pick(&mut wire, &mut rng) {
                Some((from, to, msg)) => {
                    match (acceptors.get_mut(&to), proposers.get_mut(&to)) {
                        (Some(a), _) => a.handle(from, msg, &mut ready),
                        (_, Some(p)) => p.handle(from, msg, &mut ready),
                        _ => learner.handle(from, msg, &mut ready),
                    }
                    to
                }
                None => continue,
            },
            60..=84 => {
                let node = [P4, P5, L][rng.below(3) as usize];
                match proposers.get_mut(&node) {
                    Some(p) => p.tick(&mut ready),
                    None => learner.tick(&mut ready),
                }
                node
            }
            85..=96 => {
                let p = [P4, P5][rng.below(2) as usize];
                let commands = (0..=rng.below(3)).map(|i| cmd(rng.below(3), step * 4 + i));
                if let Some(proposer) = proposers.get_mut(&p) {
                    proposer.propose_batch(commands, &mut ready);
                }
                p
            }
            _ => {
                // A crash: the node comes back from its synced records.
                let node = [A1, A2, A3, P4, P5][rng.below(5) as usize];
                let state = DurableState::from_records(synced.get(&node).into_iter().flatten());
                if acceptors.contains_key(&node) {
                    acceptors.insert(node, Acceptor::restore(&config, &state));
                }
                if proposers.contains_key(&node) {
                    let restarted = Proposer::restore(node, &config, &state, seed + step);
                    proposers.insert(node, restarted);
                }
                continue;
            }
        };
        if node == L {
            delivered += ready.decided().len();
        }
        synced
            .entry(node)
            .or_default()
            .extend_from_slice(ready.records());
        post(&mut wire, node, &ready);
        for (id, a) in &acceptors {
            holds(a.check_invariants(), seed, step, &format!("acceptor {id}"));
        }
        for (id, p) in &proposers {
            holds(p.check_invariants(), seed, step, &format!("proposer {id}"));
        }
        holds(learner.check_invariants(), seed, step, "learner");
    }
    delivered
}

#[test]
fn every_multi_role_keeps_its_invariants_under_loss_duplication_reordering_and_restarts() {
    let delivered: usize = (0..SEEDS).map(multi_chaos).sum();
    assert!(
        delivered > 0,
        "the runs must choose something to mean anything"
    );
}

/// As [`multi_chaos`] for single-decree Paxos: acceptors A1..A3, proposers
/// P4 and P5 each proposing its own value, learner L. Returns whether the
/// learner decided.
fn basic_chaos(seed: u64) -> bool {
    let quorum = QuorumSystem::majority(ACCEPTORS).unwrap();
    let mut config = basic::Config::new(quorum, vec![L]);
    config.proposers = vec![P4, P5];
    let fresh = DurableState::default();
    let mut rng = Jitter::new(seed);
    let mut synced: BTreeMap<NodeId, Vec<Record>> = BTreeMap::new();
    let mut acceptors: BTreeMap<NodeId, basic::Acceptor> = ACCEPTORS
        .iter()
        .map(|a| (*a, basic::Acceptor::restore(&config, &fresh)))
        .collect();
    let mut proposers: BTreeMap<NodeId, basic::Proposer> = [P4, P5]
        .iter()
        .map(|p| (*p, basic::Proposer::restore(*p, &config, &fresh, seed)))
        .collect();
    let mut learner = basic::Learner::new(&config);
    let mut wire: Wire<basic::Message> = Wire::new();
    for step in 0..STEPS / 4 {
        let mut ready = Ready::new();
        let node = match rng.below(100) {
            0..=59 => match pick(&mut wire, &mut rng) {
                Some((from, to, msg)) => {
                    if let Some(a) = acceptors.get_mut(&to) {
                        a.handle(from, msg.clone(), &mut ready);
                    }
                    match proposers.get_mut(&to) {
                        Some(p) if msg.for_proposer() => p.handle(from, msg, &mut ready),
                        _ if to == L => learner.handle(from, msg, &mut ready),
                        _ => {}
                    }
                    to
                }
                None => continue,
            },
            60..=89 => {
                let node = [P4, P5, L][rng.below(3) as usize];
                match proposers.get_mut(&node) {
                    Some(p) => p.tick(&mut ready),
                    None => learner.tick(&mut ready),
                }
                node
            }
            90..=95 => {
                let p = [P4, P5][rng.below(2) as usize];
                if let Some(proposer) = proposers.get_mut(&p) {
                    proposer.propose(val(p.0), &mut ready);
                }
                p
            }
            _ => {
                let node = [A1, A2, A3, P4, P5][rng.below(5) as usize];
                let state = DurableState::from_records(synced.get(&node).into_iter().flatten());
                if acceptors.contains_key(&node) {
                    acceptors.insert(node, basic::Acceptor::restore(&config, &state));
                }
                if proposers.contains_key(&node) {
                    let restarted = basic::Proposer::restore(node, &config, &state, seed + step);
                    proposers.insert(node, restarted);
                }
                continue;
            }
        };
        synced
            .entry(node)
            .or_default()
            .extend_from_slice(ready.records());
        post(&mut wire, node, &ready);
        for (id, a) in &acceptors {
            holds(a.check_invariants(), seed, step, &format!("acceptor {id}"));
        }
        for (id, p) in &proposers {
            holds(p.check_invariants(), seed, step, &format!("proposer {id}"));
        }
        holds(learner.check_invariants(), seed, step, "learner");
    }
    learner.decided().is_some()
}

#[test]
fn every_basic_role_keeps_its_invariants_under_loss_duplication_reordering_and_restarts() {
    let decided = (0..SEEDS).filter(|seed| basic_chaos(*seed)).count();
    assert!(decided > 0, "no run decided anything");
}

/// What `check_invariants` reports for an acceptor of each kind restored
/// from `state`.
fn restored(state: &DurableState) -> [Result<(), InvariantViolation>; 2] {
    let quorum = QuorumSystem::majority(ACCEPTORS).unwrap();
    let basic = basic::Acceptor::restore(&basic::Config::new(quorum, vec![L]), state);
    let multi = Acceptor::restore(&config(), state);
    [basic.check_invariants(), multi.check_invariants()]
}

#[test]
fn promise_covers_accepted_is_reported_for_an_acceptor_restored_with_an_accept_above_its_promise() {
    let state = DurableState {
        promised: b(1, P4),
        accepted: BTreeMap::from([(Slot(0), (b(2, P5), val(1)))]),
        ..DurableState::default()
    };
    for report in restored(&state) {
        let violation = report.unwrap_err();
        assert_eq!(violation.invariant, Invariant::PromiseCoversAccepted);
        let text = violation.to_string();
        assert!(text.contains("promise_covers_accepted"), "{text}");
        assert!(text.contains("2.5") && text.contains("1.4"), "{text}");
    }
}

#[test]
fn accepted_within_bounds_is_reported_for_an_acceptor_restored_with_a_round_0_accept() {
    let state = DurableState {
        promised: b(3, P4),
        accepted: BTreeMap::from([(Slot(0), (Ballot::ZERO, val(1)))]),
        ..DurableState::default()
    };
    for report in restored(&state) {
        assert_eq!(
            report.unwrap_err().invariant,
            Invariant::AcceptedWithinBounds
        );
    }
}

#[test]
fn promise_covers_accepted_holds_for_any_state_rebuilt_from_records() {
    let mut rng = Jitter::new(5);
    for _ in 0..200 {
        let records: Vec<Record> = (0..rng.below(12))
            .map(|_| {
                let ballot = b(1 + rng.below(4), [P4, P5][rng.below(2) as usize]);
                match rng.below(2) {
                    0 => Record::Promise(ballot),
                    _ => Record::Accept {
                        slot: Slot(rng.below(3)),
                        ballot,
                        value: val(rng.below(3)),
                    },
                }
            })
            .collect();
        let state = DurableState::from_records(&records);
        assert_eq!(restored(&state), [Ok(()), Ok(())], "{records:?}");
    }
}

#[cfg(feature = "planted-bugs")]
#[test]
fn promise_covers_accepted_reports_an_acceptor_that_forgot_its_promise() {
    let mut config = config();
    config.bugs.acceptor_forgets_promise = true;
    let state = DurableState::from_records(&[Record::Accept {
        slot: Slot(0),
        ballot: b(2, P4),
        value: val(1),
    }]);
    let acceptor = Acceptor::restore(&config, &state);
    let violation = acceptor.check_invariants().unwrap_err();
    assert_eq!(violation.invariant, Invariant::PromiseCoversAccepted);
}

#[test]
#[should_panic(expected = "chosen_value_unchanged")]
fn chosen_value_unchanged_stops_a_proposer_that_learns_another_value_below_its_commit() {
    let mut p = Proposer::restore(P4, &config(), &DurableState::default(), 1);
    p.learn([(Slot(0), val(1))]);
    p.learn([(Slot(0), val(2))]);
}

#[test]
#[should_panic(expected = "chosen_value_unchanged")]
fn chosen_value_unchanged_stops_a_proposer_told_another_value_ahead_of_its_commit() {
    let mut p = Proposer::restore(P4, &config(), &DurableState::default(), 1);
    p.learn([(Slot(3), val(1))]);
    let decide = Message::Decide {
        entries: vec![(Slot(3), Value::Noop)],
    };
    p.handle(P5, decide, &mut Ready::new());
}

#[test]
#[should_panic(expected = "chosen_value_unchanged")]
fn chosen_value_unchanged_stops_a_learner_told_another_value_for_a_slot_it_holds() {
    let mut learner = Learner::new(&config());
    for value in [val(1), val(2)] {
        let decide = Message::Decide {
            entries: vec![(Slot(1), value)],
        };
        learner.handle(P4, decide, &mut Ready::new());
    }
}

#[test]
fn chosen_value_unchanged_lets_the_same_value_be_learned_again() {
    let mut p = Proposer::restore(P4, &config(), &DurableState::default(), 1);
    let mut learner = Learner::new(&config());
    for _ in 0..2 {
        p.learn([(Slot(0), val(1)), (Slot(2), val(3))]);
        let decide = Message::Decide {
            entries: vec![(Slot(2), val(3)), (Slot(0), val(1))],
        };
        p.handle(P5, decide.clone(), &mut Ready::new());
        learner.handle(P4, decide, &mut Ready::new());
    }
    assert_eq!(p.commit(), Slot(1));
    assert_eq!(learner.next_slot(), Slot(1));
    assert_eq!(p.check_invariants(), Ok(()));
    assert_eq!(learner.check_invariants(), Ok(()));
}

#[test]
#[should_panic(expected = "ballots_only_grow")]
fn ballots_only_grow_stops_a_multi_proposer_with_no_round_left() {
    let state = DurableState {
        round: u64::MAX,
        ..DurableState::default()
    };
    let config = config();
    let mut p = Proposer::restore(P4, &config, &state, 1);
    for _ in 0..=16 * (config.election_timeout + config.election_jitter + 1) {
        p.tick(&mut Ready::new());
    }
}

#[test]
#[should_panic(expected = "ballots_only_grow")]
fn ballots_only_grow_stops_a_basic_proposer_with_no_round_left() {
    let quorum = QuorumSystem::majority(ACCEPTORS).unwrap();
    let state = DurableState {
        round: u64::MAX,
        ..DurableState::default()
    };
    let mut p = basic::Proposer::restore(P4, &basic::Config::new(quorum, vec![L]), &state, 1);
    p.propose(val(1), &mut Ready::new());
}

#[test]
fn quorums_intersect_holds_for_every_quorum_system_the_constructors_accept() {
    for n in 1..=7u64 {
        let ids: Vec<NodeId> = (1..=n).map(NodeId).collect();
        let majority = QuorumSystem::majority(ids.clone()).unwrap();
        assert_eq!(majority.check_invariants(), Ok(()), "majority of {n}");
        for q1 in 0..=n as usize + 1 {
            for q2 in 0..=n as usize + 1 {
                if let Ok(q) = QuorumSystem::flexible(ids.clone(), q1, q2) {
                    assert_eq!(q.check_invariants(), Ok(()), "{q1}, {q2} of {n}");
                }
            }
        }
    }
}
