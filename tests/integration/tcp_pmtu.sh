#!/usr/bin/env bash
# Path MTU discovery (RFC 1191) against the Linux kernel, through a Linux router whose far link is narrower
# than Skiff's:
#
#   Skiff (net_af_packet, MTU 1500) -- router netns (forwarding; 1500 | 1280) -- kernel peer (MTU 1280)
#
# The peer announces MSS 1460 (a route with advmss, as a host behind a tunnel or PPPoE link would), so Skiff
# first sends 1500-byte segments with DF; the router refuses them with ICMP "fragmentation needed, next-hop
# MTU 1280". Skiff must lower the connection's MSS and resend: otherwise every full-sized segment is lost
# for good and the transfer hangs (the bound below catches that). Then the kernel answers with as much data
# the other way. SHA-256 checked both ways; Skiff's counters and TCP_INFO must show the lowered path MTU.
# SKIFF_ITEST_PMTU_BYTES (default 64M) sets the size each way.
. "$(dirname "$0")/lib.sh"
itest_init "$@"
. "$(dirname "$0")/tcp_lib.sh"
tcp_init "$@"
command -v socat >/dev/null || skip "socat not found"
command -v sha256sum >/dev/null || skip "sha256sum not found"

BIG=${SKIFF_ITEST_PMTU_BYTES:-64M}
BIG_B=$(bytes_of "$BIG")
T=$ITEST_TMP
NARROW=1280

NS_S="skiff-pm-$$-s"
NS_R="skiff-pm-$$-r"
NS_P="skiff-pm-$$-p"
IF_S="skpm$$s" IF_RS="skpm$$rs" IF_RP="skpm$$rp" IF_P="skpm$$p"
SKIFF_IP=10.99.30.2 GW_IP=10.99.30.1 RP_IP=10.99.31.1 PEER_IP=10.99.31.2
make_netns "$NS_S"
make_netns "$NS_R"
make_netns "$NS_P"
make_veth "$NS_S" "$IF_S" "$NS_R" "$IF_RS"
make_veth "$NS_R" "$IF_RP" "$NS_P" "$IF_P"
ip -n "$NS_R" addr add "$GW_IP/24" dev "$IF_RS" || fail "address on $IF_RS"
ip -n "$NS_R" addr add "$RP_IP/24" dev "$IF_RP" || fail "address on $IF_RP"
ip -n "$NS_R" link set "$IF_RP" mtu "$NARROW" || fail "mtu on $IF_RP"
ip -n "$NS_P" link set "$IF_P" mtu "$NARROW" || fail "mtu on $IF_P"
ip -n "$NS_P" addr add "$PEER_IP/24" dev "$IF_P" || fail "address on $IF_P"
ip -n "$NS_P" route add 10.99.30.0/24 via "$RP_IP" advmss 1460 || fail "route with advmss in the peer"
ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1 || fail "forwarding in the router"
# Finished checksums on everything that reaches Skiff's af_packet socket (see kernel_peer_topology).
for x in "$NS_R $IF_RS" "$NS_R $IF_RP" "$NS_P $IF_P"; do
  read -r ns ifc <<<"$x"
  ip netns exec "$ns" ethtool -K "$ifc" tx off >/dev/null 2>&1 || fail "ethtool -K $ifc tx off"
done
VDEV="--vdev=net_af_packet0,iface=$IF_S,blocksz=16384,framesz=16384,framecnt=512"

# The kernel server: hashes what Skiff sends until Skiff's FIN, then answers with BIG bytes of its own.
cat >"$T/server.sh" <<EOF
$(declare -f kgen)
tee >(wc -c >"$T/sink.n") | sha256sum >"$T/sink.sha"
kgen $BIG | tee >(sha256sum >"$T/reply.sha")
for _ in \$(seq 1 100); do [ -s "$T/sink.n" ] && [ -s "$T/reply.sha" ] && break; sleep 0.1; done
EOF
start_bg "$NS_P" "$T/socat-server.log" 200 "${KPIN[@]}" socat -t 60 TCP-LISTEN:5003,reuseaddr,fork "SYSTEM:bash $T/server.sh"
for _ in $(seq 1 100); do
  ip netns exec "$NS_P" ss -Hltn 'sport = :5003' | grep -q . && break
  sleep 0.05
done

run_one() {  # run_one N: one skiff-xfer --connect through the router; checks bytes both ways
  local n=$1
  rm -f "$T/sink.n" "$T/sink.sha" "$T/reply.sha"
  log "connection $n: skiff-xfer --connect $PEER_IP 5003 via $GW_IP: $BIG there, $BIG back (path MTU $NARROW)"
  start_xfer "$T/connect$n.log" 90 --gw "$GW_IP" --connect "$PEER_IP" 5003 --send "$BIG"
  wait_xfer
  for _ in $(seq 1 100); do [ -s "$T/sink.sha" ] && [ -s "$T/reply.sha" ] && break; sleep 0.1; done
  grep -E '^(sent|received|tcp_info) ' "$T/connect$n.log"
  print_xfer_stats "$T/connect$n.log"
  check "connection $n: skiff-xfer --connect exits 0 (no hang behind the narrow link)" [ "$XFER_RC" -eq 0 ]
  local sent_n sent_h back_n back_h
  read -r sent_n sent_h <<<"$(sha_line "$T/connect$n.log" sent)"
  check "connection $n: the kernel received $BIG_B bytes ($(cat "$T/sink.n" 2>/dev/null))" [ "$(cat "$T/sink.n" 2>/dev/null)" = "$BIG_B" ]
  check "connection $n: SHA-256 matches Skiff -> kernel" cond '[ -n "$sent_h" ] && [ "$sent_h" = "$(awk "{print \$1}" "$T/sink.sha")" ]'
  read -r back_n back_h <<<"$(sha_line "$T/connect$n.log" received)"
  check "connection $n: Skiff received $BIG_B bytes back ($back_n)" [ "$back_n" = "$BIG_B" ]
  check "connection $n: SHA-256 matches kernel -> Skiff" cond '[ -n "$back_h" ] && [ "$back_h" = "$(awk "{print \$1}" "$T/reply.sha")" ]'
  grep -E '^[a-z0-9_-]+\.shard[0-9]+\.' "$T/connect$n.log" >"$T/ctr$n.txt"
}

run_one 1
lowered=$(ctr "$T/ctr1.txt" tcp_pmtu_lowered)
check "Skiff lowered the path MTU on the router's ICMP (tcp_pmtu_lowered $lowered)" [ "${lowered:-0}" -ge 1 ]
check "no resets (tcp_out_rsts $(ctr "$T/ctr1.txt" tcp_out_rsts))" [ "$(ctr "$T/ctr1.txt" tcp_out_rsts)" -eq 0 ]
check "tcp_info at the end: pmtu $NARROW" grep -Eq "^tcp_info .* pmtu=$NARROW " "$T/connect1.log"
log "ICMP from the router seen by Skiff: $(ctr "$T/ctr1.txt" icmp_in_errors); segments cut: $(ctr "$T/ctr1.txt" tcp_pmtu_resegmented)"
