//! Runs `paxos-kv` processes on ephemeral loopback ports, and a small RESP
//! client that records what it sees.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// Bounds every wait; only a failing test reaches it.
pub const DEADLINE: Duration = Duration::from_secs(30);

fn free_ports(n: usize) -> Vec<u16> {
    let ls: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    ls.iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect()
}

pub struct Node {
    pub redis: SocketAddr,
    pub child: Option<Child>,
}

/// Three (or more) `paxos-kv` processes.
pub struct Cluster {
    dir: tempfile::TempDir,
    pub peers: String,
    pub nodes: BTreeMap<u64, Node>,
    /// Extra flags every node starts with.
    flags: Vec<String>,
}

impl Cluster {
    pub async fn start(n: u64) -> Cluster {
        Self::start_with(n, &[]).await
    }

    /// Starts `n` nodes, each with the extra `flags`.
    pub async fn start_with(n: u64, flags: &[&str]) -> Cluster {
        let ports = free_ports(2 * n as usize);
        let peers = (0..n as usize)
            .map(|i| format!("{}=127.0.0.1:{}", i + 1, ports[2 * i]))
            .collect::<Vec<_>>()
            .join(",");
        let mut c = Cluster {
            dir: tempfile::tempdir().expect("tempdir"),
            peers,
            nodes: BTreeMap::new(),
            flags: flags.iter().map(|f| f.to_string()).collect(),
        };
        for i in 0..n as usize {
            let redis: SocketAddr = format!("127.0.0.1:{}", ports[2 * i + 1])
                .parse()
                .expect("addr");
            c.nodes.insert(i as u64 + 1, Node { redis, child: None });
        }
        for id in 1..=n {
            c.boot(id).await;
        }
        c
    }

    /// Starts node `id` (again) and waits for its "ready" line.
    pub async fn boot(&mut self, id: u64) {
        let redis = self.nodes[&id].redis;
        let mut child = Command::new(env!("CARGO_BIN_EXE_paxos-kv"))
            .args(["--id", &id.to_string(), "--peers", &self.peers])
            .args(["--listen", &redis.to_string()])
            .arg("--data-dir")
            .arg(self.dir.path().join(format!("node-{id}")))
            .args(&self.flags)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "error".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn paxos-kv");
        let out = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(out).lines();
        let ready = tokio::time::timeout(DEADLINE, async {
            while let Ok(Some(l)) = lines.next_line().await {
                if l.starts_with("ready") {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(ready, Ok(true), "node {id} did not become ready");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        if let Some(n) = self.nodes.get_mut(&id) {
            n.child = Some(child);
        }
    }

    pub async fn kill(&mut self, id: u64) {
        if let Some(mut c) = self.nodes.get_mut(&id).and_then(|n| n.child.take()) {
            let _ = c.start_kill();
            let _ = c.wait().await;
        }
    }

    /// SIGSTOP (`stop`) or SIGCONT a running node.
    pub fn signal(&self, id: u64, stop: bool) {
        if let Some(pid) = self.nodes[&id].child.as_ref().and_then(Child::id) {
            let sig = if stop { "-STOP" } else { "-CONT" };
            let _ = std::process::Command::new("kill")
                .args([sig, &pid.to_string()])
                .status();
        }
    }

    pub fn port(&self, id: u64) -> u16 {
        self.nodes[&id].redis.port()
    }

    /// The node whose INFO says it leads.
    pub async fn leader(&self) -> Option<u64> {
        for (id, n) in &self.nodes {
            if n.child.is_none() {
                continue;
            }
            if let Ok(mut c) = Resp::connect(n.redis).await {
                if let Ok(Reply::Bulk(info)) = c.call(&["INFO"]).await {
                    if String::from_utf8_lossy(&info).contains("paxos_role:leader") {
                        return Some(*id);
                    }
                }
            }
        }
        None
    }
}

/// `redis-cli` from Debian's redis-tools (scripts/test.sh installs it).
pub fn redis_cli(port: u16, args: &[&str], stdin: Option<&[u8]>) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("redis-cli not found: install redis-tools (./scripts/test.sh does)");
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input).expect("write to redis-cli");
    }
    let out = child.wait_with_output().expect("redis-cli output");
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// A RESP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Reply>),
}

/// A minimal RESP client.
pub struct Resp {
    read: BufReader<tokio::net::tcp::OwnedReadHalf>,
    write: tokio::net::tcp::OwnedWriteHalf,
}

impl Resp {
    pub async fn connect(addr: SocketAddr) -> std::io::Result<Resp> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        let (r, w) = s.into_split();
        Ok(Resp {
            read: BufReader::new(r),
            write: w,
        })
    }

    pub async fn send(&mut self, args: &[&str]) -> std::io::Result<()> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        self.write.write_all(&out).await
    }

    pub async fn call(&mut self, args: &[&str]) -> std::io::Result<Reply> {
        self.send(args).await?;
        self.recv().await
    }

    pub async fn recv(&mut self) -> std::io::Result<Reply> {
        Box::pin(self.reply()).await
    }

    async fn line(&mut self) -> std::io::Result<String> {
        let mut l = String::new();
        if self.read.read_line(&mut l).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(l.trim_end_matches(['\r', '\n']).to_string())
    }

    async fn reply(&mut self) -> std::io::Result<Reply> {
        let l = self.line().await?;
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad reply");
        let (kind, rest) = l.split_at(1.min(l.len()));
        Ok(match kind {
            "+" => Reply::Simple(rest.into()),
            "-" => Reply::Error(rest.into()),
            ":" => Reply::Int(rest.parse().map_err(|_| bad())?),
            "$" => {
                let n: i64 = rest.parse().map_err(|_| bad())?;
                if n < 0 {
                    Reply::Nil
                } else {
                    let mut buf = vec![0u8; n as usize + 2];
                    self.read.read_exact(&mut buf).await?;
                    buf.truncate(n as usize);
                    Reply::Bulk(buf)
                }
            }
            "*" => {
                let n: usize = rest.parse().map_err(|_| bad())?;
                let mut items = Vec::new();
                for _ in 0..n {
                    items.push(Box::pin(self.reply()).await?);
                }
                Reply::Array(items)
            }
            _ => return Err(bad()),
        })
    }
}
