/* SPDX-License-Identifier: MIT */
/*
 * Proof that the retry loop never allocates: this executable interposes
 * malloc, calloc, realloc, free and the aligned allocators (glibc exports
 * the real ones as __libc_*), counts the calls made while a window is open,
 * and opens the window around mg_retry_run() calls that fail N times then
 * succeed (virtual clock, no-op sleep, every jitter mode, the default
 * random source included on a thread's very first draw), that succeed at
 * once, and that stop on a deadline or with hooks and logging on. Under
 * AddressSanitizer or ThreadSanitizer, which own malloc, the sanitizers'
 * allocation hooks count instead. Under valgrind run it with
 * --soname-synonyms=somalloc=nouserintercepts, or valgrind's own malloc
 * replaces the interposer; the first case detects exactly that.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include <mg/retry.h>

/* AddressSanitizer and ThreadSanitizer own malloc: count through their
 * allocation hooks instead of interposing. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MG_TEST_SANITIZER_MALLOC 1
#endif
#endif
#if (defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)) &&        \
    !defined(MG_TEST_SANITIZER_MALLOC)
#define MG_TEST_SANITIZER_MALLOC 1
#endif

static atomic_bool counting;
static atomic_uint n_alloc; /* malloc, calloc, realloc, aligned */
static atomic_uint n_free;

static void count_alloc(void)
{
    if (atomic_load(&counting))
        atomic_fetch_add(&n_alloc, 1u);
}

static void count_free(void)
{
    if (atomic_load(&counting))
        atomic_fetch_add(&n_free, 1u);
}

#ifdef MG_TEST_SANITIZER_MALLOC
/* From <sanitizer/allocator_interface.h>, which gcc does not install. */
int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void *, size_t),
    void (*free_hook)(const volatile void *));

static void asan_malloc_hook(const volatile void *ptr, size_t size)
{
    (void)ptr;
    (void)size;
    count_alloc();
}

static void asan_free_hook(const volatile void *ptr)
{
    (void)ptr;
    count_free();
}

static void install_counter(void)
{
    __sanitizer_install_malloc_and_free_hooks(asan_malloc_hook,
                                              asan_free_hook);
}
#else
/* glibc's real allocator under its exported internal names. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_memalign(size_t alignment, size_t size);

void *malloc(size_t size)
{
    count_alloc();
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    count_alloc();
    return __libc_calloc(n, size);
}

void *realloc(void *ptr, size_t size)
{
    count_alloc();
    return __libc_realloc(ptr, size);
}

void free(void *ptr)
{
    if (ptr != NULL)
        count_free();
    __libc_free(ptr);
}

void *aligned_alloc(size_t alignment, size_t size)
{
    count_alloc();
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
    void *p;

    count_alloc();
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0)
        return 22; /* EINVAL */
    p = __libc_memalign(alignment, size);
    if (p == NULL)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

static void install_counter(void)
{
}
#endif

static void window_open(void)
{
    atomic_store(&n_alloc, 0u);
    atomic_store(&n_free, 0u);
    atomic_store(&counting, true);
}

static void window_close(void)
{
    atomic_store(&counting, false);
}

/* ---- the operation and virtual time ---- */

struct flaky {
    unsigned calls;
    unsigned fail; /* failures before the success */
    int token;     /* a static "error object": nothing to free */
};

static int op_flaky(void *user_data, void **error)
{
    struct flaky *f = user_data;

    if (f->calls++ < f->fail) {
        *error = &f->token;
        return -1;
    }
    return 0;
}

static uint64_t vclock(void *user_data)
{
    return *(const uint64_t *)user_data;
}

static void vsleep(uint64_t wake_ns, const mg_cancel *cancel, void *user_data)
{
    uint64_t *now = user_data;

    (void)cancel;
    if (wake_ns > *now)
        *now = wake_ns;
}

static void noop_sleep(uint64_t wake_ns, const mg_cancel *cancel,
                       void *user_data)
{
    (void)wake_ns;
    (void)cancel;
    (void)user_data;
}

static void on_retry(uint32_t retry, uint64_t delay_ms, const void *error,
                     void *user_data)
{
    (void)retry;
    (void)delay_ms;
    (void)error;
    ++*(unsigned *)user_data;
}

static void log_sink(int level, const char *message, void *user_data)
{
    (void)level;
    (void)message;
    ++*(unsigned *)user_data;
}

/* One run of `fail` failures then a success, under `jitter`, with the
 * default random source, the given sleep and a virtual clock. */
struct run {
    uint32_t jitter;
    unsigned fail;
    bool virtual_sleep; /* else: constant clock, no-op sleep */
    int stop;
    uint32_t attempts;
    unsigned allocs;
    unsigned frees;
};

static void run_counted(struct run *r)
{
    mg_policy policy = MG_POLICY_INIT;
    mg_retry_options options = MG_RETRY_OPTIONS_INIT;
    mg_retry_result result = MG_RETRY_RESULT_INIT;
    struct flaky f = {0, r->fail, 0};
    uint64_t now = 1000;

    policy.max_retries = r->fail;
    policy.jitter = r->jitter;
    options.clock = vclock;
    options.clock_data = &now;
    options.sleep = r->virtual_sleep ? vsleep : noop_sleep;
    options.sleep_data = &now;
    window_open();
    r->stop = mg_retry_run(&policy, op_flaky, &f, &options, &result);
    window_close();
    r->attempts = result.attempts;
    r->allocs = atomic_load(&n_alloc);
    r->frees = atomic_load(&n_free);
}

static void *run_thread(void *arg)
{
    run_counted(arg);
    return NULL;
}

/* ---- cases ---- */

/* Guards every other case: a counter that cannot see allocations would
 * make them pass vacuously (valgrind without nouserintercepts does that). */
static void test_noalloc__counter_sees_allocations(void **state)
{
    void *(*volatile alloc)(size_t) = malloc;
    void (*volatile release)(void *) = free;
    void *p;

    (void)state;
    window_open();
    p = alloc(24);
    release(p);
    window_close();
    assert_non_null(p);
    assert_int_equal(atomic_load(&n_alloc), 1);
    assert_int_equal(atomic_load(&n_free), 1);
}

/* The first default-source draw of a thread seeds it (arc4random_buf) and
 * the first in the process registers the fork handler: both inside the
 * window, in a thread that has drawn nothing yet. This case runs first. */
static void test_noalloc__first_retrying_run_of_a_thread_allocates_nothing(
    void **state)
{
    struct run r = {MG_JITTER_FULL, 5, true, -1, 0, 0, 0};
    pthread_t t;

    (void)state;
    assert_int_equal(pthread_create(&t, NULL, run_thread, &r), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(r.stop, MG_STOP_SUCCESS);
    assert_int_equal(r.attempts, 6);
    assert_int_equal(r.allocs, 0);
    assert_int_equal(r.frees, 0);
}

static void test_noalloc__retrying_runs_allocate_nothing_in_any_mode(
    void **state)
{
    static const uint32_t modes[] = {
        MG_JITTER_NONE, MG_JITTER_PROPORTIONAL, MG_JITTER_FULL,
        MG_JITTER_EQUAL, MG_JITTER_DECORRELATED};
    static const unsigned fails[] = {1, 8, 100};
    size_t m, i;
    int s;

    (void)state;
    for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
        for (i = 0; i < sizeof(fails) / sizeof(fails[0]); i++)
            for (s = 0; s < 2; s++) {
                struct run r = {modes[m], fails[i], s == 0, -1, 0, 0, 0};

                run_counted(&r);
                assert_int_equal(r.stop, MG_STOP_SUCCESS);
                assert_int_equal(r.attempts, fails[i] + 1);
                assert_int_equal(r.allocs, 0);
                assert_int_equal(r.frees, 0);
            }
}

static void test_noalloc__success_at_once_allocates_nothing(void **state)
{
    static const mg_policy policy = MG_POLICY_DEFAULT_INIT;
    mg_retry_result result = MG_RETRY_RESULT_INIT;
    struct flaky f = {0, 0, 0};
    int stop_default, stop_policy;

    (void)state;
    window_open();
    /* All defaults: real clock and sleep, no result; then a policy and a
     * result. Neither may touch the heap. */
    stop_default = mg_retry_run(NULL, op_flaky, &f, NULL, NULL);
    stop_policy = mg_retry_run(&policy, op_flaky, &f, NULL, &result);
    window_close();
    assert_int_equal(stop_default, MG_STOP_SUCCESS);
    assert_int_equal(stop_policy, MG_STOP_SUCCESS);
    assert_int_equal(result.attempts, 1);
    assert_int_equal(f.calls, 2);
    assert_int_equal(atomic_load(&n_alloc), 0);
    assert_int_equal(atomic_load(&n_free), 0);
}

/* The paths a plain retry does not take: hook, log handler, pushback and
 * a deadline that stops the loop, and exhaustion. */
static bool pushback_10ms(const void *error, uint64_t *wait_ms,
                          void *user_data)
{
    (void)error;
    (void)user_data;
    *wait_ms = 10;
    return true;
}

static void test_noalloc__hooks_logging_pushback_and_deadline_allocate_nothing(
    void **state)
{
    mg_policy policy = MG_POLICY_INIT;
    mg_retry_options options = MG_RETRY_OPTIONS_INIT;
    mg_retry_result deadline = MG_RETRY_RESULT_INIT;
    mg_retry_result exhausted = MG_RETRY_RESULT_INIT;
    struct flaky always = {0, UINT32_MAX, 0};
    unsigned hooks = 0, logs = 0;
    uint64_t now = 0;
    int stop_deadline, stop_exhausted;

    (void)state;
    policy.max_retries = 50;
    policy.max_elapsed_ms = 2000;
    policy.jitter = MG_JITTER_DECORRELATED;
    options.clock = vclock;
    options.clock_data = &now;
    options.sleep = vsleep;
    options.sleep_data = &now;
    options.on_retry = on_retry;
    options.on_retry_data = &hooks;
    options.log = log_sink;
    options.log_data = &logs;
    options.pushback = pushback_10ms;
    window_open();
    stop_deadline = mg_retry_run(&policy, op_flaky, &always, &options,
                                 &deadline);
    policy.max_elapsed_ms = 0;
    policy.max_retries = 3;
    stop_exhausted = mg_retry_run(&policy, op_flaky, &always, &options,
                                  &exhausted);
    window_close();
    assert_int_equal(stop_deadline, MG_STOP_DEADLINE);
    assert_int_equal(stop_exhausted, MG_STOP_EXHAUSTED);
    assert_int_equal(exhausted.attempts, 4);
    assert_true(hooks >= 3 + 1);
    assert_true(logs >= 2 + 1); /* debug lines and the warnings */
    assert_int_equal(atomic_load(&n_alloc), 0);
    assert_int_equal(atomic_load(&n_free), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noalloc__counter_sees_allocations),
        cmocka_unit_test(
            test_noalloc__first_retrying_run_of_a_thread_allocates_nothing),
        cmocka_unit_test(
            test_noalloc__retrying_runs_allocate_nothing_in_any_mode),
        cmocka_unit_test(test_noalloc__success_at_once_allocates_nothing),
        cmocka_unit_test(
            test_noalloc__hooks_logging_pushback_and_deadline_allocate_nothing),
    };

    install_counter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
