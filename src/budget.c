/* SPDX-License-Identifier: MIT */
/*
 * Retry budgets: the gRPC-style token bucket and the SRE/Finagle-style
 * ratio budget behind the opaque mg_budget. Both are lock-free: the token
 * bucket is one atomic count of thousandths of a token changed by
 * compare-and-swap, clamped to [0, max]; the ratio budget is two sliding
 * windows (first attempts and retries, see mg_window.h) and grants a retry
 * with a compare-and-swap on the current retry bucket, so a grant and its
 * count are one step and concurrent callers cannot overrun the limit.
 * Allowances are integers in 1/100000 of a retry, which makes percentages
 * and per-second minimums exact.
 */
#include <math.h>
#include <stdatomic.h>

#include "mg_internal.h"
#include "mg_window.h"

enum { KIND_TOKEN_BUCKET = 1, KIND_RATIO = 2 };

/* One retry costs this many allowance units. */
#define RETRY_COST UINT64_C(100000)
#define TOKEN_SCALE 1000u /* thousandths of a token */
#define TOKENS_MAX 1000u

struct mg_budget {
    int kind;
    _Atomic(mg_stats *) stats;
    /* token bucket, in thousandths of a token */
    uint32_t max_milli;
    uint32_t ratio_milli;
    _Atomic uint32_t tokens_milli;
    /* ratio budget */
    uint64_t bucket_ns;   /* window_ms * 1e6 / buckets */
    uint64_t per_request; /* allowance one first attempt adds */
    uint64_t reserve;     /* allowance from min_retries_per_sec */
    mg_clock_fn clock;
    void *clock_data;
    mg__window requests;
    mg__window retries;
};

static mg_budget *budget_alloc(int kind)
{
    mg_budget *b = mg__malloc(sizeof *b);
    if (b == NULL)
        return NULL;
    b->kind = kind;
    atomic_init(&b->stats, NULL);
    b->max_milli = 0;
    b->ratio_milli = 0;
    atomic_init(&b->tokens_milli, 0);
    b->bucket_ns = 1;
    b->per_request = 0;
    b->reserve = 0;
    b->clock = mg_clock_monotonic;
    b->clock_data = NULL;
    for (size_t i = 0; i < MG__WINDOW_BUCKETS; i++) {
        atomic_init(&b->requests.slot[i], 0);
        atomic_init(&b->retries.slot[i], 0);
    }
    return b;
}

int mg_budget_new_token_bucket(mg_budget **out, uint32_t max_tokens,
                               double token_ratio)
{
    if (out == NULL)
        return MG_EINVAL;
    *out = NULL;
    if (max_tokens == 0 || max_tokens > TOKENS_MAX || !isfinite(token_ratio) ||
        token_ratio <= 0.0 || token_ratio > (double)max_tokens)
        return MG_EINVAL;
    /* token_ratio is in (0, 1000], so this fits; the conversion truncates,
     * which after + 0.5 rounds half up. */
    uint32_t milli = (uint32_t)(token_ratio * (double)TOKEN_SCALE + 0.5);
    if (milli == 0)
        return MG_EINVAL;
    mg_budget *b = budget_alloc(KIND_TOKEN_BUCKET);
    if (b == NULL)
        return MG_ENOMEM;
    b->max_milli = max_tokens * TOKEN_SCALE;
    b->ratio_milli = milli;
    if (b->ratio_milli > b->max_milli)
        b->ratio_milli = b->max_milli;
    atomic_store_explicit(&b->tokens_milli, b->max_milli, memory_order_relaxed);
    *out = b;
    return MG_OK;
}

int mg_budget_ratio_config_init(mg_budget_ratio_config *config,
                                uint32_t version)
{
    if (config == NULL)
        return MG_EINVAL;
    if (version != MG_BUDGET_RATIO_CONFIG_VERSION)
        return MG_EVERSION;
    const mg_budget_ratio_config init = MG_BUDGET_RATIO_CONFIG_INIT;
    *config = init;
    return MG_OK;
}

int mg_budget_new_ratio(mg_budget **out, const mg_budget_ratio_config *config)
{
    if (out == NULL)
        return MG_EINVAL;
    *out = NULL;
    if (config == NULL)
        return MG_EINVAL;
    if (config->version != MG_BUDGET_RATIO_CONFIG_VERSION)
        return MG_EVERSION;
    if (config->ratio_percent > 1000 || config->min_retries_per_sec > 1000000 ||
        (config->ratio_percent == 0 && config->min_retries_per_sec == 0) ||
        config->window_ms < 100 || config->window_ms > 3600000)
        return MG_EINVAL;
    mg_budget *b = budget_alloc(KIND_RATIO);
    if (b == NULL)
        return MG_ENOMEM;
    /* window_ms * 1e6 is a multiple of 10: the buckets tile it exactly. */
    b->bucket_ns = (uint64_t)config->window_ms * 1000000u / MG__WINDOW_BUCKETS;
    /* ratio_percent / 100 of a retry per request, in 1/100000 units. */
    b->per_request = (uint64_t)config->ratio_percent * (RETRY_COST / 100u);
    /* min_retries_per_sec * window_ms / 1000 retries, in 1/100000 units;
     * at most 1e6 * 3.6e6 * 100, far below 2^64. */
    b->reserve = (uint64_t)config->min_retries_per_sec * config->window_ms *
                 (RETRY_COST / 1000u);
    if (config->clock != NULL) {
        b->clock = config->clock;
        b->clock_data = config->clock_data;
    }
    *out = b;
    return MG_OK;
}

void mg_budget_free(mg_budget *budget)
{
    mg__free(budget);
}

int mg_budget_set_stats(mg_budget *budget, mg_stats *stats)
{
    if (budget == NULL)
        return MG_EINVAL;
    atomic_store_explicit(&budget->stats, stats, memory_order_release);
    return MG_OK;
}

static uint64_t epoch_now(const mg_budget *b)
{
    return b->clock(b->clock_data) / b->bucket_ns;
}

void mg_budget_on_request(mg_budget *budget)
{
    if (budget == NULL || budget->kind != KIND_RATIO)
        return;
    mg__window_add(&budget->requests, epoch_now(budget));
}

void mg_budget_on_success(mg_budget *budget)
{
    if (budget == NULL || budget->kind != KIND_TOKEN_BUCKET)
        return;
    uint32_t old =
        atomic_load_explicit(&budget->tokens_milli, memory_order_relaxed);
    uint32_t next;
    do {
        if (old >= budget->max_milli)
            return; /* full: the common case costs one load */
        next = budget->max_milli - old <= budget->ratio_milli
                   ? budget->max_milli
                   : old + budget->ratio_milli;
    } while (!atomic_compare_exchange_weak_explicit(&budget->tokens_milli, &old,
                                                    next, memory_order_relaxed,
                                                    memory_order_relaxed));
}

void mg_budget_on_failure(mg_budget *budget)
{
    if (budget == NULL || budget->kind != KIND_TOKEN_BUCKET)
        return;
    uint32_t old =
        atomic_load_explicit(&budget->tokens_milli, memory_order_relaxed);
    uint32_t next;
    do {
        if (old == 0)
            return;
        next = old <= TOKEN_SCALE ? 0 : old - TOKEN_SCALE;
    } while (!atomic_compare_exchange_weak_explicit(&budget->tokens_milli, &old,
                                                    next, memory_order_relaxed,
                                                    memory_order_relaxed));
}

static bool ratio_try_retry(mg_budget *b)
{
    uint64_t epoch = epoch_now(b);
    uint32_t now = (uint32_t)epoch;
    size_t idx = mg__window_index(epoch);
    _Atomic uint64_t *slot = &b->retries.slot[idx];
    uint64_t old = atomic_load_explicit(slot, memory_order_relaxed);
    for (;;) {
        uint64_t spent = mg__window_sum(&b->retries, epoch, idx) +
                         mg__window_live(old, epoch, idx);
        /* The requests are read after the retries, on every pass: a
         * thread preempted between the two reads would otherwise compare
         * an old, small allowance with retries that other threads' newer
         * requests paid for, and refuse a retry the counts allow. */
        uint64_t allowance = mg__add_sat(
            mg__mul_sat(
                mg__window_sum(&b->requests, epoch, MG__WINDOW_BUCKETS),
                b->per_request),
            b->reserve);
        /* spent <= 10 * 2^32, so (spent + 1) * RETRY_COST < 2^64. */
        if ((spent + 1) * RETRY_COST > allowance)
            return false;
        if (atomic_compare_exchange_weak_explicit(
                slot, &old, mg__window_bumped(old, now), memory_order_relaxed,
                memory_order_relaxed))
            return true;
    }
}

bool mg_budget_try_retry(mg_budget *budget)
{
    if (budget == NULL)
        return true;
    bool ok;
    if (budget->kind == KIND_TOKEN_BUCKET)
        ok = atomic_load_explicit(&budget->tokens_milli, memory_order_relaxed) >
             budget->max_milli / 2;
    else
        ok = ratio_try_retry(budget);
    if (!ok)
        mg__stats_on_budget_refusal(
            atomic_load_explicit(&budget->stats, memory_order_acquire));
    return ok;
}
