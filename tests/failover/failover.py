"""Three `baukasten serve` instances on one PostgreSQL database, 32 clients sending
submissions spread over them, one instance SIGKILLed and restarted again and again meanwhile.

Afterwards:
  * every submission a client got acknowledged (201, also as a replay of its key) is
    readable from every instance;
  * no idempotency key made two submissions, and the database holds exactly the
    acknowledged ones (a client whose instance died retries its key on another instance);
  * every submission's webhook arrived at a receiver that verifies each signature with
    `standardwebhooks` (PyPI), and the outbox holds nothing undelivered.

Run by run.sh, which builds the binary, makes the database and the configuration.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

parser = argparse.ArgumentParser()
parser.add_argument("--binary", required=True)
parser.add_argument("--forms", required=True)
parser.add_argument("--config", required=True)
parser.add_argument("--store", required=True)
parser.add_argument("--work", required=True)
parser.add_argument("--secret", required=True)
parser.add_argument("--port-file", required=True)
parser.add_argument("--token", required=True)
parser.add_argument("--template", required=True, help="the configuration, with __PORT__ for the receiver's port")
parser.add_argument("--clients", type=int, default=32)
parser.add_argument("--kills", type=int, default=10)
args = parser.parse_args()

ANSWERS = json.dumps({
    "kategorie": "schlagloch", "ortsangabe": "adresse", "strasse": "Hauptstraße",
    "hausnummer": "12", "beschreibung": "Ein tiefes Schlagloch auf der rechten Fahrspur vor dem Haus.",
    "rueckmeldung": False,
}).encode()
PATH = "/api/v1/services/musterstadt/maengelmelder/submissions"


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


# --- the webhook receiver -------------------------------------------------------------------
webhook = Webhook(args.secret)
received = {}  # webhook-id -> reference
received_lock = threading.Lock()
refused = []


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            payload = webhook.verify(body, headers)
        except WebhookVerificationError as e:
            refused.append(str(e))
            self.send_response(401)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        with received_lock:
            received.setdefault(headers["webhook-id"], []).append(payload["data"]["reference"])
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass

    def handle(self):
        # A connection an instance dropped when it was killed is no error here.
        try:
            super().handle()
        except ConnectionResetError:
            pass


sink = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=sink.serve_forever, daemon=True).start()
with open(args.port_file, "w") as f:
    f.write(str(sink.server_address[1]))
with open(args.template) as f:
    config = f.read().replace("__PORT__", str(sink.server_address[1]))
with open(args.config, "w") as f:
    f.write(config)


# --- the instances ---------------------------------------------------------------------------
def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ports = [free_port() for _ in range(3)]
bases = [f"http://127.0.0.1:{p}" for p in ports]
procs = [None, None, None]


def start(i):
    log = open(os.path.join(args.work, f"instance-{i}.log"), "a")
    procs[i] = subprocess.Popen(
        [args.binary, "serve", "--forms", args.forms, "--config", args.config, "--store", args.store,
         "--data", os.path.join(args.work, f"data-{i}"), "--addr", f"127.0.0.1:{ports[i]}"],
        stdout=log, stderr=log)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(bases[i] + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if procs[i].poll() is not None:
            fail(f"instance {i} exited with {procs[i].returncode}; see {args.work}/instance-{i}.log")
        time.sleep(0.1)
    fail(f"instance {i} did not become ready")


for i in range(3):
    start(i)
print(f"-- three instances on {args.store.rsplit('/', 1)[-1]}: {', '.join(bases)}", flush=True)

# --- the clients -----------------------------------------------------------------------------
acknowledged = {}  # key -> reference
ack_lock = threading.Lock()
stop = threading.Event()
retries = [0]
replays = [0]


def send(base, key):
    request = urllib.request.Request(base + PATH, data=ANSWERS, method="POST", headers={
        "Content-Type": "application/json", "Idempotency-Key": key})
    with urllib.request.urlopen(request, timeout=30) as r:
        return r.status, r.headers.get("Idempotent-Replayed") == "true", json.load(r)


def client(n):
    rng = random.Random(n)
    while not stop.is_set():
        key = str(uuid.uuid4())
        instance = rng.randrange(3)
        for attempt in range(200):
            base = bases[(instance + attempt) % 3]
            try:
                status, replayed, body = send(base, key)
            except urllib.error.HTTPError as e:
                if e.code >= 500 or e.code == 429:
                    retries[0] += 1
                    time.sleep(0.05)
                    continue
                fail(f"{base}: {e.code} {e.read()[:300]!r}")
            except (urllib.error.URLError, ConnectionError, OSError, TimeoutError):
                # The instance died or restarts: the same key goes to the next one.
                retries[0] += 1
                time.sleep(0.05)
                continue
            if status != 201:
                fail(f"{base}: unexpected status {status}")
            if replayed:
                replays[0] += 1
            with ack_lock:
                earlier = acknowledged.setdefault(key, body["reference"])
            if earlier != body["reference"]:
                fail(f"key {key} made two submissions: {earlier} and {body['reference']}")
            break
        else:
            fail(f"key {key}: no instance took it after 200 attempts")


threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
began = time.time()
for t in threads:
    t.start()

for k in range(args.kills):
    time.sleep(1.5)
    victim = k % 3
    procs[victim].send_signal(signal.SIGKILL)
    procs[victim].wait()
    time.sleep(0.3)
    start(victim)
    print(f"   kill {k + 1}/{args.kills}: instance {victim} SIGKILLed and restarted "
          f"({len(acknowledged)} acknowledged so far)", flush=True)
time.sleep(1.5)
stop.set()
for t in threads:
    t.join()
took = time.time() - began
print(f"-- {len(acknowledged)} submissions acknowledged in {took:.1f} s by {args.clients} clients "
      f"({len(acknowledged) / took:.0f}/s with a debug build), {retries[0]} retries after a kill, "
      f"{replays[0]} answered as replays of their key", flush=True)


# --- the checks ------------------------------------------------------------------------------
def psql(sql):
    out = subprocess.run(["psql", args.store, "-tAc", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


references = set(acknowledged.values())
if len(references) != len(acknowledged):
    fail("two keys were acknowledged with the same reference")
stored = set(psql("SELECT reference FROM submissions").split())
if stored != references:
    fail(f"the database holds {len(stored)} submissions, {len(references)} were acknowledged: "
         f"{len(stored - references)} unacknowledged, {len(references - stored)} missing")
print(f"-- the database holds exactly the {len(stored)} acknowledged submissions, none twice", flush=True)

sample = sorted(references)
for i, base in enumerate(bases):
    for reference in sample:
        request = urllib.request.Request(f"{base}/api/v1/submissions/{reference}",
                                         headers={"Authorization": f"Bearer {args.token}"})
        with urllib.request.urlopen(request, timeout=30) as r:
            if r.status != 200 or json.load(r)["reference"] != reference:
                fail(f"{reference} is not readable from instance {i}")
print(f"-- every acknowledged reference is readable from each of the 3 instances", flush=True)

deadline = time.time() + 120
while True:
    left = int(psql("SELECT COUNT(*) FROM outbox WHERE status <> 'delivered'"))
    with received_lock:
        arrived = {ref for refs in received.values() for ref in refs}
    if left == 0 and references <= arrived:
        break
    if time.time() > deadline:
        fail(f"{left} deliveries not made after 120 s; {len(references - arrived)} references never arrived")
    time.sleep(0.5)
if refused:
    fail(f"{len(refused)} webhooks had a bad signature: {refused[:3]}")
with received_lock:
    copies = sum(len(refs) for refs in received.values())
    twice = sum(1 for refs in received.values() if len(refs) > 1)
print(f"-- every delivery was made: {len(received)} webhooks verified by standardwebhooks for "
      f"{len(references)} submissions; {twice} arrived more than once ({copies} requests; at least "
      f"once, receivers drop repeats by webhook-id)", flush=True)

for p in procs:
    p.send_signal(signal.SIGTERM)
for p in procs:
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
print("ok", flush=True)
