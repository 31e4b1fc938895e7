/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the policy string: mg_policy_parse() on arbitrary
 * text, and for every text it accepts, the round trip the header promises:
 * mg_policy_format() of the result parses back to an identical policy, and
 * formatting that gives the same text. Checked too: the documented codes,
 * that a failed parse leaves *out unchanged and reports an offset inside
 * the text, and that formatting never writes past its buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mg/retry.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void format_or_die(const mg_policy *p, char *buf, size_t size)
{
    size_t need = 0;

    if (mg_policy_format(p, buf, size, &need) != MG_OK)
        abort();
    if (strlen(buf) != need || need > 255)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    mg_policy p, q, sentinel;
    char buf[256], buf2[256], small[16];
    size_t off = (size_t)-1, need = 0;
    int rc;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&sentinel, 0xA5, sizeof(sentinel));
    p = sentinel;
    rc = mg_policy_parse(&p, text, &off);
    switch (rc) {
    case MG_OK:
        if (mg_policy_validate(&p, NULL) != MG_OK)
            abort();
        break;
    case MG_EPARSE:
    case MG_ERANGE:
    case MG_EPOLICY:
        if (memcmp(&p, &sentinel, sizeof(p)) != 0)
            abort(); /* *out must be left unchanged */
        if (off > size)
            abort();
        free(text);
        return 0;
    default:
        abort();
    }
    format_or_die(&p, buf, sizeof(buf));
    q = sentinel;
    if (mg_policy_parse(&q, buf, NULL) != MG_OK)
        abort();
    if (memcmp(&p, &q, sizeof(p)) != 0)
        abort(); /* the round trip changed the policy */
    format_or_die(&q, buf2, sizeof(buf2));
    if (strcmp(buf, buf2) != 0)
        abort();
    /* Truncation: NUL-terminated, same length reported. */
    memset(small, 'x', sizeof(small));
    rc = mg_policy_format(&p, small, sizeof(small) - 1, &need);
    if (small[sizeof(small) - 1] != 'x' || need != strlen(buf))
        abort();
    if (rc != (need >= sizeof(small) - 1 ? MG_ETOOSMALL : MG_OK))
        abort();
    if (strlen(small) != (need < sizeof(small) - 2 ? need : sizeof(small) - 2))
        abort();
    free(text);
    return 0;
}
