/* SPDX-License-Identifier: MIT */
/*
 * The one place where libmgretry allocates and frees heap memory. Keeping
 * it in one unit lets the hardening tests interpose a failing allocator
 * and lets a later release offer an allocator hook without touching the
 * callers.
 */
#include <stdlib.h>

#include "mg_internal.h"

void *mg__malloc(size_t size)
{
    return malloc(size);
}

void mg__free(void *ptr)
{
    free(ptr);
}
