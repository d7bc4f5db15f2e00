//! A deterministic simulator and a model checker for `paxos-core`.
//!
//! Every run is a pure function of its seed: one scheduler owns the nodes,
//! the network and the faults, so any failure replays exactly from the seed
//! it prints. See [`sim`] for the method and [`check`] for the properties.

pub mod check;
mod clients;
pub mod demo;
pub mod model;
pub mod model_multi;
pub mod nodes;
pub mod protocol;
pub mod scenario;
pub mod sim;
