//! A linearizability checker for histories of register operations, per
//! key: the Wing–Gong search with Lowe's memoization.
//!
//! A history is a list of operations, each with the time it was invoked
//! and, if the client saw its outcome, the time it returned and what it
//! returned. An operation whose outcome is unknown (a timeout, a lost
//! connection after sending) may have taken effect at any moment after its
//! invocation, or never; it constrains nothing else. Keys are independent,
//! so each key's history is checked alone.

use std::collections::{BTreeMap, HashSet};

/// What an operation does to one key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Reads the value (`None`: missing).
    Get,
    /// Writes the value.
    Set(Vec<u8>),
    /// Adds one to the integer value (missing counts as 0).
    Incr,
    /// Writes `new` if the value equals `expected` (missing equals empty).
    Cas(Vec<u8>, Vec<u8>),
    /// Removes the key.
    Del,
}

/// What a completed operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ret {
    /// A value or nil, from `Get`.
    Value(Option<Vec<u8>>),
    /// `Set` succeeded.
    Ok,
    /// An integer: `Incr`'s new value, `Cas`'s 1 or 0, `Del`'s count.
    Int(i64),
    /// The command failed without effect (e.g. INCR on a non-number).
    Failed,
}

/// One operation of a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The key.
    pub key: Vec<u8>,
    /// The operation.
    pub op: Op,
    /// When it was invoked (any monotonic unit).
    pub call: u64,
    /// When it returned and what it returned; `None` if the outcome is unknown.
    pub ret: Option<(u64, Ret)>,
}

type State = Option<Vec<u8>>;

/// Applies `op` to `state`; returns the new state and what it returns.
fn step(state: &State, op: &Op) -> (State, Ret) {
    match op {
        Op::Get => (state.clone(), Ret::Value(state.clone())),
        Op::Set(v) => (Some(v.clone()), Ret::Ok),
        Op::Del => (None, Ret::Int(i64::from(state.is_some()))),
        Op::Incr => {
            let n = match state {
                None => Some(0i64),
                Some(v) => std::str::from_utf8(v).ok().and_then(|s| s.parse().ok()),
            };
            match n.and_then(|n| n.checked_add(1)) {
                Some(n) => (Some(n.to_string().into_bytes()), Ret::Int(n)),
                None => (state.clone(), Ret::Failed),
            }
        }
        Op::Cas(expected, new) => {
            let current = state.as_deref().unwrap_or(&[]);
            if current == expected.as_slice() {
                (Some(new.clone()), Ret::Int(1))
            } else {
                (state.clone(), Ret::Int(0))
            }
        }
    }
}

/// Why a key's history is not linearizable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The key.
    pub key: Vec<u8>,
    /// How many operations its history had.
    pub ops: usize,
}

/// Limits the search; a history that needs more is reported as unknown.
pub const SEARCH_STEPS_MAX: u64 = 20_000_000;

/// The verdict for a whole history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every key's history is linearizable.
    Linearizable,
    /// This key's is not.
    Violation(Violation),
    /// The search for this key gave up after [`SEARCH_STEPS_MAX`] steps.
    Unknown(Vec<u8>),
}

/// Checks every key's history.
pub fn check(events: &[Event]) -> Verdict {
    let mut by_key: BTreeMap<&[u8], Vec<&Event>> = BTreeMap::new();
    for e in events {
        by_key.entry(&e.key).or_default().push(e);
    }
    for (key, events) in by_key {
        match check_key(&events) {
            Some(true) => {}
            Some(false) => {
                return Verdict::Violation(Violation {
                    key: key.to_vec(),
                    ops: events.len(),
                })
            }
            None => return Verdict::Unknown(key.to_vec()),
        }
    }
    Verdict::Linearizable
}

/// One key: `Some(linearizable)`, or `None` if the search gave up.
fn check_key(events: &[&Event]) -> Option<bool> {
    let mut events: Vec<&Event> = events.to_vec();
    events.sort_by_key(|e| e.call);
    let n = events.len();
    let words = n.div_ceil(64);
    let definite = events.iter().filter(|e| e.ret.is_some()).count();
    let mut seen: HashSet<(Vec<u64>, State)> = HashSet::new();
    let mut steps = 0u64;
    // Depth-first search; a frame is (done set, state, definite done count).
    let mut stack: Vec<(Vec<u64>, State, usize)> = vec![(vec![0; words], None, 0)];
    while let Some((done, state, count)) = stack.pop() {
        if count == definite {
            return Some(true);
        }
        steps += 1;
        if steps > SEARCH_STEPS_MAX {
            return None;
        }
        let is_done = |i: usize| done[i / 64] & (1 << (i % 64)) != 0;
        // An op may go next only if it was invoked before every pending
        // definite op returned.
        let horizon = (0..n)
            .filter(|i| !is_done(*i))
            .filter_map(|i| events[i].ret.as_ref().map(|(t, _)| *t))
            .min()
            .unwrap_or(u64::MAX);
        for i in 0..n {
            if is_done(i) || events[i].call > horizon {
                continue;
            }
            let (next, ret) = step(&state, &events[i].op);
            let ok = match &events[i].ret {
                Some((_, expected)) => *expected == ret,
                None => true,
            };
            if !ok {
                continue;
            }
            let mut d = done.clone();
            d[i / 64] |= 1 << (i % 64);
            let c = count + usize::from(events[i].ret.is_some());
            if seen.insert((d.clone(), next.clone())) {
                stack.push((d, next, c));
            }
        }
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(op: Op, call: u64, ret: Option<(u64, Ret)>) -> Event {
        Event {
            key: b"k".to_vec(),
            op,
            call,
            ret,
        }
    }

    fn val(s: &str) -> Ret {
        Ret::Value(Some(s.as_bytes().to_vec()))
    }

    #[test]
    fn sequential_and_concurrent_histories_that_can_be_ordered_pass() {
        let h = vec![
            ev(Op::Set(b"1".to_vec()), 0, Some((2, Ret::Ok))),
            ev(Op::Get, 3, Some((4, val("1")))),
            // Concurrent write and read: the read may see either value.
            ev(Op::Set(b"2".to_vec()), 5, Some((9, Ret::Ok))),
            ev(Op::Get, 6, Some((7, val("1")))),
            ev(Op::Incr, 10, Some((11, Ret::Int(3)))),
            ev(
                Op::Cas(b"3".to_vec(), b"x".to_vec()),
                12,
                Some((13, Ret::Int(1))),
            ),
        ];
        assert_eq!(check(&h), Verdict::Linearizable);
    }

    #[test]
    fn a_stale_read_after_a_completed_write_fails() {
        let h = vec![
            ev(Op::Set(b"1".to_vec()), 0, Some((1, Ret::Ok))),
            ev(Op::Set(b"2".to_vec()), 2, Some((3, Ret::Ok))),
            ev(Op::Get, 4, Some((5, val("1")))),
        ];
        assert!(matches!(check(&h), Verdict::Violation(_)));
    }

    #[test]
    fn lost_increments_and_double_applies_fail() {
        let lost = vec![
            ev(Op::Incr, 0, Some((1, Ret::Int(1)))),
            ev(Op::Incr, 2, Some((3, Ret::Int(1)))),
        ];
        assert!(matches!(check(&lost), Verdict::Violation(_)));
        let twice = vec![
            ev(Op::Incr, 0, Some((1, Ret::Int(1)))),
            ev(Op::Get, 2, Some((3, val("3")))),
        ];
        assert!(matches!(check(&twice), Verdict::Violation(_)));
    }

    #[test]
    fn an_unknown_outcome_may_or_may_not_have_happened() {
        let maybe = |seen: &str| {
            vec![
                ev(Op::Set(b"1".to_vec()), 0, Some((1, Ret::Ok))),
                ev(Op::Set(b"2".to_vec()), 2, None),
                ev(Op::Get, 10, Some((11, val(seen)))),
            ]
        };
        assert_eq!(check(&maybe("1")), Verdict::Linearizable);
        assert_eq!(check(&maybe("2")), Verdict::Linearizable);
        assert!(matches!(check(&maybe("3")), Verdict::Violation(_)));
        // ...but not before it was invoked.
        let early = vec![
            ev(Op::Get, 0, Some((1, val("2")))),
            ev(Op::Set(b"2".to_vec()), 2, None),
        ];
        assert!(matches!(check(&early), Verdict::Violation(_)));
    }

    #[test]
    fn cas_treats_a_missing_key_as_empty_and_keys_are_independent() {
        let mut h = vec![
            ev(
                Op::Cas(Vec::new(), b"a".to_vec()),
                0,
                Some((1, Ret::Int(1))),
            ),
            ev(Op::Del, 2, Some((3, Ret::Int(1)))),
            ev(Op::Get, 4, Some((5, Ret::Value(None)))),
        ];
        let mut other = ev(Op::Get, 0, Some((1, val("zzz"))));
        other.key = b"other".to_vec();
        h.push(other);
        assert!(matches!(check(&h), Verdict::Violation(v) if v.key == b"other"));
    }
}
