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
pass
