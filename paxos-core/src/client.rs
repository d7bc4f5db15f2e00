//! A client's side of the protocol, without IO: where each attempt of a
//! command goes, how long an attempt waits, how long to back off after a
//! refusal, and when to give up. The actors' `Client` and the simulator's
//! clients both follow it; each brings its own clock (ticks in the
//! simulator, microseconds under tokio), so times here are plain `u64`s in
//! the caller's unit.
//!
//! A command keeps its `(client, seq)` across attempts, so however many
//! attempts reach the log, a replica applies it once.

use crate::types::NodeId;

/// How a client retries, in the caller's time unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RetryPolicy {
    /// How long one attempt waits for a result.
    pub timeout: u64,
    /// With `timeout`, bounds the whole wait: `timeout × attempts_max`.
    pub attempts_max: u32,
    /// First wait after a refused attempt; doubles up to `timeout`.
    pub backoff: u64,
}

/// One attempt: its number (from 1) and when it stops waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// 1 for the first attempt.
    pub number: u32,
    /// When the attempt times out.
    pub until: u64,
}

/// The attempts at one command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempts {
    policy: RetryPolicy,
    deadline: u64,
    made: u32,
    backoff: u64,
}

impl Attempts {
    /// A command submitted at `now`.
    pub fn start(policy: RetryPolicy, now: u64) -> Self {
        let budget = policy
            .timeout
            .saturating_mul(u64::from(policy.attempts_max.max(1)));
        Attempts {
            policy,
            deadline: now.saturating_add(budget),
            made: 0,
            backoff: policy.backoff,
        }
    }

    /// The next attempt, or `None` once the whole budget is spent.
    pub fn next(&mut self, now: u64) -> Option<Attempt> {
        if now >= self.deadline {
            return None;
        }
        self.made += 1;
        let wait = self.policy.timeout.min(self.deadline - now);
        Some(Attempt {
            number: self.made,
            until: now + wait,
        })
    }

    /// The attempt was refused at `now` (the node knows no leader): when
    /// to try again. Each refusal doubles the wait, up to `timeout`, so an
    /// election in progress does not use up the budget.
    pub fn refused(&mut self, now: u64) -> u64 {
        let wait = self.backoff.min(self.deadline.saturating_sub(now));
        self.backoff = self
            .backoff
            .saturating_mul(2)
            .min(self.policy.timeout)
            .max(1);
        now.saturating_add(wait)
    }

    /// Attempts made so far.
    pub fn made(&self) -> u32 {
        self.made
    }

    /// When the whole budget runs out.
    pub fn deadline(&self) -> u64 {
        self.deadline
    }
}

/// Where an attempt goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The proposer on the client's own node.
    Local,
    /// A proposer on another node, reached with a `Forward` message.
    Remote(NodeId),
}

/// Picks each attempt's proposer: the local one if the client's node has
/// one; otherwise the leader the node last heard of on a first attempt,
/// and the next proposer in turn on every retry (the hint may be stale).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Router {
    proposers: Option<Vec<NodeId>>,
    turn: usize,
}

impl Router {
    /// Attempts go to the proposer on the client's node.
    pub fn local() -> Self {
        Router {
            proposers: None,
            turn: 0,
        }
    }

    /// Attempts go to `proposers` on other nodes.
    pub fn remote(proposers: Vec<NodeId>) -> Self {
        Router {
            proposers: Some(proposers),
            turn: 0,
        }
    }

    /// Where attempt `number` goes, given the node's leader hint; `None`
    /// when there is no proposer to try.
    pub fn pick(&mut self, number: u32, leader_hint: Option<NodeId>) -> Option<Target> {
        let Some(proposers) = &self.proposers else {
            return Some(Target::Local);
        };
        if proposers.is_empty() {
            return None;
        }
        match leader_hint {
            Some(l) if number == 1 && proposers.contains(&l) => Some(Target::Remote(l)),
            _ => {
                self.turn = (self.turn + 1) % proposers.len();
                Some(Target::Remote(proposers[self.turn]))
            }
        }
    }
}
