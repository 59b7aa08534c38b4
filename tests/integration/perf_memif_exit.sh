#!/usr/bin/env bash
# skiff-perf server and client over memif, one test each (-s -1: the server exits after it), several times:
# both processes must exit 0 every time. DPDK 22.11's memif PMD tears a connection down on the EAL interrupt
# thread when the peer hangs up; before Skiff parked that thread ahead of rte_eal_cleanup, the server crashed
# (SIGSEGV in EAL) while exiting in about 1 run in 3 of exactly this sequence.
#
# The path of skiff-perf comes in SKIFF_PERF (set by meson). SKIFF_ITEST_EXIT_RUNS: runs (default 6).
. "$(dirname "$0")/lib.sh"
itest_init "$@"
require_root
SKIFF_PERF=${SKIFF_PERF:-$(dirname "$SKIFF_ECHO")/skiff-perf}
[ -x "$SKIFF_PERF" ] || fail "skiff-perf not found (SKIFF_PERF='$SKIFF_PERF')"
RUNS=${SKIFF_ITEST_EXIT_RUNS:-6}

SOCK="/tmp/skiff-perfexit-$$.sock"
register_file "$SOCK"
# eal ROLE RUN LCORE: the EAL arguments, no hugepages. Each process is pinned to one CPU (taskset), as
# devtools/bench-vs-kernel.sh runs them: the interrupt thread then shares the busy-polling thread's CPU, and
# its teardown work is slow enough to still be running when the main thread cleans up.
eal() {
  local prefix="skiff-$ITEST_NAME-$1$2-$$"
  ITEST_RUNDIRS+=("$prefix")
  EAL_ARGS=(-l "$3" --no-pci --no-huge -m 1024 --no-telemetry --log-level='*:error' "--file-prefix=$prefix"
    "--vdev=net_memif0,role=$1,socket=$SOCK,id=0,socket-abstract=no")
}
for r in $(seq "$RUNS"); do
  rm -f "$SOCK"
  eal server "$r" 0
  start_bg - "$ITEST_TMP/srv$r.log" 40 taskset -c 0 "$SKIFF_PERF" "${EAL_ARGS[@]}" -- --ip 10.99.7.1/24 -s -1
  srv_tpid=$BG_TPID
  for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
  [ -S "$SOCK" ] || fail "run $r: memif socket not created"
  # Alternate the workloads: request/response (the crashing case) and bulk.
  mode=(--rr); [ $((r % 2)) -eq 0 ] && mode=()
  eal client "$r" 1
  start_bg - "$ITEST_TMP/cli$r.log" 40 taskset -c 1 "$SKIFF_PERF" "${EAL_ARGS[@]}" -- --ip 10.99.7.2/24 -c 10.99.7.1 -t 1 -J "${mode[@]}"
  wait "$BG_TPID"
  crc=$?
  wait "$srv_tpid"
  src=$?
  log "run $r (${mode[*]:-bulk}): client exit $crc, server exit $src"
  if [ "$crc" -ne 0 ] || [ "$src" -ne 0 ]; then
    tail -n 5 "$ITEST_TMP/cli$r.log" "$ITEST_TMP/srv$r.log"
  fi
  check "run $r: client exits 0 (status $crc)" [ "$crc" -eq 0 ]
  check "run $r: server exits 0 after its test (status $src)" [ "$src" -eq 0 ]
  check "run $r: the client reported a result" grep -q '"sum_' "$ITEST_TMP/cli$r.log"
done
pass
