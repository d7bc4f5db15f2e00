//! Nodes hosting any mix of roles, for Basic Paxos and for Multi-Paxos.

use crate::protocol::{Applied, Protocol};
use paxos_core::multi::{Outcome, Replica};
use paxos_core::{
    basic, multi, Ballot, Command, Driver, DurableState, InvariantViolation, MemStorage, NodeId,
    Persisted, QuorumSystem, Ready, RoleKind, Roles, Slot, StateMachine, Step, Storage, Value,
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

    /// The roles node `id` hosts.
    pub fn roles(&self, id: NodeId) -> Roles {
        Roles {
            proposer: self.proposers.contains(&id),
            acceptor: self.acceptors.contains(&id),
            learner: self.learners.contains(&id),
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

/// The roles of one node, each behind the core's `Driver` (its own
/// pipeline), exactly as the actors run them: a message goes to the roles
/// `Roles::route` names, and each role's effects come out as its own `Step`.
pub struct SimNode<P: Protocol> {
    /// The proposer, if hosted.
    pub proposer: Option<Driver<P::Proposer, P::Msg>>,
    /// The acceptor, if hosted.
    pub acceptor: Option<Driver<P::Acceptor, P::Msg>>,
    /// The learner, if hosted.
    pub learner: Option<Driver<P::Learner, P::Msg>>,
    /// The replica the learner feeds.
    pub replica: Option<P::Replica>,
    roles: Roles,
}

/// One storage per role, as the actors give each role its own.
pub type Storages = std::collections::BTreeMap<RoleKind, MemStorage>;

/// What booting a node found in its storage.
pub struct Booted<P: Protocol> {
    /// The node.
    pub node: SimNode<P>,
    /// Entries the learner's log held, to replay into the replica.
    pub replay: Vec<(Slot, Value)>,
}

impl<P: Protocol> SimNode<P> {
    /// Boots node `id` from the synced contents of its role storages, the
    /// way the actors' node builder does: the learner's log (if kept) is
    /// replayed into a fresh replica and known chosen to the proposer.
    pub fn boot(proto: &P, id: NodeId, storages: &mut Storages, seed: u64) -> Booted<P> {
        let roles = proto.roles(id);
        let mut load = |kind: RoleKind| -> DurableState {
            // MemStorage::load cannot fail; an empty state is the fallback.
            storages.entry(kind).or_default().load().unwrap_or_default()
        };
        let mut replay = Vec::new();
        let learner = roles.learner.then(|| {
            let log = proto.learner_log().then(|| load(RoleKind::Learner));
            if let Some(log) = &log {
                replay = log.decided_prefix();
            }
            Driver::new(proto.boot_learner(log.as_ref()))
        });
        let proposer = roles.proposer.then(|| {
            let state = load(RoleKind::Proposer);
            Driver::new(proto.boot_proposer(id, &state, seed, &replay))
        });
        let acceptor = roles
            .acceptor
            .then(|| Driver::new(proto.boot_acceptor(&load(RoleKind::Acceptor))));
        let node = SimNode {
            proposer,
            acceptor,
            learner,
            replica: if roles.learner { proto.replica() } else { None },
            roles,
        };
        Booted { node, replay }
    }

    /// Routes a message to the roles that handle it; each answers with a step.
    pub fn handle(&mut self, from: NodeId, msg: P::Msg) -> Vec<(RoleKind, Step<P::Msg>)> {
        let mut steps = Vec::new();
        let mut to = self.roles.route(&msg).peekable();
        let mut msg = Some(msg);
        while let Some(kind) = to.next() {
            // All but the last role get a copy.
            let copy = if to.peek().is_none() {
                msg.take()
            } else {
                msg.clone()
            };
            let Some(msg) = copy else {
                break;
            };
            let step = match kind {
                RoleKind::Proposer => self.proposer.as_mut().map(|d| d.handle(from, msg)),
                RoleKind::Acceptor => self.acceptor.as_mut().map(|d| d.handle(from, msg)),
                RoleKind::Learner => self.learner.as_mut().map(|d| d.handle(from, msg)),
            };
            steps.extend(step.map(|s| (kind, s)));
        }
        steps
    }

    /// One tick for every role on the node.
    pub fn tick(&mut self) -> Vec<(RoleKind, Step<P::Msg>)> {
        let mut steps = Vec::new();
        steps.extend(
            self.proposer
                .as_mut()
                .map(|d| (RoleKind::Proposer, d.tick())),
        );
        steps.extend(
            self.acceptor
                .as_mut()
                .map(|d| (RoleKind::Acceptor, d.tick())),
        );
        steps.extend(self.learner.as_mut().map(|d| (RoleKind::Learner, d.tick())));
        steps
    }

    /// A client command for the proposer, if the node hosts one.
    pub fn submit(&mut self, proto: &P, command: Command) -> Option<Step<P::Msg>> {
        let driver = self.proposer.as_mut()?;
        Some(driver.input(|p, ready| proto.submit(p, command, ready)))
    }

    /// A role's persist job is durable: what it held may leave.
    pub fn persisted(&mut self, kind: RoleKind, proof: Persisted) -> Vec<(NodeId, P::Msg)> {
        match kind {
            RoleKind::Proposer => self.proposer.as_mut().map(|d| d.persisted(proof)),
            RoleKind::Acceptor => self.acceptor.as_mut().map(|d| d.persisted(proof)),
            RoleKind::Learner => self.learner.as_mut().map(|d| d.persisted(proof)),
        }
        .unwrap_or_default()
    }

    /// The proposer role, to inspect.
    pub fn proposer(&self) -> Option<&P::Proposer> {
        self.proposer.as_ref().map(Driver::role)
    }

    /// The acceptor role, to inspect.
    pub fn acceptor(&self) -> Option<&P::Acceptor> {
        self.acceptor.as_ref().map(Driver::role)
    }

    /// The learner role, to inspect.
    pub fn learner(&self) -> Option<&P::Learner> {
        self.learner.as_ref().map(Driver::role)
    }
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
    type Proposer = basic::Proposer;
    type Acceptor = basic::Acceptor;
    type Learner = basic::Learner;
    type Replica = ();

    fn nodes(&self) -> Vec<NodeId> {
        self.layout.nodes()
    }
    fn roles(&self, id: NodeId) -> Roles {
        self.layout.roles(id)
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
    fn learner_log(&self) -> bool {
        false
    }
    fn boot_proposer(
        &self,
        id: NodeId,
        durable: &DurableState,
        seed: u64,
        _logged: &[(Slot, Value)],
    ) -> basic::Proposer {
        basic::Proposer::restore(id, &self.config, durable, seed)
    }
    fn boot_acceptor(&self, durable: &DurableState) -> basic::Acceptor {
        basic::Acceptor::restore(&self.config, durable)
    }
    fn boot_learner(&self, _log: Option<&DurableState>) -> basic::Learner {
        basic::Learner::new(&self.config)
    }
    fn replica(&self) -> Option<()> {
        None
    }
    fn submit(&self, p: &mut basic::Proposer, command: Command, ready: &mut Ready<basic::Message>) {
        p.propose(Value::from(command), ready);
    }
    fn apply(&self, _replica: &mut (), _slot: Slot, _value: &Value) -> Option<Applied> {
        None
    }
    fn promised(&self, acceptor: &basic::Acceptor) -> Ballot {
        acceptor.promised()
    }
    fn single_decree(&self) -> bool {
        true
    }
    fn check_roles(
        &self,
        proposer: Option<&basic::Proposer>,
        acceptor: Option<&basic::Acceptor>,
        learner: Option<&basic::Learner>,
    ) -> Result<(), InvariantViolation> {
        proposer.map_or(Ok(()), basic::Proposer::check_invariants)?;
        acceptor.map_or(Ok(()), basic::Acceptor::check_invariants)?;
        learner.map_or(Ok(()), basic::Learner::check_invariants)
    }
    fn status(&self, p: &basic::Proposer) -> String {
        match (p.chosen(), p.ballot()) {
            (Some(v), _) => format!("knows {v} chosen"),
            (None, Some(b)) => format!("ballot {b}"),
            (None, None) => "idle".into(),
        }
    }
}

/// Multi-Paxos under simulation.
#[derive(Clone, Debug)]
pub struct MultiPaxos {
    /// Where the roles live.
    pub layout: Layout,
    /// The roles' configuration.
    pub config: multi::Config,
    /// Whether learners keep a durable log and restore from it after a
    /// crash (as with the actors' `learner_storage`), instead of
    /// relearning everything from the proposers.
    pub learner_log: bool,
}

impl MultiPaxos {
    /// Multi-Paxos over `layout` with `quorum`, learners without a log.
    pub fn new(layout: Layout, quorum: QuorumSystem) -> Self {
        let config = multi::Config::new(
            quorum,
            layout.proposers.iter().copied().collect(),
            layout.learners.iter().copied().collect(),
        );
        MultiPaxos {
            layout,
            config,
            learner_log: false,
        }
    }
}

impl Protocol for MultiPaxos {
    type Msg = multi::Message;
    type Proposer = multi::Proposer;
    type Acceptor = multi::Acceptor;
    type Learner = multi::Learner;
    type Replica = Replica<History>;

    fn nodes(&self) -> Vec<NodeId> {
        self.layout.nodes()
    }
    fn roles(&self, id: NodeId) -> Roles {
        self.layout.roles(id)
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
    fn learner_log(&self) -> bool {
        self.learner_log
    }
    fn boot_proposer(
        &self,
        id: NodeId,
        durable: &DurableState,
        seed: u64,
        logged: &[(Slot, Value)],
    ) -> multi::Proposer {
        let mut p = multi::Proposer::restore(id, &self.config, durable, seed);
        p.learn(logged.iter().cloned());
        p
    }
    fn boot_acceptor(&self, durable: &DurableState) -> multi::Acceptor {
        multi::Acceptor::restore(&self.config, durable)
    }
    fn boot_learner(&self, log: Option<&DurableState>) -> multi::Learner {
        match log {
            Some(state) => multi::Learner::restore(&self.config, state),
            None => multi::Learner::new(&self.config),
        }
    }
    fn replica(&self) -> Option<Replica<History>> {
        Some(Replica::new(History::default()))
    }
    fn submit(&self, p: &mut multi::Proposer, command: Command, ready: &mut Ready<multi::Message>) {
        p.propose(command, ready);
    }
    fn apply(&self, replica: &mut Replica<History>, slot: Slot, value: &Value) -> Option<Applied> {
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
    fn promised(&self, acceptor: &multi::Acceptor) -> Ballot {
        acceptor.promised()
    }
    fn forward(&self, command: Command) -> Option<multi::Message> {
        Some(multi::Message::Forward {
            commands: vec![command],
        })
    }
    fn learner_leader(&self, learner: &multi::Learner) -> Option<NodeId> {
        learner.leader()
    }
    fn is_forward(&self, msg: &multi::Message) -> bool {
        matches!(msg, multi::Message::Forward { .. })
    }
    fn check_roles(
        &self,
        proposer: Option<&multi::Proposer>,
        acceptor: Option<&multi::Acceptor>,
        learner: Option<&multi::Learner>,
    ) -> Result<(), InvariantViolation> {
        proposer.map_or(Ok(()), multi::Proposer::check_invariants)?;
        acceptor.map_or(Ok(()), multi::Acceptor::check_invariants)?;
        learner.map_or(Ok(()), multi::Learner::check_invariants)
    }
    fn status(&self, p: &multi::Proposer) -> String {
        format!("{:?} commit {}", p.status(), p.commit())
    }
}
