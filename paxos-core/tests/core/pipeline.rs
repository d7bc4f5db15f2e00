//! The pipeline's ordering rules: persist, then send, then apply.
//!
//! Goal: pin that a message reporting unsynced state cannot leave before
//! the sync, whatever order inputs arrive in. Method: fill `Ready`s by hand,
//! carry them out against `MemStorage`, and check what each step releases.

use paxos_core::{Ballot, MemStorage, NodeId, Pipeline, Ready, Record, Slot, Value};

const A: NodeId = NodeId(1);
const B: NodeId = NodeId(2);

fn promise(round: u64) -> Record {
    Record::Promise(Ballot {
        round,
        node: NodeId(7),
    })
}

#[test]
fn a_gated_message_waits_for_the_sync_of_its_records() {
    let mut pipeline = Pipeline::new();
    let mut storage = MemStorage::new();
    let mut ready = Ready::new();
    ready.persist(promise(1));
    ready.send(A, "promise 1");
    let step = pipeline.take(&mut ready);
    assert!(step.send.is_empty(), "nothing leaves before the sync");
    let written = step.persist.expect("a job").write(&mut storage).unwrap();
    assert!(storage.synced_records().is_empty());
    let proof = written.sync(&mut storage).unwrap();
    assert_eq!(storage.synced_records(), [promise(1)]);
    assert_eq!(pipeline.persisted(proof), vec![(A, "promise 1")]);
}

#[test]
fn a_gated_message_without_records_waits_behind_an_earlier_unsynced_job() {
    let mut pipeline = Pipeline::new();
    let mut storage = MemStorage::new();
    let mut first = Ready::new();
    first.persist(promise(2));
    first.send(A, "promise 2");
    let job = pipeline.take(&mut first).persist.expect("a job");
    let mut second = Ready::new();
    second.send(B, "nack below 2");
    let step = pipeline.take(&mut second);
    assert!(step.send.is_empty() && step.persist.is_none());
    let proof = job.write(&mut storage).unwrap().sync(&mut storage).unwrap();
    assert_eq!(
        pipeline.persisted(proof),
        vec![(A, "promise 2"), (B, "nack below 2")],
        "released in the order queued"
    );
}

#[test]
fn a_message_sent_now_leaves_while_a_sync_is_outstanding() {
    let mut pipeline = Pipeline::new();
    let mut ready = Ready::new();
    ready.persist(promise(3));
    ready.send(A, "gated");
    ready.send_now(B, "heartbeat");
    ready.deliver(Slot(0), Value::Noop);
    let step = pipeline.take(&mut ready);
    assert_eq!(step.send, vec![(B, "heartbeat")]);
    assert_eq!(step.apply, vec![(Slot(0), Value::Noop)]);
    assert!(pipeline.outstanding());
    assert_eq!(pipeline.holding(), 1);
}

#[test]
fn one_sync_releases_every_job_written_before_it() {
    let mut pipeline = Pipeline::new();
    let mut storage = MemStorage::new();
    let mut written = Vec::new();
    for round in 1..=3 {
        let mut ready = Ready::new();
        ready.persist(promise(round));
        ready.send(A, round);
        let job = pipeline.take(&mut ready).persist.expect("a job");
        written.push(job.write(&mut storage).unwrap());
    }
    let last = written.pop().expect("three jobs");
    let proof = last.sync(&mut storage).unwrap();
    for earlier in written {
        let covered = earlier.covered_by(&proof);
        assert!(covered.number() < proof.number());
    }
    assert_eq!(pipeline.persisted(proof), vec![(A, 1), (A, 2), (A, 3)]);
    assert!(!pipeline.outstanding());
}

#[test]
fn a_failed_write_or_sync_releases_nothing() {
    let mut pipeline = Pipeline::new();
    let mut storage = MemStorage::new();
    storage.fail_on_write(1);
    let mut ready = Ready::new();
    ready.persist(promise(4));
    ready.send(A, "promise 4");
    assert!(pipeline.run_inline(&mut ready, &mut storage).is_err());
    assert_eq!(pipeline.holding(), 1, "the promise stays inside");
    assert!(storage.synced_records().is_empty());
}

#[test]
#[should_panic(expected = "not covered")]
fn a_job_written_after_a_sync_is_not_covered_by_it() {
    let mut pipeline = Pipeline::<u8>::new();
    let mut storage = MemStorage::new();
    let mut jobs = Vec::new();
    for round in 1..=2 {
        let mut ready = Ready::new();
        ready.persist(promise(round));
        jobs.push(pipeline.take(&mut ready).persist.expect("a job"));
    }
    let second = jobs.pop().expect("two jobs");
    let first = jobs.pop().expect("two jobs");
    let proof = first
        .write(&mut storage)
        .unwrap()
        .sync(&mut storage)
        .unwrap();
    let _ = second.write(&mut storage).unwrap().covered_by(&proof);
}

#[test]
fn records_written_behind_hold_nothing_back() {
    let mut pipeline = Pipeline::new();
    let mut ready = Ready::new();
    ready.write_behind(Record::Decided {
        slot: Slot(0),
        value: Value::Noop,
    });
    ready.send(A, "catch-up reply");
    let step = pipeline.take(&mut ready);
    assert!(step.persist.is_none());
    assert_eq!(step.write_behind.len(), 1);
    assert_eq!(step.send, vec![(A, "catch-up reply")]);
}
