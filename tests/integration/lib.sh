# Shared helpers for Skiff's integration tests. Each test does:
#
#   . "$(dirname "$0")/lib.sh"
#   itest_init "$@"          # SKIFF_ECHO, SKIFF_PING from the arguments meson passes; trap cleanup EXIT
#   require_root; require_netns
#
# Exit codes: 0 pass, 1 fail, 77 skip (meson's code). Everything a test creates (network namespaces, links,
# background processes, sockets, files, DPDK runtime directories) is registered here and removed on exit,
# whatever the outcome. Names carry the test shell's PID ($$) so parallel or leftover runs never collide.

set -u

ITEST_NAME=$(basename "$0" .sh)
ITEST_T0=$(date +%s.%N)
ITEST_TMP=""
ITEST_NETNS=()
ITEST_PIDS=()
ITEST_FILES=()
ITEST_RUNDIRS=()

log() { printf '[%s %s] %s\n' "$ITEST_NAME" "$(date +%T.%3N)" "$*"; }
fail() {
  printf '[%s] FAIL: %s\n' "$ITEST_NAME" "$*" >&2
  exit 1
}
skip() {
  printf '[%s] SKIP: %s\n' "$ITEST_NAME" "$*"
  exit 77
}
pass() {
  log "PASS ($(awk -v a="$ITEST_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"
  exit 0
}
check() {  # check DESCRIPTION CONDITION-COMMAND...: logs and fails unless the command succeeds
  local what=$1
  shift
  if "$@"; then
    log "ok: $what"
  else
    fail "$what"
  fi
}

itest_init() {
  SKIFF_ECHO=${1:-}
  SKIFF_PING=${2:-}
  [ -n "$SKIFF_ECHO" ] && [ -x "$SKIFF_ECHO" ] ||
    fail "usage: $0 SKIFF_ECHO SKIFF_PING (skiff-echo not executable: '$SKIFF_ECHO')"
  [ -n "$SKIFF_PING" ] && [ -x "$SKIFF_PING" ] ||
    fail "usage: $0 SKIFF_ECHO SKIFF_PING (skiff-ping not executable: '$SKIFF_PING')"
  ITEST_TMP=$(mktemp -d "/tmp/skiff-itest-$ITEST_NAME-$$.XXXXXX") || fail "mktemp"
  trap itest_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  log "skiff-echo: $SKIFF_ECHO; skiff-ping: $SKIFF_PING; scratch: $ITEST_TMP"
}

itest_cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  local p live=()
  # Background processes: only our own children still running (bash has not reaped them, so the PIDs are
  # theirs), each a `timeout` that passes SIGINT on to its command (how the apps stop) and SIGKILLs it
  # 10 s later.
  for p in "${ITEST_PIDS[@]}"; do
    jobs -pr | grep -qx "$p" && live+=("$p")
  done
  for p in "${live[@]}"; do
    kill -INT "$p" 2>/dev/null
  done
  for p in "${live[@]}"; do
    for _ in $(seq 1 150); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$p" 2>/dev/null; then
      log "cleanup: PID $p still running 15 s after SIGINT; killing it"
      kill -KILL "$p" 2>/dev/null
    fi
    wait "$p" 2>/dev/null
  done
  for p in "${ITEST_NETNS[@]}"; do
    ip netns del "$p" 2>/dev/null
  done
  for p in "${ITEST_FILES[@]}"; do
    rm -f -- "$p"
  done
  local rundir=/var/run/dpdk
  [ "$(id -u)" -eq 0 ] || rundir="${XDG_RUNTIME_DIR:-/tmp}/dpdk"  # where EAL puts it for other users
  for p in "${ITEST_RUNDIRS[@]}"; do
    rm -rf -- "${rundir:?}/$p" "/dev/hugepages/$p"map_* 2>/dev/null
  done
  if [ -n "$ITEST_TMP" ] && [ -d "$ITEST_TMP" ]; then
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
      # Show what the apps said: the most useful thing when a test fails.
      for p in "$ITEST_TMP"/*.log; do
        [ -f "$p" ] || continue
        echo "----- $(basename "$p") (last 60 lines) -----" >&2
        tail -n 60 "$p" >&2
      done
    fi
    rm -rf -- "$ITEST_TMP"
  fi
  exit "$rc"
}

register_pid() { ITEST_PIDS+=("$1"); }  # a direct child (background job) of this shell
register_file() { ITEST_FILES+=("$1"); }

require_root() {
  [ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, raw sockets, DPDK)"
}

# Network namespaces: creating one is the capability check.
require_netns() {
  command -v ip >/dev/null || skip "iproute2 'ip' not found"
  local probe="skiff-probe-$$"
  ip netns add "$probe" 2>/dev/null || skip "cannot create a network namespace ('ip netns add' failed)"
  ip netns del "$probe"
}

# make_netns NAME: a fresh namespace with lo up and IPv6 off (no router solicitations or DAD noise on
# the links under test). Removed on exit; deleting it also removes the links inside.
make_netns() {
  ip netns add "$1" || fail "ip netns add $1"
  ITEST_NETNS+=("$1")
  ip -n "$1" link set lo up
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
    >/dev/null 2>&1 || true
}

# make_veth NS_A IF_A NS_B IF_B: a veth pair between two namespaces, both ends up, no addresses.
make_veth() {
  ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || fail "ip link add veth $2/$4"
  ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" >/dev/null 2>&1 || true
  ip netns exec "$3" sysctl -qw "net.ipv6.conf.$4.disable_ipv6=1" >/dev/null 2>&1 || true
  ip -n "$1" link set "$2" up || fail "link $2 up"
  ip -n "$3" link set "$4" up || fail "link $4 up"
}

# Hugepages when enough are free and hugetlbfs is mounted at /dev/hugepages; otherwise plain memory.
# SKIFF_ITEST_HUGE=0 forces plain memory (to exercise that path on a machine with hugepages).
hugepages_ok() {
  [ "${SKIFF_ITEST_HUGE:-1}" = 0 ] && return 1
  local free
  free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo 2>/dev/null)
  [ -n "$free" ] && [ "$free" -ge 256 ] && awk '$2 == "/dev/hugepages" && $3 == "hugetlbfs" { f = 1 } END { exit !f }' /proc/mounts
}

# eal_args LCORE TAG [extra EAL args...]: sets the array EAL_ARGS for one DPDK process on lcore LCORE,
# with a unique file prefix (TAG and our PID; also left in EAL_PREFIX). Its runtime directory is removed on exit.
eal_args() {
  local lcore=$1 prefix="skiff-$ITEST_NAME-$2-$$"
  shift 2
  EAL_PREFIX=$prefix
  EAL_ARGS=(-l "$lcore" --no-pci --no-telemetry --log-level=lib.eal:error "--file-prefix=$prefix")
  if hugepages_ok; then
    # Unlinked files cannot leak hugepages if we are killed; EAL refuses that with --single-file-segments
    # (vhost/virtio_user), where cleanup removes the files by prefix instead.
    case " $* " in
      *" --single-file-segments "*) ;;
      *) EAL_ARGS+=(--huge-unlink) ;;
    esac
  else
    EAL_ARGS+=(--no-huge -m 512)
  fi
  EAL_ARGS+=("$@")
  ITEST_RUNDIRS+=("$prefix")
}

# start_bg NETNS LOG BOUND_S CMD...: runs CMD in the background (inside NETNS unless it is "-"), stdout and
# stderr to LOG, bounded by `timeout` (SIGINT at BOUND_S, SIGKILL 10 s later). Sets BG_TPID (the timeout
# process: our child, to wait on; cleanup stops it) and BG_PID (the command itself, its child, for signals;
# empty if it was already gone).
start_bg() {
  local ns=$1 logf=$2 bound=$3
  shift 3
  if [ "$ns" = "-" ]; then
    timeout -s INT -k 10 "$bound" "$@" >"$logf" 2>&1 &
  else
    ip netns exec "$ns" timeout -s INT -k 10 "$bound" "$@" >"$logf" 2>&1 &
  fi
  BG_TPID=$!
  register_pid "$BG_TPID"
  BG_PID=""
  for _ in $(seq 1 100); do
    BG_PID=$(pgrep -P "$BG_TPID" | head -n 1)
    [ -n "$BG_PID" ] && break
    kill -0 "$BG_TPID" 2>/dev/null || break
    sleep 0.05
  done
}

# start_echo NETNS LOG ARGS...: skiff-echo in the background (ARGS: EAL args -- app args). Sets ECHO_PID,
# ECHO_TPID, ECHO_LOG and waits until it says it is answering (or fails).
start_echo() {
  local ns=$1
  ECHO_LOG=$2
  shift 2
  if [ "$ns" = "-" ]; then log "starting skiff-echo: $*"; else log "starting skiff-echo in netns $ns: $*"; fi
  start_bg "$ns" "$ECHO_LOG" 280 "$SKIFF_ECHO" "$@"
  [ -n "$BG_PID" ] || fail "skiff-echo exited at once"
  ECHO_PID=$BG_PID
  ECHO_TPID=$BG_TPID
  wait_for_line "$ECHO_LOG" 'skiff-echo: answering ARP and ping' 40 "$ECHO_PID" ||
    fail "skiff-echo did not become ready"
  log "skiff-echo ready (PID $ECHO_PID): $(grep -m1 '^skiff-echo: port 0' "$ECHO_LOG")"
}

# wait_for_line FILE REGEX TIMEOUT_S [PID]: true once FILE has a line matching REGEX; false on timeout or
# when PID has exited.
wait_for_line() {
  local f=$1 re=$2 t=$3 pid=${4:-}
  for _ in $(seq 1 $((t * 20))); do
    grep -q -- "$re" "$f" 2>/dev/null && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      grep -q -- "$re" "$f" 2>/dev/null && return 0
      log "process $pid exited while waiting for '$re'"
      return 1
    fi
    sleep 0.05
  done
  log "timed out after ${t}s waiting for '$re' in $f"
  return 1
}

# echo_alive: skiff-echo still running (and that PID is still it: the child of our timeout process).
echo_alive() {
  kill -0 "$ECHO_PID" 2>/dev/null && [ "$(awk '{ print $4 }' "/proc/$ECHO_PID/stat" 2>/dev/null)" = "$ECHO_TPID" ]
}

# snapshot OUT: SIGUSR1 to skiff-echo, waits for the dump to complete, writes the dump's counter lines to OUT.
snapshot() {
  local out=$1 before n
  before=$(grep -c '^skiff-echo: end of counters' "$ECHO_LOG")
  echo_alive || fail "skiff-echo (PID $ECHO_PID) is not running"
  kill -USR1 "$ECHO_PID" || fail "SIGUSR1 to skiff-echo (PID $ECHO_PID): not running"
  for _ in $(seq 1 200); do
    n=$(grep -c '^skiff-echo: end of counters' "$ECHO_LOG")
    [ "$n" -gt "$before" ] && break
    sleep 0.05
  done
  [ "$n" -gt "$before" ] || fail "skiff-echo did not print its counters within 10 s of SIGUSR1"
  # The last complete block between "counters:" and "end of counters".
  awk '/^skiff-echo: counters:$/ { buf = ""; inb = 1; next }
       /^skiff-echo: end of counters$/ { last = buf; inb = 0; next }
       inb { buf = buf $0 "\n" }
       END { printf "%s", last }' "$ECHO_LOG" >"$out"
}

# stop_echo OUT: SIGINT; waits (10 s at most) for exit 0; writes the final counter lines to OUT.
stop_echo() {
  local out=$1 rc
  echo_alive || fail "skiff-echo (PID $ECHO_PID) was not running at the end"
  kill -INT "$ECHO_PID" 2>/dev/null || fail "skiff-echo (PID $ECHO_PID) was not running at the end"
  for _ in $(seq 1 200); do
    kill -0 "$ECHO_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$ECHO_PID" 2>/dev/null && fail "skiff-echo did not exit within 10 s of SIGINT"
  wait "$ECHO_TPID"
  rc=$?
  [ "$rc" -eq 0 ] || fail "skiff-echo exited with status $rc after SIGINT (expected 0)"
  # "skiff-echo: stopping; counters:" (possibly with a summary between "stopping;" and "counters:").
  grep -q '^skiff-echo: stopping;.*counters:$' "$ECHO_LOG" || fail "skiff-echo did not print its final counters"
  sed -n '/^skiff-echo: stopping;.*counters:$/,$p' "$ECHO_LOG" | tail -n +2 >"$out"
  log "skiff-echo stopped cleanly (exit 0)"
}

# ctr FILE NAME: value of counter NAME (a stats name such as icmp_out_echo_reps, or drop.Ipv4BadChecksum,
# or pool_in_use) summed over shards; 0 when absent (only non-zero counters are printed).
ctr() {
  awk -v n="$2" '{ k = $1; sub(/^[^.]*\.shard[0-9]+\./, "", k); if (k == n) s += $2 } END { printf "%.0f\n", s }' "$1"
}
# drop FILE REASON: value of drop counter REASON (a name from lib/core/drop.hh).
drop() { ctr "$1" "drop.$2"; }
# port_ctr FILE NAME: a device counter (rte_eth_stats: rx_packets, rx_missed, rx_errors, rx_nombuf,
# tx_packets, tx_errors) summed over the ports in a counter dump; -1 when the dump has none (no device counters).
port_ctr() {
  awk -v n="$2" '{ k = $1; if (sub(/^[^.]*\.port[0-9]+\./, "", k) && k == n) { s += $2; f = 1 } }
    END { if (f) printf "%.0f\n", s; else print -1 }' "$1"
}

# skiff_mac LOG: the MAC skiff-echo printed for port 0.
skiff_mac() {
  sed -n 's/^skiff-echo: port 0 .* mac \([0-9a-f:]\{17\}\) .*/\1/p' "$1" | head -n 1
}

# find_python_scapy: a python3 that can import scapy (the system one may differ from the one on PATH).
find_python_scapy() {
  local c
  for c in "$(command -v python3 2>/dev/null)" /usr/bin/python3 /usr/local/bin/python3; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    if "$c" -c 'import scapy.all' >/dev/null 2>&1; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

# ping_zero_loss LOG: ping(8) (or skiff-ping) output says 0% loss.
ping_zero_loss() { grep -Eq ' 0% packet loss' "$1"; }

# kernel_peer_topology TAG NET: Skiff's netns ($NS_S, veth $IF_S) and the kernel peer's ($NS_P, veth $IF_P,
# address $PEER_IP = NET.1), joined by a veth pair; Skiff takes $SKIFF_IP = NET.2 on $VDEV (net_af_packet with
# frames large enough for what the kernel defragments). The peer's TX checksum offload is off: on a veth the
# kernel leaves TCP/UDP checksums for "hardware" to finish, and af_packet would hand them on unfinished.
kernel_peer_topology() {
  local tag=$1 net=$2
  NS_S="skiff-$tag-$$-s"
  NS_P="skiff-$tag-$$-p"
  IF_S="sk$tag$$s"
  IF_P="sk$tag$$p"
  SKIFF_IP=$net.2
  PEER_IP=$net.1
  make_netns "$NS_S"
  make_netns "$NS_P"
  make_veth "$NS_S" "$IF_S" "$NS_P" "$IF_P"
  ip -n "$NS_P" addr add "$PEER_IP/24" dev "$IF_P" || fail "address on $IF_P"
  ip netns exec "$NS_P" ethtool -K "$IF_P" tx off >/dev/null 2>&1 || fail "ethtool -K $IF_P tx off"
  VDEV="--vdev=net_af_packet0,iface=$IF_S,blocksz=16384,framesz=16384,framecnt=512"
}

# keep_flow_order NS IF: RPS on IF's receive queue, so that the segments of one flow stay in order on their
# way to Skiff. A veth hands each frame to the backlog of the CPU that sent it; without RPS, a segment the
# kernel sends from softirq on one CPU (an ACK) and the next one its application sends from another (a RST
# after close with SO_LINGER 0) sit in two backlogs and may reach Skiff in the wrong order (a capture on
# Skiff's end of the veth showed 5-9 such ACK-after-RST pairs per 100,000 connections; Skiff then rightly
# answers the late ACK with a RST). RPS picks the backlog by flow hash, as a NIC keeps a flow on one queue.
# Returns non-zero (and says so) where the kernel has no RPS.
keep_flow_order() {
  local n mask f=/sys/class/net/$2/queues/rx-0/rps_cpus
  n=$(nproc)
  [ "$n" -gt 32 ] && n=32
  mask=$(printf '%x' $(((1 << n) - 1)))
  if ! ip netns exec "$1" sh -c "[ -w $f ] && echo $mask > $f" 2>/dev/null; then
    log "note: no RPS on $2 (no $f): the kernel may reorder a flow's segments on the veth"
    return 1
  fi
}
