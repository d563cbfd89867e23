#!/usr/bin/env bash
# Instructions a decision takes, counted by callgrind: unlike times, the
# counts do not move with whatever else runs on the machine. Each case
# decides COUNT generated tickets inside `measured` (examples/instructions.rs)
# and only that function is counted. The last rows are whole runs of batch
# mode (`triage eval --input`, one worker) on the same number of tickets,
# without a log and with a file log: what recording adds to a decision.
#
#   benches/instructions.sh            # COUNT=2000, OVERRIDES="1000 10000"
set -euo pipefail

COUNT=${COUNT:-2000}
OVERRIDES=${OVERRIDES:-1000 10000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=${WORK:-$(mktemp -d)}
(cd "$ROOT" && cargo build --release --quiet --example instructions)
BIN=$TARGET/release/examples/instructions

# Instructions per decision of case $1 on the bundle in $2.
count() {
    valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
        --collect-atstart=no --toggle-collect='*measured*' \
        "$BIN" "$1" "$2" "$COUNT" >/dev/null 2>"$WORK/valgrind.txt"
    local total
    total=$(sed -n 's/^summary: //p' "$WORK/callgrind.out")
    awk -v t="$total" -v n="$COUNT" 'BEGIN { printf "%.0f", t / n }'
}

printf '%-52s %s\n' "case ($COUNT generated tickets)" "instructions a decision"
for case in hand engine-ticket hand-value engine hand-json engine-json engine-json-value; do
    printf '%-52s %s\n' "reference pack: $case" "$(count "$case" "$ROOT/policies")"
done
for n in $OVERRIDES; do
    "$ROOT/benches/overrides.sh" "$n" "$WORK/overrides-$n"
    for case in engine linear; do
        printf '%-52s %s\n' "$n override rules: $case" "$(count "$case" "$WORK/overrides-$n")"
    done
done

# Instructions a ticket of a whole batch run, with the options in "$@".
(cd "$ROOT" && cargo build --release --quiet --bin triage)
TRIAGE=$TARGET/release/triage
"$TRIAGE" gen tickets --policies "$ROOT/policies" --count "$COUNT" --seed 7 \
    --output "$WORK/tickets.jsonl" >/dev/null
batch() {
    rm -rf "$WORK/log" && mkdir "$WORK/log"
    valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
        "$TRIAGE" eval --policies "$ROOT/policies" --input "$WORK/tickets.jsonl" \
        --output /dev/null --workers 1 "$@" >/dev/null 2>"$WORK/valgrind.txt"
    awk -v t="$(sed -n 's/^summary: //p' "$WORK/callgrind.out")" -v n="$COUNT" \
        'BEGIN { printf "%.0f", t / n }'
}
plain=$(batch)
logged=$(batch --decision-log "$WORK/log/decisions.jsonl" --log-flush batch)
printf '%-52s %s\n' "batch, whole run, no log" "$plain"
printf '%-52s %s\n' "batch, whole run, file log" "$logged"
printf '%-52s %s\n' "what recording adds" "$((logged - plain))"
