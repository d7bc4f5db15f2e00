//! The replicated key-value state machine of `paxos-kv`, on its own so that
//! tests, examples and the programs share one implementation.
//!
//! A [`Store`] is a map of byte strings with Redis's GET / SET / DEL / INCR
//! and a compare-and-swap. A log entry is a batch of [`Op`]s ([`encode`]),
//! applied in order; the result is their [`Reply`]s in RESP2 wire form,
//! concatenated, ready to write back to a Redis client (or to read with
//! [`Reply::decode`]).
//!
//! ```
//! use paxos_core::StateMachine;
//! use paxos_kvstore::{encode, Op, Reply, Store};
//!
//! let mut store = Store::new();
//! let result = store.apply(&encode(&[Op::Incr(b"hits".to_vec())]));
//! assert_eq!(Reply::decode(&result), Some((Reply::Integer(1), result.len())));
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod entry;
mod reply;
mod store;

pub use reply::Reply;
pub use store::{encode, Op, SnapshotError, Store};
