//! Command-line flags (or the same settings from a TOML file) and their
//! translation into the host's configuration.

use clap::Parser;
use paxos_core::NodeId;
use paxos_host::{parse_layout, parse_peers, parse_quorum, parse_roles, HostConfig};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the flags or the config file were refused.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// A flag's value is missing or wrong.
    #[error("{0}")]
    Bad(#[from] paxos_host::Error),
    /// The config file could not be read or parsed.
    #[error("config file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

fn bad(setting: &'static str, reason: impl Into<String>) -> ArgsError {
    ArgsError::Bad(paxos_host::Error::Config {
        setting,
        reason: reason.into(),
    })
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

/// A node's settings, checked: what the host needs, and the client port.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The node.
    pub host: HostConfig,
    /// Client port.
    pub client_listen: Option<SocketAddr>,
}

impl Args {
    /// Merges the config file (if any) under the flags and checks everything.
    pub fn settings(self) -> Result<Settings, ArgsError> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ArgsError::File {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                toml::from_str::<FileArgs>(&text).map_err(|e| ArgsError::File {
                    path: path.clone(),
                    reason: e.to_string(),
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
            None => paxos_actors::Roles {
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
        let host = HostConfig {
            id,
            peers,
            roles,
            proposers,
            quorum,
            learners,
            data_dir,
            new: self.new || file.new.unwrap_or(false),
            cluster_id: self.cluster_id.or(file.cluster_id).unwrap_or(1),
            tick_ms,
            thrifty: self.thrifty || file.thrifty.unwrap_or(false),
        };
        host.validate()?;
        Ok(Settings {
            host,
            client_listen: self.client_listen.or(file.client_listen),
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
        let s = args.settings().unwrap().host;
        assert_eq!(s.id, NodeId(2));
        assert_eq!(s.peers.len(), 3);
        assert_eq!(s.quorum.phase2_size(), 2);
        assert_eq!(s.tick_ms, 3, "the flag wins over the file");
        assert!(s.thrifty);
        assert!(s.roles.acceptor && s.roles.proposer && s.roles.learner);
        std::fs::write(&path, "id = 1\nvoters = 3\n").unwrap();
        let bad = Args::parse_from(["paxos-node", "--config", path.to_str().unwrap()]).settings();
        assert!(
            matches!(bad, Err(ArgsError::File { .. })),
            "unknown keys are refused"
        );
    }

    #[test]
    fn bad_flags_are_named_in_the_error() {
        let settings = |flags: &[&str]| {
            let mut argv = vec!["paxos-node", "--data-dir", "/tmp/px"];
            argv.extend_from_slice(flags);
            Args::parse_from(argv)
                .settings()
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let peers = "1=127.0.0.1:7001,2=127.0.0.1:7002";
        assert_eq!(settings(&["--peers", peers]), Err("--id: required".into()));
        assert_eq!(
            settings(&["--id", "3", "--peers", peers]),
            Err("--id: node 3 is not in --peers".into())
        );
        assert_eq!(
            settings(&["--id", "1", "--peers", peers, "--tick-ms", "0"]),
            Err("--tick-ms: must be at least 1".into())
        );
        assert_eq!(settings(&["--id", "1", "--peers", peers]), Ok(()));
    }
}
