//! `paxos-kv local`: three node processes on this machine, stopped together.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Starts the three nodes, prints where to connect, waits for Ctrl-C (or
/// for a node to exit), then stops them all.
pub fn run(dir: Option<PathBuf>, port: u16, peer_port: u16) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    let tmp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let base = dir.unwrap_or_else(|| tmp.path().to_path_buf());
    let peers = (0..3u16)
        .map(|i| format!("{}=127.0.0.1:{}", i + 1, peer_port + i))
        .collect::<Vec<_>>()
        .join(",");
    let mut children: Vec<Child> = Vec::new();
    let stop_all = |children: &mut Vec<Child>| {
        for c in children.iter_mut() {
            // SIGTERM-like stop: kill; the nodes' state is fsynced anyway.
            let _ = c.kill();
            let _ = c.wait();
        }
    };
    for i in 0..3u16 {
        let child = Command::new(&exe)
            .args(["--id", &(i + 1).to_string(), "--peers", &peers])
            .args(["--listen", &format!("127.0.0.1:{}", port + i)])
            .arg("--data-dir")
            .arg(base.join(format!("node-{}", i + 1)))
            // Three nodes on one machine share its disk: a third fdatasync
            // per batch would only slow the two that decide.
            .arg("--thrifty")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .spawn();
        match child {
            Ok(c) => children.push(c),
            Err(e) => {
                stop_all(&mut children);
                return Err(format!("starting node {}: {e}", i + 1));
            }
        }
    }
    println!(
        "three paxos-kv nodes (thrifty Phase 2), data in {}",
        base.display()
    );
    for i in 0..3u16 {
        println!(
            "  node {}: redis on 127.0.0.1:{}  (consensus 127.0.0.1:{})",
            i + 1,
            port + i,
            peer_port + i
        );
    }
    println!(
        "try:  redis-cli -p {port} SET hello world && redis-cli -p {} GET hello",
        port + 1
    );
    println!("Ctrl-C stops the cluster.");
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.spawn(async move {
        paxos_host::shutdown_signal().await;
        flag.store(true, Ordering::SeqCst);
    });
    let result = rt.block_on(async {
        loop {
            if interrupted.load(Ordering::SeqCst) {
                return Ok(());
            }
            for (i, c) in children.iter_mut().enumerate() {
                if let Ok(Some(status)) = c.try_wait() {
                    return Err(format!("node {} exited: {status}", i + 1));
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    stop_all(&mut children);
    println!("stopped");
    result
}
