//! The path from clients to a proposer: a shared queue with a doorbell.
//!
//! Clients push commands; only the push that finds the queue idle sends the
//! proposer an actor message. The proposer drains everything queued at
//! once and proposes it as one batch, so under load the actor messages per
//! command fall far below one.

use crate::error::Error;
use crate::metrics::Metrics;
use actix::prelude::*;
use paxos_core::Command;
use std::sync::{Arc, Mutex, OnceLock};

/// Most commands waiting in one proposer's submit queue.
pub const SUBMIT_QUEUE_MAX: usize = 1 << 16;

/// Tells a proposer its submit queue has commands.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Drain;

#[derive(Default)]
struct Queued {
    commands: Vec<Arc<Command>>,
    /// A `Drain` is on its way and has not yet taken the queue.
    rung: bool,
}

/// One proposer's submit queue.
pub(crate) struct SubmitQueue {
    queued: Mutex<Queued>,
    proposer: OnceLock<Recipient<Drain>>,
    metrics: Arc<Metrics>,
}

impl SubmitQueue {
    pub fn new(metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(SubmitQueue {
            queued: Mutex::new(Queued::default()),
            proposer: OnceLock::new(),
            metrics,
        })
    }

    /// Connects the queue to its proposer (once, right after it starts).
    pub fn connect(&self, proposer: Recipient<Drain>) {
        let _ = self.proposer.set(proposer);
    }

    /// Queues `command`, waking the proposer if the queue was idle.
    pub fn submit(&self, command: Arc<Command>) -> Result<(), Error> {
        let ring = {
            let mut q = self.queued.lock().map_err(|_| Error::Stopped)?;
            if q.commands.len() >= SUBMIT_QUEUE_MAX {
                return Err(Error::Busy);
            }
            q.commands.push(command);
            !std::mem::replace(&mut q.rung, true)
        };
        if ring {
            let proposer = self.proposer.get().ok_or(Error::Stopped)?;
            self.metrics.actor_message();
            // At most one Drain is outstanding, so this cannot pile up.
            proposer.do_send(Drain);
        }
        Ok(())
    }

    /// Takes everything queued; the next submit rings again.
    pub fn take(&self) -> Vec<Arc<Command>> {
        match self.queued.lock() {
            Ok(mut q) => {
                q.rung = false;
                std::mem::take(&mut q.commands)
            }
            Err(_) => Vec::new(),
        }
    }
}
