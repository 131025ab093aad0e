#!/usr/bin/env bash
# Fuzzes `modq serve` with schemathesis, every check on, against its own OpenAPI document:
# any answer the document does not describe, any 5xx, any request the schema refuses but the
# server accepts (or the reverse) fails the run.
#
#   scripts/schemathesis.sh [PATH_TO_MODQ]     (default: target/debug/modq)
#
# SCHEMATHESIS_EXAMPLES (default 30 per operation) and SCHEMATHESIS_SEED (default fixed, so
# that CI is repeatable) widen or move the search. About a minute and a half on two cores.
#
# Needs `schemathesis` on PATH (.ci/run installs the pinned version). Listens on 127.0.0.1
# only; the database and token live in a temporary folder removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

modq="${1:-target/debug/modq}"
examples="${SCHEMATHESIS_EXAMPLES:-30}"
work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

db="$work/modq.db"
"$modq" serve --db "$db" import assets/sample-queue.jsonl >/dev/null
token="$("$modq" serve --db "$db" token add --role admin --name fuzzer | tail -n 1)"

# A free port: bind to port 0 and read back what the kernel gave.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# The fuzzer sends thousands of requests a second, some without a token on purpose; rate
# limiting and the failed-authentication budget are tested elsewhere.
"$modq" serve --db "$db" --listen "127.0.0.1:$port" --rate 100000 --auth-failures 100000 \
    2>"$work/server.log" &
server_pid=$!

base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
        "$base/v1/health" 2>/dev/null; then
        break
    fi
    sleep 0.1
done

status=0
export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}"
export SCHEMATHESIS_HOOKS=schemathesis_hooks
schemathesis run "$base/v1/openapi.json" \
    --checks all \
    --max-examples "$examples" \
    --seed "${SCHEMATHESIS_SEED:-20261205}" \
    --workers 2 \
    --request-timeout 20 \
    --header "Authorization: Bearer $token" \
    --suppress-health-check all \
    --report-dir "$work/report" \
    || status=$?
if [ "$status" -ne 0 ]; then
    echo "schemathesis found problems; the server's log ends:" >&2
    tail -n 20 "$work/server.log" >&2
fi
exit "$status"
