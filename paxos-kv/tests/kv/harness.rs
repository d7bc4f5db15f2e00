//! Runs `paxos-kv` processes (through `paxos-testkit`'s process cluster),
//! and a small RESP client that records what it sees.

use paxos_testkit::process::{rust_log, ProcessCluster};
use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

pub use paxos_testkit::process::DEADLINE;

/// Three (or more) `paxos-kv` processes.
pub struct Cluster {
    inner: ProcessCluster,
    /// Extra flags every node starts with.
    flags: Vec<String>,
}

impl Deref for Cluster {
    type Target = ProcessCluster;
    fn deref(&self) -> &ProcessCluster {
        &self.inner
    }
}

impl DerefMut for Cluster {
    fn deref_mut(&mut self) -> &mut ProcessCluster {
        &mut self.inner
    }
}

impl Cluster {
    pub async fn start(n: u64) -> Cluster {
        Self::start_with(n, &[]).await
    }

    /// Starts `n` nodes, each with the extra `flags`.
    pub async fn start_with(n: u64, flags: &[&str]) -> Cluster {
        let mut c = Cluster {
            inner: ProcessCluster::new(n, &[]),
            flags: flags.iter().map(|f| f.to_string()).collect(),
        };
        for id in 1..=n {
            c.boot(id).await;
        }
        c
    }

    /// Starts node `id` (again) and waits for its "ready" line.
    pub async fn boot(&mut self, id: u64) {
        let p = self.proc(id);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_paxos-kv"));
        cmd.args(["--id", &id.to_string(), "--peers", &self.peers])
            .args(["--listen", &p.client.to_string()])
            .arg("--data-dir")
            .arg(&p.data_dir)
            .args(&self.flags)
            .env("RUST_LOG", rust_log("error"))
            .stderr(Stdio::inherit());
        self.inner.start(id, cmd).await;
    }

    /// Node `id`'s Redis address.
    pub fn addr(&self, id: u64) -> SocketAddr {
        self.proc(id).client
    }

    pub fn port(&self, id: u64) -> u16 {
        self.addr(id).port()
    }

    /// The node whose INFO says it leads.
    pub async fn leader(&self) -> Option<u64> {
        for id in self.running() {
            if let Ok(mut c) = Resp::connect(self.addr(id)).await {
                if let Ok(Reply::Bulk(info)) = c.call(&["INFO"]).await {
                    if String::from_utf8_lossy(&info).contains("paxos_role:leader") {
                        return Some(id);
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
