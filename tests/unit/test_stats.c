/* SPDX-License-Identifier: MIT */
/*
 * Tests of the statistics (src/stats.c): creation, NULL handles and
 * allocation failure, snapshots and their version, the Prometheus text
 * checked line by line against the format documented in retry.h,
 * prefixes, truncation with MG_ETOOSMALL and *needed at every buffer size,
 * and eight threads whose counts add up exactly. The counters that runs
 * report go through hidden mg__stats_* functions, which only the static
 * build of this test can reach; the shared build checks the counters that
 * budgets and breakers report through the public API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <mg/retry.h>

#include "ov_testutil.h"

#ifdef MG_STATIC
/* From src/mg_internal.h (hidden, so reachable from a static link only). */
void mg__stats_on_call(mg_stats *stats);
void mg__stats_on_attempt(mg_stats *stats);
void mg__stats_on_retry(mg_stats *stats, uint64_t delay_ms);
void mg__stats_on_stop(mg_stats *stats, int stop);
#endif

static mg_stats *new_stats(void)
{
    mg_stats *s = NULL;
    assert_int_equal(mg_stats_new(&s), MG_OK);
    assert_non_null(s);
    return s;
}

static mg_stats_snapshot snap(const mg_stats *s)
{
    mg_stats_snapshot out = MG_STATS_SNAPSHOT_INIT;
    assert_int_equal(mg_stats_get_snapshot(s, &out), MG_OK);
    return out;
}

/* Public ways to move the budget and breaker counters: `refusals` budget
 * refusals; `rounds` breaker rounds of open (2 refusals), half-open,
 * closed. */
static void drive_public(mg_stats *stats, unsigned refusals, unsigned rounds)
{
    mg_budget *budget = NULL;
    assert_int_equal(mg_budget_new_token_bucket(&budget, 1, 1.0), MG_OK);
    assert_int_equal(mg_budget_set_stats(budget, stats), MG_OK);
    mg_budget_on_failure(budget);
    for (unsigned i = 0; i < refusals; i++)
        assert_false(mg_budget_try_retry(budget));
    mg_budget_free(budget);

    struct vclock clock = {0, 0};
    mg_breaker_config c = MG_BREAKER_CONFIG_INIT;
    c.consecutive_failures = 1;
    c.failure_rate_percent = 0;
    c.open_ms = 1;
    c.clock = vclock_read;
    c.clock_data = &clock;
    mg_breaker *b = NULL;
    assert_int_equal(mg_breaker_new(&b, &c), MG_OK);
    assert_int_equal(mg_breaker_set_stats(b, stats), MG_OK);
    for (unsigned i = 0; i < rounds; i++) {
        assert_true(mg_breaker_allow(b));
        mg_breaker_on_failure(b);
        assert_false(mg_breaker_allow(b));
        assert_false(mg_breaker_allow(b));
        vclock_set_ms(&clock, i + 1u);
        assert_true(mg_breaker_allow(b));
        mg_breaker_on_success(b);
    }
    mg_breaker_free(b);
}

/* ---- lifetime, snapshot ---- */

static void test_stats__new_starts_at_zero_and_null_is_handled(void **state)
{
    (void)state;
    assert_int_equal(mg_stats_new(NULL), MG_EINVAL);
    mg_stats *s = new_stats();
    mg_stats_snapshot z;
    memset(&z, 0xa5, sizeof z);
    z.version = MG_STATS_SNAPSHOT_VERSION;
    assert_int_equal(mg_stats_get_snapshot(s, &z), MG_OK);
    mg_stats_snapshot zero;
    memset(&zero, 0, sizeof zero);
    zero.version = MG_STATS_SNAPSHOT_VERSION;
    assert_memory_equal(&z, &zero, sizeof z);
    mg_stats_free(s);
    mg_stats_free(NULL);
}

static void test_stats__snapshot_checks_arguments_and_version(void **state)
{
    (void)state;
    mg_stats *s = new_stats();
    mg_stats_snapshot out = MG_STATS_SNAPSHOT_INIT;
    assert_int_equal(mg_stats_get_snapshot(NULL, &out), MG_EINVAL);
    assert_int_equal(mg_stats_get_snapshot(s, NULL), MG_EINVAL);
    out.version = 0;
    assert_int_equal(mg_stats_get_snapshot(s, &out), MG_EVERSION);
    out.version = 2;
    assert_int_equal(mg_stats_get_snapshot(s, &out), MG_EVERSION);
    mg_stats_free(s);
}

static void test_stats__new_reports_out_of_memory(void **state)
{
    (void)state;
    REQUIRE_INTERPOSER();
    mg_stats *s = (mg_stats *)(uintptr_t)1;
    atomic_store(&fail_next_malloc, 1);
    assert_int_equal(mg_stats_new(&s), MG_ENOMEM);
    assert_null(s);
    atomic_store(&fail_next_malloc, 0);
}

static void test_stats__budget_and_breaker_events_are_counted(void **state)
{
    (void)state;
    mg_stats *s = new_stats();
    drive_public(s, 5, 3);
    mg_stats_snapshot v = snap(s);
    assert_int_equal(v.budget_refusals, 5);
    assert_int_equal(v.breaker_opened, 3);
    assert_int_equal(v.breaker_half_opened, 3);
    assert_int_equal(v.breaker_closed, 3);
    assert_int_equal(v.breaker_refusals, 6);
    assert_int_equal(v.calls + v.attempts + v.retries + v.successes, 0);
    mg_stats_free(s);
}

#ifdef MG_STATIC
static void test_stats__run_events_are_counted(void **state)
{
    (void)state;
    mg_stats *s = new_stats();
    mg__stats_on_call(s);
    mg__stats_on_call(s);
    for (int i = 0; i < 5; i++)
        mg__stats_on_attempt(s);
    mg__stats_on_retry(s, 100);
    mg__stats_on_retry(s, 0);
    mg__stats_on_retry(s, 250);
    for (int stop = 0; stop < MG_STATS_STOP_SLOTS; stop++)
        for (int k = 0; k <= stop; k++)
            mg__stats_on_stop(s, stop);
    /* out of range: ignored */
    mg__stats_on_stop(s, -1);
    mg__stats_on_stop(s, MG_STATS_STOP_SLOTS);
    mg__stats_on_stop(s, INT_MAX);
    mg__stats_on_stop(s, INT_MIN);
    /* NULL: ignored */
    mg__stats_on_call(NULL);
    mg__stats_on_attempt(NULL);
    mg__stats_on_retry(NULL, 5);
    mg__stats_on_stop(NULL, 0);

    mg_stats_snapshot v = snap(s);
    assert_int_equal(v.calls, 2);
    assert_int_equal(v.attempts, 5);
    assert_int_equal(v.retries, 3);
    assert_int_equal(v.slept_ms, 350);
    assert_int_equal(v.successes, 1); /* MG_STOP_SUCCESS once */
    for (int stop = 0; stop < MG_STATS_STOP_SLOTS; stop++)
        assert_int_equal(v.stops[stop], stop + 1);
    assert_int_equal(v.stops[MG_STOP_BUDGET], 7);
    assert_int_equal(v.stops[MG_STOP_BREAKER], 8);
    mg_stats_free(s);
}

static void test_stats__slept_ms_saturates(void **state)
{
    (void)state;
    mg_stats *s = new_stats();
    mg__stats_on_retry(s, UINT64_MAX - 1);
    assert_int_equal(snap(s).slept_ms, UINT64_MAX - 1);
    mg__stats_on_retry(s, 1);
    assert_int_equal(snap(s).slept_ms, UINT64_MAX);
    mg__stats_on_retry(s, UINT64_MAX);
    mg__stats_on_retry(s, 7);
    mg_stats_snapshot v = snap(s);
    assert_int_equal(v.slept_ms, UINT64_MAX);
    assert_int_equal(v.retries, 4);
    mg_stats_free(s);
}
#endif

/* ---- Prometheus ---- */

/* Splits text into lines (every line must end in '\n'). */
static size_t split_lines(char *text, char **lines, size_t max)
{
    size_t n = 0;
    char *p = text;
    while (*p != '\0') {
        char *nl = strchr(p, '\n');
        assert_non_null(nl); /* no unterminated last line */
        *nl = '\0';
        assert_true(n < max);
        lines[n++] = p;
        p = nl + 1;
    }
    return n;
}

struct cursor {
    char **lines;
    size_t n, i;
};

static const char *next_line(struct cursor *c)
{
    assert_true(c->i < c->n);
    return c->lines[c->i++];
}

/* "# HELP <name> <some text>" then "# TYPE <name> counter". */
static void expect_header(struct cursor *c, const char *name)
{
    char want[256];
    const char *line = next_line(c);
    snprintf(want, sizeof want, "# HELP %s ", name);
    assert_true(strncmp(line, want, strlen(want)) == 0);
    assert_true(strlen(line) > strlen(want)); /* the help text */
    snprintf(want, sizeof want, "# TYPE %s counter", name);
    assert_string_equal(next_line(c), want);
}

static void expect_sample(struct cursor *c, const char *name,
                          const char *labels, const char *value)
{
    char want[256];
    snprintf(want, sizeof want, "%s%s %s", name, labels, value);
    assert_string_equal(next_line(c), want);
}

static void expect_counter(struct cursor *c, const char *prefix,
                           const char *metric, uint64_t value)
{
    char name[128], num[32];
    snprintf(name, sizeof name, "%s_%s_total", prefix, metric);
    snprintf(num, sizeof num, "%llu", (unsigned long long)value);
    expect_header(c, name);
    expect_sample(c, name, "", num);
}

/* Checks `text` against the format documented in retry.h for the values
 * in `v`. */
static void expect_exposition(const char *text, const char *prefix,
                              const mg_stats_snapshot *v)
{
    char *copy = strdup(text);
    assert_non_null(copy);
    char *lines[128];
    struct cursor c = {lines, split_lines(copy, lines, 128), 0};
    char name[128], num[48], labels[64];

    expect_counter(&c, prefix, "calls", v->calls);
    expect_counter(&c, prefix, "attempts", v->attempts);
    expect_counter(&c, prefix, "retries", v->retries);
    expect_counter(&c, prefix, "successes", v->successes);

    static const char *const reasons[MG_STATS_STOP_SLOTS] = {
        "success",   "exhausted", "not_retryable", "deadline",
        "cancelled", "pushback",  "budget",        "breaker"};
    snprintf(name, sizeof name, "%s_stops_total", prefix);
    expect_header(&c, name);
    for (int i = 0; i < MG_STATS_STOP_SLOTS; i++) {
        snprintf(labels, sizeof labels, "{reason=\"%s\"}", reasons[i]);
        snprintf(num, sizeof num, "%llu", (unsigned long long)v->stops[i]);
        expect_sample(&c, name, labels, num);
    }

    snprintf(name, sizeof name, "%s_slept_seconds_total", prefix);
    expect_header(&c, name);
    snprintf(num, sizeof num, "%llu.%03u",
             (unsigned long long)(v->slept_ms / 1000),
             (unsigned)(v->slept_ms % 1000));
    expect_sample(&c, name, "", num);

    expect_counter(&c, prefix, "budget_refusals", v->budget_refusals);

    snprintf(name, sizeof name, "%s_breaker_transitions_total", prefix);
    expect_header(&c, name);
    const struct {
        const char *state;
        uint64_t count;
    } tr[] = {{"open", v->breaker_opened},
              {"half_open", v->breaker_half_opened},
              {"closed", v->breaker_closed}};
    for (int i = 0; i < 3; i++) {
        snprintf(labels, sizeof labels, "{state=\"%s\"}", tr[i].state);
        snprintf(num, sizeof num, "%llu", (unsigned long long)tr[i].count);
        expect_sample(&c, name, labels, num);
    }

    expect_counter(&c, prefix, "breaker_refusals", v->breaker_refusals);
    assert_int_equal(c.i, c.n); /* nothing more */
    free(copy);
}

static void test_stats__prometheus_lines_match_the_counters(void **state)
{
    (void)state;
    mg_stats *s = new_stats();
    drive_public(s, 4, 2);
#ifdef MG_STATIC
    for (int i = 0; i < 3; i++)
        mg__stats_on_call(s);
    for (int i = 0; i < 7; i++)
        mg__stats_on_attempt(s);
    mg__stats_on_retry(s, 1250);
    mg__stats_on_retry(s, 5);
    mg__stats_on_stop(s, MG_STOP_SUCCESS);
    mg__stats_on_stop(s, MG_STOP_BUDGET);
    mg__stats_on_stop(s, MG_STOP_BREAKER);
#endif
    mg_stats_snapshot v = snap(s);
    char buf[4096];
    size_t needed = 0;
    assert_int_equal(
        mg_stats_format_prometheus(s, NULL, buf, sizeof buf, &needed), MG_OK);
    assert_int_equal(needed, strlen(buf));
    expect_exposition(buf, "mgretry", &v);
#ifdef MG_STATIC
    assert_non_null(strstr(buf, "\nmgretry_slept_seconds_total 1.255\n"));
    assert_non_null(strstr(buf, "\nmgretry_calls_total 3\n"));
#endif
    assert_non_null(strstr(buf, "\nmgretry_budget_refusals_total 4\n"));
    assert_non_null(
        strstr(buf, "\nmgretry_breaker_transitions_total{state=\"open\"} 2\n"));

    /* a fresh object: all zero, slept as 0.000 */
    mg_stats *z = new_stats();
    assert_int_equal(
        mg_stats_format_prometheus(z, "app", buf, sizeof buf, NULL), MG_OK);
    mg_stats_snapshot zv = snap(z);
    expect_exposition(buf, "app", &zv);
    assert_non_null(strstr(buf, "\napp_slept_seconds_total 0.000\n"));
    mg_stats_free(z);
    mg_stats_free(s);
}

#ifdef MG_STATIC
static void test_stats__prometheus_writes_extreme_values_exactly(void **state)
{
    (void)state;
    mg_stats *s = new_stats();
    mg__stats_on_retry(s, UINT64_MAX);
    mg__stats_on_retry(s, 0);
    char buf[4096];
    assert_int_equal(mg_stats_format_prometheus(s, NULL, buf, sizeof buf, NULL),
                     MG_OK);
    assert_non_null(
        strstr(buf, "\nmgretry_slept_seconds_total 18446744073709551.615\n"));
    mg_stats_snapshot v = snap(s);
    expect_exposition(buf, "mgretry", &v);
    mg_stats_free(s);

    s = new_stats();
    mg__stats_on_retry(s, 7);
    assert_int_equal(mg_stats_format_prometheus(s, NULL, buf, sizeof buf, NULL),
                     MG_OK);
    assert_non_null(strstr(buf, "\nmgretry_slept_seconds_total 0.007\n"));
    mg_stats_free(s);
}
#endif

static void test_stats__prometheus_prefix_is_validated(void **state)
{
    (void)state;
    mg_stats *s = new_stats();
    char buf[4096];
    static const char *const good[] = {"a",
                                       "_",
                                       ":",
                                       "my_app:retry",
                                       "A9_",
                                       ("x1234567890123456789012345678901"
                                        "23456789012345678901234567890")};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(
            mg_stats_format_prometheus(s, good[i], buf, sizeof buf, NULL),
            MG_OK);
        mg_stats_snapshot v = snap(s);
        expect_exposition(buf, good[i], &v);
    }
    char p64[65], p65[66];
    memset(p64, 'p', 64);
    p64[64] = '\0';
    memset(p65, 'p', 65);
    p65[65] = '\0';
    assert_int_equal(mg_stats_format_prometheus(s, p64, buf, sizeof buf, NULL),
                     MG_OK);
    static const char *const bad[] = {"",  "9abc", "a-b", "a b", "a.b",
                                      "é", "a\n",  "a{",  "a\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(
            mg_stats_format_prometheus(s, bad[i], buf, sizeof buf, NULL),
            MG_EINVAL);
    assert_int_equal(mg_stats_format_prometheus(s, p65, buf, sizeof buf, NULL),
                     MG_EINVAL);
    mg_stats_free(s);
}

static void test_stats__prometheus_rejects_null_arguments(void **state)
{
    (void)state;
    mg_stats *s = new_stats();
    char buf[16];
    size_t needed = 12345;
    assert_int_equal(
        mg_stats_format_prometheus(NULL, NULL, buf, sizeof buf, &needed),
        MG_EINVAL);
    assert_int_equal(mg_stats_format_prometheus(s, NULL, NULL, 1, &needed),
                     MG_EINVAL);
    /* a size query: no buffer at all */
    assert_int_equal(mg_stats_format_prometheus(s, NULL, NULL, 0, &needed),
                     MG_ETOOSMALL);
    assert_true(needed > 0 && needed != 12345);
    mg_stats_free(s);
}

static void
test_stats__prometheus_truncates_with_etoosmall_at_every_size(void **state)
{
    (void)state;
    mg_stats *s = new_stats();
    drive_public(s, 12, 5);
    char full[4096];
    size_t len = 0;
    assert_int_equal(
        mg_stats_format_prometheus(s, "t", full, sizeof full, &len), MG_OK);
    assert_int_equal(len, strlen(full));

    size_t needed = 0;
    assert_int_equal(mg_stats_format_prometheus(s, "t", NULL, 0, &needed),
                     MG_ETOOSMALL);
    assert_int_equal(needed, len);

    char *buf = malloc(len + 2);
    assert_non_null(buf);
    for (size_t size = 1; size <= len; size++) {
        memset(buf, '#', len + 2);
        needed = 0;
        assert_int_equal(mg_stats_format_prometheus(s, "t", buf, size, &needed),
                         MG_ETOOSMALL);
        assert_int_equal(needed, len);
        assert_int_equal(buf[size - 1], '\0');    /* NUL-terminated */
        assert_memory_equal(buf, full, size - 1); /* a prefix of the text */
        assert_int_equal(buf[size], '#');         /* nothing past size */
    }
    /* needed + 1 bytes are enough */
    assert_int_equal(mg_stats_format_prometheus(s, "t", buf, len + 1, &needed),
                     MG_OK);
    assert_string_equal(buf, full);
    free(buf);
    mg_stats_free(s);
}

/* ---- what runs report (the public path, both builds) ---- */

struct vtime {
    uint64_t ns;
};

static uint64_t vt_clock(void *data)
{
    return ((struct vtime *)data)->ns;
}

static void vt_sleep(uint64_t wake_ns, const mg_cancel *cancel, void *data)
{
    (void)cancel;
    struct vtime *t = data;
    if (wake_ns > t->ns)
        t->ns = wake_ns;
}

struct flaky {
    int failures_left; /* < 0: fail forever */
    int calls;
};

static int flaky_op(void *data, void **error)
{
    struct flaky *f = data;
    f->calls++;
    *error = NULL;
    if (f->failures_left == 0)
        return 0;
    if (f->failures_left > 0)
        f->failures_left--;
    return -1;
}

static bool never_retryable(const void *error, void *data)
{
    (void)error;
    (void)data;
    return false;
}

/* 3 retries, 10 ms doubling, no jitter: waits 10, 20, 40. */
static mg_policy run_policy(void)
{
    mg_policy p = MG_POLICY_INIT;
    assert_int_equal(mg_policy_make(&p, 3, 10, 1000, MG_JITTER_NONE), MG_OK);
    return p;
}

static int run_once(const mg_policy *p, mg_retry_options *o, int failures)
{
    struct flaky f = {failures, 0};
    return mg_retry_run(p, flaky_op, &f, o, NULL);
}

static void
test_stats__runs_count_calls_attempts_retries_and_stops(void **state)
{
    (void)state;
    mg_stats *s = new_stats();
    struct vtime t = {0};
    mg_policy p = run_policy();
    mg_retry_options o = MG_RETRY_OPTIONS_INIT;
    o.clock = vt_clock;
    o.clock_data = &t;
    o.sleep = vt_sleep;
    o.sleep_data = &t;
    o.stats = s;

    assert_int_equal(run_once(&p, &o, 0), MG_STOP_SUCCESS);    /* 1 attempt */
    assert_int_equal(run_once(&p, &o, 2), MG_STOP_SUCCESS);    /* 3, 10+20 */
    assert_int_equal(run_once(&p, &o, -1), MG_STOP_EXHAUSTED); /* 4, 70 */
    o.is_retryable = never_retryable;
    assert_int_equal(run_once(&p, &o, -1), MG_STOP_NOT_RETRYABLE); /* 1 */
    o.is_retryable = NULL;

    /* a budget that refuses the first retry: 1 attempt, no wait */
    mg_budget *budget = NULL;
    assert_int_equal(mg_budget_new_token_bucket(&budget, 2, 1.0), MG_OK);
    assert_int_equal(mg_budget_set_stats(budget, s), MG_OK);
    o.budget = budget;
    assert_int_equal(run_once(&p, &o, -1), MG_STOP_BUDGET);
    o.budget = NULL;

    /* a breaker that opens on the first failure: that run's retry is
     * refused after its 10 ms wait, the next run before any attempt */
    mg_breaker_config bc = MG_BREAKER_CONFIG_INIT;
    bc.consecutive_failures = 1;
    bc.failure_rate_percent = 0;
    bc.clock = vt_clock;
    bc.clock_data = &t;
    mg_breaker *breaker = NULL;
    assert_int_equal(mg_breaker_new(&breaker, &bc), MG_OK);
    assert_int_equal(mg_breaker_set_stats(breaker, s), MG_OK);
    o.breaker = breaker;
    assert_int_equal(run_once(&p, &o, -1), MG_STOP_BREAKER); /* 1, 10 */
    assert_int_equal(run_once(&p, &o, 0), MG_STOP_BREAKER);  /* 0 */

    mg_stats_snapshot v = snap(s);
    assert_int_equal(v.calls, 7);
    assert_int_equal(v.attempts, 1 + 3 + 4 + 1 + 1 + 1 + 0);
    assert_int_equal(v.retries, 2 + 3 + 1);
    assert_int_equal(v.slept_ms, 30 + 70 + 10);
    assert_int_equal(v.successes, 2);
    assert_int_equal(v.stops[MG_STOP_SUCCESS], 2);
    assert_int_equal(v.stops[MG_STOP_EXHAUSTED], 1);
    assert_int_equal(v.stops[MG_STOP_NOT_RETRYABLE], 1);
    assert_int_equal(v.stops[MG_STOP_DEADLINE], 0);
    assert_int_equal(v.stops[MG_STOP_CANCELLED], 0);
    assert_int_equal(v.stops[MG_STOP_PUSHBACK], 0);
    assert_int_equal(v.stops[MG_STOP_BUDGET], 1);
    assert_int_equal(v.stops[MG_STOP_BREAKER], 2);
    assert_int_equal(v.budget_refusals, 1);
    assert_int_equal(v.breaker_opened, 1);
    assert_int_equal(v.breaker_refusals, 2);

    char buf[4096];
    assert_int_equal(mg_stats_format_prometheus(s, NULL, buf, sizeof buf, NULL),
                     MG_OK);
    expect_exposition(buf, "mgretry", &v);
    assert_non_null(strstr(buf, "\nmgretry_slept_seconds_total 0.110\n"));
    assert_non_null(
        strstr(buf, "\nmgretry_stops_total{reason=\"breaker\"} 2\n"));
    mg_breaker_free(breaker);
    mg_budget_free(budget);
    mg_stats_free(s);
}

#define RUNS 500

struct shared_run {
    mg_stats *stats;
    mg_budget *budget;
    mg_breaker *breaker;
};

static void runs_thread(void *arg, int index)
{
    (void)index;
    struct shared_run *r = arg;
    struct vtime t = {0};
    mg_policy p = run_policy();
    mg_retry_options o = MG_RETRY_OPTIONS_INIT;
    o.clock = vt_clock;
    o.clock_data = &t;
    o.sleep = vt_sleep;
    o.sleep_data = &t;
    o.stats = r->stats;
    o.budget = r->budget;
    o.breaker = r->breaker;
    for (int i = 0; i < RUNS; i++) {
        int stop = run_once(&p, &o, 2);
        if (stop != MG_STOP_SUCCESS)
            fail_msg("run %d did not succeed: %s", i, mg_retry_stop_str(stop));
    }
}

static void test_stats__threads_running_retries_add_up_exactly(void **state)
{
    (void)state;
    /* 8 threads share the stats, a ratio budget that earns 10 retries
     * per request (each run needs 2: never refused) and a breaker that
     * never sees 1000000 failures in a row */
    struct shared_run r = {new_stats(), NULL, NULL};
    /* A frozen clock for the shared objects: on a loaded machine (TSan,
     * 8 threads on 2 cores) the runs span several real buckets of the
     * budget's window, and what is counted here is the sum of events,
     * not the window's timing (tested in test_budget.c). */
    static struct vclock frozen;
    mg_budget_ratio_config rc = MG_BUDGET_RATIO_CONFIG_INIT;
    rc.ratio_percent = 1000;
    rc.clock = vclock_read;
    rc.clock_data = &frozen;
    assert_int_equal(mg_budget_new_ratio(&r.budget, &rc), MG_OK);
    mg_breaker_config bc = MG_BREAKER_CONFIG_INIT;
    bc.consecutive_failures = 1000000;
    bc.failure_rate_percent = 0;
    bc.clock = vclock_read;
    bc.clock_data = &frozen;
    assert_int_equal(mg_breaker_new(&r.breaker, &bc), MG_OK);
    assert_true(run_threads(runs_thread, &r));
    mg_stats_snapshot v = snap(r.stats);
    assert_int_equal(v.calls, 8 * RUNS);
    assert_int_equal(v.attempts, 3 * 8 * RUNS);
    assert_int_equal(v.retries, 2 * 8 * RUNS);
    assert_int_equal(v.successes, 8 * RUNS);
    assert_int_equal(v.stops[MG_STOP_SUCCESS], 8 * RUNS);
    assert_int_equal(v.slept_ms, 30 * 8 * RUNS);
    assert_int_equal(v.budget_refusals + v.breaker_refusals, 0);
    mg_breaker_free(r.breaker);
    mg_budget_free(r.budget);
    mg_stats_free(r.stats);
}

/* ---- threads ---- */

#define ITERS 20000

static void public_events(void *arg, int index)
{
    (void)index;
    /* each thread: 100 budget refusals, 50 breaker rounds */
    drive_public(arg, 100, 50);
}

#ifdef MG_STATIC
static void run_events(void *arg, int index)
{
    mg_stats *s = arg;
    for (int i = 0; i < ITERS; i++) {
        mg__stats_on_call(s);
        mg__stats_on_attempt(s);
        mg__stats_on_attempt(s);
        mg__stats_on_retry(s, (uint64_t)index + 1u);
        mg__stats_on_stop(s, i % MG_STATS_STOP_SLOTS);
    }
}
#endif

static void test_stats__threads_counts_add_up_exactly(void **state)
{
    (void)state;
    mg_stats *s = new_stats();
    assert_true(run_threads(public_events, s));
    mg_stats_snapshot v = snap(s);
    assert_int_equal(v.budget_refusals, 8 * 100);
    assert_int_equal(v.breaker_opened, 8 * 50);
    assert_int_equal(v.breaker_half_opened, 8 * 50);
    assert_int_equal(v.breaker_closed, 8 * 50);
    assert_int_equal(v.breaker_refusals, 8 * 100);
#ifdef MG_STATIC
    assert_true(run_threads(run_events, s));
    v = snap(s);
    assert_int_equal(v.calls, 8 * ITERS);
    assert_int_equal(v.attempts, 2 * 8 * ITERS);
    assert_int_equal(v.retries, 8 * ITERS);
    assert_int_equal(v.slept_ms,
                     (uint64_t)ITERS * (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8));
    for (int i = 0; i < MG_STATS_STOP_SLOTS; i++)
        assert_int_equal(v.stops[i], 8 * ITERS / MG_STATS_STOP_SLOTS);
    assert_int_equal(v.successes, 8 * ITERS / MG_STATS_STOP_SLOTS);
#endif
    mg_stats_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats__new_starts_at_zero_and_null_is_handled),
        cmocka_unit_test(test_stats__snapshot_checks_arguments_and_version),
        cmocka_unit_test(test_stats__new_reports_out_of_memory),
        cmocka_unit_test(test_stats__budget_and_breaker_events_are_counted),
#ifdef MG_STATIC
        cmocka_unit_test(test_stats__run_events_are_counted),
        cmocka_unit_test(test_stats__slept_ms_saturates),
        cmocka_unit_test(test_stats__prometheus_writes_extreme_values_exactly),
#endif
        cmocka_unit_test(test_stats__prometheus_lines_match_the_counters),
        cmocka_unit_test(test_stats__prometheus_prefix_is_validated),
        cmocka_unit_test(test_stats__prometheus_rejects_null_arguments),
        cmocka_unit_test(
            test_stats__prometheus_truncates_with_etoosmall_at_every_size),
        cmocka_unit_test(test_stats__threads_counts_add_up_exactly),
        cmocka_unit_test(
            test_stats__runs_count_calls_attempts_retries_and_stops),
        cmocka_unit_test(test_stats__threads_running_retries_add_up_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
