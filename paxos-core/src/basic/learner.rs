use super::{Config, Message};
use crate::invariant::{check, debug_holds, Invariant, InvariantViolation};
use crate::types::{Ballot, NodeId, Slot, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A single-decree learner: decides `v` once a phase-2 quorum of acceptors
/// reports accepting `v` in one ballot.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Learner {
    config: Config,
    votes: BTreeMap<Ballot, (Value, BTreeSet<NodeId>)>,
    /// Only used by the planted "mixed ballots" bug.
    any_ballot: BTreeSet<NodeId>,
    decided: Option<Value>,
    now: u64,
    asked_at: u64,
    /// Asks so far, to pick whom to ask for a recovery round (round robin).
    asks: u64,
}

impl Learner {
    /// A learner that knows nothing yet (learners keep no durable state: a
    /// restarted one asks the acceptors again).
    pub fn new(config: &Config) -> Self {
        Learner {
            config: config.clone(),
            votes: BTreeMap::new(),
            any_ballot: BTreeSet::new(),
            decided: None,
            now: 0,
            asked_at: 0,
            asks: 0,
        }
    }

    /// The decided value, once known.
    pub fn decided(&self) -> Option<&Value> {
        self.decided.as_ref()
    }

    /// Handles an `Accepted` report; other messages are ignored.
    pub fn handle(&mut self, from: NodeId, msg: Message, ready: &mut crate::Ready<Message>) {
        let Message::Accepted { ballot, value } = msg else {
            return;
        };
        if self.decided.is_some() || !self.config.quorum.is_acceptor(from) {
            return;
        }
        self.on_accepted(from, ballot, value, ready);
        debug_holds("basic learner", || self.check_invariants());
    }

    fn on_accepted(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        value: Value,
        ready: &mut crate::Ready<Message>,
    ) {
        let bugs = self.config.bugs;
        let entry = self
            .votes
            .entry(ballot)
            .or_insert_with(|| (value.clone(), BTreeSet::new()));
        entry.1.insert(from);
        let decided = if bugs.learner_mixes_ballots() {
            self.any_ballot.insert(from);
            bugs.decides(&self.config.quorum, &self.any_ballot)
                .then_some(value)
        } else {
            bugs.decides(&self.config.quorum, &entry.1)
                .then(|| entry.0.clone())
        };
        if let Some(v) = decided {
            ready.deliver(Slot(0), v.clone());
            self.decided = Some(v);
            self.votes.clear();
        }
    }

    /// Advances time by one tick. An undecided learner periodically asks
    /// every acceptor to repeat what it accepted, and if some acceptor has
    /// accepted something, asks a proposer for a recovery round.
    pub fn tick(&mut self, ready: &mut crate::Ready<Message>) {
        self.now += 1;
        if self.decided.is_some() || self.now - self.asked_at < self.config.learner_timeout {
            return;
        }
        self.asked_at = self.now;
        self.asks += 1;
        let acceptors: Vec<NodeId> = self.config.quorum.acceptors().collect();
        ready.broadcast_now(acceptors, Message::Learn);
        let proposers = &self.config.proposers;
        if !self.votes.is_empty() && !proposers.is_empty() {
            let to = proposers[(self.asks % proposers.len() as u64) as usize];
            ready.send_now(to, Message::Recover);
        }
    }

    /// Checks this learner's invariants: its quorum system; votes only from
    /// acceptors; undecided, no ballot's votes (nor, with the mixed-ballots
    /// bug planted, all votes together) decide; decided, it keeps no votes.
    /// O(votes); debug builds run it after every `Accepted` it counts.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let quorum = &self.config.quorum;
        quorum.check_invariants()?;
        for (ballot, (_, voters)) in &self.votes {
            let strangers: Vec<NodeId> = voters
                .iter()
                .filter(|n| !quorum.is_acceptor(**n))
                .copied()
                .collect();
            check(
                strangers.is_empty(),
                Invariant::VotesOnlyFromAcceptors,
                || format!("learner counts votes of non-acceptors {strangers:?} in {ballot}"),
            )?;
        }
        let bugs = self.config.bugs;
        let deciding = self
            .votes
            .iter()
            .find(|(_, (_, voters))| bugs.decides(quorum, voters))
            .map(|(b, (_, voters))| (*b, voters.clone()));
        let mixed = bugs.learner_mixes_ballots() && bugs.decides(quorum, &self.any_ballot);
        let holds = match &self.decided {
            None => deciding.is_none() && !mixed,
            Some(_) => self.votes.is_empty(),
        };
        check(holds, Invariant::LearnerVotesUndecided, || {
            let decided = self.decided.as_ref().map(ToString::to_string);
            format!(
                "decided {decided:?}, deciding votes {deciding:?}, {} ballots of votes",
                self.votes.len()
            )
        })
    }
}

#[cfg(test)]
mod tests;
