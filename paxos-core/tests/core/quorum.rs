//! Quorum systems and ballot order.
//!
//! Goal: pin the arithmetic that Paxos safety rests on: which quorum
//! configurations may be built, which voter sets are quorums, and that every
//! phase-1 quorum meets every phase-2 quorum in every configuration the
//! constructors accept. Method: compare `QuorumSystem` with deliberately
//! naive oracles (the definition written as plainly as possible, and brute
//! enumeration of every subset of up to six acceptors), exhaustively for
//! small clusters and with proptest over random voter sets that include
//! non-acceptors. Ballot order is checked against tuple order.

use paxos_core::{Ballot, Error, NodeId, QuorumKind, QuorumSystem};
use proptest::prelude::*;
use std::collections::BTreeSet;

/// Largest cluster checked by counting.
const N_MAX: usize = 7;
/// Largest cluster checked by enumerating every pair of subsets.
const N_ENUMERATE_MAX: usize = 6;

fn acceptors(n: usize) -> Vec<NodeId> {
    (1..=n as u64).map(NodeId).collect()
}

/// The definition of a valid flexible configuration, written plainly.
fn naive_flexible(n: usize, q1: usize, q2: usize) -> Result<(), Error> {
    if n == 0 {
        return Err(Error::NoAcceptors);
    }
    let in_range = |q: usize| 1 <= q && q <= n;
    if !in_range(q1) || !in_range(q2) {
        return Err(Error::QuorumSizeOutOfRange { q1, q2, n });
    }
    if q1 + q2 <= n {
        return Err(Error::QuorumsDoNotIntersect { q1, q2, n });
    }
    Ok(())
}

/// The smallest strict majority of `n`, found by search rather than formula.
fn naive_majority(n: usize) -> usize {
    (1..=n).find(|m| 2 * m > n).unwrap()
}

/// How many of `voters` are acceptors, counted one by one.
fn naive_count(acceptors: &[NodeId], voters: &BTreeSet<NodeId>) -> usize {
    let mut count = 0;
    for a in acceptors {
        if voters.contains(a) {
            count += 1;
        }
    }
    count
}

/// Every subset of `ids`.
fn subsets(ids: &[NodeId]) -> Vec<BTreeSet<NodeId>> {
    (0u32..1 << ids.len())
        .map(|mask| {
            ids.iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, id)| *id)
                .collect()
        })
        .collect()
}

/// Every configuration over `n` acceptors that construction accepts.
fn accepted_systems(n: usize) -> Vec<QuorumSystem> {
    let ids = acceptors(n);
    let mut systems = vec![QuorumSystem::majority(ids.clone()).unwrap()];
    for q1 in 0..=n + 1 {
        for q2 in 0..=n + 1 {
            if let Ok(q) = QuorumSystem::flexible(ids.clone(), q1, q2) {
                systems.push(q);
            }
        }
    }
    systems
}

#[test]
fn flexible_construction_succeeds_iff_sizes_are_in_range_and_sum_above_n() {
    for n in 0..=N_MAX {
        let ids = acceptors(n);
        for q1 in 0..=n + 2 {
            for q2 in 0..=n + 2 {
                let built = QuorumSystem::flexible(ids.clone(), q1, q2);
                let expected = naive_flexible(n, q1, q2);
                match (built, expected) {
                    (Ok(q), Ok(())) => {
                        assert_eq!(q.kind(), QuorumKind::Flexible { q1, q2 });
                        assert_eq!(q.phase1_size(), q1);
                        assert_eq!(q.phase2_size(), q2);
                        assert_eq!(q.acceptors().collect::<Vec<_>>(), ids);
                    }
                    (Err(got), Err(want)) => assert_eq!(got, want, "n={n} q1={q1} q2={q2}"),
                    (got, want) => panic!("n={n} q1={q1} q2={q2}: got {got:?}, want {want:?}"),
                }
            }
        }
    }
}

#[test]
fn flexible_construction_accepts_exactly_the_sizes_whose_quorums_all_intersect() {
    // Oracle by enumeration: (q1, q2) is safe iff no q1-set and q2-set are disjoint.
    for n in 1..=N_ENUMERATE_MAX {
        let all = subsets(&acceptors(n));
        for q1 in 1..=n {
            for q2 in 1..=n {
                let safe = all.iter().filter(|a| a.len() == q1).all(|a| {
                    all.iter()
                        .filter(|b| b.len() == q2)
                        .all(|b| !a.is_disjoint(b))
                });
                let built = QuorumSystem::flexible(acceptors(n), q1, q2);
                assert_eq!(built.is_ok(), safe, "n={n} q1={q1} q2={q2}: {built:?}");
                if !safe {
                    assert_eq!(built, Err(Error::QuorumsDoNotIntersect { q1, q2, n }));
                }
            }
        }
    }
}

#[test]
fn majority_quorum_is_the_smallest_strict_majority_in_both_phases() {
    for n in 1..=N_MAX {
        let q = QuorumSystem::majority(acceptors(n)).unwrap();
        assert_eq!(q.kind(), QuorumKind::Majority);
        assert_eq!(q.phase1_size(), naive_majority(n), "n={n}");
        assert_eq!(q.phase2_size(), naive_majority(n), "n={n}");
    }
}

#[test]
fn construction_rejects_an_empty_acceptor_set_with_no_acceptors() {
    assert_eq!(QuorumSystem::majority([]), Err(Error::NoAcceptors));
    assert_eq!(QuorumSystem::flexible([], 1, 1), Err(Error::NoAcceptors));
}

#[test]
fn construction_rejects_an_acceptor_listed_twice_naming_it() {
    let ids = [NodeId(1), NodeId(2), NodeId(3), NodeId(2)];
    assert_eq!(
        QuorumSystem::majority(ids),
        Err(Error::DuplicateAcceptor(NodeId(2)))
    );
    assert_eq!(
        QuorumSystem::flexible(ids, 2, 2),
        Err(Error::DuplicateAcceptor(NodeId(2)))
    );
}

#[test]
fn acceptor_order_does_not_change_the_quorum_system() {
    let forward = QuorumSystem::flexible(acceptors(5), 4, 2).unwrap();
    let backward = QuorumSystem::flexible(acceptors(5).into_iter().rev(), 4, 2).unwrap();
    assert_eq!(forward, backward);
    assert_eq!(backward.acceptors().collect::<Vec<_>>(), acceptors(5));
}

#[test]
fn every_phase1_quorum_intersects_every_phase2_quorum_in_every_accepted_configuration() {
    for n in 1..=N_ENUMERATE_MAX {
        let all = subsets(&acceptors(n));
        for system in accepted_systems(n) {
            let phase1: Vec<_> = all.iter().filter(|s| system.is_phase1_quorum(s)).collect();
            let phase2: Vec<_> = all.iter().filter(|s| system.is_phase2_quorum(s)).collect();
            // A system with no quorums at all would be vacuously "safe".
            assert!(!phase1.is_empty() && !phase2.is_empty(), "{system:?}");
            for a in &phase1 {
                for b in &phase2 {
                    assert!(!a.is_disjoint(b), "{system:?}: {a:?} misses {b:?}");
                }
            }
        }
    }
}

#[test]
fn majority_phase1_quorums_also_intersect_each_other() {
    // Two leaders cannot both win Phase 1 with majorities.
    for n in 1..=N_ENUMERATE_MAX {
        let system = QuorumSystem::majority(acceptors(n)).unwrap();
        let all = subsets(&acceptors(n));
        let quorums: Vec<_> = all.iter().filter(|s| system.is_phase1_quorum(s)).collect();
        for a in &quorums {
            for b in &quorums {
                assert!(!a.is_disjoint(b), "n={n}: {a:?} misses {b:?}");
            }
        }
    }
}

/// A cluster size and either `None` (majority) or a valid flexible pair.
fn system_strategy() -> impl Strategy<Value = (usize, Option<(usize, usize)>)> {
    (1..=N_MAX).prop_flat_map(|n| {
        let flexible =
            (1..=n).prop_flat_map(move |q1| ((n + 1 - q1)..=n).prop_map(move |q2| Some((q1, q2))));
        prop_oneof![Just(None), flexible].prop_map(move |kind| (n, kind))
    })
}

proptest! {
    #[test]
    fn phase_quorum_checks_agree_with_naive_counting(
        (n, kind) in system_strategy(),
        // Ids 0 and 8..12 are never acceptors.
        voters in proptest::collection::btree_set((0u64..12).prop_map(NodeId), 0..12),
    ) {
        let ids = acceptors(n);
        let (system, q1, q2) = match kind {
            None => (QuorumSystem::majority(ids.clone()).unwrap(), naive_majority(n), naive_majority(n)),
            Some((q1, q2)) => (QuorumSystem::flexible(ids.clone(), q1, q2).unwrap(), q1, q2),
        };
        let count = naive_count(&ids, &voters);
        prop_assert_eq!(system.count(&voters), count);
        prop_assert_eq!(system.is_phase1_quorum(&voters), count >= q1);
        prop_assert_eq!(system.is_phase2_quorum(&voters), count >= q2);
        for v in &voters {
            prop_assert_eq!(system.is_acceptor(*v), ids.contains(v));
        }
    }

    #[test]
    fn non_acceptors_never_make_a_quorum(
        (n, kind) in system_strategy(),
        outsiders in proptest::collection::btree_set((100u64..200).prop_map(NodeId), 0..20),
    ) {
        let system = match kind {
            None => QuorumSystem::majority(acceptors(n)).unwrap(),
            Some((q1, q2)) => QuorumSystem::flexible(acceptors(n), q1, q2).unwrap(),
        };
        prop_assert!(!system.is_phase1_quorum(&outsiders));
        prop_assert!(!system.is_phase2_quorum(&outsiders));
    }

    #[test]
    fn ballots_order_by_round_then_node(r1 in 0u64..6, n1 in 0u64..6, r2 in 0u64..6, n2 in 0u64..6) {
        let (a, b) = (Ballot::new(r1, NodeId(n1)), Ballot::new(r2, NodeId(n2)));
        prop_assert_eq!(a.cmp(&b), (r1, n1).cmp(&(r2, n2)));
        prop_assert_eq!(a == b, r1 == r2 && n1 == n2);
    }

    #[test]
    fn ballots_order_by_round_then_node_over_the_whole_range(
        r1 in any::<u64>(), n1 in any::<u64>(), r2 in any::<u64>(), n2 in any::<u64>(),
    ) {
        let (a, b) = (Ballot::new(r1, NodeId(n1)), Ballot::new(r2, NodeId(n2)));
        prop_assert_eq!(a.cmp(&b), (r1, n1).cmp(&(r2, n2)));
    }

    #[test]
    fn ballot_zero_is_below_every_ballot_a_proposer_uses(round in 1u64.., node in any::<u64>()) {
        prop_assert!(Ballot::ZERO < Ballot::new(round, NodeId(node)));
    }
}

#[test]
fn two_proposers_never_share_a_ballot_in_the_same_round() {
    let (a, b) = (Ballot::new(3, NodeId(1)), Ballot::new(3, NodeId(2)));
    assert_ne!(a, b);
    assert!(a < b);
    assert!(
        b < Ballot::new(4, NodeId(1)),
        "a higher round beats any node id"
    );
}

#[test]
fn deserializing_a_quorum_system_rechecks_intersection() {
    use paxos_core::QuorumSpec;
    let ids = || (1..=5).map(NodeId);
    let good = QuorumSystem::flexible(ids(), 4, 2).expect("q1 + q2 > n");
    let bytes = rmp_serde::to_vec(&good).expect("encode");
    let back: QuorumSystem = rmp_serde::from_slice(&bytes).expect("decode");
    assert_eq!(back, good);

    let bad = QuorumSpec {
        acceptors: ids().collect(),
        kind: QuorumKind::Flexible { q1: 2, q2: 3 },
    };
    let bytes = rmp_serde::to_vec(&bad).expect("encode");
    let err = rmp_serde::from_slice::<QuorumSystem>(&bytes).expect_err("q1 + q2 <= n");
    assert!(err.to_string().contains("q1"), "{err}");
}
