#!/usr/bin/env bash
# skiff-ping --demo: two stacks in one process over a net_ring pair (no NIC, no hugepages, no privileges
# needed beyond what DPDK's EAL wants). It sets its own EAL arguments (--no-pci, --no-huge, a per-PID file
# prefix, --no-telemetry); taskset keeps it on one core.
. "$(dirname "$0")/lib.sh"
itest_init "$@"
command -v taskset >/dev/null || skip "taskset not found"

start_bg - "$ITEST_TMP/demo.log" 60 taskset -c 0 "$SKIFF_PING" --demo
ITEST_RUNDIRS+=("skiff-demo-$BG_PID")  # the demo's --file-prefix
wait "$BG_TPID"
rc=$?
tail -n 4 "$ITEST_TMP/demo.log"
check "skiff-ping --demo exits 0 (status $rc)" [ "$rc" -eq 0 ]
check "it prints 'Demo OK'" grep -q '^Demo OK' "$ITEST_TMP/demo.log"
check "no 'payload differs' lines" [ "$(grep -c 'payload differs' "$ITEST_TMP/demo.log")" -eq 0 ]
check "both stacks reassembled the fragmented pings" \
  [ "$(awk '$1 ~ /^(alpha|beta)\.shard0\.ip_reasm_oks$/ && $2 > 0' "$ITEST_TMP/demo.log" | wc -l)" -eq 2 ]
check "both stacks end with no buffers in use" \
  [ "$(awk '$1 ~ /^(alpha|beta)\.shard0\.pool_in_use$/ && $2 == 0' "$ITEST_TMP/demo.log" | wc -l)" -eq 2 ]
pass
