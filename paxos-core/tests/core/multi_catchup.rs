//! Multi-Paxos catch-up.
//!
//! Goal: pin how lagging nodes repair their logs: a proposer answers
//! `CatchUp` with chosen entries (bounded), a lagging follower asks at
//! most once per retransmit timeout, and a lagging learner gets each
//! entry about once even when replies are split. Method: drive a proposer
//! and a learner over a FIFO link by hand, and a small cluster.

use crate::multi_kit::{
    b, big, cmd, config, handle_learner, handle_proposer, proposer, Cluster, L, P4, P5,
};
use paxos_core::multi::{Learner, Message, Proposer};
use paxos_core::{Ready, Slot, Value};

#[test]
fn leader_answers_catch_up_with_chosen_entries_bounded_by_catchup_max() {
    let mut config = config();
    config.catchup_max = 2;
    let mut cluster = Cluster::new(config);
    cluster.elect(P4);
    for seq in 0..5 {
        cluster.propose(P4, cmd(1, seq));
    }
    cluster.run();
    assert_eq!(cluster.proposer(P4).commit(), Slot(5));
    let ready = handle_proposer(cluster.proposer(P4), L, Message::CatchUp { from: Slot(1) });
    let entries = vec![
        (Slot(1), Value::from(cmd(1, 1))),
        (Slot(2), Value::from(cmd(1, 2))),
    ];
    assert_eq!(ready.messages(), vec![(L, Message::Decide { entries })]);
    let ready = handle_proposer(cluster.proposer(P4), L, Message::CatchUp { from: Slot(5) });
    assert!(ready.is_empty(), "nothing chosen from slot 5 on");
}

#[test]
fn a_lagging_follower_asks_for_catch_up_at_most_once_per_retransmit_timeout() {
    let config = config();
    let mut p = proposer(P5, &config);
    let ask = |p: &mut Proposer| {
        let hb = Message::Heartbeat {
            ballot: b(1, P4),
            commit: Slot(50),
        };
        let ready = handle_proposer(p, P4, hb);
        ready
            .messages()
            .iter()
            .filter(|(_, m)| matches!(m, Message::CatchUp { .. }))
            .count()
    };
    assert_eq!(ask(&mut p), 1, "behind: asks");
    assert_eq!(ask(&mut p), 0, "a reply may still be on its way");
    for _ in 0..config.retransmit_timeout {
        let mut ready = Ready::new();
        p.tick(&mut ready);
    }
    assert_eq!(
        ask(&mut p),
        1,
        "no answer for a retransmit timeout: asks again"
    );
}

#[test]
fn lagging_learner_catches_up_from_the_leader() {
    let mut cluster = Cluster::new(config());
    cluster.elect(P4);
    for seq in 0..5 {
        cluster.propose(P4, cmd(1, seq));
    }
    // The learner misses every Decide...
    cluster.run_filtered(|to| to != L);
    assert!(cluster.net.decided_by(L).is_empty());
    // ...then hears heartbeats and asks.
    for _ in 0..2 * cluster.config.retransmit_timeout {
        cluster.tick();
        cluster.run();
    }
    let delivered: Vec<Value> = cluster
        .net
        .decided_by(L)
        .iter()
        .map(|(_, v)| v.clone())
        .collect();
    let want: Vec<Value> = (0..5).map(|s| Value::from(cmd(1, s))).collect();
    assert_eq!(delivered, want);
}

/// A lagging learner catching up over a perfect FIFO link. Returns
/// (Decide messages, entries carried) the proposer sent until the learner
/// delivered all `n` chosen entries.
fn catch_up_cost(message_bytes_max: usize, n: u64) -> (usize, usize) {
    let mut config = config();
    config.message_bytes_max = message_bytes_max;
    let mut p = proposer(P4, &config);
    p.learn((0..n).map(|i| (Slot(i), Value::from(big(i, 600)))));
    let mut learner = Learner::new(&config);
    let hb = Message::Heartbeat {
        ballot: b(1, P4),
        commit: Slot(n),
    };
    let _ = handle_learner(&mut learner, P4, hb);
    let mut to_proposer: std::collections::VecDeque<Message> = Default::default();
    let mut to_learner: std::collections::VecDeque<Message> = Default::default();
    while to_proposer.is_empty() {
        let mut ready = Ready::new();
        learner.tick(&mut ready);
        to_proposer.extend(ready.messages().iter().cloned().map(|(_, m)| m));
    }
    let (mut msgs, mut entries) = (0, 0);
    while learner.next_slot() < Slot(n) || !to_proposer.is_empty() || !to_learner.is_empty() {
        if let Some(m) = to_proposer.pop_front() {
            let ready = handle_proposer(&mut p, L, m);
            for (_, m) in ready.messages().iter().cloned() {
                if let Message::Decide { entries: e } = &m {
                    msgs += 1;
                    entries += e.len();
                }
                to_learner.push_back(m);
            }
        } else if let Some(m) = to_learner.pop_front() {
            let ready = handle_learner(&mut learner, P4, m);
            to_proposer.extend(ready.messages().iter().cloned().map(|(_, m)| m));
        } else {
            break;
        }
    }
    assert_eq!(learner.next_slot(), Slot(n));
    (msgs, entries)
}

#[test]
fn a_lagging_learner_gets_each_entry_about_once_even_when_decides_are_split() {
    let n = 200;
    // One message per catch-up reply: the learner gets each entry about once.
    let (_, unsplit) = catch_up_cost(1 << 20, n);
    println!("unsplit: {unsplit} entries for {n}");
    assert!(unsplit <= 2 * n as usize);
    // Each 648-byte value alone in its Decide (as 600 KB values are under
    // the default 1 MiB). Asking again on every part that made progress
    // cost n(n+1)/2 entries (20,100 here) before the learner waited for the
    // end of each reply.
    let (msgs, split) = catch_up_cost(1000, n);
    println!("split: {msgs} messages, {split} entries for {n}");
    assert!(
        split <= 2 * n as usize,
        "{split} entries sent to deliver {n}"
    );
}
