#!/usr/bin/env bash
# The project's test command: every crate's tests, doctests included.
# Needs only the Rust toolchain; installs nothing else (yet).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-targets
cargo test --workspace --doc
