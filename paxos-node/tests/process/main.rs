//! Multi-process tests: `paxos-node` processes on ephemeral loopback ports
//! with file storage, driven over their line-protocol client ports.
//!
//! Goal: acknowledged commands survive SIGKILL of the leader and of every
//! node; a role-separated cluster (proposers, acceptors and learners in
//! separate processes) commits and survives losing an acceptor; hostile
//! bytes on a consensus port close only that connection. Method: spawn the
//! built binary, wait for its "ready" line, talk to it over TCP; each wait
//! is bounded by a deadline that only a failing test reaches.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

use harness::{Cluster, LineClient};
use std::collections::BTreeMap;
use tokio::io::AsyncWriteExt;

/// Increments `key` through node `via` until it answers, retrying on other
/// nodes when one fails; returns the new value.
async fn incr_anywhere(cluster: &Cluster, key: &str, first: u64) -> u64 {
    let ids = cluster.running();
    for attempt in 0..50 {
        let id = ids[(first as usize + attempt) % ids.len()];
        if let Ok(mut c) = LineClient::try_connect(cluster.client_addr(id)).await {
            if let Ok(reply) = c.call(&format!("INCR {key}")).await {
                if let Some(n) = reply.strip_prefix('+') {
                    return n.parse().expect("a number");
                }
            }
        }
    }
    panic!("INCR {key} failed on every node");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_all_role_nodes_commit_and_read_through_any_node() {
    let mut cluster = Cluster::new(3, &[]);
    cluster.start_all_new().await;
    let mut c1 = cluster.connect(1).await;
    let mut c2 = cluster.connect(2).await;
    let mut c3 = cluster.connect(3).await;
    assert_eq!(c1.call("PING").await.unwrap(), "+PONG");
    assert_eq!(c1.call("SET greeting hello world").await.unwrap(), "+OK");
    assert_eq!(c2.call("GET greeting").await.unwrap(), "+hello world");
    assert_eq!(c3.call("INCR n").await.unwrap(), "+1");
    assert_eq!(c1.call("INCR n").await.unwrap(), "+2");
    assert_eq!(c2.call("GET n").await.unwrap(), "+2");
    assert!(c3
        .call("BOGUS")
        .await
        .unwrap()
        .starts_with("-ERR unknown command"));
    assert!(c3
        .call("GET")
        .await
        .unwrap()
        .starts_with("-ERR wrong number"));
    // Pipelined: many commands written before any reply is read.
    for _ in 0..50 {
        c1.send("INCR p").await.unwrap();
    }
    for n in 1..=50 {
        assert_eq!(c1.recv().await.unwrap(), format!("+{n}"));
    }
    assert!(cluster.leader().await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_the_leader_under_load_loses_no_acknowledged_command() {
    let mut cluster = Cluster::new(3, &[]);
    cluster.start_all_new().await;
    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    for round in 0..20u64 {
        for w in 0..4u64 {
            let key = format!("w{w}");
            let n = incr_anywhere(&cluster, &key, round + w).await;
            acked.insert(key, n);
        }
        if round == 8 {
            let leader = cluster.leader().await.expect("a leader");
            cluster.kill(leader).await;
            // Keep writing while it is down, then bring it back.
            for w in 0..4u64 {
                let key = format!("w{w}");
                let n = incr_anywhere(&cluster, &key, w).await;
                acked.insert(key, n);
            }
            cluster.start(leader, false).await;
        }
    }
    for (key, n) in &acked {
        for id in 1..=3 {
            let mut c = cluster.connect(id).await;
            let reply = c.call(&format!("GET {key}")).await.unwrap();
            let got: u64 = reply.trim_start_matches('+').parse().unwrap();
            assert!(
                got >= *n,
                "node {id}: {key} = {got}, but {n} was acknowledged"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thrifty_cluster_keeps_committing_while_either_follower_is_down() {
    // The leader sends each batch to itself and one follower only; killing
    // that follower must cost a retransmit, not progress.
    let mut cluster = Cluster::new(3, &["--thrifty"]);
    cluster.start_all_new().await;
    let mut count = 0;
    for i in 0..3 {
        count += 1;
        assert_eq!(incr_anywhere(&cluster, "t", i).await, count);
    }
    let leader = cluster.leader().await.expect("a leader");
    for victim in (1..=3).filter(|id| *id != leader) {
        cluster.kill(victim).await;
        for i in 0..5 {
            count += 1;
            assert_eq!(
                incr_anywhere(&cluster, "t", i).await,
                count,
                "node {victim} down"
            );
        }
        cluster.start(victim, false).await;
    }
    for id in 1..=3 {
        let reply = cluster.connect(id).await.call("GET t").await.unwrap();
        assert_eq!(reply, format!("+{count}"), "node {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_every_node_keeps_the_state() {
    let mut cluster = Cluster::new(3, &[]);
    cluster.start_all_new().await;
    let mut c = cluster.connect(2).await;
    for i in 0..20 {
        assert_eq!(c.call(&format!("SET k{i} v{i}")).await.unwrap(), "+OK");
    }
    for id in 1..=3 {
        cluster.kill(id).await;
    }
    for id in 1..=3 {
        cluster.start(id, false).await;
    }
    for id in 1..=3 {
        let mut c = cluster.connect(id).await;
        for i in 0..20 {
            assert_eq!(
                c.call(&format!("GET k{i}")).await.unwrap(),
                format!("+v{i}"),
                "node {id}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refuses_an_empty_data_directory_unless_new() {
    let mut cluster = Cluster::new(3, &[]);
    let out = cluster.command(1, false).output().await.unwrap();
    assert!(!out.status.success());
    cluster.start(1, true).await;
    cluster.kill(1).await;
    // `--new` on a directory that holds state is refused too.
    let out = cluster.command(1, true).output().await.unwrap();
    assert!(!out.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_separated_cluster_commits_and_survives_losing_an_acceptor() {
    let layout = "--layout=proposers=1,2;acceptors=3,4,5;learners=6,7";
    let mut cluster = Cluster::new(7, &[layout]);
    // Acceptor-only and proposer-only nodes have no client port.
    for id in 1..=5 {
        if let Some(p) = cluster.procs.get_mut(&id) {
            p.extra.push("--no-client".into());
        }
    }
    cluster.start_all_new().await;
    let mut c6 = cluster.connect(6).await;
    let mut c7 = cluster.connect(7).await;
    assert_eq!(c6.call("INCR r").await.unwrap(), "+1");
    assert_eq!(c7.call("INCR r").await.unwrap(), "+2");
    cluster.kill(4).await;
    assert_eq!(c6.call("INCR r").await.unwrap(), "+3");
    assert_eq!(c7.call("GET r").await.unwrap(), "+3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bytes_on_a_consensus_port_close_only_that_connection() {
    let mut cluster = Cluster::new(3, &[]);
    cluster.start_all_new().await;
    let mut c = cluster.connect(1).await;
    assert_eq!(c.call("INCR h").await.unwrap(), "+1");
    let target = cluster.procs[&2].consensus;
    let payloads: Vec<Vec<u8>> = vec![
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect(),
        vec![0xff, 0xff, 0xff, 0xff, 1, 2, 3],
        vec![0, 0, 0, 10, 1, 2],
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
    ];
    for p in &payloads {
        let mut s = tokio::net::TcpStream::connect(target).await.unwrap();
        let _ = s.write_all(p).await;
        let _ = s.shutdown().await;
    }
    for n in 2..=10 {
        assert_eq!(c.call("INCR h").await.unwrap(), format!("+{n}"));
    }
    let mut c2 = cluster.connect(2).await;
    assert_eq!(c2.call("GET h").await.unwrap(), "+10");
}
