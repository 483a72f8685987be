#!/usr/bin/env bash
# Make sure `wrk` (the external load generator of `cargo xtask bench
# --external`) is installed: installs Debian's package with apt-get when it
# is missing. Idempotent.
set -euo pipefail
if command -v wrk >/dev/null 2>&1; then
  echo "ensure-wrk: wrk is installed"
  exit 0
fi
echo "ensure-wrk: installing wrk with apt-get"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq wrk >/dev/null
command -v wrk >/dev/null 2>&1 || { echo "ensure-wrk: wrk did not install" >&2; exit 1; }
echo "ensure-wrk: wrk installed"
