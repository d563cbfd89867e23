#!/usr/bin/env bash
# Times the workbench's routes on the reference pack: `triage workbench` on a
# copy of policies/ with one rule changed, the reference pack as --base, and
# 100,000 generated tickets to count. Prints each route's median and slowest
# of 20 requests, in milliseconds, as curl sees them (connection included).
# Usage: scripts/bench-workbench.sh [path/to/triage] (default: the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/triage}
WORK=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT
cp -r policies "$WORK/draft"
sed -i 's/when: technical && service == "marketplace"$/when: technical \&\& service == "marketplace" \&\& issue.type != "how_to"/' "$WORK/draft/boundaries.yaml"
"$BIN" gen tickets --count 100000 --seed 7 --policies policies > "$WORK/tickets.jsonl"
start() { # ARGS...: (re)starts the workbench on the draft
    if [ -n "${PID:-}" ]; then kill "$PID"; wait "$PID" 2>/dev/null || true; fi
    rm -f "$WORK/out"
    "$BIN" workbench "$WORK/draft" --base policies "$@" > "$WORK/out" 2>/dev/null &
    PID=$!
    for _ in $(seq 100); do grep -q http "$WORK/out" 2>/dev/null && break; sleep 0.1; done
    URL=$(grep -o 'http://[0-9.:]*' "$WORK/out")
}
TICKET=$(tr -d '\n' < examples/tickets/premier-critical.json)

time_route() { # NAME METHOD PATH
    local times=()
    for _ in $(seq 20); do
        if [ "$2" = POST ]; then
            times+=("$(curl -s -o /dev/null -w '%{time_total}' -X POST -H 'content-type: application/json' -d "$TICKET" "$URL$3")")
        else
            times+=("$(curl -s -o /dev/null -w '%{time_total}' "$URL$3")")
        fi
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v name="$1" '{ t[NR] = $1 * 1000 } END { printf "%-34s median %7.1f ms   slowest %7.1f ms\n", name, t[int((NR + 1) / 2)], t[NR] }'
}

start
time_route "page (HTML shell)" GET /try
time_route "script" GET /workbench.js
time_route "catalog" GET /v1/workbench/catalog
time_route "decide (try a ticket)" POST /v1/workbench/decide
time_route "decision table" GET /v1/workbench/table
time_route "suites and coverage" GET /v1/workbench/suites
time_route "plan, base dir" GET '/v1/workbench/plan?base=dir'
start --tickets "$WORK/tickets.jsonl"
time_route "plan, base dir, 100k tickets" GET '/v1/workbench/plan?base=dir'
