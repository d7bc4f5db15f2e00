//! Command-line flags (or the same settings from a TOML file) and their
//! parsing into a node's configuration.

use clap::Parser;
use paxos_core::{NodeId, QuorumSystem};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the flags or the config file were refused.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// A flag's value could not be parsed.
    #[error("--{flag}: {reason}")]
    Bad {
        /// The flag.
        flag: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A number in a flag's value could not be parsed.
    #[error("--{flag}: {what} {text:?}: {source}")]
    Number {
        /// The flag.
        flag: &'static str,
        /// Which number ("node id", "Q1", ...).
        what: &'static str,
        /// The text given.
        text: String,
        /// The parse error.
        source: std::num::ParseIntError,
    },
    /// An address in a flag's value could not be parsed.
    #[error("--{flag}: address {text:?}: {source}")]
    Address {
        /// The flag.
        flag: &'static str,
        /// The text given.
        text: String,
        /// The parse error.
        source: std::net::AddrParseError,
    },
    /// The quorum sizes do not fit the acceptors (e.g. q1 + q2 <= n).
    #[error("--quorum: {0}")]
    Quorum(#[source] paxos_core::Error),
    /// The config file could not be read.
    #[error("config file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML of the expected keys.
    #[error("config file {path}: {source}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// The TOML error (it names the line and the key).
        source: toml::de::Error,
    },
}

fn bad(flag: &'static str, reason: impl Into<String>) -> ArgsError {
    ArgsError::Bad {
        flag,
        reason: reason.into(),
    }
}

/// A Paxos node: hosts any set of roles, talks to its peers over TCP,
/// keeps its durable state in a data directory, and serves clients a line
/// protocol (`SET k v`, `GET k`, `INCR k`, `DEL k`, `STATUS`, `STATS`).
#[derive(Parser, Debug, Clone)]
#[command(name = "paxos-node", version)]
pub struct Args {
    /// Read settings from this TOML file (keys as the long flags, with `_`);
    /// flags given on the command line win.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// This node's id (a positive integer listed in --peers).
    #[arg(long)]
    pub id: Option<u64>,
    /// Every node's consensus address, this one's included: `1=127.0.0.1:7001,2=...`.
    #[arg(long)]
    pub peers: Option<String>,
    /// Roles this node hosts: `all`, or a comma list of proposer, acceptor, learner.
    #[arg(long)]
    pub roles: Option<String>,
    /// Which nodes host each role (default: every node hosts all three):
    /// `proposers=1,2;acceptors=3,4,5;learners=6,7`.
    #[arg(long)]
    pub layout: Option<String>,
    /// Quorum system: `majority`, or `flexible:Q1,Q2` (needs Q1 + Q2 > acceptors).
    #[arg(long)]
    pub quorum: Option<String>,
    /// Directory for this node's durable state.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// This node has never been a member: create its data directory. Without
    /// it, a node refuses to start on a missing or empty data directory (an
    /// acceptor that lost its promises must never vote again).
    #[arg(long)]
    pub new: bool,
    /// Where clients connect (line protocol). Needs a learner on this node.
    #[arg(long)]
    pub client_listen: Option<SocketAddr>,
    /// Identifies the cluster in every TCP handshake.
    #[arg(long)]
    pub cluster_id: Option<u64>,
    /// Milliseconds per protocol tick.
    #[arg(long)]
    pub tick_ms: Option<u64>,
    /// Thrifty Phase 2: the leader sends each batch to one phase-2 quorum
    /// (its own acceptor first) rather than to every acceptor. Less disk and
    /// network work per command, and lower latency when nodes share a disk;
    /// a crashed acceptor in that quorum costs one retransmit delay.
    #[arg(long)]
    pub thrifty: bool,
}

/// Settings as read from a TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileArgs {
    id: Option<u64>,
    peers: Option<String>,
    roles: Option<String>,
    layout: Option<String>,
    quorum: Option<String>,
    data_dir: Option<PathBuf>,
    new: Option<bool>,
    client_listen: Option<SocketAddr>,
    cluster_id: Option<u64>,
    tick_ms: Option<u64>,
    thrifty: Option<bool>,
}

/// Which roles a node hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleSet {
    /// Proposer.
    pub proposer: bool,
    /// Acceptor.
    pub acceptor: bool,
    /// Learner (and replica).
    pub learner: bool,
}

/// A node's settings, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This node.
    pub id: NodeId,
    /// Every node's consensus address.
    pub peers: BTreeMap<NodeId, SocketAddr>,
    /// The roles this node hosts.
    pub roles: RoleSet,
    /// Nodes hosting proposers, acceptors, learners.
    pub proposers: Vec<NodeId>,
    /// Acceptors and their quorums.
    pub quorum: QuorumSystem,
    /// Nodes hosting learners.
    pub learners: Vec<NodeId>,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Create a fresh data directory.
    pub new: bool,
    /// Client port.
    pub client_listen: Option<SocketAddr>,
    /// Cluster id for handshakes.
    pub cluster_id: u64,
    /// Tick length in milliseconds.
    pub tick_ms: u64,
    /// Thrifty Phase 2 (see `multi::Config::thrifty`).
    pub thrifty: bool,
}

fn parse_ids(flag: &'static str, s: &str) -> Result<Vec<NodeId>, ArgsError> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            p.trim()
                .parse::<u64>()
                .map(NodeId)
                .map_err(|source| ArgsError::Number {
                    flag,
                    what: "node id",
                    text: p.to_string(),
                    source,
                })
        })
        .collect()
}

/// Parses `1=host:port,2=host:port`.
pub fn parse_peers(s: &str) -> Result<BTreeMap<NodeId, SocketAddr>, ArgsError> {
    let mut peers = BTreeMap::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (id, addr) = part
            .split_once('=')
            .ok_or_else(|| bad("peers", format!("{part:?} is not ID=HOST:PORT")))?;
        let id: u64 = id.trim().parse().map_err(|source| ArgsError::Number {
            flag: "peers",
            what: "node id",
            text: id.to_string(),
            source,
        })?;
        let addr: SocketAddr = addr.trim().parse().map_err(|source| ArgsError::Address {
            flag: "peers",
            text: addr.to_string(),
            source,
        })?;
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
pub fn parse_roles(s: &str) -> Result<RoleSet, ArgsError> {
    let mut r = RoleSet {
        proposer: false,
        acceptor: false,
        learner: false,
    };
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "all" => {
                r = RoleSet {
                    proposer: true,
                    acceptor: true,
                    learner: true,
                }
            }
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
pub fn parse_layout(s: Option<&str>, all: &[NodeId]) -> Result<RoleLists, ArgsError> {
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
pub fn parse_quorum(s: &str, acceptors: &[NodeId]) -> Result<QuorumSystem, ArgsError> {
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
            let q1 = q1.trim().parse().map_err(|source| ArgsError::Number {
                flag: "quorum",
                what: "Q1",
                text: q1.to_string(),
                source,
            })?;
            let q2 = q2.trim().parse().map_err(|source| ArgsError::Number {
                flag: "quorum",
                what: "Q2",
                text: q2.to_string(),
                source,
            })?;
            QuorumSystem::flexible(ids, q1, q2)
        }
    };
    q.map_err(ArgsError::Quorum)
}

impl Args {
    /// Merges the config file (if any) under the flags and checks everything.
    pub fn settings(self) -> Result<Settings, ArgsError> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ArgsError::ReadFile {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str::<FileArgs>(&text).map_err(|source| ArgsError::ParseFile {
                    path: path.clone(),
                    source,
                })?
            }
            None => FileArgs::default(),
        };
        let id = NodeId(self.id.or(file.id).ok_or_else(|| bad("id", "required"))?);
        let peers_text = self
            .peers
            .or(file.peers)
            .ok_or_else(|| bad("peers", "required"))?;
        let peers = parse_peers(&peers_text)?;
        if !peers.contains_key(&id) {
            return Err(bad("id", format!("node {} is not in --peers", id.0)));
        }
        let all: Vec<NodeId> = peers.keys().copied().collect();
        let layout = self.layout.or(file.layout);
        let (proposers, acceptors, learners) = parse_layout(layout.as_deref(), &all)?;
        let roles = match self.roles.or(file.roles) {
            Some(r) => parse_roles(&r)?,
            None => RoleSet {
                proposer: proposers.contains(&id),
                acceptor: acceptors.contains(&id),
                learner: learners.contains(&id),
            },
        };
        let quorum_text = self
            .quorum
            .or(file.quorum)
            .unwrap_or_else(|| "majority".into());
        let quorum = parse_quorum(&quorum_text, &acceptors)?;
        let data_dir = self
            .data_dir
            .or(file.data_dir)
            .ok_or_else(|| bad("data-dir", "required"))?;
        let tick_ms = self.tick_ms.or(file.tick_ms).unwrap_or(5);
        if tick_ms == 0 {
            return Err(bad("tick-ms", "must be at least 1"));
        }
        Ok(Settings {
            id,
            peers,
            roles,
            proposers,
            quorum,
            learners,
            data_dir,
            new: self.new || file.new.unwrap_or(false),
            client_listen: self.client_listen.or(file.client_listen),
            cluster_id: self.cluster_id.or(file.cluster_id).unwrap_or(1),
            tick_ms,
            thrifty: self.thrifty || file.thrifty.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_gives_settings_and_flags_override_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(
            &path,
            "id = 2\npeers = \"1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003\"\n\
             data_dir = \"/var/lib/px\"\nquorum = \"flexible:2,2\"\ntick_ms = 7\nthrifty = true\n",
        )
        .unwrap();
        let args = Args::parse_from([
            "paxos-node",
            "--config",
            path.to_str().unwrap(),
            "--tick-ms",
            "3",
        ]);
        let s = args.settings().unwrap();
        assert_eq!(s.id, NodeId(2));
        assert_eq!(s.peers.len(), 3);
        assert_eq!(s.quorum.phase2_size(), 2);
        assert_eq!(s.tick_ms, 3, "the flag wins over the file");
        assert!(s.thrifty);
        assert!(s.roles.acceptor && s.roles.proposer && s.roles.learner);
        std::fs::write(&path, "id = 1\nvoters = 3\n").unwrap();
        let bad = Args::parse_from(["paxos-node", "--config", path.to_str().unwrap()]).settings();
        assert!(
            matches!(bad, Err(ArgsError::ParseFile { .. })),
            "unknown keys are refused"
        );
    }

    #[test]
    fn flags_parse_and_bad_ones_name_the_flag() {
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
        for e in [e, parse_peers("x=127.0.0.1:1").unwrap_err()] {
            let source = std::error::Error::source(&e).map(ToString::to_string);
            assert!(
                source.is_some_and(|s| e.to_string().ends_with(&s)),
                "a parse error is kept as the source: {e:?}"
            );
        }
        let (p, a, l) =
            parse_layout(Some("proposers=1,2;acceptors=3,4,5;learners=1"), &ids).unwrap();
        assert_eq!((p.len(), a.len(), l.len()), (2, 3, 1));
        assert!(parse_layout(Some("acceptors=9"), &ids).is_err());
    }
}
