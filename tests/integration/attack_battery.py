#!/usr/bin/env python3
"""The TCP/IP bad-input battery (issue 8 item 2), one class per run, for attack_battery.sh:

  attack_battery.py CLASS IFNAME SKIFF_MAC PEER_MAC SKIFF_IP PEER_IP

Crafted frames go out on IFNAME (the kernel's end of the veth) to skiff-echo (TCP/UDP echo on port 7). Scripted
TCP peers ("RawTcp") live at addresses behind the kernel (198.51.100.0/24, routed through the kernel, which
drops what Skiff sends them: it does not forward), so the kernel never answers for them.

Prints, for the shell to check against skiff-echo's counters before and after:
    EXPECT NAME N        counter NAME (stats name, or drop.REASON) moved by exactly N
    EXPECT_MIN NAME N    ... by at least N
    EXPECT_MAX_ABS NAME N counter NAME is at most N afterwards
    EXPECT_ALL_DROPS N   the drop counters moved by N in all
and "BAD ..." for each failed check of its own (echoes, segment sizes, ...); exits 1 if there was one.

Classes (the bug families behind Ripple20, AMNESIA:33, URGENT/11 and the Linux SACK panic):
  lengths   IP total length vs frame, IHL, TCP data offset, TCP header cut short, checksum over trailing bytes
  options   TCP option length 0/1/overrun/wrong for its kind, on SYNs to the listener and on an established
            connection (whose stream must not take the carried data)
  mss       handshakes with MSS 0, 1, 48 and none: the echo still matches, segments never tinier than the floor
  sack      crafted SACK blocks (outside the window, reversed, wrapping, thousands of 1-byte blocks) against
            data in flight: no crash, invalid blocks counted, the stream completes intact
  urgent    URG with pointer 0 (dropped), on a bare ACK; a kernel socket's MSG_OOB behind queued data through
            the echo (every segment before the urgent byte has URG with a pointer past its data: taken)
  icmp      ICMP errors quoting garbage (truncated, bad version/IHL, not our address, unknown connection,
            out of window) and hard errors quoting a live connection: it survives
  pmtu      ICMP fragmentation needed with next-hop MTU 0, 1, 68, 296 quoting a live connection: it survives
            and its segments shrink no further than the 552-byte path MTU floor allows
  arp       unsolicited ARP for unknown addresses creates nothing (RFC 826); the merge rule and locktime
            against poisoning of a known entry; the real owner recovers it
  arpflood  ARP requests from 3,000 senders: the neighbour table stays within its capacity

No fragment classes here: DPDK's net_af_packet asks the kernel to defragment (PACKET_FANOUT_FLAG_DEFRAG),
so on this PMD fragments never reach Skiff whole or in part; teardrop, overlapping fragments, "ping of
death" and fragment floods against Skiff's own reassembly are in bad_input.sh, over net_tap.
"""
import os
import random
import socket
import struct
import sys
import time

from attack_lib import (ETH_P_ARP, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG, Link, RawTcp, csum, eth,
                        ipv4, ip_bytes, learn_conn, mac_bytes, out, parse_tcp_frame, pattern, tcp, tcp_opts)

bad = []


def BAD(msg):
    bad.append(msg)
    out("BAD " + msg)


def OK(msg):
    out("OK " + msg)


def expect(name, n):
    out("EXPECT %s %d" % (name, n))


class Ctx:
    def __init__(self, ifname, smac, pmac, sip, pip):
        self.ifname, self.smac, self.pmac, self.sip, self.pip = ifname, smac, pmac, sip, pip
        self.link = Link(ifname)
        self.rnd = random.Random(0xBA77 ^ hash(ifname) & 0xFFFF)
        self.host_n = 10

    def host(self):
        self.host_n += 1
        return "198.51.100.%d" % self.host_n

    def send(self, frames, pace=0.0003):
        for f in frames:
            self.link.send(f)
            if pace:
                time.sleep(pace)

    def frame(self, src, payload, proto=6, **ipkw):
        return eth(self.smac, self.pmac) + ipv4(src, self.sip, proto, payload, **ipkw)

    def raw(self, **kw):
        return RawTcp(self.link, self.smac, self.pmac, self.host(), self.sip, self.rnd.randint(20000, 60000), **kw)

    def echo_roundtrip(self, c, data, what, timeout=5.0, seg=1000):
        """Sends data in segments of `seg` bytes through RawTcp c and checks the echo comes back whole."""
        start = len(c.received)
        for i in range(0, len(data), seg):
            c.send_data(data[i:i + seg])
            c.pump(0)
        if not c.wait_received(start + len(data), timeout):
            BAD("%s: echoed %d of %d bytes" % (what, len(c.received) - start, len(data)))
            return False
        if bytes(c.received[start:start + len(data)]) != data:
            BAD("%s: echo differs" % what)
            return False
        return True


# ---- lengths ---------------------------------------------------------------------------------------------

def cls_lengths(x):
    src = x.host()
    syn = tcp(src, x.sip, 40000, 7, 1000, 0, TCP_SYN, opts=tcp_opts(mss=1460))
    seg = tcp(src, x.sip, 40000, 7, 1000, 0, TCP_SYN, payload=b"d" * 100)
    want = {}

    def add(reason, frames):
        x.send(frames)
        want[reason] = want.get(reason, 0) + len(frames)

    add("Ipv4BadTotalLen", [x.frame(src, syn, tot_len=20 + len(syn) + 100),   # longer than the frame
                            x.frame(src, syn, tot_len=19)])                     # shorter than the header
    add("Ipv4BadHeaderLen", [x.frame(src, syn, ihl=4),
                             x.frame(src, syn[:8], ihl=15)])                    # 60-byte header, 28-byte datagram
    add("TcpTruncated", [x.frame(src, syn[:12]), x.frame(src, b"")])          # TCP header cut short / absent
    add("TcpBadHeaderLen", [x.frame(src, tcp(src, x.sip, 40000, 7, 1000, 0, TCP_SYN, doff=4)),
                            x.frame(src, tcp(src, x.sip, 40000, 7, 1000, 0, TCP_SYN, doff=15)),   # past the segment
                            x.frame(src, tcp(src, x.sip, 40000, 7, 1000, 0, TCP_SYN, opts=tcp_opts(mss=1460),
                                             doff=12))])
    add("TcpBadChecksum", [x.frame(src, syn[:16] + b"\x12\x34" + syn[18:]),
                           # The IP total length cuts the segment short: the checksum covered all of it.
                           x.frame(src, seg, tot_len=20 + len(seg) - 50)])
    for r, n in want.items():
        expect("drop." + r, n)
    out("EXPECT_ALL_DROPS %d" % sum(want.values()))


# ---- options ---------------------------------------------------------------------------------------------

BAD_OPTS = [
    b"\x02\x00\x05\xb4",                     # MSS, length 0 (the AMNESIA:33 / Ripple20 infinite-loop case)
    b"\x02\x01\x05\xb4",                     # MSS, length 1
    b"\x01\x01\x01\x02",                     # MSS kind in the last byte: no room for its length
    b"\x01\x01\x02\x04",                     # MSS, length 4, only 2 bytes left
    b"\x02\x03\x05\x00",                     # MSS, length 3
    b"\x03\x02\x07\x01",                     # window scale, length 2
    b"\x08\x09" + b"\0" * 7 + b"\x01\x01\x01",   # timestamps, length 9
    b"\x04\x03\x00\x01",                     # SACK-permitted, length 3
    b"\x05\x0b" + b"\0" * 9 + b"\x01",       # SACK, length 11 (not 2 + 8n)
    b"\x63\x00\x01\x01",                     # unknown kind, length 0
    b"\x63\x28\x00\x00",                     # unknown kind, length 40: past the header
    b"\x01" * 39 + b"\x02",                  # 39 NOPs, then MSS without its length
]


def cls_options(x):
    src = x.host()
    frames = [x.frame(src, tcp(src, x.sip, 40001, 7, 5000, 0, TCP_SYN, opts=o)) for o in BAD_OPTS]
    x.send(frames)
    n = len(frames)
    # Options after EOL are not parsed: a SYN with EOL then garbage is fine (answered, then reset by us).
    # On an established connection: data with a bad option is dropped, so the stream never has it.
    c = x.raw()
    if not c.connect():
        BAD("options: handshake failed")
        return
    good1, evil, good2 = pattern(300, 1), b"E" * 300, pattern(300, 2)
    if not x.echo_roundtrip(c, good1, "options: before"):
        return
    for o in BAD_OPTS[:6]:
        c.send(TCP_ACK | TCP_PSH, evil, opts=tcp_opts(ts=(c.ts_val, c.peer_ts), raw=o))
        n += 1
    time.sleep(0.05)
    x.echo_roundtrip(c, good2, "options: after")
    if b"E" * 10 in bytes(c.received):
        BAD("options: data carried by a segment with a bad option was taken")
    if not c.close():
        BAD("options: the connection did not close cleanly")
    expect("drop.TcpBadOption", n)


# ---- mss ---------------------------------------------------------------------------------------------------

def cls_mss(x):
    for mss in (0, 1, 48, None):
        c = x.raw(mss=mss)
        what = "mss %s" % mss
        if not c.connect():
            BAD("%s: handshake failed" % what)
            continue
        c.segs.clear()
        data = pattern(6000, 3)
        if x.echo_roundtrip(c, data, what, timeout=8):
            sizes = [s[2] for s in c.segs if s[2] > 0]
            out("INFO %s: Skiff sent %d data segments, sizes %d..%d" % (what, len(sizes), min(sizes), max(sizes)))
            # The floor (mss-min 88, less 12 bytes of timestamp option), never the 0/1-byte MSS asked for:
            # the largest segment is at the floor or above, and the echo of each 1000-byte write takes at
            # most ceil(1000 / largest) segments.
            if max(sizes) < 64 or len(sizes) > 6 * -(-1000 // max(sizes)):
                BAD("%s: %d segments of at most %d bytes" % (what, len(sizes), max(sizes)))
            else:
                OK("%s: segments of up to %d bytes" % (what, max(sizes)))
        if not c.close():
            BAD("%s: the connection did not close cleanly" % what)


# ---- sack --------------------------------------------------------------------------------------------------

def cls_sack(x):
    c = x.raw(mss=536)
    if not c.connect():
        BAD("sack: handshake failed")
        return
    A0 = c.rcv_nxt
    c.auto_ack = False
    data = pattern(12000, 4)
    # Our data goes out acknowledging nothing of Skiff's, so its echo stays in flight.
    for i in range(0, len(data), 1000):
        c.send_data(data[i:i + 1000], ack=A0)
    t_end = time.time() + 5
    while len(c.received) < 12000 and time.time() < t_end:
        c.pump(0.05)
    got_flight = len(c.received)
    out("INFO sack: %d bytes of the echo in flight, unacknowledged" % got_flight)
    if got_flight < 2000:
        BAD("sack: too little in flight (%d)" % got_flight)
    hi = A0 + got_flight
    M = 0xFFFFFFFF

    def sack_ack(blocks):
        c.send(TCP_ACK, ack=A0, opts=tcp_opts(ts=(c.ts_val, c.peer_ts), sack=blocks))

    invalid = [
        [((A0 + 20000) & M, (A0 + 30000) & M)],                   # past SND.NXT
        [((A0 + 3000) & M, (A0 + 2000) & M)],                     # left > right
        [((A0 + 1000) & M, (A0 + 40000) & M)],                    # runs past SND.NXT
        [((A0 + 0x70000000) & M, (A0 + 0x70000100) & M)],         # far ahead, near half the space away
        [((A0 + 500) & M, (A0 + 500) & M)],                       # empty
    ]
    for b in invalid:
        sack_ack(b)
        time.sleep(0.001)
    out("EXPECT_MIN tcp_sack_invalid %d" % len(invalid))
    # Thousands of 1-byte blocks over the data in flight (the scoreboard fragments into tiny pieces).
    n_tiny = 0
    for k in range(600):
        base = A0 + 1 + 6 * ((k * 3) % max(1, (got_flight - 8) // 6))
        sack_ack([((base + 4 * j) & M, (base + 4 * j + 1) & M) for j in range(3)])
        n_tiny += 3
        if k % 50 == 0:
            c.pump(0)
    out("INFO sack: %d tiny blocks sent in 600 ACKs" % n_tiny)
    c.pump(0.1)
    # Now a real receiver: ACK everything, take the rest, close.
    c.auto_ack = True
    c.send(TCP_ACK)
    t_end = time.time() + 10
    while len(c.received) < 12000 and time.time() < t_end:
        c.pump(0.05)
        if len(c.received) < 12000:
            c.send(TCP_ACK)
    if bytes(c.received) != data:
        BAD("sack: echo differs or incomplete (%d of %d bytes)" % (len(c.received), len(data)))
    else:
        OK("sack: the echo completed intact after the crafted blocks")
    if not c.close(timeout=5):
        BAD("sack: the connection did not close cleanly")


# ---- urgent ------------------------------------------------------------------------------------------------

def cls_urgent(x):
    c = x.raw()
    if not c.connect():
        BAD("urgent: handshake failed")
        return
    before = pattern(200, 5)
    x.echo_roundtrip(c, before, "urgent: before")
    evil = b"U" * 100
    c.send(TCP_ACK | TCP_PSH | TCP_URG, evil, urg=0)       # URGENT/11: pointer 0, dropped
    c.send(TCP_ACK | TCP_URG, b"", urg=1)                  # URG on a bare ACK (Linux in urgent mode): an ACK
    time.sleep(0.05)
    good = pattern(100, 6)
    c.send(TCP_ACK | TCP_PSH | TCP_URG, good, urg=100)     # pointer at the end of the data: fine
    c.snd_nxt = (c.snd_nxt + 100) & 0xFFFFFFFF
    if not c.wait_received(300, 5):
        BAD("urgent: the valid urgent segment was not echoed (%d bytes back)" % len(c.received))
    elif bytes(c.received) != before + good:
        BAD("urgent: echo differs")
    else:
        OK("urgent: the zero urgent pointer dropped, the valid one taken inline")
    if not c.close():
        BAD("urgent: the connection did not close cleanly")
    expect("drop.TcpBadUrgent", 1)
    # A Linux sender with MSG_OOB: its segments before the urgent byte carry URG with a pointer past their
    # own data (up to 0xffff); they must be taken, or the stream stalls.
    # The echo's reader starts late, so the kernel's data queues behind a closed window and goes out after
    # the urgent byte was marked: every segment before it then carries URG.
    s = socket.create_connection((x.sip, 7), timeout=10)
    s.settimeout(15)
    a, b = os.urandom(3000000), os.urandom(300000)
    stream = a + b"!" + b
    got = bytearray()

    import threading

    def reader():
        time.sleep(1.0)
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                got.extend(d)
        except OSError:
            pass
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    def writer():
        try:
            s.sendall(a)
            s.send(b"!", socket.MSG_OOB)
            s.sendall(b)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            BAD("urgent: MSG_OOB transfer: %s" % e)
    tw = threading.Thread(target=writer, daemon=True)
    tw.start()
    tw.join(20)
    th.join(20)
    s.close()
    if bytes(got) != stream:
        BAD("urgent: MSG_OOB through the echo: %d of %d bytes back%s" %
            (len(got), len(stream), "" if len(got) != len(stream) else ", different"))
    else:
        OK("urgent: a kernel MSG_OOB stream (%d bytes) came back whole, inline" % len(stream))


# ---- icmp / pmtu -------------------------------------------------------------------------------------------

def live_conn(x):
    s = socket.create_connection((x.sip, 7), timeout=10)
    s.settimeout(10)
    s.sendall(b"x" * 1000)
    back = b""
    while len(back) < 1000:
        back += s.recv(1000 - len(back))
    time.sleep(0.2)
    return s


def exchange(s, n, seed):
    data = pattern(n, seed) if n <= 20000 else os.urandom(n)
    s.sendall(data)
    back = bytearray()
    while len(back) < n:
        d = s.recv(n - len(back))
        if not d:
            break
        back += d
    return bytes(back) == data


def icmp_err(x, typ, code, quote, rest=0):
    body = struct.pack("!BBHI", typ, code, 0, rest) + quote
    c = csum(body)
    body = body[:2] + struct.pack("!H", c) + body[4:]
    return x.frame(x.pip, body, proto=1)


def quote_of(x, src, dst, sport, dport, seq, proto=6, version=4, ihl=5, n=8):
    hdr = ipv4(src, dst, proto, b"\0" * 20, ihl=5)[:20]
    hdr = bytes([(version << 4) | ihl]) + hdr[1:]
    return hdr + struct.pack("!HHI", sport, dport, seq)[:n]


def cls_icmp(x):
    x.link.drain()
    s = live_conn(x)
    kport = s.getsockname()[1]
    info = learn_conn(x.link, x.pip, kport, x.sip, 7)
    if not info:
        BAD("icmp: could not learn the connection")
        return
    S = info["S"]
    garbage = [
        icmp_err(x, 3, 3, quote_of(x, x.sip, x.pip, 7, kport, S, n=4)),                 # quote cut short
        icmp_err(x, 3, 3, quote_of(x, x.sip, x.pip, 7, kport, S, version=6)),           # not IPv4
        icmp_err(x, 3, 3, quote_of(x, x.sip, x.pip, 7, kport, S, ihl=15)),              # IHL past the quote
        icmp_err(x, 3, 3, quote_of(x, x.sip, x.pip, 7, kport, S, ihl=3)),               # IHL < 5
        icmp_err(x, 3, 3, quote_of(x, x.pip, x.sip, kport, 7, S)),                      # not from our address
        icmp_err(x, 3, 3, quote_of(x, x.sip, x.pip, 7, kport ^ 0x5555, S)),             # no such connection
        icmp_err(x, 3, 3, quote_of(x, x.sip, x.pip, 9999, kport, S, proto=17)),         # UDP, no socket
        icmp_err(x, 3, 3, quote_of(x, x.sip, x.pip, 7, kport, S, proto=99)),            # unknown protocol
        icmp_err(x, 3, 3, b""),                                                         # no quote at all
        icmp_err(x, 3, 3, os.urandom(28)),                                              # random bytes
    ]
    oow = [icmp_err(x, 3, 3, quote_of(x, x.sip, x.pip, 7, kport, (S + 0x40000000 + i) & 0xFFFFFFFF))
           for i in range(5)]                                                           # seq out of window
    hard = [icmp_err(x, t, c_, quote_of(x, x.sip, x.pip, 7, kport, S))                  # in window, live
            for t, c_ in ((3, 0), (3, 1), (3, 2), (3, 3), (3, 13), (11, 0), (12, 0), (4, 0))]
    broken = [x.frame(x.pip, b"\x03\x03\xfc", proto=1),                                  # ICMP truncated
              x.frame(x.pip, b"\x03\x03\x12\x34\0\0\0\0" + quote_of(x, x.sip, x.pip, 7, kport, S), proto=1)]
    x.send(garbage + oow + hard + broken)
    time.sleep(0.2)
    if exchange(s, 1 << 20, 7):
        OK("icmp: the live connection carried 1 MiB after %d hard errors quoting it" % len(hard))
    else:
        BAD("icmp: the live connection broke")
    s.shutdown(socket.SHUT_WR)
    if s.recv(1) != b"":
        BAD("icmp: no clean EOF")
    s.close()
    # Every error reaches the error path (icmp_in_errors); those quoting too little, or no datagram or
    # connection of ours (out of its window included), are dropped there.
    out("EXPECT icmp_in_errors %d" % (len(garbage) + len(oow) + len(hard)))
    out("EXPECT tcp_icmp_out_of_window %d" % len(oow))
    expect("drop.IcmpErrorUnmatched", len(garbage) + len(oow))
    expect("drop.IcmpTruncated", 1)
    expect("drop.IcmpBadChecksum", 1)


def cls_pmtu(x):
    x.link.drain()
    s = live_conn(x)
    kport = s.getsockname()[1]
    info = learn_conn(x.link, x.pip, kport, x.sip, 7)
    if not info:
        BAD("pmtu: could not learn the connection")
        return
    S = info["S"]
    for mtu in (0, 1, 68, 296, 0xFFFF):
        x.send([icmp_err(x, 3, 4, quote_of(x, x.sip, x.pip, 7, kport, S), rest=mtu)])
    time.sleep(0.2)
    x.link.drain()
    ok = exchange(s, 1 << 20, 8)
    sizes = []
    for f in x.link.recv_all(0.2):
        p = parse_tcp_frame(f, want_src=x.sip)
        if p and p[2] == 7 and p[3] == kport and p[8]:
            sizes.append(len(p[8]))
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    s.close()
    # The errors quote a sequence number in flight, so they pass RFC 5927's check (an attacker on the path
    # can do this): Skiff lowers the path MTU, but never below the 552-byte floor (Linux's min_pmtu), whatever
    # the error says (1, 68, 296, or none with a tiny quoted datagram); 65535 raises nothing.
    if not ok:
        BAD("pmtu: the connection broke")
    elif not sizes or not 480 <= max(sizes) <= 512:
        BAD("pmtu: Skiff's largest segment is %s bytes, not the 552-byte floor's 500-512"
            % (max(sizes) if sizes else "?"))
    else:
        OK("pmtu: 1 MiB echoed after bogus frag-needed errors; Skiff's largest segment %d bytes (the floor)"
           % max(sizes))
    out("EXPECT icmp_in_errors 5")


# ---- arp ---------------------------------------------------------------------------------------------------

def arp(x, op, sha, spa, tpa, tha="00:00:00:00:00:00", dst=None):
    return (mac_bytes(dst or x.smac) + mac_bytes(sha) + struct.pack("!H", ETH_P_ARP) +
            struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, mac_bytes(sha), ip_bytes(spa), mac_bytes(tha),
                        ip_bytes(tpa)))


def subnet(x, host):
    return x.sip.rsplit(".", 1)[0] + ".%d" % host


def cls_arp(x):
    other = subnet(x, 250)      # an address that is not Skiff's
    # 1. Unsolicited replies and requests about 500 addresses Skiff never asked for, not targeting Skiff:
    #    RFC 826 creates entries only when we are the target.
    frames = []
    for i in range(500):
        victim = subnet(x, 3 + i % 200) if i < 200 else "10.%d.%d.%d" % (50 + i % 7, i % 250, 1 + i % 200)
        frames.append(arp(x, 2 if i % 2 else 1, "02:66:00:00:%02x:%02x" % (i >> 8, i & 0xFF), victim, other,
                          dst="ff:ff:ff:ff:ff:ff" if i % 3 == 0 else None))
    x.send(frames)
    # 2. Poisoning the kernel's entry (Skiff knows it, locktime 1 s long past): RFC 826's merge rule updates
    #    an existing entry from any ARP packet naming it as the sender, target or not; a second change
    #    within the locktime is refused.
    x.send([arp(x, 2, "02:66:66:66:66:01", x.pip, other)])
    time.sleep(0.05)
    x.send([arp(x, 2, "02:66:66:66:66:02", x.pip, other)])
    # 3. The real owner announces itself (gratuitous ARP) after the locktime: the entry is right again.
    time.sleep(1.2)
    x.send([arp(x, 1, x.pmac, x.pip, x.pip, dst="ff:ff:ff:ff:ff:ff")])
    time.sleep(0.1)
    expect("drop.ArpNotForUs", 503)
    expect("arp_mac_changes", 2)
    expect("arp_mac_change_ignored", 1)
    expect("neigh_entries", 0)


def cls_arpflood(x):
    frames = []
    for i in range(3000):
        spa = "10.%d.%d.%d" % (60 + i // 60000, (i // 250) % 250, 1 + i % 250)
        frames.append(arp(x, 1, "02:77:00:00:%02x:%02x" % (i >> 8, i & 0xFF), spa, x.sip,
                          dst="ff:ff:ff:ff:ff:ff"))
    x.send(frames, pace=0.0001)
    out("EXPECT arp_in_requests 3000")
    out("EXPECT arp_out_replies 3000")
    out("EXPECT_MAX_ABS neigh_entries 256")


CLASSES = {"lengths": cls_lengths, "options": cls_options, "mss": cls_mss, "sack": cls_sack, "urgent": cls_urgent,
           "icmp": cls_icmp, "pmtu": cls_pmtu, "arp": cls_arp, "arpflood": cls_arpflood}

if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) != 6 or a[0] not in CLASSES:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    ctx = Ctx(*a[1:])
    CLASSES[a[0]](ctx)
    out("DONE %s bad=%d" % (a[0], len(bad)))
    sys.exit(1 if bad else 0)
