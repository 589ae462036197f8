#!/usr/bin/env bash
# FIT-Connect deliveries end to end, as CI runs them (.ci/run calls this), against a mock of
# FITKO's Submission API on this machine (fc_mock.py). The mock is also the independent check
# of our encryption: it decrypts every JWE our sender makes with jwcrypto (PyPI), not with our
# code, checks every SHA-512 the metadata names, and validates the metadata against FITKO's
# metadata schema as published in the PyPI package `fitconnect`. It is first checked on its own
# (selftest.py: a correct sender and bad ones written with jwcrypto). Then check.py runs:
#   a. a Bewohnerparkausweis of Musterstadt with an upload arrives once, with the upload and the
#      PDF receipt as attachments and the answers as data;
#   b. a callback with the right HMAC is taken and its event recorded, a wrong or stale one is
#      refused (401);
#   c. an inactive destination, a 2048-bit key and a refused token stop the delivery before
#      anything is created, with errors naming the cause; two 503s are retried;
#   d. the server is killed (SIGKILL) during an attachment upload and started again on the same
#      data: the submission arrives once.
# The catalog is a copy of forms/ in which Bewohnerparkausweis is also delivered to a
# FIT-Connect destination of the mock.
# The Python packages are pinned in requirements.txt and installed from PyPI into a virtual
# environment outside the clone, once per version of that file.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
VENV="${BAUKASTEN_FIT_CONNECT_VENV:-${HOME}/.cache/baukasten-fit-connect-venv}"
started=$SECONDS

. "$HERE/../lib.sh"
python_venv "$VENV" "$HERE/requirements.txt"
PY="$VENV/bin/python"

echo "-- the mock on its own: a correct sender and bad ones, written with jwcrypto"
"$PY" "$HERE/selftest.py"

echo "-- cargo build -p baukasten-cli"
(cd "$REPO" && cargo build -q -p baukasten-cli)
BAUKASTEN="$CARGO_TARGET_DIR/debug/baukasten"

work="$(mktemp -d "${TMPDIR:-/tmp}/baukasten-fit-connect.XXXXXX")"
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

DEST="$("$PY" -c 'import uuid; print(uuid.uuid4())')"
# The catalog: Bewohnerparkausweis also goes to the mock's destination. Both municipalities'
# overlays write their own `process:`, which replaces the shared one as a whole, so Musterstadt's
# overlay is where the delivery takes effect; the shared file gets it too, for any municipality
# that offers the service without an overlay.
cp -r "$REPO/forms" "$work/forms"
sed -i "s/^    - webhook: fachverfahren\$/&\n    - fit_connect: $DEST/" "$work/forms/bewohnerparkausweis.yaml"
sed -i "s/^    - email: bewohnerparken@musterstadt.example.org\$/&\n    - fit_connect: $DEST/" \
  "$work/forms/musterstadt/bewohnerparkausweis.yaml"
grep -q "fit_connect: $DEST" "$work/forms/bewohnerparkausweis.yaml"
grep -q "fit_connect: $DEST" "$work/forms/musterstadt/bewohnerparkausweis.yaml"

# The client secret has characters a form body must escape (+, /, =), so the sender's token
# request is checked for that too.
secret() { "$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(30)).decode() + "+/=")'; }
export BAUKASTEN_FIT_CONNECT_SECRET="$(secret)"
export BAUKASTEN_FIT_CONNECT_CALLBACK_SECRET="$(secret)"
export BAUKASTEN_FIT_CONNECT_WEBHOOK_SECRET="whsec_$("$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
TOKEN="fit-connect-check-token-0123456789"

"$PY" "$HERE/fc_mock.py" --port-file "$work/mock-port" --log "$work/mock.log" \
  --destination "$DEST" --leika 99108001000000 --client-id baukasten-check \
  --client-secret-env BAUKASTEN_FIT_CONNECT_SECRET --callback-secret-env BAUKASTEN_FIT_CONNECT_CALLBACK_SECRET \
  > "$work/mock.out" 2>&1 &
pids+=($!)
for _ in $(seq 300); do [ -s "$work/mock-port" ] && break; sleep 0.1; done
if [ ! -s "$work/mock-port" ]; then echo "the mock did not start:" >&2; cat "$work/mock.out" "$work/mock.log" >&2; exit 1; fi
mock="http://127.0.0.1:$(cat "$work/mock-port")"

# The server's config: the check's back-office tokens, quick retries, every webhook of the
# catalog (required once there is a config file; none is called here) and both municipalities'
# FIT-Connect clients, which the mock knows as one.
{
  echo "tokens: { musterstadt: $TOKEN, beispieldorf: $TOKEN-beispieldorf }"
  echo "delivery_schedule: [0, 1, 1, 1, 1, 1, 1, 1]"
  catalog_webhooks "$work/forms" "http://127.0.0.1:9/hook" BAUKASTEN_FIT_CONNECT_WEBHOOK_SECRET
  echo "fit_connect:"
  for tenant in musterstadt beispieldorf; do
    echo "  $tenant:"
    echo "    token_url: \"$mock/token\""
    echo "    submission_api: \"$mock\""
    echo "    client_id: \"baukasten-check\""
    echo "    client_secret_env: BAUKASTEN_FIT_CONNECT_SECRET"
    echo "    callback_secret_env: BAUKASTEN_FIT_CONNECT_CALLBACK_SECRET"
  done
} > "$work/baukasten.yaml"

"$PY" "$HERE/check.py" --repo "$REPO" --baukasten "$BAUKASTEN" --forms "$work/forms" --data "$work/data" \
  --config "$work/baukasten.yaml" --work "$work" --mock "$mock" --mock-log "$work/mock.log" \
  --token "$TOKEN" --destination "$DEST"

echo "FIT-Connect checks done in $((SECONDS - started)) s"
