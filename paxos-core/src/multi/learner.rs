use super::{Config, Message};
use crate::durable::{DurableState, Record};
use crate::invariant::{broken, check, debug_holds, Invariant, InvariantViolation};
use crate::ready::Ready;
use crate::types::{Ballot, NodeId, Slot, Value};
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

/// A Multi-Paxos learner: collects chosen entries and delivers them in slot
/// order, asking for missing ones when it sees it has fallen behind.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Learner {
    config: Config,
    /// Chosen entries at or after `next`, waiting for the gap before them.
    pending: BTreeMap<Slot, Value>,
    /// The next slot to deliver.
    next: Slot,
    /// The leader we last heard from, with its ballot.
    leader: Option<(NodeId, Ballot)>,
    /// The highest commit point any leader reported.
    known_commit: Slot,
    now: u64,
    asked_at: u64,
    asked_from: Option<Slot>,
    /// Which proposer to ask when no leader is known (round robin).
    ask_turn: usize,
    /// Whether delivered entries are returned as `Record::Decided` to persist.
    durable: bool,
}

impl Learner {
    /// A learner starting at slot 0 that keeps no durable log: a restarted
    /// one catches up from the proposers.
    pub fn new(config: &Config) -> Self {
        Learner {
            config: config.clone(),
            pending: BTreeMap::new(),
            next: Slot(0),
            leader: None,
            known_commit: Slot(0),
            now: 0,
            asked_at: 0,
            asked_from: None,
            ask_turn: 0,
            durable: false,
        }
    }

    /// A learner with a durable log: it resumes after the entries in
    /// `state.decided` (see [`DurableState::decided_prefix`], which the driver
    /// replays to its state machine), and returns each entry it delivers
    /// from now on as a [`Record::Decided`] to write behind.
    ///
    /// Those records need not be synced before delivery: a chosen value is a
    /// fact, durable at a quorum of acceptors already. A driver may write
    /// them in the background.
    pub fn restore(config: &Config, state: &DurableState) -> Self {
        let mut learner = Learner::new(config);
        learner.next = Slot(state.decided_prefix().len() as u64);
        learner.known_commit = learner.next;
        learner.durable = true;
        learner
    }

    /// The next slot this learner will deliver: every slot below it has been.
    pub fn next_slot(&self) -> Slot {
        self.next
    }

    /// The leader this learner last heard from.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader.map(|(n, _)| n)
    }

    /// Handles `Decide` and `Heartbeat`; other messages are ignored.
    ///
    /// # Panics
    /// If a `Decide` contradicts a value this learner holds for a slot
    /// ([`Invariant::ChosenValueUnchanged`]).
    pub fn handle(&mut self, from: NodeId, msg: Message, ready: &mut Ready<Message>) {
        let next_before = self.next;
        match msg {
            Message::Decide { entries } => {
                let before = self.next;
                for (slot, value) in entries {
                    if slot == self.next && self.pending.is_empty() {
                        // In order, nothing waiting: deliver without the map.
                        self.deliver(value, ready);
                    } else if slot >= self.next {
                        self.hold(slot, value);
                    }
                }
                while let Some(value) = self.pending.remove(&self.next) {
                    self.deliver(value, ready);
                }
                self.known_commit = self.known_commit.max(self.next);
                if self.next > before {
                    if let Some(asked) = self.asked_from {
                        // A catch-up reply is arriving (perhaps in several
                        // Decides): the tick need not ask again yet. Ask for
                        // the rest only once past all it can carry, or each
                        // part of a split reply would trigger a new one.
                        self.asked_at = self.now;
                        let end = asked.0.saturating_add(self.config.catchup_max as u64);
                        if self.next.0 >= end {
                            self.ask(ready);
                        }
                    }
                }
            }
            Message::Heartbeat { ballot, commit } => {
                if self.leader.is_none_or(|(_, b)| ballot >= b) {
                    self.leader = Some((from, ballot));
                }
                self.known_commit = self.known_commit.max(commit);
            }
            _ => {}
        }
        self.debug_check_step(next_before);
    }

    /// Holds `value` for `slot` until the slots before it arrive. The first
    /// report wins; a chosen value never changes, so a later one that
    /// differs means agreement is broken: stop rather than deliver either.
    fn hold(&mut self, slot: Slot, value: Value) {
        match self.pending.entry(slot) {
            Entry::Vacant(e) => {
                e.insert(value);
            }
            Entry::Occupied(e) => {
                if *e.get() != value && self.config.bugs.none() {
                    let detail = format!("learned {value} at {slot}, holding {}", e.get());
                    broken(Invariant::ChosenValueUnchanged, detail);
                }
            }
        }
    }

    fn deliver(&mut self, value: Value, ready: &mut Ready<Message>) {
        if self.durable {
            let record = Record::Decided {
                slot: self.next,
                value: value.clone(),
            };
            ready.write_behind(record);
        }
        ready.deliver(self.next, value);
        self.next = self.next.next();
    }

    /// Whether slots below the known commit point are missing here.
    fn behind(&self) -> bool {
        self.next < self.known_commit || !self.pending.is_empty()
    }

    fn ask(&mut self, ready: &mut Ready<Message>) {
        if !self.behind() {
            self.asked_from = None;
            return;
        }
        let to = match self.leader {
            Some((n, _)) => n,
            None => {
                self.ask_turn = (self.ask_turn + 1) % self.config.proposers.len().max(1);
                match self.config.proposers.get(self.ask_turn) {
                    Some(n) => *n,
                    None => return,
                }
            }
        };
        self.asked_at = self.now;
        self.asked_from = Some(self.next);
        ready.send_now(to, Message::CatchUp { from: self.next });
    }

    /// Advances time by one tick; a learner that is behind and has not been
    /// answered for `retransmit_timeout` ticks asks (another proposer) again.
    pub fn tick(&mut self, ready: &mut Ready<Message>) {
        let next_before = self.next;
        self.now += 1;
        if self.behind() && self.now - self.asked_at >= self.config.retransmit_timeout {
            if self.asked_from.is_some() {
                // The last ask went unanswered: the leader may be gone.
                self.leader = None;
            }
            self.ask(ready);
        }
        self.debug_check_step(next_before);
    }

    /// Checks this learner's invariants: its quorum system; the entries it
    /// holds back lie above its next slot; its known commit point is at
    /// least its next slot, which is at least where it last asked to catch
    /// up from. O(1); debug builds run it after every input.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        self.config.quorum.check_invariants()?;
        let next = self.next;
        let first_held = self.pending.keys().next().copied();
        check(
            first_held.is_none_or(|s| s > next),
            Invariant::LearnerPendingAboveNext,
            || format!("next {next}, first held {first_held:?}"),
        )?;
        let asked = self.asked_from;
        let consistent = self.known_commit >= next && asked.is_none_or(|a| a <= next);
        check(consistent, Invariant::LearnerCommitCoversNext, || {
            format!(
                "known commit {}, next {next}, asked from {asked:?}",
                self.known_commit
            )
        })
    }

    /// Debug builds only: after an input, the delivered prefix did not
    /// shrink and every invariant holds.
    fn debug_check_step(&self, next_before: Slot) {
        debug_holds("multi learner", || {
            check(
                self.next >= next_before,
                Invariant::DecidedPrefixOnlyGrows,
                || format!("next {} after {next_before}", self.next),
            )?;
            self.check_invariants()
        });
    }
}

#[cfg(test)]
mod tests;
