//! The Redis-protocol front end: parses pipelined requests, answers the
//! local ones (PING, INFO, CONFIG GET, COMMAND, ...) itself, and sends each
//! run of data commands through the log as one batch.

use crate::resp::{self, Reply};
use crate::store::{self, Op, Store};
use paxos_actors::{Client, Error, Node};
use paxos_core::multi::Status;
use paxos_core::ClientId;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Most commands sent through the log as one batch.
pub const BATCH_OPS_MAX: usize = 1024;
/// Most key and value bytes in one batch (one log entry).
pub const BATCH_BYTES_MAX: usize = 1024 * 1024;
/// Bytes read from a connection at a time.
const READ_CHUNK: usize = 64 * 1024;

/// How a connection's client waits: each attempt, then how many attempts.
/// Together they bound how long a node without a quorum takes to answer
/// with an error (about 2 s).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(400);
/// See [`ATTEMPT_TIMEOUT`].
pub const ATTEMPTS_MAX: u32 = 5;

/// Accepts connections until the listener fails.
pub async fn serve(listener: TcpListener, node: Arc<Node<Store>>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let node = node.clone();
                actix_rt::spawn(async move {
                    if let Err(e) = connection(stream, &node).await {
                        tracing::debug!(%peer, error = %e, "connection closed");
                    }
                });
            }
            Err(e) => {
                tracing::error!(error = %e, "listener failed");
                return;
            }
        }
    }
}

/// A request, sorted by where it is answered.
enum Request {
    /// Through the log.
    Data(Op),
    /// Here, at once.
    Local(Reply),
    /// Here, then close the connection.
    Quit,
}

async fn connection(mut stream: TcpStream, node: &Node<Store>) -> std::io::Result<()> {
    let mut client = match node.client(ClientId(rand::random::<u64>())) {
        Ok(c) => c,
        Err(e) => {
            let mut out = Vec::new();
            Reply::err(e).encode(&mut out);
            return stream.write_all(&out).await;
        }
    };
    client.timeout = ATTEMPT_TIMEOUT;
    client.attempts_max = ATTEMPTS_MAX;
    client.backoff = Duration::from_millis(20);
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut out: Vec<u8> = Vec::new();
    loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        // Take every complete request now in the buffer.
        let mut requests = Vec::new();
        let mut used = 0;
        let mut broken = None;
        loop {
            match resp::parse(&buf[used..]) {
                Ok(Some((args, len))) => {
                    used += len;
                    if !args.is_empty() {
                        requests.push(classify(&args, node).await);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    broken = Some(e);
                    break;
                }
            }
        }
        buf.drain(..used);
        out.clear();
        let quit = answer(requests, &mut client, &mut out).await;
        if let Some(e) = &broken {
            Reply::Error(e.to_string()).encode(&mut out);
        }
        stream.write_all(&out).await?;
        if quit || broken.is_some() {
            return Ok(());
        }
    }
}

/// Answers `requests` in order, sending runs of data commands as batches.
/// Returns whether the connection should close.
async fn answer(requests: Vec<Request>, client: &mut Client, out: &mut Vec<u8>) -> bool {
    let mut batch: Vec<Op> = Vec::new();
    let mut bytes = 0;
    for request in requests {
        match request {
            Request::Data(op) => {
                let size = op_bytes(&op);
                if bytes + size > BATCH_BYTES_MAX {
                    run(std::mem::take(&mut batch), client, out).await;
                    bytes = 0;
                }
                batch.push(op);
                bytes += size;
                if batch.len() >= BATCH_OPS_MAX {
                    run(std::mem::take(&mut batch), client, out).await;
                    bytes = 0;
                }
            }
            Request::Local(reply) => {
                run(std::mem::take(&mut batch), client, out).await;
                bytes = 0;
                reply.encode(out);
            }
            Request::Quit => {
                run(std::mem::take(&mut batch), client, out).await;
                Reply::Simple("OK".into()).encode(out);
                return true;
            }
        }
    }
    run(batch, client, out).await;
    false
}

fn op_bytes(op: &Op) -> usize {
    match op {
        Op::Get(k) | Op::Incr(k) => k.len(),
        Op::Set(k, v) => k.len() + v.len(),
        Op::Del(keys) => keys.iter().map(|k| k.len()).sum(),
        Op::Cas(k, e, n) => k.len() + e.len() + n.len(),
    }
}

async fn run(batch: Vec<Op>, client: &mut Client, out: &mut Vec<u8>) {
    if batch.is_empty() {
        return;
    }
    let n = batch.len();
    match client.propose(store::encode(&batch)).await {
        // The store answers a batch with its replies, concatenated.
        Ok(replies) => out.extend_from_slice(&replies),
        Err(e) => {
            let msg = match e {
                Error::Timeout { .. } | Error::NotLeader { .. } => {
                    // Not a definite failure: the command may still be
                    // chosen later (say, re-proposed after a partition heals).
                    format!(
                        "NOQUORUM no quorum reachable; outcome unknown, the command may still be applied ({e})"
                    )
                }
                other => format!("ERR {other}"),
            };
            for _ in 0..n {
                Reply::Error(msg.clone()).encode(out);
            }
        }
    }
}

fn arity_error(name: &str) -> Request {
    Request::Local(Reply::err(format!(
        "wrong number of arguments for '{}' command",
        name.to_ascii_lowercase()
    )))
}

async fn classify(args: &[Vec<u8>], node: &Node<Store>) -> Request {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
    let rest = &args[1..];
    match (name.as_str(), rest.len()) {
        ("GET", 1) => Request::Data(Op::Get(rest[0].clone())),
        ("SET", 2) => Request::Data(Op::Set(rest[0].clone(), rest[1].clone())),
        ("DEL", n) if n >= 1 => Request::Data(Op::Del(
            rest.iter()
                .cloned()
                .map(serde_bytes::ByteBuf::from)
                .collect(),
        )),
        ("INCR", 1) => Request::Data(Op::Incr(rest[0].clone())),
        ("CAS", 3) => Request::Data(Op::Cas(rest[0].clone(), rest[1].clone(), rest[2].clone())),
        ("PING", 0) => Request::Local(Reply::Simple("PONG".into())),
        ("PING", 1) => Request::Local(Reply::Bulk(rest[0].clone())),
        ("ECHO", 1) => Request::Local(Reply::Bulk(rest[0].clone())),
        ("QUIT", _) => Request::Quit,
        ("SELECT", 1) if rest[0] == b"0" => Request::Local(Reply::Simple("OK".into())),
        ("SELECT", 1) => Request::Local(Reply::err("DB index is out of range")),
        ("CLIENT", n) if n >= 1 => Request::Local(Reply::Simple("OK".into())),
        ("CONFIG", 2) if rest[0].eq_ignore_ascii_case(b"GET") => {
            Request::Local(config_get(&rest[1]))
        }
        ("COMMAND", _) => Request::Local(Reply::Array(Vec::new())),
        ("INFO", 0 | 1) => Request::Local(Reply::Bulk(info(node).await.into_bytes())),
        (
            "GET" | "SET" | "DEL" | "INCR" | "CAS" | "PING" | "ECHO" | "SELECT" | "CLIENT"
            | "CONFIG" | "INFO",
            _,
        ) => arity_error(&name),
        _ => Request::Local(Reply::err(format!(
            "unknown command '{}'",
            String::from_utf8_lossy(&args[0])
        ))),
    }
}

/// `CONFIG GET` for the parameters Redis tools ask about.
fn config_get(pattern: &[u8]) -> Reply {
    let known: [(&str, &str); 3] = [("save", ""), ("appendonly", "yes"), ("databases", "1")];
    let pattern = String::from_utf8_lossy(pattern).to_ascii_lowercase();
    let mut items = Vec::new();
    for (k, v) in known {
        if pattern == "*" || pattern == k {
            items.push(Reply::Bulk(k.as_bytes().to_vec()));
            items.push(Reply::Bulk(v.as_bytes().to_vec()));
        }
    }
    Reply::Array(items)
}

/// `INFO`: a Redis-style server section, and this node's Paxos state.
pub async fn info(node: &Node<Store>) -> String {
    let (role, ballot, leader, commit) = match node.status().await {
        Ok(s) => match s.status {
            Status::Leader { ballot } => (
                "leader",
                ballot.to_string(),
                node.id().0.to_string(),
                s.commit.0,
            ),
            Status::Candidate { ballot } => {
                ("candidate", ballot.to_string(), "-".into(), s.commit.0)
            }
            Status::Follower { leader } => (
                "follower",
                "-".into(),
                leader.map_or("-".into(), |l| l.0.to_string()),
                s.commit.0,
            ),
        },
        Err(_) => ("stopped", "-".into(), "-".into(), 0),
    };
    let applied = node.read(|s| s.applied()).await.unwrap_or(0);
    format!(
        "# Server\r\nredis_version:7.0.0-paxos-kv\r\nredis_mode:standalone\r\n\
         \r\n# Paxos\r\nnode_id:{}\r\npaxos_role:{role}\r\npaxos_leader:{leader}\r\n\
         paxos_ballot:{ballot}\r\npaxos_commit:{commit}\r\npaxos_applied:{applied}\r\n",
        node.id().0
    )
}
