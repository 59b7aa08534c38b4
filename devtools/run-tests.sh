#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs the whole test suite (unit and
# integration; integration tests need root and network namespaces and are skipped without them).
# Exits non-zero on any failure.
#
#   devtools/run-tests.sh              # release build in build/
#   devtools/run-tests.sh --sanitize   # ASan+UBSan build in build-asan/
#   devtools/run-tests.sh --suite unit # only one suite (unit | integration | fuzz | goodput)
#   devtools/run-tests.sh --no-fuzz    # without the fuzz smoke run
#   devtools/run-tests.sh --tsan       # ThreadSanitizer build in build-tsan/: the multi-shard tests (threads,
#                                      # rings between shards) and the no-locks check; any data race fails
# A run of every suite (no --suite, no --sanitize) ends with a short run of each libFuzzer target
# (devtools/run-fuzz.sh, SKIFF_FUZZ_TIME seconds each, default 20); it is skipped only when clang or
# libFuzzer's runtime is missing (never in CI, where that fails the run).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build
setup=(-Dwerror=true)
lto=true  # link-time optimisation (meson.build's default; also set here for build dirs made before it)
suite=()
fuzz=true
targets=()  # empty: build everything
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) dir=build-asan; fuzz=false; lto=false; setup+=(-Db_sanitize=address,undefined -Db_lundef=false --buildtype=debugoptimized -Dbenchmarks=false) ;;
    --suite) suite=(--suite "$2"); [ "$2" = fuzz ] || fuzz=false; shift ;;
    --no-fuzz) fuzz=false ;;
    --tsan) dir=build-tsan; fuzz=false; lto=false; targets=(tests/unit/test_stack)
            suite=(stack no_locks no_locks_selftest)
            setup+=(-Db_sanitize=thread -Db_lundef=false --buildtype=debugoptimized -Dbenchmarks=false -Dintegration=false) ;;
    *) echo "run-tests: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
setup+=(-Db_lto=$lto)

devtools/install-deps.sh
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/devtools/tsan.supp}"
if [ "${suite[*]}" != "--suite fuzz" ]; then
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "${setup[@]}"
  else
    meson configure "$dir" "${setup[@]}" >/dev/null
  fi
  ninja -C "$dir" "${targets[@]}"
  # Suite "goodput" (Skiff vs Linux goodput at 10% loss, issue 5: 200 MiB through a CUBIC sender there takes
  # 10-25 minutes) runs only when named.
  [ ${#suite[@]} -eq 0 ] && suite=(--no-suite goodput)
  meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 1 "${suite[@]}"
fi
if $fuzz; then
  if devtools/run-fuzz.sh --check; then
    echo "run-tests: fuzz smoke run (${SKIFF_FUZZ_TIME:-20} s per target)"
    devtools/run-fuzz.sh --time "${SKIFF_FUZZ_TIME:-20}"
  elif [ -n "${CI:-}" ]; then
    echo "run-tests: clang with libFuzzer (clang, libclang-rt-14-dev) not usable: no fuzz smoke run in CI" >&2
    exit 1
  else
    echo "run-tests: SKIPPED the fuzz smoke run: clang with libFuzzer (clang, libclang-rt-14-dev) not usable" >&2
  fi
fi
