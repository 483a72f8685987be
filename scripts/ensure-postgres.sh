#!/usr/bin/env bash
# Make sure PostgreSQL answers on 127.0.0.1:5432 and that user `postgres` can
# reach database `test` over TCP without a password (the tests' default
# TEST_POSTGRES_URL, postgres://postgres@127.0.0.1:5432/test). Idempotent:
# does nothing when that already works; installs postgresql with apt-get when
# it is missing; starts the cluster; on a cluster that asks loopback clients
# for a password, trusts 127.0.0.1/::1 (a development or CI machine only);
# creates database `test` when missing.
set -euo pipefail

HOST=127.0.0.1
PORT="${RAMPART_POSTGRES_PORT:-5432}"
DB=test

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

answers() {
  command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$HOST" -p "$PORT"
}

connects() {
  PGCONNECT_TIMEOUT=5 psql -w -h "$HOST" -p "$PORT" -U postgres -d "$DB" -tAc 'SELECT 1' 2>/dev/null | grep -q 1
}

if answers && connects; then
  echo "ensure-postgres: PostgreSQL answers on $HOST:$PORT (database $DB)"
  exit 0
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
  echo "ensure-postgres: installing postgresql with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq postgresql >/dev/null
fi

# The newest installed major version's `main` cluster.
VERSION="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$VERSION" ]; then
  VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
  echo "ensure-postgres: creating cluster $VERSION/main"
  $SUDO pg_createcluster "$VERSION" main
fi
CONF_DIR="/etc/postgresql/$VERSION/main"

if ! answers; then
  echo "ensure-postgres: starting PostgreSQL $VERSION/main"
  $SUDO pg_ctlcluster "$VERSION" main start 2>/dev/null || $SUDO service postgresql start
  for _ in $(seq 1 100); do
    if answers; then break; fi
    sleep 0.1
  done
  if ! answers; then
    echo "ensure-postgres: PostgreSQL did not answer on $HOST:$PORT" >&2
    exit 1
  fi
fi

# Loopback TCP without a password: a fresh Debian cluster asks for one
# (scram-sha-256). Put trust lines for 127.0.0.1 and ::1 first and reload.
if ! PGCONNECT_TIMEOUT=5 psql -w -h "$HOST" -p "$PORT" -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
  HBA="$CONF_DIR/pg_hba.conf"
  if ! $SUDO grep -q '^# rampart: loopback trust' "$HBA"; then
    echo "ensure-postgres: trusting loopback TCP connections in $HBA"
    TMP="$(mktemp)"
    {
      echo '# rampart: loopback trust for the tests (scripts/ensure-postgres.sh)'
      echo 'host all all 127.0.0.1/32 trust'
      echo 'host all all ::1/128 trust'
      $SUDO cat "$HBA"
    } >"$TMP"
    $SUDO cp "$TMP" "$HBA"
    rm -f "$TMP"
  fi
  $SUDO pg_ctlcluster "$VERSION" main reload 2>/dev/null || $SUDO service postgresql reload
  sleep 0.5
fi

if ! PGCONNECT_TIMEOUT=5 psql -w -h "$HOST" -p "$PORT" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
  echo "ensure-postgres: creating database $DB"
  psql -w -h "$HOST" -p "$PORT" -U postgres -d postgres -qc "CREATE DATABASE $DB"
fi

if connects; then
  echo "ensure-postgres: PostgreSQL answers on $HOST:$PORT (database $DB)"
  exit 0
fi
echo "ensure-postgres: cannot connect as postgres to $DB on $HOST:$PORT without a password" >&2
exit 1
