#!/usr/bin/env bash
# CI: start a PostgreSQL server on loopback (127.0.0.1) for the parallel-search tests, with
# a role and a database for them (run as root on Debian). Idempotent: a server already
# running is kept. Prints the storage URL the tests read from LDOS_SURROGATE_TEST_POSTGRES:
#   export LDOS_SURROGATE_TEST_POSTGRES=$(bash .ci/postgres.sh | tail -n 1)
set -euo pipefail

PORT="${PGPORT:-5432}"
ROLE="${LDOS_POSTGRES_ROLE:-ldos}"
PASSWORD="${LDOS_POSTGRES_PASSWORD:-ldos}"
DATABASE="${LDOS_POSTGRES_DATABASE:-ldos_test}"

if ! command -v pg_ctlcluster >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q postgresql >&2
fi

# the newest installed server version and its default cluster (created by the package)
version="$(ls /usr/lib/postgresql | sort -n | tail -n 1)"
if ! pg_lsclusters --no-header | awk '{print $1 "/" $2}' | grep -qx "$version/main"; then
    pg_createcluster --port "$PORT" "$version" main >&2
fi
# Debian's default configuration listens on localhost only and asks for passwords there.
pg_ctlcluster "$version" main status >/dev/null 2>&1 || pg_ctlcluster "$version" main start >&2
port="$(pg_lsclusters --no-header | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')"

as_postgres() { su postgres -c "psql --port $port --quiet --no-psqlrc --tuples-only $*"; }
for _ in $(seq 30); do  # the server accepts connections a moment after it starts
    as_postgres "--command 'SELECT 1'" >/dev/null 2>&1 && break
    sleep 1
done
if [ -z "$(as_postgres "--command \"SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'\"")" ]; then
    as_postgres "--command \"CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'\""
fi
if [ -z "$(as_postgres "--command \"SELECT 1 FROM pg_database WHERE datname = '$DATABASE'\"")" ]; then
    as_postgres "--command \"CREATE DATABASE $DATABASE OWNER $ROLE\""
fi
echo "postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$port/$DATABASE"
