/* SPDX-License-Identifier: MIT */
/*
 * The retry state machine's public face: the mg_retry_state_* functions,
 * exported as thin wrappers over the inline bodies in retry_state.h (which
 * the blocking executor compiles into its own loop), the defaults that a
 * NULL policy or NULL options stand for, and the compile-time promises
 * about the state's size and the MG_RETRY_AGAIN code.
 */
#include <stdalign.h>

#include "retry_state.h"

_Static_assert(sizeof(mg_retry_state) <= 64,
               "mg_retry_state must stay within 64 bytes");
_Static_assert(alignof(mg_retry_state) <= 8,
               "mg_retry_state must not need more than 8-byte alignment");
_Static_assert(MG_RETRY_AGAIN > MG_STOP_BREAKER && MG_RETRY_AGAIN > 0,
               "MG_RETRY_AGAIN must differ from every stop and error");

const mg_policy mg__state_default_policy = MG_POLICY_DEFAULT_INIT;
const mg_retry_options mg__state_default_options = MG_RETRY_OPTIONS_INIT;

int mg_retry_state_init(mg_retry_state *st, const mg_policy *policy,
                        const mg_retry_options *options)
{
    return mg__retry_state_init(st, policy, options);
}

int mg_retry_state_begin(mg_retry_state *st)
{
    return mg__retry_state_begin(st);
}

int mg_retry_state_on_success(mg_retry_state *st)
{
    return mg__retry_state_on_success(st);
}

int mg_retry_state_on_failure(mg_retry_state *st, const void *error,
                              uint64_t now_ns, uint64_t *delay_ms)
{
    return mg__retry_state_on_failure(st, error, now_ns, delay_ms);
}

uint32_t mg_retry_state_attempts(const mg_retry_state *st)
{
    return mg__retry_state_attempts(st);
}
