//! Node processes on ephemeral loopback ports: plan a cluster, spawn a
//! program and wait for its `ready` line, SIGKILL, stop and resume, start
//! again over the same data directory.
//!
//! The kit knows no program's flags: a test's harness builds each node's
//! command line from a [`Proc`] and hands it to [`ProcessCluster::start`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Bounds every wait; only a failing test ever reaches it.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Reserves `n` distinct free loopback ports: each is bound to port 0 and
/// released (all held at once, so they differ). Another process may take
/// one before the caller binds it, a risk tests accept.
pub fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

/// Why a program did not come up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// It could not be spawned.
    #[error("spawning {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// It exited, or closed its output, before printing `ready`.
    #[error("{program} exited before it was ready")]
    Exited {
        /// The program.
        program: String,
    },
    /// It printed no `ready` line within [`DEADLINE`].
    #[error("{program} printed no ready line within {DEADLINE:?}")]
    NotReady {
        /// The program.
        program: String,
    },
}

/// The `RUST_LOG` to give a node: the caller's, or `quiet` if unset.
pub fn rust_log(quiet: &str) -> String {
    std::env::var("RUST_LOG").unwrap_or_else(|_| quiet.into())
}

/// Spawns `command` with its output piped, waits (up to [`DEADLINE`]) for
/// a line starting with `ready`, and returns the child and that line. The
/// rest of its output is drained in the background, so it never blocks on
/// a full pipe. The child is killed when dropped.
pub async fn spawn_ready(command: &mut Command) -> Result<(Child, String), Error> {
    let program = command
        .as_std()
        .get_program()
        .to_string_lossy()
        .into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| Error::Spawn {
            program: program.clone(),
            source,
        })?;
    let Some(stdout) = child.stdout.take() else {
        return Err(Error::Exited { program });
    };
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(DEADLINE, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with("ready") {
                return Some(line);
            }
        }
        None
    })
    .await;
    match ready {
        Ok(Some(line)) => {
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            Ok((child, line))
        }
        Ok(None) => Err(Error::Exited { program }),
        Err(_) => Err(Error::NotReady { program }),
    }
}

/// One planned node and, while it runs, its process.
pub struct Proc {
    /// Its id (1, 2, ...).
    pub id: u64,
    /// Its consensus (peer) address.
    pub consensus: SocketAddr,
    /// Its client address.
    pub client: SocketAddr,
    /// Its data directory (not created).
    pub data_dir: PathBuf,
    /// Extra flags for this node.
    pub extra: Vec<String>,
    /// The running process.
    pub child: Option<Child>,
}

/// Node processes sharing one temporary directory.
pub struct ProcessCluster {
    /// Holds the data directories as long as the cluster lives.
    pub dir: tempfile::TempDir,
    /// Every node, running or not.
    pub procs: BTreeMap<u64, Proc>,
    /// `1=127.0.0.1:PORT,2=...`: every node's consensus address.
    pub peers: String,
}

impl ProcessCluster {
    /// Plans `n` nodes (none started): two free ports each, a data
    /// directory each, `extra` flags for every node.
    ///
    /// # Panics
    /// If no temporary directory or ports can be had.
    pub fn new(n: u64, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
        let ports = free_ports(2 * n as usize).unwrap_or_else(|e| panic!("free ports: {e}"));
        let loopback = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
        let procs: BTreeMap<u64, Proc> = (1..=n)
            .zip(ports.chunks_exact(2))
            .map(|(id, pair)| {
                let proc = Proc {
                    id,
                    consensus: loopback(pair[0]),
                    client: loopback(pair[1]),
                    data_dir: dir.path().join(format!("node-{id}")),
                    extra: extra.iter().map(|s| s.to_string()).collect(),
                    child: None,
                };
                (id, proc)
            })
            .collect();
        let peers = procs
            .values()
            .map(|p| format!("{}={}", p.id, p.consensus))
            .collect::<Vec<_>>()
            .join(",");
        ProcessCluster { dir, procs, peers }
    }

    /// Node `id`.
    ///
    /// # Panics
    /// If there is no such node.
    pub fn proc(&self, id: u64) -> &Proc {
        self.procs
            .get(&id)
            .unwrap_or_else(|| panic!("no node {id}"))
    }

    /// The ids of the running nodes.
    pub fn running(&self) -> Vec<u64> {
        self.procs
            .values()
            .filter(|p| p.child.is_some())
            .map(|p| p.id)
            .collect()
    }

    /// Starts node `id` as `command` (built from [`ProcessCluster::proc`])
    /// and waits for its `ready` line.
    ///
    /// # Panics
    /// If it does not come up.
    pub async fn start(&mut self, id: u64, mut command: Command) {
        let (child, _) = spawn_ready(&mut command)
            .await
            .unwrap_or_else(|e| panic!("node {id}: {e}"));
        if let Some(p) = self.procs.get_mut(&id) {
            p.child = Some(child);
        }
    }

    /// SIGKILLs node `id` and waits for it to exit.
    pub async fn kill(&mut self, id: u64) {
        if let Some(mut child) = self.procs.get_mut(&id).and_then(|p| p.child.take()) {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// SIGSTOPs (`stop`) or SIGCONTs a running node.
    pub fn signal(&self, id: u64, stop: bool) {
        let pid = self
            .procs
            .get(&id)
            .and_then(|p| p.child.as_ref())
            .and_then(Child::id);
        if let Some(pid) = pid {
            let sig = if stop { "-STOP" } else { "-CONT" };
            let _ = std::process::Command::new("kill")
                .args([sig, &pid.to_string()])
                .status();
        }
    }
}
