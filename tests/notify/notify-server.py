#!/usr/bin/env python3
"""A small server answering as the notification services do, recording
every request (one JSON object per line) for tests/notify.

Written from each service's published API:
  ntfy      POST /ntfy/TOPIC, body = message, headers Title, Priority,
            Tags, Authorization: Bearer TOKEN (docs.ntfy.sh/publish);
            200 with a JSON message object.
  Gotify    POST /gotify/message?token=APPTOKEN (or X-Gotify-Key), JSON
            {"title", "message", "priority"}; 401 for a wrong token,
            400 without message (gotify.net/api-docs).
  Discord   POST /discord/api/webhooks/ID/TOKEN, JSON with "content"
            (at most 2000 characters) or embeds; 204; 400 when empty.
  Slack     POST /slack/services/T/B/X, JSON with "text"; 200 "ok",
            400 "no_text".
  Pushover  POST /pushover/1/messages.json, form fields token, user,
            message (required, at most 1024 characters), title (at most
            250); {"status":1,...}; 400 with
            {"status":0,"errors":[...]} otherwise.
  webhook   POST /webhook/..., anything; 200.

usage: notify-server.py PORT RECORD_FILE [GOTIFY_TOKEN [PUSHOVER_TOKEN]]
"""
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
RECORD = sys.argv[2]
GOTIFY_TOKEN = sys.argv[3] if len(sys.argv) > 3 else "gotify-secret"
PUSHOVER_TOKEN = sys.argv[4] if len(sys.argv) > 4 else "pushover-app"
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        self.do_POST()

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace")
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        service = parts[0] if parts else ""
        rec = {"service": service, "method": self.command, "path": url.path,
               "query": url.query, "headers": {k: v for k, v in self.headers.items()},
               "body": raw}
        status, body, ctype = 404, '{"error":"not found"}', "application/json"
        ct = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if service == "ntfy" and len(parts) == 2:
            if not raw:
                status, body = 400, '{"code":40010,"error":"empty message"}'
            else:
                status, body = 200, json.dumps({"id": "x", "event": "message", "topic": parts[1],
                                                "title": self.headers.get("Title"), "message": raw})
        elif service == "gotify" and parts[1:] == ["message"]:
            tok = (query.get("token") or [self.headers.get("X-Gotify-Key")])[0]
            try:
                j = json.loads(raw) if ct == "application/json" else {}
            except ValueError:
                j = {}
            if tok != GOTIFY_TOKEN:
                status, body = 401, '{"error":"Unauthorized","errorCode":401}'
            elif not j.get("message"):
                status, body = 400, '{"error":"Bad Request","errorDescription":"message required"}'
            else:
                rec["json"] = j
                status, body = 200, json.dumps({"id": 1, "appid": 1, **j})
        elif service == "discord" and parts[1:3] == ["api", "webhooks"] and len(parts) == 5:
            try:
                j = json.loads(raw)
            except ValueError:
                j = None
            if not isinstance(j, dict) or not (j.get("content") or j.get("embeds")):
                status, body = 400, '{"message":"Cannot send an empty message","code":50006}'
            elif len(j.get("content") or "") > 2000:
                status, body = 400, '{"content":["Must be 2000 or fewer in length."]}'
            else:
                rec["json"] = j
                status, body = 204, ""
        elif service == "slack" and parts[1:2] == ["services"]:
            try:
                j = json.loads(raw)
            except ValueError:
                j = None
            if not isinstance(j, dict):
                status, body, ctype = 400, "invalid_payload", "text/plain"
            elif not j.get("text") and not j.get("blocks"):
                status, body, ctype = 400, "no_text", "text/plain"
            else:
                rec["json"] = j
                status, body, ctype = 200, "ok", "text/plain"
        elif service == "pushover" and url.path == "/pushover/1/messages.json":
            if ct == "application/x-www-form-urlencoded":
                form = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
            else:
                try:
                    form = json.loads(raw)
                except ValueError:
                    form = {}
            rec["form"] = form
            errors = []
            if form.get("token") != PUSHOVER_TOKEN:
                errors.append("application token is invalid")
            if not form.get("user"):
                errors.append("user identifier is not a valid user, group, or subscribed user key")
            if not form.get("message"):
                errors.append("message cannot be blank")
            elif len(form.get("message")) > 1024:
                errors.append("message cannot be longer than 1024 characters")
            if len(form.get("title") or "") > 250:
                errors.append("title cannot be longer than 250 characters")
            if errors:
                status, body = 400, json.dumps({"status": 0, "errors": errors, "request": "r"})
            else:
                status, body = 200, '{"status":1,"request":"r"}'
        elif service == "webhook":
            status, body = 200, "{}"
        rec["status"] = status
        with LOCK:
            with open(RECORD, "a") as f:
                f.write(json.dumps(rec) + "\n")
        self.answer(status, body, ctype)


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
