# Helpers shared by the over-the-wire attack tests (attack_*.sh), sourced after lib.sh and itest_init:
#
#   attack_init                 root, netns, a python3 with scapy, taskset; ATK_PY, HERE, KPIN
#   attack_topology TAG NET     netns $NS_S (skiff-echo's port, net_af_packet) and $NS_P (the kernel, the
#                               attacker), one veth; Skiff NET.2, kernel NET.1 (also Skiff's gateway, so
#                               addresses off the subnet are "behind" the kernel and their frames go to it)
#   attack_start_echo CONF      skiff-echo on lcore 0 with config file CONF; SKIFF_MAC, PEER_MAC, BASE
#   kpy BOUND ARGS...           the attack python (pinned off Skiff's lcore) in the kernel's netns
#   legit_xfer TAG BYTES        a kernel socket echo transfer through skiff-echo; checks SHA-256 both ways
#   mem_back_to_base WHAT       waits (10 s at most) until sockets, connections and buffers are at the baseline
#
# Memory is read from skiff-echo's counters (SIGUSR1): pool_in_use (packet buffers), tcp_socks_in_use,
# tcp_conns, neigh_entries, neigh_queued, reass_datagrams.

attack_init() {
  require_root
  require_netns
  ATK_PY=$(find_python_scapy) || skip "no python3 with scapy (apt-get install python3-scapy)"
  HERE=$(cd "$(dirname "$0")" && pwd)
  command -v ethtool >/dev/null || skip "ethtool not found"
  KPIN=()
  if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    KPIN=(taskset -c "1-$(($(nproc) - 1))")
  fi
}

attack_topology() {
  kernel_peer_topology "$@"
  # The kernel must not forward what Skiff sends to addresses behind it (the spoofed sources).
  ip netns exec "$NS_P" sysctl -qw net.ipv4.ip_forward=0 >/dev/null 2>&1 || true
  PEER_MAC=$(ip -n "$NS_P" -br link show "$IF_P" | awk '{ print $3 }')
}

# attack_start_echo CONF: skiff-echo (TCP/UDP echo on port 7) with the kernel as its gateway.
attack_start_echo() {
  eal_args 0 echo "$VDEV"
  start_echo "$NS_S" "$ITEST_TMP/echo.log" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24" --gw "$PEER_IP" --config "$1"
  SKIFF_MAC=$(skiff_mac "$ECHO_LOG")
  [ -n "$SKIFF_MAC" ] || fail "could not read skiff-echo's MAC from its output"
  # Both sides learn each other (and Skiff's gateway entry exists before any spoofed traffic).
  ip netns exec "$NS_P" timeout 20 ping -n -c 3 -i 0.1 -W 2 "$SKIFF_IP" >"$ITEST_TMP/ping-warm.out" 2>&1 ||
    { cat "$ITEST_TMP/ping-warm.out"; fail "warm-up ping failed"; }
  sleep 0.2
  snapshot "$ITEST_TMP/base.txt"
  BASE=$ITEST_TMP/base.txt
  log "baseline: $(mem_line "$BASE")"
}

# mem_line FILE: the memory counters on one line.
mem_line() {
  local k s=""
  for k in pool_in_use tcp_socks_in_use tcp_conns neigh_entries neigh_queued reass_datagrams; do
    s="$s $k=$(ctr "$1" "$k")"
  done
  echo "${s# }"
}

kpy() {
  local bound=$1
  shift
  ip netns exec "$NS_P" timeout -k 5 "$bound" "${KPIN[@]}" env PYTHONPATH="$HERE" "$ATK_PY" "$@"
}

# legit_xfer TAG BYTES: kernel socket -> skiff-echo -> kernel socket, BYTES each way, SHA-256 compared.
legit_xfer() {
  local tag=$1 bytes=$2 rc
  kpy 60 "$HERE/attack_lib.py" xfer "$SKIFF_IP" 7 "$bytes" >"$ITEST_TMP/xfer-$tag.out" 2>&1
  rc=$?
  check "legitimate transfer after $tag: $(tail -n 1 "$ITEST_TMP/xfer-$tag.out" | cut -c1-60)..." \
    cond "[ $rc -eq 0 ] && grep -q 'match=yes' '$ITEST_TMP/xfer-$tag.out'"
  log "  $(grep -o 'sent=[0-9]* received=[0-9]*.*secs=[0-9.]*' "$ITEST_TMP/xfer-$tag.out" | sed 's/sha_[a-z]*=[0-9a-f]*//g')"
}

# mem_back_to_base WHAT [SECONDS]: sockets, connections, buffers, reassembly and ARP queue back at the baseline
# (neighbour entries may only be compared where the test knows what they should be).
mem_back_to_base() {
  local what=$1 t=${2:-10} f=$ITEST_TMP/mem.txt k ok
  for _ in $(seq 1 $((t * 4))); do
    snapshot "$f"
    ok=1
    for k in pool_in_use tcp_socks_in_use tcp_conns neigh_queued reass_datagrams; do
      [ "$(ctr "$f" "$k")" -eq "$(ctr "$BASE" "$k")" ] || ok=0
    done
    [ "$ok" -eq 1 ] && break
    sleep 0.25
  done
  check "memory back to baseline after $what: $(mem_line "$f")" [ "$ok" -eq 1 ]
}

cond() { eval "$1"; }

# dsum A B NAME...: the sum over NAMEs of counter(B) - counter(A).
dsum() {
  local a=$1 b=$2 n s=0
  shift 2
  for n in "$@"; do s=$((s + $(ctr "$b" "$n") - $(ctr "$a" "$n"))); done
  echo "$s"
}
