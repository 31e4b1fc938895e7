/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the retry state machine (src/retry_state.c): its size and
 * argument checks, the call protocol (begin, then one outcome), the same
 * table of cases as the blocking executor, decorrelated jitter's
 * dependence on the previous delay, deadlines, pushback and cancellation
 * in caller-supplied time, the edges of the retry count and of the time
 * math, and the integration of budgets, breakers and statistics into both
 * the state machine and mg_retry_run. One test runs the executor and the
 * state machine side by side with the same seeded random source and
 * compares every delay, stop and attempt count; another checks that
 * version-1 options are never read past their end. Everything runs in
 * virtual time; nothing sleeps.
 */
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mg/retry.h>

#include "test_support.h"

#define NS_PER_MS UINT64_C(1000000)
#define ALWAYS_FAIL UINT_MAX
#define MAX_DELAYS 128

_Static_assert(sizeof(mg_retry_state) <= 64, "the state fits in 64 bytes");

/* ---- virtual time and a counted, seeded random source ---- */

/* A source that returns fixed bits: all ones draws the top of every
 * range, zero the bottom. */
static uint64_t fixed_bits(void *user_data)
{
    return *(const uint64_t *)user_data;
}

/* ---- a scripted operation ---- */

struct script {
    unsigned calls;
    unsigned fail_first; /* failing calls before success */
    struct vtime *vt;    /* advanced by cost_ns per call */
    uint64_t cost_ns;
    mg_cancel *cancel; /* triggered during call cancel_call */
    unsigned cancel_call;
    int tokens[MAX_DELAYS];
};

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
    *error = &s->tokens[(s->calls - 1) % MAX_DELAYS];
    return -1;
}

static bool never_retryable(const void *error, void *user_data)
{
    (void)error;
    (void)user_data;
    return false;
}

static bool constant_pushback(const void *error, uint64_t *wait_ms,
                              void *user_data)
{
    (void)error;
    *wait_ms = *(const uint64_t *)user_data;
    return true;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

/* What one drive of the state machine produced. */
struct run {
    int stop;
    uint32_t attempts;
    unsigned n;                 /* retries scheduled */
    uint64_t delay[MAX_DELAYS]; /* their delays */
    uint64_t slept_ms;
};

/*
 * The event-loop way: drive a state machine over script_op, "waiting" each
 * delay by advancing the virtual clock, and passing that clock's time as
 * now_ns. This is what an event loop does, with the timer replaced.
 */
static void drive(const mg_policy *p, const mg_retry_options *o,
                  struct script *s, struct vtime *vt, struct run *out)
{
    mg_retry_state st;

    memset(out, 0, sizeof(*out));
    assert_int_equal(mg_retry_state_init(&st, p, o), MG_OK);
    for (;;) {
        void *err = NULL;
        uint64_t d = UINT64_C(0xdeadbeef);
        int rc = mg_retry_state_begin(&st);

        if (rc != MG_OK) {
            out->stop = rc;
            break;
        }
        if (script_op(s, &err) == 0) {
            out->stop = mg_retry_state_on_success(&st);
            break;
        }
        rc = mg_retry_state_on_failure(&st, err, vt->now_ns, &d);
        if (rc != MG_RETRY_AGAIN) {
            assert_true(rc >= 0 && rc < MG_RETRY_AGAIN);
            assert_int_equal(d, UINT64_C(0xdeadbeef)); /* not written */
            out->stop = rc;
            break;
        }
        /* After AGAIN, attempts is the number of the retry now due. */
        assert_int_equal(mg_retry_state_attempts(&st), out->n + 1);
        if (out->n < MAX_DELAYS)
            out->delay[out->n] = d;
        out->n++;
        out->slept_ms = add_sat(out->slept_ms, d);
        vt->now_ns =
            add_sat(vt->now_ns,
                    d > UINT64_MAX / NS_PER_MS ? UINT64_MAX : d * NS_PER_MS);
    }
    out->attempts = mg_retry_state_attempts(&st);
}

/* ---- on_retry recorder for the executor ---- */

struct hooks {
    unsigned n;
    uint32_t retry[MAX_DELAYS];
    uint64_t delay[MAX_DELAYS];
};

static void record_retry(uint32_t retry, uint64_t delay_ms, const void *error,
                         void *user_data)
{
    struct hooks *h = user_data;

    (void)error;
    if (h->n < MAX_DELAYS) {
        h->retry[h->n] = retry;
        h->delay[h->n] = delay_ms;
    }
    h->n++;
}

/* ======================================================================
 * Size, arguments, protocol
 * ==================================================================== */

static void test_retry_state__fits_in_64_bytes_and_needs_no_heap(void **st)
{
    mg_retry_state states[4];

    (void)st;
    assert_true(sizeof(mg_retry_state) <= 64);
    assert_true(_Alignof(mg_retry_state) <= 8);
    /* An array of states is a plain array: each initialises on its own. */
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(mg_retry_state_init(&states[i], NULL, NULL), MG_OK);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(mg_retry_state_attempts(&states[i]), 0);
}

static void test_retry_state__init_rejects_bad_arguments(void **st)
{
    mg_retry_options o = MG_RETRY_OPTIONS_INIT;
    mg_policy p = make_policy(3, 100, 200, MG_JITTER_NONE);
    mg_retry_state s;

    (void)st;
    assert_int_equal(mg_retry_state_init(NULL, &p, &o), MG_EINVAL);
    assert_int_equal(mg_retry_state_init(NULL, NULL, NULL), MG_EINVAL);

    o.version = 0;
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_EVERSION);
    o.version = MG_RETRY_OPTIONS_VERSION + 1;
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_EVERSION);
    o.version = UINT32_MAX;
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_EVERSION);
    o.version = MG_RETRY_OPTIONS_VERSION;

    p = make_policy(3, 200, 100, MG_JITTER_NONE); /* base > max */
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_EPOLICY);
    p = make_policy(3, 100, 200, 99); /* unknown jitter */
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_EPOLICY);
    p = make_policy(3, 100, 200, MG_JITTER_NONE);
    p.multiplier = 0.5;
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_EPOLICY);
    p.multiplier = 2.0;
    p.reserved = 1;
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_EPOLICY);
    p.reserved = 0;
    p.version = 0;
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_EVERSION);
    p.version = MG_POLICY_VERSION + 1;
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_EVERSION);

    /* A custom clock without a custom sleep is the executor's concern:
     * the state machine never sleeps. */
    p = make_policy(3, 100, 200, MG_JITTER_NONE);
    o.clock = vclock;
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_OK);
    assert_int_equal(mg_retry_state_init(&s, NULL, NULL), MG_OK);
}

static void test_retry_state__failed_init_leaves_an_unusable_state(void **st)
{
    mg_policy bad = make_policy(3, 200, 100, MG_JITTER_NONE);
    mg_retry_state s;
    uint64_t d = 77;

    (void)st;
    /* A state that was working, then re-initialised with a bad policy. */
    assert_int_equal(mg_retry_state_init(&s, NULL, NULL), MG_OK);
    assert_int_equal(mg_retry_state_begin(&s), MG_OK);
    assert_int_equal(mg_retry_state_init(&s, &bad, NULL), MG_EPOLICY);
    assert_int_equal(mg_retry_state_begin(&s), MG_EINVAL);
    assert_int_equal(mg_retry_state_on_success(&s), MG_EINVAL);
    assert_int_equal(mg_retry_state_on_failure(&s, NULL, 0, &d), MG_EINVAL);
    assert_int_equal(mg_retry_state_attempts(&s), 0);
    assert_int_equal(d, 77);

    /* A never-initialised state (garbage) is refused too. */
    memset(&s, 0xa5, sizeof(s));
    assert_int_equal(mg_retry_state_begin(&s), MG_EINVAL);
    assert_int_equal(mg_retry_state_on_success(&s), MG_EINVAL);
    assert_int_equal(mg_retry_state_on_failure(&s, NULL, 0, &d), MG_EINVAL);
    assert_int_equal(mg_retry_state_attempts(&s), 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(mg_retry_state_begin(&s), MG_EINVAL);

    /* NULL everywhere. */
    assert_int_equal(mg_retry_state_begin(NULL), MG_EINVAL);
    assert_int_equal(mg_retry_state_on_success(NULL), MG_EINVAL);
    assert_int_equal(mg_retry_state_on_failure(NULL, NULL, 0, &d), MG_EINVAL);
    assert_int_equal(mg_retry_state_attempts(NULL), 0);
    assert_int_equal(d, 77);
}

static void test_retry_state__calls_out_of_turn_are_refused_unchanged(void **st)
{
    mg_policy p = make_policy(2, 0, 0, MG_JITTER_NONE);
    mg_retry_state s;
    uint64_t d = 77;

    (void)st;
    assert_int_equal(mg_retry_state_init(&s, &p, NULL), MG_OK);
    /* An outcome before any attempt. */
    assert_int_equal(mg_retry_state_on_success(&s), MG_EINVAL);
    assert_int_equal(mg_retry_state_on_failure(&s, NULL, 0, &d), MG_EINVAL);
    assert_int_equal(mg_retry_state_attempts(&s), 0);

    assert_int_equal(mg_retry_state_begin(&s), MG_OK);
    /* A second begin while the attempt is out. */
    assert_int_equal(mg_retry_state_begin(&s), MG_EINVAL);
    assert_int_equal(mg_retry_state_attempts(&s), 1);
    /* delay_ms NULL: refused, and the attempt is still out. */
    assert_int_equal(mg_retry_state_on_failure(&s, NULL, 0, NULL), MG_EINVAL);
    assert_int_equal(mg_retry_state_on_failure(&s, NULL, 0, &d),
                     MG_RETRY_AGAIN);
    assert_int_equal(d, 0);
    /* The retry is due: no outcome can be reported before begin. */
    assert_int_equal(mg_retry_state_on_success(&s), MG_EINVAL);
    assert_int_equal(mg_retry_state_begin(&s), MG_OK);
    assert_int_equal(mg_retry_state_on_success(&s), MG_STOP_SUCCESS);
    /* Finished: everything is refused, attempts stays readable. */
    assert_int_equal(mg_retry_state_begin(&s), MG_EINVAL);
    assert_int_equal(mg_retry_state_on_success(&s), MG_EINVAL);
    d = 77;
    assert_int_equal(mg_retry_state_on_failure(&s, NULL, 0, &d), MG_EINVAL);
    assert_int_equal(d, 77);
    assert_int_equal(mg_retry_state_attempts(&s), 2);
    /* Re-initialising restarts it. */
    assert_int_equal(mg_retry_state_init(&s, &p, NULL), MG_OK);
    assert_int_equal(mg_retry_state_attempts(&s), 0);
    assert_int_equal(mg_retry_state_begin(&s), MG_OK);
    assert_int_equal(mg_retry_state_attempts(&s), 1);
}

static void test_retry_state__again_is_distinct_from_stops_and_errors(void **st)
{
    (void)st;
    assert_true(MG_RETRY_AGAIN > 0);
    assert_true(MG_RETRY_AGAIN > MG_STOP_BREAKER);
    assert_string_equal(mg_retry_stop_str(MG_RETRY_AGAIN), "unknown");
    assert_string_equal(mg_retry_stop_str(MG_STOP_BUDGET), "budget");
    assert_string_equal(mg_retry_stop_str(MG_STOP_BREAKER), "breaker open");
    assert_string_equal(mg_retry_stop_str(8), "unknown");
}

/* ======================================================================
 * The executor's table of cases, on the state machine
 * ==================================================================== */

struct table_case {
    const char *what;
    uint32_t max_retries;
    unsigned fail_first;
    bool retryable;
    int stop;
    uint32_t attempts;
};

static void test_retry_state__executor_table_of_cases(void **st)
{
    static const struct table_case cases[] = {
        {"success at once", 3, 0, true, MG_STOP_SUCCESS, 1},
        {"success after two failures", 3, 2, true, MG_STOP_SUCCESS, 3},
        {"success on the last retry", 3, 3, true, MG_STOP_SUCCESS, 4},
        {"exhausted", 3, ALWAYS_FAIL, true, MG_STOP_EXHAUSTED, 4},
        {"not retryable", 3, ALWAYS_FAIL, false, MG_STOP_NOT_RETRYABLE, 1},
        {"aggressive", 5, ALWAYS_FAIL, true, MG_STOP_EXHAUSTED, 6},
        {"gentle", 2, ALWAYS_FAIL, true, MG_STOP_EXHAUSTED, 3},
        {"zero retries", 0, ALWAYS_FAIL, true, MG_STOP_EXHAUSTED, 1},
        {"zero retries, success", 0, 0, true, MG_STOP_SUCCESS, 1},
    };

    (void)st;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct table_case *c = &cases[i];
        struct vtime vt = {0};
        struct vrandom r = {42, 0};
        struct script s = {0};
        mg_retry_options o = virtual_options(&vt, &r);
        mg_policy p =
            make_policy(c->max_retries, 100, 5000, MG_JITTER_PROPORTIONAL);
        struct run run;

        print_message("case: %s\n", c->what);
        s.fail_first = c->fail_first;
        if (!c->retryable)
            o.is_retryable = never_retryable;
        drive(&p, &o, &s, &vt, &run);
        assert_int_equal(run.stop, c->stop);
        assert_int_equal(run.attempts, c->attempts);
        assert_int_equal(s.calls, c->attempts);
        /* Every attempt but the last was followed by a retry. */
        assert_int_equal(run.n, c->attempts - 1);
        /* One random draw per retry, none for the first attempt. */
        assert_int_equal(r.calls, run.n);
        /* The state machine itself never reads the clock here. */
        assert_int_equal(vt.clock_calls, 0);
    }
}

static void test_retry_state__presets_make_the_originals_call_counts(void **st)
{
    static const struct {
        int preset;
        uint32_t attempts;
    } presets[] = {{MG_PRESET_DEFAULT, 4},
                   {MG_PRESET_AGGRESSIVE, 6},
                   {MG_PRESET_GENTLE, 3}};

    (void)st;
    for (size_t i = 0; i < 3; i++) {
        struct vtime vt = {0};
        struct vrandom r = {1, 0};
        struct script s = {0};
        mg_retry_options o = virtual_options(&vt, &r);
        mg_policy p;
        struct run run;

        assert_int_equal(mg_policy_preset(&p, presets[i].preset), MG_OK);
        s.fail_first = ALWAYS_FAIL;
        drive(&p, &o, &s, &vt, &run);
        assert_int_equal(run.stop, MG_STOP_EXHAUSTED);
        assert_int_equal(run.attempts, presets[i].attempts);
        for (unsigned k = 0; k < run.n; k++) {
            uint64_t nominal = p.base_delay_ms << k;

            if (nominal > p.max_delay_ms)
                nominal = p.max_delay_ms;
            assert_true(run.delay[k] >= nominal);
            assert_true(run.delay[k] <= nominal + nominal * 3 / 10);
        }
    }
}

static void test_retry_state__unjittered_delays_double_up_to_the_cap(void **st)
{
    struct vtime vt = {0};
    struct script s = {0};
    mg_policy p = make_policy(8, 100, 5000, MG_JITTER_NONE);
    struct run run;

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    /* NULL options: all defaults, the default random source never used. */
    drive(&p, NULL, &s, &vt, &run);
    assert_int_equal(run.stop, MG_STOP_EXHAUSTED);
    assert_int_equal(run.n, 8);
    for (unsigned k = 0; k < 8; k++) {
        uint64_t want = UINT64_C(100) << k;

        assert_int_equal(run.delay[k], want < 5000 ? want : 5000);
    }
    assert_int_equal(run.delay[5], 3200);
    assert_int_equal(run.delay[6], 5000);
}

static void test_retry_state__null_policy_is_the_default_preset(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {9, 0};
    struct script s = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    struct run run;

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    drive(NULL, &o, &s, &vt, &run);
    assert_int_equal(run.stop, MG_STOP_EXHAUSTED);
    assert_int_equal(run.attempts, 4);
    for (unsigned k = 0; k < 3; k++) {
        uint64_t d = UINT64_C(100) << k;

        assert_true(run.delay[k] >= d && run.delay[k] <= d + d * 3 / 10);
    }
}

/* ======================================================================
 * Decorrelated jitter and the previous delay
 * ==================================================================== */

static void test_retry_state__decorrelated_grows_from_previous_delay(void **st)
{
    uint64_t ones = UINT64_MAX, zero = 0;
    mg_policy p = make_policy(10, 10, 10000, MG_JITTER_DECORRELATED);
    mg_retry_options o = MG_RETRY_OPTIONS_INIT;
    struct vtime vt = {0};
    struct script s = {0};
    struct run run;
    uint64_t want = 10;

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    /* The top of every range: min(max, 3 * previous), previous = base
     * before the first retry: 30, 90, 270, ..., then the cap. */
    o.random = fixed_bits;
    o.random_data = &ones;
    drive(&p, &o, &s, &vt, &run);
    assert_int_equal(run.n, 10);
    for (unsigned k = 0; k < 10; k++) {
        want = want * 3 > 10000 ? 10000 : want * 3;
        assert_int_equal(run.delay[k], want);
    }
    assert_int_equal(run.delay[5], 7290);
    assert_int_equal(run.delay[6], 10000);

    /* The bottom: lo = min(base, bound / 2) = base, every time. */
    memset(&s, 0, sizeof(s));
    s.fail_first = ALWAYS_FAIL;
    o.random_data = &zero;
    drive(&p, &o, &s, &vt, &run);
    for (unsigned k = 0; k < 10; k++)
        assert_int_equal(run.delay[k], 10);
}

static void
test_retry_state__decorrelated_range_follows_its_own_history(void **st)
{
    mg_policy p = make_policy(40, 10, 100000, MG_JITTER_DECORRELATED);
    struct vtime vt = {0};
    struct vrandom r = {0xdec0, 0};
    struct script s = {0};
    mg_retry_options o = virtual_options(&vt, &r);
    struct run run;
    uint64_t prev = 0, rs = 0xdec0;
    unsigned below_three_prev = 0;

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    drive(&p, &o, &s, &vt, &run);
    assert_int_equal(run.n, 40);
    for (unsigned k = 0; k < run.n; k++) {
        uint64_t bound = 3 * (prev != 0 ? prev : 10), want;

        if (bound > 100000)
            bound = 100000;
        assert_true(run.delay[k] <= bound);
        assert_true(run.delay[k] >= (10 < bound / 2 ? 10 : bound / 2));
        /* The same draw with the recorded previous delay gives the same
         * value: the state passes its own previous delay, nothing else. */
        assert_int_equal(
            mg_backoff_delay(&p, k, prev, mg_random_splitmix64, &rs, &want),
            MG_OK);
        assert_int_equal(run.delay[k], want);
        if (run.delay[k] < bound)
            below_three_prev++;
        prev = run.delay[k];
    }
    /* Random draws land inside, not only on the top. */
    assert_true(below_three_prev > 0);
}

static void test_retry_state__pushback_does_not_feed_decorrelated(void **st)
{
    uint64_t ones = UINT64_MAX, push = 5000;
    mg_policy p = make_policy(3, 10, 100000, MG_JITTER_DECORRELATED);
    mg_retry_options o = MG_RETRY_OPTIONS_INIT;
    struct vtime vt = {0};
    struct script s = {0};
    struct run run;

    (void)st;
    s.fail_first = ALWAYS_FAIL;
    o.random = fixed_bits;
    o.random_data = &ones;
    o.pushback = constant_pushback;
    o.pushback_data = &push;
    drive(&p, &o, &s, &vt, &run);
    /* The waits are the pushback, but the backoff grows 30, 90, 270 from
     * its own previous delay, never from 5000: at retry 4 the backoff
     * wins with 810 only if it had grown from 270. */
    assert_int_equal(run.n, 3);
    for (unsigned k = 0; k < 3; k++)
        assert_int_equal(run.delay[k], 5000);
    memset(&s, 0, sizeof(s));
    s.fail_first = ALWAYS_FAIL;
    p.max_retries = 6;
    push = 500;
    drive(&p, &o, &s, &vt, &run);
    assert_int_equal(run.delay[0], 500);
    assert_int_equal(run.delay[1], 500);
    assert_int_equal(run.delay[2], 500);
    assert_int_equal(run.delay[3], 810);
    assert_int_equal(run.delay[4], 2430);
}

/* ======================================================================
 * The executor and the state machine agree
 * ==================================================================== */

struct agree_case {
    uint32_t retries;
    uint64_t base, max;
    uint32_t jitter;
    double multiplier;
    uint64_t max_elapsed_ms;
    uint64_t pushback_ms; /* 0: none */
    uint64_t max_pushback_ms;
    uint64_t cost_ms; /* virtual time each attempt takes */
    unsigned fail_first;
};

static void test_retry_state__executor_and_state_agree_on_every_delay(void **st)
{
    static const struct agree_case cases[] = {
        {10, 100, 5000, MG_JITTER_NONE, 2.0, 0, 0, 60000, 0, ALWAYS_FAIL},
        {10, 100, 5000, MG_JITTER_PROPORTIONAL, 2.0, 0, 0, 60000, 0,
         ALWAYS_FAIL},
        {10, 100, 5000, MG_JITTER_FULL, 2.0, 0, 0, 60000, 0, ALWAYS_FAIL},
        {10, 100, 5000, MG_JITTER_EQUAL, 2.0, 0, 0, 60000, 0, ALWAYS_FAIL},
        {30, 10, 100000, MG_JITTER_DECORRELATED, 2.0, 0, 0, 60000, 0,
         ALWAYS_FAIL},
        {20, 7, 3000, MG_JITTER_PROPORTIONAL, 1.5, 0, 0, 60000, 0, 12},
        {64, 1, UINT64_MAX, MG_JITTER_FULL, 2.0, 0, 0, 60000, 0, ALWAYS_FAIL},
        {50, 100, 1000, MG_JITTER_EQUAL, 3.0, 4000, 0, 60000, 25, ALWAYS_FAIL},
        {50, 100, 1000, MG_JITTER_DECORRELATED, 2.0, 9000, 0, 60000, 3,
         ALWAYS_FAIL},
        {6, 100, 1000, MG_JITTER_FULL, 2.0, 0, 700, 60000, 0, ALWAYS_FAIL},
        {6, 100, 1000, MG_JITTER_FULL, 2.0, 0, 700, 600, 0, ALWAYS_FAIL},
        {0, 100, 1000, MG_JITTER_FULL, 2.0, 0, 0, 60000, 0, ALWAYS_FAIL},
        {5, 0, 0, MG_JITTER_FULL, 2.0, 0, 0, 60000, 0, ALWAYS_FAIL},
    };

    (void)st;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct agree_case *c = &cases[i];
        const uint64_t seed = 0x5eed0000u + i;
        mg_policy p = make_policy(c->retries, c->base, c->max, c->jitter);
        struct vtime vt_a = {0}, vt_b = {0};
        struct vrandom r_a = {seed, 0}, r_b = {seed, 0};
        struct script s_a = {0}, s_b = {0};
        mg_retry_options o_a = virtual_options(&vt_a, &r_a);
        mg_retry_options o_b = virtual_options(&vt_b, &r_b);
        mg_retry_result res = MG_RETRY_RESULT_INIT;
        struct hooks h = {0};
        struct run run;
        uint64_t push = c->pushback_ms;
        int stop;

        p.multiplier = c->multiplier;
        p.max_elapsed_ms = c->max_elapsed_ms;
        p.max_pushback_ms = c->max_pushback_ms;
        if (push != 0) {
            o_a.pushback = o_b.pushback = constant_pushback;
            o_a.pushback_data = o_b.pushback_data = &push;
        }
        s_a.fail_first = s_b.fail_first = c->fail_first;
        s_a.vt = &vt_a;
        s_b.vt = &vt_b;
        s_a.cost_ns = s_b.cost_ns = c->cost_ms * NS_PER_MS;
        vt_a.now_ns = vt_b.now_ns = 123 * NS_PER_MS;

        o_a.on_retry = record_retry;
        o_a.on_retry_data = &h;
        stop = mg_retry_run(&p, script_op, &s_a, &o_a, &res);
        drive(&p, &o_b, &s_b, &vt_b, &run);

        print_message("case %zu: stop %s after %u attempts, %u retries\n", i,
                      mg_retry_stop_str(stop), res.attempts, h.n);
        assert_int_equal(stop, run.stop);
        assert_int_equal(res.stop, run.stop);
        assert_int_equal(res.attempts, run.attempts);
        assert_int_equal(s_a.calls, s_b.calls);
        assert_int_equal(h.n, run.n);
        for (unsigned k = 0; k < h.n && k < MAX_DELAYS; k++) {
            assert_int_equal(h.delay[k], run.delay[k]);
            assert_int_equal(h.retry[k], k + 1);
        }
        assert_int_equal(res.slept_ms, run.slept_ms);
        /* The same number of draws from the same seed: the same stream. */
        assert_int_equal(r_a.calls, r_b.calls);
        assert_int_equal(r_a.state, r_b.state);
        assert_int_equal(vt_a.now_ns, vt_b.now_ns);
    }
}

/* ======================================================================
 * Time: deadline and clock reads
 * ==================================================================== */

static void test_retry_state__reads_no_clock_without_a_deadline(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {3, 0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_policy p = make_policy(5, 100, 1000, MG_JITTER_FULL);
    mg_retry_state state;
    uint64_t d;

    (void)st;
    /* now_ns is not looked at: even the largest time retries. */
    assert_int_equal(mg_retry_state_init(&state, &p, &o), MG_OK);
    for (unsigned k = 0; k < 5; k++) {
        assert_int_equal(mg_retry_state_begin(&state), MG_OK);
        assert_int_equal(
            mg_retry_state_on_failure(&state, NULL, UINT64_MAX, &d),
            MG_RETRY_AGAIN);
    }
    assert_int_equal(vt.clock_calls, 0);
}

static void test_retry_state__deadline_starts_at_first_begin(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {3, 0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_policy p = make_policy(10, 100, 100, MG_JITTER_NONE);
    mg_retry_state s;
    uint64_t d = 0;
    const uint64_t t0 = 10000 * NS_PER_MS;

    (void)st;
    p.max_elapsed_ms = 250;
    vt.now_ns = 1; /* init must not read it */
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_OK);
    assert_int_equal(vt.clock_calls, 0);
    vt.now_ns = t0;
    assert_int_equal(mg_retry_state_begin(&s), MG_OK);
    assert_int_equal(vt.clock_calls, 1);
    /* Failing at t0 + 150: 150 + 100 = 250 ends exactly at the deadline. */
    assert_int_equal(
        mg_retry_state_on_failure(&s, NULL, t0 + 150 * NS_PER_MS, &d),
        MG_RETRY_AGAIN);
    assert_int_equal(d, 100);
    assert_int_equal(mg_retry_state_begin(&s), MG_OK);
    /* The clock is read once per state, at the first begin. */
    assert_int_equal(vt.clock_calls, 1);
    /* One nanosecond later would end past it. */
    d = 77;
    assert_int_equal(
        mg_retry_state_on_failure(&s, NULL, t0 + 150 * NS_PER_MS + 1, &d),
        MG_STOP_DEADLINE);
    assert_int_equal(d, 77);
    assert_int_equal(mg_retry_state_attempts(&s), 2);
}

static void test_retry_state__default_clock_is_monotonic(void **st)
{
    mg_policy p = make_policy(3, 10, 10, MG_JITTER_NONE);
    mg_retry_state s;
    uint64_t d = 0, now;

    (void)st;
    /* Options NULL: the deadline's start comes from mg_clock_monotonic,
     * the same time base as the now_ns a caller passes. */
    p.max_elapsed_ms = 60000;
    assert_int_equal(mg_retry_state_init(&s, &p, NULL), MG_OK);
    assert_int_equal(mg_retry_state_begin(&s), MG_OK);
    now = mg_clock_monotonic(NULL);
    assert_int_equal(mg_retry_state_on_failure(&s, NULL, now, &d),
                     MG_RETRY_AGAIN);
    assert_int_equal(mg_retry_state_begin(&s), MG_OK);
    assert_int_equal(
        mg_retry_state_on_failure(&s, NULL, now + 60001 * NS_PER_MS, &d),
        MG_STOP_DEADLINE);
}

static void test_retry_state__time_math_saturates_at_maximal_values(void **st)
{
    struct vtime vt = {0};
    struct vrandom r = {3, 0};
    mg_retry_options o = virtual_options(&vt, &r);
    mg_policy p = make_policy(UINT32_MAX, 1, UINT64_MAX, MG_JITTER_NONE);
    mg_retry_state s;
    uint64_t d = 0;

    (void)st;
    /* 2^k up to the cap: 1, 2, 4, ..., 2^63, then UINT64_MAX for every
     * retry number up to and past 64, with no overflow anywhere. */
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_OK);
    for (uint32_t k = 0; k < 1100; k++) {
        assert_int_equal(mg_retry_state_begin(&s), MG_OK);
        assert_int_equal(mg_retry_state_on_failure(&s, NULL, 0, &d),
                         MG_RETRY_AGAIN);
        if (k < 64)
            assert_int_equal(d, UINT64_C(1) << k);
        else
            assert_int_equal(d, UINT64_MAX);
    }
    assert_int_equal(mg_retry_state_attempts(&s), 1100);

    /* A deadline of UINT64_MAX ms from a start near the end of time, and
     * a wait of UINT64_MAX ms: all saturates, the wait is refused only
     * when it would pass the (saturated) deadline. */
    p.max_elapsed_ms = UINT64_MAX;
    vt.now_ns = UINT64_MAX - 1;
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_OK);
    assert_int_equal(mg_retry_state_begin(&s), MG_OK);
    assert_int_equal(mg_retry_state_on_failure(&s, NULL, UINT64_MAX, &d),
                     MG_RETRY_AGAIN);
    assert_int_equal(d, 1);

    p = make_policy(3, UINT64_MAX, UINT64_MAX, MG_JITTER_PROPORTIONAL);
    p.max_elapsed_ms = 1;
    vt.now_ns = 0;
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_OK);
    assert_int_equal(mg_retry_state_begin(&s), MG_OK);
    assert_int_equal(mg_retry_state_on_failure(&s, NULL, 0, &d),
                     MG_STOP_DEADLINE);
}

static void test_retry_state__retry_numbers_at_the_edges(void **st)
{
    static const uint32_t edges[] = {0, 1, 63, 64, 1024};

    (void)st;
    /* max_retries at each edge: exactly 1 + max_retries attempts. */
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        struct vtime vt = {0};
        struct script s = {0};
        mg_policy p = make_policy(edges[i], 0, 0, MG_JITTER_FULL);
        struct run run;

        s.fail_first = ALWAYS_FAIL;
        drive(&p, NULL, &s, &vt, &run);
        assert_int_equal(run.stop, MG_STOP_EXHAUSTED);
        assert_int_equal(run.attempts, edges[i] + 1);
        assert_int_equal(run.n, edges[i]);
    }
}

/* ======================================================================
 * Pushback and cancellation
 * ==================================================================== */

static void test_retry_state__pushback_is_honoured_and_capped(void **st)
{
    mg_policy p = make_policy(3, 100, 200, MG_JITTER_NONE);
    mg_retry_options o = MG_RETRY_OPTIONS_INIT;
    mg_retry_state s;
    uint64_t push = 1500, d = 0;

    (void)st;
    p.max_pushback_ms = 1500;
    o.pushback = constant_pushback;
    o.pushback_data = &push;
    /* At the ceiling: honoured, beyond max_delay_ms. */
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_OK);
    assert_int_equal(mg_retry_state_begin(&s), MG_OK);
    assert_int_equal(mg_retry_state_on_failure(&s, NULL, 0, &d),
                     MG_RETRY_AGAIN);
    assert_int_equal(d, 1500);
    /* Shorter than the backoff: the backoff wins. */
    push = 50;
    assert_int_equal(mg_retry_state_begin(&s), MG_OK);
    assert_int_equal(mg_retry_state_on_failure(&s, NULL, 0, &d),
                     MG_RETRY_AGAIN);
    assert_int_equal(d, 200);
    /* One past the ceiling: stop. */
    push = 1501;
    assert_int_equal(mg_retry_state_begin(&s), MG_OK);
    assert_int_equal(mg_retry_state_on_failure(&s, NULL, 0, &d),
                     MG_STOP_PUSHBACK);
    assert_int_equal(mg_retry_state_attempts(&s), 3);
}

static void test_retry_state__cancel_stops_before_and_after_attempts(void **st)
{
    mg_cancel *c = NULL;
    mg_policy p = make_policy(3, 10, 10, MG_JITTER_NONE);
    mg_retry_options o = MG_RETRY_OPTIONS_INIT;
    mg_retry_state s;
    uint64_t d = 0;

    (void)st;
    assert_int_equal(mg_cancel_new(&c), MG_OK);
    o.cancel = c;

    /* Before the first attempt: no attempt. */
    mg_cancel_trigger(c);
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_OK);
    assert_int_equal(mg_retry_state_begin(&s), MG_STOP_CANCELLED);
    assert_int_equal(mg_retry_state_attempts(&s), 0);
    assert_int_equal(mg_retry_state_begin(&s), MG_EINVAL);

    /* During an attempt: the failure stops instead of scheduling. */
    mg_cancel_reset(c);
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_OK);
    assert_int_equal(mg_retry_state_begin(&s), MG_OK);
    mg_cancel_trigger(c);
    assert_int_equal(mg_retry_state_on_failure(&s, NULL, 0, &d),
                     MG_STOP_CANCELLED);

    /* During the wait: the next begin stops. */
    mg_cancel_reset(c);
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_OK);
    assert_int_equal(mg_retry_state_begin(&s), MG_OK);
    assert_int_equal(mg_retry_state_on_failure(&s, NULL, 0, &d),
                     MG_RETRY_AGAIN);
    mg_cancel_trigger(c);
    assert_int_equal(mg_retry_state_begin(&s), MG_STOP_CANCELLED);
    assert_int_equal(mg_retry_state_attempts(&s), 1);

    /* A success is a success even when the flag went up meanwhile. */
    mg_cancel_reset(c);
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_OK);
    assert_int_equal(mg_retry_state_begin(&s), MG_OK);
    mg_cancel_trigger(c);
    assert_int_equal(mg_retry_state_on_success(&s), MG_STOP_SUCCESS);

    /* With no retries left, exhausted wins over cancelled, as in the
     * executor. */
    p.max_retries = 0;
    assert_int_equal(mg_retry_state_init(&s, &p, &o), MG_OK);
    mg_cancel_reset(c);
    assert_int_equal(mg_retry_state_begin(&s), MG_OK);
    mg_cancel_trigger(c);
    assert_int_equal(mg_retry_state_on_failure(&s, NULL, 0, &d),
                     MG_STOP_EXHAUSTED);
    mg_cancel_free(c);
}

static void test_retry_state__copy_continues_where_the_original_was(void **st)
{
    mg_policy p = make_policy(6, 10, 10000, MG_JITTER_DECORRELATED);
    uint64_t ones = UINT64_MAX, d1 = 0, d2 = 0;
    mg_retry_options o = MG_RETRY_OPTIONS_INIT;
    mg_retry_state a, b;

    (void)st;
    o.random = fixed_bits;
    o.random_data = &ones;
    assert_int_equal(mg_retry_state_init(&a, &p, &o), MG_OK);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(mg_retry_state_begin(&a), MG_OK);
        assert_int_equal(mg_retry_state_on_failure(&a, NULL, 0, &d1),
                         MG_RETRY_AGAIN);
    }
    b = a; /* no pointer to itself: a plain copy is a state */
    assert_int_equal(mg_retry_state_begin(&a), MG_OK);
    assert_int_equal(mg_retry_state_on_failure(&a, NULL, 0, &d1),
                     MG_RETRY_AGAIN);
    assert_int_equal(mg_retry_state_begin(&b), MG_OK);
    assert_int_equal(mg_retry_state_on_failure(&b, NULL, 0, &d2),
                     MG_RETRY_AGAIN);
    assert_int_equal(d1, 810);
    assert_int_equal(d2, 810);
    assert_int_equal(mg_retry_state_attempts(&a), mg_retry_state_attempts(&b));
}

/* ======================================================================
 * Options versions
 * ==================================================================== */

static void test_retry_state__version_1_options_are_read_only_so_far(void **st)
{
    /* A version-1 caller's struct ends where `budget` begins; whatever
     * follows it in memory is not the caller's. Fill that with garbage
     * pointers: reading any of them would crash or misbehave. */
    const size_t size = sizeof(mg_retry_options) + 64;
    const size_t v1_size = offsetof(mg_retry_options, budget);
    unsigned char *buf = malloc(size);
    mg_retry_options v1, *o = (mg_retry_options *)(void *)buf;
    mg_policy p = make_policy(2, 0, 0, MG_JITTER_NONE);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    struct vtime vt = {0};
    struct script s = {0};
    struct run run;

    (void)st;
    assert_non_null(buf);
    memset(buf, 0xab, size);
    assert_int_equal(mg_retry_options_init(o, 1), MG_OK);
    assert_int_equal(o->version, 1);
    assert_null(o->cancel);
    /* Nothing past the version-1 prefix was written. */
    for (size_t i = v1_size; i < size; i++)
        assert_int_equal(buf[i], 0xab);

    s.fail_first = ALWAYS_FAIL;
    drive(&p, o, &s, &vt, &run);
    assert_int_equal(run.stop, MG_STOP_EXHAUSTED);
    assert_int_equal(run.attempts, 3);
    s.calls = 0;
    assert_int_equal(mg_retry_run(&p, script_op, &s, o, &res),
                     MG_STOP_EXHAUSTED);
    assert_int_equal(res.attempts, 3);

    /* mg_retry_options_init(2) fills the whole struct. */
    memset(&v1, 0xab, sizeof(v1));
    assert_int_equal(mg_retry_options_init(&v1, 2), MG_OK);
    assert_null(v1.budget);
    assert_null(v1.breaker);
    assert_null(v1.stats);
    free(buf);
}

static int with_backoff_fail(void *user_data, mg_error **error)
{
    unsigned *calls = user_data;

    (*calls)++;
    (void)mg_error_new_network(error, "reset");
    return -1;
}

static void test_retry_state__with_backoff_copies_only_the_v1_prefix(void **st)
{
    const size_t size = sizeof(mg_retry_options) + 64;
    mg_retry_options *o = malloc(size);
    mg_policy p = make_policy(2, 0, 0, MG_JITTER_NONE);
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    unsigned calls = 0;

    (void)st;
    assert_non_null(o);
    memset(o, 0xab, size);
    assert_int_equal(mg_retry_options_init(o, 1), MG_OK);
    assert_int_equal(
        mg_retry_with_backoff(&p, with_backoff_fail, &calls, o, &res),
        MG_STOP_EXHAUSTED);
    assert_int_equal(calls, 3);
    assert_int_equal(mg_error_get_kind(res.error), MG_ERROR_NETWORK);
    mg_error_free(res.error);
    free(o);
}

/* ======================================================================
 * Budgets, breakers and statistics
 * ==================================================================== */

static mg_stats_snapshot snapshot(const mg_stats *stats)
{
    mg_stats_snapshot snap = MG_STATS_SNAPSHOT_INIT;

    assert_int_equal(mg_stats_get_snapshot(stats, &snap), MG_OK);
    return snap;
}

static void test_retry_state__budget_refusal_stops_without_a_wait(void **st)
{
    mg_budget *budget = NULL;
    mg_stats *stats = NULL;
    mg_policy p = make_policy(5, 100, 100, MG_JITTER_NONE);
    struct vtime vt = {0};
    struct script s = {0};
    mg_retry_options o = MG_RETRY_OPTIONS_INIT;
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_stats_snapshot snap;
    struct run run;

    (void)st;
    /* 4 tokens; each failure pays one; retries only while tokens > 2. */
    assert_int_equal(mg_budget_new_token_bucket(&budget, 4, 1.0), MG_OK);
    assert_int_equal(mg_stats_new(&stats), MG_OK);
    o.budget = budget;
    o.stats = stats;
    s.fail_first = ALWAYS_FAIL;
    /* 4 -> 3: retry; 3 -> 2: refused, at once and without a delay. */
    drive(&p, &o, &s, &vt, &run);
    assert_int_equal(run.stop, MG_STOP_BUDGET);
    assert_int_equal(run.attempts, 2);
    assert_int_equal(run.n, 1);
    assert_int_equal(run.delay[0], 100);

    /* The executor: bucket at 2, first failure 2 -> 1, refused: one
     * attempt, no sleep. */
    vt.sleep_calls = 0;
    s.calls = 0;
    o.clock = vclock;
    o.clock_data = &vt;
    o.sleep = vsleep;
    o.sleep_data = &vt;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res), MG_STOP_BUDGET);
    assert_int_equal(res.attempts, 1);
    assert_int_equal(s.calls, 1);
    assert_int_equal(vt.sleep_calls, 0);
    assert_int_equal(res.slept_ms, 0);

    snap = snapshot(stats);
    assert_int_equal(snap.calls, 2);
    assert_int_equal(snap.attempts, 3);
    assert_int_equal(snap.retries, 1);
    assert_int_equal(snap.slept_ms, 100);
    assert_int_equal(snap.stops[MG_STOP_BUDGET], 2);
    assert_int_equal(snap.successes, 0);

    /* Successes refund one token each: 1 -> 4 (capped) after three. */
    s.calls = 0;
    s.fail_first = 0;
    for (int i = 0; i < 3; i++)
        assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                         MG_STOP_SUCCESS);
    s.calls = 0;
    s.fail_first = 1;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_SUCCESS);
    assert_int_equal(res.attempts, 2);
    snap = snapshot(stats);
    assert_int_equal(snap.calls, 6);
    assert_int_equal(snap.successes, 4);
    assert_int_equal(snap.stops[MG_STOP_SUCCESS], 4);
    mg_budget_free(budget);
    mg_stats_free(stats);
}

static void test_retry_state__budget_is_asked_only_for_retries_due(void **st)
{
    mg_budget *budget = NULL;
    mg_policy p = make_policy(0, 10, 10, MG_JITTER_NONE);
    mg_retry_options o = MG_RETRY_OPTIONS_INIT;
    mg_budget_ratio_config cfg = MG_BUDGET_RATIO_CONFIG_INIT;
    struct vtime vt = {0};
    struct script s = {0};
    struct run run;

    (void)st;
    /* A ratio budget of 0 % with 1 retry per second in a 1 s window
     * allows one retry; stops that need no retry must not spend it. */
    cfg.ratio_percent = 0;
    cfg.min_retries_per_sec = 1;
    cfg.window_ms = 1000;
    cfg.clock = vclock;
    cfg.clock_data = &vt;
    vt.now_ns = 5000 * NS_PER_MS;
    assert_int_equal(mg_budget_new_ratio(&budget, &cfg), MG_OK);
    o.budget = budget;
    s.fail_first = ALWAYS_FAIL;
    drive(&p, &o, &s, &vt, &run); /* exhausted: no retry asked */
    assert_int_equal(run.stop, MG_STOP_EXHAUSTED);
    o.is_retryable = never_retryable;
    p.max_retries = 3;
    s.calls = 0;
    drive(&p, &o, &s, &vt, &run); /* not retryable: no retry asked */
    assert_int_equal(run.stop, MG_STOP_NOT_RETRYABLE);
    o.is_retryable = NULL;
    s.calls = 0;
    drive(&p, &o, &s, &vt, &run); /* the one retry, then refused */
    assert_int_equal(run.stop, MG_STOP_BUDGET);
    assert_int_equal(run.attempts, 2);
    mg_budget_free(budget);
}

static void test_retry_state__open_breaker_refuses_without_calling(void **st)
{
    mg_breaker_config cfg = MG_BREAKER_CONFIG_INIT;
    mg_breaker *breaker = NULL;
    mg_stats *stats = NULL;
    mg_policy p = make_policy(5, 0, 0, MG_JITTER_NONE);
    struct vtime vt = {0};
    struct script s = {0};
    mg_retry_options o = MG_RETRY_OPTIONS_INIT;
    mg_retry_result res = MG_RETRY_RESULT_INIT;
    mg_stats_snapshot snap;
    struct run run;

    (void)st;
    cfg.consecutive_failures = 3;
    cfg.failure_rate_percent = 0;
    cfg.open_ms = 1000;
    cfg.half_open_probes = 1;
    cfg.clock = vclock;
    cfg.clock_data = &vt;
    vt.now_ns = 1;
    assert_int_equal(mg_breaker_new(&breaker, &cfg), MG_OK);
    assert_int_equal(mg_stats_new(&stats), MG_OK);
    o.breaker = breaker;
    o.stats = stats;
    o.clock = vclock;
    o.clock_data = &vt;
    o.sleep = vsleep;
    o.sleep_data = &vt;

    /* Three failures open it; the fourth attempt is refused. */
    s.fail_first = ALWAYS_FAIL;
    drive(&p, &o, &s, &vt, &run);
    assert_int_equal(run.stop, MG_STOP_BREAKER);
    assert_int_equal(run.attempts, 3);
    assert_int_equal(s.calls, 3);
    assert_int_equal(mg_breaker_get_state(breaker), MG_BREAKER_OPEN);

    /* While open: the executor does not call the operation at all. */
    s.calls = 0;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_BREAKER);
    assert_int_equal(s.calls, 0);
    assert_int_equal(res.attempts, 0);
    assert_null(res.error);

    /* After open_ms, one probe; its success closes the breaker. */
    vt.now_ns += 1000 * NS_PER_MS;
    s.calls = 0;
    s.fail_first = 0;
    assert_int_equal(mg_retry_run(&p, script_op, &s, &o, &res),
                     MG_STOP_SUCCESS);
    assert_int_equal(s.calls, 1);
    assert_int_equal(mg_breaker_get_state(breaker), MG_BREAKER_CLOSED);

    snap = snapshot(stats);
    assert_int_equal(snap.calls, 3);
    assert_int_equal(snap.attempts, 4);
    assert_int_equal(snap.retries, 3);
    assert_int_equal(snap.stops[MG_STOP_BREAKER], 2);
    assert_int_equal(snap.stops[MG_STOP_SUCCESS], 1);
    mg_breaker_free(breaker);
    mg_stats_free(stats);
}

static void test_retry_state__failed_probe_reopens_the_breaker(void **st)
{
    mg_breaker_config cfg = MG_BREAKER_CONFIG_INIT;
    mg_breaker *breaker = NULL;
    mg_policy p = make_policy(5, 0, 0, MG_JITTER_NONE);
    struct vtime vt = {0};
    struct script s = {0};
    mg_retry_options o = MG_RETRY_OPTIONS_INIT;
    struct run run;

    (void)st;
    cfg.consecutive_failures = 1;
    cfg.failure_rate_percent = 0;
    cfg.open_ms = 500;
    cfg.half_open_probes = 1;
    cfg.clock = vclock;
    cfg.clock_data = &vt;
    vt.now_ns = 1;
    assert_int_equal(mg_breaker_new(&breaker, &cfg), MG_OK);
    o.breaker = breaker;
    s.fail_first = ALWAYS_FAIL;
    drive(&p, &o, &s, &vt, &run);
    assert_int_equal(run.attempts, 1);
    assert_int_equal(run.stop, MG_STOP_BREAKER);
    /* The probe fails (a failure the classifier would not retry counts
     * all the same): open again, the retry refused. */
    vt.now_ns += 500 * NS_PER_MS;
    o.is_retryable = never_retryable;
    s.calls = 0;
    drive(&p, &o, &s, &vt, &run);
    assert_int_equal(run.stop, MG_STOP_NOT_RETRYABLE);
    assert_int_equal(s.calls, 1);
    assert_int_equal(mg_breaker_get_state(breaker), MG_BREAKER_OPEN);
    s.calls = 0;
    drive(&p, &o, &s, &vt, &run);
    assert_int_equal(run.stop, MG_STOP_BREAKER);
    assert_int_equal(s.calls, 0);
    mg_breaker_free(breaker);
}

static void test_retry_state__stats_count_every_outcome_once(void **st)
{
    mg_stats *stats = NULL;
    mg_cancel *c = NULL;
    mg_policy p = make_policy(2, 10, 10, MG_JITTER_NONE);
    struct vtime vt = {0};
    struct script s = {0};
    mg_retry_options o = MG_RETRY_OPTIONS_INIT;
    mg_stats_snapshot snap;
    uint64_t push = 99999, total = 0;
    struct run run;

    (void)st;
    assert_int_equal(mg_stats_new(&stats), MG_OK);
    assert_int_equal(mg_cancel_new(&c), MG_OK);
    o.stats = stats;
    o.clock = vclock; /* the deadline's time base is the virtual one */
    o.clock_data = &vt;

    s.fail_first = 1; /* success after a retry of 10 ms */
    drive(&p, &o, &s, &vt, &run);
    s.calls = 0;
    s.fail_first = ALWAYS_FAIL; /* exhausted: 2 retries */
    drive(&p, &o, &s, &vt, &run);
    o.is_retryable = never_retryable;
    s.calls = 0;
    drive(&p, &o, &s, &vt, &run); /* not retryable */
    o.is_retryable = NULL;
    o.pushback = constant_pushback;
    o.pushback_data = &push;
    s.calls = 0;
    drive(&p, &o, &s, &vt, &run); /* pushback */
    o.pushback = NULL;
    p.max_elapsed_ms = 5;
    s.calls = 0;
    drive(&p, &o, &s, &vt, &run); /* deadline */
    p.max_elapsed_ms = 0;
    o.cancel = c;
    mg_cancel_trigger(c);
    drive(&p, &o, &s, &vt, &run); /* cancelled before the first attempt */

    snap = snapshot(stats);
    assert_int_equal(snap.calls, 6);
    assert_int_equal(snap.attempts, 2 + 3 + 1 + 1 + 1);
    assert_int_equal(snap.retries, 3);
    assert_int_equal(snap.slept_ms, 30);
    assert_int_equal(snap.successes, 1);
    assert_int_equal(snap.stops[MG_STOP_SUCCESS], 1);
    assert_int_equal(snap.stops[MG_STOP_EXHAUSTED], 1);
    assert_int_equal(snap.stops[MG_STOP_NOT_RETRYABLE], 1);
    assert_int_equal(snap.stops[MG_STOP_PUSHBACK], 1);
    assert_int_equal(snap.stops[MG_STOP_DEADLINE], 1);
    assert_int_equal(snap.stops[MG_STOP_CANCELLED], 1);
    for (size_t i = 0; i < MG_STATS_STOP_SLOTS; i++)
        total += snap.stops[i];
    assert_int_equal(total, snap.calls);
    mg_cancel_free(c);
    mg_stats_free(stats);
}

/* ---- many threads, one stats object and one budget ---- */

#define THREADS 8
#define RUNS_PER_THREAD 20000

struct worker {
    mg_retry_options *options;
    const mg_policy *policy;
    unsigned id;
    uint64_t stops[MG_STATS_STOP_SLOTS];
    uint64_t attempts, retries, slept_ms;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t seed = w->id;

    for (unsigned i = 0; i < RUNS_PER_THREAD; i++) {
        mg_retry_state s;
        unsigned fails = (unsigned)(mg_random_splitmix64(&seed) % 4);
        uint64_t d;
        int rc;

        if (mg_retry_state_init(&s, w->policy, w->options) != MG_OK)
            return NULL;
        for (unsigned a = 0;; a++) {
            rc = mg_retry_state_begin(&s);
            if (rc != MG_OK)
                break;
            if (a >= fails) {
                rc = mg_retry_state_on_success(&s);
                break;
            }
            rc = mg_retry_state_on_failure(&s, NULL, 0, &d);
            if (rc != MG_RETRY_AGAIN)
                break;
            w->retries++;
            w->slept_ms += d;
        }
        if (rc >= 0 && rc < MG_STATS_STOP_SLOTS)
            w->stops[rc]++;
        w->attempts += mg_retry_state_attempts(&s);
    }
    return NULL;
}

static void test_retry_state__threads_share_stats_and_budget_exactly(void **st)
{
    mg_stats *stats = NULL;
    mg_budget *budget = NULL;
    mg_policy p = make_policy(2, 0, 3, MG_JITTER_FULL);
    mg_retry_options o = MG_RETRY_OPTIONS_INIT;
    struct worker w[THREADS];
    pthread_t t[THREADS];
    mg_stats_snapshot snap;
    uint64_t stops[MG_STATS_STOP_SLOTS] = {0}, attempts = 0, retries = 0,
             slept = 0, calls = 0;

    (void)st;
    assert_int_equal(mg_stats_new(&stats), MG_OK);
    assert_int_equal(mg_budget_new_token_bucket(&budget, 100, 0.5), MG_OK);
    o.stats = stats;
    o.budget = budget;
    o.random = NULL; /* the per-thread default source */
    memset(w, 0, sizeof(w));
    for (unsigned i = 0; i < THREADS; i++) {
        w[i].options = &o;
        w[i].policy = &p;
        w[i].id = i + 1;
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (unsigned i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        for (size_t k = 0; k < MG_STATS_STOP_SLOTS; k++) {
            stops[k] += w[i].stops[k];
            calls += w[i].stops[k];
        }
        attempts += w[i].attempts;
        retries += w[i].retries;
        slept += w[i].slept_ms;
    }
    snap = snapshot(stats);
    assert_int_equal(calls, (uint64_t)THREADS * RUNS_PER_THREAD);
    assert_int_equal(snap.calls, calls);
    assert_int_equal(snap.attempts, attempts);
    assert_int_equal(snap.retries, retries);
    assert_int_equal(snap.slept_ms, slept);
    for (size_t k = 0; k < MG_STATS_STOP_SLOTS; k++)
        assert_int_equal(snap.stops[k], stops[k]);
    /* Under this failure mix the bucket runs dry at times, and the
     * budget refusals are the only stops besides success and exhausted. */
    assert_true(stops[MG_STOP_BUDGET] > 0);
    assert_int_equal(stops[MG_STOP_SUCCESS] + stops[MG_STOP_EXHAUSTED] +
                         stops[MG_STOP_BUDGET],
                     calls);
    mg_budget_free(budget);
    mg_stats_free(stats);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_state__fits_in_64_bytes_and_needs_no_heap),
        cmocka_unit_test(test_retry_state__init_rejects_bad_arguments),
        cmocka_unit_test(
            test_retry_state__failed_init_leaves_an_unusable_state),
        cmocka_unit_test(
            test_retry_state__calls_out_of_turn_are_refused_unchanged),
        cmocka_unit_test(
            test_retry_state__again_is_distinct_from_stops_and_errors),
        cmocka_unit_test(test_retry_state__executor_table_of_cases),
        cmocka_unit_test(
            test_retry_state__presets_make_the_originals_call_counts),
        cmocka_unit_test(
            test_retry_state__unjittered_delays_double_up_to_the_cap),
        cmocka_unit_test(test_retry_state__null_policy_is_the_default_preset),
        cmocka_unit_test(
            test_retry_state__decorrelated_grows_from_previous_delay),
        cmocka_unit_test(
            test_retry_state__decorrelated_range_follows_its_own_history),
        cmocka_unit_test(test_retry_state__pushback_does_not_feed_decorrelated),
        cmocka_unit_test(
            test_retry_state__executor_and_state_agree_on_every_delay),
        cmocka_unit_test(test_retry_state__reads_no_clock_without_a_deadline),
        cmocka_unit_test(test_retry_state__deadline_starts_at_first_begin),
        cmocka_unit_test(test_retry_state__default_clock_is_monotonic),
        cmocka_unit_test(
            test_retry_state__time_math_saturates_at_maximal_values),
        cmocka_unit_test(test_retry_state__retry_numbers_at_the_edges),
        cmocka_unit_test(test_retry_state__pushback_is_honoured_and_capped),
        cmocka_unit_test(
            test_retry_state__cancel_stops_before_and_after_attempts),
        cmocka_unit_test(
            test_retry_state__copy_continues_where_the_original_was),
        cmocka_unit_test(
            test_retry_state__version_1_options_are_read_only_so_far),
        cmocka_unit_test(
            test_retry_state__with_backoff_copies_only_the_v1_prefix),
        cmocka_unit_test(test_retry_state__budget_refusal_stops_without_a_wait),
        cmocka_unit_test(
            test_retry_state__budget_is_asked_only_for_retries_due),
        cmocka_unit_test(
            test_retry_state__open_breaker_refuses_without_calling),
        cmocka_unit_test(test_retry_state__failed_probe_reopens_the_breaker),
        cmocka_unit_test(test_retry_state__stats_count_every_outcome_once),
        cmocka_unit_test(
            test_retry_state__threads_share_stats_and_budget_exactly),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
