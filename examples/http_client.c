/* SPDX-License-Identifier: MIT */
/*
 * http_client: fetch one URL with libcurl and retry it with libmgretry.
 * Each attempt's outcome is turned into an mg_error: an HTTP status of
 * 400..599 through mg_error_new_from_http() with the raw Retry-After header
 * (so 429 and 503 carry the server's requested wait, in delta-seconds or
 * as an HTTP-date), a transfer failure through the table below. The
 * executor retries what mg_error_is_retryable() allows and waits at least
 * as long as the server asked (up to the policy's pushback ceiling). The
 * program prints a timeline (milliseconds since the start) and a final
 * "result:" line that tests/services/http_test.py reads; it exits 0 when
 * the fetch succeeded, 1 when the retry loop gave up, 2 on bad usage.
 *
 * libcurl failures (no HTTP response):
 *   could not connect / resolve, send or receive error, empty or partial
 *   reply                          -> Network (cause: the socket's errno)
 *   operation timed out            -> Timeout
 *   malformed or unsupported URL   -> Configuration (not retryable)
 *   anything else                  -> ExternalAPI (not retryable)
 * A 3xx left after redirects (at most 5 are followed) is an ExternalAPI
 * error carrying the status.
 */
#define _POSIX_C_SOURCE 200809L

#include <mg/retry.h>

#include <curl/curl.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest Retry-After value kept; longer ones are malformed anyway. */
#define RETRY_AFTER_MAX 128

struct fetch {
    CURL *curl;
    const char *url;
    uint64_t start_ns; /* when the program started fetching */
    unsigned attempts;
    size_t body_bytes;    /* bytes of the current response body */
    char body_head[64];   /* its first bytes, for the timeline */
    bool has_retry_after; /* the current response had Retry-After */
    char retry_after[RETRY_AFTER_MAX];
};

static double ms_since(uint64_t start_ns)
{
    return (double)(mg_clock_monotonic(NULL) - start_ns) / 1e6;
}

/* ---- libcurl callbacks ---- */

static size_t on_body(char *data, size_t size, size_t count, void *user_data)
{
    struct fetch *f = user_data;
    size_t n = size * count; /* libcurl guarantees this fits */
    size_t used = strlen(f->body_head);

    if (used + 1 < sizeof f->body_head) {
        size_t room = sizeof f->body_head - 1 - used;
        size_t copy = n < room ? n : room;
        memcpy(f->body_head + used, data, copy);
        f->body_head[used + copy] = '\0';
    }
    f->body_bytes += n;
    return n;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Called once per header line, including each response's status line.
 * Only the Retry-After of the last response counts, so a status line
 * (a redirect's next response) forgets the previous one. */
static size_t on_header(char *line, size_t size, size_t count, void *user_data)
{
    static const char name[] = "retry-after:";
    struct fetch *f = user_data;
    size_t n = size * count;
    size_t len = n, i = sizeof name - 1;

    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        f->has_retry_after = false;
        f->retry_after[0] = '\0';
        f->body_bytes = 0;
        f->body_head[0] = '\0';
        return n;
    }
    if (n < sizeof name - 1)
        return n;
    for (size_t k = 0; k + 1 < sizeof name; k++) {
        char c = line[k];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != name[k])
            return n;
    }
    /* The value without the optional whitespace around it and the
     * header's own CRLF. */
    while (i < len && is_space(line[i]))
        i++;
    while (len > i && is_space(line[len - 1]))
        len--;
    if (len - i >= sizeof f->retry_after) {
        /* Too long to be valid: keep a marker the parser rejects. */
        memcpy(f->retry_after, "(too long)", sizeof "(too long)");
    } else {
        memcpy(f->retry_after, line + i, len - i);
        f->retry_after[len - i] = '\0';
    }
    f->has_retry_after = true;
    return n;
}

/* ---- mapping a transfer failure ---- */

static int error_from_curl(mg_error **error, CURLcode code, long os_errno,
                           uint64_t elapsed_ms, const char *url)
{
    char message[256];
    int rc;

    snprintf(message, sizeof message, "GET %s: %s", url,
             curl_easy_strerror(code));
    switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        rc = mg_error_new_network(error, message);
        if (rc == MG_OK && os_errno > 0 && os_errno <= INT_MAX)
            rc = mg_error_set_cause_errno(*error, (int)os_errno);
        return rc;
    case CURLE_OPERATION_TIMEDOUT:
        return mg_error_new_timeout(error, message, elapsed_ms);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return mg_error_new_configuration(error, message, "url");
    default:
        return mg_error_new_external_api(error, "http", message, MG_NONE);
    }
}

/* ---- the operation ---- */

static int fetch_once(void *user_data, mg_error **error)
{
    struct fetch *f = user_data;
    uint64_t begin_ns = mg_clock_monotonic(NULL);
    long status = 0, os_errno = 0;
    uint64_t seconds, end_ns;
    CURLcode code;

    f->attempts++;
    f->has_retry_after = false;
    f->retry_after[0] = '\0';
    f->body_bytes = 0;
    f->body_head[0] = '\0';
    printf("  %8.1f ms  attempt %u: GET %s\n", ms_since(f->start_ns),
           f->attempts, f->url);

    /* The constructors' codes are ignored below: on MG_ENOMEM *error is
     * the static out-of-memory error, which is a fine thing to return (it
     * is simply not retryable), and MG_EINVAL cannot happen here. */
    code = curl_easy_perform(f->curl);
    end_ns = mg_clock_monotonic(NULL);
    if (code != CURLE_OK) {
        (void)curl_easy_getinfo(f->curl, CURLINFO_OS_ERRNO, &os_errno);
        (void)error_from_curl(error, code, os_errno,
                              (end_ns - begin_ns) / 1000000u, f->url);
    } else {
        (void)curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status <= 299) {
            size_t shown = strlen(f->body_head);
            while (shown > 0 && is_space(f->body_head[shown - 1]))
                shown--;
            printf("  %8.1f ms  attempt %u: HTTP %ld, %zu bytes: %.*s\n",
                   ms_since(f->start_ns), f->attempts, status, f->body_bytes,
                   (int)shown, f->body_head);
            return 0;
        }
        if (status >= 400 && status <= 599)
            (void)mg_error_new_from_http(
                error, (int)status, f->has_retry_after ? f->retry_after : NULL,
                "http");
        else
            (void)mg_error_new_external_api(
                error, "http", "unexpected HTTP status", (int32_t)status);
    }

    printf("  %8.1f ms  attempt %u: ", ms_since(f->start_ns), f->attempts);
    if (status != 0)
        printf("HTTP %ld ", status);
    if (f->has_retry_after)
        printf("(Retry-After: %s) ", f->retry_after);
    printf("-> %s: %s", mg_error_kind_name((int)mg_error_get_kind(*error)),
           mg_error_display(*error));
    if (mg_error_retry_after(*error, &seconds) == MG_OK)
        printf(" (server asks for %" PRIu64 " s)", seconds);
    printf("\n");
    return -1;
}

/* ---- hooks ---- */

static void print_retry(uint32_t retry, uint64_t delay_ms, const void *error,
                        void *user_data)
{
    const struct fetch *f = user_data;
    uint64_t asked_s;

    printf("  %8.1f ms  retry %" PRIu32 " in %" PRIu64 " ms",
           ms_since(f->start_ns), retry, delay_ms);
    if (mg_error_retry_after(error, &asked_s) == MG_OK)
        printf(" (Retry-After honoured: %" PRIu64 " s requested)", asked_s);
    printf("\n");
}

/* ---- command line ---- */

/* A stop reason as one word ("not_retryable") for the result line. */
static const char *stop_word(int stop)
{
    static char word[32];
    size_t k;

    snprintf(word, sizeof word, "%s", mg_retry_stop_str(stop));
    for (k = 0; word[k] != '\0'; k++)
        if (word[k] == ' ')
            word[k] = '_';
    return word;
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: http_client [--retries N] [--base-ms N] [--max-ms N]\n"
            "                   [--max-pushback-s N] [--deadline-s N]\n"
            "                   [--timeout-ms N] URL\n"
            "Fetches URL, retrying 429/503 (honouring Retry-After), 408/504,\n"
            "connection failures and timeouts. Exit 0 on success, 1 when\n"
            "the retries gave up, 2 on bad usage.\n");
}

/* Parses a decimal number in 0..max; false for anything else. */
static bool parse_u64(const char *text, uint64_t max, uint64_t *value)
{
    char *end;
    unsigned long long v;

    if (text == NULL || *text < '0' || *text > '9')
        return false;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return false;
    *value = v;
    return true;
}

int main(int argc, char **argv)
{
    mg_policy policy = MG_POLICY_INIT;
    mg_retry_options options = MG_RETRY_OPTIONS_INIT;
    mg_retry_result result = MG_RETRY_RESULT_INIT;
    struct fetch f;
    uint64_t timeout_ms = 5000, value;
    const char *why = NULL;
    char chain[512];
    int stop, i;

    memset(&f, 0, sizeof f);
    /* A small policy: four retries, 100 ms doubling up to 1 s with equal
     * jitter (so that every wait is at least half the nominal delay),
     * Retry-After honoured up to 10 s, 20 s overall. */
    policy.max_retries = 4;
    policy.base_delay_ms = 100;
    policy.max_delay_ms = 1000;
    policy.jitter = MG_JITTER_EQUAL;
    policy.max_pushback_ms = 10000;
    policy.max_elapsed_ms = 20000;

    for (i = 1; i < argc && argv[i][0] == '-'; i += 2) {
        const char *opt = argv[i], *arg = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;

        if (strcmp(opt, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(opt, "--retries") == 0) {
            ok = parse_u64(arg, 100, &value);
            policy.max_retries = (uint32_t)value;
        } else if (strcmp(opt, "--base-ms") == 0) {
            ok = parse_u64(arg, 3600000, &policy.base_delay_ms);
        } else if (strcmp(opt, "--max-ms") == 0) {
            ok = parse_u64(arg, 3600000, &policy.max_delay_ms);
        } else if (strcmp(opt, "--max-pushback-s") == 0) {
            ok = parse_u64(arg, 3600, &value);
            policy.max_pushback_ms = value * 1000;
        } else if (strcmp(opt, "--deadline-s") == 0) {
            ok = parse_u64(arg, 3600, &value);
            policy.max_elapsed_ms = value * 1000;
        } else if (strcmp(opt, "--timeout-ms") == 0) {
            ok = parse_u64(arg, 3600000, &timeout_ms) && timeout_ms > 0;
        } else {
            ok = false;
        }
        if (!ok) {
            fprintf(stderr, "http_client: bad option or value: %s %s\n", opt,
                    arg != NULL ? arg : "(missing)");
            usage(stderr);
            return 2;
        }
    }
    if (i != argc - 1) {
        usage(stderr);
        return 2;
    }
    if (mg_policy_validate(&policy, &why) != MG_OK) {
        fprintf(stderr, "http_client: invalid policy: %s\n", why);
        return 2;
    }

    /* Test drivers read stdout through a pipe: one line at a time. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "http_client: curl_global_init failed\n");
        return 2;
    }
    f.curl = curl_easy_init();
    if (f.curl == NULL) {
        fprintf(stderr, "http_client: curl_easy_init failed\n");
        curl_global_cleanup();
        return 2;
    }
    f.url = argv[i];
    (void)curl_easy_setopt(f.curl, CURLOPT_URL, f.url);
    (void)curl_easy_setopt(f.curl, CURLOPT_FOLLOWLOCATION, 1L);
    (void)curl_easy_setopt(f.curl, CURLOPT_MAXREDIRS, 5L);
    (void)curl_easy_setopt(f.curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    (void)curl_easy_setopt(f.curl, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(f.curl, CURLOPT_WRITEFUNCTION, on_body);
    (void)curl_easy_setopt(f.curl, CURLOPT_WRITEDATA, &f);
    (void)curl_easy_setopt(f.curl, CURLOPT_HEADERFUNCTION, on_header);
    (void)curl_easy_setopt(f.curl, CURLOPT_HEADERDATA, &f);
    (void)curl_easy_setopt(f.curl, CURLOPT_USERAGENT, "mgretry-http-client");

    printf("http_client (libmgretry %s, %s)\n", mg_retry_version(),
           curl_version());
    printf("  policy: %" PRIu32 " retries, base %" PRIu64 " ms, cap %" PRIu64
           " ms, equal jitter, Retry-After up to %" PRIu64
           " ms, deadline %" PRIu64 " ms\n",
           policy.max_retries, policy.base_delay_ms, policy.max_delay_ms,
           policy.max_pushback_ms, policy.max_elapsed_ms);

    options.on_retry = print_retry;
    options.on_retry_data = &f;
    f.start_ns = mg_clock_monotonic(NULL);
    stop = mg_retry_with_backoff(&policy, fetch_once, &f, &options, &result);
    if (stop < 0) {
        fprintf(stderr, "http_client: cannot run: %s\n", mg_status_str(stop));
        curl_easy_cleanup(f.curl);
        curl_global_cleanup();
        return 2;
    }
    printf("  %8.1f ms  %s after %" PRIu32 " attempt%s, slept %" PRIu64 " ms\n",
           ms_since(f.start_ns), mg_retry_stop_str(stop), result.attempts,
           result.attempts == 1 ? "" : "s", result.slept_ms);
    if (result.error != NULL) {
        /* A truncated chain (MG_ETOOSMALL) is still worth printing. */
        (void)mg_error_format_chain(result.error, chain, sizeof chain, NULL);
        printf("  final error: %s\n", chain);
    }
    printf("result: stop=%s attempts=%" PRIu32 " slept_ms=%" PRIu64
           " kind=%s\n",
           stop_word(stop), result.attempts, result.slept_ms,
           result.error != NULL
               ? mg_error_kind_name((int)mg_error_get_kind(result.error))
               : "none");
    mg_error_free(result.error);
    curl_easy_cleanup(f.curl);
    curl_global_cleanup();
    return stop == MG_STOP_SUCCESS ? 0 : 1;
}
