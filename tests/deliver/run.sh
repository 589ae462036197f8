#!/usr/bin/env bash
# Deliveries end to end, as CI runs them (.ci/run calls this), against real peers on this
# machine:
#   1. a webhook receiver (receiver.py) that verifies every signature with the `standardwebhooks`
#      package from PyPI, an implementation of the specification that is not ours, fails the
#      first 3 attempts and takes the 4th: one submission arrives, with the same webhook-id on
#      all 4 attempts, and the back office shows 4 attempts, delivered;
#   2. the server is killed (SIGKILL) while three submissions' deliveries are pending (the
#      receiver answers 503), the receiver starts taking them, the server is started again on
#      the same data: all three arrive;
#   3. a real SMTP server (aiosmtpd) receives the citizen's confirmation of receipt, with the
#      reference and the answers, and, once the back office marks the report as resolved, the
#      message the service's `erledigt` state has for the citizen;
#   4. the receipt (receipts.py): a report with a photo, made in English, reaches the office by
#      mail (German) and the citizen (English), each with the PDF receipt attached, and the back
#      office fetches it from the API; every PDF is checked by tests/receipt/check.py (pikepdf
#      and pdftotext: tagged, language, PDF/UA identification, texts in reading order, the
#      photo's SHA-256) and page 1 is rendered to a PNG that is kept for a look.
# The catalog is a copy of forms/ in which Mängelmelder also mails the Bauhof.
# The Python tool is pinned in requirements.txt and installed from PyPI into a virtual
# environment outside the clone, once per version of that file.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
VENV="${BAUKASTEN_DELIVER_VENV:-${HOME}/.cache/baukasten-deliver-venv}"
started=$SECONDS

. "$HERE/../lib.sh"
python_venv "$VENV" "$HERE/requirements.txt"
PY="$VENV/bin/python"

if ! command -v pdftotext >/dev/null || ! command -v pdftoppm >/dev/null; then
  echo "-- apt-get install poppler-utils (pdftotext, pdftoppm)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q poppler-utils >/dev/null
fi

echo "-- cargo build -p baukasten-cli"
(cd "$REPO" && cargo build -q -p baukasten-cli)
BAUKASTEN="$CARGO_TARGET_DIR/debug/baukasten"

work="$(mktemp -d "${TMPDIR:-/tmp}/baukasten-deliver.XXXXXX")"
pids=()
# Kills a process and waits for it (so the shell does not report the kill).
stop() {
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  for pid in "${pids[@]}"; do stop "$pid"; done
  rm -rf "$work"
}
trap cleanup EXIT

# The catalog: forms/, with Mängelmelder also delivering to the Bauhof by e-mail.
cp -r "$REPO/forms" "$work/forms"
sed -i 's/^    - webhook: fachverfahren$/&\n    - email: bauhof@musterstadt.example/' "$work/forms/maengelmelder.yaml"
grep -q "email: bauhof@musterstadt.example" "$work/forms/maengelmelder.yaml"

secret="whsec_$("$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
export BAUKASTEN_DELIVER_SECRET="$secret"
TOKEN="deliver-check-token-0123456789"

# Starts the receiver; sets $port.
receiver() {
  local log="$1"; shift
  "$PY" "$HERE/receiver.py" --secret "$secret" --log "$log" --port-file "$work/port" "$@" \
    > "$work/receiver.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
  port="$(cat "$work/port")"; rm -f "$work/port"
}

# Writes the server's config: every webhook of the catalog goes to the receiver on $1; mail
# goes to the SMTP server on $2, if given.
config() {
  local url="http://127.0.0.1:$1/hook"
  {
    if [ -n "${2:-}" ]; then
      echo "smtp: { host: 127.0.0.1, port: $2, from: \"Stadt Musterstadt <noreply@musterstadt.example>\", starttls: false }"
    fi
    echo "tokens: { musterstadt: $TOKEN }"
    echo "delivery_schedule: [0, 1, 1, 1, 1, 1, 1, 1, 1, 1]"
    catalog_webhooks "$REPO/forms" "$url" BAUKASTEN_DELIVER_SECRET
  } > "$work/baukasten.yaml"
}

# Starts the server on the data folder; sets $base.
serve() {
  (cd "$REPO" && exec "$BAUKASTEN" serve --forms "$work/forms" --data "$work/data" --addr 127.0.0.1:0 \
    --config "$work/baukasten.yaml" > "$work/serve.out" 2> "$work/serve.err") &
  server=$!
  pids+=($server)
  base=""
  for _ in $(seq 100); do
    base="$(grep -o 'http://[0-9.:]*' "$work/serve.out" 2>/dev/null || true)"
    [ -n "$base" ] && break
    sleep 0.1
  done
  if [ -z "$base" ]; then echo "the server did not start:" >&2; cat "$work/serve.err" >&2; exit 1; fi
}

submit() {
  "$PY" - "$base" <<'PYEOF'
import json, sys, urllib.request
body = {"kategorie": "schlagloch", "ortsangabe": "adresse", "strasse": "Holstenstraße",
        "hausnummer": "12a", "beschreibung": "Tiefes Schlagloch am Fahrbahnrand.", "rueckmeldung": False}
req = urllib.request.Request(sys.argv[1] + "/api/v1/services/musterstadt/maengelmelder/submissions",
                             data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req) as r:
    assert r.status == 201, r.status
    print(json.load(r)["reference"])
PYEOF
}

# Waits until the receiver's log shows a verified 204 for every reference given.
await_delivered() {
  local log="$1"; shift
  "$PY" - "$log" "$@" <<'PYEOF'
import json, sys, time
log, refs = sys.argv[1], set(sys.argv[2:])
deadline = time.time() + 60
while time.time() < deadline:
    try:
        entries = [json.loads(l) for l in open(log, encoding="utf-8")]
    except FileNotFoundError:
        entries = []
    done = {e["reference"] for e in entries if e["status"] == 204 and e["verified"]}
    if refs <= done:
        sys.exit(0)
    time.sleep(0.2)
sys.exit(f"not delivered within 60 s: {sorted(refs - done)}; the receiver saw {entries}")
PYEOF
}

echo "-- 1. a receiver that fails three times, verifying signatures with standardwebhooks"
receiver "$work/one.log" --fail 3
config "$port"
serve
ref="$(submit)"
await_delivered "$work/one.log" "$ref"
"$PY" - "$work/one.log" "$ref" "$base" "$TOKEN" <<'PYEOF'
import json, sys, urllib.request
log, ref, base, token = sys.argv[1:]
entries = [json.loads(l) for l in open(log, encoding="utf-8") if json.loads(l)["reference"] == ref]
assert [e["status"] for e in entries] == [500, 500, 500, 204], entries
assert all(e["verified"] for e in entries), entries
assert len({e["id"] for e in entries}) == 1 and entries[0]["id"].startswith("msg_"), entries
assert entries[0]["type"] == "submission.created", entries
req = urllib.request.Request(f"{base}/api/v1/submissions/{ref}/deliveries", headers={"Authorization": f"Bearer {token}"})
deliveries = json.load(urllib.request.urlopen(req))
assert deliveries[0]["status"] == "delivered" and deliveries[0]["attempts"] == 4, deliveries
print(f"   {ref}: 4 attempts, one webhook-id ({entries[0]['id']}), every signature verified by standardwebhooks")
PYEOF
stop "$server"

echo "-- 2. SIGKILL while deliveries are pending; after the restart all arrive"
receiver "$work/two.log" --accept-file "$work/accept"
config "$port"
serve
refs=("$(submit)" "$(submit)" "$(submit)")
# Let each be attempted (and refused with 503) at least once, then kill the server.
"$PY" - "$work/two.log" "${refs[@]}" <<'PYEOF'
import json, sys, time
log, refs = sys.argv[1], set(sys.argv[2:])
deadline = time.time() + 30
while time.time() < deadline:
    try:
        seen = {json.loads(l)["reference"] for l in open(log, encoding="utf-8")}
    except FileNotFoundError:
        seen = set()
    if refs <= seen:
        sys.exit(0)
    time.sleep(0.1)
sys.exit("the deliveries were never attempted")
PYEOF
stop "$server"
touch "$work/accept"
serve
await_delivered "$work/two.log" "${refs[@]}"
echo "   ${refs[*]}: delivered after the restart"
stop "$server"

echo "-- 3. the citizen's confirmation of receipt through a real SMTP server (aiosmtpd)"
mkdir -p "$work/mail"
"$PY" "$HERE/smtp_sink.py" --dir "$work/mail" --port-file "$work/smtp-port" > "$work/smtp.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/smtp-port" ] && break; sleep 0.1; done
receiver "$work/three.log"
config "$port" "$(cat "$work/smtp-port")"
serve
ref="$("$PY" - "$base" <<'PYEOF'
import json, sys, urllib.request
body = {"kategorie": "schlagloch", "ortsangabe": "adresse", "strasse": "Holstenstraße",
        "hausnummer": "12a", "beschreibung": "Tiefes Schlagloch am Fahrbahnrand.", "rueckmeldung": True,
        "name": "Erika Mustermann", "email": "erika@example.org"}
req = urllib.request.Request(sys.argv[1] + "/api/v1/services/musterstadt/maengelmelder/submissions",
                             data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req) as r:
    print(json.load(r)["reference"])
PYEOF
)"
"$PY" - "$work/mail" "$ref" <<'PYEOF'
import email, email.policy, glob, sys, time
folder, ref = sys.argv[1], sys.argv[2]
deadline = time.time() + 60
while time.time() < deadline:
    for path in sorted(glob.glob(folder + "/*.eml")):
        rcpt, _, raw = open(path, "rb").read().partition(b"\n")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        if rcpt.decode() == "erika@example.org" and ref in message["subject"]:
            text = message.get_body(preferencelist=("plain",)).get_content()
            assert f"Ihre Vorgangsnummer: {ref}" in text, text
            pdfs = [p.get_filename() for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
            assert pdfs == [f"Eingangsbestaetigung-{ref}.pdf"], pdfs
            assert "Holstenstraße" in text, text
            assert message["from"].addresses[0].addr_spec == "noreply@musterstadt.example", message["from"]
            print(f"   {ref}: confirmation to erika@example.org, subject “{message['subject']}”")
            sys.exit(0)
    time.sleep(0.2)
sys.exit(f"no confirmation for {ref} within 60 s")
PYEOF
"$PY" - "$work/mail" "$ref" "$base" "$TOKEN" <<'PYEOF'
import email, email.policy, glob, json, sys, time, urllib.request
folder, ref, base, token = sys.argv[1:]
for state in ["in_bearbeitung", "erledigt"]:
    req = urllib.request.Request(f"{base}/api/v1/submissions/{ref}/state", data=json.dumps({"state": state}).encode(),
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    assert urllib.request.urlopen(req).status == 200
deadline = time.time() + 60
while time.time() < deadline:
    for path in sorted(glob.glob(folder + "/*.eml")):
        rcpt, _, raw = open(path, "rb").read().partition(b"\n")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        if rcpt.decode() == "erika@example.org" and message["subject"] == f"Ihr Antrag {ref}: Erledigt":
            text = message.get_body(preferencelist=("plain",)).get_content()
            assert "ist behoben" in text, text
            print(f"   {ref}: the message of the state `erledigt` reached erika@example.org")
            sys.exit(0)
    time.sleep(0.2)
sys.exit(f"no message about the new state of {ref} within 60 s")
PYEOF

echo "-- 4. the PDF receipt: attached to the office's and the citizen's mails, and from the API"
receipts_out="${TMPDIR:-/tmp}/baukasten-receipts"
rm -rf "$receipts_out" && mkdir -p "$receipts_out"
"$PY" "$HERE/receipts.py" "$base" "$TOKEN" "$work/mail" "$receipts_out" "$REPO/tests/receipt/check.py"
stop "$server"

echo "delivery checks done in $((SECONDS - started)) s"
