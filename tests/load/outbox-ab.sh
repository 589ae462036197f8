#!/usr/bin/env bash
# The outbox's cost on durable submissions, A/B on one release binary: alternating runs of
# `wrk` against the submissions endpoint with the catalog as it is (Mängelmelder delivers to a
# webhook, here a Python receiver on loopback answering 204) and with a copy whose Mängelmelder
# has no `deliver:`. Prints one line per pair and the medians (docs/performance.md).
#
#   PAIRS=10 DURATION=10s bash tests/load/outbox-ab.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

PAIRS="${PAIRS:-6}"
DURATION="${DURATION:-10s}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null
cargo build --release -q -p baukasten-cli
BIN="$CARGO_TARGET_DIR/release/baukasten"

WORK="$(mktemp -d)"
SINK=""
trap 'kill $SINK 2>/dev/null || true; rm -rf "$WORK"' EXIT
python3 tests/load/sink.py "$WORK/sink-port" &
SINK=$!
for _ in $(seq 50); do [ -s "$WORK/sink-port" ] && break; sleep 0.1; done
export BAUKASTEN_LOAD_SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
. tests/lib.sh
{
    echo "rate_limit_per_minute: 100000000"
    catalog_webhooks forms "http://127.0.0.1:$(cat "$WORK/sink-port")/hook" BAUKASTEN_LOAD_SECRET
} > "$WORK/config.yaml"
cp -r forms "$WORK/forms-without"
sed -i '/^  deliver:$/{N;/\n    - webhook: fachverfahren$/d}' "$WORK/forms-without/maengelmelder.yaml"
! grep -q "webhook: fachverfahren" "$WORK/forms-without/maengelmelder.yaml"

ANSWERS='{"kategorie":"schlagloch","ortsangabe":"adresse","strasse":"Hauptstraße","hausnummer":"12","beschreibung":"Ein tiefes Schlagloch auf der rechten Fahrspur vor dem Haus.","rueckmeldung":false}'
cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$ANSWERS'
wrk.headers["Content-Type"] = "application/json"
LUA

# One run on FORMS: a fresh server and data folder, submissions/s for $DURATION.
run() {
    local data="$WORK/data-$RANDOM" out="$WORK/out-$RANDOM" pid base
    "$BIN" serve --forms "$1" --data "$data" --addr 127.0.0.1:0 --config "$WORK/config.yaml" > "$out" 2>/dev/null &
    pid=$!
    for _ in $(seq 100); do grep -q "http://" "$out" 2>/dev/null && break; sleep 0.1; done
    base="$(grep -o 'http://[0-9.:]*' "$out")"
    wrk -t2 -c64 -d"$DURATION" -s "$WORK/post.lua" "$base/api/v1/services/musterstadt/maengelmelder/submissions" \
        | awk '/Requests\/sec/ {print $2}'
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -rf "$data"
}

echo "| pair | without deliver: | one webhook each | difference |"
for pair in $(seq "$PAIRS"); do
    without=$(run "$WORK/forms-without")
    with=$(run forms)
    python3 -c "import sys; a, b = map(float, sys.argv[2:]); print(f'| {sys.argv[1]} | {a:,.0f} | {b:,.0f} | {100 * (b / a - 1):+.0f} % |')" "$pair" "$without" "$with"
    echo "$without $with" >> "$WORK/pairs"
done
python3 - "$WORK/pairs" <<'PY'
import statistics, sys
pairs = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
diff = statistics.median(b / a - 1 for a, b in pairs)
print(f"median difference of the pairs: {100 * diff:+.1f} %")
PY
