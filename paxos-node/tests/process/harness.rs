//! Runs `paxos-node` processes on ephemeral loopback ports and talks to
//! them over the line protocol.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// Bounds every wait; only a failing test ever reaches it.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Reserves `n` free loopback ports (bound to port 0, then released).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

/// One node's settings and, while it runs, its process.
pub struct Proc {
    pub id: u64,
    pub consensus: SocketAddr,
    pub client: SocketAddr,
    pub data_dir: PathBuf,
    pub extra: Vec<String>,
    pub child: Option<Child>,
}

/// A cluster of node processes sharing one temporary directory.
pub struct Cluster {
    /// Held so the data directories live as long as the cluster.
    #[allow(dead_code)]
    pub dir: tempfile::TempDir,
    pub procs: BTreeMap<u64, Proc>,
    pub peers: String,
}

impl Cluster {
    /// Plans `n` nodes (not started); `extra` flags go to every node.
    pub fn new(n: u64, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ports = free_ports(2 * n as usize);
        let mut procs = BTreeMap::new();
        for i in 0..n {
            let id = i + 1;
            let consensus: SocketAddr = format!("127.0.0.1:{}", ports[2 * i as usize])
                .parse()
                .expect("addr");
            let client: SocketAddr = format!("127.0.0.1:{}", ports[2 * i as usize + 1])
                .parse()
                .expect("addr");
            procs.insert(
                id,
                Proc {
                    id,
                    consensus,
                    client,
                    data_dir: dir.path().join(format!("node-{id}")),
                    extra: extra.iter().map(|s| s.to_string()).collect(),
                    child: None,
                },
            );
        }
        let peers = procs
            .values()
            .map(|p| format!("{}={}", p.id, p.consensus))
            .collect::<Vec<_>>()
            .join(",");
        Cluster { dir, procs, peers }
    }

    /// The command line for node `id`.
    pub fn command(&self, id: u64, new: bool) -> Command {
        let p = &self.procs[&id];
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
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
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
        let mut child = self.command(id, new).spawn().expect("spawn paxos-node");
        let stdout = child.stdout.take().expect("stdout piped");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(DEADLINE, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.starts_with("ready") {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(ready, Ok(true), "node {id} did not print ready");
        // Keep draining stdout so the node never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        if let Some(p) = self.procs.get_mut(&id) {
            p.child = Some(child);
        }
    }

    /// Starts every node (fresh data directories).
    pub async fn start_all_new(&mut self) {
        let ids: Vec<u64> = self.procs.keys().copied().collect();
        for id in ids {
            self.start(id, true).await;
        }
    }

    /// SIGKILLs node `id` and waits for it to exit.
    pub async fn kill(&mut self, id: u64) {
        if let Some(mut child) = self.procs.get_mut(&id).and_then(|p| p.child.take()) {
            child.start_kill().expect("SIGKILL");
            let _ = child.wait().await;
        }
    }

    pub fn client_addr(&self, id: u64) -> SocketAddr {
        self.procs[&id].client
    }

    /// Connects to node `id`'s client port.
    pub async fn connect(&self, id: u64) -> LineClient {
        LineClient::connect(self.client_addr(id)).await
    }

    /// Asks every running node for STATUS and returns the leader's id.
    pub async fn leader(&self) -> Option<u64> {
        for (id, p) in &self.procs {
            if p.child.is_none() {
                continue;
            }
            let Ok(mut c) = LineClient::try_connect(p.client).await else {
                continue;
            };
            if let Ok(reply) = c.call("STATUS").await {
                if reply.contains("role=leader") {
                    return Some(*id);
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
