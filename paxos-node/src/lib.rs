//! Hosting Paxos roles in a process: flags and config, TCP transport, file
//! storage, and a running node. The `paxos-node` binary serves a line
//! protocol on top; `paxos-kv` serves RESP with its own state machine.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod args;
pub mod stats;

use args::Settings;
use paxos_actors::{Node, NodeBuilder, NodeConfig, Roles};
use paxos_core::multi::{self, Message};
use paxos_core::StateMachine;
use stats::{Counted, Stats};
use std::sync::Arc;
use std::time::Duration;
use storage_file::{FileStorage, Identity, OpenMode};
use transport_tcp::{LateInbox, TcpConfig, TcpTransport};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Bad flags or config file.
    #[error("{0}")]
    Args(#[from] args::ArgsError),
    /// A data directory could not be opened (locked, corrupt, empty, ...).
    #[error("data directory {}: {source}{}", dir.display(), hint(source))]
    Storage {
        /// The directory.
        dir: std::path::PathBuf,
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
    settings: &Settings,
    role: &str,
    stats: &Arc<Stats>,
) -> Result<Counted<FileStorage>, NodeError> {
    let dir = settings.data_dir.join(role);
    let mode = if settings.new {
        OpenMode::CreateNew
    } else {
        OpenMode::Existing
    };
    let identity = Identity {
        cluster: settings.cluster_id,
        node: settings.id,
    };
    let storage =
        FileStorage::open(&dir, identity, mode, Default::default()).map_err(|source| {
            NodeError::Storage {
                dir: dir.clone(),
                source,
            }
        })?;
    Ok(Counted::new(storage, stats.clone()))
}

/// Opens the node's storage, starts its transport and its role actors on
/// the current actix system. `state_machine` is used if it hosts a learner.
pub async fn start<SM: StateMachine + Send + Unpin + 'static>(
    settings: &Settings,
    state_machine: SM,
) -> Result<Running<SM>, NodeError> {
    let stats = Arc::new(Stats::default());
    let mut cluster = multi::Config::new(
        settings.quorum.clone(),
        settings.proposers.clone(),
        settings.learners.clone(),
    );
    // Few batches in flight make each batch (and each fsync) cover more
    // commands: 0.040 syncs per command at 256 clients, against 0.050 with 8.
    cluster.batch_max = 1024;
    cluster.pipeline_max = 2;
    cluster.queue_max = 1 << 16;
    cluster.thrifty = settings.thrifty;
    let roles = Roles {
        proposer: settings.roles.proposer,
        acceptor: settings.roles.acceptor,
        learner: settings.roles.learner,
    };
    let mut config = NodeConfig::new(settings.id, roles, cluster);
    config.tick = Duration::from_millis(settings.tick_ms);
    config.seed = rand::random();

    // Storage first: a locked or corrupt directory stops us before we
    // touch the network.
    let acceptor = roles
        .acceptor
        .then(|| open(settings, "acceptor", &stats))
        .transpose()?;
    let proposer = roles
        .proposer
        .then(|| open(settings, "proposer", &stats))
        .transpose()?;
    let learner = roles
        .learner
        .then(|| open(settings, "learner", &stats))
        .transpose()?;

    let inbox = Arc::new(LateInbox::new());
    let listen = settings.peers[&settings.id];
    let tcp = TcpConfig::new(
        settings.cluster_id,
        settings.id,
        listen,
        settings.peers.clone(),
    );
    let transport: TcpTransport<Message> = TcpTransport::start(tcp, inbox.clone()).await?;

    let mut builder = NodeBuilder::new(config).transport(transport.clone());
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
/// (default `info`).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
}
