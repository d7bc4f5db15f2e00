//! `paxos-node`: one process hosting any set of Paxos roles, over TCP, with
//! its durable state in files, serving clients a line protocol. See
//! `paxos-node --help`.

mod args;
mod serve;

use args::{Args, Settings};
use clap::Parser;
use paxos_kvstore::Store;
use std::process::ExitCode;

#[derive(Debug, thiserror::Error)]
enum MainError {
    #[error("{0}")]
    Node(#[from] paxos_host::Error),
    #[error("client port {addr}: {source}")]
    ClientPort {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("--client-listen needs a learner on this node")]
    ClientWithoutLearner,
}

async fn run(settings: Settings) -> Result<(), MainError> {
    let host = &settings.host;
    if settings.client_listen.is_some() && !host.roles.learner {
        return Err(MainError::ClientWithoutLearner);
    }
    let running = paxos_host::start(host, Store::new()).await?;
    let listen = host.peers[&host.id];
    let mut client_addr = None;
    if let Some(addr) = settings.client_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| MainError::ClientPort { addr, source })?;
        client_addr = listener.local_addr().ok();
        let proposers = (!host.roles.proposer).then(|| host.proposers.clone());
        actix_rt::spawn(serve::serve(
            listener,
            running.node.clone(),
            running.stats.clone(),
            proposers,
        ));
    }
    tracing::info!(node = %host.id, %listen, ?client_addr, roles = ?host.roles, "started");
    println!(
        "ready node={} consensus={listen} client={}",
        host.id.0,
        client_addr.map_or("-".into(), |a| a.to_string())
    );
    paxos_host::shutdown_signal().await;
    tracing::info!(node = %host.id, "shutting down");
    running.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    paxos_host::init_logging();
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
