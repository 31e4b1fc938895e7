/* SPDX-License-Identifier: MIT */
/*
 * The retry state machine's bodies, private to the library: every
 * decision of the retry loop, and nothing else. A caller-owned
 * mg_retry_state (no heap) is told that an attempt begins, succeeded or
 * failed, and answers "call now", "retry after D ms" or "stop, for this
 * reason"; it consults the classifier, the pushback callback, the backoff
 * math, the cancel flag, the retry budget and the circuit breaker, and
 * counts into the statistics. It never calls the operation, never sleeps,
 * never allocates and reads a clock only to fix a deadline.
 *
 * They are static inline so that the blocking executor (executor.c)
 * compiles them into its loop, whose success path is measured against a
 * bare function call, while retry_state.c exports them unchanged as the
 * mg_retry_state_* API: one definition, two callers.
 *
 * Invariants: the phase moves READY -> ATTEMPT -> READY ... -> DONE and
 * any call out of turn is MG_EINVAL without a change; attempts and
 * retries never wrap (retries < max_retries before each increment,
 * attempts saturates); all time math saturates; the shared objects
 * (budget, breaker, stats) are reached only when the options have them.
 */
#ifndef MG_RETRY_STATE_H
#define MG_RETRY_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mg_internal.h"

#define MG_STATE_NS_PER_MS UINT64_C(1000000)

/* Marks an initialised state; a zeroed (failed init) or garbage state
 * fails the check, so use after a failed init is MG_EINVAL. */
#define MG_STATE_MAGIC UINT32_C(0x6d675253) /* "mgRS" */

enum mg_state_phase {
    MG_PHASE_READY = 1,   /* mg_retry_state_begin is due */
    MG_PHASE_ATTEMPT = 2, /* an attempt is out: on_success/on_failure */
    MG_PHASE_DONE = 3     /* stopped; stop_ holds the reason */
};

enum mg_state_flag {
    MG_FLAG_STARTED = 1u << 0,  /* the first begin has run */
    MG_FLAG_DEADLINE = 1u << 1, /* policy has max_elapsed_ms */
    MG_FLAG_BUDGET = 1u << 2,   /* options v2 with a budget */
    MG_FLAG_BREAKER = 1u << 3,  /* options v2 with a breaker */
    MG_FLAG_STATS = 1u << 4     /* options v2 with stats */
};

/* The policy and options that NULL stands for (retry_state.c). */
MG_HIDDEN extern const mg_policy mg__state_default_policy;
MG_HIDDEN extern const mg_retry_options mg__state_default_options;

static inline bool mg__state_usable(const mg_retry_state *st)
{
    return st != NULL && st->magic_ == MG_STATE_MAGIC;
}

/* The options' version-2 members (budget, breaker, stats) exist only in a
 * version >= 2 struct; the flags, set at init, say whether one is there and
 * not NULL, so a version-1 caller's smaller struct is never read past its
 * end. */

/* Whether a first attempt needs nothing from the state machine before
 * the operation runs: no cancel flag, no deadline start time, and no
 * shared budget, breaker or stats to tell. Then mg__retry_state_begin()
 * cannot stop and has nothing to report, so a caller may run the first
 * attempt and call begin only if it failed. `policy` must be validated. */
static inline bool mg__state_first_attempt_is_bare(
    const mg_policy *policy, const mg_retry_options *options)
{
    return options->cancel == NULL && policy->max_elapsed_ms == 0 &&
           (options->version < 2 ||
            (options->budget == NULL && options->breaker == NULL &&
             options->stats == NULL));
}

static inline int mg__state_stop(mg_retry_state *st, int stop)
{
    st->phase_ = MG_PHASE_DONE;
    st->stop_ = stop;
    if (st->flags_ & MG_FLAG_STATS)
        mg__stats_on_stop(st->options_->stats, stop);
    return stop;
}

static inline int mg__retry_state_init(mg_retry_state *st,
                                       const mg_policy *policy,
                                       const mg_retry_options *options)
{
    uint16_t flags = 0;
    int rc;

    if (st == NULL)
        return MG_EINVAL;
    /* Unusable until everything checked out. */
    memset(st, 0, sizeof(*st));
    if (options == NULL)
        options = &mg__state_default_options;
    else if (options->version == 0 ||
             options->version > MG_RETRY_OPTIONS_VERSION)
        return MG_EVERSION;
    if (policy == NULL)
        policy = &mg__state_default_policy;
    rc = MG_LIKELY(mg__policy_ok(policy)) ? MG_OK
                                          : mg_policy_validate(policy, NULL);
    if (rc != MG_OK)
        return rc;

    if (policy->max_elapsed_ms != 0)
        flags |= MG_FLAG_DEADLINE;
    if (options->version >= 2) {
        if (options->budget != NULL)
            flags |= MG_FLAG_BUDGET;
        if (options->breaker != NULL)
            flags |= MG_FLAG_BREAKER;
        if (options->stats != NULL)
            flags |= MG_FLAG_STATS;
    }
    st->policy_ = policy;
    st->options_ = options;
    st->flags_ = flags;
    st->phase_ = MG_PHASE_READY;
    st->magic_ = MG_STATE_MAGIC;
    return MG_OK;
}

static inline int mg__retry_state_begin(mg_retry_state *st)
{
    const mg_retry_options *o;

    if (!mg__state_usable(st) || st->phase_ != MG_PHASE_READY)
        return MG_EINVAL;
    o = st->options_;
    /* Every shared object is reached only when present: with none, an
     * attempt costs no call out of this unit (the success path of
     * mg_retry_run is measured against a bare function call). */
    if (!(st->flags_ & MG_FLAG_STARTED)) {
        /* Counted before anything can stop it, so that every call ends
         * in exactly one counted stop. */
        st->flags_ |= MG_FLAG_STARTED;
        if (st->flags_ & MG_FLAG_STATS)
            mg__stats_on_call(o->stats);
    }
    if (MG_UNLIKELY(o->cancel != NULL && mg_cancel_is_triggered(o->cancel)))
        return mg__state_stop(st, MG_STOP_CANCELLED);
    if ((st->flags_ & MG_FLAG_BREAKER) && !mg_breaker_allow(o->breaker))
        return mg__state_stop(st, MG_STOP_BREAKER);
    if (st->attempts_ == 0) {
        /* A request the breaker let through; its retries are not new
         * requests. */
        if (st->flags_ & MG_FLAG_BUDGET)
            mg_budget_on_request(o->budget);
        if (st->flags_ & MG_FLAG_DEADLINE) {
            mg_clock_fn clock_fn =
                o->clock != NULL ? o->clock : mg_clock_monotonic;
            uint64_t now = clock_fn(o->clock_data);

            st->deadline_ns_ =
                mg__add_sat(now, mg__mul_sat(st->policy_->max_elapsed_ms,
                                             MG_STATE_NS_PER_MS));
        }
    }
    if (st->attempts_ < UINT32_MAX)
        st->attempts_++;
    if (st->flags_ & MG_FLAG_STATS)
        mg__stats_on_attempt(o->stats);
    st->phase_ = MG_PHASE_ATTEMPT;
    return MG_OK;
}

static inline int mg__retry_state_on_success(mg_retry_state *st)
{
    if (!mg__state_usable(st) || st->phase_ != MG_PHASE_ATTEMPT)
        return MG_EINVAL;
    if (st->flags_ & MG_FLAG_BREAKER)
        mg_breaker_on_success(st->options_->breaker);
    if (st->flags_ & MG_FLAG_BUDGET)
        mg_budget_on_success(st->options_->budget);
    return mg__state_stop(st, MG_STOP_SUCCESS);
}

static inline int mg__retry_state_on_failure(mg_retry_state *st,
                                             const void *error, uint64_t now_ns,
                                             uint64_t *delay_ms)
{
    const mg_retry_options *o;
    const mg_policy *p;
    uint64_t delay, pushback = 0, wait;

    if (!mg__state_usable(st) || st->phase_ != MG_PHASE_ATTEMPT ||
        delay_ms == NULL)
        return MG_EINVAL;
    o = st->options_;
    p = st->policy_;

    /* The breaker and the budget judge the dependency by what the attempt
     * returned; the classifier only decides whether to try again. */
    if (st->flags_ & MG_FLAG_BREAKER)
        mg_breaker_on_failure(o->breaker);
    if (st->flags_ & MG_FLAG_BUDGET)
        mg_budget_on_failure(o->budget);

    if (o->is_retryable != NULL &&
        !o->is_retryable(error, o->is_retryable_data))
        return mg__state_stop(st, MG_STOP_NOT_RETRYABLE);
    if (st->retries_ >= p->max_retries)
        return mg__state_stop(st, MG_STOP_EXHAUSTED);
    /* Triggered during the attempt: stop now rather than schedule a wait
     * that the caller would cut short anyway. */
    if (MG_UNLIKELY(o->cancel != NULL && mg_cancel_is_triggered(o->cancel)))
        return mg__state_stop(st, MG_STOP_CANCELLED);
    if (o->pushback != NULL &&
        o->pushback(error, &pushback, o->pushback_data)) {
        if (pushback > p->max_pushback_ms)
            return mg__state_stop(st, MG_STOP_PUSHBACK);
    } else {
        pushback = 0;
    }
    /* The policy was validated at init; the cheap inline check guards
     * against a caller who changed it since (the state only points to
     * it), with the cap as the conservative answer. */
    if (MG_LIKELY(mg__policy_ok(p)))
        delay = mg__backoff_delay(p, st->retries_, st->prev_delay_ms_,
                                  o->random, o->random_data);
    else
        delay = p->max_delay_ms;
    /* DECORRELATED grows from the backoff delay, not from a pushback. */
    st->prev_delay_ms_ = delay;
    /* A pushback may exceed max_delay_ms: the server knows better. */
    wait = delay > pushback ? delay : pushback;
    if ((st->flags_ & MG_FLAG_DEADLINE) &&
        mg__add_sat(now_ns, mg__mul_sat(wait, MG_STATE_NS_PER_MS)) >
            st->deadline_ns_)
        return mg__state_stop(st, MG_STOP_DEADLINE);
    /* Last: a true answer spends the budget's allowance, so ask only for
     * a retry that will be made. */
    if ((st->flags_ & MG_FLAG_BUDGET) && !mg_budget_try_retry(o->budget))
        return mg__state_stop(st, MG_STOP_BUDGET);
    st->retries_++;
    if (st->flags_ & MG_FLAG_STATS)
        mg__stats_on_retry(o->stats, wait);
    st->phase_ = MG_PHASE_READY;
    *delay_ms = wait;
    return MG_RETRY_AGAIN;
}

static inline uint32_t mg__retry_state_attempts(const mg_retry_state *st)
{
    return mg__state_usable(st) ? st->attempts_ : 0;
}

#endif /* MG_RETRY_STATE_H */
