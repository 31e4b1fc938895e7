/* SPDX-License-Identifier: MIT */
/*
 * The circuit breaker behind the opaque mg_breaker. Its whole state lives
 * in one 64-bit atomic word changed only by compare-and-swap, so every
 * transition has exactly one winner, who alone reports it (stats, then the
 * callback, with no lock held):
 *
 *   bits 62-63  state (mg_breaker_state)
 *   bits 52-61  HALF_OPEN: probes handed out   (at most 1000 < 2^10)
 *   bits 42-51  HALF_OPEN: probes succeeded
 *   bits  0-41  OPEN: the millisecond the open period ends;
 *               HALF_OPEN: the millisecond its current set of probes was
 *               handed out from (strictly later than any earlier value);
 *               CLOSED: a generation, so that a CLOSED word seen before an
 *               open/half-open/closed round trip no longer compares equal
 *               (no ABA on a stale decision to open)
 *
 * Around it: a consecutive-failure counter and two sliding windows (calls
 * and failures, see mg_window.h), touched only while CLOSED and cleared by
 * the thread that opens the breaker, so CLOSED always starts afresh.
 * Times are kept in milliseconds and saturate at 2^42 - 1 (139 years of
 * clock): with a clock past that, an open period ends at once.
 */
#include <stdatomic.h>

#include "mg_internal.h"
#include "mg_window.h"

#define STATE_SHIFT 62
#define ISSUED_SHIFT 52
#define OK_SHIFT 42
#define FIELD_MASK UINT64_C(0x3ff)
#define TIME_MASK ((UINT64_C(1) << 42) - 1)

#define PROBES_MAX 1000u
#define COUNT_MAX 1000000u

struct mg_breaker {
    _Atomic uint64_t word;
    _Atomic uint32_t consecutive; /* failures in a row while CLOSED */
    _Atomic(mg_stats *) stats;
    mg__window calls;
    mg__window failures;
    uint32_t consecutive_limit; /* 0: trigger off */
    uint32_t rate_percent;      /* 0: trigger off */
    uint32_t min_calls;
    uint32_t probes;
    uint64_t bucket_ns;
    uint64_t open_ms;
    mg_breaker_change_fn on_change;
    void *on_change_data;
    mg_clock_fn clock;
    void *clock_data;
};

static int state_of(uint64_t w)
{
    return (int)(w >> STATE_SHIFT);
}

static uint32_t issued_of(uint64_t w)
{
    return (uint32_t)((w >> ISSUED_SHIFT) & FIELD_MASK);
}

static uint32_t ok_of(uint64_t w)
{
    return (uint32_t)((w >> OK_SHIFT) & FIELD_MASK);
}

static uint64_t time_of(uint64_t w)
{
    return w & TIME_MASK;
}

static uint64_t pack(int state, uint32_t issued, uint32_t ok, uint64_t t)
{
    return ((uint64_t)state << STATE_SHIFT) |
           ((uint64_t)issued << ISSUED_SHIFT) | ((uint64_t)ok << OK_SHIFT) |
           (t & TIME_MASK);
}

int mg_breaker_config_init(mg_breaker_config *config, uint32_t version)
{
    if (config == NULL)
        return MG_EINVAL;
    if (version != MG_BREAKER_CONFIG_VERSION)
        return MG_EVERSION;
    const mg_breaker_config init = MG_BREAKER_CONFIG_INIT;
    *config = init;
    return MG_OK;
}

static bool config_valid(const mg_breaker_config *c)
{
    if (c->reserved != 0)
        return false;
    if (c->consecutive_failures == 0 && c->failure_rate_percent == 0)
        return false;
    if (c->consecutive_failures > COUNT_MAX)
        return false;
    if (c->failure_rate_percent > 100)
        return false;
    if (c->failure_rate_percent != 0 &&
        (c->min_calls == 0 || c->min_calls > COUNT_MAX || c->window_ms < 100 ||
         c->window_ms > 3600000))
        return false;
    if (c->open_ms == 0 || c->open_ms > 86400000)
        return false;
    return c->half_open_probes != 0 && c->half_open_probes <= PROBES_MAX;
}

int mg_breaker_new(mg_breaker **out, const mg_breaker_config *config)
{
    if (out == NULL)
        return MG_EINVAL;
    *out = NULL;
    if (config == NULL)
        return MG_EINVAL;
    if (config->version != MG_BREAKER_CONFIG_VERSION)
        return MG_EVERSION;
    if (!config_valid(config))
        return MG_EINVAL;
    mg_breaker *b = mg__malloc(sizeof *b);
    if (b == NULL)
        return MG_ENOMEM;
    atomic_init(&b->word, pack(MG_BREAKER_CLOSED, 0, 0, 0));
    atomic_init(&b->consecutive, 0);
    atomic_init(&b->stats, NULL);
    for (size_t i = 0; i < MG__WINDOW_BUCKETS; i++) {
        atomic_init(&b->calls.slot[i], 0);
        atomic_init(&b->failures.slot[i], 0);
    }
    b->consecutive_limit = config->consecutive_failures;
    b->rate_percent = config->failure_rate_percent;
    b->min_calls = config->min_calls;
    b->probes = config->half_open_probes;
    /* Unused when the rate trigger is off; keep the divisor non-zero. */
    b->bucket_ns = b->rate_percent != 0
                       ? config->window_ms * 1000000u / MG__WINDOW_BUCKETS
                       : 1;
    b->open_ms = config->open_ms;
    b->on_change = config->on_change;
    b->on_change_data = config->on_change_data;
    b->clock = config->clock != NULL ? config->clock : mg_clock_monotonic;
    b->clock_data = config->clock != NULL ? config->clock_data : NULL;
    *out = b;
    return MG_OK;
}

void mg_breaker_free(mg_breaker *breaker)
{
    mg__free(breaker);
}

int mg_breaker_set_stats(mg_breaker *breaker, mg_stats *stats)
{
    if (breaker == NULL)
        return MG_EINVAL;
    atomic_store_explicit(&breaker->stats, stats, memory_order_release);
    return MG_OK;
}

static mg_stats *stats_of(mg_breaker *b)
{
    return atomic_load_explicit(&b->stats, memory_order_acquire);
}

static uint64_t now_ns(const mg_breaker *b)
{
    return b->clock(b->clock_data);
}

static uint64_t ms_of(uint64_t ns)
{
    uint64_t ms = ns / 1000000u;
    return ms > TIME_MASK ? TIME_MASK : ms;
}

/* Report a transition this thread won. */
static void changed(mg_breaker *b, int from, int to)
{
    mg__stats_on_breaker_state(stats_of(b), to);
    if (b->on_change != NULL)
        b->on_change(from, to, b->on_change_data);
}

/* Try to move from `w` to OPEN for open_ms from now_ms. On success the
 * winner starts the next CLOSED period afresh (cleared while nothing is
 * counted: OPEN and HALF_OPEN count nothing) and reports. */
static bool try_open(mg_breaker *b, uint64_t w, uint64_t now_ms)
{
    uint64_t until = now_ms + b->open_ms; /* both < 2^43: no overflow */
    if (until > TIME_MASK)
        until = TIME_MASK;
    if (!atomic_compare_exchange_strong_explicit(
            &b->word, &w, pack(MG_BREAKER_OPEN, 0, 0, until),
            memory_order_acq_rel, memory_order_acquire))
        return false;
    atomic_store_explicit(&b->consecutive, 0, memory_order_relaxed);
    mg__window_clear(&b->calls);
    mg__window_clear(&b->failures);
    return true;
}

static void refused(mg_breaker *b)
{
    mg__stats_on_breaker_refusal(stats_of(b));
}

bool mg_breaker_allow(mg_breaker *breaker)
{
    if (breaker == NULL)
        return true;
    mg_breaker *b = breaker;
    uint64_t w = atomic_load_explicit(&b->word, memory_order_acquire);
    for (;;) {
        switch (state_of(w)) {
        case MG_BREAKER_CLOSED:
            return true;
        case MG_BREAKER_OPEN: {
            uint64_t now_ms = ms_of(now_ns(b));
            if (now_ms < time_of(w)) {
                refused(b);
                return false;
            }
            /* Open period over: this call becomes the first probe. */
            if (atomic_compare_exchange_weak_explicit(
                    &b->word, &w, pack(MG_BREAKER_HALF_OPEN, 1, 0, now_ms),
                    memory_order_acq_rel, memory_order_acquire)) {
                changed(b, MG_BREAKER_OPEN, MG_BREAKER_HALF_OPEN);
                return true;
            }
            break;
        }
        default: { /* HALF_OPEN */
            uint64_t next = w + (UINT64_C(1) << ISSUED_SHIFT);
            if (issued_of(w) >= b->probes) {
                /* Every probe is out. Outcomes that have not come back
                 * within open_ms are presumed lost (a caller gave up on
                 * its attempt): hand out a fresh set, this call first,
                 * rather than stay half-open for ever. */
                uint64_t now_ms = ms_of(now_ns(b));
                if (now_ms < time_of(w) + b->open_ms) {
                    refused(b);
                    return false;
                }
                next = pack(MG_BREAKER_HALF_OPEN, 1, 0, now_ms);
            }
            if (atomic_compare_exchange_weak_explicit(&b->word, &w, next,
                                                      memory_order_acq_rel,
                                                      memory_order_acquire))
                return true;
            break;
        }
        }
    }
}

void mg_breaker_on_success(mg_breaker *breaker)
{
    if (breaker == NULL)
        return;
    mg_breaker *b = breaker;
    uint64_t w = atomic_load_explicit(&b->word, memory_order_acquire);
    for (;;) {
        switch (state_of(w)) {
        case MG_BREAKER_CLOSED:
            if (b->consecutive_limit != 0 &&
                atomic_load_explicit(&b->consecutive, memory_order_relaxed) !=
                    0)
                atomic_store_explicit(&b->consecutive, 0, memory_order_relaxed);
            if (b->rate_percent != 0)
                mg__window_add(&b->calls, now_ns(b) / b->bucket_ns);
            return;
        case MG_BREAKER_OPEN:
            return; /* an attempt allowed before the breaker opened */
        default: {  /* HALF_OPEN */
            uint32_t ok = ok_of(w) + 1;
            bool close = ok >= b->probes;
            /* The generation of the new CLOSED period: probe sets start
             * strictly later each time, so this differs from the last. */
            uint64_t next = close
                                ? pack(MG_BREAKER_CLOSED, 0, 0, time_of(w) + 1)
                                : w + (UINT64_C(1) << OK_SHIFT);
            if (atomic_compare_exchange_weak_explicit(&b->word, &w, next,
                                                      memory_order_acq_rel,
                                                      memory_order_acquire)) {
                if (close)
                    changed(b, MG_BREAKER_HALF_OPEN, MG_BREAKER_CLOSED);
                return;
            }
            break;
        }
        }
    }
}

/* Whether the failure-rate trigger fires at `epoch` (failure counted). */
static bool rate_tripped(const mg_breaker *b, uint64_t epoch)
{
    uint64_t calls = mg__window_sum(&b->calls, epoch, MG__WINDOW_BUCKETS);
    uint64_t failures = mg__window_sum(&b->failures, epoch, MG__WINDOW_BUCKETS);
    /* Both at most 10 * 2^32, so the products fit in 64 bits. */
    return calls >= b->min_calls && failures * 100u >= b->rate_percent * calls;
}

void mg_breaker_on_failure(mg_breaker *breaker)
{
    if (breaker == NULL)
        return;
    mg_breaker *b = breaker;
    uint64_t w = atomic_load_explicit(&b->word, memory_order_acquire);
    for (;;) {
        switch (state_of(w)) {
        case MG_BREAKER_CLOSED: {
            bool trip = false;
            uint64_t ns = 0;
            bool have_ns = false;
            if (b->consecutive_limit != 0) {
                uint32_t n = atomic_fetch_add_explicit(&b->consecutive, 1,
                                                       memory_order_relaxed) +
                             1;
                trip = n >= b->consecutive_limit;
            }
            if (b->rate_percent != 0) {
                ns = now_ns(b);
                have_ns = true;
                uint64_t epoch = ns / b->bucket_ns;
                mg__window_add(&b->calls, epoch);
                mg__window_add(&b->failures, epoch);
                trip = trip || rate_tripped(b, epoch);
            }
            if (!trip)
                return;
            if (try_open(b, w, ms_of(have_ns ? ns : now_ns(b))))
                changed(b, MG_BREAKER_CLOSED, MG_BREAKER_OPEN);
            /* A failed CAS means another thread moved the breaker on. */
            return;
        }
        case MG_BREAKER_OPEN:
            return;
        default: /* HALF_OPEN: a failed probe re-opens */
            if (try_open(b, w, ms_of(now_ns(b)))) {
                changed(b, MG_BREAKER_HALF_OPEN, MG_BREAKER_OPEN);
                return;
            }
            w = atomic_load_explicit(&b->word, memory_order_acquire);
            break;
        }
    }
}

int mg_breaker_get_state(const mg_breaker *breaker)
{
    if (breaker == NULL)
        return MG_EINVAL;
    uint64_t w = atomic_load_explicit(&breaker->word, memory_order_acquire);
    int state = state_of(w);
    if (state == MG_BREAKER_OPEN && ms_of(now_ns(breaker)) >= time_of(w))
        return MG_BREAKER_HALF_OPEN;
    return state;
}
