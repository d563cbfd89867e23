#!/usr/bin/env bash
# Decisions recorded in the PostgreSQL store, on this machine, on loopback:
# the service without any log, then with the store at several numbers of
# connections (how many decisions wait for a commit at once, so how many
# records each commit groups). Prints one table, with the CPU time the
# service and PostgreSQL spent per answer (svc-us, pg-us, from /proc),
# which other work on the machine does not change the way it changes the
# rates, and what else took the machine meanwhile: the host (steal%) and
# the server's own housework (autovacuums and checkpoints), and each store
# run's rate as a share of the run without a log beside it (%none). Before
# it measures, it fills the machine's free memory with cached pages
# (benches/support/memory.sh) and warms the store up, so that its
# dictionary is trained before the first run.
#
#   benches/store.sh
#
# Variables: LOAD_SECONDS (10), CONNECTIONS_LIST ("1 8 16 32 128"),
# STORE_ROWS ("packed"; "plain packed" runs the store both ways at each
# number of connections, side by side: plain is a store whose `rows`
# setting keeps its lines plain, see docs/audit.md),
# SERVER_THREADS (2), DECISION_THREADS (the service's default when unset),
# WORK (a scratch directory; default a fresh one), WARM_MEMORY (1; 0 leaves
# the free memory as it is, see benches/support/memory.sh), STORE_SETTINGS
# (server settings as space-separated name=value pairs, applied before the
# runs; none by default), e.g. the WAL sizing docs/service.md recommends:
#
#   STORE_SETTINGS="max_wal_size=8GB wal_init_zero=off" benches/store.sh
# The server comes from scripts/postgres.sh (fsync and synchronous commit
# on, its defaults); the service's decision threads are its default (one a
# core) unless DECISION_THREADS is set.
set -euo pipefail

LOAD_SECONDS=${LOAD_SECONDS:-10}
CONNECTIONS_LIST=${CONNECTIONS_LIST:-"1 8 16 32 128"}
SERVER_THREADS=${SERVER_THREADS:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/support/http.sh
source "$ROOT/benches/support/http.sh"
# shellcheck source=benches/support/memory.sh
source "$ROOT/benches/support/memory.sh"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
prepare
postgres_env=$(bash "$ROOT/scripts/postgres.sh" start)
eval "$postgres_env"
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    bash "$ROOT/scripts/postgres.sh" stop
    drop_warm_memory
}
trap cleanup EXIT
warm_memory
MEMORY_BEFORE=$(memory_state)
URL=$TRIAGE_TEST_POSTGRES

"$BIN" gen tickets --policies "$POLICIES" --count 1000 --seed 7 --output "$WORK/bodies.jsonl"
post_script "$WORK/bodies.jsonl"

stop() { kill -TERM "$SERVER"; wait "$SERVER" || true; SERVER=""; }

sql() { psql -qtAX "$URL" -c "$1"; }

for setting in ${STORE_SETTINGS:-}; do
    sql "ALTER SYSTEM SET ${setting%%=*} = '${setting#*=}'"
done
if [ -n "${STORE_SETTINGS:-}" ]; then
    sql "SELECT pg_reload_conf()" >/dev/null
    say "server settings: $STORE_SETTINGS"
fi

# The records stored: a packed row holds the records `seq` to `last`.
RECORDS="SELECT coalesce(sum(coalesce(last, seq) - seq + 1), 0) FROM triage.records"

# The server's housework so far: autovacuums of the records' table, then
# checkpoints (timed and requested), space-separated.
housework() {
    sql "SELECT coalesce((SELECT autovacuum_count FROM pg_stat_user_tables
                          WHERE relid = 'triage.records'::regclass), 0)
                || ' ' || (SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter)"
}

# CPU time used so far, in clock ticks, by the process $1 (user and system,
# all its threads), plus with $2 = "tree" its children alive and reaped:
# PostgreSQL's backends, WAL writer and checkpointer are the postmaster's.
ticks() {
    local pid=$1 total
    # Fields after the command name: utime is the 12th, stime 13th, the
    # reaped children's cutime and cstime the 14th and 15th.
    total=$(sed 's/^.*) //' "/proc/$pid/stat" | awk -v tree="${2:-}" \
        '{ print $12 + $13 + (tree == "tree" ? $14 + $15 : 0) }')
    if [ "${2:-}" = tree ]; then
        for child in $(ps -o pid= --ppid "$pid"); do
            [ -r "/proc/$child/stat" ] || continue
            total=$((total + $(sed 's/^.*) //' "/proc/$child/stat" | awk '{ print $12 + $13 }')))
        done
    fi
    echo "$total"
}
POSTMASTER=$(head -1 "$TRIAGE_PG_DIR/data/postmaster.pid")
HZ=$(getconf CLK_TCK)

# The share of the machine's time its host gave to others meanwhile (steal),
# between the /proc/stat lines $1 and $2, in percent.
steal_percent() {
    echo "$1 $2" | awk '{ for (i = 2; i <= 11; i++) total += $(i + 11) - $i
        printf "%.1f", (total > 0 ? 100 * ($20 - $9) / total : 0) }'
}

# Microseconds of CPU per unit: $1 ticks over $2 units.
per_unit() { awk -v t="$1" -v n="$2" -v hz="$HZ" 'BEGIN { printf "%.0f", (n > 0 ? t * 1e6 / hz / n : 0) }'; }

# Loads the service with $1 connections; sets RPS, P99, NON2XX, REQUESTS,
# and the CPU ticks the service (SERVICE_TICKS) and PostgreSQL (PG_TICKS)
# used meanwhile, which other work on the machine does not inflate.
load() {
    local service0 pg0 cpu0
    service0=$(ticks "$SERVER")
    pg0=$(ticks "$POSTMASTER" tree)
    cpu0=$(head -1 /proc/stat)
    wrk -t1 -c"$1" -d"${LOAD_SECONDS}s" --latency -s "$WORK/post.lua" "$ADDR" >"$WORK/load.txt"
    SERVICE_TICKS=$(($(ticks "$SERVER") - service0))
    PG_TICKS=$(($(ticks "$POSTMASTER" tree) - pg0))
    STEAL=$(steal_percent "$cpu0" "$(head -1 /proc/stat)")
    RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$WORK/load.txt")
    P99=$(awk '$1 == "99%" { print $2 }' "$WORK/load.txt")
    NON2XX=$(awk '/Non-2xx/ { print $NF }' "$WORK/load.txt")
    REQUESTS=$(awk '/requests in/ { print $1 }' "$WORK/load.txt")
}

# The store's tables made (reading a store migrates it), for its settings.
"$BIN" audit verify "$URL" >/dev/null

# The store warmed up before anything is measured: its first writer keeps
# its first 1,000 lines plain while it trains the store's dictionary, once
# in the store's life (docs/audit.md). Measured, that would be the first
# store run's alone.
say "warming the store up (its dictionary trained)"
start_service --no-watch --decision-log "$URL" --writer-id "bench-warm-up"
wrk -t1 -c32 -d3s -s "$WORK/post.lua" "$ADDR" >/dev/null
stop
[ "$(sql "SELECT count(*) FROM triage.dictionaries")" -gt 0 ] \
    || { echo "store.sh: the warm-up left no dictionary in the store" >&2; exit 1; }

ROWS=()
for c in $CONNECTIONS_LIST; do
    say "no log, $c connections"
    start_service --no-watch
    load "$c"
    stop
    ROWS+=("$(printf '%-5s %-8s %10s %10s %6s %10s %8s %6s %9s %8s %6s' "$c" "none" "$RPS" "-" "-" "$P99" "-" \
        "${NON2XX:-0}" "$(per_unit "$SERVICE_TICKS" "$REQUESTS")" "-" "$STEAL")")
    UNLOGGED=$RPS

    for rows in ${STORE_ROWS:-packed}; do
        say "store ($rows rows), $c connections"
        if [ "$rows" = plain ]; then
            sql "INSERT INTO triage.settings VALUES ('rows', 'plain') ON CONFLICT (key) DO UPDATE SET value = 'plain'"
        else
            sql "DELETE FROM triage.settings WHERE key = 'rows'"
        fi
        start_service --no-watch --decision-log "$URL" --writer-id "bench-$c-$rows" \
            ${DECISION_THREADS:+--decision-threads "$DECISION_THREADS"}
        records0=$(sql "$RECORDS")
        commits0=$(sql "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        housework0=$(housework)
        wal0=$(sql "SELECT pg_current_wal_lsn()")
        load "$c"
        stop
        records=$(( $(sql "$RECORDS") - records0 ))
        commits=$(( $(sql "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()") - commits0 ))
        wal=$(sql "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal0')::bigint")
        per_s=$(awk -v n="$records" -v s="$LOAD_SECONDS" 'BEGIN { printf "%.0f", n / s }')
        group=$(awk -v n="$records" -v c="$commits" 'BEGIN { printf "%.1f", n / (c > 0 ? c : 1) }')
        housework1=$(housework)
        vacuums=$(( ${housework1%% *} - ${housework0%% *} ))
        checkpoints=$(( ${housework1##* } - ${housework0##* } ))
        running=$(sql "SELECT count(*) FROM pg_stat_progress_vacuum WHERE relid = 'triage.records'::regclass")
        ratio=$(awk -v r="$RPS" -v n="$UNLOGGED" 'BEGIN { printf "%.1f", (n > 0 ? 100 * r / n : 0) }')
        ROWS+=("$(printf '%-5s %-8s %10s %10s %6s %10s %8s %6s %9s %8s %6s %7s %6s' "$c" "$rows" "$RPS" "$per_s" "$ratio" "$P99" "$group" \
            "${NON2XX:-0}" "$(per_unit "$SERVICE_TICKS" "$records")" "$(per_unit "$PG_TICKS" "$records")" "$STEAL" \
            "$vacuums$([ "$running" -gt 0 ] && echo +)/$checkpoints" "$((wal / (records > 0 ? records : 1)))")")
    done
done
say "verifying the store"
"$BIN" audit verify "$URL" | head -1 >&2
STORED=$(sql "SELECT sum(coalesce(last, seq) - seq + 1) || ' records in ' || count(*) || ' rows, '
                     || count(packed) || ' packed, ' || (pg_total_relation_size('triage.records')
                        / greatest(sum(coalesce(last, seq) - seq + 1), 1))::bigint
                     || ' bytes a record (table, TOAST and index)' FROM triage.records")

printf '\nmachine: %s, %s cores (nproc), %s\n' \
    "$(lscpu | sed -n 's/^Model name: *//p')" "$(nproc)" "$(uname -sr)"
# Other work on the machine shows here: these figures are only as good as it is idle.
printf 'load average at start: %s, at end: %s\n' "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'memory at start: %s, at end: %s\n' "$MEMORY_BEFORE" "$(memory_state)"
printf 'server settings: %s\n' "${STORE_SETTINGS:-the defaults}"
printf 'store: %s\n' "$STORED"
# CPU per answer: the service's (per request without a log, per record with
# the store) and PostgreSQL's, in microseconds, from /proc whatever the load.
# steal%: the machine's time its host ran something else during the run.
# av/ckpt: the server's autovacuums of the records' table that ended during
# the run ("+" when one still ran at its end), and its checkpoints.
# wal-B: bytes of WAL the server wrote a record.
# %none: the store's requests/s as a percentage of the run without a log
# just before it, at the same number of connections.
printf '%-5s %-8s %10s %10s %6s %10s %8s %6s %9s %8s %6s %7s %6s\n' conns log "req/s" "records/s" "%none" "p99" "group" non2xx \
    "svc-us" "pg-us" "steal%" "av/ckpt" "wal-B"
printf '%s\n' "${ROWS[@]}"
