#!/usr/bin/env bash
# skiff-echo on a net_tap port inside a netns; the kernel end of the tap (in the same netns) is the peer:
# ping (small and fast, 4000-byte, 65535-byte datagrams, a bounded flood), arping, then the counters
# skiff-echo prints on SIGINT.
#
# Unlike af_packet, a tap hands Skiff the kernel's fragments as they are: the 4000-byte requests are
# reassembled by Skiff (ip_reasm_oks) and the replies fragmented by Skiff (ip_frag_creates).
# Then TCP: skiff-xfer sends 64 MiB to a kernel socket over the tap; the kernel's SHA-256 must match. The tap
# offers TSO, which Skiff leaves off there (DPDK 22.11's tap refuses full-sized TSO segments).
. "$(dirname "$0")/lib.sh"
itest_init "$@"
require_root
require_netns
[ -c /dev/net/tun ] || skip "/dev/net/tun missing (net_tap needs it)"
command -v ping >/dev/null || skip "ping not found"
command -v arping >/dev/null || skip "arping (iputils-arping) not found"

NS="skiff-tap-$$"
TAP="skT$$"
SKIFF_IP=10.99.1.2
PEER_IP=10.99.1.1
PEER_MAC=02:00:0a:63:01:01

make_netns "$NS"
eal_args 0 echo "--vdev=net_tap0,iface=$TAP"
start_echo "$NS" "$ITEST_TMP/echo.log" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24"
ip -n "$NS" link show "$TAP" >/dev/null 2>&1 || fail "tap $TAP did not appear in netns $NS"
ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1" >/dev/null 2>&1 || true
# net_tap gives the kernel netdev the port's own MAC; Skiff (rightly) drops frames whose source is its MAC,
# so the kernel end gets another one.
ip -n "$NS" link set "$TAP" address "$PEER_MAC" || fail "MAC on $TAP"
ip -n "$NS" addr add "$PEER_IP/24" dev "$TAP" || fail "address on $TAP"
ip -n "$NS" link set "$TAP" up || fail "$TAP up"
snapshot "$ITEST_TMP/base.txt"
BASE_POOL=$(ctr "$ITEST_TMP/base.txt" pool_in_use)
log "baseline: pool_in_use=$BASE_POOL (buffers the tap's RX queue holds)"

log "ping -c 200 -i 0.01 $SKIFF_IP"
ip netns exec "$NS" timeout 60 ping -n -c 200 -i 0.01 -W 2 "$SKIFF_IP" >"$ITEST_TMP/ping-small.out" 2>&1
rc=$?
tail -n 2 "$ITEST_TMP/ping-small.out"
check "ping -c 200 -i 0.01 exits 0" [ "$rc" -eq 0 ]
check "ping -c 200 -i 0.01: 0% packet loss" ping_zero_loss "$ITEST_TMP/ping-small.out"

log "ping -c 3 -s 4000 $SKIFF_IP (Skiff reassembles the requests and fragments the replies)"
ip netns exec "$NS" timeout 30 ping -n -c 3 -i 0.2 -s 4000 -W 2 "$SKIFF_IP" >"$ITEST_TMP/ping-big.out" 2>&1
rc=$?
tail -n 2 "$ITEST_TMP/ping-big.out"
check "ping -c 3 -s 4000 exits 0" [ "$rc" -eq 0 ]
check "ping -c 3 -s 4000: 0% packet loss" ping_zero_loss "$ITEST_TMP/ping-big.out"
check "ping -s 4000 replies are 4008 bytes" [ "$(grep -c '^4008 bytes from' "$ITEST_TMP/ping-big.out")" -eq 3 ]

log "ping -c 2 -s 65507 $SKIFF_IP (the largest datagram: 65535 bytes, 45 fragments each way)"
ip netns exec "$NS" timeout 30 ping -n -c 2 -i 0.2 -s 65507 -W 3 "$SKIFF_IP" >"$ITEST_TMP/ping-max.out" 2>&1
rc=$?
tail -n 2 "$ITEST_TMP/ping-max.out"
check "ping -c 2 -s 65507 exits 0" [ "$rc" -eq 0 ]
check "ping -c 2 -s 65507: 0% packet loss" ping_zero_loss "$ITEST_TMP/ping-max.out"

log "ping -f -c 2000 $SKIFF_IP (flood: next request as soon as the reply is in)"
ip netns exec "$NS" timeout 60 ping -n -f -c 2000 -W 2 "$SKIFF_IP" >"$ITEST_TMP/ping-flood.out" 2>&1
rc=$?
tail -n 2 "$ITEST_TMP/ping-flood.out"
check "ping -f -c 2000 exits 0" [ "$rc" -eq 0 ]
check "ping -f -c 2000: 0% packet loss" ping_zero_loss "$ITEST_TMP/ping-flood.out"

log "arping -c 3 $SKIFF_IP"
ip netns exec "$NS" timeout 20 arping -c 3 -w 10 -I "$TAP" "$SKIFF_IP" >"$ITEST_TMP/arping.out" 2>&1
rc=$?
tail -n 2 "$ITEST_TMP/arping.out"
check "arping exits 0" [ "$rc" -eq 0 ]
check "arping: 3 replies" grep -Eq '^Received 3 response' "$ITEST_TMP/arping.out"
MAC=$(skiff_mac "$ITEST_TMP/echo.log")
check "arping replies carry skiff-echo's MAC ($MAC)" grep -qi "\[$MAC\]" "$ITEST_TMP/arping.out"

sleep 0.2
snapshot "$ITEST_TMP/mid.txt"
check "pool_in_use back to baseline ($BASE_POOL) after the pings" [ "$(ctr "$ITEST_TMP/mid.txt" pool_in_use)" -eq "$BASE_POOL" ]

stop_echo "$ITEST_TMP/final.txt"
F="$ITEST_TMP/final.txt"
cat "$F"
reps=$(ctr "$F" icmp_out_echo_reps)
echos=$(ctr "$F" icmp_in_echos)
check "icmp_out_echo_reps ($reps) >= 2205" [ "$reps" -ge 2205 ]
check "every echo request answered (icmp_in_echos $echos == icmp_out_echo_reps $reps)" [ "$echos" -eq "$reps" ]
check "ip_reasm_oks ($(ctr "$F" ip_reasm_oks)) >= 5: Skiff reassembled each fragmented request" \
  [ "$(ctr "$F" ip_reasm_oks)" -ge 5 ]
check "ip_reasm_reqds ($(ctr "$F" ip_reasm_reqds)) >= 99 (3 fragments per 4028-byte request, 45 per 65535-byte one)" \
  [ "$(ctr "$F" ip_reasm_reqds)" -ge 99 ]
check "no reassembly failures (ip_reasm_fails $(ctr "$F" ip_reasm_fails))" [ "$(ctr "$F" ip_reasm_fails)" -eq 0 ]
check "ip_frag_creates ($(ctr "$F" ip_frag_creates)) >= 99: Skiff fragmented each large reply" \
  [ "$(ctr "$F" ip_frag_creates)" -ge 99 ]
check "arp_out_replies ($(ctr "$F" arp_out_replies)) >= 3" [ "$(ctr "$F" arp_out_replies)" -ge 3 ]
for d in Ipv4BadChecksum Ipv4Truncated Ipv4BadTotalLen IcmpBadChecksum IcmpTruncated FragOverlap FragTimeout \
  FragInconsistent NoMbuf TxFull; do
  check "no $d drops on clean traffic" [ "$(drop "$F" "$d")" -eq 0 ]
done

# ---- TCP: skiff-xfer -> kernel socket over the tap, 64 MiB, SHA-256 ------------------------------------
SKIFF_XFER=${4:-}
[ -x "$SKIFF_XFER" ] || fail "usage: $0 SKIFF_ECHO SKIFF_PING SKIFF_UDPCHECK SKIFF_XFER (skiff-xfer: '$SKIFF_XFER')"
. "$(dirname "$0")/tcp_lib.sh"
PY=$(command -v python3 || echo /usr/bin/python3)
[ -x "$PY" ] || skip "python3 not found"
start_bg "$NS" "$ITEST_TMP/ksink.log" 90 "$PY" -c '
import hashlib, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5001))
s.listen(1)
s.settimeout(60)
print("listening", flush=True)
c, _ = s.accept()
c.settimeout(60)
h, n = hashlib.sha256(), 0
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    h.update(b)
    n += len(b)
print("received %d sha256=%s" % (n, h.hexdigest()), flush=True)
c.close()
'
KSINK_TPID=$BG_TPID
wait_for_line "$ITEST_TMP/ksink.log" '^listening' 20 "$BG_PID" || fail "kernel sink did not start"
eal_args 0 xfer "--vdev=net_tap0,iface=$TAP"
start_bg "$NS" "$ITEST_TMP/xfer.log" 90 env SKIFF_PRINT_COUNTERS=1 "$SKIFF_XFER" "${EAL_ARGS[@]}" -- \
  --ip "$SKIFF_IP/24" --link-wait 500 --connect "$PEER_IP" 5001 --send 64M
XFER_TPID=$BG_TPID
# The tap is new: its kernel end needs its MAC and address again (Skiff's SYN is retried until then).
for _ in $(seq 50); do ip -n "$NS" link show "$TAP" >/dev/null 2>&1 && break; sleep 0.1; done
ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1" >/dev/null 2>&1 || true
ip -n "$NS" link set "$TAP" address "$PEER_MAC" || fail "MAC on $TAP"
ip -n "$NS" addr add "$PEER_IP/24" dev "$TAP" || fail "address on $TAP"
ip -n "$NS" link set "$TAP" up || fail "$TAP up"
wait "$XFER_TPID"
xrc=$?
wait "$KSINK_TPID"
krc=$?
check "skiff-xfer --connect over the tap exits 0 (got $xrc)" [ "$xrc" -eq 0 ]
check "the kernel sink exits 0 (got $krc)" [ "$krc" -eq 0 ]
check_same_bytes "$ITEST_TMP/xfer.log" "$ITEST_TMP/ksink.log" $((64 << 20)) "the kernel"
TSO_FRAMES=$(ctr "$ITEST_TMP/xfer.log" tcp_out_tso)
log "TSO frames: $TSO_FRAMES, segments: $(ctr "$ITEST_TMP/xfer.log" tcp_out_segs), retransmitted: $(ctr "$ITEST_TMP/xfer.log" tcp_retrans_segs)"
check "no TSO on the tap ($TSO_FRAMES frames)" [ "$TSO_FRAMES" -eq 0 ]
pass
