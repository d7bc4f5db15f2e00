//! What the Multi-Paxos model checks in every state, and how learners are
//! observed rather than interleaved (reduction 1 in [`super`]).
//!
//! - `always` [`AGREEMENT`]: for each slot, at most one value is chosen
//!   (accepted in one ballot by a phase-2 quorum, judged from every synced
//!   accept with the quorum system) or announced in a `Decide`, and every
//!   two logs learners can have delivered are prefixes of one another (a
//!   replica applies exactly its learner's log, in order, so the same holds
//!   for replicas);
//! - `always` [`VALIDITY`]: every value accepted, announced or delivered is a
//!   submitted command or a no-op;
//! - `always` [`ONLY_CHOSEN_ANNOUNCED`]: a `Decide` carries only chosen values;
//! - `always` [`PROMISE_KEPT`]: no acceptor's live promise is below the
//!   highest promise it ever synced (a restart must not forget a promise);
//! - `sometimes` [`BOTH_SLOTS_DECIDED`]: a learner can deliver both slots, so
//!   a model in which nothing happens fails instead of passing vacuously;
//! - `sometimes` [`CHOSEN_AGAIN`]: a value chosen in one ballot is chosen
//!   again in a later one, so a model in which no takeover re-proposes a
//!   chosen value fails too.

use super::{command, Decides, MultiPaxosModel, State, COMMANDS, PROPOSERS};
use paxos_core::multi::{Learner, Message};
use paxos_core::{Ballot, QuorumSystem, Slot, Value};
use stateright::{Checker, HasDiscoveries, Model, Property};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// Name of the property "per slot at most one value is chosen or announced,
/// and learners' logs are prefixes of one another".
pub const AGREEMENT: &str = "agreement";
/// Name of the property "only submitted commands and no-ops are accepted,
/// announced or delivered".
pub const VALIDITY: &str = "validity";
/// Name of the property "a `Decide` carries only chosen values".
pub const ONLY_CHOSEN_ANNOUNCED: &str = "only chosen values are announced";
/// Name of the property "no acceptor's promise falls below its synced promise".
pub const PROMISE_KEPT: &str = "promise never goes backwards";
/// Name of the property "a learner can deliver both slots".
pub const BOTH_SLOTS_DECIDED: &str = "both slots decided";

/// Name of the property "a chosen value is chosen again in a later ballot".
pub const CHOSEN_AGAIN: &str = "chosen again in a later ballot";

/// A learner's delivered log, in slot order.
pub type Log = Vec<(Slot, Value)>;

/// What learners can deliver, by the `Decide`s sent to them (shared by the
/// checker's threads).
pub type LearnerCache = Mutex<HashMap<Decides, Arc<BTreeSet<Log>>>>;

/// The properties, for [`Model::properties`].
pub(super) fn properties() -> Vec<Property<MultiPaxosModel>> {
    vec![
        Property::always(AGREEMENT, check_agreement),
        Property::always(VALIDITY, check_validity),
        Property::always(ONLY_CHOSEN_ANNOUNCED, check_only_chosen_announced),
        Property::always(PROMISE_KEPT, check_promises_kept),
        Property::sometimes(BOTH_SLOTS_DECIDED, both_slots_decided),
        Property::sometimes(CHOSEN_AGAIN, chosen_again),
    ]
}

impl State {
    /// The values chosen at each slot: accepted in one ballot by a phase-2
    /// quorum. With a correct protocol, at most one per slot.
    pub fn chosen(&self, quorum: &QuorumSystem) -> BTreeMap<Slot, BTreeSet<Value>> {
        let mut chosen: BTreeMap<Slot, BTreeSet<Value>> = BTreeMap::new();
        for (slot, _, value) in self.chosen_ballots(quorum) {
            chosen.entry(slot).or_default().insert(value.clone());
        }
        chosen
    }

    /// Every `(slot, ballot, value)` accepted by a phase-2 quorum.
    pub fn chosen_ballots(&self, quorum: &QuorumSystem) -> Vec<(Slot, Ballot, &Value)> {
        let mut votes: BTreeMap<(Slot, Ballot, &Value), BTreeSet<_>> = BTreeMap::new();
        for (acceptor, slot, ballot, value) in &self.accepts {
            let voters = votes.entry((*slot, *ballot, value)).or_default();
            voters.insert(*acceptor);
        }
        votes
            .into_iter()
            .filter(|(_, voters)| quorum.is_phase2_quorum(voters))
            .map(|(key, _)| key)
            .collect()
    }

    /// The values announced as decided at each slot, in any `Decide` sent to
    /// the learners. Every decision a proposer makes is announced so.
    pub fn announced(&self) -> BTreeMap<Slot, BTreeSet<Value>> {
        let mut announced: BTreeMap<Slot, BTreeSet<Value>> = BTreeMap::new();
        for (slot, value) in self.decides.iter().flatten() {
            announced.entry(*slot).or_default().insert(value.clone());
        }
        announced
    }
}

impl MultiPaxosModel {
    /// Every log a learner can have delivered when fed some sequence
    /// (repeats allowed) of the `Decide`s in `decides`.
    pub fn learner_logs(&self, decides: &Decides) -> Arc<BTreeSet<Log>> {
        let cached = self
            .learners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(decides)
            .cloned();
        if let Some(known) = cached {
            return known;
        }
        let logs = Arc::new(self.explore_learner(decides));
        self.learners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(decides.clone(), Arc::clone(&logs));
        logs
    }

    fn explore_learner(&self, decides: &Decides) -> BTreeSet<Log> {
        let start = (Learner::new(&self.config), Log::new());
        let mut seen: HashSet<(Learner, Log)> = HashSet::from([start.clone()]);
        let mut pending = vec![start];
        let mut logs = BTreeSet::new();
        while let Some((learner, log)) = pending.pop() {
            for entries in decides {
                let mut next = learner.clone();
                let mut out = super::ready();
                let decide = Message::Decide {
                    entries: entries.clone(),
                };
                // The sender does not matter to a learner's Decide.
                next.handle(PROPOSERS[0], decide, &mut out);
                let effects = super::carry_out(out);
                assert!(
                    effects.messages.is_empty() && effects.persist.is_empty(),
                    "a learner without ticks answered a Decide: {effects:?}"
                );
                let mut next_log = log.clone();
                next_log.extend(effects.decided);
                let next = (next, next_log);
                if seen.insert(next.clone()) {
                    pending.push(next);
                }
            }
            logs.insert(log);
        }
        logs
    }
}

/// Some learner can have delivered every slot.
fn both_slots_decided(model: &MultiPaxosModel, state: &State) -> bool {
    let logs = model.learner_logs(&state.decides);
    logs.iter().any(|log| log.len() >= COMMANDS)
}

/// Some value is chosen at some slot in two different ballots.
fn chosen_again(model: &MultiPaxosModel, state: &State) -> bool {
    let chosen = state.chosen_ballots(&model.config.quorum);
    let distinct: BTreeSet<(Slot, &Value)> = chosen.iter().map(|(s, _, v)| (*s, *v)).collect();
    chosen.len() > distinct.len()
}

/// Per slot, at most one value chosen or announced; learner logs agree.
fn check_agreement(model: &MultiPaxosModel, state: &State) -> bool {
    let mut values = state.chosen(&model.config.quorum);
    for (slot, announced) in state.announced() {
        values.entry(slot).or_default().extend(announced);
    }
    if values.values().any(|v| v.len() > 1) {
        return false;
    }
    // Logs are prefixes of one another iff they agree slot by slot.
    let mut at: BTreeMap<Slot, &Value> = BTreeMap::new();
    for (slot, value) in model.learner_logs(&state.decides).iter().flatten() {
        if *at.entry(*slot).or_insert(value) != value {
            return false;
        }
    }
    true
}

/// Only submitted commands and no-ops are accepted, announced or delivered.
fn check_validity(model: &MultiPaxosModel, state: &State) -> bool {
    let valid = |v: &Value| *v == Value::Noop || (0..state.submitted).any(|k| *v == command(k));
    let accepted = state.accepts.iter().map(|(_, _, _, v)| v);
    let announced = state.decides.iter().flatten().map(|(_, v)| v);
    let logs = model.learner_logs(&state.decides);
    let delivered = logs.iter().flatten().map(|(_, v)| v);
    accepted.chain(announced).chain(delivered).all(valid)
}

/// Every announced value is chosen at its slot.
fn check_only_chosen_announced(model: &MultiPaxosModel, state: &State) -> bool {
    let chosen = state.chosen(&model.config.quorum);
    state
        .announced()
        .iter()
        .all(|(slot, values)| chosen.get(slot).is_some_and(|c| values.is_subset(c)))
}

/// No acceptor promises less than it synced.
fn check_promises_kept(_: &MultiPaxosModel, state: &State) -> bool {
    state
        .acceptors
        .iter()
        .zip(&state.durable)
        .all(|(live, synced)| live.promised() >= synced.promised)
}

/// What one check of the Multi-Paxos model found.
#[derive(Clone, Debug)]
pub struct Report {
    /// Distinct states visited.
    pub unique_states: usize,
    /// States generated, duplicates included.
    pub generated_states: usize,
    /// The longest path explored, in steps.
    pub max_depth: usize,
    /// The `always` properties broken in some visited state.
    pub violated: Vec<&'static str>,
    /// Whether a learner can deliver both slots in some visited state.
    pub both_slots_decided: bool,
    /// Whether a value is chosen again in a later ballot in some visited state.
    pub chosen_again: bool,
    /// The steps to the first violation found, if any.
    pub counterexample: Option<(&'static str, Vec<super::Action>)>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} unique states ({} generated, depth {})",
            self.unique_states, self.generated_states, self.max_depth
        )?;
        match &self.counterexample {
            Some((name, steps)) => write!(f, "; \"{name}\" VIOLATED in {} steps", steps.len()),
            None => write!(
                f,
                "; every property holds; both slots decided: {}; chosen again: {}",
                self.both_slots_decided, self.chosen_again
            ),
        }
    }
}

/// The `always` properties, in the order a report looks for violations.
pub const SAFETY: [&str; 4] = [AGREEMENT, VALIDITY, ONLY_CHOSEN_ANNOUNCED, PROMISE_KEPT];

impl MultiPaxosModel {
    /// Explores the whole state space on `threads` threads, stopping early
    /// at the first violation of any `always` property, and summarizes.
    pub fn check(self, threads: usize) -> Report {
        let stop = HasDiscoveries::AnyOf(BTreeSet::from(SAFETY));
        let checker = self
            .checker()
            .threads(threads.max(1))
            .finish_when(stop)
            .spawn_bfs()
            .join();
        let violated: Vec<&'static str> = SAFETY
            .into_iter()
            .filter(|name| checker.discovery(name).is_some())
            .collect();
        let counterexample = violated.first().and_then(|name| {
            let path = checker.discovery(name)?;
            Some((*name, path.into_actions()))
        });
        Report {
            unique_states: checker.unique_state_count(),
            generated_states: checker.state_count(),
            max_depth: checker.max_depth(),
            both_slots_decided: checker.discovery(BOTH_SLOTS_DECIDED).is_some(),
            chosen_again: checker.discovery(CHOSEN_AGAIN).is_some(),
            violated,
            counterexample,
        }
    }
}
