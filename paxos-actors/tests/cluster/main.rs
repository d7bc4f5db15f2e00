//! Clusters of actix actors over the fault-injecting in-memory transport.
//!
//! Goal: show the actor layer keeps the core's guarantees in a live system:
//! commands commit under loss, duplication and reordering; a crashed leader
//! is replaced; a minority partition cannot commit; learners end with
//! identical logs; retried commands apply once; role-separated and flexible
//! layouts work. Method: `paxos-testkit`'s `MemCluster` of `paxos-kvstore`
//! replicas, clients that await results, learner logs read from each
//! learner's subscription. No test sleeps to synchronize: each waits for a
//! client result or a learner log to reach a length, under a deadline that
//! only bounds failure.
//!
//! Time is virtual: each test runs in `run_virtual` (tokio's paused clock)
//! with every actor on the test's arbiter, so its ticks, network delays,
//! timeouts and deadlines cost no wall time, and a seed (printed) replays
//! the same run exactly (`the_same_seed_gives_the_same_run` checks that);
//! `PAXOS_TEST_SEED=N` runs every test with seed N instead of its own.
//! Two tests stay on the wall clock, each saying why: one puts nodes on
//! arbiters of their own, one uses storage that blocks on its own thread;
//! both live outside the paused clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use paxos_actors::{Error, NodeBuilder, NodeConfig, Roles};
use paxos_core::multi::Message;
use paxos_core::{multi, NodeId, QuorumSystem};
use paxos_testkit::kv::{incr, int, ok, set};
use paxos_testkit::{run_virtual, Layout, MemCluster, Placement};
use std::collections::BTreeMap;
use std::time::Duration;

/// Starts `layout` with the test's `seed`, or `PAXOS_TEST_SEED` if set.
async fn start(layout: Layout, seed: u64) -> MemCluster {
    MemCluster::start(layout, paxos_testkit::seed(seed))
        .await
        .unwrap_or_else(|e| panic!("cluster: {e}"))
}

/// Several clients each increment their own counter `per_client` times;
/// every result must be the next integer (exactly once, in order).
async fn counters(cluster: &mut MemCluster, nodes: &[NodeId], per_client: u64) {
    let mut tasks = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let mut client = cluster.client(*node);
        let key = format!("counter-{i}");
        tasks.push(actix::spawn(async move {
            for n in 1..=per_client {
                let got = client.propose(incr(&key)).await;
                assert_eq!(got, Ok(int(n)), "{key} step {n}");
            }
            client.retries()
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }
}

async fn commit_under_faults(n: u64, seed: u64) {
    let mut cluster = start(Layout::colocated(n), seed).await;
    cluster.faults(0.2, 0.1, Duration::from_millis(3));
    let nodes: Vec<NodeId> = cluster.ids();
    counters(&mut cluster, &nodes, 15).await;
    cluster.no_faults();
    cluster
        .logs_agree(15 * n as usize)
        .await
        .expect("logs agree");
    let stats = cluster.net.stats();
    assert!(stats.dropped > 0 && stats.duplicated > 0, "{stats:?}");
    let first = cluster.state(nodes[0]).await;
    for id in &nodes[1..] {
        assert_eq!(cluster.state(*id).await, first, "replica {id}");
    }
}

/// What a run did, as far as a test can see: equal traces mean the runs
/// took the same course.
#[derive(Debug, PartialEq)]
struct Trace {
    elapsed: Duration,
    net: transport_mem::NetStats,
    log: Vec<(paxos_core::Slot, paxos_core::Value)>,
    retries: u64,
}

/// Three nodes under loss, duplication and delay; two clients on each
/// follower while the leader crashes and restarts.
async fn faulty_run(seed: u64) -> Trace {
    let started = tokio::time::Instant::now();
    let mut cluster = MemCluster::start(Layout::colocated(3), seed)
        .await
        .expect("cluster");
    cluster.faults(0.2, 0.1, Duration::from_millis(3));
    let mut warm = cluster.client(NodeId(1));
    assert_eq!(warm.propose(incr("warm")).await, Ok(int(1)));
    let (leader, _) = cluster.leader().await.expect("a leader after a commit");
    let followers = cluster.ids().into_iter().filter(|id| *id != leader);
    let mut clients = Vec::new();
    for (i, node) in followers.cycle().take(4).enumerate() {
        let mut client = cluster.client(node);
        clients.push(actix::spawn(async move {
            for n in 1..=5 {
                let got = client.propose(incr(&format!("c{i}"))).await;
                assert_eq!(got, Ok(int(n)));
            }
            client.retries()
        }));
    }
    cluster.crash(leader);
    cluster.boot(leader).await.expect("restart");
    let mut retries = warm.retries();
    for c in clients {
        retries += c.await.expect("client task");
    }
    cluster.no_faults();
    let len = cluster.logs_agree(21).await.expect("logs agree");
    let log = cluster.log(NodeId(1)).entries()[..len].to_vec();
    Trace {
        elapsed: started.elapsed(),
        net: cluster.net.stats(),
        log,
        retries,
    }
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let seed = paxos_testkit::seed(0x5eed);
    let first = run_virtual(faulty_run(seed));
    let again = run_virtual(faulty_run(seed));
    println!(
        "{:?} of virtual time, {:?}, {} entries, {} retries",
        first.elapsed,
        first.net,
        first.log.len(),
        first.retries
    );
    assert!(
        first.net.dropped > 0 && first.net.duplicated > 0,
        "{first:?}"
    );
    assert_eq!(first, again, "one seed, two different runs");
    let other = run_virtual(faulty_run(seed.wrapping_add(1)));
    assert_ne!(first.net, other.net, "the seed drives the faults");
}

#[test]
fn three_nodes_commit_under_loss_duplication_and_reordering() {
    run_virtual(async {
        commit_under_faults(3, 0x3001).await;
    });
}

#[test]
fn five_nodes_commit_under_loss_duplication_and_reordering() {
    run_virtual(async {
        commit_under_faults(5, 0x5001).await;
    });
}

#[test]
fn a_new_leader_commits_after_the_leader_crashes_and_the_old_one_catches_up() {
    run_virtual(async {
        let mut cluster = start(Layout::colocated(3), 0x1ead).await;
        let mut c = cluster.client(NodeId(1));
        assert_eq!(c.propose(set("k", "before")).await, Ok(ok()));
        let (old, _) = cluster.leader().await.expect("a leader after a commit");
        cluster.crash(old);
        let other = cluster.ids().into_iter().find(|id| *id != old).unwrap();
        let mut c = cluster.client(other);
        assert_eq!(c.propose(set("k", "after")).await, Ok(ok()));
        let (new, _) = cluster.leader().await.expect("a new leader");
        assert_ne!(new, old);
        cluster.boot(old).await.expect("restart");
        let len = cluster.logs_agree(2).await.expect("logs agree");
        cluster
            .log(old)
            .wait_len(len)
            .await
            .expect("old leader catches up");
        assert_eq!(cluster.read(old, b"k").await, Some(b"after".to_vec()));
    });
}

#[test]
fn a_minority_partition_cannot_commit_while_the_majority_goes_on() {
    run_virtual(async {
        let mut cluster = start(Layout::colocated(5), 0x9a27).await;
        let mut warm = cluster.client(NodeId(1));
        assert_eq!(warm.propose(incr("n")).await, Ok(int(1)));
        cluster
            .logs_agree(1)
            .await
            .expect("warm-up learned everywhere");
        let (minority, majority) = ([NodeId(1), NodeId(2)], [NodeId(3), NodeId(4), NodeId(5)]);
        cluster.net.partition(&[&minority, &majority]);
        let before: BTreeMap<NodeId, usize> = minority
            .iter()
            .map(|id| (*id, cluster.log(*id).len()))
            .collect();

        let mut stuck = cluster.client(NodeId(1));
        stuck.timeout = Duration::from_millis(50);
        stuck.attempts_max = 4;
        let err = stuck.propose(set("minority", "x")).await;
        assert!(
            matches!(err, Err(Error::Timeout { .. } | Error::NotLeader { .. })),
            "a minority must not commit: {err:?}"
        );
        let mut live = cluster.client(NodeId(4));
        for n in 2..=6 {
            assert_eq!(live.propose(incr("n")).await, Ok(int(n)));
        }
        for id in minority {
            assert_eq!(
                cluster.log(id).len(),
                before[&id],
                "minority learner {id} learned nothing"
            );
        }
        cluster.net.heal();
        let mut after = cluster.client(NodeId(2));
        assert_eq!(after.propose(incr("n")).await, Ok(int(7)));
        cluster
            .logs_agree(7)
            .await
            .expect("identical logs after healing");
        for id in cluster.ids() {
            assert_eq!(
                cluster.read(id, b"n").await,
                Some(b"7".to_vec()),
                "node {id}"
            );
        }
    });
}

#[test]
fn retried_commands_are_applied_exactly_once() {
    run_virtual(async {
        let mut cluster = start(Layout::colocated(3), 0x0dd).await;
        // Slow, lossy, duplicating links and an impatient client: many retries
        // of the same (client, seq) reach the leader, some after the original
        // was chosen.
        cluster.faults(0.3, 0.3, Duration::from_millis(8));
        let mut c = cluster.client(NodeId(2));
        c.timeout = Duration::from_millis(4);
        c.attempts_max = 5000;
        c.backoff = Duration::ZERO;
        for n in 1..=20u64 {
            assert_eq!(c.propose(incr("once")).await, Ok(int(n)));
        }
        assert!(c.retries() > 0, "the test must provoke retries");
        println!("retries: {}", c.retries());
        cluster.no_faults();
        cluster.logs_agree(20).await.expect("logs agree");
        for id in cluster.ids() {
            assert_eq!(
                cluster.read(id, b"once").await,
                Some(b"20".to_vec()),
                "node {id}"
            );
        }
    });
}

/// 2 proposers, 3 acceptors, 2 learners: seven nodes, each its own actor
/// set, placed as `placement` says.
async fn role_separated_layout_commits_and_survives_losing_an_acceptor(placement: Placement) {
    let roles: BTreeMap<NodeId, Roles> = [
        (1, Roles::PROPOSER),
        (2, Roles::PROPOSER),
        (3, Roles::ACCEPTOR),
        (4, Roles::ACCEPTOR),
        (5, Roles::ACCEPTOR),
        (6, Roles::LEARNER),
        (7, Roles::LEARNER),
    ]
    .into_iter()
    .map(|(id, r)| (NodeId(id), r))
    .collect();
    let mut layout = Layout::new(roles).unwrap();
    layout.placement = placement;
    let mut cluster = start(layout, 0x5e9).await;
    let mut a = cluster.client_via(NodeId(6), NodeId(1));
    let mut b = cluster.client_via(NodeId(7), NodeId(2));
    for n in 1..=5u64 {
        assert_eq!(a.propose(incr("x")).await, Ok(int(2 * n - 1)));
        assert_eq!(b.propose(incr("x")).await, Ok(int(2 * n)));
    }
    cluster.crash(NodeId(3));
    assert_eq!(a.propose(incr("x")).await, Ok(int(11)));
    // A client on a learner-only node reaches the proposers over the network.
    let mut remote = cluster.remote_client(NodeId(7), vec![NodeId(1), NodeId(2)]);
    assert_eq!(remote.propose(incr("x")).await, Ok(int(12)));
    cluster.logs_agree(12).await.expect("both learners agree");
}

#[test]
fn a_role_separated_layout_commits_and_survives_losing_an_acceptor() {
    run_virtual(role_separated_layout_commits_and_survives_losing_an_acceptor(Placement::Caller));
}

/// The same with each node on an arbiter (thread) of its own, so that
/// messages, forwards and client results cross threads. On the wall clock:
/// actors on other arbiters run on other runtimes, outside a paused clock.
#[actix_rt::test]
async fn a_role_separated_layout_on_an_arbiter_per_node_commits() {
    role_separated_layout_commits_and_survives_losing_an_acceptor(Placement::PerNode).await;
}

#[test]
fn flexible_quorums_commit_with_a_node_down() {
    run_virtual(async {
        // q1 = 4, q2 = 2 over five acceptors: Phase 2 needs only two votes.
        let layout = Layout::colocated(5)
            .with_quorum(QuorumSystem::flexible((1..=5).map(NodeId), 4, 2).unwrap());
        let mut cluster = start(layout, 0xf1e).await;
        let mut c = cluster.client(NodeId(5));
        assert_eq!(c.propose(incr("f")).await, Ok(int(1)));
        let (leader, _) = cluster.leader().await.expect("leader");
        let down = cluster.ids().into_iter().find(|id| *id != leader).unwrap();
        cluster.crash(down);
        let mut c = cluster.client(leader);
        for n in 2..=5u64 {
            assert_eq!(c.propose(incr("f")).await, Ok(int(n)));
        }
        cluster.logs_agree(5).await.expect("logs agree");
    });
}

#[test]
fn a_node_whose_acceptor_storage_fails_stops_and_the_rest_go_on() {
    run_virtual(async {
        let mut cluster = start(Layout::colocated(3), 0x5707).await;
        let mut c = cluster.client(NodeId(1));
        assert_eq!(c.propose(incr("s")).await, Ok(int(1)));
        let (acceptor, _, _) = cluster.storage(NodeId(3));
        acceptor.fail_on_write(1);
        let mut c3 = cluster.client(NodeId(3));
        c3.timeout = Duration::from_millis(50);
        c3.attempts_max = 3;
        for n in 2..=4u64 {
            assert_eq!(c.propose(incr("s")).await, Ok(int(n)));
        }
        assert_eq!(c3.propose(incr("s")).await, Err(Error::Stopped));
        assert!(matches!(
            cluster.node(NodeId(3)).status().await,
            Err(Error::Stopped)
        ));
    });
}

#[actix_rt::test]
async fn bad_configurations_and_missing_pieces_are_typed_errors() {
    let ids = [NodeId(1), NodeId(2), NodeId(3)];
    let mut cluster_cfg = multi::Config::new(
        QuorumSystem::majority(ids).unwrap(),
        ids.to_vec(),
        ids.to_vec(),
    );
    cluster_cfg.batch_max = 0;
    let start = |config: NodeConfig| {
        NodeBuilder::<paxos_kvstore::Store>::new(config)
            .transport(transport_mem::MemNetwork::new(1, 8).transport(NodeId(1)))
            .start()
            .err()
    };
    let bad = start(NodeConfig::new(NodeId(1), Roles::ALL, cluster_cfg.clone()));
    assert!(matches!(bad, Some(Error::Config(_))), "{bad:?}");
    cluster_cfg.batch_max = 64;
    // Node 1 hosts an acceptor but no storage was given.
    let missing = start(NodeConfig::new(NodeId(1), Roles::ALL, cluster_cfg.clone()));
    assert!(
        matches!(missing, Some(Error::MissingRole { .. })),
        "{missing:?}"
    );
    // Node 9 is not listed in the cluster.
    let stranger = start(NodeConfig::new(NodeId(9), Roles::ACCEPTOR, cluster_cfg));
    assert!(matches!(stranger, Some(Error::Config(_))), "{stranger:?}");
}

#[test]
fn a_restarted_node_replays_its_durable_learner_log_without_the_network() {
    run_virtual(async {
        let mut layout = Layout::colocated(3);
        layout.durable_learners = true;
        let mut cluster = start(layout, 0x1091).await;
        let mut c = cluster.client(NodeId(1));
        for n in 1..=5u64 {
            assert_eq!(c.propose(incr("d")).await, Ok(int(n)));
        }
        cluster.logs_agree(5).await.expect("logs agree");
        cluster.crash(NodeId(3));
        // Back up with every link cut: whatever it knows comes from its own disk.
        cluster
            .boot_isolated(NodeId(3), true)
            .await
            .expect("restart");
        assert_eq!(cluster.read(NodeId(3), b"d").await, Some(b"5".to_vec()));
        let status = cluster.node(NodeId(3)).status().await.expect("status");
        assert!(
            status.commit.0 >= 5,
            "the proposer resumes from the logged prefix: {status:?}"
        );
        cluster.net.heal();
        assert_eq!(c.propose(incr("d")).await, Ok(int(6)));
        cluster
            .logs_agree(6)
            .await
            .expect("logs agree after healing");
    });
}

#[test]
fn an_acceptor_whose_first_write_fails_never_sends_a_promise_or_accepted() {
    run_virtual(async {
        let mut cluster = start(Layout::colocated(3), 0xfa11).await;
        // Restart node 3 with a disk that fails from the first write on, and
        // record everything it sends.
        cluster.crash(NodeId(3));
        let (acceptor, _, _) = cluster.storage(NodeId(3));
        acceptor.fail_on_write(1);
        cluster.record_sent(NodeId(3));
        cluster.boot(NodeId(3)).await.expect("restart");
        let mut c = cluster.client(NodeId(1));
        for n in 1..=5u64 {
            assert_eq!(c.propose(incr("f")).await, Ok(int(n)));
        }
        assert!(
            cluster.node(NodeId(3)).is_stopped(),
            "a failed write stops the node"
        );
        let sent = cluster.sent(NodeId(3));
        let dependent = sent
            .iter()
            .filter(|m| matches!(m, Message::Promise { .. } | Message::Accepted { .. }))
            .count();
        assert_eq!(
            dependent, 0,
            "replies that depend on the failed write: {sent:?}"
        );
    });
}

/// In-memory storage that says it blocks, so the node runs it on a storage
/// thread as it would file storage, and reports how many records each
/// append carried.
struct Threaded {
    inner: paxos_core::MemStorage,
    appended: tokio::sync::mpsc::UnboundedSender<usize>,
}

impl paxos_core::Storage for Threaded {
    type Error = paxos_core::Error;
    fn load(&mut self) -> Result<paxos_core::DurableState, Self::Error> {
        self.inner.load()
    }
    fn append(&mut self, records: &[paxos_core::Record]) -> Result<(), Self::Error> {
        self.inner.append(records)?;
        let _ = self.appended.send(records.len());
        Ok(())
    }
    fn sync(&mut self) -> Result<(), Self::Error> {
        self.inner.sync()
    }
    fn blocks(&self) -> bool {
        true
    }
}

/// On the wall clock: storage that blocks runs on a thread of its own,
/// outside a paused clock, which would run ahead while the test waits on
/// that thread.
#[actix_rt::test]
async fn a_learner_on_blocking_storage_writes_every_decided_entry_behind() {
    // The learner hands its records over at ticks, not per decision: check
    // every one still reaches storage.
    let id = NodeId(1);
    let net = transport_mem::MemNetwork::<Message>::new(1, 1 << 10);
    let cluster = multi::Config::new(QuorumSystem::majority([id]).unwrap(), vec![id], vec![id]);
    let mut config = NodeConfig::new(id, Roles::ALL, cluster);
    config.tick = Duration::from_millis(1);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let node = NodeBuilder::new(config)
        .transport(net.transport(id))
        .acceptor_storage(paxos_core::MemStorage::default())
        .proposer_storage(paxos_core::MemStorage::default())
        .learner_storage(Threaded {
            inner: paxos_core::MemStorage::default(),
            appended: tx,
        })
        .state_machine(paxos_kvstore::Store::new())
        .start()
        .unwrap();
    net.register(id, node.inbox());
    let mut client = node.client(paxos_core::ClientId(1)).unwrap();
    for n in 1..=20u64 {
        let got = client.propose(incr("k")).await;
        assert_eq!(got, Ok(int(n)));
    }
    let mut written = 0;
    while written < 20 {
        let batch = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("decided entries reach storage within the deadline");
        written += batch.expect("storage thread alive");
    }
    assert_eq!(written, 20, "one record per decided entry, none twice");
    node.stop();
}

/// A client keeps one timer across attempts; used again under a new runtime
/// after the first one ended, it must make a new timer (polling the old one
/// would panic) and end with an error, not hang or panic.
#[test]
fn a_client_outliving_its_runtime_times_out_under_the_next_one() {
    let (mut client, cluster) = run_virtual(async {
        let mut cluster = start(Layout::colocated(1), 0x7173).await;
        let mut client = cluster.client(NodeId(1));
        assert_eq!(client.propose(incr("t")).await, Ok(int(1)));
        (client, cluster)
    });
    client.timeout = Duration::from_millis(20);
    client.attempts_max = 2;
    let got = run_virtual(async move { client.propose(incr("t")).await });
    assert!(
        matches!(got, Err(Error::Timeout { .. } | Error::Stopped)),
        "{got:?}"
    );
    drop(cluster);
}

/// Two live clients with one id on a node would have their commands taken
/// for retries of each other's: the second is refused with a typed error,
/// and the id is free again once the first is dropped.
#[test]
fn a_second_live_client_with_the_same_id_is_refused() {
    run_virtual(async {
        let cluster = start(Layout::colocated(1), 0x1d1d).await;
        let node = cluster.node(NodeId(1));
        let id = paxos_core::ClientId(77);
        let mut first = node.client(id).unwrap();
        assert_eq!(first.propose(incr("c")).await, Ok(int(1)));
        let second = node.client(id).err();
        assert_eq!(second, Some(Error::ClientIdInUse { client: id }));
        drop(first);
        let mut again = node.client(id).unwrap();
        // A new client numbers from 1 again: the cluster answers that as a
        // retry of the first client's command 1 (why ids are never reused).
        assert_eq!(again.propose(incr("c")).await, Ok(int(1)));
    });
}

/// A client reuses one timer; one left due early by an earlier command
/// must not end a later, longer attempt before its own timeout, and one
/// due late must not hold up a shorter one.
#[test]
fn a_timer_left_by_an_earlier_command_does_not_cut_a_later_attempt_short() {
    run_virtual(async {
        let mut cluster = start(Layout::colocated(3), 0x71e3).await;
        let mut warm = cluster.client(NodeId(1));
        assert_eq!(warm.propose(incr("k")).await, Ok(int(1)));
        let (leader, _) = cluster.leader().await.expect("a leader");
        let ids = cluster.ids();
        let follower = *ids.iter().find(|n| **n != leader).expect("a follower");
        let others: Vec<NodeId> = ids.into_iter().filter(|n| *n != follower).collect();
        let mut client = cluster.remote_client(follower, vec![leader]);
        client.timeout = Duration::from_millis(100);
        assert_eq!(client.propose(incr("k")).await, Ok(int(2)));
        // The follower cut off with its client: the forwards are lost, so
        // nothing can answer.
        cluster.net.partition(&[&[follower], &others]);
        let waited = one_timed_out_attempt(&mut client, Duration::from_millis(250)).await;
        assert!(waited >= client.timeout, "gave up after {waited:?}");

        // And one due later than a new, shorter attempt is brought forward.
        cluster.net.heal();
        client.timeout = Duration::from_secs(5);
        client.attempts_max = 100;
        assert_eq!(client.propose(incr("k")).await, Ok(int(3)));
        cluster.net.partition(&[&[follower], &others]);
        let waited = one_timed_out_attempt(&mut client, Duration::from_millis(100)).await;
        assert!(waited < Duration::from_secs(2), "gave up after {waited:?}");
    });
}

/// Proposes with one attempt of `timeout`, which must time out; returns
/// how long that took.
async fn one_timed_out_attempt(client: &mut paxos_actors::Client, timeout: Duration) -> Duration {
    client.timeout = timeout;
    client.attempts_max = 1;
    let start = tokio::time::Instant::now();
    let got = client.propose(incr("k")).await;
    assert_eq!(got, Err(Error::Timeout { attempts: 1 }));
    start.elapsed()
}
