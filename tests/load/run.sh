#!/usr/bin/env bash
# Load run against the release build, from a second process (wrk), each endpoint on its own:
#   GET a step page, POST evaluate, POST a durable submission; 64 concurrent clients each.
# Every submission also gets its outbox entry, and a webhook receiver on this machine (a
# plain Python sink answering 204) takes the deliveries: the run prints how fast the
# dispatcher drains them.
# Also measures the fsync latency of the disk the data folder is on, which bounds durable
# writes. Prints a table for docs/performance.md.
#
#   bash tests/load/run.sh            # 20 s per endpoint
#   DURATION=5s bash tests/load/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION="${DURATION:-20s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

if ! command -v wrk >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null
fi
cargo build --release -q -p baukasten-cli
BIN="$CARGO_TARGET_DIR/release/baukasten"

WORK="$(mktemp -d)"
trap 'kill "$PID" "$SINK" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# The receiver: answers 204 to every POST, counts nothing, checks nothing (the signatures are
# checked in tests/deliver/run.sh).
python3 tests/load/sink.py "$WORK/sink-port" &
SINK=$!
for _ in $(seq 50); do [ -s "$WORK/sink-port" ] && break; sleep 0.1; done
SINK_URL="http://127.0.0.1:$(cat "$WORK/sink-port")/hook"
export BAUKASTEN_LOAD_SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
. tests/lib.sh
{
    echo "rate_limit_per_minute: 100000000"
    catalog_webhooks forms "$SINK_URL" BAUKASTEN_LOAD_SECRET
} > "$WORK/config.yaml"

"$BIN" serve --forms forms --data "$WORK/data" --addr 127.0.0.1:0 --config "$WORK/config.yaml" > "$WORK/out" 2>/dev/null &
PID=$!
for _ in $(seq 50); do grep -q "http://" "$WORK/out" 2>/dev/null && break; sleep 0.1; done
BASE="$(grep -o 'http://[0-9.:]*' "$WORK/out")"
echo "server: $BASE (pid $PID)"

# The answers of Mängelmelder's valid test, as the API takes them.
ANSWERS='{"kategorie":"schlagloch","ortsangabe":"adresse","strasse":"Hauptstraße","hausnummer":"12","beschreibung":"Ein tiefes Schlagloch auf der rechten Fahrspur vor dem Haus.","rueckmeldung":false}'
cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$ANSWERS'
wrk.headers["Content-Type"] = "application/json"
LUA
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d "$ANSWERS" \
    "$BASE/api/v1/services/musterstadt/maengelmelder/submissions")
[ "$code" = 201 ] || { echo "the sample submission is not accepted ($code)"; exit 1; }

run() {
    local name="$1"; shift
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@")
    local rps p50 p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
    printf '| %-38s | %10s | %8s | %8s | %s\n' "$name" "$rps" "$p50" "$p99" "${errors:-none}"
}

echo "| endpoint ($CONNECTIONS clients, $DURATION)             |  requests/s |      p50 |      p99 | errors"
echo "|---|---|---|---|---|"
run "GET a step page" "$BASE/musterstadt/bewohnerparkausweis/schritt/fahrzeug"
run "POST evaluate" -s "$WORK/post.lua" "$BASE/api/v1/services/musterstadt/maengelmelder/evaluate"
run "POST a durable submission" -s "$WORK/post.lua" "$BASE/api/v1/services/musterstadt/maengelmelder/submissions"

# fsync latency of the data folder's disk: 4 KiB written and fsync'd, 200 times.
python3 - "$WORK/data" <<'PY'
import os, sys, time, statistics
path = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
times = []
for i in range(200):
    os.pwrite(fd, os.urandom(4096), (i % 16) * 4096)
    t = time.perf_counter(); os.fsync(fd); times.append((time.perf_counter() - t) * 1000)
os.close(fd); os.unlink(path)
times.sort()
print(f"fsync of 4 KiB on this disk: median {statistics.median(times):.2f} ms, p99 {times[int(len(times)*0.99)-1]:.2f} ms")
PY
curl -s "$BASE/metrics" | grep -E '^baukasten_submissions_total' || true

# The outbox after the burst: how fast the dispatcher delivers what piled up.
pending() { curl -s "$BASE/metrics" | awk '$1=="baukasten_deliveries_pending" {print $2}'; }
start_pending=$(pending); start=$(date +%s.%N)
while [ "$(pending)" != "0" ]; do sleep 0.5; done
end=$(date +%s.%N)
python3 -c "import sys; n, t = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); print(f'outbox after the burst: {n} deliveries pending, delivered to a loopback receiver in {t:.1f} s: {n / t if t > 0 else 0:.0f} deliveries/s')" "$start_pending" "$start" "$end"
curl -s "$BASE/metrics" | grep -E '^baukasten_deliveries_failed' || true
