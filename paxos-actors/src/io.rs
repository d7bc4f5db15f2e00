//! Object-safe views of the core's `Transport` and `Storage`, so actors need
//! no type parameters for them, and the storage thread that keeps blocking
//! storage off the actors' threads.

use paxos_core::multi::Message;
use paxos_core::{DurableState, NodeId, Record, Storage, Transport};
use std::sync::mpsc;
use std::sync::Arc;

/// Where an actor sends protocol messages. Every [`Transport`] is one.
pub trait Outbox: Send + Sync {
    /// Sends best-effort; a failure is message loss and is only logged.
    fn post(&self, to: NodeId, msg: Message);
}

impl<T: Transport<Message> + Send + Sync> Outbox for T {
    fn post(&self, to: NodeId, msg: Message) {
        if let Err(e) = self.send(to, msg) {
            tracing::trace!(%to, error = %e, "message lost");
        }
    }
}

/// A role's durable storage. Every [`Storage`] that is `Send` is one.
pub trait Durable: Send {
    /// Reads back everything synced.
    fn load(&mut self) -> Result<DurableState, String>;
    /// Appends and syncs `records`.
    fn persist(&mut self, records: Vec<Record>) -> Result<(), String>;
    /// Appends without syncing (group commit: one `flush` covers many).
    fn append(&mut self, records: Vec<Record>) -> Result<(), String>;
    /// Syncs everything appended.
    fn flush(&mut self) -> Result<(), String>;
    /// Whether calls may block.
    fn blocks(&self) -> bool;
}

impl<S: Storage + Send> Durable for S {
    fn load(&mut self) -> Result<DurableState, String> {
        Storage::load(self).map_err(|e| e.to_string())
    }
    fn persist(&mut self, records: Vec<Record>) -> Result<(), String> {
        Durable::append(self, records)?;
        self.sync().map_err(|e| e.to_string())
    }
    fn append(&mut self, records: Vec<Record>) -> Result<(), String> {
        Storage::append_owned(self, records).map_err(|e| e.to_string())
    }
    fn flush(&mut self) -> Result<(), String> {
        self.sync().map_err(|e| e.to_string())
    }
    fn blocks(&self) -> bool {
        Storage::blocks(self)
    }
}

/// A storage write finished (or failed); called on the storage thread.
pub type Done = Box<dyn FnOnce(Result<(), String>) + Send>;

struct Job {
    records: Vec<Record>,
    /// Whether `done` waits for a sync (else the records are written
    /// behind and synced within `LAZY_SYNC_AFTER`).
    sync: bool,
    done: Done,
}

/// Longest a written-behind record stays unsynced while the thread idles.
pub const LAZY_SYNC_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

/// Runs blocking storage on a thread of its own with group commit: every
/// job waiting when a sync starts is covered by that one sync.
pub struct StorageThread {
    jobs: mpsc::SyncSender<Job>,
}

/// Most jobs queued for the storage thread before `submit` fails.
pub const STORAGE_QUEUE_MAX: usize = 4096;

impl StorageThread {
    /// Starts the thread. It ends when the `StorageThread` is dropped, or
    /// after the first failure (every later job then fails too).
    pub fn start(mut storage: Box<dyn Durable>, name: String) -> std::io::Result<Arc<Self>> {
        let (jobs, rx) = mpsc::sync_channel::<Job>(STORAGE_QUEUE_MAX);
        std::thread::Builder::new().name(name).spawn(move || {
            let mut failed: Option<String> = None;
            // Written-behind records not yet synced, and since when.
            let mut unsynced: Option<std::time::Instant> = None;
            loop {
                let first = match unsynced {
                    Some(since) => {
                        let wait = LAZY_SYNC_AFTER.saturating_sub(since.elapsed());
                        match rx.recv_timeout(wait) {
                            Ok(job) => Some(job),
                            Err(mpsc::RecvTimeoutError::Timeout) => None,
                            Err(mpsc::RecvTimeoutError::Disconnected) => break,
                        }
                    }
                    None => match rx.recv() {
                        Ok(job) => Some(job),
                        Err(_) => break,
                    },
                };
                let mut batch: Vec<Job> = first.into_iter().collect();
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                let mut result = match &failed {
                    Some(e) => Err(e.clone()),
                    None => Ok(()),
                };
                for job in &mut batch {
                    if result.is_ok() {
                        result = storage.append(std::mem::take(&mut job.records));
                    }
                }
                let lazy_due = unsynced.is_some_and(|t| t.elapsed() >= LAZY_SYNC_AFTER);
                if batch.iter().any(|j| j.sync) || lazy_due {
                    if result.is_ok() {
                        result = storage.flush();
                    }
                    unsynced = None;
                } else if !batch.is_empty() && unsynced.is_none() {
                    unsynced = Some(std::time::Instant::now());
                }
                if let Err(e) = &result {
                    failed = Some(e.clone());
                }
                for job in batch {
                    (job.done)(result.clone());
                }
            }
        })?;
        Ok(Arc::new(StorageThread { jobs }))
    }

    /// Queues `records`; `done` runs on the storage thread once they are
    /// synced (or failed).
    pub fn submit(&self, records: Vec<Record>, done: Done) {
        self.queue(Job {
            records,
            sync: true,
            done,
        });
    }

    /// Queues `records` to be written behind: `done` runs once they are
    /// written, and they are synced with the next sync or within
    /// [`LAZY_SYNC_AFTER`]. For records nothing waits on.
    pub fn submit_lazy(&self, records: Vec<Record>, done: Done) {
        self.queue(Job {
            records,
            sync: false,
            done,
        });
    }

    fn queue(&self, job: Job) {
        if let Err(mpsc::TrySendError::Full(job) | mpsc::TrySendError::Disconnected(job)) =
            self.jobs.try_send(job)
        {
            (job.done)(Err("storage queue full or storage thread gone".into()));
        }
    }
}
