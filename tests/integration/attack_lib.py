"""Shared pieces of the over-the-wire attack tests (attack_*.sh): frame builders with struct (fast enough to
make 100,000 frames in a second), an AF_PACKET sender and receiver on the kernel's end of the veth, a
minimal scripted TCP peer ("RawTcp", an address the kernel does not own, so the kernel never answers for
it), and the kernel-socket echo transfer that checks SHA-256 both ways.

Everything here runs in the kernel's network namespace, as root.
"""
import hashlib
import os
import random
import select
import socket
import struct
import sys
import threading
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20


def out(*a):
    print(*a, flush=True)


def mac_bytes(m):
    return bytes.fromhex(m.replace(":", ""))


def ip_bytes(a):
    return socket.inet_aton(a)


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def csum(data):
    if len(data) % 2:
        data += b"\0"
    return (~fold(sum(struct.unpack("!%dH" % (len(data) // 2), data)))) & 0xFFFF


def eth(dst, src, etype=ETH_P_IP):
    return mac_bytes(dst) + mac_bytes(src) + struct.pack("!H", etype)


def ipv4(src, dst, proto, payload, ident=0, ttl=64, flags_frag=0x4000, tot_len=None, ihl=5, opts=b"", chk=None):
    """An IPv4 header (+ payload). tot_len/ihl/chk override the true values (for bad-length frames)."""
    hl = 20 + len(opts)
    tl = hl + len(payload) if tot_len is None else tot_len
    h = struct.pack("!BBHHHBBH4s4s", (4 << 4) | ihl, 0, tl, ident, flags_frag, ttl, proto, 0, ip_bytes(src),
                    ip_bytes(dst)) + opts
    c = csum(h) if chk is None else chk
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def tcp_opts(mss=None, wscale=None, sack_perm=False, ts=None, sack=(), raw=b""):
    """TCP options, padded with NOPs to a multiple of 4; `raw` is appended as is (malformed options)."""
    o = b""
    if mss is not None:
        o += struct.pack("!BBH", 2, 4, mss)
    if sack_perm:
        o += b"\x04\x02"
    if ts is not None:
        o += b"\x01\x01" + struct.pack("!BBII", 8, 10, ts[0], ts[1])
    if wscale is not None:
        o += b"\x01" + struct.pack("!BBB", 3, 3, wscale)
    if sack:
        o += b"\x01\x01" + struct.pack("!BB", 5, 2 + 8 * len(sack)) + b"".join(struct.pack("!II", l & 0xFFFFFFFF,
                                                                                       r & 0xFFFFFFFF) for l, r in sack)
    o += raw
    while len(o) % 4:
        o += b"\x01" if not raw else b"\x00"
    return o


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", win=65535, opts=b"", urg=0, doff=None, chk=None):
    """A TCP header (+ payload) with a correct checksum unless `chk` is given; `doff` overrides the data
    offset (in 32-bit words)."""
    d = (20 + len(opts)) // 4 if doff is None else doff
    h = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, d << 4, flags, win, 0, urg) + opts
    seg = h + payload
    if chk is None:
        ph = ip_bytes(src) + ip_bytes(dst) + struct.pack("!BBH", 0, 6, len(seg))
        chk = csum(ph + seg)
    return seg[:16] + struct.pack("!H", chk) + seg[18:]


def parse_tcp_frame(f, want_src=None):
    """(ip_src, ip_dst, sport, dport, seq, ack, flags, win, payload, opts) of an Ethernet/IPv4/TCP frame, or None."""
    if len(f) < 14 + 20 + 20 or f[12:14] != b"\x08\x00" or f[23] != 6:
        return None
    ihl = (f[14] & 0xF) * 4
    tl = struct.unpack("!H", f[16:18])[0]
    src, dst = socket.inet_ntoa(f[26:30]), socket.inet_ntoa(f[30:34])
    if want_src and src != want_src:
        return None
    t = f[14 + ihl:14 + tl]
    sport, dport, seq, ack, off, flags, win = struct.unpack("!HHIIBBH", t[:16])
    doff = (off >> 4) * 4
    return src, dst, sport, dport, seq, ack, flags, win, t[doff:], t[20:doff]


def parse_opts(o):
    """{'mss':.., 'ts': (val, ecr), 'wscale':.., 'sack': [...]} of well-formed options."""
    r, i = {}, 0
    while i < len(o):
        k = o[i]
        if k == 0:
            break
        if k == 1:
            i += 1
            continue
        ln = o[i + 1]
        if k == 2:
            r["mss"] = struct.unpack("!H", o[i + 2:i + 4])[0]
        elif k == 3:
            r["wscale"] = o[i + 2]
        elif k == 8:
            r["ts"] = struct.unpack("!II", o[i + 2:i + 10])
        elif k == 5:
            r["sack"] = [struct.unpack("!II", o[j:j + 8]) for j in range(i + 2, i + ln, 8)]
        i += ln
    return r


class Link:
    """An AF_PACKET socket on the kernel's end of the veth: sends whole frames, receives every frame."""

    def __init__(self, ifname, recv=True):
        self.tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        self.tx.bind((ifname, 0))
        try:
            self.tx.setsockopt(263, 20, 1)  # SOL_PACKET, PACKET_QDISC_BYPASS
        except OSError:
            pass
        self.rx = None
        if recv:
            self.rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            self.rx.bind((ifname, 0))
            self.rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
            self.rx.setblocking(False)

    def send(self, frame):
        n = self.tx.send(frame)
        assert n == len(frame), (n, len(frame))

    def recv_all(self, timeout=0.0, outgoing=False):
        """Frames that arrived (waits up to `timeout` for the first). Outgoing frames (the kernel's and
        other sockets') are skipped unless `outgoing`."""
        got = []
        if select.select([self.rx], [], [], timeout)[0]:
            while True:
                try:
                    f, addr = self.rx.recvfrom(65536)
                except BlockingIOError:
                    break
                if outgoing or addr[2] != socket.PACKET_OUTGOING:
                    got.append(f)
        return got

    def drain(self):
        while self.recv_all(0):
            pass


class RawTcp:
    """A scripted TCP peer at an address behind the kernel (Skiff routes to it via its gateway, the kernel,
    which drops those frames silently: it does not forward). Sends what it is told; `pump` collects what
    Skiff sends and, with auto-ACK on, ACKs in-order data like a plain receiver."""

    def __init__(self, link, smac, pmac, my_ip, sip, sport, dport=7, mss=1460, wscale=None, sack_perm=True, ts=True,
                 isn=None):
        self.l, self.smac, self.pmac = link, smac, pmac
        self.ip, self.sip, self.sport, self.dport = my_ip, sip, sport, dport
        self.iss = random.getrandbits(32) if isn is None else isn
        self.snd_nxt = self.iss
        self.rcv_nxt = None
        self.mss, self.wscale, self.sack_perm, self.ts = mss, wscale, sack_perm, ts
        self.ts_val = 1000
        self.peer_ts = 0
        self.received = bytearray()
        self.segs = []        # (seq, flags, len, opts) of every segment Skiff sent us
        self.peer_fin = False
        self.rst = False
        self.auto_ack = True
        self.win = 65535

    def frame(self, flags, payload=b"", seq=None, ack=None, opts=None, win=None, urg=0, doff=None, chk=None):
        if opts is None:
            opts = tcp_opts(ts=(self.ts_val, self.peer_ts)) if self.ts else b""
        if ack is None:
            ack = self.rcv_nxt or 0
        t = tcp(self.ip, self.sip, self.sport, self.dport, self.snd_nxt if seq is None else seq, ack, flags, payload,
                win=self.win if win is None else win, opts=opts, urg=urg, doff=doff, chk=chk)
        return eth(self.smac, self.pmac) + ipv4(self.ip, self.sip, 6, t)

    def send(self, flags, payload=b"", **kw):
        self.l.send(self.frame(flags, payload, **kw))
        self.ts_val += 1

    def pump(self, timeout=0.05):
        """Processes what Skiff sent; returns the number of segments for this connection."""
        n = 0
        for f in self.l.recv_all(timeout):
            p = parse_tcp_frame(f, want_src=self.sip)
            if not p or p[1] != self.ip or p[2] != self.dport or p[3] != self.sport:
                continue
            _, _, _, _, seq, ack, flags, win, data, opts = p
            n += 1
            o = parse_opts(opts)
            if "ts" in o:
                self.peer_ts = o["ts"][0]
            self.segs.append((seq, flags, len(data), o))
            if flags & TCP_RST:
                self.rst = True
                continue
            if flags & TCP_SYN:
                self.rcv_nxt = (seq + 1) & 0xFFFFFFFF
                self.synack_opts = o
                continue
            if data and seq == self.rcv_nxt:
                self.received += data
                self.rcv_nxt = (self.rcv_nxt + len(data)) & 0xFFFFFFFF
            if flags & TCP_FIN and (seq + len(data)) & 0xFFFFFFFF == self.rcv_nxt:
                self.rcv_nxt = (self.rcv_nxt + 1) & 0xFFFFFFFF
                self.peer_fin = True
            if self.auto_ack and (data or flags & TCP_FIN):
                self.send(TCP_ACK)
        return n

    def connect(self, timeout=3.0):
        opts = tcp_opts(mss=self.mss, wscale=self.wscale, sack_perm=self.sack_perm,
                        ts=(self.ts_val, 0) if self.ts else None)
        t_end = time.time() + timeout
        while time.time() < t_end and self.rcv_nxt is None:
            self.send(TCP_SYN, seq=self.iss, ack=0, opts=opts)
            t1 = time.time() + 1.0
            while time.time() < t1 and self.rcv_nxt is None:
                self.pump(0.05)
        if self.rcv_nxt is None:
            return False
        self.snd_nxt = (self.iss + 1) & 0xFFFFFFFF
        self.send(TCP_ACK)
        return True

    def send_data(self, data, flags=TCP_ACK | TCP_PSH, **kw):
        self.send(flags, data, **kw)
        self.snd_nxt = (self.snd_nxt + len(data)) & 0xFFFFFFFF

    def wait_received(self, n, timeout=5.0):
        t_end = time.time() + timeout
        while len(self.received) < n and time.time() < t_end:
            self.pump(0.05)
        return len(self.received) >= n

    def close(self, timeout=3.0):
        """FIN, then wait for Skiff's FIN (the echo closes once we did); ACK it. True on a clean close."""
        self.send(TCP_FIN | TCP_ACK)
        self.snd_nxt = (self.snd_nxt + 1) & 0xFFFFFFFF
        t_end = time.time() + timeout
        while not self.peer_fin and not self.rst and time.time() < t_end:
            self.pump(0.05)
        return self.peer_fin and not self.rst

    def abort(self):
        self.send(TCP_RST | TCP_ACK)


def learn_conn(link, pip, kport, sip, port, timeout=0.1):
    """Skiff's RCV.NXT (R), SND.NXT (S), window (W, scaled) and the newest TSvals of both ends, from the
    frames of the kernel connection kport <-> port captured on `link` since it was opened (the handshake
    included). Returns a dict, or None."""
    R = S = None
    wscale, win, k_tsval, s_tsval = 0, 65535, 0, 0
    for f in link.recv_all(timeout, outgoing=True) + link.recv_all(timeout, outgoing=True):
        p = parse_tcp_frame(f)
        if not p:
            continue
        src, dst, sp, dp, seq, ack, flags, w, data, opts = p
        o = parse_opts(opts)
        end = (seq + len(data) + (1 if flags & (TCP_SYN | TCP_FIN) else 0)) & 0xFFFFFFFF
        if src == pip and sp == kport and dp == port:        # kernel -> Skiff
            if R is None or ((end - R) & 0xFFFFFFFF) < 0x80000000:
                R = end
            if "ts" in o:
                k_tsval = o["ts"][0]
        elif src == sip and sp == port and dp == kport:      # Skiff -> kernel
            if S is None or ((end - S) & 0xFFFFFFFF) < 0x80000000:
                S = end
            if flags & TCP_SYN:
                wscale = o.get("wscale", 0)
            else:
                win = w << wscale
            if "ts" in o:
                s_tsval = o["ts"][0]
    if R is None or S is None:
        return None
    return {"R": R, "S": S, "W": max(2, min(win, 1 << 20)), "wscale": wscale, "k_tsval": k_tsval,
            "s_tsval": s_tsval}


def pattern(n, seed):
    r = random.Random(seed)
    return bytes(r.getrandbits(8) for _ in range(n))


def echo_xfer(host, port, total, duration=None, progress=None, timeout=60.0, chunk=65536, stopfile=None):
    """Sends `total` pseudo-random bytes (or, with `duration`, as many as fit in that many seconds) to a TCP
    echo service and reads them back; returns (sent, received, sha_sent, sha_received, seconds). With
    `progress` (a file), writes "SECONDS BYTES_RECEIVED" lines every 0.1 s. With `stopfile`, the sending
    also ends once that file exists."""
    s = socket.create_connection((host, port), timeout=10)
    s.settimeout(timeout)
    block = os.urandom(1 << 20)
    hs, hr = hashlib.sha256(), hashlib.sha256()
    st = {"sent": 0, "recv": 0, "err": None}
    t0 = time.time()

    def reader():
        try:
            while True:
                d = s.recv(1 << 18)
                if not d:
                    break
                hr.update(d)
                st["recv"] += len(d)
        except OSError as e:
            st["err"] = "recv: %s" % e

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    stop_p = threading.Event()
    if progress:
        def prog():
            with open(progress, "w") as pf:
                while not stop_p.is_set():
                    pf.write("%.2f %d\n" % (time.time() - t0, st["recv"]))
                    pf.flush()
                    time.sleep(0.1)
                pf.write("%.2f %d\n" % (time.time() - t0, st["recv"]))
        pt = threading.Thread(target=prog, daemon=True)
        pt.start()
    off = 0
    try:
        while True:
            if stopfile and os.path.exists(stopfile):
                break
            if duration is not None:
                if time.time() - t0 >= duration:
                    break
                n = chunk
            else:
                n = min(chunk, total - st["sent"])
                if n <= 0:
                    break
            piece = block[off:off + n]
            if len(piece) < n:
                off = 0
                piece = block[:n]
            off += n
            s.sendall(piece)
            hs.update(piece)
            st["sent"] += n
        s.shutdown(socket.SHUT_WR)
    except OSError as e:
        st["err"] = "send: %s" % e
    th.join(timeout)
    stop_p.set()
    s.close()
    return st["sent"], st["recv"], hs.hexdigest(), hr.hexdigest(), time.time() - t0, st["err"]


def main_xfer(argv):
    """attack_lib.py xfer HOST PORT BYTES [DURATION_S [PROGRESS_FILE [STOP_FILE]]]: prints
    'XFER sent=N received=M sha_sent=.. sha_received=.. secs=S err=..' and exits 0 when the echo matched."""
    host, port, total = argv[0], int(argv[1]), int(argv[2])
    duration = float(argv[3]) if len(argv) > 3 and float(argv[3]) > 0 else None
    progress = argv[4] if len(argv) > 4 else None
    stopfile = argv[5] if len(argv) > 5 else None
    try:
        sent, recv, a, b, secs, err = echo_xfer(host, port, total, duration, progress, stopfile=stopfile)
    except OSError as e:
        out("XFER error=%s" % e)
        return 1
    ok = sent == recv and a == b and err is None and sent > 0
    out("XFER sent=%d received=%d sha_sent=%s sha_received=%s secs=%.2f err=%s match=%s" %
        (sent, recv, a, b, secs, err, "yes" if ok else "no"))
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "xfer":
        sys.exit(main_xfer(sys.argv[2:]))
    print("usage: attack_lib.py xfer HOST PORT BYTES [DURATION_S [PROGRESS_FILE [STOP_FILE]]]", file=sys.stderr)
    sys.exit(2)
