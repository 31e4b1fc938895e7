/* SPDX-License-Identifier: MIT */
/*
 * libmgretry common definitions: the version macros, the MG_API export
 * marker and the status codes shared by every public function. Both
 * <mg/retry.h> and <mg/error.h> include this header; it is never needed on
 * its own.
 *
 * Status codes follow one convention across the library: a fallible
 * function returns int, 0 (MG_OK) on success or a negative MG_E* code.
 * Codes are never renumbered or reused; new ones are only appended.
 */
#ifndef MG_COMMON_H
#define MG_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Version of the headers. Compare with mg_retry_version_number() to check
 * that the headers and the library you link match. */
#define MG_RETRY_VERSION_MAJOR 1
#define MG_RETRY_VERSION_MINOR 1
#define MG_RETRY_VERSION_PATCH 0
#define MG_RETRY_VERSION_STRING "1.1.0"
#define MG_RETRY_VERSION_NUMBER                                                \
    ((MG_RETRY_VERSION_MAJOR << 16) | (MG_RETRY_VERSION_MINOR << 8) |          \
     MG_RETRY_VERSION_PATCH)

/* MG_API marks the exported functions. The library is built with hidden
 * visibility, so only what carries MG_API (and is listed in the linker
 * version script) is visible. Consumers need not define anything. */
#if defined(_WIN32) || defined(__CYGWIN__)
#if defined(MG_BUILDING_LIBRARY) && !defined(MG_STATIC)
#define MG_API __declspec(dllexport)
#elif !defined(MG_STATIC)
#define MG_API __declspec(dllimport)
#else
#define MG_API
#endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#define MG_API __attribute__((visibility("default")))
#else
#define MG_API
#endif

#ifdef __cplusplus
#define MG_EXTERN_C_BEGIN extern "C" {
#define MG_EXTERN_C_END }
#else
#define MG_EXTERN_C_BEGIN
#define MG_EXTERN_C_END
#endif

/*
 * The status codes, as one X-macro list so that the enum and the strings
 * returned by mg_status_str() cannot drift apart.
 * X(name, value, description)
 */
#define MG_STATUS_MAP(X)                                                       \
    X(MG_OK, 0, "success")                                                     \
    X(MG_EINVAL, -1, "invalid argument")                                       \
    X(MG_ENOMEM, -2, "out of memory")                                          \
    X(MG_EVERSION, -3, "unsupported struct version")                           \
    X(MG_EPOLICY, -4, "invalid retry policy")                                  \
    X(MG_ERANGE, -5, "value out of range")                                     \
    X(MG_EPARSE, -6, "malformed input")                                        \
    X(MG_ETOOSMALL, -7, "buffer too small")                                    \
    X(MG_ENOTFOUND, -8, "value not present")

MG_EXTERN_C_BEGIN

typedef enum mg_status {
#define MG_STATUS_ENUM_(name, value, text) name = (value),
    MG_STATUS_MAP(MG_STATUS_ENUM_)
#undef MG_STATUS_ENUM_
    MG_STATUS_LAST_ = -9 /* one past the last code; not a status */
} mg_status;

/*
 * mg_status_str - describe a status code.
 *
 * Returns a static, NUL-terminated English description of `status` (one of
 * the MG_STATUS_MAP codes). Any other value, including positive ones, gives
 * "unknown status". Never returns NULL. Thread-safe. Since 1.0.
 */
MG_API const char *mg_status_str(int status);

MG_EXTERN_C_END

#endif /* MG_COMMON_H */
