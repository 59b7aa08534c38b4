#!/usr/bin/env bash
# skiff-perf and a stock iperf3 (3.12 or later) test each other over net_af_packet, the Linux kernel in a
# netns as the peer (issue: skiff-perf, acceptance):
#   1. `iperf3 -c` (TCP -P 4, TCP -R, UDP -b 100M, UDP -b 100M -R, and -O 1) against `skiff-perf -s` (Skiff);
#   2. `skiff-perf -c` (Skiff) against a stock `iperf3 -s`: the same four, plus --bidir and -n;
#   3. `skiff-perf -c --rr` and `--crr` (Skiff) against `skiff-perf --kernel -s` (Linux sockets);
#   4. `skiff-perf -c --plot FILE.svg`: the text report and an SVG with the interval series.
# Every run must exit 0; its -J document must parse, have iperf3's top-level keys (start, intervals, end)
# and show non-zero throughput (or transactions).
#
# The path of skiff-perf comes in SKIFF_PERF (set by meson).
. "$(dirname "$0")/lib.sh"
itest_init "$@"
. "$(dirname "$0")/perf_lib.sh"
perf_init
T=${SKIFF_PERF_ITEST_SECS:-2}

perf_topology pf 10.99.30

# ---- 1. stock iperf3 client -> skiff-perf server (Skiff) ----
start_perf_server "$ITEST_TMP/server.log"
n=0
for args in "-P 4" "-R" "-u -b 100M" "-u -b 100M -R" "-O 1 -u -b 100M -R"; do
  n=$((n + 1))
  mode=tcp
  case "$args" in *-u*) mode=udp ;; esac
  log "iperf3 -c $SKIFF_IP -t $T $args -J"
  # shellcheck disable=SC2086  # $args is a list of options
  kside 60 iperf3 -c "$SKIFF_IP" -t "$T" $args -J >"$ITEST_TMP/ic$n.json" 2>"$ITEST_TMP/ic$n.err"
  rc=$?
  check "iperf3 -c $args against skiff-perf -s exits 0 (status $rc)" [ "$rc" -eq 0 ]
  check "iperf3 -c $args: JSON with start/intervals/end and non-zero throughput" \
    json_check "$ITEST_TMP/ic$n.json" "$mode"
done
# -O 1: both ends leave the first second out. The total packets of iperf3's summary (from skiff-perf's
# results) must match its non-omitted intervals (within 10%), not include the omitted second (+50%).
check "-O 1 -u -R: the summary's packets leave the omitted second out" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
total = d["end"]["sum"]["packets"]
counted = sum(iv["sum"]["packets"] for iv in d["intervals"] if not iv["sum"]["omitted"])
print("summary %d packets, non-omitted intervals %d" % (total, counted))
sys.exit(not (counted > 0 and abs(total - counted) <= 0.1 * counted))' "$ITEST_TMP/ic5.json"
check "skiff-perf -s accepted the 5 tests" [ "$(grep -c '^Accepted connection from' "$ITEST_TMP/server.log")" -eq 5 ]
check "skiff-perf -s reported no errors" [ "$(grep -c 'error' "$ITEST_TMP/server.log")" -eq 0 ]
check "skiff-perf -s printed 5 iperf3 server summaries" [ "$(grep -cE ' (sender|receiver)$' "$ITEST_TMP/server.log")" -ge 5 ]
stop_perf_server

# ---- 2. skiff-perf client (Skiff) -> stock iperf3 server ----
log "starting iperf3 -s in $NS_P"
start_bg "$NS_P" "$ITEST_TMP/iperf3-s.log" 280 "${KPIN[@]}" iperf3 -s -B "$PEER_IP" --forceflush
wait_for_line "$ITEST_TMP/iperf3-s.log" 'Server listening' 20 "$BG_PID" || fail "iperf3 -s did not start"
# skiff_client TAG TIMEOUT ARGS...: skiff-perf -c $PEER_IP ARGS in $NS_S; output to $ITEST_TMP/TAG.out.
skiff_client() {
  local tag=$1 bound=$2
  shift 2
  perf_eal "c$tag"
  log "skiff-perf -c $PEER_IP $*"
  ip netns exec "$NS_S" timeout -s INT -k 10 "$bound" "$SKIFF_PERF" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24" \
    -c "$PEER_IP" "$@" >"$ITEST_TMP/$tag.out" 2>"$ITEST_TMP/$tag.log"
}
n=0
for args in "-P 4" "-R" "-u -b 100M" "-u -b 100M -R" "--bidir" "-n 200M"; do
  n=$((n + 1))
  mode=tcp
  case "$args" in *-u*) mode=udp ;; esac
  tm=(-t "$T")
  case "$args" in -n*) tm=() ;; esac
  # shellcheck disable=SC2086
  skiff_client "sc$n" 60 "${tm[@]}" $args -J
  rc=$?
  check "skiff-perf -c $args against iperf3 -s exits 0 (status $rc)" [ "$rc" -eq 0 ]
  check "skiff-perf -c $args: JSON with start/intervals/end and non-zero throughput" \
    json_check "$ITEST_TMP/sc$n.out" "$mode"
done
# A TCP sender's stream entries carry the same fields as iperf3's own (from TCP_INFO: snd_cwnd, snd_wnd,
# rtt, rttvar, pmtu per interval; max_snd_cwnd, max_snd_wnd, max_rtt, min_rtt, mean_rtt in the summary):
# skiff-perf -c -P 4 (sc1) against stock iperf3 -c -P 4 (ic1, the kernel sending).
check "skiff-perf's TCP sender JSON has iperf3's stream fields, snd_wnd > 0" "$PY" -c '
import json, sys
ours, theirs = (json.load(open(f)) for f in sys.argv[1:3])
def fields(d):
    return (sorted(d["intervals"][0]["streams"][0]), sorted(d["end"]["streams"][0]["sender"]))
print("skiff-perf:", fields(ours))
print("iperf3:    ", fields(theirs))
wnd = [s["snd_wnd"] for iv in ours["intervals"] for s in iv["streams"] if "snd_wnd" in s]
sys.exit(not (fields(ours) == fields(theirs) and wnd and min(wnd) > 0))' "$ITEST_TMP/sc1.out" "$ITEST_TMP/ic1.json"
check "iperf3 -s reported no errors" [ "$(grep -c 'error' "$ITEST_TMP/iperf3-s.log")" -eq 0 ]
check "iperf3 -s ran the 6 tests" [ "$(grep -c '^Accepted connection from' "$ITEST_TMP/iperf3-s.log")" -eq 6 ]
# -n 200M: the client stops after exactly 200 MiB (iperf3 counts whole blocks; large enough that the test
# outlasts the 50 ms below which the last partial interval is not reported, as in iperf3, on an idle machine).
check "-n 200M: 200 MiB sent" "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["end"]["sum_sent"]["bytes"] != 200 << 20)' "$ITEST_TMP/sc6.out"

# ---- 4. text report and --plot ----
skiff_client plot 60 -t "$T" -P 2 -i 0.5 --plot "$ITEST_TMP/plot.svg"
rc=$?
cat "$ITEST_TMP/plot.out"
check "skiff-perf -c -P 2 --plot exits 0 (status $rc)" [ "$rc" -eq 0 ]
check "text report ends with 'iperf Done.'" grep -q '^iperf Done.' "$ITEST_TMP/plot.out"
check "text report has the [SUM] sender and receiver lines" \
  [ "$(grep -cE '^\[SUM\] .* (sender|receiver)$' "$ITEST_TMP/plot.out")" -eq 2 ]
check "--plot wrote an SVG with 3 series (2 streams and the sum)" \
  [ "$(grep -c '<polyline' "$ITEST_TMP/plot.svg" 2>/dev/null)" -eq 3 ]
check "the SVG is well-formed XML" "$PY" -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$ITEST_TMP/plot.svg"

# ---- 3. request/response against skiff-perf --kernel -s ----
log "starting skiff-perf --kernel -s -p 5202 in $NS_P"
start_bg "$NS_P" "$ITEST_TMP/kernel-s.log" 280 "${KPIN[@]}" "$SKIFF_PERF" --kernel -s -p 5202
wait_for_line "$ITEST_TMP/kernel-s.log" '^Server listening' 20 "$BG_PID" || fail "skiff-perf --kernel -s did not start"
skiff_client rr 60 -p 5202 -t "$T" --rr -J
rc=$?
check "skiff-perf -c --rr exits 0 (status $rc)" [ "$rc" -eq 0 ]
check "--rr: JSON with transactions" json_check "$ITEST_TMP/rr.out" rr
skiff_client crr 60 -p 5202 -t "$T" --crr -P 2 -J
rc=$?
check "skiff-perf -c --crr -P 2 exits 0 (status $rc)" [ "$rc" -eq 0 ]
check "--crr: JSON with transactions" json_check "$ITEST_TMP/crr.out" rr
check "skiff-perf --kernel -s reported no errors" [ "$(grep -c 'error' "$ITEST_TMP/kernel-s.log")" -eq 0 ]
pass
