//! Seeds to scenarios: each seed picks a protocol, a cluster layout, a
//! quorum system and a fault mix, so many seeds cover mixed configurations.

use crate::nodes::{BasicPaxos, Layout, MultiPaxos};
use crate::sim::{Faults, Options, Report, Sim, Stats};
use paxos_core::{NodeId, PlantedBugs, QuorumSystem};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};

/// The cluster shapes the simulator cycles through (seed modulo their count).
pub const SHAPES: [&str; 6] = [
    "multi, 3 nodes, all roles, majority",
    "multi, 5 nodes, all roles, majority",
    "multi, 2 proposers + 3 acceptors + 2 learners",
    "multi, 5 nodes, all roles, flexible q1=4 q2=2",
    "basic, 3 proposers + 3 acceptors + 2 learners",
    "basic, 5 nodes, all roles, majority",
];

/// Which shapes a test wants: all of them, or one protocol's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shapes {
    /// Every shape.
    All,
    /// Multi-Paxos shapes only.
    Multi,
    /// Basic Paxos shapes only.
    Basic,
}

impl Shapes {
    fn pick(self, seed: u64) -> usize {
        match self {
            Shapes::All => (seed % 6) as usize,
            Shapes::Multi => (seed % 4) as usize,
            Shapes::Basic => 4 + (seed % 2) as usize,
        }
    }
}

/// What to run for each seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Chaos steps per run.
    pub steps: u64,
    /// Which cluster shapes.
    pub shapes: Shapes,
    /// Planted bugs (none by default).
    pub bugs: PlantedBugs,
    /// Whether to check promises after every step.
    pub check_promises: bool,
}

impl Plan {
    /// Every shape, no bugs, every check, `steps` chaos steps.
    pub fn new(steps: u64) -> Self {
        Plan {
            steps,
            shapes: Shapes::All,
            bugs: PlantedBugs::default(),
            check_promises: true,
        }
    }
}

/// Runs one seed: picks the shape and fault mix from the seed, then simulates.
pub fn run_seed(seed: u64, plan: &Plan, trace: bool) -> (&'static str, Report) {
    let Plan {
        steps,
        shapes,
        bugs,
        check_promises,
    } = *plan;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_5eed);
    let faults = Faults {
        drop: rng.random_range(0.0..0.3),
        duplicate: rng.random_range(0.0..0.1),
        delay_max: rng.random_range(0..=4),
        crash_weight: rng.random_range(0..=2),
        partition_weight: rng.random_range(0..=2),
    };
    let mut opts = Options {
        seed,
        steps,
        faults,
        clients: rng.random_range(1..=4),
        client_retry: 25,
        // Longer than the longest election back-off at the default timing
        // (a candidate whose Prepare was lost may wait (10 + 11) << 4 = 336
        // ticks) plus the time to commit a backlog of client retries.
        liveness_ticks_max: 600,
        liveness_down: None,
        check_promises,
        trace,
    };
    let shape = shapes.pick(seed);
    let majority = |layout: &Layout| QuorumSystem::majority(layout.acceptors.iter().copied());
    let report = match shape {
        0..=3 => {
            let layout = match shape {
                0 => Layout::colocated(3),
                2 => Layout::separated(2, 3, 2),
                _ => Layout::colocated(5),
            };
            let quorum = if shape == 3 {
                QuorumSystem::flexible(layout.acceptors.iter().copied(), 4, 2)
            } else {
                majority(&layout)
            };
            let Ok(quorum) = quorum else {
                unreachable!("fixed quorum shapes are valid")
            };
            let mut proto = MultiPaxos::new(layout, quorum);
            proto.config.bugs = bugs;
            // Half the runs send each batch to one phase-2 quorum only.
            proto.config.thrifty = rng.random_bool(0.5);
            // A third of the runs carry one value per message, so promises,
            // accepts and decides come in many parts.
            if rng.random_bool(0.33) {
                proto.config.message_bytes_max = 1;
            }
            // Half the runs give learners a durable log: a restarted node
            // replays it into its replica and proposer and resumes after it.
            proto.learner_log = rng.random_bool(0.5);
            // Half the runs keep one acceptor down in the liveness phase: the
            // rest must still commit (in thrifty runs, by retransmitting to
            // the acceptors that did not answer).
            if rng.random_bool(0.5) {
                let acceptors: Vec<NodeId> = proto.layout.acceptors.iter().copied().collect();
                opts.liveness_down = Some(acceptors[rng.random_range(0..acceptors.len())]);
            }
            Sim::new(proto, opts).run()
        }
        _ => {
            let layout = if shape == 4 {
                Layout::separated(3, 3, 2)
            } else {
                Layout::colocated(5)
            };
            let Ok(quorum) = majority(&layout) else {
                unreachable!("fixed quorum shapes are valid")
            };
            let mut proto = BasicPaxos::new(layout, quorum);
            proto.config.bugs = bugs;
            Sim::new(proto, opts).run()
        }
    };
    (SHAPES[shape], report)
}

/// The first failing seed of a batch, with what broke.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The seed that fails.
    pub seed: u64,
    /// The shape it ran.
    pub shape: &'static str,
    /// The step it broke at.
    pub step: u64,
    /// What broke.
    pub violation: String,
}

/// Totals over a batch of seeds.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Seeds run.
    pub runs: u64,
    /// Summed counters.
    pub stats: Stats,
    /// Wall time.
    pub elapsed: Duration,
    /// Failing seeds, lowest first.
    pub failures: Vec<Failure>,
}

impl Summary {
    /// Chaos steps simulated per wall-clock second.
    pub fn steps_per_sec(&self) -> f64 {
        self.stats.steps as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.stats;
        write!(
            f,
            "runs {} | steps {} | ticks {} | messages {} | faults {} (dropped {}, duplicated {}, crashes {}, cuts {}) | \
             syncs {} | slots chosen {} | commands completed {} (client retries {}, forwards {}) | \
             durable-learner restores {} | {:.0} steps/s | {:.1}s | failures {}",
            self.runs,
            s.steps,
            s.ticks,
            s.delivered,
            s.faults(),
            s.dropped,
            s.duplicated,
            s.crashes,
            s.partitions,
            s.syncs,
            s.chosen,
            s.completed,
            s.client_retries,
            s.forwards,
            s.learner_restores,
            self.steps_per_sec(),
            self.elapsed.as_secs_f64(),
            self.failures.len()
        )
    }
}

/// Runs `seeds` on `threads` threads. With `stop_at_first`, stops handing
/// out seeds once one fails (used to hunt planted bugs).
pub fn run_seeds(seeds: &[u64], plan: &Plan, threads: usize, stop_at_first: bool) -> Summary {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let total = Mutex::new(Summary::default());
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(seed) = seeds.get(i) else {
                    return;
                };
                let (shape, report) = run_seed(*seed, plan, false);
                let Ok(mut sum) = total.lock() else {
                    return;
                };
                sum.runs += 1;
                sum.stats.add(&report.stats);
                if let Some((step, v)) = report.violation {
                    sum.failures.push(Failure {
                        seed: *seed,
                        shape,
                        step,
                        violation: v.to_string(),
                    });
                    if stop_at_first {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let mut sum = total.into_inner().unwrap_or_default();
    sum.failures.sort_by_key(|f| f.seed);
    sum.elapsed = start.elapsed();
    sum
}
