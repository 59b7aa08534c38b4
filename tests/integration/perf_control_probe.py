#!/usr/bin/env python3
"""Sends bad input to an iperf3-protocol server's control connection and prints what comes back.

    perf_control_probe.py HOST PORT CASE...

One line per case: "CASE: <what the server sent, as state names or hex> <how the connection ended>", then
"alive" once a normal TCP test still runs after all cases (connect, cookie, parameters, one stream, a
0.3-second test, results, IPERF_DONE). perf_bad_control.sh runs it against a stock `iperf3 -s` and against
`skiff-perf -s` and compares the lines: skiff-perf must answer bad input the way iperf3 does.

Cases (the protocol as iperf3 3.12 speaks it: 37-byte cookie, one-byte states, 4-byte big-endian length
and JSON):
  garbage_cookie   37 bytes that are not a cookie (iperf3 takes any 37 bytes) then the peer closes
  short_cookie     10 bytes of a cookie, then the peer closes
  bad_json         a well-formed length and text that is not JSON
  truncated_json   a length of 200 and 50 bytes of JSON, then the peer closes
  oversized_json   a length of 64 MiB and 1,000 bytes, then the peer closes (iperf3 3.12 has no limit and
                   allocates what the length says; skiff-perf refuses over 1 MiB at once)
  zero_json        a length of 0, then the peer closes
  unknown_state    valid parameters, then state byte 99 while streams are being created
  unknown_state_running  a test running over one stream, then state byte 99
  second_client    a second control connection while a test runs: it gets ACCESS_DENIED and is closed
  bad_stream_cookie  a data connection with the wrong cookie while streams are created: ACCESS_DENIED
"""
import json
import os
import socket
import struct
import sys
import time

STATES = {1: "TEST_START", 2: "TEST_RUNNING", 4: "TEST_END", 9: "PARAM_EXCHANGE", 10: "CREATE_STREAMS",
          11: "SERVER_TERMINATE", 12: "CLIENT_TERMINATE", 13: "EXCHANGE_RESULTS", 14: "DISPLAY_RESULTS",
          16: "IPERF_DONE", 255: "ACCESS_DENIED", 254: "SERVER_ERROR"}

HOST = sys.argv[1]
PORT = int(sys.argv[2])
WAIT = 4.0  # seconds to wait for the server's answer or close


def cookie():
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return ("".join(alphabet[b % 32] for b in os.urandom(36)) + "\0").encode()


def connect():
    s = socket.create_connection((HOST, PORT), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_exact(s, n, timeout=10.0):
    s.settimeout(timeout)
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("closed after %d of %d bytes" % (len(b), n))
        b += c
    return b


def expect_state(s, want):
    got = read_exact(s, 1)[0]
    if got != want:
        raise RuntimeError("expected %s, got %s" % (STATES.get(want, want), STATES.get(got, got)))


def drain(s, wait=WAIT):
    """What the server sends until it closes (or `wait` seconds pass): ('names', 'eof'|'reset'|'open')."""
    s.settimeout(0.2)
    got = b""
    end = "open"
    deadline = time.time() + wait
    while time.time() < deadline:
        try:
            c = s.recv(4096)
        except socket.timeout:
            continue
        except ConnectionResetError:
            end = "closed"  # a reset and a FIN both mean: the server closed the connection
            break
        if not c:
            end = "closed"
            break
        got += c
    words = []
    for b in got:
        words.append(STATES.get(b, "0x%02x" % b))
    return " ".join(words) if words else "-", end


def send_json(s, obj):
    t = json.dumps(obj).encode()
    s.sendall(struct.pack("!I", len(t)) + t)


def recv_json(s):
    n = struct.unpack("!I", read_exact(s, 4))[0]
    return json.loads(read_exact(s, n))


PARAMS = {"tcp": True, "omit": 0, "time": 1, "num": 0, "blockcount": 0, "parallel": 1, "len": 131072,
          "pacing_timer": 1000, "client_version": "3.12"}


def start_test(time_s=30):
    """Control connection and one TCP stream, through TEST_RUNNING; returns (ctrl, stream, cookie)."""
    c = connect()
    k = cookie()
    c.sendall(k)
    expect_state(c, 9)
    p = dict(PARAMS)
    p["time"] = time_s
    send_json(c, p)
    expect_state(c, 10)
    d = connect()
    d.sendall(k)
    expect_state(c, 1)
    expect_state(c, 2)
    return c, d, k


def finish_test(c, d):
    d.sendall(b"\0" * 65536)
    c.sendall(bytes([4]))  # TEST_END
    expect_state(c, 13)
    send_json(c, {"cpu_util_total": 1, "cpu_util_user": 1, "cpu_util_system": 0, "sender_has_retransmits": 0,
                  "streams": [{"id": 1, "bytes": 65536, "retransmits": 0, "jitter": 0, "errors": 0,
                               "packets": 0, "start_time": 0, "end_time": 0.3}]})
    r = recv_json(c)
    if "streams" not in r:
        raise RuntimeError("server results without streams: %r" % r)
    expect_state(c, 14)
    c.sendall(bytes([16]))  # IPERF_DONE
    d.close()
    c.close()


def case(name):
    if name == "garbage_cookie":
        s = connect()
        s.sendall(bytes(range(200, 237)))
        first = drain(s, 1.0)[0]  # iperf3 answers PARAM_EXCHANGE to any 37 bytes
        s.shutdown(socket.SHUT_WR)
        return (first,) + drain(s)
    if name == "short_cookie":
        s = connect()
        s.sendall(cookie()[:10])
        s.shutdown(socket.SHUT_WR)
        return drain(s)
    # The rest get past the cookie.
    s = connect()
    s.sendall(cookie())
    expect_state(s, 9)
    if name == "bad_json":
        t = b"{this is not json}"
        s.sendall(struct.pack("!I", len(t)) + t)
        return drain(s)
    if name == "truncated_json":
        s.sendall(struct.pack("!I", 200) + json.dumps(PARAMS).encode()[:50])
        s.shutdown(socket.SHUT_WR)
        return drain(s)
    if name == "oversized_json":
        s.sendall(struct.pack("!I", 64 << 20) + b" " * 1000)
        s.shutdown(socket.SHUT_WR)
        return drain(s)
    if name == "zero_json":
        s.sendall(struct.pack("!I", 0))
        s.shutdown(socket.SHUT_WR)
        return drain(s)
    if name == "unknown_state":
        send_json(s, PARAMS)
        expect_state(s, 10)
        s.sendall(bytes([99]))
        return drain(s)
    if name == "unknown_state_running":
        s.close()
        time.sleep(0.3)  # (iperf3 -s drops the half-opened test first; a test started at once raced its reset)
        c, d, _ = start_test()
        c.sendall(bytes([99]))
        r = drain(c)
        d.close()
        return r
    if name == "second_client":
        s.close()
        time.sleep(0.3)  # (iperf3 -s drops the half-opened test first; a test started at once raced its reset)
        c, d, _ = start_test()
        x = connect()
        x.sendall(cookie())
        r = drain(x)
        x.close()
        # The running test is not disturbed: it ends normally.
        finish_test(c, d)
        return r + ("first test completed",)
    if name == "bad_stream_cookie":
        send_json(s, dict(PARAMS, parallel=2))
        expect_state(s, 10)
        bad = connect()
        bad.sendall(b"x" * 36 + b"\0")
        r = drain(bad)
        bad.close()
        s.close()
        return r
    raise SystemExit("unknown case " + name)


def alive():
    c, d, _ = start_test(time_s=1)
    time.sleep(0.3)
    finish_test(c, d)


def main():
    for name in sys.argv[3:]:
        try:
            r = case(name)
            print("%s: %s" % (name, " ".join(r)), flush=True)
        except Exception as e:  # the line shows what went wrong; the comparison fails on it
            print("%s: exception %s: %s" % (name, type(e).__name__, e), flush=True)
        time.sleep(0.5)  # let the server reset before the next case
    try:
        alive()
        print("alive", flush=True)
    except Exception as e:
        print("not alive: %s: %s" % (type(e).__name__, e), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
