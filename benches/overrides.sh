#!/usr/bin/env bash
# Writes the rule-scaling bundle: the reference pack with N per-customer
# override rules inserted before the escalation rules, the shape real bundles
# grow in (per-customer contracts). No generated ticket names a `C-…`
# customer, so every ticket walks all of them.
#
#   benches/overrides.sh N DIR     # N rules (0, 100, 1000, 10000, ...) into DIR
#
# The rules go in files of at most 5,000 (each file stays under the loader's
# 1 MiB cap); the escalation rules move to a file of their own after them.
set -euo pipefail

N=${1:?usage: overrides.sh N DIR}
DIR=${2:?usage: overrides.sh N DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PER_FILE=5000
mkdir -p "$DIR"
cp "$ROOT"/policies/*.yaml "$DIR"/

# boundaries.yaml up to the escalation rules; the rest to escalation.yaml.
awk -v dir="$DIR" '
    /^  - id: commercial_escalation/ { tail = 1; print "rules:" > (dir "/escalation.yaml") }
    { if (tail) print > (dir "/escalation.yaml"); else print > (dir "/boundaries.yaml") }
' "$ROOT/policies/boundaries.yaml"

files=""
for ((start = 0; start < N; start += PER_FILE)); do
    end=$((start + PER_FILE < N ? start + PER_FILE : N))
    name=$(printf 'overrides-%03d.yaml' $((start / PER_FILE)))
    files+="  - $name\n"
    awk -v start="$start" -v end="$end" 'BEGIN {
        print "rules:"
        for (i = start; i < end; i++) {
            id = sprintf("C-%06d", i)
            printf "  - {id: override_%06d, when: %ccustomer.id == \"%s\" && issue.type in technical_handoff%c, outcome: escalate, path: technical, action: file_service_request, rationale: Contract.}\n", i, 39, id, 39
        }
    }' >"$DIR/$name"
done
files+="  - escalation.yaml"
awk -v files="$files" '
    { print }
    /^  - boundaries.yaml$/ { gsub(/\\n/, "\n", files); print files }
' "$ROOT/policies/bundle.yaml" >"$DIR/bundle.yaml.new"
mv "$DIR/bundle.yaml.new" "$DIR/bundle.yaml"
