/* SPDX-License-Identifier: MIT */
/*
 * mg_sim: a discrete-event simulator, in virtual time, of what each jitter
 * mode does to a server, driving the library's own mg_backoff_delay() (with
 * a seeded mg_random_splitmix64 source, so every run is reproducible). Two
 * scenarios:
 *
 * contention  Marc Brooker's optimistic-concurrency model ("Exponential
 *             Backoff And Jitter", AWS Architecture Blog, 2015): N clients
 *             (10..200) start together, each reads one row's version and
 *             writes it back conditionally; a write whose version is stale
 *             fails and the client backs off (base 5 ms, cap 2 s, no retry
 *             limit) and starts over. Every network hop takes |N(10, 2)| ms.
 *             Reported per mode: writes ("calls") and the time until the
 *             last client is done, medians over many seeds.
 * outage      1000 clients make their first call at uniform times within
 *             the first second; every call fails until T seconds (1, 5,
 *             30), after which the server accepts C = 200 calls per second
 *             (a token bucket of 200/s holding at most 20) and rejects the
 *             rest, which are retried (default preset delays: base 100 ms,
 *             cap 5 s; no retry limit). Reported per mode: the peak call
 *             rate at the server in the worst 100 ms and 1 s windows after
 *             recovery, the time from recovery until the last client
 *             succeeds, and the total calls, medians over seeds. Each
 *             mode runs without a retry budget and with one budget shared
 *             by all 1000 clients: a gRPC-style token bucket (max_tokens
 *             10, token_ratio 0.1) or a ratio budget (20 %, 10 retries/s,
 *             10 s window, on the simulation's virtual clock). A client
 *             whose retry the budget refuses gives up (a failed client;
 *             their number is reported too).
 *
 * usage: mg_sim [--quick] [--seeds N] OUTDIR
 * Creates OUTDIR if needed and writes contention.csv, outage.csv (one row
 * per outage, mode and budget) and outage_rate_T<T>.csv (calls per 100 ms
 * bin over time, one seed, no budget) into OUTDIR and prints the tables as
 * Markdown. --quick runs few seeds and small N (the CTest smoke run).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mg/retry.h>

#define US_PER_MS INT64_C(1000)
#define US_PER_S INT64_C(1000000)
#define NMODES 5

static const uint32_t modes[NMODES] = {
    MG_JITTER_NONE, MG_JITTER_PROPORTIONAL, MG_JITTER_FULL, MG_JITTER_EQUAL,
    MG_JITTER_DECORRELATED};
static const char *const mode_names[NMODES] = {"none", "proportional", "full",
                                               "equal", "decorrelated"};

/* ------------------------------------------------------------------------
 * Randomness of the world (network delays, start times): SplitMix64 too,
 * but a state separate from the one the library draws jitter from.
 * ---------------------------------------------------------------------- */

static double uniform01(uint64_t *state)
{
    return (double)(mg_random_splitmix64(state) >> 11) * 0x1p-53;
}

/* |N(mean, sd)| by Box-Muller, as Brooker's simulator models a hop. */
static double abs_normal(uint64_t *state, double mean, double sd)
{
    double u1 = uniform01(state), u2 = uniform01(state);

    if (u1 < 1e-300)
        u1 = 1e-300;
    return fabs(mean + sd * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static int64_t hop_us(uint64_t *state)
{
    return (int64_t)(abs_normal(state, 10.0, 2.0) * 1000.0 + 0.5);
}

/* ------------------------------------------------------------------------
 * The event queue: a binary min-heap on (time, sequence), so that events
 * at the same time run in the order they were scheduled.
 * ---------------------------------------------------------------------- */

struct event {
    int64_t t_us;
    uint64_t seq;
    uint32_t client;
    uint32_t kind;
};

struct heap {
    struct event *ev;
    size_t n, cap;
    uint64_t next_seq;
};

static void *xmalloc(size_t size)
{
    void *p = malloc(size);

    if (p == NULL) {
        fprintf(stderr, "mg_sim: out of memory\n");
        exit(1);
    }
    return p;
}

static bool ev_before(const struct event *a, const struct event *b)
{
    return a->t_us < b->t_us || (a->t_us == b->t_us && a->seq < b->seq);
}

static void heap_push(struct heap *h, int64_t t_us, uint32_t client,
                      uint32_t kind)
{
    struct event e = {t_us, h->next_seq++, client, kind};
    size_t i;

    if (h->n == h->cap) {
        struct event *bigger;

        h->cap = h->cap ? h->cap * 2 : 256;
        bigger = realloc(h->ev, h->cap * sizeof(*h->ev));
        if (bigger == NULL) {
            fprintf(stderr, "mg_sim: out of memory\n");
            exit(1);
        }
        h->ev = bigger;
    }
    i = h->n++;
    while (i > 0 && ev_before(&e, &h->ev[(i - 1) / 2])) {
        h->ev[i] = h->ev[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->ev[i] = e;
}

static struct event heap_pop(struct heap *h)
{
    struct event top = h->ev[0], last = h->ev[--h->n];
    size_t i = 0;

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= h->n)
            break;
        if (c + 1 < h->n && ev_before(&h->ev[c + 1], &h->ev[c]))
            c++;
        if (!ev_before(&h->ev[c], &last))
            break;
        h->ev[i] = h->ev[c];
        i = c;
    }
    if (h->n > 0)
        h->ev[i] = last;
    return top;
}

/* ------------------------------------------------------------------------
 * A client's backoff: the library decides every delay.
 * ---------------------------------------------------------------------- */

struct backoff {
    uint32_t retry;         /* retries made so far */
    uint64_t prev_delay_ms; /* for DECORRELATED */
};

static int64_t next_delay_us(const mg_policy *p, struct backoff *b,
                             uint64_t *jitter_state)
{
    uint64_t d = 0;

    if (mg_backoff_delay(p, b->retry, b->prev_delay_ms, mg_random_splitmix64,
                         jitter_state, &d) != MG_OK) {
        fprintf(stderr, "mg_sim: mg_backoff_delay failed\n");
        exit(1);
    }
    if (b->retry < UINT32_MAX)
        b->retry++;
    b->prev_delay_ms = d;
    return (int64_t)d * US_PER_MS;
}

static mg_policy make_policy(uint64_t base_ms, uint64_t cap_ms,
                             uint32_t jitter)
{
    mg_policy p = MG_POLICY_INIT;

    p.max_retries = UINT32_MAX;
    p.base_delay_ms = base_ms;
    p.max_delay_ms = cap_ms;
    p.jitter = jitter;
    return p;
}

/* The multiplication wraps on purpose (a hash of the seed): exempt from
 * clang's unsigned-integer-overflow sanitizer, which CI may run. */
#if defined(__clang__)
__attribute__((no_sanitize("unsigned-integer-overflow")))
#endif
static uint64_t seed_of(uint64_t seed, uint64_t salt)
{
    uint64_t s = seed * UINT64_C(0x9e3779b97f4a7c15) ^ salt;

    return mg_random_splitmix64(&s);
}

/* ------------------------------------------------------------------------
 * Scenario 1: contention on one row (optimistic concurrency)
 * ---------------------------------------------------------------------- */

enum { C_READ_AT_SERVER, C_READ_REPLY, C_WRITE_AT_SERVER, C_WRITE_REPLY };

struct occ_result {
    uint64_t calls;   /* conditional writes */
    int64_t done_us;  /* when the last client learned of its success */
};

static struct occ_result run_contention(uint32_t nclients, uint32_t jitter,
                                        uint64_t seed)
{
    const mg_policy policy = make_policy(5, 2000, jitter);
    uint64_t net = seed_of(seed, 1), jit = seed_of(seed, 2);
    struct heap h = {0};
    struct backoff *b = xmalloc(nclients * sizeof(*b));
    uint64_t *seen = xmalloc(nclients * sizeof(*seen));
    struct occ_result r = {0, 0};
    uint64_t version = 0;
    uint32_t i;

    for (i = 0; i < nclients; i++) {
        b[i].retry = 0;
        b[i].prev_delay_ms = 0;
        heap_push(&h, hop_us(&net), i, C_READ_AT_SERVER);
    }
    while (h.n > 0) {
        struct event e = heap_pop(&h);

        switch (e.kind) {
        case C_READ_AT_SERVER:
            seen[e.client] = version;
            heap_push(&h, e.t_us + hop_us(&net), e.client, C_READ_REPLY);
            break;
        case C_READ_REPLY:
            heap_push(&h, e.t_us + hop_us(&net), e.client, C_WRITE_AT_SERVER);
            break;
        case C_WRITE_AT_SERVER:
            r.calls++;
            if (seen[e.client] == version) {
                version++;
                seen[e.client] = UINT64_MAX; /* marks success */
            }
            heap_push(&h, e.t_us + hop_us(&net), e.client, C_WRITE_REPLY);
            break;
        case C_WRITE_REPLY:
            if (seen[e.client] == UINT64_MAX) {
                if (e.t_us > r.done_us)
                    r.done_us = e.t_us;
            } else {
                int64_t d = next_delay_us(&policy, &b[e.client], &jit);

                heap_push(&h, e.t_us + d + hop_us(&net), e.client,
                          C_READ_AT_SERVER);
            }
            break;
        }
    }
    free(h.ev);
    free(b);
    free(seen);
    return r;
}

/* ------------------------------------------------------------------------
 * Scenario 2: an outage, then a server with a fixed capacity
 * ---------------------------------------------------------------------- */

enum { O_AT_SERVER, O_REPLY_FAIL, O_REPLY_OK };

enum { B_NONE, B_TOKEN_BUCKET, B_RATIO, NBUDGETS };
static const char *const budget_names[NBUDGETS] = {"none", "token_bucket",
                                                   "ratio"};

/* The virtual clock a ratio budget reads: the time of the event being
 * processed, in nanoseconds. */
struct sim_clock {
    int64_t now_us;
};

static uint64_t sim_clock_read(void *data)
{
    const struct sim_clock *c = data;

    return (uint64_t)c->now_us * UINT64_C(1000);
}

/* One budget for all clients of a run; NULL for B_NONE. */
static mg_budget *make_budget(uint32_t kind, struct sim_clock *clock)
{
    mg_budget *budget = NULL;
    int rc = MG_OK;

    if (kind == B_TOKEN_BUCKET) {
        rc = mg_budget_new_token_bucket(&budget, 10, 0.1);
    } else if (kind == B_RATIO) {
        mg_budget_ratio_config cfg = MG_BUDGET_RATIO_CONFIG_INIT;

        cfg.ratio_percent = 20;
        cfg.min_retries_per_sec = 10;
        cfg.window_ms = 10000;
        cfg.clock = sim_clock_read;
        cfg.clock_data = clock;
        rc = mg_budget_new_ratio(&budget, &cfg);
    }
    if (rc != MG_OK) {
        fprintf(stderr, "mg_sim: cannot create a budget\n");
        exit(1);
    }
    return budget;
}

#define OUTAGE_CLIENTS 1000
#define CAPACITY_PER_S 200
#define BUCKET_MAX 20 /* 100 ms worth of capacity */

struct outage_result {
    double peak_100ms; /* calls per second in the worst 100 ms window */
    double peak_1s;    /* calls in the worst 1 s window */
    double last_ok_s;  /* from recovery until the last success */
    uint64_t calls;
    uint64_t gave_up;  /* clients whose retry the budget refused */
};

/* The most arrivals in any window [t, t + w) of the sorted times. */
static size_t max_in_window(const int64_t *t, size_t n, int64_t w)
{
    size_t lo = 0, hi, best = 0;

    for (hi = 0; hi < n; hi++) {
        while (t[hi] - t[lo] >= w)
            lo++;
        if (hi - lo + 1 > best)
            best = hi - lo + 1;
    }
    return best;
}

/* bins (may be NULL): calls per 100 ms bin, nbins of them from t = 0. */
static struct outage_result run_outage(int64_t outage_us, uint32_t jitter,
                                       uint32_t budget_kind, uint64_t seed,
                                       uint32_t *bins, size_t nbins)
{
    struct sim_clock clock = {0};
    mg_budget *budget = make_budget(budget_kind, &clock);
    const mg_policy policy = make_policy(100, 5000, jitter);
    uint64_t net = seed_of(seed, 3), jit = seed_of(seed, 4);
    struct heap h = {0};
    struct backoff *b = xmalloc(OUTAGE_CLIENTS * sizeof(*b));
    size_t ncap = 1 << 16, narr = 0;
    int64_t *arrivals = xmalloc(ncap * sizeof(*arrivals));
    struct outage_result r = {0, 0, 0, 0, 0};
    /* Token bucket in micro-tokens: CAPACITY_PER_S tokens per second. */
    int64_t tokens = BUCKET_MAX * US_PER_S, last_refill = outage_us;
    int64_t last_ok = outage_us;
    uint32_t i;

    for (i = 0; i < OUTAGE_CLIENTS; i++) {
        int64_t start = (int64_t)(uniform01(&net) * (double)US_PER_S);

        b[i].retry = 0;
        b[i].prev_delay_ms = 0;
        heap_push(&h, start + hop_us(&net), i, O_AT_SERVER);
    }
    while (h.n > 0) {
        struct event e = heap_pop(&h);

        clock.now_us = e.t_us;
        switch (e.kind) {
        case O_AT_SERVER: {
            bool ok = false;

            /* A first attempt is a new request (counted when it reaches
             * the server, one hop after it is sent). */
            if (b[e.client].retry == 0)
                mg_budget_on_request(budget);
            r.calls++;
            if (bins != NULL && e.t_us / (100 * US_PER_MS) < (int64_t)nbins)
                bins[e.t_us / (100 * US_PER_MS)]++;
            if (e.t_us >= outage_us) {
                if (narr == ncap) {
                    int64_t *bigger;

                    ncap *= 2;
                    bigger = realloc(arrivals, ncap * sizeof(*arrivals));
                    if (bigger == NULL) {
                        fprintf(stderr, "mg_sim: out of memory\n");
                        exit(1);
                    }
                    arrivals = bigger;
                }
                arrivals[narr++] = e.t_us;
                tokens += (e.t_us - last_refill) * CAPACITY_PER_S;
                if (tokens > BUCKET_MAX * US_PER_S)
                    tokens = BUCKET_MAX * US_PER_S;
                last_refill = e.t_us;
                if (tokens >= US_PER_S) {
                    tokens -= US_PER_S;
                    ok = true;
                }
            }
            heap_push(&h, e.t_us + hop_us(&net), e.client,
                      ok ? O_REPLY_OK : O_REPLY_FAIL);
            break;
        }
        case O_REPLY_OK:
            mg_budget_on_success(budget);
            if (e.t_us > last_ok)
                last_ok = e.t_us;
            break;
        case O_REPLY_FAIL: {
            int64_t d;

            mg_budget_on_failure(budget);
            if (!mg_budget_try_retry(budget)) {
                r.gave_up++;
                break;
            }
            d = next_delay_us(&policy, &b[e.client], &jit);

            heap_push(&h, e.t_us + d + hop_us(&net), e.client, O_AT_SERVER);
            break;
        }
        }
    }
    r.peak_100ms = (double)max_in_window(arrivals, narr, 100 * US_PER_MS) * 10;
    r.peak_1s = (double)max_in_window(arrivals, narr, US_PER_S);
    r.last_ok_s = (double)(last_ok - outage_us) / (double)US_PER_S;
    mg_budget_free(budget);
    free(h.ev);
    free(b);
    free(arrivals);
    return r;
}

/* ------------------------------------------------------------------------
 * Driver
 * ---------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static FILE *open_out(const char *dir, const char *name)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "mg_sim: cannot write %s: %s\n", path,
                strerror(errno));
        exit(1);
    }
    return f;
}

static void close_out(FILE *f)
{
    if (fclose(f) != 0) {
        fprintf(stderr, "mg_sim: write error: %s\n", strerror(errno));
        exit(1);
    }
}

static void contention(const char *dir, const uint32_t *ns, size_t nn,
                       unsigned seeds)
{
    FILE *csv = open_out(dir, "contention.csv");
    double *calls = xmalloc(seeds * sizeof(double));
    double *times = xmalloc(seeds * sizeof(double));
    double med[2][NMODES];
    size_t i, m;

    fprintf(csv, "clients,mode,calls_median,completion_ms_median\n");
    printf("### Contention: %u seeds per cell, medians\n\n", seeds);
    printf("| clients | mode | calls | completion (ms) |\n");
    printf("| ---: | --- | ---: | ---: |\n");
    for (i = 0; i < nn; i++) {
        for (m = 0; m < NMODES; m++) {
            unsigned s;

            for (s = 0; s < seeds; s++) {
                struct occ_result r = run_contention(ns[i], modes[m], s);

                calls[s] = (double)r.calls;
                times[s] = (double)r.done_us / (double)US_PER_MS;
            }
            med[0][m] = median(calls, seeds);
            med[1][m] = median(times, seeds);
            fprintf(csv, "%" PRIu32 ",%s,%.1f,%.1f\n", ns[i], mode_names[m],
                    med[0][m], med[1][m]);
            printf("| %" PRIu32 " | %s | %.0f | %.0f |\n", ns[i],
                   mode_names[m], med[0][m], med[1][m]);
        }
    }
    printf("\n");
    free(calls);
    free(times);
    close_out(csv);
}

static void outage(const char *dir, const int64_t *ts, size_t nt,
                   unsigned seeds)
{
    FILE *csv = open_out(dir, "outage.csv");
    double *v[5];
    size_t i, m, k, bk;

    for (k = 0; k < 5; k++)
        v[k] = xmalloc(seeds * sizeof(double));
    fprintf(csv, "outage_s,mode,peak_rate_100ms_per_s,peak_calls_1s,"
                 "last_success_after_recovery_s,total_calls,budget,"
                 "gave_up_clients\n");
    printf("### Outage: 1000 clients, capacity 200/s after recovery, "
           "%u seeds per row, medians\n\n", seeds);
    printf("Budget (one shared by all clients): none; token_bucket = gRPC "
           "throttling, max_tokens 10, token_ratio 0.1; ratio = 20 %% of "
           "requests + 10 retries/s, 10 s window. A refused retry makes "
           "the client give up.\n\n");
    printf("| outage | mode | budget | peak rate, worst 100 ms (calls/s) | "
           "peak calls, worst 1 s | last success after recovery (s) | "
           "total calls | clients that gave up |\n");
    printf("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
    for (i = 0; i < nt; i++) {
        /* One seed's calls per 100 ms for the plots: until recovery plus
         * 60 s. */
        size_t nbins = (size_t)((ts[i] + 60 * US_PER_S) / (100 * US_PER_MS));
        uint32_t *bins = xmalloc(NMODES * nbins * sizeof(uint32_t));
        char name[64];
        FILE *rate;
        size_t bin;

        memset(bins, 0, NMODES * nbins * sizeof(uint32_t));
        for (m = 0; m < NMODES; m++) {
            for (bk = 0; bk < NBUDGETS; bk++) {
                unsigned s;

                for (s = 0; s < seeds; s++) {
                    /* The rate plots show the runs without a budget. */
                    struct outage_result r = run_outage(
                        ts[i], modes[m], (uint32_t)bk, s,
                        s == 0 && bk == B_NONE ? bins + m * nbins : NULL,
                        nbins);

                    v[0][s] = r.peak_100ms;
                    v[1][s] = r.peak_1s;
                    v[2][s] = r.last_ok_s;
                    v[3][s] = (double)r.calls;
                    v[4][s] = (double)r.gave_up;
                }
                for (k = 0; k < 5; k++) {
                    double x = median(v[k], seeds);

                    v[k][0] = x;
                }
                /* When every client gave up there is no last success: the
                 * CSV leaves the field empty, the table shows a dash. */
                if (v[4][0] >= OUTAGE_CLIENTS) {
                    fprintf(csv, "%" PRId64 ",%s,%.0f,%.0f,,%.0f,%s,%.0f\n",
                            ts[i] / US_PER_S, mode_names[m], v[0][0],
                            v[1][0], v[3][0], budget_names[bk], v[4][0]);
                    printf("| %" PRId64 " s | %s | %s | %.0f | %.0f | - | "
                           "%.0f | %.0f |\n",
                           ts[i] / US_PER_S, mode_names[m], budget_names[bk],
                           v[0][0], v[1][0], v[3][0], v[4][0]);
                    continue;
                }
                fprintf(csv, "%" PRId64 ",%s,%.0f,%.0f,%.2f,%.0f,%s,%.0f\n",
                        ts[i] / US_PER_S, mode_names[m], v[0][0], v[1][0],
                        v[2][0], v[3][0], budget_names[bk], v[4][0]);
                printf("| %" PRId64 " s | %s | %s | %.0f | %.0f | %.1f | "
                       "%.0f | %.0f |\n",
                       ts[i] / US_PER_S, mode_names[m], budget_names[bk],
                       v[0][0], v[1][0], v[2][0], v[3][0], v[4][0]);
            }
        }
        snprintf(name, sizeof name, "outage_rate_T%" PRId64 ".csv",
                 ts[i] / US_PER_S);
        rate = open_out(dir, name);
        fprintf(rate, "t_s");
        for (m = 0; m < NMODES; m++)
            fprintf(rate, ",%s", mode_names[m]);
        fprintf(rate, "\n");
        for (bin = 0; bin < nbins; bin++) {
            fprintf(rate, "%.1f", (double)bin / 10.0);
            for (m = 0; m < NMODES; m++)
                fprintf(rate, ",%" PRIu32, bins[m * nbins + bin] * 10u);
            fprintf(rate, "\n");
        }
        close_out(rate);
        free(bins);
    }
    printf("\n");
    for (k = 0; k < 5; k++)
        free(v[k]);
    close_out(csv);
}

static void usage(void)
{
    fprintf(stderr, "usage: mg_sim [--quick] [--seeds N] OUTDIR\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const uint32_t full_ns[] = {10, 20, 50, 100, 150, 200};
    static const uint32_t quick_ns[] = {10, 50};
    static const int64_t full_ts[] = {1 * US_PER_S, 5 * US_PER_S,
                                      30 * US_PER_S};
    static const int64_t quick_ts[] = {1 * US_PER_S};
    const char *dir = NULL;
    bool quick = false;
    unsigned seeds = 0;
    struct timespec t0, t1;
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
            char *end;
            unsigned long n = strtoul(argv[++i], &end, 10);

            if (*end != '\0' || n == 0 || n > 100000)
                usage();
            seeds = (unsigned)n;
        } else if (argv[i][0] == '-' || dir != NULL) {
            usage();
        } else {
            dir = argv[i];
        }
    }
    if (dir == NULL)
        usage();
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "mg_sim: cannot create %s: %s\n", dir,
                strerror(errno));
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (quick) {
        contention(dir, quick_ns, 2, seeds ? seeds : 3);
        outage(dir, quick_ts, 1, seeds ? seeds : 3);
    } else {
        contention(dir, full_ns, sizeof full_ns / sizeof full_ns[0],
                   seeds ? seeds : 101);
        outage(dir, full_ts, sizeof full_ts / sizeof full_ts[0],
               seeds ? seeds : 101);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("simulated in %.1f s\n", (double)(t1.tv_sec - t0.tv_sec) +
                                        (double)(t1.tv_nsec - t0.tv_nsec) /
                                            1e9);
    return 0;
}
