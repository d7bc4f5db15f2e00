//! The client API: propose a command, get the state machine's result once
//! it is decided and applied.

use crate::error::Error;
use crate::shared::{Mailbox, NodeShared};
use crate::submit::SubmitQueue;
use paxos_core::client::{Attempts, RetryPolicy, Router, Target};
use paxos_core::multi::Message;
use paxos_core::{Bytes, ClientId, Command};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// Submits commands and waits for their results.
///
/// Each client numbers its commands 1, 2, 3, … and has at most one in
/// flight; a retry reuses the number, so the cluster applies it at most
/// once and answers the retry with the first result. Run several clients
/// for concurrency. A `ClientId` must never be reused by another client,
/// not even after a restart (the cluster would take its commands for
/// retries of old ones). A node refuses a second live client with the same
/// id ([`Error::ClientIdInUse`]); it cannot see ids used on other nodes or
/// in the past.
///
/// Where a proposal reaches a follower, the follower **forwards** it to the
/// leader it knows. If it knows none (an election is running), the attempt
/// fails with [`Error::NotLeader`] carrying the best leader hint, and
/// `propose` retries after a back-off; it gives up after
/// `timeout × attempts_max` in all, with [`Error::Timeout`] (or the last
/// `NotLeader`). It never hangs.
pub struct Client {
    id: ClientId,
    seq: u64,
    shared: Arc<NodeShared>,
    mailbox: Arc<Mailbox>,
    proposer: Submit,
    retries: u64,
    /// How long one attempt waits for a result.
    pub timeout: Duration,
    /// With `timeout`, bounds the whole wait: `timeout × attempts_max`.
    pub attempts_max: u32,
    /// First wait before retrying after a `NotLeader` answer (doubles up
    /// to `timeout`).
    pub backoff: Duration,
    /// One timer for every attempt, with the runtime it belongs to. A new
    /// timer per attempt was registered and removed each time (about 5% of
    /// the in-memory benchmark).
    timer: Option<(tokio::runtime::Id, Pin<Box<Sleep>>)>,
}

/// Where a client's commands go.
pub(crate) enum Submit {
    /// A proposer in this process.
    Local(Arc<SubmitQueue>),
    /// Proposers on other nodes, reached with `Forward` messages over the
    /// node's transport; the core's router picks each attempt's.
    Remote(Router),
}

impl Client {
    /// Registers `id` on the node; fails if a live client there has it.
    pub(crate) fn new(
        id: ClientId,
        shared: Arc<NodeShared>,
        proposer: Submit,
    ) -> Result<Self, Error> {
        let mailbox = shared.register(id)?;
        Ok(Client {
            id,
            seq: 0,
            shared,
            mailbox,
            proposer,
            retries: 0,
            timeout: Duration::from_millis(500),
            attempts_max: 10,
            backoff: Duration::from_millis(20),
            timer: None,
        })
    }

    /// `timer`, due no later than `deadline`. One left due earlier by a
    /// previous command stays as it is: it fires early, and `attempt`
    /// then moves it on, so most commands do not touch the timer at all.
    /// A timer made under another runtime (which may have shut down) is
    /// replaced.
    fn arm(
        timer: &mut Option<(tokio::runtime::Id, Pin<Box<Sleep>>)>,
        deadline: Instant,
    ) -> Pin<&mut Sleep> {
        let runtime = tokio::runtime::Handle::current().id();
        if timer.as_ref().is_some_and(|(id, _)| *id != runtime) {
            *timer = None;
        }
        let (_, timer) =
            timer.get_or_insert_with(|| (runtime, Box::pin(tokio::time::sleep_until(deadline))));
        if timer.deadline() > deadline {
            timer.as_mut().reset(deadline);
        }
        timer.as_mut()
    }

    /// This client's id.
    pub fn id(&self) -> ClientId {
        self.id
    }

    /// Attempts beyond the first, over all commands so far.
    pub fn retries(&self) -> u64 {
        self.retries
    }

    /// One attempt at `command`: arms the mailbox, submits, then waits
    /// for the result until `deadline`.
    async fn attempt(
        &mut self,
        command: &Arc<Command>,
        attempt: u32,
        deadline: Instant,
    ) -> Attempt {
        let Client {
            mailbox,
            timer,
            proposer,
            shared,
            ..
        } = self;
        let mut timer = Self::arm(timer, deadline);
        let mut sent = false;
        poll_fn(|cx| {
            if let Poll::Ready(r) = mailbox.poll_result(command.seq, cx) {
                return Poll::Ready(Attempt::Result(r));
            }
            // A node stopped before the mailbox was armed delivered nothing
            // to it; the flag is set before `stop` delivers, so one of the
            // two is seen.
            if shared.stopped() {
                return Poll::Ready(Attempt::Result(Err(Error::Stopped)));
            }
            // Submitted only once the mailbox is armed, so no result can
            // come before it is awaited.
            if !std::mem::replace(&mut sent, true) {
                if let Err(e) = submit(proposer, shared, command, attempt) {
                    return Poll::Ready(Attempt::Refused(e));
                }
            }
            while timer.as_mut().poll(cx).is_ready() {
                if timer.deadline() >= deadline {
                    return Poll::Ready(Attempt::TimedOut);
                }
                // Due early (armed for an earlier command): move it on.
                timer.as_mut().reset(deadline);
            }
            Poll::Pending
        })
        .await
    }

    /// Proposes `payload` and returns the state machine's result once the
    /// command is decided and applied.
    ///
    /// Gives up after `timeout × attempts_max` in all. An attempt ends when
    /// `timeout` passes without a result, or early with `NotLeader` (no
    /// leader known yet); after an early end the client backs off, doubling
    /// from `backoff` up to `timeout`, so an election in progress does not
    /// use up the attempts.
    /// `payload` is anything that turns into [`paxos_core::Bytes`]; a
    /// `Vec<u8>` does so without copying.
    pub async fn propose(&mut self, payload: impl Into<Bytes>) -> Result<Vec<u8>, Error> {
        self.seq += 1;
        // Shared with the proposer, which logs it as is: one allocation,
        // and the payload is never copied or re-counted.
        let command = Arc::new(Command {
            client: self.id,
            seq: self.seq,
            payload: payload.into(),
        });
        // The core's retry rules, on a clock of microseconds since `start`.
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let policy = RetryPolicy {
            timeout: micros(self.timeout),
            attempts_max: self.attempts_max,
            backoff: micros(self.backoff),
        };
        let start = tokio::time::Instant::now();
        let at = |t: u64| start + Duration::from_micros(t);
        let mut attempts = Attempts::start(policy, 0);
        let mut last = Error::Timeout { attempts: 0 };
        // The first attempt reuses `start`: one clock read fewer per command.
        let mut now = 0;
        loop {
            if self.shared.stopped() {
                return Err(Error::Stopped);
            }
            let Some(attempt) = attempts.next(now) else {
                break;
            };
            if attempt.number > 1 {
                self.retries += 1;
            }
            let early = match self
                .attempt(&command, attempt.number, at(attempt.until))
                .await
            {
                Attempt::Result(Ok(result)) => return Ok(result),
                Attempt::Result(Err(Error::Stopped)) => return Err(Error::Stopped),
                Attempt::Result(Err(e)) | Attempt::Refused(e) => Some(e),
                Attempt::TimedOut => {
                    last = Error::Timeout {
                        attempts: attempt.number,
                    };
                    None
                }
            };
            if let Some(e) = early {
                last = e;
                let resume = attempts.refused(micros(start.elapsed()));
                tokio::time::sleep_until(at(resume)).await;
            }
            now = micros(start.elapsed());
        }
        let attempt = attempts.made();
        self.mailbox.cancel();
        Err(match last {
            Error::Timeout { .. } => Error::Timeout { attempts: attempt },
            other => other,
        })
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.shared.unregister(self.id, &self.mailbox);
    }
}

/// How one attempt ended.
enum Attempt {
    /// The cluster answered (or the node stopped).
    Result(Result<Vec<u8>, Error>),
    /// The command could not be submitted.
    Refused(Error),
    /// No answer before the attempt's deadline.
    TimedOut,
}

/// Hands `command` to the proposer `to` names.
fn submit(
    to: &mut Submit,
    shared: &NodeShared,
    command: &Arc<Command>,
    attempt: u32,
) -> Result<(), Error> {
    match to {
        Submit::Local(queue) => queue.submit(command.clone()),
        Submit::Remote(router) => {
            // Start with the leader this node heard of, if any.
            let to = match router.pick(attempt, shared.leader_hint()) {
                Some(Target::Remote(to)) => to,
                Some(Target::Local) | None => return Err(Error::NotLeader { leader: None }),
            };
            let forward = Message::Forward {
                commands: vec![Command::clone(command)],
            };
            shared.outbox.post(to, forward);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    //! The client against a bare node: a test plays the proposer and the
    //! replica, answering forwarded commands by hand. Time is paused where
    //! timing is checked, so attempts end exactly at their deadlines.

    use super::*;
    use crate::io::Outbox;
    use crate::metrics::Metrics;
    use paxos_core::NodeId;
    use std::sync::{mpsc, Mutex};

    /// Hands every forwarded command to the test.
    struct Forwards(Mutex<mpsc::Sender<Command>>);

    impl Outbox for Forwards {
        fn post(&self, _to: NodeId, msg: Message) {
            if let Message::Forward { commands } = msg {
                for c in commands {
                    let _ = self.0.lock().unwrap().send(c);
                }
            }
        }
    }

    fn node() -> (Arc<NodeShared>, mpsc::Receiver<Command>) {
        let (tx, rx) = mpsc::channel();
        let outbox = Arc::new(Forwards(Mutex::new(tx)));
        let shared = NodeShared::new(NodeId(1), outbox, Arc::new(Metrics::default()));
        (shared, rx)
    }

    fn client(shared: &Arc<NodeShared>, id: u64) -> Client {
        let submit = Submit::Remote(Router::remote(vec![NodeId(2)]));
        Client::new(ClientId(id), shared.clone(), submit).unwrap()
    }

    /// Polls `f` once.
    async fn poll_once<F: Future + Unpin>(f: &mut F) -> Option<F::Output> {
        poll_fn(|cx| match Pin::new(&mut *f).poll(cx) {
            Poll::Ready(v) => Poll::Ready(Some(v)),
            Poll::Pending => Poll::Ready(None),
        })
        .await
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_end_exactly_at_their_deadlines_whatever_timer_is_left() {
        let (shared, rx) = node();
        let mut c = client(&shared, 1);
        assert_eq!(timed_out(&mut c, 100, 3).await, Duration::from_millis(300));
        while rx.try_recv().is_ok() {}
        // Answered at once: the timer is left due 100 ms on.
        let sh = shared.clone();
        let answer = tokio::spawn(async move {
            loop {
                if let Ok(cmd) = rx.try_recv() {
                    sh.resolve(cmd.client, cmd.seq, Ok(b"ok".to_vec()));
                    return rx;
                }
                tokio::task::yield_now().await;
            }
        });
        assert_eq!(c.propose(vec![2]).await, Ok(b"ok".to_vec()));
        let _rx = answer.await.unwrap();
        tokio::time::advance(Duration::from_millis(30)).await;
        let early_timer_moved_on = timed_out(&mut c, 250, 1).await;
        assert_eq!(early_timer_moved_on, Duration::from_millis(250));
        let late_timer_brought_forward = timed_out(&mut c, 10, 1).await;
        assert_eq!(late_timer_brought_forward, Duration::from_millis(10));
    }

    /// Proposes with `attempts` of `ms` each, nobody answering; returns how
    /// long it took to time out.
    async fn timed_out(c: &mut Client, ms: u64, attempts: u32) -> Duration {
        c.timeout = Duration::from_millis(ms);
        c.attempts_max = attempts;
        let t = Instant::now();
        assert_eq!(c.propose(vec![0]).await, Err(Error::Timeout { attempts }));
        t.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn a_result_arriving_between_attempts_is_kept_for_the_retry() {
        let (shared, rx) = node();
        let mut c = client(&shared, 1);
        c.timeout = Duration::from_millis(100);
        c.attempts_max = 5;
        {
            let fut = c.propose(vec![1]);
            tokio::pin!(fut);
            assert!(poll_once(&mut fut).await.is_none());
            let cmd = rx.try_recv().unwrap();
            tokio::time::advance(Duration::from_millis(100)).await;
            assert!(poll_once(&mut fut).await.is_none(), "attempt 2 waits");
            assert!(rx.try_recv().is_ok(), "attempt 2 resubmitted");
            shared.resolve(cmd.client, cmd.seq, Ok(b"r".to_vec()));
            assert_eq!(fut.await, Ok(b"r".to_vec()));
        }
        assert_eq!(c.retries(), 1);
    }

    /// Answers from another thread, each with a wrong-seq reply before and
    /// a duplicate after: every command gets its own result, none waits
    /// for a timeout (no lost wake-up).
    #[test]
    fn answers_from_another_thread_are_never_lost_or_mixed_up() {
        const COMMANDS: u64 = 20_000;
        let (shared, rx) = node();
        let sh = shared.clone();
        let server = std::thread::spawn(move || {
            for cmd in rx.iter().take(COMMANDS as usize) {
                sh.resolve(cmd.client, cmd.seq + 1, Ok(b"wrong".to_vec()));
                sh.resolve_many(vec![(cmd.client, cmd.seq, cmd.seq.to_le_bytes().to_vec())]);
                sh.resolve(cmd.client, cmd.seq, Ok(b"late".to_vec()));
            }
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut c = client(&shared, 9);
            c.timeout = Duration::from_secs(30);
            for i in 1..=COMMANDS {
                assert_eq!(c.propose(vec![0]).await, Ok(i.to_le_bytes().to_vec()));
            }
            assert_eq!(c.retries(), 0);
        });
        server.join().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn stopping_the_node_fails_a_waiting_client_at_once() {
        let (shared, _rx) = node();
        let mut c = client(&shared, 1);
        let fut = c.propose(vec![1]);
        tokio::pin!(fut);
        assert!(poll_once(&mut fut).await.is_none());
        shared.stop();
        let t = Instant::now();
        assert_eq!(fut.await, Err(Error::Stopped));
        assert_eq!(t.elapsed(), Duration::ZERO);
    }

    #[test]
    fn a_client_and_its_proposals_can_move_between_threads() {
        fn send_sync<T: Send + Sync + Unpin + 'static>() {}
        fn send<F: Future + Send>(_: F) {}
        send_sync::<Client>();
        let (shared, _rx) = node();
        let mut c = client(&shared, 1);
        send(c.propose(vec![1]));
    }
}
