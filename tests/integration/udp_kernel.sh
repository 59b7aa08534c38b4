#!/usr/bin/env bash
# UDP across the wire with the Linux kernel as the peer (net_af_packet on a veth, kernel in a netns):
#   1. a kernel client -> skiff-echo (UDP echo on port 7): datagrams of 1..1472 bytes and 8000 bytes
#      (fragmented both ways), every echo byte-identical;
#   2. skiff-udpcheck (Skiff's client, blocking C API) -> a kernel UDP echo server: the same sizes.
#   3. the same with control messages (IP_TTL/IP_TOS both ways), corked sends, and UDP_GRO reads of echo
#      trains, through 2 KB frames and through 16 KB frames (small datagrams copied into small buffers).
# The kernel side's TX checksum offload is turned off: on a veth the kernel leaves UDP checksums for
# "hardware" to finish, and af_packet hands them to Skiff unfinished.
. "$(dirname "$0")/lib.sh"
itest_init "$@"
SKIFF_UDPCHECK=${3:-}
[ -x "$SKIFF_UDPCHECK" ] || fail "usage: $0 SKIFF_ECHO SKIFF_PING SKIFF_UDPCHECK"
require_root
require_netns
PY=$(command -v python3 || echo /usr/bin/python3)
HERE=$(cd "$(dirname "$0")" && pwd)

NS_S="skiff-udp-$$-s"
NS_P="skiff-udp-$$-p"
IF_S="skU$$s"
IF_P="skU$$p"
SKIFF_IP=10.99.3.2
PEER_IP=10.99.3.1
SIZES=1-1472,8000

make_netns "$NS_S"
make_netns "$NS_P"
make_veth "$NS_S" "$IF_S" "$NS_P" "$IF_P"
ip -n "$NS_P" addr add "$PEER_IP/24" dev "$IF_P" || fail "address on $IF_P"
ip netns exec "$NS_P" ethtool -K "$IF_P" tx off >/dev/null 2>&1 || fail "ethtool -K $IF_P tx off"
VDEV="--vdev=net_af_packet0,iface=$IF_S,blocksz=16384,framesz=16384,framecnt=512"

eal_args 0 echo "$VDEV"
start_echo "$NS_S" "$ITEST_TMP/echo.log" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24"
log "kernel client -> skiff-echo, sizes $SIZES"
ip netns exec "$NS_P" timeout 120 "$PY" "$HERE/udp_echo_client.py" "$SKIFF_IP" 7 "$SIZES" >"$ITEST_TMP/client.out" 2>&1
rc=$?
cat "$ITEST_TMP/client.out"
check "kernel -> skiff-echo: every datagram echoed intact" [ "$rc" -eq 0 ]
stop_echo "$ITEST_TMP/final.txt"
check "skiff-echo fragmented the 8000-byte echo" [ "$(ctr "$ITEST_TMP/final.txt" ip_frag_creates)" -ge 6 ]
check "no UDP checksum drops" [ "$(drop "$ITEST_TMP/final.txt" UdpBadChecksum)" -eq 0 ]

log "skiff-udpcheck -> kernel UDP echo server, sizes $SIZES"
start_bg "$NS_P" "$ITEST_TMP/server.log" 120 "$PY" -u "$HERE/udp_echo_server.py" 7
wait_for_line "$ITEST_TMP/server.log" listening 10 "$BG_PID" || fail "kernel echo server did not start"
eal_args 0 udpcheck "$VDEV"
ip netns exec "$NS_S" timeout 120 "$SKIFF_UDPCHECK" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24" --sizes "$SIZES" \
  "$PEER_IP" 7 >"$ITEST_TMP/udpcheck.out" 2>&1
rc=$?
tail -n 3 "$ITEST_TMP/udpcheck.out"
check "skiff-udpcheck -> kernel: every datagram echoed intact" [ "$rc" -eq 0 ]
check "skiff-udpcheck reports 1473 intact" grep -q '^skiff-udpcheck: 1473 datagrams echoed intact' "$ITEST_TMP/udpcheck.out"

# Control messages across the wire: each datagram leaves Skiff with its own TTL and TOS (sendmsg IP_TTL,
# IP_TOS), the kernel reads them (IP_RECVTTL, IP_RECVTOS) and echoes with the same, and Skiff reads those
# back (IP_RECVTTL, IP_RECVTOS), with IP_PKTINFO (our address) and SO_TIMESTAMPNS (the last 2 s).
log "skiff-udpcheck --cmsg -> kernel UDP echo server reflecting TTL and TOS, sizes 1-200,8000"
start_bg "$NS_P" "$ITEST_TMP/server2.log" 120 "$PY" -u "$HERE/udp_echo_server.py" 8 --reflect
wait_for_line "$ITEST_TMP/server2.log" listening 10 "$BG_PID" || fail "kernel echo server did not start"
eal_args 0 udpcheck2 "$VDEV"
ip netns exec "$NS_S" timeout 120 "$SKIFF_UDPCHECK" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24" --sizes 1-200,8000 \
  --cmsg "$PEER_IP" 8 >"$ITEST_TMP/udpcheck2.out" 2>&1
rc=$?
tail -n 3 "$ITEST_TMP/udpcheck2.out"
check "skiff-udpcheck --cmsg: every echo intact, with the TTL and TOS sent, our address and a fresh timestamp" \
  [ "$rc" -eq 0 ]
check "skiff-udpcheck --cmsg reports 201 intact, 0 mismatched" \
  grep -q '^skiff-udpcheck: 201 datagrams echoed intact, 0 lost or corrupted, 0 mismatched' "$ITEST_TMP/udpcheck2.out"

# Corked datagrams (MSG_MORE, UDP_CORK): each datagram is sent in three parts, the later two with other TTL
# and TOS marks; the kernel must get one datagram each, with the first part's marks.
log "skiff-udpcheck --cork --cmsg -> the same server, sizes 1-100,1472,8000"
eal_args 0 udpcheck3 "$VDEV"
ip netns exec "$NS_S" timeout 120 "$SKIFF_UDPCHECK" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24" \
  --sizes 1-100,1472,8000 --cork --cmsg "$PEER_IP" 8 >"$ITEST_TMP/udpcheck3.out" 2>&1
rc=$?
tail -n 3 "$ITEST_TMP/udpcheck3.out"
check "skiff-udpcheck --cork: every datagram, sent in three parts, came back whole with the first part's marks" \
  [ "$rc" -eq 0 ]
check "skiff-udpcheck --cork reports 102 intact, 0 mismatched" \
  grep -q '^skiff-udpcheck: 102 datagrams echoed intact, 0 lost or corrupted, 0 mismatched' "$ITEST_TMP/udpcheck3.out"

# UDP_GRO: the kernel echoes each datagram as a train of 1000-byte datagrams (the last shorter), as a
# UDP_SEGMENT sender puts them on the wire; Skiff reads them with UDP_GRO, gathered whole with their size.
log "skiff-udpcheck --gro 1000 -> kernel UDP echo server answering in 1000-byte trains"
start_bg "$NS_P" "$ITEST_TMP/server4.log" 120 "$PY" -u "$HERE/udp_echo_server.py" 9 --train 1000
wait_for_line "$ITEST_TMP/server4.log" listening 10 "$BG_PID" || fail "kernel echo server did not start"
# Frames of 2 KB: every buffer is charged to the socket's receive buffer at its size, and a train of 64
# 1000-byte datagrams in 16 KB buffers would not fit the default SO_RCVBUF.
eal_args 0 udpcheck4 "--vdev=net_af_packet0,iface=$IF_S,blocksz=4096,framesz=2048,framecnt=2048"
ip netns exec "$NS_S" timeout 120 "$SKIFF_UDPCHECK" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24" \
  --sizes 1-20,999-1001,2999-3001,8000,20000,64000 --gro 1000 "$PEER_IP" 9 >"$ITEST_TMP/udpcheck4.out" 2>&1
rc=$?
tail -n 3 "$ITEST_TMP/udpcheck4.out"
check "skiff-udpcheck --gro: every train read back whole, each read agreeing with its UDP_GRO size" [ "$rc" -eq 0 ]
check "skiff-udpcheck --gro reports 29 intact, 0 mismatched" \
  grep -q '^skiff-udpcheck: 29 datagrams echoed intact, 0 lost or corrupted, 0 mismatched' "$ITEST_TMP/udpcheck4.out"
gathered=$(sed -n 's/^skiff-udpcheck: UDP_GRO: .* \([0-9]*\) reads gathered several$/\1/p' "$ITEST_TMP/udpcheck4.out")
check "UDP_GRO gathered trains (${gathered:-0} reads of several datagrams)" [ "${gathered:-0}" -ge 1 ]

# The same trains through 16 KB frames: each 1000-byte datagram arrives in a 16 KB buffer, and 64 of them
# (the 64000-byte echo) fit the default SO_RCVBUF only because each is copied into a 2 KB buffer before it
# is queued (Shard::condense; 64 x 16.5 KB would be five times the buffer).
log "skiff-udpcheck --gro 1000 through 16 KB frames (small datagrams condensed)"
eal_args 0 udpcheck5 "$VDEV"
SKIFF_PRINT_COUNTERS=1 ip netns exec "$NS_S" timeout 120 "$SKIFF_UDPCHECK" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24" \
  --sizes 1-20,999-1001,2999-3001,8000,20000,64000 --gro 1000 "$PEER_IP" 9 >"$ITEST_TMP/udpcheck5.out" 2>&1
rc=$?
grep '^skiff-udpcheck' "$ITEST_TMP/udpcheck5.out" | tail -n 3
check "16 KB frames: every train read back whole" [ "$rc" -eq 0 ]
check "16 KB frames: 29 intact, 0 mismatched" \
  grep -q '^skiff-udpcheck: 29 datagrams echoed intact, 0 lost or corrupted, 0 mismatched' "$ITEST_TMP/udpcheck5.out"
condensed=$(ctr "$ITEST_TMP/udpcheck5.out" rx_condensed)
check "16 KB frames: datagrams condensed into small buffers ($condensed)" [ "$condensed" -ge 64 ]
check "16 KB frames: none dropped for SO_RCVBUF" [ "$(drop "$ITEST_TMP/udpcheck5.out" UdpRcvbufFull)" -eq 0 ]
pass
