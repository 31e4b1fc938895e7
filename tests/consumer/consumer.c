/* SPDX-License-Identifier: MIT */
/*
 * The consumer program: what an outside project compiles against an
 * installed libmgretry, through find_package or pkg-config, shared or
 * static. It checks real results of the installed library (version,
 * preset delays, a retry run on a virtual clock, an HTTP 429 error) and
 * exits non-zero, naming each failed check, when one does not hold. It
 * includes only the installed headers, so a header that is missing from
 * the install or does not compile cleanly fails here.
 */
#include <mg/retry.h>

#include <stdio.h>
#include <string.h>

static int checks;
static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        checks++;                                                              \
        if (!(cond)) {                                                         \
            failures++;                                                        \
            fprintf(stderr, "consumer.c:%d: check failed: %s\n", __LINE__,     \
                    #cond);                                                    \
        }                                                                      \
    } while (0)

/* A virtual monotonic clock: sleeping moves it forward, nothing waits. */
struct vclock {
    uint64_t now_ns;
    unsigned sleeps;
};

static uint64_t vclock_now(void *user_data)
{
    return ((const struct vclock *)user_data)->now_ns;
}

static void vclock_sleep(uint64_t wake_ns, const mg_cancel *cancel,
                         void *user_data)
{
    struct vclock *clock = user_data;
    (void)cancel;
    if (wake_ns > clock->now_ns)
        clock->now_ns = wake_ns;
    clock->sleeps++;
}

/* An operation that fails with a Network error `fail_first` times. */
struct flaky {
    unsigned calls;
    unsigned fail_first;
};

static int flaky_op(void *user_data, mg_error **error)
{
    struct flaky *op = user_data;
    op->calls++;
    if (op->calls <= op->fail_first) {
        /* On MG_ENOMEM *error is the static out-of-memory error, which
         * is not retryable: the checks below then fail, as they should. */
        (void)mg_error_new_network(error, "connection reset by peer");
        return -1;
    }
    return 0;
}

struct hook_log {
    unsigned calls;
    uint32_t retry[8];
    uint64_t delay_ms[8];
};

static void record_retry(uint32_t retry, uint64_t delay_ms, const void *error,
                         void *user_data)
{
    struct hook_log *log = user_data;
    (void)error;
    if (log->calls < 8) {
        log->retry[log->calls] = retry;
        log->delay_ms[log->calls] = delay_ms;
    }
    log->calls++;
}

static void check_version(void)
{
    CHECK(strcmp(mg_retry_version(), MG_RETRY_VERSION_STRING) == 0);
    CHECK(mg_retry_version_number() == (uint32_t)MG_RETRY_VERSION_NUMBER);
    CHECK(MG_RETRY_VERSION_MAJOR == 1);
}

static void check_default_delays(void)
{
    static const mg_policy from_macro = MG_POLICY_DEFAULT_INIT;
    mg_policy policy;
    const uint64_t expected[] = {100, 200, 400};
    uint64_t delay = 0;
    uint32_t k;

    CHECK(mg_policy_preset(&policy, MG_PRESET_DEFAULT) == MG_OK);
    CHECK(policy.max_retries == 3);
    CHECK(memcmp(&policy, &from_macro, sizeof policy) == 0);
    for (k = 0; k < 3; k++) {
        delay = 0;
        CHECK(mg_backoff_nominal(&policy, k, &delay) == MG_OK);
        CHECK(delay == expected[k]);
    }
    CHECK(mg_backoff_nominal(&policy, 1000, &delay) == MG_OK);
    CHECK(delay == 5000);
}

static void check_retry_run(void)
{
    mg_policy policy = MG_POLICY_DEFAULT_INIT;
    mg_retry_options options = MG_RETRY_OPTIONS_INIT;
    mg_retry_result result = MG_RETRY_RESULT_INIT;
    struct vclock clock = {1000000000u, 0};
    struct flaky op = {0, 2};
    struct hook_log log;
    uint64_t seed = 42;
    int stop;

    memset(&log, 0, sizeof log);
    options.clock = vclock_now;
    options.clock_data = &clock;
    options.sleep = vclock_sleep;
    options.sleep_data = &clock;
    options.random = mg_random_splitmix64;
    options.random_data = &seed;
    options.on_retry = record_retry;
    options.on_retry_data = &log;

    stop = mg_retry_with_backoff(&policy, flaky_op, &op, &options, &result);
    CHECK(stop == MG_STOP_SUCCESS);
    CHECK(result.stop == MG_STOP_SUCCESS);
    CHECK(result.attempts == 3);
    CHECK(op.calls == 3);
    CHECK(result.error == NULL);
    CHECK(log.calls == 2);
    CHECK(log.retry[0] == 1 && log.retry[1] == 2);
    /* Proportional jitter: retry k waits within [d, 1.3 d]. */
    CHECK(log.delay_ms[0] >= 100 && log.delay_ms[0] <= 130);
    CHECK(log.delay_ms[1] >= 200 && log.delay_ms[1] <= 260);
    CHECK(result.slept_ms == log.delay_ms[0] + log.delay_ms[1]);
    /* The executor waited on the injected clock, and only there. */
    CHECK(clock.sleeps >= 2);
    CHECK(clock.now_ns - 1000000000u >= result.slept_ms * 1000000u);
    if (result.error != NULL)
        mg_error_free(result.error);
}

static void check_http_429(void)
{
    mg_error *err = NULL;
    uint64_t seconds = 0;
    char chain[256];
    const char *prefix = "Rate limit exceeded: ";

    CHECK(mg_error_new_from_http(&err, 429, "30", "tiles") == MG_OK);
    CHECK(mg_error_get_kind(err) == MG_ERROR_RATE_LIMIT);
    CHECK(strncmp(mg_error_display(err), prefix, strlen(prefix)) == 0);
    CHECK(mg_error_is_retryable(err));
    CHECK(mg_error_retry_after(err, &seconds) == MG_OK && seconds == 30);
    CHECK(mg_error_format_chain(err, chain, sizeof chain, NULL) == MG_OK);
    CHECK(strncmp(chain, prefix, strlen(prefix)) == 0);
    mg_error_free(err);

    err = NULL;
    CHECK(mg_error_new_rate_limit(&err, 100, "minute", MG_NONE) == MG_OK);
    CHECK(strcmp(mg_error_display(err),
                 "Rate limit exceeded: 100 requests per minute") == 0);
    mg_error_free(err);
}

int main(void)
{
    check_version();
    check_default_delays();
    check_retry_run();
    check_http_429();
    if (failures != 0) {
        fprintf(stderr, "consumer: %d of %d checks failed (library %s)\n",
                failures, checks, mg_retry_version());
        return 1;
    }
    printf("consumer: all %d checks passed (library %s)\n", checks,
           mg_retry_version());
    return 0;
}
