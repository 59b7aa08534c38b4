#!/usr/bin/env bash
# Runs one benchmark binary briefly (a few iterations of each benchmark) and fails if any benchmark reported
# an error: a benchmark that checks its results (every received byte, every response) must keep passing
# those checks, or its figures mean nothing. Google Benchmark itself exits 0 after SkipWithError.
#   benchmarks/smoke.sh BINARY [extra benchmark flags]
set -uo pipefail
bin=$1
shift
out=$("$bin" --benchmark_min_time=0.01 --benchmark_color=false "$@" 2>&1)
rc=$?
echo "$out" | grep -E '^BM_|ERROR'
if [ "$rc" != 0 ]; then
  echo "bench smoke: $bin exited $rc" >&2
  exit 1
fi
if echo "$out" | grep -q 'ERROR OCCURRED'; then
  echo "bench smoke: $bin: a benchmark reported an error (above)" >&2
  exit 1
fi
if ! echo "$out" | grep -q '^BM_'; then
  echo "bench smoke: $bin ran no benchmark" >&2
  exit 1
fi
