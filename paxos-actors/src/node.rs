//! Placing roles on a node: a plain configuration, a builder, and the
//! running node's handle.

use crate::client::{Client, Submit};
use crate::error::Error;
use crate::io::{boxed, BoxStorage, Outbox, StorageError};
use crate::messages::{Decided, GetStatus, Inbound, ProposerStatus, Subscribe};
use crate::metrics::Metrics;
use crate::replica::{Read, ReplicaActor};
use crate::role::{Persist, RoleActor};
use crate::shared::NodeShared;
use crate::submit::SubmitQueue;
use actix::prelude::*;
use paxos_core::multi::{self, Acceptor, Learner, Message, Proposer};
use paxos_core::{
    ClientId, DurableState, Inbox, NodeId, RoleKind, Roles, Slot, StateMachine, Storage, Value,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A plain description of one node, enough to start it.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// This node.
    pub id: NodeId,
    /// The roles it hosts; each must match the cluster's lists.
    pub roles: Roles,
    /// The whole cluster: acceptors and quorums, proposers, learners, timing in ticks.
    pub cluster: multi::Config,
    /// Wall-clock length of one tick.
    pub tick: Duration,
    /// Seeds the proposer's election jitter.
    pub seed: u64,
    /// Most messages waiting in each role's mailbox; more are dropped (as
    /// network loss), never queued without bound.
    pub mailbox_capacity: usize,
}

impl NodeConfig {
    /// A node with 10 ms ticks and a 64 Ki-message mailbox per role.
    pub fn new(id: NodeId, roles: Roles, cluster: multi::Config) -> Self {
        NodeConfig {
            id,
            roles,
            cluster,
            tick: Duration::from_millis(10),
            seed: id.0,
            mailbox_capacity: 1 << 16,
        }
    }

    /// Explains the first thing that cannot work.
    pub fn validate(&self) -> Result<(), Error> {
        self.cluster.validate()?;
        let c = &self.cluster;
        let listed = [
            (
                self.roles.proposer,
                c.proposers.contains(&self.id),
                "proposers",
            ),
            (
                self.roles.acceptor,
                c.quorum.is_acceptor(self.id),
                "acceptors",
            ),
            (
                self.roles.learner,
                c.learners.contains(&self.id),
                "learners",
            ),
        ];
        for (hosts, is_listed, field) in listed {
            if hosts != is_listed {
                return Err(Error::Config(paxos_core::Error::InvalidConfig {
                    field,
                    reason: "must list this node exactly when it hosts the role",
                }));
            }
        }
        if self.tick.is_zero() || self.mailbox_capacity == 0 {
            return Err(Error::Config(paxos_core::Error::InvalidConfig {
                field: "tick/mailbox_capacity",
                reason: "must be positive",
            }));
        }
        Ok(())
    }
}

/// Builds a node: its configuration plus the pieces it needs — a transport,
/// storage for the acceptor and proposer, a state machine for the replica.
pub struct NodeBuilder<SM> {
    config: NodeConfig,
    outbox: Option<Arc<dyn Outbox>>,
    acceptor_storage: Option<BoxStorage>,
    proposer_storage: Option<BoxStorage>,
    learner_storage: Option<BoxStorage>,
    state_machine: Option<SM>,
    arbiter: Option<ArbiterHandle>,
    metrics: Option<Arc<Metrics>>,
}

impl<SM: StateMachine + Send + Unpin + 'static> NodeBuilder<SM> {
    /// Starts from a configuration.
    pub fn new(config: NodeConfig) -> Self {
        NodeBuilder {
            config,
            outbox: None,
            acceptor_storage: None,
            proposer_storage: None,
            learner_storage: None,
            state_machine: None,
            arbiter: None,
            metrics: None,
        }
    }

    /// How this node sends (any `paxos_core::Transport`).
    pub fn transport(mut self, transport: impl Outbox + 'static) -> Self {
        self.outbox = Some(Arc::new(transport));
        self
    }

    /// The acceptor's storage (needed when it hosts an acceptor).
    pub fn acceptor_storage(mut self, storage: impl Storage + Send + 'static) -> Self {
        self.acceptor_storage = Some(boxed(storage));
        self
    }

    /// The proposer's storage: it reserves ballot rounds there (needed when
    /// it hosts a proposer).
    pub fn proposer_storage(mut self, storage: impl Storage + Send + 'static) -> Self {
        self.proposer_storage = Some(boxed(storage));
        self
    }

    /// The learner's log (optional). With it, a restarted node replays its
    /// decided log into the state machine and its proposer resumes from the
    /// end of that log; without it, the learner relearns everything from the
    /// other nodes.
    pub fn learner_storage(mut self, storage: impl Storage + Send + 'static) -> Self {
        self.learner_storage = Some(boxed(storage));
        self
    }

    /// The state machine the replica applies commands to (needed when it
    /// hosts a learner).
    pub fn state_machine(mut self, state_machine: SM) -> Self {
        self.state_machine = Some(state_machine);
        self
    }

    /// Runs the node's actors on this arbiter (default: the current one).
    pub fn arbiter(mut self, arbiter: ArbiterHandle) -> Self {
        self.arbiter = Some(arbiter);
        self
    }

    /// Shares counters with other nodes (default: the node's own).
    pub fn metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn spawn<A: Actor<Context = Context<A>> + Send>(
        arbiter: &Option<ArbiterHandle>,
        actor: A,
    ) -> Addr<A> {
        match arbiter {
            Some(a) => A::start_in_arbiter(a, move |_| actor),
            None => actor.start(),
        }
    }

    /// Validates, restores from storage and starts the node's actors.
    pub fn start(self) -> Result<Node<SM>, Error> {
        let NodeBuilder {
            config,
            outbox,
            acceptor_storage,
            proposer_storage,
            learner_storage,
            state_machine,
            arbiter,
            metrics,
        } = self;
        config.validate()?;
        let id = config.id;
        let missing = |role| Error::MissingRole { node: id, role };
        let outbox = outbox.ok_or(missing("transport"))?;
        let shared = NodeShared::new(id, outbox, metrics.unwrap_or_default());
        let (tick, cap, cluster) = (config.tick, config.mailbox_capacity, &config.cluster);
        let load = |s: &mut BoxStorage| -> Result<DurableState, Error> {
            s.load()
                .map_err(|source| Error::Storage { node: id, source })
        };
        let persist = |s: BoxStorage, role: &str| -> Result<Persist, Error> {
            Persist::for_storage(s, format!("storage-{id}-{role}")).map_err(|e| Error::Storage {
                node: id,
                source: StorageError::new(e),
            })
        };

        let mut replica = None;
        let mut learner = None;
        // Entries a durable learner log already holds: replayed into the
        // state machine, and known chosen to this node's proposer.
        let mut logged = Vec::new();
        if config.roles.learner {
            let sm = state_machine.ok_or(missing("state machine"))?;
            let r = Self::spawn(&arbiter, ReplicaActor::new(sm, shared.clone()));
            let (role, persist) = match learner_storage {
                Some(mut storage) => {
                    let state = load(&mut storage)?;
                    logged = state.decided_prefix();
                    (
                        Learner::restore(cluster, &state),
                        persist(storage, "learner")?,
                    )
                }
                None => (Learner::new(cluster), Persist::Nothing),
            };
            if !logged.is_empty() {
                r.do_send(Decided(logged.clone()));
            }
            let actor = RoleActor::new(role, shared.clone(), persist, tick, cap)
                .with_replica(r.clone().recipient());
            learner = Some(Self::spawn(&arbiter, actor));
            replica = Some(r);
        }
        let mut proposer = None;
        if config.roles.proposer {
            let mut storage = proposer_storage.ok_or(missing("proposer storage"))?;
            let state = load(&mut storage)?;
            let mut role = Proposer::restore(id, cluster, &state, config.seed);
            role.learn(logged);
            let queue = SubmitQueue::new(shared.metrics.clone());
            let actor = RoleActor::new(
                role,
                shared.clone(),
                persist(storage, "proposer")?,
                tick,
                cap,
            )
            .with_submit_queue(queue.clone());
            let addr = Self::spawn(&arbiter, actor);
            queue.connect(addr.clone().recipient());
            proposer = Some((addr, queue));
        }
        let mut acceptor = None;
        if config.roles.acceptor {
            let mut storage = acceptor_storage.ok_or(missing("acceptor storage"))?;
            let state = load(&mut storage)?;
            let role = Acceptor::restore(cluster, &state);
            // Acceptors need no ticks.
            let actor = RoleActor::new(
                role,
                shared.clone(),
                persist(storage, "acceptor")?,
                Duration::ZERO,
                cap,
            );
            acceptor = Some(Self::spawn(&arbiter, actor));
        }
        let inbox = Arc::new(NodeInbox {
            roles: config.roles,
            shared: shared.clone(),
            proposer: proposer.clone().map(|(a, _)| a.recipient()),
            acceptor: acceptor.clone().map(Addr::recipient),
            learner: learner.clone().map(Addr::recipient),
        });
        Ok(Node {
            id,
            shared,
            proposer,
            learner,
            replica,
            inbox,
        })
    }
}

/// Routes inbound protocol messages to the node's role actors.
struct NodeInbox {
    roles: Roles,
    shared: Arc<NodeShared>,
    proposer: Option<Recipient<Inbound>>,
    acceptor: Option<Recipient<Inbound>>,
    learner: Option<Recipient<Inbound>>,
}

impl NodeInbox {
    fn post(&self, to: &Option<Recipient<Inbound>>, from: NodeId, msg: Message) {
        if let Some(r) = to {
            // A full mailbox drops the message: loss, which Paxos tolerates.
            if r.try_send(Inbound { from, msg }).is_ok() {
                self.shared.metrics.actor_message();
            }
        }
    }
}

impl Inbox<Message> for NodeInbox {
    fn deliver(&self, from: NodeId, msg: Message) {
        if self.shared.stopped() {
            return;
        }
        // The core decides which roles get it; all but the last get a copy.
        let mut to = self.roles.route(&msg).peekable();
        while let Some(kind) = to.next() {
            let recipient = match kind {
                RoleKind::Proposer => &self.proposer,
                RoleKind::Acceptor => &self.acceptor,
                RoleKind::Learner => &self.learner,
            };
            if to.peek().is_none() {
                return self.post(recipient, from, msg);
            }
            self.post(recipient, from, msg.clone());
        }
    }
}

/// A running node.
pub struct Node<SM: StateMachine + Unpin + 'static> {
    id: NodeId,
    shared: Arc<NodeShared>,
    proposer: Option<(Addr<RoleActor<Proposer>>, Arc<SubmitQueue>)>,
    learner: Option<Addr<RoleActor<Learner>>>,
    replica: Option<Addr<ReplicaActor<SM>>>,
    inbox: Arc<NodeInbox>,
}

impl<SM: StateMachine + Send + Unpin + 'static> Node<SM> {
    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Where the transport delivers this node's inbound messages.
    pub fn inbox(&self) -> Arc<dyn Inbox<Message>> {
        self.inbox.clone()
    }

    /// A client that submits to this node's proposer and waits for results
    /// from this node's replica. `id` must be unique in the cluster and
    /// never reused by another client (see [`Client`]).
    pub fn client(&self, id: ClientId) -> Result<Client, Error> {
        self.client_via(self, id)
    }

    /// A client that submits to `proposer_node`'s proposer and waits for
    /// results from this node's replica (for role-separated layouts).
    pub fn client_via<P: StateMachine + Send + Unpin + 'static>(
        &self,
        proposer_node: &Node<P>,
        id: ClientId,
    ) -> Result<Client, Error> {
        let (_, queue) = proposer_node.proposer.clone().ok_or(Error::MissingRole {
            node: proposer_node.id,
            role: "proposer",
        })?;
        if self.replica.is_none() {
            return Err(Error::MissingRole {
                node: self.id,
                role: "learner",
            });
        }
        Client::new(id, self.shared.clone(), Submit::Local(queue))
    }

    /// A client for a node without a proposer (or to reach proposers in
    /// other processes): it forwards each command over the transport to one
    /// of `proposers` — trying the next on each retry — and waits for the
    /// result from this node's replica.
    pub fn remote_client(&self, id: ClientId, proposers: Vec<NodeId>) -> Result<Client, Error> {
        if self.replica.is_none() {
            return Err(Error::MissingRole {
                node: self.id,
                role: "learner",
            });
        }
        let submit = Submit::Remote(paxos_core::client::Router::remote(proposers));
        Client::new(id, self.shared.clone(), submit)
    }

    /// The proposer's leadership state and commit point.
    pub async fn status(&self) -> Result<ProposerStatus, Error> {
        self.check_running()?;
        let (p, _) = self.proposer.as_ref().ok_or(Error::MissingRole {
            node: self.id,
            role: "proposer",
        })?;
        p.send(GetStatus).await.map_err(|_| Error::Stopped)
    }

    /// A stream of the entries this node's learner delivers from now on,
    /// in slot order, in batches. If the receiver falls `capacity` batches
    /// behind, the stream ends (it is closed, never silently skipped).
    pub async fn subscribe(
        &self,
        capacity: usize,
    ) -> Result<mpsc::Receiver<Vec<(Slot, Value)>>, Error> {
        self.check_running()?;
        let l = self.learner.as_ref().ok_or(Error::MissingRole {
            node: self.id,
            role: "learner",
        })?;
        let (tx, rx) = mpsc::channel(capacity.max(1));
        l.send(Subscribe(tx)).await.map_err(|_| Error::Stopped)??;
        Ok(rx)
    }

    /// Reads the replica's state machine (no consensus: may lag the cluster).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SM) -> T + Send + 'static,
    ) -> Result<T, Error> {
        self.check_running()?;
        let r = self.replica.as_ref().ok_or(Error::MissingRole {
            node: self.id,
            role: "learner",
        })?;
        r.send(Read(Box::new(f)))
            .await
            .map_err(|_| Error::Stopped)?
            .ok_or(Error::Stopped)
    }

    /// Stops the node as a crash would: its actors stop, in-memory state is
    /// lost, waiting clients get [`Error::Stopped`]. Restart it with a new
    /// builder over the same storage.
    pub fn stop(&self) {
        self.shared.stop();
    }

    /// Whether the node stopped (by [`Node::stop`] or a storage failure).
    pub fn is_stopped(&self) -> bool {
        self.shared.stopped()
    }

    fn check_running(&self) -> Result<(), Error> {
        if self.shared.stopped() {
            Err(Error::Stopped)
        } else {
            Ok(())
        }
    }

    /// Counters shared with this node.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.shared.metrics.clone()
    }
}
