/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/policy_string.c: the policy string grammar of
 * <mg/retry.h> (presets, keys, units, the multiplier's decimal form), the
 * error code and offset of every kind of bad input, the snprintf-like
 * contract of mg_policy_format, and the round trip format -> parse over
 * many random valid policies. The multiplier is checked against the C
 * library's strtod and printf (correctly rounded in glibc), which serve as
 * the independent reference for exact decimal conversion.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mg/retry.h>

#include "test_support.h"

#define NO_OFFSET ((size_t)0xDEADBEEF)

/* Parses `text` and expects success; returns the policy. */
static mg_policy parse_ok(const char *text)
{
    mg_policy p;
    size_t off = NO_OFFSET;

    poison(&p);
    if (mg_policy_parse(&p, text, &off) != MG_OK)
        fail_msg("mg_policy_parse(\"%s\") failed, offset %zu", text, off);
    assert_int_equal(off, NO_OFFSET); /* not written on success */
    return p;
}

/* Expects `code` at `offset`, with the output left untouched. */
static void parse_fails(const char *text, int code, size_t offset)
{
    mg_policy p;
    size_t off = NO_OFFSET;
    int rc;

    poison(&p);
    rc = mg_policy_parse(&p, text, &off);
    if (rc != code || off != offset)
        fail_msg("mg_policy_parse(\"%s\"): got %d at %zu, expected %d at %zu",
                 text, rc, off, code, offset);
    assert_true(is_poisoned(&p));
    /* The same answer without an offset pointer. */
    assert_int_equal(mg_policy_parse(&p, text, NULL), code);
    assert_true(is_poisoned(&p));
}

/* The multiplier that "multiplier=<text>" parses to. */
static double parse_multiplier(const char *text)
{
    char buf[2048];
    mg_policy p;

    snprintf(buf, sizeof buf, "multiplier=%s", text);
    p = parse_ok(buf);
    return p.multiplier;
}

static void assert_same_double(double a, double b)
{
    if (memcmp(&a, &b, sizeof a) != 0)
        fail_msg("%.17g != %.17g", a, b);
}

static uint64_t rnd(uint64_t *state)
{
    return mg_random_splitmix64(state);
}

/* The next double above a positive finite x (nextafter without libm). */
static double next_up(double x)
{
    uint64_t bits;

    memcpy(&bits, &x, sizeof bits);
    bits++;
    memcpy(&x, &bits, sizeof bits);
    return x;
}

/* ---- the grammar ---- */

static void test_policy_string__parses_the_issue_example(void **state)
{
    mg_policy p;

    (void)state;
    p = parse_ok("retries=5 base=50ms max=5s jitter=full multiplier=2 "
                 "deadline=30s");
    assert_int_equal(p.version, MG_POLICY_VERSION);
    assert_int_equal(p.max_retries, 5);
    assert_int_equal(p.base_delay_ms, 50);
    assert_int_equal(p.max_delay_ms, 5000);
    assert_int_equal(p.jitter, MG_JITTER_FULL);
    assert_true(p.multiplier == 2.0);
    assert_int_equal(p.max_elapsed_ms, 30000);
    assert_int_equal(p.reserved, 0);
    /* Not given: the default preset's value. */
    assert_int_equal(p.max_pushback_ms, 60000);
}

static void test_policy_string__preset_names_alone_give_the_presets(void **state)
{
    static const struct {
        const char *name;
        int preset;
    } cases[] = {{"default", MG_PRESET_DEFAULT},
                 {"aggressive", MG_PRESET_AGGRESSIVE},
                 {"gentle", MG_PRESET_GENTLE}};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mg_policy want, got;

        assert_int_equal(mg_policy_preset(&want, cases[i].preset), MG_OK);
        got = parse_ok(cases[i].name);
        assert_policy_equal(&got, &want);
    }
}

static void test_policy_string__preset_then_overrides(void **state)
{
    mg_policy p, want = MG_POLICY_GENTLE_INIT;

    (void)state;
    p = parse_ok("  gentle\tmax=4s\nretries=7  ");
    want.max_delay_ms = 4000;
    want.max_retries = 7;
    assert_policy_equal(&p, &want);
}

static void test_policy_string__no_preset_starts_from_default(void **state)
{
    mg_policy p, want = MG_POLICY_DEFAULT_INIT;

    (void)state;
    p = parse_ok("jitter=none");
    want.jitter = MG_JITTER_NONE;
    assert_policy_equal(&p, &want);
}

static void test_policy_string__preset_must_come_first(void **state)
{
    (void)state;
    parse_fails("retries=1 gentle", MG_EPARSE, 10);
    parse_fails("default gentle", MG_EPARSE, 8);
    parse_fails("Default", MG_EPARSE, 0);
    parse_fails("defaults", MG_EPARSE, 0);
}

static void test_policy_string__durations_take_ms_s_m(void **state)
{
    mg_policy p;

    (void)state;
    p = parse_ok("base=0ms max=7ms deadline=3s pushback=2m");
    assert_int_equal(p.base_delay_ms, 0);
    assert_int_equal(p.max_delay_ms, 7);
    assert_int_equal(p.max_elapsed_ms, 3000);
    assert_int_equal(p.max_pushback_ms, 120000);
    p = parse_ok("deadline=0 base=0 pushback=0 max=0");
    assert_int_equal(p.max_elapsed_ms, 0);
    assert_int_equal(p.base_delay_ms, 0);
    assert_int_equal(p.max_pushback_ms, 0);
    assert_int_equal(p.max_delay_ms, 0);
    p = parse_ok("deadline=000000000000000000000000000000042s");
    assert_int_equal(p.max_elapsed_ms, 42000);
}

static void test_policy_string__durations_need_a_known_unit(void **state)
{
    (void)state;
    parse_fails("retries=1 base=100", MG_EPARSE, 10);
    parse_fails("deadline=5h", MG_EPARSE, 0);
    parse_fails("deadline=5S", MG_EPARSE, 0);
    parse_fails("deadline=5MS", MG_EPARSE, 0);
    parse_fails("deadline=5 s", MG_EPARSE, 0);
    parse_fails("deadline=5sec", MG_EPARSE, 0);
    parse_fails("deadline=1.5s", MG_EPARSE, 0);
    parse_fails("deadline=-5s", MG_EPARSE, 0);
    parse_fails("deadline=+5s", MG_EPARSE, 0);
    parse_fails("deadline=ms", MG_EPARSE, 0);
    parse_fails("deadline=", MG_EPARSE, 0);
    parse_fails("deadline=0x10ms", MG_EPARSE, 0);
}

static void test_policy_string__durations_reject_overflow(void **state)
{
    char buf[128];
    mg_policy p;

    (void)state;
    snprintf(buf, sizeof buf, "deadline=%" PRIu64 "ms", UINT64_MAX);
    p = parse_ok(buf);
    assert_int_equal(p.max_elapsed_ms, UINT64_MAX);
    parse_fails("deadline=18446744073709551616ms", MG_ERANGE, 0);
    parse_fails("deadline=99999999999999999999999999999ms", MG_ERANGE, 0);
    /* The largest count of each unit, and one more. */
    snprintf(buf, sizeof buf, "deadline=%" PRIu64 "s", UINT64_MAX / 1000);
    p = parse_ok(buf);
    assert_int_equal(p.max_elapsed_ms, UINT64_MAX / 1000 * 1000);
    snprintf(buf, sizeof buf, "x deadline=%" PRIu64 "s",
             UINT64_MAX / 1000 + 1);
    parse_fails(buf + 2, MG_ERANGE, 0);
    snprintf(buf, sizeof buf, "deadline=%" PRIu64 "m", UINT64_MAX / 60000);
    p = parse_ok(buf);
    assert_int_equal(p.max_elapsed_ms, UINT64_MAX / 60000 * 60000);
    snprintf(buf, sizeof buf, "retries=0 pushback=%" PRIu64 "m",
             UINT64_MAX / 60000 + 1);
    parse_fails(buf, MG_ERANGE, 10);
}

static void test_policy_string__retries_edges(void **state)
{
    mg_policy p;

    (void)state;
    assert_int_equal(parse_ok("retries=0").max_retries, 0);
    p = parse_ok("retries=4294967295");
    assert_int_equal(p.max_retries, UINT32_MAX);
    assert_int_equal(parse_ok("retries=0064").max_retries, 64);
    parse_fails("retries=4294967296", MG_ERANGE, 0);
    parse_fails("retries=18446744073709551616", MG_ERANGE, 0);
    parse_fails("retries=-1", MG_EPARSE, 0);
    parse_fails("retries=+1", MG_EPARSE, 0);
    parse_fails("retries=1.5", MG_EPARSE, 0);
    parse_fails("retries=5x", MG_EPARSE, 0);
    parse_fails("retries=5ms", MG_EPARSE, 0);
    parse_fails("retries=", MG_EPARSE, 0);
}

static void test_policy_string__every_jitter_name(void **state)
{
    static const struct {
        const char *text;
        uint32_t mode;
    } cases[] = {{"jitter=none", MG_JITTER_NONE},
                 {"jitter=proportional", MG_JITTER_PROPORTIONAL},
                 {"jitter=full", MG_JITTER_FULL},
                 {"jitter=equal", MG_JITTER_EQUAL},
                 {"jitter=decorrelated", MG_JITTER_DECORRELATED}};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(parse_ok(cases[i].text).jitter, cases[i].mode);
    parse_fails("jitter=FULL", MG_EPARSE, 0);
    parse_fails("jitter=fulll", MG_EPARSE, 0);
    parse_fails("jitter=1", MG_EPARSE, 0);
    parse_fails("jitter=true", MG_EPARSE, 0);
    parse_fails("jitter=", MG_EPARSE, 0);
}

/* ---- bad input in general ---- */

static void test_policy_string__empty_input_is_eparse(void **state)
{
    (void)state;
    parse_fails("", MG_EPARSE, 0);
    parse_fails("   ", MG_EPARSE, 0);
    parse_fails(" \t\r\n\v\f", MG_EPARSE, 0);
}

static void test_policy_string__unknown_and_duplicate_keys(void **state)
{
    (void)state;
    parse_fails("retries=1 foo=2", MG_EPARSE, 10);
    parse_fails("retries=1 Retries=2", MG_EPARSE, 10);
    parse_fails("retries=1 retries=2", MG_EPARSE, 10);
    parse_fails("gentle max=4s  max=4s", MG_EPARSE, 15);
    parse_fails("=5", MG_EPARSE, 0);
    parse_fails("base_delay_ms=5ms", MG_EPARSE, 0);
}

static void test_policy_string__items_need_key_equals_value(void **state)
{
    (void)state;
    parse_fails("retries", MG_EPARSE, 0);
    parse_fails("retries =1", MG_EPARSE, 0);
    parse_fails("retries= 1", MG_EPARSE, 0);
    parse_fails("retries=1 ,", MG_EPARSE, 10);
    parse_fails("retries=1,base=5ms", MG_EPARSE, 0);
    parse_fails("jitter=full=none", MG_EPARSE, 0);
    parse_fails("retries=1;", MG_EPARSE, 0);
}

static void test_policy_string__invalid_result_is_epolicy_at_fault(void **state)
{
    (void)state;
    /* The default base is 100 ms. */
    parse_fails("max=50ms", MG_EPOLICY, 0);
    parse_fails("retries=1 base=10s", MG_EPOLICY, 10);
    parse_fails("base=1s max=500ms", MG_EPOLICY, 8);
    parse_fails("max=500ms base=1s", MG_EPOLICY, 10);
    parse_fails("gentle base=4s", MG_EPOLICY, 7);
    parse_fails("retries=2 multiplier=0.5", MG_EPOLICY, 10);
    parse_fails("multiplier=0", MG_EPOLICY, 0);
    parse_fails("multiplier=0.99999999999999999999", MG_EPOLICY, 0);
    parse_fails("multiplier=1e-400", MG_EPOLICY, 0);
    /* Syntax errors win over an invalid combination seen earlier. */
    parse_fails("max=50ms retries=x", MG_EPARSE, 9);
}

static void test_policy_string__null_arguments(void **state)
{
    mg_policy p;
    size_t off = NO_OFFSET;

    (void)state;
    assert_int_equal(mg_policy_parse(NULL, "default", &off), MG_EINVAL);
    assert_int_equal(off, 0);
    poison(&p);
    off = NO_OFFSET;
    assert_int_equal(mg_policy_parse(&p, NULL, &off), MG_EINVAL);
    assert_int_equal(off, 0);
    assert_true(is_poisoned(&p));
    assert_int_equal(mg_policy_parse(NULL, NULL, NULL), MG_EINVAL);
}

/* ---- the multiplier ---- */

static void test_policy_string__multiplier_is_the_nearest_double(void **state)
{
    static const char *const texts[] = {
        "1", "2", "1.5", "1.1", "1.01", "3.14159265358979323846",
        "1e3", "1E3", "1.5e+2", "150e-2", "0.00015e4", "10",
        "1.0000000000000002", "1.00000000000000011", "4503599627370497.5",
        "9007199254740993", "9007199254740995", "123456789012345678901234",
        "1e22", "1e23", "1.7976931348623157e308", "1.7976931348623158e308",
        "2.2250738585072014e10", "00001.5000000000000000000000000000",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof texts / sizeof texts[0]; i++)
        assert_same_double(parse_multiplier(texts[i]),
                           strtod(texts[i], NULL));
}

static void test_policy_string__multiplier_syntax_errors(void **state)
{
    static const char *const bad[] = {
        "multiplier=",     "multiplier=1.",   "multiplier=.5",
        "multiplier=1e",   "multiplier=1e+",  "multiplier=1.5.2",
        "multiplier=0x2",  "multiplier=inf", "multiplier=nan",
        "multiplier=-2",   "multiplier=+2",   "multiplier=1,5",
        "multiplier=2x",   "multiplier=1e5s", "multiplier=e5",
        "multiplier=1.e5",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        parse_fails(bad[i], MG_EPARSE, 0);
}

static void test_policy_string__multiplier_overflow_is_erange(void **state)
{
    (void)state;
    parse_fails("multiplier=1e309", MG_ERANGE, 0);
    parse_fails("multiplier=1e99999999999999999999", MG_ERANGE, 0);
    /* Just past the midpoint between DBL_MAX and 2^1024. */
    parse_fails("multiplier=1.7976931348623159e308", MG_ERANGE, 0);
    parse_fails("retries=1 multiplier=17976931348623159" /* 292 zeros */
                "0000000000000000000000000000000000000000000000000000000000"
                "0000000000000000000000000000000000000000000000000000000000"
                "0000000000000000000000000000000000000000000000000000000000"
                "0000000000000000000000000000000000000000000000000000000000"
                "0000000000000000000000000000000000000000000000000000000000"
                "00",
                MG_ERANGE, 10);
    assert_same_double(parse_multiplier("1.79769313486231580793e308"),
                       DBL_MAX);
}

static void test_policy_string__multiplier_digit_limit(void **state)
{
    char text[1200];
    size_t i;

    (void)state;
    /* 800 significant digits are read exactly, 801 are refused. */
    text[0] = '1';
    text[1] = '.';
    for (i = 2; i < 800; i++)
        text[i] = '0';
    text[800] = '1';
    text[801] = '\0';
    assert_same_double(parse_multiplier(text), 1.0);
    text[801] = '1';
    text[802] = '\0';
    {
        char buf[1300];

        snprintf(buf, sizeof buf, "multiplier=%s", text);
        parse_fails(buf, MG_ERANGE, 0);
    }
    /* Zeros around the significant digits do not count. */
    memset(text, '0', 500);
    memcpy(text + 500, "1.5", 3);
    memset(text + 503, '0', 600);
    text[1103] = '\0';
    assert_same_double(parse_multiplier(text), 1.5);
}

/* Decimal strings of every shape, against strtod. */
static void test_policy_string__multiplier_agrees_with_strtod(void **state)
{
    uint64_t seed = 0x5EED0001;
    int n;

    (void)state;
    for (n = 0; n < 20000; n++) {
        char text[128];
        size_t len = 0;
        int nint = 1 + (int)(rnd(&seed) % 20);
        int nfrac = (int)(rnd(&seed) % 25);
        int i;
        double want;

        text[len++] = (char)('1' + rnd(&seed) % 9);
        for (i = 1; i < nint; i++)
            text[len++] = (char)('0' + rnd(&seed) % 10);
        if (nfrac > 0) {
            text[len++] = '.';
            for (i = 0; i < nfrac; i++)
                text[len++] = (char)('0' + rnd(&seed) % 10);
        }
        if (rnd(&seed) % 3 == 0)
            len += (size_t)snprintf(text + len, sizeof text - len, "e%d",
                                    (int)(rnd(&seed) % 300));
        text[len] = '\0';
        want = strtod(text, NULL);
        if (isinf(want)) {
            char buf[160];

            snprintf(buf, sizeof buf, "multiplier=%s", text);
            parse_fails(buf, MG_ERANGE, 0);
        } else {
            assert_same_double(parse_multiplier(text), want);
        }
    }
}

#if LDBL_MANT_DIG >= 64
/* Exact midpoints between neighbouring doubles (printed exactly from a
 * long double, which holds them) round to the even neighbour, and points
 * just beside them to the nearer one. */
static void test_policy_string__multiplier_ties_go_to_even(void **state)
{
    uint64_t seed = 0x71E5;
    int n;

    (void)state;
    for (n = 0; n < 3000; n++) {
        /* x in [1, 2^40): long double has 11 spare bits below the ulp. */
        double x = 1.0 + (double)(rnd(&seed) >> 24) /
                             (double)(UINT64_C(1) << (rnd(&seed) % 40));
        double next = next_up(x);
        long double mid = ((long double)x + (long double)next) / 2;
        char text[256];
        uint64_t bits;
        double even;

        /* valgrind computes long double in double precision: the
         * midpoint then collapses onto x or next and proves nothing. */
        if (!(mid > (long double)x && mid < (long double)next))
            skip();
        memcpy(&bits, &x, sizeof bits);
        even = (bits & 1u) ? next : x;
        snprintf(text, sizeof text, "%.120Lf", mid);
        assert_same_double(parse_multiplier(text), even);
        snprintf(text, sizeof text, "%.120Lf",
                 mid + (mid - (long double)x) / 1024);
        assert_same_double(parse_multiplier(text), next);
        snprintf(text, sizeof text, "%.120Lf",
                 mid - (mid - (long double)x) / 1024);
        assert_same_double(parse_multiplier(text), x);
    }
}
#endif

static void test_policy_string__parse_ignores_the_locale(void **state)
{
    static const char *const locales[] = {"de_DE.UTF-8", "fr_FR.UTF-8",
                                          "de_DE", "C.UTF-8"};
    const char *set = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof locales / sizeof locales[0] && set == NULL; i++)
        set = setlocale(LC_ALL, locales[i]);
    if (set == NULL)
        skip();
    assert_true(parse_multiplier("1.5") == 1.5);
    {
        mg_policy p = MG_POLICY_INIT;
        char buf[256];

        p.multiplier = 1.25;
        assert_int_equal(mg_policy_format(&p, buf, sizeof buf, NULL), MG_OK);
        assert_non_null(strstr(buf, " multiplier=1.25 "));
    }
    setlocale(LC_ALL, "C");
}

/* ---- formatting ---- */

static void test_policy_string__format_default_matches_header(void **state)
{
    const mg_policy p = MG_POLICY_DEFAULT_INIT;
    char buf[256];
    size_t needed = 0;

    (void)state;
    assert_int_equal(mg_policy_format(&p, buf, sizeof buf, &needed), MG_OK);
    /* The example in the header comment of mg_policy_format. */
    assert_string_equal(buf, "retries=3 base=100ms max=5s jitter=proportional "
                             "multiplier=2 deadline=0 pushback=1m");
    assert_int_equal(needed, strlen(buf));
}

static void test_policy_string__format_uses_largest_exact_unit(void **state)
{
    mg_policy p = MG_POLICY_INIT;
    char buf[256];

    (void)state;
    p.base_delay_ms = 1500;  /* not whole seconds */
    p.max_delay_ms = 61000;  /* whole seconds, not minutes */
    p.max_elapsed_ms = 7200000;
    p.max_pushback_ms = UINT64_MAX;
    assert_int_equal(mg_policy_format(&p, buf, sizeof buf, NULL), MG_OK);
    assert_non_null(strstr(buf, " base=1500ms "));
    assert_non_null(strstr(buf, " max=61s "));
    assert_non_null(strstr(buf, " deadline=120m "));
    assert_non_null(strstr(buf, " pushback=18446744073709551615ms"));
}

static void test_policy_string__format_truncates_like_snprintf(void **state)
{
    const mg_policy p = MG_POLICY_AGGRESSIVE_INIT;
    char full[256], buf[256];
    size_t needed = 0, n2 = 0, size;

    (void)state;
    assert_int_equal(mg_policy_format(&p, full, sizeof full, &needed), MG_OK);
    assert_int_equal(needed, strlen(full));
    assert_int_equal(mg_policy_format(&p, NULL, 0, &n2), MG_ETOOSMALL);
    assert_int_equal(n2, needed);
    for (size = 1; size <= needed; size++) {
        memset(buf, 'X', sizeof buf);
        assert_int_equal(mg_policy_format(&p, buf, size, NULL), MG_ETOOSMALL);
        assert_int_equal(strlen(buf), size - 1);
        assert_memory_equal(buf, full, size - 1);
        assert_int_equal(buf[size], 'X'); /* nothing past size */
    }
    assert_int_equal(mg_policy_format(&p, buf, needed + 1, NULL), MG_OK);
    assert_string_equal(buf, full);
}

static void test_policy_string__format_rejects_bad_arguments(void **state)
{
    mg_policy p = MG_POLICY_INIT;
    char buf[64];
    size_t needed = 12345;

    (void)state;
    assert_int_equal(mg_policy_format(NULL, buf, sizeof buf, &needed),
                     MG_EINVAL);
    assert_int_equal(mg_policy_format(&p, NULL, 1, &needed), MG_EINVAL);
    memset(buf, 'X', sizeof buf);
    p.base_delay_ms = p.max_delay_ms + 1;
    assert_int_equal(mg_policy_format(&p, buf, sizeof buf, &needed),
                     MG_EPOLICY);
    p = (mg_policy)MG_POLICY_INIT;
    p.multiplier = NAN;
    assert_int_equal(mg_policy_format(&p, buf, sizeof buf, &needed),
                     MG_EPOLICY);
    p.multiplier = INFINITY;
    assert_int_equal(mg_policy_format(&p, buf, sizeof buf, &needed),
                     MG_EPOLICY);
    p = (mg_policy)MG_POLICY_INIT;
    p.version = 0;
    assert_int_equal(mg_policy_format(&p, buf, sizeof buf, &needed),
                     MG_EVERSION);
    assert_int_equal(buf[0], 'X');
    assert_int_equal(needed, 12345);
}

/* The multiplier's text from a formatted policy. */
static const char *multiplier_text(const char *formatted, char *out)
{
    const char *m = strstr(formatted, " multiplier=");
    size_t n;

    assert_non_null(m);
    m += strlen(" multiplier=");
    n = strcspn(m, " ");
    memcpy(out, m, n);
    out[n] = '\0';
    return out;
}

/* Significant digits of a decimal text: no sign, point, exponent or
 * leading and trailing zeros. */
static size_t significant_digits(const char *t)
{
    char d[64];
    size_t n = 0, first = 0;

    for (; *t != '\0' && *t != 'e' && *t != 'E'; t++)
        if (*t >= '0' && *t <= '9')
            d[n++] = *t;
    while (first < n && d[first] == '0')
        first++;
    while (n > first && d[n - 1] == '0')
        n--;
    return n - first;
}

static void check_multiplier_text(double x)
{
    mg_policy p = MG_POLICY_INIT, back;
    char buf[256], m[64], ref[64];
    int prec;

    p.multiplier = x;
    assert_int_equal(mg_policy_format(&p, buf, sizeof buf, NULL), MG_OK);
    multiplier_text(buf, m);
    /* Read back by the C library, the text is the same double... */
    assert_same_double(strtod(m, NULL), x);
    /* ...and no longer than the shortest %.Ng that strtod reads back. */
    for (prec = 1; prec <= 17; prec++) {
        snprintf(ref, sizeof ref, "%.*g", prec, x);
        if (strtod(ref, NULL) == x)
            break;
    }
    if (significant_digits(m) > significant_digits(ref))
        fail_msg("%.17g formatted as %s, but %s is shorter", x, m, ref);
    back = parse_ok(buf);
    assert_policy_equal(&back, &p);
}

static void test_policy_string__format_multiplier_shortest(void **state)
{
    static const double xs[] = {1.0, 1.1, 1.5, 2.0, 1.01, 3.0, 1e20, 1e21, 1e22,
                                123456789.125, 9007199254740993.0,
                                1.0000000000000002, DBL_MAX};
    char buf[256], m[64];
    mg_policy p = MG_POLICY_INIT;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof xs / sizeof xs[0]; i++)
        check_multiplier_text(xs[i]);
    /* Familiar shortest forms. */
    p.multiplier = 1.1;
    assert_int_equal(mg_policy_format(&p, buf, sizeof buf, NULL), MG_OK);
    assert_string_equal(multiplier_text(buf, m), "1.1");
    /* Plain up to 21 integer digits, then an exponent. */
    p.multiplier = 1e20;
    assert_int_equal(mg_policy_format(&p, buf, sizeof buf, NULL), MG_OK);
    assert_string_equal(multiplier_text(buf, m), "100000000000000000000");
    p.multiplier = 1e21;
    assert_int_equal(mg_policy_format(&p, buf, sizeof buf, NULL), MG_OK);
    assert_string_equal(multiplier_text(buf, m), "1e21");
}

/* Every field random, every multiplier bit pattern >= 1. */
static void test_policy_string__round_trip_random_policies(void **state)
{
    uint64_t seed = 0xC0FFEE;
    int n;

    (void)state;
    for (n = 0; n < 20000; n++) {
        mg_policy p = MG_POLICY_INIT, back;
        char buf[256], buf2[256];
        size_t needed = 0, off = NO_OFFSET;
        uint64_t r = rnd(&seed), a, b;

        /* Durations: small, whole seconds or minutes, or anything. */
        switch (r % 4) {
        case 0:
            a = rnd(&seed) % 100000;
            break;
        case 1:
            a = rnd(&seed) % 100000 * 1000;
            break;
        case 2:
            a = rnd(&seed) % 100000 * 60000;
            break;
        default:
            a = rnd(&seed);
            break;
        }
        if (rnd(&seed) % 2 == 0)
            b = a;
        else if (a == 0) /* the span [a, UINT64_MAX] holds 2^64 values */
            b = rnd(&seed);
        else
            b = a + rnd(&seed) % (UINT64_MAX - a + 1);
        p.max_retries = (uint32_t)rnd(&seed);
        p.base_delay_ms = a;
        p.max_delay_ms = b;
        p.jitter = (uint32_t)(rnd(&seed) % 5);
        p.max_elapsed_ms = rnd(&seed) % 3 ? rnd(&seed) % 3600000 : 0;
        p.max_pushback_ms = rnd(&seed) >> (rnd(&seed) % 64);
        switch (rnd(&seed) % 3) {
        case 0: { /* any double in [1, DBL_MAX] */
            uint64_t bits = (uint64_t)(1023 + rnd(&seed) % 1024) << 52 |
                            (rnd(&seed) & ((UINT64_C(1) << 52) - 1));
            memcpy(&p.multiplier, &bits, sizeof bits);
            break;
        }
        case 1: /* a short decimal like 1.1 or 2.75 */
            p.multiplier = 1.0 + (double)(rnd(&seed) % 1000) / 100.0;
            break;
        default: /* just above 1 */
            p.multiplier = 1.0 + (double)(rnd(&seed) % 1000) * DBL_EPSILON;
            break;
        }
        if (p.multiplier == INFINITY)
            p.multiplier = DBL_MAX;
        assert_int_equal(mg_policy_format(&p, buf, sizeof buf, &needed),
                         MG_OK);
        assert_true(needed < 256);
        poison(&back);
        if (mg_policy_parse(&back, buf, &off) != MG_OK)
            fail_msg("\"%s\" does not parse back (offset %zu)", buf, off);
        assert_policy_equal(&back, &p);
        /* And formatting again gives the same text. */
        assert_int_equal(mg_policy_format(&back, buf2, sizeof buf2, NULL),
                         MG_OK);
        assert_string_equal(buf, buf2);
        if (n % 16 == 0)
            check_multiplier_text(p.multiplier);
    }
}

static void test_policy_string__round_trip_edge_policies(void **state)
{
    mg_policy edges[6];
    size_t i;

    (void)state;
    for (i = 0; i < 6; i++)
        edges[i] = (mg_policy)MG_POLICY_INIT;
    edges[0].max_retries = 0;
    edges[0].base_delay_ms = 0;
    edges[0].max_delay_ms = 0;
    edges[0].max_pushback_ms = 0;
    edges[1].max_retries = UINT32_MAX;
    edges[1].base_delay_ms = UINT64_MAX;
    edges[1].max_delay_ms = UINT64_MAX;
    edges[1].max_elapsed_ms = UINT64_MAX;
    edges[1].max_pushback_ms = UINT64_MAX;
    edges[2].multiplier = 1.0;
    edges[3].multiplier = DBL_MAX;
    edges[4].multiplier = next_up(1.0);
    edges[5].jitter = MG_JITTER_DECORRELATED;
    edges[5].multiplier = 1.1;
    for (i = 0; i < 6; i++) {
        char buf[256];
        mg_policy back;

        assert_int_equal(mg_policy_format(&edges[i], buf, sizeof buf, NULL),
                         MG_OK);
        back = parse_ok(buf);
        assert_policy_equal(&back, &edges[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_string__parses_the_issue_example),
        cmocka_unit_test(test_policy_string__preset_names_alone_give_the_presets),
        cmocka_unit_test(test_policy_string__preset_then_overrides),
        cmocka_unit_test(test_policy_string__no_preset_starts_from_default),
        cmocka_unit_test(test_policy_string__preset_must_come_first),
        cmocka_unit_test(test_policy_string__durations_take_ms_s_m),
        cmocka_unit_test(test_policy_string__durations_need_a_known_unit),
        cmocka_unit_test(test_policy_string__durations_reject_overflow),
        cmocka_unit_test(test_policy_string__retries_edges),
        cmocka_unit_test(test_policy_string__every_jitter_name),
        cmocka_unit_test(test_policy_string__empty_input_is_eparse),
        cmocka_unit_test(test_policy_string__unknown_and_duplicate_keys),
        cmocka_unit_test(test_policy_string__items_need_key_equals_value),
        cmocka_unit_test(test_policy_string__invalid_result_is_epolicy_at_fault),
        cmocka_unit_test(test_policy_string__null_arguments),
        cmocka_unit_test(test_policy_string__multiplier_is_the_nearest_double),
        cmocka_unit_test(test_policy_string__multiplier_syntax_errors),
        cmocka_unit_test(test_policy_string__multiplier_overflow_is_erange),
        cmocka_unit_test(test_policy_string__multiplier_digit_limit),
        cmocka_unit_test(test_policy_string__multiplier_agrees_with_strtod),
#if LDBL_MANT_DIG >= 64
        cmocka_unit_test(test_policy_string__multiplier_ties_go_to_even),
#endif
        cmocka_unit_test(test_policy_string__parse_ignores_the_locale),
        cmocka_unit_test(test_policy_string__format_default_matches_header),
        cmocka_unit_test(test_policy_string__format_uses_largest_exact_unit),
        cmocka_unit_test(test_policy_string__format_truncates_like_snprintf),
        cmocka_unit_test(test_policy_string__format_rejects_bad_arguments),
        cmocka_unit_test(test_policy_string__format_multiplier_shortest),
        cmocka_unit_test(test_policy_string__round_trip_random_policies),
        cmocka_unit_test(test_policy_string__round_trip_edge_policies),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
