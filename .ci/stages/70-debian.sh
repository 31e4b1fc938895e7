#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CI stage 70: the Debian packages. Builds libmgretry1, libmgretry-dev and
# mgretry with dpkg-buildpackage (which runs the test suite and the strict
# symbols check) from a copy of the tree in a temporary directory, so that
# nothing is written next to or inside the repository; requires lintian
# to report no error and no warning; installs the packages with apt;
# builds tests/consumer/consumer.c against the system install through
# find_package(mgretry) (tests/consumer/cmake) and through pkg-config,
# runs both and checks that they used the copy under /usr; runs the
# installed mgretry and looks up the installed manual pages; and finally
# purges the packages again, also when a step failed, so that later
# stages and the machine are left as they were.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
src=$PWD

step() { printf '==> [70-debian] %s\n' "$*"; }
fail() { printf 'FAIL [70-debian]: %s\n' "$*" >&2; exit 1; }

# Build dependencies (debian/control) and the packaging tools; man-db
# gives "man -w", lintian's own checks of the pages need it too.
bash .ci/install-deps debhelper dpkg-dev fakeroot lintian man-db \
    cmake pkg-config libbsd-dev libcmocka-dev

packages=(libmgretry1 libmgretry-dev mgretry)
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
upstream=${version%-*}
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

# A package of that name that is already installed would make the
# checks below prove nothing, and the cleanup would remove it.
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status != *" installed" ]] ||
        fail "$pkg is already installed; remove it first"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mgretry-deb.XXXXXX")
installed=0
cleanup() {
    if ((installed)); then
        step "purge ${packages[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get remove -y --purge \
            -o DPkg::Lock::Timeout=300 "${packages[@]}" \
            >"$tmp/purge.log" 2>&1 ||
            { cat "$tmp/purge.log" >&2; echo "70-debian: purge failed" >&2; }
    fi
    rm -rf -- "$tmp"
}
trap cleanup EXIT

# The tracked files as they stand in the work tree, nothing untracked
# (build directories, other people's scratch files).
step "copy the tracked files to $tmp/libmgretry-$upstream"
mkdir -p "$tmp/libmgretry-$upstream"
while IFS= read -r -d '' file; do
    [[ -e $file || -L $file ]] || continue # deleted, not yet committed
    cp -P --parents -- "$file" "$tmp/libmgretry-$upstream/"
done < <(git ls-files -z)
[[ -x $tmp/libmgretry-$upstream/debian/rules ]] || fail "debian/rules was not copied"

step "dpkg-buildpackage -us -uc -b (runs the test suite and dpkg-gensymbols -c4)"
(cd "$tmp/libmgretry-$upstream" && dpkg-buildpackage -us -uc -b) \
    >"$tmp/build.log" 2>&1 || {
    tail -n 150 "$tmp/build.log" >&2
    fail "dpkg-buildpackage failed"
}
grep -E '^ *[0-9]+% tests passed|tests passed,' "$tmp/build.log" || true
changes=$tmp/libmgretry_${version}_${arch}.changes
[[ -f $changes ]] || fail "no $changes"
debs=()
for pkg in "${packages[@]}"; do
    deb=$tmp/${pkg}_${version}_${arch}.deb
    [[ -f $deb ]] || fail "not built: $deb"
    debs+=("$deb")
    printf '    %s\n' "$(basename "$deb")"
    dpkg-deb -c "$deb" | awk '{ print "        " $6 ($7 ? " " $7 " " $8 : "") }'
done

# Info and pedantic tags are shown, not fatal; overrides are in
# debian/*.lintian-overrides, each with its reason.
step "lintian (fails on any error or warning)"
lintian_rc=0
lintian --fail-on error,warning --display-info --pedantic \
    --tag-display-limit 0 "$changes" \
    >"$tmp/lintian.log" 2>&1 || lintian_rc=$?
sed 's/^/    /' "$tmp/lintian.log"
((lintian_rc == 0)) || fail "lintian exited $lintian_rc: errors or warnings above"
if grep -E '^[EW]: ' "$tmp/lintian.log" >/dev/null; then
    fail "lintian reports errors or warnings"
fi

step "apt-get install ${debs[*]##*/}"
installed=1
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    -o DPkg::Lock::Timeout=300 "${debs[@]}" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "apt-get install failed"; }
for pkg in "${packages[@]}"; do
    [[ $(dpkg-query -W -f='${Version}' "$pkg") == "$version" ]] ||
        fail "$pkg $version is not installed"
done

# check_uses_usr BINARY: needs libmgretry.so.1 and the loader takes it
# from /usr/lib/<multiarch>, the packaged copy.
check_uses_usr() {
    local resolved real
    readelf -d "$1" | grep -q 'NEEDED.*\[libmgretry\.so\.1\]' ||
        fail "$1 does not need libmgretry.so.1"
    resolved=$(env -u LD_LIBRARY_PATH ldd "$1" |
        sed -n 's/^[[:space:]]*libmgretry\.so\.1 => \([^ ]*\) .*/\1/p')
    [[ -n $resolved && $resolved != not ]] ||
        fail "the loader does not find libmgretry.so.1 for $1"
    # /lib is /usr/lib on a merged-/usr system: compare real paths.
    real=$(realpath "$resolved")
    [[ $real == "/usr/lib/$multiarch/libmgretry.so.1."* ]] ||
        fail "$1 loads libmgretry.so.1 from $resolved ($real), not /usr/lib/$multiarch"
    [[ $(dpkg -S "$real" 2>/dev/null) == libmgretry1:* ]] ||
        fail "$real does not belong to libmgretry1"
    step "$(basename "$1") loads $resolved = $real (libmgretry1)"
}

step "consumer through find_package(mgretry 1), system install only"
cmake -S tests/consumer/cmake -B "$tmp/consumer-cmake" \
    -DMG_EXPECTED_PREFIX=/usr -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
    >"$tmp/consumer-cmake.log" 2>&1 ||
    { cat "$tmp/consumer-cmake.log" >&2; fail "configure failed"; }
grep -- '-- mgretry ' "$tmp/consumer-cmake.log" || true
found_dir=$(sed -n 's/^mgretry_DIR:PATH=//p' "$tmp/consumer-cmake/CMakeCache.txt")
[[ $(realpath "$found_dir") == "/usr/lib/$multiarch/cmake/mgretry" ]] ||
    fail "find_package found mgretry in '$found_dir', not /usr/lib/$multiarch/cmake/mgretry"
cmake --build "$tmp/consumer-cmake" >"$tmp/consumer-build.log" 2>&1 ||
    { cat "$tmp/consumer-build.log" >&2; fail "consumer build failed"; }
check_uses_usr "$tmp/consumer-cmake/consumer_shared"
"$tmp/consumer-cmake/consumer_shared" || fail "consumer_shared failed"
readelf -d "$tmp/consumer-cmake/consumer_static" |
    grep -q 'NEEDED.*libmgretry' && fail "consumer_static needs libmgretry.so"
"$tmp/consumer-cmake/consumer_static" || fail "consumer_static failed"

step "consumer through pkg-config, system install only"
pc() { env -u PKG_CONFIG_PATH pkg-config "$@"; }
[[ $(pc --modversion mgretry) == "$upstream" ]] ||
    echo "    note: mgretry.pc says $(pc --modversion mgretry), package $version"
[[ $(pc --variable=pcfiledir mgretry) == "/usr/lib/$multiarch/pkgconfig" ]] ||
    fail "pkg-config uses $(pc --variable=pcfiledir mgretry), not /usr/lib/$multiarch/pkgconfig"
step "cc consumer.c $(pc --cflags --libs mgretry)"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Wpedantic -Werror $(pc --cflags mgretry) \
    tests/consumer/consumer.c -o "$tmp/consumer_pc" $(pc --libs mgretry) ||
    fail "compiling with pkg-config flags failed"
check_uses_usr "$tmp/consumer_pc"
"$tmp/consumer_pc" || fail "consumer_pc failed"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Wpedantic -Werror $(pc --static --cflags mgretry) \
    tests/consumer/consumer.c -o "$tmp/consumer_pc_static" \
    -Wl,-Bstatic -lmgretry -Wl,-Bdynamic \
    $(pc --static --libs mgretry | sed 's/-lmgretry//') ||
    fail "compiling with pkg-config --static flags failed"
readelf -d "$tmp/consumer_pc_static" | grep -q 'NEEDED.*libmgretry' &&
    fail "consumer_pc_static needs libmgretry.so"
"$tmp/consumer_pc_static" || fail "consumer_pc_static failed"

step "the installed mgretry command"
[[ $(command -v mgretry) == /usr/bin/mgretry ]] ||
    fail "mgretry resolves to '$(command -v mgretry)', not /usr/bin/mgretry"
mgretry --version
mgretry --version | grep -qF "$upstream" ||
    echo "    note: mgretry --version differs from the package version $version"
check_uses_usr /usr/bin/mgretry
mgretry -q -p 'retries=2 base=1ms max=1ms' -- true || fail "mgretry -- true failed"
rc=0
mgretry -q -p 'retries=2 base=1ms max=1ms' -- sh -c 'exit 3' || rc=$?
((rc == 3)) || fail "mgretry -- sh -c 'exit 3' exited $rc, expected 3"

step "the installed manual pages"
count=$(dpkg-deb -c "$tmp/libmgretry-dev_${version}_${arch}.deb" |
    grep -c '/usr/share/man/man3/mg_.*\.3\.gz' || true)
symbols=$(grep -c '^ mg_' debian/libmgretry1.symbols)
((count == symbols)) ||
    fail "libmgretry-dev ships $count man3 pages for $symbols symbols"
printf '    libmgretry-dev: %d man3 pages for %d symbols\n' "$count" "$symbols"
if [[ -e /usr/share/man/man1/mgretry.1.gz ]]; then
    # mg_cancel_free is one of the pages that dh_installman turned from a
    # ".so" page into a symlink to the page it shares (mg_cancel_new).
    for page in mgretry libmgretry mg_retry_run mg_cancel_free mg_policy_parse; do
        where=$(man -w "$page") || fail "man -w $page found nothing"
        [[ $where == /usr/share/man/man[137]/*.[137].gz ]] ||
            fail "man -w $page: '$where', not under /usr/share/man"
        MANWIDTH=80 man -P cat "$page" 2>/dev/null | grep -qw -- "$page" ||
            fail "man $page does not show $page"
        printf '    man -w %s: %s\n' "$page" "$where"
    done
else
    echo "    dpkg excludes /usr/share/man here: pages not looked up"
fi

step "PASS (packages purged on exit)"
