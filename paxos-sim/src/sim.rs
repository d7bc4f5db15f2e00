//! The deterministic simulator: one seeded scheduler owns every node, every
//! message in flight and every fault, and checks safety after every step.
//!
//! A run has two phases:
//! 1. **Chaos**: `steps` random events — deliver a message (any deliverable
//!    one, so messages are reordered), sync a node's storage, tick the clock,
//!    a client submits or retries, crash a node (losing what it had not
//!    synced), restart it from its synced records, cut links (one-way too),
//!    heal them. Messages are dropped, duplicated and delayed.
//! 2. **Liveness**: faults stop, every link heals and every node restarts
//!    (except, if the run says so, one node kept down);
//!    within `liveness_ticks_max` ticks every client command must be decided
//!    and every learner that is up must hold the whole chosen log.

use crate::check::{Checker, Violation};
use crate::clients::SimClient;
use crate::nodes::{SimNode, Storages};
use crate::protocol::Protocol;
use paxos_core::client::{Attempts, RetryPolicy, Target};
use paxos_core::{
    ClientId, Command, NodeId, Record, RoleKind, Slot, Step, Storage, Value, Written,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};

/// How hostile the environment is during the chaos phase.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Faults {
    /// Probability that a message is lost.
    pub drop: f64,
    /// Probability that a message is delivered twice.
    pub duplicate: f64,
    /// Messages arrive 0..=`delay_max` ticks after they are sent.
    pub delay_max: u64,
    /// Relative weight of "crash a node" among events (0: never).
    pub crash_weight: u32,
    /// Relative weight of "cut some links" among events (0: never).
    pub partition_weight: u32,
}

impl Faults {
    /// No faults at all (messages still take 0..=1 ticks).
    pub fn none() -> Self {
        Faults {
            drop: 0.0,
            duplicate: 0.0,
            delay_max: 1,
            crash_weight: 0,
            partition_weight: 0,
        }
    }
}

/// One run's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    /// Seeds the scheduler (and, through it, every node's jitter).
    pub seed: u64,
    /// Chaos-phase events.
    pub steps: u64,
    /// Chaos-phase faults.
    pub faults: Faults,
    /// Concurrent clients.
    pub clients: u64,
    /// Ticks a client waits for its command before resending it.
    pub client_retry: u64,
    /// Ticks the liveness phase may take.
    pub liveness_ticks_max: u64,
    /// A node that stays down through the liveness phase (a minority the
    /// quorums must do without; its learner is not checked).
    pub liveness_down: Option<NodeId>,
    /// Check after every step that no acceptor's promise fell below its
    /// synced promise. Off only to show that a bug it would catch first
    /// also breaks agreement.
    pub check_promises: bool,
    /// Print every event.
    pub trace: bool,
}

/// Counters for one run (or, summed, for many).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Chaos-phase events executed.
    pub steps: u64,
    /// Logical ticks, both phases.
    pub ticks: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Messages lost (dropped, cut off, or sent to a crashed node).
    pub dropped: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Node crashes.
    pub crashes: u64,
    /// Link cuts.
    pub partitions: u64,
    /// Storage syncs.
    pub syncs: u64,
    /// Slots chosen.
    pub chosen: u64,
    /// Client commands that completed.
    pub completed: u64,
    /// Client commands resent after a timeout.
    pub client_retries: u64,
    /// Messages that forwarded client commands to a leader, delivered.
    pub forwards: u64,
    /// Learners restored from a non-empty durable log after a crash.
    pub learner_restores: u64,
}

impl Stats {
    /// Faults injected: lost and duplicated messages, crashes and cuts.
    pub fn faults(&self) -> u64 {
        self.dropped + self.duplicated + self.crashes + self.partitions
    }

    /// Adds another run's counters.
    pub fn add(&mut self, o: &Stats) {
        self.steps += o.steps;
        self.ticks += o.ticks;
        self.delivered += o.delivered;
        self.dropped += o.dropped;
        self.duplicated += o.duplicated;
        self.crashes += o.crashes;
        self.partitions += o.partitions;
        self.syncs += o.syncs;
        self.chosen += o.chosen;
        self.completed += o.completed;
        self.client_retries += o.client_retries;
        self.forwards += o.forwards;
        self.learner_restores += o.learner_restores;
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// What happened.
    pub stats: Stats,
    /// The first broken property and the step it broke at (chaos steps
    /// count from 0; liveness failures report the last step).
    pub violation: Option<(u64, Violation)>,
}

struct Host<P: Protocol> {
    node: Option<SimNode<P>>,
    /// One storage per role, as the actors have.
    storage: Storages,
    /// Per role, persist jobs written but not yet synced, with their
    /// records (for the checker), in order.
    pending: BTreeMap<RoleKind, Vec<(Written, Vec<Record>)>>,
    incarnation: u64,
    delivered: u64,
}

impl<P: Protocol> Host<P> {
    /// Roles with something to sync: held jobs or written-behind records.
    fn unsynced(&self) -> Vec<RoleKind> {
        RoleKind::ALL
            .into_iter()
            .filter(|k| {
                self.pending.get(k).is_some_and(|p| !p.is_empty())
                    || self.storage.get(k).is_some_and(|s| s.unsynced() > 0)
            })
            .collect()
    }
}

struct Envelope<M> {
    at: u64,
    from: NodeId,
    to: NodeId,
    msg: M,
}

/// A simulated cluster running protocol `P`.
pub struct Sim<P: Protocol> {
    proto: P,
    opts: Options,
    rng: ChaCha8Rng,
    now: u64,
    ids: Vec<NodeId>,
    hosts: BTreeMap<NodeId, Host<P>>,
    net: Vec<Envelope<P::Msg>>,
    cut: BTreeSet<(NodeId, NodeId)>,
    checker: Checker,
    clients: Vec<SimClient>,
    single_decree_done: bool,
    /// In the liveness phase clients only retry; they start nothing new.
    settling: bool,
    stats: Stats,
    faults: Faults,
}

type Step0 = Result<(), Violation>;

impl<P: Protocol> Sim<P> {
    /// A fresh cluster: every node booted with empty storage.
    pub fn new(proto: P, opts: Options) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let ids = proto.nodes();
        let mut hosts = BTreeMap::new();
        for id in &ids {
            let mut storage = Storages::new();
            let booted = SimNode::boot(&proto, *id, &mut storage, rng.random());
            let host = Host {
                node: Some(booted.node),
                storage,
                pending: BTreeMap::new(),
                incarnation: 0,
                delivered: 0,
            };
            hosts.insert(*id, host);
        }
        let learners = proto.learners();
        let proposers = proto.proposers();
        let clients = (1..=opts.clients)
            .map(|c| {
                let home = learners[(c as usize - 1) % learners.len()];
                SimClient::new(ClientId(c), home, proto.roles(home), &proposers)
            })
            .collect();
        Sim {
            checker: Checker::new(proto.quorum().clone()),
            proto,
            faults: opts.faults,
            opts,
            rng,
            now: 0,
            ids,
            hosts,
            net: Vec::new(),
            cut: BTreeSet::new(),
            clients,
            single_decree_done: false,
            settling: false,
            stats: Stats::default(),
        }
    }

    /// Runs both phases and reports.
    pub fn run(mut self) -> Report {
        let mut violation = None;
        for step in 0..self.opts.steps {
            self.stats.steps += 1;
            if let Err(v) = self.step().and_then(|()| self.check_promises()) {
                violation = Some((step, v));
                break;
            }
        }
        if violation.is_none() {
            if let Err(v) = self.liveness() {
                violation = Some((self.opts.steps, v));
            }
        }
        self.stats.chosen = self.checker.chosen().len() as u64;
        Report {
            stats: self.stats,
            violation,
        }
    }

    fn trace(&self, what: impl FnOnce() -> String) {
        if self.opts.trace {
            println!("t={:<4} {}", self.now, what());
        }
    }

    fn step(&mut self) -> Step0 {
        let deliverable = self.net.iter().any(|e| e.at <= self.now);
        let syncable = self.hosts.values().any(|h| !h.unsynced().is_empty());
        let down = self.hosts.values().any(|h| h.node.is_none());
        let weights = [
            if deliverable { 50 } else { 0 },
            if syncable { 20 } else { 0 },
            10,
            5,
            self.faults.crash_weight,
            if down { 3 } else { 0 },
            self.faults.partition_weight,
            if self.cut.is_empty() { 0 } else { 2 },
        ];
        let total: u32 = weights.iter().sum();
        let mut pick = self.rng.random_range(0..total);
        let mut event = 0;
        for (i, w) in weights.iter().enumerate() {
            if pick < *w {
                event = i;
                break;
            }
            pick -= w;
        }
        match event {
            0 => self.deliver_one(),
            1 => {
                let candidates: Vec<(NodeId, RoleKind)> = self
                    .hosts
                    .iter()
                    .flat_map(|(id, h)| h.unsynced().into_iter().map(|k| (*id, k)))
                    .collect();
                let (id, kind) = candidates[self.rng.random_range(0..candidates.len())];
                self.sync(id, kind)
            }
            2 => self.tick(),
            3 => self.client_step(),
            4 => {
                let id = self.ids[self.rng.random_range(0..self.ids.len())];
                self.crash(id);
                Ok(())
            }
            5 => {
                let down: Vec<NodeId> = self
                    .hosts
                    .iter()
                    .filter(|(_, h)| h.node.is_none())
                    .map(|(id, _)| *id)
                    .collect();
                let id = down[self.rng.random_range(0..down.len())];
                self.restart(id)
            }
            6 => {
                self.partition();
                Ok(())
            }
            _ => {
                self.trace(|| "heal all links".into());
                self.cut.clear();
                Ok(())
            }
        }
    }

    fn check_promises(&self) -> Step0 {
        if !self.opts.check_promises {
            return Ok(());
        }
        // Every role's own invariants, after every step (the same switch:
        // a planted forgotten promise breaks the acceptor's first).
        for (id, h) in &self.hosts {
            if let Some(n) = &h.node {
                self.proto
                    .check_roles(n.proposer(), n.acceptor(), n.learner())
                    .map_err(|e| Violation::Invariant {
                        node: *id,
                        what: e.to_string(),
                    })?;
            }
        }
        for (id, h) in &self.hosts {
            if let Some(b) = h
                .node
                .as_ref()
                .and_then(SimNode::acceptor)
                .map(|a| self.proto.promised(a))
            {
                self.checker.promise_holds(*id, b)?;
            }
        }
        Ok(())
    }

    fn deliver_one(&mut self) -> Step0 {
        let ready: Vec<usize> = (0..self.net.len())
            .filter(|i| self.net[*i].at <= self.now)
            .collect();
        if ready.is_empty() {
            return Ok(());
        }
        let i = ready[self.rng.random_range(0..ready.len())];
        let env = self.net.swap_remove(i);
        self.deliver(env)
    }

    fn deliver(&mut self, env: Envelope<P::Msg>) -> Step0 {
        let Some(host) = self.hosts.get_mut(&env.to) else {
            return Ok(());
        };
        let Some(node) = host.node.as_mut() else {
            self.stats.dropped += 1;
            return Ok(());
        };
        self.stats.delivered += 1;
        if self.opts.trace {
            println!(
                "t={:<4} {} -> {}  {:?}",
                self.now, env.from, env.to, env.msg
            );
        }
        if self.proto.is_forward(&env.msg) {
            self.stats.forwards += 1;
        }
        let steps = node.handle(env.from, env.msg);
        self.carry_all(env.to, steps)
    }

    fn carry_all(&mut self, id: NodeId, steps: Vec<(RoleKind, Step<P::Msg>)>) -> Step0 {
        for (kind, step) in steps {
            self.carry_out(id, kind, step)?;
        }
        Ok(())
    }

    /// Carries out one role's step: its persist job is written (not yet
    /// synced: a crash now loses it), written-behind records too; what
    /// may leave is sent; chosen entries are delivered.
    fn carry_out(&mut self, id: NodeId, kind: RoleKind, step: Step<P::Msg>) -> Step0 {
        let Step {
            send,
            persist,
            write_behind,
            apply,
            dropped,
        } = step;
        let Some(host) = self.hosts.get_mut(&id) else {
            return Ok(());
        };
        let storage = host.storage.entry(kind).or_default();
        let mut failed = !write_behind.is_empty() && storage.append_owned(write_behind).is_err();
        if let Some(job) = persist {
            let records = job.records().to_vec();
            match job.write(storage) {
                Ok(written) => host
                    .pending
                    .entry(kind)
                    .or_default()
                    .push((written, records)),
                Err(_) => failed = true,
            }
        }
        if failed {
            // MemStorage in the simulator never fails; treat it as a crash.
            self.crash(id);
            return Ok(());
        }
        for (to, msg) in send {
            self.send(id, to, msg);
        }
        for (slot, value) in apply {
            self.decided(id, slot, &value)?;
        }
        for command in dropped {
            self.refused(id, &command);
        }
        Ok(())
    }

    /// A proposer on `at` handed `command` back: a client waiting for it
    /// there backs off before its next attempt (the actors' `NotLeader`).
    fn refused(&mut self, at: NodeId, command: &Command) {
        let now = self.now;
        for client in &mut self.clients {
            if client.home == at && client.awaits(command.client, command.seq) {
                if let Some(w) = client.waiting.as_mut() {
                    w.act_at = w.attempts.refused(now);
                }
            }
        }
    }

    /// Syncs one role's storage: every job written before is durable now,
    /// so the checker learns of its records and the held messages leave.
    fn sync(&mut self, id: NodeId, kind: RoleKind) -> Step0 {
        let Some(host) = self.hosts.get_mut(&id) else {
            return Ok(());
        };
        let jobs = host.pending.remove(&kind).unwrap_or_default();
        let storage = host.storage.entry(kind).or_default();
        let mut records = Vec::new();
        let mut last = None;
        for (written, r) in jobs {
            records.extend(r);
            last = Some(written);
        }
        let proof = match last {
            Some(written) => written.sync(storage).map(Some),
            None => storage.sync().map(|()| None),
        };
        let Ok(proof) = proof else {
            self.crash(id);
            return Ok(());
        };
        self.stats.syncs += 1;
        self.checker.synced(id, &records)?;
        let released = match (proof, host.node.as_mut()) {
            (Some(proof), Some(node)) => node.persisted(kind, proof),
            _ => Vec::new(),
        };
        for (to, msg) in released {
            self.send(id, to, msg);
        }
        Ok(())
    }

    fn sync_all(&mut self, id: NodeId) -> Step0 {
        let kinds = self.hosts.get(&id).map(Host::unsynced).unwrap_or_default();
        for kind in kinds {
            self.sync(id, kind)?;
        }
        Ok(())
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: P::Msg) {
        if from == to {
            self.net.push(Envelope {
                at: self.now,
                from,
                to,
                msg,
            });
            return;
        }
        if self.cut.contains(&(from, to)) || self.rng.random_bool(self.faults.drop) {
            self.stats.dropped += 1;
            return;
        }
        if self.rng.random_bool(self.faults.duplicate) {
            self.stats.duplicated += 1;
            let at = self.now + self.rng.random_range(0..=self.faults.delay_max);
            let copy = msg.clone();
            self.net.push(Envelope {
                at,
                from,
                to,
                msg: copy,
            });
        }
        let at = self.now + self.rng.random_range(0..=self.faults.delay_max);
        self.net.push(Envelope { at, from, to, msg });
    }

    fn decided(&mut self, id: NodeId, slot: Slot, value: &Value) -> Step0 {
        self.checker.delivered(id, slot, value)?;
        self.trace(|| format!("{id} learns {slot} = {value}"));
        let Some(host) = self.hosts.get_mut(&id) else {
            return Ok(());
        };
        host.delivered += 1;
        let incarnation = host.incarnation;
        let mut answer = None;
        if let Some(replica) = host.node.as_mut().and_then(|n| n.replica.as_mut()) {
            if let Some(applied) = self.proto.apply(replica, slot, value) {
                self.checker.applied(id, incarnation, &applied)?;
                answer = Some(applied);
            }
        }
        self.single_decree_done |= self.proto.single_decree();
        if self.proto.single_decree() {
            // No replica answers: a client is done once its value is decided.
            if let Value::Command(c) = value {
                for client in &mut self.clients {
                    if client.awaits(c.client, c.seq) {
                        client.waiting = None;
                        self.stats.completed += 1;
                    }
                }
            }
            return Ok(());
        }
        // The home replica answers its waiting client, as on the actors.
        if let Some(applied) = answer {
            for client in &mut self.clients {
                if client.home == id && client.awaits(applied.client, applied.seq) {
                    self.checker
                        .answered(applied.client, applied.seq, &applied.result)?;
                    client.waiting = None;
                    self.stats.completed += 1;
                }
            }
        }
        Ok(())
    }

    fn tick(&mut self) -> Step0 {
        self.now += 1;
        self.stats.ticks += 1;
        let ids = self.ids.clone();
        for id in ids {
            let Some(node) = self.hosts.get_mut(&id).and_then(|h| h.node.as_mut()) else {
                continue;
            };
            let steps = node.tick();
            self.carry_all(id, steps)?;
        }
        Ok(())
    }

    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            timeout: self.opts.client_retry,
            attempts_max: 8,
            backoff: 2,
        }
    }

    /// One client acts: starts its next command, or makes its next attempt
    /// once the last one timed out or its back-off ended.
    fn client_step(&mut self) -> Step0 {
        if self.clients.is_empty() {
            return Ok(());
        }
        let c = self.rng.random_range(0..self.clients.len());
        let (now, policy) = (self.now, self.retry_policy());
        let client = &mut self.clients[c];
        match &client.waiting {
            Some(w) if now < w.act_at => return Ok(()),
            Some(_) => {}
            // Single-decree: once anything is decided there is nothing new
            // to ask for, but losing clients keep retrying, which is what
            // gets the decision re-learned after crashes.
            None if self.settling || self.single_decree_done => return Ok(()),
            None => {
                let command = client.start(policy, now);
                self.checker.proposed(&command);
            }
        }
        self.attempt(c)
    }

    /// Client `c`'s next attempt, routed by the core's client rules.
    fn attempt(&mut self, c: usize) -> Step0 {
        let (now, policy) = (self.now, self.retry_policy());
        if !self.proto.single_decree() && !self.home_is_up(c) {
            return Ok(());
        }
        let client = &mut self.clients[c];
        let Some(w) = client.waiting.as_mut() else {
            return Ok(());
        };
        let attempt = match w.attempts.next(now) {
            Some(a) => a,
            None => {
                // The budget is spent: the user tries again, same seq.
                w.attempts = Attempts::start(policy, now);
                match w.attempts.next(now) {
                    Some(a) => a,
                    None => return Ok(()),
                }
            }
        };
        if attempt.number > 1 || w.attempts.made() > 1 {
            self.stats.client_retries += 1;
        }
        w.act_at = attempt.until;
        let command = w.command.clone();
        let home = client.home;
        if self.proto.single_decree() {
            let proposers = self.proto.proposers();
            let to = proposers[self.rng.random_range(0..proposers.len())];
            return self.submit_local(to, command);
        }
        let hint = self
            .hosts
            .get(&home)
            .and_then(|h| h.node.as_ref())
            .and_then(SimNode::learner)
            .and_then(|l| self.proto.learner_leader(l));
        match self.clients[c].router.pick(attempt.number, hint) {
            Some(Target::Local) => self.submit_local(home, command),
            Some(Target::Remote(to)) => {
                self.trace(|| {
                    format!(
                        "client {} forwards c{}:{} via {home} to {to}",
                        command.client.0, command.client.0, command.seq
                    )
                });
                if let Some(msg) = self.proto.forward(command) {
                    self.send(home, to, msg);
                }
                Ok(())
            }
            None => {
                self.refused(home, &command);
                Ok(())
            }
        }
    }

    /// Whether client `c`'s home node is up; if not, the client moves to a
    /// live node with a replica (none: it waits).
    fn home_is_up(&mut self, c: usize) -> bool {
        let up = |id: &NodeId| self.hosts.get(id).is_some_and(|h| h.node.is_some());
        if up(&self.clients[c].home) {
            return true;
        }
        let live: Vec<NodeId> = self.proto.learners().into_iter().filter(up).collect();
        if live.is_empty() {
            return false;
        }
        let home = live[self.rng.random_range(0..live.len())];
        let proposers = self.proto.proposers();
        self.clients[c].move_to(home, self.proto.roles(home), &proposers);
        self.trace(|| format!("client {} moves to {home}", c + 1));
        true
    }

    /// Hands `command` to the proposer on `to`.
    fn submit_local(&mut self, to: NodeId, command: Command) -> Step0 {
        self.trace(|| {
            format!(
                "client {} submits c{}:{} to {to}",
                command.client.0, command.client.0, command.seq
            )
        });
        let Some(node) = self.hosts.get_mut(&to).and_then(|h| h.node.as_mut()) else {
            return Ok(());
        };
        match node.submit(&self.proto, command) {
            Some(step) => self.carry_out(to, RoleKind::Proposer, step),
            None => Ok(()),
        }
    }

    fn crash(&mut self, id: NodeId) {
        let Some(host) = self.hosts.get_mut(&id) else {
            return;
        };
        if host.node.is_none() {
            return;
        }
        host.node = None;
        host.pending.clear();
        for storage in host.storage.values_mut() {
            storage.crash();
        }
        host.incarnation += 1;
        host.delivered = 0;
        self.stats.crashes += 1;
        self.trace(|| format!("CRASH {id} (unsynced writes lost)"));
    }

    fn restart(&mut self, id: NodeId) -> Step0 {
        let seed = self.rng.random();
        let Some(host) = self.hosts.get_mut(&id) else {
            return Ok(());
        };
        if host.node.is_some() {
            return Ok(());
        }
        let booted = SimNode::boot(&self.proto, id, &mut host.storage, seed);
        host.node = Some(booted.node);
        if !booted.replay.is_empty() {
            self.stats.learner_restores += 1;
        }
        self.trace(|| {
            format!(
                "RESTART {id} from synced state ({} logged entries replayed)",
                booted.replay.len()
            )
        });
        for (slot, value) in booted.replay {
            self.decided(id, slot, &value)?;
        }
        Ok(())
    }

    /// Cuts links: either isolates a random group from the rest (both ways)
    /// or cuts one direction of one link.
    fn partition(&mut self) {
        self.stats.partitions += 1;
        let n = self.ids.len();
        if self.rng.random_bool(0.5) {
            let a = self.ids[self.rng.random_range(0..n)];
            let b = self.ids[self.rng.random_range(0..n)];
            if a != b {
                self.cut.insert((a, b));
                self.trace(|| format!("cut link {a} -> {b}"));
            }
            return;
        }
        let side: BTreeSet<NodeId> = self
            .ids
            .iter()
            .filter(|_| self.rng.random_bool(0.5))
            .copied()
            .collect();
        for a in &self.ids {
            for b in &self.ids {
                if side.contains(a) != side.contains(b) {
                    self.cut.insert((*a, *b));
                }
            }
        }
        self.trace(|| format!("partition {side:?} from the rest"));
    }

    /// Faults stop; every command must now be decided and learned everywhere.
    fn liveness(&mut self) -> Step0 {
        self.faults = Faults {
            delay_max: self.faults.delay_max,
            ..Faults::none()
        };
        self.cut.clear();
        self.settling = true;
        let down = self.opts.liveness_down;
        for id in self.ids.clone() {
            if Some(id) == down {
                self.crash(id);
            } else {
                self.restart(id)?;
            }
        }
        let learners: Vec<NodeId> = self
            .proto
            .learners()
            .into_iter()
            .filter(|l| Some(*l) != down)
            .collect();
        for t in 0..self.opts.liveness_ticks_max {
            for _ in 0..64 {
                for id in self.ids.clone() {
                    self.sync_all(id)?;
                }
                let mut due = Vec::new();
                let mut later = Vec::new();
                for env in self.net.drain(..) {
                    if env.at <= self.now {
                        due.push(env);
                    } else {
                        later.push(env);
                    }
                }
                self.net = later;
                if due.is_empty() {
                    break;
                }
                while !due.is_empty() {
                    let i = self.rng.random_range(0..due.len());
                    let env = due.swap_remove(i);
                    self.deliver(env)?;
                }
            }
            self.check_promises()?;
            if self.settled(&learners) {
                return Ok(());
            }
            self.tick()?;
            for _ in 0..self.clients.len() {
                self.client_step()?;
            }
            let _ = t;
        }
        Err(Violation::NoProgress {
            ticks: self.opts.liveness_ticks_max,
            missing: self.missing(&learners),
        })
    }

    fn settled(&self, learners: &[NodeId]) -> bool {
        self.missing(learners).is_empty()
    }

    fn missing(&self, learners: &[NodeId]) -> String {
        let mut missing = Vec::new();
        let target = if self.proto.single_decree() {
            1
        } else {
            let mut n = 0;
            while self.checker.chosen().contains_key(&Slot(n)) {
                n += 1;
            }
            n
        };
        if !self.proto.single_decree() {
            for c in &self.clients {
                if let Some(w) = &c.waiting {
                    missing.push(format!(
                        "client {} seq {}",
                        w.command.client.0, w.command.seq
                    ));
                }
            }
        }
        for l in learners {
            let have = self.hosts.get(l).map_or(0, |h| h.delivered);
            if have < target {
                missing.push(format!("learner {l} has {have}/{target} slots"));
            }
        }
        missing.join(", ")
    }
}
