# SPDX-License-Identifier: MIT
# The section 3 manual pages of libmgretry as data, transcribed from the
# comments of include/mg/common.h, error.h and retry.h (which stay the
# reference: when a header comment changes, change the entry here and run
# gen-man3.py). One entry per full page; "functions" lists the prototypes
# it documents, the first naming the page. Markup: see gen-man3.py.

DATE = "2026-11-28"
SOURCE = "libmgretry"

RETRY_H = "mg/retry.h"
ERROR_H = "mg/error.h"

SEE_ERR = "libmgretry(7)"

STATUS_TABLE = """
* B<MG_OK> (0):: success
* B<MG_EINVAL> (-1):: invalid argument
* B<MG_ENOMEM> (-2):: out of memory
* B<MG_EVERSION> (-3):: unsupported struct version
* B<MG_EPOLICY> (-4):: invalid retry policy
* B<MG_ERANGE> (-5):: value out of range
* B<MG_EPARSE> (-6):: malformed input
* B<MG_ETOOSMALL> (-7):: buffer too small
* B<MG_ENOTFOUND> (-8):: value not present
"""

CONSTRUCTORS = [
    ("mg_error_new_validation",
     "int mg_error_new_validation(mg_error **out, const char *message, const char *field);"),
    ("mg_error_new_not_found",
     "int mg_error_new_not_found(mg_error **out, const char *content_id);"),
    ("mg_error_new_user_not_found",
     "int mg_error_new_user_not_found(mg_error **out, const char *user_id);"),
    ("mg_error_new_authentication",
     "int mg_error_new_authentication(mg_error **out, const char *reason);"),
    ("mg_error_new_authorization",
     "int mg_error_new_authorization(mg_error **out, const char *reason);"),
    ("mg_error_new_rate_limit",
     "int mg_error_new_rate_limit(mg_error **out, uint32_t limit, const char *window, int64_t retry_after_s);"),
    ("mg_error_new_database",
     "int mg_error_new_database(mg_error **out, const char *message, const char *operation);"),
    ("mg_error_new_external_api",
     "int mg_error_new_external_api(mg_error **out, const char *api, const char *message, int32_t status_code);"),
    ("mg_error_new_network",
     "int mg_error_new_network(mg_error **out, const char *message);"),
    ("mg_error_new_serialization",
     "int mg_error_new_serialization(mg_error **out, const char *message);"),
    ("mg_error_new_configuration",
     "int mg_error_new_configuration(mg_error **out, const char *message, const char *key);"),
    ("mg_error_new_search",
     "int mg_error_new_search(mg_error **out, const char *message, const char *query);"),
    ("mg_error_new_cache",
     "int mg_error_new_cache(mg_error **out, const char *operation, const char *message);"),
    ("mg_error_new_conflict",
     "int mg_error_new_conflict(mg_error **out, const char *message, const char *resource);"),
    ("mg_error_new_service_unavailable",
     "int mg_error_new_service_unavailable(mg_error **out, const char *service, int64_t retry_after_s);"),
    ("mg_error_new_timeout",
     "int mg_error_new_timeout(mg_error **out, const char *operation, uint64_t duration_ms);"),
    ("mg_error_new_invalid_state",
     "int mg_error_new_invalid_state(mg_error **out, const char *message, const char *expected, const char *actual);"),
    ("mg_error_new_not_implemented",
     "int mg_error_new_not_implemented(mg_error **out, const char *feature);"),
    ("mg_error_new_internal",
     "int mg_error_new_internal(mg_error **out, const char *message);"),
]

PAGES = [
    # ---------------------------------------------------------------- common
    dict(
        section="Status codes and version",
        functions=[("mg_status_str", "const char *mg_status_str(int status);")],
        header=RETRY_H,
        summary="describe a libmgretry status code",
        description="""
B<mg_status_str>() returns a static, NUL-terminated English description
of I<status>, one of the status codes that every fallible libmgretry
function returns: 0 (B<MG_OK>) for success or a negative B<MG_E*> code.
The codes are declared in B<<mg/common.h>>, which B<<mg/retry.h>> and
B<<mg/error.h>> include:
""" + STATUS_TABLE + """
Codes are never renumbered or reused; new ones are only appended.
""",
        **{"return": """
The description of I<status>; "unknown status" for any other value,
including positive ones. Never NULL.
"""},
        threads="Thread-safe.",
        history="Added in libmgretry 1.0.",
        see=["libmgretry(7)", "mg_retry_stop_str(3)", "mg_error_kind_name(3)"],
    ),
    dict(
        functions=[
            ("mg_retry_version", "const char *mg_retry_version(void);"),
            ("mg_retry_version_number",
             "uint32_t mg_retry_version_number(void);"),
        ],
        header=RETRY_H,
        summary="report the version of the running libmgretry",
        synopsis_pre=["#define MG_RETRY_VERSION_STRING \"MAJOR.MINOR.PATCH\"\n"
                      "#define MG_RETRY_VERSION_NUMBER \\\n"
                      "    ((MAJOR << 16) | (MINOR << 8) | PATCH)"],
        description="""
B<mg_retry_version>() returns the version string of the library that is
running, for example "1.0.0".

B<mg_retry_version_number>() returns the same version as a number,
(major << 16) | (minor << 8) | patch.

The macros B<MG_RETRY_VERSION_STRING>, B<MG_RETRY_VERSION_NUMBER>,
B<MG_RETRY_VERSION_MAJOR>, B<MG_RETRY_VERSION_MINOR> and
B<MG_RETRY_VERSION_PATCH> give the version of the headers a program was
compiled with. Compare them with these functions to check that headers and
library match: a program built against 1.I<x> runs with any 1.I<y>, I<y>
>= I<x>.
""",
        **{"return": """
B<mg_retry_version>() returns a static string; B<mg_retry_version_number>()
the version number.
"""},
        threads="Thread-safe.",
        example="""
  if (mg_retry_version_number() < MG_RETRY_VERSION_NUMBER)
      fprintf(stderr, "libmgretry %s is older than the headers (%s)\\n",
              mg_retry_version(), MG_RETRY_VERSION_STRING);
""",
        history="Added in libmgretry 1.0.",
        see=["libmgretry(7)"],
    ),
    # ---------------------------------------------------------------- policy
    dict(
        section="Policies",
        functions=[
            ("mg_policy_init",
             "int mg_policy_init(mg_policy *policy, uint32_t version);"),
            ("mg_policy_preset",
             "int mg_policy_preset(mg_policy *policy, int preset);"),
        ],
        header=RETRY_H,
        summary="fill a retry policy with a preset",
        synopsis_pre=["""typedef struct mg_policy {
    uint32_t version;         /* MG_POLICY_VERSION */
    uint32_t max_retries;     /* retries after the first attempt */
    uint64_t base_delay_ms;   /* nominal delay before the first retry */
    uint64_t max_delay_ms;    /* hard ceiling of every backoff delay */
    uint32_t jitter;          /* an mg_jitter value */
    uint32_t reserved;        /* must be 0 */
    double multiplier;        /* growth per retry, finite and >= 1 */
    uint64_t max_elapsed_ms;  /* overall deadline; 0 = none */
    uint64_t max_pushback_ms; /* longest honoured server wait */
} mg_policy;""",
                      """mg_policy p = MG_POLICY_INIT;
static const mg_policy q = MG_POLICY_AGGRESSIVE_INIT;"""],
        description="""
An B<mg_policy> is a plain value that the caller allocates and copies
freely; the library never allocates one. Fields are only ever appended in
later versions, and I<version> tells the library which fields the caller
knows, so always start from an initializer macro or one of these functions
and then change fields.

B<mg_policy_init>() fills I<*policy> with the default preset for struct
version I<version>; pass B<MG_POLICY_VERSION>.

B<mg_policy_preset>() fills I<*policy> with the preset I<preset>, an
B<mg_preset> value. The presets have the original's proportional jitter, a
multiplier of 2, no deadline and a 60 s pushback ceiling:

* B<MG_PRESET_DEFAULT> (0), B<MG_POLICY_DEFAULT_INIT>, B<MG_POLICY_INIT>:: 3 retries, 100 ms base delay, 5000 ms cap.
* B<MG_PRESET_AGGRESSIVE> (1), B<MG_POLICY_AGGRESSIVE_INIT>:: 5 retries, 50 ms base delay, 5000 ms cap.
* B<MG_PRESET_GENTLE> (2), B<MG_POLICY_GENTLE_INIT>:: 2 retries, 500 ms base delay, 3000 ms cap.

The jitter modes (B<mg_jitter>) are B<MG_JITTER_NONE> (0),
B<MG_JITTER_PROPORTIONAL> (1), B<MG_JITTER_FULL> (2), B<MG_JITTER_EQUAL>
(3) and B<MG_JITTER_DECORRELATED> (4); B<mg_backoff_delay>(3) gives their
formulas.
""",
        **{"return": """
* B<MG_OK>:: I<*policy> was filled.
* B<MG_EINVAL>:: I<policy> is NULL, or (B<mg_policy_preset>) I<preset> is
not a known preset.
* B<MG_EVERSION>:: (B<mg_policy_init>) I<version> is not a struct version
this library knows.
"""},
        threads="Thread-safe.",
        history="Added in libmgretry 1.0.",
        see=["mg_policy_make(3)", "mg_policy_validate(3)",
             "mg_backoff_delay(3)", "mg_retry_run(3)", "libmgretry(7)"],
    ),
    dict(
        functions=[
            ("mg_policy_make",
             "int mg_policy_make(mg_policy *policy, uint32_t max_retries, uint64_t base_delay_ms, uint64_t max_delay_ms, int jitter);"),
        ],
        header=RETRY_H,
        summary="build and validate a retry policy from its four settings",
        description="""
B<mg_policy_make>() is the original's constructor. It fills I<*policy>
with I<max_retries> (retries after the first attempt), I<base_delay_ms>
(the nominal delay before the first retry), I<max_delay_ms> (the hard
ceiling of every delay) and I<jitter> (0 none, 1 proportional, or any
B<mg_jitter> value), sets the other fields as in B<MG_POLICY_INIT>
(multiplier 2, no deadline, 60 s pushback ceiling), and validates the
result with B<mg_policy_validate>(3).
""",
        **{"return": """
* B<MG_OK>:: I<*policy> holds the new, valid policy.
* B<MG_EINVAL>:: I<policy> is NULL.
* B<MG_EPOLICY>:: the result would be invalid (for example I<base_delay_ms>
greater than I<max_delay_ms>, or an unknown jitter mode); I<*policy> is
left unchanged.
"""},
        threads="Thread-safe.",
        history="Added in libmgretry 1.0.",
        see=["mg_policy_init(3)", "mg_policy_validate(3)", "libmgretry(7)"],
    ),
    dict(
        functions=[
            ("mg_policy_validate",
             "int mg_policy_validate(const mg_policy *policy, const char **reason);"),
        ],
        header=RETRY_H,
        summary="check a retry policy before use",
        description="""
B<mg_policy_validate>() checks I<*policy>. Every function that takes a
policy validates it the same way and returns the same codes, so calling
this first is only needed to report a problem early or to get I<reason>.

When I<reason> is not NULL it receives a static English sentence that says
what is wrong, or "ok" on success.
""",
        **{"return": """
* B<MG_OK>:: the policy is valid.
* B<MG_EINVAL>:: I<policy> is NULL.
* B<MG_EVERSION>:: I<policy->version> is not a version this library knows.
* B<MG_EPOLICY>:: I<base_delay_ms> is greater than I<max_delay_ms>, the
multiplier is below 1 or not finite, the jitter mode is unknown, or
I<reserved> is not 0.
"""},
        threads="Thread-safe.",
        history="Added in libmgretry 1.0.",
        see=["mg_policy_init(3)", "mg_policy_make(3)", "mg_status_str(3)"],
    ),
    # --------------------------------------------------------------- backoff
    dict(
        section="Backoff math",
        functions=[
            ("mg_backoff_delay",
             "int mg_backoff_delay(const mg_policy *policy, uint32_t retry, uint64_t prev_delay_ms, mg_random_fn random, void *random_data, uint64_t *delay_ms);"),
        ],
        header=RETRY_H,
        summary="the jittered delay before a retry",
        synopsis_pre=["typedef uint64_t (*mg_random_fn)(void *user_data);"],
        description="""
B<mg_backoff_delay>() stores in I<*delay_ms> the delay before retry
I<retry> (0 for the first retry) under the jitter mode of I<policy>. With
I<d> = min(I<base_delay_ms> * I<multiplier>^I<retry>, I<max_delay_ms>),
the nominal delay of B<mg_backoff_nominal>(3), the delay is:

* B<MG_JITTER_NONE>:: I<d>.
* B<MG_JITTER_PROPORTIONAL>:: uniform in [I<d>, I<d> + 0.3I<d>], the window
slid down so that it ends at I<max_delay_ms> when it would pass it (the
original's jitter, with the cap kept hard): at the cap, [0.7max, max].
* B<MG_JITTER_FULL>:: uniform in [0, I<d>].
* B<MG_JITTER_EQUAL>:: I<d>/2 + uniform in [0, I<d>/2].
* B<MG_JITTER_DECORRELATED>:: uniform in [I<lo>, min(max, 3 * I<previous>)],
where I<previous> is I<prev_delay_ms> (0, meaning "none yet", is treated as
I<base_delay_ms>) and I<lo> = min(base, that bound / 2).

The result never exceeds I<max_delay_ms>, for any input.

I<random> draws the randomness, 64 uniformly distributed bits per call, at
most one call per delay and none in mode B<MG_JITTER_NONE>; it receives
I<random_data>. NULL selects the default source: a per-thread xoshiro256**
generator (no lock), seeded from B<arc4random_buf>(3) on the thread's first
draw and reseeded every 2^16 draws and in a child after B<fork>(2), so that
parent and child never draw the same jitter. B<mg_random_splitmix64>(3)
gives reproducible delays, B<mg_random_arc4random>(3) a CSPRNG draw each
time.
""",
        **{"return": """
* B<MG_OK>:: I<*delay_ms> is set.
* B<MG_EINVAL>:: I<policy> or I<delay_ms> is NULL.
* B<MG_EVERSION>, B<MG_EPOLICY>:: the policy is invalid, as reported by
B<mg_policy_validate>(3).
"""},
        threads="Thread-safe as far as the random source is; the default "
                "source is per-thread.",
        history="Added in libmgretry 1.0.",
        see=["mg_backoff_nominal(3)", "mg_random_splitmix64(3)",
             "mg_policy_init(3)", "mg_retry_run(3)"],
    ),
    dict(
        functions=[
            ("mg_backoff_nominal",
             "int mg_backoff_nominal(const mg_policy *policy, uint32_t retry, uint64_t *delay_ms);"),
        ],
        header=RETRY_H,
        summary="the un-jittered delay before a retry",
        description="""
B<mg_backoff_nominal>() stores in I<*delay_ms> the nominal delay before
retry I<retry> (0 for the first retry):
min(I<base_delay_ms> * I<multiplier>^I<retry>, I<max_delay_ms>). It is
computed so that it saturates at I<max_delay_ms> for any retry number,
including B<UINT32_MAX>, instead of overflowing.
""",
        **{"return": """
* B<MG_OK>:: I<*delay_ms> is set.
* B<MG_EINVAL>:: I<policy> or I<delay_ms> is NULL.
* B<MG_EVERSION>, B<MG_EPOLICY>:: the policy is invalid, as reported by
B<mg_policy_validate>(3).
"""},
        threads="Thread-safe.",
        history="Added in libmgretry 1.0.",
        see=["mg_backoff_delay(3)", "mg_policy_validate(3)"],
    ),
    dict(
        functions=[
            ("mg_random_splitmix64",
             "uint64_t mg_random_splitmix64(void *user_data);"),
            ("mg_random_arc4random",
             "uint64_t mg_random_arc4random(void *user_data);"),
        ],
        header=RETRY_H,
        summary="random sources for the backoff jitter",
        description="""
These are ready-made B<mg_random_fn> sources for B<mg_backoff_delay>(3)
and the I<random> member of B<mg_retry_options>. Each call returns 64
uniformly distributed random bits. Passing NULL instead selects the
default per-thread generator described in B<mg_backoff_delay>(3).

B<mg_random_splitmix64>() is a deterministic source for reproducible
delays (tests, simulations): the SplitMix64 generator whose state is the
B<uint64_t> that I<user_data> points to. Seed it with any value.

B<mg_random_arc4random>() takes the 64 bits straight from libbsd's
B<arc4random_buf>(3) on every call, a system call each (about 1 us), for
callers who want each draw from the CSPRNG. I<user_data> is ignored.
""",
        **{"return": """
64 random bits. B<mg_random_splitmix64>() returns 0 when I<user_data> is
NULL.
"""},
        threads="""
B<mg_random_arc4random>() is thread- and fork-safe.
B<mg_random_splitmix64>() is not thread-safe for one state: give each
thread its own.
""",
        example="""
  uint64_t seed = 42, delay;
  mg_policy p = MG_POLICY_INIT;
  mg_backoff_delay(&p, 2, 0, mg_random_splitmix64, &seed, &delay);
""",
        history="Added in libmgretry 1.0.",
        see=["mg_backoff_delay(3)", "mg_retry_options_init(3)",
             "arc4random_buf(3)"],
    ),
    # ---------------------------------------------------------- cancellation
    dict(
        section="Cancellation, clock and sleep",
        functions=[
            ("mg_cancel_new", "int mg_cancel_new(mg_cancel **out);"),
            ("mg_cancel_free", "void mg_cancel_free(mg_cancel *cancel);"),
            ("mg_cancel_trigger", "int mg_cancel_trigger(mg_cancel *cancel);"),
            ("mg_cancel_is_triggered",
             "bool mg_cancel_is_triggered(const mg_cancel *cancel);"),
            ("mg_cancel_reset", "int mg_cancel_reset(mg_cancel *cancel);"),
        ],
        header=RETRY_H,
        summary="cancellation flags for the retry loop",
        description="""
An B<mg_cancel> is a flag that one thread, or a signal handler, triggers
and executors observe: B<mg_retry_run>(3) checks it before each attempt
and during each sleep, which it ends within a few milliseconds; the run
then stops with B<MG_STOP_CANCELLED>.

B<mg_cancel_new>() creates an untriggered flag and stores it in I<*out>.

B<mg_cancel_free>() frees a flag. No executor may still be using it.

B<mg_cancel_trigger>() triggers the flag (one atomic store).

B<mg_cancel_is_triggered>() tells whether the flag is triggered.

B<mg_cancel_reset>() untriggers the flag, so that it can be reused.
""",
        **{"return": """
B<mg_cancel_new>() returns B<MG_OK>; B<MG_EINVAL> when I<out> is NULL;
B<MG_ENOMEM> when memory runs out (then I<*out> is NULL).

B<mg_cancel_trigger>() and B<mg_cancel_reset>() return B<MG_OK>, or
B<MG_EINVAL> when I<cancel> is NULL.

B<mg_cancel_is_triggered>() returns true when the flag is triggered, false
otherwise and for NULL.

B<mg_cancel_free>() returns nothing; NULL is a no-op.
"""},
        threads="""
B<mg_cancel_trigger>() and B<mg_cancel_is_triggered>() are
async-signal-safe and thread-safe. The flag must outlive every run that
uses it.
""",
        example="""
  static mg_cancel *stop;
  static void on_sigint(int sig) { (void)sig; mg_cancel_trigger(stop); }
  /* ... */
  mg_cancel_new(&stop);
  signal(SIGINT, on_sigint);
  options.cancel = stop;
""",
        history="Added in libmgretry 1.0.",
        see=["mg_retry_run(3)", "mg_sleep_monotonic(3)",
             "mg_retry_options_init(3)"],
    ),
    # -------------------------------------------------------- clock and sleep
    dict(
        functions=[
            ("mg_clock_monotonic",
             "uint64_t mg_clock_monotonic(void *user_data);"),
            ("mg_sleep_monotonic",
             "void mg_sleep_monotonic(uint64_t wake_ns, const mg_cancel *cancel, void *user_data);"),
        ],
        header=RETRY_H,
        summary="the default clock and sleep of the retry loop",
        synopsis_pre=["typedef uint64_t (*mg_clock_fn)(void *user_data);\n"
                      "typedef void (*mg_sleep_fn)(uint64_t wake_ns, "
                      "const mg_cancel *cancel,\n"
                      "                            void *user_data);"],
        description="""
The executor reads time through an B<mg_clock_fn> (a monotonic clock in
nanoseconds) and waits through an B<mg_sleep_fn> (sleep until the clock
reads at least I<wake_ns>, or until I<cancel>, which may be NULL, is
triggered). Tests inject a virtual pair; these are the real ones, used
when B<mg_retry_options> leaves I<clock> and I<sleep> NULL.

B<mg_clock_monotonic>() returns B<CLOCK_MONOTONIC> in nanoseconds.
I<user_data> is ignored.

B<mg_sleep_monotonic>() sleeps with B<clock_nanosleep>(2)
(B<CLOCK_MONOTONIC>, B<TIMER_ABSTIME>) towards I<wake_ns>, a
B<mg_clock_monotonic>() reading, and resumes after signals, so that a
signal neither shortens nor lengthens the wait. With a cancel flag it
sleeps in slices of at most 4 ms, still towards the same absolute time,
and returns within one slice of a trigger. It returns at once when
I<wake_ns> is not in the future. I<user_data> is ignored.
""",
        **{"return": """
B<mg_clock_monotonic>() returns the clock reading in nanoseconds.
B<mg_sleep_monotonic>() returns nothing.
"""},
        threads="Thread-safe.",
        history="Added in libmgretry 1.0.",
        see=["mg_retry_run(3)", "mg_cancel_new(3)", "clock_nanosleep(2)"],
    ),
    # -------------------------------------------------------------- executor
    dict(
        section="The executor",
        functions=[
            ("mg_retry_run",
             "int mg_retry_run(const mg_policy *policy, mg_retry_op op, void *op_data, const mg_retry_options *options, mg_retry_result *result);"),
        ],
        header=RETRY_H,
        summary="call an operation until it succeeds or the policy says stop",
        synopsis_pre=["""typedef int (*mg_retry_op)(void *user_data, void **error);

typedef struct mg_retry_result {
    uint32_t version;  /* MG_RETRY_RESULT_VERSION */
    uint32_t attempts; /* calls of the operation */
    int stop;          /* an mg_stop value */
    int reserved;
    uint64_t slept_ms; /* sum of the waits chosen */
    void *error;       /* the last error, owned by the caller */
} mg_retry_result;

mg_retry_result result = MG_RETRY_RESULT_INIT;"""],
        description="""
B<mg_retry_run>() calls I<op>(I<op_data>, &I<error>) until it returns 0
(success) or the policy I<policy> says stop. On failure the operation
returns non-zero and stores an error object of any type, or NULL, in
I<*error>; the executor owns it from then on. A NULL I<policy> means the
default preset; a NULL I<options> means all defaults (see
B<mg_retry_options_init>(3)).

The loop:

* 1.:: call I<op>, unless I<options->breaker> refuses the attempt
(B<MG_STOP_BREAKER>); on success stop with B<MG_STOP_SUCCESS>.
* 2.:: if I<options->is_retryable> refuses the error, stop with
B<MG_STOP_NOT_RETRYABLE>.
* 3.:: if I<max_retries> retries were made, stop with B<MG_STOP_EXHAUSTED>.
* 4.:: wait = max(backoff delay, server pushback); stop with
B<MG_STOP_PUSHBACK> when the pushback exceeds I<max_pushback_ms>, with
B<MG_STOP_DEADLINE> when the wait would end past I<max_elapsed_ms>, with
B<MG_STOP_BUDGET> when I<options->budget> refuses the retry; call
I<on_retry>, log, sleep; if the cancel flag is triggered, stop with
B<MG_STOP_CANCELLED>; go to 1.

Every decision is the retry state machine's (see B<mg_retry_state_init>(3)):
the loop only calls, reads the clock, sleeps, reports and owns errors.

The first attempt reads no clock (unless I<max_elapsed_ms> is set, which
needs a start time), draws no random number and allocates nothing; the
loop never allocates.

When I<result> is not NULL (its I<version> set by B<MG_RETRY_RESULT_INIT>)
it receives the number of attempts, the stop reason, the sum of the waits
and the last error.

Ownership: on any stop but B<MG_STOP_SUCCESS> the last error goes to
I<result->error>, and the caller frees it; when I<result> is NULL it is
dropped with I<options->drop_error>. Errors superseded by a later attempt
are dropped with I<drop_error> too. After success I<result->error> is
NULL.
""",
        **{"return": """
Once the loop has started, the B<mg_stop> value (>= 0) that ended it:
B<MG_STOP_SUCCESS> (0), B<MG_STOP_EXHAUSTED> (1), B<MG_STOP_NOT_RETRYABLE>
(2), B<MG_STOP_DEADLINE> (3), B<MG_STOP_CANCELLED> (4),
B<MG_STOP_PUSHBACK> (5), and since 1.1 B<MG_STOP_BUDGET> (6) and
B<MG_STOP_BREAKER> (7); B<mg_retry_stop_str>(3) names them.

Before any attempt, a negative code:

* B<MG_EINVAL>:: I<op> is NULL, or the options give a custom clock without
a custom sleep.
* B<MG_EVERSION>:: I<options> or I<result> has a version this library does
not know.
* B<MG_EVERSION>, B<MG_EPOLICY>:: the policy is invalid, as reported by
B<mg_policy_validate>(3).
"""},
        threads="Thread-safe: concurrent runs share nothing but what the "
                "caller passes them.",
        example="""
  static int op(void *data, void **error)
  {
      int *calls = data;
      *error = NULL;
      return ++*calls < 3 ? -1 : 0;  /* two failures, then success */
  }
  /* ... */
  int calls = 0;
  mg_retry_result r = MG_RETRY_RESULT_INIT;
  int stop = mg_retry_run(NULL, op, &calls, NULL, &r);
  /* stop == MG_STOP_SUCCESS, r.attempts == 3 */
""",
        history="Added in libmgretry 1.0.",
        see=["mg_retry_with_backoff(3)", "mg_retry_options_init(3)",
             "mg_policy_init(3)", "mg_backoff_delay(3)", "mg_cancel_new(3)",
             "mg_retry_stop_str(3)", "mg_retry_state_init(3)",
             "libmgretry(7)"],
    ),
    dict(
        functions=[
            ("mg_retry_with_backoff",
             "int mg_retry_with_backoff(const mg_policy *policy, mg_retry_error_op op, void *op_data, const mg_retry_options *options, mg_retry_result *result);"),
        ],
        header=RETRY_H,
        summary="retry an operation that fails with an mg_error",
        synopsis_pre=["typedef int (*mg_retry_error_op)(void *user_data, "
                      "mg_error **error);"],
        description="""
B<mg_retry_with_backoff>() is B<mg_retry_run>(3) for operations that fail
with an B<mg_error>: the original's retry_with_backoff. I<op> returns 0 on
success, or non-zero with I<*error> set to an B<mg_error> (NULL is allowed
and treated as not retryable).

Unless I<options> sets them, errors are classified with
B<mg_error_is_retryable>(3), server pushback comes from
B<mg_error_retry_after>(3), and superseded errors are freed with
B<mg_error_free>(3). I<result->error> is the last B<mg_error *>, which the
caller frees with B<mg_error_free>(3).
""",
        **{"return": "As B<mg_retry_run>(3)."},
        threads="Thread-safe, as B<mg_retry_run>(3).",
        example="""
  static int fetch(void *data, mg_error **error)
  {
      int *calls = data;
      if (++*calls < 3)
          return mg_error_new_network(error, "connection reset"), -1;
      return 0;
  }
  /* ... */
  mg_retry_result r = MG_RETRY_RESULT_INIT;
  int calls = 0;
  int stop = mg_retry_with_backoff(NULL, fetch, &calls, NULL, &r);
  mg_error_free(r.error);  /* NULL after success */
""",
        history="Added in libmgretry 1.0.",
        see=["mg_retry_run(3)", "mg_error_new_validation(3)",
             "mg_error_is_retryable(3)", "mg_error_free(3)", "libmgretry(7)"],
    ),
    dict(
        functions=[
            ("mg_retry_options_init",
             "int mg_retry_options_init(mg_retry_options *options, uint32_t version);"),
        ],
        header=RETRY_H,
        summary="per-call options of the retry loop",
        synopsis_pre=["""typedef struct mg_retry_options {
    uint32_t version; /* MG_RETRY_OPTIONS_VERSION */
    int log_level;    /* least level passed to log; 0 = all */
    mg_retry_classify_fn is_retryable;  void *is_retryable_data;
    mg_retry_drop_fn drop_error;        void *drop_error_data;
    mg_retry_pushback_fn pushback;      void *pushback_data;
    mg_retry_hook_fn on_retry;          void *on_retry_data;
    mg_log_fn log;                      void *log_data;
    mg_clock_fn clock;                  void *clock_data;
    mg_sleep_fn sleep;                  void *sleep_data;
    mg_random_fn random;                void *random_data;
    mg_cancel *cancel;
    /* version 2 (since 1.1) */
    mg_budget *budget;
    mg_breaker *breaker;
    mg_stats *stats;
} mg_retry_options;

mg_retry_options o = MG_RETRY_OPTIONS_INIT;"""],
        description="""
B<mg_retry_options> is a plain, versioned, caller-allocated struct of
per-call options for B<mg_retry_run>(3) and B<mg_retry_with_backoff>(3).
Start from B<MG_RETRY_OPTIONS_INIT> or B<mg_retry_options_init>(), which
fills I<*options> with the defaults for struct version I<version> (pass
B<MG_RETRY_OPTIONS_VERSION>), writing only the fields that version has, so
that a version-1 caller's smaller struct is safe; then set members.
B<MG_RETRY_OPTIONS_VERSION> is 2 since 1.1, which appended I<budget>,
I<breaker> and I<stats>; a version-1 struct is still accepted everywhere
and read only up to its last version-1 field. Each callback is followed
by the I<user_data> it receives. Every member may be left NULL:

* I<is_retryable>:: bool (*)(const void *error, void *user_data): whether a
failure may be retried. NULL: every failure is retryable
(B<mg_retry_with_backoff>: B<mg_error_is_retryable>(3)).
* I<drop_error>:: void (*)(void *error, void *user_data): frees an error
that a later attempt superseded. NULL: superseded errors are not freed
(B<mg_retry_with_backoff>: B<mg_error_free>(3)).
* I<pushback>:: bool (*)(const void *error, uint64_t *wait_ms, void
*user_data): a server-requested minimum wait. NULL: none
(B<mg_retry_with_backoff>: B<mg_error_retry_after>(3)).
* I<on_retry>:: void (*)(uint32_t retry, uint64_t delay_ms, const void
*error, void *user_data): called before each sleep, I<retry> 1 for the
first retry. NULL: no hook.
* I<log>:: void (*)(int level, const char *message, void *user_data), with
I<log_level> the least level passed (B<MG_LOG_DEBUG> 10: each retry,
B<MG_LOG_WARN> 30: giving up). NULL: silent, unless the environment
variable B<MG_RETRY_LOG> is "debug" or "warn", which selects
B<mg_log_stderr>(3) at that level.
* I<clock>, I<sleep>:: NULL: B<mg_clock_monotonic>(3) and
B<mg_sleep_monotonic>(3). Inject both or neither (a custom clock with the
real sleep is B<MG_EINVAL>); a virtual sleep advances a virtual clock.
* I<random>:: NULL: the default source of B<mg_backoff_delay>(3).
* I<cancel>:: NULL: not cancellable. See B<mg_cancel_new>(3).

Version 2 appends three shared objects, NULL meaning not used; a run
reports to them but never frees them, and they must outlive it:

* I<budget>:: asked before every retry (B<MG_STOP_BUDGET> when it
refuses); told of each first attempt and of each attempt's outcome. See
B<mg_budget_new_token_bucket>(3).
* I<breaker>:: asked before every attempt (B<MG_STOP_BREAKER> when it
refuses); told of each attempt's outcome. See B<mg_breaker_new>(3).
* I<stats>:: counts calls, attempts, retries, waits and stops. See
B<mg_stats_new>(3).
""",
        **{"return": """
* B<MG_OK>:: I<*options> was filled.
* B<MG_EINVAL>:: I<options> is NULL.
* B<MG_EVERSION>:: I<version> is not a struct version this library knows.
"""},
        threads="Thread-safe.",
        history="Added in libmgretry 1.0; struct version 2 in 1.1.",
        see=["mg_retry_run(3)", "mg_retry_with_backoff(3)",
             "mg_log_stderr(3)", "mg_cancel_new(3)",
             "mg_retry_state_init(3)"],
    ),
    dict(
        functions=[
            ("mg_retry_stop_str", "const char *mg_retry_stop_str(int stop);"),
        ],
        header=RETRY_H,
        summary="name the reason a retry loop stopped",
        description="""
B<mg_retry_stop_str>() returns the name of the B<mg_stop> value I<stop>,
as returned by B<mg_retry_run>(3):

* B<MG_STOP_SUCCESS> (0):: "success": an attempt succeeded.
* B<MG_STOP_EXHAUSTED> (1):: "exhausted": 1 + I<max_retries> attempts all
failed.
* B<MG_STOP_NOT_RETRYABLE> (2):: "not retryable": the predicate refused
the error.
* B<MG_STOP_DEADLINE> (3):: "deadline": the next wait would end past
I<max_elapsed_ms>.
* B<MG_STOP_CANCELLED> (4):: "cancelled": the cancel flag was triggered.
* B<MG_STOP_PUSHBACK> (5):: "pushback": the server asked for a wait longer
than I<max_pushback_ms>.
* B<MG_STOP_BUDGET> (6):: "budget": the retry budget refused a retry; the
loop ends at once, without a wait. Since 1.1.
* B<MG_STOP_BREAKER> (7):: "breaker open": the circuit breaker refused an
attempt; the operation was not called. Since 1.1.

Values are fixed and never reused.
""",
        **{"return": """
A static string; "unknown" for any other value. Never NULL.
"""},
        threads="Thread-safe.",
        history="Added in libmgretry 1.0; the names \"budget\" and \"breaker open\" in 1.1.",
        see=["mg_retry_run(3)", "mg_status_str(3)"],
    ),
    dict(
        functions=[
            ("mg_log_stderr",
             "void mg_log_stderr(int level, const char *message, void *user_data);"),
        ],
        header=RETRY_H,
        summary="the ready-made log handler of the retry loop",
        synopsis_pre=["typedef void (*mg_log_fn)(int level, "
                      "const char *message, void *user_data);"],
        description="""
B<mg_log_stderr>() writes "mgretry: I<level>: I<message>" and a newline
to standard error, where I<level> is "debug" for B<MG_LOG_DEBUG> (10) and
"warn" for B<MG_LOG_WARN> (30). I<user_data> is ignored.

Set it as the I<log> member of B<mg_retry_options>, or let the executor
select it: when I<log> is NULL and the environment variable
B<MG_RETRY_LOG> is "debug" or "warn", B<mg_retry_run>(3) logs with
B<mg_log_stderr>() at that level. At B<MG_LOG_DEBUG> each retry is logged
with its number and delay; at B<MG_LOG_WARN> giving up is logged with the
stop reason and the number of attempts.
""",
        **{"return": "Nothing."},
        threads="Thread-safe.",
        history="Added in libmgretry 1.0.",
        see=["mg_retry_options_init(3)", "mg_retry_run(3)"],
    ),
    # ----------------------------------------------------------------- error
    dict(
        section="Errors: mg_error",
        functions=CONSTRUCTORS,
        header=ERROR_H,
        summary="create an mg_error of a given kind",
        synopsis_pre=["#define MG_NONE (-1)"],
        description="""
An B<mg_error> is the C mirror of the media gateway's MediaGatewayError:
an immutable-once-built, heap-allocated value of one of nineteen kinds,
each with the fields and display text of the original. There is one
constructor per kind, named after it, taking the kind's fields. Each
stores a new error in I<*out>, owned by the caller, who frees it with
B<mg_error_free>(3).

Input strings are copied. Optional strings may be NULL (absent): the
I<field> of Validation, I<key> of Configuration, I<query> of Search,
I<resource> of Conflict, and I<expected> and I<actual> of InvalidState.
Required strings may be empty but not NULL. I<retry_after_s> is the
server-requested delay in seconds, or B<MG_NONE>; I<status_code> is an
HTTP status 0..65535, or B<MG_NONE>.

The kinds (B<mg_error_kind>, values fixed) are B<MG_ERROR_VALIDATION> (1),
B<MG_ERROR_NOT_FOUND>, B<MG_ERROR_USER_NOT_FOUND>,
B<MG_ERROR_AUTHENTICATION>, B<MG_ERROR_AUTHORIZATION>,
B<MG_ERROR_RATE_LIMIT>, B<MG_ERROR_DATABASE>, B<MG_ERROR_EXTERNAL_API>,
B<MG_ERROR_NETWORK>, B<MG_ERROR_SERIALIZATION>,
B<MG_ERROR_CONFIGURATION>, B<MG_ERROR_SEARCH>, B<MG_ERROR_CACHE>,
B<MG_ERROR_CONFLICT>, B<MG_ERROR_SERVICE_UNAVAILABLE>,
B<MG_ERROR_TIMEOUT>, B<MG_ERROR_INVALID_STATE>,
B<MG_ERROR_NOT_IMPLEMENTED> and B<MG_ERROR_INTERNAL> (19), in that order.
""",
        **{"return": """
* B<MG_OK>:: I<*out> holds a new error owned by the caller.
* B<MG_EINVAL>:: I<out> is NULL, a required string is NULL, or a numeric
argument is out of range (I<retry_after_s> < -1, I<status_code> not -1 and
not 0..65535); I<*out>, when I<out> is not NULL, is set to NULL.
* B<MG_ENOMEM>:: memory ran out. I<*out> still holds a usable error: the
static out-of-memory error, of kind B<MG_ERROR_INTERNAL>, whose display
text is "Internal error: out of memory" and for which
B<mg_error_is_oom>(3) is true. It is not retryable, B<mg_error_free>(3)
ignores it and it cannot be given a cause. Code that only reports errors
can therefore ignore the return code and never sees NULL.
"""},
        threads="Constructors may be called from any thread.",
        example="""
  mg_error *err;
  mg_error_new_rate_limit(&err, 100, "minute", 30);
  puts(mg_error_display(err));
  /* Rate limit exceeded: 100 requests per minute */
  mg_error_free(err);
""",
        history="Added in libmgretry 1.0.",
        see=["mg_error_free(3)", "mg_error_display(3)",
             "mg_error_field_str(3)", "mg_error_is_retryable(3)",
             "mg_error_set_cause(3)", "mg_error_new_from_errno(3)",
             "mg_error_new_from_http(3)", "libmgretry(7)"],
    ),
    dict(
        functions=[("mg_error_free", "void mg_error_free(mg_error *err);")],
        header=ERROR_H,
        summary="free an mg_error and its cause chain",
        description="""
B<mg_error_free>() frees I<err> and its whole cause chain (see
B<mg_error_set_cause>(3)). NULL and the static out-of-memory error are
ignored. Pointers obtained from the error's getters become invalid.
""",
        **{"return": "Nothing."},
        threads="Needs exclusive access to I<err>.",
        history="Added in libmgretry 1.0.",
        see=["mg_error_new_validation(3)", "mg_error_set_cause(3)"],
    ),
    dict(
        functions=[
            ("mg_error_get_kind",
             "mg_error_kind mg_error_get_kind(const mg_error *err);"),
            ("mg_error_kind_name", "const char *mg_error_kind_name(int kind);"),
        ],
        header=ERROR_H,
        summary="the kind of an mg_error and its name",
        description="""
B<mg_error_get_kind>() returns the kind of I<err>, an B<mg_error_kind>
value (B<MG_ERROR_VALIDATION> = 1 ... B<MG_ERROR_INTERNAL> = 19).

B<mg_error_kind_name>() returns the original's name of the kind I<kind>:
"Validation", "NotFound", "UserNotFound", "Authentication",
"Authorization", "RateLimit", "Database", "ExternalAPI", "Network",
"Serialization", "Configuration", "Search", "Cache", "Conflict",
"ServiceUnavailable", "Timeout", "InvalidState", "NotImplemented" or
"Internal".
""",
        **{"return": """
B<mg_error_get_kind>() returns the kind, or 0 when I<err> is NULL.

B<mg_error_kind_name>() returns a static string, "Unknown" for a value
that is not a kind. Never NULL.
"""},
        threads="Thread-safe; one error may be read from many threads at "
                "once.",
        history="Added in libmgretry 1.0.",
        see=["mg_error_new_validation(3)", "mg_error_display(3)",
             "mg_error_is_retryable(3)"],
    ),
    dict(
        functions=[
            ("mg_error_display",
             "const char *mg_error_display(const mg_error *err);"),
        ],
        header=ERROR_H,
        summary="the display text of an mg_error",
        description="""
B<mg_error_display>() returns the display text of I<err> alone, without
its causes, exactly as the original formats it, for example "Rate limit
exceeded: 100 requests per minute". B<mg_error_format_chain>(3) writes the
text with the causes.
""",
        **{"return": """
A borrowed string, valid until the error is freed; "" when I<err> is
NULL.
"""},
        threads="Thread-safe; one error may be read from many threads at "
                "once.",
        history="Added in libmgretry 1.0.",
        see=["mg_error_format_chain(3)", "mg_error_field_str(3)",
             "mg_error_new_validation(3)"],
    ),
    dict(
        functions=[
            ("mg_error_field_str",
             "const char *mg_error_field_str(const mg_error *err, int field);"),
            ("mg_error_field_u64",
             "int mg_error_field_u64(const mg_error *err, int field, uint64_t *value);"),
        ],
        header=ERROR_H,
        summary="read a field of an mg_error",
        description="""
B<mg_error_field_str>() returns the string field I<field> of I<err>;
B<mg_error_field_u64>() stores the numeric field I<field> in I<*value>.
I<field> is an B<mg_error_field> value (fixed); the kinds that carry each
field are:

* B<MG_FIELD_MESSAGE> (1):: Validation, Database, ExternalAPI, Network,
Serialization, Configuration, Search, Cache, Conflict, InvalidState,
Internal.
* B<MG_FIELD_FIELD> (2):: Validation (optional).
* B<MG_FIELD_CONTENT_ID> (3):: NotFound.
* B<MG_FIELD_USER_ID> (4):: UserNotFound.
* B<MG_FIELD_REASON> (5):: Authentication, Authorization.
* B<MG_FIELD_WINDOW> (6):: RateLimit.
* B<MG_FIELD_OPERATION> (7):: Database, Cache, Timeout.
* B<MG_FIELD_API> (8):: ExternalAPI.
* B<MG_FIELD_KEY> (9):: Configuration (optional).
* B<MG_FIELD_QUERY> (10):: Search (optional).
* B<MG_FIELD_RESOURCE> (11):: Conflict (optional).
* B<MG_FIELD_SERVICE> (12):: ServiceUnavailable.
* B<MG_FIELD_EXPECTED> (13):: InvalidState (optional).
* B<MG_FIELD_ACTUAL> (14):: InvalidState (optional).
* B<MG_FIELD_FEATURE> (15):: NotImplemented.
* B<MG_FIELD_LIMIT> (32):: RateLimit (a uint32_t).
* B<MG_FIELD_RETRY_AFTER> (33):: RateLimit, ServiceUnavailable (optional,
seconds).
* B<MG_FIELD_STATUS_CODE> (34):: ExternalAPI (optional, a uint16_t).
* B<MG_FIELD_DURATION_MS> (35):: Timeout.
""",
        **{"return": """
B<mg_error_field_str>() returns a borrowed string, valid until the error
is freed, or NULL when the kind has no such field, the optional field is
absent, or I<err> is NULL.

B<mg_error_field_u64>() returns:

* B<MG_OK>:: I<*value> is set.
* B<MG_ENOTFOUND>:: the kind has no such field, or it is absent.
* B<MG_EINVAL>:: I<err> or I<value> is NULL.
"""},
        threads="Thread-safe; one error may be read from many threads at "
                "once.",
        history="Added in libmgretry 1.0.",
        see=["mg_error_new_validation(3)", "mg_error_display(3)",
             "mg_error_retry_after(3)"],
    ),
    dict(
        functions=[
            ("mg_error_is_retryable",
             "bool mg_error_is_retryable(const mg_error *err);"),
            ("mg_error_is_client_error",
             "bool mg_error_is_client_error(const mg_error *err);"),
            ("mg_error_is_server_error",
             "bool mg_error_is_server_error(const mg_error *err);"),
            ("mg_error_is_oom", "bool mg_error_is_oom(const mg_error *err);"),
        ],
        header=ERROR_H,
        summary="classify an mg_error as the original does",
        description="""
B<mg_error_is_retryable>() is true for the kinds RateLimit,
ServiceUnavailable, Timeout and Network. B<mg_retry_with_backoff>(3)
classifies with it unless told otherwise.

B<mg_error_is_client_error>() is true for the 4xx-like kinds: Validation,
NotFound, UserNotFound, Authentication, Authorization and Conflict.

B<mg_error_is_server_error>() is true for the 5xx-like kinds: Database,
Internal and ServiceUnavailable.

B<mg_error_is_oom>() is true only for the static out-of-memory error that
a constructor stores when memory runs out (see
B<mg_error_new_validation>(3)).
""",
        **{"return": """
true or false as above; false for every other kind and for NULL.
"""},
        threads="Thread-safe; one error may be read from many threads at "
                "once.",
        history="Added in libmgretry 1.0.",
        see=["mg_error_retry_after(3)", "mg_error_get_kind(3)",
             "mg_retry_with_backoff(3)"],
    ),
    dict(
        functions=[
            ("mg_error_retry_after",
             "int mg_error_retry_after(const mg_error *err, uint64_t *seconds);"),
        ],
        header=ERROR_H,
        summary="the server-requested delay of an mg_error",
        description="""
B<mg_error_retry_after>() stores in I<*seconds> the server-requested
delay, in seconds, of a RateLimit or ServiceUnavailable error that carries
one. B<mg_retry_with_backoff>(3) uses it as the server pushback unless
told otherwise.
""",
        **{"return": """
* B<MG_OK>:: I<*seconds> is set.
* B<MG_ENOTFOUND>:: the error is of another kind or carries no delay.
* B<MG_EINVAL>:: I<err> or I<seconds> is NULL.
"""},
        threads="Thread-safe; one error may be read from many threads at "
                "once.",
        history="Added in libmgretry 1.0.",
        see=["mg_error_is_retryable(3)", "mg_http_parse_retry_after(3)",
             "mg_retry_with_backoff(3)"],
    ),
    dict(
        functions=[
            ("mg_error_set_cause",
             "int mg_error_set_cause(mg_error *err, mg_error *cause);"),
            ("mg_error_set_cause_errno",
             "int mg_error_set_cause_errno(mg_error *err, int errnum);"),
            ("mg_error_cause",
             "const mg_error *mg_error_cause(const mg_error *err);"),
            ("mg_error_cause_errno",
             "int mg_error_cause_errno(const mg_error *err);"),
        ],
        header=ERROR_H,
        summary="the cause (source) of an mg_error",
        description="""
An error may have one cause: another B<mg_error>, which may have a cause
in turn, or a system error number.

B<mg_error_set_cause>() makes I<cause> the cause of I<err>. On success,
ownership of I<cause> moves to I<err>, which frees it with itself, and a
previous cause of I<err> is freed: pointers the caller still holds into
the old chain become invalid. On failure the caller keeps ownership of
I<cause> and I<err> is unchanged.

B<mg_error_set_cause_errno>() makes the system error I<errnum> (> 0) the
cause of I<err>, replacing and freeing any previous cause, so that
pointers into the old chain become invalid. It does not allocate.

B<mg_error_cause>() returns the B<mg_error> cause of I<err>.

B<mg_error_cause_errno>() returns the errno cause of I<err>.
""",
        **{"return": """
B<mg_error_set_cause>() returns B<MG_OK>; B<MG_EINVAL> when I<err> or
I<cause> is NULL, or when I<cause> is I<err> or already has I<err> in its
chain (that would make a cycle); B<MG_ENOMEM> when I<err> is the static
out-of-memory error.

B<mg_error_set_cause_errno>() returns B<MG_OK>; B<MG_EINVAL> when I<err>
is NULL or I<errnum> <= 0; B<MG_ENOMEM> when I<err> is the static
out-of-memory error.

B<mg_error_cause>() returns a borrowed pointer, valid until I<err> is
freed or its cause replaced, or NULL when there is none.

B<mg_error_cause_errno>() returns the error number, or 0 when I<err> has
none.
"""},
        threads="The getters are thread-safe for readers; setting a cause "
                "needs exclusive access to I<err>.",
        history="Added in libmgretry 1.0.",
        see=["mg_error_format_chain(3)", "mg_error_free(3)",
             "mg_error_new_from_errno(3)"],
    ),
    dict(
        functions=[
            ("mg_error_format_chain",
             "int mg_error_format_chain(const mg_error *err, char *buf, size_t size, size_t *needed);"),
        ],
        header=ERROR_H,
        summary="write the text of an mg_error and its causes",
        description="""
B<mg_error_format_chain>() writes the display text of I<err> and of each
of its causes, joined by ": caused by: ", into I<buf>. An errno cause is
written as its B<strerror>(3) text followed by " (errno I<N>)".

Like B<snprintf>(3), the output is truncated to I<size> - 1 bytes and
always NUL-terminated when I<size> > 0. When I<needed> is not NULL it
receives the full length without the NUL, so that a buffer of I<*needed> +
1 bytes holds the whole text.
""",
        **{"return": """
* B<MG_OK>:: the whole text was written.
* B<MG_ETOOSMALL>:: the text was truncated.
* B<MG_EINVAL>:: I<err> is NULL, or I<buf> is NULL with I<size> > 0.
"""},
        threads="Thread-safe; it does not allocate.",
        example="""
  char text[256];
  mg_error_format_chain(err, text, sizeof text, NULL);
  /* Database error: connect failed: caused by:
     Connection refused (errno 111) */
""",
        history="Added in libmgretry 1.0.",
        see=["mg_error_display(3)", "mg_error_set_cause(3)"],
    ),
    dict(
        functions=[
            ("mg_error_new_from_errno",
             "int mg_error_new_from_errno(mg_error **out, int errnum, const char *context);"),
            ("mg_error_kind_from_errno",
             "mg_error_kind mg_error_kind_from_errno(int errnum);"),
        ],
        header=ERROR_H,
        summary="map a system error number to an mg_error",
        description="""
B<mg_error_kind_from_errno>() returns the kind that the system error
number I<errnum> maps to:

* Timeout:: B<ETIMEDOUT>.
* Network:: B<ECONNREFUSED>, B<ECONNRESET>, B<ECONNABORTED>,
B<EHOSTUNREACH>, B<ENETUNREACH>, B<ENETDOWN>, B<ENETRESET>, B<EHOSTDOWN>,
B<ENOTCONN>, B<EPIPE>.
* ServiceUnavailable:: B<EAGAIN>, B<EWOULDBLOCK>, B<EBUSY>, B<EINTR>.
* NotFound:: B<ENOENT>.
* Authorization:: B<EACCES>, B<EPERM>.
* Conflict:: B<EEXIST>.
* Validation:: B<EINVAL>, B<EDOM>, B<ERANGE>, B<E2BIG>, B<ENAMETOOLONG>.
* NotImplemented:: B<ENOSYS>, B<ENOTSUP>, B<EOPNOTSUPP>.
* Serialization:: B<EPROTO>, B<EBADMSG>, B<EILSEQ>.
* Internal:: anything else, and values <= 0.

B<mg_error_new_from_errno>() creates an error of that kind whose cause is
I<errnum> (see B<mg_error_cause_errno>(3)). I<context> names what failed
("system call" when NULL) and fills the kind's main field (operation,
service, content_id, message...).
""",
        **{"return": """
B<mg_error_kind_from_errno>() returns an B<mg_error_kind>.

B<mg_error_new_from_errno>() returns as the constructors do (see
B<mg_error_new_validation>(3)): B<MG_OK> with a new error in I<*out>;
B<MG_EINVAL> when I<out> is NULL or I<errnum> <= 0; B<MG_ENOMEM> with the
static out-of-memory error in I<*out>.
"""},
        threads="Thread-safe.",
        example="""
  if (connect(fd, addr, len) != 0) {
      mg_error *err;
      mg_error_new_from_errno(&err, errno, "connect");
      /* ECONNREFUSED: a retryable Network error */
  }
""",
        history="Added in libmgretry 1.0.",
        see=["mg_error_new_validation(3)", "mg_error_set_cause(3)",
             "mg_error_new_from_http(3)", "errno(3)"],
    ),
    dict(
        functions=[
            ("mg_error_new_from_http",
             "int mg_error_new_from_http(mg_error **out, int status, const char *retry_after, const char *api);"),
            ("mg_error_kind_from_http",
             "mg_error_kind mg_error_kind_from_http(int status);"),
        ],
        header=ERROR_H,
        summary="map an HTTP error response to an mg_error",
        description="""
B<mg_error_kind_from_http>() returns the kind that the HTTP error status
I<status> maps to: 429 RateLimit, 503 ServiceUnavailable, 504 and 408
Timeout, 400 Validation, 401 Authentication, 403 Authorization, 404
NotFound, 409 Conflict, 500 Internal, 501 NotImplemented, and ExternalAPI
for any other 4xx or 5xx status.

B<mg_error_new_from_http>() creates an error for an HTTP response with
status 400..599. I<retry_after> is the raw Retry-After header value, or
NULL; it is parsed with B<mg_http_parse_retry_after>(3) against the
current UTC time and, when valid, becomes the retry-after of a 429 or 503
error; a malformed value is ignored. I<api> names the service ("http" when
NULL). The ExternalAPI kind carries the status code.
""",
        **{"return": """
B<mg_error_kind_from_http>() returns an B<mg_error_kind>, or 0 for a
status outside 400..599.

B<mg_error_new_from_http>() returns as the constructors do (see
B<mg_error_new_validation>(3)): B<MG_OK> with a new error in I<*out>;
B<MG_EINVAL> when I<out> is NULL or I<status> is outside 400..599;
B<MG_ENOMEM> with the static out-of-memory error in I<*out>.
"""},
        threads="Thread-safe.",
        history="Added in libmgretry 1.0.",
        see=["mg_http_parse_retry_after(3)", "mg_error_retry_after(3)",
             "mg_error_new_from_errno(3)", "mg_retry_with_backoff(3)"],
    ),
    dict(
        functions=[
            ("mg_http_parse_retry_after",
             "int mg_http_parse_retry_after(const char *value, int64_t now_unix, uint64_t *seconds);"),
        ],
        header=ERROR_H,
        summary="parse an HTTP Retry-After value",
        description="""
B<mg_http_parse_retry_after>() parses the HTTP Retry-After header value
I<value> (RFC 9110 section 10.2.3): delta-seconds, or an HTTP-date in any
of the three formats a recipient must accept (IMF-fixdate, RFC 850 and
asctime). Surrounding spaces and tabs are allowed.

A date is turned into seconds from I<now_unix> (seconds since the epoch,
UTC); a date in the past gives 0. delta-seconds beyond 2^31 saturate to
2147483648, as RFC 9110 advises.
""",
        **{"return": """
* B<MG_OK>:: I<*seconds> is set.
* B<MG_EPARSE>:: the value is malformed: empty, signed, garbage, or a date
with out-of-range fields.
* B<MG_EINVAL>:: I<value> or I<seconds> is NULL.
"""},
        threads="Thread-safe; it does not allocate.",
        example="""
  uint64_t s;
  mg_http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT",
                            (int64_t)time(NULL), &s);
  mg_http_parse_retry_after("120", 0, &s);  /* s == 120 */
""",
        history="Added in libmgretry 1.0.",
        see=["mg_error_new_from_http(3)", "mg_error_retry_after(3)"],
    ),
    # ------------------------------------------------------- 1.1: strings
    dict(
        section="Policy strings (1.1)",
        functions=[
            ("mg_policy_parse",
             "int mg_policy_parse(mg_policy *out, const char *text, size_t *error_offset);"),
            ("mg_policy_format",
             "int mg_policy_format(const mg_policy *policy, char *buf, size_t size, size_t *needed);"),
        ],
        header=RETRY_H,
        summary="read and write a retry policy as a string",
        description="""
A policy string is the text form of an B<mg_policy>, for environment
variables, command lines and configuration files, for example

  aggressive max=2s
  retries=5 base=50ms max=5s jitter=full multiplier=2 deadline=30s

Its grammar: an optional preset name first, then items separated by
whitespace (space, tab, CR, LF, VT, FF), each I<key>=I<value> with no
spaces around "=":

* I<preset>:: B<default>, B<aggressive> or B<gentle>, only as the first
item; see B<mg_policy_preset>(3).
* B<retries=>I<N>:: I<max_retries>, decimal digits, 0 to 4294967295.
* B<base=>I<DUR>:: I<base_delay_ms>.
* B<max=>I<DUR>:: I<max_delay_ms>.
* B<jitter=>I<MODE>:: B<none>, B<proportional>, B<full>, B<equal> or
B<decorrelated>.
* B<multiplier=>I<X>:: a decimal, DIGITS [ "." DIGITS ] [ "e" [+-] DIGITS ],
for example 2, 1.5 or 1e3, read exactly (the nearest double).
* B<deadline=>I<DUR>:: I<max_elapsed_ms>; 0 means none.
* B<pushback=>I<DUR>:: I<max_pushback_ms>.

A duration I<DUR> is decimal digits followed by a unit, B<ms>, B<s> or
B<m>; the unit is required ("base=100" is an error), except for a bare 0.
Keys, units and names are lower case and each key may appear once. Fields
not given keep the preset's values (the default preset when no name is
given); I<version> is B<MG_POLICY_VERSION> and I<reserved> is 0. Nothing
depends on the locale.

B<mg_policy_parse>() reads the policy string I<text> into I<*out>. Nothing
is ever truncated or clamped silently. On failure I<*out> is left unchanged
and, when I<error_offset> is not NULL, it receives the byte offset in
I<text> of the item at fault (for B<MG_EPOLICY> the multiplier, or the
later of base and max; 0 for empty input and for B<MG_EINVAL>); on success
it is not written.

B<mg_policy_format>() writes the valid policy I<policy> as a policy
string, with every key in the order above, durations in the largest unit
that holds them exactly, and the multiplier as the shortest decimal that
reads back as the same double, so that B<mg_policy_parse>() of the text
gives back an identical policy. The default preset is written as
"retries=3 base=100ms max=5s jitter=proportional multiplier=2 deadline=0
pushback=1m". Like B<snprintf>(3), the output is truncated to I<size> - 1
bytes and always NUL-terminated when I<size> > 0; when I<needed> is not
NULL it receives the full length without the NUL, never more than 255.
""",
        **{"return": """
B<mg_policy_parse>() returns:

* B<MG_OK>:: I<*out> holds the policy.
* B<MG_EINVAL>:: I<out> or I<text> is NULL.
* B<MG_EPARSE>:: empty input (nothing but whitespace), an unknown or
repeated key, an item without "=" (other than a leading preset name), a
duration without unit, an unknown jitter mode or unit, or any other
malformed value.
* B<MG_ERANGE>:: a number does not fit its field: a count above
B<UINT32_MAX>, a duration above B<UINT64_MAX> ms, a multiplier beyond the
largest double or with more than 800 significant digits.
* B<MG_EPOLICY>:: the result fails B<mg_policy_validate>(3) (base above
max, multiplier below 1).

B<mg_policy_format>() returns:

* B<MG_OK>:: the whole text was written.
* B<MG_ETOOSMALL>:: the text was truncated (I<size> 0 included).
* B<MG_EINVAL>:: I<policy> is NULL, or I<buf> is NULL with I<size> > 0.
* B<MG_EVERSION>, B<MG_EPOLICY>:: the policy is invalid, as reported by
B<mg_policy_validate>(3); nothing is written.
"""},
        threads="Thread-safe; neither function allocates.",
        example="""
  mg_policy p;
  size_t at;
  char text[256];
  if (mg_policy_parse(&p, "retries=5 base=50ms max=5s", &at) != MG_OK)
      fprintf(stderr, "bad policy at byte %zu\\n", at);
  else
      mg_policy_format(&p, text, sizeof text, NULL);
""",
        history="Added in libmgretry 1.1.",
        see=["mg_policy_init(3)", "mg_policy_validate(3)", "mgretry(1)",
             "libmgretry(7)"],
    ),
    # ------------------------------------------------------- 1.1: budgets
    dict(
        section="Overload protection (1.1)",
        functions=[
            ("mg_budget_new_token_bucket",
             "int mg_budget_new_token_bucket(mg_budget **out, uint32_t max_tokens, double token_ratio);"),
            ("mg_budget_ratio_config_init",
             "int mg_budget_ratio_config_init(mg_budget_ratio_config *config, uint32_t version);"),
            ("mg_budget_new_ratio",
             "int mg_budget_new_ratio(mg_budget **out, const mg_budget_ratio_config *config);"),
            ("mg_budget_free", "void mg_budget_free(mg_budget *budget);"),
            ("mg_budget_on_request",
             "void mg_budget_on_request(mg_budget *budget);"),
            ("mg_budget_on_success",
             "void mg_budget_on_success(mg_budget *budget);"),
            ("mg_budget_on_failure",
             "void mg_budget_on_failure(mg_budget *budget);"),
            ("mg_budget_try_retry", "bool mg_budget_try_retry(mg_budget *budget);"),
            ("mg_budget_set_stats",
             "int mg_budget_set_stats(mg_budget *budget, mg_stats *stats);"),
        ],
        header=RETRY_H,
        summary="retry budgets: cap the load that retries add",
        synopsis_pre=["""typedef struct mg_budget_ratio_config {
    uint32_t version;             /* MG_BUDGET_RATIO_CONFIG_VERSION */
    uint32_t ratio_percent;       /* 0 to 1000 */
    uint32_t min_retries_per_sec; /* 0 to 1000000 */
    uint32_t window_ms;           /* 100 to 3600000 */
    mg_clock_fn clock;            /* NULL: mg_clock_monotonic */
    void *clock_data;
} mg_budget_ratio_config;

mg_budget_ratio_config c = MG_BUDGET_RATIO_CONFIG_INIT;"""],
        description="""
A retry budget (B<mg_budget>, opaque) caps how many retries a client adds
to the load of a struggling dependency. Any number of runs, state machines
and threads share one budget; it is lock-free (C11 atomics,
compare-and-swap), never allocates after creation, and reads its clock
only when a decision depends on time. A NULL budget allows everything. To
use one with the executor, set the I<budget> member of
B<mg_retry_options>; the run then reports to it and stops with
B<MG_STOP_BUDGET> when it refuses a retry.

B<mg_budget_new_token_bucket>() creates a gRPC-style token bucket (gRFC
A6 retry throttling). The bucket holds I<max_tokens> tokens at the start;
every failed attempt takes one (not below 0), every successful attempt puts
back I<token_ratio> (not above I<max_tokens>), and a retry is allowed only
while the bucket holds more than I<max_tokens> / 2. Tokens are kept in
thousandths, so I<token_ratio> is rounded to the nearest 0.001, as in gRPC.
I<max_tokens> must be in [1, 1000]; I<token_ratio> finite, above 0 after
rounding, and at most I<max_tokens>. gRPC's example values are 10 and 0.1.

B<mg_budget_new_ratio>() creates an SRE/Envoy/Finagle-style ratio budget
from I<*config>, which is copied (the clock and its data must outlive the
budget). Within the sliding window, retries may number at most
I<ratio_percent> % of the first attempts plus I<min_retries_per_sec> per
second of the window, so that a quiet client can still retry.
I<min_retries_per_sec> must not be 0 when I<ratio_percent> is 0. The window
is 10 buckets of I<window_ms> / 10 each and slides a bucket at a time: it
covers between 90 % and 100 % of I<window_ms> of history. The clock is
read by B<mg_budget_on_request>() and B<mg_budget_try_retry>() only.

B<mg_budget_ratio_config_init>() fills I<*config> with
B<MG_BUDGET_RATIO_CONFIG_INIT> for struct version I<version> (pass
B<MG_BUDGET_RATIO_CONFIG_VERSION>): Finagle's and tower's defaults, 20 %,
10 retries per second and a 10 s window (the SRE book suggests 10 %).

B<mg_budget_free>() frees a budget.

B<mg_budget_on_request>() reports that a first attempt is about to be
made (a new request): the ratio budget counts it; the token bucket ignores
it.

B<mg_budget_on_success>() reports that an attempt succeeded: the token
bucket refunds I<token_ratio>; the ratio budget ignores it.

B<mg_budget_on_failure>() reports that an attempt failed: the token
bucket pays one token; the ratio budget ignores it.

B<mg_budget_try_retry>() tells whether a retry may be made now. For the
ratio budget a true answer also counts the retry (the check and the count
are one compare-and-swap, so concurrent callers never overrun the limit
while the clock stays within one bucket); the token bucket only looks (its
failures pay). A false answer is counted in the attached statistics.

B<mg_budget_set_stats>() attaches a statistics object that counts this
budget's refusals (I<budget_refusals>), or detaches it with NULL. The
statistics must outlive the attachment.
""",
        **{"return": """
B<mg_budget_new_token_bucket>() and B<mg_budget_new_ratio>() return
B<MG_OK> with I<*out> set; B<MG_EINVAL> when I<out> (or I<config>) is NULL
or a value is out of range, then I<*out> is NULL; B<MG_EVERSION>
(B<mg_budget_new_ratio>) for an unknown config version; B<MG_ENOMEM>, then
I<*out> is NULL.

B<mg_budget_ratio_config_init>() returns B<MG_OK>, B<MG_EINVAL> when
I<config> is NULL, or B<MG_EVERSION> for an unknown version.

B<mg_budget_try_retry>() returns true when the retry may be made, and
true for a NULL budget.

B<mg_budget_set_stats>() returns B<MG_OK>, or B<MG_EINVAL> when I<budget>
is NULL.

B<mg_budget_free>() (NULL is a no-op) and the B<mg_budget_on_*>()
functions (NULL is a no-op) return nothing.
"""},
        threads="""
Thread-safe and lock-free. Freeing a budget that another thread still
uses is undefined, as for any handle.
""",
        history="Added in libmgretry 1.1.",
        see=["mg_breaker_new(3)", "mg_stats_new(3)",
             "mg_retry_options_init(3)", "mg_retry_run(3)", "libmgretry(7)"],
    ),
    # ------------------------------------------------------- 1.1: breaker
    dict(
        functions=[
            ("mg_breaker_new",
             "int mg_breaker_new(mg_breaker **out, const mg_breaker_config *config);"),
            ("mg_breaker_config_init",
             "int mg_breaker_config_init(mg_breaker_config *config, uint32_t version);"),
            ("mg_breaker_free", "void mg_breaker_free(mg_breaker *breaker);"),
            ("mg_breaker_allow", "bool mg_breaker_allow(mg_breaker *breaker);"),
            ("mg_breaker_on_success",
             "void mg_breaker_on_success(mg_breaker *breaker);"),
            ("mg_breaker_on_failure",
             "void mg_breaker_on_failure(mg_breaker *breaker);"),
            ("mg_breaker_get_state",
             "int mg_breaker_get_state(const mg_breaker *breaker);"),
            ("mg_breaker_set_stats",
             "int mg_breaker_set_stats(mg_breaker *breaker, mg_stats *stats);"),
        ],
        header=RETRY_H,
        summary="a circuit breaker for a failing dependency",
        synopsis_pre=["""typedef void (*mg_breaker_change_fn)(int old_state, int new_state,
                                     void *user_data);

typedef struct mg_breaker_config {
    uint32_t version;              /* MG_BREAKER_CONFIG_VERSION */
    uint32_t consecutive_failures; /* 0 = off, else 1 to 1000000 */
    uint32_t failure_rate_percent; /* 0 = off, else 1 to 100 */
    uint32_t min_calls;            /* 1 to 1000000 when the rate is on */
    uint64_t window_ms;            /* 100 to 3600000 when the rate is on */
    uint64_t open_ms;              /* 1 to 86400000 (one day) */
    uint32_t half_open_probes;     /* 1 to 1000 */
    uint32_t reserved;             /* must be 0 */
    mg_breaker_change_fn on_change; /* NULL: not reported */
    void *on_change_data;
    mg_clock_fn clock;             /* NULL: mg_clock_monotonic */
    void *clock_data;
} mg_breaker_config;

mg_breaker_config c = MG_BREAKER_CONFIG_INIT;"""],
        description="""
A circuit breaker (B<mg_breaker>, opaque) stops calling a dependency that
keeps failing. Any number of runs and threads share one breaker; it is
lock-free, never allocates after creation, and reads its clock only when a
decision depends on time. A NULL breaker allows everything. To use one
with the executor, set the I<breaker> member of B<mg_retry_options>; the
run then asks it before every attempt, reports each outcome, and stops
with B<MG_STOP_BREAKER> when it refuses an attempt.

Its states (B<mg_breaker_state>, values fixed) are B<MG_BREAKER_CLOSED>
(0: attempts flow and outcomes are counted), B<MG_BREAKER_OPEN> (1:
attempts are refused until I<open_ms> pass) and B<MG_BREAKER_HALF_OPEN>
(2: I<half_open_probes> attempts are let through). CLOSED opens when
either trigger fires: I<consecutive_failures> failures in a row (0 = off),
or, once the sliding window (10 buckets of I<window_ms> / 10) holds at
least I<min_calls> outcomes, a failure share of at least
I<failure_rate_percent> (0 = off). OPEN refuses every attempt for
I<open_ms>; then the next B<mg_breaker_allow>() moves to HALF_OPEN, where
one failure re-opens the breaker for another I<open_ms> and
I<half_open_probes> successes close it, with a fresh window and failure
count. After each state change I<on_change> is called with the old and the
new state, by the thread that made the change and with no lock held (so it
may call the breaker); concurrent changes may be reported out of order.

B<mg_breaker_config_init>() fills I<*config> with
B<MG_BREAKER_CONFIG_INIT> for struct version I<version> (pass
B<MG_BREAKER_CONFIG_VERSION>): 5 failures in a row (Polly's classic
breaker), or 50 % of at least 20 calls in 10 s (Hystrix), 5 s open
(Hystrix, Polly), 1 probe (Hystrix).

B<mg_breaker_new>() creates a CLOSED breaker from I<*config>, which is
copied (the callback, the clock and their data must outlive the breaker).
At least one trigger must be on.

B<mg_breaker_free>() frees a breaker.

B<mg_breaker_allow>() is asked before each attempt. True: make it, then
report its outcome with B<mg_breaker_on_success>() or
B<mg_breaker_on_failure>(). False: do not (OPEN and I<open_ms> not yet
over, or HALF_OPEN with every probe handed out); the refusal is counted in
the attached statistics. Probes whose outcome has not been reported
I<open_ms> after they were handed out are presumed lost, and a fresh set is
handed out, so that an abandoned probe cannot keep the breaker half-open
for ever. It reads the clock only in OPEN, and in HALF_OPEN once every
probe is out.

B<mg_breaker_on_success>() reports an allowed attempt's success. In
HALF_OPEN it counts a probe success; outcomes that arrive while OPEN are
ignored. It reads the clock only when the failure-rate trigger is on.

B<mg_breaker_on_failure>() reports an allowed attempt's failure, and may
open the breaker. It reads the clock when the failure-rate trigger is on
or the breaker opens.

B<mg_breaker_get_state>() returns the current state. An OPEN breaker whose
I<open_ms> has passed reads as B<MG_BREAKER_HALF_OPEN>; the change itself,
and its callback, happen at the next B<mg_breaker_allow>().

B<mg_breaker_set_stats>() attaches a statistics object that counts this
breaker's transitions and refusals, or detaches it with NULL. The
statistics must outlive the attachment.
""",
        **{"return": """
B<mg_breaker_new>() returns B<MG_OK> with I<*out> set; B<MG_EINVAL> when
I<out> or I<config> is NULL, a value is out of range, both triggers are
off or I<reserved> is not 0, then I<*out> is NULL; B<MG_EVERSION> for an
unknown config version; B<MG_ENOMEM>, then I<*out> is NULL.

B<mg_breaker_config_init>() returns B<MG_OK>, B<MG_EINVAL> when I<config>
is NULL, or B<MG_EVERSION> for an unknown version.

B<mg_breaker_allow>() returns true when the attempt may be made, and true
for a NULL breaker.

B<mg_breaker_get_state>() returns an B<mg_breaker_state>, or B<MG_EINVAL>
when I<breaker> is NULL.

B<mg_breaker_set_stats>() returns B<MG_OK>, or B<MG_EINVAL> when
I<breaker> is NULL.

B<mg_breaker_free>(), B<mg_breaker_on_success>() and
B<mg_breaker_on_failure>() return nothing; NULL is a no-op.
"""},
        threads="""
Thread-safe and lock-free. Freeing a breaker that another thread still
uses is undefined, as for any handle.
""",
        history="Added in libmgretry 1.1.",
        see=["mg_budget_new_token_bucket(3)", "mg_stats_new(3)",
             "mg_retry_options_init(3)", "mg_retry_run(3)", "libmgretry(7)"],
    ),
    # --------------------------------------------------------- 1.1: stats
    dict(
        functions=[
            ("mg_stats_new", "int mg_stats_new(mg_stats **out);"),
            ("mg_stats_free", "void mg_stats_free(mg_stats *stats);"),
            ("mg_stats_get_snapshot",
             "int mg_stats_get_snapshot(const mg_stats *stats, mg_stats_snapshot *out);"),
            ("mg_stats_format_prometheus",
             "int mg_stats_format_prometheus(const mg_stats *stats, const char *prefix, char *buf, size_t size, size_t *needed);"),
        ],
        header=RETRY_H,
        summary="count what retry runs, budgets and breakers do",
        synopsis_pre=["""typedef struct mg_stats_snapshot {
    uint32_t version;  /* MG_STATS_SNAPSHOT_VERSION */
    uint32_t reserved;
    uint64_t calls;     /* runs started */
    uint64_t attempts;  /* calls of the operation */
    uint64_t retries;   /* waits scheduled after a failed attempt */
    uint64_t successes; /* runs that ended with MG_STOP_SUCCESS */
    uint64_t stops[MG_STATS_STOP_SLOTS]; /* runs ended, by mg_stop */
    uint64_t slept_ms;  /* sum of the waits chosen; saturates */
    uint64_t budget_refusals;     /* retries refused by a budget */
    uint64_t breaker_opened;      /* transitions to OPEN */
    uint64_t breaker_half_opened; /* transitions to HALF_OPEN */
    uint64_t breaker_closed;      /* transitions to CLOSED */
    uint64_t breaker_refusals;    /* attempts refused by a breaker */
} mg_stats_snapshot;

mg_stats_snapshot s = MG_STATS_SNAPSHOT_INIT;"""],
        description="""
A statistics object (B<mg_stats>, opaque) is a set of lock-free counters.
Runs count into it through the I<stats> member of B<mg_retry_options>;
budgets and breakers through B<mg_budget_set_stats>(3) and
B<mg_breaker_set_stats>(3). A NULL statistics object counts nothing. All
counters count since creation.

B<mg_stats_new>() creates a statistics object with every counter 0.

B<mg_stats_free>() frees it. Nothing may still report to it.

B<mg_stats_get_snapshot>() copies the counters into I<*out>, whose
I<version> the caller sets (B<MG_STATS_SNAPSHOT_INIT>). Each counter is
read atomically, the set is not: a run in flight may be half counted.
I<stops> has B<MG_STATS_STOP_SLOTS> (8) slots, one per B<mg_stop> value,
with room to grow.

B<mg_stats_format_prometheus>() writes the counters in the Prometheus text
exposition format 0.0.4: for each metric a "# HELP" and a "# TYPE
I<name> counter" line, then its samples, each line ending in a newline.
With the prefix I<P> (I<prefix>, or "mgretry" when NULL) the metrics are
I<P>_calls_total, I<P>_attempts_total, I<P>_retries_total,
I<P>_successes_total, I<P>_stops_total{reason="success", "exhausted",
"not_retryable", "deadline", "cancelled", "pushback", "budget" or
"breaker"}, I<P>_slept_seconds_total (milliseconds written as an exact
decimal, "1.250"), I<P>_budget_refusals_total,
I<P>_breaker_transitions_total{state="open", "half_open" or "closed"} and
I<P>_breaker_refusals_total. The prefix must match
[a-zA-Z_:][a-zA-Z0-9_:]* and be at most 64 bytes. Like B<snprintf>(3),
the text is truncated to I<size> - 1 bytes and NUL-terminated when I<size>
> 0; when I<needed> is not NULL it receives the full length without the
NUL, also on B<MG_ETOOSMALL>, so that a second call with I<*needed> + 1
bytes succeeds unless the counters grew. It does not allocate.
""",
        **{"return": """
B<mg_stats_new>() returns B<MG_OK>; B<MG_EINVAL> when I<out> is NULL;
B<MG_ENOMEM>, then I<*out> is NULL.

B<mg_stats_get_snapshot>() returns B<MG_OK>; B<MG_EINVAL> when an argument
is NULL; B<MG_EVERSION> when I<out->version> is unknown.

B<mg_stats_format_prometheus>() returns B<MG_OK>; B<MG_ETOOSMALL> when the
text did not fit; B<MG_EINVAL> when I<stats> is NULL, I<buf> is NULL with
I<size> > 0, or the prefix is invalid.

B<mg_stats_free>() returns nothing; NULL is a no-op.
"""},
        threads="Thread-safe and lock-free.",
        history="Added in libmgretry 1.1.",
        see=["mg_budget_set_stats(3)", "mg_breaker_set_stats(3)",
             "mg_retry_options_init(3)", "libmgretry(7)"],
    ),
    # -------------------------------------------------- 1.1: state machine
    dict(
        section="Retry state machine (1.1)",
        functions=[
            ("mg_retry_state_init",
             "int mg_retry_state_init(mg_retry_state *st, const mg_policy *policy, const mg_retry_options *options);"),
            ("mg_retry_state_begin",
             "int mg_retry_state_begin(mg_retry_state *st);"),
            ("mg_retry_state_on_success",
             "int mg_retry_state_on_success(mg_retry_state *st);"),
            ("mg_retry_state_on_failure",
             "int mg_retry_state_on_failure(mg_retry_state *st, const void *error, uint64_t now_ns, uint64_t *delay_ms);"),
            ("mg_retry_state_attempts",
             "uint32_t mg_retry_state_attempts(const mg_retry_state *st);"),
        ],
        header=RETRY_H,
        summary="the retry loop as a state machine, for event loops",
        synopsis_pre=["""typedef struct mg_retry_state { /* private fields */ } mg_retry_state;

#define MG_RETRY_AGAIN 100"""],
        description="""
The retry state machine is the retry loop without the loop: a small
caller-owned state that is told "the attempt succeeded" or "the attempt
failed with this error at this time" and answers "retry after I<D> ms" or
"stop, for this reason". It makes every decision B<mg_retry_run>(3) makes
(B<mg_retry_run> is a loop over it), in the same order and with the same
random draws, but it never calls the operation, never sleeps, never
allocates and frees nothing: an event loop arms a timer for I<D> ms
instead of sleeping.

An B<mg_retry_state> is 64 bytes on LP64 (never more), caller-allocated
(on the stack, inside a request struct, in an array), and holds no pointer
to itself, so it may be copied between calls. Its fields are private: read
it through these functions only, as the layout may change within the same
size. It refers to the policy and the options by pointer: both must
outlive the state and must not change while it is in use. The options'
I<is_retryable>, I<pushback>, I<random>, I<cancel>, I<budget>, I<breaker>
and I<stats> are used; I<drop_error>, I<on_retry>, I<log> and I<sleep> are
the caller's business.

B<mg_retry_state_init>() starts the state of one operation under
I<policy> (NULL: the default preset) and I<options> (NULL: all defaults;
version 1 or 2). It reads no clock and calls nothing. Re-initialising a
state restarts it; nothing is released, as the state owns nothing. Unlike
B<mg_retry_run>(3), a custom clock without a custom sleep is fine here.

B<mg_retry_state_begin>() is asked before each attempt, the first
included. The first call counts the call in I<options->stats>, tells the
budget that a request starts (after the breaker let it through) and, only
when the policy has I<max_elapsed_ms>, reads I<options->clock> (NULL:
B<mg_clock_monotonic>(3)) once to fix the deadline.

B<mg_retry_state_on_success>() reports that the attempt begun last
succeeded, and tells the breaker and the budget.

B<mg_retry_state_on_failure>() reports that the attempt begun last failed
with I<error> (anything, NULL included; it is only passed to
I<is_retryable> and I<pushback>). Every failed attempt counts as a failure
for the breaker and the budget, whatever I<is_retryable> says. Then, in
this order: not retryable (B<MG_STOP_NOT_RETRYABLE>), no retries left
(B<MG_STOP_EXHAUSTED>), cancel flag triggered (B<MG_STOP_CANCELLED>),
pushback above I<max_pushback_ms> (B<MG_STOP_PUSHBACK>); the backoff delay
is drawn and wait = max(delay, pushback); I<now_ns> + wait past the
deadline (B<MG_STOP_DEADLINE>), the budget refuses (B<MG_STOP_BUDGET>);
otherwise I<*delay_ms> = wait and the answer is B<MG_RETRY_AGAIN>: wait
that long, then call B<mg_retry_state_begin>(). I<now_ns> is the current
time on the options' clock (B<mg_clock_monotonic>(3) by default;
B<uv_hrtime>() is the same clock on Linux); it is read only when the
policy has I<max_elapsed_ms>, so callers without a deadline may pass 0.

B<mg_retry_state_attempts>() returns the number of attempts begun so far.
After B<MG_RETRY_AGAIN> it is also the number of the retry now due (1 for
the first).
""",
        **{"return": """
B<mg_retry_state_init>() returns B<MG_OK>; B<MG_EINVAL> when I<st> is
NULL; B<MG_EVERSION> for options of an unknown version; or a
B<mg_policy_validate>(3) code. On an error I<*st> is marked unusable:
every other function then returns B<MG_EINVAL>.

B<mg_retry_state_begin>() returns B<MG_OK> (0): make the attempt now, then
report it. Or a stop, after which the state is finished:
B<MG_STOP_CANCELLED> (the cancel flag is triggered) or B<MG_STOP_BREAKER>
(the breaker refused the attempt). Or B<MG_EINVAL>: I<st> is NULL or
unusable, an attempt was begun and not yet reported, or the state already
stopped.

B<mg_retry_state_on_success>() returns B<MG_STOP_SUCCESS> (the state is
then finished), or B<MG_EINVAL> when no attempt is outstanding.

B<mg_retry_state_on_failure>() returns B<MG_RETRY_AGAIN> (100, above every
B<mg_stop> value and never negative), an B<mg_stop> value (the state is
then finished), or B<MG_EINVAL> (I<st> or I<delay_ms> NULL, the state
unusable, no attempt outstanding; the state is unchanged). I<*delay_ms> is
written only with B<MG_RETRY_AGAIN>.

B<mg_retry_state_attempts>() returns the count, which saturates at
B<UINT32_MAX>; 0 for NULL or an unusable state.
"""},
        threads="""
A state is used by one thread at a time; different states share nothing
but what their options point to (budget, breaker and statistics are
thread-safe; a custom random source must be, if shared). The functions are
allocation-free and lock-free.
""",
        example="""
  mg_retry_state st;
  uint64_t delay_ms;
  int rc = mg_retry_state_init(&st, &policy, &options);
  while (rc == MG_OK && (rc = mg_retry_state_begin(&st)) == MG_OK) {
      if (attempt() == 0) {
          rc = mg_retry_state_on_success(&st);   /* MG_STOP_SUCCESS */
          break;
      }
      rc = mg_retry_state_on_failure(&st, NULL, now_ns(), &delay_ms);
      if (rc != MG_RETRY_AGAIN)
          break;                                  /* an mg_stop */
      wait_ms(delay_ms);  /* or arm a timer and return to the loop */
  }
""",
        history="Added in libmgretry 1.1.",
        see=["mg_retry_run(3)", "mg_retry_options_init(3)",
             "mg_budget_new_token_bucket(3)", "mg_breaker_new(3)",
             "libmgretry(7)"],
    ),
]
