#!/usr/bin/env bash
# The API's contract checks, as CI runs them (.ci/run calls this): starts `baukasten serve` on
# the catalog (forms/) with a temporary data folder, checks its OpenAPI document with the
# independent validator openapi-spec-validator (OpenAPI 3.1), generates a Python client from it
# with openapi-python-client, and sends catalog test cases through that client
# (client_submits.py): each must be stored with 201.
#
# The Python tools are pinned in requirements.txt and installed from PyPI into a virtual
# environment outside the clone, once per version of that file, so a second run starts at once.
# Uses the CARGO_TARGET_DIR the caller exports (.ci/run sets one), else the repository's target/.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
VENV="${BAUKASTEN_API_VENV:-${HOME}/.cache/baukasten-api-venv}"
# The date the catalog's tests are written for (as in the server's tests).
TODAY="2026-05-04"
started=$SECONDS

if ! command -v python3 >/dev/null 2>&1; then
  echo "API checks: python3 (3.10 or newer, with venv) is needed" >&2
  exit 2
fi

. "$HERE/../lib.sh"
python_venv "$VENV" "$HERE/requirements.txt"
# The generator formats its output with ruff, which comes with it.
export PATH="$VENV/bin:$PATH"

echo "-- cargo build -p baukasten-cli"
(cd "$REPO" && cargo build -q -p baukasten-cli)
BAUKASTEN="$CARGO_TARGET_DIR/debug/baukasten"

work="$(mktemp -d "${TMPDIR:-/tmp}/baukasten-api.XXXXXX")"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "-- baukasten serve (temporary data folder, today = $TODAY)"
# A config file makes every webhook the catalog delivers to required; nothing listens at these
# addresses, so the deliveries wait and retry (tests/deliver/run.sh checks them).
export BAUKASTEN_API_WEBHOOK_SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
{
  printf 'today: %s\n' "$TODAY"
  catalog_webhooks "$REPO/forms" "http://127.0.0.1:9/hook" BAUKASTEN_API_WEBHOOK_SECRET
} > "$work/config.yaml"
(cd "$REPO" && exec "$BAUKASTEN" serve --config "$work/config.yaml" --forms forms --data "$work/data" \
  --addr 127.0.0.1:0 > "$work/serve.out" 2> "$work/serve.err") &
server=$!
base=""
for _ in $(seq 100); do
  base="$(grep -o 'http://[0-9.:]*' "$work/serve.out" 2>/dev/null || true)"
  [ -n "$base" ] && break
  sleep 0.1
done
if [ -z "$base" ]; then
  echo "the server did not start:" >&2; cat "$work/serve.err" >&2; exit 1
fi

"$VENV/bin/python" - "$base/api/v1/openapi.json" "$work/openapi.json" <<'EOF'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1]) as response, open(sys.argv[2], "wb") as out:
    out.write(response.read())
EOF

echo "-- openapi-spec-validator: the OpenAPI document is valid OpenAPI 3.1"
"$VENV/bin/openapi-spec-validator" --schema 3.1 --validation-errors all "$work/openapi.json"

echo "-- openapi-python-client generate: a client from the document, without warnings"
# The receipt is a PDF: the client hands it over as bytes, as it does application/octet-stream.
printf 'content_type_overrides:\n  application/pdf: application/octet-stream\n' > "$work/client-config.yaml"
(cd "$work" && openapi-python-client generate --path openapi.json --output-path client \
  --config client-config.yaml > generate.out 2>&1) || {
  cat "$work/generate.out" >&2; exit 1
}
if grep -qiE "warning|unable|error" "$work/generate.out"; then
  echo "the generator could not handle all of the document:" >&2; cat "$work/generate.out" >&2; exit 1
fi

echo "-- client_submits.py: catalog test cases through the generated client"
"$VENV/bin/python" "$HERE/client_submits.py" "$base" "$work/client" "$REPO/forms" "$TODAY"

echo "API checks done in $((SECONDS - started)) s"
