/* SPDX-License-Identifier: MIT */
/*
 * Tests of the circuit breaker (src/breaker.c) in virtual time: creation
 * limits and allocation failure, opening on failures in a row and on a
 * failure rate over a minimum of calls, the sliding window, the exact end
 * of the open period, half-open probes, re-opening on a failed probe,
 * closing afresh, the callback's values (and that it may call the
 * breaker), stats, when the clock is read, NULL handles, and eight-thread
 * runs whose probes and transitions add up exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <mg/retry.h>

#include "ov_testutil.h"

static mg_breaker *const SENTINEL = (mg_breaker *)(uintptr_t)1;

/* ---- callback recorder ---- */

#define MAX_CHANGES 64

struct changes {
    mg_breaker *breaker; /* when set, the callback reads its state */
    int n;
    int from[MAX_CHANGES], to[MAX_CHANGES], seen[MAX_CHANGES];
};

static void record(int old_state, int new_state, void *data)
{
    struct changes *c = data;
    if (c->n < MAX_CHANGES) {
        c->from[c->n] = old_state;
        c->to[c->n] = new_state;
        c->seen[c->n] =
            c->breaker != NULL ? mg_breaker_get_state(c->breaker) : -1;
    }
    c->n++;
}

static void expect_change(const struct changes *c, int i, int from, int to)
{
    assert_true(c->n > i);
    assert_int_equal(c->from[i], from);
    assert_int_equal(c->to[i], to);
}

static mg_breaker_config config(struct vclock *clock, struct changes *ch)
{
    mg_breaker_config c = MG_BREAKER_CONFIG_INIT;
    c.clock = vclock_read;
    c.clock_data = clock;
    c.on_change = ch != NULL ? record : NULL;
    c.on_change_data = ch;
    return c;
}

static mg_breaker *make(const mg_breaker_config *c)
{
    mg_breaker *b = NULL;
    assert_int_equal(mg_breaker_new(&b, c), MG_OK);
    assert_non_null(b);
    return b;
}

static void fail_n(mg_breaker *b, int n)
{
    for (int i = 0; i < n; i++) {
        assert_true(mg_breaker_allow(b));
        mg_breaker_on_failure(b);
    }
}

static void succeed_n(mg_breaker *b, int n)
{
    for (int i = 0; i < n; i++) {
        assert_true(mg_breaker_allow(b));
        mg_breaker_on_success(b);
    }
}

/* ---- creation ---- */

static void test_breaker__config_init_gives_documented_defaults(void **s)
{
    (void)s;
    mg_breaker_config c;
    memset(&c, 0xff, sizeof c);
    assert_int_equal(mg_breaker_config_init(&c, 1), MG_OK);
    assert_int_equal(c.version, 1);
    assert_int_equal(c.consecutive_failures, 5);
    assert_int_equal(c.failure_rate_percent, 50);
    assert_int_equal(c.min_calls, 20);
    assert_int_equal(c.window_ms, 10000);
    assert_int_equal(c.open_ms, 5000);
    assert_int_equal(c.half_open_probes, 1);
    assert_int_equal(c.reserved, 0);
    assert_null(c.on_change);
    assert_null(c.on_change_data);
    assert_null(c.clock);
    assert_null(c.clock_data);
    assert_int_equal(mg_breaker_config_init(NULL, 1), MG_EINVAL);
    assert_int_equal(mg_breaker_config_init(&c, 0), MG_EVERSION);
    assert_int_equal(mg_breaker_config_init(&c, 2), MG_EVERSION);
}

static void test_breaker__rejects_bad_config(void **state)
{
    (void)state;
    const mg_breaker_config ok = MG_BREAKER_CONFIG_INIT;
    mg_breaker *b = SENTINEL;
    assert_int_equal(mg_breaker_new(NULL, &ok), MG_EINVAL);
    assert_int_equal(mg_breaker_new(&b, NULL), MG_EINVAL);
    assert_null(b);
    mg_breaker_config c = ok;
    c.version = 2;
    b = SENTINEL;
    assert_int_equal(mg_breaker_new(&b, &c), MG_EVERSION);
    assert_null(b);

    for (int i = 0;; i++) {
        c = ok;
        switch (i) {
        case 0:
            c.consecutive_failures = 0;
            c.failure_rate_percent = 0;
            break;
        case 1:
            c.consecutive_failures = 1000001;
            break;
        case 2:
            c.consecutive_failures = UINT32_MAX;
            break;
        case 3:
            c.failure_rate_percent = 101;
            break;
        case 4:
            c.min_calls = 0;
            break;
        case 5:
            c.min_calls = 1000001;
            break;
        case 6:
            c.window_ms = 99;
            break;
        case 7:
            c.window_ms = 3600001;
            break;
        case 8:
            c.window_ms = UINT64_MAX;
            break;
        case 9:
            c.open_ms = 0;
            break;
        case 10:
            c.open_ms = 86400001;
            break;
        case 11:
            c.open_ms = UINT64_MAX;
            break;
        case 12:
            c.half_open_probes = 0;
            break;
        case 13:
            c.half_open_probes = 1001;
            break;
        case 14:
            c.reserved = 1;
            break;
        default:
            return;
        }
        b = SENTINEL;
        assert_int_equal(mg_breaker_new(&b, &c), MG_EINVAL);
        assert_null(b);
    }
}

static void test_breaker__accepts_edge_config(void **state)
{
    (void)state;
    mg_breaker_config c = MG_BREAKER_CONFIG_INIT;
    /* the rate trigger off: its window and minimum are not looked at */
    c.failure_rate_percent = 0;
    c.min_calls = 0;
    c.window_ms = 0;
    c.consecutive_failures = 1000000;
    c.open_ms = 86400000;
    c.half_open_probes = 1000;
    mg_breaker_free(make(&c));
    c = (mg_breaker_config)MG_BREAKER_CONFIG_INIT;
    c.consecutive_failures = 0;
    c.failure_rate_percent = 100;
    c.min_calls = 1000000;
    c.window_ms = 3600000;
    c.open_ms = 1;
    mg_breaker_free(make(&c));
    c.failure_rate_percent = 1;
    c.min_calls = 1;
    c.window_ms = 100;
    mg_breaker_free(make(&c));
}

static void test_breaker__constructor_reports_out_of_memory(void **state)
{
    (void)state;
    REQUIRE_INTERPOSER();
    const mg_breaker_config c = MG_BREAKER_CONFIG_INIT;
    mg_breaker *b = SENTINEL;
    atomic_store(&fail_next_malloc, 1);
    assert_int_equal(mg_breaker_new(&b, &c), MG_ENOMEM);
    assert_null(b);
    atomic_store(&fail_next_malloc, 0);
    assert_int_equal(mg_breaker_new(&b, &c), MG_OK);
    mg_breaker_free(b);
}

/* ---- the consecutive-failure trigger ---- */

static void test_breaker__opens_after_consecutive_failures(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    struct changes ch = {0};
    mg_breaker_config c = config(&clock, &ch);
    c.consecutive_failures = 3;
    c.failure_rate_percent = 0;
    mg_breaker *b = make(&c);
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_CLOSED);
    fail_n(b, 2);
    succeed_n(b, 1); /* resets the run of failures */
    fail_n(b, 2);
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_CLOSED);
    assert_int_equal(ch.n, 0);
    fail_n(b, 1);
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_OPEN);
    assert_int_equal(ch.n, 1);
    expect_change(&ch, 0, MG_BREAKER_CLOSED, MG_BREAKER_OPEN);
    assert_false(mg_breaker_allow(b));
    mg_breaker_free(b);

    /* one failure is enough with a limit of 1 */
    c.consecutive_failures = 1;
    b = make(&c);
    fail_n(b, 1);
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_OPEN);
    mg_breaker_free(b);
}

static void test_breaker__stays_open_for_exactly_open_ms(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    struct changes ch = {0};
    mg_breaker_config c = config(&clock, &ch);
    c.consecutive_failures = 1;
    c.failure_rate_percent = 0;
    c.open_ms = 500;
    mg_breaker *b = make(&c);
    vclock_set_ms(&clock, 1000);
    fail_n(b, 1); /* open until 1500 ms */
    clock.ns = 1499999999u;
    assert_false(mg_breaker_allow(b));
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_OPEN);
    vclock_set_ms(&clock, 1500);
    /* reads as half-open, but changes (and reports) only at allow() */
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_HALF_OPEN);
    assert_int_equal(ch.n, 1);
    assert_true(mg_breaker_allow(b));
    assert_int_equal(ch.n, 2);
    expect_change(&ch, 1, MG_BREAKER_OPEN, MG_BREAKER_HALF_OPEN);
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_HALF_OPEN);
    mg_breaker_free(b);
}

static void
test_breaker__half_open_lets_exactly_the_probes_through(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    struct changes ch = {0};
    mg_breaker_config c = config(&clock, &ch);
    c.consecutive_failures = 2;
    c.failure_rate_percent = 0;
    c.open_ms = 100;
    c.half_open_probes = 3;
    mg_breaker *b = make(&c);
    fail_n(b, 2);
    vclock_set_ms(&clock, 100);
    for (int i = 0; i < 3; i++)
        assert_true(mg_breaker_allow(b));
    assert_false(mg_breaker_allow(b));
    assert_false(mg_breaker_allow(b));
    mg_breaker_on_success(b);
    mg_breaker_on_success(b);
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_HALF_OPEN);
    assert_false(mg_breaker_allow(b)); /* successes hand out no new probes */
    mg_breaker_on_success(b);
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_CLOSED);
    assert_int_equal(ch.n, 3);
    expect_change(&ch, 2, MG_BREAKER_HALF_OPEN, MG_BREAKER_CLOSED);
    assert_true(mg_breaker_allow(b));

    /* closed afresh: the failure run starts from zero */
    mg_breaker_on_failure(b);
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_CLOSED);
    fail_n(b, 1);
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_OPEN);
    mg_breaker_free(b);
}

static void test_breaker__failed_probe_reopens_for_another_period(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    struct changes ch = {0};
    mg_breaker_config c = config(&clock, &ch);
    c.consecutive_failures = 1;
    c.failure_rate_percent = 0;
    c.open_ms = 500;
    c.half_open_probes = 2;
    mg_breaker *b = make(&c);
    fail_n(b, 1); /* open until 500 */
    vclock_set_ms(&clock, 600);
    assert_true(mg_breaker_allow(b));
    assert_true(mg_breaker_allow(b));
    mg_breaker_on_success(b);
    vclock_set_ms(&clock, 700);
    mg_breaker_on_failure(b); /* open until 1200 */
    assert_int_equal(ch.n, 3);
    expect_change(&ch, 2, MG_BREAKER_HALF_OPEN, MG_BREAKER_OPEN);
    clock.ns = 1199999999u;
    assert_false(mg_breaker_allow(b));
    vclock_set_ms(&clock, 1200);
    assert_true(mg_breaker_allow(b)); /* a fresh set of two probes */
    assert_true(mg_breaker_allow(b));
    assert_false(mg_breaker_allow(b));
    mg_breaker_on_success(b);
    mg_breaker_on_success(b);
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_CLOSED);
    assert_int_equal(ch.n, 5);
    expect_change(&ch, 3, MG_BREAKER_OPEN, MG_BREAKER_HALF_OPEN);
    expect_change(&ch, 4, MG_BREAKER_HALF_OPEN, MG_BREAKER_CLOSED);
    mg_breaker_free(b);
}

static void test_breaker__lost_probes_are_replaced_after_open_ms(void **s)
{
    (void)s;
    struct vclock clock = {0, 0};
    struct changes ch = {0};
    mg_breaker_config c = config(&clock, &ch);
    c.consecutive_failures = 1;
    c.failure_rate_percent = 0;
    c.open_ms = 100;
    c.half_open_probes = 2;
    mg_breaker *b = make(&c);
    fail_n(b, 1); /* open until 100 */
    vclock_set_ms(&clock, 150);
    assert_true(mg_breaker_allow(b)); /* two probes out at 150 ms... */
    assert_true(mg_breaker_allow(b));
    clock.ns = 249999999u; /* ...and never reported */
    assert_false(mg_breaker_allow(b));
    assert_int_equal(atomic_load(&clock.reads), 3); /* the refusal looked */
    vclock_set_ms(&clock, 250);
    assert_true(mg_breaker_allow(b)); /* a fresh set of two */
    assert_true(mg_breaker_allow(b));
    assert_false(mg_breaker_allow(b));
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_HALF_OPEN);
    assert_int_equal(ch.n, 2); /* no state change to report */
    mg_breaker_on_success(b);
    mg_breaker_on_success(b);
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_CLOSED);
    expect_change(&ch, 2, MG_BREAKER_HALF_OPEN, MG_BREAKER_CLOSED);

    /* a failed probe of the new set re-opens as usual */
    fail_n(b, 1);
    vclock_set_ms(&clock, 400);
    assert_true(mg_breaker_allow(b));
    assert_true(mg_breaker_allow(b));
    vclock_set_ms(&clock, 500);
    assert_true(mg_breaker_allow(b)); /* replaced at 500 */
    mg_breaker_on_failure(b);
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_OPEN);
    mg_breaker_free(b);
}

static void test_breaker__outcomes_while_open_are_ignored(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    struct changes ch = {0};
    mg_breaker_config c = config(&clock, &ch);
    c.consecutive_failures = 1;
    c.failure_rate_percent = 0;
    c.open_ms = 100;
    mg_breaker *b = make(&c);
    fail_n(b, 1);
    for (int i = 0; i < 10; i++) {
        mg_breaker_on_success(b); /* attempts allowed before it opened */
        mg_breaker_on_failure(b);
    }
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_OPEN);
    assert_int_equal(ch.n, 1);
    vclock_set_ms(&clock, 50);
    assert_false(mg_breaker_allow(b)); /* the period was not extended... */
    vclock_set_ms(&clock, 100);
    assert_true(mg_breaker_allow(b)); /* ...and ends on time */
    mg_breaker_free(b);
}

/* ---- the failure-rate trigger ---- */

static void test_breaker__opens_on_failure_rate_over_min_calls(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    struct changes ch = {0};
    mg_breaker_config c = config(&clock, &ch);
    c.consecutive_failures = 0;
    c.failure_rate_percent = 50;
    c.min_calls = 10;
    mg_breaker *b = make(&c);
    fail_n(b, 9); /* 100 % of 9 calls: below the minimum */
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_CLOSED);
    fail_n(b, 1); /* 10 calls */
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_OPEN);
    mg_breaker_free(b);

    ch.n = 0;
    b = make(&c);
    succeed_n(b, 6);
    fail_n(b, 5); /* 5 of 11 = 45 % */
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_CLOSED);
    fail_n(b, 1); /* 6 of 12 = 50 % */
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_OPEN);
    assert_int_equal(ch.n, 1);
    mg_breaker_free(b);

    /* a success never opens, even at a 100 % threshold */
    c.failure_rate_percent = 100;
    c.min_calls = 1;
    b = make(&c);
    succeed_n(b, 100);
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_CLOSED);
    fail_n(b, 1); /* 1 of 101 */
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_CLOSED);
    mg_breaker_free(b);
}

static void test_breaker__rate_window_forgets_old_calls(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    mg_breaker_config c = config(&clock, NULL);
    c.consecutive_failures = 0;
    c.failure_rate_percent = 50;
    c.min_calls = 10;
    c.window_ms = 10000; /* ten 1 s buckets */
    mg_breaker *b = make(&c);
    succeed_n(b, 8); /* bucket 0 */
    vclock_set_ms(&clock, 5000);
    fail_n(b, 4); /* 4 of 12 */
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_CLOSED);
    vclock_set_ms(&clock, 10000); /* bucket 0 leaves: 4 of 4 */
    fail_n(b, 5);                 /* 9 of 9: still below the minimum */
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_CLOSED);
    fail_n(b, 1); /* 10 of 10 */
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_OPEN);
    mg_breaker_free(b);

    /* without sliding, the 8 successes would have kept it closed */
    clock.ns = 0;
    b = make(&c);
    succeed_n(b, 8);
    vclock_set_ms(&clock, 9999);
    fail_n(b, 7); /* 7 of 15 */
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_CLOSED);
    fail_n(b, 1); /* 8 of 16 */
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_OPEN);
    mg_breaker_free(b);
}

static void test_breaker__either_trigger_opens(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    mg_breaker_config c = config(&clock, NULL);
    c.consecutive_failures = 3;
    c.failure_rate_percent = 50;
    c.min_calls = 100;
    mg_breaker *b = make(&c);
    fail_n(b, 3); /* the rate trigger lacks calls; the run trips */
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_OPEN);
    mg_breaker_free(b);

    c.min_calls = 4;
    b = make(&c);
    fail_n(b, 2);
    succeed_n(b, 1);
    fail_n(b, 1); /* 3 of 4 = 75 %, no run of 3 */
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_OPEN);
    mg_breaker_free(b);
}

static void test_breaker__reopened_window_starts_empty(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    mg_breaker_config c = config(&clock, NULL);
    c.consecutive_failures = 0;
    c.failure_rate_percent = 50;
    c.min_calls = 4;
    c.open_ms = 10;
    mg_breaker *b = make(&c);
    fail_n(b, 4);
    vclock_set_ms(&clock, 10);
    succeed_n(b, 1); /* the probe closes it */
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_CLOSED);
    fail_n(b, 3); /* 3 calls since closing: below the minimum */
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_CLOSED);
    fail_n(b, 1);
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_OPEN);
    mg_breaker_free(b);
}

/* ---- callback, stats, clock, NULL ---- */

static void test_breaker__callback_may_call_the_breaker(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    struct changes ch = {0};
    mg_breaker_config c = config(&clock, &ch);
    c.consecutive_failures = 1;
    c.failure_rate_percent = 0;
    c.open_ms = 1;
    mg_breaker *b = make(&c);
    ch.breaker = b;
    fail_n(b, 1);
    vclock_set_ms(&clock, 1);
    succeed_n(b, 1);
    assert_int_equal(ch.n, 3);
    /* each callback already sees the new state */
    assert_int_equal(ch.seen[0], MG_BREAKER_OPEN);
    assert_int_equal(ch.seen[1], MG_BREAKER_HALF_OPEN);
    assert_int_equal(ch.seen[2], MG_BREAKER_CLOSED);
    mg_breaker_free(b);
}

static void test_breaker__stats_count_transitions_and_refusals(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    mg_stats *stats = NULL;
    assert_int_equal(mg_stats_new(&stats), MG_OK);
    mg_breaker_config c = config(&clock, NULL);
    c.consecutive_failures = 1;
    c.failure_rate_percent = 0;
    c.open_ms = 10;
    mg_breaker *b = make(&c);
    assert_int_equal(mg_breaker_set_stats(b, stats), MG_OK);
    for (int round = 0; round < 3; round++) {
        fail_n(b, 1);
        for (int i = 0; i < 4; i++)
            assert_false(mg_breaker_allow(b));
        vclock_set_ms(&clock, 10 * (uint64_t)(round + 1));
        assert_true(mg_breaker_allow(b));
        if (round < 2)
            mg_breaker_on_success(b);
        else
            mg_breaker_on_failure(b);
    }
    mg_stats_snapshot s = MG_STATS_SNAPSHOT_INIT;
    assert_int_equal(mg_stats_get_snapshot(stats, &s), MG_OK);
    assert_int_equal(s.breaker_opened, 4);
    assert_int_equal(s.breaker_half_opened, 3);
    assert_int_equal(s.breaker_closed, 2);
    assert_int_equal(s.breaker_refusals, 12);
    assert_int_equal(s.stops[MG_STOP_BREAKER], 0); /* runs count stops */
    assert_int_equal(mg_breaker_set_stats(b, NULL), MG_OK);
    assert_false(mg_breaker_allow(b));
    assert_int_equal(mg_stats_get_snapshot(stats, &s), MG_OK);
    assert_int_equal(s.breaker_refusals, 12);
    mg_breaker_free(b);
    mg_stats_free(stats);
}

static void test_breaker__clock_is_read_only_when_time_matters(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    mg_breaker_config c = config(&clock, NULL);
    c.consecutive_failures = 2;
    c.failure_rate_percent = 0;
    mg_breaker *b = make(&c);
    assert_true(mg_breaker_allow(b));
    mg_breaker_on_success(b);
    mg_breaker_on_failure(b);
    (void)mg_breaker_get_state(b);
    assert_int_equal(atomic_load(&clock.reads), 0); /* closed: no clock */
    mg_breaker_on_failure(b);                       /* opens: needs the time */
    assert_int_equal(atomic_load(&clock.reads), 1);
    (void)mg_breaker_allow(b);
    assert_int_equal(atomic_load(&clock.reads), 2);
    mg_breaker_free(b);

    /* the rate trigger reads it for every outcome */
    c.failure_rate_percent = 50;
    atomic_store(&clock.reads, 0);
    b = make(&c);
    mg_breaker_on_success(b);
    assert_int_equal(atomic_load(&clock.reads), 1);
    mg_breaker_free(b);
}

static void test_breaker__works_at_the_far_end_of_the_clock(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    mg_breaker_config c = config(&clock, NULL);
    c.consecutive_failures = 1;
    c.failure_rate_percent = 0;
    c.open_ms = 86400000;
    mg_breaker *b = make(&c);
    /* a day before the 2^42 ms the state word can hold */
    uint64_t ms = (UINT64_C(1) << 42) - 1 - 86400000u - 1;
    vclock_set_ms(&clock, ms);
    fail_n(b, 1);
    vclock_set_ms(&clock, ms + 86399999u);
    assert_false(mg_breaker_allow(b));
    vclock_set_ms(&clock, ms + 86400000u);
    assert_true(mg_breaker_allow(b));
    mg_breaker_on_failure(b); /* ends past 2^42 ms: saturates */
    clock.ns = UINT64_MAX;
    assert_true(mg_breaker_allow(b)); /* a clock past 2^42 ms ends it */
    int st = mg_breaker_get_state(b);
    assert_int_equal(st, MG_BREAKER_HALF_OPEN);
    mg_breaker_free(b);
}

static void test_breaker__null_handles(void **state)
{
    (void)state;
    assert_true(mg_breaker_allow(NULL));
    mg_breaker_on_success(NULL);
    mg_breaker_on_failure(NULL);
    mg_breaker_free(NULL);
    assert_int_equal(mg_breaker_get_state(NULL), MG_EINVAL);
    assert_int_equal(mg_breaker_set_stats(NULL, NULL), MG_EINVAL);
}

/* ---- threads ---- */

struct probe_run {
    mg_breaker *breaker;
    atomic_uint allowed;
};

static void ask_many(void *arg, int index)
{
    (void)index;
    struct probe_run *r = arg;
    unsigned n = 0;
    for (int i = 0; i < 5000; i++)
        n += mg_breaker_allow(r->breaker);
    atomic_fetch_add(&r->allowed, n);
}

static void test_breaker__threads_get_exactly_the_probes(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    struct changes ch = {0};
    mg_stats *stats = NULL;
    assert_int_equal(mg_stats_new(&stats), MG_OK);
    mg_breaker_config c = config(&clock, &ch);
    c.consecutive_failures = 1;
    c.failure_rate_percent = 0;
    c.open_ms = 1;
    c.half_open_probes = 1000;
    mg_breaker *b = make(&c);
    assert_int_equal(mg_breaker_set_stats(b, stats), MG_OK);
    fail_n(b, 1);
    vclock_set_ms(&clock, 1);
    struct probe_run r = {b, 0};
    assert_true(run_threads(ask_many, &r));
    assert_int_equal(atomic_load(&r.allowed), 1000);
    assert_int_equal(ch.n, 2); /* one thread won OPEN -> HALF_OPEN */
    mg_stats_snapshot s = MG_STATS_SNAPSHOT_INIT;
    assert_int_equal(mg_stats_get_snapshot(stats, &s), MG_OK);
    assert_int_equal(s.breaker_refusals, 8 * 5000 - 1000);
    assert_int_equal(s.breaker_half_opened, 1);
    mg_breaker_free(b);
    mg_stats_free(stats);
}

static void fail_many(void *arg, int index)
{
    (void)index;
    for (int i = 0; i < 10000; i++)
        mg_breaker_on_failure(arg);
}

static void test_breaker__threads_open_it_exactly_once(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    struct changes ch = {0};
    mg_breaker_config c = config(&clock, &ch);
    c.consecutive_failures = 30000;
    c.failure_rate_percent = 0;
    mg_breaker *b = make(&c);
    assert_true(run_threads(fail_many, b));
    assert_int_equal(ch.n, 1);
    expect_change(&ch, 0, MG_BREAKER_CLOSED, MG_BREAKER_OPEN);
    assert_int_equal(mg_breaker_get_state(b), MG_BREAKER_OPEN);
    mg_breaker_free(b);
}

/* Many threads drive the breaker through every state at once; every
 * transition is counted by the callback (by kind) and by the stats, and
 * the counts must describe one consistent history. */
struct churn {
    mg_breaker *breaker;
    struct vclock *clock;
    _Atomic unsigned kind[3][3]; /* [from][to] */
    atomic_uint attempts, refusals;
};

static void count_change(int old_state, int new_state, void *data)
{
    struct churn *c = data;
    atomic_fetch_add(&c->kind[old_state][new_state], 1u);
}

static void churn_thread(void *arg, int index)
{
    struct churn *c = arg;
    uint64_t seed = (uint64_t)index * 7919u + 1u;
    for (int i = 0; i < 20000; i++) {
        atomic_fetch_add(&c->clock->ns, 100000u); /* 0.1 ms */
        if (!mg_breaker_allow(c->breaker)) {
            atomic_fetch_add(&c->refusals, 1u);
            continue;
        }
        atomic_fetch_add(&c->attempts, 1u);
        if (mg_random_splitmix64(&seed) % 4 == 0)
            mg_breaker_on_failure(c->breaker);
        else
            mg_breaker_on_success(c->breaker);
    }
}

static void test_breaker__threads_keep_a_consistent_history(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    struct churn ch;
    memset(&ch, 0, sizeof ch);
    ch.clock = &clock;
    mg_stats *stats = NULL;
    assert_int_equal(mg_stats_new(&stats), MG_OK);
    mg_breaker_config c = config(&clock, NULL);
    c.consecutive_failures = 3;
    c.failure_rate_percent = 40;
    c.min_calls = 20;
    c.window_ms = 100;
    c.open_ms = 5;
    c.half_open_probes = 3;
    c.on_change = count_change;
    c.on_change_data = &ch;
    ch.breaker = make(&c);
    assert_int_equal(mg_breaker_set_stats(ch.breaker, stats), MG_OK);
    assert_true(run_threads(churn_thread, &ch));

    unsigned c_o = ch.kind[MG_BREAKER_CLOSED][MG_BREAKER_OPEN];
    unsigned o_h = ch.kind[MG_BREAKER_OPEN][MG_BREAKER_HALF_OPEN];
    unsigned h_o = ch.kind[MG_BREAKER_HALF_OPEN][MG_BREAKER_OPEN];
    unsigned h_c = ch.kind[MG_BREAKER_HALF_OPEN][MG_BREAKER_CLOSED];
    /* no other kind of transition exists */
    assert_int_equal(ch.kind[0][0] + ch.kind[0][2] + ch.kind[1][0] +
                         ch.kind[1][1] + ch.kind[2][2],
                     0);
    assert_true(c_o > 0 && h_c > 0); /* the run did go round */
    /* every state is entered as often as it is left, except the final
     * one, entered once more (CLOSED is entered once at creation) */
    unsigned into_open = c_o + h_o, out_of_open = o_h;
    unsigned into_half = o_h, out_of_half = h_o + h_c;
    unsigned into_closed = h_c + 1, out_of_closed = c_o;
    assert_true(into_open - out_of_open <= 1);
    assert_true(into_half - out_of_half <= 1);
    assert_true(into_closed - out_of_closed <= 1);
    assert_int_equal((into_open - out_of_open) + (into_half - out_of_half) +
                         (into_closed - out_of_closed),
                     1);

    mg_stats_snapshot s = MG_STATS_SNAPSHOT_INIT;
    assert_int_equal(mg_stats_get_snapshot(stats, &s), MG_OK);
    assert_int_equal(s.breaker_opened, into_open);
    assert_int_equal(s.breaker_half_opened, into_half);
    assert_int_equal(s.breaker_closed, h_c);
    assert_int_equal(s.breaker_refusals, atomic_load(&ch.refusals));
    assert_int_equal(atomic_load(&ch.attempts) + atomic_load(&ch.refusals),
                     8u * 20000u);
    mg_breaker_free(ch.breaker);
    mg_stats_free(stats);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_breaker__config_init_gives_documented_defaults),
        cmocka_unit_test(test_breaker__rejects_bad_config),
        cmocka_unit_test(test_breaker__accepts_edge_config),
        cmocka_unit_test(test_breaker__constructor_reports_out_of_memory),
        cmocka_unit_test(test_breaker__opens_after_consecutive_failures),
        cmocka_unit_test(test_breaker__stays_open_for_exactly_open_ms),
        cmocka_unit_test(
            test_breaker__half_open_lets_exactly_the_probes_through),
        cmocka_unit_test(test_breaker__failed_probe_reopens_for_another_period),
        cmocka_unit_test(test_breaker__lost_probes_are_replaced_after_open_ms),
        cmocka_unit_test(test_breaker__outcomes_while_open_are_ignored),
        cmocka_unit_test(test_breaker__opens_on_failure_rate_over_min_calls),
        cmocka_unit_test(test_breaker__rate_window_forgets_old_calls),
        cmocka_unit_test(test_breaker__either_trigger_opens),
        cmocka_unit_test(test_breaker__reopened_window_starts_empty),
        cmocka_unit_test(test_breaker__callback_may_call_the_breaker),
        cmocka_unit_test(test_breaker__stats_count_transitions_and_refusals),
        cmocka_unit_test(test_breaker__clock_is_read_only_when_time_matters),
        cmocka_unit_test(test_breaker__works_at_the_far_end_of_the_clock),
        cmocka_unit_test(test_breaker__null_handles),
        cmocka_unit_test(test_breaker__threads_get_exactly_the_probes),
        cmocka_unit_test(test_breaker__threads_open_it_exactly_once),
        cmocka_unit_test(test_breaker__threads_keep_a_consistent_history),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
