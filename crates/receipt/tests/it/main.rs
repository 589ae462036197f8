//! The receipt as a reader gets it: the bytes of the PDF. What the bytes can show without a PDF
//! reader is checked here (the catalog's entries, the fonts, the pages); the text in reading
//! order and the rendering are checked by `tests/receipt/check.py` on the file that
//! `writes_sample` leaves when `RECEIPT_SAMPLE` names a path.

use baukasten_receipt::{Error, Receipt, Row, Section, Table, pdf};

const SHA: &str = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b";

fn section(heading: &str, header: [&str; 2], rows: Vec<Row>) -> Section {
    Section {
        heading: heading.into(),
        table: Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows,
        },
    }
}

/// A receipt as the server writes one: the case's facts, two steps of answers, fees with a
/// total, attachments with their checksums.
fn typical() -> Receipt {
    let mut total = Row::new(["Summe", "30,50 €"]);
    total.strong = true;
    Receipt {
        lang: "de".into(),
        title: "Eingangsbestätigung: Anwohnerparkausweis".into(),
        intro: vec![
            "Ihr Antrag ist bei der Stadt Musterstadt eingegangen. Bitte bewahren Sie diese \
             Bestätigung auf; das Aktenzeichen brauchen Sie bei Rückfragen."
                .into(),
            "Die Straßenverkehrsbehörde bearbeitet Anträge in der Regel innerhalb von zwei Wochen.".into(),
        ],
        sections: vec![
            section(
                "Vorgang",
                ["Angabe", "Wert"],
                vec![
                    Row::new(["Aktenzeichen", "BK-2025-000417"]),
                    Row::new(["Eingegangen am", "14.03.2025, 09:41 Uhr"]),
                    Row::new(["Kommune", "Stadt Musterstadt"]),
                    Row::new(["Leistung", "Anwohnerparkausweis (Version 3)"]),
                ],
            ),
            section(
                "Antragsteller",
                ["Frage", "Antwort"],
                vec![
                    Row::new(["Vorname", "Jörg"]),
                    Row::new(["Nachname", "Müßig-Schäfer"]),
                    Row {
                        cells: vec![
                            vec!["Anschrift".into()],
                            vec!["Große Straße 12 a".into(), "12345 Musterstadt".into()],
                        ],
                        strong: false,
                    },
                    Row::new([
                        "E-Mail-Adresse",
                        "joerg.muessig-schaefer.privat.kontakt@beispiel-kommune.example.org",
                    ]),
                ],
            ),
            section(
                "Fahrzeug",
                ["Frage", "Antwort"],
                vec![
                    Row::new(["Amtliches Kennzeichen", "MU-AB 1234"]),
                    Row::new([
                        "Warum brauchen Sie den Ausweis?",
                        "Ich wohne seit März in der Großen Straße und finde abends „nie“ einen \
                         Parkplatz – die Anwohnerzone ist die einzige Möglichkeit.",
                    ]),
                ],
            ),
            section(
                "Gebühren",
                ["Gebühr", "Betrag"],
                vec![
                    Row::new(["Parkausweis (1 Jahr)", "30,00 €"]),
                    Row::new(["Zustellung", "0,50 €"]),
                    total,
                ],
            ),
            section(
                "Anlagen",
                ["Datei", "SHA-256"],
                vec![
                    Row::new(["fahrzeugschein.pdf", SHA]),
                    Row::new(["meldebescheinigung.jpg", SHA]),
                ],
            ),
        ],
        closing: Some("Erstellt von Baukasten am 14.03.2025 um 09:41 Uhr.".into()),
        page: ("Seite".into(), "von".into()),
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The number of page objects (`/Type/Page`, not `/Pages`).
fn pages(pdf: &[u8]) -> usize {
    let needle = b"/Type/Page";
    pdf.windows(needle.len() + 1)
        .filter(|w| &w[..needle.len()] == needle && w[needle.len()] != b's')
        .count()
}

#[test]
fn a_typical_receipt_is_tagged_pdf_ua_with_its_font_embedded() {
    let bytes = pdf(&typical()).unwrap();
    assert!(bytes.starts_with(b"%PDF-1.7"));
    for entry in [
        "/Lang(de)",
        "/MarkInfo",
        "/Marked true",
        "/StructTreeRoot",
        "/DisplayDocTitle true",
        "/Outlines",
        "pdfuaid:part>1<",
        "Baukasten",
        "/FontFile2",
        "DejaVuSans-Bold",
        "/ToUnicode",
        "/TH",
        "/TD",
        "/H1",
        "/H2",
    ] {
        assert!(contains(&bytes, entry), "no {entry} in the PDF");
    }
    // The attachments' heading does not fit with its table at the foot of page 1.
    assert_eq!(pages(&bytes), 2);
}

#[test]
fn the_same_receipt_gives_the_same_bytes() {
    // No clock and no randomness: the receipt of a submission can be made again.
    assert_eq!(pdf(&typical()).unwrap(), pdf(&typical()).unwrap());
}

#[test]
fn five_hundred_rows_take_several_pages() {
    let mut receipt = typical();
    let rows = (1..=500)
        .map(|i| Row::new([format!("Frage {i}"), format!("Antwort {i}")]))
        .collect();
    receipt.sections[1].table.rows = rows;
    let bytes = pdf(&receipt).unwrap();
    assert!(pages(&bytes) >= 10, "{} pages", pages(&bytes));
}

#[test]
fn a_row_with_more_cells_than_its_header_is_refused() {
    let mut receipt = typical();
    receipt.sections[3]
        .table
        .rows
        .push(Row::new(["Gebühr", "1,00 €", "zu viel"]));
    match pdf(&receipt) {
        Err(Error::Shape(heading, cells, header)) => {
            assert_eq!((heading.as_str(), cells, header), ("Gebühren", 3, 2));
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn characters_outside_the_font_are_drawn_as_replacements() {
    let mut receipt = typical();
    receipt.title = "Bestätigung 😀 中文 \u{FEFF}\u{0}".into();
    receipt.sections[1].table.rows[0] = Row::new(["Vorname", "Zoë 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u{200D}\u{FFFF}"]);
    receipt.sections[2].heading = "\u{FEFF}\u{0}\u{200B}".into();
    receipt.closing = Some("\u{0301}e\u{0301} \t\r\n".into());
    let bytes = pdf(&receipt).unwrap();
    assert!(contains(&bytes, "/StructTreeRoot"));
    // The title goes into the XMP metadata, which must stay well-formed XML.
    let start = bytes.windows(11).position(|w| w == b"<x:xmpmeta ").unwrap();
    let len = bytes[start..].windows(12).position(|w| w == b"</x:xmpmeta>").unwrap();
    let xmp = &bytes[start..start + len];
    assert!(contains(xmp, "Bestätigung"));
    assert!(!xmp.iter().any(|&b| b < 0x20 && !b"\n\r\t".contains(&b)));
}

#[test]
fn empty_and_degenerate_receipts_are_still_documents() {
    let empty = Receipt {
        lang: String::new(),
        title: String::new(),
        intro: vec![String::new()],
        sections: Vec::new(),
        closing: None,
        page: (String::new(), String::new()),
    };
    let bytes = pdf(&empty).unwrap();
    assert!(contains(&bytes, "/Lang(und)"));
    assert_eq!(pages(&bytes), 1);

    let mut receipt = typical();
    receipt.sections[0].table.rows.clear();
    receipt.sections[1].heading = String::new();
    receipt.sections[2].table = Table {
        header: Vec::new(),
        rows: Vec::new(),
    };
    receipt.sections[3].table.rows[0].cells = vec![vec![], vec![String::new()]];
    receipt.sections[4].table.header = vec![String::new(), String::new()];
    pdf(&receipt).unwrap();
}

#[test]
fn very_long_text_breaks_into_lines_and_pages() {
    let mut receipt = typical();
    let long = "Sehr lange Begründung mit vielen Wörtern. ".repeat(400);
    let word = "x".repeat(20_000);
    receipt.intro.push(long.clone());
    receipt.sections[2]
        .table
        .rows
        .push(Row::new(["Begründung", long.as_str()]));
    receipt.sections[2]
        .table
        .rows
        .push(Row::new([word.as_str(), word.as_str()]));
    receipt.sections.push(Section {
        heading: "Viele Spalten".into(),
        table: Table {
            header: (1..=12).map(|i| format!("Spalte {i}")).collect(),
            rows: vec![Row::new((1..=12).map(|i| format!("Wert {i} {SHA}")))],
        },
    });
    let bytes = pdf(&receipt).unwrap();
    assert!(pages(&bytes) > 5, "{} pages", pages(&bytes));
}

/// Leaves the typical receipt at the path in `RECEIPT_SAMPLE`, for `tests/receipt/check.py`.
#[test]
fn writes_sample() {
    let bytes = pdf(&typical()).unwrap();
    if let Some(path) = std::env::var_os("RECEIPT_SAMPLE") {
        std::fs::write(&path, &bytes).unwrap();
        eprintln!("wrote {} bytes to {}", bytes.len(), path.to_string_lossy());
    }
}
