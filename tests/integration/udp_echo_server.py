#!/usr/bin/env python3
"""Kernel-side UDP echo server: returns every datagram to its sender. usage: udp_echo_server.py PORT"""
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("listening", flush=True)
while True:
    d, a = s.recvfrom(70000)
    s.sendto(d, a)
