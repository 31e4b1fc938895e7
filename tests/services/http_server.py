#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A scripted HTTP server for the http_client example, standard library only.

It listens on 127.0.0.1 only. The URL path names a script: the last path
segment is a comma-separated list of steps, the first request to that path
gets the first step, the next request the next step, and the last step
repeats. A step is STATUS or STATUS:RETRY_AFTER, where RETRY_AFTER is
  N       the header "Retry-After: N" (delta-seconds),
  dateN   an IMF-fixdate N seconds after the current whole second (so the
          client must wait between N-1 and N seconds),
  any other word, sent as it is (a malformed value).
For example GET /demo/503:1,429:date2,200 answers 503 with "Retry-After: 1",
then 429 with a date 1-2 s ahead, then 200 (and 200 ever after). Different
paths have independent counters, so prefix a run name to start afresh.

Every request is recorded (arrival time, step, and for a Retry-After the
earliest time at which the client may come back), for http_test.py.

Run alone:  python3 http_server.py [--port N] [--lifetime SECONDS]
It prints its URL and stops by itself after --lifetime seconds (default
600) or on Ctrl-C.
"""

import argparse
import email.utils
import http.server
import math
import sys
import threading
import time


class Recorder:
    """Per-path request counters and the log of every request served."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.log = []

    def next_index(self, path):
        with self.lock:
            n = self.counts.get(path, 0)
            self.counts[path] = n + 1
            return n

    def add(self, entry):
        with self.lock:
            self.log.append(entry)

    def requests(self, path):
        with self.lock:
            return [e for e in self.log if e["path"] == path]


def parse_step(step):
    """'503:1' -> (503, '1'); '200' -> (200, None)."""
    status, _, retry_after = step.partition(":")
    return int(status), (retry_after or None)


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "mgretry-test-server"
    recorder = None  # set by make_server

    def do_GET(self):
        arrival = time.time()
        path = self.path.split("?", 1)[0]
        steps = [s for s in path.rsplit("/", 1)[-1].split(",") if s]
        try:
            parsed = [parse_step(s) for s in steps] or [(200, None)]
        except ValueError:
            parsed = [(400, None)]
        index = self.recorder.next_index(path)
        status, retry_after = parsed[min(index, len(parsed) - 1)]

        header = None
        not_before = None  # earliest allowed arrival of the next request
        if retry_after is not None:
            if retry_after.isdigit():
                header = retry_after
                not_before = arrival + int(retry_after)
            elif retry_after.startswith("date") and retry_after[4:].isdigit():
                when = math.floor(arrival) + int(retry_after[4:])
                header = email.utils.formatdate(when, usegmt=True)
                not_before = float(when)
            else:
                header = retry_after

        # Recorded before answering, so the log is complete by the time the
        # client can have seen the response.
        self.recorder.add({
            "path": path, "index": index, "arrival": arrival,
            "status": status, "retry_after": header, "not_before": not_before,
        })
        body = b"ok\n" if status < 400 else b"try again\n"
        self.send_response(status)
        if header is not None:
            self.send_header("Retry-After", header)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("http_server: %s\n" % (fmt % args))


def make_server(port=0):
    """A ThreadingHTTPServer on 127.0.0.1 (port 0: a free one) with its own
    Recorder as server.recorder."""
    recorder = Recorder()
    handler = type("BoundHandler", (Handler,), {"recorder": recorder})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    server.recorder = recorder
    return server


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lifetime", type=float, default=600.0)
    args = parser.parse_args()
    server = make_server(args.port)
    host, port = server.server_address[:2]
    print("http_server: listening on http://%s:%d/ for %.0f s "
          "(try /demo/503:1,429:date2,200)" % (host, port, args.lifetime),
          flush=True)
    timer = threading.Timer(args.lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        timer.cancel()
        server.server_close()


if __name__ == "__main__":
    main()
