//! The Multi-Paxos proposer: its state, its public API, and the dispatch
//! of each input to the module that owns that part of the protocol:
//!
//! - [`election`]: timers, standing, stepping down, heartbeats, check-quorum;
//! - [`phase1`]: collecting promises and taking over as leader;
//! - [`phase2`]: batching, `Accept`/`Accepted`, retransmits, thrifty sends;
//! - [`catchup`]: the chosen log, serving and asking for catch-up.

mod catchup;
mod election;
mod phase1;
mod phase2;
#[cfg(test)]
mod tests;

use super::chosen::ChosenLog;
use super::window::SlotWindow;
use super::{split_by_size, Config, Message};
use crate::durable::DurableState;
use crate::invariant::{check, debug_holds, Invariant, InvariantViolation};
use crate::ready::Ready;
use crate::types::{Ballot, Command, Jitter, NodeId, Slot, Value};
use phase2::Acks;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// What a proposer currently believes about leadership.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Following `leader` (if one is known).
    Follower {
        /// The leader last heard from.
        leader: Option<NodeId>,
    },
    /// Running Phase 1 in `ballot`.
    Candidate {
        /// The ballot stood for.
        ballot: Ballot,
    },
    /// Leading in `ballot`: Phase 2 only.
    Leader {
        /// The leader's ballot.
        ballot: Ballot,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct InFlight {
    value: Value,
    /// Acceptors that accepted this slot, as bits by their index in the
    /// quorum system's acceptor list (small, allocation-free).
    acks: Acks,
    sent_at: u64,
    batch: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Role {
    Follower {
        leader: Option<(NodeId, Ballot)>,
    },
    Candidate {
        ballot: Ballot,
        first_slot: Slot,
        /// Each acceptor's promise: its parts so far, and how many it has.
        promises: BTreeMap<NodeId, PromiseParts>,
    },
    Leader {
        ballot: Ballot,
        next_slot: Slot,
        inflight: SlotWindow<InFlight>,
        /// Open batches and how many of their slots are not yet chosen.
        batches: BTreeMap<u64, usize>,
        next_batch: u64,
        /// Tick this leadership began.
        since: u64,
        /// Last tick each acceptor answered this ballot (check-quorum).
        heard: BTreeMap<NodeId, u64>,
    },
}

/// The parts of one acceptor's promise received so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct PromiseParts {
    parts: u32,
    got: BTreeMap<u32, Vec<(Slot, Ballot, Value)>>,
}

impl PromiseParts {
    fn complete(&self) -> bool {
        self.got.len() as u64 == u64::from(self.parts)
    }
}

/// A Multi-Paxos proposer: a follower, a candidate running Phase 1, or the
/// leader running Phase 2 for client commands.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Proposer {
    id: NodeId,
    config: Config,
    jitter: Jitter,
    /// The highest round reserved durably; new ballots use higher rounds.
    round: u64,
    /// The highest ballot seen anywhere.
    seen: Ballot,
    role: Role,
    /// Entries known to be chosen (learned as leader or from `Decide`).
    chosen: ChosenLog,
    queue: VecDeque<Arc<Command>>,
    now: u64,
    election_at: u64,
    heartbeat_at: u64,
    /// Failed candidacies in a row; widens the election jitter so dueling
    /// candidates spread out (capped exponential back-off).
    misses: u32,
    /// Tick before which this follower asks for no more catch-up.
    catchup_at: u64,
    /// The leader ballot heard in heartbeats, and since when: once one has
    /// held for an election timeout, the election back-off resets.
    leader_since: Option<(Ballot, u64)>,
}

impl Proposer {
    /// Restores a proposer from its node's synced state. It starts as a
    /// follower; `seed` drives its election jitter.
    pub fn restore(id: NodeId, config: &Config, state: &DurableState, seed: u64) -> Self {
        let mut p = Proposer {
            id,
            config: config.clone(),
            jitter: Jitter::new(seed ^ id.0.rotate_left(32)),
            round: state.round,
            seen: Ballot::ZERO,
            role: Role::Follower { leader: None },
            chosen: ChosenLog::default(),
            queue: VecDeque::new(),
            now: 0,
            election_at: 0,
            heartbeat_at: 0,
            misses: 0,
            catchup_at: 0,
            leader_since: None,
        };
        p.reset_election_timer();
        p
    }

    /// Records entries known to be chosen from elsewhere (a durable learner
    /// log on the same node), so that after a restart this proposer stands
    /// for election from the end of that log rather than from slot 0.
    ///
    /// # Panics
    /// If an entry contradicts a value already known chosen at its slot
    /// ([`Invariant::ChosenValueUnchanged`]).
    pub fn learn(&mut self, entries: impl IntoIterator<Item = (Slot, Value)>) {
        let before = self.watermarks();
        for (slot, value) in entries {
            self.learn_chosen(slot, value);
        }
        self.debug_check_step(before);
    }

    /// This proposer's node.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Follower, candidate or leader, and with which ballot.
    pub fn status(&self) -> Status {
        match &self.role {
            Role::Follower { leader } => Status::Follower {
                leader: leader.map(|(n, _)| n),
            },
            Role::Candidate { ballot, .. } => Status::Candidate { ballot: *ballot },
            Role::Leader { ballot, .. } => Status::Leader { ballot: *ballot },
        }
    }

    /// Whether this proposer currently leads.
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader { .. })
    }

    /// Every slot below this one is known to be chosen here.
    pub fn commit(&self) -> Slot {
        self.chosen.commit()
    }

    /// Commands waiting for a slot.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    fn my_ballot(&self) -> Option<Ballot> {
        match &self.role {
            Role::Candidate { ballot, .. } | Role::Leader { ballot, .. } => Some(*ballot),
            Role::Follower { .. } => None,
        }
    }

    fn acceptors(&self) -> Vec<NodeId> {
        self.config.quorum.acceptors().collect()
    }

    /// Learners, and the other proposers (they keep the chosen log too, so a
    /// new leader need not start Phase 1 from slot 0).
    fn audience(&self) -> BTreeSet<NodeId> {
        let others = self.config.proposers.iter().filter(|p| **p != self.id);
        self.config.learners.iter().chain(others).copied().collect()
    }

    /// Submits a client command. A leader queues it for the next batch; a
    /// candidate queues it until the election ends; a follower forwards it
    /// to the leader it knows, or returns it in `ready.dropped()` if it knows
    /// none or its queue is full.
    pub fn propose(&mut self, command: Command, ready: &mut Ready<Message>) {
        self.propose_batch(std::iter::once(command), ready);
    }

    /// Submits many commands at once: a leader queues them all before it
    /// sends, so they share `Accept` messages; a follower forwards them in
    /// one message. Otherwise as [`Proposer::propose`]. A command already
    /// in an `Arc` becomes a log value without another allocation.
    pub fn propose_batch<C: Into<Arc<Command>>>(
        &mut self,
        commands: impl IntoIterator<Item = C>,
        ready: &mut Ready<Message>,
    ) {
        let before = self.watermarks();
        self.submit(commands, ready);
        self.debug_check_step(before);
    }

    /// [`Proposer::propose_batch`] without the debug re-check, for inputs
    /// that submit commands as one part of their work.
    fn submit<C: Into<Arc<Command>>>(
        &mut self,
        commands: impl IntoIterator<Item = C>,
        ready: &mut Ready<Message>,
    ) {
        let commands = commands.into_iter().map(Into::into);
        match &self.role {
            Role::Follower {
                leader: Some((l, _)),
            } if *l != self.id => {
                let commands: Vec<Command> = commands.map(Arc::unwrap_or_clone).collect();
                let bytes_max = self.config.message_bytes_max;
                for commands in split_by_size(commands, usize::MAX, bytes_max, Command::size_hint) {
                    ready.send_now(*l, Message::Forward { commands });
                }
            }
            Role::Follower { .. } => {
                commands.for_each(|c| ready.drop_command(Arc::unwrap_or_clone(c)))
            }
            Role::Candidate { .. } | Role::Leader { .. } => {
                for command in commands {
                    if self.queue.len() >= self.config.queue_max {
                        ready.drop_command(Arc::unwrap_or_clone(command));
                    } else {
                        self.queue.push_back(command);
                    }
                }
                self.flush(ready);
            }
        }
    }

    /// Handles one message; those for other roles are ignored.
    pub fn handle(&mut self, from: NodeId, msg: Message, ready: &mut Ready<Message>) {
        let before = self.watermarks();
        match msg {
            Message::Promise {
                ballot,
                first_slot,
                accepted,
                part,
                parts,
            } => self.on_promise(from, ballot, first_slot, (part, parts, accepted), ready),
            Message::Accepted { ballot, slots } => self.on_accepted(from, ballot, &slots, ready),
            Message::Nack { ballot, promised } => self.on_nack(ballot, promised, ready),
            Message::Heartbeat { ballot, commit } => self.on_heartbeat(from, ballot, commit, ready),
            Message::Decide { entries } => self.on_decide(entries),
            Message::CatchUp { from: first } => self.on_catch_up(from, first, ready),
            Message::Forward { commands } => {
                // Only one hop: a follower that gets a forward drops it
                // rather than bounce it between two stale nodes.
                if matches!(self.role, Role::Follower { .. }) {
                    commands.into_iter().for_each(|c| ready.drop_command(c));
                } else {
                    self.submit(commands, ready);
                }
            }
            Message::Prepare { .. } | Message::Accept { .. } => {}
        }
        self.debug_check_step(before);
    }

    /// Advances time by one tick: followers and candidates whose timer ran
    /// out stand for election; a leader sends heartbeats and resends
    /// accepts that went unanswered.
    pub fn tick(&mut self, ready: &mut Ready<Message>) {
        let before = self.watermarks();
        self.now += 1;
        match &self.role {
            Role::Follower { .. } | Role::Candidate { .. } => {
                if self.now >= self.election_at {
                    self.stand(ready);
                }
            }
            Role::Leader { since, .. } => {
                if self.now.saturating_sub(*since) >= self.config.election_timeout {
                    self.misses = 0;
                }
                if self.now >= self.heartbeat_at {
                    self.heartbeat(ready);
                    self.probe(ready);
                }
                self.retransmit(ready);
                if !self.hears_phase2_quorum() {
                    // Check-quorum: a leader that cannot reach a phase-2
                    // quorum commits nothing, and its heartbeats would only
                    // keep a connected majority from electing someone else.
                    self.step_down(None, ready);
                }
            }
        }
        self.debug_check_step(before);
    }

    /// Checks every invariant of this proposer: its quorum system, its
    /// chosen log, its ballots and queue, and those of its role (a
    /// candidate's promises; a leader's in-flight window and batches). See
    /// [`Invariant`] for each. Costs O(acceptors + promised entries + the
    /// leader's slots from its commit point to its next slot).
    ///
    /// Debug builds run it after every input and panic on a violation;
    /// release builds keep only O(1) checks, where values change.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        self.config.quorum.check_invariants()?;
        self.chosen.check_invariants()?;
        self.check_ballots()?;
        self.check_queue()?;
        match &self.role {
            Role::Follower { .. } => Ok(()),
            Role::Candidate { .. } => self.check_candidate(),
            Role::Leader { .. } => self.check_leader(),
        }
    }

    fn watermarks(&self) -> Watermarks {
        Watermarks {
            round: self.round,
            seen: self.seen,
            commit: self.chosen.commit(),
        }
    }

    /// Debug builds only: after an input, nothing that only grows went
    /// down, and every invariant holds.
    fn debug_check_step(&self, before: Watermarks) {
        debug_holds("multi proposer", || {
            let after = self.watermarks();
            let grew = after.round >= before.round && after.seen >= before.seen;
            check(grew, Invariant::BallotsOnlyGrow, || {
                format!("proposer {}: {before:?} then {after:?}", self.id)
            })?;
            check(
                after.commit >= before.commit,
                Invariant::DecidedPrefixOnlyGrows,
                || format!("proposer {}: {before:?} then {after:?}", self.id),
            )?;
            self.check_invariants()
        });
    }
}

/// What only grows in a proposer, read before an input so that the debug
/// re-check after it can tell whether any of it went down.
#[derive(Clone, Copy, Debug)]
struct Watermarks {
    round: u64,
    seen: Ballot,
    commit: Slot,
}
