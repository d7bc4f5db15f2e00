//! Actix actors that bring `paxos-core` roles to life.
//!
//! Every role — proposer, acceptor, learner — runs in its own actor, and a
//! replica actor applies decided commands to your [`StateMachine`]. A node
//! hosts any mix of roles ([`Roles`]); nodes can share a process and an
//! arbiter, or each live on its own. Handlers are thin: they feed the core
//! and carry out its `Ready` in order — **persist, then send, then deliver**.
//! Storage that blocks runs on a thread of its own with group commit; a
//! role's replies wait (in order) until what they report is synced, so no
//! message slips in between a persist and the reply that depends on it.
//!
//! Compose a node from a [`NodeConfig`] with a [`NodeBuilder`]: a transport
//! (any `paxos_core::Transport`, e.g. `transport-mem`), storage for the
//! acceptor and proposer, a state machine for the replica. Register
//! [`Node::inbox`] with the transport, then make a [`Client`]:
//!
//! ```no_run
//! # use paxos_actors::*;
//! # use paxos_core::{multi, ClientId, MemStorage, NodeId, QuorumSystem};
//! # async fn demo<SM: paxos_core::StateMachine + Send + Unpin + Default + 'static>(net: transport_mem::MemNetwork<multi::Message>) -> Result<(), Error> {
//! let ids = [NodeId(1), NodeId(2), NodeId(3)];
//! let cluster = multi::Config::new(QuorumSystem::majority(ids)?, ids.to_vec(), ids.to_vec());
//! let node = NodeBuilder::new(NodeConfig::new(NodeId(1), Roles::ALL, cluster))
//!     .transport(net.transport(NodeId(1)))
//!     .acceptor_storage(MemStorage::new())
//!     .proposer_storage(MemStorage::new())
//!     .state_machine(SM::default())
//!     .start()?;
//! net.register(node.id(), node.inbox());
//! // ... start nodes 2 and 3 the same way ...
//! let mut client = node.client(ClientId(42))?;
//! let result = client.propose(b"set x 1".to_vec()).await?;
//! # Ok(()) }
//! ```
//!
//! [`StateMachine`]: paxos_core::StateMachine
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod client;
mod error;
mod io;
mod messages;
mod metrics;
mod node;
mod replica;
mod role;
mod shared;
mod submit;

pub use client::Client;
pub use error::Error;
pub use io::{
    boxed, BoxStorage, Outbox, StorageError, StorageThread, LAZY_SYNC_AFTER, STORAGE_QUEUE_MAX,
};
pub use messages::{Decided, GetStatus, Inbound, ProposerStatus, Subscribe};
pub use metrics::Metrics;
pub use node::{Node, NodeBuilder, NodeConfig};
pub use paxos_core::Roles;
pub use replica::{Read, ReplicaActor};
pub use role::{Persist, Role, RoleActor};
pub use shared::WAITERS_MAX;
pub use submit::SUBMIT_QUEUE_MAX;

/// The README's code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
