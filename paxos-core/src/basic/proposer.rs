use super::{Config, Message};
use crate::durable::{DurableState, Record};
use crate::invariant::{check, debug_holds, Invariant, InvariantViolation};
use crate::ready::Ready;
use crate::types::{Ballot, Jitter, NodeId, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Where a proposer is in its attempt to get a value chosen.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Phase {
    /// Nothing to propose.
    Idle,
    /// Backing off before retrying with a higher ballot.
    Waiting,
    /// Phase 1: collecting promises for `ballot`.
    Preparing {
        ballot: Ballot,
        promises: BTreeMap<NodeId, Option<(Ballot, Value)>>,
    },
    /// Phase 2: collecting accepts of `value` in `ballot`.
    Accepting {
        ballot: Ballot,
        value: Value,
        accepted: BTreeSet<NodeId>,
    },
    /// A phase-2 quorum accepted `value`: it is chosen.
    Done { value: Value },
}

/// A single-decree proposer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Proposer {
    id: NodeId,
    config: Config,
    /// The highest round reserved durably; ballots above it are fresh.
    round: u64,
    /// The highest ballot seen in any reply.
    seen: Ballot,
    value: Option<Value>,
    phase: Phase,
    now: u64,
    deadline: u64,
    jitter: Jitter,
    /// Ballots tried so far for this value: the timeout and back-off double
    /// with each (capped), so duels and slow links still end in a decision.
    attempts: u32,
}

impl Proposer {
    /// Restores a proposer. It never reuses a round at or below
    /// `state.round`, so a restart cannot reuse a ballot. `seed` drives the
    /// randomized back-off.
    pub fn restore(id: NodeId, config: &Config, state: &DurableState, seed: u64) -> Self {
        Proposer {
            id,
            config: config.clone(),
            round: state.round,
            seen: Ballot::ZERO,
            value: None,
            phase: Phase::Idle,
            now: 0,
            deadline: 0,
            jitter: Jitter::new(seed ^ id.0.rotate_left(32)),
            attempts: 0,
        }
    }

    /// `base` doubled per failed attempt, at most 32 times over.
    fn scaled(&self, base: u64) -> u64 {
        base << self.attempts.saturating_sub(1).min(5)
    }

    /// The current ballot, while in phase 1 or 2.
    pub fn ballot(&self) -> Option<Ballot> {
        match &self.phase {
            Phase::Preparing { ballot, .. } | Phase::Accepting { ballot, .. } => Some(*ballot),
            _ => None,
        }
    }

    /// The chosen value, once this proposer has seen a phase-2 quorum accept it.
    pub fn chosen(&self) -> Option<&Value> {
        match &self.phase {
            Phase::Done { value } => Some(value),
            _ => None,
        }
    }

    /// Asks to get `value` chosen (or whatever value Paxos forces instead).
    /// A proposer that already knows the chosen value ignores this.
    pub fn propose(&mut self, value: Value, ready: &mut Ready<Message>) {
        let round_before = self.round;
        if !matches!(self.phase, Phase::Done { .. }) {
            if self.value.is_none() {
                self.value = Some(value);
            }
            if matches!(self.phase, Phase::Idle) {
                self.start_phase1(ready);
            }
        }
        self.debug_check_step(round_before);
    }

    /// Runs a recovery round if idle: Phase 1 without a value of its own,
    /// finishing only if a promise reports a value to re-propose.
    pub fn recover(&mut self, ready: &mut Ready<Message>) {
        let round_before = self.round;
        if matches!(self.phase, Phase::Idle) {
            self.start_phase1(ready);
        }
        self.debug_check_step(round_before);
    }

    /// Starts over with a higher ballot (also what a timeout does). Public
    /// so a model checker can explore retries without waiting for ticks.
    pub fn retry(&mut self, ready: &mut Ready<Message>) {
        let round_before = self.round;
        if self.value.is_some() && !matches!(self.phase, Phase::Done { .. }) {
            self.start_phase1(ready);
        }
        self.debug_check_step(round_before);
    }

    fn start_phase1(&mut self, ready: &mut Ready<Message>) {
        self.round = Ballot::fresh_round(self.id, self.round, self.seen);
        let ballot = Ballot::new(self.round, self.id);
        // The reservation must be durable before the Prepare leaves.
        ready.persist(Record::Round(self.round));
        let acceptors: Vec<NodeId> = self.config.quorum.acceptors().collect();
        ready.broadcast(acceptors, Message::Prepare { ballot });
        self.phase = Phase::Preparing {
            ballot,
            promises: BTreeMap::new(),
        };
        self.attempts = self.attempts.saturating_add(1);
        self.deadline = self.now + self.scaled(self.config.retry_timeout);
    }

    fn back_off(&mut self) {
        self.phase = Phase::Waiting;
        let spread = self.scaled(self.config.backoff_max);
        self.deadline = self.now + 1 + self.jitter.below(spread);
    }

    /// Handles a reply from an acceptor.
    pub fn handle(&mut self, from: NodeId, msg: Message, ready: &mut Ready<Message>) {
        let round_before = self.round;
        match msg {
            Message::Promise { ballot, accepted } => self.on_promise(from, ballot, accepted, ready),
            Message::Accepted { ballot, .. } => self.on_accepted(from, ballot),
            Message::Recover => self.recover(ready),
            Message::Nack { ballot, promised } => {
                self.seen = self.seen.max(promised);
                if self.ballot() == Some(ballot) {
                    self.back_off();
                }
            }
            _ => {}
        }
        self.debug_check_step(round_before);
    }

    fn on_promise(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        accepted: Option<(Ballot, Value)>,
        ready: &mut Ready<Message>,
    ) {
        let Phase::Preparing {
            ballot: mine,
            promises,
        } = &mut self.phase
        else {
            return;
        };
        if *mine != ballot || !self.config.quorum.is_acceptor(from) {
            return;
        }
        promises.insert(from, accepted);
        let voters: BTreeSet<NodeId> = promises.keys().copied().collect();
        if !self.config.quorum.is_phase1_quorum(&voters) {
            return;
        }
        // The rule that makes Paxos safe: adopt the highest-ballot value reported.
        let reported = promises.values().flatten().max_by_key(|(b, _)| *b).cloned();
        let value = match (reported, self.value.clone()) {
            (Some((_, v)), _) if !self.config.bugs.proposer_ignores_promised_values() => v,
            (_, Some(own)) => own,
            (_, None) => {
                // A recovery round with nothing to recover.
                self.phase = Phase::Idle;
                return;
            }
        };
        let acceptors: Vec<NodeId> = self.config.quorum.acceptors().collect();
        let accept = Message::Accept {
            ballot,
            value: value.clone(),
        };
        ready.broadcast_now(acceptors, accept);
        self.phase = Phase::Accepting {
            ballot,
            value,
            accepted: BTreeSet::new(),
        };
        self.deadline = self.now + self.scaled(self.config.retry_timeout);
    }

    fn on_accepted(&mut self, from: NodeId, ballot: Ballot) {
        let Phase::Accepting {
            ballot: mine,
            value,
            accepted,
        } = &mut self.phase
        else {
            return;
        };
        if *mine != ballot || !self.config.quorum.is_acceptor(from) {
            return;
        }
        accepted.insert(from);
        if self.config.quorum.is_phase2_quorum(accepted) {
            self.phase = Phase::Done {
                value: value.clone(),
            };
        }
    }

    /// Advances time by one tick: a phase that took too long backs off, and a
    /// finished back-off retries with a higher ballot.
    pub fn tick(&mut self, ready: &mut Ready<Message>) {
        let round_before = self.round;
        self.now += 1;
        if self.now >= self.deadline {
            match self.phase {
                Phase::Waiting if self.value.is_none() => self.phase = Phase::Idle,
                Phase::Waiting => self.start_phase1(ready),
                Phase::Preparing { .. } | Phase::Accepting { .. } => self.back_off(),
                Phase::Idle | Phase::Done { .. } => {}
            }
        }
        self.debug_check_step(round_before);
    }

    /// Checks this proposer's invariants: its quorum system; the ballot of
    /// an open phase is its own and covered by its reserved round; votes
    /// come only from acceptors; and an open phase holds no quorum of them
    /// (it would have moved on). O(acceptors); debug builds run it after
    /// every input.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        self.config.quorum.check_invariants()?;
        let (id, round, quorum) = (self.id, self.round, &self.config.quorum);
        let (ballot, voters, is_quorum): (Ballot, BTreeSet<NodeId>, bool) = match &self.phase {
            Phase::Preparing { ballot, promises } => {
                let voters: BTreeSet<NodeId> = promises.keys().copied().collect();
                let is_quorum = quorum.is_phase1_quorum(&voters);
                (*ballot, voters, is_quorum)
            }
            Phase::Accepting {
                ballot, accepted, ..
            } => (*ballot, accepted.clone(), quorum.is_phase2_quorum(accepted)),
            Phase::Idle | Phase::Waiting | Phase::Done { .. } => return Ok(()),
        };
        check(ballot.node == id, Invariant::BallotIsOwn, || {
            format!("proposer {id} in ballot {ballot}")
        })?;
        check(ballot.round <= round, Invariant::RoundCoversBallot, || {
            format!("proposer {id} in ballot {ballot}, reserved round {round}")
        })?;
        let strangers: Vec<NodeId> = voters
            .iter()
            .filter(|n| !quorum.is_acceptor(**n))
            .copied()
            .collect();
        check(
            strangers.is_empty(),
            Invariant::VotesOnlyFromAcceptors,
            || format!("proposer {id} in {ballot} counts votes of non-acceptors {strangers:?}"),
        )?;
        check(!is_quorum, Invariant::OpenPhaseLacksQuorum, || {
            format!("proposer {id} still collecting in {ballot} with votes of {voters:?}")
        })
    }

    /// Debug builds only: after an input, the reserved round did not go
    /// down and every invariant holds.
    fn debug_check_step(&self, round_before: u64) {
        debug_holds("basic proposer", || {
            check(
                self.round >= round_before,
                Invariant::BallotsOnlyGrow,
                || {
                    format!(
                        "proposer {}: round {} after {round_before}",
                        self.id, self.round
                    )
                },
            )?;
            self.check_invariants()
        });
    }
}

#[cfg(test)]
mod tests;
