//! Simulated clients that follow the core's client rules
//! (`paxos_core::client`), as the actors' `Client` does.
//!
//! In Multi-Paxos a client lives on a home node: the node's replica
//! answers it. Each attempt goes where the core's `Router` says — the home
//! node's proposer, or (on a node without one) a `Forward` to the leader
//! the home learner heard of first and to the other proposers in turn
//! after that. An attempt ends when its time is up, or early when the home
//! proposer hands the command back (no leader known); then the client backs
//! off as `Attempts` says. A client whose home is down moves to another
//! node that hosts a replica and retries there with the same `(client,
//! seq)`, as a real client reconnects. Single-decree Paxos has no replicas:
//! its clients propose straight to a random proposer and finish when any
//! learner decides their value.

use paxos_core::client::{Attempts, RetryPolicy, Router};
use paxos_core::{ClientId, Command, NodeId, Roles};

/// A command a client waits for.
#[derive(Debug)]
pub(crate) struct Waiting {
    /// The command, the same on every attempt.
    pub command: Command,
    /// Its attempts so far.
    pub attempts: Attempts,
    /// When the client acts next: its attempt times out, or its back-off ends.
    pub act_at: u64,
}

/// One simulated client.
#[derive(Debug)]
pub(crate) struct SimClient {
    pub id: ClientId,
    pub seq: u64,
    /// The node whose replica answers this client.
    pub home: NodeId,
    pub router: Router,
    pub waiting: Option<Waiting>,
}

impl SimClient {
    /// A client at `home`, routing as a client on that node would.
    pub fn new(id: ClientId, home: NodeId, roles: Roles, proposers: &[NodeId]) -> Self {
        SimClient {
            id,
            seq: 0,
            home,
            router: router(roles, proposers),
            waiting: None,
        }
    }

    /// Moves to another node (its home went down).
    pub fn move_to(&mut self, home: NodeId, roles: Roles, proposers: &[NodeId]) {
        self.home = home;
        self.router = router(roles, proposers);
    }

    /// Starts the next command at `now`.
    pub fn start(&mut self, policy: RetryPolicy, now: u64) -> Command {
        self.seq += 1;
        let payload = format!("c{}-{}", self.id.0, self.seq).into_bytes();
        let command = Command {
            client: self.id,
            seq: self.seq,
            payload: payload.into(),
        };
        self.waiting = Some(Waiting {
            command: command.clone(),
            attempts: Attempts::start(policy, now),
            act_at: now,
        });
        command
    }

    /// Whether this client waits for `(client, seq)`.
    pub fn awaits(&self, client: ClientId, seq: u64) -> bool {
        client == self.id && self.waiting.as_ref().is_some_and(|w| w.command.seq == seq)
    }
}

fn router(roles: Roles, proposers: &[NodeId]) -> Router {
    if roles.proposer {
        Router::local()
    } else {
        Router::remote(proposers.to_vec())
    }
}
