/* SPDX-License-Identifier: MIT */
/*
 * The library's own version, so that a caller can check that the headers
 * it was compiled with match the library it runs against.
 */
#include "mg_internal.h"

const char *mg_retry_version(void)
{
    return MG_RETRY_VERSION_STRING;
}

uint32_t mg_retry_version_number(void)
{
    return (uint32_t)MG_RETRY_VERSION_NUMBER;
}
