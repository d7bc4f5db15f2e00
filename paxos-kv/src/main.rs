//! `paxos-kv`: one node of a replicated key-value service that speaks the
//! Redis protocol. `paxos-kv local` starts a three-node cluster on this
//! machine. See `paxos-kv --help`.

use clap::{Parser, Subcommand};
use paxos_host::{parse_peers, HostConfig};
use paxos_kv::server;
use paxos_kv::store::Store;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A replicated key-value service over Multi-Paxos, speaking RESP2 (Redis).
///
/// Every node runs a proposer, an acceptor and a learner, talks to the
/// others over TCP (`--peers`), keeps its state in `--data-dir` (fsynced),
/// and serves Redis clients on `--listen`: PING, GET, SET, DEL, INCR,
/// CAS key expected new, INFO, CONFIG GET, COMMAND. Reads and writes go
/// through the log, so both are linearizable on any node.
#[derive(Parser, Debug)]
#[command(name = "paxos-kv", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Start a three-node cluster on this machine (separate processes, TCP,
    /// file storage) and stop it on Ctrl-C.
    Local {
        /// Where the nodes keep their data (default: a temporary directory,
        /// removed on exit).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// First Redis port; the nodes listen on it and the next two.
        #[arg(long, default_value_t = 6381)]
        port: u16,
        /// First consensus port (and the next two).
        #[arg(long, default_value_t = 7001)]
        peer_port: u16,
    },
}

#[derive(clap::Args, Debug)]
struct NodeArgs {
    /// This node's id, as listed in --peers.
    #[arg(long)]
    id: Option<u64>,
    /// Every node's consensus address, this one's included: `1=127.0.0.1:7001,2=...`.
    #[arg(long)]
    peers: Option<String>,
    /// Where Redis clients connect.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// This node's data directory. A missing or empty directory starts a new
    /// member; one holding another node's or cluster's data is refused.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Refuse to start unless the data directory already holds this node's
    /// state (use after the first start to guard against a wiped disk).
    #[arg(long)]
    existing: bool,
    /// Identifies the cluster in every handshake and data directory.
    #[arg(long, default_value_t = 1)]
    cluster_id: u64,
    /// Milliseconds per protocol tick (heartbeats every 2, elections after 10-20).
    #[arg(long, default_value_t = 5)]
    tick_ms: u64,
    /// Thrifty Phase 2: the leader sends each batch to one majority (its
    /// own acceptor first) rather than to every node. Less work per write
    /// and lower latency when the nodes share a disk (as `local` does); a
    /// crashed node in that majority costs one retransmit delay (six ticks).
    #[arg(long)]
    thrifty: bool,
}

fn is_empty_dir(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

fn settings(a: NodeArgs) -> Result<(HostConfig, SocketAddr), String> {
    let id = paxos_core::NodeId(a.id.ok_or("--id is required")?);
    let peers = parse_peers(&a.peers.ok_or("--peers is required")?).map_err(|e| e.to_string())?;
    if !peers.contains_key(&id) {
        return Err(format!("--id {} is not in --peers", id.0));
    }
    let listen = a.listen.ok_or("--listen is required")?;
    let data_dir = a.data_dir.ok_or("--data-dir is required")?;
    if a.tick_ms == 0 {
        return Err("--tick-ms must be at least 1".into());
    }
    // Every node hosts every role, with majority quorums: the defaults.
    let new = !a.existing && is_empty_dir(&data_dir);
    let mut config = HostConfig::new(id, peers, data_dir);
    config.new = new;
    config.cluster_id = a.cluster_id;
    config.tick_ms = a.tick_ms;
    config.thrifty = a.thrifty;
    config.validate().map_err(|e| e.to_string())?;
    Ok((config, listen))
}

async fn run_node(settings: HostConfig, listen: SocketAddr) -> Result<(), String> {
    // Bind the client port first: a taken port fails before any state changes.
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("--listen {listen}: {e}"))?;
    if settings.new {
        tracing::warn!(
            dir = %settings.data_dir.display(),
            "empty data directory: starting as a NEW member. Safe only on the cluster's first \
             boot; a node whose disk was wiped, replaced or restored must not rejoin under its \
             id (pass --existing after the first start to refuse this)"
        );
    }
    let running = paxos_host::start(&settings, Store::new())
        .await
        .map_err(|e| e.to_string())?;
    actix_rt::spawn(server::serve(listener, running.node.clone()));
    println!(
        "ready node={} redis={listen} consensus={}",
        settings.id.0, settings.peers[&settings.id]
    );
    paxos_host::shutdown_signal().await;
    running.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    paxos_host::init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Cmd::Local {
            dir,
            port,
            peer_port,
        }) => paxos_kv::local::run(dir, port, peer_port),
        None => match settings(cli.node) {
            Ok((s, listen)) => actix::System::new().block_on(run_node(s, listen)),
            Err(e) => {
                eprintln!("paxos-kv: {e}");
                return ExitCode::from(2);
            }
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paxos-kv: {e}");
            ExitCode::FAILURE
        }
    }
}
