#!/usr/bin/env bash
# A path that goes down in the middle of a transfer and comes back (RFC 6069), against the Linux kernel,
# through a Linux router:
#
#   Skiff (net_af_packet) -- router netns (forwarding, 40 Mbit/s towards the peer) -- kernel peer (sink)
#
# Once the kernel's sink has some of the transfer, the router gets an "unreachable" route for the peer for
# SKIFF_ITEST_OUTAGE_SECS (default 10), and answers what Skiff retransmits meanwhile with ICMP host
# unreachable, at most one a second (after a burst of five: the kernel's ip_error limit, net.ipv4.route.
# error_cost, which is not per namespace; real routers limit theirs too; the other limit, icmp_ratelimit,
# is turned off). Each of those takes back one
# doubling of the retransmission timer, so Skiff keeps probing about as often as the router answers
# instead of backing off to ever longer waits: a capture on the router shows no gap between Skiff's
# segments during the outage longer than SKIFF_ITEST_OUTAGE_GAP (default 2.5 s: the first doubling of the
# RTO past the router's 1 s is at most 2 s; backing off from a 200 ms RTO without RFC 6069, 0.2 + 0.4 +
# ... + 3.2 s fit in the outage, a gap of 3.2 s at least), and the transfer goes on soon after the route
# is back (at most SKIFF_ITEST_OUTAGE_SLACK, default 4 s, without progress beyond the outage). SHA-256
# checked; Skiff must have counted the reverts and ended no connection. For comparison, the same with Linux
# in Skiff's place first (logged, not asserted).
. "$(dirname "$0")/lib.sh"
itest_init "$@"
. "$(dirname "$0")/tcp_lib.sh"
tcp_init "$@"
command -v tc >/dev/null || skip "tc (iproute2) not found"

SIZE=${SKIFF_ITEST_OUTAGE_BYTES:-48M}
SIZE_B=$(bytes_of "$SIZE")
OUTAGE=${SKIFF_ITEST_OUTAGE_SECS:-10}
SLACK=${SKIFF_ITEST_OUTAGE_SLACK:-4}
MAX_GAP=${SKIFF_ITEST_OUTAGE_GAP:-2.5}
command -v tcpdump >/dev/null || skip "tcpdump not found"
T=$ITEST_TMP

router_topology ou 10.99.32 10.99.33
log "the host's limit on ICMP for unreachable routes: net.ipv4.route.error_cost $(sysctl -n net.ipv4.route.error_cost \
  2>/dev/null), error_burst $(sysctl -n net.ipv4.route.error_burst 2>/dev/null) (jiffies; defaults HZ and 5 HZ)"
# The ICMP limit per destination off (one a second by default, on top of ip_error's own).
ip netns exec "$NS_R" sysctl -qw net.ipv4.icmp_ratelimit=0 || fail "icmp_ratelimit in the router"
# A bottleneck, so that the transfer lasts well beyond the outage (~5 MB/s).
ip netns exec "$NS_R" tc qdisc add dev "$IF_RP" root tbf rate 40mbit burst 64kb latency 100ms ||
  skip "tbf qdisc not available"

# sink LOG PROGRESS: the kernel's sink on port 5004 (kernel_sink); sink_done: its end.
sink() { kernel_sink "$1" "$2" 5004 120; }
sink_done() { kernel_sink_done; }
# outage PROGRESS: once the sink logged 2 MiB, the peer is unreachable at the router for OUTAGE seconds.
outage() {
  local _i
  for _i in $(seq 1 300); do
    [ "$(tail -n 1 "$1" 2>/dev/null | awk '{ print $2 + 0 }')" -ge 2097152 ] && break
    sleep 0.05
  done
  [ "$(tail -n 1 "$1" 2>/dev/null | awk '{ print $2 + 0 }')" -ge 2097152 ] || fail "the sink got no 2 MiB in 15 s"
  ip -n "$NS_R" route add unreachable "$PEER_IP/32" || fail "unreachable route"
  DOWN_AT=$(date +%s.%N)
  log "path down (the router answers host unreachable)"
  sleep "$OUTAGE"
  UP_AT=$(date +%s.%N)
  ip -n "$NS_R" route del unreachable "$PEER_IP/32" || fail "route back"
  log "path back after $OUTAGE s"
}
# capture PCAP: the router records the data segments from $SKIFF_IP (what arrives at its Skiff side); sets
# CAP_PID.
capture() {
  start_bg "$NS_R" "$1.log" 200 tcpdump -i "$IF_RS" -nn -s 80 -B 16384 -w "$1" \
    "src host $SKIFF_IP and tcp and (ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2)) > 0"
  CAP_PID=$BG_PID
  local _i
  for _i in $(seq 1 100); do
    grep -q "listening on" "$1.log" 2>/dev/null && return
    sleep 0.05
  done
  fail "tcpdump on $IF_RS did not start"
}
# max_gap PCAP: the longest time during the outage (from 0.5 s after it began, when what was in flight has
# been answered, to its end) without a data segment from Skiff's address.
max_gap() {
  kill -INT "$CAP_PID" 2>/dev/null
  sleep 0.5
  tcpdump -nn -tt -r "$1" 2>/dev/null | awk -v a="$DOWN_AT" -v b="$UP_AT" '
    { t = $1 + 0; if (t < a + 0.5 || t > b) next; if (last) { if (t - last > m) m = t - last } else m = t - (a + 0.5); last = t }
    END { if (!last) m = b - a; else if (b - last > m) m = b - last; printf "%.2f", m }'
}
# late PROGRESS: the longest time without progress, less the outage.
late() { awk -v s="$(max_stall "$1")" -v o="$OUTAGE" 'BEGIN { printf "%.2f", s - o }'; }

# Linux in Skiff's place (the same address and route), for comparison.
ip -n "$NS_S" addr add "$SKIFF_IP/24" dev "$IF_S" || fail "address on $IF_S"
ip -n "$NS_S" route add default via "$GW_IP" || fail "default route in $NS_S"
sink "$T/lin-sink.out" "$T/lin-progress.txt"
capture "$T/lin.pcap"
ip netns exec "$NS_S" timeout 120 "$PY" -u "$HERE/tcp_stream.py" source "$PEER_IP" 5004 "$SIZE" --seed 5 \
  >"$T/lin-source.out" 2>&1 &
LIN_SRC=$!
outage "$T/lin-progress.txt"
wait "$LIN_SRC"
sink_done
cat "$T/lin-source.out" "$T/lin-sink.out"
LIN_LATE=$(late "$T/lin-progress.txt")
LIN_GAP=$(max_gap "$T/lin.pcap")
log "Linux: longest time without progress $(max_stall "$T/lin-progress.txt") s: $LIN_LATE s beyond the outage;" \
  "longest gap between its segments during the outage $LIN_GAP s"
ip -n "$NS_S" addr flush dev "$IF_S" || fail "flush $IF_S"

sink "$T/sink.out" "$T/progress.txt"
capture "$T/skiff.pcap"
start_xfer "$T/connect.log" 120 --gw "$GW_IP" --connect "$PEER_IP" 5004 --send "$SIZE" --seed 9
outage "$T/progress.txt"
wait_xfer
sink_done
cat "$T/sink.out"
grep -E '^(sent|received|tcp_info) ' "$T/connect.log"
print_xfer_stats "$T/connect.log"
grep -E '^[a-z0-9_-]+\.shard[0-9]+\.' "$T/connect.log" >"$T/ctr.txt"
check "skiff-xfer --connect exits 0" [ "$XFER_RC" -eq 0 ]
read -r sent_n sent_h <<<"$(sha_line "$T/connect.log" sent)"
read -r recv_n recv_h <<<"$(sha_line "$T/sink.out" received)"
check "kernel received $SIZE_B bytes ($recv_n)" [ "$recv_n" = "$SIZE_B" ]
check "SHA-256 matches (Skiff sent $sent_h, kernel got $recv_h)" cond '[ -n "$recv_h" ] && [ "$sent_h" = "$recv_h" ]'
SK_GAP=$(max_gap "$T/skiff.pcap")
log "Skiff: longest gap between its segments during the outage $SK_GAP s (Linux: $LIN_GAP s)"
check "Skiff kept retransmitting through the outage: no gap longer than $MAX_GAP s ($SK_GAP s)" \
  awk -v g="$SK_GAP" -v m="$MAX_GAP" 'BEGIN { exit !(g <= m) }'
check "Skiff heard the router's host unreachable (icmp_in_errors $(ctr "$T/ctr.txt" icmp_in_errors))" \
  [ "$(ctr "$T/ctr.txt" icmp_in_errors)" -gt 0 ]
check "Skiff took backoffs back (tcp_rto_reverts $(ctr "$T/ctr.txt" tcp_rto_reverts))" \
  [ "$(ctr "$T/ctr.txt" tcp_rto_reverts)" -gt 0 ]
check "no connection timed out or reset (tcp_timeouts $(ctr "$T/ctr.txt" tcp_timeouts))" \
  [ "$(ctr "$T/ctr.txt" tcp_timeouts)" -eq 0 ]
SK_LATE=$(late "$T/progress.txt")
log "Skiff: longest time without progress $(max_stall "$T/progress.txt") s: $SK_LATE s beyond the outage (Linux: $LIN_LATE s)"
check "Skiff went on within $SLACK s of the path's return ($SK_LATE s)" \
  awk -v l="$SK_LATE" -v m="$SLACK" 'BEGIN { exit !(l <= m) }'
pass
