#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hardening, static analysis of every C file under src/ (found by find, so
# new units are covered as they land): cppcheck (suppressions in
# .cppcheck-suppressions), clang-tidy (checks in .clang-tidy, every finding
# an error, using the compile commands of a clang configure) and gcc's
# -fanalyzer (a gcc build of the library and CLI with -fanalyzer -Werror).
# Build dirs build-ci-tidy and build-ci-analyzer.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash .ci/install-deps clang clang-tidy cppcheck

mapfile -t sources < <(find src -name '*.c' | sort)
((${#sources[@]} > 0)) || { echo "56: no sources" >&2; exit 1; }
status=0

echo "== cppcheck $(cppcheck --version) on ${#sources[@]} files"
cppcheck --quiet --std=c11 --enable=warning,style,performance,portability \
    --inline-suppr --suppressions-list=.cppcheck-suppressions \
    --error-exitcode=1 -I include -I src -D__GNUC__ -D__x86_64__ \
    -D_POSIX_C_SOURCE=200809L -DMG_BUILDING_LIBRARY \
    --template='{file}:{line}: {severity}: {message} [{id}]' \
    "${sources[@]}" || { echo "56: cppcheck found problems" >&2; status=1; }

echo "== clang-tidy"
rm -rf build-ci-tidy
CC=clang CXX=clang++ cmake -S . -B build-ci-tidy -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
    -DMG_BUILD_TESTS=OFF -DMG_BUILD_EXAMPLES=OFF >/dev/null
# Two at a time; each file's findings are printed whole.
if ! printf '%s\n' "${sources[@]}" |
    xargs -P2 -n4 clang-tidy -p build-ci-tidy --quiet 2>/dev/null; then
    echo "56: clang-tidy found problems" >&2
    status=1
fi
rm -rf build-ci-tidy

echo "== gcc -fanalyzer"
rm -rf build-ci-analyzer
CC=gcc cmake -S . -B build-ci-analyzer -DCMAKE_BUILD_TYPE=Debug \
    -DMG_BUILD_TESTS=OFF -DMG_BUILD_EXAMPLES=OFF \
    "-DCMAKE_C_FLAGS=-fanalyzer -Werror" >/dev/null
if cmake --build build-ci-analyzer -j2; then
    rm -rf build-ci-analyzer
else
    echo "56: gcc -fanalyzer found problems" >&2
    status=1
fi
exit "$status"
