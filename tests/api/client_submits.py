"""Sends catalog test cases to a running server through a client generated from its OpenAPI
document (openapi-python-client), as an integrator's program would. run.sh calls this.

For every shared service in forms/ and every one of its tests that expects valid answers (for
the date the server is started with, and without file answers, which need an upload first),
the answers go to POST /api/v1/services/{tenant}/{service}/submissions of a municipality that
offers the shared service unchanged. Each must be stored (201), must pass the service's JSON
Schema as an independent validator (Python's jsonschema) reads it, and a retry with the same
Idempotency-Key must get the same submission back. One invalid body must come back as the
documented 422.

Usage: client_submits.py BASE_URL CLIENT_DIR FORMS_DIR TODAY
"""

import json
import pathlib
import sys

import jsonschema
import yaml

base_url, client_dir, forms_dir, today = sys.argv[1:5]
sys.path.insert(0, client_dir)

from baukasten_api_client import Client  # noqa: E402
from baukasten_api_client.api.answers import submit_answers  # noqa: E402
from baukasten_api_client.api.services import (  # noqa: E402
    get_answers_schema,
    get_definition,
    list_services,
)
from baukasten_api_client.models import Answers, InvalidBody, SubmissionOut  # noqa: E402

client = Client(base_url=base_url, raise_on_unexpected_status=True)
forms = pathlib.Path(forms_dir)


def fail(message):
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def overlaid(tenant, service):
    """Whether the municipality changes the shared service with an overlay of its own."""
    for path in (forms / tenant).glob("*.yaml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if document.get("extends") == service:
            return True
    return False


def file_fields(fields, prefix=""):
    """The paths of the file fields of a definition's fields (repeat items as `name.*`)."""
    for field in fields:
        kind = field["kind"]
        path = prefix + field["id"]
        if kind["type"] == "file":
            yield path
        elif kind["type"] == "group":
            yield from file_fields(kind["fields"], path + ".")
        elif kind["type"] == "repeat":
            yield from file_fields(kind["fields"], path + ".*.")


def has_answer(answers, path):
    head, _, rest = path.partition(".")
    if head == "*":
        return any(has_answer(item, rest) for item in answers if isinstance(item, dict))
    value = answers.get(head) if isinstance(answers, dict) else None
    if not rest:
        return value not in (None, "", {})
    return value is not None and has_answer(value, rest)


offers = list_services.sync(client=client)
sent = 0
for path in sorted(forms.glob("*.yaml")):
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    service = document.get("service")
    if not service:
        continue
    tenants = [o.tenant for o in offers if o.service == service and not overlaid(o.tenant, service)]
    if not tenants:
        continue
    tenant = tenants[0]
    definition = json.loads(get_definition.sync_detailed(tenant, service, client=client).content)
    files = [p for step in definition["steps"] for p in file_fields(step["fields"])]
    schema = json.loads(get_answers_schema.sync_detailed(tenant, service, client=client).content)
    validator = jsonschema.Draft202012Validator(schema)
    for test in document.get("tests", []):
        expect = test.get("expect", {})
        valid = expect.get("valid") is True or expect.get("errors") == {}
        if not valid or str(test.get("today", today)) != today:
            continue
        answers = test.get("answers", {})
        if any(has_answer(answers, p) for p in files):
            continue
        # YAML reads unquoted dates as dates; a client sends them as text.
        answers = json.loads(json.dumps(answers, default=str))
        case = f"{tenant}/{service}: {test['name']}"
        problems = [e.message for e in validator.iter_errors(answers)]
        if problems:
            fail(f"{case}: the service's JSON Schema refuses valid answers: {problems}")
        key = f"client-check-{sent}"
        first = submit_answers.sync_detailed(tenant, service, client=client, body=Answers.from_dict(answers), idempotency_key=key)
        if first.status_code != 201 or not isinstance(first.parsed, SubmissionOut):
            fail(f"{case}: {first.status_code} {first.content!r}")
        again = submit_answers.sync_detailed(tenant, service, client=client, body=Answers.from_dict(answers), idempotency_key=key)
        if again.status_code != 201 or again.headers.get("Idempotent-Replayed") != "true":
            fail(f"{case}: the retry with the same Idempotency-Key got {again.status_code} {dict(again.headers)}")
        if again.parsed.reference != first.parsed.reference:
            fail(f"{case}: the retry stored another submission")
        print(f"  201 {first.parsed.reference}  {case}")
        sent += 1

if sent == 0:
    fail("no catalog test case was sent")

# The documented 422: a misspelt key is refused with the field it names.
refused = submit_answers.sync_detailed(tenant, service, client=client, body=Answers.from_dict({"telefn": "0431 123456"}))
if refused.status_code != 422 or not isinstance(refused.parsed, InvalidBody):
    fail(f"an unknown key: expected a 422 with errors, got {refused.status_code} {refused.content!r}")
if not any(e.field == "telefn" and e.code == "unknown_field" for e in refused.parsed.errors):
    fail(f"an unknown key: {refused.content!r}")

print(f"the generated client stored {sent} catalog test case(s) and read the 422 of an unknown key")
