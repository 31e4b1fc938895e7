/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/random.c: the SplitMix64 reference sequence, the
 * arc4random source, and the default source that `random == NULL` selects
 * (a per-thread xoshiro256** seeded from arc4random): the raw bits it
 * yields are uniform and do not repeat across its periodic reseeds; each
 * thread draws its own sequence; and after fork() the child draws neither
 * its parent's next values nor its sibling's or grandchild's, whether or
 * not the parent had drawn before forking, and can run mg_retry_run().
 * The raw 64 bits come through the public API: full jitter on a nominal
 * delay of UINT64_MAX maps the source's bits to the delay unchanged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mg/retry.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define NFORK 16

/* 64 bits from the default source. */
static uint64_t draw_default(void)
{
    mg_policy p = MG_POLICY_INIT;
    uint64_t d = 0;

    p.base_delay_ms = UINT64_MAX;
    p.max_delay_ms = UINT64_MAX;
    p.jitter = MG_JITTER_FULL;
    assert_int_equal(mg_backoff_delay(&p, 0, 0, NULL, NULL, &d), MG_OK);
    return d;
}

static void draw_many(uint64_t *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        v[i] = draw_default();
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* Whether any value occurs in both arrays. */
static bool any_shared(const uint64_t *a, size_t na, const uint64_t *b,
                       size_t nb)
{
    size_t i, j;

    for (i = 0; i < na; i++)
        for (j = 0; j < nb; j++)
            if (a[i] == b[j])
                return true;
    return false;
}

/* ---- fork plumbing ---- */

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(3);
        p += n;
        len -= (size_t)n;
    }
}

static bool read_all(int fd, void *buf, size_t len)
{
    char *p = buf;

    while (len > 0) {
        ssize_t n = read(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static void reap_ok(pid_t pid)
{
    int status = 0;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Forks; the child draws NFORK values, sends them through a pipe and
 * exits; the parent returns the child's values and pid. */
static pid_t fork_drawing_child(uint64_t child_vals[NFORK])
{
    int fds[2];
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint64_t v[NFORK];

        close(fds[0]);
        draw_many(v, NFORK);
        write_all(fds[1], v, sizeof v);
        _exit(0);
    }
    close(fds[1]);
    assert_true(read_all(fds[0], child_vals, NFORK * sizeof(uint64_t)));
    close(fds[0]);
    return pid;
}

/* ---- cases ---- */

/* Runs first: the process has never drawn, so no fork handler exists yet
 * and neither side has a state; each must still seed its own. */
static void test_random__fork_before_any_draw_gives_distinct_sequences(
    void **state)
{
    uint64_t child[NFORK], parent[NFORK];
    pid_t pid;

    (void)state;
    pid = fork_drawing_child(child);
    draw_many(parent, NFORK);
    reap_ok(pid);
    assert_false(any_shared(child, NFORK, parent, NFORK));
}

/* The fork test: the parent's state is seeded and partly used
 * when it forks, so a child that kept it would replay exactly the
 * parent's next values. */
static void test_random__forked_child_never_replays_parent_values(
    void **state)
{
    uint64_t before[5], child[NFORK], parent[NFORK];
    pid_t pid;

    (void)state;
    draw_many(before, COUNT(before));
    pid = fork_drawing_child(child);
    draw_many(parent, NFORK);
    reap_ok(pid);
    assert_false(any_shared(child, NFORK, parent, NFORK));
    assert_false(any_shared(child, NFORK, before, COUNT(before)));
}

/* Two children of one parent, and a grandchild: four distinct streams. */
static void test_random__siblings_and_grandchildren_draw_distinct_values(
    void **state)
{
    uint64_t a[NFORK], b[NFORK], parent[NFORK];
    uint64_t grand[2][NFORK];
    int fds[2];
    pid_t pa, pb, pg;

    (void)state;
    (void)draw_default();
    pa = fork_drawing_child(a);
    pb = fork_drawing_child(b);

    /* A child that draws, forks a grandchild, draws again, and sends
     * both: its own values after the fork, then the grandchild's. */
    assert_int_equal(pipe(fds), 0);
    pg = fork();
    assert_true(pg >= 0);
    if (pg == 0) {
        uint64_t mine[NFORK], theirs[NFORK];
        int gfds[2];
        pid_t gp;
        int status = 0;

        close(fds[0]);
        (void)draw_default();
        if (pipe(gfds) != 0)
            _exit(4);
        gp = fork();
        if (gp < 0)
            _exit(4);
        if (gp == 0) {
            close(gfds[0]);
            draw_many(theirs, NFORK);
            write_all(gfds[1], theirs, sizeof theirs);
            _exit(0);
        }
        close(gfds[1]);
        draw_many(mine, NFORK);
        if (!read_all(gfds[0], theirs, sizeof theirs) ||
            waitpid(gp, &status, 0) != gp || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            _exit(5);
        write_all(fds[1], mine, sizeof mine);
        write_all(fds[1], theirs, sizeof theirs);
        _exit(0);
    }
    close(fds[1]);
    assert_true(read_all(fds[0], grand, sizeof grand));
    close(fds[0]);
    draw_many(parent, NFORK);
    reap_ok(pa);
    reap_ok(pb);
    reap_ok(pg);

    {
        const uint64_t *streams[] = {a, b, parent, grand[0], grand[1]};
        size_t i, j;

        for (i = 0; i < COUNT(streams); i++)
            for (j = i + 1; j < COUNT(streams); j++)
                assert_false(any_shared(streams[i], NFORK, streams[j], NFORK));
    }
}

/* A forked child can use the executor with the default source, and its
 * delays are not its parent's. */
struct flaky {
    unsigned calls;
    unsigned fail;
};

static int op_flaky(void *user_data, void **error)
{
    struct flaky *f = user_data;

    *error = NULL;
    return f->calls++ < f->fail ? -1 : 0;
}

static uint64_t vclock(void *user_data)
{
    return *(const uint64_t *)user_data;
}

static void vsleep(uint64_t wake_ns, const mg_cancel *cancel, void *user_data)
{
    (void)cancel;
    *(uint64_t *)user_data = wake_ns;
}

static void record_delay(uint32_t retry, uint64_t delay_ms, const void *error,
                         void *user_data)
{
    (void)error;
    if (retry >= 1 && retry <= 4)
        ((uint64_t *)user_data)[retry - 1] = delay_ms;
}

/* Four retries under full jitter over [0, 2^40] ms; fills delays[4].
 * Returns the stop reason, or -100 when the run did not behave. */
static int run_four_retries(uint64_t delays[4])
{
    mg_policy p = MG_POLICY_INIT;
    mg_retry_options o = MG_RETRY_OPTIONS_INIT;
    mg_retry_result r = MG_RETRY_RESULT_INIT;
    struct flaky f = {0, 4};
    uint64_t now = 0;
    int stop;

    p.max_retries = 4;
    p.base_delay_ms = UINT64_C(1) << 40;
    p.max_delay_ms = UINT64_C(1) << 40;
    p.jitter = MG_JITTER_FULL;
    o.clock = vclock;
    o.clock_data = &now;
    o.sleep = vsleep;
    o.sleep_data = &now;
    o.on_retry = record_delay;
    o.on_retry_data = delays;
    stop = mg_retry_run(&p, op_flaky, &f, &o, &r);
    if (r.attempts != 5 || f.calls != 5)
        return -100;
    return stop;
}

static void test_random__forked_child_runs_the_executor_with_own_jitter(
    void **state)
{
    uint64_t child[4] = {0}, parent[4] = {0};
    int fds[2];
    pid_t pid;

    (void)state;
    (void)draw_default();
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint64_t d[4] = {0};

        close(fds[0]);
        if (run_four_retries(d) != MG_STOP_SUCCESS)
            _exit(6);
        write_all(fds[1], d, sizeof d);
        _exit(0);
    }
    close(fds[1]);
    assert_true(read_all(fds[0], child, sizeof child));
    close(fds[0]);
    reap_ok(pid);
    assert_int_equal(run_four_retries(parent), MG_STOP_SUCCESS);
    /* 2^41 possible delays each: equal values would mean shared state. */
    assert_false(any_shared(child, 4, parent, 4));
}

/* An injected source overrides the default one completely, also in a
 * forked child: the same seed gives the same delays on both sides. */
static void test_random__injected_source_wins_also_after_fork(void **state)
{
    mg_policy p = MG_POLICY_INIT;
    uint64_t mine[8], theirs[8];
    int fds[2];
    pid_t pid;
    size_t i;

    (void)state;
    p.base_delay_ms = UINT64_MAX;
    p.max_delay_ms = UINT64_MAX;
    p.jitter = MG_JITTER_FULL;
    (void)draw_default();
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint64_t seed = 42, v[8];

        close(fds[0]);
        for (i = 0; i < 8; i++)
            if (mg_backoff_delay(&p, 0, 0, mg_random_splitmix64, &seed,
                                 &v[i]) != MG_OK)
                _exit(7);
        write_all(fds[1], v, sizeof v);
        _exit(0);
    }
    close(fds[1]);
    assert_true(read_all(fds[0], theirs, sizeof theirs));
    close(fds[0]);
    reap_ok(pid);
    {
        uint64_t seed = 42, ref = 42;

        for (i = 0; i < 8; i++) {
            assert_int_equal(mg_backoff_delay(&p, 0, 0, mg_random_splitmix64,
                                              &seed, &mine[i]),
                             MG_OK);
            /* Full jitter over [0, UINT64_MAX] is the source's bits. */
            assert_int_equal(mine[i], mg_random_splitmix64(&ref));
            assert_int_equal(mine[i], theirs[i]);
        }
    }
}

/* Over several reseed periods (2^16 draws each) every bit is set about
 * half the time, the top byte is uniform, and no value repeats. */
static void test_random__default_bits_are_uniform_and_never_repeat(
    void **state)
{
    enum { N = 4 * 65536 + 1000 };
    uint64_t *v = malloc(N * sizeof(uint64_t));
    unsigned ones[64] = {0}, bucket[256] = {0};
    double chi2 = 0, expected = (double)N / 256;
    size_t i;
    unsigned b;

    (void)state;
    assert_non_null(v);
    draw_many(v, N);
    for (i = 0; i < N; i++) {
        for (b = 0; b < 64; b++)
            ones[b] += (unsigned)((v[i] >> b) & 1u);
        bucket[v[i] >> 56]++;
    }
    /* sd of a bit's frequency: sqrt(0.25 / N) ~ 0.001; allow 0.01. */
    for (b = 0; b < 64; b++) {
        double f = (double)ones[b] / N;

        assert_true(f > 0.49 && f < 0.51);
    }
    /* chi-square with 255 degrees of freedom: mean 255, sd 22.6. */
    for (b = 0; b < 256; b++) {
        double dev = bucket[b] - expected;

        chi2 += dev * dev / expected;
    }
    assert_true(chi2 < 400.0);
    qsort(v, N, sizeof(uint64_t), cmp_u64);
    for (i = 1; i < N; i++)
        assert_true(v[i] != v[i - 1]);
    free(v);
}

/* Each thread has its own state, seeded on its own first draw. */
struct thread_draws {
    uint64_t v[NFORK];
};

static void *thread_draw(void *arg)
{
    struct thread_draws *t = arg;
    size_t i;

    for (i = 0; i < NFORK; i++)
        t->v[i] = draw_default();
    return NULL;
}

static void test_random__each_thread_draws_its_own_sequence(void **state)
{
    struct thread_draws t[4];
    pthread_t th[4];
    size_t i, j;

    (void)state;
    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, thread_draw, &t[i]), 0);
    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (i = 0; i < 4; i++)
        for (j = i + 1; j < 4; j++)
            assert_false(any_shared(t[i].v, NFORK, t[j].v, NFORK));
}

/* The default source serves every jitter mode within the mode's bounds. */
static void test_random__default_source_keeps_every_mode_in_bounds(
    void **state)
{
    static const uint32_t modes[] = {MG_JITTER_PROPORTIONAL, MG_JITTER_FULL,
                                     MG_JITTER_EQUAL, MG_JITTER_DECORRELATED};
    static const uint32_t ks[] = {0, 1, 5, 63, 64, 1024, UINT32_MAX};
    size_t m, k;
    int i;

    (void)state;
    for (m = 0; m < COUNT(modes); m++) {
        mg_policy p = MG_POLICY_INIT;
        bool varied = false;

        p.jitter = modes[m];
        for (k = 0; k < COUNT(ks); k++) {
            uint64_t prev = 0, first = 0;

            for (i = 0; i < 200; i++) {
                uint64_t d = 0;

                assert_int_equal(
                    mg_backoff_delay(&p, ks[k], prev, NULL, NULL, &d), MG_OK);
                assert_true(d <= p.max_delay_ms);
                if (modes[m] == MG_JITTER_PROPORTIONAL)
                    assert_true(d >= p.max_delay_ms / 10 * 7 || ks[k] < 6);
                if (modes[m] == MG_JITTER_DECORRELATED)
                    assert_true(d >= p.base_delay_ms);
                if (i == 0)
                    first = d;
                varied = varied || d != first;
                prev = d;
            }
        }
        assert_true(varied);
    }
}

static void test_random__splitmix64_follows_the_reference(void **state)
{
    /* Vigna's splitmix64.c from state 0, and from 0 after wrapping. */
    uint64_t s = 0;

    (void)state;
    assert_int_equal(mg_random_splitmix64(&s), UINT64_C(0xe220a8397b1dcdaf));
    assert_int_equal(s, UINT64_C(0x9e3779b97f4a7c15));
    assert_int_equal(mg_random_splitmix64(NULL), 0);
}

static void test_random__arc4random_ignores_user_data_and_varies(void **state)
{
    uint64_t v[8];
    int ignored = 0;
    size_t i;

    (void)state;
    for (i = 0; i < COUNT(v); i++)
        v[i] = mg_random_arc4random(i % 2 ? &ignored : NULL);
    qsort(v, COUNT(v), sizeof(uint64_t), cmp_u64);
    for (i = 1; i < COUNT(v); i++)
        assert_true(v[i] != v[i - 1]);
    assert_int_equal(ignored, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* first: it needs a process that has never drawn */
        cmocka_unit_test(
            test_random__fork_before_any_draw_gives_distinct_sequences),
        cmocka_unit_test(test_random__forked_child_never_replays_parent_values),
        cmocka_unit_test(
            test_random__siblings_and_grandchildren_draw_distinct_values),
        cmocka_unit_test(
            test_random__forked_child_runs_the_executor_with_own_jitter),
        cmocka_unit_test(test_random__injected_source_wins_also_after_fork),
        cmocka_unit_test(
            test_random__default_bits_are_uniform_and_never_repeat),
        cmocka_unit_test(test_random__each_thread_draws_its_own_sequence),
        cmocka_unit_test(
            test_random__default_source_keeps_every_mode_in_bounds),
        cmocka_unit_test(test_random__splitmix64_follows_the_reference),
        cmocka_unit_test(test_random__arc4random_ignores_user_data_and_varies),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
