# What the HTTP benchmarks share, sourced by benches/load.sh and
# benches/store.sh after they set ROOT: paths, the release binary, wrk, and
# the wrk script that posts generated tickets.

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=${WORK:-$(mktemp -d)}
BIN=$TARGET/release/triage
POLICIES=$ROOT/policies

say() { printf '== %s\n' "$*" >&2; }

# Builds the release binary and installs wrk when missing.
prepare() {
    say "building the release binary"
    (cd "$ROOT" && cargo build --release --locked --quiet --bin triage)
    if ! command -v wrk >/dev/null; then
        say "installing wrk"
        apt-get update -qq && apt-get install -y -qq wrk >/dev/null
    fi
}

# Writes $WORK/post.lua: wrk cycles through the tickets of $1, one POST each.
post_script() {
    cat >"$WORK/post.lua" <<LUA
local bodies = {}
for line in io.lines("$1") do bodies[#bodies + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
    i = i % #bodies + 1
    return wrk.format(nil, "/v1/decisions", nil, bodies[i])
end
LUA
}

# Starts `triage serve` with extra arguments "$@"; sets SERVER and ADDR.
start_service() {
    RUST_LOG=warn "$BIN" serve --policies "$POLICIES" --listen 127.0.0.1:0 --threads "$SERVER_THREADS" \
        "$@" >"$WORK/serve.out" 2>"$WORK/serve.err" &
    SERVER=$!
    for _ in $(seq 300); do
        grep -q 'listening on' "$WORK/serve.out" 2>/dev/null && break
        sleep 0.1
    done
    ADDR=$(sed -n 's/^listening on //p' "$WORK/serve.out")
    if [ -z "$ADDR" ]; then
        say "the service did not start: $*"
        cat "$WORK/serve.err" >&2
        return 1
    fi
}
