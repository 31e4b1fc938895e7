/* SPDX-License-Identifier: MIT */
#include "mg_internal.h"
typedef int mg__placeholder_backoff;
