#!/usr/bin/env python3
"""Abusive plain-HTTP clients for goproxyd's --http port (t-http-flood.sh).

  http-flood.py hold PORT N SOURCES [--wait S]
      open N TCP connections to 127.0.0.1:PORT that never send a byte, spread
      round-robin over the comma-separated source addresses SOURCES (e.g.
      127.0.0.1 or 127.0.1.1,127.0.1.2); print "ready N", keep them S seconds
      (default 30), then print "closed C of N" (closed by the server).
  http-flood.py trickle PORT SOURCE [--for S]
      one connection from SOURCE sending "GET / HTTP/1.1\\r\\n" one byte a second (a
      slowloris), for at most S seconds (default 30); print "closed after T"
      with the seconds until the server closed it, or "open after T".
"""
import argparse
import resource
import select
import socket
import sys
import time


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def closed(s):
    s.setblocking(False)  # a socket with a timeout would wait for data first
    try:
        return s.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def hold(a):
    raise_nofile()
    sources = a.sources.split(",")
    socks = []
    for i in range(a.n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((sources[i % len(sources)], 0))
        s.settimeout(10)
        s.connect(("127.0.0.1", a.port))
        socks.append(s)
    print("ready %d" % len(socks), flush=True)
    time.sleep(a.wait)
    print("closed %d of %d" % (sum(closed(s) for s in socks), len(socks)), flush=True)


def trickle(a):
    s = socket.create_connection(("127.0.0.1", a.port), timeout=10, source_address=(a.source, 0))
    start = time.monotonic()
    data = b"GET / HTTP/1.1\r\n" + b"X" * 1000
    i = 0
    while time.monotonic() - start < a.duration:
        r, _, _ = select.select([s], [], [], 1.0)
        if r and closed(s):
            print("closed after %.1f" % (time.monotonic() - start), flush=True)
            return
        try:
            s.send(data[i:i + 1])
        except OSError:
            print("closed after %.1f" % (time.monotonic() - start), flush=True)
            return
        i = (i + 1) % len(data)
    print("open after %.1f" % (time.monotonic() - start), flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("hold")
    h.add_argument("port", type=int)
    h.add_argument("n", type=int)
    h.add_argument("sources")
    h.add_argument("--wait", type=float, default=30)
    t = sub.add_parser("trickle")
    t.add_argument("port", type=int)
    t.add_argument("source")
    t.add_argument("--for", dest="duration", type=float, default=30)
    a = p.parse_args()
    {"hold": hold, "trickle": trickle}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
