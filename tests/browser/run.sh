#!/usr/bin/env bash
# The browser and HTML checks, as CI runs them (.ci/run calls this): makes sure Chromium, Java
# and the npm packages are there, tests the checkers themselves, builds the `baukasten` CLI,
# renders the whole catalog (forms/) to static pages and checks every page with the Nu Html
# Checker and axe-core. See README.md in this folder for what each check does.
#
# Installs only what is missing, so a second run on the same machine starts checking at once.
# Uses the CARGO_TARGET_DIR the caller exports (.ci/run sets one), else the repository's target/.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
export CHROMIUM_PATH
SCREENSHOTS="${SCREENSHOTS:-$REPO/target/screenshots}"
# Where check-inbox.mjs writes the documentation's screenshots, if anywhere; a relative path is
# taken from where run.sh was called.
INBOX_DOCS="${INBOX_DOCS:+$(realpath -m "$INBOX_DOCS")}"
started=$SECONDS

# Runs apt-get as root (directly, or through sudo when we are not root).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs Debian packages. Reads the package lists first only when apt does not know the
# package yet (a fresh machine) or when installing from the lists it has fails (they are
# stale), because `apt-get update` alone costs half a minute.
apt_install() {
  local apt=(as_root env DEBIAN_FRONTEND=noninteractive apt-get)
  if ! apt-cache show "$1" >/dev/null 2>&1; then
    "${apt[@]}" update -q
  fi
  "${apt[@]}" install -y -q "$@" || {
    "${apt[@]}" update -q
    "${apt[@]}" install -y -q "$@"
  }
}

if [ ! -x "$CHROMIUM_PATH" ]; then
  echo "-- installing Debian's Chromium (not found at $CHROMIUM_PATH)"
  apt_install chromium
fi
if ! command -v java >/dev/null 2>&1; then
  echo "-- installing a Java runtime for the Nu Html Checker"
  apt_install openjdk-17-jre-headless
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "browser checks: node and npm are needed (Node 20 or newer)" >&2
  exit 2
fi

# npm ci only when node_modules is missing or was installed from another package-lock.json.
# --ignore-scripts: vnu-jar's install script would download a Java runtime; we use Debian's.
cd "$HERE"
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ "$(cat node_modules/.baukasten-lock 2>/dev/null)" != "$lock_sum" ]; then
  echo "-- npm ci"
  npm ci --ignore-scripts --no-audit --no-fund
  echo "$lock_sum" > node_modules/.baukasten-lock
fi

echo "-- the checkers' own test (fixtures/, not Baukasten's output)"
node --test --test-concurrency=1 selftest.test.mjs

echo "-- cargo build --release -p baukasten-cli"
(cd "$REPO" && cargo build --release -q -p baukasten-cli)
BAUKASTEN="$CARGO_TARGET_DIR/release/baukasten"

work="$(mktemp -d "${TMPDIR:-/tmp}/baukasten-browser.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "-- baukasten render --out <tmp> forms"
(cd "$REPO" && "$BAUKASTEN" render --out "$work/site" forms)

echo "-- check-static.mjs: vnu and axe over every rendered page"
node check-static.mjs "$work/site" --screenshots "$SCREENSHOTS"

echo "-- check-live.mjs: keyboard-only walks with JavaScript on through every service, with axe and vnu"
data="$work/data"
# A clerk's account for check-inbox.mjs, made before the server starts: the store file belongs
# to one process at a time. The password is new each run and goes by standard input and the
# environment, never on a command line.
PW="browser-check-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$PW" | "$BAUKASTEN" user add --data "$data" --municipality musterstadt erika > "$work/user.out" 2>&1 || {
  echo "baukasten user add failed:" >&2; cat "$work/user.out" >&2; exit 1
}
(cd "$REPO" && exec "$BAUKASTEN" serve --forms forms --data "$data" --addr 127.0.0.1:0 > "$work/serve.out" 2> "$work/serve.err") &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
base=""
for _ in $(seq 100); do
  base="$(grep -o 'http://[0-9.:]*' "$work/serve.out" 2>/dev/null || true)"
  [ -n "$base" ] && break
  sleep 0.1
done
if [ -z "$base" ]; then
  echo "the server did not start:" >&2; cat "$work/serve.err" >&2; exit 1
fi
# Every shared service, as Musterstadt offers it. answers/<service>.json steers a walk where the
# first option of each question would miss a page worth walking (Baumfällung: "not the owner"
# leads to the consent page, whose questions depend on an earlier step).
failed=0
for file in "$REPO"/forms/*.yaml; do
  service="$(basename "$file" .yaml)"
  args=(--service "/musterstadt/$service/" --screenshots "$SCREENSHOTS/live/$service")
  if [ -f "answers/$service.json" ]; then args+=(--answers "answers/$service.json"); fi
  echo "-- $service"
  node check-live.mjs "$base" "${args[@]}" > "$work/live-$service.out" 2>&1 || { failed=1; cat "$work/live-$service.out"; }
  grep -E '^(pages checked|reference|live updates asked|live):' "$work/live-$service.out" | tr '\n' ' '
  echo
done

# The walks above left real submissions of Musterstadt in the store: the clerk works on them.
echo "-- check-inbox.mjs: the clerks' inbox with the keyboard, in German and English, with axe and vnu"
# INBOX_DOCS=DIR also writes the screenshots of docs/backoffice.md there (docs/images). The
# Mängelmelder's case (MM-…) is preferred: short enough that its picture shows the whole page.
inbox_args=(--user erika --municipality musterstadt --prefer MM- --screenshots "$SCREENSHOTS/inbox")
if [ -n "${INBOX_DOCS:-}" ]; then inbox_args+=(--docs "$INBOX_DOCS"); fi
if INBOX_PASSWORD="$PW" node check-inbox.mjs "$base" "${inbox_args[@]}" > "$work/inbox.out" 2>&1; then
  grep -E '^(pages checked|cases moved|inbox):' "$work/inbox.out" | tr '\n' ' '
  echo
else
  failed=1
  cat "$work/inbox.out"
fi
kill "$server" 2>/dev/null || true
if [ "$failed" -ne 0 ]; then
  echo "browser checks: a walk failed (see above)" >&2
  exit 1
fi

echo "browser checks done in $((SECONDS - started)) s"
