#!/usr/bin/env bash
# Durable submissions on each store, from a second process (wrk), 64 clients in all:
#   one instance on redb, one instance on PostgreSQL, three instances on one PostgreSQL
#   database (the clients spread evenly over them, as a load balancer would).
# Every submission also gets its outbox entry, delivered by the instances' dispatchers to a
# plain receiver on this machine. Beside the figures, PostgreSQL's own commit latency
# (pgbench, one client committing one-row inserts) and the disk's fsync latency.
# Prints a table for docs/performance.md.
#
#   bash tests/load/stores.sh            # 20 s per run
#   DURATION=10s bash tests/load/stores.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION="${DURATION:-20s}"
CONNECTIONS="${CONNECTIONS:-64}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

if ! command -v wrk >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null
fi
cargo build --release -q -p baukasten-cli
BIN="$CARGO_TARGET_DIR/release/baukasten"
. tests/lib.sh

WORK="$(mktemp -d)"
PIDS=()
DB="baukasten_load_$$"
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The receiver: answers 204 to every POST.
python3 tests/load/sink.py "$WORK/sink-port" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/sink-port" ] && break; sleep 0.1; done
export BAUKASTEN_LOAD_SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
export BAUKASTEN_LOAD_COOKIES="$(openssl rand -hex 32)"
{
    echo "rate_limit_per_minute: 100000000"
    echo "secret_env: BAUKASTEN_LOAD_COOKIES"
    catalog_webhooks forms "http://127.0.0.1:$(cat "$WORK/sink-port")/hook" BAUKASTEN_LOAD_SECRET
} > "$WORK/config.yaml"

ANSWERS='{"kategorie":"schlagloch","ortsangabe":"adresse","strasse":"Hauptstraße","hausnummer":"12","beschreibung":"Ein tiefes Schlagloch auf der rechten Fahrspur vor dem Haus.","rueckmeldung":false}'
cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$ANSWERS'
wrk.headers["Content-Type"] = "application/json"
LUA
SUBMIT=/api/v1/services/musterstadt/maengelmelder/submissions

# start NAME [--store URL]: one instance; its base address in $BASE. (Not in a subshell, so
# that its process is in PIDS and stop_all stops it.)
start() {
    local name="$1"; shift
    "$BIN" serve --forms forms --data "$WORK/data-$name" --addr 127.0.0.1:0 --config "$WORK/config.yaml" "$@" \
        > "$WORK/out-$name" 2>"$WORK/err-$name" &
    PIDS+=($!)
    for _ in $(seq 100); do grep -q "http://" "$WORK/out-$name" 2>/dev/null && break; sleep 0.1; done
    BASE="$(grep -o 'http://[0-9.:]*' "$WORK/out-$name")" || { cat "$WORK/err-$name" >&2; exit 1; }
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d "$ANSWERS" "$BASE$SUBMIT")
    [ "$code" = 201 ] || { echo "the sample submission is not accepted ($code)" >&2; exit 1; }
}

stop_all() {
    for pid in "${PIDS[@]:1}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    PIDS=("${PIDS[0]}")
}

# load LABEL BASE...: wrk against each base at once, the connections split evenly; one row.
load() {
    local label="$1"; shift
    local n=$# i=0 per=$((CONNECTIONS / $#)) outs=()
    for base in "$@"; do
        wrk -t1 -c"$per" -d"$DURATION" --latency -s "$WORK/post.lua" "$base$SUBMIT" > "$WORK/wrk-$i" &
        outs+=("$WORK/wrk-$i"); i=$((i + 1))
    done
    wait $(jobs -p | tail -n "$n")
    python3 - "$label" "${outs[@]}" <<'PY'
import re, sys
label, files = sys.argv[1], sys.argv[2:]
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v); x = float(m.group(1))
    return x / 1000 if m.group(2) == "us" else x * 1000 if m.group(2) == "s" else x
rps, p50, p99, errors = 0.0, [], [], []
for f in files:
    text = open(f).read()
    rps += float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50.append(ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)))
    p99.append(ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)))
    errors += re.findall(r"(Non-2xx.*|Socket errors.*)", text)
print(f"| {label:<34} | {rps:>8,.0f} | {max(p50):>6.1f} ms | {max(p99):>6.1f} ms | {'; '.join(errors) or 'none'}")
PY
}

# delivered LABEL: how many of the run's deliveries the dispatchers made while it ran.
NOTES=()
delivered() {
    local row
    row=$(psql -h 127.0.0.1 -U postgres -d "$DB" -tA -F ' ' \
        -c "SELECT COUNT(*) FILTER (WHERE status = 'delivered'), COUNT(*) FROM outbox")
    NOTES+=("$1: ${row% *} of ${row#* } deliveries made during the run")
}

echo "| store ($CONNECTIONS clients, $DURATION)            | submissions/s | p50 | p99 | errors"
echo "|---|---|---|---|---|"
start redb
load "redb, one instance" "$BASE"
stop_all

postgres_database "$DB"
STORE="postgres://postgres@127.0.0.1:5432/$DB"
start pg1 --store "$STORE"
load "PostgreSQL, one instance" "$BASE"
delivered "one instance"
stop_all

postgres_database "$DB"
bases=()
for i in 1 2 3; do start "pg3-$i" --store "$STORE"; bases+=("$BASE"); done
load "PostgreSQL, three instances" "${bases[@]}"
delivered "three instances"
stop_all

# The same with the database's connections shared out: 6 per instance, 18 in all, about what
# one instance has (16), instead of 48.
postgres_database "$DB"
sed -i '/^store_connections:/d' "$WORK/config.yaml"
echo "store_connections: 6" >> "$WORK/config.yaml"
bases=()
for i in 1 2 3; do start "pg3c-$i" --store "$STORE"; bases+=("$BASE"); done
load "PostgreSQL, three instances, 6 conn. each" "${bases[@]}"
delivered "three instances, 6 connections each"
stop_all
echo
printf '%s\n' "${NOTES[@]}"

# PostgreSQL's own commit latency: one client committing one-row inserts, then 64.
psql -q -h 127.0.0.1 -U postgres -d "$DB" -c "CREATE TABLE IF NOT EXISTS commit_probe (n int)"
echo "INSERT INTO commit_probe VALUES (1);" > "$WORK/commit.sql"
sleep 1
for clients in 1 64; do
    pgbench -h 127.0.0.1 -U postgres -n -c "$clients" -j 2 -T 5 -f "$WORK/commit.sql" "$DB" > "$WORK/pgbench" 2>&1 || true
    awk -v c="$clients" '/latency average/ {lat=$4} /^tps/ {tps=$3} END {printf "PostgreSQL commit (pgbench, %d client(s), one-row insert each): %s ms average, %.0f commits/s\n", c, lat, tps}' "$WORK/pgbench"
    grep -q "latency average" "$WORK/pgbench" || tail -3 "$WORK/pgbench"
done
