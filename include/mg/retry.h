/* SPDX-License-Identifier: MIT */
/*
 * libmgretry: retry fallible operations with exponential backoff and
 * jitter. This header is the reference for the policy (a plain, versioned,
 * caller-allocated struct with presets, validation and a text form), the
 * backoff math (a pure, saturating delay function with five jitter modes
 * and an injectable random source), the executor (the blocking retry loop
 * with deadline, server pushback, cancellation, hooks and logging, whose
 * clock and sleep are injectable for tests), the sans-I/O retry state
 * machine it is built on, and overload protection (retry budgets, a
 * circuit breaker, statistics).
 *
 * Conventions: fallible functions return 0 or a negative MG_E* code (see
 * <mg/common.h>); callbacks are followed by their void *user_data. The
 * only global state is the default random source's (one generator per
 * thread, and a fork counter), so every function is thread-safe unless
 * its comment says otherwise; shared objects (budgets, breakers,
 * statistics, cancel flags) are safe to use from many threads at once.
 */
#ifndef MG_RETRY_H
#define MG_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "error.h"

MG_EXTERN_C_BEGIN

/* ------------------------------------------------------------------------
 * Version
 * ---------------------------------------------------------------------- */

/* The library's version string, for example "1.0.0". Static. Since 1.0. */
MG_API const char *mg_retry_version(void);

/* The library's MG_RETRY_VERSION_NUMBER ((major << 16) | (minor << 8) |
 * patch). Since 1.0. */
MG_API uint32_t mg_retry_version_number(void);

/* ------------------------------------------------------------------------
 * Policy
 * ---------------------------------------------------------------------- */

/* Jitter modes. With d = min(base * multiplier^k, max) the nominal delay
 * before retry k, the delay actually used is (see docs/retry-utility.md):
 *   NONE          d
 *   PROPORTIONAL  uniform in [d, d + 0.3d], the window slid down so that it
 *                 ends at max when it would pass it (the original's jitter,
 *                 with the cap kept hard): at the cap, [0.7max, max]
 *   FULL          uniform in [0, d]
 *   EQUAL         d/2 + uniform in [0, d/2]
 *   DECORRELATED  uniform in [lo, min(max, 3 * previous)], previous = base
 *                 before the first retry, lo = min(base, that bound / 2)
 * Values are fixed; 1 is the original's boolean "jitter = true". */
typedef enum mg_jitter {
    MG_JITTER_NONE = 0,
    MG_JITTER_PROPORTIONAL = 1,
    MG_JITTER_FULL = 2,
    MG_JITTER_EQUAL = 3,
    MG_JITTER_DECORRELATED = 4
} mg_jitter;

#define MG_POLICY_VERSION 1

/*
 * A retry policy: a plain value, copied freely, never allocated by the
 * library. Always start from MG_POLICY_INIT (or a preset macro, or
 * mg_policy_init()), then change fields: fields are only ever appended in
 * later versions, and `version` tells the library which ones you know.
 */
typedef struct mg_policy {
    uint32_t version;       /* MG_POLICY_VERSION */
    uint32_t max_retries;   /* retries after the first attempt */
    uint64_t base_delay_ms; /* nominal delay before the first retry */
    uint64_t max_delay_ms;  /* hard ceiling of every backoff delay */
    uint32_t jitter;        /* an mg_jitter value */
    uint32_t reserved;      /* must be 0 */
    double multiplier;      /* growth per retry, finite and >= 1 */
    uint64_t max_elapsed_ms;  /* overall deadline from the start of the
                                 call; 0 = none */
    uint64_t max_pushback_ms; /* longest server-requested wait (retry-after)
                                 that is honoured; a longer request stops
                                 the loop with MG_STOP_PUSHBACK */
} mg_policy;

/* Presets (SPEC): all with the original's proportional jitter, multiplier
 * 2, no deadline, and a 60 s pushback ceiling. */
#define MG_POLICY_PRESET_INIT_(retries, base, max)                             \
    {MG_POLICY_VERSION, (retries), (base), (max), MG_JITTER_PROPORTIONAL, 0,   \
     2.0, 0, 60000}
#define MG_POLICY_DEFAULT_INIT MG_POLICY_PRESET_INIT_(3, 100, 5000)
#define MG_POLICY_AGGRESSIVE_INIT MG_POLICY_PRESET_INIT_(5, 50, 5000)
#define MG_POLICY_GENTLE_INIT MG_POLICY_PRESET_INIT_(2, 500, 3000)
#define MG_POLICY_INIT MG_POLICY_DEFAULT_INIT

typedef enum mg_preset {
    MG_PRESET_DEFAULT = 0,    /* 3 retries, 100 ms, 5000 ms cap */
    MG_PRESET_AGGRESSIVE = 1, /* 5 retries, 50 ms, 5000 ms cap */
    MG_PRESET_GENTLE = 2      /* 2 retries, 500 ms, 3000 ms cap */
} mg_preset;

/*
 * mg_policy_init - fill *policy with the default preset for struct
 * `version` (pass MG_POLICY_VERSION).
 * Returns MG_OK, MG_EINVAL for NULL, MG_EVERSION for a version this
 * library does not know. Since 1.0.
 */
MG_API int mg_policy_init(mg_policy *policy, uint32_t version);

/*
 * mg_policy_preset - fill *policy with a preset (an mg_preset value).
 * Returns MG_OK, MG_EINVAL for NULL or an unknown preset. Since 1.0.
 */
MG_API int mg_policy_preset(mg_policy *policy, int preset);

/*
 * mg_policy_make - the original's constructor: fill *policy from the four
 * settings of the SPEC (jitter: 0 none, 1 proportional, or any mg_jitter),
 * the other fields as in MG_POLICY_INIT, and validate it.
 * Returns MG_OK, MG_EINVAL for NULL, MG_EPOLICY when the result is invalid
 * (then *policy is left unchanged). Since 1.0.
 */
MG_API int mg_policy_make(mg_policy *policy, uint32_t max_retries,
                          uint64_t base_delay_ms, uint64_t max_delay_ms,
                          int jitter);

/*
 * mg_policy_validate - check a policy before use.
 * Returns MG_OK; MG_EINVAL for NULL; MG_EVERSION for an unknown version;
 * MG_EPOLICY when base_delay_ms > max_delay_ms, the multiplier is below 1
 * or not finite, the jitter mode is unknown, or reserved is not 0. When
 * `reason` is not NULL it receives a static English sentence saying what
 * is wrong ("ok" on success). Since 1.0.
 */
MG_API int mg_policy_validate(const mg_policy *policy, const char **reason);

/* ------------------------------------------------------------------------
 * Policy strings (since 1.1)
 * ---------------------------------------------------------------------- */

/*
 * The text form of a policy, for environment variables, command lines and
 * configuration files (docs/mgretry-cli.md has examples):
 *
 *   text   = [ PRESET ] { ITEM }      items separated by whitespace
 *                                     (space, tab, CR, LF, VT, FF)
 *   PRESET = "default" | "aggressive" | "gentle"     only as the first item
 *   ITEM   = KEY "=" VALUE            no spaces around "="
 *
 *   retries=N        max_retries, decimal digits, 0 .. 4294967295
 *   base=DUR         base_delay_ms
 *   max=DUR          max_delay_ms
 *   jitter=MODE      none | proportional | full | equal | decorrelated
 *   multiplier=X     decimal: DIGITS [ "." DIGITS ] [ "e" [+-] DIGITS ],
 *                    e.g. 2, 1.5, 1e3; read exactly (the nearest double)
 *   deadline=DUR     max_elapsed_ms; 0 = none
 *   pushback=DUR     max_pushback_ms
 *
 *   DUR = DIGITS UNIT, UNIT = "ms" | "s" | "m": the unit is required
 *   ("base=100" is an error), except for a bare 0.
 *
 * Keys, units and names are lower case and each key may appear once.
 * Fields not given keep the preset's values (the default preset when no
 * name is given); version is MG_POLICY_VERSION and reserved is 0. Nothing
 * depends on the locale.
 */

/*
 * mg_policy_parse - read a policy string (grammar above) into *out.
 *
 * Returns MG_OK; MG_EINVAL when out or text is NULL; MG_EPARSE for empty
 * input (nothing but whitespace), an unknown or repeated key, an item
 * without "=" (other than a leading preset name), a duration without unit,
 * an unknown jitter mode or unit, or any other malformed value;
 * MG_ERANGE for a number that does not fit its field (a count above
 * UINT32_MAX, a duration above UINT64_MAX ms, a multiplier beyond the
 * largest double or with more than 800 significant digits); MG_EPOLICY
 * when the result fails mg_policy_validate() (base above max, multiplier
 * below 1). Nothing is ever truncated or clamped silently.
 * On failure *out is left unchanged and, when error_offset is not NULL, it
 * receives the byte offset in `text` of the item at fault (for
 * MG_EPOLICY the multiplier, or the later of base and max; 0 for empty
 * input and MG_EINVAL); on success it is not written.
 * Does not allocate; thread-safe. Since 1.1.
 */
MG_API int mg_policy_parse(mg_policy *out, const char *text,
                           size_t *error_offset);

/*
 * mg_policy_format - write a valid policy as a policy string, with every
 * key in the order of the grammar above, durations in the largest unit
 * that holds them exactly, and the multiplier as the shortest decimal
 * that reads back as the same double: mg_policy_parse() of the text gives
 * back an identical policy. Example:
 *   "retries=3 base=100ms max=5s jitter=proportional multiplier=2
 *    deadline=0 pushback=1m" (on one line).
 * Like snprintf, the output is truncated to size - 1 bytes and always
 * NUL-terminated when size > 0; when needed is not NULL it receives the
 * full length without the NUL (never more than 255).
 * Returns MG_OK, MG_ETOOSMALL when the text was truncated (size 0
 * included), MG_EINVAL when policy is NULL or buf is NULL with size > 0,
 * or the code of mg_policy_validate() for an invalid policy (then nothing
 * is written). Does not allocate; thread-safe. Since 1.1.
 */
MG_API int mg_policy_format(const mg_policy *policy, char *buf, size_t size,
                            size_t *needed);

/* ------------------------------------------------------------------------
 * Backoff math
 * ---------------------------------------------------------------------- */

/*
 * A random source: returns 64 uniformly distributed random bits. It is
 * called only when a jittered delay is drawn, never on the first attempt.
 */
typedef uint64_t (*mg_random_fn)(void *user_data);

/* 64 bits straight from libbsd's arc4random_buf() on every call (a system
 * call each here, about 1 us): for callers who want each draw from the
 * CSPRNG. It is not the default (see mg_backoff_delay). user_data is
 * ignored. Thread- and fork-safe. Since 1.0. */
MG_API uint64_t mg_random_arc4random(void *user_data);

/* A deterministic source for reproducible delays: the SplitMix64 generator
 * whose state is the uint64_t that user_data points to (seed it with any
 * value). Not thread-safe for one state; returns 0 when user_data is NULL.
 * Since 1.0. */
MG_API uint64_t mg_random_splitmix64(void *user_data);

/*
 * mg_backoff_nominal - the un-jittered delay before retry `retry` (0 for
 * the first retry): min(base_delay_ms * multiplier^retry, max_delay_ms),
 * computed so that it saturates at max_delay_ms for any retry number
 * instead of overflowing.
 * Returns MG_OK with *delay_ms set; MG_EINVAL for NULL; the codes of
 * mg_policy_validate() for an invalid policy. Thread-safe. Since 1.0.
 */
MG_API int mg_backoff_nominal(const mg_policy *policy, uint32_t retry,
                              uint64_t *delay_ms);

/*
 * mg_backoff_delay - the delay before retry `retry` under the policy's
 * jitter mode (see mg_jitter). prev_delay_ms is the delay used before the
 * previous retry; only DECORRELATED reads it (0 means "none yet" and is
 * treated as base_delay_ms). `random` draws the randomness, at most one
 * call per delay and none in mode NONE. NULL selects the default source:
 * a per-thread xoshiro256** generator (no lock), seeded from
 * arc4random_buf() on the thread's first draw and reseeded every 2^16
 * draws and in a child after fork(), so parent and child never draw the
 * same jitter (see docs/jitter.md).
 * The result never exceeds max_delay_ms, for any input.
 * Returns MG_OK with *delay_ms set; MG_EINVAL for NULL; the codes of
 * mg_policy_validate() for an invalid policy. Thread-safe as far as the
 * random source is. Since 1.0.
 */
MG_API int mg_backoff_delay(const mg_policy *policy, uint32_t retry,
                            uint64_t prev_delay_ms, mg_random_fn random,
                            void *random_data, uint64_t *delay_ms);

/* ------------------------------------------------------------------------
 * Cancellation
 * ---------------------------------------------------------------------- */

/* A cancellation flag that one thread (or a signal handler) triggers and
 * executors observe: before each attempt, and during a sleep, which it
 * ends within a few milliseconds. */
typedef struct mg_cancel mg_cancel;

/* Create an untriggered flag. MG_OK, MG_EINVAL (out NULL), MG_ENOMEM (then
 * *out = NULL). Since 1.0. */
MG_API int mg_cancel_new(mg_cancel **out);

/* Free a flag; NULL is a no-op. No executor may still be using it.
 * Since 1.0. */
MG_API void mg_cancel_free(mg_cancel *cancel);

/* Trigger the flag. Async-signal-safe and thread-safe (one atomic store).
 * MG_OK or MG_EINVAL for NULL. Since 1.0. */
MG_API int mg_cancel_trigger(mg_cancel *cancel);

/* Whether the flag is triggered (false for NULL). Async-signal-safe.
 * Since 1.0. */
MG_API bool mg_cancel_is_triggered(const mg_cancel *cancel);

/* Untrigger the flag, to reuse it. MG_OK or MG_EINVAL. Since 1.0. */
MG_API int mg_cancel_reset(mg_cancel *cancel);

/* ------------------------------------------------------------------------
 * Clock and sleep
 * ---------------------------------------------------------------------- */

/* A monotonic clock in nanoseconds. */
typedef uint64_t (*mg_clock_fn)(void *user_data);

/* Sleep until the clock reads at least wake_ns, or until `cancel` (may be
 * NULL) is triggered, whichever comes first. */
typedef void (*mg_sleep_fn)(uint64_t wake_ns, const mg_cancel *cancel,
                            void *user_data);

/* The default clock: CLOCK_MONOTONIC in nanoseconds. Since 1.0. */
MG_API uint64_t mg_clock_monotonic(void *user_data);

/* The default sleep: clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)
 * towards wake_ns (a mg_clock_monotonic() reading), resumed after signals
 * so that a signal neither shortens nor lengthens the wait. With a cancel
 * flag it sleeps in slices of at most 4 ms (still towards the same
 * absolute time) and returns within one slice of a trigger. Returns at
 * once when wake_ns is not in the future. Since 1.0. */
MG_API void mg_sleep_monotonic(uint64_t wake_ns, const mg_cancel *cancel,
                               void *user_data);

/* ------------------------------------------------------------------------
 * Overload protection: retry budgets and the circuit breaker
 *
 * Three opaque objects (since 1.1) that any number of runs, state machines
 * and threads share: a budget caps how many retries a client adds to the
 * load, a breaker stops calling a dependency that keeps failing, and a
 * statistics object (next section) counts what happens. They are
 * thread-safe and lock-free (C11 atomics, compare-and-swap), never
 * allocate after creation, and read their clock only when a decision
 * depends on time. Every function accepts NULL handles: a NULL budget or
 * breaker allows everything, a NULL stats counts nothing. Freeing an
 * object that another thread still uses is undefined, as for any handle.
 * See docs/overload-protection.md for when to use which and the defaults.
 * ---------------------------------------------------------------------- */

/* A retry budget: a gRPC-style token bucket or an SRE/Envoy/Finagle-style
 * ratio budget. */
typedef struct mg_budget mg_budget;
/* A circuit breaker. */
typedef struct mg_breaker mg_breaker;
/* A set of counters (see "Statistics"). */
typedef struct mg_stats mg_stats;

/*
 * mg_budget_new_token_bucket - gRPC retry throttling (gRFC A6). The
 * bucket holds max_tokens tokens at the start; every failed attempt takes
 * one (not below 0), every successful attempt puts back token_ratio (not
 * above max_tokens), and a retry is allowed only while the bucket holds
 * more than max_tokens / 2. Tokens are kept in thousandths, so token_ratio
 * is rounded to the nearest 0.001, as in gRPC.
 * max_tokens must be in [1, 1000]; token_ratio finite, > 0 after rounding,
 * and <= max_tokens. gRPC's example values are 10 and 0.1.
 * Returns MG_OK with *out set; MG_EINVAL (out NULL, or a value out of
 * range; then *out = NULL); MG_ENOMEM (then *out = NULL). Since 1.1.
 */
MG_API int mg_budget_new_token_bucket(mg_budget **out, uint32_t max_tokens,
                                      double token_ratio);

#define MG_BUDGET_RATIO_CONFIG_VERSION 1

/*
 * Settings of a ratio budget: within the sliding window, retries may number
 * at most ratio_percent % of the first attempts plus min_retries_per_sec
 * per second of the window, so that a quiet client can still retry. The
 * window is 10 buckets of window_ms / 10 each and slides a bucket at a
 * time: it covers between 90 % and 100 % of window_ms of history.
 * MG_BUDGET_RATIO_CONFIG_INIT holds Finagle's and tower's defaults: 20 %,
 * 10 retries per second, 10 s window (the SRE book suggests 10 %).
 */
typedef struct mg_budget_ratio_config {
    uint32_t version;             /* MG_BUDGET_RATIO_CONFIG_VERSION */
    uint32_t ratio_percent;       /* 0 to 1000 */
    uint32_t min_retries_per_sec; /* 0 to 1000000; not 0 when
                                     ratio_percent is 0 */
    uint32_t window_ms;           /* 100 to 3600000 (one hour) */
    mg_clock_fn clock;            /* NULL: mg_clock_monotonic */
    void *clock_data;
} mg_budget_ratio_config;

#define MG_BUDGET_RATIO_CONFIG_INIT                                            \
    {MG_BUDGET_RATIO_CONFIG_VERSION, 20, 10, 10000, NULL, NULL}

/* Fill *config with MG_BUDGET_RATIO_CONFIG_INIT for struct `version`.
 * MG_OK, MG_EINVAL (NULL), MG_EVERSION. Since 1.1. */
MG_API int mg_budget_ratio_config_init(mg_budget_ratio_config *config,
                                       uint32_t version);

/*
 * mg_budget_new_ratio - create a ratio budget from *config (copied; the
 * clock and its data must outlive the budget). The clock is read by
 * mg_budget_on_request() and mg_budget_try_retry() only.
 * Returns MG_OK with *out set; MG_EINVAL (out or config NULL, a value out
 * of range; then *out = NULL); MG_EVERSION (unknown config version);
 * MG_ENOMEM (then *out = NULL). Since 1.1.
 */
MG_API int mg_budget_new_ratio(mg_budget **out,
                               const mg_budget_ratio_config *config);

/* Free a budget; NULL is a no-op. Since 1.1. */
MG_API void mg_budget_free(mg_budget *budget);

/* Report that a first attempt is about to be made (a new request): the
 * ratio budget counts it; the token bucket ignores it. Lock-free.
 * Since 1.1. */
MG_API void mg_budget_on_request(mg_budget *budget);

/* Report that an attempt succeeded: the token bucket refunds token_ratio;
 * the ratio budget ignores it. Lock-free. Since 1.1. */
MG_API void mg_budget_on_success(mg_budget *budget);

/* Report that an attempt failed: the token bucket pays one token; the
 * ratio budget ignores it. Lock-free. Since 1.1. */
MG_API void mg_budget_on_failure(mg_budget *budget);

/*
 * mg_budget_try_retry - whether a retry may be made now. For the ratio
 * budget a true answer also counts the retry (the check and the count are
 * one compare-and-swap, so concurrent callers never overrun the limit
 * while the clock stays within one bucket); the token bucket only looks
 * (its failures pay). A false answer is counted in the attached stats.
 * NULL allows. Lock-free. Since 1.1.
 */
MG_API bool mg_budget_try_retry(mg_budget *budget);

/* Attach a statistics object that counts this budget's refusals
 * (budget_refusals), or detach with NULL. The stats must outlive the
 * attachment. Returns MG_OK or MG_EINVAL (budget NULL). Thread-safe.
 * Since 1.1. */
MG_API int mg_budget_set_stats(mg_budget *budget, mg_stats *stats);

/* Breaker states. Values are fixed. */
typedef enum mg_breaker_state {
    MG_BREAKER_CLOSED = 0,   /* attempts flow; outcomes are counted */
    MG_BREAKER_OPEN = 1,     /* attempts are refused until open_ms pass */
    MG_BREAKER_HALF_OPEN = 2 /* half_open_probes attempts are let through */
} mg_breaker_state;

/* Called after each state change with the old and the new state, by the
 * thread that made the change and with no lock held (so it may call the
 * breaker). Concurrent changes may be reported out of order. */
typedef void (*mg_breaker_change_fn)(int old_state, int new_state,
                                     void *user_data);

#define MG_BREAKER_CONFIG_VERSION 1

/*
 * Settings of a circuit breaker. CLOSED opens when either trigger fires:
 * consecutive_failures failures in a row (0 = off), or, once the sliding
 * window (10 buckets of window_ms / 10) holds at least min_calls outcomes,
 * a failure share of at least failure_rate_percent (0 = off). OPEN refuses
 * every attempt for open_ms, then the next mg_breaker_allow() moves to
 * HALF_OPEN, which lets half_open_probes attempts through: one failure
 * re-opens it for another open_ms, half_open_probes successes close it
 * (with a fresh window and failure count); probes still unreported open_ms
 * after they went out are replaced by a fresh set.
 * MG_BREAKER_CONFIG_INIT: 5 failures in a row (Polly's classic breaker),
 * or 50 % of at least 20 calls in 10 s (Hystrix), 5 s open (Hystrix,
 * Polly), 1 probe (Hystrix).
 */
typedef struct mg_breaker_config {
    uint32_t version;              /* MG_BREAKER_CONFIG_VERSION */
    uint32_t consecutive_failures; /* 0 = off, else 1 to 1000000 */
    uint32_t failure_rate_percent; /* 0 = off, else 1 to 100 */
    uint32_t min_calls;            /* 1 to 1000000 when the rate is on */
    uint64_t window_ms;            /* 100 to 3600000 when the rate is on */
    uint64_t open_ms;              /* 1 to 86400000 (one day) */
    uint32_t half_open_probes;     /* 1 to 1000 */
    uint32_t reserved;             /* must be 0 */
    mg_breaker_change_fn on_change; /* NULL: not reported */
    void *on_change_data;
    mg_clock_fn clock; /* NULL: mg_clock_monotonic */
    void *clock_data;
} mg_breaker_config;

#define MG_BREAKER_CONFIG_INIT                                                 \
    {MG_BREAKER_CONFIG_VERSION, 5, 50, 20, 10000, 5000, 1, 0, NULL, NULL,      \
     NULL, NULL}

/* Fill *config with MG_BREAKER_CONFIG_INIT for struct `version`. MG_OK,
 * MG_EINVAL (NULL), MG_EVERSION. Since 1.1. */
MG_API int mg_breaker_config_init(mg_breaker_config *config,
                                  uint32_t version);

/*
 * mg_breaker_new - create a CLOSED breaker from *config (copied; the
 * callback, the clock and their data must outlive the breaker). At least
 * one trigger must be on.
 * Returns MG_OK with *out set; MG_EINVAL (out or config NULL, a value out
 * of range, both triggers off, reserved not 0; then *out = NULL);
 * MG_EVERSION (unknown config version); MG_ENOMEM (then *out = NULL).
 * Since 1.1.
 */
MG_API int mg_breaker_new(mg_breaker **out, const mg_breaker_config *config);

/* Free a breaker; NULL is a no-op. Since 1.1. */
MG_API void mg_breaker_free(mg_breaker *breaker);

/*
 * mg_breaker_allow - ask before each attempt. true: make it, then report
 * its outcome with mg_breaker_on_success() or mg_breaker_on_failure().
 * false: do not (OPEN and open_ms not yet over, or HALF_OPEN with every
 * probe handed out); counted as a refusal in the attached stats. Probes
 * whose outcome has not been reported open_ms after they were handed out
 * are presumed lost, and a fresh set is handed out, so an abandoned probe
 * cannot keep the breaker half-open for ever. Reads the clock only in
 * OPEN, and in HALF_OPEN once every probe is out. NULL allows. Lock-free.
 * Since 1.1.
 */
MG_API bool mg_breaker_allow(mg_breaker *breaker);

/* Report an allowed attempt's success. In HALF_OPEN it counts a probe
 * success; outcomes that arrive while OPEN are ignored. Reads the clock
 * only when the failure-rate trigger is on. NULL is a no-op. Lock-free.
 * Since 1.1. */
MG_API void mg_breaker_on_success(mg_breaker *breaker);

/* Report an allowed attempt's failure; may open the breaker. Reads the
 * clock when the failure-rate trigger is on or the breaker opens. NULL is
 * a no-op. Lock-free. Since 1.1. */
MG_API void mg_breaker_on_failure(mg_breaker *breaker);

/* The current mg_breaker_state, or MG_EINVAL for NULL. An OPEN breaker
 * whose open_ms has passed reads as MG_BREAKER_HALF_OPEN; the change
 * itself (and its callback) happens at the next mg_breaker_allow().
 * Since 1.1. */
MG_API int mg_breaker_get_state(const mg_breaker *breaker);

/* Attach a statistics object that counts this breaker's transitions and
 * refusals, or detach with NULL. The stats must outlive the attachment.
 * Returns MG_OK or MG_EINVAL (breaker NULL). Thread-safe. Since 1.1. */
MG_API int mg_breaker_set_stats(mg_breaker *breaker, mg_stats *stats);

/* ------------------------------------------------------------------------
 * Statistics
 * ---------------------------------------------------------------------- */

/* Slots in mg_stats_snapshot.stops: one per mg_stop value, room to grow. */
#define MG_STATS_STOP_SLOTS 8
#define MG_STATS_SNAPSHOT_VERSION 1

/* The counters at one moment. Each is read atomically, the set is not
 * (a run in flight may be half counted). All count since creation. */
typedef struct mg_stats_snapshot {
    uint32_t version;  /* MG_STATS_SNAPSHOT_VERSION, set by the caller */
    uint32_t reserved;
    uint64_t calls;     /* runs started (mg_retry_run, state machines) */
    uint64_t attempts;  /* calls of the operation */
    uint64_t retries;   /* waits scheduled after a failed attempt */
    uint64_t successes; /* runs that ended with MG_STOP_SUCCESS */
    uint64_t stops[MG_STATS_STOP_SLOTS]; /* runs ended, by mg_stop */
    uint64_t slept_ms;  /* sum of the waits chosen; saturates */
    uint64_t budget_refusals;     /* retries refused by a budget */
    uint64_t breaker_opened;      /* transitions to OPEN */
    uint64_t breaker_half_opened; /* transitions to HALF_OPEN */
    uint64_t breaker_closed;      /* transitions to CLOSED */
    uint64_t breaker_refusals;    /* attempts refused by a breaker */
} mg_stats_snapshot;

#define MG_STATS_SNAPSHOT_INIT                                                 \
    {MG_STATS_SNAPSHOT_VERSION, 0, 0, 0, 0, 0, {0, 0, 0, 0, 0, 0, 0, 0}, 0,   \
     0, 0, 0, 0, 0}

/* Create a statistics object with every counter 0. Runs count into it
 * through mg_retry_options.stats; budgets and breakers through
 * mg_budget_set_stats() and mg_breaker_set_stats(). Returns MG_OK,
 * MG_EINVAL (out NULL), MG_ENOMEM (then *out = NULL). Since 1.1. */
MG_API int mg_stats_new(mg_stats **out);

/* Free a statistics object; NULL is a no-op. Nothing may still report to
 * it. Since 1.1. */
MG_API void mg_stats_free(mg_stats *stats);

/* Copy the counters into *out, whose version the caller sets. Returns
 * MG_OK, MG_EINVAL (NULL), MG_EVERSION. Lock-free. Since 1.1. */
MG_API int mg_stats_get_snapshot(const mg_stats *stats,
                                 mg_stats_snapshot *out);

/*
 * mg_stats_format_prometheus - write the counters in the Prometheus text
 * exposition format 0.0.4: for each metric a "# HELP" and a "# TYPE
 * <name> counter" line, then its samples, each line ending in "\n".
 * Metrics (with prefix P, default "mgretry"): P_calls_total,
 * P_attempts_total, P_retries_total, P_successes_total,
 * P_stops_total{reason="success"|"exhausted"|"not_retryable"|"deadline"|
 * "cancelled"|"pushback"|"budget"|"breaker"}, P_slept_seconds_total
 * (milliseconds written as an exact decimal, "1.250"),
 * P_budget_refusals_total, P_breaker_transitions_total{state="open"|
 * "half_open"|"closed"}, P_breaker_refusals_total. The prefix must match
 * [a-zA-Z_:][a-zA-Z0-9_:]* and be at most 64 bytes.
 * Like snprintf, the text is truncated to size - 1 bytes and
 * NUL-terminated when size > 0; when needed is not NULL it receives the
 * full length without the NUL (also on MG_ETOOSMALL, so a second call with
 * *needed + 1 bytes succeeds unless the counters grew). Does not allocate.
 * Returns MG_OK; MG_ETOOSMALL when the text did not fit; MG_EINVAL when
 * stats is NULL, buf is NULL with size > 0, or the prefix is invalid.
 * Thread-safe. Since 1.1.
 */
MG_API int mg_stats_format_prometheus(const mg_stats *stats,
                                      const char *prefix, char *buf,
                                      size_t size, size_t *needed);

/* ------------------------------------------------------------------------
 * Executor
 * ---------------------------------------------------------------------- */

/* Why the retry loop stopped. Values are fixed. */
typedef enum mg_stop {
    MG_STOP_SUCCESS = 0,       /* an attempt succeeded */
    MG_STOP_EXHAUSTED = 1,     /* 1 + max_retries attempts all failed */
    MG_STOP_NOT_RETRYABLE = 2, /* the predicate refused the error */
    MG_STOP_DEADLINE = 3,      /* the next wait would end past
                                  max_elapsed_ms */
    MG_STOP_CANCELLED = 4,     /* the cancel flag was triggered */
    MG_STOP_PUSHBACK = 5,      /* the server asked for a wait longer than
                                  max_pushback_ms */
    MG_STOP_BUDGET = 6,        /* the retry budget refused a retry (the
                                  loop ends at once, without a wait);
                                  since 1.1 */
    MG_STOP_BREAKER = 7        /* the circuit breaker refused an attempt
                                  (the operation was not called); since
                                  1.1 */
} mg_stop;

/* The name of a stop reason ("success", "exhausted", ..., "budget",
 * "breaker open"), or "unknown". Static, never NULL. Since 1.0 (the last
 * two names since 1.1). */
MG_API const char *mg_retry_stop_str(int stop);

/*
 * The operation. Return 0 on success. On failure return non-zero and
 * store the error object (any type, or NULL) in *error; the executor then
 * owns it until it hands it back (result->error) or drops it with
 * drop_error when a later attempt supersedes it.
 */
typedef int (*mg_retry_op)(void *user_data, void **error);

/* Whether a failure may be retried. `error` is what the operation stored. */
typedef bool (*mg_retry_classify_fn)(const void *error, void *user_data);

/* Free an error object that a later attempt superseded. */
typedef void (*mg_retry_drop_fn)(void *error, void *user_data);

/* A server-requested minimum wait: return true and set *wait_ms when the
 * error carries one. */
typedef bool (*mg_retry_pushback_fn)(const void *error, uint64_t *wait_ms,
                                     void *user_data);

/* Called before each sleep: `retry` is 1 for the first retry, `delay_ms`
 * the wait chosen, `error` the failure being retried. */
typedef void (*mg_retry_hook_fn)(uint32_t retry, uint64_t delay_ms,
                                 const void *error, void *user_data);

typedef enum mg_log_level {
    MG_LOG_DEBUG = 10, /* each retry: its number and delay */
    MG_LOG_WARN = 30   /* giving up: the stop reason and attempts */
} mg_log_level;

/* A log handler; `message` is valid only during the call. */
typedef void (*mg_log_fn)(int level, const char *message, void *user_data);

/* The ready handler that MG_RETRY_LOG turns on: writes
 * "mgretry: <level>: <message>\n" to stderr. Since 1.0. */
MG_API void mg_log_stderr(int level, const char *message, void *user_data);

/* 2 since 1.1 (appended budget, breaker, stats); a version-1 struct is
 * still accepted everywhere and read only up to its last version-1 field. */
#define MG_RETRY_OPTIONS_VERSION 2

/*
 * Per-call options: a plain versioned struct; start from
 * MG_RETRY_OPTIONS_INIT. Every member may be left NULL:
 *   is_retryable  NULL: every failure is retryable (mg_retry_with_backoff:
 *                 mg_error_is_retryable)
 *   drop_error    NULL: superseded errors are not freed
 *                 (mg_retry_with_backoff: mg_error_free)
 *   pushback      NULL: no server-requested waits
 *                 (mg_retry_with_backoff: mg_error_retry_after)
 *   on_retry      NULL: no hook
 *   log           NULL: silent, unless the environment variable
 *                 MG_RETRY_LOG is "debug" or "warn", which selects
 *                 mg_log_stderr at that level
 *   clock, sleep  NULL: mg_clock_monotonic and mg_sleep_monotonic. Inject
 *                 both or neither (a custom clock with the real sleep is
 *                 MG_EINVAL); a virtual sleep advances a virtual clock
 *   random        NULL: the default source of mg_backoff_delay
 *   cancel        NULL: not cancellable
 * Version 2 (since 1.1) appends three shared objects, NULL = not used; a
 * run reports to them but never frees them, and they must outlive it:
 *   budget        asked before every retry (MG_STOP_BUDGET when it
 *                 refuses); told of each first attempt and of each
 *                 attempt's outcome (see "Retry state machine")
 *   breaker       asked before every attempt (MG_STOP_BREAKER when it
 *                 refuses); told of each attempt's outcome
 *   stats         counts calls, attempts, retries, waits and stops
 */
typedef struct mg_retry_options {
    uint32_t version; /* MG_RETRY_OPTIONS_VERSION */
    int log_level;    /* least level passed to `log`; 0 = all */
    mg_retry_classify_fn is_retryable;
    void *is_retryable_data;
    mg_retry_drop_fn drop_error;
    void *drop_error_data;
    mg_retry_pushback_fn pushback;
    void *pushback_data;
    mg_retry_hook_fn on_retry;
    void *on_retry_data;
    mg_log_fn log;
    void *log_data;
    mg_clock_fn clock;
    void *clock_data;
    mg_sleep_fn sleep;
    void *sleep_data;
    mg_random_fn random;
    void *random_data;
    mg_cancel *cancel;
    /* version 2 (since 1.1) */
    mg_budget *budget;
    mg_breaker *breaker;
    mg_stats *stats;
} mg_retry_options;

#define MG_RETRY_OPTIONS_INIT                                                  \
    {MG_RETRY_OPTIONS_VERSION, 0, NULL, NULL, NULL, NULL, NULL, NULL,         \
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,        \
     NULL, NULL, NULL}

/* Fill *options with the defaults for struct `version`, writing only the
 * fields that version has (so a version-1 caller's smaller struct is
 * safe). MG_OK, MG_EINVAL, MG_EVERSION. Since 1.0. */
MG_API int mg_retry_options_init(mg_retry_options *options,
                                 uint32_t version);

#define MG_RETRY_RESULT_VERSION 1

/* What a run reports, in a caller-allocated struct whose `version` the
 * caller sets (MG_RETRY_RESULT_INIT). */
typedef struct mg_retry_result {
    uint32_t version;   /* MG_RETRY_RESULT_VERSION */
    uint32_t attempts;  /* calls of the operation */
    int stop;           /* an mg_stop value */
    int reserved;
    uint64_t slept_ms;  /* sum of the waits chosen */
    void *error;        /* the last error, owned by the caller, or NULL
                           after success (mg_retry_with_backoff: an
                           mg_error *) */
} mg_retry_result;

#define MG_RETRY_RESULT_INIT {MG_RETRY_RESULT_VERSION, 0, 0, 0, 0, NULL}

/*
 * mg_retry_run - call `op` until it succeeds or the policy says stop.
 *
 * 1. call op (unless options->breaker refuses: BREAKER); on success
 *    return MG_STOP_SUCCESS at once;
 * 2. if options->is_retryable refuses the error, stop (NOT_RETRYABLE);
 * 3. if max_retries retries were made, stop (EXHAUSTED);
 * 4. wait = max(backoff delay, server pushback); stop with PUSHBACK when
 *    the pushback exceeds max_pushback_ms, with DEADLINE when the wait
 *    would end past max_elapsed_ms, with BUDGET when options->budget
 *    refuses the retry; call on_retry, log, sleep; if the cancel flag is
 *    triggered, stop (CANCELLED); go to 1.
 * Every decision is the retry state machine's (mg_retry_state_*, below):
 * the loop only calls, reads the clock, sleeps, reports and owns errors.
 * The first attempt reads no clock (unless max_elapsed_ms is set, which
 * needs a start time), draws no random number and allocates nothing; the
 * loop never allocates.
 *
 * Ownership: on any stop but SUCCESS the last error goes to
 * result->error (the caller frees it); when result is NULL it is dropped
 * with drop_error. Superseded errors are dropped with drop_error.
 *
 * Returns the mg_stop value (>= 0), or before any attempt: MG_EINVAL (op
 * NULL, a custom clock without a custom sleep), MG_EVERSION (options or
 * result of unknown version), or a mg_policy_validate() code. policy NULL
 * means the default preset. Thread-safe: concurrent runs share nothing
 * but what the caller passes. Since 1.0.
 */
MG_API int mg_retry_run(const mg_policy *policy, mg_retry_op op,
                        void *op_data, const mg_retry_options *options,
                        mg_retry_result *result);

/* The operation for mg_retry_with_backoff: return 0 on success, or
 * non-zero with *error set to an mg_error (NULL is allowed and treated as
 * not retryable). */
typedef int (*mg_retry_error_op)(void *user_data, mg_error **error);

/*
 * mg_retry_with_backoff - mg_retry_run for operations that fail with an
 * mg_error: the original's retry_with_backoff. Unless the options say
 * otherwise, errors are classified with mg_error_is_retryable(), server
 * pushback comes from mg_error_retry_after(), and superseded errors are
 * freed with mg_error_free(). result->error is the last mg_error *.
 * Returns as mg_retry_run. Since 1.0.
 */
MG_API int mg_retry_with_backoff(const mg_policy *policy, mg_retry_error_op op,
                                 void *op_data,
                                 const mg_retry_options *options,
                                 mg_retry_result *result);

/* ------------------------------------------------------------------------
 * Retry state machine (since 1.1)
 *
 * The retry loop without the loop: a small caller-owned state that is told
 * "the attempt succeeded" or "the attempt failed with this error at this
 * time" and answers "retry after D ms" or "stop, for this reason". It makes
 * every decision mg_retry_run() makes (mg_retry_run is a loop over it), in
 * the same order, with the same random draws, but it never calls the
 * operation, never sleeps, never allocates and frees nothing: an event
 * loop arms a timer for D ms instead of sleeping. Use:
 *
 *     mg_retry_state st;
 *     uint64_t delay_ms;
 *     int rc = mg_retry_state_init(&st, &policy, &options);
 *     while (rc == MG_OK || rc == MG_RETRY_AGAIN) {
 *         rc = mg_retry_state_begin(&st);
 *         if (rc != MG_OK)
 *             break;                         (CANCELLED, BREAKER)
 *         make the attempt;
 *         if (it succeeded) {
 *             rc = mg_retry_state_on_success(&st);     (MG_STOP_SUCCESS)
 *             break;
 *         }
 *         rc = mg_retry_state_on_failure(&st, error, now_ns, &delay_ms);
 *         if (rc == MG_RETRY_AGAIN)
 *             wait delay_ms (an event loop arms a timer and returns)
 *     }                                      (rc: an mg_stop, or < 0)
 *
 * The options' is_retryable, pushback, random, cancel, budget, breaker
 * and stats are used here; drop_error, on_retry, log and sleep are the
 * caller's business (clock: see mg_retry_state_begin).
 * ---------------------------------------------------------------------- */

/* mg_retry_state_on_failure's answer "retry after *delay_ms": above every
 * mg_stop value (those appended later stay below it) and never negative. */
#define MG_RETRY_AGAIN 100

/*
 * The state of one retried operation: 64 bytes on LP64 (never more), no
 * heap, caller-allocated (on the stack, inside a request struct, in an
 * array). It holds no pointer to itself, so it may be copied between
 * calls. The fields are private: they are public only so that the size is
 * known and no cast is needed; use the functions below, as the layout may
 * change within the same size. It refers to the policy and the options by
 * pointer: both must outlive the state and must not change while it is
 * in use.
 */
typedef struct mg_retry_state {
    const mg_policy *policy_;
    const mg_retry_options *options_;
    uint64_t deadline_ns_;
    uint64_t prev_delay_ms_;
    uint32_t attempts_;
    uint32_t retries_;
    uint32_t magic_;
    uint16_t phase_;
    uint16_t flags_;
    int32_t stop_;
    uint32_t reserved_[3];
} mg_retry_state;

/*
 * mg_retry_state_init - start the state of one operation under `policy`
 * (NULL: the default preset) and `options` (NULL: all defaults; version 1
 * or 2). Reads no clock, calls nothing. Re-initialising a state restarts
 * it (nothing is released: the state owns nothing).
 * Returns MG_OK; MG_EINVAL for st NULL; MG_EVERSION for options of an
 * unknown version; a mg_policy_validate() code. On an error *st is marked
 * unusable: every other function then returns MG_EINVAL. Unlike
 * mg_retry_run, a custom clock without a custom sleep is fine here.
 * Since 1.1.
 */
MG_API int mg_retry_state_init(mg_retry_state *st, const mg_policy *policy,
                               const mg_retry_options *options);

/*
 * mg_retry_state_begin - ask before each attempt, the first included.
 * Returns MG_OK (0): make the attempt now, then report it with
 * mg_retry_state_on_success or mg_retry_state_on_failure. Or a stop, after
 * which the state is finished: MG_STOP_CANCELLED (the cancel flag is
 * triggered) or MG_STOP_BREAKER (the breaker refused the attempt). Or
 * MG_EINVAL: st NULL or unusable, an attempt already begun and not yet
 * reported, or the state already stopped.
 * The first call counts the call in options->stats, tells the budget that
 * a request starts (after the breaker let it through), and, only when the
 * policy has max_elapsed_ms, reads options->clock (NULL:
 * mg_clock_monotonic) once to fix the deadline. Since 1.1.
 */
MG_API int mg_retry_state_begin(mg_retry_state *st);

/*
 * mg_retry_state_on_success - the attempt begun last succeeded. Tells the
 * breaker and the budget. Returns MG_STOP_SUCCESS (the state is then
 * finished), or MG_EINVAL when no attempt is outstanding. Since 1.1.
 */
MG_API int mg_retry_state_on_success(mg_retry_state *st);

/*
 * mg_retry_state_on_failure - the attempt begun last failed with `error`
 * (anything, NULL included; only passed to is_retryable and pushback).
 * Every failed attempt counts as a failure for the breaker and the
 * budget, whatever is_retryable says. Then, in this order: not retryable
 * (MG_STOP_NOT_RETRYABLE), no retries left (MG_STOP_EXHAUSTED), cancel
 * flag triggered (MG_STOP_CANCELLED), pushback above max_pushback_ms
 * (MG_STOP_PUSHBACK), the backoff delay is drawn, wait = max(delay,
 * pushback), now_ns + wait past the deadline (MG_STOP_DEADLINE), the
 * budget refuses (MG_STOP_BUDGET); otherwise *delay_ms = wait and the
 * answer is MG_RETRY_AGAIN: wait that long, then call
 * mg_retry_state_begin. After MG_RETRY_AGAIN, mg_retry_state_attempts()
 * is also the number of the retry now due (1 for the first).
 * now_ns is the current time on the options' clock (mg_clock_monotonic by
 * default; uv_hrtime() is the same clock on Linux); it is read only when
 * the policy has max_elapsed_ms, so callers without a deadline may pass 0.
 * Returns MG_RETRY_AGAIN, an mg_stop value (the state is then finished),
 * or MG_EINVAL (st or delay_ms NULL, state unusable, no attempt
 * outstanding; the state is unchanged). *delay_ms is written only with
 * MG_RETRY_AGAIN. Allocation-free and lock-free (the budget and breaker
 * use atomics). Since 1.1.
 */
MG_API int mg_retry_state_on_failure(mg_retry_state *st, const void *error,
                                     uint64_t now_ns, uint64_t *delay_ms);

/* The attempts begun so far (0 for NULL or an unusable state; saturates
 * at UINT32_MAX). Since 1.1. */
MG_API uint32_t mg_retry_state_attempts(const mg_retry_state *st);

/* A state is used by one thread at a time; different states share nothing
 * but what their options point to (budget, breaker and stats are
 * thread-safe; a custom random source must be, if shared). */

MG_EXTERN_C_END

#endif /* MG_RETRY_H */
