#!/usr/bin/env bash
# TCP_DEFER_ACCEPT with the Linux kernel as the client (net_af_packet on a veth, kernel in a netns):
# skiff-echo listens with --tcp-defer-accept 5 (3 SYN-ACK timeouts: 1 + 2 + 4 = 7 s). Two kernel clients
# connect at once; connect() returns on their side, but Skiff holds both handshakes' bare final ACKs
# (drop.TcpDeferAccept 2, tcp_curr_estab 0). Client A then sends data: that completes its handshake at once
# and the data is echoed. Client B stays silent: still not established at 5 s; at 7 s Skiff sends its
# SYN-ACK once more, the kernel's ACK to it completes the handshake (established by 9 s without a byte
# sent), and B's data afterwards is echoed too. Nothing is reset.
. "$(dirname "$0")/lib.sh"
itest_init "$@"
. "$(dirname "$0")/tcp_lib.sh"
tcp_init "$@"

T=$ITEST_TMP
tcp_topology D 10.99.23
eal_args 0 echo "$VDEV"
start_echo "$NS_S" "$T/echo.log" "${EAL_ARGS[@]}" -- --ip "$SKIFF_IP/24" --tcp-defer-accept 5

cat >"$T/client.py" <<'PYEOF'
import socket, sys, time
ip = sys.argv[1]
def say(*a):
    print(*a, flush=True)
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
t0 = time.monotonic()
a = socket.create_connection((ip, 7), timeout=3)
b = socket.create_connection((ip, 7), timeout=3)
say("PHASE1 both connected (kernel side) after %.2f s" % (time.monotonic() - t0))
time.sleep(2.0)
t = time.monotonic()
got = echo(a, b"hello, deferred world")
say("A echoed %r in %.2f s (at %.2f s)" % (got, time.monotonic() - t, time.monotonic() - t0))
say("A_OK" if got == b"hello, deferred world" else "A_BAD")
time.sleep(max(0.0, t0 + 5.0 - time.monotonic()))
say("PHASE2 at %.2f s" % (time.monotonic() - t0))
time.sleep(max(0.0, t0 + 9.0 - time.monotonic()))
say("PHASE3 at %.2f s" % (time.monotonic() - t0))
time.sleep(max(0.0, t0 + 10.5 - time.monotonic()))
got = echo(b, b"late bytes")
say("B echoed %r (at %.2f s)" % (got, time.monotonic() - t0))
say("B_OK" if got == b"late bytes" else "B_BAD")
a.close()
b.close()
PYEOF
ip netns exec "$NS_P" timeout 30 "${KPIN[@]}" "$PY" -u "$T/client.py" "$SKIFF_IP" >"$T/client.out" 2>&1 &
CLIENT=$!
register_pid "$CLIENT"

wait_for_line "$T/client.out" '^PHASE1' 10 "$CLIENT" || { cat "$T/client.out"; fail "kernel clients did not connect"; }
sleep 1
snapshot "$T/s1.txt"
check "1 s after both connects: no connection established on Skiff's side ($(ctr "$T/s1.txt" tcp_curr_estab))" \
  [ "$(ctr "$T/s1.txt" tcp_curr_estab)" -eq 0 ]
check "both bare final ACKs held (drop.TcpDeferAccept $(drop "$T/s1.txt" TcpDeferAccept))" \
  [ "$(drop "$T/s1.txt" TcpDeferAccept)" -eq 2 ]

wait_for_line "$T/client.out" '^PHASE2' 10 "$CLIENT" || { cat "$T/client.out"; fail "kernel client stopped"; }
check "client A's data completed its handshake and came back" grep -q '^A_OK' "$T/client.out"
snapshot "$T/s2.txt"
check "at 5 s: only A established ($(ctr "$T/s2.txt" tcp_curr_estab))" [ "$(ctr "$T/s2.txt" tcp_curr_estab)" -eq 1 ]

wait_for_line "$T/client.out" '^PHASE3' 10 "$CLIENT" || { cat "$T/client.out"; fail "kernel client stopped"; }
snapshot "$T/s3.txt"
check "at 9 s: B established too, without sending a byte (the SYN-ACK at 7 s and the kernel's ACK)" \
  [ "$(ctr "$T/s3.txt" tcp_curr_estab)" -eq 2 ]
check "no further ACK held (drop.TcpDeferAccept $(drop "$T/s3.txt" TcpDeferAccept))" \
  [ "$(drop "$T/s3.txt" TcpDeferAccept)" -eq 2 ]

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
