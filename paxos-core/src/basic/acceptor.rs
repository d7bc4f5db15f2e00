use super::{Config, Message};
use crate::bugs::PlantedBugs;
use crate::durable::{DurableState, Record};
use crate::invariant::{broken, check, Invariant, InvariantViolation};
use crate::ready::Ready;
use crate::types::{Ballot, NodeId, Slot, Value};
use std::collections::BTreeSet;

/// A single-decree acceptor. Its state is exactly its durable state: every
/// change is returned as a [`Record`] to persist before the reply leaves.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Acceptor {
    promised: Ballot,
    accepted: Option<(Ballot, Value)>,
    learners: Vec<NodeId>,
}

impl Acceptor {
    /// Restores an acceptor from what its node synced before a crash (or
    /// from `DurableState::default()` for a fresh one).
    pub fn restore(config: &Config, state: &DurableState) -> Self {
        let bugs: PlantedBugs = config.bugs;
        let promised = if bugs.acceptor_forgets_promise() {
            Ballot::ZERO
        } else {
            state.promised
        };
        Acceptor {
            promised,
            accepted: state.accepted.get(&Slot(0)).cloned(),
            learners: config.learners.clone(),
        }
    }

    /// The highest ballot promised.
    pub fn promised(&self) -> Ballot {
        self.promised
    }

    /// The highest-ballot proposal accepted.
    pub fn accepted(&self) -> Option<&(Ballot, Value)> {
        self.accepted.as_ref()
    }

    /// Checks this acceptor's invariants: its promise covers the ballot of
    /// what it accepted, and that ballot is a real one (round 1 or more).
    /// O(1). Per message, the acceptor checks that its promise never goes
    /// down.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let Some((ballot, _)) = &self.accepted else {
            return Ok(());
        };
        let promised = self.promised;
        check(
            *ballot <= promised,
            Invariant::PromiseCoversAccepted,
            || format!("accepted in {ballot}, promised only {promised}"),
        )?;
        check(ballot.round > 0, Invariant::AcceptedWithinBounds, || {
            format!("accepted in {ballot}, a round no proposer uses")
        })
    }

    /// Handles one message from `from`.
    pub fn handle(&mut self, from: NodeId, msg: Message, ready: &mut Ready<Message>) {
        match msg {
            Message::Prepare { ballot } => self.on_prepare(from, ballot, ready),
            Message::Accept { ballot, value } => self.on_accept(from, ballot, value, ready),
            Message::Learn => {
                if let Some((ballot, value)) = &self.accepted {
                    let reply = Message::Accepted {
                        ballot: *ballot,
                        value: value.clone(),
                    };
                    ready.send(from, reply);
                }
            }
            _ => {}
        }
    }

    fn on_prepare(&mut self, from: NodeId, ballot: Ballot, ready: &mut Ready<Message>) {
        // `>=`: a duplicated Prepare gets the same promise again.
        if ballot < self.promised {
            let nack = Message::Nack {
                ballot,
                promised: self.promised,
            };
            ready.send(from, nack);
            return;
        }
        if ballot > self.promised {
            self.promised = ballot;
            ready.persist(Record::Promise(ballot));
        }
        let reply = Message::Promise {
            ballot,
            accepted: self.accepted.clone(),
        };
        ready.send(from, reply);
    }

    fn on_accept(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        value: Value,
        ready: &mut Ready<Message>,
    ) {
        if ballot < self.promised {
            let nack = Message::Nack {
                ballot,
                promised: self.promised,
            };
            ready.send(from, nack);
            return;
        }
        let proposal = (ballot, value);
        if self.accepted.as_ref() != Some(&proposal) {
            if ballot < self.promised {
                let detail = format!("promise {} lowered to {ballot}", self.promised);
                broken(Invariant::PromiseOnlyGrows, detail);
            }
            self.promised = ballot;
            ready.persist(Record::Accept {
                slot: Slot(0),
                ballot,
                value: proposal.1.clone(),
            });
            self.accepted = Some(proposal.clone());
        }
        let reply = Message::Accepted {
            ballot,
            value: proposal.1,
        };
        let to: BTreeSet<NodeId> = self.learners.iter().copied().chain([from]).collect();
        ready.broadcast(to, reply);
    }
}
