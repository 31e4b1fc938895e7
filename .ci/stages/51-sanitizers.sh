#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hardening, sanitizers. (1) The whole CTest suite built with clang under
# AddressSanitizer + UndefinedBehaviorSanitizer, including clang's
# unsigned-integer-overflow check on src/ (the backoff math saturates and
# must never wrap; the PRNGs that wrap on purpose carry MG_NO_SANITIZE_WRAP;
# .ci/sanitizer-ignorelist.txt exempts test code), every report fatal.
# (2) The tests labelled "threads" built under ThreadSanitizer and run 20
# times each, so that races get many chances to overlap. Build dirs
# build-ci-asan and build-ci-tsan.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash .ci/install-deps clang

san_build() { # san_build DIR SANITIZERS
    local dir=$1 san=$2
    # The wrap check covers src/ only (see the ignore list).
    san="$san -fsanitize-ignorelist=$PWD/.ci/sanitizer-ignorelist.txt"
    rm -rf "$dir"
    CC=clang CXX=clang++ cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        "-DCMAKE_C_FLAGS=-fsanitize=$san -fno-sanitize-recover=all -fno-omit-frame-pointer" \
        "-DCMAKE_CXX_FLAGS=-fsanitize=$san -fno-sanitize-recover=all -fno-omit-frame-pointer" \
        "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=$san" \
        "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=$san"
    # Only the named targets (default: everything).
    cmake --build "$dir" -j2 ${3:+--target $3}
}

echo "== ASan + UBSan (+ unsigned-integer-overflow): whole suite"
san_build build-ci-asan address,undefined,unsigned-integer-overflow
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-ci-asan -j2 --output-on-failure
rm -rf build-ci-asan

echo "== TSan: the multi-threaded tests (label threads), 20 runs each"
# Configure, then build just the executables of the tests labelled
# "threads" (each unit test is named after its target).
san_build build-ci-tsan thread mgretry
threads=$(ctest --test-dir build-ci-tsan -N -L threads 2>/dev/null |
    sed -n 's/^ *Test *#[0-9]*: *//p' | tr '\n' ' ')
if [[ -z $threads ]]; then
    echo "51-sanitizers: no test carries the label 'threads'" >&2
    exit 1
fi
cmake --build build-ci-tsan -j2 --target $threads
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir build-ci-tsan -L threads -j2 --repeat until-fail:20 \
    --output-on-failure
rm -rf build-ci-tsan
