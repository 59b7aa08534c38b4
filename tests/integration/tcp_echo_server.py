#!/usr/bin/env python3
"""Kernel-side TCP echo server (RFC 862) that accounts for how each connection ended.

usage: tcp_echo_server.py PORT [FASTOPEN_QLEN [no-cookie]]

With FASTOPEN_QLEN the listener takes TCP Fast Open (TCP_FASTOPEN; the netns's tcp_fastopen sysctl needs
its server bit, 2); with "no-cookie" also TCP_FASTOPEN_NO_COOKIE (SYN data taken without a cookie).

Serves any number of connections at once (selectors). A connection ends "clean" when the peer's FIN
arrives after everything was echoed (then the server closes with its own FIN), "reset" when the peer
resets it. Prints "listening" once bound and, whenever a connection ends and on SIGINT/SIGTERM, a line
"echo-server: N connections: C clean, R reset, B bytes echoed, O open".
"""
import selectors
import signal
import socket
import sys

stats = {"conns": 0, "clean": 0, "reset": 0, "bytes": 0}
sel = selectors.DefaultSelector()


def report():
    print("echo-server: %d connections: %d clean, %d reset, %d bytes echoed, %d open"
          % (stats["conns"], stats["clean"], stats["reset"], stats["bytes"], len(sel.get_map()) - 1), flush=True)


def finish(c, how):
    sel.unregister(c)
    c.close()
    stats[how] += 1
    report()


def on_data(c):
    try:
        d = c.recv(65536)
    except ConnectionResetError:
        return finish(c, "reset")
    if not d:
        return finish(c, "clean")
    try:
        c.setblocking(True)
        c.settimeout(10)
        c.sendall(d)
        c.setblocking(False)
    except OSError:
        return finish(c, "reset")
    stats["bytes"] += len(d)


def on_accept(ls):
    c, _ = ls.accept()
    c.setblocking(False)
    stats["conns"] += 1
    sel.register(c, selectors.EVENT_READ, on_data)


def stop(*_):
    report()
    sys.exit(0)


def main():
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(sys.argv[1])))
    if len(sys.argv) > 2:
        ls.setsockopt(socket.IPPROTO_TCP, 23, int(sys.argv[2]))  # TCP_FASTOPEN
    if len(sys.argv) > 3 and sys.argv[3] == "no-cookie":
        ls.setsockopt(socket.IPPROTO_TCP, 34, 1)  # TCP_FASTOPEN_NO_COOKIE
    ls.listen(1024)
    ls.setblocking(False)
    sel.register(ls, selectors.EVENT_READ, on_accept)
    print("listening", flush=True)
    while True:
        for key, _ in sel.select():
            key.data(key.fileobj)


if __name__ == "__main__":
    main()
