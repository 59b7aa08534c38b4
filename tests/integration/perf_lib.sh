# Helpers shared by the skiff-perf integration tests (perf_iperf3.sh, perf_bad_control.sh), sourced after
# lib.sh and itest_init:
#
#   perf_init                  # SKIFF_PERF (from meson's environment), root, netns, iperf3, python3, ethtool; KPIN
#   perf_topology TAG NET      # netns $NS_S (Skiff) and $NS_P (kernel), veth, addresses NET.2 / NET.1, VDEV
#   start_perf_server LOG ARGS # skiff-perf -s in $NS_S over net_af_packet on lcore 0; waits until it listens
#   stop_perf_server           # SIGINT; it must exit 0 within 10 s
#   kside BOUND CMD...         # CMD in the kernel's netns, pinned off Skiff's lcore
#   json_check FILE MODE       # an iperf3 -J document: parses, has start/intervals/end, non-zero throughput
#
# Skiff busy-polls lcore 0; the kernel-side tools run pinned to the other CPUs (KPIN) so the two never share
# one on a 2-core machine.

perf_init() {
  SKIFF_PERF=${SKIFF_PERF:-$(dirname "$SKIFF_ECHO")/skiff-perf}
  [ -x "$SKIFF_PERF" ] || fail "skiff-perf not found (SKIFF_PERF='$SKIFF_PERF')"
  require_root
  require_netns
  command -v iperf3 >/dev/null || skip "iperf3 not found"
  command -v ethtool >/dev/null || skip "ethtool not found"
  PY=$(command -v python3 || echo /usr/bin/python3)
  [ -x "$PY" ] || skip "python3 not found"
  HERE=$(cd "$(dirname "$0")" && pwd)
  KPIN=()
  if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    KPIN=(taskset -c "1-$(($(nproc) - 1))")
  fi
  PERF_RUNS=0
  log "skiff-perf: $SKIFF_PERF; $(iperf3 --version | head -n 1)"
}

perf_topology() { kernel_peer_topology "$@"; }

# perf_eal TAG: EAL_ARGS for one skiff-perf process on lcore 0 over $VDEV.
perf_eal() {
  PERF_RUNS=$((PERF_RUNS + 1))
  eal_args 0 "$1$PERF_RUNS" "$VDEV"
}

# start_perf_server LOG ARGS...: skiff-perf -s (--ip $SKIFF_IP/24 ARGS) in $NS_S; sets SRV_PID, SRV_TPID, SRV_LOG.
start_perf_server() {
  SRV_LOG=$1
  shift
  perf_eal srv
  log "starting skiff-perf -s $*"
  start_bg "$NS_S" "$SRV_LOG" 280 "$SKIFF_PERF" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24" -s "$@"
  [ -n "$BG_PID" ] || fail "skiff-perf -s exited at once: $(tail -n 5 "$SRV_LOG")"
  SRV_PID=$BG_PID
  SRV_TPID=$BG_TPID
  wait_for_line "$SRV_LOG" '^Server listening on' 40 "$SRV_PID" || fail "skiff-perf -s did not start listening"
}

# srv_alive: skiff-perf -s still running (and that PID is still it: the child of our timeout process).
srv_alive() {
  kill -0 "$SRV_PID" 2>/dev/null && [ "$(awk '{ print $4 }' "/proc/$SRV_PID/stat" 2>/dev/null)" = "$SRV_TPID" ]
}

stop_perf_server() {
  local rc
  srv_alive || fail "skiff-perf -s (PID $SRV_PID) was not running at the end"
  kill -INT "$SRV_PID"
  for _ in $(seq 1 200); do
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$SRV_PID" 2>/dev/null && fail "skiff-perf -s did not exit within 10 s of SIGINT"
  wait "$SRV_TPID"
  rc=$?
  check "skiff-perf -s exits 0 after SIGINT (status $rc)" [ "$rc" -eq 0 ]
}

kside() {
  local bound=$1
  shift
  ip netns exec "$NS_P" timeout -k 5 "$bound" "${KPIN[@]}" "$@"
}

# json_check FILE tcp|udp|rr: prints a one-line summary; false unless FILE is an iperf3 -J document with
# the top-level keys start, intervals and end, at least one interval, no "error", and throughput (or
# transactions) above zero.
json_check() {
  "$PY" - "$1" "$2" <<'EOF'
import json, sys
path, mode = sys.argv[1], sys.argv[2]
try:
    d = json.load(open(path))
except Exception as e:
    sys.exit("not JSON: %s" % e)
missing = [k for k in ("start", "intervals", "end") if k not in d]
if missing:
    sys.exit("top-level keys missing: %s (has %s)" % (missing, list(d)))
if "error" in d:
    sys.exit("error: %s" % d["error"])
if not d["intervals"]:
    sys.exit("no intervals")
end = d["end"]
if mode == "rr":
    t = end["skiff_rr"]["transactions"]
    print("transactions %d, %.0f/s, p50 %.1f us" % (t, end["skiff_rr"]["transactions_per_second"],
                                                    end["skiff_rr"]["latency_us"]["p50"]))
    sys.exit(0 if t > 0 else "no transactions")
if mode == "udp":
    s = end["sum"]
    print("UDP %.1f Mbit/s, %d packets, %d lost" % (s["bits_per_second"] / 1e6, s["packets"], s["lost_packets"]))
    sys.exit(0 if s["bits_per_second"] > 0 and s["packets"] > 0 else "zero throughput")
snt, rcv = end["sum_sent"]["bits_per_second"], end["sum_received"]["bits_per_second"]
print("TCP sent %.1f Mbit/s, received %.1f Mbit/s, %d stream(s)" % (snt / 1e6, rcv / 1e6, len(end["streams"])))
sys.exit(0 if snt > 0 and rcv > 0 else "zero throughput")
EOF
}
