/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the HTTP status and errno mappings:
 * mg_error_kind_from_http(), mg_error_new_from_http() (with a fuzzed
 * Retry-After value and API name), mg_error_kind_from_errno() and
 * mg_error_new_from_errno(). Input: 4 bytes status, 4 bytes errno, then
 * the Retry-After value and the API name separated by a NUL byte.
 * Checked: the documented codes and kinds, the errno cause, that every
 * error formats within its reported length, and no leak or UB.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mg/error.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int32_t take_i32(const uint8_t **data, size_t *size)
{
    uint32_t v = 0;

    for (int i = 0; i < 4 && *size > 0; i++, (*data)++, (*size)--)
        v |= (uint32_t)**data << (8 * i);
    return (int32_t)v;
}

static void check_formats(const mg_error *err)
{
    char small[8], big[1024];
    size_t need = 0, need2 = 0;
    int rc = mg_error_format_chain(err, big, sizeof(big), &need);

    if (rc != MG_OK && rc != MG_ETOOSMALL)
        abort();
    if (rc == MG_OK && strlen(big) != need)
        abort();
    rc = mg_error_format_chain(err, small, sizeof(small), &need2);
    if (need2 != need || strlen(small) > sizeof(small) - 1)
        abort();
    if (rc != (need >= sizeof(small) ? MG_ETOOSMALL : MG_OK))
        abort();
    if (mg_error_display(err) == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int status = take_i32(&data, &size);
    int errnum = take_i32(&data, &size);
    char *text = malloc(size + 2);
    const char *retry_after, *api;
    mg_error *err = NULL;
    int kind, rc;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    text[size + 1] = '\0';
    retry_after = text;
    api = text + strlen(text) + 1; /* after the first NUL, or "" */

    /* HTTP */
    kind = (int)mg_error_kind_from_http(status);
    if ((status >= 400 && status <= 599) != (kind != 0))
        abort();
    if (kind < 0 || kind > MG_ERROR_INTERNAL)
        abort();
    rc = mg_error_new_from_http(&err, status, size > 8 ? retry_after : NULL,
                                *api ? api : NULL);
    if (kind == 0) {
        if (rc != MG_EINVAL || err != NULL)
            abort();
    } else {
        if (rc != MG_OK && rc != MG_ENOMEM)
            abort();
        if (rc == MG_OK && (int)mg_error_get_kind(err) != kind)
            abort();
        if (rc == MG_OK) {
            uint64_t ra = 0;
            int rar = mg_error_retry_after(err, &ra);

            if (rar != MG_OK && rar != MG_ENOTFOUND)
                abort();
            if (rar == MG_OK && kind != MG_ERROR_RATE_LIMIT &&
                kind != MG_ERROR_SERVICE_UNAVAILABLE)
                abort(); /* only 429/503 carry a retry-after */
            check_formats(err);
        }
        mg_error_free(err);
    }

    /* errno */
    kind = (int)mg_error_kind_from_errno(errnum);
    if (kind < MG_ERROR_VALIDATION || kind > MG_ERROR_INTERNAL)
        abort();
    if (errnum <= 0 && kind != MG_ERROR_INTERNAL)
        abort();
    err = NULL;
    rc = mg_error_new_from_errno(&err, errnum, *text ? text : NULL);
    if (errnum <= 0) {
        if (rc != MG_EINVAL || err != NULL)
            abort();
    } else {
        if (rc != MG_OK && rc != MG_ENOMEM)
            abort();
        if (rc == MG_OK) {
            if ((int)mg_error_get_kind(err) != kind ||
                mg_error_cause_errno(err) != errnum)
                abort();
            check_formats(err);
        }
        mg_error_free(err);
    }
    free(text);
    return 0;
}
