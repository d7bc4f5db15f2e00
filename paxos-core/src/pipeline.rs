//! Persist, then send, then apply, as types.
//!
//! A [`Pipeline`] turns each [`Ready`] into a [`Step`]: the messages that
//! may leave now, at most one numbered [`PersistJob`], the records to write
//! behind and the entries to apply. Messages that report unsynced state stay
//! inside the pipeline. The only way to release them is
//! [`Pipeline::persisted`], which takes a [`Persisted`] token, and the only
//! way to get a token is [`Written::sync`] on the storage the job was
//! written to. So a driver cannot send a promise before it is durable
//! without going around the types on purpose.
//!
//! One pipeline serves one role and one storage. Jobs are numbered in
//! order; a sync covers every job written before it, so a token for job `n`
//! releases everything held for jobs up to `n` (group commit).

use crate::durable::Record;
use crate::ready::Ready;
use crate::traits::Storage;
use crate::types::{Command, NodeId, Slot, Value};
use std::collections::VecDeque;

/// Most messages a pipeline holds while syncs are outstanding; beyond it
/// the oldest held messages are dropped (message loss, which Paxos
/// tolerates), so a stalled disk cannot grow memory without bound.
pub const HELD_MAX: usize = 1 << 20;

/// Orders one role's effects: holds back what must wait for a sync.
#[derive(Debug)]
pub struct Pipeline<M> {
    /// The number of the last job issued (0: none yet).
    issued: u64,
    /// The highest job number known durable.
    durable: u64,
    /// Messages waiting for the job number they depend on, in order.
    held: VecDeque<(u64, NodeId, M)>,
    /// Held messages dropped at [`HELD_MAX`].
    overflowed: u64,
}

impl<M> Default for Pipeline<M> {
    fn default() -> Self {
        Pipeline {
            issued: 0,
            durable: 0,
            held: VecDeque::new(),
            overflowed: 0,
        }
    }
}

/// What a driver does now with one [`Ready`].
#[derive(Debug)]
#[must_use = "a Step must be carried out: persist (then call persisted), send, apply"]
pub struct Step<M> {
    /// Messages that may leave now.
    pub send: Vec<(NodeId, M)>,
    /// Records to write and sync; then hand the token to [`Pipeline::persisted`].
    pub persist: Option<PersistJob>,
    /// Records to write; nothing waits for their sync.
    pub write_behind: Vec<Record>,
    /// Chosen entries for the application, in slot order.
    pub apply: Vec<(Slot, Value)>,
    /// Client commands the role gave up on; their clients should retry.
    pub dropped: Vec<Command>,
}

/// Records to make durable, numbered within their pipeline.
#[derive(Debug)]
#[must_use = "held messages wait for this job's sync"]
pub struct PersistJob {
    number: u64,
    records: Vec<Record>,
}

/// A job whose records are written but not yet synced.
#[derive(Debug)]
#[must_use = "sync it, or the messages it holds never leave"]
pub struct Written {
    number: u64,
}

/// Proof that every job up to a number is durable. Only [`Written::sync`]
/// and [`Written::covered_by`] make one.
#[derive(Debug, PartialEq, Eq)]
pub struct Persisted {
    number: u64,
}

impl PersistJob {
    /// The job's number in its pipeline.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The records to persist.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Appends the records to `storage` (not yet durable).
    pub fn write<S: Storage + ?Sized>(self, storage: &mut S) -> Result<Written, S::Error> {
        storage.append_owned(self.records)?;
        Ok(Written {
            number: self.number,
        })
    }
}

impl Written {
    /// The job's number in its pipeline.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// Syncs `storage`: this job and every one written to it before are
    /// now durable.
    pub fn sync<S: Storage + ?Sized>(self, storage: &mut S) -> Result<Persisted, S::Error> {
        storage.sync()?;
        Ok(Persisted {
            number: self.number,
        })
    }

    /// This job was written before the sync that `later` proves, to the
    /// same storage, so it is durable too.
    pub fn covered_by(self, later: &Persisted) -> Persisted {
        assert!(
            self.number <= later.number,
            "job {} is not covered by the sync of job {}",
            self.number,
            later.number
        );
        Persisted {
            number: self.number,
        }
    }
}

impl Persisted {
    /// The job number proven durable (with every one before it).
    pub fn number(&self) -> u64 {
        self.number
    }
}

impl<M> Pipeline<M> {
    /// A pipeline with nothing outstanding.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many messages wait for a sync.
    pub fn holding(&self) -> usize {
        self.held.len()
    }

    /// Whether a job is written but not yet known durable.
    pub fn outstanding(&self) -> bool {
        self.durable < self.issued
    }

    /// Held messages dropped because [`HELD_MAX`] was reached.
    pub fn overflowed(&self) -> u64 {
        self.overflowed
    }

    /// Empties `ready` into a step. Messages that must wait for a sync —
    /// this Ready's records or an earlier job's — stay in the pipeline.
    pub fn take(&mut self, ready: &mut Ready<M>) -> Step<M> {
        let parts = ready.take_parts();
        let persist = if parts.records.is_empty() {
            None
        } else {
            self.issued += 1;
            Some(PersistJob {
                number: self.issued,
                records: parts.records,
            })
        };
        let mut send = Vec::with_capacity(parts.messages.len());
        for ((to, msg), at_once) in parts.messages.into_iter().zip(parts.at_once) {
            if at_once || !self.outstanding() {
                send.push((to, msg));
            } else {
                if self.held.len() >= HELD_MAX {
                    self.held.pop_front();
                    self.overflowed += 1;
                }
                self.held.push_back((self.issued, to, msg));
            }
        }
        Step {
            send,
            persist,
            write_behind: parts.behind,
            apply: parts.decided,
            dropped: parts.dropped,
        }
    }

    /// A job is durable: returns the messages that may now leave, in order.
    pub fn persisted(&mut self, proof: Persisted) -> Vec<(NodeId, M)> {
        assert!(
            proof.number <= self.issued,
            "proof of job {} from another pipeline (issued {})",
            proof.number,
            self.issued
        );
        self.durable = self.durable.max(proof.number);
        let mut out = Vec::new();
        while let Some((n, _, _)) = self.held.front() {
            if *n > self.durable {
                break;
            }
            if let Some((_, to, msg)) = self.held.pop_front() {
                out.push((to, msg));
            }
        }
        out
    }

    /// Carries out a Ready against storage that does not block: writes and
    /// syncs its records, then returns a step whose `send` holds every
    /// message now free to leave. An error means nothing was released; the
    /// node must stop.
    pub fn run_inline<S: Storage + ?Sized>(
        &mut self,
        ready: &mut Ready<M>,
        storage: &mut S,
    ) -> Result<Step<M>, S::Error> {
        let mut step = self.take(ready);
        if !step.write_behind.is_empty() {
            storage.append_owned(std::mem::take(&mut step.write_behind))?;
        }
        if let Some(job) = step.persist.take() {
            let proof = job.write(storage)?.sync(storage)?;
            // Held messages go first: they were queued before this step's.
            let mut send = self.persisted(proof);
            send.append(&mut step.send);
            step.send = send;
        }
        Ok(step)
    }
}
