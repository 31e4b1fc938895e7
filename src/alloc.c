/* SPDX-License-Identifier: MIT */
/*
 * The one place where libmgretry allocates and frees heap memory. Keeping
 * it in one unit lets the hardening tests fail any allocation on purpose
 * (mg__alloc_fail_hook, reachable from the static-library test build only)
 * and lets a later release offer an allocator hook without touching the
 * callers.
 */
#include <stdlib.h>

#include "mg_internal.h"

int (*mg__alloc_fail_hook)(size_t size) = NULL;

void *mg__malloc(size_t size)
{
    if (MG_UNLIKELY(mg__alloc_fail_hook != NULL) && mg__alloc_fail_hook(size))
        return NULL;
    return malloc(size);
}

void mg__free(void *ptr)
{
    free(ptr);
}
