//! The shared kit of the Multi-Paxos role tests: a three-acceptor
//! configuration, builders for commands and messages, one-call wrappers
//! that hand a role one input and return its `Ready`, and a small cluster
//! (acceptors A1..A3, proposers P4 and P5, learner L) on the perfect (or
//! deliberately lossy) network of `net.rs`.

use crate::net::Network;
use paxos_core::multi::{Acceptor, Config, Learner, Message, Proposer, Status};
use paxos_core::{
    Ballot, ClientId, Command, DurableState, NodeId, QuorumSystem, Ready, Slot, Value,
};
use std::collections::BTreeMap;

pub(crate) const A1: NodeId = NodeId(1);
pub(crate) const A2: NodeId = NodeId(2);
pub(crate) const A3: NodeId = NodeId(3);
pub(crate) const ACCEPTORS: [NodeId; 3] = [A1, A2, A3];
pub(crate) const P4: NodeId = NodeId(4);
pub(crate) const P5: NodeId = NodeId(5);
pub(crate) const L: NodeId = NodeId(9);
pub(crate) const DELIVERIES_MAX: usize = 100_000;

pub(crate) fn config() -> Config {
    Config::new(
        QuorumSystem::majority(ACCEPTORS).unwrap(),
        vec![P4, P5],
        vec![L],
    )
}

pub(crate) fn b(round: u64, node: NodeId) -> Ballot {
    Ballot::new(round, node)
}

pub(crate) fn cmd(client: u64, seq: u64) -> Command {
    Command {
        client: ClientId(client),
        seq,
        payload: vec![seq as u8].into(),
    }
}

pub(crate) fn val(seq: u64) -> Value {
    Value::from(cmd(1, seq))
}

pub(crate) fn fresh_acceptor() -> Acceptor {
    Acceptor::restore(&config(), &DurableState::default())
}

pub(crate) fn proposer(id: NodeId, config: &Config) -> Proposer {
    Proposer::restore(id, config, &DurableState::default(), 7)
}

pub(crate) fn handle_acceptor(
    acceptor: &mut Acceptor,
    from: NodeId,
    msg: Message,
) -> Ready<Message> {
    let mut ready = Ready::new();
    acceptor.handle(from, msg, &mut ready);
    ready
}

pub(crate) fn handle_proposer(
    proposer: &mut Proposer,
    from: NodeId,
    msg: Message,
) -> Ready<Message> {
    let mut ready = Ready::new();
    proposer.handle(from, msg, &mut ready);
    ready
}

pub(crate) fn handle_learner(learner: &mut Learner, from: NodeId, msg: Message) -> Ready<Message> {
    let mut ready = Ready::new();
    learner.handle(from, msg, &mut ready);
    ready
}

pub(crate) fn propose(proposer: &mut Proposer, command: Command) -> Ready<Message> {
    let mut ready = Ready::new();
    proposer.propose(command, &mut ready);
    ready
}

/// Ticks a proposer until it stands for a new ballot (at most the largest
/// backed-off timeout, 16 × (election_timeout + election_jitter + 1),
/// after its timer was last reset); returns that ballot and the Ready of
/// that tick.
pub(crate) fn stand(proposer: &mut Proposer, config: &Config) -> (Ballot, Ready<Message>) {
    let before = proposer.status();
    for _ in 0..=16 * (config.election_timeout + config.election_jitter + 1) {
        let mut ready = Ready::new();
        proposer.tick(&mut ready);
        match proposer.status() {
            Status::Candidate { ballot } if proposer.status() != before => {
                return (ballot, ready);
            }
            _ => {}
        }
    }
    panic!("{:?} did not stand", proposer.id());
}

pub(crate) fn promise(ballot: Ballot, accepted: Vec<(Slot, Ballot, Value)>) -> Message {
    Message::Promise {
        ballot,
        first_slot: Slot(0),
        accepted,
        part: 0,
        parts: 1,
    }
}

/// Makes `proposer` leader by hand: it stands, and A1 and A2 promise with
/// nothing accepted.
pub(crate) fn elect_by_hand(proposer: &mut Proposer, config: &Config) -> Ballot {
    let (ballot, _) = stand(proposer, config);
    for a in [A1, A2] {
        let _ = handle_proposer(proposer, a, promise(ballot, Vec::new()));
    }
    assert_eq!(proposer.status(), Status::Leader { ballot });
    ballot
}

/// Log entries, as an `Accept` or `Decide` carries them.
pub(crate) type Entries = Vec<(Slot, Value)>;

/// The `Accept` messages in `messages`: destination, ballot, entries.
pub(crate) fn accepts(messages: &[(NodeId, Message)]) -> Vec<(NodeId, Ballot, Entries)> {
    messages
        .iter()
        .filter_map(|(to, m)| match m {
            Message::Accept { ballot, entries } => Some((*to, *ballot, entries.clone())),
            _ => None,
        })
        .collect()
}

pub(crate) fn decides(messages: &[(NodeId, Message)]) -> Vec<(NodeId, Entries)> {
    messages
        .iter()
        .filter_map(|(to, m)| match m {
            Message::Decide { entries } => Some((*to, entries.clone())),
            _ => None,
        })
        .collect()
}

/// A command with a `len`-byte payload.
pub(crate) fn big(seq: u64, len: usize) -> Command {
    Command {
        client: ClientId(1),
        seq,
        payload: vec![seq as u8; len].into(),
    }
}

/// Acceptors A1..A3, proposers P4 and P5, learner L, on one network.
pub(crate) struct Cluster {
    pub(crate) config: Config,
    pub(crate) roles: Roles,
    pub(crate) net: Network<Message>,
}

impl Cluster {
    pub(crate) fn new(config: Config) -> Self {
        let fresh = DurableState::default();
        let roles = Roles {
            acceptors: ACCEPTORS
                .iter()
                .map(|a| (*a, Acceptor::restore(&config, &fresh)))
                .collect(),
            proposers: [P4, P5]
                .iter()
                .map(|p| (*p, Proposer::restore(*p, &config, &fresh, p.0)))
                .collect(),
            learner: Learner::new(&config),
        };
        Cluster {
            config,
            roles,
            net: Network::new(DELIVERIES_MAX),
        }
    }

    pub(crate) fn proposer(&mut self, id: NodeId) -> &mut Proposer {
        self.roles.proposers.get_mut(&id).unwrap()
    }

    pub(crate) fn run(&mut self) {
        let roles = &mut self.roles;
        self.net
            .run(|from, to, msg, ready| roles.deliver(from, to, msg, ready));
    }

    /// Runs the network, losing every message whose destination fails `keep`.
    pub(crate) fn run_filtered(&mut self, keep: impl Fn(NodeId) -> bool) {
        let roles = &mut self.roles;
        self.net.run_filtered(
            |e| keep(e.to),
            |from, to, msg, ready| roles.deliver(from, to, msg, ready),
        );
    }

    /// Lets `id` time out and win an election on the perfect network.
    pub(crate) fn elect(&mut self, id: NodeId) -> Ballot {
        let config = self.config.clone();
        let (ballot, ready) = stand(self.proposer(id), &config);
        self.net.post(id, ready);
        self.run();
        assert_eq!(self.proposer(id).status(), Status::Leader { ballot });
        ballot
    }

    pub(crate) fn propose(&mut self, id: NodeId, command: Command) {
        let ready = propose(self.proposer(id), command);
        self.net.post(id, ready);
    }

    /// One tick for every proposer and the learner.
    pub(crate) fn tick(&mut self) {
        for (id, p) in self.roles.proposers.iter_mut() {
            let mut ready = Ready::new();
            p.tick(&mut ready);
            self.net.post(*id, ready);
        }
        let mut ready = Ready::new();
        self.roles.learner.tick(&mut ready);
        self.net.post(L, ready);
    }
}

/// The roles of a [`Cluster`], apart from its network so that delivery can
/// borrow both at once.
pub(crate) struct Roles {
    pub(crate) acceptors: BTreeMap<NodeId, Acceptor>,
    pub(crate) proposers: BTreeMap<NodeId, Proposer>,
    pub(crate) learner: Learner,
}

impl Roles {
    pub(crate) fn deliver(
        &mut self,
        from: NodeId,
        to: NodeId,
        msg: Message,
        ready: &mut Ready<Message>,
    ) {
        if let Some(a) = self.acceptors.get_mut(&to) {
            a.handle(from, msg, ready);
        } else if let Some(p) = self.proposers.get_mut(&to) {
            p.handle(from, msg, ready);
        } else {
            assert_eq!(to, L, "message to unknown node");
            self.learner.handle(from, msg, ready);
        }
    }
}
