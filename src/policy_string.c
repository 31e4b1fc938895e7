/* SPDX-License-Identifier: MIT */
/*
 * Policy strings: mg_policy_parse() reads the compact text form of a policy
 * ("aggressive max=2s" or "retries=5 base=50ms jitter=full multiplier=1.5")
 * and mg_policy_format() writes it back, so that a policy can live in an
 * environment variable, a command line or a configuration file. Both are
 * independent of the locale (no isspace, strtod or printf of a double) and
 * allocate nothing. The multiplier is converted exactly in both directions
 * with a small fixed-size big-integer arithmetic on the stack: parsing
 * rounds the decimal correctly to the nearest double (ties to even), and
 * formatting writes the shortest decimal that parses back to the same
 * double, so format then parse always gives back an identical policy.
 */
#include <float.h>
#include <string.h>

#include "mg_internal.h"

_Static_assert(FLT_RADIX == 2 && DBL_MANT_DIG == 53 && DBL_MAX_EXP == 1024,
               "the multiplier conversion assumes IEEE 754 binary64");
_Static_assert(sizeof(double) == sizeof(uint64_t),
               "the multiplier conversion reads a double's bits");

/* ------------------------------------------------------------------------
 * Fixed-size unsigned big integers, little-endian 32-bit limbs
 * ---------------------------------------------------------------------- */

/* The largest numbers built: a decimal of MG_MAX_DIGITS significant digits
 * (10^800 < 2^2658) or its power-of-ten denominator, shifted left by at
 * most 57 bits; the binary expansion of DBL_MAX (1024 bits). */
#define MG_MAX_DIGITS 800
#define MG_BIG_LIMBS 88 /* 2816 bits */

typedef struct mg_big {
    size_t n; /* limbs in use; w[n - 1] != 0, n == 0 for zero */
    uint32_t w[MG_BIG_LIMBS];
} mg_big;

static void big_set_u64(mg_big *b, uint64_t v)
{
    b->n = 0;
    while (v != 0) {
        b->w[b->n++] = (uint32_t)v;
        v >>= 32;
    }
}

/* b = b * m + add; false when the result would not fit (never happens
 * within the bounds above, but checked rather than assumed). */
static bool big_mul_add(mg_big *b, uint32_t m, uint32_t add)
{
    uint64_t carry = add;
    size_t i;

    for (i = 0; i < b->n; i++) {
        uint64_t t = (uint64_t)b->w[i] * m + carry;
        b->w[i] = (uint32_t)t;
        carry = t >> 32;
    }
    if (carry != 0) {
        if (b->n == MG_BIG_LIMBS)
            return false;
        b->w[b->n++] = (uint32_t)carry;
    }
    while (b->n > 0 && b->w[b->n - 1] == 0)
        b->n--;
    return true;
}

/* b *= base^k, for base 5 or 10 (13 and 9 factors fit a 32-bit limb). */
static bool big_mul_pow(mg_big *b, uint32_t base, uint32_t k)
{
    const uint32_t chunk = base == 5 ? 13 : 9;
    const uint32_t big = base == 5 ? 1220703125u : 1000000000u;

    while (k >= chunk) {
        if (!big_mul_add(b, big, 0))
            return false;
        k -= chunk;
    }
    for (; k > 0; k--) /* not k-- > 0: that wraps k at the end */
        if (!big_mul_add(b, base, 0))
            return false;
    return true;
}

static size_t big_bitlen(const mg_big *b)
{
    uint32_t top;
    size_t bits;

    if (b->n == 0)
        return 0;
    top = b->w[b->n - 1];
    bits = (b->n - 1) * 32;
    while (top != 0) {
        bits++;
        top >>= 1;
    }
    return bits;
}

static bool big_shl(mg_big *b, size_t s)
{
    const size_t limbs = s / 32;
    const unsigned bits = (unsigned)(s % 32);
    size_t i, n;

    if (b->n == 0)
        return true;
    n = b->n + limbs + 1;
    if (n > MG_BIG_LIMBS) {
        /* The extra top limb may stay zero; anything else does not fit. */
        if (big_bitlen(b) + s > MG_BIG_LIMBS * 32)
            return false;
        n = MG_BIG_LIMBS;
    }
    /* Top down, so that each source limb is read before it is
     * overwritten; i runs n..1 and never wraps below 0. */
    for (i = n; i > 0;) {
        uint64_t hi = 0, lo = 0;

        i--;
        if (i >= limbs && i - limbs < b->n)
            hi = b->w[i - limbs];
        if (i >= limbs + 1 && i - limbs - 1 < b->n)
            lo = b->w[i - limbs - 1];
        b->w[i] = (uint32_t)(((hi << 32 | lo) << bits) >> 32);
    }
    b->n = n;
    while (b->n > 0 && b->w[b->n - 1] == 0)
        b->n--;
    return true;
}

static void big_shr1(mg_big *b)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        uint32_t next = i + 1 < b->n ? b->w[i + 1] : 0;
        b->w[i] = (b->w[i] >> 1) | (uint32_t)(next << 31);
    }
    while (b->n > 0 && b->w[b->n - 1] == 0)
        b->n--;
}

static int big_cmp(const mg_big *a, const mg_big *b)
{
    size_t i;

    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (i = a->n; i > 0; i--)
        if (a->w[i - 1] != b->w[i - 1])
            return a->w[i - 1] < b->w[i - 1] ? -1 : 1;
    return 0;
}

/* a -= b, for a >= b. */
static void big_sub(mg_big *a, const mg_big *b)
{
    uint32_t borrow = 0;
    size_t i;

    for (i = 0; i < a->n; i++) {
        const uint64_t sub = (uint64_t)(i < b->n ? b->w[i] : 0) + borrow;
        /* Borrow 2^32 up front: sub <= 2^32, so nothing wraps. */
        const uint64_t diff = ((uint64_t)a->w[i] | (uint64_t)1 << 32) - sub;

        a->w[i] = (uint32_t)diff;
        borrow = diff >> 32 == 0;
    }
    while (a->n > 0 && a->w[a->n - 1] == 0)
        a->n--;
}

/* b /= d, returning the remainder. */
static uint32_t big_div_small(mg_big *b, uint32_t d)
{
    uint64_t rem = 0;
    size_t i;

    for (i = b->n; i > 0; i--) {
        const uint64_t cur = rem << 32 | b->w[i - 1];

        b->w[i - 1] = (uint32_t)(cur / d);
        rem = cur % d;
    }
    while (b->n > 0 && b->w[b->n - 1] == 0)
        b->n--;
    return (uint32_t)rem;
}

/* ------------------------------------------------------------------------
 * Exact decimal <-> double conversion for values >= 1
 * ---------------------------------------------------------------------- */

static double bits_to_double(uint64_t bits)
{
    double d;

    memcpy(&d, &bits, sizeof d);
    return d;
}

static uint64_t double_to_bits(double d)
{
    uint64_t bits;

    memcpy(&bits, &d, sizeof bits);
    return bits;
}

/*
 * The double nearest to digits * 10^exp10 (ties to even), where `digits`
 * holds nd decimal digits, the first one not 0, nd <= MG_MAX_DIGITS.
 * Values below 1 give 0.0 (no policy accepts a multiplier below 1, so
 * their exact value is never needed). MG_ERANGE when the value rounds to
 * 2^1024 or more (no double holds it).
 *
 * With num / den = the value, Q = floor(num * 2^s / den) is computed by
 * binary long division with s chosen so that 2^55 <= Q < 2^57; the bits
 * below Q's top 53 and the remainder decide the rounding exactly.
 */
static int decimal_to_double(const char *digits, size_t nd, long exp10,
                             double *out)
{
    mg_big num, den, t;
    long dexp = (long)nd + exp10; /* value in [10^(dexp-1), 10^dexp) */
    size_t a, b, i, drop;
    long s, e2;
    uint64_t q = 0, m, rem, half;
    bool sticky;

    if (dexp <= 0) {
        *out = 0.0;
        return MG_OK;
    }
    if (dexp > DBL_MAX_10_EXP + 1)
        return MG_ERANGE;
    big_set_u64(&num, 0);
    for (i = 0; i < nd; i++)
        if (!big_mul_add(&num, 10, (uint32_t)(digits[i] - '0')))
            return MG_ERANGE;
    big_set_u64(&den, 1);
    if (exp10 >= 0) {
        if (!big_mul_pow(&num, 10, (uint32_t)exp10))
            return MG_ERANGE;
    } else if (!big_mul_pow(&den, 10, (uint32_t)-exp10)) {
        return MG_ERANGE;
    }
    a = big_bitlen(&num);
    b = big_bitlen(&den);
    /* num / den in (2^(a-1-b), 2^(a-b+1)), so Q in [2^55, 2^57). */
    s = 56 + (long)b - (long)a;
    if (s >= 0 ? !big_shl(&num, (size_t)s) : !big_shl(&den, (size_t)-s))
        return MG_ERANGE;
    t = den;
    if (!big_shl(&t, 56))
        return MG_ERANGE;
    for (i = 57; i > 0; i--) {
        if (big_cmp(&num, &t) >= 0) {
            big_sub(&num, &t);
            q |= (uint64_t)1 << (i - 1);
        }
        big_shr1(&t);
    }
    sticky = num.n != 0;
    drop = q >> 56 ? 4 : 3; /* Q has 57 or 56 bits; keep 53 */
    m = q >> drop;
    rem = q & (((uint64_t)1 << drop) - 1);
    half = (uint64_t)1 << (drop - 1);
    if (rem > half || (rem == half && (sticky || (m & 1u))))
        m++;
    if (m >> 53) { /* rounded up to 2^53 */
        m >>= 1;
        drop++;
    }
    e2 = (long)drop - s; /* value = m * 2^e2, 2^52 <= m < 2^53 */
    if (e2 + 52 > 1023)
        return MG_ERANGE;
    if (e2 + 52 < 0) { /* cannot happen for dexp >= 1; kept as a guard */
        *out = 0.0;
        return MG_OK;
    }
    *out = bits_to_double((uint64_t)(e2 + 52 + 1023) << 52 |
                          (m & (((uint64_t)1 << 52) - 1)));
    return MG_OK;
}

/* Room for the exact decimal expansion of any double >= 1: up to 309
 * integer digits, or 16 integer and 52 fraction digits. */
#define MG_EXACT_DIGITS 320

/*
 * Writes the shortest decimal that decimal_to_double() turns back into x
 * (finite, >= 1) into out (at least 40 bytes), NUL-terminated; returns its
 * length. Plain notation up to 21 integer digits, "d.ddde<N>" beyond.
 */
static size_t format_multiplier(double x, char *out)
{
    const uint64_t bits = double_to_bits(x);
    const long e2 = (long)(bits >> 52 & 0x7FF) - 1075;
    const uint64_t mant = (bits & (((uint64_t)1 << 52) - 1)) | (uint64_t)1
                                                                    << 52;
    char exact[MG_EXACT_DIGITS];
    char digits[MG_EXACT_DIGITS];
    size_t nd = 0, p, len = 0, i;
    long frac, intdigits;
    mg_big n;

    /* x = mant * 2^e2 exactly: an integer, or mant * 5^-e2 / 10^-e2. */
    big_set_u64(&n, mant);
    if (e2 >= 0) {
        (void)big_shl(&n, (size_t)e2);
        frac = 0;
    } else {
        (void)big_mul_pow(&n, 5, (uint32_t)-e2);
        frac = -e2;
    }
    while (n.n != 0) { /* least significant digits first */
        uint32_t chunk = big_div_small(&n, 1000000000u);

        for (i = 0; i < 9 && (n.n != 0 || chunk != 0); i++) {
            exact[nd++] = (char)('0' + chunk % 10);
            chunk /= 10;
        }
    }
    for (i = 0; i < nd / 2; i++) { /* most significant first */
        char c = exact[i];
        exact[i] = exact[nd - 1 - i];
        exact[nd - 1 - i] = c;
    }
    intdigits = (long)nd - frac; /* >= 1 since x >= 1 */
    while (nd > 1 && exact[nd - 1] == '0')
        nd--;

    /* The shortest prefix that parses back to x: for each length p, the
     * nearer of the two p-digit neighbours of x first, then the other one
     * (either may hold x when its ulp is wide). At most 17 digits are ever
     * needed for a double; p == nd is the exact expansion itself. */
    for (p = 1;; p++) {
        int pass;

        if (p >= nd) {
            p = nd;
            memcpy(digits, exact, nd);
            break;
        }
        for (pass = 0; pass < 2; pass++) {
            const bool up = (exact[p] >= '5') == (pass == 0);
            long dexp = intdigits;
            double back;

            memcpy(digits, exact, p);
            if (up) {
                i = p;
                while (i > 0 && digits[i - 1] == '9')
                    digits[--i] = '0';
                if (i == 0) { /* 99..9 rounded up to 100..0 */
                    digits[0] = '1';
                    dexp++;
                } else {
                    digits[i - 1]++;
                }
            }
            if (decimal_to_double(digits, p, dexp - (long)p, &back) ==
                    MG_OK &&
                double_to_bits(back) == bits) {
                intdigits = dexp;
                goto found;
            }
        }
    }
found:
    while (p > 1 && digits[p - 1] == '0')
        p--;

    if (intdigits <= 21) {
        for (i = 0; i < (size_t)intdigits; i++)
            out[len++] = i < p ? digits[i] : '0';
        if (p > (size_t)intdigits) {
            out[len++] = '.';
            for (; i < p; i++)
                out[len++] = digits[i];
        }
    } else {
        char exp_rev[8];
        size_t ne = 0;
        long e = intdigits - 1;

        /* digits[0..p) with p >= 1 is copied from exact[] on every path
         * to "found"; the analyzer loses track of it. */
        /* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign) */
        out[len++] = digits[0];
        if (p > 1) {
            out[len++] = '.';
            for (i = 1; i < p; i++)
                out[len++] = digits[i];
        }
        out[len++] = 'e';
        while (e != 0) {
            exp_rev[ne++] = (char)('0' + e % 10);
            e /= 10;
        }
        while (ne > 0)
            out[len++] = exp_rev[--ne];
    }
    out[len] = '\0';
    return len;
}

/* ------------------------------------------------------------------------
 * The text form
 * ---------------------------------------------------------------------- */

enum mg_key {
    KEY_RETRIES,
    KEY_BASE,
    KEY_MAX,
    KEY_JITTER,
    KEY_MULTIPLIER,
    KEY_DEADLINE,
    KEY_PUSHBACK,
    KEY_COUNT_
};

static const char *const key_names[KEY_COUNT_] = {
    "retries", "base", "max", "jitter", "multiplier", "deadline", "pushback"};

/* Indexed by mg_jitter value. */
static const char *const jitter_names[] = {"none", "proportional", "full",
                                           "equal", "decorrelated"};

static const char *const preset_names[] = {"default", "aggressive", "gentle"};

/* The grammar's whitespace, independent of the locale. */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Whether [s, s + n) spells the NUL-terminated word exactly. */
static bool span_is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

/* A run of decimal digits [s, s + n) (n >= 1) as a uint64_t; MG_ERANGE
 * beyond UINT64_MAX. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        const uint64_t d = (uint64_t)(s[i] - '0');

        if (v > (UINT64_MAX - d) / 10)
            return MG_ERANGE;
        v = v * 10 + d;
    }
    *out = v;
    return MG_OK;
}

static size_t digit_run(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && is_digit(s[i]))
        i++;
    return i;
}

/* A count: digits only. */
static int parse_retries(const char *s, size_t n, uint32_t *out)
{
    uint64_t v;
    int rc;

    if (n == 0 || digit_run(s, n) != n)
        return MG_EPARSE;
    rc = parse_u64(s, n, &v);
    if (rc != MG_OK || v > UINT32_MAX)
        return MG_ERANGE;
    *out = (uint32_t)v;
    return MG_OK;
}

/* A duration: digits and a unit (ms, s, m); a bare 0 needs none. */
static int parse_duration(const char *s, size_t n, uint64_t *out)
{
    const size_t nd = digit_run(s, n);
    const char *unit = s + nd;
    const size_t nu = n - nd;
    uint64_t v, scale;

    if (nd == 0)
        return MG_EPARSE;
    if (span_is(unit, nu, "ms"))
        scale = 1;
    else if (span_is(unit, nu, "s"))
        scale = 1000;
    else if (span_is(unit, nu, "m"))
        scale = 60000;
    else if (nu == 0)
        scale = 0; /* only a zero may omit the unit */
    else
        return MG_EPARSE;
    if (parse_u64(s, nd, &v) != MG_OK)
        return MG_ERANGE;
    if (scale == 0) {
        if (v != 0)
            return MG_EPARSE;
        scale = 1;
    }
    if (v != 0 && scale > UINT64_MAX / v)
        return MG_ERANGE;
    *out = v * scale;
    return MG_OK;
}

static int parse_jitter(const char *s, size_t n, uint32_t *out)
{
    uint32_t i;

    for (i = 0; i < sizeof jitter_names / sizeof jitter_names[0]; i++) {
        if (span_is(s, n, jitter_names[i])) {
            *out = i;
            return MG_OK;
        }
    }
    return MG_EPARSE;
}

/*
 * A multiplier: DIGITS [ "." DIGITS ] [ ("e" | "E") [ "+" | "-" ] DIGITS ].
 * Values below 1 come back as 0.0 for validation to reject.
 */
static int parse_multiplier(const char *s, size_t n, double *out)
{
    char sig[MG_MAX_DIGITS];
    const size_t n_int = digit_run(s, n);
    size_t pos = n_int, f0 = 0, n_frac = 0, i, nd = 0, total;
    size_t first = SIZE_MAX, last = 0;
    long exp10 = 0;

    if (n_int == 0)
        return MG_EPARSE;
    if (pos < n && s[pos] == '.') {
        f0 = pos + 1;
        n_frac = digit_run(s + f0, n - f0);
        if (n_frac == 0)
            return MG_EPARSE;
        pos = f0 + n_frac;
    }
    if (pos < n && (s[pos] == 'e' || s[pos] == 'E')) {
        bool neg = false;
        size_t ne;

        pos++;
        if (pos < n && (s[pos] == '+' || s[pos] == '-'))
            neg = s[pos++] == '-';
        ne = digit_run(s + pos, n - pos);
        if (ne == 0)
            return MG_EPARSE;
        for (i = 0; i < ne; i++) /* saturate: far beyond any double */
            if (exp10 < 100000)
                exp10 = exp10 * 10 + (s[pos + i] - '0');
        if (neg)
            exp10 = -exp10;
        pos += ne;
    }
    if (pos != n)
        return MG_EPARSE;

    /* The digit sequence is int ++ frac; value = seq * 10^(exp10 -
     * n_frac). Keep it from the first to the last non-zero digit. */
    total = n_int + n_frac;
    for (i = 0; i < total; i++) {
        const char c = i < n_int ? s[i] : s[f0 + i - n_int];

        if (c != '0') {
            if (first == SIZE_MAX)
                first = i;
            last = i;
        }
    }
    if (first == SIZE_MAX) {
        *out = 0.0;
        return MG_OK;
    }
    if (last - first + 1 > MG_MAX_DIGITS)
        return MG_ERANGE;
    for (i = first; i <= last; i++)
        sig[nd++] = i < n_int ? s[i] : s[f0 + i - n_int];
    exp10 = exp10 - (long)n_frac + (long)(total - 1 - last);
    return decimal_to_double(sig, nd, exp10, out);
}

int mg_policy_parse(mg_policy *out, const char *text, size_t *error_offset)
{
    mg_policy p = MG_POLICY_INIT;
    size_t offsets[KEY_COUNT_] = {0};
    unsigned seen = 0;
    size_t pos = 0, items = 0, bad = 0;
    int rc = MG_OK;

    if (out == NULL || text == NULL) {
        if (error_offset != NULL)
            *error_offset = 0;
        return MG_EINVAL;
    }
    for (;;) {
        const char *item, *eq, *val;
        size_t start, len, klen, vlen;
        unsigned k;

        while (is_space(text[pos]))
            pos++;
        if (text[pos] == '\0')
            break;
        start = pos;
        item = text + pos;
        while (text[pos] != '\0' && !is_space(text[pos]))
            pos++;
        len = pos - start;
        bad = start;
        items++;

        eq = memchr(item, '=', len);
        if (eq == NULL) {
            int preset;

            /* Only the first item may be a bare preset name. */
            rc = MG_EPARSE;
            if (items != 1)
                goto fail;
            for (preset = 0; preset < 3; preset++)
                if (span_is(item, len, preset_names[preset]))
                    break;
            if (preset == 3)
                goto fail;
            (void)mg_policy_preset(&p, preset);
            continue;
        }
        klen = (size_t)(eq - item);
        val = eq + 1;
        vlen = len - klen - 1;
        for (k = 0; k < KEY_COUNT_; k++)
            if (span_is(item, klen, key_names[k]))
                break;
        if (k == KEY_COUNT_ || (seen & 1u << k)) {
            rc = MG_EPARSE; /* unknown or duplicate key */
            goto fail;
        }
        seen |= 1u << k;
        offsets[k] = start;
        switch (k) {
        case KEY_RETRIES:
            rc = parse_retries(val, vlen, &p.max_retries);
            break;
        case KEY_BASE:
            rc = parse_duration(val, vlen, &p.base_delay_ms);
            break;
        case KEY_MAX:
            rc = parse_duration(val, vlen, &p.max_delay_ms);
            break;
        case KEY_JITTER:
            rc = parse_jitter(val, vlen, &p.jitter);
            break;
        case KEY_MULTIPLIER:
            rc = parse_multiplier(val, vlen, &p.multiplier);
            break;
        case KEY_DEADLINE:
            rc = parse_duration(val, vlen, &p.max_elapsed_ms);
            break;
        default: /* KEY_PUSHBACK */
            rc = parse_duration(val, vlen, &p.max_pushback_ms);
            break;
        }
        if (rc != MG_OK)
            goto fail;
    }
    if (items == 0) {
        rc = MG_EPARSE;
        bad = 0;
        goto fail;
    }
    if (mg_policy_validate(&p, NULL) != MG_OK) {
        /* Blame the item that made the policy invalid: the multiplier,
         * or whichever of base and max came last (a preset alone is
         * always valid, so at least one of them was given). */
        rc = MG_EPOLICY;
        if (p.multiplier < 1.0)
            bad = offsets[KEY_MULTIPLIER];
        else if (!(seen & 1u << KEY_MAX) ||
                 ((seen & 1u << KEY_BASE) &&
                  offsets[KEY_BASE] > offsets[KEY_MAX]))
            bad = offsets[KEY_BASE];
        else
            bad = offsets[KEY_MAX];
        goto fail;
    }
    *out = p;
    return MG_OK;

fail:
    if (error_offset != NULL)
        *error_offset = bad;
    return rc;
}

/* Appends a duration in its largest exact unit; a zero is a bare 0. */
static size_t put_duration(char *out, uint64_t ms)
{
    const char *unit = "ms";
    char rev[24];
    size_t n = 0, len = 0;

    if (ms == 0) {
        out[0] = '0';
        return 1;
    }
    if (ms % 60000 == 0) {
        ms /= 60000;
        unit = "m";
    } else if (ms % 1000 == 0) {
        ms /= 1000;
        unit = "s";
    }
    while (ms != 0) {
        rev[n++] = (char)('0' + ms % 10);
        ms /= 10;
    }
    while (n > 0)
        out[len++] = rev[--n];
    while (*unit != '\0')
        out[len++] = *unit++;
    return len;
}

static size_t put_str(char *out, const char *s)
{
    const size_t n = strlen(s);

    memcpy(out, s, n);
    return n;
}

int mg_policy_format(const mg_policy *policy, char *buf, size_t size,
                     size_t *needed)
{
    /* Longest form: 7 keys, 4 durations of 20 digits + unit, a 10-digit
     * count, "decorrelated", a multiplier of at most 39 bytes. */
    char text[256];
    size_t len = 0;
    int rc;

    if (policy == NULL || (buf == NULL && size > 0))
        return MG_EINVAL;
    rc = mg_policy_validate(policy, NULL);
    if (rc != MG_OK)
        return rc;

    len += put_str(text + len, "retries=");
    {
        char rev[12];
        size_t n = 0;
        uint32_t r = policy->max_retries;

        do {
            rev[n++] = (char)('0' + r % 10);
            r /= 10;
        } while (r != 0);
        while (n > 0)
            text[len++] = rev[--n];
    }
    len += put_str(text + len, " base=");
    len += put_duration(text + len, policy->base_delay_ms);
    len += put_str(text + len, " max=");
    len += put_duration(text + len, policy->max_delay_ms);
    len += put_str(text + len, " jitter=");
    len += put_str(text + len, jitter_names[policy->jitter]);
    len += put_str(text + len, " multiplier=");
    len += format_multiplier(policy->multiplier, text + len);
    len += put_str(text + len, " deadline=");
    len += put_duration(text + len, policy->max_elapsed_ms);
    len += put_str(text + len, " pushback=");
    len += put_duration(text + len, policy->max_pushback_ms);
    text[len] = '\0';

    if (needed != NULL)
        *needed = len;
    if (size == 0)
        return MG_ETOOSMALL;
    if (len < size) {
        memcpy(buf, text, len + 1);
        return MG_OK;
    }
    memcpy(buf, text, size - 1);
    buf[size - 1] = '\0';
    return MG_ETOOSMALL;
}
