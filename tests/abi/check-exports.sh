#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The exported-symbol check: the names the built libmgretry.so exports,
# the names src/libmgretry.map lists and the functions include/mg/*.h
# declare MG_API must be the same three sets. Also: every export starts
# with mg_ and carries the default version (name@@NODE) of the map node
# that lists it, every node of the map is defined in the library, and the
# SONAME is libmgretry.so.1. The linker accepts a version script that
# names a symbol nobody defines, and hidden visibility silently drops a
# function whose MG_API was forgotten; this test catches both.
#
# usage: check-exports.sh --lib=libmgretry.so --map=libmgretry.map
#          --include-dir=DIR [--cc=cc] [--nm=nm] [--readelf=readelf]
set -euo pipefail

lib='' map='' include_dir='' cc=cc nm=nm readelf=readelf
for arg in "$@"; do
    case $arg in
    --lib=*) lib=${arg#*=} ;;
    --map=*) map=${arg#*=} ;;
    --include-dir=*) include_dir=${arg#*=} ;;
    --cc=*) cc=${arg#*=} ;;
    --nm=*) nm=${arg#*=} ;;
    --readelf=*) readelf=${arg#*=} ;;
    *) echo "check-exports.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done
[[ -f $lib && -f $map && -d $include_dir ]] || {
    echo "usage: check-exports.sh --lib=SO --map=MAP --include-dir=DIR" >&2
    exit 2
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mgretry-abi.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
errors=0
fail() { printf 'FAIL: %s\n' "$*" >&2; errors=$((errors + 1)); }

# 1. What the library exports: "name node" for each defined dynamic
#    symbol; the version nodes themselves (type A) go to their own list
#    (llvm-nm prints them as NODE@@NODE, GNU nm as NODE).
"$nm" -D --defined-only "$lib" >"$tmp/nm.txt"
awk '$2 == "A" { print $3 }' "$tmp/nm.txt" | sed 's/@.*//' | sort -u >"$tmp/lib-nodes"
awk '$2 != "A" { print $3 }' "$tmp/nm.txt" | sort -u >"$tmp/lib-versioned"
sed 's/@.*//' "$tmp/lib-versioned" | sort -u >"$tmp/lib"

# 2. What the version script lists: "name node", comments removed.
sed -e ':a' -e '/\/\*/{ /\*\//!{ N; ba; }; s:/\*.*\*/::; }' "$map" |
    awk '
        /^[[:space:]]*[A-Za-z_][A-Za-z0-9_.]*[[:space:]]*\{/ {
            node = $1; sub(/\{.*/, "", node); next }
        /^[[:space:]]*\}/ { node = ""; next }
        /^[[:space:]]*(global|local):/ { next }
        node != "" && /^[[:space:]]*[A-Za-z_][A-Za-z0-9_]*;/ {
            name = $1; sub(/;.*/, "", name); print name, node }
    ' | sort -u >"$tmp/map-versioned"
cut -d' ' -f1 "$tmp/map-versioned" | sort -u >"$tmp/map"
cut -d' ' -f2 "$tmp/map-versioned" | sort -u >"$tmp/map-nodes"

# 3. What the headers declare MG_API. The preprocessor drops comments and
#    turns MG_API into the visibility attribute, whose next identifier
#    before "(" is the function name.
for h in "$include_dir"/mg/*.h; do
    "$cc" -E -P -I"$include_dir" -x c "$h"
done | tr '\n' ' ' |
    grep -oE 'visibility *\( *"default" *\) *\) *\)[^;{}()]*\(' |
    sed -E 's/^.*[^A-Za-z0-9_](mg_[A-Za-z0-9_]+) *\($/\1/' |
    grep -E '^mg_[A-Za-z0-9_]+$' | sort -u >"$tmp/headers" || true

for list in lib map headers; do
    [[ -s $tmp/$list ]] || fail "no symbols found in the $list list"
done

compare() { # compare A B: report names in one list and not in the other
    local a=$1 b=$2 only
    only=$(comm -23 "$tmp/$a" "$tmp/$b" | tr '\n' ' ')
    [[ -z $only ]] || fail "in $a but not in $b: $only"
    only=$(comm -13 "$tmp/$a" "$tmp/$b" | tr '\n' ' ')
    [[ -z $only ]] || fail "in $b but not in $a: $only"
}
compare lib map
compare map headers
compare lib headers

# 4. Only mg_ names leave the library.
foreign=$(grep -v '^mg_' "$tmp/lib" | tr '\n' ' ' || true)
[[ -z $foreign ]] || fail "exported names without the mg_ prefix: $foreign"

# 5. Each export is the default version from the node that lists it
#    (names missing from the library were reported above).
while read -r name node; do
    grep -qxF "$name" "$tmp/lib" || continue
    grep -qxF "$name@@$node" "$tmp/lib-versioned" ||
        fail "$name is not exported as $name@@$node"
done <"$tmp/map-versioned"
nodes_diff=$(comm -3 "$tmp/lib-nodes" "$tmp/map-nodes" | tr -s '\n\t' '  ')
[[ -z $nodes_diff ]] ||
    fail "version nodes differ between library and map: $nodes_diff"

# 6. The SONAME that the ABI promise names.
soname=$("$readelf" -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[[ $soname == libmgretry.so.1 ]] ||
    fail "SONAME is '${soname:-none}', expected libmgretry.so.1"

if ((errors != 0)); then
    echo "check-exports: $errors problem(s)" >&2
    exit 1
fi
printf 'check-exports: %d symbols, same in library, map and headers; ' \
    "$(wc -l <"$tmp/lib")"
printf 'nodes %s; SONAME %s\n' "$(tr '\n' ' ' <"$tmp/lib-nodes")" "$soname"
