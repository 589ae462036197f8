//! The reader never panics: not on every prefix of a real message, not on garbled ones. And
//! writing then reading any model gives the model back.

use baukasten_fim::model::{CodeListRef, CodeValue, Datentyp, Element, Feldart, Field, Group, Item, Rule, Schema};
use baukasten_fim::{Header, read, write};
use proptest::prelude::*;

use crate::inputs;

#[test]
fn every_prefix_of_every_input_is_read_or_refused() {
    for (stem, text) in inputs() {
        for end in (0..text.len()).filter(|i| text.is_char_boundary(*i)) {
            if let Err(e) = read(&text[..end]) {
                assert!(e.line >= 1 && e.col >= 1, "{stem}[..{end}]: {e}");
                assert!(e.line <= text[..end].lines().count().max(1) + 1, "{stem}[..{end}]: {e}");
            }
        }
    }
}

fn garble() -> impl Strategy<Value = (usize, usize, String)> {
    (
        any::<usize>(),
        0usize..40,
        prop_oneof![
            Just(String::new()),
            Just("<".to_string()),
            Just(">".to_string()),
            Just("</xdf:struktur>".to_string()),
            Just("<xdf:struktur>".to_string()),
            Just("&".to_string()),
            Just("&#0;".to_string()),
            Just("&#x110000;".to_string()),
            Just("&foo;".to_string()),
            Just("]]>".to_string()),
            Just("<![CDATA[".to_string()),
            Just("\"".to_string()),
            Just("xmlns:xdf=\"\"".to_string()),
            Just("\u{0}".to_string()),
            Just("ü".to_string()),
            "[ -~]{0,12}",
        ],
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn garbled_messages_never_panic(edits in prop::collection::vec(garble(), 1..6)) {
        for (_, text) in inputs() {
            let mut text = text;
            for (at, cut, insert) in &edits {
                let mut at = at % (text.len() + 1);
                while !text.is_char_boundary(at) { at -= 1; }
                let mut end = (at + cut).min(text.len());
                while !text.is_char_boundary(end) { end -= 1; }
                text.replace_range(at..end, insert);
            }
            if let Err(e) = read(&text) {
                prop_assert!(e.line >= 1 && e.col >= 1);
            }
        }
    }

    #[test]
    fn read_after_write_is_the_identity(schema in schema()) {
        let header = Header { message_id: "m".into(), created: "2026-01-01T00:00:00Z".into() };
        let xml = write(&schema, &header);
        prop_assert_eq!(read(&xml).map_err(|e| e.to_string()), Ok(schema));
    }
}

// Texts as the reader gives them: trimmed, not empty; with characters XML must escape.
fn text() -> impl Strategy<Value = String> {
    "[A-Za-zÄÖÜäöüß0-9<>&\"' .:,?/\\-]{0,20}".prop_filter_map("trimmed, not empty", |s| {
        let t = s.trim();
        (!t.is_empty()).then(|| t.to_string())
    })
}

fn id(prefix: &'static str) -> impl Strategy<Value = String> {
    (60_000_000u32..60_000_100).prop_map(move |n| format!("{prefix}{n}"))
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        id("R"),
        prop::option::of(text()),
        text(),
        prop::option::of(text()),
        prop::option::of(prop_oneof![Just("K".to_string()), Just("V".to_string())]),
    )
        .prop_map(|(id, version, name, prose, typ)| Rule {
            id,
            version,
            name,
            prose,
            typ,
        })
}

fn field() -> impl Strategy<Value = Field> {
    (
        (
            id("F"),
            prop::option::of(text()),
            text(),
            prop::option::of(text()),
            prop::option::of(text()),
        ),
        (
            prop::sample::select(Feldart::ALL.to_vec()),
            prop::sample::select(Datentyp::ALL.to_vec()),
        ),
        (
            prop::option::of(0u32..100),
            prop::option::of(1u32..1000),
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of(
                "[ -~\\t\\n]{1,10}"
                    .prop_filter_map("trimmed", |s: String| (s.trim() == s && !s.is_empty()).then_some(s)),
            ),
        ),
        (
            prop::option::of(text()),
            prop::collection::vec((text(), text(), prop::option::of(text())), 0..3),
        ),
        (
            prop::option::of((text(), prop::option::of(text()), prop::option::of(text()))),
            prop::option::of(text()),
            prop::collection::vec(text(), 0..2),
            prop::collection::vec(rule(), 0..2),
        ),
    )
        .prop_map(
            |(
                (id, version, name, label, hint),
                (feldart, datentyp),
                (min_length, max_length, min_value, max_value, pattern),
                (content, values),
                (code_list, max_size, media_types, rules),
            )| Field {
                id,
                version,
                name,
                label,
                hint,
                schemaelementart: Some("HAR".into()),
                feldart,
                datentyp,
                min_length,
                max_length,
                min_value,
                max_value,
                pattern,
                content,
                vorbefuellung: None,
                values: values
                    .into_iter()
                    .map(|(code, name, hint)| CodeValue { code, name, hint })
                    .collect(),
                code_list: code_list.map(|(canonical_id, version, canonical_version_uri)| CodeListRef {
                    canonical_id,
                    version,
                    canonical_version_uri,
                }),
                max_size,
                media_types,
                rules,
            },
        )
}

fn anzahl() -> impl Strategy<Value = (u32, Option<u32>)> {
    (0u32..3, prop::option::of(1u32..9)).prop_map(|(min, max)| (min, max.map(|m| m.max(min).max(1))))
}

fn item() -> impl Strategy<Value = Item> {
    let leaf = (field(), anzahl()).prop_map(|(f, (min, max))| Item {
        element: Element::Field(f),
        min,
        max,
    });
    leaf.prop_recursive(3, 12, 4, |inner| {
        (
            id("G"),
            prop::option::of(text()),
            text(),
            prop::option::of(text()),
            prop::collection::vec(rule(), 0..2),
            prop::collection::vec(inner, 0..4),
            anzahl(),
        )
            .prop_map(|(id, version, name, label, rules, items, (min, max))| Item {
                element: Element::Group(Group {
                    id,
                    version,
                    name,
                    label,
                    hint: None,
                    schemaelementart: None,
                    rules,
                    items,
                }),
                min,
                max,
            })
    })
}

fn schema() -> impl Strategy<Value = Schema> {
    (
        id("S"),
        prop::option::of(text()),
        text(),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::collection::vec(rule(), 0..2),
        prop::collection::vec(item(), 0..4),
    )
        .prop_map(|(id, version, name, label, hint, rules, elements)| Schema {
            id,
            version,
            name,
            label,
            hint,
            rules,
            elements,
        })
}
