//! The crate's error type.

use paxos_core::NodeId;

/// What can go wrong for a client or a node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The node that got the proposal knows no leader (or is not one and
    /// could not forward); `leader` is its best guess, if any. Retrying
    /// after the election settles usually succeeds.
    #[error("not the leader; leader hint: {leader:?}")]
    NotLeader {
        /// The leader this node last heard from.
        leader: Option<NodeId>,
    },
    /// No result within the client's timeout after every attempt; the
    /// command may still be applied later (a retry with the same sequence
    /// number is applied at most once).
    #[error("no result after {attempts} attempts")]
    Timeout {
        /// Attempts made.
        attempts: u32,
    },
    /// The node is stopping or stopped (shut down, or its storage failed).
    #[error("node stopped")]
    Stopped,
    /// The node does not host the role this call needs.
    #[error("node {node} hosts no {role}")]
    MissingRole {
        /// The node.
        node: NodeId,
        /// The role asked for.
        role: &'static str,
    },
    /// Another live client on this node has this id (ids must be unique).
    #[error("client id {client:?} is in use on this node")]
    ClientIdInUse {
        /// The id.
        client: paxos_core::ClientId,
    },
    /// The node's proposer queue, or its table of clients, is full; back
    /// off and retry.
    #[error("node busy: proposal queue or client table full")]
    Busy,
    /// The configuration was refused.
    #[error("invalid configuration: {0}")]
    Config(#[from] paxos_core::Error),
    /// Storage failed; the role stopped rather than reply without durability.
    #[error("storage failed on node {node}: {source}")]
    Storage {
        /// The node.
        node: NodeId,
        /// The storage adapter's error.
        #[source]
        source: crate::io::StorageError,
    },
}
