/* SPDX-License-Identifier: MIT */
/*
 * The backoff math: the nominal delay min(base * multiplier^k, max), the
 * five jitter modes built on it (the random sources live in random.c).
 * Everything here is a pure function of its arguments plus the random
 * source: no state, no allocation, no libm. Invariants kept for every
 * input a valid policy allows:
 *   - nothing overflows: integer math saturates, double math is only
 *     converted to an integer when it is strictly below max (as a double);
 *   - every delay returned is <= max_delay_ms;
 *   - the random source is called exactly once per delay whose range holds
 *     more than one value, and never otherwise (never in mode NONE).
 */
#include "mg_internal.h"

/*
 * base * m^k for m neither 1 nor 2, by squaring in double: O(log k)
 * multiplications, and an exit as soon as the result is known to reach
 * max. Precondition: 1 <= base <= max, m finite and > 1, k >= 1.
 * The running product and power only grow (m > 1), so once either reaches
 * max the result is max; an overflow to infinity is harmless for the
 * same reason. The result is the product rounded down. The final
 * clamp to >= base is a guard, not a correction: (double)base may round
 * down by half an ulp, but multiplying by any double m > 1 adds at least
 * one ulp, so the product should never fall below base; the guard keeps
 * retry 1 from ever being shorter than retry 0 whatever the rounding does.
 */
static uint64_t nominal_by_squaring(uint64_t base, uint64_t max, double m,
                                    uint32_t k)
{
    const double maxd = (double)max;
    double acc = (double)base;
    double sq = m;
    uint64_t r;

    for (;;) {
        if (k & 1u) {
            acc *= sq;
            if (acc >= maxd)
                return max;
        }
        k >>= 1;
        if (k == 0)
            break;
        sq *= sq;
        /* Some higher bit of k is still set, so acc will be multiplied by
         * at least this power: the result is at least sq >= max. */
        if (sq >= maxd)
            return max;
    }
    /* 0 <= acc < maxd <= 2^64: the conversion is defined. maxd may have
     * rounded up from max, hence the final min. */
    r = (uint64_t)acc;
    if (r > max)
        r = max;
    return r < base ? base : r;
}

/* The nominal delay for a policy already validated. */
static uint64_t nominal(const mg_policy *p, uint32_t k)
{
    const uint64_t base = p->base_delay_ms;
    const uint64_t max = p->max_delay_ms;

    if (base == 0 || k == 0 || p->multiplier == 1.0)
        return base;
    if (p->multiplier == 2.0) {
        /* base >= 1, so base << 64 would exceed any uint64_t max; below
         * that, base <= max >> k is exactly base << k <= max. */
        if (k >= 64 || base > (max >> k))
            return max;
        return base << k;
    }
    return nominal_by_squaring(base, max, p->multiplier, k);
}

int mg_backoff_nominal(const mg_policy *policy, uint32_t retry,
                       uint64_t *delay_ms)
{
    int rc;

    if (delay_ms == NULL)
        return MG_EINVAL;
    rc = mg_policy_validate(policy, NULL);
    if (MG_UNLIKELY(rc != MG_OK))
        return rc;
    *delay_ms = nominal(policy, retry);
    return MG_OK;
}

uint64_t mg__backoff_delay(const mg_policy *policy, uint32_t retry,
                           uint64_t prev_delay_ms, mg_random_fn random,
                           void *random_data)
{
    uint64_t lo, hi, d, span, bits;

    switch ((mg_jitter)policy->jitter) {
    case MG_JITTER_NONE:
        return nominal(policy, retry);
    case MG_JITTER_PROPORTIONAL:
        /* span = floor(0.3 d) without overflowing d * 3. The window
         * [d, d + span] slides down to end at max when it would pass it,
         * so at the cap it is [max - span, max]: still spread, still
         * capped. lo >= 0 because span <= d <= max. */
        d = nominal(policy, retry);
        span = d / 10 * 3 + d % 10 * 3 / 10;
        hi = mg__add_sat(d, span);
        if (hi > policy->max_delay_ms)
            hi = policy->max_delay_ms;
        lo = hi - span;
        break;
    case MG_JITTER_FULL:
        lo = 0;
        hi = nominal(policy, retry);
        break;
    case MG_JITTER_EQUAL:
        /* d/2 + [0, d - d/2]: the upper end is d itself, also for odd d. */
        d = nominal(policy, retry);
        lo = d / 2;
        hi = d;
        break;
    case MG_JITTER_DECORRELATED:
    default: /* validation admits no other mode */
        /* Independent of `retry`: the growth comes from the previous
         * delay. hi <= max bounds the result; lo <= hi / 2 <= hi. */
        d = prev_delay_ms != 0 ? prev_delay_ms : policy->base_delay_ms;
        hi = mg__mul_sat(d, 3);
        if (hi > policy->max_delay_ms)
            hi = policy->max_delay_ms;
        lo = policy->base_delay_ms < hi / 2 ? policy->base_delay_ms : hi / 2;
        break;
    }

    /* An empty range has one possible value: no randomness is drawn. */
    if (lo == hi)
        return lo;
    /* NULL is the common case: call the default source directly, which
     * saves an indirect call per jittered delay. */
    bits = random != NULL ? random(random_data) : mg__random_default(NULL);
    return lo + mg__uniform_incl(bits, hi - lo);
}

int mg_backoff_delay(const mg_policy *policy, uint32_t retry,
                     uint64_t prev_delay_ms, mg_random_fn random,
                     void *random_data, uint64_t *delay_ms)
{
    int rc;

    if (delay_ms == NULL)
        return MG_EINVAL;
    rc = mg_policy_validate(policy, NULL);
    if (MG_UNLIKELY(rc != MG_OK))
        return rc;
    *delay_ms = mg__backoff_delay(policy, retry, prev_delay_ms, random,
                                  random_data);
    return MG_OK;
}
