//! An acceptor's accepted proposals by slot.
//!
//! A leader hands out slots in order, so they are dense: a vector indexed
//! by slot stores and finds them without the map walk that dominated the
//! acceptor's profile. The vector grows over a run of empty slots only if
//! the run is short (at most [`GAP_MAX`]) and empty slots stay at most as
//! many as accepted ones (plus `GAP_MAX`); any other slot goes to a side
//! map. So the vector never holds more than about twice as many slots as
//! were accepted, whatever the slot numbers in the messages.
//! The cost: an acceptor that comes back after missing more than
//! `GAP_MAX` slots keeps every later slot in the side map, at B-tree
//! speed, until log compaction gives the vector a moving start.

use crate::invariant::{check, Invariant, InvariantViolation};
use crate::types::{Ballot, Slot, Value};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

/// The widest run of empty slots the dense part grows over, and the empty
/// slots it may hold beyond as many as it has filled.
const GAP_MAX: u64 = 1 << 16;

/// Accepted `(ballot, value)` per slot.
///
/// Invariants: every key of `far` is at least `near.len()`; `filled` is
/// the number of `Some` in `near`.
#[derive(Clone, Debug, Default)]
pub(crate) struct AcceptedLog {
    /// Slots `0..near.len()`, each accepted or not.
    near: Vec<Option<(Ballot, Value)>>,
    /// Accepted slots in `near`.
    filled: u64,
    /// Accepted slots at or beyond `near.len()`.
    far: BTreeMap<Slot, (Ballot, Value)>,
}

impl AcceptedLog {
    /// The proposal accepted for `slot`, if any.
    pub fn get(&self, slot: Slot) -> Option<&(Ballot, Value)> {
        match usize::try_from(slot.0) {
            Ok(i) if i < self.near.len() => self.near[i].as_ref(),
            _ => self.far.get(&slot),
        }
    }

    /// How many slots have an accepted proposal.
    pub fn len(&self) -> usize {
        self.filled as usize + self.far.len()
    }

    /// Whether `slot` belongs in the vector: inside it, or a short step
    /// past its end that keeps empty slots within bounds.
    fn near_enough(&self, slot: Slot) -> Option<usize> {
        let len = self.near.len() as u64;
        if slot.0 >= len {
            let gap = slot.0 - len;
            // Empty slots once `slot` is filled: those now, plus the gap.
            let empty = (len - self.filled).saturating_add(gap);
            if gap > GAP_MAX || empty > GAP_MAX.max(self.filled + 1) {
                return None;
            }
        }
        usize::try_from(slot.0).ok()
    }

    /// Stores `(ballot, value)` for `slot`; says whether that changed
    /// anything (false if exactly this proposal was already there).
    pub fn set(&mut self, slot: Slot, ballot: Ballot, value: Value) -> bool {
        let Some(i) = self.near_enough(slot) else {
            return match self.far.get(&slot) {
                Some((b, v)) if *b == ballot && *v == value => false,
                _ => {
                    self.far.insert(slot, (ballot, value));
                    true
                }
            };
        };
        if i == self.near.len() && self.far.is_empty() {
            // The next slot in order, the common case: a plain push.
            self.near.push(Some((ballot, value)));
            self.filled += 1;
            return true;
        }
        if i >= self.near.len() {
            self.near.resize(i + 1, None);
            // Keep the invariant: far slots now covered move into `near`
            // (into empty places: they were past the old end).
            while let Some(entry) = self.far.first_entry() {
                let s = entry.key().0;
                if s >= self.near.len() as u64 {
                    break;
                }
                // Below near.len(), so it fits a usize.
                self.near[s as usize] = Some(entry.remove());
                self.filled += 1;
            }
        }
        match &self.near[i] {
            Some((b, v)) if *b == ballot && *v == value => false,
            old => {
                if old.is_none() {
                    self.filled += 1;
                }
                self.near[i] = Some((ballot, value));
                true
            }
        }
    }

    /// The layout's invariants (see the type) and its size bound: at most
    /// `max(GAP_MAX, filled)` empty places in `near`, which is what keeps
    /// the vector within about twice the accepted slots.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let near_len = self.near.len() as u64;
        let filled = self.near.iter().flatten().count() as u64;
        let empty = near_len - filled;
        let first_far = self.far.keys().next().copied();
        let laid_out = filled == self.filled
            && first_far.is_none_or(|s| s.0 >= near_len)
            && empty <= GAP_MAX.max(filled);
        check(laid_out, Invariant::AcceptedWithinBounds, || {
            format!(
                "{near_len} near slots, {filled} filled (counted {}), first far {first_far:?}",
                self.filled
            )
        })
    }

    /// Every accepted slot from `first` on, in slot order.
    pub fn range_from(&self, first: Slot) -> impl Iterator<Item = (Slot, &(Ballot, Value))> {
        let start = usize::try_from(first.0).map_or(self.near.len(), |i| i.min(self.near.len()));
        let near = self.near[start..]
            .iter()
            .enumerate()
            .filter_map(move |(k, e)| e.as_ref().map(|e| (Slot((start + k) as u64), e)));
        near.chain(self.far.range(first..).map(|(s, e)| (*s, e)))
    }
}

impl From<&BTreeMap<Slot, (Ballot, Value)>> for AcceptedLog {
    fn from(map: &BTreeMap<Slot, (Ballot, Value)>) -> Self {
        let mut log = AcceptedLog::default();
        for (slot, (ballot, value)) in map {
            log.set(*slot, *ballot, value.clone());
        }
        log
    }
}

// Equality and hashing follow the contents, not how they are split
// between the two parts (the model checker compares acceptor states).
impl PartialEq for AcceptedLog {
    fn eq(&self, other: &Self) -> bool {
        self.range_from(Slot(0)).eq(other.range_from(Slot(0)))
    }
}

impl Eq for AcceptedLog {}

impl Hash for AcceptedLog {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The count first, as a map's hash does, so that two logs hashed
        // one after the other cannot collide with a different split.
        state.write_usize(self.len());
        for entry in self.range_from(Slot(0)) {
            entry.hash(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ClientId, Command, NodeId};
    use proptest::prelude::*;

    fn value(n: u64) -> Value {
        Value::from(Command {
            client: ClientId(1),
            seq: n,
            payload: Default::default(),
        })
    }

    fn ballot(round: u64) -> Ballot {
        Ballot {
            round,
            node: NodeId(1),
        }
    }

    fn slot_strategy() -> impl Strategy<Value = u64> {
        // Mostly dense, some far beyond the gap limit, some at the very top.
        prop_oneof![
            0..64u64,
            0..(3 * GAP_MAX),
            Just(u64::MAX),
            (u64::MAX - 4)..=u64::MAX
        ]
    }

    proptest! {
        /// Same answers as a plain map for any sequence of writes.
        #[test]
        fn matches_a_map(ops in proptest::collection::vec((slot_strategy(), 0..3u64, 0..3u64), 0..200),
                         first in slot_strategy()) {
            let mut log = AcceptedLog::default();
            let mut map: BTreeMap<Slot, (Ballot, Value)> = BTreeMap::new();
            for (s, b, v) in ops {
                let (slot, bal, v) = (Slot(s), ballot(b), value(v));
                let changed = map.get(&slot) != Some(&(bal, v.clone()));
                map.insert(slot, (bal, v.clone()));
                prop_assert_eq!(log.set(slot, bal, v), changed);
                prop_assert_eq!(log.get(slot), map.get(&slot));
            }
            let got: Vec<_> = log.range_from(Slot(first)).collect();
            let want: Vec<_> = map.range(Slot(first)..).map(|(s, e)| (*s, e)).collect();
            prop_assert_eq!(got, want);
            prop_assert!(log == AcceptedLog::from(&map));
            prop_assert_eq!(log.len(), map.len());
            prop_assert_eq!(log.filled as usize, log.near.iter().flatten().count());
            prop_assert!(log.far.keys().all(|s| s.0 >= log.near.len() as u64));
            prop_assert_eq!(log.check_invariants(), Ok(()));
        }
    }

    #[test]
    fn a_far_slot_does_not_grow_the_vector() {
        let mut log = AcceptedLog::default();
        let b = ballot(1);
        assert!(log.set(Slot(u64::MAX), b, value(1)));
        assert!(log.set(Slot(GAP_MAX * 4), b, value(2)));
        assert!(log.near.is_empty());
        for s in 0..=(GAP_MAX * 3) {
            log.set(Slot(s), b, Value::Noop);
        }
        assert_eq!(log.far.len(), 2);
        // Growing past the far slot pulls it into the dense part.
        log.set(Slot(GAP_MAX * 4 + 1), b, Value::Noop);
        assert_eq!(log.far.len(), 1, "only u64::MAX stays far");
        assert_eq!(log.near.len() as u64, GAP_MAX * 4 + 2);
        assert_eq!(log.get(Slot(GAP_MAX * 4)), Some(&(b, value(2))));
    }

    #[test]
    fn slots_stepping_ahead_cannot_grow_the_vector_past_twice_the_entries() {
        let mut log = AcceptedLog::default();
        let b = ballot(1);
        // One Accept whose slots each jump the widest gap allowed.
        for k in 1..=1000 {
            log.set(Slot(k * GAP_MAX), b, Value::Noop);
            assert_eq!(log.check_invariants(), Ok(()), "step {k}");
            let bound = 2 * log.len() as u64 + GAP_MAX + 1;
            assert!(
                log.near.len() as u64 <= bound,
                "step {k}: {} slots",
                log.near.len()
            );
        }
        assert_eq!(log.len(), 1000);
        assert_eq!(log.range_from(Slot(0)).count(), 1000);
    }
}
