#!/usr/bin/env bash
# TCP with the Linux kernel as the peer over an impaired link, "delay D loss L% reorder 25% duplicate 1%"
# in both directions (data and ACKs both ways are lost, reordered and duplicated; netem reorders only with a
# delay: 25% of the frames skip it):
#   - with sch_netem: netem on the kernel's end of the veth and on Skiff's end (af_packet with
#     qdisc_bypass=0 so that Skiff's frames pass the qdisc);
#   - without it (kernels built without CONFIG_NET_SCH_NETEM, or SKIFF_ITEST_IMPAIR=py): tcp_impair.py,
#     a userspace bridge with netem's semantics, in a third namespace between Skiff's veth and the kernel's.
# Directions (SKIFF_ITEST_NETEM_DIRS, "rx tx" by default; meson runs each as its own test):
#   rx. kernel -> Skiff: tcp_stream.py source -> skiff-xfer --listen
#   tx. Skiff -> kernel: skiff-xfer --connect -> tcp_stream.py sink
# Each transfer must arrive with a matching SHA-256 and never stall: the kernel's side logs the bytes
# delivered every 0.1 s (received, or acknowledged by Skiff), and no gap without progress may exceed
# SKIFF_ITEST_MAX_STALL seconds.
# Baseline (SKIFF_ITEST_NETEM_BASELINE=1, the default): before Skiff, the same transfer with Linux in
# Skiff's place (the address on Skiff's veth end, tcp_stream.py pinned to Skiff's lcore) over the very same
# impaired link; both goodputs (bytes / time from establishment to the end, measured by the same kernel-side
# tool in both runs) and their ratio are printed, and with SKIFF_ITEST_NETEM_GOODPUT=1 (the default) the test
# fails unless Skiff's goodput >= SKIFF_ITEST_NETEM_MIN_RATIO (default 1.0) x Linux's.
# Congestion control. The comparison is of stacks, so in each direction both runs use the same algorithm:
#   tx. Linux in Skiff's place sends with CUBIC (SKIFF_ITEST_NETEM_TX_CC), Skiff's default and Linux's own
#       built-in default (a host may configure another: this test's VM defaults to BBR, which ignores
#       random loss by design; set SKIFF_ITEST_NETEM_TX_CC=bbr to see that comparison). Linux's CUBIC gets
#       little through 10% loss, so the baseline runs at most SKIFF_ITEST_NETEM_BASELINE_SECS (60) and its
#       goodput is what the receiver had by then (the sink's progress log), not the whole transfer.
#   rx. The kernel is the sender in both runs; it sends with SKIFF_ITEST_NETEM_RX_CC (default bbr when this
#       kernel has it, else its default): a sender that keeps its window full through the loss loads the
#       receiver's reassembly (out-of-order queue, SACK), which is what this direction measures.
# Knobs: SKIFF_ITEST_NETEM_LOSS (percent, default 2), SKIFF_ITEST_NETEM_DELAY_MS (default 1),
# SKIFF_ITEST_NETEM_BYTES (default 200M), SKIFF_ITEST_NETEM_CORRUPT (percent of frames with one bit flipped,
# default 0: with it, Skiff must drop frames for a bad IPv4 or TCP checksum instead of none), SKIFF_ITEST_MAX_STALL (default 3 s: a few RTOs at the 200 ms
# minimum), SKIFF_ITEST_SEED (the bridge's random seed), SKIFF_ITEST_XFER_ARGS (extra skiff-xfer stack
# options, e.g. "--config FILE" with a [tcp] section for experiments).
. "$(dirname "$0")/lib.sh"
itest_init "$@"
. "$(dirname "$0")/tcp_lib.sh"
tcp_init "$@"
command -v tc >/dev/null || skip "tc (iproute2) not found"

SIZE=${SKIFF_ITEST_NETEM_BYTES:-200M}
SIZE_B=$(bytes_of "$SIZE")
LOSS=${SKIFF_ITEST_NETEM_LOSS:-2}
CORRUPT=${SKIFF_ITEST_NETEM_CORRUPT:-0}
DELAY=${SKIFF_ITEST_NETEM_DELAY_MS:-1}
MAX_STALL=${SKIFF_ITEST_MAX_STALL:-3}
DIRS=" ${SKIFF_ITEST_NETEM_DIRS:-rx tx} "
BASELINE=${SKIFF_ITEST_NETEM_BASELINE:-1}
GOODPUT=${SKIFF_ITEST_NETEM_GOODPUT:-1}
MIN_RATIO=${SKIFF_ITEST_NETEM_MIN_RATIO:-1.0}
read -r -a XFER_ARGS <<<"${SKIFF_ITEST_XFER_ARGS:-}"
BASELINE_SECS=${SKIFF_ITEST_NETEM_BASELINE_SECS:-60}
MAX_SECS=${SKIFF_ITEST_NETEM_MAX_SECS:-$(awk -v l="$LOSS" 'BEGIN { print (l >= 10 ? 1500 : 390) }')}
TX_CC=${SKIFF_ITEST_NETEM_TX_CC:-cubic}
if [ -z "${SKIFF_ITEST_NETEM_RX_CC+x}" ]; then
  modprobe tcp_bbr 2>/dev/null
  RX_CC=
  grep -qw bbr /proc/sys/net/ipv4/tcp_available_congestion_control 2>/dev/null && RX_CC=bbr
else
  RX_CC=$SKIFF_ITEST_NETEM_RX_CC
fi
RX_CC_ARGS=()
[ -n "$RX_CC" ] && RX_CC_ARGS=(--cc "$RX_CC")
NETEM=(delay "${DELAY}ms" loss "$LOSS%" reorder 25% duplicate 1%)
CORRUPTING=0
if awk -v c="$CORRUPT" 'BEGIN { exit !(c > 0) }'; then
  CORRUPTING=1
  NETEM+=(corrupt "$CORRUPT%")
fi
T=$ITEST_TMP
LCORE_PIN=()
command -v taskset >/dev/null && LCORE_PIN=(taskset -c 0)  # where Skiff polls: Linux's stand-in runs there

# Does this kernel have sch_netem? Tried on a veth pair in a scratch namespace.
probe_netem() {
  local ns="skiff-nprobe-$$" ok=1
  make_netns "$ns"
  ip -n "$ns" link add "npr$$a" type veth peer name "npr$$b" || return 1
  ip netns exec "$ns" tc qdisc add dev "npr$$a" root netem delay 1ms 2>/dev/null || ok=0
  ip netns del "$ns"
  [ "$ok" = 1 ]
}

if [ "${SKIFF_ITEST_IMPAIR:-}" != py ] && probe_netem; then
  IMPAIR=netem
  tcp_topology N 10.99.12
  VDEV="$VDEV,qdisc_bypass=0"
  # netem would treat a GSO burst as one frame: segment before the qdisc.
  ip netns exec "$NS_P" ethtool -K "$IF_P" tso off gso off >/dev/null 2>&1 || fail "ethtool -K $IF_P gso off"
  ip netns exec "$NS_P" tc qdisc add dev "$IF_P" root netem "${NETEM[@]}" || fail "netem on $IF_P"
  ip netns exec "$NS_S" tc qdisc add dev "$IF_S" root netem "${NETEM[@]}" || fail "netem on $IF_S"
  log "netem ${NETEM[*]} on $IF_P (kernel -> Skiff) and $IF_S (Skiff -> kernel)"
else
  IMPAIR=py
  # Skiff's veth ends in a middle namespace; the kernel's veth too; tcp_impair.py bridges the two.
  NS_S="skiff-N-$$-s"
  NS_M="skiff-N-$$-m"
  NS_P="skiff-N-$$-p"
  IF_S="skN$$s"
  IF_MS="skN$$ms"
  IF_MP="skN$$mp"
  IF_P="skN$$p"
  SKIFF_IP=10.99.12.2
  PEER_IP=10.99.12.1
  make_netns "$NS_S"
  make_netns "$NS_M"
  make_netns "$NS_P"
  make_veth "$NS_S" "$IF_S" "$NS_M" "$IF_MS"
  make_veth "$NS_P" "$IF_P" "$NS_M" "$IF_MP"
  ip -n "$NS_P" addr add "$PEER_IP/24" dev "$IF_P" || fail "address on $IF_P"
  # Frames are forwarded as they come: no checksum offload, no segmentation offload, no GRO anywhere.
  ip netns exec "$NS_P" ethtool -K "$IF_P" tx off tso off gso off gro off >/dev/null 2>&1 || fail "ethtool -K $IF_P"
  for i in "$IF_MS" "$IF_MP"; do
    ip netns exec "$NS_M" ethtool -K "$i" tx off tso off gso off gro off >/dev/null 2>&1 || fail "ethtool -K $i"
  done
  VDEV="--vdev=net_af_packet0,iface=$IF_S,blocksz=16384,framesz=16384,framecnt=512"
  start_bg "$NS_M" "$T/impair.log" $((2 * MAX_SECS + 600)) "${KPIN[@]}" "$PY" -u "$HERE/tcp_impair.py" "$IF_MS" "$IF_MP" \
    --loss "$LOSS" --duplicate 1 --corrupt "$CORRUPT" --reorder 25 --delay-ms "$DELAY" --seed "${SKIFF_ITEST_SEED:-$$}"
  IMPAIR_PID=$BG_PID
  wait_for_line "$T/impair.log" '^forwarding' 10 "$IMPAIR_PID" || fail "tcp_impair.py did not start"
  log "no sch_netem here: $(head -n 1 "$T/impair.log")"
fi
# Linux in Skiff's place (baseline runs only) sends through the same impairment: whole frames, finished
# checksums (the bridge forwards frames as they are; netem would count a GSO burst as one frame).
ip netns exec "$NS_S" ethtool -K "$IF_S" tx off tso off gso off gro off >/dev/null 2>&1 || fail "ethtool -K $IF_S"
tcp_capture

# Kernel TCP counters per phase: kstat_reset NS before, kstat_show NS WHO after (the changes in between).
KSTATS=(TcpRetransSegs TcpExtTCPLostRetransmit TcpExtTCPTimeouts TcpExtTCPLossProbes TcpExtTCPSpuriousRTOs
  TcpExtTCPSackRecovery TcpExtTCPDSACKUndo TcpExtTCPFullUndo TcpExtTCPPartialUndo TcpExtTCPLossUndo
  TcpExtTCPSACKReorder TcpExtTCPTSReorder TcpExtTCPDSACKRecv TcpExtTCPDSACKOldSent TcpExtTCPDSACKOfoSent
  TcpExtPAWSEstab TcpExtTCPOFOQueue TcpExtTCPOFODrop TcpExtTCPRcvQDrop TcpExtTCPSACKReneging TcpInCsumErrors
  IpInHdrErrors)
kstat_reset() { NSTAT_HISTORY="$T/nstat.$1" ip netns exec "$1" nstat -n >/dev/null 2>&1; }
kstat_show() {
  NSTAT_HISTORY="$T/nstat.$1" ip netns exec "$1" nstat -z "${KSTATS[@]}" 2>/dev/null |
    awk -v w="$2" '!/^#/ { printf "    %s %-26s %s\n", w, $1, $2 }'
}
# impair_report: what the impairment did so far (netem's qdisc counters, or tcp_impair.py's per direction).
impair_report() {
  if [ "$IMPAIR" = netem ]; then
    ip netns exec "$NS_P" tc -s qdisc show dev "$IF_P" | sed -n 's/^ *Sent/    kernel egress: Sent/p'
    ip netns exec "$NS_S" tc -s qdisc show dev "$IF_S" | sed -n 's/^ *Sent/    Skiff egress:  Sent/p'
  else
    local n
    n=$(grep -c '^impair ' "$T/impair.log")
    kill -USR1 "$IMPAIR_PID" 2>/dev/null
    for _ in $(seq 1 20); do
      [ "$(grep -c '^impair ' "$T/impair.log")" -ge $((n + 2)) ] && break
      sleep 0.05
    done
    grep '^impair ' "$T/impair.log" | tail -n 2 | sed 's/^/    (cumulative) /'
  fi
}

# check_stall PROGRESS_FILE WHAT: fails on a time without progress longer than MAX_STALL.
check_stall() {
  local s
  [ -s "$1" ] || fail "$2: no progress log"
  s=$(max_stall "$1")
  log "$2: longest time without progress: $s s (limit $MAX_STALL s)"
  check "$2: no stall longer than $MAX_STALL s ($s s)" awk -v s="$s" -v m="$MAX_STALL" 'BEGIN { exit !(s <= m) }'
}

check_clean() {
  local c=$T/ctr.txt
  grep -E '^[a-z0-9_-]+\.shard[0-9]+\.' "$1" >"$c"
  check "skiff-xfer: tcp_curr_estab 0 at exit" [ "$(ctr "$c" tcp_curr_estab)" -eq 0 ]
  check "skiff-xfer: no connection reset or timed out" \
    cond '[ "$(ctr "$c" tcp_estab_resets)" -eq 0 ] && [ "$(ctr "$c" tcp_timeouts)" -eq 0 ]'
  local bad=$(($(drop "$c" TcpBadChecksum) + $(drop "$c" Ipv4BadChecksum)))
  if [ "$CORRUPTING" = 1 ]; then
    # Every corrupted frame fails a checksum; those that reached Skiff must have been dropped for it (a
    # corrupted frame taken as good would also have broken the SHA-256 above).
    check "skiff-xfer: corrupted frames dropped for a bad checksum (TcpBadChecksum $(drop "$c" TcpBadChecksum), Ipv4BadChecksum $(drop "$c" Ipv4BadChecksum))" \
      [ "$bad" -gt 0 ]
  else
    check "skiff-xfer: no checksum drops ($bad)" [ "$bad" -eq 0 ]
  fi
}

# rate_of FILE WORD: the MB/s tcp_stream.py reported on its "WORD N sha256=... in T s (R MB/s)" line.
# (From the byte count and the seconds, to three decimals: at 10 % loss a CUBIC sender moves 0.2-0.3 MB/s.)
rate_of() {
  sed -n "s/^$2 \([0-9]*\) sha256=[0-9a-f]* in \([0-9.]*\) s .*/\1 \2/p" "$1" | tail -n 1 |
    awk '{ if ($2 > 0) printf "%.3f", $1 / $2 / 1e6 }'
}
secs_of() { sed -n "s/^$2 [0-9]* sha256=[0-9a-f]* in \([0-9.]*\) s .*/\1/p" "$1" | tail -n 1; }

# compare WHAT LINUX_MBPS SKIFF_MBPS: prints both goodputs and the ratio; with GOODPUT=1 fails unless
# Skiff >= MIN_RATIO x Linux.
compare() {
  local what=$1 lin=$2 sk=$3 ratio
  ratio=$(awk -v a="$sk" -v b="$lin" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }')
  log "GOODPUT $what, loss $LOSS%: Linux->Linux $lin MB/s, with Skiff $sk MB/s, ratio Skiff/Linux $ratio"
  if [ "$GOODPUT" = 1 ]; then
    check "$what: Skiff's goodput ($sk MB/s) >= $MIN_RATIO x Linux's ($lin MB/s) over the same link" \
      awk -v a="$sk" -v b="$lin" -v r="$MIN_RATIO" 'BEGIN { exit !(a >= r * b) }'
  fi
}

# skiff_bound LINUX_MBPS: how long Skiff's transfer may run. Asserting goodput against a baseline, a Skiff
# that has not moved SIZE at MIN_RATIO x LINUX_MBPS (+10 s for start-up) has already failed, so stop there
# (a slow stack must not eat CI's time); SKIFF_ITEST_NETEM_MAX_SECS (390 s; 1500 s at loss 10%, where a
# CUBIC sender, Linux's at 0.2 MB/s or Skiff's at ~0.3, needs 10 minutes or more for 200 MiB) at most.
skiff_bound() {
  if [ "$GOODPUT" = 1 ] && [ -n "$1" ]; then
    awk -v m="$1" -v r="$MIN_RATIO" -v b="$SIZE_B" -v c="$MAX_SECS" 'BEGIN {
      t = m * r > 0 ? int(b / 1e6 / (m * r) + 10.999) : c; print (t < c ? t : c) }'
  else
    echo "$MAX_SECS"
  fi
}
# progress_mbps PROGRESS_FILE: goodput (MB/s) by the last "SECONDS BYTES" line of a progress log.
progress_mbps() { awk 'END { if ($1 > 0) printf "%.3f", $2 / $1 / 1e6; else print "0.000" }' "$1"; }
# too_slow WHAT PROGRESS_FILE LINUX_MBPS: Skiff ran out of time: fail with the goodput it reached so far.
too_slow() {
  local got t
  read -r t got <<<"$(tail -n 1 "$2" 2>/dev/null)"
  log "GOODPUT $1, loss $LOSS%: Linux->Linux $3 MB/s, with Skiff $(mbps "${got:-0}" "${t:-0}") MB/s so far" \
    "(${got:-0} of $SIZE_B bytes in ${t:-?} s), ratio Skiff/Linux below $MIN_RATIO"
  fail "$1: Skiff's transfer did not finish in the time Linux's goodput x $MIN_RATIO allows" \
    "(${got:-0} of $SIZE_B bytes delivered); set SKIFF_ITEST_NETEM_GOODPUT=0 to check correctness alone"
}

# Linux in Skiff's place: the address on Skiff's veth end for the baseline only (while it is there, the
# namespace's kernel would answer Skiff's segments with resets).
linux_side_up() { ip -n "$NS_S" addr add "$SKIFF_IP/24" dev "$IF_S" || fail "address on $IF_S"; }
linux_side_down() { ip -n "$NS_S" addr flush dev "$IF_S" || fail "flush $IF_S"; }

# TCP_INFO at both ends against the bytes that crossed (sequence space, so the SYN and each FIN count one):
# check_tcp_info_rx SKIFF_LOG KERNEL_LOG (kernel -> Skiff), check_tcp_info_tx SKIFF_LOG KERNEL_LOG (Skiff ->
# kernel). The link lost, reordered and duplicated segments, so the receiver queued some out of order and
# the sender was told of duplicates (D-SACK) and resent what was lost.
check_tcp_info_rx() {
  local s_recv s_in s_ooo k_acked k_sent
  s_recv=$(tcp_info_of "$1" bytes_received)
  s_in=$(tcp_info_of "$1" data_segs_in)
  s_ooo=$(tcp_info_of "$1" rcv_ooopack)
  k_acked=$(tcp_info_of "$2" bytes_acked)
  check "TCP_INFO: Skiff received the transfer and the kernel's FIN (bytes_received $s_recv = $SIZE_B + 1)" \
    [ "$s_recv" = $((SIZE_B + 1)) ]
  check "TCP_INFO: the kernel had the transfer, its SYN and FIN acknowledged (bytes_acked $k_acked = $SIZE_B + 2)" \
    [ "$k_acked" = $((SIZE_B + 2)) ]
  check "TCP_INFO: Skiff counted data segments ($s_in) and some out of order ($s_ooo)" \
    cond '[ "$s_in" -ge $((SIZE_B / 1448)) ] && [ "$s_ooo" -gt 0 ]'
}
check_tcp_info_tx() {
  local s_acked s_sent s_retr s_dsack s_segs k_recv
  s_acked=$(tcp_info_of "$1" bytes_acked)
  s_sent=$(tcp_info_of "$1" bytes_sent)
  s_retr=$(tcp_info_of "$1" bytes_retrans)
  s_dsack=$(tcp_info_of "$1" dsack_dups)
  s_segs=$(tcp_info_of "$1" data_segs_out)
  k_recv=$(tcp_info_of "$2" bytes_received)
  check "TCP_INFO: the kernel received the transfer and Skiff's FIN (bytes_received $k_recv = $SIZE_B + 1)" \
    [ "$k_recv" = $((SIZE_B + 1)) ]
  check "TCP_INFO: Skiff had the transfer, its SYN and FIN acknowledged (bytes_acked $s_acked = $SIZE_B + 2)" \
    [ "$s_acked" = $((SIZE_B + 2)) ]
  check "TCP_INFO: Skiff sent the transfer once plus what it resent (bytes_sent $s_sent = $SIZE_B + bytes_retrans $s_retr > 0)" \
    cond '[ -n "$s_retr" ] && [ "$s_retr" -gt 0 ] && [ "$s_sent" = $((SIZE_B + s_retr)) ]'
  check "TCP_INFO: Skiff counted its data segments ($s_segs) and the kernel's D-SACKs ($s_dsack)" \
    cond '[ "$s_segs" -ge $((SIZE_B / 1448)) ] && [ "$s_dsack" -gt 0 ]'
}

# ---- rx: kernel -> Skiff ----------------------------------------------------------------------------
if [[ $DIRS == *" rx "* ]]; then
  if [ "$BASELINE" = 1 ]; then
    linux_side_up
    start_bg "$NS_S" "$T/lin-sink.out" 400 "${LCORE_PIN[@]}" "$PY" -u "$HERE/tcp_stream.py" sink 5001
    LSINK_PID=$BG_PID
    LSINK_TPID=$BG_TPID
    wait_for_line "$T/lin-sink.out" '^listening' 10 "$LSINK_PID" || fail "Linux sink did not start"
    kstat_reset "$NS_P"
    kstat_reset "$NS_S"
    log "baseline: kernel -> Linux in Skiff's place: $SIZE through the impaired link"
    ip netns exec "$NS_P" timeout 400 "${KPIN[@]}" "$PY" -u "$HERE/tcp_stream.py" source "$SKIFF_IP" 5001 "$SIZE" \
      --seed 7 --progress "$T/lin-progress-in.txt" "${RX_CC_ARGS[@]}" >"$T/lin-source.out" 2>&1
    rc=$?
    [ "$rc" -ne 0 ] && kill -INT "$LSINK_PID" 2>/dev/null  # no FIN will come to end the sink
    wait "$LSINK_TPID"
    cat "$T/lin-source.out" "$T/lin-sink.out"
    kstat_show "$NS_P" "sender  "
    kstat_show "$NS_S" "receiver"
    impair_report
    check "baseline: kernel source exits 0" [ "$rc" -eq 0 ]
    check "baseline: SHA-256 matches" cond '[ -n "$(sha_line "$T/lin-source.out" sent)" ] &&
      [ "$(sha_line "$T/lin-source.out" sent)" = "$(sha_line "$T/lin-sink.out" received)" ]'
    log "baseline kernel -> Linux: longest time without progress: $(max_stall "$T/lin-progress-in.txt") s"
    linux_side_down
  fi
  LIN_MBPS=""
  [ "$BASELINE" = 1 ] && LIN_MBPS=$(rate_of "$T/lin-source.out" sent)
  BOUND=$(skiff_bound "$LIN_MBPS")
  start_xfer "$T/listen.log" $((BOUND + 5)) "${XFER_ARGS[@]}" --listen 5001 --count 1
  wait_for_line "$T/listen.log" '^listening on 5001' 40 "$XFER_PID" || fail "skiff-xfer --listen did not start"
  kstat_reset "$NS_P"
  log "kernel -> Skiff: $SIZE through the impaired link (at most $BOUND s; the kernel sends with ${RX_CC:-its default})"
  ip netns exec "$NS_P" timeout "$BOUND" "${KPIN[@]}" "$PY" -u "$HERE/tcp_stream.py" source "$SKIFF_IP" 5001 "$SIZE" \
    --seed 7 --progress "$T/progress-in.txt" "${RX_CC_ARGS[@]}" >"$T/source.out" 2>&1
  rc=$?
  [ "$rc" -eq 124 ] && kill -INT "$XFER_PID" 2>/dev/null
  wait_xfer
  cat "$T/source.out"
  grep -E '^(received|tcp_info) ' "$T/listen.log"
  print_xfer_stats "$T/listen.log"
  kstat_show "$NS_P" "sender  "
  impair_report
  [ "$rc" -eq 124 ] && [ -n "$LIN_MBPS" ] && [ "$GOODPUT" = 1 ] && too_slow "kernel -> Skiff" "$T/progress-in.txt" "$LIN_MBPS"
  check "kernel source exits 0" [ "$rc" -eq 0 ]
  check "skiff-xfer --listen exits 0" [ "$XFER_RC" -eq 0 ]
  read -r sent_n sent_h <<<"$(sha_line "$T/source.out" sent)"
  read -r recv_n recv_h <<<"$(sha_line "$T/listen.log" received)"
  check "Skiff received $SIZE_B bytes ($recv_n)" [ "$recv_n" = "$SIZE_B" ]
  check "SHA-256 matches (kernel sent $sent_h, Skiff got $recv_h)" cond '[ -n "$sent_h" ] && [ "$sent_h" = "$recv_h" ]'
  check_clean "$T/listen.log"
  check_tcp_info_rx "$T/listen.log" "$T/source.out"
  check_stall "$T/progress-in.txt" "kernel -> Skiff"
  log "THROUGHPUT kernel -> Skiff, loss $LOSS%: $SIZE in $(secs_of "$T/source.out" sent) s = $(rate_of "$T/source.out" sent) MB/s"
  [ "$BASELINE" = 1 ] && compare "kernel -> Skiff" "$LIN_MBPS" "$(rate_of "$T/source.out" sent)"
fi

# ---- tx: Skiff -> kernel ----------------------------------------------------------------------------
# sink LOG PROGRESS: the kernel's sink on port 5002 (kernel_sink); sink_done: its end.
sink() { kernel_sink "$1" "$2" 5002 $((MAX_SECS + 30)); }
sink_done() { kernel_sink_done; }
if [[ $DIRS == *" tx "* ]]; then
  if [ "$BASELINE" = 1 ]; then
    linux_side_up
    sink "$T/lin-sink-out.out" "$T/lin-progress-out.txt"
    kstat_reset "$NS_P"
    kstat_reset "$NS_S"
    log "baseline: Linux in Skiff's place -> kernel: $SIZE through the impaired link ($TX_CC, at most $BASELINE_SECS s)"
    ip netns exec "$NS_S" timeout "$BASELINE_SECS" "${LCORE_PIN[@]}" "$PY" -u "$HERE/tcp_stream.py" source "$PEER_IP" \
      5002 "$SIZE" --seed 9 --cc "$TX_CC" >"$T/lin-source-out.out" 2>&1
    rc=$?
    if [ "$rc" -eq 124 ]; then
      # Out of time: what the kernel's sink had by then is the baseline's goodput.
      LIN_MBPS=$(progress_mbps "$T/lin-progress-out.txt")
      log "baseline: Linux ($TX_CC) did not move $SIZE in $BASELINE_SECS s:" \
        "$(tail -n 1 "$T/lin-progress-out.txt" | awk '{ print $2 }') bytes = $LIN_MBPS MB/s"
      kill -INT "$SINK_PID" 2>/dev/null
    fi
    sink_done
    cat "$T/lin-source-out.out" "$T/lin-sink-out.out"
    kstat_show "$NS_S" "sender  "
    kstat_show "$NS_P" "receiver"
    impair_report
    if [ "$rc" -ne 124 ]; then
      LIN_MBPS=$(rate_of "$T/lin-sink-out.out" received)
      check "baseline: Linux source exits 0" [ "$rc" -eq 0 ]
      check "baseline: SHA-256 matches" cond '[ -n "$(sha_line "$T/lin-source-out.out" sent)" ] &&
        [ "$(sha_line "$T/lin-source-out.out" sent)" = "$(sha_line "$T/lin-sink-out.out" received)" ]'
    fi
    log "baseline Linux -> kernel: longest time without progress: $(max_stall "$T/lin-progress-out.txt") s"
    linux_side_down
  fi
  [ "$BASELINE" = 1 ] || LIN_MBPS=""
  BOUND=$(skiff_bound "$LIN_MBPS")
  sink "$T/sink.out" "$T/progress-out.txt"
  kstat_reset "$NS_P"
  log "Skiff -> kernel: $SIZE through the impaired link (at most $BOUND s)"
  start_xfer "$T/connect.log" "$BOUND" "${XFER_ARGS[@]}" --connect "$PEER_IP" 5002 --send "$SIZE" --seed 9
  wait_xfer
  sink_done
  cat "$T/sink.out"
  grep -E '^(sent|received|tcp_info) ' "$T/connect.log"
  print_xfer_stats "$T/connect.log"
  kstat_show "$NS_P" "receiver"
  impair_report
  # skiff-xfer stopped by its bound (SIGINT: it exits non-zero) before the kernel had it all.
  [ "$XFER_RC" -ne 0 ] && ! grep -q '^received ' "$T/sink.out" && [ -n "$LIN_MBPS" ] && [ "$GOODPUT" = 1 ] &&
    too_slow "Skiff -> kernel" "$T/progress-out.txt" "$LIN_MBPS"
  check "skiff-xfer --connect exits 0" [ "$XFER_RC" -eq 0 ]
  read -r sent_n sent_h <<<"$(sha_line "$T/connect.log" sent)"
  read -r recv_n recv_h <<<"$(sha_line "$T/sink.out" received)"
  check "kernel received $SIZE_B bytes ($recv_n)" [ "$recv_n" = "$SIZE_B" ]
  check "SHA-256 matches (Skiff sent $sent_h, kernel got $recv_h)" cond '[ -n "$recv_h" ] && [ "$sent_h" = "$recv_h" ]'
  check "skiff-xfer --connect saw the kernel's FIN (received 0)" grep -q '^received 0 ' "$T/connect.log"
  check_clean "$T/connect.log"
  check "Skiff retransmitted (the link lost its segments): tcp_retrans_segs $(ctr "$T/ctr.txt" tcp_retrans_segs) > 0" \
    [ "$(ctr "$T/ctr.txt" tcp_retrans_segs)" -gt 0 ]
  check_tcp_info_tx "$T/connect.log" "$T/sink.out"
  check_stall "$T/progress-out.txt" "Skiff -> kernel"
  log "THROUGHPUT Skiff -> kernel, loss $LOSS%: $SIZE in $(secs_of "$T/sink.out" received) s = $(rate_of "$T/sink.out" received) MB/s"
  [ "$BASELINE" = 1 ] && compare "Skiff -> kernel ($TX_CC both)" "$LIN_MBPS" "$(rate_of "$T/sink.out" received)"
fi
pass
