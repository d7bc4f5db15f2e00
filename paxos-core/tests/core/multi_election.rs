//! Multi-Paxos proposer: election.
//!
//! Goal: pin how proposers become candidates and stop leading: standing
//! after an election timeout (with jitter and back-off), never reusing a
//! ballot, stepping down on a higher ballot (Nack or heartbeat), and
//! check-quorum. Method: tick single proposers by hand and feed them
//! built messages; run a small cluster on a lossy network for the
//! fail-over cases.

use crate::multi_kit::{
    b, cmd, config, elect_by_hand, handle_proposer, promise, propose, proposer, stand, val,
    Cluster, A1, A2, A3, ACCEPTORS, L, P4, P5,
};
use crate::net::Envelope;
use paxos_core::multi::{Config, Message, Proposer, Status};
use paxos_core::{Ballot, DurableState, MemStorage, Ready, Record, Slot, Storage};
use std::collections::BTreeSet;

#[test]
fn follower_stands_for_election_after_election_timeout_without_heartbeat() {
    let config = config();
    let mut p = proposer(P4, &config);
    let mut stood = None;
    for t in 1..=config.election_timeout + config.election_jitter + 1 {
        let mut ready = Ready::new();
        p.tick(&mut ready);
        if let Status::Candidate { ballot } = p.status() {
            stood = Some((t, ballot, ready));
            break;
        }
        assert!(
            ready.is_empty(),
            "a follower does nothing before its timeout"
        );
    }
    let (t, ballot, ready) = stood.expect("stood within the timeout plus jitter");
    assert!(t >= config.election_timeout, "stood early, at tick {t}");
    assert_eq!(ballot.node, P4);
    assert_eq!(ready.records(), vec![Record::Round(ballot.round)]);
    let prepare = Message::Prepare {
        ballot,
        first_slot: Slot(0),
    };
    let want: Vec<_> = ACCEPTORS.iter().map(|a| (*a, prepare.clone())).collect();
    assert_eq!(ready.messages(), want);
}

#[test]
fn election_jitter_spreads_the_ticks_at_which_followers_stand() {
    let config = config();
    let mut stood_at = BTreeSet::new();
    for seed in 0..32 {
        let mut p = Proposer::restore(P4, &config, &DurableState::default(), seed);
        let mut t = 0;
        while !matches!(p.status(), Status::Candidate { .. }) {
            let mut ready = Ready::new();
            p.tick(&mut ready);
            t += 1;
        }
        assert!(t >= config.election_timeout);
        assert!(t <= config.election_timeout + config.election_jitter);
        stood_at.insert(t);
    }
    assert!(
        stood_at.len() > 1,
        "every seed stood at the same tick: {stood_at:?}"
    );
}

#[test]
fn follower_hearing_heartbeats_never_stands() {
    let config = config();
    let mut p = proposer(P4, &config);
    for t in 0..10 * config.election_timeout {
        if t % config.heartbeat_interval == 0 {
            let hb = Message::Heartbeat {
                ballot: b(1, P5),
                commit: Slot(0),
            };
            let _ = handle_proposer(&mut p, P5, hb);
        }
        let mut ready = Ready::new();
        p.tick(&mut ready);
        assert!(ready.is_empty());
    }
    assert_eq!(p.status(), Status::Follower { leader: Some(P5) });
}

#[test]
fn proposer_never_reuses_a_ballot_after_restore() {
    let config = config();
    let mut storage = MemStorage::new();
    let mut used = Vec::new();
    for restart in 0..4 {
        let state = storage.load().unwrap();
        let mut p = Proposer::restore(P4, &config, &state, restart);
        for _ in 0..2 {
            // Stand twice per life: the second election times out the first.
            let (ballot, ready) = stand(&mut p, &config);
            storage.append(ready.records()).unwrap();
            storage.sync().unwrap();
            used.push(ballot);
        }
        storage.crash();
    }
    let sorted: Vec<Ballot> = used
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        used, sorted,
        "each ballot above every earlier one: {used:?}"
    );
}

#[test]
fn proposer_stands_above_the_highest_ballot_it_has_seen() {
    let config = config();
    let mut p = proposer(P4, &config);
    let hb = Message::Heartbeat {
        ballot: b(7, P5),
        commit: Slot(0),
    };
    let _ = handle_proposer(&mut p, P5, hb);
    let (ballot, _) = stand(&mut p, &config);
    assert!(ballot > b(7, P5), "{ballot}");
}

#[test]
fn proposer_seeded_with_a_chosen_prefix_stands_from_its_end() {
    let config = config();
    let mut p = proposer(P4, &config);
    p.learn((0..5).map(|s| (Slot(s), val(s))));
    assert_eq!(p.commit(), Slot(5));
    let (_, ready) = stand(&mut p, &config);
    assert!(ready
        .messages()
        .iter()
        .any(|(_, m)| matches!(m, Message::Prepare { first_slot, .. } if *first_slot == Slot(5))));
}

#[test]
fn candidate_nacked_by_a_higher_ballot_steps_down() {
    let config = config();
    let mut p = proposer(P4, &config);
    let (ballot, _) = stand(&mut p, &config);
    let nack = Message::Nack {
        ballot,
        promised: b(ballot.round + 2, P5),
    };
    let _ = handle_proposer(&mut p, A1, nack);
    assert_eq!(p.status(), Status::Follower { leader: None });
    let (next, _) = stand(&mut p, &config);
    assert!(next > b(ballot.round + 2, P5));
}

#[test]
fn leader_nacked_by_a_higher_ballot_steps_down_and_reports_in_flight_commands_as_dropped() {
    let mut config = config();
    config.pipeline_max = 1;
    let mut p = proposer(P4, &config);
    let ballot = elect_by_hand(&mut p, &config);
    let _ = propose(&mut p, cmd(1, 0));
    let _ = propose(&mut p, cmd(1, 1));
    let _ = propose(&mut p, cmd(2, 0));
    let accepted = Message::Accepted {
        ballot,
        slots: vec![Slot(0)],
    };
    for a in [A1, A2] {
        let _ = handle_proposer(&mut p, a, accepted.clone());
    }
    // Slot 0 is chosen; slot 1 (cmd 1.1 and 2.0 in one batch) is in flight.
    let _ = propose(&mut p, cmd(3, 0));
    let nack = Message::Nack {
        ballot,
        promised: b(ballot.round + 1, P5),
    };
    let ready = handle_proposer(&mut p, A3, nack);
    assert_eq!(p.status(), Status::Follower { leader: None });
    let mut dropped = ready.dropped().to_vec();
    dropped.sort();
    assert_eq!(dropped, vec![cmd(1, 1), cmd(2, 0), cmd(3, 0)]);
    assert!(
        !dropped.contains(&cmd(1, 0)),
        "a chosen command is not dropped"
    );
    assert_eq!(p.queued(), 0);
}

#[test]
fn leader_ignores_a_nack_for_a_ballot_it_does_not_hold() {
    let config = config();
    let state = DurableState {
        round: 5,
        ..DurableState::default()
    };
    let mut p = Proposer::restore(P4, &config, &state, 7);
    let (ballot, _) = stand(&mut p, &config);
    for a in [A1, A2] {
        let _ = handle_proposer(&mut p, a, promise(ballot, Vec::new()));
    }
    let old = Message::Nack {
        ballot: b(2, P4),
        promised: b(3, P5),
    };
    let ready = handle_proposer(&mut p, A3, old);
    assert!(ready.is_empty());
    assert_eq!(p.status(), Status::Leader { ballot });
}

#[test]
fn heartbeat_with_a_higher_ballot_makes_a_leader_step_down() {
    let config = config();
    let mut p = proposer(P4, &config);
    let ballot = elect_by_hand(&mut p, &config);
    let _ = propose(&mut p, cmd(1, 1));
    let hb = Message::Heartbeat {
        ballot: b(ballot.round + 1, P5),
        commit: Slot(0),
    };
    let ready = handle_proposer(&mut p, P5, hb);
    assert_eq!(p.status(), Status::Follower { leader: Some(P5) });
    assert_eq!(ready.dropped(), vec![cmd(1, 1)]);
}

#[test]
fn leader_deposed_by_a_heartbeat_forwards_its_queued_commands_to_the_new_leader() {
    let mut config = config();
    config.pipeline_max = 1;
    let mut p = proposer(P4, &config);
    let ballot = elect_by_hand(&mut p, &config);
    let _ = propose(&mut p, cmd(1, 1));
    let _ = propose(&mut p, cmd(1, 2));
    assert_eq!(p.queued(), 1);
    let hb = Message::Heartbeat {
        ballot: b(ballot.round + 1, P5),
        commit: Slot(0),
    };
    let ready = handle_proposer(&mut p, P5, hb);
    assert_eq!(ready.dropped(), vec![cmd(1, 1)], "the in-flight one");
    assert_eq!(
        ready.messages(),
        vec![(
            P5,
            Message::Forward {
                commands: vec![cmd(1, 2)]
            }
        )],
        "the queued one goes to the new leader"
    );
}

#[test]
fn heartbeat_with_a_higher_ballot_makes_a_candidate_step_down() {
    let config = config();
    let mut p = proposer(P4, &config);
    let (ballot, _) = stand(&mut p, &config);
    let hb = Message::Heartbeat {
        ballot: b(ballot.round + 1, P5),
        commit: Slot(0),
    };
    let _ = handle_proposer(&mut p, P5, hb);
    assert_eq!(p.status(), Status::Follower { leader: Some(P5) });
}

#[test]
fn heartbeat_with_a_lower_ballot_does_not_depose_a_leader() {
    let config = config();
    let state = DurableState {
        round: 5,
        ..DurableState::default()
    };
    let mut p = Proposer::restore(P4, &config, &state, 7);
    let (ballot, _) = stand(&mut p, &config);
    for a in [A1, A2] {
        let _ = handle_proposer(&mut p, a, promise(ballot, Vec::new()));
    }
    let hb = Message::Heartbeat {
        ballot: b(2, P5),
        commit: Slot(0),
    };
    let ready = handle_proposer(&mut p, P5, hb);
    assert!(ready.is_empty());
    assert_eq!(p.status(), Status::Leader { ballot });
}

#[test]
fn leader_cut_off_from_acceptors_never_decides_anything() {
    let mut cluster = Cluster::new(config());
    cluster.elect(P4);
    let ticks = 20 * cluster.config.election_timeout;
    let delivered_before = cluster.net.delivered.len();
    for seq in 0..5 {
        cluster.propose(P4, cmd(1, seq));
    }
    for _ in 0..ticks {
        cluster.run_filtered(|to| !ACCEPTORS.contains(&to));
        cluster.tick();
    }
    cluster.run_filtered(|to| !ACCEPTORS.contains(&to));
    let after = &cluster.net.delivered[delivered_before..];
    assert!(
        !after
            .iter()
            .any(|e| matches!(e.msg, Message::Decide { .. })),
        "a Decide without any Accepted"
    );
    assert_eq!(cluster.proposer(P4).commit(), Slot(0));
    assert!(cluster.net.decided_by(L).is_empty());
    assert_eq!(cluster.roles.learner.next_slot(), Slot(0));
    let retransmits = cluster
        .net
        .lost
        .iter()
        .filter(|e| matches!(e.msg, Message::Accept { .. }))
        .count();
    assert!(
        retransmits > 2 * 3,
        "the leader retries before it steps down: {retransmits}"
    );
    assert!(
        !cluster.proposer(P4).is_leader(),
        "check-quorum: a leader that hears no phase-2 quorum steps down"
    );
}

#[test]
fn followers_replace_a_leader_that_is_cut_off_from_the_acceptors() {
    let mut cluster = Cluster::new(config());
    cluster.elect(P4);
    cluster.propose(P5, cmd(1, 1));
    // Every link works except those between P4 and the acceptors.
    let cut = |e: &Envelope<Message>| {
        (e.from == P4 && ACCEPTORS.contains(&e.to)) || (e.to == P4 && ACCEPTORS.contains(&e.from))
    };
    let ticks = 50 * cluster.config.election_timeout;
    for _ in 0..ticks {
        let roles = &mut cluster.roles;
        cluster.net.run_filtered(
            |e| !cut(e),
            |from, to, msg, ready| roles.deliver(from, to, msg, ready),
        );
        if !cluster.net.decided_by(L).is_empty() {
            break;
        }
        cluster.tick();
        // The client retries through P5 until it hears a result.
        cluster.propose(P5, cmd(1, 1));
    }
    assert!(
        !cluster.net.decided_by(L).is_empty(),
        "nothing decided in {ticks} ticks; P4 {:?}, P5 {:?}",
        cluster.proposer(P4).status(),
        cluster.proposer(P5).status()
    );
}

/// Ticks `p` until it stands; returns how many ticks that took.
fn ticks_to_stand(p: &mut Proposer, config: &Config) -> u64 {
    for t in 1..=16 * (config.election_timeout + config.election_jitter + 1) {
        let mut ready = Ready::new();
        p.tick(&mut ready);
        if matches!(p.status(), Status::Candidate { .. })
            && ready
                .messages()
                .iter()
                .any(|(_, m)| matches!(m, Message::Prepare { .. }))
        {
            return t;
        }
    }
    panic!("never stood");
}

#[test]
fn short_lived_leaders_do_not_reset_the_election_back_off_but_a_stable_one_does() {
    let mut config = config();
    config.election_jitter = 0;
    let mut p = proposer(P5, &config);
    let first = ticks_to_stand(&mut p, &config);
    assert!(first <= config.election_timeout + 1);
    // A leader heard once, then silent: a duel, not a stable leader. Each
    // such round doubles the wait (capped).
    let mut waits = Vec::new();
    for round in 100..103 {
        let hb = Message::Heartbeat {
            ballot: b(round, P4),
            commit: Slot(0),
        };
        let _ = handle_proposer(&mut p, P4, hb);
        waits.push(ticks_to_stand(&mut p, &config));
    }
    let t = config.election_timeout;
    for (i, w) in waits.iter().enumerate() {
        assert!(*w >= t << (i + 1), "back-off kept growing: {waits:?}");
    }
    // A leader heard for a whole election timeout: back to the base timeout.
    let ballot = b(200, P4);
    for _ in 0..=config.election_timeout {
        let _ = handle_proposer(
            &mut p,
            P4,
            Message::Heartbeat {
                ballot,
                commit: Slot(0),
            },
        );
        let mut ready = Ready::new();
        p.tick(&mut ready);
    }
    assert!(ticks_to_stand(&mut p, &config) <= config.election_timeout);
}
