//! Hosting Paxos roles in a process: a node over TCP
//! ([`transport_tcp`]) with its durable state in files ([`storage_file`]).
//!
//! Describe the node with a [`HostConfig`] (its id, its peers, the roles
//! it and the others host, its data directory), [`start`] it on the
//! current actix system with your state machine, and [`Running::shutdown`]
//! it when done. [`stats`] counts storage syncs. This crate has no command
//! line: the `paxos-node` and `paxos-kv` programs turn their flags into a
//! [`HostConfig`] and serve their clients on top.
//!
//! ```no_run
//! # async fn run() -> Result<(), paxos_host::Error> {
//! use paxos_core::NodeId;
//! use paxos_host::{parse_peers, HostConfig};
//!
//! let peers = parse_peers("1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003")?;
//! let mut config = HostConfig::new(NodeId(1), peers, "/var/lib/paxos/1".into());
//! config.new = true; // the first start of a node that has never been a member
//! let running = paxos_host::start(&config, paxos_kvstore::Store::new()).await?;
//! let mut client = running.node.client(paxos_core::ClientId(7))?;
//! // ... client.propose(...) ...
//! paxos_host::shutdown_signal().await;
//! running.shutdown().await;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;
pub mod stats;

pub use config::{parse_layout, parse_peers, parse_quorum, parse_roles, HostConfig, RoleLists};

use paxos_actors::{Node, NodeBuilder, NodeConfig};
use paxos_core::multi::Message;
use paxos_core::StateMachine;
use stats::{Counted, Stats};
use std::sync::Arc;
use storage_file::{FileStorage, Identity, OpenMode};
use transport_tcp::{LateInbox, TcpConfig, TcpTransport};

/// Why a node could not be configured or started.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is missing or wrong; named as the programs' flag.
    #[error("--{setting}: {reason}")]
    Config {
        /// The setting.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A data directory could not be opened (locked, corrupt, empty, ...).
    #[error("data directory {dir}: {source}{}", hint(source))]
    Storage {
        /// The directory.
        dir: String,
        /// What went wrong.
        source: storage_file::Error,
    },
    /// The TCP transport could not start (e.g. the address is taken).
    #[error("transport: {0}")]
    Transport(#[from] transport_tcp::Error),
    /// The node refused its configuration.
    #[error("node: {0}")]
    Node(#[from] paxos_actors::Error),
}

fn hint(e: &storage_file::Error) -> &'static str {
    match e {
        storage_file::Error::Empty { .. } => {
            " (if this node has never been a member, start it once with --new)"
        }
        storage_file::Error::NotEmpty { .. } => " (drop --new: this node has state)",
        _ => "",
    }
}

/// A started node and the pieces to stop it.
pub struct Running<SM: StateMachine + Unpin + 'static> {
    /// The node.
    pub node: Arc<Node<SM>>,
    /// Its transport.
    pub transport: TcpTransport<Message>,
    /// Storage counters.
    pub stats: Arc<Stats>,
}

impl<SM: StateMachine + Send + Unpin + 'static> Running<SM> {
    /// Stops the node, then the transport.
    pub async fn shutdown(&self) {
        self.node.stop();
        self.transport.shutdown().await;
    }
}

fn open(
    config: &HostConfig,
    role: &str,
    stats: &Arc<Stats>,
) -> Result<Counted<FileStorage>, Error> {
    let dir = config.data_dir.join(role);
    let mode = if config.new {
        OpenMode::CreateNew
    } else {
        OpenMode::Existing
    };
    let identity = Identity {
        cluster: config.cluster_id,
        node: config.id,
    };
    let storage =
        FileStorage::open(&dir, identity, mode, Default::default()).map_err(|source| {
            Error::Storage {
                dir: dir.display().to_string(),
                source,
            }
        })?;
    Ok(Counted::new(storage, stats.clone()))
}

/// Checks `config`, opens the node's storage, starts its transport and its
/// role actors on the current actix system. `state_machine` is used if it
/// hosts a learner.
pub async fn start<SM: StateMachine + Send + Unpin + 'static>(
    config: &HostConfig,
    state_machine: SM,
) -> Result<Running<SM>, Error> {
    config.validate()?;
    let stats = Arc::new(Stats::default());
    let roles = config.roles;
    let mut node_config = NodeConfig::new(config.id, roles, config.cluster());
    node_config.tick = config.tick();
    node_config.seed = rand::random();

    // Storage first: a locked or corrupt directory stops us before we
    // touch the network.
    let acceptor = roles
        .acceptor
        .then(|| open(config, "acceptor", &stats))
        .transpose()?;
    let proposer = roles
        .proposer
        .then(|| open(config, "proposer", &stats))
        .transpose()?;
    let learner = roles
        .learner
        .then(|| open(config, "learner", &stats))
        .transpose()?;

    let inbox = Arc::new(LateInbox::new());
    let listen = config.peers[&config.id];
    let tcp = TcpConfig::new(config.cluster_id, config.id, listen, config.peers.clone());
    let transport: TcpTransport<Message> = TcpTransport::start(tcp, inbox.clone()).await?;

    let mut builder = NodeBuilder::new(node_config).transport(transport.clone());
    if let Some(s) = acceptor {
        builder = builder.acceptor_storage(s);
    }
    if let Some(s) = proposer {
        builder = builder.proposer_storage(s);
    }
    if let Some(s) = learner {
        builder = builder.learner_storage(s).state_machine(state_machine);
    }
    let node = Arc::new(builder.start()?);
    inbox.set(node.inbox())?;
    Ok(Running {
        node,
        transport,
        stats,
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Logs to stderr through `tracing-subscriber`, filtered by `RUST_LOG`
/// (default `info`). For programs: call once, first thing.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
}
