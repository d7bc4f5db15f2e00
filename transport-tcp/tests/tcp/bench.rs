//! Goal: measure loopback throughput of pipelined small messages on one
//! connection, and the round-trip time between two transports.
//! Method: ignored by default; run with
//! `cargo test --release -p transport-tcp --test tcp bench -- --ignored --nocapture --test-threads=1`.
//! Throughput: node 1 sends `Heartbeat`s to node 2 as fast as the queue
//! takes them (yielding on `QueueFull`); the clock stops when node 2's
//! inbox has counted them all. Latency: node 2 echoes every message back
//! (through a `LateInbox` set after its transport starts).

use crate::support::{bind, chan, config, within};
use paxos_core::multi::Message;
use paxos_core::{Ballot, Inbox, NodeId, Slot, Transport};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use transport_tcp::{Error, LateInbox, TcpTransport};

fn heartbeat(i: u64) -> Message {
    Message::Heartbeat {
        ballot: Ballot {
            round: 3,
            node: NodeId(1),
        },
        commit: Slot(i),
    }
}

struct Count {
    n: AtomicU64,
    target: u64,
    done: Notify,
}

impl Inbox<Message> for Count {
    fn deliver(&self, _: NodeId, _: Message) {
        if self.n.fetch_add(1, Ordering::Relaxed) + 1 == self.target {
            self.done.notify_one();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run with --ignored --nocapture"]
async fn bench_throughput_of_pipelined_small_messages() {
    const N: u64 = 2_000_000;
    let (mut l, peers) = bind(2).await;
    let count = Arc::new(Count {
        n: AtomicU64::new(0),
        target: N,
        done: Notify::new(),
    });
    let (inbox_a, _rx) = chan::<Message>();
    let mut ca = config(NodeId(1), &peers);
    ca.queue_max = 1 << 16;
    let a = TcpTransport::start_on(ca, l.remove(0), inbox_a).unwrap();
    let b = TcpTransport::start_on(config(NodeId(2), &peers), l.remove(0), count.clone()).unwrap();
    let bytes = transport_tcp::frame::encode_message(&heartbeat(N), 1 << 20)
        .unwrap()
        .len()
        + 4;
    let start = Instant::now();
    for i in 0..N {
        let mut m = heartbeat(i);
        loop {
            match a.send(NodeId(2), m) {
                Ok(()) => break,
                Err(Error::QueueFull(_)) => {
                    m = heartbeat(i);
                    tokio::task::yield_now().await;
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
    tokio::time::timeout(Duration::from_secs(120), count.done.notified())
        .await
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "throughput: {N} msgs of {bytes} B (frame incl. prefix) in {secs:.3} s = {:.0} msgs/s, {:.1} MB/s; sender saw QueueFull {} times",
        N as f64 / secs,
        (N as usize * bytes) as f64 / secs / 1e6,
        a.stats().dropped_queue_full,
    );
    a.shutdown().await;
    b.shutdown().await;
}

struct Echo(OnceLock<TcpTransport<Message>>);

impl Inbox<Message> for Echo {
    fn deliver(&self, from: NodeId, msg: Message) {
        if let Some(t) = self.0.get() {
            let _ = t.send(from, msg);
        }
    }
}

async fn round_trips(label: &str) {
    const WARMUP: usize = 2_000;
    const N: usize = 20_000;
    let (mut l, peers) = bind(2).await;
    let (inbox_a, mut rx) = chan::<Message>();
    let a = TcpTransport::start_on(config(NodeId(1), &peers), l.remove(0), inbox_a).unwrap();
    let echo = Arc::new(Echo(OnceLock::new()));
    let late = Arc::new(LateInbox::new());
    let b = TcpTransport::start_on(config(NodeId(2), &peers), l.remove(0), late.clone()).unwrap();
    let _ = echo.0.set(b.clone());
    late.set(echo).unwrap();
    let mut rtts = Vec::with_capacity(N);
    for i in 0..WARMUP + N {
        let t0 = Instant::now();
        a.send(NodeId(2), heartbeat(i as u64)).unwrap();
        within("an echo", rx.recv()).await.unwrap();
        if i >= WARMUP {
            rtts.push(t0.elapsed());
        }
    }
    rtts.sort();
    let q = |p: f64| rtts[((rtts.len() as f64 * p) as usize).min(rtts.len() - 1)];
    println!(
        "round trip ({label}): n={N} p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        q(0.50).as_secs_f64() * 1e6,
        q(0.90).as_secs_f64() * 1e6,
        q(0.99).as_secs_f64() * 1e6,
        rtts[rtts.len() - 1].as_secs_f64() * 1e6,
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "measurement; run with --ignored --nocapture"]
async fn bench_round_trip_one_thread() {
    round_trips("both nodes on one runtime thread").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run with --ignored --nocapture"]
async fn bench_round_trip_two_threads() {
    round_trips("2 worker threads").await;
}
