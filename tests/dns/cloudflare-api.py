#!/usr/bin/env python3
"""A small server following Cloudflare's published API v4 for DNS records
(/client/v4/zones, /client/v4/zones/ID/dns_records), for the dns tests.

Envelope {"success", "errors": [{"code", "message"}], "messages", "result",
"result_info"}; Bearer token or X-Auth-Email + X-Auth-Key; list filters type,
name, content; pages (page, per_page; --max-per-page caps it, as the real API
caps per_page); 403 code 10000 on a bad token. Test-only extras: GET /_state,
POST /_seed {"name","content","n"}, and --knot-* to mirror TXT changes into
a knot primary with knsupdate (so pebble and the propagation check see them).
"""
import argparse, hashlib, json, subprocess, sys, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--token", default="cf-test-token")
ap.add_argument("--zone", action="append", default=[])
ap.add_argument("--max-per-page", type=int, default=100)
ap.add_argument("--knot-server")
ap.add_argument("--knot-key")  # hmac-sha256:NAME:SECRET
args = ap.parse_args()

zones = {hashlib.md5(z.encode()).hexdigest(): z for z in args.zone}
records = {}  # id -> record
log = []


def knot(zone, cmd):
    if not args.knot_server:
        return
    text = "server %s 53\nzone %s.\n%s\nsend\n" % (args.knot_server, zone, cmd)
    subprocess.run(["knsupdate", "-y", args.knot_key], input=text.encode(), check=True)


class H(BaseHTTPRequestHandler):
    def log_message(self, fmt, *a):
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def reply(self, status, result=None, errors=None, info=None):
        body = {"success": not errors, "errors": errors or [], "messages": [], "result": result}
        if info is not None:
            body["result_info"] = info
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        auth = self.headers.get("Authorization")
        if auth is None and self.headers.get("X-Auth-Key") is None:
            self.reply(400, errors=[{"code": 6003, "message": "Invalid request headers"}])
            return False
        if auth != "Bearer " + args.token and self.headers.get("X-Auth-Key") != args.token:
            self.reply(403, errors=[{"code": 10000, "message": "Authentication error"}])
            return False
        return True

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def route(self):
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        parts = [p for p in u.path.split("/") if p]
        return parts, q

    def do_GET(self):
        parts, q = self.route()
        if parts == []:
            return self.reply(200, result="ok")
        if parts == ["_state"]:
            return self.reply(200, result=sorted(records.values(), key=lambda r: r["content"]))
        if not self.authorized():
            return
        if parts == ["client", "v4", "zones"]:
            res = [{"id": i, "name": z, "status": "active"} for i, z in zones.items()
                   if "name" not in q or q["name"] == z]
            return self.reply(200, result=res, info={"page": 1, "per_page": 20, "count": len(res),
                                                      "total_count": len(res), "total_pages": 1})
        if len(parts) == 5 and parts[:3] == ["client", "v4", "zones"] and parts[4] == "dns_records":
            if parts[3] not in zones:
                return self.reply(404, errors=[{"code": 7003, "message": "Could not route to /zones/%s/dns_records, perhaps your object identifier is invalid?" % parts[3]}])
            sel = [r for r in records.values() if r["zone_id"] == parts[3]
                   and all(r.get(k) == q[k] for k in ("type", "name", "content") if k in q)]
            sel.sort(key=lambda r: r["id"])
            per = min(int(q.get("per_page", 100)), args.max_per_page)
            page = int(q.get("page", 1))
            total_pages = max(1, (len(sel) + per - 1) // per)
            chunk = sel[(page - 1) * per:page * per]
            return self.reply(200, result=chunk, info={"page": page, "per_page": per, "count": len(chunk),
                                                        "total_count": len(sel), "total_pages": total_pages})
        self.reply(404, errors=[{"code": 7000, "message": "No route for that URI"}])

    def do_POST(self):
        parts, q = self.route()
        if parts == ["_seed"]:
            b = self.body()
            zid = [i for i, z in zones.items() if b["name"].endswith(z)][0]
            for k in range(b.get("n", 1)):
                rid = uuid.uuid4().hex
                records[rid] = {"id": rid, "zone_id": zid, "type": "TXT", "name": b["name"],
                                "content": "%s-%d" % (b["content"], k), "ttl": 120}
            return self.reply(200, result=len(records))
        if not self.authorized():
            return
        if len(parts) == 5 and parts[4] == "dns_records" and parts[3] in zones:
            b = self.body()
            if b.get("type") != "TXT" or not b.get("name") or "content" not in b:
                return self.reply(400, errors=[{"code": 9005, "message": "Content for TXT record is invalid."}])
            ttl = b.get("ttl", 1)
            if not (ttl == 1 or 60 <= ttl <= 86400):
                return self.reply(400, errors=[{"code": 9021, "message": "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic."}])
            zone = zones[parts[3]]
            if not (b["name"] == zone or b["name"].endswith("." + zone)):
                return self.reply(400, errors=[{"code": 9007, "message": "Content for record is invalid: name not in zone"}])
            for r in records.values():
                if r["name"] == b["name"] and r["type"] == "TXT" and r["content"] == b["content"]:
                    return self.reply(400, errors=[{"code": 81058, "message": "An identical record already exists."}])
            rid = uuid.uuid4().hex
            rec = {"id": rid, "zone_id": parts[3], "zone_name": zone, "type": "TXT", "name": b["name"],
                   "content": b["content"], "ttl": ttl, "proxied": False}
            records[rid] = rec
            knot(zone, 'update add %s. %d TXT "%s"' % (b["name"], 60, b["content"]))
            return self.reply(200, result=rec)
        self.reply(404, errors=[{"code": 7000, "message": "No route for that URI"}])

    def do_DELETE(self):
        parts, q = self.route()
        if not self.authorized():
            return
        if len(parts) == 6 and parts[4] == "dns_records" and parts[3] in zones:
            rec = records.get(parts[5])
            if rec is None or rec["zone_id"] != parts[3]:
                return self.reply(404, errors=[{"code": 81044, "message": "Record does not exist."}])
            del records[parts[5]]
            knot(zones[parts[3]], 'update delete %s. TXT "%s"' % (rec["name"], rec["content"]))
            return self.reply(200, result={"id": parts[5]})
        self.reply(404, errors=[{"code": 7000, "message": "No route for that URI"}])


ThreadingHTTPServer(("127.0.0.1", args.port), H).serve_forever()
