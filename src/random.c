/* SPDX-License-Identifier: MIT */
/*
 * The random sources: the two exported ones (libbsd's arc4random and a
 * seeded SplitMix64) and the default source that `random == NULL` means
 * everywhere, a per-thread xoshiro256** generator seeded from arc4random.
 * arc4random costs a system call per call on this platform (libbsd checks
 * getpid() for a fork, glibc calls getrandom()), about 1 us, a hundred
 * times a jittered delay's budget; the default source pays it once per
 * 2^16 draws instead. Invariants of the default source:
 *   - each thread has its own state (no lock, no sharing), seeded lazily on
 *     its first draw, so the success path of a retry never touches it;
 *   - a forked child never continues its parent's sequence: a
 *     pthread_atfork child handler bumps a process-wide generation that
 *     every draw compares with the one its state was seeded in, and the
 *     handler is registered (once) before any state is seeded;
 *   - a state serves at most MG_RNG_RESEED_EVERY draws, then is reseeded,
 *     so a state captured at one moment (a core dump, say) predicts only
 *     a bounded run of delays;
 *   - if the fork handler cannot be registered, every draw goes to
 *     arc4random itself: slow, but never the same jitter in two processes.
 * Jitter needs spread, not secrecy: xoshiro256** is not a cryptographic
 * generator, and nothing here pretends it is.
 */
#include <bsd/stdlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "mg_internal.h"

uint64_t mg_random_arc4random(void *user_data)
{
    uint64_t bits;

    (void)user_data;
    arc4random_buf(&bits, sizeof bits);
    return bits;
}

MG_NO_SANITIZE_WRAP uint64_t mg_random_splitmix64(void *user_data)
{
    uint64_t *state = user_data;
    uint64_t z;

    if (state == NULL)
        return 0;
    *state += UINT64_C(0x9e3779b97f4a7c15);
    z = *state;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* ------------------------------------------------------------------------
 * The default source
 * ---------------------------------------------------------------------- */

/* Draws per seed: reseeding costs one arc4random_buf (about 1.2 us here),
 * so 2^16 draws spread it to under 0.02 ns per draw. */
#define MG_RNG_RESEED_EVERY UINT32_C(65536)

/* One thread's generator. Zero-initialised, so `left` == 0 makes the
 * first draw seed it. Invariant once seeded: s is not all zero (the one
 * state xoshiro256** never leaves). */
struct mg_rng {
    uint64_t s[4];
    uint32_t left;       /* draws remaining before a reseed */
    uint32_t generation; /* mg_rng_generation when s was seeded */
};

/* Static TLS (initial-exec) when the compiler offers it: the dynamic
 * models cost a __tls_get_addr call on every draw from a shared library.
 * The 40 bytes come from glibc's surplus static TLS, which exists for
 * exactly this when the library is dlopen()ed. */
#if defined(__GNUC__) && defined(__ELF__)
#define MG_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define MG_TLS_MODEL
#endif

static _Thread_local struct mg_rng mg_rng_tls MG_TLS_MODEL;

/* Incremented in every child right after fork(). It is written only
 * while the child has one thread, but read by every thread: atomic (and
 * lock-free, so the handler is async-signal-safe as fork requires) keeps
 * that free of data races for any tool watching. Wrapping after 2^32
 * forks of one lineage could only matter for a state left undrawn across
 * all of them. */
static atomic_uint mg_rng_generation;
static pthread_once_t mg_rng_once = PTHREAD_ONCE_INIT;
static atomic_bool mg_rng_fork_unsafe;

static void mg_rng_after_fork_child(void)
{
    atomic_fetch_add_explicit(&mg_rng_generation, 1u, memory_order_relaxed);
}

static void mg_rng_register_fork_handler(void)
{
    if (pthread_atfork(NULL, NULL, mg_rng_after_fork_child) != 0)
        atomic_store_explicit(&mg_rng_fork_unsafe, true, memory_order_relaxed);
}

static inline uint64_t mg_rotl(uint64_t x, unsigned k)
{
    return (x << k) | (x >> (64u - k));
}

/* xoshiro256** 1.0 (Blackman and Vigna, 2018): period 2^256 - 1, passes
 * BigCrush and PractRand; about 1 ns per draw. */
MG_NO_SANITIZE_WRAP static inline uint64_t mg_xoshiro256ss(uint64_t s[4])
{
    const uint64_t result = mg_rotl(s[1] * 5u, 7) * 9u;
    const uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = mg_rotl(s[3], 45);
    return result;
}

/* The slow path: seed (or reseed) this thread's state, and return a draw
 * from it, or from arc4random when forks cannot be detected. Out of line
 * so that the fast path stays a few instructions. */
#if defined(__GNUC__)
#define MG_COLD __attribute__((noinline, cold))
#else
#define MG_COLD
#endif
static MG_COLD uint64_t mg_rng_reseed(struct mg_rng *rng)
{
    /* Register before seeding: any fork after this point bumps the
     * generation, so no state seeded below can survive into a child
     * unnoticed. */
    (void)pthread_once(&mg_rng_once, mg_rng_register_fork_handler);
    if (atomic_load_explicit(&mg_rng_fork_unsafe, memory_order_relaxed)) {
        rng->left = 0;
        return mg_random_arc4random(NULL);
    }
    rng->generation =
        atomic_load_explicit(&mg_rng_generation, memory_order_relaxed);
    /* libbsd's arc4random rekeys itself in a child (its getpid check), so
     * a child's seed is independent of its parent's. */
    arc4random_buf(rng->s, sizeof rng->s);
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
        rng->s[0] = 1; /* 2^-256: keep the invariant anyway */
    rng->left = MG_RNG_RESEED_EVERY - 1u;
    return mg_xoshiro256ss(rng->s);
}

uint64_t mg__random_default(void *user_data)
{
    struct mg_rng *rng = &mg_rng_tls;

    (void)user_data;
    if (MG_UNLIKELY(rng->left == 0 ||
                    rng->generation != atomic_load_explicit(
                                           &mg_rng_generation,
                                           memory_order_relaxed)))
        return mg_rng_reseed(rng);
    rng->left--;
    return mg_xoshiro256ss(rng->s);
}
