/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/policy.c: the SPEC's presets and constructor, the
 * agreement of the preset functions with the MG_POLICY_*_INIT macros,
 * mg_policy_init's version handling, and mg_policy_validate's code and
 * reason for every kind of invalid policy, NULL included. Failing calls
 * must leave the caller's struct untouched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include <mg/retry.h>

#include "test_support.h"

/* The fields every preset shares (header comment on the presets). */
static void assert_preset_common(const mg_policy *p)
{
    assert_int_equal(p->version, MG_POLICY_VERSION);
    assert_int_equal(p->jitter, MG_JITTER_PROPORTIONAL);
    assert_int_equal(p->reserved, 0);
    assert_true(p->multiplier == 2.0);
    assert_int_equal(p->max_elapsed_ms, 0);
    assert_int_equal(p->max_pushback_ms, 60000);
}

static void assert_valid(const mg_policy *p)
{
    const char *reason = NULL;

    assert_int_equal(mg_policy_validate(p, &reason), MG_OK);
    assert_non_null(reason);
    assert_string_equal(reason, "ok");
}

/* ---- presets ---- */

static void test_policy__default_preset_has_spec_values(void **state)
{
    mg_policy p;

    (void)state;
    poison(&p);
    assert_int_equal(mg_policy_preset(&p, MG_PRESET_DEFAULT), MG_OK);
    assert_int_equal(p.max_retries, 3);
    assert_int_equal(p.base_delay_ms, 100);
    assert_int_equal(p.max_delay_ms, 5000);
    assert_preset_common(&p);
    assert_valid(&p);
}

static void test_policy__aggressive_preset_has_spec_values(void **state)
{
    mg_policy p;

    (void)state;
    poison(&p);
    assert_int_equal(mg_policy_preset(&p, MG_PRESET_AGGRESSIVE), MG_OK);
    assert_int_equal(p.max_retries, 5);
    assert_int_equal(p.base_delay_ms, 50);
    assert_int_equal(p.max_delay_ms, 5000);
    assert_preset_common(&p);
    assert_valid(&p);
}

static void test_policy__gentle_preset_has_spec_values(void **state)
{
    mg_policy p;

    (void)state;
    poison(&p);
    assert_int_equal(mg_policy_preset(&p, MG_PRESET_GENTLE), MG_OK);
    assert_int_equal(p.max_retries, 2);
    assert_int_equal(p.base_delay_ms, 500);
    assert_int_equal(p.max_delay_ms, 3000);
    assert_preset_common(&p);
    assert_valid(&p);
}

static void test_policy__preset_functions_match_init_macros(void **state)
{
    static const struct {
        int preset;
        mg_policy macro;
    } cases[] = {
        {MG_PRESET_DEFAULT, MG_POLICY_DEFAULT_INIT},
        {MG_PRESET_AGGRESSIVE, MG_POLICY_AGGRESSIVE_INIT},
        {MG_PRESET_GENTLE, MG_POLICY_GENTLE_INIT},
    };
    const mg_policy init = MG_POLICY_INIT;
    const mg_policy dflt = MG_POLICY_DEFAULT_INIT;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mg_policy p;

        poison(&p);
        assert_int_equal(mg_policy_preset(&p, cases[i].preset), MG_OK);
        assert_policy_equal(&p, &cases[i].macro);
        assert_valid(&cases[i].macro);
    }
    assert_policy_equal(&init, &dflt);
}

static void test_policy__preset_rejects_null_and_unknown(void **state)
{
    const int unknown[] = {-1, 3, 4, 100, INT_MAX, INT_MIN};
    mg_policy p;
    size_t i;

    (void)state;
    assert_int_equal(mg_policy_preset(NULL, MG_PRESET_DEFAULT), MG_EINVAL);
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        poison(&p);
        assert_int_equal(mg_policy_preset(&p, unknown[i]), MG_EINVAL);
        assert_true(is_poisoned(&p));
    }
}

/* ---- mg_policy_init ---- */

static void test_policy__init_fills_default_preset(void **state)
{
    const mg_policy dflt = MG_POLICY_DEFAULT_INIT;
    mg_policy p;

    (void)state;
    poison(&p);
    assert_int_equal(mg_policy_init(&p, MG_POLICY_VERSION), MG_OK);
    assert_policy_equal(&p, &dflt);
    assert_valid(&p);
}

static void test_policy__init_rejects_null_and_unknown_versions(void **state)
{
    const uint32_t bad[] = {0, MG_POLICY_VERSION + 1, 1000, UINT32_MAX};
    mg_policy p;
    size_t i;

    (void)state;
    assert_int_equal(mg_policy_init(NULL, MG_POLICY_VERSION), MG_EINVAL);
    assert_int_equal(mg_policy_init(NULL, 0), MG_EINVAL);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        poison(&p);
        assert_int_equal(mg_policy_init(&p, bad[i]), MG_EVERSION);
        assert_true(is_poisoned(&p));
    }
}

/* ---- mg_policy_make ---- */

static void test_policy__make_sets_the_four_settings(void **state)
{
    const mg_policy init = MG_POLICY_INIT;
    mg_policy p;

    (void)state;
    poison(&p);
    assert_int_equal(mg_policy_make(&p, 7, 250, 10000, 1), MG_OK);
    assert_int_equal(p.max_retries, 7);
    assert_int_equal(p.base_delay_ms, 250);
    assert_int_equal(p.max_delay_ms, 10000);
    assert_int_equal(p.jitter, MG_JITTER_PROPORTIONAL);
    /* Everything else as in MG_POLICY_INIT. */
    assert_int_equal(p.version, init.version);
    assert_int_equal(p.reserved, 0);
    assert_true(p.multiplier == init.multiplier);
    assert_int_equal(p.max_elapsed_ms, init.max_elapsed_ms);
    assert_int_equal(p.max_pushback_ms, init.max_pushback_ms);
    assert_valid(&p);
}

static void test_policy__make_maps_boolean_jitter_and_every_mode(void **state)
{
    const int modes[] = {MG_JITTER_NONE, MG_JITTER_PROPORTIONAL,
                         MG_JITTER_FULL, MG_JITTER_EQUAL,
                         MG_JITTER_DECORRELATED};
    mg_policy p;
    size_t i;

    (void)state;
    /* The original's boolean: false = none, true = proportional. */
    assert_int_equal(mg_policy_make(&p, 3, 100, 5000, 0), MG_OK);
    assert_int_equal(p.jitter, MG_JITTER_NONE);
    assert_int_equal(mg_policy_make(&p, 3, 100, 5000, 1), MG_OK);
    assert_int_equal(p.jitter, MG_JITTER_PROPORTIONAL);
    for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        assert_int_equal(mg_policy_make(&p, 3, 100, 5000, modes[i]), MG_OK);
        assert_int_equal(p.jitter, (uint32_t)modes[i]);
    }
}

static void test_policy__make_accepts_edge_values(void **state)
{
    mg_policy p;

    (void)state;
    assert_int_equal(mg_policy_make(&p, 0, 0, 0, 0), MG_OK);
    assert_int_equal(p.max_retries, 0);
    assert_int_equal(p.base_delay_ms, 0);
    assert_int_equal(p.max_delay_ms, 0);
    assert_int_equal(mg_policy_make(&p, UINT32_MAX, UINT64_MAX, UINT64_MAX,
                                    MG_JITTER_DECORRELATED),
                     MG_OK);
    assert_int_equal(p.max_retries, UINT32_MAX);
    assert_int_equal(p.base_delay_ms, UINT64_MAX);
    assert_int_equal(p.max_delay_ms, UINT64_MAX);
    /* base == max is allowed: a constant delay. */
    assert_int_equal(mg_policy_make(&p, 1, 42, 42, 0), MG_OK);
    assert_int_equal(mg_policy_make(&p, 1, 0, UINT64_MAX, 0), MG_OK);
}

static void test_policy__make_rejects_invalid_and_leaves_policy(void **state)
{
    mg_policy p;

    (void)state;
    assert_int_equal(mg_policy_make(NULL, 3, 100, 5000, 1), MG_EINVAL);

    poison(&p);
    assert_int_equal(mg_policy_make(&p, 3, 5001, 5000, 1), MG_EPOLICY);
    assert_true(is_poisoned(&p));
    assert_int_equal(mg_policy_make(&p, 3, UINT64_MAX, 0, 0), MG_EPOLICY);
    assert_true(is_poisoned(&p));
    assert_int_equal(mg_policy_make(&p, 3, 100, 5000, 5), MG_EPOLICY);
    assert_true(is_poisoned(&p));
    assert_int_equal(mg_policy_make(&p, 3, 100, 5000, -1), MG_EPOLICY);
    assert_true(is_poisoned(&p));
    assert_int_equal(mg_policy_make(&p, 3, 100, 5000, INT_MIN), MG_EPOLICY);
    assert_true(is_poisoned(&p));
    assert_int_equal(mg_policy_make(&p, 3, 100, 5000, INT_MAX), MG_EPOLICY);
    assert_true(is_poisoned(&p));
}

/* ---- mg_policy_validate ---- */

static void test_policy__validate_accepts_edge_policies(void **state)
{
    mg_policy p = MG_POLICY_INIT;

    (void)state;
    assert_valid(&p);
    p.base_delay_ms = 0;
    p.max_delay_ms = 0;
    assert_valid(&p);
    p.max_delay_ms = UINT64_MAX;
    assert_valid(&p);
    p.base_delay_ms = UINT64_MAX;
    assert_valid(&p);
    p.multiplier = 1.0;
    assert_valid(&p);
    p.multiplier = DBL_MAX;
    assert_valid(&p);
    p.multiplier = 1e300;
    assert_valid(&p);
    p.max_retries = UINT32_MAX;
    p.max_elapsed_ms = UINT64_MAX;
    p.max_pushback_ms = 0;
    assert_valid(&p);
    for (p.jitter = MG_JITTER_NONE; p.jitter <= MG_JITTER_DECORRELATED;
         p.jitter++)
        assert_valid(&p);
}

static void test_policy__validate_null_is_einval(void **state)
{
    const char *reason = NULL;

    (void)state;
    assert_int_equal(mg_policy_validate(NULL, &reason), MG_EINVAL);
    assert_non_null(reason);
    assert_non_null(strstr(reason, "NULL"));
    assert_int_equal(mg_policy_validate(NULL, NULL), MG_EINVAL);
}

static void test_policy__validate_unknown_versions_are_eversion(void **state)
{
    const uint32_t bad[] = {0, MG_POLICY_VERSION + 1, 77, UINT32_MAX};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mg_policy p = MG_POLICY_INIT;
        const char *reason = NULL;

        p.version = bad[i];
        assert_int_equal(mg_policy_validate(&p, &reason), MG_EVERSION);
        assert_non_null(reason);
        assert_non_null(strstr(reason, "version"));
        assert_int_equal(mg_policy_validate(&p, NULL), MG_EVERSION);
    }
}

/* One invalid field per case: its code and a reason naming the field. */
struct bad_policy {
    const char *what;    /* for failure messages */
    const char *keyword; /* the reason must mention it */
    mg_policy policy;
};

static void check_bad_policies(const struct bad_policy *cases, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const char *reason = NULL;
        int rc = mg_policy_validate(&cases[i].policy, &reason);

        if (rc != MG_EPOLICY || reason == NULL ||
            strstr(reason, cases[i].keyword) == NULL)
            fail_msg("%s: rc %d, reason \"%s\"", cases[i].what, rc,
                     reason != NULL ? reason : "(null)");
        assert_int_equal(mg_policy_validate(&cases[i].policy, NULL),
                         MG_EPOLICY);
    }
}

static void test_policy__validate_rejects_base_above_max(void **state)
{
    struct bad_policy cases[] = {
        {"101 > 100", "base_delay_ms", MG_POLICY_INIT},
        {"max > 0", "base_delay_ms", MG_POLICY_INIT},
        {"UINT64_MAX > UINT64_MAX - 1", "base_delay_ms", MG_POLICY_INIT},
    };

    (void)state;
    cases[0].policy.base_delay_ms = 101;
    cases[0].policy.max_delay_ms = 100;
    cases[1].policy.base_delay_ms = UINT64_MAX;
    cases[1].policy.max_delay_ms = 0;
    cases[2].policy.base_delay_ms = UINT64_MAX;
    cases[2].policy.max_delay_ms = UINT64_MAX - 1;
    check_bad_policies(cases, sizeof cases / sizeof cases[0]);
}

static void test_policy__validate_rejects_multiplier_below_one(void **state)
{
    const double bad[] = {0.999999999, 0.5, 0.0, -0.0, -1.0, -DBL_MAX,
                          DBL_MIN, 1.0 - DBL_EPSILON};
    struct bad_policy c = {"multiplier < 1", "below 1", MG_POLICY_INIT};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c.policy.multiplier = bad[i];
        check_bad_policies(&c, 1);
    }
}

static void test_policy__validate_rejects_non_finite_multiplier(void **state)
{
    const double bad[] = {NAN, -NAN, INFINITY, -INFINITY};
    struct bad_policy c = {"multiplier not finite", "not finite",
                           MG_POLICY_INIT};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c.policy.multiplier = bad[i];
        check_bad_policies(&c, 1);
    }
}

static void test_policy__validate_rejects_unknown_jitter(void **state)
{
    const uint32_t bad[] = {MG_JITTER_DECORRELATED + 1, 6, 255, 0x80000000u,
                            UINT32_MAX};
    struct bad_policy c = {"unknown jitter", "jitter", MG_POLICY_INIT};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c.policy.jitter = bad[i];
        check_bad_policies(&c, 1);
    }
}

static void test_policy__validate_rejects_nonzero_reserved(void **state)
{
    const uint32_t bad[] = {1, 2, 0x80000000u, UINT32_MAX};
    struct bad_policy c = {"reserved != 0", "reserved", MG_POLICY_INIT};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c.policy.reserved = bad[i];
        check_bad_policies(&c, 1);
    }
}

static void test_policy__validate_reasons_are_distinct(void **state)
{
    mg_policy p[7];
    const char *reasons[8];
    size_t i, j, n = sizeof p / sizeof p[0];

    (void)state;
    for (i = 0; i < n; i++)
        assert_int_equal(mg_policy_init(&p[i], MG_POLICY_VERSION), MG_OK);
    p[0].version = 0;
    p[1].version = MG_POLICY_VERSION + 1;
    p[2].base_delay_ms = p[2].max_delay_ms + 1;
    p[3].multiplier = 0.5;
    p[4].multiplier = NAN;
    p[5].jitter = 99;
    p[6].reserved = 1;
    for (i = 0; i < n; i++) {
        reasons[i] = NULL;
        assert_int_not_equal(mg_policy_validate(&p[i], &reasons[i]), MG_OK);
        assert_non_null(reasons[i]);
        assert_true(strlen(reasons[i]) > 0);
    }
    reasons[n] = NULL;
    assert_int_equal(mg_policy_validate(NULL, &reasons[n]), MG_EINVAL);
    for (i = 0; i <= n; i++) {
        assert_string_not_equal(reasons[i], "ok");
        for (j = i + 1; j <= n; j++)
            assert_string_not_equal(reasons[i], reasons[j]);
    }
}

static void test_policy__validate_does_not_modify_policy(void **state)
{
    mg_policy p = MG_POLICY_INIT;
    mg_policy copy;

    (void)state;
    p.reserved = 3;
    copy = p;
    assert_int_equal(mg_policy_validate(&p, NULL), MG_EPOLICY);
    assert_memory_equal(&p, &copy, sizeof p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy__default_preset_has_spec_values),
        cmocka_unit_test(test_policy__aggressive_preset_has_spec_values),
        cmocka_unit_test(test_policy__gentle_preset_has_spec_values),
        cmocka_unit_test(test_policy__preset_functions_match_init_macros),
        cmocka_unit_test(test_policy__preset_rejects_null_and_unknown),
        cmocka_unit_test(test_policy__init_fills_default_preset),
        cmocka_unit_test(test_policy__init_rejects_null_and_unknown_versions),
        cmocka_unit_test(test_policy__make_sets_the_four_settings),
        cmocka_unit_test(test_policy__make_maps_boolean_jitter_and_every_mode),
        cmocka_unit_test(test_policy__make_accepts_edge_values),
        cmocka_unit_test(test_policy__make_rejects_invalid_and_leaves_policy),
        cmocka_unit_test(test_policy__validate_accepts_edge_policies),
        cmocka_unit_test(test_policy__validate_null_is_einval),
        cmocka_unit_test(test_policy__validate_unknown_versions_are_eversion),
        cmocka_unit_test(test_policy__validate_rejects_base_above_max),
        cmocka_unit_test(test_policy__validate_rejects_multiplier_below_one),
        cmocka_unit_test(test_policy__validate_rejects_non_finite_multiplier),
        cmocka_unit_test(test_policy__validate_rejects_unknown_jitter),
        cmocka_unit_test(test_policy__validate_rejects_nonzero_reserved),
        cmocka_unit_test(test_policy__validate_reasons_are_distinct),
        cmocka_unit_test(test_policy__validate_does_not_modify_policy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
