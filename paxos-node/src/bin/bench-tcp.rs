//! Benchmark: three `paxos-node` processes on loopback with file storage
//! (fsync on), 16-byte commands, 1, 16 and 256 concurrent clients over the
//! line protocol, each with Phase 2 to every acceptor and thrifty (to one
//! majority). Prints commands/s, p50 and p99 latency, and storage syncs per
//! committed command (how well group commit works).
//!
//! Build first: `cargo build --release -p paxos-node`, then
//! `./target/release/bench-tcp`.

use clap::Parser;
use paxos_testkit::process::{free_ports, spawn_ready};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

#[derive(Parser)]
#[command(about = "Three paxos-node processes on loopback with fsync: throughput and latency")]
struct Args {
    /// Seconds measured per row (after a warm-up of a fifth of that).
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Client counts.
    #[arg(long, value_delimiter = ',', default_value = "1,16,256")]
    clients: Vec<usize>,
    /// Where the data directories go (default: a temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Phase-2 modes to run: `all` (accepts to every acceptor), `thrifty`.
    #[arg(long, value_delimiter = ',', default_value = "all,thrifty")]
    modes: Vec<String>,
}

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Line {
    read: BufReader<tokio::net::tcp::OwnedReadHalf>,
    write: tokio::net::tcp::OwnedWriteHalf,
    buf: String,
}

impl Line {
    async fn connect(addr: SocketAddr) -> Res<Self> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        let (r, w) = s.into_split();
        Ok(Line {
            read: BufReader::new(r),
            write: w,
            buf: String::new(),
        })
    }

    async fn call(&mut self, line: &str) -> Res<String> {
        self.write.write_all(line.as_bytes()).await?;
        self.write.write_all(b"\n").await?;
        self.buf.clear();
        if self.read.read_line(&mut self.buf).await? == 0 {
            return Err("connection closed".into());
        }
        Ok(self.buf.trim_end().to_string())
    }
}

async fn start_cluster(dir: &std::path::Path, thrifty: bool) -> Res<(Vec<Child>, Vec<SocketAddr>)> {
    let exe = std::env::current_exe()?
        .parent()
        .ok_or("no exe dir")?
        .join("paxos-node");
    let ports = free_ports(6)?;
    let peers = (0..3)
        .map(|i| format!("{}=127.0.0.1:{}", i + 1, ports[2 * i]))
        .collect::<Vec<_>>()
        .join(",");
    let mut children = Vec::new();
    let mut clients = Vec::new();
    for i in 0..3 {
        let client: SocketAddr = format!("127.0.0.1:{}", ports[2 * i + 1]).parse()?;
        let mut command = Command::new(&exe);
        command
            .args(["--id", &(i + 1).to_string(), "--peers", &peers, "--new"])
            .arg("--data-dir")
            .arg(dir.join(format!("node-{}", i + 1)))
            .args(["--client-listen", &client.to_string()])
            .args(thrifty.then_some("--thrifty"))
            .env("RUST_LOG", "warn");
        let (child, _) = spawn_ready(&mut command)
            .await
            .map_err(|e| format!("{e} (build it: cargo build --release -p paxos-node)"))?;
        children.push(child);
        clients.push(client);
    }
    Ok((children, clients))
}

async fn stats(addrs: &[SocketAddr]) -> Res<(u64, u64)> {
    let (mut applied, mut syncs) = (0, 0);
    for (i, a) in addrs.iter().enumerate() {
        let reply = Line::connect(*a).await?.call("STATS").await?;
        for part in reply.trim_start_matches('+').split(' ') {
            match part.split_once('=') {
                Some(("applied", n)) if i == 0 => applied = n.parse()?,
                Some(("syncs", n)) => syncs += n.parse::<u64>()?,
                _ => {}
            }
        }
    }
    Ok((applied, syncs))
}

async fn leader(addrs: &[SocketAddr]) -> Res<usize> {
    for _ in 0..200 {
        for (i, a) in addrs.iter().enumerate() {
            let reply = Line::connect(*a).await?.call("STATUS").await?;
            if reply.contains("role=leader") {
                return Ok(i);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err("no leader".into())
}

struct Row {
    clients: usize,
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    syncs_per_cmd: f64,
}

async fn run(args: &Args, clients: usize, thrifty: bool, dir: &std::path::Path) -> Res<Row> {
    let (children, addrs) = start_cluster(dir, thrifty).await?;
    // The first command elects a leader; then every client talks to it.
    Line::connect(addrs[0]).await?.call("SET warm up").await?;
    let target = addrs[leader(&addrs).await?];
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (stop, measuring) = (stop.clone(), measuring.clone());
        tasks.push(tokio::spawn(async move {
            let mut line = Line::connect(target).await?;
            let mut lat = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                // SET kkk vvvvvvvv: 16 bytes on the line, 22 in the log.
                let cmd = format!("SET {:03} {:08}", c % 1000, n % 100_000_000);
                let t = Instant::now();
                let reply = line.call(&cmd).await?;
                if reply != "+OK" {
                    return Err(format!("unexpected reply {reply:?}").into());
                }
                if measuring.load(Ordering::Relaxed) {
                    lat.push(t.elapsed().as_nanos() as u64);
                }
            }
            Res::Ok(lat)
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(args.seconds / 5.0)).await;
    let (a0, s0) = stats(&addrs).await?;
    measuring.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = t0.elapsed();
    let (a1, s1) = stats(&addrs).await?;
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    drop(children);
    lat.sort_unstable();
    let pct = |p: f64| {
        let i = ((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1));
        Duration::from_nanos(lat.get(i).copied().unwrap_or(0))
    };
    Ok(Row {
        clients,
        per_sec: lat.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.5),
        p99: pct(0.99),
        syncs_per_cmd: (s1 - s0) as f64 / ((a1 - a0).max(1)) as f64,
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Res<()> {
    let args = Args::parse();
    let tmp = tempfile::tempdir()?;
    let base = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    println!(
        "bench-tcp: 3 paxos-node processes, file storage with fdatasync, {}s per row",
        args.seconds
    );
    println!("| clients | phase 2 | cmds/s | p50 | p99 | syncs/cmd (all nodes) |");
    println!("|---:|---|---:|---:|---:|---:|");
    let mut run_no = 0;
    for c in &args.clients {
        for mode in &args.modes {
            let thrifty = match mode.as_str() {
                "all" => false,
                "thrifty" => true,
                other => return Err(format!("--modes: unknown mode {other:?}").into()),
            };
            run_no += 1;
            let dir = base.join(format!("run-{run_no}"));
            let r = run(&args, *c, thrifty, &dir).await?;
            println!(
                "| {} | {mode} | {:.0} | {:.3} ms | {:.3} ms | {:.4} |",
                r.clients,
                r.per_sec,
                r.p50.as_secs_f64() * 1e3,
                r.p99.as_secs_f64() * 1e3,
                r.syncs_per_cmd
            );
        }
    }
    Ok(())
}
