//! Goal: a peer that is down is reached once it is up — whether it starts
//! late or restarts — and what was sent meanwhile is delivered within the
//! queue bound, the overflow refused with `QueueFull` and counted.
//! Method: a late peer's port is reserved with a bound but not listening
//! socket (dials are refused, as for a down process) and later turned into
//! its listener; a restarted peer is shut down and started again on the
//! same port. Tests wait for counters (`wait_stats`) and inbox messages.

use crate::support::{bind, chan, cluster, config, logs, raw, recv, stats_until, TestMsg, CLUSTER};
use bytes::BytesMut;
use paxos_core::{NodeId, Transport};
use std::collections::BTreeMap;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;
use transport_tcp::frame::{encode_message, put_frame};
use transport_tcp::{Error, TcpTransport};

#[tokio::test]
async fn a_peer_that_starts_later_gets_the_queued_messages_and_the_overflow_is_dropped() {
    logs();
    let (mut listeners, mut peers) = bind(1).await;
    let (a, b) = (NodeId(1), NodeId(2));
    let reserved = TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    peers.insert(b, reserved.local_addr().unwrap());

    let mut ca = config(a, &peers);
    ca.queue_max = 8;
    let (inbox_a, _rx_a) = chan::<TestMsg>();
    let ta = TcpTransport::start_on(ca, listeners.remove(0), inbox_a).unwrap();
    stats_until(&ta, "a refused dial to the absent peer", |s| {
        s.dials_failed >= 1
    })
    .await;

    let results: Vec<_> = (0..20).map(|i| ta.send(b, TestMsg::Ping(i))).collect();
    for (i, r) in results.iter().enumerate() {
        if i < 8 {
            assert!(r.is_ok(), "message {i} fits the queue: {r:?}");
        } else {
            assert!(
                matches!(r, Err(Error::QueueFull(p)) if *p == b),
                "message {i}: {r:?}"
            );
        }
    }
    assert_eq!(ta.queued(b), Some(8));
    assert_eq!(ta.stats().dropped_queue_full, 12);

    let (inbox_b, mut rx_b) = chan::<TestMsg>();
    let tb =
        TcpTransport::start_on(config(b, &peers), reserved.listen(64).unwrap(), inbox_b).unwrap();
    for i in 0..8 {
        assert_eq!(recv(&mut rx_b).await, (a, TestMsg::Ping(i)));
    }
    ta.send(b, TestMsg::Ping(100)).unwrap();
    assert_eq!(recv(&mut rx_b).await, (a, TestMsg::Ping(100)));
    assert_eq!(ta.queued(b), Some(0));
    assert!(ta.stats().dials_ok >= 1);
    ta.shutdown().await;
    tb.shutdown().await;
}

#[tokio::test]
async fn a_restarted_peer_is_reconnected_to_both_ways() {
    let mut nodes = cluster::<TestMsg>(2, |_| {}).await;
    let (a, b) = (nodes[0].id, nodes[1].id);
    nodes[0].t.send(b, TestMsg::Ping(1)).unwrap();
    assert_eq!(recv(&mut nodes[1].rx).await, (a, TestMsg::Ping(1)));

    let b_addr = nodes[1].t.local_addr();
    nodes[1].t.shutdown().await;
    stats_until(&nodes[0].t, "a's writer to see b gone", |s| {
        s.conns_lost >= 1
    })
    .await;

    // Same port as before (it was first obtained from an ephemeral bind).
    let peers = BTreeMap::from([(a, nodes[0].t.local_addr()), (b, b_addr)]);
    let (inbox, mut rx_b2) = chan::<TestMsg>();
    let b2 = TcpTransport::start(config(b, &peers), inbox).await.unwrap();
    assert_eq!(b2.local_addr(), b_addr);

    nodes[0].t.send(b, TestMsg::Ping(2)).unwrap();
    assert_eq!(recv(&mut rx_b2).await, (a, TestMsg::Ping(2)));
    b2.send(a, TestMsg::Ping(3)).unwrap();
    assert_eq!(recv(&mut nodes[0].rx).await, (b, TestMsg::Ping(3)));
    assert!(nodes[0].t.stats().dials_ok >= 2);
    nodes[0].t.shutdown().await;
    b2.shutdown().await;
}

#[tokio::test]
async fn a_newer_connection_from_a_node_replaces_its_older_one() {
    // Node 2 never redials within the test, so only raw clients replace.
    let mut nodes = cluster::<TestMsg>(2, |c| {
        c.reconnect_min = std::time::Duration::from_secs(3600);
        c.reconnect_max = c.reconnect_min;
    })
    .await;
    let (a, b) = (nodes[0].id, nodes[1].id);
    nodes[1].t.send(a, TestMsg::Ping(1)).unwrap();
    assert_eq!(recv(&mut nodes[0].rx).await, (b, TestMsg::Ping(1)));

    let ping = |i| {
        let mut buf = BytesMut::new();
        put_frame(
            &mut buf,
            &encode_message(&TestMsg::Ping(i), 1 << 10).unwrap(),
        );
        buf
    };
    let mut first = raw::accepted(nodes[0].t.local_addr(), CLUSTER, b).await;
    first.write_all(&ping(5)).await.unwrap();
    assert_eq!(recv(&mut nodes[0].rx).await, (b, TestMsg::Ping(5)));
    stats_until(&nodes[1].t, "node 2's own connection to be closed", |s| {
        s.conns_lost >= 1
    })
    .await;

    let mut second = raw::accepted(nodes[0].t.local_addr(), CLUSTER, b).await;
    raw::closed_by_peer(&mut first).await;
    second.write_all(&ping(6)).await.unwrap();
    assert_eq!(recv(&mut nodes[0].rx).await, (b, TestMsg::Ping(6)));
    assert_eq!(nodes[0].t.stats().conns_replaced, 2);
    for n in &nodes {
        n.t.shutdown().await;
    }
}
