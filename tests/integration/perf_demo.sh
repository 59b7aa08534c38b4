#!/usr/bin/env bash
# skiff-perf --demo, as devtools/run-demo.sh runs it (issue: skiff-perf, deliverable 5): no NIC, no
# configuration, no hugepages. Two Skiff stacks in one process over a net_ring pair, then the Linux kernel
# over loopback, TCP bulk, 1-byte TCP request/response and 18-byte UDP on each; it must show progress, print
# the comparison table with a value and a ratio in every row, say "Demo OK", exit 0 and finish in under a
# minute (the issue's bound; it takes about 20 s).
#
# The path of skiff-perf comes in SKIFF_PERF (set by meson).
. "$(dirname "$0")/lib.sh"
itest_init "$@"
require_root
SKIFF_PERF=${SKIFF_PERF:-$(dirname "$SKIFF_ECHO")/skiff-perf}
[ -x "$SKIFF_PERF" ] || fail "skiff-perf not found (SKIFF_PERF='$SKIFF_PERF')"

t0=$(date +%s.%N)
start_bg - "$ITEST_TMP/demo.log" 90 "$SKIFF_PERF" --demo
ITEST_RUNDIRS+=("skiff-perf-demo-$BG_PID")  # the demo's --file-prefix
wait "$BG_TPID"
rc=$?
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
cat "$ITEST_TMP/demo.log"
L="$ITEST_TMP/demo.log"
check "skiff-perf --demo exits 0 (status $rc)" [ "$rc" -eq 0 ]
check "it finished in under 60 s ($secs s)" awk -v s="$secs" 'BEGIN { exit !(s < 60) }'
check "it showed progress: 6 steps, each with its per-second intervals and a result" \
  [ "$(grep -cE '^\[[1-6]/6\] (Skiff|kernel) .* -> ' "$L")" -eq 6 ]
check "the table's header names both stacks and the ratio" grep -qE '^ +Skiff +Linux kernel +Skiff vs kernel$' "$L"
for row in 'TCP bulk, Gbit/s' 'TCP RR 1 byte, transactions/s' 'RR latency p50, us' 'RR latency p99, us' \
  'UDP 18 B, packets/s received'; do
  check "table row '$row' has two values and a ratio" \
    grep -qE "^ +$row +[0-9.]+ +[0-9.]+ +[0-9.]+x" "$L"
done
check "it says 'Demo OK'" grep -q '^Demo OK' "$L"
pass
