#!/usr/bin/env bash
# Stands a real Synapse homeserver up on 127.0.0.1 for modq's platform tests, seeded with
# reports made through Matrix's own user-facing API, and stops it again.
#
#   synapse.sh up DIR [PORT]   install (once), start, seed; prints KEY=VALUE lines on stdout
#   synapse.sh down DIR        stop the server started in DIR
#
# DIR keeps the virtualenv (reused by the next `up`), the config, the SQLite database, the
# log (DIR/synapse.log) and the pid file. Each `up` starts from an empty database, so what it
# prints is always true of the server it leaves running. Progress goes to stderr; stdout
# carries only the KEY=VALUE lines (also written to DIR/synapse.env).
set -euo pipefail

SYNAPSE_VERSION=1.163.2
SERVER_NAME=modq.test
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

say() { printf 'synapse.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

usage() { die "usage: synapse.sh up DIR [PORT] | synapse.sh down DIR"; }

stop_server() {
    local dir=$1 pidfile=$1/synapse.pid pid
    [[ -f $pidfile ]] || return 0
    pid=$(cat "$pidfile")
    # Only signal the process if it is still the Synapse this DIR started (pids get reused).
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null \
        && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "synapse.app.homeserver"; then
        say "stopping pid $pid"
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

install_synapse() {
    local venv=$1/venv
    python3 -c 'import venv, ensurepip' 2>/dev/null \
        || die "python3 cannot make a venv with pip (Debian: apt-get install -y python3-venv)"
    # The package's own version: synapse.__version__ appends the git branch of whatever
    # checkout the script runs in, so it never equals the pin inside a git clone.
    if [[ -x $venv/bin/python ]] \
        && "$venv/bin/python" -c "import sys, importlib.metadata as m; sys.exit(m.version('matrix-synapse') != '$SYNAPSE_VERSION')" 2>/dev/null; then
        say "reusing $venv (matrix-synapse $SYNAPSE_VERSION)"
        return
    fi
    say "installing matrix-synapse==$SYNAPSE_VERSION into $venv"
    python3 -m venv "$venv"
    nice "$venv/bin/pip" install --quiet --disable-pip-version-check "matrix-synapse==$SYNAPSE_VERSION" >&2
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

write_config() {
    local dir=$1 port=$2 conf=$1/conf data=$1/data
    rm -rf "$conf" "$data"
    mkdir -p "$conf" "$data"
    # The generated file holds the signing key path, macaroon and form secrets; everything
    # modq's tests depend on is overridden by the second file, which Synapse merges on top.
    (cd "$conf" && "$dir/venv/bin/python" -m synapse.app.homeserver --generate-config \
        --server-name "$SERVER_NAME" --report-stats=no \
        --config-path "$conf/homeserver.yaml" --data-directory "$data" >/dev/null)
    local secret
    secret=$("$dir/venv/bin/python" -c 'import secrets; print(secrets.token_hex(32))')
    local rc='{per_second: 10000, burst_count: 10000}'
    cat >"$conf/modq.yaml" <<YAML
# modq's overrides: loopback only, nothing leaves this machine, no rate limits in the way.
server_name: "$SERVER_NAME"
public_baseurl: "http://127.0.0.1:$port/"
listeners:
  - port: $port
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: "$data/homeserver.db"
media_store_path: "$data/media_store"
log_config: "$conf/log.yaml"
pid_file: "$dir/synapse.pid"
registration_shared_secret: "$secret"
enable_registration: false
report_stats: false
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
allow_public_rooms_over_federation: false
url_preview_enabled: false
presence:
  enabled: false
# stats stay ON: the admin event_reports list joins room_stats_state, and with stats off it
# answers an empty queue ("total": 0) although the reports are stored.
enable_metrics: false
rc_message: $rc
rc_registration: $rc
rc_registration_token_validity: $rc
rc_login:
  address: $rc
  account: $rc
  failed_attempts: $rc
rc_admin_redaction: $rc
rc_joins:
  local: $rc
  remote: $rc
rc_joins_per_room: $rc
rc_3pid_validation: $rc
rc_invites:
  per_room: $rc
  per_user: $rc
  per_issuer: $rc
rc_third_party_invite: $rc
rc_media_create: $rc
rc_federation:
  window_size: 1000
  sleep_limit: 10000
  sleep_delay: 0
  reject_limit: 10000
  concurrent: 10000
rc_presence:
  per_user: $rc
rc_delayed_event_mgmt: $rc
rc_reports: $rc
rc_room_creation: $rc
rc_user_directory: $rc
YAML
    # Logs to one file in DIR, at INFO; stdout stays free for the KEY=VALUE lines.
    cat >"$conf/log.yaml" <<YAML
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: "$dir/synapse.log"
    encoding: utf8
loggers:
  synapse.storage.SQL:
    level: WARNING
root:
  level: INFO
  handlers: [file]
disable_existing_loggers: false
YAML
    printf '%s' "$secret" >"$conf/registration_shared_secret"
    chmod 600 "$conf/registration_shared_secret"
}

wait_healthy() {
    local dir=$1 url=$2 launched=$3
    for _ in $(seq 1 300); do
        if curl -fsS --max-time 2 "$url/health" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$launched" 2>/dev/null; then
            tail -n 40 "$dir/synapse.stdio.log" "$dir/synapse.log" >&2 || true
            die "Synapse exited during start-up (logs: $dir/synapse.log, $dir/synapse.stdio.log)"
        fi
        sleep 0.2
    done
    tail -n 40 "$dir/synapse.log" >&2 || true
    die "Synapse did not answer $url/health within 60 s (log: $dir/synapse.log)"
}

cmd_up() {
    local dir=$1 port=${2:-}
    [[ -z $port || $port =~ ^[0-9]+$ ]] || die "port must be a number, got '$port'"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    command -v curl >/dev/null || die "curl is needed"
    stop_server "$dir"
    install_synapse "$dir"
    [[ -n $port ]] || port=$(free_port)
    write_config "$dir" "$port"
    : >"$dir/synapse.log"
    : >"$dir/synapse.stdio.log"
    say "starting on 127.0.0.1:$port (log $dir/synapse.log)"
    local started=$SECONDS
    # setsid + no inherited stdio: the server outlives this script and never holds the
    # caller's pipes open. Synapse writes the pid file itself (pid_file above).
    setsid "$dir/venv/bin/python" -m synapse.app.homeserver \
        -c "$dir/conf/homeserver.yaml" -c "$dir/conf/modq.yaml" \
        </dev/null >>"$dir/synapse.stdio.log" 2>&1 &
    local launched=$!
    local url="http://127.0.0.1:$port"
    wait_healthy "$dir" "$url" "$launched"
    [[ -s $dir/synapse.pid ]] || echo "$launched" >"$dir/synapse.pid"
    say "healthy after $((SECONDS - started)) s; seeding"
    "$dir/venv/bin/python" "$HERE/synapse_seed.py" \
        --url "$url" --server-name "$SERVER_NAME" \
        --shared-secret-file "$dir/conf/registration_shared_secret" \
        >"$dir/synapse.env.tmp"
    mv "$dir/synapse.env.tmp" "$dir/synapse.env"
    printf 'SYNAPSE_PID=%s\nSYNAPSE_LOG=%s\n' "$(cat "$dir/synapse.pid")" "$dir/synapse.log" >>"$dir/synapse.env"
    cat "$dir/synapse.env"
}

cmd_down() {
    local dir=$1
    [[ -d $dir ]] || die "no such directory: $dir"
    stop_server "$(cd "$dir" && pwd)"
    say "stopped"
}

case ${1:-} in
    up) [[ $# -ge 2 && $# -le 3 ]] || usage; cmd_up "$2" "${3:-}" ;;
    down) [[ $# -eq 2 ]] || usage; cmd_down "$2" ;;
    *) usage ;;
esac
