//! What the reader takes from a message, and how it refuses what it cannot read.

use baukasten_fim::model::{Datentyp, Element, Feldart, Item};
use baukasten_fim::read::{MAX_DEPTH, MAX_INPUT_BYTES, NAMESPACE, NAMESPACE_V2};
use baukasten_fim::{ReadErrorKind, read};

use crate::input;

fn group(item: &Item) -> &baukasten_fim::model::Group {
    match &item.element {
        Element::Group(g) => g,
        Element::Field(f) => panic!("expected a group, got field {}", f.id),
    }
}

fn field(item: &Item) -> &baukasten_fim::model::Field {
    match &item.element {
        Element::Field(f) => f,
        Element::Group(g) => panic!("expected a field, got group {}", g.id),
    }
}

#[test]
fn a_schema_with_its_groups_fields_and_cardinalities() {
    let schema = read(&input("ok_antrag")).unwrap();
    assert_eq!(schema.id, "S60000010");
    assert_eq!(schema.version.as_deref(), Some("1.0"));
    assert_eq!(
        schema.label.as_deref(),
        Some("Sondernutzung öffentlicher Straßen beantragen")
    );
    assert_eq!(
        schema.rules[0].prose.as_deref(),
        Some("Der Beginn der Nutzung muss vor ihrem Ende liegen.")
    );
    assert_eq!(schema.rules[0].typ.as_deref(), Some("V"));

    let person = group(&schema.elements[0]);
    assert_eq!(
        (person.id.as_str(), person.version.as_deref()),
        ("G60000001", Some("1.2"))
    );
    let names: Vec<_> = person.items.iter().map(|i| field(i).name.as_str()).collect();
    assert_eq!(names, ["Vorname", "Familienname", "Geburtsdatum", "Geschlecht"]);
    assert!(person.items[0].is_required());
    let vorname = field(&person.items[0]);
    assert_eq!((vorname.min_length, vorname.max_length), (Some(1), Some(120)));
    assert_eq!(vorname.hint.as_deref(), Some("Alle Vornamen, wie im Ausweis."));
    let geschlecht = field(&person.items[3]);
    assert_eq!(geschlecht.feldart, Feldart::Select);
    assert_eq!(
        geschlecht.code_list.as_ref().map(|c| c.reference()).as_deref(),
        Some("urn:de:example:codeliste:geschlecht_2")
    );
    assert_eq!((person.items[3].min, person.items[3].max), (0, Some(1)));

    let anschrift = group(&schema.elements[1]);
    assert_eq!(anschrift.rules[0].id, "R60000021");
    let strasse = group(&anschrift.items[0]);
    assert_eq!(field(&strasse.items[2]).pattern.as_deref(), Some("[0-9]{5}"));

    let art = field(&schema.elements[2]);
    let codes: Vec<_> = art.values.iter().map(|v| (v.code.as_str(), v.name.as_str())).collect();
    assert_eq!(
        codes,
        [
            ("01", "Gerüst"),
            ("02", "Container, Mulde"),
            ("03", "Informationsstand")
        ]
    );

    let kennzeichen = &schema.elements[8];
    assert_eq!(
        (kennzeichen.min, kennzeichen.max, kennzeichen.anzahl().as_str()),
        (1, Some(5), "1:5")
    );
    let firma = &schema.elements[9];
    assert_eq!((firma.min, firma.max), (0, None));
    assert!(firma.repeats());

    let lageplan = field(&schema.elements[7]);
    assert_eq!(lageplan.datentyp, Datentyp::File);
    assert_eq!(lageplan.media_types, ["application/pdf", "image/jpeg", "image/png"]);
    // `&amp;` in text is resolved.
    let hinweis = field(&schema.elements[10]);
    assert_eq!(
        hinweis.content.as_deref(),
        Some("Die Gebühr richtet sich nach der Sondernutzungssatzung & der Dauer.")
    );
}

#[test]
fn prefixes_do_not_matter_only_the_namespace() {
    let xdf = input("ok_antrag");
    let xdf3 = xdf.replace("xdf:", "xdf3:").replace("xmlns:xdf=", "xmlns:xdf3=");
    let default = xdf.replace("xdf:", "").replace("xmlns:xdf=", "xmlns=");
    let a = read(&xdf).unwrap();
    assert_eq!(read(&xdf3).unwrap(), a);
    assert_eq!(read(&default).unwrap(), a);

    // An element with the right name in another namespace is not the element.
    let foreign = xdf.replacen(
        "<xdf:name>Antrag auf Sondernutzung</xdf:name>",
        "<x:name xmlns:x=\"urn:example\">Antrag auf Sondernutzung</x:name>",
        1,
    );
    let err = read(&foreign).unwrap_err();
    assert_eq!(err.kind, ReadErrorKind::Structure);
    assert!(err.message.contains("`name`"), "{err}");
}

#[test]
fn a_group_message_becomes_a_schema_of_one_group() {
    let schema = read(&input("ok_gruppe_default_namespace")).unwrap();
    assert_eq!(schema.id, "G60000100");
    assert_eq!(schema.elements.len(), 1);
    let kontakt = group(&schema.elements[0]);
    assert!(schema.elements[0].is_required());
    assert_eq!(kontakt.items[0].anzahl(), "0:3");
    let kundennummer = field(&kontakt.items[1]);
    assert_eq!(kundennummer.version, None);
    assert_eq!(kundennummer.feldart, Feldart::Locked);
    assert_eq!(kundennummer.vorbefuellung.as_deref(), Some("verpflichtend"));
}

#[test]
fn xdatenfelder_2_is_named_with_both_namespaces() {
    let err = read(&input("err_xdatenfelder_2")).unwrap_err();
    assert_eq!(err.kind, ReadErrorKind::Namespace);
    assert!(err.message.contains("XDatenfelder 2"), "{err}");
    assert!(err.message.contains(NAMESPACE_V2), "{err}");
    assert!(err.message.contains(NAMESPACE), "{err}");
    assert_eq!((err.line, err.col), (2, 1));
}

#[test]
fn another_namespace_says_what_was_found_and_what_is_expected() {
    let err = read(&input("err_other_namespace")).unwrap_err();
    assert_eq!(err.kind, ReadErrorKind::Namespace);
    assert!(err.message.contains("http://www.w3.org/1999/xhtml"), "{err}");
    assert!(err.message.contains(NAMESPACE), "{err}");
    assert_eq!((err.line, err.col), (3, 1));

    let err = read(&input("err_no_namespace")).unwrap_err();
    assert!(err.message.contains("has no namespace"), "{err}");

    let err = read(&input("err_other_message")).unwrap_err();
    assert!(err.message.contains("xdatenfelder.datenfeld.0104"), "{err}");
}

#[test]
fn malformed_xml_is_refused_at_its_place() {
    let err = read(&input("err_mismatched_tag")).unwrap_err();
    assert_eq!(err.kind, ReadErrorKind::Syntax);
    assert_eq!(err.line, 3, "{err}");
    assert!(err.message.contains("xdf:nam"), "{err}");

    // Cut in the middle of a closing tag.
    let err = read(&input("err_truncated")).unwrap_err();
    assert_eq!(err.kind, ReadErrorKind::Syntax);
    assert_eq!(err.line, input("err_truncated").lines().count(), "{err}");

    // Cut after a complete line: elements left open.
    let err = read(&input("err_unclosed")).unwrap_err();
    assert_eq!(err.kind, ReadErrorKind::Syntax);
    assert!(err.message.contains("`stammdatenschema` is closed"), "{err}");

    let err = read(&input("err_undeclared_prefix")).unwrap_err();
    assert_eq!((err.line, err.col), (2, 3), "{err}");
    assert!(err.message.contains("xdf3"), "{err}");

    let err = read(&input("err_doctype")).unwrap_err();
    assert!(err.message.contains("DOCTYPE"), "{err}");
    assert_eq!((err.line, err.col), (2, 1), "{err}");

    let err = read("").unwrap_err();
    assert!(err.message.contains("no root element"), "{err}");
}

#[test]
fn structure_errors_point_at_the_element() {
    let err = read(&input("err_anzahl")).unwrap_err();
    assert_eq!(err.kind, ReadErrorKind::Structure);
    assert_eq!((err.line, err.col), (6, 7), "{err}");
    assert!(err.message.contains("`viele`"), "{err}");

    let err = read(&input("err_feldart")).unwrap_err();
    assert_eq!((err.line, err.col), (11, 11), "{err}");
    assert!(
        err.message.contains("`eingabe`") && err.message.contains("`input`"),
        "{err}"
    );
}

#[test]
fn columns_count_characters_after_umlauts() {
    // The `<` of the bad end tag is the 26th character of line 3, but the 28th byte.
    let text = "<xdf:xdatenfelder.stammdatenschema.0102 xmlns:xdf=\"urn:xoev-de:fim:standard:xdatenfelder_3.0.0\">\n<xdf:stammdatenschema>\n<xdf:name>Größe</xdf:nam>\n";
    let err = read(text).unwrap_err();
    assert_eq!((err.line, err.col), (3, 16), "{err}");
}

#[test]
fn too_deep_is_refused_with_the_limit() {
    let mut text = format!("<xdatenfelder.stammdatenschema.0102 xmlns=\"{NAMESPACE}\">");
    for _ in 0..MAX_DEPTH {
        text.push_str("<struktur>");
    }
    let err = read(&text).unwrap_err();
    assert_eq!(err.kind, ReadErrorKind::Limit);
    assert!(err.message.contains(&MAX_DEPTH.to_string()), "{err}");
    assert_eq!(err.line, 1);
    // The element that went one level too deep: the root is level 1.
    let expected_col = text.len() - "<struktur>".len() + 1;
    assert_eq!(err.col, expected_col);
}

#[test]
fn too_large_is_refused_before_reading() {
    let text = format!(
        "<xdatenfelder.stammdatenschema.0102 xmlns=\"{NAMESPACE}\">{}",
        " ".repeat(MAX_INPUT_BYTES)
    );
    let err = read(&text).unwrap_err();
    assert_eq!(err.kind, ReadErrorKind::Limit);
    assert!(err.message.contains("8 MiB"), "{err}");
}

#[test]
fn a_byte_order_mark_is_skipped_and_positions_still_count_from_it() {
    let text = format!("\u{feff}{}", input("ok_antrag"));
    assert_eq!(read(&text).unwrap(), read(&input("ok_antrag")).unwrap());
    let err = read(&format!("\u{feff}{}", input("err_anzahl"))).unwrap_err();
    assert_eq!(err.line, 6);
}
