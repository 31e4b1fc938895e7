#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hardening, coverage: a gcc --coverage build runs the unit tests (CTest
# label "unit"); gcovr then measures every file under src/ except src/cli/
# (the CLI has its own tests) and fails below 95 % of lines or 90 % of
# branches (unreachable and exception branches excluded). New units are
# picked up by the filter. Reports: build-ci-coverage/coverage.txt and
# coverage.html (kept on failure). Build dir build-ci-coverage.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash .ci/install-deps gcovr

dir=build-ci-coverage
rm -rf "$dir"
CC=gcc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DMG_BUILD_EXAMPLES=OFF \
    "-DCMAKE_C_FLAGS=--coverage -O0 -fprofile-update=atomic" \
    "-DCMAKE_EXE_LINKER_FLAGS=--coverage" \
    "-DCMAKE_SHARED_LINKER_FLAGS=--coverage"
cmake --build "$dir" -j2
ctest --test-dir "$dir" -L unit -j2 --output-on-failure

root=$PWD
gcovr_args=(--root "$root" --filter "$root/src/" --exclude "$root/src/cli/"
    --exclude-unreachable-branches --exclude-throw-branches
    --object-directory "$dir" "$dir")
gcovr "${gcovr_args[@]}" --txt "$dir/coverage.txt" \
    --html-details "$dir/coverage.html" --print-summary \
    --fail-under-line 95 --fail-under-branch 90 || {
    cat "$dir/coverage.txt"
    echo "57-coverage: below 95 % lines or 90 % branches of src/" >&2
    exit 1
}
cat "$dir/coverage.txt"
rm -rf "$dir"
