//! Tests of `storage-file`, compiled into one test binary.
//!
//! Goal: pin each rule the crate docs state — what survives a crash, what
//! recovery cuts and what it refuses, the lock, the wiped-disk rule, the
//! failing wrapper — one rule per test, named after the rule. Method: real
//! files in temporary directories; crashes are simulated by editing a copy
//! of the log (truncating it at every offset, flipping every bit) and
//! reopening; proptest feeds arbitrary bytes to recovery and the decoder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod crash_safety;
mod failing;
mod fsync_cost;
mod fuzz;
mod lock;
mod recovery;
mod round_trip;
mod wiped_disk;
