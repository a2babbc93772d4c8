# Sourced by scripts/test.sh: make sure Redis and PostgreSQL answer on 127.0.0.1, starting (and on a
# fresh Debian/Ubuntu machine, installing) them when they do not. Exports the URLs the tests use.
set -euo pipefail
_as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
_apt() { _as_root apt-get update -qq && _as_root apt-get install -y -qq "$@" >/dev/null; }

if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  command -v redis-server >/dev/null || _apt redis-server
  echo "Starting Redis on 127.0.0.1:6379" >&2
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/deskhand-redis.log
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 0.1; done
fi

if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  command -v pg_ctlcluster >/dev/null || _apt postgresql
  echo "Starting PostgreSQL on 127.0.0.1:5432" >&2
  ver="$(ls /etc/postgresql | sort -n | tail -1)"
  _as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && break; sleep 0.1; done
fi
# A database for the tests; trust auth on this kind of machine, else the postgres user via sudo.
PGUSER_="${DESKHAND_TEST_PGUSER:-postgres}"
if ! psql -h 127.0.0.1 -U "$PGUSER_" -d deskhand_test -c 'select 1' >/dev/null 2>&1; then
  psql -h 127.0.0.1 -U "$PGUSER_" -d postgres -c 'create database deskhand_test' >/dev/null 2>&1 \
    || _as_root -u postgres psql -c 'create database deskhand_test' >/dev/null 2>&1 || true
fi
export DESKHAND_TEST_REDIS_URL="${DESKHAND_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
export DESKHAND_TEST_DATABASE_URL="${DESKHAND_TEST_DATABASE_URL:-postgresql://$PGUSER_@127.0.0.1:5432/deskhand_test}"
