//! Goal: single-decree Paxos, as implemented by `paxos_core::basic`, keeps
//! agreement in *every* reachable state of a small cluster — 2 proposers,
//! 3 acceptors, 1 learner — under message loss, duplication and reordering
//! and an acceptor crash-restart, and a value can be chosen.
//!
//! Method: exhaustive breadth-first model checking with `stateright` over
//! the real core roles (`paxos_sim::model`, whose docs give the bounds and
//! the reductions). Then each planted bug that concerns Basic Paxos is
//! switched on, and the checker must reach a state that breaks agreement,
//! which shows the property can fail.

use paxos_core::PlantedBugs;
use paxos_sim::model::{
    check, BasicPaxosModel, AGREEMENT, LEARNER_DECIDES, PROMISE_KEPT, VALUE_CHOSEN,
};
use stateright::{Checker, HasDiscoveries, Model};
use std::collections::BTreeSet;
use std::time::Instant;

const THREADS: usize = 2;

/// Checks `model` to the end and prints what it found.
fn agreement_holds(model: BasicPaxosModel) -> usize {
    let (rounds, crashes) = (model.rounds_max, model.crashes_max);
    let started = Instant::now();
    let checker = model.checker().threads(THREADS).spawn_bfs().join();
    let states = checker.unique_state_count();
    println!(
        "model check (rounds per proposer {rounds:?}, crashes {crashes}): {states} unique states, \
         {} generated, depth {}, {:.1?}",
        checker.state_count(),
        checker.max_depth(),
        started.elapsed()
    );
    // Panics on any counterexample, on a `sometimes` without an example,
    // and if the search did not run to completion.
    checker.assert_properties();
    let chosen = checker.assert_any_discovery(VALUE_CHOSEN);
    println!(
        "  example: a value is chosen after {} steps",
        chosen.into_actions().len()
    );
    let learned = checker.assert_any_discovery(LEARNER_DECIDES);
    println!(
        "  example: the learner can decide after {} steps",
        learned.into_actions().len()
    );
    states
}

#[test]
fn agreement_holds_in_every_reachable_state() {
    let states = agreement_holds(BasicPaxosModel::new(PlantedBugs::default()));
    assert!(
        states > 10_000,
        "suspiciously small state space ({states}): is the model wired up?"
    );
}

/// A deeper bound: n5 starts up to three rounds. About half a million
/// states; run it in release: `cargo test --release -p paxos-sim --test
/// model_check -- --ignored --nocapture`.
#[test]
#[ignore = "slow: about half a million states"]
fn agreement_holds_with_three_rounds_for_one_proposer() {
    let model = BasicPaxosModel::new(PlantedBugs::default()).with_rounds([1, 3]);
    assert!(agreement_holds(model) > 100_000);
}

/// Checks `bugs` until agreement is violated; returns the counterexample's
/// length in steps.
fn agreement_counterexample(bugs: PlantedBugs) -> usize {
    let started = Instant::now();
    let checker = BasicPaxosModel::new(bugs)
        .checker()
        .threads(THREADS)
        .finish_when(HasDiscoveries::AnyOf(BTreeSet::from([AGREEMENT])))
        .spawn_bfs()
        .join();
    let Some(path) = checker.discovery(AGREEMENT) else {
        panic!(
            "no agreement violation with {bugs:?} in {} states",
            checker.unique_state_count()
        )
    };
    let steps = path.into_actions();
    println!(
        "{bugs:?}: agreement violated, counterexample of {} steps ({} unique states visited, {:.1?})",
        steps.len(),
        checker.unique_state_count(),
        started.elapsed()
    );
    for step in &steps {
        println!("  {step:?}");
    }
    steps.len()
}

#[test]
fn model_checker_catches_acceptor_that_forgets_promise() {
    let bugs = PlantedBugs {
        acceptor_forgets_promise: true,
        ..Default::default()
    };
    assert!(agreement_counterexample(bugs) > 0);
    // The direct symptom is reachable too.
    let checker = BasicPaxosModel::new(bugs)
        .checker()
        .threads(THREADS)
        .finish_when(HasDiscoveries::AnyOf(BTreeSet::from([PROMISE_KEPT])))
        .spawn_bfs()
        .join();
    assert!(checker.discovery(PROMISE_KEPT).is_some());
}

#[test]
fn model_checker_catches_proposer_that_ignores_promised_values() {
    let bugs = PlantedBugs {
        proposer_ignores_promised_values: true,
        ..Default::default()
    };
    assert!(agreement_counterexample(bugs) > 0);
}

#[test]
fn model_checker_catches_learner_that_decides_on_minority() {
    let bugs = PlantedBugs {
        learner_decides_on_minority: true,
        ..Default::default()
    };
    assert!(agreement_counterexample(bugs) > 0);
}

#[test]
fn model_checker_catches_learner_that_mixes_ballots() {
    let bugs = PlantedBugs {
        learner_mixes_ballots: true,
        ..Default::default()
    };
    assert!(agreement_counterexample(bugs) > 0);
}

#[test]
fn check_reports_a_counterexample_for_a_planted_bug() {
    let report = check(PlantedBugs {
        proposer_ignores_promised_values: true,
        ..Default::default()
    });
    println!("check: {report}");
    assert!(report.agreement_violated && !report.exhaustive);
    assert!(report.counterexample.is_some_and(|steps| !steps.is_empty()));
}
