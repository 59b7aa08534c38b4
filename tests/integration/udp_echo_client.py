#!/usr/bin/env python3
"""Kernel-side UDP echo client: sends one datagram of each size and checks the echo is byte-identical.

usage: udp_echo_client.py HOST PORT SIZES   (SIZES like 1-1472,8000)
Exit 0 when every datagram came back intact (each is retried up to 3 times on timeout)."""
import os
import socket
import sys


def sizes(spec):
    out = []
    for item in spec.split(","):
        a, _, b = item.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def main():
    host, port, spec = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.settimeout(0.5)
    bad = []
    for n in sizes(spec):
        data = os.urandom(n)
        ok = False
        for _ in range(3):
            s.sendto(data, (host, port))
            try:
                while True:
                    got, _ = s.recvfrom(70000)
                    if got == data:
                        ok = True
                        break
            except socket.timeout:
                pass
            if ok:
                break
        if not ok:
            bad.append(n)
    print(f"udp_echo_client: {len(sizes(spec)) - len(bad)} intact, {len(bad)} missing or corrupted: {bad[:20]}")
    sys.exit(1 if bad else 0)


main()
