/* SPDX-License-Identifier: MIT */
/*
 * What the overload-protection tests (test_budget, test_breaker,
 * test_stats) share: a virtual clock that counts its readings, a malloc
 * interposer that fails on demand (left out under sanitizers that own
 * malloc, and inactive under valgrind without nouserintercepts, in which
 * case the allocation-failure cases skip), and a helper that runs a
 * function on eight threads released together. Include it from exactly
 * one translation unit per executable.
 */
#ifndef OV_TESTUTIL_H
#define OV_TESTUTIL_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- virtual clock ---- */

struct vclock {
    _Atomic uint64_t ns;
    _Atomic unsigned reads;
};

static uint64_t vclock_read(void *data)
{
    struct vclock *c = data;
    atomic_fetch_add(&c->reads, 1u);
    return atomic_load(&c->ns);
}

static void vclock_set_ms(struct vclock *c, uint64_t ms)
{
    atomic_store(&c->ns, ms * 1000000u);
}

/* ---- malloc interposition ---- */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define OV_SANITIZER_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||     \
    __has_feature(memory_sanitizer)
#define OV_SANITIZER_MALLOC 1
#endif
#endif

static atomic_int fail_next_malloc; /* 1: the next malloc returns NULL */

#ifndef OV_SANITIZER_MALLOC
extern void *__libc_malloc(size_t);
void *malloc(size_t n);
void *malloc(size_t n)
{
    if (atomic_exchange(&fail_next_malloc, 0))
        return NULL;
    return __libc_malloc(n);
}
#endif

/* Whether the interposer above really is the process's malloc. */
static bool interposer_active(void)
{
    void *(*volatile alloc)(size_t) = malloc;
    atomic_store(&fail_next_malloc, 1);
    void *p = alloc(16);
    atomic_store(&fail_next_malloc, 0);
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

/* ---- eight threads, released together ---- */

#define OV_THREADS 8

struct ov_run {
    void (*fn)(void *arg, int index);
    void *arg;
    atomic_int ready;
    atomic_bool go;
};

struct ov_thread {
    struct ov_run *run;
    int index;
};

static void *ov_thread_main(void *p)
{
    struct ov_thread *t = p;
    atomic_fetch_add(&t->run->ready, 1);
    while (!atomic_load(&t->run->go))
        sched_yield();
    t->run->fn(t->run->arg, t->index);
    return NULL;
}

/* Runs fn(arg, i) for i = 0..7 on eight threads at once; returns when all
 * are done. Returns false when a thread could not be started. */
static bool run_threads(void (*fn)(void *arg, int index), void *arg)
{
    struct ov_run run = {fn, arg, 0, false};
    struct ov_thread t[OV_THREADS];
    pthread_t id[OV_THREADS];
    int started = 0;
    for (int i = 0; i < OV_THREADS; i++) {
        t[i].run = &run;
        t[i].index = i;
        if (pthread_create(&id[i], NULL, ov_thread_main, &t[i]) != 0)
            break;
        started++;
    }
    while (atomic_load(&run.ready) < started)
        sched_yield();
    atomic_store(&run.go, true);
    for (int i = 0; i < started; i++)
        pthread_join(id[i], NULL);
    return started == OV_THREADS;
}

#endif /* OV_TESTUTIL_H */
