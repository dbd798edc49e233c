#!/usr/bin/env bash
# Benchmarks: wall-clock ns per translation (build/vtd-bench, best of 5) and
# instructions per vtd_translate call counted by callgrind, which is
# repeatable on a noisy shared machine; then the same two for the IOVA
# allocator and the driver's map+unmap (vtd bench --case iova,drv).
# `vtd bench` alone runs every case.
#
#   scripts/bench.sh [--no-setup] [--threads T] [--iters N]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
setup=1 threads=2 iters=2000000
for a in "$@"; do
    case "$a" in
    --no-setup) setup=0 ;;
    --threads=*) threads=${a#*=} ;;
    --iters=*) iters=${a#*=} ;;
    -h|--help) sed -n 2,7p "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option '$a'" >&2; exit 2 ;;
    esac
done
[ "$setup" = 1 ] && ./scripts/setup.sh
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVTD_TESTS=OFF >/dev/null
cmake --build build-bench --target vtd-bench vtd >/dev/null
bin=build-bench/vtd-bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "command: $bin --threads $threads --iters $iters"
"$bin" --threads "$threads" --iters "$iters"
echo
echo "instructions per vtd_translate (callgrind, 1 thread, 1000000 translations, no warm-up):"
for c in hit walk miss flhit flwalk nestwalk smhit nesthit; do
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect=vtd_translate \
        "$bin" --case "$c" --threads 1 --reps 1 --iters 1000000 --no-warmup >/dev/null 2>&1
    ir=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); v = $1} END {print v}')
    rm -f "$out"
    awk -v c="$c" -v ir="$ir" 'BEGIN { printf "  %-8s %8.1f instructions\n", c, ir / 1000000 }'
done
echo
echo "command: build-bench/vtd bench --case iova,drv --threads $threads --iters $iters"
build-bench/vtd bench --case iova,drv --threads "$threads" --iters "$iters" 2>/dev/null
echo
echo "instructions per IOVA alloc+free and driver map+unmap (callgrind, 1 thread, 100000 pairs, no warm-up):"
for cf in iova-fast:bench_iova_single iova-batch:bench_iova_batch map4k-strict:bench_drv_loop \
    map4k-deferred:bench_drv_loop map2m-strict:bench_drv_loop map2m-deferred:bench_drv_loop; do
    c=${cf%%:*} fn=${cf#*:}
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect="$fn" \
        build-bench/vtd bench --case "$c" --threads 1 --reps 1 --iters 100000 --no-warmup >/dev/null 2>&1
    ir=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); v = $1} END {print v}')
    rm -f "$out"
    awk -v c="$c" -v ir="$ir" 'BEGIN { printf "  %-14s %8.1f instructions\n", c, ir / 100000 }'
done
