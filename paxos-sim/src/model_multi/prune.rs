//! Budgets, and the messages the Multi-Paxos model drops because no
//! behaviour depends on them (reductions 5 and 6 in [`super`]).

use super::{carry_out, index, ready, Envelope, MultiPaxosModel, State, PROPOSERS};
use paxos_core::multi::{Message, Status};
use paxos_core::NodeId;

impl MultiPaxosModel {
    /// Whether the run may still crash and restart a node.
    pub(super) fn restarts_left(&self, state: &State) -> bool {
        state.crashes < self.crashes_max
    }

    /// Whether proposer `i` may still stand for election.
    pub(super) fn can_stand(&self, state: &State, i: usize) -> bool {
        state.stands[i] < self.stands_max[i]
    }

    /// Whether proposer `i` may still restart and then stand: a restart
    /// after its last election only silences it (reduction 6).
    pub(super) fn may_restart(&self, state: &State, i: usize) -> bool {
        self.restarts_left(state) && self.can_stand(state, i)
    }

    /// Whether `env` can be dropped without losing any behaviour
    /// (reductions 5 and 6 in the module docs).
    fn is_dead(&self, state: &State, env: &Envelope) -> bool {
        let Some(i) = index(&PROPOSERS, env.to) else {
            return false;
        };
        let proposer = &state.proposers[i];
        let last_incarnation = !self.may_restart(state, i);
        let noop = || {
            let mut after = proposer.clone();
            let mut out = ready();
            after.handle(env.from, env.msg.clone(), &mut out);
            carry_out(out).is_empty() && after == *proposer
        };
        match env.msg {
            Message::Promise { .. } => noop(),
            Message::Nack { .. } | Message::Heartbeat { .. } if !self.can_stand(state, i) => true,
            Message::Decide { .. } if self.ignores_decides(state, i) => true,
            Message::Nack { .. } | Message::Decide { .. } => last_incarnation && noop(),
            Message::Heartbeat { .. } => {
                last_incarnation && (state.heartbeats_used[i].contains(env) || noop())
            }
            Message::CatchUp { .. } => {
                index(&PROPOSERS, env.from).is_some_and(|r| self.ignores_decides(state, r))
            }
            _ => false,
        }
    }

    /// Whether what proposer `i` knows chosen can no longer matter: it
    /// will not stand again or take over, and the other proposer, which
    /// could ask it for catch-up, will not stand again either (reduction 6).
    fn ignores_decides(&self, state: &State, i: usize) -> bool {
        let candidate = matches!(state.proposers[i].status(), Status::Candidate { .. });
        !self.can_stand(state, i) && !candidate && !self.can_stand(state, 1 - i)
    }

    /// Drops dead messages from `next`, looking only at new ones and those
    /// between proposers whose state (or budget) changed.
    pub(super) fn prune(&self, last: &State, next: &mut State) {
        // Deadness also depends on the budgets of both proposers.
        let budget_changed = last.crashes != next.crashes || last.stands != next.stands;
        let changed_at: [bool; 2] = std::array::from_fn(|i| {
            last.proposers[i] != next.proposers[i]
                || last.heartbeats_used[i] != next.heartbeats_used[i]
        });
        let changed = |node: NodeId| index(&PROPOSERS, node).is_some_and(|i| changed_at[i]);
        let dead: Vec<Envelope> = next
            .network
            .iter()
            .filter(|env| {
                // Only messages to proposers ever die; a catch-up request's
                // fate also depends on its sender.
                index(&PROPOSERS, env.to).is_some()
                    && (budget_changed
                        || changed(env.to)
                        || changed(env.from)
                        || !last.network.contains(env))
            })
            .filter(|env| self.is_dead(next, env))
            .cloned()
            .collect();
        for env in &dead {
            next.network.remove(env);
            if let Some(i) = index(&PROPOSERS, env.to) {
                next.heartbeats_used[i].remove(env);
            }
        }
    }
}
