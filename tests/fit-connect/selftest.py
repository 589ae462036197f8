"""The mock FIT-Connect Submission API (fc_mock.py) checked on its own, before it judges our
server: a correct sender written here with jwcrypto gets its submission through, with metadata
valid against FITKO's schema and every hash matching; bad senders (no `cty`, an attachment
missing at the submit, a wrong hash, a wrong content type, an unannounced attachment, a second
submit) are refused and recorded; the failure modes (inactive destination, weak key, refused
token, 503s, a held attachment PUT) and the callbacks (good, wrong HMAC, stale) behave as
run.sh relies on. The callback receiver here checks the HMAC itself, as FITKO describes it.

usage: selftest.py   (run with the virtual environment of requirements.txt; run.sh does)"""

import hashlib
import hmac
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

from jwcrypto import jwe, jwk, jwt

HERE = os.path.dirname(os.path.abspath(__file__))
DEST = str(uuid.uuid4())
LEIKA = "99108001000000"
SERVICE = {"name": "Bewohnerparkausweis beantragen", "identifier": f"urn:de:fim:leika:leistung:{LEIKA}"}
CLIENT_SECRET = "selftest-client-secret"
CALLBACK_SECRET = "selftest-callback-secret"

passed = 0


def check(condition, message):
    global passed
    if not condition:
        raise AssertionError(message)
    passed += 1


class Client:
    def __init__(self, base):
        self.base, self.token = base, None

    def call(self, method, path, body=None, ctype="application/json", token=True):
        """(status, parsed JSON or bytes) of one request."""
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        if isinstance(data, str):
            data = data.encode()
        headers = {"Content-Type": ctype} if data is not None else {}
        if token and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, raw, rtype = r.status, r.read(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            status, raw, rtype = e.code, e.read(), e.headers.get("Content-Type", "")
        return status, (json.loads(raw) if "json" in rtype and raw else raw)

    def login(self, secret=CLIENT_SECRET):
        form = f"grant_type=client_credentials&client_id=selftest&client_secret={secret}&scope=send:region:DE"
        status, out = self.call("POST", "/token", form, ctype="application/x-www-form-urlencoded", token=False)
        if status == 200:
            self.token = out["access_token"]
        return status, out


def encrypt(plaintext, key, cty="application/json", **header):
    protected = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": key["kid"], "cty": cty, **header}
    protected = {k: v for k, v in protected.items() if v is not None}
    token = jwe.JWE(plaintext, protected=json.dumps(protected))
    token.add_recipient(key)
    return token.serialize(compact=True)


def metadata_for(data, attachments, sha=None):
    return {
        "publicServiceType": dict(SERVICE),
        "contentStructure": {
            "data": {
                "hash": {"type": "sha512", "content": sha or hashlib.sha512(data).hexdigest()},
                "submissionSchema": {"schemaUri": "https://baukasten.example/schema/bewohnerparkausweis.json",
                                     "mimeType": "application/json"},
            },
            "attachments": [
                {"attachmentId": att_id, "purpose": purpose, "mimeType": mime, "filename": name,
                 "hash": {"type": "sha512", "content": hashlib.sha512(body).hexdigest()}}
                for att_id, (body, purpose, mime, name) in attachments.items()
            ],
        },
        "additionalReferenceInfo": {"senderReference": "MSBPA-2026-SELF1", "applicationDate": "2026-01-02"},
    }


def send(c, key, attachments, data, *, metadata=None, skip_put=(), attachment_cty=True):
    """A whole sending as a sender does it; returns the submit's (status, body) and the ids."""
    status, created = c.call("POST", "/v1/submissions", {
        "destinationId": DEST, "announcedAttachments": list(attachments), "serviceType": SERVICE})
    check(status == 201, f"create: {status} {created}")
    sub = created["submissionId"]
    for att_id, (body, _, mime, _) in attachments.items():
        if att_id in skip_put:
            continue
        status, out = c.call("PUT", f"/v1/submissions/{sub}/attachments/{att_id}",
                             encrypt(body, key, cty=mime if attachment_cty else None), ctype="application/jose")
        check(status == 204, f"attachment {att_id}: {status} {out}")
    metadata = metadata or metadata_for(data, attachments)
    status, out = c.call("PUT", f"/v1/submissions/{sub}", {
        "encryptedMetadata": encrypt(json.dumps(metadata).encode(), key),
        "encryptedData": encrypt(data, key)})
    return status, out, created


class Receiver(http.server.BaseHTTPRequestHandler):
    """A callback receiver that checks FIT-Connect's callback authentication independently."""
    seen = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        stamp = self.headers.get("callback-timestamp", "")
        expected = hmac.new(CALLBACK_SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha512).hexdigest()
        good = hmac.compare_digest(expected, self.headers.get("callback-authentication", ""))
        fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= 300
        Receiver.seen.append(json.loads(body))
        self.send_response(200 if good and fresh else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    work = tempfile.mkdtemp(prefix="fc-selftest.")
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    env = {**os.environ, "FC_SELFTEST_SECRET": CLIENT_SECRET, "FC_SELFTEST_CALLBACK": CALLBACK_SECRET}
    port_file, log = os.path.join(work, "port"), os.path.join(work, "mock.log")
    mock = subprocess.Popen([
        sys.executable, os.path.join(HERE, "fc_mock.py"), "--port-file", port_file, "--log", log,
        "--destination", DEST, "--leika", LEIKA, "--client-id", "selftest",
        "--client-secret-env", "FC_SELFTEST_SECRET", "--callback-secret-env", "FC_SELFTEST_CALLBACK",
        "--callback-url", f"http://127.0.0.1:{receiver.server_port}/callbacks"], env=env)
    try:
        deadline = time.time() + 60
        while not os.path.exists(port_file):
            if mock.poll() is not None or time.time() > deadline:
                sys.exit(f"the mock did not start:\n{open(log).read() if os.path.exists(log) else ''}")
            time.sleep(0.1)
        run(Client(f"http://127.0.0.1:{open(port_file).read()}"))
    except BaseException:
        if os.path.exists(log):
            print("--- the mock's log:\n" + open(log, encoding="utf-8").read(), file=sys.stderr)
        raise
    finally:
        mock.kill()
        mock.wait()
        shutil.rmtree(work, ignore_errors=True)
    print(f"selftest: {passed} passed, 0 failed")


def run(c):
    admin = lambda path, body=None: c.call("POST" if body is not None else "GET", path, body, token=False)  # noqa: E731

    # Tokens: the wrong secret is refused (and recorded as the sender's mistake), the right one
    # is taken; without a token nothing is served.
    status, out = c.login("wrong")
    check(status == 401 and out["error"] == "invalid_client", f"wrong secret: {status} {out}")
    check(c.call("GET", f"/v1/destinations/{DEST}", token=False)[0] == 401, "no token must be 401")
    status, out = c.login()
    check(status == 200 and out["token_type"] == "Bearer" and out["expires_in"] == 1800, f"token: {status} {out}")
    check(len(admin("/_mock/reset", {})[1]["errors"]) == 2, "the wrong secret and the missing token are errors")

    # The destination and its key: RSA, 4096 bits, for RSA-OAEP-256.
    status, dest = c.call("GET", f"/v1/destinations/{DEST}")
    check(status == 200 and dest["status"] == "active", f"destination: {status} {dest}")
    check(dest["services"][0]["identifier"] == SERVICE["identifier"], dest)
    status, public = c.call("GET", f"/v1/destinations/{DEST}/keys/{dest['encryptionKid']}")
    check(status == 200 and public["alg"] == "RSA-OAEP-256" and public["key_ops"] == ["wrapKey"], public)
    key = jwk.JWK(**public)
    check(int.from_bytes(jwk.base64url_decode(public["n"]), "big").bit_length() == 4096, "the key must have 4096 bits")
    check(c.call("GET", f"/v1/destinations/{uuid.uuid4()}")[0] == 404, "an unknown destination is 404")
    check(len(admin("/_mock/reset", {})[1]["errors"]) == 1, "asking for an unknown destination is an error")

    # A correct sender: a form PDF and an upload, data and metadata.
    data = json.dumps({"kennzeichen": "KI-EM 1980", "zone": "altstadt"}).encode()
    attachments = {
        str(uuid.uuid4()): (b"%PDF-1.7 receipt", "form", "application/pdf", "Eingangsbestaetigung.pdf"),
        str(uuid.uuid4()): (b"\xff\xd8\xff photo", "attachment", "image/jpeg", "fahrzeugschein.jpg"),
    }
    status, out, created = send(c, key, attachments, data)
    check(status == 200 and out["submissionId"] == created["submissionId"], f"submit: {status} {out}")
    state = admin("/_mock/state")[1]
    check(state["errors"] == [], f"a correct sender leaves no errors: {state['errors']}")
    check(len(state["created"]) == 1 and len(state["sent"]) == 1, state)
    sent = state["sent"][0]
    check(sent["metadata_valid"] and sent["data_hash_matches"] and json.loads(data) == sent["data"], sent)
    check(sorted(a["purpose"] for a in sent["attachments"]) == ["attachment", "form"], sent["attachments"])
    check(all(a["hash_matches"] for a in sent["attachments"]), sent["attachments"])
    first = next(iter(attachments))
    status, raw = c.call("GET", f"/_mock/attachments/{created['submissionId']}/{first}", token=False)
    check(raw == attachments[first][0], "the mock keeps the decrypted attachment")

    # The event log: one submit-submission, signed PS512 with the key of the JWKS.
    status, log = c.call("GET", f"/v1/cases/{created['caseId']}/events")
    check(status == 200 and log["totalCount"] == 1, f"events: {status} {log}")
    jwks = jwk.JWKSet.from_json(json.dumps(c.call("GET", "/.well-known/jwks.json")[1]))
    token = jwt.JWT(jwt=log["eventLog"][0], key=jwks, algs=["PS512"])
    header, claims = json.loads(token.header), json.loads(token.claims)
    check(header["typ"] == "secevent+jwt" and header["alg"] == "PS512", header)
    check(claims["sub"] == f"submission:{created['submissionId']}" and claims["txn"] == f"case:{created['caseId']}", claims)
    submit_event = claims["events"]["https://schema.fitko.de/fit-connect/events/submit-submission"]
    check(set(submit_event["authenticationTags"]["attachments"]) == set(attachments), submit_event)

    # A second submit is a conflict, visible in the state.
    status, out = c.call("PUT", f"/v1/submissions/{created['submissionId']}", {
        "encryptedMetadata": encrypt(json.dumps(metadata_for(data, attachments)).encode(), key),
        "encryptedData": encrypt(data, key)})
    check(status == 409, f"a second submit: {status} {out}")
    check(len(admin("/_mock/state")[1]["conflicts"]) == 1, "the second submit is recorded")

    # The test's events and callbacks: accept, then a good, a wrong and a stale callback.
    status, out = admin("/_mock/event", {"event": "accept-submission"})
    check(status == 200 and c.call("GET", f"/v1/cases/{created['caseId']}/events")[1]["totalCount"] == 2, out)
    for variant, expect in [("good", 200), ("wrong-hmac", 401), ("stale", 401)]:
        status, out = admin("/_mock/callback", {"variant": variant})
        check(status == 200 and out["status"] == expect, f"callback {variant}: {out}")
    check(Receiver.seen[0]["submissions"][0]["caseId"] == created["caseId"], Receiver.seen)
    check(Receiver.seen[0]["type"].endswith("/callbacks/new-events"), Receiver.seen)
    check(admin("/_mock/reset", {})[1]["errors"] == [], "nothing went wrong so far")

    # Bad senders, each refused and recorded.
    status, out, _ = send(c, key, attachments, data, skip_put=(first,))
    check(status == 422 and "missing" in out["detail"], f"submit with a missing attachment: {status} {out}")
    status, created2 = c.call("POST", "/v1/submissions", {
        "destinationId": DEST, "announcedAttachments": [first], "serviceType": SERVICE})
    sub2 = created2["submissionId"]
    status, out = c.call("PUT", f"/v1/submissions/{sub2}/attachments/{first}",
                         encrypt(b"x", key, cty=None), ctype="application/jose")
    check(status == 422 and "cty" in out["detail"], f"no cty: {status} {out}")
    status, out = c.call("PUT", f"/v1/submissions/{sub2}/attachments/{first}",
                         encrypt(b"x", key, cty="text/plain"), ctype="application/octet-stream")
    check(status == 415, f"wrong content type: {status} {out}")
    status, out = c.call("PUT", f"/v1/submissions/{sub2}/attachments/{uuid.uuid4()}",
                         encrypt(b"x", key, cty="text/plain"), ctype="application/jose")
    check(status == 404, f"unannounced attachment: {status} {out}")
    status, out = c.call("PUT", f"/v1/submissions/{sub2}/attachments/{first}",
                         encrypt(b"x", key, cty="text/plain", enc="A128GCM"), ctype="application/jose")
    check(status == 422 and "A128GCM" in out["detail"], f"enc A128GCM: {status} {out}")
    status, out = c.call("PUT", f"/v1/submissions/{sub2}/attachments/{first}",
                         encrypt(b"x", key, cty="text/plain"), ctype="application/jose")
    check(status == 204, f"the attachment: {status} {out}")
    status, out = c.call("PUT", f"/v1/submissions/{sub2}/attachments/{first}",
                         encrypt(b"x", key, cty="text/plain"), ctype="application/jose")
    check(status == 204 and admin("/_mock/state")[1]["attachments"][sub2][first]["puts"] == 2, "two PUTs, one attachment")
    wrong = metadata_for(data, {first: (b"y", "attachment", "text/plain", "x.txt")}, sha="0" * 128)
    status, out = c.call("PUT", f"/v1/submissions/{sub2}", {
        "encryptedMetadata": encrypt(json.dumps(wrong).encode(), key), "encryptedData": encrypt(data, key)})
    check(status == 422 and "hash" in out["detail"], f"wrong hashes: {status} {out}")
    wrong = metadata_for(data, {first: (b"x", "anlage", "text/plain", "x.txt")})
    status, out = c.call("PUT", f"/v1/submissions/{sub2}", {
        "encryptedMetadata": encrypt(json.dumps(wrong).encode(), key), "encryptedData": encrypt(data, key)})
    check(status == 422 and "purpose" in out["detail"], f"a purpose the schema does not know: {status} {out}")
    status, out = c.call("PUT", f"/v1/submissions/{sub2}", {
        "encryptedMetadata": encrypt(json.dumps(metadata_for(data, {first: (b"x", "attachment", "text/plain", "x.txt")})).encode(), key, cty=None),
        "encryptedData": encrypt(data, key)})
    check(status == 422 and "cty" in out["detail"], f"metadata without cty: {status} {out}")
    errors = admin("/_mock/reset", {})[1]["errors"]
    check(len(errors) == 9, f"each bad request is an error of the sender: {json.dumps(errors, indent=1)}")

    # The failure modes of run.sh.
    admin("/_mock/mode", {"destination_status": "inactive"})
    check(c.call("GET", f"/v1/destinations/{DEST}")[1]["status"] == "inactive", "inactive destination")
    status, out = c.call("POST", "/v1/submissions", {"destinationId": DEST, "announcedAttachments": [], "serviceType": SERVICE})
    check(status == 422 and "inactive" in out["detail"], f"create at an inactive destination: {status} {out}")
    admin("/_mock/mode", {"destination_status": "active", "weak_key": True})
    kid = c.call("GET", f"/v1/destinations/{DEST}")[1]["encryptionKid"]
    weak = c.call("GET", f"/v1/destinations/{DEST}/keys/{kid}")[1]
    check(kid != key["kid"] and len(jwk.base64url_decode(weak["n"])) * 8 == 2048, "the weak key has 2048 bits")
    status, created3 = c.call("POST", "/v1/submissions", {
        "destinationId": DEST, "announcedAttachments": [first], "serviceType": SERVICE})
    status, out = c.call("PUT", f"/v1/submissions/{created3['submissionId']}/attachments/{first}",
                         encrypt(b"x", jwk.JWK(**weak), cty="text/plain"), ctype="application/jose")
    check(status == 422 and "2048" in out["detail"], f"encrypted with the weak key: {status} {out}")
    admin("/_mock/mode", {"weak_key": False, "fail_next": 2})
    statuses = [c.call("GET", f"/v1/destinations/{DEST}")[0] for _ in range(3)]
    check(statuses == [503, 503, 200], f"fail_next 2: {statuses}")
    admin("/_mock/mode", {"refuse_token": True})
    check(c.call("GET", f"/v1/destinations/{DEST}")[0] == 401, "a refused client's token stops working")
    check(c.login()[0] == 401, "a refused client gets no token")
    admin("/_mock/mode", {"refuse_token": False, "hang_attachment_put": 1})
    check(c.login()[0] == 200, "the client gets tokens again")
    began = time.time()
    status, _ = c.call("PUT", f"/v1/submissions/{created3['submissionId']}/attachments/{first}",
                       encrypt(b"x", key, cty="text/plain"), ctype="application/jose")
    check(status == 204 and time.time() - began >= 1, "the attachment PUT is held for a second")
    state = admin("/_mock/reset", {})[1]
    check(state["attachment_puts_started"] == 2, state["attachment_puts_started"])
    check(len(state["errors"]) == 1 and "2048" in state["errors"][0], f"only the weak-key PUT is an error: {state['errors']}")
    check(len(state["created"]) == 1 and state["sent"] == [], "nothing was created while inactive")


if __name__ == "__main__":
    main()
