/* SPDX-License-Identifier: MIT */
/*
 * mgretry(1): run a command and retry it by a libmgretry policy. This file
 * owns the command line (a policy string from --policy or MGRETRY_POLICY,
 * shorthand flags, exit-code classification), running one attempt (the
 * command spawned in its own process group, waited for with a per-attempt
 * timeout that escalates from SIGTERM to SIGKILL), and the signal
 * handling: SIGINT, SIGTERM and SIGHUP are forwarded to the running
 * command and trigger the retry loop's cancel flag, so no further attempt
 * starts. The loop itself is mg_retry_run(). Exit status: 0 on success,
 * else that of the last attempt (128+N for death by signal N, 124 when it
 * timed out, 126/127 when it could not be run), 125 for mgretry's own
 * errors; interrupted by a signal, mgretry dies by that same signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mg/retry.h>

extern char **environ;

#define EXIT_TIMEDOUT 124
#define EXIT_USAGE 125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127

enum verbosity { QUIET, NORMAL, VERBOSE };

/* A set of exit statuses 0..255. */
struct status_set {
    bool any; /* at least one status was given */
    unsigned char bits[32];
};

struct config {
    mg_policy policy;
    struct status_set retry_on; /* empty: the default classification */
    struct status_set stop_on;
    uint64_t timeout_ms;    /* per attempt; 0 = none */
    uint64_t kill_after_ms; /* SIGTERM to SIGKILL grace period */
    bool foreground;        /* keep the command in our process group */
    enum verbosity verbosity;
    char **argv; /* the command */
};

/* What one attempt ended with. */
struct attempt {
    int status;     /* the exit status mgretry would report */
    int signal;     /* the signal that killed the command, or 0 */
    bool timed_out; /* killed by the per-attempt timeout */
    bool ran;       /* the command was started */
};

struct run {
    const struct config *cfg;
    uint32_t attempts;
    struct attempt last;
};

/* ------------------------------------------------------------------------
 * Signals: state shared with the handlers
 * ---------------------------------------------------------------------- */

static mg_cancel *g_cancel;
static volatile sig_atomic_t g_target;  /* kill() target: pid or -pgid */
static volatile sig_atomic_t g_signal;  /* the first signal received */
static int g_pipe[2] = {-1, -1};        /* self-pipe: wakes the wait */
static const int g_forwarded[] = {SIGINT, SIGTERM, SIGHUP};
static bool g_ignored[3];               /* ignored at start: left so */

static void wake(void)
{
    const int saved = errno;
    const char byte = 0;

    /* Non-blocking: a full pipe already holds a wake-up. */
    if (write(g_pipe[1], &byte, 1) < 0) {
        /* nothing to do */
    }
    errno = saved;
}

static void on_forwarded_signal(int sig)
{
    const int saved = errno;

    if (g_signal == 0)
        g_signal = sig;
    (void)mg_cancel_trigger(g_cancel);
    if (g_target != 0)
        (void)kill((pid_t)g_target, sig);
    wake();
    errno = saved;
}

static void on_sigchld(int sig)
{
    (void)sig;
    wake();
}

static void block_signals(sigset_t *old)
{
    sigset_t set;
    size_t i;

    sigemptyset(&set);
    for (i = 0; i < sizeof g_forwarded / sizeof g_forwarded[0]; i++)
        sigaddset(&set, g_forwarded[i]);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, old);
}

static int set_nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
        return -1;
    return 0;
}

static int install_signals(void)
{
    struct sigaction sa;
    size_t i;

    if (pipe(g_pipe) != 0 || set_nonblock_cloexec(g_pipe[0]) != 0 ||
        set_nonblock_cloexec(g_pipe[1]) != 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_sigchld;
    if (sigaction(SIGCHLD, &sa, NULL) != 0)
        return -1;
    /* Block the other forwarded signals while one is handled. */
    for (i = 0; i < sizeof g_forwarded / sizeof g_forwarded[0]; i++)
        sigaddset(&sa.sa_mask, g_forwarded[i]);
    sa.sa_handler = on_forwarded_signal;
    for (i = 0; i < sizeof g_forwarded / sizeof g_forwarded[0]; i++) {
        struct sigaction old;

        /* A signal ignored by whoever started us (a background job's
         * SIGINT, nohup's SIGHUP) stays ignored, for the command too. */
        if (sigaction(g_forwarded[i], NULL, &old) != 0)
            return -1;
        g_ignored[i] = old.sa_handler == SIG_IGN && g_forwarded[i] != SIGTERM;
        if (!g_ignored[i] && sigaction(g_forwarded[i], &sa, NULL) != 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Messages
 * ---------------------------------------------------------------------- */

#if defined(__GNUC__)
#define MG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MG_PRINTF(f, a)
#endif

static void msg(const char *fmt, ...) MG_PRINTF(1, 2);
static int usage_error(const char *fmt, ...) MG_PRINTF(1, 2);

static void msg(const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "mgretry: %s\n", line);
}

static int usage_error(const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "mgretry: %s\nTry 'mgretry --help' for more information.\n",
            line);
    return EXIT_USAGE;
}

/* "exit status 3", "killed by signal 9 (Killed)", "timed out ...". */
static void describe(const struct run *r, char *buf, size_t size)
{
    const struct attempt *a = &r->last;

    if (a->timed_out)
        snprintf(buf, size, "timed out after %" PRIu64 " ms",
                 r->cfg->timeout_ms);
    else if (a->signal != 0)
        snprintf(buf, size, "killed by signal %d (%s)", a->signal,
                 strsignal(a->signal));
    else if (!a->ran && a->status == EXIT_NOT_FOUND)
        snprintf(buf, size, "command not found");
    else if (!a->ran)
        snprintf(buf, size, "cannot execute the command");
    else
        snprintf(buf, size, "exit status %d", a->status);
}

static void print_help(void)
{
    fputs(
        "Usage: mgretry [OPTION]... [--] COMMAND [ARG]...\n"
        "Run COMMAND and retry it with exponential backoff and jitter while "
        "it fails.\n"
        "\n"
        "Policy (see mgretry(1) and docs/mgretry-cli.md):\n"
        "  -p, --policy=STRING    a policy string, e.g. \"retries=5 base=50ms "
        "max=5s\n"
        "                         jitter=full\" or \"aggressive max=2s\"; "
        "default:\n"
        "                         $MGRETRY_POLICY, else \"default\"\n"
        "  -r, --retries=N        retries after the first attempt\n"
        "      --base=DUR         delay before the first retry\n"
        "      --max=DUR          ceiling of every delay\n"
        "      --jitter=MODE      none, proportional, full, equal or "
        "decorrelated\n"
        "      --multiplier=X     growth of the delay per retry (>= 1)\n"
        "      --deadline=DUR     no retry whose wait would end later than "
        "this\n"
        "                         after the start (0 = none)\n"
        "  DUR is a whole number with a unit: ms, s or m (e.g. 250ms, 3s).\n"
        "  The shorthand flags override the fields of the policy string.\n"
        "\n"
        "Classification (a status is the exit status, 128+N for death by "
        "signal N,\n"
        "124 for a timed-out attempt; CODES are lists such as 1-5,75):\n"
        "      --retry-on=CODES   retry only these statuses\n"
        "      --stop-on=CODES    never retry these statuses\n"
        "  By default every failure is retried except 126 (cannot execute),\n"
        "  127 (not found) and death by SIGINT.\n"
        "\n"
        "Attempts:\n"
        "  -t, --timeout=DUR      kill an attempt that runs longer (SIGTERM, "
        "then SIGKILL)\n"
        "  -k, --kill-after=DUR   grace period before SIGKILL (default 2s)\n"
        "      --foreground       keep COMMAND in mgretry's process group "
        "(signals\n"
        "                         then reach the command only, not its "
        "children)\n"
        "\n"
        "Output:\n"
        "  -q, --quiet            print nothing\n"
        "  -v, --verbose          print each attempt and delay on stderr\n"
        "  -h, --help             show this help and exit\n"
        "  -V, --version          show the version and exit\n"
        "\n"
        "Exit status: 0 on success; else that of the last attempt (128+N if "
        "killed\n"
        "by signal N, 124 if it timed out, 126/127 if COMMAND could not be "
        "run);\n"
        "125 if mgretry itself failed. SIGINT, SIGTERM and SIGHUP are "
        "forwarded to\n"
        "COMMAND and stop the retries; mgretry then dies by the same "
        "signal.\n",
        stdout);
}

/* ------------------------------------------------------------------------
 * Option values, read with the library's own policy grammar
 * ---------------------------------------------------------------------- */

static bool has_space(const char *s)
{
    return strpbrk(s, " \t\n\r\v\f") != NULL;
}

/* Parses "<key>=<value>" as a policy string into *p. A value with
 * whitespace would smuggle in further items, so it is refused. */
static int parse_item(const char *key, const char *value, mg_policy *p)
{
    char buf[512];
    int n;

    if (value == NULL || value[0] == '\0' || has_space(value))
        return MG_EPARSE;
    n = snprintf(buf, sizeof buf, "%s=%s", key, value);
    if (n < 0 || (size_t)n >= sizeof buf)
        return MG_ERANGE;
    return mg_policy_parse(p, buf, NULL);
}

static int parse_duration_opt(const char *opt, const char *value,
                              uint64_t *ms)
{
    mg_policy p;
    int rc = parse_item("deadline", value, &p);

    if (rc != MG_OK)
        return usage_error("%s: invalid duration '%s' (%s; use a unit: ms, "
                           "s or m)",
                           opt, value, mg_status_str(rc));
    *ms = p.max_elapsed_ms;
    return 0;
}

/* "1-5,75,130": statuses 0..255, single or as ranges. */
static int parse_codes(const char *opt, const char *value,
                       struct status_set *set)
{
    const char *s = value;

    if (s == NULL || *s == '\0')
        return usage_error("%s: empty list of exit statuses", opt);
    for (;;) {
        unsigned long lo, hi;
        char *end;

        if (*s < '0' || *s > '9')
            goto bad;
        lo = strtoul(s, &end, 10);
        hi = lo;
        s = end;
        if (*s == '-') {
            s++;
            if (*s < '0' || *s > '9')
                goto bad;
            hi = strtoul(s, &end, 10);
            s = end;
        }
        if (lo > 255 || hi > 255 || lo > hi)
            return usage_error("%s: '%s': statuses are 0-255, ranges low-high",
                               opt, value);
        for (; lo <= hi; lo++)
            set->bits[lo / 8] |= (unsigned char)(1u << (lo % 8));
        set->any = true;
        if (*s == '\0')
            return 0;
        if (*s != ',')
            goto bad;
        s++;
    }
bad:
    return usage_error("%s: '%s' is not a list like 1-5,75", opt, value);
}

static bool set_has(const struct status_set *set, int status)
{
    unsigned u;

    if (status < 0 || status > 255)
        return false;
    u = (unsigned)status;
    return ((unsigned)set->bits[u / 8] >> (u % 8) & 1u) != 0;
}

/* ------------------------------------------------------------------------
 * The command line
 * ---------------------------------------------------------------------- */

enum opt_id {
    OPT_POLICY,
    OPT_RETRIES,
    OPT_BASE,
    OPT_MAX,
    OPT_JITTER,
    OPT_MULTIPLIER,
    OPT_DEADLINE,
    OPT_RETRY_ON,
    OPT_STOP_ON,
    OPT_TIMEOUT,
    OPT_KILL_AFTER,
    OPT_FOREGROUND,
    OPT_QUIET,
    OPT_VERBOSE,
    OPT_HELP,
    OPT_VERSION
};

static const struct option_def {
    const char *name;
    char short_name;
    bool takes_value;
    enum opt_id id;
} options[] = {
    {"policy", 'p', true, OPT_POLICY},
    {"retries", 'r', true, OPT_RETRIES},
    {"base", 0, true, OPT_BASE},
    {"max", 0, true, OPT_MAX},
    {"jitter", 0, true, OPT_JITTER},
    {"multiplier", 0, true, OPT_MULTIPLIER},
    {"deadline", 0, true, OPT_DEADLINE},
    {"retry-on", 0, true, OPT_RETRY_ON},
    {"stop-on", 0, true, OPT_STOP_ON},
    {"timeout", 't', true, OPT_TIMEOUT},
    {"kill-after", 'k', true, OPT_KILL_AFTER},
    {"foreground", 0, false, OPT_FOREGROUND},
    {"quiet", 'q', false, OPT_QUIET},
    {"verbose", 'v', false, OPT_VERBOSE},
    {"help", 'h', false, OPT_HELP},
    {"version", 'V', false, OPT_VERSION},
};

/* The shorthand flags, kept until the policy string is read. */
struct overrides {
    const char *value[OPT_DEADLINE + 1];
};

/* Returns -1 to go on, or an exit status (0 after --help/--version). */
static int parse_args(int argc, char **argv, struct config *cfg)
{
    struct overrides ov;
    const char *policy_text = NULL, *policy_source = "--policy";
    const char *env;
    int i, rc;
    size_t off = 0;
    const char *why = NULL;

    memset(&ov, 0, sizeof ov);
    memset(cfg, 0, sizeof *cfg);
    cfg->kill_after_ms = 2000;
    cfg->verbosity = NORMAL;

    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = NULL, *name;
        char shown[64];
        size_t k, n = sizeof options / sizeof options[0];
        const struct option_def *o = NULL;

        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0')
            break; /* the command */
        if (arg[1] == '-') {
            const char *eq = strchr(arg + 2, '=');
            size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);

            for (k = 0; k < n; k++)
                if (strlen(options[k].name) == len &&
                    memcmp(options[k].name, arg + 2, len) == 0)
                    o = &options[k];
            if (o == NULL)
                return usage_error("unknown option '%s'", arg);
            if (eq != NULL) {
                if (!o->takes_value)
                    return usage_error("option '--%s' takes no value",
                                       o->name);
                value = eq + 1;
            }
            snprintf(shown, sizeof shown, "--%s", o->name);
        } else {
            for (k = 0; k < n; k++)
                if (options[k].short_name == arg[1])
                    o = &options[k];
            if (o == NULL)
                return usage_error("unknown option '%s'", arg);
            if (arg[2] != '\0') {
                if (!o->takes_value)
                    return usage_error("option '-%c' takes no value "
                                       "(one option per argument)",
                                       arg[1]);
                value = arg + 2;
            }
            snprintf(shown, sizeof shown, "-%c", arg[1]);
        }
        name = shown;
        if (o->takes_value && value == NULL) {
            if (i + 1 >= argc)
                return usage_error("option '%s' needs a value", name);
            value = argv[++i];
        }
        switch (o->id) {
        case OPT_POLICY:
            policy_text = value;
            break;
        case OPT_RETRIES:
        case OPT_BASE:
        case OPT_MAX:
        case OPT_JITTER:
        case OPT_MULTIPLIER:
        case OPT_DEADLINE:
            ov.value[o->id] = value;
            break;
        case OPT_RETRY_ON:
            if (parse_codes(name, value, &cfg->retry_on) != 0)
                return EXIT_USAGE;
            break;
        case OPT_STOP_ON:
            if (parse_codes(name, value, &cfg->stop_on) != 0)
                return EXIT_USAGE;
            break;
        case OPT_TIMEOUT:
            if (parse_duration_opt(name, value, &cfg->timeout_ms) != 0)
                return EXIT_USAGE;
            break;
        case OPT_KILL_AFTER:
            if (parse_duration_opt(name, value, &cfg->kill_after_ms) != 0)
                return EXIT_USAGE;
            break;
        case OPT_FOREGROUND:
            cfg->foreground = true;
            break;
        case OPT_QUIET:
            cfg->verbosity = QUIET;
            break;
        case OPT_VERBOSE:
            cfg->verbosity = VERBOSE;
            break;
        case OPT_HELP:
            print_help();
            return 0;
        default: /* OPT_VERSION */
            printf("mgretry (libmgretry) %s\n", mg_retry_version());
            return 0;
        }
    }
    if (i >= argc)
        return usage_error("no command given");
    cfg->argv = argv + i;

    env = getenv("MGRETRY_POLICY");
    if (policy_text == NULL && env != NULL && env[0] != '\0') {
        policy_text = env;
        policy_source = "MGRETRY_POLICY";
    }
    if (policy_text == NULL)
        policy_text = "default";
    rc = mg_policy_parse(&cfg->policy, policy_text, &off);
    if (rc != MG_OK) {
        size_t len = strcspn(policy_text + off, " \t\n\r\v\f");

        return usage_error("%s: invalid policy \"%s\": %s at byte %zu "
                           "(\"%.*s\")",
                           policy_source, policy_text, mg_status_str(rc), off,
                           (int)(len > 200 ? 200 : len), policy_text + off);
    }

    /* The shorthand flags override single fields, each value read with
     * the same grammar as the policy string. */
    {
        static const char *const keys[] = {
            [OPT_RETRIES] = "retries", [OPT_BASE] = "base",
            [OPT_MAX] = "max",         [OPT_JITTER] = "jitter",
            [OPT_MULTIPLIER] = "multiplier"};
        int id;

        for (id = OPT_RETRIES; id <= OPT_DEADLINE; id++) {
            const char *value = ov.value[id];
            mg_policy p;

            if (value == NULL)
                continue;
            if (id == OPT_BASE || id == OPT_MAX || id == OPT_DEADLINE) {
                uint64_t ms;
                char opt[16];

                snprintf(opt, sizeof opt, "--%s",
                         id == OPT_BASE ? "base"
                                        : id == OPT_MAX ? "max" : "deadline");
                if (parse_duration_opt(opt, value, &ms) != 0)
                    return EXIT_USAGE;
                if (id == OPT_BASE)
                    cfg->policy.base_delay_ms = ms;
                else if (id == OPT_MAX)
                    cfg->policy.max_delay_ms = ms;
                else
                    cfg->policy.max_elapsed_ms = ms;
                continue;
            }
            rc = parse_item(keys[id], value, &p);
            if (rc != MG_OK)
                return usage_error("--%s: invalid value '%s' (%s)", keys[id],
                                   value, mg_status_str(rc));
            if (id == OPT_RETRIES)
                cfg->policy.max_retries = p.max_retries;
            else if (id == OPT_JITTER)
                cfg->policy.jitter = p.jitter;
            else
                cfg->policy.multiplier = p.multiplier;
        }
    }
    if (mg_policy_validate(&cfg->policy, &why) != MG_OK)
        return usage_error("invalid policy: %s", why);
    return -1;
}

/* ------------------------------------------------------------------------
 * One attempt
 * ---------------------------------------------------------------------- */

static void drain_pipe(void)
{
    char buf[64];

    while (read(g_pipe[0], buf, sizeof buf) > 0) {
    }
}

/* Milliseconds from now until `when_ns` (a mg_clock_monotonic reading),
 * as a poll() timeout: 0 when due, at most INT_MAX. */
static int ms_until(uint64_t when_ns)
{
    const uint64_t now = mg_clock_monotonic(NULL);
    uint64_t ms;

    if (when_ns <= now)
        return 0;
    ms = (when_ns - now) / 1000000 + ((when_ns - now) % 1000000 != 0);
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

static uint64_t add_ms(uint64_t ns, uint64_t ms)
{
    const uint64_t d = ms > UINT64_MAX / 1000000 ? UINT64_MAX : ms * 1000000;

    return ns > UINT64_MAX - d ? UINT64_MAX : ns + d;
}

/* Waits for the command, enforcing the timeout. Signals are unblocked. */
static int wait_child(pid_t pid, const struct config *cfg, struct attempt *a)
{
    const bool has_timeout = cfg->timeout_ms != 0;
    uint64_t term_at = 0, kill_at = 0;
    bool term_sent = false, kill_sent = false;
    int st;

    if (has_timeout)
        term_at = add_ms(mg_clock_monotonic(NULL), cfg->timeout_ms);
    for (;;) {
        struct pollfd pfd;
        pid_t w = waitpid(pid, &st, WNOHANG);
        int wait_ms = -1;

        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            msg("waitpid: %s", strerror(errno));
            return -1;
        }
        if (has_timeout && !term_sent) {
            wait_ms = ms_until(term_at);
            if (wait_ms == 0) {
                (void)kill((pid_t)g_target, SIGTERM);
                term_sent = true;
                a->timed_out = true;
                kill_at = add_ms(mg_clock_monotonic(NULL), cfg->kill_after_ms);
                continue;
            }
        } else if (term_sent && !kill_sent) {
            wait_ms = ms_until(kill_at);
            if (wait_ms == 0) {
                (void)kill((pid_t)g_target, SIGKILL);
                kill_sent = true;
                continue;
            }
        }
        pfd.fd = g_pipe[0];
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, wait_ms) > 0)
            drain_pipe();
    }
    if (WIFSIGNALED(st)) {
        a->signal = WTERMSIG(st);
        a->status = 128 + a->signal;
    } else {
        a->status = WEXITSTATUS(st);
    }
    if (a->timed_out)
        a->status = EXIT_TIMEDOUT;
    return 0;
}

/* Runs the command once into *a. Returns false, leaving *a alone, when a
 * signal came after the loop last looked at the cancel flag: no new
 * attempt may start then. */
static bool run_attempt(const struct config *cfg, struct attempt *a)
{
    posix_spawnattr_t attr;
    sigset_t old, defaults;
    pid_t pid;
    size_t i;
    int rc;

    block_signals(&old);
    if (mg_cancel_is_triggered(g_cancel)) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        return false;
    }
    memset(a, 0, sizeof *a);
    sigemptyset(&defaults);
    for (i = 0; i < sizeof g_forwarded / sizeof g_forwarded[0]; i++)
        if (!g_ignored[i])
            sigaddset(&defaults, g_forwarded[i]);
    sigaddset(&defaults, SIGCHLD);
    if (posix_spawnattr_init(&attr) != 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        a->status = EXIT_CANNOT_EXEC;
        msg("cannot run %s: out of memory", cfg->argv[0]);
        return true;
    }
    (void)posix_spawnattr_setsigmask(&attr, &old);
    (void)posix_spawnattr_setsigdefault(&attr, &defaults);
    if (!cfg->foreground)
        (void)posix_spawnattr_setpgroup(&attr, 0);
    (void)posix_spawnattr_setflags(
        &attr, (short)(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                       (cfg->foreground ? 0 : POSIX_SPAWN_SETPGROUP)));
    rc = posix_spawnp(&pid, cfg->argv[0], NULL, &attr, cfg->argv, environ);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        a->status = rc == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
        if (cfg->verbosity != QUIET)
            msg("%s: %s", cfg->argv[0], strerror(rc));
        return true;
    }
    a->ran = true;
    g_target = cfg->foreground ? pid : -pid;
    sigprocmask(SIG_SETMASK, &old, NULL);

    if (wait_child(pid, cfg, a) != 0)
        a->status = EXIT_USAGE;
    block_signals(&old);
    g_target = 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    return true;
}

/* ------------------------------------------------------------------------
 * The retry loop's callbacks
 * ---------------------------------------------------------------------- */

static uint64_t total_attempts(const struct config *cfg)
{
    return (uint64_t)cfg->policy.max_retries + 1;
}

static int op_attempt(void *user_data, void **error)
{
    struct run *r = user_data;
    char what[256];

    *error = NULL;
    if (!run_attempt(r->cfg, &r->last)) {
        if (r->attempts == 0) { /* nothing ran: report the signal */
            r->last.status = 128 + (int)g_signal;
            r->last.signal = (int)g_signal;
            r->last.ran = true;
        }
        return 1; /* classify() refuses it: the flag is set */
    }
    r->attempts++;
    if (r->cfg->verbosity == VERBOSE) {
        if (r->last.status == 0) {
            msg("attempt %" PRIu32 " of %" PRIu64 " succeeded", r->attempts,
                total_attempts(r->cfg));
        } else {
            describe(r, what, sizeof what);
            msg("attempt %" PRIu32 " of %" PRIu64 " failed: %s", r->attempts,
                total_attempts(r->cfg), what);
        }
    }
    return r->last.status == 0 ? 0 : 1;
}

static bool classify(const void *error, void *user_data)
{
    const struct run *r = user_data;
    const struct config *cfg = r->cfg;
    const int s = r->last.status;

    (void)error;
    if (mg_cancel_is_triggered(g_cancel))
        return false;
    if (set_has(&cfg->stop_on, s))
        return false;
    if (cfg->retry_on.any)
        return set_has(&cfg->retry_on, s);
    return s != EXIT_CANNOT_EXEC && s != EXIT_NOT_FOUND &&
           !(r->last.signal == SIGINT && !r->last.timed_out);
}

static void on_retry(uint32_t retry, uint64_t delay_ms, const void *error,
                     void *user_data)
{
    const struct run *r = user_data;

    (void)error;
    if (r->cfg->verbosity == VERBOSE)
        msg("retry %" PRIu32 " of %" PRIu32 " in %" PRIu64 " ms", retry,
            r->cfg->policy.max_retries, delay_ms);
}

/* mgretry reports for itself; MG_RETRY_LOG must not add a second voice. */
static void log_nothing(int level, const char *message, void *user_data)
{
    (void)level;
    (void)message;
    (void)user_data;
}

static const char *stop_text(int stop)
{
    switch (stop) {
    case MG_STOP_EXHAUSTED:
        return "retries exhausted";
    case MG_STOP_NOT_RETRYABLE:
        return "not retryable";
    case MG_STOP_DEADLINE:
        return "deadline reached";
    case MG_STOP_CANCELLED:
        return "interrupted";
    default:
        return mg_retry_stop_str(stop);
    }
}

int main(int argc, char **argv)
{
    struct config cfg;
    struct run run;
    mg_retry_options opts = MG_RETRY_OPTIONS_INIT;
    mg_retry_result result = MG_RETRY_RESULT_INIT;
    int rc, stop;

    rc = parse_args(argc, argv, &cfg);
    if (rc >= 0)
        return rc;
    if (mg_cancel_new(&g_cancel) != MG_OK) {
        msg("out of memory");
        return EXIT_USAGE;
    }
    if (install_signals() != 0) {
        msg("cannot set up signal handling: %s", strerror(errno));
        return EXIT_USAGE;
    }

    memset(&run, 0, sizeof run);
    run.cfg = &cfg;
    opts.is_retryable = classify;
    opts.is_retryable_data = &run;
    opts.on_retry = on_retry;
    opts.on_retry_data = &run;
    opts.log = log_nothing;
    opts.cancel = g_cancel;
    stop = mg_retry_run(&cfg.policy, op_attempt, &run, &opts, &result);
    if (stop < 0) {
        msg("retry loop failed: %s", mg_status_str(stop));
        return EXIT_USAGE;
    }
    if (stop == MG_STOP_SUCCESS)
        return 0;

    if (cfg.verbosity != QUIET) {
        char what[256];

        describe(&run, what, sizeof what);
        if (g_signal != 0)
            msg("interrupted by signal %d (%s) after %" PRIu32
                " attempt%s: %s",
                (int)g_signal, strsignal((int)g_signal), run.attempts,
                run.attempts == 1 ? "" : "s", what);
        else
            msg("giving up after %" PRIu32 " attempt%s (%s): %s",
                run.attempts, run.attempts == 1 ? "" : "s", stop_text(stop),
                what);
    }
    if (g_signal != 0) {
        /* Die by the signal, so that a calling shell or make stops too. */
        struct sigaction sa;
        sigset_t set;

        fflush(NULL);
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigemptyset(&sa.sa_mask);
        sigaction((int)g_signal, &sa, NULL);
        sigemptyset(&set);
        sigaddset(&set, (int)g_signal);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        raise((int)g_signal);
        return 128 + (int)g_signal;
    }
    /* g_cancel is not freed: a late signal's handler may still use it
     * until the process is gone. */
    return run.last.status;
}
