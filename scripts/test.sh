#!/usr/bin/env bash
# The README's test command. It installs what the tests need beyond cargo, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked
