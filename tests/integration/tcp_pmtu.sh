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
# Then Fast Open over the same path: skiff-conncheck --fastopen --no-cookie (1,400 bytes a connection) to a
# kernel echo server with TCP_FASTOPEN and TCP_FASTOPEN_NO_COOKIE. The first SYN carries 496 bytes (no MSS
# known yet: 536 - 40) and the rest follows in one segment that fits the path; the server's MSS, 1460, is
# learnt. The second SYN carries all 1,400 bytes and meets the router's ICMP, so it must go again at once as
# a plain SYN and its data after the handshake cut to the path MSS (1,228 bytes beside timestamps) (waiting for the SYN's 1 s timer
# instead would show in the rate); the later ones carry what the learnt path takes.
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

router_topology pm 10.99.30 10.99.31 advmss 1460
ip -n "$NS_R" link set "$IF_RP" mtu "$NARROW" || fail "mtu on $IF_RP"
ip -n "$NS_P" link set "$IF_P" mtu "$NARROW" || fail "mtu on $IF_P"
start_hash_reply_server 5003

xfer_roundtrip 1 5003
lowered=$(ctr "$T/ctr1.txt" tcp_pmtu_lowered)
check "Skiff lowered the path MTU on the router's ICMP (tcp_pmtu_lowered $lowered)" [ "${lowered:-0}" -ge 1 ]
check "no resets (tcp_out_rsts $(ctr "$T/ctr1.txt" tcp_out_rsts))" [ "$(ctr "$T/ctr1.txt" tcp_out_rsts)" -eq 0 ]
check "tcp_info at the end: pmtu $NARROW" grep -Eq "^tcp_info .* pmtu=$NARROW " "$T/connect1.log"
log "ICMP from the router seen by Skiff: $(ctr "$T/ctr1.txt" icmp_in_errors); segments cut: $(ctr "$T/ctr1.txt" tcp_pmtu_resegmented)"

CONNCHECK=${SKIFF_CONNCHECK:-$(dirname "$SKIFF_ECHO")/skiff-conncheck}
[ -x "$CONNCHECK" ] || fail "skiff-conncheck not found (SKIFF_CONNCHECK='$CONNCHECK')"
ip netns exec "$NS_P" sysctl -qw net.ipv4.tcp_fastopen=3 || fail "sysctl net.ipv4.tcp_fastopen"
start_bg "$NS_P" "$T/kecho.log" 60 "${KPIN[@]}" "$PY" -u "$HERE/tcp_echo_server.py" 5007 16 no-cookie
wait_for_line "$T/kecho.log" '^listening' 10 "$BG_PID" || fail "kernel echo server did not start"
eal_args 0 cc "$VDEV"
start_bg "$NS_S" "$T/cc.log" 60 "$CONNCHECK" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24" \
  --gw "$GW_IP" --conns 6 --parallel 1 --bytes 1400 --timeout 30 --fastopen --no-cookie "$PEER_IP" 5007
wait "$BG_TPID"
rc=$?
grep '^skiff-conncheck: ' "$T/cc.log"
check "skiff-conncheck --fastopen through the narrow path exits 0" [ "$rc" -eq 0 ]
rate=$(sed -n 's/.* \([0-9.]*\) connections\/s$/\1/p' "$T/cc.log" | head -n 1)
check "no connection waited for the SYN's timer ($rate connections/s, at least 20)" \
  awk -v r="${rate:-0}" 'BEGIN { exit !(r >= 20) }'
check "the SYN with data drew the router's ICMP (tcp_pmtu_lowered $(ctr "$T/cc.log" tcp_pmtu_lowered))" \
  [ "$(ctr "$T/cc.log" tcp_pmtu_lowered)" -ge 1 ]
check "its data went again after the SYN-ACK (tcp_fastopen_active_fail $(ctr "$T/cc.log" tcp_fastopen_active_fail))" \
  [ "$(ctr "$T/cc.log" tcp_fastopen_active_fail)" -eq 1 ]
check "the other five carried data in the SYN (tcp_fastopen_active $(ctr "$T/cc.log" tcp_fastopen_active))" \
  [ "$(ctr "$T/cc.log" tcp_fastopen_active)" -eq 5 ]
pass
