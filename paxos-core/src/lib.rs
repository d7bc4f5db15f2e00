//! Paxos as pure, deterministic state machines.
//!
//! `paxos-core` implements the protocol and nothing else: no sockets, no
//! files, no clock, no async runtime. Each role takes inputs (a message from
//! a node, a client command, a tick of logical time) and appends its effects
//! to a [`Ready`] buffer. A [`Pipeline`] (one per role, usually inside a
//! [`Driver`]) turns each Ready into a [`Step`] that a host carries out:
//!
//! 1. **persist**: write the step's [`PersistJob`] to [`Storage`] and sync
//!    it; the sync yields a [`Persisted`] token;
//! 2. **send**: `step.send` may leave at once; messages that report the
//!    state just persisted (a promise, an accepted value) stay inside the
//!    pipeline until [`Pipeline::persisted`] is handed that token;
//! 3. **apply**: deliver `step.apply` (chosen values) to the application.
//!
//! The types make the wrong order hard to write: a gated message cannot be
//! reached except through a token that only a successful sync produces.
//! Jobs are numbered, and a token for job `n` releases what every job up to
//! `n` held, so one sync covers many jobs (group commit).
//!
//! The same [`Driver`] runs under the actix actors and under the
//! deterministic simulator, and [`Roles::route`] is the one place that says
//! which role on a node handles a message.
//!
//! Modules:
//! - [`basic`]: single-decree Paxos (proposer, acceptor, learner).
//! - [`multi`]: Multi-Paxos: a replicated log with a stable leader that skips
//!   Phase 1, leader election by heartbeats and timeouts, and a [`multi::Replica`]
//!   that applies decided commands to a user [`StateMachine`] exactly once.
//! - [`client`]: a client's retry and routing rules, shared by every host.
//! - [`QuorumSystem`]: majority and flexible quorums.
//! - [`Storage`], [`Transport`], [`StateMachine`]: the traits adapters implement.
//!
//! Every role states its invariants ([`Invariant`]) and offers
//! `check_invariants()`, which a test or simulator may call after any step.
//! The roles also check them themselves: O(1) checks where a value changes
//! (an acceptor never accepts above its promise; a chosen value is never
//! learned with another) in every build, and a full re-check after each
//! input of a proposer or learner in debug builds. A broken invariant
//! panics with an [`InvariantViolation`] naming it and its values.
//!
//! Faults tolerated: message loss, delay, duplication and reordering, and
//! crash/restart of any nodes (restoring only synced state). Byzantine faults
//! (lying or corrupted nodes) are out of scope.
//!
//! A single-decree round, driven by hand, each role through its own driver
//! and in-memory storage:
//!
//! ```
//! use paxos_core::basic::{Acceptor, Config, Learner, Message, Proposer};
//! use paxos_core::{ClientId, Command, Driver, DurableState, MemStorage, NodeId, QuorumSystem, Value};
//!
//! # fn main() -> Result<(), paxos_core::Error> {
//! let ids = [NodeId(1), NodeId(2), NodeId(3)];
//! let config = Config::new(QuorumSystem::majority(ids)?, vec![NodeId(9)]);
//! let fresh = DurableState::default();
//! let mut acceptors: Vec<_> = ids
//!     .iter()
//!     .map(|_| (Driver::new(Acceptor::restore(&config, &fresh)), MemStorage::new()))
//!     .collect();
//! let mut proposer = Driver::new(Proposer::restore(NodeId(7), &config, &fresh, 42));
//! let mut proposer_storage = MemStorage::new();
//! let mut learner = Driver::new(Learner::new(&config));
//! let mut learner_storage = MemStorage::new();
//!
//! let value = Value::from(Command { client: ClientId(1), seq: 1, payload: "x".into() });
//! let step = proposer.input_inline(&mut proposer_storage, |p, ready| p.propose(value.clone(), ready))?;
//! // Deliver every message until none are left (a perfect network).
//! let mut queue: Vec<(NodeId, NodeId, Message)> =
//!     step.send.into_iter().map(|(to, m)| (NodeId(7), to, m)).collect();
//! while let Some((from, to, msg)) = queue.pop() {
//!     let step = match to.0 {
//!         1..=3 => {
//!             let (acceptor, storage) = &mut acceptors[to.0 as usize - 1];
//!             acceptor.input_inline(storage, |a, ready| a.handle(from, msg, ready))?
//!         }
//!         7 => proposer.input_inline(&mut proposer_storage, |p, ready| p.handle(from, msg, ready))?,
//!         _ => learner.input_inline(&mut learner_storage, |l, ready| l.handle(from, msg, ready))?,
//!     };
//!     queue.extend(step.send.into_iter().map(|(dest, m)| (to, dest, m)));
//! }
//! assert_eq!(learner.role().decided(), Some(&value));
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod basic;
mod bugs;
pub mod client;
mod driver;
mod durable;
mod error;
mod invariant;
pub mod multi;
mod pipeline;
mod quorum;
mod ready;
mod traits;
mod types;

pub use bugs::PlantedBugs;
/// Shared, cheaply cloned bytes: what a [`Command`] payload is.
pub use bytes::Bytes;
pub use driver::{Driver, Role, RoleKind, Roles, Route, Routed};
pub use durable::{DurableState, Record};
pub use error::Error;
pub use invariant::{Invariant, InvariantViolation};
pub use pipeline::{PersistJob, Persisted, Pipeline, Step, Written, HELD_MAX};
pub use quorum::{QuorumKind, QuorumSpec, QuorumSystem};
pub use ready::Ready;
pub use traits::{Inbox, MemStorage, SharedMemStorage, StateMachine, Storage, Transport};
pub use types::{Ballot, ClientId, Command, Jitter, NodeId, Slot, Value};
