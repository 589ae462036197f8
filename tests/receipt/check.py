"""Checks a receipt PDF with tools that are not ours: what PDF/UA-1 asks of the file.

    check.py FILE.pdf [--expect TEXT]... [--png OUT.png]

pikepdf (PyPI) reads the file: the document is marked as tagged and has a structure tree with
headings and a table, the catalog names the language, the viewer shows the title, the XMP
metadata says PDF/UA part 1 and has a dc:title, and every font is embedded. pdftotext
(poppler-utils) extracts the text, which must contain each expected text, in the order given:
the reading order. With --png, pdftoppm renders page 1 to OUT.png, which must not be blank.

Exits 1 with a message naming the first failed check.
"""

import argparse
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pikepdf

PDFUAID = "http://www.aiim.org/pdfua/ns/id/"
DC = "http://purl.org/dc/elements/1.1/"


class Failed(Exception):
    pass


def require(condition, message):
    if not condition:
        raise Failed(message)


def check_catalog(pdf):
    root = pdf.Root
    mark_info = root.get("/MarkInfo")
    require(mark_info is not None, "the catalog has no /MarkInfo")
    require(bool(mark_info.get("/Marked", False)), "/MarkInfo /Marked is not true")

    lang = root.get("/Lang")
    require(lang is not None and str(lang).strip(), "the catalog has no /Lang")

    prefs = root.get("/ViewerPreferences")
    require(prefs is not None, "the catalog has no /ViewerPreferences")
    require(
        bool(prefs.get("/DisplayDocTitle", False)),
        "/ViewerPreferences /DisplayDocTitle is not true",
    )
    return str(lang)


def structure_roles(pdf):
    """The roles (/S) of every structure element under /StructTreeRoot."""
    tree = pdf.Root.get("/StructTreeRoot")
    require(tree is not None, "the catalog has no /StructTreeRoot")
    kids = tree.get("/K")
    require(kids is not None, "the /StructTreeRoot has no children (/K)")

    roles = []
    seen = set()
    stack = [kids]
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Array):
            stack.extend(reversed(list(node)))
        elif isinstance(node, pikepdf.Dictionary):
            if node.is_indirect:
                key = node.objgen
                if key in seen:
                    continue
                seen.add(key)
            if "/S" in node:
                roles.append(str(node.S))
            if "/K" in node:
                stack.append(node.K)
    require(roles, "the structure tree has no elements")
    return roles


def check_structure(pdf):
    roles = structure_roles(pdf)
    require(
        any(re.fullmatch(r"/H[1-6]?", r) for r in roles),
        f"the structure tree has no heading (roles: {sorted(set(roles))})",
    )
    for role in ("/Table", "/TR", "/TH"):
        require(role in roles, f"the structure tree has no {role} (roles: {sorted(set(roles))})")
    return roles


def check_xmp(pdf):
    metadata = pdf.Root.get("/Metadata")
    require(metadata is not None, "the catalog has no XMP /Metadata")
    try:
        xml = ET.fromstring(metadata.read_bytes())
    except ET.ParseError as e:
        raise Failed(f"the XMP metadata is not well-formed XML: {e}") from e

    parts = [e.text for e in xml.iter(f"{{{PDFUAID}}}part")]
    parts += [
        e.get(f"{{{PDFUAID}}}part") for e in xml.iter() if e.get(f"{{{PDFUAID}}}part") is not None
    ]
    require(parts, "the XMP metadata has no pdfuaid:part")
    require(
        all(p is not None and p.strip() == "1" for p in parts),
        f"pdfuaid:part is {parts}, not 1",
    )

    titles = [
        (li.text or "").strip()
        for title in xml.iter(f"{{{DC}}}title")
        for li in title.iter()
        if li.tag.endswith("}li")
    ]
    require(any(titles), "the XMP metadata has no dc:title")
    return titles[0]


def check_fonts(pdf):
    """Every font descriptor carries its font program, and every font but Type 3 (drawn with
    PDF operators) and Type 0 (whose descendant is checked) has a descriptor."""
    fonts = 0
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Dictionary):
            continue
        kind = obj.get("/Type")
        if kind == "/FontDescriptor":
            name = str(obj.get("/FontName", "?"))
            require(
                any(k in obj for k in ("/FontFile", "/FontFile2", "/FontFile3")),
                f"the font {name} is not embedded (its descriptor has no /FontFile*)",
            )
        elif kind == "/Font":
            fonts += 1
            subtype = obj.get("/Subtype")
            if subtype not in ("/Type0", "/Type3"):
                name = str(obj.get("/BaseFont", "?"))
                require("/FontDescriptor" in obj, f"the font {name} has no /FontDescriptor")
    require(fonts > 0, "the file has no fonts")
    return fonts


def normalize(text):
    return " ".join(text.split())


def check_text(path, expected):
    """The extracted text contains each expected text, each after the one before."""
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=False
    )
    require(result.returncode == 0, f"pdftotext failed: {result.stderr.decode(errors='replace')}")
    text = normalize(result.stdout.decode("utf-8"))
    at = 0
    for want in expected:
        want = normalize(want)
        found = text.find(want, at)
        if found < 0:
            anywhere = text.find(want)
            if anywhere >= 0:
                raise Failed(f"{want!r} is in the text, but before the text expected ahead of it")
            raise Failed(f"{want!r} is not in the text pdftotext extracts")
        at = found + len(want)
    return text


def pgm_ink(path):
    """The share of pixels in a binary PGM (P5, 8 bit) that are not near white."""
    data = path.read_bytes()
    fields = []
    i = 0
    while len(fields) < 4:
        while data[i : i + 1].isspace():
            i += 1
        if data[i : i + 1] == b"#":
            while data[i : i + 1] not in (b"\n", b""):
                i += 1
            continue
        start = i
        while not data[i : i + 1].isspace():
            i += 1
        fields.append(data[start:i])
    require(fields[0] == b"P5", "pdftoppm did not write a binary PGM")
    width, height = int(fields[1]), int(fields[2])
    pixels = data[i + 1 : i + 1 + width * height]
    dark = sum(1 for p in pixels if p < 200)
    return dark / max(1, len(pixels))


def render(path, png):
    png = Path(png)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(path),
         str(png.with_suffix(""))],
        check=True,
    )
    written = png.with_suffix(".png")
    require(written.exists() and written.stat().st_size > 0, f"pdftoppm wrote no {written}")
    if written != png:
        written.replace(png)
    with tempfile.TemporaryDirectory() as tmp:
        gray = Path(tmp) / "page"
        subprocess.run(
            ["pdftoppm", "-gray", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(path),
             str(gray)],
            check=True,
        )
        ink = pgm_ink(gray.with_suffix(".pgm"))
    require(ink > 0.005, f"page 1 renders blank ({ink:.2%} of its pixels are not white)")
    return ink


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--expect", action="append", default=[], metavar="TEXT",
                        help="a text the PDF must contain, after the ones given before it")
    parser.add_argument("--png", metavar="OUT.png", help="render page 1 to this file")
    args = parser.parse_args()

    try:
        try:
            pdf = pikepdf.open(args.file)
        except Exception as e:  # pikepdf raises several kinds; any of them fails the check
            raise Failed(f"pikepdf cannot open {args.file}: {e}") from e
        with pdf:
            lang = check_catalog(pdf)
            roles = check_structure(pdf)
            title = check_xmp(pdf)
            fonts = check_fonts(pdf)
            pages = len(pdf.pages)
        check_text(args.file, args.expect)
        ink = render(args.file, args.png) if args.png else None
    except Failed as e:
        print(f"check.py: {args.file}: {e}", file=sys.stderr)
        return 1

    print(f"{args.file}: {pages} page(s), language {lang}, title {title!r}")
    print(f"  tagged: {len(roles)} structure elements ({', '.join(sorted(set(roles)))})")
    print(f"  PDF/UA-1 in XMP, DisplayDocTitle, {fonts} font dictionaries, all embedded")
    print(f"  text: {len(args.expect)} expected text(s) found in reading order")
    if ink is not None:
        print(f"  page 1 rendered to {args.png} ({ink:.1%} ink)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
