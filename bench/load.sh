#!/usr/bin/env bash
# Load test of every public page through the production stack (nginx's cache in front of
# gunicorn hosts, deploy/stack.py), against nginx serving a static file of the same size and a
# minimal Flask app (bench/minimal_app.py), plus each page's first render after a change.
# Prints figures; never pass/fail.
#
#   bench/load.sh                 # PostgreSQL (scripts/with-postgres) when possible, else SQLite
#   BENCH_SQLITE=1 bench/load.sh  # force SQLite
#   DURATION=10 CONNECTIONS=64,256 HOSTS=2 WORKERS=2 bench/load.sh
#
# Needs ../shared/data/mga-2017/BSO.csv (the 2017 round) and Debian's wrk, nginx and
# redis-server (installed here when missing).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
"$here/scripts/ensure-debian-packages" wrk nginx redis-server
if [ -z "${BENCH_INNER:-}" ] && [ -z "${BENCH_SQLITE:-}" ] && [ -z "${TEST_DATABASE_URL:-}" ]; then
  if "$here/scripts/ensure-debian-packages" postgresql >/dev/null 2>&1; then
    BENCH_INNER=1 exec "$here/scripts/with-postgres" "$0" "$@"
  fi
fi
exec "$here/.venv/bin/python" "$here/bench/load.py" "$@"
