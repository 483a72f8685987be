#!/usr/bin/env bash
# The project's test command (README): makes sure the services the tests need
# are up, then runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f scripts/ensure-redis.sh ]; then
  bash scripts/ensure-redis.sh
fi
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
cargo test --workspace --all-targets
cargo test --workspace --doc
