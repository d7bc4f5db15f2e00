//! Catch-up: the chosen log this proposer keeps (learned as leader or
//! from `Decide`), serving `CatchUp` from it, and repairing it when a
//! leader's heartbeat shows it has fallen behind.

use super::Proposer;
use crate::invariant::{broken, Invariant};
use crate::multi::{split_by_size, Message};
use crate::ready::Ready;
use crate::types::{NodeId, Slot, Value};

impl Proposer {
    /// Records that `value` is chosen at `slot`.
    ///
    /// A chosen value never changes, so a report that contradicts a known
    /// one means agreement is already broken somewhere: stop rather than
    /// serve either value to a learner. Kept in release builds: O(1) for
    /// a slot in order or below the commit point, O(log n) above it.
    pub(super) fn learn_chosen(&mut self, slot: Slot, value: Value) {
        let commit = self.chosen.commit();
        if let Some(known) = self.chosen.get(slot) {
            if *known != value && self.config.bugs.none() {
                let detail = format!(
                    "proposer {} learned {value} at {slot}, where {known} was chosen",
                    self.id
                );
                broken(Invariant::ChosenValueUnchanged, detail);
            }
        }
        self.chosen.insert(slot, value);
        if self.chosen.commit() < commit {
            let detail = format!(
                "proposer {}: commit {} after {commit}",
                self.id,
                self.chosen.commit()
            );
            broken(Invariant::DecidedPrefixOnlyGrows, detail);
        }
    }

    pub(super) fn on_decide(&mut self, entries: Vec<(Slot, Value)>) {
        for (slot, value) in entries {
            self.learn_chosen(slot, value);
        }
    }

    /// Answers a lagging node with up to `catchup_max` chosen entries from
    /// `first` on, split to fit `message_bytes_max`.
    pub(super) fn on_catch_up(&mut self, from: NodeId, first: Slot, ready: &mut Ready<Message>) {
        let entries = self.chosen.from(first, self.config.catchup_max);
        let bytes_max = self.config.message_bytes_max;
        for entries in split_by_size(entries, usize::MAX, bytes_max, |(_, v)| v.size_hint()) {
            ready.send_now(from, Message::Decide { entries });
        }
    }

    /// Asks the leader `from` for the chosen entries this proposer lacks,
    /// when its heartbeat reports a commit point ahead of ours.
    pub(super) fn repair_chosen_log(
        &mut self,
        from: NodeId,
        commit: Slot,
        ready: &mut Ready<Message>,
    ) {
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
    }
}
