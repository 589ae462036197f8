#!/usr/bin/env bash
# The clerks' inbox under load (issue 14's figures): a store with COUNT submissions of
# Musterstadt (sent through the API), then, signed in as a clerk, `wrk` against the list's
# first page, filtered pages (by service, by a state nobody is in, by name; a search for a
# name nobody has is the worst case: it reads every submission), and a full CSV export.
#
#   COUNT=100000 bash tests/load/inbox.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

COUNT="${COUNT:-100000}"
DURATION="${DURATION:-10s}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null
cargo build --release -q -p baukasten-cli
BIN="$CARGO_TARGET_DIR/release/baukasten"

WORK="$(mktemp -d)"
PID=""
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
echo "rate_limit_per_minute: 100000000" > "$WORK/config.yaml"

# A copy of the catalog without deliveries: this measures the inbox, not the outbox.
cp -r forms "$WORK/forms"
sed -i '/^  deliver:$/,/^$/d' "$WORK"/forms/*.yaml "$WORK"/forms/*/*.yaml

serve() {
    "$BIN" serve --forms "$WORK/forms" --data "$WORK/data" --addr 127.0.0.1:0 --config "$WORK/config.yaml" > "$WORK/out" 2>/dev/null &
    PID=$!
    for _ in $(seq 100); do grep -q "http://" "$WORK/out" 2>/dev/null && break; sleep 0.1; done
    BASE="$(grep -o 'http://[0-9.:]*' "$WORK/out")"
}

serve
ANSWERS='{"kategorie":"schlagloch","ortsangabe":"adresse","strasse":"Hauptstraße","hausnummer":"12","beschreibung":"Ein tiefes Schlagloch auf der rechten Fahrspur vor dem Haus.","rueckmeldung":true,"name":"Erika Mustermann","email":"erika@example.org"}'
cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$ANSWERS'
wrk.headers["Content-Type"] = "application/json"
LUA
count() { curl -s "$BASE/metrics" | awk '$1 ~ /^baukasten_submissions_total/ {n += $2} END {print n + 0}'; }
while [ "$(count)" -lt "$COUNT" ]; do
    wrk -t2 -c32 -d5s -s "$WORK/post.lua" "$BASE/api/v1/services/musterstadt/maengelmelder/submissions" > /dev/null
done
stored=$(count)
kill "$PID"; wait "$PID" 2>/dev/null || true

printf '%s\n' "ein-langes-passwort-fuer-last" | "$BIN" user add --data "$WORK/data" --municipality musterstadt last > /dev/null
serve
# Sign in like a browser: the form's nonce cookie and token, then the session cookie.
curl -s -c "$WORK/jar" "$BASE/verwaltung/anmelden" > "$WORK/signin.html"
token=$(grep -o 'name="_csrf" value="[^"]*"' "$WORK/signin.html" | head -1 | sed 's/.*value="//; s/"$//')
curl -s -b "$WORK/jar" -c "$WORK/jar" -o /dev/null \
    --data-urlencode "_csrf=$token" --data-urlencode "municipality=musterstadt" \
    --data-urlencode "name=last" --data-urlencode "password=ein-langes-passwort-fuer-last" \
    "$BASE/verwaltung/anmelden"
session=$(awk '$6 == "bk_verwaltung" {print $7}' "$WORK/jar")
[ -n "$session" ] || { echo "sign-in failed"; exit 1; }
cat > "$WORK/cookie.lua" <<LUA
wrk.headers["Cookie"] = "bk_verwaltung=$session"
LUA

run() {
    local name="$1" path="$2" out
    out=$(wrk -t2 -c8 -d"$DURATION" --latency -s "$WORK/cookie.lua" "$BASE$path")
    printf '| %-46s | %8s | %8s | %8s |\n' "$name" \
        "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
        "$(awk '$1=="50%" {print $2}' <<<"$out")" \
        "$(awk '$1=="99%" {print $2}' <<<"$out")"
}
echo "store: $stored submissions of Musterstadt"
echo "| page (8 clients, $DURATION) | requests/s | p50 | p99 |"
echo "|---|---|---|---|"
run "list, first page (50 rows)" "/verwaltung/eingang"
run "list filtered by service (matches all)" "/verwaltung/eingang?service=maengelmelder"
run "list filtered by state (matches none)" "/verwaltung/eingang?state=erledigt"
run "list searched by name (matches all)" "/verwaltung/eingang?q=mustermann"
run "list searched by a name nobody has (reads all)" "/verwaltung/eingang?q=niemand"

start=$(date +%s.%N)
rows=$(curl -s -b "bk_verwaltung=$session" "$BASE/verwaltung/export.csv?service=maengelmelder" | wc -l)
end=$(date +%s.%N)
python3 -c "import sys; rows, t = int(sys.argv[1]) - 1, float(sys.argv[3]) - float(sys.argv[2]); print(f'CSV export: {rows} rows in {t:.1f} s: {rows / t:,.0f} rows/s')" "$rows" "$start" "$end"
