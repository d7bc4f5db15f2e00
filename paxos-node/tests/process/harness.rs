//! Runs `paxos-node` processes (through `paxos-testkit`'s process cluster)
//! and talks to them over the line protocol.

use paxos_testkit::process::{rust_log, ProcessCluster, DEADLINE};
use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::process::Command;

/// A cluster of `paxos-node` processes sharing one temporary directory.
pub struct Cluster(ProcessCluster);

impl Deref for Cluster {
    type Target = ProcessCluster;
    fn deref(&self) -> &ProcessCluster {
        &self.0
    }
}

impl DerefMut for Cluster {
    fn deref_mut(&mut self) -> &mut ProcessCluster {
        &mut self.0
    }
}

impl Cluster {
    /// Plans `n` nodes (not started); `extra` flags go to every node.
    pub fn new(n: u64, extra: &[&str]) -> Self {
        Cluster(ProcessCluster::new(n, extra))
    }

    /// The command line for node `id`.
    pub fn command(&self, id: u64, new: bool) -> Command {
        let p = self.proc(id);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_paxos-node"));
        cmd.arg("--id")
            .arg(id.to_string())
            .arg("--peers")
            .arg(&self.peers)
            .arg("--data-dir")
            .arg(&p.data_dir);
        // `--no-client` is the harness's own marker: no client port.
        if !p.extra.iter().any(|e| e == "--no-client") {
            cmd.arg("--client-listen").arg(p.client.to_string());
        }
        cmd.args(p.extra.iter().filter(|e| *e != "--no-client"))
            .env("RUST_LOG", rust_log("warn"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if new {
            cmd.arg("--new");
        }
        cmd
    }

    /// Starts node `id` and waits for its "ready" line.
    pub async fn start(&mut self, id: u64, new: bool) {
        let cmd = self.command(id, new);
        self.0.start(id, cmd).await;
    }

    /// Starts every node (fresh data directories).
    pub async fn start_all_new(&mut self) {
        let ids: Vec<u64> = self.procs.keys().copied().collect();
        for id in ids {
            self.start(id, true).await;
        }
    }

    pub fn client_addr(&self, id: u64) -> SocketAddr {
        self.proc(id).client
    }

    /// Connects to node `id`'s client port.
    pub async fn connect(&self, id: u64) -> LineClient {
        LineClient::connect(self.client_addr(id)).await
    }

    /// Asks every running node for STATUS and returns the leader's id.
    pub async fn leader(&self) -> Option<u64> {
        for id in self.running() {
            let Ok(mut c) = LineClient::try_connect(self.client_addr(id)).await else {
                continue;
            };
            if let Ok(reply) = c.call("STATUS").await {
                if reply.contains("role=leader") {
                    return Some(id);
                }
            }
        }
        None
    }
}

/// A line-protocol connection.
pub struct LineClient {
    read: BufReader<OwnedReadHalf>,
    write: OwnedWriteHalf,
}

impl LineClient {
    pub async fn try_connect(addr: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        Ok(LineClient {
            read: BufReader::new(r),
            write: w,
        })
    }

    pub async fn connect(addr: SocketAddr) -> Self {
        Self::try_connect(addr)
            .await
            .expect("connect to client port")
    }

    pub async fn send(&mut self, line: &str) -> std::io::Result<()> {
        self.write.write_all(line.as_bytes()).await?;
        self.write.write_all(b"\n").await
    }

    pub async fn recv(&mut self) -> std::io::Result<String> {
        let mut line = String::new();
        let n = tokio::time::timeout(DEADLINE, self.read.read_line(&mut line))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no reply"))??;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(line.trim_end().to_string())
    }

    /// Sends one command and returns its reply line.
    pub async fn call(&mut self, line: &str) -> std::io::Result<String> {
        self.send(line).await?;
        self.recv().await
    }
}
