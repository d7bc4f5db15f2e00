#!/usr/bin/env bash
# Benchmarks paxos-kv (three nodes, fsync on) against one durable Redis
# (appendonly, appendfsync always), in one run on this machine, with
# redis-benchmark -t set,get -d 16 -r 1000 at -c 1, -c 50 and -c 50 -P 16.
# Prints a markdown table. Needs redis-tools and redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000}      # requests per -c 50 run
N1=${N1:-5000}      # requests per -c 1 run
cargo build --release -q -p paxos-kv
work=$(mktemp -d)
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
pids=()
trap cleanup EXIT

run() { # name port
    local name=$1 port=$2
    for opts in "-c 1 -n $N1" "-c 50 -n $N" "-c 50 -P 16 -n $((N * 4))"; do
        # shellcheck disable=SC2086
        redis-benchmark -p "$port" -t set,get -d 16 -r 1000 $opts --csv 2>/dev/null |
            tail -n +2 | tr -d '"' |
            awk -F, -v name="$name" -v opts="$opts" \
                '{ sub(/ -n [0-9]+/, "", opts); printf "| %s | %s | %s | %.0f | %.3f | %.3f |\n", name, opts, $1, $2, $5, $7 }'
    done
}

echo "| server | clients | test | requests/s | p50 ms | p99 ms |"
echo "|---|---|---|---:|---:|---:|"
# paxos-kv: three processes, each its own data directory, fsync on; Phase 2
# to every node, then thrifty (to one majority).
peers="1=127.0.0.1:17101,2=127.0.0.1:17102,3=127.0.0.1:17103"
for mode in all thrifty; do
    flags=()
    if [ "$mode" = thrifty ]; then flags=(--thrifty); fi
    for i in 1 2 3; do
        RUST_LOG=warn ./target/release/paxos-kv --id $i --peers "$peers" "${flags[@]}" \
            --listen 127.0.0.1:1638$i --data-dir "$work/kv-$mode-$i" >/dev/null 2>&1 &
        pids+=($!)
    done
    for i in 1 2 3; do
        until redis-cli -p 1638$i PING >/dev/null 2>&1; do sleep 0.1; done
    done
    redis-cli -p 16381 SET warm up >/dev/null
    leader=$(for i in 1 2 3; do if redis-cli -p 1638$i INFO | grep -q 'paxos_role:leader'; then echo $i; fi; done | head -1)
    run "paxos-kv (3 nodes, $mode, leader n$leader)" "1638${leader:-1}"
    kill "${pids[@]}"; wait 2>/dev/null || true; pids=()
done
# One durable Redis.
redis-server --port 16390 --dir "$work" --appendonly yes --appendfsync always \
    --save '' --daemonize no >/dev/null &
pids+=($!)
until redis-cli -p 16390 PING >/dev/null 2>&1; do sleep 0.1; done
run "redis-server (appendfsync always)" 16390
