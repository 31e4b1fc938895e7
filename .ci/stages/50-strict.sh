#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hardening, strict builds: the whole tree (library, tests, examples) built
# with gcc and with clang, each with issue 5's warning list as errors on top
# of the project's own set (mg_warnings, which the library objects extend
# with -Wnull-dereference -Wdouble-promotion -Wimplicit-fallthrough), then
# the unit tests of each build run once. Build dirs build-ci-strict-{gcc,clang}.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash .ci/install-deps clang

flags="-Wall -Wextra -Wconversion -Wsign-conversion -Wshadow \
-Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Wformat=2 -Wundef \
-Werror"

for cc in gcc clang; do
    dir=build-ci-strict-$cc
    cxx=g++
    [[ $cc == clang ]] && cxx=clang++
    echo "== strict build: $cc"
    rm -rf "$dir"
    CC=$cc CXX=$cxx cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DMG_WERROR=ON "-DCMAKE_C_FLAGS=$flags"
    cmake --build "$dir" -j2
    ctest --test-dir "$dir" -L unit -j2 --output-on-failure
    rm -rf "$dir"
done
