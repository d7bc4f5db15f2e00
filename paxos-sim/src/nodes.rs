//! Nodes hosting any mix of roles, for Basic Paxos and for Multi-Paxos.

use crate::protocol::{Applied, Protocol};
use paxos_core::multi::{Outcome, Replica};
use paxos_core::{
    basic, multi, Ballot, Command, DurableState, NodeId, QuorumSystem, Ready, Slot, StateMachine,
    Value,
};
use std::collections::BTreeSet;
use std::convert::Infallible;

/// Which roles each node hosts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Nodes hosting a proposer.
    pub proposers: BTreeSet<NodeId>,
    /// Nodes hosting an acceptor.
    pub acceptors: BTreeSet<NodeId>,
    /// Nodes hosting a learner (and, in Multi-Paxos, a replica).
    pub learners: BTreeSet<NodeId>,
}

impl Layout {
    /// `n` nodes, each hosting every role.
    pub fn colocated(n: u64) -> Self {
        let all: BTreeSet<NodeId> = (1..=n).map(NodeId).collect();
        Layout {
            proposers: all.clone(),
            acceptors: all.clone(),
            learners: all,
        }
    }

    /// Each role on nodes of its own: `p` proposers, then `a` acceptors, then `l` learners.
    pub fn separated(p: u64, a: u64, l: u64) -> Self {
        Layout {
            proposers: (1..=p).map(NodeId).collect(),
            acceptors: (p + 1..=p + a).map(NodeId).collect(),
            learners: (p + a + 1..=p + a + l).map(NodeId).collect(),
        }
    }

    /// Every node, in order.
    pub fn nodes(&self) -> Vec<NodeId> {
        let all: BTreeSet<NodeId> = self
            .proposers
            .iter()
            .chain(&self.acceptors)
            .chain(&self.learners)
            .copied()
            .collect();
        all.into_iter().collect()
    }
}

/// A state machine whose results depend on every command before it: it
/// appends each payload to a history and returns the history's length and a
/// running checksum. Replicas that applied different sequences return
/// different results, which the checker notices.
#[derive(Clone, Debug, Default)]
pub struct History {
    len: u64,
    sum: u64,
}

impl StateMachine for History {
    type Error = Infallible;

    fn apply(&mut self, command: &[u8]) -> Vec<u8> {
        self.len += 1;
        for b in command {
            self.sum = self.sum.wrapping_mul(31).wrapping_add(u64::from(*b));
        }
        let mut out = self.len.to_le_bytes().to_vec();
        out.extend_from_slice(&self.sum.to_le_bytes());
        out
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut out = self.len.to_le_bytes().to_vec();
        out.extend_from_slice(&self.sum.to_le_bytes());
        out
    }

    fn restore(&mut self, _snapshot: &[u8]) -> Result<(), Infallible> {
        Ok(())
    }
}

/// Basic Paxos roles on one node.
#[derive(Clone, Debug)]
pub struct BasicNode {
    /// The proposer, if hosted.
    pub proposer: Option<basic::Proposer>,
    /// The acceptor, if hosted.
    pub acceptor: Option<basic::Acceptor>,
    /// The learner, if hosted.
    pub learner: Option<basic::Learner>,
}

/// Single-decree Paxos under simulation.
#[derive(Clone, Debug)]
pub struct BasicPaxos {
    /// Where the roles live.
    pub layout: Layout,
    /// The roles' configuration.
    pub config: basic::Config,
}

impl BasicPaxos {
    /// Basic Paxos over `layout` with `quorum`.
    pub fn new(layout: Layout, quorum: QuorumSystem) -> Self {
        let mut config = basic::Config::new(quorum, layout.learners.iter().copied().collect());
        config.proposers = layout.proposers.iter().copied().collect();
        BasicPaxos { layout, config }
    }
}

impl Protocol for BasicPaxos {
    type Msg = basic::Message;
    type Node = BasicNode;

    fn nodes(&self) -> Vec<NodeId> {
        self.layout.nodes()
    }
    fn quorum(&self) -> &QuorumSystem {
        &self.config.quorum
    }
    fn proposers(&self) -> Vec<NodeId> {
        self.layout.proposers.iter().copied().collect()
    }
    fn learners(&self) -> Vec<NodeId> {
        self.layout.learners.iter().copied().collect()
    }

    fn boot(&self, id: NodeId, durable: &DurableState, seed: u64) -> BasicNode {
        let c = &self.config;
        BasicNode {
            proposer: self
                .layout
                .proposers
                .contains(&id)
                .then(|| basic::Proposer::restore(id, c, durable, seed)),
            acceptor: self
                .layout
                .acceptors
                .contains(&id)
                .then(|| basic::Acceptor::restore(c, durable)),
            learner: self
                .layout
                .learners
                .contains(&id)
                .then(|| basic::Learner::new(c)),
        }
    }

    fn handle(
        &self,
        node: &mut BasicNode,
        from: NodeId,
        msg: basic::Message,
        ready: &mut Ready<basic::Message>,
    ) {
        if msg.for_learner() {
            if let Some(l) = &mut node.learner {
                l.handle(from, msg.clone(), ready);
            }
        }
        if msg.for_proposer() {
            if let Some(p) = &mut node.proposer {
                p.handle(from, msg.clone(), ready);
            }
        }
        if msg.for_acceptor() {
            if let Some(a) = &mut node.acceptor {
                a.handle(from, msg, ready);
            }
        }
    }

    fn tick(&self, node: &mut BasicNode, ready: &mut Ready<basic::Message>) {
        if let Some(p) = &mut node.proposer {
            p.tick(ready);
        }
        if let Some(l) = &mut node.learner {
            l.tick(ready);
        }
    }

    fn submit(&self, node: &mut BasicNode, command: Command, ready: &mut Ready<basic::Message>) {
        if let Some(p) = &mut node.proposer {
            p.propose(Value::from(command), ready);
        }
    }

    fn single_decree(&self) -> bool {
        true
    }

    fn apply(&self, _node: &mut BasicNode, _slot: Slot, _value: &Value) -> Option<Applied> {
        None
    }

    fn promised(&self, node: &BasicNode) -> Option<Ballot> {
        node.acceptor.as_ref().map(|a| a.promised())
    }

    fn status(&self, node: &BasicNode) -> String {
        match &node.proposer {
            Some(p) => match (p.chosen(), p.ballot()) {
                (Some(v), _) => format!("knows {v} chosen"),
                (None, Some(b)) => format!("ballot {b}"),
                (None, None) => "idle".into(),
            },
            None => String::new(),
        }
    }
}

/// Multi-Paxos roles on one node; the learner feeds a replica.
#[derive(Debug)]
pub struct MultiNode {
    /// The proposer, if hosted.
    pub proposer: Option<multi::Proposer>,
    /// The acceptor, if hosted.
    pub acceptor: Option<multi::Acceptor>,
    /// The learner, if hosted.
    pub learner: Option<multi::Learner>,
    /// The replica the learner feeds.
    pub replica: Option<Replica<History>>,
}

/// Multi-Paxos under simulation.
#[derive(Clone, Debug)]
pub struct MultiPaxos {
    /// Where the roles live.
    pub layout: Layout,
    /// The roles' configuration.
    pub config: multi::Config,
}

impl MultiPaxos {
    /// Multi-Paxos over `layout` with `quorum`.
    pub fn new(layout: Layout, quorum: QuorumSystem) -> Self {
        let config = multi::Config::new(
            quorum,
            layout.proposers.iter().copied().collect(),
            layout.learners.iter().copied().collect(),
        );
        MultiPaxos { layout, config }
    }
}

impl Protocol for MultiPaxos {
    type Msg = multi::Message;
    type Node = MultiNode;

    fn nodes(&self) -> Vec<NodeId> {
        self.layout.nodes()
    }
    fn quorum(&self) -> &QuorumSystem {
        &self.config.quorum
    }
    fn proposers(&self) -> Vec<NodeId> {
        self.layout.proposers.iter().copied().collect()
    }
    fn learners(&self) -> Vec<NodeId> {
        self.layout.learners.iter().copied().collect()
    }

    fn boot(&self, id: NodeId, durable: &DurableState, seed: u64) -> MultiNode {
        let c = &self.config;
        let learner = self.layout.learners.contains(&id);
        MultiNode {
            proposer: self
                .layout
                .proposers
                .contains(&id)
                .then(|| multi::Proposer::restore(id, c, durable, seed)),
            acceptor: self
                .layout
                .acceptors
                .contains(&id)
                .then(|| multi::Acceptor::restore(c, durable)),
            learner: learner.then(|| multi::Learner::new(c)),
            replica: learner.then(|| Replica::new(History::default())),
        }
    }

    fn handle(
        &self,
        node: &mut MultiNode,
        from: NodeId,
        msg: multi::Message,
        ready: &mut Ready<multi::Message>,
    ) {
        if msg.for_learner() {
            if let Some(l) = &mut node.learner {
                l.handle(from, msg.clone(), ready);
            }
        }
        if msg.for_proposer() {
            if let Some(p) = &mut node.proposer {
                p.handle(from, msg.clone(), ready);
            }
        }
        if msg.for_acceptor() {
            if let Some(a) = &mut node.acceptor {
                a.handle(from, msg, ready);
            }
        }
    }

    fn tick(&self, node: &mut MultiNode, ready: &mut Ready<multi::Message>) {
        if let Some(p) = &mut node.proposer {
            p.tick(ready);
        }
        if let Some(l) = &mut node.learner {
            l.tick(ready);
        }
    }

    fn submit(&self, node: &mut MultiNode, command: Command, ready: &mut Ready<multi::Message>) {
        if let Some(p) = &mut node.proposer {
            p.propose(command, ready);
        }
    }

    fn apply(&self, node: &mut MultiNode, slot: Slot, value: &Value) -> Option<Applied> {
        let replica = node.replica.as_mut()?;
        match replica.apply(slot, value) {
            Outcome::Applied {
                client,
                seq,
                result,
            } => Some(Applied {
                client,
                seq,
                result,
                fresh: true,
            }),
            Outcome::Duplicate {
                client,
                seq,
                result,
            } => Some(Applied {
                client,
                seq,
                result,
                fresh: false,
            }),
            Outcome::Noop | Outcome::Stale { .. } => None,
        }
    }

    fn promised(&self, node: &MultiNode) -> Option<Ballot> {
        node.acceptor.as_ref().map(|a| a.promised())
    }

    fn status(&self, node: &MultiNode) -> String {
        match &node.proposer {
            Some(p) => format!("{:?} commit {}", p.status(), p.commit()),
            None => String::new(),
        }
    }
}
