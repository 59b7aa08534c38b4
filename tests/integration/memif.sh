#!/usr/bin/env bash
# Two Skiff processes over memif: skiff-echo is the memif server (role=server, started
# first), skiff-ping the client (role=client). Small fast pings and 4000-byte ones (fragmented by
# skiff-ping, reassembled and answered by skiff-echo, whose fragmented replies skiff-ping reassembles).
# Then a jumbo link: MTU 9000 with 9014-byte memif buffers carries 8000-byte pings whole, both ways; and
# MTU 9000 over the default 2048-byte buffers is refused with the bsize to give.
. "$(dirname "$0")/lib.sh"
itest_init "$@"
require_root

SOCK="/tmp/skiff-memif-$$.sock"
register_file "$SOCK"
rm -f "$SOCK"
ECHO_IP=10.99.4.2
PING_IP=10.99.4.1

# The memif link comes up only when the client connects: don't wait long for it at start.
eal_args 0 echo "--vdev=net_memif0,role=server,socket=$SOCK,id=0,socket-abstract=no"
start_echo - "$ITEST_TMP/echo.log" "${EAL_ARGS[@]}" -- --ip "$ECHO_IP/24" --link-wait 500
[ -S "$SOCK" ] || fail "memif socket $SOCK not created"

# run_ping TAG PING-ARGS...: one skiff-ping run on lcore 1 against skiff-echo; returns its exit status.
run_ping() {
  local tag=$1
  shift
  eal_args 1 "ping-$tag" "--vdev=net_memif0,role=client,socket=$SOCK,id=0,socket-abstract=no"
  log "skiff-ping $tag: $*"
  start_bg - "$ITEST_TMP/ping-$tag.log" 120 "$SKIFF_PING" "${EAL_ARGS[@]}" -- --ip "$PING_IP/24" "$@" "$ECHO_IP"
  wait "$BG_TPID"
  local rc=$?
  tail -n 3 "$ITEST_TMP/ping-$tag.log"
  return $rc
}

run_ping small -q -c 100 -i 0.01
rc=$?
check "skiff-ping -c 100 -i 0.01 exits 0" [ "$rc" -eq 0 ]
check "skiff-ping -c 100: 0% packet loss" ping_zero_loss "$ITEST_TMP/ping-small.log"
# Baseline once the link has been up (before, the start-up ARP announcement waits in the TX batch).
snapshot "$ITEST_TMP/base.txt"
BASE_POOL=$(ctr "$ITEST_TMP/base.txt" pool_in_use)
log "baseline: pool_in_use=$BASE_POOL"

run_ping big -s 4000 -c 5 -i 0.1
rc=$?
check "skiff-ping -s 4000 -c 5 exits 0" [ "$rc" -eq 0 ]
check "skiff-ping -s 4000: 0% packet loss" ping_zero_loss "$ITEST_TMP/ping-big.log"
check "skiff-echo still running" echo_alive

sleep 0.2
snapshot "$ITEST_TMP/mid.txt"
check "pool_in_use back to baseline ($BASE_POOL)" [ "$(ctr "$ITEST_TMP/mid.txt" pool_in_use)" -eq "$BASE_POOL" ]
stop_echo "$ITEST_TMP/final.txt"
F="$ITEST_TMP/final.txt"
cat "$F"
check "icmp_out_echo_reps ($(ctr "$F" icmp_out_echo_reps)) >= 105" [ "$(ctr "$F" icmp_out_echo_reps)" -ge 105 ]
check "ip_reasm_oks ($(ctr "$F" ip_reasm_oks)) >= 5" [ "$(ctr "$F" ip_reasm_oks)" -ge 5 ]
check "ip_frag_creates ($(ctr "$F" ip_frag_creates)) >= 15" [ "$(ctr "$F" ip_frag_creates)" -ge 15 ]
for d in Ipv4BadChecksum IcmpBadChecksum FragOverlap FragTimeout NoMbuf TxFull; do
  check "no $d drops" [ "$(drop "$F" "$d")" -eq 0 ]
done

# Jumbo frames: DPDK's memif advertises 1518-byte frames but moves longer ones; Skiff takes the MTU when
# each frame fits one memif buffer (bsize), and raises its own packet buffers to match.
JSOCK="/tmp/skiff-memif-jumbo-$$.sock"
register_file "$JSOCK"
rm -f "$JSOCK"
eal_args 0 echo-jumbo "--vdev=net_memif0,role=server,socket=$JSOCK,id=0,socket-abstract=no,bsize=9014"
start_echo - "$ITEST_TMP/echo-jumbo.log" "${EAL_ARGS[@]}" -- --ip "$ECHO_IP/24" --mtu 9000 --pool-size 2047 --link-wait 500
check "skiff-echo reports MTU 9000" grep -q "mtu 9000" "$ITEST_TMP/echo-jumbo.log"
eal_args 1 ping-nobsize "--vdev=net_memif0,role=client,socket=$JSOCK,id=0,socket-abstract=no"
"$SKIFF_PING" "${EAL_ARGS[@]}" -- --ip "$PING_IP/24" --mtu 9000 -c 1 "$ECHO_IP" >"$ITEST_TMP/ping-nobsize.log" 2>&1
rc=$?
check "MTU 9000 over 2048-byte memif buffers: refused (exit $rc)" [ "$rc" -ne 0 ]
check "the refusal names the bsize to give" grep -q "add bsize=9014 or more" "$ITEST_TMP/ping-nobsize.log"
eal_args 1 ping-jumbo "--vdev=net_memif0,role=client,socket=$JSOCK,id=0,socket-abstract=no,bsize=9014"
log "skiff-ping jumbo: -s 8000 -c 5 -i 0.1 over MTU 9000"
start_bg - "$ITEST_TMP/ping-jumbo.log" 120 "$SKIFF_PING" "${EAL_ARGS[@]}" -- --ip "$PING_IP/24" --mtu 9000 \
  --pool-size 2047 -s 8000 -c 5 -i 0.1 "$ECHO_IP"
wait "$BG_TPID"
rc=$?
tail -n 3 "$ITEST_TMP/ping-jumbo.log"
check "skiff-ping -s 8000 over MTU 9000 exits 0" [ "$rc" -eq 0 ]
check "skiff-ping -s 8000: 0% packet loss" ping_zero_loss "$ITEST_TMP/ping-jumbo.log"
stop_echo "$ITEST_TMP/final-jumbo.txt"
J="$ITEST_TMP/final-jumbo.txt"
check "icmp_out_echo_reps ($(ctr "$J" icmp_out_echo_reps)) >= 5" [ "$(ctr "$J" icmp_out_echo_reps)" -ge 5 ]
check "8000-byte pings arrived whole: ip_reasm_oks $(ctr "$J" ip_reasm_oks)" [ "$(ctr "$J" ip_reasm_oks)" -eq 0 ]
check "8000-byte replies left whole: ip_frag_creates $(ctr "$J" ip_frag_creates)" [ "$(ctr "$J" ip_frag_creates)" -eq 0 ]
pass
