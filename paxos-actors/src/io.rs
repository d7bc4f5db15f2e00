//! Object-safe views of the core's `Transport` and `Storage`, so actors need
//! no type parameters for them, and the storage thread that keeps blocking
//! storage off the actors' threads.

use paxos_core::multi::Message;
use paxos_core::{DurableState, NodeId, PersistJob, Persisted, Record, Storage, Transport};
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

/// A storage adapter's error, with its source kept (cheap to clone, so
/// every job a failed sync covered can be told).
#[derive(Clone, Debug, thiserror::Error)]
#[error("{source}")]
pub struct StorageError {
    #[source]
    source: Arc<dyn std::error::Error + Send + Sync + 'static>,
}

impl StorageError {
    /// Wraps an adapter's error.
    pub fn new(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        StorageError {
            source: Arc::new(source),
        }
    }
}

/// Two storage errors are equal when they say the same thing (the sources
/// are opaque; this serves `Error`'s equality in tests).
impl PartialEq for StorageError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for StorageError {}

/// Any [`Storage`], with its error type erased into a [`StorageError`].
pub type BoxStorage = Box<dyn Storage<Error = StorageError> + Send>;

/// Erases a storage's error type.
struct Erased<S>(S);

impl<S: Storage> Storage for Erased<S> {
    type Error = StorageError;
    fn load(&mut self) -> Result<DurableState, StorageError> {
        self.0.load().map_err(StorageError::new)
    }
    fn append(&mut self, records: &[Record]) -> Result<(), StorageError> {
        self.0.append(records).map_err(StorageError::new)
    }
    fn append_owned(&mut self, records: Vec<Record>) -> Result<(), StorageError> {
        self.0.append_owned(records).map_err(StorageError::new)
    }
    fn sync(&mut self) -> Result<(), StorageError> {
        self.0.sync().map_err(StorageError::new)
    }
    fn blocks(&self) -> bool {
        self.0.blocks()
    }
}

/// Boxes `storage` behind [`BoxStorage`].
pub fn boxed<S: Storage + Send + 'static>(storage: S) -> BoxStorage {
    Box::new(Erased(storage))
}

/// A storage job finished: a persist job's proof of durability, nothing
/// for records written behind, or the failure. Called on the storage thread.
pub type Done = Box<dyn FnOnce(Result<Option<Persisted>, StorageError>) + Send>;

enum Work {
    /// Write and sync; the job's held messages wait for the proof.
    Persist(PersistJob),
    /// Write; synced with the next sync or within `LAZY_SYNC_AFTER`.
    Behind(Vec<Record>),
}

struct Job {
    work: Work,
    done: Done,
}

/// Longest a written-behind record stays unsynced while the thread idles.
pub const LAZY_SYNC_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

/// Runs blocking storage on a thread of its own with group commit: every
/// job waiting when a sync starts is covered by that one sync. One thread
/// serves one role's pipeline.
pub struct StorageThread {
    jobs: mpsc::SyncSender<Job>,
}

/// Most jobs queued for the storage thread before `submit` fails.
pub const STORAGE_QUEUE_MAX: usize = 4096;

impl StorageThread {
    /// Starts the thread. It ends when the `StorageThread` is dropped, or
    /// after the first failure (every later job then fails too).
    pub fn start(mut storage: BoxStorage, name: String) -> std::io::Result<Arc<Self>> {
        let (jobs, rx) = mpsc::sync_channel::<Job>(STORAGE_QUEUE_MAX);
        std::thread::Builder::new().name(name).spawn(move || {
            let mut failed: Option<StorageError> = None;
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
                let lazy_due = unsynced.is_some_and(|t| t.elapsed() >= LAZY_SYNC_AFTER);
                let (works, dones): (Vec<Work>, Vec<Done>) =
                    batch.into_iter().map(|j| (j.work, j.done)).unzip();
                let outcome = match &failed {
                    Some(e) => Err(e.clone()),
                    None => run_batch(&mut storage, works, lazy_due),
                };
                match outcome {
                    Ok((synced, proofs)) => {
                        if synced {
                            unsynced = None;
                        } else if !dones.is_empty() && unsynced.is_none() {
                            unsynced = Some(std::time::Instant::now());
                        }
                        for (done, proof) in dones.into_iter().zip(proofs) {
                            done(Ok(proof));
                        }
                    }
                    Err(e) => {
                        failed = Some(e.clone());
                        for done in dones {
                            done(Err(e.clone()));
                        }
                    }
                }
            }
        })?;
        Ok(Arc::new(StorageThread { jobs }))
    }

    /// Queues a persist job; `done` runs on the storage thread with its
    /// proof once it is synced (or with the failure).
    pub fn submit(&self, job: PersistJob, done: Done) {
        self.queue(Job {
            work: Work::Persist(job),
            done,
        });
    }

    /// Queues `records` to be written behind: `done` runs once they are
    /// written, and they are synced with the next sync or within
    /// [`LAZY_SYNC_AFTER`]. For records nothing waits on.
    pub fn submit_lazy(&self, records: Vec<Record>, done: Done) {
        self.queue(Job {
            work: Work::Behind(records),
            done,
        });
    }

    fn queue(&self, job: Job) {
        if let Err(mpsc::TrySendError::Full(job) | mpsc::TrySendError::Disconnected(job)) =
            self.jobs.try_send(job)
        {
            let gone = std::io::Error::other("storage queue full or storage thread gone");
            (job.done)(Err(StorageError::new(gone)));
        }
    }
}

/// Writes every job of a batch, then syncs once if a persist job needs it
/// or written-behind records are due. Returns whether it synced, and each
/// job's proof (none for records written behind).
fn run_batch(
    storage: &mut BoxStorage,
    works: Vec<Work>,
    lazy_due: bool,
) -> Result<(bool, Vec<Option<Persisted>>), StorageError> {
    let mut written = Vec::with_capacity(works.len());
    for work in works {
        match work {
            Work::Persist(job) => written.push(Some(job.write(storage)?)),
            Work::Behind(records) => {
                storage.append_owned(records)?;
                written.push(None);
            }
        }
    }
    let last = written.iter().rposition(Option::is_some);
    let proof = match last.and_then(|i| written[i].take()) {
        Some(w) => Some(w.sync(storage)?),
        None => {
            if lazy_due {
                storage.sync()?;
            }
            None
        }
    };
    let synced = proof.is_some() || lazy_due;
    let mut proofs: Vec<Option<Persisted>> = written
        .into_iter()
        .map(|w| match (w, &proof) {
            (Some(w), Some(p)) => Some(w.covered_by(p)),
            _ => None,
        })
        .collect();
    if let (Some(i), Some(p)) = (last, proof) {
        proofs[i] = Some(p);
    }
    Ok((synced, proofs))
}
