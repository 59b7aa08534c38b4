# Helpers shared by the TCP integration tests (tcp_kernel.sh, tcp_churn.sh, tcp_netem.sh, tcp_pmtu.sh,
# tcp_ecn.sh), sourced after lib.sh and itest_init:
#
#   tcp_init "$@"              # SKIFF_XFER (4th argument), root, netns, python3, socat; KPIN
#   tcp_topology TAG NET       # netns $NS_S (Skiff) and $NS_P (kernel), veth, addresses NET.2 / NET.1, VDEV
#   router_topology TAG S P    # the same with a forwarding Linux router ($NS_R) between them
#   start_hash_reply_server P  # kernel server: hashes what arrives, answers with $BIG bytes
#   xfer_roundtrip N PORT ARGS # skiff-xfer --connect through the router to it, both ways SHA-256 checked
#   start_xfer LOG BOUND ARGS  # skiff-xfer in $NS_S on lcore 0 (counters printed at exit)
#   kside BOUND SCRIPT         # runs a bash script in the kernel's netns, pinned off Skiff's lcore
#   check_same_bytes S R N WHO # the bytes of a "sent" line and a "received" line match (count, SHA-256)
#
# Skiff busy-polls lcore 0; the kernel-side tools run pinned to another CPU (KPIN) so the two never share
# one on this 2-core machine.

tcp_init() {
  SKIFF_XFER=${4:-}
  [ -n "$SKIFF_XFER" ] && [ -x "$SKIFF_XFER" ] ||
    fail "usage: $0 SKIFF_ECHO SKIFF_PING SKIFF_UDPCHECK SKIFF_XFER (skiff-xfer not executable: '$SKIFF_XFER')"
  require_root
  require_netns
  PY=$(command -v python3 || echo /usr/bin/python3)
  [ -x "$PY" ] || skip "python3 not found"
  HERE=$(cd "$(dirname "$0")" && pwd)
  command -v ethtool >/dev/null || skip "ethtool not found"
  KPIN=()
  if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    KPIN=(taskset -c "1-$(($(nproc) - 1))")
  fi
  XFER_RUNS=0
}

tcp_topology() { kernel_peer_topology "$@"; }

# start_xfer LOG BOUND_S ARGS...: skiff-xfer (--ip $SKIFF_IP/24 ARGS) in $NS_S in the background; sets
# XFER_PID, XFER_TPID. SKIFF_PRINT_COUNTERS=1 makes it print its counters at exit.
start_xfer() {
  local logf=$1 bound=$2
  shift 2
  XFER_RUNS=$((XFER_RUNS + 1))
  eal_args 0 "xfer$XFER_RUNS" "$VDEV" ${XFER_EXTRA_VDEV:+"$XFER_EXTRA_VDEV"}
  log "starting skiff-xfer: $*"
  start_bg "$NS_S" "$logf" "$bound" env SKIFF_PRINT_COUNTERS=1 "$SKIFF_XFER" "${EAL_ARGS[@]}" -- \
    --ip "$SKIFF_IP/24" "$@"
  [ -n "$BG_PID" ] || fail "skiff-xfer exited at once: $(tail -n 5 "$logf")"
  XFER_PID=$BG_PID
  XFER_TPID=$BG_TPID
}

# wait_xfer: waits for skiff-xfer (bounded by its timeout); sets XFER_RC.
wait_xfer() {
  wait "$XFER_TPID"
  XFER_RC=$?
}

# kside BOUND_S SCRIPT_FILE [ARGS...]: bash SCRIPT_FILE in the kernel's netns, pinned off lcore 0, bounded.
kside() {
  local bound=$1
  shift
  ip netns exec "$NS_P" timeout -k 5 "$bound" "${KPIN[@]}" bash "$@"
}

# kgen BYTES: writes BYTES (K/M/G suffixes as head -c takes them) of pseudo-random data to stdout: AES-CTR
# keystream when openssl is there (fast), else /dev/urandom. (A function for kside scripts: `declare -f kgen`.)
kgen() {
  if command -v openssl >/dev/null; then
    openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f -iv 0 -in /dev/zero 2>/dev/null |
      head -c "$1"
  else
    head -c "$1" /dev/urandom
  fi
}

# sha_line FILE WORD: "BYTES HEX" from the last line "WORD BYTES sha256=HEX" in FILE (WORD: sent|received).
sha_line() {
  sed -n "s/^$2 \([0-9][0-9]*\) sha256=\([0-9a-f]\{64\}\).*/\1 \2/p" "$1" | tail -n 1
}

# check_same_bytes SENT_LOG RECV_LOG BYTES WHO: checks that SENT_LOG's last "sent" line counts BYTES and that
# RECV_LOG's last "received" line has the same count and SHA-256 (WHO names the receiver in the message).
check_same_bytes() {
  local sent_n sent_h recv_n recv_h
  read -r sent_n sent_h <<<"$(sha_line "$1" sent)"
  read -r recv_n recv_h <<<"$(sha_line "$2" received)"
  log "sent $sent_n $sent_h; $4 received $recv_n $recv_h"
  check "$3 bytes sent" [ "${sent_n:-0}" -eq "$3" ]
  check "$4 received the same bytes (SHA-256)" [ "${recv_n:-0}/${recv_h:-x}" = "$sent_n/$sent_h" ]
}

# bytes_of SIZE: SIZE with K/M/G suffixes (powers of 1024) in bytes.
bytes_of() {
  local s=$1
  case $s in
    *[kK]) echo $((${s%?} << 10)) ;;
    *[mM]) echo $((${s%?} << 20)) ;;
    *[gG]) echo $((${s%?} << 30)) ;;
    *) echo "$s" ;;
  esac
}

# mbps BYTES SECONDS: throughput in MB/s (10^6 bytes).
mbps() { awk -v b="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.1f", b / t / 1e6; else print "inf" }'; }

# now_s: seconds since the epoch, with nanoseconds.
now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# kernel_sink LOG PROGRESS PORT BOUND_S: tcp_stream.py's sink in the kernel's netns ($NS_P) on PORT, logging
# its progress to PROGRESS, at most BOUND_S seconds; waits until it listens. Sets SINK_PID, SINK_TPID.
kernel_sink() {
  start_bg "$NS_P" "$1" "$4" "${KPIN[@]}" "$PY" -u "$HERE/tcp_stream.py" sink "$3" --progress "$2"
  SINK_PID=$BG_PID
  SINK_TPID=$BG_TPID
  wait_for_line "$1" '^listening' 10 "$SINK_PID" || fail "kernel sink did not start"
}
# kernel_sink_done: waits (10 s at most) for kernel_sink's sink to finish on its own, then stops it.
kernel_sink_done() {
  local _i
  for _i in $(seq 1 100); do
    kill -0 "$SINK_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -INT "$SINK_PID" 2>/dev/null
  wait "$SINK_TPID"
}

# max_stall PROGRESS_FILE: the longest time (s) the logged byte count ("SECONDS BYTES" lines) stood still,
# including from the last increase to the last sample (the end of the connection).
max_stall() {
  awk 'NR == 1 { lt = $1; lv = $2; m = 0; next }
       { last = $1; if ($2 > lv) { if ($1 - lt > m) m = $1 - lt; lt = $1; lv = $2 } }
       END { if (NR > 1 && last - lt > m) m = last - lt; printf "%.2f", m }' "$1"
}

# print_xfer_stats LOG: the TCP counters (and TCP_INFO) skiff-xfer printed at exit, for the log.
print_xfer_stats() {
  grep -E '^tcp_info |\.(tcp_[a-z_]+|drop\.[A-Za-z0-9]+|pool_in_use|rx_packets|tx_packets) ' "$1" | sed 's/^/    /'
}

# tcp_info_of LOG FIELD: FIELD's value on LOG's last "tcp_info" line (skiff-xfer's, or tcp_stream.py's for the
# kernel's end of the connection).
tcp_info_of() { grep '^tcp_info ' "$1" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=\([0-9]*\).*/\1/p"; }

# cond SHELL-CONDITION: evaluates a compound condition (for check: check "what" cond '[ a ] && [ b ]').
cond() { eval "$1"; }

# tcp_capture: with SKIFF_ITEST_PCAP=DIR set, records the headers of every TCP/ARP frame on the kernel's end
# of the link to DIR/<test>-<pid>.pcap (for debugging; the file is kept).
tcp_capture() {
  [ -n "${SKIFF_ITEST_PCAP:-}" ] || return 0
  command -v tcpdump >/dev/null || { log "SKIFF_ITEST_PCAP set but tcpdump not found"; return 0; }
  mkdir -p "$SKIFF_ITEST_PCAP"
  local f=$SKIFF_ITEST_PCAP/$ITEST_NAME-$$.pcap
  # SKIFF_ITEST_PCAP_SIDE=skiff: on Skiff's end of the veth instead (the order its af_packet socket sees;
  # what Skiff sends is missing there when its PMD bypasses the qdisc, as packet taps then see nothing).
  # SKIFF_ITEST_PCAP_SIDE=bridge (tcp_netem's userspace impairment only): on both of the bridge's ends,
  # Skiff's (this file) and the kernel's (<test>-<pid>-kernel.pcap): every frame either side sent, and what
  # the impairment let through.
  local ns=$NS_P ifc=$IF_P
  [ "${SKIFF_ITEST_PCAP_SIDE:-}" = skiff ] && ns=$NS_S ifc=$IF_S
  if [ "${SKIFF_ITEST_PCAP_SIDE:-}" = bridge ] && [ -n "${NS_M:-}" ]; then
    ns=$NS_M ifc=$IF_MS
    start_bg "$NS_M" "$ITEST_TMP/tcpdump-kernel.txt" 600 tcpdump -i "$IF_MP" -nn -s 96 -B 65536 \
      -w "$SKIFF_ITEST_PCAP/$ITEST_NAME-$$-kernel.pcap"
  fi
  start_bg "$ns" "$ITEST_TMP/tcpdump.txt" 600 tcpdump -i "$ifc" -nn -s 96 -B 65536 -w "$f"
  log "capturing headers on $ifc to $f"
  sleep 0.5
}

# router_topology TAG NET_S NET_P [ROUTE_ARGS...]: Skiff's netns ($NS_S) -- a forwarding Linux router ($NS_R)
# -- the kernel peer ($NS_P). Skiff takes $SKIFF_IP = NET_S.2 behind the gateway $GW_IP = NET_S.1 on $VDEV;
# the router's far side is $RP_IP = NET_P.1, the peer $PEER_IP = NET_P.2, which routes NET_S back through
# the router (ROUTE_ARGS: more words for that route, e.g. "advmss 1460"). TX checksum offload is off on
# every kernel interface that leads to Skiff (see kernel_peer_topology).
router_topology() {
  local tag=$1 ns=$2 np=$3
  shift 3
  NS_S="skiff-$tag-$$-s" NS_R="skiff-$tag-$$-r" NS_P="skiff-$tag-$$-p"
  IF_S="sk$tag$$s" IF_RS="sk$tag$$rs" IF_RP="sk$tag$$rp" IF_P="sk$tag$$p"
  SKIFF_IP=$ns.2 GW_IP=$ns.1 RP_IP=$np.1 PEER_IP=$np.2
  make_netns "$NS_S"
  make_netns "$NS_R"
  make_netns "$NS_P"
  make_veth "$NS_S" "$IF_S" "$NS_R" "$IF_RS"
  make_veth "$NS_R" "$IF_RP" "$NS_P" "$IF_P"
  ip -n "$NS_R" addr add "$GW_IP/24" dev "$IF_RS" || fail "address on $IF_RS"
  ip -n "$NS_R" addr add "$RP_IP/24" dev "$IF_RP" || fail "address on $IF_RP"
  ip -n "$NS_P" addr add "$PEER_IP/24" dev "$IF_P" || fail "address on $IF_P"
  ip -n "$NS_P" route add "$ns.0/24" via "$RP_IP" "$@" || fail "route back in the peer"
  ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1 || fail "forwarding in the router"
  local x n i
  for x in "$NS_R $IF_RS" "$NS_R $IF_RP" "$NS_P $IF_P"; do
    read -r n i <<<"$x"
    ip netns exec "$n" ethtool -K "$i" tx off >/dev/null 2>&1 || fail "ethtool -K $i tx off"
  done
  VDEV="--vdev=net_af_packet0,iface=$IF_S,blocksz=16384,framesz=16384,framecnt=512"
}

# start_hash_reply_server PORT: a socat server in $NS_P for BIG-byte round trips (BIG, T set): each connection
# hashes what arrives until the client's FIN ($T/sink.n, $T/sink.sha), then answers with BIG bytes of its
# own ($T/reply.sha) and closes.
start_hash_reply_server() {
  local port=$1
  cat >"$T/server.sh" <<EOS
$(declare -f kgen)
tee >(wc -c >"$T/sink.n") | sha256sum >"$T/sink.sha"
kgen $BIG | tee >(sha256sum >"$T/reply.sha")
for _ in \$(seq 1 100); do [ -s "$T/sink.n" ] && [ -s "$T/reply.sha" ] && break; sleep 0.1; done
EOS
  start_bg "$NS_P" "$T/socat-server.log" 300 "${KPIN[@]}" socat -t 60 "TCP-LISTEN:$port,reuseaddr,fork" "SYSTEM:bash $T/server.sh"
  local _i
  for _i in $(seq 1 100); do
    ip netns exec "$NS_P" ss -Hltn "sport = :$port" | grep -q . && break
    sleep 0.05
  done
}

# xfer_roundtrip N PORT [STACK_ARGS...]: skiff-xfer --connect $PEER_IP PORT via $GW_IP (log $T/connectN.log):
# BIG bytes there, BIG bytes back from start_hash_reply_server's server; checks that it exits 0 and the count
# and SHA-256 both ways; Skiff's counters go to $T/ctrN.txt.
xfer_roundtrip() {
  local n=$1 port=$2
  shift 2
  rm -f "$T/sink.n" "$T/sink.sha" "$T/reply.sha"
  log "connection $n: skiff-xfer --connect $PEER_IP $port via $GW_IP $*: $BIG there, $BIG back"
  start_xfer "$T/connect$n.log" 120 "$@" --gw "$GW_IP" --connect "$PEER_IP" "$port" --send "$BIG"
  wait_xfer
  local _i
  for _i in $(seq 1 100); do [ -s "$T/sink.sha" ] && [ -s "$T/reply.sha" ] && break; sleep 0.1; done
  grep -E '^(sent|received|tcp_info) ' "$T/connect$n.log"
  print_xfer_stats "$T/connect$n.log"
  check "connection $n: skiff-xfer --connect exits 0" [ "$XFER_RC" -eq 0 ]
  local sent_n sent_h back_n back_h
  read -r sent_n sent_h <<<"$(sha_line "$T/connect$n.log" sent)"
  check "connection $n: the kernel received $BIG_B bytes ($(cat "$T/sink.n" 2>/dev/null))" [ "$(cat "$T/sink.n" 2>/dev/null)" = "$BIG_B" ]
  check "connection $n: SHA-256 matches Skiff -> kernel" cond '[ -n "$sent_h" ] && [ "$sent_h" = "$(awk "{print \$1}" "$T/sink.sha")" ]'
  read -r back_n back_h <<<"$(sha_line "$T/connect$n.log" received)"
  check "connection $n: Skiff received $BIG_B bytes back ($back_n)" [ "$back_n" = "$BIG_B" ]
  check "connection $n: SHA-256 matches kernel -> Skiff" cond '[ -n "$back_h" ] && [ "$back_h" = "$(awk "{print \$1}" "$T/reply.sha")" ]'
  grep -E '^[a-z0-9_-]+\.shard[0-9]+\.' "$T/connect$n.log" >"$T/ctr$n.txt"
}
