#!/usr/bin/env bash
# A private PostgreSQL for modq serve's tests on PostgreSQL (the storage suite, several
# servers on one queue), on 127.0.0.1 only.
#
#   postgres.sh up DIR [PORT]   install PostgreSQL from Debian's packages if missing, start a
#                               new cluster in DIR (default port 15433), and print
#                               MODQ_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/postgres
#                               on stdout (also written to DIR/postgres.env)
#   postgres.sh down DIR        stop it
#
# Each `up` makes the cluster anew. Port 15432 is the Ozone scripts' (scripts/platforms).
# Progress goes to stderr; stdout carries only the KEY=VALUE line.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
say() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { die "usage: postgres.sh up DIR [PORT] | postgres.sh down DIR"; }
# shellcheck source=lib/postgres_cluster.sh
source "$HERE/lib/postgres_cluster.sh"

[[ $# -ge 2 ]] || usage
command=$1
dir=$2
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
case $command in
    up)
        port=${3:-15433}
        [[ $port =~ ^[0-9]+$ ]] || die "PORT must be a number"
        pg_cluster_stop "$dir"
        pg_cluster_start "$dir" "$port"
        url="postgres://postgres@127.0.0.1:$port/postgres"
        printf 'MODQ_TEST_POSTGRES_URL=%s\n' "$url" | tee "$dir/postgres.env"
        ;;
    down)
        pg_cluster_stop "$dir"
        ;;
    *) usage ;;
esac
