#!/usr/bin/env bash
# TCP Fast Open (RFC 7413) with the Linux kernel as the client (net_af_packet on a veth; the kernel in a
# netns, tcp_fastopen=1 as Linux ships). skiff-echo listens with --tcp-fastopen 16. Between the two a
# userspace bridge (tcp_impair.py, no loss) delays every frame by 60 ms each way, so round trips can be
# counted by time. The kernel's first sendto(MSG_FASTOPEN) asks for a cookie (its data goes after the
# handshake: about two round trips to the echo); Skiff answers with its cookie. The next five send their
# data in the SYN with that cookie: Skiff takes it, acknowledges it in the SYN-ACK and echoes it at once,
# so each echo is back in about one round trip, and the kernel reports its SYN data acknowledged
# (TCPI_OPT_SYN_DATA, TcpExtTCPFastOpenActive). Payloads up to 1,000 bytes in the SYN; every echo matches.
# Then the other way round: a kernel echo server with TCP_FASTOPEN, and skiff-conncheck opening 6
# connections one after another (200 bytes echoed each), plainly and then with --fastopen (sendto with
# MSG_FASTOPEN): the first asks for the cookie, the next five carry their bytes in the SYN, which the kernel
# takes (TcpExtTCPFastOpenPassive), so each takes one round trip instead of two.
# TCP_FASTOPEN_NO_COOKIE both ways: kernel clients with it send their data in SYNs with no cookie to a
# skiff-echo listener with it (each taken), and skiff-conncheck --fastopen --no-cookie opens 6 connections
# to a kernel server with it, every SYN carrying its bytes, the first one too.
# Last, a shared server key: skiff-echo ran with [tcp] fastopen-key = K, so the cookie the kernel client
# holds for Skiff's address is Skiff's under K. Skiff goes, and a kernel server with the same key
# (net.ipv4.tcp_fastopen_key = K) takes that address: the client's next Fast Open SYN, with Skiff's cookie,
# is taken with its data (TcpExtTCPFastOpenPassive on the server, no TcpExtTCPFastOpenPassiveFail), as a
# farm of Skiff and Linux servers sharing a key would need.
. "$(dirname "$0")/lib.sh"
itest_init "$@"
. "$(dirname "$0")/tcp_lib.sh"
tcp_init "$@"

T=$ITEST_TMP
DELAY=60
NS_S="skiff-F-$$-s"
NS_M="skiff-F-$$-m"
NS_P="skiff-F-$$-p"
IF_S="skF$$s"
IF_MS="skF$$ms"
IF_MP="skF$$mp"
IF_P="skF$$p"
SKIFF_IP=10.99.24.2
PEER_IP=10.99.24.1
make_netns "$NS_S"
make_netns "$NS_M"
make_netns "$NS_P"
make_veth "$NS_S" "$IF_S" "$NS_M" "$IF_MS"
make_veth "$NS_P" "$IF_P" "$NS_M" "$IF_MP"
ip -n "$NS_P" addr add "$PEER_IP/24" dev "$IF_P" || fail "address on $IF_P"
# Frames are forwarded as they come: no checksum or segmentation offload, no GRO.
ip netns exec "$NS_P" ethtool -K "$IF_P" tx off tso off gso off gro off >/dev/null 2>&1 || fail "ethtool -K $IF_P"
for i in "$IF_MS" "$IF_MP"; do
  ip netns exec "$NS_M" ethtool -K "$i" tx off tso off gso off gro off >/dev/null 2>&1 || fail "ethtool -K $i"
done
# Client and server bits: the kernel is the client first, the server after.
ip netns exec "$NS_P" sysctl -qw net.ipv4.tcp_fastopen=3 || fail "sysctl net.ipv4.tcp_fastopen"
ip netns exec "$NS_P" sysctl -qw net.ipv4.tcp_fastopen_blackhole_timeout_sec=0 2>/dev/null || true
VDEV="--vdev=net_af_packet0,iface=$IF_S,blocksz=16384,framesz=16384,framecnt=512"
start_bg "$NS_M" "$T/impair.log" 120 "${KPIN[@]}" "$PY" -u "$HERE/tcp_impair.py" "$IF_MS" "$IF_MP" --delay-ms "$DELAY"
IMPAIR_PID=$BG_PID
wait_for_line "$T/impair.log" '^forwarding' 10 "$IMPAIR_PID" || fail "tcp_impair.py did not start"
tcp_capture

KEY=0badcafe-12345678-9abcdef0-0fedcba9
printf '[tcp]\nfastopen-key = %s\n' "$KEY" >"$T/skiff.ini"
eal_args 0 echo "$VDEV"
start_echo "$NS_S" "$T/echo.log" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24" --config "$T/skiff.ini" --tcp-fastopen 16

# The kernel clients' Fast Open echo, shared by the scripts below (imported from their directory).
cat >"$T/tfo_lib.py" <<'PYEOF'
import socket, time
MSG_FASTOPEN = 0x20000000
TCP_FASTOPEN_NO_COOKIE = 34
TCPI_OPT_SYN_DATA = 0x20
def say(*a):
    print(*a, flush=True)
def recv_n(s, n):
    got = b""
    while len(got) < n:
        c = s.recv(n - len(got))
        if not c:
            break
        got += c
    return got
# sendto(MSG_FASTOPEN) to ip:7, then the echo: (echo matches, seconds taken, TCPI_OPT_SYN_DATA).
def tfo_echo(ip, data, no_cookie=False):
    s = socket.socket()  # blocking: with a timeout Python's socket is non-blocking, and sendto gives EINPROGRESS
    if no_cookie:
        s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1)
    t = time.monotonic()
    s.sendto(data, MSG_FASTOPEN, (ip, 7))
    s.settimeout(5)
    got = recv_n(s, len(data))
    dt = time.monotonic() - t
    options = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)[5]
    s.close()
    return got == data, dt, bool(options & TCPI_OPT_SYN_DATA)
PYEOF
cat >"$T/client.py" <<'PYEOF'
import socket, statistics, sys, time
from tfo_lib import say, tfo_echo
ip = sys.argv[1]
# The round trip: connect() returns after one (SYN, SYN-ACK). The first connects also teach ARP.
rtts = []
for _ in range(3):
    t = time.monotonic()
    s = socket.create_connection((ip, 7), timeout=5)
    rtts.append(time.monotonic() - t)
    s.close()
rtt = statistics.median(rtts)
say("RTT %.1f ms" % (rtt * 1e3))
ok, dt, syn_data = tfo_echo(ip, b"first, no cookie yet")
say("FIRST ok=%s %.1f ms syn_data=%s" % (ok, dt * 1e3, syn_data))
say("FIRST_OK" if ok and not syn_data and dt > 1.5 * rtt else "FIRST_BAD")
dts = []
good = True
for n in (1, 10, 100, 500, 1000):
    data = bytes((i * 7 + n) & 0xff for i in range(n))
    ok, dt, syn_data = tfo_echo(ip, data)
    dts.append(dt)
    say("TFO %d bytes ok=%s %.1f ms syn_data=%s" % (n, ok, dt * 1e3, syn_data))
    good = good and ok and syn_data
med = statistics.median(dts)
say("TFO median %.1f ms = %.2f RTT" % (med * 1e3, med / rtt))
say("TFO_OK" if good and med < 1.5 * rtt else "TFO_BAD")
PYEOF
NSTAT_HISTORY="$T/nstat" ip netns exec "$NS_P" nstat -n >/dev/null 2>&1
ip netns exec "$NS_P" timeout 60 "${KPIN[@]}" "$PY" -u "$T/client.py" "$SKIFF_IP" >"$T/client.out" 2>&1
rc=$?
cat "$T/client.out"
check "kernel client exits 0" [ "$rc" -eq 0 ]
check "the first echo (cookie requested, data after the handshake) took two round trips" \
  grep -q '^FIRST_OK' "$T/client.out"
check "five Fast Open echoes: data in the SYN acknowledged, echoed within one round trip" \
  grep -q '^TFO_OK' "$T/client.out"
# nstat_in NETNS HISTORY COUNTER: the kernel counter's absolute value in NETNS (-a; each netns here is new).
nstat_in() {
  NSTAT_HISTORY="$2" ip netns exec "$1" nstat -az "$3" 2>/dev/null | awk -v k="$3" '$1 == k { print $2 }'
}
kstat() { nstat_in "$NS_P" "$T/nstat" "$1"; }
active=$(kstat TcpExtTCPFastOpenActive)
active_fail=$(kstat TcpExtTCPFastOpenActiveFail)
log "kernel: TcpExtTCPFastOpenActive $active, TcpExtTCPFastOpenActiveFail $active_fail"
check "the kernel counts 5 Fast Opens whose SYN data was acknowledged ($active)" [ "${active:-0}" -eq 5 ]
check "and no failed one (${active_fail:-0})" [ "${active_fail:-0}" -eq 0 ]
# The last connection's FINs cross the bridge (two round trips) before Skiff stops; else the kernel sends
# its FIN again to the next Skiff on this address, which answers with a reset.
sleep 1
stop_echo "$T/final.txt"
check "Skiff: one cookie request ($(ctr "$T/final.txt" tcp_fastopen_cookie_reqd))" \
  [ "$(ctr "$T/final.txt" tcp_fastopen_cookie_reqd)" -eq 1 ]
check "Skiff: 5 Fast Open connections ($(ctr "$T/final.txt" tcp_fastopen_passive))" \
  [ "$(ctr "$T/final.txt" tcp_fastopen_passive)" -eq 5 ]
for c in tcp_fastopen_passive_fail tcp_fastopen_listen_overflow tcp_out_rsts tcp_in_rsts tcp_estab_resets; do
  check "$c is 0 ($(ctr "$T/final.txt" "$c"))" [ "$(ctr "$T/final.txt" "$c")" -eq 0 ]
done
check "9 passive opens ($(ctr "$T/final.txt" tcp_passive_opens))" [ "$(ctr "$T/final.txt" tcp_passive_opens)" -eq 9 ]
# The cookie Skiff gave (under KEY), as the kernel client keeps it.
skiff_cookie=$(ip -n "$NS_P" tcp_metrics show "$SKIFF_IP" 2>/dev/null | sed -n 's/.*fo_cookie \([0-9a-f]*\).*/\1/p')
log "the kernel client's cookie for $SKIFF_IP (Skiff's, key $KEY): ${skiff_cookie:-none}"
check "the kernel client holds a cookie from Skiff" [ -n "$skiff_cookie" ]

# A listener that needs no cookie, and kernel clients that send none.
eal_args 0 echo-nc "$VDEV"
start_echo "$NS_S" "$T/echo-nc.log" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24" --tcp-fastopen 16 --tcp-fastopen-no-cookie
cat >"$T/no_cookie.py" <<'PYEOF'
import sys
from tfo_lib import say, tfo_echo
for n in (1, 100, 1000):
    ok, _, syn_data = tfo_echo(sys.argv[1], bytes((i * 3 + n) & 0xff for i in range(n)), no_cookie=True)
    say("NO_COOKIE %d bytes echo=%s syn_data=%s" % (n, ok, syn_data))
PYEOF
ip netns exec "$NS_P" timeout 30 "${KPIN[@]}" "$PY" -u "$T/no_cookie.py" "$SKIFF_IP" >"$T/no_cookie.out" 2>&1
cat "$T/no_cookie.out"
check "three no-cookie Fast Open echoes, their SYN data acknowledged" \
  [ "$(grep -c 'echo=True syn_data=True' "$T/no_cookie.out")" -eq 3 ]
sleep 1  # (the last FIN exchange, as above)
stop_echo "$T/final-nc.txt"
check "Skiff took 3 Fast Open SYNs without a cookie ($(ctr "$T/final-nc.txt" tcp_fastopen_passive))" \
  [ "$(ctr "$T/final-nc.txt" tcp_fastopen_passive)" -eq 3 ]
for c in tcp_fastopen_cookie_reqd tcp_fastopen_passive_fail tcp_out_rsts; do
  check "$c is 0 ($(ctr "$T/final-nc.txt" "$c"))" [ "$(ctr "$T/final-nc.txt" "$c")" -eq 0 ]
done

# Skiff the client.
CONNCHECK=${SKIFF_CONNCHECK:-$(dirname "$SKIFF_ECHO")/skiff-conncheck}
[ -x "$CONNCHECK" ] || fail "skiff-conncheck not found (SKIFF_CONNCHECK='$CONNCHECK')"
start_bg "$NS_P" "$T/kecho.log" 120 "${KPIN[@]}" "$PY" -u "$HERE/tcp_echo_server.py" 7 16
wait_for_line "$T/kecho.log" '^listening' 10 "$BG_PID" || fail "kernel echo server did not start"
NSTAT_HISTORY="$T/nstat" ip netns exec "$NS_P" nstat -n >/dev/null 2>&1
# run_cc TAG [--fastopen]: 6 connections, one at a time; sets CC_RATE to the connections per second (in this
# shell, so that a failed check fails the script).
run_cc() {
  local tag=$1
  shift
  eal_args 0 "cc-$tag" "$VDEV"
  start_bg "$NS_S" "$T/cc-$tag.log" 60 "$CONNCHECK" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24" --conns 6 \
    --parallel 1 --bytes 200 --timeout 30 "$@" "$PEER_IP" "${CC_PORT:-7}"
  wait "$BG_TPID"
  local rc=$?
  grep '^skiff-conncheck: ' "$T/cc-$tag.log"
  check "skiff-conncheck $tag exits 0" [ "$rc" -eq 0 ]
  CC_RATE=$(sed -n 's/.* \([0-9.]*\) connections\/s$/\1/p' "$T/cc-$tag.log" | head -n 1)
}
run_cc plain
plain=$CC_RATE
passive0=$(kstat TcpExtTCPFastOpenPassive)
run_cc tfo --fastopen
tfo=$CC_RATE
passive=$(( $(kstat TcpExtTCPFastOpenPassive) - ${passive0:-0} ))
log "connections/s one at a time: plain $plain, Fast Open $tfo (RTT about $((2 * DELAY)) ms)"
C="$T/cc-tfo.log"
check "Skiff asked once for the cookie ($(ctr "$C" tcp_fastopen_cookie_requests))" \
  [ "$(ctr "$C" tcp_fastopen_cookie_requests)" -eq 1 ]
check "Skiff: 5 connects whose SYN data the kernel acknowledged ($(ctr "$C" tcp_fastopen_active))" \
  [ "$(ctr "$C" tcp_fastopen_active)" -eq 5 ]
for c in tcp_fastopen_active_fail tcp_in_rsts tcp_retrans_segs; do
  check "Skiff client: $c is 0 ($(ctr "$C" "$c"))" [ "$(ctr "$C" "$c")" -eq 0 ]
done
check "the kernel took 5 Fast Open SYNs with their data ($passive)" [ "$passive" -eq 5 ]
check "Fast Open connections come at least 1.4x as fast ($tfo/s against $plain/s)" \
  awk -v a="${tfo:-0}" -v b="${plain:-0}" 'BEGIN { exit !(b > 0 && a >= 1.4 * b) }'

# No cookie: a kernel server that takes SYN data without one, and Skiff sending none.
start_bg "$NS_P" "$T/kecho-nc.log" 120 "${KPIN[@]}" "$PY" -u "$HERE/tcp_echo_server.py" 8 16 no-cookie
wait_for_line "$T/kecho-nc.log" '^listening' 10 "$BG_PID" || fail "kernel no-cookie echo server did not start"
passive0=$(kstat TcpExtTCPFastOpenPassive)
CC_PORT=8 run_cc nocookie --fastopen --no-cookie
nc=$CC_RATE
passive=$(( $(kstat TcpExtTCPFastOpenPassive) - ${passive0:-0} ))
log "connections/s one at a time without cookies: $nc"
C="$T/cc-nocookie.log"
check "Skiff: 6 connects whose SYN data the kernel acknowledged, the first too ($(ctr "$C" tcp_fastopen_active))" \
  [ "$(ctr "$C" tcp_fastopen_active)" -eq 6 ]
for c in tcp_fastopen_cookie_requests tcp_fastopen_active_fail tcp_in_rsts tcp_retrans_segs; do
  check "Skiff client without cookies: $c is 0 ($(ctr "$C" "$c"))" [ "$(ctr "$C" "$c")" -eq 0 ]
done
check "the kernel took 6 Fast Open SYNs without cookies ($passive)" [ "$passive" -eq 6 ]

# A kernel server with the same key takes Skiff's address (Skiff is gone from the veth).
ip netns exec "$NS_S" ethtool -K "$IF_S" tx off tso off gso off gro off >/dev/null 2>&1 || fail "ethtool -K $IF_S"
ip -n "$NS_S" addr add "$SKIFF_IP/24" dev "$IF_S" || fail "address on $IF_S"
ip netns exec "$NS_S" sysctl -qw net.ipv4.tcp_fastopen=3 || fail "sysctl net.ipv4.tcp_fastopen in $NS_S"
ip netns exec "$NS_S" sysctl -qw net.ipv4.tcp_fastopen_key="$KEY" || fail "sysctl net.ipv4.tcp_fastopen_key"
ip -n "$NS_P" neigh flush dev "$IF_P" 2>/dev/null
start_bg "$NS_S" "$T/kecho-s.log" 60 "${KPIN[@]}" "$PY" -u "$HERE/tcp_echo_server.py" 7 16
wait_for_line "$T/kecho-s.log" '^listening' 10 "$BG_PID" || fail "kernel echo server in $NS_S did not start"
NSTAT_HISTORY="$T/nstat-s" ip netns exec "$NS_S" nstat -n >/dev/null 2>&1
cat >"$T/same_key.py" <<'PYEOF'
import sys
from tfo_lib import say, tfo_echo
ok, _, syn_data = tfo_echo(sys.argv[1], b"a cookie of the shared key")
say("SAME_KEY echo=%s syn_data=%s" % (ok, syn_data))
PYEOF
ip netns exec "$NS_P" timeout 20 "${KPIN[@]}" "$PY" -u "$T/same_key.py" "$SKIFF_IP" >"$T/same_key.out" 2>&1
cat "$T/same_key.out"
check "the echo through the kernel server with Skiff's cookie matches" grep -q 'echo=True' "$T/same_key.out"
check "its SYN data was acknowledged (TCPI_OPT_SYN_DATA)" grep -q 'syn_data=True' "$T/same_key.out"
sstat() { nstat_in "$NS_S" "$T/nstat-s" "$1"; }
spassive=$(sstat TcpExtTCPFastOpenPassive)
sfail=$(sstat TcpExtTCPFastOpenPassiveFail)
log "kernel server with key $KEY: TcpExtTCPFastOpenPassive ${spassive:-0}, TcpExtTCPFastOpenPassiveFail ${sfail:-0}"
check "the kernel server took Skiff's cookie (TcpExtTCPFastOpenPassive ${spassive:-0})" [ "${spassive:-0}" -eq 1 ]
check "and found no wrong cookie (TcpExtTCPFastOpenPassiveFail ${sfail:-0})" [ "${sfail:-0}" -eq 0 ]
pass
