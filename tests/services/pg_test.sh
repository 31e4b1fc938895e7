#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CTest driver for examples/pg_client.c against a real PostgreSQL server.
#
# usage: pg_test.sh PATH/TO/pg_client PG_BINDIR [PYTHON3]
#
# Everything lives in one temporary directory: a cluster made by initdb, a
# server listening on 127.0.0.1 (a free port) and on a unix socket in that
# directory, and the logs. Postgres refuses to run as root, so as root the
# server runs as "nobody" (runuser). The steps:
#   1. start the client first, wait until its first connection attempt has
#      failed, then start the server: the connection must be retried
#      while the server is down and while it starts (Network, then
#      ServiceUnavailable while it answers "starting up");
#   2. once the query loop is under way, stop the server (fast shutdown:
#      the running query dies with 57P01) and start it again: a query must
#      be retried across the restart, on a new connection;
#   3. check the SQLSTATE -> mg_error kind table against errors that the
#      real server raises, and two connection failures it really gives.
# The trap stops the client and the server and removes the directory on
# every exit, failure included; every wait has a bound.
set -euo pipefail

if (($# < 2)); then
    echo "usage: pg_test.sh PATH/TO/pg_client PG_BINDIR [PYTHON3]" >&2
    exit 2
fi
client=$(realpath "$1") bindir=$2 python=${3:-python3}

# Only the connection strings below may choose where the client goes.
while read -r var; do unset "$var"; done < <(compgen -e | grep '^PG' || true)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mgretry-pg.XXXXXX")
data=$tmp/data
client_pid=
failures=0

# Runs a command as the server's user.
as_pg() {
    if ((EUID == 0)); then
        runuser -u nobody -- "$@"
    else
        "$@"
    fi
}

cleanup() {
    local status=$? pid
    trap - EXIT INT TERM
    if [[ -n $client_pid ]] && kill -0 "$client_pid" 2>/dev/null; then
        kill "$client_pid" 2>/dev/null || true
        wait "$client_pid" 2>/dev/null || true
    fi
    if [[ -f $data/postmaster.pid ]]; then
        as_pg "$bindir/pg_ctl" stop -D "$data" -m immediate -w -t 20 \
            >/dev/null 2>&1 || true
    fi
    # Should pg_ctl have failed, the postmaster's pid is in its pid file.
    if [[ -f $data/postmaster.pid ]]; then
        pid=$(head -n 1 "$data/postmaster.pid")
        [[ $pid =~ ^[0-9]+$ ]] && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# wait_for PATTERN SECONDS: until the client's output has a line matching
# PATTERN; fails when the client exits first or time runs out.
wait_for() {
    local pattern=$1 deadline=$((SECONDS + $2))
    until grep -qE "$pattern" "$tmp/client.out"; do
        if ! kill -0 "$client_pid" 2>/dev/null; then
            cat "$tmp/client.out"
            echo "FAIL: the client exited before printing /$pattern/"
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            cat "$tmp/client.out"
            echo "FAIL: no /$pattern/ from the client within $2 s"
            exit 1
        fi
        sleep 0.05
    done
}

server_start() {
    # -W: do not wait; the client is meant to meet the server starting.
    as_pg "$bindir/pg_ctl" start -D "$data" -W -l "$tmp/server.log" \
        -o "-c listen_addresses=127.0.0.1 -p $port -c fsync=off \
            -c unix_socket_directories='$tmp'" >/dev/null
}

cd "$tmp"
((EUID == 0)) && chown nobody "$tmp"
if ! as_pg "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 \
    --locale=C --no-sync >"$tmp/initdb.log" 2>&1; then
    cat "$tmp/initdb.log"
    echo "FAIL: initdb"
    exit 1
fi
port=$("$python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
conninfo="host=127.0.0.1 port=$port user=postgres dbname=postgres connect_timeout=3"
echo "pg_test: cluster in $data, server on 127.0.0.1:$port"

# ---- 1 and 2: start-up and restart ----
# 0.1 s each: the loop lasts long enough for a restart on a slow machine.
queries=40
# More retries than the default: a busy machine may start the server slowly.
timeout 120 "$client" --queries "$queries" --retries 30 "$conninfo" >"$tmp/client.out" 2>&1 &
client_pid=$!
wait_for 'connect attempt 1 failed' 15
echo "pg_test: the client's first connection failed; starting the server"
server_start
wait_for 'query 3 ok' 60
echo "pg_test: query 3 done; restarting the server"
as_pg "$bindir/pg_ctl" stop -D "$data" -m fast -w -t 30 >/dev/null
sleep 0.3
server_start
client_status=0
wait "$client_pid" || client_status=$?
client_pid=
cat "$tmp/client.out"

out=$tmp/client.out
((client_status == 0)) || fail "the client exited with $client_status"
connect_attempts=$(sed -n 's/^result: phase=connect .*attempts=\([0-9]*\).*/\1/p' "$out")
if [[ -z $connect_attempts ]] || ((connect_attempts < 2)); then
    fail "the first connection was not retried (attempts: ${connect_attempts:-none})"
fi
grep -q '^result: phase=connect n=0 stop=success ' "$out" ||
    fail "the client did not connect"
grep -qE 'connect attempt [0-9]+ failed -> Network' "$out" ||
    fail "no connection attempt failed with Network while the server was down"
ok_runs=$(grep -c '^result: phase=query .* stop=success ' "$out" || true)
((ok_runs == queries)) || fail "$ok_runs of $queries queries succeeded"
retried=$(grep -cE '^result: phase=query .* stop=success attempts=([2-9]|[1-9][0-9])' "$out" || true)
((retried >= 1)) || fail "no query was retried across the restart"
grep -qE 'query [0-9]+ attempt [0-9]+ failed -> (ServiceUnavailable|Network)' "$out" ||
    fail "no query failed with ServiceUnavailable or Network during the restart"
connections=$(sed -n 's/^summary: .*connections=\([0-9]*\).*/\1/p' "$out")
if [[ -z $connections ]] || ((connections < 2)); then
    fail "the client did not reconnect after the restart (connections: ${connections:-none})"
fi
grep -q "summary: queries=$queries ok=$queries " "$out" ||
    fail "the summary does not show $queries successful queries"

# ---- 3: the mapping table, against errors the server really raises ----
# run_case SQL|- CONNINFO KIND ATTEMPTS STOP PHASE
run_case() {
    local sql=$1 info=$2 kind=$3 attempts=$4 stop=$5 phase=$6 status=0 args
    args=(--queries 1 --retries 1 --base-ms 1 --max-ms 2 --deadline-s 30)
    [[ $sql == - ]] || args+=(--sql "$sql")
    timeout 60 "$client" "${args[@]}" "$info" >"$tmp/case.out" 2>&1 || status=$?
    if ! grep -q "^result: phase=$phase .*stop=$stop attempts=$attempts .*kind=$kind\$" \
        "$tmp/case.out" || ((status != 1)); then
        cat "$tmp/case.out"
        fail "'$sql' ($info): wanted $phase $stop after $attempts attempts with kind $kind, exit 1 (got $status)"
    else
        [[ $sql == - ]] && sql="(connect) $info"
        echo "pg_test: mapped: ${sql:0:72} -> $kind ($stop, $attempts attempts)"
    fi
}
raise() {
    printf "DO \$\$BEGIN RAISE EXCEPTION 'mapped' USING ERRCODE = '%s'; END\$\$" "$1"
}

# The server is running again (the client above proved it); the cases
# make their own connections.
while read -r sqlstate kind attempts stop; do
    run_case "$(raise "$sqlstate")" "$conninfo" "$kind" "$attempts" "$stop" query
done <<'EOF'
08006 Network 2 exhausted
57P01 ServiceUnavailable 2 exhausted
57P03 ServiceUnavailable 2 exhausted
53300 ServiceUnavailable 2 exhausted
40001 Conflict 2 exhausted
40P01 Conflict 2 exhausted
57014 Timeout 2 exhausted
28P01 Authentication 1 not_retryable
42501 Authorization 1 not_retryable
23505 Database 1 not_retryable
EOF
run_case "SELEC 1" "$conninfo" Database 1 not_retryable query
run_case "SELECT 1/0" "$conninfo" Database 1 not_retryable query
run_case - "host=127.0.0.1 port=$port user=postgres dbname=no_such_db" \
    Database 1 not_retryable connect
run_case - "host=127.0.0.1 port=$port no_such_option=1" \
    Configuration 1 not_retryable connect

as_pg "$bindir/pg_ctl" stop -D "$data" -m fast -w -t 30 >/dev/null
if ((failures > 0)); then
    echo "--- server log"
    cat "$tmp/server.log" || true
    echo "pg_test: FAILED ($failures)"
    exit 1
fi
echo "pg_test: PASSED"
