#!/usr/bin/env python3
"""Fault-injecting HTTPS relay placed in front of a real ACME server (pebble).

Every request is forwarded to the upstream server with its Host header
unchanged, so pebble builds every URL (directory, orders, nonces) with the
relay's address and the client keeps talking to the relay. On top of that the
relay can break things on purpose:

  --ratelimit-neworder S  answer POST newOrder with 429 urn:ietf:params:acme:
                          error:rateLimited and "Retry-After: S" (RFC 8555
                          §6.6); nothing reaches pebble. With
                          --ratelimit-after K the first K newOrders pass;
                          --ratelimit-detail TEXT is its detail (say, Let's
                          Encrypt's "... Please visit: UNPAUSE-URL").
  --fail-first N          answer the first N requests with 503 and
                          "Retry-After: --retry-after" (a plain-text body, as
                          a load balancer would send).
  --drop-every N          every Nth request: read it, then close the
                          connection without an answer.
  --slow S                sleep S seconds before answering.
  --truncate-json         forward, but cut the response body in half
                          (Content-Length matches the cut body).
  --wrong-content-type    forward, but say Content-Type: text/html.
  --html-page             answer 200 with an HTML page instead (a captive
                          portal or a misconfigured proxy in the way).

--match SUBSTR limits --slow/--truncate-json/--wrong-content-type/--html-page/--drop-every
to requests whose path contains SUBSTR ("@newOrder", "@newAccount",
"@newNonce", "@directory" name the paths read from the upstream directory);
--fault-limit N applies those faults to the first N matching requests only.

ARI and profiles beyond what pebble 2.10 does itself (any window, Retry-After
and explanationURL, refusals of replaces, a CA without ARI or profiles;
opt-in; without them nothing changes):

  --ari SPEC              RFC 9773 ARI: the directory gains "renewalInfo"
                          (https://RELAY/relay-ari/renewalInfo) and the relay
                          answers GET renewalInfo/CERTID itself with
                          {"suggestedWindow": {"start", "end"}}. SPEC is
                          START,END[,retry-after=S][,explanation=URL]; START
                          and END are "now", now+-N[smhd] ("+10d", "-2h") or
                          RFC 3339 times. "@FILE" reads SPEC from FILE at
                          every request (a test can move the window); there
                          SPEC may also be "drop" (close the connection
                          unanswered) or "status=N" (a problem with status N).
  --ari-url URL           advertise URL as renewalInfo instead of the relay's
                          own (a CA with a broken directory; "" allowed).
  --already-replaced N    answer the first N newOrders whose JWS payload has
                          "replaces" with 409 urn:ietf:params:acme:error:
                          alreadyReplaced (RFC 9773 §5); nothing reaches pebble.
  --refuse-replaces T,... the same with a problem type per refusal, in order
                          (alreadyReplaced: 409, any other: 400), e.g.
                          "alreadyReplaced,malformed".
  --profiles N=DESC,...   draft-aaron-acme-profiles: the directory gains
                          meta.profiles {N: DESC, ...}. The relay does not
                          check the profile; it only logs it.

A CA whose clock differs from the client's (the client's clock is wrong):

  --date-offset S         every answer's Date header (RFC 9110 §6.6.1) is
                          now+S seconds (S may be negative); pebble's own
                          Date is dropped.

A CA that sends the wrong certificate:

  --replace-cert FILE     every answer with Content-Type
                          application/pem-certificate-chain gets FILE's bytes
                          as its body instead (a certificate for another key,
                          other names, or expired).

A CA that refuses a name (a failing renewal that does not depend on a
failed validation: pebble 2.10 reuses a valid authorization of the account
1 time in 100 even with PEBBLE_AUTHZREUSE=0, so a wrong solver alone may
still renew):

  --refuse-names FILE     a newOrder with an identifier listed in FILE (one
                          a line, read at every order; no file: none) gets
                          403 urn:ietf:params:acme:error:rejectedIdentifier.

--log FILE gets one line per request: "METHOD PATH STATUS" (STATUS is "DROP"
for a dropped connection). With --ari, --already-replaced, --refuse-replaces,
--profiles or --log-orders, a newOrder line ends in " replaces=ID profile=NAME" (decoded
from the flattened JWS payload; "-" when the field is absent) and a
renewalInfo line ends in " certid=ID". --port-file FILE gets the listening port once the
relay is ready. Python standard library only.
"""

import argparse
import base64
import datetime
import http.client
import http.server
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
               "te", "trailer", "upgrade", "expect", "content-length"}


class Relay:
    """Shared state of all handler threads."""

    def __init__(self, args):
        self.args = args
        up = urllib.parse.urlsplit(args.upstream)
        if up.scheme != "https":
            raise SystemExit("relay: --upstream must be an https:// URL")
        self.up_host = up.hostname
        self.up_port = up.port or 443
        self.up_dir_path = up.path or "/"
        if args.upstream_ca:
            self.up_ctx = ssl.create_default_context(cafile=args.upstream_ca)
        else:
            self.up_ctx = ssl._create_unverified_context()  # loopback pebble only
            self.up_ctx.check_hostname = False
        self.lock = threading.Lock()
        self.count = 0          # every request, in arrival order
        self.matched = 0        # requests that matched --match
        self.neworders = 0      # newOrder POSTs seen
        self.replaced_refused = 0   # newOrders answered alreadyReplaced
        self.ari_path = "/relay-ari/renewalInfo"
        self.profiles = parse_profiles(args.profiles) if args.profiles else None
        if args.refuse_replaces:
            self.refuse_types = [t for t in args.refuse_replaces.split(",") if t]
        else:
            self.refuse_types = ["alreadyReplaced"] * args.already_replaced
        self.log_orders = bool(args.ari or self.refuse_types or args.profiles or args.log_orders)
        self.log = open(args.log, "a", buffering=1) if args.log else None
        self.paths = {"directory": self.up_dir_path}
        self.learn_directory()

    def upstream(self):
        return http.client.HTTPSConnection(self.up_host, self.up_port, context=self.up_ctx,
                                           timeout=self.args.upstream_timeout)

    def learn_directory(self):
        # Pebble may still be starting: retry for a while.
        deadline = time.monotonic() + 30
        while True:
            try:
                c = self.upstream()
                # pebble 2.10 refuses a request without User-Agent (400)
                c.request("GET", self.up_dir_path, headers={"User-Agent": "goproxy-cert-test-relay"})
                r = c.getresponse()
                body = r.read()
                c.close()
                if r.status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("relay: upstream directory %s does not answer" % self.args.upstream)
            time.sleep(0.2)
        d = json.loads(body)
        for k in ("newNonce", "newAccount", "newOrder", "revokeCert", "keyChange", "renewalInfo"):
            if isinstance(d.get(k), str):
                self.paths[k] = urllib.parse.urlsplit(d[k]).path

    def match_path(self, path):
        m = self.args.match
        if not m:
            return True
        if m.startswith("@"):
            p = self.paths.get(m[1:])
            return p is not None and path.split("?")[0] == p
        return m in path

    def record(self, method, path, status, extra=""):
        if self.log:
            with self.lock:
                self.log.write("%s %s %s%s\n" % (method, path, status, extra))

    def rewrite_directory(self, body, host):
        """The directory with renewalInfo / meta.profiles added."""
        d = json.loads(body)
        if self.args.no_ari:
            d.pop("renewalInfo", None)
        if self.args.ari:
            d["renewalInfo"] = ("https://%s%s" % (host, self.ari_path) if self.args.ari_url is None
                                else self.args.ari_url)
        if self.args.no_profiles and isinstance(d.get("meta"), dict):
            d["meta"].pop("profiles", None)
        if self.profiles is not None:
            meta = d.get("meta")
            if not isinstance(meta, dict):
                meta = {}
            meta["profiles"] = self.profiles
            d["meta"] = meta
        return json.dumps(d, indent=2).encode()

    def ari_spec(self):
        spec = self.args.ari
        if spec.startswith("@"):
            with open(spec[1:]) as f:
                spec = f.read().strip()
        return spec

    def ari_window(self, spec):
        """(start, end, retry_after or None, explanation or None) from SPEC."""
        parts = [x.strip() for x in spec.split(",")]
        if len(parts) < 2:
            raise ValueError("--ari: START,END expected, got %r" % spec)
        now = time.time()
        start, end = parse_when(parts[0], now), parse_when(parts[1], now)
        retry, expl = None, None
        for x in parts[2:]:
            k, _, v = x.partition("=")
            if k == "retry-after":
                retry = v
            elif k == "explanation":
                expl = v
            else:
                raise ValueError("--ari: unknown field %r" % x)
        return start, end, retry, expl


def parse_profiles(spec):
    out = {}
    for item in spec.split(","):
        name, sep, desc = item.partition("=")
        if not name or not sep:
            raise SystemExit("relay: --profiles: NAME=DESC expected, got %r" % item)
        out[name] = desc
    return out


def refused_names(fname, payload):
    """The first identifier of a newOrder payload listed in FILE (one name a
    line; read at every order so a test can change it), else None."""
    try:
        with open(fname) as f:
            names = {ln.strip() for ln in f if ln.strip()}
    except FileNotFoundError:
        return None
    ids = payload.get("identifiers") if isinstance(payload, dict) else None
    for i in ids if isinstance(ids, list) else []:
        v = i.get("value") if isinstance(i, dict) else None
        if isinstance(v, str) and v in names:
            return v
    return None


def parse_when(v, now):
    """'now', now+-N[smhd] or an RFC 3339 time -> unix time."""
    if v == "now":
        return now
    if v[:1] in "+-":
        mult = {"s": 1, "m": 60, "h": 3600, "d": 86400}
        unit = v[-1] if v[-1] in mult else "s"
        num = v[1:-1] if v[-1] in mult else v[1:]
        return now + (1 if v[0] == "+" else -1) * int(num) * mult[unit]
    return datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()


def rfc3339(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jws_payload(body):
    """The JSON payload of a flattened JWS (RFC 7515 §7.2.2), or {}."""
    try:
        p = json.loads(body).get("payload", "")
        return json.loads(b64url_decode(p)) if p else {}
    except (ValueError, AttributeError, TypeError):
        return {}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "relay"
    sys_version = ""

    def date_time_string(self, timestamp=None):
        if timestamp is None:
            timestamp = time.time() + self.server.relay.args.date_offset
        return super().date_time_string(timestamp)

    def log_message(self, fmt, *a):
        if self.server.relay.args.verbose:
            sys.stderr.write("relay: " + (fmt % a) + "\n")

    def do_GET(self):
        self.relay_request()

    def do_HEAD(self):
        self.relay_request()

    def do_POST(self):
        self.relay_request()

    def reply(self, status, headers, body, method):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def drop(self):
        """Close the connection without an answer (RST)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def fresh_nonce(self):
        rl = self.server.relay
        try:
            c = rl.upstream()
            c.request("HEAD", rl.paths.get("newNonce", "/nonce-plz"),
                      headers={"Host": self.headers.get("Host", ""),
                               "User-Agent": self.headers.get("User-Agent", "goproxy-cert-test-relay")})
            r = c.getresponse()
            r.read()
            c.close()
            return r.getheader("Replay-Nonce")
        except OSError:
            return None

    def relay_request(self):
        rl = self.server.relay
        a = rl.args
        method = self.command
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        path = self.path
        with rl.lock:
            rl.count += 1
            idx = rl.count
            matched = rl.match_path(path)
            if matched:
                rl.matched += 1
            in_limit = matched and (a.fault_limit == 0 or rl.matched <= a.fault_limit)

        # Dropped connection: the request was read, no answer is ever sent.
        if a.drop_every and in_limit and idx % a.drop_every == 0:
            rl.record(method, path, "DROP")
            self.drop()
            return

        if a.slow and in_limit:
            time.sleep(a.slow)

        if a.fail_first and idx <= a.fail_first:
            rl.record(method, path, 503)
            self.reply(503, [("Content-Type", "text/plain"),
                             ("Retry-After", str(a.retry_after))],
                       b"503 Service Unavailable (relay)\n", method)
            return

        # RFC 9773 §4.2: GET renewalInfo/CERTID, answered by the relay.
        if a.ari and method in ("GET", "HEAD") and path.startswith(rl.ari_path + "/"):
            cert_id = path[len(rl.ari_path) + 1:].split("?")[0]
            try:
                spec = rl.ari_spec()
                if spec == "drop":
                    rl.record(method, path, "DROP", " certid=" + cert_id)
                    self.drop()
                    return
                if spec.startswith("status="):
                    st = int(spec[7:])
                    rl.record(method, path, st, " certid=" + cert_id)
                    self.reply(st, [("Content-Type", "application/problem+json")],
                               json.dumps({"type": "urn:ietf:params:acme:error:serverInternal",
                                           "detail": "renewalInfo unavailable (relay)",
                                           "status": st}).encode(), method)
                    return
                start, end, retry, expl = rl.ari_window(spec)
            except (OSError, ValueError) as e:
                rl.record(method, path, 500, " certid=" + cert_id)
                self.reply(500, [("Content-Type", "text/plain")], ("relay: %s\n" % e).encode(), method)
                return
            ri = {"suggestedWindow": {"start": rfc3339(start), "end": rfc3339(end)}}
            if expl:
                ri["explanationURL"] = expl
            hdrs = [("Content-Type", "application/json")]
            if retry:
                hdrs.append(("Retry-After", retry))
            rl.record(method, path, 200, " certid=" + cert_id)
            self.reply(200, hdrs, json.dumps(ri).encode(), method)
            return

        is_neworder = method == "POST" and path.split("?")[0] == rl.paths.get("newOrder")
        order_extra = ""
        if is_neworder:
            with rl.lock:
                rl.neworders += 1
                nth = rl.neworders
            if rl.log_orders:
                pl = jws_payload(body)
                rep = pl.get("replaces") if isinstance(pl, dict) else None
                prof = pl.get("profile") if isinstance(pl, dict) else None
                order_extra = " replaces=%s profile=%s" % (rep if isinstance(rep, str) and rep else "-",
                                                          prof if isinstance(prof, str) and prof else "-")
                refuse = None
                if rl.refuse_types and isinstance(rep, str) and rep:
                    with rl.lock:
                        if rl.replaced_refused < len(rl.refuse_types):
                            refuse = rl.refuse_types[rl.replaced_refused]
                            rl.replaced_refused += 1
                if refuse:
                    st = 409 if refuse == "alreadyReplaced" else 400
                    prob = {"type": "urn:ietf:params:acme:error:" + refuse,
                            "detail": "order replacing certificate %s refused (relay)" % rep,
                            "status": st}
                    hdrs = [("Content-Type", "application/problem+json")]
                    nonce = self.fresh_nonce()
                    if nonce:
                        hdrs.append(("Replay-Nonce", nonce))
                    rl.record(method, path, st, order_extra)
                    self.reply(st, hdrs, json.dumps(prob).encode(), method)
                    return
        if is_neworder and a.refuse_names:
            bad = refused_names(a.refuse_names, jws_payload(body))
            if bad:
                prob = {"type": "urn:ietf:params:acme:error:rejectedIdentifier",
                        "detail": "%s: the CA refuses to issue for this name (relay --refuse-names)" % bad,
                        "status": 403}
                hdrs = [("Content-Type", "application/problem+json")]
                nonce = self.fresh_nonce()
                if nonce:
                    hdrs.append(("Replay-Nonce", nonce))
                rl.record(method, path, 403, order_extra)
                self.reply(403, hdrs, json.dumps(prob).encode(), method)
                return
        if a.ratelimit_neworder is not None and is_neworder and nth > a.ratelimit_after:
            prob = {"type": "urn:ietf:params:acme:error:rateLimited",
                    "detail": a.ratelimit_detail or "too many certificates already issued for this "
                              "exact set of identifiers (relay)",
                    "status": 429}
            hdrs = [("Content-Type", "application/problem+json"),
                    ("Retry-After", str(a.ratelimit_neworder))]
            nonce = self.fresh_nonce()
            if nonce:
                hdrs.append(("Replay-Nonce", nonce))
            rl.record(method, path, 429, order_extra)
            self.reply(429, hdrs, json.dumps(prob).encode(), method)
            return

        if a.html_page and in_limit:
            rl.record(method, path, 200)
            self.reply(200, [("Content-Type", "text/html; charset=utf-8")],
                       b"<!DOCTYPE html><html><head><title>Portal</title></head>"
                       b"<body><p>Please log in to continue.</p></body></html>\n", method)
            return

        # Forward to pebble, Host header unchanged.
        fwd = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        try:
            c = rl.upstream()
            c.request(method, path, body=body if method == "POST" else None, headers=fwd)
            r = c.getresponse()
            rbody = r.read()
            status = r.status
            rhdrs = [(k, v) for k, v in r.getheaders() if k.lower() not in HOP_HEADERS]
            if a.date_offset:
                # send_response adds the relay's (shifted) Date
                rhdrs = [(k, v) for k, v in rhdrs if k.lower() != "date"]
            c.close()
        except OSError as e:
            rl.record(method, path, 502)
            self.reply(502, [("Content-Type", "text/plain")],
                       ("relay: upstream error: %s\n" % e).encode(), method)
            return

        if (a.ari or a.no_ari or a.no_profiles or rl.profiles is not None) and status == 200 and method == "GET" and \
                path.split("?")[0] == rl.paths["directory"]:
            try:
                rbody = rl.rewrite_directory(rbody, self.headers.get("Host", ""))
            except ValueError:
                pass  # not JSON: pass it on unchanged
        if a.replace_cert and any(k.lower() == "content-type" and
                                  v.lower().startswith("application/pem-certificate-chain")
                                  for k, v in rhdrs):
            with open(a.replace_cert, "rb") as f:
                rbody = f.read()
        if in_limit and a.truncate_json and len(rbody) > 1:
            rbody = rbody[: len(rbody) // 2]
        if in_limit and a.wrong_content_type:
            rhdrs = [(k, v) for k, v in rhdrs if k.lower() != "content-type"]
            rhdrs.append(("Content-Type", "text/html; charset=utf-8"))
        rl.record(method, path, status, order_extra)
        self.reply(status, rhdrs, rbody, method)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, relay, ctx):
        self.relay = relay
        self.ctx = ctx
        super().__init__(addr, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.settimeout(self.relay.args.client_timeout)
        # The TLS handshake happens in the handler thread (first read), so a
        # silent client never blocks the accept loop.
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        if self.relay.args.verbose:
            super().handle_error(request, client_address)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--upstream", required=True, help="upstream directory URL (https://...)")
    p.add_argument("--upstream-ca", help="PEM trust anchors for the upstream (default: no check)")
    p.add_argument("--cert", required=True, help="PEM certificate chain the relay serves")
    p.add_argument("--key", required=True, help="PEM private key of --cert")
    p.add_argument("--listen", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=0, help="port (0: a free one)")
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--log", help="append 'METHOD PATH STATUS' per request")
    p.add_argument("--ratelimit-neworder", type=int, metavar="S")
    p.add_argument("--ratelimit-after", type=int, default=0, metavar="K")
    p.add_argument("--ratelimit-detail", metavar="TEXT", help="the rateLimited problem's detail")
    p.add_argument("--fail-first", type=int, default=0, metavar="N")
    p.add_argument("--retry-after", type=int, default=1, metavar="S")
    p.add_argument("--drop-every", type=int, default=0, metavar="N")
    p.add_argument("--slow", type=float, default=0, metavar="S")
    p.add_argument("--truncate-json", action="store_true")
    p.add_argument("--wrong-content-type", action="store_true")
    p.add_argument("--html-page", action="store_true")
    p.add_argument("--ari", metavar="SPEC", help="START,END[,retry-after=S][,explanation=URL] or @FILE")
    p.add_argument("--no-ari", action="store_true",
                   help="drop renewalInfo from the directory: a CA without ARI (pebble 2.10 always has it)")
    p.add_argument("--ari-url", metavar="URL", help="advertise this renewalInfo URL instead (may be \"\")")
    p.add_argument("--already-replaced", type=int, default=0, metavar="N")
    p.add_argument("--refuse-replaces", metavar="TYPE,...")
    p.add_argument("--profiles", metavar="NAME=DESC,...")
    p.add_argument("--no-profiles", action="store_true",
                   help="drop meta.profiles from the directory: a CA without profiles")
    p.add_argument("--log-orders", action="store_true", help="log replaces/profile of newOrders")
    p.add_argument("--refuse-names", metavar="FILE",
                   help="answer newOrders naming a name listed in FILE with 403 rejectedIdentifier")
    p.add_argument("--replace-cert", metavar="FILE",
                   help="serve FILE as every certificate chain")
    p.add_argument("--date-offset", type=int, default=0, metavar="S",
                   help="Date headers say now+S seconds")
    p.add_argument("--match", default="", metavar="SUBSTR")
    p.add_argument("--fault-limit", type=int, default=0, metavar="N")
    p.add_argument("--client-timeout", type=float, default=60)
    p.add_argument("--upstream-timeout", type=float, default=30)
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()

    relay = Relay(args)
    if args.ari and not args.ari.startswith("@"):
        try:
            relay.ari_window(args.ari)
        except ValueError as e:
            raise SystemExit("relay: %s" % e)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv = Server((args.listen, args.port), relay, ctx)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    if args.verbose:
        sys.stderr.write("relay: listening on %s:%d -> %s\n" % (args.listen, port, args.upstream))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
