//! Multi-Paxos roles.
//!
//! Goal: pin the rules of the replicated log: the acceptor's per-slot
//! promise and accept (persisted in the same Ready as the reply), election
//! by timeout, takeover (re-propose the highest-ballot value per slot, fill
//! holes with no-ops), batching under a full pipeline, choosing on a
//! phase-2 quorum, stepping down on a higher ballot, forwarding, in-order
//! delivery and catch-up at the learner, and exactly-once application at
//! the replica. Method: drive single roles by hand with built messages and
//! ticks and inspect each `Ready`; run a small cluster on the perfect (or
//! deliberately lossy) network of `net.rs` for the exchanges.

use crate::net::{Envelope, Network};
use paxos_core::multi::{Acceptor, Config, Learner, Message, Outcome, Proposer, Replica, Status};
use paxos_core::{
    Ballot, ClientId, Command, DurableState, Error, MemStorage, NodeId, QuorumSystem, Ready,
    Record, Slot, StateMachine, Storage, Value,
};
use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

const A1: NodeId = NodeId(1);
const A2: NodeId = NodeId(2);
const A3: NodeId = NodeId(3);
const ACCEPTORS: [NodeId; 3] = [A1, A2, A3];
const P4: NodeId = NodeId(4);
const P5: NodeId = NodeId(5);
const L: NodeId = NodeId(9);
const DELIVERIES_MAX: usize = 100_000;

fn config() -> Config {
    Config::new(
        QuorumSystem::majority(ACCEPTORS).unwrap(),
        vec![P4, P5],
        vec![L],
    )
}

fn b(round: u64, node: NodeId) -> Ballot {
    Ballot::new(round, node)
}

fn cmd(client: u64, seq: u64) -> Command {
    Command {
        client: ClientId(client),
        seq,
        payload: vec![seq as u8].into(),
    }
}

fn val(seq: u64) -> Value {
    Value::from(cmd(1, seq))
}

fn fresh_acceptor() -> Acceptor {
    Acceptor::restore(&config(), &DurableState::default())
}

fn proposer(id: NodeId, config: &Config) -> Proposer {
    Proposer::restore(id, config, &DurableState::default(), 7)
}

fn handle_acceptor(acceptor: &mut Acceptor, from: NodeId, msg: Message) -> Ready<Message> {
    let mut ready = Ready::new();
    acceptor.handle(from, msg, &mut ready);
    ready
}

fn handle_proposer(proposer: &mut Proposer, from: NodeId, msg: Message) -> Ready<Message> {
    let mut ready = Ready::new();
    proposer.handle(from, msg, &mut ready);
    ready
}

fn handle_learner(learner: &mut Learner, from: NodeId, msg: Message) -> Ready<Message> {
    let mut ready = Ready::new();
    learner.handle(from, msg, &mut ready);
    ready
}

fn propose(proposer: &mut Proposer, command: Command) -> Ready<Message> {
    let mut ready = Ready::new();
    proposer.propose(command, &mut ready);
    ready
}

/// Ticks a proposer until it stands for a new ballot (at most the largest
/// backed-off timeout, 16 × (election_timeout + election_jitter + 1),
/// after its timer was last reset); returns that ballot and the Ready of
/// that tick.
fn stand(proposer: &mut Proposer, config: &Config) -> (Ballot, Ready<Message>) {
    let before = proposer.status();
    for _ in 0..=16 * (config.election_timeout + config.election_jitter + 1) {
        let mut ready = Ready::new();
        proposer.tick(&mut ready);
        match proposer.status() {
            Status::Candidate { ballot } if proposer.status() != before => {
                return (ballot, ready);
            }
            _ => {}
        }
    }
    panic!("{:?} did not stand", proposer.id());
}

fn promise(ballot: Ballot, accepted: Vec<(Slot, Ballot, Value)>) -> Message {
    Message::Promise {
        ballot,
        first_slot: Slot(0),
        accepted,
        part: 0,
        parts: 1,
    }
}

/// Makes `proposer` leader by hand: it stands, and A1 and A2 promise with
/// nothing accepted.
fn elect_by_hand(proposer: &mut Proposer, config: &Config) -> Ballot {
    let (ballot, _) = stand(proposer, config);
    for a in [A1, A2] {
        let _ = handle_proposer(proposer, a, promise(ballot, Vec::new()));
    }
    assert_eq!(proposer.status(), Status::Leader { ballot });
    ballot
}

/// Log entries, as an `Accept` or `Decide` carries them.
type Entries = Vec<(Slot, Value)>;

/// The `Accept` messages in `messages`: destination, ballot, entries.
fn accepts(messages: &[(NodeId, Message)]) -> Vec<(NodeId, Ballot, Entries)> {
    messages
        .iter()
        .filter_map(|(to, m)| match m {
            Message::Accept { ballot, entries } => Some((*to, *ballot, entries.clone())),
            _ => None,
        })
        .collect()
}

fn decides(messages: &[(NodeId, Message)]) -> Vec<(NodeId, Entries)> {
    messages
        .iter()
        .filter_map(|(to, m)| match m {
            Message::Decide { entries } => Some((*to, entries.clone())),
            _ => None,
        })
        .collect()
}

/// Acceptors A1..A3, proposers P4 and P5, learner L, on one network.
struct Cluster {
    config: Config,
    roles: Roles,
    net: Network<Message>,
}

struct Roles {
    acceptors: BTreeMap<NodeId, Acceptor>,
    proposers: BTreeMap<NodeId, Proposer>,
    learner: Learner,
}

impl Roles {
    fn deliver(&mut self, from: NodeId, to: NodeId, msg: Message, ready: &mut Ready<Message>) {
        if let Some(a) = self.acceptors.get_mut(&to) {
            a.handle(from, msg, ready);
        } else if let Some(p) = self.proposers.get_mut(&to) {
            p.handle(from, msg, ready);
        } else {
            assert_eq!(to, L, "message to unknown node");
            self.learner.handle(from, msg, ready);
        }
    }
}

impl Cluster {
    fn new(config: Config) -> Self {
        let fresh = DurableState::default();
        let roles = Roles {
            acceptors: ACCEPTORS
                .iter()
                .map(|a| (*a, Acceptor::restore(&config, &fresh)))
                .collect(),
            proposers: [P4, P5]
                .iter()
                .map(|p| (*p, Proposer::restore(*p, &config, &fresh, p.0)))
                .collect(),
            learner: Learner::new(&config),
        };
        Cluster {
            config,
            roles,
            net: Network::new(DELIVERIES_MAX),
        }
    }

    fn proposer(&mut self, id: NodeId) -> &mut Proposer {
        self.roles.proposers.get_mut(&id).unwrap()
    }

    fn run(&mut self) {
        let roles = &mut self.roles;
        self.net
            .run(|from, to, msg, ready| roles.deliver(from, to, msg, ready));
    }

    /// Runs the network, losing every message whose destination fails `keep`.
    fn run_filtered(&mut self, keep: impl Fn(NodeId) -> bool) {
        let roles = &mut self.roles;
        self.net.run_filtered(
            |e| keep(e.to),
            |from, to, msg, ready| roles.deliver(from, to, msg, ready),
        );
    }

    /// Lets `id` time out and win an election on the perfect network.
    fn elect(&mut self, id: NodeId) -> Ballot {
        let config = self.config.clone();
        let (ballot, ready) = stand(self.proposer(id), &config);
        self.net.post(id, ready);
        self.run();
        assert_eq!(self.proposer(id).status(), Status::Leader { ballot });
        ballot
    }

    fn propose(&mut self, id: NodeId, command: Command) {
        let ready = propose(self.proposer(id), command);
        self.net.post(id, ready);
    }

    /// One tick for every proposer and the learner.
    fn tick(&mut self) {
        for (id, p) in self.roles.proposers.iter_mut() {
            let mut ready = Ready::new();
            p.tick(&mut ready);
            self.net.post(*id, ready);
        }
        let mut ready = Ready::new();
        self.roles.learner.tick(&mut ready);
        self.net.post(L, ready);
    }
}

// ---------------------------------------------------------------- acceptor

#[test]
fn multi_acceptor_promise_reports_accepted_entries_from_first_slot_on() {
    let mut acceptor = fresh_acceptor();
    let entries: Vec<(Slot, Value)> = (0..4).map(|s| (Slot(s), val(s))).collect();
    let accept = Message::Accept {
        ballot: b(1, P4),
        entries,
    };
    let _ = handle_acceptor(&mut acceptor, P4, accept);
    let prepare = Message::Prepare {
        ballot: b(2, P5),
        first_slot: Slot(2),
    };
    let ready = handle_acceptor(&mut acceptor, P5, prepare);
    assert_eq!(ready.records(), vec![Record::Promise(b(2, P5))]);
    assert_eq!(
        ready.messages(),
        vec![(
            P5,
            Message::Promise {
                ballot: b(2, P5),
                first_slot: Slot(2),
                accepted: vec![(Slot(2), b(1, P4), val(2)), (Slot(3), b(1, P4), val(3))],
                part: 0,
                parts: 1,
            }
        )]
    );
}

#[test]
fn multi_acceptor_rejects_prepare_below_promised_ballot() {
    let mut acceptor = fresh_acceptor();
    let high = Message::Prepare {
        ballot: b(2, P5),
        first_slot: Slot(0),
    };
    let _ = handle_acceptor(&mut acceptor, P5, high);
    let low = Message::Prepare {
        ballot: b(2, P4),
        first_slot: Slot(0),
    };
    let ready = handle_acceptor(&mut acceptor, P4, low);
    assert!(ready.records().is_empty());
    assert_eq!(
        ready.messages(),
        vec![(
            P4,
            Message::Nack {
                ballot: b(2, P4),
                promised: b(2, P5)
            }
        )]
    );
}

#[test]
fn multi_acceptor_rejects_accept_below_promised_ballot() {
    let mut acceptor = fresh_acceptor();
    let prepare = Message::Prepare {
        ballot: b(3, P5),
        first_slot: Slot(0),
    };
    let _ = handle_acceptor(&mut acceptor, P5, prepare);
    let accept = Message::Accept {
        ballot: b(2, P4),
        entries: vec![(Slot(0), val(1))],
    };
    let ready = handle_acceptor(&mut acceptor, P4, accept);
    assert!(ready.records().is_empty());
    assert_eq!(
        ready.messages(),
        vec![(
            P4,
            Message::Nack {
                ballot: b(2, P4),
                promised: b(3, P5)
            }
        )]
    );
    assert_eq!(acceptor.accepted(Slot(0)), None);
}

#[test]
fn multi_acceptor_persists_accepted_entries_in_the_same_ready_as_its_accepted_reply() {
    let mut acceptor = fresh_acceptor();
    let prepare = Message::Prepare {
        ballot: b(1, P4),
        first_slot: Slot(0),
    };
    let _ = handle_acceptor(&mut acceptor, P4, prepare);
    let entries: Vec<(Slot, Value)> = (5..8).map(|s| (Slot(s), val(s))).collect();
    let accept = Message::Accept {
        ballot: b(1, P4),
        entries: entries.clone(),
    };
    let ready = handle_acceptor(&mut acceptor, P4, accept);
    let records: Vec<Record> = entries
        .iter()
        .map(|(slot, value)| Record::Accept {
            slot: *slot,
            ballot: b(1, P4),
            value: value.clone(),
        })
        .collect();
    assert_eq!(ready.records(), records);
    assert_eq!(
        ready.messages(),
        vec![(
            P4,
            Message::Accepted {
                ballot: b(1, P4),
                slots: vec![Slot(5), Slot(6), Slot(7)]
            }
        )]
    );
}

#[test]
fn multi_acceptor_accept_above_its_promise_persists_the_raised_promise_even_for_no_entries() {
    let mut acceptor = fresh_acceptor();
    let accept = Message::Accept {
        ballot: b(4, P4),
        entries: Vec::new(),
    };
    let ready = handle_acceptor(&mut acceptor, P4, accept);
    assert_eq!(ready.records(), vec![Record::Promise(b(4, P4))]);
    assert_eq!(acceptor.promised(), b(4, P4));
}

#[test]
fn multi_acceptor_reaccepts_duplicate_entries_without_new_records() {
    let mut acceptor = fresh_acceptor();
    let accept = Message::Accept {
        ballot: b(1, P4),
        entries: vec![(Slot(0), val(0)), (Slot(1), val(1))],
    };
    let first = handle_acceptor(&mut acceptor, P4, accept.clone());
    let again = handle_acceptor(&mut acceptor, P4, accept);
    assert!(!first.records().is_empty());
    assert!(again.records().is_empty());
    assert_eq!(again.messages(), first.messages());
}

#[test]
fn multi_acceptor_replaces_a_slot_accepted_in_a_lower_ballot() {
    let mut acceptor = fresh_acceptor();
    for (ballot, v) in [(b(1, P4), val(1)), (b(2, P5), Value::Noop)] {
        let accept = Message::Accept {
            ballot,
            entries: vec![(Slot(0), v)],
        };
        let _ = handle_acceptor(&mut acceptor, ballot.node, accept);
    }
    assert_eq!(acceptor.accepted(Slot(0)), Some(&(b(2, P5), Value::Noop)));
}

#[test]
fn multi_acceptor_restored_from_its_records_keeps_promise_and_accepted_slots() {
    let mut acceptor = fresh_acceptor();
    let mut records = Vec::new();
    let steps = [
        Message::Accept {
            ballot: b(1, P4),
            entries: vec![(Slot(0), val(0)), (Slot(1), val(1))],
        },
        Message::Prepare {
            ballot: b(2, P5),
            first_slot: Slot(0),
        },
        Message::Accept {
            ballot: b(2, P5),
            entries: vec![(Slot(1), Value::Noop)],
        },
    ];
    for msg in steps {
        records.extend(
            handle_acceptor(&mut acceptor, P4, msg)
                .records()
                .iter()
                .cloned(),
        );
    }
    let mut restored = Acceptor::restore(&config(), &DurableState::from_records(&records));
    assert_eq!(restored, acceptor);
    let low = Message::Prepare {
        ballot: b(1, P5),
        first_slot: Slot(0),
    };
    let ready = handle_acceptor(&mut restored, P5, low);
    assert!(matches!(ready.messages()[..], [(P5, Message::Nack { .. })]));
}

// ------------------------------------------------------ proposer: election

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
fn candidate_with_a_phase1_quorum_of_promises_becomes_leader_and_heartbeats() {
    let config = config();
    let mut p = proposer(P4, &config);
    let (ballot, _) = stand(&mut p, &config);
    let ready = handle_proposer(&mut p, A1, promise(ballot, Vec::new()));
    assert!(ready.is_empty());
    assert_eq!(p.status(), Status::Candidate { ballot });
    let ready = handle_proposer(&mut p, A2, promise(ballot, Vec::new()));
    assert_eq!(p.status(), Status::Leader { ballot });
    assert!(ready.records().is_empty());
    assert!(
        accepts(ready.messages()).is_empty(),
        "nothing to re-propose"
    );
    let hb = Message::Heartbeat {
        ballot,
        commit: Slot(0),
    };
    assert_eq!(ready.messages(), vec![(P5, hb.clone()), (L, hb)]);
}

/// A command with a `len`-byte payload.
fn big(seq: u64, len: usize) -> Command {
    Command {
        client: ClientId(1),
        seq,
        payload: vec![seq as u8; len].into(),
    }
}

#[test]
fn a_promise_over_message_bytes_max_comes_in_parts_that_add_up() {
    let mut config = config();
    config.message_bytes_max = 1000;
    let mut acceptor = Acceptor::restore(&config, &DurableState::default());
    let entries: Vec<(Slot, Value)> = (0..10)
        .map(|i| (Slot(i), Value::from(big(i, 300))))
        .collect();
    let _ = handle_acceptor(
        &mut acceptor,
        P4,
        Message::Accept {
            ballot: b(1, P4),
            entries: entries.clone(),
        },
    );
    let ready = handle_acceptor(
        &mut acceptor,
        P5,
        Message::Prepare {
            ballot: b(2, P5),
            first_slot: Slot(0),
        },
    );
    let mut all = Vec::new();
    let n = ready.messages().len();
    assert!(n > 1, "split into parts");
    for (i, (to, m)) in ready.messages().iter().cloned().enumerate() {
        assert_eq!(to, P5);
        let Message::Promise {
            accepted,
            part,
            parts,
            ..
        } = m
        else {
            panic!("not a promise: {m:?}")
        };
        assert_eq!((part as usize, parts as usize), (i, n));
        let bytes: usize = accepted.iter().map(|(_, _, v)| v.size_hint()).sum();
        assert!(bytes <= 1000, "part {part} holds {bytes} bytes");
        all.extend(accepted.into_iter().map(|(s, _, v)| (s, v)));
    }
    assert_eq!(all, entries);
}

#[test]
fn a_candidate_counts_a_promise_only_once_all_its_parts_arrived() {
    let config = config();
    let mut p = proposer(P4, &config);
    let (ballot, _) = stand(&mut p, &config);
    let part = |i: u32, accepted| Message::Promise {
        ballot,
        first_slot: Slot(0),
        accepted,
        part: i,
        parts: 2,
    };
    let _ = handle_proposer(&mut p, A1, promise(ballot, Vec::new()));
    // A2's first part: not yet a quorum.
    let _ = handle_proposer(&mut p, A2, part(0, vec![(Slot(0), b(1, P5), val(1))]));
    assert_eq!(p.status(), Status::Candidate { ballot });
    // A part numbered past its count is ignored.
    let _ = handle_proposer(
        &mut p,
        A2,
        Message::Promise {
            ballot,
            first_slot: Slot(0),
            accepted: Vec::new(),
            part: 2,
            parts: 2,
        },
    );
    assert_eq!(p.status(), Status::Candidate { ballot });
    // The second part completes it; its value must be re-proposed too.
    let ready = handle_proposer(&mut p, A2, part(1, vec![(Slot(1), b(1, P5), val(2))]));
    assert_eq!(p.status(), Status::Leader { ballot });
    let proposed: Vec<(Slot, Value)> = accepts(ready.messages())
        .into_iter()
        .filter(|(to, _, _)| *to == A1)
        .flat_map(|(_, _, e)| e)
        .collect();
    assert_eq!(proposed, vec![(Slot(0), val(1)), (Slot(1), val(2))]);
}

#[test]
fn a_leader_splits_accepts_and_decides_by_message_bytes_max() {
    let mut config = config();
    config.message_bytes_max = 1000;
    config.pipeline_max = 100;
    let mut p = proposer(P4, &config);
    let ballot = elect_by_hand(&mut p, &config);
    let mut ready = Ready::new();
    p.propose_batch((1..=6).map(|i| big(i, 400)), &mut ready);
    let to_a1: Vec<Entries> = accepts(ready.messages())
        .into_iter()
        .filter(|(to, _, _)| *to == A1)
        .map(|(_, _, e)| e)
        .collect();
    assert_eq!(to_a1.len(), 3, "two 448-byte commands per accept");
    let slots: Vec<Slot> = to_a1.iter().flatten().map(|(s, _)| *s).collect();
    assert_eq!(slots, (0..6).map(Slot).collect::<Vec<_>>());
    let mut decided = Vec::new();
    for a in [A1, A2] {
        let ready = handle_proposer(
            &mut p,
            a,
            Message::Accepted {
                ballot,
                slots: slots.clone(),
            },
        );
        decided.extend(decides(ready.messages()));
    }
    let to_learner: Vec<Entries> = decided
        .into_iter()
        .filter(|(to, _)| *to == L)
        .map(|(_, e)| e)
        .collect();
    assert_eq!(to_learner.len(), 3, "{to_learner:?}");
    assert_eq!(to_learner.concat().len(), 6);
}

#[test]
fn candidate_ignores_promises_for_another_ballot_first_slot_or_from_non_acceptors() {
    let config = config();
    let mut p = proposer(P4, &config);
    let (ballot, _) = stand(&mut p, &config);
    let other_ballot = promise(b(ballot.round + 1, P5), Vec::new());
    let other_slot = Message::Promise {
        ballot,
        first_slot: Slot(3),
        accepted: Vec::new(),
        part: 0,
        parts: 1,
    };
    let _ = handle_proposer(&mut p, A1, promise(ballot, Vec::new()));
    let _ = handle_proposer(&mut p, A2, other_ballot);
    let _ = handle_proposer(&mut p, A3, other_slot);
    let _ = handle_proposer(&mut p, P5, promise(ballot, Vec::new()));
    let _ = handle_proposer(&mut p, L, promise(ballot, Vec::new()));
    assert_eq!(p.status(), Status::Candidate { ballot });
}

#[test]
fn new_leader_reproposes_the_highest_ballot_value_per_slot_and_fills_holes_with_noops() {
    let config = config();
    let state = DurableState {
        round: 5,
        ..DurableState::default()
    };
    let mut p = Proposer::restore(P4, &config, &state, 7);
    let (ballot, _) = stand(&mut p, &config);
    assert_eq!(ballot, b(6, P4));
    let from_a1 = vec![(Slot(0), b(2, P5), val(10)), (Slot(2), b(3, P5), val(12))];
    let from_a2 = vec![(Slot(0), b(4, P4), val(20)), (Slot(3), b(1, P5), val(23))];
    let _ = handle_proposer(&mut p, A1, promise(ballot, from_a1));
    let ready = handle_proposer(&mut p, A2, promise(ballot, from_a2));
    assert_eq!(p.status(), Status::Leader { ballot });
    let entries = vec![
        (Slot(0), val(20)),
        (Slot(1), Value::Noop),
        (Slot(2), val(12)),
        (Slot(3), val(23)),
    ];
    let want: Vec<_> = ACCEPTORS
        .iter()
        .map(|a| (*a, ballot, entries.clone()))
        .collect();
    assert_eq!(accepts(ready.messages()), want);
    // New commands go after the re-proposed slots.
    let ready = propose(&mut p, cmd(1, 1));
    let sent = accepts(ready.messages());
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].2, vec![(Slot(4), Value::from(cmd(1, 1)))]);
}

#[test]
fn candidate_queues_proposals_until_elected_then_sends_them() {
    let config = config();
    let mut p = proposer(P4, &config);
    let (ballot, _) = stand(&mut p, &config);
    let ready = propose(&mut p, cmd(1, 1));
    assert!(ready.is_empty());
    assert_eq!(p.queued(), 1);
    let _ = handle_proposer(&mut p, A1, promise(ballot, Vec::new()));
    let ready = handle_proposer(&mut p, A2, promise(ballot, Vec::new()));
    assert_eq!(p.queued(), 0);
    let sent = accepts(ready.messages());
    assert_eq!(sent.len(), 3);
    assert!(sent
        .iter()
        .all(|(_, bal, e)| *bal == ballot && *e == vec![(Slot(0), Value::from(cmd(1, 1)))]));
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

// ------------------------------------------------- proposer: steady state

#[test]
fn leader_chooses_a_slot_on_a_phase2_quorum_and_sends_decide_to_learners_and_proposers() {
    let config = config();
    let mut p = proposer(P4, &config);
    let ballot = elect_by_hand(&mut p, &config);
    let _ = propose(&mut p, cmd(1, 1));
    let accepted = Message::Accepted {
        ballot,
        slots: vec![Slot(0)],
    };
    let ready = handle_proposer(&mut p, A1, accepted.clone());
    assert!(
        decides(ready.messages()).is_empty(),
        "one acceptor is not a quorum"
    );
    let ready = handle_proposer(&mut p, A1, accepted.clone());
    assert!(
        decides(ready.messages()).is_empty(),
        "nor is the same one twice"
    );
    assert_eq!(p.commit(), Slot(0));
    let ready = handle_proposer(&mut p, A2, accepted.clone());
    let entries = vec![(Slot(0), Value::from(cmd(1, 1)))];
    assert_eq!(
        decides(ready.messages()),
        vec![(P5, entries.clone()), (L, entries)]
    );
    assert_eq!(p.commit(), Slot(1));
    let ready = handle_proposer(&mut p, A3, accepted);
    assert!(decides(ready.messages()).is_empty(), "decided once");
}

/// The acceptors each non-empty `Accept` in `ready` goes to.
fn accept_targets(ready: &Ready<Message>) -> Vec<NodeId> {
    accepts(ready.messages())
        .into_iter()
        .filter(|(_, _, entries)| !entries.is_empty())
        .map(|(to, _, _)| to)
        .collect()
}

#[test]
fn thrifty_leader_sends_to_one_quorum_retransmits_to_all_then_prefers_who_answered() {
    let mut config = config();
    config.proposers = vec![A1, P5];
    config.thrifty = true;
    let mut p = proposer(A1, &config);
    // A1 and A2 promised: heard from most recently.
    let ballot = elect_by_hand(&mut p, &config);
    let ready = propose(&mut p, cmd(1, 1));
    assert_eq!(accept_targets(&ready), vec![A1, A2], "own acceptor first");

    // Nobody answers: the retransmit goes to every acceptor.
    let mut resent = Vec::new();
    for _ in 0..config.retransmit_timeout {
        let mut ready = Ready::new();
        p.tick(&mut ready);
        resent.extend(accept_targets(&ready));
    }
    assert_eq!(resent, vec![A1, A2, A3]);

    // A1 and A3 answer; A2 stays silent.
    let accepted = Message::Accepted {
        ballot,
        slots: vec![Slot(0)],
    };
    let _ = handle_proposer(&mut p, A1, accepted.clone());
    let ready = handle_proposer(&mut p, A3, accepted);
    assert_eq!(decides(ready.messages()).len(), 2, "chosen by A1 and A3");
    let ready = propose(&mut p, cmd(1, 2));
    assert_eq!(accept_targets(&ready), vec![A1, A3], "A3 answered last");
}

#[test]
fn leader_sends_each_batch_to_every_acceptor_unless_thrifty() {
    let config = config();
    let mut p = proposer(P4, &config);
    let _ = elect_by_hand(&mut p, &config);
    let ready = propose(&mut p, cmd(1, 1));
    assert_eq!(accept_targets(&ready), vec![A1, A2, A3]);
}

#[test]
fn leader_ignores_accepted_for_another_ballot_or_from_non_acceptors() {
    let config = config();
    let mut p = proposer(P4, &config);
    let ballot = elect_by_hand(&mut p, &config);
    let _ = propose(&mut p, cmd(1, 1));
    let stale = Message::Accepted {
        ballot: b(ballot.round - 1, P5),
        slots: vec![Slot(0)],
    };
    let current = Message::Accepted {
        ballot,
        slots: vec![Slot(0)],
    };
    let _ = handle_proposer(&mut p, A1, current.clone());
    let _ = handle_proposer(&mut p, A2, stale);
    let _ = handle_proposer(&mut p, P5, current.clone());
    let ready = handle_proposer(&mut p, L, current);
    assert!(decides(ready.messages()).is_empty());
    assert_eq!(p.commit(), Slot(0));
}

#[test]
fn leader_batches_commands_that_arrive_while_the_pipeline_is_full() {
    let mut config = config();
    config.pipeline_max = 1;
    config.batch_max = 4;
    let mut cluster = Cluster::new(config.clone());
    cluster.elect(P4);
    cluster.propose(P4, cmd(1, 0));
    for seq in 1..=10 {
        cluster.propose(P4, cmd(1, seq));
        assert_eq!(
            cluster.net.in_flight(),
            3,
            "only the first batch is in flight"
        );
    }
    assert_eq!(cluster.proposer(P4).queued(), 10);
    cluster.run();
    let batches: Vec<Vec<(Slot, Value)>> = cluster
        .net
        .delivered
        .iter()
        .filter(|e| e.to == A1)
        .filter_map(|e| match &e.msg {
            Message::Accept { entries, .. } => Some(entries.clone()),
            _ => None,
        })
        .collect();
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 11, "every command sent once");
    assert!(sizes.len() < 11, "fewer Accepts than commands: {sizes:?}");
    assert!(sizes.iter().all(|n| *n <= config.batch_max), "{sizes:?}");
    assert_eq!(sizes, vec![1, 4, 4, 2]);
    let delivered: Vec<Value> = cluster
        .net
        .decided_by(L)
        .iter()
        .map(|(_, v)| v.clone())
        .collect();
    let want: Vec<Value> = (0..=10).map(|s| Value::from(cmd(1, s))).collect();
    assert_eq!(delivered, want, "in proposal order");
}

#[test]
fn leader_returns_commands_beyond_queue_max_in_dropped() {
    let mut config = config();
    config.pipeline_max = 1;
    config.queue_max = 2;
    let mut p = proposer(P4, &config);
    elect_by_hand(&mut p, &config);
    let mut dropped = Vec::new();
    for seq in 0..5 {
        dropped.extend(propose(&mut p, cmd(1, seq)).dropped().iter().cloned());
    }
    assert_eq!(p.queued(), 2);
    assert_eq!(dropped, vec![cmd(1, 3), cmd(1, 4)]);
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
fn follower_forwards_proposals_to_the_leader_it_knows() {
    let config = config();
    let mut p = proposer(P4, &config);
    let hb = Message::Heartbeat {
        ballot: b(1, P5),
        commit: Slot(0),
    };
    let _ = handle_proposer(&mut p, P5, hb);
    let ready = propose(&mut p, cmd(1, 1));
    assert_eq!(
        ready.messages(),
        vec![(
            P5,
            Message::Forward {
                commands: vec![cmd(1, 1)]
            }
        )]
    );
    assert!(ready.dropped().is_empty());
}

#[test]
fn follower_without_a_known_leader_returns_proposals_in_dropped() {
    let config = config();
    let mut p = proposer(P4, &config);
    let ready = propose(&mut p, cmd(1, 1));
    assert!(ready.messages().is_empty());
    assert_eq!(ready.dropped(), vec![cmd(1, 1)]);
}

#[test]
fn forwarded_commands_are_chosen_by_the_leader_and_dropped_by_a_follower() {
    let mut cluster = Cluster::new(config());
    cluster.elect(P4);
    cluster.propose(P5, cmd(1, 1));
    cluster.run();
    assert_eq!(
        cluster.net.decided_by(L),
        &[(Slot(0), Value::from(cmd(1, 1)))]
    );
    // A follower does not pass a forward on (one hop only).
    let forward = Message::Forward {
        commands: vec![cmd(2, 1)],
    };
    let ready = handle_proposer(cluster.proposer(P5), P4, forward);
    assert!(ready.messages().is_empty());
    assert_eq!(ready.dropped(), vec![cmd(2, 1)]);
}

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
fn new_leader_keeps_every_value_the_old_leader_got_chosen() {
    let mut cluster = Cluster::new(config());
    cluster.elect(P4);
    for seq in 0..3 {
        cluster.propose(P4, cmd(1, seq));
    }
    // Acceptors accept, but the leader never hears back: nobody learns.
    cluster.run_filtered(|to| to != P4 || ACCEPTORS.contains(&to));
    assert!(cluster.net.decided_by(L).is_empty());
    let old = cluster.proposer(P4).status();
    let new = cluster.elect(P5);
    assert!(matches!(old, Status::Leader { ballot } if ballot < new));
    let delivered: Vec<Value> = cluster
        .net
        .decided_by(L)
        .iter()
        .map(|(_, v)| v.clone())
        .collect();
    let want: Vec<Value> = (0..3).map(|s| Value::from(cmd(1, s))).collect();
    assert_eq!(delivered, want);
    // The old leader, deposed by the new one's heartbeat, gave up on them:
    // a dropped command may still be chosen, which is why clients retry
    // with the same (client, seq).
    let mut dropped = cluster.net.dropped_by(P4).to_vec();
    dropped.sort();
    assert_eq!(dropped, vec![cmd(1, 0), cmd(1, 1), cmd(1, 2)]);
}

// ---------------------------------------------------------------- learner

fn decide(entries: &[(u64, Value)]) -> Message {
    Message::Decide {
        entries: entries.iter().map(|(s, v)| (Slot(*s), v.clone())).collect(),
    }
}

#[test]
fn learner_delivers_in_slot_order_only() {
    let mut learner = Learner::new(&config());
    let ready = handle_learner(&mut learner, P4, decide(&[(1, val(1))]));
    assert!(ready.decided().is_empty(), "slot 0 is missing");
    assert_eq!(learner.next_slot(), Slot(0));
    let ready = handle_learner(&mut learner, P4, decide(&[(0, val(0))]));
    assert_eq!(ready.decided(), vec![(Slot(0), val(0)), (Slot(1), val(1))]);
    assert_eq!(learner.next_slot(), Slot(2));
}

#[test]
fn learner_delivers_each_slot_once() {
    let mut learner = Learner::new(&config());
    let _ = handle_learner(&mut learner, P4, decide(&[(0, val(0))]));
    let ready = handle_learner(&mut learner, P5, decide(&[(0, val(0)), (1, val(1))]));
    assert_eq!(ready.decided(), vec![(Slot(1), val(1))]);
}

#[test]
fn learner_asks_for_catch_up_after_retransmit_timeout_when_heartbeat_commit_is_ahead() {
    let config = config();
    let mut learner = Learner::new(&config);
    let _ = handle_learner(&mut learner, P4, decide(&[(0, val(0))]));
    let hb = Message::Heartbeat {
        ballot: b(1, P4),
        commit: Slot(3),
    };
    let _ = handle_learner(&mut learner, P4, hb);
    assert_eq!(learner.leader(), Some(P4));
    for tick in 1..config.retransmit_timeout {
        let mut ready = Ready::new();
        learner.tick(&mut ready);
        assert!(ready.is_empty(), "asked early, at tick {tick}");
    }
    let mut ready = Ready::new();
    learner.tick(&mut ready);
    assert_eq!(
        ready.messages(),
        vec![(P4, Message::CatchUp { from: Slot(1) })]
    );
}

#[test]
fn learner_that_is_not_behind_never_asks() {
    let config = config();
    let mut learner = Learner::new(&config);
    let _ = handle_learner(&mut learner, P4, decide(&[(0, val(0))]));
    let hb = Message::Heartbeat {
        ballot: b(1, P4),
        commit: Slot(1),
    };
    let _ = handle_learner(&mut learner, P4, hb);
    for _ in 0..5 * config.retransmit_timeout {
        let mut ready = Ready::new();
        learner.tick(&mut ready);
        assert!(ready.is_empty());
    }
}

#[test]
fn learner_whose_catch_up_goes_unanswered_asks_another_proposer() {
    let config = config();
    let mut learner = Learner::new(&config);
    let hb = Message::Heartbeat {
        ballot: b(1, P4),
        commit: Slot(2),
    };
    let _ = handle_learner(&mut learner, P4, hb);
    let mut asked = Vec::new();
    for _ in 0..2 * config.retransmit_timeout {
        let mut ready = Ready::new();
        learner.tick(&mut ready);
        asked.extend(ready.messages().iter().cloned());
    }
    let catch_up = Message::CatchUp { from: Slot(0) };
    assert_eq!(asked, vec![(P4, catch_up.clone()), (P5, catch_up)]);
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

// ---------------------------------------------------------------- replica

/// A state machine that appends each payload to a log and returns the log's
/// new length: applying a command twice would show.
#[derive(Debug, Default)]
struct Log(Vec<Vec<u8>>);

impl StateMachine for Log {
    type Error = Infallible;

    fn apply(&mut self, command: &[u8]) -> Vec<u8> {
        self.0.push(command.to_vec());
        vec![self.0.len() as u8]
    }

    fn snapshot(&self) -> Vec<u8> {
        self.0.concat()
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), Infallible> {
        self.0 = snapshot.iter().map(|b| vec![*b]).collect();
        Ok(())
    }
}

fn command(client: u64, seq: u64, payload: u8) -> Value {
    Value::from(Command {
        client: ClientId(client),
        seq,
        payload: vec![payload].into(),
    })
}

#[test]
fn replica_applies_each_client_seq_once_and_returns_the_first_result_for_a_duplicate() {
    let mut replica = Replica::new(Log::default());
    let first = replica.apply(Slot(0), &command(1, 1, 10));
    assert_eq!(
        first,
        Outcome::Applied {
            client: ClientId(1),
            seq: 1,
            result: vec![1]
        }
    );
    let _ = replica.apply(Slot(1), &command(2, 1, 20));
    let again = replica.apply(Slot(2), &command(1, 1, 10));
    assert_eq!(
        again,
        Outcome::Duplicate {
            client: ClientId(1),
            seq: 1,
            result: vec![1]
        }
    );
    assert_eq!(replica.state_machine().0, vec![vec![10], vec![20]]);
    assert_eq!(replica.next_slot(), Slot(3));
}

#[test]
fn replica_does_not_apply_an_older_seq_of_a_client_that_moved_on() {
    let mut replica = Replica::new(Log::default());
    let _ = replica.apply(Slot(0), &command(1, 2, 10));
    let stale = replica.apply(Slot(1), &command(1, 1, 11));
    assert_eq!(
        stale,
        Outcome::Stale {
            client: ClientId(1),
            seq: 1
        }
    );
    assert_eq!(replica.state_machine().0, vec![vec![10]]);
    let next = replica.apply(Slot(2), &command(1, 3, 12));
    assert!(matches!(next, Outcome::Applied { seq: 3, .. }));
}

#[test]
fn replica_noop_yields_outcome_noop_and_advances() {
    let mut replica = Replica::new(Log::default());
    assert_eq!(replica.apply(Slot(0), &Value::Noop), Outcome::Noop);
    assert_eq!(replica.next_slot(), Slot(1));
    assert!(replica.state_machine().0.is_empty());
}

#[test]
#[should_panic(expected = "out of order")]
fn replica_refuses_a_slot_out_of_order() {
    let mut replica = Replica::new(Log::default());
    let _ = replica.apply(Slot(1), &Value::Noop);
}

#[test]
fn replica_fed_by_a_learner_applies_a_retried_command_once() {
    let mut cluster = Cluster::new(config());
    cluster.elect(P4);
    // The client retries (1, 1) after a timeout: it is chosen twice.
    for c in [cmd(1, 1), cmd(2, 1), cmd(1, 1), cmd(1, 2)] {
        cluster.propose(P4, c);
    }
    cluster.run();
    let mut replica = Replica::new(Log::default());
    let outcomes: Vec<Outcome> = cluster
        .net
        .decided_by(L)
        .iter()
        .map(|(slot, value)| replica.apply(*slot, value))
        .collect();
    assert_eq!(outcomes.len(), 4);
    assert!(matches!(outcomes[2], Outcome::Duplicate { seq: 1, .. }));
    assert_eq!(replica.state_machine().0.len(), 3);
}

// ---------------------------------------------------------------- config

#[test]
fn multi_config_with_defaults_is_valid() {
    assert_eq!(config().validate(), Ok(()));
}

#[test]
fn multi_config_validate_rejects_election_timeout_not_above_heartbeat_interval() {
    for election_timeout in [1, 2] {
        let mut config = config();
        config.heartbeat_interval = 2;
        config.election_timeout = election_timeout;
        assert!(matches!(
            config.validate(),
            Err(Error::InvalidConfig {
                field: "election_timeout",
                ..
            })
        ));
    }
}

#[test]
fn multi_config_validate_rejects_missing_learners_or_proposers() {
    let mut config = config();
    config.learners.clear();
    assert_eq!(config.validate(), Err(Error::MissingRole("learners")));
    let mut config = self::config();
    config.proposers.clear();
    assert_eq!(config.validate(), Err(Error::MissingRole("proposers")));
}

#[test]
fn multi_config_validate_rejects_zero_limits_naming_the_field() {
    type Setter = fn(&mut Config);
    let cases: [(&str, Setter); 6] = [
        ("heartbeat_interval", |c| c.heartbeat_interval = 0),
        ("retransmit_timeout", |c| c.retransmit_timeout = 0),
        ("batch_max", |c| c.batch_max = 0),
        ("pipeline_max", |c| c.pipeline_max = 0),
        ("queue_max", |c| c.queue_max = 0),
        ("catchup_max", |c| c.catchup_max = 0),
    ];
    for (field, zero) in cases {
        let mut config = config();
        zero(&mut config);
        assert!(
            matches!(config.validate(), Err(Error::InvalidConfig { field: f, .. }) if f == field),
            "{field}: {:?}",
            config.validate()
        );
    }
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

#[test]
fn leader_sends_commands_proposed_together_in_one_accept_per_acceptor() {
    let config = config();
    let mut p = proposer(P4, &config);
    let ballot = elect_by_hand(&mut p, &config);
    let mut ready = Ready::new();
    p.propose_batch((1..=10).map(|seq| cmd(1, seq)), &mut ready);
    let sent = accepts(ready.messages());
    assert_eq!(sent.len(), 3, "one Accept per acceptor: {sent:?}");
    for (_, bal, entries) in &sent {
        assert_eq!(*bal, ballot);
        let seqs: Vec<Value> = entries.iter().map(|(_, v)| v.clone()).collect();
        assert_eq!(
            seqs,
            (1..=10).map(|s| Value::from(cmd(1, s))).collect::<Vec<_>>()
        );
    }
}

#[test]
fn follower_forwards_commands_proposed_together_in_one_message() {
    let config = config();
    let mut p = proposer(P4, &config);
    let hb = Message::Heartbeat {
        ballot: b(3, P5),
        commit: Slot(0),
    };
    let _ = handle_proposer(&mut p, P5, hb);
    let mut ready = Ready::new();
    p.propose_batch((1..=5).map(|seq| cmd(2, seq)), &mut ready);
    assert_eq!(ready.messages().len(), 1);
    assert!(
        matches!(&ready.messages()[0], (to, Message::Forward { commands }) if *to == P5 && commands.len() == 5)
    );
}

#[test]
fn durable_learner_resumes_after_its_logged_prefix_and_logs_what_it_delivers() {
    let config = config();
    let mut state = paxos_core::DurableState::default();
    for s in [0, 1, 3] {
        state.apply(&paxos_core::Record::Decided {
            slot: Slot(s),
            value: val(s),
        });
    }
    assert_eq!(
        state.decided_prefix(),
        vec![(Slot(0), val(0)), (Slot(1), val(1))],
        "the prefix stops at the first gap"
    );
    let mut learner = Learner::restore(&config, &state);
    assert_eq!(learner.next_slot(), Slot(2));
    let decide = Message::Decide {
        entries: vec![(Slot(1), val(1)), (Slot(2), val(2))],
    };
    let ready = handle_learner(&mut learner, P4, decide);
    assert_eq!(ready.decided(), vec![(Slot(2), val(2))]);
    assert!(ready.records().is_empty(), "nothing gates a chosen value");
    assert_eq!(
        ready.written_behind(),
        vec![paxos_core::Record::Decided {
            slot: Slot(2),
            value: val(2)
        }]
    );
    // A learner without a durable log persists nothing.
    let mut plain = Learner::new(&config);
    let ready = handle_learner(
        &mut plain,
        P4,
        Message::Decide {
            entries: vec![(Slot(0), val(0))],
        },
    );
    assert!(ready.records().is_empty());
    assert!(ready.written_behind().is_empty());
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

#[test]
fn a_thrifty_takeover_goes_to_the_acceptors_that_promised() {
    let mut config = config();
    config.thrifty = true;
    let mut p = proposer(P4, &config);
    let (ballot, _) = stand(&mut p, &config);
    // A1 is down: A2 and A3 promise; A3 reports a value to re-propose.
    let _ = handle_proposer(&mut p, A2, promise(ballot, Vec::new()));
    let ready = handle_proposer(
        &mut p,
        A3,
        promise(ballot, vec![(Slot(0), b(1, P5), val(1))]),
    );
    assert_eq!(p.status(), Status::Leader { ballot });
    let to: Vec<NodeId> = accepts(ready.messages())
        .into_iter()
        .map(|(to, _, _)| to)
        .collect();
    assert_eq!(to, vec![A2, A3], "takeover Accept sent to {to:?}");
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
