#!/usr/bin/env python3
"""Kernel-side TCP churn client: COUNT short connections in a row to an echo server.

usage: tcp_churn_client.py HOST PORT COUNT [--rst-every K]

Each connection: connect, send 64 bytes (different for every connection), read the 64 bytes back, shut
down writing, then read until EOF: the server must close with a FIN (EOF, nothing more), not a reset.
With --rst-every K, every K-th connection (the 2nd, 4th, ... for K = 2) is instead aborted after the echo:
SO_LINGER 0 and close, which sends a RST to the server (and leaves no TIME-WAIT here).
Prints "churn: K of N connections completed cleanly" (and "churn: R closed by RST, F by FIN") and the
elapsed time; exit 0 when K == N.
"""
import socket
import struct
import sys
import time


LINGER0 = struct.pack("ii", 1, 0)


def one(host, port, i, rst):
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
        if rst:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
            return None  # the with block's close() sends the RST
        s.shutdown(socket.SHUT_WR)
        d = s.recv(64)
        if d:
            return "%d unexpected bytes after the echo" % len(d)
    return None


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rst_every = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--rst-every" else 0
    t0 = time.monotonic()
    ok = n_rst = 0
    for i in range(count):
        rst = rst_every > 0 and (i + 1) % rst_every == 0
        n_rst += rst
        try:
            err = one(host, port, i, rst)
        except OSError as e:
            err = str(e)
        if err:
            print("connection %d: %s" % (i, err), flush=True)
        else:
            ok += 1
    t = time.monotonic() - t0
    print("churn: %d of %d connections completed cleanly in %.2f s (%.0f/s)" % (ok, count, t, count / t), flush=True)
    if rst_every:
        print("churn: %d closed by RST, %d by FIN" % (n_rst, count - n_rst), flush=True)
    return 0 if ok == count else 1


if __name__ == "__main__":
    sys.exit(main())
