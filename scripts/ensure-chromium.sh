#!/usr/bin/env bash
# Make sure Debian's headless-capable `chromium` is installed (the browser of
# crates/rampart/tests/it/browser.rs: the /docs page and CORS from an allowed and
# a foreign origin). Installs the `chromium` package with apt-get when the
# binary is missing. Idempotent and quick when it is there already.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "ensure-chromium: chromium is installed ($(command -v chromium))"
  exit 0
fi
echo "ensure-chromium: installing chromium with apt-get"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "ensure-chromium: chromium did not install" >&2; exit 1; }
echo "ensure-chromium: chromium installed ($(chromium --version 2>/dev/null || echo 'version unknown'))"
