#!/usr/bin/env python3
"""Blind in-window injection against an established connection, for attack_blind.sh (issue #5).

  attack_blind.py IFNAME SKIFF_MAC PEER_MAC SKIFF_IP PEER_IP PORT RATE STATEDIR

A kernel socket connects to skiff-echo (PORT), and sends and reads back 1 MiB. With the connection idle
(Skiff's RCV.NXT = R, SND.NXT = S and window W learnt from the frames on IFNAME, as an attacker who sees
the 4-tuple and the rough sequence space would guess them), spoofed segments with the connection's exact
4-tuple but wrong sequence numbers or acknowledgments are sent at RATE per second, in rounds of the sizes
the shell script asks for in STATEDIR (see below), in these shares:
    40%  RST, sequence in the window but not R (RFC 5961 §3.2: challenge ACK, no reset)
    10%  RST, sequence outside the window (dropped)
    20%  SYN, sequence in the window (RFC 5961 §4.2: challenge ACK)
    10%  SYN, sequence outside the window (dropped, duplicate ACK)
    10%  data, sequence in the window (1 in 8 exactly at R), ACK beyond S (RFC 5961 §5.2: dropped, ACK)
    10%  data, sequence in the window (1 in 8 exactly at R), ACK far below S (dropped, challenge ACK)
Then the kernel socket sends and reads back 1 MiB more: the echo must match everything sent (no injected
byte accepted) and nothing may have reset the connection. Prints "SENT class n" lines, "RESULT ..." and
"INJECT sent=N secs=S rate=R"; exits 0 when the connection survived with a matching SHA-256.
"""
import hashlib
import os
import random
import socket
import struct
import sys
import time

from attack_lib import (TCP_ACK, TCP_PSH, TCP_RST, TCP_SYN, Link, eth, ipv4, learn_conn, out, parse_tcp_frame, tcp,
                        tcp_opts)


def main(ifname, smac, pmac, sip, pip, port, rate, statedir):
    link = Link(ifname)
    s = socket.create_connection((sip, port), timeout=10)
    s.settimeout(20)
    kport = s.getsockname()[1]
    hs, hr = hashlib.sha256(), hashlib.sha256()
    sent = got = 0

    def exchange(n):
        nonlocal sent, got
        data = os.urandom(n)
        hs.update(data)
        s.sendall(data)
        sent += n
        want = got + n
        while got < want:
            d = s.recv(want - got)
            if not d:
                raise OSError("EOF from the echo")
            hr.update(d)
            got += len(d)

    exchange(1 << 20)
    time.sleep(0.3)   # delayed ACKs go out; the connection is idle
    # What the wire says about the connection.
    c = learn_conn(link, pip, kport, sip, port)
    if c is None:
        out("could not learn the connection's sequence numbers from the wire")
        return 1
    R, S, W, wscale, k_tsval, s_tsval = c["R"], c["S"], c["W"], c["wscale"], c["k_tsval"], c["s_tsval"]
    out("CONN kport=%d R=%d S=%d W=%d wscale=%d" % (kport, R, S, W, wscale))
    rnd = random.Random(0xB11D)
    ts = tcp_opts(ts=(k_tsval, s_tsval))
    head = eth(smac, pmac)

    def frame(flags, seq, ack, payload=b""):
        return head + ipv4(pip, sip, 6, tcp(pip, sip, kport, port, seq, ack, flags, payload, win=502,
                                              opts=b"" if flags & TCP_RST else ts))

    def in_win(exact_share=0):
        if exact_share and rnd.random() < exact_share:
            return R
        return (R + rnd.randint(1, W - 1)) & 0xFFFFFFFF

    def out_win():
        return (R + W + rnd.randint(0, 0x7FFFFFFF - W)) & 0xFFFFFFFF

    plan = [("rst_in_window", 40), ("rst_out_of_window", 10), ("syn_in_window", 20), ("syn_out_of_window", 10),
            ("data_ack_too_new", 10), ("data_ack_too_old", 10)]
    evil = b"INJECTED" * 8
    tally = {name: 0 for name, _ in plan}

    def make(name):
        if name == "rst_in_window":
            return frame(TCP_RST, in_win(), 0)
        if name == "rst_out_of_window":
            return frame(TCP_RST, out_win(), 0)
        if name == "syn_in_window":
            return frame(TCP_SYN, in_win(), 0)
        if name == "syn_out_of_window":
            return frame(TCP_SYN, out_win(), 0)
        if name == "data_ack_too_new":
            return frame(TCP_ACK | TCP_PSH, in_win(0.125), S + 0x40000000 + rnd.randint(0, 1 << 20), evil)
        return frame(TCP_ACK | TCP_PSH, in_win(0.125), S - 0x40000000 - rnd.randint(0, 1 << 20), evil)

    # Rounds, driven by attack_blind.sh through STATEDIR: it writes go.N holding how many segments to send
    # (it counts how many reached Skiff and asks for the rest; 0 ends the injection), we answer sent.N.
    link.drain()
    open(os.path.join(statedir, "ready"), "w").close()
    total, secs, rnd_no = 0, 0.0, 0
    while True:
        rnd_no += 1
        go = os.path.join(statedir, "go.%d" % rnd_no)
        t_end = time.time() + 60
        while not os.path.exists(go) and time.time() < t_end:
            time.sleep(0.01)
        k = int(open(go).read().strip() or 0)
        if k <= 0:
            break
        frames = []
        left = k
        for i, (name, pct) in enumerate(plan):
            n = k * pct // 100 if i < len(plan) - 1 else left
            left -= n
            tally[name] += n
            frames += [make(name) for _ in range(n)]
        rnd.shuffle(frames)
        t0 = time.time()
        batch = 64
        for i in range(0, len(frames), batch):
            for f in frames[i:i + batch]:
                link.send(f)
            if rate > 0:
                ahead = t0 + (i + batch) / rate - time.time()
                if ahead > 0:
                    time.sleep(ahead)
            if i % 4096 == 0:
                link.recv_all(0)   # keep the capture socket from filling up
        secs += time.time() - t0
        total += len(frames)
        out("ROUND %d sent=%d" % (rnd_no, len(frames)))
        time.sleep(0.2)
        open(os.path.join(statedir, "sent.%d" % rnd_no), "w").close()
    for name, n in tally.items():
        out("SENT %s %d" % (name, n))
    out("INJECT sent=%d secs=%.3f rate=%d" % (total, secs, total / secs if secs > 0 else 0))
    # What Skiff sent during the injection: ACKs (challenge or duplicate) and, it must be, no RST.
    time.sleep(0.3)
    acks = rsts = 0
    for _ in range(20):
        fs = link.recv_all(0.05)
        if not fs:
            break
        for f in fs:
            p = parse_tcp_frame(f, want_src=sip)
            if p and p[2] == port and p[3] == kport:
                if p[6] & TCP_RST:
                    rsts += 1
                else:
                    acks += 1
    out("SKIFF_REPLIES acks=%d rsts=%d" % (acks, rsts))
    # The connection goes on.
    try:
        exchange(1 << 20)
        s.shutdown(socket.SHUT_WR)
        tail = s.recv(1)
        s.close()
    except OSError as e:
        out("RESULT connection broken after the injection: %s" % e)
        return 1
    ok = sent == got and hs.hexdigest() == hr.hexdigest() and tail == b"" and rsts == 0
    out("RESULT sent=%d received=%d sha_sent=%s sha_received=%s eof=%s match=%s" %
        (sent, got, hs.hexdigest(), hr.hexdigest(), tail == b"", "yes" if ok else "no"))
    return 0 if ok else 1


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) != 8:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(a[0], a[1], a[2], a[3], a[4], int(a[5]), int(a[6]), a[7]))
