#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The manual page check (CTest test man_pages): every symbol exported by
# src/libmgretry.map has its page docs/man/man3/<symbol>.3 and every man3
# page is named after an exported symbol; each page, or the page it
# sources with ".so", lists the symbol in its NAME line and shows in its
# SYNOPSIS the same prototype as the MG_API declaration in include/mg/*.h
# (whitespace aside), so a page cannot drift from the header; the
# libmgretry(7) overview names every symbol; and, when groff is installed,
# every page formats without a single groff warning.
#
# usage: check-man.sh --map=libmgretry.map --man-dir=docs/man
#          --include-dir=include [--groff=groff]
set -euo pipefail

map='' man_dir='' include_dir='' groff=''
for arg in "$@"; do
    case $arg in
    --map=*) map=${arg#*=} ;;
    --man-dir=*) man_dir=${arg#*=} ;;
    --include-dir=*) include_dir=${arg#*=} ;;
    --groff=*) groff=${arg#*=} ;;
    *) echo "check-man.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done
[[ -f $map && -d $man_dir/man3 && -d $include_dir/mg ]] || {
    echo "usage: check-man.sh --map=MAP --man-dir=DIR --include-dir=DIR" >&2
    exit 2
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mgretry-man.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
errors=0
fail() { printf 'FAIL: %s\n' "$*" >&2; errors=$((errors + 1)); }

# The exported symbols: the names of the version script's global lists
# (same parsing as tests/abi/check-exports.sh).
sed -e ':a' -e '/\/\*/{ /\*\//!{ N; ba; }; s:/\*.*\*/::; }' "$map" |
    awk '
        /^[[:space:]]*[A-Za-z_][A-Za-z0-9_.]*[[:space:]]*\{/ { node = 1; next }
        /^[[:space:]]*\}/ { node = 0; next }
        /^[[:space:]]*(global|local):/ { next }
        node && /^[[:space:]]*[A-Za-z_][A-Za-z0-9_]*;/ {
            name = $1; sub(/;.*/, "", name); print name }
    ' | LC_ALL=C sort -u >"$tmp/symbols"
[[ -s $tmp/symbols ]] || fail "no symbols found in $map"

# The man3 pages.
find "$man_dir/man3" -maxdepth 1 -name '*.3' -printf '%f\n' |
    sed 's/\.3$//' | LC_ALL=C sort -u >"$tmp/pages"

only=$(LC_ALL=C comm -23 "$tmp/symbols" "$tmp/pages" | tr '\n' ' ')
[[ -z $only ]] || fail "exported but without a man3 page: $only"
only=$(LC_ALL=C comm -13 "$tmp/symbols" "$tmp/pages" | tr '\n' ' ')
[[ -z $only ]] || fail "man3 pages that name no exported symbol: $only"

# norm: squeeze blanks, none around ( ) , * ; so that layout does not
# matter: "const char*mg_status_str(int status);".
norm() { sed -E -e 's/[[:space:]]+/ /g' -e 's/ ?([(),*;]) ?/\1/g' -e 's/^ //'; }

# The header declarations, one per line (preprocessor lines and comments
# dropped, so that neither "#define MG_API ..." nor a comment that names
# MG_API is taken for one).
grep -hv '^[[:space:]]*#' "$include_dir"/mg/*.h | tr '\n' ' ' |
    sed -E 's:/\*([^*]|\*+[^*/])*\*+/: :g' | grep -oE 'MG_API [^;]*;' |
    sed 's/^MG_API //' | norm >"$tmp/decls"

# One awk pass over the symbols, the declarations and every page does all
# the per-symbol checks (a process per symbol is slow on a busy machine).
# A page's text is read with the roff font escapes and \- \e \& undone.
awk_errors=0
awk '
    function plain(t) {
        gsub(/\\f[BIPR]/, "", t); gsub(/\\-/, "-", t); gsub(/\\e/, "\\", t)
        gsub(/\\&/, "", t)
        return t
    }
    function norm(t) {
        gsub(/[ \t\n]+/, " ", t)
        gsub(/ ?\( ?/, "(", t); gsub(/ ?\) ?/, ")", t); gsub(/ ?, ?/, ",", t)
        gsub(/ ?\* ?/, "*", t); gsub(/ ?; ?/, ";", t); sub(/^ /, "", t)
        return t
    }
    function bad(msg) { print "FAIL: " msg > "/dev/stderr"; errors++ }
    # Statements of a SYNOPSIS paragraph: remember which functions each
    # one declares, as page SUBSEP function -> prototype.
    function flush(page,   n, i, st, stmts) {
        n = split(norm(para), stmts, ";")
        for (i = 1; i <= n; i++) {
            st = stmts[i]
            if (st !~ /^#/ && match(st, /mg_[A-Za-z0-9_]+\(/))
                proto[page, substr(st, RSTART, RLENGTH - 1)] = st ";"
        }
        para = ""
    }
    FILENAME == ARGV[1] { want[$0] = 1; next }
    FILENAME == ARGV[2] {
        if (match($0, /mg_[A-Za-z0-9_]+\(/))
            decl[substr($0, RSTART, RLENGTH - 1)] = $0
        next
    }
    FNR == 1 {
        if (insyn) flush(page)
        page = FILENAME; sub(/.*\//, "", page); sub(/\.[137]$/, "", page)
        section = ""; insyn = 0; para = ""
        if ($1 == ".so") { link[page] = $2; next }
        full[page] = 1
    }
    page in link { next }
    /^\.SH / {
        if (insyn) flush(page)
        section = $2; insyn = (section == "SYNOPSIS"); getname = (section == "NAME")
        next
    }
    getname { names[page] = plain($0); getname = 0; next }
    page == "libmgretry" {
        t = plain($0)
        while (match(t, /mg_[A-Za-z0-9_]+/)) {
            mentioned[substr(t, RSTART, RLENGTH)] = 1
            t = substr(t, RSTART + RLENGTH)
        }
        next
    }
    insyn {
        if ($0 ~ /^\.(nf|fi)/) next
        if ($0 ~ /^[ \t]*$/) { flush(page); next }
        para = para " " plain($0)
    }
    END {
        if (insyn) flush(page)
        for (sym in want) {
            if (!((sym in full) || (sym in link))) continue # reported above
            target = sym
            if (sym in link) {
                target = link[sym]; sub(/.*\//, "", target); sub(/\.3$/, "", target)
                if (!(target in full) && !(target in link)) {
                    bad(sym ".3 sources " link[sym] ", which is missing"); continue
                }
                if (target in link) {
                    bad(sym ".3 sources " link[sym] ", itself a .so link"); continue
                }
            }
            split(names[target], nm, / - /)
            if (index(", " nm[1] ", ", ", " sym ", ") == 0)
                bad(sym ".3: the NAME line of " target ".3 does not list " sym ": " names[target])
            if (!(sym in decl))
                bad(sym ": no MG_API declaration in the headers")
            else if (proto[target, sym] != decl[sym])
                bad(sym ": SYNOPSIS of " target ".3 shows \"" proto[target, sym] \
                    "\", the header declares \"" decl[sym] "\"")
            if (!(sym in mentioned))
                bad("libmgretry.7 does not mention " sym)
        }
        exit errors > 100 ? 100 : errors
    }
' "$tmp/symbols" "$tmp/decls" "$man_dir"/man3/*.3 "$man_dir/man7/libmgretry.7" ||
    awk_errors=$?
errors=$((errors + awk_errors))
[[ -f $man_dir/man7/libmgretry.7 ]] || fail "missing $man_dir/man7/libmgretry.7"
[[ -f $man_dir/man1/mgretry.1 ]] || fail "missing $man_dir/man1/mgretry.1"

# Every page formats cleanly: one groff run over all of them (it resolves
# .so from the man directory; each warning names its file and line).
if [[ -n $groff ]]; then
    out=$(cd "$man_dir" && "$groff" -man -ww -z -Tutf8 man1/*.1 man3/*.3 man7/*.7 2>&1) ||
        fail "groff failed: $out"
    [[ -z $out ]] || fail "groff warns: $out"
else
    echo "check-man: groff not found, formatting not checked"
fi

if ((errors != 0)); then
    echo "check-man: $errors problem(s)" >&2
    exit 1
fi
printf 'check-man: %d symbols, each with its page and prototype; %d man3 pages\n' \
    "$(wc -l <"$tmp/symbols")" "$(wc -l <"$tmp/pages")"
