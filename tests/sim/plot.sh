#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Turns mg_sim's CSV into the PNG plots of docs/jitter.md with gnuplot
# (Debian gnuplot-nox).
# usage: tests/sim/plot.sh CSV-DIR PNG-DIR
#   contention_calls.png  calls (writes) against clients, per jitter mode
#   contention_time.png   time until the last client is done
#   outage_rate_T<T>.png  calls per second at the server (100 ms bins, one
#                         seed) around an outage of T seconds, per mode
set -euo pipefail

if (($# != 2)); then
    echo "usage: $0 CSV-DIR PNG-DIR" >&2
    exit 2
fi
in=$1 out=$2
command -v gnuplot >/dev/null || {
    echo "plot.sh: gnuplot not found (Debian: apt-get install gnuplot-nox)" >&2
    exit 1
}
mkdir -p "$out"
modes=(none proportional full equal decorrelated)

# contention.csv: clients,mode,calls_median,completion_ms_median, split
# per mode so that gnuplot draws each mode as one connected line.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for m in "${modes[@]}"; do
    awk -F, -v m="$m" '$2 == m' "$in/contention.csv" >"$tmp/$m.csv"
done
gnuplot <<GP
set datafile separator ","
set terminal pngcairo size 720,440 font "sans,10"
set key top left
set grid
set xlabel "contending clients"
set xrange [0:210]
set style data linespoints
modes = "${modes[*]}"
colors = "#8000a0 #009e73 #3070d0 #e69f00 #c00000"
set output "$out/contention_calls.png"
set title "OCC contention: total calls (median of seeds)"
set ylabel "calls"
plot for [i=1:5] "$tmp/".word(modes, i).".csv" using 1:3 \
    title word(modes, i) lc rgb word(colors, i) pt i
set output "$out/contention_time.png"
set title "OCC contention: time until the last client is done (median)"
set ylabel "completion time (s)"
set logscale y
plot for [i=1:5] "$tmp/".word(modes, i).".csv" using 1:(\$4 / 1000) \
    title word(modes, i) lc rgb word(colors, i) pt i
GP

# outage_rate_T<T>.csv: t_s,none,proportional,full,equal,decorrelated
for f in "$in"/outage_rate_T*.csv; do
    [[ -e $f ]] || continue
    base=$(basename "$f" .csv)
    T=${base#outage_rate_T}
    gnuplot <<GP
set datafile separator ","
set terminal pngcairo size 720,900 font "sans,9"
set output "$out/$base.png"
set multiplot layout 5,1 title "Outage of $T s, then capacity 200 calls/s: calls/s at the server (100 ms bins, one seed)"
set grid
set yrange [0:5000]
set xrange [0:$T + 40]
unset key
set arrow 1 from $T, graph 0 to $T, graph 1 nohead dashtype 2
colors = "#8000a0 #009e73 #3070d0 #e69f00 #c00000"
do for [i=2:6] {
    set ylabel word("${modes[*]}", i - 1)
    if (i == 6) { set xlabel "time (s); dashed: recovery; flat line: capacity" }
    plot "$f" every ::1 using 1:i with steps lc rgb word(colors, i - 1), \\
        200 with lines lc rgb "black" dashtype 3
}
unset multiplot
GP
done
ls -l "$out"
