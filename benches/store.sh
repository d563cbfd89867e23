#!/usr/bin/env bash
# Decisions recorded in the PostgreSQL store, on this machine, on loopback:
# the service without any log, then with the store at several numbers of
# connections (how many decisions wait for a commit at once, so how many
# records each commit groups). Prints one table.
#
#   benches/store.sh
#
# Variables: LOAD_SECONDS (10), CONNECTIONS_LIST ("1 8 32 128"),
# SERVER_THREADS (2), DECISION_THREADS (the service's default when unset),
# WORK (a scratch directory; default a fresh one).
# The server comes from scripts/postgres.sh (fsync and synchronous commit
# on, its defaults); the service's decision threads are the store default.
set -euo pipefail

LOAD_SECONDS=${LOAD_SECONDS:-10}
CONNECTIONS_LIST=${CONNECTIONS_LIST:-"1 8 32 128"}
SERVER_THREADS=${SERVER_THREADS:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/support/http.sh
source "$ROOT/benches/support/http.sh"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
prepare
postgres_env=$(bash "$ROOT/scripts/postgres.sh" start)
eval "$postgres_env"
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    bash "$ROOT/scripts/postgres.sh" stop
}
trap cleanup EXIT
URL=$TRIAGE_TEST_POSTGRES

"$BIN" gen tickets --policies "$POLICIES" --count 1000 --seed 7 --output "$WORK/bodies.jsonl"
post_script "$WORK/bodies.jsonl"

stop() { kill -TERM "$SERVER"; wait "$SERVER" || true; SERVER=""; }

sql() { psql -qtAX "$URL" -c "$1"; }

# Loads the service with $1 connections; sets RPS, P99 and NON2XX.
load() {
    wrk -t1 -c"$1" -d"${LOAD_SECONDS}s" --latency -s "$WORK/post.lua" "$ADDR" >"$WORK/load.txt"
    RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$WORK/load.txt")
    P99=$(awk '$1 == "99%" { print $2 }' "$WORK/load.txt")
    NON2XX=$(awk '/Non-2xx/ { print $NF }' "$WORK/load.txt")
}

ROWS=()
for c in $CONNECTIONS_LIST; do
    say "no log, $c connections"
    start_service --no-watch
    load "$c"
    stop
    ROWS+=("$(printf '%-5s %-8s %10s %10s %10s %8s %6s' "$c" "none" "$RPS" "-" "$P99" "-" "${NON2XX:-0}")")

    say "store, $c connections"
    start_service --no-watch --decision-log "$URL" --writer-id "bench-$c" \
        ${DECISION_THREADS:+--decision-threads "$DECISION_THREADS"}
    records0=$(sql "SELECT count(*) FROM triage.records")
    commits0=$(sql "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
    load "$c"
    stop
    records=$(( $(sql "SELECT count(*) FROM triage.records") - records0 ))
    commits=$(( $(sql "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()") - commits0 ))
    per_s=$(awk -v n="$records" -v s="$LOAD_SECONDS" 'BEGIN { printf "%.0f", n / s }')
    group=$(awk -v n="$records" -v c="$commits" 'BEGIN { printf "%.1f", n / (c > 0 ? c : 1) }')
    ROWS+=("$(printf '%-5s %-8s %10s %10s %10s %8s %6s' "$c" "store" "$RPS" "$per_s" "$P99" "$group" "${NON2XX:-0}")")
done
say "verifying the store"
"$BIN" audit verify "$URL" | head -1 >&2

printf '\nmachine: %s, %s cores (nproc), %s\n' \
    "$(lscpu | sed -n 's/^Model name: *//p')" "$(nproc)" "$(uname -sr)"
# Other work on the machine shows here: these figures are only as good as it is idle.
printf 'load average at start: %s, at end: %s\n' "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-5s %-8s %10s %10s %10s %8s %6s\n' conns log "req/s" "records/s" "p99" "group" non2xx
printf '%s\n' "${ROWS[@]}"
