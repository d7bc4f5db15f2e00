//! The simulator drives nodes through this trait; one implementation hosts
//! Basic Paxos roles, the other Multi-Paxos roles.

use paxos_core::{
    Ballot, ClientId, Command, DurableState, NodeId, QuorumSystem, Ready, Slot, Value,
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

/// A protocol the simulator can run: how to boot, feed and inspect a node.
pub trait Protocol {
    /// The wire message type.
    type Msg: Clone + Debug;
    /// One node: whatever roles it hosts.
    type Node;

    /// Every node id, in order.
    fn nodes(&self) -> Vec<NodeId>;
    /// The acceptors and quorums (the checker judges "chosen" with them).
    fn quorum(&self) -> &QuorumSystem;
    /// Nodes hosting a proposer: where clients send commands.
    fn proposers(&self) -> Vec<NodeId>;
    /// Nodes hosting a learner: whose decided logs are checked.
    fn learners(&self) -> Vec<NodeId>;
    /// Builds (or rebuilds after a crash) node `id` from its synced state.
    fn boot(&self, id: NodeId, durable: &DurableState, seed: u64) -> Self::Node;
    /// Routes a message to the roles on `node` that handle it.
    fn handle(
        &self,
        node: &mut Self::Node,
        from: NodeId,
        msg: Self::Msg,
        ready: &mut Ready<Self::Msg>,
    );
    /// One tick of logical time for every role on the node.
    fn tick(&self, node: &mut Self::Node, ready: &mut Ready<Self::Msg>);
    /// A client command arriving at the node's proposer.
    fn submit(&self, node: &mut Self::Node, command: Command, ready: &mut Ready<Self::Msg>);
    /// Applies a decided entry to the node's replica, if it has one.
    fn apply(&self, node: &mut Self::Node, slot: Slot, value: &Value) -> Option<Applied>;
    /// The node's acceptor's current promise, if it hosts an acceptor.
    fn promised(&self, node: &Self::Node) -> Option<Ballot>;
    /// Whether this is single-decree Paxos (one slot; clients stop once it is decided).
    fn single_decree(&self) -> bool {
        false
    }
    /// A one-line description of the node's leadership state for traces.
    fn status(&self, node: &Self::Node) -> String;
}
