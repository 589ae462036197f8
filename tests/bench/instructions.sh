#!/usr/bin/env bash
# Instructions per operation of the engine on its 300-field benchmark (crates/engine/benches/
# evaluate.rs), counted with callgrind: stable on this shared machine, where timings are not.
# Each figure is (instructions of a run with n rounds - those of a run with 0) / operations.
#
#   bash tests/bench/instructions.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

if ! command -v valgrind >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y valgrind >/dev/null
fi
BENCH=$(cargo bench -q -p baukasten-engine --bench evaluate --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "evaluate":
        print(m["executable"])')
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# count VAR=VALUE…: the instructions callgrind counts for the benchmark binary with these variables.
count() {
    env "$@" valgrind --tool=callgrind --callgrind-out-file="$WORK/out" "$BENCH" >/dev/null 2>"$WORK/err" \
        || { cat "$WORK/err" >&2; exit 1; }
    awk '/^summary:/ {print $2}' "$WORK/out"
}

per() { # per LABEL OPERATIONS BASE VAR=VALUE…: one line
    local label="$1" ops="$2" base="$3"; shift 3
    local total
    total=$(count "$@")
    python3 -c "import sys; print(f'| {sys.argv[1]:<44} | {(int(sys.argv[2]) - int(sys.argv[3])) / int(sys.argv[4]):>12,.0f} |')" \
        "$label" "$total" "$base" "$ops"
}

echo "| operation (300 fields, 65 rules) | instructions each |"
echo "|---|---|"
base=$(count EVALUATE_ONLY=0)
per "evaluate a submission (parsed JSON value)" 2000 "$base" EVALUATE_ONLY=2
base=$(count EVALUATE_ONLY=0 FROM_BYTES=1)
per "evaluate a submission from its JSON bytes" 2000 "$base" EVALUATE_ONLY=2 FROM_BYTES=1
base=$(count COMPILE_ONLY=0)
per "compile the service" 20 "$base" COMPILE_ONLY=20
