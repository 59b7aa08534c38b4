#!/usr/bin/env python3
"""Kernel-side UDP echo server: returns every datagram to its sender.

usage: udp_echo_server.py PORT [--reflect | --train SIZE]
  --reflect: each echo leaves with the TTL and TOS its datagram arrived with (read with IP_RECVTTL and
             IP_RECVTOS, sent with IP_TTL and IP_TOS control messages), so that a client can check what
             it put on the wire and what it reads back.
  --train SIZE: each echo leaves as a train of datagrams of SIZE bytes, the last one shorter (what a sender
             with UDP_SEGMENT puts on the wire; sent one by one, as UDP GSO needs checksum offload), for a
             client that reads them back gathered with UDP_GRO.
"""
import socket
import struct
import sys

IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)
IP_RECVTOS = getattr(socket, "IP_RECVTOS", 13)

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
reflect = "--reflect" in sys.argv[2:]
train = int(sys.argv[sys.argv.index("--train") + 1]) if "--train" in sys.argv[2:] else 0
if reflect:
    s.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    s.setsockopt(socket.IPPROTO_IP, IP_RECVTOS, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("listening", flush=True)
while True:
    if train:
        d, a = s.recvfrom(70000)
        for off in range(0, max(len(d), 1), train):
            s.sendto(d[off:off + train], a)
        continue
    if not reflect:
        d, a = s.recvfrom(70000)
        s.sendto(d, a)
        continue
    d, anc, _, a = s.recvmsg(70000, socket.CMSG_SPACE(4) * 2)
    out = []
    for level, kind, data in anc:
        if level == socket.IPPROTO_IP and kind == socket.IP_TTL:
            out.append((socket.IPPROTO_IP, socket.IP_TTL, struct.pack("i", struct.unpack("i", data[:4])[0])))
        elif level == socket.IPPROTO_IP and kind == socket.IP_TOS:
            out.append((socket.IPPROTO_IP, socket.IP_TOS, struct.pack("i", data[0])))
    s.sendmsg([d], out, 0, a)
