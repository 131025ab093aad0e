# A private PostgreSQL cluster for tests, shared by scripts/postgres.sh (modq serve's own
# tests) and scripts/platforms/ozone.sh (Ozone's database). Sourced, not run.
#
#   pg_bin                      the newest installed PostgreSQL's bin folder, installing
#                               Debian's `postgresql` package first when none is
#   pg_cluster_start DIR PORT   a new cluster in DIR/pgdata (or a folder in /tmp when the
#                               postgres user cannot enter DIR), on 127.0.0.1:PORT only, no
#                               unix socket, fsync off (test data is thrown away); no system
#                               service is assumed or started
#   pg_cluster_stop DIR         stops the cluster DIR's last start made
#
# Needs `say` and `die` from the sourcing script. The cluster belongs to the postgres user
# when run as root (initdb and the server refuse root), to the caller otherwise.

pg_bin() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [[ -z $bin ]]; then
        say "installing PostgreSQL from Debian's packages"
        local sudo_cmd=()
        [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
        if ! DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y postgresql >&2; then
            "${sudo_cmd[@]}" apt-get update >&2
            DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y postgresql >&2
        fi
        bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    fi
    [[ -n $bin ]] || die "no PostgreSQL after installing it"
    printf '%s' "$bin"
}

# Runs a command as the cluster's owner.
pg_as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_cluster_start() {
    local dir=$1 port=$2 bin
    bin=$(pg_bin)
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || die "no postgres user (the postgresql package makes it)"
    fi
    local pgdata=$dir/pgdata
    if ! pg_as_owner test -x "$dir"; then
        pgdata=$(mktemp -d /tmp/modq-pg.XXXXXX)
        say "postgres cannot enter $dir; its cluster goes to $pgdata"
    fi
    printf '%s\n' "$pgdata" >"$dir/pgdata.path"
    rm -rf "$pgdata"
    mkdir -p "$pgdata"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$pgdata"
    chmod 700 "$pgdata"
    pg_as_owner "$bin/initdb" -D "$pgdata" -U postgres -A trust --no-sync >/dev/null
    local log=$dir/postgres.log
    touch "$log"
    [[ $(id -u) -eq 0 ]] && { chown postgres: "$log" 2>/dev/null || true; }
    pg_as_owner test -w "$log" || log=$pgdata/postgres.log
    say "starting PostgreSQL on 127.0.0.1:$port"
    pg_as_owner "$bin/pg_ctl" -D "$pgdata" -l "$log" -w -t 60 \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >&2 || { tail -n 20 "$log" >&2; die "PostgreSQL did not start (log: $log)"; }
}

pg_cluster_stop() {
    local dir=$1 pgdata bin
    [[ -f $dir/pgdata.path ]] || return 0
    pgdata=$(cat "$dir/pgdata.path")
    if [[ -f $pgdata/postmaster.pid ]]; then
        bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
        say "stopping PostgreSQL"
        pg_as_owner "$bin/pg_ctl" -D "$pgdata" -m fast -w stop >&2 || true
    fi
}
