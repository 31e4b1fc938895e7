/* SPDX-License-Identifier: MIT */
/*
 * pg_client: connect to PostgreSQL with libpq and run a loop of queries,
 * each connection and each query retried with libmgretry. It is meant to
 * be started while the server is still starting, and to survive a server
 * restart in the middle of the loop: a query that fails because the
 * server went away reconnects and runs again on the next attempt. Every
 * failure becomes an mg_error (table below); the executor retries the
 * kinds mg_error_is_retryable() allows, and Conflict as well. The program
 * prints a timeline (milliseconds since the start), a "result:" line per
 * retried run and a "summary:" line that tests/services/pg_test.sh reads;
 * it exits 0 when every query succeeded, 1 when one gave up, 2 on bad
 * usage.
 *
 * Query failures, by SQLSTATE (libpq's PG_DIAG_SQLSTATE):
 *   none (libpq lost the connection)      -> Network
 *   class 08 connection exception         -> Network
 *   57P01 admin_shutdown, 57P02 crash_shutdown,
 *   57P03 cannot_connect_now, class 53 insufficient resources
 *                                         -> ServiceUnavailable
 *   40001 serialization_failure, 40P01 deadlock_detected
 *                                         -> Conflict (resource
 *                                            "transaction"), retried here
 *   57014 query_canceled (statement_timeout) -> Timeout
 *   class 28 invalid authorization        -> Authentication
 *   42501 insufficient_privilege          -> Authorization
 *   anything else                         -> Database
 * ServiceUnavailable and Timeout have no message field, so the server's
 * message becomes their cause (a Database error).
 *
 * Connection failures: libpq reports no SQLSTATE for them, so the client
 * asks PQping() what state the server is in:
 *   PQPING_NO_RESPONSE (not running, refused, unreachable) -> Network
 *   PQPING_REJECT (starting up, shutting down, recovering: the server's
 *     57P03)                                       -> ServiceUnavailable
 *   PQPING_NO_ATTEMPT (bad connection string)      -> Configuration
 *   PQPING_OK: the server accepts connections now (it may just have
 *     finished starting), so the connection is tried once more at once;
 *     if that fails too, the server refused us (authentication, unknown
 *     database)                                    -> Database
 */
#define _POSIX_C_SOURCE 200809L

#include <mg/retry.h>

#include <libpq-fe.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SQL "SELECT pg_backend_pid(), pg_sleep(0.1)"

struct client {
    const char *conninfo;
    const char *sql;
    PGconn *conn;         /* NULL when (re)connecting is needed */
    uint64_t start_ns;    /* when the program started */
    unsigned query;       /* current query number, 0 while connecting */
    unsigned attempts;    /* attempts of the current retried run */
    unsigned connections; /* successful connections so far */
};

static double ms_since(uint64_t start_ns)
{
    return (double)(mg_clock_monotonic(NULL) - start_ns) / 1e6;
}

/* The first line of a libpq message, at most size - 1 bytes. */
static void first_line(char *buf, size_t size, const char *message)
{
    size_t n = message != NULL ? strcspn(message, "\n") : 0;

    if (n >= size)
        n = size - 1;
    if (n > 0)
        memcpy(buf, message, n);
    buf[n] = '\0';
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Makes `cause` a Database error carrying the server's words and attaches
 * it to *error; a failure only loses the detail. */
static void attach_message(mg_error *error, const char *text,
                           const char *operation)
{
    mg_error *cause = NULL;

    if (mg_error_new_database(&cause, text, operation) == MG_OK &&
        mg_error_set_cause(error, cause) != MG_OK)
        mg_error_free(cause);
}

/* The SQLSTATE table of the file comment. The constructors' codes are
 * passed on; on MG_ENOMEM *error is the static out-of-memory error, which
 * is a fine error to report (it is not retryable). */
static int error_from_sqlstate(mg_error **error, const char *sqlstate,
                               const char *message, const char *operation,
                               uint64_t elapsed_ms)
{
    const char *state = sqlstate != NULL ? sqlstate : "";
    char text[384];
    int rc;

    snprintf(text, sizeof text, "[%s] %s",
             state[0] != '\0' ? state : "no SQLSTATE", message);
    if (state[0] == '\0' || has_prefix(state, "08"))
        return mg_error_new_network(error, text);
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
        return mg_error_new_conflict(error, text, "transaction");
    if (has_prefix(state, "28"))
        return mg_error_new_authentication(error, text);
    if (strcmp(state, "42501") == 0)
        return mg_error_new_authorization(error, text);
    if (strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
        strcmp(state, "57P03") == 0 || has_prefix(state, "53"))
        rc = mg_error_new_service_unavailable(error, "postgresql", MG_NONE);
    else if (strcmp(state, "57014") == 0)
        rc = mg_error_new_timeout(error, operation, elapsed_ms);
    else
        return mg_error_new_database(error, text, operation);
    if (rc == MG_OK)
        attach_message(*error, text, operation);
    return rc;
}

/* One connection attempt, classified with PQping() as the file comment
 * says. On success c->conn is the new connection. */
static int connect_once(struct client *c, mg_error **error)
{
    char message[256];
    PGconn *conn = PQconnectdb(c->conninfo);
    PGPing ping;

    if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
        goto connected;
    first_line(message, sizeof message,
               conn != NULL ? PQerrorMessage(conn) : "libpq: out of memory");
    PQfinish(conn);

    ping = PQping(c->conninfo);
    if (ping == PQPING_OK) {
        conn = PQconnectdb(c->conninfo);
        if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
            goto connected;
        first_line(message, sizeof message,
                   conn != NULL ? PQerrorMessage(conn)
                                : "libpq: out of memory");
        PQfinish(conn);
    }
    switch (ping) {
    case PQPING_NO_RESPONSE:
        (void)mg_error_new_network(error, message);
        break;
    case PQPING_REJECT:
        if (mg_error_new_service_unavailable(error, "postgresql", MG_NONE) ==
            MG_OK)
            attach_message(*error, message, "connect");
        break;
    case PQPING_NO_ATTEMPT:
        (void)mg_error_new_configuration(error, message, "conninfo");
        break;
    case PQPING_OK:
    default:
        (void)mg_error_new_database(error, message, "connect");
        break;
    }
    return -1;

connected:
    c->conn = conn;
    c->connections++;
    printf("  %8.1f ms  connected, backend pid %d\n", ms_since(c->start_ns),
           PQbackendPID(conn));
    return 0;
}

static void print_failure(const struct client *c, const char *what,
                          const mg_error *error)
{
    char chain[512];

    (void)mg_error_format_chain(error, chain, sizeof chain, NULL);
    printf("  %8.1f ms  %s attempt %u failed -> %s: %s\n",
           ms_since(c->start_ns), what, c->attempts,
           mg_error_kind_name((int)mg_error_get_kind(error)), chain);
}

/* ---- the two operations ---- */

static int connect_op(void *user_data, mg_error **error)
{
    struct client *c = user_data;

    c->attempts++;
    if (connect_once(c, error) == 0)
        return 0;
    print_failure(c, "connect", *error);
    return -1;
}

static int query_op(void *user_data, mg_error **error)
{
    struct client *c = user_data;
    char what[32], message[256];
    uint64_t begin_ns;
    ExecStatusType status;
    PGresult *res;

    c->attempts++;
    snprintf(what, sizeof what, "query %u", c->query);
    /* A connection the server dropped is replaced first; this is what
     * carries a query across a server restart. */
    if (c->conn != NULL && PQstatus(c->conn) != CONNECTION_OK) {
        PQfinish(c->conn);
        c->conn = NULL;
    }
    if (c->conn == NULL && connect_once(c, error) != 0) {
        print_failure(c, what, *error);
        return -1;
    }

    begin_ns = mg_clock_monotonic(NULL);
    res = PQexec(c->conn, c->sql);
    status = PQresultStatus(res); /* PGRES_FATAL_ERROR for NULL */
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
        printf("  %8.1f ms  %s ok (attempt %u): %s\n", ms_since(c->start_ns),
               what, c->attempts,
               PQntuples(res) > 0 && PQnfields(res) > 0 ? PQgetvalue(res, 0, 0)
                                                        : "(no rows)");
        PQclear(res);
        return 0;
    }
    first_line(message, sizeof message,
               res != NULL &&
                       PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) != NULL
                   ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                   : PQerrorMessage(c->conn));
    (void)error_from_sqlstate(error, PQresultErrorField(res, PG_DIAG_SQLSTATE),
                              message, c->sql,
                              (mg_clock_monotonic(NULL) - begin_ns) / 1000000u);
    PQclear(res);
    if (PQstatus(c->conn) != CONNECTION_OK) {
        PQfinish(c->conn);
        c->conn = NULL;
    }
    print_failure(c, what, *error);
    return -1;
}

/* ---- hooks ---- */

/* mg_error_is_retryable(), and Conflict too: a serialization failure or a
 * deadlock asks for the transaction to be run again. */
static bool retry_conflicts_too(const void *error, void *user_data)
{
    (void)user_data;
    return mg_error_is_retryable(error) ||
           mg_error_get_kind(error) == MG_ERROR_CONFLICT;
}

static void print_retry(uint32_t retry, uint64_t delay_ms, const void *error,
                        void *user_data)
{
    const struct client *c = user_data;

    (void)error;
    printf("  %8.1f ms  retry %" PRIu32 " in %" PRIu64 " ms\n",
           ms_since(c->start_ns), retry, delay_ms);
}

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

/* Runs op under the policy and prints its result line. Returns the stop
 * reason (or a negative status when it could not run). */
static int run(const mg_policy *policy, mg_retry_error_op op, struct client *c,
               const char *phase)
{
    mg_retry_options options = MG_RETRY_OPTIONS_INIT;
    mg_retry_result result = MG_RETRY_RESULT_INIT;
    int stop;

    options.is_retryable = retry_conflicts_too;
    options.on_retry = print_retry;
    options.on_retry_data = c;
    c->attempts = 0;
    stop = mg_retry_with_backoff(policy, op, c, &options, &result);
    if (stop < 0) {
        fprintf(stderr, "pg_client: cannot run: %s\n", mg_status_str(stop));
        return stop;
    }
    printf("result: phase=%s n=%u stop=%s attempts=%" PRIu32
           " slept_ms=%" PRIu64 " kind=%s\n",
           phase, c->query, stop_word(stop), result.attempts, result.slept_ms,
           result.error != NULL
               ? mg_error_kind_name((int)mg_error_get_kind(result.error))
               : "none");
    mg_error_free(result.error);
    return stop;
}

/* ---- command line ---- */

static void usage(FILE *to)
{
    fprintf(to, "usage: pg_client [--queries N] [--sql SQL] [--retries N]\n"
                "                 [--base-ms N] [--max-ms N] [--deadline-s N]\n"
                "                 CONNINFO\n"
                "Connects (retrying while the server starts), then runs SQL\n"
                "N times (default 20; default SQL: " DEFAULT_SQL "),\n"
                "retrying each across connection loss. Exit 0 when all\n"
                "queries succeeded, 1 when one gave up, 2 on bad usage.\n");
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
    struct client c;
    uint64_t queries = 20, value;
    unsigned ok = 0, retried = 0;
    const char *why = NULL;
    int stop, i;

    memset(&c, 0, sizeof c);
    c.sql = DEFAULT_SQL;
    /* A small policy: ten retries, 50 ms doubling up to 1 s with equal
     * jitter, 20 s overall per connection or query. */
    policy.max_retries = 10;
    policy.base_delay_ms = 50;
    policy.max_delay_ms = 1000;
    policy.jitter = MG_JITTER_EQUAL;
    policy.max_elapsed_ms = 20000;

    for (i = 1; i < argc && argv[i][0] == '-'; i += 2) {
        const char *opt = argv[i], *arg = i + 1 < argc ? argv[i + 1] : NULL;
        bool good = true;

        if (strcmp(opt, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(opt, "--queries") == 0) {
            good = parse_u64(arg, 100000, &queries) && queries > 0;
        } else if (strcmp(opt, "--sql") == 0) {
            good = arg != NULL;
            c.sql = arg;
        } else if (strcmp(opt, "--retries") == 0) {
            good = parse_u64(arg, 100, &value);
            policy.max_retries = (uint32_t)value;
        } else if (strcmp(opt, "--base-ms") == 0) {
            good = parse_u64(arg, 3600000, &policy.base_delay_ms);
        } else if (strcmp(opt, "--max-ms") == 0) {
            good = parse_u64(arg, 3600000, &policy.max_delay_ms);
        } else if (strcmp(opt, "--deadline-s") == 0) {
            good = parse_u64(arg, 3600, &value);
            policy.max_elapsed_ms = value * 1000;
        } else {
            good = false;
        }
        if (!good) {
            fprintf(stderr, "pg_client: bad option or value: %s %s\n", opt,
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
        fprintf(stderr, "pg_client: invalid policy: %s\n", why);
        return 2;
    }
    c.conninfo = argv[i];

    /* Test drivers read stdout from a file while it runs: line by line. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("pg_client (libmgretry %s, libpq %d)\n", mg_retry_version(),
           PQlibVersion());
    printf("  policy: %" PRIu32 " retries, base %" PRIu64 " ms, cap %" PRIu64
           " ms, equal jitter, deadline %" PRIu64 " ms per run\n",
           policy.max_retries, policy.base_delay_ms, policy.max_delay_ms,
           policy.max_elapsed_ms);
    c.start_ns = mg_clock_monotonic(NULL);

    stop = run(&policy, connect_op, &c, "connect");
    if (stop != MG_STOP_SUCCESS)
        return stop < 0 ? 2 : 1;

    for (c.query = 1; c.query <= queries; c.query++) {
        stop = run(&policy, query_op, &c, "query");
        if (stop != MG_STOP_SUCCESS)
            break;
        ok++;
        if (c.attempts > 1)
            retried++;
    }
    PQfinish(c.conn);
    printf("summary: queries=%" PRIu64 " ok=%u retried=%u connections=%u\n",
           queries, ok, retried, c.connections);
    if (stop < 0)
        return 2;
    return stop == MG_STOP_SUCCESS ? 0 : 1;
}
