#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs the whole test suite (unit and
# integration; integration tests need root and network namespaces and are skipped without them).
# Exits non-zero on any failure.
#
#   devtools/run-tests.sh              # release build in build/
#   devtools/run-tests.sh --sanitize   # ASan+UBSan build in build-asan/
#   devtools/run-tests.sh --suite unit # only one suite (unit | integration)
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build
setup=(-Dwerror=true)
suite=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) dir=build-asan; setup+=(-Db_sanitize=address,undefined -Db_lundef=false --buildtype=debugoptimized -Dbenchmarks=false) ;;
    --suite) suite=(--suite "$2"); shift ;;
    *) echo "run-tests: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

devtools/install-deps.sh
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "${setup[@]}"
else
  meson configure "$dir" "${setup[@]}" >/dev/null
fi
ninja -C "$dir"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
meson test -C "$dir" --print-errorlogs --num-processes 1 "${suite[@]}"
