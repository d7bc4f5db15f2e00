//! Goal: messages travel between nodes, both ways, intact and in order per
//! sender, for the Paxos message type and for a small test enum.
//! Method: clusters of 2 and 3 nodes on ephemeral ports; every node sends
//! to every other; each inbox channel is read until everything arrived.

use crate::support::{cluster, paxos_messages, recv, TestMsg};
use paxos_core::multi::Message;
use paxos_core::{NodeId, Transport};
use std::collections::BTreeMap;

#[tokio::test]
async fn two_nodes_exchange_paxos_messages_both_ways() {
    let mut nodes = cluster::<Message>(2, |_| {}).await;
    let (a, b) = (nodes[0].id, nodes[1].id);
    for m in paxos_messages(1) {
        nodes[0].t.send(b, m).unwrap();
    }
    for m in paxos_messages(2) {
        nodes[1].t.send(a, m).unwrap();
    }
    for m in paxos_messages(1) {
        assert_eq!(recv(&mut nodes[1].rx).await, (a, m));
    }
    for m in paxos_messages(2) {
        assert_eq!(recv(&mut nodes[0].rx).await, (b, m));
    }
    for n in &nodes {
        n.t.shutdown().await;
    }
}

#[tokio::test]
async fn three_nodes_exchange_paxos_messages_between_every_pair_in_order() {
    let mut nodes = cluster::<Message>(3, |_| {}).await;
    let ids: Vec<NodeId> = nodes.iter().map(|n| n.id).collect();
    for n in &nodes {
        for &to in ids.iter().filter(|&&to| to != n.id) {
            for m in paxos_messages(n.id.0 * 100 + to.0) {
                n.t.send(to, m).unwrap();
            }
        }
    }
    for n in &mut nodes {
        // Per sender, the order sent is the order received.
        let mut got: BTreeMap<NodeId, Vec<Message>> = BTreeMap::new();
        let expected = paxos_messages(0).len() * 2;
        for _ in 0..expected {
            let (from, m) = recv(&mut n.rx).await;
            got.entry(from).or_default().push(m);
        }
        for &from in ids.iter().filter(|&&f| f != n.id) {
            assert_eq!(
                got[&from],
                paxos_messages(from.0 * 100 + n.id.0),
                "{from} -> {}",
                n.id
            );
        }
    }
    for n in &nodes {
        n.t.shutdown().await;
    }
}

#[tokio::test]
async fn a_user_message_type_travels_too() {
    let mut nodes = cluster::<TestMsg>(2, |_| {}).await;
    let a = nodes[0].id;
    let b = nodes[1].id;
    nodes[0].t.send(b, TestMsg::Ping(7)).unwrap();
    nodes[0].t.send(b, TestMsg::Blob(vec![1; 1000])).unwrap();
    assert_eq!(recv(&mut nodes[1].rx).await, (a, TestMsg::Ping(7)));
    assert_eq!(
        recv(&mut nodes[1].rx).await,
        (a, TestMsg::Blob(vec![1; 1000]))
    );
    for n in &nodes {
        n.t.shutdown().await;
    }
}

#[tokio::test]
async fn a_message_to_self_loops_back_to_the_own_inbox() {
    let mut nodes = cluster::<TestMsg>(2, |_| {}).await;
    let a = nodes[0].id;
    nodes[0].t.send(a, TestMsg::Ping(1)).unwrap();
    assert_eq!(nodes[0].rx.try_recv().unwrap(), (a, TestMsg::Ping(1)));
    assert_eq!(nodes[0].t.stats().loopback, 1);
    assert_eq!(nodes[0].t.stats().frames_out, 0);
    for n in &nodes {
        n.t.shutdown().await;
    }
}

#[test]
fn the_transport_is_what_a_paxos_actors_outbox_needs() {
    // paxos-actors implements its `Outbox` for every
    // `Transport<Message> + Send + Sync`; its builder also needs 'static.
    fn outbox<T: Transport<Message> + Send + Sync + Clone + 'static>() {}
    outbox::<transport_tcp::TcpTransport<Message>>();
}
