//! An in-process cluster: nodes of [`Store`] replicas over a
//! `transport-mem` network, with in-memory storage that outlives a node's
//! crash, and each learner's decided log recorded so tests can wait on it.
//!
//! On the caller's arbiter ([`Placement::Caller`], the default) and under
//! `run_virtual` (feature `virtual-time`), every timer of the cluster and of
//! the network runs on tokio's paused clock: a test covers seconds of
//! protocol time in milliseconds, and the same seed gives the same run.

use paxos_actors::{Client, Error, Node, NodeBuilder, NodeConfig, Roles};
use paxos_core::multi::{self, Message, Status};
use paxos_core::{
    Ballot, ClientId, NodeId, QuorumSystem, SharedMemStorage, Slot, StateMachine, Storage, Value,
};
use paxos_kvstore::Store;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use transport_mem::{FaultPlan, LinkFaults, MemNetwork};

/// How long a wait on the cluster may take before the test fails (a
/// deadline, not a synchronization: every wait returns as soon as its
/// event happens). On the virtual clock it costs no wall time.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Delayed messages each link of the network may hold.
const LINK_CAPACITY: usize = 1 << 16;

/// Decided batches a learner's recorder may fall behind before it is cut
/// off (the node disconnects a subscriber that lags, never skips).
const SUBSCRIBER_CAPACITY: usize = 1 << 16;

/// Which threads the nodes run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Placement {
    /// On the caller's arbiter, with the caller's tasks: one thread, and
    /// the only placement whose timers follow a paused clock.
    #[default]
    Caller,
    /// All nodes on one arbiter of their own, so clients on the caller's
    /// thread and the nodes use two threads.
    Shared,
    /// Each node on its own arbiter.
    PerNode,
}

/// How a client waits for its command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientTiming {
    /// Each attempt's wait.
    pub timeout: Duration,
    /// Attempts before giving up.
    pub attempts_max: u32,
    /// Pause between attempts.
    pub backoff: Duration,
}

impl ClientTiming {
    /// Patient clients for tests: a faulty network may need many retries,
    /// and giving up is a failure.
    pub const PATIENT: ClientTiming = ClientTiming {
        timeout: Duration::from_millis(200),
        attempts_max: 100,
        backoff: Duration::from_millis(5),
    };
}

/// What to start: which node hosts which roles, the protocol's
/// configuration, where the nodes run.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Every node and the roles it hosts.
    pub roles: BTreeMap<NodeId, Roles>,
    /// The protocol's configuration (its lists agree with `roles`).
    pub config: multi::Config,
    /// Which threads the nodes run on.
    pub placement: Placement,
    /// Protocol tick.
    pub tick: Duration,
    /// Learners keep a durable log (replayed on restart).
    pub durable_learners: bool,
    /// Record every learner's decided log (see [`MemCluster::log`]).
    /// Benchmarks turn it off: it copies every decided batch.
    pub record_logs: bool,
    /// How clients from [`MemCluster::client`] wait; `None` keeps the
    /// client's own defaults.
    pub client: Option<ClientTiming>,
}

impl Layout {
    /// `roles`, with majority quorums over the nodes hosting acceptors.
    pub fn new(roles: BTreeMap<NodeId, Roles>) -> Result<Self, Error> {
        let ids = |f: fn(&Roles) -> bool| -> Vec<NodeId> {
            roles
                .iter()
                .filter(|(_, r)| f(r))
                .map(|(id, _)| *id)
                .collect()
        };
        let config = multi::Config::new(
            QuorumSystem::majority(ids(|r| r.acceptor))?,
            ids(|r| r.proposer),
            ids(|r| r.learner),
        );
        Ok(Layout {
            roles,
            config,
            placement: Placement::Caller,
            tick: Duration::from_millis(1),
            durable_learners: false,
            record_logs: true,
            client: Some(ClientTiming::PATIENT),
        })
    }

    /// `n` nodes with every role, majority quorums.
    pub fn colocated(n: u64) -> Self {
        let roles = (1..=n).map(|id| (NodeId(id), Roles::ALL)).collect();
        Layout::new(roles).unwrap_or_else(|e| panic!("a {n}-node majority: {e}"))
    }

    /// The same layout with `quorum` over its acceptors.
    pub fn with_quorum(mut self, quorum: QuorumSystem) -> Self {
        self.config.quorum = quorum;
        self
    }
}

/// Everything one learner delivered, in order, since its node started.
pub struct LearnerLog {
    entries: Mutex<Vec<(Slot, Value)>>,
    len: watch::Sender<usize>,
}

impl LearnerLog {
    /// The entries so far.
    pub fn entries(&self) -> Vec<(Slot, Value)> {
        match self.entries.lock() {
            Ok(e) => e.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// How many entries so far.
    pub fn len(&self) -> usize {
        *self.len.borrow()
    }

    /// Whether nothing was delivered yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until at least `n` entries are delivered.
    pub async fn wait_len(&self, n: usize) -> Result<(), String> {
        let mut rx = self.len.subscribe();
        tokio::time::timeout(DEADLINE, rx.wait_for(|l| *l >= n))
            .await
            .map_err(|_| format!("learner log stuck at {} < {n}", self.len()))?
            .map_err(|_| "learner log closed".to_string())?;
        Ok(())
    }
}

/// One node's view, for display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeView {
    /// The node.
    pub id: NodeId,
    /// Whether it runs.
    pub up: bool,
    /// Follower, candidate or leader.
    pub status: Option<Status>,
    /// Its proposer's commit point.
    pub commit: Slot,
}

/// Storage per node (acceptor, proposer, learner), kept across crashes: a
/// restarted node gets handles to the same records. A plain `MemStorage`
/// clone would be a copy, and the node would come back having forgotten
/// its promises and ballots.
pub type NodeStorage = (SharedMemStorage, SharedMemStorage, SharedMemStorage);

/// A running cluster of [`Store`] replicas.
pub struct MemCluster {
    /// The network; change its fault plan at will.
    pub net: MemNetwork<Message>,
    /// The seed of the network's faults and of every node.
    pub seed: u64,
    layout: Layout,
    nodes: BTreeMap<NodeId, Node<Store>>,
    storage: BTreeMap<NodeId, NodeStorage>,
    logs: BTreeMap<NodeId, Arc<LearnerLog>>,
    /// The arbiters started for the cluster, stopped on shutdown.
    arbiters: Vec<actix::Arbiter>,
    /// The arbiter each node runs on (absent: the caller's).
    arbiter_of: BTreeMap<NodeId, actix::ArbiterHandle>,
    metrics: Arc<paxos_actors::Metrics>,
    next_client: u64,
    boots: u64,
    /// Nodes whose outgoing messages are recorded, and what they sent
    /// (see [`MemCluster::record_sent`]).
    sent: BTreeMap<NodeId, Arc<Mutex<Vec<Message>>>>,
}

/// A transport that records what it sends, then sends it.
struct Recording {
    inner: transport_mem::MemTransport<Message>,
    log: Arc<Mutex<Vec<Message>>>,
}

impl paxos_core::Transport<Message> for Recording {
    type Error = transport_mem::Error;
    fn send(&self, to: NodeId, msg: Message) -> Result<(), Self::Error> {
        if let Ok(mut l) = self.log.lock() {
            l.push(msg.clone());
        }
        self.inner.send(to, msg)
    }
}

impl MemCluster {
    /// Starts every node of `layout`; `seed` drives the network's faults
    /// and the nodes' own randomness. Prints the seed.
    pub async fn start(layout: Layout, seed: u64) -> Result<Self, Error> {
        println!("cluster seed {seed:#x}");
        let mut cluster = MemCluster {
            net: MemNetwork::new(seed, LINK_CAPACITY),
            seed,
            layout,
            nodes: BTreeMap::new(),
            storage: BTreeMap::new(),
            logs: BTreeMap::new(),
            arbiters: Vec::new(),
            arbiter_of: BTreeMap::new(),
            metrics: Arc::default(),
            next_client: 1,
            boots: 0,
            sent: BTreeMap::new(),
        };
        for id in cluster.ids() {
            match cluster.layout.placement {
                Placement::Caller => {}
                Placement::Shared if !cluster.arbiters.is_empty() => {}
                Placement::Shared | Placement::PerNode => {
                    cluster.arbiters.push(actix::Arbiter::new());
                }
            }
            if let Some(arbiter) = cluster.arbiters.last() {
                cluster.arbiter_of.insert(id, arbiter.handle());
            }
        }
        for id in cluster.ids() {
            cluster.boot(id).await?;
        }
        Ok(cluster)
    }

    /// Every node id, up or down.
    pub fn ids(&self) -> Vec<NodeId> {
        self.layout.roles.keys().copied().collect()
    }

    /// The nodes hosting learners, up or down.
    pub fn learners(&self) -> Vec<NodeId> {
        self.layout.config.learners.clone()
    }

    /// Starts (or restarts) node `id` over its storage.
    pub async fn boot(&mut self, id: NodeId) -> Result<(), Error> {
        self.boot_isolated(id, false).await
    }

    /// Starts node `id`; if `isolated`, every link to and from it is cut
    /// before it joins the network.
    pub async fn boot_isolated(&mut self, id: NodeId, isolated: bool) -> Result<(), Error> {
        if isolated {
            for other in self.ids() {
                if other != id {
                    self.net.cut(id, other);
                    self.net.cut(other, id);
                }
            }
        }
        let roles = self.layout.roles[&id];
        let (a, p, l) = self.storage.entry(id).or_default().clone();
        let mut config = NodeConfig::new(id, roles, self.layout.config.clone());
        config.tick = self.layout.tick;
        config.seed = self.seed ^ id.0 ^ (self.boots << 32);
        self.boots += 1;
        let builder = NodeBuilder::new(config);
        let builder = match self.sent.get(&id) {
            Some(log) => builder.transport(Recording {
                inner: self.net.transport(id),
                log: log.clone(),
            }),
            None => builder.transport(self.net.transport(id)),
        };
        let mut builder = builder
            .acceptor_storage(a)
            .proposer_storage(p)
            .state_machine(Store::new())
            .metrics(self.metrics.clone());
        if self.layout.durable_learners {
            builder = builder.learner_storage(l.clone());
        }
        if let Some(arbiter) = self.arbiter_of.get(&id) {
            builder = builder.arbiter(arbiter.clone());
        }
        let node = builder.start()?;
        if roles.learner && self.layout.record_logs {
            // What a durable learner replays at start is not streamed to
            // subscribers: seed the recorded log with it.
            let replayed = if self.layout.durable_learners {
                let mut l = l;
                l.load().map(|s| s.decided_prefix()).unwrap_or_default()
            } else {
                Vec::new()
            };
            // Subscribe before the node is on the network: nothing is missed.
            let mut rx = node.subscribe(SUBSCRIBER_CAPACITY).await?;
            let (len, _) = watch::channel(replayed.len());
            let log = Arc::new(LearnerLog {
                entries: Mutex::new(replayed),
                len,
            });
            let sink = log.clone();
            actix::spawn(async move {
                while let Some(batch) = rx.recv().await {
                    let n = match sink.entries.lock() {
                        Ok(mut e) => {
                            e.extend(batch);
                            e.len()
                        }
                        Err(_) => return,
                    };
                    sink.len.send_replace(n);
                }
            });
            self.logs.insert(id, log);
        }
        self.net.register(id, node.inbox());
        self.nodes.insert(id, node);
        Ok(())
    }

    /// Crashes node `id`: its actors stop, it leaves the network, and its
    /// storage keeps only what was synced.
    pub fn crash(&mut self, id: NodeId) {
        if let Some(node) = self.nodes.remove(&id) {
            node.stop();
        }
        self.net.unregister(id);
        if let Some((a, p, l)) = self.storage.get(&id) {
            a.crash();
            p.crash();
            l.crash();
        }
    }

    /// Records every message node `id` sends from its next boot on; read
    /// them with [`MemCluster::sent`].
    pub fn record_sent(&mut self, id: NodeId) {
        self.sent.entry(id).or_default();
    }

    /// What node `id` sent since [`MemCluster::record_sent`].
    pub fn sent(&self, id: NodeId) -> Vec<Message> {
        self.sent
            .get(&id)
            .and_then(|l| l.lock().ok().map(|l| l.clone()))
            .unwrap_or_default()
    }

    /// The running node `id`.
    ///
    /// # Panics
    /// If the node is down.
    pub fn node(&self, id: NodeId) -> &Node<Store> {
        self.nodes
            .get(&id)
            .unwrap_or_else(|| panic!("node {id} is down"))
    }

    /// Whether node `id` runs.
    pub fn is_up(&self, id: NodeId) -> bool {
        self.nodes.contains_key(&id)
    }

    /// Node `id`'s storage (acceptor, proposer, learner), shared with it.
    pub fn storage(&self, id: NodeId) -> NodeStorage {
        self.storage.get(&id).cloned().unwrap_or_default()
    }

    /// Learner `id`'s recorded log.
    ///
    /// # Panics
    /// If `id` hosts no learner or the layout records no logs.
    pub fn log(&self, id: NodeId) -> Arc<LearnerLog> {
        self.logs
            .get(&id)
            .unwrap_or_else(|| panic!("no log recorded for node {id}"))
            .clone()
    }

    fn client_id(&mut self) -> ClientId {
        let id = ClientId(self.next_client);
        self.next_client += 1;
        id
    }

    fn timed(&self, mut client: Client) -> Client {
        if let Some(t) = self.layout.client {
            client.timeout = t.timeout;
            client.attempts_max = t.attempts_max;
            client.backoff = t.backoff;
        }
        client
    }

    /// A new client on node `id` (submits there, waits for its replica).
    pub fn try_client(&mut self, id: NodeId) -> Result<Client, Error> {
        let cid = self.client_id();
        let client = self.nodes.get(&id).ok_or(Error::Stopped)?.client(cid)?;
        Ok(self.timed(client))
    }

    /// A new client on node `id`.
    ///
    /// # Panics
    /// If the node is down or hosts no proposer and learner.
    pub fn client(&mut self, id: NodeId) -> Client {
        self.try_client(id)
            .unwrap_or_else(|e| panic!("client on node {id}: {e}"))
    }

    /// A client that submits to `proposer`'s proposer and waits on
    /// `learner`'s replica.
    ///
    /// # Panics
    /// If either node is down or lacks its role.
    pub fn client_via(&mut self, learner: NodeId, proposer: NodeId) -> Client {
        let id = self.client_id();
        let client = self
            .node(learner)
            .client_via(self.node(proposer), id)
            .unwrap_or_else(|e| panic!("client on {learner} via {proposer}: {e}"));
        self.timed(client)
    }

    /// A client on `learner` that reaches `proposers` over the network.
    ///
    /// # Panics
    /// If the node is down or hosts no learner.
    pub fn remote_client(&mut self, learner: NodeId, proposers: Vec<NodeId>) -> Client {
        let id = self.client_id();
        let client = self
            .node(learner)
            .remote_client(id, proposers)
            .unwrap_or_else(|e| panic!("remote client on {learner}: {e}"));
        self.timed(client)
    }

    /// Loss, duplication and delay (which reorders) on every link.
    pub fn faults(&self, drop: f64, duplicate: f64, delay_max: Duration) {
        let mut plan = self.net.plan();
        plan.default = LinkFaults {
            drop,
            duplicate,
            delay_min: Duration::ZERO,
            delay_max,
        };
        self.net.set_plan(plan);
    }

    /// No faults and no cut links.
    pub fn no_faults(&self) {
        self.net.set_plan(FaultPlan::none());
    }

    /// Counters shared by every node.
    pub fn metrics(&self) -> Arc<paxos_actors::Metrics> {
        self.metrics.clone()
    }

    /// Every node's status and commit point.
    pub async fn views(&self) -> Vec<NodeView> {
        let mut out = Vec::new();
        for id in self.ids() {
            let mut view = NodeView {
                id,
                up: false,
                status: None,
                commit: Slot(0),
            };
            if let Some(node) = self.nodes.get(&id) {
                view.up = true;
                if let Ok(s) = node.status().await {
                    view.status = Some(s.status);
                    view.commit = s.commit;
                }
            }
            out.push(view);
        }
        out
    }

    /// The running proposer that leads in the highest ballot, if any.
    pub async fn leader(&self) -> Option<(NodeId, Ballot)> {
        self.views()
            .await
            .into_iter()
            .filter_map(|v| match v.status {
                Some(Status::Leader { ballot }) => Some((v.id, ballot)),
                _ => None,
            })
            .max_by_key(|(_, b)| *b)
    }

    /// Waits until every running learner has delivered `at_least` entries
    /// and as many as the longest one, then checks their logs are
    /// identical, gap-free and in slot order. Returns the common length.
    ///
    /// A client's result can arrive before the learner's stream has been
    /// read, so callers pass the number of commands they saw committed.
    pub async fn logs_agree(&self, at_least: usize) -> Result<usize, String> {
        let running: Vec<NodeId> = self
            .learners()
            .into_iter()
            .filter(|id| self.nodes.contains_key(id))
            .collect();
        let Some(first) = running.first() else {
            return Err("no running learner".into());
        };
        let log = |id: &NodeId| {
            self.logs
                .get(id)
                .ok_or_else(|| format!("no log recorded for learner {id}"))
        };
        let mut longest = 0;
        for id in &running {
            longest = longest.max(log(id)?.len());
        }
        let target = longest.max(at_least);
        for id in &running {
            log(id)?
                .wait_len(target)
                .await
                .map_err(|e| format!("learner {id}: {e}"))?;
        }
        let reference: Vec<(Slot, Value)> = log(first)?.entries()[..target].to_vec();
        for (i, (slot, _)) in reference.iter().enumerate() {
            if slot.0 != i as u64 {
                return Err(format!("learner {first}: entry {i} is slot {slot}"));
            }
        }
        for id in &running[1..] {
            if log(id)?.entries()[..target] != reference[..] {
                return Err(format!("learner {id} differs from learner {first}"));
            }
        }
        Ok(target)
    }

    /// Reads `key` from `node`'s replica alone (not through the log: call
    /// it once the logs agree).
    pub async fn read(&self, node: NodeId, key: &[u8]) -> Option<Vec<u8>> {
        let key = key.to_vec();
        self.node(node)
            .read(move |kv| kv.get(&key).map(<[u8]>::to_vec))
            .await
            .unwrap_or_else(|e| panic!("read on node {node}: {e}"))
    }

    /// A copy of `node`'s replica.
    pub async fn state(&self, node: NodeId) -> Store {
        self.node(node)
            .read(|kv| kv.clone())
            .await
            .unwrap_or_else(|e| panic!("state of node {node}: {e}"))
    }

    /// `(commands applied, digest of the state)` per running replica:
    /// equal pairs mean (with overwhelming likelihood) equal replicas.
    pub async fn replicas(&self) -> BTreeMap<NodeId, (u64, u64)> {
        let mut out = BTreeMap::new();
        for (id, node) in &self.nodes {
            if let Ok(x) = node.read(|kv| (kv.applied(), digest(kv))).await {
                out.insert(*id, x);
            }
        }
        out
    }

    /// Stops every node and the cluster's arbiters.
    pub fn shutdown(&mut self) {
        for node in self.nodes.values() {
            node.stop();
        }
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}

impl Drop for MemCluster {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A hash of the store's snapshot (which lists keys in order, so equal
/// stores hash equally).
fn digest(store: &Store) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    store.snapshot().hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::{incr, int};

    fn acceptor_records(cluster: &MemCluster, id: NodeId) -> usize {
        cluster.storage(id).0.with(|s| s.synced_records().len())
    }

    /// A crashed node must come back over the storage it wrote, or it
    /// would have forgotten its promises and accepted values.
    #[test]
    fn a_restarted_node_finds_what_it_synced_before_the_crash() {
        crate::run_virtual(async {
            let mut cluster = MemCluster::start(Layout::colocated(3), 1).await.unwrap();
            let mut client = cluster.client(NodeId(1));
            assert_eq!(client.propose(incr("k")).await, Ok(int(1)));
            let id = cluster
                .ids()
                .into_iter()
                .max_by_key(|id| acceptor_records(&cluster, *id))
                .unwrap();
            let before = acceptor_records(&cluster, id);
            assert!(before > 0, "a quorum accepted, so some acceptor wrote");
            cluster.crash(id);
            cluster.boot(id).await.unwrap();
            let restored = cluster.storage(id).0.load().unwrap();
            assert!(!restored.accepted.is_empty(), "{restored:?}");
            assert!(acceptor_records(&cluster, id) >= before);
            let mut again = cluster.client(NodeId(1));
            assert_eq!(again.propose(incr("k")).await, Ok(int(2)));
        });
    }
}
