#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CTest driver for examples/http_client.c against a real HTTP server.

usage: http_test.py PATH/TO/http_client

Starts http_server.py's scripted server on 127.0.0.1 (a free port chosen
by the kernel) in this process, runs the client once per scenario, and
checks, from the server's own request log, the number of attempts and
that every wait honoured the Retry-After the server sent: the next request
arrives no earlier than the server allowed (delta-seconds from the moment
it answered, or the HTTP-date) and not absurdly later (a loose upper
bound, for slow CI machines). The client's result line must show the
expected stop reason, attempt count and error kind. The server is shut
down at the end, whatever happens; each client run has a timeout.
"""

import os
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import http_server  # noqa: E402

# Clocks: the server stamps arrivals with the real-time clock, the client
# sleeps on the monotonic one; over a few seconds they may differ by NTP
# slewing (at most 0.5 ms/s). This slack covers that and nothing more.
CLOCK_SLACK_S = 0.01
# How late a retry may come after the earliest allowed moment: the client's
# own backoff (at most 1 s with its default policy) plus scheduling noise.
LATE_LIMIT_S = 2.5
CLIENT_TIMEOUT_S = 60

# The client must reach the loopback server directly, whatever proxy the
# environment names.
CLIENT_ENV = {k: v for k, v in os.environ.items()
              if not k.lower().endswith("_proxy")}

# name, steps, extra client arguments, exit code, stop, attempts, kind,
# and the least gap between consecutive requests when no Retry-After was
# sent (equal jitter waits at least half the nominal 100 ms, 200 ms, ...).
SCENARIOS = [
    ("retry-after", "503:1,429:date2,200", [], 0, "success", 3, "none"),
    ("backoff-only", "503,504,200", [], 0, "success", 3, "none"),
    ("malformed-retry-after", "503:soon,200", [], 0, "success", 2, "none"),
    ("not-retryable", "404", [], 1, "not_retryable", 1, "NotFound"),
    ("pushback-ceiling", "503:3600", [], 1, "pushback", 1,
     "ServiceUnavailable"),
    ("exhausted", "503", ["--retries", "2"], 1, "exhausted", 3,
     "ServiceUnavailable"),
]


def parse_result(output):
    """The client's 'result: k=v ...' line as a dict, or None."""
    for line in output.splitlines():
        if line.startswith("result: "):
            return dict(kv.split("=", 1) for kv in line[8:].split())
    return None


def check_gaps(name, requests, failures):
    """Each request after the first must honour what the previous answer
    asked for: Retry-After, or else the least backoff."""
    for prev, cur in zip(requests, requests[1:]):
        gap = cur["arrival"] - prev["arrival"]
        if prev["not_before"] is not None:
            early = prev["not_before"] - cur["arrival"]
            late = cur["arrival"] - prev["not_before"]
            print("  %s: request %d came %.3f s after request %d "
                  "(Retry-After: %s; %.3f s after the allowed time)"
                  % (name, cur["index"] + 1, gap, prev["index"] + 1,
                     prev["retry_after"], late))
            if early > CLOCK_SLACK_S:
                failures.append("%s: request %d came %.3f s before "
                                "Retry-After allowed" %
                                (name, cur["index"] + 1, early))
            if late > LATE_LIMIT_S:
                failures.append("%s: request %d came %.3f s after "
                                "Retry-After allowed (limit %.1f s)" %
                                (name, cur["index"] + 1, late, LATE_LIMIT_S))
        else:
            # Equal jitter: at least half the nominal delay, which is
            # min(100 ms * 2^k, 1 s) before retry k + 1.
            least = min(0.05 * (2 ** prev["index"]), 0.5) - CLOCK_SLACK_S
            print("  %s: request %d came %.3f s after request %d "
                  "(no valid Retry-After; backoff at least %.3f s)"
                  % (name, cur["index"] + 1, gap, prev["index"] + 1, least))
            if gap < least:
                failures.append("%s: request %d came after %.3f s, less "
                                "than the backoff allows (%.3f s)" %
                                (name, cur["index"] + 1, gap, least))
            if gap > 1.0 + LATE_LIMIT_S:
                failures.append("%s: request %d came after %.3f s; the "
                                "backoff is capped at 1 s" %
                                (name, cur["index"] + 1, gap))


def run_scenario(client, server, base_url, scenario, failures):
    name, steps, extra, want_exit, want_stop, want_attempts, want_kind = \
        scenario
    url = "%s/%s/%s" % (base_url, name, steps)
    print("\n=== %s: %s" % (name, url), flush=True)
    try:
        proc = subprocess.run([client] + extra + [url], capture_output=True,
                              text=True, timeout=CLIENT_TIMEOUT_S,
                              env=CLIENT_ENV)
    except subprocess.TimeoutExpired:
        failures.append("%s: client did not finish in %d s" %
                        (name, CLIENT_TIMEOUT_S))
        return
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    result = parse_result(proc.stdout)
    if proc.returncode != want_exit:
        failures.append("%s: exit status %d, wanted %d" %
                        (name, proc.returncode, want_exit))
    if result is None:
        failures.append("%s: no result line" % name)
        return
    got = (result.get("stop"), result.get("attempts"), result.get("kind"))
    want = (want_stop, str(want_attempts), want_kind)
    if got != want:
        failures.append("%s: stop/attempts/kind %s, wanted %s" %
                        (name, got, want))

    requests = server.recorder.requests("/%s/%s" % (name, steps))
    if len(requests) != want_attempts:
        failures.append("%s: the server saw %d requests, wanted %d" %
                        (name, len(requests), want_attempts))
    check_gaps(name, requests, failures)
    # The timeline must report each honoured Retry-After before its wait.
    for req in requests[:-1]:
        if req["not_before"] is not None and \
                "Retry-After honoured" not in proc.stdout:
            failures.append("%s: the timeline does not show the honoured "
                            "Retry-After" % name)
            break


def refused_url():
    """A loopback URL whose port nobody listens on (closed right away)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return "http://127.0.0.1:%d/refused" % port


def run_refused(client, failures):
    """Connection refused: a Network error, retried until exhausted."""
    url = refused_url()
    print("\n=== connection-refused: %s" % url, flush=True)
    try:
        proc = subprocess.run([client, "--retries", "2", url],
                              capture_output=True, text=True,
                              timeout=CLIENT_TIMEOUT_S, env=CLIENT_ENV)
    except subprocess.TimeoutExpired:
        failures.append("connection-refused: client did not finish")
        return
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    result = parse_result(proc.stdout) or {}
    got = (proc.returncode, result.get("stop"), result.get("attempts"),
           result.get("kind"))
    if got != (1, "exhausted", "3", "Network"):
        failures.append("connection-refused: exit/stop/attempts/kind %s, "
                        "wanted (1, 'exhausted', '3', 'Network')" % (got,))


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: http_test.py PATH/TO/http_client\n")
        return 2
    client = sys.argv[1]
    failures = []
    server = http_server.make_server(0)
    thread = threading.Thread(target=server.serve_forever,
                              kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        base_url = "http://%s:%d" % (host, port)
        print("http_test: server on %s" % base_url)
        for scenario in SCENARIOS:
            run_scenario(client, server, base_url, scenario, failures)
        run_refused(client, failures)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    print()
    for failure in failures:
        print("FAIL: " + failure)
    print("http_test: %s" % ("FAILED" if failures else "PASSED"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
