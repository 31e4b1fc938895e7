#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hardening, allocation failure: tests/unit/test_alloc_fail.c must cover
# every allocating constructor. Each src/ file that calls mg__malloc is
# scanned for the exported constructors it defines (mg_*_new*); each must
# appear in the test, so a new allocating unit cannot land untested. The
# test itself runs in every build, under ASan (stage 51) and valgrind
# (stage 52), which catch the leaks on its failure paths.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

test=tests/unit/test_alloc_fail.c
missing=() checked=0
while IFS= read -r file; do
    while IFS= read -r fn; do
        checked=$((checked + 1))
        grep -qw -- "$fn" "$test" || missing+=("$fn ($file)")
    done < <(grep -oE '^(MG_[A-Z_]+ )*int (mg_[a-z0-9_]*_new[a-z0-9_]*)\(' "$file" |
        sed -E 's/.*int (mg_[a-z0-9_]*)\($/\1/' | sort -u)
done < <(grep -rlE 'mg__malloc\(' src --include='*.c' | grep -v '^src/alloc\.c$' | sort)

if ((checked == 0)); then
    echo "53-alloc-fail: found no allocating constructor in src/" >&2
    exit 1
fi
if ((${#missing[@]} > 0)); then
    printf '53-alloc-fail: not covered by %s: %s\n' "$test" "${missing[*]}" >&2
    exit 1
fi
echo "53-alloc-fail: all $checked allocating constructors are covered by $test"
