//! Benchmark: a 3-replica cluster in one process over `transport-mem` with
//! in-memory storage, SETs of 3-byte keys and 8-byte values, 1, 16 and 256 concurrent clients.
//! Prints committed commands/s, p50 and p99 latency, and actor messages per
//! committed command; the first row is a 1-node cluster measured in the
//! same run, as the baseline the replicated rows are compared against.
//!
//! Each row runs in a fresh child process: clusters measured one after
//! another in one process inherit the previous clusters' fragmented heap
//! and measured up to 30% slower than the same cluster run alone.

use clap::{Parser, ValueEnum};
use paxos_kvstore::{encode, Op};
use paxos_testkit::{Layout, MemCluster, Placement};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "In-process Paxos benchmark over transport-mem")]
struct Args {
    /// Seconds measured per row (after a warm-up of a fifth of that).
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Client counts to run.
    #[arg(long, value_delimiter = ',', default_value = "1,16,256")]
    clients: Vec<usize>,
    /// Where the nodes run: `caller` (with the clients, one thread),
    /// `shared` (one arbiter for all nodes, clients on another thread) or
    /// `per-node` (an arbiter each).
    #[arg(long, value_enum, default_value = "caller")]
    placement: Where,
    /// Most commands per Accept.
    #[arg(long, default_value_t = 256)]
    batch_max: usize,
    /// Most Accept batches in flight.
    #[arg(long, default_value_t = 4)]
    pipeline_max: usize,
    /// Thrifty Phase 2: each batch goes to one phase-2 quorum only.
    #[arg(long)]
    thrifty: bool,
    /// Internal: measure one row, `NODES,CLIENTS`, in this process and
    /// print it as one `ROW` line (what the parent spawns per row).
    #[arg(long, value_delimiter = ',', hide = true)]
    row: Option<Vec<usize>>,
}

/// `--placement`: the test kit's [`Placement`], named for the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Where {
    Caller,
    Shared,
    PerNode,
}

impl From<Where> for Placement {
    fn from(w: Where) -> Placement {
        match w {
            Where::Caller => Placement::Caller,
            Where::Shared => Placement::Shared,
            Where::PerNode => Placement::PerNode,
        }
    }
}

struct Row {
    label: String,
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    msgs_per_cmd: f64,
}

async fn run(args: &Args, nodes: u64, clients: usize) -> Result<Row, Box<dyn std::error::Error>> {
    let mut layout = Layout::colocated(nodes);
    layout.placement = args.placement.into();
    layout.record_logs = false;
    layout.client = None;
    layout.config.batch_max = args.batch_max;
    layout.config.pipeline_max = args.pipeline_max;
    layout.config.queue_max = 1 << 16;
    layout.config.thrifty = args.thrifty;
    let mut cluster = MemCluster::start(layout, 1).await?;
    // Elect a leader and put every client on it (no forwarding hop).
    let mut probe = cluster.try_client(paxos_core::NodeId(1))?;
    probe.timeout = Duration::from_secs(2);
    probe.propose(encode(&[Op::Get(b"k".to_vec())])).await?;
    let mut leader = None;
    for _ in 0..200 {
        leader = cluster.leader().await;
        if leader.is_some() {
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
    let (leader, _) = leader.ok_or("no leader")?;
    let stop = Arc::new(AtomicBool::new(false));

    let measuring = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..clients {
        let mut client = cluster.try_client(leader)?;
        client.timeout = Duration::from_secs(5);
        let (stop, measuring) = (stop.clone(), measuring.clone());
        // A SET of a 3-byte key and an 8-byte value: 22 bytes encoded, the
        // value last.
        let key = format!("{:03}", i % 1000).into_bytes();
        let template = encode(&[Op::Set(key, vec![0; 8])]);
        let value_at = template.len() - 8;
        tasks.push(actix::spawn(async move {
            let mut lat = Vec::with_capacity(1 << 16);
            let mut n = 0u64;
            // One clock read per command: a command's end is the next one's
            // start, so a latency also covers building the next command
            // (one 22-byte copy).
            let mut t = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let mut cmd = template.clone();
                cmd[value_at..].copy_from_slice(&n.to_le_bytes());
                if client.propose(cmd).await.is_err() {
                    return Err(());
                }
                let end = Instant::now();
                if measuring.load(Ordering::Relaxed) {
                    lat.push((end - t).as_nanos() as u64);
                }
                t = end;
            }
            Ok(lat)
        }));
    }
    let metrics = cluster.metrics();
    actix_rt::time::sleep(Duration::from_secs_f64(args.seconds / 5.0)).await;
    measuring.store(true, Ordering::Relaxed);
    let (m0, t0) = (metrics.actor_messages(), Instant::now());
    let replicas0 = cluster.replicas().await;
    actix_rt::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let (m1, elapsed) = (metrics.actor_messages(), t0.elapsed());
    let replicas1 = cluster.replicas().await;
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    for t in tasks {
        match t.await {
            Ok(Ok(l)) => lat.extend(l),
            _ => return Err("a client failed".into()),
        }
    }
    cluster.shutdown();
    lat.sort_unstable();
    let committed = lat.len() as f64;
    let pct = |p: f64| {
        Duration::from_nanos(
            lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0),
        )
    };
    // Commands applied at the leader's replica over the window, for the
    // message ratio (client-measured count can miss the window's edges).
    let applied = replicas1.get(&leader).map(|r| r.0).unwrap_or(0)
        - replicas0.get(&leader).map(|r| r.0).unwrap_or(0);
    Ok(Row {
        label: label(nodes, clients),
        per_sec: committed / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
        msgs_per_cmd: (m1 - m0) as f64 / (applied.max(1)) as f64,
    })
}

/// Runs one row in a child process (a clean heap) and reads its result.
fn spawn_row(args: &Args, nodes: u64, clients: usize) -> Result<Row, Box<dyn std::error::Error>> {
    let placement = args
        .placement
        .to_possible_value()
        .ok_or("placement has no name")?;
    let out = std::process::Command::new(std::env::current_exe()?)
        .args(["--seconds", &args.seconds.to_string()])
        .args(["--batch-max", &args.batch_max.to_string()])
        .args(["--pipeline-max", &args.pipeline_max.to_string()])
        .args(["--placement", placement.get_name()])
        .args(args.thrifty.then_some("--thrifty"))
        .args(["--row", &format!("{nodes},{clients}")])
        .stderr(std::process::Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "row {nodes} nodes, {clients} clients failed: {}",
            out.status
        )
        .into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<f64> = text
        .lines()
        .find_map(|l| l.strip_prefix("ROW "))
        .ok_or("child printed no ROW line")?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let [per_sec, p50, p99, msgs_per_cmd] = fields[..] else {
        return Err(format!("bad ROW line: {text}").into());
    };
    Ok(Row {
        label: label(nodes, clients),
        per_sec,
        p50: Duration::from_nanos(p50 as u64),
        p99: Duration::from_nanos(p99 as u64),
        msgs_per_cmd,
    })
}

fn label(nodes: u64, clients: usize) -> String {
    format!(
        "{nodes} node{}, {clients} client{}",
        if nodes > 1 { "s" } else { "" },
        if clients > 1 { "s" } else { "" }
    )
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if let Some(row) = &args.row {
        let [nodes, clients] = row[..] else {
            return Err("--row takes NODES,CLIENTS".into());
        };
        let r = run(&args, nodes as u64, clients).await?;
        println!(
            "ROW {} {} {} {}",
            r.per_sec,
            r.p50.as_nanos(),
            r.p99.as_nanos(),
            r.msgs_per_cmd
        );
        return Ok(());
    }
    println!(
        "bench-mem: {}s per row, batch_max {}, pipeline_max {}, nodes placed {:?}, one process per row",
        args.seconds, args.batch_max, args.pipeline_max, args.placement
    );
    let top = args.clients.iter().copied().max().unwrap_or(1);
    let base = spawn_row(&args, 1, top)?;
    println!("| cluster | cmds/s | vs 1-node | p50 | p99 | actor msgs/cmd |");
    println!("|---|---:|---:|---:|---:|---:|");
    let print = |r: &Row| {
        println!(
            "| {} | {:.0} | {:.2} | {:.1} µs | {:.1} µs | {:.3} |",
            r.label,
            r.per_sec,
            r.per_sec / base.per_sec,
            r.p50.as_secs_f64() * 1e6,
            r.p99.as_secs_f64() * 1e6,
            r.msgs_per_cmd
        )
    };
    print(&base);
    for c in &args.clients {
        let row = spawn_row(&args, 3, *c)?;
        print(&row);
    }
    Ok(())
}
