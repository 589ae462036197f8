"""A mock of FITKO's FIT-Connect Submission API (v1), as a sending system (our server) sees it,
for the end-to-end checks in run.sh and check.py.

It is a test oracle, not a fake that says yes: everything our sender encrypts is decrypted here
with jwcrypto, a JOSE implementation that is not ours, and the decrypted metadata is validated
against FITKO's metadata JSON Schema as published in the PyPI package `fitconnect` (read from
the installed package, not copied). This mock is therefore also the independent decryption
check: there is no separate script for it. Every check that fails is answered with 4xx, as the
real service would, and recorded in the state (`errors`), so the test fails on any.

The sender's side of the API (paths appended to the base URL, the token URL is `/token`):
  POST /token                                      OAuth 2 client credentials (form body)
  GET  /v1/destinations/{destinationId}            status, encryptionKid, services
  GET  /v1/destinations/{destinationId}/keys/{kid} the public encryption key (JWK, RSA-4096)
  POST /v1/submissions                             create; announces the attachments
  PUT  /v1/submissions/{id}/attachments/{attId}    one attachment, a compact JWE (application/jose)
  PUT  /v1/submissions/{id}                        submit: encrypted metadata and data
  GET  /v1/cases/{caseId}/events                   the event log: Security Event Tokens (PS512)
  GET  /.well-known/jwks.json                      the key that verifies those tokens
The test's side, under /_mock/ (no token, never failed on purpose):
  GET  /_mock/state                                everything received, as JSON
  POST /_mock/mode      {"destination_status": "active"|"inactive", "weak_key": bool,
                         "refuse_token": bool, "fail_next": N (503 to the next N requests),
                         "hang_attachment_put": seconds (store, then hold the answer)}
  POST /_mock/event     {"event": "accept-submission"|"reject-submission", "submissionId"?,
                         "problems"?}: appends to the case's event log
  POST /_mock/callback  {"variant": "good"|"wrong-hmac"|"stale", "submissionId"?, "url"?}:
                         POSTs a new-events callback to the sender, answers {"status", "body"}
  POST /_mock/reset                                forgets submissions, events, log, errors and
                                                   modes (not keys); answers the state before
  GET  /_mock/attachments/{id}/{attId}             an attachment's decrypted bytes

usage: fc_mock.py --port-file FILE [--port 0] [--log FILE] --destination UUID [--destination …]
                  [--leika 99108001000000 …] --client-id ID --client-secret-env VAR
                  [--callback-url URL --callback-secret-env VAR]
"""

import argparse
import base64
import binascii
import datetime
import hashlib
import hmac
import http.server
import importlib.metadata
import json
import os
import re
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid

import jsonschema
from jwcrypto import jwe, jwk, jwt
from jwcrypto.common import JWException

EVENTS = "https://schema.fitko.de/fit-connect/events/"
NEW_EVENTS = "https://schema.fitko.de/fit-connect/submission-api/callbacks/new-events"
PROBLEM = "https://schema.fitko.de/fit-connect/submission-api/problems/"
ISSUER = "https://mock.fitko.example"
TOKEN_LIFETIME = 1800
# The URN of a public service, as the metadata schema writes it.
SERVICE_URN = re.compile(r"^urn:[a-z0-9][a-z0-9-]{0,31}:[a-z0-9()+,.:=@;$_!*'%/?#-]+$")
LEIKA_URN = "urn:de:fim:leika:leistung:"
DEFAULT_MODE = {
    "destination_status": "active",
    "weak_key": False,
    "refuse_token": False,
    "fail_next": 0,
    "hang_attachment_put": 0,
}


def metadata_validator():
    """FITKO's metadata schema from the installed `fitconnect` package, found through the
    package's file list so that its client code (and the dependencies it would import) is
    never loaded."""
    dist = importlib.metadata.distribution("fitconnect")
    path = dist.locate_file("fitconnect/schema/metadata.schema.v1.0.0.json")
    with open(path, encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.Draft202012Validator
    cls.check_schema(schema)
    # The format checker knows uuid, email and date by itself, uri and date-time through the
    # rfc3986-validator and rfc3339-validator packages of requirements.txt.
    return cls(schema, format_checker=cls.FORMAT_CHECKER), f"fitconnect {dist.version}: {schema['$id']}"


def b64url_json(part):
    """A base64url-encoded JSON object (a JOSE header), or None where it is not one."""
    try:
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError):
        return None
    return value if isinstance(value, dict) else None


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class Refusal(Exception):
    """An answer other than success. `error` says whether it shows a mistake of the sender
    (recorded, so the test fails) rather than a failure the test switched on."""

    def __init__(self, status, detail, error=True, headers=None):
        super().__init__(detail)
        self.status, self.detail, self.error, self.headers = status, detail, error, headers or {}


class Mock:
    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.log_file = open(args.log, "a", encoding="utf-8") if args.log else sys.stderr
        self.client_secret = os.environ[args.client_secret_env]
        self.callback_secret = os.environ.get(args.callback_secret_env) if args.callback_secret_env else None
        self.destinations = args.destination or [str(uuid.uuid4())]
        self.validator, self.schema_name = metadata_validator()
        # The destination's encryption key, as FITKO requires it: RSA with 4096 bits. The weak
        # key (2048 bits) is only handed out in the "weak_key" mode, under its own kid, as if
        # the destination had rotated to it; a sender must refuse to use it.
        self.key = jwk.JWK.generate(kty="RSA", size=4096, kid=f"enc-{uuid.uuid4()}")
        self.weak_key = jwk.JWK.generate(kty="RSA", size=2048, kid=f"enc-weak-{uuid.uuid4()}")
        # The delivery service's own key, which signs the event log's tokens (PS512).
        self.signing_key = jwk.JWK.generate(kty="RSA", size=4096, kid=f"sig-{uuid.uuid4()}")
        self.tokens = {}  # access token -> expiry (unix seconds)
        self.reset()

    def reset(self):
        with self.lock:
            self.mode = dict(DEFAULT_MODE)
            self.submissions = {}  # submissionId -> the submission as received (see create)
            self.events = {}  # caseId -> [(compact SET, its payload)]
            self.requests = []  # the sender's requests: method, path, status
            self.errors = []  # every mistake of the sender that the mock saw
            self.conflicts = []  # second submits of one submission (409)
            self.callbacks = []  # callbacks sent to the sender, with its answers
            self.attachment_puts_started = 0

    # -- logging and state ------------------------------------------------------------------

    def log(self, line):
        with self.lock:
            self.log_file.write(f"{now_iso()} {line}\n")
            self.log_file.flush()

    def error(self, detail):
        with self.lock:
            self.errors.append(detail)
        self.log(f"ERROR {detail}")

    def state(self):
        with self.lock:
            subs = list(self.submissions.values())
            return {
                "schema": self.schema_name,
                "destinations": self.destinations,
                "encryption_kid": self.key["kid"],
                "weak_kid": self.weak_key["kid"],
                "mode": dict(self.mode),
                "tokens_issued": len(self.tokens),
                "created": [
                    {k: s[k] for k in ("submissionId", "caseId", "destinationId", "serviceType", "announcedAttachments", "createdAt")}
                    for s in subs
                ],
                "sent": [s["sent"] for s in subs if s["sent"]],
                "attachments": {
                    s["submissionId"]: {
                        att_id: {k: v for k, v in a.items() if k != "plaintext"} for att_id, a in s["attachments"].items()
                    }
                    for s in subs
                },
                "attachment_puts_started": self.attachment_puts_started,
                "events": {case: [p for _, p in log] for case, log in self.events.items()},
                "conflicts": list(self.conflicts),
                "callbacks": list(self.callbacks),
                "requests": list(self.requests),
                "errors": list(self.errors),
            }

    # -- the parts of the real API ----------------------------------------------------------

    def token(self, headers, body):
        if headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
            raise Refusal(400, "the token request must be a form (application/x-www-form-urlencoded)")
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        field = lambda name: (form.get(name) or [""])[0]  # noqa: E731
        if field("grant_type") != "client_credentials":
            raise Refusal(400, f"grant_type must be client_credentials, not {field('grant_type')!r}")
        if self.mode["refuse_token"]:
            raise Refusal(401, "invalid_client (the test refuses every token)", error=False)
        good = hmac.compare_digest(field("client_id"), self.args.client_id) and hmac.compare_digest(
            field("client_secret"), self.client_secret
        )
        if not good:
            raise Refusal(401, f"invalid_client: wrong client_id or client_secret (client_id {field('client_id')!r})")
        token = f"mock-{uuid.uuid4().hex}"
        with self.lock:
            self.tokens[token] = time.time() + TOKEN_LIFETIME
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME, "scope": field("scope")}

    def authorize(self, headers):
        if self.mode["refuse_token"]:
            # A revoked client: the tokens it holds stop working as well, so a sender that
            # keeps its token for its lifetime meets the refusal too.
            with self.lock:
                self.tokens.clear()
            raise Refusal(401, "the token was revoked (the test refuses every token)", error=False,
                          headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        auth = headers.get("Authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if not token:
            raise Refusal(401, "no bearer token", headers={"WWW-Authenticate": "Bearer"})
        with self.lock:
            expiry = self.tokens.get(token)
        if expiry is None or expiry < time.time():
            raise Refusal(401, "unknown or expired bearer token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    def destination(self, dest):
        if dest not in self.destinations:
            raise Refusal(404, f"no destination {dest}")
        return {
            "destinationId": dest,
            "status": self.mode["destination_status"],
            "services": [
                {"identifier": LEIKA_URN + key, "regions": ["DE010020000000"]} for key in self.args.leika
            ],
            "encryptionKid": (self.weak_key if self.mode["weak_key"] else self.key)["kid"],
            "metadataVersions": ["1.0.0"],
        }

    def get_destination(self, m, headers, body):
        return 200, self.destination(m["dest"])

    def get_key(self, m, headers, body):
        self.destination(m["dest"])
        for key in (self.key, self.weak_key):
            if key["kid"] == m["kid"]:
                public = key.export_public(as_dict=True)
                public.update({"alg": "RSA-OAEP-256", "key_ops": ["wrapKey"], "use": "enc"})
                return 200, public
        raise Refusal(404, f"no key {m['kid']} at destination {m['dest']}")

    def jwks(self, m, headers, body):
        public = self.signing_key.export_public(as_dict=True)
        public.update({"alg": "PS512", "key_ops": ["verify"], "use": "sig"})
        return 200, {"keys": [public]}

    def create(self, m, headers, body):
        req = self.json_body(headers, body)
        dest = req.get("destinationId")
        if not isinstance(dest, str) or dest not in self.destinations:
            raise Refusal(404 if isinstance(dest, str) else 400, f"destinationId {dest!r} is not a destination of this mock")
        if self.mode["destination_status"] != "active":
            raise Refusal(422, f"destination {dest} is {self.mode['destination_status']}: it takes no submissions",
                          error=False)
        announced = req.get("announcedAttachments", [])
        if not isinstance(announced, list) or not all(isinstance(a, str) and is_uuid(a) for a in announced):
            raise Refusal(400, f"announcedAttachments must be a list of UUIDs, not {announced!r}")
        if len(set(announced)) != len(announced):
            raise Refusal(400, f"announcedAttachments names an attachment twice: {announced}")
        service = req.get("serviceType")
        if not isinstance(service, dict) or not isinstance(service.get("name"), str) or not service["name"].strip():
            raise Refusal(400, f"serviceType must be an object with a name, not {service!r}")
        identifier = service.get("identifier")
        if not isinstance(identifier, str) or not SERVICE_URN.match(identifier):
            raise Refusal(400, f"serviceType.identifier {identifier!r} is not a URN like {LEIKA_URN}99108001000000")
        offered = [LEIKA_URN + key for key in self.args.leika]
        if offered and identifier not in offered:
            raise Refusal(422, f"destination {dest} does not offer {identifier} (it offers {offered})")
        unknown = sorted(set(req) - {"destinationId", "announcedAttachments", "serviceType"})
        if unknown:
            raise Refusal(400, f"unknown fields in the new submission: {unknown}")
        sub = {
            "submissionId": str(uuid.uuid4()),
            "caseId": str(uuid.uuid4()),
            "destinationId": dest,
            "serviceType": service,
            "announcedAttachments": announced,
            "createdAt": now_iso(),
            "attachments": {},
            "sent": None,
        }
        with self.lock:
            self.submissions[sub["submissionId"]] = sub
            # The case exists from now on; its event log stays empty until the submit.
            self.events[sub["caseId"]] = []
        self.log(f"created submission {sub['submissionId']} (case {sub['caseId']}), announced {announced}")
        return 201, {k: sub[k] for k in ("destinationId", "submissionId", "caseId")}

    def submission(self, sub_id):
        with self.lock:
            sub = self.submissions.get(sub_id)
        if sub is None:
            raise Refusal(404, f"no submission {sub_id}")
        return sub

    def put_attachment(self, m, headers, body):
        with self.lock:
            self.attachment_puts_started += 1
            hang = self.mode["hang_attachment_put"]
        try:
            return self.store_attachment(m, headers, body)
        finally:
            if hang:
                # The attachment is stored, but the answer is held back: the test kills our
                # server meanwhile, so the sender never learns that the upload arrived, the case
                # a sender has to recover from by uploading it again.
                self.log(f"holding the answer to the attachment PUT {m['att']} for {hang} s")
                time.sleep(hang)

    def store_attachment(self, m, headers, body):
        sub = self.submission(m["sub"])
        if sub["sent"]:
            with self.lock:
                self.conflicts.append({"submissionId": sub["submissionId"], "what": f"attachment {m['att']} after the submit"})
            raise Refusal(409, f"submission {sub['submissionId']} is already submitted", error=False)
        if m["att"] not in sub["announcedAttachments"]:
            raise Refusal(404, f"attachment {m['att']} was not announced for submission {sub['submissionId']}")
        media_type = headers.get("Content-Type", "").split(";")[0].strip().lower()
        if media_type != "application/jose":
            raise Refusal(415, f"an attachment must be sent as application/jose, not {media_type or 'without a type'!r}")
        token = body.decode("ascii", "replace").strip()
        header, plaintext = self.open_jwe(token, f"attachment {m['att']}")
        with self.lock:
            old = sub["attachments"].get(m["att"])
            sub["attachments"][m["att"]] = {
                "sha512": hashlib.sha512(plaintext).hexdigest(),
                "size": len(plaintext),
                "cty": header["cty"],
                "puts": (old["puts"] if old else 0) + 1,
                "authenticationTag": token.rsplit(".", 1)[1],
                "plaintext": plaintext,
            }
        self.log(f"attachment {m['att']} of {sub['submissionId']}: {len(plaintext)} bytes, cty {header['cty']}")
        return 204, None

    def open_jwe(self, token, what, cty=None):
        """Checks a compact JWE's protected header as FIT-Connect requires it and decrypts it
        with jwcrypto: (header, plaintext)."""
        parts = token.split(".")
        if len(parts) != 5:
            raise Refusal(422, f"{what} is not a JWE in compact serialization (5 parts, not {len(parts)})")
        header = b64url_json(parts[0])
        if header is None:
            raise Refusal(422, f"{what}: the protected header is not base64url-encoded JSON")
        if header.get("alg") != "RSA-OAEP-256" or header.get("enc") != "A256GCM":
            raise Refusal(422, f"{what}: alg/enc must be RSA-OAEP-256/A256GCM, not {header.get('alg')}/{header.get('enc')}")
        if "cty" not in header:
            raise Refusal(422, f"{what}: the protected header has no cty")
        if cty and header["cty"] != cty:
            raise Refusal(422, f"{what}: cty must be {cty}, not {header['cty']!r}")
        if header.get("kid") == self.weak_key["kid"]:
            raise Refusal(422, f"{what} is encrypted with the 2048-bit key {header['kid']}, which a sender must refuse")
        if header.get("kid") != self.key["kid"]:
            raise Refusal(422, f"{what}: kid {header.get('kid')!r} is not the destination's key {self.key['kid']}")
        try:
            token_jwe = jwe.JWE()
            token_jwe.deserialize(token, key=self.key)
            plaintext = token_jwe.payload
        except (JWException, ValueError, TypeError) as e:
            raise Refusal(422, f"{what} does not decrypt with the destination's key (jwcrypto: {e})") from e
        return header, plaintext

    def submit(self, m, headers, body):
        sub = self.submission(m["sub"])
        if sub["sent"]:
            with self.lock:
                self.conflicts.append({"submissionId": sub["submissionId"], "what": "a second submit"})
            raise Refusal(409, f"submission {sub['submissionId']} is already submitted", error=False)
        req = self.json_body(headers, body)
        unknown = sorted(set(req) - {"encryptedMetadata", "encryptedData"})
        if unknown:
            raise Refusal(400, f"unknown fields in the submit: {unknown}")
        missing = [a for a in sub["announcedAttachments"] if a not in sub["attachments"]]
        if missing:
            raise Refusal(422, f"submit before every announced attachment arrived: {missing} are missing")
        if not isinstance(req.get("encryptedMetadata"), str):
            raise Refusal(422, "the submit has no encryptedMetadata")
        _, meta_bytes = self.open_jwe(req["encryptedMetadata"], "encryptedMetadata", cty="application/json")
        data_bytes = None
        if req.get("encryptedData") is not None:
            if not isinstance(req["encryptedData"], str):
                raise Refusal(422, "encryptedData must be a compact JWE")
            _, data_bytes = self.open_jwe(req["encryptedData"], "encryptedData", cty="application/json")
        try:
            metadata = json.loads(meta_bytes)
        except ValueError as e:
            raise Refusal(422, f"the decrypted metadata is not JSON: {e}") from e

        failures = self.check_metadata(sub, metadata, data_bytes)
        data = None
        if data_bytes is not None:
            try:
                data = json.loads(data_bytes)
            except ValueError as e:
                failures.append(f"the decrypted data is not JSON although its cty says so: {e}")
        if failures:
            for f in failures:
                self.error(f"submission {sub['submissionId']}: {f}")
            raise Refusal(422, "; ".join(failures), error=False)

        tags = {
            "metadata": req["encryptedMetadata"].rsplit(".", 1)[1],
            "attachments": {a: sub["attachments"][a]["authenticationTag"] for a in sub["announcedAttachments"]},
        }
        if req.get("encryptedData"):
            tags["data"] = req["encryptedData"].rsplit(".", 1)[1]
        with self.lock:
            sub["authenticationTags"] = tags
            sub["sent"] = {
                "submissionId": sub["submissionId"],
                "caseId": sub["caseId"],
                "destinationId": sub["destinationId"],
                "serviceType": sub["serviceType"],
                "submittedAt": now_iso(),
                "metadata": metadata,
                "metadata_valid": True,
                "data": data,
                "data_sha512": hashlib.sha512(data_bytes).hexdigest() if data_bytes is not None else None,
                "data_hash_matches": data_bytes is not None,
                "attachments": [
                    {
                        **{k: a.get(k) for k in ("attachmentId", "purpose", "mimeType", "filename")},
                        "sha512": sub["attachments"][a["attachmentId"]]["sha512"],
                        "size": sub["attachments"][a["attachmentId"]]["size"],
                        "cty": sub["attachments"][a["attachmentId"]]["cty"],
                        "hash_matches": True,
                    }
                    for a in metadata["contentStructure"]["attachments"]
                ],
            }
        self.append_event(sub, "submit-submission", {"authenticationTags": tags})
        self.log(f"submitted {sub['submissionId']}: metadata valid ({self.schema_name}), hashes match")
        return 200, {k: sub[k] for k in ("destinationId", "submissionId", "caseId")}

    def check_metadata(self, sub, metadata, data_bytes):
        """Every way the decrypted metadata can disagree with FITKO's schema or with what
        arrived: a list of failures, empty when it is right."""
        failures = [
            f"metadata does not match {self.schema_name} at /{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in sorted(self.validator.iter_errors(metadata), key=lambda e: list(map(str, e.absolute_path)))
        ]
        if failures or not isinstance(metadata, dict):
            return failures
        content = metadata["contentStructure"]
        data = content.get("data")
        if data_bytes is not None and data is None:
            failures.append("encryptedData was sent, but contentStructure.data does not describe it")
        if data is not None and data_bytes is None:
            failures.append("contentStructure.data describes data, but no encryptedData was sent")
        if data is not None and data_bytes is not None:
            digest = hashlib.sha512(data_bytes).hexdigest()
            if data["hash"]["content"] != digest:
                failures.append(f"contentStructure.data.hash is {data['hash']['content'][:16]}…, the data's SHA-512 is {digest[:16]}…")
            if data["submissionSchema"]["mimeType"] != "application/json":
                failures.append(f"submissionSchema.mimeType is {data['submissionSchema']['mimeType']}, the data is JSON")
        listed = [a["attachmentId"] for a in content["attachments"]]
        if len(set(listed)) != len(listed):
            failures.append(f"contentStructure.attachments names an attachment twice: {listed}")
        if set(listed) != set(sub["announcedAttachments"]):
            failures.append(
                f"contentStructure.attachments {sorted(listed)} is not the announced set {sorted(sub['announcedAttachments'])}"
            )
        for a in content["attachments"]:
            got = sub["attachments"].get(a["attachmentId"])
            if got is None:
                continue
            if a["hash"]["content"] != got["sha512"]:
                failures.append(
                    f"attachment {a['attachmentId']} ({a.get('filename')}): hash {a['hash']['content'][:16]}… "
                    f"is not the SHA-512 of the uploaded bytes, {got['sha512'][:16]}…"
                )
            if not a.get("filename"):
                failures.append(f"attachment {a['attachmentId']} has no filename")
        identifier = metadata.get("publicServiceType", {}).get("identifier")
        if identifier is not None and identifier != sub["serviceType"]["identifier"]:
            failures.append(
                f"publicServiceType.identifier {identifier} is not the serviceType {sub['serviceType']['identifier']} of the submission"
            )
        return failures

    def append_event(self, sub, event, payload):
        """Appends a Security Event Token (RFC 8417) to the case's event log, signed PS512 as
        FIT-Connect's delivery service signs them."""
        claims = {
            "iss": ISSUER,
            "iat": int(time.time()),
            "jti": str(uuid.uuid4()),
            "sub": f"submission:{sub['submissionId']}",
            "txn": f"case:{sub['caseId']}",
            "events": {EVENTS + event: payload},
        }
        token = jwt.JWT(header={"typ": "secevent+jwt", "alg": "PS512", "kid": self.signing_key["kid"]}, claims=claims)
        token.make_signed_token(self.signing_key)
        with self.lock:
            self.events.setdefault(sub["caseId"], []).append((token.serialize(), claims))
        self.log(f"event {event} for {sub['submissionId']}")
        return claims

    def get_events(self, m, headers, body):
        with self.lock:
            log = self.events.get(m["case"])
        if log is None:
            raise Refusal(404, f"no case {m['case']}")
        query = urllib.parse.parse_qs(m.get("query", ""))
        offset = int((query.get("offset") or ["0"])[0])
        limit = int((query.get("limit") or ["500"])[0])
        page = [t for t, _ in log][offset: offset + limit]
        return 200, {"offset": offset, "count": len(page), "totalCount": len(log), "eventLog": page}

    # -- the test's side --------------------------------------------------------------------

    def admin_mode(self, m, headers, body):
        req = self.json_body(headers, body)
        unknown = sorted(set(req) - set(DEFAULT_MODE))
        if unknown:
            raise Refusal(400, f"unknown modes {unknown}; known: {sorted(DEFAULT_MODE)}", error=False)
        if "destination_status" in req and req["destination_status"] not in ("active", "inactive"):
            raise Refusal(400, "destination_status is active or inactive", error=False)
        with self.lock:
            self.mode.update(req)
            mode = dict(self.mode)
        self.log(f"mode {mode}")
        return 200, mode

    def target(self, req):
        """The submission an admin call means: the one named, or the last one sent."""
        with self.lock:
            if req.get("submissionId"):
                sub = self.submissions.get(req["submissionId"])
            else:
                sent = [s for s in self.submissions.values() if s["sent"]]
                sub = sent[-1] if sent else None
        if sub is None:
            raise Refusal(404, "no such submission (or none sent yet)", error=False)
        return sub

    def admin_event(self, m, headers, body):
        req = self.json_body(headers, body)
        sub = self.target(req)
        event = req.get("event")
        if event == "accept-submission":
            payload = {"authenticationTags": sub.get("authenticationTags", {})}
        elif event == "reject-submission":
            payload = {"problems": req.get("problems") or [
                {"type": PROBLEM + "missing-data", "title": "Fehlende Angaben", "detail": "mock", "instance": "mock"}
            ]}
        else:
            raise Refusal(400, "event is accept-submission or reject-submission", error=False)
        claims = self.append_event(sub, event, payload)
        return 200, {"caseId": sub["caseId"], "submissionId": sub["submissionId"], "jti": claims["jti"], "event": event}

    def admin_callback(self, m, headers, body):
        req = self.json_body(headers, body)
        sub = self.target(req)
        url = req.get("url") or self.args.callback_url
        variant = req.get("variant", "good")
        if not url or self.callback_secret is None:
            raise Refusal(400, "no callback URL or secret given (--callback-url, --callback-secret-env)", error=False)
        if variant not in ("good", "wrong-hmac", "stale"):
            raise Refusal(400, "variant is good, wrong-hmac or stale", error=False)
        payload = {
            "type": NEW_EVENTS,
            "submissionIds": [sub["submissionId"]],
            "submissions": [{k: sub[k] for k in ("destinationId", "submissionId", "caseId")}],
        }
        text = json.dumps(payload, separators=(",", ":"))
        # FIT-Connect's callback authentication: HMAC-SHA512, hex, over "{timestamp}.{body}"
        # with the callback secret; a receiver must refuse a timestamp older than 5 minutes.
        stamp = int(time.time()) - (600 if variant == "stale" else 0)
        secret = self.callback_secret + ("-wrong" if variant == "wrong-hmac" else "")
        mac = hmac.new(secret.encode("utf-8"), f"{stamp}.{text}".encode("utf-8"), hashlib.sha512).hexdigest()
        out = urllib.request.Request(url, data=text.encode("utf-8"), method="POST", headers={
            "Content-Type": "application/json",
            "callback-timestamp": str(stamp),
            "callback-authentication": mac,
        })
        status, answer, failure = None, "", None
        try:
            with urllib.request.urlopen(out, timeout=15) as r:
                status, answer = r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            status, answer = e.code, e.read().decode("utf-8", "replace")
        except OSError as e:
            failure = str(e)
        record = {"variant": variant, "submissionId": sub["submissionId"], "url": url, "status": status, "error": failure}
        with self.lock:
            self.callbacks.append(record)
        self.log(f"callback {variant} to {url}: {status or failure}")
        return 200, {**record, "body": answer[:2000]}

    def admin_reset(self, m, headers, body):
        before = self.state()
        self.reset()
        self.log("reset")
        return 200, before

    def admin_state(self, m, headers, body):
        return 200, self.state()

    def admin_attachment(self, m, headers, body):
        sub = self.submission(m["sub"])
        att = sub["attachments"].get(m["att"])
        if att is None:
            raise Refusal(404, f"no attachment {m['att']}", error=False)
        return 200, att["plaintext"]

    @staticmethod
    def json_body(headers, body):
        if headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
            raise Refusal(415, f"the body must be application/json, not {headers.get('Content-Type')!r}")
        try:
            value = json.loads(body)
        except ValueError as e:
            raise Refusal(400, f"the body is not JSON: {e}") from e
        if not isinstance(value, dict):
            raise Refusal(400, "the body must be a JSON object")
        return value

    # -- dispatch ---------------------------------------------------------------------------

    ROUTES = [
        ("GET", r"/v1/destinations/(?P<dest>[^/]+)", "get_destination"),
        ("GET", r"/v1/destinations/(?P<dest>[^/]+)/keys/(?P<kid>[^/]+)", "get_key"),
        ("POST", r"/v1/submissions", "create"),
        ("PUT", r"/v1/submissions/(?P<sub>[^/]+)/attachments/(?P<att>[^/]+)", "put_attachment"),
        ("PUT", r"/v1/submissions/(?P<sub>[^/]+)", "submit"),
        ("GET", r"/v1/cases/(?P<case>[^/]+)/events", "get_events"),
        ("GET", r"/\.well-known/jwks\.json", "jwks"),
    ]
    ADMIN = [
        ("GET", r"/_mock/state", "admin_state"),
        ("POST", r"/_mock/mode", "admin_mode"),
        ("POST", r"/_mock/event", "admin_event"),
        ("POST", r"/_mock/callback", "admin_callback"),
        ("POST", r"/_mock/reset", "admin_reset"),
        ("GET", r"/_mock/attachments/(?P<sub>[^/]+)/(?P<att>[^/]+)", "admin_attachment"),
    ]

    def route(self, routes, method, path):
        allowed = []
        for verb, pattern, name in routes:
            m = re.fullmatch(pattern, path)
            if m:
                if verb == method:
                    return getattr(self, name), m.groupdict()
                allowed.append(verb)
        if allowed:
            raise Refusal(405, f"{method} is not allowed on {path} (only {', '.join(allowed)})")
        return None, None

    def handle(self, method, target, headers, body):
        """One request: (status, headers, body bytes)."""
        path, _, query = target.partition("?")
        admin = path.startswith("/_mock/")
        try:
            if admin:
                handler, params = self.route(self.ADMIN, method, path)
                if handler is None:
                    raise Refusal(404, f"no admin call {path}", error=False)
                status, out = handler({**params, "query": query}, headers, body)
            else:
                with self.lock:
                    failing = self.mode["fail_next"] > 0
                    if failing:
                        self.mode["fail_next"] -= 1
                if failing:
                    raise Refusal(503, "the delivery service is unavailable (failure switched on by the test)", error=False)
                if path == "/token":
                    if method != "POST":
                        raise Refusal(405, "the token endpoint takes POST")
                    status, out = self.token(headers, body)
                else:
                    handler, params = self.route(self.ROUTES, method, path)
                    if handler is None:
                        raise Refusal(404, f"no such endpoint: {method} {path}")
                    self.authorize(headers)
                    status, out = handler({**params, "query": query}, headers, body)
            extra = {}
        except Refusal as r:
            status, extra = r.status, r.headers
            out = {"type": PROBLEM + str(r.status), "title": http.HTTPStatus(r.status).phrase, "status": r.status, "detail": r.detail}
            if path == "/token" and r.status == 401:
                out = {"error": "invalid_client", "error_description": r.detail}
            if r.error and not admin:
                self.error(f"{method} {path}: {r.status} {r.detail}")
            else:
                self.log(f"{method} {path}: {r.status} {r.detail}")
        except Exception:  # a bug of the mock must be loud, not a hung connection
            status, extra = 500, {}
            out = {"title": "mock failure", "detail": traceback.format_exc()}
            self.error(f"{method} {path}: the mock failed: {traceback.format_exc()}")
        if not admin:
            with self.lock:
                self.requests.append({"method": method, "path": path, "status": status, "at": now_iso()})
            self.log(f"{method} {path} -> {status}")
        if out is None:
            return status, extra, b""
        if isinstance(out, bytes):
            return status, {"Content-Type": "application/octet-stream", **extra}, out
        ctype = "application/json" if status < 400 or path == "/token" else "application/problem+json"
        return status, {"Content-Type": ctype, **extra}, json.dumps(out).encode("utf-8")


def is_uuid(text):
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36


class Handler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.1 with keep-alive, as the real service speaks it, so the sender's connection
    # reuse is exercised too. Every answer has a Content-Length.
    protocol_version = "HTTP/1.1"
    mock = None  # set in main

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def serve(self):
        body = self.read_body()
        status, headers, out = self.mock.handle(self.command, self.path, self.headers, body)
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        except (BrokenPipeError, ConnectionResetError):
            # The sender went away (the test killed it while the mock held the request).
            self.mock.log(f"{self.command} {self.path}: the client was gone before the answer")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = serve

    def log_message(self, fmt, *args):
        pass  # Mock.handle logs every request in its own words


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True, help="written with the port once the mock listens")
    p.add_argument("--log")
    p.add_argument("--destination", action="append", help="a destination id (UUID); repeatable")
    p.add_argument("--leika", action="append", default=[], help="a LeiKa key the destinations offer; repeatable")
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret-env", required=True, help="the variable that holds the client secret")
    p.add_argument("--callback-url")
    p.add_argument("--callback-secret-env", help="the variable that holds the callback secret")
    args = p.parse_args()

    Handler.mock = Mock(args)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    Handler.mock.log(f"listening on 127.0.0.1:{server.server_port}; destinations {Handler.mock.destinations}; "
                     f"schema {Handler.mock.schema_name}; encryption kid {Handler.mock.key['kid']}")
    # Written whole and then renamed, so a reader never sees half a port number.
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_port))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
