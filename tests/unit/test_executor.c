/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the executor (src/executor.c): the retry loop and its
 * mg_error adapter, the cancel flag, the monotonic clock and sleep, the
 * stop names and the logging. Almost everything runs in virtual time: an
 * injected clock and sleep that advance a virtual nanosecond counter and
 * record every wake time, and a counted SplitMix64 random source with a
 * fixed seed. Only the tests of the real sleep, of cancelling it from
 * another thread and one end-to-end run sleep for real, briefly.
 * getenv() is interposed to count reads of MG_RETRY_LOG, so that "the
 * success path never calls getenv" is something a test can fail.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <mg/retry.h>

#include "test_support.h"

#define NS_PER_MS UINT64_C(1000000)

/* Upper bounds on real sleeps are about the machine, not the library:
 * under ThreadSanitizer (which defers signal handlers to its own safe
 * points) and AddressSanitizer they get this much slack. Lower bounds
 * (a sleep is never shortened) hold everywhere unchanged. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define MG_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define MG_TEST_SANITIZED 1
#endif
#endif
#ifdef MG_TEST_SANITIZED
#define SLACK_NS (100 * NS_PER_MS)
#else
#define SLACK_NS UINT64_C(0)
#endif

/* ---- getenv interposition: counts reads of MG_RETRY_LOG ---- */

static unsigned g_getenv_log_calls;

char *getenv(const char *name)
{
    size_t n = strlen(name);

    if (strcmp(name, "MG_RETRY_LOG") == 0)
        g_getenv_log_calls++;
    for (char **e = environ; e != NULL && *e != NULL; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

/* ---- virtual time ---- */


/* ---- a scripted operation with opaque error tokens ---- */

#define NTOKENS 64

struct script {
    unsigned calls;
    unsigned fail_first; /* failing calls before success */
    bool same_error;     /* fail with token 0 every time */
    bool null_error;     /* fail without an error object */
    mg_cancel *cancel;   /* trigger it during call cancel_call */
    unsigned cancel_call;
    struct vtime *vt; /* advance it by cost_ns per call */
    uint64_t cost_ns;
    int tokens[NTOKENS];
    unsigned drops;
    unsigned dropped[NTOKENS];
    unsigned foreign_drops; /* drops of anything that is not a token */
};

#define ALWAYS_FAIL UINT_MAX

static int script_op(void *user_data, void **error)
{
    struct script *s = user_data;

    s->calls++;
    if (s->vt != NULL)
        s->vt->now_ns += s->cost_ns;
    if (s->cancel != NULL && s->calls == s->cancel_call)
        mg_cancel_trigger(s->cancel);
    if (s->calls > s->fail_first)
        return 0;
    if (s->null_error)
        *error = NULL;
    else
        *error = &s->tokens[s->same_error ? 0 : (s->calls - 1) % NTOKENS];
    return -1;
}

static void *token(struct script *s, unsigned i)
{
    return &s->tokens[i];
}

static void script_drop(void *error, void *user_data)
{
    struct script *s = user_data;
    int *t = error;

    s->drops++;
    if (t >= s->tokens && t < s->tokens + NTOKENS)
        s->dropped[t - s->tokens]++;
    else
        s->foreign_drops++;
}

static bool never_retryable(const void *error, void *user_data)
{
    unsigned *calls = user_data;

    (void)error;
    if (calls != NULL)
        (*calls)++;
    return false;
}

static bool constant_pushback(const void *error, uint64_t *wait_ms,
                              void *user_data)
{
    (void)error;
    *wait_ms = *(const uint64_t *)user_data;
    return true;
}

/* ---- on_retry and log recorders ---- */

struct hooks {
    unsigned n;
    uint32_t retry[MAX_SLEEPS];
    uint64_t delay[MAX_SLEEPS];
    const void *error[MAX_SLEEPS];
    unsigned sleeps_before[MAX_SLEEPS];
    const struct vtime *vt;
};

static void record_retry(uint32_t retry, uint64_t delay_ms, const void *error,
                         void *user_data)
{
    struct hooks *h = user_data;

    if (h->n < MAX_SLEEPS) {
        h->retry[h->n] = retry;
        h->delay[h->n] = delay_ms;
        h->error[h->n] = error;
        h->sleeps_before[h->n] = h->vt != NULL ? h->vt->sleep_calls : 0;
    }
    h->n++;
}

struct logs {
    unsigned n;
    int level[16];
    char msg[16][128];
};

static void record_log(int level, const char *message, void *user_data)
{
    struct logs *l = user_data;

    if (l->n < 16) {
        l->level[l->n] = level;
        snprintf(l->msg[l->n], sizeof(l->msg[l->n]), "%s", message);
    }
    l->n++;
}

/* ---- stderr capture (no assertion may run while fd 2 is redirected) ---- */

struct capture {
    FILE *tmp;
    int saved;
};

static void capture_begin(struct capture *c)
{
    fflush(stderr);
    c->tmp = tmpfile();
    assert_non_null(c->tmp);
    c->saved = dup(2);
    assert_true(c->saved >= 0);
    assert_int_equal(dup2(fileno(c->tmp), 2), 2);
}

static void capture_end(struct capture *c, char *buf, size_t size)
{
    size_t n;

    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    rewind(c->tmp);
    n = fread(buf, 1, size - 1, c->tmp);
    buf[n] = '\0';
    fclose(c->tmp);
}

/* ---- mg_error operations for mg_retry_with_backoff ---- */

struct eop {
    unsigned calls;
    unsigned fail_first;
    mg_error_kind kind;
    int64_t retry_after_s;
    bool null_error;
};

static int eop_fn(void *user_data, mg_error **error)
{
    struct eop *e = user_data;
    mg_error *err = NULL;

    e->calls++;
    if (e->calls > e->fail_first)
        return 0;
    if (e->null_error) {
        *error = NULL;
        return -1;
    }
    switch (e->kind) {
    case MG_ERROR_NETWORK:
        mg_error_new_network(&err, "connection reset");
        break;
    case MG_ERROR_TIMEOUT:
        mg_error_new_timeout(&err, "fetch manifest", 5000);
        break;
    case MG_ERROR_RATE_LIMIT:
        mg_error_new_rate_limit(&err, 100, "minute", e->retry_after_s);
        break;
    case MG_ERROR_SERVICE_UNAVAILABLE:
        mg_error_new_service_unavailable(&err, "cdn", e->retry_after_s);
        break;
    case MG_ERROR_DATABASE:
        mg_error_new_database(&err, "deadlock", "insert");
        break;
    default:
        mg_error_new_validation(&err, "bad input", "title");
        break;
    }
    *error = err;
    return -1;
}

/* ======================================================================
 * The SPEC's original cases
 * ==================================================================== */

static void test_executor__success_on_first_attempt_makes_one_call(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;

    (void)st;
    o.drop_error = script_drop;
    o.drop_error_data = &s;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &o, &res),
                     MG_STOP_SUCCESS);
    assert_int_equal(s.calls, 1);
    assert_int_equal(res.attempts, 1);
    assert_int_equal(res.stop, MG_STOP_SUCCESS);
    assert_null(res.error);
    assert_int_equal(res.slept_ms, 0);
    assert_int_equal(s.drops, 0);
}

static void
test_executor__success_after_two_failures_makes_three_calls(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;

    (void)st;
    s.fail_first = 2;
    o.drop_error = script_drop;
    o.drop_error_data = &s;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &o, &res),
                     MG_STOP_SUCCESS);
    assert_int_equal(s.calls, 3);
    assert_int_equal(res.attempts, 3);
    assert_null(res.error);
    assert_int_equal(vt.sleep_calls, 2);
    /* Both failures were superseded, by the next failure or the success. */
    assert_int_equal(s.drops, 2);
    assert_int_equal(s.dropped[0], 1);
    assert_int_equal(s.dropped[1], 1);
}

static void
test_executor__exhaustion_makes_one_plus_max_retries_calls(void **st)
{
    static const uint32_t retries[] = {0, 1, 3, 7, 20};

    (void)st;
    for (size_t i = 0; i < sizeof(retries) / sizeof(retries[0]); i++) {
        struct vtime vt = {0};
        struct vrandom r = {42, 0};
        struct script s = {0};
        mg_retry_options o = virtual_options(&vt, &r);
        mg_retry_result res = MG_RETRY_RESULT_INIT;
        mg_policy p = make_policy(retries[i], 1, 10, MG_JITTER_NONE);

        s.fail_first = ALWAYS_FAIL;
        o.drop_error = script_drop;
        o.drop_error_data = &s;
        assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                         MG_STOP_EXHAUSTED);
        assert_int_equal(s.calls, 1 + retries[i]);
        assert_int_equal(res.attempts, 1 + retries[i]);
        assert_int_equal(res.stop, MG_STOP_EXHAUSTED);
        assert_int_equal(vt.sleep_calls, retries[i]);
        /* The last error is handed back, every earlier one dropped once. */
        assert_ptr_equal(res.error, token(&s, retries[i]));
        assert_int_equal(s.drops, retries[i]);
        for (uint32_t k = 0; k < retries[i]; k++)
            assert_int_equal(s.dropped[k], 1);
        assert_int_equal(s.dropped[retries[i]], 0);
    }
}

static void test_executor__non_retryable_error_fails_at_once(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    unsigned classified = 0;
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    o.is_retryable = never_retryable;
    o.is_retryable_data = &classified;
    o.drop_error = script_drop;
    o.drop_error_data = &s;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &o, &res),
                     MG_STOP_NOT_RETRYABLE);
    assert_int_equal(s.calls, 1);
    assert_int_equal(classified, 1);
    assert_int_equal(res.attempts, 1);
    assert_ptr_equal(res.error, token(&s, 0));
    assert_int_equal(s.drops, 0);
    assert_int_equal(vt.sleep_calls, 0);
    assert_int_equal(r.calls, 0);
}

static void test_executor__retries_retryable_gateway_errors(void **st)
{
    static const mg_error_kind kinds[] = {MG_ERROR_NETWORK, MG_ERROR_TIMEOUT,
                                          MG_ERROR_RATE_LIMIT,
                                          MG_ERROR_SERVICE_UNAVAILABLE};

    (void)st;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        struct vtime vt = {0};
        struct vrandom r = {42, 0};
        mg_retry_options o = virtual_options(&vt, &r);
        mg_retry_result res = MG_RETRY_RESULT_INIT;
        struct eop e = {0, ALWAYS_FAIL, kinds[i], MG_NONE, false};
        struct eop once = {0, 1, kinds[i], MG_NONE, false};

        assert_int_equal(mg_retry_with_backoff(NULL, eop_fn, &e, &o, &res),
                         MG_STOP_EXHAUSTED);
        assert_int_equal(e.calls, 4);
        assert_int_equal(res.attempts, 4);
        assert_int_equal(mg_error_get_kind(res.error), kinds[i]);
        mg_error_free(res.error);

        assert_int_equal(mg_retry_with_backoff(NULL, eop_fn, &once, &o, &res),
                         MG_STOP_SUCCESS);
        assert_int_equal(once.calls, 2);
        assert_null(res.error);
    }
}

static void
test_executor__does_not_retry_validation_or_database_errors(void **st)
{
    static const mg_error_kind kinds[] = {MG_ERROR_VALIDATION,
                                          MG_ERROR_DATABASE};

    (void)st;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        struct vtime vt = {0};
        struct vrandom r = {42, 0};
        mg_retry_options o = virtual_options(&vt, &r);
        mg_retry_result res = MG_RETRY_RESULT_INIT;
        struct eop e = {0, ALWAYS_FAIL, kinds[i], MG_NONE, false};

        assert_int_equal(mg_retry_with_backoff(NULL, eop_fn, &e, &o, &res),
                         MG_STOP_NOT_RETRYABLE);
        assert_int_equal(e.calls, 1);
        assert_int_equal(vt.sleep_calls, 0);
        assert_int_equal(mg_error_get_kind(res.error), kinds[i]);
        mg_error_free(res.error);
    }
}

static unsigned calls_on_constant_failure(int preset)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    struct eop e = {0, ALWAYS_FAIL, MG_ERROR_NETWORK, MG_NONE, false};
    mg_policy p;

    assert_int_equal(mg_policy_preset(&p, preset), MG_OK);
    assert_int_equal(mg_retry_with_backoff(&p, eop_fn, &e, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(res.attempts, e.calls);
    assert_int_equal(vt.sleep_calls, e.calls - 1);
    mg_error_free(res.error);
    return e.calls;
}

static void test_executor__aggressive_preset_makes_six_calls(void **st)
{
    (void)st;
    assert_int_equal(calls_on_constant_failure(MG_PRESET_AGGRESSIVE), 6);
}

static void test_executor__gentle_preset_makes_three_calls(void **st)
{
    (void)st;
    assert_int_equal(calls_on_constant_failure(MG_PRESET_GENTLE), 3);
    assert_int_equal(calls_on_constant_failure(MG_PRESET_DEFAULT), 4);
}

static void test_executor__zero_max_retries_makes_exactly_one_call(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = MG_POLICY_DEFAULT_INIT;

    (void)st;
    p.max_retries = 0;
    s.fail_first = ALWAYS_FAIL;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(s.calls, 1);
    assert_int_equal(vt.sleep_calls, 0);
    assert_int_equal(vt.clock_calls, 0);
    assert_int_equal(r.calls, 0);
    assert_ptr_equal(res.error, token(&s, 0));
}

static void
test_executor__default_preset_without_jitter_sleeps_100_200_400(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    struct hooks h = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = MG_POLICY_DEFAULT_INIT;

    (void)st;
    p.jitter = MG_JITTER_NONE;
    s.fail_first = ALWAYS_FAIL;
    h.vt = &vt;
    o.on_retry = record_retry;
    o.on_retry_data = &h;
    vt.now_ns = 5 * NS_PER_MS; /* any origin */
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(vt.sleep_calls, 3);
    assert_int_equal(vt.wake[0] - vt.from[0], 100 * NS_PER_MS);
    assert_int_equal(vt.wake[1] - vt.from[1], 200 * NS_PER_MS);
    assert_int_equal(vt.wake[2] - vt.from[2], 400 * NS_PER_MS);
    assert_int_equal(vt.now_ns, 705 * NS_PER_MS);
    assert_int_equal(res.slept_ms, 700);
    assert_int_equal(r.calls, 0);
}

/* ======================================================================
 * Jitter and the backoff delays
 * ==================================================================== */

static void
test_executor__jittered_sleeps_match_backoff_delay_and_bounds(void **st)
{
    static const uint32_t modes[] = {MG_JITTER_PROPORTIONAL, MG_JITTER_FULL,
                                     MG_JITTER_EQUAL, MG_JITTER_DECORRELATED};
    const uint32_t n = 10;

    (void)st;
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        struct vtime vt = {0};
        struct vrandom r = {0x5eed, 0};
        struct script s = {0};
        struct hooks h = {0};
        mg_retry_options o = virtual_options(&vt, &r);
        mg_retry_result res = MG_RETRY_RESULT_INIT;
        mg_policy p = make_policy(n, 100, 5000, modes[m]);
        uint64_t state = 0x5eed, prev = 0, sum = 0;

        s.fail_first = ALWAYS_FAIL;
        o.on_retry = record_retry;
        o.on_retry_data = &h;
        assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                         MG_STOP_EXHAUSTED);
        assert_int_equal(h.n, n);
        assert_int_equal(r.calls, n);
        for (uint32_t k = 0; k < n; k++) {
            uint64_t want, nominal;

            assert_int_equal(mg_backoff_delay(&p, k, prev, mg_random_splitmix64,
                                              &state, &want),
                             MG_OK);
            assert_int_equal(mg_backoff_nominal(&p, k, &nominal), MG_OK);
            assert_int_equal(h.delay[k], want);
            assert_int_equal(slept_ms(&vt, k), want);
            assert_true(want <= p.max_delay_ms);
            switch (modes[m]) {
            case MG_JITTER_PROPORTIONAL:
                assert_true(want >= nominal * 7 / 10);
                assert_true(want <= nominal + nominal * 3 / 10 + 1);
                break;
            case MG_JITTER_FULL:
                assert_true(want <= nominal);
                break;
            case MG_JITTER_EQUAL:
                assert_true(want >= nominal / 2 && want <= nominal);
                break;
            default:
                assert_true(want <= 3 * (prev != 0 ? prev : 100));
                break;
            }
            prev = want;
            sum += want;
        }
        assert_int_equal(res.slept_ms, sum);
    }
}

static void test_executor__decorrelated_passes_previous_backoff_delay(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {7, 0};
    struct script s = {0};
    struct hooks h = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = make_policy(12, 10, 100000, MG_JITTER_DECORRELATED);
    uint64_t state = 7, prev = 0, state0 = 7;
    bool differs_from_prev_zero = false;

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    o.on_retry = record_retry;
    o.on_retry_data = &h;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(h.n, 12);
    for (uint32_t k = 0; k < 12; k++) {
        uint64_t want, without_prev;

        assert_int_equal(
            mg_backoff_delay(&p, k, prev, mg_random_splitmix64, &state, &want),
            MG_OK);
        assert_int_equal(mg_backoff_delay(&p, k, 0, mg_random_splitmix64,
                                          &state0, &without_prev),
                         MG_OK);
        assert_int_equal(h.delay[k], want);
        if (want != without_prev)
            differs_from_prev_zero = true;
        prev = want;
    }
    /* Otherwise the comparison above could not tell the two apart. */
    assert_true(differs_from_prev_zero);
}

static void
test_executor__previous_delay_is_the_backoff_not_the_pushback(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {99, 0};
    struct script s = {0};
    struct hooks h = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = make_policy(8, 10, 1000, MG_JITTER_DECORRELATED);
    uint64_t push = 500, state = 99, prev = 0;

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    o.on_retry = record_retry;
    o.on_retry_data = &h;
    o.pushback = constant_pushback;
    o.pushback_data = &push;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(h.n, 8);
    for (uint32_t k = 0; k < 8; k++) {
        uint64_t d;

        assert_int_equal(
            mg_backoff_delay(&p, k, prev, mg_random_splitmix64, &state, &d),
            MG_OK);
        assert_int_equal(h.delay[k], d > push ? d : push);
        prev = d;
    }
}

/* ======================================================================
 * Deadline and server pushback
 * ==================================================================== */

static void test_executor__deadline_stops_without_sleeping_past_it(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = make_policy(5, 100, 1000, MG_JITTER_NONE);
    const uint64_t start = 1000 * NS_PER_MS;

    (void)st;
    p.max_elapsed_ms = 250;
    vt.now_ns = start;
    s.fail_first = ALWAYS_FAIL;
    s.vt = &vt;
    s.cost_ns = 30 * NS_PER_MS;
    s.cancel = NULL;
    o.drop_error = script_drop;
    o.drop_error_data = &s;
    /* t=30 fails, sleeps to 130; t=160 fails, 160 + 200 > 250: stop. */
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_DEADLINE);
    assert_int_equal(s.calls, 2);
    assert_int_equal(res.attempts, 2);
    assert_int_equal(vt.sleep_calls, 1);
    assert_int_equal(vt.wake[0], start + 130 * NS_PER_MS);
    assert_true(vt.now_ns <= start + 250 * NS_PER_MS);
    assert_int_equal(res.slept_ms, 100);
    assert_ptr_equal(res.error, token(&s, 1));
    assert_int_equal(s.dropped[0], 1);
    /* Once before the first attempt, once before each considered sleep. */
    assert_int_equal(vt.clock_calls, 3);
}

static void test_executor__wait_ending_exactly_at_deadline_is_allowed(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = make_policy(5, 100, 1000, MG_JITTER_NONE);

    (void)st;
    p.max_elapsed_ms = 100;
    s.fail_first = ALWAYS_FAIL;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_DEADLINE);
    assert_int_equal(vt.sleep_calls, 1);
    assert_int_equal(vt.wake[0], 100 * NS_PER_MS);
    assert_int_equal(res.attempts, 2);
}

static void test_executor__deadline_counts_time_spent_in_attempts(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = make_policy(5, 0, 0, MG_JITTER_NONE);

    (void)st;
    /* Zero waits, but each attempt takes 40 ms of a 100 ms budget: the
     * attempts at 40 and 80 ms may be followed by another, not the one
     * ending at 120 ms. */
    p.max_elapsed_ms = 100;
    s.fail_first = ALWAYS_FAIL;
    s.vt = &vt;
    s.cost_ns = 40 * NS_PER_MS;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_DEADLINE);
    assert_int_equal(s.calls, 3);
    assert_int_equal(vt.sleep_calls, 0);
    assert_int_equal(res.slept_ms, 0);
}

static void test_executor__retry_after_is_honoured_beyond_max_delay(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct hooks h = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = make_policy(2, 10, 100, MG_JITTER_PROPORTIONAL);
    struct eop e = {0, ALWAYS_FAIL, MG_ERROR_RATE_LIMIT, 2, false};
    struct eop su = {0, ALWAYS_FAIL, MG_ERROR_SERVICE_UNAVAILABLE, 1, false};

    (void)st;
    o.on_retry = record_retry;
    o.on_retry_data = &h;
    assert_int_equal(mg_retry_with_backoff(&p, eop_fn, &e, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(e.calls, 3);
    assert_int_equal(vt.sleep_calls, 2);
    assert_int_equal(h.delay[0], 2000);
    assert_int_equal(h.delay[1], 2000);
    assert_true(slept_ms(&vt, 0) >= 2000);
    assert_true(slept_ms(&vt, 1) >= 2000);
    assert_int_equal(res.slept_ms, 4000);
    mg_error_free(res.error);

    h.n = 0;
    assert_int_equal(mg_retry_with_backoff(&p, eop_fn, &su, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(h.delay[0], 1000);
    assert_int_equal(h.delay[1], 1000);
    mg_error_free(res.error);
}

static void
test_executor__pushback_above_ceiling_stops_without_sleeping(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct hooks h = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    /* The presets honour up to 60 s. */
    struct eop e = {0, ALWAYS_FAIL, MG_ERROR_RATE_LIMIT, 61, false};

    (void)st;
    o.on_retry = record_retry;
    o.on_retry_data = &h;
    assert_int_equal(mg_retry_with_backoff(NULL, eop_fn, &e, &o, &res),
                     MG_STOP_PUSHBACK);
    assert_int_equal(e.calls, 1);
    assert_int_equal(res.attempts, 1);
    assert_int_equal(res.stop, MG_STOP_PUSHBACK);
    assert_int_equal(vt.sleep_calls, 0);
    assert_int_equal(h.n, 0);
    assert_int_equal(r.calls, 0);
    assert_int_equal(mg_error_get_kind(res.error), MG_ERROR_RATE_LIMIT);
    mg_error_free(res.error);
}

static void test_executor__pushback_at_ceiling_is_honoured(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = make_policy(1, 100, 1000, MG_JITTER_NONE);
    uint64_t push;

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    o.pushback = constant_pushback;
    o.pushback_data = &push;

    push = p.max_pushback_ms;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(res.slept_ms, p.max_pushback_ms);

    /* A pushback shorter than the backoff delay does not shorten it. */
    push = 10;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(res.slept_ms, 100);

    /* With a zero ceiling any positive request stops the loop. */
    p.max_pushback_ms = 0;
    push = 1;
    s.calls = 0;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_PUSHBACK);
    assert_int_equal(s.calls, 1);
}

static void test_executor__pushback_past_deadline_stops_with_deadline(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = MG_POLICY_DEFAULT_INIT;
    struct eop e = {0, ALWAYS_FAIL, MG_ERROR_RATE_LIMIT, 2, false};

    (void)st;
    p.max_elapsed_ms = 1000;
    assert_int_equal(mg_retry_with_backoff(&p, eop_fn, &e, &o, &res),
                     MG_STOP_DEADLINE);
    assert_int_equal(e.calls, 1);
    assert_int_equal(vt.sleep_calls, 0);
    assert_int_equal(res.slept_ms, 0);
    mg_error_free(res.error);
}

static void test_executor__time_math_saturates_at_maximal_values(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    struct hooks h = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = make_policy(2, UINT64_MAX, UINT64_MAX, MG_JITTER_NONE);
    uint64_t push = UINT64_MAX;

    (void)st;
    p.max_elapsed_ms = UINT64_MAX;
    vt.now_ns = 5;
    s.fail_first = ALWAYS_FAIL;
    o.on_retry = record_retry;
    o.on_retry_data = &h;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(vt.sleep_calls, 2);
    assert_int_equal(vt.wake[0], UINT64_MAX);
    assert_int_equal(vt.wake[1], UINT64_MAX);
    assert_int_equal(h.delay[0], UINT64_MAX);
    assert_int_equal(res.slept_ms, UINT64_MAX);

    /* A maximal pushback under a maximal ceiling, from a clock that is
     * itself near the end of its range. */
    memset(&vt, 0, sizeof(vt));
    vt.now_ns = UINT64_MAX - NS_PER_MS;
    p = make_policy(1, 1, 1, MG_JITTER_NONE);
    p.max_pushback_ms = UINT64_MAX;
    p.max_elapsed_ms = 10;
    o.pushback = constant_pushback;
    o.pushback_data = &push;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(vt.sleep_calls, 1);
    assert_int_equal(vt.wake[0], UINT64_MAX);
    assert_int_equal(res.slept_ms, UINT64_MAX);
}

static void test_executor__huge_max_retries_stops_at_deadline(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    struct hooks h = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = make_policy(UINT32_MAX, 1, 1, MG_JITTER_NONE);

    (void)st;
    p.max_elapsed_ms = 10;
    s.fail_first = ALWAYS_FAIL;
    o.on_retry = record_retry;
    o.on_retry_data = &h;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_DEADLINE);
    assert_int_equal(res.attempts, 11);
    assert_int_equal(res.slept_ms, 10);
    assert_int_equal(h.n, 10);
    assert_int_equal(h.retry[9], 10);

    s.calls = 0;
    s.fail_first = 5;
    p.max_elapsed_ms = 0;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_SUCCESS);
    assert_int_equal(res.attempts, 6);
}

/* ======================================================================
 * Ownership of errors
 * ==================================================================== */

static void test_executor__final_error_is_dropped_when_result_is_null(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    mg_retry_options o = virtual_options(&vt, &r);

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    o.drop_error = script_drop;
    o.drop_error_data = &s;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &o, NULL),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(s.calls, 4);
    assert_int_equal(s.drops, 4);
    for (unsigned k = 0; k < 4; k++)
        assert_int_equal(s.dropped[k], 1);
    assert_int_equal(s.foreign_drops, 0);

    /* Not retryable, result NULL: the one error is dropped. */
    memset(&s, 0, sizeof(s));
    s.fail_first = ALWAYS_FAIL;
    o.is_retryable = never_retryable;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &o, NULL),
                     MG_STOP_NOT_RETRYABLE);
    assert_int_equal(s.drops, 1);
    assert_int_equal(s.dropped[0], 1);
}

static void test_executor__repeated_error_object_is_not_dropped(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    s.same_error = true;
    o.drop_error = script_drop;
    o.drop_error_data = &s;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(s.calls, 4);
    assert_int_equal(s.drops, 0);
    assert_ptr_equal(res.error, token(&s, 0));
}

static void test_executor__null_errors_are_never_dropped(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    s.null_error = true;
    o.drop_error = script_drop;
    o.drop_error_data = &s;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(s.calls, 4);
    assert_null(res.error);
    assert_int_equal(s.drops, 0);
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &o, NULL),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(s.drops, 0);
}

static unsigned g_mg_error_drops;

static void counting_mg_error_free(void *error, void *user_data)
{
    (void)user_data;
    g_mg_error_drops++;
    mg_error_free(error);
}

static void test_executor__with_backoff_frees_every_superseded_error(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    struct eop e = {0, ALWAYS_FAIL, MG_ERROR_TIMEOUT, MG_NONE, false};

    (void)st;
    /* Default drop (mg_error_free); valgrind and ASan check for leaks. */
    assert_int_equal(mg_retry_with_backoff(NULL, eop_fn, &e, &o, NULL),
                     MG_STOP_EXHAUSTED);
    e.calls = 0;
    e.fail_first = 2;
    assert_int_equal(mg_retry_with_backoff(NULL, eop_fn, &e, &o, &res),
                     MG_STOP_SUCCESS);
    assert_null(res.error);

    /* The same through a counting drop. */
    o.drop_error = counting_mg_error_free;
    g_mg_error_drops = 0;
    e.calls = 0;
    e.fail_first = ALWAYS_FAIL;
    assert_int_equal(mg_retry_with_backoff(NULL, eop_fn, &e, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(g_mg_error_drops, 3);
    assert_int_equal(mg_error_get_kind(res.error), MG_ERROR_TIMEOUT);
    mg_error_free(res.error);

    g_mg_error_drops = 0;
    e.calls = 0;
    assert_int_equal(mg_retry_with_backoff(NULL, eop_fn, &e, &o, NULL),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(g_mg_error_drops, 4);
}

static void test_executor__with_backoff_null_error_is_not_retryable(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    struct eop e = {0, ALWAYS_FAIL, MG_ERROR_NETWORK, MG_NONE, true};

    (void)st;
    assert_int_equal(mg_retry_with_backoff(NULL, eop_fn, &e, &o, &res),
                     MG_STOP_NOT_RETRYABLE);
    assert_int_equal(e.calls, 1);
    assert_null(res.error);
}

static bool always_retryable(const void *error, void *user_data)
{
    (void)error;
    (void)user_data;
    return true;
}

static bool no_pushback(const void *error, uint64_t *wait_ms, void *user_data)
{
    (void)error;
    (void)wait_ms;
    (void)user_data;
    return false;
}

static void test_executor__with_backoff_options_override_defaults(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct hooks h = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = make_policy(3, 100, 1000, MG_JITTER_NONE);
    struct eop db = {0, ALWAYS_FAIL, MG_ERROR_DATABASE, MG_NONE, false};
    struct eop rl = {0, ALWAYS_FAIL, MG_ERROR_RATE_LIMIT, 30, false};

    (void)st;
    /* The SPEC's quirk: with the caller's classifier a Database error is
     * retried. */
    o.is_retryable = always_retryable;
    o.drop_error = counting_mg_error_free;
    g_mg_error_drops = 0;
    assert_int_equal(mg_retry_with_backoff(&p, eop_fn, &db, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(db.calls, 4);
    assert_int_equal(g_mg_error_drops, 3);
    mg_error_free(res.error);

    /* The caller's pushback replaces the retry-after. */
    o.pushback = no_pushback;
    o.on_retry = record_retry;
    o.on_retry_data = &h;
    assert_int_equal(mg_retry_with_backoff(&p, eop_fn, &rl, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(h.n, 3);
    assert_int_equal(h.delay[0], 100);
    assert_int_equal(h.delay[2], 400);
    mg_error_free(res.error);
}

/* ======================================================================
 * Hooks and logging
 * ==================================================================== */

static void
test_executor__on_retry_gets_number_delay_and_error_before_sleep(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    struct hooks h = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = make_policy(3, 100, 5000, MG_JITTER_NONE);

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    h.vt = &vt;
    o.on_retry = record_retry;
    o.on_retry_data = &h;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(h.n, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(h.retry[i], i + 1);
        assert_int_equal(h.delay[i], UINT64_C(100) << i);
        assert_ptr_equal(h.error[i], token(&s, i));
        assert_int_equal(h.sleeps_before[i], i);
    }
}

static void test_executor__log_handler_gets_retries_and_giving_up(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    struct logs l = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_policy p = make_policy(3, 100, 5000, MG_JITTER_NONE);

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    o.log = record_log;
    o.log_data = &l;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, NULL),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(l.n, 4);
    assert_int_equal(l.level[0], MG_LOG_DEBUG);
    assert_string_equal(l.msg[0], "retry 1 of 3 in 100 ms");
    assert_string_equal(l.msg[1], "retry 2 of 3 in 200 ms");
    assert_string_equal(l.msg[2], "retry 3 of 3 in 400 ms");
    assert_int_equal(l.level[3], MG_LOG_WARN);
    assert_string_equal(l.msg[3], "giving up after 4 attempts: exhausted");

    /* Success after a failure logs the retry and no warning. */
    memset(&l, 0, sizeof(l));
    memset(&s, 0, sizeof(s));
    s.fail_first = 1;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, NULL),
                     MG_STOP_SUCCESS);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.level[0], MG_LOG_DEBUG);

    /* A refused error gives up at once with its reason. */
    memset(&l, 0, sizeof(l));
    memset(&s, 0, sizeof(s));
    s.fail_first = ALWAYS_FAIL;
    o.is_retryable = never_retryable;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, NULL),
                     MG_STOP_NOT_RETRYABLE);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.level[0], MG_LOG_WARN);
    assert_string_equal(l.msg[0], "giving up after 1 attempt: not retryable");
}

static void test_executor__log_level_filters_lower_levels(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    struct logs l = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_policy p = make_policy(2, 100, 5000, MG_JITTER_NONE);

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    o.log = record_log;
    o.log_data = &l;
    o.log_level = MG_LOG_WARN;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, NULL),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.level[0], MG_LOG_WARN);
    assert_string_equal(l.msg[0], "giving up after 3 attempts: exhausted");

    memset(&l, 0, sizeof(l));
    o.log_level = MG_LOG_WARN + 1;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, NULL),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(l.n, 0);
}

/* Runs one failing retry (100 ms, then exhausted) with log NULL and the
 * given MG_RETRY_LOG, and returns what went to stderr. */
static void run_with_env_log(const char *env, int log_level, char *out,
                             size_t size)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    struct capture c;
    mg_retry_options o = virtual_options(&vt, &r);
    mg_policy p = make_policy(1, 100, 5000, MG_JITTER_NONE);
    int rc;

    if (env != NULL)
        assert_int_equal(setenv("MG_RETRY_LOG", env, 1), 0);
    else
        assert_int_equal(unsetenv("MG_RETRY_LOG"), 0);
    s.fail_first = ALWAYS_FAIL;
    o.log_level = log_level;
    capture_begin(&c);
    rc = mg_retry_run(&p, script_op, &s, &o, NULL);
    capture_end(&c, out, size);
    unsetenv("MG_RETRY_LOG");
    assert_int_equal(rc, MG_STOP_EXHAUSTED);
}

static void
test_executor__env_debug_logs_retries_and_warning_to_stderr(void **st)
{
    char out[512];

    (void)st;
    run_with_env_log("debug", 0, out, sizeof(out));
    assert_string_equal(out, "mgretry: debug: retry 1 of 1 in 100 ms\n"
                             "mgretry: warn: giving up after 2 attempts: "
                             "exhausted\n");
    /* options->log_level still applies to the environment's handler. */
    run_with_env_log("debug", MG_LOG_WARN, out, sizeof(out));
    assert_string_equal(out, "mgretry: warn: giving up after 2 attempts: "
                             "exhausted\n");
}

static void test_executor__env_warn_logs_only_the_warning(void **st)
{
    char out[512];

    (void)st;
    run_with_env_log("warn", 0, out, sizeof(out));
    assert_string_equal(out, "mgretry: warn: giving up after 2 attempts: "
                             "exhausted\n");
}

static void test_executor__env_unset_or_unknown_is_silent(void **st)
{
    char out[512];

    (void)st;
    run_with_env_log(NULL, 0, out, sizeof(out));
    assert_string_equal(out, "");
    run_with_env_log("verbose", 0, out, sizeof(out));
    assert_string_equal(out, "");
    run_with_env_log("", 0, out, sizeof(out));
    assert_string_equal(out, "");
}

static void test_executor__own_log_handler_takes_precedence_over_env(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    struct logs l = {0};
    struct capture c;
    char out[256];
    mg_retry_options o = virtual_options(&vt, &r);
    mg_policy p = make_policy(1, 100, 5000, MG_JITTER_NONE);
    int rc;

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    o.log = record_log;
    o.log_data = &l;
    assert_int_equal(setenv("MG_RETRY_LOG", "debug", 1), 0);
    g_getenv_log_calls = 0;
    capture_begin(&c);
    rc = mg_retry_run(&p, script_op, &s, &o, NULL);
    capture_end(&c, out, sizeof(out));
    unsetenv("MG_RETRY_LOG");
    assert_int_equal(rc, MG_STOP_EXHAUSTED);
    assert_string_equal(out, "");
    assert_int_equal(l.n, 2);
    assert_int_equal(g_getenv_log_calls, 0);
}

static void test_executor__log_stderr_formats_level_and_message(void **st)
{
    struct capture c;
    char out[256];

    (void)st;
    capture_begin(&c);
    mg_log_stderr(MG_LOG_DEBUG, "hello", NULL);
    mg_log_stderr(MG_LOG_WARN, "bye", NULL);
    mg_log_stderr(20, "other", NULL);
    mg_log_stderr(MG_LOG_WARN, NULL, NULL);
    capture_end(&c, out, sizeof(out));
    assert_string_equal(out, "mgretry: debug: hello\n"
                             "mgretry: warn: bye\n"
                             "mgretry: level 20: other\n"
                             "mgretry: warn: \n");
}

/* ======================================================================
 * The success path costs nothing but the call
 * ==================================================================== */

static void
test_executor__success_path_reads_no_clock_random_sleep_or_env(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = MG_POLICY_DEFAULT_INIT;

    (void)st;
    assert_int_equal(setenv("MG_RETRY_LOG", "debug", 1), 0);
    g_getenv_log_calls = 0;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_SUCCESS);
    assert_int_equal(vt.clock_calls, 0);
    assert_int_equal(vt.sleep_calls, 0);
    assert_int_equal(r.calls, 0);
    assert_int_equal(g_getenv_log_calls, 0);

    /* A deadline needs exactly one reading: the start. */
    p.max_elapsed_ms = 1000;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_SUCCESS);
    assert_int_equal(vt.clock_calls, 1);
    assert_int_equal(r.calls, 0);
    assert_int_equal(g_getenv_log_calls, 0);

    /* The interposed getenv does see the executor's reads: once per run
     * that has something to log. */
    s.calls = 0;
    s.fail_first = 1;
    p.max_elapsed_ms = 0;
    {
        struct capture c;
        char out[256];

        capture_begin(&c);
        mg_retry_run(&p, script_op, &s, &o, &res);
        capture_end(&c, out, sizeof(out));
    }
    unsetenv("MG_RETRY_LOG");
    assert_int_equal(g_getenv_log_calls, 1);
}

static void test_executor__zero_waits_make_no_sleep_and_no_clock_read(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    struct hooks h = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = make_policy(3, 0, 0, MG_JITTER_NONE);

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    o.on_retry = record_retry;
    o.on_retry_data = &h;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(s.calls, 4);
    assert_int_equal(vt.sleep_calls, 0);
    assert_int_equal(vt.clock_calls, 0);
    assert_int_equal(res.slept_ms, 0);
    assert_int_equal(h.n, 3);
    assert_int_equal(h.delay[0], 0);

    /* Without a deadline, one clock reading per sleep and no more. */
    memset(&vt, 0, sizeof(vt));
    s.calls = 0;
    p = make_policy(3, 10, 100, MG_JITTER_FULL);
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(vt.clock_calls, vt.sleep_calls);
    for (unsigned i = 0; i < vt.sleep_calls; i++)
        assert_true(vt.wake[i] > vt.from[i]);
}

/* ======================================================================
 * Arguments, defaults, names
 * ==================================================================== */

static void
test_executor__invalid_arguments_return_codes_without_calling_op(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    struct eop e = {0, ALWAYS_FAIL, MG_ERROR_NETWORK, MG_NONE, false};
    mg_retry_options good = virtual_options(&vt, &r);
    mg_retry_options o;
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p;

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    res.attempts = 77;

    assert_int_equal(mg_retry_run(NULL, NULL, &s, &good, &res), MG_EINVAL);
    assert_int_equal(mg_retry_with_backoff(NULL, NULL, &e, &good, &res),
                     MG_EINVAL);

    o = good;
    o.version = 0;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &o, &res), MG_EVERSION);
    assert_int_equal(mg_retry_with_backoff(NULL, eop_fn, &e, &o, &res),
                     MG_EVERSION);
    o.version = MG_RETRY_OPTIONS_VERSION + 1;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &o, &res), MG_EVERSION);
    assert_int_equal(mg_retry_with_backoff(NULL, eop_fn, &e, &o, &res),
                     MG_EVERSION);
    o.version = UINT32_MAX;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &o, &res), MG_EVERSION);

    res.version = 0;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &good, &res),
                     MG_EVERSION);
    assert_int_equal(mg_retry_with_backoff(NULL, eop_fn, &e, &good, &res),
                     MG_EVERSION);
    res.version = MG_RETRY_RESULT_VERSION + 1;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &good, &res),
                     MG_EVERSION);
    res.version = MG_RETRY_RESULT_VERSION;

    o = good;
    o.sleep = NULL;
    o.sleep_data = NULL;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &o, &res), MG_EINVAL);
    assert_int_equal(mg_retry_with_backoff(NULL, eop_fn, &e, &o, &res),
                     MG_EINVAL);
    o = good;
    o.clock = NULL;
    o.clock_data = NULL;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &o, &res), MG_EINVAL);

    p = make_policy(3, 200, 100, MG_JITTER_NONE); /* base > max */
    assert_int_equal(mg_retry_run(&p, script_op, &s, &good, &res), MG_EPOLICY);
    assert_int_equal(mg_retry_with_backoff(&p, eop_fn, &e, &good, &res),
                     MG_EPOLICY);
    p = make_policy(3, 100, 200, 99); /* unknown jitter */
    assert_int_equal(mg_retry_run(&p, script_op, &s, &good, &res), MG_EPOLICY);
    p = make_policy(3, 100, 200, MG_JITTER_NONE);
    p.multiplier = 0.5;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &good, &res), MG_EPOLICY);
    p = make_policy(3, 100, 200, MG_JITTER_NONE);
    p.version = 0;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &good, &res), MG_EVERSION);

    assert_int_equal(s.calls, 0);
    assert_int_equal(e.calls, 0);
    assert_int_equal(vt.clock_calls, 0);
    /* A refused call leaves the caller's result alone. */
    assert_int_equal(res.attempts, 77);

    /* result NULL is fine and its version is not looked at. */
    s.fail_first = 0;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &good, NULL),
                     MG_STOP_SUCCESS);
}

static int always_fail_op(void *user_data, void **error)
{
    unsigned *calls = user_data;

    (*calls)++;
    *error = NULL;
    return 1;
}

static void test_executor__null_options_and_policy_use_defaults(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    struct hooks h = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = make_policy(2, 0, 0, MG_JITTER_NONE);
    unsigned calls = 0;

    (void)st;
    /* Defaults: every failure retryable; zero waits, so nothing sleeps. */
    unsetenv("MG_RETRY_LOG");
    assert_int_equal(mg_retry_run(&p, always_fail_op, &calls, NULL, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(calls, 3);
    assert_int_equal(res.attempts, 3);
    assert_int_equal(mg_retry_run(NULL, script_op, &s, NULL, NULL),
                     MG_STOP_SUCCESS);

    /* policy NULL is the default preset: 3 retries of 100, 200, 400 ms
     * with up to 30 % proportional jitter. */
    s.fail_first = ALWAYS_FAIL;
    s.calls = 0;
    o.on_retry = record_retry;
    o.on_retry_data = &h;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(s.calls, 4);
    assert_int_equal(h.n, 3);
    for (unsigned i = 0; i < 3; i++) {
        uint64_t d = UINT64_C(100) << i;

        assert_true(h.delay[i] >= d && h.delay[i] <= d + d * 3 / 10);
    }
    assert_int_equal(r.calls, 3);
}

static void test_executor__stop_str_names_every_reason(void **st)
{
    static const int bad[] = {-1, 8, 100, INT_MAX, INT_MIN};

    (void)st;
    assert_string_equal(mg_retry_stop_str(MG_STOP_SUCCESS), "success");
    assert_string_equal(mg_retry_stop_str(MG_STOP_EXHAUSTED), "exhausted");
    assert_string_equal(mg_retry_stop_str(MG_STOP_NOT_RETRYABLE),
                        "not retryable");
    assert_string_equal(mg_retry_stop_str(MG_STOP_DEADLINE), "deadline");
    assert_string_equal(mg_retry_stop_str(MG_STOP_CANCELLED), "cancelled");
    assert_string_equal(mg_retry_stop_str(MG_STOP_PUSHBACK), "pushback");
    assert_string_equal(mg_retry_stop_str(MG_STOP_BUDGET), "budget");
    assert_string_equal(mg_retry_stop_str(MG_STOP_BREAKER), "breaker open");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_string_equal(mg_retry_stop_str(bad[i]), "unknown");
}

static void test_executor__options_init_checks_pointer_and_version(void **st)
{
    const mg_retry_options init = MG_RETRY_OPTIONS_INIT;
    mg_retry_options o;

    (void)st;
    assert_int_equal(mg_retry_options_init(NULL, MG_RETRY_OPTIONS_VERSION),
                     MG_EINVAL);
    assert_int_equal(mg_retry_options_init(NULL, 0), MG_EINVAL);
    memset(&o, 0xab, sizeof(o));
    assert_int_equal(mg_retry_options_init(&o, 0), MG_EVERSION);
    assert_int_equal(mg_retry_options_init(&o, MG_RETRY_OPTIONS_VERSION + 1),
                     MG_EVERSION);
    assert_int_equal(mg_retry_options_init(&o, UINT32_MAX), MG_EVERSION);
    assert_int_equal(o.version, 0xababababu);

    assert_int_equal(mg_retry_options_init(&o, MG_RETRY_OPTIONS_VERSION),
                     MG_OK);
    assert_int_equal(o.version, MG_RETRY_OPTIONS_VERSION);
    assert_int_equal(o.log_level, init.log_level);
    assert_null(o.is_retryable);
    assert_null(o.is_retryable_data);
    assert_null(o.drop_error);
    assert_null(o.drop_error_data);
    assert_null(o.pushback);
    assert_null(o.pushback_data);
    assert_null(o.on_retry);
    assert_null(o.on_retry_data);
    assert_null(o.log);
    assert_null(o.log_data);
    assert_null(o.clock);
    assert_null(o.clock_data);
    assert_null(o.sleep);
    assert_null(o.sleep_data);
    assert_null(o.random);
    assert_null(o.random_data);
    assert_null(o.cancel);
    assert_null(o.budget);
    assert_null(o.breaker);
    assert_null(o.stats);
}

/* ======================================================================
 * Cancellation
 * ==================================================================== */

static void test_executor__cancel_api_handles_null_and_round_trips(void **st)
{
    mg_cancel *c = NULL;

    (void)st;
    assert_int_equal(mg_cancel_new(NULL), MG_EINVAL);
    mg_cancel_free(NULL);
    assert_int_equal(mg_cancel_trigger(NULL), MG_EINVAL);
    assert_false(mg_cancel_is_triggered(NULL));
    assert_int_equal(mg_cancel_reset(NULL), MG_EINVAL);

    assert_int_equal(mg_cancel_new(&c), MG_OK);
    assert_non_null(c);
    assert_false(mg_cancel_is_triggered(c));
    assert_int_equal(mg_cancel_trigger(c), MG_OK);
    assert_true(mg_cancel_is_triggered(c));
    assert_int_equal(mg_cancel_trigger(c), MG_OK);
    assert_true(mg_cancel_is_triggered(c));
    assert_int_equal(mg_cancel_reset(c), MG_OK);
    assert_false(mg_cancel_is_triggered(c));
    mg_cancel_free(c);
}

static void test_executor__cancelled_before_start_makes_no_attempt(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    struct logs l = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = MG_POLICY_DEFAULT_INIT;
    struct eop e = {0, ALWAYS_FAIL, MG_ERROR_NETWORK, MG_NONE, false};
    mg_cancel *c;

    (void)st;
    assert_int_equal(mg_cancel_new(&c), MG_OK);
    assert_int_equal(mg_cancel_trigger(c), MG_OK);
    p.max_elapsed_ms = 1000;
    o.cancel = c;
    o.log = record_log;
    o.log_data = &l;
    res.error = &s; /* must be overwritten */
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_CANCELLED);
    assert_int_equal(s.calls, 0);
    assert_int_equal(res.attempts, 0);
    assert_int_equal(res.stop, MG_STOP_CANCELLED);
    assert_null(res.error);
    assert_int_equal(vt.clock_calls, 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.msg[0], "giving up after 0 attempts: cancelled");

    assert_int_equal(mg_retry_with_backoff(&p, eop_fn, &e, &o, NULL),
                     MG_STOP_CANCELLED);
    assert_int_equal(e.calls, 0);

    /* Reset, the same flag lets a run through. */
    assert_int_equal(mg_cancel_reset(c), MG_OK);
    s.fail_first = 0;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_SUCCESS);
    mg_cancel_free(c);
}

static void test_executor__cancel_during_attempt_stops_after_it(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    struct hooks h = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_cancel *c;

    (void)st;
    assert_int_equal(mg_cancel_new(&c), MG_OK);
    s.fail_first = ALWAYS_FAIL;
    s.cancel = c;
    s.cancel_call = 2;
    o.cancel = c;
    o.drop_error = script_drop;
    o.drop_error_data = &s;
    o.on_retry = record_retry;
    o.on_retry_data = &h;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &o, &res),
                     MG_STOP_CANCELLED);
    assert_int_equal(s.calls, 2);
    assert_int_equal(res.attempts, 2);
    assert_ptr_equal(res.error, token(&s, 1));
    assert_int_equal(s.dropped[0], 1);
    assert_int_equal(s.dropped[1], 0);
    /* The sleep after attempt 1 happened (and saw the flag); none after
     * the cancelled attempt 2, nor an announcement of a retry. */
    assert_int_equal(vt.sleep_calls, 1);
    assert_ptr_equal(vt.cancel_seen, c);
    assert_int_equal(h.n, 1);
    mg_cancel_free(c);
}

static void
test_executor__cancel_during_sleep_stops_before_next_attempt(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {42, 0};
    struct script s = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_cancel *c;

    (void)st;
    assert_int_equal(mg_cancel_new(&c), MG_OK);
    vt.trigger_in_sleep = c;
    s.fail_first = ALWAYS_FAIL;
    o.cancel = c;
    o.drop_error = script_drop;
    o.drop_error_data = &s;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &o, &res),
                     MG_STOP_CANCELLED);
    assert_int_equal(s.calls, 1);
    assert_int_equal(vt.sleep_calls, 1);
    assert_ptr_equal(res.error, token(&s, 0));
    assert_int_equal(s.drops, 0);
    assert_int_equal(res.slept_ms, slept_ms(&vt, 0));

    /* result NULL: the last error is dropped instead. */
    assert_int_equal(mg_cancel_reset(c), MG_OK);
    memset(&s, 0, sizeof(s));
    s.fail_first = ALWAYS_FAIL;
    assert_int_equal(mg_retry_run(NULL, script_op, &s, &o, NULL),
                     MG_STOP_CANCELLED);
    assert_int_equal(s.drops, 1);
    assert_int_equal(s.dropped[0], 1);
    mg_cancel_free(c);
}

/* ======================================================================
 * Real time: the monotonic clock and sleep
 * ==================================================================== */

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

static void test_executor__clock_monotonic_follows_clock_monotonic(void **st)
{
    uint64_t a, b, c;

    (void)st;
    a = now_ns();
    b = mg_clock_monotonic(NULL);
    c = now_ns();
    assert_true(a <= b && b <= c);
    assert_true(mg_clock_monotonic(NULL) >= b);
}

static void test_executor__sleep_monotonic_sleeps_the_requested_time(void **st)
{
    mg_cancel *c;

    (void)st;
    assert_int_equal(mg_cancel_new(&c), MG_OK);
    for (int with_cancel = 0; with_cancel < 2; with_cancel++) {
        uint64_t start = mg_clock_monotonic(NULL), end;

        mg_sleep_monotonic(start + 20 * NS_PER_MS, with_cancel ? c : NULL,
                           NULL);
        end = mg_clock_monotonic(NULL);
        assert_true(end - start >= 20 * NS_PER_MS);
        assert_true(end - start < 35 * NS_PER_MS + SLACK_NS);
    }
    mg_cancel_free(c);
}

static void
test_executor__sleep_monotonic_returns_at_once_for_past_wake(void **st)
{
    mg_cancel *c;
    uint64_t start, end;

    (void)st;
    assert_int_equal(mg_cancel_new(&c), MG_OK);
    start = mg_clock_monotonic(NULL);
    mg_sleep_monotonic(0, NULL, NULL);
    mg_sleep_monotonic(start - NS_PER_MS, NULL, NULL);
    mg_sleep_monotonic(start, c, NULL);
    /* An already triggered flag ends even a long sleep at once. */
    assert_int_equal(mg_cancel_trigger(c), MG_OK);
    mg_sleep_monotonic(start + 10000 * NS_PER_MS, c, NULL);
    end = mg_clock_monotonic(NULL);
    assert_true(end - start < NS_PER_MS);
    mg_cancel_free(c);
}

static volatile sig_atomic_t g_alarms;

static void on_alarm(int sig)
{
    (void)sig;
    g_alarms++;
}

static void
test_executor__sleep_monotonic_is_not_shortened_by_signals(void **st)
{
    struct sigaction sa, old;
    struct itimerval every_ms = {{0, 1000}, {0, 1000}}, off = {{0, 0}, {0, 0}};
    mg_cancel *c;

    (void)st;
    assert_int_equal(mg_cancel_new(&c), MG_OK);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: every alarm interrupts the sleep */
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
    for (int with_cancel = 0; with_cancel < 2; with_cancel++) {
        uint64_t start, end;
        sig_atomic_t alarms;

        g_alarms = 0;
        assert_int_equal(setitimer(ITIMER_REAL, &every_ms, NULL), 0);
        start = mg_clock_monotonic(NULL);
        mg_sleep_monotonic(start + 50 * NS_PER_MS, with_cancel ? c : NULL,
                           NULL);
        end = mg_clock_monotonic(NULL);
        assert_int_equal(setitimer(ITIMER_REAL, &off, NULL), 0);
        alarms = g_alarms;
        assert_true(alarms > 5);
        assert_true(end - start >= 50 * NS_PER_MS);
        assert_true(end - start < 60 * NS_PER_MS + SLACK_NS);
    }
    assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);
    mg_cancel_free(c);
}

struct trigger_ctx {
    mg_cancel *cancel;
    uint64_t trigger_ns;
};

static void *trigger_later(void *arg)
{
    struct trigger_ctx *t = arg;
    struct timespec ts = {0, 30 * 1000 * 1000};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    t->trigger_ns = mg_clock_monotonic(NULL);
    mg_cancel_trigger(t->cancel);
    return NULL;
}

static void test_executor__cancel_from_thread_ends_real_sleep_quickly(void **st)
{
    struct script s = {0};
    struct trigger_ctx t = {0};
    mg_retry_options o = MG_RETRY_OPTIONS_INIT;
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = make_policy(1, 10000, 10000, MG_JITTER_NONE);
    pthread_t thread;
    uint64_t start, end;
    int rc;

    (void)st;
    assert_int_equal(mg_cancel_new(&t.cancel), MG_OK);
    s.fail_first = ALWAYS_FAIL;
    o.cancel = t.cancel;
    start = mg_clock_monotonic(NULL);
    assert_int_equal(pthread_create(&thread, NULL, trigger_later, &t), 0);
    rc = mg_retry_run(&p, script_op, &s, &o, &res);
    end = mg_clock_monotonic(NULL);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(rc, MG_STOP_CANCELLED);
    assert_int_equal(res.attempts, 1);
    assert_ptr_equal(res.error, token(&s, 0));
    assert_true(end >= t.trigger_ns);
    assert_true(end - start >= 30 * NS_PER_MS);
    assert_true(end - t.trigger_ns < 50 * NS_PER_MS + SLACK_NS);
    mg_cancel_free(t.cancel);
}

static void test_executor__real_run_sleeps_at_least_the_sum_of_delays(void **st)
{
    struct script s = {0};
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_policy p = make_policy(3, 2, 8, MG_JITTER_NONE);
    uint64_t start, end;

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    start = mg_clock_monotonic(NULL);
    assert_int_equal(mg_retry_run(&p, script_op, &s, NULL, &res),
                     MG_STOP_EXHAUSTED);
    end = mg_clock_monotonic(NULL);
    assert_int_equal(s.calls, 4);
    assert_int_equal(res.slept_ms, 2 + 4 + 8);
    assert_true(end - start >= 14 * NS_PER_MS);
    assert_true(end - start < 114 * NS_PER_MS + SLACK_NS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_executor__success_on_first_attempt_makes_one_call),
        cmocka_unit_test(
            test_executor__success_after_two_failures_makes_three_calls),
        cmocka_unit_test(
            test_executor__exhaustion_makes_one_plus_max_retries_calls),
        cmocka_unit_test(test_executor__non_retryable_error_fails_at_once),
        cmocka_unit_test(test_executor__retries_retryable_gateway_errors),
        cmocka_unit_test(
            test_executor__does_not_retry_validation_or_database_errors),
        cmocka_unit_test(test_executor__aggressive_preset_makes_six_calls),
        cmocka_unit_test(test_executor__gentle_preset_makes_three_calls),
        cmocka_unit_test(
            test_executor__zero_max_retries_makes_exactly_one_call),
        cmocka_unit_test(
            test_executor__default_preset_without_jitter_sleeps_100_200_400),
        cmocka_unit_test(
            test_executor__jittered_sleeps_match_backoff_delay_and_bounds),
        cmocka_unit_test(
            test_executor__decorrelated_passes_previous_backoff_delay),
        cmocka_unit_test(
            test_executor__previous_delay_is_the_backoff_not_the_pushback),
        cmocka_unit_test(
            test_executor__deadline_stops_without_sleeping_past_it),
        cmocka_unit_test(
            test_executor__wait_ending_exactly_at_deadline_is_allowed),
        cmocka_unit_test(test_executor__deadline_counts_time_spent_in_attempts),
        cmocka_unit_test(
            test_executor__retry_after_is_honoured_beyond_max_delay),
        cmocka_unit_test(
            test_executor__pushback_above_ceiling_stops_without_sleeping),
        cmocka_unit_test(test_executor__pushback_at_ceiling_is_honoured),
        cmocka_unit_test(
            test_executor__pushback_past_deadline_stops_with_deadline),
        cmocka_unit_test(test_executor__time_math_saturates_at_maximal_values),
        cmocka_unit_test(test_executor__huge_max_retries_stops_at_deadline),
        cmocka_unit_test(
            test_executor__final_error_is_dropped_when_result_is_null),
        cmocka_unit_test(test_executor__repeated_error_object_is_not_dropped),
        cmocka_unit_test(test_executor__null_errors_are_never_dropped),
        cmocka_unit_test(
            test_executor__with_backoff_frees_every_superseded_error),
        cmocka_unit_test(
            test_executor__with_backoff_null_error_is_not_retryable),
        cmocka_unit_test(test_executor__with_backoff_options_override_defaults),
        cmocka_unit_test(
            test_executor__on_retry_gets_number_delay_and_error_before_sleep),
        cmocka_unit_test(test_executor__log_handler_gets_retries_and_giving_up),
        cmocka_unit_test(test_executor__log_level_filters_lower_levels),
        cmocka_unit_test(
            test_executor__env_debug_logs_retries_and_warning_to_stderr),
        cmocka_unit_test(test_executor__env_warn_logs_only_the_warning),
        cmocka_unit_test(test_executor__env_unset_or_unknown_is_silent),
        cmocka_unit_test(
            test_executor__own_log_handler_takes_precedence_over_env),
        cmocka_unit_test(test_executor__log_stderr_formats_level_and_message),
        cmocka_unit_test(
            test_executor__success_path_reads_no_clock_random_sleep_or_env),
        cmocka_unit_test(
            test_executor__zero_waits_make_no_sleep_and_no_clock_read),
        cmocka_unit_test(
            test_executor__invalid_arguments_return_codes_without_calling_op),
        cmocka_unit_test(test_executor__null_options_and_policy_use_defaults),
        cmocka_unit_test(test_executor__stop_str_names_every_reason),
        cmocka_unit_test(
            test_executor__options_init_checks_pointer_and_version),
        cmocka_unit_test(
            test_executor__cancel_api_handles_null_and_round_trips),
        cmocka_unit_test(
            test_executor__cancelled_before_start_makes_no_attempt),
        cmocka_unit_test(test_executor__cancel_during_attempt_stops_after_it),
        cmocka_unit_test(
            test_executor__cancel_during_sleep_stops_before_next_attempt),
        cmocka_unit_test(
            test_executor__clock_monotonic_follows_clock_monotonic),
        cmocka_unit_test(
            test_executor__sleep_monotonic_sleeps_the_requested_time),
        cmocka_unit_test(
            test_executor__sleep_monotonic_returns_at_once_for_past_wake),
        cmocka_unit_test(
            test_executor__sleep_monotonic_is_not_shortened_by_signals),
        cmocka_unit_test(
            test_executor__cancel_from_thread_ends_real_sleep_quickly),
        cmocka_unit_test(
            test_executor__real_run_sleeps_at_least_the_sum_of_delays),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
