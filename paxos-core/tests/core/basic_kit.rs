//! The shared kit of the single-decree role tests: a three-acceptor
//! configuration with proposers P and Q and learner L, builders, one-call
//! wrappers that hand a role one input and return its `Ready`, and a small
//! cluster on the perfect network of `net.rs`.

use crate::net::Network;
use paxos_core::basic::{Acceptor, Config, Learner, Message, Proposer};
use paxos_core::{Ballot, ClientId, Command, DurableState, NodeId, QuorumSystem, Ready, Value};

pub(crate) const A1: NodeId = NodeId(1);
pub(crate) const A2: NodeId = NodeId(2);
pub(crate) const A3: NodeId = NodeId(3);
pub(crate) const P: NodeId = NodeId(7);
pub(crate) const Q: NodeId = NodeId(8);
pub(crate) const L: NodeId = NodeId(9);
pub(crate) const L2: NodeId = NodeId(10);
pub(crate) const DELIVERIES_MAX: usize = 10_000;

pub(crate) fn config() -> Config {
    let mut config = Config::new(QuorumSystem::majority([A1, A2, A3]).unwrap(), vec![L]);
    config.proposers = vec![P, Q];
    config
}

pub(crate) fn value(seq: u64) -> Value {
    Value::from(Command {
        client: ClientId(1),
        seq,
        payload: vec![seq as u8].into(),
    })
}

pub(crate) fn b(round: u64, node: NodeId) -> Ballot {
    Ballot::new(round, node)
}

pub(crate) fn fresh_acceptor() -> Acceptor {
    Acceptor::restore(&config(), &DurableState::default())
}

pub(crate) fn fresh_proposer(id: NodeId) -> Proposer {
    Proposer::restore(id, &config(), &DurableState::default(), 1)
}

/// Sends `msg` to `acceptor` and returns the Ready.
pub(crate) fn to_acceptor(acceptor: &mut Acceptor, from: NodeId, msg: Message) -> Ready<Message> {
    let mut ready = Ready::new();
    acceptor.handle(from, msg, &mut ready);
    ready
}

pub(crate) fn to_proposer(proposer: &mut Proposer, from: NodeId, msg: Message) -> Ready<Message> {
    let mut ready = Ready::new();
    proposer.handle(from, msg, &mut ready);
    ready
}

pub(crate) fn to_learner(learner: &mut Learner, from: NodeId, msg: Message) -> Ready<Message> {
    let mut ready = Ready::new();
    learner.handle(from, msg, &mut ready);
    ready
}

pub(crate) fn prepares(ready: &Ready<Message>) -> Vec<(NodeId, Ballot)> {
    ready
        .messages()
        .iter()
        .filter_map(|(to, m)| match m {
            Message::Prepare { ballot } => Some((*to, *ballot)),
            _ => None,
        })
        .collect()
}

/// A small cluster: three acceptors, proposers P and Q, learner L.
pub(crate) struct Cluster {
    pub(crate) config: Config,
    pub(crate) acceptors: Vec<Acceptor>,
    pub(crate) proposers: Vec<(NodeId, Proposer)>,
    pub(crate) learner: Learner,
}

impl Cluster {
    pub(crate) fn new() -> Self {
        let config = config();
        Cluster {
            acceptors: (0..3).map(|_| fresh_acceptor()).collect(),
            proposers: vec![(P, fresh_proposer(P)), (Q, fresh_proposer(Q))],
            learner: Learner::new(&config),
            config,
        }
    }

    pub(crate) fn proposer(&mut self, id: NodeId) -> &mut Proposer {
        &mut self.proposers.iter_mut().find(|(n, _)| *n == id).unwrap().1
    }

    pub(crate) fn deliver(
        &mut self,
        from: NodeId,
        to: NodeId,
        msg: Message,
        ready: &mut Ready<Message>,
    ) {
        match to {
            A1 | A2 | A3 => self.acceptors[to.0 as usize - 1].handle(from, msg, ready),
            L => self.learner.handle(from, msg, ready),
            _ => self.proposer(to).handle(from, msg, ready),
        }
    }

    pub(crate) fn run(&mut self, net: &mut Network<Message>) {
        net.run(|from, to, msg, ready| self.deliver(from, to, msg, ready));
    }
}
