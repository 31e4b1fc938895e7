#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hardening, ABI guard: libmgretry.so built with gcc (RelWithDebInfo, so
# with DWARF) is compared by abidiff against the checked-in baseline
# tests/abi/libmgretry.abi (abidw of the last release, public types only:
# --headers-dir include/mg). Additions pass; anything removed or changed,
# or an incompatible change (exit bit 8), fails. Then the exported-symbol
# check (library = version script = MG_API) and the header tests (each
# public header alone, C11 and C++17, -Wall -Wextra -pedantic -Werror)
# run from the same build. Policy: docs/abi.md. Build dir build-ci-abi.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash .ci/install-deps abigail-tools

dir=build-ci-abi
baseline=tests/abi/libmgretry.abi
suppr=tests/abi/abidiff.suppr
rm -rf "$dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMG_BUILD_EXAMPLES=OFF
cmake --build "$dir" -j2 --target mgretry mg_header_test

args=(--headers-dir2 include/mg --no-show-locs)
[[ -f $suppr ]] && args+=(--suppressions "$suppr")
status=0
abidiff "${args[@]}" "$baseline" "$dir/libmgretry.so" >"$dir/abidiff.txt" || status=$?
cat "$dir/abidiff.txt"
fail=0
if ((status & 1 || status & 2)); then
    echo "55-abi: abidiff could not compare (exit $status)" >&2
    fail=1
elif ((status & 8)); then
    echo "55-abi: INCOMPATIBLE ABI change against $baseline" >&2
    fail=1
elif ((status & 4)); then
    # An ABI change: acceptable only when every summary says 0 removed
    # and 0 changed (additions only).
    if grep -qE '(^|[^0-9])[1-9][0-9]* (Removed|Changed)' "$dir/abidiff.txt"; then
        echo "55-abi: ABI change other than additions against $baseline" >&2
        fail=1
    else
        echo "55-abi: additions only: compatible"
    fi
else
    echo "55-abi: identical to the baseline"
fi
((fail == 0)) || exit 1

ctest --test-dir "$dir" -L abi --output-on-failure
rm -rf "$dir"
