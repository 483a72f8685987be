#!/usr/bin/env bash
# Non-blocking check against the newest semver-compatible dependency versions
# (not run by .ci/run; see docs/testing.md). CI builds everything from the
# workspace's Cargo.lock, so an upstream release cannot turn it red; this
# script shows what such a release would break for users who build without
# that lockfile:
#   1. what `cargo update` would change in the workspace (dry run), and
#   2. the corpus compile test with RAMPART_LATEST_DEPS=1: every generated
#      crate resolves afresh, as a crate from `cargo xtask generate` does
#      outside this workspace, and is checked with warnings denied (so a new
#      deprecation shows up here first).
# Exit 0 when everything builds warning-free with the newest versions, 1
# otherwise (the failing crates and their errors are printed above).
set -uo pipefail
cd "$(dirname "$0")/.."
echo "== what cargo update would change (dry run; the lockfile is not touched)"
cargo update --dry-run 2>&1 | grep -E '^\s+(Updating|Adding|Removing|Locking)' || echo "   nothing"
echo "== generated crates against the newest versions (RAMPART_LATEST_DEPS=1)"
if RAMPART_LATEST_DEPS=1 cargo test -p rampart-codegen --test it -- --ignored corpus_compile:: --nocapture; then
  echo "== latest dependencies: OK"
else
  echo "== latest dependencies: BROKEN (see the cargo errors above; CI is unaffected, it builds from Cargo.lock)"
  exit 1
fi
