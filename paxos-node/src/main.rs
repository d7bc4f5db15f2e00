//! `paxos-node`: one process hosting any set of Paxos roles, over TCP, with
//! its durable state in files, serving clients a line protocol. See
//! `paxos-node --help`.

mod serve;

use clap::Parser;
use paxos_kvstore::Store;
use paxos_node::args::{Args, Settings};
use paxos_node::NodeError;
use std::process::ExitCode;

#[derive(Debug, thiserror::Error)]
enum MainError {
    #[error("{0}")]
    Node(#[from] NodeError),
    #[error("client port {addr}: {source}")]
    ClientPort {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("--client-listen needs a learner on this node")]
    ClientWithoutLearner,
}

async fn run(settings: Settings) -> Result<(), MainError> {
    if settings.client_listen.is_some() && !settings.roles.learner {
        return Err(MainError::ClientWithoutLearner);
    }
    let running = paxos_node::start(&settings, Store::new()).await?;
    let listen = settings.peers[&settings.id];
    let mut client_addr = None;
    if let Some(addr) = settings.client_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| MainError::ClientPort { addr, source })?;
        client_addr = listener.local_addr().ok();
        let proposers = (!settings.roles.proposer).then(|| settings.proposers.clone());
        actix_rt::spawn(serve::serve(
            listener,
            running.node.clone(),
            running.stats.clone(),
            proposers,
        ));
    }
    tracing::info!(node = %settings.id, %listen, ?client_addr, roles = ?settings.roles, "started");
    println!(
        "ready node={} consensus={listen} client={}",
        settings.id.0,
        client_addr.map_or("-".into(), |a| a.to_string())
    );
    paxos_node::shutdown_signal().await;
    tracing::info!(node = %settings.id, "shutting down");
    running.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    paxos_node::init_logging();
    let settings = match Args::parse().settings() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("paxos-node: {e}");
            return ExitCode::from(2);
        }
    };
    let system = actix::System::new();
    match system.block_on(run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paxos-node: {e}");
            ExitCode::FAILURE
        }
    }
}
