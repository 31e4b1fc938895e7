/* SPDX-License-Identifier: MIT */
/*
 * uv_retry: retries on an event loop, without a thread per request. N
 * operations (10 000 by default) run at once on one libuv loop thread.
 * Each owns an mg_retry_state (64 bytes, no heap) and a uv_timer_t; when
 * an attempt fails, the state machine answers with a delay and the
 * operation arms its timer for it instead of sleeping, so the loop keeps
 * serving every other operation meanwhile. Operation i fails a number of
 * times fixed by i (a few always fail, a few fail with an error that is
 * not retryable), so that at the end the program can check every
 * operation's outcome, attempt count and delays, and the shared
 * statistics. It prints the totals, the wall time and the peak RSS, and
 * exits 0 only when every check held.
 *
 * usage: uv_retry [OPERATIONS] [-v]   (-v also prints the Prometheus text)
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <uv.h>

#include <mg/retry.h>

/* Small delays so that the run takes a fraction of a second: 1, 2, 4, 8,
 * 16 ms nominal, capped at 20 ms, the library's default jitter. */
#define MAX_RETRIES 5
#define BASE_MS 1
#define MAX_MS 20

/* The errors an attempt fails with: only their addresses matter. */
static const int transient_error = 1;
static const int fatal_error = 2;

struct app;

/* One operation: its timer's data points back to it. */
struct op {
    uv_timer_t timer;
    mg_retry_state retry;
    struct app *app;
    uint32_t id;
    uint32_t fail_first; /* failures before success; UINT32_MAX: never */
    bool fatal;          /* the first failure is not retryable */
    uint32_t calls;      /* attempts made */
    uint32_t retries;    /* timers armed after a failure */
    int stop;            /* how it ended; -1 while running */
    uint64_t armed_at;   /* uv_now() when the timer was armed */
    uint64_t delay_ms;   /* what it was armed for */
    uint32_t bad_delays; /* delays outside the policy's window */
    uint32_t early;      /* timers that fired before their delay */
};

struct app {
    uv_loop_t *loop;
    mg_policy policy;
    mg_retry_options options;
    mg_stats *stats;
    size_t running;
    size_t peak_running;
};

/* SplitMix64's output function: a deterministic scramble of the id. */
static uint64_t mix(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* The window of the default (proportional) jitter before retry k, from
 * the formula in <mg/retry.h>: d = min(base * 2^k, max), span =
 * floor(0.3 d), [d, d + span] slid down to end at max at the latest. */
static void delay_window(uint32_t k, uint64_t *lo, uint64_t *hi)
{
    uint64_t d = k < 8 ? (uint64_t)BASE_MS << k : MAX_MS;
    uint64_t span;

    if (d > MAX_MS)
        d = MAX_MS;
    span = d * 3 / 10;
    *hi = d + span > MAX_MS ? MAX_MS : d + span;
    *lo = *hi - span;
}

static bool is_retryable(const void *error, void *user_data)
{
    (void)user_data;
    return error != &fatal_error;
}

static void on_timer(uv_timer_t *timer);

static void finish(struct op *op, int stop)
{
    op->stop = stop;
    op->app->running--;
    uv_close((uv_handle_t *)&op->timer, NULL);
}

/* One attempt, then either the end or a timer for the next one. A real
 * operation would start asynchronous I/O here and run the second half in
 * its completion callback; the state machine does not mind either way. */
static void attempt(struct op *op)
{
    struct app *app = op->app;
    const void *error;
    uint64_t delay_ms = 0, lo, hi;
    int rc = mg_retry_state_begin(&op->retry);

    if (rc != MG_OK) { /* cancelled, or refused by a breaker */
        finish(op, rc);
        return;
    }
    op->calls++;
    if (op->fail_first != UINT32_MAX && op->calls > op->fail_first) {
        finish(op, mg_retry_state_on_success(&op->retry));
        return;
    }
    error = op->fatal ? &fatal_error : &transient_error;
    /* now_ns is read only for a deadline; uv_hrtime() is the same
     * monotonic clock as the library's default. */
    rc = mg_retry_state_on_failure(&op->retry, error, uv_hrtime(), &delay_ms);
    if (rc != MG_RETRY_AGAIN) {
        finish(op, rc);
        return;
    }
    delay_window(op->retries, &lo, &hi);
    if (delay_ms < lo || delay_ms > hi)
        op->bad_delays++;
    op->retries++;
    op->armed_at = uv_now(app->loop);
    op->delay_ms = delay_ms;
    uv_timer_start(&op->timer, on_timer, delay_ms, 0);
}

static void on_timer(uv_timer_t *timer)
{
    struct op *op = timer->data;

    /* A libuv timer never fires before its timeout on the loop's clock. */
    if (uv_now(op->app->loop) - op->armed_at < op->delay_ms)
        op->early++;
    attempt(op);
}

/* What operation i must end with, from the same rule that set it up. */
static int expected_stop(const struct op *op, uint32_t *attempts)
{
    if (op->fatal) {
        *attempts = 1;
        return MG_STOP_NOT_RETRYABLE;
    }
    if (op->fail_first > MAX_RETRIES) {
        *attempts = MAX_RETRIES + 1;
        return MG_STOP_EXHAUSTED;
    }
    *attempts = op->fail_first + 1;
    return MG_STOP_SUCCESS;
}

static double ms_between(uint64_t from_ns, uint64_t to_ns)
{
    return (double)(to_ns - from_ns) / 1e6;
}

int main(int argc, char **argv)
{
    struct app app;
    struct op *ops;
    mg_stats_snapshot snap = MG_STATS_SNAPSHOT_INIT;
    struct rusage ru;
    size_t n = 10000, failures = 0;
    uint64_t attempts = 0, retries = 0, t0, t1;
    bool verbose = false;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            verbose = true;
        } else {
            char *end;
            unsigned long v = strtoul(argv[i], &end, 10);

            if (*end != '\0' || v == 0 || v > 10000000) {
                fprintf(stderr, "usage: uv_retry [OPERATIONS] [-v]\n");
                return 2;
            }
            n = (size_t)v;
        }
    }

    memset(&app, 0, sizeof(app));
    app.loop = uv_default_loop();
    if (mg_policy_make(&app.policy, MAX_RETRIES, BASE_MS, MAX_MS,
                       MG_JITTER_PROPORTIONAL) != MG_OK ||
        mg_retry_options_init(&app.options, MG_RETRY_OPTIONS_VERSION) !=
            MG_OK ||
        mg_stats_new(&app.stats) != MG_OK) {
        fprintf(stderr, "uv_retry: set-up failed\n");
        return 1;
    }
    /* One options struct for all: every state refers to it. */
    app.options.is_retryable = is_retryable;
    app.options.stats = app.stats;

    ops = calloc(n, sizeof(*ops));
    if (ops == NULL) {
        fprintf(stderr, "uv_retry: out of memory\n");
        return 1;
    }
    t0 = uv_hrtime();
    for (size_t i = 0; i < n; i++) {
        struct op *op = &ops[i];
        uint64_t h = mix(i);

        op->app = &app;
        op->id = (uint32_t)i;
        op->stop = -1;
        /* 0 to 3 failures; every 100th never succeeds; every 1000th fails
         * for good at once. */
        op->fail_first = (uint32_t)(h % 4);
        if (i % 100 == 42)
            op->fail_first = UINT32_MAX;
        if (i % 1000 == 7) {
            op->fatal = true;
            op->fail_first = 1;
        }
        if (mg_retry_state_init(&op->retry, &app.policy, &app.options) !=
                MG_OK ||
            uv_timer_init(app.loop, &op->timer) != 0) {
            fprintf(stderr, "uv_retry: cannot start operation %zu\n", i);
            return 1;
        }
        op->timer.data = op;
        /* The first attempt runs on the loop too, at once. */
        uv_timer_start(&op->timer, on_timer, 0, 0);
        app.running++;
    }
    app.peak_running = app.running;
    uv_run(app.loop, UV_RUN_DEFAULT);
    t1 = uv_hrtime();

    for (size_t i = 0; i < n; i++) {
        const struct op *op = &ops[i];
        uint32_t want_attempts;
        int want = expected_stop(op, &want_attempts);

        if (op->stop != want || op->calls != want_attempts ||
            mg_retry_state_attempts(&op->retry) != want_attempts ||
            op->retries != want_attempts - 1 || op->bad_delays != 0 ||
            op->early != 0) {
            if (failures++ < 10)
                fprintf(stderr,
                        "operation %zu: stop %s after %" PRIu32
                        " attempts (want %s after %" PRIu32 "), %" PRIu32
                        " delays outside the window, %" PRIu32
                        " early timers\n",
                        i, mg_retry_stop_str(op->stop), op->calls,
                        mg_retry_stop_str(want), want_attempts, op->bad_delays,
                        op->early);
        }
        attempts += op->calls;
        retries += op->retries;
    }
    if (mg_stats_get_snapshot(app.stats, &snap) != MG_OK || snap.calls != n ||
        snap.attempts != attempts || snap.retries != retries ||
        snap.stops[MG_STOP_SUCCESS] + snap.stops[MG_STOP_EXHAUSTED] +
                snap.stops[MG_STOP_NOT_RETRYABLE] !=
            n) {
        fprintf(stderr, "uv_retry: the statistics do not add up\n");
        failures++;
    }
    getrusage(RUSAGE_SELF, &ru);

    printf("operations     %zu (all in flight at once: %zu)\n", n,
           app.peak_running);
    printf("attempts       %" PRIu64 ", retries %" PRIu64 "\n", attempts,
           retries);
    printf("outcomes       %" PRIu64 " success, %" PRIu64 " exhausted, %" PRIu64
           " not retryable\n",
           snap.stops[MG_STOP_SUCCESS], snap.stops[MG_STOP_EXHAUSTED],
           snap.stops[MG_STOP_NOT_RETRYABLE]);
    printf("waited         %" PRIu64 " ms in total (timers, not threads)\n",
           snap.slept_ms);
    printf("wall time      %.1f ms\n", ms_between(t0, t1));
    printf("peak RSS       %ld KiB\n", ru.ru_maxrss);
    printf("state size     %zu bytes per operation\n", sizeof(mg_retry_state));
    if (verbose) {
        char text[4096];

        if (mg_stats_format_prometheus(app.stats, NULL, text, sizeof(text),
                                       NULL) == MG_OK)
            fputs(text, stdout);
    }
    printf("%s\n", failures == 0 ? "all checks passed" : "CHECKS FAILED");

    uv_loop_close(app.loop);
    mg_stats_free(app.stats);
    free(ops);
    return failures == 0 ? 0 : 1;
}
