//! Goal: shutdown is clean — every task ends, every connection closes, the
//! port can be bound again, later sends fail with `Closed` — and dropping
//! every handle also stops the transport.
//! Method: a 3-node cluster exchanges messages; one node shuts down; its
//! task gauge must read 0 when `shutdown` returns, its port must bind, and
//! the other nodes must observe their connections to it end (counters).

use crate::support::{cluster, recv, stats_until, TestMsg};
use paxos_core::Transport;
use transport_tcp::Error;

#[tokio::test]
async fn shutdown_ends_every_task_closes_connections_and_frees_the_port() {
    let mut nodes = cluster::<TestMsg>(3, |_| {}).await;
    let ids: Vec<_> = nodes.iter().map(|n| n.id).collect();
    for n in &nodes {
        for &to in ids.iter().filter(|&&to| to != n.id) {
            n.t.send(to, TestMsg::Ping(n.id.0)).unwrap();
        }
    }
    for n in &mut nodes {
        recv(&mut n.rx).await;
        recv(&mut n.rx).await;
    }
    // 1 listener + 2 writers + 2 readers.
    assert_eq!(nodes[0].t.stats().tasks_live, 5);

    let addr = nodes[0].t.local_addr();
    nodes[0].t.shutdown().await;
    assert_eq!(nodes[0].t.stats().tasks_live, 0);
    assert!(matches!(
        nodes[0].t.send(ids[1], TestMsg::Ping(9)),
        Err(Error::Closed)
    ));
    let rebound = tokio::net::TcpListener::bind(addr).await;
    assert!(rebound.is_ok(), "port still taken: {rebound:?}");
    drop(rebound);

    for n in &nodes[1..] {
        // Our writer to the stopped node and its writer to us both ended.
        stats_until(&n.t, "connections to the stopped node to end", |s| {
            s.conns_lost >= 1 && s.conns_ended >= 1
        })
        .await;
    }
    for n in &nodes[1..] {
        n.t.shutdown().await;
        assert_eq!(n.t.stats().tasks_live, 0);
    }
}

#[tokio::test]
async fn dropping_every_handle_stops_the_transport() {
    let mut nodes = cluster::<TestMsg>(2, |_| {}).await;
    let (a, b) = (nodes[0].id, nodes[1].id);
    nodes[0].t.send(b, TestMsg::Ping(1)).unwrap();
    nodes[1].t.send(a, TestMsg::Ping(2)).unwrap();
    recv(&mut nodes[1].rx).await;
    recv(&mut nodes[0].rx).await;
    let dropped = nodes.remove(0);
    drop(dropped);
    stats_until(&nodes[0].t, "the dropped node's connections to end", |s| {
        s.conns_lost >= 1 && s.conns_ended >= 1
    })
    .await;
    nodes[0].t.shutdown().await;
}
