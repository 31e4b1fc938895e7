/* SPDX-License-Identifier: MIT */
/*
 * The retry state machine on a real libuv loop, checked exactly. Three
 * passes of 10 000 concurrent operations on one loop thread, each
 * operation an mg_retry_state plus a uv_timer_t:
 *   1. mixed outcomes under decorrelated jitter, each operation with its
 *      own seeded SplitMix64 stream: afterwards every delay is recomputed
 *      independently with mg_backoff_delay() from the same seed and the
 *      operation's own previous delay, every attempt count and stop
 *      reason is checked, every timer is checked not to have fired early
 *      on the loop's clock, and the shared statistics must add up exactly;
 *   2. every attempt fails, with a shared token bucket: the first attempts
 *      all run before any retry timer is due, so exactly the first 49
 *      failures find the bucket above half (100 tokens), and every
 *      operation ends with MG_STOP_BUDGET without arming a timer again;
 *   3. every attempt fails, with a shared breaker that opens after 100
 *      consecutive failures: exactly 100 operations are ever called, every
 *      operation ends with MG_STOP_BREAKER.
 * It prints the wall time and the peak RSS of the first pass. Exit 0 when
 * every check held.
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

#define N_OPS 10000
#define MAX_RETRIES 6
#define MAX_DELAYS (MAX_RETRIES + 1)

static unsigned g_failures;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            if (g_failures++ < 20) {                                           \
                fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,         \
                        __LINE__, #cond);                                      \
                fprintf(stderr, __VA_ARGS__);                                  \
                fputc('\n', stderr);                                           \
            }                                                                  \
        }                                                                      \
    } while (0)

static const int transient_error = 1;
static const int fatal_error = 2;

struct op {
    uv_timer_t timer;
    mg_retry_state retry;
    mg_retry_options options; /* per operation: its own random stream */
    uint64_t rng;             /* that stream's SplitMix64 state */
    uint64_t seed;
    uint32_t fail_first; /* UINT32_MAX: never succeeds */
    bool fatal;          /* the first failure is not retryable */
    uint32_t calls;
    uint32_t n_delays;
    uint64_t delays[MAX_DELAYS];
    uint64_t armed_at;
    uint32_t early;
    int stop; /* -1 while running */
};

static uv_loop_t *g_loop;
static size_t g_running;

static bool is_retryable(const void *error, void *user_data)
{
    (void)user_data;
    return error != &fatal_error;
}

static void on_timer(uv_timer_t *timer);

static void finish(struct op *op, int stop)
{
    op->stop = stop;
    g_running--;
    uv_close((uv_handle_t *)&op->timer, NULL);
}

static void attempt(struct op *op)
{
    uint64_t delay_ms = UINT64_MAX;
    int rc = mg_retry_state_begin(&op->retry);

    if (rc != MG_OK) {
        finish(op, rc);
        return;
    }
    op->calls++;
    if (op->fail_first != UINT32_MAX && op->calls > op->fail_first) {
        finish(op, mg_retry_state_on_success(&op->retry));
        return;
    }
    rc = mg_retry_state_on_failure(&op->retry,
                                   op->fatal ? &fatal_error : &transient_error,
                                   uv_hrtime(), &delay_ms);
    if (rc != MG_RETRY_AGAIN) {
        CHECK(delay_ms == UINT64_MAX, "a stop wrote the delay");
        finish(op, rc);
        return;
    }
    if (op->n_delays < MAX_DELAYS)
        op->delays[op->n_delays] = delay_ms;
    op->n_delays++;
    op->armed_at = uv_now(g_loop);
    uv_timer_start(&op->timer, on_timer, delay_ms, 0);
}

static void on_timer(uv_timer_t *timer)
{
    struct op *op = timer->data;

    if (op->n_delays > 0 &&
        uv_now(g_loop) - op->armed_at < op->delays[op->n_delays - 1])
        op->early++;
    attempt(op);
}

/* Initialise and start every operation (first attempt at once, on the
 * loop), run the loop until all are done; returns the wall time in ns. */
static uint64_t run_all(struct op *ops, const mg_policy *policy,
                        const mg_retry_options *tmpl)
{
    uint64_t t0 = uv_hrtime();

    for (size_t i = 0; i < N_OPS; i++) {
        struct op *op = &ops[i];

        op->options = *tmpl;
        op->rng = op->seed;
        op->options.random = mg_random_splitmix64;
        op->options.random_data = &op->rng;
        op->stop = -1;
        CHECK(mg_retry_state_init(&op->retry, policy, &op->options) == MG_OK,
              "init %zu", i);
        CHECK(uv_timer_init(g_loop, &op->timer) == 0, "timer %zu", i);
        op->timer.data = op;
        uv_timer_start(&op->timer, on_timer, 0, 0);
        g_running++;
    }
    CHECK(g_running == N_OPS, "%zu running", g_running);
    uv_run(g_loop, UV_RUN_DEFAULT);
    CHECK(g_running == 0, "%zu still running", g_running);
    return uv_hrtime() - t0;
}

static mg_stats_snapshot snapshot(const mg_stats *stats)
{
    mg_stats_snapshot snap = MG_STATS_SNAPSHOT_INIT;

    CHECK(mg_stats_get_snapshot(stats, &snap) == MG_OK, "snapshot");
    return snap;
}

/* ---- pass 1: mixed outcomes, exact delays ---- */

static void pass_mixed(struct op *ops)
{
    mg_policy policy;
    mg_retry_options tmpl = MG_RETRY_OPTIONS_INIT;
    mg_stats *stats = NULL;
    mg_stats_snapshot snap;
    uint64_t attempts = 0, retries = 0, slept = 0, wall;
    uint64_t stops[MG_STATS_STOP_SLOTS] = {0};
    struct rusage ru;

    CHECK(mg_policy_make(&policy, MAX_RETRIES, 1, 20, MG_JITTER_DECORRELATED) ==
              MG_OK,
          "policy");
    CHECK(mg_stats_new(&stats) == MG_OK, "stats");
    tmpl.is_retryable = is_retryable;
    tmpl.stats = stats;
    memset(ops, 0, N_OPS * sizeof(*ops));
    for (size_t i = 0; i < N_OPS; i++) {
        uint64_t s = i;

        ops[i].seed = mg_random_splitmix64(&s);
        ops[i].fail_first = (uint32_t)(ops[i].seed % 6); /* 0 to 5 */
        if (i % 97 == 3)
            ops[i].fail_first = UINT32_MAX;
        if (i % 101 == 5) {
            ops[i].fatal = true;
            ops[i].fail_first = 2;
        }
    }
    wall = run_all(ops, &policy, &tmpl);
    getrusage(RUSAGE_SELF, &ru);

    for (size_t i = 0; i < N_OPS; i++) {
        const struct op *op = &ops[i];
        uint32_t want_attempts;
        int want_stop;
        uint64_t rng = op->seed, prev = 0;

        if (op->fatal) {
            want_stop = MG_STOP_NOT_RETRYABLE;
            want_attempts = 1;
        } else if (op->fail_first > MAX_RETRIES) {
            want_stop = MG_STOP_EXHAUSTED;
            want_attempts = MAX_RETRIES + 1;
        } else {
            want_stop = MG_STOP_SUCCESS;
            want_attempts = op->fail_first + 1;
        }
        CHECK(op->stop == want_stop, "op %zu: %s, want %s", i,
              mg_retry_stop_str(op->stop), mg_retry_stop_str(want_stop));
        CHECK(op->calls == want_attempts, "op %zu: %" PRIu32 " calls", i,
              op->calls);
        CHECK(mg_retry_state_attempts(&op->retry) == want_attempts,
              "op %zu: attempts", i);
        CHECK(op->n_delays == want_attempts - 1, "op %zu: %" PRIu32 " delays",
              i, op->n_delays);
        CHECK(op->early == 0, "op %zu: %" PRIu32 " early timers", i, op->early);
        /* The same stream, the operation's own previous delay: the same
         * delays, one draw per retry and no more. */
        for (uint32_t k = 0; k < op->n_delays && k < MAX_DELAYS; k++) {
            uint64_t want;

            CHECK(mg_backoff_delay(&policy, k, prev, mg_random_splitmix64, &rng,
                                   &want) == MG_OK,
                  "backoff");
            CHECK(op->delays[k] == want,
                  "op %zu retry %" PRIu32 ": %" PRIu64 " ms, want %" PRIu64, i,
                  k, op->delays[k], want);
            CHECK(want >= 1 && want <= 20, "op %zu: %" PRIu64, i, want);
            prev = want;
            slept += want;
        }
        CHECK(rng == op->rng, "op %zu: random draws differ", i);
        attempts += op->calls;
        retries += op->n_delays;
        if (op->stop >= 0 && op->stop < MG_STATS_STOP_SLOTS)
            stops[op->stop]++;
    }
    snap = snapshot(stats);
    CHECK(snap.calls == N_OPS, "%" PRIu64 " calls", snap.calls);
    CHECK(snap.attempts == attempts, "%" PRIu64 " attempts", snap.attempts);
    CHECK(snap.retries == retries, "%" PRIu64 " retries", snap.retries);
    CHECK(snap.slept_ms == slept, "%" PRIu64 " ms", snap.slept_ms);
    CHECK(snap.successes == stops[MG_STOP_SUCCESS], "successes");
    for (size_t k = 0; k < MG_STATS_STOP_SLOTS; k++)
        CHECK(snap.stops[k] == stops[k], "stop %zu: %" PRIu64, k,
              snap.stops[k]);
    CHECK(stops[MG_STOP_SUCCESS] > 0 && stops[MG_STOP_EXHAUSTED] > 0 &&
              stops[MG_STOP_NOT_RETRYABLE] > 0,
          "every outcome occurs");
    printf("pass 1: %d operations, %" PRIu64 " attempts, %" PRIu64
           " retries, %" PRIu64 " ms of waits in %.1f ms wall time; "
           "peak RSS %ld KiB; %zu bytes of state each\n",
           N_OPS, attempts, retries, slept, (double)wall / 1e6, ru.ru_maxrss,
           sizeof(mg_retry_state));
    mg_stats_free(stats);
}

/* ---- pass 2: a shared token bucket runs dry ---- */

static void pass_budget(struct op *ops)
{
    mg_policy policy;
    mg_retry_options tmpl = MG_RETRY_OPTIONS_INIT;
    mg_budget *budget = NULL;
    mg_stats *stats = NULL;
    mg_stats_snapshot snap;
    size_t retried = 0;

    CHECK(mg_policy_make(&policy, MAX_RETRIES, 1, 20, MG_JITTER_FULL) == MG_OK,
          "policy");
    CHECK(mg_budget_new_token_bucket(&budget, 100, 0.1) == MG_OK, "budget");
    CHECK(mg_stats_new(&stats) == MG_OK, "stats");
    CHECK(mg_budget_set_stats(budget, stats) == MG_OK, "attach");
    tmpl.budget = budget;
    tmpl.stats = stats;
    memset(ops, 0, N_OPS * sizeof(*ops));
    for (size_t i = 0; i < N_OPS; i++) {
        ops[i].seed = i;
        ops[i].fail_first = UINT32_MAX;
    }
    run_all(ops, &policy, &tmpl);
    for (size_t i = 0; i < N_OPS; i++) {
        /* Operation i's first failure leaves 100 - (i + 1) tokens; a
         * retry is allowed while more than 50 remain. Retries come later,
         * when the bucket is empty. */
        uint32_t want = i < 49 ? 2 : 1;

        CHECK(ops[i].stop == MG_STOP_BUDGET, "op %zu: %s", i,
              mg_retry_stop_str(ops[i].stop));
        CHECK(ops[i].calls == want, "op %zu: %" PRIu32 " calls", i,
              ops[i].calls);
        CHECK(ops[i].n_delays == want - 1, "op %zu: a timer after refusal", i);
        retried += ops[i].n_delays;
    }
    CHECK(retried == 49, "%zu retried", retried);
    snap = snapshot(stats);
    CHECK(snap.stops[MG_STOP_BUDGET] == N_OPS, "budget stops");
    CHECK(snap.budget_refusals == N_OPS, "%" PRIu64 " refusals",
          snap.budget_refusals);
    CHECK(snap.attempts == N_OPS + 49, "%" PRIu64 " attempts", snap.attempts);
    printf("pass 2: token bucket: %zu of %d operations retried once, all "
           "ended with \"%s\"\n",
           retried, N_OPS, mg_retry_stop_str(MG_STOP_BUDGET));
    mg_budget_free(budget);
    mg_stats_free(stats);
}

/* ---- pass 3: a shared breaker opens ---- */

static void pass_breaker(struct op *ops)
{
    mg_policy policy;
    mg_retry_options tmpl = MG_RETRY_OPTIONS_INIT;
    mg_breaker_config cfg = MG_BREAKER_CONFIG_INIT;
    mg_breaker *breaker = NULL;
    mg_stats *stats = NULL;
    mg_stats_snapshot snap;
    size_t called = 0;

    CHECK(mg_policy_make(&policy, MAX_RETRIES, 1, 20, MG_JITTER_FULL) == MG_OK,
          "policy");
    cfg.consecutive_failures = 100;
    cfg.failure_rate_percent = 0;
    cfg.open_ms = 600000; /* stays open for the whole pass */
    CHECK(mg_breaker_new(&breaker, &cfg) == MG_OK, "breaker");
    CHECK(mg_stats_new(&stats) == MG_OK, "stats");
    CHECK(mg_breaker_set_stats(breaker, stats) == MG_OK, "attach");
    tmpl.breaker = breaker;
    tmpl.stats = stats;
    memset(ops, 0, N_OPS * sizeof(*ops));
    for (size_t i = 0; i < N_OPS; i++) {
        ops[i].seed = i;
        ops[i].fail_first = UINT32_MAX;
    }
    run_all(ops, &policy, &tmpl);
    for (size_t i = 0; i < N_OPS; i++) {
        /* The first 100 failures open it; their retries and every later
         * first attempt are refused without a call. */
        CHECK(ops[i].stop == MG_STOP_BREAKER, "op %zu: %s", i,
              mg_retry_stop_str(ops[i].stop));
        CHECK(ops[i].calls == (i < 100 ? 1u : 0u), "op %zu: %" PRIu32, i,
              ops[i].calls);
        called += ops[i].calls;
    }
    CHECK(called == 100, "%zu called", called);
    CHECK(mg_breaker_get_state(breaker) == MG_BREAKER_OPEN, "open");
    snap = snapshot(stats);
    CHECK(snap.stops[MG_STOP_BREAKER] == N_OPS, "breaker stops");
    CHECK(snap.breaker_opened == 1, "%" PRIu64 " openings",
          snap.breaker_opened);
    CHECK(snap.breaker_refusals == N_OPS, "%" PRIu64 " refusals",
          snap.breaker_refusals);
    printf("pass 3: breaker: %zu of %d operations called, all ended with "
           "\"%s\"\n",
           called, N_OPS, mg_retry_stop_str(MG_STOP_BREAKER));
    mg_breaker_free(breaker);
    mg_stats_free(stats);
}

int main(void)
{
    struct op *ops = calloc(N_OPS, sizeof(*ops));
    uv_loop_t loop;

    if (ops == NULL || uv_loop_init(&loop) != 0) {
        fprintf(stderr, "set-up failed\n");
        return 1;
    }
    g_loop = &loop;
    pass_mixed(ops);
    pass_budget(ops);
    pass_breaker(ops);
    CHECK(uv_loop_close(&loop) == 0, "loop close");
    free(ops);
    if (g_failures != 0) {
        fprintf(stderr, "%u checks failed\n", g_failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
