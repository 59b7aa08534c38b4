#!/usr/bin/env bash
# Builds the Google Benchmark microbenchmarks (release build in build-bench) and runs each one pinned to a
# single core, 5 repetitions, printing the medians. Full aggregates (mean/median/stddev/cv) are written as
# JSON to build-bench/bench-results/. See docs/performance.md for the method and the recorded figures.
#
#   devtools/run-benchmarks.sh                              # everything
#   devtools/run-benchmarks.sh --benchmark_filter=Echo      # extra flags go to every benchmark binary
#
# Environment: BUILD_DIR (default build-bench), BENCH_CPU (default: the highest-numbered CPU),
# REPS (default 5), BENCHES (default "bench_checksum bench_parse bench_echo").
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build-bench}
cpu=${BENCH_CPU:-$(($(nproc) - 1))}
reps=${REPS:-5}
benches=${BENCHES:-"bench_checksum bench_parse bench_echo"}

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --buildtype=release -Dbenchmarks=true -Dtests=false -Dwerror=true
else
  meson configure "$build" -Dbuildtype=release -Dbenchmarks=true >/dev/null
fi
targets=()
for b in $benches; do targets+=("benchmarks/$b"); done
ninja -C "$build" "${targets[@]}"

out="$build/bench-results"
mkdir -p "$out"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), kernel $(uname -r); pinned to CPU $cpu"
echo "medians of $reps repetitions (rates are computed from CPU time, Google Benchmark's default)"
status=0
for b in $benches; do
  echo
  echo "== $b"
  # Aggregates only: keep the header and the *_median rows; surface any benchmark that reported an error.
  if ! taskset -c "$cpu" "$build/benchmarks/$b" \
      --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
      --benchmark_counters_tabular=true --benchmark_color=false \
      --benchmark_out="$out/$b.json" --benchmark_out_format=json "$@" 2>&1 |
      awk '/^Load Average/ || /^-+$/ || /^Benchmark/ || /_median/ { print; next }
           /ERROR OCCURRED/ { print; bad = 1 }
           END { exit bad }'; then
    status=1
  fi
done
echo
echo "JSON with all aggregates: $out/"
exit $status
