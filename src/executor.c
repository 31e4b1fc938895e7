/* SPDX-License-Identifier: MIT */
/*
 * The executor: the blocking retry loop (mg_retry_run) and its mg_error
 * adapter (mg_retry_with_backoff), together with what the loop waits and
 * reports with: the cancellation flag, the default monotonic clock and
 * sleep, the stop-reason names and the stderr log handler. The loop is a
 * thin driver of the retry state machine (retry_state.c), which makes
 * every decision; the loop calls the operation, reads the clock, sleeps,
 * calls the hook, logs and owns the error objects, with all time math
 * saturating. Its success path is one call of the operation: no clock
 * read (unless a deadline needs a start time), no random draw, no
 * allocation, no getenv(); and the loop never allocates.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mg_internal.h"
#include "retry_state.h"

#define MG_NS_PER_MS UINT64_C(1000000)
#define MG_NS_PER_S UINT64_C(1000000000)
/* The longest slice of a cancellable sleep, which bounds how late a
 * sleeping executor notices a trigger. */
#define MG_SLEEP_SLICE_NS (4 * MG_NS_PER_MS)

/* ------------------------------------------------------------------------
 * Cancellation
 * ---------------------------------------------------------------------- */

/* C11 allows a signal handler to touch only lock-free atomic objects, and
 * mg_cancel_trigger() promises async-signal safety. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
               "mg_cancel needs an always lock-free atomic_int");

struct mg_cancel {
    atomic_int triggered; /* 0 or 1 */
};

int mg_cancel_new(mg_cancel **out)
{
    mg_cancel *cancel;

    if (out == NULL)
        return MG_EINVAL;
    cancel = mg__malloc(sizeof(*cancel));
    if (cancel == NULL) {
        *out = NULL;
        return MG_ENOMEM;
    }
    atomic_init(&cancel->triggered, 0);
    *out = cancel;
    return MG_OK;
}

void mg_cancel_free(mg_cancel *cancel)
{
    mg__free(cancel);
}

int mg_cancel_trigger(mg_cancel *cancel)
{
    if (cancel == NULL)
        return MG_EINVAL;
    atomic_store_explicit(&cancel->triggered, 1, memory_order_release);
    return MG_OK;
}

bool mg_cancel_is_triggered(const mg_cancel *cancel)
{
    if (cancel == NULL)
        return false;
    return atomic_load_explicit(&cancel->triggered, memory_order_acquire) != 0;
}

int mg_cancel_reset(mg_cancel *cancel)
{
    if (cancel == NULL)
        return MG_EINVAL;
    atomic_store_explicit(&cancel->triggered, 0, memory_order_release);
    return MG_OK;
}

/* ------------------------------------------------------------------------
 * Clock and sleep
 * ---------------------------------------------------------------------- */

uint64_t mg_clock_monotonic(void *user_data)
{
    struct timespec ts;

    (void)user_data;
    /* CLOCK_MONOTONIC cannot fail or go negative on a POSIX system; 0 is
     * a safe answer should it ever do so. */
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0 || ts.tv_sec < 0 ||
        ts.tv_nsec < 0)
        return 0;
    return mg__add_sat(mg__mul_sat((uint64_t)ts.tv_sec, MG_NS_PER_S),
                       (uint64_t)ts.tv_nsec);
}

/* A nanosecond reading as an absolute timespec. time_t is signed and may
 * be 32 bits wide: clamp rather than wrap into the past. */
static struct timespec mg_timespec_from_ns(uint64_t ns)
{
    const uint64_t max_sec =
        sizeof(time_t) >= 8 ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX;
    struct timespec ts;
    uint64_t sec = ns / MG_NS_PER_S;

    if (sec > max_sec)
        sec = max_sec;
    ts.tv_sec = (time_t)sec;
    ts.tv_nsec = (long)(ns % MG_NS_PER_S);
    return ts;
}

void mg_sleep_monotonic(uint64_t wake_ns, const mg_cancel *cancel,
                        void *user_data)
{
    (void)user_data;
    /* Every pass aims at wake_ns itself (or a slice of the way there), so
     * a signal that interrupts clock_nanosleep neither shortens the wait
     * nor, by restarting a relative timer, lengthens it. */
    for (;;) {
        struct timespec ts;
        uint64_t now, target;
        int rc;

        if (mg_cancel_is_triggered(cancel))
            return;
        now = mg_clock_monotonic(NULL);
        if (now >= wake_ns)
            return;
        target = wake_ns;
        if (cancel != NULL && wake_ns - now > MG_SLEEP_SLICE_NS)
            target = now + MG_SLEEP_SLICE_NS;
        ts = mg_timespec_from_ns(target);
        rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        /* Any error but EINTR would repeat forever: give up the wait
         * rather than spin. */
        if (rc != 0 && rc != EINTR)
            return;
    }
}

/* ------------------------------------------------------------------------
 * Executor
 * ---------------------------------------------------------------------- */

const char *mg_retry_stop_str(int stop)
{
    switch (stop) {
    case MG_STOP_SUCCESS:
        return "success";
    case MG_STOP_EXHAUSTED:
        return "exhausted";
    case MG_STOP_NOT_RETRYABLE:
        return "not retryable";
    case MG_STOP_DEADLINE:
        return "deadline";
    case MG_STOP_CANCELLED:
        return "cancelled";
    case MG_STOP_PUSHBACK:
        return "pushback";
    case MG_STOP_BUDGET:
        return "budget";
    case MG_STOP_BREAKER:
        return "breaker open";
    default:
        return "unknown";
    }
}

void mg_log_stderr(int level, const char *message, void *user_data)
{
    (void)user_data;
    if (message == NULL)
        message = "";
    /* One fprintf per line: stdio locks stderr for the whole call, so lines
     * from concurrent runs do not interleave. */
    if (level == MG_LOG_DEBUG)
        fprintf(stderr, "mgretry: debug: %s\n", message);
    else if (level == MG_LOG_WARN)
        fprintf(stderr, "mgretry: warn: %s\n", message);
    else
        fprintf(stderr, "mgretry: level %d: %s\n", level, message);
}

/* The size of a version-1 struct: everything up to the first field
 * version 2 appended. */
#define MG_RETRY_OPTIONS_V1_SIZE offsetof(mg_retry_options, budget)

/* The bytes of an options struct that its version has. */
static size_t mg_retry_options_size(uint32_t version)
{
    return version == 1 ? MG_RETRY_OPTIONS_V1_SIZE : sizeof(mg_retry_options);
}

int mg_retry_options_init(mg_retry_options *options, uint32_t version)
{
    static const mg_retry_options defaults = MG_RETRY_OPTIONS_INIT;

    if (options == NULL)
        return MG_EINVAL;
    if (version == 0 || version > MG_RETRY_OPTIONS_VERSION)
        return MG_EVERSION;
    /* A version-1 caller's struct ends before the version-2 fields. */
    memcpy(options, &defaults, mg_retry_options_size(version));
    options->version = version;
    return MG_OK;
}

/* The log sink of one run. MG_RETRY_LOG is read only when the first
 * message is due, so that a run that logs nothing never calls getenv(). */
struct mg_run_log {
    bool resolved;
    mg_log_fn fn;
    void *data;
    int min_level;
};

static bool mg_run_log_wants(struct mg_run_log *log, int level)
{
    if (!log->resolved) {
        log->resolved = true;
        if (log->fn == NULL) {
            const char *env = getenv("MG_RETRY_LOG");
            int env_level = 0;

            if (env != NULL && strcmp(env, "debug") == 0)
                env_level = MG_LOG_DEBUG;
            else if (env != NULL && strcmp(env, "warn") == 0)
                env_level = MG_LOG_WARN;
            if (env_level != 0) {
                log->fn = mg_log_stderr;
                log->data = NULL;
                if (log->min_level < env_level)
                    log->min_level = env_level;
            }
        }
    }
    return log->fn != NULL && level >= log->min_level;
}

static void mg_drop(const mg_retry_options *options, void *error)
{
    if (error != NULL && options->drop_error != NULL)
        options->drop_error(error, options->drop_error_data);
}

static bool mg_version_ok(uint32_t version, uint32_t current)
{
    return version != 0 && version <= current;
}

/* The retry loop proper, entered once the first attempt has failed (or
 * could not run bare): kept out of line so that mg_retry_run's success
 * path has a small frame. Arguments are checked; policy and options are
 * not NULL. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int mg_retry_loop(const mg_policy *policy, mg_retry_op op,
                         void *op_data, const mg_retry_options *options,
                         mg_retry_result *result, bool first_failed,
                         void *first_error)
{
    mg_retry_state state;
    struct mg_run_log log;
    mg_clock_fn clock_fn = mg_clock_monotonic;
    void *clock_data = NULL;
    mg_sleep_fn sleep_fn = mg_sleep_monotonic;
    void *sleep_data = NULL;
    bool has_deadline;
    uint64_t slept_ms = 0;
    void *last_error = NULL; /* owned by the loop until handed back */
    int stop;
    int rc;

    /* Validates the policy; the state reads the deadline's start time
     * from the same clock as the loop below. */
    rc = mg__retry_state_init(&state, policy, options);
    if (MG_UNLIKELY(rc != MG_OK)) {
        /* Unreachable after a first attempt (the same checks passed),
         * but never leak its error. */
        if (first_failed)
            mg_drop(options, first_error);
        return rc;
    }

    if (options->clock != NULL) {
        clock_fn = options->clock;
        clock_data = options->clock_data;
        sleep_fn = options->sleep;
        sleep_data = options->sleep_data;
    }
    log.resolved = false;
    log.fn = options->log;
    log.data = options->log_data;
    log.min_level = options->log_level;
    has_deadline = policy->max_elapsed_ms != 0;

    for (;;) {
        void *error = NULL;
        uint64_t wait_ms = 0, wait_ns, now_ns = 0;
        uint32_t retry;

        stop = mg__retry_state_begin(&state);
        if (stop != MG_OK)
            break;
        if (first_failed) {
            /* Already run and failed, before the state existed. */
            first_failed = false;
            error = first_error;
        } else if (op(op_data, &error) == 0) {
            /* A successful operation stores no error; whatever it left in
             * `error` is not ours. */
            mg_drop(options, last_error);
            last_error = NULL;
            stop = mg__retry_state_on_success(&state);
            break;
        }
        /* An operation may fail twice with the same object (a static
         * error, say); it is not superseded then, and freeing it would
         * hand a dangling pointer back. */
        if (error != last_error)
            mg_drop(options, last_error);
        last_error = error;

        /* One reading serves both the deadline check and the wake time, so
         * the sleep never ends past the deadline that was checked; the
         * time the hook and the log take counts towards the wait. */
        if (has_deadline)
            now_ns = clock_fn(clock_data);
        stop = mg__retry_state_on_failure(&state, error, now_ns, &wait_ms);
        if (stop != MG_RETRY_AGAIN)
            break;
        wait_ns = mg__mul_sat(wait_ms, MG_NS_PER_MS);
        if (!has_deadline && wait_ns != 0)
            now_ns = clock_fn(clock_data);
        retry = mg__retry_state_attempts(&state);
        if (options->on_retry != NULL)
            options->on_retry(retry, wait_ms, error, options->on_retry_data);
        if (mg_run_log_wants(&log, MG_LOG_DEBUG)) {
            char msg[96];

            snprintf(msg, sizeof(msg),
                     "retry %" PRIu32 " of %" PRIu32 " in %" PRIu64 " ms",
                     retry, policy->max_retries, wait_ms);
            log.fn(MG_LOG_DEBUG, msg, log.data);
        }
        /* A zero wait makes no sleep call: even a 0 ns nanosleep costs
         * about 100 us here. The cancel flag, checked by the next begin,
         * ends the loop after a cut-short sleep. */
        if (wait_ns != 0) {
            sleep_fn(mg__add_sat(now_ns, wait_ns), options->cancel, sleep_data);
            slept_ms = mg__add_sat(slept_ms, wait_ms);
        }
    }

    if (stop != MG_STOP_SUCCESS && mg_run_log_wants(&log, MG_LOG_WARN)) {
        char msg[96];

        uint32_t attempts = mg__retry_state_attempts(&state);

        snprintf(msg, sizeof(msg), "giving up after %" PRIu32 " attempt%s: %s",
                 attempts, attempts == 1 ? "" : "s", mg_retry_stop_str(stop));
        log.fn(MG_LOG_WARN, msg, log.data);
    }
    if (result != NULL) {
        result->attempts = mg__retry_state_attempts(&state);
        result->stop = stop;
        result->slept_ms = slept_ms;
        result->error = last_error;
    } else {
        mg_drop(options, last_error);
    }
    return stop;
}

int mg_retry_run(const mg_policy *policy, mg_retry_op op, void *op_data,
                 const mg_retry_options *options, mg_retry_result *result)
{
    void *first_error = NULL;

    if (op == NULL)
        return MG_EINVAL;
    if (options == NULL)
        options = &mg__state_default_options;
    else if (!mg_version_ok(options->version, MG_RETRY_OPTIONS_VERSION))
        return MG_EVERSION;
    if (result != NULL &&
        !mg_version_ok(result->version, MG_RETRY_RESULT_VERSION))
        return MG_EVERSION;
    /* A virtual clock with the real sleep (or the reverse) would compute
     * wake times in one time base and sleep in another. */
    if ((options->clock == NULL) != (options->sleep == NULL))
        return MG_EINVAL;
    if (policy == NULL)
        policy = &mg__state_default_policy;
    /* The success path: when the first attempt needs nothing from the
     * state machine (mg__state_first_attempt_is_bare), run it before
     * setting anything up, and return at once if it succeeds; the state
     * machine then hears of a failed first attempt as if it had begun it.
     * This keeps a successful call within a few ns of a direct call. */
    if (MG_UNLIKELY(!mg__policy_ok(policy) ||
                    !mg__state_first_attempt_is_bare(policy, options)))
        return mg_retry_loop(policy, op, op_data, options, result, false,
                             NULL);
    if (MG_UNLIKELY(op(op_data, &first_error) != 0))
        return mg_retry_loop(policy, op, op_data, options, result, true,
                             first_error);
    if (result != NULL) {
        result->attempts = 1;
        result->stop = MG_STOP_SUCCESS;
        result->slept_ms = 0;
        result->error = NULL;
    }
    return MG_STOP_SUCCESS;
}

/* ------------------------------------------------------------------------
 * The mg_error adapter
 * ---------------------------------------------------------------------- */

struct mg_error_trampoline {
    mg_retry_error_op op;
    void *op_data;
};

static int mg_error_trampoline_op(void *user_data, void **error)
{
    const struct mg_error_trampoline *t = user_data;
    mg_error *err = NULL;
    int rc = t->op(t->op_data, &err);

    if (rc != 0)
        *error = err;
    return rc;
}

static bool mg_error_default_classify(const void *error, void *user_data)
{
    (void)user_data;
    return mg_error_is_retryable(error);
}

static void mg_error_default_drop(void *error, void *user_data)
{
    (void)user_data;
    mg_error_free(error);
}

static bool mg_error_default_pushback(const void *error, uint64_t *wait_ms,
                                      void *user_data)
{
    uint64_t seconds;

    (void)user_data;
    if (mg_error_retry_after(error, &seconds) != MG_OK)
        return false;
    *wait_ms = mg__mul_sat(seconds, 1000);
    return true;
}

int mg_retry_with_backoff(const mg_policy *policy, mg_retry_error_op op,
                          void *op_data, const mg_retry_options *options,
                          mg_retry_result *result)
{
    mg_retry_options opts = MG_RETRY_OPTIONS_INIT;
    struct mg_error_trampoline t;

    if (op == NULL)
        return MG_EINVAL;
    if (options != NULL) {
        if (!mg_version_ok(options->version, MG_RETRY_OPTIONS_VERSION))
            return MG_EVERSION;
        /* Only the fields options->version has; the rest keep their
         * defaults, and the copy is a current-version struct. */
        memcpy(&opts, options, mg_retry_options_size(options->version));
        opts.version = MG_RETRY_OPTIONS_VERSION;
    }
    if (opts.is_retryable == NULL) {
        opts.is_retryable = mg_error_default_classify;
        opts.is_retryable_data = NULL;
    }
    if (opts.drop_error == NULL) {
        opts.drop_error = mg_error_default_drop;
        opts.drop_error_data = NULL;
    }
    if (opts.pushback == NULL) {
        opts.pushback = mg_error_default_pushback;
        opts.pushback_data = NULL;
    }
    t.op = op;
    t.op_data = op_data;
    return mg_retry_run(policy, mg_error_trampoline_op, &t, &opts, result);
}
