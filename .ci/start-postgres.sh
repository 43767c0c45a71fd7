#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on 127.0.0.1 and print its URL.
# Usage: eval "$(bash .ci/start-postgres.sh)"  — exports TEST_DATABASE_URL and PGDATA_DIR.
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PORT=${PGPORT_TEST:-55432}
PGDATA_DIR=$(mktemp -d /tmp/pgdata.XXXXXX)
chown postgres: "$PGDATA_DIR"
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/log" -w start \
  -o "-p $PORT -k $PGDATA_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" >/dev/null
echo "export PGDATA_DIR=$PGDATA_DIR PGBIN=$PGBIN"
echo "export TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
