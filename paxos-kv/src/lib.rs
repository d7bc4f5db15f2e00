//! `paxos-kv`: a replicated key-value service that speaks RESP2, the Redis
//! protocol, composed from the Paxos framework's pieces.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod linearizability;
pub mod local;
pub mod resp;
pub mod server;
/// The state machine, [`paxos_kvstore`] (under its old path).
pub use paxos_kvstore as store;
