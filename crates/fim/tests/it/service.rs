//! The service text an import gives: the mapping of each kind of element, and that the text
//! passes the checker of the language.

use baukasten_fim::{read, to_service_yaml};

use crate::{check, input};

/// The lines of the entry `- id: <id>` (up to the next entry at the same indent or less).
fn entry<'a>(yaml: &'a str, id: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = yaml.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start() == format!("- id: {id}"))
        .unwrap_or_else(|| panic!("no entry `{id}` in\n{yaml}"));
    let indent = lines[start].len() - lines[start].trim_start().len();
    let mut out = vec![lines[start]];
    for line in &lines[start + 1..] {
        let i = line.len() - line.trim_start().len();
        if i <= indent && !line.trim().is_empty() {
            break;
        }
        out.push(line.trim());
    }
    out
}

#[test]
fn fields_are_mapped_by_feldart_and_datentyp() {
    let import = to_service_yaml(&read(&input("ok_antrag")).unwrap());
    let yaml = &import.yaml;
    assert!(yaml.contains(
        "service: antrag_auf_sondernutzung\nversion: 1.0.0\ntitle: Sondernutzung öffentlicher Straßen beantragen\n"
    ));

    let vorname = entry(yaml, "vorname");
    for line in [
        "type: text",
        "label: Vorname",
        "hint: Alle Vornamen, wie im Ausweis.",
        "required: true",
        "max_length: 120",
        "fim: { id: F60000001, version: \"1.0\" }",
    ] {
        assert!(vorname.contains(&line), "{line} in {vorname:#?}");
    }
    assert!(
        !vorname.contains(&"min_length: 1"),
        "min_length 1 says nothing beyond required"
    );
    assert!(entry(yaml, "geburtsdatum").contains(&"type: date"));
    assert!(entry(yaml, "geburtsdatum").contains(&"min: 1900-01-01"));
    // 0:1 is optional.
    let geschlecht = entry(yaml, "geschlecht");
    assert!(!geschlecht.contains(&"required: true"));
    assert!(geschlecht.contains(&"type: choice") && geschlecht.contains(&"list: geschlecht"));
    assert!(yaml.contains("# TODO: Codeliste urn:de:example:codeliste:geschlecht_2 eintragen"));
    assert!(yaml.contains("\n  geschlecht: []\n"));

    let plz = entry(yaml, "postleitzahl");
    assert!(plz.contains(&"pattern: '[0-9]{5}'") && plz.iter().any(|l| l.starts_with("pattern_message: ")));
    assert!(entry(yaml, "hausnummer").contains(&"type: integer"));
    assert!(entry(yaml, "hausnummer").contains(&"max: 9999"));
    let flaeche = entry(yaml, "flaeche");
    assert!(flaeche.contains(&"type: decimal") && flaeche.contains(&"min: \"0.5\""));
    assert!(entry(yaml, "kaution").contains(&"type: money"));
    assert!(entry(yaml, "richtigkeit_bestaetigt").contains(&"type: yes_no"));
    let uhrzeit = entry(yaml, "uhrzeit_der_anlieferung");
    assert!(uhrzeit.contains(&"type: text") && uhrzeit.iter().any(|l| l.starts_with("pattern: '([01]")));

    let art = entry(yaml, "art_der_nutzung");
    assert!(art.contains(&"type: choice") && art.contains(&"widget: radio"));
    assert!(art.contains(&"- { value: \"01\", label: Gerüst }"), "{art:#?}");
    assert!(
        art.contains(&"- { value: \"02\", label: \"Container, Mulde\", hint: Zum Beispiel für Bauschutt. }"),
        "{art:#?}"
    );

    let lageplan = entry(yaml, "lageplan");
    assert!(lageplan.contains(&"type: file") && lageplan.contains(&"accept: [pdf, jpeg, png]"));
    assert!(yaml.contains("# TODO: FIM begrenzt die Dateigröße auf 10240"));

    let hinweis = entry(yaml, "hinweis_gebuehr");
    assert!(hinweis.contains(&"type: info") && hinweis.contains(&"label: Gebühr"));
    assert!(
        hinweis.contains(&"text: Die Gebühr richtet sich nach der Sondernutzungssatzung & der Dauer."),
        "{hinweis:#?}"
    );
    assert!(!hinweis.contains(&"required: true"));

    // A pattern Rust's regex cannot read stays a TODO, not a broken key.
    assert!(!entry(yaml, "postfach").iter().any(|l| l.starts_with("pattern")));
    assert!(yaml.contains("FIM gibt das Muster '\\p{IsBasicLatin}+' vor"));

    // Hidden fields are left out, with a comment.
    assert!(!yaml.contains("- id: interne_kennung"));
    assert!(yaml.contains("# FIM: Das verborgene Feld F60000021 Version 1.0 „Interne Kennung“"));
}

#[test]
fn groups_are_defined_once_and_used_by_group_and_repeat_fields() {
    let import = to_service_yaml(&read(&input("ok_antrag")).unwrap());
    let yaml = &import.yaml;
    let groups = &yaml[yaml.find("\ngroups:\n").unwrap()..yaml.find("\nsteps:\n").unwrap()];
    for name in [
        "natuerliche_person",
        "anschrift_inland",
        "strassenanschrift",
        "postfachanschrift",
        "beteiligte_firma",
    ] {
        assert_eq!(groups.matches(&format!("\n  {name}:\n")).count(), 1, "{name}");
    }
    assert!(groups.contains("\n  natuerliche_person:\n    label: Antragsteller:in\n    fim: { id: G60000001, version: \"1.2\" }\n    fields:\n"));
    // PLZ and Ort are the same FIM fields in both address groups; each group has its own.
    assert_eq!(groups.matches("fim: { id: F60000007, version: \"1.0\" }").count(), 2);
    let strasse = entry(yaml, "strassenanschrift");
    assert!(strasse.contains(&"type: group") && strasse.contains(&"use: strassenanschrift"));
    assert!(yaml.contains("# FIM: Die Gruppe ist optional (0:1)."));
    // The rule of the address group, above it, for the clerk.
    assert!(groups.contains("# TODO: Regel R60000021 Version 1.0 „Straße oder Postfach“ aus FIM"));
    assert!(groups.contains("# Es muss entweder die Gruppe G60000003 \"Straßenanschrift\" oder die Gruppe"));

    // 0:* group: a repeat without bounds; 1:5 field: a repeat around the field.
    let firma = entry(yaml, "beteiligte_firma");
    assert!(firma.contains(&"type: repeat") && firma.contains(&"use: beteiligte_firma"));
    assert!(
        !firma
            .iter()
            .any(|l| l.starts_with("min_items") || l.starts_with("max_items"))
    );
    let kennzeichen = entry(yaml, "kennzeichen");
    for line in [
        "type: repeat",
        "min_items: 1",
        "max_items: 5",
        "fields:",
        "type: text",
        "required: true",
        "max_length: 12",
    ] {
        assert!(kennzeichen.contains(&line), "{line} in {kennzeichen:#?}");
    }
    // 500 characters is more than a line: a textarea.
    assert!(entry(yaml, "firmenname").contains(&"type: textarea"));
}

#[test]
fn steps_follow_the_top_level() {
    let yaml = to_service_yaml(&read(&input("ok_antrag")).unwrap()).yaml;
    let steps: Vec<&str> = yaml.lines().filter(|l| l.starts_with("  - id: ")).collect();
    assert_eq!(
        steps,
        [
            "  - id: natuerliche_person",
            "  - id: anschrift_inland",
            "  - id: angaben",
            "  - id: beteiligte_firma",
            "  - id: angaben_2"
        ]
    );
}

#[test]
fn warnings_name_the_element_and_what_to_do() {
    let import = to_service_yaml(&read(&input("ok_antrag")).unwrap());
    let find = |id: &str, part: &str| {
        import
            .warnings
            .iter()
            .any(|w| w.element == id && w.message.contains(part))
    };
    assert!(find("F60000004", "code list urn:de:example:codeliste:geschlecht_2"));
    assert!(find("R60000021", "written by hand"));
    assert!(find("R60000020", "written by hand"));
    assert!(find("F60000021", "hidden"));
    assert!(find("F60000009", "rewritten by hand"));
    assert!(find("G60000003", "optional group"));
    assert!(find("F60000012", "HH:MM"));
    assert!(find("F60000015", "file size"));
}

#[test]
fn the_group_message_imports_and_checks() {
    let import = to_service_yaml(&read(&input("ok_gruppe_default_namespace")).unwrap());
    assert!(check(&import.yaml).is_empty());
    let telefon = entry(&import.yaml, "telefonnummer");
    assert!(telefon.contains(&"max_items: 3") && !telefon.iter().any(|l| l.starts_with("min_items")));
    assert!(import.yaml.contains("fim: { id: F60000102 }"));
    assert!(
        import
            .warnings
            .iter()
            .any(|w| w.element == "F60000102" && w.message.contains("locked"))
    );
    assert!(
        import
            .warnings
            .iter()
            .any(|w| w.element == "F60000102" && w.message.contains("pre-fill"))
    );
}

#[test]
fn an_empty_schema_says_so() {
    let xml = r#"<xdatenfelder.stammdatenschema.0102 xmlns="urn:xoev-de:fim:standard:xdatenfelder_3.0.0"><stammdatenschema><identifikation><id>S1</id></identifikation><name>Leer</name></stammdatenschema></xdatenfelder.stammdatenschema.0102>"#;
    let import = to_service_yaml(&read(xml).unwrap());
    assert!(
        import
            .warnings
            .iter()
            .any(|w| w.element == "S1" && w.message.contains("nothing to ask"))
    );
    assert!(check(&import.yaml).iter().any(|e| e.contains("empty-service")));
}
