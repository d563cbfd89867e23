#!/usr/bin/env bash
# A throwaway PostgreSQL server for the decision store's tests and benchmark:
# Debian's `postgresql` package (installed when missing), a fresh data
# directory under /tmp, listening on loopback only, run as an unprivileged
# user (the server refuses root).
#
#   eval "$(bash scripts/postgres.sh start)"   # exports TRIAGE_TEST_POSTGRES
#   bash scripts/postgres.sh stop              # stops it, removes its data
#
# `start` prints the `export` lines for the shell to evaluate; everything
# else goes to stderr. `stop` reads TRIAGE_PG_DIR from the environment.
set -euo pipefail

bin_dir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

install() {
    bin_dir >/dev/null && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >&2
    $sudo apt-get install -y -qq --no-install-recommends postgresql >&2
}

# Runs a command as the server's user: `postgres` when we are root.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    install
    local bin dir port
    bin=$(bin_dir)
    dir=$(mktemp -d /tmp/triage-postgres.XXXXXX)
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U triage --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    # A port from a range unlikely to be taken; tried until one starts.
    for _ in 1 2 3 4 5 6 7 8; do
        port=$((20000 + RANDOM % 20000))
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200" start >&2; then
            as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U triage triage
            echo "export TRIAGE_PG_DIR=$dir"
            echo "export TRIAGE_TEST_POSTGRES=postgres://triage@127.0.0.1:$port/triage"
            return 0
        fi
    done
    cat "$dir/server.log" >&2
    exit 1
}

stop() {
    local dir=${TRIAGE_PG_DIR:-}
    [ -n "$dir" ] && [ -d "$dir/data" ] || { echo "postgres.sh: no server to stop" >&2; return 0; }
    as_owner "$(bin_dir)/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
