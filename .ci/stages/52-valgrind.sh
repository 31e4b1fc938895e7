#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hardening, valgrind memcheck: every unit test executable (tests/unit,
# shared and static builds, picked up by glob) run under memcheck from a
# gcc debug-info build; any memory error, or any byte definitely or
# indirectly lost, fails the stage. --soname-synonyms keeps the tests'
# own malloc interposers (allocation-failure tests) active under
# valgrind. Build dir build-ci-valgrind.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash .ci/install-deps valgrind

dir=build-ci-valgrind
rm -rf "$dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMG_BUILD_EXAMPLES=OFF
cmake --build "$dir" -j2
mkdir -p "$dir/memcheck"

run_one() { # run_one EXE: memcheck one test, log in $dir/memcheck/
    local exe=$1 log
    log=$dir/memcheck/$(basename "$exe").log
    if valgrind --quiet --error-exitcode=99 --leak-check=full \
        --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect \
        --soname-synonyms=somalloc=nouserintercepts \
        --log-file="$log.%p" "$exe" >"$log" 2>&1; then
        echo "ok    $(basename "$exe")"
    else
        echo "FAIL  $(basename "$exe") (see below)"
        cat "$log" "$log".* >&2
        return 1
    fi
}
export -f run_one
export dir

mapfile -t tests < <(find "$dir/tests/unit" -maxdepth 1 -type f -executable \
    -name 'test_*' | sort)
((${#tests[@]} > 0)) || { echo "52-valgrind: no unit tests found" >&2; exit 1; }
if printf '%s\n' "${tests[@]}" | xargs -P2 -I{} bash -c 'run_one "$1"' _ {}; then
    echo "52-valgrind: ${#tests[@]} test executables clean"
    rm -rf "$dir"
else
    echo "52-valgrind: memcheck found problems" >&2
    exit 1
fi
