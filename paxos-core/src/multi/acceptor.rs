use super::accepted::AcceptedLog;
use super::{split_by_size, Config, Message};
use crate::durable::{DurableState, Record};
use crate::invariant::{broken, check, Invariant, InvariantViolation};
use crate::ready::Ready;
use crate::types::{Ballot, NodeId, Slot, Value};

/// A Multi-Paxos acceptor: one promise for all slots, and per slot the
/// highest-ballot proposal it accepted. Every change is returned as a
/// [`Record`] to persist before the reply that reports it leaves.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Acceptor {
    promised: Ballot,
    accepted: AcceptedLog,
    /// Promises larger than this go out in parts.
    message_bytes_max: usize,
}

impl Acceptor {
    /// Restores an acceptor from its node's synced state.
    pub fn restore(config: &Config, state: &DurableState) -> Self {
        let promised = if config.bugs.acceptor_forgets_promise() {
            Ballot::ZERO
        } else {
            state.promised
        };
        Acceptor {
            promised,
            accepted: AcceptedLog::from(&state.accepted),
            message_bytes_max: config.message_bytes_max,
        }
    }

    /// The highest ballot promised.
    pub fn promised(&self) -> Ballot {
        self.promised
    }

    /// What was accepted for `slot`, if anything.
    pub fn accepted(&self, slot: Slot) -> Option<&(Ballot, Value)> {
        self.accepted.get(slot)
    }

    /// Checks this acceptor's invariants: its promise covers every ballot
    /// it accepted in, and its accepted entries stay within bounds (real
    /// ballots, the accepted log's layout). O(accepted slots), so it runs
    /// only when called; per message, the acceptor checks in O(1) that it
    /// never accepts above its promise.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        self.accepted.check_invariants()?;
        let promised = self.promised;
        for (slot, (ballot, _)) in self.accepted.range_from(Slot(0)) {
            check(
                *ballot <= promised,
                Invariant::PromiseCoversAccepted,
                || format!("accepted {slot} in {ballot}, promised only {promised}"),
            )?;
            // No proposer uses round 0: such an entry is corrupt state.
            check(ballot.round > 0, Invariant::AcceptedWithinBounds, || {
                format!("accepted {slot} in {ballot}, a round no proposer uses")
            })?;
        }
        Ok(())
    }

    /// Handles one message from `from`; others than Prepare and Accept are ignored.
    pub fn handle(&mut self, from: NodeId, msg: Message, ready: &mut Ready<Message>) {
        match msg {
            Message::Prepare { ballot, first_slot } => {
                self.on_prepare(from, ballot, first_slot, ready)
            }
            Message::Accept { ballot, entries } => self.on_accept(from, ballot, entries, ready),
            _ => {}
        }
    }

    fn nack(&self, to: NodeId, ballot: Ballot, ready: &mut Ready<Message>) {
        let promised = self.promised;
        ready.send(to, Message::Nack { ballot, promised });
    }

    fn on_prepare(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        first: Slot,
        ready: &mut Ready<Message>,
    ) {
        if ballot < self.promised {
            return self.nack(from, ballot, ready);
        }
        if ballot > self.promised {
            self.promised = ballot;
            ready.persist(Record::Promise(ballot));
        }
        let accepted: Vec<(Slot, Ballot, Value)> = self
            .accepted
            .range_from(first)
            .map(|(s, (b, v))| (s, *b, v.clone()))
            .collect();
        let mut runs = split_by_size(accepted, usize::MAX, self.message_bytes_max, |(_, _, v)| {
            v.size_hint()
        });
        if runs.is_empty() {
            runs.push(Vec::new());
        }
        // More parts than a u32 counts (over 64 GiB of values) cannot be
        // described: send no promise rather than an incomplete one that
        // looks complete. The candidate then cannot win; safety holds.
        let Ok(parts) = u32::try_from(runs.len()) else {
            return;
        };
        for (part, accepted) in (0..parts).zip(runs) {
            let promise = Message::Promise {
                ballot,
                first_slot: first,
                accepted,
                part,
                parts,
            };
            ready.send(from, promise);
        }
    }

    fn on_accept(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        entries: Vec<(Slot, Value)>,
        ready: &mut Ready<Message>,
    ) {
        if ballot < self.promised {
            return self.nack(from, ballot, ready);
        }
        if ballot > self.promised {
            // Accepting in `ballot` promises it too; the Accept records below
            // carry that promise, but an empty batch must still persist it.
            self.promised = ballot;
            ready.persist(Record::Promise(ballot));
        }
        if self.promised < ballot {
            let detail = format!("accepting in {ballot} above promise {}", self.promised);
            broken(Invariant::PromiseCoversAccepted, detail);
        }
        let mut slots = Vec::with_capacity(entries.len());
        for (slot, value) in entries {
            if self.accepted.set(slot, ballot, value.clone()) {
                ready.persist(Record::Accept {
                    slot,
                    ballot,
                    value,
                });
            }
            slots.push(slot);
        }
        ready.send(from, Message::Accepted { ballot, slots });
    }
}
