#!/usr/bin/env bash
# Make sure a Redis server answers on 127.0.0.1:6379 (the tests' default
# REDIS_URL). Idempotent: does nothing when Redis already answers; installs
# redis-server with apt-get when it is missing; starts it without persistence.
set -euo pipefail

PORT="${RAMPART_REDIS_PORT:-6379}"

ping() {
  command -v redis-cli >/dev/null 2>&1 && redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null | grep -q PONG
}

if ping; then
  echo "ensure-redis: Redis already answers on 127.0.0.1:$PORT"
  exit 0
fi

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "ensure-redis: installing redis-server with apt-get"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq redis-server >/dev/null
fi

echo "ensure-redis: starting redis-server on 127.0.0.1:$PORT"
# Bind IPv6 loopback only when the machine has it ('-' makes the address optional).
redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$PORT" --save "" --appendonly no

for _ in $(seq 1 50); do
  if ping; then
    echo "ensure-redis: Redis answers on 127.0.0.1:$PORT"
    exit 0
  fi
  sleep 0.1
done
echo "ensure-redis: redis-server did not answer on 127.0.0.1:$PORT" >&2
exit 1
