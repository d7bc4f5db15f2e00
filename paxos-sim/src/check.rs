//! The safety checker: an omniscient observer of synced state and of what
//! learners deliver, consulted after every simulator step.
//!
//! "Chosen" is judged from what acceptors actually made durable, not from
//! what learners claim: a value is chosen for a slot once a phase-2 quorum
//! of acceptors has synced an accept of it in one ballot.

use crate::protocol::Applied;
use paxos_core::{Ballot, ClientId, Command, NodeId, QuorumSystem, Record, Slot, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A broken safety property, with what the checker saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Two different values were chosen for one slot.
    TwoValuesChosen {
        /// The slot.
        slot: Slot,
        /// The value chosen first.
        first: Value,
        /// The other value.
        second: Value,
    },
    /// Acceptors accepted two different values in one ballot for one slot
    /// (a ballot was reused).
    BallotReused {
        /// The slot.
        slot: Slot,
        /// The ballot.
        ballot: Ballot,
    },
    /// A value that no client proposed was chosen.
    NotProposed {
        /// The slot.
        slot: Slot,
        /// The value.
        value: Value,
    },
    /// A learner delivered a value that is not the chosen one.
    LearnerDisagrees {
        /// The learner's node.
        node: NodeId,
        /// The slot.
        slot: Slot,
        /// What it delivered.
        delivered: Value,
        /// What was chosen there, if anything yet.
        chosen: Option<Value>,
    },
    /// An acceptor's promise fell below one it had made durable.
    PromiseWentBack {
        /// The acceptor's node.
        node: NodeId,
        /// The promise it made durable.
        synced: Ballot,
        /// Its promise now.
        now: Ballot,
    },
    /// A replica ran the same client command twice.
    AppliedTwice {
        /// The replica's node.
        node: NodeId,
        /// The client.
        client: ClientId,
        /// The command's sequence number.
        seq: u64,
    },
    /// Two replicas returned different results for one command.
    ResultsDiffer {
        /// The replica that disagreed.
        node: NodeId,
        /// The client.
        client: ClientId,
        /// The command's sequence number.
        seq: u64,
    },
    /// A role's own invariant (`check_invariants`) broke.
    Invariant {
        /// The node.
        node: NodeId,
        /// Which invariant, with the values.
        what: String,
    },
    /// A client was answered with a result its command did not produce.
    WrongAnswer {
        /// The client.
        client: ClientId,
        /// The command's sequence number.
        seq: u64,
    },
    /// After faults stopped, submitted commands were not all decided in time.
    NoProgress {
        /// Ticks waited.
        ticks: u64,
        /// What was still missing.
        missing: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::TwoValuesChosen {
                slot,
                first,
                second,
            } => {
                write!(f, "agreement: slot {slot} chose {first} and then {second}")
            }
            Violation::BallotReused { slot, ballot } => {
                write!(f, "ballot {ballot} carried two values for slot {slot}")
            }
            Violation::NotProposed { slot, value } => {
                write!(
                    f,
                    "validity: slot {slot} chose {value}, which nobody proposed"
                )
            }
            Violation::LearnerDisagrees {
                node,
                slot,
                delivered,
                chosen,
            } => match chosen {
                Some(c) => write!(
                    f,
                    "learner {node} delivered {delivered} at {slot}, but {c} is chosen"
                ),
                None => write!(
                    f,
                    "learner {node} delivered {delivered} at {slot}, which is not chosen"
                ),
            },
            Violation::PromiseWentBack { node, synced, now } => {
                write!(
                    f,
                    "acceptor {node} promised {synced} durably but now promises only {now}"
                )
            }
            Violation::AppliedTwice { node, client, seq } => {
                write!(
                    f,
                    "replica {node} applied command c{}:{seq} twice",
                    client.0
                )
            }
            Violation::ResultsDiffer { node, client, seq } => {
                write!(
                    f,
                    "replica {node} returned a different result for c{}:{seq}",
                    client.0
                )
            }
            Violation::Invariant { node, what } => write!(f, "node {node}: {what}"),
            Violation::WrongAnswer { client, seq } => {
                write!(f, "client c{} got a wrong answer for seq {seq}", client.0)
            }
            Violation::NoProgress { ticks, missing } => {
                write!(
                    f,
                    "liveness: after {ticks} fault-free ticks still missing {missing}"
                )
            }
        }
    }
}

/// What the checker has observed so far.
#[derive(Debug)]
pub struct Checker {
    quorum: QuorumSystem,
    votes: BTreeMap<(Slot, Ballot), (Value, BTreeSet<NodeId>)>,
    chosen: BTreeMap<Slot, Value>,
    proposed: BTreeSet<Command>,
    synced_promise: BTreeMap<NodeId, Ballot>,
    results: BTreeMap<(ClientId, u64), Vec<u8>>,
    /// Commands each replica incarnation ran: `(node, incarnation)`.
    ran: BTreeMap<(NodeId, u64), BTreeSet<(ClientId, u64)>>,
}

impl Checker {
    /// A checker judging quorums with `quorum`.
    pub fn new(quorum: QuorumSystem) -> Self {
        Checker {
            quorum,
            votes: BTreeMap::new(),
            chosen: BTreeMap::new(),
            proposed: BTreeSet::new(),
            synced_promise: BTreeMap::new(),
            results: BTreeMap::new(),
            ran: BTreeMap::new(),
        }
    }

    /// Values chosen so far, by slot.
    pub fn chosen(&self) -> &BTreeMap<Slot, Value> {
        &self.chosen
    }

    /// Records that a client submitted `command`.
    pub fn proposed(&mut self, command: &Command) {
        self.proposed.insert(command.clone());
    }

    /// Records that `node` synced `records`.
    pub fn synced(&mut self, node: NodeId, records: &[Record]) -> Result<(), Violation> {
        for record in records {
            match record {
                Record::Promise(b) => self.promise(node, *b),
                Record::Accept {
                    slot,
                    ballot,
                    value,
                } => {
                    self.promise(node, *ballot);
                    self.accept(node, *slot, *ballot, value)?;
                }
                Record::Round(_) | Record::Decided { .. } => {}
            }
        }
        Ok(())
    }

    fn promise(&mut self, node: NodeId, ballot: Ballot) {
        let p = self.synced_promise.entry(node).or_default();
        *p = (*p).max(ballot);
    }

    fn accept(
        &mut self,
        node: NodeId,
        slot: Slot,
        ballot: Ballot,
        value: &Value,
    ) -> Result<(), Violation> {
        let entry = self
            .votes
            .entry((slot, ballot))
            .or_insert_with(|| (value.clone(), BTreeSet::new()));
        if entry.0 != *value {
            return Err(Violation::BallotReused { slot, ballot });
        }
        entry.1.insert(node);
        if !self.quorum.is_phase2_quorum(&entry.1) {
            return Ok(());
        }
        match self.chosen.get(&slot) {
            Some(first) if first != value => Err(Violation::TwoValuesChosen {
                slot,
                first: first.clone(),
                second: value.clone(),
            }),
            Some(_) => Ok(()),
            None => {
                if let Value::Command(c) = value {
                    if !self.proposed.contains(c) {
                        return Err(Violation::NotProposed {
                            slot,
                            value: value.clone(),
                        });
                    }
                }
                self.chosen.insert(slot, value.clone());
                Ok(())
            }
        }
    }

    /// Checks a learner's delivery: it must be the chosen value. Since
    /// learners deliver in slot order from 0, this also makes every
    /// learner's log a prefix of the chosen sequence, so of each other's.
    pub fn delivered(&self, node: NodeId, slot: Slot, value: &Value) -> Result<(), Violation> {
        match self.chosen.get(&slot) {
            Some(c) if c == value => Ok(()),
            chosen => Err(Violation::LearnerDisagrees {
                node,
                slot,
                delivered: value.clone(),
                chosen: chosen.cloned(),
            }),
        }
    }

    /// Checks a replica's application of a command.
    pub fn applied(
        &mut self,
        node: NodeId,
        incarnation: u64,
        applied: &Applied,
    ) -> Result<(), Violation> {
        let key = (applied.client, applied.seq);
        if applied.fresh && !self.ran.entry((node, incarnation)).or_default().insert(key) {
            return Err(Violation::AppliedTwice {
                node,
                client: applied.client,
                seq: applied.seq,
            });
        }
        match self.results.get(&key) {
            Some(r) if *r != applied.result => Err(Violation::ResultsDiffer {
                node,
                client: applied.client,
                seq: applied.seq,
            }),
            Some(_) => Ok(()),
            None => {
                self.results.insert(key, applied.result.clone());
                Ok(())
            }
        }
    }

    /// Checks the result a client was given against the one its command's
    /// first application produced.
    pub fn answered(&self, client: ClientId, seq: u64, result: &[u8]) -> Result<(), Violation> {
        match self.results.get(&(client, seq)) {
            Some(r) if r.as_slice() == result => Ok(()),
            _ => Err(Violation::WrongAnswer { client, seq }),
        }
    }

    /// Checks that a live acceptor's promise is not below its synced one.
    pub fn promise_holds(&self, node: NodeId, now: Ballot) -> Result<(), Violation> {
        match self.synced_promise.get(&node) {
            Some(synced) if now < *synced => Err(Violation::PromiseWentBack {
                node,
                synced: *synced,
                now,
            }),
            _ => Ok(()),
        }
    }
}
