/* SPDX-License-Identifier: MIT */
/*
 * retry_usage: the five usage scenarios of the original media gateway's
 * retry example, run against libmgretry with the real clock and sleep.
 * Each scenario prints a timeline (milliseconds since its start, each
 * attempt and its outcome, each retry and the delay the executor chose,
 * reported by the on_retry hook) and then how the run ended, with the
 * error chain from mg_error_format_chain(). To keep the program fast, the
 * presets' delays are divided by DELAY_SCALE; the retry counts and jitter
 * modes are the presets' own. The program checks each outcome and exits
 * non-zero if one is not what the scenario expects, so CTest can run it.
 * Set MG_RETRY_LOG=debug to also see the library's own log lines.
 */
#define _POSIX_C_SOURCE 200809L

#include <mg/retry.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Real delays are the presets' divided by this. */
#define DELAY_SCALE 10

/* A scenario's operation: it fails `fail_first` times, then succeeds. */
struct op_state {
    uint64_t start_ns;                   /* when the scenario started */
    unsigned calls;                      /* attempts so far */
    unsigned fail_first;                 /* failures before the first success */
    int (*make_error)(mg_error **error); /* the failure to report */
};

static double ms_since(uint64_t start_ns)
{
    return (double)(mg_clock_monotonic(NULL) - start_ns) / 1e6;
}

/* ---- the failures of the five scenarios ---- */

static int network_error(mg_error **error)
{
    /* A network error whose cause is the system error behind it. */
    int rc = mg_error_new_network(error, "GET /v1/content/42 failed");
    if (rc == MG_OK)
        rc = mg_error_set_cause_errno(*error, ECONNRESET);
    return rc;
}

static int database_error(mg_error **error)
{
    mg_error *cause = NULL;
    int rc = mg_error_new_database(error, "deadlock detected",
                                   "UPDATE watch_history");
    if (rc == MG_OK && mg_error_new_timeout(&cause, "lock wait", 50) == MG_OK)
        if (mg_error_set_cause(*error, cause) != MG_OK)
            mg_error_free(cause);
    return rc;
}

static int validation_error(mg_error **error)
{
    return mg_error_new_validation(error, "title must not be empty", "title");
}

static int unavailable_error(mg_error **error)
{
    return mg_error_new_service_unavailable(error, "transcoder", MG_NONE);
}

static int timeout_error(mg_error **error)
{
    int rc = mg_error_new_timeout(error, "refresh recommendations", 250);
    if (rc == MG_OK)
        rc = mg_error_set_cause_errno(*error, ETIMEDOUT);
    return rc;
}

static int flaky_operation(void *user_data, mg_error **error)
{
    struct op_state *op = user_data;
    unsigned attempt = ++op->calls;

    if (attempt <= op->fail_first) {
        /* On MG_ENOMEM *error is the library's static out-of-memory
         * error, which is fine to return: it is simply not retryable. */
        (void)op->make_error(error);
        printf("  %7.1f ms  attempt %u fails: %s\n", ms_since(op->start_ns),
               attempt, mg_error_display(*error));
        return -1;
    }
    printf("  %7.1f ms  attempt %u succeeds\n", ms_since(op->start_ns),
           attempt);
    return 0;
}

/* ---- hooks ---- */

static void print_retry(uint32_t retry, uint64_t delay_ms, const void *error,
                        void *user_data)
{
    const struct op_state *op = user_data;
    (void)error;
    printf("  %7.1f ms  retry %" PRIu32 " in %" PRIu64 " ms\n",
           ms_since(op->start_ns), retry, delay_ms);
}

/* The caller's own classifier for scenario 2: the original's example
 * wanted its database call retried, but the faithful classification says
 * a Database error is not retryable. This one retries it as well. */
static bool retry_database_too(const void *error, void *user_data)
{
    (void)user_data;
    return mg_error_is_retryable(error) ||
           mg_error_get_kind(error) == MG_ERROR_DATABASE;
}

/* ---- running and reporting ---- */

static mg_policy scaled(mg_policy policy)
{
    policy.base_delay_ms /= DELAY_SCALE;
    policy.max_delay_ms /= DELAY_SCALE;
    return policy;
}

static void print_policy(const mg_policy *policy)
{
    static const char *const jitter_names[] = {"none", "proportional", "full",
                                               "equal", "decorrelated"};
    const char *jitter =
        policy->jitter < 5 ? jitter_names[policy->jitter] : "unknown";
    printf("  policy: %" PRIu32 " retries, base %" PRIu64 " ms, cap %" PRIu64
           " ms, %s jitter\n",
           policy->max_retries, policy->base_delay_ms, policy->max_delay_ms,
           jitter);
}

/* Runs one scenario and returns 0 when it ended as expected. */
static int run_scenario(const char *title, const mg_policy *policy,
                        struct op_state *op, mg_retry_classify_fn classify,
                        int expected_stop, unsigned expected_attempts)
{
    mg_retry_options options = MG_RETRY_OPTIONS_INIT;
    mg_retry_result result = MG_RETRY_RESULT_INIT;
    char chain[512];
    int stop;

    printf("\n%s\n", title);
    print_policy(policy);
    options.on_retry = print_retry;
    options.on_retry_data = op;
    options.is_retryable = classify; /* NULL: mg_error_is_retryable */
    op->start_ns = mg_clock_monotonic(NULL);

    stop =
        mg_retry_with_backoff(policy, flaky_operation, op, &options, &result);
    if (stop < 0) {
        printf("  could not run: %s\n", mg_status_str(stop));
        return 1;
    }
    printf("  %7.1f ms  outcome: %s after %" PRIu32 " attempt%s, slept %" PRIu64
           " ms\n",
           ms_since(op->start_ns), mg_retry_stop_str(stop), result.attempts,
           result.attempts == 1 ? "" : "s", result.slept_ms);
    if (result.error != NULL) {
        /* A truncated chain (MG_ETOOSMALL) is still worth printing. */
        (void)mg_error_format_chain(result.error, chain, sizeof chain, NULL);
        printf("  final error: %s\n", chain);
        mg_error_free(result.error);
    }
    if (stop != expected_stop || result.attempts != expected_attempts) {
        printf("  UNEXPECTED: wanted %s after %u attempts\n",
               mg_retry_stop_str(expected_stop), expected_attempts);
        return 1;
    }
    return 0;
}

int main(void)
{
    mg_policy policy;
    int failures = 0;

    printf("libmgretry %s retry_usage example\n", mg_retry_version());
    printf("Delays are the presets' divided by %d so that the whole run "
           "takes well under a second.\n",
           DELAY_SCALE);

    /* 1. A network request with the default policy: two connection
     *    resets, then the response. */
    {
        struct op_state op = {0, 0, 2, network_error};
        policy = scaled((mg_policy)MG_POLICY_DEFAULT_INIT);
        failures += run_scenario("1. Network request, default policy", &policy,
                                 &op, NULL, MG_STOP_SUCCESS, 3);
    }

    /* 2. A database operation with the aggressive policy. The faithful
     *    classifier does not retry Database errors (the original's known
     *    quirk), so the first run makes one attempt; a caller-supplied
     *    classifier makes it retry. */
    {
        struct op_state op = {0, 0, 2, database_error};
        if (mg_policy_preset(&policy, MG_PRESET_AGGRESSIVE) != MG_OK)
            return 1;
        policy = scaled(policy);
        failures += run_scenario(
            "2a. Database operation, aggressive policy, faithful classifier",
            &policy, &op, NULL, MG_STOP_NOT_RETRYABLE, 1);
        op.calls = 0;
        failures += run_scenario(
            "2b. Same operation, classifier that also retries Database errors",
            &policy, &op, retry_database_too, MG_STOP_SUCCESS, 3);
    }

    /* 3. A validation error is never retried. */
    {
        struct op_state op = {0, 0, 1, validation_error};
        policy = scaled((mg_policy)MG_POLICY_DEFAULT_INIT);
        failures += run_scenario("3. Validation error, default policy", &policy,
                                 &op, NULL, MG_STOP_NOT_RETRYABLE, 1);
    }

    /* 4. A custom policy from the original's four settings (4 retries,
     *    200 ms, 2000 ms cap, proportional jitter), then switched to the
     *    "equal" jitter mode. */
    {
        struct op_state op = {0, 0, 3, unavailable_error};
        const char *why = NULL;
        if (mg_policy_make(&policy, 4, 200, 2000, MG_JITTER_PROPORTIONAL) !=
            MG_OK)
            return 1;
        policy.jitter = MG_JITTER_EQUAL;
        if (mg_policy_validate(&policy, &why) != MG_OK) {
            printf("invalid policy: %s\n", why);
            return 1;
        }
        policy = scaled(policy);
        failures += run_scenario("4. Custom policy (mg_policy_make)", &policy,
                                 &op, NULL, MG_STOP_SUCCESS, 4);
    }

    /* 5. Non-critical work with the gentle policy: it keeps timing out,
     *    and the gentle policy gives up after three attempts. */
    {
        struct op_state op = {0, 0, 100, timeout_error};
        policy = scaled((mg_policy)MG_POLICY_GENTLE_INIT);
        failures += run_scenario("5. Non-critical work, gentle policy", &policy,
                                 &op, NULL, MG_STOP_EXHAUSTED, 3);
    }

    printf("\n%s\n", failures == 0 ? "All scenarios ended as expected."
                                   : "Some scenarios did not end as expected.");
    return failures == 0 ? 0 : 1;
}
