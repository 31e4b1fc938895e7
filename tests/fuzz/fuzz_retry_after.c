/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for mg_http_parse_retry_after(), whose input is a
 * server's (attacker-controlled) Retry-After header. The input is the
 * header value; it is parsed against several clocks. Checked: only MG_OK
 * or MG_EPARSE; the result is deterministic; delta-seconds never exceed
 * 2^31; a later "now" never gives a longer wait (except for RFC 850
 * dates, whose two-digit year is read relative to "now", so the century
 * can change between clocks); no UB or overflow (ASan, UBSan).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mg/error.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int64_t clocks[] = {
    INT64_MIN, -1, 0, 784111777 /* 1994-11-06 08:49:37 */,
    1700000000, 253402300799 /* 9999-12-31 23:59:59 */, INT64_MAX,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    uint64_t prev = 0;
    bool all_digits = size > 0, two_digit_year;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    two_digit_year = strchr(text, '-') != NULL; /* RFC 850 */
    for (size_t i = 0; i < size; i++)
        if (text[i] < '0' || text[i] > '9')
            all_digits = false;

    for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
        uint64_t s = 0, again = 0;
        int rc = mg_http_parse_retry_after(text, clocks[i], &s);
        int rc2 = mg_http_parse_retry_after(text, clocks[i], &again);

        if (rc != MG_OK && rc != MG_EPARSE)
            abort();
        if (rc2 != rc || (rc == MG_OK && again != s))
            abort(); /* not deterministic */
        if (rc == MG_OK && all_digits && s > UINT64_C(2147483648))
            abort(); /* delta-seconds saturate at 2^31 */
        if (rc == MG_OK && i > 0 && s > prev && !two_digit_year)
            abort(); /* a later clock asks for a longer wait */
        if (rc == MG_OK)
            prev = s;
    }
    if (mg_http_parse_retry_after(text, 0, NULL) != MG_EINVAL)
        abort();
    free(text);
    return 0;
}
