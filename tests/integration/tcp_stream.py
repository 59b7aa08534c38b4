#!/usr/bin/env python3
"""Kernel-side TCP bulk transfer with SHA-256 and a progress log (for Skiff's TCP integration tests).

usage:
  tcp_stream.py sink PORT [--progress FILE]          accept one connection, read until EOF, close
  tcp_stream.py source HOST PORT BYTES [--seed N] [--progress FILE] [--cc NAME]
                                                     connect, send BYTES pseudo-random bytes, shut down
                                                     writing, read until EOF (expects nothing back);
                                                     --cc: the congestion control (TCP_CONGESTION) to
                                                     send with instead of the namespace's default
BYTES takes K/M/G suffixes (powers of 1024).

Prints "listening" (sink, once bound), then "received N sha256=HEX in T s (R MB/s)" (sink) or
"sent N sha256=HEX in T s (R MB/s)" (source); T runs from the connection's establishment to its end. Then
a line "tcp_info ..." with the kernel's view of the connection (RTT, RTO, cwnd, retransmissions, reordering).
With --progress, appends "SECONDS BYTES" every 0.1 s while the connection is up: the receiver's byte count
(sink) or, for the source, the bytes the peer has acknowledged (TCP_INFO tcpi_bytes_acked), so a stalled
peer shows as a flat line even while the kernel's send buffer still has room. Exit 0 on success.
"""
import hashlib
import os
import random
import socket
import struct
import sys
import threading
import time

CHUNK = 1 << 20
TCPI_BYTES_ACKED = 120  # offset of tcpi_bytes_acked in struct tcp_info (Linux >= 4.1)


def parse_size(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(s[-1:].upper(), 1)
    return int(float(s[:-1] if mult > 1 else s) * mult)


def bytes_acked(sock):
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    except OSError:
        return None
    if len(info) < TCPI_BYTES_ACKED + 8:
        return None
    return struct.unpack_from("=Q", info, TCPI_BYTES_ACKED)[0]


class Progress:
    """Logs (seconds since start, value()) every 0.1 s to a file until stopped."""

    def __init__(self, path, value):
        self.f = open(path, "a", buffering=1) if path else None
        self.value = value
        self.t0 = time.monotonic()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        if self.f:
            self.thread.start()

    def run(self):
        while not self.done.wait(0.1):
            v = self.value()
            if v is not None:
                self.f.write("%.2f %d\n" % (time.monotonic() - self.t0, v))

    def stop(self):
        self.done.set()
        if self.f:
            self.thread.join()
            v = self.value()
            if v is not None:
                self.f.write("%.2f %d\n" % (time.monotonic() - self.t0, v))
            self.f.close()


def tcp_info_line(sock):
    """struct tcp_info (linux/tcp.h) fields worth a look after a transfer over an impaired link."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    except OSError:
        return "tcp_info unavailable"
    u32 = lambda off: struct.unpack_from("=I", info, off)[0] if len(info) >= off + 4 else -1
    u64 = lambda off: struct.unpack_from("=Q", info, off)[0] if len(info) >= off + 8 else -1
    try:
        cc = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).split(b"\0", 1)[0].decode()
    except OSError:
        cc = "?"
    return ("tcp_info cc=" + cc + " rtt=%dus rto=%dus cwnd=%d ssthresh=%d total_retrans=%d bytes_retrans=%d reordering=%d "
            "dsack_dups=%d reord_seen=%d rcv_ooopack=%d bytes_acked=%d bytes_received=%d segs_out=%d segs_in=%d "
            "data_segs_out=%d data_segs_in=%d" % (u32(68), u32(8), u32(80), u32(76), u32(100), u64(208), u32(88),
                                                  u32(216), u32(220), u32(224), u64(120), u64(128), u32(136), u32(140),
                                                  u32(156), u32(152)))


def rate(n, t):
    return n / t / 1e6 if t > 0 else 0.0


def sink(port, progress):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(1)
    print("listening", flush=True)
    c, peer = ls.accept()
    ls.close()
    t0 = time.monotonic()
    h = hashlib.sha256()
    got = [0]
    p = Progress(progress, lambda: got[0])
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while True:
        n = c.recv_into(buf)
        if n == 0:
            break
        h.update(view[:n])
        got[0] += n
    t = time.monotonic() - t0
    p.stop()
    info = tcp_info_line(c)
    c.close()
    print("received %d sha256=%s in %.2f s (%.1f MB/s) from %s:%d" % (got[0], h.hexdigest(), t, rate(got[0], t), *peer),
          flush=True)
    print(info, flush=True)
    return 0


def source(host, port, total, seed, progress, cc=None):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if cc:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
    c.settimeout(30)
    c.connect((host, port))
    c.settimeout(None)
    t0 = time.monotonic()
    rng = random.Random(seed)
    h = hashlib.sha256()
    p = Progress(progress, lambda: bytes_acked(c))
    left = total
    while left:
        block = rng.randbytes(min(left, CHUNK))
        h.update(block)
        c.sendall(block)
        left -= len(block)
    c.shutdown(socket.SHUT_WR)
    extra = 0
    while True:  # the peer's FIN (after it has read everything) ends the transfer
        d = c.recv(65536)
        if not d:
            break
        extra += len(d)
    t = time.monotonic() - t0
    p.stop()
    info = tcp_info_line(c)
    c.close()
    print("sent %d sha256=%s in %.2f s (%.1f MB/s)" % (total, h.hexdigest(), t, rate(total, t)), flush=True)
    print(info, flush=True)
    if extra:
        print("unexpected %d bytes back" % extra, flush=True)
        return 1
    return 0


def main(argv):
    args, opts = [], {}
    i = 1
    while i < len(argv):
        if argv[i] in ("--progress", "--seed", "--cc"):
            opts[argv[i]] = argv[i + 1]
            i += 2
        else:
            args.append(argv[i])
            i += 1
    progress = opts.get("--progress")
    if args[:1] == ["sink"] and len(args) == 2:
        return sink(int(args[1]), progress)
    if args[:1] == ["source"] and len(args) == 4:
        return source(args[1], int(args[2]), parse_size(args[3]), int(opts.get("--seed", "1")), progress,
                      opts.get("--cc"))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:  # stopped by the test (SIGINT): it reads the progress log instead
        print("interrupted", flush=True)
        sys.exit(130)
