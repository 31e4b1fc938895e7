/* SPDX-License-Identifier: MIT */
/*
 * Tests of the retry budgets (src/budget.c): creation limits and
 * allocation failure, the token bucket's exact refusal at half, refunds,
 * clamping and rounding to thousandths, the ratio budget's exact
 * allowance, its per-second minimum and its sliding window in virtual
 * time, when each reads its clock, refusals counted in stats, NULL
 * handles, and eight-thread runs whose grants add up exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <string.h>

#include <mg/retry.h>

#include "ov_testutil.h"

static mg_budget *const SENTINEL = (mg_budget *)(uintptr_t)1;

static mg_budget *bucket(uint32_t max, double ratio)
{
    mg_budget *b = NULL;
    assert_int_equal(mg_budget_new_token_bucket(&b, max, ratio), MG_OK);
    assert_non_null(b);
    return b;
}

static mg_budget *ratio_budget(uint32_t percent, uint32_t min_per_sec,
                               uint32_t window_ms, struct vclock *clock)
{
    mg_budget_ratio_config c = MG_BUDGET_RATIO_CONFIG_INIT;
    c.ratio_percent = percent;
    c.min_retries_per_sec = min_per_sec;
    c.window_ms = window_ms;
    c.clock = vclock_read;
    c.clock_data = clock;
    mg_budget *b = NULL;
    assert_int_equal(mg_budget_new_ratio(&b, &c), MG_OK);
    assert_non_null(b);
    return b;
}

static unsigned grants(mg_budget *b, unsigned tries)
{
    unsigned n = 0;
    for (unsigned i = 0; i < tries; i++)
        n += mg_budget_try_retry(b);
    return n;
}

/* ---- token bucket ---- */

static void test_budget__token_bucket_rejects_bad_limits(void **state)
{
    (void)state;
    assert_int_equal(mg_budget_new_token_bucket(NULL, 10, 0.1), MG_EINVAL);
    static const struct {
        uint32_t max;
        double ratio;
    } bad[] = {{0, 0.1},    {1001, 0.1},   {UINT32_MAX, 1.0}, {10, 0.0},
               {10, -0.1},  {10, -0.0},    {10, 10.001},      {1, 2.0},
               {10, 1e300}, {10, 0.00049}, {10, 1e-300}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mg_budget *b = SENTINEL;
        assert_int_equal(
            mg_budget_new_token_bucket(&b, bad[i].max, bad[i].ratio),
            MG_EINVAL);
        assert_null(b);
    }
    double nonfinite[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
        mg_budget *b = SENTINEL;
        assert_int_equal(mg_budget_new_token_bucket(&b, 10, nonfinite[i]),
                         MG_EINVAL);
        assert_null(b);
    }
}

static void test_budget__token_bucket_accepts_edge_limits(void **state)
{
    (void)state;
    mg_budget_free(bucket(1, 1.0));
    mg_budget_free(bucket(1, 0.001));
    mg_budget_free(bucket(1000, 1000.0));
    mg_budget_free(bucket(1000, 0.0006)); /* rounds up to 0.001 */
}

static void test_budget__token_bucket_refuses_at_exactly_half(void **state)
{
    (void)state;
    mg_budget *b = bucket(10, 0.1);
    /* 10 tokens, each failure takes one: allowed while tokens > 5. */
    for (int tokens = 10; tokens >= 0; tokens--) {
        assert_int_equal(mg_budget_try_retry(b), tokens > 5);
        mg_budget_on_failure(b);
    }
    mg_budget_free(b);

    /* Odd maximum: half is 1.5, so 2 tokens still allow. */
    b = bucket(3, 1.0);
    assert_true(mg_budget_try_retry(b));
    mg_budget_on_failure(b);
    assert_true(mg_budget_try_retry(b));
    mg_budget_on_failure(b);
    assert_false(mg_budget_try_retry(b));
    mg_budget_free(b);
}

static void test_budget__token_bucket_try_retry_only_looks(void **state)
{
    (void)state;
    mg_budget *b = bucket(2, 1.0);
    assert_int_equal(grants(b, 1000), 1000);
    mg_budget_on_request(b); /* ignored by the token bucket */
    mg_budget_on_failure(b); /* 1 token: not above half */
    assert_int_equal(grants(b, 10), 0);
    mg_budget_free(b);
}

static void test_budget__token_bucket_success_refunds_ratio(void **state)
{
    (void)state;
    mg_budget *b = bucket(10, 0.1);
    for (int i = 0; i < 5; i++)
        mg_budget_on_failure(b); /* 5.0 */
    assert_false(mg_budget_try_retry(b));
    mg_budget_on_success(b); /* 5.1 */
    assert_true(mg_budget_try_retry(b));
    mg_budget_on_failure(b); /* 4.1 */
    for (int i = 0; i < 9; i++) {
        assert_false(mg_budget_try_retry(b));
        mg_budget_on_success(b); /* 4.2 .. 5.0 */
    }
    assert_false(mg_budget_try_retry(b)); /* 5.0 exactly: refused */
    mg_budget_on_success(b);              /* 5.1 */
    assert_true(mg_budget_try_retry(b));
    mg_budget_free(b);
}

static void test_budget__token_bucket_clamps_at_zero_and_max(void **state)
{
    (void)state;
    mg_budget *b = bucket(10, 0.1);
    for (int i = 0; i < 1000; i++)
        mg_budget_on_failure(b); /* stays at 0 */
    for (int i = 0; i < 50; i++)
        mg_budget_on_success(b); /* 5.0 */
    assert_false(mg_budget_try_retry(b));
    mg_budget_on_success(b); /* 5.1: the 1000 failures did not go below 0 */
    assert_true(mg_budget_try_retry(b));

    for (int i = 0; i < 100000; i++)
        mg_budget_on_success(b); /* stays at 10 */
    for (int i = 0; i < 4; i++)
        mg_budget_on_failure(b); /* 6 */
    assert_true(mg_budget_try_retry(b));
    mg_budget_on_failure(b); /* 5: the successes did not pass the maximum */
    assert_false(mg_budget_try_retry(b));
    mg_budget_free(b);
}

static void test_budget__token_ratio_rounds_to_thousandths(void **state)
{
    (void)state;
    /* 0.0016 -> 0.002: from 0, 251 successes reach 0.502 > 0.5. */
    mg_budget *b = bucket(1, 0.0016);
    mg_budget_on_failure(b);
    for (int i = 0; i < 250; i++)
        mg_budget_on_success(b);
    assert_false(mg_budget_try_retry(b)); /* 0.500 */
    mg_budget_on_success(b);
    assert_true(mg_budget_try_retry(b)); /* 0.502 */
    mg_budget_free(b);

    /* 0.0014 -> 0.001: 500 successes are exactly half. */
    b = bucket(1, 0.0014);
    mg_budget_on_failure(b);
    for (int i = 0; i < 500; i++)
        mg_budget_on_success(b);
    assert_false(mg_budget_try_retry(b));
    mg_budget_on_success(b);
    assert_true(mg_budget_try_retry(b));
    mg_budget_free(b);
}

static void test_budget__token_bucket_max_ratio_refills_at_once(void **state)
{
    (void)state;
    mg_budget *b = bucket(1000, 1000.0);
    for (int i = 0; i < 2000; i++)
        mg_budget_on_failure(b);
    assert_false(mg_budget_try_retry(b));
    mg_budget_on_success(b);
    for (int i = 0; i < 499; i++)
        mg_budget_on_failure(b); /* 501 */
    assert_true(mg_budget_try_retry(b));
    mg_budget_on_failure(b);
    assert_false(mg_budget_try_retry(b));
    mg_budget_free(b);
}

/* ---- ratio budget: creation ---- */

static void test_budget__ratio_config_init_gives_documented_defaults(void **s)
{
    (void)s;
    mg_budget_ratio_config c;
    memset(&c, 0xff, sizeof c);
    assert_int_equal(mg_budget_ratio_config_init(&c, 1), MG_OK);
    assert_int_equal(c.version, 1);
    assert_int_equal(c.ratio_percent, 20);
    assert_int_equal(c.min_retries_per_sec, 10);
    assert_int_equal(c.window_ms, 10000);
    assert_null(c.clock);
    assert_null(c.clock_data);
    assert_int_equal(mg_budget_ratio_config_init(NULL, 1), MG_EINVAL);
    assert_int_equal(mg_budget_ratio_config_init(&c, 0), MG_EVERSION);
    assert_int_equal(mg_budget_ratio_config_init(&c, 2), MG_EVERSION);
}

static void test_budget__ratio_rejects_bad_config(void **state)
{
    (void)state;
    mg_budget_ratio_config ok = MG_BUDGET_RATIO_CONFIG_INIT;
    mg_budget *b = SENTINEL;
    assert_int_equal(mg_budget_new_ratio(NULL, &ok), MG_EINVAL);
    assert_int_equal(mg_budget_new_ratio(&b, NULL), MG_EINVAL);
    assert_null(b);

    mg_budget_ratio_config c = ok;
    c.version = 0;
    b = SENTINEL;
    assert_int_equal(mg_budget_new_ratio(&b, &c), MG_EVERSION);
    assert_null(b);
    c.version = 2;
    assert_int_equal(mg_budget_new_ratio(&b, &c), MG_EVERSION);

    struct {
        uint32_t percent, min, window;
    } bad[] = {{1001, 10, 10000},    {UINT32_MAX, 10, 10000},
               {20, 1000001, 10000}, {20, UINT32_MAX, 10000},
               {0, 0, 10000},        {20, 10, 0},
               {20, 10, 99},         {20, 10, 3600001},
               {20, 10, UINT32_MAX}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = ok;
        c.ratio_percent = bad[i].percent;
        c.min_retries_per_sec = bad[i].min;
        c.window_ms = bad[i].window;
        b = SENTINEL;
        assert_int_equal(mg_budget_new_ratio(&b, &c), MG_EINVAL);
        assert_null(b);
    }
}

static void test_budget__ratio_accepts_edge_config(void **state)
{
    (void)state;
    struct {
        uint32_t percent, min, window;
    } good[] = {{1000, 0, 100},
                {0, 1, 3600000},
                {1, 1000000, 100},
                {1000, 1000000, 3600000}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        mg_budget_ratio_config c = MG_BUDGET_RATIO_CONFIG_INIT;
        c.ratio_percent = good[i].percent;
        c.min_retries_per_sec = good[i].min;
        c.window_ms = good[i].window;
        mg_budget *b = NULL;
        assert_int_equal(mg_budget_new_ratio(&b, &c), MG_OK);
        assert_non_null(b);
        mg_budget_free(b);
    }
}

static void test_budget__constructors_report_out_of_memory(void **state)
{
    (void)state;
    REQUIRE_INTERPOSER();
    mg_budget *b = SENTINEL;
    atomic_store(&fail_next_malloc, 1);
    assert_int_equal(mg_budget_new_token_bucket(&b, 10, 0.1), MG_ENOMEM);
    assert_null(b);
    mg_budget_ratio_config c = MG_BUDGET_RATIO_CONFIG_INIT;
    b = SENTINEL;
    atomic_store(&fail_next_malloc, 1);
    assert_int_equal(mg_budget_new_ratio(&b, &c), MG_ENOMEM);
    assert_null(b);
    atomic_store(&fail_next_malloc, 0);
    /* and the next attempt works */
    assert_int_equal(mg_budget_new_ratio(&b, &c), MG_OK);
    mg_budget_free(b);
}

/* ---- ratio budget: behaviour in virtual time ---- */

static void test_budget__ratio_grants_exactly_the_percentage(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    vclock_set_ms(&clock, 123456);
    mg_budget *b = ratio_budget(10, 0, 10000, &clock);
    assert_false(mg_budget_try_retry(b)); /* nothing earned yet */
    for (int i = 0; i < 100; i++)
        mg_budget_on_request(b);
    assert_int_equal(grants(b, 50), 10); /* 10 % of 100 */
    for (int i = 0; i < 9; i++)
        mg_budget_on_request(b);
    assert_int_equal(grants(b, 5), 0); /* 10.9 allowed: still 10 */
    mg_budget_on_request(b);
    assert_int_equal(grants(b, 5), 1); /* 11 */
    mg_budget_free(b);

    /* 250 %: each request earns 2.5 retries */
    b = ratio_budget(250, 0, 1000, &clock);
    mg_budget_on_request(b);
    mg_budget_on_request(b);
    assert_int_equal(grants(b, 10), 5);
    mg_budget_free(b);
}

static void
test_budget__ratio_minimum_per_second_lets_quiet_clients_retry(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    /* 10 per second over a 1 s window: 10 retries with no traffic */
    mg_budget *b = ratio_budget(20, 10, 1000, &clock);
    assert_int_equal(grants(b, 20), 10);
    for (int i = 0; i < 5; i++)
        mg_budget_on_request(b); /* + 20 % of 5 = 1 */
    assert_int_equal(grants(b, 5), 1);
    mg_budget_free(b);

    /* 3 per second over 10 s: 30 */
    b = ratio_budget(0, 3, 10000, &clock);
    assert_int_equal(grants(b, 100), 30);
    for (int i = 0; i < 1000; i++)
        mg_budget_on_request(b); /* 0 %: requests earn nothing */
    assert_int_equal(grants(b, 10), 0);
    mg_budget_free(b);
}

static void test_budget__ratio_window_slides_bucket_by_bucket(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    /* 100 %, 10 s window of ten 1 s buckets */
    mg_budget *b = ratio_budget(100, 0, 10000, &clock);
    vclock_set_ms(&clock, 0);
    for (int i = 0; i < 5; i++)
        mg_budget_on_request(b); /* bucket 0 */
    vclock_set_ms(&clock, 5000);
    for (int i = 0; i < 5; i++)
        mg_budget_on_request(b); /* bucket 5 */
    clock.ns = 9999999999u;      /* the last ns of bucket 9 */
    assert_int_equal(grants(b, 20), 10);

    /* bucket 0 leaves: 5 requests left, 10 retries spent */
    vclock_set_ms(&clock, 10000);
    assert_false(mg_budget_try_retry(b));
    for (int i = 0; i < 5; i++)
        mg_budget_on_request(b); /* bucket 10: 10 earned, 10 spent */
    assert_false(mg_budget_try_retry(b));
    mg_budget_on_request(b);
    assert_true(mg_budget_try_retry(b)); /* 11 earned, 11 spent */

    /* bucket 5 leaves at 15 s: 6 earned (bucket 10), 11 spent */
    vclock_set_ms(&clock, 15000);
    assert_false(mg_budget_try_retry(b));
    /* bucket 9's 10 retries leave at 19 s: 6 earned, 1 spent */
    vclock_set_ms(&clock, 19000);
    assert_int_equal(grants(b, 10), 5);
    /* everything has left by 30 s */
    vclock_set_ms(&clock, 30000);
    assert_false(mg_budget_try_retry(b));
    mg_budget_on_request(b);
    assert_int_equal(grants(b, 10), 1);
    mg_budget_free(b);
}

static void
test_budget__ratio_survives_long_silence_and_huge_clocks(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    mg_budget *b = ratio_budget(10, 0, 100, &clock);
    for (int i = 0; i < 10; i++)
        mg_budget_on_request(b);
    assert_int_equal(grants(b, 5), 1);
    /* 2^32 + 1 buckets of 10 ms later the tag is 1 again, one bucket
     * after the old one, but in another slot: not live */
    clock.ns = (UINT64_C(1) << 32) * 10000000u + 10000000u;
    assert_false(mg_budget_try_retry(b));
    clock.ns = UINT64_MAX;
    assert_false(mg_budget_try_retry(b));
    for (int i = 0; i < 20; i++)
        mg_budget_on_request(b);
    assert_int_equal(grants(b, 5), 2);
    mg_budget_free(b);
}

static void test_budget__clock_is_read_only_when_time_matters(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    mg_budget *b = ratio_budget(10, 1, 1000, &clock);
    assert_int_equal(atomic_load(&clock.reads), 0); /* not at creation */
    mg_budget_on_success(b);
    mg_budget_on_failure(b);
    assert_int_equal(atomic_load(&clock.reads), 0);
    mg_budget_on_request(b);
    assert_int_equal(atomic_load(&clock.reads), 1);
    (void)mg_budget_try_retry(b);
    assert_int_equal(atomic_load(&clock.reads), 2);
    mg_budget_free(b);
}

static void test_budget__null_handles_allow_and_do_nothing(void **state)
{
    (void)state;
    assert_true(mg_budget_try_retry(NULL));
    mg_budget_on_request(NULL);
    mg_budget_on_success(NULL);
    mg_budget_on_failure(NULL);
    mg_budget_free(NULL);
    assert_int_equal(mg_budget_set_stats(NULL, NULL), MG_EINVAL);
}

static void test_budget__refusals_are_counted_in_attached_stats(void **state)
{
    (void)state;
    mg_stats *stats = NULL;
    assert_int_equal(mg_stats_new(&stats), MG_OK);
    mg_budget *b = bucket(2, 1.0);
    assert_int_equal(mg_budget_set_stats(b, stats), MG_OK);
    assert_true(mg_budget_try_retry(b)); /* grants are not refusals */
    mg_budget_on_failure(b);
    assert_int_equal(grants(b, 7), 0);
    mg_stats_snapshot snap = MG_STATS_SNAPSHOT_INIT;
    assert_int_equal(mg_stats_get_snapshot(stats, &snap), MG_OK);
    assert_int_equal(snap.budget_refusals, 7);
    assert_int_equal(snap.attempts, 0);
    assert_int_equal(snap.stops[MG_STOP_BUDGET], 0); /* runs count stops */

    assert_int_equal(mg_budget_set_stats(b, NULL), MG_OK); /* detach */
    assert_int_equal(grants(b, 3), 0);
    assert_int_equal(mg_stats_get_snapshot(stats, &snap), MG_OK);
    assert_int_equal(snap.budget_refusals, 7);
    mg_budget_free(b);
    mg_stats_free(stats);
}

/* ---- threads ---- */

#define ITERS 20000

static void pay_and_refund(void *arg, int index)
{
    (void)index;
    mg_budget *b = arg;
    for (int i = 0; i < ITERS; i++) {
        mg_budget_on_failure(b);
        (void)mg_budget_try_retry(b);
        mg_budget_on_success(b);
    }
}

static void pay_only(void *arg, int index)
{
    (void)index;
    for (int i = 0; i < 50; i++)
        mg_budget_on_failure(arg);
}

static void test_budget__token_bucket_threads_lose_no_update(void **state)
{
    (void)state;
    /* Each thread refunds only what it paid, so the bucket never reaches
     * a clamp and ends exactly full. */
    mg_budget *b = bucket(1000, 1.0);
    assert_true(run_threads(pay_and_refund, b));
    for (int i = 0; i < 499; i++)
        mg_budget_on_failure(b);
    assert_true(mg_budget_try_retry(b)); /* 501 */
    mg_budget_on_failure(b);
    assert_false(mg_budget_try_retry(b)); /* 500 */
    mg_budget_free(b);

    /* 8 x 50 failures: exactly 600 left */
    b = bucket(1000, 1.0);
    assert_true(run_threads(pay_only, b));
    for (int i = 0; i < 99; i++)
        mg_budget_on_failure(b);
    assert_true(mg_budget_try_retry(b)); /* 501 */
    mg_budget_on_failure(b);
    assert_false(mg_budget_try_retry(b));
    mg_budget_free(b);
}

struct ratio_run {
    mg_budget *budget;
    atomic_uint granted;
};

static void request_many(void *arg, int index)
{
    (void)index;
    struct ratio_run *r = arg;
    for (int i = 0; i < ITERS; i++)
        mg_budget_on_request(r->budget);
}

static void retry_many(void *arg, int index)
{
    (void)index;
    struct ratio_run *r = arg;
    unsigned n = 0;
    for (int i = 0; i < ITERS / 2; i++)
        n += mg_budget_try_retry(r->budget);
    atomic_fetch_add(&r->granted, n);
}

static void test_budget__ratio_threads_grant_exactly_the_allowance(void **state)
{
    (void)state;
    struct vclock clock = {0, 0};
    vclock_set_ms(&clock, 777);
    mg_stats *stats = NULL;
    assert_int_equal(mg_stats_new(&stats), MG_OK);
    /* 8 x 20000 requests at 10 % plus 5/s over 10 s: 16050 retries, of
     * 8 x 10000 asked for concurrently */
    struct ratio_run r = {ratio_budget(10, 5, 10000, &clock), 0};
    assert_int_equal(mg_budget_set_stats(r.budget, stats), MG_OK);
    assert_true(run_threads(request_many, &r));
    assert_true(run_threads(retry_many, &r));
    assert_int_equal(atomic_load(&r.granted), 16050);
    mg_stats_snapshot snap = MG_STATS_SNAPSHOT_INIT;
    assert_int_equal(mg_stats_get_snapshot(stats, &snap), MG_OK);
    assert_int_equal(snap.budget_refusals, 8 * (ITERS / 2) - 16050);
    assert_false(mg_budget_try_retry(r.budget));
    mg_budget_free(r.budget);
    mg_stats_free(stats);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_budget__token_bucket_rejects_bad_limits),
        cmocka_unit_test(test_budget__token_bucket_accepts_edge_limits),
        cmocka_unit_test(test_budget__token_bucket_refuses_at_exactly_half),
        cmocka_unit_test(test_budget__token_bucket_try_retry_only_looks),
        cmocka_unit_test(test_budget__token_bucket_success_refunds_ratio),
        cmocka_unit_test(test_budget__token_bucket_clamps_at_zero_and_max),
        cmocka_unit_test(test_budget__token_ratio_rounds_to_thousandths),
        cmocka_unit_test(test_budget__token_bucket_max_ratio_refills_at_once),
        cmocka_unit_test(
            test_budget__ratio_config_init_gives_documented_defaults),
        cmocka_unit_test(test_budget__ratio_rejects_bad_config),
        cmocka_unit_test(test_budget__ratio_accepts_edge_config),
        cmocka_unit_test(test_budget__constructors_report_out_of_memory),
        cmocka_unit_test(test_budget__ratio_grants_exactly_the_percentage),
        cmocka_unit_test(
            test_budget__ratio_minimum_per_second_lets_quiet_clients_retry),
        cmocka_unit_test(test_budget__ratio_window_slides_bucket_by_bucket),
        cmocka_unit_test(
            test_budget__ratio_survives_long_silence_and_huge_clocks),
        cmocka_unit_test(test_budget__clock_is_read_only_when_time_matters),
        cmocka_unit_test(test_budget__null_handles_allow_and_do_nothing),
        cmocka_unit_test(test_budget__refusals_are_counted_in_attached_stats),
        cmocka_unit_test(test_budget__token_bucket_threads_lose_no_update),
        cmocka_unit_test(
            test_budget__ratio_threads_grant_exactly_the_allowance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
