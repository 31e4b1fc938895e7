#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hardening, fuzzing: every libFuzzer target in tests/fuzz (fuzz_*.c,
# picked up by glob) built with clang under ASan + UBSan (with
# unsigned-integer-overflow), the library instrumented for coverage; each
# replays its seed corpus, then fuzzes for MG_FUZZ_SECONDS (default 45)
# from a scratch copy of it. Any crash, sanitizer report, leak or timeout
# fails the stage; the reproducer is left in build-ci-fuzz/artifacts/.
# Total fuzzing time: targets x MG_FUZZ_SECONDS (5 x 45 s today, under the
# 6-minute budget; lower MG_FUZZ_SECONDS when targets are added).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash .ci/install-deps clang libclang-rt-14-dev

dir=build-ci-fuzz
seconds=${MG_FUZZ_SECONDS:-45}
san=address,undefined,unsigned-integer-overflow
ign="-fsanitize-ignorelist=$PWD/.ci/sanitizer-ignorelist.txt"
rm -rf "$dir"
CC=clang CXX=clang++ cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMG_FUZZ=ON -DMG_BUILD_EXAMPLES=OFF \
    "-DCMAKE_C_FLAGS=-fsanitize=$san,fuzzer-no-link $ign -fno-sanitize-recover=all -fno-omit-frame-pointer" \
    "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=$san" \
    "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=$san"
cmake --build "$dir" -j2 --target mg_fuzz

mkdir -p "$dir/artifacts"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    seeds=tests/fuzz/corpus/$name
    work=$dir/corpus/$name
    [[ -d $seeds ]] || { echo "54-fuzz: no seed corpus $seeds" >&2; exit 1; }
    mkdir -p "$work"
    cp "$seeds"/* "$work"/
    echo "== $name: seeds, then ${seconds}s of fuzzing"
    if ! "$dir/tests/fuzz/$name" -runs=0 "$seeds" ||
        ! "$dir/tests/fuzz/$name" -max_total_time="$seconds" -timeout=10 \
            -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
            -artifact_prefix="$dir/artifacts/$name-" "$work"; then
        echo "54-fuzz: $name FAILED; reproducer(s): $(ls "$dir/artifacts" | tr '\n' ' ')" >&2
        status=1
    fi
done
if ((status == 0)); then
    rm -rf "$dir"
fi
exit "$status"
