// SPDX-License-Identifier: MIT
//
// mg_bench: the benchmark suite of issue 4, on Google Benchmark. It times
// each figure of the target table next to the baseline that the
// table names, in the same run (the same binary, interleaved repetitions),
// then prints one summary line per figure: the median of the repetitions
// (CPU time per call, wall time for the sleeps), the baseline's median,
// their ratio or difference, the target and whether it is met. The library is called only through its public API; the
// binary mg_bench links the shared library, mg_bench_static the static one.
// Defaults (overridable on the command line, later flags win): 15
// repetitions of at least 0.1 s each, interleaved in random order so that
// both sides of a ratio see the same machine noise, aggregates only; about
// a minute in all.
#include <benchmark/benchmark.h>

#include <time.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <mg/retry.h>

namespace {

// ---- the operations and injected time ----

int op_ok(void *, void **) { return 0; }

// Fails `fail` times, then succeeds once, then starts over.
struct flaky {
    uint32_t calls;
    uint32_t fail;
};

int op_flaky(void *user_data, void **error)
{
    flaky *f = static_cast<flaky *>(user_data);

    if (f->calls < f->fail) {
        f->calls++;
        *error = nullptr;
        return 1;
    }
    f->calls = 0;
    return 0;
}

// Volatile pointers: the compiler must load them on every call, so the
// baselines are real indirect calls that cannot be inlined.
int (*volatile g_op_ok)(void *, void **) = op_ok;
int (*volatile g_op_flaky)(void *, void **) = op_flaky;

// The no-op sleep of the retry figure: a constant clock and a sleep that
// returns at once.
uint64_t clock_const(void *) { return 1000; }
void sleep_noop(uint64_t, const mg_cancel *, void *) {}

constexpr uint32_t kRetries = 8; // retries per run in the retry figure

// Per-iteration durations of the sleep benchmarks: their medians are
// reported too, since a sleep's mean is pulled by its long tail.
std::map<std::string, std::vector<double>> g_sleep_samples;

double now_ns()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

// ---- figure 1: a call whose operation succeeds at once ----

void bm_direct_call(benchmark::State &state)
{
    void *error = nullptr;
    for (auto _ : state)
        benchmark::DoNotOptimize(g_op_ok(nullptr, &error));
}

void bm_retry_success(benchmark::State &state)
{
    static const mg_policy policy = MG_POLICY_DEFAULT_INIT;
    mg_retry_result result = MG_RETRY_RESULT_INIT;
    for (auto _ : state) {
        benchmark::DoNotOptimize(
            mg_retry_run(&policy, op_ok, nullptr, nullptr, &result));
        benchmark::ClobberMemory();
    }
}

void bm_retry_success_null_result(benchmark::State &state)
{
    for (auto _ : state)
        benchmark::DoNotOptimize(
            mg_retry_run(nullptr, op_ok, nullptr, nullptr, nullptr));
}

// ---- figure 2: retries with the sleep injected as a no-op ----

void bm_op_alone(benchmark::State &state)
{
    flaky f = {0, kRetries};
    void *error = nullptr;
    for (auto _ : state) {
        for (uint32_t i = 0; i <= kRetries; i++)
            benchmark::DoNotOptimize(g_op_flaky(&f, &error));
        benchmark::ClobberMemory();
    }
}

void retry_run_flaky(benchmark::State &state, uint32_t jitter)
{
    mg_policy policy = MG_POLICY_DEFAULT_INIT;
    mg_retry_options options = MG_RETRY_OPTIONS_INIT;
    mg_retry_result result = MG_RETRY_RESULT_INIT;
    flaky f = {0, kRetries};

    policy.max_retries = kRetries;
    policy.jitter = jitter;
    options.clock = clock_const;
    options.sleep = sleep_noop;
    for (auto _ : state) {
        int stop = mg_retry_run(&policy, op_flaky, &f, &options, &result);
        if (stop != MG_STOP_SUCCESS || result.attempts != kRetries + 1) {
            state.SkipWithError("the flaky run did not succeed as expected");
            break;
        }
    }
}

void bm_retry_flaky_proportional(benchmark::State &state)
{
    retry_run_flaky(state, MG_JITTER_PROPORTIONAL);
}

void bm_retry_flaky_none(benchmark::State &state)
{
    retry_run_flaky(state, MG_JITTER_NONE);
}

void bm_retry_flaky_full(benchmark::State &state)
{
    retry_run_flaky(state, MG_JITTER_FULL);
}

// ---- figure 3: one delay, per jitter mode ----

void delay_bench(benchmark::State &state, uint32_t jitter, mg_random_fn rnd)
{
    mg_policy policy = MG_POLICY_DEFAULT_INIT;
    uint64_t d = 0;
    uint32_t k = 0;

    policy.jitter = jitter;
    for (auto _ : state) {
        // Retries 0..7 in turn: below, at and past the cap (100 ms << 6
        // passes 5000 ms), as a retry loop would ask.
        mg_backoff_delay(&policy, k & 7u, d, rnd, nullptr, &d);
        benchmark::DoNotOptimize(d);
        k++;
    }
}

void bm_delay_none(benchmark::State &s) { delay_bench(s, MG_JITTER_NONE, nullptr); }
void bm_delay_proportional(benchmark::State &s) { delay_bench(s, MG_JITTER_PROPORTIONAL, nullptr); }
void bm_delay_full(benchmark::State &s) { delay_bench(s, MG_JITTER_FULL, nullptr); }
void bm_delay_equal(benchmark::State &s) { delay_bench(s, MG_JITTER_EQUAL, nullptr); }
void bm_delay_decorrelated(benchmark::State &s) { delay_bench(s, MG_JITTER_DECORRELATED, nullptr); }
void bm_delay_full_arc4random(benchmark::State &s) { delay_bench(s, MG_JITTER_FULL, mg_random_arc4random); }

// ---- figure 4: state-machine decisions ----

// One retry decision: begin an attempt, report its failure, get "retry
// after D ms" (a jittered delay from the default source). The state never
// runs out: max_retries is UINT32_MAX.
void bm_state_retry_decision(benchmark::State &state)
{
    mg_policy policy = MG_POLICY_DEFAULT_INIT;
    mg_retry_state st;
    uint64_t delay_ms = 0;

    policy.max_retries = UINT32_MAX;
    if (mg_retry_state_init(&st, &policy, nullptr) != MG_OK) {
        state.SkipWithError("mg_retry_state_init failed");
        return;
    }
    for (auto _ : state) {
        if (mg_retry_state_begin(&st) != MG_OK ||
            mg_retry_state_on_failure(&st, nullptr, 0, &delay_ms) !=
                MG_RETRY_AGAIN) {
            state.SkipWithError("the state machine stopped");
            break;
        }
        benchmark::DoNotOptimize(delay_ms);
    }
}

// A whole successful operation: init, begin, success.
void bm_state_success(benchmark::State &state)
{
    static const mg_policy policy = MG_POLICY_DEFAULT_INIT;
    mg_retry_state st;

    for (auto _ : state) {
        mg_retry_state_init(&st, &policy, nullptr);
        mg_retry_state_begin(&st);
        benchmark::DoNotOptimize(mg_retry_state_on_success(&st));
    }
}

// ---- figure 5: a 1 ms sleep ----

void bm_clock_nanosleep_1ms(benchmark::State &state)
{
    std::vector<double> &samples = g_sleep_samples["sleep/clock_nanosleep_1ms"];
    const timespec ms = {0, 1000000};
    for (auto _ : state) {
        double t0 = now_ns();
        clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, nullptr);
        samples.push_back(now_ns() - t0);
    }
}

// One failure, one 1 ms wait through the default clock and sleep, one
// success: the run minus its two trivial op calls is the executor's sleep.
void bm_executor_sleep_1ms(benchmark::State &state)
{
    std::vector<double> &samples = g_sleep_samples["sleep/executor_1ms"];
    mg_policy policy = MG_POLICY_DEFAULT_INIT;
    mg_retry_result result = MG_RETRY_RESULT_INIT;
    flaky f = {0, 1};

    policy.max_retries = 1;
    policy.base_delay_ms = 1;
    policy.max_delay_ms = 1;
    policy.jitter = MG_JITTER_NONE;
    for (auto _ : state) {
        double t0 = now_ns();
        int stop = mg_retry_run(&policy, op_flaky, &f, nullptr, &result);
        samples.push_back(now_ns() - t0);
        if (stop != MG_STOP_SUCCESS || result.slept_ms != 1) {
            state.SkipWithError("the sleeping run did not behave");
            break;
        }
    }
}

// ---- the summary ----

// Collects every run the console reporter prints, and keeps per benchmark
// the median aggregate (or, with one repetition, the median of the runs).
class SummaryReporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run> &reports) override
    {
        for (const Run &r : reports) {
            if (r.error_occurred)
                continue;
            // CPU time for the nanosecond figures (a busy machine's
            // preemptions do not count), wall time for the sleeps, which
            // are registered with UseRealTime().
            bool wall = r.run_name.time_type == "real_time";
            double t = wall ? r.GetAdjustedRealTime() : r.GetAdjustedCPUTime();
            double ns =
                t / benchmark::GetTimeUnitMultiplier(r.time_unit) * 1e9;
            const std::string &name = r.run_name.function_name;
            if (r.run_type == Run::RT_Aggregate) {
                if (r.aggregate_name == "median")
                    medians_[name] = ns;
            } else {
                runs_[name].push_back(ns);
            }
        }
        ConsoleReporter::ReportRuns(reports);
    }

    // The median for `name` in ns, or a negative value when it did not run.
    double median(const std::string &name) const
    {
        auto m = medians_.find(name);
        if (m != medians_.end())
            return m->second;
        auto r = runs_.find(name);
        if (r == runs_.end() || r->second.empty())
            return -1;
        return median_of(r->second);
    }

    static double median_of(std::vector<double> v)
    {
        std::sort(v.begin(), v.end());
        size_t n = v.size();
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

private:
    std::map<std::string, double> medians_;
    std::map<std::string, std::vector<double>> runs_;
};

int g_missed = 0;

void verdict(bool met)
{
    std::printf("  %s\n", met ? "met" : "MISSED");
    if (!met)
        g_missed++;
}

void print_summary(const SummaryReporter &rep, const char *library)
{
    std::printf("\nmg_bench summary (%s library), medians of the "
                "repetitions:\n", library);

    double base = rep.median("success/direct_call");
    double run = rep.median("success/mg_retry_run");
    double run_null = rep.median("success/mg_retry_run_defaults");
    if (base > 0 && run > 0) {
        double target = std::max(1.5 * base, base + 3.0);
        std::printf("1. retry call, op succeeds at once: %.2f ns; direct call "
                    "%.2f ns; ratio %.2fx, +%.2f ns; target <= %.2f ns",
                    run, base, run / base, run - base, target);
        verdict(run <= target);
        if (run_null > 0)
            std::printf("   (NULL policy, options and result: %.2f ns, "
                        "ratio %.2fx)\n", run_null, run_null / base);
    }

    double alone = rep.median("retry/op_alone_x9");
    const char *modes[] = {"retry/mg_retry_run_8_retries_proportional",
                           "retry/mg_retry_run_8_retries_none",
                           "retry/mg_retry_run_8_retries_full"};
    for (const char *m : modes) {
        double r = rep.median(m);
        if (alone <= 0 || r <= 0)
            continue;
        double per = (r - alone) / kRetries;
        std::printf("2. %s: %.2f ns; op alone (9 calls) %.2f ns; ratio "
                    "%.2fx; %.2f ns per retry above the op; target <= 20 ns",
                    m + 6, r, alone, r / alone, per);
        verdict(per <= 20.0);
    }

    double none = rep.median("delay/none");
    const char *delays[] = {"delay/proportional", "delay/full", "delay/equal",
                            "delay/decorrelated"};
    for (const char *m : delays) {
        double d = rep.median(m);
        if (none <= 0 || d <= 0)
            continue;
        std::printf("3. one jittered delay, %s: %.2f ns; un-jittered %.2f ns; "
                    "ratio %.2fx, %+.2f ns; target <= 10 ns per delay",
                    m + 6, d, none, d / none, d - none);
        verdict(d <= 10.0);
    }
    double arc = rep.median("delay/full_arc4random");
    if (arc > 0 && none > 0)
        std::printf("   (for scale: full jitter drawn from mg_random_arc4random:"
                    " %.0f ns, ratio %.0fx)\n", arc, arc / none);

    double dec = rep.median("state/retry_decision");
    double dsu = rep.median("state/init_begin_success");
    if (dec > 0) {
        std::printf("4. state-machine retry decision (begin + on_failure, "
                    "jittered): %.2f ns, %.1f million decisions/s on one "
                    "core; target >= 20 million/s",
                    dec, 1e3 / dec);
        verdict(1e3 / dec >= 20.0);
    }
    if (dsu > 0)
        std::printf("   (a successful operation, init + begin + on_success: "
                    "%.2f ns, %.1f million/s)\n", dsu, 1e3 / dsu);

    double sb = rep.median("sleep/clock_nanosleep_1ms");
    double se = rep.median("sleep/executor_1ms");
    if (sb > 0 && se > 0) {
        auto &bs = g_sleep_samples["sleep/clock_nanosleep_1ms"];
        auto &es = g_sleep_samples["sleep/executor_1ms"];
        double mb = SummaryReporter::median_of(bs);
        double me = SummaryReporter::median_of(es);
        std::printf("5. 1 ms sleep through the executor: %.1f us; bare "
                    "clock_nanosleep %.1f us; ratio %.3fx, %+.1f us "
                    "(per-sleep medians over %zu and %zu sleeps: %.1f vs "
                    "%.1f us, %+.1f us); target <= +10 us",
                    se / 1e3, sb / 1e3, se / sb, (se - sb) / 1e3, es.size(),
                    bs.size(), me / 1e3, mb / 1e3, (me - mb) / 1e3);
        verdict(se - sb <= 10e3 && me - mb <= 10e3);
    }
}

} // namespace

int main(int argc, char **argv)
{
    // Defaults first, so that the caller's flags (parsed later) win.
    std::vector<char *> args;
    static char d1[] = "--benchmark_repetitions=15";
    static char d2[] = "--benchmark_enable_random_interleaving=true";
    static char d3[] = "--benchmark_report_aggregates_only=true";
    static char d4[] = "--benchmark_min_time=0.1";
    args.push_back(argv[0]);
    args.push_back(d1);
    args.push_back(d2);
    args.push_back(d3);
    args.push_back(d4);
    for (int i = 1; i < argc; i++)
        args.push_back(argv[i]);
    int n = int(args.size());
    args.push_back(nullptr);

    using benchmark::RegisterBenchmark;
    RegisterBenchmark("success/direct_call", bm_direct_call);
    RegisterBenchmark("success/mg_retry_run", bm_retry_success);
    RegisterBenchmark("success/mg_retry_run_defaults",
                      bm_retry_success_null_result);
    RegisterBenchmark("retry/op_alone_x9", bm_op_alone);
    RegisterBenchmark("retry/mg_retry_run_8_retries_proportional",
                      bm_retry_flaky_proportional);
    RegisterBenchmark("retry/mg_retry_run_8_retries_none", bm_retry_flaky_none);
    RegisterBenchmark("retry/mg_retry_run_8_retries_full", bm_retry_flaky_full);
    RegisterBenchmark("delay/none", bm_delay_none);
    RegisterBenchmark("delay/proportional", bm_delay_proportional);
    RegisterBenchmark("delay/full", bm_delay_full);
    RegisterBenchmark("delay/equal", bm_delay_equal);
    RegisterBenchmark("delay/decorrelated", bm_delay_decorrelated);
    RegisterBenchmark("delay/full_arc4random", bm_delay_full_arc4random);
    RegisterBenchmark("state/retry_decision", bm_state_retry_decision);
    RegisterBenchmark("state/init_begin_success", bm_state_success);
    RegisterBenchmark("sleep/clock_nanosleep_1ms", bm_clock_nanosleep_1ms)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    RegisterBenchmark("sleep/executor_1ms", bm_executor_sleep_1ms)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();

    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data()))
        return 2;
    SummaryReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    print_summary(reporter, MG_BENCH_LIBRARY);
    benchmark::Shutdown();
    // Not a pass/fail test: a missed target is reported, not an error.
    std::printf("%d target(s) missed\n", g_missed);
    return 0;
}
