#!/usr/bin/env python3
"""A small server following Duck DNS's published update API
(www.duckdns.org/spec.jsp), for the dns tests.

GET /update?domains=A[,B...]&token=T[&txt=V][&clear=true][&verbose=true]:
domains are NAME or NAME.duckdns.org; the answer is the text "OK" or "KO"
(HTTP 200 either way), "KO" for a bad token, a missing parameter or a domain
not in the account. Each domain holds ONE TXT value (txt replaces it; clear
empties it), served at NAME.duckdns.org and every name under it. Test-only
extras: GET /_state, and --knot-* to mirror the value into a knot primary
(zone duckdns.org: NAME and *.NAME) so pebble and the propagation check see it.
"""
import argparse, json, subprocess, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--token", default="duck-test-token")
ap.add_argument("--domain", action="append", default=[])
ap.add_argument("--knot-server")
ap.add_argument("--knot-key")  # hmac-sha256:NAME:SECRET
args = ap.parse_args()

txt = {d: "" for d in args.domain}


def knot(name, value):
    if not args.knot_server:
        return
    cmd = ["update delete %s.duckdns.org. TXT" % name, "update delete *.%s.duckdns.org. TXT" % name]
    if value:
        cmd += ['update add %s.duckdns.org. 60 TXT "%s"' % (name, value),
                'update add *.%s.duckdns.org. 60 TXT "%s"' % (name, value)]
    text = "server %s 53\nzone duckdns.org.\n%s\nsend\n" % (args.knot_server, "\n".join(cmd))
    subprocess.run(["knsupdate", "-y", args.knot_key], input=text.encode(), check=True)


class H(BaseHTTPRequestHandler):
    def log_message(self, fmt, *a):
        # the query string holds the token: log the path and the domains only
        q = parse_qs(urlsplit(self.path).query)
        sys.stderr.write("%s %s domains=%s clear=%s\n" % (self.command, urlsplit(self.path).path,
                                                          q.get("domains", [""])[0], q.get("clear", [""])[0]))

    def text(self, body):
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        if u.path == "/":
            return self.text("duck")
        if u.path == "/_state":
            return self.text(json.dumps(txt))
        if u.path != "/update":
            self.send_error(404)
            return
        if q.get("token") != args.token or not q.get("domains"):
            return self.text("KO")
        names = [d[:-len(".duckdns.org")] if d.endswith(".duckdns.org") else d
                 for d in q["domains"].split(",")]
        if any(n not in txt for n in names):
            return self.text("KO")
        clear = q.get("clear") == "true"
        if not clear and "txt" not in q:
            return self.text("OK")  # an IP update: not what these tests use
        for n in names:
            new = "" if clear else q["txt"]
            if txt[n] != new:
                txt[n] = new
                knot(n, new)
        if q.get("verbose") == "true":
            return self.text("OK\n%s\n\nUPDATED" % ("" if clear else q["txt"]))
        self.text("OK")


ThreadingHTTPServer(("127.0.0.1", args.port), H).serve_forever()
