#!/usr/bin/env bash
# A profile-guided build of Skiff (GCC's -fprofile-use on top of the default link-time optimisation):
#   1. builds skiff-perf instrumented (meson -Db_pgo=generate) in BUILD_DIR;
#   2. trains it: two skiff-perf processes wired by memif (server on one CPU, client on another, as
#      devtools/bench-vs-kernel.sh runs them), SKIFF_PGO_TIME seconds (default 2) of each of: TCP bulk both
#      ways and on 4 connections, request/response on 1, 8 and 64 connections with 1- and 512-byte
#      messages, connect/request/close, and UDP;
#   3. rebuilds everything in BUILD_DIR with that profile (-Db_pgo=use). Code the training never ran (loss
#      recovery, which memif never needs, error paths) is optimised as without a profile
#      (-fprofile-partial-training), not for size.
# The profile is the library's as much as the tool's: an application linked in BUILD_DIR gets it too.
# After source changes run this again: the old profile no longer matches (GCC warns and ignores it where
# it differs). docs/performance.md has what it changes. Needs 2 CPUs (SKIFF_PGO_CPUS, default "0 1");
# no root.
#
#   devtools/build-pgo.sh [BUILD_DIR]      (default build-pgo)
#   devtools/bench-vs-kernel.sh build-pgo  (then: the kernel comparison with this build)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-pgo}
T=${SKIFF_PGO_TIME:-2}
read -r CPU_S CPU_C <<<"${SKIFF_PGO_CPUS:-0 1}"

# Files the training does not reach have no profile, and a stale one only warns: neither may fail the build.
flags="-fprofile-partial-training -Wno-missing-profile -Wno-error=coverage-mismatch"
opts=(--buildtype=release -Db_pgo=generate -Db_lto=true -Dwerror=false "-Dcpp_args=$flags" "-Dc_args=$flags")
if [ -f "$dir/build.ninja" ]; then
  meson configure "$dir" "${opts[@]}"
else
  meson setup "$dir" "${opts[@]}"
fi
find "$dir" -name '*.gcda' -delete
ninja -C "$dir" apps/skiff-perf

TMP=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
PERF=$dir/apps/skiff-perf
eal() {  # eal CPU ROLE
  echo "-l $1 --no-pci --no-huge -m 1024 --no-telemetry --log-level=*:error --file-prefix=skpgo-$2-$$" \
    "--vdev=net_memif0,role=$2,socket=$TMP/memif.sock,id=0,socket-abstract=no"
}
train() {  # train ARGS... (one client run against a fresh server)
  # shellcheck disable=SC2046
  taskset -c "$CPU_S" "$PERF" $(eal "$CPU_S" server) -- --ip 10.77.0.1/24 -s -1 >"$TMP/srv.log" 2>&1 &
  local sp=$!
  pids+=("$sp")
  for _ in $(seq 50); do [ -S "$TMP/memif.sock" ] && break; sleep 0.1; done
  echo "build-pgo: training: $*" >&2
  # shellcheck disable=SC2046
  taskset -c "$CPU_C" timeout $((T + 30)) "$PERF" $(eal "$CPU_C" client) -- --ip 10.77.0.2/24 -c 10.77.0.1 -t "$T" "$@" \
    >"$TMP/cli.log" 2>&1 || { echo "build-pgo: training run '$*' failed:" >&2; cat "$TMP/cli.log" "$TMP/srv.log" >&2; exit 1; }
  timeout 10 tail --pid="$sp" -f /dev/null || kill "$sp" 2>/dev/null || true
  wait "$sp" 2>/dev/null || true
  pids=()
  rm -f "$TMP/memif.sock"
}
train
train -R
train -P 4
for p in 1 8 64; do
  train --rr -P "$p"
  train --rr -P "$p" --rr-size 512
done
train --crr -P 4
train -u -b 2G
[ -n "$(find "$dir" -name '*.gcda' -print -quit)" ] || { echo "build-pgo: training left no profile" >&2; exit 1; }

meson configure "$dir" -Db_pgo=use
ninja -C "$dir"
echo "build-pgo: $dir is built with the profile ($dir/apps/skiff-perf and the rest)"
