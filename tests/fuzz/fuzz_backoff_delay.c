/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for mg_backoff_delay() and mg_backoff_nominal(): an
 * arbitrary policy (made valid when the fuzzer asks), retry number,
 * previous delay and random bits. Checked: every delay is at most
 * max_delay_ms; the un-jittered delay is non-decreasing in the retry
 * number and never below base (nor above max); mode NONE gives exactly
 * the nominal delay; no UB, including unsigned wrap when built with
 * -fsanitize=unsigned-integer-overflow.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mg/retry.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
    mg_policy policy;
    uint32_t retry;
    uint32_t flags;
    uint64_t prev_delay_ms;
    uint64_t bits[4];
};

/* Replays the fuzzer's random bits. */
static uint64_t replay(void *user_data)
{
    struct input *in = user_data;
    uint64_t v = in->bits[0];

    memmove(in->bits, in->bits + 1, sizeof(in->bits) - sizeof(in->bits[0]));
    in->bits[3] = v;
    return v;
}

static uint64_t nominal(const mg_policy *p, uint32_t retry)
{
    uint64_t d = 0;

    if (mg_backoff_nominal(p, retry, &d) != MG_OK)
        abort();
    if (d > p->max_delay_ms || d < p->base_delay_ms)
        abort();
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in;
    mg_policy *p = &in.policy;
    uint64_t d = 0, n;
    int rc;

    memset(&in, 0, sizeof(in));
    memcpy(&in, data, size < sizeof(in) ? size : sizeof(in));
    if (!(in.flags & 1u)) {
        /* Make it valid, keeping as much of the fuzzed values as we can. */
        p->version = MG_POLICY_VERSION;
        p->reserved = 0;
        p->jitter %= 5;
        if (!isfinite(p->multiplier) || !(p->multiplier >= 1.0))
            p->multiplier = 1.0 + fabs(fmod(isfinite(p->multiplier)
                                                ? p->multiplier
                                                : 0.5,
                                            64.0));
        if (p->base_delay_ms > p->max_delay_ms) {
            uint64_t t = p->base_delay_ms;
            p->base_delay_ms = p->max_delay_ms;
            p->max_delay_ms = t;
        }
    }
    rc = mg_backoff_delay(p, in.retry, in.prev_delay_ms, replay, &in, &d);
    if (rc != mg_policy_validate(p, NULL))
        abort();
    if (rc != MG_OK)
        return 0;
    if (d > p->max_delay_ms)
        abort();
    n = nominal(p, in.retry);
    if (p->jitter == MG_JITTER_NONE && d != n)
        abort();
    if (p->jitter == MG_JITTER_FULL && d > n)
        abort();
    /* Non-decreasing in the retry number, up to the largest one. */
    if (in.retry < UINT32_MAX && nominal(p, in.retry + 1) < n)
        abort();
    if (in.retry > 0 && nominal(p, in.retry - 1) > n)
        abort();
    if (nominal(p, 0) > n || nominal(p, UINT32_MAX) < n)
        abort();
    /* The default source stays in bounds too. */
    if (mg_backoff_delay(p, in.retry, in.prev_delay_ms, NULL, NULL, &d) !=
            MG_OK ||
        d > p->max_delay_ms)
        abort();
    return 0;
}
