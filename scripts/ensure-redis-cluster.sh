#!/usr/bin/env bash
# Make sure a Redis Cluster of 3 masters and 3 replicas answers on
# 127.0.0.1:7000-7005 (the tests' REDIS_CLUSTER_URLS). Idempotent: does
# nothing when the cluster is already healthy; installs redis-server with
# apt-get when it is missing; starts the nodes without persistence under
# $RAMPART_REDIS_CLUSTER_DIR (default /tmp/rampart-redis-cluster) and creates
# the cluster. A small cluster-node-timeout (2 s) keeps failovers quick.
#
# Prints the line to use, e.g.
#   export REDIS_CLUSTER_URLS=redis://127.0.0.1:7000,redis://127.0.0.1:7001,redis://127.0.0.1:7002
set -euo pipefail

BASE="${RAMPART_REDIS_CLUSTER_PORT:-7000}"
DIR="${RAMPART_REDIS_CLUSTER_DIR:-/tmp/rampart-redis-cluster}"
NODE_TIMEOUT_MS="${RAMPART_REDIS_CLUSTER_NODE_TIMEOUT_MS:-2000}"
PORTS=()
for i in 0 1 2 3 4 5; do PORTS+=("$((BASE + i))"); done
URLS="redis://127.0.0.1:${PORTS[0]},redis://127.0.0.1:${PORTS[1]},redis://127.0.0.1:${PORTS[2]}"

say() { echo "ensure-redis-cluster: $*"; }
cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}" 2>/dev/null; }
answers() { cli "$1" ping | grep -q PONG; }
state_ok() { cli "$1" cluster info | tr -d '\r' | grep -q '^cluster_state:ok$'; }
slots_ok() { cli "$1" cluster info | tr -d '\r' | grep -q '^cluster_slots_ok:16384$'; }
known_nodes() { cli "$1" cluster info | tr -d '\r' | sed -n 's/^cluster_known_nodes://p'; }
# The masters serving slots, with their slots, as one node sees them
# (empty when it sees a failing node).
layout() {
  cli "$1" cluster nodes | awk '
    $3 ~ /fail/ { bad = 1 }
    $3 ~ /master/ && $9 != "" { line = $1; for (i = 9; i <= NF; i++) line = line " " $i; print line }
    END { if (bad) print "FAILING" }' | sort
}

# A node is a master, or a replica whose link to its master is up: a replica
# still in its first full sync would acknowledge no write (WAIT returns 0).
synced() {
  local info
  info="$(cli "$1" info replication | tr -d '\r')"
  printf '%s\n' "$info" | grep -q '^role:master$' ||
    printf '%s\n' "$info" | grep -q '^master_link_status:up$'
}

# Healthy: every node answers, says the cluster is ok with all slots served,
# knows all six nodes, sees the same three masters serving the same slots (a
# master just back from a failover may briefly believe otherwise), and every
# replica is in sync with its master.
healthy() {
  local port first
  first="$(layout "${PORTS[0]}")"
  [ "$(printf '%s\n' "$first" | grep -c .)" = "3" ] || return 1
  case "$first" in *FAILING*) return 1 ;; esac
  for port in "${PORTS[@]}"; do
    answers "$port" && state_ok "$port" && slots_ok "$port" || return 1
    [ "$(known_nodes "$port")" = "6" ] || return 1
    [ "$(layout "$port")" = "$first" ] || return 1
    synced "$port" || return 1
  done
}

finish() {
  say "Redis Cluster healthy on 127.0.0.1:${PORTS[0]}-${PORTS[5]} (3 masters, 3 replicas)"
  echo "export REDIS_CLUSTER_URLS=$URLS"
  exit 0
}

if command -v redis-cli >/dev/null 2>&1 && healthy; then
  finish
fi

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  say "installing redis-server with apt-get"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq redis-server >/dev/null
fi

# Start every node that does not answer. A node whose cluster state is kept
# in $DIR rejoins the cluster it belonged to.
mkdir -p "$DIR"
for port in "${PORTS[@]}"; do
  if answers "$port"; then
    continue
  fi
  mkdir -p "$DIR/$port"
  say "starting redis-server (cluster node) on 127.0.0.1:$port"
  # DEBUG is allowed from loopback connections only: the failover test makes
  # a master unresponsive with DEBUG SLEEP.
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" \
    --dir "$DIR/$port" --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-node-timeout "$NODE_TIMEOUT_MS" --save "" --appendonly no \
    --enable-debug-command local \
    --logfile "$DIR/$port/redis.log" --pidfile "$DIR/$port/redis.pid"
done

for port in "${PORTS[@]}"; do
  for _ in $(seq 1 50); do
    answers "$port" && break
    sleep 0.1
  done
  answers "$port" || { say "redis-server on 127.0.0.1:$port did not answer (see $DIR/$port/redis.log)" >&2; exit 1; }
done

# Create the cluster when no node knows the others yet (a fresh start).
if [ "$(known_nodes "${PORTS[0]}")" = "1" ]; then
  for port in "${PORTS[@]}"; do
    if [ "$(known_nodes "$port")" != "1" ] || [ "$(cli "$port" dbsize)" != "0" ]; then
      say "node 127.0.0.1:$port already belongs to a cluster or holds data while 127.0.0.1:${PORTS[0]} does not;" >&2
      say "stop the nodes on ports ${PORTS[0]}-${PORTS[5]} and remove $DIR, then run this again" >&2
      exit 1
    fi
  done
  say "creating the cluster (3 masters, 1 replica each)"
  hosts=()
  for port in "${PORTS[@]}"; do hosts+=("127.0.0.1:$port"); done
  redis-cli --cluster create "${hosts[@]}" --cluster-replicas 1 --cluster-yes >/dev/null
fi

# Wait until every node agrees (gossip takes a few heartbeats) and every
# replica has made its first sync (diskless, after a 5 s delay by default).
for _ in $(seq 1 600); do
  if healthy; then
    finish
  fi
  sleep 0.1
done
say "the cluster on 127.0.0.1:${PORTS[0]}-${PORTS[5]} did not become healthy within 60 s:" >&2
cli "${PORTS[0]}" cluster info | tr -d '\r' | grep -E '^cluster_(state|slots_ok|known_nodes)' >&2 || true
exit 1
