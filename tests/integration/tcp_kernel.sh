#!/usr/bin/env bash
# TCP interop with the Linux kernel as the peer (net_af_packet on a veth, the kernel in a second netns),
# bulk transfers both ways with SHA-256 checked at both ends:
#   1. curl (kernel client)        -> skiff-xfer --http   (Skiff server sends 1 GiB)
#   2. socat (kernel client)       -> skiff-xfer --listen (Skiff server receives 1 GiB)
#   3. skiff-xfer --connect        -> socat TCP-LISTEN (Skiff client sends 1 GiB; after its FIN the kernel
#                                     server answers with 1 GiB)
#   4. socat (kernel client)       -> skiff-echo's TCP echo, 20 MiB there and back
#   5. connect() to an on-link address nobody holds: both stacks fail with EHOSTUNREACH after ARP gives up
# Prints each transfer's throughput. SKIFF_ITEST_TCP_BYTES (default 1G) sets the bulk size.
. "$(dirname "$0")/lib.sh"
itest_init "$@"
. "$(dirname "$0")/tcp_lib.sh"
tcp_init "$@"
command -v socat >/dev/null || skip "socat not found"
command -v curl >/dev/null || skip "curl not found"
command -v sha256sum >/dev/null || skip "sha256sum not found"

BIG=${SKIFF_ITEST_TCP_BYTES:-1G}
BIG_B=$(bytes_of "$BIG")
ECHO_SIZE=20M
T=$ITEST_TMP
tcp_topology K 10.99.10
tcp_capture

# check_xfer_clean LOG: skiff-xfer's exit counters show a clean finish.
check_xfer_clean() {
  local c=$T/ctr.txt
  grep -E '^[a-z0-9_-]+\.shard[0-9]+\.' "$1" >"$c"
  check "skiff-xfer: no connection left established (tcp_curr_estab $(ctr "$c" tcp_curr_estab))" \
    [ "$(ctr "$c" tcp_curr_estab)" -eq 0 ]
  check "skiff-xfer: no resets (tcp_estab_resets $(ctr "$c" tcp_estab_resets), tcp_out_rsts $(ctr "$c" tcp_out_rsts))" \
    cond '[ "$(ctr "$c" tcp_estab_resets)" -eq 0 ] && [ "$(ctr "$c" tcp_out_rsts)" -eq 0 ]'
  check "skiff-xfer: no TCP checksum drops" [ "$(drop "$c" TcpBadChecksum)" -eq 0 ]
}

# ---- 1. curl -> skiff-xfer --http -------------------------------------------------------------------
start_xfer "$T/http.log" 200 --http 8080 --send "$BIG" --count 1
wait_for_line "$T/http.log" '^listening on 8080' 40 "$XFER_PID" || fail "skiff-xfer --http did not start"
cat >"$T/curl.sh" <<EOF
curl -sS -f --max-time 150 -o >(sha256sum >"$T/curl.sha") \
  -w '%{http_code} %{size_download} %{time_total}\n' "http://$SKIFF_IP:8080/" >"$T/curl.out"
rc=\$?
for _ in \$(seq 1 300); do [ -s "$T/curl.sha" ] && break; sleep 0.1; done
exit \$rc
EOF
log "curl http://$SKIFF_IP:8080/ ($BIG)"
kside 170 "$T/curl.sh" 2>"$T/curl.err"
rc=$?
wait_xfer
cat "$T/curl.out" "$T/curl.err" 2>/dev/null
print_xfer_stats "$T/http.log"
check "curl exits 0" [ "$rc" -eq 0 ]
check "skiff-xfer --http exits 0" [ "$XFER_RC" -eq 0 ]
read -r code got secs <"$T/curl.out"
read -r sent_n sent_h <<<"$(sha_line "$T/http.log" sent)"
recv_h=$(awk '{ print $1 }' "$T/curl.sha")
check "curl got HTTP 200 and $BIG_B bytes ($code, $got)" cond '[ "$code" = 200 ] && [ "$got" = "$BIG_B" ]'
check "skiff-xfer sent $BIG_B bytes ($sent_n)" [ "$sent_n" = "$BIG_B" ]
check "SHA-256 matches (Skiff sent $sent_h, curl got $recv_h)" cond '[ -n "$recv_h" ] && [ "$sent_h" = "$recv_h" ]'
check_xfer_clean "$T/http.log"
log "THROUGHPUT Skiff -> kernel (curl from skiff-xfer --http): $BIG in $secs s = $(mbps "$BIG_B" "$secs") MB/s"

# ---- 2. socat -> skiff-xfer --listen ----------------------------------------------------------------
start_xfer "$T/listen.log" 200 --listen 5001 --count 1
wait_for_line "$T/listen.log" '^listening on 5001' 40 "$XFER_PID" || fail "skiff-xfer --listen did not start"
cat >"$T/socat-send.sh" <<EOF
$(declare -f kgen)
kgen $BIG | tee >(sha256sum >"$T/send.sha") | socat -u - "TCP:$SKIFF_IP:5001"
rc=\${PIPESTATUS[2]}
for _ in \$(seq 1 300); do [ -s "$T/send.sha" ] && break; sleep 0.1; done
exit \$rc
EOF
log "kgen $BIG | socat -u - TCP:$SKIFF_IP:5001"
t0=$(now_s)
kside 170 "$T/socat-send.sh" >"$T/socat-send.out" 2>&1
rc=$?
t1=$(now_s)
wait_xfer
cat "$T/socat-send.out"
print_xfer_stats "$T/listen.log"
check "socat exits 0" [ "$rc" -eq 0 ]
check "skiff-xfer --listen exits 0" [ "$XFER_RC" -eq 0 ]
read -r recv_n recv_h <<<"$(sha_line "$T/listen.log" received)"
sent_h=$(awk '{ print $1 }' "$T/send.sha")
check "skiff-xfer received $BIG_B bytes ($recv_n)" [ "$recv_n" = "$BIG_B" ]
check "SHA-256 matches (kernel sent $sent_h, Skiff got $recv_h)" cond '[ -n "$sent_h" ] && [ "$sent_h" = "$recv_h" ]'
check_xfer_clean "$T/listen.log"
secs=$(elapsed "$t0" "$t1")
log "THROUGHPUT kernel -> Skiff (socat to skiff-xfer --listen): $BIG in $secs s = $(mbps "$BIG_B" "$secs") MB/s"

# ---- 3. skiff-xfer --connect -> kernel server (socat): BIG there, then BIG back -------------------------
# The server (bash behind socat) hashes what Skiff sends until Skiff's FIN, then answers with BIG bytes of its
# own and closes; socat -t keeps the reply direction open after the first EOF.
cat >"$T/server.sh" <<EOF
$(declare -f kgen)
date +%s.%N >"$T/sink.t0"
tee >(wc -c >"$T/sink.n") | sha256sum >"$T/sink.sha"
date +%s.%N >"$T/sink.t1"
kgen $BIG | tee >(sha256sum >"$T/reply.sha")
date +%s.%N >"$T/reply.t1"
for _ in \$(seq 1 100); do [ -s "$T/sink.n" ] && [ -s "$T/reply.sha" ] && break; sleep 0.1; done
EOF
start_bg "$NS_P" "$T/socat-server.log" 200 "${KPIN[@]}" socat -t 150 TCP-LISTEN:5002,reuseaddr "SYSTEM:bash $T/server.sh"
SRV_TPID=$BG_TPID
for _ in $(seq 1 100); do
  ip netns exec "$NS_P" ss -Hltn 'sport = :5002' | grep -q . && break
  sleep 0.05
done
log "skiff-xfer --connect $PEER_IP 5002: $BIG to the kernel, then $BIG back"
start_xfer "$T/connect.log" 200 --connect "$PEER_IP" 5002 --send "$BIG"
wait_xfer
wait "$SRV_TPID"
rc=$?
cat "$T/socat-server.log"
grep -E '^(sent|received|tcp_info) ' "$T/connect.log"
print_xfer_stats "$T/connect.log"
check "skiff-xfer --connect exits 0" [ "$XFER_RC" -eq 0 ]
check "socat server exits 0" [ "$rc" -eq 0 ]
read -r sent_n sent_h <<<"$(sha_line "$T/connect.log" sent)"
recv_h=$(awk '{ print $1 }' "$T/sink.sha" 2>/dev/null)
recv_n=$(cat "$T/sink.n" 2>/dev/null)
check "kernel server received $BIG_B bytes ($recv_n)" [ "$recv_n" = "$BIG_B" ]
check "SHA-256 matches (Skiff sent $sent_h, kernel got $recv_h)" cond '[ -n "$recv_h" ] && [ "$sent_h" = "$recv_h" ]'
read -r back_n back_h <<<"$(sha_line "$T/connect.log" received)"
reply_h=$(awk '{ print $1 }' "$T/reply.sha" 2>/dev/null)
check "skiff-xfer --connect received $BIG_B bytes back ($back_n)" [ "$back_n" = "$BIG_B" ]
check "SHA-256 matches (kernel sent $reply_h, Skiff got $back_h)" cond '[ -n "$reply_h" ] && [ "$reply_h" = "$back_h" ]'
check_xfer_clean "$T/connect.log"
secs=$(elapsed "$(cat "$T/sink.t0")" "$(cat "$T/sink.t1")")
log "THROUGHPUT Skiff -> kernel (skiff-xfer --connect to socat): $BIG in $secs s = $(mbps "$BIG_B" "$secs") MB/s"
secs=$(elapsed "$(cat "$T/sink.t1")" "$(cat "$T/reply.t1")")
log "THROUGHPUT kernel -> Skiff (socat server to skiff-xfer --connect): $BIG in $secs s = $(mbps "$BIG_B" "$secs") MB/s"

# ---- 4. socat -> skiff-echo TCP echo, 20 MiB there and back -----------------------------------------
eal_args 0 echo "$VDEV"
start_echo "$NS_S" "$T/echo.log" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24"
snapshot "$T/base.txt"
BASE_POOL=$(ctr "$T/base.txt" pool_in_use)
cat >"$T/echo.sh" <<EOF
$(declare -f kgen)
kgen $ECHO_SIZE | tee >(sha256sum >"$T/echo-sent.sha") | socat -t 30 -T 60 - "TCP:$SKIFF_IP:7" |
  tee >(wc -c >"$T/echo-back.n") | sha256sum >"$T/echo-back.sha"
rc=\${PIPESTATUS[2]}
for _ in \$(seq 1 300); do [ -s "$T/echo-sent.sha" ] && [ -s "$T/echo-back.n" ] && break; sleep 0.1; done
exit \$rc
EOF
log "kgen $ECHO_SIZE | socat - TCP:$SKIFF_IP:7 (echo)"
t0=$(now_s)
kside 120 "$T/echo.sh" >"$T/echo-client.out" 2>&1
rc=$?
t1=$(now_s)
cat "$T/echo-client.out"
check "socat (echo client) exits 0" [ "$rc" -eq 0 ]
sent_h=$(awk '{ print $1 }' "$T/echo-sent.sha")
back_h=$(awk '{ print $1 }' "$T/echo-back.sha")
ECHO_B=$(bytes_of $ECHO_SIZE)
check "echo came back whole ($(cat "$T/echo-back.n") of $ECHO_B bytes)" [ "$(cat "$T/echo-back.n")" = "$ECHO_B" ]
check "echo SHA-256 matches (sent $sent_h, back $back_h)" cond '[ -n "$sent_h" ] && [ "$sent_h" = "$back_h" ]'
secs=$(elapsed "$t0" "$t1")
log "THROUGHPUT echo through skiff-echo: $ECHO_SIZE each way in $secs s = $(mbps "$ECHO_B" "$secs") MB/s each way"
sleep 0.3
snapshot "$T/after.txt"
check "skiff-echo: tcp_curr_estab back to 0 ($(ctr "$T/after.txt" tcp_curr_estab))" \
  [ "$(ctr "$T/after.txt" tcp_curr_estab)" -eq 0 ]
check "skiff-echo: pool_in_use back to baseline ($(ctr "$T/after.txt" pool_in_use) vs $BASE_POOL)" \
  [ "$(ctr "$T/after.txt" pool_in_use)" -eq "$BASE_POOL" ]
stop_echo "$T/final.txt"
grep -o 'tcp accepted .* bytes' "$T/echo.log" | tail -n 1
check "skiff-echo echoed $ECHO_B bytes" grep -q "echoed $ECHO_B bytes" "$T/echo.log"
check "skiff-echo: no resets (tcp_out_rsts $(ctr "$T/final.txt" tcp_out_rsts))" [ "$(ctr "$T/final.txt" tcp_out_rsts)" -eq 0 ]
check "skiff-echo: no TCP checksum drops" [ "$(drop "$T/final.txt" TcpBadChecksum)" -eq 0 ]

# ---- 5. connect() to an on-link address nobody holds -----------------------------------------------------
# ARP gives up after its probes and the SYN comes back as "host unreachable" (RFC 1122 §2.3.2.1; Linux's
# arp_error_report): the kernel (socat in its netns) and Skiff (skiff-xfer) both fail with EHOSTUNREACH after
# about 3 s, not ETIMEDOUT after two minutes of SYNs.
DEAD_IP=${PEER_IP%.*}.77
log "connect to $DEAD_IP (no such host): the kernel, then Skiff"
t0=$(now_s)
ip netns exec "$NS_P" timeout 60 socat -u /dev/null "TCP:$DEAD_IP:5003" 2>"$T/dead-kernel.err"
t1=$(now_s)
ksecs=$(elapsed "$t0" "$t1")
cat "$T/dead-kernel.err"
t0=$(now_s)
start_xfer "$T/dead.log" 60 --connect "$DEAD_IP" 5003 --send 1
wait_xfer
t1=$(now_s)
ssecs=$(elapsed "$t0" "$t1")
grep 'skiff-xfer: connect' "$T/dead.log"
check "kernel: No route to host after $ksecs s" grep -q "No route to host" "$T/dead-kernel.err"
check "Skiff: skiff-xfer exits non-zero with No route to host (exit $XFER_RC, $ssecs s)" \
  cond '[ "$XFER_RC" -ne 0 ] && grep -q "connect $DEAD_IP:5003: No route to host" "$T/dead.log"'
check "Skiff gave up within 15 s, as the kernel did ($ssecs s vs $ksecs s)" \
  awk -v s="$ssecs" 'BEGIN { exit !(s < 15) }'
check "Skiff: the SYN was dropped unresolved (ArpResolveFailed $(drop "$T/dead.log" ArpResolveFailed))" \
  [ "$(drop "$T/dead.log" ArpResolveFailed)" -ge 1 ]
pass
