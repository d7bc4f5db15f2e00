//! Exhaustive model checking of Multi-Paxos over the real core code.
//!
//! The counterpart of [`crate::model`] for the replicated log: with
//! [`stateright`], [`MultiPaxosModel`] explores every interleaving of a tiny
//! cluster — proposers n4 and n5, acceptors n1..n3, learners n6 and n7 —
//! running the unmodified `paxos_core::multi` roles over a log of **two
//! slots**. This file holds the state, the steps and the reasoning; the
//! properties, the learner observation and the report are in [`observe`].
//!
//! # Steps and faults
//!
//! - **Time** ([`Action::Timeout`]). No clock is modelled: a proposer's next
//!   timer may fire at any moment. The step ticks the real proposer until it
//!   stands for election — a follower or candidate when its election timer
//!   runs out; a leader first loses its check-quorum, then stands. Nothing
//!   is delivered during those ticks.
//! - **Clients** ([`Action::Submit`]): two commands ([`command`]`(0)`, then
//!   `(1)`), each submitted once, to a proposer that leads. They are what
//!   makes the log two slots long: a leader puts a command after every slot
//!   it knows of, so slot `k` exists only once `k + 1` commands were
//!   submitted (asserted on every `Accept`).
//! - **Loss, duplication, reordering.** The network is a set: a message in
//!   it may be delivered at any time, any number of times, or never.
//! - **Crash-restart** ([`Action::Crash`]) of an acceptor (rebuilt with
//!   `Acceptor::restore` from its synced [`DurableState`]) or of a proposer
//!   (rebuilt with `Proposer::restore` from its synced round reservations;
//!   it forgets its role, the ballots it saw and the entries it knew chosen).
//!
//! A handler's `Ready` is carried out atomically and in order (persist,
//! then send); a crash between the two is the same as the messages being
//! lost. Only [`carry_out`] reads a `Ready`.
//!
//! # Bounds
//!
//! Proposer `i` stands for election at most
//! [`MultiPaxosModel::stands_max`]`[i]` times, at most
//! [`MultiPaxosModel::crashes_max`] crash-restarts happen in a run, and two
//! commands are submitted. Everything else follows from these: an acceptor
//! answers each delivery from a state that only moves forward, and a
//! proposer's messages are tied to its ballots. The default, one election
//! each and one crash, has two ballots (a takeover re-proposes what the
//! first leader got accepted) and checks 130,809 states in 10–30 seconds
//! (test profile, 2 shared cores). In it no leader can stand again, so by
//! reductions 2 and 6 a leader always hears its reports and never times
//! out, and a proposer can only restart before its election. Two elections
//! for n4 and no crash (three ballots, so a takeover can see values from
//! two earlier ballots, and a leader can lose reports and time out) is an
//! ignored test: 13,944,836 states, half an hour in release.
//!
//! # Reductions, and why each loses no behaviour
//!
//! Each argument below assumes the properties held so far (no promise went
//! backwards, no slot has two values); so each reduction is exact up to
//! the first state that breaks a property, which the checker then reports.
//!
//! 1. **Learners are observers.** Without ticks a learner sends nothing (it
//!    asks for catch-up only from `tick`) and heartbeats only tell it whom
//!    to ask. So what matters is the `Decide`s sent to it; the model keeps
//!    them as the ghost set [`State::decides`], and [`observe`] runs the
//!    real [`paxos_core::multi::Learner`] over every order of them (repeats
//!    included) to get every log a learner can have delivered. A catch-up
//!    reply would bring nothing new: a leader announces each decision to
//!    every learner when it makes it. Heartbeats to learners are dropped.
//! 2. **A report is handled at once or never.** An acceptor's `Accepted`
//!    never enters the network: delivering an `Accept` either has the leader
//!    handle the report in the same step ([`Action::DeliverAcked`]) or loses
//!    it ([`Action::Deliver`]). A later handling adds nothing. The report's
//!    only effect is on the leader: it counts the acceptor for every slot of
//!    one batch (an acceptor acknowledges a batch in one message, so its
//!    slots are decided together) and at a quorum announces the batch in one
//!    `Decide`. The acceptor's step has no other output, so it can be moved
//!    to just before the handling; or the handling to just after the step,
//!    past the leader's events in between: promises, reports and client
//!    commands commute with it, `Decide`s commute up to the first agreement
//!    violation, a stand or step-down makes the late report ignored (as if
//!    lost), and the events that read what the leader knows chosen (its next
//!    stand, a catch-up reply) do not depend on the acceptor's step and can
//!    move before it. Further, a leader that will never stand again is only
//!    ever offered [`Action::DeliverAcked`]: what it knows chosen is read
//!    only by catch-up replies (which, as above, can be answered before the
//!    acceptor's step), and announcing earlier leaves every later
//!    announcement possible (the network may hold it back).
//! 3. **Clients talk to the leader.** A command given to a candidate waits
//!    in its queue until it leads, then goes out exactly as if submitted
//!    just after the takeover; a follower forwards it to the leader it knows
//!    (the same as submitting it there) or drops it. Leaving out duplicate
//!    submissions (see below), no `Forward` is ever sent (asserted).
//! 4. **Timers carry no behaviour.** Since a timer may fire at any moment,
//!    states that differ only in a proposer's clock, deadlines, back-off or
//!    jitter have the same futures. The model cannot merge such states (the
//!    fields are private), so it avoids making new ones without end: a
//!    `Heartbeat` is delivered at most once to each incarnation of a
//!    proposer ([`State::heartbeats_used`], cleared on restart). A second
//!    delivery resets only timers: the ballot seen only grows, so the same
//!    heartbeat is ignored or finds the proposer already following its
//!    sender, and its catch-up request would be suppressed (a proposer's
//!    clock moves only in a `Timeout`, after which it has seen a higher
//!    ballot). For the same reason the probes and retransmits a leader sends
//!    during its `Timeout` ticks are dropped: a probe acts on an acceptor as
//!    the `Prepare` of its ballot does (still in the network), and with no
//!    report handled during the ticks a retransmit repeats whole batches
//!    whose `Accept`s are in the network. Its heartbeats are kept.
//! 5. **Dead messages are dropped.** A message to a proposer whose delivery
//!    changes nothing and sends nothing is removed once it can never matter
//!    again: a `Promise` for a ballot the proposer no longer holds (its
//!    ballots only grow, across restarts too: asserted) or already counted
//!    (a second, different promise from one acceptor for one ballot needs
//!    that promise to have gone backwards); a `Nack`, `Decide` or used
//!    `Heartbeat` once the proposer will not restart (the highest ballot
//!    seen and the chosen log only grow within an incarnation, but a
//!    restarted proposer would learn from them again).
//! 6. **A proposer with no election ahead is silenced.** When it may not
//!    stand again, what it sees and knows is read only by a takeover it is
//!    already running (as a candidate) and by catch-up replies to the other
//!    proposer. So `Nack`s and `Heartbeat`s to it are dropped: they only
//!    raise the ballot it has seen (read by a stand, and to ignore older
//!    heartbeats, which no longer matter either), make it step down (after
//!    which it can do less than before), or make it ask the sender for
//!    catch-up (whose reply repeats `Decide`s the sender already sent it).
//!    So are `Decide`s to it, and catch-up requests from it, once neither it
//!    as a candidate nor the other proposer at a stand can read the result;
//!    and it is not restarted (a restart only silences it sooner).
//! 7. **Invisible crashes are skipped.** A restart that rebuilds exactly
//!    the live role changes nothing but the crash budget. Every state
//!    offers a restart of every acceptor, so a visible one would be
//!    explored; in the correct core none is (an acceptor keeps nothing it
//!    has not synced), so the budget goes to proposers unless a bug makes
//!    an acceptor forget.
//!
//! # Left out on purpose
//!
//! - A leader that ticks and *stays* leader. Its heartbeats repeat the one
//!   it sent on taking over but for the commit point, which only triggers a
//!   catch-up (see reduction 1); so a restarted proposer relearns its own
//!   earlier decisions only through a catch-up triggered by a takeover or
//!   `Timeout` heartbeat. Its probes and retransmits are covered as in
//!   reduction 4.
//! - Duplicate client commands (client retries, duplicated `Forward`s):
//!   they only put the same command in a third slot, which the replica's
//!   session table makes a no-op.
//! - Thrifty phase 2, flexible quorums, and messages split by size (the
//!   model's values are tiny); log compaction and membership (the core has
//!   neither yet).
//!
//! # Properties
//!
//! In every reachable state ([`observe`]): agreement (per slot at most one
//! value chosen or announced, and learners' logs are prefixes of one
//! another), validity (only submitted commands and no-ops are accepted,
//! announced or delivered), only chosen values are announced, and no
//! acceptor's promise goes backwards across a restart; and, in some state,
//! a learner delivers both slots and a value is chosen again in a later
//! ballot (so a model where nothing happens, or no takeover re-proposes,
//! fails).

pub mod observe;
mod prune;
mod steps;

use steps::ready;
pub use steps::{carry_out, Effects};

use paxos_core::multi::{Acceptor, Config, Message, Proposer};
use paxos_core::{
    Ballot, ClientId, Command, DurableState, NodeId, PlantedBugs, QuorumSystem, Slot, Value,
};
use stateright::{Model, Property};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The acceptors' node ids.
pub const ACCEPTORS: [NodeId; 3] = [NodeId(1), NodeId(2), NodeId(3)];
/// The proposers' node ids.
pub const PROPOSERS: [NodeId; 2] = [NodeId(4), NodeId(5)];
/// The learners' node ids (observers: see the module docs).
pub const LEARNERS: [NodeId; 2] = [NodeId(6), NodeId(7)];
/// Client commands submitted in a run, and so slots in the log.
pub const COMMANDS: usize = 2;
/// Most ticks one [`Action::Timeout`] may take before the proposer stands:
/// far above the longest back-off with the model's timing.
const TICKS_MAX: usize = 1_000;

/// The `k`-th client command. Commands are interchangeable (the core only
/// compares them for equality), so submitting them in order loses nothing.
pub fn client_command(k: usize) -> Command {
    Command {
        client: ClientId(100 + k as u64),
        seq: 1,
        payload: Default::default(),
    }
}

/// The `k`-th client command as a log value.
pub fn command(k: usize) -> Value {
    Value::from(client_command(k))
}

/// A message in the network (delivered or not).
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
    /// A proposer's timers run until it stands for election.
    Timeout(NodeId),
    /// The next client command reaches a leader.
    Submit(NodeId),
    /// The network delivers (a copy of) a message; an acceptor's
    /// `Accepted` reply to it is lost.
    Deliver(Envelope),
    /// The network delivers (a copy of) an `Accept`, and the leader handles
    /// the acceptor's `Accepted` reply at once (reduction 2 in the module docs).
    DeliverAcked(Envelope),
    /// A node crashes and restarts from its synced state.
    Crash(NodeId),
}

/// Every accept an acceptor synced: `(acceptor, slot, ballot, value)`.
pub type Accepts = BTreeSet<(NodeId, Slot, Ballot, Value)>;
/// The entries of every `Decide` sent to the learners.
pub type Decides = BTreeSet<Vec<(Slot, Value)>>;

/// The cluster, the network, and ghost variables for the properties.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    /// Acceptors n1..n3, live.
    pub acceptors: [Acceptor; 3],
    /// What each acceptor synced.
    pub durable: [DurableState; 3],
    /// Proposers n4 and n5, live.
    pub proposers: [Proposer; 2],
    /// What each proposer synced (its round reservations).
    pub reserved: [DurableState; 2],
    /// Elections each proposer has stood.
    pub stands: [u8; 2],
    /// Client commands submitted so far.
    pub submitted: usize,
    /// Messages that can still be delivered (never to a learner).
    pub network: BTreeSet<Envelope>,
    /// Heartbeats already delivered to each proposer's current incarnation.
    pub heartbeats_used: [BTreeSet<Envelope>; 2],
    /// Ghost: every accept any acceptor synced.
    pub accepts: Accepts,
    /// Ghost: every `Decide` sent to the learners.
    pub decides: Decides,
    /// Visible crash-restarts so far.
    pub crashes: u8,
}

/// Multi-Paxos with 2 proposers, 3 acceptors and 2 learners over two slots,
/// as a [`stateright::Model`] over the real `paxos_core::multi` roles.
#[derive(Clone, Debug)]
pub struct MultiPaxosModel {
    /// Bounds the elections each proposer (n4, n5) stands.
    pub stands_max: [u8; 2],
    /// Bounds the crash-restarts in one run.
    pub crashes_max: u8,
    config: Config,
    learners: Arc<observe::LearnerCache>,
}

fn index(ids: &[NodeId], node: NodeId) -> Option<usize> {
    ids.iter().position(|n| *n == node)
}

impl MultiPaxosModel {
    /// The model with `bugs` planted and the default bounds (module docs).
    pub fn new(bugs: PlantedBugs) -> Self {
        let quorum = match QuorumSystem::majority(ACCEPTORS) {
            Ok(q) => q,
            Err(e) => panic!("three distinct acceptors must form a majority quorum system: {e}"),
        };
        let mut config = Config::new(quorum, PROPOSERS.to_vec(), LEARNERS.to_vec());
        // Short timers keep a Timeout step to a few ticks; their values do
        // not matter otherwise (reduction 4).
        config.heartbeat_interval = 1;
        config.election_timeout = 2;
        config.election_jitter = 0;
        config.retransmit_timeout = 1;
        config.bugs = bugs;
        if let Err(e) = config.validate() {
            panic!("the model's configuration is invalid: {e}");
        }
        MultiPaxosModel {
            stands_max: [1, 1],
            crashes_max: 1,
            config,
            learners: Arc::default(),
        }
    }

    /// The same model with at most `stands[i]` elections for proposer `i`.
    pub fn with_stands(mut self, stands: [u8; 2]) -> Self {
        self.stands_max = stands;
        self
    }

    /// The same model with at most `crashes` crash-restarts.
    pub fn with_crashes(mut self, crashes: u8) -> Self {
        self.crashes_max = crashes;
        self
    }

    /// The configuration every role is built from.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

impl Model for MultiPaxosModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        let fresh = DurableState::default();
        let acceptor = Acceptor::restore(&self.config, &fresh);
        vec![State {
            acceptors: [acceptor.clone(), acceptor.clone(), acceptor],
            durable: [fresh.clone(), fresh.clone(), fresh.clone()],
            proposers: PROPOSERS.map(|id| Proposer::restore(id, &self.config, &fresh, 0)),
            reserved: [fresh.clone(), fresh],
            stands: [0, 0],
            submitted: 0,
            network: BTreeSet::new(),
            heartbeats_used: Default::default(),
            accepts: BTreeSet::new(),
            decides: BTreeSet::new(),
            crashes: 0,
        }]
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        for (i, id) in PROPOSERS.iter().enumerate() {
            if self.can_stand(state, i) {
                actions.push(Action::Timeout(*id));
            }
            if state.submitted < COMMANDS && state.proposers[i].is_leader() {
                actions.push(Action::Submit(*id));
            }
        }
        if self.restarts_left(state) {
            actions.extend(ACCEPTORS.iter().map(|a| Action::Crash(*a)));
            let restartable = (0..PROPOSERS.len()).filter(|i| self.can_stand(state, *i));
            actions.extend(restartable.map(|i| Action::Crash(PROPOSERS[i])));
        }
        let usable = |env: &&Envelope| match index(&PROPOSERS, env.to) {
            Some(i) => !state.heartbeats_used[i].contains(*env),
            None => true,
        };
        let deliveries = state.network.iter().filter(usable);
        for env in deliveries {
            if let Message::Accept { .. } = env.msg {
                actions.push(Action::DeliverAcked(env.clone()));
                // Losing the report matters only to a leader that may
                // stand again (reduction 2).
                let sender = index(&PROPOSERS, env.from);
                let p = |i: usize| state.proposers[i].is_leader() && self.can_stand(state, i);
                if !sender.is_some_and(p) {
                    continue;
                }
            }
            actions.push(Action::Deliver(env.clone()));
        }
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut state = last.clone();
        match action {
            Action::Timeout(id) => self.timeout(&mut state, index(&PROPOSERS, id)?),
            Action::Submit(id) => {
                let i = index(&PROPOSERS, id)?;
                let command = client_command(state.submitted);
                state.submitted += 1;
                let mut out = ready();
                state.proposers[i].propose(command, &mut out);
                let reports = Self::apply(&mut state, id, carry_out(out));
                assert!(reports.is_empty(), "a proposer sent Accepted");
            }
            Action::Deliver(env) | Action::DeliverAcked(env) if !last.network.contains(&env) => {
                panic!("delivering a message never sent: {env:?}")
            }
            Action::Deliver(env) => Self::deliver(&mut state, env, false),
            Action::DeliverAcked(env) => Self::deliver(&mut state, env, true),
            Action::Crash(id) => {
                if let Some(i) = index(&ACCEPTORS, id) {
                    let restored = Acceptor::restore(&self.config, &state.durable[i]);
                    // An invisible restart (reduction 7).
                    if restored == state.acceptors[i] {
                        return None;
                    }
                    state.acceptors[i] = restored;
                } else {
                    let i = index(&PROPOSERS, id)?;
                    let restored = Proposer::restore(id, &self.config, &state.reserved[i], 0);
                    if restored == state.proposers[i] {
                        return None;
                    }
                    state.proposers[i] = restored;
                    state.heartbeats_used[i].clear();
                }
                state.crashes += 1;
            }
        }
        self.prune(last, &mut state);
        // A step that changes nothing (an ignored duplicate) is no transition.
        (state != *last).then_some(state)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        observe::properties()
    }
}
