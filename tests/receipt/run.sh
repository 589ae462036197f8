#!/usr/bin/env bash
# The PDF receipt checked by tools that are not ours: the crate's test writes a typical
# receipt (crates/receipt/tests/it, `writes_sample`), and check.py reads it with pikepdf (from
# PyPI, pinned in requirements.txt) and poppler's pdftotext and pdftoppm (Debian's
# poppler-utils): tagged, PDF/UA-1 in its metadata, language and title, fonts embedded, the
# text in reading order, page 1 not blank.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
VENV="${BAUKASTEN_RECEIPT_VENV:-${HOME}/.cache/baukasten-receipt-venv}"

if ! command -v pdftotext >/dev/null || ! command -v pdftoppm >/dev/null; then
  echo "-- apt-get install poppler-utils (pdftotext, pdftoppm)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q poppler-utils >/dev/null
fi

. "$HERE/../lib.sh"
python_venv "$VENV" "$HERE/requirements.txt"

work="$(mktemp -d "${TMPDIR:-/tmp}/baukasten-receipt.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "-- cargo test -p baukasten-receipt writes_sample"
(cd "$REPO" && RECEIPT_SAMPLE="$work/receipt.pdf" cargo test -q -p baukasten-receipt --test it writes_sample > /dev/null)

"$VENV/bin/python" "$HERE/check.py" "$work/receipt.pdf" \
  --expect "Eingangsbestätigung: Anwohnerparkausweis" \
  --expect "Ihr Antrag ist bei der Stadt Musterstadt eingegangen." \
  --expect "Vorgang" --expect "Aktenzeichen" --expect "BK-2025-000417" \
  --expect "Eingegangen am" --expect "14.03.2025, 09:41 Uhr" \
  --expect "Kommune" --expect "Stadt Musterstadt" \
  --expect "Leistung" --expect "Anwohnerparkausweis (Version 3)" \
  --expect "Antragsteller" --expect "Nachname" --expect "Müßig-Schäfer" \
  --expect "Große Straße 12 a 12345 Musterstadt" \
  --expect "joerg.muessig-schaefer.privat.kontakt@beispiel-kommune.example.org" \
  --expect "abends „nie“ einen Parkplatz – die Anwohnerzone" \
  --expect "Gebühren" --expect "Zustellung" --expect "0,50 €" --expect "Summe" --expect "30,50 €" \
  --expect "Anlagen" --expect "fahrzeugschein.pdf" \
  --expect "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b" \
  --expect "meldebescheinigung.jpg" \
  --expect "Erstellt von Baukasten am 14.03.2025 um 09:41 Uhr." \
  --png "${RECEIPT_PNG:-$work/page1.png}"
