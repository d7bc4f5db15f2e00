//! The client port: a line protocol, one command per line, one reply line
//! per command, in order (so pipelining works).
//!
//! Commands: `SET key value`, `GET key`, `INCR key`, `DEL key` go through
//! the log (reads too, so they are linearizable); `PING`; `STATUS` (this
//! node's role, leader, ballot, commit point); `STATS` (commands applied and
//! storage syncs). Replies start with `+` on success and `-` on error.
//!
//! The state machine is `paxos-kv`'s [`Store`]; its RESP replies are
//! relayed as lines.

use paxos_actors::{Client, Error, Node};
use paxos_core::multi::Status;
use paxos_core::ClientId;
use paxos_host::stats::Stats;
use paxos_kvstore::{encode, Op, Reply, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Longest request line accepted; a longer one closes the connection.
pub const LINE_LEN_MAX: usize = 64 * 1024;

/// Accepts client connections until the listener fails.
///
/// With `proposers`, this node has no proposer of its own: clients forward
/// their commands to those nodes over the transport.
pub async fn serve(
    listener: TcpListener,
    node: Arc<Node<Store>>,
    stats: Arc<Stats>,
    proposers: Option<Vec<paxos_core::NodeId>>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let id = ClientId(rand::random::<u64>());
                let client = match &proposers {
                    Some(p) => node.remote_client(id, p.clone()),
                    None => node.client(id),
                };
                let client = match client {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(%peer, error = %e, "refusing client");
                        continue;
                    }
                };
                let (node, stats) = (node.clone(), stats.clone());
                actix_rt::spawn(async move {
                    if let Err(e) = connection(stream, client, &node, &stats).await {
                        tracing::debug!(%peer, error = %e, "client connection closed");
                    }
                });
            }
            Err(e) => {
                tracing::error!(error = %e, "client listener failed");
                return;
            }
        }
    }
}

async fn connection(
    stream: TcpStream,
    mut client: Client,
    node: &Node<Store>,
    stats: &Stats,
) -> std::io::Result<()> {
    // Bounded: a client that never reads its replies cannot grow memory
    // beyond one pending command and one reply.
    client.timeout = Duration::from_millis(500);
    client.attempts_max = 10;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut line = String::new();
    loop {
        line.clear();
        let n = (&mut lines)
            .take(LINE_LEN_MAX as u64 + 1)
            .read_line(&mut line)
            .await?;
        if n == 0 {
            return Ok(());
        }
        if n > LINE_LEN_MAX {
            write.write_all(b"-ERR line too long\n").await?;
            return Ok(());
        }
        let reply = answer(
            line.trim_end_matches(['\r', '\n']),
            &mut client,
            node,
            stats,
        )
        .await;
        let stop = reply.starts_with("-ERR stopped");
        write.write_all(reply.as_bytes()).await?;
        write.write_all(b"\n").await?;
        if stop {
            return Ok(());
        }
    }
}

async fn answer(line: &str, client: &mut Client, node: &Node<Store>, stats: &Stats) -> String {
    let mut words = line.splitn(3, ' ');
    let verb = words.next().unwrap_or("").to_ascii_uppercase();
    let key = words.next().map(|k| k.as_bytes().to_vec());
    let rest = words.next();
    let command = match (verb.as_str(), key, rest) {
        ("PING", None, None) => return "+PONG".into(),
        ("STATUS", None, None) => return status(node).await,
        ("STATS", None, None) => {
            return format!(
                "+applied={} syncs={}",
                node.read(|kv| kv.applied()).await.unwrap_or(0),
                stats.syncs()
            )
        }
        ("SET", Some(k), Some(v)) => Op::Set(k, v.as_bytes().to_vec()),
        ("GET", Some(k), None) => Op::Get(k),
        ("INCR", Some(k), None) => Op::Incr(k),
        ("DEL", Some(k), None) => Op::Del(vec![k.into()]),
        ("SET" | "GET" | "INCR" | "DEL" | "PING" | "STATUS" | "STATS", _, _) => {
            return format!("-ERR wrong number of arguments for {verb}")
        }
        _ => return format!("-ERR unknown command {verb:?}"),
    };
    match client.propose(encode(&[command])).await {
        Ok(result) => as_line(&result),
        Err(Error::Stopped) => "-ERR stopped".into(),
        Err(e) => format!("-ERR {e}"),
    }
}

/// A store reply as a line: `+` and the value, the integer or the status
/// (a missing value is empty); `-ERR ...` for an error. The only error a
/// line command can meet is INCR on a value that is not a number, which
/// this protocol has always called `ERR not a number`.
fn as_line(result: &[u8]) -> String {
    match Reply::decode(result) {
        Some((Reply::Simple(s), _)) => format!("+{s}"),
        Some((Reply::Integer(n), _)) => format!("+{n}"),
        Some((Reply::Bulk(v), _)) => format!("+{}", String::from_utf8_lossy(&v)),
        Some((Reply::Nil, _)) => "+".into(),
        Some((Reply::Error(_), _)) => "-ERR not a number".into(),
        Some((Reply::Array(_), _)) | None => "-ERR unexpected reply from the store".into(),
    }
}

async fn status(node: &Node<Store>) -> String {
    match node.status().await {
        Ok(s) => {
            let (role, ballot, leader) = match s.status {
                Status::Leader { ballot } => ("leader", Some(ballot), Some(node.id())),
                Status::Candidate { ballot } => ("candidate", Some(ballot), None),
                Status::Follower { leader } => ("follower", None, leader),
            };
            format!(
                "+id={} role={role} ballot={} leader={} commit={}",
                node.id().0,
                ballot.map_or("-".into(), |b| b.to_string()),
                leader.map_or("-".into(), |l| l.0.to_string()),
                s.commit.0
            )
        }
        Err(e) => format!("-ERR {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paxos_core::StateMachine;

    fn run(store: &mut Store, op: Op) -> String {
        as_line(&store.apply(&encode(&[op])))
    }

    #[test]
    fn store_replies_read_as_the_line_protocol_always_answered() {
        let mut s = Store::new();
        let k = || b"k".to_vec();
        assert_eq!(run(&mut s, Op::Get(k())), "+");
        assert_eq!(run(&mut s, Op::Incr(k())), "+1");
        assert_eq!(run(&mut s, Op::Set(k(), b"x y".to_vec())), "+OK");
        assert_eq!(run(&mut s, Op::Get(k())), "+x y");
        assert_eq!(run(&mut s, Op::Incr(k())), "-ERR not a number");
        assert_eq!(run(&mut s, Op::Del(vec![k().into()])), "+1");
        assert_eq!(run(&mut s, Op::Del(vec![k().into()])), "+0");
        // A value that starts with ERR is a value, not an error.
        assert_eq!(run(&mut s, Op::Set(k(), b"ERR no".to_vec())), "+OK");
        assert_eq!(run(&mut s, Op::Get(k())), "+ERR no");
    }
}
