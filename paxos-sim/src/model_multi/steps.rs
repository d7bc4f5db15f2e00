//! How each step of the Multi-Paxos model runs the real roles and carries
//! out what they ask for (persist, then send), with the checks the
//! reductions in [`super`] rest on.

use super::{index, Envelope, MultiPaxosModel, State, ACCEPTORS, LEARNERS, PROPOSERS, TICKS_MAX};
use paxos_core::multi::{Message, Status};
use paxos_core::{Command, MemStorage, NodeId, Pipeline, Ready, Record, Slot, Value};

/// What one `Ready` asks for, taken out of it.
#[derive(Debug, Default)]
pub struct Effects {
    /// Records to sync before any message leaves.
    pub persist: Vec<Record>,
    /// Messages to send, with their destinations.
    pub messages: Vec<(NodeId, Message)>,
    /// Entries delivered to the application.
    pub decided: Vec<(Slot, Value)>,
    /// Client commands given back.
    pub dropped: Vec<Command>,
}

impl Effects {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.persist.is_empty()
            && self.messages.is_empty()
            && self.decided.is_empty()
            && self.dropped.is_empty()
    }
}

/// An empty buffer for a role to fill.
pub(super) fn ready() -> Ready<Message> {
    Ready::new()
}

/// The one place that reads a `Ready`: its effects, in the order the core
/// prescribes (persist, then send, then deliver).
/// The messages are the ones the core's pipeline releases once the
/// records are synced (at once, in the model).
pub fn carry_out(mut ready: Ready<Message>) -> Effects {
    let mut persist = ready.records().to_vec();
    persist.extend(ready.written_behind().iter().cloned());
    let step = match Pipeline::new().run_inline(&mut ready, &mut MemStorage::new()) {
        Ok(step) => step,
        Err(e) => unreachable!("in-memory storage without planted faults failed: {e}"),
    };
    Effects {
        persist,
        messages: step.send,
        decided: step.apply,
        dropped: step.dropped,
    }
}

impl MultiPaxosModel {
    /// Persists, then sends, what a role on `node` asked for. An acceptor's
    /// `Accepted` reports do not enter the network: they are returned, for
    /// the leader to handle at once or never (reduction 2).
    pub(super) fn apply(state: &mut State, node: NodeId, effects: Effects) -> Vec<Envelope> {
        let mut reports = Vec::new();
        if let Some(i) = index(&ACCEPTORS, node) {
            for record in &effects.persist {
                state.durable[i].apply(record);
                match record {
                    Record::Accept {
                        slot,
                        ballot,
                        value,
                    } => {
                        state.accepts.insert((node, *slot, *ballot, value.clone()));
                    }
                    Record::Promise(_) => {}
                    other => panic!("acceptor {node} asked to persist {other:?}"),
                }
            }
        } else if let Some(i) = index(&PROPOSERS, node) {
            for record in &effects.persist {
                assert!(
                    matches!(record, Record::Round(_)),
                    "{node} persisted {record:?}"
                );
                state.reserved[i].apply(record);
            }
        }
        assert!(effects.decided.is_empty(), "{node} delivered entries");
        for (to, msg) in effects.messages {
            Self::check_sent(state, node, &msg);
            if index(&LEARNERS, to).is_some() {
                // Learners are observers (reduction 1).
                match msg {
                    Message::Decide { entries } => {
                        state.decides.insert(entries);
                    }
                    Message::Heartbeat { .. } => {}
                    other => panic!("{node} sent {other:?} to learner {to}"),
                }
                continue;
            }
            let env = Envelope {
                from: node,
                to,
                msg,
            };
            if matches!(env.msg, Message::Accepted { .. }) {
                reports.push(env);
            } else {
                state.network.insert(env);
            }
        }
        reports
    }

    /// Panics if `msg` breaks an assumption the reductions rest on, or
    /// reports acceptor state that is not synced (persist before send).
    fn check_sent(state: &State, node: NodeId, msg: &Message) {
        match msg {
            Message::Accept { entries, .. } => {
                for (slot, _) in entries {
                    assert!(
                        (slot.0 as usize) < state.submitted,
                        "{node} proposed {slot} with {} commands submitted",
                        state.submitted
                    );
                }
            }
            Message::Forward { .. } => panic!("{node} forwarded a command"),
            Message::Promise { ballot, .. } | Message::Accepted { ballot, .. } => {
                let Some(i) = index(&ACCEPTORS, node) else {
                    panic!("{node} is not an acceptor but sent {msg:?}")
                };
                assert!(
                    state.durable[i].promised >= *ballot,
                    "{node} reported {ballot} unsynced"
                );
                if let Message::Accepted { slots, .. } = msg {
                    for slot in slots {
                        let synced = (state.accepts.iter())
                            .any(|(a, s, b, _)| (*a, *s, *b) == (node, *slot, *ballot));
                        assert!(synced, "{node} reported {slot} in {ballot} unsynced");
                    }
                }
            }
            _ => {}
        }
    }

    /// Delivers `env`; if `ack`, the leader then handles the `Accepted`
    /// reports it caused, else they are lost.
    pub(super) fn deliver(state: &mut State, env: Envelope, ack: bool) {
        let mut out = ready();
        if let Some(i) = index(&ACCEPTORS, env.to) {
            state.acceptors[i].handle(env.from, env.msg, &mut out);
        } else if let Some(i) = index(&PROPOSERS, env.to) {
            if matches!(env.msg, Message::Heartbeat { .. }) {
                state.heartbeats_used[i].insert(env.clone());
            }
            state.proposers[i].handle(env.from, env.msg, &mut out);
        }
        let reports = Self::apply(state, env.to, carry_out(out));
        for report in reports.into_iter().filter(|_| ack) {
            let Some(i) = index(&PROPOSERS, report.to) else {
                panic!("{} reported to {}, not a proposer", report.from, report.to)
            };
            let mut out = ready();
            state.proposers[i].handle(report.from, report.msg, &mut out);
            let more = Self::apply(state, report.to, carry_out(out));
            assert!(more.is_empty(), "a proposer sent Accepted");
        }
    }

    /// Ticks proposer `i` until it stands for election.
    pub(super) fn timeout(&self, state: &mut State, i: usize) {
        let id = PROPOSERS[i];
        let reserved = state.reserved[i].round;
        let mut out = ready();
        let proposer = &mut state.proposers[i];
        for _ in 0..TICKS_MAX {
            let before = proposer.status();
            proposer.tick(&mut out);
            let after = proposer.status();
            if let Status::Candidate { ballot } = after {
                if before != after {
                    // Pruning relies on a proposer never reusing a ballot.
                    assert!(
                        ballot.round > reserved,
                        "{id} reused round {}",
                        ballot.round
                    );
                    state.stands[i] += 1;
                    let mut effects = carry_out(out);
                    // A leader's probes and retransmits on the way repeat
                    // what the network holds (reduction 4).
                    effects
                        .messages
                        .retain(|(_, m)| !matches!(m, Message::Accept { .. }));
                    let reports = Self::apply(state, id, effects);
                    assert!(reports.is_empty(), "a proposer sent Accepted");
                    return;
                }
            }
        }
        panic!("{id} did not stand for election in {TICKS_MAX} ticks");
    }
}
