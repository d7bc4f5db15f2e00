//! Durable state and in-memory storage.
//!
//! Goal: pin what a restart may rely on: `MemStorage` keeps exactly the
//! synced records through a crash, an injected fault fails the chosen write
//! and everything after it, and `DurableState` rebuilt from records does not
//! depend on their order and only moves up as records are added.
//! Method: hand-written sequences for the storage contract; proptest over
//! random record sequences (shuffled, and cut at every prefix) for the fold.

use paxos_core::basic::{Acceptor, Config, Message};
use paxos_core::{
    Ballot, ClientId, Command, DurableState, Error, MemStorage, NodeId, QuorumSystem, Ready,
    Record, SharedMemStorage, Slot, Storage, Value,
};
use proptest::prelude::*;

fn ballot(round: u64, node: u64) -> Ballot {
    Ballot::new(round, NodeId(node))
}

/// The value proposed for `slot` in `ballot`: in Paxos a ballot proposes at
/// most one value per slot, so generated records respect that too.
fn value_for(slot: Slot, ballot: Ballot) -> Value {
    if (slot.0 + ballot.round) % 3 == 0 {
        Value::Noop
    } else {
        Value::from(Command {
            client: ClientId(ballot.node.0),
            seq: ballot.round,
            payload: vec![slot.0 as u8].into(),
        })
    }
}

fn accept(slot: u64, b: Ballot) -> Record {
    Record::Accept {
        slot: Slot(slot),
        ballot: b,
        value: value_for(Slot(slot), b),
    }
}

fn record_strategy() -> impl Strategy<Value = Record> {
    let ballot = (0u64..5, 0u64..4).prop_map(|(r, n)| ballot(r, n));
    prop_oneof![
        ballot.clone().prop_map(Record::Promise),
        (0u64..4, ballot).prop_map(|(s, b)| accept(s, b)),
        (0u64..6).prop_map(Record::Round),
    ]
}

/// `earlier` is a state a node may have had before reaching `later`.
fn at_most(earlier: &DurableState, later: &DurableState) -> bool {
    earlier.promised <= later.promised
        && earlier.round <= later.round
        && earlier.accepted.iter().all(|(slot, (b, _))| {
            later
                .accepted
                .get(slot)
                .is_some_and(|(later_b, _)| b <= later_b)
        })
}

// ------------------------------------------------------------ MemStorage

#[test]
fn mem_storage_crash_keeps_only_synced_records() {
    let mut storage = MemStorage::new();
    storage.append(&[Record::Promise(ballot(1, 1))]).unwrap();
    storage.sync().unwrap();
    storage
        .append(&[Record::Promise(ballot(2, 1)), Record::Round(4)])
        .unwrap();
    storage.crash();
    assert_eq!(storage.synced_records(), &[Record::Promise(ballot(1, 1))]);
    let state = storage.load().unwrap();
    assert_eq!(state.promised, ballot(1, 1));
    assert_eq!(state.round, 0, "the unsynced Round record is gone");
}

#[test]
fn mem_storage_load_sees_only_synced_records_even_before_a_crash() {
    let mut storage = MemStorage::new();
    storage.append(&[Record::Round(3)]).unwrap();
    assert_eq!(storage.load().unwrap(), DurableState::default());
    storage.sync().unwrap();
    assert_eq!(storage.load().unwrap().round, 3);
}

#[test]
fn mem_storage_one_sync_covers_every_earlier_append() {
    let mut storage = MemStorage::new();
    let records = [
        Record::Round(1),
        Record::Promise(ballot(1, 1)),
        accept(0, ballot(1, 1)),
    ];
    for r in &records {
        storage.append(std::slice::from_ref(r)).unwrap();
    }
    storage.sync().unwrap();
    storage.crash();
    assert_eq!(storage.synced_records(), &records);
}

#[test]
fn mem_storage_keeps_working_after_a_crash() {
    let mut storage = MemStorage::new();
    storage.append(&[Record::Round(1)]).unwrap();
    storage.crash();
    storage.append(&[Record::Round(2)]).unwrap();
    storage.sync().unwrap();
    assert_eq!(storage.synced_records(), &[Record::Round(2)]);
}

#[test]
fn mem_storage_fail_on_write_fails_the_nth_append_and_every_later_append_and_sync() {
    let mut storage = MemStorage::new();
    storage.fail_on_write(3);
    storage.append(&[Record::Round(1)]).unwrap();
    storage.sync().unwrap();
    storage.append(&[Record::Round(2)]).unwrap();
    storage.sync().unwrap();
    assert_eq!(
        storage.append(&[Record::Round(3)]),
        Err(Error::InjectedStorageFault(3))
    );
    assert_eq!(storage.sync(), Err(Error::InjectedStorageFault(3)));
    assert_eq!(
        storage.append(&[Record::Round(4)]),
        Err(Error::InjectedStorageFault(3))
    );
    assert_eq!(storage.sync(), Err(Error::InjectedStorageFault(3)));
    storage.crash();
    assert_eq!(
        storage.synced_records(),
        &[Record::Round(1), Record::Round(2)]
    );
    assert_eq!(storage.load().unwrap().round, 2);
}

#[test]
fn mem_storage_fault_on_first_write_persists_nothing() {
    let mut storage = MemStorage::new();
    storage.fail_on_write(1);
    assert_eq!(
        storage.append(&[Record::Promise(ballot(1, 1))]),
        Err(Error::InjectedStorageFault(1))
    );
    assert!(storage.sync().is_err());
    storage.crash();
    assert!(storage.synced_records().is_empty());
}

#[test]
fn acceptor_restarted_from_synced_storage_keeps_every_promise_it_sent() {
    // Drive an acceptor the way a driver must: persist and sync each Ready's
    // records before its messages count as sent; then crash and restart.
    let ids = [NodeId(1), NodeId(2), NodeId(3)];
    let config = Config::new(QuorumSystem::majority(ids).unwrap(), vec![NodeId(9)]);
    let mut storage = MemStorage::new();
    let mut acceptor = Acceptor::restore(&config, &storage.load().unwrap());
    let mut sent = Vec::new();
    for round in [1, 3, 2, 5] {
        let mut ready = Ready::new();
        acceptor.handle(
            NodeId(7),
            Message::Prepare {
                ballot: ballot(round, 7),
            },
            &mut ready,
        );
        storage.append(ready.records()).unwrap();
        storage.sync().unwrap();
        sent.extend(ready.messages().iter().cloned());
    }
    // Records of a Ready never synced (the node crashed first) are lost, and
    // so are its messages: they never left.
    let mut ready = Ready::new();
    acceptor.handle(
        NodeId(7),
        Message::Prepare {
            ballot: ballot(9, 7),
        },
        &mut ready,
    );
    storage.append(ready.records()).unwrap();
    storage.crash();
    let restored = Acceptor::restore(&config, &storage.load().unwrap());
    let highest_sent = sent
        .iter()
        .filter_map(|(_, m)| match m {
            Message::Promise { ballot, .. } => Some(*ballot),
            _ => None,
        })
        .max()
        .unwrap();
    assert_eq!(restored.promised(), highest_sent);
    assert_eq!(highest_sent, ballot(5, 7));
}

// ----------------------------------------------------------- DurableState

#[test]
fn accept_record_also_raises_the_promise() {
    let state =
        DurableState::from_records(&[Record::Promise(ballot(1, 1)), accept(0, ballot(2, 2))]);
    assert_eq!(state.promised, ballot(2, 2));
}

#[test]
fn durable_state_keeps_the_highest_ballot_accept_per_slot() {
    let records = [
        accept(0, ballot(3, 1)),
        accept(0, ballot(2, 2)),
        accept(1, ballot(1, 1)),
    ];
    let state = DurableState::from_records(&records);
    assert_eq!(state.accepted.len(), 2);
    assert_eq!(
        state.accepted[&Slot(0)],
        (ballot(3, 1), value_for(Slot(0), ballot(3, 1)))
    );
    assert_eq!(state.accepted[&Slot(1)].0, ballot(1, 1));
}

#[test]
fn durable_state_of_no_records_is_the_default() {
    let state = DurableState::from_records(&[]);
    assert_eq!(state, DurableState::default());
    assert_eq!(state.promised, Ballot::ZERO);
}

proptest! {
    #[test]
    fn durable_state_from_records_is_order_independent(
        (records, shuffled) in proptest::collection::vec(record_strategy(), 0..24)
            .prop_flat_map(|r| (Just(r.clone()), Just(r).prop_shuffle())),
    ) {
        prop_assert_eq!(
            DurableState::from_records(&records),
            DurableState::from_records(&shuffled)
        );
    }

    #[test]
    fn durable_state_from_records_only_moves_up_as_records_are_added(
        records in proptest::collection::vec(record_strategy(), 0..24),
    ) {
        let mut previous = DurableState::default();
        for k in 1..=records.len() {
            let state = DurableState::from_records(&records[..k]);
            prop_assert!(at_most(&previous, &state), "{:?} then {:?}", previous, state);
            previous = state;
        }
    }

    #[test]
    fn durable_state_apply_matches_from_records(
        records in proptest::collection::vec(record_strategy(), 0..24),
    ) {
        let mut state = DurableState::default();
        for r in &records {
            state.apply(r);
        }
        prop_assert_eq!(state, DurableState::from_records(&records));
    }

    #[test]
    fn replaying_a_record_twice_changes_nothing(
        records in proptest::collection::vec(record_strategy(), 1..24),
        pick in any::<prop::sample::Index>(),
    ) {
        let once = DurableState::from_records(&records);
        let mut twice = once.clone();
        twice.apply(&records[pick.index(records.len())]);
        prop_assert_eq!(once, twice);
    }
}

#[test]
fn shared_mem_storage_clones_see_the_same_synced_records() {
    let node = SharedMemStorage::new();
    let mut running = node.clone();
    running
        .append_owned(vec![Record::Promise(ballot(3, 1))])
        .unwrap();
    running.sync().unwrap();
    running.append(&[Record::Round(9)]).unwrap();
    drop(running);
    node.crash();
    // A node restarted over another clone finds the synced promise only.
    let state = node.clone().load().unwrap();
    assert_eq!(state.promised, ballot(3, 1));
    assert_eq!(state.round, 0);
    // A plain MemStorage clone, by contrast, is a separate copy.
    let mut plain = MemStorage::new();
    let copy = plain.clone();
    plain.append(&[Record::Round(1)]).unwrap();
    plain.sync().unwrap();
    assert!(copy.synced_records().is_empty());
}
