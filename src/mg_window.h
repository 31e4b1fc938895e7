/* SPDX-License-Identifier: MIT */
/*
 * The lock-free sliding-window counter that the ratio budget and the
 * breaker's failure-rate trigger share: a ring of MG__WINDOW_BUCKETS time
 * buckets, each one 64-bit atomic word holding the low 32 bits of its
 * bucket number ("epoch" = clock / bucket length) in the high half and its
 * count in the low half. Because tag and count live in one word, moving a
 * stale bucket to the current epoch and counting into it is a single
 * compare-and-swap, so no increment is ever lost to a concurrent rotation.
 * Invariant: epoch e lives in slot e % BUCKETS, and a word counts towards
 * the window ending at epoch e only when its tag is one of
 * e - BUCKETS + 1 .. e (mod 2^32) and that epoch belongs to its slot.
 * A bucket left untouched for a multiple of lcm(2^32, BUCKETS) = 5 * 2^32
 * epochs would look live again; with buckets of at least 10 ms that is
 * 6.8 years of silence ending in the exact bucket, which we accept.
 * Counts saturate at UINT32_MAX.
 */
#ifndef MG_WINDOW_H
#define MG_WINDOW_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define MG__WINDOW_BUCKETS 10u

typedef struct mg__window {
    _Atomic uint64_t slot[MG__WINDOW_BUCKETS];
} mg__window;

static inline uint32_t mg__window_tag(uint64_t word)
{
    return (uint32_t)(word >> 32);
}

static inline uint32_t mg__window_count(uint64_t word)
{
    return (uint32_t)word;
}

/* Every slot 0: count 0, whatever its tag means. */
static inline void mg__window_clear(mg__window *w)
{
    for (size_t i = 0; i < MG__WINDOW_BUCKETS; i++)
        atomic_store_explicit(&w->slot[i], 0, memory_order_relaxed);
}

static inline size_t mg__window_index(uint64_t epoch)
{
    return (size_t)(epoch % MG__WINDOW_BUCKETS);
}

/* a - b modulo 2^32, computed without an unsigned wrap (CI runs clang's
 * unsigned-integer-overflow check on the library). */
static inline uint32_t mg__window_diff(uint32_t a, uint32_t b)
{
    return a >= b ? a - b : (uint32_t)((UINT64_C(1) << 32) + a - b);
}

/* The count of `word`, stored in slot `idx`, if it is live in the window
 * ending at `epoch`, else 0. A tag ahead of the epoch (another thread read
 * a later clock) is not live; nor is a tag from a wrapped-around epoch
 * that does not belong to this slot. */
static inline uint64_t mg__window_live(uint64_t word, uint64_t epoch,
                                       size_t idx)
{
    uint32_t age = mg__window_diff((uint32_t)epoch, mg__window_tag(word));
    if (age >= MG__WINDOW_BUCKETS || age > epoch ||
        mg__window_index(epoch - age) != idx)
        return 0;
    return mg__window_count(word);
}

/* The word after one more event at epoch tag `now`: a stale word restarts
 * at 1 under the new tag; a current one gains one, saturating, and so does
 * one that a later clock reading has already moved ahead (by less than
 * 2^20 buckets: a caller delayed between its clock reading and its update
 * must not wipe the newer bucket). */
static inline uint64_t mg__window_bumped(uint64_t word, uint32_t now)
{
    uint32_t ahead = mg__window_diff(mg__window_tag(word), now);
    uint32_t count = mg__window_count(word);
    /* Same slot, so a genuine later epoch is a multiple of BUCKETS on; an
     * empty word (never used, or cleared) has no epoch to keep. */
    if (count != 0 && ahead < UINT32_C(1) << 20 &&
        ahead % MG__WINDOW_BUCKETS == 0)
        return count == UINT32_MAX ? word : word + 1;
    return ((uint64_t)now << 32) | 1u;
}

/* Count one event at `epoch`. */
static inline void mg__window_add(mg__window *w, uint64_t epoch)
{
    _Atomic uint64_t *slot = &w->slot[mg__window_index(epoch)];
    uint32_t now = (uint32_t)epoch;
    uint64_t old = atomic_load_explicit(slot, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(
        slot, &old, mg__window_bumped(old, now), memory_order_relaxed,
        memory_order_relaxed)) {
    }
}

/* The events of the window ending at `epoch`, leaving out slot `skip`
 * (pass MG__WINDOW_BUCKETS to leave out none). */
static inline uint64_t mg__window_sum(const mg__window *w, uint64_t epoch,
                                      size_t skip)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < MG__WINDOW_BUCKETS; i++)
        if (i != skip)
            sum += mg__window_live(
                atomic_load_explicit(&w->slot[i], memory_order_relaxed), epoch,
                i);
    return sum; /* at most 10 * UINT32_MAX: no overflow */
}

#endif /* MG_WINDOW_H */
