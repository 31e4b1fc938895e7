/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for mg_policy_validate() with arbitrary field values:
 * the input bytes are the mg_policy itself (any version, any double bit
 * pattern: NaN, infinities, subnormals). Checked: the documented codes;
 * an accepted policy meets every documented invariant; the backoff
 * functions and mg_policy_format() agree with the validator.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mg/retry.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mg_policy p;
    const char *reason = NULL;
    uint64_t d = 0, seed = 1;
    char buf[256];
    int rc;

    memset(&p, 0, sizeof(p));
    memcpy(&p, data, size < sizeof(p) ? size : sizeof(p));
    /* Half the inputs keep a known version so the field checks are
     * reached; the others test the version check. */
    if (size > 0 && (data[0] & 1u))
        p.version = MG_POLICY_VERSION;

    rc = mg_policy_validate(&p, &reason);
    if (reason == NULL)
        abort();
    if (rc != MG_OK && rc != MG_EVERSION && rc != MG_EPOLICY)
        abort();
    if (rc == MG_OK &&
        (p.version != MG_POLICY_VERSION || p.base_delay_ms > p.max_delay_ms ||
         !isfinite(p.multiplier) || !(p.multiplier >= 1.0) ||
         p.jitter > MG_JITTER_DECORRELATED || p.reserved != 0))
        abort();
    if (rc == MG_OK && strcmp(reason, "ok") != 0)
        abort();
    if (mg_policy_validate(&p, NULL) != rc)
        abort();
    /* Everything that takes a policy refuses the same ones. */
    if (mg_backoff_nominal(&p, 0, &d) != rc)
        abort();
    if (mg_backoff_delay(&p, 0, 0, mg_random_splitmix64, &seed, &d) != rc)
        abort();
    if (mg_policy_format(&p, buf, sizeof(buf), NULL) != rc)
        abort();
    return 0;
}
