#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/<target>/ (small binary files, committed).

Each seed is a valid input for its target: well-formed headers for the wire targets, and for the stack
targets operation sequences that complete handshakes, move data both ways, fragment, close, and so on.
Run it again after changing an input format:  python3 tests/fuzz/make_seeds.py
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUR_MAC = bytes([2, 0, 0, 0, 0, 2])
PEER_MAC = bytes([2, 0, 0, 0, 0, 1])
OUR_IP = bytes([10, 0, 0, 2])
PEER_IP = bytes([10, 0, 0, 1])


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload, ident=1, ff=0, ttl=64, opts=b""):
    hl = 20 + len(opts)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | (hl // 4), 0, hl + len(payload), ident, ff, ttl, proto, 0, src, dst) + opts
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def l4sum(src, dst, proto, seg):
    return csum(src + dst + struct.pack("!BBH", 0, proto, len(seg)) + seg)


def tcp(src, dst, sport, dport, seq, ack, flags, wnd=65535, opts=b"", data=b""):
    hl = 20 + len(opts)
    h = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (hl // 4) << 4, flags, wnd, 0, 0) + opts
    seg = h + data
    c = l4sum(src, dst, 6, seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp(src, dst, sport, dport, data):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = l4sum(src, dst, 17, seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def icmp(t, code, rest, data):
    m = struct.pack("!BBHI", t, code, 0, rest) + data
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def eth(dst, src, et, payload):
    f = dst + src + struct.pack("!H", et) + payload
    return f + b"\0" * max(0, 60 - len(f))


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa


SYN_OPTS = bytes([2, 4, 5, 0xB4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7])
ACK, PSH, FIN, SYN, RST = 0x10, 0x08, 0x01, 0x02, 0x04
u8 = lambda v: struct.pack("!B", v & 0xFF)
u16 = lambda v: struct.pack("!H", v & 0xFFFF)
u32 = lambda v: struct.pack("!I", v & 0xFFFFFFFF)


# ---- fuzz_frame operations (see fuzz_frame.cc) ----
def f_raw(frame, fix=True, split=None, ol=0):
    f = (1 if fix else 0) | (ol << 5) | (0x10 if split else 0)
    out = u8(0) + u8(f) + u16(len(frame)) + frame
    if split:
        out += u8(split - 1)
    return out


def f_ip(proto, payload, ident=7, ff=0, ttl=64, rebase=False, fix=True):
    f = 0x04 | (1 if fix else 0) | (0x08 if rebase else 0)
    return u8(1) + u8(f) + u16(len(payload)) + payload + u8(proto) + u16(ident) + u16(ff) + u8(ttl & 0x7F)


def f_tcp(sport, dport, seq_off, ack_off, flags, data=b"", opts=b""):
    seg = tcp(PEER_IP, OUR_IP, sport, dport, seq_off, ack_off, flags, 65535, opts, data)
    return f_ip(6, seg, rebase=True)


def f_wait(ms):
    return u8(4) + u16(ms)


def f_steps(n):
    return u8(7) + u8(n)


def f_app(a, which=0, *args):
    return u8(5) + u8(a) + u8(which) + b"".join(args)


def seeds_frame():
    s = {}
    s["arp_request"] = f_raw(eth(b"\xff" * 6, PEER_MAC, 0x0806, arp(1, PEER_MAC, PEER_IP, b"\0" * 6, OUR_IP)))
    s["arp_reply"] = f_raw(eth(OUR_MAC, PEER_MAC, 0x0806, arp(2, PEER_MAC, PEER_IP, OUR_MAC, OUR_IP)))
    s["ping"] = f_ip(1, icmp(8, 0, 0x12340001, bytes(range(56))))
    s["ping_chained"] = f_raw(eth(OUR_MAC, PEER_MAC, 0x0800, ipv4(PEER_IP, OUR_IP, 1, icmp(8, 0, 0x12340002, bytes(300)))), split=30)
    s["udp_to_socket"] = f_ip(17, udp(PEER_IP, OUR_IP, 5555, 7001, b"hello skiff")) + f_app(9)
    s["udp_closed_port"] = f_ip(17, udp(PEER_IP, OUR_IP, 5555, 9999, b"x" * 20))
    big = udp(PEER_IP, OUR_IP, 5555, 7001, bytes(i & 0xFF for i in range(3000)))
    frags = b""
    for off in range(0, len(big), 1480):
        part = big[off:off + 1480]
        mf = 0x2000 if off + 1480 < len(big) else 0
        frags += f_ip(17, part, ident=99, ff=mf | (off // 8), fix=True)
    s["udp_fragments"] = frags + f_app(9)
    s["udp_fragment_timeout"] = f_ip(17, big[:1480], ident=5, ff=0x2000) + f_wait(0x8000 | 3100)
    s["tcp_data_in"] = f_tcp(40000, 7000, 0, 0, ACK | PSH, b"abcdefghij" * 10) + f_app(2, 0, u16(4096))
    s["tcp_data_out_acked"] = f_app(0, 0, u16(3000)) + f_tcp(40000, 7000, 0, 0, ACK)
    s["tcp_retransmit"] = f_app(0, 0, u16(2000)) + f_steps(60) + f_wait(3000)
    s["tcp_peer_fin"] = f_tcp(40000, 7000, 0, 0, ACK | FIN) + f_app(5, 0) + f_tcp(40000, 7000, 1, 0, ACK)
    s["tcp_close_time_wait"] = (f_app(5, 0) + f_tcp(40000, 7000, 0, 0, ACK) + f_tcp(40000, 7000, 0, 0, ACK | FIN)
                                + f_wait(0x8000 | 6100))
    s["tcp_active_data"] = f_tcp(80, 0, 0, 0, ACK | PSH, b"response") + f_app(3, 1, u16(100))
    s["tcp_rst"] = f_tcp(40000, 7000, 0, 0, RST)
    s["tcp_new_syn"] = f_tcp(40001, 7000, 0x1000, 0, SYN, opts=SYN_OPTS) + f_app(6)
    s["tcp_no_socket"] = f_ip(6, tcp(PEER_IP, OUR_IP, 1234, 4321, 1, 0, SYN))
    s["ip_options"] = u8(1) + u8(0x05) + u16(8) + icmp(8, 0, 1, b"") + u8(1) + u16(3) + u16(0) + u8(0x80 | 64) + u8(8) + bytes([7, 7, 4, 0, 0, 0, 0, 0])
    s["keepalive"] = f_app(14, 0, u8(2)) + f_wait(0x8000 | 500) + f_steps(40)
    # Multicast: the UDP socket is a member of 239.1.2.3 (IGMP checksums fixed like ICMP's).
    grp, allsys = bytes([239, 1, 2, 3]), bytes([224, 0, 0, 1])
    def gmac(g):
        return bytes([1, 0, 0x5e, g[1] & 0x7f, g[2], g[3]])
    ra = bytes([0x94, 4, 0, 0])
    v3q = bytes([0x11, 10, 0, 0]) + bytes(4) + bytes([2, 125, 0, 0])
    s["igmp_v3_general_query"] = f_raw(eth(gmac(allsys), PEER_MAC, 0x0800, ipv4(PEER_IP, allsys, 2, v3q, ttl=1, opts=ra))) + f_wait(1100)
    s["igmp_v3_group_query"] = f_raw(eth(gmac(grp), PEER_MAC, 0x0800, ipv4(PEER_IP, grp, 2, bytes([0x11, 10, 0, 0]) + grp + bytes([2, 125, 0, 1]) + PEER_IP, ttl=1, opts=ra))) + f_wait(1100)
    s["igmp_v2_query_report"] = (f_raw(eth(gmac(allsys), PEER_MAC, 0x0800, ipv4(PEER_IP, allsys, 2, bytes([0x11, 100, 0, 0]) + bytes(4), ttl=1)))
                                 + f_raw(eth(gmac(grp), PEER_MAC, 0x0800, ipv4(bytes([10, 0, 0, 9]), grp, 2, bytes([0x16, 0, 0, 0]) + grp, ttl=1))) + f_wait(0x8000 | 11))
    ssm = bytes([239, 1, 2, 4])  # joined for PEER_IP only
    s["igmp_v3_source_query"] = f_raw(eth(gmac(ssm), PEER_MAC, 0x0800, ipv4(PEER_IP, ssm, 2, bytes([0x11, 10, 0, 0]) + ssm + bytes([2, 125, 0, 2]) + bytes([10, 0, 0, 9]) + PEER_IP, ttl=1, opts=ra))) + f_wait(1100)
    s["udp_to_source_group"] = (f_raw(eth(gmac(ssm), PEER_MAC, 0x0800, ipv4(PEER_IP, ssm, 17, udp(PEER_IP, ssm, 5555, 7001, b"from the source"), ttl=1)))
                                + f_raw(eth(gmac(grp), PEER_MAC, 0x0800, ipv4(bytes([10, 0, 0, 9]), grp, 17, udp(bytes([10, 0, 0, 9]), grp, 5555, 7001, b"blocked"), ttl=1))) + f_app(9))
    s["udp_to_group"] = f_raw(eth(gmac(grp), PEER_MAC, 0x0800, ipv4(PEER_IP, grp, 17, udp(PEER_IP, grp, 5555, 7001, b"to the group"), ttl=1))) + f_app(9)
    return s


# ---- fuzz_tcp_state operations (see fuzz_tcp_state.cc) ----
def t_seg(f=0x01, m=0, *args, length=0):
    # segment op: f flags byte, m mode byte, then mode arguments, then the length
    return u8(0) + u8(f) + u8(m) + b"".join(args) + u16(length)


def seeds_tcp():
    s = {}
    opts_all = 0x02 | 0x04 | 0x08 | 0x10
    head_passive = u8(opts_all) + u16(1460 - 64) + u8(7)
    head_active = u8(opts_all | 0x01) + u16(1460 - 64) + u8(7)
    s["passive_data_in"] = head_passive + t_seg(0x01, 0, length=1000) + t_seg(0x01, 0, length=1000) + u8(6) + u8(2) + u16(4000)
    s["active_data_out"] = head_active + u8(6) + u8(0) + u16(20000) + u8(4) + u8(0xff) + u8(9) + u8(20) + u8(4) + u8(0xff)
    s["sack_recovery"] = (head_passive + u8(6) + u8(0) + u16(30000) + u8(5) + u8(3) + u8(64) + u8(64) + u8(0) + u8(128)
                          + u8(64) + u8(1) + u8(160) + u8(40) + u8(0) + u8(9) + u8(50) + u8(4) + u8(0xff))
    s["zero_window"] = head_passive + u8(6) + u8(0) + u16(8000) + t_seg(0x00, 0x10, length=0) + u8(10) + u8(3) + u16(100) + u16(200) + u16(400)
    s["ooo_then_fill"] = head_passive + t_seg(0x01, 0x01, u8(125), length=500) + t_seg(0x01, 0, length=1000) + u8(6) + u8(3) + u16(9000)
    s["fin_wait"] = head_passive + u8(6) + u8(6) + u8(4) + u8(0xff) + u8(9) + u8(10) + u8(14) + u8(0) + u8(10) + u8(1) + u16(6100)
    s["close_wait"] = head_active + u8(14) + u8(10) + u8(6) + u8(2) + u16(100) + u8(6) + u8(4) + u8(4) + u8(0xff)
    s["rst_in_window"] = head_passive + u8(11) + u8(1) + u16(10) + u8(11) + u8(0)
    s["icmp_pmtu"] = head_active + u8(6) + u8(0) + u16(6000) + u8(13) + u8(0) + u8(0) + u16(600) + u8(9) + u8(100)
    s["plain_no_options"] = u8(0x00) + t_seg(0x01, 0, length=300) + u8(6) + u8(0) + u16(700) + u8(9) + u8(30) + u8(4) + u8(0xff)
    s["small_rcvbuf"] = u8(opts_all | 0x20) + u16(1396) + u8(0) + t_seg(0x01, 0, length=1400) + t_seg(0x01, 0, length=1400) + t_seg(0x01, 0, length=1400) + u8(9) + u8(50)
    # A second connection as a Fast Open (op 15, w = 0x68: passive, Fast Open, 360 bytes in the SYN, no ACK
    # of the SYN-ACK yet); the application answers before the handshake completes, then time and an ACK.
    s["fastopen_synrecv"] = head_passive + u8(15) + u8(0x68) + u8(6) + u8(0) + u16(3000) + u8(9) + u8(50) + u8(4) + u8(0xff)
    # A second connection as an active Fast Open (op 15, w = 0x6c: active, Fast Open, 360 bytes in the SYN,
    # the SYN-ACK acknowledging only the SYN, so the data goes again), then data both ways and time.
    s["fastopen_active"] = head_active + u8(15) + u8(0x6c) + u8(6) + u8(0) + u16(3000) + u8(9) + u8(50) + u8(4) + u8(0xff)
    return s


# ---- wire targets ----
def seeds_wire():
    syn = tcp(PEER_IP, OUR_IP, 40000, 7000, 1000, 0, SYN, 65535, SYN_OPTS)
    sack = tcp(PEER_IP, OUR_IP, 40000, 7000, 1, 2, ACK, 500,
               bytes([1, 1, 5, 18]) + u32(100) + u32(200) + u32(300) + u32(400))
    data = tcp(PEER_IP, OUR_IP, 40000, 7000, 1, 2, ACK | PSH, 500, b"", b"payload")
    tfo_syn = tcp(PEER_IP, OUR_IP, 40000, 7000, 1000, 0, SYN, 65535, SYN_OPTS + bytes([34, 10]) + bytes(range(8)) + b"\x01\x01",
                  b"GET /")
    ip_plain = ipv4(PEER_IP, OUR_IP, 6, syn)
    ip_opts = ipv4(PEER_IP, OUR_IP, 1, icmp(8, 0, 1, b"x"), opts=bytes([7, 7, 4, 0, 0, 0, 0, 0]))
    ip_frag = ipv4(PEER_IP, OUR_IP, 17, b"\0" * 64, ident=3, ff=0x2000)
    return {
        "fuzz_wire_eth_arp": {
            "arp_request": eth(b"\xff" * 6, PEER_MAC, 0x0806, arp(1, PEER_MAC, PEER_IP, b"\0" * 6, OUR_IP)),
            "arp_reply": eth(OUR_MAC, PEER_MAC, 0x0806, arp(2, PEER_MAC, PEER_IP, OUR_MAC, OUR_IP)),
            "ipv4_frame": eth(OUR_MAC, PEER_MAC, 0x0800, ip_plain),
            "vlan_frame": eth(OUR_MAC, PEER_MAC, 0x8100, b"\0\x05\x08\x00" + ip_plain),
        },
        "fuzz_wire_ipv4": {
            "plain": b"\0" + ip_plain,
            "options": b"\0" + ip_opts,
            "fragment": b"\0" + ip_frag,
            "chained": b"\x81" + ip_plain[:30],
        },
        "fuzz_wire_icmp": {
            "echo": icmp(8, 0, 0x00010001, bytes(range(32))),
            "unreachable": icmp(3, 3, 0, ip_plain[:28]),
            "frag_needed": icmp(3, 4, 1400, ip_plain[:28]),
            "time_exceeded": icmp(11, 0, 0, ip_plain[:28]),
        },
        "fuzz_wire_udp": {
            "dns_like": u16(20) + udp(PEER_IP, OUR_IP, 5353, 53, b"q" * 12),
            "empty": u16(8) + udp(PEER_IP, OUR_IP, 1, 2, b""),
            "short_ip": u16(10) + udp(PEER_IP, OUR_IP, 1, 2, b"abcdef"),
        },
        "fuzz_wire_tcp": {
            "syn": u16(len(syn)) + syn,
            "sack": u16(len(sack)) + sack,
            "data": u16(len(data)) + data,
            "raw_opts": u16(60) + bytes([0x5f]) + bytes(range(23)) + tcp(PEER_IP, OUR_IP, 1, 2, 3, 4, ACK, 5, SYN_OPTS),
            "fastopen_syn": u16(len(tfo_syn)) + tfo_syn,
        },
    }


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def main():
    for t, seeds in seeds_wire().items():
        write(t, seeds)
    write("fuzz_frame", seeds_frame())
    write("fuzz_tcp_state", seeds_tcp())
    return 0


if __name__ == "__main__":
    sys.exit(main())
