#!/usr/bin/env python3
"""Kernel-side TCP churn client: COUNT short connections in a row to an echo server.

usage: tcp_churn_client.py HOST PORT COUNT

Each connection: connect, send 64 bytes (different for every connection), read the 64 bytes back, shut
down writing, then read until EOF: the server must close with a FIN (EOF, nothing more), not a reset.
Prints "churn: K of N connections completed cleanly" and the elapsed time; exit 0 when K == N.
"""
import socket
import sys
import time


def one(host, port, i):
    msg = bytes((i + k) & 0xFF for k in range(64))
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(msg)
        back = b""
        while len(back) < len(msg):
            d = s.recv(len(msg) - len(back))
            if not d:
                return "EOF after %d of %d echoed bytes" % (len(back), len(msg))
            back += d
        if back != msg:
            return "echo differs"
        s.shutdown(socket.SHUT_WR)
        d = s.recv(64)
        if d:
            return "%d unexpected bytes after the echo" % len(d)
    return None


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    t0 = time.monotonic()
    ok = 0
    for i in range(count):
        try:
            err = one(host, port, i)
        except OSError as e:
            err = str(e)
        if err:
            print("connection %d: %s" % (i, err), flush=True)
        else:
            ok += 1
    t = time.monotonic() - t0
    print("churn: %d of %d connections completed cleanly in %.2f s (%.0f/s)" % (ok, count, t, count / t), flush=True)
    return 0 if ok == count else 1


if __name__ == "__main__":
    sys.exit(main())
