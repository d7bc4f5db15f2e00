#!/usr/bin/env bash
# The project's test command: every crate's tests, doctests included.
# The paxos-kv tests drive the cluster with redis-cli: install Debian's
# redis-tools if it is missing (as root, or through sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-cli >/dev/null 2>&1; then
    echo "== installing redis-tools (redis-cli, redis-benchmark)"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-tools
fi
cargo test --workspace --all-targets
cargo test --workspace --doc
