#!/usr/bin/env python3
"""Kernel-side peer for udp_multicast.sh (IPv4 multicast and IGMP against skiff-echo --join).

usage:
  udp_multicast_peer.py capture IFACE SRC_IP     print every IGMP message SRC_IP sends on IFACE, one line each
  udp_multicast_peer.py echo GROUP PORT SIZES SKIFF_IP [FROM_IP]
                                                 send one datagram of each size to GROUP:PORT (from FROM_IP if
                                                 given); exit 0 when every one came back byte-identical from
                                                 SKIFF_IP:PORT (3 tries each)
  udp_multicast_peer.py silent GROUP PORT WAIT_S [FROM_IP]
                                                 send 3 datagrams to GROUP:PORT; exit 0 when nothing comes back
                                                 within WAIT_S seconds
  udp_multicast_peer.py query v3|v2 LOCAL_IP CODE [GROUP [SOURCE,...]]
                                                 send an IGMP query (v3: 12 bytes and 4 per source, v2: 8 bytes;
                                                 Max Resp Code CODE, tenths of a second) from LOCAL_IP: a general
                                                 one to 224.0.0.1, or with GROUP a group-specific one (with
                                                 SOURCEs group-and-source-specific, v3) to GROUP

The capture reads an AF_PACKET socket bound to IFACE (the kernel hands multicast to its own raw IGMP sockets
only for the groups it joined, and this peer joins none) and checks each frame itself. A line:
  igmp t=SECONDS src=A dst=A dmac=MAC macok=0|1 ttl=N tos=0xNN ra=0|1 ipcsum=ok|bad type=0xNN len=N csum=ok|bad
       [recs=TYPE:GROUP:NSRC[:S1+S2...],...]  (v3 reports; the sources when there are)    [group=A]  (v1/v2)
macok: the destination MAC is the one the destination group maps to (RFC 1112 §6.4); ra: the IP header carries
the Router Alert option (94 04 00 00, RFC 2113). t counts from the line "capturing".
"""
import os
import select
import socket
import struct
import sys
import time

ETH_P_IP = 0x0800
PACKET_OUTGOING = 4


def inet_csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s  # 0xffff over a message that carries its checksum: correct


def sizes(spec):
    out = []
    for item in spec.split(","):
        a, _, b = item.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def describe(frame):
    """One line for an IGMP frame (Ethernet + IPv4 + IGMP), or None for anything else."""
    if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[0] >> 4 != 4 or ihl < 20 or len(ip) < ihl or ip[9] != 2:
        return None
    total = struct.unpack("!H", ip[2:4])[0]
    igmp = ip[ihl:total]
    src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    d = struct.unpack("!I", ip[16:20])[0]
    want_mac = bytes([0x01, 0x00, 0x5E, (d >> 16) & 0x7F, (d >> 8) & 0xFF, d & 0xFF])
    opts = ip[20:ihl]
    ra = 0
    i = 0
    while i < len(opts):  # walk the options: Router Alert is 0x94, length 4, value 0
        if opts[i] == 0:
            break
        if opts[i] == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            break
        if opts[i:i + 4] == b"\x94\x04\x00\x00":
            ra = 1
        i += opts[i + 1]
    line = (f"src={src} dst={dst} dmac={frame[0:6].hex(':')} macok={int(frame[0:6] == want_mac)} ttl={ip[8]} "
            f"tos=0x{ip[1]:02x} ra={ra} ipcsum={'ok' if inet_csum(bytes(ip[:ihl])) == 0xFFFF else 'bad'} ")
    if len(igmp) < 8:
        return line + f"type=short len={len(igmp)}"
    line += (f"type=0x{igmp[0]:02x} len={len(igmp)} code={igmp[1]} "
             f"csum={'ok' if inet_csum(bytes(igmp)) == 0xFFFF else 'bad'}")
    if igmp[0] == 0x22:
        n = struct.unpack("!H", igmp[6:8])[0]
        recs, off = [], 8
        for _ in range(n):
            if off + 8 > len(igmp):
                recs.append("truncated")
                break
            rtype, aux, nsrc = igmp[off], igmp[off + 1], struct.unpack("!H", igmp[off + 2:off + 4])[0]
            rec = f"{rtype}:{socket.inet_ntoa(igmp[off + 4:off + 8])}:{nsrc}"
            if nsrc and off + 8 + 4 * nsrc <= len(igmp):
                rec += ":" + "+".join(socket.inet_ntoa(igmp[off + 8 + 4 * i:off + 12 + 4 * i]) for i in range(nsrc))
            recs.append(rec)
            off += 8 + 4 * nsrc + 4 * aux
        line += f" nrec={n} recs={','.join(recs)}"
        if off != len(igmp):
            line += f" trailing={len(igmp) - off}"
    else:
        line += f" group={socket.inet_ntoa(igmp[4:8])}"
    return line


def capture(iface, src):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((iface, ETH_P_IP))
    t0 = time.monotonic()
    print("capturing", flush=True)
    while True:
        frame, addr = s.recvfrom(65535)
        if addr[2] == PACKET_OUTGOING:
            continue
        line = describe(frame)
        if line and f"src={src} " in line:
            print(f"igmp t={time.monotonic() - t0:.3f} {line}", flush=True)


def mc_socket(from_ip=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if from_ip:
        s.bind((from_ip, 0))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(from_ip))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    return s


def echo(group, port, spec, skiff_ip, from_ip=None):
    s = mc_socket(from_ip)
    s.settimeout(0.5)
    bad, strangers = [], 0
    for n in sizes(spec):
        data = os.urandom(n)
        ok = False
        for _ in range(3):
            s.sendto(data, (group, port))
            try:
                while True:
                    got, frm = s.recvfrom(70000)
                    if frm != (skiff_ip, port):
                        strangers += 1
                        continue
                    if got == data:
                        ok = True
                        break
            except socket.timeout:
                pass
            if ok:
                break
        if not ok:
            bad.append(n)
    total = len(sizes(spec))
    print(f"udp_multicast_peer: {group}:{port}: {total - len(bad)} of {total} echoed intact from {skiff_ip}:{port}, "
          f"missing or corrupted: {bad[:20]}; {strangers} datagrams from elsewhere")
    sys.exit(1 if bad or strangers else 0)


def silent(group, port, wait_s, from_ip=None):
    s = mc_socket(from_ip)
    for i in range(3):
        s.sendto(b"not joined %d" % i, (group, port))
    end = time.monotonic() + wait_s
    got = []
    while (left := end - time.monotonic()) > 0:
        r, _, _ = select.select([s], [], [], left)
        if r:
            data, frm = s.recvfrom(70000)
            got.append((frm, data))
    print(f"udp_multicast_peer: {group}:{port}: {len(got)} answers within {wait_s} s: {got[:3]}")
    sys.exit(1 if got else 0)


def query(version, local_ip, code, group=None, sources=()):
    g = socket.inet_aton(group) if group else bytes(4)
    if version == "v3":
        # Type, Max Resp Code, checksum, group; S=0 QRV=2; QQIC 125; the sources (RFC 3376 §4.1).
        msg = bytearray(struct.pack("!BBH4sBBH", 0x11, code, 0, g, 0x02, 125, len(sources)))
        for a in sources:
            msg += socket.inet_aton(a)
    else:
        msg = bytearray(struct.pack("!BBH4s", 0x11, code, 0, g))  # RFC 2236 §2
    msg[2:4] = struct.pack("!H", 0xFFFF - inet_csum(bytes(msg)))
    assert inet_csum(bytes(msg)) == 0xFFFF
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b"\x94\x04\x00\x00")  # Router Alert
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(local_ip))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    dst = group or "224.0.0.1"  # a group-specific query goes to the group (RFC 3376 §4.1.12)
    s.sendto(bytes(msg), (dst, 0))
    kind = "general" if not group else "group-and-source-specific" if sources else "group-specific"
    print(f"udp_multicast_peer: sent {version} {kind} query ({len(msg)} bytes, code {code}) to {dst}: "
          f"{bytes(msg).hex()}")


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "capture":
        try:
            capture(a[1], a[2])
        except KeyboardInterrupt:  # how the test stops it (SIGINT)
            pass
    elif len(a) in (5, 6) and a[0] == "echo":
        echo(a[1], int(a[2]), a[3], a[4], a[5] if len(a) == 6 else None)
    elif len(a) in (4, 5) and a[0] == "silent":
        silent(a[1], int(a[2]), float(a[3]), a[4] if len(a) == 5 else None)
    elif len(a) in (4, 5, 6) and a[0] == "query" and a[1] in ("v2", "v3"):
        query(a[1], a[2], int(a[3]), a[4] if len(a) >= 5 else None, a[5].split(",") if len(a) == 6 else ())
    else:
        sys.exit(__doc__)


main()
