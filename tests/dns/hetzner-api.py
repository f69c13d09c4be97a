#!/usr/bin/env python3
"""A small server following the Hetzner DNS API as published
(dns.hetzner.com/api-docs: /api/v1/zones, /api/v1/records), for the dns tests.

Auth-API-Token header (401 {"message": "Invalid authentication credentials"}
without a valid one); GET /zones?name= ({"zones": [...], "meta":
{"pagination"}}, 404 {"error": {"message": "zone not found", "code": 404}}
for an unknown name); GET /records?zone_id=&page=&per_page= (pages;
--max-per-page caps per_page); POST /records {zone_id, type, name, value,
ttl} with the name relative to the zone ("@" the apex); DELETE /records/ID.
Test-only extras: GET /_state, POST /_seed {"zone", "name", "n"}, and --knot-*
to mirror TXT changes into a knot primary with knsupdate.
"""
import argparse, json, subprocess, sys, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--token", default="hz-test-token")
ap.add_argument("--zone", action="append", default=[])
ap.add_argument("--max-per-page", type=int, default=100)
ap.add_argument("--knot-server")
ap.add_argument("--knot-key")
args = ap.parse_args()

zones = {uuid.uuid4().hex[:22]: z for z in args.zone}
records = {}


def fqdn(rec):
    z = zones[rec["zone_id"]]
    return z if rec["name"] == "@" else rec["name"] + "." + z


def knot(zone, cmd):
    if args.knot_server:
        text = "server %s 53\nzone %s.\n%s\nsend\n" % (args.knot_server, zone, cmd)
        subprocess.run(["knsupdate", "-y", args.knot_key], input=text.encode(), check=True)


def pagination(page, per, total):
    last = max(1, (total + per - 1) // per)
    return {"pagination": {"page": page, "per_page": per, "previous_page": max(1, page - 1),
                           "next_page": min(last, page + 1), "last_page": last, "total_entries": total}}


class H(BaseHTTPRequestHandler):
    def log_message(self, fmt, *a):
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def reply(self, status, obj=None):
        data = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        if self.headers.get("Auth-API-Token") != args.token:
            self.reply(401, {"message": "Invalid authentication credentials"})
            return False
        return True

    def route(self):
        u = urlsplit(self.path)
        return [p for p in u.path.split("/") if p], {k: v[0] for k, v in parse_qs(u.query).items()}

    def do_GET(self):
        parts, q = self.route()
        if parts == []:
            return self.reply(200, {})
        if parts == ["_state"]:
            return self.reply(200, sorted(records.values(), key=lambda r: r["value"]))
        if not self.authorized():
            return
        if parts == ["api", "v1", "zones"]:
            sel = [{"id": i, "name": z, "ttl": 86400, "status": "verified"} for i, z in zones.items()
                   if q.get("name", z) == z]
            if not sel and "name" in q:
                return self.reply(404, {"zones": None, "error": {"message": "zone not found", "code": 404}})
            return self.reply(200, {"zones": sel, "meta": pagination(1, 100, len(sel))})
        if parts == ["api", "v1", "records"]:
            if q.get("zone_id") not in zones:
                return self.reply(404, {"records": None, "error": {"message": "zone not found", "code": 404}})
            sel = sorted((r for r in records.values() if r["zone_id"] == q["zone_id"]), key=lambda r: r["id"])
            per = min(int(q.get("per_page", 100)), args.max_per_page)
            page = int(q.get("page", 1))
            return self.reply(200, {"records": sel[(page - 1) * per:page * per],
                                    "meta": pagination(page, per, len(sel))})
        self.reply(404, {"error": {"message": "not found", "code": 404}})

    def do_POST(self):
        parts, q = self.route()
        b = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if parts == ["_seed"]:
            zid = [i for i, z in zones.items() if z == b["zone"]][0]
            for k in range(b.get("n", 1)):
                rid = uuid.uuid4().hex
                records[rid] = {"id": rid, "zone_id": zid, "type": "TXT", "name": b["name"],
                                "value": "filler-%d" % k, "ttl": 120}
            return self.reply(200, {})
        if not self.authorized():
            return
        if parts == ["api", "v1", "records"]:
            if b.get("zone_id") not in zones:
                return self.reply(422, {"record": {}, "error": {"message": "422 Unprocessable Entity: zone_id invalid", "code": 422}})
            if not b.get("name") or b.get("type") not in ("A", "AAAA", "TXT", "CNAME", "MX") or "value" not in b:
                return self.reply(422, {"record": {}, "error": {"message": "422 Unprocessable Entity: invalid record", "code": 422}})
            rid = uuid.uuid4().hex
            rec = {"id": rid, "zone_id": b["zone_id"], "type": b["type"], "name": b["name"], "value": b["value"],
                   "ttl": b.get("ttl", 86400), "created": "2024-01-01 00:00:00 +0000 UTC"}
            records[rid] = rec
            knot(zones[b["zone_id"]], 'update add %s. 60 TXT "%s"' % (fqdn(rec), b["value"]))
            return self.reply(200, {"record": rec})
        self.reply(404, {"error": {"message": "not found", "code": 404}})

    def do_DELETE(self):
        parts, q = self.route()
        if not self.authorized():
            return
        if len(parts) == 4 and parts[:3] == ["api", "v1", "records"]:
            rec = records.pop(parts[3], None)
            if rec is None:
                return self.reply(404, {"error": {"message": "record not found", "code": 404}})
            knot(zones[rec["zone_id"]], 'update delete %s. TXT "%s"' % (fqdn(rec), rec["value"]))
            return self.reply(200)
        self.reply(404, {"error": {"message": "not found", "code": 404}})


ThreadingHTTPServer(("127.0.0.1", args.port), H).serve_forever()
