/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of mg_error (src/error.c) and mg_status_str(): every kind's
 * constructor, fields, display text and classification against tables
 * written from SPEC.md; NULL and out-of-range arguments; causes, chains and
 * their formatting; the errno and HTTP mappings; the Retry-After parser;
 * and real allocation failure through a malloc interposed in this
 * executable (which wins symbol resolution over libc for both the static
 * and the shared library).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <mg/error.h>

/* ---- malloc interposition ---- */

/* ASan, TSan and MSan supply their own malloc; memory from __libc_malloc
 * would then reach their free (or their init would run through ours), so
 * the interposer is left out under them and the allocation-failure tests
 * skip. UBSan keeps glibc's allocator, so they run there. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TEST_SANITIZER_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||     \
    __has_feature(memory_sanitizer)
#define TEST_SANITIZER_MALLOC 1
#endif
#endif

static int fail_countdown = -1; /* -1: never fail; 0: fail the next one */
static unsigned long malloc_calls;

#ifndef TEST_SANITIZER_MALLOC
extern void *__libc_malloc(size_t);
void *malloc(size_t n)
{
    malloc_calls++;
    if (fail_countdown == 0) {
        fail_countdown = -1;
        return NULL;
    }
    if (fail_countdown > 0)
        fail_countdown--;
    return __libc_malloc(n);
}
#endif

/* Whether this process really runs the interposer above: not under a
 * sanitizer's malloc, and not under valgrind unless it was started with
 * --soname-synonyms=somalloc=nouserintercepts. The volatile pointer stops
 * the compiler from folding the probe away. */
static bool interposer_active(void)
{
    void *(*volatile alloc)(size_t) = malloc;
    fail_countdown = 0;
    void *p = alloc(16);
    fail_countdown = -1;
    free(p);
    return p == NULL;
}

#define REQUIRE_INTERPOSER()                                                   \
    do {                                                                       \
        if (!interposer_active()) {                                            \
            print_message("malloc interposer inactive (sanitizer malloc or "   \
                          "valgrind without nouserintercepts): skipped\n");    \
            skip();                                                            \
        }                                                                      \
    } while (0)

/* ---- expectations written from SPEC.md ---- */

#define NKINDS 19

struct field_val {
    int field; /* 0 ends the list */
    const char *value;
};

struct num_val {
    int field; /* 0 ends the list */
    uint64_t value;
};

struct kind_row {
    mg_error_kind kind;
    const char *name;
    bool retryable, client, server;
    const char *display;      /* of the error make_full() builds */
    struct field_val strs[4]; /* every string field make_full() sets */
    struct num_val nums[3];   /* every numeric field make_full() sets */
};

/* One row per kind reads better than clang-format's reflow. */
/* clang-format off */
static const struct kind_row kind_table[NKINDS] = {
    {MG_ERROR_VALIDATION, "Validation", false, true, false,
     "Validation error: bad email",
     {{MG_FIELD_MESSAGE, "bad email"}, {MG_FIELD_FIELD, "email"}},
     {{0, 0}}},
    {MG_ERROR_NOT_FOUND, "NotFound", false, true, false,
     "Content not found: c42", {{MG_FIELD_CONTENT_ID, "c42"}}, {{0, 0}}},
    {MG_ERROR_USER_NOT_FOUND, "UserNotFound", false, true, false,
     "User not found: u7", {{MG_FIELD_USER_ID, "u7"}}, {{0, 0}}},
    {MG_ERROR_AUTHENTICATION, "Authentication", false, true, false,
     "Authentication failed: token expired",
     {{MG_FIELD_REASON, "token expired"}}, {{0, 0}}},
    {MG_ERROR_AUTHORIZATION, "Authorization", false, true, false,
     "Authorization failed: not an admin",
     {{MG_FIELD_REASON, "not an admin"}}, {{0, 0}}},
    {MG_ERROR_RATE_LIMIT, "RateLimit", true, false, false,
     "Rate limit exceeded: 100 requests per minute",
     {{MG_FIELD_WINDOW, "minute"}},
     {{MG_FIELD_LIMIT, 100}, {MG_FIELD_RETRY_AFTER, 30}}},
    {MG_ERROR_DATABASE, "Database", false, false, true,
     "Database error: deadlock",
     {{MG_FIELD_MESSAGE, "deadlock"}, {MG_FIELD_OPERATION, "insert"}},
     {{0, 0}}},
    {MG_ERROR_EXTERNAL_API, "ExternalAPI", false, false, false,
     "External API error from tmdb: bad gateway",
     {{MG_FIELD_API, "tmdb"}, {MG_FIELD_MESSAGE, "bad gateway"}},
     {{MG_FIELD_STATUS_CODE, 502}}},
    {MG_ERROR_NETWORK, "Network", true, false, false,
     "Network error: connection reset",
     {{MG_FIELD_MESSAGE, "connection reset"}}, {{0, 0}}},
    {MG_ERROR_SERIALIZATION, "Serialization", false, false, false,
     "Serialization error: unexpected EOF",
     {{MG_FIELD_MESSAGE, "unexpected EOF"}}, {{0, 0}}},
    {MG_ERROR_CONFIGURATION, "Configuration", false, false, false,
     "Configuration error: missing value",
     {{MG_FIELD_MESSAGE, "missing value"}, {MG_FIELD_KEY, "DATABASE_URL"}},
     {{0, 0}}},
    {MG_ERROR_SEARCH, "Search", false, false, false,
     "Search error: index offline",
     {{MG_FIELD_MESSAGE, "index offline"}, {MG_FIELD_QUERY, "cats"}},
     {{0, 0}}},
    {MG_ERROR_CACHE, "Cache", false, false, false,
     "Cache error: get failed: connection lost",
     {{MG_FIELD_OPERATION, "get"}, {MG_FIELD_MESSAGE, "connection lost"}},
     {{0, 0}}},
    {MG_ERROR_CONFLICT, "Conflict", false, true, false,
     "Conflict: already exists",
     {{MG_FIELD_MESSAGE, "already exists"}, {MG_FIELD_RESOURCE, "user:7"}},
     {{0, 0}}},
    {MG_ERROR_SERVICE_UNAVAILABLE, "ServiceUnavailable", true, false, true,
     "Service unavailable: transcoder", {{MG_FIELD_SERVICE, "transcoder"}},
     {{MG_FIELD_RETRY_AFTER, 15}}},
    {MG_ERROR_TIMEOUT, "Timeout", true, false, false,
     "Operation timed out after 5000ms: fetch manifest",
     {{MG_FIELD_OPERATION, "fetch manifest"}},
     {{MG_FIELD_DURATION_MS, 5000}}},
    {MG_ERROR_INVALID_STATE, "InvalidState", false, false, false,
     "Invalid state: bad transition",
     {{MG_FIELD_MESSAGE, "bad transition"},
      {MG_FIELD_EXPECTED, "idle"},
      {MG_FIELD_ACTUAL, "running"}},
     {{0, 0}}},
    {MG_ERROR_NOT_IMPLEMENTED, "NotImplemented", false, false, false,
     "Feature not implemented: DASH output",
     {{MG_FIELD_FEATURE, "DASH output"}}, {{0, 0}}},
    {MG_ERROR_INTERNAL, "Internal", false, false, true,
     "Internal error: invariant broken",
     {{MG_FIELD_MESSAGE, "invariant broken"}}, {{0, 0}}},
};
/* clang-format on */

static const int all_str_fields[] = {
    MG_FIELD_MESSAGE,  MG_FIELD_FIELD,  MG_FIELD_CONTENT_ID, MG_FIELD_USER_ID,
    MG_FIELD_REASON,   MG_FIELD_WINDOW, MG_FIELD_OPERATION,  MG_FIELD_API,
    MG_FIELD_KEY,      MG_FIELD_QUERY,  MG_FIELD_RESOURCE,   MG_FIELD_SERVICE,
    MG_FIELD_EXPECTED, MG_FIELD_ACTUAL, MG_FIELD_FEATURE};
static const int all_num_fields[] = {MG_FIELD_LIMIT, MG_FIELD_RETRY_AFTER,
                                     MG_FIELD_STATUS_CODE,
                                     MG_FIELD_DURATION_MS};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Builds the kind with the values of kind_table (all optionals present). */
static int make_full(mg_error_kind kind, mg_error **out)
{
    switch (kind) {
    case MG_ERROR_VALIDATION:
        return mg_error_new_validation(out, "bad email", "email");
    case MG_ERROR_NOT_FOUND:
        return mg_error_new_not_found(out, "c42");
    case MG_ERROR_USER_NOT_FOUND:
        return mg_error_new_user_not_found(out, "u7");
    case MG_ERROR_AUTHENTICATION:
        return mg_error_new_authentication(out, "token expired");
    case MG_ERROR_AUTHORIZATION:
        return mg_error_new_authorization(out, "not an admin");
    case MG_ERROR_RATE_LIMIT:
        return mg_error_new_rate_limit(out, 100, "minute", 30);
    case MG_ERROR_DATABASE:
        return mg_error_new_database(out, "deadlock", "insert");
    case MG_ERROR_EXTERNAL_API:
        return mg_error_new_external_api(out, "tmdb", "bad gateway", 502);
    case MG_ERROR_NETWORK:
        return mg_error_new_network(out, "connection reset");
    case MG_ERROR_SERIALIZATION:
        return mg_error_new_serialization(out, "unexpected EOF");
    case MG_ERROR_CONFIGURATION:
        return mg_error_new_configuration(out, "missing value", "DATABASE_URL");
    case MG_ERROR_SEARCH:
        return mg_error_new_search(out, "index offline", "cats");
    case MG_ERROR_CACHE:
        return mg_error_new_cache(out, "get", "connection lost");
    case MG_ERROR_CONFLICT:
        return mg_error_new_conflict(out, "already exists", "user:7");
    case MG_ERROR_SERVICE_UNAVAILABLE:
        return mg_error_new_service_unavailable(out, "transcoder", 15);
    case MG_ERROR_TIMEOUT:
        return mg_error_new_timeout(out, "fetch manifest", 5000);
    case MG_ERROR_INVALID_STATE:
        return mg_error_new_invalid_state(out, "bad transition", "idle",
                                          "running");
    case MG_ERROR_NOT_IMPLEMENTED:
        return mg_error_new_not_implemented(out, "DASH output");
    case MG_ERROR_INTERNAL:
        return mg_error_new_internal(out, "invariant broken");
    }
    fail_msg("no constructor for kind %d", (int)kind);
    return MG_EINVAL;
}

static mg_error *full(mg_error_kind kind)
{
    mg_error *e = NULL;
    assert_int_equal(make_full(kind, &e), MG_OK);
    assert_non_null(e);
    return e;
}

/* Deterministic non-NULL sentinel to prove *out is overwritten. */
static mg_error *const sentinel = (mg_error *)(uintptr_t)0x1;

/* ---- mg_status_str ---- */

static void test_status__str_for_every_code(void **state)
{
    (void)state;
    assert_string_equal(mg_status_str(MG_OK), "success");
    assert_string_equal(mg_status_str(MG_EINVAL), "invalid argument");
    assert_string_equal(mg_status_str(MG_ENOMEM), "out of memory");
    assert_string_equal(mg_status_str(MG_EVERSION),
                        "unsupported struct version");
    assert_string_equal(mg_status_str(MG_EPOLICY), "invalid retry policy");
    assert_string_equal(mg_status_str(MG_ERANGE), "value out of range");
    assert_string_equal(mg_status_str(MG_EPARSE), "malformed input");
    assert_string_equal(mg_status_str(MG_ETOOSMALL), "buffer too small");
    assert_string_equal(mg_status_str(MG_ENOTFOUND), "value not present");
    assert_int_equal(MG_ENOTFOUND, -8);
}

static void test_status__unknown_codes_give_unknown_status(void **state)
{
    (void)state;
    const int unknown[] = {MG_STATUS_LAST_, -10,     1,    2, 100,
                           INT_MIN,         INT_MAX, -1000};
    for (size_t i = 0; i < COUNT(unknown); i++) {
        const char *s = mg_status_str(unknown[i]);
        assert_non_null(s);
        assert_string_equal(s, "unknown status");
    }
}

/* ---- kinds, constructors, fields ---- */

static void test_kind_name__every_kind_has_the_original_name(void **state)
{
    (void)state;
    for (size_t i = 0; i < NKINDS; i++)
        assert_string_equal(mg_error_kind_name((int)kind_table[i].kind),
                            kind_table[i].name);
    assert_int_equal(MG_ERROR_VALIDATION, 1);
    assert_int_equal(MG_ERROR_INTERNAL, 19);
}

static void test_kind_name__invalid_values_give_unknown(void **state)
{
    (void)state;
    const int bad[] = {0, -1, 20, 21, 100, INT_MAX, INT_MIN};
    for (size_t i = 0; i < COUNT(bad); i++)
        assert_string_equal(mg_error_kind_name(bad[i]), "Unknown");
}

static void
test_constructors__every_kind_has_spec_display_and_kind(void **state)
{
    (void)state;
    for (size_t i = 0; i < NKINDS; i++) {
        mg_error *e = full(kind_table[i].kind);
        assert_int_equal(mg_error_get_kind(e), kind_table[i].kind);
        assert_string_equal(mg_error_display(e), kind_table[i].display);
        assert_null(mg_error_cause(e));
        assert_int_equal(mg_error_cause_errno(e), 0);
        assert_false(mg_error_is_oom(e));
        mg_error_free(e);
    }
}

static void test_constructors__every_kind_has_exactly_its_fields(void **state)
{
    (void)state;
    for (size_t i = 0; i < NKINDS; i++) {
        const struct kind_row *row = &kind_table[i];
        mg_error *e = full(row->kind);
        for (size_t f = 0; f < COUNT(all_str_fields); f++) {
            const char *want = NULL;
            for (const struct field_val *v = row->strs; v->field; v++)
                if (v->field == all_str_fields[f])
                    want = v->value;
            const char *got = mg_error_field_str(e, all_str_fields[f]);
            if (want == NULL) {
                if (got != NULL)
                    fail_msg("%s has unexpected field %d", row->name,
                             all_str_fields[f]);
            } else {
                assert_non_null(got);
                assert_string_equal(got, want);
            }
        }
        for (size_t f = 0; f < COUNT(all_num_fields); f++) {
            const struct num_val *want = NULL;
            for (const struct num_val *v = row->nums; v->field; v++)
                if (v->field == all_num_fields[f])
                    want = v;
            uint64_t got = 0xdeadbeef;
            int rc = mg_error_field_u64(e, all_num_fields[f], &got);
            if (want == NULL) {
                assert_int_equal(rc, MG_ENOTFOUND);
                assert_int_equal(got, 0xdeadbeef);
            } else {
                assert_int_equal(rc, MG_OK);
                assert_int_equal(got, want->value);
            }
        }
        mg_error_free(e);
    }
}

static void
test_classification__all_predicates_match_spec_for_every_kind(void **state)
{
    (void)state;
    for (size_t i = 0; i < NKINDS; i++) {
        const struct kind_row *row = &kind_table[i];
        mg_error *e = full(row->kind);
        assert_int_equal(mg_error_is_retryable(e), row->retryable);
        assert_int_equal(mg_error_is_client_error(e), row->client);
        assert_int_equal(mg_error_is_server_error(e), row->server);
        assert_false(mg_error_is_oom(e));
        uint64_t s = 0;
        int rc = mg_error_retry_after(e, &s);
        if (row->kind == MG_ERROR_RATE_LIMIT) {
            assert_int_equal(rc, MG_OK);
            assert_int_equal(s, 30);
        } else if (row->kind == MG_ERROR_SERVICE_UNAVAILABLE) {
            assert_int_equal(rc, MG_OK);
            assert_int_equal(s, 15);
        } else {
            assert_int_equal(rc, MG_ENOTFOUND);
        }
        mg_error_free(e);
    }
}

static void test_classification__exactly_four_kinds_are_retryable(void **state)
{
    (void)state;
    int retryable = 0;
    for (size_t i = 0; i < NKINDS; i++) {
        mg_error *e = full(kind_table[i].kind);
        if (mg_error_is_retryable(e)) {
            retryable++;
            assert_true(kind_table[i].kind == MG_ERROR_RATE_LIMIT ||
                        kind_table[i].kind == MG_ERROR_SERVICE_UNAVAILABLE ||
                        kind_table[i].kind == MG_ERROR_TIMEOUT ||
                        kind_table[i].kind == MG_ERROR_NETWORK);
        }
        mg_error_free(e);
    }
    assert_int_equal(retryable, 4);
}

static void test_classification__null_is_nothing(void **state)
{
    (void)state;
    assert_false(mg_error_is_retryable(NULL));
    assert_false(mg_error_is_client_error(NULL));
    assert_false(mg_error_is_server_error(NULL));
    assert_false(mg_error_is_oom(NULL));
    uint64_t s = 7;
    assert_int_equal(mg_error_retry_after(NULL, &s), MG_EINVAL);
    assert_int_equal(s, 7);
    mg_error *e = full(MG_ERROR_RATE_LIMIT);
    assert_int_equal(mg_error_retry_after(e, NULL), MG_EINVAL);
    mg_error_free(e);
}

static void test_constructors__optional_fields_absent_when_null(void **state)
{
    (void)state;
    mg_error *e = NULL;
    uint64_t v = 0;

    assert_int_equal(mg_error_new_validation(&e, "bad", NULL), MG_OK);
    assert_null(mg_error_field_str(e, MG_FIELD_FIELD));
    assert_string_equal(mg_error_display(e), "Validation error: bad");
    mg_error_free(e);

    assert_int_equal(mg_error_new_rate_limit(&e, 5, "second", MG_NONE), MG_OK);
    assert_int_equal(mg_error_retry_after(e, &v), MG_ENOTFOUND);
    assert_int_equal(mg_error_field_u64(e, MG_FIELD_RETRY_AFTER, &v),
                     MG_ENOTFOUND);
    assert_int_equal(mg_error_field_u64(e, MG_FIELD_LIMIT, &v), MG_OK);
    assert_int_equal(v, 5);
    assert_true(mg_error_is_retryable(e));
    mg_error_free(e);

    assert_int_equal(mg_error_new_external_api(&e, "a", "m", MG_NONE), MG_OK);
    assert_int_equal(mg_error_field_u64(e, MG_FIELD_STATUS_CODE, &v),
                     MG_ENOTFOUND);
    mg_error_free(e);

    assert_int_equal(mg_error_new_configuration(&e, "m", NULL), MG_OK);
    assert_null(mg_error_field_str(e, MG_FIELD_KEY));
    mg_error_free(e);

    assert_int_equal(mg_error_new_search(&e, "m", NULL), MG_OK);
    assert_null(mg_error_field_str(e, MG_FIELD_QUERY));
    mg_error_free(e);

    assert_int_equal(mg_error_new_conflict(&e, "m", NULL), MG_OK);
    assert_null(mg_error_field_str(e, MG_FIELD_RESOURCE));
    mg_error_free(e);

    assert_int_equal(mg_error_new_service_unavailable(&e, "s", MG_NONE), MG_OK);
    assert_int_equal(mg_error_retry_after(e, &v), MG_ENOTFOUND);
    assert_true(mg_error_is_retryable(e));
    mg_error_free(e);

    assert_int_equal(mg_error_new_invalid_state(&e, "m", NULL, "b"), MG_OK);
    assert_null(mg_error_field_str(e, MG_FIELD_EXPECTED));
    assert_string_equal(mg_error_field_str(e, MG_FIELD_ACTUAL), "b");
    mg_error_free(e);

    assert_int_equal(mg_error_new_invalid_state(&e, "m", "a", NULL), MG_OK);
    assert_string_equal(mg_error_field_str(e, MG_FIELD_EXPECTED), "a");
    assert_null(mg_error_field_str(e, MG_FIELD_ACTUAL));
    mg_error_free(e);
}

static void test_constructors__empty_required_strings_are_allowed(void **state)
{
    (void)state;
    mg_error *e = NULL;
    assert_int_equal(mg_error_new_cache(&e, "", ""), MG_OK);
    assert_string_equal(mg_error_display(e), "Cache error:  failed: ");
    assert_string_equal(mg_error_field_str(e, MG_FIELD_OPERATION), "");
    mg_error_free(e);
    assert_int_equal(mg_error_new_validation(&e, "", ""), MG_OK);
    assert_string_equal(mg_error_display(e), "Validation error: ");
    assert_string_equal(mg_error_field_str(e, MG_FIELD_FIELD), "");
    mg_error_free(e);
    assert_int_equal(mg_error_new_rate_limit(&e, 0, "", 0), MG_OK);
    assert_string_equal(mg_error_display(e),
                        "Rate limit exceeded: 0 requests per ");
    uint64_t v = 99;
    assert_int_equal(mg_error_retry_after(e, &v), MG_OK);
    assert_int_equal(v, 0);
    mg_error_free(e);
}

static void test_constructors__input_strings_are_copied(void **state)
{
    (void)state;
    char msg[] = "original";
    char op[] = "op";
    mg_error *e = NULL;
    assert_int_equal(mg_error_new_database(&e, msg, op), MG_OK);
    memset(msg, 'X', sizeof msg - 1);
    op[0] = 'Z';
    assert_string_equal(mg_error_field_str(e, MG_FIELD_MESSAGE), "original");
    assert_string_equal(mg_error_field_str(e, MG_FIELD_OPERATION), "op");
    assert_string_equal(mg_error_display(e), "Database error: original");
    assert_ptr_not_equal(mg_error_field_str(e, MG_FIELD_MESSAGE), msg);
    mg_error_free(e);
}

static void test_constructors__long_strings_are_kept_whole(void **state)
{
    (void)state;
    size_t n = 100000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    big[n] = '\0';
    mg_error *e = NULL;
    assert_int_equal(mg_error_new_external_api(&e, big, big, 0), MG_OK);
    const char *d = mg_error_display(e);
    assert_int_equal(strlen(d), strlen("External API error from : ") + 2 * n);
    assert_int_equal(strncmp(d, "External API error from aaa", 27), 0);
    assert_string_equal(mg_error_field_str(e, MG_FIELD_API), big);
    mg_error_free(e);
    free(big);
}

static void test_rate_limit__limit_extremes_in_display(void **state)
{
    (void)state;
    mg_error *e = NULL;
    uint64_t v = 0;
    assert_int_equal(mg_error_new_rate_limit(&e, UINT32_MAX, "hour", 0), MG_OK);
    assert_string_equal(mg_error_display(e),
                        "Rate limit exceeded: 4294967295 requests per hour");
    assert_int_equal(mg_error_field_u64(e, MG_FIELD_LIMIT, &v), MG_OK);
    assert_int_equal(v, UINT32_MAX);
    mg_error_free(e);
    assert_int_equal(mg_error_new_rate_limit(&e, 0, "day", INT64_MAX), MG_OK);
    assert_string_equal(mg_error_display(e),
                        "Rate limit exceeded: 0 requests per day");
    assert_int_equal(mg_error_retry_after(e, &v), MG_OK);
    assert_int_equal(v, (uint64_t)INT64_MAX);
    mg_error_free(e);
}

static void test_rate_limit__retry_after_below_none_is_einval(void **state)
{
    (void)state;
    const int64_t bad[] = {-2, -100, INT64_MIN};
    for (size_t i = 0; i < COUNT(bad); i++) {
        mg_error *e = sentinel;
        assert_int_equal(mg_error_new_rate_limit(&e, 1, "m", bad[i]),
                         MG_EINVAL);
        assert_null(e);
        e = sentinel;
        assert_int_equal(mg_error_new_service_unavailable(&e, "s", bad[i]),
                         MG_EINVAL);
        assert_null(e);
    }
}

static void test_timeout__duration_extremes_in_display(void **state)
{
    (void)state;
    mg_error *e = NULL;
    uint64_t v = 1;
    assert_int_equal(mg_error_new_timeout(&e, "x", 0), MG_OK);
    assert_string_equal(mg_error_display(e),
                        "Operation timed out after 0ms: x");
    assert_int_equal(mg_error_field_u64(e, MG_FIELD_DURATION_MS, &v), MG_OK);
    assert_int_equal(v, 0);
    mg_error_free(e);
    assert_int_equal(mg_error_new_timeout(&e, "y", UINT64_MAX), MG_OK);
    assert_string_equal(mg_error_display(e),
                        "Operation timed out after 18446744073709551615ms: y");
    assert_int_equal(mg_error_field_u64(e, MG_FIELD_DURATION_MS, &v), MG_OK);
    assert_int_equal(v, UINT64_MAX);
    mg_error_free(e);
}

static void test_external_api__status_code_range(void **state)
{
    (void)state;
    const int32_t ok[] = {0, 1, 404, 65535};
    for (size_t i = 0; i < COUNT(ok); i++) {
        mg_error *e = NULL;
        uint64_t v = 12345678;
        assert_int_equal(mg_error_new_external_api(&e, "a", "m", ok[i]), MG_OK);
        assert_int_equal(mg_error_field_u64(e, MG_FIELD_STATUS_CODE, &v),
                         MG_OK);
        assert_int_equal(v, (uint64_t)ok[i]);
        mg_error_free(e);
    }
    const int32_t bad[] = {-2, 65536, INT32_MAX, INT32_MIN, 100000};
    for (size_t i = 0; i < COUNT(bad); i++) {
        mg_error *e = sentinel;
        assert_int_equal(mg_error_new_external_api(&e, "a", "m", bad[i]),
                         MG_EINVAL);
        assert_null(e);
    }
}

static void test_fields__wrong_ids_give_null_or_enotfound(void **state)
{
    (void)state;
    mg_error *e = full(MG_ERROR_TIMEOUT);
    const int bad_str[] = {
        0,    -1,      16,     31, MG_FIELD_LIMIT, MG_FIELD_DURATION_MS,
        1000, INT_MAX, INT_MIN};
    for (size_t i = 0; i < COUNT(bad_str); i++)
        assert_null(mg_error_field_str(e, bad_str[i]));
    const int bad_num[] = {
        0,       -1,     MG_FIELD_OPERATION, MG_FIELD_MESSAGE, 16, 31, 36, 64,
        INT_MAX, INT_MIN};
    for (size_t i = 0; i < COUNT(bad_num); i++) {
        uint64_t v = 77;
        assert_int_equal(mg_error_field_u64(e, bad_num[i], &v), MG_ENOTFOUND);
        assert_int_equal(v, 77);
    }
    /* Fields of other kinds are absent, not leaked. */
    assert_null(mg_error_field_str(e, MG_FIELD_MESSAGE));
    uint64_t v = 77;
    assert_int_equal(mg_error_field_u64(e, MG_FIELD_LIMIT, &v), MG_ENOTFOUND);
    mg_error_free(e);
}

static void test_getters__null_error_is_handled(void **state)
{
    (void)state;
    uint64_t v = 3;
    assert_int_equal(mg_error_get_kind(NULL), 0);
    assert_non_null(mg_error_display(NULL));
    assert_string_equal(mg_error_display(NULL), "");
    assert_null(mg_error_field_str(NULL, MG_FIELD_MESSAGE));
    assert_int_equal(mg_error_field_u64(NULL, MG_FIELD_LIMIT, &v), MG_EINVAL);
    assert_int_equal(v, 3);
    mg_error *e = full(MG_ERROR_RATE_LIMIT);
    assert_int_equal(mg_error_field_u64(e, MG_FIELD_LIMIT, NULL), MG_EINVAL);
    mg_error_free(e);
    assert_null(mg_error_cause(NULL));
    assert_int_equal(mg_error_cause_errno(NULL), 0);
    mg_error_free(NULL);
}

static void test_constructors__null_out_is_einval(void **state)
{
    (void)state;
    assert_int_equal(mg_error_new_validation(NULL, "m", "f"), MG_EINVAL);
    assert_int_equal(mg_error_new_not_found(NULL, "c"), MG_EINVAL);
    assert_int_equal(mg_error_new_user_not_found(NULL, "u"), MG_EINVAL);
    assert_int_equal(mg_error_new_authentication(NULL, "r"), MG_EINVAL);
    assert_int_equal(mg_error_new_authorization(NULL, "r"), MG_EINVAL);
    assert_int_equal(mg_error_new_rate_limit(NULL, 1, "w", 1), MG_EINVAL);
    assert_int_equal(mg_error_new_database(NULL, "m", "o"), MG_EINVAL);
    assert_int_equal(mg_error_new_external_api(NULL, "a", "m", 1), MG_EINVAL);
    assert_int_equal(mg_error_new_network(NULL, "m"), MG_EINVAL);
    assert_int_equal(mg_error_new_serialization(NULL, "m"), MG_EINVAL);
    assert_int_equal(mg_error_new_configuration(NULL, "m", "k"), MG_EINVAL);
    assert_int_equal(mg_error_new_search(NULL, "m", "q"), MG_EINVAL);
    assert_int_equal(mg_error_new_cache(NULL, "o", "m"), MG_EINVAL);
    assert_int_equal(mg_error_new_conflict(NULL, "m", "r"), MG_EINVAL);
    assert_int_equal(mg_error_new_service_unavailable(NULL, "s", 1), MG_EINVAL);
    assert_int_equal(mg_error_new_timeout(NULL, "o", 1), MG_EINVAL);
    assert_int_equal(mg_error_new_invalid_state(NULL, "m", "e", "a"),
                     MG_EINVAL);
    assert_int_equal(mg_error_new_not_implemented(NULL, "f"), MG_EINVAL);
    assert_int_equal(mg_error_new_internal(NULL, "m"), MG_EINVAL);
    assert_int_equal(mg_error_new_from_errno(NULL, EPIPE, "c"), MG_EINVAL);
    assert_int_equal(mg_error_new_from_http(NULL, 500, NULL, "a"), MG_EINVAL);
}

#define EXPECT_EINVAL_NULL_OUT(call)                                           \
    do {                                                                       \
        mg_error *e = sentinel;                                                \
        assert_int_equal((call), MG_EINVAL);                                   \
        assert_null(e);                                                        \
    } while (0)

static void test_constructors__null_required_string_is_einval(void **state)
{
    (void)state;
    EXPECT_EINVAL_NULL_OUT(mg_error_new_validation(&e, NULL, "f"));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_not_found(&e, NULL));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_user_not_found(&e, NULL));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_authentication(&e, NULL));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_authorization(&e, NULL));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_rate_limit(&e, 1, NULL, 1));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_database(&e, NULL, "o"));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_database(&e, "m", NULL));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_external_api(&e, NULL, "m", 1));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_external_api(&e, "a", NULL, 1));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_network(&e, NULL));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_serialization(&e, NULL));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_configuration(&e, NULL, "k"));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_search(&e, NULL, "q"));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_cache(&e, NULL, "m"));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_cache(&e, "o", NULL));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_conflict(&e, NULL, "r"));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_service_unavailable(&e, NULL, 1));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_timeout(&e, NULL, 1));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_invalid_state(&e, NULL, "e", "a"));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_not_implemented(&e, NULL));
    EXPECT_EINVAL_NULL_OUT(mg_error_new_internal(&e, NULL));
}

/* ---- causes ---- */

static void test_cause__set_and_read_back(void **state)
{
    (void)state;
    mg_error *outer = full(MG_ERROR_DATABASE);
    mg_error *inner = full(MG_ERROR_NETWORK);
    assert_int_equal(mg_error_set_cause(outer, inner), MG_OK);
    assert_ptr_equal(mg_error_cause(outer), inner);
    assert_int_equal(mg_error_cause_errno(outer), 0);
    assert_null(mg_error_cause(inner));
    /* A cause does not change the error's own classification. */
    assert_false(mg_error_is_retryable(outer));
    assert_string_equal(mg_error_display(outer), "Database error: deadlock");
    mg_error_free(outer); /* frees inner too (valgrind/ASan check) */
}

static void test_cause__replacing_frees_the_old_cause(void **state)
{
    (void)state;
    mg_error *outer = full(MG_ERROR_INTERNAL);
    mg_error *a = full(MG_ERROR_NETWORK);
    mg_error *a2 = full(MG_ERROR_TIMEOUT);
    mg_error *b = full(MG_ERROR_CACHE);
    assert_int_equal(mg_error_set_cause(a, a2), MG_OK);
    assert_int_equal(mg_error_set_cause(outer, a), MG_OK);
    assert_int_equal(mg_error_set_cause(outer, b), MG_OK);
    assert_ptr_equal(mg_error_cause(outer), b);
    assert_int_equal(mg_error_set_cause_errno(outer, ECONNRESET), MG_OK);
    assert_null(mg_error_cause(outer));
    assert_int_equal(mg_error_cause_errno(outer), ECONNRESET);
    assert_int_equal(mg_error_set_cause_errno(outer, EPIPE), MG_OK);
    assert_int_equal(mg_error_cause_errno(outer), EPIPE);
    mg_error *c = full(MG_ERROR_SEARCH);
    assert_int_equal(mg_error_set_cause(outer, c), MG_OK);
    assert_ptr_equal(mg_error_cause(outer), c);
    assert_int_equal(mg_error_cause_errno(outer), 0);
    mg_error_free(outer);
}

static void test_cause__self_and_cycles_are_rejected(void **state)
{
    (void)state;
    mg_error *a = full(MG_ERROR_INTERNAL);
    mg_error *b = full(MG_ERROR_NETWORK);
    mg_error *c = full(MG_ERROR_TIMEOUT);
    assert_int_equal(mg_error_set_cause(a, a), MG_EINVAL);
    assert_null(mg_error_cause(a));
    assert_int_equal(mg_error_set_cause(a, b), MG_OK);
    assert_int_equal(mg_error_set_cause(b, c), MG_OK);
    /* a -> b -> c: c -> a and b -> a would close a loop. */
    assert_int_equal(mg_error_set_cause(c, a), MG_EINVAL);
    assert_int_equal(mg_error_set_cause(b, a), MG_EINVAL);
    assert_null(mg_error_cause(c));
    assert_ptr_equal(mg_error_cause(b), c);
    mg_error_free(a);
}

static void test_cause__already_owned_by_chain_is_rejected(void **state)
{
    (void)state;
    mg_error *a = full(MG_ERROR_INTERNAL);
    mg_error *b = full(MG_ERROR_NETWORK);
    mg_error *c = full(MG_ERROR_TIMEOUT);
    assert_int_equal(mg_error_set_cause(a, b), MG_OK);
    assert_int_equal(mg_error_set_cause(b, c), MG_OK);
    /* Freeing a's old chain would free the new cause with it. */
    assert_int_equal(mg_error_set_cause(a, b), MG_EINVAL);
    assert_int_equal(mg_error_set_cause(a, c), MG_EINVAL);
    assert_ptr_equal(mg_error_cause(a), b);
    assert_ptr_equal(mg_error_cause(b), c);
    mg_error_free(a);
}

static void test_cause__null_and_bad_arguments(void **state)
{
    (void)state;
    mg_error *a = full(MG_ERROR_INTERNAL);
    assert_int_equal(mg_error_set_cause(NULL, a), MG_EINVAL);
    assert_int_equal(mg_error_set_cause(a, NULL), MG_EINVAL);
    assert_int_equal(mg_error_set_cause(NULL, NULL), MG_EINVAL);
    assert_int_equal(mg_error_set_cause_errno(NULL, EIO), MG_EINVAL);
    assert_int_equal(mg_error_set_cause_errno(a, 0), MG_EINVAL);
    assert_int_equal(mg_error_set_cause_errno(a, -1), MG_EINVAL);
    assert_int_equal(mg_error_set_cause_errno(a, INT_MIN), MG_EINVAL);
    assert_int_equal(mg_error_cause_errno(a), 0);
    assert_int_equal(mg_error_set_cause_errno(a, INT_MAX), MG_OK);
    assert_int_equal(mg_error_cause_errno(a), INT_MAX);
    mg_error_free(a);
}

static void test_cause__chain_of_100000_is_walked_and_freed(void **state)
{
    (void)state;
    const size_t n = 100000;
    mg_error *head = NULL;
    assert_int_equal(mg_error_new_internal(&head, "x"), MG_OK);
    mg_error *tail = head;
    for (size_t i = 1; i < n; i++) {
        mg_error *next = NULL;
        assert_int_equal(mg_error_new_internal(&next, "x"), MG_OK);
        assert_int_equal(mg_error_set_cause(tail, next), MG_OK);
        tail = next;
    }
    size_t len = 0;
    for (const mg_error *e = head; e != NULL; e = mg_error_cause(e))
        len++;
    assert_int_equal(len, n);

    size_t needed = 0;
    assert_int_equal(mg_error_format_chain(head, NULL, 0, &needed),
                     MG_ETOOSMALL);
    const size_t one = strlen("Internal error: x");
    const size_t sep = strlen(": caused by: ");
    assert_int_equal(needed, n * one + (n - 1) * sep);

    mg_error_free(head);
}

/* ---- format_chain ---- */

static mg_error *sample_chain(void)
{
    /* "Database error: deadlock: caused by: Network error: connect:
     *  caused by: <strerror(ECONNREFUSED)> (errno N)" */
    mg_error *db = full(MG_ERROR_DATABASE);
    mg_error *net = NULL;
    assert_int_equal(mg_error_new_network(&net, "connect"), MG_OK);
    assert_int_equal(mg_error_set_cause_errno(net, ECONNREFUSED), MG_OK);
    assert_int_equal(mg_error_set_cause(db, net), MG_OK);
    return db;
}

static void expected_chain(char *buf, size_t size)
{
    snprintf(buf, size,
             "Database error: deadlock: caused by: Network error: connect: "
             "caused by: %s (errno %d)",
             strerror(ECONNREFUSED), ECONNREFUSED);
}

static void test_format_chain__errno_cause_text(void **state)
{
    (void)state;
    mg_error *net = NULL;
    assert_int_equal(mg_error_new_network(&net, "connect"), MG_OK);
    assert_int_equal(mg_error_set_cause_errno(net, ECONNREFUSED), MG_OK);
    char buf[256];
    size_t needed = 0;
    assert_int_equal(mg_error_format_chain(net, buf, sizeof buf, &needed),
                     MG_OK);
#ifdef __linux__
    assert_string_equal(buf, "Network error: connect: caused by: "
                             "Connection refused (errno 111)");
#endif
    char want[256];
    snprintf(want, sizeof want,
             "Network error: connect: caused by: %s (errno %d)",
             strerror(ECONNREFUSED), ECONNREFUSED);
    assert_string_equal(buf, want);
    assert_int_equal(needed, strlen(want));
    mg_error_free(net);
}

static void test_format_chain__no_cause_is_display_alone(void **state)
{
    (void)state;
    mg_error *e = full(MG_ERROR_CACHE);
    char buf[128];
    size_t needed = 0;
    assert_int_equal(mg_error_format_chain(e, buf, sizeof buf, &needed), MG_OK);
    assert_string_equal(buf, "Cache error: get failed: connection lost");
    assert_int_equal(needed, strlen(buf));
    mg_error_free(e);
}

static void test_format_chain__exact_fit_and_one_short(void **state)
{
    (void)state;
    mg_error *db = sample_chain();
    char want[512];
    expected_chain(want, sizeof want);
    size_t len = strlen(want);
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    size_t needed = 0;

    assert_int_equal(mg_error_format_chain(db, buf, len + 1, &needed), MG_OK);
    assert_string_equal(buf, want);
    assert_int_equal(needed, len);

    memset(buf, '#', len + 1);
    needed = 0;
    assert_int_equal(mg_error_format_chain(db, buf, len, &needed),
                     MG_ETOOSMALL);
    assert_int_equal(needed, len);
    assert_int_equal(strlen(buf), len - 1);
    assert_memory_equal(buf, want, len - 1);

    free(buf);
    mg_error_free(db);
}

static void test_format_chain__truncated_is_prefix(void **state)
{
    (void)state;
    mg_error *db = sample_chain();
    char want[512];
    expected_chain(want, sizeof want);
    char buf[20];
    memset(buf, '#', sizeof buf);
    size_t needed = 0;
    assert_int_equal(mg_error_format_chain(db, buf, sizeof buf, &needed),
                     MG_ETOOSMALL);
    assert_int_equal(needed, strlen(want));
    assert_int_equal(strlen(buf), sizeof buf - 1);
    assert_memory_equal(buf, want, sizeof buf - 1);
    /* Truncation point inside the errno text. */
    size_t cut = strlen(want) - 3;
    char *b2 = malloc(cut);
    assert_non_null(b2);
    assert_int_equal(mg_error_format_chain(db, b2, cut, NULL), MG_ETOOSMALL);
    assert_memory_equal(b2, want, cut - 1);
    assert_int_equal(b2[cut - 1], '\0');
    free(b2);
    mg_error_free(db);
}

static void test_format_chain__size_zero_and_one(void **state)
{
    (void)state;
    mg_error *db = sample_chain();
    char want[512];
    expected_chain(want, sizeof want);
    size_t needed = 0;
    assert_int_equal(mg_error_format_chain(db, NULL, 0, &needed), MG_ETOOSMALL);
    assert_int_equal(needed, strlen(want));

    char untouched = '#';
    assert_int_equal(mg_error_format_chain(db, &untouched, 0, NULL),
                     MG_ETOOSMALL);
    assert_int_equal(untouched, '#');

    char one = '#';
    needed = 0;
    assert_int_equal(mg_error_format_chain(db, &one, 1, &needed), MG_ETOOSMALL);
    assert_int_equal(one, '\0');
    assert_int_equal(needed, strlen(want));
    mg_error_free(db);
}

static void test_format_chain__null_arguments(void **state)
{
    (void)state;
    char buf[16] = "unchanged";
    size_t needed = 42;
    assert_int_equal(mg_error_format_chain(NULL, buf, sizeof buf, &needed),
                     MG_EINVAL);
    assert_string_equal(buf, "unchanged");
    mg_error *e = full(MG_ERROR_NETWORK);
    assert_int_equal(mg_error_format_chain(e, NULL, 10, &needed), MG_EINVAL);
    assert_int_equal(mg_error_format_chain(e, NULL, 0, NULL), MG_ETOOSMALL);
    mg_error_free(e);
}

static void test_format_chain__unknown_errno_still_formats(void **state)
{
    (void)state;
    mg_error *e = full(MG_ERROR_INTERNAL);
    assert_int_equal(mg_error_set_cause_errno(e, 99999), MG_OK);
    char buf[256];
    assert_int_equal(mg_error_format_chain(e, buf, sizeof buf, NULL), MG_OK);
    const char *prefix = "Internal error: invariant broken: caused by: ";
    assert_int_equal(strncmp(buf, prefix, strlen(prefix)), 0);
    size_t len = strlen(buf);
    const char *suffix = " (errno 99999)";
    assert_true(len > strlen(prefix) + strlen(suffix));
    assert_string_equal(buf + len - strlen(suffix), suffix);
    mg_error_free(e);
}

/* ---- errno mapping ---- */

struct errno_row {
    int errnum;
    mg_error_kind kind;
    int main_field;
};

static const struct errno_row errno_table[] = {
    {ETIMEDOUT, MG_ERROR_TIMEOUT, MG_FIELD_OPERATION},
    {ECONNREFUSED, MG_ERROR_NETWORK, MG_FIELD_MESSAGE},
    {ECONNRESET, MG_ERROR_NETWORK, MG_FIELD_MESSAGE},
    {ECONNABORTED, MG_ERROR_NETWORK, MG_FIELD_MESSAGE},
    {EHOSTUNREACH, MG_ERROR_NETWORK, MG_FIELD_MESSAGE},
    {ENETUNREACH, MG_ERROR_NETWORK, MG_FIELD_MESSAGE},
    {ENETDOWN, MG_ERROR_NETWORK, MG_FIELD_MESSAGE},
    {ENETRESET, MG_ERROR_NETWORK, MG_FIELD_MESSAGE},
    {EHOSTDOWN, MG_ERROR_NETWORK, MG_FIELD_MESSAGE},
    {ENOTCONN, MG_ERROR_NETWORK, MG_FIELD_MESSAGE},
    {EPIPE, MG_ERROR_NETWORK, MG_FIELD_MESSAGE},
    {EAGAIN, MG_ERROR_SERVICE_UNAVAILABLE, MG_FIELD_SERVICE},
    {EWOULDBLOCK, MG_ERROR_SERVICE_UNAVAILABLE, MG_FIELD_SERVICE},
    {EBUSY, MG_ERROR_SERVICE_UNAVAILABLE, MG_FIELD_SERVICE},
    {EINTR, MG_ERROR_SERVICE_UNAVAILABLE, MG_FIELD_SERVICE},
    {ENOENT, MG_ERROR_NOT_FOUND, MG_FIELD_CONTENT_ID},
    {EACCES, MG_ERROR_AUTHORIZATION, MG_FIELD_REASON},
    {EPERM, MG_ERROR_AUTHORIZATION, MG_FIELD_REASON},
    {EEXIST, MG_ERROR_CONFLICT, MG_FIELD_MESSAGE},
    {EINVAL, MG_ERROR_VALIDATION, MG_FIELD_MESSAGE},
    {EDOM, MG_ERROR_VALIDATION, MG_FIELD_MESSAGE},
    {ERANGE, MG_ERROR_VALIDATION, MG_FIELD_MESSAGE},
    {E2BIG, MG_ERROR_VALIDATION, MG_FIELD_MESSAGE},
    {ENAMETOOLONG, MG_ERROR_VALIDATION, MG_FIELD_MESSAGE},
    {ENOSYS, MG_ERROR_NOT_IMPLEMENTED, MG_FIELD_FEATURE},
    {ENOTSUP, MG_ERROR_NOT_IMPLEMENTED, MG_FIELD_FEATURE},
    {EOPNOTSUPP, MG_ERROR_NOT_IMPLEMENTED, MG_FIELD_FEATURE},
    {EPROTO, MG_ERROR_SERIALIZATION, MG_FIELD_MESSAGE},
    {EBADMSG, MG_ERROR_SERIALIZATION, MG_FIELD_MESSAGE},
    {EILSEQ, MG_ERROR_SERIALIZATION, MG_FIELD_MESSAGE},
    /* not listed: Internal */
    {EIO, MG_ERROR_INTERNAL, MG_FIELD_MESSAGE},
    {ENOSPC, MG_ERROR_INTERNAL, MG_FIELD_MESSAGE},
    {EBADF, MG_ERROR_INTERNAL, MG_FIELD_MESSAGE},
    {ENOMEM, MG_ERROR_INTERNAL, MG_FIELD_MESSAGE},
    {99999, MG_ERROR_INTERNAL, MG_FIELD_MESSAGE},
    {INT_MAX, MG_ERROR_INTERNAL, MG_FIELD_MESSAGE},
};

static void test_errno__kind_for_every_listed_errno(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(errno_table); i++)
        assert_int_equal(mg_error_kind_from_errno(errno_table[i].errnum),
                         errno_table[i].kind);
}

static void test_errno__non_positive_maps_to_internal(void **state)
{
    (void)state;
    assert_int_equal(mg_error_kind_from_errno(0), MG_ERROR_INTERNAL);
    assert_int_equal(mg_error_kind_from_errno(-1), MG_ERROR_INTERNAL);
    assert_int_equal(mg_error_kind_from_errno(-ETIMEDOUT), MG_ERROR_INTERNAL);
    assert_int_equal(mg_error_kind_from_errno(INT_MIN), MG_ERROR_INTERNAL);
}

static void test_errno__new_fills_main_field_and_cause(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(errno_table); i++) {
        const struct errno_row *row = &errno_table[i];
        mg_error *e = NULL;
        assert_int_equal(mg_error_new_from_errno(&e, row->errnum, "open db"),
                         MG_OK);
        assert_int_equal(mg_error_get_kind(e), row->kind);
        assert_string_equal(mg_error_field_str(e, row->main_field), "open db");
        assert_int_equal(mg_error_cause_errno(e), row->errnum);
        assert_null(mg_error_cause(e));
        /* The display is the kind's SPEC text around the context. */
        assert_non_null(strstr(mg_error_display(e), "open db"));
        mg_error_free(e);
    }
}

static void test_errno__new_defaults_and_displays(void **state)
{
    (void)state;
    mg_error *e = NULL;
    uint64_t v = 1;
    assert_int_equal(mg_error_new_from_errno(&e, ETIMEDOUT, NULL), MG_OK);
    assert_string_equal(mg_error_display(e),
                        "Operation timed out after 0ms: system call");
    assert_int_equal(mg_error_field_u64(e, MG_FIELD_DURATION_MS, &v), MG_OK);
    assert_int_equal(v, 0);
    assert_true(mg_error_is_retryable(e));
    mg_error_free(e);

    assert_int_equal(mg_error_new_from_errno(&e, ECONNREFUSED, "connect"),
                     MG_OK);
    assert_string_equal(mg_error_display(e), "Network error: connect");
    char buf[256], want[256];
    assert_int_equal(mg_error_format_chain(e, buf, sizeof buf, NULL), MG_OK);
    snprintf(want, sizeof want,
             "Network error: connect: caused by: %s (errno %d)",
             strerror(ECONNREFUSED), ECONNREFUSED);
    assert_string_equal(buf, want);
    mg_error_free(e);

    assert_int_equal(mg_error_new_from_errno(&e, EAGAIN, "pool"), MG_OK);
    assert_string_equal(mg_error_display(e), "Service unavailable: pool");
    assert_int_equal(mg_error_retry_after(e, &v), MG_ENOTFOUND);
    mg_error_free(e);

    assert_int_equal(mg_error_new_from_errno(&e, ENOENT, "/srv/a.mp4"), MG_OK);
    assert_string_equal(mg_error_display(e), "Content not found: /srv/a.mp4");
    mg_error_free(e);

    assert_int_equal(mg_error_new_from_errno(&e, EIO, NULL), MG_OK);
    assert_string_equal(mg_error_display(e), "Internal error: system call");
    mg_error_free(e);
}

static void test_errno__new_rejects_non_positive(void **state)
{
    (void)state;
    const int bad[] = {0, -1, -EPIPE, INT_MIN};
    for (size_t i = 0; i < COUNT(bad); i++) {
        mg_error *e = sentinel;
        assert_int_equal(mg_error_new_from_errno(&e, bad[i], "x"), MG_EINVAL);
        assert_null(e);
    }
}

/* ---- HTTP mapping ---- */

static void test_http__kind_for_every_listed_status(void **state)
{
    (void)state;
    const struct {
        int status;
        mg_error_kind kind;
    } rows[] = {
        {429, MG_ERROR_RATE_LIMIT},      {503, MG_ERROR_SERVICE_UNAVAILABLE},
        {504, MG_ERROR_TIMEOUT},         {408, MG_ERROR_TIMEOUT},
        {400, MG_ERROR_VALIDATION},      {401, MG_ERROR_AUTHENTICATION},
        {403, MG_ERROR_AUTHORIZATION},   {404, MG_ERROR_NOT_FOUND},
        {409, MG_ERROR_CONFLICT},        {500, MG_ERROR_INTERNAL},
        {501, MG_ERROR_NOT_IMPLEMENTED},
    };
    for (size_t i = 0; i < COUNT(rows); i++)
        assert_int_equal(mg_error_kind_from_http(rows[i].status), rows[i].kind);
}

static void test_http__other_4xx_5xx_are_external_api(void **state)
{
    (void)state;
    const int others[] = {402, 405, 410, 418, 422, 499, 502, 505, 511, 599};
    for (size_t i = 0; i < COUNT(others); i++) {
        assert_int_equal(mg_error_kind_from_http(others[i]),
                         MG_ERROR_EXTERNAL_API);
        mg_error *e = NULL;
        uint64_t v = 0;
        assert_int_equal(mg_error_new_from_http(&e, others[i], "7", "cdn"),
                         MG_OK);
        assert_int_equal(mg_error_get_kind(e), MG_ERROR_EXTERNAL_API);
        assert_int_equal(mg_error_field_u64(e, MG_FIELD_STATUS_CODE, &v),
                         MG_OK);
        assert_int_equal(v, (uint64_t)others[i]);
        assert_string_equal(mg_error_field_str(e, MG_FIELD_API), "cdn");
        char want[64];
        snprintf(want, sizeof want, "External API error from cdn: HTTP %d",
                 others[i]);
        assert_string_equal(mg_error_display(e), want);
        /* Retry-After only matters for 429 and 503. */
        assert_int_equal(mg_error_retry_after(e, &v), MG_ENOTFOUND);
        mg_error_free(e);
    }
}

static void test_http__out_of_range_status(void **state)
{
    (void)state;
    const int bad[] = {0, -1, 100, 200, 302, 399, 600, 999, INT_MAX, INT_MIN};
    for (size_t i = 0; i < COUNT(bad); i++) {
        assert_int_equal(mg_error_kind_from_http(bad[i]), 0);
        mg_error *e = sentinel;
        assert_int_equal(mg_error_new_from_http(&e, bad[i], NULL, "a"),
                         MG_EINVAL);
        assert_null(e);
    }
    assert_int_equal(mg_error_kind_from_http(400), MG_ERROR_VALIDATION);
    assert_int_equal(mg_error_kind_from_http(599), MG_ERROR_EXTERNAL_API);
}

static void test_http__new_displays_for_named_statuses(void **state)
{
    (void)state;
    const struct {
        int status;
        const char *api;
        const char *display;
    } rows[] = {
        {429, "cdn", "Rate limit exceeded: 0 requests per unknown"},
        {503, "cdn", "Service unavailable: cdn"},
        {503, NULL, "Service unavailable: http"},
        {504, "cdn", "Operation timed out after 0ms: cdn"},
        {408, NULL, "Operation timed out after 0ms: http"},
        {400, "cdn", "Validation error: HTTP 400 from cdn"},
        {400, NULL, "Validation error: HTTP 400"},
        {401, "cdn", "Authentication failed: HTTP 401 from cdn"},
        {403, "cdn", "Authorization failed: HTTP 403 from cdn"},
        {404, "cdn", "Content not found: HTTP 404 from cdn"},
        {404, NULL, "Content not found: HTTP 404"},
        {409, "cdn", "Conflict: HTTP 409 from cdn"},
        {500, "cdn", "Internal error: HTTP 500 from cdn"},
        {501, "cdn", "Feature not implemented: HTTP 501 from cdn"},
        {502, NULL, "External API error from http: HTTP 502"},
    };
    for (size_t i = 0; i < COUNT(rows); i++) {
        mg_error *e = NULL;
        assert_int_equal(
            mg_error_new_from_http(&e, rows[i].status, NULL, rows[i].api),
            MG_OK);
        assert_int_equal(mg_error_get_kind(e),
                         mg_error_kind_from_http(rows[i].status));
        assert_string_equal(mg_error_display(e), rows[i].display);
        assert_int_equal(mg_error_cause_errno(e), 0);
        assert_null(mg_error_cause(e));
        mg_error_free(e);
    }
}

static void test_http__retry_after_for_429_and_503(void **state)
{
    (void)state;
    mg_error *e = NULL;
    uint64_t v = 0;

    assert_int_equal(mg_error_new_from_http(&e, 429, "120", "api"), MG_OK);
    assert_int_equal(mg_error_retry_after(e, &v), MG_OK);
    assert_int_equal(v, 120);
    assert_true(mg_error_is_retryable(e));
    mg_error_free(e);

    assert_int_equal(mg_error_new_from_http(&e, 503, " 5\t", "api"), MG_OK);
    assert_int_equal(mg_error_retry_after(e, &v), MG_OK);
    assert_int_equal(v, 5);
    mg_error_free(e);

    /* A date far in the future: at least what is left until then. */
    int64_t before = (int64_t)time(NULL);
    assert_int_equal(
        mg_error_new_from_http(&e, 429, "Fri, 31 Dec 9999 23:59:59 GMT", NULL),
        MG_OK);
    int64_t after = (int64_t)time(NULL);
    assert_int_equal(mg_error_retry_after(e, &v), MG_OK);
    assert_true(v <= (uint64_t)(INT64_C(253402300799) - before));
    assert_true(v >= (uint64_t)(INT64_C(253402300799) - after));
    mg_error_free(e);

    /* A date in the past: retry now. */
    assert_int_equal(
        mg_error_new_from_http(&e, 503, "Sun, 06 Nov 1994 08:49:37 GMT", NULL),
        MG_OK);
    assert_int_equal(mg_error_retry_after(e, &v), MG_OK);
    assert_int_equal(v, 0);
    mg_error_free(e);
}

static void test_http__malformed_or_missing_retry_after_is_ignored(void **state)
{
    (void)state;
    const char *bad[] = {NULL, "",    "soon",
                         "-1", "1.5", "Sun, 06 Nov 1994 08:49:37 UTC"};
    for (size_t i = 0; i < COUNT(bad); i++) {
        const int statuses[] = {429, 503};
        for (size_t j = 0; j < 2; j++) {
            mg_error *e = NULL;
            uint64_t v = 0;
            assert_int_equal(
                mg_error_new_from_http(&e, statuses[j], bad[i], "api"), MG_OK);
            assert_int_equal(mg_error_get_kind(e),
                             mg_error_kind_from_http(statuses[j]));
            assert_int_equal(mg_error_retry_after(e, &v), MG_ENOTFOUND);
            mg_error_free(e);
        }
    }
}

/* ---- Retry-After parsing ---- */

/* Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example date. */
#define RFC_EXAMPLE INT64_C(784111777)

static uint64_t parse_ok(const char *value, int64_t now)
{
    uint64_t s = 0xabcdef;
    int rc = mg_http_parse_retry_after(value, now, &s);
    if (rc != MG_OK)
        fail_msg("\"%s\" rejected with %d", value, rc);
    return s;
}

static void expect_parse_error(const char *value)
{
    uint64_t s = 0xabcdef;
    int rc = mg_http_parse_retry_after(value, RFC_EXAMPLE, &s);
    if (rc != MG_EPARSE)
        fail_msg("\"%s\" gave %d, want MG_EPARSE", value, rc);
    assert_int_equal(s, 0xabcdef);
}

static void test_retry_after__delta_seconds(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("0", 0), 0);
    assert_int_equal(parse_ok("120", 0), 120);
    assert_int_equal(parse_ok("000120", 0), 120);
    assert_int_equal(parse_ok("2147483647", 0), 2147483647u);
    assert_int_equal(parse_ok("2147483648", 0), 2147483648u);
    /* now does not matter for delta-seconds */
    assert_int_equal(parse_ok("120", INT64_MIN), 120);
    assert_int_equal(parse_ok("120", INT64_MAX), 120);
}

static void test_retry_after__surrounding_whitespace_allowed(void **state)
{
    (void)state;
    assert_int_equal(parse_ok(" 120", 0), 120);
    assert_int_equal(parse_ok("120 ", 0), 120);
    assert_int_equal(parse_ok("\t 120 \t", 0), 120);
    assert_int_equal(
        parse_ok("  Sun, 06 Nov 1994 08:49:37 GMT\t", RFC_EXAMPLE - 10), 10);
}

static void test_retry_after__saturates_beyond_2_pow_31(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2147483649", 0), 2147483648u);
    assert_int_equal(parse_ok("4294967296", 0), 2147483648u);
    assert_int_equal(parse_ok("18446744073709551615", 0), 2147483648u);
    assert_int_equal(parse_ok("18446744073709551616", 0), 2147483648u);
    assert_int_equal(parse_ok("99999999999999999999999999999999", 0),
                     2147483648u);
}

static void test_retry_after__thousand_digits(void **state)
{
    (void)state;
    char buf[1001];
    memset(buf, '9', 1000);
    buf[1000] = '\0';
    assert_int_equal(parse_ok(buf, 0), 2147483648u);
    memset(buf, '0', 1000);
    buf[998] = '4';
    buf[999] = '2';
    assert_int_equal(parse_ok(buf, 0), 42);
    buf[500] = 'x';
    expect_parse_error(buf);
}

static void test_retry_after__malformed_values(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        " ",
        "\t",
        "  \t ",
        "-1",
        "+5",
        "1.5",
        "1e3",
        "0x10",
        "12abc",
        "12 34",
        "abc",
        "12\n",
        "\n12",
        "12\r",
        "\xd9\xa1\xd9\xa2",
        "- 1",
        "1,000",
        /* dates with garbage */
        "Sun, 06 Nov 1994 08:49:37 GMTx",
        "Sun, 06 Nov 1994 08:49:37 GMT x",
        "xSun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994",
        "Sun,",
        "Sunday,",
        "Sun ",
        "Sun, 06 Nov 1994  08:49:37 GMT",
        "Sun,  06 Nov 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun, 06 Nov 1994 08:49 GMT",
        "Sun, 06 Nov 1994 08-49-37 GMT",
        "Sun, 06 Nov 1994 08:4a:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 +0000",
        "Sun 06 Nov 1994 08:49:37 GMT",
    };
    for (size_t i = 0; i < COUNT(bad); i++)
        expect_parse_error(bad[i]);
}

static void test_retry_after__null_arguments(void **state)
{
    (void)state;
    uint64_t s = 5;
    assert_int_equal(mg_http_parse_retry_after(NULL, 0, &s), MG_EINVAL);
    assert_int_equal(s, 5);
    assert_int_equal(mg_http_parse_retry_after("120", 0, NULL), MG_EINVAL);
    assert_int_equal(mg_http_parse_retry_after(NULL, 0, NULL), MG_EINVAL);
}

static void test_retry_after__imf_fixdate_future_past_now(void **state)
{
    (void)state;
    const char *d = "Sun, 06 Nov 1994 08:49:37 GMT";
    assert_int_equal(parse_ok(d, RFC_EXAMPLE - 120), 120);
    assert_int_equal(parse_ok(d, RFC_EXAMPLE - 1), 1);
    assert_int_equal(parse_ok(d, RFC_EXAMPLE), 0);
    assert_int_equal(parse_ok(d, RFC_EXAMPLE + 1), 0);
    assert_int_equal(parse_ok(d, RFC_EXAMPLE + 86400 * 365), 0);
    assert_int_equal(parse_ok(d, 0), (uint64_t)RFC_EXAMPLE);
    /* before the epoch: negative now */
    assert_int_equal(parse_ok(d, -1000), (uint64_t)RFC_EXAMPLE + 1000);
    assert_int_equal(parse_ok("Thu, 01 Jan 1970 00:00:00 GMT", -1), 1);
    assert_int_equal(parse_ok("Thu, 01 Jan 1970 00:00:01 GMT", 0), 1);
}

static void test_retry_after__rfc850_two_digit_year(void **state)
{
    (void)state;
    /* now in 1994: "94" is 1994. */
    assert_int_equal(
        parse_ok("Sunday, 06-Nov-94 08:49:37 GMT", RFC_EXAMPLE - 60), 60);
    assert_int_equal(parse_ok("Sunday, 06-Nov-94 08:49:37 GMT", RFC_EXAMPLE),
                     0);
    /* now = 2025-06-15 15:06:40 UTC. */
    const int64_t now = INT64_C(1750000000);
    /* "94" would be 2094, more than 50 years ahead: it is 1994, past. */
    assert_int_equal(parse_ok("Sunday, 06-Nov-94 08:49:37 GMT", now), 0);
    /* "70" is 2070 (45 years ahead), not 1970. */
    assert_int_equal(parse_ok("Wednesday, 01-Jan-70 00:00:00 GMT", now),
                     (uint64_t)(INT64_C(3155760000) - now));
    /* "30" is 2030. */
    assert_int_equal(parse_ok("Saturday, 15-Jun-30 12:00:00 GMT", now),
                     (uint64_t)(INT64_C(1907755200) - now));
    /* "75" is 2075, exactly 50 years ahead: kept in the future. */
    assert_int_equal(parse_ok("Saturday, 15-Jun-75 12:00:00 GMT", now),
                     (uint64_t)(INT64_C(3327825600) - now));
    /* "76" is 2076, 51 years ahead: taken as 1976, past. */
    assert_int_equal(parse_ok("Monday, 15-Jun-76 12:00:00 GMT", now), 0);
    /* "25" is this year. */
    assert_int_equal(parse_ok("Sunday, 15-Jun-25 15:06:50 GMT", now), 10);

    /* now = 2090-01-01: "00" is 2100 (10 years ahead), not 2000, and "40"
     * is 2140 (50 years ahead), not 2040. */
    const int64_t late = INT64_C(3786912000);
    assert_int_equal(parse_ok("Friday, 01-Jan-00 00:00:00 GMT", late),
                     (uint64_t)(INT64_C(4102444800) - late));
    assert_int_equal(parse_ok("Wednesday, 15-Jun-40 12:00:00 GMT", late),
                     (uint64_t)(INT64_C(5379048000) - late));
}

static void test_retry_after__rfc850_malformed(void **state)
{
    (void)state;
    const char *bad[] = {
        "Sun, 06-Nov-94 08:49:37 GMT",      /* short day name */
        "sunday, 06-Nov-94 08:49:37 GMT",   /* case */
        "Sundae, 06-Nov-94 08:49:37 GMT",   /* not a day */
        "Sunday, 06-nov-94 08:49:37 GMT",   /* month case */
        "Sunday, 06-Nov-1994 08:49:37 GMT", /* four-digit year */
        "Sunday, 06 Nov 94 08:49:37 GMT",   /* separators */
        "Sunday, 06-Nov-94 08:49:37 gmt",   "Sunday, 06-Nov-94 08:49:37 GMT x",
        "Sunday, 31-Nov-94 08:49:37 GMT", /* 31 November */
        "Sunday, 06-Nov-94 24:00:00 GMT",   "Sunday,06-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-9 08:49:37 GMT",
    };
    for (size_t i = 0; i < COUNT(bad); i++)
        expect_parse_error(bad[i]);
}

static void test_retry_after__asctime(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("Sun Nov  6 08:49:37 1994", RFC_EXAMPLE - 60),
                     60);
    assert_int_equal(parse_ok("Sun Nov 06 08:49:37 1994", RFC_EXAMPLE - 60),
                     60);
    assert_int_equal(parse_ok("Sun Nov  6 08:49:37 1994", RFC_EXAMPLE), 0);
    assert_int_equal(parse_ok("Sun Nov  6 08:49:37 1994", RFC_EXAMPLE + 5), 0);
    assert_int_equal(
        parse_ok("Thu Feb 29 00:00:00 2024", INT64_C(1709164800) - 3600), 3600);
    const char *bad[] = {
        "Sun Nov 6 08:49:37 1994",     "Sun Nov  6 08:49:37 94",
        "Sun Nov  6 08:49:37 1994 ", /* fine: trailing OWS trimmed... */
        "Sun Nov  6 08:49:37 1994x",   "sun Nov  6 08:49:37 1994",
        "Sun nov  6 08:49:37 1994",    "Sun Nov  0 08:49:37 1994",
        "Sun Feb 30 08:49:37 1994",    "Sun Nov  6 24:49:37 1994",
        "Sun Nov  6 08:49:37 GMT",     "Sun Nov  6 08:49:37  1994",
        "Sunday Nov  6 08:49:37 1994",
    };
    for (size_t i = 0; i < COUNT(bad); i++) {
        if (i == 2) {
            /* Trailing whitespace is allowed, so this one parses. */
            assert_int_equal(parse_ok(bad[i], RFC_EXAMPLE - 1), 1);
            continue;
        }
        expect_parse_error(bad[i]);
    }
}

static void test_retry_after__leap_days(void **state)
{
    (void)state;
    assert_int_equal(
        parse_ok("Thu, 29 Feb 2024 00:00:00 GMT", INT64_C(1709164800) - 1), 1);
    assert_int_equal(
        parse_ok("Tue, 29 Feb 2000 00:00:00 GMT", INT64_C(951782400) - 7), 7);
    expect_parse_error("Wed, 29 Feb 2023 00:00:00 GMT"); /* not leap */
    expect_parse_error("Mon, 29 Feb 2100 00:00:00 GMT"); /* century */
    expect_parse_error("Wednesday, 29-Feb-23 00:00:00 GMT");
    expect_parse_error("Wed Feb 29 00:00:00 2023");
}

static void test_retry_after__date_field_ranges(void **state)
{
    (void)state;
    const char *bad[] = {
        "Mon, 30 Feb 2024 00:00:00 GMT", "Mon, 31 Apr 2024 00:00:00 GMT",
        "Mon, 31 Jun 2024 00:00:00 GMT", "Mon, 31 Sep 2024 00:00:00 GMT",
        "Mon, 31 Nov 2024 00:00:00 GMT", "Mon, 32 Jan 2024 00:00:00 GMT",
        "Mon, 00 Jan 2024 00:00:00 GMT", "Mon, 01 Jan 2024 24:00:00 GMT",
        "Mon, 01 Jan 2024 23:60:00 GMT", "Mon, 01 Jan 2024 23:59:61 GMT",
        "Mon, 01 Jan 2024 99:00:00 GMT", "Mon, 01 Foo 2024 00:00:00 GMT",
        "Mon, 01 JAN 2024 00:00:00 GMT", "Mon, 01 Jan 2024 00:00:00 GMT ,",
        "Mon, 01 Jan 2024 00:00:00 gmt", "Mon, 01 Jan 2024 00:00:00 Gmt",
        "Xyz, 01 Jan 2024 00:00:00 GMT", "MON, 01 Jan 2024 00:00:00 GMT",
        "mon, 01 Jan 2024 00:00:00 GMT", "Mon, 01 Jan 20x4 00:00:00 GMT",
    };
    for (size_t i = 0; i < COUNT(bad); i++)
        expect_parse_error(bad[i]);
    /* Upper bounds that are valid. */
    const int64_t base = INT64_C(1704067200); /* 2024-01-01 00:00:00 */
    assert_int_equal(parse_ok("Mon, 31 Jan 2024 00:00:00 GMT", base),
                     30 * 86400);
    assert_int_equal(parse_ok("Mon, 01 Jan 2024 23:59:59 GMT", base), 86399);
    /* A leap second is one second past :59. */
    assert_int_equal(parse_ok("Mon, 01 Jan 2024 23:59:60 GMT", base), 86400);
    assert_int_equal(parse_ok("Mon, 01 Jan 2024 00:00:00 GMT", base), 0);
}

static void test_retry_after__weekday_is_not_checked_against_date(void **state)
{
    (void)state;
    /* 1994-11-06 was a Sunday; the name is validated, not cross-checked,
     * so a wrong but valid name is accepted. */
    assert_int_equal(parse_ok("Mon, 06 Nov 1994 08:49:37 GMT", RFC_EXAMPLE - 2),
                     2);
}

static void test_retry_after__extreme_now_and_years(void **state)
{
    (void)state;
    const char *last = "Fri, 31 Dec 9999 23:59:59 GMT";
    assert_int_equal(parse_ok(last, INT64_MAX), 0);
    assert_int_equal(parse_ok(last, INT64_MIN),
                     UINT64_C(253402300799) + (uint64_t)INT64_MAX + 1u);
    assert_int_equal(parse_ok("Sat, 01 Jan 0000 00:00:00 GMT", 0), 0);
    assert_int_equal(parse_ok("Sat, 01 Jan 0000 00:00:00 GMT", INT64_MIN),
                     (uint64_t)(INT64_C(-62167219200) - INT64_MIN));
    /* RFC 850 years relative to an extreme now must not overflow. */
    uint64_t s = 0;
    assert_int_equal(mg_http_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT",
                                               INT64_MAX, &s),
                     MG_OK);
    assert_int_equal(mg_http_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT",
                                               INT64_MIN, &s),
                     MG_OK);
    assert_int_equal(
        mg_http_parse_retry_after("Sun Nov  6 08:49:37 1994", INT64_MIN, &s),
        MG_OK);
    assert_int_equal(s, (uint64_t)RFC_EXAMPLE + (uint64_t)INT64_MAX + 1u);
}

/* ---- out of memory ---- */

static void check_oom_error(const mg_error *e)
{
    assert_non_null(e);
    assert_true(mg_error_is_oom(e));
    assert_int_equal(mg_error_get_kind(e), MG_ERROR_INTERNAL);
    assert_string_equal(mg_error_display(e), "Internal error: out of memory");
    assert_string_equal(mg_error_field_str(e, MG_FIELD_MESSAGE),
                        "out of memory");
    assert_false(mg_error_is_retryable(e));
    assert_null(mg_error_cause(e));
    assert_int_equal(mg_error_cause_errno(e), 0);
}

static int disarm(int rc)
{
    fail_countdown = -1;
    return rc;
}

/* Arms the interposer for exactly the one call, then disarms. The comma
 * operator and the argument evaluation order make "arm, call, disarm". */
#define FAIL_NEXT_MALLOC(call) (fail_countdown = 0, disarm(call))

static int construct_each(int which, mg_error **out)
{
    switch (which) {
    case 0:
        return mg_error_new_validation(out, "m", "f");
    case 1:
        return mg_error_new_not_found(out, "c");
    case 2:
        return mg_error_new_user_not_found(out, "u");
    case 3:
        return mg_error_new_authentication(out, "r");
    case 4:
        return mg_error_new_authorization(out, "r");
    case 5:
        return mg_error_new_rate_limit(out, 1, "w", 2);
    case 6:
        return mg_error_new_database(out, "m", "o");
    case 7:
        return mg_error_new_external_api(out, "a", "m", 500);
    case 8:
        return mg_error_new_network(out, "m");
    case 9:
        return mg_error_new_serialization(out, "m");
    case 10:
        return mg_error_new_configuration(out, "m", "k");
    case 11:
        return mg_error_new_search(out, "m", "q");
    case 12:
        return mg_error_new_cache(out, "o", "m");
    case 13:
        return mg_error_new_conflict(out, "m", "r");
    case 14:
        return mg_error_new_service_unavailable(out, "s", 3);
    case 15:
        return mg_error_new_timeout(out, "o", 4);
    case 16:
        return mg_error_new_invalid_state(out, "m", "e", "a");
    case 17:
        return mg_error_new_not_implemented(out, "f");
    case 18:
        return mg_error_new_internal(out, "m");
    case 19:
        return mg_error_new_from_errno(out, ECONNREFUSED, "connect");
    case 20:
        return mg_error_new_from_errno(out, EIO, NULL);
    case 21:
        return mg_error_new_from_http(out, 429, "120", "api");
    case 22:
        return mg_error_new_from_http(out, 404, NULL, "api");
    case 23:
        return mg_error_new_from_http(out, 502, NULL, NULL);
    default:
        return 1; /* end */
    }
}

static void test_oom__every_constructor_returns_static_error(void **state)
{
    (void)state;
    REQUIRE_INTERPOSER();
    const mg_error *first = NULL;
    int n = 0;
    for (int i = 0;; i++) {
        mg_error *e = NULL;
        fail_countdown = 0;
        int rc = construct_each(i, &e);
        fail_countdown = -1;
        if (rc == 1)
            break;
        n++;
        if (rc != MG_ENOMEM)
            fail_msg("constructor %d returned %d under OOM", i, rc);
        check_oom_error(e);
        if (first == NULL)
            first = e;
        assert_ptr_equal(e, first); /* one shared static error */
        mg_error_free(e);           /* ignored */
        check_oom_error(e);
    }
    assert_int_equal(n, 24);
}

static void test_oom__each_constructor_allocates_exactly_once(void **state)
{
    (void)state;
    REQUIRE_INTERPOSER();
    for (int i = 0;; i++) {
        mg_error *e = NULL;
        unsigned long before = malloc_calls;
        int rc = construct_each(i, &e);
        unsigned long calls = malloc_calls - before;
        if (rc == 1)
            break;
        assert_int_equal(rc, MG_OK);
        if (calls != 1)
            fail_msg("constructor %d made %lu allocations", i, calls);
        /* Reading never allocates. */
        before = malloc_calls;
        uint64_t v;
        char buf[8];
        (void)mg_error_display(e);
        (void)mg_error_field_str(e, MG_FIELD_MESSAGE);
        (void)mg_error_field_u64(e, MG_FIELD_LIMIT, &v);
        (void)mg_error_retry_after(e, &v);
        (void)mg_error_is_retryable(e);
        (void)mg_error_format_chain(e, buf, sizeof buf, NULL);
        assert_int_equal(malloc_calls - before, 0);
        mg_error_free(e);
    }
}

static void test_oom__error_refuses_causes(void **state)
{
    (void)state;
    REQUIRE_INTERPOSER();
    mg_error *oom = NULL;
    assert_int_equal(FAIL_NEXT_MALLOC(mg_error_new_network(&oom, "connect")),
                     MG_ENOMEM);
    check_oom_error(oom);
    mg_error *cause = full(MG_ERROR_TIMEOUT);
    assert_int_equal(mg_error_set_cause(oom, cause), MG_ENOMEM);
    assert_int_equal(mg_error_set_cause_errno(oom, EPIPE), MG_ENOMEM);
    check_oom_error(oom);
    /* The caller kept ownership of cause. */
    assert_string_equal(mg_error_display(cause),
                        "Operation timed out after 5000ms: fetch manifest");
    mg_error_free(cause);

    char buf[64];
    size_t needed = 0;
    assert_int_equal(mg_error_format_chain(oom, buf, sizeof buf, &needed),
                     MG_OK);
    assert_string_equal(buf, "Internal error: out of memory");
    assert_int_equal(needed, strlen(buf));
}

static void test_oom__error_can_be_a_cause(void **state)
{
    (void)state;
    REQUIRE_INTERPOSER();
    mg_error *oom = NULL;
    assert_int_equal(FAIL_NEXT_MALLOC(mg_error_new_internal(&oom, "x")),
                     MG_ENOMEM);
    mg_error *outer = full(MG_ERROR_DATABASE);
    assert_int_equal(mg_error_set_cause(outer, oom), MG_OK);
    char buf[128];
    assert_int_equal(mg_error_format_chain(outer, buf, sizeof buf, NULL),
                     MG_OK);
    assert_string_equal(buf, "Database error: deadlock: caused by: "
                             "Internal error: out of memory");
    mg_error_free(outer); /* must not free the static error */
    check_oom_error(oom);
}

static void test_oom__from_errno_and_http_set_no_cause(void **state)
{
    (void)state;
    REQUIRE_INTERPOSER();
    mg_error *e = NULL;
    assert_int_equal(
        FAIL_NEXT_MALLOC(mg_error_new_from_errno(&e, ETIMEDOUT, "read")),
        MG_ENOMEM);
    check_oom_error(e);
    assert_int_equal(mg_error_cause_errno(e), 0);
    e = NULL;
    assert_int_equal(
        FAIL_NEXT_MALLOC(mg_error_new_from_http(&e, 503, "30", "svc")),
        MG_ENOMEM);
    check_oom_error(e);
    uint64_t v;
    assert_int_equal(mg_error_retry_after(e, &v), MG_ENOTFOUND);
}

static void test_oom__recovers_after_failure(void **state)
{
    (void)state;
    REQUIRE_INTERPOSER();
    mg_error *e = NULL;
    assert_int_equal(FAIL_NEXT_MALLOC(mg_error_new_search(&e, "m", "q")),
                     MG_ENOMEM);
    check_oom_error(e);
    assert_int_equal(mg_error_new_search(&e, "m", "q"), MG_OK);
    assert_false(mg_error_is_oom(e));
    assert_string_equal(mg_error_display(e), "Search error: m");
    mg_error_free(e);
}

/* ---- threads ---- */

struct thread_arg {
    const mg_error *shared;
    int failures;
};

static void *reader_thread(void *p)
{
    struct thread_arg *arg = p;
    for (int i = 0; i < 2000; i++) {
        mg_error *e = NULL;
        if (mg_error_new_from_errno(&e, ECONNRESET, "peer") != MG_OK) {
            arg->failures++;
            continue;
        }
        char buf[128];
        if (mg_error_format_chain(e, buf, sizeof buf, NULL) != MG_OK ||
            strncmp(buf, "Network error: peer: caused by: ", 32) != 0)
            arg->failures++;
        mg_error_free(e);
        if (strcmp(mg_error_display(arg->shared),
                   "Rate limit exceeded: 100 requests per minute") != 0 ||
            !mg_error_is_retryable(arg->shared))
            arg->failures++;
        uint64_t v = 0;
        if (mg_error_retry_after(arg->shared, &v) != MG_OK || v != 30)
            arg->failures++;
    }
    return NULL;
}

static void test_threads__shared_reads_and_private_errors(void **state)
{
    (void)state;
    mg_error *shared = full(MG_ERROR_RATE_LIMIT);
    pthread_t t[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i].shared = shared;
        args[i].failures = 0;
        assert_int_equal(pthread_create(&t[i], NULL, reader_thread, &args[i]),
                         0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(args[i].failures, 0);
    }
    mg_error_free(shared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status__str_for_every_code),
        cmocka_unit_test(test_status__unknown_codes_give_unknown_status),
        cmocka_unit_test(test_kind_name__every_kind_has_the_original_name),
        cmocka_unit_test(test_kind_name__invalid_values_give_unknown),
        cmocka_unit_test(
            test_constructors__every_kind_has_spec_display_and_kind),
        cmocka_unit_test(test_constructors__every_kind_has_exactly_its_fields),
        cmocka_unit_test(
            test_classification__all_predicates_match_spec_for_every_kind),
        cmocka_unit_test(test_classification__exactly_four_kinds_are_retryable),
        cmocka_unit_test(test_classification__null_is_nothing),
        cmocka_unit_test(test_constructors__optional_fields_absent_when_null),
        cmocka_unit_test(test_constructors__empty_required_strings_are_allowed),
        cmocka_unit_test(test_constructors__input_strings_are_copied),
        cmocka_unit_test(test_constructors__long_strings_are_kept_whole),
        cmocka_unit_test(test_rate_limit__limit_extremes_in_display),
        cmocka_unit_test(test_rate_limit__retry_after_below_none_is_einval),
        cmocka_unit_test(test_timeout__duration_extremes_in_display),
        cmocka_unit_test(test_external_api__status_code_range),
        cmocka_unit_test(test_fields__wrong_ids_give_null_or_enotfound),
        cmocka_unit_test(test_getters__null_error_is_handled),
        cmocka_unit_test(test_constructors__null_out_is_einval),
        cmocka_unit_test(test_constructors__null_required_string_is_einval),
        cmocka_unit_test(test_cause__set_and_read_back),
        cmocka_unit_test(test_cause__replacing_frees_the_old_cause),
        cmocka_unit_test(test_cause__self_and_cycles_are_rejected),
        cmocka_unit_test(test_cause__already_owned_by_chain_is_rejected),
        cmocka_unit_test(test_cause__null_and_bad_arguments),
        cmocka_unit_test(test_cause__chain_of_100000_is_walked_and_freed),
        cmocka_unit_test(test_format_chain__errno_cause_text),
        cmocka_unit_test(test_format_chain__no_cause_is_display_alone),
        cmocka_unit_test(test_format_chain__exact_fit_and_one_short),
        cmocka_unit_test(test_format_chain__truncated_is_prefix),
        cmocka_unit_test(test_format_chain__size_zero_and_one),
        cmocka_unit_test(test_format_chain__null_arguments),
        cmocka_unit_test(test_format_chain__unknown_errno_still_formats),
        cmocka_unit_test(test_errno__kind_for_every_listed_errno),
        cmocka_unit_test(test_errno__non_positive_maps_to_internal),
        cmocka_unit_test(test_errno__new_fills_main_field_and_cause),
        cmocka_unit_test(test_errno__new_defaults_and_displays),
        cmocka_unit_test(test_errno__new_rejects_non_positive),
        cmocka_unit_test(test_http__kind_for_every_listed_status),
        cmocka_unit_test(test_http__other_4xx_5xx_are_external_api),
        cmocka_unit_test(test_http__out_of_range_status),
        cmocka_unit_test(test_http__new_displays_for_named_statuses),
        cmocka_unit_test(test_http__retry_after_for_429_and_503),
        cmocka_unit_test(
            test_http__malformed_or_missing_retry_after_is_ignored),
        cmocka_unit_test(test_retry_after__delta_seconds),
        cmocka_unit_test(test_retry_after__surrounding_whitespace_allowed),
        cmocka_unit_test(test_retry_after__saturates_beyond_2_pow_31),
        cmocka_unit_test(test_retry_after__thousand_digits),
        cmocka_unit_test(test_retry_after__malformed_values),
        cmocka_unit_test(test_retry_after__null_arguments),
        cmocka_unit_test(test_retry_after__imf_fixdate_future_past_now),
        cmocka_unit_test(test_retry_after__rfc850_two_digit_year),
        cmocka_unit_test(test_retry_after__rfc850_malformed),
        cmocka_unit_test(test_retry_after__asctime),
        cmocka_unit_test(test_retry_after__leap_days),
        cmocka_unit_test(test_retry_after__date_field_ranges),
        cmocka_unit_test(test_retry_after__weekday_is_not_checked_against_date),
        cmocka_unit_test(test_retry_after__extreme_now_and_years),
        cmocka_unit_test(test_oom__every_constructor_returns_static_error),
        cmocka_unit_test(test_oom__each_constructor_allocates_exactly_once),
        cmocka_unit_test(test_oom__error_refuses_causes),
        cmocka_unit_test(test_oom__error_can_be_a_cause),
        cmocka_unit_test(test_oom__from_errno_and_http_set_no_cause),
        cmocka_unit_test(test_oom__recovers_after_failure),
        cmocka_unit_test(test_threads__shared_reads_and_private_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
