//! Goal: bad input on one connection — garbage before the handshake, a
//! truncated frame, an oversized length prefix, an undecodable payload —
//! closes that connection with a logged error, and the node goes on
//! serving its other connections.
//! Method: a 2-node cluster whose node 1 accepts frames up to 1 KiB and
//! also knows a node 3 that never runs; a raw `TcpStream` attacks node 1
//! (after a genuine handshake as node 3 where the rule is about frames —
//! posing as node 2 would replace node 2's own connection). The test waits
//! for the counter, sees the raw socket closed by the node, then node 2
//! delivers a message to node 1.

use crate::support::{cluster, raw, recv, stats_until, Node, TestMsg, CLUSTER};
use bytes::{BufMut, BytesMut};
use paxos_core::{NodeId, Transport};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;
use transport_tcp::frame::{encode_message, put_frame, REPLY_LEN};

const FRAME_LEN_MAX: usize = 1024;

/// Posing as this node, the raw client gets past the handshake.
const RAW: NodeId = NodeId(3);

async fn two_nodes() -> (Vec<Node<TestMsg>>, TcpSocket) {
    // Node 3's port: bound, never listening.
    let absent = TcpSocket::new_v4().unwrap();
    absent.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = absent.local_addr().unwrap();
    let nodes = cluster::<TestMsg>(2, |c| {
        c.frame_len_max = FRAME_LEN_MAX;
        c.peers.insert(RAW, addr);
    })
    .await;
    (nodes, absent)
}

/// Node 2 still reaches node 1, and only the expected messages arrived.
async fn still_serving(nodes: &mut [Node<TestMsg>], before: &[TestMsg]) {
    let (a, b) = (nodes[0].id, nodes[1].id);
    for m in before {
        assert_eq!(recv(&mut nodes[0].rx).await, (RAW, m.clone()));
    }
    nodes[1].t.send(a, TestMsg::Ping(77)).unwrap();
    assert_eq!(recv(&mut nodes[0].rx).await, (b, TestMsg::Ping(77)));
    for n in nodes.iter() {
        n.t.shutdown().await;
    }
}

#[tokio::test]
async fn random_bytes_instead_of_a_hello_close_that_connection() {
    let (mut nodes, _absent) = two_nodes().await;
    let mut garbage = vec![0u8; 4096];
    ChaCha8Rng::seed_from_u64(1).fill_bytes(&mut garbage);
    let mut s = raw::connect(nodes[0].t.local_addr()).await;
    // The node may close mid-write (it judges the first 4 bytes).
    let _ = s.write_all(&garbage).await;
    let _ = s.shutdown().await;
    raw::closed_by_peer(&mut s).await;
    stats_until(&nodes[0].t, "the garbage to be refused", |s| {
        s.conns_refused >= 1
    })
    .await;
    still_serving(&mut nodes, &[]).await;
}

#[tokio::test]
async fn a_first_frame_longer_than_a_hello_is_refused_from_its_length_prefix() {
    // A long handshake timeout: only the prefix check can close it in time.
    let mut nodes = cluster::<TestMsg>(2, |c| {
        c.frame_len_max = FRAME_LEN_MAX;
        c.handshake_timeout = std::time::Duration::from_secs(3600);
    })
    .await;
    let mut s = raw::connect(nodes[0].t.local_addr()).await;
    s.write_all(&(REPLY_LEN as u32 + 1).to_be_bytes())
        .await
        .unwrap();
    raw::closed_by_peer(&mut s).await;
    stats_until(&nodes[0].t, "the long hello to be refused", |s| {
        s.conns_refused >= 1
    })
    .await;
    still_serving(&mut nodes, &[]).await;
}

#[tokio::test]
async fn a_truncated_frame_closes_that_connection() {
    let (mut nodes, _absent) = two_nodes().await;
    let mut s = raw::accepted(nodes[0].t.local_addr(), CLUSTER, RAW).await;
    let mut buf = BytesMut::new();
    put_frame(
        &mut buf,
        &encode_message(&TestMsg::Ping(1), FRAME_LEN_MAX).unwrap(),
    );
    buf.put_u32(100);
    buf.put_slice(&[0x92; 10]);
    s.write_all(&buf).await.unwrap();
    s.shutdown().await.unwrap();
    raw::closed_by_peer(&mut s).await;
    stats_until(&nodes[0].t, "a bad-frame close", |s| {
        s.conns_closed_bad_frame >= 1
    })
    .await;
    // The whole frame before the truncated one was delivered.
    still_serving(&mut nodes, &[TestMsg::Ping(1)]).await;
}

#[tokio::test]
async fn an_oversized_length_prefix_closes_that_connection_without_waiting_for_the_body() {
    let (mut nodes, _absent) = two_nodes().await;
    let mut s = raw::accepted(nodes[0].t.local_addr(), CLUSTER, RAW).await;
    s.write_all(&(FRAME_LEN_MAX as u32 + 1).to_be_bytes())
        .await
        .unwrap();
    // No body and no shutdown: the prefix alone gets the connection closed.
    raw::closed_by_peer(&mut s).await;
    stats_until(&nodes[0].t, "a bad-frame close", |s| {
        s.conns_closed_bad_frame >= 1
    })
    .await;
    let mut s = raw::accepted(nodes[0].t.local_addr(), CLUSTER, RAW).await;
    s.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    raw::closed_by_peer(&mut s).await;
    stats_until(&nodes[0].t, "a second bad-frame close", |s| {
        s.conns_closed_bad_frame >= 2
    })
    .await;
    still_serving(&mut nodes, &[]).await;
}

#[tokio::test]
async fn an_undecodable_frame_closes_that_connection() {
    let (mut nodes, _absent) = two_nodes().await;
    let payloads: [&[u8]; 3] = [
        &[0xc1],                               // a byte msgpack never uses
        &[0xa5, b'h', b'e', b'l', b'l', b'o'], // valid msgpack, not a TestMsg
        &[],                                   // empty frame
    ];
    for (i, p) in payloads.iter().enumerate() {
        let mut s = raw::accepted(nodes[0].t.local_addr(), CLUSTER, RAW).await;
        let mut buf = BytesMut::new();
        put_frame(&mut buf, p);
        s.write_all(&buf).await.unwrap();
        raw::closed_by_peer(&mut s).await;
        stats_until(&nodes[0].t, "a bad-frame close", |s| {
            s.conns_closed_bad_frame > i as u64
        })
        .await;
    }
    still_serving(&mut nodes, &[]).await;
}
