//! [`FailingStorage`]: any storage, made to fail on a chosen call, to test
//! that the layers above stop instead of replying.

use crate::error::Error;
use paxos_core::{DurableState, Record, Storage};

/// Wraps a [`Storage`] and fails the `n`-th `append` or `sync` (counting
/// from 1), and every call after it, as a dying disk would. A failed call
/// does not reach the inner storage, so what was synced before it is
/// exactly what [`FailingStorage::into_inner`] still holds.
///
/// ```
/// use paxos_core::{MemStorage, Record, Storage};
/// use storage_file::{Error, FailingStorage};
///
/// let mut s = FailingStorage::new(MemStorage::new()).fail_sync(2);
/// s.append(&[Record::Round(1)]).unwrap();
/// s.sync().unwrap();
/// s.append(&[Record::Round(2)]).unwrap();
/// assert!(matches!(s.sync(), Err(Error::Injected { call: "sync", n: 2 })));
/// assert!(s.append(&[Record::Round(3)]).is_err()); // and every call after
/// assert_eq!(s.into_inner().load().unwrap().round, 1);
/// ```
#[derive(Clone, Debug)]
pub struct FailingStorage<S> {
    inner: S,
    fail_append: Option<u64>,
    fail_sync: Option<u64>,
    appends: u64,
    syncs: u64,
    /// The first injected failure: (call, n).
    failed: Option<(&'static str, u64)>,
}

impl<S: Storage> FailingStorage<S> {
    /// Wraps `inner`; it fails nothing until told to.
    pub fn new(inner: S) -> Self {
        FailingStorage {
            inner,
            fail_append: None,
            fail_sync: None,
            appends: 0,
            syncs: 0,
            failed: None,
        }
    }

    /// Fails the `n`-th call to `append` (from 1) and every call after it.
    pub fn fail_append(mut self, n: u64) -> Self {
        self.fail_append = Some(n);
        self
    }

    /// Fails the `n`-th call to `sync` (from 1) and every call after it.
    pub fn fail_sync(mut self, n: u64) -> Self {
        self.fail_sync = Some(n);
        self
    }

    /// Whether an injected failure has happened.
    pub fn has_failed(&self) -> bool {
        self.failed.is_some()
    }

    /// The wrapped storage.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Unwraps the storage, e.g. to see what survived.
    pub fn into_inner(self) -> S {
        self.inner
    }

    fn check(&self) -> Result<(), Error> {
        match self.failed {
            Some((call, n)) => Err(Error::Injected { call, n }),
            None => Ok(()),
        }
    }

    /// Fails call number `n` of `call` if it is the chosen one.
    fn trip(&mut self, call: &'static str, n: u64, fail_at: Option<u64>) -> Result<(), Error> {
        if fail_at == Some(n) {
            self.failed = Some((call, n));
        }
        self.check()
    }
}

fn inner_err(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Inner(Box::new(e))
}

impl<S: Storage> Storage for FailingStorage<S> {
    type Error = Error;

    fn load(&mut self) -> Result<DurableState, Error> {
        self.check()?;
        self.inner.load().map_err(inner_err)
    }

    fn append(&mut self, records: &[Record]) -> Result<(), Error> {
        self.check()?;
        self.appends += 1;
        self.trip("append", self.appends, self.fail_append)?;
        self.inner.append(records).map_err(inner_err)
    }

    fn sync(&mut self) -> Result<(), Error> {
        self.check()?;
        self.syncs += 1;
        self.trip("sync", self.syncs, self.fail_sync)?;
        self.inner.sync().map_err(inner_err)
    }

    fn blocks(&self) -> bool {
        self.inner.blocks()
    }
}
