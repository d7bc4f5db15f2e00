//! The workspace's test kit (not published): what the tests, examples and
//! benchmarks of several crates share.
//!
//! - [`cluster`]: an in-process cluster of [`paxos_kvstore::Store`]
//!   replicas over `transport-mem`, with storage that survives crashes,
//!   recorded learner logs, fault and partition controls.
//! - `run_virtual` (feature `virtual-time`): runs a test on tokio's
//!   paused clock, so a cluster on one arbiter is fast and deterministic.
//! - [`process`]: node programs on free loopback ports, started, killed
//!   and restarted; [`process::free_ports`].
//! - [`kv`]: commands for the store and the replies to expect.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod cluster;
pub mod kv;
pub mod process;

pub use cluster::{ClientTiming, Layout, MemCluster, Placement};

/// The seed a test should use: `PAXOS_TEST_SEED` if set (to replay a
/// printed seed, or to explore others), else the test's own `default`.
pub fn seed(default: u64) -> u64 {
    let Ok(text) = std::env::var("PAXOS_TEST_SEED") else {
        return default;
    };
    let text = text.trim();
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.unwrap_or_else(|e| panic!("PAXOS_TEST_SEED={text:?}: {e}"))
}

/// Runs `test` in a new actix system on a paused tokio clock: timers —
/// the nodes' ticks, the network's delays, clients' timeouts, a test's
/// deadlines — fire in virtual time, which jumps ahead whenever every
/// task waits. A cluster whose actors all run on this arbiter
/// ([`Placement::Caller`]) then runs deterministically: the same seed
/// gives the same run, and seconds of protocol time take milliseconds.
///
/// Actors on other arbiters, and storage that blocks (it runs on a thread
/// of its own), live outside this clock: while the test waits on them,
/// virtual time runs ahead of their work.
///
/// The clock is paused from the runtime's creation (`start_paused`), not
/// by `tokio::time::pause()` inside it: the timer wheel counts whole
/// milliseconds from the runtime's start, and a pause taken a fraction of
/// a millisecond later shifts where every timer's deadline rounds to, by
/// a different fraction each run — enough to reorder events.
///
/// # Panics
/// If no tokio runtime can be built.
#[cfg(feature = "virtual-time")]
pub fn run_virtual<F: std::future::Future>(test: F) -> F::Output {
    actix::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap_or_else(|e| panic!("a tokio runtime: {e}"))
    })
    .block_on(test)
}
