#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang + ASan + UBSan, in build-fuzz/) and runs each for a while,
# starting from the committed seed corpus. Exits non-zero if a target crashes, leaks a buffer, trips a
# sanitizer or hangs; the input that did it is left in build-fuzz/fuzz-out/<target>/artifacts/.
#
#   devtools/run-fuzz.sh                      # every target, 20 s each (the smoke run of run-tests.sh)
#   devtools/run-fuzz.sh --time 1800          # a longer campaign: 30 min per target
#   devtools/run-fuzz.sh --time 600 fuzz_tcp_state fuzz_frame
#   devtools/run-fuzz.sh --check              # exit 0 if clang and libFuzzer are usable, 1 if not
#
# The working corpus grows in build-fuzz/fuzz-out/<target>/corpus (the committed seeds stay as they are);
# a later run starts from it, the seeds and tests/fuzz/regressions/<target>/. To keep an input as a seed,
# copy it to tests/fuzz/corpus/<target>/; the input of a crash, once fixed, goes to
# tests/fuzz/regressions/<target>/ (every build replays both as unit tests: fuzz_replay_<target>).
set -euo pipefail
cd "$(dirname "$0")/.."

time_s=${SKIFF_FUZZ_TIME:-20}
check_only=false
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) time_s="$2"; shift ;;
    --check) check_only=true ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "run-fuzz: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1") ;;
  esac
  shift
done
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_wire_addr fuzz_wire_eth_arp fuzz_wire_ipv4 fuzz_wire_icmp fuzz_wire_udp fuzz_wire_tcp
                                    fuzz_frame fuzz_tcp_state)

# clang with libFuzzer's runtime: a one-line fuzz target must link.
fuzz_toolchain_ok() {
  command -v clang++ >/dev/null 2>&1 || return 1
  local d
  d=$(mktemp -d)
  printf '#include <cstdint>\n#include <cstddef>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' \
    >"$d/t.cc"
  clang++ -fsanitize=fuzzer,address,undefined "$d/t.cc" -o "$d/t" >/dev/null 2>&1
  local rc=$?
  rm -rf "$d"
  return $rc
}

if $check_only; then
  if fuzz_toolchain_ok; then exit 0; else exit 1; fi
fi
if ! fuzz_toolchain_ok; then
  devtools/install-deps.sh --build-only
  fuzz_toolchain_ok || { echo "run-fuzz: clang with libFuzzer (clang, libclang-rt-14-dev) is not usable" >&2; exit 1; }
fi

dir=build-fuzz
if [ ! -f "$dir/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$dir" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Db_lto=false \
    --buildtype=debugoptimized -Dtests=false -Dbenchmarks=false -Dintegration=false
fi
ninja -C "$dir" "${targets[@]/#/tests/fuzz/}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
printf '%-20s %10s %10s %12s %8s  %s\n' target seconds exec/s executions corpus result
for t in "${targets[@]}"; do
  out="$dir/fuzz-out/$t"
  mkdir -p "$out/corpus" "$out/artifacts"
  max_len=4096
  [ "$t" = fuzz_frame ] && max_len=16384
  log="$out/last.log"
  rc=0
  seeds=("tests/fuzz/corpus/$t")
  [ -d "tests/fuzz/regressions/$t" ] && seeds+=("tests/fuzz/regressions/$t")
  "$dir/tests/fuzz/$t" "$out/corpus" "${seeds[@]}" -max_total_time="$time_s" -max_len="$max_len" \
    -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$out/artifacts/" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  corp=$(find "$out/corpus" -type f | wc -l)
  if [ $rc -eq 0 ]; then
    result=ok
  else
    result="FAILED (rc $rc; see $log)"
    status=1
    grep -E "ERROR|SUMMARY|FUZZ CHECK|runtime error|Test unit written" "$log" | head -8 >&2 || true
  fi
  printf '%-20s %10s %10s %12s %8s  %s\n' "$t" "$time_s" "${rate:-?}" "${execs:-?}" "$corp" "$result"
done
exit $status
