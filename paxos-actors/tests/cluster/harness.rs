//! A test cluster: nodes of `Store` replicas over a `transport-mem`
//! network, with storage that survives a node's crash, and learner logs
//! recorded from each learner's subscription so tests can wait on them.

use paxos_actors::{Client, Error, Node, NodeBuilder, NodeConfig, Roles};
use paxos_core::multi::{self, Message, Status};
use paxos_core::{ClientId, NodeId, QuorumSystem, Slot, Storage, Value};
use paxos_kvstore::{encode, Op, Store};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use transport_mem::{FaultPlan, LinkFaults, MemNetwork};

/// How long any wait may take before the test fails (a deadline, not a
/// synchronization: every wait returns as soon as its event happens).
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Storage shared between a node and the test, so it outlives a crash.
pub type SharedStorage = paxos_core::SharedMemStorage;

/// Everything one learner delivered, in order, since its node started.
pub struct LearnerLog {
    entries: Mutex<Vec<(Slot, Value)>>,
    len: watch::Sender<usize>,
}

impl LearnerLog {
    pub fn entries(&self) -> Vec<(Slot, Value)> {
        self.entries.lock().map(|e| e.clone()).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        *self.len.borrow()
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

/// How a test cluster is laid out.
pub struct Layout {
    pub roles: BTreeMap<NodeId, Roles>,
    pub quorum: QuorumSystem,
    /// Each node on its own arbiter (thread) rather than the test's.
    pub own_arbiters: bool,
    /// Learners keep a durable log (replayed on restart).
    pub durable_learners: bool,
}

impl Layout {
    /// `n` nodes with every role, majority quorums.
    pub fn colocated(n: u64) -> Self {
        let ids: Vec<NodeId> = (1..=n).map(NodeId).collect();
        Layout {
            roles: ids.iter().map(|id| (*id, Roles::ALL)).collect(),
            quorum: QuorumSystem::majority(ids).unwrap_or_else(|e| panic!("{e}")),
            own_arbiters: false,
            durable_learners: false,
        }
    }
}

/// A running cluster of `Store` replicas.
pub struct TestCluster {
    pub net: MemNetwork<Message>,
    pub seed: u64,
    config: multi::Config,
    layout: Layout,
    nodes: BTreeMap<NodeId, Node<Store>>,
    storage: BTreeMap<NodeId, (SharedStorage, SharedStorage, SharedStorage)>,
    logs: BTreeMap<NodeId, Arc<LearnerLog>>,
    arbiters: BTreeMap<NodeId, actix::Arbiter>,
    next_client: u64,
    /// Nodes whose outgoing messages are recorded, and what they sent.
    pub sent: BTreeMap<NodeId, Arc<Mutex<Vec<Message>>>>,
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

impl TestCluster {
    /// Starts every node of `layout`; `seed` drives the network's faults.
    pub async fn start(layout: Layout, seed: u64) -> Self {
        println!("cluster seed {seed} (replay: the test's seed constant)");
        let ids = |f: fn(&Roles) -> bool| {
            layout
                .roles
                .iter()
                .filter(|(_, r)| f(r))
                .map(|(id, _)| *id)
                .collect::<Vec<_>>()
        };
        let config = multi::Config::new(
            layout.quorum.clone(),
            ids(|r| r.proposer),
            ids(|r| r.learner),
        );
        let mut cluster = TestCluster {
            net: MemNetwork::new(seed, 1 << 14),
            seed,
            config,
            layout,
            nodes: BTreeMap::new(),
            storage: BTreeMap::new(),
            logs: BTreeMap::new(),
            arbiters: BTreeMap::new(),
            next_client: 1,
            sent: BTreeMap::new(),
        };
        let ids: Vec<NodeId> = cluster.layout.roles.keys().copied().collect();
        for id in ids {
            cluster
                .boot(id)
                .await
                .unwrap_or_else(|e| panic!("node {id}: {e}"));
        }
        cluster
    }

    pub fn ids(&self) -> Vec<NodeId> {
        self.layout.roles.keys().copied().collect()
    }

    pub fn learners(&self) -> Vec<NodeId> {
        self.config.learners.clone()
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
        let mut config = NodeConfig::new(id, roles, self.config.clone());
        config.tick = Duration::from_millis(1);
        config.seed = self.seed ^ id.0 ^ (self.nodes.len() as u64) << 32;
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
            .state_machine(Store::new());
        if self.layout.durable_learners {
            builder = builder.learner_storage(l);
        }
        if self.layout.own_arbiters {
            let arbiter = self.arbiters.entry(id).or_insert_with(actix::Arbiter::new);
            builder = builder.arbiter(arbiter.handle());
        }
        // What a durable learner replays at start is not streamed to
        // subscribers: seed the recorded log with it.
        let replayed = if self.layout.durable_learners {
            let mut l = self.storage[&id].2.clone();
            l.load().map(|s| s.decided_prefix()).unwrap_or_default()
        } else {
            Vec::new()
        };
        let node = builder.start()?;
        if roles.learner {
            // Subscribe before the node is on the network: nothing is missed.
            let mut rx = node.subscribe(1 << 16).await?;
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

    pub fn node(&self, id: NodeId) -> &Node<Store> {
        &self.nodes[&id]
    }

    pub fn storage(&self, id: NodeId) -> (SharedStorage, SharedStorage, SharedStorage) {
        self.storage.get(&id).cloned().unwrap_or_default()
    }

    pub fn log(&self, id: NodeId) -> Arc<LearnerLog> {
        self.logs[&id].clone()
    }

    /// A client that submits to `proposer`'s proposer and waits on
    /// `learner`'s replica (the same node in colocated layouts).
    pub fn client_via(&mut self, learner: NodeId, proposer: NodeId) -> Client {
        let id = ClientId(self.next_client);
        self.next_client += 1;
        let mut c = self.nodes[&learner]
            .client_via(&self.nodes[&proposer], id)
            .unwrap_or_else(|e| panic!("{e}"));
        c.timeout = Duration::from_millis(200);
        c.attempts_max = 100;
        c.backoff = Duration::from_millis(5);
        c
    }

    /// A client on `learner` that reaches `proposers` over the network.
    pub fn remote_client(&mut self, learner: NodeId, proposers: Vec<NodeId>) -> Client {
        let id = ClientId(self.next_client);
        self.next_client += 1;
        let mut c = self.nodes[&learner]
            .remote_client(id, proposers)
            .unwrap_or_else(|e| panic!("{e}"));
        c.timeout = Duration::from_millis(200);
        c.attempts_max = 100;
        c.backoff = Duration::from_millis(5);
        c
    }

    pub fn client(&mut self, node: NodeId) -> Client {
        self.client_via(node, node)
    }

    /// Loss, duplication and delay (which reorders) on every link.
    pub fn faults(&self, drop: f64, duplicate: f64, delay_max_ms: u64) {
        let mut plan = self.net.plan();
        plan.default = LinkFaults {
            drop,
            duplicate,
            delay_min: Duration::ZERO,
            delay_max: Duration::from_millis(delay_max_ms),
        };
        self.net.set_plan(plan);
    }

    pub fn no_faults(&self) {
        self.net.set_plan(FaultPlan::none());
    }

    /// The running proposer that leads in the highest ballot, if any.
    pub async fn leader(&self) -> Option<NodeId> {
        let mut best = None;
        for (id, node) in &self.nodes {
            if !self.layout.roles[id].proposer {
                continue;
            }
            if let Ok(s) = node.status().await {
                if let Status::Leader { ballot } = s.status {
                    if best.is_none_or(|(b, _)| ballot > b) {
                        best = Some((ballot, *id));
                    }
                }
            }
        }
        best.map(|(_, id)| id)
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
        let longest = running.iter().map(|id| self.logs[id].len()).max();
        let target = longest.unwrap_or(0).max(at_least);
        for id in &running {
            self.logs[id]
                .wait_len(target)
                .await
                .map_err(|e| format!("learner {id}: {e}"))?;
        }
        let reference: Vec<(Slot, Value)> = self.logs[&running[0]].entries()[..target].to_vec();
        for (i, (slot, _)) in reference.iter().enumerate() {
            if slot.0 != i as u64 {
                return Err(format!("learner {}: entry {i} is slot {slot}", running[0]));
            }
        }
        for id in &running[1..] {
            let log = self.logs[id].entries();
            if log[..target] != reference[..] {
                return Err(format!("learner {id} differs from learner {}", running[0]));
            }
        }
        Ok(target)
    }

    /// Reads `key` from `node`'s replica (local, after the logs agree).
    pub async fn read(&self, node: NodeId, key: &[u8]) -> Option<Vec<u8>> {
        let key = key.to_vec();
        self.nodes[&node]
            .read(move |kv| kv.get(&key).map(<[u8]>::to_vec))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A copy of `node`'s replica.
    pub async fn state(&self, node: NodeId) -> Store {
        self.nodes[&node]
            .read(|kv| kv.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for node in self.nodes.values() {
            node.stop();
        }
        for arbiter in self.arbiters.values() {
            arbiter.stop();
        }
    }
}

pub fn incr(key: &str) -> Vec<u8> {
    encode(&[Op::Incr(key.as_bytes().to_vec())])
}

pub fn set(key: &str, value: &str) -> Vec<u8> {
    encode(&[Op::Set(key.as_bytes().to_vec(), value.as_bytes().to_vec())])
}

/// The store's answer to a command that yields `n` (INCR).
pub fn int(n: u64) -> Vec<u8> {
    format!(":{n}\r\n").into_bytes()
}

/// The store's answer to a SET.
pub fn ok() -> Vec<u8> {
    b"+OK\r\n".to_vec()
}
