#!/usr/bin/env bash
# Blind injection over the wire (issue #5, RFC 5961): skiff-echo on net_af_packet, a kernel socket connected
# to its TCP echo, and SKIFF_ITEST_BLIND_COUNT (default 100,000) spoofed segments with the connection's exact
# 4-tuple but wrong sequence numbers (RSTs and SYNs, in and out of the window) or unacceptable ACKs (data),
# sent from the kernel's netns at SKIFF_ITEST_BLIND_RATE per second (default 100,000) while the connection
# is idle (attack_blind.py); COUNT is what reaches Skiff (rounds top up what the af_packet ring lost). Passes when the connection survives (zero resets, no RST from Skiff), the echo
# afterwards matches all that was really sent (no injected byte accepted), every injected segment is counted
# under the drop reason its class calls for, every challenge ACK owed was sent or rate-limited (RFC 5961
# §7), and memory is back at the baseline. Prints the injection rate and the challenge ACK counts.
. "$(dirname "$0")/lib.sh"
itest_init "$@"
. "$(dirname "$0")/attack_lib.sh"
attack_init

COUNT=${SKIFF_ITEST_BLIND_COUNT:-100000}
RATE=${SKIFF_ITEST_BLIND_RATE:-100000}
T=$ITEST_TMP
attack_topology J 10.99.21
printf '[tcp]\nchallenge-ack-limit = 1000\n' >"$T/skiff.ini"
attack_start_echo "$T/skiff.ini"
alld() { awk '$1 ~ /\.drop\./ { s += $2 } END { printf "%.0f\n", s }' "$1"; }
d_all() { echo $(($(alld "$I") - $(alld "$B"))); }

# The python side injects in rounds; between rounds the counters say how many segments reached Skiff
# (frames the kernel could not put in the af_packet ring while Skiff was busy never arrive, and the PMD
# does not count them): rounds go on until COUNT have arrived (30 rounds at most: a busy machine loses many).
mkdir -p "$T/state"
log "injecting until $COUNT segments have reached Skiff, at $RATE/s"
start_bg "$NS_P" "$T/blind.out" 150 "${KPIN[@]}" env PYTHONPATH="$HERE" "$ATK_PY" "$HERE/attack_blind.py" \
  "$IF_P" "$SKIFF_MAC" "$PEER_MAC" "$SKIFF_IP" "$PEER_IP" 7 "$RATE" "$T/state"
BLIND_TPID=$BG_TPID
for _ in $(seq 1 600); do
  [ -e "$T/state/ready" ] && break
  kill -0 "$BG_PID" 2>/dev/null || break
  sleep 0.05
done
[ -e "$T/state/ready" ] || { cat "$T/blind.out"; fail "attack_blind.py did not get ready"; }
snapshot "$T/before.txt"
arrived=0
round=0
while [ "$arrived" -lt "$COUNT" ] && [ "$round" -lt 30 ]; do
  round=$((round + 1))
  echo $((COUNT - arrived)) >"$T/state/tmp" && mv "$T/state/tmp" "$T/state/go.$round"  # atomic: python polls
  for _ in $(seq 1 1200); do
    [ -e "$T/state/sent.$round" ] && break
    sleep 0.05
  done
  [ -e "$T/state/sent.$round" ] || { cat "$T/blind.out"; fail "round $round did not finish"; }
  snapshot "$T/inj.txt"
  arrived=$(dsum "$T/before.txt" "$T/inj.txt" rx_packets)
  log "round $round: $arrived segments have reached Skiff"
done
echo 0 >"$T/state/tmp" && mv "$T/state/tmp" "$T/state/go.$((round + 1))"
wait "$BLIND_TPID"
rc=$?
cat "$T/blind.out"
snapshot "$T/after.txt"
B=$T/before.txt
I=$T/inj.txt
A=$T/after.txt
check "the connection survived the injection and its echo matched (exit $rc)" \
  cond "[ $rc -eq 0 ] && grep -q '^RESULT .*match=yes' '$T/blind.out'"
check "Skiff sent no RST ($(grep -o 'rsts=[0-9]*' "$T/blind.out"))" grep -q 'SKIFF_REPLIES .* rsts=0$' "$T/blind.out"
sent=$(sed -n 's/^INJECT sent=\([0-9]*\).*/\1/p' "$T/blind.out")
check "$COUNT injected segments reached Skiff ($arrived of $sent sent, in $round rounds)" [ "$arrived" -ge "$COUNT" ]
d() { dsum "$B" "$I" "$@"; }
log "drops: TcpRstNotExact $(d drop.TcpRstNotExact) TcpSynInWindow $(d drop.TcpSynInWindow)" \
  "TcpOutOfWindow $(d drop.TcpOutOfWindow) TcpBadAck $(d drop.TcpBadAck) (all reasons: $(d_all))"
log "challenge ACKs sent $(d tcp_challenge_acks), rate-limited $(d tcp_challenge_acks_limited);" \
  "ACKs too new $(d tcp_ack_too_new), too old $(d tcp_ack_too_old); RSTs accepted $(d tcp_in_rsts); frames sent $(d tx_packets)"
check "zero resets (tcp_in_rsts $(dsum "$BASE" "$A" tcp_in_rsts), tcp_estab_resets $(dsum "$BASE" "$A" tcp_estab_resets))" \
  cond "[ $(dsum "$BASE" "$A" tcp_in_rsts) -eq 0 ] && [ $(dsum "$BASE" "$A" tcp_estab_resets) -eq 0 ]"
# Each segment that arrived was dropped exactly once, for its class's reason, and each class arrived.
classes=$(($(d drop.TcpRstNotExact) + $(d drop.TcpSynInWindow) + $(d drop.TcpOutOfWindow) + $(d drop.TcpBadAck)))
# (rx_packets may also count a frame or two of the kernel's own: an ARP refresh.)
check "every arrived segment dropped once under its class's reason: $classes == all drops $(d_all), of $arrived frames" \
  cond "[ $classes -eq $(d_all) ] && [ $((arrived - classes)) -ge 0 ] && [ $((arrived - classes)) -le 10 ]"
for r in TcpRstNotExact TcpSynInWindow TcpOutOfWindow TcpBadAck; do
  check "drop.$r moved ($(d "drop.$r"))" [ "$(d "drop.$r")" -gt 0 ]
done
check "ACKs too new + too old == TcpBadAck drops ($(d tcp_ack_too_new) + $(d tcp_ack_too_old))" \
  [ $(($(d tcp_ack_too_new) + $(d tcp_ack_too_old))) -eq "$(d drop.TcpBadAck)" ]
# Owed a challenge ACK: in-window RSTs and SYNs, data acknowledging too old or the future (§5.2, rate-limited
# as challenges). RFC 5961 §4.2 also challenges a
# SYN outside the window (those are among the TcpOutOfWindow drops, with the out-of-window RSTs, which are
# not): so between the two.
owed=$(($(d drop.TcpRstNotExact) + $(d drop.TcpSynInWindow) + $(d tcp_ack_too_old) + $(d tcp_ack_too_new)))
owed_max=$((owed + $(d drop.TcpOutOfWindow)))
got=$(($(d tcp_challenge_acks) + $(d tcp_challenge_acks_limited)))
check "every challenge ACK owed was sent or rate-limited: $got (owed $owed, at most $owed_max)" \
  cond "[ $got -ge $owed ] && [ $got -le $owed_max ]"
secs=$(sed -n 's/^INJECT .*secs=\([0-9.]*\).*/\1/p' "$T/blind.out")
# The bucket refills at 1000/s: over the rounds' sending time, the pauses between them (2 s each at most)
# and one burst.
lim=$(awk -v s="$secs" -v r="$round" 'BEGIN { printf "%d", 1000 * (s + 2 * r) + 1000 }')
check "challenge ACKs within the limit (1000/s): $(d tcp_challenge_acks) <= $lim" [ "$(d tcp_challenge_acks)" -le "$lim" ]
check "challenge ACKs were sent ($(d tcp_challenge_acks))" [ "$(d tcp_challenge_acks)" -gt 0 ]
log "Skiff's replies to the injection: $(d tx_packets) frames: $(d tcp_challenge_acks) challenge ACKs," \
  "of them $(d tcp_ack_too_new) for data acknowledging the future (RFC 5961 §5.2, rate-limited with them), the rest duplicate ACKs"
mem_back_to_base "the injection" 10
legit_xfer "the injection" 8000000
mem_back_to_base "the transfer" 10
stop_echo "$T/final.txt"
pass
