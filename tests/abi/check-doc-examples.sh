#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Keeps the documentation's code honest: every ```c block of README.md and
# docs/*.md is compiled as its own translation unit (C11, -Wall -Wextra
# -Wpedantic -Werror, against the in-tree headers) and linked with the
# built libmgretry. A block with a main() is also run and must exit 0
# within 30 s; a block without one is linked with an empty main, so every
# library function it names must still exist. Put text that is not meant
# to compile in ```text blocks.
#
# usage: check-doc-examples.sh --source-dir=DIR --lib=libmgretry.so
#          [--cc=cc] [--cflags=FLAGS] [--ldflags=FLAGS]
set -euo pipefail

source_dir='' lib='' cc=cc cflags='' ldflags=''
for arg in "$@"; do
    case $arg in
    --source-dir=*) source_dir=${arg#*=} ;;
    --lib=*) lib=${arg#*=} ;;
    --cc=*) cc=${arg#*=} ;;
    --cflags=*) cflags=${arg#*=} ;;
    --ldflags=*) ldflags=${arg#*=} ;;
    *) echo "check-doc-examples.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done
[[ -d $source_dir && -f $lib ]] || {
    echo "usage: check-doc-examples.sh --source-dir=DIR --lib=SO" >&2
    exit 2
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mgretry-docs.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
libdir=$(cd "$(dirname "$lib")" && pwd)
printf 'int main(void) { return 0; }\n' >"$tmp/empty_main.c"

shopt -s nullglob
docs=("$source_dir/README.md" "$source_dir"/docs/*.md)
blocks=0 failed=0 n=0

for doc in "${docs[@]}"; do
    [[ -f $doc ]] || continue
    rel=${doc#"$source_dir"/}
    n=$((n + 1))
    mkdir "$tmp/$n"
    # One file per block, named after the line where its code starts.
    awk -v dir="$tmp/$n" '
        !inside && /^```c[[:space:]]*$/ {
            inside = 1; out = sprintf("%s/%05d.c", dir, NR + 1); next }
        inside && /^```[[:space:]]*$/ { inside = 0; close(out); next }
        inside { print > out }
        END { if (inside) { print "unterminated ```c block" > "/dev/stderr"; exit 1 } }
    ' "$doc" || { echo "FAIL: $rel has an unterminated code block" >&2; failed=$((failed + 1)); }
    for src in "$tmp/$n"/*.c; do
        line=${src##*/}
        line=$((10#${line%.c}))
        where="$rel:$line"
        blocks=$((blocks + 1))
        extra=("$tmp/empty_main.c")
        if grep -qE '(^|[^A-Za-z0-9_])main[[:space:]]*\(' "$src"; then
            extra=()
        fi
        # shellcheck disable=SC2086 # the flags are lists
        if ! "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags \
            -I"$source_dir/include" -o "$src.bin" "$src" "${extra[@]}" \
            $ldflags "$lib" -Wl,-rpath,"$libdir" 2>"$src.log"; then
            echo "FAIL: the example at $where does not compile:" >&2
            sed 's/^/    /' "$src.log" >&2
            failed=$((failed + 1))
            continue
        fi
        if ((${#extra[@]} == 0)); then
            if ! timeout 30 "$src.bin" >"$src.out" 2>&1; then
                echo "FAIL: the example at $where did not exit 0; output:" >&2
                sed 's/^/    /' "$src.out" >&2
                failed=$((failed + 1))
                continue
            fi
            echo "ok   $where (compiled, linked, ran)"
        else
            echo "ok   $where (compiled, linked)"
        fi
    done
done

if ((blocks == 0)); then
    echo "FAIL: no \`\`\`c blocks found in README.md or docs/*.md" >&2
    exit 1
fi
if ((failed != 0)); then
    echo "check-doc-examples: $failed of $blocks examples failed" >&2
    exit 1
fi
echo "check-doc-examples: all $blocks examples passed"
