//! Goal: every queue and frame has a bound, and hitting it is a typed,
//! counted drop — never blocking, never unbounded memory.
//! Method: a node whose peer's port is reserved but not listening (so
//! nothing drains the queue); sends beyond `queue_max` / `queue_bytes_max`
//! or above `frame_len_max` are checked for their error, the queue length
//! and the counters. Inbound connections beyond `conns_in_max` are refused.
//! A fake peer that accepts the handshake and then never reads shows the
//! write timeout.

use crate::support::CLUSTER;
use crate::support::{bind, chan, config, logs, raw, stats_until, TestMsg};
use bytes::BytesMut;
use paxos_core::{NodeId, Transport};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use transport_tcp::frame::{put_frame, Hello, HelloReply, Verdict, HELLO_LEN, REPLY_LEN};
use transport_tcp::{Error, TcpConfig, TcpTransport};

/// Node 1 with an unreachable node 2 (bound, not listening).
async fn node_with_a_down_peer(
    tweak: impl Fn(&mut TcpConfig),
) -> (TcpTransport<TestMsg>, TcpSocket) {
    logs();
    let (mut l, mut peers) = bind(1).await;
    let reserved = TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    peers.insert(NodeId(2), reserved.local_addr().unwrap());
    let mut c = config(NodeId(1), &peers);
    tweak(&mut c);
    let (inbox, _rx) = chan::<TestMsg>();
    (
        TcpTransport::start_on(c, l.remove(0), inbox).unwrap(),
        reserved,
    )
}

#[tokio::test]
async fn a_send_to_a_full_queue_returns_queue_full_and_drops_the_new_message() {
    let (t, _reserved) = node_with_a_down_peer(|c| c.queue_max = 4).await;
    for i in 0..4 {
        t.send(NodeId(2), TestMsg::Ping(i)).unwrap();
    }
    for i in 0..10_000 {
        let r = t.send(NodeId(2), TestMsg::Ping(100 + i));
        assert!(matches!(r, Err(Error::QueueFull(NodeId(2)))), "{r:?}");
    }
    assert_eq!(
        t.queued(NodeId(2)),
        Some(4),
        "the queue never grows past queue_max"
    );
    assert_eq!(t.stats().dropped_queue_full, 10_000);
    t.shutdown().await;
}

#[tokio::test]
async fn a_queue_full_in_bytes_refuses_the_message_that_would_overflow_it() {
    let (t, _reserved) = node_with_a_down_peer(|c| {
        c.frame_len_max = 1024;
        c.queue_bytes_max = 1024;
    })
    .await;
    t.send(NodeId(2), TestMsg::Blob(vec![7; 600])).unwrap();
    let r = t.send(NodeId(2), TestMsg::Blob(vec![7; 600]));
    assert!(matches!(r, Err(Error::QueueFull(_))), "{r:?}");
    t.send(NodeId(2), TestMsg::Ping(1)).unwrap();
    assert_eq!(t.queued(NodeId(2)), Some(2));
    t.shutdown().await;
}

#[tokio::test]
async fn a_message_above_frame_len_max_is_refused_at_send() {
    let (t, _reserved) = node_with_a_down_peer(|c| c.frame_len_max = 256).await;
    let r = t.send(NodeId(2), TestMsg::Blob(vec![1; 1000]));
    assert!(
        matches!(r, Err(Error::FrameTooLarge { max: 256, .. })),
        "{r:?}"
    );
    assert_eq!(t.queued(NodeId(2)), Some(0));
    assert_eq!(t.stats().dropped_too_large, 1);
    t.shutdown().await;
}

#[tokio::test]
async fn a_send_to_an_unknown_node_is_an_error() {
    let (t, _reserved) = node_with_a_down_peer(|_| {}).await;
    let r = t.send(NodeId(3), TestMsg::Ping(1));
    assert!(matches!(r, Err(Error::UnknownPeer(NodeId(3)))), "{r:?}");
    assert_eq!(t.queued(NodeId(3)), None);
    t.shutdown().await;
}

#[tokio::test]
async fn inbound_connections_beyond_conns_in_max_are_refused() {
    let (t, _reserved) = node_with_a_down_peer(|c| c.conns_in_max = 1).await;
    // The first connection holds the only slot while it waits for a hello.
    let _first = raw::connect(t.local_addr()).await;
    let mut second = raw::connect(t.local_addr()).await;
    stats_until(&t, "the second connection to be refused", |s| {
        s.conns_refused >= 1
    })
    .await;
    let mut reply = Vec::new();
    let _ = second.read_to_end(&mut reply).await;
    if reply.len() == 4 + REPLY_LEN {
        let r = HelloReply::decode(&reply[4..]).unwrap();
        assert_eq!(r.verdict, Verdict::Busy);
    }
    t.shutdown().await;
}

#[test]
fn an_invalid_config_is_refused_at_start() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = TcpConfig::new(
            1,
            NodeId(1),
            "127.0.0.1:0".parse().unwrap(),
            Default::default(),
        );
        c.queue_max = 0;
        let (inbox, _rx) = chan::<TestMsg>();
        let r = TcpTransport::start(c, inbox).await;
        assert!(matches!(
            r,
            Err(Error::Config {
                field: "queue_max",
                ..
            })
        ));
    });
}

#[tokio::test]
async fn a_peer_that_reads_nothing_is_dropped_after_write_timeout() {
    logs();
    let (mut l, mut peers) = bind(1).await;
    let fake = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    peers.insert(NodeId(2), fake.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // Accepts node 1's hello as node 2, then holds the socket unread.
    let stuck = tokio::spawn(async move {
        let (mut s, _) = fake.accept().await.unwrap();
        let mut hello = [0u8; 4 + HELLO_LEN];
        s.read_exact(&mut hello).await.unwrap();
        let reply = HelloReply {
            hello: Hello::new(CLUSTER, NodeId(2)),
            verdict: Verdict::Accept,
        };
        let mut buf = BytesMut::new();
        put_frame(&mut buf, &reply.encode());
        s.write_all(&buf).await.unwrap();
        let _ = stopped.await;
        drop((s, fake));
    });
    let mut c = config(NodeId(1), &peers);
    c.write_timeout = Duration::from_millis(200);
    let (inbox, _rx) = chan::<TestMsg>();
    let t = TcpTransport::start_on(c, l.remove(0), inbox).unwrap();
    // 90 MB: far more than loopback socket buffers hold (tens of MB at
    // most); some may not fit the queue.
    for _ in 0..1500 {
        let _ = t.send(NodeId(2), TestMsg::Blob(vec![0; 60_000]));
    }
    let s = stats_until(&t, "the stuck connection to be dropped", |s| {
        s.conns_lost >= 1
    })
    .await;
    assert!(s.dropped_conn_lost >= 1, "{s:?}");
    assert_eq!(s.dials_ok, 1);
    t.shutdown().await;
    let _ = stop.send(());
    stuck.await.unwrap();
}
