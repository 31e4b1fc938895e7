/* SPDX-License-Identifier: MIT */
/*
 * What the compilation units of libmgretry share and nobody else sees:
 * the allocator indirection (so that every allocation goes through one
 * place that tests can fail on purpose), saturating integer helpers used by
 * the backoff math and the executor, and the few mg__ functions one unit
 * calls in another. Everything here has hidden visibility.
 */
#ifndef MG_INTERNAL_H
#define MG_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "mg/error.h"
#include "mg/retry.h"

#if defined(__GNUC__)
#define MG_HIDDEN __attribute__((visibility("hidden")))
#define MG_LIKELY(x) __builtin_expect(!!(x), 1)
#define MG_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define MG_HIDDEN
#define MG_LIKELY(x) (x)
#define MG_UNLIKELY(x) (x)
#endif

/* Functions whose unsigned arithmetic wraps on purpose (the PRNGs) are
 * exempt from clang's -fsanitize=unsigned-integer-overflow, which CI runs
 * to prove that nothing else, the backoff math above all, ever wraps. */
#if defined(__clang__)
#define MG_NO_SANITIZE_WRAP                                                    \
    __attribute__((no_sanitize("unsigned-integer-overflow")))
#else
#define MG_NO_SANITIZE_WRAP
#endif

/* Every heap allocation of the library goes through these two. */
MG_HIDDEN void *mg__malloc(size_t size);
MG_HIDDEN void mg__free(void *ptr);
/* Test-only allocation-failure hook (tests/unit/test_alloc_fail.c): when
 * not NULL, mg__malloc returns NULL whenever it returns true. Hidden, so
 * only a test linked against the static library can set it; set it only
 * while no other thread is inside the library. */
MG_HIDDEN extern int (*mg__alloc_fail_hook)(size_t size);

/* The default random source (random.c): a per-thread xoshiro256** seeded
 * from arc4random, reseeded after fork() and every 2^16 draws. user_data is
 * ignored. Thread- and fork-safe; not async-signal-safe. */
MG_HIDDEN uint64_t mg__random_default(void *user_data);

/* True when mg_policy_validate() would accept `policy` (not NULL): the
 * same rules as one branch-light expression, for hot paths that must not
 * pay a call (isfinite is a compiler builtin, no libm).
 * mg_policy_validate() stays the one place with reasons. */
static inline int mg__policy_ok(const mg_policy *policy)
{
    return policy->version != 0 &&
           policy->version <= (uint32_t)MG_POLICY_VERSION &&
           policy->base_delay_ms <= policy->max_delay_ms &&
           isfinite(policy->multiplier) && policy->multiplier >= 1.0 &&
           policy->jitter <= (uint32_t)MG_JITTER_DECORRELATED &&
           policy->reserved == 0;
}

/* mg_backoff_delay() for a policy the caller has already validated
 * (mg__policy_ok or mg_policy_validate): the retry loop validates once per
 * run, not once per retry. */
MG_HIDDEN uint64_t mg__backoff_delay(const mg_policy *policy, uint32_t retry,
                                     uint64_t prev_delay_ms,
                                     mg_random_fn random, void *random_data);

/* a + b, saturating at UINT64_MAX. */
static inline uint64_t mg__add_sat(uint64_t a, uint64_t b)
{
    return b > UINT64_MAX - a ? UINT64_MAX : a + b; /* never wraps */
}

/* a * b, saturating at UINT64_MAX. */
static inline uint64_t mg__mul_sat(uint64_t a, uint64_t b)
{
    if (a != 0 && b > UINT64_MAX / a)
        return UINT64_MAX;
    return a * b;
}

/* A uniformly distributed integer in [0, n] from 64 random bits (n may be
 * UINT64_MAX). Multiply-shift: bias at most (n + 1) / 2^64. */
static inline uint64_t mg__uniform_incl(uint64_t bits, uint64_t n)
{
    if (n == UINT64_MAX)
        return bits;
    __extension__ typedef unsigned __int128 mg__u128;
    return (uint64_t)(((mg__u128)bits * (mg__u128)(n + 1)) >> 64);
}

/* Statistics (stats.c): what runs and state machines report. Every one
 * accepts NULL (counts nothing), is lock-free and never allocates, so the
 * retry loop may call them unconditionally. */
MG_HIDDEN void mg__stats_on_call(mg_stats *stats);    /* a run starts */
MG_HIDDEN void mg__stats_on_attempt(mg_stats *stats); /* the op is called */
/* a retry is scheduled after a wait of delay_ms (slept_ms saturates) */
MG_HIDDEN void mg__stats_on_retry(mg_stats *stats, uint64_t delay_ms);
/* a run ended with `stop` (an mg_stop; SUCCESS also counts a success;
 * values outside the snapshot's slots are ignored) */
MG_HIDDEN void mg__stats_on_stop(mg_stats *stats, int stop);
/* What budget.c and breaker.c report to an attached stats object. */
MG_HIDDEN void mg__stats_on_budget_refusal(mg_stats *stats);
MG_HIDDEN void mg__stats_on_breaker_refusal(mg_stats *stats);
MG_HIDDEN void mg__stats_on_breaker_state(mg_stats *stats, int new_state);

#endif /* MG_INTERNAL_H */
