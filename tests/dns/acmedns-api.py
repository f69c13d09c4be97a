#!/usr/bin/env python3
"""A small server following acme-dns's published HTTP API, for the dns tests:
POST /register (201: username, password, fulldomain, subdomain, allowfrom),
POST /update with X-Api-User / X-Api-Key and {"subdomain", "txt"} (200
{"txt"}; 401 {"error": "forbidden"}; 400 {"error": "bad_txt"} unless 43
characters), the last two values kept per subdomain, as acme-dns does.
Test-only: GET /_state, --knot-* mirrors the values into a knot primary's
zone --domain with knsupdate."""
import argparse, json, re, subprocess, sys, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--domain", default="auth.acme.test")
ap.add_argument("--knot-server")
ap.add_argument("--knot-key")
args = ap.parse_args()
accounts = {}  # username -> account
values = {}    # subdomain -> [txt, txt]
calls = []


def knot(sub, old, new):
    if not args.knot_server:
        return
    name = "%s.%s." % (sub, args.domain)
    cmds = "".join('update delete %s TXT "%s"\n' % (name, v) for v in old)
    cmds += "".join('update add %s 60 TXT "%s"\n' % (name, v) for v in new)
    text = "server %s 53\nzone %s.\n%ssend\n" % (args.knot_server, args.domain, cmds)
    subprocess.run(["knsupdate", "-y", args.knot_key], input=text.encode(), check=True)


class H(BaseHTTPRequestHandler):
    def log_message(self, fmt, *a):
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_state":
            return self.reply(200, {"accounts": len(accounts), "values": values, "calls": calls})
        self.reply(200 if self.path == "/" else 404, {})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            b = json.loads(self.rfile.read(n) or b"{}")
        except ValueError:
            return self.reply(400, {"error": "malformed_json_payload"})
        calls.append(self.path)
        if self.path == "/register":
            sub = str(uuid.uuid4())
            acct = {"username": str(uuid.uuid4()), "password": uuid.uuid4().hex + uuid.uuid4().hex[:8],
                    "fulldomain": "%s.%s" % (sub, args.domain), "subdomain": sub,
                    "allowfrom": b.get("allowfrom", [])}
            accounts[acct["username"]] = acct
            return self.reply(201, acct)
        if self.path == "/update":
            acct = accounts.get(self.headers.get("X-Api-User"))
            if acct is None or acct["password"] != self.headers.get("X-Api-Key"):
                return self.reply(401, {"error": "forbidden"})
            if b.get("subdomain") != acct["subdomain"]:
                return self.reply(401, {"error": "forbidden"})
            txt = b.get("txt", "")
            if not re.fullmatch(r"[A-Za-z0-9_-]{43}", txt):
                return self.reply(400, {"error": "bad_txt"})
            old = list(values.get(acct["subdomain"], []))
            new = (old + [txt])[-2:]
            values[acct["subdomain"]] = new
            knot(acct["subdomain"], old, new)
            return self.reply(200, {"txt": txt})
        self.reply(404, {"error": "not found"})


ThreadingHTTPServer(("127.0.0.1", args.port), H).serve_forever()
