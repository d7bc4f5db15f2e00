//! Shared pieces of the example programs: an in-process cluster of
//! [`Store`] replicas over `transport-mem` with in-memory storage.

use paxos_actors::{Client, Error, Metrics, Node, NodeBuilder, NodeConfig, Roles};
use paxos_core::multi::{self, Message, Status};
use paxos_core::{Ballot, ClientId, NodeId, QuorumSystem, SharedMemStorage, Slot, StateMachine};
use paxos_kvstore::Store;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;
use transport_mem::MemNetwork;

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

/// Which threads a [`MemCluster`]'s nodes run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Placement {
    /// On the caller's arbiter, with the caller's tasks (one thread in all).
    #[default]
    Caller,
    /// All nodes on one arbiter of their own, so clients on the caller's
    /// thread and the nodes use two threads.
    Shared,
    /// Each node on its own arbiter.
    PerNode,
}

/// `n` nodes with every role, over one in-memory network.
pub struct MemCluster {
    /// The network; change its fault plan at will.
    pub net: MemNetwork<Message>,
    config: multi::Config,
    tick: Duration,
    nodes: BTreeMap<NodeId, Node<Store>>,
    /// Storage per node (acceptor, proposer), kept across crashes: a
    /// restarted node gets handles to the same records (in memory every
    /// write is synced). A plain `MemStorage` clone would be a copy, and the
    /// node would come back having forgotten its promises and ballots.
    storage: BTreeMap<NodeId, (SharedMemStorage, SharedMemStorage)>,
    /// The arbiters started for the cluster, stopped on shutdown.
    arbiters: Vec<actix::Arbiter>,
    /// The arbiter each node runs on (absent: the caller's).
    placement: BTreeMap<NodeId, actix::ArbiterHandle>,
    metrics: Arc<Metrics>,
    next_client: u64,
    restarts: u64,
}

impl MemCluster {
    /// Starts `n` nodes on the threads `placement` says.
    /// `config` adjusts the cluster's timing and batching.
    pub fn start(
        n: u64,
        seed: u64,
        tick: Duration,
        placement: Placement,
        config: impl FnOnce(&mut multi::Config),
    ) -> Result<Self, Error> {
        let ids: Vec<NodeId> = (1..=n).map(NodeId).collect();
        let mut cluster_config = multi::Config::new(
            QuorumSystem::majority(ids.clone())?,
            ids.clone(),
            ids.clone(),
        );
        config(&mut cluster_config);
        let mut cluster = MemCluster {
            net: MemNetwork::new(seed, 1 << 16),
            config: cluster_config,
            tick,
            nodes: BTreeMap::new(),
            storage: BTreeMap::new(),
            arbiters: Vec::new(),
            placement: BTreeMap::new(),
            metrics: Arc::new(Metrics::default()),
            next_client: 1,
            restarts: 0,
        };
        for id in &ids {
            match placement {
                Placement::Caller => {}
                Placement::Shared if !cluster.arbiters.is_empty() => {}
                Placement::Shared | Placement::PerNode => {
                    cluster.arbiters.push(actix::Arbiter::new());
                }
            }
            if let Some(arbiter) = cluster.arbiters.last() {
                cluster.placement.insert(*id, arbiter.handle());
            }
            cluster.boot(*id)?;
        }
        Ok(cluster)
    }

    /// Every node id, up or down.
    pub fn ids(&self) -> Vec<NodeId> {
        self.config.proposers.clone()
    }

    /// Starts node `id` (again) over its storage.
    pub fn boot(&mut self, id: NodeId) -> Result<(), Error> {
        let (a, p) = self.storage.entry(id).or_default().clone();
        let mut config = NodeConfig::new(id, Roles::ALL, self.config.clone());
        config.tick = self.tick;
        config.seed = id.0 ^ (self.restarts << 32);
        self.restarts += 1;
        let mut builder = NodeBuilder::new(config)
            .transport(self.net.transport(id))
            .acceptor_storage(a)
            .proposer_storage(p)
            .state_machine(Store::new())
            .metrics(self.metrics.clone());
        if let Some(arbiter) = self.placement.get(&id) {
            builder = builder.arbiter(arbiter.clone());
        }
        let node = builder.start()?;
        self.net.register(id, node.inbox());
        self.nodes.insert(id, node);
        Ok(())
    }

    /// Crashes node `id`: it stops and leaves the network.
    pub fn crash(&mut self, id: NodeId) {
        if let Some(node) = self.nodes.remove(&id) {
            node.stop();
        }
        self.net.unregister(id);
    }

    /// The running node `id`, if up.
    pub fn node(&self, id: NodeId) -> Option<&Node<Store>> {
        self.nodes.get(&id)
    }

    /// A new client on node `id` (submits there, waits for its replica).
    pub fn client(&mut self, id: NodeId) -> Result<Client, Error> {
        let cid = ClientId(self.next_client);
        self.next_client += 1;
        self.nodes.get(&id).ok_or(Error::Stopped)?.client(cid)
    }

    /// Counters shared by every node.
    pub fn metrics(&self) -> Arc<Metrics> {
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

    /// The up node leading in the highest ballot.
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

    /// `(commands applied, digest of the state)` per up replica: equal
    /// pairs mean (with overwhelming likelihood) equal replicas.
    pub async fn replicas(&self) -> BTreeMap<NodeId, (u64, u64)> {
        let mut out = BTreeMap::new();
        for (id, node) in &self.nodes {
            if let Ok(x) = node.read(|kv| (kv.applied(), digest(kv))).await {
                out.insert(*id, x);
            }
        }
        out
    }

    /// Stops every node and arbiter.
    pub fn shutdown(&mut self) {
        for node in self.nodes.values() {
            node.stop();
        }
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
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
    use paxos_core::Storage;
    use paxos_kvstore::{encode, Op};

    fn acceptor_records(cluster: &MemCluster, id: NodeId) -> usize {
        cluster.storage[&id].0.with(|s| s.synced_records().len())
    }

    /// A crashed node must come back over the storage it wrote, or it
    /// would have forgotten its promises and accepted values.
    #[actix_rt::test]
    async fn a_restarted_node_finds_what_it_synced_before_the_crash() {
        let mut cluster =
            MemCluster::start(3, 1, Duration::from_millis(1), Placement::Caller, |_| {}).unwrap();
        let mut client = cluster.client(NodeId(1)).unwrap();
        let incr = encode(&[Op::Incr(b"k".to_vec())]);
        assert_eq!(client.propose(incr.clone()).await, Ok(b":1\r\n".to_vec()));
        let id = cluster
            .ids()
            .into_iter()
            .max_by_key(|id| acceptor_records(&cluster, *id))
            .unwrap();
        let before = acceptor_records(&cluster, id);
        assert!(before > 0, "a quorum accepted, so some acceptor wrote");
        cluster.crash(id);
        cluster.boot(id).unwrap();
        let restored = cluster.storage[&id].0.clone().load().unwrap();
        assert!(!restored.accepted.is_empty(), "{restored:?}");
        assert!(acceptor_records(&cluster, id) >= before);
        let mut again = cluster.client(NodeId(1)).unwrap();
        assert_eq!(again.propose(incr).await, Ok(b":2\r\n".to_vec()));
        cluster.shutdown();
    }
}
