#!/usr/bin/env python3
"""Small servers following the published DNS APIs of the providers that
lib/dns/rest_providers.c describes, and lego's httpreq, for the dns tests.
One provider per run (--provider NAME), each with its own paths, its own
authentication (header, body keys, basic auth), its own answer and error
bodies and its own pagination:

  digitalocean  /v2/domains/Z/records           Bearer; links.pages.next; {"id","message"}
  linode        /v4/domains[/ID/records]         Bearer; page/pages; {"errors":[{"reason"}]}
  vultr         /v2/domains/Z/records            Bearer; meta.links.next cursor; {"error","status"}
  porkbun       /api/json/v3/dns/...             keys in the POST body; {"status":"ERROR","message"}
  ionos         /dns/v1/zones[/ID[/records]]     X-API-Key; [{"code","message"}]
  netlify       /api/v1/dns_zones[/ID/dns_records]  Bearer; {"code","message"}
  vercel        /v4 list, /v2 create/delete      Bearer; pagination.next; {"error":{"code","message"}}
  infomaniak    /2/zones/Z/records               Bearer; {"result":"error","error":{"code","description"}}
  scaleway      PATCH /domain/v2beta1/dns-zones/Z/records  X-Auth-Token; {"message","type"}
  spaceship     PUT/DELETE /api/v1/dns/records/Z X-Api-Key + X-Api-Secret; {"detail","data"}
  godaddy       /v1/domains/Z/records/TXT/NAME   sso-key K:S; the set PUT whole; {"code","message"}
  desec         /api/v1/domains/Z/rrsets/        Token; RRsets PUT whole (empty: gone); {"detail"}
  cloudns       /dns/*.json?auth-id=..&auth-password=..  HTTP 200 {"status":"Failed","statusDescription"}
  ovh           /1.0/domain/zone/Z/record[/ID], /refresh  X-Ovh-* signed (SHA-1); ids, then each record; {"message"}
                or Bearer from POST /auth/oauth2/token (client credentials, client id ovh-client, --token secret)
  namecheap     POST /xml.response (form; getHosts, setHosts replacing every host)  XML; HTTP 200
                Status="ERROR" <Errors><Error Number>; GET /getip (this machine's address)
  netcup        POST /endpoint.php?JSON {"action","param"}: login, infoDnsRecords, updateDnsRecords,
                logout; HTTP 200 {"status":"error","statuscode","longmessage"}
  hostinger     /api/dns/v1/zones/Z: GET every set; PUT {"overwrite","zone":[sets]}; DELETE {"filters"}
                Bearer; {"message","correlation_id"}
  inwx          POST /jsonrpc/ {"method","params"}: account.login (cookie), account.unlock (TOTP),
                nameserver.info/createRecord/deleteRecord, account.logout; HTTP 200 {"code","msg"}
  httpreq       POST /present, /cleanup          basic auth (--user); text errors
  azuredns      POST /TENANT/oauth2/v2.0/token (client credentials: --user client id, --token secret)
                {"error","error_description"}; /subscriptions/S/resourceGroups/G/providers/
                Microsoft.Network/dnsZones/Z/TXT/NAME?api-version=2018-05-01 GET/PUT whole/DELETE,
                Bearer (an issued token); {"error":{"code","message"}}
  gcloud        POST /token (a JWT bearer assertion, RS256 checked against --secret: the service
                account's RSA modulus in hex; --user its client_email); /dns/v1/projects/P/
                managedZones?dnsName=, .../Z/rrsets?name=&type=, .../Z/changes {"deletions",
                "additions"} (deletions must match the set exactly); {"error":{"code","message"}}
  clouddns      POST /api/public/auth/login {"email","password"} -> auth.accessToken (Bearer);
                /clouddns/domain/search, /domain/ID, /record-txt, /record/ID, PUT /domain/ID/publish;
                {"error":{"code","message"}}
  timewebcloud  /api/v1/domains/Z/dns-records[/ID]  Bearer; limit/offset, meta.total;
                {"status_code","error_code","message","response_id"}
  oraclecloud   /20180115/zones/Z/records/NAME: GET ?rtype=TXT, PATCH {"items":[ADD | REMOVE by recordHash]}
                HTTP signature (rsa-sha256, --secret: the public key's PEM file); {"code","message"}
  edgedns       /config-dns/v2/zones/Z/names/N/types/TXT: GET, POST (new set), PUT (replace), DELETE
                EdgeGrid EG1-HMAC-SHA256 (client secret: --token, access token: --secret); problem
                JSON {"type","title","status","detail","instance"}

Test-only extras: GET / (alive), GET /_state (every record), POST /_seed
{"fqdn","value","n"} (filler records), POST /_fail {"status","text"} (the
next create or delete fails with the provider's own error body), and
--knot-* to mirror TXT changes into a knot primary with knsupdate.
"""
import argparse, base64, calendar, os, hashlib, hmac, json, struct, subprocess, sys, threading, time
from xml.sax.saxutils import quoteattr, escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs, unquote

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--provider", required=True)
ap.add_argument("--token", default="token")
ap.add_argument("--secret", default="secret")  # porkbun, spaceship: the second key
ap.add_argument("--user")                      # httpreq basic auth user (password: --token)
ap.add_argument("--zone", action="append", default=[])
ap.add_argument("--max-per-page", type=int, default=100)
ap.add_argument("--knot-server")
ap.add_argument("--knot-key")  # hmac-sha256:NAME:SECRET
args = ap.parse_args()
P = args.provider
lock = threading.Lock()
zones = {z: 1000 + i for i, z in enumerate(args.zone)}
records = {}  # id -> {"id", "zone", "fqdn", "value", "ttl"}
next_id = [5000]
fail_next = []


def knot(zone, cmd):
    if not args.knot_server:
        return
    text = "server %s 53\nzone %s.\n%s\nsend\n" % (args.knot_server, zone, cmd)
    subprocess.run(["knsupdate", "-y", args.knot_key], input=text.encode(), check=True)


def zone_of(fqdn):
    for z in sorted(zones, key=len, reverse=True):
        if fqdn == z or fqdn.endswith("." + z):
            return z
    return None


def rel(fqdn, zone, apex="@"):
    return apex if fqdn == zone else fqdn[: -len(zone) - 1]


def absolute(name, zone):
    name = name.rstrip(".")
    if name in ("", "@"):
        return zone
    return name if name == zone or name.endswith("." + zone) else name + "." + zone


def unquote_txt(v):
    return v[1:-1] if len(v) >= 2 and v[0] == '"' and v[-1] == '"' else v


def add(zone, fqdn, value, ttl):
    rid = next_id[0]
    next_id[0] += 1
    r = {"id": rid, "zone": zone, "fqdn": fqdn, "value": value, "ttl": ttl}
    records[rid] = r
    knot(zone, 'update add %s. 60 TXT "%s"' % (fqdn, unquote_txt(value)))
    return r


def delete(rid):
    r = records.pop(rid)
    knot(r["zone"], 'update delete %s. TXT "%s"' % (r["fqdn"], unquote_txt(r["value"])))


def in_zone(zone, fqdn=None):
    return sorted((r for r in records.values() if r["zone"] == zone and (fqdn is None or r["fqdn"] == fqdn)),
                  key=lambda r: r["id"])


def page(items, n, per):
    per = max(1, min(per, args.max_per_page))
    pages = max(1, (len(items) + per - 1) // per)
    return items[(n - 1) * per: n * per], pages


# ---- each provider: an error body, an auth check, routes ----

class Reply(Exception):
    def __init__(self, status, body):
        self.status, self.body = status, body


def err_body(status, text):
    return {
        "digitalocean": {"id": "unprocessable_entity" if status == 422 else "unauthorized", "message": text},
        "linode": {"errors": [{"reason": text}]},
        "vultr": {"error": text, "status": status},
        "porkbun": {"status": "ERROR", "message": text},
        "ionos": [{"code": "INVALID_RECORDS" if status == 400 else "UNAUTHORIZED", "message": text}],
        "netlify": {"code": status, "message": text},
        "vercel": {"error": {"code": "forbidden" if status == 403 else "bad_request", "message": text}},
        "infomaniak": {"result": "error", "error": {"code": "not_authorized" if status == 401 else "validation_failed",
                                                    "description": text}},
        "scaleway": {"message": text, "type": "denied_authentication" if status == 401 else "invalid_arguments"},
        "spaceship": {"detail": text, "data": []},
        "godaddy": {"code": "UNABLE_TO_AUTHENTICATE" if status == 401 else "INVALID_BODY", "message": text},
        "desec": {"detail": text},
        "cloudns": {"status": "Failed", "statusDescription": text},
        "ovh": {"errorCode": "INVALID_CREDENTIAL" if status == 403 else "BAD_REQUEST", "httpCode": str(status),
                "message": text},
        "namecheap": nc_error("2030166", text),
        "netcup": {"serverrequestid": "srv", "clientrequestid": "", "action": "", "status": "error",
                   "statuscode": 4013, "shortmessage": "Validation Error.", "longmessage": text, "responsedata": ""},
        "hostinger": {"message": text, "correlation_id": "c0ffee"},
        "inwx": {"code": 2200 if "Authentication" in text else 2302, "msg": text},
        "httpreq": text,
        "azuredns": {"error": {"code": "AuthenticationFailed" if status == 401 else "BadRequest", "message": text}},
        "gcloud": {"error": {"code": status, "message": text,
                             "status": "UNAUTHENTICATED" if status == 401 else "INVALID_ARGUMENT"}},
        "clouddns": {"error": {"code": status, "message": text}},
        "timewebcloud": {"status_code": status, "error_code": "unauthorized" if status == 401 else "bad_request",
                         "message": text, "response_id": "0b5e6f1c-test"},
        "oraclecloud": {"code": "NotAuthenticated" if status == 401 else "InvalidParameter", "message": text},
        "edgedns": {"type": "https://problems.luna.akamaiapis.net/" +
                    ("-/pep-authn/deny" if status == 401 else "config-dns/error-types/bad-request"),
                    "title": "Not authorized" if status == 401 else "Bad Request", "status": status,
                    "detail": text, "instance": "/config-dns/v2/zones"},
    }[P]


def fail(status, text):
    raise Reply(status, err_body(status, text))


def maybe_injected():
    if fail_next:
        st, text = fail_next.pop()
        fail(st, text)


def bearer(h, status, text):
    if h.headers.get("Authorization") != "Bearer " + args.token:
        fail(status, text)


def need_zone(z, status, text):
    if z not in zones:
        fail(status, text)
    return z


def r_digitalocean(h, m, parts, q, body):
    bearer(h, 401, "Unable to authenticate you")
    if parts[:2] != ["v2", "domains"] or len(parts) < 4 or parts[3] != "records":
        fail(404, "The resource you were accessing could not be found.")
    z = need_zone(parts[2], 404, "The resource you were accessing could not be found.")
    if m == "GET":
        sel = [r for r in in_zone(z, q.get("name")) if q.get("type", "TXT") == "TXT"]
        n = int(q.get("page", 1))
        chunk, pages = page(sel, n, int(q.get("per_page", 20)))
        links = {"pages": {"next": "%s?page=%d" % (h.path.split("?")[0], n + 1)}} if n < pages else {}
        return 200, {"domain_records": [{"id": r["id"], "type": "TXT", "name": rel(r["fqdn"], z), "data": r["value"],
                                         "ttl": r["ttl"]} for r in chunk], "links": links, "meta": {"total": len(sel)}}
    if m == "POST":
        maybe_injected()
        if body.get("type") != "TXT" or "data" not in body or not body.get("name"):
            fail(422, "Data needs to be set for TXT records")
        if body.get("ttl", 1800) < 30:
            fail(422, "Ttl must be greater than or equal to 30.")
        r = add(z, absolute(body["name"], z), body["data"], body.get("ttl", 1800))
        return 201, {"domain_record": {"id": r["id"], "type": "TXT", "name": body["name"], "data": r["value"]}}
    if m == "DELETE" and len(parts) == 5:
        maybe_injected()
        if int(parts[4]) not in records:
            fail(404, "The resource you were accessing could not be found.")
        delete(int(parts[4]))
        return 204, None
    fail(405, "method not allowed")


def r_linode(h, m, parts, q, body):
    bearer(h, 401, "Invalid Token")
    n, per = int(q.get("page", 1)), int(q.get("page_size", 100))
    if parts == ["v4", "domains"]:
        chunk, pages = page(sorted(zones), n, per)
        return 200, {"data": [{"id": zones[z], "domain": z, "type": "master"} for z in chunk], "page": n,
                     "pages": pages, "results": len(zones)}
    if len(parts) >= 4 and parts[:2] == ["v4", "domains"] and parts[3] == "records":
        z = {v: k for k, v in zones.items()}.get(int(parts[2]))
        if z is None:
            fail(404, "Not found")
        if m == "GET":
            chunk, pages = page(in_zone(z), n, per)
            return 200, {"data": [{"id": r["id"], "type": "TXT", "name": rel(r["fqdn"], z, ""), "target": r["value"],
                                   "ttl_sec": r["ttl"]} for r in chunk], "page": n, "pages": pages}
        if m == "POST":
            maybe_injected()
            if body.get("type") != "TXT" or "target" not in body:
                fail(400, "target is required")
            r = add(z, absolute(body.get("name", ""), z), body["target"], body.get("ttl_sec", 0))
            return 200, {"id": r["id"], "type": "TXT", "name": body.get("name", ""), "target": r["value"]}
        if m == "DELETE" and len(parts) == 5:
            maybe_injected()
            if int(parts[4]) not in records:
                fail(404, "Not found")
            delete(int(parts[4]))
            return 200, {}
    fail(404, "Not found")


def r_vultr(h, m, parts, q, body):
    bearer(h, 401, "Invalid API token.")
    if parts[:2] != ["v2", "domains"] or len(parts) < 4 or parts[3] != "records":
        fail(404, "Invalid domain.")
    z = need_zone(parts[2], 404, "Invalid domain.")
    if m == "GET":
        start = int(base64.b64decode(q["cursor"]).decode()) if q.get("cursor") else 0
        per = max(1, min(int(q.get("per_page", 100)), args.max_per_page))
        sel = in_zone(z)
        chunk = sel[start:start + per]
        nxt = base64.b64encode(str(start + per).encode()).decode() if start + per < len(sel) else ""
        return 200, {"records": [{"id": str(r["id"]), "type": "TXT", "name": rel(r["fqdn"], z, ""), "data": r["value"],
                                  "priority": -1, "ttl": r["ttl"]} for r in chunk],
                     "meta": {"total": len(sel), "links": {"next": nxt, "prev": ""}}}
    if m == "POST":
        maybe_injected()
        if body.get("type") != "TXT" or "data" not in body:
            fail(400, "Unable to create record: data is required")
        r = add(z, absolute(body.get("name", ""), z), body["data"], body.get("ttl", 300))
        return 201, {"record": {"id": str(r["id"]), "type": "TXT", "name": body.get("name", ""), "data": r["value"]}}
    if m == "DELETE" and len(parts) == 5:
        maybe_injected()
        if int(parts[4]) not in records:
            fail(404, "Invalid record.")
        delete(int(parts[4]))
        return 204, None
    fail(404, "Invalid domain.")


def r_porkbun(h, m, parts, q, body):
    if m != "POST":
        fail(400, "All API requests must be POST.")
    if body.get("apikey") != args.token or body.get("secretapikey") != args.secret:
        fail(400, "Invalid API key. (002)")
    if parts[:4] != ["api", "json", "v3", "dns"] or len(parts) < 6:
        fail(400, "Invalid endpoint.")
    op, z = parts[4], need_zone(parts[5], 400, "Invalid domain.")
    if op == "retrieveByNameType":
        sub = parts[7] if len(parts) > 7 else ""
        sel = [r for r in in_zone(z, absolute(sub, z))]
        return 200, {"status": "SUCCESS", "records": [{"id": str(r["id"]), "name": r["fqdn"], "type": "TXT",
                                                        "content": r["value"], "ttl": str(r["ttl"]), "prio": "0",
                                                        "notes": ""} for r in sel]}
    if op == "create":
        maybe_injected()
        if body.get("type") != "TXT" or "content" not in body:
            fail(400, "Invalid type.")
        r = add(z, absolute(body.get("name", ""), z), body["content"], int(body.get("ttl", 600)))
        return 200, {"status": "SUCCESS", "id": r["id"]}
    if op == "delete" and len(parts) == 7:
        maybe_injected()
        if int(parts[6]) not in records:
            fail(400, "Invalid record ID.")
        delete(int(parts[6]))
        return 200, {"status": "SUCCESS"}
    fail(400, "Invalid endpoint.")


def r_ionos(h, m, parts, q, body):
    if h.headers.get("X-API-Key") != args.token:
        fail(401, "Missing or invalid API key.")
    ids = {"z-%d" % v: k for k, v in zones.items()}
    if parts == ["dns", "v1", "zones"] and m == "GET":
        return 200, [{"id": "z-%d" % v, "name": k, "type": "NATIVE"} for k, v in zones.items()]
    if parts[:3] != ["dns", "v1", "zones"] or len(parts) < 4 or parts[3] not in ids:
        fail(404, "Zone not found")
    z = ids[parts[3]]
    if len(parts) == 4 and m == "GET":
        sel = [r for r in in_zone(z, q.get("recordName")) if q.get("recordType", "TXT") == "TXT"]
        return 200, {"id": parts[3], "name": z, "type": "NATIVE",
                     "records": [{"id": "r-%d" % r["id"], "name": r["fqdn"], "rootName": z, "type": "TXT",
                                  "content": r["value"], "ttl": r["ttl"], "prio": 0, "disabled": False} for r in sel]}
    if len(parts) == 5 and parts[4] == "records" and m == "POST":
        maybe_injected()
        if not isinstance(body, list):
            fail(400, "The request body must be a list of records")
        out = []
        for b in body:
            if b.get("ttl", 3600) < 60:
                fail(400, "ttl must be at least 60")
            r = add(z, b["name"].rstrip("."), b["content"], b.get("ttl", 3600))
            out.append({"id": "r-%d" % r["id"], "name": r["fqdn"], "type": "TXT", "content": r["value"]})
        return 201, out
    if len(parts) == 6 and parts[4] == "records" and m == "DELETE":
        maybe_injected()
        rid = int(parts[5][2:]) if parts[5].startswith("r-") else -1
        if rid not in records:
            fail(404, "Record not found")
        delete(rid)
        return 200, None
    fail(404, "Not found")


def r_netlify(h, m, parts, q, body):
    bearer(h, 401, "Access Denied: Invalid token")
    ids = {z.replace(".", "_"): z for z in zones}
    if parts == ["api", "v1", "dns_zones"]:
        return 200, [{"id": i, "name": z} for i, z in ids.items()]
    if parts[:3] != ["api", "v1", "dns_zones"] or len(parts) < 5 or parts[3] not in ids or parts[4] != "dns_records":
        fail(404, "Not Found")
    z = ids[parts[3]]
    if m == "GET" and len(parts) == 5:
        return 200, [{"id": "%x" % r["id"], "hostname": r["fqdn"], "type": "TXT", "value": r["value"], "ttl": r["ttl"],
                      "dns_zone_id": parts[3]} for r in in_zone(z)]
    if m == "POST" and len(parts) == 5:
        maybe_injected()
        if body.get("type") != "TXT" or not body.get("hostname"):
            fail(422, "hostname is required")
        r = add(z, body["hostname"].rstrip("."), body["value"], body.get("ttl", 3600))
        return 201, {"id": "%x" % r["id"], "hostname": r["fqdn"], "type": "TXT", "value": r["value"]}
    if m == "DELETE" and len(parts) == 6:
        maybe_injected()
        rid = int(parts[5], 16)
        if rid not in records:
            fail(404, "Not Found")
        delete(rid)
        return 204, None
    fail(404, "Not Found")


def r_vercel(h, m, parts, q, body):
    bearer(h, 403, "Not authorized")
    if len(parts) < 4 or parts[1] != "domains" or parts[3] != "records":
        fail(404, "Not found")
    z = need_zone(parts[2], 404, "The domain was not found")
    if m == "GET" and parts[0] == "v4":
        sel = in_zone(z)
        until = int(q["until"]) if q.get("until") else None
        if until is not None:
            sel = [r for r in sel if r["id"] > until]
        per = max(1, min(int(q.get("limit", 20)), args.max_per_page))
        chunk = sel[:per]
        nxt = chunk[-1]["id"] if len(sel) > per else None
        return 200, {"records": [{"id": "rec_%d" % r["id"], "slug": "", "name": rel(r["fqdn"], z, ""), "type": "TXT",
                                  "value": r["value"], "ttl": r["ttl"]} for r in chunk],
                     "pagination": {"count": len(chunk), "next": nxt, "prev": None}}
    if m == "POST" and parts[0] == "v2":
        maybe_injected()
        if body.get("type") != "TXT" or "value" not in body:
            fail(400, "Invalid request: missing required property `value`")
        if body.get("ttl", 60) < 60:
            fail(400, "Invalid request: `ttl` should be >= 60")
        r = add(z, absolute(body.get("name", ""), z), body["value"], body.get("ttl", 60))
        return 200, {"uid": "rec_%d" % r["id"], "updated": 1}
    if m == "DELETE" and parts[0] == "v2" and len(parts) == 5:
        maybe_injected()
        rid = int(parts[4][4:]) if parts[4].startswith("rec_") else -1
        if rid not in records:
            fail(404, "The DNS record was not found")
        delete(rid)
        return 200, {}
    fail(404, "Not found")


def r_infomaniak(h, m, parts, q, body):
    bearer(h, 401, "Authorization required")
    if parts[:2] != ["2", "zones"] or len(parts) < 4 or parts[3] != "records":
        fail(404, "Not found")
    z = need_zone(parts[2], 404, "Zone not found")
    if m == "GET":
        return 200, {"result": "success", "data": [{"id": r["id"], "source": rel(r["fqdn"], z, "."), "type": "TXT",
                                                     "target": r["value"], "ttl": r["ttl"]} for r in in_zone(z)]}
    if m == "POST":
        maybe_injected()
        if body.get("type") != "TXT" or "target" not in body:
            fail(422, "The target field is required")
        src = body.get("source", ".")
        r = add(z, absolute("" if src == "." else src, z), body["target"], body.get("ttl", 3600))
        return 201, {"result": "success", "data": {"id": r["id"]}}
    if m == "DELETE" and len(parts) == 5:
        maybe_injected()
        if int(parts[4]) not in records:
            fail(404, "Record not found")
        delete(int(parts[4]))
        return 200, {"result": "success", "data": True}
    fail(404, "Not found")


def r_scaleway(h, m, parts, q, body):
    if h.headers.get("X-Auth-Token") != args.token:
        fail(401, "authentication is denied")
    if parts[:3] != ["domain", "v2beta1", "dns-zones"] or len(parts) != 5 or parts[4] != "records" or m != "PATCH":
        fail(404, "resource is not found")
    z = need_zone(parts[3], 404, "resource is not found")
    maybe_injected()
    for c in body.get("changes", []):
        if "add" in c:
            for rr in c["add"]["records"]:
                if rr.get("ttl", 3600) < 60:
                    fail(400, "ttl must be at least 60")
                f = absolute(rr.get("name", ""), z)
                if not any(r["value"] == rr["data"] for r in in_zone(z, f)):
                    add(z, f, rr["data"], rr.get("ttl", 3600))
        if "delete" in c:
            idf = c["delete"]["id_fields"]
            for r in in_zone(z, absolute(idf.get("name", ""), z)):
                if r["value"] == idf.get("data"):
                    delete(r["id"])
    return 200, {"records": []}


def r_spaceship(h, m, parts, q, body):
    if h.headers.get("X-Api-Key") != args.token or h.headers.get("X-Api-Secret") != args.secret:
        fail(401, "Invalid API key or secret")
    if parts[:4] != ["api", "v1", "dns", "records"] or len(parts) != 5:
        fail(404, "Not found")
    z = need_zone(parts[4], 404, "Domain not found")
    if m == "PUT":
        maybe_injected()
        for it in body.get("items", []):
            if it.get("ttl", 3600) < 60:
                raise Reply(422, {"detail": "Validation failed", "data": [{"field": "ttl", "details": "ttl must be 60 or more"}]})
            f = absolute(it.get("name", ""), z)
            if not any(r["value"] == it["value"] for r in in_zone(z, f)):
                add(z, f, it["value"], it.get("ttl", 3600))
        return 204, None
    if m == "DELETE":
        maybe_injected()
        for it in body:
            for r in in_zone(z, absolute(it.get("name", ""), z)):
                if r["value"] == it.get("value"):
                    delete(r["id"])
        return 204, None
    fail(405, "Method not allowed")


def replace_set(z, fqdn, values, ttl):
    for r in in_zone(z, fqdn):
        if r["value"] not in values:
            delete(r["id"])
    have = [r["value"] for r in in_zone(z, fqdn)]
    for v in values:
        if v not in have:
            add(z, fqdn, v, ttl)


def r_godaddy(h, m, parts, q, body):
    if h.headers.get("Authorization") != "sso-key %s:%s" % (args.token, args.secret):
        fail(401, "Unable to authenticate")
    if parts[:2] != ["v1", "domains"] or len(parts) != 6 or parts[3:5] != ["records", "TXT"]:
        fail(404, "Not found")
    z = need_zone(parts[2], 404, "The given domain is not registered, or does not have a zone file")
    f = absolute(parts[5], z)
    if m == "GET":
        return 200, [{"data": r["value"], "name": parts[5], "ttl": r["ttl"], "type": "TXT"} for r in in_zone(z, f)]
    if m == "PUT":
        maybe_injected()
        if not isinstance(body, list) or any("data" not in b for b in body):
            fail(422, "Request body doesn't fulfill schema")
        if any(b.get("ttl", 3600) < 600 for b in body):
            fail(422, "ttl must be at least 600")
        replace_set(z, f, [b["data"] for b in body], body[0]["ttl"] if body else 600)
        return 200, None
    if m == "DELETE":
        maybe_injected()
        if not in_zone(z, f):
            fail(404, "The record was not found")
        replace_set(z, f, [], 0)
        return 204, None
    fail(405, "Method not allowed")


def r_desec(h, m, parts, q, body):
    if h.headers.get("Authorization") != "Token " + args.token:
        fail(401, "Invalid token.")
    if parts[:3] != ["api", "v1", "domains"] or len(parts) < 5 or parts[4] != "rrsets":
        fail(404, "Not found.")
    z = need_zone(parts[3], 404, "Not found.")
    if m == "GET" and len(parts) == 7 and parts[6] == "TXT":
        f = absolute(parts[5], z)
        sel = in_zone(z, f)
        if not sel:
            fail(404, "Not found.")
        return 200, {"subname": "" if f == z else rel(f, z), "type": "TXT", "ttl": sel[0]["ttl"],
                     "records": [r["value"] for r in sel]}
    if m == "PUT" and len(parts) == 5:
        maybe_injected()
        for rr in body:
            if rr.get("ttl", 3600) < 3600:
                raise Reply(400, [{"ttl": ["Ensure this value is greater than or equal to 3600."]}])
            if any(not (v.startswith('"') and v.endswith('"')) for v in rr.get("records", [])):
                raise Reply(400, [{"records": ["Text records must be quoted."]}])
            replace_set(z, absolute(rr.get("subname", ""), z), rr.get("records", []), rr.get("ttl", 3600))
        return 200, body
    fail(404, "Not found.")


def r_cloudns(h, m, parts, q, body):
    if q.get("auth-id") != "4242" or q.get("auth-password") != args.token:
        fail(200, "Invalid authentication, incorrect auth-id or auth-password.")
    if len(parts) != 2 or parts[0] != "dns":
        fail(404, "Invalid request.")
    z = q.get("domain-name")
    if z not in zones:
        fail(200, "Missing domain-name")
    if parts[1] == "records.json":
        f = absolute(q.get("host", ""), z)
        sel = [r for r in in_zone(z, f) if q.get("type", "TXT") == "TXT"]
        if not sel:
            return 200, []
        return 200, {str(r["id"]): {"id": str(r["id"]), "type": "TXT", "host": rel(r["fqdn"], z, ""),
                                    "record": r["value"], "ttl": str(r["ttl"]), "status": 1} for r in sel}
    if parts[1] == "add-record.json" and m == "POST":
        maybe_injected()
        if q.get("ttl") not in ("60", "300", "900", "1800", "3600", "21600", "43200", "86400"):
            fail(200, "Invalid TTL. Choose from the list of the values we support.")
        r = add(z, absolute(q.get("host", ""), z), q["record"], int(q["ttl"]))
        return 200, {"status": "Success", "statusDescription": "The record was added successfully.",
                     "data": {"id": r["id"]}}
    if parts[1] == "delete-record.json" and m == "POST":
        maybe_injected()
        rid = int(q.get("record-id", "0"))
        if rid not in records:
            fail(200, "Invalid record-id param.")
        delete(rid)
        return 200, {"status": "Success", "statusDescription": "The record was deleted successfully."}
    fail(404, "Invalid request.")


ovh_dirty = set()


ovh_issued = set()


def r_ovh(h, m, parts, q, body, raw=b""):
    # a service account: client credentials for a token (RFC 6749 4.4),
    # then Bearer instead of the signed headers
    if parts == ["auth", "oauth2", "token"] and m == "POST":
        f = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if f.get("grant_type") != "client_credentials" or f.get("scope") != "all":
            oauth_fail(400, "invalid_request", "grant_type must be client_credentials, scope all")
        if f.get("client_id") != "ovh-client" or f.get("client_secret") != args.token:
            oauth_fail(401, "invalid_client", "Invalid client credentials")
        tok = "ovh-%d-%s" % (len(ovh_issued), hashlib.sha256(raw).hexdigest()[:16])
        ovh_issued.add(tok)
        return 200, {"access_token": tok, "token_type": "Bearer", "expires_in": 3599, "scope": "all"}
    a = h.headers.get("Authorization", "")
    if a.startswith("Bearer "):
        if a[7:] not in ovh_issued:
            fail(401, "Invalid token")
    elif h.headers.get("X-Ovh-Application") != "ak-test" or h.headers.get("X-Ovh-Consumer") != args.token:
        fail(403, "This credential does not exist")
    else:
        ovh_signed(h, m, raw)
    return ovh_zone(m, parts, q, body)


def ovh_signed(h, m, raw):
    ts = h.headers.get("X-Ovh-Timestamp", "0")
    if abs(int(ts) - time.time()) > 300:
        fail(400, "Query out of time")
    url = "http://%s%s" % (h.headers.get("Host"), h.path)
    want = "$1$" + hashlib.sha1(("%s+%s+%s+%s+%s+%s" % (args.secret, args.token, m, url, raw.decode(), ts)).encode()).hexdigest()
    if h.headers.get("X-Ovh-Signature") != want:
        fail(400, "Invalid signature")


def ovh_zone(m, parts, q, body):
    if parts[:3] != ["1.0", "domain", "zone"] or len(parts) < 5:
        fail(404, "This service does not exist")
    z = need_zone(parts[3], 404, "This service does not exist")
    if parts[4] == "refresh" and m == "POST":
        ovh_dirty.discard(z)
        return 200, None
    if parts[4] != "record":
        fail(404, "Got an invalid (or empty) URL")
    if m == "GET" and len(parts) == 5:
        return 200, [r["id"] for r in in_zone(z, absolute(q.get("subDomain", ""), z) if "subDomain" in q else None)
                     if q.get("fieldType", "TXT") == "TXT"]
    if m == "GET" and len(parts) == 6:
        r = records.get(int(parts[5]))
        if r is None or r["zone"] != z:
            fail(404, "This service does not exist")
        return 200, {"id": r["id"], "zone": z, "fieldType": "TXT", "subDomain": rel(r["fqdn"], z, ""),
                     "target": r["value"], "ttl": r["ttl"]}
    if m == "POST" and len(parts) == 5:
        maybe_injected()
        if body.get("fieldType") != "TXT" or "target" not in body:
            fail(400, "Invalid fieldType")
        r = add(z, absolute(body.get("subDomain", ""), z), body["target"], body.get("ttl", 0))
        ovh_dirty.add(z)
        return 200, {"id": r["id"], "zone": z, "fieldType": "TXT", "subDomain": body.get("subDomain", ""),
                     "target": r["value"], "ttl": r["ttl"]}
    if m == "DELETE" and len(parts) == 6:
        maybe_injected()
        if int(parts[5]) not in records:
            fail(404, "This service does not exist")
        delete(int(parts[5]))
        ovh_dirty.add(z)
        return 200, None
    fail(404, "This service does not exist")


def nc_error(num, text):
    return ('<?xml version="1.0" encoding="utf-8"?>\n<ApiResponse Status="ERROR" '
            'xmlns="http://api.namecheap.com/xml.response"><Errors><Error Number="%s">%s</Error></Errors>'
            '<Warnings /><RequestedCommand /></ApiResponse>' % (num, escape(text)))


# the hosts that are not TXT records: setHosts must send them back
nc_other = {}  # zone -> [(name, type, address, mxpref, ttl)]


def r_namecheap(h, m, parts, q, body, raw=b""):
    if parts == ["getip"]:
        return 200, "127.0.0.1"
    if parts != ["xml.response"] or m != "POST":
        raise Reply(404, "not found")
    f = {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
    if f.get("ApiUser") != "nc-user" or f.get("ApiKey") != args.token or f.get("UserName") != "nc-user":
        raise Reply(200, nc_error("1011102", "API Key is invalid or API access has not been enabled"))
    if f.get("ClientIp") != "127.0.0.1":
        raise Reply(200, nc_error("1011150", "Invalid request IP: %s" % f.get("ClientIp")))
    z = "%s.%s" % (f.get("SLD"), f.get("TLD"))
    if z not in zones:
        raise Reply(200, nc_error("2019166", "The domain (%s) doesn't seem to be associated with your account." % z))
    cmd = f.get("Command")
    head = '<?xml version="1.0" encoding="utf-8"?>\n<ApiResponse Status="OK" xmlns="http://api.namecheap.com/xml.response"><Errors /><Warnings /><RequestedCommand>%s</RequestedCommand><CommandResponse Type=%s>' % (cmd, quoteattr(cmd))
    tail = '</CommandResponse><Server>TEST</Server><ExecutionTime>0.01</ExecutionTime></ApiResponse>'
    if cmd == "namecheap.domains.dns.getHosts":
        hosts = [(rel(r["fqdn"], z), "TXT", r["value"], "10", str(r["ttl"]), r["id"]) for r in in_zone(z)]
        hosts += [o + (9000 + i,) for i, o in enumerate(nc_other.get(z, []))]
        items = "".join('<host HostId="%d" Name=%s Type=%s Address=%s MXPref=%s TTL=%s IsActive="true" />' % (
            hid, quoteattr(n), quoteattr(t), quoteattr(a), quoteattr(mx), quoteattr(ttl)) for n, t, a, mx, ttl, hid in hosts)
        return 200, head + '<DomainDNSGetHostsResult Domain=%s IsUsingOurDNS="true">%s</DomainDNSGetHostsResult>' % (
            quoteattr(z), items) + tail
    if cmd == "namecheap.domains.dns.setHosts":
        maybe_injected()
        txt, other, i = {}, [], 1
        while "HostName%d" % i in f:
            n, t, a = f["HostName%d" % i], f.get("RecordType%d" % i, ""), f.get("Address%d" % i, "")
            ttl = f.get("TTL%d" % i, "1800")
            if not (60 <= int(ttl or "1800") <= 60000):
                raise Reply(200, nc_error("2050900", "Invalid TTL value"))
            if t == "TXT":
                txt.setdefault(absolute("" if n == "@" else n, z), []).append(a)
            else:
                other.append((n, t, a, f.get("MXPref%d" % i, "10"), ttl))
            i += 1
        nc_other[z] = other
        for fq in set([r["fqdn"] for r in in_zone(z)]) | set(txt):
            replace_set(z, fq, txt.get(fq, []), 60)
        return 200, head + '<DomainDNSSetHostsResult Domain=%s IsSuccess="true"><Warnings /></DomainDNSSetHostsResult>' % quoteattr(z) + tail
    raise Reply(200, nc_error("1010101", "Parameter Command is missing"))


nc_sessions = set()


def r_netcup(h, m, parts, q, body):
    def ok(act, data=""):
        return 200, {"serverrequestid": "srv", "clientrequestid": "", "action": act, "status": "success",
                     "statuscode": 2000, "shortmessage": "ok", "longmessage": "", "responsedata": data}
    if parts != ["endpoint.php"] or m != "POST" or "JSON" not in q:
        raise Reply(404, "not found")
    act, p = body.get("action"), body.get("param", {})
    if p.get("customernumber") != "12345":
        fail(200, "The customer number is invalid.")
    if act == "login":
        if p.get("apikey") != args.token or p.get("apipassword") != args.secret:
            fail(200, "The login credentials are invalid.")
        sid = "sess-%d" % next_id[0]
        next_id[0] += 1
        nc_sessions.add(sid)
        return ok(act, {"apisessionid": sid})
    if p.get("apikey") != args.token or p.get("apisessionid") not in nc_sessions:
        fail(200, "The session id is not in a valid format.")
    if act == "logout":
        nc_sessions.discard(p["apisessionid"])
        return ok(act)
    z = p.get("domainname")
    if z not in zones:
        fail(200, "Domain not found")
    if act == "infoDnsRecords":
        return ok(act, {"dnsrecords": [{"id": str(r["id"]), "hostname": rel(r["fqdn"], z), "type": "TXT",
                                        "priority": "0", "destination": r["value"], "deleterecord": False,
                                        "state": "yes"} for r in in_zone(z)]})
    if act == "updateDnsRecords":
        maybe_injected()
        for rr in p.get("dnsrecordset", {}).get("dnsrecords", []):
            if rr.get("deleterecord"):
                rid = int(rr.get("id", "0"))
                if rid not in records:
                    fail(200, "DNS record not found")
                delete(rid)
            else:
                add(z, absolute(rr["hostname"], z), rr["destination"], 300)
        return ok(act, {"dnsrecords": []})
    fail(200, "Unknown action")


def r_hostinger(h, m, parts, q, body):
    bearer(h, 401, "Unauthenticated.")
    if parts[:4] != ["api", "dns", "v1", "zones"] or len(parts) != 5:
        fail(404, "Not found")
    z = need_zone(parts[4], 404, "Zone not found")
    if m == "GET":
        sets = {}
        for r in in_zone(z):
            sets.setdefault(r["fqdn"], []).append(r)
        out = [{"name": "@", "records": [{"content": "192.0.2.1", "is_disabled": False}], "ttl": 3600, "type": "A"}]
        out += [{"name": rel(f, z), "records": [{"content": r["value"], "is_disabled": False} for r in rs],
                 "ttl": rs[0]["ttl"], "type": "TXT"} for f, rs in sets.items()]
        return 200, out
    if m == "PUT":
        maybe_injected()
        for s in body.get("zone", []):
            if s.get("ttl", 3600) < 60:
                fail(422, "The zone.0.ttl field must be at least 60.")
            f = absolute(s["name"], z)
            vals = [x["content"] for x in s.get("records", [])]
            if not body.get("overwrite"):
                vals = [r["value"] for r in in_zone(z, f)] + vals
            replace_set(z, f, vals, s.get("ttl", 3600))
        return 200, {"message": "Request accepted"}
    if m == "DELETE":
        maybe_injected()
        for flt in body.get("filters", []):
            if flt.get("type") == "TXT":
                replace_set(z, absolute(flt["name"], z), [], 0)
        return 200, {"message": "Request accepted"}
    fail(405, "Method not allowed")


INWX_TOTP = "JBSWY3DPEHPK3PXP"
inwx_unlocked = set()


def totp(secret, t):
    mac = hmac.new(base64.b32decode(secret), struct.pack(">Q", int(t) // 30), hashlib.sha1).digest()
    off = mac[19] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff) % 1000000)


def r_inwx(h, m, parts, q, body):
    if parts != ["jsonrpc"] or m != "POST":
        raise Reply(404, "not found")
    meth, p = body.get("method"), body.get("params", {})
    ok = lambda data=None: (200, dict({"code": 1000, "msg": "Command completed successfully"},
                                      **({"resData": data} if data is not None else {})))
    if meth == "account.login":
        if p.get("user") != "inwx-user" or p.get("pass") != args.token:
            fail(200, "Authentication error")
        sid = "dr%d" % next_id[0]
        next_id[0] += 1
        nc_sessions.add(sid)
        h.cookie = "domrobot=%s; path=/; HttpOnly" % sid
        return ok({"customerId": 1, "accountId": 2, "tfa": "GOOGLE-AUTH"})
    c = h.headers.get("Cookie", "")
    sid = c[len("domrobot="):] if c.startswith("domrobot=") else None
    if sid not in nc_sessions:
        raise Reply(200, {"code": 2200, "msg": "Authentication error"})
    if meth == "account.unlock":
        now = time.time()
        if p.get("tan") not in (totp(INWX_TOTP, now - 30), totp(INWX_TOTP, now), totp(INWX_TOTP, now + 30)):
            raise Reply(200, {"code": 2200, "msg": "Authentication error: invalid tan"})
        inwx_unlocked.add(sid)
        return ok()
    if meth == "account.logout":
        nc_sessions.discard(sid)
        inwx_unlocked.discard(sid)
        return 200, {"code": 1500, "msg": "Command completed successfully; ending session"}
    if sid not in inwx_unlocked:
        raise Reply(200, {"code": 2200, "msg": "Authentication error: account locked, unlock it first"})
    if meth == "nameserver.info":
        z = p.get("domain")
        if z not in zones:
            raise Reply(200, {"code": 2303, "msg": "Object does not exist"})
        sel = [r for r in in_zone(z, p["name"].rstrip(".") if "name" in p else None)]
        return ok({"domain": z, "count": len(sel), "record": [{"id": r["id"], "name": r["fqdn"], "type": "TXT",
                                                               "content": r["value"], "ttl": r["ttl"], "prio": 0}
                                                              for r in sel]})
    if meth == "nameserver.createRecord":
        maybe_injected()
        z = p.get("domain")
        if z not in zones:
            raise Reply(200, {"code": 2303, "msg": "Object does not exist"})
        if p.get("ttl", 3600) < 300:
            raise Reply(200, {"code": 2004, "msg": "Parameter value range error; ttl"})
        r = add(z, absolute(p["name"], z), p["content"], p.get("ttl", 3600))
        return ok({"id": r["id"]})
    if meth == "nameserver.deleteRecord":
        maybe_injected()
        if int(p.get("id", 0)) not in records:
            raise Reply(200, {"code": 2303, "msg": "Object does not exist"})
        delete(int(p["id"]))
        return ok()
    raise Reply(200, {"code": 2000, "msg": "Unknown command"})


def r_httpreq(h, m, parts, q, body):
    if args.user is not None:
        want = "Basic " + base64.b64encode(("%s:%s" % (args.user, args.token)).encode()).decode()
        if h.headers.get("Authorization") != want:
            fail(401, "Unauthorized")
    if m != "POST" or parts not in (["present"], ["cleanup"]):
        fail(404, "not found")
    maybe_injected()
    fqdn = body.get("fqdn", "")
    if not fqdn.endswith(".") or "value" not in body:
        fail(400, "fqdn must be absolute and value given")
    fqdn = fqdn.rstrip(".")
    z = zone_of(fqdn)
    if z is None:
        fail(400, "no zone for " + fqdn)
    if parts == ["present"]:
        if not any(r["value"] == body["value"] for r in in_zone(z, fqdn)):
            add(z, fqdn, body["value"], 60)
    else:
        for r in in_zone(z, fqdn):
            if r["value"] == body["value"]:
                delete(r["id"])
    return 200, None




# ---- azuredns: the identity platform's token endpoint and Resource Manager ----
AZ_TENANT, AZ_SUB, AZ_RG = "azure-tenant", "azure-sub", "dns-rg"
issued = set()


def oauth_fail(status, code, text):
    raise Reply(status, {"error": code, "error_description": text + "\r\nTrace ID: 0c0a\r\nTimestamp: now",
                         "error_codes": [7000215]})


def r_azuredns(h, m, parts, q, body, raw=b""):
    if parts[1:] == ["oauth2", "v2.0", "token"] and m == "POST":
        f = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if parts[0] != AZ_TENANT:
            oauth_fail(400, "invalid_request", "AADSTS90002: Tenant '%s' not found." % parts[0])
        if f.get("grant_type") != "client_credentials" or not f.get("scope", "").endswith("/.default"):
            oauth_fail(400, "unsupported_grant_type", "AADSTS70003: unsupported grant or scope")
        if f.get("client_id") != args.user:
            oauth_fail(400, "unauthorized_client", "AADSTS700016: Application not found in the directory.")
        if f.get("client_secret") != args.token:
            oauth_fail(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
        tok = "az-%d-%s" % (len(issued), hashlib.sha256(raw).hexdigest()[:16])
        issued.add(tok)
        return 200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok}
    a = h.headers.get("Authorization", "")
    if not a.startswith("Bearer ") or a[7:] not in issued:
        fail(401, "The access token is invalid.")
    if q.get("api-version") != "2018-05-01":
        fail(400, "The api-version '%s' is invalid." % q.get("api-version"))
    if (len(parts) != 10 or parts[0] != "subscriptions" or parts[1] != AZ_SUB or parts[2] != "resourceGroups"
            or parts[4:7] != ["providers", "Microsoft.Network", "dnsZones"] or parts[8] != "TXT"):
        fail(404, "No route for %s" % "/".join(parts))
    if parts[3] != AZ_RG:
        raise Reply(404, {"error": {"code": "ResourceGroupNotFound",
                                    "message": "Resource group '%s' could not be found." % parts[3]}})
    z = parts[7]
    if z not in zones:
        raise Reply(404, {"error": {"code": "ParentResourceNotFound",
                                    "message": "Can not perform requested operation on nested resource. "
                                               "Parent resource '%s' not found." % z}})
    f = absolute(parts[9], z)

    def rset():
        rs = in_zone(z, f)
        return {"id": "/" + "/".join(parts[:10]), "name": parts[9], "type": "Microsoft.Network/dnszones/TXT",
                "etag": "e%d" % len(rs), "properties": {"fqdn": f + ".", "TTL": rs[0]["ttl"] if rs else 0,
                "provisioningState": "Succeeded", "TXTRecords": [{"value": [r["value"]]} for r in rs]}}
    if m == "GET":
        if not in_zone(z, f):
            raise Reply(404, {"error": {"code": "NotFound", "message": "The resource record '%s' does not exist "
                                        "in resource group '%s' of subscription '%s'." % (parts[9], AZ_RG, AZ_SUB)}})
        return 200, rset()
    if m == "PUT":
        maybe_injected()
        try:
            p = body["properties"]
            vals = ["".join(t["value"]) for t in p["TXTRecords"]]
            ttl = int(p["TTL"])
        except (KeyError, TypeError, ValueError):
            fail(400, "The request body is not a valid record set.")
        if not vals:
            fail(400, "The record set must hold at least one record.")
        replace_set(z, f, vals, ttl)
        return 200, rset()
    if m == "DELETE":
        maybe_injected()
        replace_set(z, f, [], 0)
        return 200, None
    fail(405, "The requested method is not allowed.")


# ---- gcloud: Google's token endpoint (RFC 7523) and Cloud DNS v1 ----
GC_PROJECT = "goproxy-test"
SHA256_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def b64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def rs256_ok(signed, sig):
    n = int(args.secret, 16)
    k = (n.bit_length() + 7) // 8
    if len(sig) != k:
        return False
    em = pow(int.from_bytes(sig, "big"), 65537, n).to_bytes(k, "big")
    t = SHA256_INFO + hashlib.sha256(signed).digest()
    return em == b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t


def r_gcloud(h, m, parts, q, body, raw=b""):
    if parts == ["token"] and m == "POST":
        f = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if f.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            raise Reply(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type."})
        try:
            hs, cs, ss = f["assertion"].split(".")
            hd, cl = json.loads(b64u(hs)), json.loads(b64u(cs))
            sig = b64u(ss)
        except (KeyError, ValueError):
            raise Reply(400, {"error": "invalid_request", "error_description": "Invalid JWT."})
        if hd.get("alg") != "RS256" or not rs256_ok((hs + "." + cs).encode(), sig):
            raise Reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        now = time.time()
        if cl.get("iss") != args.user:
            raise Reply(400, {"error": "invalid_grant", "error_description": "Invalid email or User ID"})
        if cl.get("aud") != "http://%s/token" % h.headers.get("Host"):
            raise Reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT: audience"})
        if not (cl.get("iat", 0) - 60 <= now <= cl.get("exp", 0) <= cl.get("iat", 0) + 3600):
            raise Reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT: Token must be a "
                              "short-lived token (60 minutes) and in a reasonable timeframe."})
        if "https://www.googleapis.com/auth/ndev.clouddns.readwrite" not in cl.get("scope", "").split():
            raise Reply(400, {"error": "invalid_scope", "error_description": "Invalid OAuth scope."})
        tok = "ya29.%d-%s" % (len(issued), hashlib.sha256(raw).hexdigest()[:16])
        issued.add(tok)
        return 200, {"access_token": tok, "expires_in": 3599, "token_type": "Bearer"}
    a = h.headers.get("Authorization", "")
    if not a.startswith("Bearer ") or a[7:] not in issued:
        fail(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                  "or other valid authentication credential.")
    if parts[:4] != ["dns", "v1", "projects", GC_PROJECT] or len(parts) < 5 or parts[4] != "managedZones":
        fail(403, "Forbidden: the caller does not have permission")
    if len(parts) == 5 and m == "GET":
        dn = q.get("dnsName")
        if dn is not None and not dn.endswith("."):
            fail(400, "Invalid value for 'dnsName': '%s'" % dn)
        return 200, {"kind": "dns#managedZonesListResponse", "managedZones": [
            {"kind": "dns#managedZone", "name": "zone-" + z.replace(".", "-"), "dnsName": z + ".", "id": str(i),
             "visibility": "public"} for z, i in sorted(zones.items()) if dn is None or dn == z + "."]}
    byname = {"zone-" + z.replace(".", "-"): z for z in zones}
    if len(parts) != 7 or parts[5] not in byname:
        fail(404, "The 'parameters.managedZone' resource named '%s' does not exist." % (parts[5:6] or [""])[0])
    z = byname[parts[5]]

    def rrset(f):
        rs = in_zone(z, f)
        return {"kind": "dns#resourceRecordSet", "name": f + ".", "type": "TXT", "ttl": rs[0]["ttl"],
                "rrdatas": ['"%s"' % unquote_txt(r["value"]) for r in rs]} if rs else None
    if parts[6] == "rrsets" and m == "GET":
        n, t = q.get("name"), q.get("type")
        if n is None or not n.endswith(".") or t != "TXT":
            fail(400, "Invalid value for 'name' or 'type'")
        s = rrset(n[:-1])
        return 200, {"kind": "dns#resourceRecordSetsListResponse", "rrsets": [s] if s else []}
    if parts[6] == "changes" and m == "POST":
        maybe_injected()
        dels, adds = body.get("deletions") or [], body.get("additions") or []
        for i, d in enumerate(dels + adds):
            if not d.get("name", "").endswith(".") or d.get("type") != "TXT" or not d.get("rrdatas"):
                fail(400, "Invalid value for 'entity.change.%s[%d]'" % ("deletions" if i < len(dels) else
                                                                        "additions", i % max(1, len(dels))))
        have = {}
        for d in dels:
            f = d["name"][:-1]
            cur = rrset(f)
            if cur is None or cur["ttl"] != d.get("ttl") or sorted(cur["rrdatas"]) != sorted(d["rrdatas"]):
                fail(412, "Precondition not met for 'entity.change.deletions[0]'")
            have[f] = []
        for a in adds:
            f = a["name"][:-1]
            if f not in have and rrset(f) is not None:
                fail(409, "The resource 'entity.change.additions[0]' named '%s (TXT)' already exists" % a["name"])
            have[f] = a
        for f, a in have.items():
            replace_set(z, f, a["rrdatas"] if a else [], a["ttl"] if a else 0)
        return 200, {"kind": "dns#change", "id": str(next_id[0]), "status": "pending",
                     "additions": adds, "deletions": dels}
    fail(404, "Not Found")


CD_CLIENT, CD_EMAIL = "4711", "acme@example.test"
cd_tokens = set()


def r_clouddns(h, m, parts, q, body):
    if parts == ["api", "public", "auth", "login"] and m == "POST":
        if body.get("email") != CD_EMAIL or body.get("password") != args.token:
            fail(401, "Invalid credentials")
        t = base64.urlsafe_b64encode(os.urandom(24)).decode()
        cd_tokens.add(t)
        return 200, {"auth": {"accessToken": t, "refreshToken": "r-" + t}}
    a = h.headers.get("Authorization", "")
    if not a.startswith("Bearer ") or a[7:] not in cd_tokens:
        fail(401, "Access token is missing or invalid")
    if parts[:1] != ["clouddns"]:
        fail(404, "Not found")
    p = parts[1:]
    ids = {"d-%d" % n: z for z, n in zones.items()}
    if p == ["domain", "search"] and m == "POST":
        want = {c.get("name"): c.get("value") for c in body.get("search", []) if c.get("operator") == "eq"}
        items = [{"id": "d-%d" % n, "domainName": z, "status": "published"} for z, n in zones.items()
                 if want.get("clientId") == CD_CLIENT and want.get("domainName", "").rstrip(".") == z]
        return 200, {"items": items, "limit": 20, "offset": 0, "totalHits": len(items)}
    if len(p) >= 2 and p[0] == "domain" and p[1] not in ids:
        fail(404, "Domain not found")
    if len(p) == 2 and p[0] == "domain" and m == "GET":
        z = ids[p[1]]
        return 200, {"id": p[1], "domainName": z, "status": "published" if z not in ovh_dirty else "changed",
                     "lastDomainRecordList": [{"id": "r-%d" % r["id"], "domainId": p[1], "name": r["fqdn"] + ".",
                                               "value": r["value"], "type": "TXT"} for r in in_zone(z)]}
    if len(p) == 3 and p[0] == "domain" and p[2] == "publish" and m == "PUT":
        if not isinstance(body.get("soaTtl"), int):
            fail(400, "soaTtl must be a number")
        ovh_dirty.discard(ids[p[1]])
        return 200, {"id": p[1], "status": "published"}
    if p == ["record-txt"] and m == "POST":
        maybe_injected()
        z = ids.get(body.get("domainId"))
        if z is None:
            fail(404, "Domain not found")
        if body.get("type") != "TXT" or not body.get("name", "").endswith(".") or "value" not in body:
            fail(400, "name must be a fully qualified name, type TXT and value given")
        r = add(z, absolute(body["name"], z), body["value"], 300)
        ovh_dirty.add(z)
        return 200, {"id": "r-%d" % r["id"], "domainId": body["domainId"], "name": body["name"],
                     "value": r["value"], "type": "TXT"}
    if len(p) == 2 and p[0] == "record" and m == "DELETE":
        maybe_injected()
        rid = int(p[1][2:]) if p[1].startswith("r-") and p[1][2:].isdigit() else -1
        if rid not in records:
            fail(404, "Record not found")
        ovh_dirty.add(records[rid]["zone"])
        delete(rid)
        return 200, None
    fail(404, "Not found")


def r_timewebcloud(h, m, parts, q, body):
    bearer(h, 401, "Unauthorized")
    if parts[:4] != ["api", "v1", "domains"] + parts[3:4] or len(parts) < 5 or parts[4] != "dns-records":
        fail(404, "Not Found")
    z = need_zone(parts[3], 404, "Domain not found")
    if m == "GET" and len(parts) == 5:
        sel = in_zone(z)
        limit, offset = int(q.get("limit", "100")), int(q.get("offset", "0"))
        if not 1 <= limit <= 100:
            fail(400, "limit must be 1-100")
        got = sel[offset: offset + min(limit, args.max_per_page)]
        return 200, {"meta": {"total": len(sel)}, "response_id": "r", "dns_records": [
            {"id": r["id"], "type": "TXT", "ttl": r["ttl"], "fqdn": r["fqdn"],
             "data": ({} if r["fqdn"] == z else {"subdomain": rel(r["fqdn"], z)}) | {"value": r["value"]}}
            for r in got]}
    if m == "POST" and len(parts) == 5:
        maybe_injected()
        if body.get("type") != "TXT" or not body.get("value"):
            fail(400, "type and value are required")
        r = add(z, absolute(body.get("subdomain", ""), z), body["value"], 600)
        return 201, {"dns_record": {"id": r["id"], "type": "TXT", "ttl": 600,
                                    "data": {"subdomain": rel(r["fqdn"], z), "value": r["value"]}},
                     "response_id": "r"}
    if m == "DELETE" and len(parts) == 6:
        maybe_injected()
        rid = int(parts[5]) if parts[5].isdigit() else -1
        if rid not in records or records[rid]["zone"] != z:
            fail(404, "DNS record not found")
        delete(rid)
        return 204, None
    fail(404, "Not Found")


OCI_KEY_ID = "ocid1.tenancy.oc1..test/ocid1.user.oc1..test/12:34:56:78:9a:bc:de:f0"
OCI_DENY = "The required information to complete authentication was not provided or was incorrect."


def oci_check(h, m, raw):
    """The HTTP signature as OCI checks it (draft-cavage, version 1)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    from email.utils import parsedate_to_datetime
    a = h.headers.get("Authorization", "")
    if not a.startswith("Signature "):
        fail(401, OCI_DENY)
    f = {}
    for kv in a[len("Signature "):].split(","):
        k, _, v = kv.partition("=")
        f[k.strip()] = v.strip().strip('"')
    want_h = ["date", "(request-target)", "host"] + (
        ["x-content-sha256", "content-type", "content-length"] if m in ("POST", "PUT", "PATCH") else [])
    if f.get("version") != "1" or f.get("algorithm") != "rsa-sha256" or f.get("keyId") != OCI_KEY_ID or \
            any(x not in f.get("headers", "").split() for x in want_h):
        fail(401, OCI_DENY)
    try:
        if abs(parsedate_to_datetime(h.headers.get("Date", "")).timestamp() - time.time()) > 300:
            fail(401, "Date " + h.headers.get("Date", "") + " is more than 5 minutes from now")
    except (TypeError, ValueError):
        fail(401, OCI_DENY)
    if "x-content-sha256" in want_h:
        if h.headers.get("x-content-sha256") != base64.b64encode(hashlib.sha256(raw).digest()).decode() or \
                int(h.headers.get("Content-Length", "-1")) != len(raw):
            fail(401, OCI_DENY)
    lines = []
    for x in f["headers"].split():
        if x == "(request-target)":
            lines.append("(request-target): %s %s" % (m.lower(), h.path))
        else:
            lines.append("%s: %s" % (x, h.headers.get(x, "")))
    pub = serialization.load_pem_public_key(open(args.secret, "rb").read())
    try:
        pub.verify(base64.b64decode(f.get("signature", "")), "\n".join(lines).encode(), padding.PKCS1v15(),
                   hashes.SHA256())
    except Exception:
        fail(401, OCI_DENY)


def r_oraclecloud(h, m, parts, q, body, raw=b""):
    oci_check(h, m, raw)
    if parts[:2] != ["20180115", "zones"] or len(parts) != 5 or parts[3] != "records":
        fail(404, "Not found")
    if q.get("compartmentId") != "ocid1.compartment.oc1..test":
        fail(404, "Authorization failed or requested resource not found.")
    z = need_zone(parts[2], 404, "Authorization failed or requested resource not found.")
    f = parts[4].rstrip(".")
    if zone_of(f) != z:
        fail(400, "Domain %s is not in zone %s" % (f, z))
    if m == "GET":
        if q.get("rtype") != "TXT":
            fail(400, "this test server lists rtype=TXT only")
        return 200, {"items": [{"domain": r["fqdn"], "recordHash": "h%d" % r["id"], "isProtected": False,
                                "rdata": '"%s"' % r["value"], "rrsetVersion": "1", "rtype": "TXT",
                                "ttl": r["ttl"]} for r in in_zone(z, f)]}
    if m == "PATCH":
        maybe_injected()
        for op in body.get("items", []):
            kind = op.get("operation", "ADD")
            if kind == "ADD":
                if op.get("domain") != f or op.get("rtype") != "TXT" or "rdata" not in op:
                    fail(400, "domain, rtype and rdata are required")
                v = unquote_txt(op["rdata"])
                if not any(r["value"] == v for r in in_zone(z, f)):
                    add(z, f, v, op.get("ttl", 86400))
            elif kind == "REMOVE":
                rid = int(op.get("recordHash", "h-1")[1:] or -1)
                if rid not in records or records[rid]["fqdn"] != f:
                    fail(400, "recordHash %s does not match a record" % op.get("recordHash"))
                delete(rid)
            else:
                fail(400, "operation %s is not ADD, REMOVE" % kind)
        return 200, {"items": [{"domain": r["fqdn"], "recordHash": "h%d" % r["id"], "rdata": '"%s"' % r["value"],
                                "rtype": "TXT", "ttl": r["ttl"]} for r in in_zone(z, f)]}
    fail(405, "Method not allowed")


EG_CLIENT_TOKEN = "akab-client-token-test"


def edgegrid_check(h, m, raw):
    """The signature as Akamai's gateway checks it (EdgeGrid v1)."""
    a = h.headers.get("Authorization", "")
    if not a.startswith("EG1-HMAC-SHA256 "):
        fail(401, "The request does not contain a valid EG1-HMAC-SHA256 Authorization header")
    f = dict(kv.split("=", 1) for kv in a[len("EG1-HMAC-SHA256 "):].split(";") if "=" in kv)
    if f.get("client_token") != EG_CLIENT_TOKEN or f.get("access_token") != args.secret:
        fail(401, "Invalid authorization client_token or access_token")
    ts = f.get("timestamp", "")
    try:
        t = calendar.timegm(time.strptime(ts, "%Y%m%dT%H:%M:%S+0000"))
    except ValueError:
        fail(401, "Invalid timestamp")
    if abs(t - time.time()) > 120 or len(f.get("nonce", "")) < 16:
        fail(401, "Invalid timestamp or nonce")
    unsigned = a[: a.index("signature=")]
    chash = base64.b64encode(hashlib.sha256(raw[:131072]).digest()).decode() if m == "POST" and raw else ""
    data = "\t".join([m, "http", h.headers.get("Host", ""), h.path, "", chash, unsigned])
    key = base64.b64encode(hmac.new(args.token.encode(), ts.encode(), hashlib.sha256).digest())
    want = base64.b64encode(hmac.new(key, data.encode(), hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(f.get("signature", ""), want):
        fail(401, "The signature does not match")


def r_edgedns(h, m, parts, q, body, raw=b""):
    edgegrid_check(h, m, raw)
    if parts[:3] != ["config-dns", "v2", "zones"] or len(parts) != 8 or parts[4] != "names" or parts[6] != "types":
        fail(404, "Not Found")
    z = need_zone(parts[3], 404, "Zone %s does not exist" % parts[3])
    f = parts[5].rstrip(".")
    if parts[7] != "TXT" or zone_of(f) != z:
        fail(400, "Invalid record name or type")
    sel = in_zone(z, f)
    if m == "GET":
        if not sel:
            fail(404, "Recordset does not exist")
        return 200, {"name": f, "type": "TXT", "ttl": sel[0]["ttl"], "rdata": ['"%s"' % r["value"] for r in sel]}
    if m in ("POST", "PUT"):
        maybe_injected()
        if m == "POST" and sel:
            fail(409, "Recordset already exists")
        if m == "PUT" and not sel:
            fail(404, "Recordset does not exist")
        if body.get("name") != f or body.get("type") != "TXT" or not body.get("rdata"):
            fail(400, "Invalid recordset: name, type and rdata are required")
        if any(not (v.startswith('"') and v.endswith('"')) for v in body["rdata"]):
            fail(400, "Invalid TXT rdata: strings must be quoted")
        replace_set(z, f, [unquote_txt(v) for v in body["rdata"]], body.get("ttl", 300))
        return 201 if m == "POST" else 200, body
    if m == "DELETE":
        maybe_injected()
        if not sel:
            fail(404, "Recordset does not exist")
        for r in sel:
            delete(r["id"])
        return 204, None
    fail(405, "Method Not Allowed")


ROUTES = {k[2:]: v for k, v in globals().items() if k.startswith("r_")}


# token endpoints take forms: the raw body, JSON parsed where JSON came
FORMS = ("azuredns", "gcloud")

class H(BaseHTTPRequestHandler):
    def log_message(self, fmt, *a):
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def send(self, status, obj):
        if obj is None:
            data = b""
        elif isinstance(obj, str):
            data = obj.encode()
        else:
            data = json.dumps(obj).encode()
        self.send_response(status)
        if getattr(self, "cookie", None):
            self.send_header("Set-Cookie", self.cookie)
            self.cookie = None
        if data:
            self.send_header("Content-Type", "text/plain" if isinstance(obj, str) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        parts = [unquote(p) for p in u.path.split("/") if p]
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        with lock:
            if parts == [] and self.command == "GET":
                return self.send(200, {"ok": True})
            if parts == ["_other"]:
                b = json.loads(raw) if raw else None
                if b is not None:
                    nc_other[b["zone"]] = [tuple(x) for x in b["hosts"]]
                return self.send(200, nc_other)
            if parts == ["_sessions"]:
                return self.send(200, sorted(nc_sessions))
            if parts == ["_dirty"]:
                return self.send(200, sorted(ovh_dirty))
            if parts == ["_state"]:
                return self.send(200, sorted(records.values(), key=lambda r: r["id"]))
            if parts == ["_seed"]:
                b = json.loads(raw)
                for k in range(b.get("n", 1)):
                    add(zone_of(b["fqdn"]), b["fqdn"], "%s-%d" % (b["value"], k), 300)
                return self.send(200, {"n": len(records)})
            if parts == ["_fail"]:
                b = json.loads(raw)
                fail_next.append((b["status"], b["text"]))
                return self.send(200, {})
            try:
                body = json.loads(raw) if raw and P != "namecheap" and not raw.startswith(b"grant_type=") else {}
            except ValueError:
                return self.send(400, err_body(400, "malformed JSON"))
            try:
                if P in ("ovh", "namecheap", "edgedns", "oraclecloud") or P in FORMS:
                    status, obj = ROUTES[P](self, self.command, parts, q, body, raw)
                else:
                    status, obj = ROUTES[P](self, self.command, parts, q, body)
            except Reply as r:
                status, obj = r.status, r.body
            self.send(status, obj)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


ThreadingHTTPServer(("127.0.0.1", args.port), H).serve_forever()
