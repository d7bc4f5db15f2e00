//! The simulator drives nodes through this trait; one implementation hosts
//! Basic Paxos roles, the other Multi-Paxos roles.

use paxos_core::{
    Ballot, ClientId, Command, DurableState, InvariantViolation, NodeId, QuorumSystem, Ready, Role,
    Roles, Routed, Slot, Value,
};
use std::fmt::Debug;

/// What a replica did with a decided entry, as the checker sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The client whose command it was.
    pub client: ClientId,
    /// Its sequence number.
    pub seq: u64,
    /// The state machine's result.
    pub result: Vec<u8>,
    /// False if the replica recognised a retry and did not run it again.
    pub fresh: bool,
}

/// A protocol the simulator can run: how to boot each role from its own
/// storage, feed it, and inspect it. A node's roles run through the core's
/// `Driver` and `Roles::route`, as under the actors (see [`crate::nodes::SimNode`]).
pub trait Protocol {
    /// The wire message type.
    type Msg: Clone + Debug + Routed;
    /// The proposer role.
    type Proposer: Role<Self::Msg>;
    /// The acceptor role.
    type Acceptor: Role<Self::Msg>;
    /// The learner role.
    type Learner: Role<Self::Msg>;
    /// What a learner's decided entries are applied to.
    type Replica;

    /// Every node id, in order.
    fn nodes(&self) -> Vec<NodeId>;
    /// The roles node `id` hosts.
    fn roles(&self, id: NodeId) -> Roles;
    /// The acceptors and quorums (the checker judges "chosen" with them).
    fn quorum(&self) -> &QuorumSystem;
    /// Nodes hosting a proposer: where clients send commands.
    fn proposers(&self) -> Vec<NodeId>;
    /// Nodes hosting a learner: whose decided logs are checked.
    fn learners(&self) -> Vec<NodeId>;
    /// Whether learners keep a durable log (and restore from it).
    fn learner_log(&self) -> bool;
    /// Restores a proposer from its synced state; `logged` is what the
    /// node's learner log holds (known chosen).
    fn boot_proposer(
        &self,
        id: NodeId,
        durable: &DurableState,
        seed: u64,
        logged: &[(Slot, Value)],
    ) -> Self::Proposer;
    /// Restores an acceptor from its synced state.
    fn boot_acceptor(&self, durable: &DurableState) -> Self::Acceptor;
    /// A learner, restored from its log when it keeps one.
    fn boot_learner(&self, log: Option<&DurableState>) -> Self::Learner;
    /// A fresh replica, if the protocol applies commands.
    fn replica(&self) -> Option<Self::Replica>;
    /// A client command arriving at a proposer.
    fn submit(&self, proposer: &mut Self::Proposer, command: Command, ready: &mut Ready<Self::Msg>);
    /// Applies a decided entry to a replica.
    fn apply(&self, replica: &mut Self::Replica, slot: Slot, value: &Value) -> Option<Applied>;
    /// An acceptor's current promise.
    fn promised(&self, acceptor: &Self::Acceptor) -> Ballot;
    /// The message that forwards `command` to a proposer on another node,
    /// if the protocol has one (clients on proposer-less nodes use it).
    fn forward(&self, _command: Command) -> Option<Self::Msg> {
        None
    }
    /// The leader a learner last heard from (a remote client's first try).
    fn learner_leader(&self, _learner: &Self::Learner) -> Option<NodeId> {
        None
    }
    /// Whether `msg` forwards client commands to a leader (counted).
    fn is_forward(&self, _msg: &Self::Msg) -> bool {
        false
    }
    /// Whether this is single-decree Paxos (one slot; clients stop once it is decided).
    fn single_decree(&self) -> bool {
        false
    }
    /// Checks the invariants each role states (`check_invariants`).
    fn check_roles(
        &self,
        proposer: Option<&Self::Proposer>,
        acceptor: Option<&Self::Acceptor>,
        learner: Option<&Self::Learner>,
    ) -> Result<(), InvariantViolation>;
    /// A one-line description of a proposer's leadership state for traces.
    fn status(&self, proposer: &Self::Proposer) -> String;
}
