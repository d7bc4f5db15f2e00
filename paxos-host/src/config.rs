//! A node's configuration, its checks, and the text forms of its parts
//! (`1=127.0.0.1:7001,...`, `proposer,learner`, `flexible:4,2`) that the
//! programs accept on their command lines and in their config files.
//!
//! Errors name the setting as the programs' flag (`--peers: ...`), so a
//! program can print them as they are.

use crate::Error;
use paxos_actors::Roles;
use paxos_core::{multi, NodeId, QuorumSystem};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

fn bad(setting: &'static str, reason: impl Into<String>) -> Error {
    Error::Config {
        setting,
        reason: reason.into(),
    }
}

/// Everything a process needs to host a node: who it is, who its peers
/// are, which roles it and the others host, where its state lives.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// This node.
    pub id: NodeId,
    /// Every node's consensus address, this one's included.
    pub peers: BTreeMap<NodeId, SocketAddr>,
    /// The roles this node hosts.
    pub roles: Roles,
    /// Nodes hosting proposers.
    pub proposers: Vec<NodeId>,
    /// The acceptors and their quorums.
    pub quorum: QuorumSystem,
    /// Nodes hosting learners.
    pub learners: Vec<NodeId>,
    /// Directory for this node's durable state (one subdirectory per role).
    pub data_dir: PathBuf,
    /// This node has never been a member: create its data directory rather
    /// than refuse a missing or empty one.
    pub new: bool,
    /// Identifies the cluster in every TCP handshake and data directory.
    pub cluster_id: u64,
    /// Milliseconds per protocol tick.
    pub tick_ms: u64,
    /// Thrifty Phase 2 (see `paxos_core::multi::Config::thrifty`).
    pub thrifty: bool,
}

impl HostConfig {
    /// `peers`, every one hosting every role, majority quorums, cluster 1,
    /// 5 ms ticks; change fields for anything else.
    pub fn new(id: NodeId, peers: BTreeMap<NodeId, SocketAddr>, data_dir: PathBuf) -> Self {
        let all: Vec<NodeId> = peers.keys().copied().collect();
        // An empty acceptor set is refused by `validate` (no peers); until
        // then a one-node majority of this node stands in.
        let quorum = QuorumSystem::majority(all.iter().copied())
            .or_else(|_| QuorumSystem::majority([id]))
            .unwrap_or_else(|e| unreachable!("a one-node majority is valid: {e}"));
        HostConfig {
            id,
            peers,
            roles: Roles::ALL,
            proposers: all.clone(),
            quorum,
            learners: all,
            data_dir,
            new: false,
            cluster_id: 1,
            tick_ms: 5,
            thrifty: false,
        }
    }

    /// Checks what the host relies on (every node it names is a peer, ticks
    /// are at least 1 ms); the error names the first setting that is wrong
    /// and why. Whether the roles agree with the lists is the node's check
    /// (`paxos_actors::NodeConfig::validate`), made when it starts.
    pub fn validate(&self) -> Result<(), Error> {
        if self.peers.is_empty() {
            return Err(bad("peers", "no peers"));
        }
        if !self.peers.contains_key(&self.id) {
            return Err(bad("id", format!("node {} is not in --peers", self.id.0)));
        }
        let listed = self
            .proposers
            .iter()
            .chain(&self.learners)
            .copied()
            .chain(self.quorum.acceptors());
        for node in listed {
            if !self.peers.contains_key(&node) {
                return Err(bad("layout", format!("node {} is not in --peers", node.0)));
            }
        }
        if self.tick_ms == 0 {
            return Err(bad("tick-ms", "must be at least 1"));
        }
        Ok(())
    }

    /// The tick length.
    pub fn tick(&self) -> Duration {
        Duration::from_millis(self.tick_ms)
    }

    /// The protocol's configuration for this cluster, tuned for TCP and
    /// file storage.
    pub fn cluster(&self) -> multi::Config {
        let mut cluster = multi::Config::new(
            self.quorum.clone(),
            self.proposers.clone(),
            self.learners.clone(),
        );
        // Few batches in flight make each batch (and each fsync) cover more
        // commands: 0.040 syncs per command at 256 clients, against 0.050 with 8.
        cluster.batch_max = 1024;
        cluster.pipeline_max = 2;
        cluster.queue_max = 1 << 16;
        cluster.thrifty = self.thrifty;
        cluster
    }
}

fn parse_ids(setting: &'static str, s: &str) -> Result<Vec<NodeId>, Error> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            p.trim()
                .parse::<u64>()
                .map(NodeId)
                .map_err(|e| bad(setting, format!("node id {p:?}: {e}")))
        })
        .collect()
}

/// Parses `1=host:port,2=host:port`.
pub fn parse_peers(s: &str) -> Result<BTreeMap<NodeId, SocketAddr>, Error> {
    let mut peers = BTreeMap::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (id, addr) = part
            .split_once('=')
            .ok_or_else(|| bad("peers", format!("{part:?} is not ID=HOST:PORT")))?;
        let id: u64 = id
            .trim()
            .parse()
            .map_err(|e| bad("peers", format!("node id {id:?}: {e}")))?;
        let addr: SocketAddr = addr
            .trim()
            .parse()
            .map_err(|e| bad("peers", format!("address {addr:?}: {e}")))?;
        if peers.insert(NodeId(id), addr).is_some() {
            return Err(bad("peers", format!("node {id} listed twice")));
        }
    }
    if peers.is_empty() {
        return Err(bad("peers", "no peers"));
    }
    Ok(peers)
}

/// Parses `all` or a comma list of role names.
pub fn parse_roles(s: &str) -> Result<Roles, Error> {
    let mut r = Roles {
        proposer: false,
        acceptor: false,
        learner: false,
    };
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "all" => r = Roles::ALL,
            "proposer" => r.proposer = true,
            "acceptor" => r.acceptor = true,
            "learner" => r.learner = true,
            other => return Err(bad("roles", format!("unknown role {other:?}"))),
        }
    }
    if !(r.proposer || r.acceptor || r.learner) {
        return Err(bad("roles", "no roles"));
    }
    Ok(r)
}

/// The nodes hosting proposers, acceptors and learners.
pub type RoleLists = (Vec<NodeId>, Vec<NodeId>, Vec<NodeId>);

/// Parses `proposers=..;acceptors=..;learners=..`; missing parts mean every node.
pub fn parse_layout(s: Option<&str>, all: &[NodeId]) -> Result<RoleLists, Error> {
    let (mut p, mut a, mut l) = (all.to_vec(), all.to_vec(), all.to_vec());
    for part in s
        .unwrap_or("")
        .split(';')
        .map(str::trim)
        .filter(|x| !x.is_empty())
    {
        let (role, ids) = part
            .split_once('=')
            .ok_or_else(|| bad("layout", format!("{part:?} is not ROLE=IDS")))?;
        let ids = parse_ids("layout", ids)?;
        if let Some(unknown) = ids.iter().find(|id| !all.contains(id)) {
            return Err(bad(
                "layout",
                format!("node {} is not in --peers", unknown.0),
            ));
        }
        match role.trim() {
            "proposers" => p = ids,
            "acceptors" => a = ids,
            "learners" => l = ids,
            other => return Err(bad("layout", format!("unknown role list {other:?}"))),
        }
    }
    Ok((p, a, l))
}

/// Parses `majority` or `flexible:Q1,Q2` over `acceptors`.
pub fn parse_quorum(s: &str, acceptors: &[NodeId]) -> Result<QuorumSystem, Error> {
    let ids = acceptors.iter().copied();
    let q = match s.trim() {
        "majority" => QuorumSystem::majority(ids),
        other => {
            let sizes = other.strip_prefix("flexible:").ok_or_else(|| {
                bad(
                    "quorum",
                    format!("{other:?} is not majority or flexible:Q1,Q2"),
                )
            })?;
            let (q1, q2) = sizes
                .split_once(',')
                .ok_or_else(|| bad("quorum", "flexible needs Q1,Q2"))?;
            let q1 = q1
                .trim()
                .parse()
                .map_err(|e| bad("quorum", format!("Q1: {e}")))?;
            let q2 = q2
                .trim()
                .parse()
                .map_err(|e| bad("quorum", format!("Q2: {e}")))?;
            QuorumSystem::flexible(ids, q1, q2)
        }
    };
    q.map_err(|e| bad("quorum", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_parse_and_bad_ones_name_the_setting() {
        let peers = parse_peers("1=127.0.0.1:7001, 2=127.0.0.1:7002").unwrap();
        assert_eq!(peers.len(), 2);
        for (text, flag) in [
            ("1=nope", "peers"),
            ("x=127.0.0.1:1", "peers"),
            ("1=127.0.0.1:1,1=127.0.0.1:2", "peers"),
        ] {
            let e = parse_peers(text).unwrap_err();
            assert!(e.to_string().starts_with(&format!("--{flag}")), "{e}");
        }
        assert!(parse_roles("proposer,learner").unwrap().learner);
        assert!(parse_roles("voter").is_err());
        let ids: Vec<NodeId> = (1..=5).map(NodeId).collect();
        assert!(parse_quorum("flexible:4,2", &ids).is_ok());
        let e = parse_quorum("flexible:2,3", &ids).unwrap_err();
        assert!(e.to_string().contains("--quorum"), "{e}");
        let (p, a, l) =
            parse_layout(Some("proposers=1,2;acceptors=3,4,5;learners=1"), &ids).unwrap();
        assert_eq!((p.len(), a.len(), l.len()), (2, 3, 1));
        assert!(parse_layout(Some("acceptors=9"), &ids).is_err());
    }

    #[test]
    fn validation_names_what_is_wrong() {
        let peers = parse_peers("1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003").unwrap();
        let ok = HostConfig::new(NodeId(2), peers, "/tmp/px".into());
        assert!(ok.validate().is_ok());
        let refused = |change: fn(&mut HostConfig)| {
            let mut c = ok.clone();
            change(&mut c);
            c.validate().unwrap_err().to_string()
        };
        assert_eq!(
            refused(|c| c.id = NodeId(9)),
            "--id: node 9 is not in --peers"
        );
        assert_eq!(refused(|c| c.tick_ms = 0), "--tick-ms: must be at least 1");
        assert_eq!(
            refused(|c| c.learners.push(NodeId(7))),
            "--layout: node 7 is not in --peers"
        );
        assert_eq!(ok.cluster().thrifty, ok.thrifty);
    }
}
