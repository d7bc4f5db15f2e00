//! Shared helpers: channel inboxes, clusters on ephemeral ports, deadlines.

use paxos_core::multi::Message;
use paxos_core::{Ballot, ClientId, Command, Inbox, NodeId, Slot, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use transport_tcp::{StatsSnapshot, TcpConfig, TcpTransport};

/// Failure deadline for anything a test waits on.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Cluster id used by every test cluster.
pub const CLUSTER: u64 = 42;

/// A small message type of our own, to show the transport is generic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TestMsg {
    /// A numbered ping.
    Ping(u64),
    /// Some bytes.
    Blob(Vec<u8>),
}

/// An inbox that forwards to a channel the test reads.
pub struct ChanInbox<M>(pub mpsc::UnboundedSender<(NodeId, M)>);

impl<M: Send> Inbox<M> for ChanInbox<M> {
    fn deliver(&self, from: NodeId, msg: M) {
        let _ = self.0.send((from, msg));
    }
}

/// A channel inbox and the receiver to read it with.
pub fn chan<M: Send + 'static>() -> (Arc<dyn Inbox<M>>, mpsc::UnboundedReceiver<(NodeId, M)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Arc::new(ChanInbox(tx)), rx)
}

/// Initializes logging once (`RUST_LOG` controls it; silent by default).
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Awaits `f`, failing the test if it takes longer than [`DEADLINE`].
pub async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, f)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// The next message on an inbox channel.
pub async fn recv<M>(rx: &mut mpsc::UnboundedReceiver<(NodeId, M)>) -> (NodeId, M) {
    within("a message", rx.recv())
        .await
        .expect("inbox channel closed")
}

/// Waits until `t`'s counters satisfy `pred`.
pub async fn stats_until<M>(
    t: &TcpTransport<M>,
    what: &str,
    pred: impl Fn(&StatsSnapshot) -> bool,
) -> StatsSnapshot {
    within(what, t.wait_stats(pred)).await
}

/// A config with fast reconnects, for tests.
pub fn config(me: NodeId, peers: &BTreeMap<NodeId, std::net::SocketAddr>) -> TcpConfig {
    let mut c = TcpConfig::new(CLUSTER, me, peers[&me], peers.clone());
    c.reconnect_min = Duration::from_millis(5);
    c.reconnect_max = Duration::from_millis(50);
    c
}

/// A running node and what its inbox received.
pub struct Node<M> {
    pub id: NodeId,
    pub t: TcpTransport<M>,
    pub rx: mpsc::UnboundedReceiver<(NodeId, M)>,
}

/// Binds `n` listeners (ids 1..=n) on ephemeral ports and returns them
/// with the address map every config shares.
pub async fn bind(n: u64) -> (Vec<TcpListener>, BTreeMap<NodeId, std::net::SocketAddr>) {
    let mut listeners = Vec::new();
    let mut peers = BTreeMap::new();
    for i in 1..=n {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        peers.insert(NodeId(i), l.local_addr().unwrap());
        listeners.push(l);
    }
    (listeners, peers)
}

/// `n` nodes that all know each other; `tweak` adjusts every config.
pub async fn cluster<M>(n: u64, tweak: impl Fn(&mut TcpConfig)) -> Vec<Node<M>>
where
    M: Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    logs();
    let (listeners, peers) = bind(n).await;
    let mut nodes = Vec::new();
    for (l, id) in listeners.into_iter().zip(peers.keys().copied()) {
        let mut c = config(id, &peers);
        tweak(&mut c);
        let (inbox, rx) = chan();
        let t = TcpTransport::start_on(c, l, inbox).unwrap();
        nodes.push(Node { id, t, rx });
    }
    nodes
}

/// One of each Multi-Paxos message, with payloads that differ per `tag`.
pub fn paxos_messages(tag: u64) -> Vec<Message> {
    let ballot = Ballot {
        round: tag,
        node: NodeId(tag % 5),
    };
    let cmd = Value::from(Command {
        client: ClientId(tag),
        seq: tag.wrapping_mul(10),
        payload: format!("cmd-{tag}").into_bytes().into(),
    });
    vec![
        Message::Prepare {
            ballot,
            first_slot: Slot(tag),
        },
        Message::Promise {
            ballot,
            first_slot: Slot(tag),
            accepted: vec![
                (Slot(tag), ballot, cmd.clone()),
                (Slot(tag.wrapping_add(1)), ballot, Value::Noop),
            ],
            part: 0,
            parts: 1,
        },
        Message::Accept {
            ballot,
            entries: vec![(Slot(tag), cmd.clone())],
        },
        Message::Accepted {
            ballot,
            slots: vec![Slot(tag), Slot(tag.wrapping_add(1))],
        },
        Message::Nack {
            ballot,
            promised: Ballot {
                round: tag.wrapping_add(1),
                node: NodeId(1),
            },
        },
        Message::Decide {
            entries: vec![(Slot(tag), cmd)],
        },
        Message::Heartbeat {
            ballot,
            commit: Slot(tag),
        },
        Message::CatchUp { from: Slot(tag) },
        Message::Forward {
            commands: vec![Command {
                client: ClientId(9),
                seq: 1,
                payload: vec![0, 1, 2, 255].into(),
            }],
        },
    ]
}

/// A raw client speaking (or abusing) the wire protocol by hand.
pub mod raw {
    use super::within;
    use bytes::BytesMut;
    use paxos_core::NodeId;
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use transport_tcp::frame::{put_frame, Hello, HelloReply, REPLY_LEN};

    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> TcpStream {
        within("connect", TcpStream::connect(addr)).await.unwrap()
    }

    /// Sends `hello` framed and reads the reply frame.
    pub async fn hello(s: &mut TcpStream, hello: Hello) -> HelloReply {
        let mut buf = BytesMut::new();
        put_frame(&mut buf, &hello.encode());
        s.write_all(&buf).await.unwrap();
        let len = within("reply length", s.read_u32()).await.unwrap();
        assert_eq!(len as usize, REPLY_LEN);
        let mut payload = [0u8; REPLY_LEN];
        within("reply", s.read_exact(&mut payload)).await.unwrap();
        HelloReply::decode(&payload).unwrap()
    }

    /// A connection that passed the handshake as `node` of `cluster`.
    pub async fn accepted(addr: SocketAddr, cluster: u64, node: NodeId) -> TcpStream {
        let mut s = connect(addr).await;
        let reply = hello(&mut s, Hello::new(cluster, node)).await;
        assert_eq!(reply.verdict, transport_tcp::frame::Verdict::Accept);
        s
    }

    /// Reads until the peer closes (EOF) or resets the connection; fails
    /// the test if it stays open past the deadline.
    pub async fn closed_by_peer(s: &mut TcpStream) {
        let mut sink = Vec::new();
        let _ = within("the connection to be closed", s.read_to_end(&mut sink)).await;
    }
}

/// Captures formatted log lines of the current thread while alive.
pub struct LogCapture {
    buf: Arc<std::sync::Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

struct CaptureWriter(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    /// Starts capturing warnings (current-thread runtimes run every task
    /// on this thread, so transport tasks' lines are caught too).
    pub fn warnings() -> Self {
        let buf = Arc::new(std::sync::Mutex::new(Vec::new()));
        let b = buf.clone();
        let sub = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || CaptureWriter(b.clone()))
            .finish();
        LogCapture {
            buf,
            _guard: tracing::subscriber::set_default(sub),
        }
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap()).into_owned()
    }
}
