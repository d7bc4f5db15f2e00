//! A short Jepsen-style run: concurrent clients on every node doing GET /
//! SET / INCR / CAS on a few keys while a nemesis SIGKILLs and restarts, or
//! SIGSTOPs and resumes, nodes; the recorded history is then checked for
//! linearizability per key. `KV_JEPSEN_SECS` sets the length (default 4),
//! `KV_JEPSEN_SEED` the seed (printed).

use crate::harness::{Cluster, Reply, Resp};
use paxos_kv::linearizability::{check, Event, Op, Ret, Verdict};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEYS: [&str; 3] = ["x", "y", "z"];
const CLIENTS_PER_NODE: u64 = 2;
/// A reply slower than this is an unknown outcome.
const OP_TIMEOUT: Duration = Duration::from_secs(3);

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn to_ret(op: &Op, reply: &Reply) -> Option<Ret> {
    match (op, reply) {
        (Op::Get, Reply::Bulk(v)) => Some(Ret::Value(Some(v.clone()))),
        (Op::Get, Reply::Nil) => Some(Ret::Value(None)),
        (Op::Set(_), Reply::Simple(s)) if s == "OK" => Some(Ret::Ok),
        (Op::Incr | Op::Cas(..) | Op::Del, Reply::Int(n)) => Some(Ret::Int(*n)),
        (Op::Incr, Reply::Error(e)) if e.contains("not an integer") => Some(Ret::Failed),
        _ => None,
    }
}

pub async fn run() {
    let seed = env("KV_JEPSEN_SEED", rand::random::<u32>() as u64);
    let secs = env("KV_JEPSEN_SECS", 4);
    // Odd seeds run thrifty Phase 2 (each batch to one majority only).
    let thrifty = seed % 2 == 1;
    println!(
        "jepsen: seed {seed}, {secs}s, thrifty {thrifty} \
         (replay: KV_JEPSEN_SEED={seed} KV_JEPSEN_SECS={secs})"
    );
    let flags: &[&str] = if thrifty { &["--thrifty"] } else { &[] };
    let cluster = Arc::new(tokio::sync::Mutex::new(Cluster::start_with(3, flags).await));
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let history: Arc<Mutex<Vec<Event>>> = Arc::default();
    let addrs: Vec<_> = {
        let c = cluster.lock().await;
        (1..=3).map(|id| c.addr(id)).collect()
    };
    let mut clients = Vec::new();
    for (n, addr) in addrs.iter().enumerate() {
        for k in 0..CLIENTS_PER_NODE {
            let (addr, history) = (*addr, history.clone());
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ((n as u64) << 8 | k));
            clients.push(tokio::spawn(async move {
                let mut conn: Option<Resp> = None;
                while Instant::now() < end {
                    let key = KEYS[rng.random_range(0..KEYS.len())];
                    let v = rng.random_range(0..5u32).to_string();
                    let (op, args): (Op, Vec<String>) = match rng.random_range(0..4) {
                        0 => (Op::Get, vec!["GET".into(), key.into()]),
                        1 => (
                            Op::Set(v.clone().into_bytes()),
                            vec!["SET".into(), key.into(), v],
                        ),
                        2 => (Op::Incr, vec!["INCR".into(), key.into()]),
                        _ => {
                            let e = rng.random_range(0..5u32).to_string();
                            (
                                Op::Cas(e.clone().into_bytes(), v.clone().into_bytes()),
                                vec!["CAS".into(), key.into(), e, v],
                            )
                        }
                    };
                    if conn.is_none() {
                        match tokio::time::timeout(OP_TIMEOUT, Resp::connect(addr)).await {
                            Ok(Ok(c)) => conn = Some(c),
                            _ => {
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                continue;
                            }
                        }
                    }
                    let Some(c) = conn.as_mut() else { continue };
                    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
                    let call = start.elapsed().as_micros() as u64;
                    let reply = tokio::time::timeout(OP_TIMEOUT, c.call(&argv)).await;
                    let ret_at = start.elapsed().as_micros() as u64;
                    let ret = match &reply {
                        Ok(Ok(r)) => to_ret(&op, r).map(|x| (ret_at, x)),
                        _ => None,
                    };
                    if !matches!(reply, Ok(Ok(_))) {
                        conn = None; // timed out or broken: start afresh
                    }
                    // A read without an answer tells nothing: leave it out.
                    if ret.is_none() && op == Op::Get {
                        continue;
                    }
                    if let Ok(mut h) = history.lock() {
                        h.push(Event {
                            key: key.as_bytes().to_vec(),
                            op,
                            call,
                            ret,
                        });
                    }
                }
            }));
        }
    }
    // The nemesis.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut faults = Vec::new();
    while Instant::now() + Duration::from_millis(900) < end {
        tokio::time::sleep(Duration::from_millis(rng.random_range(300..700))).await;
        let id = rng.random_range(1..=3u64);
        let mut c = cluster.lock().await;
        if rng.random_bool(0.5) {
            faults.push(format!("kill n{id}"));
            c.kill(id).await;
            drop(c);
            tokio::time::sleep(Duration::from_millis(rng.random_range(100..400))).await;
            cluster.lock().await.boot(id).await;
        } else {
            faults.push(format!("pause n{id}"));
            c.signal(id, true);
            drop(c);
            tokio::time::sleep(Duration::from_millis(rng.random_range(100..400))).await;
            cluster.lock().await.signal(id, false);
        }
    }
    for c in clients {
        c.await.unwrap();
    }
    let events = history.lock().unwrap().clone();
    let ok = events.iter().filter(|e| e.ret.is_some()).count();
    println!(
        "jepsen: {} ops ({ok} with known outcome, {} unknown); faults: {}",
        events.len(),
        events.len() - ok,
        faults.join(", ")
    );
    assert!(ok > 50, "too few completed operations to judge: {ok}");
    let t = Instant::now();
    let verdict = check(&events);
    println!("jepsen: {verdict:?} (checked in {:?})", t.elapsed());
    assert_eq!(verdict, Verdict::Linearizable, "seed {seed}");
}
