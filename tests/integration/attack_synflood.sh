#!/usr/bin/env bash
# SYN flood over the wire (issue #5): skiff-echo on net_af_packet, the Linux kernel in a second netns as the
# attacker. While a kernel socket streams data through skiff-echo's TCP echo, a bounded generator sends
# SKIFF_ITEST_SYNFLOOD_COUNT (default 200,000) SYNs from random spoofed sources behind the kernel at
# SKIFF_ITEST_SYNFLOOD_RATE per second (default 60,000; 0 = as fast as python sends), and a prober opens
# legitimate connections from the kernel for as long as the flood lasts.
# Passes when:
#   - the established transfer keeps moving during the flood and its SHA-256 matches both ways;
#   - every legitimate connection made during the flood succeeds (the SYN queue is full: SYN cookies);
#   - memory stays bounded during the flood (TCP sockets at most the SYN queue over the baseline, packet
#     buffers within the transfer's and the rings' worth) and returns to the baseline once the half-open
#     connections time out; COUNT flood SYNs reached Skiff and were each answered (a half-open connection
#     or a cookie SYN-ACK; rounds top up what the kernel could not put in the af_packet ring).
# Prints the flood rate, the SYN-ACK/cookie counts and memory before, during and after.
. "$(dirname "$0")/lib.sh"
itest_init "$@"
. "$(dirname "$0")/attack_lib.sh"
attack_init

COUNT=${SKIFF_ITEST_SYNFLOOD_COUNT:-200000}   # SYNs that reach Skiff
RATE=${SKIFF_ITEST_SYNFLOOD_RATE:-60000}
SYNQ=256        # listener backlog clamp (somaxconn) = SYN queue length for skiff-echo's listen(1024)
T=$ITEST_TMP
attack_topology F 10.99.20
# SYN-ACK retries 2 (1 + 2 + 4 s): the half-open connections the flood leaves expire within the test. Socket
# buffers capped at 512 KiB (autotuning grows them up to that), so the transfer itself holds at most about
# 2 x 512 KiB / 1448 ~ 730 packet buffers and a bound on the pool during the flood means something.
printf '[sock]\nsomaxconn = %d\nrmem-max = 524288\nwmem-max = 524288\n[tcp]\nsynack-retries = 2\n' "$SYNQ" >"$T/skiff.ini"
attack_start_echo "$T/skiff.ini"

# 1. The established transfer: streams through the echo until told to stop (2 s after the flood), progress
#    every 0.1 s.
mkdir -p "$T/st"
start_bg "$NS_P" "$T/xfer.out" 150 "${KPIN[@]}" env PYTHONPATH="$HERE" "$ATK_PY" "$HERE/attack_lib.py" xfer \
  "$SKIFF_IP" 7 0 120 "$T/progress.txt" "$T/st/stop-xfer"
XFER_TPID=$BG_TPID
sleep 2
grep -q . "$T/progress.txt" 2>/dev/null || fail "the transfer did not start"

# 2. The flood, and the prober racing it. The flood goes in rounds: after each, the counters say how many
#    flood SYNs Skiff answered (frames the kernel could not put in the af_packet ring while Skiff was busy
#    never arrive, and the PMD does not count them), and the next round sends the rest, until COUNT arrived.
echo idle >"$T/st/state"
start_bg "$NS_P" "$T/flood.out" 150 "${KPIN[@]}" env PYTHONPATH="$HERE" "$ATK_PY" "$HERE/attack_synflood.py" flood \
  "$IF_P" "$SKIFF_MAC" "$PEER_MAC" "$SKIFF_IP" 7 "$RATE" "$T/st"
FLOOD_TPID=$BG_TPID
start_bg "$NS_P" "$T/probe.out" 150 "${KPIN[@]}" env PYTHONPATH="$HERE" "$ATK_PY" "$HERE/attack_synflood.py" probe \
  "$SKIFF_IP" 7 "$T/st/state"
PROBE_TPID=$BG_TPID
# SYNs answered since the baseline: half-open connections (passive opens not made from a cookie) plus
# cookie SYN-ACKs; less one per probe (each probe's SYN was answered too).
answered() {
  echo $(($(dsum "$BASE" "$1" tcp_passive_opens) - $(dsum "$BASE" "$1" tcp_syncookies_recv) +
    $(dsum "$BASE" "$1" tcp_syncookies_sent) - $(dsum "$BASE" "$1" tcp_syncookies_recv)))
}
last_t() { awk '{ t = $1 } END { print t + 0 }' "$T/progress.txt"; }
MAXF=$T/max.txt   # memory while the flood runs (and shortly after)
: >"$MAXF"
got=0
round=0
while [ "$got" -lt "$COUNT" ] && [ "$round" -lt 30 ]; do
  round=$((round + 1))
  [ "$round" -eq 1 ] && t_flood0=$(last_t)
  echo $((COUNT - got)) >"$T/st/tmp" && mv "$T/st/tmp" "$T/st/go.$round"  # atomic: python polls
  for _ in $(seq 1 600); do
    snapshot "$T/during.txt"
    mem_line "$T/during.txt" >>"$MAXF"
    [ -e "$T/st/sent.$round" ] && break
    sleep 0.3
  done
  [ -e "$T/st/sent.$round" ] || { cat "$T/flood.out"; fail "flood round $round did not finish"; }
  sleep 0.2
  snapshot "$T/during.txt"
  got=$(answered "$T/during.txt")
  log "flood round $round: $got flood SYNs answered so far"
done
t_flood1=$(last_t)
echo 0 >"$T/st/tmp" && mv "$T/st/tmp" "$T/st/go.$((round + 1))"
for i in 1 2 3 4; do
  snapshot "$T/during.txt"
  mem_line "$T/during.txt" >>"$MAXF"
  sleep 0.3
done
touch "$T/st/stop-xfer"
wait "$FLOOD_TPID"
rc_flood=$?
wait "$PROBE_TPID"
rc_probe=$?
wait "$XFER_TPID"
rc_xfer=$?
cat "$T/flood.out" "$T/probe.out" "$T/xfer.out"
check "flood generator exits 0" [ "$rc_flood" -eq 0 ]
snapshot "$T/after-flood.txt"
A=$T/after-flood.txt

# The transfer kept moving during the flood, and matched.
B0=$(awk -v t="$t_flood0" '$1 <= t { b = $2 } END { printf "%.0f\n", b }' "$T/progress.txt")
B1=$(awk -v t="$t_flood1" '$1 <= t { b = $2 } END { printf "%.0f\n", b }' "$T/progress.txt")
STALL=$(awk -v a="$t_flood0" -v z="$t_flood1" '$1 >= a && $1 <= z { if (n++ == 0 || $2 > lv) { if (n > 1 && $1 - lt > m) m = $1 - lt; lt = $1; lv = $2 } }
  END { if (z - lt > m) m = z - lt; printf "%.1f", m }' "$T/progress.txt")
log "transfer during the flood (${t_flood0}s..${t_flood1}s): $B0 -> $B1 bytes echoed; longest stall ${STALL}s"
check "the established transfer moved during the flood ($B0 -> $B1 bytes)" [ "$B1" -gt "$B0" ]
check "the established transfer never stalled 3 s or more during the flood (${STALL}s)" \
  awk -v s="$STALL" 'BEGIN { exit !(s < 3) }'
check "the established transfer's SHA-256 matched both ways" cond "[ $rc_xfer -eq 0 ] && grep -q 'match=yes' '$T/xfer.out'"

# Legitimate connections during the flood.
check "every legitimate connection during the flood succeeded: $(grep PROBE "$T/probe.out")" [ "$rc_probe" -eq 0 ]
ck_sent=$(dsum "$BASE" "$A" tcp_syncookies_sent)
ck_recv=$(dsum "$BASE" "$A" tcp_syncookies_recv)
ck_fail=$(dsum "$BASE" "$A" tcp_syncookies_failed)
opens=$(dsum "$BASE" "$A" tcp_passive_opens)
probes=$(sed -n 's/^PROBE ok=\([0-9]*\).*/\1/p' "$T/probe.out")
log "SYN cookies sent $ck_sent, connections from cookies $ck_recv, cookie ACKs rejected $ck_fail, passive opens $opens"
check "SYN cookies answered the flood ($ck_sent)" [ "$ck_sent" -gt 0 ]
check "legitimate connections were made from cookies ($ck_recv of $probes)" [ "$ck_recv" -ge 1 ]
sent=$(sed -n 's/^FLOOD sent=\([0-9]*\).*/\1/p' "$T/flood.out")
log "frames received $(dsum "$BASE" "$A" rx_packets); flood SYNs answered (half-open + cookies - probes) $got of $sent sent in $round rounds"
check "$COUNT flood SYNs reached Skiff and were answered ($got)" [ "$got" -ge "$COUNT" ]
check "no SYN dropped for lack of memory or queue ($(dsum "$BASE" "$A" drop.TcpNoMemory drop.TcpSynQueueFull))" \
  [ "$(dsum "$BASE" "$A" drop.TcpNoMemory drop.TcpSynQueueFull)" -eq 0 ]

# Memory during the flood.
max_of() { awk -v k="$1" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k && kv[2] > m) m = kv[2] } } END { printf "%.0f\n", m }' "$MAXF"; }
MS=$(max_of tcp_socks_in_use)
MC=$(max_of tcp_conns)
MP=$(max_of pool_in_use)
BS=$(ctr "$BASE" tcp_socks_in_use)
BP=$(ctr "$BASE" pool_in_use)
log "memory: baseline $(mem_line "$BASE")"
log "memory: highest during the flood: tcp_socks_in_use=$MS tcp_conns=$MC pool_in_use=$MP ($(wc -l <"$MAXF") samples)"
# The SYN queue, the transfer, and the few probe connections open (or closing) at the time of a sample.
check "TCP sockets during the flood bounded by the SYN queue: $MS <= $BS + $SYNQ + 16" [ "$MS" -le $((BS + SYNQ + 16)) ]
check "packet buffers during the flood bounded (transfer + rings): $MP <= $BP + 2048" [ "$MP" -le $((BP + 2048)) ]
check "no packet dropped for want of a buffer ($(dsum "$BASE" "$A" drop.NoMbuf))" [ "$(dsum "$BASE" "$A" drop.NoMbuf)" -eq 0 ]

# After: the half-open connections time out (SYN-ACK retries), everything returns to the baseline.
mem_back_to_base "the flood" 20
legit_xfer "the flood" 8000000
mem_back_to_base "the transfer" 10
stop_echo "$T/final.txt"
check "no RST from Skiff's established connections ($(ctr "$T/final.txt" tcp_estab_resets) resets)" \
  [ "$(ctr "$T/final.txt" tcp_estab_resets)" -eq 0 ]
pass
