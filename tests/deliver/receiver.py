"""A webhook receiver for the delivery checks (run.sh): verifies every request with the
`standardwebhooks` package (an implementation of the Standard Webhooks specification that is
not ours), answers 500 to the first --fail requests, and while --accept-file is named, 503
until that file exists; then 204. Writes one JSON line per request to --log and the port it
listens on to --port-file.
"""

import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

parser = argparse.ArgumentParser()
parser.add_argument("--secret", required=True)
parser.add_argument("--fail", type=int, default=0)
parser.add_argument("--accept-file")
parser.add_argument("--log", required=True)
parser.add_argument("--port-file", required=True)
args = parser.parse_args()

webhook = Webhook(args.secret)
lock = threading.Lock()
count = 0


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            payload = webhook.verify(body, headers)
            verified = True
        except WebhookVerificationError as e:
            payload, verified = {}, False
            print(f"receiver: signature refused: {e}", flush=True)
        with lock:
            count += 1
            n = count
        if not verified:
            status = 401
        elif n <= args.fail:
            status = 500
        elif args.accept_file and not os.path.exists(args.accept_file):
            status = 503
        else:
            status = 204
        entry = {
            "n": n,
            "id": headers.get("webhook-id"),
            "verified": verified,
            "status": status,
            "type": payload.get("type"),
            "reference": (payload.get("data") or {}).get("reference"),
        }
        with lock, open(args.log, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(args.port_file, "w", encoding="utf-8") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
