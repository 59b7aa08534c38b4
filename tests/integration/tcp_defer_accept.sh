#!/usr/bin/env bash
# TCP_DEFER_ACCEPT with the Linux kernel as the client (net_af_packet on a veth, kernel in a netns):
# skiff-echo listens with --tcp-defer-accept 5 (3 SYN-ACK timeouts: 1 + 2 + 4 = 7 s). Two kernel clients
# connect at once; connect() returns on their side, but Skiff holds both handshakes' bare final ACKs
# (drop.TcpDeferAccept 2, tcp_curr_estab 0). Client A then sends data: that completes its handshake at once
# and the data is echoed. Client B stays silent: it is established only at the deferral's end, when Skiff
# sends its SYN-ACK once more (tcp_retrans_segs 1) and the kernel answers it, and B's data afterwards is
# echoed too. Nothing is reset. The client goes from step to step when the script has checked the counters.
. "$(dirname "$0")/lib.sh"
itest_init "$@"
. "$(dirname "$0")/tcp_lib.sh"
tcp_init "$@"

T=$ITEST_TMP
tcp_topology D 10.99.23
eal_args 0 echo "$VDEV"
start_echo "$NS_S" "$T/echo.log" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24" --tcp-defer-accept 5

cat >"$T/client.py" <<'PYEOF'
import os, socket, sys, time
ip, go = sys.argv[1], sys.argv[2]
def say(*a):
    print(*a, flush=True)
def wait_go(n):  # the test script says when to go on (it checks Skiff's counters in between)
    deadline = time.monotonic() + 25
    while not os.path.exists("%s%d" % (go, n)):
        if time.monotonic() > deadline:
            say("NO_GO %d" % n)
            sys.exit(1)
        time.sleep(0.02)
def echo(s, data):
    s.settimeout(3)
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = s.recv(len(data) - len(got))
        if not chunk:
            break
        got += chunk
    return got
a = socket.create_connection((ip, 7), timeout=3)
b = socket.create_connection((ip, 7), timeout=3)
say("PHASE1 both connected (kernel side)")
wait_go(1)
t = time.monotonic()
got = echo(a, b"hello, deferred world")
dt = time.monotonic() - t
say("A echoed %r in %.3f s" % (got, dt))
say("A_OK" if got == b"hello, deferred world" and dt < 1.5 else "A_BAD")
wait_go(2)
got = echo(b, b"late bytes")
say("B echoed %r" % got)
say("B_OK" if got == b"late bytes" else "B_BAD")
a.close()
b.close()
PYEOF
ip netns exec "$NS_P" timeout 60 "${KPIN[@]}" "$PY" -u "$T/client.py" "$SKIFF_IP" "$T/go" >"$T/client.out" 2>&1 &
CLIENT=$!
register_pid "$CLIENT"

# until_ctr DEADLINE_S NAME VALUE OUT: snapshots until counter NAME (or drop.X) reads VALUE; false at the deadline.
until_ctr() {
  local end=$(($(date +%s) + $1))
  while :; do
    snapshot "$4"
    [ "$(ctr "$4" "$2")" -eq "$3" ] && return 0
    [ "$(date +%s)" -ge "$end" ] && return 1
    sleep 0.2
  done
}

wait_for_line "$T/client.out" '^PHASE1' 10 "$CLIENT" || { cat "$T/client.out"; fail "kernel clients did not connect"; }
t_connected=$(now_s)
until_ctr 5 drop.TcpDeferAccept 2 "$T/s1.txt"
check "both bare final ACKs held (drop.TcpDeferAccept $(drop "$T/s1.txt" TcpDeferAccept))" \
  [ "$(drop "$T/s1.txt" TcpDeferAccept)" -eq 2 ]
check "connected on the kernel's side, none established on Skiff's ($(ctr "$T/s1.txt" tcp_curr_estab))" \
  [ "$(ctr "$T/s1.txt" tcp_curr_estab)" -eq 0 ]
touch "$T/go1"
wait_for_line "$T/client.out" '^A_' 10 "$CLIENT" || { cat "$T/client.out"; fail "kernel client stopped"; }
check "client A's data completed its handshake and came back at once" grep -q '^A_OK' "$T/client.out"
snapshot "$T/s2.txt"
since=$(elapsed "$t_connected" "$(now_s)")
check "only A established ($(ctr "$T/s2.txt" tcp_curr_estab)), $since s after the connects" \
  [ "$(ctr "$T/s2.txt" tcp_curr_estab)" -eq 1 ]
check "no SYN-ACK sent again yet ($(ctr "$T/s2.txt" tcp_retrans_segs))" [ "$(ctr "$T/s2.txt" tcp_retrans_segs)" -eq 0 ]
# B: established only by the SYN-ACK Skiff sends at the deferral's end (7 s after its SYN) and the kernel's
# ACK to it.
until_ctr 15 tcp_curr_estab 2 "$T/s3.txt"
since=$(elapsed "$t_connected" "$(now_s)")
check "B established without sending a byte, $since s after the connects (the deferral is 7 s)" \
  [ "$(ctr "$T/s3.txt" tcp_curr_estab)" -eq 2 ]
check "not before the deferral's end" awk -v s="$since" 'BEGIN { exit !(s >= 5.5) }'
check "by exactly one SYN-ACK sent again ($(ctr "$T/s3.txt" tcp_retrans_segs))" \
  [ "$(ctr "$T/s3.txt" tcp_retrans_segs)" -eq 1 ]
check "no further ACK held (drop.TcpDeferAccept $(drop "$T/s3.txt" TcpDeferAccept))" \
  [ "$(drop "$T/s3.txt" TcpDeferAccept)" -eq 2 ]
touch "$T/go2"

wait "$CLIENT"
rc=$?
cat "$T/client.out"
check "kernel clients exit 0" [ "$rc" -eq 0 ]
check "client B's data came back" grep -q '^B_OK' "$T/client.out"
stop_echo "$T/final.txt"
check "2 passive opens ($(ctr "$T/final.txt" tcp_passive_opens))" [ "$(ctr "$T/final.txt" tcp_passive_opens)" -eq 2 ]
for c in tcp_out_rsts tcp_in_rsts tcp_estab_resets; do
  check "$c is 0 ($(ctr "$T/final.txt" "$c"))" [ "$(ctr "$T/final.txt" "$c")" -eq 0 ]
done
pass
