#!/usr/bin/env bash
# Two Skiff processes over vhost-user: skiff-echo owns the vhost side (net_vhost, the socket's server, started
# first), skiff-ping connects with net_virtio_user. Small fast pings and 4000-byte ones (fragmented by
# skiff-ping, reassembled and answered by skiff-echo, whose fragmented replies skiff-ping reassembles).
# Then TSO: with tso=1 on the vhost side, virtio_user offers TSO; skiff-xfer sends 256 MiB from the
# virtio_user side in TSO frames, which the vhost side receives whole; the bytes must match (SHA-256).
. "$(dirname "$0")/lib.sh"
itest_init "$@"
require_root

SOCK="/tmp/skiff-vh-$$.sock"
register_file "$SOCK"
rm -f "$SOCK"
ECHO_IP=10.99.3.2
PING_IP=10.99.3.1

# The vhost link comes up only when the virtio_user client connects: don't wait long for it at start.
eal_args 0 echo --single-file-segments "--vdev=net_vhost0,iface=$SOCK,queues=1"
start_echo - "$ITEST_TMP/echo.log" "${EAL_ARGS[@]}" -- --ip "$ECHO_IP/24" --link-wait 500
[ -S "$SOCK" ] || fail "vhost socket $SOCK not created"

# run_ping TAG PING-ARGS...: one skiff-ping run on lcore 1 against skiff-echo; returns its exit status.
run_ping() {
  local tag=$1
  shift
  eal_args 1 "ping-$tag" --single-file-segments "--vdev=net_virtio_user0,path=$SOCK,queues=1"
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

# ---- TSO: virtio_user -> vhost, 256 MiB, SHA-256 -----------------------------------------------------
SKIFF_XFER=${4:-}
[ -x "$SKIFF_XFER" ] || fail "usage: $0 SKIFF_ECHO SKIFF_PING SKIFF_UDPCHECK SKIFF_XFER (skiff-xfer: '$SKIFF_XFER')"
. "$(dirname "$0")/tcp_lib.sh"
TSOCK="/tmp/skiff-vh-tso-$$.sock"
register_file "$TSOCK"
rm -f "$TSOCK"
eal_args 0 xsrv --single-file-segments "--vdev=net_vhost0,iface=$TSOCK,queues=1,tso=1"
start_bg - "$ITEST_TMP/xsrv.log" 120 env SKIFF_PRINT_COUNTERS=1 "$SKIFF_XFER" "${EAL_ARGS[@]}" -- \
  --ip "$ECHO_IP/24" --link-wait 500 --listen 5001 --count 1
XSRV_TPID=$BG_TPID
wait_for_line "$ITEST_TMP/xsrv.log" '^listening on 5001' 40 "$BG_PID" || fail "skiff-xfer --listen did not start"
eal_args 1 xcli --single-file-segments "--vdev=net_virtio_user0,path=$TSOCK,queues=1"
start_bg - "$ITEST_TMP/xcli.log" 120 env SKIFF_PRINT_COUNTERS=1 "$SKIFF_XFER" "${EAL_ARGS[@]}" -- \
  --ip "$PING_IP/24" --connect "$ECHO_IP" 5001 --send 256M
wait "$BG_TPID"
crc=$?
wait "$XSRV_TPID"
src=$?
check "skiff-xfer --connect (virtio_user) exits 0 (got $crc)" [ "$crc" -eq 0 ]
check "skiff-xfer --listen (vhost) exits 0" [ "$src" -eq 0 ]
check_same_bytes "$ITEST_TMP/xcli.log" "$ITEST_TMP/xsrv.log" $((256 << 20)) "the vhost side"
TSO_FRAMES=$(ctr "$ITEST_TMP/xcli.log" tcp_out_tso)
SEGS_OUT=$(ctr "$ITEST_TMP/xcli.log" tcp_out_segs)
SEGS_IN=$(ctr "$ITEST_TMP/xsrv.log" tcp_in_segs)
log "sender: $TSO_FRAMES TSO frames, $SEGS_OUT segments; receiver: $SEGS_IN segments received"
check "the sender used TSO ($TSO_FRAMES frames)" [ "$TSO_FRAMES" -gt 0 ]
check "the receiver took merged segments ($SEGS_IN received < $SEGS_OUT sent)" [ "$SEGS_IN" -lt "$SEGS_OUT" ]
pass
