/* SPDX-License-Identifier: MIT */
/*
 * The retry policy as a value: the three presets of the SPEC, the default
 * initialiser, the original's four-setting constructor and validation. A
 * policy is never allocated here; every function writes into a caller's
 * struct and only ever from a fully built local copy, so a failing call
 * leaves the caller's struct untouched. The presets come from the
 * MG_POLICY_*_INIT macros themselves, so functions and macros cannot drift.
 */
#include <math.h>

#include "mg_internal.h"

static const mg_policy preset_default = MG_POLICY_DEFAULT_INIT;
static const mg_policy preset_aggressive = MG_POLICY_AGGRESSIVE_INIT;
static const mg_policy preset_gentle = MG_POLICY_GENTLE_INIT;

int mg_policy_validate(const mg_policy *policy, const char **reason)
{
    const char *why;
    int rc;

    /* The common case first, in one inline expression; the chain below
     * names what is wrong. */
    if (MG_LIKELY(policy != NULL && mg__policy_ok(policy))) {
        if (reason != NULL)
            *reason = "ok";
        return MG_OK;
    }
    if (policy == NULL) {
        rc = MG_EINVAL;
        why = "policy is NULL";
    } else if (policy->version == 0) {
        rc = MG_EVERSION;
        why = "policy version is 0: start from MG_POLICY_INIT or "
              "mg_policy_init()";
    } else if (policy->version > MG_POLICY_VERSION) {
        rc = MG_EVERSION;
        why = "policy version is newer than this library supports";
    } else if (policy->base_delay_ms > policy->max_delay_ms) {
        rc = MG_EPOLICY;
        why = "base_delay_ms is greater than max_delay_ms";
    } else if (!isfinite(policy->multiplier)) {
        /* Before the < 1 test: NaN compares false with everything. */
        rc = MG_EPOLICY;
        why = "multiplier is not finite (NaN or infinity)";
    } else if (policy->multiplier < 1.0) {
        rc = MG_EPOLICY;
        why = "multiplier is below 1";
    } else if (policy->jitter > (uint32_t)MG_JITTER_DECORRELATED) {
        rc = MG_EPOLICY;
        why = "jitter is not a known mg_jitter mode";
    } else if (policy->reserved != 0) {
        rc = MG_EPOLICY;
        why = "reserved field is not 0";
    } else {
        rc = MG_OK;
        why = "ok";
    }
    if (reason != NULL)
        *reason = why;
    return rc;
}

int mg_policy_init(mg_policy *policy, uint32_t version)
{
    if (policy == NULL)
        return MG_EINVAL;
    if (version == 0 || version > MG_POLICY_VERSION)
        return MG_EVERSION;
    /* Only version 1 exists; a later version will copy only the fields
     * that `version` knows, so an older caller's smaller struct is safe. */
    *policy = preset_default;
    policy->version = version;
    return MG_OK;
}

int mg_policy_preset(mg_policy *policy, int preset)
{
    const mg_policy *src;

    if (policy == NULL)
        return MG_EINVAL;
    switch (preset) {
    case MG_PRESET_DEFAULT:
        src = &preset_default;
        break;
    case MG_PRESET_AGGRESSIVE:
        src = &preset_aggressive;
        break;
    case MG_PRESET_GENTLE:
        src = &preset_gentle;
        break;
    default:
        return MG_EINVAL;
    }
    *policy = *src;
    return MG_OK;
}

int mg_policy_make(mg_policy *policy, uint32_t max_retries,
                   uint64_t base_delay_ms, uint64_t max_delay_ms, int jitter)
{
    mg_policy p = MG_POLICY_INIT;

    if (policy == NULL)
        return MG_EINVAL;
    /* A negative jitter is as unknown as a too large one. */
    if (jitter < 0 || jitter > (int)MG_JITTER_DECORRELATED)
        return MG_EPOLICY;
    p.max_retries = max_retries;
    p.base_delay_ms = base_delay_ms;
    p.max_delay_ms = max_delay_ms;
    p.jitter = (uint32_t)jitter;
    if (mg_policy_validate(&p, NULL) != MG_OK)
        return MG_EPOLICY;
    *policy = p;
    return MG_OK;
}
