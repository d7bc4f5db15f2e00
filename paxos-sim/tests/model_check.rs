//! Goal: single-decree Paxos, as implemented by `paxos_core::basic`, keeps
//! agreement in *every* reachable state of a small cluster — 2 proposers,
//! 3 acceptors, 1 learner — under message loss, duplication and reordering
//! and an acceptor crash-restart, and a value can be chosen.
//!
//! Method: exhaustive breadth-first model checking with `stateright` over
//! the real core roles (`paxos_sim::model`, whose docs give the bounds and
//! the reductions). Then each planted bug that concerns Basic Paxos is
//! switched on, and the checker must reach a state that breaks agreement,
//! which shows the property can fail. The Multi-Paxos counterpart is the
//! `multi_paxos` module at the end.

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

/// Goal: Multi-Paxos, as implemented by `paxos_core::multi`, keeps
/// agreement and validity in *every* reachable state of 2 proposers,
/// 3 acceptors and 2 learners over two slots — under message loss,
/// duplication and reordering, elections at any moment and a crash-restart
/// — and both slots can be decided.
///
/// Method: exhaustive breadth-first model checking over the real core roles
/// (`paxos_sim::model_multi`, whose docs give the bounds and the reductions).
/// Then each planted bug that concerns Multi-Paxos is switched on, and the
/// checker must reach a state that breaks a safety property, which shows the
/// properties can fail.
mod multi_paxos {
    use paxos_core::PlantedBugs;
    use paxos_sim::model_multi::observe::{
        AGREEMENT, BOTH_SLOTS_DECIDED, CHOSEN_AGAIN, ONLY_CHOSEN_ANNOUNCED, PROMISE_KEPT,
    };
    use paxos_sim::model_multi::{Action, MultiPaxosModel};
    use stateright::{Checker, HasDiscoveries, Model};
    use std::collections::BTreeSet;
    use std::time::Instant;

    const THREADS: usize = 2;

    /// How to explore.
    #[derive(Clone, Copy, Debug)]
    enum Search {
        /// Breadth-first: shortest paths, but it holds a whole frontier.
        Shortest,
        /// Depth-first: longer paths, little memory, and a violation is
        /// usually reached sooner.
        Soonest,
    }

    /// Checks `model` to the end and prints what it found; returns the
    /// number of unique states.
    fn every_property_holds(model: MultiPaxosModel, search: Search) -> usize {
        let (stands, crashes) = (model.stands_max, model.crashes_max);
        let started = Instant::now();
        let builder = model.checker().threads(THREADS);
        let states = match search {
            Search::Shortest => summarize(builder.spawn_bfs().join()),
            Search::Soonest => summarize(builder.spawn_dfs().join()),
        };
        println!(
            "  (elections per proposer {stands:?}, crashes {crashes}, {search:?}, {:.1?})",
            started.elapsed()
        );
        states
    }

    /// Prints what the finished `checker` found and panics on any
    /// counterexample, on a `sometimes` without an example, and if the
    /// search did not run to completion; returns the unique states.
    fn summarize(checker: impl Checker<MultiPaxosModel>) -> usize {
        let states = checker.unique_state_count();
        println!(
            "multi-paxos model check: {states} unique states explored, {} generated, depth {}",
            checker.state_count(),
            checker.max_depth(),
        );
        checker.assert_properties();
        for name in [BOTH_SLOTS_DECIDED, CHOSEN_AGAIN] {
            let example = checker.assert_any_discovery(name);
            println!(
                "  example: {name} after {} steps",
                example.into_actions().len()
            );
        }
        states
    }

    #[test]
    fn multi_paxos_chooses_one_value_per_slot_in_every_reachable_state() {
        let model = MultiPaxosModel::new(PlantedBugs::default());
        let states = every_property_holds(model, Search::Shortest);
        assert!(
            states > 10_000,
            "suspiciously small state space ({states}): is the model wired up?"
        );
    }

    /// Three ballots: n4 stands twice, so a takeover can see values accepted
    /// in two earlier ballots (no crashes). 13,944,836 states; in release on
    /// the shared 2-core machine it took 32 minutes and 160 MB depth-first
    /// (a breadth-first frontier passed 11 GB). Run it with `cargo test
    /// --release -p paxos-sim --test model_check -- --ignored --nocapture
    /// three_ballots`.
    #[test]
    #[ignore = "slow: 14 million states, about half an hour in release"]
    fn multi_paxos_chooses_one_value_per_slot_with_three_ballots() {
        let model = MultiPaxosModel::new(PlantedBugs::default())
            .with_stands([2, 1])
            .with_crashes(0);
        assert!(every_property_holds(model, Search::Soonest) > 10_000_000);
    }

    /// The path to a state that violates `property`, if the finished
    /// `checker` found one, and how many unique states it visited.
    fn found(
        checker: impl Checker<MultiPaxosModel>,
        property: &'static str,
    ) -> (Option<Vec<Action>>, usize) {
        let path = checker.discovery(property).map(|p| p.into_actions());
        (path, checker.unique_state_count())
    }

    /// Checks the default model with `bugs` until `property` is violated;
    /// prints the counterexample and returns its length in steps.
    fn counterexample(bugs: PlantedBugs, property: &'static str, search: Search) -> usize {
        let started = Instant::now();
        let builder = MultiPaxosModel::new(bugs)
            .checker()
            .threads(THREADS)
            .finish_when(HasDiscoveries::AnyOf(BTreeSet::from([property])));
        let (path, states) = match search {
            Search::Shortest => found(builder.spawn_bfs().join(), property),
            Search::Soonest => found(builder.spawn_dfs().join(), property),
        };
        let Some(steps) = path else {
            panic!("no violation of \"{property}\" with {bugs:?} in {states} states")
        };
        println!(
            "{bugs:?}: \"{property}\" violated, {search:?} counterexample of {} steps \
             ({states} unique states visited, {:.1?})",
            steps.len(),
            started.elapsed()
        );
        for step in &steps {
            println!("  {step:?}");
        }
        steps.len()
    }

    #[test]
    fn multi_paxos_model_checker_catches_leader_that_ignores_promised_values() {
        let bugs = PlantedBugs {
            proposer_ignores_promised_values: true,
            ..Default::default()
        };
        assert!(counterexample(bugs, AGREEMENT, Search::Shortest) > 0);
    }

    #[test]
    fn multi_paxos_model_checker_catches_leader_that_decides_on_minority() {
        let bugs = PlantedBugs {
            learner_decides_on_minority: true,
            ..Default::default()
        };
        // The direct symptom, then the disagreement it leads to.
        assert!(counterexample(bugs, ONLY_CHOSEN_ANNOUNCED, Search::Shortest) > 0);
        assert!(counterexample(bugs, AGREEMENT, Search::Shortest) > 0);
    }

    #[test]
    fn multi_paxos_model_checker_catches_acceptor_that_forgets_promise() {
        let bugs = PlantedBugs {
            acceptor_forgets_promise: true,
            ..Default::default()
        };
        assert!(counterexample(bugs, PROMISE_KEPT, Search::Shortest) > 0);
        // Visible acceptor restarts make this space larger; the shortest
        // disagreement (17 steps) takes 350,000 states, depth-first far fewer.
        assert!(counterexample(bugs, AGREEMENT, Search::Soonest) > 0);
    }

    #[test]
    fn multi_paxos_check_reports_a_counterexample_for_a_planted_bug() {
        let bugs = PlantedBugs {
            proposer_ignores_promised_values: true,
            ..Default::default()
        };
        let report = MultiPaxosModel::new(bugs).check(THREADS);
        println!("multi-paxos check: {report}");
        assert!(report.violated.contains(&AGREEMENT));
        assert!(report
            .counterexample
            .is_some_and(|(_, steps)| !steps.is_empty()));
    }
}
