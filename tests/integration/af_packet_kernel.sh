#!/usr/bin/env bash
# skiff-echo on one end of a veth pair (net_af_packet, in its own netns); the Linux kernel in a second netns
# is the peer: ping (small, fast and 4000-byte), arping, then the counters skiff-echo prints on SIGINT.
#
# af_packet's socket reassembles fragments (PACKET_FANOUT_FLAG_DEFRAG) before Skiff sees them, so the
# 4000-byte requests arrive whole (framesz must hold them) and only Skiff's fragmentation of the replies is
# exercised here; tap_kernel.sh covers Skiff's reassembly.
. "$(dirname "$0")/lib.sh"
itest_init "$@"
require_root
require_netns
command -v ping >/dev/null || skip "ping not found"
command -v arping >/dev/null || skip "arping (iputils-arping) not found"
PY=$(command -v python3 || echo /usr/bin/python3)

NS_S="skiff-afp-$$-s"   # Skiff's side
NS_P="skiff-afp-$$-p"   # the kernel peer
IF_S="skA$$s"
IF_P="skA$$p"
SKIFF_IP=10.99.0.2
PEER_IP=10.99.0.1

make_netns "$NS_S"
make_netns "$NS_P"
make_veth "$NS_S" "$IF_S" "$NS_P" "$IF_P"
ip -n "$NS_P" addr add "$PEER_IP/24" dev "$IF_P" || fail "address on $IF_P"

eal_args 0 echo "--vdev=net_af_packet0,iface=$IF_S,blocksz=16384,framesz=16384,framecnt=512"
start_echo "$NS_S" "$ITEST_TMP/echo.log" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24"
snapshot "$ITEST_TMP/base.txt"
BASE_POOL=$(ctr "$ITEST_TMP/base.txt" pool_in_use)
log "baseline: pool_in_use=$BASE_POOL"

log "ping -c 200 -i 0.01 $SKIFF_IP"
ip netns exec "$NS_P" timeout 60 ping -n -c 200 -i 0.01 -W 2 "$SKIFF_IP" >"$ITEST_TMP/ping-small.out" 2>&1
rc=$?
tail -n 2 "$ITEST_TMP/ping-small.out"
check "ping -c 200 -i 0.01 exits 0" [ "$rc" -eq 0 ]
check "ping -c 200 -i 0.01: 0% packet loss" ping_zero_loss "$ITEST_TMP/ping-small.out"

log "ping -c 3 -s 4000 $SKIFF_IP (Skiff fragments the replies)"
ip netns exec "$NS_P" timeout 30 ping -n -c 3 -i 0.2 -s 4000 -W 2 "$SKIFF_IP" >"$ITEST_TMP/ping-big.out" 2>&1
rc=$?
tail -n 2 "$ITEST_TMP/ping-big.out"
check "ping -c 3 -s 4000 exits 0" [ "$rc" -eq 0 ]
check "ping -c 3 -s 4000: 0% packet loss" ping_zero_loss "$ITEST_TMP/ping-big.out"
check "ping -s 4000 replies are 4008 bytes" [ "$(grep -c '^4008 bytes from' "$ITEST_TMP/ping-big.out")" -eq 3 ]

log "arping -c 3 $SKIFF_IP"
ip netns exec "$NS_P" timeout 20 arping -c 3 -w 10 -I "$IF_P" "$SKIFF_IP" >"$ITEST_TMP/arping.out" 2>&1
rc=$?
tail -n 2 "$ITEST_TMP/arping.out"
check "arping exits 0" [ "$rc" -eq 0 ]
check "arping: 3 replies" grep -Eq '^Received 3 response' "$ITEST_TMP/arping.out"
MAC=$(skiff_mac "$ITEST_TMP/echo.log")
check "arping replies carry skiff-echo's MAC ($MAC)" grep -qi "\[$MAC\]" "$ITEST_TMP/arping.out"

sleep 0.2
snapshot "$ITEST_TMP/mid.txt"
check "pool_in_use back to baseline ($BASE_POOL) after the pings" [ "$(ctr "$ITEST_TMP/mid.txt" pool_in_use)" -eq "$BASE_POOL" ]
check "the ring lost nothing so far (port rx_missed $(port_ctr "$ITEST_TMP/mid.txt" rx_missed))" \
  [ "$(port_ctr "$ITEST_TMP/mid.txt" rx_missed)" -eq 0 ]

# Frames the ring has no room for: Skiff stopped (SIGSTOP) while the peer sends 3000 UDP datagrams into its
# 512-frame ring. The kernel counts what it could not queue (PACKET_STATISTICS); the dump reports it as the
# port's rx_missed (the PMD does not read it: EthdevPort does).
log "3000 datagrams into the ring of a stopped skiff-echo"
kill -STOP "$ECHO_PID" || fail "SIGSTOP skiff-echo"
ip netns exec "$NS_P" timeout 30 "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3000):
    s.sendto(b"x" * 64, (sys.argv[1], 9))
' "$SKIFF_IP" || { kill -CONT "$ECHO_PID"; fail "UDP burst"; }
kill -CONT "$ECHO_PID" || fail "SIGCONT skiff-echo"
sleep 0.5
snapshot "$ITEST_TMP/lost.txt"
lost=$(port_ctr "$ITEST_TMP/lost.txt" rx_missed)
got=$(( $(port_ctr "$ITEST_TMP/lost.txt" rx_packets) - $(port_ctr "$ITEST_TMP/mid.txt" rx_packets) ))
check "frames the ring had no room for are counted (rx_missed $lost >= 2000; received $got)" [ "$lost" -ge 2000 ]
check "every datagram either received or counted lost ($got + $lost >= 3000)" [ $((got + lost)) -ge 3000 ]

stop_echo "$ITEST_TMP/final.txt"
F="$ITEST_TMP/final.txt"
cat "$F"
reps=$(ctr "$F" icmp_out_echo_reps)
echos=$(ctr "$F" icmp_in_echos)
check "icmp_out_echo_reps ($reps) >= 203" [ "$reps" -ge 203 ]
check "every echo request answered (icmp_in_echos $echos == icmp_out_echo_reps $reps)" [ "$echos" -eq "$reps" ]
check "ip_frag_oks ($(ctr "$F" ip_frag_oks)) >= 3: each 4028-byte reply fragmented" [ "$(ctr "$F" ip_frag_oks)" -ge 3 ]
check "ip_frag_creates ($(ctr "$F" ip_frag_creates)) >= 9 (3 fragments per reply at MTU 1500)" \
  [ "$(ctr "$F" ip_frag_creates)" -ge 9 ]
check "arp_in_requests ($(ctr "$F" arp_in_requests)) >= 3" [ "$(ctr "$F" arp_in_requests)" -ge 3 ]
check "arp_out_replies ($(ctr "$F" arp_out_replies)) >= 3" [ "$(ctr "$F" arp_out_replies)" -ge 3 ]
check "rx_packets >= echo requests + ARP requests" \
  [ "$(ctr "$F" rx_packets)" -ge $((echos + $(ctr "$F" arp_in_requests))) ]
check "tx_packets >= small replies + fragments + ARP replies" \
  [ "$(ctr "$F" tx_packets)" -ge $((reps - 3 + $(ctr "$F" ip_frag_creates) + $(ctr "$F" arp_out_replies))) ]
for d in Ipv4BadChecksum Ipv4Truncated Ipv4BadTotalLen IcmpBadChecksum IcmpTruncated NoMbuf TxFull; do
  check "no $d drops on clean traffic" [ "$(drop "$F" "$d")" -eq 0 ]
done
check "pool_in_use at exit ($(ctr "$F" pool_in_use)) == baseline ($BASE_POOL)" [ "$(ctr "$F" pool_in_use)" -eq "$BASE_POOL" ]
# The device's own counters (rte_eth_stats): it passed up every frame the shard counted, and lost none.
check "the device counted what the shard received (port rx_packets $(port_ctr "$F" rx_packets) >= $(ctr "$F" rx_packets))" \
  [ "$(port_ctr "$F" rx_packets)" -ge "$(ctr "$F" rx_packets)" ]
check "the device counted what the shard sent (port tx_packets $(port_ctr "$F" tx_packets) >= $(ctr "$F" tx_packets))" \
  [ "$(port_ctr "$F" tx_packets)" -ge "$(ctr "$F" tx_packets)" ]
check "device tx_errors is 0 on clean traffic ($(port_ctr "$F" tx_errors))" [ "$(port_ctr "$F" tx_errors)" -eq 0 ]
check "rx_missed kept what was lost ($(port_ctr "$F" rx_missed) >= $lost)" [ "$(port_ctr "$F" rx_missed)" -ge "$lost" ]
# DPDK 22.11's net_af_packet never counts these (docs/architecture.md): here they only show the dump has them.
for c in rx_errors rx_nombuf; do
  check "device $c is printed, 0 ($(port_ctr "$F" "$c"); not counted by this PMD)" [ "$(port_ctr "$F" "$c")" -eq 0 ]
done
pass
