//! Goal: only nodes of the same cluster, protocol version and peer list
//! get through the handshake; a mismatch is refused, logged with what
//! mismatched, counted, and nothing it sends is delivered.
//! Method: a legit 2-node cluster plus an impostor transport (wrong
//! cluster id, or a node id the acceptor does not know) or a raw socket
//! sending a hand-made hello (wrong version, wrong magic). Refusals are
//! awaited through counters; then the legit peer sends a marker that must
//! be the first message the acceptor's inbox sees.

use crate::support::{
    bind, chan, cluster, config, raw, recv, stats_until, LogCapture, TestMsg, CLUSTER,
};
use paxos_core::{NodeId, Transport};
use std::collections::BTreeMap;
use transport_tcp::frame::{Hello, Verdict, PROTOCOL_VERSION};
use transport_tcp::{TcpConfig, TcpTransport};

/// Starts an impostor that dials `target` (as node `target_id`) and keeps
/// sending to it; returns it once it has been refused at least once.
async fn impostor(cfg: TcpConfig, target_id: NodeId) -> TcpTransport<TestMsg> {
    let (inbox, _rx) = chan::<TestMsg>();
    let t = TcpTransport::start(cfg, inbox).await.unwrap();
    for i in 0..4 {
        t.send(target_id, TestMsg::Ping(666 + i)).unwrap();
    }
    stats_until(&t, "the impostor's hello to be refused", |s| {
        s.dials_refused >= 1
    })
    .await;
    t
}

/// After the refusal: the legit peer's marker is the first delivery.
async fn only_legit_messages_arrive(nodes: &mut [crate::support::Node<TestMsg>]) {
    let (a, b) = (nodes[0].id, nodes[1].id);
    nodes[1].t.send(a, TestMsg::Ping(1)).unwrap();
    assert_eq!(recv(&mut nodes[0].rx).await, (b, TestMsg::Ping(1)));
    assert!(
        nodes[0].rx.try_recv().is_err(),
        "nothing else was delivered"
    );
    assert_eq!(nodes[0].t.stats().frames_in, 1);
}

#[tokio::test]
async fn a_hello_with_another_cluster_id_is_refused_and_logged() {
    let mut nodes = cluster::<TestMsg>(2, |_| {}).await;
    let logs = LogCapture::warnings();
    let a = nodes[0].id;
    let mut peers = BTreeMap::from([(a, nodes[0].t.local_addr())]);
    peers.insert(NodeId(2), "127.0.0.1:0".parse().unwrap());
    let mut cfg = config(NodeId(2), &peers);
    cfg.cluster = CLUSTER + 1;
    let bad = impostor(cfg, a).await;
    stats_until(&nodes[0].t, "a refusal at the acceptor", |s| {
        s.conns_refused >= 1
    })
    .await;
    let text = logs.text();
    assert!(
        text.contains("handshake refused: cluster id mismatch: got 43, expected 42"),
        "acceptor's warning missing from:\n{text}"
    );
    assert!(
        text.contains("handshake refused: peer says cluster id mismatch"),
        "dialer's warning missing from:\n{text}"
    );
    only_legit_messages_arrive(&mut nodes).await;
    bad.shutdown().await;
    for n in &nodes {
        n.t.shutdown().await;
    }
}

#[tokio::test]
async fn a_hello_from_an_unknown_node_id_is_refused() {
    let mut nodes = cluster::<TestMsg>(2, |_| {}).await;
    let a = nodes[0].id;
    let stranger = NodeId(9);
    let peers = BTreeMap::from([
        (a, nodes[0].t.local_addr()),
        (stranger, "127.0.0.1:0".parse().unwrap()),
    ]);
    let bad = impostor(config(stranger, &peers), a).await;
    stats_until(&nodes[0].t, "a refusal at the acceptor", |s| {
        s.conns_refused >= 1
    })
    .await;
    only_legit_messages_arrive(&mut nodes).await;
    bad.shutdown().await;
    for n in &nodes {
        n.t.shutdown().await;
    }
}

#[tokio::test]
async fn a_hello_with_another_protocol_version_is_refused() {
    let mut nodes = cluster::<TestMsg>(2, |_| {}).await;
    let mut s = raw::connect(nodes[0].t.local_addr()).await;
    let hello = Hello {
        version: PROTOCOL_VERSION + 1,
        ..Hello::new(CLUSTER, NodeId(2))
    };
    let reply = raw::hello(&mut s, hello).await;
    assert_eq!(reply.verdict, Verdict::BadVersion);
    assert_eq!(reply.hello, Hello::new(CLUSTER, nodes[0].id));
    raw::closed_by_peer(&mut s).await;
    assert_eq!(nodes[0].t.stats().conns_refused, 1);
    only_legit_messages_arrive(&mut nodes).await;
    for n in &nodes {
        n.t.shutdown().await;
    }
}

#[tokio::test]
async fn a_hello_with_wrong_magic_is_refused() {
    let mut nodes = cluster::<TestMsg>(2, |_| {}).await;
    let mut s = raw::connect(nodes[0].t.local_addr()).await;
    let hello = Hello {
        magic: *b"GET ",
        ..Hello::new(CLUSTER, NodeId(2))
    };
    assert_eq!(raw::hello(&mut s, hello).await.verdict, Verdict::BadMagic);
    raw::closed_by_peer(&mut s).await;
    only_legit_messages_arrive(&mut nodes).await;
    for n in &nodes {
        n.t.shutdown().await;
    }
}

#[tokio::test]
async fn a_dialer_refuses_a_reply_from_another_node_than_it_dialed() {
    let nodes = cluster::<TestMsg>(3, |_| {}).await;
    // A second "node 1" whose map sends node 2's traffic to node 3's
    // address: node 3 accepts node 1, but its reply names node 3.
    let (mut l, _) = bind(1).await;
    let me = NodeId(1);
    let peers = BTreeMap::from([
        (me, l[0].local_addr().unwrap()),
        (NodeId(2), nodes[2].t.local_addr()),
    ]);
    let (inbox, _rx) = chan::<TestMsg>();
    let d = TcpTransport::start_on(config(me, &peers), l.remove(0), inbox).unwrap();
    d.send(NodeId(2), TestMsg::Ping(5)).unwrap();
    stats_until(&d, "the misdirected dial to be refused", |s| {
        s.dials_refused >= 1
    })
    .await;
    assert_eq!(d.stats().frames_out, 0);
    assert_eq!(
        d.queued(NodeId(2)),
        Some(1),
        "the message waits for the right node"
    );
    d.shutdown().await;
    for n in &nodes {
        n.t.shutdown().await;
    }
}
