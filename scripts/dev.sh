#!/usr/bin/env bash
# One entry point for a fresh machine: creates .venv, installs the project, then runs a job.
#   bash scripts/dev.sh main    # the main job: TPC-DS SF 0.1 in ./warehouse, 99 queries verified, a report
#   bash scripts/dev.sh test    # the full test suite (starts and stops its own local S3 server)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
job="${1:-}"
shift || true

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
# The main job needs only the core and the plot extra; the test command adds torch, Ray and the test tools.
case "$job" in
  test) extras="dev,plot,postgres,ray,torch" ;;
  *) extras="plot" ;;
esac
stamp=".venv/.lakehouse-installed"
want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"
# the stamp is "<pyproject hash> <extras>"; the full install satisfies the main job too
if [ "$have" != "$want dev,plot,postgres,ray,torch" ] && [ "$have" != "$want $extras" ]; then
  echo "== installing lakehouse[$extras] into .venv (first run takes a few minutes)"
  log=.venv/pip-install.log
  check="import lakehouse, catalog, engine, tpcds, duckdb"
  [ "$job" = test ] && check="$check, deltalake"
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e ".[$extras]"; } > "$log" 2>&1 \
     || ! .venv/bin/python -c "$check" >> "$log" 2>&1; then
    tail -n 40 "$log"
    echo "installation failed (full log: $log)"
    exit 1
  fi
  echo "$want $extras" > "$stamp"
fi

finish() {
  local rc=$?
  echo "== '${job}' finished with exit code ${rc} in $(( $(date +%s) - start )) s"
  exit $rc
}
trap finish EXIT

case "$job" in
  main)
    # TPC-DS end to end: generate SF ${LAKEHOUSE_SF:-0.1} into ./warehouse (reused when already there), run all
    # 99 queries through the engine, verify each against DuckDB on the plain Parquet copy, print the summary.
    .venv/bin/lakehouse tpcds all --sf "${LAKEHOUSE_SF:-0.1}" --warehouse ./warehouse "$@"
    ;;
  test)
    # The Postgres catalog's tests start a private server from Debian's postgresql package (initdb,
    # pg_ctl); install it when missing (they skip, saying why, where it cannot be had).
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v apt-get >/dev/null \
       && [ "$(id -u)" = 0 ]; then
      echo "== installing postgresql (for the Postgres catalog tests)"
      { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; } > .venv/apt-postgresql.log 2>&1 \
        || { tail -n 20 .venv/apt-postgresql.log; echo "postgresql could not be installed; its tests will skip"; }
    fi
    .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
    ;;
  *)
    echo "usage: bash scripts/dev.sh main|test [extra args]" >&2
    exit 2
    ;;
esac
