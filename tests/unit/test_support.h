/* SPDX-License-Identifier: MIT */
/*
 * What several unit tests share and would otherwise each write again: a
 * virtual clock and sleep that record every wait (so retry tests run in
 * virtual time), a counted, seeded random source, options that wire them
 * in, and helpers that compare and poison mg_policy values. Include after
 * <cmocka.h> and <mg/retry.h>. Every function is static and may go unused.
 */
#ifndef MG_TEST_SUPPORT_H
#define MG_TEST_SUPPORT_H

#include <stdint.h>
#include <string.h>

#ifndef NS_PER_MS
#define NS_PER_MS UINT64_C(1000000)
#endif
#define MAX_SLEEPS 64

#if defined(__GNUC__)
#define MG_TEST_MAYBE_UNUSED __attribute__((unused))
#else
#define MG_TEST_MAYBE_UNUSED
#endif

struct vtime {
    uint64_t now_ns;
    unsigned clock_calls;
    unsigned sleep_calls;
    uint64_t wake[MAX_SLEEPS]; /* wake time of each sleep */
    uint64_t from[MAX_SLEEPS]; /* virtual time when it was called */
    const mg_cancel *cancel_seen;
    mg_cancel *trigger_in_sleep; /* trigger this flag inside a sleep */
};

MG_TEST_MAYBE_UNUSED static uint64_t vclock(void *user_data)
{
    struct vtime *vt = user_data;

    vt->clock_calls++;
    return vt->now_ns;
}

MG_TEST_MAYBE_UNUSED static void vsleep(uint64_t wake_ns, const mg_cancel *cancel, void *user_data)
{
    struct vtime *vt = user_data;

    if (vt->sleep_calls < MAX_SLEEPS) {
        vt->wake[vt->sleep_calls] = wake_ns;
        vt->from[vt->sleep_calls] = vt->now_ns;
    }
    vt->sleep_calls++;
    vt->cancel_seen = cancel;
    if (wake_ns > vt->now_ns)
        vt->now_ns = wake_ns;
    if (vt->trigger_in_sleep != NULL)
        mg_cancel_trigger(vt->trigger_in_sleep);
}

/* How long sleep i lasted in virtual milliseconds. */
MG_TEST_MAYBE_UNUSED static uint64_t slept_ms(const struct vtime *vt, unsigned i)
{
    return (vt->wake[i] - vt->from[i]) / NS_PER_MS;
}

struct vrandom {
    uint64_t state;
    unsigned calls;
};

MG_TEST_MAYBE_UNUSED static uint64_t vrandom(void *user_data)
{
    struct vrandom *r = user_data;

    r->calls++;
    return mg_random_splitmix64(&r->state);
}

MG_TEST_MAYBE_UNUSED static mg_retry_options virtual_options(struct vtime *vt, struct vrandom *r)
{
    mg_retry_options o = MG_RETRY_OPTIONS_INIT;

    o.clock = vclock;
    o.clock_data = vt;
    o.sleep = vsleep;
    o.sleep_data = vt;
    o.random = vrandom;
    o.random_data = r;
    return o;
}

MG_TEST_MAYBE_UNUSED static mg_policy make_policy(uint32_t retries, uint64_t base, uint64_t max,
                             uint32_t jitter)
{
    mg_policy p = MG_POLICY_INIT;

    p.max_retries = retries;
    p.base_delay_ms = base;
    p.max_delay_ms = max;
    p.jitter = jitter;
    return p;
}

/* A byte pattern no function of the library writes, to detect writes. */
MG_TEST_MAYBE_UNUSED static void poison(mg_policy *p)
{
    memset(p, 0xA5, sizeof *p);
}

MG_TEST_MAYBE_UNUSED static int is_poisoned(const mg_policy *p)
{
    const unsigned char *b = (const unsigned char *)p;
    size_t i;

    for (i = 0; i < sizeof *p; i++)
        if (b[i] != 0xA5)
            return 0;
    return 1;
}

MG_TEST_MAYBE_UNUSED static void assert_policy_equal(const mg_policy *a, const mg_policy *b)
{
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->max_retries, b->max_retries);
    assert_int_equal(a->base_delay_ms, b->base_delay_ms);
    assert_int_equal(a->max_delay_ms, b->max_delay_ms);
    assert_int_equal(a->jitter, b->jitter);
    assert_int_equal(a->reserved, b->reserved);
    assert_memory_equal(&a->multiplier, &b->multiplier, sizeof(double));
    assert_int_equal(a->max_elapsed_ms, b->max_elapsed_ms);
    assert_int_equal(a->max_pushback_ms, b->max_pushback_ms);
}

#endif /* MG_TEST_SUPPORT_H */
