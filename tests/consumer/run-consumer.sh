#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The consumer tests: install the build tree into a fresh temporary prefix
# and use it the way an outside project would, in one of five ways (the
# MODE argument, one CTest test each):
#   cmake-shared      find_package(mgretry 1) + mgretry::mgretry
#   cmake-static      find_package(mgretry 1) + mgretry::mgretry_static
#   pkgconfig-shared  cc $(pkg-config --cflags --libs mgretry)
#   pkgconfig-static  cc $(pkg-config --static --cflags --libs mgretry),
#                     with libmgretry.a taken instead of the .so
#   cmake-version     mgretryConfigVersion.cmake accepts 1.x, rejects 2
# Each builds tests/consumer/consumer.c (or the version-check project),
# runs it, and checks how the binary links: a shared consumer must need
# libmgretry.so.1 and resolve it from the temporary prefix, a static one
# must not need libmgretry at all. The prefix is removed on exit.
#
# usage: run-consumer.sh MODE --build-dir=DIR --source-dir=DIR
#          [--libdir=lib] [--cmake=cmake] [--cc=cc] [--pkg-config=pkg-config]
#          [--readelf=readelf] [--cflags=FLAGS] [--ldflags=FLAGS]
# --cflags/--ldflags carry the library build's own flags (sanitizers must
# reach the consumer too).
set -euo pipefail

mode=${1:?usage: run-consumer.sh MODE --build-dir=DIR --source-dir=DIR ...}
shift
build_dir='' source_dir='' libdir=lib cmake=cmake cc=cc pkg_config=pkg-config
readelf=readelf cflags='' ldflags=''
for arg in "$@"; do
    case $arg in
    --build-dir=*) build_dir=${arg#*=} ;;
    --source-dir=*) source_dir=${arg#*=} ;;
    --libdir=*) libdir=${arg#*=} ;;
    --cmake=*) cmake=${arg#*=} ;;
    --cc=*) cc=${arg#*=} ;;
    --pkg-config=*) pkg_config=${arg#*=} ;;
    --readelf=*) readelf=${arg#*=} ;;
    --cflags=*) cflags=${arg#*=} ;;
    --ldflags=*) ldflags=${arg#*=} ;;
    *) echo "run-consumer.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done
[[ -n $build_dir && -n $source_dir ]] || {
    echo "run-consumer.sh: --build-dir and --source-dir are required" >&2
    exit 2
}

step() { printf '==> [%s] %s\n' "$mode" "$*"; }
fail() { printf 'FAIL [%s]: %s\n' "$mode" "$*" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mgretry-consumer-$mode.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
prefix=$tmp/prefix
libpath=$prefix/$libdir
consumer_dir=$source_dir/tests/consumer

step "install $build_dir into $prefix"
"$cmake" --install "$build_dir" --prefix "$prefix" >"$tmp/install.log" ||
    { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
for f in include/mg/common.h include/mg/error.h include/mg/retry.h \
    "$libdir/libmgretry.so.1" "$libdir/libmgretry.a" \
    "$libdir/pkgconfig/mgretry.pc" "$libdir/cmake/mgretry/mgretryConfig.cmake"; do
    [[ -e $prefix/$f ]] || fail "not installed: $f"
done
version=$(sed -n 's/^#define MG_RETRY_VERSION_STRING "\(.*\)"$/\1/p' \
    "$prefix/include/mg/common.h")
[[ -n $version ]] || fail "no MG_RETRY_VERSION_STRING in the installed header"

# needs_libmgretry BINARY: print the NEEDED entries naming libmgretry.
needs_libmgretry() {
    "$readelf" -d "$1" | sed -n 's/.*(NEEDED).*\[\(libmgretry[^]]*\)\].*/\1/p'
}

# check_shared BINARY [LD_LIBRARY_PATH]: needs exactly libmgretry.so.1 and
# the loader resolves it to the copy in the temporary prefix.
check_shared() {
    local bin=$1 ldpath=${2:-} needed resolved
    needed=$(needs_libmgretry "$bin")
    [[ $needed == libmgretry.so.1 ]] ||
        fail "$bin needs '${needed:-nothing}', expected libmgretry.so.1"
    resolved=$(LD_LIBRARY_PATH=$ldpath ldd "$bin" |
        sed -n 's/^[[:space:]]*libmgretry\.so\.1 => \([^ ]*\) .*/\1/p')
    [[ -n $resolved && $resolved != "not" ]] ||
        fail "the loader does not find libmgretry.so.1 for $bin"
    [[ $(realpath "$resolved") == $(realpath "$libpath")/libmgretry.so.1* ]] ||
        fail "$bin resolves libmgretry.so.1 to $resolved, not to $libpath"
    step "$(basename "$bin") loads libmgretry.so.1 from $resolved"
}

# check_static BINARY: libmgretry is linked in, not needed at run time.
check_static() {
    local needed
    needed=$(needs_libmgretry "$1")
    [[ -z $needed ]] || fail "$1 is meant to be static but needs $needed"
    step "$(basename "$1") does not depend on libmgretry.so"
}

run() {
    step "run $*"
    "$@" || fail "$* exited with status $?"
}

# The CMake consumer project, configured against the temporary prefix only.
cmake_consumer() {
    local target=$1
    step "configure tests/consumer/cmake with find_package(mgretry 1)"
    "$cmake" -S "$consumer_dir/cmake" -B "$tmp/build" \
        -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$cflags" \
        -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
        -DCMAKE_PREFIX_PATH="$prefix" -DMG_EXPECTED_PREFIX="$prefix" \
        -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$tmp/configure.log" 2>&1 ||
        { cat "$tmp/configure.log" >&2; fail "configure failed"; }
    grep -- '-- mgretry ' "$tmp/configure.log" || true
    step "build $target"
    "$cmake" --build "$tmp/build" --target "$target" >"$tmp/build.log" 2>&1 ||
        { cat "$tmp/build.log" >&2; fail "build of $target failed"; }
}

# pkg-config, looking only at the temporary prefix for mgretry.pc.
pc() {
    PKG_CONFIG_PATH=$libpath/pkgconfig "$pkg_config" "$@"
}

pc_checks() {
    local pcprefix
    pc --exists mgretry || fail "pkg-config does not find mgretry"
    [[ $(pc --modversion mgretry) == "$version" ]] ||
        fail "mgretry.pc says $(pc --modversion mgretry), header says $version"
    pcprefix=$(pc --variable=prefix mgretry)
    [[ $(realpath "$pcprefix") == $(realpath "$prefix") ]] ||
        fail "mgretry.pc prefix is $pcprefix, not $prefix (not relocatable)"
}

case $mode in
cmake-shared)
    cmake_consumer consumer_shared
    check_shared "$tmp/build/consumer_shared"
    run "$tmp/build/consumer_shared"
    ;;
cmake-static)
    cmake_consumer consumer_static
    check_static "$tmp/build/consumer_static"
    run "$tmp/build/consumer_static"
    ;;
pkgconfig-shared)
    pc_checks
    step "cc consumer.c \$(pkg-config --cflags --libs mgretry): $(pc --cflags --libs mgretry)"
    # shellcheck disable=SC2046,SC2086
    "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags \
        $(pc --cflags mgretry) "$consumer_dir/consumer.c" \
        -o "$tmp/consumer_pc_shared" $ldflags $(pc --libs mgretry) ||
        fail "compiling with pkg-config flags failed"
    check_shared "$tmp/consumer_pc_shared" "$libpath"
    run env LD_LIBRARY_PATH="$libpath" "$tmp/consumer_pc_shared"
    ;;
pkgconfig-static)
    pc_checks
    libs=$(pc --static --libs mgretry)
    step "pkg-config --static --libs mgretry: $libs"
    [[ " $libs " == *" -lbsd "* ]] ||
        fail "pkg-config --static does not bring in -lbsd (Requires.private)"
    # Both libmgretry.so and libmgretry.a sit in the prefix; -l: makes the
    # linker take the archive, as a static-only install would.
    libs=${libs/-lmgretry/-l:libmgretry.a}
    # shellcheck disable=SC2046,SC2086
    "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags \
        $(pc --static --cflags mgretry) "$consumer_dir/consumer.c" \
        -o "$tmp/consumer_pc_static" $ldflags $libs ||
        fail "compiling with pkg-config --static flags failed"
    check_static "$tmp/consumer_pc_static"
    run env -u LD_LIBRARY_PATH "$tmp/consumer_pc_static"
    ;;
cmake-version)
    step "configure tests/consumer/cmake-version (installed version $version)"
    "$cmake" -S "$consumer_dir/cmake-version" -B "$tmp/build" \
        -DCMAKE_PREFIX_PATH="$prefix" -DMG_EXPECTED_PREFIX="$prefix" \
        -DMG_VERSION="$version" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF ||
        fail "mgretryConfigVersion.cmake accepted or rejected the wrong versions"
    ;;
*)
    fail "unknown mode (cmake-shared, cmake-static, pkgconfig-shared, pkgconfig-static, cmake-version)"
    ;;
esac
printf 'PASS [%s]\n' "$mode"
