//! Runs the simulator from the command line.
//!
//! ```text
//! paxos-sim demo                 # trace a single-decree round with two dueling proposers
//! paxos-sim run [SEEDS] [STEPS]  # run seeds 0..SEEDS (default 2000 x 2000 steps)
//! paxos-sim seed N [STEPS]       # replay one seed with a full trace
//! ```

use paxos_sim::scenario::{run_seed, run_seeds, Plan};
use std::process::ExitCode;

fn arg(args: &[String], i: usize, default: u64) -> Result<u64, String> {
    match args.get(i) {
        None => Ok(default),
        Some(s) => s.parse().map_err(|_| format!("not a number: {s}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args),
        Some("seed") => replay(&args),
        Some("demo") | None => {
            paxos_sim::demo::dueling_proposers();
            Ok(())
        }
        Some(other) => Err(format!(
            "unknown command {other:?}; try: demo | run [SEEDS] [STEPS] | seed N [STEPS]"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paxos-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let seeds = arg(args, 1, 2000)?;
    let steps = arg(args, 2, 2000)?;
    let list: Vec<u64> = (0..seeds).collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let summary = run_seeds(&list, &Plan::new(steps), threads, false);
    println!("{summary}");
    for f in &summary.failures {
        println!(
            "FAIL seed {} ({}) at step {}: {}",
            f.seed, f.shape, f.step, f.violation
        );
        println!(
            "  replay: cargo run --release -p paxos-sim -- seed {} {steps}",
            f.seed
        );
    }
    if summary.failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{} seeds failed", summary.failures.len()))
    }
}

fn replay(args: &[String]) -> Result<(), String> {
    let seed = arg(args, 1, 0)?;
    let steps = arg(args, 2, 2000)?;
    let (shape, report) = run_seed(seed, &Plan::new(steps), true);
    println!("seed {seed}: {shape}: {:?}", report.stats);
    match report.violation {
        None => Ok(()),
        Some((step, v)) => Err(format!("seed {seed} broke at step {step}: {v}")),
    }
}
