//! Paxos as pure, deterministic state machines.
//!
//! `paxos-core` implements the protocol and nothing else: no sockets, no
//! files, no clock, no async runtime. Each role takes inputs (a message from
//! a node, a client command, a tick of logical time) and appends its effects
//! to a [`Ready`] buffer that the caller owns. A driver (an actix actor, a
//! simulator, a test) carries the effects out **in this order**:
//!
//! 1. **persist**: append `ready.persist` to [`Storage`] and sync it;
//! 2. **send**: only then send `ready.messages` — they may report the state
//!    just persisted (a promise, an accepted value);
//! 3. **apply**: deliver `ready.decided` to the application.
//!
//! Readys are carried out in the order they were produced: a message from
//! a later Ready never leaves before an earlier Ready's records are synced.
//!
//! Modules:
//! - [`basic`]: single-decree Paxos (proposer, acceptor, learner).
//! - [`multi`]: Multi-Paxos: a replicated log with a stable leader that skips
//!   Phase 1, leader election by heartbeats and timeouts, and a [`multi::Replica`]
//!   that applies decided commands to a user [`StateMachine`] exactly once.
//! - [`QuorumSystem`]: majority and flexible quorums.
//! - [`Storage`], [`Transport`], [`StateMachine`]: the traits adapters implement.
//!
//! Faults tolerated: message loss, delay, duplication and reordering, and
//! crash/restart of any nodes (restoring only synced state). Byzantine faults
//! (lying or corrupted nodes) are out of scope.
//!
//! A single-decree round, driven by hand:
//!
//! ```
//! use paxos_core::basic::{Acceptor, Config, Learner, Message, Proposer};
//! use paxos_core::{ClientId, Command, DurableState, NodeId, QuorumSystem, Ready, Value};
//!
//! let ids = [NodeId(1), NodeId(2), NodeId(3)];
//! let config = Config::new(QuorumSystem::majority(ids).unwrap(), vec![NodeId(9)]);
//! let fresh = DurableState::default();
//! let mut acceptors: Vec<Acceptor> = ids.iter().map(|_| Acceptor::restore(&config, &fresh)).collect();
//! let mut proposer = Proposer::restore(NodeId(7), &config, &fresh, 42);
//! let mut learner = Learner::new(&config);
//!
//! let value = Value::from(Command { client: ClientId(1), seq: 1, payload: "x".into() });
//! let mut ready = Ready::new();
//! proposer.propose(value.clone(), &mut ready);
//! // Deliver every message until none are left (a perfect network).
//! let mut queue: Vec<(NodeId, NodeId, Message)> =
//!     ready.messages.drain(..).map(|(to, m)| (NodeId(7), to, m)).collect();
//! while let Some((from, to, msg)) = queue.pop() {
//!     let mut out = Ready::new();
//!     match to.0 {
//!         1..=3 => acceptors[to.0 as usize - 1].handle(from, msg, &mut out),
//!         7 => proposer.handle(from, msg, &mut out),
//!         _ => learner.handle(from, msg, &mut out),
//!     }
//!     queue.extend(out.messages.into_iter().map(|(dest, m)| (to, dest, m)));
//! }
//! assert_eq!(learner.decided(), Some(&value));
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod basic;
mod bugs;
mod error;
pub mod multi;
mod quorum;
mod ready;
mod traits;
mod types;

pub use bugs::PlantedBugs;
/// Shared, cheaply cloned bytes: what a [`Command`] payload is.
pub use bytes::Bytes;
pub use error::Error;
pub use quorum::{QuorumKind, QuorumSpec, QuorumSystem};
pub use ready::{DurableState, Ready, Record};
pub use traits::{Inbox, MemStorage, SharedMemStorage, StateMachine, Storage, Transport};
pub use types::{Ballot, ClientId, Command, Jitter, NodeId, Slot, Value};
