#!/usr/bin/env bash
# Throughput and memory of the batch mode and the HTTP service, on this
# machine, against loopback only. Prints one table at the end.
#
#   benches/load.sh                      # full run: 1,000,000 tickets, 300 s soak
#   SOAK_SECONDS=60 benches/load.sh      # a shorter soak
#
# Variables: BATCH_COUNT (1000000), SMALL_COUNT (100000), SEED (7),
# OVERRIDES (10000: per-customer rules in the scaling bundle, benches/overrides.sh),
# LOAD_SECONDS (30), SOAK_SECONDS (300), CONNECTIONS (32), SERVER_THREADS (2),
# WORK (a scratch directory; default a fresh temporary one).
set -euo pipefail

BATCH_COUNT=${BATCH_COUNT:-1000000}
SMALL_COUNT=${SMALL_COUNT:-100000}
SEED=${SEED:-7}
OVERRIDES=${OVERRIDES:-10000}
LOAD_SECONDS=${LOAD_SECONDS:-30}
SOAK_SECONDS=${SOAK_SECONDS:-300}
CONNECTIONS=${CONNECTIONS:-32}
SERVER_THREADS=${SERVER_THREADS:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/support/http.sh
source "$ROOT/benches/support/http.sh"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
prepare

say "generating $SMALL_COUNT and $BATCH_COUNT tickets (seed $SEED) in $WORK"
"$BIN" gen tickets --policies "$POLICIES" --count "$SMALL_COUNT" --seed "$SEED" --output "$WORK/small.jsonl"
"$BIN" gen tickets --policies "$POLICIES" --count "$BATCH_COUNT" --seed "$SEED" --output "$WORK/tickets.jsonl"

# Runs the batch mode on $1, writing to $2 (default a file) with the bundle
# in $3 (default the pack); sets SECONDS_TAKEN, RATE and PEAK_KB.
batch() {
    local input=$1 output=${2:-$WORK/decisions.jsonl} policies=${3:-$POLICIES} lines
    lines=$(wc -l <"$input")
    # The timed run should not pay for flushing what earlier steps wrote.
    rm -f "$WORK/decisions.jsonl"
    sync
    /usr/bin/time -f '%e %M' -o "$WORK/time.txt" \
        "$BIN" eval --policies "$policies" --input "$input" --output "$output" 2>"$WORK/summary.txt"
    read -r SECONDS_TAKEN PEAK_KB <"$WORK/time.txt"
    RATE=$(awk -v n="$lines" -v s="$SECONDS_TAKEN" 'BEGIN { printf "%.0f", n / s }')
    if [ "$output" != /dev/null ]; then
        test "$(wc -l <"$output")" -eq "$lines"
    fi
}

say "batch: $SMALL_COUNT tickets"
batch "$WORK/small.jsonl"
SMALL_RATE=$RATE SMALL_PEAK=$PEAK_KB SMALL_SECS=$SECONDS_TAKEN
say "batch: $BATCH_COUNT tickets"
batch "$WORK/tickets.jsonl"
BIG_RATE=$RATE BIG_PEAK=$PEAK_KB BIG_SECS=$SECONDS_TAKEN
head -1 "$WORK/summary.txt" >&2
say "batch: $BATCH_COUNT tickets to /dev/null"
batch "$WORK/tickets.jsonl" /dev/null
NULL_RATE=$RATE NULL_PEAK=$PEAK_KB NULL_SECS=$SECONDS_TAKEN
say "batch: $SMALL_COUNT tickets, the pack with $OVERRIDES override rules"
"$ROOT/benches/overrides.sh" "$OVERRIDES" "$WORK/overrides"
batch "$WORK/small.jsonl" "" "$WORK/overrides"
OVER_RATE=$RATE OVER_PEAK=$PEAK_KB OVER_SECS=$SECONDS_TAKEN

say "starting the service"
start_service
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
URL=$ADDR

# wrk cycles through 1,000 generated tickets, one POST each.
head -1000 "$WORK/small.jsonl" >"$WORK/bodies.jsonl"
post_script "$WORK/bodies.jsonl"

say "load: ${LOAD_SECONDS} s, $CONNECTIONS connections"
wrk -t1 -c"$CONNECTIONS" -d"${LOAD_SECONDS}s" --latency -s "$WORK/post.lua" "$URL" >"$WORK/load.txt"
cat "$WORK/load.txt" >&2
RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$WORK/load.txt")
P50=$(awk '$1 == "50%" { print $2 }' "$WORK/load.txt")
P99=$(awk '$1 == "99%" { print $2 }' "$WORK/load.txt")
NON2XX=$(awk '/Non-2xx/ { print $NF }' "$WORK/load.txt")
ERRORS=$(awk '/Socket errors/ { print $0 }' "$WORK/load.txt")

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER/status"; }

say "soak: ${SOAK_SECONDS} s, sampling the service's RSS every 5 s"
wrk -t1 -c"$CONNECTIONS" -d"${SOAK_SECONDS}s" -s "$WORK/post.lua" "$URL" >"$WORK/soak.txt" &
LOAD=$!
sleep 5
RSS_START=$(rss_kb)
RSS_MAX=$RSS_START
RSS_END=$RSS_START
while kill -0 "$LOAD" 2>/dev/null; do
    rss=$(rss_kb)
    ((rss > RSS_MAX)) && RSS_MAX=$rss
    RSS_END=$rss
    sleep 5
done
wait "$LOAD"
SOAK_RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$WORK/soak.txt")
GROWTH=$(awk -v a="$RSS_START" -v b="$RSS_MAX" 'BEGIN { printf "%+.1f%%", (b - a) * 100 / a }')

kill -TERM "$SERVER"
wait "$SERVER" || true
trap - EXIT

mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
printf '\nmachine: %s, %s cores (nproc), %s\n' \
    "$(lscpu | sed -n 's/^Model name: *//p')" "$(nproc)" "$(uname -sr)"
# Other work on the machine shows here: these figures are only as good as it is idle.
printf 'load average at start: %s, at end: %s\n' "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %s\n' "measure" "result"
printf '%-44s %s\n' "--------------------------------------------" "------------------------------"
printf '%-44s %s\n' "batch $SMALL_COUNT tickets: decisions/s" "$SMALL_RATE ($SMALL_SECS s)"
printf '%-44s %s\n' "batch $SMALL_COUNT tickets: peak RSS" "$(mib "$SMALL_PEAK")"
printf '%-44s %s\n' "batch $BATCH_COUNT tickets: decisions/s" "$BIG_RATE ($BIG_SECS s)"
printf '%-44s %s\n' "batch $BATCH_COUNT tickets: peak RSS" "$(mib "$BIG_PEAK")"
printf '%-44s %s\n' "batch $BATCH_COUNT to /dev/null: decisions/s" "$NULL_RATE ($NULL_SECS s)"
printf '%-44s %s\n' "batch $BATCH_COUNT to /dev/null: peak RSS" "$(mib "$NULL_PEAK")"
printf '%-44s %s\n' "batch $SMALL_COUNT, $OVERRIDES overrides: decisions/s" "$OVER_RATE ($OVER_SECS s)"
printf '%-44s %s\n' "batch $SMALL_COUNT, $OVERRIDES overrides: peak RSS" "$(mib "$OVER_PEAK")"
printf '%-44s %s\n' "HTTP POST /v1/decisions: requests/s" "$RPS (${LOAD_SECONDS} s, $CONNECTIONS conns)"
printf '%-44s %s\n' "HTTP latency p50 / p99" "$P50 / $P99"
printf '%-44s %s\n' "HTTP non-2xx responses, socket errors" "${NON2XX:-0}, ${ERRORS:-none}"
printf '%-44s %s\n' "soak ${SOAK_SECONDS} s: requests/s" "$SOAK_RPS"
printf '%-44s %s\n' "soak: service RSS at 5 s / max / end" "$(mib "$RSS_START") / $(mib "$RSS_MAX") / $(mib "$RSS_END") ($GROWTH)"
