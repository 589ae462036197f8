//! Writing a schema as XDatenfelder 3: what is written, and that reading it gives the model back.

use baukasten_fim::read::NAMESPACE;
use baukasten_fim::{Header, read, write};

use crate::input;

fn header() -> Header {
    Header {
        message_id: "4f1c2a".into(),
        created: "2026-05-04T10:15:00Z".into(),
    }
}

#[test]
fn the_message_has_its_header_root_and_tree() {
    let schema = read(&input("ok_antrag")).unwrap();
    let xml = write(&schema, &header());
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    assert!(xml.contains(&format!(
        "<xdf:xdatenfelder.stammdatenschema.0102 xmlns:xdf=\"{NAMESPACE}\">"
    )));
    assert!(xml.contains("<xdf:nachrichtID>4f1c2a</xdf:nachrichtID>"));
    assert!(xml.contains("<xdf:erstellungszeitpunkt>2026-05-04T10:15:00Z</xdf:erstellungszeitpunkt>"));
    assert!(xml.contains("<xdf:bezeichnung>Sondernutzung öffentlicher Straßen beantragen</xdf:bezeichnung>"));
    // Indented by two spaces per level; `code` without a namespace, as the standard writes it.
    assert!(
        xml.contains("\n    <xdf:identifikation>\n      <xdf:id>S60000010</xdf:id>\n"),
        "{xml}"
    );
    assert!(
        xml.contains(
            "<xdf:feldart listURI=\"urn:xoev-de:fim:codeliste:xdatenfelder.feldart\" listVersionID=\"2.0\">\n"
        )
    );
    assert!(xml.contains("<code>input</code>"));
    assert!(xml.contains("<xdf:praezisierung minLength=\"5\" maxLength=\"5\" pattern=\"[0-9]{5}\"/>"));
    assert!(xml.contains("<xdf:anzahl>0:*</xdf:anzahl>"));
    assert!(xml.contains("Sondernutzungssatzung &amp; der Dauer"));
}

#[test]
fn writing_is_deterministic_and_read_gives_the_model_back() {
    for stem in ["ok_antrag", "ok_gruppe_default_namespace"] {
        let schema = read(&input(stem)).unwrap();
        let xml = write(&schema, &header());
        assert_eq!(xml, write(&schema, &header()));
        assert_eq!(read(&xml).unwrap(), schema, "{stem}");
        // Writing what was read back gives the same text: a fixed point.
        assert_eq!(write(&read(&xml).unwrap(), &header()), xml);
    }
}

#[test]
fn awkward_text_survives_the_round_trip() {
    let mut schema = read(&input("ok_antrag")).unwrap();
    schema.name = "A <b> & \"c\" 'd' ]]> é".into();
    schema.hint = Some("zwei\nZeilen".into());
    if let baukasten_fim::model::Element::Group(g) = &mut schema.elements[0].element
        && let baukasten_fim::model::Element::Field(f) = &mut g.items[0].element
    {
        f.pattern = Some("[a-z]+\t\"x\" <&>\n[0-9]".into());
    }
    let xml = write(&schema, &header());
    assert_eq!(read(&xml).unwrap(), schema);
}
