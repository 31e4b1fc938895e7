/* SPDX-License-Identifier: MIT */
/*
 * Statistics: the mg_stats counters that runs, budgets and breakers report
 * to, the snapshot, and the Prometheus text exposition. Every counter is
 * its own 64-bit atomic updated with relaxed read-modify-writes: the
 * counters order nothing, and a snapshot promises only that each value
 * was true at some moment during the call. Event counters cannot wrap in
 * practice (2^64 events); slept_ms, which grows by caller-chosen amounts
 * up to UINT64_MAX at a time, saturates instead.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "mg_internal.h"

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
               "mg_stats needs lock-free 64-bit atomics");

/* Indices of the plain event counters. */
enum {
    C_CALLS,
    C_ATTEMPTS,
    C_RETRIES,
    C_SUCCESSES,
    C_BUDGET_REFUSALS,
    C_BREAKER_OPENED,
    C_BREAKER_HALF_OPENED,
    C_BREAKER_CLOSED,
    C_BREAKER_REFUSALS,
    C_COUNT_
};

struct mg_stats {
    _Atomic uint64_t counter[C_COUNT_];
    _Atomic uint64_t stops[MG_STATS_STOP_SLOTS];
    _Atomic uint64_t slept_ms;
};

int mg_stats_new(mg_stats **out)
{
    if (out == NULL)
        return MG_EINVAL;
    *out = NULL;
    mg_stats *stats = mg__malloc(sizeof *stats);
    if (stats == NULL)
        return MG_ENOMEM;
    for (size_t i = 0; i < C_COUNT_; i++)
        atomic_init(&stats->counter[i], 0);
    for (size_t i = 0; i < MG_STATS_STOP_SLOTS; i++)
        atomic_init(&stats->stops[i], 0);
    atomic_init(&stats->slept_ms, 0);
    *out = stats;
    return MG_OK;
}

void mg_stats_free(mg_stats *stats)
{
    mg__free(stats);
}

static void bump(mg_stats *stats, size_t which)
{
    if (stats != NULL)
        atomic_fetch_add_explicit(&stats->counter[which], 1,
                                  memory_order_relaxed);
}

void mg__stats_on_call(mg_stats *stats)
{
    bump(stats, C_CALLS);
}

void mg__stats_on_attempt(mg_stats *stats)
{
    bump(stats, C_ATTEMPTS);
}

void mg__stats_on_retry(mg_stats *stats, uint64_t delay_ms)
{
    if (stats == NULL)
        return;
    bump(stats, C_RETRIES);
    if (delay_ms == 0)
        return;
    uint64_t old = atomic_load_explicit(&stats->slept_ms, memory_order_relaxed);
    /* A failed CAS reloads `old`; the loop ends once the saturated sum is
     * stored or the total is already at the ceiling. */
    while (old != UINT64_MAX &&
           !atomic_compare_exchange_weak_explicit(
               &stats->slept_ms, &old, mg__add_sat(old, delay_ms),
               memory_order_relaxed, memory_order_relaxed)) {
    }
}

void mg__stats_on_stop(mg_stats *stats, int stop)
{
    if (stats == NULL || stop < 0 || stop >= MG_STATS_STOP_SLOTS)
        return;
    atomic_fetch_add_explicit(&stats->stops[stop], 1, memory_order_relaxed);
    if (stop == MG_STOP_SUCCESS)
        bump(stats, C_SUCCESSES);
}

void mg__stats_on_budget_refusal(mg_stats *stats)
{
    bump(stats, C_BUDGET_REFUSALS);
}

void mg__stats_on_breaker_refusal(mg_stats *stats)
{
    bump(stats, C_BREAKER_REFUSALS);
}

void mg__stats_on_breaker_state(mg_stats *stats, int new_state)
{
    switch (new_state) {
    case MG_BREAKER_OPEN:
        bump(stats, C_BREAKER_OPENED);
        break;
    case MG_BREAKER_HALF_OPEN:
        bump(stats, C_BREAKER_HALF_OPENED);
        break;
    case MG_BREAKER_CLOSED:
        bump(stats, C_BREAKER_CLOSED);
        break;
    default:
        break;
    }
}

static uint64_t get(const mg_stats *stats, size_t which)
{
    return atomic_load_explicit(&stats->counter[which], memory_order_relaxed);
}

int mg_stats_get_snapshot(const mg_stats *stats, mg_stats_snapshot *out)
{
    if (stats == NULL || out == NULL)
        return MG_EINVAL;
    if (out->version != MG_STATS_SNAPSHOT_VERSION)
        return MG_EVERSION;
    out->reserved = 0;
    out->calls = get(stats, C_CALLS);
    out->attempts = get(stats, C_ATTEMPTS);
    out->retries = get(stats, C_RETRIES);
    out->successes = get(stats, C_SUCCESSES);
    for (size_t i = 0; i < MG_STATS_STOP_SLOTS; i++)
        out->stops[i] =
            atomic_load_explicit(&stats->stops[i], memory_order_relaxed);
    out->slept_ms =
        atomic_load_explicit(&stats->slept_ms, memory_order_relaxed);
    out->budget_refusals = get(stats, C_BUDGET_REFUSALS);
    out->breaker_opened = get(stats, C_BREAKER_OPENED);
    out->breaker_half_opened = get(stats, C_BREAKER_HALF_OPENED);
    out->breaker_closed = get(stats, C_BREAKER_CLOSED);
    out->breaker_refusals = get(stats, C_BREAKER_REFUSALS);
    return MG_OK;
}

/* ---- Prometheus text exposition format 0.0.4 ---- */

#define PREFIX_MAX 64

/* Label values of P_stops_total, indexed by mg_stop. */
static const char *const stop_label[MG_STATS_STOP_SLOTS] = {
    "success",   "exhausted", "not_retryable", "deadline",
    "cancelled", "pushback",  "budget",        "breaker"};

static bool prefix_valid(const char *prefix)
{
    size_t n = strlen(prefix);
    if (n == 0 || n > PREFIX_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = prefix[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     c == '_' || c == ':';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

/* An append-only writer with snprintf's contract: it keeps counting past
 * the end of the buffer so that the full length is known. */
struct out {
    char *buf;
    size_t size;
    size_t len; /* full length so far, saturating */
};

static void put(struct out *o, const char *s)
{
    size_t n = strlen(s);
    if (o->len < o->size) {
        size_t room = o->size - 1 - o->len; /* keep one byte for NUL */
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len = (o->len > SIZE_MAX - n) ? SIZE_MAX : o->len + n;
}

static void put_u64(struct out *o, uint64_t v)
{
    char digits[21];
    (void)snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    put(o, digits);
}

/* "# HELP P_name help\n# TYPE P_name counter\n" */
static void header(struct out *o, const char *prefix, const char *name,
                   const char *help)
{
    put(o, "# HELP ");
    put(o, prefix);
    put(o, name);
    put(o, " ");
    put(o, help);
    put(o, "\n# TYPE ");
    put(o, prefix);
    put(o, name);
    put(o, " counter\n");
}

static void counter(struct out *o, const char *prefix, const char *name,
                    const char *help, uint64_t value)
{
    header(o, prefix, name, help);
    put(o, prefix);
    put(o, name);
    put(o, " ");
    put_u64(o, value);
    put(o, "\n");
}

static void labelled(struct out *o, const char *prefix, const char *name,
                     const char *label, const char *value, uint64_t count)
{
    put(o, prefix);
    put(o, name);
    put(o, "{");
    put(o, label);
    put(o, "=\"");
    put(o, value);
    put(o, "\"} ");
    put_u64(o, count);
    put(o, "\n");
}

int mg_stats_format_prometheus(const mg_stats *stats, const char *prefix,
                               char *buf, size_t size, size_t *needed)
{
    if (stats == NULL || (buf == NULL && size > 0))
        return MG_EINVAL;
    if (prefix == NULL)
        prefix = "mgretry";
    if (!prefix_valid(prefix))
        return MG_EINVAL;

    mg_stats_snapshot s = MG_STATS_SNAPSHOT_INIT;
    (void)mg_stats_get_snapshot(stats, &s);

    struct out o = {buf, size, 0};
    counter(&o, prefix, "_calls_total", "Retry runs started.", s.calls);
    counter(&o, prefix, "_attempts_total", "Calls of the operation.",
            s.attempts);
    counter(&o, prefix, "_retries_total",
            "Retries scheduled after a failed attempt.", s.retries);
    counter(&o, prefix, "_successes_total",
            "Runs that ended with a successful attempt.", s.successes);
    header(&o, prefix, "_stops_total", "Runs ended, by stop reason.");
    for (size_t i = 0; i < MG_STATS_STOP_SLOTS; i++)
        labelled(&o, prefix, "_stops_total", "reason", stop_label[i],
                 s.stops[i]);
    /* Prometheus wants base units: seconds, written exactly from ms. */
    header(&o, prefix, "_slept_seconds_total",
           "Total of the waits chosen between attempts, in seconds.");
    put(&o, prefix);
    put(&o, "_slept_seconds_total ");
    put_u64(&o, s.slept_ms / 1000);
    char frac[8];
    (void)snprintf(frac, sizeof frac, ".%03u", (unsigned)(s.slept_ms % 1000));
    put(&o, frac);
    put(&o, "\n");
    counter(&o, prefix, "_budget_refusals_total",
            "Retries refused by a retry budget.", s.budget_refusals);
    header(&o, prefix, "_breaker_transitions_total",
           "Circuit breaker state changes, by new state.");
    labelled(&o, prefix, "_breaker_transitions_total", "state", "open",
             s.breaker_opened);
    labelled(&o, prefix, "_breaker_transitions_total", "state", "half_open",
             s.breaker_half_opened);
    labelled(&o, prefix, "_breaker_transitions_total", "state", "closed",
             s.breaker_closed);
    counter(&o, prefix, "_breaker_refusals_total",
            "Attempts refused by a circuit breaker.", s.breaker_refusals);

    if (size > 0)
        buf[o.len < size ? o.len : size - 1] = '\0';
    if (needed != NULL)
        *needed = o.len;
    return o.len < size ? MG_OK : MG_ETOOSMALL;
}
