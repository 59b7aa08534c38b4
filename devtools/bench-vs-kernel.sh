#!/usr/bin/env bash
# Skiff against the Linux kernel, one tool, one run (issue: "TCP at full speed", benchmarks):
#   Skiff:  two skiff-perf processes wired by memif, server pinned to CPU 0 and client to CPU 1
#   kernel: skiff-perf --kernel in two network namespaces joined by a veth pair, pinned the same way
# Workloads: TCP bulk, one connection (-t SECS) and TCP 1-byte request/response, one connection (--rr).
# Prints the median of REPS runs of each and the Skiff/kernel ratio. Needs root (netns) and 2 CPUs.
#
#   devtools/bench-vs-kernel.sh [BUILD_DIR]      env: SKIFF_BENCH_TIME (s, default 5), SKIFF_BENCH_REPS (3)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PERF=$BUILD/apps/skiff-perf
T=${SKIFF_BENCH_TIME:-5}
REPS=${SKIFF_BENCH_REPS:-3}
[ -x "$PERF" ] || { echo "bench-vs-kernel: $PERF not built (ninja -C $BUILD)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench-vs-kernel: needs root (network namespaces)" >&2; exit 2; }
TMP=$(mktemp -d)
SOCK=$TMP/memif.sock
NA=skbk-a-$$ NB=skbk-b-$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$NA" 2>/dev/null || true
  ip netns del "$NB" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

ip netns add "$NA"; ip netns add "$NB"
ip link add skbka type veth peer name skbkb
ip link set skbka netns "$NA"; ip link set skbkb netns "$NB"
ip -n "$NA" addr add 10.78.0.1/24 dev skbka; ip -n "$NB" addr add 10.78.0.2/24 dev skbkb
for n in "$NA" "$NB"; do ip -n "$n" link set lo up; done
ip -n "$NA" link set skbka up; ip -n "$NB" link set skbkb up

# Prints one number from skiff-perf's JSON: bulk -> received bits/s, rr -> transactions/s.
metric() {
  python3 - "$1" "$2" <<'PY'
import json, sys
mode, path = sys.argv[1], sys.argv[2]
end = json.load(open(path))["end"]
def find(o, key):
    if isinstance(o, dict):
        if key in o: return o[key]
        for v in o.values():
            r = find(v, key)
            if r is not None: return r
    elif isinstance(o, list):
        for v in o:
            r = find(v, key)
            if r is not None: return r
    return None
if mode == "bulk":
    print(end["sum_received"]["bits_per_second"])
else:
    print(find(end, "transactions_per_second"))
PY
}

eal() {  # eal CPU ROLE
  echo "-l $1 --no-pci --no-huge -m 1024 --no-telemetry --log-level=*:error --file-prefix=skbk-$2-$$ --vdev=net_memif0,role=$2,socket=$SOCK,id=0,socket-abstract=no"
}

run_skiff() {  # run_skiff MODE OUT
  local extra=(); [ "$1" = rr ] && extra=(--rr)
  # shellcheck disable=SC2046
  taskset -c 0 "$PERF" $(eal 0 server) -- --ip 10.77.0.1/24 -s -1 >"$TMP/srv.log" 2>&1 &
  local sp=$!; pids+=("$sp")
  for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
  # shellcheck disable=SC2046
  taskset -c 1 timeout $((T + 30)) "$PERF" $(eal 1 client) -- --ip 10.77.0.2/24 -c 10.77.0.1 -t "$T" -J "${extra[@]}" >"$2" 2>"$TMP/cli.err" \
    || { echo "bench-vs-kernel: Skiff client failed:" >&2; cat "$TMP/cli.err" "$TMP/srv.log" >&2; exit 1; }
  timeout 10 tail --pid="$sp" -f /dev/null || kill "$sp" 2>/dev/null || true
  wait "$sp" 2>/dev/null || true
  rm -f "$SOCK"
}

run_kernel() {  # run_kernel MODE OUT
  local extra=(); [ "$1" = rr ] && extra=(--rr)
  ip netns exec "$NA" taskset -c 0 "$PERF" --kernel -s -1 >"$TMP/ksrv.log" 2>&1 &
  local sp=$!; pids+=("$sp")
  sleep 0.3
  ip netns exec "$NB" taskset -c 1 timeout $((T + 30)) "$PERF" --kernel -c 10.78.0.1 -t "$T" -J "${extra[@]}" >"$2" 2>"$TMP/kcli.err" \
    || { echo "bench-vs-kernel: kernel client failed:" >&2; cat "$TMP/kcli.err" "$TMP/ksrv.log" >&2; exit 1; }
  wait "$sp" 2>/dev/null || true
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A res
for mode in bulk rr; do
  for stack in skiff kernel; do
    vals=()
    for r in $(seq "$REPS"); do
      echo "bench-vs-kernel: $stack $mode run $r/$REPS (${T}s)" >&2
      "run_$stack" "$mode" "$TMP/$stack-$mode-$r.json"
      vals+=("$(metric "$mode" "$TMP/$stack-$mode-$r.json")")
    done
    res[$stack-$mode]=$(printf '%s\n' "${vals[@]}" | median)
    echo "bench-vs-kernel:   runs: ${vals[*]}" >&2
  done
done

printf '\n%-44s %14s %14s %8s\n' "workload (median of $REPS, ${T}s each)" "Skiff (memif)" "kernel (veth)" "ratio"
awk -v s="${res[skiff-bulk]}" -v k="${res[kernel-bulk]}" 'BEGIN {printf "%-44s %9.2f Gb/s %9.2f Gb/s %7.2fx\n", "TCP bulk, 1 connection, 1 core per side", s/1e9, k/1e9, s/k}'
awk -v s="${res[skiff-rr]}" -v k="${res[kernel-rr]}" 'BEGIN {printf "%-44s %11.0f /s %11.0f /s %7.2fx\n", "TCP 1-byte request/response, transactions", s, k, s/k}'
