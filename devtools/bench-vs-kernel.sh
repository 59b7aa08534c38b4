#!/usr/bin/env bash
# Skiff against the Linux kernel, one tool, one run (issue: "TCP at full speed", benchmarks):
#   Skiff:  two skiff-perf processes wired by memif (or vhost-user: SKIFF_BENCH_LINK), server pinned to CPU 0
#           and client to CPU 1
#   kernel: skiff-perf --kernel in two network namespaces joined by a veth pair, pinned the same way
# Workloads: TCP bulk, one connection (-t SECS); TCP 1-byte request/response on one connection (--rr) and on
# 16 connections at once (--rr -P 16: what one core can serve, not one round trip's latency).
# Prints the median of REPS runs of each and the Skiff/kernel ratio. Needs root (netns) and 2 CPUs.
#
#   devtools/bench-vs-kernel.sh [BUILD_DIR]      env: SKIFF_BENCH_TIME (s, default 5), SKIFF_BENCH_REPS (3),
#     SKIFF_BENCH_CPUS ("0 1": server and client CPU), SKIFF_PERF (command that runs skiff-perf, e.g. a
#     bundle's "bundle/run skiff-perf"), SKIFF_EAL_EXTRA (more EAL arguments, e.g. "-d bundle/pmds"),
#     SKIFF_BENCH_STACK_ARGS (more Skiff stack options, e.g. "--pool-size 16383" on both sides),
#     SKIFF_IP (command that runs iproute2's ip, e.g. "bundle/run ip" on a machine without iproute2),
#     SKIFF_BENCH_RR_STREAMS (connections of the "rrp" workload, default 16), SKIFF_BENCH_MODES ("bulk rr rrp"),
#     SKIFF_BENCH_MTU (link MTU of both stacks, default 1500; above 1500 the memif buffers grow to hold a
#     frame and the ring shrinks to 256 slots, see docs/tuning.md),
#     SKIFF_BENCH_LINK (memif, default; or vhost: the server on net_vhost with tso=1, the client on
#     net_virtio_user, which then sends TSO frames)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
read -r -a PERF <<<"${SKIFF_PERF:-$BUILD/apps/skiff-perf}"
read -r CPU_S CPU_C <<<"${SKIFF_BENCH_CPUS:-0 1}"
T=${SKIFF_BENCH_TIME:-5}
REPS=${SKIFF_BENCH_REPS:-3}
RRP=${SKIFF_BENCH_RR_STREAMS:-16}
MTU=${SKIFF_BENCH_MTU:-1500}
MEMIF_ARGS=""
[ "$MTU" -gt 1500 ] && MEMIF_ARGS=",bsize=$((MTU + 14)),rsize=8"
read -r -a IP <<<"${SKIFF_IP:-ip}"
ip() { command "${IP[@]}" "$@"; }
command -v "${IP[0]}" >/dev/null || { echo "bench-vs-kernel: no '${IP[0]}' (iproute2; or set SKIFF_IP, see devtools/bundle.sh)" >&2; exit 2; }
[ -x "${PERF[0]}" ] || { echo "bench-vs-kernel: ${PERF[0]} not built (ninja -C $BUILD)" >&2; exit 2; }
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
ip -n "$NA" link set skbka mtu "$MTU" up; ip -n "$NB" link set skbkb mtu "$MTU" up

# Prints one number from skiff-perf's JSON: bulk -> received bits/s, rr -> transactions/s.
metric() {
  python3 - "$1" "$2" <<'PY'
import json, sys
mode, path = sys.argv[1], sys.argv[2]
end = json.load(open(path))["end"]
if mode == "bulk":
    print(end["sum_received"]["bits_per_second"])
else:
    print(end["sum_sent"]["transactions_per_second"])
PY
}

LINK=${SKIFF_BENCH_LINK:-memif}
case $LINK in
  memif | vhost) ;;
  *) echo "bench-vs-kernel: SKIFF_BENCH_LINK=$LINK: memif or vhost" >&2; exit 2 ;;
esac
eal() {  # eal CPU ROLE
  local common="${SKIFF_EAL_EXTRA:-} -l $1 --no-pci --no-huge -m 1024 --no-telemetry --log-level=*:error --file-prefix=skbk-$2-$$"
  if [ "$LINK" = vhost ]; then
    if [ "$2" = server ]; then
      echo "$common --single-file-segments --vdev=net_vhost0,iface=$SOCK,queues=1,tso=1"
    else
      echo "$common --single-file-segments --vdev=net_virtio_user0,path=$SOCK,queues=1"
    fi
  else
    echo "$common --vdev=net_memif0,role=$2,socket=$SOCK,id=0,socket-abstract=no$MEMIF_ARGS"
  fi
}

run_skiff() {  # run_skiff MODE OUT
  local extra=(); [ "$1" = rr ] && extra=(--rr); [ "$1" = rrp ] && extra=(--rr -P "$RRP")
  local sargs=(); read -r -a sargs <<<"${SKIFF_BENCH_STACK_ARGS:-}"
  # shellcheck disable=SC2046
  taskset -c "$CPU_S" "${PERF[@]}" $(eal "$CPU_S" server) -- --ip 10.77.0.1/24 --mtu "$MTU" "${sargs[@]}" -s -1 >"$TMP/srv.log" 2>&1 &
  local sp=$!; pids+=("$sp")
  for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
  # shellcheck disable=SC2046
  taskset -c "$CPU_C" timeout $((T + 30)) "${PERF[@]}" $(eal "$CPU_C" client) -- --ip 10.77.0.2/24 --mtu "$MTU" "${sargs[@]}" -c 10.77.0.1 -t "$T" -J "${extra[@]}" >"$2" 2>"$TMP/cli.err" \
    || { echo "bench-vs-kernel: Skiff client failed:" >&2; cat "$TMP/cli.err" "$TMP/srv.log" >&2; exit 1; }
  timeout 10 tail --pid="$sp" -f /dev/null || kill "$sp" 2>/dev/null || true
  wait "$sp" 2>/dev/null || true
  rm -f "$SOCK"
}

run_kernel() {  # run_kernel MODE OUT
  # CUBIC as Skiff's default (a host defaulting to BBR would pace the kernel's bulk below what it can do).
  local extra=(-C cubic); [ "$1" = rr ] && extra+=(--rr); [ "$1" = rrp ] && extra+=(--rr -P "$RRP")
  ip netns exec "$NA" taskset -c "$CPU_S" "${PERF[@]}" --kernel -s -1 >"$TMP/ksrv.log" 2>&1 &
  local sp=$!; pids+=("$sp")
  sleep 0.3
  ip netns exec "$NB" taskset -c "$CPU_C" timeout $((T + 30)) "${PERF[@]}" --kernel -c 10.78.0.1 -t "$T" -J "${extra[@]}" >"$2" 2>"$TMP/kcli.err" \
    || { echo "bench-vs-kernel: kernel client failed:" >&2; cat "$TMP/kcli.err" "$TMP/ksrv.log" >&2; exit 1; }
  wait "$sp" 2>/dev/null || true
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A res
for mode in ${SKIFF_BENCH_MODES:-bulk rr rrp}; do
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

printf '\n%-44s %14s %14s %8s\n' "workload (median of $REPS, ${T}s each, MTU $MTU)" "Skiff ($LINK)" "kernel (veth)" "ratio"
[ -n "${res[skiff-bulk]:-}" ] && awk -v s="${res[skiff-bulk]}" -v k="${res[kernel-bulk]}" 'BEGIN {printf "%-44s %9.2f Gb/s %9.2f Gb/s %7.2fx\n", "TCP bulk, 1 connection, 1 core per side", s/1e9, k/1e9, s/k}'
[ -n "${res[skiff-rr]:-}" ] && awk -v s="${res[skiff-rr]}" -v k="${res[kernel-rr]}" 'BEGIN {printf "%-44s %11.0f /s %11.0f /s %7.2fx\n", "TCP 1-byte RR, 1 connection, transactions", s, k, s/k}'
[ -n "${res[skiff-rrp]:-}" ] && awk -v s="${res[skiff-rrp]}" -v k="${res[kernel-rrp]}" -v n="$RRP" 'BEGIN {printf "%-44s %11.0f /s %11.0f /s %7.2fx\n", "TCP 1-byte RR, " n " connections, transactions", s, k, s/k}'
true
