//! Phase 2: batching queued commands into `Accept`s under the pipeline
//! bound, counting `Accepted` per slot until a phase-2 quorum chooses it,
//! thrifty sends, and retransmits of what went unanswered.

use super::{InFlight, Proposer, Role};
use crate::invariant::{check, Invariant, InvariantViolation};
use crate::multi::{split_by_size, Budget, Message};
use crate::quorum::QuorumSystem;
use crate::ready::Ready;
use crate::types::{Ballot, NodeId, Slot, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A set of acceptors as bits by index in [`QuorumSystem::acceptors`];
/// acceptors beyond the first 128 go to a fallback set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(super) struct Acks {
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

    pub(super) fn insert(&mut self, quorum: &QuorumSystem, node: NodeId) {
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

impl Proposer {
    /// The phase-2 quorum a thrifty leader sends to: its own acceptor first
    /// (no network hop), then the others latest heard from (ties by id).
    pub(super) fn thrifty_quorum(&self) -> Vec<NodeId> {
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

    /// Sends queued commands while fewer than `pipeline_max` batches are in flight.
    pub(super) fn flush(&mut self, ready: &mut Ready<Message>) {
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

    pub(super) fn send_batch(&mut self, entries: Vec<(Slot, Value)>, ready: &mut Ready<Message>) {
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

    pub(super) fn on_accepted(
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
    pub(super) fn retransmit(&mut self, ready: &mut Ready<Message>) {
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

    /// A proposer queues at most `queue_max` commands, and only while it
    /// stands or leads: a follower forwards or drops them instead.
    pub(super) fn check_queue(&self) -> Result<(), InvariantViolation> {
        let (len, max) = (self.queue.len(), self.config.queue_max);
        let follower = matches!(self.role, Role::Follower { .. });
        check(
            len <= max && !(follower && len > 0),
            Invariant::QueueBounded,
            || {
                let status = self.status();
                format!(
                    "proposer {} ({status:?}) queues {len}, queue_max {max}",
                    self.id
                )
            },
        )
    }

    /// A leader hears only acceptors; its in-flight slots lie below its
    /// next slot, none with a deciding set of acks, counted exactly by its
    /// open batches; and every slot from its commit point to its next slot
    /// is chosen or in flight.
    pub(super) fn check_leader(&self) -> Result<(), InvariantViolation> {
        let Role::Leader {
            ballot,
            next_slot,
            inflight,
            batches,
            next_batch,
            heard,
            ..
        } = &self.role
        else {
            return Ok(());
        };
        let (id, quorum, bugs) = (self.id, &self.config.quorum, self.config.bugs);
        let strangers: Vec<NodeId> = heard
            .keys()
            .filter(|n| !quorum.is_acceptor(**n))
            .copied()
            .collect();
        check(
            strangers.is_empty(),
            Invariant::VotesOnlyFromAcceptors,
            || format!("leader {id} in {ballot} heard from non-acceptors {strangers:?}"),
        )?;
        let mut open: BTreeMap<u64, usize> = BTreeMap::new();
        for (slot, f) in inflight.iter() {
            check(slot < *next_slot, Invariant::LeaderWindowHasNoHoles, || {
                format!("leader {id} in {ballot}: {slot} in flight, next slot {next_slot}")
            })?;
            check(
                !f.acks.decides(quorum, bugs),
                Invariant::OpenPhaseLacksQuorum,
                || format!("leader {id} in {ballot}: {slot} in flight with deciding acks"),
            )?;
            *open.entry(f.batch).or_default() += 1;
        }
        let unnumbered = batches.keys().next_back().is_some_and(|b| b >= next_batch);
        check(
            open == *batches && !unnumbered,
            Invariant::LeaderBatchesMatchInFlight,
            || {
                format!("leader {id} in {ballot}: batches {batches:?} (next {next_batch}), in flight per batch {open:?}")
            },
        )?;
        let commit = self.chosen.commit();
        for slot in (commit.0..next_slot.0).map(Slot) {
            let held = inflight.get(slot).is_some() || self.chosen.contains(slot);
            check(held, Invariant::LeaderWindowHasNoHoles, || {
                format!("leader {id} in {ballot}: {slot} neither chosen nor in flight (commit {commit}, next slot {next_slot})")
            })?;
        }
        Ok(())
    }
}
