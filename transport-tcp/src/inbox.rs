//! An inbox that is filled in after the transport starts.

use crate::Error;
use paxos_core::{Inbox, NodeId};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// An [`Inbox`] to hand to [`crate::TcpTransport::start`] when the real
/// inbox exists only later: a `paxos_actors` node needs its transport to be
/// built, and only then offers `node.inbox()`. Messages that arrive before
/// [`LateInbox::set`] are dropped and counted (Paxos treats them as loss).
pub struct LateInbox<M> {
    inner: OnceLock<Arc<dyn Inbox<M>>>,
    dropped: AtomicU64,
}

impl<M> LateInbox<M> {
    /// An inbox with nothing behind it yet.
    pub fn new() -> Self {
        LateInbox {
            inner: OnceLock::new(),
            dropped: AtomicU64::new(0),
        }
    }

    /// Routes every later message to `inbox`; only the first call succeeds.
    pub fn set(&self, inbox: Arc<dyn Inbox<M>>) -> Result<(), Error> {
        self.inner.set(inbox).map_err(|_| Error::InboxAlreadySet)
    }

    /// Messages dropped because they arrived before [`LateInbox::set`].
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl<M> Default for LateInbox<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M> Inbox<M> for LateInbox<M> {
    fn deliver(&self, from: NodeId, msg: M) {
        match self.inner.get() {
            Some(inbox) => inbox.deliver(from, msg),
            None => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Collect(Mutex<Vec<(NodeId, u32)>>);
    impl Inbox<u32> for Collect {
        fn deliver(&self, from: NodeId, msg: u32) {
            self.0.lock().unwrap().push((from, msg));
        }
    }

    #[test]
    fn a_late_inbox_drops_until_set_then_forwards_and_is_set_once() {
        let late = LateInbox::new();
        late.deliver(NodeId(1), 1);
        assert_eq!(late.dropped(), 1);
        let inner = Arc::new(Collect(Mutex::new(Vec::new())));
        late.set(inner.clone()).unwrap();
        late.deliver(NodeId(2), 2);
        assert_eq!(*inner.0.lock().unwrap(), vec![(NodeId(2), 2)]);
        assert!(matches!(late.set(inner), Err(Error::InboxAlreadySet)));
    }
}
