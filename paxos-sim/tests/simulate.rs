//! Goal: Basic and Multi-Paxos keep agreement, validity, prefix-consistent
//! logs, exactly-once application and monotonic promises under message
//! loss, duplication, delay, reordering, partitions and crashes of any
//! nodes — and make progress once faults stop.
//!
//! Method: thousands of seeded simulator runs over mixed cluster shapes,
//! every property checked after every step. Then the same simulator is run
//! against planted classic bugs and must catch each within its seed budget,
//! which shows the checks can fail.
//!
//! Environment:
//! - `PAXOS_SIM_SEEDS=N` runs seeds 0..N (default 2000);
//! - `PAXOS_SIM_SEED=S` runs only seed S;
//! - `PAXOS_SIM_STEPS=K` sets chaos steps per run (default 2000).

use paxos_core::PlantedBugs;
use paxos_sim::scenario::{run_seeds, Plan, Shapes, Summary};

fn env(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    match v.parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={v:?} is not a number"),
    }
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

#[test]
fn safety_and_liveness_hold_over_thousands_of_seeded_runs() {
    let steps = env("PAXOS_SIM_STEPS").unwrap_or(2000);
    let seeds: Vec<u64> = match env("PAXOS_SIM_SEED") {
        Some(s) => vec![s],
        None => (0..env("PAXOS_SIM_SEEDS").unwrap_or(2000)).collect(),
    };
    let summary = run_seeds(&seeds, &Plan::new(steps), threads(), false);
    println!("simulation: {summary}");
    for f in &summary.failures {
        println!(
            "FAIL seed {} ({}) at step {}: {}",
            f.seed, f.shape, f.step, f.violation
        );
        println!(
            "  replay: PAXOS_SIM_SEED={} PAXOS_SIM_STEPS={steps} cargo test -p paxos-sim --test simulate -- --nocapture safety_and_liveness",
            f.seed
        );
        println!(
            "  trace:  cargo run --release -p paxos-sim -- seed {} {steps}",
            f.seed
        );
    }
    assert!(
        summary.failures.is_empty(),
        "{} of {} seeds failed",
        summary.failures.len(),
        summary.runs
    );
    assert_eq!(summary.runs, seeds.len() as u64);
    assert!(
        summary.stats.chosen > 0,
        "the simulator must actually choose values"
    );
    assert!(
        summary.stats.faults() > 0,
        "the simulator must actually inject faults"
    );
}

/// Hunts for a seed that exposes `bugs`; the simulator must find one.
fn must_catch(name: &str, bugs: PlantedBugs, shapes: Shapes, budget: u64) -> Summary {
    let seeds: Vec<u64> = (0..budget).collect();
    let plan = Plan {
        shapes,
        bugs,
        ..Plan::new(2000)
    };
    let summary = run_seeds(&seeds, &plan, threads(), true);
    match summary.failures.first() {
        Some(f) => println!(
            "planted bug {name}: caught by seed {} ({}) at step {}: {}",
            f.seed, f.shape, f.step, f.violation
        ),
        None => panic!("planted bug {name} went unnoticed in {budget} seeds: {summary}"),
    }
    summary
}

#[test]
fn simulator_catches_acceptor_that_forgets_its_promise() {
    let bugs = PlantedBugs {
        acceptor_forgets_promise: true,
        ..Default::default()
    };
    must_catch("acceptor_forgets_promise", bugs, Shapes::All, 200);
}

#[test]
fn simulator_catches_forgotten_promise_as_disagreement() {
    // The promise check above is direct; this shows the bug also breaks
    // agreement itself when the promise check is not what notices it.
    let bugs = PlantedBugs {
        acceptor_forgets_promise: true,
        ..Default::default()
    };
    let plan = Plan {
        bugs,
        check_promises: false,
        ..Plan::new(2000)
    };
    let seeds: Vec<u64> = (0..3000).collect();
    let summary = run_seeds(&seeds, &plan, threads(), true);
    match summary.failures.first() {
        Some(f) => println!(
            "forgotten promise broke safety at seed {} ({}): {}",
            f.seed, f.shape, f.violation
        ),
        None => panic!("forgetting promises never broke safety in 3000 seeds: {summary}"),
    }
}

#[test]
fn simulator_catches_proposer_that_ignores_promised_values() {
    let bugs = PlantedBugs {
        proposer_ignores_promised_values: true,
        ..Default::default()
    };
    must_catch("proposer_ignores_promised_values", bugs, Shapes::Multi, 500);
    must_catch(
        "proposer_ignores_promised_values (basic)",
        bugs,
        Shapes::Basic,
        500,
    );
}

#[test]
fn simulator_catches_learner_deciding_on_a_minority() {
    let bugs = PlantedBugs {
        learner_decides_on_minority: true,
        ..Default::default()
    };
    must_catch(
        "learner_decides_on_minority (basic)",
        bugs,
        Shapes::Basic,
        500,
    );
    must_catch(
        "leader_commits_on_minority (multi)",
        bugs,
        Shapes::Multi,
        500,
    );
}

#[test]
fn simulator_catches_learner_mixing_ballots() {
    let bugs = PlantedBugs {
        learner_mixes_ballots: true,
        ..Default::default()
    };
    must_catch("learner_mixes_ballots", bugs, Shapes::Basic, 1000);
}
