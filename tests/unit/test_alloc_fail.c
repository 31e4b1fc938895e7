/* SPDX-License-Identifier: MIT */
/*
 * Allocation-failure injection over every function of the library that
 * allocates: for each, fail the 1st, 2nd, ... Nth allocation until a run
 * completes, and check that each failure gives the documented code and
 * state (the static out-of-memory error for mg_error constructors, NULL
 * for the other constructors) and never crashes. Leaks show up when this
 * runs under ASan or valgrind (CI stages 51 and 52).
 *
 * Two injection points: the static build sets the library's hidden
 * mg__alloc_fail_hook, which sees exactly the library's own allocations
 * and works under every sanitizer; the shared build interposes malloc
 * itself, which also catches an allocation that bypasses mg__malloc, but
 * is inactive under ASan/TSan and under valgrind without
 * --soname-synonyms=somalloc=nouserintercepts (then those cases skip).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mg/error.h>
#include <mg/retry.h>

/* ---- injection ---- */

static long fail_countdown = -1; /* -1: off; 0: fail the next allocation */
static unsigned long injected;   /* failures injected since arm() */

/* Counts one allocation; true when it must fail. */
static int should_fail(void)
{
    if (fail_countdown < 0)
        return 0;
    if (fail_countdown == 0) {
        injected++;
        /* Fail only the Nth: later allocations (a retry inside the
         * function, if it ever grows one) succeed again. */
        fail_countdown = -2;
        return 1;
    }
    if (fail_countdown > 0)
        fail_countdown--;
    return 0;
}

#ifdef MG_STATIC
/* The static library's hidden test hook (src/alloc.c). */
extern int (*mg__alloc_fail_hook)(size_t size);

static int hook(size_t size)
{
    (void)size;
    return should_fail();
}

static bool injection_active(void)
{
    mg__alloc_fail_hook = hook;
    return true;
}
#define INJECTION_EXACT 1 /* only the library's allocations are counted */
#else
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TEST_SANITIZER_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||     \
    __has_feature(memory_sanitizer)
#define TEST_SANITIZER_MALLOC 1
#endif
#endif

#ifndef TEST_SANITIZER_MALLOC
/* Memory from __libc_malloc goes to glibc's free, so free stays as is. */
extern void *__libc_malloc(size_t);
void *malloc(size_t n)
{
    if (fail_countdown != -1 && should_fail())
        return NULL;
    return __libc_malloc(n);
}
#endif

/* Whether this process really runs the interposer above. */
static bool injection_active(void)
{
    void *(*volatile alloc)(size_t) = malloc;
    void *p;

    (void)should_fail; /* unused when a sanitizer owns malloc */
    fail_countdown = 0;
    p = alloc(16);
    fail_countdown = -1;
    free(p);
    return p == NULL;
}
#define INJECTION_EXACT 0 /* libc calls inside the library count too */
#endif

#define REQUIRE_INJECTION()                                                    \
    do {                                                                       \
        if (!injection_active()) {                                             \
            print_message("malloc interposer inactive (sanitizer malloc or "   \
                          "valgrind without nouserintercepts): skipped\n");    \
            skip();                                                            \
        }                                                                      \
    } while (0)

static void arm(long n)
{
    injected = 0;
    fail_countdown = n;
}

static void disarm(void)
{
    fail_countdown = -1;
}

/* ---- the cases: one per allocating function ---- */

/* An mg_error constructor under test; returns its code. */
typedef int (*error_ctor)(mg_error **out);

static int ctor_validation(mg_error **o)
{
    return mg_error_new_validation(o, "bad input", "field");
}
static int ctor_not_found(mg_error **o)
{
    return mg_error_new_not_found(o, "content-1");
}
static int ctor_user_not_found(mg_error **o)
{
    return mg_error_new_user_not_found(o, "user-1");
}
static int ctor_authentication(mg_error **o)
{
    return mg_error_new_authentication(o, "expired token");
}
static int ctor_authorization(mg_error **o)
{
    return mg_error_new_authorization(o, "forbidden");
}
static int ctor_rate_limit(mg_error **o)
{
    return mg_error_new_rate_limit(o, 100, "minute", 30);
}
static int ctor_database(mg_error **o)
{
    return mg_error_new_database(o, "deadlock", "update");
}
static int ctor_external_api(mg_error **o)
{
    return mg_error_new_external_api(o, "tmdb", "bad gateway", 502);
}
static int ctor_network(mg_error **o)
{
    return mg_error_new_network(o, "reset");
}
static int ctor_serialization(mg_error **o)
{
    return mg_error_new_serialization(o, "truncated json");
}
static int ctor_configuration(mg_error **o)
{
    return mg_error_new_configuration(o, "missing", "db.url");
}
static int ctor_search(mg_error **o)
{
    return mg_error_new_search(o, "index down", "q=cats");
}
static int ctor_cache(mg_error **o)
{
    return mg_error_new_cache(o, "get", "evicted");
}
static int ctor_conflict(mg_error **o)
{
    return mg_error_new_conflict(o, "version", "item-7");
}
static int ctor_service_unavailable(mg_error **o)
{
    return mg_error_new_service_unavailable(o, "search", 5);
}
static int ctor_timeout(mg_error **o)
{
    return mg_error_new_timeout(o, "fetch", 1500);
}
static int ctor_invalid_state(mg_error **o)
{
    return mg_error_new_invalid_state(o, "bad state", "open", "closed");
}
static int ctor_not_implemented(mg_error **o)
{
    return mg_error_new_not_implemented(o, "webdav");
}
static int ctor_internal(mg_error **o)
{
    return mg_error_new_internal(o, "bug");
}
static int ctor_from_errno(mg_error **o)
{
    return mg_error_new_from_errno(o, ECONNRESET, "connect");
}
static int ctor_from_errno_null_context(mg_error **o)
{
    return mg_error_new_from_errno(o, ETIMEDOUT, NULL);
}
static int ctor_from_http_429(mg_error **o)
{
    return mg_error_new_from_http(o, 429, "120", "tmdb");
}
static int ctor_from_http_503_date(mg_error **o)
{
    return mg_error_new_from_http(o, 503, "Sun, 06 Nov 1994 08:49:37 GMT",
                                  NULL);
}
static int ctor_from_http_502(mg_error **o)
{
    return mg_error_new_from_http(o, 502, NULL, "cdn");
}

struct error_case {
    const char *name;
    error_ctor ctor;
    mg_error_kind kind; /* of the error a successful run makes */
};

static const struct error_case error_cases[] = {
    {"validation", ctor_validation, MG_ERROR_VALIDATION},
    {"not_found", ctor_not_found, MG_ERROR_NOT_FOUND},
    {"user_not_found", ctor_user_not_found, MG_ERROR_USER_NOT_FOUND},
    {"authentication", ctor_authentication, MG_ERROR_AUTHENTICATION},
    {"authorization", ctor_authorization, MG_ERROR_AUTHORIZATION},
    {"rate_limit", ctor_rate_limit, MG_ERROR_RATE_LIMIT},
    {"database", ctor_database, MG_ERROR_DATABASE},
    {"external_api", ctor_external_api, MG_ERROR_EXTERNAL_API},
    {"network", ctor_network, MG_ERROR_NETWORK},
    {"serialization", ctor_serialization, MG_ERROR_SERIALIZATION},
    {"configuration", ctor_configuration, MG_ERROR_CONFIGURATION},
    {"search", ctor_search, MG_ERROR_SEARCH},
    {"cache", ctor_cache, MG_ERROR_CACHE},
    {"conflict", ctor_conflict, MG_ERROR_CONFLICT},
    {"service_unavailable", ctor_service_unavailable,
     MG_ERROR_SERVICE_UNAVAILABLE},
    {"timeout", ctor_timeout, MG_ERROR_TIMEOUT},
    {"invalid_state", ctor_invalid_state, MG_ERROR_INVALID_STATE},
    {"not_implemented", ctor_not_implemented, MG_ERROR_NOT_IMPLEMENTED},
    {"internal", ctor_internal, MG_ERROR_INTERNAL},
    {"from_errno", ctor_from_errno, MG_ERROR_NETWORK},
    {"from_errno_null_context", ctor_from_errno_null_context,
     MG_ERROR_TIMEOUT},
    {"from_http_429", ctor_from_http_429, MG_ERROR_RATE_LIMIT},
    {"from_http_503_date", ctor_from_http_503_date,
     MG_ERROR_SERVICE_UNAVAILABLE},
    {"from_http_502", ctor_from_http_502, MG_ERROR_EXTERNAL_API},
};

#define MAX_ALLOCS 64 /* no function of the library allocates this often */

/* Checks one run of an error constructor; returns whether a failure was
 * injected into it. */
static bool check_error_run(const struct error_case *c, long n)
{
    mg_error *err = (mg_error *)&err; /* any non-NULL garbage */
    int rc;

    arm(n);
    rc = c->ctor(&err);
    disarm();
    assert_non_null(err); /* never NULL, failure or not */
    if (rc == MG_OK) {
        /* Under the exact hook an injected failure must not be swallowed;
         * through the interposer it may have hit libc, which coped. */
        if (INJECTION_EXACT)
            assert_int_equal(injected, 0);
        assert_false(mg_error_is_oom(err));
        assert_int_equal(mg_error_get_kind(err), c->kind);
        mg_error_free(err);
        return injected != 0;
    }
    if (rc != MG_ENOMEM)
        fail_msg("%s: allocation %ld failed: code %d (%s), not MG_ENOMEM",
                 c->name, n + 1, rc, mg_status_str(rc));
    assert_int_not_equal(injected, 0);
    /* The documented stand-in: the static out-of-memory error. */
    assert_true(mg_error_is_oom(err));
    assert_int_equal(mg_error_get_kind(err), MG_ERROR_INTERNAL);
    assert_string_equal(mg_error_display(err),
                        "Internal error: out of memory");
    assert_false(mg_error_is_retryable(err));
    assert_int_equal(mg_error_set_cause_errno(err, EIO), MG_ENOMEM);
    mg_error_free(err); /* ignored for the static error */
    return true;
}

/* Fails allocation 1, 2, ... of each constructor until a run completes. */
static void test_alloc_fail__every_error_constructor_yields_the_oom_error(
    void **state)
{
    (void)state;
    REQUIRE_INJECTION();
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]);
         i++) {
        const struct error_case *c = &error_cases[i];
        long n = 0;

        while (n < MAX_ALLOCS && check_error_run(c, n))
            n++;
        if (n >= MAX_ALLOCS)
            fail_msg("%s: still failing after %d allocations", c->name,
                     MAX_ALLOCS);
        /* It allocates, and every allocation was failed once. */
        if (n == 0)
            fail_msg("%s: no allocation was seen", c->name);
    }
}

/* The error kept as a cause survives a failed constructor, and a cause
 * can still be attached to an error built after the failure. */
static void test_alloc_fail__failure_leaves_existing_errors_usable(void **state)
{
    mg_error *outer, *inner, *oom;
    char buf[256];

    (void)state;
    REQUIRE_INJECTION();
    assert_int_equal(mg_error_new_network(&inner, "reset"), MG_OK);
    arm(0);
    assert_int_equal(mg_error_new_timeout(&oom, "fetch", 10), MG_ENOMEM);
    disarm();
    assert_true(mg_error_is_oom(oom));
    /* The static error accepts no cause; the caller keeps inner. */
    assert_int_equal(mg_error_set_cause(oom, inner), MG_ENOMEM);
    assert_int_equal(mg_error_new_timeout(&outer, "fetch", 10), MG_OK);
    assert_int_equal(mg_error_set_cause(outer, inner), MG_OK);
    assert_int_equal(mg_error_format_chain(outer, buf, sizeof(buf), NULL),
                     MG_OK);
    assert_non_null(strstr(buf, "reset"));
    /* Formatting the static error needs no memory either. */
    arm(0);
    assert_int_equal(mg_error_format_chain(oom, buf, sizeof(buf), NULL),
                     MG_OK);
    disarm();
    assert_string_equal(buf, "Internal error: out of memory");
    mg_error_free(outer);
}

/* The opaque handles other than mg_error: a constructor that cannot
 * allocate returns MG_ENOMEM and sets *out to NULL. */
static int new_cancel(void **o)
{
    return mg_cancel_new((mg_cancel **)o);
}
static void free_cancel(void *h)
{
    mg_cancel_free(h);
}
static int new_stats(void **o)
{
    return mg_stats_new((mg_stats **)o);
}
static void free_stats(void *h)
{
    mg_stats_free(h);
}
static int new_token_bucket(void **o)
{
    return mg_budget_new_token_bucket((mg_budget **)o, 10, 0.1);
}
static int new_ratio_budget(void **o)
{
    mg_budget_ratio_config c = MG_BUDGET_RATIO_CONFIG_INIT;

    return mg_budget_new_ratio((mg_budget **)o, &c);
}
static void free_budget(void *h)
{
    mg_budget_free(h);
}
static int new_breaker(void **o)
{
    mg_breaker_config c = MG_BREAKER_CONFIG_INIT;

    return mg_breaker_new((mg_breaker **)o, &c);
}
static void free_breaker(void *h)
{
    mg_breaker_free(h);
}

struct handle_case {
    const char *name;
    int (*ctor)(void **out);
    void (*dtor)(void *handle);
};

static const struct handle_case handle_cases[] = {
    {"mg_cancel_new", new_cancel, free_cancel},
    {"mg_stats_new", new_stats, free_stats},
    {"mg_budget_new_token_bucket", new_token_bucket, free_budget},
    {"mg_budget_new_ratio", new_ratio_budget, free_budget},
    {"mg_breaker_new", new_breaker, free_breaker},
};

static void test_alloc_fail__handle_constructors_give_enomem_and_null(
    void **state)
{
    (void)state;
    REQUIRE_INJECTION();
    for (size_t i = 0; i < sizeof(handle_cases) / sizeof(handle_cases[0]);
         i++) {
        const struct handle_case *c = &handle_cases[i];
        long n = 0;

        for (;; n++) {
            void *h = &h; /* any non-NULL garbage */
            int rc;

            if (n >= MAX_ALLOCS)
                fail_msg("%s: still failing after %d allocations", c->name,
                         MAX_ALLOCS);
            arm(n);
            rc = c->ctor(&h);
            disarm();
            if (rc == MG_OK) {
                assert_non_null(h);
                c->dtor(h);
                if (INJECTION_EXACT)
                    assert_int_equal(injected, 0);
                if (injected == 0)
                    break;
                continue;
            }
            if (rc != MG_ENOMEM)
                fail_msg("%s: allocation %ld failed: code %d (%s)", c->name,
                         n + 1, rc, mg_status_str(rc));
            assert_null(h);
            assert_int_not_equal(injected, 0);
        }
        if (n == 0)
            fail_msg("%s: no allocation was seen", c->name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_alloc_fail__every_error_constructor_yields_the_oom_error),
        cmocka_unit_test(
            test_alloc_fail__failure_leaves_existing_errors_usable),
        cmocka_unit_test(
            test_alloc_fail__handle_constructors_give_enomem_and_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
