/* SPDX-License-Identifier: MIT */
/*
 * mg_error: the C mirror of the media gateway's MediaGatewayError. An
 * mg_error is an immutable-once-built, heap-allocated value of one of
 * nineteen kinds, each with the fields and display text of the original,
 * the original's classification (retryable, retry-after, client error,
 * server error), an optional cause (another mg_error or a system errno) and
 * mappings from errno values and HTTP responses.
 *
 * Ownership: every mg_error_new_* function gives the caller one error that
 * the caller frees with mg_error_free(), which frees the whole cause chain.
 * Input strings are copied. Getters return borrowed pointers valid until the
 * error is freed.
 *
 * Out of memory: a constructor that cannot allocate returns MG_ENOMEM and
 * still stores a usable error in *out: a statically allocated error of kind
 * MG_ERROR_INTERNAL whose display text is "Internal error: out of memory"
 * (mg_error_is_oom() is true for it). It is not retryable, mg_error_free()
 * ignores it, and it cannot be given a cause. So code that only reports
 * errors can ignore the return code and never sees NULL.
 *
 * Thread safety: constructors and free functions may be called from any
 * thread. One error may be read from many threads at once; changing it
 * (mg_error_set_cause*, mg_error_free) needs exclusive access.
 */
#ifndef MG_ERROR_H
#define MG_ERROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

MG_EXTERN_C_BEGIN

/* The nineteen kinds of the original, in its order. Values are fixed. */
typedef enum mg_error_kind {
    MG_ERROR_VALIDATION = 1,
    MG_ERROR_NOT_FOUND = 2,
    MG_ERROR_USER_NOT_FOUND = 3,
    MG_ERROR_AUTHENTICATION = 4,
    MG_ERROR_AUTHORIZATION = 5,
    MG_ERROR_RATE_LIMIT = 6,
    MG_ERROR_DATABASE = 7,
    MG_ERROR_EXTERNAL_API = 8,
    MG_ERROR_NETWORK = 9,
    MG_ERROR_SERIALIZATION = 10,
    MG_ERROR_CONFIGURATION = 11,
    MG_ERROR_SEARCH = 12,
    MG_ERROR_CACHE = 13,
    MG_ERROR_CONFLICT = 14,
    MG_ERROR_SERVICE_UNAVAILABLE = 15,
    MG_ERROR_TIMEOUT = 16,
    MG_ERROR_INVALID_STATE = 17,
    MG_ERROR_NOT_IMPLEMENTED = 18,
    MG_ERROR_INTERNAL = 19
} mg_error_kind;

/* Field identifiers for mg_error_field_str() and mg_error_field_u64().
 * String fields are 1..31, numeric fields 32 and up. Values are fixed. */
typedef enum mg_error_field {
    MG_FIELD_MESSAGE = 1,     /* Validation, Database, ExternalAPI, Network,
                                 Serialization, Configuration, Search, Cache,
                                 Conflict, InvalidState, Internal */
    MG_FIELD_FIELD = 2,       /* Validation (optional) */
    MG_FIELD_CONTENT_ID = 3,  /* NotFound */
    MG_FIELD_USER_ID = 4,     /* UserNotFound */
    MG_FIELD_REASON = 5,      /* Authentication, Authorization */
    MG_FIELD_WINDOW = 6,      /* RateLimit */
    MG_FIELD_OPERATION = 7,   /* Database, Cache, Timeout */
    MG_FIELD_API = 8,         /* ExternalAPI */
    MG_FIELD_KEY = 9,         /* Configuration (optional) */
    MG_FIELD_QUERY = 10,      /* Search (optional) */
    MG_FIELD_RESOURCE = 11,   /* Conflict (optional) */
    MG_FIELD_SERVICE = 12,    /* ServiceUnavailable */
    MG_FIELD_EXPECTED = 13,   /* InvalidState (optional) */
    MG_FIELD_ACTUAL = 14,     /* InvalidState (optional) */
    MG_FIELD_FEATURE = 15,    /* NotImplemented */
    MG_FIELD_LIMIT = 32,      /* RateLimit (u32) */
    MG_FIELD_RETRY_AFTER = 33, /* RateLimit, ServiceUnavailable (optional,
                                  seconds) */
    MG_FIELD_STATUS_CODE = 34, /* ExternalAPI (optional, u16) */
    MG_FIELD_DURATION_MS = 35  /* Timeout */
} mg_error_field;

/* Pass as an optional numeric argument (retry_after_s, status_code) to say
 * "absent". */
#define MG_NONE (-1)

typedef struct mg_error mg_error;

/*
 * Constructors, one per kind, with the original's fields. Each returns
 *   MG_OK       *out holds a new error owned by the caller;
 *   MG_EINVAL   out is NULL, a required string is NULL, or a numeric
 *               argument is out of range (retry_after_s < -1, status_code
 *               not -1 and not 0..65535); *out (when out is not NULL) is set
 *               to NULL;
 *   MG_ENOMEM   *out holds the static out-of-memory error (see above).
 * Optional strings may be NULL (absent); required ones may be empty.
 * retry_after_s is seconds, or MG_NONE. All since 1.0.
 */
MG_API int mg_error_new_validation(mg_error **out, const char *message,
                                   const char *field);
MG_API int mg_error_new_not_found(mg_error **out, const char *content_id);
MG_API int mg_error_new_user_not_found(mg_error **out, const char *user_id);
MG_API int mg_error_new_authentication(mg_error **out, const char *reason);
MG_API int mg_error_new_authorization(mg_error **out, const char *reason);
MG_API int mg_error_new_rate_limit(mg_error **out, uint32_t limit,
                                   const char *window, int64_t retry_after_s);
MG_API int mg_error_new_database(mg_error **out, const char *message,
                                 const char *operation);
MG_API int mg_error_new_external_api(mg_error **out, const char *api,
                                     const char *message, int32_t status_code);
MG_API int mg_error_new_network(mg_error **out, const char *message);
MG_API int mg_error_new_serialization(mg_error **out, const char *message);
MG_API int mg_error_new_configuration(mg_error **out, const char *message,
                                      const char *key);
MG_API int mg_error_new_search(mg_error **out, const char *message,
                               const char *query);
MG_API int mg_error_new_cache(mg_error **out, const char *operation,
                              const char *message);
MG_API int mg_error_new_conflict(mg_error **out, const char *message,
                                 const char *resource);
MG_API int mg_error_new_service_unavailable(mg_error **out,
                                            const char *service,
                                            int64_t retry_after_s);
MG_API int mg_error_new_timeout(mg_error **out, const char *operation,
                                uint64_t duration_ms);
MG_API int mg_error_new_invalid_state(mg_error **out, const char *message,
                                      const char *expected,
                                      const char *actual);
MG_API int mg_error_new_not_implemented(mg_error **out, const char *feature);
MG_API int mg_error_new_internal(mg_error **out, const char *message);

/*
 * mg_error_free - free an error and its whole cause chain.
 * NULL and the static out-of-memory error are ignored. Since 1.0.
 */
MG_API void mg_error_free(mg_error *err);

/* ---- Reading an error (all accept NULL; thread-safe for readers) ---- */

/* The kind, or 0 for NULL. Since 1.0. */
MG_API mg_error_kind mg_error_get_kind(const mg_error *err);

/* The original's name of a kind ("Validation", "RateLimit", ...), or
 * "Unknown". Static, never NULL. Since 1.0. */
MG_API const char *mg_error_kind_name(int kind);

/* The display text of this error alone (the SPEC's texts, for example
 * "Rate limit exceeded: 100 requests per minute"). Borrowed, valid until
 * the error is freed; "" for NULL. Since 1.0. */
MG_API const char *mg_error_display(const mg_error *err);

/* A string field of the error, or NULL when the kind has no such field,
 * the optional field is absent, or err is NULL. Borrowed. Since 1.0. */
MG_API const char *mg_error_field_str(const mg_error *err, int field);

/* A numeric field. Returns MG_OK and stores it in *value; MG_ENOTFOUND when
 * the kind has no such field or it is absent; MG_EINVAL for NULL arguments.
 * Since 1.0. */
MG_API int mg_error_field_u64(const mg_error *err, int field,
                              uint64_t *value);

/* ---- Classification, exactly as the original ---- */

/* True for RateLimit, ServiceUnavailable, Timeout and Network; false for
 * every other kind and for NULL. Since 1.0. */
MG_API bool mg_error_is_retryable(const mg_error *err);

/* The server-requested delay in seconds of a RateLimit or
 * ServiceUnavailable error. MG_OK and *seconds set when present;
 * MG_ENOTFOUND otherwise; MG_EINVAL for NULL arguments. Since 1.0. */
MG_API int mg_error_retry_after(const mg_error *err, uint64_t *seconds);

/* 4xx-like: Validation, NotFound, UserNotFound, Authentication,
 * Authorization, Conflict. Since 1.0. */
MG_API bool mg_error_is_client_error(const mg_error *err);

/* 5xx-like: Database, Internal, ServiceUnavailable. Since 1.0. */
MG_API bool mg_error_is_server_error(const mg_error *err);

/* True only for the static out-of-memory error. Since 1.0. */
MG_API bool mg_error_is_oom(const mg_error *err);

/* ---- Causes ---- */

/*
 * mg_error_set_cause - make `cause` the cause (source) of `err`.
 * On MG_OK, ownership of cause moves to err (which frees it with itself),
 * and a previous cause of err is freed: pointers the caller still holds
 * into the old chain become invalid. On failure the caller keeps
 * ownership of cause and err is unchanged.
 * Returns MG_EINVAL when err or cause is NULL, when cause is err or already
 * has err in its chain (that would make a cycle); MG_ENOMEM when err is the
 * static out-of-memory error. Since 1.0.
 */
MG_API int mg_error_set_cause(mg_error *err, mg_error *cause);

/*
 * mg_error_set_cause_errno - make the system error `errnum` (> 0) the cause
 * of `err`, replacing (and freeing) any previous cause, so pointers into
 * the old chain become invalid. Does not allocate.
 * Returns MG_EINVAL when err is NULL or errnum <= 0; MG_ENOMEM when err is
 * the static out-of-memory error. Since 1.0.
 */
MG_API int mg_error_set_cause_errno(mg_error *err, int errnum);

/* The mg_error cause of err, or NULL. Borrowed. Since 1.0. */
MG_API const mg_error *mg_error_cause(const mg_error *err);

/* The errno cause of err, or 0 when err has none. Since 1.0. */
MG_API int mg_error_cause_errno(const mg_error *err);

/*
 * mg_error_format_chain - write the display text of err and of each cause,
 * joined by ": caused by: " (an errno cause is written as its strerror text
 * followed by " (errno N)"), into buf.
 * Like snprintf, the output is truncated to size - 1 bytes and always
 * NUL-terminated when size > 0. When needed is not NULL it receives the
 * full length without the NUL. Does not allocate; thread-safe.
 * Returns MG_OK, MG_ETOOSMALL when the text was truncated, or MG_EINVAL
 * when err is NULL or buf is NULL with size > 0. Since 1.0.
 */
MG_API int mg_error_format_chain(const mg_error *err, char *buf, size_t size,
                                 size_t *needed);

/* ---- Mappings ---- */

/*
 * mg_error_kind_from_errno - the kind a system error number maps to
 * (table in docs/retry-utility.md): ETIMEDOUT -> Timeout; ECONNREFUSED,
 * ECONNRESET, ECONNABORTED, EHOSTUNREACH, ENETUNREACH, ENETDOWN,
 * ENETRESET, EHOSTDOWN, ENOTCONN, EPIPE -> Network; EAGAIN, EWOULDBLOCK,
 * EBUSY, EINTR -> ServiceUnavailable; ENOENT -> NotFound; EACCES, EPERM ->
 * Authorization; EEXIST -> Conflict; EINVAL, EDOM, ERANGE, E2BIG,
 * ENAMETOOLONG -> Validation; ENOSYS, ENOTSUP, EOPNOTSUPP ->
 * NotImplemented; EPROTO, EBADMSG, EILSEQ -> Serialization; anything else
 * (and values <= 0) -> Internal. Since 1.0.
 */
MG_API mg_error_kind mg_error_kind_from_errno(int errnum);

/*
 * mg_error_new_from_errno - an error of the kind above whose cause is
 * errnum. `context` (may be NULL: "system call") names what failed and
 * fills the kind's main field (operation, service, content_id, message...).
 * Returns as the constructors do; MG_EINVAL when out is NULL or
 * errnum <= 0. Since 1.0.
 */
MG_API int mg_error_new_from_errno(mg_error **out, int errnum,
                                   const char *context);

/*
 * mg_error_kind_from_http - the kind an HTTP error status maps to: 429
 * RateLimit, 503 ServiceUnavailable, 504 and 408 Timeout, 400 Validation,
 * 401 Authentication, 403 Authorization, 404 NotFound, 409 Conflict, 500
 * Internal, 501 NotImplemented, any other 4xx or 5xx ExternalAPI. Returns
 * 0 for a status outside 400..599. Since 1.0.
 */
MG_API mg_error_kind mg_error_kind_from_http(int status);

/*
 * mg_error_new_from_http - an error for an HTTP response with status
 * 400..599. `retry_after` is the raw Retry-After header value or NULL; it
 * is parsed with mg_http_parse_retry_after() against the current UTC time
 * and, when valid, becomes the retry-after of a 429/503 error; a malformed
 * value is ignored. `api` (may be NULL: "http") names the service. The
 * ExternalAPI kind carries the status code.
 * Returns as the constructors do; MG_EINVAL when out is NULL or status is
 * outside 400..599. Since 1.0.
 */
MG_API int mg_error_new_from_http(mg_error **out, int status,
                                  const char *retry_after, const char *api);

/*
 * mg_http_parse_retry_after - parse an HTTP Retry-After value (RFC 9110
 * section 10.2.3): delta-seconds, or an HTTP-date in any of the three
 * formats a recipient must accept (IMF-fixdate, RFC 850, asctime).
 * Surrounding spaces and tabs are allowed. A date is turned into seconds
 * from now_unix (seconds since the epoch, UTC); a date in the past gives 0.
 * delta-seconds beyond 2^31 saturate to 2147483648 as RFC 9110 advises.
 * Returns MG_OK with *seconds set, MG_EPARSE for anything malformed (empty,
 * signs, garbage, out-of-range date fields), MG_EINVAL for NULL arguments.
 * Does not allocate; thread-safe. Since 1.0.
 */
MG_API int mg_http_parse_retry_after(const char *value, int64_t now_unix,
                                     uint64_t *seconds);

MG_EXTERN_C_END

#endif /* MG_ERROR_H */
