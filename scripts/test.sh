#!/usr/bin/env bash
# The project's test command (README): makes sure the services the tests need
# are up (Redis, a Redis Cluster, PostgreSQL, wrk, chromium), then runs every
# test in the workspace, including the slow check that
# every corpus spec generates a crate that compiles without warnings, and
# schemathesis' property-based checks against the petstore mock's /openapi.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-redis.sh
bash scripts/ensure-postgres.sh
# A 3-master Redis Cluster on 127.0.0.1:7000-7005 for crates/rampart/tests/it/rate_cluster.rs.
eval "$(bash scripts/ensure-redis-cluster.sh | grep '^export REDIS_CLUSTER_URLS=')"
bash scripts/ensure-wrk.sh
bash scripts/ensure-chromium.sh
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
# Lockouts an earlier run left in the shared Redis (127.0.0.1 locked out for
# 15 minutes) must not decide this run's answers.
redis-cli -u "$REDIS_URL" --scan --pattern 'rampart:rl:{lockout*' 2>/dev/null \
  | while read -r key; do redis-cli -u "$REDIS_URL" del "$key" >/dev/null; done || true
# --all-features: rampart's opt-in redis, sql and jwks features, whose tests
# need them (tests/it says so, and fails under CI=true, when they are off).
# --include-ignored: the one ignored test, the slow corpus check (every corpus
# spec generates a crate that checks without warnings), in the same build.
cargo test --workspace --all-targets --all-features --no-fail-fast -- --include-ignored
cargo test --workspace --doc --all-features
# schemathesis (all checks, bounded) against the served spec of the petstore mock.
bash scripts/schemathesis.sh
