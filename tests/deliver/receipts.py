"""The receipt through every way it leaves the server (run.sh, step 4): a citizen who uses the
pages in English sends a report with a photo; the office's mail (German) and the citizen's
confirmation (English) arrive at the SMTP server with the PDF receipt attached, and the back
office fetches the same receipt from the API. Each PDF is checked by tests/receipt/check.py
(pikepdf and pdftotext, not our code): tagged, language, PDF/UA identification, title, fonts
embedded, and the texts in reading order, including the photo's SHA-256.

usage: receipts.py BASE TOKEN MAIL_DIR OUT_DIR CHECK_PY"""

import email
import email.policy
import glob
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request

base, token, mail_dir, out_dir, check = sys.argv[1:]

# A small but real JPEG (a 1x1 baseline image), as a phone would upload it.
photo = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432"
    "ffc0000b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9"
)
digest = hashlib.sha256(photo).hexdigest()

boundary = "baukastenreceiptcheck"
body = (
    f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"schlagloch.jpg\"\r\n"
    f"Content-Type: image/jpeg\r\n\r\n"
).encode() + photo + f"\r\n--{boundary}--\r\n".encode()
req = urllib.request.Request(
    f"{base}/api/v1/services/musterstadt/maengelmelder/attachments",
    data=body,
    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
)
with urllib.request.urlopen(req) as r:
    upload = json.load(r)[0]

answers = {
    "kategorie": "schlagloch", "ortsangabe": "adresse", "strasse": "Holstenstraße",
    "hausnummer": "12a", "beschreibung": "Deep pothole at the edge of the road.", "foto": upload,
    "rueckmeldung": True, "name": "Erika Mustermann", "email": "erika@example.org",
}
req = urllib.request.Request(
    f"{base}/api/v1/services/musterstadt/maengelmelder/submissions",
    data=json.dumps(answers).encode(),
    headers={"Content-Type": "application/json", "Accept-Language": "en"},
)
with urllib.request.urlopen(req) as r:
    ref = json.load(r)["reference"]


def mail_to(rcpt, subject_part):
    """The first mail to rcpt whose subject holds subject_part and the reference."""
    deadline = time.time() + 60
    while time.time() < deadline:
        for path in sorted(glob.glob(mail_dir + "/*.eml")):
            to, _, raw = open(path, "rb").read().partition(b"\n")
            message = email.message_from_bytes(raw, policy=email.policy.default)
            if to.decode() == rcpt and subject_part in message["subject"] and ref in message["subject"]:
                return message
        time.sleep(0.2)
    sys.exit(f"no mail “{subject_part}” for {ref} to {rcpt} within 60 s")


def attached_pdf(message, name):
    """The PDF attached to message, saved as name in out_dir."""
    files = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(files) == 1, [p.get_content_type() for p in message.iter_attachments()]
    assert files[0].get_filename().endswith(f"-{ref}.pdf"), files[0].get_filename()
    path = os.path.join(out_dir, name)
    with open(path, "wb") as f:
        f.write(files[0].get_content())
    return path


def check_pdf(path, *expect, png=None):
    args = [sys.executable, check, path]
    for text in expect:
        args += ["--expect", text]
    if png:
        args += ["--png", png]
    subprocess.run(args, check=True)


citizen = mail_to("erika@example.org", "Your application has been received")
text = citizen.get_body(preferencelist=("plain",)).get_content()
assert f"Your reference number: {ref}" in text, text
assert "Holstenstraße" in text, text
check_pdf(
    attached_pdf(citizen, "citizen.pdf"),
    "Confirmation of receipt", ref, "Musterstadt", "Holstenstraße", "Deep pothole",
    "schlagloch.jpg", digest[:32],
)
print(f"   {ref}: the confirmation to erika@example.org is English, with the English receipt attached")

office = mail_to("bauhof@musterstadt.example", "Neuer Antrag")
assert f"Vorgangsnummer: {ref}" in office.get_body(preferencelist=("plain",)).get_content()
check_pdf(
    attached_pdf(office, "office.pdf"),
    "Eingangsbestätigung", ref, "Stadt Musterstadt", "Holstenstraße", "Deep pothole", "schlagloch.jpg",
    digest[:32],
)
print(f"   {ref}: the office's mail to bauhof@musterstadt.example is German, with the German receipt attached")

req = urllib.request.Request(
    f"{base}/api/v1/submissions/{ref}/receipt.pdf", headers={"Authorization": f"Bearer {token}"}
)
with urllib.request.urlopen(req) as r:
    assert r.headers["Content-Type"] == "application/pdf", r.headers
    pdf = r.read()
path = os.path.join(out_dir, "api.pdf")
with open(path, "wb") as f:
    f.write(pdf)
png = os.path.join(out_dir, "receipt-page-1.png")
check_pdf(path, "Eingangsbestätigung", ref, "Eingegangen am", "Holstenstraße", "Anlagen", digest[:32], png=png)
print(f"   {ref}: GET /api/v1/submissions/{ref}/receipt.pdf ({len(pdf)} bytes) passes the same checks; page 1: {png}")
