//! A readable trace of single-decree Paxos with two dueling proposers.

use crate::nodes::{BasicPaxos, Layout};
use crate::sim::{Faults, Options, Sim};
use paxos_core::QuorumSystem;

/// Prints a single-decree round: proposers n1 and n2 compete, acceptors
/// n3..n5 promise and accept, learner n6 decides. Returns whether the run
/// decided without breaking any property.
pub fn dueling_proposers() -> bool {
    let layout = Layout::separated(2, 3, 1);
    let Ok(quorum) = QuorumSystem::majority(layout.acceptors.iter().copied()) else {
        return false;
    };
    println!(
        "Single-decree Paxos: proposers n1, n2; acceptors n3, n4, n5 (majority 2); learner n6."
    );
    println!("Both proposers get a client value at once; messages are delayed, reordered and 10% lost.\n");
    let opts = Options {
        seed: 7,
        steps: 400,
        faults: Faults {
            drop: 0.1,
            ..Faults::none()
        },
        clients: 2,
        client_retry: 25,
        liveness_ticks_max: 200,
        liveness_down: None,
        check_promises: true,
        trace: true,
    };
    let report = Sim::new(BasicPaxos::new(layout, quorum), opts).run();
    match &report.violation {
        None => println!("\nOK: one value chosen, learner agrees; {:?}", report.stats),
        Some((step, v)) => println!("\nFAILED at step {step}: {v}"),
    }
    report.violation.is_none()
}
