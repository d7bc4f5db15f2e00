//! A leader's in-flight slots: a window of consecutive slots from the
//! oldest one not yet chosen. The leader numbers slots consecutively, so
//! each command's insert is a push at the back and its removal usually pops
//! at the front — no tree walk per command.

use crate::types::Slot;
use std::collections::VecDeque;

/// Values keyed by slot, stored densely from the lowest key to the highest.
///
/// Kept canonical (empty, or first and last present), so the derived
/// equality and hash compare contents only.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct SlotWindow<T> {
    /// The slot of `slots[0]`; 0 when empty.
    base: u64,
    slots: VecDeque<Option<T>>,
    len: usize,
}

impl<T> Default for SlotWindow<T> {
    fn default() -> Self {
        SlotWindow {
            base: 0,
            slots: VecDeque::new(),
            len: 0,
        }
    }
}

impl<T> SlotWindow<T> {
    /// How many slots hold a value.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    fn index(&self, slot: Slot) -> Option<usize> {
        let i = usize::try_from(slot.0.checked_sub(self.base)?).ok()?;
        (i < self.slots.len()).then_some(i)
    }

    /// Stores `value` at `slot`, replacing any value there.
    ///
    /// Slots between the window and `slot` are held as empty places, so
    /// callers insert near the window: the leader inserts each new slot
    /// right after the last, and a takeover at most skips the slots it
    /// already knows chosen in a range it walks anyway.
    pub fn insert(&mut self, slot: Slot, value: T) {
        if self.slots.is_empty() {
            self.base = slot.0;
        }
        if slot.0 < self.base {
            let gap = self.base - slot.0;
            for _ in 1..gap {
                self.slots.push_front(None);
            }
            self.slots.push_front(Some(value));
            self.base = slot.0;
            self.len += 1;
            return;
        }
        let gap = slot.0 - self.base;
        while self.slots.len() as u64 <= gap {
            self.slots.push_back(None);
        }
        // The loop above made `gap` an index of `slots`, so it fits.
        let i = gap as usize;
        if self.slots[i].replace(value).is_none() {
            self.len += 1;
        }
    }

    /// The value at `slot`, if any.
    pub fn get(&self, slot: Slot) -> Option<&T> {
        let i = self.index(slot)?;
        self.slots[i].as_ref()
    }

    /// The value at `slot`, if any.
    pub fn get_mut(&mut self, slot: Slot) -> Option<&mut T> {
        let i = self.index(slot)?;
        self.slots[i].as_mut()
    }

    /// Takes the value at `slot`, if any.
    pub fn remove(&mut self, slot: Slot) -> Option<T> {
        let i = self.index(slot)?;
        let value = self.slots[i].take()?;
        self.len -= 1;
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.base += 1;
        }
        while let Some(None) = self.slots.back() {
            self.slots.pop_back();
        }
        if self.slots.is_empty() {
            self.base = 0;
        }
        Some(value)
    }

    /// Every stored value in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (Slot, &T)> {
        let base = self.base;
        self.slots
            .iter()
            .enumerate()
            .filter_map(move |(i, v)| v.as_ref().map(|v| (Slot(base + i as u64), v)))
    }

    /// Every stored value in slot order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Slot, &mut T)> {
        let base = self.base;
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(move |(i, v)| v.as_mut().map(|v| (Slot(base + i as u64), v)))
    }

    /// Removes and returns every value in slot order.
    pub fn take_all(&mut self) -> Vec<(Slot, T)> {
        let base = self.base;
        let out = std::mem::take(&mut self.slots)
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (Slot(base + i as u64), v)))
            .collect();
        *self = SlotWindow::default();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u64, u32),
        Remove(u64),
        Bump(u64),
        TakeAll,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u64..60, any::<u32>()).prop_map(|(s, v)| Op::Insert(s, v)),
            3 => (0u64..60).prop_map(Op::Remove),
            1 => (0u64..60).prop_map(Op::Bump),
            1 => Just(Op::TakeAll),
        ]
    }

    proptest! {
        /// Matches an ordered map fed the same operations, and two windows
        /// with the same contents are equal whatever their history.
        #[test]
        fn behaves_like_a_map(ops in proptest::collection::vec(op(), 0..120)) {
            let mut w = SlotWindow::default();
            let mut oracle = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(s, v) => {
                        w.insert(Slot(s), v);
                        oracle.insert(Slot(s), v);
                    }
                    Op::Remove(s) => prop_assert_eq!(w.remove(Slot(s)), oracle.remove(&Slot(s))),
                    Op::Bump(s) => {
                        if let Some(v) = w.get_mut(Slot(s)) {
                            *v = v.wrapping_add(1);
                        }
                        if let Some(v) = oracle.get_mut(&Slot(s)) {
                            *v = v.wrapping_add(1);
                        }
                    }
                    Op::TakeAll => {
                        let all: Vec<_> = std::mem::take(&mut oracle).into_iter().collect();
                        prop_assert_eq!(w.take_all(), all);
                    }
                }
                prop_assert_eq!(w.len(), oracle.len());
                let seen: Vec<(Slot, u32)> = w.iter_mut().map(|(s, v)| (s, *v)).collect();
                let want: Vec<(Slot, u32)> = oracle.iter().map(|(s, v)| (*s, *v)).collect();
                prop_assert_eq!(&seen, &want);
                let seen: Vec<(Slot, u32)> = w.iter().map(|(s, v)| (s, *v)).collect();
                prop_assert_eq!(seen, want);
                for s in 0..60 {
                    prop_assert_eq!(w.get(Slot(s)), oracle.get(&Slot(s)));
                }
                let mut fresh = SlotWindow::default();
                for (s, v) in &oracle {
                    fresh.insert(*s, *v);
                }
                prop_assert_eq!(&w, &fresh);
            }
        }
    }

    #[test]
    fn slots_near_the_top_of_the_range() {
        let mut w = SlotWindow::default();
        w.insert(Slot(u64::MAX - 1), 1);
        w.insert(Slot(u64::MAX), 2);
        assert_eq!(w.get_mut(Slot(u64::MAX)), Some(&mut 2));
        assert_eq!(w.get_mut(Slot(0)), None);
        assert_eq!(w.remove(Slot(u64::MAX - 1)), Some(1));
        assert_eq!(w.take_all(), vec![(Slot(u64::MAX), 2)]);
    }
}
