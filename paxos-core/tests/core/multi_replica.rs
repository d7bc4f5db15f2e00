//! Multi-Paxos replica.
//!
//! Goal: pin exactly-once application: each `(client, seq)` runs once, a
//! duplicate gets the first result, an older seq of a client that moved on
//! never runs, and slots apply strictly in order. Method: apply entries by
//! hand to a state machine whose log would show a second application.

use crate::multi_kit::{cmd, config, Cluster, L, P4};
use paxos_core::multi::{Outcome, Replica};
use paxos_core::{ClientId, Command, Slot, StateMachine, Value};
use std::convert::Infallible;

/// A state machine that appends each payload to a log and returns the log's
/// new length: applying a command twice would show.
#[derive(Debug, Default)]
struct Log(Vec<Vec<u8>>);

impl StateMachine for Log {
    type Error = Infallible;

    fn apply(&mut self, command: &[u8]) -> Vec<u8> {
        self.0.push(command.to_vec());
        vec![self.0.len() as u8]
    }

    fn snapshot(&self) -> Vec<u8> {
        self.0.concat()
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), Infallible> {
        self.0 = snapshot.iter().map(|b| vec![*b]).collect();
        Ok(())
    }
}

fn command(client: u64, seq: u64, payload: u8) -> Value {
    Value::from(Command {
        client: ClientId(client),
        seq,
        payload: vec![payload].into(),
    })
}

#[test]
fn replica_applies_each_client_seq_once_and_returns_the_first_result_for_a_duplicate() {
    let mut replica = Replica::new(Log::default());
    let first = replica.apply(Slot(0), &command(1, 1, 10));
    assert_eq!(
        first,
        Outcome::Applied {
            client: ClientId(1),
            seq: 1,
            result: vec![1]
        }
    );
    let _ = replica.apply(Slot(1), &command(2, 1, 20));
    let again = replica.apply(Slot(2), &command(1, 1, 10));
    assert_eq!(
        again,
        Outcome::Duplicate {
            client: ClientId(1),
            seq: 1,
            result: vec![1]
        }
    );
    assert_eq!(replica.state_machine().0, vec![vec![10], vec![20]]);
    assert_eq!(replica.next_slot(), Slot(3));
}

#[test]
fn replica_does_not_apply_an_older_seq_of_a_client_that_moved_on() {
    let mut replica = Replica::new(Log::default());
    let _ = replica.apply(Slot(0), &command(1, 2, 10));
    let stale = replica.apply(Slot(1), &command(1, 1, 11));
    assert_eq!(
        stale,
        Outcome::Stale {
            client: ClientId(1),
            seq: 1
        }
    );
    assert_eq!(replica.state_machine().0, vec![vec![10]]);
    let next = replica.apply(Slot(2), &command(1, 3, 12));
    assert!(matches!(next, Outcome::Applied { seq: 3, .. }));
}

#[test]
fn replica_noop_yields_outcome_noop_and_advances() {
    let mut replica = Replica::new(Log::default());
    assert_eq!(replica.apply(Slot(0), &Value::Noop), Outcome::Noop);
    assert_eq!(replica.next_slot(), Slot(1));
    assert!(replica.state_machine().0.is_empty());
}

#[test]
#[should_panic(expected = "out of order")]
fn replica_refuses_a_slot_out_of_order() {
    let mut replica = Replica::new(Log::default());
    let _ = replica.apply(Slot(1), &Value::Noop);
}

#[test]
fn replica_fed_by_a_learner_applies_a_retried_command_once() {
    let mut cluster = Cluster::new(config());
    cluster.elect(P4);
    // The client retries (1, 1) after a timeout: it is chosen twice.
    for c in [cmd(1, 1), cmd(2, 1), cmd(1, 1), cmd(1, 2)] {
        cluster.propose(P4, c);
    }
    cluster.run();
    let mut replica = Replica::new(Log::default());
    let outcomes: Vec<Outcome> = cluster
        .net
        .decided_by(L)
        .iter()
        .map(|(slot, value)| replica.apply(*slot, value))
        .collect();
    assert_eq!(outcomes.len(), 4);
    assert!(matches!(outcomes[2], Outcome::Duplicate { seq: 1, .. }));
    assert_eq!(replica.state_machine().0.len(), 3);
}
