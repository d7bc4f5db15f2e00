use super::chosen::ChosenLog;
use super::window::SlotWindow;
use super::{split_by_size, Budget, Config, Message};
use crate::durable::{DurableState, Record};
use crate::quorum::QuorumSystem;
use crate::ready::Ready;
use crate::types::{Ballot, Command, Jitter, NodeId, Slot, Value};
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

/// A set of acceptors as bits by index in [`QuorumSystem::acceptors`];
/// acceptors beyond the first 128 go to a fallback set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Acks {
    bits: u128,
    more: BTreeSet<NodeId>,
}

impl Acks {
    fn index(quorum: &QuorumSystem, node: NodeId) -> Option<usize> {
        quorum
            .acceptors()
            .position(|a| a == node)
            .filter(|i| *i < 128)
    }

    fn insert(&mut self, quorum: &QuorumSystem, node: NodeId) {
        match Self::index(quorum, node) {
            Some(i) => self.bits |= 1 << i,
            None => {
                self.more.insert(node);
            }
        }
    }

    fn contains(&self, quorum: &QuorumSystem, node: NodeId) -> bool {
        match Self::index(quorum, node) {
            Some(i) => self.bits & (1 << i) != 0,
            None => self.more.contains(&node),
        }
    }

    /// Whether these acks decide the slot. Both quorum kinds are thresholds
    /// over acceptors, so the count decides (the set is built only for the
    /// planted-bug check).
    fn decides(&self, quorum: &QuorumSystem, bugs: crate::PlantedBugs) -> bool {
        let count = self.bits.count_ones() as usize + self.more.len();
        if bugs == crate::PlantedBugs::default() {
            return count >= quorum.phase2_size();
        }
        let set: BTreeSet<NodeId> = quorum
            .acceptors()
            .filter(|a| self.contains(quorum, *a))
            .collect();
        bugs.decides(quorum, &set)
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
    pub fn learn(&mut self, entries: impl IntoIterator<Item = (Slot, Value)>) {
        for (slot, value) in entries {
            self.learn_chosen(slot, value);
        }
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

    fn reset_election_timer(&mut self) {
        let spread = (self.config.election_jitter + 1) << self.misses.min(4);
        let jitter = self.jitter.below(spread);
        let timeout = self.config.election_timeout << self.misses.min(4);
        self.election_at = self.now + timeout + jitter;
    }

    fn acceptors(&self) -> Vec<NodeId> {
        self.config.quorum.acceptors().collect()
    }

    /// The phase-2 quorum a thrifty leader sends to: its own acceptor first
    /// (no network hop), then the others latest heard from (ties by id).
    fn thrifty_quorum(&self) -> Vec<NodeId> {
        let Role::Leader { heard, .. } = &self.role else {
            return self.acceptors();
        };
        let mut order = self.acceptors();
        order.sort_by_key(|a| {
            let last = heard.get(a).copied();
            (*a != self.id, std::cmp::Reverse(last), *a)
        });
        order.truncate(self.config.quorum.phase2_size());
        order
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
            Message::Decide { entries } => {
                for (slot, value) in entries {
                    self.learn_chosen(slot, value);
                }
            }
            Message::CatchUp { from: first } => {
                let entries = self.chosen.from(first, self.config.catchup_max);
                let bytes_max = self.config.message_bytes_max;
                for entries in split_by_size(entries, usize::MAX, bytes_max, |(_, v)| v.size_hint())
                {
                    ready.send_now(from, Message::Decide { entries });
                }
            }
            Message::Forward { commands } => {
                // Only one hop: a follower that gets a forward drops it
                // rather than bounce it between two stale nodes.
                if matches!(self.role, Role::Follower { .. }) {
                    commands.into_iter().for_each(|c| ready.drop_command(c));
                } else {
                    self.propose_batch(commands, ready);
                }
            }
            Message::Prepare { .. } | Message::Accept { .. } => {}
        }
    }

    /// Advances time by one tick: followers and candidates whose timer ran
    /// out stand for election; a leader sends heartbeats and resends
    /// accepts that went unanswered.
    pub fn tick(&mut self, ready: &mut Ready<Message>) {
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
    }

    /// Whether a phase-2 quorum of acceptors answered this leader within the
    /// last election timeout (always true in the first timeout of a term).
    fn hears_phase2_quorum(&self) -> bool {
        let Role::Leader { since, heard, .. } = &self.role else {
            return false;
        };
        let window = self.config.election_timeout;
        if self.now.saturating_sub(*since) < window {
            return true;
        }
        let live: BTreeSet<NodeId> = heard
            .iter()
            .filter(|(_, t)| self.now.saturating_sub(**t) <= window)
            .map(|(n, _)| *n)
            .collect();
        self.config.quorum.is_phase2_quorum(&live)
    }

    fn learn_chosen(&mut self, slot: Slot, value: Value) {
        self.chosen.insert(slot, value);
    }

    /// Starts Phase 1 with a fresh ballot for every slot from `commit` on.
    fn stand(&mut self, ready: &mut Ready<Message>) {
        // Every election since the last leader that held for an election
        // timeout widens the back-off: short-lived leaders in a duel do not
        // reset it, or the duel goes on at the shortest timeouts.
        self.misses = self.misses.saturating_add(1);
        self.abandon(ready);
        self.round = self.round.max(self.seen.round) + 1;
        // Durable before the Prepare leaves: a restart must not reuse it.
        ready.persist(Record::Round(self.round));
        let ballot = Ballot::new(self.round, self.id);
        self.seen = self.seen.max(ballot);
        let first_slot = self.chosen.commit();
        self.role = Role::Candidate {
            ballot,
            first_slot,
            promises: BTreeMap::new(),
        };
        self.reset_election_timer();
        ready.broadcast(self.acceptors(), Message::Prepare { ballot, first_slot });
    }

    /// Leaves candidacy or leadership: in-flight commands may still be
    /// chosen, but this proposer no longer answers for them.
    fn abandon(&mut self, ready: &mut Ready<Message>) {
        if let Role::Leader { inflight, .. } = &mut self.role {
            for (_, f) in inflight.take_all() {
                if let Value::Command(c) = f.value {
                    ready.drop_command(Arc::unwrap_or_clone(c));
                }
            }
        }
    }

    fn step_down(&mut self, leader: Option<(NodeId, Ballot)>, ready: &mut Ready<Message>) {
        self.abandon(ready);
        self.role = Role::Follower { leader };
        self.reset_election_timer();
        let queued: Vec<Arc<Command>> = self.queue.drain(..).collect();
        self.propose_batch(queued, ready);
    }

    fn on_nack(&mut self, ballot: Ballot, promised: Ballot, ready: &mut Ready<Message>) {
        self.seen = self.seen.max(promised);
        if self.my_ballot() == Some(ballot) && promised > ballot {
            self.step_down(None, ready);
        }
    }

    fn on_heartbeat(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        commit: Slot,
        ready: &mut Ready<Message>,
    ) {
        if from == self.id || ballot < self.seen {
            return;
        }
        self.seen = ballot;
        match self.leader_since {
            Some((b, since)) if b == ballot => {
                if self.now.saturating_sub(since) >= self.config.election_timeout {
                    self.misses = 0;
                }
            }
            _ => self.leader_since = Some((ballot, self.now)),
        }
        if commit > self.chosen.commit() && self.now >= self.catchup_at {
            // Repair our chosen log, so a fail-over to us starts Phase 1
            // near the end of the log rather than where we fell behind. At
            // most once per retransmit timeout: a reply can be large.
            self.catchup_at = self.now + self.config.retransmit_timeout;
            let ask = Message::CatchUp {
                from: self.chosen.commit(),
            };
            ready.send_now(from, ask);
        }
        match self.my_ballot() {
            Some(mine) if mine >= ballot => {}
            Some(_) => self.step_down(Some((from, ballot)), ready),
            None => {
                self.role = Role::Follower {
                    leader: Some((from, ballot)),
                };
                self.reset_election_timer();
            }
        }
    }

    fn on_promise(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        first_slot: Slot,
        (part, parts, accepted): (u32, u32, Vec<(Slot, Ballot, Value)>),
        ready: &mut Ready<Message>,
    ) {
        let Role::Candidate {
            ballot: mine,
            first_slot: first,
            promises,
        } = &mut self.role
        else {
            return;
        };
        if *mine != ballot || *first != first_slot || !self.config.quorum.is_acceptor(from) {
            return;
        }
        if part >= parts {
            return;
        }
        let entry = promises.entry(from).or_default();
        if entry.parts != parts {
            // An acceptor answers a ballot's prepare from one state (it
            // accepts nothing below the ballot once it promised it), so a
            // differing count only comes from a malformed peer: start over.
            *entry = PromiseParts {
                parts,
                got: BTreeMap::new(),
            };
        }
        entry.got.insert(part, accepted);
        let voters: BTreeSet<NodeId> = promises
            .iter()
            .filter(|(_, p)| p.complete())
            .map(|(n, _)| *n)
            .collect();
        if !self.config.quorum.is_phase1_quorum(&voters) {
            return;
        }
        // For each slot, the highest-ballot value any promise reported.
        let mut reported: BTreeMap<Slot, (Ballot, Value)> = BTreeMap::new();
        let complete = promises.values().filter(|p| p.complete());
        for (slot, b, v) in complete.flat_map(|p| p.got.values().flatten()) {
            if reported.get(slot).is_none_or(|(rb, _)| rb < b) {
                reported.insert(*slot, (*b, v.clone()));
            }
        }
        let first = *first;
        // The voters count as heard before anything is sent, so a thrifty
        // takeover goes to acceptors that answered, not the lowest ids.
        let heard = voters.iter().map(|v| (*v, self.now)).collect();
        self.become_leader(ballot, first, reported, heard, ready);
    }

    fn become_leader(
        &mut self,
        ballot: Ballot,
        first: Slot,
        reported: BTreeMap<Slot, (Ballot, Value)>,
        heard: BTreeMap<NodeId, u64>,
        ready: &mut Ready<Message>,
    ) {
        let end = [
            reported.keys().next_back().map(|s| s.next()),
            Some(self.chosen.end()),
            Some(first),
            Some(self.chosen.commit()),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(first);
        self.role = Role::Leader {
            ballot,
            next_slot: end,
            inflight: SlotWindow::default(),
            batches: BTreeMap::new(),
            next_batch: 0,
            since: self.now,
            heard,
        };
        // Re-propose every slot in [first, end) not known to be chosen: the
        // reported value if any (this is what keeps chosen values chosen),
        // else a no-op so the log has no holes.
        let ignore = self.config.bugs.proposer_ignores_promised_values();
        let entries: Vec<(Slot, Value)> = (first.0..end.0)
            .map(Slot)
            .filter(|s| !self.chosen.contains(*s))
            .map(|s| match reported.get(&s) {
                Some((_, v)) if !ignore => (s, v.clone()),
                _ => (s, Value::Noop),
            })
            .collect();
        let (count_max, bytes_max) = (self.config.batch_max, self.config.message_bytes_max);
        for run in split_by_size(entries, count_max, bytes_max, |(_, v)| v.size_hint()) {
            self.send_batch(run, ready);
        }
        self.heartbeat(ready);
        self.flush(ready);
    }

    fn heartbeat(&mut self, ready: &mut Ready<Message>) {
        let Role::Leader { ballot, .. } = self.role else {
            return;
        };
        self.heartbeat_at = self.now + self.config.heartbeat_interval;
        let hb = Message::Heartbeat {
            ballot,
            commit: self.chosen.commit(),
        };
        ready.broadcast_now(self.audience(), hb);
    }

    /// An empty Accept asks each acceptor not heard from since the last
    /// heartbeat to confirm this ballot: it keeps check-quorum fed when the
    /// leader is idle, or when lost messages stall its pipeline.
    fn probe(&mut self, ready: &mut Ready<Message>) {
        let Role::Leader { ballot, heard, .. } = &self.role else {
            return;
        };
        let since = self.now.saturating_sub(self.config.heartbeat_interval);
        let quiet: Vec<NodeId> = self
            .config
            .quorum
            .acceptors()
            .filter(|a| heard.get(a).is_none_or(|t| *t < since))
            .collect();
        let probe = Message::Accept {
            ballot: *ballot,
            entries: Vec::new(),
        };
        ready.broadcast_now(quiet, probe);
    }

    /// Sends queued commands while fewer than `pipeline_max` batches are in flight.
    fn flush(&mut self, ready: &mut Ready<Message>) {
        loop {
            let Role::Leader { batches, .. } = &self.role else {
                return;
            };
            if self.queue.is_empty() || batches.len() >= self.config.pipeline_max {
                return;
            }
            let mut budget = Budget::new(self.config.batch_max, self.config.message_bytes_max);
            let n = self
                .queue
                .iter()
                .take_while(|c| budget.admit(c.size_hint()))
                .count();
            let Role::Leader { next_slot, .. } = &mut self.role else {
                return;
            };
            let mut entries = Vec::with_capacity(n);
            for command in self.queue.drain(..n) {
                entries.push((*next_slot, Value::Command(command)));
                *next_slot = next_slot.next();
            }
            self.send_batch(entries, ready);
        }
    }

    fn send_batch(&mut self, entries: Vec<(Slot, Value)>, ready: &mut Ready<Message>) {
        let acceptors = if self.config.thrifty {
            self.thrifty_quorum()
        } else {
            self.acceptors()
        };
        let now = self.now;
        let Role::Leader {
            ballot,
            inflight,
            batches,
            next_batch,
            ..
        } = &mut self.role
        else {
            return;
        };
        if entries.is_empty() {
            return;
        }
        let batch = *next_batch;
        *next_batch += 1;
        batches.insert(batch, entries.len());
        for (slot, value) in &entries {
            let f = InFlight {
                value: value.clone(),
                acks: Acks::default(),
                sent_at: now,
                batch,
            };
            inflight.insert(*slot, f);
        }
        let accept = Message::Accept {
            ballot: *ballot,
            entries,
        };
        ready.broadcast_now(acceptors, accept);
    }

    fn on_accepted(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        slots: &[Slot],
        ready: &mut Ready<Message>,
    ) {
        let quorum = &self.config.quorum;
        let bugs = self.config.bugs;
        let Role::Leader {
            ballot: mine,
            inflight,
            batches,
            heard,
            ..
        } = &mut self.role
        else {
            return;
        };
        if *mine != ballot || !quorum.is_acceptor(from) {
            return;
        }
        heard.insert(from, self.now);
        let mut decided = Vec::new();
        for slot in slots {
            let Some(f) = inflight.get_mut(*slot) else {
                continue;
            };
            f.acks.insert(quorum, from);
            if !f.acks.decides(quorum, bugs) {
                continue;
            }
            if let Some(f) = inflight.remove(*slot) {
                if let Some(left) = batches.get_mut(&f.batch) {
                    *left -= 1;
                    if *left == 0 {
                        batches.remove(&f.batch);
                    }
                }
                decided.push((*slot, f.value));
            }
        }
        if decided.is_empty() {
            return;
        }
        for (slot, value) in &decided {
            self.learn_chosen(*slot, value.clone());
        }
        let audience = self.audience();
        let bytes_max = self.config.message_bytes_max;
        for entries in split_by_size(decided, usize::MAX, bytes_max, |(_, v)| v.size_hint()) {
            ready.broadcast_now(audience.iter().copied(), Message::Decide { entries });
        }
        self.flush(ready);
    }

    /// Resends accepts unanswered for `retransmit_timeout` ticks, to the
    /// acceptors that have not answered, one message per acceptor.
    fn retransmit(&mut self, ready: &mut Ready<Message>) {
        let acceptors = self.acceptors();
        let (now, timeout, batch_max) = (
            self.now,
            self.config.retransmit_timeout,
            self.config.batch_max,
        );
        let Role::Leader {
            ballot, inflight, ..
        } = &mut self.role
        else {
            return;
        };
        let mut per_acceptor: BTreeMap<NodeId, Vec<(Slot, Value)>> = BTreeMap::new();
        for (slot, f) in inflight.iter_mut() {
            if now - f.sent_at < timeout {
                continue;
            }
            f.sent_at = now;
            for a in &acceptors {
                if !f.acks.contains(&self.config.quorum, *a) {
                    per_acceptor
                        .entry(*a)
                        .or_default()
                        .push((slot, f.value.clone()));
                }
            }
        }
        let bytes_max = self.config.message_bytes_max;
        for (a, entries) in per_acceptor {
            for entries in split_by_size(entries, batch_max, bytes_max, |(_, v)| v.size_hint()) {
                let accept = Message::Accept {
                    ballot: *ballot,
                    entries,
                };
                ready.send_now(a, accept);
            }
        }
    }
}
