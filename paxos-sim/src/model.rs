//! Exhaustive model checking of single-decree Paxos over the real core code.
//!
//! The simulator samples schedules; this module enumerates them. With
//! [`stateright`], [`BasicPaxosModel`] explores every interleaving of a tiny
//! cluster — acceptors n1..n3, proposers n4 and n5 (each proposing its own
//! value, see [`proposed_value`]), learner n6 — and every step runs the
//! unmodified `paxos_core::basic` roles.
//!
//! # Faults
//!
//! - **Loss.** Any message may simply never be delivered.
//! - **Duplication and reordering.** A message stays in the network after
//!   delivery, so it can be delivered again, in any order with the others.
//! - **Timeouts.** A proposer may retry with a higher ballot at any moment
//!   ([`Action::Retry`]); this stands for every schedule of ticks, back-offs
//!   and timeouts, so ticks are not modelled.
//! - **Acceptor crash-restart** ([`Action::Crash`]): the acceptor is rebuilt
//!   with `Acceptor::restore` from its synced [`DurableState`] alone.
//!
//! A handler's `Ready` is carried out atomically, in the order the core
//! prescribes: its records are folded into the node's synced state, then its
//! messages enter the network. A crash between the two is the same as the
//! messages being lost, which the model already covers.
//!
//! # Keeping the space small without losing behaviours
//!
//! Interleaving everything naively does not fit in memory even with one
//! round per proposer (the network of all messages ever sent distinguishes
//! millions of states that differ only in copies nobody can use). Three
//! reductions keep the check to seconds; each drops only transitions or
//! state differences that no property can observe:
//!
//! 1. **Reports are observed, not interleaved.** An acceptor's `Accepted`
//!    report is never put in the network: every report it sends is exactly
//!    an accept in the ghost [`State::history`] (asserted as it is sent).
//!    The roles that consume reports — the learner, and a proposer counting
//!    its phase-2 quorum — send nothing in reply (learner ticks are not
//!    modelled), so the only effect of a report is on what they decide. A
//!    message once sent can be delivered at any later time, so in any state
//!    the learner can decide exactly what the real `Learner` decides when
//!    fed some sequence of the reports in `history`; the model computes that
//!    set by exploring those sequences ([`BasicPaxosModel::learner_decisions`]).
//!    A proposer decides by counting reports for its current ballot, so the
//!    model feeds it all of them ([`BasicPaxosModel::proposer_decisions`]). A
//!    proposer that never learns its decision just keeps running, which the
//!    real system also does when reports are lost.
//! 2. **Dead messages are dropped.** A reply to a proposer whose delivery
//!    now changes nothing changes nothing later either: its ballots only
//!    increase (asserted), a `Promise` it already holds could only be
//!    overwritten by a second, different promise for the same ballot from
//!    the same acceptor, which needs a promise to go backwards (the property
//!    [`PROMISE_KEPT`]), and a stale `Nack` only raises the highest ballot
//!    seen, which is monotone. A `Nack` to a proposer with no rounds left
//!    only stops it, which it can do anyway by never getting another reply.
//!    So the reduction is exact up to the first state that breaks
//!    [`PROMISE_KEPT`], and the checker reports that state.
//! 3. **Invisible crashes are skipped.** A restart that rebuilds exactly the
//!    live acceptor changes nothing but the crash budget, and a state with
//!    less budget can do nothing the current one cannot. (In the correct
//!    core every restart is invisible: an acceptor keeps nothing that is
//!    not synced. The check of that runs for every acceptor in every state.)
//!
//! # Bounds
//!
//! Proposer `i` starts at most [`BasicPaxosModel::rounds_max`]`[i]` rounds
//! (its first proposal included), and at most
//! [`BasicPaxosModel::crashes_max`] acceptor crash-restarts happen in a run.
//! The default, `[2, 1]` rounds and 1 crash, gives three ballots (1.4, 1.5
//! and 2.4): enough for a promise quorum to report values accepted in two
//! different ballots, so the "adopt the highest-ballot value" rule is
//! exercised, and it checks in seconds (about 36,000 states). Each extra
//! round multiplies the space: `[1, 3]` is about half a million states
//! (an ignored test), `[2, 2]` and `[3, 1]` pass a million.
//!
//! Proposers and the learner do not crash (a restarted learner only asks
//! again; a proposer restart is a retry that never reuses a ballot, which the
//! model asserts anyway). The learner's `Learn` and `Recover` requests are
//! not modelled: they only repeat reports or start rounds, which loss,
//! duplication and retries already cover.
//!
//! # Properties, checked in every reachable state
//!
//! - `always` [`AGREEMENT`]: at most one value is chosen (accepted by a
//!   phase-2 quorum in one ballot, judged from every synced accept), and no
//!   learner or proposer can decide a value other than the chosen one;
//! - `always` [`ONLY_CHOSEN_LEARNED`]: a learner or proposer can decide only
//!   a value that is already chosen (Lamport's third safety requirement);
//! - `always` [`PROMISE_KEPT`]: no acceptor's live promise is below the
//!   highest promise it ever synced;
//! - `sometimes` [`VALUE_CHOSEN`] and [`LEARNER_DECIDES`]: so a model in which
//!   nothing can happen fails instead of passing vacuously.

use paxos_core::basic::{Acceptor, Config, Learner, Message, Proposer};
use paxos_core::{
    Ballot, ClientId, Command, DurableState, MemStorage, NodeId, Pipeline, PlantedBugs,
    QuorumSystem, Ready, Record, Value,
};
use stateright::{Checker, HasDiscoveries, Model, Property};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// The acceptors' node ids.
pub const ACCEPTORS: [NodeId; 3] = [NodeId(1), NodeId(2), NodeId(3)];
/// The proposers' node ids.
pub const PROPOSERS: [NodeId; 2] = [NodeId(4), NodeId(5)];
/// The learner's node id.
pub const LEARNER: NodeId = NodeId(6);

/// Name of the property "at most one value is chosen, and nothing else is decided".
pub const AGREEMENT: &str = "agreement";
/// Name of the property "only a chosen value is ever decided".
pub const ONLY_CHOSEN_LEARNED: &str = "only chosen values are learned";
/// Name of the property "no acceptor's promise falls below its synced promise".
pub const PROMISE_KEPT: &str = "promise never goes backwards";
/// Name of the property "some value can be chosen".
pub const VALUE_CHOSEN: &str = "value chosen";
/// Name of the property "the learner can decide".
pub const LEARNER_DECIDES: &str = "learner decides";

/// Every accept an acceptor synced, as `(acceptor, ballot, value)`. Each is
/// also an `Accepted` report that acceptor sent to the learner and proposer.
pub type History = BTreeSet<(NodeId, Ballot, Value)>;

/// The value proposer `proposer` asks to get chosen: distinct per proposer,
/// so a disagreement shows up as two different values.
pub fn proposed_value(proposer: NodeId) -> Value {
    Value::from(Command {
        client: ClientId(proposer.0),
        seq: 1,
        payload: Default::default(),
    })
}

/// A message in flight (delivered or not: the network keeps it while a
/// copy could still change something).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Envelope {
    /// The sender.
    pub from: NodeId,
    /// The destination.
    pub to: NodeId,
    /// The message.
    pub msg: Message,
}

/// One step of the model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// A proposer gets its client's value and starts its first round.
    Propose(NodeId),
    /// A proposer times out and starts over with a higher ballot.
    Retry(NodeId),
    /// The network delivers (a copy of) a message.
    Deliver(Envelope),
    /// An acceptor crashes and restarts from its synced state.
    Crash(NodeId),
}

/// The cluster: acceptors and proposers, what each acceptor synced, the
/// network, and ghost variables that exist only to state properties. The
/// learner is an observer of [`State::history`] (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    /// Acceptors n1..n3, live.
    pub acceptors: [Acceptor; 3],
    /// What each acceptor synced: every record it was asked to persist.
    pub durable: [DurableState; 3],
    /// Proposers n4 and n5.
    pub proposers: [Proposer; 2],
    /// Rounds each proposer has started (its first proposal included).
    pub rounds: [u64; 2],
    /// Prepares, accepts, promises and nacks that can still be delivered.
    pub network: BTreeSet<Envelope>,
    /// Ghost: every accept any acceptor ever synced (= every report sent).
    pub history: History,
    /// Visible acceptor crashes so far.
    pub crashes: u8,
}

impl State {
    /// The values chosen: accepted by a phase-2 quorum in one ballot. With a
    /// correct protocol this has at most one element.
    pub fn chosen(&self, quorum: &QuorumSystem) -> BTreeSet<Value> {
        let mut votes: BTreeMap<(Ballot, &Value), BTreeSet<NodeId>> = BTreeMap::new();
        for (acceptor, ballot, value) in &self.history {
            votes.entry((*ballot, value)).or_default().insert(*acceptor);
        }
        votes
            .into_iter()
            .filter(|(_, voters)| quorum.is_phase2_quorum(voters))
            .map(|((_, value), _)| value.clone())
            .collect()
    }
}

/// Single-decree Paxos with 2 proposers, 3 acceptors and 1 learner, as a
/// [`stateright::Model`] over the real `paxos_core::basic` roles.
#[derive(Clone, Debug)]
pub struct BasicPaxosModel {
    /// Bounds the rounds each proposer (n4, n5) starts, its first proposal included.
    pub rounds_max: [u64; 2],
    /// Bounds the acceptor crash-restarts in one run.
    pub crashes_max: u8,
    config: Config,
    /// What the learner can decide from each history (shared by threads).
    learner_cache: Arc<Mutex<HashMap<History, BTreeSet<Value>>>>,
}

impl BasicPaxosModel {
    /// The model with `bugs` planted, `[2, 1]` rounds and 1 crash (see the
    /// module docs for why).
    pub fn new(bugs: PlantedBugs) -> Self {
        let quorum = match QuorumSystem::majority(ACCEPTORS) {
            Ok(q) => q,
            Err(e) => panic!("three distinct acceptors must form a majority quorum system: {e}"),
        };
        let mut config = Config::new(quorum, vec![LEARNER]);
        config.proposers = PROPOSERS.to_vec();
        config.bugs = bugs;
        BasicPaxosModel {
            rounds_max: [2, 1],
            crashes_max: 1,
            config,
            learner_cache: Arc::default(),
        }
    }

    /// The same model with at most `rounds[i]` rounds for proposer `i`.
    pub fn with_rounds(mut self, rounds: [u64; 2]) -> Self {
        self.rounds_max = rounds;
        self
    }

    /// The same model with at most `crashes` acceptor crash-restarts.
    pub fn with_crashes(mut self, crashes: u8) -> Self {
        self.crashes_max = crashes;
        self
    }

    /// The configuration every role is built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Explores the whole state space on `threads` threads, stopping early
    /// only if agreement is violated, and summarizes what was found.
    pub fn check(self, threads: usize) -> Report {
        let stop = HasDiscoveries::AnyOf(BTreeSet::from([AGREEMENT]));
        let checker = self
            .checker()
            .threads(threads.max(1))
            .finish_when(stop)
            .spawn_bfs()
            .join();
        let counterexample = checker.discovery(AGREEMENT).map(|p| p.into_actions());
        Report {
            unique_states: checker.unique_state_count(),
            generated_states: checker.state_count(),
            max_depth: checker.max_depth(),
            exhaustive: counterexample.is_none(),
            agreement_violated: counterexample.is_some(),
            unchosen_learned: checker.discovery(ONLY_CHOSEN_LEARNED).is_some(),
            promise_regressed: checker.discovery(PROMISE_KEPT).is_some(),
            value_chosen_reachable: checker.discovery(VALUE_CHOSEN).is_some(),
            learner_decision_reachable: checker.discovery(LEARNER_DECIDES).is_some(),
            counterexample,
        }
    }

    /// Every value the learner decides when fed some sequence (repeats
    /// allowed) of the reports in `history`: what it can have decided by now.
    pub fn learner_decisions(&self, history: &History) -> BTreeSet<Value> {
        let cached = self
            .learner_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(history)
            .cloned();
        if let Some(known) = cached {
            return known;
        }
        let decisions = self.explore_learner(history);
        self.learner_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(history.clone(), decisions.clone());
        decisions
    }

    fn explore_learner(&self, history: &History) -> BTreeSet<Value> {
        let mut decisions = BTreeSet::new();
        let start = Learner::new(&self.config);
        let mut seen: HashSet<Learner> = HashSet::from([start.clone()]);
        let mut pending = vec![start];
        while let Some(learner) = pending.pop() {
            for (acceptor, ballot, value) in history {
                let mut next = learner.clone();
                let mut ready = Ready::new();
                let report = Message::Accepted {
                    ballot: *ballot,
                    value: value.clone(),
                };
                next.handle(*acceptor, report, &mut ready);
                assert!(ready.messages().is_empty(), "the learner answered a report");
                if let Some(v) = next.decided() {
                    decisions.insert(v.clone());
                } else if seen.insert(next.clone()) {
                    pending.push(next);
                }
            }
        }
        decisions
    }

    /// What the proposers decide when they get every report for their
    /// current ballot. A proposer counts distinct reporters for one ballot,
    /// so the order does not matter and all reports give the most it can know.
    pub fn proposer_decisions(&self, state: &State) -> BTreeSet<Value> {
        let mut decisions = BTreeSet::new();
        for proposer in &state.proposers {
            let Some(current) = proposer.ballot() else {
                continue;
            };
            let mut p = proposer.clone();
            let mut ready = Ready::new();
            let reports = state.history.iter().filter(|(_, b, _)| *b == current);
            for (acceptor, ballot, value) in reports {
                let report = Message::Accepted {
                    ballot: *ballot,
                    value: value.clone(),
                };
                p.handle(*acceptor, report, &mut ready);
            }
            assert!(ready.is_empty(), "a proposer answered a report: {ready:?}");
            decisions.extend(p.chosen().cloned());
        }
        decisions
    }

    /// Everything the learner or a proposer can have decided in `state`.
    pub fn decisions(&self, state: &State) -> BTreeSet<Value> {
        let mut decisions = self.learner_decisions(&state.history);
        decisions.extend(self.proposer_decisions(state));
        decisions
    }

    fn acceptor_index(node: NodeId) -> Option<usize> {
        ACCEPTORS.iter().position(|a| *a == node)
    }

    fn proposer_index(node: NodeId) -> Option<usize> {
        PROPOSERS.iter().position(|p| *p == node)
    }

    /// Whether proposer `i` can start no more rounds.
    fn rounds_exhausted(&self, state: &State, i: usize) -> bool {
        state.rounds[i] >= self.rounds_max[i]
    }

    /// Carries out the `Ready` that a role on `node` produced: persist (fold
    /// the records into the node's synced state, and into the ghost history),
    /// then send what the core's pipeline releases once they are synced.
    fn carry_out(state: &mut State, node: NodeId, mut ready: Ready<Message>) {
        if let Some(i) = Self::acceptor_index(node) {
            for record in ready.records() {
                state.durable[i].apply(record);
                match record {
                    Record::Accept { ballot, value, .. } => {
                        state.history.insert((node, *ballot, value.clone()));
                    }
                    Record::Promise(_) => {}
                    Record::Round(_) | Record::Decided { .. } => {
                        panic!("acceptor {node} asked to persist {record:?}")
                    }
                }
            }
        }
        // Proposers persist only their round reservations, which matter after
        // a proposer restart; proposers do not crash in this model.
        let step = Pipeline::new().run_inline(&mut ready, &mut MemStorage::new());
        let Ok(step) = step else {
            unreachable!("in-memory storage without planted faults never fails");
        };
        for (to, msg) in step.send {
            if let Message::Accepted { ballot, value } = &msg {
                // Reports are observed through the history (module docs).
                let accept = (node, *ballot, value.clone());
                assert!(
                    state.history.contains(&accept),
                    "{node} reported {ballot} {value} to {to} without having synced that accept"
                );
                continue;
            }
            state.network.insert(Envelope {
                from: node,
                to,
                msg,
            });
        }
    }

    fn deliver(state: &mut State, env: Envelope) {
        let Envelope { from, to, msg } = env;
        let mut ready = Ready::new();
        if let Some(i) = Self::acceptor_index(to) {
            if msg.for_acceptor() {
                state.acceptors[i].handle(from, msg, &mut ready);
            }
        } else if let Some(i) = Self::proposer_index(to) {
            if msg.for_proposer() {
                state.proposers[i].handle(from, msg, &mut ready);
            }
        }
        Self::carry_out(state, to, ready);
    }

    /// Whether `env` may leave the network without losing any behaviour the
    /// properties can see (reduction 2 in the module docs). Only replies to
    /// proposers are ever dead: an acceptor answers every delivery.
    fn is_dead(&self, state: &State, env: &Envelope) -> bool {
        let Some(i) = Self::proposer_index(env.to) else {
            return false;
        };
        if matches!(env.msg, Message::Nack { .. }) && self.rounds_exhausted(state, i) {
            return true;
        }
        let proposer = &state.proposers[i];
        let mut after = proposer.clone();
        let mut ready = Ready::new();
        after.handle(env.from, env.msg.clone(), &mut ready);
        ready.is_empty() && after == *proposer
    }

    /// Drops every dead message from `next`. Deadness depends only on the
    /// receiving proposer, and the messages in `last` were alive there, so
    /// only new messages and those to changed proposers are looked at.
    fn prune(&self, last: &State, next: &mut State) {
        let changed = |node: NodeId| match Self::proposer_index(node) {
            Some(i) => last.proposers[i] != next.proposers[i] || last.rounds[i] != next.rounds[i],
            None => false,
        };
        let dead: Vec<Envelope> = next
            .network
            .iter()
            .filter(|env| changed(env.to) || !last.network.contains(env))
            .filter(|env| self.is_dead(next, env))
            .cloned()
            .collect();
        for env in &dead {
            next.network.remove(env);
        }
    }

    /// Panics if a proposer moved to a ballot it already used: pruning
    /// relies on ballots never coming back (and so does Paxos).
    fn check_no_ballot_reused(last: &State, next: &State) {
        for (i, id) in PROPOSERS.iter().enumerate() {
            let Some(ballot) = next.proposers[i].ballot() else {
                continue;
            };
            if last.proposers[i].ballot() == Some(ballot) {
                continue;
            }
            // Prepares go to every acceptor and are never pruned.
            let reused = last.network.contains(&Envelope {
                from: *id,
                to: ACCEPTORS[0],
                msg: Message::Prepare { ballot },
            });
            assert!(!reused, "proposer {id} reused ballot {ballot}");
        }
    }
}

impl Model for BasicPaxosModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        let fresh = DurableState::default();
        let acceptor = Acceptor::restore(&self.config, &fresh);
        let proposers = PROPOSERS.map(|id| Proposer::restore(id, &self.config, &fresh, 0));
        vec![State {
            acceptors: [acceptor.clone(), acceptor.clone(), acceptor],
            durable: [fresh.clone(), fresh.clone(), fresh],
            proposers,
            rounds: [0, 0],
            network: BTreeSet::new(),
            history: BTreeSet::new(),
            crashes: 0,
        }]
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        for (i, id) in PROPOSERS.iter().enumerate() {
            if state.rounds[i] == 0 {
                actions.push(Action::Propose(*id));
            } else if !self.rounds_exhausted(state, i) {
                actions.push(Action::Retry(*id));
            }
        }
        if state.crashes < self.crashes_max {
            actions.extend(ACCEPTORS.iter().map(|a| Action::Crash(*a)));
        }
        actions.extend(state.network.iter().cloned().map(Action::Deliver));
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut state = last.clone();
        match action {
            Action::Propose(id) | Action::Retry(id) => {
                let i = Self::proposer_index(id)?;
                let mut ready = Ready::new();
                if matches!(action, Action::Propose(_)) {
                    state.proposers[i].propose(proposed_value(id), &mut ready);
                } else {
                    state.proposers[i].retry(&mut ready);
                }
                state.rounds[i] += 1;
                Self::carry_out(&mut state, id, ready);
            }
            Action::Deliver(env) => {
                assert!(
                    last.network.contains(&env),
                    "delivering a message never sent: {env:?}"
                );
                Self::deliver(&mut state, env);
            }
            Action::Crash(id) => {
                let i = Self::acceptor_index(id)?;
                let restored = Acceptor::restore(&self.config, &state.durable[i]);
                // An invisible restart (reduction 3 in the module docs).
                if restored == state.acceptors[i] {
                    return None;
                }
                state.acceptors[i] = restored;
                state.crashes += 1;
            }
        }
        Self::check_no_ballot_reused(last, &state);
        self.prune(last, &mut state);
        // A step that changes nothing (a duplicate that is ignored) is not a
        // transition worth exploring.
        (state != *last).then_some(state)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(AGREEMENT, check_agreement),
            Property::always(ONLY_CHOSEN_LEARNED, check_only_chosen_learned),
            Property::always(PROMISE_KEPT, check_promises_kept),
            Property::sometimes(VALUE_CHOSEN, |model: &Self, state: &State| {
                !state.chosen(&model.config.quorum).is_empty()
            }),
            Property::sometimes(LEARNER_DECIDES, |model: &Self, state: &State| {
                !model.learner_decisions(&state.history).is_empty()
            }),
        ]
    }
}

/// At most one value is chosen, and nobody can decide a different one.
fn check_agreement(model: &BasicPaxosModel, state: &State) -> bool {
    let chosen = state.chosen(&model.config.quorum);
    chosen.len() <= 1
        && model
            .decisions(state)
            .iter()
            .all(|d| chosen.is_empty() || chosen.contains(d))
}

/// Every decision anyone can have made is a chosen value.
fn check_only_chosen_learned(model: &BasicPaxosModel, state: &State) -> bool {
    let chosen = state.chosen(&model.config.quorum);
    model.decisions(state).is_subset(&chosen)
}

/// No acceptor promises less than it synced: after a restart it must still
/// refuse every ballot it promised to ignore.
fn check_promises_kept(_: &BasicPaxosModel, state: &State) -> bool {
    state
        .acceptors
        .iter()
        .zip(&state.durable)
        .all(|(live, synced)| live.promised() >= synced.promised)
}

/// What one exhaustive check found.
#[derive(Clone, Debug)]
pub struct Report {
    /// Distinct states visited.
    pub unique_states: usize,
    /// States generated, duplicates included.
    pub generated_states: usize,
    /// The longest path explored, in steps.
    pub max_depth: usize,
    /// Whether every reachable state was visited (the check stops at the
    /// first agreement violation).
    pub exhaustive: bool,
    /// Whether some reachable state breaks agreement.
    pub agreement_violated: bool,
    /// Whether some visited state lets someone decide an unchosen value.
    pub unchosen_learned: bool,
    /// Whether some visited state has an acceptor below its synced promise.
    pub promise_regressed: bool,
    /// Whether a visited state has a chosen value.
    pub value_chosen_reachable: bool,
    /// Whether a visited state lets the learner decide.
    pub learner_decision_reachable: bool,
    /// The steps to an agreement violation, if one was found.
    pub counterexample: Option<Vec<Action>>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} unique states ({} generated, depth {}){}",
            self.unique_states,
            self.generated_states,
            self.max_depth,
            if self.exhaustive { ", exhaustive" } else { "" },
        )?;
        match &self.counterexample {
            Some(steps) => write!(f, "; agreement VIOLATED in {} steps", steps.len()),
            None => write!(
                f,
                "; agreement holds; value chosen reachable: {}; learner decides: {}",
                self.value_chosen_reachable, self.learner_decision_reachable
            ),
        }
    }
}

/// Checks the default model (`[2, 1]` rounds, 1 acceptor crash) with
/// `bugs` planted, on every available core.
pub fn check(bugs: PlantedBugs) -> Report {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    BasicPaxosModel::new(bugs).check(threads)
}
