#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tests of mgretry(1) with real child processes: small sh scripts written
# into a temporary directory that fail a few times then succeed, exit 127,
# hang, die by a signal or record the signals they get. Each script appends
# a line to a file per attempt, so the attempts are counted from outside.
# Policies use millisecond delays so that every case runs in well under a
# second; timing bounds are loose (the machine may be busy).
#
# usage: run-cli-tests.sh --mgretry=PATH --case=NAME   (one case)
#        run-cli-tests.sh --mgretry=PATH --list        (the case names)
set -euo pipefail

mgretry='' case_name='' list=0
for arg in "$@"; do
    case $arg in
    --mgretry=*) mgretry=${arg#*=} ;;
    --case=*) case_name=${arg#*=} ;;
    --list) list=1 ;;
    *) echo "run-cli-tests.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mgretry-cli.XXXXXX")
bg_pids=()
cleanup() {
    local p
    for p in "${bg_pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf -- "$tmp"
}
trap cleanup EXIT
unset MGRETRY_POLICY MG_RETRY_LOG

fail() { echo "FAIL: $*" >&2; exit 1; }
attempts() { if [[ -f $1 ]]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
now_ms() { date +%s%3N; }

# run EXPECTED_STATUS ARGS...: runs mgretry, stderr to $tmp/err, stdout to
# $tmp/out; fails unless the exit status is EXPECTED_STATUS.
run() {
    local want=$1 status=0
    shift
    "$mgretry" "$@" >"$tmp/out" 2>"$tmp/err" || status=$?
    if [[ $status != "$want" ]]; then
        echo "--- stderr:" >&2
        cat "$tmp/err" >&2
        fail "mgretry $* exited $status, expected $want"
    fi
}

expect_attempts() { # FILE N
    local got
    got=$(attempts "$1")
    [[ $got == "$2" ]] || fail "expected $2 attempts, got $got"
}

expect_err() { # PATTERN (grep -E on stderr)
    grep -Eq -- "$1" "$tmp/err" || {
        cat "$tmp/err" >&2
        fail "stderr does not match: $1"
    }
}

# script NAME BODY: an executable sh script; $C is its attempt file.
script() {
    printf '#!/bin/sh\nC=%q\necho attempt >>"$C"\n%s\n' "$tmp/$1.count" "$2" \
        >"$tmp/$1"
    chmod +x "$tmp/$1"
}

# A command that fails until its attempt N.
flaky() { # NAME N
    script "$1" "[ \$(wc -l <\"\$C\") -ge $2 ]"
}

fast='retries=5 base=1ms max=4ms jitter=none'

# ---- cases ----

case_succeeds_after_two_failures() {
    flaky f 3
    run 0 --policy "$fast" -- "$tmp/f"
    expect_attempts "$tmp/f.count" 3
    [[ ! -s $tmp/err ]] || fail "a success prints nothing by default"
}

case_exhausted_returns_last_status() {
    script s 'exit 3'
    run 3 --policy "retries=2 base=1ms max=2ms" -- "$tmp/s"
    expect_attempts "$tmp/s.count" 3
    expect_err '^mgretry: giving up after 3 attempts \(retries exhausted\): exit status 3$'
}

case_retries_zero_runs_once() {
    script s 'exit 42'
    run 42 --retries 0 -- "$tmp/s"
    expect_attempts "$tmp/s.count" 1
}

case_exit_127_and_126_not_retried() {
    script s 'exit 127'
    run 127 --policy "$fast" -- "$tmp/s"
    expect_attempts "$tmp/s.count" 1
    expect_err 'not retryable'
    script t 'exit 126'
    run 126 --policy "$fast" -- "$tmp/t"
    expect_attempts "$tmp/t.count" 1
    # A command that does not exist, and a file that is not executable.
    run 127 --policy "$fast" -- "$tmp/no-such-command"
    expect_err 'No such file or directory'
    printf 'echo attempt >>%q\n' "$tmp/n.count" >"$tmp/n"
    chmod -x "$tmp/n"
    run 126 --policy "$fast" -- "$tmp/n"
    expect_err 'Permission denied'
    expect_attempts "$tmp/n.count" 0
}

case_sigint_death_not_retried() {
    script s 'kill -INT $$; sleep 5'
    run 130 --policy "$fast" -- "$tmp/s"
    expect_attempts "$tmp/s.count" 1
    # Any other signal is a failure like another: retried.
    script k 'kill -KILL $$'
    run 137 --policy "retries=2 base=1ms max=1ms" -- "$tmp/k"
    expect_attempts "$tmp/k.count" 3
}

case_retry_on_and_stop_on() {
    # Exit 75 twice, then 1: only 75 is retried.
    script s '[ $(wc -l <"$C") -ge 3 ] && exit 1; exit 75'
    run 1 --policy "$fast" --retry-on 75 -- "$tmp/s"
    expect_attempts "$tmp/s.count" 3
    # Ranges and lists; --stop-on wins over --retry-on.
    script t 'exit 3'
    run 3 --policy "$fast" --retry-on 1-5,75 --stop-on 3 -- "$tmp/t"
    expect_attempts "$tmp/t.count" 1
    script u 'exit 4'
    run 4 --policy "retries=2 base=1ms max=1ms" --retry-on=1-5,75 \
        --stop-on=3 -- "$tmp/u"
    expect_attempts "$tmp/u.count" 3
    # --stop-on alone keeps the default for the other statuses.
    script v 'exit 9'
    run 9 --policy "$fast" --stop-on 9 -- "$tmp/v"
    expect_attempts "$tmp/v.count" 1
    # Classification by 128+N: retry only death by SIGTERM.
    script w 'kill -TERM $$'
    run 143 --policy "retries=1 base=1ms max=1ms" --retry-on 143 -- "$tmp/w"
    expect_attempts "$tmp/w.count" 2
}

case_timeout_kills_a_hanging_attempt() {
    script h 'exec sleep 10'
    local t0 t1
    t0=$(now_ms)
    run 124 --policy "retries=1 base=1ms max=1ms" --timeout 300ms -- "$tmp/h"
    t1=$(now_ms)
    expect_attempts "$tmp/h.count" 2
    (((t1 - t0) >= 600)) || fail "two 300 ms timeouts took $((t1 - t0)) ms"
    (((t1 - t0) < 5000)) || fail "two 300 ms timeouts took $((t1 - t0)) ms"
    # A timed-out attempt followed by a success is a success.
    script g '[ $(wc -l <"$C") -ge 2 ] && exit 0; exec sleep 10'
    run 0 --policy "$fast" -t 1s -- "$tmp/g"
    expect_attempts "$tmp/g.count" 2
}

case_timeout_escalates_to_sigkill() {
    # Ignores SIGTERM, as does its own child: only SIGKILL ends them. The
    # pids go to h.pids so that survivors can be looked for (no pgrep in a
    # minimal Debian image).
    script h "trap '' TERM; sleep 10 & echo \$! \$\$ >$tmp/h.pids; wait; sleep 10"
    local t0 t1 pid i alive
    t0=$(now_ms)
    run 124 --retries 0 --timeout 300ms --kill-after 100ms -- "$tmp/h"
    t1=$(now_ms)
    (((t1 - t0) < 5000)) || fail "SIGKILL came late: $((t1 - t0)) ms"
    [[ -s $tmp/h.pids ]] || fail "the command did not start"
    # The whole process group went, the grandchild included. The orphaned
    # grandchild is reparented to PID 1, which in a container need not
    # reap it: a zombie (state Z in /proc/PID/stat) has been killed, so it
    # counts as gone.
    for pid in $(cat "$tmp/h.pids"); do
        for ((i = 0; i < 50; i++)); do
            alive=0
            if kill -0 "$pid" 2>/dev/null; then
                alive=1
                local stat
                stat=$(cat "/proc/$pid/stat" 2>/dev/null || true)
                stat=${stat##*) }
                [[ ${stat%% *} == Z || -z $stat ]] && alive=0
            fi
            ((alive)) || break
            sleep 0.02
        done
        ((!alive)) || fail "process $pid of the command survived"
    done
}

# Starts mgretry in the background on a script that records a SIGTERM and
# waits for its first attempt; then sends SIGTERM to mgretry.
signal_case() { # EXTRA-OPTION...
    # In --foreground mode only the script gets the signal; it ends its
    # own child so that nothing holds the test's output open. h.ready
    # appears once the trap is set.
    script h "trap 'echo TERM >>$tmp/h.sig; kill \$! 2>/dev/null; exit 143' TERM
sleep 10 &
echo >$tmp/h.ready
wait"
    "$mgretry" --policy "retries=5 base=1ms max=1ms" "$@" -- "$tmp/h" \
        2>"$tmp/err" &
    local pid=$! i status=0 t0 t1
    bg_pids+=("$pid")
    for ((i = 0; i < 500; i++)); do
        [[ -e $tmp/h.ready ]] && break
        sleep 0.02
    done
    [[ -e $tmp/h.ready ]] || fail "the command did not start"
    t0=$(now_ms)
    kill -TERM "$pid"
    wait "$pid" || status=$?
    t1=$(now_ms)
    [[ $status == 143 ]] || fail "mgretry exited $status, expected death by SIGTERM (143)"
    grep -q TERM "$tmp/h.sig" 2>/dev/null || fail "the command did not get SIGTERM"
    expect_attempts "$tmp/h.count" 1
    (((t1 - t0) < 3000)) || fail "mgretry took $((t1 - t0)) ms to stop"
    expect_err 'interrupted by signal 15'
}

case_sigterm_is_forwarded_and_stops_retries() {
    signal_case
}

case_sigterm_is_forwarded_in_foreground_mode() {
    signal_case --foreground
}

case_sigterm_during_backoff_stops() {
    script s 'exit 1'
    "$mgretry" --policy "retries=5 base=10s max=10s jitter=none" -- "$tmp/s" \
        2>"$tmp/err" &
    local pid=$! i status=0 t0 t1
    bg_pids+=("$pid")
    for ((i = 0; i < 200; i++)); do
        [[ -s $tmp/s.count ]] && break
        sleep 0.02
    done
    sleep 0.1 # now in the 10 s wait
    t0=$(now_ms)
    kill -TERM "$pid"
    wait "$pid" || status=$?
    t1=$(now_ms)
    [[ $status == 143 ]] || fail "mgretry exited $status, expected 143"
    (((t1 - t0) < 3000)) || fail "the wait was not cut short: $((t1 - t0)) ms"
    expect_attempts "$tmp/s.count" 1
}

case_policy_from_environment() {
    script s 'exit 1'
    MGRETRY_POLICY="retries=1 base=1ms max=1ms" run 1 -- "$tmp/s"
    expect_attempts "$tmp/s.count" 2
    # A flag overrides one field of the environment's policy...
    rm -f "$tmp/s.count"
    MGRETRY_POLICY="retries=1 base=1ms max=1ms" run 1 --retries 3 -- "$tmp/s"
    expect_attempts "$tmp/s.count" 4
    # ...and --policy replaces it.
    rm -f "$tmp/s.count"
    MGRETRY_POLICY="retries=1 base=1ms max=1ms" run 1 \
        --policy "retries=0" -- "$tmp/s"
    expect_attempts "$tmp/s.count" 1
    # A bad policy in the environment is a usage error that names it.
    MGRETRY_POLICY="retries=2 bogus=1" run 125 -- "$tmp/s"
    expect_err 'MGRETRY_POLICY.*byte 10'
    expect_attempts "$tmp/s.count" 1
}

case_shorthand_flags_set_the_delays() {
    # 3 retries with base 100 ms doubling, no jitter: 100 + 200 + 400 ms.
    script s 'exit 1'
    local t0 t1
    t0=$(now_ms)
    run 1 --retries 3 --base 100ms --max 1s --jitter none --multiplier 2 \
        -v -- "$tmp/s"
    t1=$(now_ms)
    expect_attempts "$tmp/s.count" 4
    expect_err '^mgretry: retry 1 of 3 in 100 ms$'
    expect_err '^mgretry: retry 2 of 3 in 200 ms$'
    expect_err '^mgretry: retry 3 of 3 in 400 ms$'
    (((t1 - t0) >= 700)) || fail "slept only $((t1 - t0)) ms of 700"
    (((t1 - t0) < 5000)) || fail "took $((t1 - t0)) ms for 700 ms of waits"
    # The cap and the multiplier.
    run 1 -r 3 --base 10ms --max 15ms --jitter none --multiplier 1.5 -v \
        -- "$tmp/s"
    expect_err 'retry 2 of 3 in 15 ms'
    # A deadline shorter than the first wait stops at once.
    rm -f "$tmp/s.count"
    run 1 -r 3 --base 1s --jitter none --deadline 100ms -- "$tmp/s"
    expect_attempts "$tmp/s.count" 1
    expect_err 'deadline reached'
}

case_verbose_quiet_and_default_output() {
    flaky f 3
    run 0 --policy "$fast" -v -- "$tmp/f"
    expect_err '^mgretry: attempt 1 of 6 failed: exit status 1$'
    expect_err '^mgretry: retry 1 of 5 in 1 ms$'
    expect_err '^mgretry: attempt 2 of 6 failed: exit status 1$'
    expect_err '^mgretry: retry 2 of 5 in 2 ms$'
    expect_err '^mgretry: attempt 3 of 6 succeeded$'
    [[ $(wc -l <"$tmp/err") == 5 ]] || fail "verbose printed extra lines"
    script s 'exit 2'
    run 2 --policy "retries=1 base=1ms max=1ms" -q -- "$tmp/s"
    [[ ! -s $tmp/err ]] || fail "--quiet printed: $(cat "$tmp/err")"
    run 2 --policy "retries=1 base=1ms max=1ms" -- "$tmp/s"
    [[ $(wc -l <"$tmp/err") == 1 ]] || fail "default output is one line"
    expect_err '^mgretry: giving up after 2 attempts'
    # The library's own log stays quiet: mgretry speaks for itself.
    MG_RETRY_LOG=debug run 2 --policy "retries=1 base=1ms max=1ms" -q \
        -- "$tmp/s"
    [[ ! -s $tmp/err ]] || fail "MG_RETRY_LOG leaked into --quiet"
}

case_command_io_and_arguments_pass_through() {
    run 0 -- printf '%s|' 'a b' '-v' '--retries' ''
    [[ $(cat "$tmp/out") == 'a b|-v|--retries||' ]] ||
        fail "arguments changed: $(cat "$tmp/out")"
    # Without "--", the first non-option starts the command.
    run 0 -r 1 sh -c 'echo "$0 $1"' -q x
    [[ $(cat "$tmp/out") == '-q x' ]] || fail "options after the command were taken"
    # stdin reaches the command.
    echo hello | "$mgretry" -- cat >"$tmp/out"
    [[ $(cat "$tmp/out") == hello ]] || fail "stdin did not reach the command"
}

case_bad_options_exit_125() {
    local args
    script s 'exit 0'
    while IFS= read -r args; do
        eval "set -- $args"
        run 125 "$@"
        expect_err "^mgretry: "
        expect_err "mgretry --help"
        expect_attempts "$tmp/s.count" 0
    done <<EOF
--bogus -- $tmp/s
-x -- $tmp/s
--retries
--
--retries x -- $tmp/s
--retries 4294967296 -- $tmp/s
--retries '3 base=1s' -- $tmp/s
--base 100 -- $tmp/s
--max 5h -- $tmp/s
--jitter bogus -- $tmp/s
--multiplier 0.5 -- $tmp/s
--multiplier 1,5 -- $tmp/s
--timeout 5 -- $tmp/s
--kill-after -1s -- $tmp/s
--retry-on 300 -- $tmp/s
--retry-on 5-1 -- $tmp/s
--stop-on 1,,2 -- $tmp/s
--stop-on '' -- $tmp/s
--policy '' -- $tmp/s
--policy 'retries=3 retries=4' -- $tmp/s
--policy 'base=10s max=1s' -- $tmp/s
--base 10s --max 1s -- $tmp/s
--quiet=yes -- $tmp/s
EOF
}

case_help_and_version() {
    run 0 --help
    grep -q '^Usage: mgretry \[OPTION\]... \[--\] COMMAND \[ARG\]...' "$tmp/out" ||
        fail "--help does not print the usage"
    run 0 -h
    run 0 --version
    grep -Eq '^mgretry \(libmgretry\) [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" ||
        fail "--version: $(cat "$tmp/out")"
}

cases=$(declare -F | sed -n 's/^declare -f case_//p')
if ((list)); then
    echo "$cases"
    exit 0
fi
[[ -x $mgretry ]] || { echo "run-cli-tests.sh: --mgretry=PATH needed" >&2; exit 2; }
grep -qxF -- "$case_name" <<<"$cases" || {
    echo "run-cli-tests.sh: unknown case '$case_name'; cases:" $cases >&2
    exit 2
}
"case_$case_name"
echo "PASS: $case_name"
