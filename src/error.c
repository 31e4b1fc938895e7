/* SPDX-License-Identifier: MIT */
/*
 * mg_error: the nineteen error kinds of the original MediaGatewayError,
 * their constructors, getters, classification and cause chains, the
 * mappings from errno values and HTTP responses, the Retry-After parser,
 * and mg_status_str(). Each error is one heap block (struct, copied
 * strings and precomputed display text) so a constructor has exactly one
 * point of failure; when it fails, callers get a read-only static error
 * instead. There is no mutable static state in this file.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "mg_internal.h"

/* ---- status codes ---- */

const char *mg_status_str(int status)
{
    switch (status) {
#define MG_STATUS_CASE_(name, value, text)                                     \
    case value:                                                                \
        return text;
        MG_STATUS_MAP(MG_STATUS_CASE_)
#undef MG_STATUS_CASE_
    default:
        return "unknown status";
    }
}

/* ---- the error object ---- */

/* String fields have ids 1..MG_STR_SLOTS-1, numeric fields
 * MG_NUM_BASE..MG_NUM_BASE+MG_NUM_SLOTS-1 (see mg_error_field). */
#define MG_STR_SLOTS 16
#define MG_NUM_BASE 32
#define MG_NUM_SLOTS 4

/*
 * Invariants: str[f] is NULL exactly when the kind has no field f or the
 * optional field is absent; otherwise it points into the same heap block
 * as the struct (or to static storage for the OOM error). Bit (f - 32) of
 * num_present says numeric field f is set. At most one of cause and
 * cause_errno is set, and the cause chain is acyclic and singly owned.
 */
struct mg_error {
    mg_error_kind kind;
    int cause_errno;
    unsigned num_present;
    mg_error *cause;
    const char *display;
    const char *str[MG_STR_SLOTS];
    uint64_t num[MG_NUM_SLOTS];
};

/* Handed out when a constructor cannot allocate. It is const (so it lands
 * in read-only memory and any accidental write faults instead of racing)
 * and every mutating entry point refuses it. */
static const mg_error mg_oom_error = {
    .kind = MG_ERROR_INTERNAL,
    .display = "Internal error: out of memory",
    .str = {[MG_FIELD_MESSAGE] = "out of memory"},
};

static bool is_oom(const mg_error *err)
{
    return err == &mg_oom_error;
}

/* The public API passes mg_error * for the OOM error too; it is never
 * written through (see is_oom() checks), so dropping const is sound. */
static mg_error *oom_error(void)
{
    /* NOLINTNEXTLINE(performance-no-int-to-ptr): not a real address */
    return (mg_error *)(uintptr_t)&mg_oom_error;
}

/* ---- per-kind description: name, classification, display template ---- */

enum { TOK_END = 0, TOK_LIT, TOK_STR, TOK_NUM };
enum { CLS_RETRYABLE = 1u, CLS_CLIENT = 2u, CLS_SERVER = 4u };

struct tok {
    unsigned char type;
    unsigned char field;
    const char *lit;
};

struct kind_info {
    const char *name;
    unsigned cls;
    struct tok display[5];
};

/* One row per kind reads better than clang-format's reflow. */
/* clang-format off */
#define LIT(s) {TOK_LIT, 0, s}
#define STR(f) {TOK_STR, f, NULL}
#define NUM(f) {TOK_NUM, f, NULL}

/* Indexed by mg_error_kind; the texts are the SPEC's, verbatim. */
static const struct kind_info kinds[] = {
    [MG_ERROR_VALIDATION] = {"Validation", CLS_CLIENT,
                             {LIT("Validation error: "),
                              STR(MG_FIELD_MESSAGE)}},
    [MG_ERROR_NOT_FOUND] = {"NotFound", CLS_CLIENT,
                            {LIT("Content not found: "),
                             STR(MG_FIELD_CONTENT_ID)}},
    [MG_ERROR_USER_NOT_FOUND] = {"UserNotFound", CLS_CLIENT,
                                 {LIT("User not found: "),
                                  STR(MG_FIELD_USER_ID)}},
    [MG_ERROR_AUTHENTICATION] = {"Authentication", CLS_CLIENT,
                                 {LIT("Authentication failed: "),
                                  STR(MG_FIELD_REASON)}},
    [MG_ERROR_AUTHORIZATION] = {"Authorization", CLS_CLIENT,
                                {LIT("Authorization failed: "),
                                 STR(MG_FIELD_REASON)}},
    [MG_ERROR_RATE_LIMIT] = {"RateLimit", CLS_RETRYABLE,
                             {LIT("Rate limit exceeded: "),
                              NUM(MG_FIELD_LIMIT), LIT(" requests per "),
                              STR(MG_FIELD_WINDOW)}},
    [MG_ERROR_DATABASE] = {"Database", CLS_SERVER,
                           {LIT("Database error: "), STR(MG_FIELD_MESSAGE)}},
    [MG_ERROR_EXTERNAL_API] = {"ExternalAPI", 0,
                               {LIT("External API error from "),
                                STR(MG_FIELD_API), LIT(": "),
                                STR(MG_FIELD_MESSAGE)}},
    [MG_ERROR_NETWORK] = {"Network", CLS_RETRYABLE,
                          {LIT("Network error: "), STR(MG_FIELD_MESSAGE)}},
    [MG_ERROR_SERIALIZATION] = {"Serialization", 0,
                                {LIT("Serialization error: "),
                                 STR(MG_FIELD_MESSAGE)}},
    [MG_ERROR_CONFIGURATION] = {"Configuration", 0,
                                {LIT("Configuration error: "),
                                 STR(MG_FIELD_MESSAGE)}},
    [MG_ERROR_SEARCH] = {"Search", 0,
                         {LIT("Search error: "), STR(MG_FIELD_MESSAGE)}},
    [MG_ERROR_CACHE] = {"Cache", 0,
                        {LIT("Cache error: "), STR(MG_FIELD_OPERATION),
                         LIT(" failed: "), STR(MG_FIELD_MESSAGE)}},
    [MG_ERROR_CONFLICT] = {"Conflict", CLS_CLIENT,
                           {LIT("Conflict: "), STR(MG_FIELD_MESSAGE)}},
    [MG_ERROR_SERVICE_UNAVAILABLE] = {"ServiceUnavailable",
                                      CLS_RETRYABLE | CLS_SERVER,
                                      {LIT("Service unavailable: "),
                                       STR(MG_FIELD_SERVICE)}},
    [MG_ERROR_TIMEOUT] = {"Timeout", CLS_RETRYABLE,
                          {LIT("Operation timed out after "),
                           NUM(MG_FIELD_DURATION_MS), LIT("ms: "),
                           STR(MG_FIELD_OPERATION)}},
    [MG_ERROR_INVALID_STATE] = {"InvalidState", 0,
                                {LIT("Invalid state: "),
                                 STR(MG_FIELD_MESSAGE)}},
    [MG_ERROR_NOT_IMPLEMENTED] = {"NotImplemented", 0,
                                  {LIT("Feature not implemented: "),
                                   STR(MG_FIELD_FEATURE)}},
    [MG_ERROR_INTERNAL] = {"Internal", CLS_SERVER,
                           {LIT("Internal error: "), STR(MG_FIELD_MESSAGE)}},
};

/* clang-format on */

#undef LIT
#undef STR
#undef NUM

#define KIND_COUNT (sizeof kinds / sizeof kinds[0])

static const struct kind_info *kind_info(int kind)
{
    if (kind <= 0 || (size_t)kind >= KIND_COUNT)
        return NULL;
    return &kinds[kind];
}

/* ---- building an error ---- */

/* What a constructor asks for. A string field is up to two pieces that
 * are concatenated (so "HTTP 404 from " + api needs no temporary buffer);
 * str[f][0] == NULL means absent. */
struct spec {
    mg_error_kind kind;
    const char *str[MG_STR_SLOTS][2];
    uint64_t num[MG_NUM_SLOTS];
    unsigned num_present;
};

static size_t size_add_sat(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* Decimal text of v, written backwards into buf[21]; returns its start. */
static const char *fmt_u64(char buf[static 21], uint64_t v)
{
    char *p = buf + 20;
    *p = '\0';
    do {
        *--p = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0);
    return p;
}

static void spec_init(struct spec *s, mg_error_kind kind)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
}

static void spec_str(struct spec *s, int field, const char *value)
{
    s->str[field][0] = value;
    s->str[field][1] = NULL;
}

static void spec_num(struct spec *s, int field, uint64_t value)
{
    s->num[field - MG_NUM_BASE] = value;
    s->num_present |= 1u << (field - MG_NUM_BASE);
}

static int reject(mg_error **out)
{
    if (out != NULL)
        *out = NULL;
    return MG_EINVAL;
}

/* Lays out struct | field strings | display text in one block. The only
 * failure is the allocation; then *out gets the static OOM error. */
static int build(mg_error **out, const struct spec *s)
{
    const struct kind_info *info = &kinds[s->kind];
    size_t flen[MG_STR_SLOTS] = {0};
    size_t total = sizeof(mg_error);
    size_t dlen = 0;
    char numbuf[21];

    for (int f = 1; f < MG_STR_SLOTS; f++) {
        if (s->str[f][0] == NULL)
            continue;
        flen[f] = strlen(s->str[f][0]);
        if (s->str[f][1] != NULL)
            flen[f] = size_add_sat(flen[f], strlen(s->str[f][1]));
        total = size_add_sat(total, size_add_sat(flen[f], 1));
    }
    for (const struct tok *t = info->display; t->type != TOK_END; t++) {
        if (t->type == TOK_LIT)
            dlen = size_add_sat(dlen, strlen(t->lit));
        else if (t->type == TOK_STR)
            dlen = size_add_sat(dlen, flen[t->field]);
        else
            dlen = size_add_sat(
                dlen, strlen(fmt_u64(numbuf, s->num[t->field - MG_NUM_BASE])));
    }
    total = size_add_sat(total, size_add_sat(dlen, 1));

    /* SIZE_MAX means the sum saturated: no block could hold it. */
    mg_error *err = total == SIZE_MAX ? NULL : mg__malloc(total);
    if (err == NULL) {
        *out = oom_error();
        return MG_ENOMEM;
    }

    memset(err, 0, sizeof *err);
    err->kind = s->kind;
    memcpy(err->num, s->num, sizeof err->num);
    err->num_present = s->num_present;

    char *p = (char *)(err + 1);
    for (int f = 1; f < MG_STR_SLOTS; f++) {
        if (s->str[f][0] == NULL)
            continue;
        err->str[f] = p;
        size_t n0 = strlen(s->str[f][0]);
        memcpy(p, s->str[f][0], n0);
        if (s->str[f][1] != NULL)
            memcpy(p + n0, s->str[f][1], flen[f] - n0);
        p += flen[f];
        *p++ = '\0';
    }
    err->display = p;
    for (const struct tok *t = info->display; t->type != TOK_END; t++) {
        const char *piece;
        size_t n;
        if (t->type == TOK_LIT) {
            piece = t->lit;
            n = strlen(piece);
        } else if (t->type == TOK_STR) {
            piece = err->str[t->field];
            n = flen[t->field];
        } else {
            piece = fmt_u64(numbuf, s->num[t->field - MG_NUM_BASE]);
            n = strlen(piece);
        }
        memcpy(p, piece, n);
        p += n;
    }
    *p = '\0';

    *out = err;
    return MG_OK;
}

/* Constructors of kinds whose fields are all strings: required ones must
 * be non-NULL, optional ones may be NULL. */
static int new_strings(mg_error **out, mg_error_kind kind, int f1,
                       const char *v1, bool req1, int f2, const char *v2,
                       bool req2, int f3, const char *v3)
{
    struct spec s;
    if (out == NULL || (req1 && v1 == NULL) || (req2 && v2 == NULL))
        return reject(out);
    spec_init(&s, kind);
    spec_str(&s, f1, v1);
    if (f2 != 0)
        spec_str(&s, f2, v2);
    if (f3 != 0)
        spec_str(&s, f3, v3);
    return build(out, &s);
}

int mg_error_new_validation(mg_error **out, const char *message,
                            const char *field)
{
    return new_strings(out, MG_ERROR_VALIDATION, MG_FIELD_MESSAGE, message,
                       true, MG_FIELD_FIELD, field, false, 0, NULL);
}

int mg_error_new_not_found(mg_error **out, const char *content_id)
{
    return new_strings(out, MG_ERROR_NOT_FOUND, MG_FIELD_CONTENT_ID, content_id,
                       true, 0, NULL, false, 0, NULL);
}

int mg_error_new_user_not_found(mg_error **out, const char *user_id)
{
    return new_strings(out, MG_ERROR_USER_NOT_FOUND, MG_FIELD_USER_ID, user_id,
                       true, 0, NULL, false, 0, NULL);
}

int mg_error_new_authentication(mg_error **out, const char *reason)
{
    return new_strings(out, MG_ERROR_AUTHENTICATION, MG_FIELD_REASON, reason,
                       true, 0, NULL, false, 0, NULL);
}

int mg_error_new_authorization(mg_error **out, const char *reason)
{
    return new_strings(out, MG_ERROR_AUTHORIZATION, MG_FIELD_REASON, reason,
                       true, 0, NULL, false, 0, NULL);
}

int mg_error_new_rate_limit(mg_error **out, uint32_t limit, const char *window,
                            int64_t retry_after_s)
{
    struct spec s;
    if (out == NULL || window == NULL || retry_after_s < MG_NONE)
        return reject(out);
    spec_init(&s, MG_ERROR_RATE_LIMIT);
    spec_str(&s, MG_FIELD_WINDOW, window);
    spec_num(&s, MG_FIELD_LIMIT, limit);
    if (retry_after_s != MG_NONE)
        spec_num(&s, MG_FIELD_RETRY_AFTER, (uint64_t)retry_after_s);
    return build(out, &s);
}

int mg_error_new_database(mg_error **out, const char *message,
                          const char *operation)
{
    return new_strings(out, MG_ERROR_DATABASE, MG_FIELD_MESSAGE, message, true,
                       MG_FIELD_OPERATION, operation, true, 0, NULL);
}

int mg_error_new_external_api(mg_error **out, const char *api,
                              const char *message, int32_t status_code)
{
    struct spec s;
    if (out == NULL || api == NULL || message == NULL ||
        (status_code != MG_NONE && (status_code < 0 || status_code > 65535)))
        return reject(out);
    spec_init(&s, MG_ERROR_EXTERNAL_API);
    spec_str(&s, MG_FIELD_API, api);
    spec_str(&s, MG_FIELD_MESSAGE, message);
    if (status_code != MG_NONE)
        spec_num(&s, MG_FIELD_STATUS_CODE, (uint64_t)status_code);
    return build(out, &s);
}

int mg_error_new_network(mg_error **out, const char *message)
{
    return new_strings(out, MG_ERROR_NETWORK, MG_FIELD_MESSAGE, message, true,
                       0, NULL, false, 0, NULL);
}

int mg_error_new_serialization(mg_error **out, const char *message)
{
    return new_strings(out, MG_ERROR_SERIALIZATION, MG_FIELD_MESSAGE, message,
                       true, 0, NULL, false, 0, NULL);
}

int mg_error_new_configuration(mg_error **out, const char *message,
                               const char *key)
{
    return new_strings(out, MG_ERROR_CONFIGURATION, MG_FIELD_MESSAGE, message,
                       true, MG_FIELD_KEY, key, false, 0, NULL);
}

int mg_error_new_search(mg_error **out, const char *message, const char *query)
{
    return new_strings(out, MG_ERROR_SEARCH, MG_FIELD_MESSAGE, message, true,
                       MG_FIELD_QUERY, query, false, 0, NULL);
}

int mg_error_new_cache(mg_error **out, const char *operation,
                       const char *message)
{
    return new_strings(out, MG_ERROR_CACHE, MG_FIELD_OPERATION, operation, true,
                       MG_FIELD_MESSAGE, message, true, 0, NULL);
}

int mg_error_new_conflict(mg_error **out, const char *message,
                          const char *resource)
{
    return new_strings(out, MG_ERROR_CONFLICT, MG_FIELD_MESSAGE, message, true,
                       MG_FIELD_RESOURCE, resource, false, 0, NULL);
}

int mg_error_new_service_unavailable(mg_error **out, const char *service,
                                     int64_t retry_after_s)
{
    struct spec s;
    if (out == NULL || service == NULL || retry_after_s < MG_NONE)
        return reject(out);
    spec_init(&s, MG_ERROR_SERVICE_UNAVAILABLE);
    spec_str(&s, MG_FIELD_SERVICE, service);
    if (retry_after_s != MG_NONE)
        spec_num(&s, MG_FIELD_RETRY_AFTER, (uint64_t)retry_after_s);
    return build(out, &s);
}

int mg_error_new_timeout(mg_error **out, const char *operation,
                         uint64_t duration_ms)
{
    struct spec s;
    if (out == NULL || operation == NULL)
        return reject(out);
    spec_init(&s, MG_ERROR_TIMEOUT);
    spec_str(&s, MG_FIELD_OPERATION, operation);
    spec_num(&s, MG_FIELD_DURATION_MS, duration_ms);
    return build(out, &s);
}

int mg_error_new_invalid_state(mg_error **out, const char *message,
                               const char *expected, const char *actual)
{
    return new_strings(out, MG_ERROR_INVALID_STATE, MG_FIELD_MESSAGE, message,
                       true, MG_FIELD_EXPECTED, expected, false,
                       MG_FIELD_ACTUAL, actual);
}

int mg_error_new_not_implemented(mg_error **out, const char *feature)
{
    return new_strings(out, MG_ERROR_NOT_IMPLEMENTED, MG_FIELD_FEATURE, feature,
                       true, 0, NULL, false, 0, NULL);
}

int mg_error_new_internal(mg_error **out, const char *message)
{
    return new_strings(out, MG_ERROR_INTERNAL, MG_FIELD_MESSAGE, message, true,
                       0, NULL, false, 0, NULL);
}

/* Iterative, so that a chain of any length cannot exhaust the stack. The
 * OOM error can sit in a chain (as a cause) but is never freed and never
 * has a cause of its own, so it ends the walk. */
void mg_error_free(mg_error *err)
{
    while (err != NULL && !is_oom(err)) {
        mg_error *next = err->cause;
        mg__free(err);
        err = next;
    }
}

/* ---- reading ---- */

mg_error_kind mg_error_get_kind(const mg_error *err)
{
    return err == NULL ? (mg_error_kind)0 : err->kind;
}

const char *mg_error_kind_name(int kind)
{
    const struct kind_info *info = kind_info(kind);
    return info == NULL ? "Unknown" : info->name;
}

const char *mg_error_display(const mg_error *err)
{
    return err == NULL ? "" : err->display;
}

const char *mg_error_field_str(const mg_error *err, int field)
{
    if (err == NULL || field <= 0 || field >= MG_STR_SLOTS)
        return NULL;
    return err->str[field];
}

int mg_error_field_u64(const mg_error *err, int field, uint64_t *value)
{
    if (err == NULL || value == NULL)
        return MG_EINVAL;
    if (field < MG_NUM_BASE || field >= MG_NUM_BASE + MG_NUM_SLOTS)
        return MG_ENOTFOUND;
    if (!(err->num_present & (1u << (field - MG_NUM_BASE))))
        return MG_ENOTFOUND;
    *value = err->num[field - MG_NUM_BASE];
    return MG_OK;
}

/* ---- classification ---- */

static unsigned classes(const mg_error *err)
{
    const struct kind_info *info =
        err == NULL ? NULL : kind_info((int)err->kind);
    return info == NULL ? 0u : info->cls;
}

bool mg_error_is_retryable(const mg_error *err)
{
    return (classes(err) & CLS_RETRYABLE) != 0;
}

/* Only RateLimit and ServiceUnavailable can carry MG_FIELD_RETRY_AFTER
 * (their constructors are the only ones that set it). */
int mg_error_retry_after(const mg_error *err, uint64_t *seconds)
{
    return mg_error_field_u64(err, MG_FIELD_RETRY_AFTER, seconds);
}

bool mg_error_is_client_error(const mg_error *err)
{
    return (classes(err) & CLS_CLIENT) != 0;
}

bool mg_error_is_server_error(const mg_error *err)
{
    return (classes(err) & CLS_SERVER) != 0;
}

bool mg_error_is_oom(const mg_error *err)
{
    return is_oom(err);
}

/* ---- causes ---- */

/*
 * Rejected with MG_EINVAL: cause == err; err already in cause's chain (a
 * cycle); cause already in err's own chain (err owns it already, and
 * freeing the old chain would free it). A cause owned by some unrelated
 * error cannot be detected without parent links; passing one is a double
 * ownership bug in the caller.
 */
int mg_error_set_cause(mg_error *err, mg_error *cause)
{
    if (err == NULL || cause == NULL)
        return MG_EINVAL;
    if (is_oom(err))
        return MG_ENOMEM;
    for (const mg_error *e = cause; e != NULL; e = e->cause)
        if (e == err)
            return MG_EINVAL;
    for (const mg_error *e = err->cause; e != NULL; e = e->cause)
        if (e == cause)
            return MG_EINVAL;
    mg_error_free(err->cause);
    err->cause = cause;
    err->cause_errno = 0;
    return MG_OK;
}

int mg_error_set_cause_errno(mg_error *err, int errnum)
{
    if (err == NULL || errnum <= 0)
        return MG_EINVAL;
    if (is_oom(err))
        return MG_ENOMEM;
    mg_error_free(err->cause);
    err->cause = NULL;
    err->cause_errno = errnum;
    return MG_OK;
}

const mg_error *mg_error_cause(const mg_error *err)
{
    return err == NULL ? NULL : err->cause;
}

int mg_error_cause_errno(const mg_error *err)
{
    return err == NULL ? 0 : err->cause_errno;
}

/* snprintf-like sink: copies what fits, counts everything (saturating). */
struct sink {
    char *buf;
    size_t size;
    size_t len;
};

static void sink_put(struct sink *k, const char *s, size_t n)
{
    if (k->len < k->size) {
        size_t room = k->size - 1 - k->len;
        memcpy(k->buf + k->len, s, n < room ? n : room);
    }
    k->len = size_add_sat(k->len, n);
}

static void sink_puts(struct sink *k, const char *s)
{
    sink_put(k, s, strlen(s));
}

int mg_error_format_chain(const mg_error *err, char *buf, size_t size,
                          size_t *needed)
{
    struct sink k = {buf, size, 0};
    if (err == NULL || (buf == NULL && size > 0))
        return MG_EINVAL;

    for (const mg_error *e = err; e != NULL; e = e->cause) {
        if (e != err)
            sink_puts(&k, ": caused by: ");
        sink_puts(&k, e->display);
        if (e->cause_errno > 0) {
            char text[256];
            char num[21];
            text[0] = '\0';
            /* XSI strerror_r (int result) under _POSIX_C_SOURCE. */
            if (strerror_r(e->cause_errno, text, sizeof text) != 0 &&
                text[0] == '\0')
                memcpy(text, "Unknown error", sizeof "Unknown error");
            text[sizeof text - 1] = '\0';
            sink_puts(&k, ": caused by: ");
            sink_puts(&k, text);
            sink_puts(&k, " (errno ");
            sink_puts(&k, fmt_u64(num, (uint64_t)e->cause_errno));
            sink_puts(&k, ")");
        }
    }

    if (size > 0)
        buf[k.len < size ? k.len : size - 1] = '\0';
    if (needed != NULL)
        *needed = k.len;
    return k.len < size ? MG_OK : MG_ETOOSMALL;
}

/* ---- errno mapping ---- */

mg_error_kind mg_error_kind_from_errno(int errnum)
{
    switch (errnum) {
    case ETIMEDOUT:
        return MG_ERROR_TIMEOUT;
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN:
    case ENETRESET:
#ifdef EHOSTDOWN
    case EHOSTDOWN:
#endif
    case ENOTCONN:
    case EPIPE:
        return MG_ERROR_NETWORK;
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EBUSY:
    case EINTR:
        return MG_ERROR_SERVICE_UNAVAILABLE;
    case ENOENT:
        return MG_ERROR_NOT_FOUND;
    case EACCES:
    case EPERM:
        return MG_ERROR_AUTHORIZATION;
    case EEXIST:
        return MG_ERROR_CONFLICT;
    case EINVAL:
    case EDOM:
    case ERANGE:
    case E2BIG:
    case ENAMETOOLONG:
        return MG_ERROR_VALIDATION;
    case ENOSYS:
    case ENOTSUP:
#if EOPNOTSUPP != ENOTSUP
    case EOPNOTSUPP:
#endif
        return MG_ERROR_NOT_IMPLEMENTED;
    case EPROTO:
    case EBADMSG:
    case EILSEQ:
        return MG_ERROR_SERIALIZATION;
    default:
        return MG_ERROR_INTERNAL;
    }
}

/*
 * Field values of mg_error_new_from_errno. `context` (default "system
 * call") goes into the kind's main field; the errno itself is the cause, so
 * its text shows up in mg_error_format_chain() and not in the display:
 *   Timeout             operation = context, duration_ms = 0 (unknown)
 *   Network             message = context
 *   ServiceUnavailable  service = context, no retry-after
 *   NotFound            content_id = context
 *   Authorization       reason = context
 *   Conflict            message = context, no resource
 *   Validation          message = context, no field
 *   NotImplemented      feature = context
 *   Serialization       message = context
 *   Internal            message = context
 */
int mg_error_new_from_errno(mg_error **out, int errnum, const char *context)
{
    static const unsigned char main_field[] = {
        [MG_ERROR_TIMEOUT] = MG_FIELD_OPERATION,
        [MG_ERROR_NETWORK] = MG_FIELD_MESSAGE,
        [MG_ERROR_SERVICE_UNAVAILABLE] = MG_FIELD_SERVICE,
        [MG_ERROR_NOT_FOUND] = MG_FIELD_CONTENT_ID,
        [MG_ERROR_AUTHORIZATION] = MG_FIELD_REASON,
        [MG_ERROR_CONFLICT] = MG_FIELD_MESSAGE,
        [MG_ERROR_VALIDATION] = MG_FIELD_MESSAGE,
        [MG_ERROR_NOT_IMPLEMENTED] = MG_FIELD_FEATURE,
        [MG_ERROR_SERIALIZATION] = MG_FIELD_MESSAGE,
        [MG_ERROR_INTERNAL] = MG_FIELD_MESSAGE,
    };
    struct spec s;
    if (out == NULL || errnum <= 0)
        return reject(out);
    mg_error_kind kind = mg_error_kind_from_errno(errnum);
    spec_init(&s, kind);
    spec_str(&s, main_field[kind], context != NULL ? context : "system call");
    if (kind == MG_ERROR_TIMEOUT)
        spec_num(&s, MG_FIELD_DURATION_MS, 0);
    int rc = build(out, &s);
    if (rc == MG_OK)
        (*out)->cause_errno = errnum;
    return rc;
}

/* ---- HTTP mapping ---- */

mg_error_kind mg_error_kind_from_http(int status)
{
    switch (status) {
    case 429:
        return MG_ERROR_RATE_LIMIT;
    case 503:
        return MG_ERROR_SERVICE_UNAVAILABLE;
    case 504:
    case 408:
        return MG_ERROR_TIMEOUT;
    case 400:
        return MG_ERROR_VALIDATION;
    case 401:
        return MG_ERROR_AUTHENTICATION;
    case 403:
        return MG_ERROR_AUTHORIZATION;
    case 404:
        return MG_ERROR_NOT_FOUND;
    case 409:
        return MG_ERROR_CONFLICT;
    case 500:
        return MG_ERROR_INTERNAL;
    case 501:
        return MG_ERROR_NOT_IMPLEMENTED;
    default:
        return status >= 400 && status <= 599 ? MG_ERROR_EXTERNAL_API
                                              : (mg_error_kind)0;
    }
}

/*
 * Field values of mg_error_new_from_http. Kinds that name a service get
 * `api` (default "http"); the others get a text T = "HTTP <status>", plus
 * " from <api>" when api was given, because their display would otherwise
 * not say who answered:
 *   429 RateLimit           limit = 0 (unknown), window = "unknown",
 *                           retry-after from the header when valid
 *   503 ServiceUnavailable  service = api, retry-after as for 429
 *   408, 504 Timeout        operation = api, duration_ms = 0 (unknown)
 *   400 Validation          message = T, no field
 *   401 Authentication      reason = T
 *   403 Authorization       reason = T
 *   404 NotFound            content_id = T (the id is not in a response)
 *   409 Conflict            message = T, no resource
 *   500 Internal            message = T
 *   501 NotImplemented      feature = T
 *   other ExternalAPI       api = api, message = "HTTP <status>",
 *                           status_code = status
 * No cause is set: an HTTP status is not a system error.
 */
int mg_error_new_from_http(mg_error **out, int status, const char *retry_after,
                           const char *api)
{
    struct spec s;
    char text[32];
    uint64_t delay = 0;
    bool has_delay = false;

    if (out == NULL || status < 400 || status > 599)
        return reject(out);
    mg_error_kind kind = mg_error_kind_from_http(status);
    const char *service = api != NULL ? api : "http";

    /* status is 400..599, so exactly three digits. */
    memcpy(text, "HTTP ", 5);
    text[5] = (char)('0' + status / 100);
    text[6] = (char)('0' + status / 10 % 10);
    text[7] = (char)('0' + status % 10);
    if (api != NULL)
        memcpy(text + 8, " from ", sizeof " from ");
    else
        text[8] = '\0';

    if (retry_after != NULL &&
        (kind == MG_ERROR_RATE_LIMIT || kind == MG_ERROR_SERVICE_UNAVAILABLE))
        has_delay = mg_http_parse_retry_after(retry_after, (int64_t)time(NULL),
                                              &delay) == MG_OK;

    spec_init(&s, kind);
    switch (kind) {
    case MG_ERROR_RATE_LIMIT:
        spec_num(&s, MG_FIELD_LIMIT, 0);
        spec_str(&s, MG_FIELD_WINDOW, "unknown");
        break;
    case MG_ERROR_SERVICE_UNAVAILABLE:
        spec_str(&s, MG_FIELD_SERVICE, service);
        break;
    case MG_ERROR_TIMEOUT:
        spec_str(&s, MG_FIELD_OPERATION, service);
        spec_num(&s, MG_FIELD_DURATION_MS, 0);
        break;
    case MG_ERROR_EXTERNAL_API:
        text[8] = '\0';
        spec_str(&s, MG_FIELD_API, service);
        spec_str(&s, MG_FIELD_MESSAGE, text);
        spec_num(&s, MG_FIELD_STATUS_CODE, (uint64_t)status);
        break;
    default: {
        int field =
            kind == MG_ERROR_AUTHENTICATION || kind == MG_ERROR_AUTHORIZATION
                ? MG_FIELD_REASON
            : kind == MG_ERROR_NOT_FOUND       ? MG_FIELD_CONTENT_ID
            : kind == MG_ERROR_NOT_IMPLEMENTED ? MG_FIELD_FEATURE
                                               : MG_FIELD_MESSAGE;
        s.str[field][0] = text;
        s.str[field][1] = api;
        break;
    }
    }
    if (has_delay)
        spec_num(&s, MG_FIELD_RETRY_AFTER, delay);
    return build(out, &s);
}

/* ---- Retry-After (RFC 9110 section 10.2.3, dates per section 5.6.7) ---- */

#define RETRY_AFTER_MAX UINT64_C(2147483648)

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The value of n digits at s, or -1 if any is not a digit. */
static int64_t digits(const char *s, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Index of the exact (case-sensitive, as the RFC's %s"..." rules) match of
 * s[0..len) among names, or -1. */
static int match_name(const char *s, size_t len, const char *const *names,
                      int count)
{
    for (int i = 0; i < count; i++)
        if (strlen(names[i]) == len && memcmp(s, names[i], len) == 0)
            return i;
    return -1;
}

static const char *const day_names[] = {"Mon", "Tue", "Wed", "Thu",
                                        "Fri", "Sat", "Sun"};
static const char *const day_names_long[] = {"Monday",   "Tuesday", "Wednesday",
                                             "Thursday", "Friday",  "Saturday",
                                             "Sunday"};
static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr",
                                          "May", "Jun", "Jul", "Aug",
                                          "Sep", "Oct", "Nov", "Dec"};

/* Month (1..12) of the three letters at s, or -1. */
static int month_of(const char *s)
{
    int i = match_name(s, 3, month_names, 12);
    return i < 0 ? -1 : i + 1;
}

static bool is_leap(int64_t y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int days_in_month(int64_t y, int m)
{
    static const unsigned char len[] = {31, 28, 31, 30, 31, 30,
                                        31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Floor division for a positive divisor. */
static int64_t div_floor(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). Exact for |y| up to about 2^53 / 366; callers pass
 * years within a few hundred of some int64 Unix time, i.e. |y| < 3e11. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = div_floor(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The year containing day z (days since 1970-01-01); inverse of the
 * above, year part only. */
static int64_t year_from_days(int64_t z)
{
    z += 719468;
    int64_t era = div_floor(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    return yoe + era * 400 + (mp >= 10);
}

struct date {
    int64_t year;
    int month, day, hour, minute, second;
};

/* "HH:MM:SS" at s (8 bytes). */
static bool parse_time(const char *s, struct date *d)
{
    if (s[2] != ':' || s[5] != ':')
        return false;
    int64_t h = digits(s, 2), m = digits(s + 3, 2), sec = digits(s + 6, 2);
    if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60)
        return false;
    d->hour = (int)h;
    d->minute = (int)m;
    d->second = (int)sec;
    return true;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (exactly 29 bytes). */
static bool parse_imf(const char *s, size_t len, struct date *d)
{
    if (len != 29 || match_name(s, 3, day_names, 7) < 0 || s[3] != ',' ||
        s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
        s[25] != ' ' || memcmp(s + 26, "GMT", 3) != 0)
        return false;
    int64_t day = digits(s + 5, 2), year = digits(s + 12, 4);
    d->month = month_of(s + 8);
    if (day < 0 || year < 0 || d->month < 0)
        return false;
    d->day = (int)day;
    d->year = year;
    return parse_time(s + 17, d);
}

/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". The two-digit year is the
 * one in now_year's century window: never more than 50 years ahead of
 * now_year (RFC 9110 section 5.6.7), otherwise the latest such year. */
static bool parse_rfc850(const char *s, size_t len, int64_t now_year,
                         struct date *d)
{
    const char *comma = memchr(s, ',', len < 10 ? len : 10);
    if (comma == NULL ||
        match_name(s, (size_t)(comma - s), day_names_long, 7) < 0)
        return false;
    const char *p = comma + 1;
    if (len - (size_t)(p - s) != 23 || p[0] != ' ' || p[3] != '-' ||
        p[7] != '-' || p[10] != ' ' || p[19] != ' ' ||
        memcmp(p + 20, "GMT", 3) != 0)
        return false;
    int64_t day = digits(p + 1, 2), yy = digits(p + 8, 2);
    d->month = month_of(p + 4);
    if (day < 0 || yy < 0 || d->month < 0)
        return false;
    int64_t year = now_year - (now_year - div_floor(now_year, 100) * 100) + yy;
    if (year > now_year + 50)
        year -= 100;
    else if (year + 100 <= now_year + 50)
        year += 100;
    d->day = (int)day;
    d->year = year;
    return parse_time(p + 11, d);
}

/* asctime: "Sun Nov  6 08:49:37 1994" (exactly 24 bytes; the day is
 * SP DIGIT or 2DIGIT). */
static bool parse_asctime(const char *s, size_t len, struct date *d)
{
    if (len != 24 || match_name(s, 3, day_names, 7) < 0 || s[3] != ' ' ||
        s[7] != ' ' || s[10] != ' ' || s[19] != ' ')
        return false;
    int64_t day = s[8] == ' ' ? digits(s + 9, 1) : digits(s + 8, 2);
    int64_t year = digits(s + 20, 4);
    d->month = month_of(s + 4);
    if (day < 0 || year < 0 || d->month < 0)
        return false;
    d->day = (int)day;
    d->year = year;
    return parse_time(s + 11, d);
}

int mg_http_parse_retry_after(const char *value, int64_t now_unix,
                              uint64_t *seconds)
{
    if (value == NULL || seconds == NULL)
        return MG_EINVAL;

    const char *s = value;
    size_t len = strlen(value);
    while (len > 0 && is_ows(s[0])) {
        s++;
        len--;
    }
    while (len > 0 && is_ows(s[len - 1]))
        len--;
    if (len == 0)
        return MG_EPARSE;

    if (is_digit(s[0])) {
        /* delta-seconds = 1*DIGIT; v never exceeds RETRY_AFTER_MAX, so
         * v * 10 + 9 cannot overflow whatever the length. */
        uint64_t v = 0;
        for (size_t i = 0; i < len; i++) {
            if (!is_digit(s[i]))
                return MG_EPARSE;
            v = v * 10 + (uint64_t)(s[i] - '0');
            if (v > RETRY_AFTER_MAX)
                v = RETRY_AFTER_MAX;
        }
        *seconds = v;
        return MG_OK;
    }

    /* Split now into whole days and seconds of day without multiplying,
     * so that INT64_MIN and INT64_MAX are fine. */
    int64_t now_sod = now_unix % 86400;
    int64_t now_days = now_unix / 86400;
    if (now_sod < 0) {
        now_sod += 86400;
        now_days--;
    }

    struct date d;
    bool ok;
    if (len >= 4 && s[3] == ',')
        ok = parse_imf(s, len, &d);
    else if (len >= 4 && s[3] == ' ')
        ok = parse_asctime(s, len, &d);
    else
        ok = parse_rfc850(s, len, year_from_days(now_days), &d);
    if (!ok || d.day < 1 || d.day > days_in_month(d.year, d.month))
        return MG_EPARSE;

    /* Both day counts are within about 1.1e14 of zero, so the difference
     * cannot overflow; a positive difference times 86400 fits in uint64. A
     * leap second (:60) counts as the first second of the next minute. */
    int64_t dd = days_from_civil(d.year, d.month, d.day) - now_days;
    int64_t ds =
        (int64_t)d.hour * 3600 + (int64_t)d.minute * 60 + d.second - now_sod;
    if (dd < 0 || (dd == 0 && ds <= 0)) {
        *seconds = 0;
        return MG_OK;
    }
    *seconds = (uint64_t)dd * 86400u + (uint64_t)(ds + 86400) - 86400u;
    return MG_OK;
}
