"""FIT-Connect deliveries end to end (run.sh calls this): our server sends Bewohnerparkausweis
applications of Musterstadt to the mock Submission API (fc_mock.py), which decrypts everything
with jwcrypto and validates the metadata against FITKO's schema. The scenarios:
  a. a submission with an upload arrives once: metadata valid, hashes right, the upload and the
     PDF receipt as attachments, the data the submission's answers; the back office shows the
     FIT-Connect submission and case ids;
  b. callbacks: a good one is taken (200) and the accept-submission it announces shows up in the
     delivery's events; one with a wrong HMAC and a stale one are refused (401) and change
     nothing;
  c. failures: an inactive destination, a 2048-bit key and a refused token each stop the
     delivery before anything is created, with an error that names the cause, and it goes
     through once the cause is gone (resend); two 503s are retried and it arrives once;
  d. the server is killed (SIGKILL) while an attachment upload is held; started again on the
     same data, it completes the delivery: one submission created, one sent.
This script starts, kills and restarts the server itself; run.sh starts the mock.

usage: check.py --repo DIR --baukasten BIN --forms DIR --data DIR --config FILE --work DIR
                --mock URL --mock-log FILE --token TOKEN --destination UUID"""

import argparse
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zlib

LEIKA_URN = "urn:de:fim:leika:leistung:99108001000000"
EVENT = "https://schema.fitko.de/fit-connect/events/"


class Failure(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Failure(message)


def call(method, url, body=None, headers=None, timeout=30):
    """(status, JSON or bytes) of one request; never raises for an HTTP status."""
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        status, raw, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
    return status, (json.loads(raw) if "json" in ctype and raw else raw)


def wait_for(what, probe, timeout=60, interval=0.25):
    """Calls probe() until it answers (True, value); probe answers (False, what it saw) while
    waiting. A Failure naming `what` and the last thing seen when it takes longer than timeout."""
    deadline, seen = time.time() + timeout, None
    while time.time() < deadline:
        done, seen = probe()
        if done:
            return seen
        time.sleep(interval)
    raise Failure(f"{what}: not within {timeout} s; last seen:\n{json.dumps(seen, indent=1, default=str)[:4000]}")


def png(label):
    """A real 1x1 PNG, made different for each submission by a text chunk."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"tEXt", b"Comment\x00" + label.encode()) + chunk(b"IDAT", zlib.compress(b"\x00\x2e\x6b\x30"))
            + chunk(b"IEND", b""))


class Run:
    def __init__(self, args):
        self.a = args
        self.mock = args.mock.rstrip("/")
        self.server = None
        self.base = None
        self.current = None  # the reference being looked at, for the failure report
        self.starts = 0

    # -- the server -----------------------------------------------------------------------

    def start(self):
        self.starts += 1
        out = os.path.join(self.a.work, f"serve-{self.starts}.out")
        err = os.path.join(self.a.work, f"serve-{self.starts}.err")
        self.server_err = err
        self.server = subprocess.Popen(
            [self.a.baukasten, "serve", "--forms", self.a.forms, "--data", self.a.data, "--addr", "127.0.0.1:0",
             "--config", self.a.config],
            cwd=self.a.repo, stdout=open(out, "w"), stderr=open(err, "w"))
        deadline = time.time() + 30
        while time.time() < deadline:
            found = re.search(r"http://[0-9.:]+", open(out).read())
            if found:
                self.base = found.group(0)
                return
            if self.server.poll() is not None:
                break
            time.sleep(0.1)
        raise Failure("the server did not start (its stderr is below)")

    def kill(self):
        if self.server and self.server.poll() is None:
            self.server.kill()  # SIGKILL: no shutdown code of ours runs
        if self.server:
            self.server.wait()

    # -- our API --------------------------------------------------------------------------

    def api(self, method, path, body=None, **kw):
        return call(method, self.base + path, body, {"Authorization": f"Bearer {self.a.token}"}, **kw)

    def submit(self, label):
        """A Bewohnerparkausweis of Musterstadt with a photo of the Fahrzeugschein: (reference,
        the photo's bytes, its file name)."""
        photo, name = png(label), f"fahrzeugschein-{label}.png"
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                f"Content-Type: image/png\r\n\r\n").encode() + photo + f"\r\n--{boundary}--\r\n".encode()
        status, uploads = call("POST", f"{self.base}/api/v1/services/musterstadt/bewohnerparkausweis/attachments",
                               body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        expect(status == 201, f"the upload was not taken: {status} {uploads}")
        answers = {
            "antragsteller": {"vorname": "Erika", "nachname": "Mustermann", "geburtsdatum": "1980-04-12"},
            "wohnanschrift": {"strasse": "Marktstraße", "hausnummer": "3", "plz": "12345", "ort": "Musterstadt"},
            "zone": "altstadt", "hauptwohnsitz": True, "privater_stellplatz": False, "kennzeichen": "KI-EM 1980",
            "halter": "selbst", "zulassungsbescheinigung": uploads[0], "gewicht_unter_3_5t": True, "laufzeit": "1",
            "email": "erika@example.org",
        }
        status, out = call("POST", f"{self.base}/api/v1/services/musterstadt/bewohnerparkausweis/submissions", answers)
        expect(status == 201, f"the submission was not taken: {status} {out}")
        self.current = out["reference"]
        return out["reference"], photo, name

    def delivery(self, ref):
        """The submission's FIT-Connect delivery, as the back office shows it."""
        status, deliveries = self.api("GET", f"/api/v1/submissions/{ref}/deliveries")
        expect(status == 200, f"deliveries of {ref}: {status} {deliveries}")
        fc = [d for d in deliveries if d["channel"] == "fit_connect"]
        expect(len(fc) == 1, f"{ref} should have one fit_connect delivery: {deliveries}")
        expect(fc[0]["target"] == self.a.destination, f"the delivery goes to {fc[0]['target']}, not {self.a.destination}")
        return fc[0]

    def delivered(self, ref, timeout=60):
        def probe():
            d = self.delivery(ref)
            if d["status"] not in ("pending", "delivered"):
                errors = self.mock_state()["errors"]
                raise Failure(f"{ref}: the delivery is {d['status']} after {len(d['history'])} attempts; "
                              f"the last error: {d['last_error']}"
                              + ("\nthe mock saw these mistakes of our sender:\n" + "\n".join(errors) if errors else ""))
            return d["status"] == "delivered", d
        return wait_for(f"{ref} delivered by FIT-Connect", probe, timeout)

    # -- the mock -------------------------------------------------------------------------

    def mock_state(self):
        status, state = call("GET", self.mock + "/_mock/state")
        expect(status == 200, f"the mock's state: {status}")
        return state

    def mode(self, **mode):
        status, out = call("POST", self.mock + "/_mock/mode", mode)
        expect(status == 200, f"mock mode {mode}: {status} {out}")

    def fresh_mock(self):
        """Starts a scenario on an empty mock, after making sure the last one left nothing wrong."""
        status, before = call("POST", self.mock + "/_mock/reset", {})
        expect(status == 200, f"mock reset: {status}")
        self.clean(before)

    def clean(self, state):
        expect(state["errors"] == [], "the mock saw mistakes of our sender:\n" + "\n".join(state["errors"]))
        expect(state["conflicts"] == [], f"our sender submitted something twice (409): {state['conflicts']}")

    # -- scenarios ------------------------------------------------------------------------

    def happy_path(self):
        print("-- a. a submission with an upload arrives once, decrypted and valid")
        self.fresh_mock()
        ref, photo, name = self.submit("a")
        d = self.delivered(ref)
        state = self.mock_state()
        self.clean(state)
        expect(len(state["created"]) == 1 and len(state["sent"]) == 1,
               f"one submission created and sent, not {len(state['created'])} created, {len(state['sent'])} sent")
        sent = state["sent"][0]
        expect(sent["metadata_valid"] and sent["data_hash_matches"], sent)
        expect(state["created"][0]["serviceType"]["identifier"] == LEIKA_URN, state["created"][0]["serviceType"])
        meta = sent["metadata"]
        if "publicServiceType" in meta:
            expect(meta["publicServiceType"]["identifier"] == LEIKA_URN, meta["publicServiceType"])
        sender_ref = meta.get("additionalReferenceInfo", {}).get("senderReference")
        expect(sender_ref in (None, ref), f"senderReference {sender_ref} is not the reference {ref}")
        status, submission = self.api("GET", f"/api/v1/submissions/{ref}")
        expect(status == 200, f"{ref}: {status}")
        # The back office's `data` is {"answers", "computed", "lang"}; FIT-Connect's data may be
        # that, the answers alone, or an object that carries the same answers.
        api, got = submission["data"], sent["data"]
        shape = ("the back office's data" if got == api else "the answers" if got == api.get("answers")
                 else "an object with the answers" if isinstance(got, dict) and got.get("answers") == api.get("answers")
                 else None)
        expect(shape is not None,
               "the decrypted data is not the submission's answers:\n"
               f"FIT-Connect: {json.dumps(sent['data'], ensure_ascii=False)}\nAPI: {json.dumps(submission['data'], ensure_ascii=False)}")
        by_purpose = {}
        for a in sent["attachments"]:
            by_purpose.setdefault(a["purpose"], []).append(a)
        expect(sorted(by_purpose) == ["attachment", "form"] and all(len(v) == 1 for v in by_purpose.values()),
               f"the attachments should be the upload (attachment) and the receipt (form): {sent['attachments']}")
        upload, receipt = by_purpose["attachment"][0], by_purpose["form"][0]
        expect(upload["sha512"] == hashlib.sha512(photo).hexdigest() and upload["hash_matches"],
               f"the upload arrived with other bytes: {upload}")
        expect(upload["mimeType"] == "image/png" and upload["filename"] == name, f"the upload's description: {upload}")
        expect(receipt["mimeType"] == "application/pdf" and receipt["hash_matches"], f"the receipt's description: {receipt}")
        status, pdf = call("GET", f"{self.mock}/_mock/attachments/{sent['submissionId']}/{receipt['attachmentId']}")
        expect(status == 200 and pdf.startswith(b"%PDF-"), f"the form attachment is not a PDF: {pdf[:20]!r}")
        fc = d.get("fit_connect") or {}
        expect(fc.get("submission_id") == sent["submissionId"] and fc.get("case_id") == sent["caseId"]
               and fc.get("destination_id") == self.a.destination,
               f"the back office's fit_connect {fc} does not name the mock's submission {sent['submissionId']} "
               f"and case {sent['caseId']}")
        print(f"   {ref}: submission {sent['submissionId']}, case {sent['caseId']}; metadata valid against "
              f"{state['schema']}; data and {len(sent['attachments'])} attachments ({upload['filename']}, "
              f"{receipt['filename']}) decrypted by jwcrypto, every SHA-512 right; the data is {shape}, "
              f"senderReference {sender_ref or 'not set'}")
        return ref, sent

    def callbacks(self, ref, sent):
        print("-- b. callbacks: a good one is taken, a wrong HMAC and a stale one are refused")
        url = f"{self.base}/api/v1/fit-connect/musterstadt/callbacks"
        status, out = call("POST", self.mock + "/_mock/event", {"event": "accept-submission", "submissionId": sent["submissionId"]})
        expect(status == 200, f"mock event: {status} {out}")
        status, out = call("POST", self.mock + "/_mock/callback", {"variant": "good", "submissionId": sent["submissionId"], "url": url})
        expect(status == 200 and out["status"] == 200, f"our server should take a good callback with 200: {out}")
        def accepted():
            d = self.delivery(ref)
            events = (d.get("fit_connect") or {}).get("events", [])
            return any(e["event"].endswith("accept-submission") for e in events), d
        d = wait_for(f"{ref}: accept-submission among the delivery's FIT-Connect events", accepted, timeout=20)
        events_before = d["fit_connect"]["events"]
        requests_before = len(self.mock_state()["requests"])
        for variant in ("wrong-hmac", "stale"):
            status, out = call("POST", self.mock + "/_mock/callback", {"variant": variant, "submissionId": sent["submissionId"], "url": url})
            expect(status == 200 and out["status"] == 401, f"our server should refuse a {variant} callback with 401: {out}")
        time.sleep(2)
        after = self.delivery(ref)["fit_connect"]["events"]
        expect(after == events_before, f"a refused callback changed the events:\nbefore {events_before}\nafter  {after}")
        fetched = [r for r in self.mock_state()["requests"][requests_before:] if "/events" in r["path"]]
        expect(not fetched, f"a refused callback made our server fetch the event log: {fetched}")
        print(f"   {ref}: good callback 200, accept-submission recorded; wrong HMAC 401, stale (10 min) 401, nothing fetched")

    def refused(self, label, mode, names, undo):
        """A failure that must stop the delivery before anything is created at the mock, with an
        error matching `names`; then the cause is removed and a resend delivers it once."""
        self.fresh_mock()
        self.mode(**mode)
        ref, _, _ = self.submit(label)

        def retried():
            d = self.delivery(ref)
            return len(d["history"]) >= 2 or d["status"] != "pending", d

        def ended():
            d = self.delivery(ref)
            return d["status"] != "pending", d
        d = wait_for(f"{ref}: failed attempts while {mode} holds", retried, timeout=30)
        expect(d["status"] != "delivered", f"{ref} was delivered although {mode} holds: {d}")
        # With the check's schedule (8 attempts a second apart) the series ends in `failed`;
        # should the sender keep such a delivery waiting instead, the resend below starts it anew.
        try:
            d = wait_for(f"{ref}: the end of the series", ended, timeout=30)
        except Failure:
            d = self.delivery(ref)
            print(f"   note: {ref} is still pending after {len(d['history'])} attempts; resending it")
        errors = [a.get("error") or "" for a in d["history"]]
        expect(all(re.search(names, e, re.I) for e in errors),
               f"every attempt's error should name the cause (/{names}/), the attempts said: {errors}")
        state = self.mock_state()
        uploads = [r for r in state["requests"] if r["method"] == "PUT"]
        expect(state["created"] == [] and uploads == [],
               f"nothing may be created or uploaded while {mode} holds: created {state['created']}, PUTs {uploads}")
        if mode.get("weak_key"):
            expect(any(r["path"].endswith("/keys/" + state["weak_kid"]) for r in state["requests"]),
                   "the sender never fetched the weak key it refused")
        self.mode(**undo)
        status, out = self.api("POST", f"/api/v1/submissions/{ref}/deliveries/{d['id']}/resend")
        expect(status == 202, f"resend: {status} {out}")
        self.delivered(ref)
        state = self.mock_state()
        self.clean(state)
        expect(len(state["created"]) == 1 and len(state["sent"]) == 1,
               f"after the resend: {len(state['created'])} created, {len(state['sent'])} sent")
        print(f"   {ref}: {len(errors)} attempts failed (“{errors[-1][:90]}”), nothing created; "
              "after the resend delivered once")

    def failures(self):
        print("-- c. failures: inactive destination, weak key, refused token, 503s")
        self.refused("c-inactive", {"destination_status": "inactive"}, r"inactive", {"destination_status": "active"})
        self.refused("c-weak", {"weak_key": True}, r"2048|4096", {"weak_key": False})
        self.refused("c-token", {"refuse_token": True}, r"token", {"refuse_token": False})

        self.fresh_mock()
        self.mode(fail_next=2)
        ref, _, _ = self.submit("c-503")
        d = self.delivered(ref)
        state = self.mock_state()
        self.clean(state)
        failed = [r for r in state["requests"] if r["status"] == 503]
        expect(len(failed) == 2, f"the mock should have answered 503 twice: {state['requests']}")
        expect(len(d["history"]) >= 2, f"the 503s should show as failed attempts: {d['history']}")
        expect(len(state["created"]) == 1 and len(state["sent"]) == 1,
               f"two 503s, then one submission: {len(state['created'])} created, {len(state['sent'])} sent")
        print(f"   {ref}: two 503s ({', '.join(r['method'] + ' ' + r['path'] for r in failed)}), "
              f"{len(d['history'])} attempts, delivered once")

    def killed(self):
        print("-- d. SIGKILL while an attachment upload is held; after the restart it arrives once")
        self.fresh_mock()
        self.mode(hang_attachment_put=5)
        ref, _, _ = self.submit("d")
        wait_for("the first attachment upload",
                 lambda: (lambda n: (n >= 1, n))(self.mock_state()["attachment_puts_started"]), timeout=30)
        self.kill()
        self.mode(hang_attachment_put=0)
        before = self.mock_state()
        self.start()
        self.delivered(ref)
        state = self.mock_state()
        self.clean(state)
        created = [c["submissionId"] for c in state["created"]]
        sent = [s["submissionId"] for s in state["sent"]]
        expect(len(sent) == 1, f"exactly one submission should arrive after the restart: sent {sent}")
        expect(len(created) == 1,
               f"our side records the submission id right after creating it, so the restart should reuse it: "
               f"created {created} (before the kill: {[c['submissionId'] for c in before['created']]}), sent {sent}")
        puts = state["attachments"][sent[0]]
        print(f"   {ref}: killed during the upload; after the restart one submission created and sent "
              f"({sent[0]}), attachment PUTs per attachment: {[a['puts'] for a in puts.values()]}")

    def report(self):
        """What a reader needs when a scenario failed."""
        print("\n--- the mock's state (errors, conflicts, last requests):", file=sys.stderr)
        try:
            state = self.mock_state()
            print(json.dumps({k: state[k] for k in ("mode", "errors", "conflicts", "created", "callbacks")}, indent=1),
                  file=sys.stderr)
            for r in state["requests"][-30:]:
                print(f"   {r['at']} {r['method']} {r['path']} -> {r['status']}", file=sys.stderr)
        except Exception as e:  # the mock may be the thing that broke
            print(f"   (not available: {e})", file=sys.stderr)
        if self.current and self.base:
            try:
                print(f"--- our deliveries of {self.current}:", file=sys.stderr)
                print(json.dumps(self.api("GET", f"/api/v1/submissions/{self.current}/deliveries")[1], indent=1), file=sys.stderr)
            except Exception as e:
                print(f"   (not available: {e})", file=sys.stderr)
        for name, path in (("the mock's log", self.a.mock_log), ("the server's stderr", getattr(self, "server_err", None))):
            if path and os.path.exists(path):
                lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
                print(f"--- {name} (last 80 of {len(lines)} lines):", file=sys.stderr)
                print("\n".join(lines[-80:]), file=sys.stderr)


def main():
    p = argparse.ArgumentParser()
    for name in ("repo", "baukasten", "forms", "data", "config", "work", "mock", "mock-log", "token", "destination"):
        p.add_argument(f"--{name}", required=True)
    run = Run(p.parse_args())
    started = time.time()
    try:
        run.start()
        ref, sent = run.happy_path()
        run.callbacks(ref, sent)
        run.failures()
        run.killed()
        run.fresh_mock()
    except Failure as e:
        print(f"\nFAILED: {e}", file=sys.stderr)
        run.report()
        sys.exit(1)
    finally:
        run.kill()
    print(f"fit-connect: 4 scenarios passed in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
