#!/usr/bin/env python3
"""A userspace stand-in for netem: forwards Ethernet frames between two interfaces, impairing IPv4 ones.

usage: tcp_impair.py IF_A IF_B [--loss PCT] [--duplicate PCT] [--corrupt PCT] [--reorder PCT] [--delay-ms MS]
                     [--limit N] [--seed N]

Both directions get netem's semantics for "delay D loss L reorder R duplicate P": each IPv4 frame is lost
with probability L; otherwise it goes out twice with probability P; it is corrupted with probability C
(--corrupt: one random bit flipped, as netem does, but always inside the IPv4 datagram, header or payload,
never in the Ethernet header or padding, so that the IPv4 header checksum or the TCP/UDP/ICMP checksum no
longer holds and the receiver must drop it; a duplicate is corrupted on its own draw); each copy is sent at once with
probability R (jumping the queue) or else after D ms (in order with the other delayed frames). At most
--limit frames wait per direction (more are dropped, like netem's limit). Non-IPv4 frames (ARP) pass
untouched and at once. Prints "forwarding" once both sockets are bound and, on SIGUSR1 and at exit
(SIGINT/SIGTERM), per direction: "impair A>B: N in, F out, L lost, D duplicated, C corrupted, R reordered,
Q queue drops, S socket drops" (S: frames the kernel dropped because this process did not keep up).

Run it in a namespace holding IF_A and IF_B (no addresses). The senders must not offload segmentation or
checksums (ethtool -K IF tso off gso off tx off), since frames are forwarded as they come.
"""
import collections
import os
import random
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_STATISTICS = 6
PACKET_IGNORE_OUTGOING = 23
BATCH = 64


class Dir:
    def __init__(self, name, rx, tx):
        self.name, self.rx, self.tx = name, rx, tx
        self.queue = collections.deque()  # (due, frame), in due order (one fixed delay)
        self.n_in = self.n_out = self.lost = self.dup = self.corrupt = self.reord = self.qdrop = self.sockdrop = 0

    def report(self):
        # Frames the kernel dropped before we read them (our socket's receive queue overflowed): losses on top
        # of the impairment, so the log must show them (PACKET_STATISTICS resets on read: accumulate).
        try:
            self.sockdrop += struct.unpack("=II", self.rx.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))[1]
        except OSError:
            pass
        return ("impair %s: %d in, %d out, %d lost, %d duplicated, %d corrupted, %d reordered, %d queue drops, "
                "%d socket drops" % (self.name, self.n_in, self.n_out, self.lost, self.dup, self.corrupt, self.reord,
                                     self.qdrop, self.sockdrop))


def flip_bit(frame, rng):
    """FRAME (an IPv4 Ethernet frame) with one random bit of its IPv4 datagram flipped, or None when the datagram
    is too short to hold a header. A single flipped bit always breaks a ones' complement checksum over it (it
    changes one 16-bit word by 2^k, never a multiple of 0xffff), so the header's or the transport's checksum
    fails."""
    if len(frame) < 14 + 20:
        return None
    end = min(len(frame), 14 + struct.unpack_from("!H", frame, 16)[0])  # tot_len: Ethernet padding excluded
    if end < 14 + 20:
        return None
    i = 14 + rng.randrange(end - 14)
    out = bytearray(frame)
    out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def open_sock(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
    try:
        s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)  # not our own transmissions (Linux >= 4.20)
    except OSError:
        pass  # they are skipped by their PACKET_OUTGOING type below
    s.bind((ifname, 0))
    s.setblocking(False)
    return s


def main(argv):
    args, opts = [], {"--loss": "0", "--duplicate": "0", "--corrupt": "0", "--reorder": "0", "--delay-ms": "0", "--limit": "1000",
                      "--seed": str(os.getpid())}
    i = 1
    while i < len(argv):
        if argv[i] in opts:
            opts[argv[i]] = argv[i + 1]
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) != 2:
        sys.stderr.write(__doc__)
        return 2
    loss = float(opts["--loss"]) / 100
    dup = float(opts["--duplicate"]) / 100
    corrupt = float(opts["--corrupt"]) / 100
    reorder = float(opts["--reorder"]) / 100
    delay = float(opts["--delay-ms"]) / 1000
    limit = int(opts["--limit"])
    rng = random.Random(int(opts["--seed"]))
    a, b = open_sock(args[0]), open_sock(args[1])
    dirs = {a: Dir("%s>%s" % (args[0], args[1]), a, b), b: Dir("%s>%s" % (args[1], args[0]), b, a)}

    def report(*_):
        for d in dirs.values():
            print(d.report(), flush=True)

    def stop(*_):
        report()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGUSR1, report)
    print("forwarding %s <-> %s: loss %g%% duplicate %g%% corrupt %g%% reorder %g%% delay %g ms (seed %s)"
          % (args[0], args[1], loss * 100, dup * 100, corrupt * 100, reorder * 100, delay * 1000, opts["--seed"]),
          flush=True)

    def send(d, frame):
        try:
            d.tx.send(frame)
            d.n_out += 1
        except BlockingIOError:
            d.qdrop += 1  # the device queue is full: lost, as on a real link
        except OSError as e:
            print("impair %s: send: %s" % (d.name, e), flush=True)

    socks = [a, b]
    while True:
        now = time.monotonic()
        timeout = 1.0
        for d in dirs.values():
            while d.queue and d.queue[0][0] <= now:
                send(d, d.queue.popleft()[1])
            if d.queue:
                timeout = min(timeout, d.queue[0][0] - now)
        readable, _, _ = select.select(socks, [], [], max(timeout, 0))
        for s in readable:
            d = dirs[s]
            for _ in range(BATCH):
                try:
                    frame, addr = s.recvfrom(65536)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue  # our own transmission on this interface
                d.n_in += 1
                if len(frame) < 14 or frame[12:14] != b"\x08\x00":
                    send(d, frame)  # not IPv4 (ARP): untouched
                    continue
                if rng.random() < loss:
                    d.lost += 1
                    continue
                copies = 1
                if rng.random() < dup:
                    d.dup += 1
                    copies = 2
                for _ in range(copies):
                    out = frame
                    if corrupt and rng.random() < corrupt:
                        bad = flip_bit(frame, rng)
                        if bad is not None:
                            d.corrupt += 1
                            out = bad
                    if delay == 0 or rng.random() < reorder:
                        if d.queue:
                            d.reord += 1
                        send(d, out)
                    elif len(d.queue) >= limit:
                        d.qdrop += 1
                    else:
                        d.queue.append((time.monotonic() + delay, out))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
