#!/usr/bin/env bash
# Explicit Congestion Notification (RFC 3168) against the Linux kernel, through a Linux router that marks
# congestion instead of dropping:
#
#   Skiff (net_af_packet) -- router netns (forwarding; nftables marks 2 % of ECN-capable packets CE) -- kernel
#
# (This machine's kernel has no ECN-marking qdisc (fq_codel, RED, netem): the router marks at random, as
# `netem loss 2% ecn` would.) Three connections:
#   1. Skiff connects with `[tcp] ecn = 1` (asks), the kernel (tcp_ecn = 2) grants; BIG each way. Skiff's new
#      data leaves ECT(0), the kernel echoes the marks, Skiff's window falls on them with no retransmission
#      (nothing is lost on this path); the kernel's data comes back marked too, and Skiff's echoes reach the
#      kernel (its TcpExtTCPDeliveredCE counts data acknowledged with ECE).
#   2. The same with `[tcp] ecn = 0`: nothing leaves Skiff ECN-capable, no echo, no reduction.
#   3. The kernel (tcp_ecn = 1) connects to Skiff's listener (default ecn = 2: granted) and sends BIG.
# SHA-256 checked throughout. SKIFF_ITEST_ECN_BYTES (default 32M) sets the size each way.
. "$(dirname "$0")/lib.sh"
itest_init "$@"
. "$(dirname "$0")/tcp_lib.sh"
tcp_init "$@"
command -v socat >/dev/null || skip "socat not found"
command -v sha256sum >/dev/null || skip "sha256sum not found"
command -v nft >/dev/null || skip "nft (nftables) not found"

BIG=${SKIFF_ITEST_ECN_BYTES:-32M}
BIG_B=$(bytes_of "$BIG")
T=$ITEST_TMP

router_topology ec 10.99.32 10.99.33
# The router counts ECN-capable packets each way and marks 2 % of them CE.
ip netns exec "$NS_R" nft -f - <<EOF || fail "nftables rules in the router"
table ip skiffecn {
  chain marks {
    type filter hook forward priority mangle; policy accept;
    ip saddr $SKIFF_IP ip ecn ect0 counter
    ip saddr $PEER_IP ip ecn ect0 counter
    ip saddr $SKIFF_IP ip ecn ect0 numgen random mod 100 < 2 counter ip ecn set ce
    ip saddr $PEER_IP ip ecn ect0 numgen random mod 100 < 2 counter ip ecn set ce
  }
}
EOF
# nft_count N: packets counted by the router's Nth rule (1: ECT from Skiff, 2: ECT from the kernel,
# 3: marked from Skiff, 4: marked from the kernel).
nft_count() {
  ip netns exec "$NS_R" nft list chain ip skiffecn marks | grep -E 'counter packets' | sed -n "${1}p" |
    sed -E 's/.*counter packets ([0-9]+).*/\1/'
}
# delivered_ce: the kernel's TcpExtTCPDeliveredCE (its data acknowledged with ECE).
delivered_ce() {
  ip netns exec "$NS_P" awk '/^TcpExt:/ { if (!h) { split($0, k); h = 1 } else { split($0, v); for (i in k) if (k[i] == "TCPDeliveredCE") print v[i] } }' /proc/net/netstat
}
ip netns exec "$NS_P" sysctl -qw net.ipv4.tcp_ecn=2 || fail "tcp_ecn in the peer"
start_hash_reply_server 5004

run_connect() {  # run_connect N ECN: a round trip through the router with [tcp] ecn = ECN
  printf '[tcp]\necn = %s\n' "$2" >"$T/ecn$1.ini"
  xfer_roundtrip "$1" 5004 --config "$T/ecn$1.ini"
}

# ---- 1. Skiff asks for ECN ------------------------------------------------------------------------------
ce0=$(delivered_ce)
run_connect 1 1
ect_s=$(nft_count 1) ect_k=$(nft_count 2) mk_s=$(nft_count 3) mk_k=$(nft_count 4)
ce1=$(delivered_ce)
log "router: ECT(0) from Skiff $ect_s (marked CE $mk_s), from the kernel $ect_k (marked $mk_k); kernel TCPDeliveredCE $ce0 -> $ce1"
check "connection 1: negotiated (tcp_ecn_negotiated $(ctr "$T/ctr1.txt" tcp_ecn_negotiated), tcp_info ecn=1)" \
  cond '[ "$(ctr "$T/ctr1.txt" tcp_ecn_negotiated)" -eq 1 ] && grep -Eq "^tcp_info .* ecn=1 ecn_seen=1" "$T/connect1.log"'
check "connection 1: Skiff's data left ECN-capable ($ect_s ECT(0) packets) and the router marked some ($mk_s)" \
  cond '[ "${ect_s:-0}" -gt 1000 ] && [ "${mk_s:-0}" -gt 0 ]'
check "connection 1: the kernel's data came ECN-capable too ($ect_k) and was marked ($mk_k)" \
  cond '[ "${ect_k:-0}" -gt 100 ] && [ "${mk_k:-0}" -gt 0 ]'
check "connection 1: Skiff heard the kernel's echoes (tcp_ecn_ece_rcvd $(ctr "$T/ctr1.txt" tcp_ecn_ece_rcvd)) and reduced its window (tcp_ecn_reductions $(ctr "$T/ctr1.txt" tcp_ecn_reductions))" \
  cond '[ "$(ctr "$T/ctr1.txt" tcp_ecn_ece_rcvd)" -gt 0 ] && [ "$(ctr "$T/ctr1.txt" tcp_ecn_reductions)" -gt 0 ]'
# A retransmission the receiver reported as needless (D-SACK: a tail loss probe sent while the ACKs were held
# up on this 2-core machine) repaired no loss; any other fails the check.
rtx1=$(ctr "$T/ctr1.txt" tcp_retrans_segs)
dsack1=$(ctr "$T/ctr1.txt" tcp_dsack_recv)
check "connection 1: no retransmission repaired a loss: the marks did the work of losses (tcp_retrans_segs $rtx1, D-SACKed $dsack1)" \
  [ "$((rtx1 - dsack1))" -le 0 ]
check "connection 1: Skiff received marked data (tcp_ecn_ce_rcvd $(ctr "$T/ctr1.txt" tcp_ecn_ce_rcvd))" \
  [ "$(ctr "$T/ctr1.txt" tcp_ecn_ce_rcvd)" -gt 0 ]
check "connection 1: the kernel heard Skiff's echoes (TcpExtTCPDeliveredCE $ce0 -> $ce1)" cond '[ "${ce1:-0}" -gt "${ce0:-0}" ]'

# ---- 2. Skiff does not ---------------------------------------------------------------------------------
run_connect 2 0
ect_s2=$(nft_count 1) ect_k2=$(nft_count 2)
check "connection 2: not negotiated, nothing ECN-capable either way (ECT from Skiff $ect_s -> $ect_s2, from the kernel $ect_k -> $ect_k2)" \
  cond '[ "$(ctr "$T/ctr2.txt" tcp_ecn_negotiated)" -eq 0 ] && [ "$ect_s2" = "$ect_s" ] && [ "$ect_k2" = "$ect_k" ] && grep -Eq "^tcp_info .* ecn=0 " "$T/connect2.log"'
check "connection 2: no echo, no reduction" \
  cond '[ "$(ctr "$T/ctr2.txt" tcp_ecn_ece_rcvd)" -eq 0 ] && [ "$(ctr "$T/ctr2.txt" tcp_ecn_reductions)" -eq 0 ] && [ "$(ctr "$T/ctr2.txt" tcp_ecn_ce_rcvd)" -eq 0 ]'

# ---- 3. The kernel asks, Skiff's listener grants ---------------------------------------------------------
ip netns exec "$NS_P" sysctl -qw net.ipv4.tcp_ecn=1 || fail "tcp_ecn=1 in the peer"
start_xfer "$T/listen.log" 120 --gw "$GW_IP" --listen 5005 --count 1
wait_for_line "$T/listen.log" '^listening on 5005' 40 "$XFER_PID" || fail "skiff-xfer --listen did not start"
cat >"$T/socat-send.sh" <<EOF
$(declare -f kgen)
kgen $BIG | tee >(sha256sum >"$T/send.sha") | socat -u - "TCP:$SKIFF_IP:5005"
rc=\${PIPESTATUS[2]}
for _ in \$(seq 1 300); do [ -s "$T/send.sha" ] && break; sleep 0.1; done
exit \$rc
EOF
ce2=$(delivered_ce)
mk_k2=$(nft_count 4)
log "connection 3: the kernel (tcp_ecn = 1) sends $BIG to skiff-xfer --listen"
kside 110 "$T/socat-send.sh" >"$T/socat-send.out" 2>&1
rc=$?
wait_xfer
cat "$T/socat-send.out"
print_xfer_stats "$T/listen.log"
grep -E '^[a-z0-9_-]+\.shard[0-9]+\.' "$T/listen.log" >"$T/ctr3.txt"
ce3=$(delivered_ce)
mk_k3=$(nft_count 4)
check "connection 3: socat and skiff-xfer --listen exit 0" cond '[ "$rc" -eq 0 ] && [ "$XFER_RC" -eq 0 ]'
read -r recv_n recv_h <<<"$(sha_line "$T/listen.log" received)"
sent_h=$(awk '{ print $1 }' "$T/send.sha")
check "connection 3: Skiff received $BIG_B bytes ($recv_n), SHA-256 matches" \
  cond '[ "$recv_n" = "$BIG_B" ] && [ -n "$sent_h" ] && [ "$sent_h" = "$recv_h" ]'
check "connection 3: Skiff's listener granted ECN (tcp_ecn_negotiated $(ctr "$T/ctr3.txt" tcp_ecn_negotiated))" \
  [ "$(ctr "$T/ctr3.txt" tcp_ecn_negotiated)" -eq 1 ]
check "connection 3: marked data arrived ($mk_k2 -> $mk_k3 marks; tcp_ecn_ce_rcvd $(ctr "$T/ctr3.txt" tcp_ecn_ce_rcvd)) and the kernel heard the echoes (TcpExtTCPDeliveredCE $ce2 -> $ce3)" \
  cond '[ "$mk_k3" -gt "$mk_k2" ] && [ "$(ctr "$T/ctr3.txt" tcp_ecn_ce_rcvd)" -gt 0 ] && [ "${ce3:-0}" -gt "${ce2:-0}" ]'
pass
