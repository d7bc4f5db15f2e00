//! An in-process Paxos cluster under injected faults, shown live.
//!
//! Five nodes (every role on each) run over the in-memory network with
//! message loss, duplication and reordering while clients increment
//! counters. The demo crashes the leader, restarts it, cuts a minority off,
//! heals, and ends by checking that every replica applied the same log.

use clap::Parser;
use paxos_core::multi::Status;
use paxos_core::NodeId;
use paxos_kvstore::{encode, Op};
use paxos_testkit::{Layout, MemCluster};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use transport_mem::{FaultPlan, LinkFaults};

#[derive(Parser)]
#[command(about = "Run a 5-node in-process Paxos cluster under faults and watch it")]
struct Args {
    /// Seed of the network's fault plan.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Milliseconds between status lines.
    #[arg(long, default_value_t = 500)]
    every_ms: u64,
}

fn faults(drop: f64) -> FaultPlan {
    FaultPlan::uniform(LinkFaults {
        drop,
        duplicate: drop / 2.0,
        delay_min: Duration::ZERO,
        delay_max: Duration::from_millis(2),
    })
}

struct Load {
    stop: Arc<AtomicBool>,
    committed: Arc<AtomicU64>,
}

impl Load {
    /// Starts `n` clients on `node`, each incrementing its own counter
    /// until stopped or until its node goes down.
    fn spawn(&self, cluster: &mut MemCluster, node: NodeId, n: usize) {
        for _ in 0..n {
            let Ok(mut client) = cluster.try_client(node) else {
                return;
            };
            client.timeout = Duration::from_millis(100);
            client.attempts_max = 20;
            let (stop, committed) = (self.stop.clone(), self.committed.clone());
            let key = format!("counter-{}", client.id().0).into_bytes();
            let incr = encode(&[Op::Incr(key)]);
            actix::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    match client.propose(incr.clone()).await {
                        Ok(_) => {
                            committed.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(paxos_actors::Error::Stopped) => return,
                        Err(_) => {}
                    }
                }
            });
        }
    }
}

async fn show(cluster: &MemCluster, started: Instant, committed: u64, last: &mut (Instant, u64)) {
    let views = cluster.views().await;
    let leader = views.iter().find_map(|v| match v.status {
        Some(Status::Leader { ballot }) => Some(format!("{} (ballot {ballot})", v.id)),
        _ => None,
    });
    let commits: Vec<String> = views
        .iter()
        .map(|v| {
            if v.up {
                format!("{}:{}", v.id, v.commit.0)
            } else {
                format!("{}:down", v.id)
            }
        })
        .collect();
    let now = Instant::now();
    let rate = (committed - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
    *last = (now, committed);
    println!(
        "{:>5.1}s  leader {:<18} commit [{}]  {committed} cmds ({rate:.0}/s)",
        started.elapsed().as_secs_f64(),
        leader.unwrap_or_else(|| "none".into()),
        commits.join(" "),
    );
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut layout = Layout::colocated(5);
    layout.tick = Duration::from_millis(2);
    layout.record_logs = false;
    layout.client = None;
    let mut cluster = MemCluster::start(layout, args.seed).await?;
    println!(
        "5 nodes, each a proposer + acceptor + learner actor over transport-mem (seed {}); {} clients",
        args.seed, args.clients
    );
    cluster.net.set_plan(faults(0.1));
    println!("-- faults on: 10% loss, 5% duplication, 0-2 ms delays (reordering)");
    let load = Load {
        stop: Arc::new(AtomicBool::new(false)),
        committed: Arc::new(AtomicU64::new(0)),
    };
    let ids = cluster.ids();
    for (i, id) in ids.iter().enumerate() {
        let n = args.clients / ids.len() + usize::from(i < args.clients % ids.len());
        load.spawn(&mut cluster, *id, n);
    }
    let started = Instant::now();
    let mut last = (started, 0);
    let every = Duration::from_millis(args.every_ms.max(50));
    let mut crashed = None;
    let mut step = 0;
    let script_len = 16;
    while step < script_len {
        actix_rt::time::sleep(every).await;
        step += 1;
        show(
            &cluster,
            started,
            load.committed.load(Ordering::Relaxed),
            &mut last,
        )
        .await;
        match step {
            3 => {
                if let Some((leader, ballot)) = cluster.leader().await {
                    println!("-- crash the leader {leader} (ballot {ballot})");
                    cluster.crash(leader);
                    crashed = Some(leader);
                }
            }
            6 => {
                if let Some(id) = crashed.take() {
                    println!("-- restart {id}; it catches up from the others");
                    cluster.boot(id).await?;
                    load.spawn(&mut cluster, id, 2);
                }
            }
            8 => {
                if let Some((leader, _)) = cluster.leader().await {
                    let buddy = ids
                        .iter()
                        .copied()
                        .find(|id| *id != leader)
                        .unwrap_or(leader);
                    let rest: Vec<NodeId> = ids
                        .iter()
                        .copied()
                        .filter(|id| *id != leader && *id != buddy)
                        .collect();
                    let names: Vec<String> = rest.iter().map(|id| id.to_string()).collect();
                    println!(
                        "-- partition {{{leader}, {buddy}}} from {{{}}}: the leader is in the minority",
                        names.join(", ")
                    );
                    cluster.net.partition(&[&[leader, buddy], &rest]);
                }
            }
            11 => {
                println!("-- heal the partition");
                cluster.net.heal();
            }
            13 => {
                println!("-- faults off");
                cluster.net.set_plan(FaultPlan::none());
            }
            _ => {}
        }
    }
    load.stop.store(true, Ordering::Relaxed);
    // Let the last commands finish and every replica apply the same count.
    let deadline = Instant::now() + Duration::from_secs(10);
    let replicas = loop {
        let r = cluster.replicas().await;
        let counts: Vec<u64> = r.values().map(|(n, _)| *n).collect();
        if counts.windows(2).all(|w| w[0] == w[1]) && r.len() == ids.len() {
            actix_rt::time::sleep(Duration::from_millis(50)).await;
            if cluster.replicas().await == r {
                break r;
            }
        }
        if Instant::now() > deadline {
            break r;
        }
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    };
    let stats = cluster.net.stats();
    println!(
        "network: {} delivered, {} dropped, {} duplicated",
        stats.delivered, stats.dropped, stats.duplicated
    );
    for (id, (n, digest)) in &replicas {
        println!("replica {id}: {n} commands applied, state digest {digest:016x}");
    }
    let first = replicas.values().next().copied();
    let agree = replicas.len() == ids.len() && replicas.values().all(|r| Some(*r) == first);
    cluster.shutdown();
    if agree {
        println!("OK: all {} replicas applied the same log", replicas.len());
        Ok(())
    } else {
        Err("replicas disagree".into())
    }
}
