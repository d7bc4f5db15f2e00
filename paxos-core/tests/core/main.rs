//! Tests of `paxos-core`, compiled into one test binary.
//!
//! Goal: pin the rules each part of the core promises, one rule per test,
//! named after the rule. Method: drive the pure roles by hand (messages and
//! ticks in, `Ready` buffers out), compare quorum math against a naive
//! oracle, and replay durable records in every order proptest can find.
//! Nothing here sleeps, opens a socket or touches a file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod basic_acceptor;
mod basic_config;
mod basic_kit;
mod basic_learner;
mod basic_proposer;
mod basic_rounds;
mod invariants;
mod multi_acceptor;
mod multi_catchup;
mod multi_config;
mod multi_election;
mod multi_kit;
mod multi_learner;
mod multi_phase1;
mod multi_phase2;
mod multi_replica;
mod net;
mod pipeline;
mod quorum;
mod storage;
