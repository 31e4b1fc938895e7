/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/backoff.c: the nominal delay against independent
 * references (saturating integer loops, long double), its saturation at
 * the edges (attempt 0, 1, 63, 64, 1024, UINT32_MAX; base and max of 0, 1,
 * UINT64_MAX/2, UINT64_MAX; multipliers 1, 1.5, 2, 3, 1e300), monotonicity,
 * the exact interval of every jitter mode (pinned with constant random
 * bits), bounds and spread over many seeded draws, the number of random
 * calls per delay, and the two random sources.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h> /* NAN only: the tests link no libm */
#include <stdbool.h>
#include <string.h>

#include <mg/retry.h>

#define NDRAWS 10000

__extension__ typedef unsigned __int128 u128;

static const uint32_t edge_k[] = {0, 1, 2, 63, 64, 65, 1024, UINT32_MAX};
static const double edge_mult[] = {1.0, 1.5, 2.0, 3.0, 1e300};
static const uint64_t edge_delay[] = {0, 1, UINT64_MAX / 2, UINT64_MAX};
static const uint32_t all_modes[] = {
    MG_JITTER_NONE, MG_JITTER_PROPORTIONAL, MG_JITTER_FULL, MG_JITTER_EQUAL,
    MG_JITTER_DECORRELATED};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static mg_policy make_policy(uint64_t base, uint64_t max, double mult,
                             uint32_t jitter)
{
    mg_policy p = MG_POLICY_INIT;

    p.base_delay_ms = base;
    p.max_delay_ms = max;
    p.multiplier = mult;
    p.jitter = jitter;
    return p;
}

/* ---- random sources for the tests ---- */

/* Returns *(uint64_t *)user_data every time: pins a draw to an end. */
static uint64_t const_source(void *user_data)
{
    return *(const uint64_t *)user_data;
}

struct counting {
    uint64_t state;
    unsigned calls;
};

static uint64_t counting_source(void *user_data)
{
    struct counting *c = user_data;

    c->calls++;
    return mg_random_splitmix64(&c->state);
}

static uint64_t nominal_of(const mg_policy *p, uint32_t k)
{
    uint64_t d = UINT64_MAX - 12345;

    assert_int_equal(mg_backoff_nominal(p, k, &d), MG_OK);
    return d;
}

static uint64_t delay_of(const mg_policy *p, uint32_t k, uint64_t prev,
                         mg_random_fn rnd, void *rnd_data)
{
    uint64_t d = UINT64_MAX - 12345;

    assert_int_equal(mg_backoff_delay(p, k, prev, rnd, rnd_data, &d), MG_OK);
    return d;
}

/* ---- independent references ---- */

/* min(base * m^k, max) for an integer m >= 2, by a saturating loop: at
 * most 64 steps before it reaches max, whatever k is. */
static uint64_t ref_nominal_int(uint64_t base, uint64_t max, uint64_t m,
                                uint32_t k)
{
    uint64_t v = base;
    uint32_t i;

    if (base == 0)
        return 0;
    for (i = 0; i < k; i++) {
        if (v > max / m)
            return max;
        v *= m;
    }
    return v;
}

/* |got - ref| <= ref * rel + 1, without libm. */
static bool close_to(uint64_t got, long double ref, long double rel)
{
    long double diff = (long double)got - ref;

    if (diff < 0)
        diff = -diff;
    return diff <= ref * rel + 1.0L;
}

/* The interval [lo, hi] of a jittered delay, from the header's words. */
struct range {
    uint64_t lo, hi;
};

static struct range ref_range(const mg_policy *p, uint32_t k, uint64_t prev)
{
    struct range r;
    uint64_t d = nominal_of(p, k), span, prev_or_base;

    switch (p->jitter) {
    case MG_JITTER_NONE:
        r.lo = r.hi = d;
        break;
    case MG_JITTER_PROPORTIONAL:
        span = (uint64_t)((u128)d * 3 / 10); /* floor(0.3 d), exact */
        if ((u128)d + span > p->max_delay_ms) {
            r.hi = p->max_delay_ms;
            r.lo = p->max_delay_ms - span;
        } else {
            r.lo = d;
            r.hi = d + span;
        }
        break;
    case MG_JITTER_FULL:
        r.lo = 0;
        r.hi = d;
        break;
    case MG_JITTER_EQUAL:
        r.lo = d / 2;
        r.hi = d; /* d/2 + (d - d/2) */
        break;
    default: /* DECORRELATED */
        prev_or_base = prev != 0 ? prev : p->base_delay_ms;
        r.hi = (u128)prev_or_base * 3 > p->max_delay_ms ? p->max_delay_ms
                                                       : prev_or_base * 3;
        r.lo = p->base_delay_ms < r.hi / 2 ? p->base_delay_ms : r.hi / 2;
        break;
    }
    return r;
}

/* ---- the SPEC's original cases ---- */

static void test_backoff__default_progression_without_jitter(void **state)
{
    const uint64_t expected[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000};
    mg_policy p = MG_POLICY_DEFAULT_INIT;
    struct counting c = {1, 0};
    uint32_t k;

    (void)state;
    p.jitter = MG_JITTER_NONE;
    for (k = 0; k < COUNT(expected); k++) {
        assert_int_equal(nominal_of(&p, k), expected[k]);
        assert_int_equal(delay_of(&p, k, 0, counting_source, &c),
                         expected[k]);
    }
    assert_int_equal(c.calls, 0);
}

static void test_backoff__caps_at_max_for_any_attempt(void **state)
{
    const uint32_t ks[] = {6, 7, 20, 63, 64, 65, 1024, 1u << 31,
                           UINT32_MAX};
    mg_policy p = MG_POLICY_DEFAULT_INIT;
    size_t i;

    (void)state;
    p.jitter = MG_JITTER_NONE;
    for (i = 0; i < COUNT(ks); i++) {
        assert_int_equal(nominal_of(&p, ks[i]), 5000);
        assert_int_equal(delay_of(&p, ks[i], 0, NULL, NULL), 5000);
    }
}

static void test_backoff__proportional_jitter_within_d_and_1_3d(void **state)
{
    /* Below the cap (1.3 d <= 5000) the SPEC's [d, 1.3d] holds exactly. */
    mg_policy p = MG_POLICY_DEFAULT_INIT;
    uint64_t seed = 42;
    uint32_t k;
    int i;

    (void)state;
    for (k = 0; k <= 5; k++) {
        uint64_t d = nominal_of(&p, k);
        uint64_t lo_seen = UINT64_MAX, hi_seen = 0;

        assert_true(d * 13 / 10 <= 5000);
        for (i = 0; i < NDRAWS; i++) {
            uint64_t j = delay_of(&p, k, 0, mg_random_splitmix64, &seed);

            assert_true(j >= d);
            assert_true(j * 10 <= d * 13);
            lo_seen = j < lo_seen ? j : lo_seen;
            hi_seen = j > hi_seen ? j : hi_seen;
        }
        /* Both ends of [d, floor(1.3d)] are reachable and reached. */
        assert_int_equal(lo_seen, d);
        assert_int_equal(hi_seen, d * 13 / 10);
    }
}

/* ---- nominal: references and edges ---- */

static void test_backoff__nominal_of_attempt_zero_is_base(void **state)
{
    size_t m, b, x;

    (void)state;
    for (m = 0; m < COUNT(edge_mult); m++)
        for (b = 0; b < COUNT(edge_delay); b++)
            for (x = b; x < COUNT(edge_delay); x++) {
                mg_policy p = make_policy(edge_delay[b], edge_delay[x],
                                          edge_mult[m], MG_JITTER_NONE);

                assert_int_equal(nominal_of(&p, 0), edge_delay[b]);
            }
    /* Bases that a double cannot hold exactly stay exact at attempt 0. */
    {
        mg_policy p = make_policy((UINT64_C(1) << 53) + 1, UINT64_MAX, 1.5,
                                  MG_JITTER_NONE);

        assert_int_equal(nominal_of(&p, 0), (UINT64_C(1) << 53) + 1);
        p.base_delay_ms = UINT64_MAX - 1;
        assert_int_equal(nominal_of(&p, 0), UINT64_MAX - 1);
    }
}

static void test_backoff__nominal_saturates_at_every_edge(void **state)
{
    size_t m, b, x, k;

    (void)state;
    for (m = 0; m < COUNT(edge_mult); m++)
        for (b = 0; b < COUNT(edge_delay); b++)
            for (x = b; x < COUNT(edge_delay); x++)
                for (k = 0; k < COUNT(edge_k); k++) {
                    const uint64_t base = edge_delay[b], max = edge_delay[x];
                    const double mult = edge_mult[m];
                    mg_policy p = make_policy(base, max, mult,
                                              MG_JITTER_NONE);
                    uint64_t d = nominal_of(&p, edge_k[k]);

                    assert_true(d <= max);
                    assert_true(d >= base);
                    if (base == 0 || mult == 1.0 || edge_k[k] == 0)
                        assert_int_equal(d, base);
                    else if (mult == 1e300 ||
                             (mult >= 2.0 && edge_k[k] >= 64) ||
                             edge_k[k] >= 1024)
                        /* base >= 1 and the factor m^k exceeds 2^64
                         * (1.5^1024 is about 2^599). */
                        assert_int_equal(d, max);
                }
}

static void test_backoff__nominal_doubling_matches_integer_reference(
    void **state)
{
    const uint64_t bases[] = {1, 3, 100, 1000, UINT64_C(1) << 40,
                              UINT64_MAX / 2, UINT64_MAX};
    const uint64_t maxes[] = {5000, UINT64_C(1) << 62, UINT64_MAX / 2,
                              UINT64_MAX};
    size_t b, x;
    uint32_t k;

    (void)state;
    for (b = 0; b < COUNT(bases); b++)
        for (x = 0; x < COUNT(maxes); x++) {
            mg_policy p;

            if (bases[b] > maxes[x])
                continue;
            p = make_policy(bases[b], maxes[x], 2.0, MG_JITTER_NONE);
            for (k = 0; k <= 130; k++)
                assert_int_equal(nominal_of(&p, k),
                                 ref_nominal_int(bases[b], maxes[x], 2, k));
            for (k = 0; k < COUNT(edge_k); k++)
                assert_int_equal(
                    nominal_of(&p, edge_k[k]),
                    ref_nominal_int(bases[b], maxes[x], 2, edge_k[k]));
        }
}

static void test_backoff__nominal_tripling_matches_integer_reference(
    void **state)
{
    /* Below 2^53 the double computation is exact, so equality is exact;
     * above, it must agree to double precision. */
    const uint64_t bases[] = {1, 2, 7, 100, 12345, UINT64_C(1) << 33};
    const uint64_t maxes[] = {5000, UINT64_C(1) << 53, UINT64_MAX};
    size_t b, x;
    uint32_t k;

    (void)state;
    for (b = 0; b < COUNT(bases); b++)
        for (x = 0; x < COUNT(maxes); x++) {
            mg_policy p;

            if (bases[b] > maxes[x])
                continue;
            p = make_policy(bases[b], maxes[x], 3.0, MG_JITTER_NONE);
            for (k = 0; k <= 80; k++) {
                uint64_t ref = ref_nominal_int(bases[b], maxes[x], 3, k);
                uint64_t got = nominal_of(&p, k);

                if (ref < (UINT64_C(1) << 53))
                    assert_int_equal(got, ref);
                else
                    assert_true(close_to(got, (long double)ref, 1e-14L));
            }
            assert_int_equal(nominal_of(&p, UINT32_MAX), maxes[x]);
        }
}

static void test_backoff__nominal_fractional_multiplier_matches_reference(
    void **state)
{
    const double mults[] = {1.5, 1.1, 1.0001, 2.5, 7.25};
    const uint64_t bases[] = {1, 10, 100, 999983, UINT64_C(1) << 50};
    size_t m, b;
    uint32_t k;

    (void)state;
    for (m = 0; m < COUNT(mults); m++)
        for (b = 0; b < COUNT(bases); b++) {
            mg_policy p = make_policy(bases[b], UINT64_MAX, mults[m],
                                      MG_JITTER_NONE);
            long double ref = (long double)bases[b];

            for (k = 0; k <= 2000; k++) {
                uint64_t got = nominal_of(&p, k);

                /* Within double rounding of the exact product, the cap
                 * 2^64 - 1 included. */
                assert_true(close_to(got, ref < 0x1p64L ? ref : 0x1p64L,
                                     1e-13L));
                if (ref >= 0x1p64L)
                    break;
                ref *= (long double)mults[m];
            }
        }
    /* 1.5^k = 3^k / 2^k: exact while base * 3^k < 2^53. */
    {
        mg_policy p = make_policy(100, UINT64_MAX, 1.5, MG_JITTER_NONE);
        uint64_t pow3 = 1;

        for (k = 0; k <= 28; k++) {
            assert_int_equal(nominal_of(&p, k), (100 * pow3) >> k);
            pow3 *= 3;
        }
    }
}

static void test_backoff__nominal_is_non_decreasing_in_attempt(void **state)
{
    /* 1 + DBL_EPSILON and 1 + 1e-12: growth smaller than the rounding
     * of large bases, where a careless conversion would step back. */
    const double mults[] = {1.0, 1.0 + DBL_EPSILON, 1.0 + 1e-12, 1.0000001,
                            1.1, 1.5, 2.0, 3.0, 10.0, 1e300};
    const uint64_t bases[] = {0, 1, 7, 100, 1000000000,
                              (UINT64_C(1) << 53) + 1, UINT64_MAX / 3};
    const uint64_t maxes[] = {5000, UINT64_C(1) << 53, UINT64_MAX};
    size_t m, b, x;
    uint32_t k;

    (void)state;
    for (m = 0; m < COUNT(mults); m++)
        for (b = 0; b < COUNT(bases); b++)
            for (x = 0; x < COUNT(maxes); x++) {
                mg_policy p;
                uint64_t prev;
                int bit;

                if (bases[b] > maxes[x])
                    continue;
                p = make_policy(bases[b], maxes[x], mults[m],
                                MG_JITTER_NONE);
                prev = nominal_of(&p, 0);
                for (k = 1; k <= 1500; k++) {
                    uint64_t d = nominal_of(&p, k);

                    assert_true(d >= prev);
                    prev = d;
                }
                /* Sparse sweep up to UINT32_MAX: 2^i - 1, 2^i, 2^i + 1. */
                prev = nominal_of(&p, 1500);
                for (bit = 11; bit < 32; bit++) {
                    uint32_t base_k = (uint32_t)1 << bit;
                    uint32_t ks[3] = {base_k - 1, base_k, base_k + 1};
                    int j;

                    for (j = 0; j < 3; j++) {
                        uint64_t d = nominal_of(&p, ks[j]);

                        assert_true(d >= prev);
                        prev = d;
                    }
                }
                assert_true(nominal_of(&p, UINT32_MAX) >= prev);
            }
}

/* ---- jitter: exact intervals, bounds, spread ---- */

static void test_backoff__every_mode_draws_exactly_its_interval(void **state)
{
    /* Random bits 0 give the low end, all ones the high end. */
    uint64_t zero = 0, ones = UINT64_MAX;
    const uint64_t prevs[] = {0, 1, 100, 5000, UINT64_MAX / 2, UINT64_MAX};
    size_t md, b, x, k, v;

    (void)state;
    for (md = 0; md < COUNT(all_modes); md++)
        for (b = 0; b < COUNT(edge_delay); b++)
            for (x = b; x < COUNT(edge_delay); x++)
                for (k = 0; k < COUNT(edge_k); k++)
                    for (v = 0; v < COUNT(prevs); v++) {
                        mg_policy p = make_policy(edge_delay[b],
                                                  edge_delay[x], 2.0,
                                                  all_modes[md]);
                        struct range r = ref_range(&p, edge_k[k], prevs[v]);
                        uint64_t lo = delay_of(&p, edge_k[k], prevs[v],
                                               const_source, &zero);
                        uint64_t hi = delay_of(&p, edge_k[k], prevs[v],
                                               const_source, &ones);

                        assert_true(r.lo <= r.hi);
                        assert_true(r.hi <= p.max_delay_ms);
                        assert_int_equal(lo, r.lo);
                        assert_int_equal(hi, r.hi);
                    }
}

static void test_backoff__every_mode_stays_in_bounds_over_draws(void **state)
{
    const uint32_t ks[] = {0, 1, 3, 5, 6, 40, 64, 1024, UINT32_MAX};
    size_t md, k;
    uint64_t seed = 7;

    (void)state;
    for (md = 0; md < COUNT(all_modes); md++)
        for (k = 0; k < COUNT(ks); k++) {
            mg_policy p = make_policy(100, 5000, 2.0, all_modes[md]);
            uint64_t prev = 0;
            int i;

            for (i = 0; i < NDRAWS; i++) {
                /* Decorrelated is checked against its own previous delay,
                 * fed back as a real executor would. */
                struct range r = ref_range(&p, ks[k], prev);
                uint64_t d = delay_of(&p, ks[k], prev, mg_random_splitmix64,
                                      &seed);

                assert_true(d >= r.lo);
                assert_true(d <= r.hi);
                assert_true(d <= 5000);
                if (all_modes[md] == MG_JITTER_DECORRELATED)
                    prev = d;
            }
        }
}

static void test_backoff__never_exceeds_max_at_the_extremes(void **state)
{
    const double mults[] = {1.0, 1.5, 2.0, 3.0, 1e300};
    const uint64_t prevs[] = {0, 1, UINT64_MAX / 3 + 1, UINT64_MAX};
    size_t md, m, b, x, k, v;
    uint64_t seed = 99;

    (void)state;
    for (md = 0; md < COUNT(all_modes); md++)
        for (m = 0; m < COUNT(mults); m++)
            for (b = 0; b < COUNT(edge_delay); b++)
                for (x = b; x < COUNT(edge_delay); x++)
                    for (k = 0; k < COUNT(edge_k); k++)
                        for (v = 0; v < COUNT(prevs); v++) {
                            mg_policy p = make_policy(edge_delay[b],
                                                      edge_delay[x], mults[m],
                                                      all_modes[md]);
                            int i;

                            for (i = 0; i < 8; i++)
                                assert_true(delay_of(&p, edge_k[k], prevs[v],
                                                     mg_random_splitmix64,
                                                     &seed) <= edge_delay[x]);
                        }
}

static void test_backoff__proportional_slides_window_below_cap(void **state)
{
    /* d = 4000 (base 1000, k = 2): [4000, 5200] slides to [3800, 5000]. */
    mg_policy p = make_policy(1000, 5000, 2.0, MG_JITTER_PROPORTIONAL);
    uint64_t zero = 0, ones = UINT64_MAX;

    (void)state;
    assert_int_equal(delay_of(&p, 2, 0, const_source, &zero), 3800);
    assert_int_equal(delay_of(&p, 2, 0, const_source, &ones), 5000);
    /* At the cap: [0.7 max, max]. */
    assert_int_equal(delay_of(&p, 30, 0, const_source, &zero), 3500);
    assert_int_equal(delay_of(&p, 30, 0, const_source, &ones), 5000);
}

static void check_spread(const mg_policy *p, uint32_t k, uint64_t prev,
                         uint64_t lo, uint64_t hi)
{
    static bool seen[5001];
    uint64_t seed = 2024;
    uint64_t quarter = (hi - lo) / 4;
    unsigned distinct = 0;
    bool low_hit = false, high_hit = false;
    int i;

    assert_true(hi <= 5000);
    memset(seen, 0, sizeof seen);
    for (i = 0; i < NDRAWS; i++) {
        uint64_t d = delay_of(p, k, prev, mg_random_splitmix64, &seed);

        assert_true(d >= lo && d <= hi);
        if (!seen[d]) {
            seen[d] = true;
            distinct++;
        }
        low_hit = low_hit || d < lo + quarter;
        high_hit = high_hit || d > hi - quarter;
    }
    if (distinct < 100 || !low_hit || !high_hit)
        fail_msg("jitter %u at k %u: %u distinct values, low %d high %d",
                 p->jitter, k, distinct, low_hit, high_hit);
}

static void test_backoff__jitter_still_spreads_at_the_cap(void **state)
{
    mg_policy p = make_policy(100, 5000, 2.0, MG_JITTER_PROPORTIONAL);

    (void)state;
    check_spread(&p, 40, 0, 3500, 5000);
    check_spread(&p, UINT32_MAX, 0, 3500, 5000);
    p.jitter = MG_JITTER_FULL;
    check_spread(&p, 40, 0, 0, 5000);
    p.jitter = MG_JITTER_EQUAL;
    check_spread(&p, 40, 0, 2500, 5000);
    p.jitter = MG_JITTER_DECORRELATED;
    check_spread(&p, 40, 5000, 100, 5000);
    check_spread(&p, 40, UINT64_MAX, 100, 5000);
}

static void test_backoff__decorrelated_depends_on_previous_delay(void **state)
{
    uint64_t zero = 0, ones = UINT64_MAX;
    mg_policy p = make_policy(100, 5000, 2.0, MG_JITTER_DECORRELATED);
    const struct {
        uint64_t prev, lo, hi;
    } cases[] = {
        {0, 100, 300},        /* none yet: previous = base */
        {100, 100, 300},      /* same as base */
        {50, 75, 150},        /* lo = min(base, hi / 2) */
        {1000, 100, 3000},    /* 3 * previous */
        {2000, 100, 5000},    /* capped */
        {UINT64_MAX, 100, 5000}, /* 3 * previous saturates */
    };
    size_t i;

    (void)state;
    for (i = 0; i < COUNT(cases); i++) {
        assert_int_equal(delay_of(&p, 3, cases[i].prev, const_source,
                                  &zero),
                         cases[i].lo);
        assert_int_equal(delay_of(&p, 3, cases[i].prev, const_source,
                                  &ones),
                         cases[i].hi);
    }
    /* Base 0: a zero previous delay stays 0, a given one still spreads. */
    p.base_delay_ms = 0;
    assert_int_equal(delay_of(&p, 3, 0, const_source, &ones), 0);
    assert_int_equal(delay_of(&p, 3, 10, const_source, &zero), 0);
    assert_int_equal(delay_of(&p, 3, 10, const_source, &ones), 30);
}

static void test_backoff__decorrelated_ignores_attempt_number(void **state)
{
    mg_policy p = make_policy(100, 5000, 2.0, MG_JITTER_DECORRELATED);
    const uint32_t ks[] = {0, 1, 64, UINT32_MAX};
    size_t i;
    int n;

    (void)state;
    for (n = 0; n < 100; n++) {
        uint64_t first = 0;

        for (i = 0; i < COUNT(ks); i++) {
            uint64_t seed = (uint64_t)n;
            uint64_t d = delay_of(&p, ks[i], 700, mg_random_splitmix64,
                                  &seed);

            if (i == 0)
                first = d;
            assert_int_equal(d, first);
        }
    }
}

static void test_backoff__decorrelated_chain_grows_towards_max(void **state)
{
    mg_policy p = make_policy(10, 100000, 2.0, MG_JITTER_DECORRELATED);
    uint64_t seed = 5, prev = 0, top = 0;
    int i;

    (void)state;
    for (i = 0; i < 200; i++) {
        uint64_t d = delay_of(&p, (uint32_t)i, prev, mg_random_splitmix64,
                              &seed);

        assert_true(d >= 10 && d <= 100000);
        assert_true(d <= (prev != 0 ? prev : 10) * 3);
        top = d > top ? d : top;
        prev = d;
    }
    assert_true(top > 50000);
}

/* ---- how often the random source is called ---- */

static void test_backoff__one_random_call_per_jittered_delay(void **state)
{
    const uint32_t jittered[] = {MG_JITTER_PROPORTIONAL, MG_JITTER_FULL,
                                 MG_JITTER_EQUAL, MG_JITTER_DECORRELATED};
    const uint32_t ks[] = {0, 1, 5, 40, 64, UINT32_MAX};
    size_t md, k;

    (void)state;
    for (md = 0; md < COUNT(jittered); md++)
        for (k = 0; k < COUNT(ks); k++) {
            mg_policy p = make_policy(100, 5000, 2.0, jittered[md]);
            struct counting c = {3, 0};
            unsigned i;

            for (i = 1; i <= 50; i++) {
                delay_of(&p, ks[k], 0, counting_source, &c);
                assert_int_equal(c.calls, i);
            }
        }
}

static void test_backoff__no_random_call_without_jitter(void **state)
{
    const double mults[] = {1.0, 1.5, 2.0, 1e300};
    size_t m, k;

    (void)state;
    for (m = 0; m < COUNT(mults); m++)
        for (k = 0; k < COUNT(edge_k); k++) {
            mg_policy p = make_policy(100, 5000, mults[m], MG_JITTER_NONE);
            struct counting c = {3, 0};

            delay_of(&p, edge_k[k], 1234, counting_source, &c);
            assert_int_equal(c.calls, 0);
        }
}

static void test_backoff__no_random_call_for_an_empty_range(void **state)
{
    /* Documented choice: when the interval holds one value (lo == hi) the
     * source is not called and that value is returned. */
    struct counting c = {3, 0};
    mg_policy p;
    size_t md;

    (void)state;
    for (md = 0; md < COUNT(all_modes); md++) {
        p = make_policy(0, 0, 2.0, all_modes[md]);
        assert_int_equal(delay_of(&p, 5, 0, counting_source, &c), 0);
        p = make_policy(0, 5000, 2.0, all_modes[md]);
        assert_int_equal(delay_of(&p, 5, 0, counting_source, &c), 0);
    }
    /* Proportional with d < 4: span floor(0.3 d) is 0. */
    p = make_policy(3, 3, 2.0, MG_JITTER_PROPORTIONAL);
    assert_int_equal(delay_of(&p, 0, 0, counting_source, &c), 3);
    assert_int_equal(c.calls, 0);
    /* One more millisecond and the range opens: exactly one call. */
    p = make_policy(4, 4, 2.0, MG_JITTER_PROPORTIONAL);
    assert_in_range(delay_of(&p, 0, 0, counting_source, &c), 3, 4);
    assert_int_equal(c.calls, 1);
}

static void test_backoff__fixed_seed_reproduces_sequence(void **state)
{
    size_t md;

    (void)state;
    for (md = 0; md < COUNT(all_modes); md++) {
        mg_policy p = make_policy(100, 5000, 2.0, all_modes[md]);
        uint64_t a = 0xC0FFEE, b = 0xC0FFEE, other = 0xC0FFEF;
        uint64_t prev_a = 0, prev_b = 0;
        bool differs = false;
        uint32_t k;

        for (k = 0; k < 200; k++) {
            uint64_t x = delay_of(&p, k % 12, prev_a, mg_random_splitmix64,
                                  &a);
            uint64_t y = delay_of(&p, k % 12, prev_b, mg_random_splitmix64,
                                  &b);
            uint64_t z = delay_of(&p, k % 12, prev_a, mg_random_splitmix64,
                                  &other);

            assert_int_equal(x, y);
            differs = differs || z != x;
            prev_a = x;
            prev_b = y;
        }
        /* Another seed gives another sequence, except without jitter. */
        assert_true(differs == (all_modes[md] != MG_JITTER_NONE));
    }
}

static void test_backoff__null_random_uses_default_source(void **state)
{
    mg_policy p = make_policy(1, UINT64_C(1) << 40, 2.0, MG_JITTER_FULL);
    uint64_t first, d;
    bool varies = false;
    int i;

    (void)state;
    first = delay_of(&p, 50, 0, NULL, NULL);
    for (i = 0; i < 16; i++) {
        d = delay_of(&p, 50, 0, NULL, NULL);
        assert_true(d <= p.max_delay_ms);
        varies = varies || d != first;
    }
    assert_true(varies);
}

/* ---- argument checking ---- */

static void test_backoff__null_arguments_are_einval(void **state)
{
    mg_policy p = MG_POLICY_DEFAULT_INIT;
    mg_policy bad = MG_POLICY_DEFAULT_INIT;
    struct counting c = {1, 0};
    uint64_t d = 777;

    (void)state;
    bad.reserved = 1;
    assert_int_equal(mg_backoff_nominal(NULL, 0, &d), MG_EINVAL);
    assert_int_equal(mg_backoff_nominal(&p, 0, NULL), MG_EINVAL);
    assert_int_equal(mg_backoff_nominal(NULL, 0, NULL), MG_EINVAL);
    assert_int_equal(mg_backoff_nominal(&bad, 0, NULL), MG_EINVAL);
    assert_int_equal(mg_backoff_delay(NULL, 0, 0, counting_source, &c, &d),
                     MG_EINVAL);
    assert_int_equal(mg_backoff_delay(&p, 0, 0, counting_source, &c, NULL),
                     MG_EINVAL);
    assert_int_equal(mg_backoff_delay(&bad, 0, 0, counting_source, &c, NULL),
                     MG_EINVAL);
    assert_int_equal(d, 777);
    assert_int_equal(c.calls, 0);
    /* splitmix64 with NULL state returns 0 bits: the low end, no crash. */
    assert_int_equal(delay_of(&p, 0, 0, mg_random_splitmix64, NULL), 100);
}

static void test_backoff__invalid_policy_returns_validate_code(void **state)
{
    mg_policy ps[7];
    size_t i, md;

    (void)state;
    for (i = 0; i < COUNT(ps); i++)
        assert_int_equal(mg_policy_init(&ps[i], MG_POLICY_VERSION), MG_OK);
    ps[0].version = 0;
    ps[1].version = MG_POLICY_VERSION + 1;
    ps[2].base_delay_ms = 5001;
    ps[3].multiplier = 0.5;
    ps[4].multiplier = NAN;
    ps[5].jitter = MG_JITTER_DECORRELATED + 1;
    ps[6].reserved = 1;
    for (i = 0; i < COUNT(ps); i++) {
        int expected = mg_policy_validate(&ps[i], NULL);

        assert_true(expected == MG_EVERSION || expected == MG_EPOLICY);
        for (md = 0; md < COUNT(all_modes); md++) {
            struct counting c = {1, 0};
            uint64_t d = 777;

            if (i != 5)
                ps[i].jitter = all_modes[md];
            assert_int_equal(mg_backoff_nominal(&ps[i], 1, &d), expected);
            assert_int_equal(mg_backoff_delay(&ps[i], 1, 0, counting_source,
                                              &c, &d),
                             expected);
            assert_int_equal(d, 777);
            assert_int_equal(c.calls, 0);
        }
    }
    assert_int_equal(mg_backoff_nominal(&ps[0], 0, &(uint64_t){0}),
                     MG_EVERSION);
    assert_int_equal(mg_backoff_delay(&ps[2], 0, 0, NULL, NULL,
                                      &(uint64_t){0}),
                     MG_EPOLICY);
}

/* ---- the random sources ---- */

static void test_backoff__splitmix64_matches_reference_values(void **state)
{
    uint64_t s = 0;

    (void)state;
    assert_int_equal(mg_random_splitmix64(&s), UINT64_C(0xe220a8397b1dcdaf));
    assert_int_equal(mg_random_splitmix64(&s), UINT64_C(0x6e789e6aa1b965f4));
    assert_int_equal(mg_random_splitmix64(&s), UINT64_C(0x06c45d188009454f));
    /* The state advances by the golden gamma each call. */
    assert_int_equal(s, UINT64_C(0x9e3779b97f4a7c15) * 3);
    /* Wrapping the state is defined (unsigned) and keeps going. */
    s = UINT64_MAX;
    mg_random_splitmix64(&s);
    assert_int_equal(s, UINT64_C(0x9e3779b97f4a7c15) - 1);
}

static void test_backoff__splitmix64_null_state_returns_zero(void **state)
{
    (void)state;
    assert_int_equal(mg_random_splitmix64(NULL), 0);
    assert_int_equal(mg_random_splitmix64(NULL), 0);
}

static void test_backoff__arc4random_returns_varying_values(void **state)
{
    uint64_t v[16], ignored = 0x1234;
    uint64_t all_or = 0, all_and = UINT64_MAX;
    size_t i, j, equal_pairs = 0;

    (void)state;
    for (i = 0; i < COUNT(v); i++) {
        v[i] = mg_random_arc4random(i % 2 ? &ignored : NULL);
        all_or |= v[i];
        all_and &= v[i];
    }
    for (i = 0; i < COUNT(v); i++)
        for (j = i + 1; j < COUNT(v); j++)
            equal_pairs += v[i] == v[j];
    assert_int_equal(equal_pairs, 0);
    /* All 64 bits are filled: every bit is 1 somewhere and 0 somewhere
     * (fails by chance with probability about 64 * 2^-15). */
    assert_int_equal(all_or, UINT64_MAX);
    assert_int_equal(all_and, 0);
    assert_int_equal(ignored, 0x1234);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff__default_progression_without_jitter),
        cmocka_unit_test(test_backoff__caps_at_max_for_any_attempt),
        cmocka_unit_test(test_backoff__proportional_jitter_within_d_and_1_3d),
        cmocka_unit_test(test_backoff__nominal_of_attempt_zero_is_base),
        cmocka_unit_test(test_backoff__nominal_saturates_at_every_edge),
        cmocka_unit_test(
            test_backoff__nominal_doubling_matches_integer_reference),
        cmocka_unit_test(
            test_backoff__nominal_tripling_matches_integer_reference),
        cmocka_unit_test(
            test_backoff__nominal_fractional_multiplier_matches_reference),
        cmocka_unit_test(test_backoff__nominal_is_non_decreasing_in_attempt),
        cmocka_unit_test(test_backoff__every_mode_draws_exactly_its_interval),
        cmocka_unit_test(test_backoff__every_mode_stays_in_bounds_over_draws),
        cmocka_unit_test(test_backoff__never_exceeds_max_at_the_extremes),
        cmocka_unit_test(test_backoff__proportional_slides_window_below_cap),
        cmocka_unit_test(test_backoff__jitter_still_spreads_at_the_cap),
        cmocka_unit_test(test_backoff__decorrelated_depends_on_previous_delay),
        cmocka_unit_test(test_backoff__decorrelated_ignores_attempt_number),
        cmocka_unit_test(test_backoff__decorrelated_chain_grows_towards_max),
        cmocka_unit_test(test_backoff__one_random_call_per_jittered_delay),
        cmocka_unit_test(test_backoff__no_random_call_without_jitter),
        cmocka_unit_test(test_backoff__no_random_call_for_an_empty_range),
        cmocka_unit_test(test_backoff__fixed_seed_reproduces_sequence),
        cmocka_unit_test(test_backoff__null_random_uses_default_source),
        cmocka_unit_test(test_backoff__null_arguments_are_einval),
        cmocka_unit_test(test_backoff__invalid_policy_returns_validate_code),
        cmocka_unit_test(test_backoff__splitmix64_matches_reference_values),
        cmocka_unit_test(test_backoff__splitmix64_null_state_returns_zero),
        cmocka_unit_test(test_backoff__arc4random_returns_varying_values),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
