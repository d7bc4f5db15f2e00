//! A proposer's record of chosen entries: a dense prefix below the commit
//! point plus the few entries learned out of order above it. In-order
//! learning — the common case — is a push onto a vector.

use crate::invariant::{check, Invariant, InvariantViolation};
use crate::types::{Slot, Value};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct ChosenLog {
    /// Entries for slots `0..prefix.len()`, all chosen.
    prefix: Vec<Value>,
    /// Chosen entries above the prefix, not yet contiguous with it.
    ahead: BTreeMap<Slot, Value>,
}

impl ChosenLog {
    /// Every slot below this one is chosen and known here.
    pub fn commit(&self) -> Slot {
        Slot(self.prefix.len() as u64)
    }

    pub fn contains(&self, slot: Slot) -> bool {
        slot < self.commit() || self.ahead.contains_key(&slot)
    }

    /// Records that `value` is chosen at `slot` (the first report wins; a
    /// chosen value never changes, so later ones are equal).
    pub fn insert(&mut self, slot: Slot, value: Value) {
        if slot == self.commit() {
            self.prefix.push(value);
            while let Some(entry) = self.ahead.first_entry() {
                if entry.key().0 != self.prefix.len() as u64 {
                    break;
                }
                self.prefix.push(entry.remove());
            }
        } else if slot > self.commit() {
            self.ahead.entry(slot).or_insert(value);
        }
    }

    /// The value known chosen at `slot`, if any.
    pub fn get(&self, slot: Slot) -> Option<&Value> {
        match usize::try_from(slot.0) {
            Ok(i) if i < self.prefix.len() => Some(&self.prefix[i]),
            _ => self.ahead.get(&slot),
        }
    }

    /// The commit point is the first hole: every entry ahead of the dense
    /// prefix lies above it (so the commit point is also at most the highest
    /// chosen slot + 1).
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let commit = self.commit();
        let first_ahead = self.ahead.keys().next().copied();
        check(
            first_ahead.is_none_or(|s| s > commit),
            Invariant::ChosenPrefixHasNoHoles,
            || format!("commit {commit}, first entry ahead {first_ahead:?}"),
        )
    }

    /// The slot after the highest one known chosen.
    pub fn end(&self) -> Slot {
        self.ahead
            .keys()
            .next_back()
            .map_or(self.commit(), |s| s.next())
    }

    /// Up to `n` chosen entries from `first` on, in slot order.
    pub fn from(&self, first: Slot, n: usize) -> Vec<(Slot, Value)> {
        let start = usize::try_from(first.0).unwrap_or(usize::MAX);
        let dense = self
            .prefix
            .iter()
            .enumerate()
            .skip(start)
            .map(|(i, v)| (Slot(i as u64), v.clone()));
        let sparse = self
            .ahead
            .range(first.max(self.commit())..)
            .map(|(s, v)| (*s, v.clone()));
        dense.chain(sparse).take(n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ClientId, Command};
    use bytes::Bytes;
    use proptest::prelude::*;

    fn v(n: u64) -> Value {
        Value::from(Command {
            client: ClientId(1),
            seq: n,
            payload: Bytes::new(),
        })
    }

    #[test]
    fn chosen_prefix_has_no_holes_is_reported_for_an_entry_waiting_at_the_commit_point() {
        let mut log = ChosenLog::default();
        log.insert(Slot(0), v(0));
        log.ahead.insert(Slot(1), v(1));
        let err = log.check_invariants().unwrap_err();
        assert_eq!(err.invariant, Invariant::ChosenPrefixHasNoHoles);
    }

    proptest! {
        /// Matches a plain ordered map fed the same first-report-wins inserts.
        #[test]
        fn behaves_like_a_map(slots in proptest::collection::vec(0u64..40, 0..80), first in 0u64..45, n in 0usize..50) {
            let mut log = ChosenLog::default();
            let mut oracle: BTreeMap<Slot, Value> = BTreeMap::new();
            for s in slots {
                log.insert(Slot(s), v(s));
                oracle.entry(Slot(s)).or_insert(v(s));
            }
            let mut commit = 0;
            while oracle.contains_key(&Slot(commit)) {
                commit += 1;
            }
            prop_assert_eq!(log.commit(), Slot(commit));
            prop_assert!(log.check_invariants().is_ok());
            for s in 0..45 {
                prop_assert_eq!(log.get(Slot(s)), oracle.get(&Slot(s)));
            }
            for s in 0..45 {
                prop_assert_eq!(log.contains(Slot(s)), oracle.contains_key(&Slot(s)));
            }
            let end = oracle.keys().next_back().map_or(Slot(commit), |s| s.next());
            prop_assert_eq!(log.end(), end);
            let expect: Vec<(Slot, Value)> = oracle.range(Slot(first)..).take(n).map(|(s, v)| (*s, v.clone())).collect();
            prop_assert_eq!(log.from(Slot(first), n), expect);
        }
    }
}
