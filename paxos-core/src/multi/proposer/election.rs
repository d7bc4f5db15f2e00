//! Election: the timers that make a follower stand, standing for a fresh
//! ballot, stepping down on a higher one, and the leader's heartbeats and
//! check-quorum that keep followers from standing while it is healthy.

use super::{Proposer, Role};
use crate::durable::Record;
use crate::invariant::{check, Invariant, InvariantViolation};
use crate::multi::Message;
use crate::ready::Ready;
use crate::types::{Ballot, Command, NodeId, Slot, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

impl Proposer {
    pub(super) fn reset_election_timer(&mut self) {
        let spread = (self.config.election_jitter + 1) << self.misses.min(4);
        let jitter = self.jitter.below(spread);
        let timeout = self.config.election_timeout << self.misses.min(4);
        self.election_at = self.now + timeout + jitter;
    }

    /// Whether a phase-2 quorum of acceptors answered this leader within the
    /// last election timeout (always true in the first timeout of a term).
    pub(super) fn hears_phase2_quorum(&self) -> bool {
        let Role::Leader { since, heard, .. } = &self.role else {
            return false;
        };
        let window = self.config.election_timeout;
        if self.now.saturating_sub(*since) < window {
            return true;
        }
        let live: BTreeSet<NodeId> = heard
            .iter()
            .filter(|(_, t)| self.now.saturating_sub(**t) <= window)
            .map(|(n, _)| *n)
            .collect();
        self.config.quorum.is_phase2_quorum(&live)
    }

    /// Starts Phase 1 with a fresh ballot for every slot from `commit` on.
    pub(super) fn stand(&mut self, ready: &mut Ready<Message>) {
        // Every election since the last leader that held for an election
        // timeout widens the back-off: short-lived leaders in a duel do not
        // reset it, or the duel goes on at the shortest timeouts.
        self.misses = self.misses.saturating_add(1);
        self.abandon(ready);
        self.round = Ballot::fresh_round(self.id, self.round, self.seen);
        // Durable before the Prepare leaves: a restart must not reuse it.
        ready.persist(Record::Round(self.round));
        let ballot = Ballot::new(self.round, self.id);
        self.seen = self.seen.max(ballot);
        let first_slot = self.chosen.commit();
        self.role = Role::Candidate {
            ballot,
            first_slot,
            promises: BTreeMap::new(),
        };
        self.reset_election_timer();
        ready.broadcast(self.acceptors(), Message::Prepare { ballot, first_slot });
    }

    /// Leaves candidacy or leadership: in-flight commands may still be
    /// chosen, but this proposer no longer answers for them.
    pub(super) fn abandon(&mut self, ready: &mut Ready<Message>) {
        if let Role::Leader { inflight, .. } = &mut self.role {
            for (_, f) in inflight.take_all() {
                if let Value::Command(c) = f.value {
                    ready.drop_command(Arc::unwrap_or_clone(c));
                }
            }
        }
    }

    pub(super) fn step_down(
        &mut self,
        leader: Option<(NodeId, Ballot)>,
        ready: &mut Ready<Message>,
    ) {
        self.abandon(ready);
        self.role = Role::Follower { leader };
        self.reset_election_timer();
        let queued: Vec<Arc<Command>> = self.queue.drain(..).collect();
        self.submit(queued, ready);
    }

    pub(super) fn on_nack(&mut self, ballot: Ballot, promised: Ballot, ready: &mut Ready<Message>) {
        self.seen = self.seen.max(promised);
        if self.my_ballot() == Some(ballot) && promised > ballot {
            self.step_down(None, ready);
        }
    }

    pub(super) fn on_heartbeat(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        commit: Slot,
        ready: &mut Ready<Message>,
    ) {
        if from == self.id || ballot < self.seen {
            return;
        }
        self.seen = ballot;
        match self.leader_since {
            Some((b, since)) if b == ballot => {
                if self.now.saturating_sub(since) >= self.config.election_timeout {
                    self.misses = 0;
                }
            }
            _ => self.leader_since = Some((ballot, self.now)),
        }
        self.repair_chosen_log(from, commit, ready);
        match self.my_ballot() {
            Some(mine) if mine >= ballot => {}
            Some(_) => self.step_down(Some((from, ballot)), ready),
            None => {
                self.role = Role::Follower {
                    leader: Some((from, ballot)),
                };
                self.reset_election_timer();
            }
        }
    }

    pub(super) fn heartbeat(&mut self, ready: &mut Ready<Message>) {
        let Role::Leader { ballot, .. } = self.role else {
            return;
        };
        self.heartbeat_at = self.now + self.config.heartbeat_interval;
        let hb = Message::Heartbeat {
            ballot,
            commit: self.chosen.commit(),
        };
        ready.broadcast_now(self.audience(), hb);
    }

    /// An empty Accept asks each acceptor not heard from since the last
    /// heartbeat to confirm this ballot: it keeps check-quorum fed when the
    /// leader is idle, or when lost messages stall its pipeline.
    pub(super) fn probe(&mut self, ready: &mut Ready<Message>) {
        let Role::Leader { ballot, heard, .. } = &self.role else {
            return;
        };
        let since = self.now.saturating_sub(self.config.heartbeat_interval);
        let quiet: Vec<NodeId> = self
            .config
            .quorum
            .acceptors()
            .filter(|a| heard.get(a).is_none_or(|t| *t < since))
            .collect();
        let probe = Message::Accept {
            ballot: *ballot,
            entries: Vec::new(),
        };
        ready.broadcast_now(quiet, probe);
    }

    /// The ballot stood or led in is this proposer's own and covered by
    /// its reserved round; `seen` is at least every ballot it knows of.
    pub(super) fn check_ballots(&self) -> Result<(), InvariantViolation> {
        let (id, round, seen) = (self.id, self.round, self.seen);
        if let Some(mine) = self.my_ballot() {
            check(mine.node == id, Invariant::BallotIsOwn, || {
                format!("proposer {id} holds ballot {mine}")
            })?;
            check(
                mine.round <= round && mine <= seen,
                Invariant::RoundCoversBallot,
                || {
                    format!(
                        "proposer {id} holds ballot {mine}; reserved round {round}, seen {seen}"
                    )
                },
            )?;
        }
        let followed = match self.role {
            Role::Follower {
                leader: Some((_, b)),
            } => Some(b),
            _ => None,
        };
        let heard = self.leader_since.map(|(b, _)| b);
        for known in [followed, heard].into_iter().flatten() {
            check(known <= seen, Invariant::RoundCoversBallot, || {
                format!("proposer {id} knows leader ballot {known} above seen {seen}")
            })?;
        }
        Ok(())
    }
}
