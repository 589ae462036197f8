#!/usr/bin/env bash
# Failover on PostgreSQL, as CI runs it (.ci/run calls this): three instances of the server on
# one fresh database of the local PostgreSQL server, 32 clients, one instance SIGKILLed and
# restarted 10 times while submissions continue; then every acknowledged reference must be
# readable from every instance, none duplicated, every delivery made (failover.py).
#
#   bash tests/failover/run.sh
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
# The receiver's package is the one the delivery checks pin.
VENV="${BAUKASTEN_DELIVER_VENV:-${HOME}/.cache/baukasten-deliver-venv}"
started=$SECONDS

. "$HERE/../lib.sh"
python_venv "$VENV" "$REPO/tests/deliver/requirements.txt"

echo "-- cargo build -p baukasten-cli"
(cd "$REPO" && cargo build -q -p baukasten-cli)

DB="baukasten_failover_$$"
postgres_database "$DB"
STORE="postgres://postgres@127.0.0.1:5432/$DB"
work="$(mktemp -d "${TMPDIR:-/tmp}/baukasten-failover.XXXXXX")"
cleanup() {
  pkill -9 -f -- "--store $STORE" 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

export BAUKASTEN_FAILOVER_SECRET="$(openssl rand -hex 32)"
export BAUKASTEN_FAILOVER_HOOK="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TOKEN="failover-token-$(openssl rand -hex 8)"

# The configuration; failover.py fills in its receiver's port.
{
  echo "secret_env: BAUKASTEN_FAILOVER_SECRET"
  echo "rate_limit_per_minute: 100000000"
  echo "delivery_claim_seconds: 5"
  echo "tokens: { musterstadt: \"$TOKEN\" }"
  catalog_webhooks "$REPO/forms" "http://127.0.0.1:__PORT__/hook" BAUKASTEN_FAILOVER_HOOK
} > "$work/config.template"

"$VENV/bin/python" "$HERE/failover.py" \
  --binary "$CARGO_TARGET_DIR/debug/baukasten" --forms "$REPO/forms" --config "$work/config.yaml" \
  --store "$STORE" --work "$work" --secret "$BAUKASTEN_FAILOVER_HOOK" --port-file "$work/sink-port" \
  --token "$TOKEN" --template "$work/config.template"
echo "-- failover check passed in $((SECONDS - started)) s"
