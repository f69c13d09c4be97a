#!/usr/bin/env python3
"""Abusive clients for goproxyd (tests/faults/abuse.sh, tests/bench/bench-abuse.sh).

  abuse.py hold HOST PORT N [--garbage G] [--wait S]
      open N TCP connections that never send a byte, plus G that send random
      garbage instead of a ClientHello; print "ready OPEN", then wait up to S
      seconds for the server to close them and print "closed CLOSED OF TOTAL"
      (a connection counts as closed on EOF or reset).
  abuse.py churn HOST PORT N [--sni NAME]
      N connections in a row, each a full TLS handshake (no session
      resumption), then closed; print "done OK FAILED".
  abuse.py trickle HOST PORT N --for S
      keep N connections open to a port that may not be listening yet
      (retrying), each sending one byte every 2 s (a slowloris), reconnecting
      when the server closes one, for S seconds; print "trickled CONNECTS".
"""
import argparse
import os
import resource
import select
import socket
import ssl
import sys
import time


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def hold(a):
    raise_nofile()
    socks = []
    for i in range(a.n + a.garbage):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect((a.host, a.port))
        if i >= a.n:
            s.sendall(os.urandom(64 + i % 512))
        socks.append(s)
    print("ready %d" % len(socks), flush=True)
    deadline = time.monotonic() + a.wait
    open_ = {s.fileno(): s for s in socks}
    poller = select.poll()
    for fd in open_:
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    while open_ and time.monotonic() < deadline:
        for fd, ev in poller.poll(200):
            s = open_.get(fd)
            if s is None:
                continue
            try:
                data = s.recv(4096)
            except (ConnectionResetError, OSError):
                data = b""
            if not data:  # EOF or reset: the server closed it
                poller.unregister(fd)
                del open_[fd]
                s.close()
    total = len(socks)
    print("closed %d of %d" % (total - len(open_), total), flush=True)


def churn(a):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ok = bad = 0
    for _ in range(a.n):
        try:
            with socket.create_connection((a.host, a.port), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname=a.sni) as s:
                    s.do_handshake()
                    ok += 1
        except OSError:
            bad += 1
    print("done %d %d" % (ok, bad), flush=True)


def trickle(a):
    end = time.monotonic() + a.for_
    socks = []
    connects = 0
    while time.monotonic() < end:
        while len(socks) < a.n and time.monotonic() < end:
            try:
                s = socket.create_connection((a.host, a.port), timeout=1)
                s.sendall(b"G")
                socks.append(s)
                connects += 1
            except OSError:
                time.sleep(0.02)
        time.sleep(2 if socks else 0)
        for s in list(socks):
            try:
                s.sendall(b"E")
            except OSError:
                socks.remove(s)
                s.close()
    print("trickled %d" % connects, flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("hold")
    h.add_argument("host")
    h.add_argument("port", type=int)
    h.add_argument("n", type=int)
    h.add_argument("--garbage", type=int, default=0)
    h.add_argument("--wait", type=float, default=30)
    c = sub.add_parser("churn")
    c.add_argument("host")
    c.add_argument("port", type=int)
    c.add_argument("n", type=int)
    c.add_argument("--sni", default="localhost")
    t = sub.add_parser("trickle")
    t.add_argument("host")
    t.add_argument("port", type=int)
    t.add_argument("n", type=int)
    t.add_argument("--for", dest="for_", type=float, default=60)
    a = p.parse_args()
    {"hold": hold, "churn": churn, "trickle": trickle}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
