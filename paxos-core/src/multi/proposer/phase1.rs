//! Phase 1 and takeover: collecting a candidate's promises (in parts),
//! then leading: re-proposing the highest-ballot value reported for each
//! slot and filling the slots nobody reported with no-ops.

use super::{PromiseParts, Proposer, Role};
use crate::invariant::{check, Invariant, InvariantViolation};
use crate::multi::window::SlotWindow;
use crate::multi::{split_by_size, Message};
use crate::ready::Ready;
use crate::types::{Ballot, NodeId, Slot, Value};
use std::collections::{BTreeMap, BTreeSet};

impl Proposer {
    pub(super) fn on_promise(
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

    pub(super) fn become_leader(
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

    /// A candidate runs Phase 1 from at most its commit point, keeps
    /// promises only from acceptors (parts numbered below their count), and
    /// holds no phase-1 quorum of complete ones: that would have made it
    /// leader.
    pub(super) fn check_candidate(&self) -> Result<(), InvariantViolation> {
        let Role::Candidate {
            ballot,
            first_slot,
            promises,
        } = &self.role
        else {
            return Ok(());
        };
        let (id, commit, quorum) = (self.id, self.chosen.commit(), &self.config.quorum);
        check(
            *first_slot <= commit,
            Invariant::CandidateStartsAtCommit,
            || format!("proposer {id} in {ballot}: first slot {first_slot} above commit {commit}"),
        )?;
        for (from, p) in promises {
            let last = p.got.keys().next_back().copied();
            let valid = quorum.is_acceptor(*from) && last.is_none_or(|part| part < p.parts);
            check(valid, Invariant::VotesOnlyFromAcceptors, || {
                let got: Vec<u32> = p.got.keys().copied().collect();
                format!(
                    "proposer {id} in {ballot}: promise from {from}, parts {got:?} of {}",
                    p.parts
                )
            })?;
        }
        let voters: BTreeSet<NodeId> = promises
            .iter()
            .filter(|(_, p)| p.complete())
            .map(|(n, _)| *n)
            .collect();
        check(
            !quorum.is_phase1_quorum(&voters),
            Invariant::OpenPhaseLacksQuorum,
            || {
                format!("proposer {id} still a candidate in {ballot} with complete promises from {voters:?}")
            },
        )
    }
}
